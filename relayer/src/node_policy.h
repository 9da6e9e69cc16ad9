/* The node's decisions that need no I/O, one function each, so they are
 * tested without chains (tests/unit/test_relayer_policy.c): what counts as
 * evidence against a chain, when a watcher is stalled, how deliveries are
 * ordered, retried and parked, how far a spike tightens a bucket.
 * Pure: no globals, no time of their own. Private to relayer/. */
#ifndef BH_NODE_POLICY_H
#define BH_NODE_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "bh_amount.h"
#include "bh_breaker.h"
#include "bh_reject.h"
#include "bh_vault.h"

/* A rejection is evidence against the emitting chain only where that chain
 * alone could have caused it: a burn or hop from a remote chain claiming
 * supply the vault never sent it (exceeds_outstanding, exceeds_locked), a
 * replay key with another digest, a lock of a registered asset with nothing
 * behind it; message-limit refusals are rate evidence (off by default).
 * Returns: 1 and *kind set if it is evidence, else 0 (*kind untouched).
 * In: from_remote  the message's emitter is not the vault's home chain. */
int node_policy_rejection_evidence(bh_reject reason, int from_remote, bh_obs_kind *kind);

/* Returns: 1 if a transfer waiting for this cause is a rate-limit delay
 * (reported as rate_limited, which trips nothing by default). */
int node_policy_delay_is_rate_limit(bh_vault_cause cause);

/* The watcher's verdict on a lock, once the vault says whether its token is
 * registered: a forged or short lock of an unregistered token is anyone's
 * token (unknown_asset). Returns: the verdict to apply. */
bh_reject node_policy_lock_verdict(bh_reject verdict, int asset_registered);

/* Returns: 1 if a failed poll implicates the chain toward a stall: its
 * endpoints answered, but split with no quorum (split), or with an
 * impossible answer (BH_EPROTO), or a finalized hash at odds (a split
 * BH_EEQUIVOCATION); 0 for transport failures (possibly our side). */
int node_policy_poll_implicates(int rc, int split);

/* Returns: 1 when a stall that began at since_ms has lasted bound_s by
 * now_ms (bound_s 0: never). */
int node_policy_stall_due(uint64_t since_ms, uint64_t now_ms, unsigned bound_s);

/* Returns: ms to wait before retrying an entry after its tries-th failure
 * (2 s doubling, at most 64 s). */
uint64_t node_policy_retry_ms(unsigned tries);

/* Returns: 1 if an entry the destination refused `reverts` times is parked. */
int node_policy_park(unsigned reverts, unsigned park_after);

/* A delivery round's order: picks[i] came from source src[i] (in the order
 * picked, oldest first per source); each source's first pick goes, then
 * each one's second, and so on up to per_source, so a flooding source
 * waits behind every other. Sources are small integers < n_sources.
 * Returns: how many indices were written to order (at most n).
 * Out: order  n entries. */
size_t node_policy_round_order(const size_t *src, size_t n, size_t per_source, size_t n_sources,
                               size_t *order);

/* 1 if have is what node_policy_tighten makes of the bucket (cap,
 * refill) at pct1 or pct2: its cap (refill = 0) or its refill (1). Any
 * other value of a tightened lane is not the node's: an operator's, set
 * since, which a relax keeps. */
int node_policy_is_tightened(bh_u128 have, bh_u128 cap, bh_u128 refill, int of_refill,
                             unsigned pct1, unsigned pct2);

/* A bucket tightened to pct percent: never to 0 (that would remove the
 * bucket), and a refill that was on stays on.
 * Out: cap_out, refill_out. */
void node_policy_tighten(bh_u128 cap, bh_u128 refill, unsigned pct, bh_u128 *cap_out,
                         bh_u128 *refill_out);

/* A price feed's round as a vault price: the answer (magnitude, its sign
 * apart) at feed_decimals in quote units at quote_decimals, rounded up, at
 * a time no further than 300 s past now.
 * Returns: 0 with *price >= 1; -1 with why (the round is no price: an
 * answer <= 0, one that does not fit in 128 bits, an updatedAt ahead).
 * Out: price  0 on -1. */
int node_policy_feed_price(bh_u128 *price, int negative, const bh_u256 *answer,
                           unsigned feed_decimals, unsigned quote_decimals, uint64_t updated_at,
                           uint64_t now, char *why, size_t cap);

#endif
