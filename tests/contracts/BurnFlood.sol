// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Tokens.sol";

interface IPortalBurn {
    function burn(address wrapped, uint256 amount, uint16 toChain, bytes32 to, uint256 fee,
                  uint32 nonce) external returns (uint64);
    function forgeBurn(bytes32 token, uint16 tokenChain, uint16 toChain, bytes32 to,
                       uint256 amount, uint256 fee) external returns (uint64);
    function lock(address token, uint256 amount, uint16 toChain, bytes32 to, uint256 fee,
                  uint32 nonce) external returns (uint64);
}

/// TEST ONLY. A user's own contract around Portal.burn of a wrapped token
/// it holds (the review of the burn receipt check, review-13):
///  - spamAndBurn: n empty LOG0 (375 gas each, about 380 bytes each in a
///    JSON receipt), then one real burn: a transaction whose receipt is
///    larger than any RPC client takes, with an honest burn in it;
///  - fakeAndBurns: a Transfer(this, 0x0, 10^30) from this contract's own
///    address (no token: it only looks like a burn), then three real burns
///    of a, b, c in one transaction, the contract as their sender;
///  - spamAndLock: the same n empty logs, then a real lock of `amount` of a
///    token this contract makes on the spot (nobody registered it): a
///    transaction whose receipt no client takes, with a junk lock in it;
///  - burnAndForge (on a RoguePortal): one real burn of `amount`, then a
///    Transfer(this, 0x0, amount) from this contract's own address, then a
///    forged burn of `amount` (TransferOut only): the real burn's Transfer
///    is used once, the fake one is no wrapped token's.
contract BurnFlood {
    event Transfer(address indexed from, address indexed to, uint256 value);

    function spamAndBurn(address portal, address wrapped, uint256 n, uint256 amount,
                         uint16 toChain, bytes32 to) external {
        assembly {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } { log0(0, 0) }
        }
        WrappedToken(wrapped).approve(portal, amount);
        IPortalBurn(portal).burn(wrapped, amount, toChain, to, 0, 0);
    }

    function spamAndLock(address portal, uint256 n, uint256 amount, uint16 toChain, bytes32 to)
        external {
        assembly {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } { log0(0, 0) }
        }
        TestToken junk = new TestToken("junk", "JNK", 18);
        junk.mint(address(this), amount);
        junk.approve(portal, amount);
        IPortalBurn(portal).lock(address(junk), amount, toChain, to, 0, 0);
    }

    function fakeAndBurns(address portal, address wrapped, uint256 a, uint256 b, uint256 c,
                          uint16 toChain, bytes32 to) external {
        emit Transfer(address(this), address(0), 10 ** 30);
        WrappedToken(wrapped).approve(portal, a + b + c);
        IPortalBurn(portal).burn(wrapped, a, toChain, to, 0, 1);
        IPortalBurn(portal).burn(wrapped, b, toChain, to, 0, 2);
        IPortalBurn(portal).burn(wrapped, c, toChain, to, 0, 3);
    }

    function burnAndForge(address portal, address wrapped, uint256 amount, uint16 toChain,
                          bytes32 to) external {
        WrappedToken w = WrappedToken(wrapped);
        w.approve(portal, amount);
        IPortalBurn(portal).burn(wrapped, amount, toChain, to, 0, 1);
        emit Transfer(address(this), address(0), amount);
        IPortalBurn(portal).forgeBurn(w.homeToken(), w.homeChain(), toChain, to, amount, 0);
    }
}
