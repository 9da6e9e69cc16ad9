/* The operator server in-process: a fake source (snapshots built here), a
 * libwebsockets client for the websocket, raw sockets for HTTP status
 * checks and for hostile clients (churn, a reader that never reads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "bh_http.h"
#include "../../relayer/src/history.h"
#include "prom_expo.h"
#include "ws_test_client.h"

/* ------------------------------------------------------------ the source */

typedef struct {
    atomic_int ready;
    atomic_int fail;
    atomic_int calls;
} fake_src;

static int fake_snapshot(void *ud, json_t **out)
{
    fake_src *f = ud;
    int n = atomic_fetch_add(&f->calls, 1);
    if (atomic_load(&f->fail)) return BH_EIO;
    *out = json_pack(
        "{s:s, s:i, s:i, s:[{s:s, s:i, s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:i, s:i,"
        " s:[{s:s, s:i, s:i, s:i, s:i, s:i, s:b}], s:n},"
        " {s:s, s:i, s:b}, {s:s, s:i, s:b}],"
        " s:[{s:s, s:i, s:i, s:i, s:i, s:{s:i}, s:i, s:i, s:i, s:[],"
        " s:[{s:s, s:s, s:i, s:s, s:s, s:[{s:i, s:s, s:s, s:s, s:s, s:s, s:s}]}], s:[]}],"
        " s:{s:i, s:i, s:i, s:i, s:i}}",
        "node", "node-test", "time", 1790000000 + n, "started", 1789990000, "chains", "name",
        "alpha", "bridge_id", 1, "quarantined", 0, "head", 120, "finalized", 118, "cursor", 118,
        "lag", 0, "max_lag", 64, "queue_depth", 0, "events_observed", 10, "wallet_wei", "42",
        "deliveries_ok", 4, "deliveries_failed", 0, "endpoints", "url",
        "http://u:p@127.0.0.1:8545/KEY", "calls", 1, "failures", 0, "rate_limited", 0,
        "disagreements", 0, "latency_us", 900, "healthy", 1, "tripped", "name", "beta", "bridge_id",
        2, "quarantined", 0, "name", "gamma", "bridge_id", 3, "quarantined", 0, "vaults", "name",
        "alpha", "chain", 1, "accepted", 3, "delayed", 1, "held", 0, "rejected",
        "exceeds_outstanding", 2, "outbox_depth", 0, "outbox_oldest_age", 0, "pending", 0,
        "quarantined", "assets", "token", "0xaa", "symbol", "TKA", "decimals", 6, "locked",
        "100000000", "outstanding_total", "60000000", "lanes", "chain", 2, "outstanding",
        "60000000", "cap", "0", "in_headroom", "", "out_headroom", "", "window_used", "60",
        "window_limit", "0", "pending_list", "totals", "events_observed", 10, "accepted", 3,
        "rejected", 2, "delivered", 4, "quarantines", 0);
    return *out ? BH_OK : BH_ENOMEM;
}

static int fake_ready(void *ud, char *why, size_t cap)
{
    fake_src *f = ud;
    if (atomic_load(&f->ready)) return 1;
    snprintf(why, cap, "chain beta: lag 80 blocks > max 64");
    return 0;
}

static fake_src SRC;

static bh_http *start_server(bh_http_options opt)
{
    bh_http_source src = {.snapshot = fake_snapshot, .ready = fake_ready, .ud = &SRC};
    bh_http *s = NULL;
    char err[256];
    opt.port = 0;
    int rc = bh_http_create(&s, err, sizeof err, &opt, &src);
    if (rc != BH_OK) fail_msg("create: %s", err);
    rc = bh_http_start(s, err, sizeof err);
    if (rc != BH_OK) fail_msg("start: %s", err);
    assert_true(bh_http_port(s) > 0);
    lws_set_log_level(LLL_ERR, NULL); /* the server raised it for itself */
    return s;
}

static bh_http_stats stats(const bh_http *s)
{
    bh_http_stats st;
    bh_http_get_stats(s, &st);
    return st;
}

static void publish(bh_http *s, bh_node_event_kind kind, const char *vault, uint16_t from,
                    uint16_t to, uint64_t sequence, const char *detail)
{
    bh_node_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time = 1790000000;
    ev.vault = vault;
    ev.from_chain = from;
    ev.to_chain = to;
    ev.sequence = sequence;
    memset(ev.digest.data, 0xab, sizeof ev.digest.data);
    ev.amount = 12345;
    ev.symbol = "TKA";
    ev.reason = kind == BH_NODE_EV_REJECTED ? BH_REJECT_EXCEEDS_OUTSTANDING : BH_REJECT_OK;
    ev.detail = detail;
    if (kind == BH_NODE_EV_DELIVERED) memset(ev.tx.data, 0xcd, sizeof ev.tx.data);
    bh_http_publish(s, &ev);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* The descriptor count once connections closed by the peer are gone on
 * the server side too: unchanged over half a second. */
static int settled_fds(void)
{
    int n = count_fds(), stable = 0;
    for (int i = 0; i < 200 && stable < 10; i++) {
        sleep_ms(50);
        int m = count_fds();
        stable = m == n ? stable + 1 : 0;
        n = m;
    }
    return n;
}

static int group_setup(void **state)
{
    (void)state;
    lws_set_log_level(LLL_ERR, NULL);
    if (wtc_init() != 0) return -1;
    atomic_store(&SRC.ready, 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    wtc_fini();
    return 0;
}

/* ----------------------------------------------------------------- tests */

static void test_http_routes(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){0});
    uint16_t port = bh_http_port(s);

    http_resp r = http_req(port, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    free(r.body);

    atomic_store(&SRC.ready, 1);
    r = http_req(port, "GET", "/readyz", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ready\n");
    free(r.body);
    atomic_store(&SRC.ready, 0);
    r = http_req(port, "GET", "/readyz", NULL);
    assert_int_equal(r.status, 503);
    assert_true(head_has(&r, "content-type: application/json"));
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_false(json_object_get(j, "ready")));
    assert_string_equal(jstr_of(j, "reason"), "chain beta: lag 80 blocks > max 64");
    json_decref(j);
    free(r.body);
    atomic_store(&SRC.ready, 1);

    r = http_req(port, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 200);
    assert_true(head_has(&r, "content-type: text/plain; version=0.0.4"));
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    if (expo_parse(e, r.body) != 0) fail_msg("%s", e->err);
    CHECK_VALUE(e, "100000000", "bulkhead_vault_locked_wei", 2, "vault", "alpha", "asset", "TKA");
    CHECK_VALUE(e, "0", "bulkhead_ws_clients", 0);
    CHECK_VALUE(e, "1", "bulkhead_rpc_calls_total", 2, "chain", "alpha", "endpoint",
                "http://127.0.0.1:8545/\xe2\x80\xa6");
    assert_null(strstr(r.body, "KEY"));
    free(e);
    free(r.body);

    /* a snapshot less than a second old is served again, not rebuilt */
    int calls = atomic_load(&SRC.calls);
    r = http_req(port, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_int_equal(atomic_load(&SRC.calls), calls);

    /* a failing source, once the last snapshot is too old: 503 with the
     * reason, the server stays up */
    sleep_ms(1100);
    atomic_store(&SRC.fail, 1);
    r = http_req(port, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "snapshot unavailable"));
    free(r.body);
    atomic_store(&SRC.fail, 0);

    /* the dashboard's files, the charting library among them (embedded
     * from the pinned npm package) */
    static const struct {
        const char *path, *type, *needle;
        int any_case;
    } files[] = {
        {"/", "content-type: text/html", "<!doctype html>", 1},
        {"/app.js", "content-type: text/javascript", NULL, 0},
        {"/style.css", NULL, NULL, 0},
        {"/vendor/uPlot.iife.min.js", "content-type: text/javascript", "uPlot (v1.6.32)", 0},
        {"/vendor/uPlot.min.css", "content-type: text/css", NULL, 0},
        {"/vendor/uPlot.LICENSE.txt", "content-type: text/plain", "MIT License", 0},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        r = http_req(port, "GET", files[i].path, NULL);
        assert_int_equal(r.status, 200);
        if (files[i].type) assert_true(head_has(&r, files[i].type));
        if (files[i].needle)
            assert_non_null(files[i].any_case ? strcasestr(r.body, files[i].needle)
                                              : strstr(r.body, files[i].needle));
        free(r.body);
    }
    r = http_req(port, "GET", "/nope", NULL);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = http_req(port, "GET", "/ws", NULL);
    assert_int_equal(r.status, 426);
    free(r.body);
    r = http_req(port, "POST", "/metrics", NULL);
    assert_int_equal(r.status, 405);
    free(r.body);
    bh_http_destroy(s);
}

static void test_http_bearer_token(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){.token = "s3cret-T0ken"});
    uint16_t port = bh_http_port(s);

    http_resp r = http_req(port, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 401);
    assert_true(head_has(&r, "www-authenticate: Bearer"));
    free(r.body);
    r = http_req(port, "GET", "/metrics", "Authorization: Bearer s3cret-T0kem\r\n");
    assert_int_equal(r.status, 401);
    free(r.body);
    r = http_req(port, "GET", "/metrics", "Authorization: Bearer s3cret-T0ken-and-more\r\n");
    assert_int_equal(r.status, 401);
    free(r.body);
    r = http_req(port, "GET", "/metrics?token=s3cret-T0ken", NULL); /* header only here */
    assert_int_equal(r.status, 401);
    free(r.body);
    r = http_req(port, "GET", "/metrics", "Authorization: Bearer s3cret-T0ken\r\n");
    assert_int_equal(r.status, 200);
    free(r.body);
    r = http_req(port, "GET", "/metrics", "Authorization: bearer s3cret-T0ken\r\n");
    assert_int_equal(r.status, 200);
    free(r.body);
    /* never behind the token: liveness, readiness, the static page */
    r = http_req(port, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = http_req(port, "GET", "/readyz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = http_req(port, "GET", "/", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);

    /* the websocket: header or ?token= */
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 0, NULL), 401);
    assert_int_equal(raw_ws_open(port, "/ws?token=wrong", NULL, 0, NULL), 401);
    assert_int_equal(raw_ws_open(port, "/ws", "Authorization: Bearer nope\r\n", 0, NULL), 401);
    int fd = -1;
    assert_int_equal(raw_ws_open(port, "/ws?token=s3cret-T0ken", NULL, 0, &fd), 101);
    close(fd);
    assert_int_equal(raw_ws_open(port, "/elsewhere?token=s3cret-T0ken", NULL, 0, NULL), 404);

    tclient *bad = tc_open(port, "/ws", "Bearer wrong");
    PUMP_UNTIL(bad->closed, 10);
    assert_false(bad->established);
    tc_close(bad);
    tclient *c = tc_connect(port, "/ws", "Bearer s3cret-T0ken");
    PUMP_UNTIL(c->n_msgs >= 1, 5);
    json_t *j = tc_json(c, 0);
    assert_string_equal(jstr_of(j, "type"), "snapshot");
    json_decref(j);
    tc_close(c);
    bh_http_destroy(s);
}

/* A page of another origin the operator has open: a websocket is not
 * bound by the same-origin rule, so without an Origin check any site could
 * read the node's snapshots and events through the operator's browser (on
 * the default config, which sets no read token). */
static void test_ws_cross_origin_refused(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){0});
    uint16_t port = bh_http_port(s);
    assert_int_equal(raw_ws_open(port, "/ws", "Origin: http://evil.example\r\n", 0, NULL), 403);
    assert_int_equal(raw_ws_open(port, "/ws", "Origin: null\r\n", 0, NULL), 403);
    assert_int_equal(raw_ws_open(port, "/ws", "Origin: http://127.0.0.1.evil.example\r\n", 0, NULL),
                     403);
    assert_int_equal(raw_ws_open(port, "/ws", "Origin: http://127.0.0.1:1\r\n", 0, NULL), 403);
    /* the dashboard itself (same host as the request's Host) and clients
     * that are no browser (no Origin) */
    int fd = -1;
    assert_int_equal(raw_ws_open(port, "/ws", "Origin: http://127.0.0.1\r\n", 0, &fd), 101);
    close(fd);
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 0, &fd), 101);
    close(fd);
    bh_http_destroy(s);
}

/* One request with the given Host header (NULL: none, as HTTP/1.0). */
static http_resp req_host(uint16_t port, const char *path, const char *host, const char *more)
{
    int fd = tcp_connect(port, 0);
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n%s%s%sConnection: close\r\n%s\r\n", path,
                     host ? "Host: " : "", host ? host : "", host ? "\r\n" : "", more ? more : "");
    send_all(fd, req, (size_t)n);
    return http_read_close(fd, "GET", path);
}

/* DNS rebinding: a page at http://rebind.evil.example:PORT/ whose name
 * then resolves to 127.0.0.1 is same-origin with this server for the
 * browser, Origin check or not. Without a read token only a Host that is
 * an address or localhost is served. */
static void test_http_dns_rebinding_refused(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){0});
    uint16_t port = bh_http_port(s);
    char evil[64], lo[64], v6[64];
    snprintf(evil, sizeof evil, "rebind.evil.example:%u", (unsigned)port);
    snprintf(lo, sizeof lo, "localhost:%u", (unsigned)port);
    snprintf(v6, sizeof v6, "[::1]:%u", (unsigned)port);
    static const char *const paths[] = {"/metrics", "/", "/readyz"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        http_resp r = req_host(port, paths[i], evil, NULL);
        assert_int_equal(r.status, 421);
        assert_null(strstr(r.body, "bulkhead_"));
        free(r.body);
    }
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Origin: http://%s\r\n", evil);
    int fd = tcp_connect(port, 0);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: "
                     "13\r\n%s\r\n",
                     evil, hdr);
    send_all(fd, req, (size_t)n);
    char head[64] = "";
    assert_true(recv(fd, head, sizeof head - 1, 0) > 12);
    close(fd);
    assert_null(strstr(head, " 101 "));
    static const char *const fine[] = {"127.0.0.1", "localhost", "LOCALHOST"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        http_resp r = req_host(port, "/metrics", fine[i], NULL);
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    http_resp r = req_host(port, "/metrics", lo, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = req_host(port, "/metrics", v6, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    bh_http_destroy(s);
    /* with a read token a rebinding page reads nothing it could not read
     * anyway: names are served */
    s = start_server((bh_http_options){.token = "s3cret-T0ken"});
    port = bh_http_port(s);
    snprintf(evil, sizeof evil, "relayer.internal.example:%u", (unsigned)port);
    r = req_host(port, "/metrics", evil, "Authorization: Bearer s3cret-T0ken\r\n");
    assert_int_equal(r.status, 200);
    free(r.body);
    bh_http_destroy(s);
}

/* What a browser is told about every page and answer: no framing by
 * another site (clickjacking the Release button), no referrer (the page's
 * URL holds ?token=, PROTOCOL.md promises Referrer-Policy), no sniffing. */
static void test_http_browser_headers(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){0});
    uint16_t port = bh_http_port(s);
    static const char *const paths[] = {"/", "/app.js", "/metrics", "/nope"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        http_resp r = http_req(port, "GET", paths[i], NULL);
        if (!head_has(&r, "referrer-policy: no-referrer") ||
            !head_has(&r, "x-content-type-options: nosniff") ||
            !head_has(&r, "x-frame-options: deny") || !head_has(&r, "frame-ancestors 'none'"))
            fail_msg("GET %s: missing a header:\n%s", paths[i], r.head);
        free(r.body);
    }
    http_resp r = http_req_body(port, "POST", "/admin/v1/vaultctl", NULL, "{}");
    assert_true(head_has(&r, "x-content-type-options: nosniff"));
    free(r.body);
    bh_http_destroy(s);
}

static void test_ws_snapshot_and_events(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){.snapshot_interval_s = 1});
    uint16_t port = bh_http_port(s);
    tclient *c = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(c->n_msgs >= 1, 5);

    json_t *snap = tc_json(c, 0);
    assert_string_equal(jstr_of(snap, "type"), "snapshot");
    assert_string_equal(jstr_of(snap, "node"), "node-test");
    json_t *ch0 = json_array_get(json_object_get(snap, "chains"), 0);
    assert_string_equal(jstr_of(ch0, "name"), "alpha");
    /* endpoint URLs are redacted in frames too */
    json_t *ep = json_array_get(json_object_get(ch0, "endpoints"), 0);
    assert_string_equal(jstr_of(ep, "url"), "http://127.0.0.1:8545/\xe2\x80\xa6");
    assert_int_equal(jint_of(json_object_get(snap, "operator"), "clients"), 1);
    long long t0 = jint_of(snap, "time");
    json_decref(snap);

    size_t base = c->n_msgs;
    static const bh_node_event_kind kinds[] = {
        BH_NODE_EV_ACCEPTED,        BH_NODE_EV_DELAYED,     BH_NODE_EV_HELD,
        BH_NODE_EV_REJECTED,        BH_NODE_EV_RELEASED,    BH_NODE_EV_DELIVERED,
        BH_NODE_EV_DELIVERY_FAILED, BH_NODE_EV_QUARANTINED, BH_NODE_EV_LIMITS};
    const int n = 90;
    for (int i = 0; i < n; i++)
        publish(s, kinds[i % 9], "alpha", 1, 2, (uint64_t)i,
                kinds[i % 9] == BH_NODE_EV_QUARANTINED ? "forged lock: tx 0xab" : NULL);
    PUMP_UNTIL(tc_count_type(c, "event") >= (size_t)n, 10);

    long long prev = 0;
    int seen = 0;
    for (size_t i = base; i < c->n_msgs; i++) {
        json_t *j = tc_json(c, i);
        if (strcmp(jstr_of(j, "type"), "event") != 0) {
            json_decref(j);
            continue;
        }
        long long seq = jint_of(j, "seq");
        assert_int_equal(seq, prev + 1); /* in order, none missing */
        prev = seq;
        int k = seen % 9;
        if (kinds[k] == BH_NODE_EV_ACCEPTED) {
            assert_string_equal(jstr_of(j, "kind"), "accepted");
            assert_string_equal(jstr_of(j, "vault"), "alpha");
            assert_string_equal(jstr_of(j, "from"), "alpha");
            assert_string_equal(jstr_of(j, "to"), "beta");
            assert_int_equal(jint_of(j, "from_chain"), 1);
            assert_int_equal(jint_of(j, "to_chain"), 2);
            assert_int_equal(jint_of(j, "sequence"), seen);
            assert_string_equal(jstr_of(j, "amount"), "12345");
            assert_string_equal(jstr_of(j, "symbol"), "TKA");
            assert_string_equal(jstr_of(j, "digest"), "0xabababababababababababababababab"
                                                      "abababababababababababababababab");
            assert_int_equal(jint_of(j, "time"), 1790000000);
        } else if (kinds[k] == BH_NODE_EV_REJECTED) {
            assert_string_equal(jstr_of(j, "kind"), "rejected");
            assert_string_equal(jstr_of(j, "reason"), "exceeds_outstanding");
        } else if (kinds[k] == BH_NODE_EV_QUARANTINED) {
            assert_string_equal(jstr_of(j, "kind"), "quarantined");
            assert_string_equal(jstr_of(j, "chain"), "alpha");
            assert_string_equal(jstr_of(j, "detail"), "forged lock: tx 0xab");
            assert_null(json_object_get(j, "amount"));
        } else if (kinds[k] == BH_NODE_EV_DELIVERY_FAILED) {
            assert_string_equal(jstr_of(j, "kind"), "delivery_failed");
            assert_null(json_object_get(j, "tx"));
        } else if (kinds[k] == BH_NODE_EV_DELIVERED) {
            /* the transaction that carried it */
            assert_string_equal(jstr_of(j, "tx"), "0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                                                  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
        }
        json_decref(j);
        seen++;
    }
    assert_int_equal(seen, n);

    /* events about no single message carry no message fields */
    publish(s, BH_NODE_EV_RELEASED, "alpha", 0, 0, 0, "3");
    publish(s, BH_NODE_EV_LIMITS, NULL, 2, 0, 0, "tightened");
    PUMP_UNTIL(tc_count_type(c, "event") >= (size_t)n + 2, 5);
    json_t *rel = tc_last_event(c, 1), *lim = tc_last_event(c, 0);
    assert_string_equal(jstr_of(rel, "kind"), "released");
    assert_string_equal(jstr_of(rel, "detail"), "3");
    assert_string_equal(jstr_of(rel, "vault"), "alpha");
    assert_null(json_object_get(rel, "amount"));
    assert_null(json_object_get(rel, "from_chain"));
    assert_string_equal(jstr_of(lim, "kind"), "limits");
    assert_string_equal(jstr_of(lim, "chain"), "beta");
    assert_string_equal(jstr_of(lim, "detail"), "tightened");
    assert_null(json_object_get(lim, "vault"));
    json_decref(rel);
    json_decref(lim);

    /* a periodic snapshot, fresher than the first */
    PUMP_UNTIL(tc_count_type(c, "snapshot") >= 2, 5);
    for (size_t i = c->n_msgs; i-- > 0;) {
        json_t *j = tc_json(c, i);
        if (strcmp(jstr_of(j, "type"), "snapshot") == 0) {
            assert_true(jint_of(j, "time") > t0);
            json_decref(j);
            break;
        }
        json_decref(j);
    }
    tc_close(c);
    bh_http_destroy(s);
}

static int has_seq(const long long *v, size_t n, long long x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x) return 1;
    return 0;
}

static void test_ws_subscriptions(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){0});
    uint16_t port = bh_http_port(s);
    tclient *a = tc_connect(port, "/ws?chains=beta&kinds=rejected,quarantined", NULL);
    tclient *b = tc_connect(port, "/ws", NULL);
    tclient *all = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(a->n_msgs >= 1 && b->n_msgs >= 1 && all->n_msgs >= 1, 5);

    static const char sub_b[] = "{\"subscribe\":{\"chains\":[\"gamma\"]}}";
    tc_send(b, sub_b, strlen(sub_b), 0);
    PUMP_UNTIL(tc_count_type(b, "subscribed") == 1, 5);
    json_t *ack = tc_json(b, b->n_msgs - 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ack, "chains"), 0)),
                        "gamma");
    assert_true(json_is_null(json_object_get(ack, "kinds")));
    json_decref(ack);
    /* a bad subscription is refused and the old one stays */
    static const char bad_sub[] = "{\"subscribe\":{\"kinds\":[\"accepted\",\"bogus\"]}}";
    tc_send(b, bad_sub, strlen(bad_sub), 0);
    PUMP_UNTIL(tc_count_type(b, "error") == 1, 5);
    json_t *err = tc_json(b, b->n_msgs - 1);
    assert_string_equal(jstr_of(err, "error"), "bad_subscribe");
    assert_non_null(strstr(jstr_of(err, "message"), "bogus"));
    json_decref(err);

    /* seq: 1 accepted alpha->beta; 2 rejected alpha->beta (a); 3 rejected
     * vault gamma gamma->alpha (b); 4 quarantined beta (a); 5 accepted
     * gamma (b); 6 rejected alpha->alpha; 7 rejected vault beta, from gamma
     * (a and b) */
    publish(s, BH_NODE_EV_ACCEPTED, "alpha", 1, 2, 1, NULL);
    publish(s, BH_NODE_EV_REJECTED, "alpha", 1, 2, 2, NULL);
    publish(s, BH_NODE_EV_REJECTED, "gamma", 3, 1, 3, NULL);
    publish(s, BH_NODE_EV_QUARANTINED, NULL, 2, 0, 0, "equivocation at 118");
    publish(s, BH_NODE_EV_ACCEPTED, "gamma", 3, 1, 5, NULL);
    publish(s, BH_NODE_EV_REJECTED, "alpha", 1, 1, 6, NULL);
    publish(s, BH_NODE_EV_REJECTED, "beta", 3, 2, 7, NULL);
    long long sa[16], sb[16], sall[16];
    PUMP_UNTIL(tc_event_seqs(a, sa, 16) > 0 && sa[tc_event_seqs(a, sa, 16) - 1] == 7 &&
                   tc_event_seqs(b, sb, 16) > 0 && sb[tc_event_seqs(b, sb, 16) - 1] == 7 &&
                   tc_event_seqs(all, sall, 16) == 7,
               5);
    size_t na = tc_event_seqs(a, sa, 16), nb = tc_event_seqs(b, sb, 16);
    assert_int_equal(na, 3);
    assert_true(has_seq(sa, na, 2) && has_seq(sa, na, 4) && has_seq(sa, na, 7));
    assert_int_equal(nb, 3);
    assert_true(has_seq(sb, nb, 3) && has_seq(sb, nb, 5) && has_seq(sb, nb, 7));

    /* a bad query is refused before the upgrade */
    assert_int_equal(raw_ws_open(port, "/ws?kinds=accepted,nope", NULL, 0, NULL), 400);
    tc_close(a);
    tc_close(b);
    tc_close(all);
    bh_http_destroy(s);
}

static void test_ws_hostile_frames(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){0});
    uint16_t port = bh_http_port(s);

    /* oversized: closed with 1009 and a reason */
    tclient *big = tc_connect(port, "/ws", NULL);
    char *blob = malloc(8192);
    memset(blob, 'x', 8192);
    tc_send(big, blob, 8192, 0);
    PUMP_UNTIL(big->closed, 5);
    assert_int_equal(big->close_code, 1009);
    assert_non_null(strstr(big->close_reason, "too big"));
    tc_close(big);

    /* garbage: an error frame, and the connection stays usable */
    tclient *g = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(g->n_msgs >= 1, 5);
    static const char *const junk[] = {"{not json",         "[1,2]",
                                       "{\"subscribe\":5}", "{\"subscribe\":{},\"x\":1}",
                                       "\"str\"",           "{\"subscribe\":{\"chains\":[1]}}"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        tc_send(g, junk[i], strlen(junk[i]), 0);
        PUMP_UNTIL(tc_count_type(g, "error") == i + 1, 5);
    }
    json_t *e0 = tc_json(g, 1);
    assert_string_equal(jstr_of(e0, "error"), "bad_json");
    json_decref(e0);
    static const char ok_sub[] = "{\"subscribe\":{}}";
    tc_send(g, ok_sub, strlen(ok_sub), 0);
    PUMP_UNTIL(tc_count_type(g, "subscribed") == 1, 5);
    assert_false(g->closed);
    /* binary frames are not part of the protocol */
    tc_send(g, "\x01\x02", 2, 1);
    PUMP_UNTIL(g->closed, 5);
    assert_int_equal(g->close_code, 1003);
    tc_close(g);

    /* a frame that claims 2^62 bytes, and one that stops half way */
    int fd = -1;
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 0, &fd), 101);
    raw_ws_send(fd, 1, "abc", 3, (uint64_t)1 << 62);
    unsigned char buf[8192];
    size_t len;
    int op;
    while ((op = raw_ws_frame(fd, buf, sizeof buf, &len)) == 1) {
    }
    assert_int_equal(op, 8); /* close */
    assert_int_equal(buf[0] << 8 | buf[1], 1009);
    close(fd);
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 0, &fd), 101);
    raw_ws_send(fd, 1, "{\"subscr", 8, 100);
    close(fd);

    free(blob);
    http_resp r = http_req(port, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    PUMP_UNTIL(stats(s).clients == 0, 5);
    bh_http_destroy(s);
}

static void test_ws_connect_churn(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){0});
    uint16_t port = bh_http_port(s);
    /* warm up once so lazily opened descriptors are in the baseline */
    int fd = -1;
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 0, &fd), 101);
    close(fd);
    http_resp r = http_req(port, "GET", "/healthz", NULL);
    free(r.body);
    PUMP_UNTIL(stats(s).clients == 0, 5);
    int before = settled_fds();

    for (int i = 0; i < 2000; i++) {
        switch (i % 4) {
        case 0: /* connect and leave */
            close(tcp_connect(port, 0));
            break;
        case 1: /* full handshake, leave without a close frame */
            assert_int_equal(raw_ws_open(port, "/ws", NULL, 0, &fd), 101);
            close(fd);
            break;
        case 2: /* half a request */
            fd = tcp_connect(port, 0);
            send_all(fd, "GET /ws HTTP/1.1\r\nUpgr", 22);
            close(fd);
            break;
        default: /* a request, gone before the answer is read */
            fd = tcp_connect(port, 0);
            send_all(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35);
            close(fd);
            break;
        }
    }
    double t0 = now_s();
    while ((stats(s).clients != 0 || count_fds() > before) && now_s() - t0 < 15)
        sleep_ms(50);
    assert_int_equal(stats(s).clients, 0);
    int after = count_fds();
    if (after > before) fail_msg("%d descriptors leaked", after - before);

    /* and it still serves */
    r = http_req(port, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    tclient *c = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(c->n_msgs >= 1, 5);
    tc_close(c);
    bh_http_destroy(s);
}

static void test_ws_slow_reader_dropped(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){.client_buffer_bytes = 64 * 1024});
    uint16_t port = bh_http_port(s);
    int slow = -1;
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 4096, &slow), 101);
    tclient *ok = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(ok->n_msgs >= 1 && stats(s).clients == 2, 5);

    char detail[400];
    memset(detail, 'd', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    size_t sent = 0;
    while (stats(s).clients_dropped == 0) {
        if (sent > 200000) fail_msg("the slow client was never dropped");
        for (int i = 0; i < 200; i++, sent++)
            publish(s, BH_NODE_EV_ACCEPTED, "alpha", 1, 2, sent, detail);
        PUMP_UNTIL(tc_count_type(ok, "event") == sent, 10);
    }
    /* the reader that kept up saw every event, in order */
    assert_int_equal(stats(s).events_dropped, 0);
    assert_false(ok->closed);
    long long *seqs = malloc(sent * sizeof *seqs);
    assert_int_equal(tc_event_seqs(ok, seqs, sent), sent);
    for (size_t i = 0; i < sent; i++)
        assert_int_equal(seqs[i], (long long)i + 1);
    free(seqs);

    /* the slow one finds the close frame after what it had not read */
    unsigned char *buf = malloc(65536);
    size_t len = 0;
    int op;
    while ((op = raw_ws_frame(slow, buf, 65536, &len)) == 1) {
    }
    assert_int_equal(op, 8);
    assert_true(len >= 2);
    assert_int_equal(buf[0] << 8 | buf[1], 1008);
    assert_int_equal(len - 2, strlen("send buffer full"));
    assert_memory_equal(buf + 2, "send buffer full", len - 2);
    free(buf);
    close(slow);

    PUMP_UNTIL(stats(s).clients == 1, 10);
    size_t had = tc_count_type(ok, "event");
    publish(s, BH_NODE_EV_DELIVERED, "alpha", 1, 2, 0, NULL);
    PUMP_UNTIL(tc_count_type(ok, "event") == had + 1, 5);

    http_resp r = http_req(port, "GET", "/metrics", NULL);
    expo *e = calloc(1, sizeof *e);
    if (expo_parse(e, r.body) != 0) fail_msg("%s", e->err);
    CHECK_VALUE(e, "1", "bulkhead_ws_clients_dropped_total", 0);
    CHECK_VALUE(e, "1", "bulkhead_ws_clients", 0);
    free(e);
    free(r.body);
    tc_close(ok);
    bh_http_destroy(s);
}

static void test_ws_max_clients(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){.max_clients = 2});
    uint16_t port = bh_http_port(s);
    tclient *a = tc_connect(port, "/ws", NULL);
    tclient *b = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(stats(s).clients == 2, 5);
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 0, NULL), 503);
    tclient *c = tc_open(port, "/ws", NULL);
    PUMP_UNTIL(c->closed, 5);
    assert_false(c->established);
    tc_close(c);
    assert_int_equal(stats(s).clients_refused, 2);
    /* plain HTTP is not a websocket client: still served */
    http_resp r = http_req(port, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    tc_close(a);
    PUMP_UNTIL(stats(s).clients == 1, 5);
    int fd = -1;
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 0, &fd), 101);
    close(fd);
    tc_close(b);
    bh_http_destroy(s);
}

typedef struct {
    bh_http *s;
    int n;
} pub_arg;

static void *publisher(void *arg)
{
    pub_arg *p = arg;
    for (int i = 0; i < p->n; i++)
        publish(p->s, BH_NODE_EV_ACCEPTED, "alpha", 1, 2, (uint64_t)i, NULL);
    return NULL;
}

/* Many threads publish at once into a tiny queue: nothing blocks, every
 * event is delivered or counted as dropped, order and seq hold. */
static void test_ws_publish_from_threads(void **state)
{
    (void)state;
    bh_http *s = start_server(
        (bh_http_options){.queue_events = 16, .client_buffer_bytes = 64 * 1024 * 1024});
    uint16_t port = bh_http_port(s);
    tclient *c = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(c->n_msgs >= 1, 5);
    enum { THREADS = 4, EACH = 5000 };
    pthread_t t[THREADS];
    pub_arg arg = {s, EACH};
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, publisher, &arg), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    bh_http_stats st = stats(s);
    assert_int_equal(st.events_published, THREADS * EACH);
    size_t expect = (size_t)(st.events_published - st.events_dropped);
    PUMP_UNTIL(tc_count_type(c, "event") == expect, 30);
    long long *seqs = malloc(expect * sizeof *seqs);
    assert_int_equal(tc_event_seqs(c, seqs, expect), expect);
    for (size_t i = 1; i < expect; i++)
        assert_true(seqs[i] > seqs[i - 1]);
    assert_true(seqs[expect - 1] <= THREADS * EACH);
    free(seqs);
    tc_close(c);
    bh_http_destroy(s);
}

/* ---------------------------------------------------------------- history */

static void wait_history(const bh_http *s, size_t n)
{
    double t0 = now_s();
    while (stats(s).history != n) {
        if (now_s() - t0 > 10)
            fail_msg("history holds %zu events, expected %zu", stats(s).history, n);
        sleep_ms(10);
    }
}

/* How every history frame starts: a client matching on a frame's start
 * never takes it for a live event. */
static const char HIST_HEAD[] = "{\"type\":\"event\",\"history\":true,";

/* Frames i.. of c are events seq first..first+n-1 (step), all marked
 * history; frame 0 is the snapshot. */
static void check_history(const tclient *c, size_t n, long long first, long long step)
{
    json_t *snap = tc_json(c, 0);
    assert_string_equal(jstr_of(snap, "type"), "snapshot");
    json_decref(snap);
    assert_true(c->n_msgs >= 1 + n);
    for (size_t i = 0; i < n; i++) {
        json_t *j = tc_json(c, 1 + i);
        assert_string_equal(jstr_of(j, "type"), "event");
        assert_int_equal(jint_of(j, "seq"), first + (long long)i * step);
        assert_true(json_is_true(json_object_get(j, "history")));
        json_decref(j);
        assert_true(strncmp(c->msgs[1 + i], HIST_HEAD, sizeof HIST_HEAD - 1) == 0);
    }
}

/* A client that connects to a node with no past events gets the snapshot
 * and nothing else; live events carry no history mark. */
static void test_ws_history_none_when_idle(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){0});
    uint16_t port = bh_http_port(s);
    tclient *c = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(c->n_msgs >= 1, 5);
    double t0 = now_s();
    while (now_s() - t0 < 0.3)
        pump_once();
    assert_int_equal(c->n_msgs, 1);
    assert_int_equal(stats(s).history, 0);
    publish(s, BH_NODE_EV_ACCEPTED, "alpha", 1, 2, 1, NULL);
    PUMP_UNTIL(c->n_msgs >= 2, 5);
    json_t *j = tc_json(c, 1);
    assert_int_equal(jint_of(j, "seq"), 1);
    assert_null(json_object_get(j, "history"));
    json_decref(j);
    assert_int_equal(stats(s).history, 1);
    tc_close(c);
    bh_http_destroy(s);
}

/* The ring keeps the newest history_events, drops the oldest, and a new
 * client gets them oldest first right after its snapshot, filtered by its
 * subscription, before any live event. */
static void test_ws_history_bounded_in_order(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){.history_events = 16});
    uint16_t port = bh_http_port(s);
    /* seq i+1: rejected when i is odd (even seqs), accepted otherwise */
    for (int i = 0; i < 40; i++)
        publish(s, i % 2 ? BH_NODE_EV_REJECTED : BH_NODE_EV_ACCEPTED, "alpha", 1, 2, (uint64_t)i,
                NULL);
    wait_history(s, 16);
    tclient *b = tc_connect(port, "/ws", NULL);
    tclient *r = tc_connect(port, "/ws?kinds=rejected", NULL);
    PUMP_UNTIL(b->n_msgs >= 17 && r->n_msgs >= 9, 5);
    check_history(b, 16, 25, 1); /* 1..24 were dropped from the ring */
    check_history(r, 8, 26, 2);
    json_t *j = tc_json(b, 16);
    assert_string_equal(jstr_of(j, "kind"), "rejected");
    assert_int_equal(jint_of(j, "sequence"), 39);
    json_decref(j);

    publish(s, BH_NODE_EV_ACCEPTED, "alpha", 1, 2, 40, NULL);
    PUMP_UNTIL(b->n_msgs >= 18, 5);
    assert_int_equal(b->n_msgs, 18);
    assert_int_equal(r->n_msgs, 9);
    j = tc_json(b, 17);
    assert_int_equal(jint_of(j, "seq"), 41);
    assert_null(json_object_get(j, "history")); /* live */
    json_decref(j);
    assert_int_equal(stats(s).history, 16);

    /* the next client sees the ring moved on by one */
    tclient *c = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(c->n_msgs >= 17, 5);
    check_history(c, 16, 26, 1);
    tc_close(b);
    tc_close(r);
    tc_close(c);

    /* the default ring: 200 events */
    bh_http *d = start_server((bh_http_options){0});
    for (int i = 0; i < 250; i++)
        publish(d, BH_NODE_EV_DELIVERED, "alpha", 1, 2, (uint64_t)i, NULL);
    wait_history(d, 200);
    tclient *e = tc_connect(bh_http_port(d), "/ws", NULL);
    PUMP_UNTIL(e->n_msgs >= 201, 5);
    check_history(e, 200, 51, 1);
    tc_close(e);
    bh_http_destroy(d);
    bh_http_destroy(s);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

typedef struct {
    bh_http *s;
    int n;
    double max_call_s, total_s;
} flood_arg;

static void *flooder(void *arg)
{
    flood_arg *a = arg;
    char detail[400];
    memset(detail, 'f', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    double t0 = now_s();
    for (int i = 0; i < a->n; i++) {
        double t = now_s();
        publish(a->s, BH_NODE_EV_ACCEPTED, "alpha", 1, 2, (uint64_t)i, detail);
        double d = now_s() - t;
        if (d > a->max_call_s) a->max_call_s = d;
    }
    a->total_s = now_s() - t0;
    return NULL;
}

/* An event flood with a client that never reads: the publishing thread
 * never waits, memory stays bounded, and a client that connects after gets
 * the newest events that fit its buffer without being dropped for them. */
static void test_ws_history_flood_never_blocks(void **state)
{
    (void)state;
    bh_http *s = start_server((bh_http_options){.client_buffer_bytes = 64 * 1024});
    uint16_t port = bh_http_port(s);
    int slow = -1;
    assert_int_equal(raw_ws_open(port, "/ws", NULL, 4096, &slow), 101);
    tclient *marker = tc_connect(port, "/ws?kinds=released", NULL);
    PUMP_UNTIL(marker->n_msgs >= 1 && stats(s).clients == 2, 5);
    long rss0 = rss_kib();

    flood_arg a = {.s = s, .n = 100000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, flooder, &a), 0);
    pthread_join(t, NULL);
    if (a.max_call_s > 0.5 || a.total_s > 10)
        fail_msg("publishing blocked: longest call %.3f s, %d calls in %.3f s", a.max_call_s, a.n,
                 a.total_s);
    long grown = rss_kib() - rss0;
    if (grown > 32 * 1024) fail_msg("memory grew by %ld KiB over the flood", grown);

    /* the queue may still be full: offer the marker until it is taken */
    long long last = 0;
    for (int tries = 0; last == 0; tries++) {
        if (tries > 500) fail_msg("the publish queue never drained");
        uint64_t dropped = stats(s).events_dropped;
        publish(s, BH_NODE_EV_RELEASED, "alpha", 0, 0, 0, "last");
        if (stats(s).events_dropped == dropped)
            last = (long long)stats(s).events_published;
        else
            sleep_ms(10);
    }
    PUMP_UNTIL(tc_count_type(marker, "event") == 1, 10);
    assert_int_equal(stats(s).history, 200);

    tclient *late = tc_connect(port, "/ws", NULL);
    PUMP_UNTIL(late->n_msgs >= 2 && strstr(late->msgs[late->n_msgs - 1], "\"released\""), 10);
    double t0 = now_s();
    while (now_s() - t0 < 0.2) /* nothing else may follow */
        pump_once();
    assert_false(late->closed);
    size_t n = late->n_msgs - 1;
    assert_true(n >= 10 && n < 200); /* a quarter of 64 KiB, not the whole ring */
    long long prev = 0;
    for (size_t i = 1; i <= n; i++) {
        json_t *j = tc_json(late, i);
        assert_true(json_is_true(json_object_get(j, "history")));
        assert_true(jint_of(j, "seq") > prev);
        prev = jint_of(j, "seq");
        json_decref(j);
    }
    assert_int_equal(prev, last);                  /* the newest, "released", last */
    assert_int_equal(stats(s).clients_dropped, 1); /* the slow reader only */
    close(slow);
    tc_close(marker);
    tc_close(late);
    bh_http_destroy(s);
}

/* ---------------------------------------------------------------- samples */

/* A node whose figures the test moves: delivered and refused totals, one
 * lane with a split outstanding and an inbound bucket, a chain's lag. */
typedef struct {
    atomic_llong delivered, rejected;
    atomic_int calls;
} sample_src;

static int sample_snapshot(void *ud, json_t **out)
{
    sample_src *f = ud;
    int n = atomic_fetch_add(&f->calls, 1);
    *out = json_pack(
        "{s:s, s:I, s:I,"
        " s:[{s:s, s:i, s:i}, {s:s, s:i, s:i}],"
        " s:[{s:s, s:i, s:[{s:s, s:s, s:i, s:s, s:s,"
        "   s:[{s:i, s:s, s:s, s:s, s:s, s:s}]}], s:[]}],"
        " s:{s:I, s:I}}",
        "node", "node-test", "time", (json_int_t)1790000000 + n, "started", (json_int_t)1789990000,
        "chains", "name", "alpha", "bridge_id", 1, "lag", 3, "name", "beta", "bridge_id", 2, "lag",
        0, "vaults", "name", "alpha", "chain", 1, "assets", "token", "0xaa", "symbol", "TKA",
        "decimals", 6, "locked", "9000000", "outstanding_total", "1500000", "lanes", "chain", 2,
        "outstanding", "1500000", "minted", "1000000", "in_flight", "500000", "in_headroom",
        "2500000", "out_headroom", "", "pending_list", "totals", "delivered",
        (json_int_t)atomic_load(&f->delivered), "rejected", (json_int_t)atomic_load(&f->rejected));
    return *out ? BH_OK : BH_ENOMEM;
}

static void publish_digest(bh_http *s, bh_node_event_kind kind, unsigned char d)
{
    bh_node_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time = 1790000000;
    ev.vault = "alpha";
    ev.from_chain = 1;
    ev.to_chain = 2;
    memset(ev.digest.data, d, sizeof ev.digest.data);
    ev.amount = 1;
    bh_http_publish(s, &ev);
}

/* the values of column `key` of every samples/sample frame of c, in order */
static size_t sample_column(const tclient *c, const char *key, long long *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_msgs; i++) {
        json_t *j = tc_json(c, i);
        const char *type = jstr_of(j, "type");
        if (strcmp(type, "samples") == 0 || strcmp(type, "sample") == 0) {
            size_t k;
            json_t *v;
            json_array_foreach(json_object_get(j, key), k, v)
            {
                if (n < cap) out[n++] = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
            }
        }
        json_decref(j);
    }
    return n;
}

/* The node's samples: taken every interval with no client connected,
 * counts and latency over each interval, the lane's figures, a ring of
 * samples_kept; sent whole to a client that asks (samples=1) right after
 * its snapshot, then one per interval; never to a client that did not ask. */
static void test_ws_samples(void **state)
{
    (void)state;
    static sample_src f;
    atomic_store(&f.delivered, 100);
    atomic_store(&f.rejected, 7);
    bh_http_source src = {.snapshot = sample_snapshot, .ud = &f};
    bh_http_options opt = {.port = 0, .sample_interval_s = 1, .samples_kept = 4};
    bh_http *s = NULL;
    char err[256];
    assert_int_equal(bh_http_create(&s, err, sizeof err, &opt, &src), BH_OK);
    assert_int_equal(bh_http_start(s, err, sizeof err), BH_OK);
    lws_set_log_level(LLL_ERR, NULL);
    uint16_t port = bh_http_port(s);
    assert_int_equal(raw_ws_open(port, "/ws?samples=yes", NULL, 0, NULL), 400);

    tclient *plain = tc_connect(port, "/ws", NULL);
    tclient *live = tc_connect(port, "/ws?samples=1", NULL);
    /* two transfers accepted then delivered 50 and 120 ms later */
    publish_digest(s, BH_NODE_EV_ACCEPTED, 0x11);
    publish_digest(s, BH_NODE_EV_ACCEPTED, 0x22);
    double t0 = now_s();
    while (now_s() - t0 < 0.05)
        pump_once();
    publish_digest(s, BH_NODE_EV_DELIVERED, 0x11);
    while (now_s() - t0 < 0.12)
        pump_once();
    publish_digest(s, BH_NODE_EV_DELIVERED, 0x22);
    publish_digest(s, BH_NODE_EV_DELIVERED, 0x33); /* never accepted: no latency */
    atomic_store(&f.delivered, 103);
    atomic_store(&f.rejected, 9);
    /* no client needed for sampling: the count goes on while nobody asks */
    PUMP_UNTIL(stats(s).samples >= 2, 10);
    atomic_store(&f.delivered, 110);
    PUMP_UNTIL(tc_count_type(live, "sample") + tc_count_type(live, "samples") >= 6, 15);
    assert_int_equal(stats(s).samples, 4); /* the ring holds samples_kept */

    /* every interval counted once: the increases add up to the totals' */
    long long v[64];
    size_t n = sample_column(live, "delivered", v, 64);
    long long sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i] > 0 ? v[i] : 0;
    assert_int_equal(sum, 10);
    n = sample_column(live, "rejected", v, 64);
    sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i] > 0 ? v[i] : 0;
    assert_int_equal(sum, 2);
    /* both latencies seen, the third delivery has none */
    long long p50[64], p99[64], cnt[64];
    n = sample_column(live, "latency_n", cnt, 64);
    assert_int_equal(sample_column(live, "latency_p50_ms", p50, 64), n);
    assert_int_equal(sample_column(live, "latency_p99_ms", p99, 64), n);
    long long seen = 0, lo = 1000000, hi = -1;
    for (size_t i = 0; i < n; i++) {
        seen += cnt[i];
        if (cnt[i] == 0) {
            assert_int_equal(p50[i], -1); /* null */
            continue;
        }
        if (p50[i] < lo) lo = p50[i];
        if (p99[i] > hi) hi = p99[i];
        assert_true(p50[i] <= p99[i]);
    }
    assert_int_equal(seen, 2);
    assert_true(lo >= 45 && lo < 2000);
    assert_true(hi >= 115 && hi < 2000);

    /* a live sample frame: one value per column; the lane in whole tokens */
    json_t *last = NULL;
    for (size_t i = live->n_msgs; i-- > 0 && last == NULL;) {
        json_t *j = tc_json(live, i);
        if (strcmp(jstr_of(j, "type"), "sample") == 0)
            last = j;
        else
            json_decref(j);
    }
    assert_non_null(last);
    assert_int_equal(jint_of(last, "interval_s"), 1);
    assert_int_equal(jint_of(last, "capacity"), 4);
    assert_int_equal(json_array_size(json_object_get(last, "t")), 1);
    json_t *lane = json_array_get(json_object_get(last, "lanes"), 0);
    assert_string_equal(jstr_of(lane, "vault"), "alpha");
    assert_string_equal(jstr_of(lane, "asset"), "TKA");
    assert_string_equal(jstr_of(lane, "lane"), "beta");
    assert_int_equal(jint_of(lane, "chain"), 2);
    assert_true(json_real_value(json_array_get(json_object_get(lane, "outstanding"), 0)) == 1.5);
    assert_true(json_real_value(json_array_get(json_object_get(lane, "minted"), 0)) == 1.0);
    assert_true(json_real_value(json_array_get(json_object_get(lane, "in_flight"), 0)) == 0.5);
    assert_true(json_real_value(json_array_get(json_object_get(lane, "in_headroom"), 0)) == 2.5);
    assert_null(json_object_get(lane, "out_headroom")); /* no bucket: no series */
    json_t *ch = json_array_get(json_object_get(last, "chains"), 0);
    assert_string_equal(jstr_of(ch, "chain"), "alpha");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(ch, "lag"), 0)), 3);
    long long t_last = json_integer_value(json_array_get(json_object_get(last, "t"), 0));
    json_decref(last);

    /* a client connecting now: snapshot, then the whole ring, oldest first */
    tclient *late = tc_connect(port, "/ws?samples=1", NULL);
    PUMP_UNTIL(late->n_msgs >= 2, 5);
    json_t *j = tc_json(late, 0);
    assert_string_equal(jstr_of(j, "type"), "snapshot");
    json_decref(j);
    j = tc_json(late, 1);
    assert_string_equal(jstr_of(j, "type"), "samples");
    json_t *t = json_object_get(j, "t");
    assert_int_equal(json_array_size(t), 4);
    for (size_t i = 1; i < 4; i++)
        assert_true(json_integer_value(json_array_get(t, i)) >
                    json_integer_value(json_array_get(t, i - 1)));
    assert_true(json_integer_value(json_array_get(t, 3)) >= t_last);
    assert_int_equal(json_array_size(json_object_get(j, "delivered")), 4);
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(json_object_get(j, "lanes"), 0), "minted")),
        4);
    json_decref(j);

    /* the client that did not ask got none */
    assert_int_equal(tc_count_type(plain, "sample") + tc_count_type(plain, "samples"), 0);
    assert_true(tc_count_type(plain, "event") >= 5);
    tc_close(plain);
    tc_close(live);
    tc_close(late);
    bh_http_destroy(s);
}

static int wide_snapshot(void *ud, json_t **out)
{
    (void)ud;
    json_t *vaults = json_array();
    for (int v = 0; v < 16; v++) {
        json_t *lanes = json_array();
        for (int l = 1; l <= 4; l++)
            json_array_append_new(lanes, json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "chain", l,
                                                   "outstanding", "123456789", "minted", "23456789",
                                                   "in_flight", "100000000", "in_headroom",
                                                   "987654321", "out_headroom", "876543210"));
        char name[16];
        snprintf(name, sizeof name, "vault%d", v);
        json_array_append_new(vaults, json_pack("{s:s, s:[{s:s, s:s, s:i, s:o}]}", "name", name,
                                                "assets", "symbol", "TKA", "token", "0xab",
                                                "decimals", 3, "lanes", lanes));
    }
    *out = json_pack("{s:I, s:[], s:o, s:{s:i, s:i}}", "time", (json_int_t)time(NULL), "chains",
                     "vaults", vaults, "totals", "delivered", 0, "rejected", 0);
    return *out ? BH_OK : BH_ENOMEM;
}

/* More samples than fit in a quarter of a client's buffer: the samples
 * frame is cut to the newest that fit, and the client is not dropped. */
static void test_ws_samples_cut_to_budget(void **state)
{
    (void)state;
    bh_http_source src = {.snapshot = wide_snapshot};
    bh_http_options opt = {.sample_interval_s = 1, .client_buffer_bytes = 64 * 1024};
    bh_http *s = NULL;
    char err[256];
    assert_int_equal(bh_http_create(&s, err, sizeof err, &opt, &src), BH_OK);
    assert_int_equal(bh_http_start(s, err, sizeof err), BH_OK);
    lws_set_log_level(LLL_ERR, NULL);
    uint16_t port = bh_http_port(s);
    double t0 = now_s();
    while (stats(s).samples < 8) {
        if (now_s() - t0 > 20) fail_msg("only %zu samples", stats(s).samples);
        sleep_ms(50);
    }
    tclient *c = tc_connect(port, "/ws?samples=1", NULL);
    PUMP_UNTIL(tc_count_type(c, "samples") == 1, 5);
    json_t *j = NULL;
    size_t len = 0;
    for (size_t i = 0; i < c->n_msgs && j == NULL; i++)
        if (strncmp(c->msgs[i], "{\"type\":\"samples\"", 17) == 0) {
            j = tc_json(c, i);
            len = strlen(c->msgs[i]);
        }
    assert_non_null(j);
    size_t n = json_array_size(json_object_get(j, "t"));
    assert_true(len <= 16 * 1024);
    assert_true(n >= 1 && n < stats(s).samples);
    assert_int_equal(json_array_size(json_object_get(j, "lanes")), 64);
    json_t *lane = json_array_get(json_object_get(j, "lanes"), 0);
    assert_int_equal(json_array_size(json_object_get(lane, "in_flight")), n);
    assert_true(json_real_value(json_array_get(json_object_get(lane, "in_flight"), 0)) == 100000.0);
    json_decref(j);
    PUMP_UNTIL(tc_count_type(c, "sample") >= 1, 5); /* then live, not dropped */
    assert_false(c->closed);
    assert_int_equal(stats(s).clients_dropped, 0);
    tc_close(c);
    bh_http_destroy(s);
}

static json_t *lane_snapshot(int n_vaults, int n_lanes, const char *out)
{
    json_t *vaults = json_array();
    for (int v = 0; v < n_vaults; v++) {
        json_t *lanes = json_array();
        for (int l = 0; l < n_lanes; l++)
            json_array_append_new(lanes,
                                  json_pack("{s:i, s:s, s:s, s:s}", "chain", l + 1, "outstanding",
                                            out, "in_headroom", "", "out_headroom", "7"));
        char name[16];
        snprintf(name, sizeof name, "v%d", v);
        json_array_append_new(vaults, json_pack("{s:s, s:[{s:s, s:s, s:i, s:o}]}", "name", name,
                                                "assets", "symbol", "", "token", "0xab", "decimals",
                                                0, "lanes", lanes));
    }
    return json_pack("{s:[], s:o, s:{s:i, s:i}}", "chains", "vaults", vaults, "totals", "delivered",
                     0, "rejected", 0);
}

/* history.c alone: percentiles by nearest rank over the interval, a uniform
 * sample past BH_HIST_LATENCIES, the digest table bounded, lanes capped at
 * BH_HIST_MAX_LANES, memory fixed by capacity and lanes. */
static void test_history_bounds(void **state)
{
    (void)state;
    assert_null(bh_hist_create(10, 0));
    assert_null(bh_hist_create(10, BH_HIST_MAX_SAMPLES + 1));
    bh_hist *h = bh_hist_create(10, 360);
    assert_non_null(h);
    size_t empty = bh_hist_bytes(h);
    /* latencies 1..100 ms: p50 50, p99 99 */
    for (int i = 1; i <= 100; i++) {
        bh_hash32 d;
        memset(&d, 0, sizeof d);
        memcpy(d.data, &i, sizeof i);
        bh_hist_accepted(h, &d, 1000);
        bh_hist_delivered(h, &d, 1000 + (uint64_t)i);
        bh_hist_delivered(h, &d, 5000); /* twice: counted once */
    }
    json_t *snap = lane_snapshot(1, 1, "5");
    bh_hist_sample(h, snap, 1790000000);
    json_t *j = bh_hist_json(h, "samples", 10);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "latency_p50_ms"), 0)),
                     50);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "latency_p99_ms"), 0)),
                     99);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "latency_n"), 0)), 100);
    /* no baseline: the first interval's counts are unknown */
    assert_true(json_is_null(json_array_get(json_object_get(j, "delivered"), 0)));
    json_t *lane = json_array_get(json_object_get(j, "lanes"), 0);
    assert_string_equal(jstr_of(lane, "asset"), "0xab"); /* no symbol: the token */
    assert_null(json_object_get(lane, "minted"));        /* no split in the snapshot */
    assert_null(json_object_get(lane, "in_headroom"));
    assert_true(json_real_value(json_array_get(json_object_get(lane, "out_headroom"), 0)) == 7.0);
    json_decref(j);
    json_decref(snap);

    /* a vault's lane to its own home chain is no chart: nothing is ever
     * outstanding there */
    bh_hist *home = bh_hist_create(10, 4);
    snap = json_pack("{s:[], s:[{s:s, s:i, s:[{s:s, s:i, s:[{s:i, s:s}, {s:i, s:s}]}]}]}", "chains",
                     "vaults", "name", "alpha", "chain", 1, "assets", "symbol", "TKA", "decimals",
                     0, "lanes", "chain", 1, "outstanding", "0", "chain", 2, "outstanding", "3");
    bh_hist_sample(home, snap, 1790000000);
    assert_int_equal(bh_hist_lanes(home), 1);
    j = bh_hist_json(home, "samples", 10);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(j, "lanes"), 0), "chain")),
                     2);
    json_decref(j);
    json_decref(snap);
    bh_hist_destroy(home);

    /* a flood: 100000 deliveries in one interval, 40000 never delivered */
    for (uint32_t i = 0; i < 100000; i++) {
        bh_hash32 d;
        memset(&d, 0, sizeof d);
        uint64_t k = 0x1000000ull + i;
        memcpy(d.data, &k, sizeof k);
        bh_hist_accepted(h, &d, 0);
        if (i % 5 < 3) bh_hist_delivered(h, &d, i % 2 ? 10 : 1000);
    }
    /* 64 vaults x 4 lanes offered: 64 kept */
    snap = lane_snapshot(64, 4, "1");
    for (int i = 0; i < 500; i++)
        bh_hist_sample(h, snap, 1790000010 + (uint64_t)i * 10);
    json_decref(snap);
    assert_int_equal(bh_hist_count(h), 360);
    assert_int_equal(bh_hist_lanes(h), BH_HIST_MAX_LANES);
    j = bh_hist_json(h, "samples", 1000);
    assert_int_equal(json_array_size(json_object_get(j, "t")), 360);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "t"), 359)),
                     1790000010 + 499 * 10);
    assert_int_equal(json_array_size(json_object_get(j, "lanes")), BH_HIST_MAX_LANES);
    json_decref(j);
    /* the flood's interval: its deliveries whose accept the table still held */
    bh_hist *g = bh_hist_create(10, 2);
    for (uint32_t i = 0; i < 100000; i++) {
        bh_hash32 d;
        memset(&d, 0, sizeof d);
        uint64_t k = 0x1000000ull + i;
        memcpy(d.data, &k, sizeof k);
        bh_hist_accepted(g, &d, i);
        bh_hist_delivered(g, &d, i + (i % 2 ? 10 : 1000));
    }
    bh_hist_sample(g, NULL, 1);
    j = bh_hist_json(g, "sample", 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "latency_n"), 0)),
                     100000);
    long long p50 = json_integer_value(json_array_get(json_object_get(j, "latency_p50_ms"), 0));
    long long p99 = json_integer_value(json_array_get(json_object_get(j, "latency_p99_ms"), 0));
    assert_true(p50 == 10 || p50 == 1000); /* half and half: either side of the middle */
    assert_int_equal(p99, 1000);
    json_decref(j);
    bh_hist_destroy(g);

    /* memory: the fixed part, plus per lane 5 floats per sample */
    size_t bytes = bh_hist_bytes(h);
    assert_true(empty < 110 * 1024);
    size_t per_lane = (bytes - empty) / BH_HIST_MAX_LANES;
    assert_true(per_lane >= 5 * 360 * sizeof(float) && per_lane < 5 * 360 * sizeof(float) + 512);
    fprintf(stderr, "history: %zu bytes empty, %zu per lane, %zu with %d lanes\n", empty, per_lane,
            bytes, BH_HIST_MAX_LANES);
    bh_hist_destroy(h);
}

static void test_http_lifecycle_and_misuse(void **state)
{
    (void)state;
    bh_http_source src = {.snapshot = fake_snapshot, .ud = &SRC};
    bh_http *s = (bh_http *)1;
    char err[256];
    assert_int_equal(
        bh_http_create(&s, err, sizeof err, &(bh_http_options){.bind = "localhost"}, &src),
        BH_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, "not an IP address"));
    assert_int_equal(bh_http_create(&s, err, sizeof err, &(bh_http_options){.token = "a b"}, &src),
                     BH_EINVAL);
    assert_non_null(strstr(err, "token"));
    assert_int_equal(bh_http_create(&s, err, sizeof err, NULL, NULL), BH_EINVAL);
    bh_http_source nosnap = {0};
    assert_int_equal(bh_http_create(&s, err, sizeof err, NULL, &nosnap), BH_EINVAL);
    assert_int_equal(bh_http_create(NULL, err, sizeof err, NULL, &src), BH_EINVAL);

    /* no ready callback = always ready; publish before start is ignored */
    assert_int_equal(bh_http_create(&s, err, sizeof err, NULL, &src), BH_OK);
    assert_string_equal(err, "");
    assert_int_equal(bh_http_port(s), 0);
    publish(s, BH_NODE_EV_ACCEPTED, "alpha", 1, 2, 1, NULL);
    assert_int_equal(stats(s).events_published, 0);
    assert_int_equal(bh_http_start(s, err, sizeof err), BH_OK);
    assert_int_equal(bh_http_start(s, err, sizeof err), BH_ESTATE);
    uint16_t port = bh_http_port(s);
    http_resp r = http_req(port, "GET", "/readyz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);

    /* the same port twice: a clear error */
    bh_http *t = NULL;
    assert_int_equal(bh_http_create(&t, err, sizeof err, &(bh_http_options){.port = port}, &src),
                     BH_OK);
    assert_int_equal(bh_http_start(t, err, sizeof err), BH_EIO);
    assert_non_null(strstr(err, "in use"));
    bh_http_destroy(t);

    bh_http_stop(s);
    bh_http_stop(s);
    publish(s, BH_NODE_EV_ACCEPTED, "alpha", 1, 2, 1, NULL);
    assert_int_equal(bh_http_start(s, err, sizeof err), BH_ESTATE);
    bh_http_destroy(s);
    bh_http_destroy(NULL);
    bh_http_publish(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_routes),
        cmocka_unit_test(test_http_bearer_token),
        cmocka_unit_test(test_ws_cross_origin_refused),
        cmocka_unit_test(test_http_dns_rebinding_refused),
        cmocka_unit_test(test_http_browser_headers),
        cmocka_unit_test(test_ws_snapshot_and_events),
        cmocka_unit_test(test_ws_subscriptions),
        cmocka_unit_test(test_ws_hostile_frames),
        cmocka_unit_test(test_ws_connect_churn),
        cmocka_unit_test(test_ws_slow_reader_dropped),
        cmocka_unit_test(test_ws_max_clients),
        cmocka_unit_test(test_ws_publish_from_threads),
        cmocka_unit_test(test_ws_history_none_when_idle),
        cmocka_unit_test(test_ws_history_bounded_in_order),
        cmocka_unit_test(test_ws_history_flood_never_blocks),
        cmocka_unit_test(test_ws_samples),
        cmocka_unit_test(test_ws_samples_cut_to_budget),
        cmocka_unit_test(test_history_bounds),
        cmocka_unit_test(test_http_lifecycle_and_misuse),
    };
    if (getenv("BH_TEST_FILTER")) cmocka_set_test_filter(getenv("BH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
