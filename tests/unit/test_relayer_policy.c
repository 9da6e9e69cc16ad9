/* The node's I/O-free decisions (relayer/src/node_policy.h): what is
 * evidence against a chain and what any outsider can cause, when a watcher
 * is stalled, how a delivery round is ordered, retried and parked, and how
 * far a spike tightens a bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bh_error.h"
#include "node_policy.h"

/* Every reason × {from the vault's home chain, from a remote chain}: only
 * what the emitting chain alone can cause is evidence. */
static void test_policy_rejection_evidence_every_reason(void **state)
{
    (void)state;
    for (int r = 0; r < BH_REJECT_COUNT_; r++) {
        for (int remote = 0; remote < 2; remote++) {
            bh_obs_kind k = BH_OBS_COUNT_;
            int ev = node_policy_rejection_evidence((bh_reject)r, remote, &k);
            switch (r) {
            case BH_REJECT_EXCEEDS_OUTSTANDING:
            case BH_REJECT_EXCEEDS_LOCKED:
                assert_int_equal(ev, remote); /* a lock from home is never evidence */
                if (remote) assert_int_equal(k, BH_OBS_EXCEEDS_OUTSTANDING);
                break;
            case BH_REJECT_EQUIVOCATION:
                assert_int_equal(ev, 1);
                assert_int_equal(k, BH_OBS_EQUIVOCATION);
                break;
            case BH_REJECT_FORGED_LOCK:
                assert_int_equal(ev, 1);
                assert_int_equal(k, BH_OBS_FORGED_LOCK);
                break;
            case BH_REJECT_FORGED_BURN: /* only the chain's Portal emits a burn */
                assert_int_equal(ev, 1);
                assert_int_equal(k, BH_OBS_FORGED_BURN);
                break;
            case BH_REJECT_MESSAGE_LIMIT:
                assert_int_equal(ev, 1);
                assert_int_equal(k, BH_OBS_RATE_LIMITED); /* threshold 0 by default */
                break;
            default:
                /* exceeds_exposure_cap, short_lock, unknown_asset, below_minimum,
                 * malformed, replayed, ...: refused and counted only */
                if (ev) fail_msg("%s is evidence", bh_reject_name((bh_reject)r));
                assert_int_equal(k, BH_OBS_COUNT_);
            }
        }
    }
    bh_obs_kind k;
    assert_int_equal(node_policy_rejection_evidence(BH_REJECT_EXCEEDS_EXPOSURE_CAP, 1, &k), 0);
    assert_int_equal(node_policy_rejection_evidence(BH_REJECT_SHORT_LOCK, 0, &k), 0);
}

static void test_policy_delays(void **state)
{
    (void)state;
    assert_true(node_policy_delay_is_rate_limit(BH_VAULT_CAUSE_BUCKET));
    assert_true(node_policy_delay_is_rate_limit(BH_VAULT_CAUSE_WINDOW));
    assert_true(node_policy_delay_is_rate_limit(BH_VAULT_CAUSE_CAPACITY));
    assert_false(node_policy_delay_is_rate_limit(BH_VAULT_CAUSE_BIG));
    assert_false(node_policy_delay_is_rate_limit(BH_VAULT_CAUSE_QUARANTINE));
    assert_false(node_policy_delay_is_rate_limit(BH_VAULT_CAUSE_RETIMED));
    assert_false(node_policy_delay_is_rate_limit(BH_VAULT_CAUSE_NONE));
}

/* Forged and short locks of a token nobody registered are anyone's token. */
static void test_policy_lock_verdict(void **state)
{
    (void)state;
    assert_int_equal(node_policy_lock_verdict(BH_REJECT_FORGED_LOCK, 0), BH_REJECT_UNKNOWN_ASSET);
    assert_int_equal(node_policy_lock_verdict(BH_REJECT_SHORT_LOCK, 0), BH_REJECT_UNKNOWN_ASSET);
    assert_int_equal(node_policy_lock_verdict(BH_REJECT_FORGED_LOCK, 1), BH_REJECT_FORGED_LOCK);
    assert_int_equal(node_policy_lock_verdict(BH_REJECT_SHORT_LOCK, 1), BH_REJECT_SHORT_LOCK);
    assert_int_equal(node_policy_lock_verdict(BH_REJECT_OK, 0), BH_REJECT_OK);
    assert_int_equal(node_policy_lock_verdict(BH_REJECT_MALFORMED, 0), BH_REJECT_MALFORMED);
}

/* Answers that do not let the watcher advance implicate the chain; silence
 * may be our own network. */
static void test_policy_stall(void **state)
{
    (void)state;
    assert_false(node_policy_poll_implicates(BH_OK, 0));
    assert_true(node_policy_poll_implicates(BH_EPROTO, 0));
    assert_true(node_policy_poll_implicates(BH_ENOQUORUM, 1));
    assert_true(node_policy_poll_implicates(BH_EEQUIVOCATION, 1));
    assert_false(node_policy_poll_implicates(BH_ENOQUORUM, 0)); /* too few answered */
    assert_false(node_policy_poll_implicates(BH_ETIMEOUT, 0));
    assert_false(node_policy_poll_implicates(BH_EHTTP, 0));
    assert_false(node_policy_stall_due(1000, 1000 + 29999, 30));
    assert_true(node_policy_stall_due(1000, 1000 + 30000, 30));
    assert_false(node_policy_stall_due(1000, UINT64_MAX, 0)); /* disabled */
    assert_false(node_policy_stall_due(5000, 1000, 1));       /* clock behind: not yet */
}

static void test_policy_retry_and_park(void **state)
{
    (void)state;
    assert_int_equal(node_policy_retry_ms(1), 2000);
    assert_int_equal(node_policy_retry_ms(2), 4000);
    assert_int_equal(node_policy_retry_ms(6), 64000);
    assert_int_equal(node_policy_retry_ms(7), 64000);
    assert_int_equal(node_policy_retry_ms(1000000), 64000);
    assert_false(node_policy_park(4, 5));
    assert_true(node_policy_park(5, 5));
    assert_true(node_policy_park(6, 5));
    assert_false(node_policy_park(100, 0));
}

/* A flooding source (0) with many picks waits behind every other source:
 * each source's first pick, then each one's second. */
static void test_policy_round_order(void **state)
{
    (void)state;
    size_t src[] = {0, 0, 0, 1, 0, 2, 1, 2};
    size_t order[8];
    size_t n = node_policy_round_order(src, 8, 2, 3, order);
    size_t want[] = {0, 3, 5, 1, 6, 7};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(order[i], want[i]);
    /* one pick per source per round */
    n = node_policy_round_order(src, 8, 1, 3, order);
    assert_int_equal(n, 3);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 5);
    /* a source id out of range is skipped, nothing is written twice */
    size_t odd[] = {7, 1, 1};
    n = node_policy_round_order(odd, 3, 2, 2, order);
    assert_int_equal(n, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(node_policy_round_order(src, 0, 2, 3, order), 0);
}

static void test_policy_tighten(void **state)
{
    (void)state;
    bh_u128 c, r;
    node_policy_tighten(1000, 40, 25, &c, &r);
    assert_true(c == 250 && r == 10);
    node_policy_tighten(3, 3, 25, &c, &r); /* never 0: that would remove the bucket */
    assert_true(c == 1 && r == 1);
    node_policy_tighten(1000, 0, 25, &c, &r); /* a refill that was off stays off */
    assert_true(c == 250 && r == 0);
    bh_u128 max = ~(bh_u128)0;
    node_policy_tighten(max, max, 100, &c, &r); /* no overflow at the top */
    assert_true(c == max && r == max);
    node_policy_tighten(max, 7, 50, &c, &r);
    assert_true(c == max / 2 && r == 3);
}

static bh_u256 word(bh_u128 v)
{
    bh_u256 w;
    bh_u256_from_u128(&w, v);
    return w;
}

static void test_policy_feed_price(void **state)
{
    (void)state;
    bh_u128 p;
    char why[160];
    bh_u256 w = word(123456789); /* 1.23456789 at 8 decimals */
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 8, 2, 1000, 1000, why, sizeof why), 0);
    assert_true(p == 124); /* cents, rounded up: never a lower price */
    w = word(100000000);
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 8, 2, 1000, 1000, why, sizeof why), 0);
    assert_true(p == 100);
    w = word(1); /* the smallest answer is still a price, never 0 */
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 18, 0, 1000, 1000, why, sizeof why), 0);
    assert_true(p == 1);
    w = word(5);
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 0, 6, 1000, 1000, why, sizeof why), 0);
    assert_true(p == 5000000);
    w = word(~(bh_u128)0);
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 0, 1, 1000, 1000, why, sizeof why), -1);
    assert_true(p == 0);
    assert_non_null(strstr(why, "does not fit"));
    bh_u256 big = {{1}}; /* 2^248: past 128 bits */
    assert_int_equal(node_policy_feed_price(&p, 0, &big, 8, 2, 1000, 1000, why, sizeof why), -1);
    assert_non_null(strstr(why, "does not fit in 128 bits"));
    w = word(5);
    assert_int_equal(node_policy_feed_price(&p, 1, &w, 8, 2, 1000, 1000, why, sizeof why), -1);
    assert_string_equal(why, "feed answers -5, no price");
    w = word(0);
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 8, 2, 1000, 1000, why, sizeof why), -1);
    assert_string_equal(why, "feed answers 0, no price");
    w = word(100);
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 8, 2, 1300, 1000, why, sizeof why), 0);
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 8, 2, 1301, 1000, why, sizeof why), -1);
    assert_string_equal(why, "feed updatedAt 1301 is 301 s ahead");
    assert_int_equal(node_policy_feed_price(&p, 0, &w, 39, 2, 1000, 1000, why, sizeof why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_rejection_evidence_every_reason),
        cmocka_unit_test(test_policy_delays),
        cmocka_unit_test(test_policy_lock_verdict),
        cmocka_unit_test(test_policy_stall),
        cmocka_unit_test(test_policy_retry_and_park),
        cmocka_unit_test(test_policy_round_order),
        cmocka_unit_test(test_policy_tighten),
        cmocka_unit_test(test_policy_feed_price),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
