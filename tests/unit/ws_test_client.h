/* Test clients for the operator server, shared by the unit test (server
 * in-process) and the end-to-end test (a real node): a libwebsockets
 * client serviced on the test thread (PUMP_UNTIL), raw sockets for HTTP
 * and for handshakes and frames the lws client would not send. Include
 * after cmocka.h; call wtc_init() before and wtc_fini() after. */
#ifndef WS_TEST_CLIENT_H
#define WS_TEST_CLIENT_H

#include <arpa/inet.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------- raw HTTP client */

static inline int tcp_connect(uint16_t port, int rcvbuf)
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

static inline void send_all(int fd, const void *buf, size_t len)
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

/* Reads one response to EOF from fd (closed here). */
static inline http_resp http_read_close(int fd, const char *method, const char *path)
{
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

/* A request with "Connection: close" and an optional body (a POST always
 * sends its Content-Length); reads to EOF. */
static inline http_resp http_req_body(uint16_t port, const char *method, const char *path,
                                      const char *headers, const char *body)
{
    int fd = tcp_connect(port, 0);
    size_t blen = body ? strlen(body) : 0;
    char *req = malloc(2048 + blen);
    assert_non_null(req);
    int n = snprintf(req, 2048, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s",
                     method, path, headers ? headers : "");
    if (body || strcmp(method, "POST") == 0)
        n += snprintf(req + n, 2048 - (size_t)n, "Content-Length: %zu\r\n", blen);
    n += snprintf(req + n, 2048 - (size_t)n, "\r\n");
    if (blen) memcpy(req + n, body, blen);
    send_all(fd, req, (size_t)n + blen);
    free(req);
    return http_read_close(fd, method, path);
}

static inline http_resp http_req(uint16_t port, const char *method, const char *path,
                                 const char *headers)
{
    return http_req_body(port, method, path, headers, NULL);
}

static inline int head_has(const http_resp *r, const char *needle)
{
    return strcasestr(r->head, needle) != NULL;
}

/* -------------------------------------------------- raw websocket client */

/* Handshake on a fresh socket. Returns the HTTP status (101 on success);
 * *fd_out keeps the socket when 101, else it is closed. */
static inline int raw_ws_open(uint16_t port, const char *path, const char *headers, int rcvbuf,
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

static inline int recv_exact(int fd, void *buf, size_t len)
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
static inline int raw_ws_frame(int fd, unsigned char *buf, size_t cap, size_t *len)
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
static inline void raw_ws_send(int fd, int opcode, const void *data, size_t len, uint64_t declared)
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
    size_t n_samples, n_sample;
} tclient;

static struct lws_context *CCTX;
static lws_sorted_usec_list_t TICK;

static inline void tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(CCTX, 0, sul, tick, 20 * LWS_US_PER_MS);
}

static inline void tc_push(tclient *c)
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
    c->n_samples += strcmp(type, "samples") == 0;
    c->n_sample += strcmp(type, "sample") == 0;
    json_decref(j);
    c->partial_len = 0;
}

static inline int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
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

static inline void pump_once(void)
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

static inline tclient *tc_open(uint16_t port, const char *path, const char *auth)
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

static inline tclient *tc_connect(uint16_t port, const char *path, const char *auth)
{
    tclient *c = tc_open(port, path, auth);
    PUMP_UNTIL(c->established || c->closed, 10);
    if (!c->established) fail_msg("connect %s failed: %s", path, c->err);
    return c;
}

static inline void tc_send(tclient *c, const void *data, size_t len, int binary)
{
    c->tx = malloc(len + 1);
    memcpy(c->tx, data, len);
    c->tx_len = len;
    c->tx_binary = binary;
    lws_callback_on_writable(c->wsi);
    PUMP_UNTIL(c->tx == NULL || c->closed, 5);
}

static inline void tc_close(tclient *c)
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

static inline json_t *tc_json(const tclient *c, size_t i)
{
    json_error_t jerr;
    json_t *j = json_loads(c->msgs[i], 0, &jerr);
    if (j == NULL) fail_msg("frame %zu is not JSON: %s: %.200s", i, jerr.text, c->msgs[i]);
    return j;
}

static inline const char *jstr_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static inline long long jint_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Event seq numbers of a client's event frames, in arrival order. */
static inline size_t tc_event_seqs(const tclient *c, long long *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_msgs; i++) {
        json_t *j = tc_json(c, i);
        if (strcmp(jstr_of(j, "type"), "event") == 0 && n < cap) out[n++] = jint_of(j, "seq");
        json_decref(j);
    }
    return n;
}

/* The event frame `back` places before the last one (0 = the last). */
static inline json_t *tc_last_event(const tclient *c, size_t back)
{
    for (size_t i = c->n_msgs; i-- > 0;) {
        json_t *j = tc_json(c, i);
        if (strcmp(jstr_of(j, "type"), "event") == 0 && back-- == 0) return j;
        json_decref(j);
    }
    fail_msg("not enough event frames");
    return NULL;
}

static inline size_t tc_count_type(const tclient *c, const char *type)
{
    if (strcmp(type, "event") == 0) return c->n_event;
    if (strcmp(type, "snapshot") == 0) return c->n_snapshot;
    if (strcmp(type, "error") == 0) return c->n_error;
    if (strcmp(type, "subscribed") == 0) return c->n_subscribed;
    if (strcmp(type, "samples") == 0) return c->n_samples;
    if (strcmp(type, "sample") == 0) return c->n_sample;
    fail_msg("no counter for frame type %s", type);
    return 0;
}

/* The client context, woken every 20 ms so PUMP_UNTIL sees its deadline. */
static inline int wtc_init(void)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.fd_limit_per_thread = 4096;
    CCTX = lws_create_context(&info);
    if (CCTX == NULL) return -1;
    lws_sul_schedule(CCTX, 0, &TICK, tick, 20 * LWS_US_PER_MS);
    return 0;
}

static inline void wtc_fini(void)
{
    lws_sul_cancel(&TICK);
    lws_context_destroy(CCTX);
    CCTX = NULL;
}

#endif
