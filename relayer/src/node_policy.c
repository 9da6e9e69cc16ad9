/* The node's I/O-free decisions (node_policy.h). */
#include "node_policy.h"

#include <inttypes.h>
#include <stdio.h>

#include "bh_error.h"

int node_policy_rejection_evidence(bh_reject reason, int from_remote, bh_obs_kind *kind)
{
    switch (reason) {
    case BH_REJECT_EXCEEDS_OUTSTANDING:
    case BH_REJECT_EXCEEDS_LOCKED:
        if (!from_remote) return 0;
        *kind = BH_OBS_EXCEEDS_OUTSTANDING;
        return 1;
    case BH_REJECT_EQUIVOCATION:
        *kind = BH_OBS_EQUIVOCATION;
        return 1;
    case BH_REJECT_FORGED_LOCK:
        *kind = BH_OBS_FORGED_LOCK;
        return 1;
    case BH_REJECT_FORGED_BURN:
        *kind = BH_OBS_FORGED_BURN;
        return 1;
    case BH_REJECT_MESSAGE_LIMIT:
        *kind = BH_OBS_RATE_LIMITED;
        return 1;
    default:
        return 0;
    }
}

int node_policy_delay_is_rate_limit(bh_vault_cause cause)
{
    return cause == BH_VAULT_CAUSE_BUCKET || cause == BH_VAULT_CAUSE_WINDOW ||
           cause == BH_VAULT_CAUSE_CAPACITY;
}

bh_reject node_policy_lock_verdict(bh_reject verdict, int asset_registered)
{
    if ((verdict == BH_REJECT_FORGED_LOCK || verdict == BH_REJECT_SHORT_LOCK) && !asset_registered)
        return BH_REJECT_UNKNOWN_ASSET;
    return verdict;
}

int node_policy_poll_implicates(int rc, int split)
{
    if (rc == BH_OK) return 0;
    return split || rc == BH_EPROTO;
}

int node_policy_stall_due(uint64_t since_ms, uint64_t now_ms, unsigned bound_s)
{
    return bound_s && now_ms >= since_ms && now_ms - since_ms >= (uint64_t)bound_s * 1000;
}

uint64_t node_policy_retry_ms(unsigned tries)
{
    return 1000ull << (tries < 6 ? tries : 6);
}

int node_policy_park(unsigned reverts, unsigned park_after)
{
    return park_after && reverts >= park_after;
}

size_t node_policy_round_order(const size_t *src, size_t n, size_t per_source, size_t n_sources,
                               size_t *order)
{
    size_t w = 0;
    size_t seen[64];
    if (n_sources > 64) n_sources = 64;
    for (size_t r = 0; r < per_source; r++) {
        for (size_t s = 0; s < n_sources; s++)
            seen[s] = 0;
        for (size_t i = 0; i < n; i++) {
            if (src[i] >= n_sources || seen[src[i]]++ != r) continue;
            order[w++] = i;
        }
    }
    return w;
}

void node_policy_tighten(bh_u128 cap, bh_u128 refill, unsigned pct, bh_u128 *cap_out,
                         bh_u128 *refill_out)
{
    /* pct <= 100 (the config's bound): x / 100 * pct cannot overflow */
    bh_u128 c = cap / 100 * pct + cap % 100 * pct / 100;
    bh_u128 r = refill / 100 * pct + refill % 100 * pct / 100;
    *cap_out = c ? c : 1;
    *refill_out = r || !refill ? r : 1;
}

int node_policy_is_tightened(bh_u128 have, bh_u128 cap, bh_u128 refill, int of_refill,
                             unsigned pct1, unsigned pct2)
{
    const unsigned pct[2] = {pct1, pct2};
    for (size_t i = 0; i < 2; i++) {
        bh_u128 c, r;
        node_policy_tighten(cap, refill, pct[i], &c, &r);
        if (have == (of_refill ? r : c)) return 1;
    }
    return 0;
}

#define FEED_FUTURE_S 300 /* an updatedAt further ahead than this is no price */

static bh_u128 pow10_u128(unsigned d)
{
    bh_u128 p = 1;
    while (d--)
        p *= 10;
    return p;
}

int node_policy_feed_price(bh_u128 *price, int negative, const bh_u256 *answer,
                           unsigned feed_decimals, unsigned quote_decimals, uint64_t updated_at,
                           uint64_t now, char *why, size_t cap)
{
    char d[BH_U256_DEC_MAX];
    bh_u128 a;
    *price = 0;
    if (feed_decimals > 38 || quote_decimals > 38) {
        snprintf(why, cap, "feed decimals %u past 38", feed_decimals);
        return -1;
    }
    if (updated_at > now + FEED_FUTURE_S) {
        snprintf(why, cap, "feed updatedAt %" PRIu64 " is %" PRIu64 " s ahead", updated_at,
                 updated_at - now);
        return -1;
    }
    if (negative || bh_u256_is_zero(answer)) {
        bh_u256_to_dec(d, answer);
        snprintf(why, cap, "feed answers %s%s, no price", negative ? "-" : "", d);
        return -1;
    }
    if (bh_u256_to_u128(&a, answer)) {
        snprintf(why, cap, "feed answer does not fit in 128 bits");
        return -1;
    }
    if (quote_decimals >= feed_decimals) {
        if (bh_u128_mul(price, a, pow10_u128(quote_decimals - feed_decimals))) {
            *price = 0;
            snprintf(why, cap, "feed answer does not fit in 128 bits in quote units");
            return -1;
        }
        return 0;
    }
    bh_u128 u = pow10_u128(feed_decimals - quote_decimals);
    *price = a / u + (a % u ? 1 : 0);
    return 0;
}
