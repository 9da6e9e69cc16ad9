/* bench_e2e: the whole node, end to end, on two anvil chains.
 *
 * Usage: build/tests/bench/bench_e2e [-n N] [--ws-clients C] [--rounds R]
 *                                    [--block-time S [--pipe-n M]]
 *                                    [--bulkhead PATH] [--vaultctl PATH]
 *   N transfers per burst (default 200), C websocket clients (default 200;
 *   0 skips the ws_clients case), R rounds of that case (default 5). The
 *   bulkhead and vaultctl binaries of the same build are used unless
 *   given. Needs anvil from tests/node (as the integration tests). Takes
 *   about a minute and a half with the defaults (2 shared cores).
 *
 * Chains A and B (anvil, mixed mining, a block every 200 ms), Portals
 * 1-of-1, one node (`bulkhead run`, confirmations 2, poll 100 ms). N locks
 * of TKA are made on A towards B in a few transactions (the test Flooder
 * contract: many real locks per transaction), so they are finalized
 * together and the node has to carry a burst of N.
 *
 * The node runs with a "metrics" section (the operator server on
 * 127.0.0.1, port 0: the port is read from its event=metrics_listening
 * line; max_clients C + 8) and breaker.supply_drift 0: the baselines mint
 * wrapped TKA on B with VAAs the node never saw, which its supply
 * reconciliation rightly reports and would otherwise quarantine B for,
 * holding every later transfer (other options default).
 *
 * Prints two JSON lines, each with its baseline measured in the same run,
 * from the node's first burst (no websocket client):
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
 *    burst's start to each submit mined. ratio = node p50 / baseline p50.
 * and, unless C = 0, a third:
 *  - ws_clients: node throughput (as above) without and with C websocket
 *    clients on the node's /ws. Method: the same node on the same chains
 *    carries 2R + 1 bursts of N, alternately without and with clients (the
 *    first is the burst of the lines above, the last is without). anvil slows
 *    down as its chain grows (its raw submit rate falls about fourfold over
 *    the run's ~2,000 submits on B), so each burst is slower than the one
 *    before: each "with" burst is compared with the mean time of the two
 *    "without" bursts around it, which cancels a steady drift. The line gives
 *    the median round by that ratio (R odd; for R even the upper of the two
 *    middle ones): transfers_per_s_with of its "with" burst,
 *    transfers_per_s_without of its two neighbours' mean time, and ratio =
 *    with / without (all R rounds go to stderr). A median of each side taken
 *    apart would compare different rounds, so the drift would leak into the
 *    ratio. For a "with" burst one client thread (one libwebsockets client
 *    context, C connections) connects every client and waits until each is
 *    open and has its first snapshot frame before the first lock; the clients
 *    keep reading every frame until the last mint is seen, then close (status
 *    1000) before the next burst. frames_received: frames (snapshots and
 *    events) received by all clients over the R "with" bursts, connect to
 *    close; clients_connected_at_end: the fewest clients still open at the
 *    end of a "with" burst (the bench exits 1 if that is less than C). A
 *    stderr line per "with" burst gives the connect time and the fewest
 *    "delivered" event frames a client got (waited for up to 10 s after the
 *    burst, untimed; every client should see all N). The client thread shares
 *    the cores with the node and the chains, so its own cost is part of the
 *    "with" figure.
 *
 * --block-time S (whole seconds): both chains mine a block every S seconds
 * and only then (anvil interval mining, set after the deployments), as a
 * real chain does; N defaults to 40 and the ws_clients case is skipped. A
 * fourth line, block_time, puts the node's burst (as in throughput) against
 * what the chain can carry of the same approvals: capacity = B's block gas
 * limit / gas per approval (the median gasUsed of the pipelined baseline's
 * submits, each a 1-of-1 approval that executes) / S. Its baseline is the
 * honest one for a chain with a block time: a nonce-pipelined raw sender
 * (anvil key #8) that signs M (default 1000: more than a block holds)
 * Portal.submit transactions of fresh VAAs
 * beforehand, sends them all at once (consecutive nonces) and sees them
 * mined block by block; its p50 / p99 are from the burst's start to the
 * block that holds each. The node's p50 / p99 there are its delivered
 * latency_ms (finalized event stored -> submit mined). transfers_per_s
 * there counts from the burst's locks on A to its last mint on B, so it
 * includes A's finality; span_transfers_per_s counts the blocks of B that
 * executed the burst (first to last, plus one block time), which is what
 * the chain's capacity bounds. sequential_per_s is one submit at a time
 * (20 of them: one per block). */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_chain.h"
#include "bh_abi.h"
#include "bh_evm_sender.h"
#include "bh_evm_tx.h"
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
#define PIPE_SEQ 2000000u /* the pipelined baseline's */

static nh_world W;
static unsigned block_s; /* --block-time: seconds between blocks, 0: the harness's mixed mining */

static void pool_stop(void);

static int die(const char *what)
{
    fprintf(stderr, "bench_e2e: %s failed\n", what);
    pool_stop();
    nh_world_stop(&W);
    return 1;
}

/* ---- the websocket clients: one thread, one lws client context ----
 * Each connection's counters are written on the client thread and read by
 * the main thread (atomics); everything lws is touched on the client thread
 * only, apart from lws_cancel_service (thread-safe) to wake it. */

enum { WS_CONNECTING, WS_OPEN, WS_CLOSED, WS_FAILED };

#define WS_HEAD 48 /* enough of a frame's start to tell its type and kind */

typedef struct {
    struct lws *wsi;
    _Atomic int state;
    _Atomic uint64_t frames, snapshots, delivered;
    int in_frame, want_close;
    char head[WS_HEAD];
    size_t head_len;
} ws_conn;

static struct {
    struct lws_context *ctx;
    lws_sorted_usec_list_t tick;
    pthread_t thread;
    int running;
    uint16_t port;
    size_t n;
    ws_conn *c;
    _Atomic int stop;
} P;

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    (void)user;
    ws_conn *c = lws_get_opaque_user_data(wsi);
    if (c == NULL) return 0; /* context-wide callbacks */
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        atomic_store(&c->state, WS_OPEN);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!c->in_frame) c->in_frame = 1, c->head_len = 0;
        if (c->head_len < WS_HEAD) {
            size_t k = len < WS_HEAD - c->head_len ? len : WS_HEAD - c->head_len;
            memcpy(c->head + c->head_len, in, k);
            c->head_len += k;
        }
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            static const char snap[] = "{\"type\":\"snapshot\"";
            static const char deliv[] = "{\"type\":\"event\",\"kind\":\"delivered\"";
            atomic_fetch_add(&c->frames, 1);
            if (c->head_len >= sizeof snap - 1 && !memcmp(c->head, snap, sizeof snap - 1))
                atomic_fetch_add(&c->snapshots, 1);
            if (c->head_len >= sizeof deliv - 1 && !memcmp(c->head, deliv, sizeof deliv - 1))
                atomic_fetch_add(&c->delivered, 1);
            c->in_frame = 0;
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c->want_close) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "bench_e2e: ws client: connection error: %s\n",
                in ? (const char *)in : "(none)");
        c->wsi = NULL;
        atomic_store(&c->state, WS_FAILED);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->wsi = NULL;
        atomic_store(&c->state, WS_CLOSED);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols ws_protocols[] = {
    {"bulkhead-bench", ws_cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Wakes the service loop every 100 ms so it sees P.stop. */
static void ws_tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(P.ctx, 0, sul, ws_tick, 100 * LWS_US_PER_MS);
}

static void *ws_thread(void *arg)
{
    (void)arg;
    lws_sul_schedule(P.ctx, 0, &P.tick, ws_tick, 100 * LWS_US_PER_MS);
    for (size_t i = 0; i < P.n; i++) {
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = P.ctx;
        ci.address = "127.0.0.1";
        ci.port = P.port;
        ci.path = "/ws";
        ci.host = "127.0.0.1";
        ci.origin = "127.0.0.1";
        ci.ietf_version_or_minus_one = -1;
        ci.opaque_user_data = &P.c[i];
        ci.pwsi = &P.c[i].wsi;
        ci.local_protocol_name = "bulkhead-bench";
        if (lws_client_connect_via_info(&ci) == NULL) atomic_store(&P.c[i].state, WS_FAILED);
    }
    while (!atomic_load(&P.stop))
        lws_service(P.ctx, 0);
    /* Close every open connection (status 1000) and wait for the closes. */
    for (size_t i = 0; i < P.n; i++)
        if (P.c[i].wsi && atomic_load(&P.c[i].state) == WS_OPEN) {
            P.c[i].want_close = 1;
            lws_callback_on_writable(P.c[i].wsi);
        }
    for (uint64_t end = nh_now_ms() + 5000; nh_now_ms() < end;) {
        size_t open = 0;
        for (size_t i = 0; i < P.n; i++)
            open += P.c[i].wsi != NULL;
        if (open == 0) break;
        lws_service(P.ctx, 0);
    }
    lws_sul_cancel(&P.tick);
    return NULL;
}

/* n clients on ws://127.0.0.1:port/ws, serviced by a new thread. */
static int pool_start(uint16_t port, size_t n)
{
    memset(&P, 0, sizeof P);
    P.port = port;
    P.n = n;
    P.c = calloc(n, sizeof *P.c);
    if (P.c == NULL) return -1;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = ws_protocols;
    info.fd_limit_per_thread = (unsigned)n + 64;
    P.ctx = lws_create_context(&info);
    if (P.ctx == NULL || pthread_create(&P.thread, NULL, ws_thread, NULL) != 0) {
        lws_context_destroy(P.ctx);
        free(P.c);
        P.c = NULL;
        return -1;
    }
    P.running = 1;
    return 0;
}

/* Clients per state; *frames, *snapshots and *min_delivered (the fewest
 * delivered events a client got) over all clients. */
static size_t pool_count(int state, uint64_t *frames, uint64_t *min_snapshots,
                         uint64_t *min_delivered)
{
    size_t k = 0;
    uint64_t f = 0, ms = UINT64_MAX, md = UINT64_MAX;
    for (size_t i = 0; i < P.n; i++) {
        k += atomic_load(&P.c[i].state) == state;
        f += atomic_load(&P.c[i].frames);
        uint64_t s = atomic_load(&P.c[i].snapshots), d = atomic_load(&P.c[i].delivered);
        ms = s < ms ? s : ms;
        md = d < md ? d : md;
    }
    if (frames) *frames = f;
    if (min_snapshots) *min_snapshots = P.n ? ms : 0;
    if (min_delivered) *min_delivered = P.n ? md : 0;
    return k;
}

/* Close the clients, join the thread, free the context; a no-op when not
 * running. The context outlives the thread, so waking it is safe.
 * Out: frames  every client's frames, connect to close (may be NULL). */
static void pool_close(uint64_t *frames)
{
    if (!P.running) return;
    atomic_store(&P.stop, 1);
    lws_cancel_service(P.ctx);
    pthread_join(P.thread, NULL);
    lws_context_destroy(P.ctx);
    P.ctx = NULL;
    P.running = 0;
    if (frames) pool_count(WS_OPEN, frames, NULL, NULL);
    free(P.c);
    P.c = NULL;
    P.n = 0;
}

static void pool_stop(void)
{
    pool_close(NULL);
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
    return nh_transfer_body(&W, body, cap, seq, to);
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

static uint64_t rpc_quantity(const char *method, json_t *params, const char *member)
{
    json_t *r = it_rpc(W.ch[NH_B].anvil.url, method, params);
    const char *q = json_string_value(member ? json_object_get(r, member) : r);
    uint64_t v = q ? strtoull(q, NULL, 16) : 0;
    json_decref(r);
    return v;
}

/* The pipelined baseline: n Portal.submit transactions of fresh VAAs on B,
 * signed beforehand with consecutive nonces, sent at once, seen mined block
 * by block. Out: total ms (start to the block holding the last), each one's
 * ms from the start (lat[n]), the median gasUsed. Returns 0 on success. */
static int pipelined(size_t n, uint64_t *total_ms, uint64_t *lat, uint64_t *gas_median)
{
    bh_seckey k;
    it_key(&k, nh_anvil_key(8));
    bh_address me;
    if (bh_attest_address(W.ctx, &me, &k) != BH_OK) return -1;
    char me_hex[43];
    bh_rpc_format_hex(me_hex, me.data, 20);
    uint64_t nonce =
        rpc_quantity("eth_getTransactionCount", json_pack("[s,s]", me_hex, "pending"), NULL);
    char(*hashes)[67] = calloc(n, sizeof *hashes);
    char **raws = calloc(n, sizeof *raws);
    int *seen = calloc(n, sizeof *seen);
    uint64_t *gas = calloc(n, sizeof *gas);
    int rc = hashes && raws && seen && gas ? BH_OK : BH_ENOMEM;
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        unsigned char body[BH_EVENT_BODY_MAX], vaa[512];
        size_t blen = make_body(body, sizeof body, PIPE_SEQ + i, &me), vlen = 0;
        rc = blen ? bh_portal_sign_vaa(W.ctx, vaa, sizeof vaa, &vlen, 0, 0, &W.att[0], body, blen)
                  : BH_EINVAL;
        bh_abi a;
        bh_abi_init(&a, "submit(bytes)", 1);
        bh_abi_bytes(&a, vaa, vlen);
        unsigned char *data = NULL;
        size_t dlen = 0;
        if (rc == BH_OK) rc = bh_abi_finish(&a, &data, &dlen);
        bh_abi_clear(&a);
        bh_evm_tx tx = {.chain_id = W.ch[NH_B].anvil.chain_id,
                        .nonce = nonce + i,
                        .max_priority_fee = 2000000000ull,
                        .max_fee = 500ull * 1000000000ull,
                        .gas_limit = BH_PORTAL_SUBMIT_GAS,
                        .has_to = 1,
                        .to = W.ch[NH_B].portal,
                        .data = data,
                        .data_len = dlen};
        unsigned char *raw = NULL;
        size_t raw_len = 0;
        bh_hash32 h;
        if (rc == BH_OK) rc = bh_evm_tx_sign(W.ctx, &raw, &raw_len, &h, &tx, &k);
        free(data);
        if (rc == BH_OK && (raws[i] = malloc(2 * raw_len + 3)) == NULL) rc = BH_ENOMEM;
        if (rc == BH_OK) {
            bh_rpc_format_hex(raws[i], raw, raw_len);
            bh_rpc_format_hex(hashes[i], h.data, 32);
        }
        free(raw);
    }
    bh_seckey_clear(&k);
    uint64_t start_block = rpc_quantity("eth_blockNumber", NULL, NULL), t0 = nh_now_ms();
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        json_t *r =
            it_rpc(W.ch[NH_B].anvil.url, "eth_sendRawTransaction", json_pack("[s]", raws[i]));
        if (!r) rc = BH_ERPC;
        json_decref(r);
    }
    /* each new block: which of ours it holds */
    size_t done = 0;
    uint64_t next = start_block + 1;
    while (rc == BH_OK && done < n) {
        if (nh_now_ms() - t0 > 600000) rc = BH_ETIMEOUT;
        uint64_t head = rpc_quantity("eth_blockNumber", NULL, NULL);
        if (head < next) {
            nh_sleep_ms(10);
            continue;
        }
        uint64_t now = nh_now_ms() - t0;
        for (; next <= head && rc == BH_OK; next++) {
            char q[19];
            bh_rpc_format_quantity(q, next);
            json_t *b =
                it_rpc(W.ch[NH_B].anvil.url, "eth_getBlockByNumber", json_pack("[s,b]", q, 0));
            json_t *txs = json_object_get(b, "transactions");
            for (size_t t = 0; t < json_array_size(txs); t++)
                for (size_t i = 0; i < n; i++)
                    if (!seen[i] && json_string_value(json_array_get(txs, t)) &&
                        !strcasecmp(json_string_value(json_array_get(txs, t)), hashes[i])) {
                        seen[i] = 1;
                        lat[i] = now;
                        done++;
                    }
            json_decref(b);
        }
    }
    *total_ms = nh_now_ms() - t0;
    if (rc == BH_OK) *total_ms = 0;
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        *total_ms = lat[i] > *total_ms ? lat[i] : *total_ms;
        json_t *r =
            it_rpc(W.ch[NH_B].anvil.url, "eth_getTransactionReceipt", json_pack("[s]", hashes[i]));
        const char *st = json_string_value(json_object_get(r, "status"));
        const char *gu = json_string_value(json_object_get(r, "gasUsed"));
        if (!st || strcmp(st, "0x1") != 0 || !gu) rc = BH_EREVERTED;
        gas[i] = gu ? strtoull(gu, NULL, 16) : 0;
        json_decref(r);
    }
    if (rc == BH_OK) *gas_median = pct(gas, n, 50);
    if (rc != BH_OK) fprintf(stderr, "bench_e2e: pipelined baseline: %s\n", bh_errname(rc));
    for (size_t i = 0; raws && i < n; i++)
        free(raws[i]);
    free(raws);
    free(hashes);
    free(seen);
    free(gas);
    return rc == BH_OK ? 0 : -1;
}

static int interval_mining(size_t chain, unsigned seconds)
{
    json_t *r = it_rpc(W.ch[chain].anvil.url, "evm_setIntervalMining",
                       json_pack("[I]", (json_int_t)seconds));
    if (!r) return -1;
    json_decref(r);
    return 0;
}

/* latency_ms of the node's delivered lines for A->B sequences first..last. */
static size_t node_latencies(uint64_t *out, size_t cap, uint64_t first, uint64_t last)
{
    char *log = nh_node_log(&W, 1);
    size_t n = 0;
    for (char *line = log; line && *line && n < cap;) {
        char *eol = strchr(line, '\n');
        if (eol) *eol = '\0';
        char seq[32], lat[32], from[32];
        if (strstr(line, "event=delivered") && nh_log_field(line, "seq", seq, sizeof seq) == 0 &&
            nh_log_field(line, "from", from, sizeof from) == 0 && !strcmp(from, "alpha") &&
            strtoull(seq, NULL, 10) >= first && strtoull(seq, NULL, 10) <= last &&
            nh_log_field(line, "latency_ms", lat, sizeof lat) == 0 && lat[0] != '-')
            out[n++] = strtoull(lat, NULL, 10);
        line = eol ? eol + 1 : NULL;
    }
    free(log);
    return n;
}

/* The operator server on 127.0.0.1, any free port, room for the clients;
 * no quarantine for supply drift (see below). */
static int configure_metrics(size_t clients)
{
    json_t *cfg = nh_node_config(&W, 1);
    if (cfg == NULL) return -1;
    json_object_set_new(cfg, "metrics",
                        json_pack("{s:s, s:i, s:I}", "bind", "127.0.0.1", "port", 0, "max_clients",
                                  (json_int_t)clients + 8));
    /* the baselines mint wrapped TKA on B behind the node's back: its supply
     * reconciliation still runs, but such a drift quarantines nothing */
    json_t *breaker = json_object_get(cfg, "breaker");
    if (!json_is_object(breaker)) json_object_set_new(cfg, "breaker", breaker = json_object());
    json_object_set_new(breaker, "supply_drift", json_integer(0));
    return nh_node_write_config(&W, 1, cfg);
}

/* The port the node logged: event=metrics_listening ... port=N. */
static uint16_t metrics_port(void)
{
    const char *needles[] = {"event=metrics_listening", NULL};
    if (nh_log_wait(&W, 1, needles, 1, 30000) != 0) return 0;
    char *log = nh_node_log(&W, 1);
    const char *line = strstr(log, "event=metrics_listening");
    char port[16];
    unsigned long v = 0;
    if (line && nh_log_field(line, "port", port, sizeof port) == 0) v = strtoul(port, NULL, 10);
    free(log);
    return v <= 65535 ? (uint16_t)v : 0;
}

/* One burst of n locks A -> B; *minted is the user's wrapped balance on B
 * before (updated). Out: ms from the first lock events on chain to the
 * last mint seen. */
static int burst(size_t n, const bh_address *wrapped, bh_u128 *minted, uint64_t *ms)
{
    /* PER_TX locks a transaction, all sent at once (a burst) */
    if (nh_flood(&W, NH_A, &W.tka, (unsigned)n, PER_TX, 1, NH_B, &W.user) != 0) return -1;
    uint64_t t0 = nh_now_ms(); /* the lock events are on chain */
    *minted += (bh_u128)n;
    /* one transfer per block at most with today's one-in-flight delivery */
    uint64_t wait_ms = 60000 + (200 + 1500 * (uint64_t)block_s) * (uint64_t)n;
    if (nh_wait_balance(&W, NH_B, wrapped, &W.user, *minted, (unsigned)wait_ms, "all mints",
                        NULL) != 0)
        return -1;
    *ms = nh_now_ms() - t0;
    return 0;
}

/* The blocks of B that executed sequences [from, from + n) of A: the
 * delivery's span on chain, first block to last, in seconds of block time
 * plus one block. Returns 0 or -1. */
static int executed_span(uint64_t from, size_t n, double *span_s)
{
    nh_executed *ex = NULL;
    size_t got = 0, ours = 0;
    uint64_t first = UINT64_MAX, last = 0;
    for (uint64_t until = nh_now_ms() + 10000;; nh_sleep_ms(200)) {
        if (nh_executed_logs(&W, NH_B, &ex, &got) != 0) return -1;
        ours = 0;
        for (size_t i = 0; i < got; i++) {
            if (ex[i].emitter_chain != 1 || ex[i].sequence < from || ex[i].sequence >= from + n)
                continue;
            ours++;
            first = ex[i].block < first ? ex[i].block : first;
            last = ex[i].block > last ? ex[i].block : last;
        }
        free(ex);
        if (ours >= n || nh_now_ms() > until) break; /* anvil's logs trail its state */
    }
    if (ours < n) return -1;
    char q[19];
    uint64_t ts[2];
    for (int k = 0; k < 2; k++) {
        bh_rpc_format_quantity(q, k ? last : first);
        ts[k] = rpc_quantity("eth_getBlockByNumber", json_pack("[s,b]", q, 0), "timestamp");
    }
    *span_s = (double)(ts[1] - ts[0]) + (double)block_s;
    return 0;
}

/* Connect the clients, wait until every one is open and has its first
 * snapshot, run a burst, count the clients still open, wait (up to 10 s,
 * not timed) for the burst's delivered events to reach them, close. */
static int burst_with_clients(size_t n, size_t clients, uint16_t port, const bh_address *wrapped,
                              bh_u128 *minted, uint64_t *ms, size_t *open_at_end, uint64_t *frames)
{
    uint64_t t = nh_now_ms(), snaps = 0, deliv = 0;
    if (pool_start(port, clients) != 0) return -1;
    size_t open = 0;
    for (;;) {
        open = pool_count(WS_OPEN, NULL, &snaps, NULL);
        if (open == clients && snaps >= 1) break;
        size_t gone =
            pool_count(WS_FAILED, NULL, NULL, NULL) + pool_count(WS_CLOSED, NULL, NULL, NULL);
        if (gone > 0 || nh_now_ms() - t > 30000) {
            fprintf(stderr, "bench_e2e: ws clients: %zu of %zu open after %llu ms\n", open, clients,
                    (unsigned long long)(nh_now_ms() - t));
            return -1;
        }
        nh_sleep_ms(10);
    }
    uint64_t connect_ms = nh_now_ms() - t;
    if (burst(n, wrapped, minted, ms) != 0) return -1;
    *open_at_end = pool_count(WS_OPEN, NULL, NULL, NULL);
    for (uint64_t end = nh_now_ms() + 10000; nh_now_ms() < end; nh_sleep_ms(20)) {
        pool_count(WS_OPEN, NULL, NULL, &deliv);
        if (deliv >= n) break;
    }
    pool_close(frames);
    fprintf(stderr,
            "bench_e2e: ws burst: %zu clients open in %llu ms; %zu/%zu open at the end; "
            "%llu frames; each client got >= %llu of the %zu delivered events\n",
            clients, (unsigned long long)connect_ms, *open_at_end, clients,
            (unsigned long long)*frames, (unsigned long long)deliv, n);
    return 0;
}

/* One ws_clients round: transfers/s of its "with" burst and of the mean
 * time of the "without" bursts around it. */
typedef struct {
    double with, without;
} ws_round;

static int cmp_round(const void *a, const void *b)
{
    const ws_round *x = a, *y = b;
    double rx = x->with / x->without, ry = y->with / y->without;
    return rx < ry ? -1 : rx > ry;
}

int main(int argc, char **argv)
{
    size_t n = 200, clients = 200, rounds = 5;
    int n_given = 0;
    size_t pipe_n = 1000;
    const char *bulkhead = BH_BULKHEAD_BIN, *vaultctl = BH_VAULTCTL_BIN;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10), n_given = 1;
        else if (!strcmp(argv[i], "--pipe-n") && i + 1 < argc)
            pipe_n = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--block-time") && i + 1 < argc)
            block_s = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--ws-clients") && i + 1 < argc)
            clients = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--bulkhead") && i + 1 < argc)
            bulkhead = argv[++i];
        else if (!strcmp(argv[i], "--vaultctl") && i + 1 < argc)
            vaultctl = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [-n N] [--ws-clients C] [--rounds R] [--block-time S] "
                    "[--bulkhead PATH] [--vaultctl PATH]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n < 1 || n > 5000 || clients > 10000 || rounds < 1 || rounds > 20 || block_s > 60 ||
        pipe_n < 1 || pipe_n > 20000) {
        fprintf(stderr, "bench_e2e: N must be 1..5000, C 0..10000, R 1..20, S 0..60, M 1..20000\n");
        return 2;
    }
    if (block_s) {
        clients = 0; /* the ws_clients case is for the default chains */
        if (!n_given) n = 40;
    }
    nh_opts o = {.n_chains = 2,
                 .n_attesters = 1,
                 .quorum = 1,
                 .bulkhead = bulkhead,
                 .vaultctl = vaultctl,
                 .evm_id_base = 7900};
    if (nh_world_start(&W, &o) != 0) return die("world start");
    lws_set_log_level(LLL_ERR, NULL);

    uint64_t *base_lat = calloc(n, sizeof *base_lat), *node_lat = calloc(n, sizeof *node_lat);
    ws_round *rd = calloc(rounds, sizeof *rd);
    uint64_t base_ms = 0;
    if (!base_lat || !node_lat || !rd) return die("calloc");
    if (block_s && (interval_mining(NH_A, block_s) != 0 || interval_mining(NH_B, block_s) != 0))
        return die("interval mining");
    /* one at a time is one per block with a block time: 20 of them tell it */
    size_t seq_n = block_s && n > 20 ? 20 : n;
    if (baseline(seq_n, &base_ms, base_lat) != 0) return die("baseline");
    uint64_t *pipe_lat = calloc(pipe_n, sizeof *pipe_lat), pipe_ms = 0, gas_per = 0, gas_limit = 0;
    if (!pipe_lat) return die("calloc");
    if (block_s) {
        if (pipelined(pipe_n, &pipe_ms, pipe_lat, &gas_per) != 0) return die("pipelined baseline");
        gas_limit =
            rpc_quantity("eth_getBlockByNumber", json_pack("[s,b]", "latest", 0), "gasLimit");
    }

    /* The node: one warm-up transfer (sequence 0), then the bursts. */
    bh_address wrapped;
    uint16_t port = 0;
    if (nh_node_prepare(&W, 1, 0, NULL) != 0 || configure_metrics(clients) != 0 ||
        nh_node_start(&W, 1, 30000) != 0 || (port = metrics_port()) == 0)
        return die("node start");
    if (nh_lock(&W, NH_A, &W.tka, 1, NH_B, &W.user, 0, NULL) != 0 ||
        nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, 30000) != 0 ||
        nh_wait_balance(&W, NH_B, &wrapped, &W.user, 1, 30000, "warm-up", NULL) != 0)
        return die("warm-up transfer");
    bh_u128 minted = 1;
    uint64_t node_ms = 0;
    if (burst(n, &wrapped, &minted, &node_ms) != 0) return die("delivery");
    double span_s = 0; /* the first burst: sequences 1..n (0 was the warm-up) */
    if (block_s && executed_span(1, n, &span_s) != 0) return die("executed logs");

    /* ws_clients: without (the first burst), with, without, ..., with,
     * without; each "with" burst against the mean time of the two
     * "without" bursts around it. */
    size_t fewest_open = clients;
    uint64_t frames_total = 0, before_ms = node_ms;
    for (size_t r = 0; r < rounds && clients > 0; r++) {
        uint64_t with_ms = 0, after_ms = 0, frames = 0;
        size_t open = 0;
        nh_sleep_ms(500); /* the node and the chains settle */
        if (burst_with_clients(n, clients, port, &wrapped, &minted, &with_ms, &open, &frames) != 0)
            return die("burst with websocket clients");
        nh_sleep_ms(500);
        if (burst(n, &wrapped, &minted, &after_ms) != 0)
            return die("burst without websocket clients");
        fewest_open = open < fewest_open ? open : fewest_open;
        frames_total += frames;
        rd[r].with = 1000.0 * (double)n / (double)(with_ms ? with_ms : 1);
        rd[r].without =
            2000.0 * (double)n / (double)(before_ms + after_ms ? before_ms + after_ms : 1);
        fprintf(stderr,
                "bench_e2e: round %zu: %llu ms without, %llu ms with, %llu ms without: "
                "%.1f transfers/s with vs %.1f without\n",
                r, (unsigned long long)before_ms, (unsigned long long)with_ms,
                (unsigned long long)after_ms, rd[r].with, rd[r].without);
        before_ms = after_ms;
    }

    if (nh_node_stop(&W, 1, 30000) != 0) return die("node stop");
    size_t got = node_latencies(node_lat, n, 1, n);
    if (got == 0) return die("latency lines");

    double base_tps = base_ms ? 1000.0 * (double)seq_n / (double)base_ms : 0;
    double node_tps = node_ms ? 1000.0 * (double)n / (double)node_ms : 0;
    uint64_t b50 = pct(base_lat, seq_n, 50), b99 = pct(base_lat, seq_n, 99);
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
    if (block_s) {
        double cap = gas_per ? (double)gas_limit / (double)gas_per / (double)block_s : 0;
        double pipe_tps = pipe_ms ? 1000.0 * (double)pipe_n / (double)pipe_ms : 0;
        uint64_t p50 = pct(pipe_lat, pipe_n, 50), p99 = pct(pipe_lat, pipe_n, 99);
        printf("{\"bench\":\"e2e\",\"case\":\"block_time\",\"block_time_s\":%u,"
               "\"transfers\":%zu,\"transfers_per_s\":%.2f,\"p50_ms\":%llu,\"p99_ms\":%llu,"
               "\"block_gas_limit\":%llu,\"gas_per_approval\":%llu,\"capacity_per_s\":%.1f,"
               "\"ratio_to_capacity\":%.4f,\"baseline\":\"nonce-pipelined raw Portal.submit of "
               "pre-signed "
               "transactions\",\"baseline_transfers\":%zu,\"baseline_per_s\":%.2f,\"baseline_p50_"
               "ms\":%llu,"
               "\"baseline_p99_ms\":%llu,\"baseline_ratio_to_capacity\":%.4f,\"ratio\":%.4f,"
               "\"sequential_per_s\":%.2f,\"span_s\":%.0f,\"span_transfers_per_s\":%.1f,"
               "\"span_ratio_to_capacity\":%.3f,\"span_ratio_to_baseline\":%.3f}\n",
               block_s, n, node_tps, (unsigned long long)n50, (unsigned long long)n99,
               (unsigned long long)gas_limit, (unsigned long long)gas_per, cap,
               cap > 0 ? node_tps / cap : 0, pipe_n, pipe_tps, (unsigned long long)p50,
               (unsigned long long)p99, cap > 0 ? pipe_tps / cap : 0,
               pipe_tps > 0 ? node_tps / pipe_tps : 0, base_tps, span_s, (double)n / span_s,
               cap > 0 ? (double)n / span_s / cap : 0,
               pipe_tps > 0 ? (double)n / span_s / pipe_tps : 0);
    }
    free(pipe_lat);
    int rc = 0;
    if (clients > 0) {
        qsort(rd, rounds, sizeof *rd, cmp_round); /* the median round by ratio */
        double x = rd[rounds / 2].without, y = rd[rounds / 2].with;
        printf("{\"bench\":\"e2e\",\"case\":\"ws_clients\",\"clients\":%zu,\"transfers\":%zu,"
               "\"transfers_per_s_without\":%.1f,\"transfers_per_s_with\":%.1f,\"ratio\":%.3f,"
               "\"frames_received\":%llu,\"clients_connected_at_end\":%zu}\n",
               clients, n, x, y, x > 0 ? y / x : 0, (unsigned long long)frames_total, fewest_open);
        if (fewest_open < clients) {
            fprintf(stderr, "bench_e2e: only %zu of %zu websocket clients stayed connected\n",
                    fewest_open, clients);
            rc = 1;
        }
    }
    fflush(stdout);
    free(base_lat);
    free(node_lat);
    free(rd);
    nh_world_stop(&W);
    return rc;
}
