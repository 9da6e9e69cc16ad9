/* Issue #12, a chain that stops answering honestly, a chain reset behind
 * the node's back, and breaker counts across a restart. Each case starts
 * its own world and one node:
 *  - gamma's Portal sequence is rewritten (anvil_setStorageAt) and a real
 *    lock re-emits an old sequence, so every poll of gamma fails its
 *    sequence check: within breaker.stall_s (5 s) + 10 s gamma is
 *    quarantined (cause=stalled) in every vault, a lock alpha -> gamma made
 *    after that is not delivered (and stays visible), alpha <-> beta flows;
 *  - the same when gamma's two endpoints (quorum 2) stop agreeing because
 *    one lies in its logs: no quorum for longer than stall_s quarantines it;
 *  - fresh chains on the same ports and chain ids (same addresses) under an
 *    old data_dir holding a pending transfer: the node refuses to start,
 *    within seconds, naming the chain (event=chain_mismatch chain=alpha) and
 *    the fix, and delivers nothing to the new Portals;
 *  - breaker windows survive a restart: with exceeds_outstanding 2 in an
 *    hour, one forged burn before a restart and one after quarantine gamma. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_portal.h"
#include "test_adversary.h"

#define STALL_S 5
#define STALL_MARGIN_MS 10000

static bh_address w_tka_b, w_tka_c, w_tkb_a, w_tkc_a;
static it_fake *fake;

static void reset(void)
{
    memset(&w_tka_b, 0, sizeof w_tka_b);
    memset(&w_tka_c, 0, sizeof w_tka_c);
    memset(&w_tkb_a, 0, sizeof w_tkb_a);
    memset(&w_tkc_a, 0, sizeof w_tkc_a);
}

static void stall_edit(json_t *cfg)
{
    json_object_set_new(json_object_get(cfg, "breaker"), "stall_s", json_integer(STALL_S));
}

ADV_SETUP(setup_stall)
{
    reset();
    nh_opts o = {.n_chains = 3, .n_attesters = 1, .quorum = 1, .tkc = 1, .evm_id_base = 8400};
    return adv_up(o, stall_edit, 1);
}

ADV_SETUP(setup_split)
{
    reset();
    nh_opts o = {.n_chains = 3, .n_attesters = 1, .quorum = 1, .tkc = 1, .evm_id_base = 8430};
    if (adv_up(o, stall_edit, 0) != 0) return -1;
    fake = it_fake_start(IT_FAKE_LIE_LOGS, W.ch[NH_C].anvil.url);
    json_t *cfg = fake ? nh_node_config(&W, 1) : NULL;
    if (!cfg) return -1;
    const char *urls[] = {W.ch[NH_C].anvil.url, it_fake_url(fake), NULL};
    cfg_endpoints(cfg, NH_C, urls, 2);
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return nh_node_start(&W, 1, WAIT_MS);
}

static int teardown_fake(void **state)
{
    nt_teardown(state);
    it_fake_stop(fake);
    fake = NULL;
    return 0;
}

/* Every lane the case needs, warmed up (wrapped tokens exist); with_c_lock:
 * C->A too (a lock on gamma: the node then knows gamma's sequence). */
static void warm_up(int with_c_lock)
{
    if (with_c_lock) NH_OK(nh_lock(&W, NH_C, &W.tkc, nh_units(1), NH_A, &W.user, 0, NULL));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_C, &W.user, 0, NULL));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_B, &W.user, 0, NULL));
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(1), NH_A, &W.user, 0, NULL));
    if (with_c_lock) ADV_OK(nh_wait_wrapped(&W, NH_A, NH_C, &W.tkc, &w_tkc_a, WAIT_MS));
    ADV_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &w_tka_c, WAIT_MS));
    ADV_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    ADV_OK(nh_wait_wrapped(&W, NH_A, NH_B, &W.tkb, &w_tkb_a, WAIT_MS));
    if (with_c_lock)
        wait_delivered(NH_A, &w_tkc_a, &W.user, nh_units(1), WAIT_MS, "warm-up C->A", NULL);
    wait_delivered(NH_C, &w_tka_c, &W.user, nh_units(1), WAIT_MS, "warm-up A->C", NULL);
    wait_delivered(NH_B, &w_tka_b, &W.user, nh_units(1), WAIT_MS, "warm-up A->B", NULL);
    wait_delivered(NH_A, &w_tkb_a, &W.user, nh_units(1), WAIT_MS, "warm-up B->A", NULL);
}

/* Every vault lists exactly chain 3 (gamma) quarantined. */
static void assert_only_gamma_quarantined(void)
{
    const char *args[] = {"list", "--json", NULL};
    json_t *vl = vaultctl_json(args, NULL);
    assert_non_null(vl);
    assert_int_equal(json_array_size(vl), 3);
    size_t i;
    json_t *v;
    json_array_foreach(vl, i, v)
    {
        json_t *q = json_object_get(v, "quarantined");
        if (json_array_size(q) != 1 || json_integer_value(json_array_get(q, 0)) != 3)
            fail_msg("vault %s does not list exactly gamma quarantined",
                     json_string_value(json_object_get(v, "name")));
    }
    json_decref(vl);
    const char *others[] = {"event=quarantined", NULL};
    const char *gamma[] = {"event=quarantined", "chain=gamma", NULL};
    assert_int_equal(log_count(0, others), log_count(0, gamma));
}

/* Gamma stopped answering honestly at t0 (ms): it must be quarantined as
 * stalled within the bound, get nothing delivered, and alpha <-> beta must
 * flow. */
static void gamma_stalled_then_frozen(uint64_t t0, const char *what)
{
    const char *q[] = {"event=quarantined", "chain=gamma", "cause=stalled", NULL};
    uint64_t bound = STALL_S * 1000 + STALL_MARGIN_MS;
    if (nh_log_wait(&W, 1, q, 1, (unsigned)bound) != 0) {
        explain_stall();
        fail_msg("%s: gamma not quarantined as stalled within stall_s %d s + %d ms", what, STALL_S,
                 STALL_MARGIN_MS);
    }
    uint64_t took = nh_now_ms() - t0;
    char line[512];
    log_line("event=quarantined", line, sizeof line);
    print_message("%s: quarantined %llu ms after the chain stopped answering honestly "
                  "(stall_s %d): %s\n",
                  what, (unsigned long long)took, STALL_S, line);
    /* The breaker's control loop freezes every vault right after logging. */
    uint64_t end = nh_now_ms() + 5000;
    for (;;) {
        const char *args[] = {"list", "--json", NULL};
        json_t *vl = vaultctl_json(args, NULL);
        size_t i, frozen = 0;
        json_t *v;
        json_array_foreach(vl, i, v) frozen += json_array_size(json_object_get(v, "quarantined"));
        json_decref(vl);
        if (frozen == 3 || nh_now_ms() > end) break;
        nh_sleep_ms(100);
    }
    assert_only_gamma_quarantined();

    /* Nothing more goes to gamma: the node cursed it on alpha's Portal, so
     * a lock toward it is refused there, the tokens stay with their owner. */
    bh_chain_lane_controls lc;
    uint64_t until = nh_now_ms() + WAIT_MS;
    do {
        assert_int_equal(bh_portal_lane_controls(W.ch[NH_A].rpc, &lc, NULL, &W.ch[NH_A].portal,
                                                 W.ch[NH_C].bridge_id),
                         BH_OK);
        if (!lc.cursed) nh_sleep_ms(200);
    } while (!lc.cursed && nh_now_ms() < until);
    assert_true(lc.cursed);
    bh_u128 on_gamma = balance(NH_C, &w_tka_c, &W.user);
    bh_u128 mine = balance(NH_A, &W.tka, &W.user);
    assert_int_not_equal(nh_lock(&W, NH_A, &W.tka, nh_units(2), NH_C, &W.user, 0, NULL), 0);
    assert_u128(balance(NH_A, &W.tka, &W.user), mine, "TKA of a lock refused toward cursed gamma");
    /* alpha <-> beta keeps flowing meanwhile. */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(3), NH_B, &W.user, 0, NULL));
    wait_delivered(NH_B, &w_tka_b, &W.user, nh_units(4), WAIT_MS, "A->B while gamma is frozen",
                   NULL);
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(3), NH_A, &W.user, 0, NULL));
    wait_delivered(NH_A, &w_tkb_a, &W.user, nh_units(4), WAIT_MS, "B->A while gamma is frozen",
                   NULL);
    assert_u128(balance(NH_C, &w_tka_c, &W.user), on_gamma, "wrapped TKA on gamma while frozen");
}

/* ---- the sequence rewrite ---- */

static uint64_t portal_sequence(size_t chain)
{
    unsigned char sel[4], *ret = NULL;
    size_t len = 0;
    bh_abi_selector(sel, "sequence()");
    if (bh_evm_call(W.ch[chain].rpc, &ret, &len, &W.ch[chain].portal, sel, 4) != BH_OK)
        fail_msg("sequence() on %s failed", W.ch[chain].name);
    uint64_t s = 0;
    int rc = bh_abi_read_u64(&s, ret, len, 0);
    free(ret);
    assert_int_equal(rc, BH_OK);
    return s;
}

static void storage_rw(size_t chain, unsigned slot, unsigned char v[32], int write)
{
    char p[43], sl[19], hex[67] = "0x";
    addr_hex(p, &W.ch[chain].portal);
    bh_rpc_format_quantity(sl, slot);
    json_t *r;
    if (write) {
        bh_hex_encode(hex + 2, v, 32);
        r = it_rpc(W.ch[chain].anvil.url, "anvil_setStorageAt", json_pack("[s,s,s]", p, sl, hex));
    } else {
        r = it_rpc(W.ch[chain].anvil.url, "eth_getStorageAt",
                   json_pack("[s,s,s]", p, sl, "latest"));
        size_t got = 0;
        const char *s = json_string_value(r);
        if (!s || bh_hex_decode(v, 32, &got, s + 2, strlen(s) - 2) != BH_OK || got != 32)
            fail_msg("eth_getStorageAt slot %u unreadable", slot);
    }
    if (!r) fail_msg("storage %s of slot %u failed", write ? "write" : "read", slot);
    json_decref(r);
}

/* Rewrite Portal(chain).sequence to `to`. The field is found in storage, not
 * assumed: the 8 big-endian bytes that hold the current sequence, confirmed
 * by writing a probe value and reading sequence() back. */
static void rewrite_sequence(size_t chain, uint64_t to)
{
    uint64_t cur = portal_sequence(chain);
    for (unsigned slot = 0; slot < 16; slot++) {
        unsigned char v[32], orig[32];
        storage_rw(chain, slot, orig, 0);
        for (int off = 24; off >= 0; off--) { /* bytes v[off..off+8) */
            uint64_t x = 0;
            for (int b = 0; b < 8; b++)
                x = x << 8 | orig[off + b];
            if (x != cur) continue;
            memcpy(v, orig, 32);
            uint64_t probe_v = cur + 1000003;
            for (int b = 0; b < 8; b++)
                v[off + b] = (unsigned char)(probe_v >> (8 * (7 - b)));
            storage_rw(chain, slot, v, 1);
            if (portal_sequence(chain) != probe_v) {
                storage_rw(chain, slot, orig, 1);
                continue;
            }
            for (int b = 0; b < 8; b++)
                v[off + b] = (unsigned char)(to >> (8 * (7 - b)));
            storage_rw(chain, slot, v, 1);
            assert_int_equal(portal_sequence(chain), to);
            print_message("Portal sequence on %s: slot %u bytes %d..%d, %llu rewritten to %llu\n",
                          W.ch[chain].name, slot, off, off + 7, (unsigned long long)cur,
                          (unsigned long long)to);
            return;
        }
    }
    fail_msg("the Portal's sequence is not in its first 16 storage slots");
}

static void test_sequence_rewrite_quarantines_gamma_within_the_bound(void **state)
{
    (void)state;
    warm_up(1);
    uint64_t seq = portal_sequence(NH_C);
    assert_true(seq >= 1);
    rewrite_sequence(NH_C, seq - 1);
    /* A real lock now re-emits sequence seq - 1, which the node has seen. */
    NH_OK(nh_lock(&W, NH_C, &W.tkc, nh_units(5), NH_A, &W.user, 0, NULL));
    gamma_stalled_then_frozen(nh_now_ms(), "sequence rewrite on gamma");
}

static void test_no_quorum_beyond_the_bound_quarantines_gamma(void **state)
{
    (void)state;
    warm_up(0);
    /* A lock on gamma: its logs are where the two endpoints now differ. */
    NH_OK(nh_lock(&W, NH_C, &W.tkc, nh_units(5), NH_A, &W.user, 0, NULL));
    gamma_stalled_then_frozen(nh_now_ms(), "gamma's endpoints split (quorum 2 of 2)");
}

/* ---- fresh chains under an old data_dir ---- */

static void big_edit(json_t *cfg)
{
    cfg_set_limit(cfg, NH_A, "TKA", "big_threshold", nh_u128_str(nh_units(50)));
    cfg_set_limit(cfg, NH_A, "TKA", "big_delay", "3600");
}

ADV_SETUP(setup_reset)
{
    reset();
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8410};
    return adv_up(o, big_edit, 1);
}

static void test_fresh_chains_under_old_data_dir_refused_by_name(void **state)
{
    (void)state;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_B, &W.user, 0, NULL));
    ADV_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    wait_delivered(NH_B, &w_tka_b, &W.user, nh_units(1), WAIT_MS, "A->B before the reset", NULL);
    /* A big transfer waits an hour in pending. */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(100), NH_B, &W.user, 0, NULL));
    const char *delayed[] = {"event=applied", "vault=alpha from=alpha", "status=delayed",
                             "cause=big", NULL};
    expect_log(delayed, 1, WAIT_MS);
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    /* ...and is made due now, so a node that starts would deliver it. */
    const char *pargs[] = {"pending", "--json", NULL};
    json_t *pl = vaultctl_json(pargs, NULL);
    assert_int_equal(json_array_size(pl), 1);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_array_get(pl, 0), "id")));
    json_decref(pl);
    const char *rt[] = {"retime", id, "0", "--reason", "due now", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, rt), 0);

    /* The chains are reset behind the node's back. */
    int port_a = W.ch[NH_A].anvil.port;
    NH_OK(nh_world_restart_chains(&W));
    assert_int_equal(W.ch[NH_A].anvil.port, port_a);
    nh_executed *ex = NULL;
    size_t n_ex = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &n_ex));
    free(ex);
    assert_int_equal(n_ex, 0);

    uint64_t t0 = nh_now_ms();
    int started = nh_node_start(&W, 1, 15000) == 0;
    uint64_t end = t0 + 10000;
    while (nh_node_running(&W, 1) && nh_now_ms() < end)
        nh_sleep_ms(50);
    int running = nh_node_running(&W, 1);
    uint64_t took = nh_now_ms() - t0;
    if (running) nh_sleep_ms(2000); /* what would it deliver? */
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &n_ex));
    free(ex);
    char line[512];
    log_line("event=chain_mismatch", line, sizeof line);
    print_message("node on fresh chains: %s, %s after %llu ms (status %d); %zu old transfers "
                  "executed on the new beta Portal; %s\n",
                  started ? "started" : "refused to start", running ? "still running" : "exited",
                  (unsigned long long)took, W.node[0].exit_status, n_ex,
                  line[0] ? line : "no event=chain_mismatch");
    if (n_ex) fail_msg("%zu old transfers were delivered to the new beta Portal", n_ex);
    if (running) fail_msg("the node runs on fresh chains under the old data_dir");
    if (W.node[0].exit_status == 0) fail_msg("the node exited 0 on fresh chains");
    const char *mismatch[] = {"event=chain_mismatch", "chain=alpha", NULL};
    if (log_count(1, mismatch) == 0) fail_msg("no event=chain_mismatch chain=alpha in the log");
    if (!strstr(line, "data_dir") && !strstr(line, "data dir"))
        fail_msg("the refusal does not say how to fix it: %s", line);
}

/* ---- breaker windows across a restart ---- */

static void window_edit(json_t *cfg)
{
    json_t *b = json_object_get(cfg, "breaker");
    json_object_set_new(b, "window_s", json_integer(3600));
    json_object_set_new(b, "forged_burn", json_integer(2));
}

ADV_SETUP(setup_window)
{
    reset();
    nh_opts o = {.n_chains = 3, .n_attesters = 1, .quorum = 1, .rogue_c = 1, .evm_id_base = 8420};
    return adv_up(o, window_edit, 1);
}

static void test_breaker_window_survives_a_restart(void **state)
{
    (void)state;
    const bh_u128 X = nh_units(10);
    NH_OK(nh_lock(&W, NH_A, &W.tka, X, NH_C, &W.user, 0, NULL));
    ADV_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &w_tka_c, WAIT_MS));
    wait_delivered(NH_C, &w_tka_c, &W.user, X, WAIT_MS, "A->C", NULL);
    /* One forged burn: refused on its receipt, counted, one short of the
     * threshold. */
    NH_OK(nh_rogue_forge(&W, 1, &W.tka, 1, NH_A, &W.attacker, 10 * X, 0));
    const char *refused[] = {"event=rejected", "vault=alpha from=gamma", "reason=forged_burn",
                             NULL};
    expect_log(refused, 1, WAIT_MS);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_C, &W.user, 0, NULL));
    wait_delivered(NH_C, &w_tka_c, &W.user, X + nh_units(1), WAIT_MS, "A->C after one report",
                   NULL);
    assert_no_quarantine("one forged burn, threshold 2");
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    /* The second, after the restart, is the one that trips it. */
    NH_OK(nh_rogue_forge(&W, 1, &W.tka, 1, NH_A, &W.attacker, 10 * X, 0));
    const char *q[] = {"event=quarantined", "chain=gamma", "cause=forged_burn", NULL};
    if (nh_log_wait(&W, 1, q, 1, WAIT_MS) != 0)
        fail_msg("the report before the restart was forgotten: gamma not quarantined by the "
                 "second forged burn (forged_burn 2 in %d s)",
                 3600);
    char line[512];
    log_line("event=quarantined", line, sizeof line);
    print_message("after the restart: %s\n", line);
    assert_u128(balance(NH_A, &W.tka, &W.attacker), 0, "the attacker's TKA on alpha");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sequence_rewrite_quarantines_gamma_within_the_bound,
                                        setup_stall, nt_teardown),
        cmocka_unit_test_setup_teardown(test_no_quorum_beyond_the_bound_quarantines_gamma,
                                        setup_split, teardown_fake),
        cmocka_unit_test_setup_teardown(test_fresh_chains_under_old_data_dir_refused_by_name,
                                        setup_reset, nt_teardown),
        cmocka_unit_test_setup_teardown(test_breaker_window_survives_a_restart, setup_window,
                                        nt_teardown),
    };
    return ADV_MAIN(argc, argv, tests);
}
