/* The reconciliation's verdict (bh_reconcile_judge) for every check × side
 * of the bounds × settled or not, and its metrics: a drift is rendered
 * signed, per vault, asset and chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_be.h"
#include "bh_metrics.h"
#include "prom_expo.h"
#include "bh_reconcile.h"
#include "node_store.h"

static bh_recon_line mk(unsigned check, bh_u128 onchain, bh_u128 ledger, bh_u128 above,
                        bh_u128 below)
{
    bh_recon_line l;
    memset(&l, 0, sizeof l);
    l.check = (uint8_t)check;
    l.onchain = onchain;
    l.ledger = ledger;
    l.above = above;
    l.below = below;
    l.status = BH_RECON_UNREAD;
    return l;
}

/* Within [ledger - below, ledger + above] is ok, at both edges, for every
 * check, settled or not. */
static void test_reconcile_within_bounds_is_ok(void **state)
{
    (void)state;
    for (unsigned check = BH_RECON_SUPPLY; check <= BH_RECON_PORTAL; check++)
        for (int settled = 0; settled < 2; settled++) {
            bh_recon_line e[] = {mk(check, 100, 100, 0, 0), mk(check, 110, 100, 10, 0),
                                 mk(check, 90, 100, 0, 10), mk(check, 0, 5, 0, 5),
                                 mk(check, 105, 100, 10, 10)};
            for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
                bh_reconcile_judge(&e[i], settled);
                assert_int_equal(e[i].status, BH_RECON_OK);
                assert_true(e[i].diff == 0);
            }
        }
}

/* One unit past either edge: excess or short by exactly that much; only the
 * direction each check is exact in (supply above, custody below) is judged
 * before the node settled, the other reads settling. */
static void test_reconcile_beyond_bounds(void **state)
{
    (void)state;
    static const struct {
        unsigned check;
        int above; /* 1: past the upper edge */
        int exact; /* judged before settled */
    } cases[] = {
        {BH_RECON_SUPPLY, 1, 1},  {BH_RECON_SUPPLY, 0, 0}, {BH_RECON_CUSTODY, 1, 0},
        {BH_RECON_CUSTODY, 0, 1}, {BH_RECON_PORTAL, 1, 0}, {BH_RECON_PORTAL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int settled = 0; settled < 2; settled++) {
            bh_recon_line l = cases[i].above ? mk(cases[i].check, 111, 100, 10, 3)
                                             : mk(cases[i].check, 86, 100, 10, 13);
            bh_reconcile_judge(&l, settled);
            unsigned want = cases[i].above ? BH_RECON_EXCESS : BH_RECON_SHORT;
            if (!settled && !cases[i].exact) want = BH_RECON_SETTLING;
            assert_int_equal(l.status, want);
            assert_true(l.diff == 1);
        }
}

/* Sums that saturate never wrap into a false ok; a ledger below its
 * in-flight share floors at 0. */
static void test_reconcile_extremes(void **state)
{
    (void)state;
    bh_u128 max = ~(bh_u128)0;
    bh_recon_line l = mk(BH_RECON_SUPPLY, max, max - 1, 5, 0);
    bh_reconcile_judge(&l, 1);
    assert_int_equal(l.status, BH_RECON_OK); /* ledger + above saturates at max */
    l = mk(BH_RECON_SUPPLY, max, 1, 0, 0);
    bh_reconcile_judge(&l, 0);
    assert_int_equal(l.status, BH_RECON_EXCESS);
    assert_true(l.diff == max - 1);
    l = mk(BH_RECON_CUSTODY, 0, 3, 0, 7);
    bh_reconcile_judge(&l, 0);
    assert_int_equal(l.status, BH_RECON_OK);
}

static void test_reconcile_names(void **state)
{
    (void)state;
    assert_string_equal(bh_reconcile_check_name(BH_RECON_SUPPLY), "supply");
    assert_string_equal(bh_reconcile_check_name(BH_RECON_CUSTODY), "custody");
    assert_string_equal(bh_reconcile_check_name(BH_RECON_PORTAL), "portal_outstanding");
    assert_string_equal(bh_reconcile_check_name(99), "unknown");
    const char *want[] = {"ok", "excess", "short", "settling", "unread", "unconfirmed"};
    for (unsigned s = 0; s < 6; s++)
        assert_string_equal(bh_reconcile_status_name(s), want[s]);
    assert_string_equal(bh_reconcile_status_name(6), "unknown");
}

/* The snapshot's "reconcile" member becomes signed drift gauges and the
 * last reconciled height; a line without a number renders nothing. */
static void test_reconcile_metrics(void **state)
{
    (void)state;
    json_t *snap = json_loads(
        "{\"node\": \"n1\", \"chains\": [], \"vaults\": [], \"reconcile\": [{\"chain\": "
        "\"beta\", \"block\": 120, \"time\": 1790000000, \"settled\": true, \"lines\": ["
        "{\"check\": \"supply\", \"vault\": \"alpha\", \"asset\": \"TKA\", \"lane\": \"beta\", "
        "\"drift\": \"1000\"},"
        "{\"check\": \"custody\", \"vault\": \"beta\", \"asset\": \"TKB\", \"lane\": \"\", "
        "\"drift\": \"-3\"},"
        "{\"check\": \"portal_outstanding\", \"vault\": \"beta\", \"asset\": \"TKB\", "
        "\"lane\": \"alpha\", \"drift\": \"0\"},"
        "{\"check\": \"supply\", \"vault\": \"gamma\", \"asset\": \"TKC\", \"lane\": \"beta\", "
        "\"drift\": \"-x\"}]}]}",
        0, NULL);
    assert_non_null(snap);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(bh_metrics_render(&out, &len, snap), BH_OK);
    json_decref(snap);
    assert_non_null(
        strstr(out, "bulkhead_supply_drift{vault=\"alpha\",asset=\"TKA\",chain=\"beta\"} 1000\n"));
    assert_non_null(strstr(out, "bulkhead_custody_drift{vault=\"beta\",asset=\"TKB\"} -3\n"));
    assert_non_null(strstr(
        out,
        "bulkhead_portal_outstanding_drift{vault=\"beta\",asset=\"TKB\",chain=\"alpha\"} 0\n"));
    assert_non_null(strstr(out, "bulkhead_reconciled_block{chain=\"beta\"} 120\n"));
    assert_non_null(strstr(out, "bulkhead_reconciled_time_seconds{chain=\"beta\"} 1790000000\n"));
    assert_null(strstr(out, "TKC"));
    assert_non_null(strstr(out, "# TYPE bulkhead_supply_drift gauge\n"));
    expo *e = calloc(1, sizeof *e); /* strict Prometheus text, negative values included */
    assert_non_null(e);
    if (expo_parse(e, out) != 0) fail_msg("%s\n%s", e->err, out);
    free(e);
    free(out);
}

/* The stored record (meta recon/<id>): one written as the node writes it
 * reads back as JSON with its figures; no node store is BH_ENOTFOUND; a
 * record of another version, a count that does not match its length, or a
 * line with an unknown check is BH_ECORRUPT, never a partial answer. */
static void test_reconcile_stored_record(void **state)
{
    (void)state;
    char dir[] = "/tmp/bh-recon-XXXXXX";
    assert_non_null(mkdtemp(dir));
    json_t *doc = (json_t *)dir;
    char err[300];
    assert_int_equal(bh_reconcile_read(&doc, err, sizeof err, dir, NULL), BH_ENOTFOUND);
    assert_null(doc);
    assert_non_null(strstr(err, "no node store"));

    node_store *st = NULL;
    char why[200];
    assert_int_equal(node_store_open(&st, dir, why, sizeof why), BH_OK);
    /* ver | u64 time | u64 block | u8 settled | u32 n | 3 reserved, then a
     * line: u16 vault | u8 check | u8 status | u16 lane | token[32] | u128
     * onchain, ledger, above, below, diff */
    unsigned char rec[25 + 118];
    memset(rec, 0, sizeof rec);
    rec[0] = 1;
    bh_be_put_u64(rec + 1, 1790000000);
    bh_be_put_u64(rec + 9, 120);
    rec[17] = 1;
    bh_be_put_u32(rec + 18, 1);
    unsigned char *l = rec + 25;
    bh_be_put_u16(l, 1);
    l[2] = BH_RECON_SUPPLY;
    l[3] = BH_RECON_EXCESS;
    bh_be_put_u16(l + 4, 2);
    l[6 + 31] = 0xAA;
    l[38 + 15] = 150; /* onchain */
    l[54 + 15] = 100; /* ledger */
    l[102 + 15] = 50; /* diff */
    assert_int_equal(node_store_meta_put(st, "recon/2", rec, sizeof rec), BH_OK);
    assert_int_equal(bh_reconcile_read(&doc, err, sizeof err, dir, NULL), BH_OK);
    assert_int_equal(json_array_size(doc), 1);
    json_t *r = json_array_get(doc, 0);
    assert_int_equal(json_integer_value(json_object_get(r, "chain_id")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "block")), 120);
    assert_true(json_is_true(json_object_get(r, "settled")));
    json_t *ln = json_array_get(json_object_get(r, "lines"), 0);
    assert_string_equal(json_string_value(json_object_get(ln, "check")), "supply");
    assert_string_equal(json_string_value(json_object_get(ln, "status")), "excess");
    assert_string_equal(json_string_value(json_object_get(ln, "onchain")), "150");
    assert_string_equal(json_string_value(json_object_get(ln, "ledger")), "100");
    assert_string_equal(json_string_value(json_object_get(ln, "drift")), "50");
    assert_string_equal(json_string_value(json_object_get(ln, "vault")), "1");
    assert_string_equal(json_string_value(json_object_get(ln, "lane")), "2");
    json_decref(doc);

    /* each damage refused whole */
    unsigned char bad[sizeof rec];
    for (int k = 0; k < 3; k++) {
        memcpy(bad, rec, sizeof rec);
        size_t len = sizeof rec;
        if (k == 0) bad[0] = 2;                 /* another version */
        if (k == 1) bh_be_put_u32(bad + 18, 2); /* two lines claimed, one there */
        if (k == 2) bad[25 + 2] = 9;            /* an unknown check */
        assert_int_equal(node_store_meta_put(st, "recon/2", bad, len), BH_OK);
        doc = NULL;
        assert_int_equal(bh_reconcile_read(&doc, err, sizeof err, dir, NULL), BH_ECORRUPT);
        assert_null(doc);
    }
    node_store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconcile_within_bounds_is_ok),
        cmocka_unit_test(test_reconcile_beyond_bounds),
        cmocka_unit_test(test_reconcile_extremes),
        cmocka_unit_test(test_reconcile_names),
        cmocka_unit_test(test_reconcile_metrics),
        cmocka_unit_test(test_reconcile_stored_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
