/* Supply reconciliation and the audit against the chain (issue 13).
 *
 * Every reconcile_s seconds the watcher of chain X, between two polls (so
 * its cursor c cannot move), compares what the chain holds at block c with
 * what the vaults say, through X's endpoint quorum:
 *  - supply: for every vault S != X and asset a of S, the totalSupply T of
 *    a's wrapped token on X with outstanding O = S.lane(a, X);
 *  - custody: for X's own vault and asset a, the Portal's balance K of a
 *    with locked L;
 *  - portal outstanding: for X's vault, asset a and remote D, the Portal's
 *    outstanding(a, D) = P with O = lane(a, D).
 *
 * The bounds (c is X's stored cursor; the vault and the inbox are read
 * under the vault's lock after c was stored, so every lock or burn the
 * vault applied comes from a block <= c, and every transfer executed on X
 * at a block <= c was accepted by the vault before):
 *
 *  supply    O - below <= T <= O          (T > O: minted behind the Portal)
 *     below = accepted, not yet executed on X at <= c: outbox, parked and
 *             applied pending entries delivered to X, and deliveries to X
 *             acknowledged whose execution block may be > c
 *           + burns of a on X the vault has not applied yet: stored in
 *             the inbox at or above the vault's offset for X, or held
 *             (pending, not applied)
 *  custody   L <= K <= L + above          (K < L: custody drained)
 *     above = locks of a stored, not applied yet (inbox), or held
 *           + unlocks of a accepted, not yet executed on X (as above)
 *  portal    O - below <= P <= O + above
 *     above = locks to D not applied yet or held + unlocks from D accepted,
 *             not executed + hop notices out of D not executed
 *     below = hop notices into D not executed
 *
 * A supply above O quarantines X (breaker evidence supply_drift): nothing
 * honest mints on X but X's Portal executing what this node accepted. The
 * other differences are named (log, metrics, vaultctl reconciliation) but
 * quarantine nothing: they cost no vault anything (supply short, custody or
 * Portal figures above the ledger), or concern the home chain itself
 * (custody short: an alarm for an operator, not a chain to cut off).
 *
 * An acknowledged delivery's execution block is not known; it is at most
 * the chain's head read after the acknowledgement, so each one stays in
 * flight until the cursor passes such a head (the ring below). After a
 * start, the deliveries acknowledged before it are unknown: until the
 * cursor passes the head read at the first step, the differences in the
 * harmless direction read "settling". The dangerous direction (T > O,
 * K < L) is exact from the first step. */
#include "node_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_be.h"
#include "bh_log.h"
#include "bh_reconcile.h"

#define ACK_RING 4096   /* acknowledged deliveries remembered per destination */
#define INBOX_CHUNK 256 /* inbox records read at once */
#define HIST 64         /* stored heights remembered by the watcher */
#define SEEN 8192       /* stored events remembered above the oldest of them */
#define RECON_VERSION 1
#define RECON_HEAD 25                            /* ver | u64 time | u64 block | u8 flags | u32 n */
#define RECON_LINE (2 + 1 + 1 + 2 + 32 + 16 * 5) /* one line, see line_encode */
#define RECON_MAX_LINES (BH_CONFIG_MAX_CHAINS * BH_CONFIG_MAX_ASSETS * 2)

typedef struct {
    uint64_t gen;  /* order of acknowledgement */
    uint64_t mark; /* a head read after it; 0: not read yet */
    uint16_t vault, emitter, to_chain;
    bh_bytes32 token;
    bh_u128 amount;
} ack_ent;

/* A height the watcher stored, with every chain's poll count then. */
typedef struct {
    uint64_t cursor;
    uint64_t polled[BH_CONFIG_MAX_CHAINS];
} hist_ent;

/* An event the watcher stored (block > the oldest height in the history). */
typedef struct {
    uint64_t block;
    uint16_t home, to_chain;
    bh_bytes32 token;
    bh_u128 amount;
} seen_ent;

struct node_recon {
    pthread_mutex_t mu; /* the ring and the last result; never held across I/O */
    ack_ent *ring;
    size_t ring_head, ring_n;
    uint64_t next_gen;
    /* the last result, for the snapshot */
    bh_recon_line *lines;
    size_t n_lines;
    uint64_t block, time;
    int settled, done;
    /* watcher thread only */
    uint64_t last_ms;
    uint64_t settle_at; /* the cursor must reach this head; 0: not read yet */
    hist_ent hist[HIST];
    size_t hist_head, hist_n;
    seen_ent *seen;
    size_t seen_head, seen_n;
    uint64_t seen_lost; /* highest block of an event forgotten for lack of room */
    bh_address wrapped[BH_CONFIG_MAX_CHAINS][BH_CONFIG_MAX_ASSETS];
};

/* ---- amounts ---- */

static bh_u128 sat_add(bh_u128 a, bh_u128 b)
{
    bh_u128 r;
    return bh_u128_add(&r, a, b) == BH_OK ? r : ~(bh_u128)0;
}

static bh_u128 u256_sat(const bh_u256 *v)
{
    bh_u128 r;
    return bh_u256_to_u128(&r, v) == BH_OK ? r : ~(bh_u128)0;
}

void bh_reconcile_judge(bh_recon_line *l, int settled)
{
    bh_u128 lo = l->ledger > l->below ? l->ledger - l->below : 0;
    bh_u128 hi = sat_add(l->ledger, l->above);
    l->diff = 0;
    l->status = BH_RECON_OK;
    if (l->onchain > hi) {
        l->status = BH_RECON_EXCESS;
        l->diff = l->onchain - hi;
    } else if (l->onchain < lo) {
        l->status = BH_RECON_SHORT;
        l->diff = lo - l->onchain;
    }
    /* the direction the check is exact in never waits for settling */
    int exact = (l->check == BH_RECON_SUPPLY && l->status == BH_RECON_EXCESS) ||
                (l->check == BH_RECON_CUSTODY && l->status == BH_RECON_SHORT);
    if (l->status != BH_RECON_OK && !exact && !settled) l->status = BH_RECON_SETTLING;
}

const char *bh_reconcile_check_name(unsigned check)
{
    return check == BH_RECON_SUPPLY    ? "supply"
           : check == BH_RECON_CUSTODY ? "custody"
           : check == BH_RECON_PORTAL  ? "portal_outstanding"
                                       : "unknown";
}

const char *bh_reconcile_status_name(unsigned status)
{
    static const char *const n[] = {"ok", "excess", "short", "settling", "unread", "unconfirmed"};
    return status < sizeof n / sizeof n[0] ? n[status] : "unknown";
}

/* ---- gathering what is in flight, from one vault ---- */

typedef struct {
    uint16_t home, x; /* the vault's home chain; the chain reconciled */
    const bh_config *cfg;
    const bh_config_chain *hc; /* the vault's chain config: its assets */
    bh_recon_line *lines;      /* hc->n_assets lines per check, see line_at */
    size_t n_lanes;            /* portal lines per asset (home == x) */
    uint16_t lanes[BH_CONFIG_MAX_CHAINS];
} gather;

static int asset_index(const gather *g, const bh_bytes32 *token)
{
    for (size_t i = 0; i < g->hc->n_assets; i++) {
        bh_bytes32 t;
        node_token32(&t, &g->hc->assets[i].token);
        if (!memcmp(&t, token, sizeof t)) return (int)i;
    }
    return -1;
}

/* home != x: one supply line per asset. home == x: per asset a custody
 * line, then one portal line per lane. */
static bh_recon_line *line_at(gather *g, int asset, int lane_idx)
{
    if (g->home != g->x) return &g->lines[asset];
    return &g->lines[(size_t)asset * (1 + g->n_lanes) + 1 + (size_t)lane_idx];
}

static int lane_index(const gather *g, uint16_t chain)
{
    for (size_t i = 0; i < g->n_lanes; i++)
        if (g->lanes[i] == chain) return (int)i;
    return -1;
}

static void rc_add(bh_u128 *acc, int yes, bh_u128 v)
{
    if (yes) *acc = sat_add(*acc, v);
}

/* An accepted message not yet executed at its destination `dest`. */
static void flight_accepted(gather *g, const bh_transfer_msg *m, uint16_t dest)
{
    int a = asset_index(g, &m->transfer.token);
    if (a < 0) return;
    if (g->home != g->x) {
        if (dest == g->x) line_at(g, a, 0)->below = sat_add(line_at(g, a, 0)->below, m->amount);
        return;
    }
    if (dest != g->x) return;
    int from = lane_index(g, m->emitter_chain);
    if (m->transfer.to_chain == g->x) {
        /* an unlock: custody and outstanding[from] are still higher */
        bh_recon_line *c = line_at(g, a, -1);
        c->above = sat_add(c->above, m->amount);
        if (from >= 0) line_at(g, a, from)->above = sat_add(line_at(g, a, from)->above, m->amount);
    } else {
        /* a hop notice emitter -> to_chain: the Portal still counts it at the emitter */
        int to = lane_index(g, m->transfer.to_chain);
        if (from >= 0) line_at(g, a, from)->above = sat_add(line_at(g, a, from)->above, m->amount);
        if (to >= 0) line_at(g, a, to)->below = sat_add(line_at(g, a, to)->below, m->amount);
    }
}

/* An event final on its chain that the ledger does not hold yet: an
 * unapplied inbox entry or a held pending one. It may already have moved
 * x (this node applies it later than the other attesters, whose approvals
 * can execute it first), so each bound widens by its amount. */
static void flight_unapplied(gather *g, const bh_transfer_msg *m)
{
    int a = asset_index(g, &m->transfer.token);
    if (a < 0) return;
    bh_u128 v = m->amount;
    if (g->home != g->x) {
        rc_add(&line_at(g, a, 0)->below, m->emitter_chain == g->x, v);     /* burnt on x already */
        rc_add(&line_at(g, a, 0)->above, m->transfer.to_chain == g->x, v); /* minted by others */
        return;
    }
    int from = lane_index(g, m->emitter_chain), to = lane_index(g, m->transfer.to_chain);
    if (m->emitter_chain == g->x) {
        /* a lock on x: custody and outstanding[to] are higher already */
        rc_add(&line_at(g, a, -1)->above, 1, v);
        if (to >= 0) rc_add(&line_at(g, a, to)->above, 1, v);
    } else if (m->transfer.to_chain == g->x) {
        /* a return from `from`: others may have unlocked it already */
        rc_add(&line_at(g, a, -1)->below, 1, v);
        if (from >= 0) rc_add(&line_at(g, a, from)->below, 1, v);
    } else {
        /* a hop from -> to: others may have moved the Portal's outstanding */
        if (from >= 0) rc_add(&line_at(g, a, from)->below, 1, v);
        if (to >= 0) rc_add(&line_at(g, a, to)->above, 1, v);
    }
}

static int g_outbox(void *ctx, const bh_vault_outbox_entry *e)
{
    flight_accepted(ctx, &e->msg, e->to);
    return 0;
}

static int g_parked(void *ctx, const bh_vault_parked *p)
{
    flight_accepted(ctx, &p->msg, p->to);
    return 0;
}

static int g_pending(void *ctx, const bh_vault_pending *p)
{
    gather *g = ctx;
    const bh_transfer_msg *m = &p->msg;
    if (!p->applied) {
        flight_unapplied(g, m);
        return 0;
    }
    /* applied: its delivery and, for a hop, its notice home are both to come */
    flight_accepted(g, m, m->transfer.to_chain);
    if (m->emitter_chain != g->home && m->transfer.to_chain != g->home)
        flight_accepted(g, m, g->home);
    return 0;
}

/* Fill the ledger side and what is in flight, for one vault, in one go:
 * the caller holds the vault (and no chain call is made). `inbox_src` is the
 * source whose unapplied inbox entries count (x). */
static int gather_vault(gather *g, bh_vault *v, node_store *st, node_inbox_rec *buf)
{
    size_t n_assets = g->hc->n_assets;
    for (size_t i = 0; i < n_assets; i++) {
        bh_bytes32 t;
        node_token32(&t, &g->hc->assets[i].token);
        if (g->home != g->x) {
            bh_vault_lane l;
            int rc = bh_vault_lane_get(v, &l, &t, g->x);
            if (rc && rc != BH_ENOTFOUND) return rc;
            line_at(g, (int)i, 0)->ledger = rc ? 0 : l.outstanding;
            continue;
        }
        bh_vault_asset as;
        int rc = bh_vault_asset_get(v, &as, &t);
        if (rc && rc != BH_ENOTFOUND) return rc;
        line_at(g, (int)i, -1)->ledger = rc ? 0 : as.locked;
        for (size_t k = 0; k < g->n_lanes; k++) {
            bh_vault_lane l;
            rc = bh_vault_lane_get(v, &l, &t, g->lanes[k]);
            if (rc && rc != BH_ENOTFOUND) return rc;
            line_at(g, (int)i, (int)k)->ledger = rc ? 0 : l.outstanding;
        }
    }
    int rc = bh_vault_outbox_scan_to(v, 0, 0, 0, g_outbox, g);
    if (rc == BH_OK) rc = bh_vault_each_parked(v, g_parked, g);
    if (rc == BH_OK) rc = bh_vault_each_pending(v, g_pending, g);
    if (rc) return rc;
    /* what the vault has not applied yet, from every source */
    for (size_t s = 0; s < g->cfg->n_chains; s++) {
        uint16_t src = g->cfg->chains[s].bridge_id;
        uint64_t next = 0;
        if ((rc = bh_vault_source_next(v, src, &next))) return rc;
        for (;;) {
            size_t got = 0;
            rc = node_store_inbox_read(st, g->home, src, next, buf, INBOX_CHUNK, &got);
            if (rc) return rc;
            for (size_t i = 0; i < got; i++)
                if (buf[i].verdict == BH_REJECT_OK) flight_unapplied(g, &buf[i].msg);
            if (got < INBOX_CHUNK) break;
            next = buf[got - 1].msg.sequence + 1;
        }
    }
    return BH_OK;
}

/* Prepare g's lines for vault `home` reconciled on chain x. Returns the
 * number of lines (0: nothing to check). */
static size_t gather_init(gather *g, const bh_config *cfg, const bh_config_chain *hc, uint16_t x,
                          bh_recon_line *lines)
{
    memset(g, 0, sizeof *g);
    g->cfg = cfg;
    g->hc = hc;
    g->home = hc->bridge_id;
    g->x = x;
    g->lines = lines;
    if (g->home == x)
        for (size_t i = 0; i < cfg->n_chains; i++)
            if (cfg->chains[i].bridge_id != x) g->lanes[g->n_lanes++] = cfg->chains[i].bridge_id;
    size_t per = g->home == x ? 1 + g->n_lanes : 1;
    size_t n = hc->n_assets * per;
    memset(lines, 0, n * sizeof *lines);
    for (size_t i = 0; i < hc->n_assets; i++) {
        for (size_t k = 0; k < per; k++) {
            bh_recon_line *l = &lines[i * per + k];
            l->vault = g->home;
            node_token32(&l->token, &hc->assets[i].token);
            l->check = g->home != x ? BH_RECON_SUPPLY : k == 0 ? BH_RECON_CUSTODY : BH_RECON_PORTAL;
            l->lane = g->home != x ? x : k == 0 ? 0 : g->lanes[k - 1];
            l->status = BH_RECON_UNREAD;
        }
    }
    return n;
}

static size_t lines_needed(const bh_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_chains; i++)
        n += cfg->chains[i].n_assets * (cfg->n_chains > 1 ? cfg->n_chains : 1);
    return n ? n : 1;
}

/* Read the chain side of one line at block. */
static int read_line(const bh_chain_backend *be, void *impl, bh_recon_line *l, bh_address *wrapped,
                     uint64_t block)
{
    bh_u256 v;
    bh_address tok;
    memcpy(tok.data, l->token.data + 12, 20);
    int rc;
    if (l->check == BH_RECON_SUPPLY) {
        static const bh_address zero;
        if (!memcmp(wrapped, &zero, sizeof zero)) {
            /* the Portal's mapping never changes once set: read until known */
            rc = be->wrapped_for(impl, wrapped, l->vault, &l->token, block);
            if (rc) return rc;
        }
        if (!memcmp(wrapped, &zero, sizeof zero)) {
            l->onchain = 0;
            return BH_OK;
        }
        rc = be->total_supply(impl, &v, wrapped, block);
    } else if (l->check == BH_RECON_CUSTODY) {
        rc = be->custody(impl, &v, &tok, block);
    } else {
        rc = be->portal_outstanding(impl, &v, &tok, l->lane, block);
    }
    if (rc == BH_OK) l->onchain = u256_sat(&v);
    return rc;
}

/* ---- persistence: meta "recon/<bridge id>" ---- */

static void put_u128(unsigned char *p, bh_u128 v)
{
    bh_be_put_u64(p, (uint64_t)(v >> 64));
    bh_be_put_u64(p + 8, (uint64_t)v);
}

static bh_u128 get_u128(const unsigned char *p)
{
    return (bh_u128)bh_be_get_u64(p) << 64 | bh_be_get_u64(p + 8);
}

/* u16 vault | u8 check | u8 status | u16 lane | token[32] | u128 onchain |
 * u128 ledger | u128 above | u128 below | u128 diff */
static void line_encode(unsigned char *p, const bh_recon_line *l)
{
    bh_be_put_u16(p, l->vault);
    p[2] = (unsigned char)l->check;
    p[3] = (unsigned char)l->status;
    bh_be_put_u16(p + 4, l->lane);
    memcpy(p + 6, l->token.data, 32);
    put_u128(p + 38, l->onchain);
    put_u128(p + 54, l->ledger);
    put_u128(p + 70, l->above);
    put_u128(p + 86, l->below);
    put_u128(p + 102, l->diff);
}

static int line_decode(bh_recon_line *l, const unsigned char *p)
{
    memset(l, 0, sizeof *l);
    l->vault = bh_be_get_u16(p);
    l->check = p[2];
    l->status = p[3];
    if (l->check > BH_RECON_PORTAL || l->status > BH_RECON_UNCONFIRMED) return BH_ECORRUPT;
    l->lane = bh_be_get_u16(p + 4);
    memcpy(l->token.data, p + 6, 32);
    l->onchain = get_u128(p + 38);
    l->ledger = get_u128(p + 54);
    l->above = get_u128(p + 70);
    l->below = get_u128(p + 86);
    l->diff = get_u128(p + 102);
    return BH_OK;
}

static int result_put(node_store *st, uint16_t chain, uint64_t time, uint64_t block, int settled,
                      const bh_recon_line *lines, size_t n)
{
    size_t len = RECON_HEAD + n * RECON_LINE;
    unsigned char *rec = malloc(len);
    if (!rec) return BH_ENOMEM;
    rec[0] = RECON_VERSION;
    bh_be_put_u64(rec + 1, time);
    bh_be_put_u64(rec + 9, block);
    rec[17] = settled ? 1 : 0;
    bh_be_put_u32(rec + 18, (uint32_t)n);
    rec[22] = rec[23] = rec[24] = 0; /* reserved */
    for (size_t i = 0; i < n; i++)
        line_encode(rec + RECON_HEAD + i * RECON_LINE, &lines[i]);
    char key[32];
    snprintf(key, sizeof key, "recon/%u", (unsigned)chain);
    int rc = node_store_meta_put(st, key, rec, len);
    free(rec);
    return rc;
}

/* ---- the node's side ---- */

int node_reconcile_new(node_chain *c)
{
    node_recon *r = calloc(1, sizeof *r);
    if (!r) return BH_ENOMEM;
    r->ring = calloc(ACK_RING, sizeof *r->ring);
    r->lines = calloc(lines_needed(c->node->cfg), sizeof *r->lines);
    r->seen = calloc(SEEN, sizeof *r->seen);
    if (!r->ring || !r->lines || !r->seen) {
        free(r->ring);
        free(r->lines);
        free(r->seen);
        free(r);
        return BH_ENOMEM;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->next_gen = 1;
    c->recon = r;
    return BH_OK;
}

void node_reconcile_free(node_chain *c)
{
    node_recon *r = c->recon;
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r->ring);
    free(r->lines);
    free(r->seen);
    free(r);
    c->recon = NULL;
}

void node_reconcile_acked(node_chain *d, const node_vault *nv, const bh_transfer_msg *m)
{
    node_recon *r = d->recon;
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    if (r->ring_n == ACK_RING) {
        /* the oldest is forgotten: at worst a harmless difference is named */
        r->ring_head = (r->ring_head + 1) % ACK_RING;
        r->ring_n--;
    }
    ack_ent *e = &r->ring[(r->ring_head + r->ring_n++) % ACK_RING];
    e->gen = r->next_gen++;
    e->mark = 0;
    e->vault = nv->cfg->bridge_id;
    e->emitter = m->emitter_chain;
    e->to_chain = m->transfer.to_chain;
    e->token = m->transfer.token;
    e->amount = m->amount;
    pthread_mutex_unlock(&r->mu);
}

/* Mark the acknowledgements older than gen with head, and forget those the
 * cursor has passed. */
static void ring_mark(node_recon *r, uint64_t gen, uint64_t head, int have_head, uint64_t cursor)
{
    pthread_mutex_lock(&r->mu);
    size_t w = 0;
    for (size_t i = 0; i < r->ring_n; i++) {
        ack_ent e = r->ring[(r->ring_head + i) % ACK_RING];
        if (have_head && e.gen < gen && !e.mark) e.mark = head;
        if (e.mark && e.mark <= cursor) continue;
        r->ring[(r->ring_head + w++) % ACK_RING] = e;
    }
    r->ring_n = w;
    pthread_mutex_unlock(&r->mu);
}

static void ring_gather(node_recon *r, gather *g)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->ring_n; i++) {
        const ack_ent *e = &r->ring[(r->ring_head + i) % ACK_RING];
        if (e->vault != g->home) continue;
        bh_transfer_msg m;
        memset(&m, 0, sizeof m);
        m.emitter_chain = e->emitter;
        m.transfer.to_chain = e->to_chain;
        m.transfer.token = e->token;
        m.amount = e->amount;
        flight_accepted(g, &m, g->x); /* the ring is this chain's deliveries */
    }
    pthread_mutex_unlock(&r->mu);
}

static const char *line_asset(bh_node *n, const bh_recon_line *l, char buf[43])
{
    node_chain *h = node_chain_by_id(n, l->vault);
    const char *s = h ? node_asset_symbol(h->cfg, &l->token) : NULL;
    if (s && *s) return s;
    node_hex0x(buf, l->token.data + 12, 20);
    return buf;
}

static void report_line(node_chain *c, const bh_recon_line *l, uint64_t block)
{
    bh_node *n = c->node;
    char vb[8], lb[8], ab[43], on[BH_U128_DEC_MAX], le[BH_U128_DEC_MAX], df[BH_U128_DEC_MAX];
    bh_u128_to_dec(on, l->onchain);
    bh_u128_to_dec(le, l->ledger);
    bh_u128_to_dec(df, l->diff);
    const char *vault = node_chain_name(n, l->vault, vb), *asset = line_asset(n, l, ab);
    const char *lane = l->lane ? node_chain_name(n, l->lane, lb) : "-";
    int danger = (l->check == BH_RECON_SUPPLY && l->status == BH_RECON_EXCESS) ||
                 (l->check == BH_RECON_CUSTODY && l->status == BH_RECON_SHORT);
    BH_LOG(danger ? BH_LOG_ERROR : BH_LOG_WARN, "reconcile_difference",
           "chain=%s check=%s vault=%s asset=%s lane=%s block=%" PRIu64
           " onchain=%s ledger=%s status=%s beyond_in_flight=%s",
           c->cfg->name, bh_reconcile_check_name(l->check), vault, asset, lane, block, on, le,
           bh_reconcile_status_name(l->status), df);
    if (l->check == BH_RECON_SUPPLY && l->status == BH_RECON_EXCESS) {
        char d[256]; /* two names, an asset, a block, two u128: never cut (-O3 checks) */
        snprintf(d, sizeof d, "%s of %s at block %" PRIu64 ": totalSupply %s > outstanding %s",
                 asset, vault, block, on, le);
        node_observe(n, c->cfg->bridge_id, BH_OBS_SUPPLY_DRIFT, 1, d);
    }
}

void node_reconcile_stored(node_chain *c, const bh_chain_event *ev, size_t n)
{
    node_recon *r = c->recon;
    if (!r) return;
    for (size_t i = 0; i < n; i++) {
        const bh_chain_event *e = &ev[i];
        if (e->verdict != BH_REJECT_OK || !e->msg.transfer.token_chain) continue;
        if (r->seen_n == SEEN) {
            r->seen_lost = r->seen[r->seen_head].block;
            r->seen_head = (r->seen_head + 1) % SEEN;
            r->seen_n--;
        }
        seen_ent *s = &r->seen[(r->seen_head + r->seen_n++) % SEEN];
        s->block = e->block_number;
        s->home = e->msg.transfer.token_chain;
        s->to_chain = e->msg.transfer.to_chain;
        s->token = e->msg.transfer.token;
        s->amount = e->msg.amount;
    }
}

/* Remember the stored height with every chain's poll count; forget what
 * no height in the history can need. */
static void hist_push(node_chain *c, uint64_t cursor)
{
    node_recon *r = c->recon;
    bh_node *n = c->node;
    if (r->hist_n && r->hist[(r->hist_head + r->hist_n - 1) % HIST].cursor == cursor) return;
    if (r->hist_n == HIST) {
        r->hist_head = (r->hist_head + 1) % HIST;
        r->hist_n--;
    }
    hist_ent *h = &r->hist[(r->hist_head + r->hist_n++) % HIST];
    h->cursor = cursor;
    for (size_t i = 0; i < n->n && i < BH_CONFIG_MAX_CHAINS; i++)
        h->polled[i] = atomic_load(&n->chains[i].polled);
    uint64_t oldest = r->hist[r->hist_head].cursor;
    while (r->seen_n && r->seen[r->seen_head].block <= oldest) {
        r->seen_head = (r->seen_head + 1) % SEEN;
        r->seen_n--;
    }
}

/* The newest stored height h such that every other chain's watcher has
 * polled twice since and has stored up to the finalized height it read:
 * every event final anywhere when h was stored is then known to this
 * node (stored or applied), so what other attesters executed on c up to h
 * came from something this node holds. Returns: 1 and *h; 0 if none. */
static int guarded_height(node_chain *c, uint64_t *h)
{
    bh_node *n = c->node;
    node_recon *r = c->recon;
    for (size_t i = 0; i < n->n; i++) {
        node_chain *s = &n->chains[i];
        if (s != c && atomic_load(&s->cursor) < atomic_load(&s->finalized)) return 0;
    }
    for (size_t k = r->hist_n; k-- > 0;) {
        const hist_ent *e = &r->hist[(r->hist_head + k) % HIST];
        int ok = 1;
        for (size_t i = 0; i < n->n && i < BH_CONFIG_MAX_CHAINS && ok; i++)
            if (&n->chains[i] != c && atomic_load(&n->chains[i].polled) < e->polled[i] + 2) ok = 0;
        if (ok) {
            *h = e->cursor;
            return 1;
        }
    }
    return 0;
}

/* Events c stored above h: the ledger may hold them, the chain at h not. */
static void seen_above(node_recon *r, gather *g, uint64_t h)
{
    for (size_t i = 0; i < r->seen_n; i++) {
        const seen_ent *e = &r->seen[(r->seen_head + i) % SEEN];
        if (e->block <= h || e->home != g->home) continue;
        int a = asset_index(g, &e->token);
        if (a < 0) continue;
        if (g->home != g->x) {
            /* a burn on x the vault may have applied: outstanding is lower */
            rc_add(&line_at(g, a, 0)->above, 1, e->amount);
        } else {
            /* a lock on x the vault may have applied: locked and
             * outstanding[to] are higher */
            rc_add(&line_at(g, a, -1)->below, 1, e->amount);
            int to = lane_index(g, e->to_chain);
            if (to >= 0) rc_add(&line_at(g, a, to)->below, 1, e->amount);
        }
    }
}

void node_reconcile_step(node_chain *c, uint64_t cursor)
{
    bh_node *n = c->node;
    const bh_config *cfg = n->cfg;
    node_recon *r = c->recon;
    if (!r || !cfg->reconcile_s || !c->be->total_supply || cursor == 0) return;
    hist_push(c, cursor);
    uint64_t now = mono_ms();
    if (r->last_ms && now - r->last_ms < (uint64_t)cfg->reconcile_s * 1000u) return;
    uint64_t h = cursor;
    int guarded = guarded_height(c, &h);
    if (!guarded) {
        /* another watcher lags: try again at the next poll, for a while */
        if (r->last_ms && now - r->last_ms < 3ull * cfg->reconcile_s * 1000u) return;
        h = cursor;
    }
    int complete = !r->seen_lost || r->seen_lost <= h;
    r->last_ms = now;

    /* every delivery acknowledged before this head read executed at or below it */
    pthread_mutex_lock(&r->mu);
    uint64_t gen = r->next_gen;
    pthread_mutex_unlock(&r->mu);
    uint64_t head = 0;
    int have_head = c->be->head(c->impl, &head) == BH_OK;
    if (!r->settle_at && have_head) r->settle_at = head ? head : 1;
    int settled = r->settle_at && h >= r->settle_at;
    ring_mark(r, gen, head, have_head, h);

    size_t cap = lines_needed(cfg), n_lines = 0;
    bh_recon_line *lines = calloc(cap, sizeof *lines);
    node_inbox_rec *buf = calloc(INBOX_CHUNK, sizeof *buf);
    size_t *first = calloc(n->n + 1, sizeof *first);
    if (!lines || !buf || !first) {
        free(lines);
        free(buf);
        free(first);
        return;
    }
    int failed = 0;
    for (size_t s = 0; s < n->n && !failed; s++) {
        node_vault *nv = &n->vaults[s];
        gather g;
        first[s] = n_lines;
        size_t k = gather_init(&g, cfg, nv->cfg, c->cfg->bridge_id, lines + n_lines);
        if (!k) continue;
        pthread_mutex_lock(&nv->mu);
        int rc = gather_vault(&g, nv->v, n->store, buf);
        if (rc == BH_OK) ring_gather(r, &g);
        pthread_mutex_unlock(&nv->mu);
        if (rc) {
            BH_LOG(BH_LOG_WARN, "reconcile_failed", "chain=%s vault=%s error=%s", c->cfg->name,
                   nv->cfg->name, bh_errname(rc));
            failed = 1;
            break;
        }
        seen_above(r, &g, h);
        n_lines += k;
    }
    first[n->n] = n_lines;
    /* the chain side at h, with no lock held */
    size_t bad = 0;
    for (size_t s = 0; s < n->n && !failed; s++) {
        for (size_t i = first[s]; i < first[s + 1] && !failed; i++) {
            bh_recon_line *l = &lines[i];
            size_t a = l->check == BH_RECON_SUPPLY ? i - first[s] : 0;
            bh_address scratch;
            memset(&scratch, 0, sizeof scratch);
            bh_address *w = l->check == BH_RECON_SUPPLY && a < BH_CONFIG_MAX_ASSETS
                                ? &r->wrapped[s][a]
                                : &scratch;
            int rc = read_line(c->be, c->impl, l, w, h);
            if (rc) {
                BH_LOG(BH_LOG_WARN, "reconcile_failed", "chain=%s block=%" PRIu64 " error=%s",
                       c->cfg->name, h, bh_errname(rc));
                failed = 1;
                break;
            }
            bh_reconcile_judge(l, settled);
            /* a difference this node cannot yet tell from its own lag is no evidence */
            if ((l->status == BH_RECON_EXCESS || l->status == BH_RECON_SHORT) &&
                (!guarded || !complete))
                l->status = BH_RECON_UNCONFIRMED;
            bad += l->status != BH_RECON_OK;
        }
    }
    if (!failed) {
        for (size_t i = 0; i < n_lines; i++)
            if (lines[i].status != BH_RECON_OK) report_line(c, &lines[i], h);
        uint64_t t = now_s();
        pthread_mutex_lock(&r->mu);
        memcpy(r->lines, lines, n_lines * sizeof *lines);
        r->n_lines = n_lines;
        r->block = h;
        r->time = t;
        r->settled = settled;
        r->done = 1;
        pthread_mutex_unlock(&r->mu);
        int prc = result_put(n->store, c->cfg->bridge_id, t, h, settled, lines, n_lines);
        if (prc)
            BH_LOG(BH_LOG_WARN, "reconcile_store_failed", "chain=%s error=%s", c->cfg->name,
                   bh_errname(prc));
        BH_LOG(BH_LOG_INFO, "reconciled",
               "chain=%s block=%" PRIu64 " cursor=%" PRIu64 " lines=%zu differences=%zu "
               "settled=%d guarded=%d",
               c->cfg->name, h, cursor, n_lines, bad, settled, guarded && complete);
    }
    free(lines);
    free(buf);
    free(first);
}

/* ---- JSON, for the snapshot and vaultctl ---- */

static json_t *u128_str(bh_u128 v)
{
    char s[BH_U128_DEC_MAX];
    bh_u128_to_dec(s, v);
    return json_string(s);
}

/* drift: signed, what lies beyond the in-flight bounds ("0" when within):
 * out of bounds, the chain is above the ledger exactly when it is above
 * the upper bound, whatever the status says of the verdict. */
static json_t *line_json(const bh_recon_line *l, const char *vault, const char *asset,
                         const char *lane)
{
    char tok[43], d[BH_U128_DEC_MAX + 1];
    node_hex0x(tok, l->token.data + 12, 20);
    d[0] = '-';
    bh_u128_to_dec(d + 1, l->diff);
    const char *drift = !l->diff ? "0" : l->onchain > l->ledger ? d + 1 : d;
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s}", "check", bh_reconcile_check_name(l->check),
        "vault", vault, "asset", asset, "token", tok, "lane", lane, "onchain", u128_str(l->onchain),
        "ledger", u128_str(l->ledger), "in_flight_above", u128_str(l->above), "in_flight_below",
        u128_str(l->below), "drift", drift, "status", bh_reconcile_status_name(l->status));
}

void node_reconcile_snapshot(bh_node *n, json_t *snap)
{
    json_t *arr = json_array();
    if (!arr) return;
    for (size_t i = 0; i < n->n; i++) {
        node_chain *c = &n->chains[i];
        node_recon *r = c->recon;
        if (!r) continue;
        pthread_mutex_lock(&r->mu);
        if (r->done) {
            json_t *ls = json_array();
            for (size_t k = 0; k < r->n_lines; k++) {
                const bh_recon_line *l = &r->lines[k];
                char vb[8], lb[8], ab[43];
                json_array_append_new(
                    ls, line_json(l, node_chain_name(n, l->vault, vb), line_asset(n, l, ab),
                                  l->lane ? node_chain_name(n, l->lane, lb) : ""));
            }
            json_array_append_new(arr,
                                  json_pack("{s:s,s:I,s:I,s:b,s:o}", "chain", c->cfg->name, "block",
                                            (json_int_t)r->block, "time", (json_int_t)r->time,
                                            "settled", r->settled, "lines", ls));
        }
        pthread_mutex_unlock(&r->mu);
    }
    json_object_set_new(snap, "reconcile", arr);
}

/* ---- from outside the node (vaultctl) ---- */

typedef struct {
    const bh_config *cfg; /* may be NULL */
    char vb[8], lb[8], ab[43];
} namer;

static const char *name_of(namer *nm, uint16_t id, char buf[8])
{
    const bh_config_chain *c = nm->cfg ? bh_config_chain_by_id(nm->cfg, id) : NULL;
    if (c) return c->name;
    snprintf(buf, 8, "%u", (unsigned)id);
    return buf;
}

static json_t *line_json_named(namer *nm, const bh_recon_line *l)
{
    const bh_config_chain *h = nm->cfg ? bh_config_chain_by_id(nm->cfg, l->vault) : NULL;
    const char *sym = NULL;
    for (size_t i = 0; h && i < h->n_assets && !sym; i++) {
        bh_bytes32 t;
        node_token32(&t, &h->assets[i].token);
        if (!memcmp(&t, &l->token, sizeof t) && h->assets[i].symbol[0]) sym = h->assets[i].symbol;
    }
    if (!sym) {
        node_hex0x(nm->ab, l->token.data + 12, 20);
        sym = nm->ab;
    }
    json_t *j = line_json(l, name_of(nm, l->vault, nm->vb), sym,
                          l->lane ? name_of(nm, l->lane, nm->lb) : "");
    if (j) {
        json_object_set_new(j, "vault_id", json_integer(l->vault));
        json_object_set_new(j, "lane_id", json_integer(l->lane));
    }
    return j;
}

static json_t *result_json(namer *nm, uint16_t chain, uint64_t time, uint64_t block, int settled,
                           const bh_recon_line *lines, size_t n)
{
    char cb[8];
    json_t *ls = json_array();
    for (size_t i = 0; ls && i < n; i++)
        json_array_append_new(ls, line_json_named(nm, &lines[i]));
    return json_pack("{s:s,s:i,s:I,s:I,s:b,s:o}", "chain", name_of(nm, chain, cb), "chain_id",
                     (int)chain, "block", (json_int_t)block, "time", (json_int_t)time, "settled",
                     settled, "lines", ls ? ls : json_array());
}

typedef struct {
    namer nm;
    json_t *arr;
    int rc;
} read_ctx;

static int read_cb(void *vctx, const char *key, const void *val, size_t len)
{
    read_ctx *rc = vctx;
    const unsigned char *p = val;
    unsigned long id = strtoul(key + 6, NULL, 10);
    if (len < RECON_HEAD || p[0] != RECON_VERSION || id == 0 || id > 65535) {
        rc->rc = BH_ECORRUPT;
        return 1;
    }
    uint32_t n = bh_be_get_u32(p + 18);
    if (n > RECON_MAX_LINES || len != RECON_HEAD + (size_t)n * RECON_LINE) {
        rc->rc = BH_ECORRUPT;
        return 1;
    }
    bh_recon_line *lines = calloc(n ? n : 1, sizeof *lines);
    if (!lines) {
        rc->rc = BH_ENOMEM;
        return 1;
    }
    for (uint32_t i = 0; i < n; i++)
        if (line_decode(&lines[i], p + RECON_HEAD + (size_t)i * RECON_LINE)) {
            free(lines);
            rc->rc = BH_ECORRUPT;
            return 1;
        }
    json_array_append_new(rc->arr, result_json(&rc->nm, (uint16_t)id, bh_be_get_u64(p + 1),
                                               bh_be_get_u64(p + 9), p[17] != 0, lines, n));
    free(lines);
    return 0;
}

int bh_reconcile_read(json_t **out, char *err, size_t err_cap, const char *data_dir,
                      const bh_config *cfg)
{
    if (out) *out = NULL;
    if (err && err_cap) err[0] = 0;
    if (!out || !data_dir) return BH_EINVAL;
    read_ctx ctx = {.nm = {.cfg = cfg}, .arr = json_array()};
    int rc = node_store_read_records(data_dir, "recon/", "reconciliation", read_cb, &ctx, &ctx.rc,
                                     err, err_cap);
    if (rc) {
        json_decref(ctx.arr);
        return rc;
    }
    *out = ctx.arr;
    return BH_OK;
}

typedef struct {
    uint64_t cursor;
    uint64_t next_journal, next_outbox, outbox_depth, pending, parked;
} audit_stamp;

static int stamp_get(audit_stamp *s, bh_vault *v, node_store *st, uint16_t chain)
{
    memset(s, 0, sizeof *s);
    node_cursor cur;
    int rc = node_store_cursor_get(st, chain, &cur);
    if (rc) return rc;
    bh_vault_info info;
    if ((rc = bh_vault_info_get(v, &info))) return rc;
    s->cursor = cur.number;
    s->next_journal = info.next_journal;
    s->next_outbox = info.next_outbox;
    s->outbox_depth = info.outbox_depth;
    s->pending = info.pending_count;
    s->parked = info.parked_count;
    return BH_OK;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One stable reading of vault x's ledger and what is in flight. */
static int audit_read(gather *g, bh_vault *v, node_store *st, node_inbox_rec *buf,
                      audit_stamp *stamp, const bh_config *cfg, const bh_config_chain *xc,
                      bh_recon_line *lines, size_t *n)
{
    for (unsigned tries = 0; tries < 50; tries++) {
        audit_stamp a, b;
        int rc = stamp_get(&a, v, st, xc->bridge_id);
        if (rc) return rc;
        *n = gather_init(g, cfg, xc, xc->bridge_id, lines);
        if ((rc = gather_vault(g, v, st, buf))) return rc;
        if ((rc = stamp_get(&b, v, st, xc->bridge_id))) return rc;
        if (!memcmp(&a, &b, sizeof a)) {
            *stamp = a;
            return BH_OK;
        }
        sleep_ms(100);
    }
    return BH_EBUSY;
}

static int audit_chain(json_t *arr, size_t *mismatches, char *err, size_t err_cap,
                       const bh_config *cfg, const bh_config_chain *xc, node_store *st,
                       unsigned wait_ms)
{
    bh_address tokens[BH_CONFIG_MAX_ASSETS];
    bh_chain_config ec;
    const bh_chain_backend *be = node_chain_backend(&ec, tokens, xc);
    void *impl = NULL;
    bh_vault *v = NULL;
    bh_recon_line *lines = calloc(lines_needed(cfg), sizeof *lines);
    node_inbox_rec *buf = calloc(INBOX_CHUNK, sizeof *buf);
    char why[256] = "";
    bh_vault_opts vo = {.read_only = 1};
    int rc = lines && buf ? BH_OK : BH_ENOMEM;
    if (!rc && (rc = be ? be->create(&impl, &ec) : BH_EINVAL))
        snprintf(err, err_cap, "chain %s: %s", xc->name, bh_strerror(rc));
    if (!rc && (rc = be->watch.verify(impl)))
        snprintf(err, err_cap, "chain %s: the endpoints do not serve evm chain id %" PRIu64 ": %s",
                 xc->name, xc->evm_chain_id, bh_strerror(rc));
    if (!rc && (rc = bh_vault_open(&v, cfg->data_dir, xc->name, &vo, why, sizeof why)))
        snprintf(err, err_cap, "vault %s: %s", xc->name, *why ? why : bh_strerror(rc));
    audit_stamp first = {0}, now = {0};
    uint64_t head = 0;
    size_t n = 0;
    int settled = 0;
    for (int pass = 0; !rc && pass < 2; pass++) {
        gather g;
        if ((rc = audit_read(&g, v, st, buf, &now, cfg, xc, lines, &n))) {
            snprintf(err, err_cap, "vault %s: %s", xc->name,
                     rc == BH_EBUSY ? "the vault kept moving; try again" : bh_strerror(rc));
            break;
        }
        if (pass == 0) {
            first = now;
            /* every delivery acknowledged before this executed at or below it */
            if ((rc = be->head(impl, &head))) {
                snprintf(err, err_cap, "chain %s: head: %s", xc->name, bh_strerror(rc));
                break;
            }
        } else {
            /* exact once no delivery was acknowledged since the first reading
             * and the cursor passed the head read after it */
            settled = now.next_outbox == first.next_outbox &&
                      now.outbox_depth == first.outbox_depth && now.parked == first.parked &&
                      now.pending == first.pending && now.cursor >= head;
        }
        size_t bad = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            bh_address scratch;
            memset(&scratch, 0, sizeof scratch);
            if ((rc = read_line(be, impl, &lines[i], &scratch, now.cursor)))
                snprintf(err, err_cap, "chain %s at block %" PRIu64 ": %s", xc->name, now.cursor,
                         bh_strerror(rc));
            else {
                bh_reconcile_judge(&lines[i], settled);
                bad += lines[i].status != BH_RECON_OK;
            }
        }
        if (rc || !bad || pass == 1) break;
        /* a harmless-direction difference may be a delivery executed past
         * the cursor: wait for the node's cursor to pass that head */
        for (unsigned waited = 0; waited < wait_ms; waited += 200) {
            node_cursor cur;
            if (node_store_cursor_get(st, xc->bridge_id, &cur) == BH_OK && cur.number >= head)
                break;
            sleep_ms(200);
        }
    }
    if (!rc) {
        namer nm = {.cfg = cfg};
        json_array_append_new(
            arr, result_json(&nm, xc->bridge_id, now_s(), now.cursor, settled, lines, n));
        for (size_t i = 0; i < n; i++)
            *mismatches += lines[i].status != BH_RECON_OK;
    }
    bh_vault_close(v);
    if (impl) be->destroy(impl);
    free(lines);
    free(buf);
    return rc;
}

int bh_reconcile_audit(json_t **out, size_t *mismatches, char *err, size_t err_cap,
                       const bh_config *cfg, unsigned wait_ms)
{
    if (out) *out = NULL;
    if (mismatches) *mismatches = 0;
    if (err && err_cap) err[0] = 0;
    if (!out || !mismatches || !cfg) return BH_EINVAL;
    if (!node_store_exists(cfg->data_dir)) {
        snprintf(err, err_cap, "%s/node: no node store (the node never ran on this data_dir)",
                 cfg->data_dir);
        return BH_ENOTFOUND;
    }
    node_store *st = NULL;
    char why[256] = "";
    int rc = node_store_open(&st, cfg->data_dir, why, sizeof why);
    if (rc) {
        snprintf(err, err_cap, "%s/node: %s", cfg->data_dir, *why ? why : bh_strerror(rc));
        return rc;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < cfg->n_chains && !rc; i++)
        if (cfg->chains[i].n_assets)
            rc = audit_chain(arr, mismatches, err, err_cap, cfg, &cfg->chains[i], st, wait_ms);
    node_store_close(st);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return BH_OK;
}
