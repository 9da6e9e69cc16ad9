/* The transfer payload (payload id 1), 133 bytes:
 *   u8 id=1 | u256 amount | token[32] | u16 token_chain | to[32] |
 *   u16 to_chain | u256 fee
 * token_chain is the asset's home chain: it names the vault. */
#ifndef BH_TRANSFER_H
#define BH_TRANSFER_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_reject.h"
#include "bh_types.h"
#include "bh_vaa.h"

#define BH_TRANSFER_PAYLOAD_ID 1
#define BH_TRANSFER_LEN 133

typedef struct {
    bh_u256 amount;
    bh_bytes32 token;     /* token id on its home chain, left-padded */
    uint16_t token_chain; /* home chain: the vault that backs the asset */
    bh_bytes32 to;        /* recipient on to_chain, left-padded */
    uint16_t to_chain;
    bh_u256 fee;
} bh_transfer;

/* Parse a transfer payload strictly (exactly BH_TRANSFER_LEN bytes).
 * Returns: BH_OK, or BH_EMALFORMED with *why = unknown_payload (id != 1),
 *          truncated or trailing_bytes; BH_EINVAL on NULL. */
BH_WARN_UNUSED_RESULT int bh_transfer_parse(bh_transfer *out, bh_reject *why,
                                            const unsigned char *buf, size_t len);

/* Out: out  exactly BH_TRANSFER_LEN bytes. */
void bh_transfer_serialize(unsigned char out[BH_TRANSFER_LEN], const bh_transfer *t);

/* A transfer message as the vaults apply it: the replay key, the digest
 * that was signed, and the decoded transfer with amounts narrowed to u128. */
typedef struct {
    uint16_t emitter_chain; /* lane source */
    bh_bytes32 emitter;
    uint64_t sequence;
    uint32_t timestamp;
    bh_hash32 digest;
    bh_transfer transfer;
    bh_u128 amount;      /* transfer.amount, checked to fit */
    bh_u128 fee;         /* transfer.fee, checked to fit, <= amount */
    uint32_t nonce;      /* body nonce and consistency: with the fields above */
    uint8_t consistency; /* they rebuild the signed body exactly */
} bh_transfer_msg;

/* Build a transfer message from a parsed VAA (signatures are not checked
 * here; see bh_vaa_verify). Amount must be non-zero and fit u128, fee must fit
 * and not exceed amount, to_chain must differ from emitter_chain.
 * Returns: BH_OK with *why = ok, or BH_EMALFORMED with *why set
 *          (unknown_payload, truncated, trailing_bytes, amount_out_of_range,
 *          fee_exceeds_amount, same_chain). */
BH_WARN_UNUSED_RESULT int bh_transfer_msg_from_vaa(bh_transfer_msg *out, bh_reject *why,
                                                   const bh_vaa *vaa);

/* Rebuild the VAA body a message was made from (timestamp, nonce, emitter,
 * sequence, consistency, transfer payload), for signing at delivery.
 * Returns: BH_OK; BH_ENOSPC if out_cap < BH_VAA_BODY_FIXED + BH_TRANSFER_LEN;
 *          BH_ECORRUPT if the rebuilt body does not hash to msg->digest or
 *          amount/fee differ from the payload's (the message was altered:
 *          it must not be signed); BH_EINVAL.
 * Out: out, out_len  the body. */
BH_WARN_UNUSED_RESULT int bh_transfer_msg_body(unsigned char *out, size_t out_cap, size_t *out_len,
                                               const bh_transfer_msg *msg);

#endif
