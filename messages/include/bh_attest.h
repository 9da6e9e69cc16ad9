/* secp256k1 attestations: recoverable ECDSA over a 32-byte digest, signer
 * identity as a 20-byte Ethereum address (last 20 bytes of the keccak-256 of
 * the uncompressed public key), and quorum verification of a VAA.
 *
 * The same signing primitive signs Ethereum transactions (chains/). */
#ifndef BH_ATTEST_H
#define BH_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_reject.h"
#include "bh_types.h"
#include "bh_vaa.h"

/* Opaque: wraps a secp256k1 context. Safe to share between threads for
 * every function below once created (they only read it). */
typedef struct bh_attest bh_attest;

/* A secret key. Wipe with bh_seckey_clear when done. */
typedef struct {
    unsigned char data[32];
} bh_seckey;

/* Returns: a new context, or NULL when out of memory. Caller frees it with
 * bh_attest_destroy. */
bh_attest *bh_attest_create(void);

/* Frees ctx; NULL is a no-op. */
void bh_attest_destroy(bh_attest *ctx);

/* Overwrite a secret key with zeros in a way the compiler keeps. */
void bh_seckey_clear(bh_seckey *key);

/* Returns: BH_OK if key is a valid secp256k1 secret key, else BH_ECRYPTO. */
BH_WARN_UNUSED_RESULT int bh_seckey_verify(const bh_attest *ctx, const bh_seckey *key);

/* Ethereum address of a secret key.
 * Returns: BH_OK; BH_ECRYPTO for an invalid key (out zeroed). */
BH_WARN_UNUSED_RESULT int bh_attest_address(const bh_attest *ctx, bh_address *out,
                                            const bh_seckey *key);

/* Sign a digest: deterministic (RFC 6979), low-s, recoverable.
 * Returns: BH_OK; BH_ECRYPTO for an invalid key (outputs zeroed).
 * Out: rs  r || s, big-endian.  v  recovery id, 0 or 1. */
BH_WARN_UNUSED_RESULT int bh_attest_sign(const bh_attest *ctx, unsigned char rs[64], uint8_t *v,
                                         const bh_hash32 *digest, const bh_seckey *key);

/* Recover the signer's address from a signature over digest.
 * v may be 0, 1, 27 or 28. High-s is refused (Ethereum's rule), so a
 * signature has exactly one accepted form.
 * Returns: BH_OK with *why = ok; otherwise BH_ECRYPTO with *why = high_s,
 *          bad_recovery_id or bad_signature, and out zeroed. A failed
 *          recovery never yields an address: callers must check the status. */
BH_WARN_UNUSED_RESULT int bh_attest_recover(const bh_attest *ctx, bh_address *out, bh_reject *why,
                                            const bh_hash32 *digest, const unsigned char rs[64],
                                            uint8_t v);

#define BH_MAX_SIGNERS 255

/* A signer set (attesters / guardians), identified by its index. */
typedef struct {
    uint32_t index;
    uint8_t n;           /* number of addresses, 1..255 */
    uint8_t quorum;      /* 0: default floor(2n/3)+1 */
    uint64_t expires_at; /* unix seconds; 0: never */
    bh_address addrs[BH_MAX_SIGNERS];
} bh_signer_set;

/* Returns: the quorum the set requires: its own if set, else floor(2n/3)+1. */
unsigned bh_signer_set_quorum(const bh_signer_set *set);

/* Verify a parsed VAA's signatures against set at time now (unix seconds).
 * Every signature must be valid and from the set, in strictly increasing
 * index order; a single bad signature refuses the whole VAA.
 * Returns: BH_REJECT_OK, or exactly one reason: unknown_signer_set (the
 *          set's index differs from the VAA's), signer_set_expired,
 *          signer_order, signer_out_of_range, high_s, bad_recovery_id,
 *          bad_signature, quorum_not_met. */
BH_WARN_UNUSED_RESULT bh_reject bh_vaa_verify(const bh_attest *ctx, const bh_vaa *vaa,
                                              const bh_signer_set *set, uint64_t now);

/* A VAA of body with one signature: ours, at signer_index of set
 * signer_set_index (what each node of an M-of-N set submits).
 * Returns: BH_OK; BH_EINVAL; BH_ENOSPC; BH_ECRYPTO.
 * Out: out, *out_len  the serialised VAA. In: key  borrowed. */
BH_WARN_UNUSED_RESULT int bh_attest_sign_vaa(const bh_attest *ctx, unsigned char *out,
                                             size_t out_cap, size_t *out_len,
                                             uint32_t signer_set_index, uint8_t signer_index,
                                             const bh_seckey *key, const unsigned char *body,
                                             size_t body_len);

#endif
