/* Value of transfers and the value windows (bh_value.h). */
#include "bh_value.h"

#include <string.h>

#include "bh_amount.h"

static bh_u128 pow10_u128(unsigned d)
{
    bh_u128 p = 1;
    while (d--)
        p *= 10;
    return p;
}

static int value_of(bh_u128 *out, bh_u128 amount, bh_u128 price, unsigned decimals, int up)
{
    *out = 0;
    if (decimals > 38) return BH_EINVAL;
    bh_u128 unit = pow10_u128(decimals);
    /* whole tokens and the fraction apart, so amount * price need not fit */
    bh_u128 whole = amount / unit, frac = amount % unit, a, b, v;
    if (bh_u128_mul(&a, whole, price)) return BH_ERANGE;
    if (bh_u128_mul(&b, frac, price)) return BH_ERANGE;
    bh_u128 bq = b / unit + (up && b % unit ? 1 : 0);
    if (bh_u128_add(&v, a, bq)) return BH_ERANGE;
    *out = v;
    return BH_OK;
}

int bh_value_of(bh_u128 *out, bh_u128 amount, bh_u128 price, unsigned decimals)
{
    return value_of(out, amount, price, decimals, 1);
}

int bh_value_of_floor(bh_u128 *out, bh_u128 amount, bh_u128 price, unsigned decimals)
{
    return value_of(out, amount, price, decimals, 0);
}

bh_u128 bh_value_scale(bh_u128 limit, unsigned percent)
{
    if (percent >= 100) return limit;
    /* limit / 100 * percent + the remainder's share: no overflow */
    return limit / 100 * percent + limit % 100 * percent / 100;
}

static int live(const bh_value_window *w, int i, uint64_t h)
{
    return w->hour[i] <= h && w->hour[i] + BH_VALUE_SLOTS > h && w->sum[i];
}

bh_u128 bh_value_window_used(const bh_value_window *w, uint64_t now)
{
    uint64_t h = now / 3600;
    bh_u128 s = 0;
    for (int i = 0; i < BH_VALUE_SLOTS; i++)
        if (live(w, i, h) && bh_u128_add(&s, s, w->sum[i])) return BH_U128_MAX;
    return s;
}

uint64_t bh_value_window_ready(const bh_value_window *w, bh_u128 limit, bh_u128 value, uint64_t now)
{
    if (!limit) return now;
    if (value > limit) return UINT64_MAX;
    uint64_t h = now / 3600;
    bh_u128 used = bh_value_window_used(w, now), room = limit - value;
    if (used <= room) return now;
    /* expire slots oldest first: the slot of hour k leaves at k + 24 */
    for (uint64_t age = BH_VALUE_SLOTS - 1;; age--) {
        for (int i = 0; i < BH_VALUE_SLOTS; i++)
            if (live(w, i, h) && w->hour[i] + age == h) used -= w->sum[i];
        if (used <= room) return (h - age + BH_VALUE_SLOTS) * 3600;
        if (age == 0) break;
    }
    return (h + BH_VALUE_SLOTS) * 3600;
}

void bh_value_window_add(bh_value_window *w, bh_u128 value, uint64_t now)
{
    uint64_t h = now / 3600;
    unsigned s = (unsigned)(h % BH_VALUE_SLOTS);
    if (w->hour[s] != h) {
        w->hour[s] = h;
        w->sum[s] = 0;
    }
    if (bh_u128_add(&w->sum[s], w->sum[s], value)) w->sum[s] = BH_U128_MAX;
}

bh_u128 bh_value_window_cancel(bh_value_window *w, bh_u128 value, uint64_t now)
{
    uint64_t h = now / 3600;
    bh_u128 paid = 0;
    for (uint64_t age = BH_VALUE_SLOTS - 1; value > 0; age--) {
        for (int i = 0; i < BH_VALUE_SLOTS && value > 0; i++) {
            if (!live(w, i, h) || w->hour[i] + age != h) continue;
            bh_u128 take = w->sum[i] < value ? w->sum[i] : value;
            w->sum[i] -= take;
            value -= take;
            paid += take;
        }
        if (age == 0) break;
    }
    return paid;
}

int bh_value_moved(bh_u128 ref, bh_u128 now_p, unsigned percent)
{
    bh_u128 d = now_p > ref ? now_p - ref : ref - now_p, lhs, rhs;
    if (ref == 0) return d != 0;
    if (bh_u128_mul(&lhs, d, 100)) return 1;
    if (bh_u128_mul(&rhs, ref, percent)) return 0;
    return lhs > rhs;
}
