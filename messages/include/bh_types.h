/* Fixed-size value types used across bulkhead. Plain structs so they copy
 * by assignment and never alias a caller's buffer. */
#ifndef BH_TYPES_H
#define BH_TYPES_H

#include <stdint.h>

/* A 32-byte hash (keccak-256 digest). */
typedef struct {
    unsigned char data[32];
} bh_hash32;

/* 32 opaque bytes: emitter ids, token ids, recipients (left-padded). */
typedef struct {
    unsigned char data[32];
} bh_bytes32;

/* A 20-byte Ethereum-style address. */
typedef struct {
    unsigned char data[20];
} bh_address;

/* An unsigned 256-bit integer, big-endian, as it travels on the wire. */
typedef struct {
    unsigned char be[32];
} bh_u256;

/* The ledger's integer: checked unsigned 128-bit arithmetic. */
__extension__ typedef unsigned __int128 bh_u128;

#define BH_U128_MAX (~(bh_u128)0)

#endif
