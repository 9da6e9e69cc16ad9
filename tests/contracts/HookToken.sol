// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Tokens.sol";

interface ITokenReceiver {
    function onTokenTransfer(address from, uint256 value) external;
}

/// TEST ONLY. An honest token with a receive hook (in the manner of ERC-777
/// or ERC-1363): transfer() to a contract calls its onTokenTransfer, and a
/// revert there reverts the transfer with the recipient's own reason. Its
/// transfers and logs are exact; anyone may mint.
contract HookToken is BaseToken {
    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        BaseToken(name_, symbol_, decimals_) {}

    function mint(address to, uint256 value) external {
        _mint(to, value);
    }

    function transfer(address to, uint256 value) external override returns (bool) {
        _move(msg.sender, to, value);
        if (to.code.length > 0) ITokenReceiver(to).onTokenTransfer(msg.sender, value);
        return true;
    }
}

/// TEST ONLY. A recipient that refuses every token sent to it, with a revert
/// reason of its choosing (set at deployment).
contract Refuser is ITokenReceiver {
    string public reason;

    constructor(string memory reason_) {
        reason = reason_;
    }

    function onTokenTransfer(address, uint256) external view {
        revert(reason);
    }
}

interface IPortalSubmit {
    function submit(bytes calldata vaa) external returns (uint256, bool);
}

/// TEST ONLY. A recipient that, when tokens arrive, submits a VAA it was
/// given to the Portal: a callback into the Portal in the middle of one of
/// its transfers.
contract Reenterer is ITokenReceiver {
    address public portal;
    bytes public vaa;

    constructor(address portal_) {
        portal = portal_;
    }

    function setVaa(bytes calldata v) external {
        vaa = v;
    }

    function onTokenTransfer(address, uint256) external {
        if (vaa.length == 0) return;
        bytes memory v = vaa;
        delete vaa;
        IPortalSubmit(portal).submit(v);
    }
}

/// TEST ONLY. A recipient that burns every unit of gas it is given when
/// tokens arrive: the call (and the transfer) fail out of gas, with no
/// reason, leaving 1/64 of the gas to whatever comes after.
contract GasBurner is ITokenReceiver {
    uint256 public spins;

    function onTokenTransfer(address, uint256) external {
        while (true) spins++;
    }
}
