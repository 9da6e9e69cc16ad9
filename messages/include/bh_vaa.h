/* VAA v1: the signed envelope, byte for byte as public bridge tooling reads it.
 *
 *   header: u8 version(=1) | u32 signer_set_index | u8 n_sigs |
 *           n_sigs x (u8 signer_index | r[32] | s[32] | u8 v)
 *   body:   u32 timestamp | u32 nonce | u16 emitter_chain | emitter[32] |
 *           u64 sequence | u8 consistency | payload...
 *
 * All integers are big-endian. digest = keccak256(keccak256(body)). */
#ifndef BH_VAA_H
#define BH_VAA_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_reject.h"
#include "bh_types.h"

#define BH_VAA_VERSION 1
#define BH_VAA_HEADER_FIXED 6 /* version + set index + count */
#define BH_VAA_SIG_LEN 66
#define BH_VAA_BODY_FIXED 51
#define BH_VAA_MAX_SIGS 255
/* Largest VAA bulkhead accepts from anywhere; callers may cap lower. */
#define BH_VAA_MAX_LEN (64 * 1024)

typedef struct {
    uint8_t signer_index;
    unsigned char rs[64]; /* r || s, big-endian */
    uint8_t v;            /* recovery id as carried on the wire */
} bh_vaa_sig;

typedef struct {
    uint32_t timestamp;
    uint32_t nonce;
    uint16_t emitter_chain;
    bh_bytes32 emitter;
    uint64_t sequence;
    uint8_t consistency;
    const unsigned char *payload; /* borrowed: see the function that filled it */
    size_t payload_len;
} bh_vaa_body;

typedef struct {
    uint8_t version;
    uint32_t signer_set_index;
    uint8_t n_sigs;
    bh_vaa_sig sigs[BH_VAA_MAX_SIGS];
    const unsigned char *body; /* borrowed from the parsed buffer */
    size_t body_len;
    bh_vaa_body b; /* decoded body; b.payload borrowed from the buffer */
} bh_vaa;

/* Parse a whole VAA strictly: every length is checked against what is left,
 * and the input must end exactly where the payload does (the payload is the
 * rest of the input, so "trailing bytes" is judged by the payload codec).
 * Returns: BH_OK with *why = BH_REJECT_OK, or BH_EMALFORMED with *why naming
 *          the defect (bad_version, truncated, no_signatures);
 *          BH_EINVAL on NULL arguments.
 * Out:  out  filled on success; its body and payload pointers borrow from buf
 *            and stay valid while buf does.
 *       why  the reject reason.
 * In:   buf, len  untrusted bytes; len above BH_VAA_MAX_LEN is truncated-safe
 *            but refused as malformed. */
BH_WARN_UNUSED_RESULT int bh_vaa_parse(bh_vaa *out, bh_reject *why, const unsigned char *buf,
                                       size_t len);

/* Parse only a body (the signed part).
 * Returns/Out as bh_vaa_parse; out->payload borrows from buf. */
BH_WARN_UNUSED_RESULT int bh_vaa_body_parse(bh_vaa_body *out, bh_reject *why,
                                            const unsigned char *buf, size_t len);

/* Returns: the serialised size of a body with payload_len payload bytes. */
size_t bh_vaa_body_size(const bh_vaa_body *body);

/* Serialise a body.
 * Returns: BH_OK; BH_ENOSPC if out_cap is too small; BH_EINVAL on NULL.
 * Out: out, out_len  the bytes and their count. */
BH_WARN_UNUSED_RESULT int bh_vaa_body_serialize(unsigned char *out, size_t out_cap, size_t *out_len,
                                                const bh_vaa_body *body);

/* Serialise a full VAA from a header (version, set index, sigs) and the
 * serialised body bytes.
 * Returns: BH_OK; BH_ENOSPC; BH_EINVAL if n_sigs is 0 or NULL arguments.
 * In: sigs  n_sigs signatures in the order to write them.
 *     body, body_len  the serialised body, copied. */
BH_WARN_UNUSED_RESULT int bh_vaa_serialize(unsigned char *out, size_t out_cap, size_t *out_len,
                                           uint32_t signer_set_index, const bh_vaa_sig *sigs,
                                           uint8_t n_sigs, const unsigned char *body,
                                           size_t body_len);

/* digest = keccak256(keccak256(body)). */
void bh_vaa_digest(bh_hash32 *out, const unsigned char *body, size_t body_len);

#endif
