/* Fixed rings of samples for the dashboard's charts (history.h). */
#include "history.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CAP 33  /* a chain or vault name and its NUL */
#define ASSET_CAP 43 /* a symbol, or a token address when it has none */
#define WAYS 4       /* digest table: set-associative, oldest in a set goes */
#define SETS (BH_HIST_TRACKED / WAYS)

typedef struct {
    char vault[NAME_CAP];
    char asset[ASSET_CAP];
    uint16_t chain;
    char lane[NAME_CAP];
    int has_split; /* the snapshot gave minted / in_flight at least once */
    /* NAN = no value (no bucket, lane absent from that snapshot) */
    float *out, *minted, *in_flight, *in_head, *out_head;
    int seen; /* in the snapshot being sampled */
} hist_lane;

typedef struct {
    char name[NAME_CAP];
    uint16_t id;
    int32_t *lag; /* -1 = no value */
    int seen;
} hist_chain;

typedef struct {
    uint64_t key; /* 0 = free */
    uint64_t ms;
} tracked;

struct bh_hist {
    unsigned interval_s;
    size_t cap, head, n;
    /* per sample */
    uint64_t *t;
    int64_t *delivered, *rejected; /* -1 = unknown */
    int32_t *p50, *p99;            /* ms; -1 = no delivery with a known latency */
    uint32_t *lat_n;
    hist_lane *lanes[BH_HIST_MAX_LANES];
    size_t n_lanes;
    hist_chain *chains[BH_HIST_MAX_CHAINS];
    size_t n_chains;
    /* the interval being filled */
    tracked *track;
    uint32_t *lat;
    size_t lat_kept;
    uint64_t lat_seen, rng;
    int have_base;
    int64_t base_delivered, base_rejected;
};

static void *alloc_fill(size_t n, size_t size, int byte)
{
    void *p = malloc(n * size);
    if (p) memset(p, byte, n * size);
    return p;
}

static float *nan_ring(size_t cap)
{
    float *f = malloc(cap * sizeof *f);
    if (f)
        for (size_t i = 0; i < cap; i++)
            f[i] = NAN;
    return f;
}

bh_hist *bh_hist_create(unsigned interval_s, size_t capacity)
{
    if (capacity == 0 || capacity > BH_HIST_MAX_SAMPLES) return NULL;
    bh_hist *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    h->interval_s = interval_s;
    h->cap = capacity;
    h->t = calloc(capacity, sizeof *h->t);
    h->delivered = calloc(capacity, sizeof *h->delivered);
    h->rejected = calloc(capacity, sizeof *h->rejected);
    h->p50 = calloc(capacity, sizeof *h->p50);
    h->p99 = calloc(capacity, sizeof *h->p99);
    h->lat_n = calloc(capacity, sizeof *h->lat_n);
    h->track = calloc(BH_HIST_TRACKED, sizeof *h->track);
    h->lat = calloc(BH_HIST_LATENCIES, sizeof *h->lat);
    h->rng = 0x9e3779b97f4a7c15ull;
    if (!h->t || !h->delivered || !h->rejected || !h->p50 || !h->p99 || !h->lat_n || !h->track ||
        !h->lat) {
        bh_hist_destroy(h);
        return NULL;
    }
    return h;
}

static void lane_free(hist_lane *l)
{
    if (l == NULL) return;
    free(l->out);
    free(l->minted);
    free(l->in_flight);
    free(l->in_head);
    free(l->out_head);
    free(l);
}

void bh_hist_destroy(bh_hist *h)
{
    if (h == NULL) return;
    for (size_t i = 0; i < h->n_lanes; i++)
        lane_free(h->lanes[i]);
    for (size_t i = 0; i < h->n_chains; i++) {
        free(h->chains[i]->lag);
        free(h->chains[i]);
    }
    free(h->t);
    free(h->delivered);
    free(h->rejected);
    free(h->p50);
    free(h->p99);
    free(h->lat_n);
    free(h->track);
    free(h->lat);
    free(h);
}

/* --------------------------------------------------------------- latency */

static uint64_t digest_key(const bh_hash32 *d)
{
    uint64_t k;
    memcpy(&k, d->data, sizeof k);
    return k ? k : 1;
}

static tracked *set_of(bh_hist *h, uint64_t key)
{
    return &h->track[((key >> 32) ^ key) % SETS * WAYS];
}

void bh_hist_accepted(bh_hist *h, const bh_hash32 *digest, uint64_t ms)
{
    uint64_t key = digest_key(digest);
    tracked *set = set_of(h, key), *slot = NULL;
    for (int i = 0; i < WAYS; i++) {
        if (set[i].key == key) { /* seen again (a replay): the first time counts */
            return;
        }
        if (slot == NULL && set[i].key == 0) slot = &set[i];
    }
    if (slot == NULL) { /* full: the oldest goes (its latency will be unknown) */
        slot = &set[0];
        for (int i = 1; i < WAYS; i++)
            if (set[i].ms < slot->ms) slot = &set[i];
    }
    slot->key = key;
    slot->ms = ms;
}

static uint64_t next_rand(bh_hist *h)
{
    uint64_t x = h->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return h->rng = x;
}

void bh_hist_delivered(bh_hist *h, const bh_hash32 *digest, uint64_t ms)
{
    uint64_t key = digest_key(digest);
    tracked *set = set_of(h, key);
    for (int i = 0; i < WAYS; i++) {
        if (set[i].key != key) continue;
        uint64_t d = ms > set[i].ms ? ms - set[i].ms : 0;
        uint32_t v = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        set[i].key = 0;
        h->lat_seen++;
        /* a uniform sample of the interval's latencies (reservoir) */
        if (h->lat_kept < BH_HIST_LATENCIES) {
            h->lat[h->lat_kept++] = v;
        } else {
            uint64_t j = next_rand(h) % h->lat_seen;
            if (j < BH_HIST_LATENCIES) h->lat[j] = v;
        }
        return;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* nearest rank: the smallest value with at least q of them at or below */
static int32_t rank(const uint32_t *sorted, size_t n, double q)
{
    size_t r = (size_t)ceil(q * (double)n);
    if (r == 0) r = 1;
    uint32_t v = sorted[r - 1];
    return v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

/* ------------------------------------------------------------- snapshots */

static int64_t total_of(const json_t *snap, const char *key)
{
    const json_t *v = json_object_get(json_object_get(snap, "totals"), key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* "1500000", 6 -> 1.5; "" or not a decimal -> NAN */
static float tokens(const json_t *v, int decimals)
{
    const char *s = json_string_value(v);
    if (s == NULL || *s == '\0') return NAN;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return NAN;
    double d = strtod(s, NULL);
    return (float)(d / pow(10.0, decimals));
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

static const char *chain_name(const json_t *snap, json_int_t id)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(snap, "chains"), i, c)
    {
        if (json_integer_value(json_object_get(c, "bridge_id")) == id)
            return json_string_value(json_object_get(c, "name"));
    }
    return NULL;
}

static hist_lane *lane_get(bh_hist *h, const char *vault, const char *asset, uint16_t chain,
                           const char *lane_name)
{
    for (size_t i = 0; i < h->n_lanes; i++) {
        hist_lane *l = h->lanes[i];
        if (l->chain == chain && strncmp(l->vault, vault, NAME_CAP - 1) == 0 &&
            strncmp(l->asset, asset, ASSET_CAP - 1) == 0)
            return l;
    }
    if (h->n_lanes == BH_HIST_MAX_LANES) return NULL;
    hist_lane *l = calloc(1, sizeof *l);
    if (l == NULL) return NULL;
    l->out = nan_ring(h->cap);
    l->minted = nan_ring(h->cap);
    l->in_flight = nan_ring(h->cap);
    l->in_head = nan_ring(h->cap);
    l->out_head = nan_ring(h->cap);
    if (!l->out || !l->minted || !l->in_flight || !l->in_head || !l->out_head) {
        lane_free(l);
        return NULL;
    }
    copy_name(l->vault, sizeof l->vault, vault);
    copy_name(l->asset, sizeof l->asset, asset);
    l->chain = chain;
    copy_name(l->lane, sizeof l->lane, lane_name);
    h->lanes[h->n_lanes++] = l;
    return l;
}

static hist_chain *chain_get(bh_hist *h, const char *name, uint16_t id)
{
    for (size_t i = 0; i < h->n_chains; i++)
        if (h->chains[i]->id == id) return h->chains[i];
    if (h->n_chains == BH_HIST_MAX_CHAINS) return NULL;
    hist_chain *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->lag = alloc_fill(h->cap, sizeof *c->lag, 0xff); /* -1 */
    if (c->lag == NULL) {
        free(c);
        return NULL;
    }
    copy_name(c->name, sizeof c->name, name);
    c->id = id;
    h->chains[h->n_chains++] = c;
    return c;
}

void bh_hist_baseline(bh_hist *h, const json_t *snap)
{
    if (h == NULL || !json_is_object(snap)) return;
    h->base_delivered = total_of(snap, "delivered");
    h->base_rejected = total_of(snap, "rejected");
    h->have_base = 1;
}

static int64_t increase(int have_base, int64_t base, int64_t now)
{
    if (!have_base || base < 0 || now < 0) return -1;
    return now >= base ? now - base : now; /* a restart of the counter */
}

static void sample_lanes(bh_hist *h, const json_t *snap, size_t slot)
{
    size_t i, j, k;
    const json_t *v, *a, *ln;
    json_array_foreach(json_object_get(snap, "vaults"), i, v)
    {
        const char *vault = json_string_value(json_object_get(v, "name"));
        if (vault == NULL) continue;
        json_int_t home = json_integer_value(json_object_get(v, "chain"));
        json_array_foreach(json_object_get(v, "assets"), j, a)
        {
            const char *asset = json_string_value(json_object_get(a, "symbol"));
            if (asset == NULL || *asset == '\0')
                asset = json_string_value(json_object_get(a, "token"));
            if (asset == NULL) continue;
            int dec = (int)json_integer_value(json_object_get(a, "decimals"));
            json_array_foreach(json_object_get(a, "lanes"), k, ln)
            {
                json_int_t id = json_integer_value(json_object_get(ln, "chain"));
                /* nothing is ever outstanding on the home chain itself */
                if (id <= 0 || id > UINT16_MAX || id == home) continue;
                const char *name = chain_name(snap, id);
                hist_lane *l = lane_get(h, vault, asset, (uint16_t)id, name ? name : "");
                if (l == NULL) continue;
                if (name && l->lane[0] == '\0') copy_name(l->lane, sizeof l->lane, name);
                l->seen = 1;
                l->out[slot] = tokens(json_object_get(ln, "outstanding"), dec);
                const json_t *mi = json_object_get(ln, "minted");
                const json_t *fl = json_object_get(ln, "in_flight");
                if (mi || fl) l->has_split = 1;
                l->minted[slot] = tokens(mi, dec);
                l->in_flight[slot] = tokens(fl, dec);
                l->in_head[slot] = tokens(json_object_get(ln, "in_headroom"), dec);
                l->out_head[slot] = tokens(json_object_get(ln, "out_headroom"), dec);
            }
        }
    }
    for (i = 0; i < h->n_lanes; i++) {
        hist_lane *l = h->lanes[i];
        if (!l->seen)
            l->out[slot] = l->minted[slot] = l->in_flight[slot] = l->in_head[slot] =
                l->out_head[slot] = NAN;
        l->seen = 0;
    }
}

static void sample_chains(bh_hist *h, const json_t *snap, size_t slot)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(snap, "chains"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_int_t id = json_integer_value(json_object_get(c, "bridge_id"));
        if (name == NULL || id <= 0 || id > UINT16_MAX) continue;
        hist_chain *hc = chain_get(h, name, (uint16_t)id);
        if (hc == NULL) continue;
        const json_t *lag = json_object_get(c, "lag");
        json_int_t lv = json_integer_value(lag);
        hc->lag[slot] = !json_is_integer(lag) || lv < 0 ? -1
                        : lv > INT32_MAX                ? INT32_MAX
                                                        : (int32_t)lv;
        hc->seen = 1;
    }
    for (i = 0; i < h->n_chains; i++) {
        if (!h->chains[i]->seen) h->chains[i]->lag[slot] = -1;
        h->chains[i]->seen = 0;
    }
}

void bh_hist_sample(bh_hist *h, const json_t *snap, uint64_t time)
{
    if (h == NULL) return;
    size_t slot;
    if (h->n < h->cap) {
        slot = (h->head + h->n) % h->cap;
        h->n++;
    } else {
        slot = h->head;
        h->head = (h->head + 1) % h->cap;
    }
    h->t[slot] = time;
    int64_t del = total_of(snap, "delivered"), rej = total_of(snap, "rejected");
    h->delivered[slot] = increase(h->have_base, h->base_delivered, del);
    h->rejected[slot] = increase(h->have_base, h->base_rejected, rej);
    if (json_is_object(snap)) {
        h->base_delivered = del;
        h->base_rejected = rej;
        h->have_base = 1;
    }
    h->lat_n[slot] = (uint32_t)(h->lat_seen > UINT32_MAX ? UINT32_MAX : h->lat_seen);
    if (h->lat_kept > 0) {
        qsort(h->lat, h->lat_kept, sizeof *h->lat, cmp_u32);
        h->p50[slot] = rank(h->lat, h->lat_kept, 0.50);
        h->p99[slot] = rank(h->lat, h->lat_kept, 0.99);
    } else {
        h->p50[slot] = h->p99[slot] = -1;
    }
    h->lat_kept = 0;
    h->lat_seen = 0;
    sample_chains(h, snap, slot);
    sample_lanes(h, snap, slot);
}

size_t bh_hist_count(const bh_hist *h)
{
    return h ? h->n : 0;
}

size_t bh_hist_lanes(const bh_hist *h)
{
    return h ? h->n_lanes : 0;
}

size_t bh_hist_bytes(const bh_hist *h)
{
    if (h == NULL) return 0;
    size_t per_sample = sizeof *h->t + sizeof *h->delivered + sizeof *h->rejected + sizeof *h->p50 +
                        sizeof *h->p99 + sizeof *h->lat_n;
    size_t b = sizeof *h + h->cap * per_sample + BH_HIST_TRACKED * sizeof *h->track +
               BH_HIST_LATENCIES * sizeof *h->lat;
    b += h->n_lanes * (sizeof(hist_lane) + 5 * h->cap * sizeof(float));
    b += h->n_chains * (sizeof(hist_chain) + h->cap * sizeof(int32_t));
    return b;
}

/* ------------------------------------------------------------------ JSON */

static size_t at(const bh_hist *h, size_t first, size_t i)
{
    return (h->head + first + i) % h->cap;
}

static json_t *floats(const bh_hist *h, const float *ring, size_t first, size_t k, int *any)
{
    json_t *a = json_array();
    *any = 0;
    for (size_t i = 0; a && i < k; i++) {
        float f = ring[at(h, first, i)];
        if (isnan(f)) {
            json_array_append_new(a, json_null());
        } else {
            *any = 1;
            json_array_append_new(a, json_real((double)f));
        }
    }
    return a;
}

/* columns of a lane; a series with no value in these samples is left out */
static void put_series(json_t *o, const char *key, json_t *arr, int any)
{
    if (any)
        json_object_set_new(o, key, arr);
    else
        json_decref(arr);
}

json_t *bh_hist_json(const bh_hist *h, const char *type, size_t newest)
{
    size_t k = newest < h->n ? newest : h->n;
    size_t first = h->n - k;
    json_t *o = json_pack("{s:s, s:I, s:I}", "type", type, "interval_s", (json_int_t)h->interval_s,
                          "capacity", (json_int_t)h->cap);
    json_t *t = json_array(), *del = json_array(), *rej = json_array(), *p50 = json_array(),
           *p99 = json_array(), *ln = json_array();
    if (o == NULL || !t || !del || !rej || !p50 || !p99 || !ln) {
        json_decref(o);
        json_decref(t);
        json_decref(del);
        json_decref(rej);
        json_decref(p50);
        json_decref(p99);
        json_decref(ln);
        return NULL;
    }
    for (size_t i = 0; i < k; i++) {
        size_t s = at(h, first, i);
        json_array_append_new(t, json_integer((json_int_t)h->t[s]));
        json_array_append_new(del, h->delivered[s] < 0 ? json_null()
                                                       : json_integer((json_int_t)h->delivered[s]));
        json_array_append_new(rej, h->rejected[s] < 0 ? json_null()
                                                      : json_integer((json_int_t)h->rejected[s]));
        json_array_append_new(p50, h->p50[s] < 0 ? json_null() : json_integer(h->p50[s]));
        json_array_append_new(p99, h->p99[s] < 0 ? json_null() : json_integer(h->p99[s]));
        json_array_append_new(ln, json_integer((json_int_t)h->lat_n[s]));
    }
    json_object_set_new(o, "t", t);
    json_object_set_new(o, "delivered", del);
    json_object_set_new(o, "rejected", rej);
    json_object_set_new(o, "latency_p50_ms", p50);
    json_object_set_new(o, "latency_p99_ms", p99);
    json_object_set_new(o, "latency_n", ln);

    json_t *chains = json_array();
    for (size_t c = 0; chains && c < h->n_chains; c++) {
        const hist_chain *hc = h->chains[c];
        json_t *lag = json_array();
        for (size_t i = 0; lag && i < k; i++) {
            int32_t v = hc->lag[at(h, first, i)];
            json_array_append_new(lag, v < 0 ? json_null() : json_integer(v));
        }
        json_array_append_new(chains, json_pack("{s:s, s:i, s:o*}", "chain", hc->name, "bridge_id",
                                                (int)hc->id, "lag", lag));
    }
    json_object_set_new(o, "chains", chains ? chains : json_array());

    json_t *lanes = json_array();
    for (size_t i = 0; lanes && i < h->n_lanes; i++) {
        const hist_lane *l = h->lanes[i];
        json_t *lo = json_pack("{s:s, s:s, s:i, s:s}", "vault", l->vault, "asset", l->asset,
                               "chain", (int)l->chain, "lane", l->lane);
        if (lo == NULL) continue;
        int any;
        json_t *a = floats(h, l->out, first, k, &any);
        put_series(lo, "outstanding", a, 1);
        if (l->has_split) {
            a = floats(h, l->minted, first, k, &any);
            put_series(lo, "minted", a, any);
            a = floats(h, l->in_flight, first, k, &any);
            put_series(lo, "in_flight", a, any);
        }
        a = floats(h, l->in_head, first, k, &any);
        put_series(lo, "in_headroom", a, any);
        a = floats(h, l->out_head, first, k, &any);
        put_series(lo, "out_headroom", a, any);
        json_array_append_new(lanes, lo);
    }
    json_object_set_new(o, "lanes", lanes ? lanes : json_array());
    return o;
}
