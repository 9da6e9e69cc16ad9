/* bench_catchup: a watcher catching up from a cold cursor.
 *
 * Usage: build/tests/bench/bench_catchup [N]
 * N lock events (default 10000) are put on a real anvil chain, 400 per
 * block, then a watcher with one endpoint (k = 1) and the token registered
 * (as the node configures its assets) starts from a cold cursor and polls
 * until every finalized block is read and every event is decoded, checked
 * against the token's Transfer into the Portal (forged-lock check) and
 * turned into a VAA body. The baseline, alternated with it in the same run
 * (ROUNDS each, medians), is the floor of the reads those checks need: the
 * Portal's TransferOut eth_getLogs and the token's Transfer(_, portal)
 * eth_getLogs over the same 2000-block ranges, both at once on two
 * connections, each answer JSON-parsed, nothing else. Prints one JSON line
 * with both rates, their ratio and the answer bytes each fetched. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_abi.h"
#include "bh_amount.h"
#include "bh_chain.h"
#include "bh_evm_chain.h"
#include "bh_evm_sender.h"
#include "bh_evm_tx.h"
#include "bh_portal.h"
#include "bh_portal_admin.h"
#include "bh_test_token.h"
#include "it_harness.h"

#define EVM_ID 31337
#define BRIDGE_ID 2
#define ROUNDS 5
#define BATCH 400

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != BH_OK) {                                                                        \
            fprintf(stderr, "bench_catchup: %s failed: %s\n", #expr, bh_errname(rc_));             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static int send_raw(bh_rpc *ep, const unsigned char *raw, size_t len)
{
    char *hex = malloc(2 * len + 3);
    bh_rpc_format_hex(hex, raw, len);
    json_t *params = json_pack("[s]", hex);
    free(hex);
    json_t *res = NULL;
    int rc = bh_rpc_call(ep, &res, "eth_sendRawTransaction", params);
    json_decref(params);
    json_decref(res);
    return rc;
}

/* One catch-up from a cold cursor; returns seconds, fills events and calls. */
static double catch_up(const char *url, const bh_address *portal, const bh_address *token,
                       size_t *events, uint64_t *calls, uint64_t *bytes)
{
    const char *urls[] = {url};
    bh_evm_chain_config cfg = {.bridge_id = BRIDGE_ID,
                               .evm_chain_id = EVM_ID,
                               .urls = urls,
                               .n_urls = 1,
                               .quorum = 1,
                               .portal = *portal,
                               .tokens = token,
                               .n_tokens = 1};
    bh_evm_chain *c = NULL;
    CHECK(bh_evm_chain_create(&c, &cfg));
    bh_block_ref cold = {0};
    bh_watcher *w = NULL;
    CHECK(bh_watcher_create(&w, &bh_chain_evm_ops, c, &cold));
    bh_block_ref fin;
    CHECK(bh_evm_chain_finalized(c, &fin));
    uint64_t calls0 = bh_evm_chain_rpc_calls(c), bytes0 = bh_evm_chain_rpc_bytes(c);
    double t0 = now_s();
    size_t total = 0;
    for (;;) {
        bh_chain_event *ev = NULL;
        size_t n = 0;
        bh_block_ref cur;
        CHECK(bh_watcher_poll(w, &ev, &n, &cur));
        for (size_t i = 0; i < n; i++)
            if (ev[i].verdict != BH_REJECT_OK || ev[i].body_len == 0) {
                fprintf(stderr, "bench_catchup: event %zu rejected (%s)\n", total + i,
                        bh_reject_name(ev[i].verdict));
                exit(1);
            }
        total += n;
        free(ev);
        if (cur.number >= fin.number) break;
    }
    double dt = now_s() - t0;
    *events = total;
    *calls = bh_evm_chain_rpc_calls(c) - calls0;
    *bytes = bh_evm_chain_rpc_bytes(c) - bytes0;
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(c);
    return dt;
}

/* Baseline: one of the two bare queries over every 2000-block range. */
typedef struct {
    bh_rpc *ep;
    const bh_address *portal, *token; /* token NULL: the Portal's TransferOut logs */
    uint64_t last;
    size_t count;
} raw_query;

static void *raw_run(void *p)
{
    raw_query *q = p;
    char addr[43], topic[67], to32[67];
    bh_hash32 t;
    bh_abi_topic(&t, q->token ? BH_ERC20_TRANSFER_SIG : BH_PORTAL_TRANSFER_OUT_SIG);
    bh_rpc_format_hex(topic, t.data, 32);
    bh_bytes32 p32;
    bh_address_to_bytes32(&p32, q->portal);
    bh_rpc_format_hex(to32, p32.data, 32);
    bh_rpc_format_hex(addr, (q->token ? q->token : q->portal)->data, 20);
    q->count = 0;
    for (uint64_t from = 0; from <= q->last; from += 2000) {
        uint64_t to = from + 1999 > q->last ? q->last : from + 1999;
        char f[19], tq[19];
        bh_rpc_format_quantity(f, from);
        bh_rpc_format_quantity(tq, to);
        json_t *params = q->token ? json_pack("[{s:s,s:s,s:s,s:[s,n,s]}]", "fromBlock", f,
                                              "toBlock", tq, "address", addr, "topics", topic, to32)
                                  : json_pack("[{s:s,s:s,s:s,s:[s]}]", "fromBlock", f, "toBlock",
                                              tq, "address", addr, "topics", topic);
        json_t *res = NULL;
        CHECK(bh_rpc_call(q->ep, &res, "eth_getLogs", params));
        json_decref(params);
        q->count += json_array_size(res);
        json_decref(res);
    }
    return NULL;
}

/* Both bare queries at once (two connections). Out: logs of each, bytes. */
static double raw_logs(bh_rpc *ep[2], const bh_address *portal, const bh_address *token,
                       uint64_t last, size_t *portal_logs, size_t *transfer_logs, uint64_t *bytes)
{
    bh_rpc_stats s0, s1;
    bh_rpc_stats_get(ep[0], &s0);
    bh_rpc_stats_get(ep[1], &s1);
    uint64_t b0 = s0.bytes_in + s1.bytes_in;
    raw_query q[2] = {{ep[0], portal, NULL, last, 0}, {ep[1], portal, token, last, 0}};
    double t0 = now_s();
    pthread_t th;
    int threaded = pthread_create(&th, NULL, raw_run, &q[1]) == 0;
    raw_run(&q[0]);
    if (threaded)
        pthread_join(th, NULL);
    else
        raw_run(&q[1]);
    double dt = now_s() - t0;
    bh_rpc_stats_get(ep[0], &s0);
    bh_rpc_stats_get(ep[1], &s1);
    *bytes = s0.bytes_in + s1.bytes_in - b0;
    *portal_logs = q[0].count;
    *transfer_logs = q[1].count;
    return dt;
}

int main(int argc, char **argv)
{
    size_t n_events = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    if (n_events == 0) n_events = 1;
    const char *extra[] = {"--gas-limit", "100000000", NULL};
    it_anvil anvil;
    if (it_anvil_start(&anvil, EVM_ID, extra)) return 1;
    double t_setup = now_s();

    bh_attest *ctx = bh_attest_create();
    bh_rpc_options ro = {.url = anvil.url, .timeout_ms = 60000};
    bh_rpc *ep = NULL;
    CHECK(bh_rpc_create(&ep, &ro));
    bh_seckey key;
    it_key(&key, IT_ANVIL_KEY0);
    bh_evm_sender_options so = {.chain_id = EVM_ID};
    bh_evm_sender *s = NULL;
    CHECK(bh_evm_sender_create(&s, ep, ctx, &key, &so));
    bh_address att, portal, token, remote;
    bh_seckey ak;
    it_test_key(&ak, 1);
    CHECK(bh_attest_address(ctx, &att, &ak));
    CHECK(bh_portal_deploy(s, &portal, BRIDGE_ID, 0, &att, 1, 1));
    memset(remote.data, 0x77, 20);
    CHECK(bh_portal_register_remote(s, &portal, 3, &remote));
    CHECK(bh_test_token_deploy(s, &token, "Bench", "BEN", 18));
    const bh_address *me = bh_evm_sender_address(s);
    bh_u256 big;
    memset(big.be, 0, 32);
    big.be[0] = 0x7f;
    CHECK(bh_test_token_mint(s, &token, me, &big));
    bh_abi a;
    bh_abi_init(&a, "approve(address,uint256)", 2);
    bh_abi_address(&a, &portal);
    memset(big.be, 0xff, 32);
    bh_abi_u256(&a, &big);
    unsigned char *data = NULL;
    size_t data_len = 0;
    CHECK(bh_abi_finish(&a, &data, &data_len));
    bh_abi_clear(&a);
    CHECK(bh_evm_sender_send(s, NULL, &token, NULL, data, data_len));
    free(data);
    CHECK(bh_evm_sender_sync_nonce(s));
    uint64_t nonce = bh_evm_sender_next_nonce(s);

    json_t *r = it_rpc(anvil.url, "evm_setAutomine", json_pack("[b]", 0));
    json_decref(r);
    bh_bytes32 to32;
    bh_address_to_bytes32(&to32, me);
    for (size_t i = 0; i < n_events; i++) {
        bh_abi_init(&a, "lock(address,uint256,uint16,bytes32,uint256,uint32)", 6);
        bh_abi_address(&a, &token);
        bh_abi_uint(&a, 1000 + i);
        bh_abi_uint(&a, 3);
        bh_abi_bytes32(&a, &to32);
        bh_abi_uint(&a, 0);
        bh_abi_uint(&a, (uint64_t)i);
        CHECK(bh_abi_finish(&a, &data, &data_len));
        bh_abi_clear(&a);
        bh_evm_tx tx = {.chain_id = EVM_ID,
                        .nonce = nonce++,
                        .max_priority_fee = 1000000000,
                        .max_fee = 2000000000000ull,
                        .gas_limit = 200000,
                        .has_to = 1,
                        .to = portal,
                        .data = data,
                        .data_len = data_len};
        unsigned char *raw = NULL;
        size_t raw_len = 0;
        bh_hash32 h;
        CHECK(bh_evm_tx_sign(ctx, &raw, &raw_len, &h, &tx, &key));
        CHECK(send_raw(ep, raw, raw_len));
        free(raw);
        free(data);
        if ((i + 1) % BATCH == 0 || i + 1 == n_events) {
            r = it_rpc(anvil.url, "evm_mine", NULL);
            json_decref(r);
        }
    }
    r = it_rpc(anvil.url, "evm_setAutomine", json_pack("[b]", 1));
    json_decref(r);
    if (it_mine(anvil.url, 70)) return 1;
    t_setup = now_s() - t_setup;

    bh_block_ref fin;
    {
        const char *urls[] = {anvil.url};
        bh_evm_chain_config cfg = {.bridge_id = BRIDGE_ID,
                                   .evm_chain_id = EVM_ID,
                                   .urls = urls,
                                   .n_urls = 1,
                                   .quorum = 1,
                                   .portal = portal};
        bh_evm_chain *c = NULL;
        CHECK(bh_evm_chain_create(&c, &cfg));
        CHECK(bh_evm_chain_finalized(c, &fin));
        bh_evm_chain_destroy(c);
    }

    /* two connections with their own counters; no answer cap: the bare
     * queries take any 2000-block range whole */
    bh_rpc *raw_ep[2] = {NULL, NULL};
    bh_rpc_options raw_ro = ro;
    raw_ro.max_response = (size_t)1 << 30;
    CHECK(bh_rpc_create(&raw_ep[0], &raw_ro));
    CHECK(bh_rpc_create(&raw_ep[1], &raw_ro));
    double t_watch[ROUNDS], t_base[ROUNDS];
    size_t events = 0, base_events = 0, base_transfers = 0;
    uint64_t calls = 0, bytes = 0, base_bytes = 0;
    for (int round = 0; round < ROUNDS; round++) {
        t_base[round] = raw_logs(raw_ep, &portal, &token, fin.number, &base_events, &base_transfers,
                                 &base_bytes);
        t_watch[round] = catch_up(anvil.url, &portal, &token, &events, &calls, &bytes);
        if (events != n_events || base_events != n_events || base_transfers != n_events) {
            fprintf(stderr,
                    "bench_catchup: decoded %zu, raw %zu locks and %zu transfers, "
                    "expected %zu\n",
                    events, base_events, base_transfers, n_events);
            return 1;
        }
        fprintf(stderr, "bench_catchup: round %d: watcher %.3f s, baseline %.3f s\n", round,
                t_watch[round], t_base[round]);
    }
    bh_rpc_destroy(raw_ep[0]);
    bh_rpc_destroy(raw_ep[1]);
    qsort(t_watch, ROUNDS, sizeof t_watch[0], cmp_d);
    qsort(t_base, ROUNDS, sizeof t_base[0], cmp_d);
    double w = t_watch[ROUNDS / 2], b = t_base[ROUNDS / 2];
    printf("{\"bench\":\"catchup\",\"events\":%zu,\"blocks\":%llu,\"endpoints\":1,\"quorum\":1,"
           "\"rounds\":%d,\"seconds\":%.3f,\"events_per_s\":%.0f,\"rpc_calls\":%llu,"
           "\"bytes\":%llu,\"baseline\":\"Portal eth_getLogs + token Transfer eth_getLogs "
           "(at once) + JSON parse\",\"baseline_seconds\":%.3f,\"baseline_events_per_s\":%.0f,"
           "\"baseline_bytes\":%llu,\"ratio_to_baseline\":%.3f,\"setup_s\":%.1f}\n",
           events, (unsigned long long)fin.number + 1, ROUNDS, w, (double)events / w,
           (unsigned long long)calls, (unsigned long long)bytes, b, (double)events / b,
           (unsigned long long)base_bytes, b / w, t_setup);

    bh_evm_sender_destroy(s);
    bh_rpc_destroy(ep);
    bh_attest_destroy(ctx);
    it_anvil_stop(&anvil);
    return 0;
}
