/* Value limits: the arithmetic (bh_value.h) and the vault's value windows,
 * prices, thresholds and flow cancel, on a real LMDB vault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bh_amount.h"
#include "bh_value.h"
#include "vaults_value_fx.h"

/* ---- arithmetic ---- */

static void test_value_of_rounds_up_and_checks(void **state)
{
    (void)state;
    bh_u128 v;
    /* 1.5 tokens of 18 decimals at 200 quote units: 300 */
    assert_int_equal(bh_value_of(&v, E18 * 3 / 2, 200, 18), BH_OK);
    assert_true(v == 300);
    /* one smallest unit is worth a fraction: rounded up to 1, never 0 */
    assert_int_equal(bh_value_of(&v, 1, 200, 18), BH_OK);
    assert_true(v == 1);
    assert_int_equal(bh_value_of(&v, 0, 200, 18), BH_OK);
    assert_true(v == 0);
    assert_int_equal(bh_value_of(&v, BH_U128_MAX, 2, 0), BH_ERANGE);
    assert_true(v == 0);
    assert_int_equal(bh_value_of(&v, 1, 1, 39), BH_EINVAL);
    assert_true(bh_value_scale(1000, 25) == 250);
    assert_true(bh_value_scale(BH_U128_MAX, 50) <= BH_U128_MAX / 2 + 1);
    assert_true(bh_value_scale(7, 50) == 3); /* down: a tightened limit never grows */
    assert_true(bh_value_moved(100, 131, 30) && !bh_value_moved(100, 130, 30));
    assert_true(bh_value_moved(100, 69, 30) && !bh_value_moved(100, 70, 30));
}

static void test_value_window_ready_and_cancel_floor(void **state)
{
    (void)state;
    bh_value_window w;
    memset(&w, 0, sizeof w);
    bh_value_window_add(&w, 60, T0);
    bh_value_window_add(&w, 30, T0 + 5 * 3600);
    assert_true(bh_value_window_used(&w, T0 + 5 * 3600) == 90);
    /* 20 more under 100: when the first slot leaves, 24 h after its hour */
    assert_true(bh_value_window_ready(&w, 100, 20, T0 + 5 * 3600) == T0 + 24 * 3600);
    assert_true(bh_value_window_ready(&w, 100, 10, T0 + 5 * 3600) == T0 + 5 * 3600);
    assert_true(bh_value_window_ready(&w, 100, 101, T0) == UINT64_MAX);
    /* cancel pays the oldest first and never below zero */
    assert_true(bh_value_window_cancel(&w, 70, T0 + 5 * 3600) == 70);
    assert_true(bh_value_window_used(&w, T0 + 5 * 3600) == 20);
    assert_true(bh_value_window_used(&w, T0 + 24 * 3600) == 20); /* the newest stayed */
    assert_true(bh_value_window_cancel(&w, 500, T0 + 5 * 3600) == 20);
    assert_true(bh_value_window_used(&w, T0 + 5 * 3600) == 0);
    assert_true(bh_value_window_ready(&w, 100, 100, T0 + 5 * 3600) == T0 + 5 * 3600);
}

/* ---- in a vault ---- */

typedef struct {
    uint32_t kind;
    char reason[BH_VAULT_REASON_MAX + 1];
} last_j;

static int last_cb(void *ctx, const bh_vault_journal_entry *e)
{
    last_j *l = ctx;
    l->kind = e->kind;
    snprintf(l->reason, sizeof l->reason, "%s", e->reason);
    return 0;
}

static last_j last_journal(fx *f)
{
    last_j l = {0};
    assert_int_equal(bh_vault_each_journal(f->v, 0, last_cb, &l), BH_OK);
    return l;
}

/* $100 (in cents) a day may leave alpha, summed across TKA and TKB. */
static void test_vaults_value_window_across_two_assets(void **state)
{
    fx *f = *state;
    vset(f, &f->tka, "price", 200); /* $2.00 */
    vset(f, &f->tkb, "price", 100); /* $1.00 */
    vset(f, NULL, "value_window.1", 10000);
    bh_vault_result r = send(f, HOME, 2, 30 * E18, 0, T0); /* $60 */
    assert_int_equal(r.status, BH_VAULT_ACCEPTED);
    r = send(f, HOME, 3, 35000000, 1, T0 + 60); /* 35 TKB: $35, $95 in all */
    assert_int_equal(r.status, BH_VAULT_ACCEPTED);
    assert_true(used(f, "value_window.1", T0 + 60) == 9500);
    r = send(f, HOME, 2, 6000000, 1, T0 + 120); /* $6 more crosses $100 */
    assert_int_equal(r.status, BH_VAULT_DELAYED);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_VALUE);
    assert_true(r.release_at == T0 + 24 * 3600); /* when the first hour leaves */
    /* still waits until then, released by the scheduler at its hour */
    assert_int_equal(due(f, T0 + 23 * 3600), 0);
    assert_int_equal(due(f, T0 + 24 * 3600), 1);
    assert_true(used(f, "value_window.1", T0 + 24 * 3600) == 600);
    /* a token's own limits are untouched: the other source has no value limit */
    vset(f, NULL, "value_window.1", 0);
    r = send(f, HOME, 2, 1000 * E18, 0, T0 + 24 * 3600);
    assert_int_equal(r.status, BH_VAULT_ACCEPTED);
}

static void test_vaults_value_lane_limit_only_that_lane(void **state)
{
    fx *f = *state;
    vset(f, &f->tka, "price", 100);
    vset(f, NULL, "value_lane.1.3", 5000);
    assert_int_equal(send(f, HOME, 3, 50 * E18, 0, T0).status, BH_VAULT_ACCEPTED);
    bh_vault_result r = send(f, HOME, 3, 1 * E18, 0, T0);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_VALUE);
    assert_int_equal(send(f, HOME, 2, 500 * E18, 0, T0).status, BH_VAULT_ACCEPTED);
}

/* No price: delayed with the reason, never admitted, never dropped. */
static void test_vaults_value_missing_price_fails_closed(void **state)
{
    fx *f = *state;
    vset(f, NULL, "value_window.1", 10000);
    bh_vault_result r = send(f, HOME, 2, 1, 0, T0);
    assert_int_equal(r.status, BH_VAULT_DELAYED);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_PRICE);
    assert_non_null(strstr(last_journal(f).reason, "no price"));
    assert_string_equal(bh_vault_cause_name(BH_VAULT_CAUSE_PRICE), "price");
    assert_int_equal(due(f, T0 + 7 * 86400), 0); /* a week later: still waits */
    vset(f, &f->tka, "price", 100);
    assert_int_equal(due(f, T0 + 7 * 86400), 1);
    bh_vault_info in;
    assert_int_equal(bh_vault_info_get(f->v, &in), BH_OK);
    assert_int_equal(in.pending_count, 0);
}

/* An observed price older than price_max_age: stale, delayed, says so. */
static void test_vaults_value_stale_price_delays_and_says_why(void **state)
{
    fx *f = *state;
    vset(f, NULL, "value_window.1", 10000);
    vset(f, &f->tka, "price_max_age", 600);
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 100, T0, T0), BH_OK);
    assert_int_equal(send(f, HOME, 2, E18, 0, T0 + 600).status, BH_VAULT_ACCEPTED);
    bh_vault_result r = send(f, HOME, 2, E18, 0, T0 + 601);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_PRICE);
    assert_non_null(strstr(last_journal(f).reason, "stale price"));
    char why[192];
    bh_u128 p;
    assert_int_equal(bh_vault_price_usable(f->v, &p, &f->tka, T0 + 601, why, sizeof why),
                     BH_ESTATE);
    assert_non_null(strstr(why, "stale price: updated 601 s ago, max age 600 s"));
    assert_int_equal(due(f, T0 + 700), 0);
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 100, T0 + 650, T0 + 700), BH_OK);
    assert_int_equal(due(f, T0 + 700), 1);
}

/* A jump past price_max_jump is held back (journaled) and fails closed; a
 * drop within the bound does not loosen the windows within vol_window. */
static void test_vaults_value_manipulated_price_only_tightens(void **state)
{
    fx *f = *state;
    vset(f, NULL, "value_window.1", 10000);
    vset(f, &f->tka, "price_max_jump", 50);
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 100, T0, T0), BH_OK);
    /* a feed crashed to a tenth: held back, so nothing passes on it */
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 10, T0 + 10, T0 + 10), BH_OK);
    last_j l = last_journal(f);
    assert_int_equal(l.kind, BH_VJ_PRICE);
    assert_non_null(strstr(l.reason, "held back"));
    bh_vault_result r = send(f, HOME, 2, 500 * E18, 0, T0 + 20); /* $50 at 10, $500 at 100 */
    assert_int_equal(r.cause, BH_VAULT_CAUSE_PRICE);
    /* back within the bound of the last usable price */
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 60, T0 + 30, T0 + 30), BH_OK);
    bh_u128 p;
    assert_int_equal(bh_vault_price_usable(f->v, &p, &f->tka, T0 + 30, NULL, 0), BH_OK);
    assert_true(p == 100); /* the reference of the volatility window: a drop does not loosen */
    assert_int_equal(due(f, T0 + 40), 0);
    assert_int_equal(send(f, HOME, 2, 100 * E18, 0, T0 + 40).status, BH_VAULT_ACCEPTED);
    assert_true(used(f, "value_window.1", T0 + 40) == 10000); /* $100, at 100 not at 60 */
    /* limits stay the configured size whatever the price: never looser */
    vl_find q = {.key = "value_window.1"};
    assert_int_equal(bh_vault_each_value_limit(f->v, T0 + 40, vl_cb, &q), 1);
    assert_true(q.limit == 10000 && q.effective == 10000);
}

static void test_vaults_value_threshold_delays_big(void **state)
{
    fx *f = *state;
    vset(f, &f->tkb, "price", 100);
    vset(f, &f->tkb, "big_delay", 3600);
    vset(f, NULL, "value_threshold.1", 100000); /* $1000 */
    assert_int_equal(send(f, HOME, 2, 999000000, 1, T0).status, BH_VAULT_ACCEPTED);
    bh_vault_result r = send(f, HOME, 2, 1000000000, 1, T0);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_VALUE_BIG);
    assert_true(r.release_at == T0 + 3600);
    assert_int_equal(due(f, T0 + 3599), 0);
    assert_int_equal(due(f, T0 + 3600), 1);
}

/* A return from D pays down what went to D; never above the limit. */
static void test_vaults_value_flow_cancel_bounded(void **state)
{
    fx *f = *state;
    vset(f, &f->tka, "price", 100);
    vset(f, NULL, "value_lane.1.2", 10000); /* $100 toward chain 2 */
    assert_int_equal(send(f, HOME, 2, 100 * E18, 0, T0).status, BH_VAULT_ACCEPTED);
    bh_vault_result r = send(f, HOME, 2, 10 * E18, 0, T0 + 60);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_VALUE);
    /* without flow cancel a return changes nothing */
    assert_int_equal(send(f, 2, HOME, 30 * E18, 0, T0 + 120).status, BH_VAULT_ACCEPTED);
    assert_true(used(f, "value_lane.1.2", T0 + 120) == 10000);
    assert_int_equal(due(f, T0 + 120), 0);
    vset(f, NULL, "flow_cancel.2", 1);
    assert_int_equal(send(f, 2, HOME, 30 * E18, 0, T0 + 180).status, BH_VAULT_ACCEPTED);
    assert_true(used(f, "value_lane.1.2", T0 + 180) == 7000);
    assert_int_equal(due(f, T0 + 180), 1); /* the $10 went out again */
    assert_true(used(f, "value_lane.1.2", T0 + 180) == 8000);
    /* a return larger than the usage pays it down to zero, no further */
    assert_int_equal(send(f, 2, HOME, 20 * E18, 0, T0 + 240).status, BH_VAULT_ACCEPTED);
    assert_true(used(f, "value_lane.1.2", T0 + 240) == 6000);
    /* outstanding toward 2 is now 30 TKA: lock 40, return all 70 */
    assert_int_equal(send(f, HOME, 2, 40 * E18, 0, T0 + 300).status, BH_VAULT_ACCEPTED);
    assert_true(used(f, "value_lane.1.2", T0 + 300) == 10000);
    assert_int_equal(send(f, 2, HOME, 70 * E18, 0, T0 + 360).status, BH_VAULT_ACCEPTED);
    assert_true(used(f, "value_lane.1.2", T0 + 360) == 3000);
    assert_int_equal(send(f, HOME, 2, 70 * E18, 0, T0 + 420).status, BH_VAULT_ACCEPTED);
    r = send(f, HOME, 2, 1, 0, T0 + 420);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_VALUE); /* the full limit, and not a cent more */
}

/* Windows, prices and waits live in LMDB: a reopened vault has them all. */
static void test_vaults_value_state_survives_reopen(void **state)
{
    fx *f = *state;
    vset(f, &f->tka, "price_max_age", 86400 * 2);
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 100, T0, T0), BH_OK);
    vset(f, NULL, "value_window.1", 5000);
    assert_int_equal(send(f, HOME, 2, 40 * E18, 0, T0).status, BH_VAULT_ACCEPTED);
    bh_vault_result r = send(f, HOME, 2, 20 * E18, 0, T0 + 3600);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_VALUE);
    bh_vault_close(f->v);
    f->v = vt_open(f->dir, "alpha", NULL);
    assert_non_null(f->v);
    assert_true(used(f, "value_window.1", T0 + 3600) == 4000);
    bh_vault_price p;
    assert_int_equal(bh_vault_price_get(f->v, &p, &f->tka), BH_OK);
    assert_true(p.last == 100 && p.updated_at == T0 && p.max_age == 86400 * 2);
    assert_int_equal(due(f, T0 + 23 * 3600), 0);
    assert_int_equal(due(f, T0 + 24 * 3600), 1);
}

static void test_vaults_value_limit_keys_refused(void **state)
{
    fx *f = *state;
    assert_int_equal(bh_vault_set_limit(f->v, NULL, "value_lane.1", 5, T0, "t", NULL), BH_EINVAL);
    assert_int_equal(bh_vault_set_limit(f->v, NULL, "value_lane.1.1", 5, T0, "t", NULL), BH_EINVAL);
    assert_int_equal(bh_vault_set_limit(f->v, NULL, "value_window", 5, T0, "t", NULL), BH_EINVAL);
    assert_int_equal(bh_vault_set_limit(f->v, NULL, "flow_cancel.2", 2, T0, "t", NULL), BH_ERANGE);
    assert_int_equal(bh_vault_set_limit(f->v, &f->tka, "value_window.1", 5, T0, "t", NULL),
                     BH_EINVAL);
    assert_int_equal(bh_vault_set_limit(f->v, NULL, "price", 5, T0, "t", NULL), BH_EINVAL);
    bh_bytes32 nope = vt_token(HOME, 9);
    assert_int_equal(bh_vault_set_limit(f->v, &nope, "price", 5, T0, "t", NULL), BH_ENOTFOUND);
    assert_int_equal(bh_vault_price_note(f->v, &nope, 5, T0, T0), BH_ENOTFOUND);
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 0, T0, T0), BH_EINVAL);
    /* a set limit is journaled with its value */
    vset(f, NULL, "value_lane.1.2", 12345);
    last_j l = last_journal(f);
    assert_int_equal(l.kind, BH_VJ_LIMITS);
    assert_string_equal(l.reason, "value_lane.1.2=12345");
}

/* Each vault has its own prices: one vault's price never prices another's. */
static void test_vaults_value_price_is_per_vault(void **state)
{
    fx *f = *state;
    assert_int_equal(bh_vault_init_dir(f->dir, "beta", 4, T0, "t", NULL), BH_OK);
    bh_vault *b = vt_open(f->dir, "beta", NULL);
    bh_bytes32 tb = vt_token(4, 0);
    assert_int_equal(bh_vault_asset_add(b, &tb, 18, "TKA", T0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_set_limit(b, NULL, "value_window.4", 10000, T0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 100, T0, T0), BH_OK);
    /* even the same token bytes in alpha carry no price into beta */
    assert_int_equal(bh_vault_price_note(f->v, &tb, 100, T0, T0), BH_ENOTFOUND);
    bh_transfer_msg m = vt_msg(4, 4, 2, 0, E18, 0, 0);
    bh_vault_result r;
    assert_int_equal(bh_vault_apply(b, &r, &m, 1, T0), BH_OK);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_PRICE);
    bh_vault_close(b);
}

static int relax_cb(void *ctx, const bh_vault_journal_entry *e)
{
    if (e->kind == BH_VJ_SEGMENT && e->ref == BH_VAULT_SEGMENT_NORMAL &&
        strstr(e->reason, "limits back to 100%"))
        (*(int *)ctx)++;
    return 0;
}

/* A 30% move within the window tightens this vault's value limits (and no
 * other vault's), journaled with the prices; they relax after the calm
 * period, and the state survives a reopen. */
static void test_vaults_value_volatility_tightens_then_relaxes(void **state)
{
    fx *f = *state;
    assert_int_equal(bh_vault_init_dir(f->dir, "beta", 4, T0, "t", NULL), BH_OK);
    bh_vault *b = vt_open(f->dir, "beta", NULL);
    bh_bytes32 tb = vt_token(4, 0);
    assert_int_equal(bh_vault_asset_add(b, &tb, 18, "TKA", T0, "t", NULL), BH_OK);
    vset(f, NULL, "value_window.1", 10000);
    vset(f, NULL, "vol_percent", 25);
    vset(f, NULL, "tighten_percent", 50);
    vset(f, NULL, "calm", 1800);
    assert_int_equal(bh_vault_set_limit(b, NULL, "vol_percent", 25, T0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 100, T0, T0), BH_OK);
    assert_int_equal(bh_vault_price_note(b, &tb, 100, T0, T0), BH_OK);
    bh_vault_segment sg;
    assert_int_equal(bh_vault_segment_get(f->v, &sg, T0), BH_OK);
    assert_int_equal(sg.state, BH_VAULT_SEGMENT_NORMAL);
    assert_int_equal(bh_vault_price_note(f->v, &f->tka, 130, T0 + 60, T0 + 60), BH_OK);
    last_j l = last_journal(f);
    assert_int_equal(l.kind, BH_VJ_SEGMENT);
    assert_non_null(strstr(l.reason, "price 100 -> 130 moved over 25%"));
    assert_int_equal(bh_vault_segment_get(f->v, &sg, T0 + 60), BH_OK);
    assert_int_equal(sg.state, BH_VAULT_SEGMENT_TIGHTENED);
    assert_int_equal(sg.percent, 50);
    assert_true(sg.until == T0 + 60 + 1800);
    assert_string_equal(bh_vault_segment_name(sg.state), "tightened");
    /* $50 of the $100 window now: 40 TKA at 130 (5200) waits */
    assert_true(used(f, "value_window.1", T0 + 60) == 0);
    vl_find q = {.key = "value_window.1"};
    assert_int_equal(bh_vault_each_value_limit(f->v, T0 + 60, vl_cb, &q), 1);
    assert_true(q.limit == 10000 && q.effective == 5000);
    assert_int_equal(send(f, HOME, 2, 38 * E18, 0, T0 + 60).status, BH_VAULT_ACCEPTED);
    bh_vault_result r = send(f, HOME, 2, 2 * E18, 0, T0 + 60);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_VALUE);
    /* the other vault saw no move and stays normal */
    assert_int_equal(bh_vault_segment_get(b, &sg, T0 + 60), BH_OK);
    assert_int_equal(sg.state, BH_VAULT_SEGMENT_NORMAL);
    /* restart: still tightened */
    bh_vault_close(f->v);
    f->v = vt_open(f->dir, "alpha", NULL);
    assert_int_equal(bh_vault_segment_get(f->v, &sg, T0 + 600), BH_OK);
    assert_int_equal(sg.state, BH_VAULT_SEGMENT_TIGHTENED);
    assert_int_equal(due(f, T0 + 600), 0);
    /* calm: relaxed, journaled, and the waiting transfer fits the full window */
    assert_int_equal(due(f, T0 + 1900), 1);
    assert_int_equal(bh_vault_segment_get(f->v, &sg, T0 + 1900), BH_OK);
    assert_int_equal(sg.state, BH_VAULT_SEGMENT_NORMAL);
    int relaxed = 0;
    assert_int_equal(bh_vault_each_journal(f->v, 0, relax_cb, &relaxed), BH_OK);
    assert_int_equal(relaxed, 1);
    /* an operator quarantine of the home chain reads as the segment's state */
    assert_int_equal(bh_vault_freeze(f->v, HOME, T0 + 2000, "op", "t"), BH_OK);
    assert_int_equal(bh_vault_segment_get(f->v, &sg, T0 + 2000), BH_OK);
    assert_int_equal(sg.state, BH_VAULT_SEGMENT_QUARANTINED);
    bh_vault_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_of_rounds_up_and_checks),
        cmocka_unit_test(test_value_window_ready_and_cancel_floor),
        cmocka_unit_test_setup_teardown(test_vaults_value_window_across_two_assets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_lane_limit_only_that_lane, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_missing_price_fails_closed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_stale_price_delays_and_says_why, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_manipulated_price_only_tightens, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_threshold_delays_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_flow_cancel_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_state_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_limit_keys_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_price_is_per_vault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_value_volatility_tightens_then_relaxes, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
