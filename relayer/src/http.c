/* The operator server: libwebsockets on one port, one service thread.
 *
 * Everything below the lws callback runs on the service thread, except
 * bh_http_publish (any thread), which only appends to `pub` under `mu` and
 * wakes the service thread with lws_cancel_service on the queue's first
 * entry. The service thread swaps `pub` with `drain` under the same lock
 * and fans the events out to each client's own byte-bounded queue; frames
 * are shared between clients and reference counted. */
#include "bh_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bh_amount.h"
#include "bh_hex.h"
#include "bh_log.h"
#include "bh_metrics.h"
#include "history.h"
#include "web_assets.h"

#define DEFAULT_MAX_CLIENTS 64
#define DEFAULT_INTERVAL_S 5
#define DEFAULT_CLIENT_BUFFER (1024 * 1024)
#define MIN_CLIENT_BUFFER (64 * 1024)
#define DEFAULT_QUEUE 4096
#define DEFAULT_HISTORY 200
#define DEFAULT_SAMPLE_S 10
#define MAX_HISTORY 10000
#define TOKEN_MAX 255
#define DETAIL_MAX 512
#define SYMBOL_MAX 17
#define NAME_MAX_ (BH_CONFIG_NAME_MAX + 1)
#define SUB_MAX_CHAINS BH_CONFIG_MAX_CHAINS
#define HTTP_CHUNK 16384
#define DRAIN_CHUNK 64
#define SNAPSHOT_REUSE_MS 1000
/* a dropped client that never reads is cut off after this */
#define DROP_GRACE_S 5

/* An event copied out of the publisher's hands: fixed size, no pointers. */
typedef struct {
    uint64_t seq;
    bh_node_event_kind kind;
    uint64_t time;
    char vault[NAME_MAX_];
    uint16_t from_chain, to_chain;
    uint64_t sequence;
    bh_hash32 digest;
    bh_u128 amount;
    char symbol[SYMBOL_MAX];
    bh_reject reason;
    char detail[DETAIL_MAX];
    bh_hash32 tx;
    uint64_t at_ms; /* when it was published (monotonic): delivery latency */
} ev_rec;

/* One serialized websocket frame, shared by the clients that queue it. */
typedef struct {
    unsigned refs;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes for lws, then len bytes of JSON */
} frame;

typedef struct client {
    struct client *next, *prev;
    struct lws *wsi;
    frame **q; /* ring of queued frames */
    size_t q_cap, q_head, q_n, q_bytes;
    int dropping;
    /* subscription: no chain names = every chain; kinds 0 = every kind */
    char chains[SUB_MAX_CHAINS][NAME_MAX_];
    size_t n_chains;
    unsigned kinds;
    int samples; /* asked for the samples (?samples=1) */
    /* an incoming message being reassembled */
    char rx[BH_HTTP_MAX_RX + 1];
    size_t rx_len;
} client;

/* One event of the history ring: the record (for subscription filters)
 * and its frame marked "history", built when a client first needs it. */
typedef struct {
    ev_rec e;
    frame *f; /* the ring's reference, or NULL */
} hist_ent;

typedef struct {
    char name[NAME_MAX_];
    uint16_t id;
} chain_name;

/* Per connection: an HTTP response in flight, or the websocket client. */
typedef struct {
    client *c;
    /* subscription from the upgrade's query, until the client exists */
    char q_chains[SUB_MAX_CHAINS][NAME_MAX_];
    size_t q_n_chains;
    unsigned q_kinds;
    int q_samples;
    /* HTTP body: owned (free) or static (an embedded file) */
    char *owned;
    const unsigned char *body;
    size_t body_len, body_off;
    /* an admin request: its path, body being received, the job running it */
    int admin;
    char admin_path[64];
    char *rx;
    size_t rx_len;
    int rx_too_big;
    struct admin_job *job;
    /* the answer closes the connection (every admin answer: one request
     * per connection, so a pipelined request never meets a pending job) */
    int close_after;
} pss;

/* One admin request handed to the admin thread. The connection may close
 * while it runs: then wsi is NULL and the service thread frees the job
 * once it is done. Guarded by bh_http.admin_mu. */
typedef struct admin_job {
    struct lws *wsi;
    pss *p;
    char path[64];
    json_t *req;
    int done;
    unsigned status;
    json_t *resp;
} admin_job;

struct bh_http {
    bh_http_options opt;
    char bind[INET6_ADDRSTRLEN];
    char token[TOKEN_MAX + 1];
    size_t token_len;
    bh_http_source src;

    pthread_mutex_t mu;  /* guards pub, n_pub, next_seq, wake_pending, accepting */
    ev_rec *pub, *drain; /* publishers fill pub; the service thread swaps and reads drain */
    size_t n_pub;
    uint64_t next_seq;
    int wake_pending;
    int accepting;

    struct lws_context *ctx;
    pthread_t thread;
    int state; /* 0 created, 1 running, 2 stopped */
    atomic_int stop;
    atomic_uint port;

    atomic_uint n_clients;
    atomic_uint_fast64_t published, dropped, clients_dropped, refused, frames_sent;

    /* service thread only */
    size_t drain_n, drain_pos;
    client *clients;
    lws_sorted_usec_list_t sul; /* periodic snapshots */
    json_t *cache;              /* the last snapshot and when it was taken */
    uint64_t cache_ms;
    lws_sorted_usec_list_t drain_sul; /* fan-out of published events */
    chain_name names[BH_CONFIG_MAX_CHAINS * 2];
    size_t n_names;
    hist_ent *hist; /* ring of the last opt.history_events fanned-out events */
    size_t hist_head, hist_n;
    atomic_size_t hist_count;          /* hist_n, for bh_http_get_stats */
    bh_hist *samples;                  /* the charts' samples (history.h) */
    lws_sorted_usec_list_t sample_sul; /* one sample every sample_interval_s */
    frame *samples_f;                  /* all samples as a frame, until the next one */
    atomic_size_t samples_count;       /* bh_hist_count, for bh_http_get_stats */

    /* the admin API: one job at a time, run by admin_thread */
    char admin_token[TOKEN_MAX + 1];
    size_t admin_token_len;
    pthread_mutex_t admin_mu;
    pthread_cond_t admin_cv;
    admin_job *job; /* the job queued, running or waiting to be answered */
    int admin_stop, admin_started;
    pthread_t admin_thread;
};

static const char *kind_name(bh_node_event_kind k)
{
    return bh_node_event_name(k);
}

static int kind_from_name(const char *s, size_t n)
{
    for (int k = 0; k < BH_NODE_EV_COUNT_; k++) {
        const char *name = bh_node_event_name((bh_node_event_kind)k);
        if (strlen(name) == n && memcmp(name, s, n) == 0) return k;
    }
    return -1;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    size_t n = strnlen(src, cap - 1);
    /* never cut inside a UTF-8 sequence: jansson would refuse the string */
    if (src[n] != '\0')
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A JSON string; bytes that are not UTF-8 (a token's symbol is whatever
 * its contract says) become '?' instead of losing the field. */
static json_t *jstr(const char *v)
{
    json_t *j = json_string(v);
    if (j != NULL) return j;
    char buf[DETAIL_MAX];
    size_t i = 0;
    for (; v[i] && i < sizeof buf - 1; i++)
        buf[i] = (unsigned char)v[i] < 0x80 ? v[i] : '?';
    buf[i] = '\0';
    return json_string(buf);
}

static int ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char d = alen != blen;
    for (size_t i = 0; i < blen; i++)
        d |= (unsigned char)((i < alen ? a[i] : 0) ^ b[i]);
    return d == 0;
}

/* ---------------------------------------------------------------- frames */

static frame *frame_from_text(const char *text, size_t len)
{
    frame *f = malloc(sizeof *f + LWS_PRE + len);
    if (f == NULL) return NULL;
    f->refs = 0;
    f->len = len;
    memcpy(f->buf + LWS_PRE, text, len);
    return f;
}

static frame *frame_dump(json_t *j, size_t flags)
{
    if (j == NULL) return NULL;
    char *text = json_dumps(j, flags);
    json_decref(j);
    if (text == NULL) return NULL;
    frame *f = frame_from_text(text, strlen(text));
    free(text);
    return f;
}

static frame *frame_from_json(json_t *j)
{
    return frame_dump(j, JSON_COMPACT);
}

static void frame_unref(frame *f)
{
    if (f != NULL && --f->refs == 0) free(f);
}

static void client_clear_queue(client *c)
{
    while (c->q_n > 0) {
        frame_unref(c->q[c->q_head]);
        c->q_head = (c->q_head + 1) % c->q_cap;
        c->q_n--;
    }
    c->q_bytes = 0;
}

/* Stop sending to a client that fell behind: its queue goes now, the close
 * frame when the socket takes it, the connection at the latest after
 * DROP_GRACE_S. */
static void client_drop(bh_http *s, client *c)
{
    if (c->dropping) return;
    c->dropping = 1;
    client_clear_queue(c);
    atomic_fetch_add(&s->clients_dropped, 1);
    static const char reason[] = "send buffer full";
    lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)reason,
                     sizeof reason - 1);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, DROP_GRACE_S);
    lws_callback_on_writable(c->wsi);
}

/* Queue a frame for a client. A frame that would pass the client's byte
 * bound drops the client instead. Returns 0, or -1 when out of memory. */
static int client_push(bh_http *s, client *c, frame *f)
{
    if (c->dropping) return 0;
    if (c->q_bytes + f->len > s->opt.client_buffer_bytes) {
        client_drop(s, c);
        return 0;
    }
    if (c->q_n == c->q_cap) {
        size_t cap = c->q_cap ? c->q_cap * 2 : 16;
        frame **q = malloc(cap * sizeof *q);
        if (q == NULL) return -1;
        for (size_t i = 0; i < c->q_n; i++)
            q[i] = c->q[(c->q_head + i) % c->q_cap];
        free(c->q);
        c->q = q;
        c->q_cap = cap;
        c->q_head = 0;
    }
    c->q[(c->q_head + c->q_n) % c->q_cap] = f;
    c->q_n++;
    c->q_bytes += f->len;
    f->refs++;
    lws_callback_on_writable(c->wsi);
    return 0;
}

/* Queue a frame built for one client; frees it when nobody took it. */
static void client_send_own(bh_http *s, client *c, frame *f)
{
    if (f == NULL) return;
    if (client_push(s, c, f) != 0 || f->refs == 0) free(f);
}

static void client_send_error(bh_http *s, client *c, const char *code, const char *msg)
{
    client_send_own(s, c,
                    frame_from_json(json_pack("{s:s, s:s, s:s}", "type", "error", "error", code,
                                              "message", msg)));
}

/* ------------------------------------------------------------- snapshots */

static void names_update(bh_http *s, const json_t *snap)
{
    size_t i, n = 0;
    const json_t *ch;
    json_array_foreach(json_object_get(snap, "chains"), i, ch)
    {
        const json_t *id = json_object_get(ch, "bridge_id");
        const json_t *name = json_object_get(ch, "name");
        if (n == sizeof s->names / sizeof s->names[0]) break;
        if (!json_is_integer(id) || !json_is_string(name)) continue;
        s->names[n].id = (uint16_t)json_integer_value(id);
        copy_str(s->names[n].name, NAME_MAX_, json_string_value(name));
        n++;
    }
    if (n > 0) s->n_names = n;
}

static const char *name_of(const bh_http *s, uint16_t id)
{
    for (size_t i = 0; i < s->n_names; i++)
        if (s->names[i].id == id) return s->names[i].name;
    return NULL;
}

static void stats_json(bh_http *s, json_t *snap)
{
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "clients", (json_int_t)atomic_load(&s->n_clients),
                  "events_published", (json_int_t)atomic_load(&s->published), "events_dropped",
                  (json_int_t)atomic_load(&s->dropped), "clients_dropped",
                  (json_int_t)atomic_load(&s->clients_dropped), "clients_refused",
                  (json_int_t)atomic_load(&s->refused));
    if (o != NULL) json_object_set_new(snap, "operator", o);
}

/* Endpoint URLs may carry provider API keys: never serve them whole. */
static void redact_endpoints(json_t *snap)
{
    size_t i, j;
    json_t *ch, *ep;
    json_array_foreach(json_object_get(snap, "chains"), i, ch)
    {
        json_array_foreach(json_object_get(ch, "endpoints"), j, ep)
        {
            const json_t *url = json_object_get(ep, "url");
            if (!json_is_string(url)) continue;
            char red[512];
            bh_metrics_redact_url(red, sizeof red, json_string_value(url));
            json_object_set_new(ep, "url", jstr(red));
        }
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The snapshot with the server's counters, borrowed until the next call,
 * or NULL (err says why). Unless `fresh`, one taken less than
 * SNAPSHOT_REUSE_MS ago is served again: a flood of connects or scrapes
 * costs the node one snapshot a second at most. */
static json_t *snapshot_get(bh_http *s, int fresh, char *err, size_t err_cap)
{
    uint64_t now = mono_ms();
    if (!fresh && s->cache != NULL && now - s->cache_ms < SNAPSHOT_REUSE_MS) {
        stats_json(s, s->cache);
        return s->cache;
    }
    json_t *snap = NULL;
    int rc = s->src.snapshot(s->src.ud, &snap);
    if (rc != BH_OK || !json_is_object(snap)) {
        snprintf(err, err_cap, "snapshot unavailable: %s",
                 rc != BH_OK ? bh_strerror(rc) : "not a JSON object");
        json_decref(snap);
        return NULL;
    }
    names_update(s, snap);
    redact_endpoints(snap);
    stats_json(s, snap);
    json_decref(s->cache);
    s->cache = snap;
    s->cache_ms = now;
    return snap;
}

static frame *snapshot_frame(bh_http *s, int fresh, char *err, size_t err_cap)
{
    json_t *snap = snapshot_get(s, fresh, err, err_cap);
    if (snap == NULL) return NULL;
    json_t *msg = json_pack("{s:s}", "type", "snapshot");
    if (msg == NULL || json_object_update(msg, snap) != 0) {
        json_decref(msg);
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    frame *f = frame_from_json(msg);
    if (f == NULL) snprintf(err, err_cap, "out of memory");
    return f;
}

static void broadcast_snapshot(bh_http *s)
{
    char err[160];
    frame *f = snapshot_frame(s, 1, err, sizeof err);
    if (f == NULL) return;
    for (client *c = s->clients; c != NULL; c = c->next)
        (void)client_push(s, c, f);
    if (f->refs == 0) free(f);
}

static void sul_snapshot(lws_sorted_usec_list_t *sul)
{
    bh_http *s = lws_container_of(sul, bh_http, sul);
    if (s->clients != NULL) broadcast_snapshot(s);
    lws_sul_schedule(s->ctx, 0, &s->sul, sul_snapshot,
                     (lws_usec_t)s->opt.snapshot_interval_s * LWS_US_PER_SEC);
}

/* ---------------------------------------------------------------- events */

static int hash_is_zero(const bh_hash32 *h)
{
    unsigned char z = 0;
    for (size_t i = 0; i < sizeof h->data; i++)
        z |= h->data[i];
    return z == 0;
}

static void set_chain(json_t *o, const bh_http *s, const char *id_key, const char *name_key,
                      uint16_t id)
{
    json_object_set_new(o, id_key, json_integer(id));
    const char *name = name_of(s, id);
    if (name != NULL) json_object_set_new(o, name_key, json_string(name));
}

static frame *event_frame(const bh_http *s, const ev_rec *e, int history)
{
    /* "history" right after "type": a client matching a frame's start
     * ({"type":"event","kind":"delivered") never takes a past event for a
     * live one */
    json_t *o = history ? json_pack("{s:s, s:b}", "type", "event", "history", 1)
                        : json_pack("{s:s}", "type", "event");
    if (o == NULL || json_object_set_new(o, "kind", json_string(kind_name(e->kind))) != 0 ||
        json_object_set_new(o, "seq", json_integer((json_int_t)e->seq)) != 0 ||
        json_object_set_new(o, "time", json_integer((json_int_t)e->time)) != 0) {
        json_decref(o);
        return NULL;
    }
    if (e->vault[0]) json_object_set_new(o, "vault", jstr(e->vault));
    if (e->kind == BH_NODE_EV_QUARANTINED || e->kind == BH_NODE_EV_LIMITS) {
        if (e->from_chain) set_chain(o, s, "chain_id", "chain", e->from_chain);
    } else if (e->kind == BH_NODE_EV_PORTAL) { /* whose Portal, and which lane */
        set_chain(o, s, "chain_id", "chain", e->from_chain);
        if (e->to_chain) set_chain(o, s, "to_chain_id", "to_chain", e->to_chain);
    } else if (e->from_chain != 0) { /* about one message */
        set_chain(o, s, "from_chain", "from", e->from_chain);
        set_chain(o, s, "to_chain", "to", e->to_chain);
        json_object_set_new(o, "sequence", json_integer((json_int_t)e->sequence));
        char amount[BH_U128_DEC_MAX];
        bh_u128_to_dec(amount, e->amount);
        json_object_set_new(o, "amount", json_string(amount));
        if (e->symbol[0]) json_object_set_new(o, "symbol", jstr(e->symbol));
        if (!hash_is_zero(&e->digest)) {
            char hex[2 + 64 + 1] = "0x";
            bh_hex_encode(hex + 2, e->digest.data, sizeof e->digest.data);
            json_object_set_new(o, "digest", json_string(hex));
        }
        if (!hash_is_zero(&e->tx)) {
            char hex[2 + 64 + 1] = "0x";
            bh_hex_encode(hex + 2, e->tx.data, sizeof e->tx.data);
            json_object_set_new(o, "tx", json_string(hex));
        }
    }
    if ((e->kind == BH_NODE_EV_REJECTED || e->kind == BH_NODE_EV_HELD) && e->reason != BH_REJECT_OK)
        json_object_set_new(o, "reason", json_string(bh_reject_name(e->reason)));
    if (e->detail[0]) json_object_set_new(o, "detail", jstr(e->detail));
    return frame_from_json(o);
}

static int sub_has(const client *c, const char *name)
{
    if (name == NULL || name[0] == '\0') return 0;
    for (size_t i = 0; i < c->n_chains; i++)
        if (strcmp(c->chains[i], name) == 0) return 1;
    return 0;
}

static int client_wants(const bh_http *s, const client *c, const ev_rec *e)
{
    if (c->dropping) return 0;
    if (c->kinds != 0 && !(c->kinds & (1u << e->kind))) return 0;
    if (c->n_chains == 0) return 1;
    return sub_has(c, e->vault) || (e->from_chain && sub_has(c, name_of(s, e->from_chain))) ||
           (e->to_chain && sub_has(c, name_of(s, e->to_chain)));
}

static void fan_out(bh_http *s, const ev_rec *e)
{
    frame *f = NULL;
    for (client *c = s->clients; c != NULL; c = c->next) {
        if (!client_wants(s, c, e)) continue;
        if (f == NULL && (f = event_frame(s, e, 0)) == NULL) return;
        (void)client_push(s, c, f);
    }
    if (f != NULL && f->refs == 0) free(f);
}

/* Keep a fanned-out event for clients that connect later; the oldest goes
 * when the ring is full. Service thread only, so publishers never wait. */
static void history_add(bh_http *s, const ev_rec *e)
{
    size_t cap = s->opt.history_events;
    hist_ent *h;
    if (s->hist_n < cap) {
        h = &s->hist[(s->hist_head + s->hist_n) % cap];
        s->hist_n++;
        atomic_store(&s->hist_count, s->hist_n);
    } else {
        h = &s->hist[s->hist_head];
        s->hist_head = (s->hist_head + 1) % cap;
    }
    frame_unref(h->f);
    h->f = NULL;
    h->e = *e;
}

/* After a new client's snapshot: the ring's events it subscribes to,
 * oldest first. Only the newest that fit in a quarter of the client's
 * buffer are sent, so history alone never gets a client dropped. */
static void history_send(bh_http *s, client *c)
{
    size_t cap = s->opt.history_events, used = 0;
    size_t budget = s->opt.client_buffer_bytes / 4;
    size_t room = s->opt.client_buffer_bytes - c->q_bytes;
    if (budget > room / 2) budget = room / 2;
    size_t first = s->hist_n; /* index (from the oldest) of the first event sent */
    for (size_t i = s->hist_n; i-- > 0;) {
        hist_ent *h = &s->hist[(s->hist_head + i) % cap];
        if (!client_wants(s, c, &h->e)) continue;
        if (h->f == NULL) {
            if ((h->f = event_frame(s, &h->e, 1)) == NULL) break;
            h->f->refs = 1;
        }
        if (used + h->f->len > budget) break;
        used += h->f->len;
        first = i;
    }
    for (size_t i = first; i < s->hist_n; i++) {
        hist_ent *h = &s->hist[(s->hist_head + i) % cap];
        if (h->f != NULL && client_wants(s, c, &h->e) && client_push(s, c, h->f) != 0) return;
    }
}

/* --------------------------------------------------------------- samples */

/* Samples carry whole-token amounts as floats: 7 significant digits, what
 * a float holds, and short frames. */
static frame *samples_frame(bh_http *s, const char *type, size_t newest)
{
    return frame_dump(bh_hist_json(s->samples, type, newest),
                      JSON_COMPACT | JSON_REAL_PRECISION(7));
}

/* After a new client's snapshot, when it asked for them: every sample kept,
 * or the newest that fit in a quarter of its buffer (as the history). */
static void samples_send(bh_http *s, client *c)
{
    size_t n = bh_hist_count(s->samples);
    if (n == 0) return;
    size_t budget = s->opt.client_buffer_bytes / 4;
    size_t room = s->opt.client_buffer_bytes - c->q_bytes;
    if (budget > room / 2) budget = room / 2;
    if (s->samples_f == NULL && (s->samples_f = samples_frame(s, "samples", n)) != NULL)
        s->samples_f->refs = 1; /* the cache's reference, until the next sample */
    if (s->samples_f == NULL) return;
    if (s->samples_f->len <= budget) {
        (void)client_push(s, c, s->samples_f);
        return;
    }
    /* cut to the newest samples that fit: frames grow about linearly */
    size_t k = (size_t)((double)n * (double)budget / (double)s->samples_f->len * 0.9);
    while (k > 0) {
        frame *f = samples_frame(s, "samples", k);
        if (f == NULL) return;
        if (f->len <= budget) {
            client_send_own(s, c, f);
            return;
        }
        free(f);
        k = k * 3 / 4;
    }
}

static void sul_sample(lws_sorted_usec_list_t *sul)
{
    bh_http *s = lws_container_of(sul, bh_http, sample_sul);
    char err[160];
    json_t *snap = snapshot_get(s, 0, err, sizeof err);
    if (snap != NULL) { /* none when the node cannot say: a gap in the charts */
        const json_t *t = json_object_get(snap, "time");
        uint64_t now = json_is_integer(t) ? (uint64_t)json_integer_value(t) : (uint64_t)time(NULL);
        bh_hist_sample(s->samples, snap, now);
        atomic_store(&s->samples_count, bh_hist_count(s->samples));
        frame_unref(s->samples_f);
        s->samples_f = NULL;
        frame *f = NULL;
        for (client *c = s->clients; c != NULL; c = c->next) {
            if (!c->samples || c->dropping) continue;
            if (f == NULL && (f = samples_frame(s, "sample", 1)) == NULL) break;
            (void)client_push(s, c, f);
        }
        if (f != NULL && f->refs == 0) free(f);
    }
    lws_sul_schedule(s->ctx, 0, &s->sample_sul, sul_sample,
                     (lws_usec_t)s->opt.sample_interval_s * LWS_US_PER_SEC);
}

/* What the samples learn from an event: when a transfer was accepted and
 * when delivered, for the latency. */
static void samples_event(bh_http *s, const ev_rec *e)
{
    if (hash_is_zero(&e->digest)) return;
    if (e->kind == BH_NODE_EV_ACCEPTED)
        bh_hist_accepted(s->samples, &e->digest, e->at_ms);
    else if (e->kind == BH_NODE_EV_DELIVERED)
        bh_hist_delivered(s->samples, &e->digest, e->at_ms);
}

/* Fan out at most DRAIN_CHUNK events per service pass. A pass runs the
 * due timers (this), then polls and writes to every socket that can take
 * data: so a burst reaches the clients chunk by chunk and does not pile up
 * whole in every client's queue before the first write. */
static void drain_events(lws_sorted_usec_list_t *sul)
{
    bh_http *s = lws_container_of(sul, bh_http, drain_sul);
    for (int budget = DRAIN_CHUNK; budget > 0; budget--) {
        if (s->drain_pos == s->drain_n) {
            pthread_mutex_lock(&s->mu);
            if (s->n_pub == 0) {
                s->wake_pending = 0; /* publishers wake us again from now on */
                pthread_mutex_unlock(&s->mu);
                return;
            }
            ev_rec *batch = s->pub;
            s->pub = s->drain;
            s->drain = batch;
            s->drain_n = s->n_pub;
            s->n_pub = 0;
            pthread_mutex_unlock(&s->mu);
            s->drain_pos = 0;
        }
        fan_out(s, &s->drain[s->drain_pos]);
        samples_event(s, &s->drain[s->drain_pos]);
        history_add(s, &s->drain[s->drain_pos++]);
    }
    lws_sul_schedule(s->ctx, 0, &s->drain_sul, drain_events, 1);
}

void bh_http_publish(bh_http *s, const bh_node_event *ev)
{
    if (s == NULL || ev == NULL) return;
    pthread_mutex_lock(&s->mu);
    if (!s->accepting) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    atomic_fetch_add(&s->published, 1);
    /* the sequence number counts dropped events too: a gap tells a client
     * that it missed some */
    uint64_t seq = ++s->next_seq;
    if (s->n_pub == s->opt.queue_events) {
        atomic_fetch_add(&s->dropped, 1);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    ev_rec *e = &s->pub[s->n_pub++];
    e->seq = seq;
    e->kind = ev->kind;
    e->time = ev->time;
    copy_str(e->vault, sizeof e->vault, ev->vault);
    e->from_chain = ev->from_chain;
    e->to_chain = ev->to_chain;
    e->sequence = ev->sequence;
    e->digest = ev->digest;
    e->amount = ev->amount;
    copy_str(e->symbol, sizeof e->symbol, ev->symbol);
    e->reason = ev->reason;
    copy_str(e->detail, sizeof e->detail, ev->detail);
    e->tx = ev->tx;
    e->at_ms = mono_ms();
    if (!s->wake_pending) {
        s->wake_pending = 1;
        lws_cancel_service(s->ctx);
    }
    pthread_mutex_unlock(&s->mu);
}

void bh_http_observer(void *ud, const bh_node_event *ev)
{
    bh_http_publish(ud, ev);
}

/* ---------------------------------------------------------- subscriptions */

typedef struct {
    char chains[SUB_MAX_CHAINS][NAME_MAX_];
    size_t n_chains;
    unsigned kinds;
    int samples;
} sub;

static int sub_add_chain(sub *u, const char *name, size_t n, char *err, size_t err_cap)
{
    if (n == 0 || n > BH_CONFIG_NAME_MAX) {
        snprintf(err, err_cap, "chain names are 1 to %d characters", BH_CONFIG_NAME_MAX);
        return -1;
    }
    if (u->n_chains == SUB_MAX_CHAINS) {
        snprintf(err, err_cap, "at most %d chains", SUB_MAX_CHAINS);
        return -1;
    }
    memcpy(u->chains[u->n_chains], name, n);
    u->chains[u->n_chains][n] = '\0';
    u->n_chains++;
    return 0;
}

static int sub_add_kind(sub *u, const char *name, size_t n, char *err, size_t err_cap)
{
    int k = kind_from_name(name, n);
    if (k < 0) {
        snprintf(err, err_cap,
                 "unknown kind \"%.*s\"; kinds: accepted, delayed, held, rejected, released, "
                 "delivered, delivery_failed, quarantined, limits, parked",
                 (int)(n > 40 ? 40 : n), name);
        return -1;
    }
    u->kinds |= 1u << k;
    return 0;
}

/* "a,b,c" from a query argument. */
static int sub_parse_list(sub *u, const char *list, int kinds, char *err, size_t err_cap)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            int rc =
                kinds ? sub_add_kind(u, p, n, err, err_cap) : sub_add_chain(u, p, n, err, err_cap);
            if (rc != 0) return -1;
        }
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

static int sub_from_query(struct lws *wsi, sub *u, char *err, size_t err_cap)
{
    char buf[1200];
    const char *v;
    memset(u, 0, sizeof *u);
    if ((v = lws_get_urlarg_by_name(wsi, "chains=", buf, sizeof buf)) != NULL &&
        sub_parse_list(u, v, 0, err, err_cap) != 0)
        return -1;
    if ((v = lws_get_urlarg_by_name(wsi, "kinds=", buf, sizeof buf)) != NULL &&
        sub_parse_list(u, v, 1, err, err_cap) != 0)
        return -1;
    if ((v = lws_get_urlarg_by_name(wsi, "samples=", buf, sizeof buf)) != NULL) {
        if (strcmp(v, "1") != 0 && strcmp(v, "0") != 0) {
            snprintf(err, err_cap, "samples=1 (send the samples) or samples=0");
            return -1;
        }
        u->samples = v[0] == '1';
    }
    return 0;
}

static int sub_from_json(const json_t *req, sub *u, char *err, size_t err_cap)
{
    memset(u, 0, sizeof *u);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)req, key, val)
    {
        int kinds = strcmp(key, "kinds") == 0;
        if (!kinds && strcmp(key, "chains") != 0) {
            snprintf(err, err_cap, "subscribe takes \"chains\" and \"kinds\", not \"%.40s\"", key);
            return -1;
        }
        if (!json_is_array(val)) {
            snprintf(err, err_cap, "subscribe.%s must be an array of strings", key);
            return -1;
        }
        size_t i;
        const json_t *item;
        json_array_foreach(val, i, item)
        {
            if (!json_is_string(item)) {
                snprintf(err, err_cap, "subscribe.%s[%zu] must be a string", key, i);
                return -1;
            }
            const char *sv = json_string_value(item);
            size_t n = json_string_length(item);
            int rc = kinds ? sub_add_kind(u, sv, n, err, err_cap)
                           : sub_add_chain(u, sv, n, err, err_cap);
            if (rc != 0) return -1;
        }
    }
    return 0;
}

static void client_apply_sub(client *c, const sub *u)
{
    memcpy(c->chains, u->chains, sizeof c->chains);
    c->n_chains = u->n_chains;
    c->kinds = u->kinds;
}

static void client_send_subscribed(bh_http *s, client *c)
{
    json_t *chains = json_null(), *kinds = json_null();
    if (c->n_chains > 0) {
        chains = json_array();
        for (size_t i = 0; i < c->n_chains; i++)
            json_array_append_new(chains, jstr(c->chains[i]));
    }
    if (c->kinds != 0) {
        kinds = json_array();
        for (int k = 0; k < BH_NODE_EV_COUNT_; k++)
            if (c->kinds & (1u << k))
                json_array_append_new(kinds, json_string(kind_name((bh_node_event_kind)k)));
    }
    client_send_own(s, c,
                    frame_from_json(json_pack("{s:s, s:o, s:o}", "type", "subscribed", "chains",
                                              chains, "kinds", kinds)));
}

static void client_on_message(bh_http *s, client *c, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL) {
        char msg[256];
        snprintf(msg, sizeof msg, "not JSON (line %d, column %d): %s", jerr.line, jerr.column,
                 jerr.text);
        client_send_error(s, c, "bad_json", msg);
        return;
    }
    const json_t *subj = json_object_get(req, "subscribe");
    if (!json_is_object(req) || json_object_size(req) != 1 || !json_is_object(subj)) {
        client_send_error(s, c, "bad_request",
                          "send {\"subscribe\":{\"chains\":[...],\"kinds\":[...]}}");
        json_decref(req);
        return;
    }
    sub u;
    char err[256];
    if (sub_from_json(subj, &u, err, sizeof err) != 0) {
        client_send_error(s, c, "bad_subscribe", err);
    } else {
        client_apply_sub(c, &u);
        client_send_subscribed(s, c);
    }
    json_decref(req);
}

/* ------------------------------------------------------------------ HTTP */

static int bearer_matches(struct lws *wsi, const char *token, size_t token_len)
{
    char buf[TOKEN_MAX + 64];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n <= 0 || (size_t)n >= sizeof buf ||
        lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
        strncasecmp(buf, "Bearer ", 7) != 0)
        return 0;
    const char *t = buf + 7;
    while (*t == ' ')
        t++;
    size_t tl = strlen(t);
    while (tl > 0 && t[tl - 1] == ' ')
        tl--;
    return ct_equal(t, tl, token, token_len);
}

static int authorized(const bh_http *s, struct lws *wsi, int allow_query)
{
    if (s->token_len == 0) return 1;
    if (bearer_matches(wsi, s->token, s->token_len)) return 1;
    char buf[TOKEN_MAX + 64];
    if (allow_query) {
        const char *v = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf);
        if (v != NULL && ct_equal(v, strlen(v), s->token, s->token_len)) return 1;
    }
    return 0;
}

static void pss_free_body(pss *p)
{
    free(p->owned);
    p->owned = NULL;
    p->body = NULL;
    p->body_len = p->body_off = 0;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Send headers now and the body from HTTP_WRITEABLE. owned is taken over
 * (freed when sent); otherwise data is static. */
static int respond(struct lws *wsi, pss *p, unsigned code, const char *type, char *owned,
                   const unsigned char *data, size_t len)
{
    unsigned char hdr[LWS_PRE + 2048], *h = hdr + LWS_PRE, *end = hdr + sizeof hdr - 1;
    pss_free_body(p);
    p->owned = owned;
    p->body = owned ? (const unsigned char *)owned : data;
    p->body_len = len;
    if (lws_add_http_common_headers(wsi, code, type, (lws_filepos_t)len, &h, end) ||
        add_header(wsi, "cache-control:", "no-store", &h, end) ||
        (code == HTTP_STATUS_UNAUTHORIZED &&
         add_header(wsi, "www-authenticate:", "Bearer realm=\"bulkhead\"", &h, end)) ||
        (p->close_after && add_header(wsi, "connection:", "close", &h, end)) ||
        lws_finalize_write_http_header(wsi, hdr + LWS_PRE, &h, end))
        return -1;
    if (len == 0) {
        pss_free_body(p);
        return p->close_after || lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_text(struct lws *wsi, pss *p, unsigned code, const char *text)
{
    char *body = strdup(text);
    if (body == NULL) return -1;
    return respond(wsi, p, code, "text/plain; charset=utf-8", body, NULL, strlen(body));
}

static int respond_json(struct lws *wsi, pss *p, unsigned code, json_t *j)
{
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (body == NULL) return -1;
    return respond(wsi, p, code, "application/json", body, NULL, strlen(body));
}

static int http_write_more(struct lws *wsi, pss *p)
{
    if (p->body == NULL) return 0;
    unsigned char buf[LWS_PRE + HTTP_CHUNK];
    size_t left = p->body_len - p->body_off;
    size_t n = left < HTTP_CHUNK ? left : HTTP_CHUNK;
    int last = n == left;
    memcpy(buf + LWS_PRE, p->body + p->body_off, n);
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    p->body_off += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    pss_free_body(p);
    return p->close_after || lws_http_transaction_completed(wsi) ? -1 : 0;
}

static const bh_web_asset *asset_for(const char *path)
{
    if (strcmp(path, "/") == 0) path = "/index.html";
    for (size_t i = 0; i < bh_web_n_assets; i++)
        if (strcmp(bh_web_assets[i].path, path) == 0) return &bh_web_assets[i];
    return NULL;
}

static int serve_metrics(bh_http *s, struct lws *wsi, pss *p)
{
    char err[160];
    json_t *snap = snapshot_get(s, 0, err, sizeof err);
    if (snap == NULL) return respond_text(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, err);
    char *text = NULL;
    size_t len = 0;
    int rc = bh_metrics_render(&text, &len, snap);
    if (rc != BH_OK) return respond_text(wsi, p, HTTP_STATUS_INTERNAL_SERVER_ERROR, "no memory");
    return respond(wsi, p, HTTP_STATUS_OK, BH_METRICS_CONTENT_TYPE, text, NULL, len);
}

static int serve_ready(bh_http *s, struct lws *wsi, pss *p)
{
    char why[512] = "";
    if (s->src.ready == NULL || s->src.ready(s->src.ud, why, sizeof why) == 1) {
        /* ready, possibly with warnings (an outvoted endpoint) */
        char body[600];
        why[sizeof why - 1] = '\0';
        snprintf(body, sizeof body, "ready\n%s%s%s", why[0] ? "warning: " : "", why,
                 why[0] ? "\n" : "");
        return respond_text(wsi, p, HTTP_STATUS_OK, body);
    }
    why[sizeof why - 1] = '\0';
    return respond_json(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE,
                        json_pack("{s:b, s:s}", "ready", 0, "reason", why[0] ? why : "not ready"));
}

/* ---------------------------------------------------------- admin API */

static void *admin_main(void *arg)
{
    bh_http *s = arg;
    pthread_mutex_lock(&s->admin_mu);
    for (;;) {
        while (!s->admin_stop && (s->job == NULL || s->job->done || s->job->req == NULL))
            pthread_cond_wait(&s->admin_cv, &s->admin_mu);
        if (s->admin_stop) break;
        admin_job *j = s->job;
        json_t *req = j->req;
        j->req = NULL;
        pthread_mutex_unlock(&s->admin_mu);
        unsigned status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
        json_t *resp = NULL;
        s->src.admin(s->src.admin_ud, j->path, req, &status, &resp);
        json_decref(req);
        pthread_mutex_lock(&s->admin_mu);
        j->status = status;
        j->resp = resp;
        j->done = 1;
        if (s->ctx) lws_cancel_service(s->ctx);
    }
    pthread_mutex_unlock(&s->admin_mu);
    return NULL;
}

static void admin_job_free(admin_job *j)
{
    if (j == NULL) return;
    json_decref(j->req);
    json_decref(j->resp);
    free(j);
}

static void admin_thread_stop(bh_http *s)
{
    if (!s->admin_started) return;
    pthread_mutex_lock(&s->admin_mu);
    s->admin_stop = 1;
    pthread_cond_signal(&s->admin_cv);
    pthread_mutex_unlock(&s->admin_mu);
    pthread_join(s->admin_thread, NULL);
    s->admin_started = 0;
}

/* Service thread, on a wake-up: a finished job gets its answer written,
 * or is freed when its connection went away. */
static void admin_poll(bh_http *s)
{
    if (!s->admin_started) return;
    pthread_mutex_lock(&s->admin_mu);
    admin_job *j = s->job;
    if (j != NULL && j->done) {
        if (j->wsi != NULL)
            lws_callback_on_writable(j->wsi);
        else {
            s->job = NULL;
            admin_job_free(j);
        }
    }
    pthread_mutex_unlock(&s->admin_mu);
}

static int admin_error(struct lws *wsi, pss *p, unsigned code, const char *error,
                       const char *message)
{
    return respond_json(wsi, p, code,
                        json_pack("{s:b, s:s, s:s}", "ok", 0, "error", error, "message", message));
}

/* The request line and headers of POST /admin/...: refused here, or the
 * body is awaited. */
static int admin_begin(bh_http *s, struct lws *wsi, pss *p, const char *path)
{
    p->close_after = 1;
    if (s->admin_token_len == 0 || s->src.admin == NULL)
        return admin_error(wsi, p, HTTP_STATUS_NOT_FOUND, "admin_disabled",
                           "no admin API: the node's config sets no metrics.admin_token_file "
                           "or metrics.admin_token_env");
    if (!bearer_matches(wsi, s->admin_token, s->admin_token_len))
        return admin_error(wsi, p, HTTP_STATUS_UNAUTHORIZED, "unauthorized",
                           "missing or wrong admin bearer token");
    if (strlen(path) >= sizeof p->admin_path)
        return admin_error(wsi, p, HTTP_STATUS_NOT_FOUND, "not_found", "no such admin path");
    char cl[32] = "";
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        strtoull(cl, NULL, 10) > BH_HTTP_MAX_ADMIN_BODY)
        return admin_error(wsi, p, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, "too_big",
                           "request body above 65536 bytes");
    p->admin = 1;
    snprintf(p->admin_path, sizeof p->admin_path, "%s", path);
    p->rx_len = 0;
    p->rx_too_big = 0;
    return 0;
}

static int admin_body(pss *p, const void *in, size_t len)
{
    if (!p->admin || p->rx_too_big) return 0;
    if (p->rx_len + len > BH_HTTP_MAX_ADMIN_BODY) {
        p->rx_too_big = 1;
        return 0;
    }
    char *nb = realloc(p->rx, p->rx_len + len + 1);
    if (nb == NULL) return -1;
    p->rx = nb;
    memcpy(p->rx + p->rx_len, in, len);
    p->rx_len += len;
    return 0;
}

static int admin_complete(bh_http *s, struct lws *wsi, pss *p)
{
    if (!p->admin) return 0;
    p->admin = 0; /* what follows on this connection is not this request's */
    if (p->rx_too_big)
        return admin_error(wsi, p, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, "too_big",
                           "request body above 65536 bytes");
    json_error_t je;
    json_t *req = p->rx ? json_loadb(p->rx, p->rx_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    free(p->rx);
    p->rx = NULL;
    if (!json_is_object(req)) {
        json_decref(req);
        return admin_error(wsi, p, HTTP_STATUS_BAD_REQUEST, "bad_request",
                           "the body must be one JSON object");
    }
    admin_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        json_decref(req);
        return -1;
    }
    j->wsi = wsi;
    j->p = p;
    j->req = req;
    snprintf(j->path, sizeof j->path, "%s", p->admin_path);
    pthread_mutex_lock(&s->admin_mu);
    int busy = s->job != NULL;
    if (!busy) {
        s->job = j;
        p->job = j;
        pthread_cond_signal(&s->admin_cv);
    }
    pthread_mutex_unlock(&s->admin_mu);
    if (busy) {
        admin_job_free(j);
        return admin_error(wsi, p, HTTP_STATUS_SERVICE_UNAVAILABLE, "busy",
                           "another admin action is running; try again");
    }
    return 0;
}

/* HTTP_WRITEABLE of a connection whose job is done: its answer. Returns
 * 1 when it was not this connection's turn to answer a job. */
static int admin_answer(bh_http *s, struct lws *wsi, pss *p, int *rc)
{
    if (p->job == NULL) return 1;
    pthread_mutex_lock(&s->admin_mu);
    admin_job *j = p->job;
    int done = j->done;
    if (done) {
        s->job = NULL;
        p->job = NULL;
    }
    pthread_mutex_unlock(&s->admin_mu);
    if (!done) {
        *rc = 0;
        return 0;
    }
    json_t *resp = j->resp;
    j->resp = NULL;
    unsigned status = j->status;
    admin_job_free(j);
    if (resp == NULL) resp = json_pack("{s:b, s:s}", "ok", 0, "error", "internal");
    *rc = respond_json(wsi, p, status, resp);
    return 0;
}

static void admin_closed(bh_http *s, pss *p)
{
    free(p->rx);
    p->rx = NULL;
    if (p->job == NULL) return;
    pthread_mutex_lock(&s->admin_mu);
    admin_job *j = p->job;
    p->job = NULL;
    if (j->done) {
        s->job = NULL;
        admin_job_free(j);
    } else {
        j->wsi = NULL; /* the admin thread finishes it; admin_poll frees it */
        j->p = NULL;
    }
    pthread_mutex_unlock(&s->admin_mu);
}

/* A Host header's name (port and IPv6 brackets taken off) is an address
 * or localhost. No Host (HTTP/1.0) is no browser's request. */
static int host_is_address(struct lws *wsi)
{
    char h[256];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HOST);
    if (n <= 0) return 1;
    if ((size_t)n >= sizeof h || lws_hdr_copy(wsi, h, sizeof h, WSI_TOKEN_HOST) <= 0) return 0;
    char *name = h, *port = NULL;
    if (h[0] == '[') {
        char *e = strchr(h, ']');
        if (e == NULL || (e[1] != '\0' && e[1] != ':')) return 0;
        *e = '\0';
        name = h + 1;
        port = e[1] ? e + 2 : NULL;
    } else if ((port = strchr(h, ':')) != NULL) {
        *port++ = '\0';
    }
    if (port && (!*port || strspn(port, "0123456789") != strlen(port))) return 0;
    unsigned char a[16];
    return strcasecmp(name, "localhost") == 0 || inet_pton(AF_INET, name, a) == 1 ||
           inet_pton(AF_INET6, name, a) == 1;
}

/* 1 if the server listens on a loopback address only. */
static int bind_is_loopback(const char *bind)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, bind, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, bind, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* On loopback without a read token, only requests whose Host is an
 * address: a page whose DNS name an attacker points at 127.0.0.1 (DNS
 * rebinding) is same-origin with this server for the browser and would
 * read it all. With a token such a page still has none; a server exposed
 * on purpose without one is readable by its network anyway (and scraped
 * by name). */
static int host_ok(const bh_http *s, struct lws *wsi)
{
    return s->token_len > 0 || !bind_is_loopback(s->bind) || host_is_address(wsi);
}

/* A websocket is not bound by the same-origin rule: a browser's upgrade
 * (it sends Origin) must come from a page of this server, so no other
 * site the operator has open reads the node through the browser. */
static int origin_ok(struct lws *wsi)
{
    char o[256], h[256];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (n <= 0) return 1; /* no browser */
    if ((size_t)n >= sizeof o || lws_hdr_copy(wsi, o, sizeof o, WSI_TOKEN_ORIGIN) <= 0 ||
        lws_hdr_copy(wsi, h, sizeof h, WSI_TOKEN_HOST) <= 0)
        return 0;
    const char *rest = strncasecmp(o, "http://", 7) == 0    ? o + 7
                       : strncasecmp(o, "https://", 8) == 0 ? o + 8
                                                            : NULL;
    return rest != NULL && strcasecmp(rest, h) == 0;
}

static int on_http(bh_http *s, struct lws *wsi, pss *p, const char *path)
{
    /* Pipelined behind an admin request: ignored; its answer closes. */
    if (p->close_after) return 0;
    int is_admin = strncmp(path, "/admin/", 7) == 0;
    /* the admin API asks for its own token, which a rebinding page lacks */
    if (!is_admin && !host_ok(s, wsi))
        return respond_text(wsi, p, 421,
                            "Host is not an address: with no read token this server answers "
                            "requests to its address or localhost only\n");
    if (is_admin && lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
        return admin_begin(s, wsi, p, path);
    if (is_admin) p->close_after = 1;
    if (is_admin)
        return admin_error(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED, "bad_method",
                           "the admin API takes POST");
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return respond_text(wsi, p, HTTP_STATUS_METHOD_NOT_ALLOWED, "only GET\n");
    if (strcmp(path, "/healthz") == 0) return respond_text(wsi, p, HTTP_STATUS_OK, "ok\n");
    if (strcmp(path, "/readyz") == 0) return serve_ready(s, wsi, p);
    if (strcmp(path, "/metrics") == 0) {
        if (!authorized(s, wsi, 0))
            return respond_text(wsi, p, HTTP_STATUS_UNAUTHORIZED,
                                "missing or wrong bearer token\n");
        return serve_metrics(s, wsi, p);
    }
    if (strcmp(path, "/ws") == 0)
        return respond_text(wsi, p, 426, "/ws is a websocket: connect with a websocket client\n");
    const bh_web_asset *a = asset_for(path);
    if (a != NULL) return respond(wsi, p, HTTP_STATUS_OK, a->type, NULL, a->data, a->len);
    return respond_text(wsi, p, HTTP_STATUS_NOT_FOUND, "not found\n");
}

/* Before the 101: path, token, client limit and the query's subscription
 * are checked. Returns 0 to upgrade, 1 when a refusal was sent. */
static int on_confirm_upgrade(bh_http *s, struct lws *wsi)
{
    char uri[64] = "";
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws") != 0) {
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "the websocket is at /ws");
        return 1;
    }
    if (!host_ok(s, wsi)) {
        lws_return_http_status(wsi, 421, "Host is not an address (no read token is set)");
        return 1;
    }
    if (!origin_ok(wsi)) {
        lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, "Origin is not this server");
        return 1;
    }
    if (!authorized(s, wsi, 1)) {
        lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, "missing or wrong token");
        return 1;
    }
    if (atomic_load(&s->n_clients) >= s->opt.max_clients) {
        atomic_fetch_add(&s->refused, 1);
        lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "too many clients");
        return 1;
    }
    sub u;
    char err[256];
    if (sub_from_query(wsi, &u, err, sizeof err) != 0) {
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, err);
        return 1;
    }
    return 0;
}

/* After the upgrade was confirmed: the ws connection's own user space
 * (the HTTP one may not exist) takes the query's subscription. */
static int on_filter_connection(struct lws *wsi, pss *p)
{
    sub u;
    char err[256];
    if (p == NULL || sub_from_query(wsi, &u, err, sizeof err) != 0) return -1;
    memcpy(p->q_chains, u.chains, sizeof p->q_chains);
    p->q_n_chains = u.n_chains;
    p->q_kinds = u.kinds;
    p->q_samples = u.samples;
    return 0;
}

/* ------------------------------------------------------------- websocket */

static int on_established(bh_http *s, struct lws *wsi, pss *p)
{
    client *c = calloc(1, sizeof *c);
    if (c == NULL) return -1;
    c->wsi = wsi;
    memcpy(c->chains, p->q_chains, sizeof c->chains);
    c->n_chains = p->q_n_chains;
    c->kinds = p->q_kinds;
    c->samples = p->q_samples;
    c->next = s->clients;
    if (s->clients) s->clients->prev = c;
    s->clients = c;
    p->c = c;
    atomic_fetch_add(&s->n_clients, 1);

    char err[160];
    frame *f = snapshot_frame(s, 0, err, sizeof err);
    if (f != NULL)
        client_send_own(s, c, f);
    else
        client_send_error(s, c, "snapshot_unavailable", err);
    if (c->samples) samples_send(s, c);
    history_send(s, c);
    return 0;
}

static void on_closed(bh_http *s, pss *p)
{
    client *c = p->c;
    if (c == NULL) return;
    client_clear_queue(c);
    free(c->q);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c);
    p->c = NULL;
    atomic_fetch_sub(&s->n_clients, 1);
}

/* Write queued frames while the socket takes them (lws buffers a partial
 * write itself and reports the pipe choked until it is flushed). */
static int on_ws_writeable(bh_http *s, struct lws *wsi, client *c)
{
    if (c->dropping) return -1; /* lws sends the close frame set by client_drop */
    while (c->q_n > 0) {
        frame *f = c->q[c->q_head];
        c->q_head = (c->q_head + 1) % c->q_cap;
        c->q_n--;
        c->q_bytes -= f->len;
        int m = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
        size_t len = f->len;
        frame_unref(f);
        if (m < (int)len) return -1;
        atomic_fetch_add(&s->frames_sent, 1);
        if (lws_send_pipe_choked(wsi)) break;
    }
    if (c->q_n > 0) lws_callback_on_writable(wsi);
    return 0;
}

static int close_with(struct lws *wsi, enum lws_close_status code, const char *why)
{
    lws_close_reason(wsi, code, (unsigned char *)why, strlen(why));
    return -1;
}

static int on_receive(bh_http *s, struct lws *wsi, client *c, const void *in, size_t len)
{
    if (c->dropping) return 0;
    if (lws_frame_is_binary(wsi))
        return close_with(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
    size_t remaining = lws_remaining_packet_payload(wsi);
    if (c->rx_len + len + remaining > BH_HTTP_MAX_RX)
        return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                          "message too big (max 4096 bytes)");
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (remaining > 0 || !lws_is_final_fragment(wsi)) return 0;
    client_on_message(s, c, c->rx, c->rx_len);
    c->rx_len = 0;
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    bh_http *s = lws_context_user(lws_get_context(wsi));
    pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s != NULL && s->ctx != NULL) {
            lws_sul_schedule(s->ctx, 0, &s->drain_sul, drain_events, 1);
            admin_poll(s);
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        return on_http(s, wsi, p, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        return p ? admin_body(p, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return p ? admin_complete(s, wsi, p) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        int rc = 0;
        if (p != NULL && p->body == NULL && admin_answer(s, wsi, p, &rc) == 0) return rc;
        return http_write_more(wsi, p);
    }
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (p != NULL) {
            pss_free_body(p);
            admin_closed(s, p);
        }
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (in == NULL || strcmp(in, "websocket") != 0) return -1;
        return on_confirm_upgrade(s, wsi);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_filter_connection(wsi, p);
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(s, wsi, p);
    case LWS_CALLBACK_CLOSED:
        on_closed(s, p);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return p->c ? on_ws_writeable(s, wsi, p->c) : -1;
    case LWS_CALLBACK_RECEIVE:
        return p->c ? on_receive(s, wsi, p->c, in, len) : -1;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* One protocol serves HTTP and the websocket: a browser's WebSocket sends
 * no subprotocol, and lws hands such upgrades to the first protocol. */
static const struct lws_protocols protocols[] = {
    {"bulkhead", callback, sizeof(pss), BH_HTTP_MAX_RX, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const lws_retry_bo_t retry = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 60,
};

/* ------------------------------------------------------------- lifecycle */

static int token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n > TOKEN_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f) return 0;
    return 1;
}

int bh_http_create(bh_http **out, char *err, size_t err_cap, const bh_http_options *opt,
                   const bh_http_source *src)
{
    if (err_cap) err[0] = '\0';
    if (out == NULL) return BH_EINVAL;
    *out = NULL;
    if (src == NULL || src->snapshot == NULL) {
        snprintf(err, err_cap, "a snapshot source is required");
        return BH_EINVAL;
    }
    bh_http_options o = opt ? *opt : (bh_http_options){0};
    const char *bind = o.bind ? o.bind : "127.0.0.1";
    unsigned char addr[sizeof(struct in6_addr)];
    if (strlen(bind) >= INET6_ADDRSTRLEN ||
        (inet_pton(AF_INET, bind, addr) != 1 && inet_pton(AF_INET6, bind, addr) != 1)) {
        snprintf(err, err_cap, "bind: \"%.64s\" is not an IP address (e.g. 127.0.0.1)", bind);
        return BH_EINVAL;
    }
    const char *token = o.token ? o.token : "";
    if (!token_ok(token)) {
        snprintf(err, err_cap, "token: at most %d printable characters without spaces", TOKEN_MAX);
        return BH_EINVAL;
    }
    const char *admin_token = o.admin_token ? o.admin_token : "";
    if (!token_ok(admin_token)) {
        snprintf(err, err_cap, "admin token: at most %d printable characters without spaces",
                 TOKEN_MAX);
        return BH_EINVAL;
    }
    if (o.max_clients == 0) o.max_clients = DEFAULT_MAX_CLIENTS;
    if (o.snapshot_interval_s == 0) o.snapshot_interval_s = DEFAULT_INTERVAL_S;
    if (o.client_buffer_bytes == 0) o.client_buffer_bytes = DEFAULT_CLIENT_BUFFER;
    if (o.client_buffer_bytes < MIN_CLIENT_BUFFER) o.client_buffer_bytes = MIN_CLIENT_BUFFER;
    if (o.queue_events == 0) o.queue_events = DEFAULT_QUEUE;
    if (o.history_events == 0) o.history_events = DEFAULT_HISTORY;
    if (o.history_events > MAX_HISTORY) o.history_events = MAX_HISTORY;
    if (o.sample_interval_s == 0) o.sample_interval_s = DEFAULT_SAMPLE_S;
    if (o.samples_kept == 0) o.samples_kept = BH_HIST_DEFAULT_SAMPLES;
    if (o.samples_kept > BH_HIST_MAX_SAMPLES) o.samples_kept = BH_HIST_MAX_SAMPLES;

    bh_http *s = calloc(1, sizeof *s);
    if (s == NULL) return BH_ENOMEM;
    s->pub = calloc(o.queue_events, sizeof *s->pub);
    s->drain = calloc(o.queue_events, sizeof *s->drain);
    s->hist = calloc(o.history_events, sizeof *s->hist);
    s->samples = bh_hist_create(o.sample_interval_s, o.samples_kept);
    if (s->pub == NULL || s->drain == NULL || s->hist == NULL || s->samples == NULL ||
        pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->pub);
        free(s->drain);
        free(s->hist);
        bh_hist_destroy(s->samples);
        free(s);
        return BH_ENOMEM;
    }
    s->opt = o;
    snprintf(s->bind, sizeof s->bind, "%s", bind);
    s->opt.bind = s->bind;
    snprintf(s->token, sizeof s->token, "%s", token);
    s->token_len = strlen(s->token);
    s->opt.token = NULL;
    snprintf(s->admin_token, sizeof s->admin_token, "%s", admin_token);
    s->admin_token_len = strlen(s->admin_token);
    s->opt.admin_token = NULL;
    pthread_mutex_init(&s->admin_mu, NULL);
    pthread_cond_init(&s->admin_cv, NULL);
    s->src = *src;
    *out = s;
    return BH_OK;
}

/* Ask the kernel first so a refusal names its cause (lws only says no). */
static int probe_bind(const char *ip, uint16_t port, char *err, size_t err_cap)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        sl = sizeof *a4;
    } else {
        (void)inet_pton(AF_INET6, ip, &a6->sin6_addr);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        sl = sizeof *a6;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_cap, "socket: %s", strerror(errno));
        return BH_EIO;
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, (struct sockaddr *)&ss, sl);
    int e = errno;
    close(fd);
    if (rc != 0) {
        snprintf(err, err_cap, "cannot listen on %s port %u: %s", ip, port, strerror(e));
        return BH_EIO;
    }
    return BH_OK;
}

/* libwebsockets' own warnings and errors, as structured log lines. */
static void lws_log_line(int level, const char *line)
{
    char text[512], q[600];
    snprintf(text, sizeof text, "%s", line);
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    BH_LOG(level == LLL_ERR ? BH_LOG_ERROR : BH_LOG_WARN, "lws", "msg=%s",
           bh_log_quote(q, sizeof q, text));
}

static void *service_main(void *arg)
{
    bh_http *s = arg;
    while (!atomic_load(&s->stop))
        if (lws_service(s->ctx, 0) < 0) break;
    return NULL;
}

int bh_http_start(bh_http *s, char *err, size_t err_cap)
{
    if (err_cap) err[0] = '\0';
    if (s == NULL) return BH_EINVAL;
    if (s->state != 0) {
        snprintf(err, err_cap, "the server was already started");
        return BH_ESTATE;
    }
    int rc = probe_bind(s->bind, s->opt.port, err, err_cap);
    if (rc != BH_OK) return rc;

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = s->opt.port;
    info.iface = s->bind;
    info.protocols = protocols;
    info.user = s;
    info.vhost_name = "bulkhead";
    info.max_http_header_data = 4096;
    info.timeout_secs = 10;
    info.retry_and_idle_policy = &retry;
    info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    if (strchr(s->bind, ':') == NULL) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    s->ctx = lws_create_context(&info);
    if (s->ctx == NULL) {
        snprintf(err, err_cap, "cannot listen on %s port %u (libwebsockets refused)", s->bind,
                 s->opt.port);
        return BH_EIO;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "bulkhead");
    int port = vh ? lws_get_vhost_listen_port(vh) : -1;
    if (port <= 0) {
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        snprintf(err, err_cap, "cannot tell the port listened on");
        return BH_EIO;
    }
    atomic_store(&s->port, (unsigned)port);

    char serr[160];
    /* chain names for the first events, the counters of the first sample */
    bh_hist_baseline(s->samples, snapshot_get(s, 1, serr, sizeof serr));
    lws_sul_schedule(s->ctx, 0, &s->sul, sul_snapshot,
                     (lws_usec_t)s->opt.snapshot_interval_s * LWS_US_PER_SEC);
    lws_sul_schedule(s->ctx, 0, &s->sample_sul, sul_sample,
                     (lws_usec_t)s->opt.sample_interval_s * LWS_US_PER_SEC);

    /* Before the service thread, which reads admin_started and the token. */
    if (s->admin_token_len && s->src.admin &&
        pthread_create(&s->admin_thread, NULL, admin_main, s) == 0)
        s->admin_started = 1; /* without it every admin request stays queued: refused below */
    else if (s->admin_token_len && s->src.admin)
        s->admin_token_len = 0;
    pthread_mutex_lock(&s->mu);
    s->accepting = 1;
    pthread_mutex_unlock(&s->mu);
    rc = pthread_create(&s->thread, NULL, service_main, s);
    if (rc != 0) {
        pthread_mutex_lock(&s->mu);
        s->accepting = 0;
        pthread_mutex_unlock(&s->mu);
        admin_thread_stop(s);
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        snprintf(err, err_cap, "pthread_create: %s", strerror(rc));
        return rc;
    }
    s->state = 1;
    return BH_OK;
}

uint16_t bh_http_port(const bh_http *s)
{
    return s ? (uint16_t)atomic_load(&s->port) : 0;
}

void bh_http_get_stats(const bh_http *s, bh_http_stats *out)
{
    if (out == NULL) return;
    memset(out, 0, sizeof *out);
    if (s == NULL) return;
    out->clients = atomic_load(&s->n_clients);
    out->events_published = atomic_load(&s->published);
    out->events_dropped = atomic_load(&s->dropped);
    out->clients_dropped = atomic_load(&s->clients_dropped);
    out->clients_refused = atomic_load(&s->refused);
    out->frames_sent = atomic_load(&s->frames_sent);
    out->history = atomic_load(&s->hist_count);
    out->samples = atomic_load(&s->samples_count);
}

void bh_http_stop(bh_http *s)
{
    if (s == NULL || s->state != 1) return;
    pthread_mutex_lock(&s->mu);
    s->accepting = 0;
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->stop, 1);
    lws_cancel_service(s->ctx);
    pthread_join(s->thread, NULL);
    admin_thread_stop(s);
    lws_sul_cancel(&s->sul);
    lws_sul_cancel(&s->drain_sul);
    lws_sul_cancel(&s->sample_sul);
    struct lws_context *ctx = s->ctx;
    s->ctx = NULL;            /* no more fan-out scheduling while it closes */
    lws_context_destroy(ctx); /* closes every connection: on_closed frees clients */
    s->state = 2;
}

void bh_http_destroy(bh_http *s)
{
    if (s == NULL) return;
    bh_http_stop(s);
    pthread_mutex_destroy(&s->mu);
    admin_job_free(s->job);
    pthread_mutex_destroy(&s->admin_mu);
    pthread_cond_destroy(&s->admin_cv);
    json_decref(s->cache);
    free(s->pub);
    free(s->drain);
    for (size_t i = 0; i < s->opt.history_events; i++)
        frame_unref(s->hist[i].f);
    free(s->hist);
    frame_unref(s->samples_f);
    bh_hist_destroy(s->samples);
    memset(s->token, 0, sizeof s->token);
    memset(s->admin_token, 0, sizeof s->admin_token);
    free(s);
}
