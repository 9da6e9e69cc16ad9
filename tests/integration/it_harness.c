#include "it_harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bh_hex.h"

#ifndef BH_SOURCE_DIR
#error "BH_SOURCE_DIR must be defined"
#endif

/* The binary of the pinned npm package @foundry-rs/anvil for this platform. */
#if defined(__aarch64__)
#define ANVIL_PKG "anvil-linux-arm64"
#else
#define ANVIL_PKG "anvil-linux-amd64"
#endif
#define ANVIL_BIN BH_SOURCE_DIR "/tests/node/node_modules/@foundry-rs/" ANVIL_PKG "/bin/anvil"

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* ---- raw JSON-RPC ---- */

typedef struct {
    char *buf;
    size_t len;
} sink;

static size_t sink_write(char *d, size_t sz, size_t n, void *ud)
{
    sink *s = ud;
    char *nb = realloc(s->buf, s->len + sz * n + 1);
    if (!nb) return 0;
    s->buf = nb;
    memcpy(s->buf + s->len, d, sz * n);
    s->len += sz * n;
    s->buf[s->len] = 0;
    return sz * n;
}

/* POST body to url; returns heap answer or NULL. */
static char *http_post(const char *url, const char *body, size_t len, long timeout_ms,
                       size_t *out_len)
{
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    sink s = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(s.buf);
        return NULL;
    }
    if (out_len) *out_len = s.len;
    return s.buf;
}

json_t *it_rpc(const char *url, const char *method, json_t *params)
{
    json_t *req = json_pack("{s:s,s:i,s:s,s:o}", "jsonrpc", "2.0", "id", 1, "method", method,
                            "params", params ? params : json_array());
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *ans = http_post(url, text, strlen(text), 30000, NULL);
    free(text);
    if (!ans) {
        fprintf(stderr, "it_rpc %s %s: no answer\n", url, method);
        return NULL;
    }
    json_t *root = json_loads(ans, 0, NULL);
    json_t *res = json_object_get(root, "result");
    if (!res) fprintf(stderr, "it_rpc %s %s: %s\n", url, method, ans);
    json_incref(res);
    json_decref(root);
    free(ans);
    return res;
}

int it_mine(const char *url, uint64_t n)
{
    char q[32];
    snprintf(q, sizeof q, "0x%llx", (unsigned long long)n);
    json_t *r = it_rpc(url, "anvil_mine", json_pack("[s]", q));
    if (!r) return -1;
    json_decref(r);
    return 0;
}

/* ---- anvil ---- */

/* One attempt to run anvil on port and see it answer; 0 or -1 (a->pid 0). */
static int anvil_try(it_anvil *a, int port, uint64_t chain_id, const char *const *extra)
{
    a->port = port;
    a->chain_id = chain_id;
    snprintf(a->url, sizeof a->url, "http://127.0.0.1:%d", a->port);
    char ports[16], cid[32];
    snprintf(ports, sizeof ports, "%d", a->port);
    snprintf(cid, sizeof cid, "%llu", (unsigned long long)chain_id);
    const char *argv[32] = {ANVIL_BIN, "--host",     "127.0.0.1", "--port",
                            ports,     "--chain-id", cid,         "--silent"};
    int argc = 8;
    for (int i = 0; extra && extra[i] && argc < 30; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execv(ANVIL_BIN, (char *const *)argv);
        fprintf(stderr, "cannot exec %s: %s\n", ANVIL_BIN, strerror(errno));
        _exit(127);
    }
    a->pid = pid;
    for (int i = 0; i < 200; i++) {
        sleep_ms(25);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            a->pid = 0;
            return -1; /* died: port taken? */
        }
        const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[]}";
        char *ans = http_post(a->url, req, strlen(req), 1000, NULL);
        if (ans) {
            free(ans);
            return 0;
        }
    }
    if (a->pid) it_anvil_stop(a);
    return -1;
}

static void curl_once(void)
{
    static int curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = 1;
    }
}

int it_anvil_start(it_anvil *a, uint64_t chain_id, const char *const *extra)
{
    curl_once();
    memset(a, 0, sizeof *a);
    for (int attempt = 0; attempt < 5; attempt++)
        if (anvil_try(a, free_port(), chain_id, extra) == 0) return 0;
    fprintf(stderr, "anvil did not start (%s)\n", ANVIL_BIN);
    return -1;
}

int it_anvil_start_on(it_anvil *a, int port, uint64_t chain_id, const char *const *extra)
{
    curl_once();
    memset(a, 0, sizeof *a);
    for (int attempt = 0; attempt < 10; attempt++) {
        if (anvil_try(a, port, chain_id, extra) == 0) return 0;
        sleep_ms(300);
    }
    fprintf(stderr, "anvil did not start on port %d (%s)\n", port, ANVIL_BIN);
    return -1;
}

void it_anvil_stop(it_anvil *a)
{
    if (a->pid > 0) {
        kill(a->pid, SIGTERM);
        int st;
        for (int i = 0; i < 100; i++) {
            if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
                a->pid = 0;
                return;
            }
            sleep_ms(20);
        }
        kill(a->pid, SIGKILL);
        waitpid(a->pid, &st, 0);
        a->pid = 0;
    }
}

/* ---- fake endpoint ---- */

#define IT_FAKE_CONNS 256
struct it_fake {
    it_fake_mode mode;
    char upstream[128];
    char url[64];
    int lfd;
    pthread_t thread;
    atomic_int stop;
    atomic_uint requests;
    atomic_uint connections;
    atomic_int active;          /* connection threads still running */
    atomic_uint delay_ms;       /* IT_FAKE_SLOW */
    atomic_uint log_cap;        /* IT_FAKE_LOG_CAP */
    atomic_int truncate;        /* IT_FAKE_LOG_CAP: cut long answers short instead of refusing */
    pthread_mutex_t mu;         /* conn_fd */
    int conn_fd[IT_FAKE_CONNS]; /* open connections, -1: free; shut at a stop (a kill) */
};

static void conn_track(it_fake *f, int fd, int add)
{
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < IT_FAKE_CONNS; i++)
        if (f->conn_fd[i] == (add ? -1 : fd)) {
            f->conn_fd[i] = add ? fd : -1;
            break;
        }
    pthread_mutex_unlock(&f->mu);
}

static int read_request(int fd, char **body, size_t *body_len)
{
    char hdr[8192];
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        if (n == sizeof hdr - 1) return -1;
        ssize_t r = recv(fd, hdr + n, sizeof hdr - 1 - n, 0);
        if (r <= 0) return -1;
        n += (size_t)r;
        hdr[n] = 0;
        end = strstr(hdr, "\r\n\r\n");
    }
    size_t head = (size_t)(end - hdr) + 4;
    size_t clen = 0;
    for (char *p = hdr; p < end; p++) {
        if (strncasecmp(p, "\r\ncontent-length:", 17) == 0) clen = strtoul(p + 17, NULL, 10);
    }
    if (clen > (1u << 20)) return -1;
    char *b = malloc(clen + 1);
    if (!b) return -1;
    size_t have = n - head < clen ? n - head : clen;
    memcpy(b, hdr + head, have);
    while (have < clen) {
        ssize_t r = recv(fd, b + have, clen - have, 0);
        if (r <= 0) {
            free(b);
            return -1;
        }
        have += (size_t)r;
    }
    b[clen] = 0;
    *body = b;
    *body_len = clen;
    return 0;
}

static int send_all(int fd, const char *d, size_t n)
{
    while (n) {
        ssize_t w = send(fd, d, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        d += w;
        n -= (size_t)w;
    }
    return 0;
}

static int respond(int fd, int status, const char *body, size_t len)
{
    char h[256];
    int hl = snprintf(h, sizeof h,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: keep-alive\r\n\r\n",
                      status, status == 200 ? "OK" : "Too Many Requests", len);
    if (send_all(fd, h, (size_t)hl)) return -1;
    return send_all(fd, body, len);
}

/* Flip the last hex digit of every log "data" (changes the amount). */
static void lie_logs(json_t *result)
{
    size_t i;
    json_t *log;
    if (!json_is_array(result)) return;
    json_array_foreach(result, i, log)
    {
        json_t *d = json_object_get(log, "data");
        if (!json_is_string(d) || json_string_length(d) < 4) continue;
        char *s = strdup(json_string_value(d));
        size_t n = strlen(s);
        /* amount word is the 5th (index 4): bump its last digit */
        size_t at = 2 + 64 * 5 - 1;
        if (at >= n) at = n - 1;
        s[at] = s[at] == '1' ? '2' : '1';
        json_object_set_new(log, "data", json_string(s));
        free(s);
    }
}

static void drop_log(json_t *result)
{
    if (json_is_array(result) && json_array_size(result) >= 2) json_array_remove(result, 1);
}

static void bad_logs(json_t *result)
{
    size_t i;
    json_t *log;
    json_array_foreach(result, i, log) json_object_set_new(log, "logIndex", json_integer(7));
}

static void lie_hash(json_t *result)
{
    if (!json_is_object(result) || !json_object_get(result, "hash")) return;
    json_object_set_new(
        result, "hash",
        json_string("0x1111111111111111111111111111111111111111111111111111111111111111"));
}

static int handle_one(it_fake *f, int fd, const char *req, size_t req_len)
{
    static const char garbage[] = "<html><body>502 Bad Gateway: upstream is having a day";
    switch (f->mode) {
    case IT_FAKE_GARBAGE:
        return respond(fd, 200, garbage, sizeof garbage - 1);
    case IT_FAKE_WRONG_TYPES: {
        json_t *r = json_loads(req, 0, NULL);
        json_t *id = json_object_get(r, "id");
        char body[256];
        int n =
            snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"number\":12,\"hash\":[1,2]}}",
                     (long long)json_integer_value(id));
        json_decref(r);
        return respond(fd, 200, body, (size_t)n);
    }
    case IT_FAKE_HANG:
        while (!atomic_load(&f->stop))
            sleep_ms(20);
        return -1;
    case IT_FAKE_429:
        return respond(fd, 429, "{\"error\":\"slow down\"}", 21);
    case IT_FAKE_HUGE: {
        const char *h =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x";
        if (send_all(fd, h, strlen(h))) return -1;
        /* One buffer per connection: the fake serves connections on threads. */
        enum { CHUNK = 65536 };
        char *chunk = malloc(CHUNK);
        if (!chunk) return -1;
        memset(chunk, 'f', CHUNK);
        for (size_t sent = 0; sent < 100u * 1024 * 1024 && !atomic_load(&f->stop); sent += CHUNK)
            if (send_all(fd, chunk, CHUNK)) break;
        free(chunk);
        return -1;
    }
    default:
        break;
    }
    if (f->mode == IT_FAKE_SLOW) {
        unsigned left = atomic_load(&f->delay_ms);
        while (left && !atomic_load(&f->stop)) {
            unsigned step = left < 20 ? left : 20;
            sleep_ms(step);
            left -= step;
        }
    }
    json_t *r = json_loads(req, 0, NULL);
    const char *method = json_string_value(json_object_get(r, "method"));
    if (f->mode == IT_FAKE_DROP_TX && method && strcmp(method, "eth_sendRawTransaction") == 0) {
        /* accepted, never forwarded: a made-up hash, as a hash is all a
         * client sees */
        char body[256];
        int n =
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"0x%064x\"}",
                     (long long)json_integer_value(json_object_get(r, "id")), 1);
        json_decref(r);
        return respond(fd, 200, body, (size_t)n);
    }
    if (f->mode == IT_FAKE_RANGE_LIMIT && method && strcmp(method, "eth_getLogs") == 0) {
        json_t *flt = json_array_get(json_object_get(r, "params"), 0);
        unsigned long long a =
            strtoull(json_string_value(json_object_get(flt, "fromBlock")), NULL, 16);
        unsigned long long b =
            strtoull(json_string_value(json_object_get(flt, "toBlock")), NULL, 16);
        if (b - a + 1 > 8) {
            char body[256];
            int n = snprintf(body, sizeof body,
                             "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32005,"
                             "\"message\":\"query exceeds max block range 8\"}}",
                             (long long)json_integer_value(json_object_get(r, "id")));
            json_decref(r);
            return respond(fd, 200, body, (size_t)n);
        }
    }
    size_t ans_len = 0;
    char *ans = http_post(f->upstream, req, req_len, 30000, &ans_len);
    if (!ans) {
        json_decref(r);
        return -1;
    }
    unsigned cap = atomic_load(&f->log_cap);
    if (f->mode == IT_FAKE_LOG_CAP && cap && method && strcmp(method, "eth_getLogs") == 0) {
        json_t *a = json_loads(ans, 0, NULL);
        size_t n = json_array_size(json_object_get(a, "result"));
        if (n > cap && atomic_load(&f->truncate)) {
            /* the first cap logs in (block, index) order, cut wherever */
            json_t *res = json_object_get(a, "result");
            while (json_array_size(res) > cap)
                json_array_remove(res, json_array_size(res) - 1);
            free(ans);
            ans = json_dumps(a, JSON_COMPACT);
            ans_len = strlen(ans);
            n = 0;
        }
        json_decref(a);
        if (n > cap) {
            free(ans);
            char body[256];
            int bl = snprintf(body, sizeof body,
                              "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32005,"
                              "\"message\":\"query returned more than %u results\"}}",
                              (long long)json_integer_value(json_object_get(r, "id")), cap);
            json_decref(r);
            return respond(fd, 200, body, (size_t)bl);
        }
    }
    if (((f->mode == IT_FAKE_LIE_LOGS || f->mode == IT_FAKE_DROP_LOG ||
          f->mode == IT_FAKE_BAD_LOGS) &&
         method && strcmp(method, "eth_getLogs") == 0) ||
        (f->mode == IT_FAKE_LIE_HASH && method && strcmp(method, "eth_getBlockByNumber") == 0)) {
        json_t *a = json_loads(ans, 0, NULL);
        json_t *res = json_object_get(a, "result");
        if (f->mode == IT_FAKE_LIE_LOGS)
            lie_logs(res);
        else if (f->mode == IT_FAKE_DROP_LOG)
            drop_log(res);
        else if (f->mode == IT_FAKE_BAD_LOGS)
            bad_logs(res);
        else
            lie_hash(res);
        free(ans);
        ans = json_dumps(a, JSON_COMPACT);
        ans_len = strlen(ans);
        json_decref(a);
    }
    if (f->mode == IT_FAKE_LIE_PRICE && method && strcmp(method, "eth_call") == 0) {
        json_t *a = json_loads(ans, 0, NULL);
        const char *res = json_string_value(json_object_get(a, "result"));
        if (res && strlen(res) == 2 + 5 * 64) {
            /* word 1 (answer) 100 times the truth's low bytes; word 3 now */
            char lie[2 + 5 * 64 + 1];
            memcpy(lie, res, sizeof lie);
            unsigned long long ans_v = strtoull(res + 2 + 64 + 48, NULL, 16) * 100ull;
            snprintf(lie + 2 + 64 + 48, 17, "%016llx", ans_v);
            lie[2 + 128] = res[2 + 128];
            snprintf(lie + 2 + 3 * 64 + 48, 17, "%016llx", (unsigned long long)time(NULL));
            lie[2 + 4 * 64] = res[2 + 4 * 64];
            json_object_set_new(a, "result", json_string(lie));
            free(ans);
            ans = json_dumps(a, JSON_COMPACT);
            ans_len = strlen(ans);
        }
        json_decref(a);
    }
    json_decref(r);
    int rc = respond(fd, 200, ans, ans_len);
    free(ans);
    return rc;
}

static void *conn_main(void *arg)
{
    void **pair = arg;
    it_fake *f = pair[0];
    int fd = (int)(intptr_t)pair[1];
    free(pair);
    for (;;) {
        char *body = NULL;
        size_t len = 0;
        if (read_request(fd, &body, &len)) break;
        atomic_fetch_add(&f->requests, 1);
        int rc = handle_one(f, fd, body, len);
        free(body);
        if (rc) break;
    }
    conn_track(f, fd, 0);
    close(fd);
    atomic_fetch_sub(&f->active, 1);
    return NULL;
}

static void *accept_main(void *arg)
{
    it_fake *f = arg;
    while (!atomic_load(&f->stop)) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0) {
            if (atomic_load(&f->stop)) break;
            continue;
        }
        atomic_fetch_add(&f->connections, 1);
        conn_track(f, fd, 1);
        void **pair = malloc(2 * sizeof *pair);
        pair[0] = f;
        pair[1] = (void *)(intptr_t)fd;
        pthread_t t;
        atomic_fetch_add(&f->active, 1);
        if (pthread_create(&t, NULL, conn_main, pair) == 0) {
            pthread_detach(t);
        } else {
            atomic_fetch_sub(&f->active, 1);
            conn_track(f, fd, 0);
            close(fd);
            free(pair);
        }
    }
    return NULL;
}

it_fake *it_fake_start(it_fake_mode mode, const char *upstream)
{
    it_fake *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    pthread_mutex_init(&f->mu, NULL);
    for (int i = 0; i < IT_FAKE_CONNS; i++)
        f->conn_fd[i] = -1;
    f->mode = mode;
    if (upstream) snprintf(f->upstream, sizeof f->upstream, "%s", upstream);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(f->lfd, (struct sockaddr *)&a, sizeof a) || listen(f->lfd, 16) ||
        getsockname(f->lfd, (struct sockaddr *)&a, &len)) {
        close(f->lfd);
        free(f);
        return NULL;
    }
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    if (pthread_create(&f->thread, NULL, accept_main, f)) {
        close(f->lfd);
        free(f);
        return NULL;
    }
    return f;
}

const char *it_fake_url(const it_fake *f)
{
    return f->url;
}

unsigned it_fake_requests(const it_fake *f)
{
    return atomic_load(&((it_fake *)f)->requests);
}

unsigned it_fake_connections(const it_fake *f)
{
    return atomic_load(&((it_fake *)f)->connections);
}

void it_fake_set_delay(it_fake *f, unsigned ms)
{
    atomic_store(&f->delay_ms, ms);
}

void it_fake_set_log_cap(it_fake *f, unsigned n)
{
    atomic_store(&f->log_cap, n);
}

void it_fake_stop(it_fake *f)
{
    if (!f) return;
    atomic_store(&f->stop, 1);
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->thread, NULL);
    /* a kill: every open connection is cut, so their threads end */
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < IT_FAKE_CONNS; i++)
        if (f->conn_fd[i] >= 0) shutdown(f->conn_fd[i], SHUT_RDWR);
    pthread_mutex_unlock(&f->mu);
    /* Connection threads are detached; they exit once the peer closes or
     * they see the stop flag. Free only when none is left. */
    for (int i = 0; i < 200 && atomic_load(&f->active) > 0; i++)
        sleep_ms(10);
    if (atomic_load(&f->active) == 0) free(f);
}

void it_key(bh_seckey *k, const char *hex)
{
    if (bh_hex_decode_exact(k->data, 32, hex, strlen(hex)) != BH_OK) abort();
}

void it_test_key(bh_seckey *k, unsigned i)
{
    memset(k->data, 0, 32);
    k->data[0] = 0x42;
    k->data[30] = (unsigned char)(i >> 8);
    k->data[31] = (unsigned char)i;
}

void it_fake_set_log_truncate(it_fake *f, int on)
{
    atomic_store(&f->truncate, on != 0);
}
