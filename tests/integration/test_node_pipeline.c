/* Delivery for real block times (issue 14), judged on chain.
 *
 *  - pipelined and batched: beta mines one block a second (transactions
 *    wait for it); N locks A->B are delivered with several Executed per
 *    block of beta (inflight_max 16, batch_max 128) in a few
 *    Portal.submitBatch transactions, each transfer executed exactly once;
 *    the baseline, inflight_max 1 and batch_max 1, is one per block;
 *  - failover: beta's first endpoint (a proxy the deliveries go through)
 *    hangs mid-run; delivery moves to beta's second endpoint and every
 *    transfer is still executed exactly once; an endpoint first in the
 *    list that accepts transactions and drops them costs a re-broadcast
 *    through the next one;
 *  - a nonce taken behind the node's back: another process sends with the
 *    node's transaction key while deliveries are in flight; the node
 *    recovers its nonce and everything is still executed once;
 *  - wallet alarm: wallet_low_gwei above the key's balance raises
 *    event=wallet_low, bulkhead_chain_wallet_low 1 and a /readyz reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test.h"
#include "test_adversary.h"

#define N_PIPE 40

static it_fake *first_ep;

/* Executed logs on B: exactly the sequences 0..n-1 of A, once each, for 1
 * unit each; *blocks distinct blocks, *max_per_block the most in one. */
static void check_executed_once(size_t n, size_t *blocks, size_t *max_per_block)
{
    nh_executed *ex = NULL;
    size_t got = 0;
    NH_OK(nh_executed_logs(&W, NH_B, &ex, &got));
    if (got != n) {
        nh_dump_logs(&W, 40);
        fail_msg("%zu Executed logs on B, expected %zu", got, n);
    }
    int *seen = calloc(n, sizeof *seen);
    assert_non_null(seen);
    size_t nb = 0, best = 0, run = 0;
    for (size_t i = 0; i < got; i++) {
        assert_int_equal(ex[i].emitter_chain, 1);
        assert_true(ex[i].sequence < n);
        if (seen[ex[i].sequence]++)
            fail_msg("sequence %llu executed twice on B", (unsigned long long)ex[i].sequence);
        assert_u128(ex[i].amount, nh_units(1), "executed amount");
        if (i == 0 || ex[i].block != ex[i - 1].block) {
            nb++;
            run = 0;
        }
        if (++run > best) best = run;
    }
    free(seen);
    free(ex);
    if (blocks) *blocks = nb;
    if (max_per_block) *max_per_block = best;
}

/* Entries are acked once their receipts are polled, a moment after the
 * mints show on chain. */
static void wait_outbox_empty(const char *vault)
{
    size_t depth = 99;
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (nh_now_ms() < end) {
        NH_OK(nh_vault_outbox_depth(&W, 1, vault, &depth));
        if (depth == 0) return;
        nh_sleep_ms(100);
    }
    nh_dump_logs(&W, 40);
    fail_msg("%zu entries stay in vault %s's outbox", depth, vault);
}

static void deliver_and_check(unsigned n, size_t *blocks, size_t *best)
{
    bh_address wrapped;
    NH_OK(nh_flood(&W, NH_A, &W.tka, n, 10, nh_units(1), NH_B, &W.user));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    NH_OK(
        nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(n), 120000, "every mint on B", NULL));
    check_executed_once(n, blocks, best);
    wait_outbox_empty("alpha");
}

static int pipeline_up(unsigned batch_max)
{
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8700};
    if (nt_world_up(o, 0) != 0) return -1;
    if (nh_interval_mining(&W, NH_B, 1) != 0) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    /* debug: event=delivery_sent names each broadcast's nonce */
    json_object_set_new(json_object_get(cfg, "node"), "log_level", json_string("debug"));
    if (batch_max) json_object_set_new(cfg_chain(cfg, NH_B), "batch_max", json_integer(batch_max));
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return nh_node_start(&W, 1, WAIT_MS);
}

static int setup_pipeline(void **state)
{
    (void)state;
    return pipeline_up(0);
}

/* batches of 2: many transactions in flight, for the nonce cases */
static int setup_small_batches(void **state)
{
    (void)state;
    return pipeline_up(2);
}

static uint64_t tx_count(const char *tag);

static void test_pipelined_delivery_puts_several_transfers_in_a_block(void **state)
{
    (void)state;
    size_t blocks = 0, best = 0;
    uint64_t t0 = nh_now_ms();
    deliver_and_check(N_PIPE, &blocks, &best);
    uint64_t ms = nh_now_ms() - t0;
    print_message("{\"case\":\"pipelined_1s_blocks\",\"transfers\":%u,\"blocks\":%zu,"
                  "\"per_block_mean\":%.2f,\"per_block_max\":%zu,\"ms\":%llu}\n",
                  N_PIPE, blocks, (double)N_PIPE / (double)blocks, best, (unsigned long long)ms);
    /* one in flight at a time would be one per block */
    assert_true(best > 1);
    assert_true(blocks < N_PIPE / 2);
    /* batched: a few transactions carry all N (one each would be N) */
    uint64_t txs = tx_count("latest");
    print_message("%u transfers in %llu transactions of the node on B\n", N_PIPE,
                  (unsigned long long)txs);
    assert_true(txs > 0 && txs <= N_PIPE / 4);
    char *log = nh_node_log(&W, 1);
    const char *batched[] = {"event=delivery_sent", "entries=", NULL};
    assert_true(nh_log_count(log, batched) > 0);
    free(log);
}

/* The baseline in the same program: inflight_max 1 and batch_max 1 is one
 * delivery per block, as before issue 14. */
static int setup_one_in_flight(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8760};
    if (nt_world_up(o, 0) != 0) return -1;
    if (nh_interval_mining(&W, NH_B, 1) != 0) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    json_object_set_new(cfg_chain(cfg, NH_B), "inflight_max", json_integer(1));
    json_object_set_new(cfg_chain(cfg, NH_B), "batch_max", json_integer(1));
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return nh_node_start(&W, 1, WAIT_MS);
}

static void test_one_in_flight_is_one_per_block(void **state)
{
    (void)state;
    size_t blocks = 0, best = 0;
    uint64_t t0 = nh_now_ms();
    deliver_and_check(8, &blocks, &best);
    print_message("{\"case\":\"one_in_flight_1s_blocks\",\"transfers\":8,\"blocks\":%zu,"
                  "\"per_block_mean\":%.2f,\"per_block_max\":%zu,\"ms\":%llu}\n",
                  blocks, 8.0 / (double)blocks, best, (unsigned long long)(nh_now_ms() - t0));
    assert_int_equal(best, 1);
}

static int setup_failover(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8720};
    if (nt_world_up(o, 0) != 0) return -1;
    first_ep = it_fake_start(IT_FAKE_SLOW, W.ch[NH_B].anvil.url); /* no delay yet: a proxy */
    if (!first_ep) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    const char *urls[] = {it_fake_url(first_ep), W.ch[NH_B].anvil.url, NULL};
    cfg_endpoints(cfg, NH_B, urls, 1);
    json_object_set_new(cfg_chain(cfg, NH_B), "rpc_timeout_ms", json_integer(1000));
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return nh_node_start(&W, 1, WAIT_MS);
}

static int teardown_failover(void **state)
{
    nt_teardown(state);
    it_fake_stop(first_ep);
    first_ep = NULL;
    return 0;
}

static void test_first_endpoint_hangs_mid_run(void **state)
{
    (void)state;
    bh_address wrapped;
    NH_OK(nh_flood(&W, NH_A, &W.tka, 10, 5, nh_units(1), NH_B, &W.user));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(10), WAIT_MS,
                          "the first mints, through the first endpoint", NULL));
    unsigned before = it_fake_requests(first_ep);
    assert_true(before > 0);
    it_fake_set_delay(first_ep, 600000); /* hung from now on */
    NH_OK(nh_flood(&W, NH_A, &W.tka, 20, 5, nh_units(1), NH_B, &W.user));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(30), 60000,
                          "the mints after the first endpoint hung", NULL));
    check_executed_once(30, NULL, NULL);
    wait_outbox_empty("alpha");
    assert_true(nh_node_running(&W, 1));
}

/* The count of the node's transaction key on B at tag. */
static uint64_t tx_count(const char *tag)
{
    char addr[43];
    bh_rpc_format_hex(addr, W.node[0].tx_addr.data, 20);
    json_t *r =
        it_rpc(W.ch[NH_B].anvil.url, "eth_getTransactionCount", json_pack("[s,s]", addr, tag));
    uint64_t v = 0;
    if (!r || bh_rpc_read_quantity(&v, r) != BH_OK) fail_msg("eth_getTransactionCount %s", tag);
    json_decref(r);
    return v;
}

/* Another process with the node's key replaces the node's pending
 * transaction at nonce (a 0-value self-transfer, 50 gwei of tip). */
static int steal_nonce(uint64_t nonce)
{
    char addr[43];
    bh_rpc_format_hex(addr, W.node[0].tx_addr.data, 20);
    char n[24];
    snprintf(n, sizeof n, "0x%llx", (unsigned long long)nonce);
    json_t *r = it_rpc(W.ch[NH_B].anvil.url, "eth_sendTransaction",
                       json_pack("[{s:s,s:s,s:s,s:s,s:s,s:s}]", "from", addr, "to", addr, "value",
                                 "0x0", "nonce", n, "maxFeePerGas", "0x174876e800",
                                 "maxPriorityFeePerGas", "0xba43b7400"));
    json_decref(r);
    return r ? 0 : -1;
}

static void test_a_nonce_taken_behind_the_nodes_back(void **state)
{
    (void)state;
    bh_address wrapped;
    NH_OK(nh_flood(&W, NH_A, &W.tka, N_PIPE, 10, nh_units(1), NH_B, &W.user));
    unsigned stolen = 0;
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (stolen < 2 && nh_now_ms() < end) {
        uint64_t latest = tx_count("latest"), pending = tx_count("pending");
        /* first a nonce the node has in flight, then the one it will use
         * next; each mined at once */
        uint64_t nonce = stolen == 0 ? latest + 1 : pending;
        if (pending > latest + 1 && steal_nonce(nonce) == 0) {
            NH_OK(it_mine(W.ch[NH_B].anvil.url, 1));
            stolen++;
            print_message("nonce %llu taken (pending %llu)\n", (unsigned long long)nonce,
                          (unsigned long long)pending);
            nh_sleep_ms(500);
        } else {
            nh_sleep_ms(20);
        }
    }
    assert_int_equal(stolen, 2);
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(N_PIPE), 120000,
                          "every mint on B after two nonces were taken", NULL));
    check_executed_once(N_PIPE, NULL, NULL);
    wait_outbox_empty("alpha");
    char *log = nh_node_log(&W, 1);
    const char *taken[] = {"event=delivery_failed", "not of ours", NULL};
    print_message("%zu deliveries found their nonce taken and went again\n",
                  nh_log_count(log, taken));
    free(log);
}

static int setup_wallet(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8740};
    if (nt_world_up(o, 0) != 0) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    /* anvil's dev accounts hold 10,000 ETH: 20,000 is above */
    json_object_set_new(cfg_chain(cfg, NH_B), "wallet_low_gwei", json_integer(20000000000000ll));
    if (nh_node_write_config(&W, 1, cfg) != 0 || nh_node_enable_metrics(&W, 1) != 0) return -1;
    return nh_node_start(&W, 1, WAIT_MS);
}

static double wallet_low_gauge(int port, const char *chain)
{
    int st = 0;
    char *body = NULL, label[64];
    NH_OK(nh_http_get(port, "/metrics", &st, &body));
    snprintf(label, sizeof label, "chain=\"%s\"", chain);
    const char *labels[] = {label, NULL};
    double v = -1;
    if (nh_metric(body, "bulkhead_chain_wallet_low", labels, &v) != 0)
        fail_msg("no bulkhead_chain_wallet_low for %s", chain);
    free(body);
    return v;
}

/* The snapshot behind /metrics is refreshed on its own schedule. */
static void wait_gauge(int port, const char *chain, double want)
{
    uint64_t end = nh_now_ms() + WAIT_MS;
    double v = -1;
    while (nh_now_ms() < end && (v = wallet_low_gauge(port, chain)) != want)
        nh_sleep_ms(100);
    if (v != want) fail_msg("bulkhead_chain_wallet_low{chain=%s} stays %g, not %g", chain, v, want);
}

static void test_wallet_below_low_water_alarms(void **state)
{
    (void)state;
    int port = 0;
    NH_OK(nh_node_metrics_port(&W, 1, WAIT_MS, &port));
    const char *low[] = {"event=wallet_low", "chain=beta", NULL};
    NH_OK(nh_log_wait(&W, 1, low, 1, WAIT_MS));
    wait_gauge(port, "beta", 1);
    assert_true(wallet_low_gauge(port, "alpha") == 0);
    int st = 0;
    char *body = NULL;
    NH_OK(nh_http_get(port, "/readyz", &st, &body));
    if (st != 503 || !strstr(body, "wallet below")) fail_msg("/readyz answers %d: %s", st, body);
    free(body);
    /* refilled: the alarm clears */
    char addr[43];
    bh_rpc_format_hex(addr, W.node[0].tx_addr.data, 20);
    json_t *r = it_rpc(W.ch[NH_B].anvil.url, "anvil_setBalance",
                       json_pack("[s,s]", addr, "0x6fceeff6681b2a00000")); /* 33,000 ETH */
    assert_non_null(r);
    json_decref(r);
    const char *ok[] = {"event=wallet_ok", "chain=beta", NULL};
    NH_OK(nh_log_wait(&W, 1, ok, 1, WAIT_MS));
    wait_gauge(port, "beta", 0);
}

/* An attacker's endpoint first in beta's list: it serves every read
 * honestly but drops every transaction it is given. */
static int setup_dropper(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8780};
    if (nt_world_up(o, 0) != 0) return -1;
    first_ep = it_fake_start(IT_FAKE_DROP_TX, W.ch[NH_B].anvil.url);
    if (!first_ep) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    const char *urls[] = {it_fake_url(first_ep), W.ch[NH_B].anvil.url, NULL};
    cfg_endpoints(cfg, NH_B, urls, 1);
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return nh_node_start(&W, 1, WAIT_MS);
}

static void test_endpoint_that_drops_transactions(void **state)
{
    (void)state;
    bh_address wrapped;
    NH_OK(nh_flood(&W, NH_A, &W.tka, 20, 10, nh_units(1), NH_B, &W.user));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, nh_units(20), 60000,
                          "every mint on B past an endpoint that drops transactions", NULL));
    check_executed_once(20, NULL, NULL);
    wait_outbox_empty("alpha");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipelined_delivery_puts_several_transfers_in_a_block,
                                        setup_pipeline, nt_teardown),
        cmocka_unit_test_setup_teardown(test_one_in_flight_is_one_per_block, setup_one_in_flight,
                                        nt_teardown),
        cmocka_unit_test_setup_teardown(test_first_endpoint_hangs_mid_run, setup_failover,
                                        teardown_failover),
        cmocka_unit_test_setup_teardown(test_endpoint_that_drops_transactions, setup_dropper,
                                        teardown_failover),
        cmocka_unit_test_setup_teardown(test_a_nonce_taken_behind_the_nodes_back,
                                        setup_small_batches, nt_teardown),
        cmocka_unit_test_setup_teardown(test_wallet_below_low_water_alarms, setup_wallet,
                                        nt_teardown),
    };
    if (getenv("BH_PIPE_FILTER")) cmocka_set_test_filter(getenv("BH_PIPE_FILTER"));
    return nt_main(argc, argv, 0, "", tests, sizeof tests / sizeof tests[0], NULL, NULL);
}
