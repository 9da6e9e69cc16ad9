/* Vault reading: snapshots, visitors, and the journal audit. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_hex.h"
#include "vault_internal.h"
#include "vault_records.h"

/* Run a visitor over one table inside one read snapshot. */
typedef int (*row_fn)(void *ctx, const MDB_val *k, const MDB_val *d);

static int scan(bh_vault *v, MDB_txn *txn, MDB_dbi dbi, const MDB_val *from, row_fn fn, void *ctx)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) return bh_store_status(rc);
    (void)v;
    MDB_val k, d;
    int op = MDB_FIRST;
    if (from) {
        k = *from;
        op = MDB_SET_RANGE;
    }
    int out = 0;
    for (rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if ((out = fn(ctx, &k, &d)) != 0) break;
    }
    mdb_cursor_close(cur);
    if (out) return out;
    return rc == MDB_NOTFOUND ? BH_OK : bh_store_status(rc);
}

static int with_read(bh_vault *v, MDB_dbi dbi, const MDB_val *from, row_fn fn, void *ctx)
{
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    rc = scan(v, txn, dbi, from, fn, ctx);
    vault_txn_abort(v, txn);
    return rc;
}

/* Decode the record of one key in a snapshot of its own. */
typedef int (*dec_fn)(void *out, const MDB_val *d);

static int get_one(bh_vault *v, MDB_dbi dbi, const char *table, const void *key, size_t klen,
                   dec_fn dec, void *out)
{
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_val k = {klen, (void *)key}, d;
    rc = bh_store_status(mdb_get(txn, dbi, &k, &d));
    if (!rc && dec && dec(out, &d)) rc = vault_corrupt(v, table, &k);
    vault_txn_abort(v, txn);
    return rc;
}

static int dec_asset(void *out, const MDB_val *d)
{
    return vrec_asset_get(out, d->mv_data, d->mv_size);
}

static int dec_lane(void *out, const MDB_val *d)
{
    return vrec_lane_get(out, d->mv_data, d->mv_size);
}

static int dec_pending(void *out, const MDB_val *d)
{
    return vrec_pending_get(out, d->mv_data, d->mv_size);
}

int bh_vault_info_get(bh_vault *v, bh_vault_info *out)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    if (!v) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    vault_seq seq;
    memset(&seq, 0, sizeof seq);
    const char *keys[] = {"created", "seq", "rejects"};
    for (int i = 0; i < 3 && !rc; i++) {
        MDB_val k = {strlen(keys[i]), (void *)keys[i]}, d;
        int mrc = mdb_get(txn, v->db_meta, &k, &d);
        if (mrc == MDB_NOTFOUND) continue;
        if (mrc) {
            rc = bh_store_status(mrc);
            break;
        }
        int bad = i == 0   ? vrec_u64_get(&out->created, d.mv_data, d.mv_size)
                  : i == 1 ? vrec_seq_get(&seq, d.mv_data, d.mv_size)
                           : vrec_rejects_get(out->rejects, d.mv_data, d.mv_size);
        if (bad) rc = vault_corrupt(v, "meta", &k);
    }
    if (!rc) rc = bh_store_schema_get(txn, v->db_meta, BH_STORE_KIND_VAULT, &out->schema, NULL);
    MDB_stat st;
    if (!rc && !(rc = bh_store_status(mdb_stat(txn, v->db_outbox, &st))))
        out->outbox_depth = st.ms_entries;
    if (!rc && !(rc = bh_store_status(mdb_stat(txn, v->db_pending, &st))))
        out->pending_count = st.ms_entries;
    if (!rc && v->has_parked && !(rc = bh_store_status(mdb_stat(txn, v->db_parked, &st))))
        out->parked_count = st.ms_entries;
    vault_txn_abort(v, txn);
    memcpy(out->name, v->name, sizeof out->name);
    out->chain_id = v->chain_id;
    out->next_journal = seq.next_journal;
    out->next_pending = seq.next_pending;
    out->next_outbox = seq.next_outbox;
    out->msg_limit_default = seq.msg_limit_default;
    return rc;
}

int bh_vault_asset_get(bh_vault *v, bh_vault_asset *out, const bh_bytes32 *token)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    if (!v || !token) return BH_EINVAL;
    return get_one(v, v->db_assets, "assets", token->data, 32, dec_asset, out);
}

int bh_vault_lane_get(bh_vault *v, bh_vault_lane *out, const bh_bytes32 *token, uint16_t chain)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    if (!v || !token) return BH_EINVAL;
    unsigned char kb[34];
    memcpy(kb, token->data, 32);
    bh_be_put_u16(kb + 32, chain);
    return get_one(v, v->db_lanes, "lanes", kb, 34, dec_lane, out);
}

int bh_vault_min_amount_get(bh_vault *v, bh_u128 *out, const bh_bytes32 *token)
{
    if (!out) return BH_EINVAL;
    *out = 0;
    if (!v || !token) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_val k = {32, (void *)token->data}, d;
    rc = bh_store_status(mdb_get(txn, v->db_assets, &k, &d));
    if (!rc) {
        char mk[VAULT_MIN_KEY_LEN + 1];
        vault_min_key(mk, token);
        k.mv_size = VAULT_MIN_KEY_LEN;
        k.mv_data = mk;
        int mrc = mdb_get(txn, v->db_meta, &k, &d);
        if (mrc == 0 && vrec_u128_get(out, d.mv_data, d.mv_size))
            rc = vault_corrupt(v, "meta", &k);
        else if (mrc != MDB_NOTFOUND)
            rc = bh_store_status(mrc);
    }
    vault_txn_abort(v, txn);
    return rc;
}

static int pending_decode(bh_vault_pending *p, const MDB_val *k, const MDB_val *d)
{
    vault_pending_rec r;
    memset(p, 0, sizeof *p);
    if (k->mv_size != 8 || vrec_pending_get(&r, d->mv_data, d->mv_size)) return BH_ECORRUPT;
    p->id = bh_be_get_u64(k->mv_data);
    p->created = r.created;
    p->release_at = r.release_at;
    p->cause = r.cause;
    p->applied = r.applied & VAULT_P_APPLIED;
    p->msg = r.msg;
    return BH_OK;
}

int bh_vault_pending_get(bh_vault *v, bh_vault_pending *out, uint64_t id)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    if (!v) return BH_EINVAL;
    unsigned char kb[8];
    bh_be_put_u64(kb, id);
    vault_pending_rec r;
    int rc = get_one(v, v->db_pending, "pending", kb, 8, dec_pending, &r);
    if (rc) return rc;
    out->id = id;
    out->created = r.created;
    out->release_at = r.release_at;
    out->cause = r.cause;
    out->applied = r.applied & VAULT_P_APPLIED;
    out->msg = r.msg;
    return BH_OK;
}

typedef struct {
    void *cb;
    void *ctx;
    const bh_bytes32 *token;
    bh_vault *v;
} visit;

static int asset_row(void *c, const MDB_val *k, const MDB_val *d)
{
    visit *vi = c;
    bh_vault_asset a;
    bh_bytes32 t;
    if (k->mv_size != 32 || vrec_asset_get(&a, d->mv_data, d->mv_size))
        return vault_corrupt(vi->v, "assets", k);
    memcpy(t.data, k->mv_data, 32);
    return ((bh_vault_asset_cb)vi->cb)(vi->ctx, &t, &a);
}

int bh_vault_each_asset(bh_vault *v, bh_vault_asset_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    visit vi = {(void *)cb, ctx, NULL, v};
    return with_read(v, v->db_assets, NULL, asset_row, &vi);
}

static int lane_row(void *c, const MDB_val *k, const MDB_val *d)
{
    visit *vi = c;
    bh_vault_lane l;
    bh_bytes32 t;
    if (k->mv_size != 34) return vault_corrupt(vi->v, "lanes", k);
    if (vi->token && memcmp(k->mv_data, vi->token->data, 32) != 0) return 0;
    if (vrec_lane_get(&l, d->mv_data, d->mv_size)) return vault_corrupt(vi->v, "lanes", k);
    memcpy(t.data, k->mv_data, 32);
    const unsigned char *kb = k->mv_data;
    return ((bh_vault_lane_cb)vi->cb)(vi->ctx, &t, bh_be_get_u16(kb + 32), &l);
}

int bh_vault_each_lane(bh_vault *v, const bh_bytes32 *token, bh_vault_lane_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    visit vi = {(void *)cb, ctx, token, v};
    return with_read(v, v->db_lanes, NULL, lane_row, &vi);
}

static int pending_row(void *c, const MDB_val *k, const MDB_val *d)
{
    visit *vi = c;
    bh_vault_pending p;
    if (pending_decode(&p, k, d)) return vault_corrupt(vi->v, "pending", k);
    return ((bh_vault_pending_cb)vi->cb)(vi->ctx, &p);
}

int bh_vault_each_pending(bh_vault *v, bh_vault_pending_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    visit vi = {(void *)cb, ctx, NULL, v};
    return with_read(v, v->db_pending, NULL, pending_row, &vi);
}

static int journal_row(void *c, const MDB_val *k, const MDB_val *d)
{
    visit *vi = c;
    bh_vault_journal_entry e;
    if (k->mv_size != 8 || vault_jrec_decode(&e, bh_be_get_u64(k->mv_data), d))
        return vault_corrupt(vi->v, "journal", k);
    return ((bh_vault_journal_cb)vi->cb)(vi->ctx, &e);
}

int bh_vault_each_journal(bh_vault *v, uint64_t since, bh_vault_journal_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    visit vi = {(void *)cb, ctx, NULL, v};
    unsigned char kb[8];
    bh_be_put_u64(kb, since);
    MDB_val from = {8, kb};
    return with_read(v, v->db_journal, &from, journal_row, &vi);
}

static int quarantine_row(void *c, const MDB_val *k, const MDB_val *d)
{
    visit *vi = c;
    bh_vault_quarantine q;
    if (k->mv_size != 2 || vrec_quarantine_get(&q, d->mv_data, d->mv_size))
        return vault_corrupt(vi->v, "quarantine", k);
    return ((bh_vault_quarantine_cb)vi->cb)(vi->ctx, &q);
}

int bh_vault_each_quarantine(bh_vault *v, bh_vault_quarantine_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    visit vi = {(void *)cb, ctx, NULL, v};
    return with_read(v, v->db_quarantine, NULL, quarantine_row, &vi);
}

static int parked_row(void *c, const MDB_val *k, const MDB_val *d)
{
    visit *vi = c;
    vault_parked_rec r;
    bh_vault_parked p;
    if (k->mv_size != 8 || vrec_parked_get(&r, d->mv_data, d->mv_size))
        return vault_corrupt(vi->v, "parked", k);
    memset(&p, 0, sizeof p);
    p.id = bh_be_get_u64(k->mv_data);
    p.parked_at = r.parked_at;
    p.tries = r.tries;
    memcpy(p.last_error, r.error, r.error_len);
    p.msg = r.msg;
    p.to = r.to;
    return ((bh_vault_parked_cb)vi->cb)(vi->ctx, &p);
}

int bh_vault_each_parked(bh_vault *v, bh_vault_parked_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    if (!v->has_parked) return BH_OK; /* read-only, and no build with parking wrote here */
    visit vi = {(void *)cb, ctx, NULL, v};
    return with_read(v, v->db_parked, NULL, parked_row, &vi);
}

typedef struct {
    bh_vault_chain_cb cb;
    void *ctx;
    uint64_t now;
    bh_vault *v;
} chain_visit;

static int chain_row(void *c, const MDB_val *k, const MDB_val *d)
{
    chain_visit *cv = c;
    vault_chain_rec r;
    if (k->mv_size != 2 || vrec_chain_get(&r, d->mv_data, d->mv_size))
        return vault_corrupt(cv->v, "chains", k);
    const unsigned char *kb = k->mv_data;
    uint64_t h = cv->now / 3600;
    uint32_t n = 0;
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        if (r.hour[i] + BH_VAULT_WINDOW_SLOTS > h && r.hour[i] <= h) n += r.count[i];
    return cv->cb(cv->ctx, bh_be_get_u16(kb), r.msg_limit, n);
}

int bh_vault_each_chain(bh_vault *v, uint64_t now, bh_vault_chain_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    chain_visit cv = {cb, ctx, now, v};
    return with_read(v, v->db_chains, NULL, chain_row, &cv);
}

int bh_vault_is_quarantined(bh_vault *v, uint16_t chain)
{
    if (!v) return 0;
    unsigned char kb[2];
    bh_be_put_u16(kb, chain);
    return get_one(v, v->db_quarantine, "quarantine", kb, 2, NULL, NULL) == BH_OK;
}

/* ---- outstanding split: minted and in flight ---- */

typedef struct {
    bh_bytes32 token;
    uint16_t chain;
    bh_vault_lane l;
    bh_u128 in_flight;
} split_lane;

typedef struct {
    bh_vault *v;
    const bh_bytes32 *token; /* filter, or NULL */
    split_lane *ls;
    size_t n, cap;
    int oom;
} split_ctx;

static int split_lane_row(void *c, const MDB_val *k, const MDB_val *d)
{
    split_ctx *sc = c;
    if (k->mv_size != 34) return vault_corrupt(sc->v, "lanes", k);
    if (sc->token && memcmp(k->mv_data, sc->token->data, 32) != 0) return 0;
    if (sc->n == sc->cap) {
        size_t nc = sc->cap ? sc->cap * 2 : 16;
        split_lane *ls = realloc(sc->ls, nc * sizeof *ls);
        if (!ls) return BH_ENOMEM;
        sc->ls = ls;
        sc->cap = nc;
    }
    split_lane *x = &sc->ls[sc->n];
    if (vrec_lane_get(&x->l, d->mv_data, d->mv_size)) return vault_corrupt(sc->v, "lanes", k);
    memcpy(x->token.data, k->mv_data, 32);
    x->chain = bh_be_get_u16((const unsigned char *)k->mv_data + 32);
    x->in_flight = 0;
    sc->n++;
    return 0;
}

/* A transfer the ledger counts in outstanding[to] that `to` has not
 * minted yet (the home chain's lane counts none). */
static void split_add(split_ctx *sc, const bh_transfer_msg *m, uint16_t to)
{
    if (to == sc->v->chain_id || to != m->transfer.to_chain) return;
    for (size_t i = 0; i < sc->n; i++) {
        split_lane *x = &sc->ls[i];
        if (x->chain != to || memcmp(x->token.data, m->transfer.token.data, 32) != 0) continue;
        bh_u128 s = x->in_flight + m->amount;
        x->in_flight = s < x->in_flight ? ~(bh_u128)0 : s;
        return;
    }
}

static int split_outbox_row(void *c, const MDB_val *k, const MDB_val *d)
{
    split_ctx *sc = c;
    bh_transfer_msg m;
    uint16_t to;
    if (k->mv_size != 8 || vrec_outbox_get_to(&m, &to, d->mv_data, d->mv_size))
        return vault_corrupt(sc->v, "outbox", k);
    split_add(sc, &m, to);
    return 0;
}

static int split_parked_row(void *c, const MDB_val *k, const MDB_val *d)
{
    split_ctx *sc = c;
    vault_parked_rec r;
    if (k->mv_size != 8 || vrec_parked_get(&r, d->mv_data, d->mv_size))
        return vault_corrupt(sc->v, "parked", k);
    split_add(sc, &r.msg, r.to);
    return 0;
}

static int split_pending_row(void *c, const MDB_val *k, const MDB_val *d)
{
    split_ctx *sc = c;
    bh_vault_pending p;
    if (pending_decode(&p, k, d)) return vault_corrupt(sc->v, "pending", k);
    /* applied: in outstanding already, its delivery to come (a held one
     * is not applied: the ledger does not count it yet) */
    if (p.applied) split_add(sc, &p.msg, p.msg.transfer.to_chain);
    return 0;
}

int bh_vault_each_lane_split(bh_vault *v, const bh_bytes32 *token, bh_vault_lane_split_cb cb,
                             void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    split_ctx sc = {.v = v, .token = token};
    rc = scan(v, txn, v->db_lanes, NULL, split_lane_row, &sc);
    if (!rc && sc.n) rc = scan(v, txn, v->db_outbox, NULL, split_outbox_row, &sc);
    if (!rc && sc.n && v->has_parked) rc = scan(v, txn, v->db_parked, NULL, split_parked_row, &sc);
    if (!rc && sc.n) rc = scan(v, txn, v->db_pending, NULL, split_pending_row, &sc);
    vault_txn_abort(v, txn);
    for (size_t i = 0; !rc && i < sc.n; i++) {
        split_lane *x = &sc.ls[i];
        bh_u128 f = x->in_flight < x->l.outstanding ? x->in_flight : x->l.outstanding;
        rc = cb(ctx, &x->token, x->chain, &x->l, f);
    }
    free(sc.ls);
    return rc;
}

/* ---- audit ---- */

typedef struct {
    bh_bytes32 token;
    bh_vault_asset a;
    uint16_t *chains;
    bh_vault_lane *lanes; /* only outstanding is used */
    size_t nl, capl;
} au_asset;

typedef struct {
    au_asset *as;
    size_t na, capa;
    uint64_t expect_id;
    char *diff;
    size_t cap;
    int bad;
} audit_ctx;

static au_asset *au_find(audit_ctx *c, const bh_bytes32 *t)
{
    for (size_t i = 0; i < c->na; i++)
        if (!memcmp(&c->as[i].token, t, 32)) return &c->as[i];
    return NULL;
}

static bh_vault_lane *au_lane(au_asset *a, uint16_t chain)
{
    for (size_t i = 0; i < a->nl; i++)
        if (a->chains[i] == chain) return &a->lanes[i];
    if (a->nl == a->capl) {
        size_t nc = a->capl ? a->capl * 2 : 8;
        uint16_t *ch = realloc(a->chains, nc * sizeof *ch);
        if (!ch) return NULL;
        a->chains = ch;
        bh_vault_lane *ln = realloc(a->lanes, nc * sizeof *ln);
        if (!ln) return NULL;
        a->lanes = ln;
        a->capl = nc;
    }
    a->chains[a->nl] = chain;
    memset(&a->lanes[a->nl], 0, sizeof a->lanes[0]);
    return &a->lanes[a->nl++];
}

static void hex_token(char out[65], const bh_bytes32 *t)
{
    bh_hex_encode(out, t->data, 32);
}

static int au_fail(audit_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int au_fail(audit_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->diff, c->cap, fmt, ap);
    va_end(ap);
    c->bad = 1;
    return BH_ECORRUPT;
}

static int audit_entry(void *vc, const bh_vault_journal_entry *e)
{
    audit_ctx *c = vc;
    if (e->id != c->expect_id)
        return au_fail(c, "journal id %llu follows %llu: an entry is missing",
                       (unsigned long long)e->id, (unsigned long long)(c->expect_id - 1));
    c->expect_id++;
    if (e->kind == BH_VJ_ASSET_ADD) {
        if (au_find(c, &e->token))
            return au_fail(c, "journal %llu registers an asset twice", (unsigned long long)e->id);
        if (c->na == c->capa) {
            size_t nc = c->capa ? c->capa * 2 : 8;
            au_asset *n = realloc(c->as, nc * sizeof *n);
            if (!n) return BH_ENOMEM;
            c->as = n;
            c->capa = nc;
        }
        memset(&c->as[c->na], 0, sizeof c->as[0]);
        c->as[c->na++].token = e->token;
        return 0;
    }
    if (!e->effects) return 0;
    au_asset *a = au_find(c, &e->token);
    if (!a)
        return au_fail(c, "journal %llu moves an unregistered asset", (unsigned long long)e->id);
    bh_vault_lane *dec = NULL, *inc = NULL;
    /* create both lanes first: a later realloc would move an earlier pointer */
    if ((e->effects & BH_VJ_LANE_DEC) && !au_lane(a, e->lane_dec)) return BH_ENOMEM;
    if ((e->effects & BH_VJ_LANE_INC) && !au_lane(a, e->lane_inc)) return BH_ENOMEM;
    if (e->effects & BH_VJ_LANE_DEC) dec = au_lane(a, e->lane_dec);
    if (e->effects & BH_VJ_LANE_INC) inc = au_lane(a, e->lane_inc);
    bh_reject why = vault_effect(&a->a, dec, inc, e->effects, e->amount, 0);
    if (why)
        return au_fail(c, "journal %llu cannot be replayed: %s", (unsigned long long)e->id,
                       bh_reject_name(why));
    return 0;
}

static int audit_stored_asset(void *vc, const bh_bytes32 *t, const bh_vault_asset *s)
{
    audit_ctx *c = vc;
    char hx[65], d1[BH_U128_DEC_MAX], d2[BH_U128_DEC_MAX];
    hex_token(hx, t);
    au_asset *a = au_find(c, t);
    if (!a) return au_fail(c, "asset %s is stored but never registered in the journal", hx);
    if (a->a.locked != s->locked) {
        bh_u128_to_dec(d1, a->a.locked);
        bh_u128_to_dec(d2, s->locked);
        return au_fail(c, "asset %s locked: journal gives %s, stored %s", hx, d1, d2);
    }
    if (a->a.outstanding_total != s->outstanding_total) {
        bh_u128_to_dec(d1, a->a.outstanding_total);
        bh_u128_to_dec(d2, s->outstanding_total);
        return au_fail(c, "asset %s total outstanding: journal gives %s, stored %s", hx, d1, d2);
    }
    a->a.created = 1; /* seen in storage */
    return 0;
}

static int audit_stored_lane(void *vc, const bh_bytes32 *t, uint16_t chain, const bh_vault_lane *s)
{
    audit_ctx *c = vc;
    char hx[65], d1[BH_U128_DEC_MAX], d2[BH_U128_DEC_MAX];
    hex_token(hx, t);
    au_asset *a = au_find(c, t);
    if (!a) return au_fail(c, "lane %s/%u is stored for an unregistered asset", hx, chain);
    bh_vault_lane *l = au_lane(a, chain);
    if (!l) return BH_ENOMEM;
    if (l->outstanding != s->outstanding) {
        bh_u128_to_dec(d1, l->outstanding);
        bh_u128_to_dec(d2, s->outstanding);
        return au_fail(c, "asset %s outstanding on chain %u: journal gives %s, stored %s", hx,
                       chain, d1, d2);
    }
    l->cap = 1; /* marks the lane as present in storage */
    return 0;
}

int bh_vault_audit(bh_vault *v, char *diff, size_t diff_cap)
{
    char scratch[8];
    if (!diff || !diff_cap) {
        diff = scratch;
        diff_cap = sizeof scratch;
    }
    diff[0] = 0;
    if (!v) return BH_EINVAL;
    audit_ctx c = {.expect_id = 1, .diff = diff, .cap = diff_cap};
    /* one snapshot for journal and totals: a concurrent writer cannot skew it */
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    visit vj = {(void *)audit_entry, &c, NULL, v};
    rc = scan(v, txn, v->db_journal, NULL, journal_row, &vj);
    if (!rc) {
        visit va = {(void *)audit_stored_asset, &c, NULL, v};
        rc = scan(v, txn, v->db_assets, NULL, asset_row, &va);
    }
    if (!rc) {
        visit vl = {(void *)audit_stored_lane, &c, NULL, v};
        rc = scan(v, txn, v->db_lanes, NULL, lane_row, &vl);
    }
    vault_txn_abort(v, txn);
    for (size_t i = 0; !rc && i < c.na; i++) {
        char hx[65], d1[BH_U128_DEC_MAX];
        hex_token(hx, &c.as[i].token);
        if (!c.as[i].a.created) {
            rc = au_fail(&c, "asset %s is in the journal but missing from storage", hx);
            break;
        }
        for (size_t j = 0; j < c.as[i].nl; j++) {
            if (!c.as[i].lanes[j].cap && c.as[i].lanes[j].outstanding) {
                bh_u128_to_dec(d1, c.as[i].lanes[j].outstanding);
                rc = au_fail(&c, "asset %s outstanding on chain %u: journal gives %s, stored none",
                             hx, c.as[i].chains[j], d1);
                break;
            }
        }
    }
    for (size_t i = 0; i < c.na; i++) {
        free(c.as[i].chains);
        free(c.as[i].lanes);
    }
    free(c.as);
    if (c.bad) return BH_ECORRUPT;
    if (rc == BH_ECORRUPT)
        snprintf(diff, diff_cap, "%s", v->err); /* a record that does not decode */
    return rc;
}
