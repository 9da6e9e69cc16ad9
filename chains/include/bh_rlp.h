/* RLP (Ethereum's Recursive Length Prefix) encoding into a growing buffer.
 * Only encoding: bulkhead builds transactions, it never decodes RLP from
 * peers. */
#ifndef BH_RLP_H
#define BH_RLP_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_types.h"

#define BH_RLP_MAX_DEPTH 8

/* An encoder, caller storage. Lists nest up to BH_RLP_MAX_DEPTH deep. */
typedef struct {
    unsigned char *buf; /* owned; caller frees with bh_rlp_clear or takes it */
    size_t len;
    size_t cap;
    size_t open[BH_RLP_MAX_DEPTH]; /* start offsets of the open lists' payloads */
    unsigned depth;
    int err; /* first error, sticky: every later call is a no-op */
} bh_rlp;

void bh_rlp_init(bh_rlp *r);

/* Frees the buffer; r may be init'ed again. */
void bh_rlp_clear(bh_rlp *r);

/* Append a byte string (0x80.. / 0xb7.. prefixes, single byte < 0x80 as is). */
void bh_rlp_bytes(bh_rlp *r, const unsigned char *data, size_t len);

/* Append an unsigned integer: big-endian, no leading zeros, 0 as empty. */
void bh_rlp_uint(bh_rlp *r, uint64_t v);

/* Append a 256-bit unsigned integer, minimal encoding as bh_rlp_uint. */
void bh_rlp_u256(bh_rlp *r, const bh_u256 *v);

/* Open a list; items appended until the matching bh_rlp_list_end go in it. */
void bh_rlp_list_begin(bh_rlp *r);
void bh_rlp_list_end(bh_rlp *r);

/* Returns: BH_OK when every call succeeded and all lists are closed;
 *          BH_ENOMEM; BH_EINVAL on unbalanced lists or nesting too deep.
 * Out: out, out_len  borrowed view of the encoding, valid until the next
 *      call on r. */
BH_WARN_UNUSED_RESULT int bh_rlp_finish(bh_rlp *r, const unsigned char **out, size_t *out_len);

#endif
