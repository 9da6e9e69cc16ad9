/* The storage layer under the vaults and the node store: one LMDB
 * environment per directory, with map growth, one translation of LMDB codes
 * into bulkhead statuses, a schema record per environment, and the stored
 * form of a transfer message (which both environments keep).
 *
 * Callers still use LMDB for their own tables (mdb_get, mdb_put, cursors)
 * inside transactions begun here; every LMDB code they see goes through
 * bh_store_status before it leaves them, so none leaks past their module.
 *
 * Threads: a store may be used by several threads at once (the node store
 * is). The map is only resized when no transaction of this process is open
 * on it, which LMDB requires: bh_store_begin holds a shared lock until
 * bh_store_commit or bh_store_abort, and growth takes it exclusively. A
 * thread must not start a write (bh_store_write) while it holds another
 * transaction of any store open: growth would then have to wait for itself,
 * so it is refused with BH_EMAPFULL instead. */
#ifndef BH_STORE_H
#define BH_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_transfer.h"

typedef struct bh_store bh_store;

typedef struct {
    size_t map_size;  /* initial map size in bytes; 0 = 64 MiB */
    size_t map_max;   /* the map never grows past this; 0 = 64 GiB */
    unsigned max_dbs; /* named tables the environment may have */
    int read_only;    /* MDB_RDONLY */
    int no_sync;      /* MDB_NOSYNC: tests and benchmarks only */
} bh_store_opts;

/* Open the environment in dir (which must exist), files mode 0600. Frees
 * reader slots left by dead processes.
 * Returns: BH_OK; BH_ENOTFOUND if dir has no environment and read_only is
 *          set, or dir is missing; BH_EPERM; an errno; BH_ECORRUPT.
 * Out: out  caller closes with bh_store_close; NULL on error.
 *      why  a human explanation of a failure (always set). */
BH_WARN_UNUSED_RESULT int bh_store_open(bh_store **out, const char *dir, const bh_store_opts *opts,
                                        char *why, size_t why_cap);

/* Close; NULL is a no-op. No transaction may be open. */
void bh_store_close(bh_store *s);

/* Returns: the environment (borrowed, lives as long as s). */
MDB_env *bh_store_env(bh_store *s);

/* Returns: the current map size in bytes. */
size_t bh_store_map_size(bh_store *s);

/* Returns: the last failure explained for humans ("" if none); borrowed,
 *          valid until the next call on s from any thread. */
const char *bh_store_errmsg(const bh_store *s);

/* LMDB code -> bulkhead status: 0 -> BH_OK; an errno (positive) passes
 * through unchanged; MDB_NOTFOUND -> BH_ENOTFOUND; MDB_KEYEXIST ->
 * BH_EEXIST; MDB_MAP_FULL -> BH_EMAPFULL; damaged or foreign files ->
 * BH_ECORRUPT; a full reader, txn, cursor or table slot -> BH_EBUSY;
 * misuse (bad txn, dbi, value size) -> BH_EINVAL; anything else -> BH_EIO. */
int bh_store_status(int mdb_rc);

/* Begin a transaction (flags: 0 or MDB_RDONLY). A map another process grew
 * (MDB_MAP_RESIZED) is adopted and the begin retried.
 * Returns: BH_OK; a status from bh_store_status. On success the caller
 *          ends it with bh_store_commit or bh_store_abort, in this thread. */
BH_WARN_UNUSED_RESULT int bh_store_begin(bh_store *s, unsigned flags, MDB_txn **txn);
/* Returns: BH_OK; BH_EMAPFULL; a status. The transaction is gone either way. */
BH_WARN_UNUSED_RESULT int bh_store_commit(bh_store *s, MDB_txn *txn);
void bh_store_abort(bh_store *s, MDB_txn *txn);

/* Run fn in one write transaction and commit it. If fn or the commit finds
 * the map full, nothing is kept: the map doubles (up to map_max) and fn runs
 * again from the start, in a new transaction.
 * Returns: fn's status if not BH_OK (the transaction is aborted); BH_OK
 *          once committed; BH_EMAPFULL if the map cannot grow (see
 *          bh_store_errmsg); BH_ESTATE if opened read-only. */
typedef int (*bh_store_txn_fn)(void *ctx, MDB_txn *txn);
BH_WARN_UNUSED_RESULT int bh_store_write(bh_store *s, bh_store_txn_fn fn, void *ctx);

/* Run fn in one write transaction and abort it, whatever fn returns: every
 * check and every write fn makes, then nothing kept (a dry run). The map
 * is not grown.
 * Returns: fn's status; BH_EMAPFULL if the transaction needs more map than
 *          there is now; BH_ESTATE if opened read-only. */
BH_WARN_UNUSED_RESULT int bh_store_write_dry(bh_store *s, bh_store_txn_fn fn, void *ctx);

/* ---- schema record: key "schema" in an environment's meta table ----
 *
 *   u8 record version (1) | "BHSC" | u8 environment kind | u32 schema
 *
 * Before this record existed the vaults stored their schema as a 4-byte
 * native (little-endian) u32, and the node store stored none. */
#define BH_STORE_SCHEMA_KEY "schema"
#define BH_STORE_SCHEMA_LEN 10

typedef enum {
    BH_STORE_KIND_VAULT = 1, /* DATA_DIR/vaults/<chain> */
    BH_STORE_KIND_NODE = 2   /* DATA_DIR/node */
} bh_store_kind;

/* Read the schema of the environment whose meta table is dbi.
 * Returns: BH_OK; BH_ENOTFOUND if there is no schema record;
 *          BH_ECORRUPT if it is malformed or names another kind.
 * Out: schema  the version (a 4-byte legacy vault record reads as its
 *              value); legacy  1 for that legacy form, else 0 (may be NULL). */
BH_WARN_UNUSED_RESULT int bh_store_schema_get(MDB_txn *txn, MDB_dbi dbi, bh_store_kind kind,
                                              uint32_t *schema, int *legacy);
BH_WARN_UNUSED_RESULT int bh_store_schema_put(MDB_txn *txn, MDB_dbi dbi, bh_store_kind kind,
                                              uint32_t schema);

/* ---- the stored form of a transfer message (247 bytes, no version:
 * it lives inside records that have one) ----
 *
 *   u16 emitter_chain | emitter[32] | u64 sequence | u32 timestamp |
 *   digest[32] | transfer.amount[32] | transfer.token[32] |
 *   u16 transfer.token_chain | transfer.to[32] | u16 transfer.to_chain |
 *   transfer.fee[32] | u128 amount | u128 fee | u32 nonce | u8 consistency
 *
 * Every field as it is in memory, integers big-endian: nothing is checked
 * or normalised, a stored message reads back exactly. */
#define BH_STORE_MSG_LEN 247

/* Out: out  exactly BH_STORE_MSG_LEN bytes. */
void bh_store_msg_put(unsigned char *out, const bh_transfer_msg *m);
/* In: in  exactly BH_STORE_MSG_LEN bytes. Out: m  every field set. */
void bh_store_msg_get(bh_transfer_msg *m, const unsigned char *in);

/* The form every build before the explicit records stored: the x86-64
 * memory image of bh_transfer_msg (272 bytes, little-endian integers,
 * padding ignored). For migrations only.
 * In: in  exactly BH_STORE_MSG_V1_LEN bytes. Out: m  every field set. */
#define BH_STORE_MSG_V1_LEN 272
void bh_store_msg_get_v1(bh_transfer_msg *m, const unsigned char *in);

#endif
