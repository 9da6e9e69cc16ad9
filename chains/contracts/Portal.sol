// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Tokens.sol";

interface IERC20Min {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function transfer(address to, uint256 value) external returns (bool);
}

/// The bridge endpoint on one chain (DESIGN.md §6).
///
/// Outbound: lock a native ERC-20 or burn a wrapped one; either emits
/// TransferOut, which relayers turn into a VAA v1 transfer message.
/// Inbound: submit(vaa) with any number of attester signatures; the Portal
/// accumulates distinct valid approvals per digest and executes the
/// transfer exactly once when the quorum is reached. Later submits of an
/// executed digest are no-ops.
///
/// Defence in depth: a native unlock for a message from chain D is bounded
/// by outstanding[token][D] (what was locked towards D and not yet returned)
/// and by a token bucket per (source chain, local token).
///
/// Hops: wrapped supply of a token homed here may move between two remote
/// chains (a burn on C toward D). The attesters deliver the same signed
/// message here too, as a hop notice: it pays nothing out and moves
/// outstanding[token][C] to outstanding[token][D], bounded by what C holds,
/// so a later return from D of the hopped supply is unlocked here.
///
/// Emergency controls: the owner (two-step transfer) can pause the whole
/// Portal (no lock, burn or submit) or one lane (nothing out toward that
/// chain, nothing executed from it, no hop to it). controlEpoch counts every
/// control change, so a watcher reads one word to know whether to look.
///
/// Curse: attesters vote to curse a chain C (curseQuorum distinct votes of
/// the current set, as low as one: one honest node's alarm is enough); a
/// cursed C gets nothing executed from it, nothing sent or hopped to it.
/// Lifting needs the full mint quorum and takes effect liftDelay seconds
/// later; one curse vote in that time keeps C cursed, so keys that can lift
/// a curse cannot lift it and mint in the same breath.
///
/// Rotation: a new attester set becomes current while the previous one
/// stays valid for a grace period; approvals under both count toward the
/// current quorum, a signer in both sets counted once.
contract Portal {
    uint16 public immutable chainId;
    address public owner;
    address public pendingOwner;
    bool public paused;
    mapping(uint16 => bool) public lanePaused;
    uint64 public controlEpoch;

    uint32 public signerSetIndex;
    uint8 public quorum;
    mapping(uint32 => address[]) internal sets;
    // set index => attester => its index + 1 (0: not a member)
    mapping(uint32 => mapping(address => uint256)) internal memberOf;
    uint32 public previousSetIndex;
    uint64 public previousSetExpiry;  // previous set valid while block.timestamp < this

    uint8 public curseQuorum = 1;
    uint64 public liftDelay = 3600;
    mapping(uint16 => bool) internal curseFlag;
    mapping(uint16 => uint64) public liftAt;     // 0: no lift pending
    mapping(uint16 => uint64) public curseRound; // moves on every curse and lift
    // set index => chain => round => bitmap of attester indices that voted
    mapping(uint32 => mapping(uint16 => mapping(uint64 => uint256))) public curseVotes;
    bytes32 internal constant CURSE_TAG = keccak256("bulkhead.portal.curse.v1");
    // who called the outermost submit or submitBatch: the fee goes there,
    // for a batch's items too, and a token's hook calling back in changes
    // nothing (entered counts the calls under way)
    address transient internal relayer;
    uint256 transient internal entered;

    uint64 public sequence;
    mapping(uint16 => bytes32) public remotePortal;

    // signer set index => digest => bitmap of attester indices. Keyed by the
    // set so approvals from a rotated-out set never count towards a new one.
    mapping(uint32 => mapping(bytes32 => uint256)) public approvals;
    mapping(bytes32 => bool) public executed;       // digest => done
    mapping(bytes32 => bool) public sequenceUsed;   // keccak(emitterChain, sequence)

    mapping(address => mapping(uint16 => uint256)) public outstanding;  // native token => D => amount
    mapping(bytes32 => address) public wrappedOf;   // keccak(homeChain, homeToken) => wrapped

    struct Bucket {
        uint256 capacity;   // 0: lane unlimited
        uint256 ratePerSec;
        uint256 level;
        uint256 updated;
    }
    mapping(uint16 => mapping(address => Bucket)) public buckets;

    uint8 internal constant KIND_LOCK = 0;
    uint8 internal constant KIND_BURN = 1;

    event TransferOut(uint64 indexed sequence, address indexed sender, bytes32 token,
                      uint16 tokenChain, bytes32 to, uint16 toChain, uint256 amount,
                      uint256 fee, uint32 nonce, uint8 kind);
    event Approved(bytes32 indexed digest, uint8 signerIndex, uint256 count);
    event Executed(bytes32 indexed digest, uint16 emitterChain, uint64 sequence,
                   address token, address to, uint256 amount);
    event WrappedCreated(uint16 homeChain, bytes32 homeToken, address wrapped);
    event HopRecorded(bytes32 indexed digest, uint16 fromChain, uint64 sequence, uint16 toChain,
                      address token, uint256 amount);
    event OwnershipTransferStarted(address indexed owner, address indexed pendingOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Paused(address indexed by, string reason);
    event Unpaused(address indexed by, string reason);
    event LanePaused(uint16 indexed chain, address indexed by, string reason);
    event LaneUnpaused(uint16 indexed chain, address indexed by, string reason);
    event AttestersChanged(uint32 indexed setIndex, uint8 quorum, uint32 previousSetIndex,
                           uint64 previousSetExpiry);
    event CurseVote(uint16 indexed chain, uint64 round, bool curse, uint8 signerIndex,
                    string reason);
    event Cursed(uint16 indexed chain, uint64 round);
    event LiftScheduled(uint16 indexed chain, uint64 round, uint64 liftAt);
    event CurseParams(uint8 curseQuorum, uint64 liftDelay);
    event BatchItemFailed(uint256 indexed index, bytes reason);
    /// At the end of a submitBatch: the items executed (now or before) and
    /// those that failed, as bitmaps: a receipt tells each item's outcome.
    event BatchDone(uint256 done, uint256 failed);

    modifier payee() {
        if (entered == 0) relayer = msg.sender;
        entered++;
        _;
        entered--;
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "only owner");
        _;
    }

    constructor(uint16 chainId_, uint32 setIndex_, address[] memory attesters_, uint8 quorum_) {
        chainId = chainId_;
        owner = msg.sender;
        _setAttesters(setIndex_, attesters_, quorum_);
    }

    function _setAttesters(uint32 setIndex_, address[] memory a, uint8 q) internal {
        require(a.length > 0 && a.length <= 255, "attester count");
        require(q > 0 && q <= a.length, "quorum");
        signerSetIndex = setIndex_;
        address[] storage m = sets[setIndex_];
        for (uint256 i = 0; i < a.length; i++) {
            require(a[i] != address(0) && memberOf[setIndex_][a[i]] == 0, "attester");
            m.push(a[i]);
            memberOf[setIndex_][a[i]] = i + 1;
        }
        quorum = q;
    }

    /// Rotate: setIndex_ becomes current; the set it replaces stays valid
    /// for grace seconds (0: retired at once, for a set with a stolen key).
    function setAttesters(uint32 setIndex_, address[] calldata a, uint8 q, uint64 grace)
        external onlyOwner {
        require(setIndex_ > signerSetIndex, "set index");
        previousSetIndex = signerSetIndex;
        previousSetExpiry = grace == 0 ? 0 : uint64(block.timestamp) + grace;
        _setAttesters(setIndex_, a, q);
        controlEpoch++;
        emit AttestersChanged(setIndex_, q, previousSetIndex, previousSetExpiry);
    }

    function attesters(uint256 i) external view returns (address) {
        return sets[signerSetIndex][i];
    }

    function attesterCount() external view returns (uint256) {
        return sets[signerSetIndex].length;
    }

    /// Which of up to 256 digests are executed (bit i: digests[i]): a node
    /// asks before it submits transfers others may have executed meanwhile.
    function executedMask(bytes32[] calldata digests) external view returns (uint256 m) {
        require(digests.length <= 256, "batch size");
        for (uint256 i = 0; i < digests.length; i++)
            if (executed[digests[i]]) m |= 1 << i;
    }

    /// Index + 1 of a in set (0: not a member): how a node finds its slot.
    function attesterIndex(uint32 set, address a) external view returns (uint256) {
        return memberOf[set][a];
    }

    /// What a node needs after a control change, in one call: the sets,
    /// where attester a signs in each (index + 1, 0: not a member), and
    /// the curse's parameters.
    function setInfo(address a) external view returns (uint32 set, uint8 q, uint256 index,
        uint32 prevSet, uint64 prevExpiry, uint256 prevIndex, uint8 curseQ, uint64 delay) {
        set = signerSetIndex;
        q = quorum;
        index = memberOf[set][a];
        prevSet = previousSetIndex;
        prevExpiry = previousSetExpiry;
        prevIndex = _previousValid() ? memberOf[prevSet][a] : 0;
        curseQ = curseQuorum;
        delay = liftDelay;
    }

    /// One remote chain's controls: lane paused, cursed, a lift pending
    /// (and when), the curse round votes go to.
    function laneControls(uint16 chain) external view returns (bool lanePaused_, bool cursed_,
        bool lifting_, uint64 liftAt_, uint64 round_) {
        lanePaused_ = lanePaused[chain];
        cursed_ = isCursed(chain);
        lifting_ = cursed_ && liftAt[chain] != 0;
        liftAt_ = liftAt[chain];
        round_ = curseRound[chain];
    }

    function _previousValid() internal view returns (bool) {
        return block.timestamp < previousSetExpiry;
    }

    // ---- ownership and emergency controls ----

    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    function acceptOwnership() external {
        require(msg.sender == pendingOwner && msg.sender != address(0), "not pending owner");
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    function pause(string calldata reason) external onlyOwner {
        require(!paused, "already paused");
        paused = true;
        controlEpoch++;
        emit Paused(msg.sender, reason);
    }

    function unpause(string calldata reason) external onlyOwner {
        require(paused, "not paused");
        paused = false;
        controlEpoch++;
        emit Unpaused(msg.sender, reason);
    }

    function pauseLane(uint16 chain, string calldata reason) external onlyOwner {
        require(chain != chainId && chain != 0, "chain");
        require(!lanePaused[chain], "already paused");
        lanePaused[chain] = true;
        controlEpoch++;
        emit LanePaused(chain, msg.sender, reason);
    }

    function unpauseLane(uint16 chain, string calldata reason) external onlyOwner {
        require(lanePaused[chain], "not paused");
        lanePaused[chain] = false;
        controlEpoch++;
        emit LaneUnpaused(chain, msg.sender, reason);
    }

    // ---- curse ----

    function setCurseParams(uint8 curseQuorum_, uint64 liftDelay_) external onlyOwner {
        require(curseQuorum_ > 0, "curse quorum");
        curseQuorum = curseQuorum_;
        liftDelay = liftDelay_;
        emit CurseParams(curseQuorum_, liftDelay_);
    }

    /// C is cursed: cursed and no lift that has come due.
    function isCursed(uint16 chain) public view returns (bool) {
        if (!curseFlag[chain]) return false;
        uint64 at = liftAt[chain];
        return at == 0 || block.timestamp < at;
    }

    /// What an attester signs to vote: bound to this Portal, the chain, the
    /// round and the direction, so a vote never counts twice or elsewhere.
    function curseDigest(uint32 set, uint16 chain, uint64 round, bool curse)
        public view returns (bytes32) {
        return keccak256(abi.encode(CURSE_TAG, chainId, address(this), set, chain, round, curse));
    }

    /// Votes of the current set to curse chain (curse) or lift its curse
    /// (!curse), in round curseRound[chain]; sigs as in a VAA (66 bytes
    /// each, signer indices ascending). Returns the votes now held.
    function vote(uint16 chain, uint64 round, bool curse, string calldata reason,
                  bytes calldata sigs) external returns (uint256 count) {
        require(chain != chainId && chain != 0, "chain");
        require(round == curseRound[chain], "curse round");
        bool lifting = curseFlag[chain] && liftAt[chain] != 0;
        if (curse) require(!isCursed(chain) || lifting, "already cursed");
        else require(isCursed(chain) && !lifting, "not cursed");
        count = _popcount(_tally(chain, round, curse, reason, sigs));
        if (curse && count >= curseQuorum) {
            curseFlag[chain] = true;
            liftAt[chain] = 0;
            curseRound[chain] = round + 1;
            controlEpoch++;
            emit Cursed(chain, round);
        } else if (!curse && count >= quorum) {
            curseRound[chain] = round + 1;
            controlEpoch++;
            if (liftDelay == 0) {
                curseFlag[chain] = false;
                emit LiftScheduled(chain, round, uint64(block.timestamp));
            } else {
                liftAt[chain] = uint64(block.timestamp) + liftDelay;
                emit LiftScheduled(chain, round, liftAt[chain]);
            }
        }
    }

    /// Counts the valid votes in sigs into the round's bitmap; returns it.
    function _tally(uint16 chain, uint64 round, bool curse, string calldata reason,
                    bytes calldata sigs) internal returns (uint256 bits) {
        require(sigs.length > 0 && sigs.length % 66 == 0, "signatures");
        uint32 set = signerSetIndex;
        bytes32 digest = curseDigest(set, chain, round, curse);
        bits = curseVotes[set][chain][round];
        uint256 next = 0;
        for (uint256 i = 0; i < sigs.length; i += 66) {
            uint8 idx = _checkSig(set, digest, sigs[i:i + 66]);
            require(idx >= next, "signer order");
            next = uint256(idx) + 1;
            if (bits & (1 << idx) == 0) {
                bits |= 1 << idx;
                emit CurseVote(chain, round, curse, idx, reason);
            }
        }
        curseVotes[set][chain][round] = bits;
    }

    function registerRemote(uint16 chain, bytes32 portal) external onlyOwner {
        require(chain != chainId && chain != 0, "chain");
        remotePortal[chain] = portal;
    }

    function setLaneLimit(uint16 src, address token, uint256 capacity, uint256 ratePerSec)
        external onlyOwner {
        buckets[src][token] = Bucket(capacity, ratePerSec, capacity, block.timestamp);
    }

    // ---- outbound ----

    function lock(address token, uint256 amount, uint16 toChain, bytes32 to, uint256 fee,
                  uint32 nonce) external returns (uint64 seq) {
        _outboundOpen(toChain);
        require(amount > 0 && fee <= amount, "amount");
        require(remotePortal[toChain] != bytes32(0), "unknown chain");
        require(IERC20Min(token).transferFrom(msg.sender, address(this), amount), "transferFrom");
        outstanding[token][toChain] += amount;
        seq = sequence++;
        emit TransferOut(seq, msg.sender, bytes32(uint256(uint160(token))), chainId, to,
                         toChain, amount, fee, nonce, KIND_LOCK);
    }

    function burn(address wrapped, uint256 amount, uint16 toChain, bytes32 to, uint256 fee,
                  uint32 nonce) external returns (uint64 seq) {
        _outboundOpen(toChain);
        require(amount > 0 && fee <= amount, "amount");
        require(remotePortal[toChain] != bytes32(0), "unknown chain");
        WrappedToken w = WrappedToken(wrapped);
        require(wrappedOf[keccak256(abi.encode(w.homeChain(), w.homeToken()))] == wrapped,
                "not wrapped here");
        w.burnFrom(msg.sender, amount);
        seq = sequence++;
        emit TransferOut(seq, msg.sender, w.homeToken(), w.homeChain(), to, toChain, amount,
                         fee, nonce, KIND_BURN);
    }

    function _outboundOpen(uint16 toChain) internal view {
        require(!paused, "paused");
        require(!lanePaused[toChain], "lane paused");
        require(!isCursed(toChain), "cursed");
    }

    // ---- inbound ----

    /// Many submits in one transaction, each as submit(vaas[i]) on its own:
    /// one that reverts (BatchItemFailed, with its reason) reverts nothing
    /// else. Returns bitmaps of the items executed and of those that failed.
    /// An item's token may burn the gas it is given (63/64 of what is left):
    /// the items after it then fail, named, and go again on their own.
    function submitBatch(bytes[] calldata vaas)
        external payee returns (uint256 done, uint256 failed) {
        require(!paused, "paused");
        require(vaas.length > 0 && vaas.length <= 256, "batch size");
        for (uint256 i = 0; i < vaas.length; i++) {
            try this.submit(vaas[i]) returns (uint256, bool d) {
                if (d) done |= 1 << i;
            } catch (bytes memory reason) {
                failed |= 1 << i;
                emit BatchItemFailed(i, reason);
            }
        }
        emit BatchDone(done, failed);
    }

    /// Returns the number of distinct approvals the digest holds after this
    /// call, and whether the message is executed.
    function submit(bytes calldata vaa) external payee returns (uint256 count, bool done) {
        require(!paused, "paused");
        require(vaa.length >= 6, "truncated");
        require(uint8(vaa[0]) == 1, "version");
        uint32 set = uint32(bytes4(vaa[1:5]));
        require(set == signerSetIndex || (set == previousSetIndex && _previousValid()),
                "signer set");
        uint256 n = uint8(vaa[5]);
        require(n > 0, "no signatures");
        uint256 bodyAt = 6 + n * 66;
        require(vaa.length > bodyAt, "truncated");
        bytes32 digest = keccak256(abi.encodePacked(keccak256(vaa[bodyAt:])));
        if (executed[digest]) return (_count(digest), true);

        uint256 fresh = _approve(set, digest, vaa[6:bodyAt]);
        count = _count(digest);
        for (uint256 i = 0; fresh != 0; i++) {
            if (fresh & (1 << i) == 0) continue;
            fresh &= ~(uint256(1) << i);
            emit Approved(digest, uint8(i), count);
        }
        if (count >= quorum) {
            executed[digest] = true;
            _execute(digest, vaa[bodyAt:]);
            done = true;
        }
    }

    /// Records the signatures' approvals under set; returns the new ones.
    function _approve(uint32 set, bytes32 digest, bytes calldata sigs)
        internal returns (uint256 fresh) {
        uint256 had = approvals[set][digest];
        uint256 bits = had;
        uint256 next = 0;
        for (uint256 i = 0; i < sigs.length; i += 66) {
            uint8 idx = _checkSig(set, digest, sigs[i:i + 66]);
            require(idx >= next, "signer order");
            next = uint256(idx) + 1;
            bits |= 1 << idx;
        }
        approvals[set][digest] = bits;
        fresh = bits & ~had;
    }

    /// Distinct signers approving digest: the current set's, plus the
    /// previous set's while it is valid, a signer in both counted once.
    function _count(bytes32 digest) internal view returns (uint256 c) {
        uint32 cur = signerSetIndex;
        uint256 bc = approvals[cur][digest];
        c = _popcount(bc);
        if (!_previousValid()) return c;
        uint32 prev = previousSetIndex;
        uint256 bp = approvals[prev][digest];
        address[] storage pm = sets[prev];
        for (uint256 i = 0; bp != 0 && i < pm.length; i++) {
            if (bp & (1 << i) == 0) continue;
            bp &= ~(uint256(1) << i);
            uint256 j = memberOf[cur][pm[i]];
            if (j == 0 || bc & (1 << (j - 1)) == 0) c++;
        }
    }

    function _checkSig(uint32 set, bytes32 digest, bytes calldata sig)
        internal view returns (uint8 idx) {
        address[] storage m = sets[set];
        idx = uint8(sig[0]);
        require(idx < m.length, "signer index");
        bytes32 r = bytes32(sig[1:33]);
        bytes32 s = bytes32(sig[33:65]);
        uint8 v = uint8(sig[65]);
        if (v < 27) v += 27;
        require(v == 27 || v == 28, "recovery id");
        require(uint256(s) <= 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0,
                "high s");
        address signer = ecrecover(digest, v, r, s);
        require(signer != address(0) && signer == m[idx], "bad signature");
    }

    function _popcount(uint256 x) internal pure returns (uint256 c) {
        while (x != 0) {
            x &= x - 1;
            c++;
        }
    }

    function _execute(bytes32 digest, bytes calldata body) internal {
        // body: u32 timestamp | u32 nonce | u16 emitterChain | emitter[32] |
        //       u64 sequence | u8 consistency | payload (133 bytes)
        require(body.length == 51 + 133, "body length");
        uint16 emitterChain = uint16(bytes2(body[8:10]));
        bytes32 emitter = bytes32(body[10:42]);
        uint64 seq = uint64(bytes8(body[42:50]));
        require(emitterChain != chainId && emitterChain != 0, "emitter chain");
        require(remotePortal[emitterChain] == emitter, "unknown emitter");
        require(!lanePaused[emitterChain], "lane paused");
        require(!isCursed(emitterChain), "cursed");
        bytes32 seqKey = keccak256(abi.encode(emitterChain, seq));
        require(!sequenceUsed[seqKey], "sequence used");
        sequenceUsed[seqKey] = true;

        _deliver(digest, emitterChain, seq, body[51:]);
    }

    struct Payload {
        uint256 amount;
        bytes32 token;
        uint16 tokenChain;
        address to;
        uint16 toChain;
        uint256 fee;
    }

    function _decode(bytes calldata p) internal view returns (Payload memory t) {
        require(uint8(p[0]) == 1, "payload id");
        t.amount = uint256(bytes32(p[1:33]));
        t.token = bytes32(p[33:65]);
        t.tokenChain = uint16(bytes2(p[65:67]));
        bytes32 toRaw = bytes32(p[67:99]);
        t.toChain = uint16(bytes2(p[99:101]));
        t.fee = uint256(bytes32(p[101:133]));
        require(t.amount > 0 && t.fee <= t.amount, "amount");
        // elsewhere the recipient is the destination chain's business
        if (t.toChain != chainId) return t;
        require(uint256(toRaw) >> 160 == 0, "recipient");
        t.to = address(uint160(uint256(toRaw)));
    }

    function _deliver(bytes32 digest, uint16 src, uint64 seq, bytes calldata p) internal {
        Payload memory t = _decode(p);
        if (t.toChain != chainId) {
            _recordHop(digest, src, seq, t);
            return;
        }
        address local;
        if (t.tokenChain == chainId) {
            require(uint256(t.token) >> 160 == 0, "token");
            local = address(uint160(uint256(t.token)));
            uint256 out = outstanding[local][src];
            require(t.amount <= out, "exceeds outstanding");
            outstanding[local][src] = out - t.amount;
            _consume(src, local, t.amount);
            _pay(local, t.to, t.amount - t.fee);
            _pay(local, relayer, t.fee);
        } else {
            bytes32 key = keccak256(abi.encode(t.tokenChain, t.token));
            local = wrappedOf[key];
            if (local == address(0)) {
                local = address(new WrappedToken(t.tokenChain, t.token));
                wrappedOf[key] = local;
                emit WrappedCreated(t.tokenChain, t.token, local);
            }
            _consume(src, local, t.amount);
            WrappedToken(local).mint(t.to, t.amount - t.fee);
            if (t.fee > 0) WrappedToken(local).mint(relayer, t.fee);
        }
        emit Executed(digest, src, seq, local, t.to, t.amount);
    }

    /// A hop notice: only for this chain's own tokens, between two remote
    /// chains this Portal knows; charged to the source's outstanding.
    function _recordHop(bytes32 digest, uint16 src, uint64 seq, Payload memory t) internal {
        require(t.tokenChain == chainId, "wrong destination");
        require(t.toChain != src && t.toChain != 0 && remotePortal[t.toChain] != bytes32(0),
                "hop chain");
        require(!lanePaused[t.toChain], "lane paused");
        require(!isCursed(t.toChain), "cursed");
        require(uint256(t.token) >> 160 == 0, "token");
        address local = address(uint160(uint256(t.token)));
        uint256 out = outstanding[local][src];
        require(t.amount <= out, "exceeds outstanding");
        outstanding[local][src] = out - t.amount;
        outstanding[local][t.toChain] += t.amount;
        emit HopRecorded(digest, src, seq, t.toChain, local, t.amount);
    }

    function _pay(address token, address to, uint256 value) internal {
        if (value > 0) require(IERC20Min(token).transfer(to, value), "transfer");
    }

    function _consume(uint16 src, address token, uint256 amount) internal {
        Bucket storage b = buckets[src][token];
        if (b.capacity == 0) return;
        uint256 level = b.level + (block.timestamp - b.updated) * b.ratePerSec;
        if (level > b.capacity) level = b.capacity;
        require(amount <= level, "lane limit");
        b.level = level - amount;
        b.updated = block.timestamp;
    }

    function wrappedFor(uint16 homeChain, bytes32 homeToken) external view returns (address) {
        return wrappedOf[keccak256(abi.encode(homeChain, homeToken))];
    }
}
