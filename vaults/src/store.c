/* The storage layer: LMDB environments with growth, error mapping, the
 * schema record and the stored transfer message. */
#include "bh_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_be.h"

#define STORE_DEFAULT_MAP ((size_t)64 << 20)
#define STORE_DEFAULT_MAP_MAX ((size_t)64 << 30)

struct bh_store {
    MDB_env *env;
    /* shared while a transaction of this process is open, exclusive while
     * the map is resized (LMDB needs no transaction open then) */
    pthread_rwlock_t resize;
    pthread_mutex_t mu; /* map_size, err */
    size_t map_size;
    size_t map_max;
    int read_only;
    char dir[512];
    char err[512];
};

/* Transactions this thread has open on any store: growth must not wait for
 * a shared lock the thread itself holds. */
static _Thread_local unsigned t_open;

static void set_err(bh_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(bh_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&s->mu);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    pthread_mutex_unlock(&s->mu);
    va_end(ap);
}

int bh_store_status(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return BH_OK;
    case MDB_NOTFOUND:
        return BH_ENOTFOUND;
    case MDB_KEYEXIST:
        return BH_EEXIST;
    case MDB_MAP_FULL:
        return BH_EMAPFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
        return BH_ECORRUPT;
    case MDB_READERS_FULL:
    case MDB_TLS_FULL:
    case MDB_TXN_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case MDB_DBS_FULL:
    case MDB_MAP_RESIZED:
        return BH_EBUSY;
    case MDB_BAD_RSLOT:
    case MDB_BAD_TXN:
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
        return BH_EINVAL;
    default:
        return rc > 0 ? rc : BH_EIO;
    }
}

const char *bh_store_errmsg(const bh_store *s)
{
    return s ? s->err : "no store";
}

MDB_env *bh_store_env(bh_store *s)
{
    return s->env;
}

size_t bh_store_map_size(bh_store *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->map_size;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int bh_store_open(bh_store **out, const char *dir, const bh_store_opts *o, char *why,
                  size_t why_cap)
{
    char scratch[8];
    if (!why || !why_cap) {
        why = scratch;
        why_cap = sizeof scratch;
    }
    why[0] = 0;
    if (out) *out = NULL;
    if (!out || !dir || !o) return BH_EINVAL;
    bh_store *s = calloc(1, sizeof *s);
    if (!s) return BH_ENOMEM;
    if (pthread_rwlock_init(&s->resize, NULL)) {
        free(s);
        return BH_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->map_size = o->map_size ? o->map_size : STORE_DEFAULT_MAP;
    s->map_max = o->map_max ? o->map_max : STORE_DEFAULT_MAP_MAX;
    if (s->map_max < s->map_size) s->map_max = s->map_size;
    s->read_only = o->read_only;
    int rc = mdb_env_create(&s->env);
    if (!rc) rc = mdb_env_set_maxdbs(s->env, o->max_dbs);
    if (!rc) rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (!rc) {
        unsigned flags =
            MDB_NOTLS | (o->read_only ? MDB_RDONLY : 0) | (o->no_sync ? MDB_NOSYNC : 0);
        rc = mdb_env_open(s->env, dir, flags, 0600);
    }
    if (rc) {
        snprintf(why, why_cap, "cannot open LMDB environment %s: %s", dir, mdb_strerror(rc));
        bh_store_close(s);
        return rc == ENOENT ? BH_ENOTFOUND : rc == EACCES ? BH_EPERM : bh_store_status(rc);
    }
    /* free reader slots left by processes that died (kill -9) */
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    if (info.me_mapsize > s->map_size) s->map_size = info.me_mapsize;
    if (s->map_max < s->map_size) s->map_max = s->map_size;
    *out = s;
    return BH_OK;
}

void bh_store_close(bh_store *s)
{
    if (!s) return;
    if (s->env) mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Set the map size (0: adopt the size another process gave the file) with
 * no transaction of this process open. */
static int resize(bh_store *s, size_t size)
{
    if (t_open) {
        set_err(s, "%s: the map must be resized while this thread holds another transaction",
                s->dir);
        return BH_EMAPFULL;
    }
    pthread_rwlock_wrlock(&s->resize);
    int rc = mdb_env_set_mapsize(s->env, size);
    if (!rc) {
        MDB_envinfo info;
        mdb_env_info(s->env, &info);
        pthread_mutex_lock(&s->mu);
        s->map_size = info.me_mapsize;
        if (s->map_max < s->map_size) s->map_max = s->map_size;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_rwlock_unlock(&s->resize);
    if (rc)
        set_err(s, "%s: cannot resize the map to %zu bytes: %s", s->dir, size, mdb_strerror(rc));
    return rc ? bh_store_status(rc) : BH_OK;
}

int bh_store_begin(bh_store *s, unsigned flags, MDB_txn **txn)
{
    *txn = NULL;
    for (int tries = 0;; tries++) {
        pthread_rwlock_rdlock(&s->resize);
        int rc = mdb_txn_begin(s->env, NULL, flags, txn);
        if (!rc) {
            t_open++;
            return BH_OK;
        }
        pthread_rwlock_unlock(&s->resize);
        *txn = NULL;
        if (rc == MDB_MAP_RESIZED && tries < 3) {
            /* another process grew the map: adopt its size and retry */
            int grc = resize(s, 0);
            if (grc) return grc;
            continue;
        }
        set_err(s, "%s: cannot begin a transaction: %s", s->dir, mdb_strerror(rc));
        return bh_store_status(rc);
    }
}

int bh_store_commit(bh_store *s, MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);
    t_open--;
    pthread_rwlock_unlock(&s->resize);
    if (rc && rc != MDB_MAP_FULL) set_err(s, "%s: cannot commit: %s", s->dir, mdb_strerror(rc));
    return bh_store_status(rc);
}

void bh_store_abort(bh_store *s, MDB_txn *txn)
{
    if (!txn) return;
    mdb_txn_abort(txn);
    t_open--;
    pthread_rwlock_unlock(&s->resize);
}

int bh_store_write(bh_store *s, bh_store_txn_fn fn, void *ctx)
{
    if (s->read_only) {
        set_err(s, "%s is open read-only", s->dir);
        return BH_ESTATE;
    }
    for (;;) {
        MDB_txn *txn;
        int rc = bh_store_begin(s, 0, &txn);
        if (rc) return rc;
        rc = fn(ctx, txn);
        if (rc)
            bh_store_abort(s, txn);
        else
            rc = bh_store_commit(s, txn);
        if (rc != BH_EMAPFULL) return rc;
        /* nothing was committed: grow the map and run the whole txn again */
        pthread_mutex_lock(&s->mu);
        size_t cur = s->map_size, max = s->map_max;
        pthread_mutex_unlock(&s->mu);
        if (cur >= max) {
            set_err(s,
                    "%s: LMDB map is full at %zu bytes and may not grow past %zu; "
                    "nothing of this transaction was applied",
                    s->dir, cur, max);
            return BH_EMAPFULL;
        }
        size_t next = cur > max / 2 ? max : cur * 2;
        if ((rc = resize(s, next)) != BH_OK) return BH_EMAPFULL;
    }
}

int bh_store_write_dry(bh_store *s, bh_store_txn_fn fn, void *ctx)
{
    if (s->read_only) {
        set_err(s, "%s is open read-only", s->dir);
        return BH_ESTATE;
    }
    MDB_txn *txn;
    int rc = bh_store_begin(s, 0, &txn);
    if (rc) return rc;
    rc = fn(ctx, txn);
    bh_store_abort(s, txn);
    if (rc == BH_EMAPFULL)
        set_err(s, "%s: the LMDB map is too small for this transaction (a real run grows it)",
                s->dir);
    return rc;
}

/* ---- schema record ---- */

#define SCHEMA_REC_VERSION 1

int bh_store_schema_get(MDB_txn *txn, MDB_dbi dbi, bh_store_kind kind, uint32_t *schema,
                        int *legacy)
{
    *schema = 0;
    if (legacy) *legacy = 0;
    MDB_val k = {sizeof BH_STORE_SCHEMA_KEY - 1, (void *)BH_STORE_SCHEMA_KEY}, d;
    int rc = mdb_get(txn, dbi, &k, &d);
    if (rc) return bh_store_status(rc);
    const unsigned char *p = d.mv_data;
    if (kind == BH_STORE_KIND_VAULT && d.mv_size == 4) {
        /* the vaults' first form: a native u32, written on x86-64 */
        *schema =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (legacy) *legacy = 1;
        return BH_OK;
    }
    if (d.mv_size != BH_STORE_SCHEMA_LEN || p[0] != SCHEMA_REC_VERSION ||
        memcmp(p + 1, "BHSC", 4) || p[5] != (unsigned char)kind)
        return BH_ECORRUPT;
    *schema = bh_be_get_u32(p + 6);
    return BH_OK;
}

int bh_store_schema_put(MDB_txn *txn, MDB_dbi dbi, bh_store_kind kind, uint32_t schema)
{
    unsigned char b[BH_STORE_SCHEMA_LEN];
    b[0] = SCHEMA_REC_VERSION;
    memcpy(b + 1, "BHSC", 4);
    b[5] = (unsigned char)kind;
    bh_be_put_u32(b + 6, schema);
    MDB_val k = {sizeof BH_STORE_SCHEMA_KEY - 1, (void *)BH_STORE_SCHEMA_KEY}, d = {sizeof b, b};
    return bh_store_status(mdb_put(txn, dbi, &k, &d, 0));
}

/* ---- transfer message ---- */

void bh_store_msg_put(unsigned char *o, const bh_transfer_msg *m)
{
    bh_be_put_u16(o, m->emitter_chain);
    memcpy(o + 2, m->emitter.data, 32);
    bh_be_put_u64(o + 34, m->sequence);
    bh_be_put_u32(o + 42, m->timestamp);
    memcpy(o + 46, m->digest.data, 32);
    memcpy(o + 78, m->transfer.amount.be, 32);
    memcpy(o + 110, m->transfer.token.data, 32);
    bh_be_put_u16(o + 142, m->transfer.token_chain);
    memcpy(o + 144, m->transfer.to.data, 32);
    bh_be_put_u16(o + 176, m->transfer.to_chain);
    memcpy(o + 178, m->transfer.fee.be, 32);
    bh_be_put_u128(o + 210, m->amount);
    bh_be_put_u128(o + 226, m->fee);
    bh_be_put_u32(o + 242, m->nonce);
    o[246] = m->consistency;
}

void bh_store_msg_get(bh_transfer_msg *m, const unsigned char *p)
{
    memset(m, 0, sizeof *m);
    m->emitter_chain = bh_be_get_u16(p);
    memcpy(m->emitter.data, p + 2, 32);
    m->sequence = bh_be_get_u64(p + 34);
    m->timestamp = bh_be_get_u32(p + 42);
    memcpy(m->digest.data, p + 46, 32);
    memcpy(m->transfer.amount.be, p + 78, 32);
    memcpy(m->transfer.token.data, p + 110, 32);
    m->transfer.token_chain = bh_be_get_u16(p + 142);
    memcpy(m->transfer.to.data, p + 144, 32);
    m->transfer.to_chain = bh_be_get_u16(p + 176);
    memcpy(m->transfer.fee.be, p + 178, 32);
    m->amount = bh_be_get_u128(p + 210);
    m->fee = bh_be_get_u128(p + 226);
    m->nonce = bh_be_get_u32(p + 242);
    m->consistency = p[246];
}
