/* The node's own LMDB store (DATA_DIR/node/): per chain cursors and the
 * inbox of finalized events waiting for their vault, plus small named
 * records. Private to relayer/. It runs on the storage layer the vaults use
 * (bh_store.h: map growth, error mapping, schema record); every record is
 * stored in an explicit big-endian form (docs/ARCHITECTURE.md, "On disk"),
 * the structs below are only its in-memory form.
 *
 * Schema 2 (NODE_STORE_SCHEMA). A store from before (no schema record,
 * records copied from these structs) is migrated by node_store_open in one
 * transaction; one with a newer schema is refused. */
#ifndef BH_NODE_STORE_H
#define BH_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "bh_chain.h"
#include "bh_error.h"
#include "bh_store.h"
#include "bh_transfer.h"
#include "bh_types.h"

typedef struct node_store node_store;

#define NODE_STORE_SCHEMA 2

/* A chain's watcher position: the last fully stored block, and the Portal
 * sequence the next event must carry (has_seq 0 before the first event). */
typedef struct {
    uint64_t number;
    bh_hash32 hash;
    uint64_t next_seq;
    uint32_t has_seq;
    uint32_t pad_;
} node_cursor;

/* One finalized event, stored until its vault has taken it. */
typedef struct {
    bh_transfer_msg msg;
    uint32_t verdict; /* bh_reject decided by the watcher (forged_lock, ...) */
    uint8_t kind;     /* BH_EVENT_LOCK / BH_EVENT_BURN */
    uint8_t pad_[3];
    uint64_t observed_ms; /* wall clock when stored */
} node_inbox_rec;

/* Open (create, migrate) DATA_DIR/node.
 * Returns: BH_OK; an errno; BH_ESCHEMA (a newer store, untouched);
 *          BH_ECORRUPT (a record it cannot read: nothing changed); a store
 *          status; why set on failure. */
int node_store_open(node_store **out, const char *data_dir, char *why, size_t why_cap);
/* Returns: 1 if data_dir holds a node store (the node ran there), else 0. */
int node_store_exists(const char *data_dir);
/* For a tool: the meta records under prefix of the node store of a
 * data_dir the node ran on, each to cb (node_store_meta_each); a cb that
 * stops with 1 makes *cb_rc the result.
 * Returns: BH_OK; BH_ENOTFOUND (no node store); store errors; *cb_rc;
 *          err says which, naming the directory and `what`. */
int node_store_read_records(const char *data_dir, const char *prefix, const char *what,
                            int (*cb)(void *ctx, const char *key, const void *val, size_t len),
                            void *ctx, const int *cb_rc, char *err, size_t err_cap);
void node_store_close(node_store *s);

/* Returns: BH_OK; BH_ENOTFOUND for a chain never stored. */
int node_store_cursor_get(node_store *s, uint16_t chain, node_cursor *out);

/* Store a chain's events (recs[i] goes to vault vaults[i]) and its new
 * cursor in one transaction: all or nothing. */
int node_store_commit(node_store *s, uint16_t chain, const node_cursor *cur,
                      const node_inbox_rec *recs, const uint16_t *vaults, size_t n);

/* Up to cap events for (vault, source) with sequence >= from, in order. */
int node_store_inbox_read(node_store *s, uint16_t vault, uint16_t source, uint64_t from,
                          node_inbox_rec *out, size_t cap, size_t *n);

/* Delete the events of (vault, source) with sequence < below.
 * Out: removed  how many (may be NULL). */
int node_store_inbox_trim(node_store *s, uint16_t vault, uint16_t source, uint64_t below,
                          size_t *removed);

/* Events stored from source (all vaults). */
int node_store_inbox_count(node_store *s, uint16_t source, uint64_t *n);

/* A tightened lane's original inbound limits: meta key
 * "tight/<vault>/<token hex>/<chain>". Its in-memory form is this struct
 * (the node keeps the same two fields); stored as
 * u8 version | u128 cap | u128 refill. */
typedef struct {
    bh_u128 cap, refill;
} node_tight;

/* Small named records. Every key family has a stored form here:
 *   tight/...    node_tight in memory (len = sizeof(node_tight)), encoded
 *   breaker/<id> bytes of bh_breaker_save (explicit, versioned), as given
 *   chain/<id>   u64 evm chain id BE | genesis hash[32], as given
 *   recon/<id>   the chain's last reconciliation (node_reconcile.c's own
 *                versioned big-endian record), as given
 *   wrapped/<id> the wrapped tokens pinned on the chain (node_pins_encode),
 *                as given
 *   cfglim/<vault>/<token hex|->/<key>  ver | u128 BE: the config's value
 *                of a limit when the node last applied it (node_setup.c)
 *   vtight/<vault>/<token hex>/<chain>  a tightened segment's lane: ver |
 *                u8 percent | u128 BE in_cap, in_refill, out_cap,
 *                out_refill, window, the sizes before (node_prices.c)
 * A key of any other family is refused (BH_EINVAL): add its codec first.
 * get: the record must be exactly len bytes in memory, else BH_ECORRUPT. */
int node_store_meta_get(node_store *s, const char *key, void *val, size_t len);
/* A record of any length up to cap. Returns: BH_OK; BH_ENOTFOUND;
 * BH_ECORRUPT if it is longer than cap. Out: len  its length. */
int node_store_meta_read(node_store *s, const char *key, void *buf, size_t cap, size_t *len);
int node_store_meta_put(node_store *s, const char *key, const void *val, size_t len);
int node_store_meta_del(node_store *s, const char *key);
/* Visit keys starting with prefix, values in memory form; cb returns
 * non-zero to stop. */
int node_store_meta_each(node_store *s, const char *prefix,
                         int (*cb)(void *ctx, const char *key, const void *val, size_t len),
                         void *ctx);

/* ---- record codecs (exposed for their unit test) ---- */

/* u8 version | u64 number | hash[32] | u64 next_seq | u8 has_seq (0/1) */
#define NODE_CURSOR_LEN 50
/* u8 version | message (bh_store_msg_put) | u32 verdict | u8 kind |
 * u64 observed_ms */
#define NODE_INBOX_LEN (1 + BH_STORE_MSG_LEN + 4 + 1 + 8)
#define NODE_TIGHT_LEN 33

void node_cursor_encode(unsigned char *out, const node_cursor *c);
int node_cursor_decode(node_cursor *c, const unsigned char *in, size_t len);
void node_inbox_encode(unsigned char *out, const node_inbox_rec *r);
int node_inbox_decode(node_inbox_rec *r, const unsigned char *in, size_t len);
void node_tight_encode(unsigned char *out, const node_tight *t);
/* wrapped/<id>: u8 ver | u16 n | n x (u16 home chain | home token[32] |
 * wrapped token[20]). encode returns the length (3 + n * NODE_PIN_LEN);
 * decode refuses (BH_ECORRUPT) another version, more than cap pins or a
 * length that does not match. */
#define NODE_PIN_LEN 54
#define NODE_MAX_PINS 256
size_t node_pins_encode(unsigned char *out, const bh_wrapped_pin *pins, size_t n);
int node_pins_decode(bh_wrapped_pin *pins, size_t cap, size_t *n, const unsigned char *in,
                     size_t len);
int node_tight_decode(node_tight *t, const unsigned char *in, size_t len);

#endif
