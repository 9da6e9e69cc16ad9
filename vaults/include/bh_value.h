/* Value limits: what a transfer is worth in a vault's quote unit, and the
 * 24 h value windows that sum it across assets.
 *
 * A price is in quote units per whole token (10^decimals smallest units).
 * The quote unit is the operator's choice, the same for every asset and
 * limit of one vault (e.g. a cent). Value is rounded UP, so a limit in
 * value is never passed by rounding. All arithmetic is checked u128; a
 * value that does not fit is BH_ERANGE, which a caller treats as over
 * every limit (fail closed).
 *
 * A window is 24 slots of one hour, like the token windows of bh_vault.h:
 * at time t it holds what was added in hour t/3600 and the 23 before.
 * Pure functions: no I/O, time is an input. */
#ifndef BH_VALUE_H
#define BH_VALUE_H

#include <stdint.h>
#include "bh_error.h"
#include "bh_types.h"

#define BH_VALUE_SLOTS 24

typedef struct {
    uint64_t hour[BH_VALUE_SLOTS];
    bh_u128 sum[BH_VALUE_SLOTS];
} bh_value_window;

/* Value of `amount` smallest units of a token with `decimals` at `price`:
 * ceil(amount * price / 10^decimals).
 * Returns: BH_OK; BH_EINVAL (decimals > 38); BH_ERANGE if it exceeds 2^128-1.
 * Out: out  0 on error. */
BH_WARN_UNUSED_RESULT int bh_value_of(bh_u128 *out, bh_u128 amount, bh_u128 price,
                                      unsigned decimals);

/* The same rounded down: floor(amount * price / 10^decimals), for a credit
 * (what comes back never pays down more than it is worth). */
BH_WARN_UNUSED_RESULT int bh_value_of_floor(bh_u128 *out, bh_u128 amount, bh_u128 price,
                                            unsigned decimals);

/* A limit scaled to percent (0..100) of itself, rounded down: a tightened
 * limit is never larger than the scaled size. percent >= 100: limit. */
bh_u128 bh_value_scale(bh_u128 limit, unsigned percent);

/* Returns: the sum in the window at `now` (saturating at 2^128-1). */
bh_u128 bh_value_window_used(const bh_value_window *w, uint64_t now);

/* When `value` more fits under `limit` (0 = no limit: now), letting the
 * oldest slots expire; UINT64_MAX if value > limit (it never fits). */
uint64_t bh_value_window_ready(const bh_value_window *w, bh_u128 limit, bh_u128 value,
                               uint64_t now);

/* Count value in the slot of `now` (saturating). */
void bh_value_window_add(bh_value_window *w, bh_u128 value, uint64_t now);

/* Flow cancel: pay down up to `value` of what the window holds at `now`,
 * oldest slot first (what stays is the newest, which holds longest), never
 * below zero: the window's room can never grow past its limit.
 * Returns: how much was paid down (<= value, <= the window's sum). */
bh_u128 bh_value_window_cancel(bh_value_window *w, bh_u128 value, uint64_t now);

/* Whether price `now_p` moved more than `percent` from `ref`: |now_p - ref|
 * * 100 > percent * ref (ref 0: any non-zero move counts). */
int bh_value_moved(bh_u128 ref, bh_u128 now_p, unsigned percent);

#endif
