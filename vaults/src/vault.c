/* Vault store: environment, records, and the batch write path. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bh_amount.h"
#include "bh_hex.h"
#include "vault_internal.h"
#include "vault_records.h"

_Static_assert(sizeof(bh_vault_asset) % 16 == 0, "asset record layout");
_Static_assert(sizeof(bh_vault_lane) % 16 == 0, "lane record layout");

#define PKEY_LEN 42 /* u16 emitter_chain | emitter[32] | u64 sequence */
#define OKEY_LEN 10 /* outbox_to index: u16 to_chain | u64 outbox id */

static const char *const k_cause_names[] = {"none",     "bucket",     "window",  "big",
                                            "capacity", "quarantine", "retimed", "value",
                                            "price",    "value_big"};
static const char *const k_status_names[] = {"accepted", "delayed", "held", "rejected"};

const char *bh_vault_cause_name(bh_vault_cause c)
{
    if ((unsigned)c >= sizeof k_cause_names / sizeof k_cause_names[0]) return "invalid";
    return k_cause_names[c];
}

const char *bh_vault_status_name(bh_vault_status s)
{
    if ((unsigned)s >= sizeof k_status_names / sizeof k_status_names[0]) return "invalid";
    return k_status_names[s];
}

static void set_err(bh_vault *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(bh_vault *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->err, sizeof v->err, fmt, ap);
    va_end(ap);
}

void vault_set_err(bh_vault *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->err, sizeof v->err, fmt, ap);
    va_end(ap);
}

int vault_corrupt(bh_vault *v, const char *table, const MDB_val *key)
{
    char kh[2 * 40 + 1] = "";
    if (key && key->mv_size) bh_hex_encode(kh, key->mv_data, key->mv_size < 40 ? key->mv_size : 40);
    set_err(v,
            "vault %s: a record of table %s (key %s) does not decode as schema %u: damaged, "
            "or written by another build",
            v->name[0] ? v->name : v->path, table, kh, BH_VAULT_SCHEMA);
    return BH_ECORRUPT;
}

const char *bh_vault_errmsg(const bh_vault *v)
{
    return v ? v->err : "no vault";
}

uint16_t bh_vault_chain_id(const bh_vault *v)
{
    return v->chain_id;
}

const char *bh_vault_name(const bh_vault *v)
{
    return v->name;
}

int bh_vault_name_is_valid(const char *name)
{
    if (!name) return 0;
    size_t n = strlen(name);
    if (n == 0 || n > BH_VAULT_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return 0;
    }
    return 1;
}

int vault_txn_begin(bh_vault *v, unsigned flags, MDB_txn **txn)
{
    int rc = bh_store_begin(v->st, flags, txn);
    if (rc) set_err(v, "vault %s: %s", v->name, bh_store_errmsg(v->st));
    return rc;
}

int vault_txn_commit(bh_vault *v, MDB_txn *txn)
{
    return bh_store_commit(v->st, txn);
}

void vault_txn_abort(bh_vault *v, MDB_txn *txn)
{
    bh_store_abort(v->st, txn);
}

/* ---- open / create ---- */

static int vault_dir(char *out, size_t cap, const char *data_dir, const char *name)
{
    int n = snprintf(out, cap, "%s/vaults/%s", data_dir, name);
    return (n < 0 || (size_t)n >= cap) ? BH_EINVAL : BH_OK;
}

/* The first N_DBS tables every vault has had; parked and outbox_to came
 * later and exist in every schema 2 vault. */
#define N_DBS 9
const char *const vault_db_names[VAULT_N_DBS] = {"meta",    "assets", "lanes",    "processed",
                                                 "pending", "outbox", "journal",  "quarantine",
                                                 "chains",  "parked", "outbox_to"};

MDB_dbi *vault_db_slot(bh_vault *v, int i)
{
    MDB_dbi *slots[VAULT_N_DBS] = {&v->db_meta,      &v->db_assets,     &v->db_lanes,
                                   &v->db_processed, &v->db_pending,    &v->db_outbox,
                                   &v->db_journal,   &v->db_quarantine, &v->db_chains,
                                   &v->db_parked,    &v->db_outbox_to};
    return slots[i];
}

static int outbox_index_sync(bh_vault *v, MDB_txn *txn);

/* Open every table in txn (made when create). A read-only handle of a vault
 * without the newer tables reads them as empty (has_* 0). */
static int open_tables(bh_vault *v, MDB_txn *txn, int create)
{
    int *has[VAULT_N_DBS] = {[9] = &v->has_parked, [10] = &v->has_outbox_to};
    for (int i = 0; i < VAULT_N_DBS; i++) {
        int opt = i >= N_DBS;
        unsigned fl = create || (opt && !v->read_only && !v->dry_run) ? MDB_CREATE : 0;
        int mrc = mdb_dbi_open(txn, vault_db_names[i], fl, vault_db_slot(v, i));
        if (mrc == MDB_NOTFOUND && opt) continue;
        if (mrc == MDB_NOTFOUND) {
            set_err(v, "%s is not a bulkhead vault (no '%s' table)", v->path, vault_db_names[i]);
            return BH_ENOTFOUND;
        }
        if (mrc) {
            set_err(v, "cannot open table %s in %s: %s", vault_db_names[i], v->path,
                    mdb_strerror(mrc));
            return bh_store_status(mrc);
        }
        if (has[i]) *has[i] = 1;
    }
    return BH_OK;
}

static int env_open(bh_vault *v)
{
    char why[512];
    int rc = bh_store_open(&v->st, v->path, &v->sopts, why, sizeof why);
    if (rc) set_err(v, "cannot open vault at %s: %s", v->path, why);
    return rc;
}

/* ---- meta records ---- */

static int meta_raw(MDB_txn *txn, MDB_dbi dbi, const char *key, MDB_val *d)
{
    MDB_val k = {strlen(key), (void *)key};
    return bh_store_status(mdb_get(txn, dbi, &k, d));
}

static int meta_put(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *val, size_t len)
{
    MDB_val k = {strlen(key), (void *)key}, d = {len, (void *)val};
    return bh_store_status(mdb_put(txn, dbi, &k, &d, 0));
}

static int meta_u64_get(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *x)
{
    MDB_val d;
    *x = 0;
    int rc = meta_raw(txn, dbi, key, &d);
    return rc ? rc : vrec_u64_get(x, d.mv_data, d.mv_size);
}

static int meta_u64_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t x)
{
    unsigned char b[8];
    bh_be_put_u64(b, x);
    return meta_put(txn, dbi, key, b, sizeof b);
}

static int meta_u128_get(MDB_txn *txn, MDB_dbi dbi, const char *key, bh_u128 *x)
{
    MDB_val d;
    *x = 0;
    int rc = meta_raw(txn, dbi, key, &d);
    return rc ? rc : vrec_u128_get(x, d.mv_data, d.mv_size);
}

int vault_seq_get(MDB_txn *txn, MDB_dbi dbi, vault_seq *s)
{
    MDB_val d;
    memset(s, 0, sizeof *s);
    int rc = meta_raw(txn, dbi, "seq", &d);
    return rc ? rc : vrec_seq_get(s, d.mv_data, d.mv_size);
}

static int seq_put(MDB_txn *txn, MDB_dbi dbi, const vault_seq *s)
{
    unsigned char b[VREC_SEQ_LEN];
    vrec_seq_put(b, s);
    return meta_put(txn, dbi, "seq", b, sizeof b);
}

static bh_vault *vault_alloc(const bh_vault_opts *opts)
{
    bh_vault *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->read_only = opts ? opts->read_only : 0;
    v->dry_run = opts ? opts->dry_run : 0;
    v->sopts = (bh_store_opts){.map_size = opts ? opts->map_size : 0,
                               .map_max = opts ? opts->map_max : 0,
                               .max_dbs = VAULT_N_DBS + 2,
                               .read_only = v->read_only,
                               .no_sync = opts ? opts->no_sync : 0};
    return v;
}

typedef struct {
    const char *name, *actor, *reason;
    uint16_t chain_id;
    uint64_t now;
} init_ctx;

static int init_fn(void *vctx, MDB_txn *txn)
{
    bh_vault *v = ((void **)vctx)[0];
    const init_ctx *c = ((void **)vctx)[1];
    int rc = open_tables(v, txn, 1);
    if (rc) return rc;
    unsigned char id[2], created[8];
    bh_be_put_u16(id, c->chain_id);
    bh_be_put_u64(created, c->now);
    v->seq = (vault_seq){.next_journal = 1, .next_pending = 1, .next_outbox = 1};
    rc = bh_store_schema_put(txn, v->db_meta, BH_STORE_KIND_VAULT, BH_VAULT_SCHEMA);
    if (!rc) rc = meta_put(txn, v->db_meta, "chain_id", id, sizeof id);
    if (!rc) rc = meta_put(txn, v->db_meta, "name", c->name, strlen(c->name));
    if (!rc) rc = meta_put(txn, v->db_meta, "created", created, sizeof created);
    vault_jrec j = {.time = c->now, .kind = BH_VJ_INIT, .chain = c->chain_id};
    uint64_t jid;
    if (!rc)
        rc = vault_journal_put(v, txn, &j, c->actor, c->reason ? c->reason : "vault created", &jid);
    if (!rc) rc = seq_put(txn, v->db_meta, &v->seq);
    if (!rc) rc = meta_u64_put(txn, v->db_meta, "oix", v->seq.next_outbox);
    return rc;
}

int bh_vault_init_dir(const char *data_dir, const char *name, uint16_t chain_id, uint64_t now,
                      const char *actor, const char *reason)
{
    if (!data_dir || !bh_vault_name_is_valid(name) || chain_id == 0) return BH_EINVAL;
    char dir[PATH_MAX], sub[PATH_MAX];
    if (vault_dir(dir, sizeof dir, data_dir, name)) return BH_EINVAL;
    if (snprintf(sub, sizeof sub, "%s/vaults", data_dir) >= (int)sizeof sub) return BH_EINVAL;
    struct stat st;
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) return BH_ENOTFOUND;
    if (mkdir(sub, 0700) != 0 && errno != EEXIST) return errno;
    if (mkdir(dir, 0700) != 0) return errno == EEXIST ? BH_EEXIST : errno;

    bh_vault *v = vault_alloc(NULL);
    if (!v) return BH_ENOMEM;
    snprintf(v->path, sizeof v->path, "%s", dir);
    snprintf(v->name, sizeof v->name, "%s", name);
    int rc = env_open(v);
    init_ctx c = {name, actor, reason, chain_id, now};
    void *ctx[2] = {v, &c};
    if (!rc) rc = bh_store_write(v->st, init_fn, ctx);
    bh_vault_close(v);
    if (rc) {
        /* leave no half-made vault behind */
        char f[PATH_MAX + 16];
        snprintf(f, sizeof f, "%s/data.mdb", dir);
        unlink(f);
        snprintf(f, sizeof f, "%s/lock.mdb", dir);
        unlink(f);
        rmdir(dir);
    }
    return rc;
}

/* Tables open, the index current: the last step of a read-write open. A
 * dry run's open only opens them (it writes nothing; each of its writes
 * brings the index up to date in its own discarded transaction). */
static int open_rw_fn(void *vctx, MDB_txn *txn)
{
    bh_vault *v = vctx;
    int rc = open_tables(v, txn, 0);
    if (v->dry_run) return rc;
    if (!rc && (rc = outbox_index_sync(v, txn)) != 0)
        set_err(v, "cannot index the outbox of %s: %s", v->path, bh_strerror(rc));
    return rc;
}

/* Which schema the vault has; a schema 1 vault is migrated by a read-write
 * open and refused by a read-only one. */
static int check_schema(bh_vault *v, char *why, size_t why_cap)
{
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) {
        snprintf(why, why_cap, "%s", v->err);
        return rc;
    }
    MDB_dbi meta;
    uint32_t schema = 0;
    int legacy = 0;
    int mrc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (mrc == 0) rc = bh_store_schema_get(txn, meta, BH_STORE_KIND_VAULT, &schema, &legacy);
    vault_txn_abort(v, txn);
    if (mrc == MDB_NOTFOUND || (!mrc && rc == BH_ENOTFOUND)) {
        snprintf(why, why_cap, "%s is not a bulkhead vault (no schema version)", v->path);
        return BH_ENOTFOUND;
    }
    if (mrc || rc) {
        snprintf(why, why_cap, "%s: unreadable schema version", v->path);
        return BH_ESCHEMA;
    }
    if (legacy && schema == 1) {
        if (v->dry_run) {
            snprintf(why, why_cap,
                     "%s has vault schema 1; a dry run converts nothing: `vaultctl migrate` "
                     "converts it (`vaultctl migrate --dry-run` says so)",
                     v->path);
            return BH_ESCHEMA;
        }
        if (v->read_only) {
            snprintf(why, why_cap,
                     "%s has vault schema 1 (records copied from C structs); this build reads "
                     "schema %u: run the node once or `vaultctl migrate` to convert it "
                     "(a read-only open changes nothing)",
                     v->path, BH_VAULT_SCHEMA);
            return BH_ESCHEMA;
        }
        rc = vault_migrate_v1(v);
        if (rc)
            snprintf(why, why_cap, "%s: migration to schema %u failed, nothing changed: %s",
                     v->path, BH_VAULT_SCHEMA, v->err[0] ? v->err : bh_strerror(rc));
        return rc;
    }
    if (legacy || schema != BH_VAULT_SCHEMA) {
        snprintf(why, why_cap,
                 "%s has vault schema %u but this build understands only schema %u; "
                 "refusing to open it (the files are left untouched)",
                 v->path, schema, BH_VAULT_SCHEMA);
        return BH_ESCHEMA;
    }
    return BH_OK;
}

int bh_vault_open(bh_vault **out, const char *data_dir, const char *name, const bh_vault_opts *opts,
                  char *why, size_t why_cap)
{
    char scratch[8];
    if (!why || why_cap == 0) {
        why = scratch;
        why_cap = sizeof scratch;
    }
    why[0] = 0;
    if (out) *out = NULL;
    if (!out || !data_dir || !name) return BH_EINVAL;
    if (!bh_vault_name_is_valid(name)) {
        snprintf(why, why_cap, "'%s' is not a valid vault name ([a-z0-9_-]{1,32})", name);
        return BH_EINVAL;
    }
    struct stat st;
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, why_cap, "data directory %s does not exist", data_dir);
        return BH_ENOTFOUND;
    }
    bh_vault *v = vault_alloc(opts);
    if (!v) return BH_ENOMEM;
    int rc = vault_dir(v->path, sizeof v->path, data_dir, name);
    char f[PATH_MAX + 16];
    snprintf(f, sizeof f, "%s/data.mdb", v->path);
    if (!rc && stat(f, &st) != 0) {
        snprintf(why, why_cap, "no vault named '%s' in %s (no %s)", name, data_dir, f);
        rc = BH_ENOTFOUND;
    }
    if (!rc && (rc = env_open(v)) != 0) snprintf(why, why_cap, "%s", v->err);
    if (!rc) rc = check_schema(v, why, why_cap);
    if (!rc && !v->read_only && (rc = bh_store_write(v->st, open_rw_fn, v)) != 0)
        snprintf(why, why_cap, "%s", v->err[0] ? v->err : bh_store_errmsg(v->st));
    MDB_txn *txn = NULL;
    if (!rc) rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (!rc) {
        MDB_val d;
        if (v->read_only && (rc = open_tables(v, txn, 0)) != 0) {
            snprintf(why, why_cap, "%s", v->err);
        } else if (meta_raw(txn, v->db_meta, "chain_id", &d) ||
                   vrec_u16_get(&v->chain_id, d.mv_data, d.mv_size) ||
                   meta_raw(txn, v->db_meta, "name", &d) ||
                   vrec_name_get(v->name, d.mv_data, d.mv_size)) {
            snprintf(why, why_cap, "%s: vault metadata is damaged", v->path);
            rc = BH_ECORRUPT;
        }
        /* committed, not aborted: table handles opened here stay valid */
        int crc = vault_txn_commit(v, txn);
        if (!rc) rc = crc;
    }
    if (rc) {
        bh_vault_close(v);
        return rc;
    }
    *out = v;
    return BH_OK;
}

void bh_vault_close(bh_vault *v)
{
    if (!v) return;
    bh_store_close(v->st);
    for (size_t i = 0; i < v->madeca; i++)
        free(v->ca[i]);
    for (size_t i = 0; i < v->madecl; i++)
        free(v->cl[i]);
    for (size_t i = 0; i < v->madecc; i++)
        free(v->cc[i]);
    free(v->ca);
    free(v->cl);
    free(v->cc);
    free(v);
}

/* ---- journal ---- */

int vault_journal_put(bh_vault *v, MDB_txn *txn, vault_jrec *j, const char *actor,
                      const char *reason, uint64_t *id_out)
{
    unsigned char buf[VREC_JOURNAL_MAX];
    size_t al = actor ? strlen(actor) : 0, rl = reason ? strlen(reason) : 0;
    if (al > BH_VAULT_ACTOR_MAX) al = BH_VAULT_ACTOR_MAX;
    if (rl > BH_VAULT_REASON_MAX) rl = BH_VAULT_REASON_MAX;
    j->actor_len = (uint8_t)al;
    j->reason_len = (uint8_t)rl;
    size_t len = vrec_journal_put(buf, j, actor, reason);
    unsigned char kb[8];
    uint64_t id = v->seq.next_journal++;
    bh_be_put_u64(kb, id);
    MDB_val k = {8, kb}, d = {len, buf};
    int rc = mdb_put(txn, v->db_journal, &k, &d, MDB_APPEND);
    if (rc) return bh_store_status(rc);
    *id_out = id;
    return BH_OK;
}

#define journal_put vault_journal_put

int vault_jrec_decode(bh_vault_journal_entry *out, uint64_t id, const MDB_val *val)
{
    return vrec_journal_get(out, id, val->mv_data, val->mv_size);
}

static void jrec_from_msg(vault_jrec *j, const bh_transfer_msg *m, uint64_t now)
{
    memset(j, 0, sizeof *j);
    j->time = now;
    j->emitter_chain = m->emitter_chain;
    j->emitter = m->emitter;
    j->sequence = m->sequence;
    j->digest = m->digest;
    j->token = m->transfer.token;
    j->amount = m->amount;
}

/* ---- ledger ---- */

bh_reject vault_effect(bh_vault_asset *a, bh_vault_lane *dec, bh_vault_lane *inc, unsigned effects,
                       bh_u128 amount, int check_cap)
{
    bh_u128 locked = a->locked, total = a->outstanding_total, dnew = 0, inew = 0;
    if (effects & BH_VJ_LOCK_ADD)
        if (bh_u128_add(&locked, locked, amount)) return BH_REJECT_AMOUNT_OUT_OF_RANGE;
    if (effects & BH_VJ_LANE_DEC) {
        if (bh_u128_sub(&dnew, dec->outstanding, amount)) return BH_REJECT_EXCEEDS_OUTSTANDING;
        if (bh_u128_sub(&total, total, amount)) return BH_REJECT_EXCEEDS_OUTSTANDING;
    }
    if (effects & BH_VJ_LANE_INC) {
        bh_u128 base = (effects & BH_VJ_LANE_DEC) && dec == inc ? dnew : inc->outstanding;
        if (bh_u128_add(&inew, base, amount)) return BH_REJECT_AMOUNT_OUT_OF_RANGE;
        if (check_cap && inc->cap && inew > inc->cap) return BH_REJECT_EXCEEDS_EXPOSURE_CAP;
        if (bh_u128_add(&total, total, amount)) return BH_REJECT_AMOUNT_OUT_OF_RANGE;
    }
    if (effects & BH_VJ_LOCK_SUB)
        if (bh_u128_sub(&locked, locked, amount)) return BH_REJECT_EXCEEDS_LOCKED;
    if (total > locked) return BH_REJECT_EXCEEDS_LOCKED;
    a->locked = locked;
    a->outstanding_total = total;
    if (effects & BH_VJ_LANE_DEC) dec->outstanding = dnew;
    if (effects & BH_VJ_LANE_INC) inc->outstanding = inew;
    return BH_REJECT_OK;
}

/* Effects of a message on vault S, per the table in bh_vault.h. */
static unsigned msg_effects(const bh_vault *v, const bh_transfer_msg *m, uint16_t *dec,
                            uint16_t *inc)
{
    uint16_t src = m->emitter_chain, dst = m->transfer.to_chain;
    *dec = *inc = 0;
    if (src == v->chain_id) {
        *inc = dst;
        return BH_VJ_LOCK_ADD | BH_VJ_LANE_INC;
    }
    *dec = src;
    if (dst == v->chain_id) return BH_VJ_LANE_DEC | BH_VJ_LOCK_SUB;
    *inc = dst;
    return BH_VJ_LANE_DEC | BH_VJ_LANE_INC;
}

/* ---- batch cache ---- */

static void cache_reset(bh_vault *v)
{
    v->nca = v->ncl = v->ncc = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elt)
{
    if (need <= *cap) return BH_OK;
    size_t nc = *cap ? *cap * 2 : 16;
    void *np = realloc(*p, nc * elt);
    if (!np) return BH_ENOMEM;
    *p = np;
    *cap = nc;
    return BH_OK;
}

/* Slot n of a write cache, zeroed. Entries are allocated one by one and
 * kept for the handle's life: a write holds pointers to several at once,
 * and they must not move when the cache grows. */
static int cache_slot(void ***slots, size_t *cap, size_t *made, size_t n, size_t elt, void **out)
{
    if (n == *made) {
        int rc = grow((void **)slots, cap, n + 1, sizeof **slots);
        if (rc) return rc;
        void *e = malloc(elt);
        if (!e) return BH_ENOMEM;
        (*slots)[(*made)++] = e;
    }
    *out = (*slots)[n];
    memset(*out, 0, elt);
    return BH_OK;
}

static int cache_asset(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, vault_casset **out)
{
    for (size_t i = 0; i < v->nca; i++)
        if (!memcmp(&v->ca[i]->token, token, 32)) {
            *out = v->ca[i];
            return BH_OK;
        }
    vault_casset *c;
    int rc = cache_slot((void ***)&v->ca, &v->capca, &v->madeca, v->nca, sizeof *c, (void **)&c);
    if (rc) return rc;
    c->token = *token;
    MDB_val k = {32, (void *)token->data}, d;
    rc = mdb_get(txn, v->db_assets, &k, &d);
    if (rc == 0) {
        if (vrec_asset_get(&c->a, d.mv_data, d.mv_size)) return vault_corrupt(v, "assets", &k);
        c->found = 1;
    } else if (rc != MDB_NOTFOUND) {
        return bh_store_status(rc);
    }
    if (c->found) {
        char mk[VAULT_MIN_KEY_LEN + 1];
        vault_min_key(mk, token);
        rc = meta_u128_get(txn, v->db_meta, mk, &c->min_amount);
        if (rc == BH_ECORRUPT) return vault_corrupt(v, "meta", &(MDB_val){strlen(mk), mk});
        if (rc && rc != BH_ENOTFOUND) return rc;
    }
    v->nca++;
    *out = c;
    return BH_OK;
}

static void lane_key(unsigned char kb[34], const bh_bytes32 *token, uint16_t chain)
{
    memcpy(kb, token->data, 32);
    bh_be_put_u16(kb + 32, chain);
}

void vault_min_key(char out[VAULT_MIN_KEY_LEN + 1], const bh_bytes32 *token)
{
    memcpy(out, "min.", 4);
    bh_hex_encode(out + 4, token->data, 32);
    out[VAULT_MIN_KEY_LEN] = 0;
}

/* meta key of a lane's window queue count: "wq." + 64 hex + "." + chain. */
static void wq_key(char out[80], const bh_bytes32 *token, uint16_t chain)
{
    memcpy(out, "wq.", 3);
    bh_hex_encode(out + 3, token->data, 32);
    snprintf(out + 67, 80 - 67, ".%u", (unsigned)chain);
}

/* Change how many pending transfers of this (source) lane wait for its
 * window; loaded on first use in a transaction, written by cache_flush. */
static int lane_wq_add(bh_vault *v, MDB_txn *txn, vault_clane *cl, int delta)
{
    if (!cl->wq_loaded) {
        char key[80];
        wq_key(key, &cl->token, cl->chain);
        int rc = meta_u64_get(txn, v->db_meta, key, &cl->wq);
        if (rc == BH_ECORRUPT) return vault_corrupt(v, "meta", &(MDB_val){strlen(key), key});
        if (rc && rc != BH_ENOTFOUND) return rc;
        if (rc) cl->wq = 0;
        cl->wq_loaded = 1;
    }
    if (delta > 0)
        cl->wq++;
    else if (delta < 0 && cl->wq > 0)
        cl->wq--;
    if (delta) cl->wq_dirty = 1;
    return BH_OK;
}

static int cache_lane(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, uint16_t chain,
                      vault_clane **out)
{
    for (size_t i = 0; i < v->ncl; i++)
        if (v->cl[i]->chain == chain && !memcmp(&v->cl[i]->token, token, 32)) {
            *out = v->cl[i];
            return BH_OK;
        }
    vault_clane *c;
    int rc = cache_slot((void ***)&v->cl, &v->capcl, &v->madecl, v->ncl, sizeof *c, (void **)&c);
    if (rc) return rc;
    c->token = *token;
    c->chain = chain;
    unsigned char kb[34];
    lane_key(kb, token, chain);
    MDB_val k = {34, kb}, d;
    rc = mdb_get(txn, v->db_lanes, &k, &d);
    if (rc == 0) {
        if (vrec_lane_get(&c->l, d.mv_data, d.mv_size)) return vault_corrupt(v, "lanes", &k);
    } else if (rc != MDB_NOTFOUND) {
        return bh_store_status(rc);
    }
    v->ncl++;
    *out = c;
    return BH_OK;
}

static int cache_chain(bh_vault *v, MDB_txn *txn, uint16_t chain, vault_cchain **out)
{
    for (size_t i = 0; i < v->ncc; i++)
        if (v->cc[i]->chain == chain) {
            *out = v->cc[i];
            return BH_OK;
        }
    vault_cchain *c;
    int rc = cache_slot((void ***)&v->cc, &v->capcc, &v->madecc, v->ncc, sizeof *c, (void **)&c);
    if (rc) return rc;
    c->chain = chain;
    unsigned char kb[2];
    bh_be_put_u16(kb, chain);
    MDB_val k = {2, kb}, d;
    rc = mdb_get(txn, v->db_chains, &k, &d);
    if (rc == 0) {
        if (vrec_chain_get(&c->r, d.mv_data, d.mv_size)) return vault_corrupt(v, "chains", &k);
    } else if (rc != MDB_NOTFOUND) {
        return bh_store_status(rc);
    }
    rc = mdb_get(txn, v->db_quarantine, &k, &d);
    if (rc == 0)
        c->frozen = 1;
    else if (rc != MDB_NOTFOUND)
        return bh_store_status(rc);
    v->ncc++;
    *out = c;
    return BH_OK;
}

static int cache_flush(bh_vault *v, MDB_txn *txn)
{
    int rc = 0;
    for (size_t i = 0; i < v->nca && !rc; i++) {
        if (!v->ca[i]->dirty) continue;
        unsigned char ab[VREC_ASSET_LEN];
        vrec_asset_put(ab, &v->ca[i]->a);
        MDB_val k = {32, v->ca[i]->token.data}, d = {sizeof ab, ab};
        rc = mdb_put(txn, v->db_assets, &k, &d, 0);
        if (rc || !v->ca[i]->min_dirty) continue;
        char mk[VAULT_MIN_KEY_LEN + 1];
        vault_min_key(mk, &v->ca[i]->token);
        unsigned char mb[16];
        bh_be_put_u128(mb, v->ca[i]->min_amount);
        MDB_val mkv = {VAULT_MIN_KEY_LEN, mk}, mv = {sizeof mb, mb};
        if (v->ca[i]->min_amount)
            rc = mdb_put(txn, v->db_meta, &mkv, &mv, 0);
        else if ((rc = mdb_del(txn, v->db_meta, &mkv, NULL)) == MDB_NOTFOUND)
            rc = 0;
    }
    for (size_t i = 0; i < v->ncl && !rc; i++) {
        if (!v->cl[i]->dirty) continue;
        unsigned char kb[34];
        lane_key(kb, &v->cl[i]->token, v->cl[i]->chain);
        unsigned char lb[VREC_LANE_LEN];
        vrec_lane_put(lb, &v->cl[i]->l);
        MDB_val k = {34, kb}, d = {VREC_LANE_LEN, lb};
        rc = mdb_put(txn, v->db_lanes, &k, &d, 0);
    }
    for (size_t i = 0; i < v->ncl && !rc; i++) {
        if (!v->cl[i]->wq_dirty) continue;
        char key[80];
        wq_key(key, &v->cl[i]->token, v->cl[i]->chain);
        unsigned char wb[8];
        bh_be_put_u64(wb, v->cl[i]->wq);
        MDB_val k = {strlen(key), key}, d = {sizeof wb, wb};
        if (v->cl[i]->wq)
            rc = mdb_put(txn, v->db_meta, &k, &d, 0);
        else if ((rc = mdb_del(txn, v->db_meta, &k, NULL)) == MDB_NOTFOUND)
            rc = 0;
    }
    for (size_t i = 0; i < v->ncc && !rc; i++) {
        if (!v->cc[i]->dirty) continue;
        unsigned char kb[2];
        bh_be_put_u16(kb, v->cc[i]->chain);
        unsigned char cb[VREC_CHAIN_LEN];
        vrec_chain_put(cb, &v->cc[i]->r);
        MDB_val k = {2, kb}, d = {sizeof cb, cb};
        rc = mdb_put(txn, v->db_chains, &k, &d, 0);
    }
    return bh_store_status(rc);
}

/* ---- write transactions with map growth ---- */

typedef int (*write_fn)(bh_vault *v, MDB_txn *txn, void *ctx);

static int load_counters(bh_vault *v, MDB_txn *txn)
{
    MDB_val d;
    int rc = vault_seq_get(txn, v->db_meta, &v->seq);
    if (rc == BH_ECORRUPT) return vault_corrupt(v, "meta", &(MDB_val){3, "seq"});
    if (rc) return rc;
    rc = meta_raw(txn, v->db_meta, "rejects", &d);
    if (rc == BH_ENOTFOUND) {
        memset(v->rejects, 0, sizeof v->rejects);
        return BH_OK;
    }
    if (!rc && vrec_rejects_get(v->rejects, d.mv_data, d.mv_size))
        return vault_corrupt(v, "meta", &(MDB_val){7, "rejects"});
    return rc;
}

static int store_counters(bh_vault *v, MDB_txn *txn)
{
    unsigned char rb[VREC_REJECTS_MAX];
    int rc = seq_put(txn, v->db_meta, &v->seq);
    if (!rc) rc = meta_put(txn, v->db_meta, "rejects", rb, vrec_rejects_put(rb, v->rejects));
    /* the index covers every outbox entry this build wrote */
    if (!rc && v->has_outbox_to && v->oix != v->seq.next_outbox)
        rc = meta_u64_put(txn, v->db_meta, "oix", v->seq.next_outbox);
    return rc;
}

typedef struct {
    bh_vault *v;
    write_fn fn;
    void *ctx;
} write_ctx;

/* One attempt of a write transaction; bh_store_write reruns it whole when
 * the map had to grow. */
static int write_body(void *vctx, MDB_txn *txn)
{
    write_ctx *w = vctx;
    bh_vault *v = w->v;
    cache_reset(v);
    int rc = load_counters(v, txn);
    if (!rc) rc = outbox_index_sync(v, txn);
    if (!rc) rc = w->fn(v, txn, w->ctx);
    if (!rc) rc = cache_flush(v, txn);
    if (!rc) rc = store_counters(v, txn);
    return rc;
}

static int run_write(bh_vault *v, write_fn fn, void *ctx)
{
    if (v->read_only) {
        set_err(v, "vault %s is open read-only", v->name);
        return BH_ESTATE;
    }
    write_ctx w = {v, fn, ctx};
    int rc = v->dry_run ? bh_store_write_dry(v->st, write_body, &w)
                        : bh_store_write(v->st, write_body, &w);
    if (rc == BH_EMAPFULL) set_err(v, "vault %s: %s", v->name, bh_store_errmsg(v->st));
    return rc;
}

int vault_run_write(bh_vault *v, write_fn fn, void *ctx)
{
    return run_write(v, fn, ctx);
}

/* ---- rate limits ---- */

static void bucket_refill(bh_vault_bucket *b, uint64_t now)
{
    if (!b->capacity) return;
    if (now <= b->last) return;
    bh_u128 r;
    if (bh_u128_mul(&r, b->refill, (bh_u128)(now - b->last))) r = BH_U128_MAX;
    b->last = now;
    if (b->debt >= r) {
        b->debt -= r;
        return;
    }
    r -= b->debt;
    b->debt = 0;
    bh_u128 lv;
    if (bh_u128_add(&lv, b->level, r) || lv > b->capacity) lv = b->capacity;
    b->level = lv;
}

/* 1 if the amount can never pass this bucket on its own. */
static int bucket_too_big(const bh_vault_bucket *b, bh_u128 amount)
{
    if (!b->capacity) return 0;
    if (amount > b->capacity) return 1;
    return b->refill == 0 && amount > b->level;
}

/* Take amount (borrowing ahead of refill); returns when it is paid for. */
static uint64_t bucket_take(bh_vault_bucket *b, bh_u128 amount, uint64_t now)
{
    if (!b->capacity) return now;
    if (b->level >= amount) {
        b->level -= amount;
        return now;
    }
    bh_u128 need = amount - b->level, debt;
    b->level = 0;
    if (bh_u128_add(&debt, b->debt, need)) debt = BH_U128_MAX;
    b->debt = debt;
    bh_u128 secs = debt / b->refill + (debt % b->refill ? 1 : 0);
    if (secs > (bh_u128)(UINT64_MAX - now)) return UINT64_MAX;
    return now + (uint64_t)secs;
}

/* Sum of the window at hour h, and when `amount` more would fit. */
static uint64_t window_ready(const bh_vault_lane *l, bh_u128 amount, uint64_t now)
{
    if (!l->window_limit) return now;
    uint64_t h = now / 3600;
    bh_u128 sum = 0;
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        if (l->window_hour[i] + BH_VAULT_WINDOW_SLOTS > h) sum += l->window_sum[i];
    if (sum + amount <= l->window_limit && sum + amount >= sum) return now;
    /* let the oldest slots expire until it fits */
    for (uint64_t age = BH_VAULT_WINDOW_SLOTS - 1;; age--) {
        for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
            if (l->window_hour[i] + age == h && l->window_hour[i] + BH_VAULT_WINDOW_SLOTS > h)
                sum -= l->window_sum[i];
        if (sum + amount <= l->window_limit) return (h - age + BH_VAULT_WINDOW_SLOTS) * 3600;
        if (age == 0) break;
    }
    return (h + BH_VAULT_WINDOW_SLOTS) * 3600;
}

static void window_add(bh_vault_lane *l, bh_u128 amount, uint64_t now)
{
    if (!l->window_limit) return;
    uint64_t h = now / 3600;
    unsigned s = (unsigned)(h % BH_VAULT_WINDOW_SLOTS);
    if (l->window_hour[s] != h) {
        l->window_hour[s] = h;
        l->window_sum[s] = 0;
    }
    if (bh_u128_add(&l->window_sum[s], l->window_sum[s], amount)) l->window_sum[s] = BH_U128_MAX;
}

static int is_big(const bh_vault_asset *a, bh_u128 amount)
{
    return a->big_threshold && amount >= a->big_threshold;
}

static uint32_t chain_count(const vault_chain_rec *r, uint64_t now)
{
    uint64_t h = now / 3600;
    uint32_t n = 0;
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        if (r->hour[i] + BH_VAULT_WINDOW_SLOTS > h && r->hour[i] <= h) n += r->count[i];
    return n;
}

static void chain_count_add(vault_chain_rec *r, uint64_t now)
{
    uint64_t h = now / 3600;
    unsigned s = (unsigned)(h % BH_VAULT_WINDOW_SLOTS);
    if (r->hour[s] != h) {
        r->hour[s] = h;
        r->count[s] = 0;
    }
    if (r->count[s] < UINT32_MAX) r->count[s]++;
}

/* ---- value limits ---- */

/* Room for m in its value windows now, behind the queues in ahead
 * (VAULT_P_VQ_* bits: an older transfer waits for that window): *t when its
 * value fits (UINT64_MAX: never, as the windows are now), *q the queues it
 * waits in: 0 when it goes, and 0 when it can never fit, so that one
 * larger than a window holds nobody back. */
static int value_room(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, const vault_vcheck *vc,
                      uint64_t now, uint32_t ahead, uint64_t *t, uint32_t *q)
{
    uint32_t full;
    int rc = vault_value_room(v, txn, m, vc, now, t, &full);
    uint32_t on = (vc->lim_src ? VAULT_P_VQ_SRC : 0) | (vc->lim_lane ? VAULT_P_VQ_LANE : 0);
    *q = rc || *t == UINT64_MAX ? 0 : (full | ahead) & on;
    return rc;
}

/* What the value limits say of a transfer the token limits let go now,
 * behind the queues in ahead (value_room): cause NONE (count it, it goes),
 * or why it waits and until *at, in the queues *q. past_delay: a big one
 * that has waited its delay, not asked the threshold again. */
static int value_gate(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, const bh_vault_asset *a,
                      const vault_vcheck *vc, uint64_t now, int past_delay, uint32_t ahead,
                      bh_vault_cause *cause, uint64_t *at, uint32_t *q)
{
    *cause = BH_VAULT_CAUSE_NONE;
    *at = now;
    *q = 0;
    if (!vc->active) return BH_OK;
    if (!vc->priced) {
        /* fail closed: re-checked at every release_due */
        *cause = BH_VAULT_CAUSE_PRICE;
        return BH_OK;
    }
    if (!past_delay && vc->threshold && vc->value >= vc->threshold) {
        *cause = BH_VAULT_CAUSE_VALUE_BIG;
        *at = now + (a->big_delay ? a->big_delay : BH_VAULT_DEFAULT_BIG_DELAY);
        return BH_OK;
    }
    uint64_t t;
    int rc = value_room(v, txn, m, vc, now, ahead, &t, q);
    if (rc) return rc;
    if (t == UINT64_MAX && vc->tightened) {
        /* more than a tightened window: it waits for the relax, re-checked */
        *cause = BH_VAULT_CAUSE_VALUE;
        *at = now;
    } else if (t == UINT64_MAX) {
        *cause = BH_VAULT_CAUSE_CAPACITY; /* worth more than a whole window */
        *at = 0;
    } else if (t > now || *q) {
        *cause = BH_VAULT_CAUSE_VALUE;
        *at = t;
    }
    return BH_OK;
}

/* 1 if p waits for the value limits (re-checked at every release_due). */
static int waits_value(const vault_pending_rec *p)
{
    return (p->applied & VAULT_P_VALUE) &&
           (p->cause == BH_VAULT_CAUSE_VALUE || p->cause == BH_VAULT_CAUSE_PRICE);
}

/* Put a pending transfer of m (its flags *applied) in the value queues q
 * and out of the others: the counts follow its VAULT_P_VQ_* bits, which
 * are set only with cause value. The caller writes the record.
 * Out: changed (may be NULL)  1 if its queues changed. */
static int vq_set(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, uint32_t *applied,
                  uint32_t q, int *changed)
{
    uint32_t was = *applied & VAULT_P_VQ, diff = was ^ (q & VAULT_P_VQ);
    uint16_t src = m->emitter_chain, dst = m->transfer.to_chain;
    int rc = BH_OK;
    if (changed) *changed = diff != 0;
    if (diff & VAULT_P_VQ_SRC) rc = vault_vq_add(v, txn, src, 0, q & VAULT_P_VQ_SRC ? 1 : -1);
    if (!rc && (diff & VAULT_P_VQ_LANE))
        rc = vault_vq_add(v, txn, src, dst, q & VAULT_P_VQ_LANE ? 1 : -1);
    *applied = (*applied & ~VAULT_P_VQ) | (q & VAULT_P_VQ);
    return rc;
}

static int vq_leave(bh_vault *v, MDB_txn *txn, vault_pending_rec *p)
{
    return vq_set(v, txn, &p->msg, &p->applied, 0, NULL);
}

/* The value queues a new transfer of m finds someone waiting in. */
static int vq_ahead(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, const vault_vcheck *vc,
                    uint32_t *ahead)
{
    uint64_t ns = 0, nl = 0;
    int rc = BH_OK;
    if (vc->active && vc->priced && vc->lim_src)
        rc = vault_vq_get(v, txn, m->emitter_chain, 0, &ns);
    if (!rc && vc->active && vc->priced && vc->lim_lane)
        rc = vault_vq_get(v, txn, m->emitter_chain, m->transfer.to_chain, &nl);
    *ahead = (ns ? VAULT_P_VQ_SRC : 0) | (nl ? VAULT_P_VQ_LANE : 0);
    return rc;
}

/* ---- apply ---- */

typedef struct {
    bh_vault_result *res;
    const bh_transfer_msg *msgs;
    const bh_reject *verdicts;
    size_t n;
    uint64_t now;
} apply_ctx;

/* Per source chain: one past the highest sequence any message of a batch
 * carried, kept with the batch so a consumer resumes exactly after it. */
static void source_key(char out[16], uint16_t chain)
{
    snprintf(out, 16, "src.%u", (unsigned)chain);
}

static int source_note(bh_vault *v, MDB_txn *txn, uint16_t chain, uint64_t sequence)
{
    char key[16];
    source_key(key, chain);
    uint64_t next = 0;
    int rc = meta_u64_get(txn, v->db_meta, key, &next);
    if (rc == BH_ECORRUPT) return vault_corrupt(v, "meta", &(MDB_val){strlen(key), key});
    if (rc && rc != BH_ENOTFOUND) return rc;
    if (sequence == UINT64_MAX || sequence + 1 <= next) return BH_OK;
    return meta_u64_put(txn, v->db_meta, key, sequence + 1);
}

static void pkey(unsigned char kb[PKEY_LEN], const bh_transfer_msg *m)
{
    bh_be_put_u16(kb, m->emitter_chain);
    memcpy(kb + 2, m->emitter.data, 32);
    bh_be_put_u64(kb + 34, m->sequence);
}

static int pending_put(bh_vault *v, MDB_txn *txn, uint64_t id, const vault_pending_rec *p)
{
    unsigned char kb[8];
    bh_be_put_u64(kb, id);
    unsigned char pb[VREC_PENDING_LEN];
    vrec_pending_put(pb, p);
    MDB_val k = {8, kb}, d = {sizeof pb, pb};
    return bh_store_status(mdb_put(txn, v->db_pending, &k, &d, 0));
}

static void okey(unsigned char kb[OKEY_LEN], uint16_t to_chain, uint64_t id)
{
    bh_be_put_u16(kb, to_chain);
    bh_be_put_u64(kb + 2, id);
}

/* Queue m for delivery to chain `to` (its own destination, or home for a
 * hop notice). */
static int outbox_put_to(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, uint16_t to,
                         uint64_t *id)
{
    unsigned char kb[8], ib[OKEY_LEN];
    *id = v->seq.next_outbox++;
    bh_be_put_u64(kb, *id);
    unsigned char ob[VREC_OUTBOX_DEST_LEN];
    MDB_val k = {8, kb}, d = {vrec_outbox_put_to(ob, m, to), ob};
    int rc = mdb_put(txn, v->db_outbox, &k, &d, MDB_APPEND);
    if (rc || !v->has_outbox_to) return bh_store_status(rc);
    okey(ib, to, *id);
    MDB_val ik = {OKEY_LEN, ib}, id0 = {0, NULL};
    return bh_store_status(mdb_put(txn, v->db_outbox_to, &ik, &id0, 0));
}

/* Queue an accepted message: to its destination and, for a hop (neither
 * end is home), a notice to the home chain, whose Portal then moves its own
 * outstanding from the source to the destination, so a later return of the
 * hopped supply is unlocked on chain too. *id: the destination entry. */
static int outbox_put(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, uint64_t *id)
{
    int rc = outbox_put_to(v, txn, m, m->transfer.to_chain, id);
    if (rc || m->emitter_chain == v->chain_id || m->transfer.to_chain == v->chain_id) return rc;
    uint64_t nid;
    return outbox_put_to(v, txn, m, v->chain_id, &nid);
}

/* Remove outbox entry id (and its index key); its message in *m, its
 * destination in *to (may be NULL). */
static int outbox_take(bh_vault *v, MDB_txn *txn, uint64_t id, bh_transfer_msg *m, uint16_t *to)
{
    unsigned char kb[8], ib[OKEY_LEN];
    bh_be_put_u64(kb, id);
    MDB_val k = {8, kb}, d;
    int rc = mdb_get(txn, v->db_outbox, &k, &d);
    if (rc == MDB_NOTFOUND) {
        set_err(v, "vault %s has no outbox entry %llu", v->name, (unsigned long long)id);
        return BH_ENOTFOUND;
    }
    if (rc) return bh_store_status(rc);
    uint16_t dest;
    if (vrec_outbox_get_to(m, &dest, d.mv_data, d.mv_size)) return vault_corrupt(v, "outbox", &k);
    if (to) *to = dest;
    if (v->has_outbox_to) {
        okey(ib, dest, id);
        MDB_val ik = {OKEY_LEN, ib};
        rc = mdb_del(txn, v->db_outbox_to, &ik, NULL);
        if (rc && rc != MDB_NOTFOUND) return bh_store_status(rc);
    }
    return bh_store_status(mdb_del(txn, v->db_outbox, &k, NULL));
}

/* The outbox_to index is current when its mark ("oix") equals next_outbox:
 * a build without the index adds outbox entries without moving the mark,
 * so after one wrote here the index is rebuilt from the outbox. Entries it
 * acknowledged leave index keys without an entry; readers skip those. */
static int outbox_index_sync(bh_vault *v, MDB_txn *txn)
{
    if (!v->has_outbox_to) return BH_OK;
    vault_seq seq;
    uint64_t mark = 0;
    int rc = vault_seq_get(txn, v->db_meta, &seq);
    if (rc == BH_ENOTFOUND) return BH_OK; /* a vault being created */
    if (rc) return rc;
    rc = meta_u64_get(txn, v->db_meta, "oix", &mark);
    if (rc && rc != BH_ENOTFOUND) return rc;
    v->oix = seq.next_outbox;
    if (!rc && mark == seq.next_outbox) return BH_OK;
    if ((rc = bh_store_status(mdb_drop(txn, v->db_outbox_to, 0)))) return rc;
    MDB_cursor *cur;
    if ((rc = bh_store_status(mdb_cursor_open(txn, v->db_outbox, &cur)))) return rc;
    MDB_val k, d;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        bh_transfer_msg m;
        uint16_t to;
        if (k.mv_size != 8 || vrec_outbox_get_to(&m, &to, d.mv_data, d.mv_size)) {
            rc = vault_corrupt(v, "outbox", &k);
            break;
        }
        unsigned char ib[OKEY_LEN];
        okey(ib, to, bh_be_get_u64(k.mv_data));
        MDB_val ik = {OKEY_LEN, ib}, id0 = {0, NULL};
        if ((rc = bh_store_status(mdb_put(txn, v->db_outbox_to, &ik, &id0, 0)))) break;
    }
    mdb_cursor_close(cur);
    if (!rc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
    if (!rc) rc = meta_u64_put(txn, v->db_meta, "oix", seq.next_outbox);
    return rc;
}

static int reject_msg(bh_vault *v, MDB_txn *txn, bh_vault_result *r, const bh_transfer_msg *m,
                      bh_reject why, uint64_t now)
{
    vault_jrec j;
    jrec_from_msg(&j, m, now);
    j.kind = BH_VJ_REJECT;
    j.reject = why;
    r->status = BH_VAULT_REJECTED;
    r->reason = why;
    if ((unsigned)why < BH_REJECT_COUNT_) v->rejects[why]++;
    return journal_put(v, txn, &j, NULL, bh_reject_name(why), &r->journal_id);
}

static int apply_one(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, bh_vault_result *r,
                     uint64_t now)
{
    memset(r, 0, sizeof *r);
    /* replay: one lookup that also claims the key for this message */
    unsigned char kb[PKEY_LEN];
    pkey(kb, m);
    MDB_val k = {PKEY_LEN, kb}, d = {32, (void *)m->digest.data};
    int rc = mdb_put(txn, v->db_processed, &k, &d, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        int same = d.mv_size == 32 && !memcmp(d.mv_data, m->digest.data, 32);
        return reject_msg(v, txn, r, m, same ? BH_REJECT_REPLAYED : BH_REJECT_EQUIVOCATION, now);
    }
    if (rc) return bh_store_status(rc);

    bh_reject why = BH_REJECT_OK;
    uint16_t src = m->emitter_chain, dst = m->transfer.to_chain;
    vault_casset *ca = NULL;
    if (m->transfer.token_chain != v->chain_id)
        why = BH_REJECT_UNKNOWN_CHAIN;
    else if (m->amount == 0)
        why = BH_REJECT_AMOUNT_OUT_OF_RANGE;
    else if (m->fee > m->amount)
        why = BH_REJECT_FEE_EXCEEDS_AMOUNT;
    else if (src == 0 || dst == 0)
        why = BH_REJECT_UNKNOWN_CHAIN;
    else if (src == dst)
        why = BH_REJECT_SAME_CHAIN;
    if (!why) {
        if ((rc = cache_asset(v, txn, &m->transfer.token, &ca))) return rc;
        if (!ca->found)
            why = BH_REJECT_UNKNOWN_ASSET;
        else if (m->amount < ca->min_amount)
            why = BH_REJECT_BELOW_MINIMUM;
    }
    if (why) goto reject;

    vault_cchain *cs, *cd;
    if ((rc = cache_chain(v, txn, src, &cs)) || (rc = cache_chain(v, txn, dst, &cd))) return rc;
    vault_pending_rec p;
    memset(&p, 0, sizeof p);
    p.created = now;
    p.msg = *m;
    vault_jrec j;
    jrec_from_msg(&j, m, now);
    if (cs->frozen || cd->frozen) {
        /* held whole: nothing of it touches the ledger until released */
        p.cause = BH_VAULT_CAUSE_QUARANTINE;
        uint64_t pid = v->seq.next_pending++;
        if ((rc = pending_put(v, txn, pid, &p))) return rc;
        j.kind = BH_VJ_HOLD;
        j.ref = pid;
        j.chain = cs->frozen ? src : dst;
        r->status = BH_VAULT_HELD;
        r->reason = BH_REJECT_CHAIN_QUARANTINED;
        r->cause = BH_VAULT_CAUSE_QUARANTINE;
        r->pending_id = pid;
        return journal_put(v, txn, &j, NULL, "chain_quarantined", &r->journal_id);
    }

    /* ledger invariants, on copies until every check passed */
    uint16_t ldec, linc;
    unsigned eff = msg_effects(v, m, &ldec, &linc);
    vault_clane *cdec = NULL, *cinc = NULL, *lsrc, *ldst;
    if ((rc = cache_lane(v, txn, &m->transfer.token, src, &lsrc)) ||
        (rc = cache_lane(v, txn, &m->transfer.token, dst, &ldst)))
        return rc;
    if (eff & BH_VJ_LANE_DEC) cdec = lsrc;
    if (eff & BH_VJ_LANE_INC) cinc = ldst;
    bh_vault_asset na = ca->a;
    bh_vault_lane ndec, ninc;
    if (cdec) ndec = cdec->l;
    if (cinc) ninc = cinc->l;
    why = vault_effect(&na, cdec ? &ndec : NULL, cinc ? &ninc : NULL, eff, m->amount, 1);
    if (why) goto reject;

    /* message count per source chain */
    uint32_t limit = cs->r.msg_limit ? cs->r.msg_limit : v->seq.msg_limit_default;
    if (limit && chain_count(&cs->r, now) >= limit) {
        why = BH_REJECT_MESSAGE_LIMIT;
        goto reject;
    }

    /* commit the ledger effect to the batch cache */
    ca->a = na;
    ca->dirty = 1;
    if (cdec) {
        cdec->l.outstanding = ndec.outstanding;
        cdec->dirty = 1;
    }
    if (cinc) {
        cinc->l.outstanding = ninc.outstanding;
        cinc->dirty = 1;
    }
    chain_count_add(&cs->r, now);
    cs->dirty = 1;

    /* rate limits: delay, never drop. The windows count what is released:
     * here only if it goes out now, else when bh_vault_release_due lets it. */
    uint64_t ready = now;
    bh_vault_cause cause = BH_VAULT_CAUSE_NONE;
    uint32_t flags = VAULT_P_APPLIED, ahead, q;
    vault_vcheck vc;
    if ((rc = vault_value_eval(v, txn, m, ca->a.decimals, now, &vc))) return rc;
    if (is_big(&ca->a, m->amount)) {
        /* big: outside the token windows; with value limits, counted in
         * the value windows (and priced) when its delay is over */
        ready = now + (ca->a.big_delay ? ca->a.big_delay : BH_VAULT_DEFAULT_BIG_DELAY);
        cause = BH_VAULT_CAUSE_BIG;
        flags |= VAULT_P_VALUE; /* the value limits at release decide, set later or not */
    } else if (vc.active && vc.priced && vc.threshold && vc.value >= vc.threshold) {
        ready = now + (ca->a.big_delay ? ca->a.big_delay : BH_VAULT_DEFAULT_BIG_DELAY);
        cause = BH_VAULT_CAUSE_VALUE_BIG;
        flags |= VAULT_P_VALUE;
    } else {
        flags |= VAULT_P_WINDOW | VAULT_P_VALUE;
        bucket_refill(&lsrc->l.in, now);
        bucket_refill(&ldst->l.out, now);
        if (lsrc->l.in.capacity || ldst->l.out.capacity) lsrc->dirty = ldst->dirty = 1;
        if (bucket_too_big(&lsrc->l.in, m->amount) || bucket_too_big(&ldst->l.out, m->amount) ||
            (lsrc->l.window_limit && m->amount > lsrc->l.window_limit)) {
            cause = BH_VAULT_CAUSE_CAPACITY;
            ready = 0;
        } else {
            uint64_t t1 = bucket_take(&lsrc->l.in, m->amount, now);
            uint64_t t2 = bucket_take(&ldst->l.out, m->amount, now);
            uint64_t tw = window_ready(&lsrc->l, m->amount, now);
            if (t2 > t1) t1 = t2;
            /* behind transfers of this lane already waiting for the window */
            if (lsrc->l.window_limit && (rc = lane_wq_add(v, txn, lsrc, 0))) return rc;
            int queued = lsrc->l.window_limit && lsrc->wq > 0;
            if (t1 > now) {
                /* the window is checked again when the bucket has paid */
                cause = BH_VAULT_CAUSE_BUCKET;
                ready = t1 > tw ? t1 : tw;
            } else if (tw > now || queued) {
                cause = BH_VAULT_CAUSE_WINDOW;
                ready = tw;
                if ((rc = lane_wq_add(v, txn, lsrc, 1))) return rc;
            } else if ((rc = vq_ahead(v, txn, m, &vc, &ahead)) ||
                       (rc = value_gate(v, txn, m, &ca->a, &vc, now, 0, ahead, &cause, &ready,
                                        &q)) ||
                       (rc = vq_set(v, txn, m, &flags, q, NULL))) {
                return rc;
            } else if (cause == BH_VAULT_CAUSE_NONE) {
                window_add(&lsrc->l, m->amount, now);
                if (lsrc->l.window_limit) lsrc->dirty = 1;
            }
        }
    }
    if (cause == BH_VAULT_CAUSE_NONE &&
        (rc = vault_value_count(v, txn, m, ca->a.decimals, &vc, now)))
        return rc;

    j.effects = eff;
    j.lane_dec = ldec;
    j.lane_inc = linc;
    if (cause == BH_VAULT_CAUSE_NONE) {
        uint64_t oid;
        if ((rc = outbox_put(v, txn, m, &oid))) return rc;
        j.kind = BH_VJ_ACCEPT;
        j.ref = oid;
        r->status = BH_VAULT_ACCEPTED;
        return journal_put(v, txn, &j, NULL, NULL, &r->journal_id);
    }
    p.applied = flags;
    p.cause = cause;
    p.release_at = ready;
    uint64_t pid = v->seq.next_pending++;
    if ((rc = pending_put(v, txn, pid, &p))) return rc;
    j.kind = BH_VJ_DELAY;
    j.ref = pid;
    r->status = cause == BH_VAULT_CAUSE_CAPACITY ? BH_VAULT_HELD : BH_VAULT_DELAYED;
    r->cause = cause;
    r->release_at = ready;
    r->pending_id = pid;
    char jwhy[BH_VAULT_REASON_MAX + 1];
    snprintf(jwhy, sizeof jwhy, "%s%s%.140s", bh_vault_cause_name(cause),
             cause == BH_VAULT_CAUSE_PRICE ? ": " : "",
             cause == BH_VAULT_CAUSE_PRICE ? vc.why : "");
    return journal_put(v, txn, &j, NULL, jwhy, &r->journal_id);

reject:
    /* a refused message must not claim its replay key */
    if ((rc = mdb_del(txn, v->db_processed, &k, NULL))) return bh_store_status(rc);
    return reject_msg(v, txn, r, m, why, now);
}

static int apply_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    apply_ctx *c = vctx;
    for (size_t i = 0; i < c->n; i++) {
        const bh_transfer_msg *m = &c->msgs[i];
        bh_reject verdict = c->verdicts ? c->verdicts[i] : BH_REJECT_OK;
        int rc;
        if (verdict != BH_REJECT_OK) {
            memset(&c->res[i], 0, sizeof c->res[i]);
            rc = reject_msg(v, txn, &c->res[i], m, verdict, c->now);
        } else {
            rc = apply_one(v, txn, m, &c->res[i], c->now);
        }
        if (!rc) rc = source_note(v, txn, m->emitter_chain, m->sequence);
        if (rc) return rc;
    }
    return BH_OK;
}

int bh_vault_apply(bh_vault *v, bh_vault_result *results, const bh_transfer_msg *msgs, size_t n,
                   uint64_t now)
{
    return bh_vault_apply_ex(v, results, msgs, NULL, n, now);
}

int bh_vault_apply_ex(bh_vault *v, bh_vault_result *results, const bh_transfer_msg *msgs,
                      const bh_reject *verdicts, size_t n, uint64_t now)
{
    if (!v || (n && (!results || !msgs))) return BH_EINVAL;
    memset(results, 0, n * sizeof *results);
    if (n == 0) return BH_OK;
    v->err[0] = 0;
    apply_ctx c = {results, msgs, verdicts, n, now};
    int rc = run_write(v, apply_fn, &c);
    if (rc) memset(results, 0, n * sizeof *results);
    return rc;
}

/* ---- pending and outbox ---- */

static int pending_load(bh_vault *v, MDB_txn *txn, uint64_t id, vault_pending_rec *p)
{
    unsigned char kb[8];
    bh_be_put_u64(kb, id);
    MDB_val k = {8, kb}, d;
    int rc = mdb_get(txn, v->db_pending, &k, &d);
    if (rc == MDB_NOTFOUND) {
        set_err(v, "vault %s has no pending transfer %llu", v->name, (unsigned long long)id);
        return BH_ENOTFOUND;
    }
    if (rc) return bh_store_status(rc);
    if (vrec_pending_get(p, d.mv_data, d.mv_size)) return vault_corrupt(v, "pending", &k);
    return BH_OK;
}

static int pending_del(bh_vault *v, MDB_txn *txn, uint64_t id)
{
    unsigned char kb[8];
    bh_be_put_u64(kb, id);
    MDB_val k = {8, kb};
    return bh_store_status(mdb_del(txn, v->db_pending, &k, NULL));
}

typedef struct {
    uint64_t id, now, release_at;
    const char *actor, *reason;
    bh_reject why;
    size_t max, count;
    uint32_t tries;
    bh_vault_result res;
} op_ctx;

/* Loads the pending transfer an operator acts on and starts its journal entry. */
static int pending_op_begin(bh_vault *v, MDB_txn *txn, const op_ctx *c, uint32_t kind,
                            vault_pending_rec *p, vault_jrec *j)
{
    int rc = pending_load(v, txn, c->id, p);
    if (rc) return rc;
    jrec_from_msg(j, &p->msg, c->now);
    j->kind = kind;
    j->ref = c->id;
    return BH_OK;
}

/* 1 if p is counted in the lane's wait queue for the window (lane_wq_add). */
static int waits_window(const vault_pending_rec *p)
{
    return (p->applied & VAULT_P_WINDOW) && p->cause == BH_VAULT_CAUSE_WINDOW;
}

/* Leave p out of its lane's window queue if it was in it. */
static int wq_leave(bh_vault *v, MDB_txn *txn, const vault_pending_rec *p)
{
    if (!waits_window(p)) return BH_OK;
    vault_clane *cl;
    int rc = cache_lane(v, txn, &p->msg.transfer.token, p->msg.emitter_chain, &cl);
    return rc ? rc : lane_wq_add(v, txn, cl, -1);
}

/* An operator's release that finds a window full: p waits for it (cause
 * window or value, until at), journaled as a retime, or for a hold as the
 * delay its ledger effect lands with; what names the window. */
static int release_waits(bh_vault *v, MDB_txn *txn, op_ctx *c, vault_pending_rec *p, vault_jrec *j,
                         int was_applied, bh_vault_cause cause, uint64_t at, const char *what)
{
    p->cause = cause;
    p->release_at = at;
    int rc = pending_put(v, txn, c->id, p);
    if (rc) return rc;
    char why[BH_VAULT_REASON_MAX + 1];
    snprintf(why, sizeof why, "%s, waits: %s", what, c->reason ? c->reason : "");
    if (was_applied) {
        j->kind = BH_VJ_RETIME;
        j->amount = at;
    } else {
        j->kind = BH_VJ_DELAY; /* the ledger effect of the hold lands now */
    }
    c->res.status = BH_VAULT_DELAYED;
    c->res.cause = cause;
    c->res.release_at = at;
    c->res.pending_id = c->id;
    return journal_put(v, txn, j, c->actor, why, &c->res.journal_id);
}

static int release_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    op_ctx *c = vctx;
    vault_pending_rec p;
    vault_jrec j;
    int rc = pending_op_begin(v, txn, c, BH_VJ_RELEASE, &p, &j);
    if (rc) return rc;
    int was_applied = p.applied != 0;
    vault_casset *ca;
    if ((rc = cache_asset(v, txn, &p.msg.transfer.token, &ca))) return rc;
    if (!p.applied) {
        /* a quarantine hold: apply it now, under the ledger's invariants */
        vault_cchain *cs, *cd;
        uint16_t src = p.msg.emitter_chain, dst = p.msg.transfer.to_chain;
        if ((rc = cache_chain(v, txn, src, &cs)) || (rc = cache_chain(v, txn, dst, &cd))) return rc;
        if (cs->frozen || cd->frozen) {
            set_err(v, "pending %llu: chain %u is still quarantined; unfreeze it first",
                    (unsigned long long)c->id, cs->frozen ? src : dst);
            return BH_ESTATE;
        }
        uint16_t ldec, linc;
        unsigned eff = msg_effects(v, &p.msg, &ldec, &linc);
        vault_clane *cdec = NULL, *cinc = NULL;
        if ((eff & BH_VJ_LANE_DEC) && (rc = cache_lane(v, txn, &p.msg.transfer.token, ldec, &cdec)))
            return rc;
        if ((eff & BH_VJ_LANE_INC) && (rc = cache_lane(v, txn, &p.msg.transfer.token, linc, &cinc)))
            return rc;
        bh_reject why = ca->found ? vault_effect(&ca->a, cdec ? &cdec->l : NULL,
                                                 cinc ? &cinc->l : NULL, eff, p.msg.amount, 1)
                                  : BH_REJECT_UNKNOWN_ASSET;
        if (why) {
            c->why = why;
            set_err(v, "pending %llu cannot be applied: %s", (unsigned long long)c->id,
                    bh_reject_name(why));
            return BH_EINVARIANT;
        }
        ca->dirty = 1;
        if (cdec) cdec->dirty = 1;
        if (cinc) cinc->dirty = 1;
        j.effects = eff;
        j.lane_dec = ldec;
        j.lane_inc = linc;
        /* never counted anywhere yet: it counts in the windows like an arrival */
        p.applied = VAULT_P_APPLIED | VAULT_P_VALUE |
                    (ca->found && is_big(&ca->a, p.msg.amount) ? 0 : VAULT_P_WINDOW);
    }
    vault_vcheck vc;
    if ((rc = vault_value_eval(v, txn, &p.msg, ca->a.decimals, c->now, &vc))) return rc;
    if (p.applied & VAULT_P_WINDOW) {
        vault_clane *cl;
        if ((rc = cache_lane(v, txn, &p.msg.transfer.token, p.msg.emitter_chain, &cl))) return rc;
        bh_u128 lim = cl->l.window_limit;
        uint64_t t = window_ready(&cl->l, p.msg.amount, c->now);
        if (lim && p.msg.amount <= lim && t > c->now) {
            /* the window is full: it waits for it, never delivered past it */
            if (!waits_window(&p) && (rc = lane_wq_add(v, txn, cl, 1))) return rc;
            if ((rc = vq_leave(v, txn, &p))) return rc;
            return release_waits(v, txn, c, &p, &j, was_applied, BH_VAULT_CAUSE_WINDOW, t,
                                 "24 h window full");
        }
        bh_vault_cause vcause = BH_VAULT_CAUSE_NONE;
        uint64_t vt = c->now;
        uint32_t q = 0;
        /* the operator's release goes ahead of the value queues, not past
         * the windows' room */
        if ((p.applied & VAULT_P_VALUE) &&
            (rc = value_gate(v, txn, &p.msg, &ca->a, &vc, c->now, 0, 0, &vcause, &vt, &q)))
            return rc;
        if (vcause == BH_VAULT_CAUSE_VALUE_BIG) {
            /* the operator's release skips a big one's delay, not the value
             * windows: the value_big cause named the threshold only */
            uint64_t vr = c->now;
            if ((rc = value_room(v, txn, &p.msg, &vc, c->now, 0, &vr, &q))) return rc;
            vcause = BH_VAULT_CAUSE_NONE;
            if (vr != UINT64_MAX && vr > c->now) vcause = BH_VAULT_CAUSE_VALUE, vt = vr;
        }
        if (vcause == BH_VAULT_CAUSE_VALUE) {
            /* the value window is full: it waits for it, like the token window */
            if ((rc = wq_leave(v, txn, &p)) || (rc = vq_set(v, txn, &p.msg, &p.applied, q, NULL)))
                return rc;
            return release_waits(v, txn, c, &p, &j, was_applied, BH_VAULT_CAUSE_VALUE, vt,
                                 "24 h value window full");
        }
        /* larger than a window, without a price, or value-big: the operator's
         * release is the override; it counts what it is worth if priced */
        if ((rc = vault_value_count(v, txn, &p.msg, ca->a.decimals, &vc, c->now))) return rc;
        window_add(&cl->l, p.msg.amount, c->now);
        if (lim) cl->dirty = 1;
        if ((rc = wq_leave(v, txn, &p))) return rc;
    } else if ((p.applied & VAULT_P_VALUE) && vc.active) {
        /* a big one: the release skips its delay, not the value windows;
         * one they can never hold, or without a price, is the override */
        uint64_t t = c->now;
        uint32_t q = 0;
        if (vc.priced && (rc = value_room(v, txn, &p.msg, &vc, c->now, 0, &t, &q))) return rc;
        if (vc.priced && t != UINT64_MAX && t > c->now) {
            if ((rc = vq_set(v, txn, &p.msg, &p.applied, q, NULL))) return rc;
            return release_waits(v, txn, c, &p, &j, was_applied, BH_VAULT_CAUSE_VALUE, t,
                                 "24 h value window full");
        }
        if ((rc = vault_value_count(v, txn, &p.msg, ca->a.decimals, &vc, c->now))) return rc;
    }
    uint64_t oid;
    if ((rc = vq_leave(v, txn, &p)) || (rc = pending_del(v, txn, c->id)) ||
        (rc = outbox_put(v, txn, &p.msg, &oid)))
        return rc;
    c->res.status = BH_VAULT_ACCEPTED;
    return journal_put(v, txn, &j, c->actor, c->reason, &c->res.journal_id);
}

int bh_vault_release_ex(bh_vault *v, bh_vault_result *out, uint64_t id, uint64_t now,
                        const char *actor, const char *reason)
{
    if (out) memset(out, 0, sizeof *out);
    if (!v || !out) return BH_EINVAL;
    v->err[0] = 0;
    op_ctx c = {.id = id, .now = now, .actor = actor, .reason = reason};
    int rc = run_write(v, release_fn, &c);
    if (rc) {
        memset(&c.res, 0, sizeof c.res);
        c.res.reason = c.why;
        if (rc == BH_EINVARIANT) c.res.status = BH_VAULT_REJECTED;
    }
    *out = c.res;
    return rc;
}

int bh_vault_release(bh_vault *v, bh_reject *why, uint64_t id, uint64_t now, const char *actor,
                     const char *reason)
{
    if (why) *why = BH_REJECT_OK;
    bh_vault_result r;
    int rc = bh_vault_release_ex(v, &r, id, now, actor, reason);
    if (why) *why = r.reason;
    return rc;
}

static int drop_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    op_ctx *c = vctx;
    vault_pending_rec p;
    vault_jrec j;
    int rc = pending_op_begin(v, txn, c, BH_VJ_DROP, &p, &j);
    if (rc) return rc;
    if (p.applied) {
        /* reverse exactly what apply did */
        uint16_t ldec, linc;
        unsigned eff = msg_effects(v, &p.msg, &ldec, &linc), rev = 0;
        if (eff & BH_VJ_LOCK_ADD) rev |= BH_VJ_LOCK_SUB;
        if (eff & BH_VJ_LOCK_SUB) rev |= BH_VJ_LOCK_ADD;
        if (eff & BH_VJ_LANE_DEC) rev |= BH_VJ_LANE_INC;
        if (eff & BH_VJ_LANE_INC) rev |= BH_VJ_LANE_DEC;
        vault_casset *ca;
        vault_clane *cdec = NULL, *cinc = NULL;
        if ((rc = cache_asset(v, txn, &p.msg.transfer.token, &ca))) return rc;
        if (!ca->found) return BH_ECORRUPT;
        if ((rev & BH_VJ_LANE_DEC) && (rc = cache_lane(v, txn, &p.msg.transfer.token, linc, &cdec)))
            return rc;
        if ((rev & BH_VJ_LANE_INC) && (rc = cache_lane(v, txn, &p.msg.transfer.token, ldec, &cinc)))
            return rc;
        bh_reject why = vault_effect(&ca->a, cdec ? &cdec->l : NULL, cinc ? &cinc->l : NULL, rev,
                                     p.msg.amount, 0);
        if (why) {
            set_err(v, "pending %llu cannot be dropped: reversing it would give %s",
                    (unsigned long long)c->id, bh_reject_name(why));
            return BH_EINVARIANT;
        }
        ca->dirty = 1;
        if (cdec) cdec->dirty = 1;
        if (cinc) cinc->dirty = 1;
        j.effects = rev;
        j.lane_dec = linc;
        j.lane_inc = ldec;
    }
    uint64_t jid;
    if ((rc = wq_leave(v, txn, &p)) || (rc = vq_leave(v, txn, &p)) ||
        (rc = pending_del(v, txn, c->id)))
        return rc;
    return journal_put(v, txn, &j, c->actor, c->reason, &jid);
}

int bh_vault_drop(bh_vault *v, uint64_t id, uint64_t now, const char *actor, const char *reason)
{
    if (!v) return BH_EINVAL;
    v->err[0] = 0;
    op_ctx c = {.id = id, .now = now, .actor = actor, .reason = reason};
    return run_write(v, drop_fn, &c);
}

static int retime_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    op_ctx *c = vctx;
    vault_pending_rec p;
    int rc = pending_load(v, txn, c->id, &p);
    if (rc) return rc;
    if (!p.applied) {
        set_err(v, "pending %llu is held by a quarantine: release or drop it instead",
                (unsigned long long)c->id);
        return BH_ESTATE;
    }
    if ((rc = wq_leave(v, txn, &p)) || (rc = vq_leave(v, txn, &p))) return rc;
    p.release_at = c->release_at;
    p.cause = BH_VAULT_CAUSE_RETIMED;
    if ((rc = pending_put(v, txn, c->id, &p))) return rc;
    vault_jrec j;
    jrec_from_msg(&j, &p.msg, c->now);
    j.kind = BH_VJ_RETIME;
    j.ref = c->id;
    j.amount = c->release_at;
    uint64_t jid;
    return journal_put(v, txn, &j, c->actor, c->reason, &jid);
}

int bh_vault_retime(bh_vault *v, uint64_t id, uint64_t release_at, uint64_t now, const char *actor,
                    const char *reason)
{
    if (!v) return BH_EINVAL;
    v->err[0] = 0;
    op_ctx c = {.id = id, .now = now, .release_at = release_at, .actor = actor, .reason = reason};
    return run_write(v, retime_fn, &c);
}

/* A pending transfer release_due looks at: due, or waiting for a window
 * (re-checked whenever asked: its release_at is only the earliest guess). */
typedef struct {
    uint64_t id;
    uint64_t release_at;
    uint64_t key; /* where it stands in the order release_due serves them (due_key) */
    uint32_t cause, applied;
    uint16_t src;
    bh_bytes32 token;
} due_cand;

/* A lane whose oldest waiting transfer did not fit in this pass. */
typedef struct {
    bh_bytes32 token;
    uint16_t src;
    uint64_t until;
} due_block;

/* A value window (dst 0: value_window.SRC) an older transfer of this pass
 * waits for, until about when it fits: the newer ones that count in it
 * wait behind, no sooner. */
typedef struct {
    uint16_t src, dst;
    uint64_t until;
} due_vblock;

/* What a release pass learns as it goes, oldest first. */
typedef struct {
    due_block *blk;
    size_t nblk, capblk;
    due_vblock *vb;
    size_t nvb, capvb;
} due_pass;

static const due_block *find_block(const due_block *b, size_t n, const due_cand *c)
{
    for (size_t i = 0; i < n; i++)
        if (b[i].src == c->src && !memcmp(&b[i].token, &c->token, 32)) return &b[i];
    return NULL;
}

/* The value queues (VAULT_P_VQ_*) an older transfer of this pass holds m
 * behind in. Out: until (may be NULL)  the latest time those wait until. */
static uint32_t vblocked(const due_pass *dp, const bh_transfer_msg *m, uint64_t *until)
{
    uint32_t q = 0, bit;
    for (size_t i = 0; i < dp->nvb; i++) {
        if (dp->vb[i].src != m->emitter_chain) continue;
        if (!dp->vb[i].dst)
            bit = VAULT_P_VQ_SRC;
        else if (dp->vb[i].dst == m->transfer.to_chain)
            bit = VAULT_P_VQ_LANE;
        else
            continue;
        q |= bit;
        if (until && dp->vb[i].until > *until) *until = dp->vb[i].until;
    }
    return q;
}

/* A waiter behind the queues' older ones (vblocked until) goes no sooner
 * than they: its release_at stays put from pass to pass instead of
 * following the clock while it would fit on its own. */
static void vq_behind(bh_vault_cause cause, uint32_t q, uint64_t until, uint64_t *at)
{
    if (cause == BH_VAULT_CAUSE_VALUE && q && *at < until) *at = until;
}

/* m waits in the value queues q until about at: the rest of the pass
 * waits behind it. */
static int vblock(due_pass *dp, const bh_transfer_msg *m, uint32_t q, uint64_t at)
{
    uint32_t have = vblocked(dp, m, NULL);
    for (int lane = 0; lane < 2; lane++) {
        uint32_t bit = lane ? VAULT_P_VQ_LANE : VAULT_P_VQ_SRC;
        if (!(q & bit) || (have & bit)) continue;
        int rc = grow((void **)&dp->vb, &dp->capvb, dp->nvb + 1, sizeof *dp->vb);
        if (rc) return rc;
        dp->vb[dp->nvb++] = (due_vblock){m->emitter_chain, lane ? m->transfer.to_chain : 0, at};
    }
    return BH_OK;
}

/* The scheduler changes why a transfer waits: journaled like an operator's retime. */
static int due_retime(bh_vault *v, MDB_txn *txn, uint64_t id, vault_pending_rec *p,
                      bh_vault_cause cause, uint64_t at, uint64_t now, const char *why)
{
    int journal = p->cause != (uint32_t)cause;
    p->cause = cause;
    p->release_at = at;
    int rc = pending_put(v, txn, id, p);
    if (rc || !journal) return rc;
    vault_jrec j;
    uint64_t jid;
    jrec_from_msg(&j, &p->msg, now);
    j.kind = BH_VJ_RETIME;
    j.ref = id;
    j.amount = at;
    return journal_put(v, txn, &j, "scheduler", why, &jid);
}

static int release_one_due(bh_vault *v, MDB_txn *txn, uint64_t id, const vault_pending_rec *p,
                           uint64_t now);

/* A big transfer past its delay, under value limits: it needs a usable
 * price and room in the value windows (not the threshold: it has waited
 * for that), behind the older ones waiting for them, and counts there when
 * it goes; worth more than a whole window, it waits for an operator. */
static int due_big_value(bh_vault *v, MDB_txn *txn, op_ctx *c, const due_cand *dc,
                         vault_pending_rec *p, due_pass *dp)
{
    vault_casset *ca;
    vault_vcheck vc;
    int rc;
    if ((rc = cache_asset(v, txn, &dc->token, &ca))) return rc;
    if (!ca->found) return vault_corrupt(v, "assets", &(MDB_val){32, (void *)dc->token.data});
    if ((rc = vault_value_eval(v, txn, &p->msg, ca->a.decimals, c->now, &vc))) return rc;
    bh_vault_cause vcause;
    uint64_t at, until = 0;
    uint32_t q, ahead = vblocked(dp, &p->msg, &until);
    int moved;
    if ((rc = value_gate(v, txn, &p->msg, &ca->a, &vc, c->now, 1, ahead, &vcause, &at, &q)))
        return rc;
    vq_behind(vcause, q, until, &at);
    if ((rc = vq_set(v, txn, &p->msg, &p->applied, q, &moved)) || (rc = vblock(dp, &p->msg, q, at)))
        return rc;
    if (vcause != BH_VAULT_CAUSE_NONE) {
        if (!moved && p->cause == (uint32_t)vcause &&
            (vcause == BH_VAULT_CAUSE_PRICE || p->release_at == at))
            return BH_OK;
        char why[BH_VAULT_REASON_MAX + 1];
        if (vcause == BH_VAULT_CAUSE_PRICE)
            snprintf(why, sizeof why, "price: %.140s", vc.why);
        else
            snprintf(why, sizeof why, "%s",
                     vcause == BH_VAULT_CAUSE_CAPACITY ? "worth more than the 24 h value window"
                                                       : "24 h value window full");
        return due_retime(v, txn, dc->id, p, vcause, at, c->now, why);
    }
    if ((rc = vault_value_count(v, txn, &p->msg, ca->a.decimals, &vc, c->now)) ||
        (rc = release_one_due(v, txn, dc->id, p, c->now)))
        return rc;
    c->count++;
    return BH_OK;
}

static int release_one_due(bh_vault *v, MDB_txn *txn, uint64_t id, const vault_pending_rec *p,
                           uint64_t now)
{
    uint64_t oid, jid;
    vault_jrec j;
    int rc;
    if ((rc = pending_del(v, txn, id)) || (rc = outbox_put(v, txn, &p->msg, &oid))) return rc;
    jrec_from_msg(&j, &p->msg, now);
    j.kind = BH_VJ_RELEASE;
    j.ref = id;
    return journal_put(v, txn, &j, "scheduler", "due", &jid);
}

/* One due candidate; blocks its lane in dp when it does not fit the
 * window, its value windows when it waits for them. */
static int due_one(bh_vault *v, MDB_txn *txn, op_ctx *c, const due_cand *dc, due_pass *dp)
{
    const due_block *b = find_block(dp->blk, dp->nblk, dc);
    /* the common case of a long queue: already waiting behind its lane's head */
    if (b && (dc->applied & VAULT_P_WINDOW) && dc->cause == BH_VAULT_CAUSE_WINDOW &&
        dc->release_at >= b->until)
        return BH_OK;
    vault_pending_rec p;
    int rc = pending_load(v, txn, dc->id, &p);
    if (rc) return rc;
    if (!(p.applied & VAULT_P_WINDOW)) {
        /* big, or booked in the window when it arrived (an older build) */
        if (p.release_at > c->now && !waits_value(&p)) return BH_OK;
        if (p.applied & VAULT_P_VALUE) return due_big_value(v, txn, c, dc, &p, dp);
        if ((rc = release_one_due(v, txn, dc->id, &p, c->now))) return rc;
        c->count++;
        return BH_OK;
    }
    vault_clane *cl;
    if ((rc = cache_lane(v, txn, &dc->token, dc->src, &cl))) return rc;
    if (b) {
        /* first come, first served within a lane: wait behind the blocked one */
        if (!waits_window(&p) && (rc = lane_wq_add(v, txn, cl, 1))) return rc;
        if (waits_window(&p) && p.release_at >= b->until) return BH_OK;
        if ((rc = vq_leave(v, txn, &p))) return rc;
        return due_retime(v, txn, dc->id, &p, BH_VAULT_CAUSE_WINDOW, b->until, c->now,
                          "24 h window full");
    }
    bh_u128 lim = cl->l.window_limit;
    if (lim && p.msg.amount > lim) {
        /* the window was lowered below it: it can never fit, an operator decides */
        if ((rc = wq_leave(v, txn, &p)) || (rc = vq_leave(v, txn, &p))) return rc;
        return due_retime(v, txn, dc->id, &p, BH_VAULT_CAUSE_CAPACITY, 0, c->now,
                          "larger than the 24 h window: waits for an operator");
    }
    uint64_t t = window_ready(&cl->l, p.msg.amount, c->now);
    if (t <= c->now) {
        /* the token limits let it go: the value limits, at today's price,
         * behind the older ones waiting for its value windows */
        vault_casset *ca;
        vault_vcheck vc;
        bh_vault_cause vcause = BH_VAULT_CAUSE_NONE;
        uint64_t at = c->now, until = 0;
        uint32_t q = 0, ahead = vblocked(dp, &p.msg, &until);
        int moved;
        if ((rc = cache_asset(v, txn, &dc->token, &ca))) return rc;
        if (!ca->found) return vault_corrupt(v, "assets", &(MDB_val){32, (void *)dc->token.data});
        if ((rc = vault_value_eval(v, txn, &p.msg, ca->a.decimals, c->now, &vc))) return rc;
        if ((p.applied & VAULT_P_VALUE) &&
            (rc = value_gate(v, txn, &p.msg, &ca->a, &vc, c->now, 0, ahead, &vcause, &at, &q)))
            return rc;
        vq_behind(vcause, q, until, &at);
        if ((rc = vq_set(v, txn, &p.msg, &p.applied, q, &moved)) ||
            (rc = vblock(dp, &p.msg, q, at)))
            return rc;
        if (vcause != BH_VAULT_CAUSE_NONE) {
            if ((rc = wq_leave(v, txn, &p))) return rc;
            if (vcause == BH_VAULT_CAUSE_VALUE_BIG) p.applied = VAULT_P_APPLIED | VAULT_P_VALUE;
            /* a price still missing: nothing to rewrite until it comes */
            if (!moved && p.cause == (uint32_t)vcause &&
                (vcause == BH_VAULT_CAUSE_PRICE || p.release_at == at))
                return BH_OK;
            char why[BH_VAULT_REASON_MAX + 1];
            snprintf(why, sizeof why, "%s%s%.140s", bh_vault_cause_name(vcause),
                     vcause == BH_VAULT_CAUSE_PRICE ? ": " : "",
                     vcause == BH_VAULT_CAUSE_PRICE ? vc.why : "");
            return due_retime(v, txn, dc->id, &p, vcause, at, c->now, why);
        }
        window_add(&cl->l, p.msg.amount, c->now);
        if (lim) cl->dirty = 1;
        if ((rc = vault_value_count(v, txn, &p.msg, ca->a.decimals, &vc, c->now))) return rc;
        if ((rc = wq_leave(v, txn, &p)) || (rc = release_one_due(v, txn, dc->id, &p, c->now)))
            return rc;
        c->count++;
        return BH_OK;
    }
    if ((rc = grow((void **)&dp->blk, &dp->capblk, dp->nblk + 1, sizeof *dp->blk))) return rc;
    dp->blk[dp->nblk++] = (due_block){dc->token, dc->src, t};
    if (!waits_window(&p) && (rc = lane_wq_add(v, txn, cl, 1))) return rc;
    if (waits_window(&p) && p.release_at == t) return BH_OK;
    if ((rc = vq_leave(v, txn, &p))) return rc;
    return due_retime(v, txn, dc->id, &p, BH_VAULT_CAUSE_WINDOW, t, c->now, "24 h window full");
}

/* Where a candidate stands in the order release_due serves them: when it
 * arrived, but a big one under value limits when its delay ended, so it
 * takes its place in the value queues then, behind those already waiting.
 * One waiting for room after its delay has lost that time (release_at is
 * its guess of the room): arrival plus the asset's delay stands for it. */
static int due_key(bh_vault *v, MDB_txn *txn, uint64_t now, const vault_pending_rec *p,
                   uint64_t *key)
{
    *key = p->created;
    if ((p->applied & VAULT_P_WINDOW) || !(p->applied & VAULT_P_VALUE)) return BH_OK;
    vault_casset *ca;
    vault_vcheck vc;
    int rc = cache_asset(v, txn, &p->msg.transfer.token, &ca);
    if (rc || !ca->found) return rc;
    if ((rc = vault_value_eval(v, txn, &p->msg, ca->a.decimals, now, &vc)) || !vc.active) return rc;
    if (p->cause == BH_VAULT_CAUSE_VALUE || p->cause == BH_VAULT_CAUSE_PRICE) {
        uint64_t d = ca->a.big_delay ? ca->a.big_delay : BH_VAULT_DEFAULT_BIG_DELAY;
        *key = p->created + d < p->created ? UINT64_MAX : p->created + d;
    } else {
        *key = p->release_at; /* due now: its delay ended then */
    }
    return BH_OK;
}

static int due_cmp(const void *a, const void *b)
{
    const due_cand *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int release_due_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    op_ctx *c = vctx;
    c->count = 0;
    int trc = vault_segment_tick(v, txn, c->now);
    if (trc) return trc;
    /* first collect the candidates, then act on them: no writes under a cursor */
    due_cand *cand = NULL;
    due_pass dp = {0};
    size_t ncand = 0, capcand = 0;
    MDB_cursor *cur;
    int rc = bh_store_status(mdb_cursor_open(txn, v->db_pending, &cur));
    if (rc) return rc;
    MDB_val k, d;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        vault_pending_rec p;
        if (k.mv_size != 8 || vrec_pending_get(&p, d.mv_data, d.mv_size)) {
            rc = vault_corrupt(v, "pending", &k);
            break;
        }
        if (!p.applied || p.release_at == 0) continue;
        if (p.release_at > c->now && !waits_window(&p) && !waits_value(&p)) continue;
        if ((rc = grow((void **)&cand, &capcand, ncand + 1, sizeof *cand))) break;
        due_cand *dc = &cand[ncand++];
        *dc = (due_cand){.id = bh_be_get_u64(k.mv_data),
                         .release_at = p.release_at,
                         .cause = p.cause,
                         .applied = p.applied,
                         .src = p.msg.emitter_chain,
                         .token = p.msg.transfer.token};
        if ((rc = due_key(v, txn, c->now, &p, &dc->key))) break;
    }
    mdb_cursor_close(cur);
    if (!rc && mrc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
    /* oldest first: a lane whose head does not fit holds back the rest, a
     * value window whose oldest waiter does not fit those that count in it */
    if (!rc && ncand > 1) qsort(cand, ncand, sizeof *cand, due_cmp);
    for (size_t i = 0; i < ncand && !rc; i++) {
        if (c->max && c->count >= c->max) break;
        rc = due_one(v, txn, c, &cand[i], &dp);
    }
    free(cand);
    free(dp.blk);
    free(dp.vb);
    return rc;
}

int bh_vault_release_due(bh_vault *v, size_t *released, uint64_t now, size_t max)
{
    if (released) *released = 0;
    if (!v) return BH_EINVAL;
    op_ctx c = {.now = now, .max = max};
    int rc = run_write(v, release_due_fn, &c);
    if (!rc && released) *released = c.count;
    return rc;
}

int bh_vault_outbox_peek(bh_vault *v, bh_vault_outbox_entry *out, size_t cap, size_t *n)
{
    if (n) *n = 0;
    if (!v || !n || (cap && !out)) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_cursor *cur;
    rc = bh_store_status(mdb_cursor_open(txn, v->db_outbox, &cur));
    if (!rc) {
        MDB_val k, d;
        int mrc;
        for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0 && *n < cap;
             mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
            if (k.mv_size != 8 ||
                vrec_outbox_get_to(&out[*n].msg, &out[*n].to, d.mv_data, d.mv_size)) {
                rc = vault_corrupt(v, "outbox", &k);
                break;
            }
            out[*n].id = bh_be_get_u64(k.mv_data);
            (*n)++;
        }
        if (!rc && mrc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
        mdb_cursor_close(cur);
    }
    vault_txn_abort(v, txn);
    return rc;
}

int bh_vault_source_next(bh_vault *v, uint16_t chain, uint64_t *next)
{
    if (next) *next = 0;
    if (!v || !next) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    char key[16];
    source_key(key, chain);
    rc = meta_u64_get(txn, v->db_meta, key, next);
    vault_txn_abort(v, txn);
    if (rc == BH_ENOTFOUND) rc = BH_OK;
    return rc;
}

int bh_vault_taken(bh_vault *v, const bh_transfer_msg *m, int *taken)
{
    if (taken) *taken = 0;
    if (!v || !m || !taken) return BH_EINVAL;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    unsigned char kb[PKEY_LEN];
    pkey(kb, m);
    MDB_val k = {PKEY_LEN, kb}, d;
    int mrc = mdb_get(txn, v->db_processed, &k, &d);
    if (mrc == 0)
        *taken = d.mv_size == 32 && !memcmp(d.mv_data, m->digest.data, 32) ? 1 : 2;
    else if (mrc != MDB_NOTFOUND)
        rc = bh_store_status(mrc);
    vault_txn_abort(v, txn);
    return rc;
}

/* Whether the outbox_to index covers the outbox in this snapshot. */
static int outbox_index_current(bh_vault *v, MDB_txn *txn)
{
    vault_seq seq;
    uint64_t mark;
    if (!v->has_outbox_to) return 0;
    if (vault_seq_get(txn, v->db_meta, &seq)) return 0;
    if (meta_u64_get(txn, v->db_meta, "oix", &mark)) return 0;
    return mark == seq.next_outbox;
}

static int outbox_visit(bh_vault *v, const MDB_val *k, const MDB_val *d, bh_vault_outbox_cb cb,
                        void *ctx)
{
    bh_vault_outbox_entry e;
    if (k->mv_size != 8 || vrec_outbox_get_to(&e.msg, &e.to, d->mv_data, d->mv_size))
        return vault_corrupt(v, "outbox", k);
    e.id = bh_be_get_u64(k->mv_data);
    return cb(ctx, &e);
}

/* Per destination through the index: each key names an outbox id. The ids
 * rise, so a cursor kept on the outbox mostly finds the next one on the
 * leaf page it is on (LMDB checks that page before searching from the root). */
static int scan_index(bh_vault *v, MDB_txn *txn, uint16_t to_chain, uint64_t from, size_t max_scan,
                      bh_vault_outbox_cb cb, void *ctx)
{
    MDB_cursor *cur, *oc;
    int rc = bh_store_status(mdb_cursor_open(txn, v->db_outbox_to, &cur));
    if (rc) return rc;
    if ((rc = bh_store_status(mdb_cursor_open(txn, v->db_outbox, &oc)))) {
        mdb_cursor_close(cur);
        return rc;
    }
    unsigned char kb[OKEY_LEN];
    okey(kb, to_chain, from);
    MDB_val k = {OKEY_LEN, kb}, d;
    size_t seen = 0;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        const unsigned char *ik = k.mv_data;
        if (k.mv_size != OKEY_LEN) {
            rc = BH_ECORRUPT;
            break;
        }
        if (bh_be_get_u16(ik) != to_chain) break;
        MDB_val ok = {8, (void *)(ik + 2)}, od;
        int grc = mdb_cursor_get(oc, &ok, &od, MDB_SET_KEY);
        if (grc == MDB_NOTFOUND) continue; /* acknowledged by a build without the index */
        if (grc) {
            rc = bh_store_status(grc);
            break;
        }
        if ((rc = outbox_visit(v, &ok, &od, cb, ctx)) != 0) break;
        if (max_scan && ++seen >= max_scan) break;
    }
    mdb_cursor_close(oc);
    mdb_cursor_close(cur);
    if (!rc && mrc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
    return rc;
}

/* The whole outbox in id order, filtered. */
static int scan_outbox(bh_vault *v, MDB_txn *txn, uint16_t to_chain, uint64_t from, size_t max_scan,
                       bh_vault_outbox_cb cb, void *ctx)
{
    MDB_cursor *cur;
    int rc = bh_store_status(mdb_cursor_open(txn, v->db_outbox, &cur));
    if (rc) return rc;
    unsigned char kb[8];
    bh_be_put_u64(kb, from);
    MDB_val k = {8, kb}, d;
    size_t seen = 0;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        bh_vault_outbox_entry e;
        if (k.mv_size != 8 || vrec_outbox_get_to(&e.msg, &e.to, d.mv_data, d.mv_size)) {
            rc = vault_corrupt(v, "outbox", &k);
            break;
        }
        if (to_chain && e.to != to_chain) continue;
        e.id = bh_be_get_u64(k.mv_data);
        if ((rc = cb(ctx, &e)) != 0) break;
        if (max_scan && ++seen >= max_scan) break;
    }
    mdb_cursor_close(cur);
    if (!rc && mrc && mrc != MDB_NOTFOUND) rc = bh_store_status(mrc);
    return rc;
}

int bh_vault_outbox_scan_to(bh_vault *v, uint16_t to_chain, uint64_t after_id, size_t max_scan,
                            bh_vault_outbox_cb cb, void *ctx)
{
    if (!v || !cb) return BH_EINVAL;
    if (after_id == UINT64_MAX) return BH_OK;
    MDB_txn *txn;
    int rc = vault_txn_begin(v, MDB_RDONLY, &txn);
    if (rc) return rc;
    if (to_chain && outbox_index_current(v, txn))
        rc = scan_index(v, txn, to_chain, after_id + 1, max_scan, cb, ctx);
    else
        rc = scan_outbox(v, txn, to_chain, after_id + 1, max_scan, cb, ctx);
    vault_txn_abort(v, txn);
    return rc;
}

typedef struct {
    bh_vault_outbox_entry *out;
    size_t cap, n;
} peek_ctx;

static int peek_row(void *vctx, const bh_vault_outbox_entry *e)
{
    peek_ctx *c = vctx;
    c->out[c->n++] = *e;
    return 0;
}

int bh_vault_outbox_peek_to(bh_vault *v, bh_vault_outbox_entry *out, size_t cap, size_t *n,
                            uint16_t to_chain, uint64_t after_id)
{
    if (n) *n = 0;
    if (!v || !n || (cap && !out)) return BH_EINVAL;
    if (cap == 0) return BH_OK;
    peek_ctx c = {out, cap, 0};
    int rc = bh_vault_outbox_scan_to(v, to_chain, after_id, cap, peek_row, &c);
    if (!rc) *n = c.n;
    return rc;
}

static int outbox_ack_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    op_ctx *c = vctx;
    bh_transfer_msg m;
    return outbox_take(v, txn, c->id, &m, NULL);
}

int bh_vault_outbox_ack(bh_vault *v, uint64_t id)
{
    if (!v) return BH_EINVAL;
    op_ctx c = {.id = id};
    return run_write(v, outbox_ack_fn, &c);
}

static int park_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    op_ctx *c = vctx;
    vault_parked_rec r;
    memset(&r, 0, sizeof r);
    int rc = outbox_take(v, txn, c->id, &r.msg, &r.to);
    if (rc) return rc;
    size_t el = c->reason ? strlen(c->reason) : 0;
    if (el > sizeof r.error) el = sizeof r.error;
    memcpy(r.error, c->reason ? c->reason : "", el);
    r.error_len = (uint32_t)el;
    r.parked_at = c->now;
    r.tries = c->tries;
    unsigned char kb[8];
    bh_be_put_u64(kb, c->id);
    unsigned char pb[VREC_PARKED_MAX];
    MDB_val k = {8, kb}, d = {vrec_parked_put(pb, &r), pb};
    if ((rc = bh_store_status(mdb_put(txn, v->db_parked, &k, &d, 0)))) return rc;
    vault_jrec j;
    uint64_t jid;
    char why[BH_VAULT_REASON_MAX + 1];
    snprintf(why, sizeof why, "tries %u: %.*s", (unsigned)c->tries, (int)el, r.error);
    jrec_from_msg(&j, &r.msg, c->now);
    j.kind = BH_VJ_PARK;
    j.ref = c->id;
    return journal_put(v, txn, &j, c->actor, why, &jid);
}

int bh_vault_outbox_park(bh_vault *v, uint64_t id, uint64_t now, uint32_t tries,
                         const char *last_error, const char *actor)
{
    if (!v) return BH_EINVAL;
    v->err[0] = 0;
    op_ctx c = {.id = id, .now = now, .tries = tries, .reason = last_error, .actor = actor};
    return run_write(v, park_fn, &c);
}

static int requeue_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    op_ctx *c = vctx;
    unsigned char kb[8];
    bh_be_put_u64(kb, c->id);
    MDB_val k = {8, kb}, d;
    int rc = mdb_get(txn, v->db_parked, &k, &d);
    if (rc == MDB_NOTFOUND) {
        set_err(v, "vault %s has no parked entry %llu", v->name, (unsigned long long)c->id);
        return BH_ENOTFOUND;
    }
    if (rc) return bh_store_status(rc);
    vault_parked_rec r;
    if (vrec_parked_get(&r, d.mv_data, d.mv_size)) return vault_corrupt(v, "parked", &k);
    uint64_t oid, jid;
    if ((rc = bh_store_status(mdb_del(txn, v->db_parked, &k, NULL))) ||
        (rc = outbox_put_to(v, txn, &r.msg, r.to, &oid)))
        return rc;
    vault_jrec j;
    char why[BH_VAULT_REASON_MAX + 1];
    snprintf(why, sizeof why, "parked %llu: %s", (unsigned long long)c->id,
             c->reason ? c->reason : "");
    jrec_from_msg(&j, &r.msg, c->now);
    j.kind = BH_VJ_REQUEUE;
    j.ref = oid;
    return journal_put(v, txn, &j, c->actor, why, &jid);
}

int bh_vault_outbox_requeue(bh_vault *v, uint64_t id, uint64_t now, const char *actor,
                            const char *reason)
{
    if (!v) return BH_EINVAL;
    v->err[0] = 0;
    op_ctx c = {.id = id, .now = now, .actor = actor, .reason = reason};
    return run_write(v, requeue_fn, &c);
}

/* ---- assets, quarantine, limits ---- */

typedef struct {
    const bh_bytes32 *token;
    uint8_t decimals;
    const char *symbol;
    uint16_t chain;
    const char *key;
    bh_u128 value;
    uint64_t now;
    uint64_t from, to; /* a cursor's move */
    const char *actor, *reason;
} admin_ctx;

static int asset_add_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    admin_ctx *c = vctx;
    vault_casset *ca;
    int rc = cache_asset(v, txn, c->token, &ca);
    if (rc) return rc;
    if (ca->found) {
        set_err(v, "asset already registered in vault %s", v->name);
        return BH_EEXIST;
    }
    ca->found = ca->dirty = 1;
    ca->a.decimals = c->decimals;
    ca->a.created = c->now;
    ca->a.big_delay = BH_VAULT_DEFAULT_BIG_DELAY;
    if (c->symbol) snprintf(ca->a.symbol, sizeof ca->a.symbol, "%s", c->symbol);
    vault_jrec j = {.time = c->now,
                    .kind = BH_VJ_ASSET_ADD,
                    .token = *c->token,
                    .amount = c->decimals,
                    .chain = v->chain_id};
    uint64_t jid;
    return journal_put(v, txn, &j, c->actor, c->reason ? c->reason : "asset registered", &jid);
}

int bh_vault_asset_add(bh_vault *v, const bh_bytes32 *token, uint8_t decimals, const char *symbol,
                       uint64_t now, const char *actor, const char *reason)
{
    if (!v || !token || decimals > 38) return BH_EINVAL;
    v->err[0] = 0;
    admin_ctx c = {.token = token,
                   .decimals = decimals,
                   .symbol = symbol,
                   .now = now,
                   .actor = actor,
                   .reason = reason};
    return run_write(v, asset_add_fn, &c);
}

static int freeze_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    admin_ctx *c = vctx;
    unsigned char kb[2];
    bh_be_put_u16(kb, c->chain);
    MDB_val k = {2, kb}, d;
    int frozen = mdb_get(txn, v->db_quarantine, &k, &d) == 0;
    int freeze = c->key != NULL;
    if (freeze && frozen) {
        set_err(v, "chain %u is already quarantined in vault %s", c->chain, v->name);
        return BH_EEXIST;
    }
    if (!freeze && !frozen) {
        set_err(v, "chain %u is not quarantined in vault %s", c->chain, v->name);
        return BH_ENOTFOUND;
    }
    int rc;
    if (freeze) {
        bh_vault_quarantine q;
        memset(&q, 0, sizeof q);
        q.chain = c->chain;
        q.since = c->now;
        snprintf(q.actor, sizeof q.actor, "%s", c->actor ? c->actor : "");
        snprintf(q.reason, sizeof q.reason, "%s", c->reason ? c->reason : "");
        unsigned char qb[VREC_QUARANTINE_MAX];
        d.mv_size = vrec_quarantine_put(qb, &q);
        d.mv_data = qb;
        rc = mdb_put(txn, v->db_quarantine, &k, &d, 0);
    } else {
        rc = mdb_del(txn, v->db_quarantine, &k, NULL);
    }
    if (rc) return bh_store_status(rc);
    vault_jrec j = {
        .time = c->now, .kind = freeze ? BH_VJ_FREEZE : BH_VJ_UNFREEZE, .chain = c->chain};
    uint64_t jid;
    return journal_put(v, txn, &j, c->actor, c->reason, &jid);
}

static int cursor_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    const admin_ctx *c = vctx;
    vault_jrec j = {.time = c->now,
                    .kind = BH_VJ_CURSOR,
                    .chain = c->chain,
                    .ref = c->from,
                    .amount = (bh_u128)c->to};
    uint64_t jid;
    return journal_put(v, txn, &j, c->actor, c->reason, &jid);
}

int bh_vault_journal_cursor(bh_vault *v, uint16_t chain, uint64_t from, uint64_t to, uint64_t now,
                            const char *actor, const char *reason)
{
    if (!v || chain == 0) return BH_EINVAL;
    v->err[0] = 0;
    admin_ctx c = {
        .chain = chain, .from = from, .to = to, .now = now, .actor = actor, .reason = reason};
    return run_write(v, cursor_fn, &c);
}

int bh_vault_freeze(bh_vault *v, uint16_t chain, uint64_t now, const char *actor,
                    const char *reason)
{
    if (!v || chain == 0) return BH_EINVAL;
    v->err[0] = 0;
    admin_ctx c = {.chain = chain, .key = "freeze", .now = now, .actor = actor, .reason = reason};
    return run_write(v, freeze_fn, &c);
}

int bh_vault_unfreeze(bh_vault *v, uint16_t chain, uint64_t now, const char *actor,
                      const char *reason)
{
    if (!v || chain == 0) return BH_EINVAL;
    v->err[0] = 0;
    admin_ctx c = {.chain = chain, .now = now, .actor = actor, .reason = reason};
    return run_write(v, freeze_fn, &c);
}

/* Split "name.<chain>" into name and chain; chain 0 when absent. */
static int split_key(const char *key, char *name, size_t cap, uint16_t *chain)
{
    const char *dot = strchr(key, '.');
    size_t n = dot ? (size_t)(dot - key) : strlen(key);
    if (n == 0 || n >= cap) return BH_EINVAL;
    memcpy(name, key, n);
    name[n] = 0;
    *chain = 0;
    if (dot) {
        char *end;
        errno = 0;
        unsigned long c = strtoul(dot + 1, &end, 10);
        if (!dot[1] || *end || errno || c == 0 || c > 65535) return BH_EINVAL;
        *chain = (uint16_t)c;
    }
    return BH_OK;
}

static int set_limit_fn(bh_vault *v, MDB_txn *txn, void *vctx)
{
    admin_ctx *c = vctx;
    char name[32];
    uint16_t chain = 0;
    int rc, known;
    if (c->token) {
        vault_casset *ca;
        if ((rc = cache_asset(v, txn, c->token, &ca))) return rc;
        if (!ca->found) {
            set_err(v, "no such asset in vault %s", v->name);
            return BH_ENOTFOUND;
        }
    }
    rc = vault_value_set_limit(v, txn, c->token, c->key, c->value, c->now, &known);
    if (known && rc) return rc;
    if (known) goto journal;
    if (split_key(c->key, name, sizeof name, &chain)) goto bad;
    if (!c->token) {
        if (strcmp(name, "msg_limit") != 0) goto bad;
        if (c->value > UINT32_MAX) return BH_ERANGE;
        if (chain == 0) {
            v->seq.msg_limit_default = (uint32_t)c->value;
        } else {
            vault_cchain *cc;
            if ((rc = cache_chain(v, txn, chain, &cc))) return rc;
            cc->r.msg_limit = (uint32_t)c->value;
            cc->dirty = 1;
        }
    } else {
        vault_casset *ca;
        if ((rc = cache_asset(v, txn, c->token, &ca))) return rc;
        if (!ca->found) {
            set_err(v, "no such asset in vault %s", v->name);
            return BH_ENOTFOUND;
        }
        if (chain == 0) {
            if (!strcmp(name, "big_threshold")) {
                ca->a.big_threshold = c->value;
            } else if (!strcmp(name, "big_delay")) {
                if (c->value > UINT32_MAX) return BH_ERANGE;
                ca->a.big_delay = (uint64_t)c->value;
            } else if (!strcmp(name, "min_amount")) {
                /* in meta, so the asset record keeps the size older vaults have */
                ca->min_amount = c->value;
                ca->min_dirty = 1;
            } else {
                goto bad;
            }
            ca->dirty = 1;
        } else {
            vault_clane *cl;
            if ((rc = cache_lane(v, txn, c->token, chain, &cl))) return rc;
            bh_vault_lane *l = &cl->l;
            if (!strcmp(name, "cap"))
                l->cap = c->value;
            else if (!strcmp(name, "window"))
                l->window_limit = c->value;
            else if (!strcmp(name, "in_capacity")) {
                if (!l->in.capacity) l->in.last = c->now;
                l->in.capacity = c->value;
                if (l->in.level > c->value || !l->in.refill) l->in.level = c->value;
            } else if (!strcmp(name, "in_refill")) {
                bucket_refill(&l->in, c->now);
                l->in.refill = c->value;
            } else if (!strcmp(name, "out_capacity")) {
                if (!l->out.capacity) l->out.last = c->now;
                l->out.capacity = c->value;
                if (l->out.level > c->value || !l->out.refill) l->out.level = c->value;
            } else if (!strcmp(name, "out_refill")) {
                bucket_refill(&l->out, c->now);
                l->out.refill = c->value;
            } else {
                goto bad;
            }
            cl->dirty = 1;
        }
    }
journal:;
    char dec[BH_U128_DEC_MAX], why[BH_VAULT_REASON_MAX + 1];
    bh_u128_to_dec(dec, c->value);
    snprintf(why, sizeof why, "%s=%s%s%s", c->key, dec, c->reason ? ": " : "",
             c->reason ? c->reason : "");
    vault_jrec j = {.time = c->now, .kind = BH_VJ_LIMITS, .chain = chain, .amount = c->value};
    if (c->token) j.token = *c->token;
    uint64_t jid;
    return journal_put(v, txn, &j, c->actor, why, &jid);
bad:
    set_err(v, "unknown limit key '%s'", c->key);
    return BH_EINVAL;
}

int bh_vault_set_limit(bh_vault *v, const bh_bytes32 *token, const char *key, bh_u128 value,
                       uint64_t now, const char *actor, const char *reason)
{
    if (!v || !key) return BH_EINVAL;
    v->err[0] = 0;
    admin_ctx c = {
        .token = token, .key = key, .value = value, .now = now, .actor = actor, .reason = reason};
    return run_write(v, set_limit_fn, &c);
}
