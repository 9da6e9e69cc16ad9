/* Hops on chain, on three anvil chains (A alpha, B beta, C gamma), one node,
 * Portals 1-of-1. A hop (a burn of wrapped TKA on C towards B) is delivered
 * twice from the same attested message: as a mint to B, and as a notice to
 * TKA's home A, whose Portal moves its outstanding from C to B. So:
 *  - a return B -> A of supply that hopped C -> B is unlocked on A, and the
 *    ledgers (vault and A's Portal, lane by lane) agree; an honest holder
 *    left on C still goes home too;
 *  - with the attester keys stolen (the test signs itself), a hop notice
 *    moves at most what A's Portal books under the source, and pays
 *    nothing: a forged hop from C is charged to C's lane, never another's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test.h"

#include "bh_amount.h"
#include "bh_portal.h"
#include "bh_transfer.h"

static bh_address w_tka_b, w_tka_c;

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 3, .n_attesters = 1, .quorum = 1, .evm_id_base = 7600};
    return nt_world_up(o, 1);
}

/* Wait until A's Portal books `c` under gamma and `b` under beta. */
static void wait_books(bh_u128 b, bh_u128 c, const char *what)
{
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (nh_now_ms() < end && (portal_outstanding(NH_A, &W.tka, NH_B) != b ||
                                 portal_outstanding(NH_A, &W.tka, NH_C) != c))
        nh_sleep_ms(50);
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_B), b, what);
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_C), c, what);
}

/* Vault alpha's TKA figures against A's Portal, lane by lane. */
static void assert_books(bh_u128 locked_want, bh_u128 b, bh_u128 c)
{
    bh_u128 locked, out[NH_MAX_CHAINS + 1];
    vault_amounts("alpha", &W.tka, &locked, out);
    assert_u128(locked, locked_want, "vault alpha locked");
    assert_u128(balance(NH_A, &W.tka, &W.ch[NH_A].portal), locked, "Portal A custody");
    assert_u128(out[2], b, "vault alpha outstanding[beta]");
    assert_u128(out[3], c, "vault alpha outstanding[gamma]");
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_B), b, "Portal A outstanding[beta]");
    assert_u128(portal_outstanding(NH_A, &W.tka, NH_C), c, "Portal A outstanding[gamma]");
}

static void test_return_of_hopped_supply_unlocks_home(void **state)
{
    (void)state;
    bh_u128 home0 = balance(NH_A, &W.tka, &W.user);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_C, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &w_tka_c, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_C, &w_tka_c, &W.user, nh_units(10), WAIT_MS, "A->C", NULL));

    /* the hop: 4 of them C -> B */
    NH_OK(nh_burn(&W, NH_C, &w_tka_c, nh_units(4), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &w_tka_b, &W.user, nh_units(4), WAIT_MS, "hop C->B", NULL));
    wait_books(nh_units(4), nh_units(6), "A's Portal after the hop's notice");
    assert_books(nh_units(10), nh_units(4), nh_units(6));

    /* the hopped supply goes home from B: unlocked on A */
    NH_OK(nh_burn(&W, NH_B, &w_tka_b, nh_units(4), NH_A, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_A, &W.tka, &W.user, home0 - nh_units(6), WAIT_MS,
                          "return B->A of hopped supply", NULL));
    assert_books(nh_units(6), 0, nh_units(6));
    assert_u128(supply(NH_B, &w_tka_b), 0, "wrapped TKA on B");
    assert_u128(supply(NH_C, &w_tka_c), nh_units(6), "wrapped TKA on C");

    /* and the holder who stayed on C is not stuck: 2 go home */
    NH_OK(nh_burn(&W, NH_C, &w_tka_c, nh_units(2), NH_A, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_A, &W.tka, &W.user, home0 - nh_units(4), WAIT_MS,
                          "return C->A after the hop", NULL));
    assert_books(nh_units(4), 0, nh_units(4));
    const char *audit[] = {"audit", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, audit), 0);
    /* and against the chains: custody and A's Portal lane by lane; the
     * audit waits for the node to pass the deliveries it just made */
    const char *chain_audit[] = {"audit", "--config", W.node[0].cfg, NULL};
    char *out = NULL;
    int st = nh_vaultctl(&W, 1, &out, chain_audit);
    if (st != 0) fail_msg("vaultctl audit --config exited %d: %s", st, out ? out : "");
    free(out);
    char *log = nh_node_log(&W, 1);
    const char *failed[] = {"event=delivery_failed", NULL};
    assert_int_equal(nh_log_count(log, failed), 0);
    free(log);
}

/* A hop notice C -> B of `amount` TKA, sequence `seq`, signed with the
 * stolen attester key and sent to A's Portal. Returns the submit status. */
static int forged_notice(uint64_t seq, bh_u128 amount, bh_submit_outcome *outcome)
{
    bh_transfer t;
    memset(&t, 0, sizeof t);
    bh_u256_from_u128(&t.amount, amount);
    memset(&t.token, 0, sizeof t.token);
    memcpy(t.token.data + 12, W.tka.data, 20);
    t.token_chain = W.ch[NH_A].bridge_id;
    memcpy(t.to.data + 12, W.attacker.data, 20);
    t.to_chain = W.ch[NH_B].bridge_id;
    unsigned char payload[BH_TRANSFER_LEN];
    bh_transfer_serialize(payload, &t);
    bh_vaa_body b = {.timestamp = 1,
                     .nonce = 7,
                     .emitter_chain = W.ch[NH_C].bridge_id,
                     .sequence = seq,
                     .consistency = 1,
                     .payload = payload,
                     .payload_len = sizeof payload};
    memcpy(b.emitter.data + 12, W.ch[NH_C].portal.data, 20);
    unsigned char body[BH_VAA_BODY_FIXED + BH_TRANSFER_LEN];
    size_t blen = 0, vlen = 0;
    NH_OK(bh_vaa_body_serialize(body, sizeof body, &blen, &b));
    unsigned char vaa[BH_VAA_HEADER_FIXED + BH_VAA_SIG_LEN + sizeof body];
    NH_OK(bh_portal_sign_vaa(W.ctx, vaa, sizeof vaa, &vlen, 0, 0, &W.att[0], body, blen));
    unsigned approvals = 0;
    return bh_portal_submit(W.ch[NH_A].deployer, outcome, &approvals, &W.ch[NH_A].portal, vaa,
                            vlen);
}

static void test_forged_hop_is_charged_to_its_source_lane(void **state)
{
    (void)state;
    /* from the case above: A's Portal books 4 under gamma, 0 under beta */
    wait_books(0, nh_units(4), "A's Portal before the forged hops");
    bh_u128 custody = balance(NH_A, &W.tka, &W.ch[NH_A].portal);
    bh_submit_outcome o;
    /* more than gamma holds: refused, nothing moves */
    assert_int_equal(forged_notice(1000, nh_units(4) + 1, &o), BH_EREVERTED);
    wait_books(0, nh_units(4), "A's Portal after a forged hop beyond gamma's lane");
    /* all gamma holds: moved to beta, charged to gamma, nothing paid */
    assert_int_equal(forged_notice(1001, nh_units(4), &o), BH_OK);
    assert_int_equal(o, BH_SUBMIT_EXECUTED);
    wait_books(nh_units(4), 0, "A's Portal after a forged hop of gamma's whole lane");
    /* the same notice again is a no-op; gamma has nothing left to move */
    assert_int_equal(forged_notice(1001, nh_units(4), &o), BH_OK);
    assert_int_equal(o, BH_SUBMIT_ALREADY_DONE);
    assert_int_equal(forged_notice(1002, 1, &o), BH_EREVERTED);
    wait_books(nh_units(4), 0, "A's Portal at the end");
    assert_u128(balance(NH_A, &W.tka, &W.ch[NH_A].portal), custody, "Portal A custody");
    assert_u128(balance(NH_A, &W.tka, &W.attacker), 0, "the attacker's TKA on A");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_return_of_hopped_supply_unlocks_home),
        cmocka_unit_test(test_forged_hop_is_charged_to_its_source_lane),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
