/* Supply reconciliation with M of N attesters (2 of 3, chains A and B),
 * every node reconciling every second: the other attesters can execute a
 * transfer before a node has even seen its lock, so the wrapped supply a
 * node reads can be above its vault's outstanding without anything wrong.
 *  - node 3 is stopped while nodes 1 and 2 deliver locks A->B, then started:
 *    it reads a supply its vault has not caught up with, and quarantines
 *    nothing (its reconciliation waits for a height every watcher of it has
 *    passed, and calls what it cannot tell from its own lag unconfirmed);
 *  - after it caught up, a rogue mint on B (its Portal impersonated) is
 *    caught by every node, each quarantining B. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test.h"

static bh_address wrapped;

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 3, .quorum = 2, .evm_id_base = 7800};
    if (nt_world_up(o, 0) != 0) return -1;
    for (unsigned id = 2; id <= 3; id++)
        if (nh_node_prepare(&W, id, id - 1, NULL) != 0) return -1;
    for (unsigned id = 1; id <= 3; id++) {
        json_t *cfg = nh_node_config(&W, id);
        if (!cfg) return -1;
        json_object_set_new(json_object_get(cfg, "node"), "reconcile_s", json_integer(1));
        if (nh_node_write_config(&W, id, cfg) != 0) return -1;
    }
    return 0;
}

static size_t count(unsigned id, const char *const *needles)
{
    char *log = nh_node_log(&W, id);
    size_t n = nh_log_count(log, needles);
    free(log);
    return n;
}

static void test_a_lagging_attester_quarantines_nothing(void **state)
{
    (void)state;
    for (unsigned id = 1; id <= 3; id++)
        NH_OK(nh_node_start(&W, id, WAIT_MS));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(10), WAIT_MS, "3 of 3 up", NULL));

    /* node 3 away while the others mint 60 more on B */
    assert_int_equal(nh_node_stop(&W, 3, WAIT_MS), 0);
    for (unsigned i = 1; i <= 3; i++)
        NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10 * i), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(70), WAIT_MS, "node 3 down", NULL));

    /* back: it reads 70 on B before its vault holds them */
    NH_OK(nh_node_start(&W, 3, WAIT_MS));
    const char *ok3[] = {"event=reconciled", "chain=beta", "differences=0", "guarded=1", NULL};
    size_t before = count(3, ok3);
    NH_OK(nh_log_wait(&W, 3, ok3, before + 3, WAIT_MS));
    const char *q[] = {"event=quarantined", NULL};
    for (unsigned id = 1; id <= 3; id++)
        assert_int_equal(count(id, q), 0);
    const char *excess[] = {"event=reconcile_difference", "check=supply", "status=excess", NULL};
    for (unsigned id = 1; id <= 3; id++)
        assert_int_equal(count(id, excess), 0);
    const char *unconf[] = {"event=reconcile_difference", "check=supply", "status=unconfirmed",
                            NULL};
    print_message("node 3 reconciliations that could not tell its lag: %zu\n", count(3, unconf));
}

static void test_rogue_mint_caught_by_every_attester(void **state)
{
    (void)state;
    uint64_t block = 0;
    NH_OK(nh_rogue_mint(&W, NH_B, &wrapped, &W.attacker, nh_units(500), &block));
    const char *q[] = {"event=quarantined", "chain=beta", "cause=supply_drift", NULL};
    for (unsigned id = 1; id <= 3; id++)
        NH_OK(nh_log_wait(&W, id, q, 1, WAIT_MS));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_lagging_attester_quarantines_nothing),
        cmocka_unit_test(test_rogue_mint_caught_by_every_attester),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
