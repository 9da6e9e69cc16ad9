/* M-of-N: three independent nodes (own data dirs, attester keys with
 * signer indices 0, 1, 2, own transaction keys), Portals needing 2 of the
 * 3 attesters. No node talks to another: the destination Portal gathers
 * the approvals (docs/ARCHITECTURE.md §6).
 *  - all three up, then node 3 stopped: transfers still complete;
 *  - a node whose attester key is not the one in the set, alone: its
 *    transfer is not minted (the Portal refuses the signature);
 *  - plus one honest node: one approval, still not minted;
 *  - plus a second honest node: executed, exactly once. */
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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_of_three),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
