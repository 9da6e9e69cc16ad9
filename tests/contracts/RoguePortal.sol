// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Portal.sol";

/// TEST ONLY. A compromised Portal: on top of the real one it emits
/// TransferOut events that nothing stands behind, with the next real
/// sequence (so an honest watcher sees no gap and must judge the content).
///  - forgeLock: a "lock" of any token claiming any home chain, without the
///    ERC-20 transfer into the Portal that a real lock carries;
///  - forgeBurn: a "burn" of a wrapped asset that was never burnt here
///    (e.g. wrapped supply this chain never received).
contract RoguePortal is Portal {
    constructor(uint16 chainId_, uint32 setIndex_, address[] memory attesters_, uint8 quorum_)
        Portal(chainId_, setIndex_, attesters_, quorum_) {}

    function forgeLock(bytes32 token, uint16 tokenChain, uint16 toChain, bytes32 to,
                       uint256 amount, uint256 fee) external returns (uint64 seq) {
        seq = sequence++;
        emit TransferOut(seq, msg.sender, token, tokenChain, to, toChain, amount, fee,
                         uint32(seq), KIND_LOCK);
    }

    function forgeBurn(bytes32 token, uint16 tokenChain, uint16 toChain, bytes32 to,
                       uint256 amount, uint256 fee) external returns (uint64 seq) {
        seq = sequence++;
        emit TransferOut(seq, msg.sender, token, tokenChain, to, toChain, amount, fee,
                         uint32(seq), KIND_BURN);
    }

    /// Report any chain cursed, with no vote behind it: what a Portal whose
    /// code was replaced can tell the nodes that read it.
    function forgeCurse(uint16 chain) external {
        curseFlag[chain] = true;
        liftAt[chain] = 0;
        curseRound[chain]++;
        controlEpoch++;
    }

    /// Repoint the wrapped token of an asset: a Portal whose code was
    /// replaced answers wrappedFor with whatever its new owner likes.
    function setWrapped(uint16 homeChain, bytes32 homeToken, address w) external {
        wrappedOf[keccak256(abi.encode(homeChain, homeToken))] = w;
    }

    /// A "burn" with a burn log beside it, from a token of the attacker's
    /// making (FakeWrapped): it passes the receipt check only where the node
    /// believes that token is the asset's wrapped token.
    function forgeBurnWith(address fake, bytes32 token, uint16 tokenChain, uint16 toChain,
                           bytes32 to, uint256 amount) external returns (uint64 seq) {
        FakeWrapped(fake).fakeBurn(msg.sender, amount);
        seq = sequence++;
        emit TransferOut(seq, msg.sender, token, tokenChain, to, toChain, amount, 0, uint32(seq),
                         KIND_BURN);
    }
}

/// TEST ONLY. Logs a burn that burns nothing.
contract FakeWrapped {
    event Transfer(address indexed from, address indexed to, uint256 value);

    function fakeBurn(address from, uint256 amount) external {
        emit Transfer(from, address(0), amount);
    }
}
