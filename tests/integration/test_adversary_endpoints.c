/* Issue #12, attacks through one endpoint or one block (nothing
 * compromised). Each case starts its own world (alpha, beta; one node):
 *  - one lying endpoint among three (quorum 2) on alpha, lying in its logs
 *    (IT_FAKE_LIE_LOGS) and, in a second case, in its block hashes
 *    (IT_FAKE_LIE_HASH): transfers both ways are delivered, nothing is
 *    quarantined, /metrics reports the liar unhealthy (and its
 *    disagreements) and the honest endpoints healthy, /readyz stays 200;
 *  - a block holding 10,000 Transfer(x, portal, 0) logs of a contract that
 *    is no token, in the same transaction as a real lock (LogFlood) and, in
 *    a second case, in another transaction of the block of an honest user's
 *    lock: both locks are delivered exactly, and later ones too;
 *  - beyond the issue: the same with 10,200 zero-value transfers of the
 *    registered token itself into the Portal (any ERC-20 allows them), in
 *    three other transactions of the block of an honest lock;
 *  - beyond the issue: a tarpit endpoint (answers honestly, each answer
 *    held back just under the RPC timeout) among three with quorum 2 must
 *    not slow alpha's watcher: A->B latency stays within 2x of quiet;
 *  - beyond the issue: behind an honest provider that answers at most 300
 *    logs per eth_getLogs, one block with 400 real locks (of a junk token,
 *    1 wei each, one transaction) must not stop or quarantine alpha;
 *  - beyond the issue: a log shaped like Transfer(x, portal) but without
 *    its uint256 (raw log3), in the transaction of a lock whose backing is
 *    read from the receipt (an unregistered token), must not stop alpha. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_adversary.h"

static const nh_opts k_opts = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8200};

static it_fake *fake_honest, *fake_bad;
static int metrics_port;
static bh_address w_tka_b, w_tkb_a;
static bh_u128 user_w_tka, user_w_tkb;

static void reset_counters(void)
{
    user_w_tka = user_w_tkb = 0;
    memset(&w_tka_b, 0, sizeof w_tka_b);
    memset(&w_tkb_a, 0, sizeof w_tkb_a);
}

static void tka_to_beta(uint64_t units, const char *what)
{
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(units), NH_B, &W.user, 0, NULL));
    user_w_tka += nh_units(units);
    if (user_w_tka == nh_units(units))
        ADV_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    wait_delivered(NH_B, &w_tka_b, &W.user, user_w_tka, WAIT_MS, what, NULL);
}

static void tkb_to_alpha(uint64_t units, const char *what)
{
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(units), NH_A, &W.user, 0, NULL));
    user_w_tkb += nh_units(units);
    if (user_w_tkb == nh_units(units))
        ADV_OK(nh_wait_wrapped(&W, NH_A, NH_B, &W.tkb, &w_tkb_a, WAIT_MS));
    wait_delivered(NH_A, &w_tkb_a, &W.user, user_w_tkb, WAIT_MS, what, NULL);
}

/* alpha behind three endpoints: anvil, an honest proxy, and a fake of
 * `bad` mode (last, so deliveries to alpha do not go through it), quorum 2;
 * rpc_timeout_ms if not 0; metrics on. */
static int setup_endpoints(it_fake_mode bad, size_t bad_chain, unsigned rpc_timeout_ms)
{
    reset_counters();
    if (adv_up(k_opts, NULL, 0) != 0) return -1;
    fake_honest = it_fake_start(IT_FAKE_PROXY, W.ch[NH_A].anvil.url);
    fake_bad = it_fake_start(bad, W.ch[bad_chain].anvil.url);
    if (!fake_honest || !fake_bad) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    const char *urls[] = {W.ch[NH_A].anvil.url, it_fake_url(fake_honest), it_fake_url(fake_bad),
                          NULL};
    cfg_endpoints(cfg, NH_A, urls, 2);
    if (rpc_timeout_ms)
        json_object_set_new(cfg_chain(cfg, NH_A), "rpc_timeout_ms", json_integer(rpc_timeout_ms));
    if (nh_node_write_config(&W, 1, cfg) != 0 || nh_node_enable_metrics(&W, 1) != 0 ||
        nh_node_start(&W, 1, WAIT_MS) != 0)
        return -1;
    return nh_node_metrics_port(&W, 1, WAIT_MS, &metrics_port);
}

static int setup_three_endpoints(it_fake_mode bad, unsigned rpc_timeout_ms)
{
    return setup_endpoints(bad, NH_A, rpc_timeout_ms);
}

/* alpha's third endpoint serves beta's chain (a proxy of beta's anvil). */
ADV_SETUP(setup_other_chain)
{
    return setup_endpoints(IT_FAKE_PROXY, NH_B, 0);
}

static int endpoint_figures(const char *body, const char *url, double *healthy, double *disagree);

/* One endpoint of another chain among alpha's three (quorum 2): once, the
 * node stopped at start (exit 1) and a restart stopped again, so whoever
 * runs one endpoint could keep the node down. It is excluded and reported
 * unhealthy; the node runs and alpha flows both ways. */
static void test_endpoint_of_another_chain_is_excluded(void **state)
{
    (void)state;
    tka_to_beta(1, "A->B with an endpoint of beta's chain among alpha's");
    tkb_to_alpha(1, "B->A with an endpoint of beta's chain among alpha's");
    assert_true(nh_node_running(&W, 1));
    const char *served[] = {"serves chain id", "excluded", NULL};
    expect_log(served, 1, WAIT_MS);
    int st = 0;
    char *body = NULL;
    NH_OK(nh_http_get(metrics_port, "/metrics", &st, &body));
    assert_int_equal(st, 200);
    double h = -1, d = -1;
    if (endpoint_figures(body, it_fake_url(fake_bad), &h, &d) != 0 || h != 0)
        fail_msg("the endpoint of beta's chain reads healthy=%g", h);
    free(body);
    assert_no_quarantine("an endpoint of another chain");
}

ADV_SETUP(setup_lie_logs)
{
    return setup_three_endpoints(IT_FAKE_LIE_LOGS, 0);
}

ADV_SETUP(setup_lie_hash)
{
    return setup_three_endpoints(IT_FAKE_LIE_HASH, 0);
}

#define TARPIT_TIMEOUT_MS 4000
#define TARPIT_DELAY_MS 3000

ADV_SETUP(setup_tarpit)
{
    return setup_three_endpoints(IT_FAKE_SLOW, TARPIT_TIMEOUT_MS);
}

static int teardown_fakes(void **state)
{
    nt_teardown(state);
    it_fake_stop(fake_honest);
    it_fake_stop(fake_bad);
    fake_honest = fake_bad = NULL;
    return 0;
}

/* endpoint_healthy and disagreements_total of alpha's endpoint url. */
static int endpoint_figures(const char *body, const char *url, double *healthy, double *disagree)
{
    char chain[] = "chain=\"alpha\"", ep[128];
    snprintf(ep, sizeof ep, "endpoint=\"%s\"", url);
    const char *labels[] = {chain, ep, NULL};
    if (nh_metric(body, "bulkhead_rpc_endpoint_healthy", labels, healthy) != 0) return -1;
    if (nh_metric(body, "bulkhead_rpc_disagreements_total", labels, disagree) != 0) return -1;
    return 0;
}

static void liar_outvoted_and_reported(const char *what)
{
    tka_to_beta(1, "A->B with a liar among alpha's endpoints");
    tkb_to_alpha(1, "B->A with a liar among alpha's endpoints");
    tka_to_beta(2, "A->B again");
    tkb_to_alpha(2, "B->A again");

    /* /metrics: the liar unhealthy and counted, the honest ones healthy. */
    const char *honest[] = {W.ch[NH_A].anvil.url, it_fake_url(fake_honest)};
    const char *liar = it_fake_url(fake_bad);
    uint64_t end = nh_now_ms() + 20000;
    double lh = -1, ld = -1, hh[2] = {-1, -1}, hd[2] = {-1, -1};
    int ok = 0;
    char *body = NULL;
    while (!ok && nh_now_ms() < end) {
        int st = 0;
        free(body);
        body = NULL;
        NH_OK(nh_http_get(metrics_port, "/metrics", &st, &body));
        assert_int_equal(st, 200);
        if (endpoint_figures(body, liar, &lh, &ld) == 0 &&
            endpoint_figures(body, honest[0], &hh[0], &hd[0]) == 0 &&
            endpoint_figures(body, honest[1], &hh[1], &hd[1]) == 0)
            ok = lh == 0 && ld >= 1 && hh[0] == 1 && hh[1] == 1;
        if (!ok) nh_sleep_ms(200);
    }
    print_message("%s: liar %s healthy=%g disagreements=%g; %s healthy=%g disagreements=%g; "
                  "%s healthy=%g disagreements=%g\n",
                  what, liar, lh, ld, honest[0], hh[0], hd[0], honest[1], hh[1], hd[1]);
    if (!ok) {
        fprintf(stderr, "%s\n", body ? body : "");
        free(body);
        fail_msg("%s: /metrics never showed the liar unhealthy (and counted) with the honest "
                 "endpoints healthy",
                 what);
    }
    assert_true(hd[0] == 0 && hd[1] == 0);
    double q = -1;
    const char *alpha[] = {"chain=\"alpha\"", NULL};
    if (nh_metric(body, "bulkhead_chain_quarantined", alpha, &q) != 0 || q != 0)
        fail_msg("%s: bulkhead_chain_quarantined{chain=\"alpha\"} is %g", what, q);
    free(body);

    /* The chain still has its quorum: ready. */
    int st = 0;
    end = nh_now_ms() + 10000;
    for (;;) {
        NH_OK(nh_http_get(metrics_port, "/readyz", &st, &body));
        if (st == 200 || nh_now_ms() > end) break;
        free(body);
        nh_sleep_ms(200);
    }
    if (st != 200) fail_msg("%s: /readyz answers %d: %s", what, st, body);
    free(body);
    tka_to_beta(3, "A->B after the liar was reported");
    assert_no_quarantine(what);
}

static void test_lying_logs_endpoint_outvoted_quarantines_nothing(void **state)
{
    (void)state;
    liar_outvoted_and_reported("liar in eth_getLogs");
}

static void test_lying_hash_endpoint_outvoted_quarantines_nothing(void **state)
{
    (void)state;
    liar_outvoted_and_reported("liar in block hashes");
}

/* ---- a block full of fake Transfer logs ---- */

#define FAKE_LOGS 10000

static bh_address log_flood;

ADV_SETUP(setup_log_flood)
{
    reset_counters();
    if (adv_up(k_opts, NULL, 1) != 0) return -1;
    return nh_deploy(W.ch[NH_A].flooder_s, bh_test_contract_logflood_bin, NULL, 0, &log_flood);
}

/* Transfer(_, portal, _) logs in block `block` of alpha, any emitter. */
static size_t transfers_into_portal(uint64_t block)
{
    bh_hash32 topic;
    bh_abi_topic(&topic, "Transfer(address,address,uint256)");
    bh_bytes32 portal;
    bh_address_to_bytes32(&portal, &W.ch[NH_A].portal);
    char t0[67] = "0x", t2[67] = "0x", b[19];
    bh_hex_encode(t0 + 2, topic.data, 32);
    bh_hex_encode(t2 + 2, portal.data, 32);
    bh_rpc_format_quantity(b, block);
    json_t *r =
        it_rpc(W.ch[NH_A].anvil.url, "eth_getLogs",
               json_pack("[{s:s,s:s,s:[s,n,s]}]", "fromBlock", b, "toBlock", b, "topics", t0, t2));
    size_t n = json_array_size(r);
    json_decref(r);
    return n;
}

static void calldata(bh_abi *a, unsigned char **data, size_t *len)
{
    int rc = bh_abi_finish(a, data, len);
    bh_abi_clear(a);
    assert_int_equal(rc, BH_OK);
}

/* Send the call a (cleared here) to contract `to` on alpha from anvil's
 * unlocked key #7, with room for 50M gas, and wait for it to be mined.
 * Returns: 1 if it succeeded. Out: block  the block it landed in. */
static int send_big_call(bh_abi *a, const bh_address *to, uint64_t *block)
{
    unsigned char *data = NULL;
    size_t len = 0;
    calldata(a, &data, &len);
    char tx[67];
    NH_OK(nh_send_unlocked(&W, NH_A, 7, to, data, len, 50000000, tx));
    free(data);
    int ok = 0;
    NH_OK(nh_wait_receipt(&W, NH_A, tx, WAIT_MS, block, &ok));
    return ok;
}

static void test_fake_logs_in_the_lock_transaction_are_passed(void **state)
{
    (void)state;
    tka_to_beta(1, "warm-up A->B");
    const bh_u128 amount = nh_units(10);
    transfer(W.ch[NH_A].user, &W.tka, &log_flood, amount);
    bh_bytes32 to;
    bh_address_to_bytes32(&to, &W.user);
    bh_u256 amt;
    bh_u256_from_u128(&amt, amount);
    bh_abi a;
    bh_abi_init(&a, "spamAndLock(address,address,uint256,uint256,uint16,bytes32)", 6);
    bh_abi_address(&a, &W.ch[NH_A].portal);
    bh_abi_address(&a, &W.tka);
    bh_abi_uint(&a, FAKE_LOGS);
    bh_abi_u256(&a, &amt);
    bh_abi_uint(&a, W.ch[NH_B].bridge_id);
    bh_abi_bytes32(&a, &to);
    uint64_t block = 0;
    int ok = send_big_call(&a, &log_flood, &block);
    uint64_t mined = nh_now_ms();
    if (!ok) fail_msg("spamAndLock reverted");
    size_t n = transfers_into_portal(block);
    print_message("block %llu: %zu Transfer logs into the Portal (%d fake, 1 real)\n",
                  (unsigned long long)block, n, FAKE_LOGS);
    assert_true(n >= FAKE_LOGS + 1);
    user_w_tka += amount;
    wait_delivered(NH_B, &w_tka_b, &W.user, user_w_tka, WAIT_MS, "the lock among 10,000 fake logs",
                   NULL);
    print_message("the lock among %d fake logs delivered %llu ms after its receipt\n", FAKE_LOGS,
                  (unsigned long long)(nh_now_ms() - mined));
    tka_to_beta(2, "A->B after the flooded block");
    tkb_to_alpha(1, "B->A after the flooded block");
    assert_no_quarantine("a block of 10,000 fake logs");
    assert_u128(supply(NH_B, &w_tka_b), nh_units(13), "wrapped TKA on beta (exactly the locks)");
}

/* Alpha's anvil: mining off (transactions wait in the pool for evm_mine),
 * or back on (each transaction mined at once, and a block every second). */
static void mining(int on)
{
    json_t *r = it_rpc(W.ch[NH_A].anvil.url, "evm_setAutomine", json_pack("[b]", on));
    json_t *r2 = it_rpc(W.ch[NH_A].anvil.url, "anvil_setIntervalMining", json_pack("[i]", on));
    if (!r || !r2) fail_msg("anvil refused to switch mining %s", on ? "on" : "off");
    json_decref(r);
    json_decref(r2);
}

/* n_spam copies of the spam call (key #7, gas each) and an honest lock of
 * `amount` TKA alpha -> beta by the user, mined in one block of alpha
 * (retried if anvil splits them). Returns the block; *locks: locks made,
 * *mined: when their receipts were in. */
static uint64_t lock_in_spammed_block(const unsigned char *spam, size_t spam_len, unsigned n_spam,
                                      uint64_t gas, bh_u128 amount, size_t *locks, uint64_t *mined)
{
    bh_u256 amt, fee, max;
    bh_u256_from_u128(&amt, amount);
    bh_u256_from_u128(&fee, 0);
    memset(&max, 0xff, sizeof max);
    bh_abi ap;
    bh_abi_init(&ap, "approve(address,uint256)", 2);
    bh_abi_address(&ap, &W.ch[NH_A].portal);
    bh_abi_u256(&ap, &max);
    NH_OK(nh_send_call(W.ch[NH_A].user, NULL, &W.tka, &ap, "approve"));
    bh_bytes32 to;
    bh_address_to_bytes32(&to, &W.user);
    /* The transactions wait in the pool (automine and interval mining off)
     * and evm_mine takes them together. */
    mining(0);
    size_t tries = 0;
    uint64_t block = 0;
    int together = 0;
    *locks = 0;
    do {
        bh_abi l;
        bh_abi_init(&l, "lock(address,uint256,uint16,bytes32,uint256,uint32)", 6);
        bh_abi_address(&l, &W.tka);
        bh_abi_u256(&l, &amt);
        bh_abi_uint(&l, W.ch[NH_B].bridge_id);
        bh_abi_bytes32(&l, &to);
        bh_abi_u256(&l, &fee);
        bh_abi_uint(&l, (uint64_t)tries);
        unsigned char *lock = NULL;
        size_t lock_len = 0;
        calldata(&l, &lock, &lock_len);
        char tx_spam[4][67], tx_lock[67];
        assert_true(n_spam <= 4);
        for (unsigned k = 0; k < n_spam; k++)
            NH_OK(nh_send_unlocked(&W, NH_A, 7, &log_flood, spam, spam_len, gas, tx_spam[k]));
        NH_OK(nh_send_unlocked(&W, NH_A, 1, &W.ch[NH_A].portal, lock, lock_len, 500000, tx_lock));
        free(lock);
        json_t *r = it_rpc(W.ch[NH_A].anvil.url, "evm_mine", NULL);
        json_decref(r);
        int ok = 0;
        NH_OK(nh_wait_receipt(&W, NH_A, tx_lock, WAIT_MS, &block, &ok));
        if (!ok) fail_msg("the honest lock reverted");
        together = 1;
        for (unsigned k = 0; k < n_spam; k++) {
            uint64_t b = 0;
            NH_OK(nh_wait_receipt(&W, NH_A, tx_spam[k], WAIT_MS, &b, &ok));
            if (!ok) fail_msg("spam transaction %u reverted (out of gas?)", k);
            together &= b == block;
        }
        *mined = nh_now_ms();
        (*locks)++;
        print_message("try %zu: the lock in block %llu, %s\n", tries, (unsigned long long)block,
                      together ? "with every spam transaction" : "apart from some spam");
    } while (!together && ++tries < 3);
    /* Mining again, one block a second (anvil cannot go back to 200 ms). */
    mining(1);
    if (!together) fail_msg("could not put the spam and the lock in one block");
    NH_OK(bh_evm_sender_sync_nonce(W.ch[NH_A].user) == BH_OK ? 0 : -1);
    return block;
}

static void test_fake_logs_in_the_block_of_an_honest_lock_are_passed(void **state)
{
    (void)state;
    tka_to_beta(1, "warm-up A->B");
    bh_abi s;
    bh_abi_init(&s, "spam(address,uint256)", 2);
    bh_abi_address(&s, &W.ch[NH_A].portal);
    bh_abi_uint(&s, FAKE_LOGS);
    unsigned char *spam = NULL;
    size_t spam_len = 0, locks = 0;
    calldata(&s, &spam, &spam_len);
    uint64_t mined = 0;
    const bh_u128 amount = nh_units(7);
    uint64_t block = lock_in_spammed_block(spam, spam_len, 1, 40000000, amount, &locks, &mined);
    free(spam);
    size_t n = transfers_into_portal(block);
    print_message("block %llu: %zu Transfer logs into the Portal (%d fake, 1 real)\n",
                  (unsigned long long)block, n, FAKE_LOGS);
    assert_true(n >= FAKE_LOGS + 1);
    user_w_tka += amount * locks;
    wait_delivered(NH_B, &w_tka_b, &W.user, user_w_tka, WAIT_MS,
                   "the honest lock in the block of 10,000 fake logs", NULL);
    print_message("the honest lock delivered %llu ms after its receipt\n",
                  (unsigned long long)(nh_now_ms() - mined));
    tka_to_beta(2, "A->B after the flooded block");
    tkb_to_alpha(1, "B->A after the flooded block");
    assert_no_quarantine("a block of 10,000 fake logs");
}

/* Beyond the issue: the registered token itself emits the flood. Any honest
 * ERC-20 lets anyone transfer 0 to the Portal, so filtering transfer logs
 * by the registered tokens' addresses does not bound the answer. */
#define ZERO_TRANSFERS_PER_TX 3400
#define ZERO_TRANSFER_TXS 3

static void test_zero_transfers_of_the_token_in_the_block_of_a_lock_are_passed(void **state)
{
    (void)state;
    tka_to_beta(1, "warm-up A->B");
    bh_abi s;
    bh_abi_init(&s, "spamToken(address,address,uint256)", 3);
    bh_abi_address(&s, &W.tka);
    bh_abi_address(&s, &W.ch[NH_A].portal);
    bh_abi_uint(&s, ZERO_TRANSFERS_PER_TX);
    unsigned char *spam = NULL;
    size_t spam_len = 0, locks = 0;
    calldata(&s, &spam, &spam_len);
    uint64_t mined = 0;
    const bh_u128 amount = nh_units(7);
    uint64_t block =
        lock_in_spammed_block(spam, spam_len, ZERO_TRANSFER_TXS, 19000000, amount, &locks, &mined);
    free(spam);
    size_t n = transfers_into_portal(block);
    print_message("block %llu: %zu TKA Transfer logs into the Portal (%d zero-value, 1 real)\n",
                  (unsigned long long)block, n, ZERO_TRANSFERS_PER_TX * ZERO_TRANSFER_TXS);
    assert_true(n >= ZERO_TRANSFERS_PER_TX * ZERO_TRANSFER_TXS + 1);
    user_w_tka += amount * locks;
    wait_delivered(NH_B, &w_tka_b, &W.user, user_w_tka, WAIT_MS,
                   "the honest lock among 10,200 zero-value TKA transfers", NULL);
    print_message("the honest lock delivered %llu ms after its receipt\n",
                  (unsigned long long)(nh_now_ms() - mined));
    tka_to_beta(2, "A->B after the flooded block");
    tkb_to_alpha(1, "B->A after the flooded block");
    assert_no_quarantine("a block of 10,200 zero-value transfers of TKA");
}

/* ---- more bridge events in one block than the provider returns ---- */

#define LOG_CAP 300
#define CROWD 400

static void cap_stall_edit(json_t *cfg)
{
    json_object_set_new(json_object_get(cfg, "breaker"), "stall_s", json_integer(10));
}

/* alpha behind one honest provider that answers at most LOG_CAP logs per
 * eth_getLogs (providers cap at some count; the node's own cap is 10,000). */
ADV_SETUP(setup_log_cap)
{
    reset_counters();
    if (adv_up(k_opts, cap_stall_edit, 0) != 0) return -1;
    fake_bad = it_fake_start(IT_FAKE_LOG_CAP, W.ch[NH_A].anvil.url);
    if (!fake_bad) return -1;
    it_fake_set_log_cap(fake_bad, LOG_CAP);
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    const char *urls[] = {it_fake_url(fake_bad), NULL};
    cfg_endpoints(cfg, NH_A, urls, 1);
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return nh_node_start(&W, 1, WAIT_MS);
}

static void test_block_of_more_events_than_the_provider_returns_is_passed(void **state)
{
    (void)state;
    tka_to_beta(1, "warm-up A->B");
    /* An outsider crowds one block with CROWD real locks of a junk token
     * (1 wei each, one transaction): more Portal events than the provider
     * returns in one answer, even for that block alone. */
    bh_address junk, fl;
    deploy_test_token(W.ch[NH_A].attacker, "CROWD", &junk);
    NH_OK(nh_flooder(&W, NH_A, &fl));
    bh_bytes32 to;
    bh_address_to_bytes32(&to, &W.attacker);
    bh_u256 one;
    bh_u256_from_u128(&one, 1);
    bh_abi a;
    bh_abi_init(&a, "flood(address,address,uint256,uint256,uint16,bytes32)", 6);
    bh_abi_address(&a, &W.ch[NH_A].portal);
    bh_abi_address(&a, &junk);
    bh_abi_uint(&a, CROWD);
    bh_abi_u256(&a, &one);
    bh_abi_uint(&a, W.ch[NH_B].bridge_id);
    bh_abi_bytes32(&a, &to);
    uint64_t block = 0;
    int ok = send_big_call(&a, &fl, &block);
    if (!ok) fail_msg("the crowding transaction reverted");
    print_message("block %llu: %d locks of a junk token; the provider answers at most %d logs\n",
                  (unsigned long long)block, CROWD, LOG_CAP);
    tka_to_beta(2, "honest A->B after the crowded block");
    tkb_to_alpha(1, "B->A after the crowded block");
    const char *refused[] = {"event=rejected", "vault=alpha from=alpha", "reason=unknown_asset",
                             NULL};
    expect_log(refused, CROWD, WAIT_MS);
    assert_no_quarantine("a block crowded past the provider's answer cap");
}

/* ---- a Transfer-shaped log the parser must skip ---- */

static void odd_edit(json_t *cfg)
{
    json_object_set_new(json_object_get(cfg, "breaker"), "stall_s", json_integer(10));
}

ADV_SETUP(setup_odd_log)
{
    reset_counters();
    if (adv_up(k_opts, odd_edit, 1) != 0) return -1;
    return nh_deploy(W.ch[NH_A].flooder_s, bh_test_contract_logflood_bin, NULL, 0, &log_flood);
}

/* One transaction: a log with the ERC-20 Transfer topic, from the sender to
 * the Portal, with no data (not a uint256), then a lock of an unregistered
 * token, whose backing is read from that transaction's receipt. */
static void test_odd_transfer_log_in_a_lock_receipt_is_passed(void **state)
{
    (void)state;
    tka_to_beta(1, "warm-up A->B");
    bh_address junk;
    deploy_test_token(W.ch[NH_A].attacker, "ODD", &junk);
    bh_u256 amt;
    bh_u256_from_u128(&amt, nh_units(5));
    mint(W.ch[NH_A].attacker, &junk, &log_flood, &amt);
    bh_bytes32 to;
    bh_address_to_bytes32(&to, &W.attacker);
    bh_abi a;
    bh_abi_init(&a, "oddAndLock(address,address,uint256,uint16,bytes32)", 5);
    bh_abi_address(&a, &W.ch[NH_A].portal);
    bh_abi_address(&a, &junk);
    bh_abi_u256(&a, &amt);
    bh_abi_uint(&a, W.ch[NH_B].bridge_id);
    bh_abi_bytes32(&a, &to);
    NH_OK(nh_send_call(W.ch[NH_A].flooder_s, NULL, &log_flood, &a, "oddAndLock"));
    const char *refused[] = {"event=rejected", "vault=alpha from=alpha", "reason=unknown_asset",
                             NULL};
    expect_log(refused, 1, WAIT_MS);
    tka_to_beta(2, "honest A->B after the odd log");
    tkb_to_alpha(1, "B->A after the odd log");
    assert_no_quarantine("a Transfer-shaped log without data");
}

/* ---- tarpit endpoint ---- */

#define TARPIT_SAMPLES 3

static void test_tarpit_endpoint_does_not_slow_the_watcher(void **state)
{
    (void)state;
    tka_to_beta(1, "warm-up A->B");
    lane_probe p = {.name = "A->B",
                    .from = NH_A,
                    .to = NH_B,
                    .send_token = &W.tka,
                    .recv_token = w_tka_b,
                    .amount = nh_units(1),
                    .expect = user_w_tka};
    uint64_t quiet[TARPIT_SAMPLES], slow[TARPIT_SAMPLES];
    for (size_t i = 0; i < TARPIT_SAMPLES; i++)
        quiet[i] = probe(&p, WAIT_MS);
    it_fake_set_delay(fake_bad, TARPIT_DELAY_MS);
    for (size_t i = 0; i < TARPIT_SAMPLES; i++)
        slow[i] = probe(&p, 120000);
    for (size_t i = 0; i < TARPIT_SAMPLES; i++)
        print_message("sample %zu: quiet %llu ms, with the tarpit %llu ms\n", i,
                      (unsigned long long)quiet[i], (unsigned long long)slow[i]);
    it_fake_set_delay(fake_bad, 0);
    assert_no_quarantine("a tarpit endpoint");
    assert_latency("A->B with a tarpit endpoint (3 s of a 4 s timeout) among alpha's three",
                   median_u64(quiet, TARPIT_SAMPLES), median_u64(slow, TARPIT_SAMPLES), 1000);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lying_logs_endpoint_outvoted_quarantines_nothing,
                                        setup_lie_logs, teardown_fakes),
        cmocka_unit_test_setup_teardown(test_lying_hash_endpoint_outvoted_quarantines_nothing,
                                        setup_lie_hash, teardown_fakes),
        cmocka_unit_test_setup_teardown(test_fake_logs_in_the_lock_transaction_are_passed,
                                        setup_log_flood, nt_teardown),
        cmocka_unit_test_setup_teardown(test_fake_logs_in_the_block_of_an_honest_lock_are_passed,
                                        setup_log_flood, nt_teardown),
        cmocka_unit_test_setup_teardown(
            test_zero_transfers_of_the_token_in_the_block_of_a_lock_are_passed, setup_log_flood,
            nt_teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_of_another_chain_is_excluded,
                                        setup_other_chain, teardown_fakes),
        cmocka_unit_test_setup_teardown(test_tarpit_endpoint_does_not_slow_the_watcher,
                                        setup_tarpit, teardown_fakes),
        cmocka_unit_test_setup_teardown(
            test_block_of_more_events_than_the_provider_returns_is_passed, setup_log_cap,
            teardown_fakes),
        cmocka_unit_test_setup_teardown(test_odd_transfer_log_in_a_lock_receipt_is_passed,
                                        setup_odd_log, nt_teardown),
    };
    return ADV_MAIN(argc, argv, tests);
}
