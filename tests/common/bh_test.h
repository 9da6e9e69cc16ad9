/* Shared helpers for cmocka tests. Include after cmocka.h. */
#ifndef BH_TEST_H
#define BH_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_hex.h"

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
