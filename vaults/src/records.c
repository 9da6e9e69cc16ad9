/* Vault record codecs (schema 2) and the schema 1 decoders: see
 * vault_records.h for the layouts. */
#include "vault_records.h"

#include <string.h>

#include "bh_be.h"

/* A cursor over one record being read: every take checks what is left. */
typedef struct {
    const unsigned char *p;
    size_t left;
    int bad;
} rd;

static const unsigned char *take(rd *r, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *q = r->p;
    r->p += n;
    r->left -= n;
    return q;
}

static uint8_t g8(rd *r)
{
    const unsigned char *q = take(r, 1);
    return q ? q[0] : 0;
}

static uint16_t g16(rd *r)
{
    const unsigned char *q = take(r, 2);
    return q ? bh_be_get_u16(q) : 0;
}

static uint32_t g32(rd *r)
{
    const unsigned char *q = take(r, 4);
    return q ? bh_be_get_u32(q) : 0;
}

static uint64_t g64(rd *r)
{
    const unsigned char *q = take(r, 8);
    return q ? bh_be_get_u64(q) : 0;
}

static bh_u128 g128(rd *r)
{
    const unsigned char *q = take(r, 16);
    return q ? bh_be_get_u128(q) : 0;
}

static void gbytes(rd *r, void *out, size_t n)
{
    const unsigned char *q = take(r, n);
    if (q) memcpy(out, q, n);
}

/* A record starts with its version and must be used up exactly. */
static int begin(rd *r, const void *in, size_t len, size_t want)
{
    r->p = in;
    r->left = len;
    r->bad = 0;
    if (want && len != want) return BH_ECORRUPT;
    return g8(r) == VREC_VERSION ? BH_OK : BH_ECORRUPT;
}

static int end(const rd *r)
{
    return r->bad || r->left ? BH_ECORRUPT : BH_OK;
}

static unsigned char *p16(unsigned char *o, uint16_t x)
{
    bh_be_put_u16(o, x);
    return o + 2;
}

static unsigned char *p32(unsigned char *o, uint32_t x)
{
    bh_be_put_u32(o, x);
    return o + 4;
}

static unsigned char *p64(unsigned char *o, uint64_t x)
{
    bh_be_put_u64(o, x);
    return o + 8;
}

static unsigned char *p128(unsigned char *o, bh_u128 x)
{
    bh_be_put_u128(o, x);
    return o + 16;
}

static unsigned char *pbytes(unsigned char *o, const void *b, size_t n)
{
    if (n) memcpy(o, b, n);
    return o + n;
}

/* ---- assets ---- */

void vrec_asset_put(unsigned char *o, const bh_vault_asset *a)
{
    unsigned char sym[BH_VAULT_SYMBOL_MAX] = {0};
    memcpy(sym, a->symbol, strnlen(a->symbol, BH_VAULT_SYMBOL_MAX));
    *o++ = VREC_VERSION;
    o = p128(o, a->locked);
    o = p128(o, a->outstanding_total);
    o = p128(o, a->big_threshold);
    o = p64(o, a->big_delay);
    o = p64(o, a->created);
    *o++ = a->decimals;
    pbytes(o, sym, sizeof sym);
}

/* A NUL-padded string field: no byte after the first NUL. */
static int padded_ok(const char *s, size_t n)
{
    size_t l = strnlen(s, n);
    for (size_t i = l; i < n; i++)
        if (s[i]) return 0;
    return 1;
}

int vrec_asset_get(bh_vault_asset *a, const void *in, size_t len)
{
    rd r;
    memset(a, 0, sizeof *a);
    if (begin(&r, in, len, VREC_ASSET_LEN)) return BH_ECORRUPT;
    a->locked = g128(&r);
    a->outstanding_total = g128(&r);
    a->big_threshold = g128(&r);
    a->big_delay = g64(&r);
    a->created = g64(&r);
    a->decimals = g8(&r);
    gbytes(&r, a->symbol, BH_VAULT_SYMBOL_MAX);
    if (!padded_ok(a->symbol, BH_VAULT_SYMBOL_MAX)) return BH_ECORRUPT;
    return end(&r);
}

/* ---- lanes ---- */

static unsigned char *bucket_put(unsigned char *o, const bh_vault_bucket *b)
{
    o = p128(o, b->capacity);
    o = p128(o, b->refill);
    o = p128(o, b->level);
    o = p128(o, b->debt);
    return p64(o, b->last);
}

static void bucket_get(rd *r, bh_vault_bucket *b)
{
    b->capacity = g128(r);
    b->refill = g128(r);
    b->level = g128(r);
    b->debt = g128(r);
    b->last = g64(r);
}

void vrec_lane_put(unsigned char *o, const bh_vault_lane *l)
{
    *o++ = VREC_VERSION;
    o = p128(o, l->outstanding);
    o = p128(o, l->cap);
    o = p128(o, l->window_limit);
    o = bucket_put(o, &l->in);
    o = bucket_put(o, &l->out);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        o = p64(o, l->window_hour[i]);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        o = p128(o, l->window_sum[i]);
}

int vrec_lane_get(bh_vault_lane *l, const void *in, size_t len)
{
    rd r;
    memset(l, 0, sizeof *l);
    if (begin(&r, in, len, VREC_LANE_LEN)) return BH_ECORRUPT;
    l->outstanding = g128(&r);
    l->cap = g128(&r);
    l->window_limit = g128(&r);
    bucket_get(&r, &l->in);
    bucket_get(&r, &l->out);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        l->window_hour[i] = g64(&r);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        l->window_sum[i] = g128(&r);
    return end(&r);
}

/* ---- chains ---- */

void vrec_chain_put(unsigned char *o, const vault_chain_rec *c)
{
    *o++ = VREC_VERSION;
    o = p32(o, c->msg_limit);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        o = p32(o, c->count[i]);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        o = p64(o, c->hour[i]);
}

int vrec_chain_get(vault_chain_rec *c, const void *in, size_t len)
{
    rd r;
    memset(c, 0, sizeof *c);
    if (begin(&r, in, len, VREC_CHAIN_LEN)) return BH_ECORRUPT;
    c->msg_limit = g32(&r);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        c->count[i] = g32(&r);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        c->hour[i] = g64(&r);
    return end(&r);
}

/* ---- meta "seq" ---- */

void vrec_seq_put(unsigned char *o, const vault_seq *s)
{
    *o++ = VREC_VERSION;
    o = p64(o, s->next_journal);
    o = p64(o, s->next_pending);
    o = p64(o, s->next_outbox);
    p32(o, s->msg_limit_default);
}

int vrec_seq_get(vault_seq *s, const void *in, size_t len)
{
    rd r;
    memset(s, 0, sizeof *s);
    if (begin(&r, in, len, VREC_SEQ_LEN)) return BH_ECORRUPT;
    s->next_journal = g64(&r);
    s->next_pending = g64(&r);
    s->next_outbox = g64(&r);
    s->msg_limit_default = g32(&r);
    return end(&r);
}

/* ---- pending, outbox, parked ---- */

static void msg_get(rd *r, bh_transfer_msg *m)
{
    const unsigned char *q = take(r, BH_STORE_MSG_LEN);
    if (q)
        bh_store_msg_get(m, q);
    else
        memset(m, 0, sizeof *m);
}

void vrec_pending_put(unsigned char *o, const vault_pending_rec *p)
{
    *o++ = VREC_VERSION;
    o = p64(o, p->created);
    o = p64(o, p->release_at);
    o = p32(o, p->cause);
    o = p32(o, p->applied);
    bh_store_msg_put(o, &p->msg);
}

int vrec_pending_get(vault_pending_rec *p, const void *in, size_t len)
{
    rd r;
    memset(p, 0, sizeof *p);
    if (begin(&r, in, len, VREC_PENDING_LEN)) return BH_ECORRUPT;
    p->created = g64(&r);
    p->release_at = g64(&r);
    p->cause = g32(&r);
    p->applied = g32(&r);
    msg_get(&r, &p->msg);
    return end(&r);
}

void vrec_outbox_put(unsigned char *o, const bh_transfer_msg *m)
{
    o[0] = VREC_VERSION;
    bh_store_msg_put(o + 1, m);
}

int vrec_outbox_get(bh_transfer_msg *m, const void *in, size_t len)
{
    uint16_t to;
    return vrec_outbox_get_to(m, &to, in, len);
}

/* An entry delivered where its message does not go (a hop notice to the
 * home chain) carries its destination: ver VREC_DEST_VERSION | u16 to | msg. */
size_t vrec_outbox_put_to(unsigned char *o, const bh_transfer_msg *m, uint16_t to)
{
    if (to == m->transfer.to_chain) {
        vrec_outbox_put(o, m);
        return VREC_OUTBOX_LEN;
    }
    o[0] = VREC_DEST_VERSION;
    bh_be_put_u16(o + 1, to);
    bh_store_msg_put(o + 3, m);
    return VREC_OUTBOX_DEST_LEN;
}

int vrec_outbox_get_to(bh_transfer_msg *m, uint16_t *to, const void *in, size_t len)
{
    rd r;
    memset(m, 0, sizeof *m);
    *to = 0;
    const unsigned char *b = in;
    if (len == VREC_OUTBOX_DEST_LEN && b && b[0] == VREC_DEST_VERSION) {
        r = (rd){.p = b + 1, .left = len - 1};
        *to = g16(&r);
        msg_get(&r, m);
        if (*to == 0 || *to == m->transfer.to_chain) return BH_ECORRUPT;
        return end(&r);
    }
    if (begin(&r, in, len, VREC_OUTBOX_LEN)) return BH_ECORRUPT;
    msg_get(&r, m);
    *to = m->transfer.to_chain;
    return end(&r);
}

size_t vrec_parked_put(unsigned char *o, const vault_parked_rec *p)
{
    unsigned char *s = o;
    size_t el = p->error_len > BH_VAULT_ERROR_MAX ? BH_VAULT_ERROR_MAX : p->error_len;
    if (p->to && p->to != p->msg.transfer.to_chain) {
        *o++ = VREC_DEST_VERSION;
        o = p16(o, p->to);
    } else {
        *o++ = VREC_VERSION;
    }
    o = p64(o, p->parked_at);
    o = p32(o, p->tries);
    bh_store_msg_put(o, &p->msg);
    o += BH_STORE_MSG_LEN;
    *o++ = (unsigned char)el;
    o = pbytes(o, p->error, el);
    return (size_t)(o - s);
}

int vrec_parked_get(vault_parked_rec *p, const void *in, size_t len)
{
    rd r;
    memset(p, 0, sizeof *p);
    const unsigned char *b = in;
    int dest = len > 0 && b && b[0] == VREC_DEST_VERSION;
    if (dest) {
        r = (rd){.p = b + 1, .left = len - 1};
        p->to = g16(&r);
    } else if (begin(&r, in, len, 0)) {
        return BH_ECORRUPT;
    }
    p->parked_at = g64(&r);
    p->tries = g32(&r);
    msg_get(&r, &p->msg);
    p->error_len = g8(&r);
    if (p->error_len > BH_VAULT_ERROR_MAX) return BH_ECORRUPT;
    gbytes(&r, p->error, p->error_len);
    if (!dest)
        p->to = p->msg.transfer.to_chain;
    else if (p->to == 0 || p->to == p->msg.transfer.to_chain)
        return BH_ECORRUPT;
    return end(&r);
}

/* ---- value windows and prices ---- */

void vrec_vwin_put(unsigned char *o, const bh_value_window *w)
{
    *o++ = VREC_VERSION;
    for (int i = 0; i < BH_VALUE_SLOTS; i++)
        o = p64(o, w->hour[i]);
    for (int i = 0; i < BH_VALUE_SLOTS; i++)
        o = p128(o, w->sum[i]);
}

int vrec_vwin_get(bh_value_window *w, const void *in, size_t len)
{
    rd r;
    memset(w, 0, sizeof *w);
    if (begin(&r, in, len, VREC_VWIN_LEN)) return BH_ECORRUPT;
    for (int i = 0; i < BH_VALUE_SLOTS; i++)
        w->hour[i] = g64(&r);
    for (int i = 0; i < BH_VALUE_SLOTS; i++)
        w->sum[i] = g128(&r);
    return end(&r);
}

void vrec_price_put(unsigned char *o, const bh_vault_price *p)
{
    *o++ = VREC_VERSION;
    o = p128(o, p->fixed);
    o = p128(o, p->last);
    o = p64(o, p->updated_at);
    o = p64(o, p->seen_at);
    o = p128(o, p->ref);
    o = p64(o, p->ref_at);
    o = p128(o, p->suspect);
    o = p64(o, p->suspect_at);
    o = p64(o, p->max_age);
    p32(o, p->max_jump);
}

int vrec_price_get(bh_vault_price *p, const void *in, size_t len)
{
    rd r;
    memset(p, 0, sizeof *p);
    if (begin(&r, in, len, VREC_PRICE_LEN)) return BH_ECORRUPT;
    p->fixed = g128(&r);
    p->last = g128(&r);
    p->updated_at = g64(&r);
    p->seen_at = g64(&r);
    p->ref = g128(&r);
    p->ref_at = g64(&r);
    p->suspect = g128(&r);
    p->suspect_at = g64(&r);
    p->max_age = g64(&r);
    p->max_jump = g32(&r);
    return end(&r);
}

/* ---- journal ---- */

size_t vrec_journal_put(unsigned char *o, const vault_jrec *j, const char *actor,
                        const char *reason)
{
    unsigned char *s = o;
    size_t al = j->actor_len > BH_VAULT_ACTOR_MAX ? BH_VAULT_ACTOR_MAX : j->actor_len;
    size_t rl = j->reason_len > BH_VAULT_REASON_MAX ? BH_VAULT_REASON_MAX : j->reason_len;
    *o++ = VREC_VERSION;
    o = p64(o, j->time);
    o = p64(o, j->ref);
    o = p64(o, j->sequence);
    o = p32(o, j->kind);
    o = p32(o, j->effects);
    o = p32(o, j->reject);
    o = p16(o, j->chain);
    o = p16(o, j->lane_dec);
    o = p16(o, j->lane_inc);
    o = p16(o, j->emitter_chain);
    o = pbytes(o, j->emitter.data, 32);
    o = pbytes(o, j->digest.data, 32);
    o = pbytes(o, j->token.data, 32);
    o = p128(o, j->amount);
    *o++ = (unsigned char)al;
    *o++ = (unsigned char)rl;
    o = pbytes(o, actor, al);
    o = pbytes(o, reason, rl);
    return (size_t)(o - s);
}

int vrec_journal_get(bh_vault_journal_entry *e, uint64_t id, const void *in, size_t len)
{
    rd r;
    memset(e, 0, sizeof *e);
    if (len < VREC_JOURNAL_MIN || begin(&r, in, len, 0)) return BH_ECORRUPT;
    e->id = id;
    e->time = g64(&r);
    e->ref = g64(&r);
    e->sequence = g64(&r);
    e->kind = g32(&r);
    e->effects = g32(&r);
    e->reject = g32(&r);
    e->chain = g16(&r);
    e->lane_dec = g16(&r);
    e->lane_inc = g16(&r);
    e->emitter_chain = g16(&r);
    gbytes(&r, e->emitter.data, 32);
    gbytes(&r, e->digest.data, 32);
    gbytes(&r, e->token.data, 32);
    e->amount = g128(&r);
    size_t al = g8(&r), rl = g8(&r);
    if (al > BH_VAULT_ACTOR_MAX || rl > BH_VAULT_REASON_MAX) return BH_ECORRUPT;
    gbytes(&r, e->actor, al);
    gbytes(&r, e->reason, rl);
    return end(&r);
}

/* ---- quarantine ---- */

size_t vrec_quarantine_put(unsigned char *o, const bh_vault_quarantine *q)
{
    unsigned char *s = o;
    size_t al = strnlen(q->actor, BH_VAULT_ACTOR_MAX), rl = strnlen(q->reason, BH_VAULT_REASON_MAX);
    *o++ = VREC_VERSION;
    o = p16(o, q->chain);
    o = p64(o, q->since);
    *o++ = (unsigned char)al;
    *o++ = (unsigned char)rl;
    o = pbytes(o, q->actor, al);
    o = pbytes(o, q->reason, rl);
    return (size_t)(o - s);
}

int vrec_quarantine_get(bh_vault_quarantine *q, const void *in, size_t len)
{
    rd r;
    memset(q, 0, sizeof *q);
    if (begin(&r, in, len, 0)) return BH_ECORRUPT;
    q->chain = g16(&r);
    q->since = g64(&r);
    size_t al = g8(&r), rl = g8(&r);
    if (al > BH_VAULT_ACTOR_MAX || rl > BH_VAULT_REASON_MAX) return BH_ECORRUPT;
    gbytes(&r, q->actor, al);
    gbytes(&r, q->reason, rl);
    return end(&r);
}

/* ---- meta ---- */

size_t vrec_rejects_put(unsigned char *o, const uint64_t rj[BH_REJECT_COUNT_])
{
    o[0] = VREC_VERSION;
    o[1] = (unsigned char)BH_REJECT_COUNT_;
    for (int i = 0; i < BH_REJECT_COUNT_; i++)
        bh_be_put_u64(o + 2 + 8 * i, rj[i]);
    return VREC_REJECTS_MAX;
}

int vrec_rejects_get(uint64_t rj[BH_REJECT_COUNT_], const void *in, size_t len)
{
    rd r;
    memset(rj, 0, sizeof(uint64_t) * BH_REJECT_COUNT_);
    if (begin(&r, in, len, 0)) return BH_ECORRUPT;
    size_t n = g8(&r);
    /* fewer: a build with fewer reasons; more: a newer build's, never dropped */
    if (n > BH_REJECT_COUNT_ || len != 2 + 8 * n) return BH_ECORRUPT;
    for (size_t i = 0; i < n; i++)
        rj[i] = g64(&r);
    return end(&r);
}

int vrec_u16_get(uint16_t *x, const void *in, size_t len)
{
    *x = 0;
    if (len != 2) return BH_ECORRUPT;
    *x = bh_be_get_u16(in);
    return BH_OK;
}

int vrec_u64_get(uint64_t *x, const void *in, size_t len)
{
    *x = 0;
    if (len != 8) return BH_ECORRUPT;
    *x = bh_be_get_u64(in);
    return BH_OK;
}

int vrec_u128_get(bh_u128 *x, const void *in, size_t len)
{
    *x = 0;
    if (len != 16) return BH_ECORRUPT;
    *x = bh_be_get_u128(in);
    return BH_OK;
}

int vrec_name_get(char *out, const void *in, size_t len)
{
    out[0] = 0;
    if (len < 1 || len > BH_VAULT_NAME_MAX || memchr(in, 0, len)) return BH_ECORRUPT;
    memcpy(out, in, len);
    out[len] = 0;
    return bh_vault_name_is_valid(out) ? BH_OK : BH_ECORRUPT;
}

/* ---- schema 1: the x86-64 layouts of the structs, read field by field ---- */

bh_u128 v1_le(const unsigned char *p, size_t n)
{
    bh_u128 x = 0;
    while (n--)
        x = x << 8 | p[n];
    return x;
}

#define LE16(p) ((uint16_t)v1_le((p), 2))
#define LE32(p) ((uint32_t)v1_le((p), 4))
#define LE64(p) ((uint64_t)v1_le((p), 8))
#define LE128(p) v1_le((p), 16)

void bh_store_msg_get_v1(bh_transfer_msg *m, const unsigned char *p)
{
    memset(m, 0, sizeof *m);
    m->emitter_chain = LE16(p);
    memcpy(m->emitter.data, p + 2, 32);
    m->sequence = LE64(p + 40);
    m->timestamp = LE32(p + 48);
    memcpy(m->digest.data, p + 52, 32);
    memcpy(m->transfer.amount.be, p + 84, 32);
    memcpy(m->transfer.token.data, p + 116, 32);
    m->transfer.token_chain = LE16(p + 148);
    memcpy(m->transfer.to.data, p + 150, 32);
    m->transfer.to_chain = LE16(p + 182);
    memcpy(m->transfer.fee.be, p + 184, 32);
    m->amount = LE128(p + 224);
    m->fee = LE128(p + 240);
    m->nonce = LE32(p + 256);
    m->consistency = p[260];
}

int v1_asset_get(bh_vault_asset *a, const void *in, size_t len)
{
    const unsigned char *p = in;
    memset(a, 0, sizeof *a);
    if (len != V1_ASSET_LEN) return BH_ECORRUPT;
    a->locked = LE128(p);
    a->outstanding_total = LE128(p + 16);
    a->big_threshold = LE128(p + 32);
    a->big_delay = LE64(p + 48);
    a->created = LE64(p + 56);
    a->decimals = p[64];
    memcpy(a->symbol, p + 65, BH_VAULT_SYMBOL_MAX); /* symbol[17] ends in its NUL */
    return padded_ok(a->symbol, BH_VAULT_SYMBOL_MAX) && p[65 + BH_VAULT_SYMBOL_MAX] == 0
               ? BH_OK
               : BH_ECORRUPT;
}

static void v1_bucket(bh_vault_bucket *b, const unsigned char *p)
{
    b->capacity = LE128(p);
    b->refill = LE128(p + 16);
    b->level = LE128(p + 32);
    b->debt = LE128(p + 48);
    b->last = LE64(p + 64);
}

int v1_lane_get(bh_vault_lane *l, const void *in, size_t len)
{
    const unsigned char *p = in;
    memset(l, 0, sizeof *l);
    if (len != V1_LANE_LEN) return BH_ECORRUPT;
    l->outstanding = LE128(p);
    l->cap = LE128(p + 16);
    l->window_limit = LE128(p + 32);
    v1_bucket(&l->in, p + 48);
    v1_bucket(&l->out, p + 128);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++) {
        l->window_hour[i] = LE64(p + 208 + 8 * i);
        l->window_sum[i] = LE128(p + 400 + 16 * i);
    }
    return BH_OK;
}

int v1_chain_get(vault_chain_rec *c, const void *in, size_t len)
{
    const unsigned char *p = in;
    memset(c, 0, sizeof *c);
    if (len != V1_CHAIN_LEN) return BH_ECORRUPT;
    c->msg_limit = LE32(p);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++) {
        c->count[i] = LE32(p + 4 + 4 * i);
        c->hour[i] = LE64(p + 104 + 8 * i);
    }
    return BH_OK;
}

int v1_seq_get(vault_seq *s, const void *in, size_t len)
{
    const unsigned char *p = in;
    memset(s, 0, sizeof *s);
    if (len != V1_SEQ_LEN) return BH_ECORRUPT;
    s->next_journal = LE64(p);
    s->next_pending = LE64(p + 8);
    s->next_outbox = LE64(p + 16);
    s->msg_limit_default = LE32(p + 24);
    return BH_OK;
}

int v1_pending_get(vault_pending_rec *r, const void *in, size_t len)
{
    const unsigned char *p = in;
    memset(r, 0, sizeof *r);
    if (len != V1_PENDING_LEN) return BH_ECORRUPT;
    r->created = LE64(p);
    r->release_at = LE64(p + 8);
    r->cause = LE32(p + 16);
    r->applied = LE32(p + 20);
    bh_store_msg_get_v1(&r->msg, p + 32);
    return BH_OK;
}

int v1_outbox_get(bh_transfer_msg *m, const void *in, size_t len)
{
    memset(m, 0, sizeof *m);
    if (len != V1_MSG_LEN) return BH_ECORRUPT;
    bh_store_msg_get_v1(m, in);
    return BH_OK;
}

int v1_parked_get(vault_parked_rec *r, const void *in, size_t len)
{
    const unsigned char *p = in;
    memset(r, 0, sizeof *r);
    if (len != V1_PARKED_LEN) return BH_ECORRUPT;
    r->parked_at = LE64(p);
    r->tries = LE32(p + 8);
    r->error_len = LE32(p + 12);
    if (r->error_len > BH_VAULT_ERROR_MAX) return BH_ECORRUPT;
    memcpy(r->error, p + 16, r->error_len);
    bh_store_msg_get_v1(&r->msg, p + 176);
    return BH_OK;
}

int v1_journal_get(vault_jrec *j, const char **actor, const char **reason, const void *in,
                   size_t len)
{
    const unsigned char *p = in;
    memset(j, 0, sizeof *j);
    *actor = *reason = NULL;
    if (len < V1_JREC_LEN) return BH_ECORRUPT;
    j->time = LE64(p);
    j->ref = LE64(p + 8);
    j->sequence = LE64(p + 16);
    j->kind = LE32(p + 24);
    j->effects = LE32(p + 28);
    j->reject = LE32(p + 32);
    j->chain = LE16(p + 36);
    j->lane_dec = LE16(p + 38);
    j->lane_inc = LE16(p + 40);
    j->emitter_chain = LE16(p + 42);
    j->actor_len = p[44];
    j->reason_len = p[45];
    memcpy(j->emitter.data, p + 48, 32);
    memcpy(j->digest.data, p + 80, 32);
    memcpy(j->token.data, p + 112, 32);
    j->amount = LE128(p + 144);
    if (j->actor_len > BH_VAULT_ACTOR_MAX || j->reason_len > BH_VAULT_REASON_MAX ||
        len != (size_t)V1_JREC_LEN + j->actor_len + j->reason_len)
        return BH_ECORRUPT;
    *actor = (const char *)p + V1_JREC_LEN;
    *reason = *actor + j->actor_len;
    return BH_OK;
}

int v1_quarantine_get(bh_vault_quarantine *q, const void *in, size_t len)
{
    const unsigned char *p = in;
    memset(q, 0, sizeof *q);
    if (len != V1_QUARANTINE_LEN) return BH_ECORRUPT;
    q->chain = LE16(p);
    q->since = LE64(p + 8);
    memcpy(q->actor, p + 16, BH_VAULT_ACTOR_MAX);
    memcpy(q->reason, p + 49, BH_VAULT_REASON_MAX);
    return BH_OK;
}
