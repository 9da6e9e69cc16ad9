/* Attester rotation with overlap on anvil, three nodes of a 2-of-3 set:
 *  - B's Portal moves to a set that orders the same keys otherwise (every
 *    node's index changes) while 100 transfers A->B flow: the nodes take
 *    it up without a restart, and on chain every transfer executes exactly
 *    once, nothing parks, nothing is quarantined;
 *  - a transfer approved by one node under the old set, then the set
 *    rotated to one where a third node has a new key: that node, restarted
 *    with its new key, completes the transfer under the new set.
 * argv[1] = bulkhead, argv[2] = vaultctl. */
#include <string.h>

#include "bh_portal_admin.h"
#include "node_test.h"

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 3, .quorum = 2, .evm_id_base = 8960};
    if (nt_world_up(o, 0) != 0) return -1;
    for (unsigned id = 2; id <= 3; id++)
        if (nh_node_prepare(&W, id, id - 1, NULL) != 0) return -1;
    for (unsigned id = 1; id <= 3; id++)
        if (nh_node_start(&W, id, WAIT_MS) != 0) return -1;
    return 0;
}

/* Executed logs on B: sequences 0..n-1 of A exactly once each. */
static void executed_once(size_t n)
{
    nh_executed *ex = NULL;
    size_t got = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &got));
    if (got != n) {
        nh_dump_logs(&W, 30);
        fail_msg("%zu Executed logs on B, expected %zu", got, n);
    }
    unsigned char *seen = calloc(n, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < got; i++) {
        assert_true(ex[i].emitter_chain == W.ch[NH_A].bridge_id && ex[i].sequence < n);
        if (seen[ex[i].sequence]++)
            fail_msg("sequence %llu executed twice", (unsigned long long)ex[i].sequence);
    }
    free(seen);
    free(ex);
}

static size_t count_all(const char *const *needles)
{
    size_t k = 0;
    for (unsigned id = 1; id <= 3; id++) {
        char *log = nh_node_log(&W, id);
        k += nh_log_count(log, needles);
        free(log);
    }
    return k;
}

static void test_rotation_while_100_transfers_flow(void **state)
{
    (void)state;
    bh_address wrapped;
    NH_OK(nh_flood(&W, NH_A, &W.tka, 50, 10, nh_units(1), NH_B, &W.user));
    /* set 1: attester 2, 0, 1: node 1 signs as 1, node 2 as 2, node 3 as 0 */
    bh_address set1[3] = {W.att_addr[2], W.att_addr[0], W.att_addr[1]};
    assert_int_equal(
        bh_portal_set_attesters(W.ch[NH_B].deployer, &W.ch[NH_B].portal, 1, set1, 3, 2, 3600),
        BH_OK);
    NH_OK(nh_flood(&W, NH_A, &W.tka, 50, 10, nh_units(1), NH_B, &W.user));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(100), 120000,
                          "100 transfers across the rotation", NULL));
    executed_once(100);
    static const char *const want[3] = {"signer=1", "signer=2", "signer=0"};
    for (unsigned id = 1; id <= 3; id++) {
        const char *seen[] = {"event=attester_set", "chain=beta", "set=1", want[id - 1], NULL};
        NH_OK(nh_log_wait(&W, id, seen, 1, WAIT_MS));
    }
    const char *parked[] = {"event=parked", NULL};
    const char *quarantined[] = {"event=quarantined", NULL};
    const char *refused[] = {"not an attester", NULL};
    assert_int_equal(count_all(parked), 0);
    assert_int_equal(count_all(quarantined), 0);
    assert_int_equal(count_all(refused), 0);
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_B), nh_units(100), "A's outstanding[beta]");
}

static void test_half_approved_under_the_old_set_completes(void **state)
{
    (void)state;
    bh_address wrapped;
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    bh_u128 before = balance(NH_B, &wrapped, &W.user);
    NH_OK(nh_node_stop(&W, 2, WAIT_MS));
    NH_OK(nh_node_stop(&W, 3, WAIT_MS));
    const char *approved[] = {"event=delivered", "to=beta", "outcome=approved", NULL};
    char *log = nh_node_log(&W, 1);
    size_t had = nh_log_count(log, approved);
    free(log);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(3), NH_B, &W.user, 0, NULL));
    NH_OK(nh_log_wait(&W, 1, approved, had + 1, WAIT_MS)); /* 1 of 2, under set 1 */
    assert_true(balance(NH_B, &wrapped, &W.user) == before);

    /* set 2: node 3 gets a new key; attesters 0 and 1 stay */
    bh_seckey fresh;
    it_test_key(&fresh, 900);
    bh_address fresh_addr;
    assert_int_equal(bh_attest_address(W.ctx, &fresh_addr, &fresh), BH_OK);
    bh_address set2[3] = {W.att_addr[0], W.att_addr[1], fresh_addr};
    assert_int_equal(
        bh_portal_set_attesters(W.ch[NH_B].deployer, &W.ch[NH_B].portal, 2, set2, 3, 2, 3600),
        BH_OK);
    NH_OK(nh_node_set_attester(&W, 3, &fresh));
    NH_OK(nh_node_start(&W, 3, WAIT_MS));
    const char *seen[] = {"event=attester_set", "chain=beta", "set=2", "signer=2", NULL};
    NH_OK(nh_log_wait(&W, 3, seen, 1, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, before + nh_units(3), WAIT_MS,
                          "the transfer half-approved under set 1", NULL));
    executed_once(101);
    bh_seckey_clear(&fresh);
    NH_OK(nh_node_start(&W, 2, WAIT_MS));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation_while_100_transfers_flow),
        cmocka_unit_test(test_half_approved_under_the_old_set_completes),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
