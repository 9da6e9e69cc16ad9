/* Value limits inside the vault: limits, windows and prices in meta.
 *
 * meta "vlim.<key>"  u128  a vault-level value limit (bh_vault.h)
 * meta "vw.<src>", "vw.<src>.<dst>"  value windows (vault_records.h)
 * meta "vq.<src>", "vq.<src>.<dst>"  u64  pending in that window's queue
 * meta "px.<token hex>"  the asset's price record */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_hex.h"
#include "vault_internal.h"
#include "vault_records.h"

#define PRICE_MAX_AGE_DEFAULT 3600u
#define PRICE_MAX_JUMP_DEFAULT 50u
#define VOL_WINDOW_DEFAULT 3600u

static int meta_get(bh_vault *v, MDB_txn *txn, const char *key, MDB_val *d)
{
    MDB_val k = {strlen(key), (void *)key};
    return bh_store_status(mdb_get(txn, v->db_meta, &k, d));
}

static int meta_set(bh_vault *v, MDB_txn *txn, const char *key, const void *val, size_t len)
{
    MDB_val k = {strlen(key), (void *)key}, d = {len, (void *)val};
    return bh_store_status(mdb_put(txn, v->db_meta, &k, &d, 0));
}

static int meta_del(bh_vault *v, MDB_txn *txn, const char *key)
{
    MDB_val k = {strlen(key), (void *)key};
    int rc = mdb_del(txn, v->db_meta, &k, NULL);
    return rc == MDB_NOTFOUND ? BH_OK : bh_store_status(rc);
}

static int corrupt(bh_vault *v, const char *key)
{
    return vault_corrupt(v, "meta", &(MDB_val){strlen(key), (void *)key});
}

/* A vault-level value limit; 0 when not set. */
static int vlim_get(bh_vault *v, MDB_txn *txn, const char *key, bh_u128 *out)
{
    char mk[64];
    MDB_val d;
    *out = 0;
    snprintf(mk, sizeof mk, "vlim.%s", key);
    int rc = meta_get(v, txn, mk, &d);
    if (rc == BH_ENOTFOUND) return BH_OK;
    if (rc) return rc;
    if (vrec_u128_get(out, d.mv_data, d.mv_size)) return corrupt(v, mk);
    return BH_OK;
}

static void vw_key(char out[32], uint16_t src, uint16_t dst)
{
    if (dst)
        snprintf(out, 32, "vw.%u.%u", (unsigned)src, (unsigned)dst);
    else
        snprintf(out, 32, "vw.%u", (unsigned)src);
}

static int vw_get(bh_vault *v, MDB_txn *txn, uint16_t src, uint16_t dst, bh_value_window *w)
{
    char k[32];
    MDB_val d;
    memset(w, 0, sizeof *w);
    vw_key(k, src, dst);
    int rc = meta_get(v, txn, k, &d);
    if (rc == BH_ENOTFOUND) return BH_OK;
    if (rc) return rc;
    return vrec_vwin_get(w, d.mv_data, d.mv_size) ? corrupt(v, k) : BH_OK;
}

static int vw_put(bh_vault *v, MDB_txn *txn, uint16_t src, uint16_t dst, const bh_value_window *w)
{
    char k[32];
    unsigned char b[VREC_VWIN_LEN];
    vw_key(k, src, dst);
    vrec_vwin_put(b, w);
    return meta_set(v, txn, k, b, sizeof b);
}

static void px_key(char out[72], const bh_bytes32 *token)
{
    memcpy(out, "px.", 3);
    bh_hex_encode(out + 3, token->data, 32);
    out[67] = 0;
}

static int px_get(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, bh_vault_price *p)
{
    char k[72];
    MDB_val d;
    memset(p, 0, sizeof *p);
    px_key(k, token);
    int rc = meta_get(v, txn, k, &d);
    if (rc == BH_ENOTFOUND) return BH_OK;
    if (rc) return rc;
    return vrec_price_get(p, d.mv_data, d.mv_size) ? corrupt(v, k) : BH_OK;
}

static int px_put(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, const bh_vault_price *p)
{
    char k[72];
    unsigned char b[VREC_PRICE_LEN];
    px_key(k, token);
    vrec_price_put(b, p);
    return meta_set(v, txn, k, b, sizeof b);
}

/* meta "seg": u8 ver | u8 state | u64 since | u64 last move */
#define SEG_LEN 18

typedef struct {
    uint8_t state;
    uint64_t since, last;
} seg_rec;

static int seg_get(bh_vault *v, MDB_txn *txn, seg_rec *r)
{
    MDB_val d;
    memset(r, 0, sizeof *r);
    int rc = meta_get(v, txn, "seg", &d);
    if (rc == BH_ENOTFOUND) return BH_OK;
    if (rc) return rc;
    const unsigned char *b = d.mv_data;
    if (d.mv_size != SEG_LEN || b[0] != VREC_VERSION || b[1] > BH_VAULT_SEGMENT_TIGHTENED)
        return corrupt(v, "seg");
    r->state = b[1];
    r->since = bh_be_get_u64(b + 2);
    r->last = bh_be_get_u64(b + 10);
    return BH_OK;
}

static int seg_put(bh_vault *v, MDB_txn *txn, const seg_rec *r)
{
    unsigned char b[SEG_LEN];
    b[0] = VREC_VERSION;
    b[1] = r->state;
    bh_be_put_u64(b + 2, r->since);
    bh_be_put_u64(b + 10, r->last);
    return meta_set(v, txn, "seg", b, sizeof b);
}

static int seg_params(bh_vault *v, MDB_txn *txn, unsigned *tight, uint64_t *calm)
{
    bh_u128 t, c;
    int rc = vlim_get(v, txn, "tighten_percent", &t);
    if (!rc) rc = vlim_get(v, txn, "calm", &c);
    *tight = t ? (unsigned)t : 50;
    *calm = c ? (uint64_t)c : 3600;
    return rc;
}

/* The limits' percentage now: 100 unless the segment is tightened. */
static int segment_percent(bh_vault *v, MDB_txn *txn, uint64_t now, unsigned *pct)
{
    seg_rec r;
    unsigned tight;
    uint64_t calm;
    *pct = 100;
    int rc = seg_get(v, txn, &r);
    if (!rc) rc = seg_params(v, txn, &tight, &calm);
    if (!rc && r.state == BH_VAULT_SEGMENT_TIGHTENED && now < r.last + calm) *pct = tight;
    return rc;
}

/* Tighten on a move of token's price from ref to price (journaled with both). */
static int seg_move(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, bh_u128 ref, bh_u128 price,
                    uint64_t now)
{
    bh_u128 vp, vw;
    int rc = vlim_get(v, txn, "vol_percent", &vp);
    if (!rc) rc = vlim_get(v, txn, "vol_window", &vw);
    if (rc || !vp || !ref || !bh_value_moved(ref, price, (unsigned)vp)) return rc;
    seg_rec r;
    unsigned tight;
    uint64_t calm;
    if ((rc = seg_get(v, txn, &r)) || (rc = seg_params(v, txn, &tight, &calm))) return rc;
    int was = r.state == BH_VAULT_SEGMENT_TIGHTENED;
    if (!was) r.since = now;
    r.state = BH_VAULT_SEGMENT_TIGHTENED;
    r.last = now;
    if ((rc = seg_put(v, txn, &r))) return rc;
    char a[BH_U128_DEC_MAX], b[BH_U128_DEC_MAX], why[BH_VAULT_REASON_MAX + 1];
    bh_u128_to_dec(a, ref);
    bh_u128_to_dec(b, price);
    snprintf(why, sizeof why,
             "price %s -> %s moved over %u%% within %llu s: value limits at %u%% until %llu", a, b,
             (unsigned)vp, (unsigned long long)(vw ? (uint64_t)vw : VOL_WINDOW_DEFAULT), tight,
             (unsigned long long)(now + calm));
    vault_jrec j = {.time = now,
                    .kind = BH_VJ_SEGMENT,
                    .ref = BH_VAULT_SEGMENT_TIGHTENED,
                    .token = *token,
                    .amount = price};
    uint64_t jid;
    return vault_journal_put(v, txn, &j, "node", why, &jid);
}

int vault_segment_tick(bh_vault *v, MDB_txn *txn, uint64_t now)
{
    seg_rec r;
    unsigned tight;
    uint64_t calm;
    int rc = seg_get(v, txn, &r);
    if (rc || r.state != BH_VAULT_SEGMENT_TIGHTENED) return rc;
    if ((rc = seg_params(v, txn, &tight, &calm)) || now < r.last + calm) return rc;
    char why[BH_VAULT_REASON_MAX + 1];
    snprintf(why, sizeof why, "calm for %llu s since the last move at %llu: limits back to 100%%",
             (unsigned long long)calm, (unsigned long long)r.last);
    seg_rec n = {BH_VAULT_SEGMENT_NORMAL, 0, r.last};
    if ((rc = seg_put(v, txn, &n))) return rc;
    vault_jrec j = {.time = now, .kind = BH_VJ_SEGMENT, .ref = BH_VAULT_SEGMENT_NORMAL};
    uint64_t jid;
    return vault_journal_put(v, txn, &j, "node", why, &jid);
}

const char *bh_vault_segment_name(bh_vault_segment_state s)
{
    static const char *const n[] = {"normal", "tightened", "quarantined"};
    return (unsigned)s < 3 ? n[s] : "invalid";
}

int bh_vault_segment_get(bh_vault *v, bh_vault_segment *out, uint64_t now)
{
    if (out) memset(out, 0, sizeof *out);
    if (!v || !out) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    seg_rec r;
    unsigned tight;
    uint64_t calm;
    if (!(rc = seg_get(v, txn, &r)) && !(rc = seg_params(v, txn, &tight, &calm))) {
        out->percent = 100;
        if (r.state == BH_VAULT_SEGMENT_TIGHTENED && now < r.last + calm) {
            out->state = BH_VAULT_SEGMENT_TIGHTENED;
            out->since = r.since;
            out->until = r.last + calm;
            out->percent = tight;
        }
        unsigned char kb[2];
        bh_be_put_u16(kb, v->chain_id);
        MDB_val k = {2, kb}, d;
        if (mdb_get(txn, v->db_quarantine, &k, &d) == 0) out->state = BH_VAULT_SEGMENT_QUARANTINED;
    }
    vault_txn_abort(v, txn);
    return rc;
}

/* The price the limits use: fixed, else the last observation if fresh and
 * not held back, at the higher of it and the volatility reference. */
/* The price the limits may use, or why there is none. Within the
 * volatility window an outflow counts at the higher of the price and the
 * window's reference (a drop does not loosen a window at once), a credit
 * (low) at the lower (a return during a crash pays down no more than it is
 * worth now). */
static int price_pick(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, uint64_t now, int low,
                      bh_u128 *price, char *why, size_t cap)
{
    bh_vault_price p;
    *price = 0;
    int rc = px_get(v, txn, token, &p);
    if (rc) return rc;
    char a[BH_U128_DEC_MAX], b[BH_U128_DEC_MAX];
    if (p.fixed) {
        *price = p.fixed;
        return BH_OK;
    }
    if (p.suspect) {
        bh_u128_to_dec(a, p.suspect);
        bh_u128_to_dec(b, p.last);
        snprintf(why, cap, "price %s held back: it jumps more than %u%% from %s", a,
                 p.max_jump ? p.max_jump : PRICE_MAX_JUMP_DEFAULT, b);
        return BH_ESTATE;
    }
    if (!p.last) {
        snprintf(why, cap, "no price for this asset");
        return BH_ENOTFOUND;
    }
    uint64_t max_age = p.max_age ? p.max_age : PRICE_MAX_AGE_DEFAULT;
    if (now > p.updated_at && now - p.updated_at > max_age) {
        snprintf(why, cap, "stale price: updated %llu s ago, max age %llu s",
                 (unsigned long long)(now - p.updated_at), (unsigned long long)max_age);
        return BH_ESTATE;
    }
    bh_u128 vw;
    if ((rc = vlim_get(v, txn, "vol_window", &vw))) return rc;
    uint64_t win = vw ? (uint64_t)vw : VOL_WINDOW_DEFAULT;
    *price = p.last;
    if (p.ref_at + win > now && p.ref && (low ? p.ref < p.last : p.ref > p.last)) *price = p.ref;
    return BH_OK;
}

static int price_usable(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, uint64_t now,
                        bh_u128 *price, char *why, size_t cap)
{
    return price_pick(v, txn, token, now, 0, price, why, cap);
}

int vault_value_eval(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, unsigned decimals,
                     uint64_t now, vault_vcheck *c)
{
    memset(c, 0, sizeof *c);
    uint16_t src = m->emitter_chain, dst = m->transfer.to_chain;
    char k[48];
    bh_u128 ws, wl, th;
    int rc;
    snprintf(k, sizeof k, "value_window.%u", (unsigned)src);
    if ((rc = vlim_get(v, txn, k, &ws))) return rc;
    snprintf(k, sizeof k, "value_lane.%u.%u", (unsigned)src, (unsigned)dst);
    if ((rc = vlim_get(v, txn, k, &wl))) return rc;
    snprintf(k, sizeof k, "value_threshold.%u", (unsigned)src);
    if ((rc = vlim_get(v, txn, k, &th))) return rc;
    c->active = ws || wl || th;
    unsigned pct;
    if ((rc = segment_percent(v, txn, now, &pct))) return rc;
    c->tightened = pct < 100;
    c->lim_src = bh_value_scale(ws, pct);
    c->lim_lane = bh_value_scale(wl, pct);
    c->threshold = bh_value_scale(th, pct);
    /* a limit tightened to nothing still admits nothing, never everything */
    if (ws && !c->lim_src) c->lim_src = 1;
    if (wl && !c->lim_lane) c->lim_lane = 1;
    if (th && !c->threshold) c->threshold = 1;
    bh_u128 price;
    rc = price_usable(v, txn, &m->transfer.token, now, &price, c->why, sizeof c->why);
    if (rc == BH_ENOTFOUND || rc == BH_ESTATE) return BH_OK;
    if (rc) return rc;
    rc = bh_value_of(&c->value, m->amount, price, decimals);
    if (rc == BH_ERANGE || rc == BH_EINVAL) {
        snprintf(c->why, sizeof c->why, "value does not fit in 128 bits");
        return BH_OK;
    }
    c->priced = 1;
    return BH_OK;
}

int vault_value_room(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, const vault_vcheck *c,
                     uint64_t now, uint64_t *ready, uint32_t *full)
{
    bh_value_window w;
    int rc;
    uint64_t t = now;
    *ready = now;
    *full = 0;
    if (c->lim_src) {
        if ((rc = vw_get(v, txn, m->emitter_chain, 0, &w))) return rc;
        t = bh_value_window_ready(&w, c->lim_src, c->value, now);
        if (t > now) *full |= VAULT_P_VQ_SRC;
    }
    if (c->lim_lane && t != UINT64_MAX) {
        if ((rc = vw_get(v, txn, m->emitter_chain, m->transfer.to_chain, &w))) return rc;
        uint64_t t2 = bh_value_window_ready(&w, c->lim_lane, c->value, now);
        if (t2 > now) *full |= VAULT_P_VQ_LANE;
        if (t2 > t) t = t2;
    }
    *ready = t;
    return BH_OK;
}

static void vq_key(char out[32], uint16_t src, uint16_t dst)
{
    if (dst)
        snprintf(out, 32, "vq.%u.%u", (unsigned)src, (unsigned)dst);
    else
        snprintf(out, 32, "vq.%u", (unsigned)src);
}

int vault_vq_get(bh_vault *v, MDB_txn *txn, uint16_t src, uint16_t dst, uint64_t *n)
{
    char k[32];
    MDB_val d;
    *n = 0;
    vq_key(k, src, dst);
    int rc = meta_get(v, txn, k, &d);
    if (rc == BH_ENOTFOUND) return BH_OK;
    if (rc) return rc;
    return vrec_u64_get(n, d.mv_data, d.mv_size) ? corrupt(v, k) : BH_OK;
}

int vault_vq_add(bh_vault *v, MDB_txn *txn, uint16_t src, uint16_t dst, int delta)
{
    uint64_t n;
    int rc = vault_vq_get(v, txn, src, dst, &n);
    if (rc) return rc;
    if (delta > 0)
        n++;
    else if (n > 0)
        n--;
    char k[32];
    vq_key(k, src, dst);
    if (!n) return meta_del(v, txn, k);
    unsigned char b[8];
    bh_be_put_u64(b, n);
    return meta_set(v, txn, k, b, sizeof b);
}

static int vw_add(bh_vault *v, MDB_txn *txn, uint16_t src, uint16_t dst, bh_u128 value,
                  uint64_t now)
{
    bh_value_window w;
    int rc = vw_get(v, txn, src, dst, &w);
    if (rc) return rc;
    bh_value_window_add(&w, value, now);
    return vw_put(v, txn, src, dst, &w);
}

static int vw_cancel(bh_vault *v, MDB_txn *txn, uint16_t src, uint16_t dst, bh_u128 value,
                     uint64_t now)
{
    bh_value_window w;
    int rc = vw_get(v, txn, src, dst, &w);
    if (rc) return rc;
    if (!bh_value_window_cancel(&w, value, now)) return BH_OK;
    return vw_put(v, txn, src, dst, &w);
}

int vault_value_count(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, unsigned decimals,
                      const vault_vcheck *c, uint64_t now)
{
    uint16_t src = m->emitter_chain, dst = m->transfer.to_chain, home = v->chain_id;
    int rc;
    if (!c->priced) {
        /* an operator's override of a transfer without a price: nothing to count */
        if (dst != home) return BH_OK;
    } else {
        /* the windows count whatever their limit is, so a later limit starts full */
        if ((rc = vw_add(v, txn, src, 0, c->value, now))) return rc;
        if ((rc = vw_add(v, txn, src, dst, c->value, now))) return rc;
    }
    if (dst != home) return BH_OK;
    char k[32];
    bh_u128 fc;
    snprintf(k, sizeof k, "flow_cancel.%u", (unsigned)src);
    if ((rc = vlim_get(v, txn, k, &fc)) || !fc) return rc;
    /* the credit at the lower price: no price, no credit (fails closed) */
    bh_u128 price = 0, credit = 0;
    char why[96];
    rc = price_pick(v, txn, &m->transfer.token, now, 1, &price, why, sizeof why);
    if (rc == BH_ENOTFOUND || rc == BH_ESTATE) return BH_OK;
    if (rc) return rc;
    if (bh_value_of_floor(&credit, m->amount, price, decimals) != BH_OK || !credit) return BH_OK;
    if ((rc = vw_cancel(v, txn, home, 0, credit, now))) return rc;
    return vw_cancel(v, txn, home, src, credit, now);
}

/* "name.A" or "name.A.B" with A, B bridge ids; b 0 when absent. */
static int split2(const char *key, char *name, size_t cap, uint16_t *a, uint16_t *b)
{
    const char *dot = strchr(key, '.');
    *a = *b = 0;
    size_t n = dot ? (size_t)(dot - key) : strlen(key);
    if (n == 0 || n >= cap) return BH_EINVAL;
    memcpy(name, key, n);
    name[n] = 0;
    const char *p = dot;
    uint16_t *out[2] = {a, b};
    for (int i = 0; p && i < 2; i++) {
        char *end;
        errno = 0;
        unsigned long x = strtoul(p + 1, &end, 10);
        if (!p[1] || (*end && *end != '.') || errno || x == 0 || x > 65535) return BH_EINVAL;
        *out[i] = (uint16_t)x;
        p = *end == '.' ? end : NULL;
    }
    return p ? BH_EINVAL : BH_OK;
}

int vault_value_set_limit(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, const char *key,
                          bh_u128 value, uint64_t now, int *known)
{
    (void)now;
    char name[32];
    uint16_t a, b;
    *known = 0;
    if (split2(key, name, sizeof name, &a, &b)) return BH_EINVAL;
    int rc;
    if (token) {
        int fixed = !strcmp(name, "price"), age = !strcmp(name, "price_max_age"),
            jump = !strcmp(name, "price_max_jump");
        if (!(fixed || age || jump) || a) return BH_EINVAL;
        *known = 1;
        if ((age && value > UINT32_MAX) || (jump && value > 1000000)) return BH_ERANGE;
        bh_vault_price p;
        if ((rc = px_get(v, txn, token, &p))) return rc;
        if (fixed) p.fixed = value;
        if (age) p.max_age = (uint64_t)value;
        if (jump) p.max_jump = (uint32_t)value;
        return px_put(v, txn, token, &p);
    }
    int one = !strcmp(name, "value_window") || !strcmp(name, "value_threshold") ||
              !strcmp(name, "flow_cancel");
    int vol = !strcmp(name, "vol_percent") || !strcmp(name, "vol_window") ||
              !strcmp(name, "tighten_percent") || !strcmp(name, "calm");
    if (vol && !a) {
        *known = 1;
        if (!strcmp(name, "tighten_percent") && value > 100) return BH_ERANGE;
        if (value > UINT32_MAX) return BH_ERANGE;
        char vk[64];
        unsigned char vb2[16];
        snprintf(vk, sizeof vk, "vlim.%s", key);
        if (!value) return meta_del(v, txn, vk);
        bh_be_put_u128(vb2, value);
        return meta_set(v, txn, vk, vb2, sizeof vb2);
    }
    int two = !strcmp(name, "value_lane");
    if (!((one && a && !b) || (two && a && b && a != b))) return BH_EINVAL;
    *known = 1;
    if (!strcmp(name, "flow_cancel") && value > 1) return BH_ERANGE;
    char mk[64];
    unsigned char vb[16];
    snprintf(mk, sizeof mk, "vlim.%s", key);
    if (!value) return meta_del(v, txn, mk);
    bh_be_put_u128(vb, value);
    return meta_set(v, txn, mk, vb, sizeof vb);
}

/* ---- prices observed by the node ---- */

typedef struct {
    const bh_bytes32 *token;
    bh_u128 price;
    uint64_t updated_at, now;
} note_ctx;

static int note_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    note_ctx *c = vctx;
    MDB_val k = {32, (void *)c->token->data}, d;
    int rc = mdb_get(txn, v->db_assets, &k, &d);
    if (rc == MDB_NOTFOUND) {
        vault_set_err(v, "no such asset in vault %s", v->name);
        return BH_ENOTFOUND;
    }
    if (rc) return bh_store_status(rc);
    bh_vault_price p;
    if ((rc = px_get(v, txn, c->token, &p))) return rc;
    if (c->price == p.last && c->updated_at == p.updated_at && !p.suspect) return BH_OK;
    if (c->price == p.suspect && c->updated_at == p.suspect_at) return BH_OK;
    unsigned jump = p.max_jump ? p.max_jump : PRICE_MAX_JUMP_DEFAULT;
    bh_u128 vw;
    if ((rc = vlim_get(v, txn, "vol_window", &vw))) return rc;
    uint64_t win = vw ? (uint64_t)vw : VOL_WINDOW_DEFAULT;
    if (p.last && bh_value_moved(p.last, c->price, jump) &&
        !(p.suspect && !bh_value_moved(p.suspect, c->price, jump))) {
        /* too far from the last usable price: held back, fails closed */
        char a[BH_U128_DEC_MAX], b[BH_U128_DEC_MAX], why[BH_VAULT_REASON_MAX + 1];
        bh_u128_to_dec(a, c->price);
        bh_u128_to_dec(b, p.last);
        snprintf(why, sizeof why,
                 "price %s at %llu jumps over %u%% from %s: held back, fails closed", a,
                 (unsigned long long)c->updated_at, jump, b);
        p.suspect = c->price;
        p.suspect_at = c->updated_at;
        vault_jrec j = {
            .time = c->now, .kind = BH_VJ_PRICE, .token = *c->token, .amount = c->price};
        uint64_t jid;
        if ((rc = vault_journal_put(v, txn, &j, "node", why, &jid))) return rc;
        return px_put(v, txn, c->token, &p);
    }
    if (!p.ref || p.ref_at + win <= c->now) {
        p.ref = p.last ? p.last : c->price;
        p.ref_at = c->now;
    }
    if ((rc = vault_segment_tick(v, txn, c->now))) return rc;
    if ((rc = seg_move(v, txn, c->token, p.ref, c->price, c->now))) return rc;
    p.last = c->price;
    p.updated_at = c->updated_at;
    p.seen_at = c->now;
    p.suspect = 0;
    p.suspect_at = 0;
    return px_put(v, txn, c->token, &p);
}

int bh_vault_price_note(bh_vault *v, const bh_bytes32 *token, bh_u128 price, uint64_t updated_at,
                        uint64_t now)
{
    if (!v || !token || !price) return BH_EINVAL;
    v->err[0] = 0;
    note_ctx c = {token, price, updated_at, now};
    return vault_run_write(v, note_fn, &c);
}

/* ---- reading ---- */

int bh_vault_price_get(bh_vault *v, bh_vault_price *out, const bh_bytes32 *token)
{
    if (out) memset(out, 0, sizeof *out);
    if (!v || !out || !token) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_val k = {32, (void *)token->data}, d;
    rc = bh_store_status(mdb_get(txn, v->db_assets, &k, &d));
    if (!rc) rc = px_get(v, txn, token, out);
    vault_txn_abort(v, txn);
    return rc;
}

int bh_vault_price_usable(bh_vault *v, bh_u128 *price, const bh_bytes32 *token, uint64_t now,
                          char *why, size_t why_cap)
{
    char w[192] = "";
    if (price) *price = 0;
    if (why && why_cap) why[0] = 0;
    if (!v || !price || !token) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    rc = price_usable(v, txn, token, now, price, w, sizeof w);
    vault_txn_abort(v, txn);
    if (why && why_cap) snprintf(why, why_cap, "%s", w);
    return rc;
}

int bh_vault_each_value_limit(bh_vault *v, uint64_t now, bh_vault_value_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    unsigned pct;
    if ((rc = segment_percent(v, txn, now, &pct))) {
        vault_txn_abort(v, txn);
        return rc;
    }
    MDB_cursor *cur;
    if ((rc = bh_store_status(mdb_cursor_open(txn, v->db_meta, &cur)))) {
        vault_txn_abort(v, txn);
        return rc;
    }
    MDB_val k = {5, "vlim."}, d;
    int out = 0, mrc;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size < 5 || memcmp(k.mv_data, "vlim.", 5)) break;
        char key[64], name[32];
        size_t kl = k.mv_size - 5 < sizeof key - 1 ? k.mv_size - 5 : sizeof key - 1;
        memcpy(key, (char *)k.mv_data + 5, kl);
        key[kl] = 0;
        bh_u128 lim, eff, used = 0;
        if (vrec_u128_get(&lim, d.mv_data, d.mv_size)) {
            out = vault_corrupt(v, "meta", &k);
            break;
        }
        uint16_t a, b;
        if (split2(key, name, sizeof name, &a, &b)) continue;
        int scaled = !strcmp(name, "value_window") || !strcmp(name, "value_lane") ||
                     !strcmp(name, "value_threshold");
        eff = scaled ? bh_value_scale(lim, pct) : lim;
        if (!strcmp(name, "value_window") || !strcmp(name, "value_lane")) {
            bh_value_window w;
            if ((out = vw_get(v, txn, a, b, &w))) break;
            used = bh_value_window_used(&w, now);
        }
        if ((out = cb(ctx, key, lim, eff, used)) != 0) break;
    }
    mdb_cursor_close(cur);
    vault_txn_abort(v, txn);
    if (out) return out;
    return mrc == 0 || mrc == MDB_NOTFOUND ? BH_OK : bh_store_status(mrc);
}
