/* Supply reconciliation and the audit against the chain (issue 13), on
 * three anvil chains (A alpha, B beta, C gamma), one node reconciling every
 * second (node.reconcile_s 1), Portals 1-of-1:
 *  - honest traffic (locks A->B, A->C, B->A of TKB, returns B->A, sent
 *    without waiting, so deliveries are in flight at every reconciliation)
 *    raises no difference and quarantines nothing; the drift metrics read
 *    0 and `vaultctl reconciliation` is clean;
 *  - `vaultctl audit --config` matches the chains after it, and names the
 *    difference once TKB is sent straight into B's Portal (custody above
 *    locked); the node's own audit names it too, and quarantines nothing;
 *  - a hop B->C keeps the supply of both lanes and the home Portal's
 *    outstanding reconciled;
 *  - kill -9 mid-flow and restarts: no quarantine, no supply excess, and
 *    once settled every supply line reconciles;
 *  - a rogue minter (B's Portal address impersonated on anvil calls mint on
 *    wrapped TKA) is caught by the first reconciliation of B whose height
 *    covers the mint, which quarantines B with the figures as evidence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test.h"

#include "bh_amount.h"
#include "bh_rpc.h"

static bh_address wrapped_a_on_b, wrapped_a_on_c, wrapped_b_on_a;
static const char *const chain_names[] = {"alpha", "beta", "gamma"};

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 3, .n_attesters = 1, .quorum = 1, .evm_id_base = 7700};
    if (nt_world_up(o, 0) != 0) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    json_object_set_new(json_object_get(cfg, "node"), "reconcile_s", json_integer(1));
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return nh_node_enable_metrics(&W, 1);
}

static uint64_t head_of(size_t chain)
{
    json_t *r = it_rpc(W.ch[chain].anvil.url, "eth_blockNumber", NULL);
    uint64_t h = 0;
    if (bh_rpc_read_quantity(&h, r) != BH_OK) fail_msg("eth_blockNumber on %s", W.ch[chain].name);
    json_decref(r);
    return h;
}

/* `vaultctl reconciliation --json`, parsed (caller decrefs); *status its exit. */
static json_t *recon_doc(int *status)
{
    char *out = NULL;
    const char *args[] = {"reconciliation", "--json", NULL};
    int st = nh_vaultctl(&W, 1, &out, args);
    json_t *j = nh_vaultctl_data(out);
    if (!j) fail_msg("vaultctl reconciliation exited %d: %s", st, out ? out : "");
    free(out);
    if (status) *status = st;
    return j;
}

static const json_t *recon_of(const json_t *doc, const char *chain)
{
    size_t i;
    const json_t *r;
    json_array_foreach(doc, i, r)
    {
        const char *c = json_string_value(json_object_get(r, "chain"));
        if (c && !strcmp(c, chain)) return r;
    }
    return NULL;
}

static const json_t *line_of(const json_t *rec, const char *check, const char *vault,
                             const char *lane)
{
    size_t i;
    const json_t *l;
    json_array_foreach(json_object_get(rec, "lines"), i, l)
    {
        if (!strcmp(json_string_value(json_object_get(l, "check")), check) &&
            !strcmp(json_string_value(json_object_get(l, "vault")), vault) &&
            !strcmp(json_string_value(json_object_get(l, "lane")), lane))
            return l;
    }
    return NULL;
}

/* Wait until every chain was reconciled at or above the head it has now and
 * after the node settled; returns the document (caller decrefs). */
static json_t *wait_reconciled_now(void)
{
    uint64_t want[NH_MAX_CHAINS];
    for (size_t i = 0; i < W.n_chains; i++)
        want[i] = head_of(i);
    uint64_t end = nh_now_ms() + WAIT_MS;
    for (;;) {
        json_t *doc = recon_doc(NULL);
        size_t done = 0;
        for (size_t i = 0; i < W.n_chains; i++) {
            const json_t *r = recon_of(doc, chain_names[i]);
            if (r && (uint64_t)json_integer_value(json_object_get(r, "block")) >= want[i] &&
                json_is_true(json_object_get(r, "settled")))
                done++;
        }
        if (done == W.n_chains) return doc;
        json_decref(doc);
        if (nh_now_ms() > end) {
            nh_dump_logs(&W, 40);
            fail_msg("the chains were not all reconciled past their heads within %u ms", WAIT_MS);
        }
        nh_sleep_ms(200);
    }
}

static size_t log_count(const char *const *needles)
{
    char *log = nh_node_log(&W, 1);
    size_t n = nh_log_count(log, needles);
    free(log);
    return n;
}

static void assert_line_status(const json_t *doc, const char *chain, const char *check,
                               const char *vault, const char *lane, const char *status)
{
    const json_t *l = line_of(recon_of(doc, chain), check, vault, lane);
    if (!l)
        fail_msg("no %s line for vault %s lane '%s' in the reconciliation of %s", check, vault,
                 lane, chain);
    const char *st = json_string_value(json_object_get(l, "status"));
    if (strcmp(st, status))
        fail_msg("%s of vault %s lane '%s' on %s: %s (drift %s), expected %s", check, vault, lane,
                 chain, st, json_string_value(json_object_get(l, "drift")), status);
}

static double metric(const char *family, const char *const *labels)
{
    int port = 0;
    NH_OK(nh_node_metrics_port(&W, 1, WAIT_MS, &port));
    int status = 0;
    char *body = NULL;
    NH_OK(nh_http_get(port, "/metrics", &status, &body));
    double v = 0;
    int rc = nh_metric(body, family, labels, &v);
    if (rc) fail_msg("no sample of %s in /metrics:\n%s", family, body);
    free(body);
    return v;
}

static const char *const no_quarantine[] = {"event=quarantined", NULL};
static const char *const any_difference[] = {"event=reconcile_difference", NULL};

/* Wait until holder has at least `want` of token on chain. */
static void wait_at_least(size_t chain, const bh_address *token, const bh_address *holder,
                          bh_u128 want, const char *what)
{
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (balance(chain, token, holder) < want) {
        if (nh_now_ms() > end) {
            nh_dump_logs(&W, 40);
            fail_msg("%s: below %s after %u ms", what, nh_u128_str(want), WAIT_MS);
        }
        nh_sleep_ms(20);
    }
}

static void test_honest_traffic_never_drifts(void **state)
{
    (void)state;
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    bh_u128 on_b = 0, on_c = 0, tkb_on_a = 0;
    /* locks, returns and TKB both ways for a few seconds, nothing waited
     * for: deliveries are in flight at every reconciliation */
    for (unsigned i = 1; i <= 16; i++) {
        NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10 + i), NH_B, &W.user, nh_units(1), NULL));
        on_b += nh_units(10 + i);
        if (i % 3 == 0) {
            NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(i), NH_C, &W.user, 0, NULL));
            on_c += nh_units(i);
        }
        if (i % 4 == 1) {
            NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(20), NH_A, &W.user, 0, NULL));
            tkb_on_a += nh_units(20);
        }
        if (i == 2) {
            NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped_a_on_b, WAIT_MS));
            NH_OK(nh_wait_wrapped(&W, NH_A, NH_B, &W.tkb, &wrapped_b_on_a, WAIT_MS));
        }
        if (i > 2 && i % 2 == 0) {
            wait_at_least(NH_B, &wrapped_a_on_b, &W.user, nh_units(2), "wrapped TKA on B");
            NH_OK(nh_burn(&W, NH_B, &wrapped_a_on_b, nh_units(2), NH_A, &W.user, 0, NULL));
            on_b -= nh_units(2);
            wait_at_least(NH_A, &wrapped_b_on_a, &W.user, nh_units(3), "wrapped TKB on A");
            NH_OK(nh_burn(&W, NH_A, &wrapped_b_on_a, nh_units(3), NH_B, &W.user, 0, NULL));
            tkb_on_a -= nh_units(3);
        }
        nh_sleep_ms(250); /* pace the traffic over several reconciliations */
    }
    NH_OK(nh_wait_wrapped(&W, NH_C, NH_A, &W.tka, &wrapped_a_on_c, WAIT_MS));
    const char *rec_b[] = {"event=reconciled", "chain=beta", NULL};
    size_t rounds = log_count(rec_b);

    /* everything lands */
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (supply(NH_B, &wrapped_a_on_b) != on_b || supply(NH_C, &wrapped_a_on_c) != on_c ||
           supply(NH_A, &wrapped_b_on_a) != tkb_on_a) {
        if (nh_now_ms() > end) {
            nh_dump_logs(&W, 40);
            fail_msg("the transfers did not all land");
        }
        nh_sleep_ms(100);
    }
    json_t *doc = wait_reconciled_now();
    print_message("reconciliations of beta while the traffic flowed: %zu\n", rounds);
    assert_true(rounds >= 4);

    /* not one difference at any reconciliation, nothing quarantined */
    if (log_count(any_difference) || log_count(no_quarantine)) {
        nh_dump_logs(&W, 60);
        fail_msg("honest traffic raised a reconciliation difference or a quarantine");
    }
    assert_line_status(doc, "beta", "supply", "alpha", "beta", "ok");
    assert_line_status(doc, "gamma", "supply", "alpha", "gamma", "ok");
    assert_line_status(doc, "alpha", "supply", "beta", "alpha", "ok");
    assert_line_status(doc, "alpha", "custody", "alpha", "", "ok");
    assert_line_status(doc, "alpha", "portal_outstanding", "alpha", "beta", "ok");
    assert_line_status(doc, "beta", "custody", "beta", "", "ok");
    const json_t *l = line_of(recon_of(doc, "beta"), "supply", "alpha", "beta");
    bh_u128 onchain = 0;
    NH_OK(bh_u128_from_dec(&onchain, json_string_value(json_object_get(l, "onchain")),
                           strlen(json_string_value(json_object_get(l, "onchain")))));
    assert_u128(onchain, on_b, "reconciled supply of wrapped TKA on beta");
    json_decref(doc);

    int st = 0;
    json_decref(recon_doc(&st));
    assert_int_equal(st, 0);
    const char *lb[] = {"vault=\"alpha\"", "asset=\"TKA\"", "chain=\"beta\"", NULL};
    assert_true(metric("bulkhead_supply_drift", lb) == 0);
    const char *cb[] = {"chain=\"beta\"", NULL};
    assert_true(metric("bulkhead_reconciled_block", cb) > 0);
}

static void test_audit_against_chain_names_a_planted_difference(void **state)
{
    (void)state;
    char *out = NULL;
    const char *audit[] = {"audit", "--config", W.node[0].cfg, NULL};
    int st = nh_vaultctl(&W, 1, &out, audit);
    if (st != 0) fail_msg("vaultctl audit --config exited %d after honest traffic:\n%s", st, out);
    print_message("%s", out);
    free(out);

    /* custody the vault never heard of: the node's own audit names it once
     * its cursor passes the transfer, and quarantines nothing for it */
    bh_u128 planted = nh_units(3);
    NH_OK(nh_transfer_to_portal(&W, NH_B, &W.tkb, planted));
    const char *named[] = {"event=reconcile_difference", "check=custody", "vault=beta",
                           "status=excess", NULL};
    NH_OK(nh_log_wait(&W, 1, named, 1, WAIT_MS));
    st = nh_vaultctl(&W, 1, &out, audit);
    print_message("%s", out);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "custody vault beta TKB"));
    assert_non_null(strstr(out, "MISMATCH excess"));
    free(out);
    const char *audit_json[] = {"audit", "--config", W.node[0].cfg, "--json", NULL};
    st = nh_vaultctl(&W, 1, &out, audit_json);
    assert_int_equal(st, 1);
    json_t *j = nh_vaultctl_data(out); /* exit 1: data and the error */
    free(out);
    assert_non_null(j);
    const json_t *l =
        line_of(recon_of(json_object_get(j, "chains"), "beta"), "custody", "beta", "");
    assert_non_null(l);
    assert_string_equal(json_string_value(json_object_get(l, "status")), "excess");
    assert_string_equal(json_string_value(json_object_get(l, "drift")), nh_u128_str(planted));
    /* nothing else differs */
    assert_line_status(json_object_get(j, "chains"), "alpha", "custody", "alpha", "", "ok");
    assert_line_status(json_object_get(j, "chains"), "beta", "portal_outstanding", "beta", "alpha",
                       "ok");
    json_decref(j);

    json_t *doc = wait_reconciled_now();
    assert_line_status(doc, "beta", "custody", "beta", "", "excess");
    json_decref(doc);
    const char *lb[] = {"vault=\"beta\"", "asset=\"TKB\"", NULL};
    char want[64];
    snprintf(want, sizeof want, "%s", nh_u128_str(planted));
    assert_true(metric("bulkhead_custody_drift", lb) == strtod(want, NULL));
    assert_int_equal(log_count(no_quarantine), 0);
}

static void test_hop_keeps_supply_reconciled(void **state)
{
    (void)state;
    bh_u128 c0 = supply(NH_C, &wrapped_a_on_c), b0 = supply(NH_B, &wrapped_a_on_b);
    NH_OK(nh_burn(&W, NH_B, &wrapped_a_on_b, nh_units(8), NH_C, &W.user, 0, NULL));
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (supply(NH_C, &wrapped_a_on_c) != c0 + nh_units(8)) {
        if (nh_now_ms() > end) fail_msg("the hop B->C did not land");
        nh_sleep_ms(100);
    }
    assert_u128(supply(NH_B, &wrapped_a_on_b), b0 - nh_units(8), "supply on B after the hop");
    /* the home Portal follows the hop through its notice */
    end = nh_now_ms() + WAIT_MS;
    bh_u128 locked, out[NH_MAX_CHAINS + 1];
    for (;;) {
        vault_amounts("alpha", &W.tka, &locked, out);
        if (portal_outstanding(NH_A, &W.tka, NH_C) == out[3]) break;
        if (nh_now_ms() > end) fail_msg("the hop notice did not reach A's Portal");
        nh_sleep_ms(100);
    }
    json_t *doc = wait_reconciled_now();
    assert_line_status(doc, "beta", "supply", "alpha", "beta", "ok");
    assert_line_status(doc, "gamma", "supply", "alpha", "gamma", "ok");
    assert_line_status(doc, "alpha", "portal_outstanding", "alpha", "beta", "ok");
    assert_line_status(doc, "alpha", "portal_outstanding", "alpha", "gamma", "ok");
    json_decref(doc);
    const char *supply_diff[] = {"event=reconcile_difference", "check=supply", NULL};
    const char *portal_diff[] = {"event=reconcile_difference", "check=portal_outstanding", NULL};
    assert_int_equal(log_count(supply_diff), 0);
    assert_int_equal(log_count(portal_diff), 0);
    assert_int_equal(log_count(no_quarantine), 0);
}

static unsigned rnd(unsigned *s, unsigned n)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) % n;
}

static void test_kill9_with_reconciliation(void **state)
{
    (void)state;
    unsigned s = (unsigned)nh_now_ms();
    bh_u128 b0 = supply(NH_B, &wrapped_a_on_b), sent = 0;
    for (unsigned i = 0; i < 12; i++) {
        NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(i + 1), NH_B, &W.user, 0, NULL));
        sent += nh_units(i + 1);
        if (i % 4 == 3) {
            NH_OK(nh_burn(&W, NH_B, &wrapped_a_on_b, nh_units(1), NH_A, &W.user, 0, NULL));
            sent -= nh_units(1);
        }
        if (i % 4 == 1) {
            nh_sleep_ms(100 + rnd(&s, 900));
            nh_node_kill(&W, 1);
            NH_OK(nh_node_start(&W, 1, WAIT_MS));
        }
    }
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (supply(NH_B, &wrapped_a_on_b) != b0 + sent) {
        if (nh_now_ms() > end) {
            nh_dump_logs(&W, 40);
            fail_msg("the transfers across kill -9 did not all land");
        }
        nh_sleep_ms(100);
    }
    json_t *doc = wait_reconciled_now();
    assert_line_status(doc, "beta", "supply", "alpha", "beta", "ok");
    assert_line_status(doc, "alpha", "custody", "alpha", "", "ok");
    assert_line_status(doc, "alpha", "portal_outstanding", "alpha", "beta", "ok");
    json_decref(doc);
    /* never an excess of supply or a custody shortfall, never a quarantine */
    const char *excess[] = {"event=reconcile_difference", "check=supply", "status=excess", NULL};
    const char *short_c[] = {"event=reconcile_difference", "check=custody", "status=short", NULL};
    assert_int_equal(log_count(excess), 0);
    assert_int_equal(log_count(short_c), 0);
    assert_int_equal(log_count(no_quarantine), 0);
}

static void test_rogue_mint_quarantines_at_first_reconciliation(void **state)
{
    (void)state;
    bh_u128 x = nh_units(1000);
    uint64_t mint_block = 0;
    NH_OK(nh_rogue_mint(&W, NH_B, &wrapped_a_on_b, &W.attacker, x, &mint_block));
    assert_u128(balance(NH_B, &wrapped_a_on_b, &W.attacker), x, "the rogue mint");
    const char *q[] = {"event=quarantined", "chain=beta", "cause=supply_drift", NULL};
    NH_OK(nh_log_wait(&W, 1, q, 1, WAIT_MS));

    /* the first reconciliation of beta at or above the mint's block caught it */
    char *log = nh_node_log(&W, 1);
    const char *line = log;
    int found = 0;
    while ((line = strstr(line, "event=reconciled chain=beta ")) != NULL) {
        char b[32], d[32];
        NH_OK(nh_log_field(line, "block", b, sizeof b));
        NH_OK(nh_log_field(line, "differences", d, sizeof d));
        if (strtoull(b, NULL, 10) >= mint_block) {
            print_message("first reconciliation of beta at or above block %llu: block %s, %s "
                          "differences\n",
                          (unsigned long long)mint_block, b, d);
            assert_true(strtoul(d, NULL, 10) >= 1);
            found = 1;
            break;
        }
        line++;
    }
    assert_true(found);
    const char *ql = strstr(log, "event=quarantined chain=beta");
    assert_non_null(ql);
    char evidence[300] = "";
    NH_OK(nh_log_field(ql, "evidence", evidence, sizeof evidence));
    print_message("evidence: %s\n", ql);
    assert_non_null(strstr(ql, "totalSupply"));
    free(log);

    /* beta is quarantined in every vault; the reconciliation names the figures */
    json_t *show = nh_vault_show(&W, 1, "alpha");
    assert_non_null(show);
    size_t i;
    json_t *qe;
    int frozen = 0;
    json_array_foreach(json_object_get(show, "quarantined"), i, qe)
    {
        if (json_integer_value(json_object_get(qe, "chain")) == 2) frozen = 1;
    }
    json_decref(show);
    assert_true(frozen);
    int st = 0;
    json_t *doc = recon_doc(&st);
    assert_int_equal(st, 1);
    const json_t *l = line_of(recon_of(doc, "beta"), "supply", "alpha", "beta");
    assert_non_null(l);
    assert_string_equal(json_string_value(json_object_get(l, "status")), "excess");
    assert_string_equal(json_string_value(json_object_get(l, "drift")), nh_u128_str(x));
    json_decref(doc);
    const char *lb[] = {"vault=\"alpha\"", "asset=\"TKA\"", "chain=\"beta\"", NULL};
    assert_true(metric("bulkhead_supply_drift", lb) == strtod(nh_u128_str(x), NULL));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest_traffic_never_drifts),
        cmocka_unit_test(test_audit_against_chain_names_a_planted_difference),
        cmocka_unit_test(test_hop_keeps_supply_reconciled),
        cmocka_unit_test(test_kill9_with_reconciliation),
        cmocka_unit_test(test_rogue_mint_quarantines_at_first_reconciliation),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
