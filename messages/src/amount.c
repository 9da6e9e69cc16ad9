#include "bh_amount.h"

#include <string.h>

#include "bh_be.h"

int bh_u256_to_u128(bh_u128 *out, const bh_u256 *in)
{
    if (out) *out = 0;
    if (out == NULL || in == NULL) return BH_EINVAL;
    for (int i = 0; i < 16; i++)
        if (in->be[i]) return BH_ERANGE;
    *out = bh_be_get_u128(in->be + 16);
    return BH_OK;
}

void bh_u256_from_u128(bh_u256 *out, bh_u128 in)
{
    memset(out->be, 0, 16);
    bh_be_put_u128(out->be + 16, in);
}

int bh_u256_is_zero(const bh_u256 *a)
{
    for (int i = 0; i < 32; i++)
        if (a->be[i]) return 0;
    return 1;
}

int bh_u256_cmp(const bh_u256 *a, const bh_u256 *b)
{
    return memcmp(a->be, b->be, 32);
}

int bh_u128_add(bh_u128 *out, bh_u128 a, bh_u128 b)
{
    bh_u128 r;
    if (__builtin_add_overflow(a, b, &r)) return BH_ERANGE;
    *out = r;
    return BH_OK;
}

int bh_u128_sub(bh_u128 *out, bh_u128 a, bh_u128 b)
{
    bh_u128 r;
    if (__builtin_sub_overflow(a, b, &r)) return BH_ERANGE;
    *out = r;
    return BH_OK;
}

int bh_u128_mul(bh_u128 *out, bh_u128 a, bh_u128 b)
{
    bh_u128 r;
    if (__builtin_mul_overflow(a, b, &r)) return BH_ERANGE;
    *out = r;
    return BH_OK;
}

void bh_u128_to_dec(char out[BH_U128_DEC_MAX], bh_u128 v)
{
    char tmp[BH_U128_DEC_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

void bh_u128_to_units(char *out, size_t out_cap, bh_u128 v, unsigned decimals)
{
    char dec[BH_U128_DEC_MAX];
    char buf[BH_U128_DEC_MAX + 80];
    if (out_cap == 0) return;
    if (decimals > 77) decimals = 77;
    bh_u128_to_dec(dec, v);
    size_t n = strlen(dec);
    size_t o = 0;
    if (n <= decimals) {
        buf[o++] = '0';
        buf[o++] = '.';
        for (size_t i = n; i < decimals; i++)
            buf[o++] = '0';
        memcpy(buf + o, dec, n);
        o += n;
    } else {
        memcpy(buf, dec, n - decimals);
        o = n - decimals;
        if (decimals) {
            buf[o++] = '.';
            memcpy(buf + o, dec + n - decimals, decimals);
            o += decimals;
        }
    }
    if (decimals) {
        while (buf[o - 1] == '0')
            o--;
        if (buf[o - 1] == '.') o--;
    }
    buf[o] = '\0';
    if (o + 1 > out_cap) o = out_cap - 1;
    memcpy(out, buf, o);
    out[o] = '\0';
}

int bh_u128_from_dec(bh_u128 *out, const char *s, size_t len)
{
    if (out) *out = 0;
    if (out == NULL || s == NULL) return BH_EINVAL;
    if (len == 0) return BH_EMALFORMED;
    bh_u128 v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return BH_EMALFORMED;
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (bh_u128)(s[i] - '0'), &v))
            return BH_ERANGE;
    }
    *out = v;
    return BH_OK;
}

void bh_u256_to_dec(char out[BH_U256_DEC_MAX], const bh_u256 *v)
{
    /* Repeated division by 10 on a base-256 big-endian number. */
    unsigned char n[32];
    char tmp[BH_U256_DEC_MAX];
    size_t k = 0;
    memcpy(n, v->be, 32);
    for (;;) {
        int zero = 1;
        unsigned rem = 0;
        for (int i = 0; i < 32; i++) {
            unsigned cur = rem << 8 | n[i];
            n[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
            if (n[i]) zero = 0;
        }
        tmp[k++] = (char)('0' + rem);
        if (zero) break;
    }
    for (size_t i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    out[k] = '\0';
}
