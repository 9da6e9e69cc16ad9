/* An EVM chain watched through several JSON-RPC endpoints with a k-of-n
 * quorum (DESIGN.md §6). Implements bh_chain_ops for the watcher.
 *
 * Quorum: every read that decides something (finalized head, block hash at
 * a height, the Portal logs of a range, and the ERC-20 transfers into the
 * Portal in that range, i.e. the receipt logs the lock check reads) is asked
 * of every endpoint; an answer is accepted only when k
 * endpoints return the same content. Endpoints that answered something else
 * are outvoted: counted (bh_rpc_stats.disagreements; .equivocations for a
 * block hash at a finalized height), marked suspect (bh_rpc_stats.healthy 0)
 * and skipped for a growing back-off (5 s doubling to 5 min; it stays suspect
 * until an answer after the back-off agrees); an outvoted answer is never evidence
 * against the chain, since one endpoint is not the chain. Endpoints are asked
 * in parallel (a helper thread per endpoint for the duration of a call), and
 * one that times out or cannot be reached is skipped for a growing back-off;
 * a skipped endpoint is still asked when the others cannot make the quorum. Not thread-safe: one
 * thread drives a chain; the rpc.log hook may be called from the helper threads and must be
 * thread-safe. */
#ifndef BH_EVM_CHAIN_H
#define BH_EVM_CHAIN_H

#include <stddef.h>
#include <stdint.h>
#include "bh_chain.h"
#include "bh_error.h"
#include "bh_rpc.h"
#include "bh_types.h"

#define BH_EVM_MAX_ENDPOINTS 16
#define BH_EVM_MAX_TOKENS 64
#define BH_EVM_MAX_PINS 256

typedef struct {
    uint16_t bridge_id;      /* the chain's id in VAAs (emitter_chain) */
    uint64_t evm_chain_id;   /* eth_chainId every endpoint must return */
    const char *const *urls; /* n_urls endpoint URLs, copied */
    size_t n_urls;           /* 1..BH_EVM_MAX_ENDPOINTS */
    unsigned quorum;         /* k: 1..n_urls */
    unsigned confirmations;  /* 0: follow the "finalized" tag; else head - N */
    bh_address portal;       /* the Portal contract on this chain */
    uint64_t max_range;      /* blocks per eth_getLogs; 0: 2000 */
    size_t max_logs;         /* an answer this long is taken as capped; 0: 10000 */
    /* Tokens whose ERC-20 transfers into the Portal back locks (the chain's
     * registered assets), copied. Transfer logs are asked for by these
     * addresses only, so no other contract's logs can fill an answer; a lock
     * of any other token, or in a range whose answer is still capped at one
     * block, is checked on its own transaction receipt. */
    const bh_address *tokens;
    size_t n_tokens; /* 0..BH_EVM_MAX_TOKENS */
    /* Wrapped tokens pinned by an earlier run (bh_evm_chain_pins), copied:
     * believed over what the Portal answers now. */
    const bh_wrapped_pin *pins;
    size_t n_pins;      /* 0..BH_EVM_MAX_PINS */
    bh_rpc_options rpc; /* template for every endpoint (url ignored) */
} bh_evm_chain_config;

typedef struct bh_evm_chain bh_evm_chain;

/* Returns: BH_OK; BH_EINVAL for a bad config (no URLs, quorum 0 or > n);
 *          BH_ENOMEM.
 * Out: out  caller frees with bh_evm_chain_destroy. */
BH_WARN_UNUSED_RESULT int bh_evm_chain_create(bh_evm_chain **out, const bh_evm_chain_config *cfg);

void bh_evm_chain_destroy(bh_evm_chain *c);

/* eth_chainId of every endpoint must equal the configured id. An endpoint
 * serving another chain is excluded for good (never asked again, reported
 * unhealthy, logged): one endpoint cannot stop the chain.
 * Returns: BH_OK; BH_ECHAINID (see the log) when the endpoints left cannot
 *          make the quorum; BH_ENOQUORUM if fewer than k endpoints
 *          answered; the transport error when none did. */
BH_WARN_UNUSED_RESULT int bh_evm_chain_verify(bh_evm_chain *c);

/* Finalized head agreed by k endpoints: the highest height that k of them
 * report as final, with the block hash k of them agree on at that height.
 * Returns: BH_OK; BH_EEQUIVOCATION if endpoints disagree on that hash and
 *          no k agree; BH_ENOQUORUM if fewer than k answered. */
BH_WARN_UNUSED_RESULT int bh_evm_chain_finalized(bh_evm_chain *c, bh_block_ref *out);

/* The latest block number as the first idle endpoint in good standing
 * says (no quorum: for lag figures only, never for finality).
 * Returns: BH_OK; BH_ENOQUORUM if none could answer. */
BH_WARN_UNUSED_RESULT int bh_evm_chain_head(bh_evm_chain *c, uint64_t *out);

/* Hash of block `number`, agreed by k endpoints (same errors as above). */
BH_WARN_UNUSED_RESULT int bh_evm_chain_block_hash(bh_evm_chain *c, uint64_t number, bh_hash32 *out);

/* Portal events of blocks [from, to], decoded, with the lock check.
 * See bh_chain_ops.fetch. */
BH_WARN_UNUSED_RESULT int bh_evm_chain_fetch(bh_evm_chain *c, uint64_t from, uint64_t to,
                                             bh_chain_event **events, size_t *n, uint64_t *done_to);

/* The Portal events of transaction tx, read again with every check of
 * bh_evm_chain_fetch: its receipt (block number and hash) agreed by k
 * endpoints, then its block's events through the fetch path, those of tx
 * kept. The block must be at most max_block (a finalized height). The
 * sequence expected of the watcher's next read is left as it was.
 * Returns: BH_OK (*n may be 0: no Portal event in tx); BH_ENOTFOUND (k
 * endpoints know no such transaction, or it failed); BH_ESTATE (its block
 * is above max_block: not final yet; *block says which); the errors of a
 * quorum read. Out: block  the transaction's block. */
BH_WARN_UNUSED_RESULT int bh_evm_chain_fetch_tx(bh_evm_chain *c, const bh_hash32 *tx,
                                                uint64_t max_block, bh_chain_event **events,
                                                size_t *n, uint64_t *block);

#define BH_EVM_LATEST UINT64_MAX /* a view's block: the endpoints' latest */

/* Views at block `block` (or BH_EVM_LATEST), agreed by k endpoints (eth_call; the answers
 * must be byte-identical). A view of an address without code reads as
 * zero. Returns: BH_OK; BH_ENOQUORUM; BH_EPROTO for an answer that is not
 * one word; transport errors.
 *  call:        any call; *out heap (free()), *out_len its length.
 *  wrapped_for: the Portal's wrapped token of (home_chain, home_token),
 *               zero before the Portal first minted it; the first non-zero
 *               answer is pinned and returned from then on, at any block.
 *  total_supply: an ERC-20's totalSupply().
 *  custody:     an ERC-20's balanceOf(Portal).
 *  portal_outstanding: the Portal's outstanding(token, remote).
 *  price_feed:  a feed's decimals() and latestRoundData(), each agreed by
 *               k endpoints; BH_EPROTO also for decimals past 38, an
 *               updatedAt past 2^64-1, or a feed with no code. */
BH_WARN_UNUSED_RESULT int bh_evm_chain_call(bh_evm_chain *c, unsigned char **out, size_t *out_len,
                                            const bh_address *to, const unsigned char *data,
                                            size_t len, uint64_t block);
BH_WARN_UNUSED_RESULT int bh_evm_chain_wrapped_for(bh_evm_chain *c, bh_address *out,
                                                   uint16_t home_chain,
                                                   const bh_bytes32 *home_token, uint64_t block);
BH_WARN_UNUSED_RESULT int bh_evm_chain_total_supply(bh_evm_chain *c, bh_u256 *out,
                                                    const bh_address *token, uint64_t block);
BH_WARN_UNUSED_RESULT int bh_evm_chain_custody(bh_evm_chain *c, bh_u256 *out,
                                               const bh_address *token, uint64_t block);
BH_WARN_UNUSED_RESULT int bh_evm_chain_price_feed(bh_evm_chain *c, bh_chain_price_round *out,
                                                  const bh_address *feed, uint64_t block);
BH_WARN_UNUSED_RESULT int bh_evm_chain_portal_outstanding(bh_evm_chain *c, bh_u256 *out,
                                                          const bh_address *token, uint16_t remote,
                                                          uint64_t block);

/* The Portal's controls at the endpoints' latest block (agreed by k):
 * controlEpoch(), and when it differs from known_epoch, paused(),
 * setInfo(me) and laneControls(remotes[i]) for each (this chain's own id:
 * zeroed). Returns the errors of a view; BH_EINVAL for n past
 * BH_CHAIN_CONTROLS_MAX. Out: out->epoch; the rest only when the epoch
 * differs. */
BH_WARN_UNUSED_RESULT int bh_evm_chain_portal_controls(bh_evm_chain *c, uint64_t known_epoch,
                                                       const bh_address *me,
                                                       const uint16_t *remotes, size_t n,
                                                       bh_chain_controls *out);

/* The Portal's sequence() at block `block`: the sequence the first event
 * after that block carries (k endpoints agree; an endpoint that keeps no
 * state that old fails the view). */
BH_WARN_UNUSED_RESULT int bh_evm_chain_portal_sequence(bh_evm_chain *c, uint64_t block,
                                                       uint64_t *next);

/* The pinned wrapped tokens, oldest first, up to cap. Returns: how many
 * there are (may exceed cap). */
size_t bh_evm_chain_pins(const bh_evm_chain *c, bh_wrapped_pin *out, size_t cap);

/* After a restart: the Portal sequence the first event after block
 * `after_block` must carry (from the persisted last event), so a provider
 * that leaves events out is caught from the first answer on. */
void bh_evm_chain_expect_sequence(bh_evm_chain *c, uint64_t next_sequence, uint64_t after_block);

/* Returns: 1 if the last failed quorum read got answers that disagree with
 * no k of them alike (the endpoints answer, but not as one chain), 0 if
 * the last failure was endpoints not answering (or nothing failed). */
int bh_evm_chain_last_split(const bh_evm_chain *c);

/* Returns: the endpoint count, and endpoint i (borrowed, lives as long as c). */
size_t bh_evm_chain_endpoint_count(const bh_evm_chain *c);
bh_rpc *bh_evm_chain_endpoint(bh_evm_chain *c, size_t i);

/* Returns: JSON-RPC calls made by this chain so far (all endpoints). */
uint64_t bh_evm_chain_rpc_calls(const bh_evm_chain *c);

/* Returns: answer bytes received by this chain so far (all endpoints). */
uint64_t bh_evm_chain_rpc_bytes(const bh_evm_chain *c);

/* Returns: the current adaptive eth_getLogs range in blocks. */
uint64_t bh_evm_chain_log_range(const bh_evm_chain *c);

/* The backend table; impl is a bh_evm_chain *. */
extern const bh_chain_ops bh_chain_evm_ops;

#endif
