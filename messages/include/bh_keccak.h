/* keccak-256 as Ethereum uses it: original Keccak padding (0x01), not the
 * SHA-3 padding (0x06). Built on nettle's Keccak-f[1600] permutation. */
#ifndef BH_KECCAK_H
#define BH_KECCAK_H

#include <stddef.h>
#include <stdint.h>
#include "bh_types.h"

#define BH_KECCAK_RATE 136

/* Incremental state, caller storage. Use init, any number of update, final. */
typedef struct {
    uint64_t a[25];
    unsigned char buf[BH_KECCAK_RATE];
    size_t fill;
} bh_keccak_ctx;

void bh_keccak_init(bh_keccak_ctx *ctx);

/* In: data  len bytes, borrowed for the call only. */
void bh_keccak_update(bh_keccak_ctx *ctx, const void *data, size_t len);

/* Out: out  the digest. The context must be init'ed again before reuse. */
void bh_keccak_final(bh_keccak_ctx *ctx, bh_hash32 *out);

/* One-shot keccak-256 of len bytes. */
void bh_keccak256(bh_hash32 *out, const void *data, size_t len);

#endif
