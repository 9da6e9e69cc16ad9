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

/* What the node observed on a chain. Only what implicates the chain itself
 * should be reported with a non-zero threshold: what any user, one token or
 * one endpoint can cause is refused and counted, never evidence. */
typedef enum {
    BH_OBS_EQUIVOCATION = 0,    /* finalized block changed hash, or same replay key, other digest */
    BH_OBS_FORGED_LOCK,         /* lock of a registered asset with no transfer of it behind it */
    BH_OBS_EXCEEDS_OUTSTANDING, /* burn/hop for more than the vault sent to the chain */
    BH_OBS_BAD_SIGNATURE,       /* the chain's Portal refused our attestations */
    BH_OBS_RATE_LIMITED,        /* a message delayed or refused by a rate limit */
    BH_OBS_DISAGREEMENT,        /* a poll failed: endpoints answered but split, no quorum */
    BH_OBS_STALLED,             /* endpoints answer, the watcher cannot advance past a bound */
    BH_OBS_FORGED_BURN,  /* burn event with no burn of the Portal's wrapped token behind it */
    BH_OBS_SUPPLY_DRIFT, /* a wrapped token's supply above what the vault sent to the chain */
    BH_OBS_COUNT_
} bh_obs_kind;

/* Returns: a stable name ("equivocation", "forged_lock",
 * "exceeds_outstanding", "bad_signature", "rate_limited", "disagreement",
 * "stalled", "forged_burn", "supply_drift"; "unknown" out of range); never NULL. */
const char *bh_obs_name(bh_obs_kind k);

typedef struct {
    uint16_t chain;
    bh_obs_kind cause;
    uint64_t count;     /* observations of that kind inside the window */
    uint64_t at;        /* time of the trip */
    char evidence[160]; /* "forged_lock x1 in 60s (threshold 1): <detail>" */
} bh_breaker_trip;

/* What to do with a chain's limits after a flow report. */
typedef enum {
    BH_FLOW_STEADY = 0, /* nothing to change */
    BH_FLOW_TIGHTEN,    /* the flow spiked: shrink the chain's buckets */
    BH_FLOW_RELAX       /* calm again for relax_after_s: restore them */
} bh_flow_action;

typedef struct bh_breaker bh_breaker;

/* Returns: BH_OK; BH_EINVAL (NULL out or cfg, window_s 0, a bridge id
 *          listed twice); BH_ENOMEM.
 * Out: out  caller frees with bh_breaker_destroy (NULL is a no-op).
 * In: cfg  copied. chains  n bridge ids the breaker watches, copied. */
BH_WARN_UNUSED_RESULT int bh_breaker_create(bh_breaker **out, const bh_config_breaker *cfg,
                                            const uint16_t *chains, size_t n);
void bh_breaker_destroy(bh_breaker *b);

/* Report `count` observations of kind k on chain at time now (seconds).
 *
 * Window: per (chain, kind) a ring of at most 60 buckets, each
 * w = ceil(window_s / 60) seconds wide; memory is bounded whatever the
 * rate. An observation made at t counts at time now while
 * floor(t / w) > floor(now / w) - ceil(window_s / w). For window_s <= 60
 * (w = 1) that is exactly t in (now - window_s, now]; for longer windows
 * an observation leaves at the end of its bucket, up to w - 1 seconds
 * before window_s has passed.
 *
 * Trip: a chain trips once, on the first report (count > 0) after which
 * the observations of that kind inside the window reach the kind's
 * threshold (0 disables the kind: counted, never trips). Kinds are not
 * added together. Later observations on a tripped chain are counted but
 * never trip it again until bh_breaker_reset. Chains are independent.
 *
 * Time: a now earlier than the latest time seen for the chain (a clock
 * step) is taken as that latest time.
 *
 * Returns: 1 if this report tripped the chain (trip filled), 0 if not,
 *          BH_EINVAL for an unknown chain or kind, or a NULL b or trip.
 * Out: trip  zeroed on entry; on 1: chain, cause, count (inside the
 *            window), at (now) and evidence, e.g.
 *            "forged_lock x1 in 60s (threshold 1): <detail>", always
 *            NUL-terminated, cut to fit, control characters shown as '?'.
 * In: detail  short text for the evidence (may be NULL), copied. */
int bh_breaker_observe(bh_breaker *b, bh_breaker_trip *trip, uint16_t chain, bh_obs_kind k,
                       uint64_t count, uint64_t now, const char *detail);

/* Returns: 1 if the chain has tripped (and not been reset), else 0
 * (also for an unknown chain). */
int bh_breaker_is_tripped(bh_breaker *b, uint16_t chain);

/* Forget a trip (an operator lifted the quarantine) and the chain's
 * observation windows with it: the operator has judged that evidence, so
 * a new trip needs a full threshold of new observations. Flow state is
 * kept. Unknown chain: no-op. */
void bh_breaker_reset(bh_breaker *b, uint16_t chain);

/* Report n messages observed from chain at now (n may be 0: the node
 * should report at least every few seconds so RELAX can be returned).
 *
 * Rule, per chain:
 *   rate      messages in (now - 60, now], from per-second buckets;
 *   baseline  messages per minute: an exponentially weighted average of
 *             completed calendar minutes (floor(t / 60)). A minute adds
 *             1/16 of (its count - baseline) if the chain was not spiking
 *             when it closed, 1/256 if it was (a flood cannot teach the
 *             baseline quickly, yet a new steady level is learned within
 *             tens of minutes); idle minutes count 0. Starts at 0.
 *   spike     rate >= max(spike_min_per_min, 1) AND rate > spike_factor ×
 *             baseline. The min_per_min bound is the baseline's floor: on
 *             a cold start (baseline 0) only a minute of at least
 *             min_per_min messages is a spike.
 * Returns: TIGHTEN on the report where a spike starts (limits not already
 *          tightened); RELAX on the first report without a spike at least
 *          spike_relax_after_s seconds after the last report that saw one
 *          (then STEADY until a new spike tightens again); STEADY
 *          otherwise, always when spike detection is disabled, and for an
 *          unknown chain. Time stepping back is clamped as for observe. */
bh_flow_action bh_breaker_flow(bh_breaker *b, uint16_t chain, uint64_t n, uint64_t now);

/* Returns: observations of kind k on chain inside the window ending now
 * (0 for an unknown chain or kind). Does not advance the chain's clock. */
uint64_t bh_breaker_count(bh_breaker *b, uint16_t chain, bh_obs_kind k, uint64_t now);

/* Returns: a number that changes whenever an observation is recorded or a
 * chain is reset, so a caller can persist the windows only when they moved. */
uint64_t bh_breaker_version(bh_breaker *b);

#define BH_BREAKER_STATE_MAX 8192 /* bytes of one chain's saved windows, at most */

/* Serialize one chain's observation windows so they survive a restart:
 * version byte 1, u32 bucket width, u64 latest time, then per kind a u8
 * kind, a u8 slot count and that many (u64 epoch, u64 count) slots, all
 * big-endian, no padding; empty slots are left out. The trip flag and the
 * flow state are not saved (a quarantine lives in the vaults; flow is
 * relearned).
 * Returns: BH_OK; BH_EINVAL for an unknown chain or NULL arguments;
 *          BH_ENOSPC if cap is too small (BH_BREAKER_STATE_MAX always fits).
 * Out: out  *len bytes written. */
BH_WARN_UNUSED_RESULT int bh_breaker_save(bh_breaker *b, uint16_t chain, unsigned char *out,
                                          size_t cap, size_t *len);

/* Restore what bh_breaker_save wrote, merged into the chain's windows
 * (counts add). State saved with another bucket width (window_s changed)
 * is ignored: BH_OK and nothing restored.
 * Returns: BH_OK; BH_EINVAL for an unknown chain; BH_EMALFORMED for bytes
 *          that do not follow the format (nothing restored). */
BH_WARN_UNUSED_RESULT int bh_breaker_load(bh_breaker *b, uint16_t chain, const unsigned char *in,
                                          size_t len);

#endif
