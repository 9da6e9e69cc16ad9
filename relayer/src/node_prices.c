/* Prices and the segment's tightening.
 *
 * Each chain's watcher reads its assets' price feeds (assets[].limits.
 * price_feed, on that chain) through the chain's endpoint quorum at the
 * block it has processed, every node.price_poll_s, and notes each price in
 * that chain's own vault only: one segment's feed never prices another's
 * assets. A read that fails or splits, an answer <= 0, one that does not
 * fit or an updatedAt more than 300 s ahead (node_policy_feed_price) is
 * "missing": nothing is noted, so the vault's last price ages out at
 * price_max_age and the value limits fail closed (cause price, with the
 * reason). A noted price the vault holds back (price_max_jump) fails
 * closed at once.
 *
 * The control loop follows each vault's segment (bh_vault_segment_get):
 * while it is tightened, every lane of the vault has its buckets and its
 * token window at the segment's percent, the original sizes kept in the
 * node store (vtight/<vault>/<token hex>/<chain>) so that they survive a
 * restart and come back when the segment relaxes. The flow-spike
 * tightening (node_control.c) shares the same originals: whichever holds a
 * lane, the lane is at the smaller of the two percentages, and a relax of
 * one leaves the other's in force. At start both are undone before the
 * config's limits apply (node_lanes_restore), and the segment's is done
 * again from the vault's state before any thread runs. */
#include "node_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_be.h"
#include "bh_hex.h"
#include "bh_log.h"
#include "node_policy.h"

#define VTIGHT_LEN 82 /* ver | u8 percent | u128 in_cap, in_refill, out_cap, out_refill, window */
#define SEG_RESCAN_MS 5000 /* lanes made while tightened are tightened within this */

void node_watch_prices(node_chain *c, uint64_t block)
{
    bh_node *n = c->node;
    const bh_config_chain *cc = c->cfg;
    if (!c->be->price_feed || !block) return;
    uint64_t ms = mono_ms();
    if (c->prices_ms && ms - c->prices_ms < (uint64_t)n->cfg->price_poll_s * 1000) return;
    c->prices_ms = ms;
    node_vault *nv = &n->vaults[c->idx]; /* this chain's own vault, never another's */
    for (size_t i = 0; i < cc->n_assets && i < BH_CONFIG_MAX_ASSETS; i++) {
        const bh_config_asset *a = &cc->assets[i];
        if (!a->has_price_feed) continue;
        char feed[43], why[200] = "", q[260];
        node_hex0x(feed, a->price_feed.data, 20);
        bh_chain_price_round r;
        bh_u128 price = 0;
        uint64_t now = now_s();
        int rc = c->be->price_feed(c->impl, &r, &a->price_feed, block);
        if (rc)
            snprintf(why, sizeof why, "feed read at block %" PRIu64 " failed: %s%s", block,
                     bh_errname(rc), c->be->last_split(c->impl) ? " (endpoints split)" : "");
        else
            (void)node_policy_feed_price(&price, r.negative, &r.answer, r.decimals,
                                         cc->quote_decimals, r.updated_at, now, why, sizeof why);
        if (why[0]) {
            atomic_fetch_add(&c->price_failures, 1);
            if (!c->price_bad[i])
                BH_LOG(BH_LOG_WARN, "price_missing",
                       "chain=%s asset=%s feed=%s reason=%s action=\"none noted: the last price "
                       "ages out, then value limits delay\"",
                       cc->name, a->symbol, feed, bh_log_quote(q, sizeof q, why));
            c->price_bad[i] = 1;
            continue;
        }
        bh_bytes32 tok;
        node_token32(&tok, &a->token);
        pthread_mutex_lock(&nv->mu);
        rc = bh_vault_price_note(nv->v, &tok, price, r.updated_at, now);
        pthread_mutex_unlock(&nv->mu);
        atomic_fetch_add(&c->price_reads, 1);
        if (rc) {
            BH_LOG(BH_LOG_ERROR, "price_note_failed", "vault=%s asset=%s error=%s", nv->cfg->name,
                   a->symbol, bh_errname(rc));
            continue;
        }
        if (c->price_bad[i] || c->price_round[i] != r.round) {
            char p[BH_U128_DEC_MAX];
            bh_u128_to_dec(p, price);
            bh_vault_price vp;
            pthread_mutex_lock(&nv->mu);
            int held = bh_vault_price_get(nv->v, &vp, &tok) == BH_OK && vp.suspect == price;
            pthread_mutex_unlock(&nv->mu);
            BH_LOG(held ? BH_LOG_WARN : BH_LOG_INFO, held ? "price_held_back" : "price_noted",
                   "vault=%s asset=%s feed=%s price=%s round=%" PRIu64 " updated_at=%" PRIu64
                   " block=%" PRIu64,
                   nv->cfg->name, a->symbol, feed, p, r.round, r.updated_at, block);
        }
        c->price_bad[i] = 0;
        c->price_round[i] = r.round;
    }
}

/* ---- the segment's lanes ---- */

static void vtight_key(char *out, size_t cap, const char *vault, const bh_bytes32 *t, uint16_t c)
{
    char hex[65];
    bh_hex_encode(hex, t->data, 32);
    snprintf(out, cap, "vtight/%s/%s/%u", vault, hex, (unsigned)c);
}

int node_vtight_get(bh_node *n, const char *vault, const bh_bytes32 *token, uint16_t chain,
                    node_vtight *out)
{
    char key[160];
    unsigned char b[VTIGHT_LEN];
    size_t len = 0;
    memset(out, 0, sizeof *out);
    vtight_key(key, sizeof key, vault, token, chain);
    int rc = node_store_meta_read(n->store, key, b, sizeof b, &len);
    if (rc) return rc;
    if (len != VTIGHT_LEN || b[0] != 1 || b[1] < 1 || b[1] > 100) return BH_ECORRUPT;
    out->percent = b[1];
    out->in_cap = bh_be_get_u128(b + 2);
    out->in_refill = bh_be_get_u128(b + 18);
    out->out_cap = bh_be_get_u128(b + 34);
    out->out_refill = bh_be_get_u128(b + 50);
    out->window = bh_be_get_u128(b + 66);
    return BH_OK;
}

static int vtight_put(bh_node *n, const char *vault, const bh_bytes32 *token, uint16_t chain,
                      const node_vtight *t)
{
    char key[160];
    unsigned char b[VTIGHT_LEN];
    vtight_key(key, sizeof key, vault, token, chain);
    b[0] = 1;
    b[1] = (unsigned char)t->percent;
    bh_be_put_u128(b + 2, t->in_cap);
    bh_be_put_u128(b + 18, t->in_refill);
    bh_be_put_u128(b + 34, t->out_cap);
    bh_be_put_u128(b + 50, t->out_refill);
    bh_be_put_u128(b + 66, t->window);
    return node_store_meta_put(n->store, key, b, sizeof b);
}

/* A size at pct: 0 (none) stays 0, anything else never below 1. */
static bh_u128 scaled(bh_u128 v, unsigned pct)
{
    bh_u128 c, r;
    if (!v) return 0;
    node_policy_tighten(v, 0, pct, &c, &r);
    return c;
}

typedef struct {
    bh_bytes32 token;
    uint16_t chain;
    bh_vault_lane l;
} lane_item;

typedef struct {
    lane_item *items;
    size_t n, cap;
} lane_all;

static int collect_all(void *ctx, const bh_bytes32 *token, uint16_t chain, const bh_vault_lane *l)
{
    lane_all *la = ctx;
    if (!l->in.capacity && !l->out.capacity && !l->window_limit) return 0;
    if (la->n == la->cap) {
        size_t nc = la->cap ? la->cap * 2 : 16;
        lane_item *ni = realloc(la->items, nc * sizeof *ni);
        if (!ni) return BH_ENOMEM;
        la->items = ni;
        la->cap = nc;
    }
    la->items[la->n++] = (lane_item){*token, chain, *l};
    return 0;
}

static int set_one(node_vault *nv, const bh_bytes32 *token, const char *name, uint16_t chain,
                   bh_u128 want, bh_u128 have, const char *reason)
{
    char key[32];
    if (want == have) return BH_OK;
    snprintf(key, sizeof key, "%s.%u", name, (unsigned)chain);
    return bh_vault_set_limit(nv->v, token, key, want, now_s(), "node", reason);
}

/* Set a lane's limits (nv->mu held). */
static int set_lane(node_vault *nv, const lane_item *it, bh_u128 in_cap, bh_u128 in_refill,
                    bh_u128 out_cap, bh_u128 out_refill, bh_u128 window, const char *reason)
{
    const bh_vault_lane *l = &it->l;
    int rc = set_one(nv, &it->token, "in_capacity", it->chain, in_cap, l->in.capacity, reason);
    if (!rc) rc = set_one(nv, &it->token, "in_refill", it->chain, in_refill, l->in.refill, reason);
    if (!rc)
        rc = set_one(nv, &it->token, "out_capacity", it->chain, out_cap, l->out.capacity, reason);
    if (!rc)
        rc = set_one(nv, &it->token, "out_refill", it->chain, out_refill, l->out.refill, reason);
    if (!rc) rc = set_one(nv, &it->token, "window", it->chain, window, l->window_limit, reason);
    return rc;
}

/* The inbound bucket while a flow spike holds the lane too: the spike's
 * original, at the smaller percent. Returns 1 when a spike holds it. */
static int spike_in(bh_node *n, node_vault *nv, const lane_item *it, node_tight *orig)
{
    char hex[65], key[160];
    bh_hex_encode(hex, it->token.data, 32);
    snprintf(key, sizeof key, "tight/%s/%s/%u", nv->cfg->name, hex, (unsigned)it->chain);
    return node_store_meta_get(n->store, key, orig, sizeof *orig) == BH_OK;
}

static size_t seg_tighten(bh_node *n, node_vault *nv, const bh_vault_segment *seg)
{
    lane_all la = {0};
    size_t changed = 0;
    unsigned pct = seg->percent, spct = n->cfg->breaker.spike_tighten_percent;
    char reason[120];
    snprintf(reason, sizeof reason, "segment tightened (price move): lanes at %u%% until %" PRIu64,
             pct, seg->until);
    pthread_mutex_lock(&nv->mu);
    int rc = bh_vault_each_lane(nv->v, NULL, collect_all, &la);
    for (size_t k = 0; rc == BH_OK && k < la.n; k++) {
        const lane_item *it = &la.items[k];
        node_vtight t;
        if (node_vtight_get(n, nv->cfg->name, &it->token, it->chain, &t) == BH_OK) continue;
        node_tight sp;
        int spike = spike_in(n, nv, it, &sp);
        t = (node_vtight){.percent = pct,
                          .in_cap = spike ? sp.cap : it->l.in.capacity,
                          .in_refill = spike ? sp.refill : it->l.in.refill,
                          .out_cap = it->l.out.capacity,
                          .out_refill = it->l.out.refill,
                          .window = it->l.window_limit};
        if (vtight_put(n, nv->cfg->name, &it->token, it->chain, &t)) continue;
        unsigned ip = spike && spct < pct ? spct : pct;
        bh_u128 ic = 0, ir = 0, oc = 0, orf = 0;
        if (t.in_cap) node_policy_tighten(t.in_cap, t.in_refill, ip, &ic, &ir);
        if (t.out_cap) node_policy_tighten(t.out_cap, t.out_refill, pct, &oc, &orf);
        if (!t.in_cap) ir = t.in_refill;
        if (!t.out_cap) orf = t.out_refill;
        int x = set_lane(nv, it, ic, ir, oc, orf, scaled(t.window, pct), reason);
        if (x)
            BH_LOG(BH_LOG_ERROR, "limits_failed", "vault=%s chain=%u error=%s", nv->cfg->name,
                   (unsigned)it->chain, bh_errname(x));
        else
            changed++;
    }
    pthread_mutex_unlock(&nv->mu);
    free(la.items);
    return changed;
}

typedef struct {
    char keys[256][160];
    size_t n;
} vkey_list;

static int collect_vkey(void *ctx, const char *key, const void *val, size_t len)
{
    vkey_list *kl = ctx;
    (void)val;
    (void)len;
    if (kl->n < 256) snprintf(kl->keys[kl->n++], 160, "%s", key);
    return 0;
}

/* *out = have when changed (the node did not set it). Returns changed. */
static int keep(int changed, bh_u128 have, bh_u128 *out)
{
    if (changed) *out = have;
    return changed;
}

/* The lane limits a relax of segment t would put back: each one the node
 * did not set (t's size at its percent, or the spike's for the inbound
 * bucket) is an operator's since and stays. Returns 1 when one stays. */
static int keep_operator(const lane_item *it, const node_vtight *t, unsigned spct, bh_u128 *ic,
                         bh_u128 *ir, bh_u128 *oc, bh_u128 *orf, bh_u128 *w)
{
    const bh_vault_lane *l = &it->l;
    unsigned p = t->percent;
    int in_ic = t->in_cap
                    ? !node_policy_is_tightened(l->in.capacity, t->in_cap, t->in_refill, 0, p, spct)
                    : l->in.capacity != 0;
    int in_ir = t->in_cap
                    ? !node_policy_is_tightened(l->in.refill, t->in_cap, t->in_refill, 1, p, spct)
                    : l->in.refill != t->in_refill;
    int out_c = t->out_cap
                    ? !node_policy_is_tightened(l->out.capacity, t->out_cap, t->out_refill, 0, p, p)
                    : l->out.capacity != 0;
    int out_r = t->out_cap
                    ? !node_policy_is_tightened(l->out.refill, t->out_cap, t->out_refill, 1, p, p)
                    : l->out.refill != t->out_refill;
    int kept = keep(in_ic, l->in.capacity, ic);
    kept |= keep(in_ir, l->in.refill, ir);
    kept |= keep(out_c, l->out.capacity, oc);
    kept |= keep(out_r, l->out.refill, orf);
    kept |= keep(l->window_limit != scaled(t->window, p), l->window_limit, w);
    return kept;
}

static size_t seg_relax(bh_node *n, node_vault *nv, const char *why)
{
    vkey_list *kl = calloc(1, sizeof *kl);
    if (!kl) return 0;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "vtight/%s/", nv->cfg->name);
    if (node_store_meta_each(n->store, prefix, collect_vkey, kl) < 0) kl->n = 0;
    size_t restored = 0;
    unsigned spct = n->cfg->breaker.spike_tighten_percent;
    for (size_t i = 0; i < kl->n; i++) {
        char hex[80];
        unsigned c;
        lane_item it = {0};
        if (sscanf(kl->keys[i] + strlen(prefix), "%79[^/]/%u", hex, &c) != 2 || c > 65535 ||
            bh_hex_decode_exact(it.token.data, 32, hex, strlen(hex)))
            continue;
        it.chain = (uint16_t)c;
        node_vtight t;
        if (node_vtight_get(n, nv->cfg->name, &it.token, it.chain, &t)) continue;
        node_tight sp;
        pthread_mutex_lock(&nv->mu);
        int rc = bh_vault_lane_get(nv->v, &it.l, &it.token, it.chain);
        bh_u128 ic = t.in_cap, ir = t.in_refill;
        /* a flow spike still holds the inbound bucket: at its percent */
        if (!rc && spike_in(n, nv, &it, &sp) && sp.cap)
            node_policy_tighten(sp.cap, sp.refill, spct, &ic, &ir);
        bh_u128 oc = t.out_cap, orf = t.out_refill, w = t.window;
        if (!rc && keep_operator(&it, &t, spct, &ic, &ir, &oc, &orf, &w))
            BH_LOG(BH_LOG_INFO, "limit_kept",
                   "vault=%s chain=%u reason=\"set by an operator while the segment was "
                   "tightened\"",
                   nv->cfg->name, c);
        if (!rc) rc = set_lane(nv, &it, ic, ir, oc, orf, w, why);
        pthread_mutex_unlock(&nv->mu);
        if (rc && rc != BH_ENOTFOUND) {
            BH_LOG(BH_LOG_ERROR, "limits_failed", "vault=%s chain=%u error=%s", nv->cfg->name, c,
                   bh_errname(rc));
            continue;
        }
        if (node_store_meta_del(n->store, kl->keys[i]) == BH_OK) restored++;
    }
    free(kl);
    return restored;
}

void node_lanes_restore(bh_node *n, node_vault *nv)
{
    const char *why = "node starting: configured sizes first, then the tightening again";
    node_relax_where(n, 0, nv->cfg->name, why);
    size_t k = seg_relax(n, nv, why);
    if (k) BH_LOG(BH_LOG_INFO, "segment_lanes_restored", "vault=%s lanes=%zu", nv->cfg->name, k);
}

void node_segment_tick(bh_node *n)
{
    uint64_t ms = mono_ms();
    for (size_t i = 0; i < n->n; i++) {
        node_vault *nv = &n->vaults[i];
        bh_vault_segment seg;
        pthread_mutex_lock(&nv->mu);
        int rc = bh_vault_segment_get(nv->v, &seg, now_s());
        pthread_mutex_unlock(&nv->mu);
        if (rc) continue;
        int tight = seg.percent < 100;
        int prev = atomic_exchange(&nv->seg_state, (int)seg.state);
        atomic_store(&nv->seg_percent, seg.percent);
        if (tight && (nv->seg_lanes != 1 || ms - nv->seg_scan_ms >= SEG_RESCAN_MS)) {
            size_t k = seg_tighten(n, nv, &seg);
            nv->seg_scan_ms = ms;
            if (nv->seg_lanes != 1 || k) {
                BH_LOG(BH_LOG_WARN, "segment_tightened",
                       "vault=%s percent=%u since=%" PRIu64 " until=%" PRIu64 " lanes=%zu",
                       nv->cfg->name, seg.percent, seg.since, seg.until, k);
                bh_node_event ev = {.kind = BH_NODE_EV_LIMITS,
                                    .time = now_s(),
                                    .from_chain = nv->cfg->bridge_id,
                                    .vault = nv->cfg->name,
                                    .detail = "segment tightened"};
                node_emit(n, &ev);
            }
            nv->seg_lanes = 1;
        } else if (!tight && nv->seg_lanes != 0) {
            size_t k = seg_relax(n, nv, "segment calm: lanes back to their sizes");
            if (nv->seg_lanes == 1 || k) {
                BH_LOG(BH_LOG_INFO, "segment_relaxed", "vault=%s lanes=%zu", nv->cfg->name, k);
                bh_node_event ev = {.kind = BH_NODE_EV_LIMITS,
                                    .time = now_s(),
                                    .from_chain = nv->cfg->bridge_id,
                                    .vault = nv->cfg->name,
                                    .detail = "segment relaxed"};
                node_emit(n, &ev);
            }
            nv->seg_lanes = 0;
        }
        if (prev != (int)seg.state && prev >= 0)
            BH_LOG(BH_LOG_INFO, "segment_state", "vault=%s state=%s was=%s percent=%u",
                   nv->cfg->name, bh_vault_segment_name(seg.state),
                   bh_vault_segment_name((bh_vault_segment_state)prev), seg.percent);
    }
}
