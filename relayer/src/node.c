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
#include "node_internal.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_attest.h"
#include "bh_hex.h"
#include "bh_log.h"

static const char *const k_event_names[BH_NODE_EV_COUNT_] = {
    "accepted",        "delayed",     "held",   "rejected", "released", "delivered",
    "delivery_failed", "quarantined", "limits", "parked",   "admin",    "portal"};

const char *bh_node_event_name(bh_node_event_kind k)
{
    return (unsigned)k < BH_NODE_EV_COUNT_ ? k_event_names[k] : "unknown";
}

/* ---- lookups and small helpers ---- */

node_chain *node_chain_by_id(bh_node *n, uint16_t id)
{
    for (size_t i = 0; i < n->n; i++)
        if (n->chains[i].cfg->bridge_id == id) return &n->chains[i];
    return NULL;
}

const char *node_chain_name(bh_node *n, uint16_t id, char buf[8])
{
    node_chain *c = node_chain_by_id(n, id);
    if (c) return c->cfg->name;
    snprintf(buf, 8, "%u", (unsigned)id);
    return buf;
}

const char *node_asset_symbol(const bh_config_chain *home, const bh_bytes32 *token)
{
    if (!home) return NULL;
    for (size_t i = 0; i < home->n_assets; i++) {
        bh_bytes32 t;
        node_token32(&t, &home->assets[i].token);
        if (!memcmp(t.data, token->data, 32)) return home->assets[i].symbol;
    }
    return NULL;
}

void node_hex0x(char *out, const unsigned char *b, size_t len)
{
    out[0] = '0';
    out[1] = 'x';
    bh_hex_encode(out + 2, b, len);
}

void node_emit(bh_node *n, const bh_node_event *ev)
{
    if (n->obs) n->obs(n->obs_ud, ev);
}

void bh_node_notify(bh_node *n, const bh_node_event *ev)
{
    if (n && ev) node_emit(n, ev);
}

void node_emit_msg(bh_node *n, bh_node_event_kind kind, const node_vault *nv,
                   const bh_transfer_msg *m, bh_reject reason, const char *detail)
{
    node_emit_msg_tx(n, kind, nv, m, reason, detail, NULL);
}

void node_emit_msg_tx(bh_node *n, bh_node_event_kind kind, const node_vault *nv,
                      const bh_transfer_msg *m, bh_reject reason, const char *detail,
                      const bh_hash32 *tx)
{
    bh_node_event ev = {.kind = kind,
                        .time = now_s(),
                        .vault = nv ? nv->cfg->name : NULL,
                        .from_chain = m->emitter_chain,
                        .to_chain = m->transfer.to_chain,
                        .sequence = m->sequence,
                        .digest = m->digest,
                        .amount = m->amount,
                        .symbol = node_asset_symbol(nv ? nv->cfg : NULL, &m->transfer.token),
                        .reason = reason,
                        .detail = detail};
    if (tx) ev.tx = *tx;
    node_emit(n, &ev);
}

void node_observe(bh_node *n, uint16_t chain, bh_obs_kind k, uint64_t count, const char *detail)
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

void node_lat_put(bh_node *n, const bh_hash32 *d, uint64_t ms)
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

int64_t node_lat_age(bh_node *n, const bh_hash32 *d)
{
    int64_t v = -1;
    pthread_mutex_lock(&n->lat_mu);
    size_t at = lat_slot(d);
    for (size_t i = 0; i < LATENCY_PROBE; i++) {
        const latency_ent *e = &n->lat[(at + i) % LATENCY_SLOTS];
        if (e->ms && !memcmp(e->digest.data, d->data, 32)) {
            v = (int64_t)(wall_ms() - e->ms);
            break;
        }
    }
    pthread_mutex_unlock(&n->lat_mu);
    return v;
}

int64_t node_lat_take(bh_node *n, const bh_hash32 *d)
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

/* ---- histograms ---- */

const uint64_t node_latency_bounds_ms[NODE_LATENCY_BUCKETS] = {
    100,   250,   500,    1000,   2500,   5000,    10000,  20000,
    30000, 60000, 120000, 300000, 600000, 1800000, 3600000};
const uint64_t node_attempt_bounds[NODE_ATTEMPT_BUCKETS] = {1, 2, 3, 5, 8, 13, 21, 34, 55};

void node_hist_add(node_hist *h, const uint64_t *bounds, size_t n_bounds, uint64_t v)
{
    size_t i = 0;
    while (i < n_bounds && v > bounds[i])
        i++;
    h->n[i]++;
    h->sum += v;
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
    pthread_mutex_init(&n->quar_mu, NULL);
    pthread_mutex_init(&n->nap_mu, NULL);
    pthread_cond_init(&n->nap_cv, NULL);
    n->chains = calloc(n->n, sizeof *n->chains);
    n->vaults = calloc(n->n, sizeof *n->vaults);
    n->lat = calloc(LATENCY_SLOTS, sizeof *n->lat);
    uint16_t ids[BH_CONFIG_MAX_CHAINS];
    for (size_t i = 0; i < n->n; i++)
        ids[i] = cfg->chains[i].bridge_id;
    int rc = n->chains && n->vaults && n->lat ? BH_OK : BH_ENOMEM;
    for (size_t i = 0; !rc && i < n->n; i++) {
        node_chain *c = &n->chains[i];
        c->node = n;
        c->idx = i;
        c->cfg = &cfg->chains[i];
        pthread_mutex_init(&c->info_mu, NULL);
        pthread_mutex_init(&c->hist_mu, NULL);
        pthread_mutex_init(&c->wake_mu, NULL);
        pthread_cond_init(&c->wake_cv, NULL);
        pthread_mutex_init(&c->req_mu, NULL);
        pthread_cond_init(&c->req_cv, NULL);
        pthread_mutex_init(&c->ctl_mu, NULL);
        node_vault *nv = &n->vaults[i];
        nv->node = n;
        nv->idx = i;
        nv->cfg = &cfg->chains[i];
        atomic_init(&nv->seg_state, -1);
        atomic_init(&nv->seg_percent, 100);
        nv->seg_lanes = -1;
        pthread_mutex_init(&nv->mu, NULL);
        pthread_mutex_init(&nv->wake_mu, NULL);
        pthread_cond_init(&nv->wake_cv, NULL);
    }
    bh_attest *ctx = rc ? NULL : bh_attest_create();
    if (!rc && (!ctx || bh_attest_address(ctx, &n->me, &cfg->attester_key) != BH_OK)) {
        rc = ctx ? BH_ECRYPTO : BH_ENOMEM;
        snprintf(err, err_cap, "attester key: %s", bh_strerror(rc));
    }
    bh_attest_destroy(ctx);
    if (!rc && (rc = bh_breaker_create(&n->breaker, &cfg->breaker, ids, n->n)))
        snprintf(err, err_cap, "breaker: %s", bh_strerror(rc));
    if (!rc) rc = node_store_open(&n->store, cfg->data_dir, err, err_cap);
    for (size_t i = 0; !rc && i < n->n; i++)
        rc = node_chain_prepare(n, &n->chains[i], err, err_cap);
    for (size_t i = 0; !rc && i < n->n; i++)
        rc = node_vault_prepare(n, &n->vaults[i], err, err_cap);
    if (rc) {
        if (!err[0]) snprintf(err, err_cap, "%s", bh_strerror(rc));
        bh_node_destroy(n);
        return rc;
    }
    /* a flow spike's tightening does not survive a restart (the spike state
     * is gone); a segment's does: the vault keeps its state, the control
     * loop its lanes' originals (node_prices.c) */
    node_relax(n, 0, "node restarted");
    node_breaker_restore(n);
    node_segment_tick(n); /* a tightened segment's lanes, before any thread runs */
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
    node_deliverer **dls = calloc(n->n, sizeof *dls);
    int rc = dls ? BH_OK : BH_ENOMEM;
    for (size_t i = 0; !rc && i < n->n; i++) {
        if (!n->chains[i].cfg->has_tx_key) continue;
        rc = node_deliverer_new(&dls[i], &n->chains[i], err, sizeof err);
        if (rc) BH_LOG(BH_LOG_ERROR, "start_failed", "reason=%s", err);
    }
    /* signals go to the caller's thread only */
    sigset_t block, old;
    sigfillset(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (size_t i = 0; !rc && i < n->n; i++) {
        node_vault *nv = &n->vaults[i];
        node_chain *c = &n->chains[i];
        if (pthread_create(&nv->thread, NULL, node_vault_main, nv) == 0) nv->started = 1;
        if (pthread_create(&c->watch_thread, NULL, node_watch_main, c) == 0) c->watch_started = 1;
        if (dls[i] && pthread_create(&c->deliver_thread, NULL, node_deliver_main, dls[i]) == 0)
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
            node_control_tick(n);
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
    node_control_tick(n); /* trips reported while stopping are still journaled */
    for (size_t i = 0; dls && i < n->n; i++)
        node_deliverer_free(dls[i]);
    free(dls);
    BH_LOG(BH_LOG_INFO, "stopped", "node=%s status=%s", n->cfg->name, bh_errname(rc));
    return rc;
}

void bh_node_destroy(bh_node *n)
{
    if (!n) return;
    for (size_t i = 0; n->chains && i < n->n; i++) {
        bh_watcher_destroy(n->chains[i].w);
        if (n->chains[i].be) n->chains[i].be->destroy(n->chains[i].impl);
        node_reconcile_free(&n->chains[i]);
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
