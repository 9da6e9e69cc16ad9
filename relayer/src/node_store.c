#include "node_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bh_be.h"

struct node_store {
    bh_store *st;
    MDB_dbi cursors, inbox, meta;
};

#define NODE_MAP_SIZE ((size_t)1 << 30) /* sparse; the file grows only as it fills */
#define NODE_MAP_MAX ((size_t)64 << 30) /* doubles up to this */
#define INBOX_KEY 12                    /* vault u16 | source u16 | sequence u64, big-endian */
#define REC_VERSION 1                   /* leading byte of every record */
#define V1_CURSOR_LEN 56                /* node_cursor, x86-64, schema 1 */
#define V1_INBOX_LEN 288                /* node_inbox_rec, x86-64, schema 1 */
#define V1_TIGHT_LEN 32                 /* two native u128, schema 1 */

static void inbox_key(unsigned char k[INBOX_KEY], uint16_t vault, uint16_t source, uint64_t seq)
{
    bh_be_put_u16(k, vault);
    bh_be_put_u16(k + 2, source);
    bh_be_put_u64(k + 4, seq);
}

/* ---- record codecs ---- */

void node_cursor_encode(unsigned char *o, const node_cursor *c)
{
    o[0] = REC_VERSION;
    bh_be_put_u64(o + 1, c->number);
    memcpy(o + 9, c->hash.data, 32);
    bh_be_put_u64(o + 41, c->next_seq);
    o[49] = c->has_seq ? 1 : 0;
}

int node_cursor_decode(node_cursor *c, const unsigned char *p, size_t len)
{
    memset(c, 0, sizeof *c);
    if (len != NODE_CURSOR_LEN || p[0] != REC_VERSION || p[49] > 1) return BH_ECORRUPT;
    c->number = bh_be_get_u64(p + 1);
    memcpy(c->hash.data, p + 9, 32);
    c->next_seq = bh_be_get_u64(p + 41);
    c->has_seq = p[49];
    return BH_OK;
}

void node_inbox_encode(unsigned char *o, const node_inbox_rec *r)
{
    o[0] = REC_VERSION;
    bh_store_msg_put(o + 1, &r->msg);
    bh_be_put_u32(o + 1 + BH_STORE_MSG_LEN, r->verdict);
    o[5 + BH_STORE_MSG_LEN] = r->kind;
    bh_be_put_u64(o + 6 + BH_STORE_MSG_LEN, r->observed_ms);
}

int node_inbox_decode(node_inbox_rec *r, const unsigned char *p, size_t len)
{
    memset(r, 0, sizeof *r);
    if (len != NODE_INBOX_LEN || p[0] != REC_VERSION) return BH_ECORRUPT;
    bh_store_msg_get(&r->msg, p + 1);
    r->verdict = bh_be_get_u32(p + 1 + BH_STORE_MSG_LEN);
    r->kind = p[5 + BH_STORE_MSG_LEN];
    r->observed_ms = bh_be_get_u64(p + 6 + BH_STORE_MSG_LEN);
    return BH_OK;
}

void node_tight_encode(unsigned char *o, const node_tight *t)
{
    o[0] = REC_VERSION;
    bh_be_put_u128(o + 1, t->cap);
    bh_be_put_u128(o + 17, t->refill);
}

int node_tight_decode(node_tight *t, const unsigned char *p, size_t len)
{
    memset(t, 0, sizeof *t);
    if (len != NODE_TIGHT_LEN || p[0] != REC_VERSION) return BH_ECORRUPT;
    t->cap = bh_be_get_u128(p + 1);
    t->refill = bh_be_get_u128(p + 17);
    return BH_OK;
}

size_t node_pins_encode(unsigned char *o, const bh_wrapped_pin *pins, size_t n)
{
    unsigned char *s = o;
    *o++ = REC_VERSION;
    bh_be_put_u16(o, (uint16_t)n);
    o += 2;
    for (size_t i = 0; i < n; i++) {
        bh_be_put_u16(o, pins[i].home_chain);
        memcpy(o + 2, pins[i].home_token.data, 32);
        memcpy(o + 34, pins[i].token.data, 20);
        o += NODE_PIN_LEN;
    }
    return (size_t)(o - s);
}

int node_pins_decode(bh_wrapped_pin *pins, size_t cap, size_t *n, const unsigned char *p,
                     size_t len)
{
    *n = 0;
    if (len < 3 || p[0] != REC_VERSION) return BH_ECORRUPT;
    size_t k = bh_be_get_u16(p + 1);
    if (k > cap || len != 3 + k * NODE_PIN_LEN) return BH_ECORRUPT;
    for (size_t i = 0; i < k; i++) {
        const unsigned char *r = p + 3 + i * NODE_PIN_LEN;
        memset(&pins[i], 0, sizeof pins[i]);
        pins[i].home_chain = bh_be_get_u16(r);
        memcpy(pins[i].home_token.data, r + 2, 32);
        memcpy(pins[i].token.data, r + 34, 20);
    }
    *n = k;
    return BH_OK;
}

/* Schema 1 (struct copies, x86-64): little-endian fields at fixed offsets. */
static uint64_t le64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static bh_u128 le128(const unsigned char *p)
{
    return (bh_u128)le64(p + 8) << 64 | le64(p);
}

/* ---- meta key families ---- */

typedef enum { META_RAW, META_TIGHT, META_UNKNOWN } meta_family;

static meta_family family(const char *key, size_t n)
{
    static const struct {
        const char *prefix;
        meta_family f;
    } k[] = {{"tight/", META_TIGHT}, {"breaker/", META_RAW}, {"chain/", META_RAW},
             {"recon/", META_RAW},   {"wrapped/", META_RAW}, {"cfglim/", META_RAW},
             {"curse/", META_RAW},   {"portal/", META_RAW},  {"vtight/", META_RAW}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        size_t pl = strlen(k[i].prefix);
        if (n > pl && !memcmp(key, k[i].prefix, pl)) return k[i].f;
    }
    return META_UNKNOWN;
}

/* ---- open and migrate ---- */

typedef struct {
    node_store *s;
    char *why;
    size_t why_cap;
    const char *dir;
} open_ctx;

/* Rewrite every value of a table from its schema 1 form. */
static int migrate_table(open_ctx *c, MDB_txn *txn, MDB_dbi dbi, const char *table)
{
    MDB_cursor *cur;
    int rc = bh_store_status(mdb_cursor_open(txn, dbi, &cur));
    if (rc) return rc;
    MDB_val k, d;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        const unsigned char *p = d.mv_data;
        unsigned char out[NODE_INBOX_LEN];
        MDB_val nd = {0, out};
        int ok = 0;
        if (dbi == c->s->cursors && k.mv_size == 2 && d.mv_size == V1_CURSOR_LEN) {
            node_cursor cu = {.number = le64(p), .next_seq = le64(p + 40)};
            memcpy(cu.hash.data, p + 8, 32);
            cu.has_seq = (uint32_t)le64(p + 48) & 0xffffffffu;
            node_cursor_encode(out, &cu);
            nd.mv_size = NODE_CURSOR_LEN;
            ok = 1;
        } else if (dbi == c->s->inbox && k.mv_size == INBOX_KEY && d.mv_size == V1_INBOX_LEN) {
            node_inbox_rec r;
            memset(&r, 0, sizeof r);
            bh_store_msg_get_v1(&r.msg, p);
            r.verdict = (uint32_t)le64(p + 272) & 0xffffffffu;
            r.kind = p[276];
            r.observed_ms = le64(p + 280);
            node_inbox_encode(out, &r);
            nd.mv_size = NODE_INBOX_LEN;
            ok = 1;
        } else if (dbi == c->s->meta) {
            meta_family f = family(k.mv_data, k.mv_size);
            if (f == META_RAW) continue; /* explicit records already */
            if (f == META_TIGHT && d.mv_size == V1_TIGHT_LEN) {
                node_tight t = {le128(p), le128(p + 16)};
                node_tight_encode(out, &t);
                nd.mv_size = NODE_TIGHT_LEN;
                ok = 1;
            }
        }
        if (!ok) {
            snprintf(c->why, c->why_cap,
                     "node store %s: table %s holds a record (key %zu bytes, value %zu bytes) "
                     "that is not schema 1; nothing was migrated",
                     c->dir, table, k.mv_size, d.mv_size);
            rc = BH_ECORRUPT;
            break;
        }
        /* k points into the page the put rewrites: give LMDB a copy */
        unsigned char kc[512];
        if (k.mv_size > sizeof kc) {
            rc = BH_ECORRUPT;
            break;
        }
        memcpy(kc, k.mv_data, k.mv_size);
        MDB_val kv = {k.mv_size, kc};
        if ((rc = bh_store_status(mdb_cursor_put(cur, &kv, &nd, MDB_CURRENT)))) break;
    }
    mdb_cursor_close(cur);
    if (!rc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
    return rc;
}

static int table_empty(MDB_txn *txn, MDB_dbi dbi, int *empty)
{
    MDB_stat st;
    int rc = bh_store_status(mdb_stat(txn, dbi, &st));
    *empty = !rc && st.ms_entries == 0;
    return rc;
}

static int open_fn(void *vctx, MDB_txn *txn)
{
    open_ctx *c = vctx;
    node_store *s = c->s;
    int rc = bh_store_status(mdb_dbi_open(txn, "cursors", MDB_CREATE, &s->cursors));
    if (!rc) rc = bh_store_status(mdb_dbi_open(txn, "inbox", MDB_CREATE, &s->inbox));
    if (!rc) rc = bh_store_status(mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta));
    if (rc) {
        snprintf(c->why, c->why_cap, "node store %s: cannot open its tables: %s", c->dir,
                 bh_strerror(rc));
        return rc;
    }
    uint32_t schema = 0;
    rc = bh_store_schema_get(txn, s->meta, BH_STORE_KIND_NODE, &schema, NULL);
    if (rc == BH_OK && schema == NODE_STORE_SCHEMA) return BH_OK;
    if (rc == BH_OK || rc == BH_ECORRUPT) {
        snprintf(c->why, c->why_cap,
                 "node store %s has schema %u but this build understands only schema %u; "
                 "refusing to open it (the files are left untouched)",
                 c->dir, (unsigned)schema, NODE_STORE_SCHEMA);
        return BH_ESCHEMA;
    }
    if (rc != BH_ENOTFOUND) return rc;
    /* no schema record: new, or written by a build of schema 1 */
    int e1, e2, e3;
    if ((rc = table_empty(txn, s->cursors, &e1)) || (rc = table_empty(txn, s->inbox, &e2)) ||
        (rc = table_empty(txn, s->meta, &e3)))
        return rc;
    if (!(e1 && e2 && e3) && ((rc = migrate_table(c, txn, s->cursors, "cursors")) ||
                              (rc = migrate_table(c, txn, s->inbox, "inbox")) ||
                              (rc = migrate_table(c, txn, s->meta, "meta"))))
        return rc;
    return bh_store_schema_put(txn, s->meta, BH_STORE_KIND_NODE, NODE_STORE_SCHEMA);
}

int node_store_open(node_store **out, const char *data_dir, char *why, size_t why_cap)
{
    *out = NULL;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/node", data_dir);
    if (mkdir(data_dir, 0700) && errno != EEXIST) {
        int e = errno;
        snprintf(why, why_cap, "cannot create %s: %s", data_dir, strerror(e));
        return e;
    }
    if (mkdir(dir, 0700) && errno != EEXIST) {
        int e = errno;
        snprintf(why, why_cap, "cannot create %s: %s", dir, strerror(e));
        return e;
    }
    node_store *s = calloc(1, sizeof *s);
    if (!s) return BH_ENOMEM;
    bh_store_opts o = {.map_size = NODE_MAP_SIZE, .map_max = NODE_MAP_MAX, .max_dbs = 4};
    char ow[512];
    int rc = bh_store_open(&s->st, dir, &o, ow, sizeof ow);
    if (rc) {
        snprintf(why, why_cap, "node store %s: %s", dir, ow);
        free(s);
        return rc;
    }
    why[0] = 0;
    open_ctx c = {s, why, why_cap, dir};
    rc = bh_store_write(s->st, open_fn, &c);
    if (rc) {
        if (!why[0])
            snprintf(why, why_cap, "node store %s: %s", dir,
                     bh_store_errmsg(s->st)[0] ? bh_store_errmsg(s->st) : bh_strerror(rc));
        node_store_close(s);
        return rc;
    }
    *out = s;
    return BH_OK;
}

void node_store_close(node_store *s)
{
    if (!s) return;
    bh_store_close(s->st);
    free(s);
}

/* ---- cursors and inbox ---- */

int node_store_cursor_get(node_store *s, uint16_t chain, node_cursor *out)
{
    memset(out, 0, sizeof *out);
    MDB_txn *txn;
    int rc = bh_store_begin(s->st, MDB_RDONLY, &txn);
    if (rc) return rc;
    unsigned char kb[2];
    bh_be_put_u16(kb, chain);
    MDB_val k = {2, kb}, d;
    rc = bh_store_status(mdb_get(txn, s->cursors, &k, &d));
    if (!rc) rc = node_cursor_decode(out, d.mv_data, d.mv_size);
    bh_store_abort(s->st, txn);
    return rc;
}

typedef struct {
    node_store *s;
    uint16_t chain;
    const node_cursor *cur;
    const node_inbox_rec *recs;
    const uint16_t *vaults;
    size_t n;
} commit_ctx;

static int commit_fn(void *vctx, MDB_txn *txn)
{
    commit_ctx *c = vctx;
    int rc = 0;
    for (size_t i = 0; i < c->n && !rc; i++) {
        unsigned char kb[INBOX_KEY], rec[NODE_INBOX_LEN];
        inbox_key(kb, c->vaults[i], c->chain, c->recs[i].msg.sequence);
        node_inbox_encode(rec, &c->recs[i]);
        MDB_val k = {INBOX_KEY, kb}, d = {sizeof rec, rec};
        rc = mdb_put(txn, c->s->inbox, &k, &d, 0);
    }
    if (!rc) {
        unsigned char kb[2], rec[NODE_CURSOR_LEN];
        bh_be_put_u16(kb, c->chain);
        node_cursor_encode(rec, c->cur);
        MDB_val k = {2, kb}, d = {sizeof rec, rec};
        rc = mdb_put(txn, c->s->cursors, &k, &d, 0);
    }
    return bh_store_status(rc);
}

int node_store_commit(node_store *s, uint16_t chain, const node_cursor *cur,
                      const node_inbox_rec *recs, const uint16_t *vaults, size_t n)
{
    commit_ctx c = {s, chain, cur, recs, vaults, n};
    return bh_store_write(s->st, commit_fn, &c);
}

int node_store_inbox_read(node_store *s, uint16_t vault, uint16_t source, uint64_t from,
                          node_inbox_rec *out, size_t cap, size_t *n)
{
    *n = 0;
    MDB_txn *txn;
    int rc = bh_store_begin(s->st, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_cursor *c;
    rc = bh_store_status(mdb_cursor_open(txn, s->inbox, &c));
    if (!rc) {
        unsigned char kb[INBOX_KEY];
        inbox_key(kb, vault, source, from);
        MDB_val k = {INBOX_KEY, kb}, d;
        int op = MDB_SET_RANGE, mrc = 0;
        while (*n < cap && (mrc = mdb_cursor_get(c, &k, &d, op)) == 0) {
            op = MDB_NEXT;
            if (k.mv_size != INBOX_KEY || memcmp(k.mv_data, kb, 4) != 0) break;
            if ((rc = node_inbox_decode(&out[*n], d.mv_data, d.mv_size))) break;
            (*n)++;
        }
        if (!rc && *n < cap && mrc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
        mdb_cursor_close(c);
    }
    bh_store_abort(s->st, txn);
    return rc;
}

typedef struct {
    node_store *s;
    uint16_t vault, source;
    uint64_t below;
    size_t count;
} trim_ctx;

static int trim_fn(void *vctx, MDB_txn *txn)
{
    trim_ctx *t = vctx;
    t->count = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, t->s->inbox, &c);
    if (rc) return bh_store_status(rc);
    unsigned char kb[INBOX_KEY];
    inbox_key(kb, t->vault, t->source, 0);
    MDB_val k = {INBOX_KEY, kb}, d;
    int op = MDB_SET_RANGE;
    while ((rc = mdb_cursor_get(c, &k, &d, op)) == 0) {
        op = MDB_NEXT;
        if (k.mv_size != INBOX_KEY || memcmp(k.mv_data, kb, 4) != 0) break;
        if (bh_be_get_u64((const unsigned char *)k.mv_data + 4) >= t->below) break;
        if ((rc = mdb_cursor_del(c, 0))) break;
        t->count++;
    }
    if (rc == MDB_NOTFOUND) rc = 0;
    mdb_cursor_close(c);
    return bh_store_status(rc);
}

int node_store_inbox_trim(node_store *s, uint16_t vault, uint16_t source, uint64_t below,
                          size_t *removed)
{
    if (removed) *removed = 0;
    trim_ctx t = {s, vault, source, below, 0};
    int rc = bh_store_write(s->st, trim_fn, &t);
    if (!rc && removed) *removed = t.count;
    return rc;
}

int node_store_inbox_count(node_store *s, uint16_t source, uint64_t *n)
{
    *n = 0;
    MDB_txn *txn;
    int rc = bh_store_begin(s->st, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, s->inbox, &c);
    if (!rc) {
        MDB_val k, d;
        int op = MDB_FIRST;
        while ((rc = mdb_cursor_get(c, &k, &d, op)) == 0) {
            op = MDB_NEXT;
            const unsigned char *kb = k.mv_data;
            if (k.mv_size == INBOX_KEY && bh_be_get_u16(kb + 2) == source) (*n)++;
        }
        if (rc == MDB_NOTFOUND) rc = 0;
        mdb_cursor_close(c);
    }
    bh_store_abort(s->st, txn);
    return bh_store_status(rc);
}

/* ---- meta ---- */

/* The memory form of a stored meta value into buf (cap bytes).
 * Returns: BH_OK with *len set; BH_ECORRUPT if it does not decode or does
 *          not fit. */
static int meta_decode(const char *key, const MDB_val *d, void *buf, size_t cap, size_t *len)
{
    *len = 0;
    meta_family f = family(key, strlen(key));
    if (f == META_TIGHT) {
        node_tight t;
        if (cap < sizeof t || node_tight_decode(&t, d->mv_data, d->mv_size)) return BH_ECORRUPT;
        memcpy(buf, &t, sizeof t);
        *len = sizeof t;
        return BH_OK;
    }
    if (f == META_UNKNOWN || d->mv_size > cap) return BH_ECORRUPT;
    memcpy(buf, d->mv_data, d->mv_size);
    *len = d->mv_size;
    return BH_OK;
}

int node_store_meta_read(node_store *s, const char *key, void *buf, size_t cap, size_t *len)
{
    *len = 0;
    MDB_txn *txn;
    int rc = bh_store_begin(s->st, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_val k = {strlen(key), (void *)key}, d;
    rc = bh_store_status(mdb_get(txn, s->meta, &k, &d));
    if (!rc) rc = meta_decode(key, &d, buf, cap, len);
    bh_store_abort(s->st, txn);
    return rc;
}

int node_store_meta_get(node_store *s, const char *key, void *val, size_t len)
{
    size_t got = 0;
    int rc = node_store_meta_read(s, key, val, len, &got);
    return !rc && got != len ? BH_ECORRUPT : rc;
}

typedef struct {
    node_store *s;
    const char *key;
    const void *val;
    size_t len;
    int del;
} meta_ctx;

static int meta_fn(void *vctx, MDB_txn *txn)
{
    meta_ctx *m = vctx;
    MDB_val k = {strlen(m->key), (void *)m->key}, d = {m->len, (void *)m->val};
    unsigned char rec[NODE_TIGHT_LEN];
    if (!m->del && family(m->key, k.mv_size) == META_TIGHT) {
        node_tight t;
        memcpy(&t, m->val, sizeof t);
        node_tight_encode(rec, &t);
        d.mv_size = sizeof rec;
        d.mv_data = rec;
    }
    int rc = m->del ? mdb_del(txn, m->s->meta, &k, NULL) : mdb_put(txn, m->s->meta, &k, &d, 0);
    return bh_store_status(rc);
}

static int meta_write(node_store *s, const char *key, const void *val, size_t len, int del)
{
    meta_family f = family(key, strlen(key));
    if (f == META_UNKNOWN || (!del && f == META_TIGHT && len != sizeof(node_tight)))
        return BH_EINVAL;
    meta_ctx m = {s, key, val, len, del};
    return bh_store_write(s->st, meta_fn, &m);
}

int node_store_exists(const char *data_dir)
{
    char path[4096 + 16];
    snprintf(path, sizeof path, "%s/node/data.mdb", data_dir);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

int node_store_read_records(const char *data_dir, const char *prefix, const char *what,
                            int (*cb)(void *ctx, const char *key, const void *val, size_t len),
                            void *ctx, const int *cb_rc, char *err, size_t err_cap)
{
    if (!node_store_exists(data_dir)) {
        snprintf(err, err_cap, "%s/node: no node store (the node never ran on this data_dir)",
                 data_dir);
        return BH_ENOTFOUND;
    }
    node_store *st = NULL;
    char why[256] = "";
    int rc = node_store_open(&st, data_dir, why, sizeof why);
    if (rc) {
        snprintf(err, err_cap, "%s/node: %s", data_dir, *why ? why : bh_strerror(rc));
        return rc;
    }
    rc = node_store_meta_each(st, prefix, cb, ctx);
    node_store_close(st);
    if (rc == 1) rc = *cb_rc;
    if (rc) snprintf(err, err_cap, "%s/node: a %s record: %s", data_dir, what, bh_strerror(rc));
    return rc;
}

int node_store_meta_put(node_store *s, const char *key, const void *val, size_t len)
{
    return meta_write(s, key, val, len, 0);
}

int node_store_meta_del(node_store *s, const char *key)
{
    return meta_write(s, key, NULL, 0, 1);
}

int node_store_meta_each(node_store *s, const char *prefix,
                         int (*cb)(void *ctx, const char *key, const void *val, size_t len),
                         void *ctx)
{
    MDB_txn *txn;
    int rc = bh_store_begin(s->st, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_cursor *c;
    int stop = 0;
    rc = bh_store_status(mdb_cursor_open(txn, s->meta, &c));
    if (!rc) {
        size_t plen = strlen(prefix);
        MDB_val k = {plen, (void *)prefix}, d;
        int op = MDB_SET_RANGE, mrc = 0;
        while (!stop && (mrc = mdb_cursor_get(c, &k, &d, op)) == 0) {
            op = MDB_NEXT;
            if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0) break;
            char key[128];
            if (k.mv_size >= sizeof key) continue;
            memcpy(key, k.mv_data, k.mv_size);
            key[k.mv_size] = 0;
            meta_family f = family(key, k.mv_size);
            if (f == META_UNKNOWN) continue; /* the schema record */
            if (f == META_TIGHT) {
                node_tight t;
                if ((rc = node_tight_decode(&t, d.mv_data, d.mv_size))) break;
                stop = cb(ctx, key, &t, sizeof t);
            } else {
                stop = cb(ctx, key, d.mv_data, d.mv_size);
            }
        }
        if (!rc && !stop && mrc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
        mdb_cursor_close(c);
    }
    bh_store_abort(s->st, txn);
    return rc ? rc : stop;
}
