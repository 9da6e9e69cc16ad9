// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Tokens.sol";

/// TEST ONLY. A fee-on-transfer token: transferFrom moves the amount minus
/// a 1% fee (burnt), so a lock moves less into the Portal than it claims.
/// Its Transfer logs are honest: they show what really moved. Anyone may mint.
contract FeeToken is BaseToken {
    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        BaseToken(name_, symbol_, decimals_) {}

    function mint(address to, uint256 value) external {
        _mint(to, value);
    }

    function transferFrom(address from, address to, uint256 value) external override returns (bool) {
        _spend(from, value);
        uint256 fee = value / 100;
        _move(from, to, value - fee);
        if (fee > 0) _burn(from, fee);
        return true;
    }
}
