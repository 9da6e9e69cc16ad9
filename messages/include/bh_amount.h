/* u256 wire amounts and the ledger's checked u128 arithmetic. */
#ifndef BH_AMOUNT_H
#define BH_AMOUNT_H

#include <stddef.h>
#include "bh_error.h"
#include "bh_types.h"

/* Narrow a wire amount to the ledger's u128.
 * Returns: BH_OK; BH_ERANGE if the value needs more than 128 bits
 *          (out is then 0). */
BH_WARN_UNUSED_RESULT int bh_u256_to_u128(bh_u128 *out, const bh_u256 *in);

void bh_u256_from_u128(bh_u256 *out, bh_u128 in);

/* Returns: 1 if a is zero, else 0. */
int bh_u256_is_zero(const bh_u256 *a);

/* Returns: <0, 0, >0 as a is less than, equal to, greater than b. */
int bh_u256_cmp(const bh_u256 *a, const bh_u256 *b);

/* Checked arithmetic. Returns: BH_OK, or BH_ERANGE on overflow/underflow
 * (out untouched). */
BH_WARN_UNUSED_RESULT int bh_u128_add(bh_u128 *out, bh_u128 a, bh_u128 b);
BH_WARN_UNUSED_RESULT int bh_u128_sub(bh_u128 *out, bh_u128 a, bh_u128 b);
BH_WARN_UNUSED_RESULT int bh_u128_mul(bh_u128 *out, bh_u128 a, bh_u128 b);

/* Largest decimal rendering of a u128 plus NUL. */
#define BH_U128_DEC_MAX 40

/* Write v in decimal, NUL-terminated. Out: out  BH_U128_DEC_MAX bytes. */
void bh_u128_to_dec(char out[BH_U128_DEC_MAX], bh_u128 v);

/* Write v as a fixed-point number with `decimals` fractional digits,
 * trailing zeros trimmed ("1.5", "1000", "0.000001").
 * Out: out  at least BH_U128_DEC_MAX + 2 bytes. */
void bh_u128_to_units(char *out, size_t out_cap, bh_u128 v, unsigned decimals);

/* Parse a decimal string of len chars (digits only).
 * Returns: BH_OK; BH_EMALFORMED on an empty string or a non-digit;
 *          BH_ERANGE if it exceeds 2^128-1. */
BH_WARN_UNUSED_RESULT int bh_u128_from_dec(bh_u128 *out, const char *s, size_t len);

/* Write a u256 in decimal. Out: out  at least 79 bytes. */
#define BH_U256_DEC_MAX 79
void bh_u256_to_dec(char out[BH_U256_DEC_MAX], const bh_u256 *v);

#endif
