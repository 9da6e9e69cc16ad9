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
#include <netinet/tcp.h>
#include <poll.h>
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
#include "prom_expo.h"

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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
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
    bh_http_publish(s, &ev);
}

/* ------------------------------------------------------- raw HTTP client */

static int tcp_connect(uint16_t port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (rcvbuf > 0)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

typedef struct {
    int status;
    char head[4096];
    char *body;
    size_t body_len;
} http_resp;

/* GET (or another method) with "Connection: close"; reads to EOF. */
static http_resp http_req(uint16_t port, const char *method, const char *path, const char *headers)
{
    int fd = tcp_connect(port, 0);
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s\r\n", method,
                     path, headers ? headers : "",
                     strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
    send_all(fd, req, (size_t)n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 4096 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    http_resp resp = {0};
    char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL) fail_msg("no HTTP response to %s %s: %.200s", method, path, buf);
    size_t hl = (size_t)(end - buf);
    snprintf(resp.head, sizeof resp.head, "%.*s", (int)hl, buf);
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &resp.status), 1);
    resp.body_len = len - hl - 4;
    resp.body = malloc(resp.body_len + 1);
    memcpy(resp.body, end + 4, resp.body_len);
    resp.body[resp.body_len] = '\0';
    free(buf);
    return resp;
}

static int head_has(const http_resp *r, const char *needle)
{
    return strcasestr(r->head, needle) != NULL;
}

/* -------------------------------------------------- raw websocket client */

/* Handshake on a fresh socket. Returns the HTTP status (101 on success);
 * *fd_out keeps the socket when 101, else it is closed. */
static int raw_ws_open(uint16_t port, const char *path, const char *headers, int rcvbuf,
                       int *fd_out)
{
    int fd = tcp_connect(port, rcvbuf);
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, headers ? headers : "");
    send_all(fd, req, (size_t)n);
    /* read the response head byte by byte: nothing after it is consumed */
    char head[4096];
    size_t len = 0;
    while (len < sizeof head - 1) {
        ssize_t r = recv(fd, head + len, 1, 0);
        if (r <= 0) break;
        len++;
        if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0) break;
    }
    head[len] = '\0';
    int status = 0;
    if (sscanf(head, "HTTP/1.%*d %d", &status) != 1) status = -1;
    if (status == 101 && fd_out) {
        *fd_out = fd;
    } else {
        close(fd);
        if (fd_out) *fd_out = -1;
    }
    return status;
}

static int recv_exact(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = recv(fd, p, len, 0);
        if (r <= 0) return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* One server frame (unmasked). Returns the opcode, -1 on EOF/error.
 * The payload is cut to cap (the rest is read and discarded). */
static int raw_ws_frame(int fd, unsigned char *buf, size_t cap, size_t *len)
{
    unsigned char h[2];
    if (recv_exact(fd, h, 2) != 0) return -1;
    uint64_t n = h[1] & 0x7f;
    if (n == 126) {
        unsigned char e[2];
        if (recv_exact(fd, e, 2) != 0) return -1;
        n = (uint64_t)e[0] << 8 | e[1];
    } else if (n == 127) {
        unsigned char e[8];
        if (recv_exact(fd, e, 8) != 0) return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | e[i];
    }
    size_t keep = n < cap ? (size_t)n : cap;
    if (recv_exact(fd, buf, keep) != 0) return -1;
    for (uint64_t left = n - keep; left > 0;) {
        unsigned char junk[4096];
        size_t k = left < sizeof junk ? (size_t)left : sizeof junk;
        if (recv_exact(fd, junk, k) != 0) return -1;
        left -= k;
    }
    *len = keep;
    return h[0] & 0x0f;
}

/* A masked client frame; declared may differ from len to lie about size. */
static void raw_ws_send(int fd, int opcode, const void *data, size_t len, uint64_t declared)
{
    unsigned char h[14];
    size_t hl = 0;
    h[hl++] = (unsigned char)(0x80 | opcode);
    if (declared < 126) {
        h[hl++] = (unsigned char)(0x80 | declared);
    } else if (declared < 65536) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char)(declared >> 8);
        h[hl++] = (unsigned char)declared;
    } else {
        h[hl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (unsigned char)(declared >> (8 * i));
    }
    static const unsigned char mask[4] = {1, 2, 3, 4};
    memcpy(h + hl, mask, 4);
    hl += 4;
    send_all(fd, h, hl);
    unsigned char *m = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        m[i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
    if (len) send_all(fd, m, len);
    free(m);
}

/* ---------------------------------------------- libwebsockets test client */

#define TC_MAX_MSGS 200000

typedef struct {
    struct lws *wsi;
    const char *auth; /* Authorization header value, or NULL */
    char **msgs;
    size_t n_msgs, cap_msgs;
    char *partial;
    size_t partial_len;
    int established, closed, conn_error, want_close;
    int close_code;
    char close_reason[128];
    char err[256];
    unsigned char *tx;
    size_t tx_len;
    int tx_binary;
    size_t n_event, n_snapshot, n_error, n_subscribed; /* frames by type */
} tclient;

static struct lws_context *CCTX;
static lws_sorted_usec_list_t TICK;

static void tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(CCTX, 0, sul, tick, 20 * LWS_US_PER_MS);
}

static void tc_push(tclient *c)
{
    if (c->n_msgs == c->cap_msgs) {
        c->cap_msgs = c->cap_msgs ? c->cap_msgs * 2 : 64;
        c->msgs = realloc(c->msgs, c->cap_msgs * sizeof *c->msgs);
        assert_non_null(c->msgs);
    }
    c->msgs[c->n_msgs++] = c->partial ? c->partial : strdup("");
    c->partial = NULL;
    json_t *j = json_loads(c->msgs[c->n_msgs - 1], 0, NULL);
    const json_t *t = json_object_get(j, "type");
    const char *type = json_is_string(t) ? json_string_value(t) : "";
    c->n_event += strcmp(type, "event") == 0;
    c->n_snapshot += strcmp(type, "snapshot") == 0;
    c->n_error += strcmp(type, "error") == 0;
    c->n_subscribed += strcmp(type, "subscribed") == 0;
    json_decref(j);
    c->partial_len = 0;
}

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    (void)user;
    tclient *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (c && c->auth) {
            unsigned char **p = in, *end = *p + len;
            if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                             (const unsigned char *)c->auth, (int)strlen(c->auth),
                                             p, end))
                return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c) c->established = 1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!c) break;
        c->partial = realloc(c->partial, c->partial_len + len + 1);
        memcpy(c->partial + c->partial_len, in, len);
        c->partial_len += len;
        c->partial[c->partial_len] = '\0';
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) tc_push(c);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c) break;
        if (c->want_close) return -1;
        if (c->tx) {
            unsigned char *buf = malloc(LWS_PRE + c->tx_len);
            memcpy(buf + LWS_PRE, c->tx, c->tx_len);
            int m = lws_write(wsi, buf + LWS_PRE, c->tx_len,
                              c->tx_binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
            free(buf);
            free(c->tx);
            c->tx = NULL;
            if (m < (int)c->tx_len) return -1;
        }
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c && len >= 2) {
            const unsigned char *b = in;
            c->close_code = b[0] << 8 | b[1];
            snprintf(c->close_reason, sizeof c->close_reason, "%.*s", (int)(len - 2),
                     (const char *)b + 2);
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            c->conn_error = 1;
            c->closed = 1;
            c->wsi = NULL;
            snprintf(c->err, sizeof c->err, "%s", in ? (const char *)in : "(none)");
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) {
            c->closed = 1;
            c->wsi = NULL;
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols client_protocols[] = {
    {"bulkhead-test", client_cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void pump_once(void)
{
    lws_service(CCTX, 0);
}

#define PUMP_UNTIL(cond, secs)                                                                     \
    do {                                                                                           \
        double t0_ = now_s();                                                                      \
        while (!(cond)) {                                                                          \
            if (now_s() - t0_ > (secs)) fail_msg("timed out waiting for: %s", #cond);              \
            pump_once();                                                                           \
        }                                                                                          \
    } while (0)

static tclient *tc_open(uint16_t port, const char *path, const char *auth)
{
    tclient *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->auth = auth;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = CCTX;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = path;
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    ci.local_protocol_name = "bulkhead-test";
    assert_non_null(lws_client_connect_via_info(&ci));
    return c;
}

static tclient *tc_connect(uint16_t port, const char *path, const char *auth)
{
    tclient *c = tc_open(port, path, auth);
    PUMP_UNTIL(c->established || c->closed, 10);
    if (!c->established) fail_msg("connect %s failed: %s", path, c->err);
    return c;
}

static void tc_send(tclient *c, const void *data, size_t len, int binary)
{
    c->tx = malloc(len + 1);
    memcpy(c->tx, data, len);
    c->tx_len = len;
    c->tx_binary = binary;
    lws_callback_on_writable(c->wsi);
    PUMP_UNTIL(c->tx == NULL || c->closed, 5);
}

static void tc_close(tclient *c)
{
    if (c == NULL) return;
    if (!c->closed && c->wsi) {
        c->want_close = 1;
        lws_callback_on_writable(c->wsi);
        PUMP_UNTIL(c->closed, 5);
    }
    for (size_t i = 0; i < c->n_msgs; i++)
        free(c->msgs[i]);
    free(c->msgs);
    free(c->partial);
    free(c->tx);
    free(c);
}

static json_t *tc_json(const tclient *c, size_t i)
{
    json_error_t jerr;
    json_t *j = json_loads(c->msgs[i], 0, &jerr);
    if (j == NULL) fail_msg("frame %zu is not JSON: %s: %.200s", i, jerr.text, c->msgs[i]);
    return j;
}

static const char *jstr_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static long long jint_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Event seq numbers of a client's event frames, in arrival order. */
static size_t tc_event_seqs(const tclient *c, long long *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_msgs; i++) {
        json_t *j = tc_json(c, i);
        if (strcmp(jstr_of(j, "type"), "event") == 0 && n < cap) out[n++] = jint_of(j, "seq");
        json_decref(j);
    }
    return n;
}

static size_t tc_count_type(const tclient *c, const char *type)
{
    if (strcmp(type, "event") == 0) return c->n_event;
    if (strcmp(type, "snapshot") == 0) return c->n_snapshot;
    if (strcmp(type, "error") == 0) return c->n_error;
    if (strcmp(type, "subscribed") == 0) return c->n_subscribed;
    fail_msg("no counter for frame type %s", type);
    return 0;
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
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.fd_limit_per_thread = 4096;
    CCTX = lws_create_context(&info);
    if (CCTX == NULL) return -1;
    lws_sul_schedule(CCTX, 0, &TICK, tick, 20 * LWS_US_PER_MS);
    atomic_store(&SRC.ready, 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    lws_sul_cancel(&TICK);
    lws_context_destroy(CCTX);
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

    /* a failing source: 503 with the reason, the server stays up */
    atomic_store(&SRC.fail, 1);
    r = http_req(port, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "snapshot unavailable"));
    free(r.body);
    atomic_store(&SRC.fail, 0);

    r = http_req(port, "GET", "/", NULL);
    assert_int_equal(r.status, 200);
    assert_true(head_has(&r, "content-type: text/html"));
    assert_non_null(strcasestr(r.body, "<!doctype html>"));
    free(r.body);
    r = http_req(port, "GET", "/app.js", NULL);
    assert_int_equal(r.status, 200);
    assert_true(head_has(&r, "content-type: text/javascript"));
    free(r.body);
    r = http_req(port, "GET", "/style.css", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
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
        }
        json_decref(j);
        seen++;
    }
    assert_int_equal(seen, n);

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
        cmocka_unit_test(test_ws_snapshot_and_events),
        cmocka_unit_test(test_ws_subscriptions),
        cmocka_unit_test(test_ws_hostile_frames),
        cmocka_unit_test(test_ws_connect_churn),
        cmocka_unit_test(test_ws_slow_reader_dropped),
        cmocka_unit_test(test_ws_max_clients),
        cmocka_unit_test(test_ws_publish_from_threads),
        cmocka_unit_test(test_http_lifecycle_and_misuse),
    };
    if (getenv("BH_TEST_FILTER")) cmocka_set_test_filter(getenv("BH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
