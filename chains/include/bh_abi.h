/* Solidity ABI: the subset bulkhead needs to call the Portal and tokens and
 * to read their answers. Encoding builds `selector || head || tail`;
 * decoding reads 32-byte words with range checks. */
#ifndef BH_ABI_H
#define BH_ABI_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_types.h"

#define BH_ABI_MAX_ARGS 16

/* Encoder, caller storage. */
typedef struct {
    unsigned char *head; /* owned */
    unsigned char *tail; /* owned */
    size_t head_len, tail_len, tail_cap;
    size_t prefix; /* 4 with a selector, 0 for constructor arguments */
    unsigned n_args, next;
    int err; /* sticky first error */
} bh_abi;

/* Start an encoding of n_args top-level arguments.
 * In: signature  canonical "name(type,...)" whose keccak-256 gives the
 *     4-byte selector, or NULL for constructor arguments (no selector). */
void bh_abi_init(bh_abi *a, const char *signature, unsigned n_args);

/* Frees the buffers. */
void bh_abi_clear(bh_abi *a);

/* Static arguments, one head word each. */
void bh_abi_uint(bh_abi *a, uint64_t v);
void bh_abi_u256(bh_abi *a, const bh_u256 *v);
void bh_abi_address(bh_abi *a, const bh_address *v);
void bh_abi_bytes32(bh_abi *a, const bh_bytes32 *v);

/* Dynamic arguments: an offset in the head, length + padded data in the tail. */
void bh_abi_bytes(bh_abi *a, const unsigned char *data, size_t len);
void bh_abi_string(bh_abi *a, const char *s);
void bh_abi_address_array(bh_abi *a, const bh_address *v, size_t n);
/* bytes32[] of hashes. */
void bh_abi_hash_array(bh_abi *a, const bh_hash32 *v, size_t n);
/* bytes[]: n items of lens[i] bytes. */
void bh_abi_bytes_array(bh_abi *a, const unsigned char *const *items, const size_t *lens, size_t n);

/* Returns: BH_OK when exactly n_args arguments were added; BH_EINVAL
 *          otherwise; BH_ENOMEM.
 * Out: out, out_len  the encoding, heap, caller frees with free(). */
BH_WARN_UNUSED_RESULT int bh_abi_finish(bh_abi *a, unsigned char **out, size_t *out_len);

/* The 4-byte selector (or, for events, the 32-byte topic) of a signature. */
void bh_abi_selector(unsigned char out[4], const char *signature);
void bh_abi_topic(bh_hash32 *out, const char *signature);

/* Word readers over untrusted return data or event data. The word at
 * `index` (0-based) must lie inside len bytes.
 * Returns: BH_OK; BH_EMALFORMED if the word is missing or its value does
 *          not fit the type (non-zero high bytes). Outputs zeroed on error. */
BH_WARN_UNUSED_RESULT int bh_abi_read_u64(uint64_t *out, const unsigned char *data, size_t len,
                                          size_t index);
BH_WARN_UNUSED_RESULT int bh_abi_read_u256(bh_u256 *out, const unsigned char *data, size_t len,
                                           size_t index);
BH_WARN_UNUSED_RESULT int bh_abi_read_address(bh_address *out, const unsigned char *data,
                                              size_t len, size_t index);
BH_WARN_UNUSED_RESULT int bh_abi_read_bytes32(bh_bytes32 *out, const unsigned char *data,
                                              size_t len, size_t index);

#endif
