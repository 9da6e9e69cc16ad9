/* The curse on anvil: three nodes, a 2-of-3 attester set, chain C (gamma)
 * running a RoguePortal. One forged burn trips one node's breaker and C
 * is cursed on A's and B's Portals within a delivery round; with two of
 * the three attester keys stolen, a mint from C signed by them is refused
 * there, and a lift the thief votes with those keys is vetoed by the
 * nodes whose alarm still stands before it comes due; an operator's
 * unfreeze on one node does not lift the curse, on the quorum of nodes it
 * does, after the lift delay.
 * argv[1] = bulkhead, argv[2] = vaultctl. */
#include <string.h>
#include <time.h>

#include "bh_be.h"
#include "bh_portal.h"
#include "bh_portal_admin.h"
#include "bh_vaa.h"
#include "node_test.h"

#define LIFT_S 16 /* the Portals' lift delay in this test */

static int setup(void **state)
{
    (void)state;
    nh_opts o = {
        .n_chains = 3, .n_attesters = 3, .quorum = 2, .rogue_c = 1, .tkc = 1, .evm_id_base = 8930};
    if (nt_world_up(o, 0) != 0) return -1;
    for (unsigned id = 2; id <= 3; id++)
        if (nh_node_prepare(&W, id, id - 1, NULL) != 0) return -1;
    if (nh_node_enable_metrics(&W, 1) != 0) return -1;
    for (size_t c = NH_A; c <= NH_B; c++)
        if (bh_portal_set_curse_params(W.ch[c].deployer, &W.ch[c].portal, 1, LIFT_S) != BH_OK)
            return -1;
    for (unsigned id = 1; id <= 3; id++)
        if (nh_node_start(&W, id, WAIT_MS) != 0) return -1;
    return 0;
}

typedef bh_chain_lane_controls lane_ctl;

/* Portal.laneControls(C) on chain `on`. */
static lane_ctl controls(size_t on, size_t of)
{
    lane_ctl l;
    assert_int_equal(
        bh_portal_lane_controls(W.ch[on].rpc, &l, NULL, &W.ch[on].portal, W.ch[of].bridge_id),
        BH_OK);
    return l;
}

/* Wait until C's state on chain `on` is cursed (and lifting) as asked. */
static lane_ctl wait_controls(size_t on, int cursed, int lifting, unsigned ms, const char *what)
{
    uint64_t end = nh_now_ms() + ms;
    lane_ctl l;
    for (;;) {
        l = controls(on, NH_C);
        if (l.cursed == cursed && l.lifting == lifting) return l;
        if (nh_now_ms() > end) {
            nh_dump_logs(&W, 30);
            fail_msg("%s: gamma on %s is cursed=%d lifting=%d round=%llu, waited for %d/%d", what,
                     W.ch[on].name, l.cursed, l.lifting, (unsigned long long)l.round, cursed,
                     lifting);
        }
        nh_sleep_ms(200);
    }
}

/* A mint on B from C that C never sent: wrapped TKA to the attacker,
 * signed by attesters 0 and 1 (the stolen keys). Returns the revert. */
static int forged_mint(uint64_t sequence, char *why, size_t cap)
{
    unsigned char body[BH_VAA_BODY_FIXED + BH_TRANSFER_LEN];
    memset(body, 0, sizeof body);
    bh_be_put_u32(body, 1700000000u);
    bh_be_put_u16(body + 8, W.ch[NH_C].bridge_id);
    bh_bytes32 e;
    bh_address_to_bytes32(&e, &W.ch[NH_C].portal);
    memcpy(body + 10, e.data, 32);
    bh_be_put_u64(body + 42, sequence);
    unsigned char *p = body + BH_VAA_BODY_FIXED;
    p[0] = 1;
    bh_be_put_u128(p + 17, nh_units(1000)); /* far more than C was ever sent */
    bh_bytes32 t, to;
    bh_address_to_bytes32(&t, &W.tka);
    bh_address_to_bytes32(&to, &W.attacker);
    memcpy(p + 33, t.data, 32);
    bh_be_put_u16(p + 65, W.ch[NH_A].bridge_id);
    memcpy(p + 67, to.data, 32);
    bh_be_put_u16(p + 99, W.ch[NH_B].bridge_id);
    bh_hash32 digest;
    bh_vaa_digest(&digest, body, sizeof body);
    bh_vaa_sig sigs[2];
    for (unsigned i = 0; i < 2; i++) {
        sigs[i].signer_index = (uint8_t)i;
        assert_int_equal(bh_attest_sign(W.ctx, sigs[i].rs, &sigs[i].v, &digest, &W.att[i]), BH_OK);
    }
    unsigned char vaa[512];
    size_t vlen = 0;
    assert_int_equal(bh_vaa_serialize(vaa, sizeof vaa, &vlen, 0, sigs, 2, body, sizeof body),
                     BH_OK);
    bh_submit_outcome oc;
    unsigned approvals = 0;
    bh_evm_sender *s = W.ch[NH_B].attacker;
    int rc = bh_portal_submit(s, &oc, &approvals, &W.ch[NH_B].portal, vaa, vlen);
    snprintf(why, cap, "%s", bh_evm_sender_last_error(s));
    return rc;
}

/* The thief votes with the stolen keys (attesters 0 and 1) on B's Portal. */
static int thief_vote(uint64_t round, int curse)
{
    unsigned char sigs[2 * 66];
    bh_hash32 d;
    bh_portal_curse_digest(&d, W.ch[NH_B].bridge_id, &W.ch[NH_B].portal, 0, W.ch[NH_C].bridge_id,
                           round, curse);
    for (unsigned i = 0; i < 2; i++) {
        sigs[i * 66] = (unsigned char)i;
        assert_int_equal(
            bh_attest_sign(W.ctx, sigs + i * 66 + 1, &sigs[i * 66 + 65], &d, &W.att[i]), BH_OK);
    }
    bh_abi a;
    bh_abi_init(&a, "vote(uint16,uint64,bool,string,bytes)", 5);
    bh_abi_uint(&a, W.ch[NH_C].bridge_id);
    bh_abi_uint(&a, round);
    bh_abi_uint(&a, curse ? 1 : 0);
    bh_abi_string(&a, "all clear, trust me");
    bh_abi_bytes(&a, sigs, sizeof sigs);
    return nh_send_call(W.ch[NH_B].attacker, NULL, &W.ch[NH_B].portal, &a, "thief's vote");
}

/* Wait until the three nodes' logs hold at least n lines with needles. */
static void wait_any_node(const char *const *needles, size_t n, const char *what)
{
    uint64_t end = nh_now_ms() + WAIT_MS;
    size_t have = 0;
    while ((have = 0, 1)) {
        for (unsigned id = 1; id <= 3; id++) {
            char *log = nh_node_log(&W, id);
            have += nh_log_count(log, needles);
            free(log);
        }
        if (have >= n) return;
        if (nh_now_ms() > end) {
            nh_dump_logs(&W, 30);
            fail_msg("%s: %zu of %zu log lines", what, have, n);
        }
        nh_sleep_ms(200);
    }
}

/* gamma's Portal, compromised, reports alpha cursed: it holds what goes to
 * gamma from alpha and nothing else; no node takes it for evidence (run
 * last: it holds alpha->gamma for good). */
static void test_a_forged_curse_freezes_nothing(void **state)
{
    (void)state;
    bh_abi a;
    bh_abi_init(&a, "forgeCurse(uint16)", 1);
    bh_abi_uint(&a, W.ch[NH_A].bridge_id);
    NH_OK(nh_send_call(W.ch[NH_C].attacker, NULL, &W.ch[NH_C].portal, &a, "forgeCurse"));
    const char *seen[] = {"event=portal_curse", "chain=gamma", "cursed=alpha", "state=cursed",
                          NULL};
    for (unsigned id = 1; id <= 3; id++)
        NH_OK(nh_log_wait(&W, id, seen, 1, WAIT_MS));
    bh_address w_tka_b;
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    bh_u128 before = balance(NH_B, &w_tka_b, &W.user);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_B, &w_tka_b, &W.user, before + nh_units(1), WAIT_MS,
                          "alpha->beta after gamma's forged curse", NULL));
    const char *q[] = {"event=quarantined", "chain=alpha", NULL};
    const char *v[] = {"event=curse_voted", "chain=alpha", NULL};
    for (unsigned id = 1; id <= 3; id++) {
        char *log = nh_node_log(&W, id);
        assert_int_equal(nh_log_count(log, q), 0);
        assert_int_equal(nh_log_count(log, v), 0);
        free(log);
        json_t *show = nh_vault_show(&W, id, "alpha");
        assert_non_null(show);
        assert_int_equal(json_array_size(json_object_get(show, "quarantined")), 0);
        json_decref(show);
    }
    assert_false(controls(NH_B, NH_A).cursed);
}

static void test_one_trip_curses_within_a_round(void **state)
{
    (void)state;
    bh_address w_tka_c;
    const bh_u128 X = nh_units(10);
    NH_OK(nh_lock(&W, NH_A, &W.tka, X, NH_C, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &w_tka_c, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_C, &w_tka_c, &W.user, X, WAIT_MS, "TKA A->C", NULL));
    assert_false(controls(NH_A, NH_C).cursed);
    assert_false(controls(NH_B, NH_C).cursed);

    /* one node alone sees it: its breaker's trip is enough */
    NH_OK(nh_node_stop(&W, 2, WAIT_MS));
    NH_OK(nh_node_stop(&W, 3, WAIT_MS));
    /* gamma forges a burn of what A sent it, many times over */
    NH_OK(nh_rogue_forge(&W, 1, &W.tka, W.ch[NH_A].bridge_id, NH_A, &W.attacker, 100 * X, 0));
    const char *tripped[] = {"event=quarantined", "chain=gamma", NULL};
    NH_OK(nh_log_wait(&W, 1, tripped, 1, WAIT_MS));
    uint64_t t0 = nh_now_ms();
    /* one delivery round: the vote goes at the deliverer's next pass */
    wait_controls(NH_A, 1, 0, 10000, "curse on alpha");
    wait_controls(NH_B, 1, 0, 10000, "curse on beta");
    print_message("cursed on alpha and beta %llu ms after the trip\n",
                  (unsigned long long)(nh_now_ms() - t0));
    /* node 1's vote on each Portal was enough */
    const char *voted[] = {"event=curse_voted", "chain=gamma", "vote=curse", NULL};
    NH_OK(nh_log_wait(&W, 1, voted, 2, WAIT_MS));
    /* the other two, back, read the same forged burn and trip too; every
     * node says what the Portals hold */
    NH_OK(nh_node_start(&W, 2, WAIT_MS));
    NH_OK(nh_node_start(&W, 3, WAIT_MS));
    const char *seen[] = {"event=portal_curse", "cursed=gamma", "state=cursed", NULL};
    for (unsigned id = 1; id <= 3; id++) {
        NH_OK(nh_log_wait(&W, id, tripped, 1, WAIT_MS));
        NH_OK(nh_log_wait(&W, id, seen, 2, WAIT_MS));
    }
    /* /metrics says so too */
    int port = 0, st = 0;
    char *body = NULL;
    NH_OK(nh_node_metrics_port(&W, 1, WAIT_MS, &port));
    uint64_t end = nh_now_ms() + WAIT_MS;
    double v = 0;
    const char *labels[] = {"chain=\"beta\"", "lane=\"gamma\"", NULL};
    const char *honest[] = {"chain=\"beta\"", "lane=\"alpha\"", NULL};
    for (;;) {
        NH_OK(nh_http_get(port, "/metrics", &st, &body));
        assert_int_equal(st, 200);
        if (nh_metric(body, "bulkhead_chain_portal_cursed", labels, &v) == 0 && v == 1) break;
        free(body);
        if (nh_now_ms() > end) fail_msg("bulkhead_chain_portal_cursed{beta,gamma} never 1");
        nh_sleep_ms(250);
    }
    assert_int_equal(nh_metric(body, "bulkhead_chain_portal_cursed", honest, &v), 0);
    assert_true(v == 0);
    free(body);
    /* the chains refuse what goes toward gamma too */
    assert_int_not_equal(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_C, &W.user, 0, NULL), 0);
}

static void test_stolen_keys_cannot_lift_and_mint(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(forged_mint(900001, why, sizeof why), BH_EREVERTED);
    assert_non_null(strstr(why, "cursed"));

    /* the thief lifts with the two keys: announced, not in force */
    lane_ctl l = controls(NH_B, NH_C);
    assert_true(l.cursed && !l.lifting);
    NH_OK(thief_vote(l.round, 0));
    l = controls(NH_B, NH_C);
    assert_true(l.cursed && l.lifting);
    assert_int_equal(forged_mint(900002, why, sizeof why), BH_EREVERTED);
    assert_non_null(strstr(why, "cursed"));
    uint64_t due = l.lift_at;

    /* the nodes' alarms still stand: they veto at half the delay */
    l = wait_controls(NH_B, 1, 0, (LIFT_S / 2 + 10) * 1000u, "veto of the thief's lift");
    const char *veto[] = {"event=curse_voted", "portal=beta", "vote=curse", NULL};
    wait_any_node(veto, 2, "the first curse and the veto");
    /* past the time the lift was due: still cursed, the mint still refused */
    while ((uint64_t)time(NULL) <= due + 1)
        nh_sleep_ms(250);
    assert_true(controls(NH_B, NH_C).cursed);
    assert_int_equal(forged_mint(900003, why, sizeof why), BH_EREVERTED);
    assert_non_null(strstr(why, "cursed"));
    /* the thief's votes cannot curse or lift out of turn either */
    assert_int_not_equal(thief_vote(l.round + 5, 0), 0);
}

static void unfreeze(unsigned id)
{
    const char *args[] = {"unfreeze", "gamma", "--reason", "gamma rebuilt", NULL};
    char *out = NULL;
    NH_OK(nh_vaultctl(&W, id, &out, args));
    free(out);
}

static void test_lift_needs_the_quorum_of_nodes(void **state)
{
    (void)state;
    unfreeze(1);
    const char *lift[] = {"event=curse_voted", "portal=beta", "vote=lift", NULL};
    NH_OK(nh_log_wait(&W, 1, lift, 1, WAIT_MS));
    nh_sleep_ms(4000); /* one node of a 2-of-3 set: not enough */
    lane_ctl l = controls(NH_B, NH_C);
    assert_true(l.cursed && !l.lifting);

    /* the other two operators: the quorum lifts, after the delay, and no
     * alarm is left to veto it */
    unfreeze(2);
    unfreeze(3);
    wait_controls(NH_B, 1, 1, WAIT_MS, "lift announced on beta");
    wait_controls(NH_A, 1, 1, WAIT_MS, "lift announced on alpha");
    wait_controls(NH_B, 0, 0, (LIFT_S + 20) * 1000u, "lift in force on beta");
    wait_controls(NH_A, 0, 0, (LIFT_S + 20) * 1000u, "lift in force on alpha");
    const char *lifted[] = {"event=portal_curse", "cursed=gamma", "state=lifted", NULL};
    NH_OK(nh_log_wait(&W, 1, lifted, 2, WAIT_MS));
    /* what goes toward gamma is taken again */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_C, &W.user, 0, NULL));
}

/* A rotation that retires the old set at once (--grace 0, a stolen key)
 * drops the approvals given under it: a node signs again, under the new
 * set, what it had approved and what has not executed. */
static void test_rotation_without_grace_resigns(void **state)
{
    (void)state;
    bh_address w_tka_b;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &w_tka_b, &W.user, nh_units(1), WAIT_MS, "before", NULL));
    NH_OK(nh_node_stop(&W, 2, WAIT_MS));
    NH_OK(nh_node_stop(&W, 3, WAIT_MS));
    bh_u128 before = balance(NH_B, &w_tka_b, &W.user);
    const char *approved[] = {"event=delivered", "to=beta", "outcome=approved", NULL};
    char *log = nh_node_log(&W, 1);
    size_t had = nh_log_count(log, approved);
    free(log);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(2), NH_B, &W.user, 0, NULL));
    NH_OK(nh_log_wait(&W, 1, approved, had + 1, WAIT_MS));
    /* set 1: the same keys in another order, every index moves */
    bh_address set1[3] = {W.att_addr[2], W.att_addr[0], W.att_addr[1]};
    assert_int_equal(
        bh_portal_set_attesters(W.ch[NH_B].deployer, &W.ch[NH_B].portal, 1, set1, 3, 2, 0), BH_OK);
    const char *seen[] = {"event=attester_set", "chain=beta", "set=1", "signer=1", NULL};
    NH_OK(nh_log_wait(&W, 1, seen, 1, WAIT_MS));
    const char *again[] = {"event=resigned", "to=beta", "set=1", "outcome=approved", NULL};
    NH_OK(nh_log_wait(&W, 1, again, 1, WAIT_MS));
    assert_true(balance(NH_B, &w_tka_b, &W.user) == before); /* one approval: not yet */
    /* a second node, started after the rotation, signs from its new place */
    NH_OK(nh_node_start(&W, 2, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &w_tka_b, &W.user, before + nh_units(2), WAIT_MS,
                          "the transfer half-approved under the retired set", NULL));
    nh_executed *ex = NULL;
    size_t n = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &n));
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_memory_not_equal(ex[i].digest.data, ex[j].digest.data, 32);
    free(ex);
    NH_OK(nh_node_start(&W, 3, WAIT_MS));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_trip_curses_within_a_round),
        cmocka_unit_test(test_stolen_keys_cannot_lift_and_mint),
        cmocka_unit_test(test_lift_needs_the_quorum_of_nodes),
        cmocka_unit_test(test_rotation_without_grace_resigns),
        cmocka_unit_test(test_a_forged_curse_freezes_nothing),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
