/* Schema 1 -> 2: every record of a vault re-encoded from the struct copy
 * earlier builds wrote to its explicit form, in ONE write transaction (a
 * crash leaves the schema 1 vault as it was), then journaled. A record that
 * does not read as schema 1 stops the migration and nothing changes. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vault_internal.h"
#include "vault_records.h"

#define MAX_REC (V1_PARKED_LEN > VREC_LANE_LEN ? V1_PARKED_LEN : VREC_LANE_LEN)

typedef struct {
    bh_vault *v;
    size_t records; /* re-encoded */
} mig;

/* Re-encode one value; key is the record's key. Returns: BH_OK with out and
 * *out_len set; BH_ECORRUPT. */
typedef int (*conv_fn)(mig *m, const MDB_val *key, const MDB_val *in, unsigned char *out,
                       size_t *out_len);

static int conv_asset(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    bh_vault_asset a;
    if (k->mv_size != 32 || v1_asset_get(&a, d->mv_data, d->mv_size)) return BH_ECORRUPT;
    vrec_asset_put(o, &a);
    *n = VREC_ASSET_LEN;
    return BH_OK;
}

static int conv_lane(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    bh_vault_lane l;
    if (k->mv_size != 34 || v1_lane_get(&l, d->mv_data, d->mv_size)) return BH_ECORRUPT;
    vrec_lane_put(o, &l);
    *n = VREC_LANE_LEN;
    return BH_OK;
}

static int conv_chain(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    vault_chain_rec r;
    if (k->mv_size != 2 || v1_chain_get(&r, d->mv_data, d->mv_size)) return BH_ECORRUPT;
    vrec_chain_put(o, &r);
    *n = VREC_CHAIN_LEN;
    return BH_OK;
}

static int conv_quarantine(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    bh_vault_quarantine q;
    if (k->mv_size != 2 || v1_quarantine_get(&q, d->mv_data, d->mv_size)) return BH_ECORRUPT;
    *n = vrec_quarantine_put(o, &q);
    return BH_OK;
}

static int conv_pending(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    vault_pending_rec p;
    if (k->mv_size != 8 || v1_pending_get(&p, d->mv_data, d->mv_size)) return BH_ECORRUPT;
    vrec_pending_put(o, &p);
    *n = VREC_PENDING_LEN;
    return BH_OK;
}

static int conv_outbox(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    bh_transfer_msg msg;
    if (k->mv_size != 8 || v1_outbox_get(&msg, d->mv_data, d->mv_size)) return BH_ECORRUPT;
    vrec_outbox_put(o, &msg);
    *n = VREC_OUTBOX_LEN;
    return BH_OK;
}

static int conv_parked(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    vault_parked_rec r;
    if (k->mv_size != 8 || v1_parked_get(&r, d->mv_data, d->mv_size)) return BH_ECORRUPT;
    *n = vrec_parked_put(o, &r);
    return BH_OK;
}

static int conv_journal(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    vault_jrec j;
    const char *actor, *reason;
    if (k->mv_size != 8 || v1_journal_get(&j, &actor, &reason, d->mv_data, d->mv_size))
        return BH_ECORRUPT;
    *n = vrec_journal_put(o, &j, actor, reason);
    return BH_OK;
}

/* processed: key and 32-byte digest are plain bytes in both schemas. */
static int conv_processed(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    (void)m;
    if (k->mv_size != 42 || d->mv_size != 32) return BH_ECORRUPT;
    memcpy(o, d->mv_data, 32);
    *n = 32;
    return BH_OK;
}

static int key_is(const MDB_val *k, const char *s)
{
    return k->mv_size == strlen(s) && !memcmp(k->mv_data, s, k->mv_size);
}

static int key_starts(const MDB_val *k, const char *s)
{
    size_t n = strlen(s);
    return k->mv_size > n && !memcmp(k->mv_data, s, n);
}

/* u(8 * width) little-endian -> big-endian */
static int conv_le(const MDB_val *d, size_t width, unsigned char *o, size_t *n)
{
    if (d->mv_size != width) return BH_ECORRUPT;
    bh_u128 x = v1_le(d->mv_data, width);
    for (size_t i = 0; i < width; i++)
        o[width - 1 - i] = (unsigned char)(x >> (8 * i));
    *n = width;
    return BH_OK;
}

static int conv_meta(mig *m, const MDB_val *k, const MDB_val *d, unsigned char *o, size_t *n)
{
    if (key_is(k, "chain_id")) return conv_le(d, 2, o, n);
    if (key_is(k, "created") || key_is(k, "oix") || key_starts(k, "src.") || key_starts(k, "wq."))
        return conv_le(d, 8, o, n);
    if (key_starts(k, "min.")) return conv_le(d, 16, o, n);
    if (key_is(k, "name")) {
        if (d->mv_size != V1_NAME_LEN) return BH_ECORRUPT;
        char nm[BH_VAULT_NAME_MAX + 1];
        memcpy(nm, d->mv_data, BH_VAULT_NAME_MAX);
        nm[BH_VAULT_NAME_MAX] = 0;
        if (!bh_vault_name_is_valid(nm)) return BH_ECORRUPT;
        *n = strlen(nm);
        memcpy(o, nm, *n);
        return BH_OK;
    }
    if (key_is(k, "seq")) {
        if (v1_seq_get(&m->v->seq, d->mv_data, d->mv_size)) return BH_ECORRUPT;
        vrec_seq_put(o, &m->v->seq);
        *n = VREC_SEQ_LEN;
        return BH_OK;
    }
    if (key_is(k, "rejects")) {
        uint64_t rj[BH_REJECT_COUNT_] = {0};
        if (d->mv_size % 8 || d->mv_size > sizeof rj) return BH_ECORRUPT;
        for (size_t i = 0; i < d->mv_size / 8; i++)
            rj[i] = (uint64_t)v1_le((const unsigned char *)d->mv_data + 8 * i, 8);
        *n = vrec_rejects_put(o, rj);
        return BH_OK;
    }
    return BH_ECORRUPT; /* a key no schema 1 build wrote: refuse rather than guess */
}

/* Rewrite every record of a table in place. */
static int convert(mig *m, MDB_txn *txn, MDB_dbi dbi, const char *table, conv_fn fn)
{
    MDB_cursor *cur;
    int rc = bh_store_status(mdb_cursor_open(txn, dbi, &cur));
    if (rc) return rc;
    MDB_val k, d;
    int mrc;
    unsigned char out[MAX_REC];
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (dbi == m->v->db_meta && key_is(&k, BH_STORE_SCHEMA_KEY)) continue;
        size_t n = 0;
        if (fn(m, &k, &d, out, &n)) {
            rc = vault_corrupt(m->v, table, &k);
            vault_set_err(m->v, "%s: table %s holds a record (%zu bytes) that is not schema 1",
                          m->v->path, table, d.mv_size);
            break;
        }
        /* k points into the page the put rewrites: give LMDB a copy */
        unsigned char kc[512];
        if (k.mv_size > sizeof kc) {
            rc = vault_corrupt(m->v, table, &k);
            break;
        }
        memcpy(kc, k.mv_data, k.mv_size);
        MDB_val kv = {k.mv_size, kc}, nd = {n, out};
        if ((rc = bh_store_status(mdb_cursor_put(cur, &kv, &nd, MDB_CURRENT)))) break;
        m->records++;
    }
    mdb_cursor_close(cur);
    if (!rc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
    return rc;
}

/* outbox_to: made again from the outbox (a build without it may have
 * appended; 84f6008's vaults have none). */
static int reindex(bh_vault *v, MDB_txn *txn)
{
    int rc = bh_store_status(mdb_drop(txn, v->db_outbox_to, 0));
    MDB_cursor *cur;
    if (rc || (rc = bh_store_status(mdb_cursor_open(txn, v->db_outbox, &cur)))) return rc;
    MDB_val k, d;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        bh_transfer_msg m;
        if (vrec_outbox_get(&m, d.mv_data, d.mv_size)) {
            rc = vault_corrupt(v, "outbox", &k);
            break;
        }
        unsigned char ib[10];
        bh_be_put_u16(ib, m.transfer.to_chain);
        memcpy(ib + 2, k.mv_data, 8);
        MDB_val ik = {sizeof ib, ib}, none = {0, NULL};
        if ((rc = bh_store_status(mdb_put(txn, v->db_outbox_to, &ik, &none, 0)))) break;
    }
    mdb_cursor_close(cur);
    if (!rc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
    return rc;
}

static int migrate_fn(void *vctx, MDB_txn *txn)
{
    mig *m = vctx;
    bh_vault *v = m->v;
    m->records = 0;
    memset(&v->seq, 0, sizeof v->seq);
    for (int i = 0; i < VAULT_N_DBS; i++) {
        int mrc = mdb_dbi_open(txn, vault_db_names[i], MDB_CREATE, vault_db_slot(v, i));
        if (mrc) return bh_store_status(mrc);
    }
    v->has_parked = v->has_outbox_to = 1;
    uint32_t schema;
    int legacy, rc = bh_store_schema_get(txn, v->db_meta, BH_STORE_KIND_VAULT, &schema, &legacy);
    if (rc) return rc;
    if (!legacy && schema == BH_VAULT_SCHEMA) return BH_OK; /* another process did it */
    if (!legacy || schema != 1) return BH_ESCHEMA;
    static const struct {
        int slot;
        conv_fn fn;
    } tables[] = {{0, conv_meta},    {1, conv_asset},  {2, conv_lane},    {3, conv_processed},
                  {4, conv_pending}, {5, conv_outbox}, {6, conv_journal}, {7, conv_quarantine},
                  {8, conv_chain},   {9, conv_parked}};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        int s = tables[i].slot;
        if ((rc = convert(m, txn, *vault_db_slot(v, s), vault_db_names[s], tables[i].fn)))
            return rc;
    }
    if (v->seq.next_journal == 0) {
        vault_set_err(v, "%s: no counters (meta seq): not a vault this migration can read",
                      v->path);
        return BH_ECORRUPT;
    }
    if ((rc = reindex(v, txn))) return rc;
    /* the seq record was re-encoded above; journal with it, then store it */
    char why[BH_VAULT_REASON_MAX + 1];
    snprintf(why, sizeof why,
             "schema 1 -> %u: %zu records re-encoded from struct copies to explicit big-endian "
             "records",
             BH_VAULT_SCHEMA, m->records);
    vault_jrec j = {.time = (uint64_t)time(NULL), .kind = BH_VJ_MIGRATE, .chain = 0};
    uint64_t jid;
    if ((rc = vault_journal_put(v, txn, &j, "migrate", why, &jid))) return rc;
    unsigned char b[VREC_SEQ_LEN], ob[8];
    vrec_seq_put(b, &v->seq);
    MDB_val sk = {3, "seq"}, sd = {sizeof b, b};
    if ((rc = bh_store_status(mdb_put(txn, v->db_meta, &sk, &sd, 0)))) return rc;
    bh_be_put_u64(ob, v->seq.next_outbox);
    MDB_val ok = {3, "oix"}, od = {sizeof ob, ob};
    if ((rc = bh_store_status(mdb_put(txn, v->db_meta, &ok, &od, 0)))) return rc;
    return bh_store_schema_put(txn, v->db_meta, BH_STORE_KIND_VAULT, BH_VAULT_SCHEMA);
}

int vault_migrate_v1(bh_vault *v)
{
    mig m = {v, 0};
    return bh_store_write(v->st, migrate_fn, &m);
}
