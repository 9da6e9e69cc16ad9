#include "node_store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bh_be.h"

struct node_store {
    MDB_env *env;
    MDB_dbi cursors, inbox, meta;
};

#define NODE_MAP_SIZE ((size_t)1 << 30) /* sparse; grows only as it fills */
#define INBOX_KEY 12                    /* vault u16 | source u16 | sequence u64, big-endian */

static int mdb_status(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return BH_OK;
    case MDB_NOTFOUND:
        return BH_ENOTFOUND;
    case MDB_MAP_FULL:
        return BH_EMAPFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return BH_ECORRUPT;
    default:
        return rc > 0 ? rc : BH_EIO;
    }
}

static void inbox_key(unsigned char k[INBOX_KEY], uint16_t vault, uint16_t source, uint64_t seq)
{
    bh_be_put_u16(k, vault);
    bh_be_put_u16(k + 2, source);
    bh_be_put_u64(k + 4, seq);
}

int node_store_open(node_store **out, const char *data_dir, char *why, size_t why_cap)
{
    *out = NULL;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/node", data_dir);
    if (mkdir(data_dir, 0700) && errno != EEXIST) {
        snprintf(why, why_cap, "cannot create %s: %s", data_dir, strerror(errno));
        return errno;
    }
    if (mkdir(dir, 0700) && errno != EEXIST) {
        snprintf(why, why_cap, "cannot create %s: %s", dir, strerror(errno));
        return errno;
    }
    node_store *s = calloc(1, sizeof *s);
    if (!s) return BH_ENOMEM;
    int rc = mdb_env_create(&s->env);
    if (!rc) rc = mdb_env_set_maxdbs(s->env, 4);
    if (!rc) rc = mdb_env_set_mapsize(s->env, NODE_MAP_SIZE);
    if (!rc) rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
    MDB_txn *txn = NULL;
    if (!rc) rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (!rc) rc = mdb_dbi_open(txn, "cursors", MDB_CREATE, &s->cursors);
    if (!rc) rc = mdb_dbi_open(txn, "inbox", MDB_CREATE, &s->inbox);
    if (!rc) rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta);
    if (!rc) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn) mdb_txn_abort(txn);
    if (rc) {
        snprintf(why, why_cap, "node store %s: %s", dir, mdb_strerror(rc));
        if (s->env) mdb_env_close(s->env);
        free(s);
        return mdb_status(rc);
    }
    *out = s;
    return BH_OK;
}

void node_store_close(node_store *s)
{
    if (!s) return;
    mdb_env_close(s->env);
    free(s);
}

int node_store_cursor_get(node_store *s, uint16_t chain, node_cursor *out)
{
    memset(out, 0, sizeof *out);
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return mdb_status(rc);
    unsigned char kb[2];
    bh_be_put_u16(kb, chain);
    MDB_val k = {2, kb}, d;
    rc = mdb_get(txn, s->cursors, &k, &d);
    if (!rc) {
        if (d.mv_size == sizeof *out)
            memcpy(out, d.mv_data, sizeof *out);
        else
            rc = MDB_CORRUPTED;
    }
    mdb_txn_abort(txn);
    return mdb_status(rc);
}

int node_store_commit(node_store *s, uint16_t chain, const node_cursor *cur,
                      const node_inbox_rec *recs, const uint16_t *vaults, size_t n)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return mdb_status(rc);
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char kb[INBOX_KEY];
        inbox_key(kb, vaults[i], chain, recs[i].msg.sequence);
        MDB_val k = {INBOX_KEY, kb}, d = {sizeof recs[i], (void *)&recs[i]};
        rc = mdb_put(txn, s->inbox, &k, &d, 0);
    }
    if (!rc) {
        unsigned char kb[2];
        bh_be_put_u16(kb, chain);
        MDB_val k = {2, kb}, d = {sizeof *cur, (void *)cur};
        rc = mdb_put(txn, s->cursors, &k, &d, 0);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return mdb_status(rc);
    }
    return mdb_status(mdb_txn_commit(txn));
}

int node_store_inbox_read(node_store *s, uint16_t vault, uint16_t source, uint64_t from,
                          node_inbox_rec *out, size_t cap, size_t *n)
{
    *n = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return mdb_status(rc);
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, s->inbox, &c);
    if (!rc) {
        unsigned char kb[INBOX_KEY];
        inbox_key(kb, vault, source, from);
        MDB_val k = {INBOX_KEY, kb}, d;
        int op = MDB_SET_RANGE;
        while (*n < cap && (rc = mdb_cursor_get(c, &k, &d, op)) == 0) {
            op = MDB_NEXT;
            if (k.mv_size != INBOX_KEY || memcmp(k.mv_data, kb, 4) != 0) break;
            if (d.mv_size != sizeof *out) {
                rc = MDB_CORRUPTED;
                break;
            }
            memcpy(&out[*n], d.mv_data, sizeof *out);
            (*n)++;
        }
        if (rc == MDB_NOTFOUND) rc = 0;
        if (*n == cap) rc = 0;
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    return mdb_status(rc);
}

int node_store_inbox_trim(node_store *s, uint16_t vault, uint16_t source, uint64_t below,
                          size_t *removed)
{
    if (removed) *removed = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return mdb_status(rc);
    MDB_cursor *c;
    size_t count = 0;
    rc = mdb_cursor_open(txn, s->inbox, &c);
    if (!rc) {
        unsigned char kb[INBOX_KEY];
        inbox_key(kb, vault, source, 0);
        MDB_val k = {INBOX_KEY, kb}, d;
        int op = MDB_SET_RANGE;
        while ((rc = mdb_cursor_get(c, &k, &d, op)) == 0) {
            op = MDB_NEXT;
            if (k.mv_size != INBOX_KEY || memcmp(k.mv_data, kb, 4) != 0) break;
            if (bh_be_get_u64((const unsigned char *)k.mv_data + 4) >= below) break;
            if ((rc = mdb_cursor_del(c, 0))) break;
            count++;
        }
        if (rc == MDB_NOTFOUND) rc = 0;
        mdb_cursor_close(c);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return mdb_status(rc);
    }
    rc = mdb_txn_commit(txn);
    if (!rc && removed) *removed = count;
    return mdb_status(rc);
}

int node_store_inbox_count(node_store *s, uint16_t source, uint64_t *n)
{
    *n = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return mdb_status(rc);
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
    mdb_txn_abort(txn);
    return mdb_status(rc);
}

int node_store_meta_get(node_store *s, const char *key, void *val, size_t len)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return mdb_status(rc);
    MDB_val k = {strlen(key), (void *)key}, d;
    rc = mdb_get(txn, s->meta, &k, &d);
    if (!rc) {
        if (d.mv_size == len)
            memcpy(val, d.mv_data, len);
        else
            rc = MDB_CORRUPTED;
    }
    mdb_txn_abort(txn);
    return mdb_status(rc);
}

int node_store_meta_read(node_store *s, const char *key, void *buf, size_t cap, size_t *len)
{
    *len = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return mdb_status(rc);
    MDB_val k = {strlen(key), (void *)key}, d;
    rc = mdb_get(txn, s->meta, &k, &d);
    if (!rc) {
        if (d.mv_size <= cap) {
            memcpy(buf, d.mv_data, d.mv_size);
            *len = d.mv_size;
        } else {
            rc = MDB_CORRUPTED;
        }
    }
    mdb_txn_abort(txn);
    return mdb_status(rc);
}

static int meta_write(node_store *s, const char *key, const void *val, size_t len, int del)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return mdb_status(rc);
    MDB_val k = {strlen(key), (void *)key}, d = {len, (void *)val};
    rc = del ? mdb_del(txn, s->meta, &k, NULL) : mdb_put(txn, s->meta, &k, &d, 0);
    if (rc) {
        mdb_txn_abort(txn);
        return mdb_status(rc);
    }
    return mdb_status(mdb_txn_commit(txn));
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
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return mdb_status(rc);
    MDB_cursor *c;
    int stop = 0;
    rc = mdb_cursor_open(txn, s->meta, &c);
    if (!rc) {
        size_t plen = strlen(prefix);
        MDB_val k = {plen, (void *)prefix}, d;
        int op = MDB_SET_RANGE;
        while (!stop && (rc = mdb_cursor_get(c, &k, &d, op)) == 0) {
            op = MDB_NEXT;
            if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0) break;
            char key[128];
            if (k.mv_size >= sizeof key) continue;
            memcpy(key, k.mv_data, k.mv_size);
            key[k.mv_size] = 0;
            stop = cb(ctx, key, d.mv_data, d.mv_size);
        }
        if (rc == MDB_NOTFOUND) rc = 0;
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    return rc ? mdb_status(rc) : stop;
}
