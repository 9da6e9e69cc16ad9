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
contract Portal {
    uint16 public immutable chainId;
    address public owner;
    address public pendingOwner;
    bool public paused;
    mapping(uint16 => bool) public lanePaused;
    uint64 public controlEpoch;

    uint32 public signerSetIndex;
    address[] public attesters;
    uint8 public quorum;

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
        delete attesters;
        for (uint256 i = 0; i < a.length; i++) attesters.push(a[i]);
        quorum = q;
    }

    function setAttesters(uint32 setIndex_, address[] calldata a, uint8 q) external onlyOwner {
        require(setIndex_ > signerSetIndex, "set index");
        _setAttesters(setIndex_, a, q);
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

    function attesterCount() external view returns (uint256) {
        return attesters.length;
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
    }

    // ---- inbound ----

    /// Returns the number of distinct approvals the digest holds after this
    /// call, and whether the message is executed.
    function submit(bytes calldata vaa) external returns (uint256 count, bool done) {
        require(!paused, "paused");
        require(vaa.length >= 6, "truncated");
        require(uint8(vaa[0]) == 1, "version");
        require(uint32(bytes4(vaa[1:5])) == signerSetIndex, "signer set");
        uint256 n = uint8(vaa[5]);
        require(n > 0, "no signatures");
        uint256 bodyAt = 6 + n * 66;
        require(vaa.length > bodyAt, "truncated");
        bytes calldata body = vaa[bodyAt:];
        bytes32 digest = keccak256(abi.encodePacked(keccak256(body)));
        if (executed[digest]) return (_popcount(approvals[signerSetIndex][digest]), true);

        uint256 bits = approvals[signerSetIndex][digest];
        int256 last = -1;
        for (uint256 i = 0; i < n; i++) {
            uint8 idx = _checkSig(digest, vaa[6 + i * 66:6 + i * 66 + 66]);
            require(int256(uint256(idx)) > last, "signer order");
            last = int256(uint256(idx));
            if (bits & (1 << idx) == 0) {
                bits |= 1 << idx;
                emit Approved(digest, idx, _popcount(bits));
            }
        }
        approvals[signerSetIndex][digest] = bits;
        count = _popcount(bits);
        if (count >= quorum) {
            executed[digest] = true;
            _execute(digest, body);
            done = true;
        }
    }

    function _checkSig(bytes32 digest, bytes calldata sig) internal view returns (uint8 idx) {
        idx = uint8(sig[0]);
        require(idx < attesters.length, "signer index");
        bytes32 r = bytes32(sig[1:33]);
        bytes32 s = bytes32(sig[33:65]);
        uint8 v = uint8(sig[65]);
        if (v < 27) v += 27;
        require(v == 27 || v == 28, "recovery id");
        require(uint256(s) <= 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0,
                "high s");
        address signer = ecrecover(digest, v, r, s);
        require(signer != address(0) && signer == attesters[idx], "bad signature");
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
            _pay(local, msg.sender, t.fee);
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
            if (t.fee > 0) WrappedToken(local).mint(msg.sender, t.fee);
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
