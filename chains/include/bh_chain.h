/* Chain-kind–independent view of a source chain: finalized cursor, decoded
 * bridge events, and the watcher that walks them.
 *
 * Every chain kind implements one small backend table, bh_chain_ops (like
 * redis' ae backends); the watcher only talks to that table. EVM chains use
 * bh_chain_evm_ops (bh_evm_chain.h). */
#ifndef BH_CHAIN_H
#define BH_CHAIN_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_reject.h"
#include "bh_transfer.h"
#include "bh_types.h"
#include "bh_vaa.h"

/* A block by number and hash. A zero hash with number 0 means "before
 * anything": a cold cursor. */
typedef struct {
    uint64_t number;
    bh_hash32 hash;
} bh_block_ref;

/* The Portal's wrapped token of an asset homed on another chain, as first
 * read (pinned: a Portal that later names another token is not believed). */
typedef struct {
    uint16_t home_chain;
    bh_bytes32 home_token;
    bh_address token;
} bh_wrapped_pin;

/* consistency byte of VAA bodies built from finalized events. */
#define BH_CONSISTENCY_FINALIZED 1

#define BH_EVENT_LOCK 0 /* native token locked on its home chain */
#define BH_EVENT_BURN 1 /* wrapped token burnt to go home or elsewhere */

#define BH_EVENT_BODY_MAX (BH_VAA_BODY_FIXED + BH_TRANSFER_LEN)

/* One outbound transfer seen on a source chain, after finality.
 * When verdict is not BH_REJECT_OK the event is still reported (so it is
 * counted and journaled) but must not be attested. */
typedef struct {
    bh_reject verdict; /* ok, or forged_lock / short_lock / malformed / ... */
    uint8_t kind;      /* BH_EVENT_LOCK or BH_EVENT_BURN */
    uint64_t block_number;
    bh_hash32 block_hash;
    bh_hash32 tx_hash;
    uint32_t log_index;
    bh_address sender; /* who called the Portal */
    uint32_t nonce;
    /* The Portal's sequence number of the event, whenever the log decoded
     * (even when no message can be built from it): the cursor moves past it. */
    uint64_t sequence;
    int has_sequence;
    /* The VAA body every honest node builds identically from the event:
     * timestamp = block timestamp, nonce = event nonce, emitter_chain = the
     * chain's bridge id, emitter = Portal address left-padded, sequence =
     * Portal counter, consistency = BH_CONSISTENCY_FINALIZED, payload =
     * the transfer. Valid only when verdict is ok. */
    unsigned char body[BH_EVENT_BODY_MAX];
    size_t body_len;
    bh_transfer_msg msg; /* decoded message; digest = bh_vaa_digest(body) */
} bh_chain_event;

/* Backend contract. impl is the backend's own state. Every function
 * returns a bulkhead status and zeroes its outputs first. */
typedef struct {
    const char *kind; /* "evm" */
    /* Check every endpoint serves the configured chain. */
    int (*verify)(void *impl);
    /* The finalized head agreed by the endpoint quorum. */
    int (*finalized)(void *impl, bh_block_ref *out);
    /* Hash of the block at number, agreed by the quorum. */
    int (*block_hash)(void *impl, uint64_t number, bh_hash32 *out);
    /* Events in blocks [from, to]. May stop early (*done_to < to) when the
     * provider limits ranges; never reports a refused range as empty.
     * *events is heap (caller frees with free()), *n its count. */
    int (*fetch)(void *impl, uint64_t from, uint64_t to, bh_chain_event **events, size_t *n,
                 uint64_t *done_to);
} bh_chain_ops;

typedef struct bh_watcher bh_watcher;

/* Returns: BH_OK; BH_EINVAL; BH_ENOMEM.
 * Out: out  new watcher, caller frees with bh_watcher_destroy.
 * In:  ops, impl  borrowed for the watcher's lifetime.
 *      cursor  last fully processed block (a cold cursor: {0, zero}). */
BH_WARN_UNUSED_RESULT int bh_watcher_create(bh_watcher **out, const bh_chain_ops *ops, void *impl,
                                            const bh_block_ref *cursor);

void bh_watcher_destroy(bh_watcher *w);

/* One step. The first call checks every endpoint serves the configured
 * chain (ops->verify; BH_ECHAINID refuses to start). Then: read the
 * finalized head (if it trails the cursor, return with no events), check
 * the cursor block still has its hash, fetch and decode the events after the cursor up to the head
 * (or as far as the provider allowed), and advance the cursor past them. The caller must persist
 * the events and the new cursor together. Returns: BH_OK (possibly with 0 events); BH_EEQUIVOCATION
 * if the cursor's finalized block changed hash (trip the breaker: the cursor is not moved);
 * BH_ECHAINID; BH_ENOQUORUM; BH_EPROTO (an answer that cannot be complete, e.g. a gap in the
 * Portal's sequence); transport errors of the backend. On any error the cursor stays. Out: events
 * heap array, caller frees with free(); NULL when n is 0. n       number of events. cursor  the new
 * cursor (also kept by the watcher). May be NULL. */
BH_WARN_UNUSED_RESULT int bh_watcher_poll(bh_watcher *w, bh_chain_event **events, size_t *n,
                                          bh_block_ref *cursor);

/* Out: out  the watcher's current cursor. */
void bh_watcher_cursor(const bh_watcher *w, bh_block_ref *out);

/* A Portal's controls as a node reads them after a change (the Portal's
 * controlEpoch moved): pause, attester sets, curse, per remote chain. */
#define BH_CHAIN_CONTROLS_MAX 32
typedef struct {
    int lane_paused;
    int cursed;  /* in force now (a lift that came due is not) */
    int lifting; /* cursed, a full-quorum lift due at lift_at */
    uint64_t lift_at;
    uint64_t round; /* the curse round votes go to */
} bh_chain_lane_controls;

typedef struct {
    uint64_t epoch;
    int paused;
    uint32_t set_index, prev_set_index;
    uint64_t prev_expiry; /* unix seconds the previous set is valid until; 0: not */
    uint8_t quorum, curse_quorum;
    unsigned set_size; /* attesters in the current set */
    uint64_t lift_delay;
    unsigned my_index;      /* where `me` signs in the set: index + 1, 0: not a member */
    unsigned my_prev_index; /* the same in the previous set while it is valid */
    bh_chain_lane_controls lane[BH_CHAIN_CONTROLS_MAX]; /* remotes[i]'s */
} bh_chain_controls;

/* A price feed's latest round (an AggregatorV3-shaped contract: decimals(),
 * latestRoundData()) as the endpoint quorum read it. answer is the
 * absolute value of the feed's int256; negative says its sign. */
typedef struct {
    bh_u256 answer;
    int negative;
    uint8_t decimals;    /* the feed's, not the token's */
    uint64_t updated_at; /* the round's updatedAt, unix seconds */
    uint64_t round;      /* roundId, cut to 64 bits */
} bh_chain_price_round;

#endif
