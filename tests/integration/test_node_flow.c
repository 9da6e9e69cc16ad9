/* The node end to end on three anvil chains (A alpha, B beta, C gamma), one
 * node, Portals 1-of-1:
 *  - lock TKA on A -> wrapped TKA minted on B (recipient gets amount - fee,
 *    the executing relayer the fee, as the Portal pays it);
 *  - burn wrapped TKA on B -> TKA unlocked on A;
 *  - a hop: burn wrapped TKA on B towards C -> minted on C, and its notice
 *    delivered to A, whose Portal moves outstanding from B to C;
 *  - TKB from B to A (a second vault);
 *  - the vault ledgers agree with the chains (locked = the home Portal's
 *    custody, outstanding[D] = wrapped supply on D) and `vaultctl audit`
 *    is clean;
 *  - SIGTERM exits 0; after a restart a new transfer flows and nothing is
 *    delivered again.
 * The return home of hopped supply, and a forged hop, are test_node_hops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test.h" /* cmocka first: bh_test_proc.h asserts with it */

#include "bh_hex.h"
#include "bh_test_proc.h"
#include "it_harness.h"
#include <strings.h>

static bh_address wrapped_a_on_b, wrapped_a_on_c, wrapped_b_on_a;
static bh_u128 user_tka0; /* the user's TKA on A before anything */

static size_t delivered_lines(void)
{
    char *log = nh_node_log(&W, 1);
    const char *needles[] = {"event=delivered", NULL};
    size_t n = nh_log_count(log, needles);
    free(log);
    return n;
}

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 3, .n_attesters = 1, .quorum = 1, .evm_id_base = 7100};
    if (nt_world_up(o, 0) != 0) return -1;
    return nh_balance(&W, NH_A, &W.tka, &W.user, &user_tka0);
}

/* `bulkhead check` accepts the config the harness writes. */
static void test_config_checks(void **state)
{
    (void)state;
    bh_proc_result *r = malloc(sizeof *r);
    assert_non_null(r);
    char *argv[] = {(char *)bin_bulkhead, "check", "-c", W.node[0].cfg, NULL};
    bh_proc_run(r, argv, NULL);
    if (r->status != 0) fail_msg("bulkhead check exited %d: %s%s", r->status, r->out, r->err);
    free(r);
}

static void test_lock_return_hop(void **state)
{
    (void)state;
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    const bh_address *relayer = &W.node[0].tx_addr;

    /* Lock 100 TKA on A towards B, fee 1: user gets 99, the relayer 1. */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(100), NH_B, &W.user, nh_units(1), NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped_a_on_b, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped_a_on_b, &W.user, nh_units(99), WAIT_MS,
                          "A->B mint to the user", NULL));
    assert_u128(balance(NH_B, &wrapped_a_on_b, relayer), nh_units(1), "fee to the relayer on B");
    assert_u128(supply(NH_B, &wrapped_a_on_b), nh_units(100), "wrapped TKA supply on B");

    /* Lock 50 TKA on A towards C, no fee. */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(50), NH_C, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &wrapped_a_on_c, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_C, &wrapped_a_on_c, &W.user, nh_units(50), WAIT_MS,
                          "A->C mint to the user", NULL));

    /* Burn 30 wrapped TKA on B going home, fee 2: 28 to the user on A. */
    NH_OK(nh_burn(&W, NH_B, &wrapped_a_on_b, nh_units(30), NH_A, &W.user, nh_units(2), NULL));
    NH_OK(nh_wait_balance(&W, NH_A, &W.tka, &W.user, user_tka0 - nh_units(150) + nh_units(28),
                          WAIT_MS, "B->A unlock to the user", NULL));
    assert_u128(balance(NH_A, &W.tka, relayer), nh_units(2), "fee to the relayer on A");

    /* Before any hop, every lane of vault A equals the Portal's own view. */
    bh_u128 locked, out[NH_MAX_CHAINS + 1];
    vault_amounts("alpha", &W.tka, &locked, out);
    assert_u128(locked, nh_units(120), "vault alpha locked");
    assert_u128(out[2], nh_units(70), "vault alpha outstanding[beta]");
    assert_u128(out[3], nh_units(50), "vault alpha outstanding[gamma]");
    assert_u128(balance(NH_A, &W.tka, &W.ch[NH_A].portal), locked, "Portal A custody");
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_B), out[2], "Portal A outstanding[beta]");
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_C), out[3], "Portal A outstanding[gamma]");
    assert_u128(supply(NH_B, &wrapped_a_on_b), out[2], "wrapped TKA supply on B");
    assert_u128(supply(NH_C, &wrapped_a_on_c), out[3], "wrapped TKA supply on C");

    /* Hop: burn 20 wrapped TKA on B towards C. */
    NH_OK(nh_burn(&W, NH_B, &wrapped_a_on_b, nh_units(20), NH_C, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_C, &wrapped_a_on_c, &W.user, nh_units(70), WAIT_MS,
                          "B->C hop mint to the user", NULL));
    assert_u128(balance(NH_B, &wrapped_a_on_b, &W.user), nh_units(49), "user's wrapped TKA on B");

    /* TKB, home B, to A: the second vault. */
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(10), NH_A, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_A, NH_B, &W.tkb, &wrapped_b_on_a, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_A, &wrapped_b_on_a, &W.user, nh_units(10), WAIT_MS,
                          "B->A TKB mint", NULL));

    /* Vault A after the hop: supply moved from lane beta to lane gamma, and
     * so did A's Portal once the hop's notice was delivered to it. */
    vault_amounts("alpha", &W.tka, &locked, out);
    assert_u128(locked, nh_units(120), "vault alpha locked after the hop");
    assert_u128(out[2], nh_units(50), "vault alpha outstanding[beta] after the hop");
    assert_u128(out[3], nh_units(70), "vault alpha outstanding[gamma] after the hop");
    assert_u128(out[1], 0, "vault alpha outstanding[alpha]");
    assert_u128(supply(NH_B, &wrapped_a_on_b), out[2], "wrapped TKA supply on B after the hop");
    assert_u128(supply(NH_C, &wrapped_a_on_c), out[3], "wrapped TKA supply on C after the hop");
    assert_u128(balance(NH_A, &W.tka, &W.ch[NH_A].portal), locked, "Portal A custody");
    const char *notice[] = {"event=delivered", "from=beta to=alpha", "seq=1", NULL};
    NH_OK(nh_log_wait(&W, 1, notice, 1, WAIT_MS));
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_B), out[2], "Portal A outstanding[beta]");
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_C), out[3], "Portal A outstanding[gamma]");

    vault_amounts("beta", &W.tkb, &locked, out);
    assert_u128(locked, nh_units(10), "vault beta locked");
    assert_u128(out[1], nh_units(10), "vault beta outstanding[alpha]");
    assert_u128(balance(NH_B, &W.tkb, &W.ch[NH_B].portal), locked, "Portal B custody");
    assert_u128(portal_outstanding(NH_B, &W.tkb, NH_A), out[1], "Portal B outstanding[alpha]");
    assert_u128(supply(NH_A, &wrapped_b_on_a), out[1], "wrapped TKB supply on A");

    const char *audit[] = {"audit", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, audit), 0);

    /* One delivered line per transfer and one for the hop's notice, each
     * executed by this node (the line follows the receipt, so it may trail
     * the balance a little). */
    const char *delivered[] = {"event=delivered", NULL};
    NH_OK(nh_log_wait(&W, 1, delivered, 6, WAIT_MS));
    char *log = nh_node_log(&W, 1);
    const char *executed[] = {"event=delivered", "outcome=executed", NULL};
    const char *failed[] = {"event=delivery_failed", NULL};
    size_t n_exec = nh_log_count(log, executed), n_failed = nh_log_count(log, failed);
    free(log);
    assert_int_equal(n_exec, 6);
    assert_int_equal(delivered_lines(), 6);
    /* each names the transaction that executed it, mined on its chain's Portal */
    log = nh_node_log(&W, 1);
    size_t checked = 0;
    for (const char *l = strstr(log, "event=delivered"); l; l = strstr(l + 1, "event=delivered")) {
        char tx[80] = "", to[16] = "";
        NH_OK(nh_log_field(l, "tx", tx, sizeof tx));
        NH_OK(nh_log_field(l, "to", to, sizeof to));
        assert_int_equal(strlen(tx), 66);
        size_t c = !strcmp(to, "alpha") ? NH_A : !strcmp(to, "beta") ? NH_B : NH_C;
        json_t *r = it_rpc(W.ch[c].anvil.url, "eth_getTransactionReceipt", json_pack("[s]", tx));
        if (!json_is_object(r)) fail_msg("delivered tx %s has no receipt on %s", tx, to);
        char portal[43] = "0x";
        bh_hex_encode(portal + 2, W.ch[c].portal.data, 20);
        assert_true(strcasecmp(json_string_value(json_object_get(r, "to")), portal) == 0);
        assert_string_equal(json_string_value(json_object_get(r, "status")), "0x1");
        json_decref(r);
        checked++;
    }
    free(log);
    assert_int_equal(checked, 6);
    assert_int_equal(n_failed, 0);
    nh_executed *ex = NULL;
    size_t n_b = 0, n_a = 0, n_c = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &n_b));
    free(ex);
    NH_OK(nh_executed_logs(&W, NH_A, &ex, &n_a));
    free(ex);
    NH_OK(nh_executed_logs(&W, NH_C, &ex, &n_c));
    free(ex);
    assert_int_equal(n_b, 1);
    assert_int_equal(n_a, 2); /* the notice pays nothing: HopRecorded, not Executed */
    assert_int_equal(n_c, 2);
}

static void test_restart(void **state)
{
    (void)state;
    if (!nh_node_running(&W, 1)) NH_OK(nh_node_start(&W, 1, WAIT_MS));
    if (nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped_a_on_b, 100) != 0)
        fail_msg("needs the wrapped TKA of the first test");
    bh_u128 before = balance(NH_B, &wrapped_a_on_b, &W.user);
    nh_executed *ex = NULL;
    size_t exec_b0 = 0, exec_b1 = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &exec_b0));
    free(ex);

    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    char *log = nh_node_log(&W, 1);
    const char *stopped[] = {"event=stopped", NULL};
    assert_int_equal(nh_log_count(log, stopped), 1);
    free(log);
    size_t delivered0 = delivered_lines();

    /* A transfer while the node is down is picked up after the restart. */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(7), NH_B, &W.user, 0, NULL));
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped_a_on_b, &W.user, before + nh_units(7), WAIT_MS,
                          "mint after restart", NULL));
    /* And one made while it runs again. */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(3), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped_a_on_b, &W.user, before + nh_units(10), WAIT_MS,
                          "second mint after restart", NULL));

    /* Old events read again after the restart would come before the new
     * ones (one watcher, in order): delivered again or refused as replays. */
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    assert_int_equal(delivered_lines(), delivered0 + 2);
    log = nh_node_log(&W, 1);
    const char *fresh[] = {"event=delivered", "outcome=executed", NULL};
    const char *again[] = {"outcome=already_done", NULL};
    assert_int_equal(nh_log_count(log, again), 0);
    assert_int_equal(nh_log_count(log, fresh), delivered0 + 2);
    free(log);
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &exec_b1));
    free(ex);
    assert_int_equal(exec_b1, exec_b0 + 2);

    size_t depth = 99;
    NH_OK(nh_vault_outbox_depth(&W, 1, "alpha", &depth));
    assert_int_equal(depth, 0);
    const char *audit[] = {"audit", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, audit), 0);
    bh_u128 locked, out[NH_MAX_CHAINS + 1];
    vault_amounts("alpha", &W.tka, &locked, out);
    assert_u128(locked, nh_units(130), "vault alpha locked after the restart");
    assert_u128(out[2], nh_units(60), "vault alpha outstanding[beta] after the restart");
    assert_u128(supply(NH_B, &wrapped_a_on_b), out[2], "wrapped TKA supply on B");
    /* Each event applied exactly once: 6 accepted in alpha (4 + 2), 1 in
     * beta, nothing refused (a replay would be). */
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "accept"), 6);
    assert_int_equal(nh_vault_journal_count(&W, 1, "beta", "accept"), 1);
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "reject"), 0);
    assert_int_equal(nh_vault_journal_count(&W, 1, "beta", "reject"), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test(test_lock_return_hop),
        cmocka_unit_test(test_restart),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
