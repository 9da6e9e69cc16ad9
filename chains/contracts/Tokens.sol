// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// Minimal ERC-20 shared by the test token and the wrapped tokens.
abstract contract BaseToken {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external virtual returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external virtual returns (bool) {
        _spend(from, value);
        _move(from, to, value);
        return true;
    }

    function _spend(address from, uint256 value) internal {
        uint256 a = allowance[from][msg.sender];
        if (a != type(uint256).max) {
            require(a >= value, "allowance");
            allowance[from][msg.sender] = a - value;
        }
    }

    function _move(address from, address to, uint256 value) internal {
        require(to != address(0), "zero address");
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }

    function _mint(address to, uint256 value) internal {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function _burn(address from, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        totalSupply -= value;
        emit Transfer(from, address(0), value);
    }
}

/// Test token: anyone may mint. With `lying` set, transferFrom reports
/// success without moving anything (a malicious token, used to show that a
/// lock event without the transfer behind it is refused as forged).
contract TestToken is BaseToken {
    bool public lying;

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        BaseToken(name_, symbol_, decimals_) {}

    function mint(address to, uint256 value) external {
        _mint(to, value);
    }

    function setLying(bool on) external {
        lying = on;
    }

    function transferFrom(address from, address to, uint256 value) external override returns (bool) {
        if (lying) return true;
        _spend(from, value);
        _move(from, to, value);
        return true;
    }
}

/// Wrapped representation of a token whose home is another chain.
/// Only the Portal that created it mints and burns.
contract WrappedToken is BaseToken {
    address public immutable portal;
    uint16 public immutable homeChain;
    bytes32 public immutable homeToken;

    constructor(uint16 homeChain_, bytes32 homeToken_)
        BaseToken("bulkhead wrapped", "bhW", 18) {
        portal = msg.sender;
        homeChain = homeChain_;
        homeToken = homeToken_;
    }

    function mint(address to, uint256 value) external {
        require(msg.sender == portal, "only portal");
        _mint(to, value);
    }

    function burnFrom(address from, uint256 value) external {
        require(msg.sender == portal, "only portal");
        _spend(from, value);
        _burn(from, value);
    }
}
