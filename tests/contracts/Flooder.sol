// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Tokens.sol";

interface IPortalLock {
    function lock(address token, uint256 amount, uint16 toChain, bytes32 to, uint256 fee,
                  uint32 nonce) external returns (uint64);
    function burn(address wrapped, uint256 amount, uint16 toChain, bytes32 to, uint256 fee,
                  uint32 nonce) external returns (uint64);
}

/// TEST ONLY. Many real locks in one transaction, so a flood of genuine
/// events is cheap to produce: mints itself n * amount of a TestToken
/// (anyone may mint it), approves the Portal once and locks n times. Every
/// lock is real (the Transfer into the Portal is in the same receipt).
/// floodBurn is the same for burns of a wrapped token this contract holds.
contract Flooder {
    function flood(address portal, address token, uint256 n, uint256 amount, uint16 toChain,
                   bytes32 to) external {
        TestToken(token).mint(address(this), n * amount);
        TestToken(token).approve(portal, n * amount);
        for (uint256 i = 0; i < n; i++) {
            IPortalLock(portal).lock(token, amount, toChain, to, 0, uint32(i));
        }
    }

    function floodBurn(address portal, address wrapped, uint256 n, uint256 amount, uint16 toChain,
                       bytes32 to) external {
        WrappedToken(wrapped).approve(portal, n * amount);
        for (uint256 i = 0; i < n; i++) {
            IPortalLock(portal).burn(wrapped, amount, toChain, to, 0, uint32(i));
        }
    }
}
