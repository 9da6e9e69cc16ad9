/* Review 13: the burn receipt check (a burn counts only if its receipt
 * holds the burn of the Portal's wrapped token) and hop notices (every hop
 * is also delivered to the asset's home Portal, which moves its outstanding
 * from the source to the destination), attacked by outsiders who control
 * one contract or one chain. Each case starts its own world:
 *  - a user's contract burns three times in one transaction after emitting
 *    a Transfer(itself, 0x0, 10^30) from its own address: every burn is
 *    backed once by its own burn, none is forged, nothing is quarantined;
 *  - a user's contract burns 1 unit in a transaction whose receipt (110,000
 *    empty logs, about 42 MB of JSON) no RPC client of the node takes: the
 *    watcher must not stop on it (later transfers still go); nor on a junk
 *    token's lock in such a transaction (it is refused, later transfers go);
 *  - chain C, compromised after an honest hop C -> B was minted on B but
 *    before its notice reached A, is quarantined (one forged burn): the
 *    notice, which only moves A's outstanding off C, must still reach A,
 *    or the hopped supply on B can never go home;
 *  - on a compromised C, a contract's real burn, then a Transfer(itself,
 *    0x0) from its own address, then a forged burn of the same amount in
 *    one transaction: the real burn is accepted, the forged one refused;
 *  - C's Portal, changed while the node was down, names a token of its own
 *    making as TKA's wrapped token and backs a forged burn with that
 *    token's burn log: the node believes the wrapped token it pinned before
 *    the restart, refuses the burn and quarantines C. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_portal_admin.h"
#include "test_adversary.h"

static bh_address burn_flood; /* BurnFlood on the chain of the case */

static void deploy_burn_flood(bh_evm_sender *s)
{
    NH_OK(nh_deploy(s, bh_test_contract_burnflood_bin, NULL, 0, &burn_flood));
}

static void calldata(bh_abi *a, unsigned char **data, size_t *len)
{
    int rc = bh_abi_finish(a, data, len);
    bh_abi_clear(a);
    assert_int_equal(rc, BH_OK);
}

static void assert_no_forged_burn(const char *when)
{
    const char *forged[] = {"forged_burn", NULL};
    size_t n = log_count(0, forged);
    if (n) {
        nh_dump_logs(&W, 30);
        fail_msg("%s: %zu log lines about forged burns", when, n);
    }
    for (size_t i = 0; i < W.n_chains; i++)
        assert_int_equal(vault_rejects(W.ch[i].name, "forged_burn"), 0);
}

/* ---- several honest burns by a contract in one transaction ---- */

ADV_SETUP(setup_two)
{
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 9300};
    return adv_up(o, NULL, 1);
}

static void test_contract_burns_in_one_tx_are_each_backed(void **state)
{
    (void)state;
    bh_address w_tka_b;
    bh_u128 home0 = balance(NH_A, &W.tka, &W.user);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    wait_delivered(NH_B, &w_tka_b, &W.user, nh_units(10), WAIT_MS, "A->B", NULL);
    deploy_burn_flood(W.ch[NH_B].user);
    transfer(W.ch[NH_B].user, &w_tka_b, &burn_flood, nh_units(6));

    /* 3, then 1, then 2 units: a greedy match must not let the first burn
     * take a later one's log, nor the fake Transfer back anything */
    bh_bytes32 to;
    bh_address_to_bytes32(&to, &W.user);
    bh_abi a;
    bh_abi_init(&a, "fakeAndBurns(address,address,uint256,uint256,uint256,uint16,bytes32)", 7);
    bh_abi_address(&a, &W.ch[NH_B].portal);
    bh_abi_address(&a, &w_tka_b);
    bh_u256 x, y, z;
    bh_u256_from_u128(&x, nh_units(3));
    bh_u256_from_u128(&y, nh_units(1));
    bh_u256_from_u128(&z, nh_units(2));
    bh_abi_u256(&a, &x);
    bh_abi_u256(&a, &y);
    bh_abi_u256(&a, &z);
    bh_abi_uint(&a, W.ch[NH_A].bridge_id);
    bh_abi_bytes32(&a, &to);
    NH_OK(nh_send_call(W.ch[NH_B].user, NULL, &burn_flood, &a, "fakeAndBurns"));

    wait_delivered(NH_A, &W.tka, &W.user, home0 - nh_units(4), WAIT_MS,
                   "three burns of one transaction, home", NULL);
    assert_no_forged_burn("three burns in one transaction");
    assert_no_quarantine("three burns in one transaction");
    assert_u128(supply(NH_B, &w_tka_b), nh_units(4), "wrapped TKA on beta");
}

/* ---- an honest burn in a transaction with an enormous receipt ---- */

#define SPAM_LOGS 110000

/* Send BurnFlood's call a (cleared) on beta with room for SPAM_LOGS logs,
 * and wait until it is mined: judged by the Portal's sequence (one
 * TransferOut), never by reading its receipt in the test client. */
static void send_huge(bh_abi *a, const char *what)
{
    unsigned char *data = NULL;
    size_t len = 0;
    calldata(a, &data, &len);
    char tx[67];
    uint64_t seq0 = 0, seq1 = 0, block = 0;
    NH_OK(nh_portal_sequence(&W, NH_B, &seq0));
    NH_OK(nh_send_unlocked(&W, NH_B, 7, &burn_flood, data, len, 59000000, tx));
    free(data);
    NH_OK(nh_wait_mined(&W, NH_B, tx, 2 * WAIT_MS, &block));
    NH_OK(nh_portal_sequence(&W, NH_B, &seq1));
    if (seq1 != seq0 + 1) fail_msg("%s emitted no TransferOut (reverted: out of gas?)", what);
    print_message("block %llu: %s among %d logs in one receipt\n", (unsigned long long)block, what,
                  SPAM_LOGS);
}

static void test_burn_in_a_huge_receipt_does_not_stop_the_watcher(void **state)
{
    (void)state;
    bh_address w_tka_b;
    bh_u128 home0 = balance(NH_A, &W.tka, &W.user);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    wait_delivered(NH_B, &w_tka_b, &W.user, nh_units(10), WAIT_MS, "A->B", NULL);
    deploy_burn_flood(W.ch[NH_B].user);
    transfer(W.ch[NH_B].user, &w_tka_b, &burn_flood, nh_units(1));

    bh_bytes32 to;
    bh_address_to_bytes32(&to, &W.user);
    bh_u256 one;
    bh_u256_from_u128(&one, nh_units(1));
    bh_abi a;
    bh_abi_init(&a, "spamAndBurn(address,address,uint256,uint256,uint16,bytes32)", 6);
    bh_abi_address(&a, &W.ch[NH_B].portal);
    bh_abi_address(&a, &w_tka_b);
    bh_abi_uint(&a, SPAM_LOGS);
    bh_abi_u256(&a, &one);
    bh_abi_uint(&a, W.ch[NH_A].bridge_id);
    bh_abi_bytes32(&a, &to);
    send_huge(&a, "a burn of 1 unit");

    /* an honest user's burn after it: beta's watcher must get past the block */
    NH_OK(nh_burn(&W, NH_B, &w_tka_b, nh_units(2), NH_A, &W.user, 0, NULL));
    uint64_t ms = 0;
    int rc = nh_wait_balance(&W, NH_A, &W.tka, &W.user, home0 - nh_units(10) + nh_units(3),
                             2 * WAIT_MS, "both burns home past the huge receipt", &ms);
    if (rc != 0) {
        char line[600];
        log_line("answer larger than", line, sizeof line);
        print_message("node log: %s\n", line[0] ? line : "(no 'answer larger than' line)");
        explain_stall();
        fail_msg("beta's watcher stopped at the block of a burn with a %d-log receipt", SPAM_LOGS);
    }
    char line[600];
    log_line("receipt could not be read", line, sizeof line);
    print_message("node log: %s\n", line[0] ? line : "(no fallback line)");
    assert_no_forged_burn("a burn in a huge receipt");
    assert_no_quarantine("a burn in a huge receipt");
}

/* A lock of a junk token in a transaction with an enormous receipt: the
 * lock check reads the sender's transfers into the Portal by block, the
 * lock is refused as a token nobody registered, and an honest lock behind
 * it is delivered. */
static void test_junk_lock_in_a_huge_receipt_does_not_stop_the_watcher(void **state)
{
    (void)state;
    deploy_burn_flood(W.ch[NH_B].user);
    bh_bytes32 to;
    bh_address_to_bytes32(&to, &W.user);
    bh_u256 one;
    bh_u256_from_u128(&one, nh_units(1));
    bh_abi a;
    bh_abi_init(&a, "spamAndLock(address,uint256,uint256,uint16,bytes32)", 5);
    bh_abi_address(&a, &W.ch[NH_B].portal);
    bh_abi_uint(&a, SPAM_LOGS);
    bh_abi_u256(&a, &one);
    bh_abi_uint(&a, W.ch[NH_A].bridge_id);
    bh_abi_bytes32(&a, &to);
    send_huge(&a, "a junk lock");

    /* an honest lock after it: beta's watcher must get past the block */
    bh_address w_tkb_a;
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(2), NH_A, &W.user, 0, NULL));
    if (nh_wait_wrapped(&W, NH_A, NH_B, &W.tkb, &w_tkb_a, 2 * WAIT_MS) != 0) {
        explain_stall();
        fail_msg("beta's watcher stopped at the block of a lock with a %d-log receipt", SPAM_LOGS);
    }
    wait_delivered(NH_A, &w_tkb_a, &W.user, nh_units(2), WAIT_MS, "TKB past the huge receipt",
                   NULL);
    char line[600];
    log_line("lock's receipt could not be read", line, sizeof line);
    if (!line[0]) fail_msg("no sign the lock's receipt was read another way");
    print_message("node log: %s\n", line);
    const char *refused[] = {"event=rejected", "from=beta", "reason=unknown_asset", NULL};
    expect_log(refused, 1, WAIT_MS);
    assert_no_quarantine("a junk lock in a huge receipt");
}

/* ---- a hop's notice from a chain quarantined after the hop ---- */

ADV_SETUP(setup_rogue_c)
{
    nh_opts o = {.n_chains = 3, .n_attesters = 1, .quorum = 1, .rogue_c = 1, .evm_id_base = 9400};
    return adv_up(o, NULL, 1);
}

static void set_balance(size_t chain, const bh_address *who, const char *wei_hex)
{
    char a[43];
    addr_hex(a, who);
    json_t *r = it_rpc(W.ch[chain].anvil.url, "anvil_setBalance", json_pack("[s,s]", a, wei_hex));
    if (!r) fail_msg("anvil_setBalance refused");
    json_decref(r);
}

static void test_notice_of_a_hop_outlives_its_source_quarantine(void **state)
{
    (void)state;
    bh_address w_tka_c, w_tka_b;
    bh_u128 home0 = balance(NH_A, &W.tka, &W.user);
    /* the node's own quarantine is on trial here: A's Portal is set so the
     * one attester cannot curse gamma (a curse refuses the notice on chain
     * until it is lifted: test_node_curse) */
    assert_int_equal(bh_portal_set_curse_params(W.ch[NH_A].deployer, &W.ch[NH_A].portal, 2, 3600),
                     BH_OK);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_C, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &w_tka_c, WAIT_MS));
    wait_delivered(NH_C, &w_tka_c, &W.user, nh_units(10), WAIT_MS, "A->C", NULL);

    /* deliveries to A stall for a while (the node's wallet on A is empty):
     * the hop's mint reaches B, its notice waits in the outbox */
    set_balance(NH_A, &W.node[0].tx_addr, "0x0");
    NH_OK(nh_burn(&W, NH_C, &w_tka_c, nh_units(4), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    wait_delivered(NH_B, &w_tka_b, &W.user, nh_units(4), WAIT_MS, "hop C->B minted on B", NULL);
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_B), 0, "A's outstanding[beta] before notice");

    /* C's owner now turns: one forged burn quarantines gamma */
    NH_OK(nh_rogue_forge(&W, 1, &W.tka, W.ch[NH_A].bridge_id, NH_A, &W.attacker, 1, 0));
    const char *quarantined[] = {"event=quarantined", "chain=gamma", NULL};
    NH_OK(nh_log_wait(&W, 1, quarantined, 1, WAIT_MS));
    set_balance(NH_A, &W.node[0].tx_addr, "0x56bc75e2d63100000"); /* 100 ETH */

    /* the honest holder on B goes home with what hopped there */
    NH_OK(nh_burn(&W, NH_B, &w_tka_b, nh_units(4), NH_A, &W.user, 0, NULL));
    uint64_t ms = 0;
    int rc = nh_wait_balance(&W, NH_A, &W.tka, &W.user, home0 - nh_units(6), WAIT_MS,
                             "return B->A of supply hopped from C before C's quarantine", &ms);
    bh_u128 locked, out[NH_MAX_CHAINS + 1];
    vault_amounts("alpha", &W.tka, &locked, out);
    print_message("vault alpha outstanding beta %s gamma %s; A's Portal beta %s gamma %s\n",
                  nh_u128_str(out[2]), nh_u128_str(out[3]),
                  nh_u128_str(portal_outstanding(NH_A, &W.tka, NH_B)),
                  nh_u128_str(portal_outstanding(NH_A, &W.tka, NH_C)));
    if (rc != 0) {
        explain_stall();
        fail_msg("the hop's notice from quarantined gamma never reached A: B's holders of hopped "
                 "supply cannot go home");
    }
}

/* ---- a forged burn behind a real one and a fake Transfer ---- */

static void test_forged_burn_beside_real_and_fake_burns_is_refused(void **state)
{
    (void)state;
    bh_address w_tka_c;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_C, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &w_tka_c, WAIT_MS));
    wait_delivered(NH_C, &w_tka_c, &W.user, nh_units(10), WAIT_MS, "A->C", NULL);
    deploy_burn_flood(W.ch[NH_C].user);
    transfer(W.ch[NH_C].user, &w_tka_c, &burn_flood, nh_units(3));

    bh_bytes32 to;
    bh_address_to_bytes32(&to, &W.attacker);
    bh_u256 amt;
    bh_u256_from_u128(&amt, nh_units(3));
    bh_abi a;
    bh_abi_init(&a, "burnAndForge(address,address,uint256,uint16,bytes32)", 5);
    bh_abi_address(&a, &W.ch[NH_C].portal);
    bh_abi_address(&a, &w_tka_c);
    bh_abi_u256(&a, &amt);
    bh_abi_uint(&a, W.ch[NH_A].bridge_id);
    bh_abi_bytes32(&a, &to);
    NH_OK(nh_send_call(W.ch[NH_C].user, NULL, &burn_flood, &a, "burnAndForge"));

    /* the second burn is forged (its only candidates: the first burn's
     * Transfer, already used, and the contract's own fake one) */
    const char *forged[] = {"event=rejected", "from=gamma", "seq=1", "reason=forged_burn", NULL};
    NH_OK(nh_log_wait(&W, 1, forged, 1, WAIT_MS));
    const char *real_ok[] = {"event=applied", "from=gamma", "seq=0", "status=accepted", NULL};
    assert_int_equal(log_count(0, real_ok), 1);
    /* at most the real burn's 3 reach A (none if gamma's quarantine came
     * first), never the forged 3 on top */
    nh_sleep_ms(2000);
    bh_u128 got = balance(NH_A, &W.tka, &W.attacker);
    if (got > nh_units(3)) fail_msg("the attacker got %s TKA on A for 3 burnt", nh_u128_str(got));
}

static void test_wrapped_token_pinned_across_a_restart(void **state)
{
    (void)state;
    bh_address w_tka_c, fake;
    bh_u128 home0 = balance(NH_A, &W.tka, &W.user);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_C, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &w_tka_c, WAIT_MS));
    wait_delivered(NH_C, &w_tka_c, &W.user, nh_units(10), WAIT_MS, "A->C", NULL);
    /* an honest burn home: the node reads and pins TKA's wrapped token on C */
    NH_OK(nh_burn(&W, NH_C, &w_tka_c, nh_units(1), NH_A, &W.user, 0, NULL));
    wait_delivered(NH_A, &W.tka, &W.user, home0 - nh_units(9), WAIT_MS, "honest burn C->A", NULL);
    const char *pinned[] = {"event=wrapped_pinned", "chain=gamma", NULL};
    expect_log(pinned, 1, WAIT_MS);
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);

    /* while the node is down, C's Portal points TKA at a token of its own */
    NH_OK(nh_deploy(W.ch[NH_C].attacker, bh_test_contract_fakewrapped_bin, NULL, 0, &fake));
    bh_bytes32 tka32, to;
    bh_address_to_bytes32(&tka32, &W.tka);
    bh_address_to_bytes32(&to, &W.attacker);
    bh_abi a;
    bh_abi_init(&a, "setWrapped(uint16,bytes32,address)", 3);
    bh_abi_uint(&a, W.ch[NH_A].bridge_id);
    bh_abi_bytes32(&a, &tka32);
    bh_abi_address(&a, &fake);
    NH_OK(nh_send_call(W.ch[NH_C].attacker, NULL, &W.ch[NH_C].portal, &a, "setWrapped"));
    bh_address now_named;
    NH_OK(nh_wrapped(&W, NH_C, NH_A, &W.tka, &now_named));
    assert_memory_equal(now_named.data, fake.data, 20);
    /* reconciliation off: it would read wrappedFor below the change and pin
     * the real token anew; the pin under test is the stored one */
    json_t *cfg = nh_node_config(&W, 1);
    json_object_set_new(json_object_get(cfg, "node"), "reconcile_s", json_integer(0));
    NH_OK(nh_node_write_config(&W, 1, cfg));
    NH_OK(nh_node_start(&W, 1, WAIT_MS));

    /* a forged burn of 5 with the fake token's burn log beside it */
    bh_u256 five;
    bh_u256_from_u128(&five, nh_units(5));
    bh_abi_init(&a, "forgeBurnWith(address,bytes32,uint16,uint16,bytes32,uint256)", 6);
    bh_abi_address(&a, &fake);
    bh_abi_bytes32(&a, &tka32);
    bh_abi_uint(&a, W.ch[NH_A].bridge_id);
    bh_abi_uint(&a, W.ch[NH_A].bridge_id);
    bh_abi_bytes32(&a, &to);
    bh_abi_u256(&a, &five);
    NH_OK(nh_send_call(W.ch[NH_C].attacker, NULL, &W.ch[NH_C].portal, &a, "forgeBurnWith"));
    const char *forged[] = {"event=rejected", "from=gamma", "reason=forged_burn", NULL};
    const char *q[] = {"event=quarantined", "chain=gamma", "cause=forged_burn", NULL};
    if (nh_log_wait(&W, 1, forged, 1, WAIT_MS) != 0)
        fail_msg("a burn backed by a token the changed Portal names was not refused (the pin "
                 "did not survive the restart); the attacker holds %s TKA on A",
                 nh_u128_str(balance(NH_A, &W.tka, &W.attacker)));
    NH_OK(nh_log_wait(&W, 1, q, 1, WAIT_MS));
    assert_u128(balance(NH_A, &W.tka, &W.attacker), 0, "the attacker's TKA on A");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_contract_burns_in_one_tx_are_each_backed, setup_two,
                                        nt_teardown),
        cmocka_unit_test_setup_teardown(test_burn_in_a_huge_receipt_does_not_stop_the_watcher,
                                        setup_two, nt_teardown),
        cmocka_unit_test_setup_teardown(test_junk_lock_in_a_huge_receipt_does_not_stop_the_watcher,
                                        setup_two, nt_teardown),
        cmocka_unit_test_setup_teardown(test_notice_of_a_hop_outlives_its_source_quarantine,
                                        setup_rogue_c, nt_teardown),
        cmocka_unit_test_setup_teardown(test_forged_burn_beside_real_and_fake_burns_is_refused,
                                        setup_rogue_c, nt_teardown),
        cmocka_unit_test_setup_teardown(test_wrapped_token_pinned_across_a_restart, setup_rogue_c,
                                        nt_teardown),
    };
    return ADV_MAIN(argc, argv, tests);
}
