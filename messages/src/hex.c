#include "bh_hex.h"

#include <string.h>

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void strip_prefix(const char **hex, size_t *len)
{
    if (*len >= 2 && (*hex)[0] == '0' && ((*hex)[1] == 'x' || (*hex)[1] == 'X')) {
        *hex += 2;
        *len -= 2;
    }
}

int bh_hex_decode(unsigned char *out, size_t out_cap, size_t *out_len, const char *hex,
                  size_t hex_len)
{
    if (out_len) *out_len = 0;
    if (out_len == NULL || hex == NULL || (out == NULL && out_cap)) return BH_EINVAL;
    strip_prefix(&hex, &hex_len);
    if (hex_len % 2) return BH_EMALFORMED;
    size_t n = hex_len / 2;
    for (size_t i = 0; i < hex_len; i++)
        if (nibble(hex[i]) < 0) return BH_EMALFORMED;
    if (n > out_cap) return BH_ENOSPC;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    *out_len = n;
    return BH_OK;
}

int bh_hex_decode_exact(unsigned char *out, size_t n, const char *hex, size_t hex_len)
{
    if (hex == NULL || out == NULL) return BH_EINVAL;
    strip_prefix(&hex, &hex_len);
    if (hex_len != 2 * n) return BH_EMALFORMED;
    size_t got = 0;
    return bh_hex_decode(out, n, &got, hex, hex_len);
}

void bh_hex_encode(char *out, const unsigned char *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int bh_base64_decode(unsigned char *out, size_t out_cap, size_t *out_len, const char *b64,
                     size_t b64_len)
{
    if (out_len) *out_len = 0;
    if (out_len == NULL || b64 == NULL || (out == NULL && out_cap)) return BH_EINVAL;
    size_t pad = 0;
    while (b64_len > 0 && b64[b64_len - 1] == '=' && pad < 2) {
        b64_len--;
        pad++;
    }
    if (b64_len % 4 == 1) return BH_EMALFORMED;
    if (pad && (b64_len + pad) % 4) return BH_EMALFORMED;
    size_t n = b64_len / 4 * 3 + (b64_len % 4 ? b64_len % 4 - 1 : 0);
    for (size_t i = 0; i < b64_len; i++)
        if (b64_value(b64[i]) < 0) return BH_EMALFORMED;
    if (n > out_cap) return BH_ENOSPC;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < b64_len; i++) {
        acc = acc << 6 | (uint32_t)b64_value(b64[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, else two encodings map to one value. */
    if (bits && (acc & ((1u << bits) - 1))) return BH_EMALFORMED;
    *out_len = o;
    return BH_OK;
}

void bh_hex_address(char out[67], const unsigned char in[32])
{
    static const unsigned char zero[12];
    int evm = memcmp(in, zero, sizeof zero) == 0;
    out[0] = '0';
    out[1] = 'x';
    bh_hex_encode(out + 2, evm ? in + 12 : in, evm ? 20 : 32);
}
