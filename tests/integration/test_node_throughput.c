/* Delivery at a real block time, judged on chain (issue 14): three nodes,
 * 2-of-3, chains A and B each mining a block a second and only then.
 * 1,000 locks A->B are made in a burst (the Flooder, 100 per transaction).
 * Every node reads B through two endpoints, a proxy (it_fake, forwarding)
 * first and B's anvil second, with an endpoint quorum of 1; once 300
 * mints are on B the proxy is killed (its port refuses from then on).
 *
 * Checked: all 1,000 are executed on B exactly once (the Executed logs:
 * sequences 0..999 of A, one each, 1 unit each) and credited to the user;
 * every node's outbox empties; the three nodes keep running.
 *
 * Printed, not asserted (speed is for benchmarks, tests/bench): one JSON
 * line, "throughput_2of3_1s_blocks": transfers per second from the first
 * block of B holding an Executed to the last (span + one block time)
 * against capacity = B's block gas limit / (gas of one single
 * Portal.submit that only records an approval + gas of one that executes)
 * / block time, both measured here on B before the nodes start (the
 * probes mint behind the nodes' backs, so breaker.supply_drift is 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_abi.h"
#include "bh_attest.h"
#include "bh_evm_sender.h"
#include "bh_portal.h"
#include "bh_transfer.h"
#include "bh_vaa.h"
#include "node_test.h"
#include "test_adversary.h"

#define N_TRANSFERS 1000
#define KILL_AT 300
#define SEQ_PROBE 5000000u /* the capacity probe's sequence: far from the nodes' */

static it_fake *proxy;

static uint64_t quantity(const char *method, json_t *params, const char *member)
{
    json_t *r = it_rpc(W.ch[NH_B].anvil.url, method, params ? params : json_array());
    uint64_t v = 0;
    json_t *q = member ? json_object_get(r, member) : r;
    if (!q || bh_rpc_read_quantity(&v, q) != BH_OK) fail_msg("%s: no %s", method, member);
    json_decref(r);
    return v;
}

static uint64_t block_time(uint64_t block)
{
    char q[19];
    bh_rpc_format_quantity(q, block);
    return quantity("eth_getBlockByNumber", json_pack("[s,b]", q, 0), "timestamp");
}

/* A transfer A->B of 1 unit at seq, its body, signed by attester a. */
static size_t probe_vaa(unsigned char *vaa, size_t cap, uint64_t seq, unsigned a)
{
    unsigned char body[BH_EVENT_BODY_MAX];
    size_t blen = nh_transfer_body(&W, body, sizeof body, seq, &W.user), vlen = 0;
    assert_true(blen > 0);
    NH_OK(bh_portal_sign_vaa(W.ctx, vaa, cap, &vlen, 0, (uint8_t)a, &W.att[a], body, blen));
    return vlen;
}

/* gasUsed of single submits of one transfer: the first (records an
 * approval) and the second (reaches the quorum, executes). The first
 * transfer ever also creates the wrapped token: one goes before, unmeasured. */
static void submit_gas(uint64_t *record, uint64_t *execute)
{
    bh_seckey k;
    it_key(&k, nh_anvil_key(6));
    bh_evm_sender_options so = {.chain_id = W.ch[NH_B].anvil.chain_id, .poll_ms = 10};
    bh_evm_sender *s = NULL;
    NH_OK(bh_evm_sender_create(&s, W.ch[NH_B].rpc, W.ctx, &k, &so));
    bh_seckey_clear(&k);
    uint64_t gas[2] = {0, 0};
    for (uint64_t seq = SEQ_PROBE; seq < SEQ_PROBE + 2; seq++)
        for (unsigned a = 0; a < 2; a++) {
            unsigned char vaa[512];
            size_t vlen = probe_vaa(vaa, sizeof vaa, seq, a);
            bh_abi abi;
            bh_abi_init(&abi, "submit(bytes)", 1);
            bh_abi_bytes(&abi, vaa, vlen);
            unsigned char *data = NULL;
            size_t dlen = 0;
            NH_OK(bh_abi_finish(&abi, &data, &dlen));
            bh_abi_clear(&abi);
            bh_evm_receipt r;
            int rc = bh_evm_sender_send_gas(s, &r, &W.ch[NH_B].portal, NULL, data, dlen,
                                            BH_PORTAL_SUBMIT_GAS);
            free(data);
            if (rc != BH_OK) fail_msg("probe submit: %s", bh_evm_sender_last_error(s));
            gas[a] = r.gas_used;
            bh_evm_receipt_clear(&r);
        }
    bh_evm_sender_destroy(s);
    *record = gas[0];
    *execute = gas[1];
}

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 3, .quorum = 2, .evm_id_base = 8800};
    if (nt_world_up(o, 0) != 0) return -1;
    for (unsigned id = 2; id <= 3; id++)
        if (nh_node_prepare(&W, id, id - 1, NULL) != 0) return -1;
    proxy = it_fake_start(IT_FAKE_SLOW, W.ch[NH_B].anvil.url); /* no delay: a plain proxy */
    return proxy ? 0 : -1;
}

static int teardown(void **state)
{
    nt_teardown(state);
    it_fake_stop(proxy);
    proxy = NULL;
    return 0;
}

static void start_nodes(void)
{
    const char *urls[] = {it_fake_url(proxy), W.ch[NH_B].anvil.url, NULL};
    for (unsigned id = 1; id <= 3; id++) {
        json_t *cfg = nh_node_config(&W, id);
        assert_non_null(cfg);
        cfg_endpoints(cfg, NH_B, urls, 1);
        json_object_set_new(cfg_chain(cfg, NH_B), "rpc_timeout_ms", json_integer(2000));
        if (getenv("BH_TP_BATCH"))
            json_object_set_new(cfg_chain(cfg, NH_B), "batch_max",
                                json_integer(atoi(getenv("BH_TP_BATCH"))));
        if (getenv("BH_TP_DEBUG"))
            json_object_set_new(json_object_get(cfg, "node"), "log_level", json_string("debug"));
        /* the capacity probes minted on B behind the nodes' backs: a drift
         * their reconciliation sees, and must not quarantine B for */
        json_t *breaker = json_object_get(cfg, "breaker");
        if (!json_is_object(breaker)) json_object_set_new(cfg, "breaker", breaker = json_object());
        json_object_set_new(breaker, "supply_drift", json_integer(0));
        NH_OK(nh_node_write_config(&W, id, cfg));
    }
    for (unsigned id = 1; id <= 3; id++)
        NH_OK(nh_node_start(&W, id, WAIT_MS));
}

static void test_thousand_transfers_two_of_three_one_second_blocks(void **state)
{
    (void)state;
    uint64_t g_record = 0, g_execute = 0;
    submit_gas(&g_record, &g_execute);
    uint64_t gas_limit =
        quantity("eth_getBlockByNumber", json_pack("[s,b]", "latest", 0), "gasLimit");
    bh_address wrapped;
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    bh_u128 before = balance(NH_B, &wrapped, &W.user); /* the probes' */
    NH_OK(nh_interval_mining(&W, NH_A, 1));
    NH_OK(nh_interval_mining(&W, NH_B, 1));
    start_nodes();

    uint64_t t0 = nh_now_ms();
    NH_OK(nh_flood(&W, NH_A, &W.tka, N_TRANSFERS, 100, nh_units(1), NH_B, &W.user));
    /* kill B's first endpoint mid-run */
    uint64_t end = nh_now_ms() + 120000;
    while (balance(NH_B, &wrapped, &W.user) < before + nh_units(KILL_AT) && nh_now_ms() < end)
        nh_sleep_ms(20);
    bh_u128 at_kill = balance(NH_B, &wrapped, &W.user) - before;
    it_fake_stop(proxy);
    proxy = NULL;
    print_message("B's first endpoint killed with %s of %u minted\n",
                  nh_u128_str(at_kill / nh_units(1)), N_TRANSFERS);
    assert_true(at_kill < nh_units(N_TRANSFERS)); /* it died mid-run */
    NH_OK(nh_wait_balance(&W, NH_B, &wrapped, &W.user, before + nh_units(N_TRANSFERS), 300000,
                          "every mint on B after its first endpoint was killed", NULL));
    uint64_t all_ms = nh_now_ms() - t0;

    /* exactly once: A's sequences 0..N-1, one Executed each */
    /* anvil answers a balance from a block a moment before its logs */
    nh_executed *ex = NULL;
    size_t got = 0;
    for (uint64_t until = nh_now_ms() + 10000;; nh_sleep_ms(200)) {
        NH_OK(nh_executed_logs(&W, NH_B, &ex, &got));
        if (got >= N_TRANSFERS + 2 || nh_now_ms() > until) break;
        free(ex);
    }
    int *seen = calloc(N_TRANSFERS, sizeof *seen);
    assert_non_null(seen);
    size_t ours = 0;
    uint64_t first = UINT64_MAX, last = 0;
    for (size_t i = 0; i < got; i++) {
        if (ex[i].sequence >= SEQ_PROBE) continue;
        assert_int_equal(ex[i].emitter_chain, 1);
        assert_true(ex[i].sequence < N_TRANSFERS);
        if (seen[ex[i].sequence]++)
            fail_msg("sequence %llu executed twice on B", (unsigned long long)ex[i].sequence);
        assert_u128(ex[i].amount, nh_units(1), "executed amount");
        ours++;
        first = ex[i].block < first ? ex[i].block : first;
        last = ex[i].block > last ? ex[i].block : last;
    }
    for (size_t q = 0; q < N_TRANSFERS && ours != N_TRANSFERS; q++)
        if (!seen[q]) print_message("sequence %zu: no Executed log on B\n", q);
    free(seen);
    free(ex);
    if (ours != N_TRANSFERS) nh_dump_logs(&W, 20);
    assert_int_equal(ours, N_TRANSFERS);
    for (unsigned id = 1; id <= 3; id++) {
        size_t depth = 1;
        uint64_t until = nh_now_ms() + WAIT_MS;
        while (nh_now_ms() < until &&
               (nh_vault_outbox_depth(&W, id, "alpha", &depth) != 0 || depth != 0))
            nh_sleep_ms(200);
        if (depth) {
            nh_dump_logs(&W, 60);
            fail_msg("node %u keeps %zu entries in alpha's outbox", id, depth);
        }
        assert_true(nh_node_running(&W, id));
    }

    double span = (double)(block_time(last) - block_time(first)) + 1.0;
    double cap = (double)gas_limit / (double)(g_record + g_execute);
    double tps = (double)N_TRANSFERS / span;
    print_message("{\"case\":\"throughput_2of3_1s_blocks\",\"transfers\":%u,\"blocks\":%llu,"
                  "\"span_s\":%.0f,\"transfers_per_s\":%.1f,\"block_gas_limit\":%llu,"
                  "\"gas_record\":%llu,\"gas_execute\":%llu,\"capacity_per_s\":%.1f,"
                  "\"ratio_to_capacity\":%.3f,\"first_lock_to_last_mint_ms\":%llu}\n",
                  N_TRANSFERS, (unsigned long long)(last - first + 1), span, tps,
                  (unsigned long long)gas_limit, (unsigned long long)g_record,
                  (unsigned long long)g_execute, cap, tps / cap, (unsigned long long)all_ms);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_thousand_transfers_two_of_three_one_second_blocks,
                                        setup, teardown),
    };
    return nt_main(argc, argv, 0, "", tests, sizeof tests / sizeof tests[0], NULL, NULL);
}
