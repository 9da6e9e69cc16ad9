/* The relayer node: chains → messages → vaults → delivery (DESIGN.md §2, §7).
 *
 * Threads: a watcher per chain (polls finalized events, persists them with
 * the chain's cursor in the node store, bounded by queue_max unapplied
 * events), a worker per vault (applies the stored events in group-commit
 * batches, fair across source chains, releases due transfers), a delivery
 * thread per destination chain (signs and submits outbox entries, fair
 * across vaults), and the caller's thread running the control loop
 * (circuit breaker, limit tightening, signals).
 *
 * Observers (the metrics server) see the node two ways:
 *  - events, pushed as they happen through bh_node_observer (called from
 *    node threads; must not block);
 *  - a snapshot, pulled with bh_node_snapshot (a JSON document, schema
 *    below), built from atomics and one read transaction per vault.
 *
 * Snapshot schema (all amounts are decimal strings in smallest units,
 * times are unix seconds):
 * {
 *   "node": "node-1", "time": 1790000000, "started": 1789990000,
 *   "build": { "version": "0.1.0", "commit": "42da88e424b1" },
 *   "process": { "cpu_seconds": 1.5, "resident_bytes": 7340032,
 *     "virtual_bytes": 99999744, "open_fds": 17, "max_fds": 1024,
 *     "start_time": 1789990000, "threads": 11 },  what /proc could tell
 *   "chains": [ { "name": "alpha", "bridge_id": 1, "quarantined": false,
 *     "head": 120, "finalized": 118, "cursor": 118, "lag": 0,
 *     "max_lag": 64, "queue_depth": 0, "events_observed": 10,
 *     "wallet_wei": "9999...",                 relayer balance ("" unknown)
 *     "wallet_low": false,                     below wallet_low_gwei
 *     "inflight": 3,                           delivery transactions not yet mined
 *     "deliveries_ok": 4, "deliveries_failed": 0,
 *     "price_reads": 9, "price_failures": 0,   price feed reads noted / giving no price
 *     "delivery_latency": { "le": [ 0.1, 0.25, ..., 3600 ], "counts": [ 0, 1, ... ],
 *        "count": 4, "sum": 1.848 },         finality -> executed, seconds (below)
 *     "delivery_attempts": { "le": [ 1, 2, 3, 5, ... ], "counts": [ 3, 4, ... ],
 *        "count": 4, "sum": 5 },             attempts per delivered entry
 *     "endpoints": [ { "url": "http://127.0.0.1:8545", "calls": 1, "failures": 0,
 *        "rate_limited": 0, "disagreements": 0, "latency_us": 900, "healthy": true } ],
 *     "tripped": { "cause": "forged_lock", "evidence": "...", "at": 0 } | null } ],
 *   "vaults": [ { "name": "alpha", "chain": 1,
 *     "accepted": 3, "delayed": 1, "held": 0,
 *     "rejected": { "exceeds_outstanding": 2, ... },   non-zero reasons only
 *     "outbox_depth": 0, "outbox_oldest_age": 0, "pending": 1,
 *     "quarantined": [ 3 ],
 *     "assets": [ { "token": "0x…", "symbol": "TKA", "decimals": 18,
 *        "locked": "100", "outstanding_total": "60",
 *        "lanes": [ { "chain": 2, "outstanding": "60", "minted": "55",
 *           "in_flight": "5", "cap": "0",
 *           "in_headroom": "", "out_headroom": "", "window_used": "60",
 *           "window_limit": "0" } ] } ],
 *     "pending_list": [ { "id": 1, "cause": "bucket", "release_at": 0,
 *        "from": 1, "to": 2, "sequence": 7, "amount": "5", "symbol": "TKA" } ],
 *     "segment": { "state": "normal|tightened|quarantined", "code": 0,
 *        "since": 0, "until": 0, "percent": 100 },  lanes and value limits at percent
 *     "prices": [ { "symbol": "TKA", "source": "feed|fixed|observed",
 *        "feed": "0x…", "price": "200", "age": 12, "usable": true,
 *        "why": "" } ], "quote_decimals": 2 } ], age -1: fixed or none; price in 10^-quote_decimals
 *   "totals": { "events_observed": 10, "accepted": 3, "rejected": 2, "delivered": 4,
 *               "quarantines": 0 }
 * }
 * Headroom "" means no bucket on that lane. A lane's outstanding is
 * minted (delivered) + in_flight (accepted toward the lane's chain, still
 * in the outbox, parked or delayed): bh_vault_each_lane_split; both are
 * left out while the vault holds more than 100,000 outbox, parked and
 * pending entries. The delivery histograms count
 * deliveries to the chain since the node started (in memory): counts[i] is
 * how many values were <= le[i] (cumulative), count all of them. Latency:
 * from storing the finalized source event to the receipt of the node's
 * transaction that executed the transfer, for transfers accepted straight
 * into the outbox since the start. Attempts: failed tries + 1 per outbox
 * entry delivered (transfers and hop notices). */
#ifndef BH_NODE_H
#define BH_NODE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "bh_config.h"
#include "bh_error.h"
#include "bh_reject.h"
#include "bh_types.h"

typedef enum {
    BH_NODE_EV_ACCEPTED = 0, /* applied to a vault, in the outbox */
    BH_NODE_EV_DELAYED,      /* applied, waits in pending (cause) */
    BH_NODE_EV_HELD,         /* waits for an operator (quarantine, capacity) */
    BH_NODE_EV_REJECTED,     /* refused (reason) */
    BH_NODE_EV_RELEASED,     /* pending transfers moved to the outbox */
    BH_NODE_EV_DELIVERED,    /* submitted; outcome in detail */
    BH_NODE_EV_DELIVERY_FAILED,
    BH_NODE_EV_QUARANTINED, /* the breaker froze a chain (detail = evidence) */
    BH_NODE_EV_LIMITS,      /* limits tightened or relaxed (detail) */
    BH_NODE_EV_PARKED,      /* an outbox entry set aside after failed deliveries */
    BH_NODE_EV_ADMIN,       /* an operator acted through the admin API (detail) */
    BH_NODE_EV_PORTAL,      /* a Portal paused or unpaused (from_chain: whose; to_chain: the
                               lane's chain, 0 the whole Portal; detail) */
    BH_NODE_EV_COUNT_
} bh_node_event_kind;

/* Returns: "accepted", "delayed", ...; never NULL. */
const char *bh_node_event_name(bh_node_event_kind k);

typedef struct {
    bh_node_event_kind kind;
    uint64_t time;
    const char *vault;   /* vault (home chain) name, or NULL */
    uint16_t from_chain; /* emitter chain; for QUARANTINED the chain frozen */
    uint16_t to_chain;
    uint64_t sequence;
    bh_hash32 digest;
    bh_u128 amount;
    const char *symbol; /* may be NULL */
    bh_reject reason;   /* REJECTED / HELD */
    const char *detail; /* cause, outcome or evidence; may be NULL */
    bh_hash32 tx;       /* DELIVERED: the transaction that carried it; zero: none sent */
} bh_node_event;

/* Called from node threads; ev and its strings are borrowed for the call. */
typedef void (*bh_node_observer)(void *ud, const bh_node_event *ev);

typedef struct bh_node bh_node;

/* Open the data directory (creating vaults and registering the config's
 * assets when missing), connect to every chain and prepare the threads.
 * Returns: BH_OK; BH_ECONFIG / BH_ECHAINID / transport errors with err set.
 * In: cfg  borrowed for the node's lifetime. */
BH_WARN_UNUSED_RESULT int bh_node_create(bh_node **out, const bh_config *cfg, char *err,
                                         size_t err_cap);

/* Set the observer before bh_node_run. */
void bh_node_set_observer(bh_node *n, bh_node_observer fn, void *ud);

/* Run until bh_node_stop: returns BH_OK after a clean stop (current
 * batches finished, everything persisted), an error if a thread failed
 * fatally. */
BH_WARN_UNUSED_RESULT int bh_node_run(bh_node *n);

/* Ask the node to stop (async-signal-safe). */
void bh_node_stop(bh_node *n);

/* Ask the node to reopen its log file (async-signal-safe; SIGHUP). */
void bh_node_reopen_logs(bh_node *n);

void bh_node_destroy(bh_node *n);

/* Hand an event to the observer, as the node's own are (thread-safe). */
void bh_node_notify(bh_node *n, const bh_node_event *ev);

/* Build the snapshot (schema above). Returns: BH_OK; BH_ENOMEM; BH_EIO.
 * Out: out  caller json_decref's. Thread-safe. */
BH_WARN_UNUSED_RESULT int bh_node_snapshot(bh_node *n, json_t **out);

/* Operator requests served by a chain's watcher (thread-safe; they block
 * up to timeout_ms for the watcher's next turn). On error why says what.
 *
 * Re-observe: read transaction tx of chain `chain` (a config name) again,
 * with the endpoint quorum and every check of the watcher's reads, and give
 * each of its Portal events to its vault once. *out:
 *   {"chain","tx","block","events":[{"block","tx","log","kind","sequence",
 *    "vault","outcome":"applied|replayed|queued|unroutable|failed",
 *    "status":"accepted|delayed|held|rejected","reason"}]}
 * Returns: BH_OK; BH_ENOTFOUND (no such chain or transaction); BH_ESTATE
 * (its block is not final yet, or above the cursor: read in order);
 * BH_EBUSY (another request to that watcher); BH_ETIMEOUT; read errors. */
BH_WARN_UNUSED_RESULT int bh_node_reobserve(bh_node *n, const char *chain, const bh_hash32 *tx,
                                            unsigned timeout_ms, json_t **out, char *why,
                                            size_t cap);
/* The cursor: {"chain","cursor","hash","next_sequence","finalized","head",
 * "start_block","rewind_floor"}. */
BH_WARN_UNUSED_RESULT int bh_node_cursor(bh_node *n, const char *chain, json_t **out, char *why,
                                         size_t cap);
/* Move the cursor back to to_block (at most NODE_REWIND_MAX blocks, never
 * below start_block - 1), journaled in the chain's vault with actor and
 * reason: the blocks up to the old cursor are read again, and their events
 * go to their vaults as re-observed ones do (never twice).
 * *out: {"chain","from","to","reread_to"}. Returns: BH_OK; BH_EINVAL (out
 * of bounds, no reason); the errors of bh_node_reobserve. */
BH_WARN_UNUSED_RESULT int bh_node_rewind(bh_node *n, const char *chain, uint64_t to_block,
                                         const char *actor, const char *reason, unsigned timeout_ms,
                                         json_t **out, char *why, size_t cap);

/* Readiness: every chain within max_lag_blocks of its finalized head and
 * not quarantined. Returns: 1 ready, 0 not (why says which chain and why). */
int bh_node_ready(bh_node *n, char *why, size_t why_cap);

/* The Portal controls each chain's watcher last read, from the node store
 * of data_dir (the node running or not), one object per chain:
 * { "chain_id": 2, "read_at": 1790000000, "epoch": 4, "paused": false,
 *   "paused_lanes": [1], "cursed": [ { "chain": 3, "lifting": false,
 *   "lift_at": 0, "round": 1 } ], "set": { "index": 1, "quorum": 2,
 *   "signer": 0 }, "previous_set": { "index": 0, "until": 1790086400,
 *   "signer": 2 }, "curse": { "quorum": 1, "lift_delay": 3600 } }
 * (signer -1: this node's key is not in that set).
 * Returns: BH_OK; BH_ENOTFOUND when data_dir has no node store; a store
 *          status. Out: out  caller decrefs; err set on failure. */
BH_WARN_UNUSED_RESULT int bh_node_portals_read(json_t **out, char *err, size_t err_cap,
                                               const char *data_dir);

#endif
