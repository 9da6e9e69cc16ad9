// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Tokens.sol";

interface ILockable {
    function lock(address token, uint256 amount, uint16 toChain, bytes32 to, uint256 fee,
                  uint32 nonce) external returns (uint64);
}

/// TEST ONLY. Fills a block with ERC-20-shaped logs: Transfer(x, portal, 0)
/// emitted at this contract's own address, which is no token at all. Cheap
/// (about 1,900 gas a log), and to a watcher that asks for every Transfer
/// into the Portal they look like transfers backing locks. spamToken makes
/// a real token emit them: n zero-value transfers into the Portal, which any
/// honest ERC-20 allows (about 5,000 gas each). oddAndLock emits one
/// Transfer-shaped log into the Portal whose data is empty (no uint256: an
/// ERC-20 parser must skip it, not choke), then locks.
contract LogFlood {
    event Transfer(address indexed from, address indexed to, uint256 value);

    function spam(address portal, uint256 n) public {
        for (uint256 i = 0; i < n; i++) emit Transfer(address(uint160(i + 1)), portal, 0);
    }

    /// Half the fake logs, a real lock of `amount` of `token` (held by this
    /// contract), then the other half: all in one transaction.
    function spamAndLock(address portal, address token, uint256 n, uint256 amount,
                         uint16 toChain, bytes32 to) external {
        spam(portal, n / 2);
        BaseToken(token).approve(portal, amount);
        ILockable(portal).lock(token, amount, toChain, to, 0, 0);
        spam(portal, n - n / 2);
    }

    function spamToken(address token, address portal, uint256 n) external {
        for (uint256 i = 0; i < n; i++) BaseToken(token).transfer(portal, 0);
    }

    function oddAndLock(address portal, address token, uint256 amount, uint16 toChain, bytes32 to)
        external {
        bytes32 t = keccak256("Transfer(address,address,uint256)");
        assembly {
            log3(0, 0, t, caller(), portal)
        }
        BaseToken(token).approve(portal, amount);
        ILockable(portal).lock(token, amount, toChain, to, 0, 0);
    }
}
