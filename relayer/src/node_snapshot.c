/* What observers see: one JSON snapshot of chains and vaults, and
 * readiness with its reason. */
#include "node_internal.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bh_amount.h"
#include "bh_metrics.h"
#include "bh_version.h"

#define SNAPSHOT_PENDING_MAX 100
/* Outbox, parked and pending entries above which a snapshot leaves out
 * the lanes' minted / in flight split: working it out walks them all
 * under the vault's lock, about 20 ms per 100,000. */
#define SNAPSHOT_SPLIT_MAX 100000

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
    int split; /* in_flight is known */
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
        x.level =
            x.level + add > x.capacity || x.level + add < x.level ? x.capacity : x.level + add;
    }
    return u128_json(x.debt ? 0 : x.level);
}

static int snap_lane(void *ctx, const bh_bytes32 *token, uint16_t chain, const bh_vault_lane *l,
                     bh_u128 in_flight)
{
    snap_ctx *sc = ctx;
    char hex[67];
    node_hex0x(hex, token->data + 12, 20);
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
    /* outstanding = minted (delivered) + in_flight (accepted, not yet) */
    if (lane && sc->split) {
        json_object_set_new(lane, "minted", u128_json(l->outstanding - in_flight));
        json_object_set_new(lane, "in_flight", u128_json(in_flight));
    }
    json_array_append_new(json_object_get(asset, "lanes"), lane);
    return 0;
}

static int snap_lane_unsplit(void *ctx, const bh_bytes32 *token, uint16_t chain,
                             const bh_vault_lane *l)
{
    return snap_lane(ctx, token, chain, l, 0);
}

static int snap_asset(void *ctx, const bh_bytes32 *token, const bh_vault_asset *a)
{
    snap_ctx *sc = ctx;
    char hex[67];
    node_hex0x(hex, token->data + 12, 20);
    uint64_t short_locks = 0, forged_locks = 0; /* the caller holds the vault's mu */
    for (size_t i = 0; i < sc->nv->n_lock_refusals; i++)
        if (!memcmp(sc->nv->lock_refusals[i].token.data, token->data, 32)) {
            short_locks = sc->nv->lock_refusals[i].short_locks;
            forged_locks = sc->nv->lock_refusals[i].forged_locks;
        }
    json_array_append_new(sc->assets, json_pack("{s:s,s:s,s:i,s:o,s:o,s:I,s:I,s:[]}", "token", hex,
                                                "symbol", a->symbol, "decimals", (int)a->decimals,
                                                "locked", u128_json(a->locked), "outstanding_total",
                                                u128_json(a->outstanding_total), "short_locks",
                                                (json_int_t)short_locks, "forged_locks",
                                                (json_int_t)forged_locks, "lanes"));
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
    const char *sym = node_asset_symbol(pc->home, &p->msg.transfer.token);
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

/* Each configured asset with a price or a feed, as the value limits see it
 * (nv->mu held): its source, feed, price (the usable one, else the last
 * observed), age (-1: fixed or none yet), whether usable and why not. */
static json_t *prices_json(node_vault *nv, uint64_t now)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < nv->cfg->n_assets; i++) {
        const bh_config_asset *a = &nv->cfg->assets[i];
        bh_bytes32 tok;
        node_token32(&tok, &a->token);
        bh_vault_price p;
        bh_u128 use = 0;
        char why[192] = "";
        if (bh_vault_price_get(nv->v, &p, &tok) != BH_OK) continue;
        if (!p.fixed && !p.last && !p.suspect && !a->has_price_feed) continue;
        int ok = bh_vault_price_usable(nv->v, &use, &tok, now, why, sizeof why) == BH_OK;
        char feed[43] = "";
        if (a->has_price_feed) node_hex0x(feed, a->price_feed.data, 20);
        int64_t age =
            p.fixed || !p.last ? -1 : (int64_t)(now > p.updated_at ? now - p.updated_at : 0);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:o,s:I,s:b,s:s}", "symbol", a->symbol,
                                             "source",
                                             p.fixed             ? "fixed"
                                             : a->has_price_feed ? "feed"
                                                                 : "observed",
                                             "feed", feed, "price", u128_json(ok ? use : p.last),
                                             "age", (json_int_t)age, "usable", ok, "why", why));
    }
    return arr;
}

static json_t *vault_json(bh_node *n, node_vault *nv, uint64_t now)
{
    json_t *assets = json_array(), *pend = json_array(), *quar = json_array(), *rej = json_object();
    snap_ctx sc = {n, nv, assets, now, 0};
    pend_ctx pc = {pend, nv->cfg, 0};
    bh_vault_info info;
    bh_vault_outbox_entry first;
    size_t got = 0;
    pthread_mutex_lock(&nv->mu);
    int rc = bh_vault_info_get(nv->v, &info);
    if (!rc) rc = bh_vault_each_asset(nv->v, snap_asset, &sc);
    sc.split =
        !rc && info.outbox_depth + info.parked_count + info.pending_count <= SNAPSHOT_SPLIT_MAX;
    if (!rc)
        rc = sc.split ? bh_vault_each_lane_split(nv->v, NULL, snap_lane, &sc)
                      : bh_vault_each_lane(nv->v, NULL, snap_lane_unsplit, &sc);
    if (!rc) rc = bh_vault_each_pending(nv->v, snap_pending, &pc);
    if (!rc) rc = bh_vault_each_quarantine(nv->v, snap_quarantine, quar);
    if (!rc) rc = bh_vault_outbox_peek(nv->v, &first, 1, &got);
    bh_vault_segment seg;
    if (!rc) rc = bh_vault_segment_get(nv->v, &seg, now);
    json_t *prices = rc ? NULL : prices_json(nv, now);
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
            json_object_set_new(rej, bh_reject_name((bh_reject)r),
                                json_integer((json_int_t)info.rejects[r]));
    uint64_t oldest = got && now > first.msg.timestamp ? now - first.msg.timestamp : 0;
    json_t *segment = json_pack("{s:s,s:i,s:I,s:I,s:i}", "state", bh_vault_segment_name(seg.state),
                                "code", (int)seg.state, "since", (json_int_t)seg.since, "until",
                                (json_int_t)seg.until, "percent", (int)seg.percent);
    return json_pack(
        "{s:s,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:I}", "name", nv->cfg->name,
        "chain", (json_int_t)nv->cfg->bridge_id, "accepted", (json_int_t)atomic_load(&nv->accepted),
        "delayed", (json_int_t)atomic_load(&nv->delayed), "held",
        (json_int_t)atomic_load(&nv->held), "rejected", rej, "outbox_depth",
        (json_int_t)info.outbox_depth, "outbox_oldest_age", (json_int_t)oldest, "pending",
        (json_int_t)info.pending_count, "parked", (json_int_t)info.parked_count, "quarantined",
        quar, "assets", assets, "pending_list", pend, "segment", segment, "prices",
        prices ? prices : json_array(), "quote_decimals", (json_int_t)nv->cfg->quote_decimals);
}

/* A histogram as the snapshot has it: "le" the bucket bounds (bounds[i] /
 * scale), "counts" cumulative (counts[i]: values <= le[i]), "count" every
 * value, "sum" their sum / scale. */
static json_t *hist_json(const node_hist *h, const uint64_t *bounds, size_t n_bounds, double scale)
{
    json_t *le = json_array(), *counts = json_array();
    uint64_t cum = 0;
    for (size_t i = 0; i < n_bounds; i++) {
        cum += h->n[i];
        json_array_append_new(le, scale == 1 ? json_integer((json_int_t)bounds[i])
                                             : json_real((double)bounds[i] / scale));
        json_array_append_new(counts, json_integer((json_int_t)cum));
    }
    cum += h->n[n_bounds];
    return json_pack(
        "{s:o,s:o,s:I,s:o}", "le", le, "counts", counts, "count", (json_int_t)cum, "sum",
        scale == 1 ? json_integer((json_int_t)h->sum) : json_real((double)h->sum / scale));
}

/* The names of chains[i] for the bits i set in lanes. */
static json_t *lane_names(bh_node *n, uint64_t lanes)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n->n; i++)
        if ((lanes >> i) & 1) json_array_append_new(a, json_string(n->chains[i].cfg->name));
    return a;
}

static json_t *chain_json(bh_node *n, node_chain *c)
{
    json_t *eps = json_array();
    for (size_t i = 0; i < c->be->endpoint_count(c->impl); i++) {
        bh_chain_endpoint_health st;
        c->be->endpoint_health(c->impl, i, &st);
        json_array_append_new(
            eps, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:b}", "url", c->be->endpoint_url(c->impl, i),
                           "calls", (json_int_t)st.calls, "failures", (json_int_t)st.failures,
                           "rate_limited", (json_int_t)st.rate_limited, "disagreements",
                           (json_int_t)st.disagreements, "latency_us", (json_int_t)st.latency_us,
                           "healthy", st.healthy));
    }
    int quarantined = 0;
    for (size_t i = 0; i < n->n && !quarantined; i++) {
        pthread_mutex_lock(&n->vaults[i].mu);
        quarantined = bh_vault_is_quarantined(n->vaults[i].v, c->cfg->bridge_id);
        pthread_mutex_unlock(&n->vaults[i].mu);
    }
    uint64_t fin = atomic_load(&c->finalized), cur = atomic_load(&c->cursor);
    pthread_mutex_lock(&c->info_mu);
    json_t *trip = c->has_trip
                       ? json_pack("{s:s,s:s,s:I}", "cause", bh_obs_name(c->trip.cause), "evidence",
                                   c->trip.evidence, "at", (json_int_t)c->trip.at)
                       : json_null();
    json_t *wallet = json_string(c->wallet);
    pthread_mutex_unlock(&c->info_mu);
    json_t *paused_lanes = lane_names(n, atomic_load(&c->lanes_paused));
    json_t *cursed_lanes = lane_names(n, atomic_load(&c->lanes_cursed));
    pthread_mutex_lock(&c->ctl_mu);
    json_t *set = c->ctl_known ? json_pack("{s:I,s:I}", "index", (json_int_t)c->ctl.set_index,
                                           "signer", (json_int_t)c->ctl.my_index - 1)
                               : json_null();
    pthread_mutex_unlock(&c->ctl_mu);
    pthread_mutex_lock(&c->hist_mu);
    node_hist lat = c->latency, att = c->attempts;
    pthread_mutex_unlock(&c->hist_mu);
    return json_pack(
        "{s:s,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:b,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:b,s:o,s:o,"
        "s:o,s:I,s:I}",
        "name", c->cfg->name, "bridge_id", (json_int_t)c->cfg->bridge_id, "quarantined",
        quarantined, "head", (json_int_t)atomic_load(&c->head), "finalized", (json_int_t)fin,
        "cursor", (json_int_t)cur, "lag", (json_int_t)(fin > cur ? fin - cur : 0), "max_lag",
        (json_int_t)c->cfg->max_lag_blocks, "queue_depth", (json_int_t)atomic_load(&c->queue_depth),
        "events_observed", (json_int_t)atomic_load(&c->observed), "wallet_wei", wallet,
        "wallet_low", atomic_load(&c->wallet_low), "inflight",
        (json_int_t)atomic_load(&c->inflight), "deliveries_ok",
        (json_int_t)atomic_load(&c->deliveries_ok), "deliveries_failed",
        (json_int_t)atomic_load(&c->deliveries_failed), "delivery_latency",
        hist_json(&lat, node_latency_bounds_ms, NODE_LATENCY_BUCKETS, 1000.0), "delivery_attempts",
        hist_json(&att, node_attempt_bounds, NODE_ATTEMPT_BUCKETS, 1), "endpoints", eps, "tripped",
        trip, "portal_paused", atomic_load(&c->portal_paused), "paused_lanes", paused_lanes,
        "cursed_lanes", cursed_lanes, "attester_set", set, "price_reads",
        (json_int_t)atomic_load(&c->price_reads), "price_failures",
        (json_int_t)atomic_load(&c->price_failures));
}

/* This process as the kernel counts it (Linux /proc/self): CPU seconds,
 * resident and virtual bytes, open and allowed descriptors, threads, and
 * when it started (unix seconds). Members it cannot read are left out. */
static json_t *process_json(void)
{
    json_t *p = json_object();
    if (!p) return NULL;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    /* after the command's closing parenthesis: field 3 (state) onwards */
    char *s = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0, start = 0, vsize = 0;
    long threads = 0;
    if (s && tick > 0 &&
        sscanf(s + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld %*d "
               "%llu %llu",
               &ut, &st, &threads, &start, &vsize) == 5) {
        json_object_set_new(p, "cpu_seconds", json_real((double)(ut + st) / (double)tick));
        json_object_set_new(p, "threads", json_integer(threads));
        json_object_set_new(p, "virtual_bytes", json_integer((json_int_t)vsize));
        /* boot time (btime, whole seconds) plus the start in ticks after
         * boot: the same figure at every scrape (now minus /proc/uptime
         * would move by a second between two) */
        unsigned long long btime = 0;
        char line[256];
        FILE *u = fopen("/proc/stat", "r");
        while (u && fgets(line, sizeof line, u))
            if (sscanf(line, "btime %llu", &btime) == 1) break;
        if (u) fclose(u);
        if (btime)
            json_object_set_new(
                p, "start_time",
                json_integer((json_int_t)(btime + start / (unsigned long long)tick)));
    }
    f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0, rss = 0;
    if (f && fscanf(f, "%llu %llu", &pages, &rss) == 2 && page > 0)
        json_object_set_new(p, "resident_bytes",
                            json_integer((json_int_t)(rss * (unsigned long long)page)));
    if (f) fclose(f);
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        json_int_t fds = 0;
        while (readdir(d))
            fds++;
        closedir(d);
        json_object_set_new(p, "open_fds", json_integer(fds - 3)); /* ., .. and this listing */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        json_object_set_new(p, "max_fds", json_integer((json_int_t)rl.rlim_cur));
    return p;
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
    *out =
        json_pack("{s:s,s:I,s:I,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "node", n->cfg->name, "time",
                  (json_int_t)now, "started", (json_int_t)n->started, "chains", chains, "vaults",
                  vaults, "totals", "events_observed", (json_int_t)observed, "accepted",
                  (json_int_t)accepted, "rejected", (json_int_t)rejected, "delivered",
                  (json_int_t)delivered, "quarantines", (json_int_t)atomic_load(&n->quarantines));
    if (*out) {
        json_object_set_new(*out, "build",
                            json_pack("{s:s,s:s}", "version", BH_VERSION, "commit", BH_COMMIT));
        json_object_set_new(*out, "process", process_json());
    }
    if (*out) node_reconcile_snapshot(n, *out);
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
        if (atomic_load(&c->wallet_low)) {
            /* deliveries to it are about to stop for want of gas */
            snprintf(why, why_cap, "chain %s: wallet below its low-water mark (%" PRIu64 " gwei)",
                     c->cfg->name, c->cfg->wallet_low_gwei);
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
        for (size_t k = 0; k < c->be->endpoint_count(c->impl) && at < why_cap; k++) {
            bh_chain_endpoint_health st;
            c->be->endpoint_health(c->impl, k, &st);
            if (!st.suspect) continue;
            char url[160];
            bh_metrics_redact_url(url, sizeof url, c->be->endpoint_url(c->impl, k));
            int w =
                snprintf(why + at, why_cap - at, "%schain %s: endpoint %s outvoted by the quorum",
                         at ? "; " : "", c->cfg->name, url);
            if (w < 0) break;
            at += (size_t)w;
        }
    }
    return 1;
}
