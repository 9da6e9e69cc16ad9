/* The relayer node: threads and the data flow between them.
 *
 *  watcher (per chain) ──store(events + cursor, one txn)──▶ node inbox
 *  vault worker (per home chain) ──inbox ▶ bh_vault_apply_ex (one txn, with
 *      the per-source resume offset) ──▶ outbox; then the inbox is trimmed
 *  delivery (per destination) ──outbox ▶ sign + Portal.submit ──▶ ack
 *  control loop (caller's thread): breaker trips, limit tightening, signals
 *
 * Crash safety comes from the stores alone: a watcher never moves its
 * cursor without storing its events in the same transaction; a vault never
 * takes a message without moving its source offset in the same transaction,
 * so a re-read inbox entry below the offset is skipped; an outbox entry is
 * acked only after the Portal executed it or counted our approval, and a
 * re-submit of an executed digest is a no-op on chain. */
#include "bh_node.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_breaker.h"
#include "bh_chain.h"
#include "bh_evm_chain.h"
#include "bh_evm_sender.h"
#include "bh_hex.h"
#include "bh_log.h"
#include "bh_metrics.h"
#include "bh_portal.h"
#include "bh_rpc.h"
#include "bh_vault.h"
#include "node_store.h"

#define PER_SOURCE 2       /* deliveries per source chain per delivery round */
#define SCAN_MAX 65536     /* outbox entries looked at per vault per round, at most */
#define BACKOFF_SLOTS 8192 /* failing outbox entries remembered per destination */
#define BACKOFF_PROBE 16
#define LATENCY_SLOTS 8192 /* digests awaiting delivery, for latency figures */
#define TRIP_QUEUE 64
#define SNAPSHOT_PENDING_MAX 100

typedef struct bh_node bh_node;

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
} node_vault;

typedef struct {
    uint64_t id; /* outbox id; 0 = free slot */
    uint64_t until_ms;
    size_t vault;
    unsigned tries;   /* failed attempts */
    unsigned reverts; /* of which the destination refused (reverted) */
} backoff_ent;

typedef struct {
    bh_node *node;
    size_t idx;
    const bh_config_chain *cfg;
    bh_evm_chain *evm;
    bh_chain_ops ops; /* bh_chain_evm_ops wrapped to record heights */
    bh_watcher *w;
    pthread_t watch_thread, deliver_thread;
    int watch_started, deliver_started;
    _Atomic uint64_t head, finalized, cursor, queue_depth, observed, unroutable, deliveries_ok,
        deliveries_failed, flow, polled, last_ok_ms;
    uint64_t flow_seen;       /* control loop only */
    uint64_t stall_since_ms;  /* watcher thread only: first failing poll that implicates */
    int stall_reported;       /* watcher thread only */
    atomic_int identity_ok;   /* chain id and genesis match what data_dir recorded */
    pthread_mutex_t info_mu;
    char wallet[BH_U256_DEC_MAX];
    int has_trip;
    bh_breaker_trip trip;
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;
    int wake;
} node_chain;

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
};

static const char *const k_event_names[BH_NODE_EV_COUNT_] = {
    "accepted",  "delayed",          "held",        "rejected", "released",
    "delivered", "delivery_failed", "quarantined", "limits",  "parked"};

const char *bh_node_event_name(bh_node_event_kind k)
{
    return (unsigned)k < BH_NODE_EV_COUNT_ ? k_event_names[k] : "unknown";
}

/* ---- time and waiting ---- */

static uint64_t now_s(void)
{
    return (uint64_t)time(NULL);
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int stopping(bh_node *n)
{
    return atomic_load(&n->stop) != 0;
}

/* Wait up to ms, or until *flag is set (then cleared), or the node stops. */
static void wait_on(bh_node *n, pthread_mutex_t *mu, pthread_cond_t *cv, int *flag, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(mu);
    while (!*flag && !stopping(n))
        if (pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT) break;
    *flag = 0;
    pthread_mutex_unlock(mu);
}

static void nap(bh_node *n, unsigned ms)
{
    int never = 0;
    wait_on(n, &n->nap_mu, &n->nap_cv, &never, ms);
}

static void poke(pthread_mutex_t *mu, pthread_cond_t *cv, int *flag)
{
    pthread_mutex_lock(mu);
    *flag = 1;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
}

/* ---- lookups and small helpers ---- */

static node_chain *chain_by_id(bh_node *n, uint16_t id)
{
    for (size_t i = 0; i < n->n; i++)
        if (n->chains[i].cfg->bridge_id == id) return &n->chains[i];
    return NULL;
}

static const char *chain_name(bh_node *n, uint16_t id, char buf[8])
{
    node_chain *c = chain_by_id(n, id);
    if (c) return c->cfg->name;
    snprintf(buf, 8, "%u", (unsigned)id);
    return buf;
}

static const char *asset_symbol(const bh_config_chain *home, const bh_bytes32 *token)
{
    if (!home) return NULL;
    for (size_t i = 0; i < home->n_assets; i++) {
        bh_bytes32 t;
        bh_address_to_bytes32(&t, &home->assets[i].token);
        if (!memcmp(t.data, token->data, 32)) return home->assets[i].symbol;
    }
    return NULL;
}

static void hex0x(char *out, const unsigned char *b, size_t len)
{
    out[0] = '0';
    out[1] = 'x';
    bh_hex_encode(out + 2, b, len);
}

static void emit(bh_node *n, const bh_node_event *ev)
{
    if (n->obs) n->obs(n->obs_ud, ev);
}

static void emit_msg(bh_node *n, bh_node_event_kind kind, const node_vault *nv,
                     const bh_transfer_msg *m, bh_reject reason, const char *detail)
{
    bh_node_event ev = {.kind = kind,
                        .time = now_s(),
                        .vault = nv ? nv->cfg->name : NULL,
                        .from_chain = m->emitter_chain,
                        .to_chain = m->transfer.to_chain,
                        .sequence = m->sequence,
                        .digest = m->digest,
                        .amount = m->amount,
                        .symbol = asset_symbol(nv ? nv->cfg : NULL, &m->transfer.token),
                        .reason = reason,
                        .detail = detail};
    emit(n, &ev);
}

static void observe(bh_node *n, uint16_t chain, bh_obs_kind k, uint64_t count,
                    const char *detail)
{
    bh_breaker_trip t;
    if (bh_breaker_observe(n->breaker, &t, chain, k, count, now_s(), detail) != 1) return;
    pthread_mutex_lock(&n->trip_mu);
    if (n->n_trips < TRIP_QUEUE) n->trips[n->n_trips++] = t;
    pthread_mutex_unlock(&n->trip_mu);
    pthread_mutex_lock(&n->nap_mu);
    pthread_cond_broadcast(&n->nap_cv);
    pthread_mutex_unlock(&n->nap_mu);
}

/* ---- delivery latency bookkeeping ---- */

static size_t lat_slot(const bh_hash32 *d)
{
    uint64_t h;
    memcpy(&h, d->data, sizeof h);
    return (size_t)(h % LATENCY_SLOTS);
}

/* Open addressing with a short probe: digests in flight together rarely
 * collide, and a lost figure only costs one latency sample. */
#define LATENCY_PROBE 8

static void lat_put(bh_node *n, const bh_hash32 *d, uint64_t ms)
{
    pthread_mutex_lock(&n->lat_mu);
    size_t at = lat_slot(d);
    latency_ent *e = &n->lat[at], *oldest = e;
    for (size_t i = 0; i < LATENCY_PROBE; i++) {
        latency_ent *x = &n->lat[(at + i) % LATENCY_SLOTS];
        if (!x->ms || !memcmp(x->digest.data, d->data, 32)) {
            oldest = x;
            break;
        }
        if (x->ms < oldest->ms) oldest = x;
    }
    oldest->digest = *d;
    oldest->ms = ms;
    pthread_mutex_unlock(&n->lat_mu);
}

static int64_t lat_take(bh_node *n, const bh_hash32 *d)
{
    int64_t v = -1;
    pthread_mutex_lock(&n->lat_mu);
    size_t at = lat_slot(d);
    for (size_t i = 0; i < LATENCY_PROBE; i++) {
        latency_ent *e = &n->lat[(at + i) % LATENCY_SLOTS];
        if (e->ms && !memcmp(e->digest.data, d->data, 32)) {
            v = (int64_t)(wall_ms() - e->ms);
            e->ms = 0;
            break;
        }
    }
    pthread_mutex_unlock(&n->lat_mu);
    return v;
}

/* ---- watcher ---- */

static int w_verify(void *impl)
{
    node_chain *c = impl;
    return bh_chain_evm_ops.verify(c->evm);
}

static int w_finalized(void *impl, bh_block_ref *out)
{
    node_chain *c = impl;
    int rc = bh_chain_evm_ops.finalized(c->evm, out);
    if (rc == BH_OK) {
        atomic_store(&c->finalized, out->number);
        if (atomic_load(&c->head) < out->number) atomic_store(&c->head, out->number);
    }
    return rc;
}

static int w_block_hash(void *impl, uint64_t number, bh_hash32 *out)
{
    node_chain *c = impl;
    return bh_chain_evm_ops.block_hash(c->evm, number, out);
}

static int w_fetch(void *impl, uint64_t from, uint64_t to, bh_chain_event **events, size_t *n,
                   uint64_t *done_to)
{
    node_chain *c = impl;
    return bh_chain_evm_ops.fetch(c->evm, from, to, events, n, done_to);
}

static void rpc_log(void *ud, int level, const char *msg)
{
    node_chain *c = ud;
    char q[600];
    bh_log_level l = level >= 2 ? BH_LOG_ERROR : level == 1 ? BH_LOG_WARN : BH_LOG_INFO;
    BH_LOG(l, "rpc", "chain=%s msg=%s", c->cfg->name, bh_log_quote(q, sizeof q, msg));
}

static void update_head(node_chain *c)
{
    uint64_t h;
    if (bh_evm_chain_head(c->evm, &h) == BH_OK) atomic_store(&c->head, h);
}

/* Persist one poll's events with the new cursor; wake their vaults. */
static int store_events(node_chain *c, const bh_chain_event *ev, size_t cnt,
                        const bh_block_ref *cur, node_cursor *pc)
{
    bh_node *n = c->node;
    node_inbox_rec *recs = cnt ? calloc(cnt, sizeof *recs) : NULL;
    uint16_t *to = cnt ? calloc(cnt, sizeof *to) : NULL;
    int *woke = calloc(n->n, sizeof *woke);
    if ((cnt && (!recs || !to)) || !woke) {
        free(recs);
        free(to);
        free(woke);
        return BH_ENOMEM;
    }
    size_t m = 0;
    uint64_t ms = wall_ms();
    node_cursor next = *pc;
    next.number = cur->number;
    next.hash = cur->hash;
    for (size_t i = 0; i < cnt; i++) {
        const bh_chain_event *e = &ev[i];
        int routable = e->msg.transfer.token_chain != 0;
        char tx[67];
        hex0x(tx, e->tx_hash.data, 32);
        if (e->verdict != BH_REJECT_OK) {
            char d[160];
            snprintf(d, sizeof d, "seq %" PRIu64 " tx %.18s… log %u: %s", e->msg.sequence, tx,
                     e->log_index, bh_reject_name(e->verdict));
            /* a "lock" naming another home chain: only the Portal emits it. A
             * forged or short lock is judged by its vault (registered asset?). */
            if (e->kind == BH_EVENT_LOCK && routable && e->verdict == BH_REJECT_MALFORMED)
                observe(n, c->cfg->bridge_id, BH_OBS_FORGED_LOCK, 1, d);
            BH_LOG(BH_LOG_WARN, "refused_event", "chain=%s block=%" PRIu64 " tx=%s log=%u reason=%s",
                   c->cfg->name, e->block_number, tx, e->log_index, bh_reject_name(e->verdict));
        }
        /* past every decoded event, even one that cannot become a message:
         * a restart must expect the sequence after it */
        if (e->has_sequence) {
            next.next_seq = e->sequence + 1;
            next.has_seq = 1;
        }
        node_chain *home = routable ? chain_by_id(n, e->msg.transfer.token_chain) : NULL;
        if (!home) {
            atomic_fetch_add(&c->unroutable, 1);
            if (e->verdict == BH_REJECT_OK)
                BH_LOG(BH_LOG_WARN, "unroutable", "chain=%s tx=%s log=%u token_chain=%u",
                       c->cfg->name, tx, e->log_index, (unsigned)e->msg.transfer.token_chain);
            continue;
        }
        recs[m].msg = e->msg;
        recs[m].verdict = (uint32_t)e->verdict;
        recs[m].kind = e->kind;
        recs[m].observed_ms = ms;
        to[m] = home->cfg->bridge_id;
        woke[home->idx] = 1;
        m++;
    }
    int rc = node_store_commit(n->store, c->cfg->bridge_id, &next, recs, to, m);
    if (rc == BH_OK) {
        *pc = next;
        atomic_fetch_add(&c->queue_depth, m);
        atomic_fetch_add(&c->observed, cnt);
        atomic_fetch_add(&c->flow, cnt);
        if (cnt)
            BH_LOG(BH_LOG_INFO, "observed", "chain=%s events=%zu stored=%zu cursor=%" PRIu64,
                   c->cfg->name, cnt, m, cur->number);
        for (size_t i = 0; i < n->n; i++)
            if (woke[i]) poke(&n->vaults[i].wake_mu, &n->vaults[i].wake_cv, &n->vaults[i].wake);
    }
    free(recs);
    free(to);
    free(woke);
    return rc;
}

static int watcher_reset(node_chain *c, node_cursor *pc)
{
    bh_watcher_destroy(c->w);
    c->w = NULL;
    int rc = node_store_cursor_get(c->node->store, c->cfg->bridge_id, pc);
    if (rc == BH_ENOTFOUND) {
        memset(pc, 0, sizeof *pc);
        pc->number = c->cfg->start_block ? c->cfg->start_block - 1 : 0;
        rc = BH_OK;
    }
    if (rc) return rc;
    if (pc->has_seq) bh_evm_chain_expect_sequence(c->evm, pc->next_seq, pc->number);
    bh_block_ref ref = {.number = pc->number, .hash = pc->hash};
    atomic_store(&c->cursor, pc->number);
    return bh_watcher_create(&c->w, &c->ops, c, &ref);
}

static void wrong_chain(node_chain *c)
{
    /* an endpoint serves another chain: nothing it says can be trusted */
    BH_LOG(BH_LOG_ERROR, "wrong_chain",
           "chain=%s evm_chain_id=%" PRIu64
           " reason=\"an endpoint serves another chain; fix $.chains[%zu].endpoints\"",
           c->cfg->name, c->cfg->evm_chain_id, c->idx);
    atomic_store(&c->node->fatal, BH_ECHAINID);
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

#define IDENTITY_LEN 40 /* u64 evm chain id, big-endian | genesis block hash */

/* The chain must be the one data_dir was made with: its chain id and its
 * block 0 hash, recorded at the first start. Returns: BH_OK; BH_ECHAINID
 * (an endpoint serves another chain id); BH_ESTATE (another genesis: a
 * reset or different chain; logged); a read error to retry. */
static int check_identity(node_chain *c)
{
    bh_node *n = c->node;
    int rc = w_verify(c);
    if (rc) return rc;
    bh_hash32 g;
    if ((rc = w_block_hash(c, 0, &g))) return rc;
    unsigned char rec[IDENTITY_LEN], have[IDENTITY_LEN];
    put_be64(rec, c->cfg->evm_chain_id);
    memcpy(rec + 8, g.data, 32);
    char key[32], gh[67];
    snprintf(key, sizeof key, "chain/%u", (unsigned)c->cfg->bridge_id);
    hex0x(gh, g.data, 32);
    rc = node_store_meta_get(n->store, key, have, sizeof have);
    if (rc == BH_ENOTFOUND) {
        rc = node_store_meta_put(n->store, key, rec, sizeof rec);
        if (rc == BH_OK)
            BH_LOG(BH_LOG_INFO, "chain_recorded", "chain=%s evm_chain_id=%" PRIu64 " genesis=%s",
                   c->cfg->name, c->cfg->evm_chain_id, gh);
        return rc;
    }
    if (rc) return rc;
    if (memcmp(have, rec, sizeof rec) == 0) return BH_OK;
    char was[67];
    uint64_t was_id = 0;
    for (int i = 0; i < 8; i++)
        was_id = was_id << 8 | have[i];
    hex0x(was, have + 8, 32);
    BH_LOG(BH_LOG_ERROR, "chain_mismatch",
           "chain=%s evm_chain_id=%" PRIu64 " genesis=%s recorded_chain_id=%" PRIu64
           " recorded_genesis=%s reason=\"%s/node was made for another chain (reset or "
           "replaced); point $.chains[%zu].endpoints at the chain it was made for, or start "
           "this chain with a fresh data_dir\"",
           c->cfg->name, c->cfg->evm_chain_id, gh, was_id, was, n->cfg->data_dir, c->idx);
    return BH_ESTATE;
}

/* A failed poll whose endpoints answered, but not so that the watcher can
 * advance (a sequence gap, an impossible answer, a split with no quorum),
 * implicates the chain once it lasts stall_s; endpoints that do not answer
 * at all may be our own network, and only make the node not ready. */
static void note_stall(node_chain *c, int rc, int split)
{
    bh_node *n = c->node;
    unsigned bound = n->cfg->breaker.stall_s;
    uint64_t now = mono_ms();
    if (!c->stall_since_ms) c->stall_since_ms = now;
    if (!bound || c->stall_reported || now - c->stall_since_ms < (uint64_t)bound * 1000) return;
    c->stall_reported = 1;
    char d[140];
    snprintf(d, sizeof d, "no progress past block %" PRIu64 " for %" PRIu64 " s: %s%s",
             atomic_load(&c->cursor), (now - c->stall_since_ms) / 1000, bh_errname(rc),
             split ? " (endpoints split)" : "");
    BH_LOG(BH_LOG_ERROR, "stalled", "chain=%s cursor=%" PRIu64 " error=%s split=%d",
           c->cfg->name, atomic_load(&c->cursor), bh_errname(rc), split);
    observe(n, c->cfg->bridge_id, BH_OBS_STALLED, 1, d);
}

static void *watch_main(void *arg)
{
    node_chain *c = arg;
    bh_node *n = c->node;
    const bh_config *cfg = n->cfg;
    node_cursor pc;
    unsigned fails = 0;
    uint64_t last_head = 0;
    if (watcher_reset(c, &pc) != BH_OK) {
        BH_LOG(BH_LOG_ERROR, "watcher_failed", "chain=%s reason=\"cannot read the cursor\"",
               c->cfg->name);
        atomic_store(&n->fatal, BH_EIO);
        return NULL;
    }
    while (!stopping(n) && !atomic_load(&c->identity_ok)) {
        int rc = check_identity(c);
        if (rc == BH_OK) {
            atomic_store(&c->identity_ok, 1);
            break;
        }
        if (rc == BH_ECHAINID) {
            wrong_chain(c);
            return NULL;
        }
        if (rc == BH_ESTATE) {
            atomic_store(&n->fatal, BH_ECHAINID);
            return NULL;
        }
        if (fails++ % 20 == 0)
            BH_LOG(BH_LOG_WARN, "identity_pending", "chain=%s error=%s failures=%u", c->cfg->name,
                   bh_errname(rc), fails);
        unsigned back = cfg->poll_ms << (fails < 5 ? fails : 5);
        nap(n, back > 10000 ? 10000 : back);
    }
    fails = 0;
    while (!stopping(n)) {
        if (atomic_load(&c->queue_depth) >= cfg->queue_max) {
            nap(n, cfg->poll_ms);
            continue;
        }
        if (mono_ms() - last_head >= 2000) {
            update_head(c);
            last_head = mono_ms();
        }
        bh_chain_event *ev = NULL;
        size_t cnt = 0;
        bh_block_ref cur;
        int rc = bh_watcher_poll(c->w, &ev, &cnt, &cur);
        int split = rc != BH_OK && bh_evm_chain_last_split(c->evm);
        if (rc == BH_OK) {
            atomic_fetch_add(&c->polled, 1);
            atomic_store(&c->last_ok_ms, mono_ms());
            c->stall_since_ms = 0;
            c->stall_reported = 0;
        }
        if (rc == BH_EEQUIVOCATION && !split) {
            /* the quorum itself says a finalized block changed */
            char d[120];
            snprintf(d, sizeof d, "finalized block %" PRIu64 " changed hash", pc.number);
            observe(n, c->cfg->bridge_id, BH_OBS_EQUIVOCATION, 1, d);
            BH_LOG(BH_LOG_ERROR, "equivocation", "chain=%s cursor=%" PRIu64, c->cfg->name,
                   pc.number);
            nap(n, cfg->poll_ms * 4);
            continue;
        }
        if (rc == BH_ECHAINID) {
            wrong_chain(c);
            break;
        }
        if (rc != BH_OK) {
            if (split) {
                char d[96];
                snprintf(d, sizeof d, "endpoints split at block %" PRIu64 ": %s", pc.number,
                         bh_errname(rc));
                observe(n, c->cfg->bridge_id, BH_OBS_DISAGREEMENT, 1, d);
            }
            if (split || rc == BH_EPROTO || rc == BH_EEQUIVOCATION) note_stall(c, rc, split);
            if (fails++ % 20 == 0)
                BH_LOG(BH_LOG_WARN, "poll_failed", "chain=%s error=%s failures=%u", c->cfg->name,
                       bh_errname(rc), fails);
            unsigned back = cfg->poll_ms << (fails < 5 ? fails : 5);
            nap(n, back > 10000 ? 10000 : back);
            continue;
        }
        fails = 0;
        int moved = cur.number != pc.number || memcmp(&cur.hash, &pc.hash, sizeof cur.hash);
        if (cnt || moved) {
            rc = store_events(c, ev, cnt, &cur, &pc);
            if (rc != BH_OK) {
                /* the watcher moved on in memory only: go back to what is stored */
                BH_LOG(BH_LOG_ERROR, "store_failed", "chain=%s error=%s", c->cfg->name,
                       bh_errname(rc));
                free(ev);
                if (watcher_reset(c, &pc) != BH_OK) atomic_store(&n->fatal, rc);
                nap(n, 1000);
                continue;
            }
        }
        free(ev);
        atomic_store(&c->cursor, pc.number);
        if (cnt == 0 && pc.number >= atomic_load(&c->finalized)) nap(n, cfg->poll_ms);
    }
    return NULL;
}

/* ---- vault worker ---- */

static void count_lock_refusal(node_vault *nv, const bh_bytes32 *token, int forged)
{
    pthread_mutex_lock(&nv->mu);
    size_t i = 0;
    while (i < nv->n_lock_refusals && memcmp(nv->lock_refusals[i].token.data, token->data, 32))
        i++;
    if (i == nv->n_lock_refusals && i < BH_CONFIG_MAX_ASSETS) {
        memset(&nv->lock_refusals[i], 0, sizeof nv->lock_refusals[i]);
        nv->lock_refusals[i].token = *token;
        nv->n_lock_refusals++;
    }
    if (i < nv->n_lock_refusals) {
        if (forged) nv->lock_refusals[i].forged_locks++;
        else nv->lock_refusals[i].short_locks++;
    }
    pthread_mutex_unlock(&nv->mu);
}

static void count_result(node_vault *nv, const node_inbox_rec *r, const bh_vault_result *res)
{
    bh_node *n = nv->node;
    const bh_transfer_msg *m = &r->msg;
    char src[8], dst[8], q[64];
    const char *sname = chain_name(n, m->emitter_chain, src);
    const char *dname = chain_name(n, m->transfer.to_chain, dst);
    switch (res->status) {
    case BH_VAULT_ACCEPTED:
        atomic_fetch_add(&nv->accepted, 1);
        lat_put(n, &m->digest, r->observed_ms);
        BH_LOG(BH_LOG_INFO, "applied",
               "vault=%s from=%s to=%s seq=%" PRIu64 " status=accepted journal=%" PRIu64,
               nv->cfg->name, sname, dname, m->sequence, res->journal_id);
        emit_msg(n, BH_NODE_EV_ACCEPTED, nv, m, BH_REJECT_OK, NULL);
        break;
    case BH_VAULT_DELAYED:
    case BH_VAULT_HELD:
        atomic_fetch_add(res->status == BH_VAULT_DELAYED ? &nv->delayed : &nv->held, 1);
        BH_LOG(BH_LOG_INFO, "applied",
               "vault=%s from=%s to=%s seq=%" PRIu64 " status=%s cause=%s release_at=%" PRIu64,
               nv->cfg->name, sname, dname, m->sequence, bh_vault_status_name(res->status),
               bh_vault_cause_name(res->cause), res->release_at);
        emit_msg(n, res->status == BH_VAULT_DELAYED ? BH_NODE_EV_DELAYED : BH_NODE_EV_HELD, nv, m,
                 res->reason, bh_vault_cause_name(res->cause));
        /* any user can fill a bucket: counted, evidence only if configured */
        if (res->cause == BH_VAULT_CAUSE_BUCKET || res->cause == BH_VAULT_CAUSE_WINDOW ||
            res->cause == BH_VAULT_CAUSE_CAPACITY)
            observe(n, m->emitter_chain, BH_OBS_RATE_LIMITED, 1, bh_vault_cause_name(res->cause));
        break;
    case BH_VAULT_REJECTED: {
        atomic_fetch_add(&nv->rejected, 1);
        BH_LOG(BH_LOG_WARN, "rejected", "vault=%s from=%s to=%s seq=%" PRIu64 " reason=%s",
               nv->cfg->name, sname, dname, m->sequence, bh_reject_name(res->reason));
        emit_msg(n, BH_NODE_EV_REJECTED, nv, m, res->reason, NULL);
        char d[160];
        char amt[BH_U128_DEC_MAX];
        bh_u128_to_dec(amt, m->amount);
        snprintf(d, sizeof d, "vault %s seq %" PRIu64 " amount %s: %s", nv->cfg->name,
                 m->sequence, amt, bh_reject_name(res->reason));
        /* Evidence only where the emitting chain alone could have caused it:
         * a burn or hop claiming supply the vault never sent it, a replay key
         * reused, a lock of a registered asset with nothing behind it. A cap
         * of the receiving side (exceeds_exposure_cap), a token moving less
         * than it says (short_lock), an unregistered token, a minimum: any
         * user can cause those; refused and counted only. */
        int from_remote = m->emitter_chain != nv->cfg->bridge_id;
        if (from_remote && (res->reason == BH_REJECT_EXCEEDS_OUTSTANDING ||
                            res->reason == BH_REJECT_EXCEEDS_LOCKED))
            observe(n, m->emitter_chain, BH_OBS_EXCEEDS_OUTSTANDING, 1, d);
        else if (res->reason == BH_REJECT_EQUIVOCATION)
            observe(n, m->emitter_chain, BH_OBS_EQUIVOCATION, 1, d);
        else if (res->reason == BH_REJECT_FORGED_LOCK)
            observe(n, m->emitter_chain, BH_OBS_FORGED_LOCK, 1, d);
        if (res->reason == BH_REJECT_FORGED_LOCK || res->reason == BH_REJECT_SHORT_LOCK)
            count_lock_refusal(nv, &m->transfer.token, res->reason == BH_REJECT_FORGED_LOCK);
        else if (res->reason == BH_REJECT_MESSAGE_LIMIT)
            observe(n, m->emitter_chain, BH_OBS_RATE_LIMITED, 1, d);
        (void)q;
        break;
    }
    }
}

/* One group-commit batch, fair across source chains. Returns messages taken. */
static size_t vault_round(node_vault *nv, node_inbox_rec *buf, bh_transfer_msg *msgs,
                          bh_reject *verdicts, bh_vault_result *res, size_t *from_src)
{
    bh_node *n = nv->node;
    const bh_config *cfg = n->cfg;
    size_t total = 0, busy = 0;
    size_t quota = cfg->batch_max / n->n;
    if (quota == 0) quota = 1;
    for (size_t s = 0; s < n->n && total < cfg->batch_max; s++) {
        node_chain *src = &n->chains[s];
        from_src[s] = 0;
        if (bh_breaker_is_tripped(n->breaker, src->cfg->bridge_id)) {
            /* wait for the control loop to freeze it everywhere first */
            pthread_mutex_lock(&nv->mu);
            int frozen = bh_vault_is_quarantined(nv->v, src->cfg->bridge_id);
            pthread_mutex_unlock(&nv->mu);
            if (!frozen) continue;
        }
        size_t room = cfg->batch_max - total, got = 0;
        if (room > quota * 4) room = quota * 4;
        int rc = node_store_inbox_read(n->store, nv->cfg->bridge_id, src->cfg->bridge_id,
                                       nv->next[s], buf + total, room, &got);
        if (rc) {
            BH_LOG(BH_LOG_ERROR, "inbox_read_failed", "vault=%s error=%s", nv->cfg->name,
                   bh_errname(rc));
            continue;
        }
        if (got) busy++;
        from_src[s] = got;
        total += got;
    }
    if (total == 0) return 0;
    /* trim each source to its fair share when several compete */
    if (busy > 1) {
        size_t share = cfg->batch_max / busy, w = 0, r = 0;
        for (size_t s = 0; s < n->n; s++) {
            size_t keep = from_src[s] < share ? from_src[s] : share;
            if (keep < from_src[s] && keep == 0) keep = 1;
            memmove(buf + w, buf + r, keep * sizeof *buf);
            w += keep;
            r += from_src[s];
            from_src[s] = keep;
        }
        total = w;
    }
    pthread_mutex_lock(&nv->mu);
    for (size_t i = 0; i < total; i++) {
        msgs[i] = buf[i].msg;
        verdicts[i] = (bh_reject)buf[i].verdict;
        /* a forged or short lock of a token nobody registered is anyone's
         * token: refused as such, never evidence against the chain */
        bh_vault_asset a;
        if ((verdicts[i] == BH_REJECT_FORGED_LOCK || verdicts[i] == BH_REJECT_SHORT_LOCK) &&
            bh_vault_asset_get(nv->v, &a, &msgs[i].transfer.token) == BH_ENOTFOUND)
            verdicts[i] = BH_REJECT_UNKNOWN_ASSET;
        buf[i].verdict = (uint32_t)verdicts[i];
    }
    int rc = bh_vault_apply_ex(nv->v, res, msgs, verdicts, total, now_s());
    const char *why = rc ? bh_vault_errmsg(nv->v) : "";
    char q[300];
    if (rc)
        BH_LOG(BH_LOG_ERROR, "apply_failed", "vault=%s error=%s why=%s", nv->cfg->name,
               bh_errname(rc), bh_log_quote(q, sizeof q, why));
    pthread_mutex_unlock(&nv->mu);
    if (rc) return 0;

    size_t at = 0;
    for (size_t s = 0; s < n->n; s++) {
        if (!from_src[s]) continue;
        uint64_t below = buf[at + from_src[s] - 1].msg.sequence + 1;
        nv->next[s] = below;
        size_t removed = 0;
        int trc = node_store_inbox_trim(n->store, nv->cfg->bridge_id, n->chains[s].cfg->bridge_id,
                                        below, &removed);
        if (trc)
            BH_LOG(BH_LOG_WARN, "inbox_trim_failed", "vault=%s error=%s", nv->cfg->name,
                   bh_errname(trc));
        uint64_t depth = atomic_load(&n->chains[s].queue_depth);
        atomic_store(&n->chains[s].queue_depth, depth > from_src[s] ? depth - from_src[s] : 0);
        at += from_src[s];
    }
    int *woke = calloc(n->n, sizeof *woke);
    for (size_t i = 0; i < total; i++) {
        count_result(nv, &buf[i], &res[i]);
        if (res[i].status == BH_VAULT_ACCEPTED && woke) {
            node_chain *d = chain_by_id(n, msgs[i].transfer.to_chain);
            if (d) woke[d->idx] = 1;
        }
    }
    for (size_t i = 0; woke && i < n->n; i++)
        if (woke[i]) poke(&n->chains[i].wake_mu, &n->chains[i].wake_cv, &n->chains[i].wake);
    free(woke);
    return total;
}

static void wake_all_deliveries(bh_node *n)
{
    for (size_t i = 0; i < n->n; i++)
        poke(&n->chains[i].wake_mu, &n->chains[i].wake_cv, &n->chains[i].wake);
}

static void *vault_main(void *arg)
{
    node_vault *nv = arg;
    bh_node *n = nv->node;
    const bh_config *cfg = n->cfg;
    size_t cap = cfg->batch_max;
    node_inbox_rec *buf = calloc(cap, sizeof *buf);
    bh_transfer_msg *msgs = calloc(cap, sizeof *msgs);
    bh_reject *verdicts = calloc(cap, sizeof *verdicts);
    bh_vault_result *res = calloc(cap, sizeof *res);
    size_t *from_src = calloc(n->n, sizeof *from_src);
    if (!buf || !msgs || !verdicts || !res || !from_src) {
        atomic_store(&n->fatal, BH_ENOMEM);
        goto out;
    }
    uint64_t last_release = 0;
    while (!stopping(n)) {
        size_t took = vault_round(nv, buf, msgs, verdicts, res, from_src);
        if (mono_ms() - last_release >= 1000) {
            last_release = mono_ms();
            size_t released = 0;
            pthread_mutex_lock(&nv->mu);
            int rc = bh_vault_release_due(nv->v, &released, now_s(), 0);
            pthread_mutex_unlock(&nv->mu);
            if (rc == BH_OK && released) {
                atomic_fetch_add(&nv->released, released);
                BH_LOG(BH_LOG_INFO, "released", "vault=%s count=%zu", nv->cfg->name, released);
                char d[32];
                snprintf(d, sizeof d, "%zu", released);
                bh_node_event ev = {.kind = BH_NODE_EV_RELEASED,
                                    .time = now_s(),
                                    .vault = nv->cfg->name,
                                    .detail = d};
                emit(n, &ev);
                wake_all_deliveries(n);
            }
        }
        if (took == 0) wait_on(n, &nv->wake_mu, &nv->wake_cv, &nv->wake, cfg->poll_ms);
    }
out:
    free(buf);
    free(msgs);
    free(verdicts);
    free(res);
    free(from_src);
    return NULL;
}

/* ---- delivery ---- */

typedef struct {
    node_chain *d;
    bh_attest *ctx;
    bh_rpc *ep;
    bh_evm_sender *sender;
    backoff_ent *backoff; /* BACKOFF_SLOTS, open addressing on (vault, id) */
} deliverer;

static size_t backoff_hash(size_t vault, uint64_t id)
{
    uint64_t h = (id ^ ((uint64_t)vault << 56)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) % BACKOFF_SLOTS;
}

/* The failure record of an outbox entry, or (create) a new one: a free slot
 * of its probe run, else the one there whose back-off ends first. */
static backoff_ent *backoff_find(deliverer *dl, size_t vault, uint64_t id, int create)
{
    size_t at = backoff_hash(vault, id);
    backoff_ent *victim = NULL;
    for (size_t i = 0; i < BACKOFF_PROBE; i++) {
        backoff_ent *b = &dl->backoff[(at + i) % BACKOFF_SLOTS];
        if (b->id == id && b->vault == vault) return b;
        if (!victim || (victim->id && (!b->id || b->until_ms < victim->until_ms))) victim = b;
    }
    if (!create) return NULL;
    memset(victim, 0, sizeof *victim);
    victim->id = id;
    victim->vault = vault;
    return victim;
}

static void update_wallet(deliverer *dl)
{
    char addr[43];
    hex0x(addr, bh_evm_sender_address(dl->sender)->data, 20);
    json_t *params = json_pack("[ss]", addr, "latest"), *res = NULL;
    if (params && bh_rpc_call(dl->ep, &res, "eth_getBalance", params) == BH_OK) {
        bh_u256 v;
        if (bh_rpc_read_u256(&v, res) == BH_OK) {
            pthread_mutex_lock(&dl->d->info_mu);
            bh_u256_to_dec(dl->d->wallet, &v);
            pthread_mutex_unlock(&dl->d->info_mu);
        }
    }
    json_decref(res);
    json_decref(params);
}

/* Park an entry the destination keeps refusing: it leaves the outbox (the
 * transfer stays applied) and an operator decides (vaultctl parked/requeue). */
static void park(deliverer *dl, node_vault *nv, const bh_vault_outbox_entry *e, backoff_ent *b,
                 const char *err)
{
    node_chain *d = dl->d;
    bh_node *n = d->node;
    char src[8], q[300];
    pthread_mutex_lock(&nv->mu);
    int rc = bh_vault_outbox_park(nv->v, e->id, now_s(), b->tries, err, "node");
    pthread_mutex_unlock(&nv->mu);
    if (rc != BH_OK) {
        BH_LOG(BH_LOG_ERROR, "park_failed", "vault=%s id=%" PRIu64 " error=%s", nv->cfg->name,
               e->id, bh_errname(rc));
        return;
    }
    BH_LOG(BH_LOG_WARN, "parked",
           "vault=%s from=%s to=%s seq=%" PRIu64 " id=%" PRIu64 " tries=%u error=%s",
           nv->cfg->name, chain_name(n, e->msg.emitter_chain, src), d->cfg->name, e->msg.sequence,
           e->id, b->tries, bh_log_quote(q, sizeof q, err));
    memset(b, 0, sizeof *b);
    emit_msg(n, BH_NODE_EV_PARKED, nv, &e->msg, BH_REJECT_OK, err);
}

static const char *outcome_name(bh_submit_outcome o)
{
    return o == BH_SUBMIT_EXECUTED ? "executed" : o == BH_SUBMIT_APPROVED ? "approved"
                                                                          : "already_done";
}

static void deliver_one(deliverer *dl, node_vault *nv, const bh_vault_outbox_entry *e)
{
    node_chain *d = dl->d;
    bh_node *n = d->node;
    const bh_config *cfg = n->cfg;
    const bh_transfer_msg *m = &e->msg;
    char src[8], q[300];
    const char *sname = chain_name(n, m->emitter_chain, src);
    unsigned char body[BH_EVENT_BODY_MAX];
    unsigned char vaa[BH_VAA_HEADER_FIXED + BH_VAA_SIG_LEN + BH_EVENT_BODY_MAX];
    size_t blen = 0, vlen = 0;
    const char *err = NULL;
    int rc = bh_transfer_msg_body(body, sizeof body, &blen, m);
    if (rc) {
        err = "outbox entry does not hash to its digest: not signed";
    } else {
        rc = bh_portal_sign_vaa(dl->ctx, vaa, sizeof vaa, &vlen, cfg->signer_set_index,
                                cfg->signer_index, &cfg->attester_key, body, blen);
        if (rc) err = "signing failed";
    }
    bh_submit_outcome outcome = BH_SUBMIT_APPROVED;
    unsigned approvals = 0;
    if (!rc) {
        rc = bh_portal_submit(dl->sender, &outcome, &approvals, &d->cfg->portal, vaa, vlen);
        if (rc) err = bh_evm_sender_last_error(dl->sender);
    }
    if (rc == BH_OK) {
        pthread_mutex_lock(&nv->mu);
        int arc = bh_vault_outbox_ack(nv->v, e->id);
        pthread_mutex_unlock(&nv->mu);
        if (arc && arc != BH_ENOTFOUND)
            BH_LOG(BH_LOG_ERROR, "ack_failed", "vault=%s id=%" PRIu64 " error=%s", nv->cfg->name,
                   e->id, bh_errname(arc));
        backoff_ent *b = backoff_find(dl, nv->idx, e->id, 0);
        if (b) memset(b, 0, sizeof *b);
        atomic_fetch_add(&d->deliveries_ok, 1);
        int64_t lat = lat_take(n, &m->digest);
        BH_LOG(BH_LOG_INFO, "delivered",
               "vault=%s from=%s to=%s seq=%" PRIu64 " outcome=%s approvals=%u latency_ms=%" PRId64,
               nv->cfg->name, sname, d->cfg->name, m->sequence, outcome_name(outcome), approvals,
               lat);
        emit_msg(n, BH_NODE_EV_DELIVERED, nv, m, BH_REJECT_OK, outcome_name(outcome));
        return;
    }
    atomic_fetch_add(&d->deliveries_failed, 1);
    if (!err || !*err) err = bh_strerror(rc);
    if (rc == BH_EREVERTED && (strstr(err, "bad signature") || strstr(err, "signer"))) {
        char det[160];
        snprintf(det, sizeof det, "Portal refused our attestation: %s", err);
        observe(n, d->cfg->bridge_id, BH_OBS_BAD_SIGNATURE, 1, det);
    }
    backoff_ent *b = backoff_find(dl, nv->idx, e->id, 1);
    b->tries++;
    /* only the destination refusing this very message counts toward parking:
     * an endpoint that is down fails every entry alike */
    if (rc == BH_EREVERTED) b->reverts++;
    uint64_t wait = 1000ull << (b->tries < 6 ? b->tries : 6);
    b->until_ms = mono_ms() + wait;
    BH_LOG(BH_LOG_WARN, "delivery_failed",
           "vault=%s from=%s to=%s seq=%" PRIu64 " error=%s why=%s retry_ms=%" PRIu64,
           nv->cfg->name, sname, d->cfg->name, m->sequence, bh_errname(rc),
           bh_log_quote(q, sizeof q, err), wait);
    emit_msg(n, BH_NODE_EV_DELIVERY_FAILED, nv, m, BH_REJECT_OK, err);
    if (b->reverts >= cfg->park_after) park(dl, nv, e, b, err);
}

/* One round's picks: up to PER_SOURCE entries per source chain, over every
 * vault, skipping entries in back-off and entries from quarantined chains,
 * so nothing that cannot go now holds a slot. */
typedef struct {
    bh_vault_outbox_entry e;
    size_t vault;
} pick;

typedef struct {
    deliverer *dl;
    size_t vault;
    uint64_t now_ms;
    const int *src_paused; /* per chain index */
    size_t *per_src;       /* per chain index, picks so far this round */
    size_t open_sources;   /* sources whose quota is not full */
    pick *picks;
    size_t n_picks;
    size_t cap;
} pick_ctx;

static int pick_cb(void *ctx, const bh_vault_outbox_entry *e)
{
    pick_ctx *pc = ctx;
    bh_node *n = pc->dl->d->node;
    node_chain *s = chain_by_id(n, e->msg.emitter_chain);
    if (!s || pc->src_paused[s->idx] || pc->per_src[s->idx] >= PER_SOURCE) return 0;
    backoff_ent *b = backoff_find(pc->dl, pc->vault, e->id, 0);
    if (b && b->until_ms > pc->now_ms) return 0;
    pc->picks[pc->n_picks].e = *e;
    pc->picks[pc->n_picks].vault = pc->vault;
    pc->n_picks++;
    if (++pc->per_src[s->idx] == PER_SOURCE && --pc->open_sources == 0) return 1;
    return pc->n_picks == pc->cap ? 1 : 0;
}

static void *deliver_main(void *arg)
{
    deliverer *dl = arg;
    node_chain *d = dl->d;
    bh_node *n = d->node;
    uint64_t last_wallet = 0;
    size_t rr = 0;
    size_t cap = PER_SOURCE * n->n;
    pick *picks = calloc(cap, sizeof *picks);
    size_t *per_src = calloc(n->n, sizeof *per_src);
    int *src_paused = calloc(n->n, sizeof *src_paused);
    if (!picks || !per_src || !src_paused) {
        atomic_store(&n->fatal, BH_ENOMEM);
        goto out;
    }
    while (!stopping(n)) {
        if (!atomic_load(&d->identity_ok)) {
            /* nothing goes to a chain before it is known to be the one the
             * data_dir was made with (a reset chain gets nothing old) */
            wait_on(n, &d->wake_mu, &d->wake_cv, &d->wake, n->cfg->poll_ms);
            continue;
        }
        if (mono_ms() - last_wallet >= 10000) {
            update_wallet(dl);
            last_wallet = mono_ms();
        }
        memset(per_src, 0, n->n * sizeof *per_src);
        pick_ctx pc = {.dl = dl, .picks = picks, .cap = cap, .per_src = per_src,
                       .src_paused = src_paused, .open_sources = n->n};
        for (size_t k = 0; k < n->n && pc.n_picks < cap && !stopping(n); k++) {
            node_vault *nv = &n->vaults[(rr + k) % n->n];
            pthread_mutex_lock(&nv->mu);
            int paused = bh_vault_is_quarantined(nv->v, d->cfg->bridge_id);
            /* a chain found compromised gets nothing more delivered from it */
            size_t open = 0;
            for (size_t s = 0; s < n->n; s++) {
                src_paused[s] = bh_vault_is_quarantined(nv->v, n->chains[s].cfg->bridge_id);
                if (!src_paused[s] && per_src[s] < PER_SOURCE) open++;
            }
            pc.vault = nv->idx;
            pc.now_ms = mono_ms();
            pc.open_sources = open;
            int rc = paused || !open ? BH_OK
                                     : bh_vault_outbox_scan_to(nv->v, d->cfg->bridge_id, 0,
                                                               SCAN_MAX, pick_cb, &pc);
            pthread_mutex_unlock(&nv->mu);
            if (rc < 0)
                BH_LOG(BH_LOG_ERROR, "outbox_read_failed", "vault=%s to=%s error=%s",
                       nv->cfg->name, d->cfg->name, bh_errname(rc));
        }
        rr++;
        /* serve the sources in turn: each source's first pick, then each
         * one's second, so a flooding source waits behind everyone else */
        size_t did = 0;
        for (size_t r = 0; r < PER_SOURCE && !stopping(n); r++) {
            size_t seen[BH_CONFIG_MAX_CHAINS] = {0};
            for (size_t i = 0; i < pc.n_picks && !stopping(n); i++) {
                node_chain *s = chain_by_id(n, picks[i].e.msg.emitter_chain);
                if (!s || seen[s->idx]++ != r) continue;
                deliver_one(dl, &n->vaults[picks[i].vault], &picks[i].e);
                did++;
            }
        }
        if (!did) wait_on(n, &d->wake_mu, &d->wake_cv, &d->wake, n->cfg->poll_ms);
    }
out:
    free(picks);
    free(per_src);
    free(src_paused);
    return NULL;
}

static void deliverer_free(deliverer *dl)
{
    if (!dl) return;
    bh_evm_sender_destroy(dl->sender);
    bh_rpc_destroy(dl->ep);
    bh_attest_destroy(dl->ctx);
    free(dl->backoff);
    free(dl);
}

static int deliverer_new(deliverer **out, node_chain *d, char *err, size_t cap)
{
    *out = NULL;
    deliverer *dl = calloc(1, sizeof *dl);
    if (!dl) return BH_ENOMEM;
    dl->d = d;
    dl->ctx = bh_attest_create();
    dl->backoff = calloc(BACKOFF_SLOTS, sizeof *dl->backoff);
    bh_rpc_options ro = {.url = d->cfg->endpoints[0],
                         .timeout_ms = d->cfg->rpc_timeout_ms,
                         .max_retries = d->cfg->rpc_retries,
                         .log = rpc_log,
                         .log_ud = d};
    int rc = dl->ctx && dl->backoff ? bh_rpc_create(&dl->ep, &ro) : BH_ENOMEM;
    bh_evm_sender_options so = {.chain_id = d->cfg->evm_chain_id,
                                .gas_cap = d->cfg->gas_cap,
                                .max_fee_cap = d->cfg->max_fee_gwei * 1000000000ull,
                                .poll_ms = 10};
    if (!rc) rc = bh_evm_sender_create(&dl->sender, dl->ep, dl->ctx, &d->cfg->tx_key, &so);
    if (rc) {
        snprintf(err, cap, "chain %s: cannot set up delivery: %s", d->cfg->name, bh_strerror(rc));
        deliverer_free(dl);
        return rc;
    }
    *out = dl;
    return BH_OK;
}

/* ---- breaker actions: quarantine and limit tightening ---- */

static void apply_trip(bh_node *n, const bh_breaker_trip *t)
{
    char nb[8], q[400];
    const char *name = chain_name(n, t->chain, nb);
    size_t frozen = 0;
    for (size_t i = 0; i < n->n; i++) {
        node_vault *nv = &n->vaults[i];
        pthread_mutex_lock(&nv->mu);
        int rc = bh_vault_freeze(nv->v, t->chain, now_s(), "breaker", t->evidence);
        pthread_mutex_unlock(&nv->mu);
        if (rc == BH_OK) frozen++;
        else if (rc != BH_EEXIST)
            BH_LOG(BH_LOG_ERROR, "freeze_failed", "vault=%s chain=%s error=%s", nv->cfg->name,
                   name, bh_errname(rc));
    }
    node_chain *c = chain_by_id(n, t->chain);
    if (c) {
        pthread_mutex_lock(&c->info_mu);
        c->has_trip = 1;
        c->trip = *t;
        pthread_mutex_unlock(&c->info_mu);
    }
    atomic_fetch_add(&n->quarantines, 1);
    BH_LOG(BH_LOG_ERROR, "quarantined", "chain=%s cause=%s count=%" PRIu64 " vaults=%zu evidence=%s",
           name, bh_obs_name(t->cause), t->count, frozen,
           bh_log_quote(q, sizeof q, t->evidence));
    bh_node_event ev = {.kind = BH_NODE_EV_QUARANTINED,
                        .time = now_s(),
                        .from_chain = t->chain,
                        .detail = t->evidence};
    emit(n, &ev);
}

typedef struct {
    uint16_t chain;
    bh_bytes32 token[BH_CONFIG_MAX_ASSETS];
    bh_u128 cap[BH_CONFIG_MAX_ASSETS], refill[BH_CONFIG_MAX_ASSETS];
    size_t n;
} lane_list;

static int collect_lane(void *ctx, const bh_bytes32 *token, uint16_t chain, const bh_vault_lane *l)
{
    lane_list *ll = ctx;
    if (chain != ll->chain || !l->in.capacity || ll->n == BH_CONFIG_MAX_ASSETS) return 0;
    ll->token[ll->n] = *token;
    ll->cap[ll->n] = l->in.capacity;
    ll->refill[ll->n] = l->in.refill;
    ll->n++;
    return 0;
}

typedef struct {
    bh_u128 cap, refill;
} tight_rec;

static void tight_key(char *out, size_t cap, const char *vault, const bh_bytes32 *t, uint16_t c)
{
    char hex[65];
    bh_hex_encode(hex, t->data, 32);
    snprintf(out, cap, "tight/%s/%s/%u", vault, hex, (unsigned)c);
}

static void set_in_limits(node_vault *nv, const bh_bytes32 *token, uint16_t chain, bh_u128 cap,
                          bh_u128 refill, const char *reason)
{
    char k1[32], k2[32];
    snprintf(k1, sizeof k1, "in_capacity.%u", (unsigned)chain);
    snprintf(k2, sizeof k2, "in_refill.%u", (unsigned)chain);
    uint64_t now = now_s();
    int rc = bh_vault_set_limit(nv->v, token, k1, cap, now, "breaker", reason);
    if (!rc) rc = bh_vault_set_limit(nv->v, token, k2, refill, now, "breaker", reason);
    if (rc)
        BH_LOG(BH_LOG_ERROR, "limits_failed", "vault=%s chain=%u error=%s", nv->cfg->name,
               (unsigned)chain, bh_errname(rc));
}

static void tighten(bh_node *n, node_chain *c)
{
    unsigned pct = n->cfg->breaker.spike_tighten_percent;
    char reason[96];
    snprintf(reason, sizeof reason, "flow spike from %s: buckets at %u%%", c->cfg->name, pct);
    size_t changed = 0;
    for (size_t i = 0; i < n->n; i++) {
        node_vault *nv = &n->vaults[i];
        lane_list ll = {.chain = c->cfg->bridge_id};
        pthread_mutex_lock(&nv->mu);
        if (bh_vault_each_lane(nv->v, NULL, collect_lane, &ll) == BH_OK) {
            for (size_t k = 0; k < ll.n; k++) {
                char key[160];
                tight_key(key, sizeof key, nv->cfg->name, &ll.token[k], ll.chain);
                tight_rec orig;
                if (node_store_meta_get(n->store, key, &orig, sizeof orig) == BH_OK)
                    continue; /* already tightened */
                orig.cap = ll.cap[k];
                orig.refill = ll.refill[k];
                if (node_store_meta_put(n->store, key, &orig, sizeof orig)) continue;
                bh_u128 cap = orig.cap * pct / 100, refill = orig.refill * pct / 100;
                set_in_limits(nv, &ll.token[k], ll.chain, cap ? cap : 1,
                              refill || !orig.refill ? refill : 1, reason);
                changed++;
            }
        }
        pthread_mutex_unlock(&nv->mu);
    }
    BH_LOG(BH_LOG_WARN, "limits_tightened", "chain=%s percent=%u lanes=%zu", c->cfg->name, pct,
           changed);
    bh_node_event ev = {.kind = BH_NODE_EV_LIMITS,
                        .time = now_s(),
                        .from_chain = c->cfg->bridge_id,
                        .detail = "tightened"};
    emit(n, &ev);
}

typedef struct {
    char keys[256][160];
    size_t n;
} key_list;

static int collect_key(void *ctx, const char *key, const void *val, size_t len)
{
    key_list *kl = ctx;
    (void)val;
    (void)len;
    if (kl->n < 256) snprintf(kl->keys[kl->n++], 160, "%s", key);
    return 0;
}

/* Restore every tightened bucket of chain (0 = all chains). */
static void relax(bh_node *n, uint16_t chain, const char *why)
{
    key_list *kl = calloc(1, sizeof *kl);
    if (!kl) return;
    if (node_store_meta_each(n->store, "tight/", collect_key, kl) < 0) kl->n = 0;
    size_t restored = 0;
    for (size_t i = 0; i < kl->n; i++) {
        char vault[64], hex[80];
        unsigned c;
        if (sscanf(kl->keys[i], "tight/%63[^/]/%79[^/]/%u", vault, hex, &c) != 3) continue;
        if (chain && c != chain) continue;
        tight_rec orig;
        bh_bytes32 token;
        if (node_store_meta_get(n->store, kl->keys[i], &orig, sizeof orig) ||
            bh_hex_decode_exact(token.data, 32, hex, strlen(hex)))
            continue;
        for (size_t k = 0; k < n->n; k++) {
            node_vault *nv = &n->vaults[k];
            if (strcmp(nv->cfg->name, vault)) continue;
            pthread_mutex_lock(&nv->mu);
            set_in_limits(nv, &token, (uint16_t)c, orig.cap, orig.refill, why);
            pthread_mutex_unlock(&nv->mu);
        }
        if (node_store_meta_del(n->store, kl->keys[i]) == BH_OK) restored++;
    }
    free(kl);
    if (restored) {
        BH_LOG(BH_LOG_INFO, "limits_relaxed", "chain=%u lanes=%zu", (unsigned)chain, restored);
        bh_node_event ev = {.kind = BH_NODE_EV_LIMITS,
                            .time = now_s(),
                            .from_chain = chain,
                            .detail = "relaxed"};
        emit(n, &ev);
    }
}

/* An operator lifted the quarantine in every vault (vaultctl unfreeze): the
 * breaker starts counting afresh for that chain. */
static void lift_check(bh_node *n, node_chain *c)
{
    for (size_t i = 0; i < n->n; i++) {
        pthread_mutex_lock(&n->vaults[i].mu);
        int q = bh_vault_is_quarantined(n->vaults[i].v, c->cfg->bridge_id);
        pthread_mutex_unlock(&n->vaults[i].mu);
        if (q) return;
    }
    bh_breaker_reset(n->breaker, c->cfg->bridge_id);
    pthread_mutex_lock(&c->info_mu);
    c->has_trip = 0;
    pthread_mutex_unlock(&c->info_mu);
    BH_LOG(BH_LOG_WARN, "quarantine_lifted", "chain=%s by=operator", c->cfg->name);
    poke(&n->vaults[c->idx].wake_mu, &n->vaults[c->idx].wake_cv, &n->vaults[c->idx].wake);
}

static void breaker_key(char *out, size_t cap, uint16_t chain)
{
    snprintf(out, cap, "breaker/%u", (unsigned)chain);
}

/* Breaker windows survive a restart: saved whenever they moved. A crash
 * loses at most the observations of the last control tick. */
static void breaker_persist(bh_node *n)
{
    uint64_t v = bh_breaker_version(n->breaker);
    if (v == n->breaker_saved) return;
    unsigned char *buf = malloc(BH_BREAKER_STATE_MAX);
    if (!buf) return;
    int ok = 1;
    for (size_t i = 0; i < n->n; i++) {
        char key[32];
        size_t len = 0;
        breaker_key(key, sizeof key, n->chains[i].cfg->bridge_id);
        if (bh_breaker_save(n->breaker, n->chains[i].cfg->bridge_id, buf, BH_BREAKER_STATE_MAX,
                            &len) != BH_OK ||
            node_store_meta_put(n->store, key, buf, len) != BH_OK)
            ok = 0;
    }
    free(buf);
    if (ok) n->breaker_saved = v;
}

static void breaker_restore(bh_node *n)
{
    unsigned char *buf = malloc(BH_BREAKER_STATE_MAX);
    if (!buf) return;
    for (size_t i = 0; i < n->n; i++) {
        char key[32];
        size_t len = 0;
        uint16_t id = n->chains[i].cfg->bridge_id;
        breaker_key(key, sizeof key, id);
        int rc = node_store_meta_read(n->store, key, buf, BH_BREAKER_STATE_MAX, &len);
        if (rc == BH_OK) rc = bh_breaker_load(n->breaker, id, buf, len);
        if (rc != BH_OK && rc != BH_ENOTFOUND)
            BH_LOG(BH_LOG_WARN, "breaker_restore_failed", "chain=%s error=%s",
                   n->chains[i].cfg->name, bh_errname(rc));
    }
    free(buf);
    n->breaker_saved = bh_breaker_version(n->breaker);
}

static void control_tick(bh_node *n)
{
    bh_breaker_trip trips[TRIP_QUEUE];
    pthread_mutex_lock(&n->trip_mu);
    size_t k = n->n_trips;
    memcpy(trips, n->trips, k * sizeof *trips);
    n->n_trips = 0;
    pthread_mutex_unlock(&n->trip_mu);
    for (size_t i = 0; i < k; i++) apply_trip(n, &trips[i]);
    if (k) {
        for (size_t i = 0; i < n->n; i++)
            poke(&n->vaults[i].wake_mu, &n->vaults[i].wake_cv, &n->vaults[i].wake);
    }
    for (size_t i = 0; i < n->n; i++) {
        node_chain *c = &n->chains[i];
        pthread_mutex_lock(&c->info_mu);
        int frozen_by_us = c->has_trip;
        pthread_mutex_unlock(&c->info_mu);
        if (frozen_by_us) lift_check(n, c);
        uint64_t f = atomic_load(&c->flow);
        bh_flow_action a = bh_breaker_flow(n->breaker, c->cfg->bridge_id, f - c->flow_seen, now_s());
        c->flow_seen = f;
        if (a == BH_FLOW_TIGHTEN) tighten(n, c);
        else if (a == BH_FLOW_RELAX) relax(n, c->cfg->bridge_id, "flow back to normal");
    }
    breaker_persist(n);
}

/* ---- setup ---- */

static int u128_eq_limit(bh_vault *v, const bh_bytes32 *token, const char *key, bh_u128 want)
{
    bh_vault_asset a;
    if (bh_vault_asset_get(v, &a, token) != BH_OK) return 0;
    if (!strcmp(key, "big_threshold")) return a.big_threshold == want;
    if (!strcmp(key, "big_delay")) return a.big_delay == want;
    if (!strcmp(key, "min_amount")) {
        bh_u128 have = 0;
        return bh_vault_min_amount_get(v, &have, token) == BH_OK && have == want;
    }
    const char *dot = strchr(key, '.');
    if (!dot) return 0;
    bh_vault_lane l;
    uint16_t chain = (uint16_t)strtoul(dot + 1, NULL, 10);
    if (bh_vault_lane_get(v, &l, token, chain) != BH_OK) memset(&l, 0, sizeof l);
    size_t kl = (size_t)(dot - key);
    if (!strncmp(key, "cap", kl) && kl == 3) return l.cap == want;
    if (!strncmp(key, "window", kl) && kl == 6) return l.window_limit == want;
    if (!strncmp(key, "in_capacity", kl) && kl == 11) return l.in.capacity == want;
    if (!strncmp(key, "in_refill", kl) && kl == 9) return l.in.refill == want;
    if (!strncmp(key, "out_capacity", kl) && kl == 12) return l.out.capacity == want;
    if (!strncmp(key, "out_refill", kl) && kl == 10) return l.out.refill == want;
    return 0;
}

typedef struct {
    uint16_t chain;
    uint32_t limit;
    int found;
} chain_limit;

static int find_chain_limit(void *ctx, uint16_t chain, uint32_t msg_limit, uint32_t count_24h)
{
    chain_limit *cl = ctx;
    (void)count_24h;
    if (chain == cl->chain) {
        cl->limit = msg_limit;
        cl->found = 1;
        return 1;
    }
    return 0;
}

static int vault_prepare(bh_node *n, node_vault *nv, char *err, size_t cap)
{
    const bh_config *cfg = n->cfg;
    const bh_config_chain *cc = nv->cfg;
    uint64_t now = now_s();
    char why[512];
    bh_vault_opts o = {0};
    int rc = bh_vault_open(&nv->v, cfg->data_dir, cc->name, &o, why, sizeof why);
    if (rc == BH_ENOTFOUND) {
        rc = bh_vault_init_dir(cfg->data_dir, cc->name, cc->bridge_id, now, "node",
                               "created by bulkhead run");
        if (rc == BH_OK) {
            BH_LOG(BH_LOG_INFO, "vault_created", "vault=%s chain_id=%u", cc->name,
                   (unsigned)cc->bridge_id);
            rc = bh_vault_open(&nv->v, cfg->data_dir, cc->name, &o, why, sizeof why);
        } else {
            snprintf(why, sizeof why, "cannot create it: %s", bh_strerror(rc));
        }
    }
    if (rc) {
        snprintf(err, cap, "vault %s in %s: %s", cc->name, cfg->data_dir, why);
        return rc;
    }
    if (bh_vault_chain_id(nv->v) != cc->bridge_id) {
        snprintf(err, cap,
                 "vault %s has chain id %u but the config says bridge_id %u; fix the config or "
                 "use another data_dir",
                 cc->name, (unsigned)bh_vault_chain_id(nv->v), (unsigned)cc->bridge_id);
        return BH_ECONFIG;
    }
    for (size_t i = 0; i < cc->n_assets; i++) {
        const bh_config_asset *a = &cc->assets[i];
        bh_bytes32 tok;
        bh_address_to_bytes32(&tok, &a->token);
        bh_vault_asset have;
        rc = bh_vault_asset_get(nv->v, &have, &tok);
        if (rc == BH_ENOTFOUND) {
            rc = bh_vault_asset_add(nv->v, &tok, a->decimals, a->symbol, now, "node", "config");
        } else if (rc == BH_OK && have.decimals != a->decimals) {
            snprintf(err, cap, "vault %s: asset %s has %u decimals, the config says %u", cc->name,
                     a->symbol, (unsigned)have.decimals, (unsigned)a->decimals);
            return BH_ECONFIG;
        }
        for (size_t k = 0; !rc && k < a->n_limits; k++) {
            const bh_config_limit *l = &a->limits[k];
            if (u128_eq_limit(nv->v, &tok, l->key, l->value)) continue;
            rc = bh_vault_set_limit(nv->v, &tok, l->key, l->value, now, "node", "config");
        }
        if (rc) {
            snprintf(err, cap, "vault %s: asset %s: %s", cc->name, a->symbol,
                     bh_vault_errmsg(nv->v));
            return rc;
        }
    }
    /* every vault counts each source chain's messages against its msg_limit */
    for (size_t s = 0; s < n->n; s++) {
        const bh_config_chain *src = n->chains[s].cfg;
        chain_limit cl = {.chain = src->bridge_id};
        if (bh_vault_each_chain(nv->v, now, find_chain_limit, &cl) < 0) cl.found = 0;
        if (cl.limit == src->msg_limit) continue;
        char key[24];
        snprintf(key, sizeof key, "msg_limit.%u", (unsigned)src->bridge_id);
        rc = bh_vault_set_limit(nv->v, NULL, key, src->msg_limit, now, "node", "config");
        if (rc) {
            snprintf(err, cap, "vault %s: %s", cc->name, bh_vault_errmsg(nv->v));
            return rc;
        }
    }
    nv->next = calloc(n->n, sizeof *nv->next);
    if (!nv->next) return BH_ENOMEM;
    for (size_t s = 0; s < n->n; s++) {
        rc = bh_vault_source_next(nv->v, n->chains[s].cfg->bridge_id, &nv->next[s]);
        if (rc) {
            snprintf(err, cap, "vault %s: %s", cc->name, bh_strerror(rc));
            return rc;
        }
        /* entries the vault took before a crash are dropped from the inbox */
        size_t removed = 0;
        if (node_store_inbox_trim(n->store, cc->bridge_id, n->chains[s].cfg->bridge_id,
                                  nv->next[s], &removed) == BH_OK &&
            removed)
            BH_LOG(BH_LOG_INFO, "inbox_resumed", "vault=%s source=%s skipped=%zu", cc->name,
                   n->chains[s].cfg->name, removed);
    }
    return BH_OK;
}

static int chain_prepare(bh_node *n, node_chain *c, char *err, size_t cap)
{
    const bh_config_chain *cc = c->cfg;
    bh_address tokens[BH_CONFIG_MAX_ASSETS];
    for (size_t i = 0; i < cc->n_assets; i++)
        tokens[i] = cc->assets[i].token;
    bh_evm_chain_config ec = {.bridge_id = cc->bridge_id,
                              .tokens = tokens,
                              .n_tokens = cc->n_assets,
                              .evm_chain_id = cc->evm_chain_id,
                              .urls = (const char *const *)cc->endpoints,
                              .n_urls = cc->n_endpoints,
                              .quorum = cc->quorum,
                              .confirmations = cc->confirmations,
                              .portal = cc->portal,
                              .max_range = cc->max_range,
                              .rpc = {.timeout_ms = cc->rpc_timeout_ms,
                                      .max_retries = cc->rpc_retries,
                                      .log = rpc_log,
                                      .log_ud = c}};
    int rc = bh_evm_chain_create(&c->evm, &ec);
    if (rc) {
        snprintf(err, cap, "chain %s: %s", cc->name, bh_strerror(rc));
        return rc;
    }
    c->ops = (bh_chain_ops){.kind = "evm",
                            .verify = w_verify,
                            .finalized = w_finalized,
                            .block_hash = w_block_hash,
                            .fetch = w_fetch};
    uint64_t depth = 0;
    rc = node_store_inbox_count(n->store, cc->bridge_id, &depth);
    if (rc) {
        snprintf(err, cap, "node store: %s", bh_strerror(rc));
        return rc;
    }
    atomic_store(&c->queue_depth, depth);
    return BH_OK;
}

int bh_node_create(bh_node **out, const bh_config *cfg, char *err, size_t err_cap)
{
    if (out) *out = NULL;
    if (err && err_cap) err[0] = 0;
    if (!out || !cfg || !err || cfg->n_chains == 0) return BH_EINVAL;
    bh_node *n = calloc(1, sizeof *n);
    if (!n) return BH_ENOMEM;
    n->cfg = cfg;
    n->n = cfg->n_chains;
    n->started = now_s();
    pthread_mutex_init(&n->trip_mu, NULL);
    pthread_mutex_init(&n->lat_mu, NULL);
    pthread_mutex_init(&n->nap_mu, NULL);
    pthread_cond_init(&n->nap_cv, NULL);
    n->chains = calloc(n->n, sizeof *n->chains);
    n->vaults = calloc(n->n, sizeof *n->vaults);
    n->lat = calloc(LATENCY_SLOTS, sizeof *n->lat);
    uint16_t ids[BH_CONFIG_MAX_CHAINS];
    for (size_t i = 0; i < n->n; i++) ids[i] = cfg->chains[i].bridge_id;
    int rc = n->chains && n->vaults && n->lat ? BH_OK : BH_ENOMEM;
    for (size_t i = 0; !rc && i < n->n; i++) {
        node_chain *c = &n->chains[i];
        c->node = n;
        c->idx = i;
        c->cfg = &cfg->chains[i];
        pthread_mutex_init(&c->info_mu, NULL);
        pthread_mutex_init(&c->wake_mu, NULL);
        pthread_cond_init(&c->wake_cv, NULL);
        node_vault *nv = &n->vaults[i];
        nv->node = n;
        nv->idx = i;
        nv->cfg = &cfg->chains[i];
        pthread_mutex_init(&nv->mu, NULL);
        pthread_mutex_init(&nv->wake_mu, NULL);
        pthread_cond_init(&nv->wake_cv, NULL);
    }
    if (!rc && (rc = bh_breaker_create(&n->breaker, &cfg->breaker, ids, n->n)))
        snprintf(err, err_cap, "breaker: %s", bh_strerror(rc));
    if (!rc) rc = node_store_open(&n->store, cfg->data_dir, err, err_cap);
    for (size_t i = 0; !rc && i < n->n; i++) rc = chain_prepare(n, &n->chains[i], err, err_cap);
    for (size_t i = 0; !rc && i < n->n; i++) rc = vault_prepare(n, &n->vaults[i], err, err_cap);
    if (rc) {
        if (!err[0]) snprintf(err, err_cap, "%s", bh_strerror(rc));
        bh_node_destroy(n);
        return rc;
    }
    /* tightening does not survive a restart: the spike state is gone */
    relax(n, 0, "node restarted");
    breaker_restore(n);
    *out = n;
    return BH_OK;
}

void bh_node_set_observer(bh_node *n, bh_node_observer fn, void *ud)
{
    if (!n) return;
    n->obs = fn;
    n->obs_ud = ud;
}

void bh_node_stop(bh_node *n)
{
    if (n) atomic_store(&n->stop, 1);
}

void bh_node_reopen_logs(bh_node *n)
{
    if (n) atomic_store(&n->reopen, 1);
}

static void wake_everyone(bh_node *n)
{
    pthread_mutex_lock(&n->nap_mu);
    pthread_cond_broadcast(&n->nap_cv);
    pthread_mutex_unlock(&n->nap_mu);
    for (size_t i = 0; i < n->n; i++) {
        poke(&n->vaults[i].wake_mu, &n->vaults[i].wake_cv, &n->vaults[i].wake);
        poke(&n->chains[i].wake_mu, &n->chains[i].wake_cv, &n->chains[i].wake);
    }
}

int bh_node_run(bh_node *n)
{
    if (!n) return BH_EINVAL;
    char err[512];
    deliverer **dls = calloc(n->n, sizeof *dls);
    int rc = dls ? BH_OK : BH_ENOMEM;
    for (size_t i = 0; !rc && i < n->n; i++) {
        if (!n->chains[i].cfg->has_tx_key) continue;
        rc = deliverer_new(&dls[i], &n->chains[i], err, sizeof err);
        if (rc) BH_LOG(BH_LOG_ERROR, "start_failed", "reason=%s", err);
    }
    /* signals go to the caller's thread only */
    sigset_t block, old;
    sigfillset(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (size_t i = 0; !rc && i < n->n; i++) {
        node_vault *nv = &n->vaults[i];
        node_chain *c = &n->chains[i];
        if (pthread_create(&nv->thread, NULL, vault_main, nv) == 0) nv->started = 1;
        if (pthread_create(&c->watch_thread, NULL, watch_main, c) == 0) c->watch_started = 1;
        if (dls[i] && pthread_create(&c->deliver_thread, NULL, deliver_main, dls[i]) == 0)
            c->deliver_started = 1;
        if (!nv->started || !c->watch_started || (dls[i] && !c->deliver_started)) rc = BH_ENOMEM;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!rc) {
        BH_LOG(BH_LOG_INFO, "started", "node=%s chains=%zu data_dir=%s signer_index=%u",
               n->cfg->name, n->n, n->cfg->data_dir, (unsigned)n->cfg->signer_index);
        while (!stopping(n) && !atomic_load(&n->fatal)) {
            nap(n, 200);
            if (atomic_exchange(&n->reopen, 0)) {
                int lrc = bh_log_reopen();
                BH_LOG(lrc ? BH_LOG_ERROR : BH_LOG_INFO, "log_reopened", "status=%s",
                       bh_errname(lrc));
            }
            control_tick(n);
        }
        if (atomic_load(&n->fatal)) rc = atomic_load(&n->fatal);
    }
    BH_LOG(BH_LOG_INFO, "stopping", "node=%s", n->cfg->name);
    atomic_store(&n->stop, 1);
    wake_everyone(n);
    for (size_t i = 0; i < n->n; i++) {
        node_vault *nv = &n->vaults[i];
        node_chain *c = &n->chains[i];
        if (c->watch_started) pthread_join(c->watch_thread, NULL);
        if (c->deliver_started) pthread_join(c->deliver_thread, NULL);
        if (nv->started) pthread_join(nv->thread, NULL);
        c->watch_started = c->deliver_started = nv->started = 0;
    }
    control_tick(n); /* trips reported while stopping are still journaled */
    for (size_t i = 0; dls && i < n->n; i++) deliverer_free(dls[i]);
    free(dls);
    BH_LOG(BH_LOG_INFO, "stopped", "node=%s status=%s", n->cfg->name, bh_errname(rc));
    return rc;
}

void bh_node_destroy(bh_node *n)
{
    if (!n) return;
    for (size_t i = 0; n->chains && i < n->n; i++) {
        bh_watcher_destroy(n->chains[i].w);
        bh_evm_chain_destroy(n->chains[i].evm);
    }
    for (size_t i = 0; n->vaults && i < n->n; i++) {
        bh_vault_close(n->vaults[i].v);
        free(n->vaults[i].next);
    }
    node_store_close(n->store);
    bh_breaker_destroy(n->breaker);
    free(n->chains);
    free(n->vaults);
    free(n->lat);
    free(n);
}

/* ---- observers' view ---- */

static json_t *u128_json(bh_u128 v)
{
    char s[BH_U128_DEC_MAX];
    bh_u128_to_dec(s, v);
    return json_string(s);
}

typedef struct {
    bh_node *n;
    node_vault *nv;
    json_t *assets;
    uint64_t now;
} snap_ctx;

static json_t *bucket_headroom(const bh_vault_bucket *b, uint64_t now)
{
    if (!b->capacity) return json_string("");
    bh_vault_bucket x = *b;
    /* refill to now without touching the stored bucket */
    if (now > x.last && x.refill) {
        bh_u128 add = (bh_u128)(now - x.last) * x.refill;
        if (add / x.refill != (bh_u128)(now - x.last)) add = x.capacity;
        if (x.debt >= add) {
            x.debt -= add;
            add = 0;
        } else {
            add -= x.debt;
            x.debt = 0;
        }
        x.level = x.level + add > x.capacity || x.level + add < x.level ? x.capacity : x.level + add;
    }
    return u128_json(x.debt ? 0 : x.level);
}

static int snap_lane(void *ctx, const bh_bytes32 *token, uint16_t chain, const bh_vault_lane *l)
{
    snap_ctx *sc = ctx;
    char hex[67];
    hex0x(hex, token->data + 12, 20);
    json_t *asset = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(sc->assets, i, a)
    {
        if (!strcmp(json_string_value(json_object_get(a, "token")), hex)) asset = a;
    }
    if (!asset) return 0;
    bh_u128 used = 0;
    for (int s = 0; s < BH_VAULT_WINDOW_SLOTS; s++)
        if (l->window_hour[s] + BH_VAULT_WINDOW_SLOTS > sc->now / 3600) used += l->window_sum[s];
    json_t *lane = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "chain", (json_int_t)chain,
                             "outstanding", u128_json(l->outstanding), "cap", u128_json(l->cap),
                             "in_headroom", bucket_headroom(&l->in, sc->now), "out_headroom",
                             bucket_headroom(&l->out, sc->now), "window_used", u128_json(used),
                             "window_limit", u128_json(l->window_limit));
    json_array_append_new(json_object_get(asset, "lanes"), lane);
    return 0;
}

static int snap_asset(void *ctx, const bh_bytes32 *token, const bh_vault_asset *a)
{
    snap_ctx *sc = ctx;
    char hex[67];
    hex0x(hex, token->data + 12, 20);
    uint64_t short_locks = 0, forged_locks = 0; /* the caller holds the vault's mu */
    for (size_t i = 0; i < sc->nv->n_lock_refusals; i++)
        if (!memcmp(sc->nv->lock_refusals[i].token.data, token->data, 32)) {
            short_locks = sc->nv->lock_refusals[i].short_locks;
            forged_locks = sc->nv->lock_refusals[i].forged_locks;
        }
    json_array_append_new(
        sc->assets,
        json_pack("{s:s,s:s,s:i,s:o,s:o,s:I,s:I,s:[]}", "token", hex, "symbol", a->symbol,
                  "decimals", (int)a->decimals, "locked", u128_json(a->locked),
                  "outstanding_total", u128_json(a->outstanding_total), "short_locks",
                  (json_int_t)short_locks, "forged_locks", (json_int_t)forged_locks, "lanes"));
    return 0;
}

typedef struct {
    json_t *list;
    const bh_config_chain *home;
    size_t count;
} pend_ctx;

static int snap_pending(void *ctx, const bh_vault_pending *p)
{
    pend_ctx *pc = ctx;
    if (pc->count++ >= SNAPSHOT_PENDING_MAX) return 0;
    const char *sym = asset_symbol(pc->home, &p->msg.transfer.token);
    json_array_append_new(
        pc->list,
        json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:o,s:s}", "id", (json_int_t)p->id, "cause",
                  bh_vault_cause_name((bh_vault_cause)p->cause), "release_at",
                  (json_int_t)p->release_at, "from", (json_int_t)p->msg.emitter_chain, "to",
                  (json_int_t)p->msg.transfer.to_chain, "sequence", (json_int_t)p->msg.sequence,
                  "amount", u128_json(p->msg.amount), "symbol", sym ? sym : ""));
    return 0;
}

static int snap_quarantine(void *ctx, const bh_vault_quarantine *q)
{
    json_array_append_new((json_t *)ctx, json_integer(q->chain));
    return 0;
}

static json_t *vault_json(bh_node *n, node_vault *nv, uint64_t now)
{
    json_t *assets = json_array(), *pend = json_array(), *quar = json_array(),
           *rej = json_object();
    snap_ctx sc = {n, nv, assets, now};
    pend_ctx pc = {pend, nv->cfg, 0};
    bh_vault_info info;
    bh_vault_outbox_entry first;
    size_t got = 0;
    pthread_mutex_lock(&nv->mu);
    int rc = bh_vault_info_get(nv->v, &info);
    if (!rc) rc = bh_vault_each_asset(nv->v, snap_asset, &sc);
    if (!rc) rc = bh_vault_each_lane(nv->v, NULL, snap_lane, &sc);
    if (!rc) rc = bh_vault_each_pending(nv->v, snap_pending, &pc);
    if (!rc) rc = bh_vault_each_quarantine(nv->v, snap_quarantine, quar);
    if (!rc) rc = bh_vault_outbox_peek(nv->v, &first, 1, &got);
    pthread_mutex_unlock(&nv->mu);
    if (rc) {
        json_decref(assets);
        json_decref(pend);
        json_decref(quar);
        json_decref(rej);
        return NULL;
    }
    for (int r = 1; r < BH_REJECT_COUNT_; r++)
        if (info.rejects[r])
            json_object_set_new(rej, bh_reject_name((bh_reject)r), json_integer((json_int_t)info.rejects[r]));
    uint64_t oldest = got && now > first.msg.timestamp ? now - first.msg.timestamp : 0;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "name", nv->cfg->name,
                     "chain", (json_int_t)nv->cfg->bridge_id, "accepted",
                     (json_int_t)atomic_load(&nv->accepted), "delayed",
                     (json_int_t)atomic_load(&nv->delayed), "held",
                     (json_int_t)atomic_load(&nv->held), "rejected", rej, "outbox_depth",
                     (json_int_t)info.outbox_depth, "outbox_oldest_age", (json_int_t)oldest,
                     "pending", (json_int_t)info.pending_count, "parked",
                     (json_int_t)info.parked_count, "quarantined", quar, "assets",
                     assets, "pending_list", pend);
}

static json_t *chain_json(bh_node *n, node_chain *c)
{
    json_t *eps = json_array();
    for (size_t i = 0; i < bh_evm_chain_endpoint_count(c->evm); i++) {
        bh_rpc *ep = bh_evm_chain_endpoint(c->evm, i);
        bh_rpc_stats st;
        bh_rpc_stats_get(ep, &st);
        json_array_append_new(
            eps, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:b}", "url", bh_rpc_url(ep), "calls",
                           (json_int_t)st.calls, "failures", (json_int_t)st.failures,
                           "rate_limited", (json_int_t)st.rate_limited, "disagreements",
                           (json_int_t)(st.disagreements + st.equivocations), "latency_us",
                           (json_int_t)st.avg_latency_us, "healthy", st.healthy));
    }
    int quarantined = 0;
    for (size_t i = 0; i < n->n && !quarantined; i++) {
        pthread_mutex_lock(&n->vaults[i].mu);
        quarantined = bh_vault_is_quarantined(n->vaults[i].v, c->cfg->bridge_id);
        pthread_mutex_unlock(&n->vaults[i].mu);
    }
    uint64_t fin = atomic_load(&c->finalized), cur = atomic_load(&c->cursor);
    pthread_mutex_lock(&c->info_mu);
    json_t *trip = c->has_trip ? json_pack("{s:s,s:s,s:I}", "cause", bh_obs_name(c->trip.cause),
                                           "evidence", c->trip.evidence, "at",
                                           (json_int_t)c->trip.at)
                               : json_null();
    json_t *wallet = json_string(c->wallet);
    pthread_mutex_unlock(&c->info_mu);
    return json_pack("{s:s,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:o,s:o}", "name",
                     c->cfg->name, "bridge_id", (json_int_t)c->cfg->bridge_id, "quarantined",
                     quarantined, "head", (json_int_t)atomic_load(&c->head), "finalized",
                     (json_int_t)fin, "cursor", (json_int_t)cur, "lag",
                     (json_int_t)(fin > cur ? fin - cur : 0), "max_lag",
                     (json_int_t)c->cfg->max_lag_blocks, "queue_depth",
                     (json_int_t)atomic_load(&c->queue_depth), "events_observed",
                     (json_int_t)atomic_load(&c->observed), "wallet_wei", wallet, "deliveries_ok",
                     (json_int_t)atomic_load(&c->deliveries_ok), "deliveries_failed",
                     (json_int_t)atomic_load(&c->deliveries_failed), "endpoints", eps, "tripped",
                     trip);
}

int bh_node_snapshot(bh_node *n, json_t **out)
{
    if (out) *out = NULL;
    if (!n || !out) return BH_EINVAL;
    uint64_t now = now_s();
    json_t *chains = json_array(), *vaults = json_array();
    uint64_t observed = 0, accepted = 0, rejected = 0, delivered = 0;
    int rc = BH_OK;
    for (size_t i = 0; i < n->n; i++) {
        json_t *c = chain_json(n, &n->chains[i]);
        json_t *v = vault_json(n, &n->vaults[i], now);
        if (!c || !v) {
            json_decref(c);
            json_decref(v);
            rc = BH_EIO;
            break;
        }
        json_array_append_new(chains, c);
        json_array_append_new(vaults, v);
        observed += atomic_load(&n->chains[i].observed);
        delivered += atomic_load(&n->chains[i].deliveries_ok);
        accepted += atomic_load(&n->vaults[i].accepted);
        rejected += atomic_load(&n->vaults[i].rejected);
    }
    if (rc) {
        json_decref(chains);
        json_decref(vaults);
        return rc;
    }
    *out = json_pack("{s:s,s:I,s:I,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "node", n->cfg->name,
                     "time", (json_int_t)now, "started", (json_int_t)n->started, "chains", chains,
                     "vaults", vaults, "totals", "events_observed", (json_int_t)observed,
                     "accepted", (json_int_t)accepted, "rejected", (json_int_t)rejected,
                     "delivered", (json_int_t)delivered, "quarantines",
                     (json_int_t)atomic_load(&n->quarantines));
    return *out ? BH_OK : BH_ENOMEM;
}

int bh_node_ready(bh_node *n, char *why, size_t why_cap)
{
    if (why && why_cap) why[0] = 0;
    if (!n) return 0;
    for (size_t i = 0; i < n->n; i++) {
        node_chain *c = &n->chains[i];
        if (!atomic_load(&c->identity_ok)) {
            snprintf(why, why_cap, "chain %s: identity (chain id, genesis) not checked yet",
                     c->cfg->name);
            return 0;
        }
        if (!atomic_load(&c->polled)) {
            snprintf(why, why_cap, "chain %s: not polled yet", c->cfg->name);
            return 0;
        }
        uint64_t quiet = mono_ms() - atomic_load(&c->last_ok_ms);
        uint64_t bound = 20ull * n->cfg->poll_ms < 30000 ? 30000 : 20ull * n->cfg->poll_ms;
        if (quiet > bound) {
            snprintf(why, why_cap, "chain %s: no successful poll for %" PRIu64 " s", c->cfg->name,
                     quiet / 1000);
            return 0;
        }
        int q = 0;
        for (size_t k = 0; k < n->n && !q; k++) {
            pthread_mutex_lock(&n->vaults[k].mu);
            q = bh_vault_is_quarantined(n->vaults[k].v, c->cfg->bridge_id);
            pthread_mutex_unlock(&n->vaults[k].mu);
        }
        if (q) {
            snprintf(why, why_cap, "chain %s: quarantined", c->cfg->name);
            return 0;
        }
        uint64_t fin = atomic_load(&c->finalized), cur = atomic_load(&c->cursor);
        if (cur > fin) {
            snprintf(why, why_cap,
                     "chain %s: cursor %" PRIu64 " is above the finalized head %" PRIu64
                     " (chain reset, or endpoints serving a shorter chain)",
                     c->cfg->name, cur, fin);
            return 0;
        }
        if (fin > cur && fin - cur > c->cfg->max_lag_blocks) {
            snprintf(why, why_cap, "chain %s: %" PRIu64 " blocks behind (bound %" PRIu64 ")",
                     c->cfg->name, fin - cur, c->cfg->max_lag_blocks);
            return 0;
        }
    }
    /* ready, but say which endpoints the quorum has outvoted */
    size_t at = 0;
    for (size_t i = 0; i < n->n && why && at < why_cap; i++) {
        node_chain *c = &n->chains[i];
        for (size_t k = 0; k < bh_evm_chain_endpoint_count(c->evm) && at < why_cap; k++) {
            bh_rpc_stats st;
            bh_rpc *ep = bh_evm_chain_endpoint(c->evm, k);
            bh_rpc_stats_get(ep, &st);
            if (!st.suspect) continue;
            char url[160];
            bh_metrics_redact_url(url, sizeof url, bh_rpc_url(ep));
            int w = snprintf(why + at, why_cap - at, "%schain %s: endpoint %s outvoted by the quorum",
                             at ? "; " : "", c->cfg->name, url);
            if (w < 0) break;
            at += (size_t)w;
        }
    }
    return 1;
}
