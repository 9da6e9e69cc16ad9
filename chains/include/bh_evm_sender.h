/* Sending EIP-1559 transactions from one key on one chain: nonce
 * management, gas estimation with a cap, fee bumps on a stuck transaction,
 * receipt polling. Not thread-safe: one sender per (key, chain), used by
 * one thread (the delivery thread of that destination). */
#ifndef BH_EVM_SENDER_H
#define BH_EVM_SENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "bh_attest.h"
#include "bh_error.h"
#include "bh_evm_tx.h"
#include "bh_rpc.h"
#include "bh_types.h"

typedef struct {
    uint64_t chain_id;           /* required: signed into every transaction */
    uint64_t gas_cap;            /* refuse transactions estimated above; 0: 10,000,000 */
    uint64_t max_fee_cap;        /* wei per gas, never exceeded by bumps; 0: 1000 gwei */
    uint64_t priority_fee;       /* wei per gas; 0: eth_maxPriorityFeePerGas */
    unsigned receipt_timeout_ms; /* give up waiting; 0: 60000 */
    unsigned bump_after_ms;      /* resend with higher fees if not mined; 0: 10000 */
    unsigned poll_ms;            /* receipt poll interval; 0: 50 */
} bh_evm_sender_options;

typedef struct {
    bh_hash32 tx_hash; /* the transaction that was mined */
    uint64_t block_number;
    uint64_t gas_used;
    bh_address contract; /* created contract, zero if none */
    unsigned bumps;      /* fee bumps it took */
    json_t *logs;        /* receipt logs; owned: free with bh_evm_receipt_clear */
} bh_evm_receipt;

void bh_evm_receipt_clear(bh_evm_receipt *r);

typedef struct bh_evm_sender bh_evm_sender;

/* Returns: BH_OK; BH_EINVAL; BH_ECRYPTO for an invalid key; BH_ENOMEM.
 * Out: out  caller frees with bh_evm_sender_destroy (which wipes the key).
 * In: ep, ctx  borrowed for the sender's lifetime.
 *     key  copied. */
BH_WARN_UNUSED_RESULT int bh_evm_sender_create(bh_evm_sender **out, bh_rpc *ep,
                                               const bh_attest *ctx, const bh_seckey *key,
                                               const bh_evm_sender_options *opt);

void bh_evm_sender_destroy(bh_evm_sender *s);

/* Returns: the sender's address (borrowed, lives as long as s). */
const bh_address *bh_evm_sender_address(const bh_evm_sender *s);

/* Returns: the endpoint the sender talks to (borrowed). */
bh_rpc *bh_evm_sender_rpc(bh_evm_sender *s);

/* Re-read the next nonce from eth_getTransactionCount(address, "pending")
 * (done automatically before the first send and after "nonce too low"). */
BH_WARN_UNUSED_RESULT int bh_evm_sender_sync_nonce(bh_evm_sender *s);

/* Returns: the nonce the next transaction will use (after a sync). */
uint64_t bh_evm_sender_next_nonce(const bh_evm_sender *s);

/* Estimate, sign, send and wait for the receipt of one transaction.
 * Returns: BH_OK when mined with status 1;
 *          BH_EREVERTED when the estimate or the receipt shows a revert
 *          (reason in bh_evm_sender_last_error);
 *          BH_ERANGE if the estimate exceeds gas_cap;
 *          BH_ETIMEOUT if not mined within receipt_timeout_ms (the nonce is
 *          then re-synced before the next send);
 *          BH_ESTATE if the node still says "nonce too low" after a re-sync
 *          (another process sends with this key);
 *          BH_EBUSY if the node refuses it as underpriced;
 *          transport errors of bh_rpc_call.
 * Out: receipt  may be NULL; else filled on BH_OK (clear it after).
 * In:  to  NULL creates a contract; value NULL means 0; data borrowed. */
BH_WARN_UNUSED_RESULT int bh_evm_sender_send(bh_evm_sender *s, bh_evm_receipt *receipt,
                                             const bh_address *to, const bh_u256 *value,
                                             const unsigned char *data, size_t data_len);

/* bh_evm_sender_send with a floor on the gas limit: for a call whose path
 * may change between the estimate and its inclusion (state moved by
 * others). The limit is max(estimate + 25%, min_gas), at most gas_cap. */
BH_WARN_UNUSED_RESULT int bh_evm_sender_send_gas(bh_evm_sender *s, bh_evm_receipt *receipt,
                                                 const bh_address *to, const bh_u256 *value,
                                                 const unsigned char *data, size_t data_len,
                                                 uint64_t min_gas);

/* ---- pipelined sending ----
 * Several transactions in flight at consecutive nonces: bh_evm_sender_begin
 * estimates, signs and broadcasts one at the next local nonce and returns
 * at once; bh_evm_sender_check looks at it once (no sleep), bumps its fees
 * on the same schedule as bh_evm_sender_send, cancels it past the receipt
 * timeout (a 0-value self-transfer at its nonce), re-broadcasts it if the
 * endpoint forgot it, and tells when its nonce went to another
 * transaction. Local nonces are gap-free: one is taken only when the
 * broadcast succeeded; after a nonce error or a failed broadcast the next
 * begin re-reads eth_getTransactionCount(pending). */
#define BH_EVM_PENDING_HASHES 12

typedef struct {
    uint64_t nonce;
    bh_hash32 hashes[BH_EVM_PENDING_HASHES]; /* every version broadcast, newest last */
    unsigned n_hashes;
    unsigned bumps;
    int cancelling;                  /* hashes from cancel_from on are its cancel */
    unsigned cancel_from;            /* a 0-value self-transfer at the same nonce */
    unsigned drops;                  /* times the endpoint had forgotten it */
    uint64_t seen_gen, last_look_ms; /* receipts looked for at head generation, when */
    uint64_t cancel_tried_ms;        /* the last cancel attempt */
    bh_evm_tx tx;                    /* the newest version; tx.data is data */
    unsigned char *data;             /* the call's data; heap */
    uint64_t first_ms, last_send_ms, last_seen_ms;
    unsigned char *raw; /* the newest signed version, for a re-broadcast; heap */
    size_t raw_len;
} bh_evm_pending;

/* Frees p's buffers and zeroes it; NULL is a no-op. */
void bh_evm_pending_clear(bh_evm_pending *p);

/* Estimate, sign and broadcast one transaction at the next local nonce;
 * never waits for it. The gas limit is as bh_evm_sender_send_gas's.
 * Returns: BH_OK (p filled, clear it after); errors as bh_evm_sender_send
 *          before its wait (BH_EREVERTED from the estimate, BH_ERANGE,
 *          BH_ESTATE, BH_EBUSY, transport errors).
 * Out: p  zeroed first. */
BH_WARN_UNUSED_RESULT int bh_evm_sender_begin(bh_evm_sender *s, bh_evm_pending *p,
                                              const bh_address *to, const bh_u256 *value,
                                              const unsigned char *data, size_t data_len,
                                              uint64_t min_gas);

/* bh_evm_sender_begin with extra_gas on top of the estimate's 25%: for a
 * call of many parts each of which may take a costlier path by the time it
 * is mined (a batch of approvals that others' approvals make execute).
 * With extra_gas, the estimate is one run's gas (eth_createAccessList;
 * eth_estimateGas where not served), not eth_estimateGas's search.
 * The limit is max(estimate + 25% + extra_gas, min_gas), at most gas_cap. */
BH_WARN_UNUSED_RESULT int bh_evm_sender_begin_extra(bh_evm_sender *s, bh_evm_pending *p,
                                                    const bh_address *to, const bh_u256 *value,
                                                    const unsigned char *data, size_t data_len,
                                                    uint64_t min_gas, uint64_t extra_gas);

/* Look at a transaction begun by bh_evm_sender_begin once, without sleeping.
 * Returns: BH_OK mined with status 1 (receipt filled);
 *          BH_EREVERTED mined with status 0;
 *          BH_EBUSY still in flight (it may have been bumped, cancelled or
 *          re-broadcast meanwhile);
 *          BH_ETIMEOUT: its nonce was taken by its cancel
 *          or by a transaction not of ours (another process with the key):
 *          it will never be mined, send it again;
 *          transport errors (still in flight: look again later).
 * Out: receipt  may be NULL; else filled on BH_OK (clear it after). */
BH_WARN_UNUSED_RESULT int bh_evm_sender_check(bh_evm_sender *s, bh_evm_pending *p,
                                              bh_evm_receipt *receipt);

/* Read the head once (eth_blockNumber) before a pass of
 * bh_evm_sender_check over the transactions in flight: after a tick, a
 * check looks for receipts only when the head moved since its last look
 * (or a second passed), so N transactions cost one call per pass and N
 * per new block rather than N per pass. Without ticks every check looks. */
void bh_evm_sender_tick(bh_evm_sender *s);

/* A second (third, ...) endpoint of the same chain to fail over to: calls
 * that fail in transport (timeout, HTTP, garbage) are repeated on the next
 * endpoint, which then stays the current one.
 * Returns: BH_OK; BH_EINVAL; BH_ENOSPC past 16 endpoints.
 * In: ep  borrowed for the sender's lifetime. */
BH_WARN_UNUSED_RESULT int bh_evm_sender_add_endpoint(bh_evm_sender *s, bh_rpc *ep);

/* Mark endpoint i (in the order given: the first at create, then added)
 * as unhealthy by someone else's judgement (the read side's): the sender
 * moves off it while another is not marked. */
void bh_evm_sender_set_unhealthy(bh_evm_sender *s, size_t i, int unhealthy);

/* Returns: the index of the endpoint the sender talks to now. */
size_t bh_evm_sender_current(const bh_evm_sender *s);

/* eth_call at "latest" through the sender's endpoints (with failover); as
 * bh_evm_call. */
BH_WARN_UNUSED_RESULT int bh_evm_sender_call(bh_evm_sender *s, unsigned char **ret, size_t *ret_len,
                                             const bh_address *to, const unsigned char *data,
                                             size_t data_len);

/* Returns: a description of the last failure ("" if none); borrowed. */
const char *bh_evm_sender_last_error(const bh_evm_sender *s);

/* eth_call at "latest".
 * Returns: BH_OK; BH_EREVERTED (JSON-RPC error 3 / "execution reverted");
 *          other bh_rpc_call errors; BH_EPROTO for a non-hex answer.
 * Out: ret, ret_len  heap (free()), at most 64 KiB accepted. */
BH_WARN_UNUSED_RESULT int bh_evm_call(bh_rpc *ep, unsigned char **ret, size_t *ret_len,
                                      const bh_address *to, const unsigned char *data,
                                      size_t data_len);

#endif
