/* EIP-1559 (type 2) transactions: signing hash, signature, raw encoding.
 *   raw = 0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas,
 *                      max_fee_per_gas, gas_limit, to, value, data,
 *                      access_list, y_parity, r, s])
 *   signing hash = keccak256(0x02 || rlp(first nine fields))
 * The chain id is part of what is signed, so a transaction cannot be
 * replayed on another chain. The access list is always empty. */
#ifndef BH_EVM_TX_H
#define BH_EVM_TX_H

#include <stddef.h>
#include <stdint.h>
#include "bh_attest.h"
#include "bh_error.h"
#include "bh_types.h"

typedef struct {
    uint64_t chain_id;
    uint64_t nonce;
    uint64_t max_priority_fee; /* wei per gas */
    uint64_t max_fee;          /* wei per gas */
    uint64_t gas_limit;
    int has_to; /* 0: contract creation (to is empty) */
    bh_address to;
    bh_u256 value;
    const unsigned char *data; /* borrowed for the call */
    size_t data_len;
} bh_evm_tx;

/* Returns: BH_OK; BH_EINVAL on NULL; BH_ENOMEM.
 * Out: out  keccak256(0x02 || rlp(unsigned fields)). */
BH_WARN_UNUSED_RESULT int bh_evm_tx_signing_hash(bh_hash32 *out, const bh_evm_tx *tx);

/* Encode a signed transaction from its fields and a signature.
 * Returns: BH_OK; BH_EINVAL on NULL or y_parity > 1; BH_ENOMEM.
 * Out: raw, raw_len  heap bytes, caller frees with free().
 *      tx_hash  keccak256(raw), the transaction's hash. */
BH_WARN_UNUSED_RESULT int bh_evm_tx_encode_signed(unsigned char **raw, size_t *raw_len,
                                                  bh_hash32 *tx_hash, const bh_evm_tx *tx,
                                                  const unsigned char rs[64], uint8_t y_parity);

/* Sign tx with key (deterministic, low-s) and encode it.
 * Returns: BH_OK; BH_ECRYPTO for an invalid key; BH_EINVAL; BH_ENOMEM.
 * Out: raw (caller frees with free()), raw_len, tx_hash as above.
 * In: ctx  borrowed attestation context; key  borrowed, never stored. */
BH_WARN_UNUSED_RESULT int bh_evm_tx_sign(const bh_attest *ctx, unsigned char **raw, size_t *raw_len,
                                         bh_hash32 *tx_hash, const bh_evm_tx *tx,
                                         const bh_seckey *key);

#endif
