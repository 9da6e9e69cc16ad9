/* The node's own LMDB store (DATA_DIR/node/): per chain cursors and the
 * inbox of finalized events waiting for their vault. Private to relayer/. */
#ifndef BH_NODE_STORE_H
#define BH_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_transfer.h"
#include "bh_types.h"

typedef struct node_store node_store;

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

/* Returns: BH_OK; BH_EIO / errno with why set. */
int node_store_open(node_store **out, const char *data_dir, char *why, size_t why_cap);
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

/* Small named records (limit originals while tightened). */
int node_store_meta_get(node_store *s, const char *key, void *val, size_t len);
/* A record of any length up to cap. Returns: BH_OK; BH_ENOTFOUND;
 * BH_ECORRUPT if it is longer than cap. Out: len  its length. */
int node_store_meta_read(node_store *s, const char *key, void *buf, size_t cap, size_t *len);
int node_store_meta_put(node_store *s, const char *key, const void *val, size_t len);
int node_store_meta_del(node_store *s, const char *key);
/* Visit keys starting with prefix; cb returns non-zero to stop. */
int node_store_meta_each(node_store *s, const char *prefix,
                         int (*cb)(void *ctx, const char *key, const void *val, size_t len),
                         void *ctx);

#endif
