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
