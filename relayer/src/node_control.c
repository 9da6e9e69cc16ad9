/* The control loop's work: quarantines the breaker decided, tightening
 * and relaxing a spiking chain's buckets (sharing the originals with a
 * tightened segment's, node_prices.c), noticing an operator's unfreeze,
 * and keeping the breaker's windows in the node store. */
#include "node_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_hex.h"
#include "bh_log.h"
#include "node_policy.h"

/* ---- breaker actions: quarantine and limit tightening ---- */

static void apply_trip(bh_node *n, const bh_breaker_trip *t)
{
    char nb[8], q[400];
    const char *name = node_chain_name(n, t->chain, nb);
    size_t frozen = 0;
    for (size_t i = 0; i < n->n; i++) {
        node_vault *nv = &n->vaults[i];
        pthread_mutex_lock(&nv->mu);
        int rc = bh_vault_freeze(nv->v, t->chain, now_s(), "breaker", t->evidence);
        pthread_mutex_unlock(&nv->mu);
        if (rc == BH_OK)
            frozen++;
        else if (rc != BH_EEXIST)
            BH_LOG(BH_LOG_ERROR, "freeze_failed", "vault=%s chain=%s error=%s", nv->cfg->name, name,
                   bh_errname(rc));
    }
    node_chain *c = node_chain_by_id(n, t->chain);
    if (c) {
        pthread_mutex_lock(&c->info_mu);
        c->has_trip = 1;
        c->trip = *t;
        pthread_mutex_unlock(&c->info_mu);
    }
    atomic_fetch_add(&n->quarantines, 1);
    BH_LOG(BH_LOG_ERROR, "quarantined",
           "chain=%s cause=%s count=%" PRIu64 " vaults=%zu evidence=%s", name,
           bh_obs_name(t->cause), t->count, frozen, bh_log_quote(q, sizeof q, t->evidence));
    bh_node_event ev = {.kind = BH_NODE_EV_QUARANTINED,
                        .time = now_s(),
                        .from_chain = t->chain,
                        .detail = t->evidence};
    node_emit(n, &ev);
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
                node_tight orig;
                if (node_store_meta_get(n->store, key, &orig, sizeof orig) == BH_OK)
                    continue; /* already tightened */
                /* a tightened segment holds the lane already: its originals */
                node_vtight vt;
                int seg = node_vtight_get(n, nv->cfg->name, &ll.token[k], ll.chain, &vt) == BH_OK;
                orig.cap = seg ? vt.in_cap : ll.cap[k];
                orig.refill = seg ? vt.in_refill : ll.refill[k];
                if (node_store_meta_put(n->store, key, &orig, sizeof orig)) continue;
                bh_u128 cap, refill;
                node_policy_tighten(orig.cap, orig.refill,
                                    seg && vt.percent < pct ? vt.percent : pct, &cap, &refill);
                set_in_limits(nv, &ll.token[k], ll.chain, cap, refill, reason);
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
    node_emit(n, &ev);
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

/* Restore every tightened bucket of chain (0 = all chains). A bucket an
 * operator changed while it was tightened keeps the operator's size. */
void node_relax(bh_node *n, uint16_t chain, const char *why)
{
    node_relax_where(n, chain, NULL, why);
}

void node_relax_where(bh_node *n, uint16_t chain, const char *only_vault, const char *why)
{
    key_list *kl = calloc(1, sizeof *kl);
    if (!kl) return;
    if (node_store_meta_each(n->store, "tight/", collect_key, kl) < 0) kl->n = 0;
    size_t restored = 0;
    for (size_t i = 0; i < kl->n; i++) {
        char vault[64], hex[80];
        unsigned c;
        if (sscanf(kl->keys[i], "tight/%63[^/]/%79[^/]/%u", vault, hex, &c) != 3) continue;
        if ((chain && c != chain) || (only_vault && strcmp(vault, only_vault))) continue;
        node_tight orig;
        bh_bytes32 token;
        if (node_store_meta_get(n->store, kl->keys[i], &orig, sizeof orig) ||
            bh_hex_decode_exact(token.data, 32, hex, strlen(hex)))
            continue;
        for (size_t k = 0; k < n->n; k++) {
            node_vault *nv = &n->vaults[k];
            if (strcmp(nv->cfg->name, vault)) continue;
            /* a tightened segment still holds the lane: at its percent */
            node_vtight vt;
            bh_u128 cap = orig.cap, refill = orig.refill;
            int seg = node_vtight_get(n, vault, &token, (uint16_t)c, &vt) == BH_OK;
            if (seg && orig.cap)
                node_policy_tighten(orig.cap, orig.refill, vt.percent, &cap, &refill);
            unsigned spct = n->cfg->breaker.spike_tighten_percent;
            pthread_mutex_lock(&nv->mu);
            bh_vault_lane l;
            if (bh_vault_lane_get(nv->v, &l, &token, (uint16_t)c) == BH_OK) {
                unsigned sp2 = seg ? vt.percent : spct;
                int kc =
                    !node_policy_is_tightened(l.in.capacity, orig.cap, orig.refill, 0, spct, sp2);
                int kr =
                    !node_policy_is_tightened(l.in.refill, orig.cap, orig.refill, 1, spct, sp2);
                if (kc) cap = l.in.capacity;
                if (kr) refill = l.in.refill;
                if (kc || kr)
                    BH_LOG(BH_LOG_INFO, "limit_kept",
                           "vault=%s chain=%u key=%s reason=\"set by an operator while a flow "
                           "spike held the lane\"",
                           vault, c,
                           kc && kr ? "in_capacity,in_refill"
                           : kc     ? "in_capacity"
                                    : "in_refill");
                if (cap != l.in.capacity || refill != l.in.refill)
                    set_in_limits(nv, &token, (uint16_t)c, cap, refill, why);
            }
            pthread_mutex_unlock(&nv->mu);
        }
        if (node_store_meta_del(n->store, kl->keys[i]) == BH_OK) restored++;
    }
    free(kl);
    if (restored) {
        BH_LOG(BH_LOG_INFO, "limits_relaxed", "chain=%u vault=%s lanes=%zu", (unsigned)chain,
               only_vault ? only_vault : "all", restored);
        bh_node_event ev = {
            .kind = BH_NODE_EV_LIMITS, .time = now_s(), .from_chain = chain, .detail = "relaxed"};
        node_emit(n, &ev);
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

void node_breaker_restore(bh_node *n)
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

void node_control_tick(bh_node *n)
{
    bh_breaker_trip trips[TRIP_QUEUE];
    pthread_mutex_lock(&n->trip_mu);
    size_t k = n->n_trips;
    memcpy(trips, n->trips, k * sizeof *trips);
    n->n_trips = 0;
    pthread_mutex_unlock(&n->trip_mu);
    for (size_t i = 0; i < k; i++)
        apply_trip(n, &trips[i]);
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
        bh_flow_action a =
            bh_breaker_flow(n->breaker, c->cfg->bridge_id, f - c->flow_seen, now_s());
        c->flow_seen = f;
        if (a == BH_FLOW_TIGHTEN)
            tighten(n, c);
        else if (a == BH_FLOW_RELAX)
            node_relax(n, c->cfg->bridge_id, "flow back to normal");
    }
    node_segment_tick(n);
    node_quarantines_refresh(n);
    breaker_persist(n);
}
