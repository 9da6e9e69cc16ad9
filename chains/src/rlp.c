#include "bh_rlp.h"

#include <stdlib.h>
#include <string.h>

#include "bh_be.h"

void bh_rlp_init(bh_rlp *r)
{
    memset(r, 0, sizeof *r);
}

void bh_rlp_clear(bh_rlp *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

static int reserve(bh_rlp *r, size_t extra)
{
    if (r->err) return r->err;
    if (extra > SIZE_MAX / 2 - r->len) return r->err = BH_ENOMEM;
    if (r->len + extra <= r->cap) return BH_OK;
    size_t cap = r->cap ? r->cap : 64;
    while (cap < r->len + extra)
        cap *= 2;
    unsigned char *nb = realloc(r->buf, cap);
    if (!nb) return r->err = BH_ENOMEM;
    r->buf = nb;
    r->cap = cap;
    return BH_OK;
}

/* Big-endian bytes of n without leading zeros; returns their count. */
static size_t be_len(unsigned char out[8], uint64_t n)
{
    unsigned char b[8];
    bh_be_put_u64(b, n);
    size_t z = 0;
    while (z < 8 && b[z] == 0)
        z++;
    memcpy(out, b + z, 8 - z);
    return 8 - z;
}

/* Write a length prefix for a string (base 0x80) or list (base 0xc0). */
static void put_prefix(bh_rlp *r, unsigned char base, size_t len)
{
    unsigned char lb[8];
    if (len <= 55) {
        if (reserve(r, 1)) return;
        r->buf[r->len++] = (unsigned char)(base + len);
        return;
    }
    size_t k = be_len(lb, (uint64_t)len);
    if (reserve(r, 1 + k)) return;
    r->buf[r->len++] = (unsigned char)(base + 55 + k);
    memcpy(r->buf + r->len, lb, k);
    r->len += k;
}

void bh_rlp_bytes(bh_rlp *r, const unsigned char *data, size_t len)
{
    if (r->err) return;
    if (len == 1 && data[0] < 0x80) {
        if (reserve(r, 1)) return;
        r->buf[r->len++] = data[0];
        return;
    }
    put_prefix(r, 0x80, len);
    if (reserve(r, len)) return;
    if (len) memcpy(r->buf + r->len, data, len);
    r->len += len;
}

void bh_rlp_uint(bh_rlp *r, uint64_t v)
{
    unsigned char b[8];
    size_t k = be_len(b, v);
    bh_rlp_bytes(r, b, k);
}

void bh_rlp_u256(bh_rlp *r, const bh_u256 *v)
{
    size_t i = 0;
    while (i < 32 && v->be[i] == 0)
        i++;
    bh_rlp_bytes(r, v->be + i, 32 - i);
}

void bh_rlp_list_begin(bh_rlp *r)
{
    if (r->err) return;
    if (r->depth >= BH_RLP_MAX_DEPTH) {
        r->err = BH_EINVAL;
        return;
    }
    r->open[r->depth++] = r->len;
}

void bh_rlp_list_end(bh_rlp *r)
{
    if (r->err) return;
    if (r->depth == 0) {
        r->err = BH_EINVAL;
        return;
    }
    size_t start = r->open[--r->depth];
    size_t plen = r->len - start;
    unsigned char lb[8];
    size_t k = plen <= 55 ? 0 : be_len(lb, (uint64_t)plen);
    size_t hdr = 1 + k;
    if (reserve(r, hdr)) return;
    memmove(r->buf + start + hdr, r->buf + start, plen);
    if (k == 0) {
        r->buf[start] = (unsigned char)(0xc0 + plen);
    } else {
        r->buf[start] = (unsigned char)(0xf7 + k);
        memcpy(r->buf + start + 1, lb, k);
    }
    r->len += hdr;
}

int bh_rlp_finish(bh_rlp *r, const unsigned char **out, size_t *out_len)
{
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out || !out_len) return BH_EINVAL;
    if (r->err) return r->err;
    if (r->depth != 0) return BH_EINVAL;
    *out = r->buf ? r->buf : (const unsigned char *)"";
    *out_len = r->len;
    return BH_OK;
}
