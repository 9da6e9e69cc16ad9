/* Everything the node asks of a chain, whatever its kind: one backend
 * table per chain kind (like redis' ae backends), chosen by name in one
 * place (bh_chain_backend_by_kind). The node talks to chains only through
 * this table; an EVM chain is bh_chain_backend_evm.
 *
 * Two halves, each with its own state:
 *  - the source side (impl): watch the chain through its endpoint quorum
 *    (verify, finality, block hashes, events: bh_chain_ops), plus head,
 *    endpoint health and the last failure's nature;
 *  - the destination side (sender): submit an attested VAA to the chain's
 *    Portal, read the wallet balance and the Portal's attester set.
 * Each half is driven by one thread at a time; health reads may come from
 * any thread. */
#ifndef BH_CHAIN_BACKEND_H
#define BH_CHAIN_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_chain.h"
#include "bh_error.h"
#include "bh_log_hook.h"
#include "bh_types.h"

typedef struct {
    uint16_t bridge_id;      /* the chain's id in VAAs */
    uint64_t chain_id;       /* the chain's own id every endpoint must serve */
    const char *const *urls; /* n_urls endpoints, copied */
    size_t n_urls;
    unsigned quorum;          /* k of n */
    unsigned confirmations;   /* 0: the chain's own finality */
    bh_address portal;        /* the Portal on this chain */
    uint64_t max_range;       /* blocks per log read; 0: the backend's default */
    const bh_address *tokens; /* registered assets, copied */
    size_t n_tokens;
    const bh_wrapped_pin *pins; /* wrapped tokens pinned by an earlier run, copied */
    size_t n_pins;
    long timeout_ms;  /* one call */
    unsigned retries; /* of a failed call */
    bh_log_fn log;    /* thread-safe: endpoint readers report too */
    void *log_ud;
    bh_log_level log_min; /* less severe messages are not even formatted */
} bh_chain_config;

typedef struct {
    uint64_t chain_id; /* the destination's own id (replay-bound txs) */
    const char *url;   /* the endpoint deliveries go through, copied */
    /* the chain's endpoints, copied: when n_urls > 0, deliveries go through
     * one of them (url is then unused) and fail over to the next on
     * transport errors; the order is endpoint_health's */
    const char *const *urls;
    size_t n_urls;
    long timeout_ms;
    unsigned retries;
    uint64_t gas_cap; /* most gas one delivery may use */
    uint64_t max_fee; /* most paid per unit of gas, smallest unit */
    bh_address portal;
    const bh_seckey *tx_key; /* copied; wiped by sender_destroy */
    bh_log_fn log;
    void *log_ud;
    bh_log_level log_min;
} bh_chain_sender_config;

/* One endpoint's health, as counted by the backend. */
typedef struct {
    uint64_t calls, failures, rate_limited, disagreements, latency_us;
    int healthy; /* its last call succeeded and the quorum did not outvote it */
    int suspect; /* outvoted, not yet back in the quorum */
} bh_chain_endpoint_health;

typedef enum {
    BH_CHAIN_EXECUTED = 0, /* this submission executed the transfer */
    BH_CHAIN_APPROVED,     /* our approval counted; the quorum is not reached yet */
    BH_CHAIN_ALREADY_DONE  /* executed before, or our approval was already there */
} bh_chain_outcome;

/* One item of a batch's result (poll_batch). */
typedef struct {
    bh_chain_outcome outcome;
    unsigned approvals;
    int failed;    /* the item reverted on its own; the rest stand */
    char why[160]; /* its revert reason; empty: out of gas */
} bh_chain_batch_item;

/* One delivery transaction in flight, as sent_info tells it. */
typedef struct {
    uint64_t nonce;
    bh_hash32 tx_hash;     /* its newest version */
    uint64_t max_fee, tip; /* wei per gas, of the newest version */
    unsigned bumps;        /* replacements sent (fee bumps, the cancel) */
    int cancelling;        /* its nonce is being cancelled */
} bh_chain_tx_info;

typedef struct {
    const char *kind; /* "evm" */
    /* source side; every function zeroes its outputs first */
    int (*create)(void **impl, const bh_chain_config *cfg);
    void (*destroy)(void *impl);
    bh_chain_ops watch; /* on impl */
    /* after a restart: the sequence the first event after after_block carries */
    void (*expect_sequence)(void *impl, uint64_t next_sequence, uint64_t after_block);
    int (*head)(void *impl, uint64_t *out); /* latest block, no quorum (lag only) */
    int (*last_split)(const void *impl);    /* last failure: answers split */
    /* the Portal's next sequence after a block (bh_evm_chain_portal_sequence) */
    int (*portal_sequence)(void *impl, uint64_t block, uint64_t *next);
    /* the Portal's controls (bh_evm_chain_portal_controls) */
    int (*portal_controls)(void *impl, uint64_t known_epoch, const bh_address *me,
                           const uint16_t *remotes, size_t n, bh_chain_controls *out);
    /* one transaction's Portal events again (bh_evm_chain_fetch_tx) */
    int (*fetch_tx)(void *impl, const bh_hash32 *tx, uint64_t max_block, bh_chain_event **events,
                    size_t *n, uint64_t *block);
    size_t (*endpoint_count)(const void *impl);
    const char *(*endpoint_url)(const void *impl, size_t i); /* borrowed, unredacted */
    void (*endpoint_health)(const void *impl, size_t i, bh_chain_endpoint_health *out);
    /* views at block `block` (a finalized height), agreed by the endpoint
     * quorum; on impl, so from the thread that drives it. wrapped_for is
     * zero before the Portal first minted the asset. */
    int (*wrapped_for)(void *impl, bh_address *out, uint16_t home_chain,
                       const bh_bytes32 *home_token, uint64_t block);
    int (*total_supply)(void *impl, bh_u256 *out, const bh_address *token, uint64_t block);
    int (*custody)(void *impl, bh_u256 *out, const bh_address *token,
                   uint64_t block); /* token.balanceOf(Portal) */
    int (*portal_outstanding)(void *impl, bh_u256 *out, const bh_address *token, uint16_t remote,
                              uint64_t block);
    /* a price feed's latest round (decimals + latestRoundData) */
    int (*price_feed)(void *impl, bh_chain_price_round *out, const bh_address *feed,
                      uint64_t block);
    /* the wrapped tokens pinned so far (the first wrapped_for answers),
     * up to cap; returns how many there are. Saved, they are the next
     * run's cfg.pins, so a Portal changed while the node was down cannot
     * name another token either. */
    size_t (*pins)(const void *impl, bh_wrapped_pin *out, size_t cap);
    /* destination side */
    int (*sender_create)(void **sender, const bh_chain_sender_config *cfg);
    void (*sender_destroy)(void *sender);
    int (*submit)(void *sender, bh_chain_outcome *outcome, unsigned *approvals,
                  const unsigned char *vaa, size_t vaa_len);
    const char *(*last_error)(void *sender); /* why the last submit failed; borrowed */
    /* submit in two halves, several in flight at once (pipelined at
     * consecutive nonces). send: BH_OK with *tx (in flight; free it with
     * tx_free) or with *tx NULL and *outcome ALREADY_DONE (nothing sent);
     * errors as submit. poll looks once and never sleeps: BH_OK done
     * (*outcome, *approvals); BH_EBUSY in flight (fees may have been
     * bumped, the transaction re-broadcast or cancelled meanwhile);
     * BH_EREVERTED mined, reverted and not executed; BH_ETIMEOUT never to
     * be mined (cancelled, or its nonce taken): send again; transport
     * errors (still in flight). */
    int (*send)(void *sender, void **tx, bh_chain_outcome *outcome, const unsigned char *vaa,
                size_t vaa_len);
    /* many VAAs in one transaction (each its own submit; one failing
     * fails alone), in flight as send's: BH_OK with *tx, never asks which
     * are executed (the batch says); BH_ERANGE: too big for the gas cap,
     * split it. poll_batch as poll, items (n of them) filled on BH_OK.
     * tx_free frees either. */
    int (*send_batch)(void *sender, void **tx, const unsigned char *const *vaas, const size_t *lens,
                      size_t n);
    int (*poll_batch)(void *sender, void *tx, bh_chain_batch_item *items, size_t n);
    /* which of n (<= 256) digests the destination Portal has executed, as
     * a big-endian 256-bit word (item i is bit i); NULL: not served */
    int (*executed_mask)(void *sender, unsigned char bits[32], const bh_hash32 *digests, size_t n);
    void (*poll_begin)(void *sender); /* once before a pass of polls: reads the head */
    int (*poll)(void *sender, void *tx, bh_chain_outcome *outcome, unsigned *approvals);
    void (*tx_info)(const void *tx, bh_chain_tx_info *out);
    void (*tx_free)(void *tx);
    /* the read side's health of endpoint i (endpoint_health's order): the
     * sender moves off an endpoint marked unhealthy while another is not */
    void (*sender_health)(void *sender, size_t i, int healthy);
    int (*wallet)(void *sender, bh_u256 *out);
    /* the Portal's attester set index and its attester at index */
    int (*attester)(void *sender, uint32_t *set_index, bh_address *attester, unsigned index);
    /* an attested curse vote (Portal.vote) at the next nonce, never
     * waiting; sigs as in a VAA. tx as send's; vote_poll as poll's without
     * outcome: BH_OK mined, BH_EREVERTED, BH_EBUSY, BH_ETIMEOUT. */
    int (*vote_send)(void *sender, void **tx, uint16_t chain, uint64_t round, int curse,
                     const char *reason, const unsigned char *sigs, size_t sigs_len);
    int (*vote_poll)(void *sender, void *tx);
} bh_chain_backend;

/* Returns: the backend of that kind ("evm"), or NULL. */
const bh_chain_backend *bh_chain_backend_by_kind(const char *kind);

extern const bh_chain_backend bh_chain_backend_evm;

#endif
