/* Vaults: one LMDB ledger per home chain.
 *
 * A vault S backs every wrapped copy of the tokens whose home chain is S.
 * Per asset it holds `locked` (custody on S) and, per remote chain D,
 * `outstanding[D]` (wrapped supply on D). A transfer message m applied to
 * vault S (m.transfer.token_chain == S) with source C = m.emitter_chain and
 * destination D = m.transfer.to_chain moves m.amount as follows:
 *
 *   lock    (C == S): locked += a; outstanding[D] += a
 *   return  (D == S): outstanding[C] -= a; locked -= a
 *                     refused (exceeds_outstanding) if a > outstanding[C]
 *   hop     (else):   outstanding[C] -= a; outstanding[D] += a
 *                     refused (exceeds_outstanding) if a > outstanding[C]
 *
 * and always Σ_D outstanding[D] <= locked and outstanding[D] <= cap[D].
 * So a forged message claiming chain C costs S at most outstanding[C], and
 * nothing at all in a vault that never minted onto C (outstanding is 0).
 *
 * Files: DATA_DIR/vaults/<name>/{data.mdb,lock.mdb}, mode 0600. A vault
 * handle is used by one thread at a time and never carried across fork();
 * several processes may open the same vault (LMDB readers never block the
 * single writer, and writers from several processes take turns).
 *
 * Time is always an input (`now`, seconds since the epoch) so behaviour is
 * reproducible. All amounts are in the token's smallest unit. */
#ifndef BH_VAULT_H
#define BH_VAULT_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_reject.h"
#include "bh_transfer.h"
#include "bh_types.h"

/* On-disk schema this build reads and writes: 2, explicit big-endian
 * records (docs/ARCHITECTURE.md, "On disk"). A schema 1 vault (records
 * copied from C structs, every build before) is migrated by the first
 * read-write open, in one transaction, journaled (BH_VJ_MIGRATE); a
 * read-only open refuses it (BH_ESCHEMA). Any other version is refused at
 * open (BH_ESCHEMA), never rewritten. */
#define BH_VAULT_SCHEMA 2

#define BH_VAULT_NAME_MAX 32    /* chain name: [a-z0-9_-]{1,32} */
#define BH_VAULT_ACTOR_MAX 32   /* journal actor, bytes, truncated beyond */
#define BH_VAULT_REASON_MAX 160 /* journal reason, bytes, truncated beyond */
#define BH_VAULT_ERROR_MAX 160  /* a parked entry's last delivery error, bytes */
#define BH_VAULT_SYMBOL_MAX 16
#define BH_VAULT_WINDOW_SLOTS 24 /* sliding window: 24 slots of one hour */
#define BH_VAULT_DEFAULT_BIG_DELAY (24u * 3600u)

typedef struct bh_vault bh_vault;

typedef struct {
    size_t map_size; /* initial map size in bytes; 0 = 64 MiB */
    size_t map_max;  /* the map never grows past this; 0 = 64 GiB */
    int read_only;   /* open without write access (vaultctl readers) */
    int no_sync;     /* MDB_NOSYNC: tests and benchmarks only; never the node */
    int dry_run;     /* every change runs, with all its checks, then is discarded
                        (vaultctl --dry-run): results as if done, nothing written */
} bh_vault_opts;

/* ---- stored records (views; amounts in smallest units) ---- */

/* A token bucket: `capacity` 0 means no bucket. `debt` is what delayed
 * transfers borrowed ahead of refill; level and debt are never both > 0. */
typedef struct {
    bh_u128 capacity;
    bh_u128 refill; /* units per second */
    bh_u128 level;
    bh_u128 debt;
    uint64_t last; /* time of the last refill */
    uint64_t pad_;
} bh_vault_bucket;

/* One asset's state toward one chain (the lane). For the home chain's own
 * lane only the buckets and the window are used (outstanding stays 0). */
typedef struct {
    bh_u128 outstanding;
    bh_u128 cap;          /* exposure cap on outstanding; 0 = none */
    bh_u128 window_limit; /* 24 h sum of transfers from this chain; 0 = none */
    bh_vault_bucket in;   /* transfers coming from this chain */
    bh_vault_bucket out;  /* transfers going to this chain */
    uint64_t window_hour[BH_VAULT_WINDOW_SLOTS];
    bh_u128 window_sum[BH_VAULT_WINDOW_SLOTS];
} bh_vault_lane;

typedef struct {
    bh_u128 locked;
    bh_u128 outstanding_total; /* Σ over lanes, kept for an O(1) check */
    bh_u128 big_threshold;     /* transfers >= this wait big_delay; 0 = off */
    uint64_t big_delay;        /* seconds */
    uint64_t created;
    uint8_t decimals;
    char symbol[BH_VAULT_SYMBOL_MAX + 1];
    uint8_t pad_[6];
} bh_vault_asset;

typedef enum {
    BH_VAULT_ACCEPTED = 0, /* applied, in the outbox */
    BH_VAULT_DELAYED,      /* applied, in pending until release_at */
    BH_VAULT_HELD,         /* in pending until an operator acts */
    BH_VAULT_REJECTED      /* nothing applied; see reason */
} bh_vault_status;

/* Why a transfer waits in pending. */
typedef enum {
    BH_VAULT_CAUSE_NONE = 0,
    BH_VAULT_CAUSE_BUCKET,     /* token bucket empty: waits for refill */
    BH_VAULT_CAUSE_WINDOW,     /* 24 h window full, or earlier transfers of the
                                  lane wait for it: re-checked at every release */
    BH_VAULT_CAUSE_BIG,        /* at or above the big-transfer threshold */
    BH_VAULT_CAUSE_CAPACITY,   /* larger than a bucket or window: operator */
    BH_VAULT_CAUSE_QUARANTINE, /* a chain is quarantined: operator; not applied */
    BH_VAULT_CAUSE_RETIMED,    /* an operator set the release time */
    BH_VAULT_CAUSE_VALUE,      /* a 24 h value window (bh_value.h) is full:
                                  re-checked at every release, at its price then */
    BH_VAULT_CAUSE_PRICE,      /* a value limit applies but the asset has no usable
                                  price (missing, stale or a jump past its bound):
                                  fails closed, re-checked at every release */
    BH_VAULT_CAUSE_VALUE_BIG   /* worth at least the source's value threshold:
                                  waits the asset's big_delay, outside the windows */
} bh_vault_cause;

/* Returns: a stable name ("bucket", "quarantine", ...); never NULL. */
const char *bh_vault_cause_name(bh_vault_cause c);
/* Returns: a stable name ("accepted", "delayed", "held", "rejected"). */
const char *bh_vault_status_name(bh_vault_status s);

typedef struct {
    bh_vault_status status;
    bh_reject reason;     /* REJECTED: why; HELD by quarantine: chain_quarantined */
    bh_vault_cause cause; /* DELAYED/HELD: why it waits */
    uint64_t release_at;  /* DELAYED: when it becomes due; else 0 */
    uint64_t pending_id;  /* DELAYED/HELD: id in pending; else 0 */
    uint64_t journal_id;  /* the journal entry written for this message */
} bh_vault_result;

typedef struct {
    uint64_t id;
    uint64_t created;
    uint64_t release_at; /* 0: waits for an operator */
    uint32_t cause;      /* bh_vault_cause */
    uint32_t applied;    /* 1 if the ledger already holds its effect */
    bh_transfer_msg msg;
} bh_vault_pending;

/* An entry is delivered to `to`: its message's destination, or, for the
 * hop notice that goes with every hop (source and destination both remote),
 * the vault's home chain, whose Portal moves its outstanding from the
 * source to the destination on the same attested message. */
typedef struct {
    uint64_t id;
    uint16_t to;
    bh_transfer_msg msg;
} bh_vault_outbox_entry;

/* An outbox entry moved aside after failed deliveries (still applied). */
typedef struct {
    uint64_t id;        /* its outbox id */
    uint64_t parked_at; /* time it was parked */
    uint32_t tries;     /* failed deliveries, as the deliverer counted them */
    char last_error[BH_VAULT_ERROR_MAX + 1];
    uint16_t to; /* where it is delivered (see bh_vault_outbox_entry) */
    bh_transfer_msg msg;
} bh_vault_parked;

typedef enum {
    BH_VJ_ACCEPT = 1, /* message applied and delivered to the outbox */
    BH_VJ_DELAY,      /* message applied, parked in pending (ref = pending id) */
    BH_VJ_HOLD,       /* message parked unapplied (quarantine) */
    BH_VJ_REJECT,     /* message refused (reject set) */
    BH_VJ_RELEASE,    /* pending ref released to the outbox (may apply) */
    BH_VJ_DROP,       /* pending ref dropped (reverses its effect) */
    BH_VJ_RETIME,     /* pending ref re-timed (amount = new release time) */
    BH_VJ_FREEZE,     /* chain quarantined */
    BH_VJ_UNFREEZE,   /* quarantine lifted */
    BH_VJ_LIMITS,     /* a limit changed (reason holds key=value) */
    BH_VJ_ASSET_ADD,  /* asset registered (amount = decimals) */
    BH_VJ_INIT,       /* vault created */
    BH_VJ_PARK,       /* outbox ref parked after failed deliveries (reason: tries, error) */
    BH_VJ_REQUEUE,    /* parked entry back in the outbox (ref = its new outbox id) */
    BH_VJ_MIGRATE,    /* the vault's records re-encoded to a new schema (reason says which) */
    BH_VJ_CURSOR,     /* an operator moved a chain's watcher back (ref = from block,
                         amount = to block); no ledger effect */
    BH_VJ_PRICE,      /* a price observation that changed what limits admit (a jump
                         past its bound: token = asset, amount = the price, reason
                         the evidence); no ledger effect */
    BH_VJ_SEGMENT     /* the segment tightened or relaxed (ref = bh_vault_segment_state,
                         token = the asset whose price moved, reason = the prices) */
} bh_vault_jkind;

/* Ledger effect flags of a journal entry; audit replays exactly these. */
#define BH_VJ_LOCK_ADD 1u /* locked += amount */
#define BH_VJ_LOCK_SUB 2u /* locked -= amount */
#define BH_VJ_LANE_DEC 4u /* outstanding[lane_dec] -= amount */
#define BH_VJ_LANE_INC 8u /* outstanding[lane_inc] += amount */

typedef struct {
    uint64_t id;
    uint64_t time;
    uint64_t ref;     /* pending id or outbox id, by kind */
    uint32_t kind;    /* bh_vault_jkind */
    uint32_t effects; /* BH_VJ_* flags */
    uint32_t reject;  /* bh_reject for REJECT, else 0 */
    uint16_t chain;   /* FREEZE/UNFREEZE/LIMITS: the chain concerned */
    uint16_t lane_dec;
    uint16_t lane_inc;
    uint16_t emitter_chain;
    bh_bytes32 emitter;
    uint64_t sequence;
    bh_hash32 digest;
    bh_bytes32 token;
    bh_u128 amount;
    char actor[BH_VAULT_ACTOR_MAX + 1];
    char reason[BH_VAULT_REASON_MAX + 1];
} bh_vault_journal_entry;

typedef struct {
    uint16_t chain;
    uint64_t since;
    char actor[BH_VAULT_ACTOR_MAX + 1];
    char reason[BH_VAULT_REASON_MAX + 1];
} bh_vault_quarantine;

typedef struct {
    char name[BH_VAULT_NAME_MAX + 1];
    uint16_t chain_id;
    uint32_t schema;
    uint64_t created;
    uint32_t msg_limit_default; /* per source chain per 24 h; 0 = none */
    uint64_t next_journal;
    uint64_t next_pending;
    uint64_t next_outbox;
    uint64_t rejects[BH_REJECT_COUNT_]; /* rejections counted by reason */
    uint64_t outbox_depth;              /* entries waiting for delivery */
    uint64_t pending_count;             /* delayed and held transfers */
    uint64_t parked_count;              /* outbox entries parked, not being delivered */
} bh_vault_info;

/* ---- lifecycle ---- */

/* Create a new, empty vault directory DATA_DIR/vaults/NAME/.
 * Returns: BH_OK; BH_EINVAL for a bad name, chain_id 0 or NULL;
 *          BH_EEXIST if a vault is already there; BH_EIO, errno.
 * In: actor, reason  journaled with the creation (may be NULL). */
BH_WARN_UNUSED_RESULT int bh_vault_init_dir(const char *data_dir, const char *name,
                                            uint16_t chain_id, uint64_t now, const char *actor,
                                            const char *reason);

/* Open an existing vault. A read-write open migrates a schema 1 vault first
 * (see BH_VAULT_SCHEMA); if that fails nothing has changed.
 * Returns: BH_OK; BH_ENOTFOUND if there is no vault of that name (or the
 *          directory is not a vault); BH_ESCHEMA if its schema is newer or
 *          unknown, or schema 1 and read_only (the files are left
 *          untouched; why says to run the node or `vaultctl migrate`);
 *          BH_ECORRUPT (a record that does not decode; why names its
 *          table); an errno; BH_EIO; BH_ENOMEM.
 * Out: out  a handle, caller closes with bh_vault_close; NULL on error.
 *      why  optional; a human explanation of a failure (always set). */
BH_WARN_UNUSED_RESULT int bh_vault_open(bh_vault **out, const char *data_dir, const char *name,
                                        const bh_vault_opts *opts, char *why, size_t why_cap);

/* Close a handle; NULL is a no-op. */
void bh_vault_close(bh_vault *v);

/* Returns: the last failure explained for humans ("" if none); borrowed,
 *          valid until the next call on v. */
const char *bh_vault_errmsg(const bh_vault *v);

/* Returns: the vault's chain id / name (borrowed, lives as long as v). */
uint16_t bh_vault_chain_id(const bh_vault *v);
const char *bh_vault_name(const bh_vault *v);

/* ---- the write path ---- */

/* Apply n transfer messages, in order, in ONE write transaction: replay
 * check, routing (token_chain must be this vault, asset registered),
 * quarantine, ledger invariants, rate limits, journal, outbox. A rejected
 * message changes only the reject counters and the journal. If the map is
 * full it grows (doubling, up to opts.map_max) and the whole batch is
 * retried; nothing is ever half-applied.
 * Returns: BH_OK (each message's outcome is in results[i]);
 *          BH_EMAPFULL if the map cannot grow (nothing applied; see
 *          bh_vault_errmsg); BH_ESTATE if opened read-only; BH_EIO;
 *          BH_ECORRUPT if a stored record has the wrong size.
 * Out: results  n entries, zeroed on entry.
 * In:  msgs  n messages; now  current time. */
BH_WARN_UNUSED_RESULT int bh_vault_apply(bh_vault *v, bh_vault_result *results,
                                         const bh_transfer_msg *msgs, size_t n, uint64_t now);

/* bh_vault_apply with a verdict per message, decided before the vault (e.g.
 * forged_lock by the chain watcher): a message whose verdict is not ok is
 * journaled and counted as rejected with that reason and nothing else
 * happens. verdicts NULL = all ok. Every message, whatever its outcome,
 * advances its source chain's bh_vault_source_next in the same transaction. */
BH_WARN_UNUSED_RESULT int bh_vault_apply_ex(bh_vault *v, bh_vault_result *results,
                                            const bh_transfer_msg *msgs, const bh_reject *verdicts,
                                            size_t n, uint64_t now);

/* One past the highest sequence of any message from source chain `chain`
 * this vault has taken (applied, parked or rejected); 0 if none. A consumer
 * that feeds messages in sequence order resumes after a crash from here:
 * nothing skipped, nothing applied twice. */
BH_WARN_UNUSED_RESULT int bh_vault_source_next(bh_vault *v, uint16_t chain, uint64_t *next);

/* Whether the vault has taken message m (its replay key is claimed: it
 * was applied, whatever became of it after; a rejected message claims
 * nothing).
 * Out: taken  1 with the same digest, 2 with another digest (the key was
 *             used by a different message), 0 not taken. */
BH_WARN_UNUSED_RESULT int bh_vault_taken(bh_vault *v, const bh_transfer_msg *m, int *taken);

/* Move pending transfers that are applied and due (release_at <= now) to
 * the outbox, oldest first, at most max of them (0 = no bound).
 * A transfer counts in its source lane's 24 h window when it is released
 * here, not when it arrived; one that does not fit stays pending (cause
 * window, release_at = the earliest time it could fit) and is re-checked at
 * every call, whatever its release_at; later transfers of the same lane
 * wait behind it, so a large one is not starved by small ones. One that can
 * never fit (the window was lowered below it) becomes an operator hold
 * (cause capacity). Big transfers do not count in the window.
 * Out: released  how many moved. */
BH_WARN_UNUSED_RESULT int bh_vault_release_due(bh_vault *v, size_t *released, uint64_t now,
                                               size_t max);

/* Read up to cap outbox entries, oldest first. Out: out, n. */
BH_WARN_UNUSED_RESULT int bh_vault_outbox_peek(bh_vault *v, bh_vault_outbox_entry *out, size_t cap,
                                               size_t *n);
/* Up to cap outbox entries for destination to_chain (0 = any) with id >
 * after_id, oldest first. Out: out, n. */
BH_WARN_UNUSED_RESULT int bh_vault_outbox_peek_to(bh_vault *v, bh_vault_outbox_entry *out,
                                                  size_t cap, size_t *n, uint16_t to_chain,
                                                  uint64_t after_id);
/* Visit outbox entries for destination to_chain (0 = any) with id >
 * after_id, oldest first, in one read snapshot: cb is called for each until
 * it returns non-zero (that value is returned) or max_scan entries were
 * visited (0 = no bound). Lets a deliverer pick per source chain and skip
 * entries it is backing off. Walks a per-destination index, so the cost is
 * that of the entries visited, not of the whole outbox (a read-only handle
 * on a vault no newer build has written falls back to a filtered walk).
 * Returns: BH_OK; cb's value; BH_EINVAL; BH_EIO; BH_ECORRUPT.
 * In: e passed to cb is borrowed, valid during the call only. */
typedef int (*bh_vault_outbox_cb)(void *ctx, const bh_vault_outbox_entry *e);
BH_WARN_UNUSED_RESULT int bh_vault_outbox_scan_to(bh_vault *v, uint16_t to_chain, uint64_t after_id,
                                                  size_t max_scan, bh_vault_outbox_cb cb,
                                                  void *ctx);

/* Remove a delivered outbox entry. Returns: BH_OK; BH_ENOTFOUND. */
BH_WARN_UNUSED_RESULT int bh_vault_outbox_ack(bh_vault *v, uint64_t id);

/* Park an outbox entry that failed delivery too often: it moves, with its
 * id, to the parked table (with now, tries and last_error, truncated to
 * BH_VAULT_ERROR_MAX bytes) and is no longer offered for delivery. The
 * ledger is unchanged: the transfer stays applied. Journaled (BH_VJ_PARK).
 * Returns: BH_OK; BH_ENOTFOUND if id is not in the outbox; BH_ESTATE if
 *          opened read-only; BH_EIO.
 * In: last_error, actor  may be NULL. */
BH_WARN_UNUSED_RESULT int bh_vault_outbox_park(bh_vault *v, uint64_t id, uint64_t now,
                                               uint32_t tries, const char *last_error,
                                               const char *actor);

/* Put a parked entry back in the outbox, under a new outbox id (it is
 * delivered after what is already waiting). Journaled (BH_VJ_REQUEUE, ref =
 * the new id) with actor and reason.
 * Returns: BH_OK; BH_ENOTFOUND if id is not parked; BH_ESTATE if opened
 *          read-only; BH_EIO. */
BH_WARN_UNUSED_RESULT int bh_vault_outbox_requeue(bh_vault *v, uint64_t id, uint64_t now,
                                                  const char *actor, const char *reason);

/* ---- operator actions (all journaled with actor and reason) ---- */

/* Register an asset. Returns: BH_OK; BH_EEXIST; BH_EINVAL (decimals > 38). */
BH_WARN_UNUSED_RESULT int bh_vault_asset_add(bh_vault *v, const bh_bytes32 *token, uint8_t decimals,
                                             const char *symbol, uint64_t now, const char *actor,
                                             const char *reason);

/* Release a pending transfer to the outbox now. A quarantine hold is
 * applied first (replay of invariants; the quarantine must be lifted).
 * The transfer counts in its source lane's 24 h window now (big transfers
 * excepted); if the window cannot take it yet it is not delivered but
 * stays pending, delayed with cause window until it fits (see
 * bh_vault_release_due), and BH_OK is returned: use bh_vault_release_ex to
 * tell the two apart. A transfer larger than the whole window (a capacity
 * hold) can never fit: releasing it is the operator's override, it goes now
 * and fills the window.
 * Returns: BH_OK; BH_ENOTFOUND; BH_ESTATE if a chain it touches is still
 *          quarantined; BH_EINVARIANT (with *why) if applying it would break
 *          the ledger. Out: why  optional, reject reason on BH_EINVARIANT. */
BH_WARN_UNUSED_RESULT int bh_vault_release(bh_vault *v, bh_reject *why, uint64_t id, uint64_t now,
                                           const char *actor, const char *reason);

/* bh_vault_release with its outcome: out->status is ACCEPTED (in the
 * outbox) or DELAYED (still pending: cause window, release_at = the
 * earliest time it could fit, pending_id = id); out->reason is set on
 * BH_EINVARIANT; out->journal_id is the entry written.
 * Returns: as bh_vault_release. Out: out  zeroed on entry. */
BH_WARN_UNUSED_RESULT int bh_vault_release_ex(bh_vault *v, bh_vault_result *out, uint64_t id,
                                              uint64_t now, const char *actor, const char *reason);

/* Drop a pending transfer: it will never be delivered; an applied one has
 * its ledger effect reversed. Returns: BH_OK; BH_ENOTFOUND; BH_EINVARIANT
 * if reversing it would break the ledger (e.g. the supply moved since). */
BH_WARN_UNUSED_RESULT int bh_vault_drop(bh_vault *v, uint64_t id, uint64_t now, const char *actor,
                                        const char *reason);

/* Set a pending transfer's release time. Quarantine holds cannot be
 * re-timed (BH_ESTATE). Returns: BH_OK; BH_ENOTFOUND; BH_ESTATE. */
BH_WARN_UNUSED_RESULT int bh_vault_retime(bh_vault *v, uint64_t id, uint64_t release_at,
                                          uint64_t now, const char *actor, const char *reason);

/* Quarantine a chain (inbound from it held, outbound to it paused) or lift
 * it. Returns: BH_OK; BH_EEXIST if already frozen; BH_ENOTFOUND if not. */
/* Journal that chain's watcher cursor was moved back from block `from`
 * to block `to` (BH_VJ_CURSOR; the node keeps the cursor, the journal is
 * the record with actor and reason). */
BH_WARN_UNUSED_RESULT int bh_vault_journal_cursor(bh_vault *v, uint16_t chain, uint64_t from,
                                                  uint64_t to, uint64_t now, const char *actor,
                                                  const char *reason);
BH_WARN_UNUSED_RESULT int bh_vault_freeze(bh_vault *v, uint16_t chain, uint64_t now,
                                          const char *actor, const char *reason);
BH_WARN_UNUSED_RESULT int bh_vault_unfreeze(bh_vault *v, uint16_t chain, uint64_t now,
                                            const char *actor, const char *reason);

/* Set one limit, named as vaultctl names it:
 *   asset keys:  big_threshold, big_delay (seconds), min_amount (a lock,
 *                return or hop below it is rejected as below_minimum)
 *   lane keys (suffix .<chain id>): cap, window, in_capacity, in_refill,
 *                                   out_capacity, out_refill
 *   vault key (token NULL): msg_limit (messages per source chain per 24 h)
 * value is in smallest units (seconds for big_delay). 0 removes a limit.
 * Returns: BH_OK; BH_EINVAL for an unknown key; BH_ENOTFOUND for an
 *          unknown asset. */
BH_WARN_UNUSED_RESULT int bh_vault_set_limit(bh_vault *v, const bh_bytes32 *token, const char *key,
                                             bh_u128 value, uint64_t now, const char *actor,
                                             const char *reason);

/* ---- value limits (bh_value.h): in the vault's quote unit ----
 *
 * Vault keys of bh_vault_set_limit (token NULL), IDs are bridge ids:
 *   value_window.SRC       24 h sum of the value of transfers from SRC,
 *                          across every asset of the vault
 *   value_lane.SRC.DST     the same for the lane SRC -> DST only
 *   value_threshold.SRC    a transfer from SRC worth at least this waits the
 *                          asset's big_delay (cause value_big), outside windows
 *   flow_cancel.DST        1: a return home from DST pays down, by its value,
 *                          value_window.HOME and value_lane.HOME.DST (never
 *                          below zero, so never above their limits); 0: off
 * Asset keys: price (fixed, quote units per whole token; 0 = none),
 *   price_max_age (seconds an observed price stays usable; 0 = 3600),
 *   price_max_jump (percent; an observation further than this from the last
 *   usable price is held as suspect and not used; 0 = 50).
 * A transfer that a value limit touches needs a usable price: without one it
 * is delayed (cause price), never dropped, never admitted. Its value is
 * amount x price / 10^decimals rounded up, at the price when it is counted;
 * an observed price counts at the higher of the price and the reference of
 * the volatility window (a drop does not loosen a window within it). */

/* Record a price read from the vault's own price source (the node reads
 * the home chain's feed; the vault does no I/O). updated_at is the feed's
 * time of the price. A price further than price_max_jump from the last
 * usable one is kept as suspect (journaled BH_VJ_PRICE) and not used until
 * an observation agrees with one of the two within the bound; an unchanged
 * (price, updated_at) writes nothing.
 * Returns: BH_OK; BH_ENOTFOUND (unknown asset); BH_EINVAL (price 0);
 *          BH_ESTATE if read-only. */
BH_WARN_UNUSED_RESULT int bh_vault_price_note(bh_vault *v, const bh_bytes32 *token, bh_u128 price,
                                              uint64_t updated_at, uint64_t now);

typedef struct {
    bh_u128 fixed;       /* configured price; 0 = none */
    bh_u128 last;        /* last usable observed price; 0 = none */
    uint64_t updated_at; /* the feed's time of `last` */
    uint64_t seen_at;    /* when the node observed it */
    bh_u128 ref;         /* volatility reference price, since ref_at */
    uint64_t ref_at;
    bh_u128 suspect; /* a price held back by the jump bound; 0 = none */
    uint64_t suspect_at;
    uint64_t max_age;  /* seconds (0 = default) */
    uint32_t max_jump; /* percent (0 = default) */
} bh_vault_price;

/* Returns: BH_OK; BH_ENOTFOUND for an unknown asset (an asset without any
 * price reads all 0). Out: out zeroed on entry. */
BH_WARN_UNUSED_RESULT int bh_vault_price_get(bh_vault *v, bh_vault_price *out,
                                             const bh_bytes32 *token);

/* The price the value limits use for an asset at `now`.
 * Returns: BH_OK; BH_ENOTFOUND (no price at all); BH_ESTATE (stale or
 *          suspect: fails closed). Out: price  0 unless BH_OK;
 *          why  optional, a short reason ("stale price: 4000 s old, ..."). */
BH_WARN_UNUSED_RESULT int bh_vault_price_usable(bh_vault *v, bh_u128 *price,
                                                const bh_bytes32 *token, uint64_t now, char *why,
                                                size_t why_cap);

/* Volatility tightening. Vault keys vol_percent (a move of an observed
 * price by more than this percent from its reference within vol_window
 * seconds, default 3600, tightens the segment; 0 = off), tighten_percent
 * (what the value limits shrink to, 1..100, default 50) and calm (seconds
 * without a new move before they relax, default 3600). Each change is
 * journaled (BH_VJ_SEGMENT) with the prices; a relax is written by the
 * first bh_vault_release_due or price note after the calm period. */
typedef enum {
    BH_VAULT_SEGMENT_NORMAL = 0,
    BH_VAULT_SEGMENT_TIGHTENED,
    BH_VAULT_SEGMENT_QUARANTINED /* the vault's home chain is quarantined */
} bh_vault_segment_state;

typedef struct {
    bh_vault_segment_state state;
    uint64_t since;   /* when it tightened (0 if normal) */
    uint64_t until;   /* when it relaxes unless the price moves again */
    unsigned percent; /* the value limits' size now, in percent */
} bh_vault_segment;

/* Returns: a stable name ("normal", "tightened", "quarantined"). */
const char *bh_vault_segment_name(bh_vault_segment_state s);

/* The segment's state at now. Out: out zeroed on entry. */
BH_WARN_UNUSED_RESULT int bh_vault_segment_get(bh_vault *v, bh_vault_segment *out, uint64_t now);

/* Visit every vault-level value limit set (key as set_limit names it),
 * with its effective value now (after tightening) and, for windows, the
 * value counted in the 24 h ending at now. */
typedef int (*bh_vault_value_cb)(void *ctx, const char *key, bh_u128 limit, bh_u128 effective,
                                 bh_u128 used);
BH_WARN_UNUSED_RESULT int bh_vault_each_value_limit(bh_vault *v, uint64_t now, bh_vault_value_cb cb,
                                                    void *ctx);

/* ---- reading (each call is one consistent snapshot) ---- */

BH_WARN_UNUSED_RESULT int bh_vault_info_get(bh_vault *v, bh_vault_info *out);

/* Returns: BH_OK; BH_ENOTFOUND. Out: out zeroed on entry. */
BH_WARN_UNUSED_RESULT int bh_vault_asset_get(bh_vault *v, bh_vault_asset *out,
                                             const bh_bytes32 *token);
BH_WARN_UNUSED_RESULT int bh_vault_lane_get(bh_vault *v, bh_vault_lane *out,
                                            const bh_bytes32 *token, uint16_t chain);
BH_WARN_UNUSED_RESULT int bh_vault_pending_get(bh_vault *v, bh_vault_pending *out, uint64_t id);
/* An asset's min_amount (0 = none; also for vaults that never set one).
 * Returns: BH_OK; BH_ENOTFOUND for an unknown asset. Out: out zeroed on entry. */
BH_WARN_UNUSED_RESULT int bh_vault_min_amount_get(bh_vault *v, bh_u128 *out,
                                                  const bh_bytes32 *token);

/* Visitors: the callback returns 0 to continue, non-zero to stop (that
 * value is then returned). Borrowed pointers are valid during the call. */
typedef int (*bh_vault_asset_cb)(void *ctx, const bh_bytes32 *token, const bh_vault_asset *a);
typedef int (*bh_vault_lane_cb)(void *ctx, const bh_bytes32 *token, uint16_t chain,
                                const bh_vault_lane *l);
typedef int (*bh_vault_pending_cb)(void *ctx, const bh_vault_pending *p);
typedef int (*bh_vault_journal_cb)(void *ctx, const bh_vault_journal_entry *e);
typedef int (*bh_vault_quarantine_cb)(void *ctx, const bh_vault_quarantine *q);
typedef int (*bh_vault_parked_cb)(void *ctx, const bh_vault_parked *p);

BH_WARN_UNUSED_RESULT int bh_vault_each_asset(bh_vault *v, bh_vault_asset_cb cb, void *ctx);
/* token NULL: every lane of every asset. */
BH_WARN_UNUSED_RESULT int bh_vault_each_lane(bh_vault *v, const bh_bytes32 *token,
                                             bh_vault_lane_cb cb, void *ctx);
BH_WARN_UNUSED_RESULT int bh_vault_each_pending(bh_vault *v, bh_vault_pending_cb cb, void *ctx);
/* The lanes (as bh_vault_each_lane) with what of each one's outstanding is
 * still in flight: accepted toward the lane's chain (outstanding counts a
 * transfer from its acceptance) and not yet delivered there: its mint
 * waiting in the outbox (sent or not), parked, or applied and pending
 * (delayed). The rest, outstanding - in_flight, is minted: delivered and
 * acknowledged (with several attesters: this node's approval counted,
 * whether or not the quorum followed). A hop's notice home mints nothing;
 * the home chain's own lane has none in flight. in_flight is capped at
 * outstanding: it can pass it only at an attester lagging behind the
 * others, which accepts a burn of supply they minted before its own
 * delivery of it went (then all of outstanding reads in flight). One read
 * snapshot for the lanes, the outbox, parked and pending, so
 * the two always add up; the cost is a pass over those tables.
 * token NULL: every asset. Returns: as bh_vault_each_lane. */
typedef int (*bh_vault_lane_split_cb)(void *ctx, const bh_bytes32 *token, uint16_t chain,
                                      const bh_vault_lane *l, bh_u128 in_flight);
BH_WARN_UNUSED_RESULT int bh_vault_each_lane_split(bh_vault *v, const bh_bytes32 *token,
                                                   bh_vault_lane_split_cb cb, void *ctx);
BH_WARN_UNUSED_RESULT int bh_vault_each_journal(bh_vault *v, uint64_t since, bh_vault_journal_cb cb,
                                                void *ctx);
BH_WARN_UNUSED_RESULT int bh_vault_each_quarantine(bh_vault *v, bh_vault_quarantine_cb cb,
                                                   void *ctx);
/* Parked outbox entries, by id. A vault created before parking existed has
 * none (its table is made at the first read-write open). */
BH_WARN_UNUSED_RESULT int bh_vault_each_parked(bh_vault *v, bh_vault_parked_cb cb, void *ctx);
/* Per source chain message limits: limit (0 = the vault default applies)
 * and the messages counted in the 24 h window ending at now. */
typedef int (*bh_vault_chain_cb)(void *ctx, uint16_t chain, uint32_t msg_limit, uint32_t count_24h);
BH_WARN_UNUSED_RESULT int bh_vault_each_chain(bh_vault *v, uint64_t now, bh_vault_chain_cb cb,
                                              void *ctx);

/* Returns: 1 if chain is quarantined in this vault, else 0 (0 on error). */
int bh_vault_is_quarantined(bh_vault *v, uint16_t chain);

/* Replay the journal from entry 1 in a fresh ledger and compare it with
 * every stored total (locked, outstanding per lane, Σ outstanding).
 * Returns: BH_OK if identical; BH_ECORRUPT if not, with the first
 *          difference named in diff; BH_EIO.
 * Out: diff  diff_cap bytes, "" when clean. */
BH_WARN_UNUSED_RESULT int bh_vault_audit(bh_vault *v, char *diff, size_t diff_cap);

/* Returns: 1 if name is a valid vault name ([a-z0-9_-]{1,32}), else 0. */
int bh_vault_name_is_valid(const char *name);

#endif
