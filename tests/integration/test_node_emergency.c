/* The Portal's emergency controls on anvil: its owner pauses a lane or the
 * whole Portal (the chain refuses; the node sees it on /metrics and in its
 * log, holds the deliveries without a revert or a park, and delivers them
 * once it is lifted), and ownership moves in two steps.
 * argv[1] = bulkhead, argv[2] = vaultctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bh_portal_admin.h"
#include "test_adversary.h"
#include "../unit/ws_test_client.h"

static int PORT;

static void edit(json_t *cfg)
{
    json_object_set_new(cfg, "metrics", json_pack("{s:s, s:i}", "bind", "127.0.0.1", "port", 0));
}

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8710};
    if (adv_up(o, edit, 1) != 0) return -1;
    return nh_node_metrics_port(&W, 1, WAIT_MS, &PORT);
}

static double paused_gauge(const char *chain, const char *lane)
{
    int st = 0;
    char *body = NULL;
    NH_OK(nh_http_get(PORT, "/metrics", &st, &body));
    assert_int_equal(st, 200);
    char c[64], l[64];
    snprintf(c, sizeof c, "chain=\"%s\"", chain);
    snprintf(l, sizeof l, "lane=\"%s\"", lane);
    const char *labels[] = {c, l, NULL};
    double v = -1;
    if (nh_metric(body, "bulkhead_chain_portal_paused", labels, &v) != 0)
        fail_msg("no bulkhead_chain_portal_paused{%s,%s}", c, l);
    free(body);
    return v;
}

static void wait_gauge(const char *chain, const char *lane, double want)
{
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (paused_gauge(chain, lane) != want) {
        if (nh_now_ms() > end) fail_msg("portal_paused{%s,%s} never %g", chain, lane, want);
        nh_sleep_ms(200);
    }
}

static bh_u128 balance_b(const bh_address *w_tka_b)
{
    bh_u128 v = 0;
    NH_OK(nh_balance(&W, NH_B, w_tka_b, &W.user, &v));
    return v;
}

/* The lock lands on the vault and waits: not delivered, nothing reverted
 * or parked, for a few of the node's delivery rounds. */
static void held_back(const bh_address *w_tka_b, bh_u128 before)
{
    nh_sleep_ms(4000);
    assert_true(balance_b(w_tka_b) == before);
    const char *parked[] = {"event=parked", NULL};
    assert_int_equal(log_count(0, parked), 0);
    const char *reverted[] = {"event=delivery_failed", NULL};
    assert_int_equal(log_count(0, reverted), 0);
}

static void test_lane_pause_holds_and_lifts(void **state)
{
    (void)state;
    bh_address w_tka_b;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(3), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    wait_delivered(NH_B, &w_tka_b, &W.user, nh_units(3), WAIT_MS, "before any pause", NULL);
    assert_true(paused_gauge("beta", "alpha") == 0);

    int ws = -1;
    assert_int_equal(raw_ws_open((uint16_t)PORT, "/ws?kinds=portal", NULL, 0, &ws), 101);
    /* beta's owner pauses the lane from alpha */
    nh_chain *b = &W.ch[NH_B];
    assert_int_equal(
        bh_portal_set_paused(b->deployer, &b->portal, W.ch[NH_A].bridge_id, 1, "drill"), BH_OK);
    const char *seen[] = {"event=portal_paused", "chain=beta", "lane=alpha", NULL};
    expect_log(seen, 1, WAIT_MS);
    wait_gauge("beta", "alpha", 1);
    assert_true(paused_gauge("beta", "all") == 0);
    /* vaultctl shows it from the node store: beta's Portal, alpha's lane */
    const char *pa[] = {"--json", "portals", "beta", NULL};
    char *out = NULL;
    NH_OK(nh_vaultctl(&W, 1, &out, pa));
    json_t *doc = nh_vaultctl_data(out);
    free(out);
    assert_int_equal(json_array_size(doc), 1);
    json_t *bp = json_array_get(doc, 0);
    assert_string_equal(json_string_value(json_object_get(bp, "chain")), "beta");
    assert_false(json_is_true(json_object_get(bp, "paused")));
    json_t *pl = json_object_get(bp, "paused_lanes");
    assert_int_equal(json_array_size(pl), 1);
    assert_int_equal(json_integer_value(json_array_get(pl, 0)), W.ch[NH_A].bridge_id);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(bp, "set"), "signer")), 0);
    json_decref(doc);
    /* and on /ws, as a portal event naming the Portal's chain and the lane */
    unsigned char buf[1 << 16];
    size_t len;
    int got = 0;
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (!got && nh_now_ms() < end && raw_ws_frame(ws, buf, sizeof buf - 1, &len) >= 0) {
        buf[len] = '\0';
        got = strstr((char *)buf, "\"kind\":\"portal\"") &&
              strstr((char *)buf, "\"chain\":\"beta\"") &&
              strstr((char *)buf, "\"to_chain\":\"alpha\"");
    }
    close(ws);
    assert_true(got);
    /* the chain itself refuses the lane: a lock on beta toward alpha */
    bh_address w_back;
    NH_OK(nh_wrapped(&W, NH_B, NH_A, &W.tka, &w_back));
    assert_int_not_equal(nh_burn(&W, NH_B, &w_back, nh_units(1), NH_A, &W.user, 0, NULL), 0);

    bh_u128 before = balance_b(&w_tka_b);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(2), NH_B, &W.user, 0, NULL));
    const char *applied[] = {"event=applied", "status=accepted", NULL};
    expect_log(applied, 2, WAIT_MS);
    held_back(&w_tka_b, before);
    /* a non-owner cannot lift it */
    assert_int_not_equal(
        bh_portal_set_paused(b->attacker, &b->portal, W.ch[NH_A].bridge_id, 0, "let me"), BH_OK);

    assert_int_equal(
        bh_portal_set_paused(b->deployer, &b->portal, W.ch[NH_A].bridge_id, 0, "drill over"),
        BH_OK);
    const char *lifted[] = {"event=portal_unpaused", "chain=beta", "lane=alpha", NULL};
    expect_log(lifted, 1, WAIT_MS);
    wait_gauge("beta", "alpha", 0);
    wait_delivered(NH_B, &w_tka_b, &W.user, before + nh_units(2), WAIT_MS, "after the lane pause",
                   NULL);
}

static void test_whole_pause_holds_and_lifts(void **state)
{
    (void)state;
    bh_address w_tka_b;
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    nh_chain *b = &W.ch[NH_B];
    assert_int_equal(bh_portal_set_paused(b->deployer, &b->portal, 0, 1, "incident"), BH_OK);
    assert_int_not_equal(bh_portal_set_paused(b->deployer, &b->portal, 0, 1, "again"), BH_OK);
    const char *seen[] = {"event=portal_paused", "chain=beta", "lane=all", NULL};
    expect_log(seen, 1, WAIT_MS);
    wait_gauge("beta", "all", 1);
    assert_int_not_equal(nh_lock(&W, NH_B, &W.tkb, nh_units(1), NH_A, &W.user, 0, NULL), 0);

    bh_u128 before = balance_b(&w_tka_b);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(4), NH_B, &W.user, 0, NULL));
    held_back(&w_tka_b, before);
    assert_int_equal(bh_portal_set_paused(b->deployer, &b->portal, 0, 0, "resolved"), BH_OK);
    wait_gauge("beta", "all", 0);
    wait_delivered(NH_B, &w_tka_b, &W.user, before + nh_units(4), WAIT_MS, "after the pause", NULL);
    /* beta's outbound works again */
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(1), NH_A, &W.user, 0, NULL));
}

/* Ownership moves in two steps: named, then accepted by the new owner
 * only; until then the old owner keeps the controls. */
static void test_two_step_ownership(void **state)
{
    (void)state;
    nh_chain *a = &W.ch[NH_A];
    assert_int_not_equal(bh_portal_transfer_ownership(a->attacker, &a->portal, &W.attacker), BH_OK);
    assert_int_equal(bh_portal_transfer_ownership(a->deployer, &a->portal, &W.user), BH_OK);
    /* not accepted yet: the old owner still steers, the named one not yet */
    assert_int_not_equal(bh_portal_set_paused(a->user, &a->portal, 0, 1, "early"), BH_OK);
    assert_int_not_equal(bh_portal_accept_ownership(a->attacker, &a->portal), BH_OK);
    assert_int_equal(bh_portal_accept_ownership(a->user, &a->portal), BH_OK);
    assert_int_not_equal(bh_portal_set_paused(a->deployer, &a->portal, 0, 1, "old owner"), BH_OK);
    assert_int_equal(bh_portal_set_paused(a->user, &a->portal, 0, 1, "new owner"), BH_OK);
    const char *seen[] = {"event=portal_paused", "chain=alpha", "lane=all", NULL};
    expect_log(seen, 1, WAIT_MS);
    assert_int_equal(bh_portal_set_paused(a->user, &a->portal, 0, 0, "new owner"), BH_OK);
    wait_gauge("alpha", "all", 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lane_pause_holds_and_lifts),
        cmocka_unit_test(test_whole_pause_holds_and_lifts),
        cmocka_unit_test(test_two_step_ownership),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
