/* bench_e2e: the whole node, end to end, on two anvil chains.
 *
 * Usage: build/tests/bench/bench_e2e [-n N] [--bulkhead PATH] [--vaultctl PATH]
 *   N transfers (default 200). The bulkhead and vaultctl binaries of the
 *   same build are used unless given. Needs anvil from tests/node (as the
 *   integration tests). Takes about a minute for N = 200.
 *
 * Chains A and B (anvil, mixed mining, a block every 200 ms), Portals
 * 1-of-1, one node (`bulkhead run`, confirmations 2, poll 100 ms). N locks
 * of TKA are made on A towards B in a few transactions (the test Flooder
 * contract: many real locks per transaction), so they are finalized
 * together and the node has to carry a burst of N.
 *
 * Prints two JSON lines, each with its baseline measured in the same run:
 *  - throughput: transfers/s from the first lock event on A to the last
 *    mint on B (wall clock, mint seen by polling the recipient's balance).
 *    Baseline: the raw rate of Portal.submit on B of N pre-signed VAAs
 *    (same chain, same bh_evm_sender code and options as the node's
 *    delivery, one transaction at a time), without the node. ratio =
 *    node / baseline: the share of the chain's own submit rate the node
 *    keeps while it also watches, checks, applies and signs.
 *  - latency: p50 / p99 of the node's `event=delivered … latency_ms=`
 *    (from the finalized event being stored to its submit being mined) over
 *    the burst. Baseline: the same figure for the raw burst, i.e. from the
 *    burst's start to each submit mined. ratio = node p50 / baseline p50. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_chain.h"
#include "bh_evm_sender.h"
#include "bh_portal.h"
#include "bh_transfer.h"
#include "bh_vaa.h"
#include "node_harness.h"

#ifndef BH_BULKHEAD_BIN
#define BH_BULKHEAD_BIN "bulkhead"
#endif
#ifndef BH_VAULTCTL_BIN
#define BH_VAULTCTL_BIN "vaultctl"
#endif

#define PER_TX 100
#define BASE_SEQ 1000000u /* baseline sequences: far from the node's */

static nh_world W;

static int die(const char *what)
{
    fprintf(stderr, "bench_e2e: %s failed\n", what);
    nh_world_stop(&W);
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, unsigned p)
{
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (n * p + 99) / 100;
    return v[i ? i - 1 : 0];
}

/* The VAA body of an A->B transfer of 1 unit of TKA to `to`, sequence seq,
 * emitted by A's Portal: what the node would build from a lock. */
static size_t make_body(unsigned char *body, size_t cap, uint64_t seq, const bh_address *to)
{
    bh_transfer t;
    memset(&t, 0, sizeof t);
    bh_u256_from_u128(&t.amount, 1);
    bh_address_to_bytes32(&t.token, &W.tka);
    t.token_chain = 1;
    bh_address_to_bytes32(&t.to, to);
    t.to_chain = 2;
    unsigned char payload[BH_TRANSFER_LEN];
    bh_transfer_serialize(payload, &t);
    bh_vaa_body b;
    memset(&b, 0, sizeof b);
    b.timestamp = 1;
    b.nonce = (uint32_t)seq;
    b.emitter_chain = 1;
    bh_address_to_bytes32(&b.emitter, &W.ch[NH_A].portal);
    b.sequence = seq;
    b.consistency = BH_CONSISTENCY_FINALIZED;
    b.payload = payload;
    b.payload_len = sizeof payload;
    size_t len = 0;
    if (bh_vaa_body_serialize(body, cap, &len, &b) != BH_OK) return 0;
    return len;
}

/* Raw submits of n pre-signed VAAs on B. Out: total ms, per-submit
 * completion times from the start (lat[n]). Returns 0 on success. */
static int baseline(size_t n, uint64_t *total_ms, uint64_t *lat)
{
    bh_seckey k;
    it_key(&k, nh_anvil_key(6));
    bh_address sink;
    if (bh_attest_address(W.ctx, &sink, &k) != BH_OK) return -1;
    /* The node's delivery sender options (relayer/src/node.c): defaults
     * apart from the chain id, the caps and a 10 ms receipt poll. */
    bh_evm_sender_options so = {.chain_id = W.ch[NH_B].anvil.chain_id,
                                .gas_cap = 10000000,
                                .max_fee_cap = 1000ull * 1000000000ull,
                                .poll_ms = 10};
    bh_evm_sender *s = NULL;
    int rc = bh_evm_sender_create(&s, W.ch[NH_B].rpc, W.ctx, &k, &so);
    bh_seckey_clear(&k);
    if (rc != BH_OK) return -1;
    unsigned char(*vaas)[512] = calloc(n + 1, sizeof *vaas);
    size_t *lens = calloc(n + 1, sizeof *lens);
    if (!vaas || !lens) return -1;
    for (size_t i = 0; i <= n && rc == BH_OK; i++) {
        unsigned char body[BH_EVENT_BODY_MAX];
        size_t blen = make_body(body, sizeof body, BASE_SEQ + i, &sink);
        rc = blen ? bh_portal_sign_vaa(W.ctx, vaas[i], sizeof vaas[i], &lens[i], 0, 0, &W.att[0],
                                       body, blen)
                  : BH_EINVAL;
    }
    bh_submit_outcome out;
    /* The first submit creates the wrapped token: warm-up, not counted. */
    if (rc == BH_OK) rc = bh_portal_submit(s, &out, NULL, &W.ch[NH_B].portal, vaas[n], lens[n]);
    uint64_t t0 = nh_now_ms();
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        rc = bh_portal_submit(s, &out, NULL, &W.ch[NH_B].portal, vaas[i], lens[i]);
        if (rc == BH_OK && out != BH_SUBMIT_EXECUTED) rc = BH_ESTATE;
        lat[i] = nh_now_ms() - t0;
    }
    *total_ms = nh_now_ms() - t0;
    if (rc != BH_OK) fprintf(stderr, "bench_e2e: submit: %s\n", bh_evm_sender_last_error(s));
    free(vaas);
    free(lens);
    bh_evm_sender_destroy(s);
    return rc == BH_OK ? 0 : -1;
}

/* latency_ms of the node's delivered lines for A->B sequences >= first. */
static size_t node_latencies(uint64_t *out, size_t cap, uint64_t first)
{
    char *log = nh_node_log(&W, 1);
    size_t n = 0;
    for (char *line = log; line && *line && n < cap;) {
        char *eol = strchr(line, '\n');
        if (eol) *eol = '\0';
        char seq[32], lat[32], from[32];
        if (strstr(line, "event=delivered") && nh_log_field(line, "seq", seq, sizeof seq) == 0 &&
            nh_log_field(line, "from", from, sizeof from) == 0 && !strcmp(from, "alpha") &&
            strtoull(seq, NULL, 10) >= first &&
            nh_log_field(line, "latency_ms", lat, sizeof lat) == 0 && lat[0] != '-')
            out[n++] = strtoull(lat, NULL, 10);
        line = eol ? eol + 1 : NULL;
    }
    free(log);
    return n;
}

int main(int argc, char **argv)
{
    size_t n = 200;
    const char *bulkhead = BH_BULKHEAD_BIN, *vaultctl = BH_VAULTCTL_BIN;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--bulkhead") && i + 1 < argc)
            bulkhead = argv[++i];
        else if (!strcmp(argv[i], "--vaultctl") && i + 1 < argc)
            vaultctl = argv[++i];
        else {
            fprintf(stderr, "usage: %s [-n N] [--bulkhead PATH] [--vaultctl PATH]\n", argv[0]);
            return 2;
        }
    }
    if (n < 1 || n > 5000) {
        fprintf(stderr, "bench_e2e: N must be 1..5000\n");
        return 2;
    }
    nh_opts o = {.n_chains = 2,
                 .n_attesters = 1,
                 .quorum = 1,
                 .bulkhead = bulkhead,
                 .vaultctl = vaultctl,
                 .evm_id_base = 7900};
    if (nh_world_start(&W, &o) != 0) return die("world start");

    uint64_t *base_lat = calloc(n, sizeof *base_lat), *node_lat = calloc(n, sizeof *node_lat);
    uint64_t base_ms = 0;
    if (!base_lat || !node_lat) return die("calloc");
    if (baseline(n, &base_ms, base_lat) != 0) return die("baseline");

    /* The node: one warm-up transfer (sequence 0), then the burst. */
    bh_address wrapped;
    if (nh_node_prepare(&W, 1, 0, NULL) != 0 || nh_node_start(&W, 1, 30000) != 0)
        return die("node start");
    if (nh_lock(&W, NH_A, &W.tka, 1, NH_B, &W.user, 0, NULL) != 0 ||
        nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, 30000) != 0 ||
        nh_wait_balance(&W, NH_B, &wrapped, &W.user, 1, 30000, "warm-up", NULL) != 0)
        return die("warm-up transfer");
    uint64_t t0 = 0;
    for (size_t done = 0; done < n;) {
        unsigned k = (unsigned)(n - done < PER_TX ? n - done : PER_TX);
        if (nh_flood(&W, NH_A, &W.tka, k, k, 1, NH_B, &W.user) != 0) return die("locks");
        if (done == 0) t0 = nh_now_ms(); /* the first lock events are on chain */
        done += k;
    }
    uint64_t wait_ms = 60000 + 200 * (uint64_t)n;
    if (nh_wait_balance(&W, NH_B, &wrapped, &W.user, 1 + (bh_u128)n, (unsigned)wait_ms, "all mints",
                        NULL) != 0)
        return die("delivery");
    uint64_t node_ms = nh_now_ms() - t0;
    if (nh_node_stop(&W, 1, 30000) != 0) return die("node stop");
    size_t got = node_latencies(node_lat, n, 1);
    if (got == 0) return die("latency lines");

    double base_tps = base_ms ? 1000.0 * (double)n / (double)base_ms : 0;
    double node_tps = node_ms ? 1000.0 * (double)n / (double)node_ms : 0;
    uint64_t b50 = pct(base_lat, n, 50), b99 = pct(base_lat, n, 99);
    uint64_t n50 = pct(node_lat, got, 50), n99 = pct(node_lat, got, 99);
    printf("{\"bench\":\"e2e\",\"case\":\"throughput\",\"transfers\":%zu,"
           "\"transfers_per_s\":%.1f,\"baseline\":\"raw Portal.submit of pre-signed VAAs\","
           "\"baseline_per_s\":%.1f,\"ratio\":%.3f}\n",
           n, node_tps, base_tps, base_tps > 0 ? node_tps / base_tps : 0);
    printf("{\"bench\":\"e2e\",\"case\":\"latency\",\"transfers\":%zu,\"samples\":%zu,"
           "\"p50_ms\":%llu,\"p99_ms\":%llu,\"baseline\":\"raw burst, start to each submit\","
           "\"baseline_p50_ms\":%llu,\"baseline_p99_ms\":%llu,\"ratio\":%.3f}\n",
           n, got, (unsigned long long)n50, (unsigned long long)n99, (unsigned long long)b50,
           (unsigned long long)b99, b50 ? (double)n50 / (double)b50 : 0);
    free(base_lat);
    free(node_lat);
    nh_world_stop(&W);
    return 0;
}
