/* Circuit breaker: every observation kind × (below, at, past threshold,
 * disabled, expired, tripped, reset), segmentation between chains, the
 * evidence text, flow spikes (steady, burst, sustained, calm, cold start,
 * disabled), clock steps and concurrent reporters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bh_breaker.h"

#define T0 1700000040ull /* a multiple of 60: bucket edges fall on T0 */
#define A 1
#define B 2
#define C 3

/* Distinct thresholds per kind, so a kind tripping on another's count shows. */
static const unsigned thr[BH_OBS_COUNT_] = {1, 2, 3, 4, 5, 6, 1, 7, 8};

static bh_config_breaker cfg_base(void)
{
    bh_config_breaker c = {
        .window_s = 60,
        .equivocation = thr[BH_OBS_EQUIVOCATION],
        .forged_lock = thr[BH_OBS_FORGED_LOCK],
        .exceeds_outstanding = thr[BH_OBS_EXCEEDS_OUTSTANDING],
        .bad_signature = thr[BH_OBS_BAD_SIGNATURE],
        .rate_limited = thr[BH_OBS_RATE_LIMITED],
        .disagreement = thr[BH_OBS_DISAGREEMENT],
        .forged_burn = thr[BH_OBS_FORGED_BURN],
        .supply_drift = thr[BH_OBS_SUPPLY_DRIFT],
        .stall_s = 30, /* any bound: the watcher times it; one report trips */
        .spike_enabled = 1,
        .spike_factor = 10,
        .spike_min_per_min = 60,
        .spike_tighten_percent = 25,
        .spike_relax_after_s = 600,
    };
    return c;
}

static bh_breaker *mk(const bh_config_breaker *c)
{
    static const uint16_t ids[] = {C, A, B}; /* unsorted on purpose */
    bh_breaker *b = NULL;
    assert_int_equal(bh_breaker_create(&b, c, ids, 3), BH_OK);
    assert_non_null(b);
    return b;
}

static int obs(bh_breaker *b, uint16_t chain, bh_obs_kind k, uint64_t n, uint64_t now)
{
    bh_breaker_trip t;
    return bh_breaker_observe(b, &t, chain, k, n, now, "x");
}

static void test_breaker_names(void **state)
{
    (void)state;
    static const char *const want[BH_OBS_COUNT_] = {
        "equivocation", "forged_lock", "exceeds_outstanding", "bad_signature", "rate_limited",
        "disagreement", "stalled",     "forged_burn",         "supply_drift"};
    for (int k = 0; k < BH_OBS_COUNT_; k++)
        assert_string_equal(bh_obs_name((bh_obs_kind)k), want[k]);
    assert_string_equal(bh_obs_name(BH_OBS_COUNT_), "unknown");
    assert_string_equal(bh_obs_name((bh_obs_kind)-1), "unknown");
}

static void test_breaker_create_misuse(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    uint16_t ids[] = {A, B, A};
    bh_breaker *b = (bh_breaker *)&c; /* must be cleared on error */
    assert_int_equal(bh_breaker_create(NULL, &c, ids, 2), BH_EINVAL);
    assert_int_equal(bh_breaker_create(&b, NULL, ids, 2), BH_EINVAL);
    assert_null(b);
    b = (bh_breaker *)&c;
    assert_int_equal(bh_breaker_create(&b, &c, NULL, 2), BH_EINVAL);
    assert_null(b);
    assert_int_equal(bh_breaker_create(&b, &c, ids, 3), BH_EINVAL); /* A twice */
    assert_null(b);
    c.window_s = 0;
    assert_int_equal(bh_breaker_create(&b, &c, ids, 2), BH_EINVAL);
    assert_null(b);
    bh_breaker_destroy(NULL);

    /* a breaker watching nothing refuses every chain */
    c = cfg_base();
    assert_int_equal(bh_breaker_create(&b, &c, NULL, 0), BH_OK);
    assert_int_equal(obs(b, A, BH_OBS_EQUIVOCATION, 1, T0), BH_EINVAL);
    bh_breaker_destroy(b);
}

static void test_breaker_misuse(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    bh_breaker_trip t;
    memset(&t, 0xAA, sizeof t);
    assert_int_equal(bh_breaker_observe(b, &t, 9, BH_OBS_EQUIVOCATION, 1, T0, "x"), BH_EINVAL);
    assert_int_equal(t.chain, 0); /* zeroed on entry */
    assert_int_equal(t.evidence[0], '\0');
    assert_int_equal(bh_breaker_observe(b, &t, A, BH_OBS_COUNT_, 1, T0, "x"), BH_EINVAL);
    assert_int_equal(bh_breaker_observe(b, &t, A, (bh_obs_kind)-1, 1, T0, "x"), BH_EINVAL);
    assert_int_equal(bh_breaker_observe(b, NULL, A, BH_OBS_EQUIVOCATION, 1, T0, "x"), BH_EINVAL);
    assert_int_equal(bh_breaker_observe(NULL, &t, A, BH_OBS_EQUIVOCATION, 1, T0, "x"), BH_EINVAL);
    /* none of the refused reports counted or tripped */
    assert_int_equal(bh_breaker_count(b, A, BH_OBS_EQUIVOCATION, T0), 0);
    assert_int_equal(bh_breaker_is_tripped(b, A), 0);
    /* the queries answer "nothing" for what they do not know */
    assert_int_equal(bh_breaker_count(b, 9, BH_OBS_EQUIVOCATION, T0), 0);
    assert_int_equal(bh_breaker_count(b, A, BH_OBS_COUNT_, T0), 0);
    assert_int_equal(bh_breaker_count(NULL, A, BH_OBS_EQUIVOCATION, T0), 0);
    assert_int_equal(bh_breaker_is_tripped(b, 9), 0);
    assert_int_equal(bh_breaker_is_tripped(NULL, A), 0);
    bh_breaker_reset(b, 9);
    bh_breaker_reset(NULL, A);
    assert_int_equal(bh_breaker_flow(b, 9, 1000000, T0), BH_FLOW_STEADY);
    assert_int_equal(bh_breaker_flow(NULL, A, 1000000, T0), BH_FLOW_STEADY);
    bh_breaker_destroy(b);
}

/* Each kind: threshold - 1 reports stay quiet, the threshold-th trips with
 * the right trip record; the other chains see nothing. */
static void test_breaker_each_kind_trips_at_threshold(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    for (int k = 0; k < BH_OBS_COUNT_; k++) {
        bh_breaker *b = mk(&c);
        bh_breaker_trip t;
        for (unsigned i = 1; i < thr[k]; i++) {
            assert_int_equal(bh_breaker_observe(b, &t, B, (bh_obs_kind)k, 1, T0 + i, "d"), 0);
            assert_int_equal(bh_breaker_is_tripped(b, B), 0);
            assert_int_equal(bh_breaker_count(b, B, (bh_obs_kind)k, T0 + i), i);
        }
        assert_int_equal(bh_breaker_observe(b, &t, B, (bh_obs_kind)k, 1, T0 + thr[k], "d"), 1);
        assert_int_equal(t.chain, B);
        assert_int_equal(t.cause, k);
        assert_int_equal(t.count, thr[k]);
        assert_int_equal(t.at, T0 + thr[k]);
        assert_non_null(strstr(t.evidence, bh_obs_name((bh_obs_kind)k)));
        assert_int_equal(bh_breaker_is_tripped(b, B), 1);
        assert_int_equal(bh_breaker_is_tripped(b, A), 0);
        assert_int_equal(bh_breaker_is_tripped(b, C), 0);
        for (int j = 0; j < BH_OBS_COUNT_; j++) {
            assert_int_equal(bh_breaker_count(b, A, (bh_obs_kind)j, T0 + thr[k]), 0);
            if (j != k) assert_int_equal(bh_breaker_count(b, B, (bh_obs_kind)j, T0 + thr[k]), 0);
        }
        bh_breaker_destroy(b);
    }
}

/* Kinds are separate windows: every kind one short of its threshold is no trip. */
static void test_breaker_kinds_not_summed(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    for (int k = 0; k < BH_OBS_COUNT_; k++)
        if (thr[k] > 1) assert_int_equal(obs(b, A, (bh_obs_kind)k, thr[k] - 1, T0), 0);
    assert_int_equal(bh_breaker_is_tripped(b, A), 0);
    bh_breaker_destroy(b);
}

static void test_breaker_disabled_kinds_never_trip(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    c.equivocation = c.forged_lock = c.exceeds_outstanding = 0;
    c.bad_signature = c.rate_limited = c.disagreement = c.forged_burn = c.supply_drift = 0;
    c.stall_s = 0;
    bh_breaker *b = mk(&c);
    for (int k = 0; k < BH_OBS_COUNT_; k++) {
        for (int i = 0; i < 100; i++)
            assert_int_equal(obs(b, A, (bh_obs_kind)k, 1, T0), 0);
        assert_int_equal(obs(b, A, (bh_obs_kind)k, UINT64_MAX, T0), 0); /* saturates */
        assert_int_equal(bh_breaker_count(b, A, (bh_obs_kind)k, T0), UINT64_MAX);
    }
    assert_int_equal(bh_breaker_is_tripped(b, A), 0);
    bh_breaker_destroy(b);

    /* one disabled kind among enabled ones */
    c = cfg_base();
    c.rate_limited = 0;
    b = mk(&c);
    assert_int_equal(obs(b, A, BH_OBS_RATE_LIMITED, 1000000, T0), 0);
    assert_int_equal(obs(b, A, BH_OBS_EQUIVOCATION, 1, T0), 1);
    bh_breaker_destroy(b);
}

/* window_s 60, one-second buckets: an observation at t counts for now in
 * [t, t + 59] and is gone at t + 60. */
static void test_breaker_window_expiry(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base(); /* exceeds_outstanding threshold 3 */
    bh_breaker *b = mk(&c);
    const bh_obs_kind k = BH_OBS_EXCEEDS_OUTSTANDING;
    assert_int_equal(obs(b, A, k, 1, T0 + 5), 0);
    assert_int_equal(obs(b, A, k, 1, T0 + 30), 0);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 64), 2);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 65), 1);
    /* the third inside 60 s of the second but not of the first: no trip */
    assert_int_equal(obs(b, A, k, 1, T0 + 65), 0);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 65), 2);
    /* a fourth while the second and third are inside: trips at 3 */
    bh_breaker_trip t;
    assert_int_equal(bh_breaker_observe(b, &t, A, k, 1, T0 + 89, NULL), 1);
    assert_int_equal(t.count, 3);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 124), 2);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 125), 1);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 148), 1);
    /* long quiet: everything falls out, even across many ring turns */
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 149), 0);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 100000), 0);
    bh_breaker_destroy(b);

    /* far apart observations never add up, whatever their number */
    b = mk(&c);
    for (uint64_t i = 0; i < 1000; i++)
        assert_int_equal(obs(b, A, k, 1, T0 + i * 30), 0);
    assert_int_equal(bh_breaker_is_tripped(b, A), 0);
    bh_breaker_destroy(b);
}

/* window_s 3600: 60 buckets of 60 s. Counts are exact per bucket; an
 * observation leaves at the end of its bucket, up to 59 s early. */
static void test_breaker_long_window_granularity(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    c.window_s = 3600;
    bh_breaker *b = mk(&c);
    const bh_obs_kind k = BH_OBS_RATE_LIMITED;     /* threshold 5 */
    assert_int_equal(obs(b, A, k, 1, T0), 0);      /* bucket start */
    assert_int_equal(obs(b, A, k, 1, T0 + 30), 0); /* mid-bucket: same bucket */
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 3599), 2);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 3600), 0);
    assert_int_equal(obs(b, A, k, 2, T0 + 1800), 0);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 3599), 4);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 3600), 2);
    assert_int_equal(obs(b, A, k, 1, T0 + 3600), 0); /* 2 + 1: the first two left */
    bh_breaker_destroy(b);

    /* a window that is not a multiple of 60: 90 s = 45 buckets of 2 s */
    c.window_s = 90;
    b = mk(&c);
    assert_int_equal(obs(b, A, k, 1, T0), 0);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 89), 1);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 90), 0);
    assert_int_equal(obs(b, A, k, 4, T0 + 40), 1); /* 1 + 4 inside 90 s */
    bh_breaker_destroy(b);
}

/* Trip once; observations keep counting; reset clears the trip and the
 * evidence, and a full threshold of new observations trips again. */
static void test_breaker_trips_once_until_reset(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    const bh_obs_kind k = BH_OBS_BAD_SIGNATURE; /* threshold 4 */
    int trips = 0;
    for (int i = 0; i < 20; i++) {
        int rc = obs(b, A, k, 1, T0 + (uint64_t)i);
        assert_true(rc == 0 || rc == 1);
        trips += rc;
        if (i == 3) assert_int_equal(trips, 1);
    }
    assert_int_equal(trips, 1);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 19), 20);
    /* another kind reaching its threshold on a tripped chain: no new trip */
    assert_int_equal(obs(b, A, BH_OBS_EQUIVOCATION, 1, T0 + 19), 0);
    assert_int_equal(bh_breaker_is_tripped(b, A), 1);

    bh_breaker_reset(b, A);
    assert_int_equal(bh_breaker_is_tripped(b, A), 0);
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 20), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(obs(b, A, k, 1, T0 + 20), 0);
    assert_int_equal(obs(b, A, k, 0, T0 + 20), 0); /* an empty report trips nothing */
    bh_breaker_trip t;
    assert_int_equal(bh_breaker_observe(b, &t, A, k, 1, T0 + 21, "again"), 1);
    assert_int_equal(t.count, 4);
    assert_int_equal(t.at, T0 + 21);
    assert_int_equal(obs(b, A, k, 1, T0 + 21), 0);
    bh_breaker_destroy(b);
}

static void test_breaker_count_greater_than_one(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    bh_breaker_trip t;
    const bh_obs_kind k = BH_OBS_RATE_LIMITED; /* threshold 5 */
    assert_int_equal(obs(b, A, k, 4, T0), 0);
    assert_int_equal(bh_breaker_observe(b, &t, A, k, 10, T0 + 1, "burst"), 1);
    assert_int_equal(t.count, 14);
    /* one report far over the threshold on a fresh chain */
    assert_int_equal(bh_breaker_observe(b, &t, B, k, 100, T0, NULL), 1);
    assert_int_equal(t.count, 100);
    assert_int_equal(t.chain, B);
    bh_breaker_destroy(b);
}

/* Segmentation: one chain's observations, trip and reset touch no other. */
static void test_breaker_chains_segmented(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    const bh_obs_kind k = BH_OBS_DISAGREEMENT; /* threshold 6 */
    assert_int_equal(obs(b, A, k, 5, T0), 0);
    assert_int_equal(obs(b, B, k, 5, T0), 0);
    assert_int_equal(obs(b, A, k, 1, T0), 1); /* A reaches 6; B at 5 stays */
    assert_int_equal(bh_breaker_is_tripped(b, A), 1);
    assert_int_equal(bh_breaker_is_tripped(b, B), 0);
    assert_int_equal(bh_breaker_count(b, B, k, T0), 5);
    /* A flooding after its trip adds nothing to B or C */
    assert_int_equal(obs(b, A, k, 1000, T0), 0);
    assert_int_equal(bh_breaker_count(b, B, k, T0), 5);
    assert_int_equal(bh_breaker_count(b, C, k, T0), 0);
    bh_breaker_trip t;
    assert_int_equal(bh_breaker_observe(b, &t, B, k, 1, T0, "b"), 1);
    assert_int_equal(t.chain, B);
    bh_breaker_reset(b, A);
    assert_int_equal(bh_breaker_is_tripped(b, A), 0);
    assert_int_equal(bh_breaker_is_tripped(b, B), 1);
    assert_int_equal(bh_breaker_count(b, B, k, T0), 6);
    bh_breaker_destroy(b);
}

static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 0;
        if (n == 0) return 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80) return 0;
        p += n;
    }
    return 1;
}

static void test_breaker_evidence(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    bh_breaker_trip t;
    assert_int_equal(bh_breaker_observe(b, &t, A, BH_OBS_FORGED_LOCK, 2, T0, "tx 0xab log 3"), 1);
    assert_string_equal(t.evidence, "forged_lock x2 in 60s (threshold 2): tx 0xab log 3");
    assert_int_equal(bh_breaker_observe(b, &t, B, BH_OBS_EQUIVOCATION, 1, T0, NULL), 1);
    assert_string_equal(t.evidence, "equivocation x1 in 60s (threshold 1)");
    assert_int_equal(bh_breaker_observe(b, &t, C, BH_OBS_EQUIVOCATION, 1, T0, ""), 1);
    assert_string_equal(t.evidence, "equivocation x1 in 60s (threshold 1)");
    bh_breaker_destroy(b);

    /* a very long detail is cut, NUL-terminated inside the array */
    char big[1000];
    memset(big, 'D', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    b = mk(&c);
    memset(&t, 0x55, sizeof t);
    assert_int_equal(bh_breaker_observe(b, &t, A, BH_OBS_EQUIVOCATION, 1, T0, big), 1);
    assert_non_null(memchr(t.evidence, '\0', sizeof t.evidence));
    assert_int_equal(strlen(t.evidence), sizeof t.evidence - 1);
    const char *pre = "equivocation x1 in 60s (threshold 1): DDD";
    assert_memory_equal(t.evidence, pre, strlen(pre));

    /* control bytes cannot split the evidence into lines */
    assert_int_equal(bh_breaker_observe(b, &t, B, BH_OBS_EQUIVOCATION, 1, T0, "a\nb\r\x01"), 1);
    assert_string_equal(t.evidence, "equivocation x1 in 60s (threshold 1): a?b??");

    /* the cut never leaves half a UTF-8 character (2-byte and 3-byte runs,
     * at every alignment of the cut) */
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x92"};
    for (size_t ch = 0; ch < 3; ch++) {
        for (size_t shift = 0; shift < 4; shift++) {
            char d[600] = "";
            memset(d, 'x', shift);
            d[shift] = '\0';
            while (strlen(d) + 4 < sizeof d)
                strcat(d, chars[ch]);
            bh_breaker *b2 = mk(&c);
            assert_int_equal(bh_breaker_observe(b2, &t, A, BH_OBS_EQUIVOCATION, 1, T0, d), 1);
            assert_true(utf8_valid(t.evidence));
            assert_true(strlen(t.evidence) >= sizeof t.evidence - 4);
            bh_breaker_destroy(b2);
        }
    }
    bh_breaker_destroy(b);
}

/* A clock stepped back is "no time passed": counts stay, nothing crashes,
 * the window is not stretched or shrunk by the step. */
static void test_breaker_clock_steps_back(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    const bh_obs_kind k = BH_OBS_EXCEEDS_OUTSTANDING; /* threshold 3 */
    assert_int_equal(obs(b, A, k, 1, T0 + 100), 0);
    assert_int_equal(obs(b, A, k, 1, T0 + 50), 0); /* taken as T0 + 100 */
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 100), 2);
    assert_int_equal(bh_breaker_count(b, A, k, T0), 2); /* a query in the past: latest */
    assert_int_equal(bh_breaker_count(b, A, k, T0 + 160), 0);
    bh_breaker_trip t;
    assert_int_equal(obs(b, A, k, 1, 0), 1); /* back to the epoch: still T0 + 100 */
    assert_int_equal(bh_breaker_observe(b, &t, B, k, 3, 0, NULL), 1);
    assert_int_equal(t.at, 0);

    /* the far end of time, then back */
    assert_int_equal(obs(b, C, k, 1, UINT64_MAX), 0);
    assert_int_equal(obs(b, C, k, 1, UINT64_MAX - 1000000), 0);
    assert_int_equal(bh_breaker_count(b, C, k, UINT64_MAX), 2);
    assert_int_equal(bh_breaker_observe(b, &t, C, k, 1, 5, NULL), 1);
    assert_int_equal(t.at, UINT64_MAX);

    /* flow: steps back and huge jumps */
    for (uint64_t i = 0; i < 200; i++)
        (void)bh_breaker_flow(b, A, 3, T0 + 1000 - i * 7);
    (void)bh_breaker_flow(b, B, 1, UINT64_MAX);
    (void)bh_breaker_flow(b, B, 1, 0);
    (void)bh_breaker_flow(b, B, UINT64_MAX, 1);
    (void)bh_breaker_flow(b, B, UINT64_MAX, 2);
    bh_breaker_destroy(b);
}

/* ---- flow ---- */

typedef struct {
    int tighten, relax;
    uint64_t first_tighten, last_tighten, first_relax;
} flow_tally;

/* Report every second from t0 to t1 (exclusive) at per_min(minute)
 * messages per minute, spread evenly over the seconds. */
static void flow_run(bh_breaker *b, uint16_t chain, uint64_t t0, uint64_t t1,
                     uint64_t (*per_min)(uint64_t minute), flow_tally *ft)
{
    for (uint64_t t = t0; t < t1; t++) {
        uint64_t r = per_min(t / 60), s = t % 60;
        uint64_t n = r * (s + 1) / 60 - r * s / 60;
        bh_flow_action a = bh_breaker_flow(b, chain, n, t);
        if (a == BH_FLOW_TIGHTEN) {
            if (ft->tighten++ == 0) ft->first_tighten = t;
            ft->last_tighten = t;
        } else if (a == BH_FLOW_RELAX) {
            if (ft->relax++ == 0) ft->first_relax = t;
        } else {
            assert_int_equal(a, BH_FLOW_STEADY);
        }
    }
}

static uint64_t rate_1(uint64_t m)
{
    (void)m;
    return 1;
}
static uint64_t rate_10(uint64_t m)
{
    (void)m;
    return 10;
}
static uint64_t rate_59(uint64_t m)
{
    (void)m;
    return 59;
}
static uint64_t rate_60(uint64_t m)
{
    (void)m;
    return 60;
}
static uint64_t rate_200(uint64_t m)
{
    (void)m;
    return 200;
}
static uint64_t rate_300(uint64_t m)
{
    (void)m;
    return 300;
}
static uint64_t rate_jitter(uint64_t m)
{
    return 200 + (m * 37) % 201; /* 200..400 per minute */
}
static uint64_t rate_jitter_low(uint64_t m)
{
    return 20 + (m * 13) % 30; /* 20..49 per minute */
}

#define HOUR 3600ull

/* Steady traffic never spikes: below min_per_min from cold, and a learned
 * level with ±33 % jitter for hours. */
static void test_flow_steady_never_spikes(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    flow_tally ft = {0};
    flow_run(b, A, T0, T0 + 6 * HOUR, rate_jitter_low, &ft);
    assert_int_equal(ft.tighten, 0);
    assert_int_equal(ft.relax, 0);
    bh_breaker_destroy(b);
}

/* Cold start (baseline 0) at 300/min: a spike by the min_per_min floor,
 * so TIGHTEN once within the first minute; the baseline learns the level,
 * RELAX once; hours of jittered traffic at that level then stay STEADY. */
static void test_flow_cold_start_learns_level(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    flow_tally ft = {0};
    flow_run(b, A, T0, T0 + 2 * HOUR, rate_300, &ft);
    assert_int_equal(ft.tighten, 1);
    assert_true(ft.first_tighten < T0 + 60);
    assert_int_equal(ft.relax, 1);
    assert_true(ft.first_relax > T0 + 600);
    flow_tally after = {0};
    flow_run(b, A, T0 + 2 * HOUR, T0 + 8 * HOUR, rate_jitter, &after);
    assert_int_equal(after.tighten, 0);
    assert_int_equal(after.relax, 0);
    bh_breaker_destroy(b);
}

/* Warm baseline 10/min, then a 20x burst sustained for 10 minutes: one
 * TIGHTEN; back to 10/min: one RELAX relax_after_s after the spike's last
 * second; a new burst tightens again. */
static void test_flow_burst_tighten_sustain_relax(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    flow_tally ft = {0};
    uint64_t t = T0;
    flow_run(b, A, t, t + 2 * HOUR, rate_10, &ft);
    assert_int_equal(ft.tighten + ft.relax, 0);
    t += 2 * HOUR;

    flow_run(b, A, t, t + 60, rate_200, &ft); /* the burst's first minute */
    assert_int_equal(ft.tighten, 1);
    assert_true(ft.first_tighten >= t && ft.first_tighten < t + 60);
    flow_run(b, A, t + 60, t + 600, rate_200, &ft); /* sustained */
    assert_int_equal(ft.tighten, 1);
    assert_int_equal(ft.relax, 0);
    t += 600;

    /* calm again: the one-minute rate drains within 60 s; RELAX comes
     * relax_after_s later, exactly once */
    uint64_t calm = t;
    flow_run(b, A, t, t + 2 * HOUR, rate_10, &ft);
    assert_int_equal(ft.tighten, 1);
    assert_int_equal(ft.relax, 1);
    assert_true(ft.first_relax >= calm + c.spike_relax_after_s);
    assert_true(ft.first_relax <= calm + 60 + c.spike_relax_after_s);
    t += 2 * HOUR;

    flow_run(b, A, t, t + 120, rate_200, &ft);
    assert_int_equal(ft.tighten, 2);
    assert_true(ft.last_tighten >= t);
    /* chain B, quiet all along, was never told to tighten */
    assert_int_equal(bh_breaker_flow(b, B, 0, t + 120), BH_FLOW_STEADY);
    bh_breaker_destroy(b);
}

/* The relax timer restarts at every spiking report: a spike that flickers
 * back before relax_after_s does not relax nor re-tighten. */
static void test_flow_relax_needs_full_calm(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    c.spike_relax_after_s = 300;
    bh_breaker *b = mk(&c);
    flow_tally ft = {0};
    uint64_t t = T0;
    flow_run(b, A, t, t + HOUR, rate_1, &ft);
    t += HOUR;
    for (int round = 0; round < 5; round++) {
        flow_run(b, A, t, t + 60, rate_200, &ft);     /* spike */
        flow_run(b, A, t + 60, t + 240, rate_1, &ft); /* 180 s calm < 300 */
        t += 240;
    }
    assert_int_equal(ft.tighten, 1);
    assert_int_equal(ft.relax, 0);
    flow_run(b, A, t, t + 400, rate_1, &ft);
    assert_int_equal(ft.relax, 1);
    bh_breaker_destroy(b);
}

/* Below spike_min_per_min a burst is no spike however large its ratio; at
 * the minimum it is. */
static void test_flow_burst_below_min(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    flow_tally ft = {0};
    uint64_t t = T0;
    flow_run(b, A, t, t + HOUR, rate_1, &ft);
    flow_run(b, A, t + HOUR, t + HOUR + 120, rate_59, &ft); /* 59x the baseline */
    assert_int_equal(ft.tighten, 0);
    /* the same baseline on chain B, then exactly min_per_min: a spike */
    flow_run(b, B, t, t + HOUR, rate_1, &ft);
    flow_run(b, B, t + HOUR, t + HOUR + 60, rate_60, &ft);
    assert_int_equal(ft.tighten, 1);
    bh_breaker_destroy(b);
}

static void test_flow_disabled(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    c.spike_enabled = 0;
    bh_breaker *b = mk(&c);
    flow_tally ft = {0};
    flow_run(b, A, T0, T0 + HOUR, rate_1, &ft);
    flow_run(b, A, T0 + HOUR, T0 + HOUR + 600, rate_300, &ft);
    for (int i = 0; i < 10; i++)
        assert_int_equal(bh_breaker_flow(b, A, 1000000, T0 + 5000), BH_FLOW_STEADY);
    assert_int_equal(ft.tighten + ft.relax, 0);
    bh_breaker_destroy(b);
}

/* ---- concurrency ---- */

#define NTHREADS 4
#define PER_THREAD 20000

typedef struct {
    bh_breaker *b;
    uint16_t own;
    int own_trips, shared_trips;
    uint64_t own_trip_count, shared_trip_count;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    bh_breaker_trip t;
    for (int i = 0; i < PER_THREAD; i++) {
        int rc = bh_breaker_observe(w->b, &t, w->own, BH_OBS_RATE_LIMITED, 1, T0, "own");
        if (rc == 1) {
            w->own_trips++;
            w->own_trip_count = t.count;
        }
        rc = bh_breaker_observe(w->b, &t, 100, BH_OBS_BAD_SIGNATURE, 1, T0, "shared");
        if (rc == 1) {
            w->shared_trips++;
            w->shared_trip_count = t.count;
        }
        (void)bh_breaker_flow(w->b, (i & 1) ? w->own : 100, 1, T0 + (uint64_t)i / 1000);
        (void)bh_breaker_count(w->b, 100, BH_OBS_BAD_SIGNATURE, T0);
    }
    return NULL;
}

/* 4 threads, each on its own chain and all on a shared one: every count
 * exact, every chain trips exactly once, at exactly its threshold. */
static void test_breaker_concurrent(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    c.rate_limited = PER_THREAD;
    c.bad_signature = NTHREADS * PER_THREAD;
    const uint16_t ids[] = {10, 11, 12, 13, 100};
    bh_breaker *b = NULL;
    assert_int_equal(bh_breaker_create(&b, &c, ids, 5), BH_OK);
    worker w[NTHREADS];
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){.b = b, .own = ids[i]};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    int shared = 0;
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(w[i].own_trips, 1);
        assert_int_equal(w[i].own_trip_count, PER_THREAD);
        assert_int_equal(bh_breaker_count(b, ids[i], BH_OBS_RATE_LIMITED, T0), PER_THREAD);
        assert_int_equal(bh_breaker_count(b, ids[i], BH_OBS_BAD_SIGNATURE, T0), 0);
        shared += w[i].shared_trips;
        if (w[i].shared_trips) assert_int_equal(w[i].shared_trip_count, NTHREADS * PER_THREAD);
    }
    assert_int_equal(shared, 1);
    assert_int_equal(bh_breaker_count(b, 100, BH_OBS_BAD_SIGNATURE, T0), NTHREADS * PER_THREAD);
    assert_int_equal(bh_breaker_count(b, 100, BH_OBS_RATE_LIMITED, T0), 0);
    bh_breaker_destroy(b);
}

/* Windows saved before a restart count after it: a chain one report short
 * of its threshold trips on the first report of the new process. */
static void test_breaker_save_load_survives_restart(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    uint64_t v0 = bh_breaker_version(b);
    assert_int_equal(obs(b, B, BH_OBS_BAD_SIGNATURE, 3, T0), 0); /* threshold 4 */
    assert_int_equal(obs(b, A, BH_OBS_RATE_LIMITED, 2, T0 + 1), 0);
    assert_true(bh_breaker_version(b) != v0);
    unsigned char buf[BH_BREAKER_STATE_MAX];
    size_t len = 0, len_a = 0;
    assert_int_equal(bh_breaker_save(b, B, buf, sizeof buf, &len), BH_OK);
    assert_true(len > 13);
    unsigned char small[8];
    assert_int_equal(bh_breaker_save(b, B, small, sizeof small, &len_a), BH_ENOSPC);
    assert_int_equal(len_a, 0);
    bh_breaker_destroy(b);

    bh_breaker *b2 = mk(&c);
    assert_int_equal(bh_breaker_load(b2, B, buf, len), BH_OK);
    assert_int_equal(bh_breaker_count(b2, B, BH_OBS_BAD_SIGNATURE, T0 + 5), 3);
    assert_int_equal(bh_breaker_count(b2, A, BH_OBS_RATE_LIMITED, T0 + 5), 0); /* not B's */
    bh_breaker_trip t;
    assert_int_equal(bh_breaker_observe(b2, &t, B, BH_OBS_BAD_SIGNATURE, 1, T0 + 5, "d"), 1);
    assert_int_equal(t.count, 4);
    /* the saved observations still leave the window on time */
    bh_breaker_destroy(b2);
    b2 = mk(&c);
    assert_int_equal(bh_breaker_load(b2, B, buf, len), BH_OK);
    assert_int_equal(bh_breaker_count(b2, B, BH_OBS_BAD_SIGNATURE, T0 + 60), 0);
    bh_breaker_destroy(b2);

    /* another window width: the saved state means nothing, nothing restored */
    bh_config_breaker wide = c;
    wide.window_s = 3600;
    b2 = mk(&wide);
    assert_int_equal(bh_breaker_load(b2, B, buf, len), BH_OK);
    assert_int_equal(bh_breaker_count(b2, B, BH_OBS_BAD_SIGNATURE, T0 + 5), 0);
    bh_breaker_destroy(b2);
}

/* Saved bytes are untrusted on load: every truncation and a bad version or
 * kind is refused whole, leaving the windows untouched. */
static void test_breaker_load_refuses_malformed(void **state)
{
    (void)state;
    bh_config_breaker c = cfg_base();
    bh_breaker *b = mk(&c);
    assert_int_equal(obs(b, C, BH_OBS_EQUIVOCATION, 0, T0), 0);
    assert_int_equal(obs(b, C, BH_OBS_DISAGREEMENT, 2, T0), 0);
    unsigned char buf[BH_BREAKER_STATE_MAX];
    size_t len = 0;
    assert_int_equal(bh_breaker_save(b, C, buf, sizeof buf, &len), BH_OK);
    bh_breaker_destroy(b);
    for (size_t cut = 0; cut < len; cut++) {
        bh_breaker *bc = mk(&c);
        int rc = bh_breaker_load(bc, C, buf, cut);
        uint64_t have = bh_breaker_count(bc, C, BH_OBS_DISAGREEMENT, T0);
        /* a cut exactly between kinds is a shorter valid record: a kind is
         * restored whole or not at all */
        if (rc == BH_OK)
            assert_true(have == 0 || have == 2);
        else {
            assert_int_equal(rc, BH_EMALFORMED);
            assert_int_equal(have, 0);
        }
        bh_breaker_destroy(bc);
    }
    bh_breaker *b2 = mk(&c);
    unsigned char bad[BH_BREAKER_STATE_MAX];
    memcpy(bad, buf, len);
    bad[0] = 9;
    assert_int_equal(bh_breaker_load(b2, C, bad, len), BH_EMALFORMED);
    memcpy(bad, buf, len);
    bad[13] = BH_OBS_COUNT_;
    assert_int_equal(bh_breaker_load(b2, C, bad, len), BH_EMALFORMED);
    memcpy(bad, buf, len);
    bad[14] = 61; /* more slots than a ring has */
    assert_int_equal(bh_breaker_load(b2, C, bad, len), BH_EMALFORMED);
    assert_int_equal(bh_breaker_load(b2, 99, buf, len), BH_EINVAL);
    assert_int_equal(bh_breaker_count(b2, C, BH_OBS_DISAGREEMENT, T0), 0);
    assert_int_equal(bh_breaker_load(b2, C, buf, len), BH_OK);
    assert_int_equal(bh_breaker_count(b2, C, BH_OBS_DISAGREEMENT, T0), 2);
    bh_breaker_destroy(b2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breaker_names),
        cmocka_unit_test(test_breaker_create_misuse),
        cmocka_unit_test(test_breaker_misuse),
        cmocka_unit_test(test_breaker_each_kind_trips_at_threshold),
        cmocka_unit_test(test_breaker_kinds_not_summed),
        cmocka_unit_test(test_breaker_disabled_kinds_never_trip),
        cmocka_unit_test(test_breaker_window_expiry),
        cmocka_unit_test(test_breaker_long_window_granularity),
        cmocka_unit_test(test_breaker_trips_once_until_reset),
        cmocka_unit_test(test_breaker_count_greater_than_one),
        cmocka_unit_test(test_breaker_chains_segmented),
        cmocka_unit_test(test_breaker_evidence),
        cmocka_unit_test(test_breaker_clock_steps_back),
        cmocka_unit_test(test_flow_steady_never_spikes),
        cmocka_unit_test(test_flow_cold_start_learns_level),
        cmocka_unit_test(test_flow_burst_tighten_sustain_relax),
        cmocka_unit_test(test_flow_relax_needs_full_calm),
        cmocka_unit_test(test_flow_burst_below_min),
        cmocka_unit_test(test_flow_disabled),
        cmocka_unit_test(test_breaker_concurrent),
        cmocka_unit_test(test_breaker_save_load_survives_restart),
        cmocka_unit_test(test_breaker_load_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
