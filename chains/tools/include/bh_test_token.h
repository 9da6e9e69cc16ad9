/* The test token (TestToken in chains/contracts/Tokens.sol): an ERC-20 that
 * anyone may mint and that can be told to lie. Used by bulkhead-deploy, the
 * devnet and the tests; it lives in bh_chains_tools, which the node
 * (bulkhead) does not link. */
#ifndef BH_TEST_TOKEN_H
#define BH_TEST_TOKEN_H

#include <stdint.h>
#include "bh_error.h"
#include "bh_evm_sender.h"
#include "bh_types.h"

/* Deploy a TestToken. Returns: BH_OK; BH_EINVAL; sender errors.
 * Out: token  the contract address (zeroed on failure). */
BH_WARN_UNUSED_RESULT int bh_test_token_deploy(bh_evm_sender *s, bh_address *token,
                                               const char *name, const char *symbol,
                                               uint8_t decimals);
/* Mint amount to `to` (anyone may). Returns: BH_OK; BH_EINVAL; sender errors. */
BH_WARN_UNUSED_RESULT int bh_test_token_mint(bh_evm_sender *s, const bh_address *token,
                                             const bh_address *to, const bh_u256 *amount);
/* A lying token reports transferFrom success without moving anything. */
BH_WARN_UNUSED_RESULT int bh_test_token_set_lying(bh_evm_sender *s, const bh_address *token,
                                                  int lying);

/* The test price feed (PriceFeed in tests/contracts/PriceFeed.sol): an
 * AggregatorV3-shaped feed (decimals, latestRoundData) anyone may set.
 * answer is signed (a feed may report a negative answer); updated_at 0
 * means the block's time. Returns: BH_OK; BH_EINVAL; sender errors.
 * Out: feed  the contract address (zeroed on failure). */
BH_WARN_UNUSED_RESULT int bh_test_feed_deploy(bh_evm_sender *s, bh_address *feed, uint8_t decimals,
                                              int64_t answer);
BH_WARN_UNUSED_RESULT int bh_test_feed_set(bh_evm_sender *s, const bh_address *feed, int64_t answer,
                                           uint64_t updated_at);

#endif
