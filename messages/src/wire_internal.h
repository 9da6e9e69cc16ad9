/* Big-endian readers and writers for the wire codecs (module-private). */
#ifndef BH_WIRE_INTERNAL_H
#define BH_WIRE_INTERNAL_H

#include <stdint.h>

static inline uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static inline void wr16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static inline void wr64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

#endif
