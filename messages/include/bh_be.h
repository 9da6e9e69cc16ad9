/* Big-endian integers in byte buffers: the one set of readers and writers
 * for every wire format and stored record in bulkhead.
 *
 * bh_be_put_uN writes N/8 bytes at p, most significant first; bh_be_get_uN
 * reads them back. p is any byte pointer (no alignment needed) and must
 * have N/8 bytes; these never check a length: the caller checks it against
 * what is left before calling. */
#ifndef BH_BE_H
#define BH_BE_H

#include <stdint.h>
#include "bh_types.h"

static inline void bh_be_put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void bh_be_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline void bh_be_put_u64(unsigned char *p, uint64_t v)
{
    bh_be_put_u32(p, (uint32_t)(v >> 32));
    bh_be_put_u32(p + 4, (uint32_t)v);
}

static inline void bh_be_put_u128(unsigned char *p, bh_u128 v)
{
    bh_be_put_u64(p, (uint64_t)(v >> 64));
    bh_be_put_u64(p + 8, (uint64_t)v);
}

static inline uint16_t bh_be_get_u16(const unsigned char *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t bh_be_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t bh_be_get_u64(const unsigned char *p)
{
    return (uint64_t)bh_be_get_u32(p) << 32 | bh_be_get_u32(p + 4);
}

static inline bh_u128 bh_be_get_u128(const unsigned char *p)
{
    return (bh_u128)bh_be_get_u64(p) << 64 | bh_be_get_u64(p + 8);
}

#endif
