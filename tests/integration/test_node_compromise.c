/* Segmentation under a compromised chain, end to end. Chain C (gamma) runs
 * a RoguePortal: after a legitimate transfer of X TKA from A to C it emits
 * forged events for far more than X:
 *  - burns of A's wrapped TKA going home to A: 25 small ones and one of
 *    X/2, all within what A really sent to C, then 100·X, and a hop of
 *    100·X of it to B;
 *  - a forged lock of C's own token (no ERC-20 transfer behind it) and a
 *    "lock" on C that claims A's TKA;
 *  - a burn of B's TKB, which B never sent to C.
 * The promise (docs/ARCHITECTURE.md §1): a burn counts only when its
 * receipt shows the Portal's wrapped token burnt, so a compromised Portal
 * costs vault A nothing (ledger and A's Portal custody) even within X;
 * vault B loses nothing; the first forged burn quarantines C by itself
 * (journaled with actor "breaker" and the evidence); an honest burn on C
 * still goes home; and A<->B transfers made afterwards keep flowing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test.h"

/* The quarantine entry of chain 3 in a vault's `show --json`, or NULL. */
static json_t *quarantine_of_c(json_t *show)
{
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(show, "quarantined"), i, q)
    {
        if (json_integer_value(json_object_get(q, "chain")) == 3) return q;
    }
    return NULL;
}

/* Wait until the vaults have applied or refused n events from gamma. */
static int wait_gamma_outcomes(size_t n)
{
    const char *applied[] = {"event=applied", "from=gamma", NULL};
    const char *rejected[] = {"event=rejected", "from=gamma", NULL};
    uint64_t end = nh_now_ms() + WAIT_MS;
    size_t have = 0;
    while (nh_now_ms() < end) {
        char *log = nh_node_log(&W, 1);
        have = nh_log_count(log, applied) + nh_log_count(log, rejected);
        free(log);
        if (have >= n) return 0;
        nh_sleep_ms(50);
    }
    nh_dump_logs(&W, 40);
    fprintf(stderr, "only %zu of %zu events from gamma applied or refused\n", have, n);
    return -1;
}

static int setup(void **state)
{
    (void)state;
    nh_opts o = {
        .n_chains = 3, .n_attesters = 1, .quorum = 1, .rogue_c = 1, .tkc = 1, .evm_id_base = 7200};
    return nt_world_up(o, 1);
}

static void test_compromised_chain_costs_at_most_what_it_was_sent(void **state)
{
    (void)state;
    const bh_u128 X = nh_units(100);
    bh_address w_tka_c, w_tkb_a, w_tka_b;
    bh_u128 user_tka0 = balance(NH_A, &W.tka, &W.user);
    bh_u128 user_tkb0 = balance(NH_B, &W.tkb, &W.user);

    /* Legitimate traffic first: 10 TKB from B to A (vault B has a ledger
     * to lose), then X TKA from A to C. */
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(10), NH_A, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_A, NH_B, &W.tkb, &w_tkb_a, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_A, &w_tkb_a, &W.user, nh_units(10), WAIT_MS, "TKB B->A", NULL));
    NH_OK(nh_lock(&W, NH_A, &W.tka, X, NH_C, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &w_tka_c, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_C, &w_tka_c, &W.user, X, WAIT_MS, "TKA A->C", NULL));

    bh_u128 locked_a0, out_a0[NH_MAX_CHAINS + 1], locked_b0, out_b0[NH_MAX_CHAINS + 1];
    vault_amounts("alpha", &W.tka, &locked_a0, out_a0);
    vault_amounts("beta", &W.tkb, &locked_b0, out_b0);
    assert_u128(locked_a0, X, "vault alpha locked before the attack");
    assert_u128(out_a0[3], X, "vault alpha outstanding[gamma] before the attack");
    assert_u128(locked_b0, nh_units(10), "vault beta locked before the attack");
    bh_u128 custody_a0 = balance(NH_A, &W.tka, &W.ch[NH_A].portal);
    bh_u128 custody_b0 = balance(NH_B, &W.tkb, &W.ch[NH_B].portal);
    assert_u128(custody_a0, X, "Portal A custody before the attack");

    /* The attack; every event below has nothing behind it.
     * Phase 0, the receipt check alone (the breaker told to ignore forged
     * burns): 25 forged burns of X/25 going home to A. They fit in what A
     * really sent to C, yet each is refused: no wrapped TKA was burnt. An
     * honest burn on C, mixed in, goes home. */
    const bh_address *att = &W.attacker;
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    json_t *cfg = nh_node_config(&W, 1);
    json_t *brk = json_object_get(cfg, "breaker");
    if (!brk) {
        brk = json_object();
        json_object_set_new(cfg, "breaker", brk);
    }
    json_object_set_new(brk, "forged_burn", json_integer(0));
    NH_OK(nh_node_write_config(&W, 1, cfg));
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    for (int i = 0; i < 25; i++)
        NH_OK(nh_rogue_forge(&W, 1, &W.tka, 1, NH_A, att, X / 25, 0));
    bh_u128 honest = nh_units(1);
    NH_OK(nh_burn(&W, NH_C, &w_tka_c, honest, NH_A, &W.user, 0, NULL));
    NH_OK(wait_gamma_outcomes(26));
    const char *forged[] = {"event=rejected", "vault=alpha from=gamma", "reason=forged_burn", NULL};
    NH_OK(nh_log_wait(&W, 1, forged, 25, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_A, &W.tka, &W.user, user_tka0 - X + honest, WAIT_MS,
                          "honest burn C->A among forged ones", NULL));
    char *log = nh_node_log(&W, 1);
    const char *accepted[] = {"event=applied", "vault=alpha from=gamma", "status=accepted", NULL};
    assert_int_equal(nh_log_count(log, accepted), 1); /* the honest one */
    const char *q_none[] = {"event=quarantined", NULL};
    assert_int_equal(nh_log_count(log, q_none), 0);
    free(log);
    assert_u128(balance(NH_A, &W.tka, att), 0, "the attacker's TKA on A after 25 forged burns");
    assert_u128(balance(NH_A, &W.tka, &W.ch[NH_A].portal), custody_a0 - honest,
                "Portal A custody after 25 forged burns");
    custody_a0 -= honest;
    print_message("phase 0: 25 forged burns within outstanding refused, honest burn delivered\n");

    /* Phase 1, shipped defaults: one forged burn of X/2 is refused and
     * quarantines C at once. */
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    cfg = nh_node_config(&W, 1);
    json_object_del(json_object_get(cfg, "breaker"), "forged_burn");
    NH_OK(nh_node_write_config(&W, 1, cfg));
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    NH_OK(nh_rogue_forge(&W, 1, &W.tka, 1, NH_A, att, X / 2, 0));
    const char *quarantined[] = {"event=quarantined", "chain=gamma", NULL};
    NH_OK(nh_log_wait(&W, 1, forged, 1, WAIT_MS));
    NH_OK(nh_log_wait(&W, 1, quarantined, 1, WAIT_MS));

    /* Phase 3: far beyond, of every kind, and into a vault that sent C
     * nothing. */
    NH_OK(nh_rogue_forge(&W, 1, &W.tka, 1, NH_A, att, 100 * X, 0)); /* burn, 100 X */
    NH_OK(nh_rogue_forge(&W, 0, &W.tkc, 3, NH_A, att, 100 * X, 0)); /* lock, unbacked */
    NH_OK(nh_rogue_forge(&W, 0, &W.tka, 1, NH_A, att, 100 * X, 0)); /* "lock" of A's TKA */
    NH_OK(nh_rogue_forge(&W, 1, &W.tkb, 2, NH_B, att, 100 * X, 0)); /* burn of TKB */
    NH_OK(nh_rogue_forge(&W, 1, &W.tka, 1, NH_B, att, 100 * X, 0)); /* hop to B */
    NH_OK(nh_rogue_forge(&W, 1, &W.tka, 1, NH_A, att, X / 2, 0));

    /* The breaker quarantined C by itself, for the forged burn. */
    log = nh_node_log(&W, 1);
    const char *q_any[] = {"event=quarantined", NULL};
    assert_int_equal(nh_log_count(log, q_any), 1); /* C only */
    const char *line = strstr(log, "event=quarantined");
    char cause[64] = "", evidence[256] = "";
    NH_OK(nh_log_field(line, "cause", cause, sizeof cause));
    NH_OK(nh_log_field(line, "evidence", evidence, sizeof evidence));
    print_message("quarantine: cause=%s evidence=%s\n", cause, evidence);
    assert_string_equal(cause, "forged_burn");
    free(log);

    /* A<->B after the attack: every kind of transfer still flows. */
    bh_u128 post_a = nh_units(20);
    NH_OK(nh_lock(&W, NH_A, &W.tka, post_a, NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &w_tka_b, &W.user, post_a, WAIT_MS, "TKA A->B after", NULL));
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(5), NH_A, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_A, &w_tkb_a, &W.user, nh_units(15), WAIT_MS, "TKB B->A after",
                          NULL));
    NH_OK(nh_burn(&W, NH_A, &w_tkb_a, nh_units(3), NH_B, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_B, &W.tkb, &W.user, user_tkb0 - nh_units(12), WAIT_MS,
                          "TKB home to B after", NULL));
    NH_OK(nh_burn(&W, NH_B, &w_tka_b, nh_units(5), NH_A, &W.user, 0, NULL));
    NH_OK(nh_wait_balance(&W, NH_A, &W.tka, &W.user, user_tka0 - X + honest - post_a + nh_units(5),
                          WAIT_MS, "TKA home to A after", NULL));
    bh_u128 net_a = post_a - nh_units(5); /* legit TKA custody added after the attack */

    /* Everything from before is settled: stop the node (it finishes its
     * batch) and judge the damage. */
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);

    /* Vault A and A's custody lost nothing. */
    bh_u128 custody_a = balance(NH_A, &W.tka, &W.ch[NH_A].portal);
    assert_true(custody_a <= custody_a0 + net_a);
    bh_u128 loss = custody_a0 + net_a - custody_a;
    print_message("vault A lost %s of X = %s\n", nh_u128_str(loss), nh_u128_str(X));
    assert_u128(loss, 0, "A's loss to a compromised Portal");
    assert_u128(balance(NH_A, &W.tka, att), 0, "the attacker's TKA on A");
    bh_u128 locked_a, out_a[NH_MAX_CHAINS + 1];
    vault_amounts("alpha", &W.tka, &locked_a, out_a);
    assert_u128(locked_a, custody_a, "vault alpha locked = A's custody");
    assert_u128(out_a[3], X - honest, "vault alpha outstanding[gamma]");
    assert_u128(out_a[2], nh_units(15), "vault alpha outstanding[beta]");
    assert_u128(supply(NH_B, &w_tka_b), nh_units(15), "wrapped TKA on B (no forged hop)");
    assert_u128(balance(NH_B, &w_tka_b, att), 0, "the attacker's wrapped TKA on B");

    /* Vault B and B's custody: exactly the legitimate flows. */
    bh_u128 locked_b, out_b[NH_MAX_CHAINS + 1];
    vault_amounts("beta", &W.tkb, &locked_b, out_b);
    assert_u128(locked_b, nh_units(12), "vault beta locked");
    assert_u128(out_b[1], nh_units(12), "vault beta outstanding[alpha]");
    assert_u128(out_b[3], 0, "vault beta outstanding[gamma]");
    assert_u128(balance(NH_B, &W.tkb, &W.ch[NH_B].portal), custody_b0 + nh_units(2),
                "Portal B custody");
    assert_u128(balance(NH_B, &W.tkb, att), 0, "the attacker's TKB on B");
    assert_u128(supply(NH_A, &w_tkb_a), nh_units(12), "wrapped TKB on A");

    /* C is quarantined in every vault, by the breaker, with the evidence. */
    const char *vaults[] = {"alpha", "beta", "gamma"};
    for (size_t i = 0; i < 3; i++) {
        json_t *show = nh_vault_show(&W, 1, vaults[i]);
        assert_non_null(show);
        json_t *q = quarantine_of_c(show);
        if (!q) fail_msg("vault %s does not show chain 3 quarantined", vaults[i]);
        assert_string_equal(json_string_value(json_object_get(q, "actor")), "breaker");
        const char *reason = json_string_value(json_object_get(q, "reason"));
        assert_non_null(reason);
        assert_true(strlen(reason) > 0);
        json_decref(show);
    }
    char *out = NULL;
    const char *jargs[] = {"journal", "alpha", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, jargs), 0);
    json_t *journal = nh_vaultctl_data(out);
    free(out);
    assert_non_null(journal);
    size_t i, freezes = 0;
    json_t *e;
    json_array_foreach(journal, i, e)
    {
        const char *kind = json_string_value(json_object_get(e, "kind"));
        if (!kind || strcmp(kind, "freeze") != 0) continue;
        freezes++;
        assert_int_equal(json_integer_value(json_object_get(e, "chain")), 3);
        assert_string_equal(json_string_value(json_object_get(e, "actor")), "breaker");
        const char *reason = json_string_value(json_object_get(e, "reason"));
        assert_non_null(reason);
        print_message("journal: freeze gamma by breaker: %s\n", reason);
        /* The evidence names the cause the node logged. */
        if (!strstr(reason, cause))
            fail_msg("freeze reason '%s' does not name the cause %s", reason, cause);
    }
    json_decref(journal);
    assert_int_equal(freezes, 1);
    /* `list`: every vault shows C quarantined. */
    const char *list[] = {"list", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, list), 0);
    json_t *vl = nh_vaultctl_data(out);
    free(out);
    assert_int_equal(json_array_size(vl), 3);
    json_array_foreach(vl, i, e)
    {
        json_t *q = json_object_get(e, "quarantined");
        assert_int_equal(json_array_size(q), 1);
        assert_int_equal(json_integer_value(json_array_get(q, 0)), 3);
    }
    json_decref(vl);

    /* Nothing C forged waits for an operator to release it by mistake:
     * phase 3's burns and hop were judged on their receipts (forged_burn),
     * its locks on theirs (forged_lock, or the "lock" of TKA malformed);
     * a quarantine holds only what is otherwise valid. */
    const char *pending[] = {"pending", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, pending), 0);
    json_t *pl = nh_vaultctl_data(out);
    free(out);
    assert_non_null(pl);
    size_t held_alpha = 0, held_beta = 0;
    json_array_foreach(pl, i, e)
    {
        assert_int_equal(json_integer_value(json_object_get(e, "from")), 3);
        assert_true(json_is_false(json_object_get(e, "applied")));
        assert_string_equal(json_string_value(json_object_get(e, "cause")), "quarantine");
        const char *v = json_string_value(json_object_get(e, "vault"));
        if (v && !strcmp(v, "alpha")) held_alpha++;
        if (v && !strcmp(v, "beta")) held_beta++;
    }
    json_decref(pl);
    assert_int_equal(held_alpha, 0);
    assert_int_equal(held_beta, 0);
    log = nh_node_log(&W, 1);
    const char *forged_b[] = {"event=rejected", "vault=beta from=gamma", "reason=forged_burn",
                              NULL};
    assert_int_equal(nh_log_count(log, forged), 25 + 1 + 3);
    assert_int_equal(nh_log_count(log, forged_b), 1);
    free(log);
    const char *audit[] = {"audit", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, audit), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compromised_chain_costs_at_most_what_it_was_sent),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
