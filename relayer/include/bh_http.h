/* The operator surface: one libwebsockets server on one port (docs/ARCHITECTURE.md §5).
 *
 *   GET /ws       websocket: a snapshot frame on connect, the samples for
 *                 charts when asked (below), the recent events (history,
 *                 below), then event frames as the node
 *                 publishes them and a snapshot every snapshot_interval_s;
 *                 frames in relayer/web/PROTOCOL.md
 *   GET /metrics  Prometheus text (bh_metrics.h)
 *   GET /healthz  200 "ok" while the server runs (never needs the token)
 *   GET /readyz   200 "ready", or 503 {"ready":false,"reason":"..."}
 *   GET /         the dashboard (static page; it reads /ws)
 *
 *   POST /admin/v1/...  the admin API (bh_admin.h), only with an admin
 *                 token: "Authorization: Bearer <admin token>" always (never
 *                 the read token, never a query); a JSON body of at most
 *                 BH_HTTP_MAX_ADMIN_BODY bytes; one action at a time (503
 *                 "busy" meanwhile), run off the service thread
 *
 * With a token set, /ws and /metrics need "Authorization: Bearer <token>".
 * Browsers cannot set headers on a websocket, so /ws also takes
 * "?token=<token>" (the dashboard passes on the token of its own URL,
 * "/?token=..."). /healthz, /readyz and the dashboard's static files never
 * need it: they hold no ledger figures.
 *
 * Threads: the server runs its own service thread between bh_http_start
 * and bh_http_stop. bh_http_publish may be called from any thread at any
 * time: it copies the event into a bounded queue under a short lock (no
 * I/O, no allocation) and wakes the service thread; when the queue is full
 * the event is dropped and counted. Each websocket client has its own send
 * queue bounded in bytes; a client whose queue would pass the bound is
 * closed with status 1008 and reason "send buffer full", so a slow client
 * costs only itself. The source callbacks run on the service thread; the
 * snapshot callback runs every snapshot_interval_s while clients are
 * connected, and for connects and /metrics at most once a second (a
 * snapshot younger than that is served again), so a flood of connects or
 * scrapes does not reach the node.
 *
 * History: the service thread keeps the last history_events events it fanned
 * out in a fixed ring (the oldest goes when it is full; publishers never
 * touch it). A new websocket client gets, right after its first snapshot,
 * the ring's events its subscription wants, oldest first, each marked
 * "history": true; only the newest that fit in a quarter of
 * client_buffer_bytes are sent. Events dropped from the publish queue are
 * not in it (their seq is missing).
 *
 * Samples (relayer/src/history.h): every sample_interval_s, whether or not
 * clients are connected, the service thread takes a snapshot (or reuses
 * one less than a second old) and keeps one sample of it for the
 * dashboard's charts: delivered and refused counts over the interval,
 * delivery latency p50/p99, each chain's lag, each lane's outstanding and
 * bucket headroom; the newest samples_kept in fixed rings. A client that
 * connects with "samples=1" in its query gets them all in one "samples"
 * frame right after its snapshot (before the events; cut to the newest
 * that fit in a quarter of client_buffer_bytes), then one "sample" frame
 * per new sample. */
#ifndef BH_HTTP_H
#define BH_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_node.h"

/* Where the server reads the node's state; called on the service thread. */
typedef struct {
    /* Build a snapshot (bh_node.h schema). Returns BH_OK and *out (the
     * server json_decref's it), or an error (the request gets a 503). */
    int (*snapshot)(void *ud, json_t **out);
    /* Returns 1 ready, 0 not ready with why filled (cap bytes). */
    int (*ready)(void *ud, char *why, size_t cap);
    /* An admin request (path under /admin/, its JSON body, borrowed), on
     * the server's admin thread; may block. Sets *status (HTTP) and *resp
     * (the server json_decref's it). NULL = no admin API. */
    void (*admin)(void *ud, const char *path, const json_t *req, unsigned *status, json_t **resp);
    void *admin_ud; /* the admin handler's ud */
    void *ud;
} bh_http_source;

typedef struct {
    const char *bind;             /* IP address to listen on; NULL = "127.0.0.1" */
    uint16_t port;                /* 0 = any free port (bh_http_port tells which) */
    const char *token;            /* bearer token; NULL or "" = no auth; copied */
    const char *admin_token;      /* admin API token; NULL or "" = no admin API; copied */
    unsigned max_clients;         /* websocket clients; 0 = 64; extra get 503 */
    unsigned snapshot_interval_s; /* periodic snapshot frames; 0 = 5 */
    size_t client_buffer_bytes;   /* per-client send queue bound; 0 = 1 MiB, min 64 KiB */
    size_t queue_events;          /* publish queue (events); 0 = 4096 */
    size_t history_events;        /* events kept for new clients; 0 = 200, max 10000 */
    unsigned sample_interval_s;   /* one sample for the charts every this; 0 = 10 */
    size_t samples_kept;          /* samples kept; 0 = 360 (1 h at 10 s), max 8640 */
} bh_http_options;

/* Limits of what a client may send: a frame above this closes it (1009). */
#define BH_HTTP_MAX_RX 4096
/* An admin request body above this gets a 413. */
#define BH_HTTP_MAX_ADMIN_BODY 65536

typedef struct bh_http bh_http;

/* Counters, readable at any time from any thread. */
typedef struct {
    unsigned clients;          /* websocket clients connected now */
    uint64_t events_published; /* bh_http_publish calls while running */
    uint64_t events_dropped;   /* of those, dropped: the queue was full */
    uint64_t clients_dropped;  /* clients closed for falling behind */
    uint64_t clients_refused;  /* upgrades refused by max_clients */
    uint64_t frames_sent;      /* websocket frames written */
    size_t history;            /* events kept for new clients now (<= history_events) */
    size_t samples;            /* samples kept now (<= samples_kept) */
} bh_http_stats;

/* Check the options and allocate the server (nothing is bound yet).
 * Returns: BH_OK; BH_EINVAL with err set for bad options (bind not an IP
 *          address, token with spaces or control bytes); BH_ENOMEM.
 * Out: out  caller frees with bh_http_destroy; NULL on error.
 *      err  err_cap bytes, "" on success.
 * In:  opt  copied (NULL = all defaults); src  copied, src->snapshot
 *           required, src->ready optional (NULL = always ready). */
BH_WARN_UNUSED_RESULT int bh_http_create(bh_http **out, char *err, size_t err_cap,
                                         const bh_http_options *opt, const bh_http_source *src);

/* Bind and start the service thread.
 * Returns: BH_OK; BH_EIO with err set when the address cannot be bound
 *          (in use, not local); BH_ESTATE if already started or stopped;
 *          BH_ENOMEM; an errno from pthread_create. */
BH_WARN_UNUSED_RESULT int bh_http_start(bh_http *s, char *err, size_t err_cap);

/* Returns: the port listened on (0 before start). */
uint16_t bh_http_port(const bh_http *s);

/* Offer a node event to websocket clients. Never blocks on I/O; safe from
 * any thread, also before start and after stop (then ignored).
 * In: ev  borrowed for the call; strings longer than the frame fields
 *         (vault 32, symbol 16, detail 511 bytes) are cut. */
void bh_http_publish(bh_http *s, const bh_node_event *ev);

/* bh_http_publish with the bh_node_observer signature (ud = the server),
 * for bh_node_set_observer(node, bh_http_observer, server). */
void bh_http_observer(void *ud, const bh_node_event *ev);

void bh_http_get_stats(const bh_http *s, bh_http_stats *out);

/* Close every connection, stop and join the service thread. Idempotent.
 * Not from the service thread (a source callback). */
void bh_http_stop(bh_http *s);

/* Stops if running, frees everything; NULL is a no-op. */
void bh_http_destroy(bh_http *s);

#endif
