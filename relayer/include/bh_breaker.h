/* The circuit breaker: decides when a chain must be quarantined, and when
 * its flow spikes enough that its limits should tighten (DESIGN.md §7).
 *
 * Pure decisions, no I/O: the node reports what it observes per chain
 * (with the time as an input) and acts on the verdicts (freezing the chain
 * in every vault, journaled with the evidence). Thread-safe: watchers,
 * vault workers and delivery threads report concurrently; an internal mutex
 * is held only for the bookkeeping, never across I/O. */
#ifndef BH_BREAKER_H
#define BH_BREAKER_H

#include <stddef.h>
#include <stdint.h>
#include "bh_config.h"
#include "bh_error.h"

/* What the node observed on a chain. */
typedef enum {
    BH_OBS_EQUIVOCATION = 0, /* finalized block changed hash, or same replay key, other digest */
    BH_OBS_FORGED_LOCK,      /* lock event without the token transfer behind it */
    BH_OBS_EXCEEDS_OUTSTANDING, /* burn/hop for more than the vault sent to the chain */
    BH_OBS_BAD_SIGNATURE,       /* the chain's Portal refused our attestations */
    BH_OBS_RATE_LIMITED,        /* a message delayed or refused by a rate limit */
    BH_OBS_DISAGREEMENT,        /* endpoints disagreed at finality (outvoted answers) */
    BH_OBS_COUNT_
} bh_obs_kind;

/* Returns: a stable name ("forged_lock", ...); never NULL. */
const char *bh_obs_name(bh_obs_kind k);

typedef struct {
    uint16_t chain;
    bh_obs_kind cause;
    uint64_t count;  /* observations of that kind inside the window */
    uint64_t at;     /* time of the trip */
    char evidence[160]; /* "forged_lock x1 in 60s (threshold 1): <detail>" */
} bh_breaker_trip;

/* What to do with a chain's limits after a flow report. */
typedef enum {
    BH_FLOW_STEADY = 0, /* nothing to change */
    BH_FLOW_TIGHTEN,    /* the flow spiked: shrink the chain's buckets */
    BH_FLOW_RELAX       /* calm again for relax_after_s: restore them */
} bh_flow_action;

typedef struct bh_breaker bh_breaker;

/* Returns: BH_OK; BH_EINVAL; BH_ENOMEM.
 * Out: out  caller frees with bh_breaker_destroy.
 * In: cfg  copied. chains  n bridge ids the breaker watches. */
BH_WARN_UNUSED_RESULT int bh_breaker_create(bh_breaker **out, const bh_config_breaker *cfg,
                                            const uint16_t *chains, size_t n);
void bh_breaker_destroy(bh_breaker *b);

/* Report `count` observations of kind k on chain at time now. A chain trips
 * once: when the observations of one kind inside the last window_s seconds
 * reach that kind's threshold (0 disables the kind). Later observations on
 * a tripped chain are counted but never trip it again until
 * bh_breaker_reset.
 * Returns: 1 if this report tripped the chain (trip filled), 0 if not,
 *          BH_EINVAL for an unknown chain or kind.
 * In: detail  short text for the evidence (may be NULL), copied. */
int bh_breaker_observe(bh_breaker *b, bh_breaker_trip *trip, uint16_t chain, bh_obs_kind k,
                       uint64_t count, uint64_t now, const char *detail);

/* Returns: 1 if the chain has tripped (and not been reset), else 0. */
int bh_breaker_is_tripped(bh_breaker *b, uint16_t chain);

/* Forget a trip (an operator lifted the quarantine). */
void bh_breaker_reset(bh_breaker *b, uint16_t chain);

/* Report n messages observed from chain at now; the breaker keeps a per
 * minute rate and a slow baseline. A spike is a one-minute rate at or above
 * spike_min_per_min and above factor × baseline. TIGHTEN is returned once
 * when a spike starts; RELAX once after relax_after_s without a spike.
 * Always STEADY when spike detection is disabled. */
bh_flow_action bh_breaker_flow(bh_breaker *b, uint16_t chain, uint64_t n, uint64_t now);

/* Returns: observations of kind k on chain inside the window ending now. */
uint64_t bh_breaker_count(bh_breaker *b, uint16_t chain, bh_obs_kind k, uint64_t now);

#endif
