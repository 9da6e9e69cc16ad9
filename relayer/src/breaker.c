/* Circuit breaker bookkeeping: bucketed sliding windows per (chain, kind)
 * and a per-chain flow tracker. Every decision is a pure function of what
 * was reported and the times given; the mutex guards only the counters. */
#include "bh_breaker.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_be.h"

/* Buckets per ring: bounds memory per (chain, kind) whatever the rate. */
#define RING 60
#define FLOW_RATE_S 60       /* the one-minute rate: per-second buckets */
#define FLOW_ALPHA_CALM 16.0 /* baseline learns 1/16 of a calm minute */
#define FLOW_ALPHA_SPIKE 256.0
#define FLOW_GAP_MAX 1024 /* idle minutes beyond this leave nothing of the baseline */

typedef struct {
    uint64_t epoch[RING]; /* bucket index (time / width) the slot holds */
    uint64_t count[RING];
} ring;

typedef struct {
    ring rate;          /* messages per second, last 60 s */
    uint64_t minute;    /* calendar minute being accumulated */
    uint64_t in_minute; /* messages in that minute so far */
    double baseline;    /* messages per minute, EWMA over completed minutes */
    uint64_t last_spike;
    int started;
    int spiking;   /* the last report saw the spike condition */
    int tightened; /* TIGHTEN returned, RELAX not yet */
} flow;

typedef struct {
    uint16_t id;
    int tripped;
    uint64_t last_now; /* latest time seen: earlier times are clamped to it */
    ring obs[BH_OBS_COUNT_];
    flow fl;
} chain_state;

struct bh_breaker {
    pthread_mutex_t mu;
    bh_config_breaker cfg;
    unsigned thresholds[BH_OBS_COUNT_];
    uint64_t width;    /* seconds per observation bucket */
    uint64_t nbuckets; /* buckets that make up the window, <= RING */
    size_t n;
    chain_state *chains; /* sorted by id; ids immutable after create */
    uint64_t version;    /* bumped by every observation and reset */
};

static const char *const obs_names[BH_OBS_COUNT_] = {
    [BH_OBS_EQUIVOCATION] = "equivocation",
    [BH_OBS_FORGED_LOCK] = "forged_lock",
    [BH_OBS_EXCEEDS_OUTSTANDING] = "exceeds_outstanding",
    [BH_OBS_BAD_SIGNATURE] = "bad_signature",
    [BH_OBS_RATE_LIMITED] = "rate_limited",
    [BH_OBS_DISAGREEMENT] = "disagreement",
    [BH_OBS_STALLED] = "stalled",
    [BH_OBS_FORGED_BURN] = "forged_burn",
    [BH_OBS_SUPPLY_DRIFT] = "supply_drift",
};

const char *bh_obs_name(bh_obs_kind k)
{
    if ((unsigned)k >= BH_OBS_COUNT_) return "unknown";
    return obs_names[k];
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* Buckets are only ever added at the newest epoch (time is clamped), so a
 * slot holding another epoch is stale and is recycled. */
static void ring_add(ring *r, uint64_t epoch, uint64_t n)
{
    size_t i = (size_t)(epoch % RING);
    if (r->epoch[i] != epoch) {
        r->epoch[i] = epoch;
        r->count[i] = 0;
    }
    r->count[i] = sat_add(r->count[i], n);
}

/* Sum of the buckets with epoch in [cur - nb + 1, cur]. */
static uint64_t ring_sum(const ring *r, uint64_t cur, uint64_t nb)
{
    uint64_t lo = cur >= nb - 1 ? cur - (nb - 1) : 0;
    uint64_t s = 0;
    for (size_t i = 0; i < RING; i++)
        if (r->count[i] && r->epoch[i] >= lo && r->epoch[i] <= cur) s = sat_add(s, r->count[i]);
    return s;
}

static int cmp_chain(const void *a, const void *b)
{
    uint16_t x = ((const chain_state *)a)->id, y = ((const chain_state *)b)->id;
    return (x > y) - (x < y);
}

int bh_breaker_create(bh_breaker **out, const bh_config_breaker *cfg, const uint16_t *chains,
                      size_t n)
{
    if (out) *out = NULL;
    if (out == NULL || cfg == NULL || (chains == NULL && n > 0) || cfg->window_s == 0)
        return BH_EINVAL;
    if (n > (size_t)UINT16_MAX + 1) return BH_EINVAL;
    bh_breaker *b = calloc(1, sizeof *b);
    if (b == NULL) return BH_ENOMEM;
    b->chains = n ? calloc(n, sizeof *b->chains) : NULL;
    if (n && b->chains == NULL) {
        free(b);
        return BH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        b->chains[i].id = chains[i];
    if (n) qsort(b->chains, n, sizeof *b->chains, cmp_chain);
    for (size_t i = 1; i < n; i++) {
        if (b->chains[i].id == b->chains[i - 1].id) {
            free(b->chains);
            free(b);
            return BH_EINVAL;
        }
    }
    if (pthread_mutex_init(&b->mu, NULL) != 0) {
        free(b->chains);
        free(b);
        return BH_ENOMEM;
    }
    b->n = n;
    b->cfg = *cfg;
    b->thresholds[BH_OBS_EQUIVOCATION] = cfg->equivocation;
    b->thresholds[BH_OBS_FORGED_LOCK] = cfg->forged_lock;
    b->thresholds[BH_OBS_FORGED_BURN] = cfg->forged_burn;
    b->thresholds[BH_OBS_SUPPLY_DRIFT] = cfg->supply_drift;
    b->thresholds[BH_OBS_EXCEEDS_OUTSTANDING] = cfg->exceeds_outstanding;
    b->thresholds[BH_OBS_BAD_SIGNATURE] = cfg->bad_signature;
    b->thresholds[BH_OBS_RATE_LIMITED] = cfg->rate_limited;
    b->thresholds[BH_OBS_DISAGREEMENT] = cfg->disagreement;
    b->thresholds[BH_OBS_STALLED] = cfg->stall_s ? 1 : 0; /* the bound is the watcher's */
    b->width = ((uint64_t)cfg->window_s + RING - 1) / RING;
    b->nbuckets = ((uint64_t)cfg->window_s + b->width - 1) / b->width;
    *out = b;
    return BH_OK;
}

void bh_breaker_destroy(bh_breaker *b)
{
    if (b == NULL) return;
    pthread_mutex_destroy(&b->mu);
    free(b->chains);
    free(b);
}

static chain_state *find(bh_breaker *b, uint16_t chain)
{
    if (b == NULL || b->n == 0) return NULL;
    chain_state key = {.id = chain};
    return bsearch(&key, b->chains, b->n, sizeof *b->chains, cmp_chain);
}

/* A clock stepped back is treated as "no time passed". */
static uint64_t clamp_now(chain_state *c, uint64_t now)
{
    if (now < c->last_now) return c->last_now;
    c->last_now = now;
    return now;
}

/* Copy detail as one printable line, cut at cap without splitting a UTF-8
 * sequence: the evidence lands in the journal and in log lines. */
static void copy_detail(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    if (cap == 0) return;
    for (; src[n] && n + 1 < cap; n++) {
        unsigned char ch = (unsigned char)src[n];
        dst[n] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (src[n]) {
        /* cut: drop a multi-byte sequence that did not fit whole */
        size_t k = n;
        while (k > 0 && n - k < 3 && ((unsigned char)dst[k - 1] & 0xC0) == 0x80)
            k--;
        unsigned char lead = k > 0 ? (unsigned char)dst[k - 1] : 0;
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (need > 1 && n - (k - 1) < need) n = k - 1;
    }
    dst[n] = '\0';
}

int bh_breaker_observe(bh_breaker *b, bh_breaker_trip *trip, uint16_t chain, bh_obs_kind k,
                       uint64_t count, uint64_t now, const char *detail)
{
    if (trip) memset(trip, 0, sizeof *trip);
    chain_state *c = find(b, chain);
    if (c == NULL || trip == NULL || (unsigned)k >= BH_OBS_COUNT_) return BH_EINVAL;

    pthread_mutex_lock(&b->mu);
    now = clamp_now(c, now);
    uint64_t cur = now / b->width;
    ring_add(&c->obs[k], cur, count);
    b->version++;
    uint64_t in_window = ring_sum(&c->obs[k], cur, b->nbuckets);
    unsigned threshold = b->thresholds[k];
    int tripped = !c->tripped && threshold > 0 && count > 0 && in_window >= threshold;
    if (tripped) c->tripped = 1;
    pthread_mutex_unlock(&b->mu);

    if (!tripped) return 0;
    trip->chain = chain;
    trip->cause = k;
    trip->count = in_window;
    trip->at = now;
    int len =
        snprintf(trip->evidence, sizeof trip->evidence, "%s x%" PRIu64 " in %us (threshold %u)",
                 bh_obs_name(k), in_window, b->cfg.window_s, threshold);
    if (detail && detail[0] && len > 0 && (size_t)len + 2 < sizeof trip->evidence) {
        memcpy(trip->evidence + len, ": ", 3);
        copy_detail(trip->evidence + len + 2, sizeof trip->evidence - (size_t)len - 2, detail);
    }
    return 1;
}

int bh_breaker_is_tripped(bh_breaker *b, uint16_t chain)
{
    chain_state *c = find(b, chain);
    if (c == NULL) return 0;
    pthread_mutex_lock(&b->mu);
    int t = c->tripped;
    pthread_mutex_unlock(&b->mu);
    return t;
}

void bh_breaker_reset(bh_breaker *b, uint16_t chain)
{
    chain_state *c = find(b, chain);
    if (c == NULL) return;
    pthread_mutex_lock(&b->mu);
    c->tripped = 0;
    memset(c->obs, 0, sizeof c->obs);
    b->version++;
    pthread_mutex_unlock(&b->mu);
}

uint64_t bh_breaker_count(bh_breaker *b, uint16_t chain, bh_obs_kind k, uint64_t now)
{
    chain_state *c = find(b, chain);
    if (c == NULL || (unsigned)k >= BH_OBS_COUNT_) return 0;
    pthread_mutex_lock(&b->mu);
    if (now < c->last_now) now = c->last_now;
    uint64_t s = ring_sum(&c->obs[k], now / b->width, b->nbuckets);
    pthread_mutex_unlock(&b->mu);
    return s;
}

uint64_t bh_breaker_version(bh_breaker *b)
{
    if (b == NULL) return 0;
    pthread_mutex_lock(&b->mu);
    uint64_t v = b->version;
    pthread_mutex_unlock(&b->mu);
    return v;
}

#define STATE_VERSION 1

int bh_breaker_save(bh_breaker *b, uint16_t chain, unsigned char *out, size_t cap, size_t *len)
{
    if (len) *len = 0;
    chain_state *c = find(b, chain);
    if (c == NULL || out == NULL || len == NULL) return BH_EINVAL;
    size_t need = 1 + 4 + 8;
    pthread_mutex_lock(&b->mu);
    for (int k = 0; k < BH_OBS_COUNT_; k++) {
        need += 2;
        for (size_t i = 0; i < RING; i++)
            if (c->obs[k].count[i]) need += 16;
    }
    if (need > cap) {
        pthread_mutex_unlock(&b->mu);
        return BH_ENOSPC;
    }
    unsigned char *p = out;
    *p++ = STATE_VERSION;
    bh_be_put_u32(p, (uint32_t)b->width);
    bh_be_put_u64(p + 4, c->last_now);
    p += 12;
    for (int k = 0; k < BH_OBS_COUNT_; k++) {
        unsigned char *slots = p + 1;
        *p = (unsigned char)k;
        p += 2;
        unsigned n = 0;
        for (size_t i = 0; i < RING; i++) {
            if (!c->obs[k].count[i]) continue;
            bh_be_put_u64(p, c->obs[k].epoch[i]);
            bh_be_put_u64(p + 8, c->obs[k].count[i]);
            p += 16;
            n++;
        }
        *slots = (unsigned char)n;
    }
    pthread_mutex_unlock(&b->mu);
    *len = (size_t)(p - out);
    return BH_OK;
}

int bh_breaker_load(bh_breaker *b, uint16_t chain, const unsigned char *in, size_t len)
{
    chain_state *c = find(b, chain);
    if (c == NULL || (in == NULL && len)) return BH_EINVAL;
    /* validate the whole record before touching any window */
    if (len < 13 || in[0] != STATE_VERSION) return BH_EMALFORMED;
    size_t at = 13;
    while (at < len) {
        if (len - at < 2 || in[at] >= BH_OBS_COUNT_ || in[at + 1] > RING) return BH_EMALFORMED;
        size_t body = (size_t)in[at + 1] * 16;
        if (len - at - 2 < body) return BH_EMALFORMED;
        at += 2 + body;
    }
    if (bh_be_get_u32(in + 1) != b->width) return BH_OK;
    pthread_mutex_lock(&b->mu);
    uint64_t saved_now = bh_be_get_u64(in + 5);
    if (saved_now > c->last_now) c->last_now = saved_now;
    for (at = 13; at < len;) {
        ring *r = &c->obs[in[at]];
        size_t n = in[at + 1];
        at += 2;
        for (size_t i = 0; i < n; i++, at += 16)
            ring_add(r, bh_be_get_u64(in + at), bh_be_get_u64(in + at + 8));
    }
    b->version++;
    pthread_mutex_unlock(&b->mu);
    return BH_OK;
}

/* Fold the minute that just ended into the baseline, then the idle minutes
 * after it (count 0, and calm: a zero rate is never a spike). */
static void flow_fold(flow *f, uint64_t minute)
{
    double alpha = f->spiking ? FLOW_ALPHA_SPIKE : FLOW_ALPHA_CALM;
    f->baseline += ((double)f->in_minute - f->baseline) / alpha;
    uint64_t gap = minute - f->minute - 1;
    if (gap > FLOW_GAP_MAX) {
        f->baseline = 0;
    } else {
        for (uint64_t i = 0; i < gap; i++)
            f->baseline -= f->baseline / FLOW_ALPHA_CALM;
    }
    f->minute = minute;
    f->in_minute = 0;
}

bh_flow_action bh_breaker_flow(bh_breaker *b, uint16_t chain, uint64_t n, uint64_t now)
{
    chain_state *c = find(b, chain);
    if (c == NULL || !b->cfg.spike_enabled) return BH_FLOW_STEADY;

    bh_flow_action act = BH_FLOW_STEADY;
    pthread_mutex_lock(&b->mu);
    now = clamp_now(c, now);
    flow *f = &c->fl;
    uint64_t minute = now / 60;
    if (!f->started) {
        f->started = 1;
        f->minute = minute;
    } else if (minute > f->minute) {
        flow_fold(f, minute);
    }
    f->in_minute = sat_add(f->in_minute, n);
    ring_add(&f->rate, now, n);
    uint64_t rate = ring_sum(&f->rate, now, FLOW_RATE_S);
    uint64_t min = b->cfg.spike_min_per_min ? b->cfg.spike_min_per_min : 1;
    f->spiking = rate >= min && (double)rate > (double)b->cfg.spike_factor * f->baseline;
    if (f->spiking) {
        f->last_spike = now;
        if (!f->tightened) {
            f->tightened = 1;
            act = BH_FLOW_TIGHTEN;
        }
    } else if (f->tightened && now - f->last_spike >= b->cfg.spike_relax_after_s) {
        f->tightened = 0;
        act = BH_FLOW_RELAX;
    }
    pthread_mutex_unlock(&b->mu);
    return act;
}
