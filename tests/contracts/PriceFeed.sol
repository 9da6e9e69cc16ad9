// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// TEST ONLY. A price feed of Chainlink's AggregatorV3 shape (decimals,
/// latestRoundData) whose answer and time anyone may set: the tests and the
/// devnet move it to see the node's value limits fail closed and tighten.
contract PriceFeed {
    uint8 public immutable decimals;
    uint80 private round;
    int256 private answer;
    uint256 private updated;

    constructor(uint8 decimals_, int256 answer_) {
        decimals = decimals_;
        _set(answer_, block.timestamp);
    }

    /// A new round at this block's time.
    function setAnswer(int256 answer_) external {
        _set(answer_, block.timestamp);
    }

    /// A new round with its time given (an old one: a stale feed).
    function setRound(int256 answer_, uint256 updatedAt_) external {
        _set(answer_, updatedAt_);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer_, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return (round, answer, updated, updated, round);
    }

    function _set(int256 answer_, uint256 updatedAt_) private {
        round += 1;
        answer = answer_;
        updated = updatedAt_;
    }
}
