/* Issue 15 on anvil: value limits priced by on-chain feeds (tests/contracts/
 * PriceFeed.sol) on each vault's own home chain, read by the node through
 * that chain's endpoint quorum. One node, alpha (A) and beta (B):
 *  - alpha holds TKA (18 decimals, feed $2.00) and TKX (6 decimals, feed
 *    $1.00), quote unit a cent, value_window.1 = 10000 ($100 a day out of
 *    alpha): 30 TKA (6000) and 35 TKX (3500) go, 6 TKX (600) crosses the
 *    window and is delayed with cause value;
 *  - TKX's feed goes stale (updatedAt 2 h old, price_max_age 600): 1 TKX is
 *    delayed with cause price and the journal says "stale price";
 *  - flow cancel (flow_cancel.2): returns from beta pay the window down, the
 *    delayed transfers go, and with every value back home the window admits
 *    exactly its limit (50 TKA = 10000) and not one TKX more;
 *  - TKA's feed jumps 30% (vol_percent 20): alpha's segment tightens (value
 *    limits, buckets and windows of its lanes at 50%), journaled with both
 *    prices, visible in vaultctl, /metrics and the /ws snapshot; beta's
 *    segment and lanes stay as they were;
 *  - the flow-spike tightening (every flow spikes here) holds alpha's
 *    buckets from beta at 25%: the segment leaves them at the smaller
 *    percent, a restart ends the spike's and keeps the segment's (50%),
 *    of a size the config changed meanwhile;
 *  - a restart keeps the windows and the tightened state; after the calm
 *    period alpha's lanes are back at their configured sizes;
 *  - beta's feed answering -5, then a price from an hour ahead, gives no
 *    price (logged price_missing): beta keeps its last price, unloosened;
 *    a jump to 3x is held back (price_held_back): no usable price, no
 *    tightening, until the feed agrees with the last usable price again;
 *  - all along, one of alpha's three endpoints (quorum 2) answers every
 *    latestRoundData with 100 times the price: it is outvoted and moves
 *    nothing (the thresholds above hold at the honest prices, nothing is
 *    held back as a jump); with quorum 3 of 3 it splits the reads, and
 *    nothing is noted (the price would age out: a delay, never a move). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_adversary.h" /* node_test.h and the config edits */
#include "value_test.h"

#include "../unit/ws_test_client.h"
#include "bh_vault.h"

#define E6 1000000ull

static const nh_opts k_opts = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8600};

static it_fake *fake_honest, *fake_liar;
static bh_address tkx, feed_a, feed_x, feed_b, w_tka, w_tkx;
static int port;

static void feed_set(size_t chain, const bh_address *feed, int64_t answer, uint64_t updated_at)
{
    NH_OK(bh_test_feed_set(W.ch[chain].deployer, feed, answer, updated_at));
}

static bh_u128 tkx_units(uint64_t n)
{
    return (bh_u128)n * E6;
}

/* Pending entries of vault alpha with cause `cause`. */
static size_t pending_with(const char *cause)
{
    char *out = NULL;
    const char *args[] = {"pending", "alpha", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, args), 0);
    json_t *d = nh_vaultctl_data(out);
    free(out);
    size_t n = 0, i;
    json_t *p, *arr = json_is_array(d) ? d : json_object_get(d, "pending");
    json_array_foreach(arr, i, p)
    {
        const char *c = json_string_value(json_object_get(p, "cause"));
        if (c && !strcmp(c, cause)) n++;
    }
    json_decref(d);
    return n;
}

static void wait_pending(const char *cause, size_t n, const char *what)
{
    uint64_t t0 = nh_now_ms();
    size_t have = 0;
    while ((have = pending_with(cause)) != n) {
        if (nh_now_ms() - t0 > WAIT_MS) {
            nh_dump_logs(&W, 40);
            fail_msg("%s: %zu pending with cause %s, expected %zu", what, have, cause, n);
        }
        nh_sleep_ms(200);
    }
}

/* A sample of /metrics with label vault (and asset, if not NULL); -1 if absent. */
static double metric_of(const char *family, const char *vault, const char *asset)
{
    int status = 0;
    char *body = NULL;
    NH_OK(nh_http_get(port, "/metrics", &status, &body));
    assert_int_equal(status, 200);
    char l[64], a[64];
    snprintf(l, sizeof l, "vault=\"%s\"", vault);
    snprintf(a, sizeof a, "asset=\"%s\"", asset ? asset : "");
    const char *labels[] = {l, asset ? a : NULL, NULL};
    double v = -1;
    if (nh_metric(body, family, labels, &v) != 0) v = -1;
    free(body);
    return v;
}

static double metric_chain(const char *family, const char *chain)
{
    int status = 0;
    char *body = NULL, l[64];
    NH_OK(nh_http_get(port, "/metrics", &status, &body));
    snprintf(l, sizeof l, "chain=\"%s\"", chain);
    const char *labels[] = {l, NULL};
    double v = -1;
    if (nh_metric(body, family, labels, &v) != 0) fail_msg("/metrics lacks %s{%s}", family, l);
    free(body);
    return v;
}

static double metric(const char *family, const char *vault)
{
    double v = metric_of(family, vault, NULL);
    if (v < 0) fail_msg("/metrics lacks %s{vault=\"%s\"}", family, vault);
    return v;
}

/* The segment state of vault in the /ws snapshot. */
static void ws_segment(const char *vault, char *state, size_t cap)
{
    nh_sleep_ms(1100); /* past the server's one-second snapshot cache */
    int fd = -1;
    assert_int_equal(raw_ws_open((uint16_t)port, "/ws", NULL, 0, &fd), 101);
    size_t cap_b = 4 << 20, len = 0;
    unsigned char *buf = malloc(cap_b + 1);
    assert_non_null(buf);
    assert_int_equal(raw_ws_frame(fd, buf, cap_b, &len), 1);
    close(fd);
    buf[len] = 0;
    json_t *snap = json_loads((char *)buf, 0, NULL);
    free(buf);
    assert_non_null(snap);
    size_t i;
    json_t *v;
    state[0] = 0;
    json_array_foreach(json_object_get(snap, "vaults"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), vault)) continue;
        snprintf(state, cap, "%s",
                 json_string_value(json_object_get(json_object_get(v, "segment"), "state")));
    }
    json_decref(snap);
}

static void edit(json_t *cfg)
{
    char t[43], fa[43], fx[43], fb[43];
    json_object_set_new(json_object_get(cfg, "node"), "price_poll_s", json_integer(1));
    json_t *a = cfg_chain(cfg, NH_A), *b = cfg_chain(cfg, NH_B);
    json_object_set_new(a, "quote_decimals", json_integer(2));
    addr_hex(t, &tkx);
    cfg_add_asset(cfg, NH_A, &tkx, "TKX", 6);
    addr_hex(fa, &feed_a);
    addr_hex(fx, &feed_x);
    addr_hex(fb, &feed_b);
    cfg_set_limit(cfg, NH_A, "TKA", "price_feed", fa);
    cfg_set_limit(cfg, NH_A, "TKA", "price_max_age", "600");
    cfg_set_limit(cfg, NH_A, "TKA", "in_capacity.2", "1000000000000000000000");
    cfg_set_limit(cfg, NH_A, "TKA", "in_refill.2", "1000000000000000000");
    cfg_set_limit(cfg, NH_A, "TKA", "out_capacity.2", "1000000000000000000000");
    cfg_set_limit(cfg, NH_A, "TKA", "out_refill.2", "1000000000000000000");
    cfg_set_limit(cfg, NH_A, "TKA", "window.2", "100000000000000000000000");
    cfg_set_limit(cfg, NH_A, "TKX", "price_feed", fx);
    cfg_set_limit(cfg, NH_A, "TKX", "price_max_age", "600");
    json_object_set_new(a, "value_limits",
                        json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "value_window.1", 10000,
                                  "flow_cancel.2", 1, "vol_percent", 20, "vol_window", 300,
                                  "tighten_percent", 50, "calm", CALM_S));
    cfg_set_limit(cfg, NH_B, "TKB", "price_feed", fb);
    cfg_set_limit(cfg, NH_B, "TKB", "in_capacity.1", "1000000000000000000000");
    cfg_set_limit(cfg, NH_B, "TKB", "in_refill.1", "1000000000000000000");
    json_object_set_new(b, "value_limits",
                        json_pack("{s:i,s:i,s:i,s:i}", "value_window.2", 1000000, "vol_percent", 20,
                                  "tighten_percent", 50, "calm", CALM_S));
    /* the flow-spike tightening too: any flow spikes (baseline 0), buckets to
     * 25%, relaxed only by a restart here */
    json_object_set_new(cfg, "breaker",
                        json_pack("{s:{s:i,s:i,s:i,s:i}}", "spike", "min_per_min", 1, "factor", 2,
                                  "tighten_percent", 25, "relax_after_s", 3600));
    const char *urls[] = {W.ch[NH_A].anvil.url, it_fake_url(fake_honest), it_fake_url(fake_liar),
                          NULL};
    cfg_endpoints(cfg, NH_A, urls, 2);
}

static int setup(void **state)
{
    (void)state;
    if (nt_world_up(k_opts, 0) != 0) return -1;
    bh_evm_sender *d = W.ch[NH_A].deployer;
    bh_u256 amt;
    bh_u256_from_u128(&amt, tkx_units(1000));
    if (bh_test_token_deploy(d, &tkx, "Token X", "TKX", 6) ||
        bh_test_token_mint(d, &tkx, &W.user, &amt) ||
        bh_test_feed_deploy(d, &feed_a, 8, 2 * FEED_ONE) ||
        bh_test_feed_deploy(d, &feed_x, 8, FEED_ONE) ||
        bh_test_feed_deploy(W.ch[NH_B].deployer, &feed_b, 8, FEED_ONE))
        return -1;
    fake_honest = it_fake_start(IT_FAKE_PROXY, W.ch[NH_A].anvil.url);
    fake_liar = it_fake_start(IT_FAKE_LIE_PRICE, W.ch[NH_A].anvil.url);
    if (!fake_honest || !fake_liar) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    edit(cfg);
    if (nh_node_write_config(&W, 1, cfg) != 0 || nh_node_enable_metrics(&W, 1) != 0 ||
        nh_node_start(&W, 1, WAIT_MS) != 0)
        return -1;
    return nh_node_metrics_port(&W, 1, WAIT_MS, &port);
}

static int teardown(void **state)
{
    nt_teardown(state);
    it_fake_stop(fake_honest);
    it_fake_stop(fake_liar);
    return 0;
}

static void test_value_window_delays_the_crossing_transfer(void **state)
{
    (void)state;
    const char *n1[] = {"event=price_noted", "vault=alpha", "asset=TKA", NULL};
    const char *n2[] = {"event=price_noted", "vault=alpha", "asset=TKX", NULL};
    NH_OK(nh_log_wait(&W, 1, n1, 1, WAIT_MS));
    NH_OK(nh_log_wait(&W, 1, n2, 1, WAIT_MS));
    /* the liar answered, and lost: the honest prices, nothing held back */
    assert_true(it_fake_requests(fake_liar) > 0);
    assert_u128(price_of("alpha", "TKA"), 200, "TKA's price in alpha (cents)");
    assert_u128(price_of("alpha", "TKX"), 100, "TKX's price in alpha (cents)");
    assert_string_equal(segment_of("alpha"), "normal");
    nh_sleep_ms(1100); /* past the server's one-second snapshot cache */
    assert_true(metric_of("bulkhead_vault_price", "alpha", "TKA") == 200);
    assert_true(metric_of("bulkhead_vault_price_usable", "alpha", "TKX") == 1);
    double age = metric_of("bulkhead_vault_price_age_seconds", "alpha", "TKA");
    assert_true(age >= 0 && age < 120);
    assert_true(metric("bulkhead_vault_segment_state", "alpha") == 0);

    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(30), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &w_tka, &W.user, nh_units(30), WAIT_MS, "30 TKA (6000)", NULL));
    NH_OK(nh_lock(&W, NH_A, &tkx, tkx_units(35), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &tkx, &w_tkx, WAIT_MS));
    NH_OK(
        nh_wait_balance(&W, NH_B, &w_tkx, &W.user, tkx_units(35), WAIT_MS, "35 TKX (3500)", NULL));
    bh_u128 eff, used;
    value_limit("alpha", "value_window.1", &eff, &used);
    assert_u128(used, 9500, "alpha's value window after 30 TKA and 35 TKX");
    /* 6 TKX (600) makes 10100 > 10000: delayed, cause value */
    NH_OK(nh_lock(&W, NH_A, &tkx, tkx_units(6), NH_B, &W.user, 0, NULL));
    wait_pending("value", 1, "6 TKX past the value window");
    assert_u128(balance(NH_B, &w_tkx, &W.user), tkx_units(35), "wTKX on B (nothing more went)");
    assert_false(journal_has("alpha", "held back", NULL));
}

static void test_stale_feed_delays_and_says_why(void **state)
{
    (void)state;
    feed_set(NH_A, &feed_x, FEED_ONE, (uint64_t)time(NULL) - 7200);
    uint64_t t0 = nh_now_ms();
    while (price_of("alpha", "TKX") != 0) {
        if (nh_now_ms() - t0 > WAIT_MS) fail_msg("TKX's stale price still usable");
        nh_sleep_ms(200);
    }
    NH_OK(nh_lock(&W, NH_A, &tkx, tkx_units(1), NH_B, &W.user, 0, NULL));
    /* the new one waits for a usable price; so may the earlier one, re-checked at it */
    uint64_t t1 = nh_now_ms();
    while (pending_with("price") < 1 || pending_with("price") + pending_with("value") != 2) {
        if (nh_now_ms() - t1 > WAIT_MS) fail_msg("1 TKX at a stale price: not delayed for it");
        nh_sleep_ms(200);
    }
    assert_true(journal_has("alpha", "stale price", "max age 600 s"));
    nh_sleep_ms(1100);
    assert_true(metric_of("bulkhead_vault_price_usable", "alpha", "TKX") == 0);
    assert_true(metric_of("bulkhead_vault_price", "alpha", "TKX") < 0); /* no usable price */
    assert_true(metric_of("bulkhead_vault_price_age_seconds", "alpha", "TKX") >= 7200);
    feed_set(NH_A, &feed_x, FEED_ONE, 0); /* fresh again */
    t0 = nh_now_ms();
    while (price_of("alpha", "TKX") != 100) {
        if (nh_now_ms() - t0 > WAIT_MS) fail_msg("TKX's price not usable again");
        nh_sleep_ms(200);
    }
}

static void test_flow_cancel_returns_room_never_past_the_limit(void **state)
{
    (void)state;
    /* 30 wTKA home (6000): the window drops, the delayed TKX (700) go */
    NH_OK(nh_burn(&W, NH_B, &w_tka, nh_units(30), NH_A, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_B, &w_tkx, &W.user, tkx_units(42), WAIT_MS,
                          "the delayed 6 + 1 TKX after the return", NULL));
    bh_u128 eff, used;
    value_limit("alpha", "value_window.1", &eff, &used);
    assert_u128(used, 4200, "alpha's window: 9500 + 700 - 6000");
    /* everything home: the window is empty, not below; it admits its limit */
    NH_OK(nh_burn(&W, NH_B, &w_tkx, tkx_units(42), NH_A, &W.user, 0, NULL));
    uint64_t t0 = nh_now_ms();
    for (;;) {
        value_limit("alpha", "value_window.1", &eff, &used);
        if (used == 0) break;
        if (nh_now_ms() - t0 > WAIT_MS)
            fail_msg("window at %s after 42 TKX home", nh_u128_str(used));
        nh_sleep_ms(250);
    }
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(50), NH_B, &W.user, 0, NULL));
    NH_OK(
        nh_wait_balance(&W, NH_B, &w_tka, &W.user, nh_units(50), WAIT_MS, "50 TKA (10000)", NULL));
    NH_OK(nh_lock(&W, NH_A, &tkx, tkx_units(1), NH_B, &W.user, 0, NULL));
    wait_pending("value", 1, "1 TKX past the full window");
    value_limit("alpha", "value_window.1", &eff, &used);
    assert_u128(used, 10000, "alpha's window: exactly its limit");
}

static void test_price_jump_tightens_this_segment_only_and_survives_restart(void **state)
{
    (void)state;
    /* the returns from beta spiked its flow: alpha's buckets from beta at 25% */
    const char *spiked[] = {"event=limits_tightened", "chain=beta", NULL};
    NH_OK(nh_log_wait(&W, 1, spiked, 1, WAIT_MS));
    const bh_u128 cap = nh_units(1000), refill = nh_units(1), win = nh_units(100000);
    bh_vault_lane a0 = lane_of("alpha", &W.tka, 2), b0 = lane_of("beta", &W.tkb, 1);
    assert_u128(a0.in.capacity, cap / 4, "alpha TKA in_capacity.2 at the spike's 25%");
    assert_u128(a0.out.capacity, cap, "alpha TKA out_capacity.2 configured");
    assert_u128(a0.window_limit, win, "alpha TKA window.2 configured");

    feed_set(NH_A, &feed_a, 26 * FEED_ONE / 10, 0); /* +30% */
    const char *nt[] = {"event=segment_tightened", "vault=alpha", NULL};
    NH_OK(nh_log_wait(&W, 1, nt, 1, WAIT_MS));
    assert_string_equal(segment_of("alpha"), "tightened");
    assert_string_equal(segment_of("beta"), "normal");
    assert_true(journal_has("alpha", "price 200 -> 260", "value limits at 50%"));
    bh_vault_lane a1 = lane_of("alpha", &W.tka, 2), b1 = lane_of("beta", &W.tkb, 1);
    /* each bucket at the smaller percent of its configured size */
    assert_u128(a1.in.capacity, cap / 4, "alpha TKA in_capacity.2: the spike's 25% < 50%");
    assert_u128(a1.in.refill, refill / 4, "alpha TKA in_refill.2: the spike's 25%");
    assert_u128(a1.out.capacity, cap / 2, "alpha TKA out_capacity.2 at 50%");
    assert_u128(a1.out.refill, refill / 2, "alpha TKA out_refill.2 at 50%");
    assert_u128(a1.window_limit, win / 2, "alpha TKA window.2 at 50%");
    assert_u128(b1.in.capacity, b0.in.capacity, "beta TKB in_capacity.1 untouched");
    assert_u128(b1.in.refill, b0.in.refill, "beta TKB in_refill.1 untouched");
    bh_u128 eff, used;
    value_limit("alpha", "value_window.1", &eff, &used);
    assert_u128(eff, 5000, "alpha's value window at 50%");
    value_limit("beta", "value_window.2", &eff, &used);
    assert_u128(eff, 1000000, "beta's value window untouched");
    nh_sleep_ms(1100); /* past the server's one-second snapshot cache */
    assert_true(metric("bulkhead_vault_segment_state", "alpha") == 1);
    assert_true(metric("bulkhead_vault_segment_state", "beta") == 0);
    assert_true(metric("bulkhead_vault_segment_limit_percent", "alpha") == 50);
    char st[32];
    ws_segment("alpha", st, sizeof st);
    assert_string_equal(st, "tightened");
    ws_segment("beta", st, sizeof st);
    assert_string_equal(st, "normal");

    /* a restart keeps the windows and the segment's tightening; the spike's
     * ends with the run, and the config raised in_capacity.2 to 2000 meanwhile:
     * the inbound bucket is at the segment's 50% of the new size */
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    json_t *cfg = nh_node_config(&W, 1);
    assert_non_null(cfg);
    cfg_set_limit(cfg, NH_A, "TKA", "in_capacity.2", "2000000000000000000000");
    NH_OK(nh_node_write_config(&W, 1, cfg));
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    NH_OK(nh_node_metrics_port(&W, 1, WAIT_MS, &port));
    assert_string_equal(segment_of("alpha"), "tightened");
    value_limit("alpha", "value_window.1", &eff, &used);
    assert_u128(used, 10000, "alpha's window after the restart");
    assert_u128(eff, 5000, "alpha's value window still at 50%");
    nh_sleep_ms(1500); /* a few control ticks of the new run */
    bh_vault_lane a2 = lane_of("alpha", &W.tka, 2);
    assert_u128(a2.in.capacity, 2 * cap / 2, "alpha TKA in_capacity.2: 50% of the new 2000");
    assert_u128(a2.in.refill, refill / 2, "alpha TKA in_refill.2: the segment's 50%");
    assert_u128(a2.out.capacity, cap / 2, "alpha TKA out_capacity.2 still at 50%");
    assert_u128(a2.window_limit, win / 2, "alpha TKA window.2 still at 50%");
    assert_true(metric("bulkhead_vault_segment_state", "alpha") == 1);

    /* calm: back to the configured sizes, never past them */
    wait_segment("alpha", "normal", (CALM_S + 20) * 1000);
    const char *nr[] = {"event=segment_relaxed", "vault=alpha", NULL};
    NH_OK(nh_log_wait(&W, 1, nr, 1, WAIT_MS));
    bh_vault_lane a3 = lane_of("alpha", &W.tka, 2);
    assert_u128(a3.in.capacity, 2 * cap, "alpha TKA in_capacity.2 relaxed to the config's 2000");
    assert_u128(a3.in.refill, refill, "alpha TKA in_refill.2 relaxed");
    assert_u128(a3.out.capacity, cap, "alpha TKA out_capacity.2 relaxed");
    assert_u128(a3.out.refill, refill, "alpha TKA out_refill.2 relaxed");
    assert_u128(a3.window_limit, win, "alpha TKA window.2 relaxed");
    value_limit("alpha", "value_window.1", &eff, &used);
    assert_u128(eff, 10000, "alpha's value window back at its limit");
    nh_sleep_ms(1100);
    assert_true(metric("bulkhead_vault_segment_state", "alpha") == 0);
    assert_true(journal_has("alpha", "segment calm", NULL));
    /* the liar never priced anything: no price was ever held back */
    assert_false(journal_has("alpha", "held back", NULL));
}

/* One chain's price feed moves (whoever moves it): alpha's segment
 * tightens; the operator sets window.2 lower still meanwhile. The calm's
 * relax puts back the size from before the move over the operator's
 * value: the operator's limit is gone, and the config (unchanged) does not
 * bring it back. */
static void test_segment_relax_keeps_operator_limit(void **state)
{
    (void)state;
    wait_segment("alpha", "normal", (CALM_S + 20) * 1000);
    const char *nt[] = {"event=segment_tightened", "vault=alpha", NULL};
    char *log = nh_node_log(&W, 1);
    size_t before = nh_log_count(log, nt);
    free(log);
    bh_u128 p = 0; /* quote_decimals 2 */
    for (uint64_t t0 = nh_now_ms(); (p = price_of("alpha", "TKA")) == 0;) {
        if (nh_now_ms() - t0 > WAIT_MS) fail_msg("no TKA price in alpha");
        nh_sleep_ms(200);
    }
    feed_set(NH_A, &feed_a, (int64_t)(p * 13 / 10) * (FEED_ONE / 100), 0); /* +30% */
    NH_OK(nh_log_wait(&W, 1, nt, before + 1, WAIT_MS));
    const bh_u128 win = nh_units(100000);
    assert_u128(lane_of("alpha", &W.tka, 2).window_limit, win / 2, "window.2 at 50%");
    const char *op[] = {"limits", "alpha", "TKA", "window.2=1000", "--reason", "incident", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, op), 0);
    assert_u128(lane_of("alpha", &W.tka, 2).window_limit, nh_units(1000), "the operator's 1000");
    wait_segment("alpha", "normal", (CALM_S + 20) * 1000);
    nh_sleep_ms(500);
    bh_vault_lane l = lane_of("alpha", &W.tka, 2);
    if (l.window_limit != nh_units(1000))
        fail_msg("the operator's window.2=1000 TKA (set while the segment was tightened) is %s "
                 "after the segment relaxed: the node put back its size from before the move",
                 nh_u128_str(l.window_limit));
}

/* A feed that answers a negative price, or one from the future, gives no
 * price: nothing is noted (the last one ages out), never a loosening; one
 * that jumps past price_max_jump is held back (fails closed), and tightens
 * nothing. */
static void test_insane_feed_answers_are_missing(void **state)
{
    (void)state;
    feed_set(NH_B, &feed_b, -5, 0);
    const char *neg[] = {"event=price_missing", "chain=beta", "asset=TKB", "feed answers -5", NULL};
    NH_OK(nh_log_wait(&W, 1, neg, 1, WAIT_MS));
    assert_u128(price_of("beta", "TKB"), 100, "TKB's price after a negative answer");
    nh_sleep_ms(1100); /* past the server's one-second snapshot cache */
    double fails = metric_chain("bulkhead_chain_price_feed_failures_total", "beta");
    assert_true(fails >= 1);
    assert_true(metric_chain("bulkhead_chain_price_feed_reads_total", "beta") >= 1);
    feed_set(NH_B, &feed_b, FEED_ONE, 0);
    const char *back[] = {"event=price_noted", "vault=beta", "asset=TKB", "round=3", NULL};
    NH_OK(nh_log_wait(&W, 1, back, 1, WAIT_MS));
    feed_set(NH_B, &feed_b, 3 * FEED_ONE, (uint64_t)time(NULL) + 3600);
    const char *ahead[] = {"event=price_missing", "chain=beta", "asset=TKB", "s ahead", NULL};
    NH_OK(nh_log_wait(&W, 1, ahead, 1, WAIT_MS));
    assert_u128(price_of("beta", "TKB"), 100, "TKB's price after an answer from the future");
    assert_string_equal(segment_of("beta"), "normal");
    feed_set(NH_B, &feed_b, FEED_ONE, 0);
    /* a jump past price_max_jump (50%): held back, the limits fail closed, no tightening */
    feed_set(NH_B, &feed_b, 3 * FEED_ONE, 0);
    const char *held[] = {"event=price_held_back", "vault=beta", "asset=TKB", "price=300", NULL};
    NH_OK(nh_log_wait(&W, 1, held, 1, WAIT_MS));
    assert_u128(price_of("beta", "TKB"), 0, "TKB's price while 300 is held back");
    assert_true(journal_has("beta", "held back", "300"));
    assert_string_equal(segment_of("beta"), "normal");
    feed_set(NH_B, &feed_b, FEED_ONE, 0); /* agrees with the last usable one */
    uint64_t t0 = nh_now_ms();
    while (price_of("beta", "TKB") != 100) {
        if (nh_now_ms() - t0 > WAIT_MS) fail_msg("TKB's price not usable again");
        nh_sleep_ms(200);
    }
}

/* With every endpoint of alpha needed (quorum 3 of 3), the liar splits the
 * feed reads: no price is noted at all (price_missing, endpoints split), so
 * one endpoint can delay (the price ages out) but never move a price. */
static void test_a_split_feed_read_notes_nothing(void **state)
{
    (void)state;
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    json_t *cfg = nh_node_config(&W, 1);
    assert_non_null(cfg);
    json_object_set_new(cfg_chain(cfg, NH_A), "quorum", json_integer(3));
    NH_OK(nh_node_write_config(&W, 1, cfg));
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    feed_set(NH_A, &feed_x, 2 * FEED_ONE, 0); /* a real move the split hides */
    const char *split[] = {"event=price_missing", "chain=alpha", "asset=TKX", "ENOQUORUM", NULL};
    NH_OK(nh_log_wait(&W, 1, split, 1, WAIT_MS));
    nh_sleep_ms(2500); /* a few more polls */
    const char *noted[] = {"event=price_noted", "vault=alpha", "asset=TKX", NULL};
    char *log = nh_node_log(&W, 1);
    size_t len = strlen(log), at = (size_t)W.node[0].log_mark;
    size_t since = nh_log_count(log + (at <= len ? at : len), noted); /* this run's */
    free(log);
    assert_int_equal(since, 0);
    assert_u128(price_of("alpha", "TKX"), 100, "TKX's price while the reads split");
    assert_string_equal(segment_of("alpha"), "normal");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_window_delays_the_crossing_transfer),
        cmocka_unit_test(test_stale_feed_delays_and_says_why),
        cmocka_unit_test(test_flow_cancel_returns_room_never_past_the_limit),
        cmocka_unit_test(test_price_jump_tightens_this_segment_only_and_survives_restart),
        cmocka_unit_test(test_segment_relax_keeps_operator_limit),
        cmocka_unit_test(test_insane_feed_answers_are_missing),
        cmocka_unit_test(test_a_split_feed_read_notes_nothing),
    };
    return nt_main(argc, argv, 0, "", tests, sizeof tests / sizeof tests[0], setup, teardown);
}
