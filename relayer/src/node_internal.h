/* The node's own structures and the functions its files share: the node is
 * split by thread along its data flow (see node.c for the picture),
 *   node.c          lifecycle, shared helpers (events, breaker reports, latency)
 *   node_watch.c    a watcher per chain: finality, events, identity, stalls
 *   node_apply.c    a worker per vault: group-commit batches, evidence
 *   node_deliver.c  a deliverer per destination: fair rounds, back-off, parking
 *   node_control.c  the control loop: quarantines, tighten/relax, breaker state
 *   node_setup.c    opening the vaults and applying the config's limits
 *   node_snapshot.c what observers see: the snapshot and readiness
 * and the decisions that need no I/O are in node_policy.c.
 * Private to relayer/. */
#ifndef BH_NODE_INTERNAL_H
#define BH_NODE_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "bh_amount.h"
#include "bh_breaker.h"
#include "bh_chain.h"
#include "bh_config.h"
#include "bh_chain_backend.h"
#include "bh_node.h"
#include "bh_vault.h"
#include "node_store.h"

#define NODE_REWIND_MAX 100000u /* blocks a cursor rewind may go back */
#define LATENCY_SLOTS 8192      /* digests awaiting delivery, for latency figures */
#define TRIP_QUEUE 64

typedef struct {
    bh_node *node;
    size_t idx;
    const bh_config_chain *cfg;
    bh_vault *v;
    pthread_mutex_t mu; /* the vault handle: one thread at a time */
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;
    int wake;
    pthread_t thread;
    int started;
    uint64_t *next; /* per chain index: the vault's source offset */
    _Atomic uint64_t accepted, delayed, held, rejected, released;
    /* locks refused per registered asset because its token moved less than
     * claimed (short) or nothing (forged); under mu, since the last start */
    struct {
        bh_bytes32 token;
        uint64_t short_locks, forged_locks;
    } lock_refusals[BH_CONFIG_MAX_ASSETS];
    size_t n_lock_refusals;
    /* the segment (node_prices.c): its state for observers (-1 before the
     * first control tick) and percent; whether its lanes are tightened
     * (control loop only: -1 unknown, 0, 1) and when they were last scanned */
    atomic_int seg_state;
    atomic_uint seg_percent;
    int seg_lanes;
    uint64_t seg_scan_ms;
} node_vault;

typedef struct {
    uint64_t id; /* outbox id; 0 = free slot */
    uint64_t until_ms;
    size_t vault;
    unsigned tries;   /* failed attempts */
    unsigned reverts; /* of which the destination refused (reverted) */
    int solo;         /* failed inside a batch with no reason: goes alone next */
} backoff_ent;

/* A histogram of one figure, in memory since the node started: n[i]
 * counts the values <= bounds[i] and > bounds[i - 1]; n[n_bounds] those
 * above every bound. */
#define NODE_HIST_MAX 16
typedef struct {
    uint64_t n[NODE_HIST_MAX + 1];
    uint64_t sum;
} node_hist;

/* Bucket bounds (ascending): delivery latency in ms (0.1 s .. 1 h) and
 * delivery attempts (1, 2, 3, 5, 8, ...). */
#define NODE_LATENCY_BUCKETS 15
#define NODE_ATTEMPT_BUCKETS 9
extern const uint64_t node_latency_bounds_ms[NODE_LATENCY_BUCKETS];
extern const uint64_t node_attempt_bounds[NODE_ATTEMPT_BUCKETS];

typedef struct {
    bh_node *node;
    size_t idx;
    const bh_config_chain *cfg;
    const bh_chain_backend *be; /* the chain kind's backend */
    void *impl;                 /* its source side */
    bh_chain_ops ops;           /* bh_chain_evm_ops wrapped to record heights */
    bh_watcher *w;
    pthread_t watch_thread, deliver_thread;
    int watch_started, deliver_started;
    _Atomic uint64_t head, finalized, cursor, queue_depth, observed, unroutable, deliveries_ok,
        deliveries_failed, flow, polled, last_ok_ms;
    uint64_t flow_seen;        /* control loop only */
    uint64_t stall_since_ms;   /* watcher thread only: first failing poll that implicates */
    int stall_reported;        /* watcher thread only */
    atomic_int identity_ok;    /* chain id and genesis match what data_dir recorded */
    atomic_int wallet_low;     /* the wallet is below wallet_low_gwei (delivery) */
    _Atomic uint64_t inflight; /* delivery transactions in flight (delivery) */
    pthread_mutex_t info_mu;
    char wallet[BH_U256_DEC_MAX];
    int has_trip;
    bh_breaker_trip trip;
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;
    int wake;
    /* deliveries to this chain since the start (the deliverer adds, the
     * snapshot reads; under hist_mu): finalized source event stored ->
     * receipt of our transaction that executed it, in ms; attempts per
     * delivered outbox entry */
    pthread_mutex_t hist_mu;
    node_hist latency, attempts;
    struct node_recon *recon; /* node_reconcile.c: acknowledged deliveries, last result */
    size_t pins_saved;        /* watcher thread only: wrapped tokens pinned in the node store */
    /* an operator's request to the watcher (node_reobserve.c) */
    pthread_mutex_t req_mu;
    pthread_cond_t req_cv;
    struct node_watch_req *req;
    uint64_t replay_to; /* watcher thread only: after a rewind, blocks up to here are re-read */
    /* this chain's Portal's emergency controls, read by its watcher: paused
     * as a whole, and bit i: the lane of chains[i] paused (delivery waits) */
    atomic_int portal_paused;
    _Atomic uint64_t lanes_paused;
    uint64_t control_epoch, controls_ms; /* watcher thread only */
    uint64_t controls_full_ms;           /* watcher thread only: last whole read */
    int controls_known;                  /* watcher thread only */
    atomic_int controls_stale;           /* read the whole state at the next poll */
    /* the same Portal's attester sets and curses (node_curse.c), under
     * ctl_mu; bit i of lanes_cursed: chains[i] cursed there */
    pthread_mutex_t ctl_mu;
    bh_chain_controls ctl;
    int ctl_known;
    _Atomic uint64_t lanes_cursed;
    /* price feeds (node_prices.c): the last read, per asset whether its
     * last read was missing and its last round (watcher thread only) */
    uint64_t prices_ms;
    unsigned char price_bad[BH_CONFIG_MAX_ASSETS];
    uint64_t price_round[BH_CONFIG_MAX_ASSETS];
    _Atomic uint64_t price_reads, price_failures;
} node_chain;

/* A deliverer's curse votes (node_curse.c): one in flight at a time, and
 * per chain index the last vote the Portal took (dir 1 curse, 2 lift). */
typedef struct {
    void *tx;
    uint16_t chain;
    uint64_t round;
    int curse;
    uint64_t next_ms;
    uint64_t voted_round[BH_CONFIG_MAX_CHAINS];
    uint8_t voted_dir[BH_CONFIG_MAX_CHAINS];
    uint64_t retry_ms[BH_CONFIG_MAX_CHAINS];
    unsigned fails[BH_CONFIG_MAX_CHAINS]; /* votes refused in a row: the back-off */
} node_voter;

#define NODE_QUAR_REASON 160

typedef struct {
    bh_hash32 digest;
    uint64_t ms;
} latency_ent;

struct bh_node {
    const bh_config *cfg;
    node_store *store;
    bh_breaker *breaker;
    size_t n;
    node_chain *chains;
    node_vault *vaults; /* vaults[i] is the vault of chains[i] */
    atomic_int stop;
    atomic_int reopen;
    atomic_int fatal;
    bh_node_observer obs;
    void *obs_ud;
    uint64_t started;
    _Atomic uint64_t quarantines;
    pthread_mutex_t trip_mu;
    bh_breaker_trip trips[TRIP_QUEUE];
    size_t n_trips;
    pthread_mutex_t lat_mu;
    latency_ent *lat;
    pthread_mutex_t nap_mu;
    pthread_cond_t nap_cv;
    uint64_t breaker_saved; /* bh_breaker_version last persisted; control loop only */
    bh_address me;          /* the attester key's address */
    /* bit i: some vault holds chains[i] quarantined, with the first reason
     * read (node_quarantines_refresh, from the control loop) */
    _Atomic uint64_t quar_mask;
    pthread_mutex_t quar_mu;
    char quar_reason[BH_CONFIG_MAX_CHAINS][NODE_QUAR_REASON];
};

typedef struct node_deliverer node_deliverer;

/* ---- time and waiting (any thread) ---- */

static inline uint64_t now_s(void)
{
    return (uint64_t)time(NULL);
}

static inline uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline int stopping(bh_node *n)
{
    return atomic_load(&n->stop) != 0;
}

/* ms from now on CLOCK_REALTIME, as pthread_cond_timedwait takes it. */
static inline struct timespec deadline_in(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Wait up to ms, or until *flag is set (then cleared), or the node stops. */
static inline void wait_on(bh_node *n, pthread_mutex_t *mu, pthread_cond_t *cv, int *flag,
                           unsigned ms)
{
    struct timespec ts = deadline_in(ms);
    pthread_mutex_lock(mu);
    while (!*flag && !stopping(n))
        if (pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT) break;
    *flag = 0;
    pthread_mutex_unlock(mu);
}

static inline void nap(bh_node *n, unsigned ms)
{
    int never = 0;
    wait_on(n, &n->nap_mu, &n->nap_cv, &never, ms);
}

static inline void poke(pthread_mutex_t *mu, pthread_cond_t *cv, int *flag)
{
    pthread_mutex_lock(mu);
    *flag = 1;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
}

/* A 20-byte token address as the 32-byte token id of messages. */
static inline void node_token32(bh_bytes32 *out, const bh_address *a)
{
    memset(out->data, 0, 12);
    memcpy(out->data + 12, a->data, 20);
}

/* ---- node.c: lookups, events, breaker reports, latency ---- */

/* Returns: the chain with that bridge id, or NULL. */
node_chain *node_chain_by_id(bh_node *n, uint16_t id);
/* Returns: the chain's name, or its id written into buf. */
const char *node_chain_name(bh_node *n, uint16_t id, char buf[8]);
/* Returns: the configured symbol of a home asset, or NULL. */
const char *node_asset_symbol(const bh_config_chain *home, const bh_bytes32 *token);
/* out: "0x" + 2 len hex digits + NUL. */
void node_hex0x(char *out, const unsigned char *b, size_t len);
void node_emit(bh_node *n, const bh_node_event *ev);
void node_emit_msg(bh_node *n, bh_node_event_kind kind, const node_vault *nv,
                   const bh_transfer_msg *m, bh_reject reason, const char *detail);
/* The same, with the transaction that carried it (DELIVERED; NULL: none). */
void node_emit_msg_tx(bh_node *n, bh_node_event_kind kind, const node_vault *nv,
                      const bh_transfer_msg *m, bh_reject reason, const char *detail,
                      const bh_hash32 *tx);
/* Report evidence to the breaker; a trip is queued for the control loop. */
void node_observe(bh_node *n, uint16_t chain, bh_obs_kind k, uint64_t count, const char *detail);
/* Delivery latency: when a digest was observed, and how long ago (-1: unknown). */
void node_lat_put(bh_node *n, const bh_hash32 *d, uint64_t ms);
int64_t node_lat_take(bh_node *n, const bh_hash32 *d);
/* ms since the digest's event was stored, as node_lat_take, kept; -1:
 * not known (evicted, or stored before this start) */
int64_t node_lat_age(bh_node *n, const bh_hash32 *d);
/* Count value v in h (bounds ascending, n_bounds <= NODE_HIST_MAX). The
 * caller holds the histogram's lock. */
void node_hist_add(node_hist *h, const uint64_t *bounds, size_t n_bounds, uint64_t v);

/* ---- the threads and their setup ---- */

void node_rpc_log(void *ud, bh_log_level level, const char *msg);
int node_chain_prepare(bh_node *n, node_chain *c, char *err, size_t cap);
/* The backend of chain cc, and its config (no log hook, errors only);
 * tokens holds the registered assets' addresses for ec's lifetime. */
const bh_chain_backend *node_chain_backend(bh_chain_config *ec,
                                           bh_address tokens[BH_CONFIG_MAX_ASSETS],
                                           const bh_config_chain *cc);
int node_vault_prepare(bh_node *n, node_vault *nv, char *err, size_t cap);
void *node_watch_main(void *arg); /* arg: node_chain */
/* The watcher's cursor and bh_watcher again from the node store. */
int node_watcher_reset(node_chain *c, node_cursor *pc);

/* ---- node_reobserve.c: operator requests the watcher serves ---- */
typedef struct node_watch_req node_watch_req;
/* Watcher thread, at the top of each turn: the pending request, if any. */
void node_watch_serve(node_chain *c, node_cursor *pc);
/* One re-read event to its vault (node_vault_reobserved); its outcome as
 * JSON. Watcher thread. */
json_t *node_reobserve_event(node_chain *c, const bh_chain_event *e, int reread);
void *node_vault_main(void *arg); /* arg: node_vault */
/* One event read again (re-observation; reread: a rewound cursor's
 * re-read), given to vault nv once: *outcome "replayed" (the vault took it
 * already, nothing done), "queued" (in the inbox, its vault takes it in
 * turn), "deferred" (its source is tripped, not yet frozen: try again),
 * "refused_before" (reread only: refused when first read, not decided
 * twice) or "applied" (*res says how, counted and sent as the vault
 * worker's are, but never as breaker evidence). A re-observed refused
 * message is decided again: the operator's way to retry one. */
int node_vault_reobserved(node_vault *nv, node_inbox_rec *rec, int reread, bh_vault_result *res,
                          const char **outcome);
/* Re-read event to its vault (node_reobserve.c). */
void *node_deliver_main(void *arg); /* arg: node_deliverer */
int node_deliverer_new(node_deliverer **out, node_chain *d, char *err, size_t cap);
void node_deliverer_free(node_deliverer *dl);

/* ---- node_control.c: the control loop (caller's thread) ---- */

void node_control_tick(bh_node *n);
/* Restore every tightened bucket of chain (0 = all chains). */
void node_relax(bh_node *n, uint16_t chain, const char *why);
/* The same for the lanes of one vault only (only_vault NULL: every vault). */
void node_relax_where(bh_node *n, uint16_t chain, const char *only_vault, const char *why);

/* node_prices.c: the watcher's price feed reads (every price_poll_s, at
 * block, into c's own vault), and the control loop's segment tightening. */
void node_watch_prices(node_chain *c, uint64_t block);
void node_segment_tick(bh_node *n);
/* At start, before the config's limits apply: every lane of nv back at its
 * original sizes (a spike's and a segment's tightening undone), so that a
 * limit changed in the config applies to the size, not to the tightened
 * one; node_segment_tick tightens them again before any thread runs. */
void node_lanes_restore(bh_node *n, node_vault *nv);
/* A tightened segment's lane: its original sizes and the percent they are
 * at (node store vtight/<vault>/<token hex>/<chain>). Returns: BH_OK;
 * BH_ENOTFOUND (not tightened); BH_ECORRUPT. */
typedef struct {
    unsigned percent;
    bh_u128 in_cap, in_refill, out_cap, out_refill, window;
} node_vtight;
int node_vtight_get(bh_node *n, const char *vault, const bh_bytes32 *token, uint16_t chain,
                    node_vtight *out);

/* A /ws event of kind portal about c's Portal (lane: the chain it is
 * about, 0 the whole Portal). node_watch.c */
void node_emit_portal(node_chain *c, uint16_t lane, const char *detail);

/* ---- node_curse.c ---- */

/* The watcher of c read its Portal's whole control state: keep it, log
 * curse and attester-set changes, adopt a curse not adopted yet. */
void node_controls_seen(node_chain *c, const bh_chain_controls *now, int first);
/* A lift of a curse on c's Portal has come due (read the Portal again). */
int node_lift_due(node_chain *c);
/* Where this node signs for delivery to d: the Portal's current set when
 * it is a member, else the previous set while valid; the configured slot
 * before d's Portal was read. Returns: BH_OK; BH_ENOTFOUND in neither. */
int node_sign_slot(node_chain *d, uint32_t *set, uint8_t *index);
/* Read which chains the vaults hold quarantined (the control loop). */
void node_quarantines_refresh(bh_node *n);
/* One look from d's deliverer: poll the vote in flight, or send the next
 * curse or lift vote d's Portal lacks from this node. */
void node_curse_votes(node_chain *d, void *sender, const bh_attest *ctx, node_voter *v);
void node_breaker_restore(bh_node *n);

/* ---- node_reconcile.c: supply reconciliation and the audit against the chain ---- */

typedef struct node_recon node_recon;
/* Allocate and free a chain's reconciliation state (before its threads
 * start, after they stopped). */
int node_reconcile_new(node_chain *c);
void node_reconcile_free(node_chain *c);
/* The watcher of c, between polls, at its stored cursor: runs once every
 * node.reconcile_s (0: never). */
void node_reconcile_step(node_chain *c, uint64_t cursor);
/* The watcher of c, right after storing these events with its cursor. */
void node_reconcile_stored(node_chain *c, const bh_chain_event *ev, size_t n);
/* The deliverer of d, holding nv->mu, right after acknowledging m. */
void node_reconcile_acked(node_chain *d, const node_vault *nv, const bh_transfer_msg *m);
/* Add "reconcile" (each chain's last result) to an observers' snapshot. */
void node_reconcile_snapshot(bh_node *n, json_t *snap);

#endif
