/* Vault internals shared by the vaults/src files. Not a public header. */
#ifndef BH_VAULT_INTERNAL_H
#define BH_VAULT_INTERNAL_H

#include <limits.h>
#include <lmdb.h>
#include "bh_be.h"
#include "bh_store.h"
#include "bh_value.h"
#include "bh_vault.h"

/* In-memory forms of the records only vaults/src stores; their stored
 * forms are in vault_records.h. */

/* Per-chain counters and limits (chains DB, key: u16 big-endian). */
typedef struct {
    uint32_t msg_limit; /* per 24 h; 0 = use the vault default */
    uint32_t count[BH_VAULT_WINDOW_SLOTS];
    uint64_t hour[BH_VAULT_WINDOW_SLOTS];
} vault_chain_rec;

/* Counters stored under meta "seq", rewritten by every write txn. */
typedef struct {
    uint64_t next_journal;
    uint64_t next_pending;
    uint64_t next_outbox;
    uint32_t msg_limit_default;
    uint32_t pad_;
} vault_seq;

/* Pending record (pending DB, key: u64 id big-endian). */
typedef struct {
    uint64_t created;
    uint64_t release_at;
    uint32_t cause;
    uint32_t applied; /* VAULT_P_* flags */
    bh_transfer_msg msg;
} vault_pending_rec;

/* Pending flags. WINDOW is only ever set with APPLIED, so a build that
 * reads `applied` as a boolean still sees an applied transfer. A record
 * without WINDOW was written before windows counted at release: it was
 * booked at arrival (or is big) and is released without the window. */
#define VAULT_P_APPLIED 1u /* the ledger holds its effect */
#define VAULT_P_WINDOW 2u  /* counts in its source lane's window when released */
#define VAULT_P_VALUE                                                                              \
    4u /* counts in the value windows when released (a big one: priced and checked then) */
/* Waits in the queue of value_window.SRC / value_lane.SRC.DST (cause value,
 * counted in meta "vq.SRC" / "vq.SRC.DST"): newer transfers that count in
 * that window wait behind it. */
#define VAULT_P_VQ_SRC 8u
#define VAULT_P_VQ_LANE 16u
#define VAULT_P_VQ (VAULT_P_VQ_SRC | VAULT_P_VQ_LANE)

/* Parked record (parked DB, key: u64 outbox id big-endian). */
typedef struct {
    uint64_t parked_at;
    uint32_t tries;
    uint32_t error_len;
    char error[BH_VAULT_ERROR_MAX]; /* error_len bytes, no NUL */
    bh_transfer_msg msg;
    uint16_t to; /* where it is delivered: msg's destination, or home for a hop notice */
} vault_parked_rec;

/* Journal record header (journal DB, key: u64 id big-endian), followed by
 * actor_len bytes of actor and reason_len bytes of reason. */
typedef struct {
    uint64_t time;
    uint64_t ref;
    uint64_t sequence;
    uint32_t kind;
    uint32_t effects;
    uint32_t reject;
    uint16_t chain;
    uint16_t lane_dec;
    uint16_t lane_inc;
    uint16_t emitter_chain;
    uint8_t actor_len;
    uint8_t reason_len;
    uint8_t pad_[2];
    bh_bytes32 emitter;
    bh_hash32 digest;
    bh_bytes32 token;
    bh_u128 amount;
} vault_jrec;

/* Batch cache entries: records read once per write txn, written once. */
typedef struct {
    bh_bytes32 token;
    int found;
    int dirty;
    int min_dirty;
    bh_vault_asset a;
    bh_u128 min_amount; /* meta "min.<token hex>"; 0 = none */
} vault_casset;

typedef struct {
    bh_bytes32 token;
    uint16_t chain;
    int dirty;
    int wq_loaded, wq_dirty;
    uint64_t wq; /* meta "wq.<token hex>.<chain>": pending that wait for this window */
    bh_vault_lane l;
} vault_clane;

typedef struct {
    uint16_t chain;
    int dirty;
    int frozen;
    vault_chain_rec r;
} vault_cchain;

struct bh_vault {
    bh_store *st;
    MDB_dbi db_meta, db_assets, db_lanes, db_processed, db_pending, db_outbox, db_journal,
        db_quarantine, db_chains;
    /* tables newer than the first vaults: made at a read-write open, absent
     * (has_* 0) on a read-only handle of a vault no newer build has written */
    MDB_dbi db_parked, db_outbox_to;
    int has_parked, has_outbox_to;
    uint16_t chain_id;
    int read_only;
    int dry_run; /* bh_vault_opts.dry_run: run_write aborts what it ran */
    bh_store_opts sopts;
    char name[BH_VAULT_NAME_MAX + 1];
    char path[PATH_MAX];
    char err[512];
    /* write-txn scratch */
    vault_seq seq;
    uint64_t oix; /* next_outbox the outbox_to index covered when the txn began */
    uint64_t rejects[BH_REJECT_COUNT_];
    vault_casset **ca; /* made entries, the first n in use */
    size_t nca, capca, madeca;
    vault_clane **cl;
    size_t ncl, capcl, madecl;
    vault_cchain **cc;
    size_t ncc, capcc, madecc;
};

/* Transactions of v's store; a failure to begin is explained in v->err. */
int vault_txn_begin(bh_vault *v, unsigned flags, MDB_txn **txn);
int vault_txn_commit(bh_vault *v, MDB_txn *txn);
void vault_txn_abort(bh_vault *v, MDB_txn *txn);

/* Explain a record of table that does not decode. Returns: BH_ECORRUPT. */
int vault_corrupt(bh_vault *v, const char *table, const MDB_val *key);

void vault_set_err(bh_vault *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* meta "seq" of the snapshot txn. Returns: BH_OK; BH_ENOTFOUND; BH_ECORRUPT. */
int vault_seq_get(MDB_txn *txn, MDB_dbi dbi, vault_seq *s);

/* Append a journal entry (actor, reason truncated to their maxima).
 * Out: id_out  its id. */
int vault_journal_put(bh_vault *v, MDB_txn *txn, vault_jrec *j, const char *actor,
                      const char *reason, uint64_t *id_out);

/* Migrate a schema 1 vault (struct copies) to schema 2 in one write
 * transaction, journaled (BH_VJ_MIGRATE). Returns: BH_OK; BH_ECORRUPT (a
 * record it cannot read: nothing changed, see v->err); a store status. */
int vault_migrate_v1(bh_vault *v);

/* Apply effect flags to an asset and its lanes without breaking an
 * invariant. Returns: BH_REJECT_OK (records updated) or the reason (records
 * untouched). dec/inc may be NULL when their flag is absent. */
bh_reject vault_effect(bh_vault_asset *a, bh_vault_lane *dec, bh_vault_lane *inc, unsigned effects,
                       bh_u128 amount, int check_cap);

/* Decode a journal record into a public entry. Returns: BH_OK; BH_ECORRUPT. */
int vault_jrec_decode(bh_vault_journal_entry *out, uint64_t id, const MDB_val *val);

/* The tables: every vault has them all from schema 2 on. */
#define VAULT_N_DBS 11
extern const char *const vault_db_names[VAULT_N_DBS];
MDB_dbi *vault_db_slot(bh_vault *v, int i);

/* meta key of an asset's min_amount: "min." + 64 hex digits. */
#define VAULT_MIN_KEY_LEN 68
void vault_min_key(char out[VAULT_MIN_KEY_LEN + 1], const bh_bytes32 *token);

/* ---- value limits (vault_value.c) ---- */

/* What the value limits say of one transfer at one time. */
typedef struct {
    int active;       /* a value window or threshold applies to it */
    int priced;       /* value is known */
    char why[192];    /* not priced: why (missing, stale, suspect) */
    bh_u128 value;    /* quote units, rounded up */
    bh_u128 lim_src;  /* effective value_window.SRC; 0 = none */
    bh_u128 lim_lane; /* effective value_lane.SRC.DST; 0 = none */
    bh_u128 threshold;
    int tightened; /* the segment's limits are below their sizes now */
} vault_vcheck;

/* Evaluate m (of an asset with `decimals`) at now. */
int vault_value_eval(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, unsigned decimals,
                     uint64_t now, vault_vcheck *out);
/* When c->value fits both of its windows (UINT64_MAX: larger than one).
 * Out: ready; full  VAULT_P_VQ_SRC / _LANE for each window it does not fit now. */
int vault_value_room(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, const vault_vcheck *c,
                     uint64_t now, uint64_t *ready, uint32_t *full);
/* How many pending wait in the queue of value window (src, dst); dst 0:
 * value_window.SRC. Out: n (0 when none). */
int vault_vq_get(bh_vault *v, MDB_txn *txn, uint16_t src, uint16_t dst, uint64_t *n);
/* One more (delta > 0) or one fewer (never below 0) in that queue. */
int vault_vq_add(bh_vault *v, MDB_txn *txn, uint16_t src, uint16_t dst, int delta);
/* Count m in its value windows (when priced) and, for a return home whose
 * source has flow_cancel, pay down the home's windows toward it. */
int vault_value_count(bh_vault *v, MDB_txn *txn, const bh_transfer_msg *m, unsigned decimals,
                      const vault_vcheck *c, uint64_t now);
/* Relax a tightened segment whose calm period is over (journaled). */
int vault_segment_tick(bh_vault *v, MDB_txn *txn, uint64_t now);
/* A write transaction of v (map growth, counters, batch cache, dry run). */
int vault_run_write(bh_vault *v, int (*fn)(bh_vault *v, MDB_txn *txn, void *ctx), void *ctx);
/* set_limit for value keys. Returns: BH_OK; BH_EINVAL (*known 0: not a value key). */
int vault_value_set_limit(bh_vault *v, MDB_txn *txn, const bh_bytes32 *token, const char *key,
                          bh_u128 value, uint64_t now, int *known);

#endif
