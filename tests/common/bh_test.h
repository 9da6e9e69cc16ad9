/* Shared helpers for cmocka tests. Include after cmocka.h. */
#ifndef BH_TEST_H
#define BH_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_hex.h"

/* The secp256k1 group order n and floor(n/2), big-endian: an oracle kept
 * apart from the implementation's own copy. */
static const unsigned char BH_TEST_ORDER_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
static const unsigned char BH_TEST_HALF_N[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

/* Decode a hex literal in a test; fails the test on bad hex. Returns length. */
static inline size_t bh_test_unhex(unsigned char *out, size_t cap, const char *hex)
{
    size_t n = 0;
    assert_int_equal(bh_hex_decode(out, cap, &n, hex, strlen(hex)), BH_OK);
    return n;
}

/* Read a whole file into a NUL-terminated heap buffer; fails the test if absent. */
static inline char *bh_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

#endif
