#include "bh_rpc.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_be.h"
#include "bh_hex.h"

#define DEFAULT_CONNECT_MS 2000
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_RESPONSE (32u * 1024 * 1024)
#define DEFAULT_BACKOFF_MS 100
#define MAX_BACKOFF_MS 2000

/* An endpoint's health counters; a twin connection counts into its parent's. */
typedef struct {
    _Atomic uint64_t calls, attempts, failures, rate_limited, rpc_errors, bad_answers,
        disagreements, equivocations, last_latency_us, avg_latency_us, bytes_in;
    _Atomic int last_status;
    _Atomic int suspect;
} rpc_counters;

struct bh_rpc {
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    bh_rpc_options opt;
    json_int_t next_id;
    /* answer buffer of the request in flight */
    char *buf;
    size_t len, cap;
    int too_big;
    int oom;
    long last_rpc_code;
    char last_error[256];
    rpc_counters own;
    rpc_counters *k; /* &own, or a twin's parent's */
};

static void default_log(void *ud, bh_log_level level, const char *msg)
{
    (void)ud;
    static const char *const names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "bulkhead rpc %s: %s\n",
            names[(unsigned)level > BH_LOG_ERROR ? BH_LOG_ERROR : level], msg);
}

static void logf_(bh_rpc *ep, bh_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(bh_rpc *ep, bh_log_level level, const char *fmt, ...)
{
    if (level < ep->opt.log_min) return;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ep->opt.log(ep->opt.log_ud, level, msg);
}

static void set_error(bh_rpc *ep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(bh_rpc *ep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ep->last_error, sizeof ep->last_error, fmt, ap);
    va_end(ap);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    bh_rpc *ep = ud;
    size_t n = size * nmemb;
    if (n > ep->opt.max_response - ep->len) {
        ep->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (ep->len + n + 1 > ep->cap) {
        size_t cap = ep->cap ? ep->cap : 4096;
        while (cap < ep->len + n + 1)
            cap *= 2;
        char *nb = realloc(ep->buf, cap);
        if (!nb) {
            ep->oom = 1;
            return 0;
        }
        ep->buf = nb;
        ep->cap = cap;
    }
    memcpy(ep->buf + ep->len, data, n);
    ep->len += n;
    ep->buf[ep->len] = '\0';
    return n;
}

static int curl_global_ready(void)
{
    static atomic_int state; /* 0 = not yet, 1 = ok, -1 = failed */
    int s = atomic_load(&state);
    if (s == 0) {
        /* curl_global_init is not thread-safe on old curls; chains are
         * created from the main thread before any watcher starts. */
        s = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : -1;
        atomic_store(&state, s);
    }
    return s == 1;
}

int bh_rpc_create(bh_rpc **out, const bh_rpc_options *opt)
{
    if (out) *out = NULL;
    if (!out || !opt || !opt->url) return BH_EINVAL;
    if (strncmp(opt->url, "http://", 7) != 0 && strncmp(opt->url, "https://", 8) != 0)
        return BH_EINVAL;
    if (!curl_global_ready()) return BH_ENOMEM;
    bh_rpc *ep = calloc(1, sizeof *ep);
    if (!ep) return BH_ENOMEM;
    ep->k = &ep->own;
    ep->opt = *opt;
    if (!ep->opt.connect_timeout_ms) ep->opt.connect_timeout_ms = DEFAULT_CONNECT_MS;
    if (!ep->opt.timeout_ms) ep->opt.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (!ep->opt.max_response) ep->opt.max_response = DEFAULT_MAX_RESPONSE;
    if (!ep->opt.backoff_ms) ep->opt.backoff_ms = DEFAULT_BACKOFF_MS;
    if (!ep->opt.log) ep->opt.log = default_log;
    ep->url = strdup(opt->url);
    ep->opt.url = ep->url;
    ep->curl = curl_easy_init();
    ep->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!ep->url || !ep->curl || !ep->headers) {
        bh_rpc_destroy(ep);
        return BH_ENOMEM;
    }
    CURL *c = ep->curl;
    curl_easy_setopt(c, CURLOPT_URL, ep->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, ep->headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ep->opt.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ep->opt.timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ep->opt.max_response);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, ep);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    *out = ep;
    return BH_OK;
}

void bh_rpc_destroy(bh_rpc *ep)
{
    if (!ep) return;
    if (ep->curl) curl_easy_cleanup(ep->curl);
    curl_slist_free_all(ep->headers);
    free(ep->url);
    free(ep->buf);
    free(ep);
}

const char *bh_rpc_url(const bh_rpc *ep)
{
    return ep->url;
}

const char *bh_rpc_last_error(const bh_rpc *ep)
{
    return ep->last_error;
}

long bh_rpc_last_rpc_code(const bh_rpc *ep)
{
    return ep->last_rpc_code;
}

void bh_rpc_note_bad_answer(bh_rpc *ep)
{
    atomic_fetch_add(&ep->k->bad_answers, 1);
}

void bh_rpc_note_disagreement(bh_rpc *ep)
{
    atomic_fetch_add(&ep->k->disagreements, 1);
}

void bh_rpc_note_equivocation(bh_rpc *ep)
{
    atomic_fetch_add(&ep->k->equivocations, 1);
}

void bh_rpc_set_suspect(bh_rpc *ep, int on)
{
    atomic_store(&ep->k->suspect, on != 0);
}

void bh_rpc_stats_get(const bh_rpc *ep, bh_rpc_stats *out)
{
    bh_rpc *e = (bh_rpc *)ep;
    memset(out, 0, sizeof *out);
    out->calls = atomic_load(&e->k->calls);
    out->attempts = atomic_load(&e->k->attempts);
    out->failures = atomic_load(&e->k->failures);
    out->rate_limited = atomic_load(&e->k->rate_limited);
    out->rpc_errors = atomic_load(&e->k->rpc_errors);
    out->bad_answers = atomic_load(&e->k->bad_answers);
    out->disagreements = atomic_load(&e->k->disagreements);
    out->equivocations = atomic_load(&e->k->equivocations);
    out->last_latency_us = atomic_load(&e->k->last_latency_us);
    out->avg_latency_us = atomic_load(&e->k->avg_latency_us);
    out->last_status = atomic_load(&e->k->last_status);
    out->suspect = atomic_load(&e->k->suspect);
    out->bytes_in = atomic_load(&e->k->bytes_in);
    out->healthy = out->calls > 0 && out->last_status == BH_OK && !out->suspect;
}

int bh_rpc_twin(bh_rpc **out, bh_rpc *parent)
{
    if (out) *out = NULL;
    if (!out || !parent) return BH_EINVAL;
    bh_rpc_options o = parent->opt;
    o.url = parent->url;
    int rc = bh_rpc_create(out, &o);
    if (rc == BH_OK) (*out)->k = parent->k;
    return rc;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int bh_rpc_parse_answer(json_t **result, long *rpc_code, char *msg, size_t msg_cap,
                        const char *body, size_t len, json_int_t expect_id)
{
    if (result) *result = NULL;
    if (rpc_code) *rpc_code = 0;
    if (msg && msg_cap) msg[0] = '\0';
    if (!result || !body) return BH_EINVAL;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (msg && msg_cap) snprintf(msg, msg_cap, "invalid JSON: %s", jerr.text);
        return BH_EPROTO;
    }
    int rc = BH_EPROTO;
    const char *why = "not a JSON object";
    if (!json_is_object(root)) goto out;
    json_t *ver = json_object_get(root, "jsonrpc");
    why = "missing \"jsonrpc\":\"2.0\"";
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) goto out;
    json_t *id = json_object_get(root, "id");
    why = "answer id does not match the request";
    if (!json_is_integer(id) || json_integer_value(id) != expect_id) goto out;
    json_t *res = json_object_get(root, "result");
    json_t *err = json_object_get(root, "error");
    why = "answer must hold exactly one of result and error";
    if ((res != NULL) == (err != NULL)) goto out;
    if (err) {
        json_t *code = json_object_get(err, "code");
        json_t *m = json_object_get(err, "message");
        why = "error object needs an integer code and a string message";
        if (!json_is_object(err) || !json_is_integer(code) || !json_is_string(m)) goto out;
        if (rpc_code) *rpc_code = (long)json_integer_value(code);
        if (msg && msg_cap) {
            json_t *data = json_object_get(err, "data");
            if (json_is_string(data))
                snprintf(msg, msg_cap, "%s (%s)", json_string_value(m), json_string_value(data));
            else
                snprintf(msg, msg_cap, "%s", json_string_value(m));
        }
        rc = BH_ERPC;
        why = NULL;
        goto out;
    }
    *result = json_incref(res);
    rc = BH_OK;
    why = NULL;
out:
    if (why && msg && msg_cap) snprintf(msg, msg_cap, "%s", why);
    json_decref(root);
    return rc;
}

/* One HTTP exchange. Returns a status and whether it is worth retrying. */
static int attempt(bh_rpc *ep, const char *req, size_t req_len, int *retry)
{
    *retry = 0;
    ep->len = 0;
    ep->too_big = 0;
    ep->oom = 0;
    curl_easy_setopt(ep->curl, CURLOPT_POSTFIELDS, req);
    curl_easy_setopt(ep->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req_len);
    atomic_fetch_add(&ep->k->attempts, 1);
    CURLcode cc = curl_easy_perform(ep->curl);
    atomic_fetch_add(&ep->k->bytes_in, ep->len);
    if (ep->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        set_error(ep, "%s: answer larger than %zu bytes", ep->url, ep->opt.max_response);
        return BH_ETOOBIG;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        set_error(ep, "%s: timed out after %ld ms", ep->url, ep->opt.timeout_ms);
        *retry = 1;
        return BH_ETIMEOUT;
    }
    if (cc == CURLE_OUT_OF_MEMORY || ep->oom) return BH_ENOMEM;
    if (cc != CURLE_OK) {
        set_error(ep, "%s: %s", ep->url, curl_easy_strerror(cc));
        *retry = 1;
        return BH_EHTTP;
    }
    long status = 0;
    curl_easy_getinfo(ep->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 429) {
        atomic_fetch_add(&ep->k->rate_limited, 1);
        set_error(ep, "%s: rate limited (HTTP 429)", ep->url);
        *retry = 1;
        return BH_EHTTP;
    }
    if (status != 200) {
        set_error(ep, "%s: HTTP status %ld", ep->url, status);
        *retry = status >= 500;
        return BH_EHTTP;
    }
    return BH_OK;
}

int bh_rpc_call(bh_rpc *ep, json_t **result, const char *method, json_t *params)
{
    if (result) *result = NULL;
    if (!ep || !result || !method || (params && !json_is_array(params))) return BH_EINVAL;
    ep->last_error[0] = '\0';
    ep->last_rpc_code = 0;
    atomic_fetch_add(&ep->k->calls, 1);
    json_int_t id = ++ep->next_id;
    json_t *p = params ? json_incref(params) : json_array();
    json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", id, "method", method,
                            "params", p);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text) {
        atomic_fetch_add(&ep->k->failures, 1);
        return BH_ENOMEM;
    }
    size_t text_len = strlen(text);

    uint64_t t0 = now_us();
    int rc = BH_OK, retry = 0;
    unsigned delay = ep->opt.backoff_ms;
    for (unsigned i = 0;; i++) {
        rc = attempt(ep, text, text_len, &retry);
        if (rc == BH_OK || !retry || i >= ep->opt.max_retries) break;
        logf_(ep, BH_LOG_WARN, "%s; retry %u/%u in %u ms", ep->last_error, i + 1,
              ep->opt.max_retries, delay);
        sleep_ms(delay);
        delay = delay * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : delay * 2;
    }
    free(text);
    uint64_t dt = now_us() - t0;
    atomic_store(&ep->k->last_latency_us, dt);
    uint64_t avg = atomic_load(&ep->k->avg_latency_us);
    atomic_store(&ep->k->avg_latency_us, avg ? (avg * 7 + dt) / 8 : dt);

    if (rc == BH_OK) {
        char msg[200];
        long code = 0;
        rc = bh_rpc_parse_answer(result, &code, msg, sizeof msg, ep->buf ? ep->buf : "", ep->len,
                                 id);
        if (rc == BH_ERPC) {
            ep->last_rpc_code = code;
            atomic_fetch_add(&ep->k->rpc_errors, 1);
            set_error(ep, "%s: %s: JSON-RPC error %ld: %s", ep->url, method, code, msg);
        } else if (rc == BH_EPROTO) {
            atomic_fetch_add(&ep->k->bad_answers, 1);
            set_error(ep, "%s: %s: bad answer: %s", ep->url, method, msg);
        }
    } else if (rc == BH_ETOOBIG) {
        atomic_fetch_add(&ep->k->bad_answers, 1);
    }
    if (rc != BH_OK) {
        atomic_fetch_add(&ep->k->failures, 1);
        if (rc != BH_ERPC) logf_(ep, BH_LOG_WARN, "%s", ep->last_error);
    }
    atomic_store(&ep->k->last_status, rc);
    /* Free a huge buffer rather than keep it for the endpoint's lifetime. */
    if (ep->cap > (1u << 20)) {
        free(ep->buf);
        ep->buf = NULL;
        ep->cap = ep->len = 0;
    }
    return rc;
}

/* ---- checked readers ---- */

static int hex_digits(const json_t *v, const char **digits, size_t *n)
{
    if (!json_is_string(v)) return BH_EPROTO;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return BH_EPROTO;
    *digits = s + 2;
    *n = len - 2;
    return BH_OK;
}

/* A hex digit's value plus one; 0: not a hex digit. */
static const unsigned char hex1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static int hexval(char c)
{
    return (int)hex1[(unsigned char)c] - 1;
}

/* Exactly 2 * n hex digits (no prefix) into n bytes, in one pass: every
 * answer's hashes, topics and data go through here. BH_EPROTO on a
 * non-digit (out then holds garbage). */
static int hex_bytes(unsigned char *out, const char *d, size_t n)
{
    const unsigned char *p = (const unsigned char *)d;
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned hi = hex1[p[2 * i]], lo = hex1[p[2 * i + 1]];
        bad |= (hi == 0) | (lo == 0);
        out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
    }
    return bad ? BH_EPROTO : BH_OK;
}

int bh_rpc_read_u256(bh_u256 *out, const json_t *v)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    const char *d;
    size_t n;
    if (hex_digits(v, &d, &n) != BH_OK || n == 0) return BH_EPROTO;
    while (n > 1 && d[0] == '0') { /* tolerate leading zeros */
        d++;
        n--;
    }
    if (n > 64) return BH_EPROTO;
    bh_u256 tmp;
    memset(&tmp, 0, sizeof tmp);
    for (size_t i = 0; i < n; i++) {
        int x = hexval(d[n - 1 - i]);
        if (x < 0) return BH_EPROTO;
        tmp.be[31 - i / 2] |= (unsigned char)(i % 2 ? x << 4 : x);
    }
    *out = tmp;
    return BH_OK;
}

int bh_rpc_read_quantity(uint64_t *out, const json_t *v)
{
    if (!out) return BH_EINVAL;
    *out = 0;
    bh_u256 w;
    if (bh_rpc_read_u256(&w, v) != BH_OK) return BH_EPROTO;
    for (int i = 0; i < 24; i++)
        if (w.be[i]) return BH_EPROTO;
    *out = bh_be_get_u64(w.be + 24);
    return BH_OK;
}

static int read_fixed(unsigned char *out, size_t n, const json_t *v)
{
    memset(out, 0, n);
    const char *d;
    size_t len;
    if (hex_digits(v, &d, &len) != BH_OK || len != 2 * n || hex_bytes(out, d, n) != BH_OK) {
        memset(out, 0, n);
        return BH_EPROTO;
    }
    return BH_OK;
}

int bh_rpc_read_hash(bh_hash32 *out, const json_t *v)
{
    if (!out) return BH_EINVAL;
    int rc = read_fixed(out->data, sizeof out->data, v);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

int bh_rpc_read_address(bh_address *out, const json_t *v)
{
    if (!out) return BH_EINVAL;
    int rc = read_fixed(out->data, sizeof out->data, v);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

int bh_rpc_read_data(unsigned char **out, size_t *out_len, const json_t *v, size_t cap)
{
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out || !out_len) return BH_EINVAL;
    const char *d;
    size_t n;
    if (hex_digits(v, &d, &n) != BH_OK || n % 2) return BH_EPROTO;
    if (n / 2 > cap) return BH_ETOOBIG;
    unsigned char *b = malloc(n / 2 + 1);
    if (!b) return BH_ENOMEM;
    /* the digits after "0x", all of them: "0x0x12" is no data */
    if (hex_bytes(b, d, n / 2) != BH_OK) {
        free(b);
        return BH_EPROTO;
    }
    *out = b;
    *out_len = n / 2;
    return BH_OK;
}

int bh_rpc_member_quantity(uint64_t *out, const json_t *obj, const char *key)
{
    if (out) *out = 0;
    if (!json_is_object(obj)) return BH_EPROTO;
    return bh_rpc_read_quantity(out, json_object_get(obj, key));
}

int bh_rpc_member_hash(bh_hash32 *out, const json_t *obj, const char *key)
{
    if (out) memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) return BH_EPROTO;
    return bh_rpc_read_hash(out, json_object_get(obj, key));
}

int bh_rpc_member_address(bh_address *out, const json_t *obj, const char *key)
{
    if (out) memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) return BH_EPROTO;
    return bh_rpc_read_address(out, json_object_get(obj, key));
}

void bh_rpc_format_quantity(char out[19], uint64_t v)
{
    snprintf(out, 19, "0x%llx", (unsigned long long)v);
}

void bh_rpc_format_hex(char *out, const unsigned char *data, size_t len)
{
    out[0] = '0';
    out[1] = 'x';
    bh_hex_encode(out + 2, data, len);
}
