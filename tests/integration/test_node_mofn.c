/* M-of-N: three independent nodes (own data dirs, attester keys with
 * signer indices 0, 1, 2, own transaction keys), Portals needing 2 of the
 * 3 attesters. No node talks to another: the destination Portal gathers
 * the approvals (docs/ARCHITECTURE.md §6).
 *  - all three up, then node 3 stopped: transfers still complete;
 *  - a node whose attester key is not the one in the set, alone: its
 *    transfer is not minted (the Portal refuses the signature);
 *  - plus one honest node: one approval, still not minted;
 *  - plus a second honest node: executed, exactly once;
 *  - a node back from downtime finds the transfers it missed executed by
 *    the other two (standing in for it): it acks them from the Portal's
 *    view and sends no transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test.h"

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 3, .quorum = 2, .evm_id_base = 7500};
    if (nt_world_up(o, 0) != 0) return -1; /* and node 1, signer index 0 */
    for (unsigned id = 2; id <= 3; id++)
        if (nh_node_prepare(&W, id, id - 1, NULL) != 0) return -1;
    return 0;
}

static size_t approved_count(void)
{
    nh_approved *ap = NULL;
    size_t n = 0;
    NH_OK(nh_approved_logs(&W, NH_B, &ap, &n));
    free(ap);
    return n;
}

static bh_u128 user_wrapped(const bh_address *wrapped)
{
    return balance(NH_B, wrapped, &W.user);
}

static void test_two_of_three(void **state)
{
    (void)state;
    bh_address wrapped;
    for (unsigned id = 1; id <= 3; id++)
        NH_OK(nh_node_start(&W, id, WAIT_MS));

    /* All three up. */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(10), WAIT_MS, "3 of 3 up", NULL));
    const char *seq0[] = {"event=delivered", "seq=0", NULL};
    for (unsigned id = 1; id <= 3; id++)
        NH_OK(nh_log_wait(&W, id, seq0, 1, WAIT_MS));

    /* Node 3 down: nodes 1 and 2 still make the quorum. */
    assert_int_equal(nh_node_stop(&W, 3, WAIT_MS), 0);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(20), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(30), WAIT_MS, "node 3 down", NULL));
    const char *seq1[] = {"event=delivered", "seq=1", NULL};
    NH_OK(nh_log_wait(&W, 1, seq1, 1, WAIT_MS));
    NH_OK(nh_log_wait(&W, 2, seq1, 1, WAIT_MS));
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    assert_int_equal(nh_node_stop(&W, 2, WAIT_MS), 0);

    /* Node 3 alone with an attester key that is not in the set. */
    bh_seckey bad;
    it_test_key(&bad, 99);
    NH_OK(nh_node_set_attester(&W, 3, &bad));
    NH_OK(nh_node_start(&W, 3, WAIT_MS));
    size_t approvals0 = approved_count();
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(40), NH_B, &W.user, 0, NULL));
    /* It tries, and the Portal refuses its signature. */
    const char *refused[] = {"event=delivery_failed", "seq=2", NULL};
    NH_OK(nh_log_wait(&W, 3, refused, 1, WAIT_MS));
    char *log = nh_node_log(&W, 3);
    const char *line = strstr(log, "event=delivery_failed");
    print_message("node 3 (bad key): %.*s\n", (int)strcspn(line, "\n"), line);
    free(log);
    assert_u128(user_wrapped(&wrapped), nh_units(30), "minted with a forged attester key");
    assert_int_equal(approved_count(), approvals0);

    /* One honest node joins: one approval, below the quorum. */
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    const char *seq2[] = {"event=delivered", "seq=2", NULL};
    NH_OK(nh_log_wait(&W, 1, seq2, 1, WAIT_MS));
    log = nh_node_log(&W, 1);
    const char *approved[] = {"event=delivered", "seq=2", "outcome=approved", NULL};
    assert_int_equal(nh_log_count(log, approved), 1);
    free(log);
    assert_int_equal(approved_count(), approvals0 + 1);
    assert_u128(user_wrapped(&wrapped), nh_units(30), "minted with one honest approval");

    /* A second honest node: the quorum is met, executed once. */
    NH_OK(nh_node_start(&W, 2, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(70), WAIT_MS,
                          "two honest approvals", NULL));
    NH_OK(nh_log_wait(&W, 2, seq2, 1, WAIT_MS));

    nh_approved *ap = NULL;
    size_t n_ap = 0;
    NH_OK(nh_approved_logs(&W, NH_B, &ap, &n_ap));
    assert_int_equal(n_ap, approvals0 + 2);
    /* The last transfer's approvals: signers 0 then 1, never 2. */
    assert_memory_equal(&ap[n_ap - 1].digest, &ap[n_ap - 2].digest, 32);
    assert_int_equal(ap[n_ap - 2].signer_index, 0);
    assert_int_equal(ap[n_ap - 2].count, 1);
    assert_int_equal(ap[n_ap - 1].signer_index, 1);
    assert_int_equal(ap[n_ap - 1].count, 2);
    for (size_t i = 0; i < n_ap; i++)
        if (!memcmp(&ap[i].digest, &ap[n_ap - 1].digest, 32))
            assert_int_not_equal(ap[i].signer_index, 2);
    free(ap);

    nh_executed *ex = NULL;
    size_t n_ex = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &n_ex));
    assert_int_equal(n_ex, 3);
    for (size_t i = 0; i < n_ex; i++)
        assert_int_equal(ex[i].sequence, i);
    free(ex);
    bh_u128 supply = 0;
    NH_OK(nh_total_supply(&W, NH_B, &wrapped, &supply));
    assert_u128(supply, nh_units(70), "wrapped TKA supply on B");

    for (unsigned id = 1; id <= 3; id++) {
        assert_int_equal(nh_node_stop(&W, id, WAIT_MS), 0);
        const char *audit[] = {"audit", NULL};
        assert_int_equal(nh_vaultctl(&W, id, NULL, audit), 0);
        /* Every node applied each of the three transfers once. */
        assert_int_equal(nh_vault_journal_count(&W, id, "alpha", "accept"), 3);
    }
}

/* The count of node id's transaction key on B. */
static uint64_t tx_count(unsigned id)
{
    char addr[43];
    bh_rpc_format_hex(addr, W.node[id - 1].tx_addr.data, 20);
    json_t *r =
        it_rpc(W.ch[NH_B].anvil.url, "eth_getTransactionCount", json_pack("[s,s]", addr, "latest"));
    uint64_t v = 0;
    if (!r || bh_rpc_read_quantity(&v, r) != BH_OK) fail_msg("eth_getTransactionCount");
    json_decref(r);
    return v;
}

static void set_standby(unsigned id, unsigned ms)
{
    json_t *cfg = nh_node_config(&W, id);
    assert_non_null(cfg);
    json_object_set_new(json_array_get(json_object_get(cfg, "chains"), NH_B), "standby_ms",
                        json_integer(ms));
    NH_OK(nh_node_write_config(&W, id, cfg));
}

/* Node 3 is down while 16 transfers are executed by nodes 1 and 2 (they
 * stand in for it after the standby). Back, it reads them all, and its
 * share of first submissions plus the ones it stands by for would be
 * batches of already executed transfers: gas for nothing. It asks the
 * Portal which are executed first, acks them, sends nothing. */
static void test_back_from_downtime_sends_nothing_executed(void **state)
{
    (void)state;
    enum { N = 16 };
    bh_seckey k3;
    it_test_key(&k3, 3); /* signer index 2's key again */
    NH_OK(nh_node_set_attester(&W, 3, &k3));
    for (unsigned id = 1; id <= 3; id++)
        set_standby(id, 1000);
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    NH_OK(nh_node_start(&W, 2, WAIT_MS));
    nh_executed *ex = NULL;
    size_t before = 0, after = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &before));
    free(ex);
    NH_OK(nh_flood(&W, NH_A, &W.tka, N, N, nh_units(1), NH_B, &W.user));
    for (uint64_t t0 = nh_now_ms(); after < before + N; nh_sleep_ms(200)) {
        if (nh_now_ms() - t0 > WAIT_MS) fail_msg("%zu of %d executed", after - before, N);
        NH_OK(nh_executed_logs(&W, NH_B, &ex, &after));
        free(ex);
    }
    uint64_t sent0 = tx_count(3);
    NH_OK(nh_node_start(&W, 3, WAIT_MS));
    const char *done[] = {"event=delivered", "outcome=already_done", NULL};
    NH_OK(nh_log_wait(&W, 3, done, N, WAIT_MS));
    size_t depth = 1;
    for (uint64_t t0 = nh_now_ms(); depth; nh_sleep_ms(200)) {
        if (nh_now_ms() - t0 > WAIT_MS) fail_msg("node 3's outbox still holds %zu", depth);
        NH_OK(nh_vault_outbox_depth(&W, 3, "alpha", &depth));
    }
    nh_sleep_ms(1500); /* past its standby: nothing more goes */
    assert_int_equal(tx_count(3), sent0);
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &after));
    free(ex);
    assert_int_equal(after, before + N); /* each once */
    for (unsigned id = 1; id <= 3; id++)
        assert_int_equal(nh_node_stop(&W, id, WAIT_MS), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_of_three),
        cmocka_unit_test(test_back_from_downtime_sends_nothing_executed),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
