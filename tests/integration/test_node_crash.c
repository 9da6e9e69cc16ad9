/* Nothing lost, nothing doubled across kill -9 (docs/ARCHITECTURE.md §1.2).
 *
 * A flow of N locks A->B and some burns B->A runs while the node is
 * SIGKILLed at random points (at least KILLS times, a random delay after a
 * transfer was sent, so the kill lands anywhere in watch, apply, sign,
 * submit or ack; or right after the node broadcast a delivery, so it lands
 * between the send and the receipt, with several deliveries in flight:
 * inflight_max 8, 500 ms blocks) and restarted. In the end every transfer is delivered
 * exactly once, judged on chain (recipient balances exact, one Portal
 * Executed log per transfer, no digest twice, every sequence once) and in
 * the vaults (one accept per transfer in the journal, nothing refused,
 * outbox empty, ledger = chains, audit clean). Supply reconciliation runs
 * every second throughout: it reconciles, and no kill makes it see a drift
 * that would quarantine a chain.
 * BH_E2E_SEED=n replays a schedule (the seed is printed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node_test.h"

#define N_LOCKS 30
#define BURN_FROM 10 /* burns start after this many locks */
#define BURN_EVERY 4 /* then one burn every this many locks */
#define KILLS 6

static int setup(void **state)
{
    (void)state;
    nh_opts o = {
        .n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 7400, .block_ms = 500};
    if (nt_world_up(o, 0) != 0) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    json_object_set_new(json_object_get(cfg, "node"), "reconcile_s", json_integer(1));
    /* debug: event=delivery_sent marks a broadcast whose receipt is not in */
    json_object_set_new(json_object_get(cfg, "node"), "log_level", json_string("debug"));
    json_t *chains = json_object_get(cfg, "chains");
    for (size_t i = 0; i < json_array_size(chains); i++)
        json_object_set_new(json_array_get(chains, i), "inflight_max", json_integer(8));
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return nh_node_start(&W, 1, WAIT_MS);
}

static unsigned rnd(unsigned *s, unsigned n)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) % n;
}

/* Wait until the user holds at least `want` of wrapped TKA on B. */
static void wait_at_least(const bh_address *wrapped, bh_u128 want)
{
    uint64_t end = nh_now_ms() + WAIT_MS;
    bh_u128 v = 0;
    while (nh_now_ms() < end) {
        NH_OK(nh_balance(&W, NH_B, wrapped, &W.user, &v));
        if (v >= want) return;
        nh_sleep_ms(20);
    }
    nh_dump_logs(&W, 40);
    fail_msg("user's wrapped TKA on B stays %s, below %s", nh_u128_str(v), nh_u128_str(want));
}

static void test_kill9_mid_flow_delivers_each_transfer_once(void **state)
{
    (void)state;
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("BH_E2E_SEED");
    if (env) seed = (unsigned)strtoul(env, NULL, 10);
    print_message("BH_E2E_SEED=%u\n", seed);
    unsigned s = seed;

    /* KILLS distinct lock indices in [1, N_LOCKS - 2]. */
    int kill_at[N_LOCKS] = {0};
    for (unsigned k = 0; k < KILLS;) {
        unsigned i = 1 + rnd(&s, N_LOCKS - 2);
        if (!kill_at[i]) {
            kill_at[i] = 1;
            k++;
        }
    }

    bh_u128 user_tka0 = 0;
    NH_OK(nh_balance(&W, NH_A, &W.tka, &W.user, &user_tka0));
    bh_u128 locked_sum = 0, burned_sum = 0;
    unsigned burns = 0, kills = 0, mid_flight = 0;
    bh_address wrapped = {{0}};
    for (unsigned i = 0; i < N_LOCKS; i++) {
        bh_u128 amount = nh_units(i + 1);
        NH_OK(nh_lock(&W, NH_A, &W.tka, amount, NH_B, &W.user, 0, NULL));
        locked_sum += amount;
        if (i >= BURN_FROM && (i - BURN_FROM) % BURN_EVERY == 0) {
            if (burns == 0) NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
            wait_at_least(&wrapped, burned_sum + nh_units(1));
            NH_OK(nh_burn(&W, NH_B, &wrapped, nh_units(1), NH_A, &W.user, 0, NULL));
            burned_sum += nh_units(1);
            burns++;
        }
        if (kill_at[i]) {
            unsigned before = rnd(&s, 800), down = rnd(&s, 400);
            if (kills % 2 == 0) {
                /* right after the next broadcast: between send and receipt */
                char *log = nh_node_log(&W, 1);
                const char *sent[] = {"event=delivery_sent", NULL};
                size_t have = nh_log_count(log, sent);
                free(log);
                if (nh_log_wait(&W, 1, sent, have + 1, WAIT_MS) == 0) {
                    before = 0;
                    mid_flight++;
                }
            }
            nh_sleep_ms(before);
            if (!nh_node_running(&W, 1)) {
                nh_dump_logs(&W, 40);
                fail_msg("the node died by itself before kill %u", kills + 1);
            }
            nh_node_kill(&W, 1);
            kills++;
            print_message("kill -9 #%u after transfer %u (+%u ms), down %u ms\n", kills, i, before,
                          down);
            nh_sleep_ms(down);
            NH_OK(nh_node_start(&W, 1, WAIT_MS));
        }
    }
    assert_true(kills >= 3);
    assert_true(mid_flight >= 2);
    if (burns == 0) NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));

    /* Every transfer lands, exactly. */
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, locked_sum - burned_sum, 60000,
                          "all mints on B", NULL));
    NH_OK(nh_wait_balance(&W, NH_A, &W.tka, &W.user, user_tka0 - locked_sum + burned_sum, 60000,
                          "all unlocks on A", NULL));
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);

    /* On chain: one Executed per transfer, every sequence once. */
    nh_executed *ex = NULL;
    size_t n = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &n));
    assert_int_equal(n, N_LOCKS);
    int seen[N_LOCKS] = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ex[i].emitter_chain, 1);
        assert_true(ex[i].sequence < N_LOCKS);
        if (seen[ex[i].sequence]++)
            fail_msg("sequence %llu executed twice on B", (unsigned long long)ex[i].sequence);
        assert_u128(ex[i].amount, nh_units(ex[i].sequence + 1), "executed amount");
        for (size_t k = 0; k < i; k++)
            if (!memcmp(&ex[i].digest, &ex[k].digest, 32)) fail_msg("a digest executed twice");
    }
    free(ex);
    NH_OK(nh_executed_logs(&W, NH_A, &ex, &n));
    assert_int_equal(n, burns);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (ex[i].sequence == ex[k].sequence) fail_msg("a burn executed twice on A");
    free(ex);

    /* In the vaults: applied once each, nothing left to deliver. */
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "accept"), N_LOCKS + burns);
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "reject"), 0);
    assert_int_equal(nh_vault_journal_count(&W, 1, "beta", "accept"), 0);
    size_t depth = 99;
    NH_OK(nh_vault_outbox_depth(&W, 1, "alpha", &depth));
    assert_int_equal(depth, 0);
    NH_OK(nh_vault_outbox_depth(&W, 1, "beta", &depth));
    assert_int_equal(depth, 0);
    json_t *show = nh_vault_show(&W, 1, "alpha");
    assert_non_null(show);
    bh_u128 locked, out[NH_MAX_CHAINS + 1], custody = 0, supply = 0;
    NH_OK(nh_vault_amounts(show, &W.tka, &locked, out));
    json_decref(show);
    NH_OK(nh_balance(&W, NH_A, &W.tka, &W.ch[NH_A].portal, &custody));
    NH_OK(nh_total_supply(&W, NH_B, &wrapped, &supply));
    assert_u128(locked, locked_sum - burned_sum, "vault alpha locked");
    assert_u128(custody, locked, "Portal A custody");
    assert_u128(out[2], supply, "vault alpha outstanding[beta] = wrapped supply on B");
    const char *audit[] = {"audit", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, audit), 0);

    char *log = nh_node_log(&W, 1);
    const char *again[] = {"event=delivered", "outcome=already_done", NULL};
    const char *started[] = {"event=started", NULL};
    const char *reconciled[] = {"event=reconciled", NULL};
    const char *quarantined[] = {"event=quarantined", NULL};
    const char *excess[] = {"event=reconcile_difference", "check=supply", "status=excess", NULL};
    print_message("%u kills (%u right after a broadcast), %zu starts, %zu deliveries found already "
                  "done after a restart, "
                  "%zu reconciliations\n",
                  kills, mid_flight, nh_log_count(log, started), nh_log_count(log, again),
                  nh_log_count(log, reconciled));
    assert_true(nh_log_count(log, reconciled) > 0);
    assert_int_equal(nh_log_count(log, quarantined), 0);
    assert_int_equal(nh_log_count(log, excess), 0);
    free(log);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_mid_flow_delivers_each_transfer_once),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
