#include "bh_abi.h"

#include <stdlib.h>
#include <string.h>

#include "bh_be.h"
#include "bh_keccak.h"

void bh_abi_selector(unsigned char out[4], const char *signature)
{
    bh_hash32 h;
    bh_keccak256(&h, signature, strlen(signature));
    memcpy(out, h.data, 4);
}

void bh_abi_topic(bh_hash32 *out, const char *signature)
{
    bh_keccak256(out, signature, strlen(signature));
}

void bh_abi_init(bh_abi *a, const char *signature, unsigned n_args)
{
    memset(a, 0, sizeof *a);
    if (n_args > BH_ABI_MAX_ARGS) {
        a->err = BH_EINVAL;
        return;
    }
    a->n_args = n_args;
    a->prefix = signature ? 4 : 0;
    a->head_len = a->prefix + 32u * n_args;
    a->head = calloc(1, a->head_len ? a->head_len : 1);
    if (!a->head) {
        a->err = BH_ENOMEM;
        return;
    }
    if (signature) bh_abi_selector(a->head, signature);
}

void bh_abi_clear(bh_abi *a)
{
    free(a->head);
    free(a->tail);
    memset(a, 0, sizeof *a);
}

static unsigned char *next_word(bh_abi *a)
{
    if (a->err) return NULL;
    if (a->next >= a->n_args) {
        a->err = BH_EINVAL;
        return NULL;
    }
    return a->head + a->prefix + 32u * a->next++;
}

/* One ABI word holding v. */
static void put_word(unsigned char w[32], uint64_t v)
{
    memset(w, 0, 24);
    bh_be_put_u64(w + 24, v);
}

void bh_abi_uint(bh_abi *a, uint64_t v)
{
    unsigned char *w = next_word(a);
    if (w) put_word(w, v);
}

void bh_abi_u256(bh_abi *a, const bh_u256 *v)
{
    unsigned char *w = next_word(a);
    if (w) memcpy(w, v->be, 32);
}

void bh_abi_address(bh_abi *a, const bh_address *v)
{
    unsigned char *w = next_word(a);
    if (!w) return;
    memset(w, 0, 12);
    memcpy(w + 12, v->data, 20);
}

void bh_abi_bytes32(bh_abi *a, const bh_bytes32 *v)
{
    unsigned char *w = next_word(a);
    if (w) memcpy(w, v->data, 32);
}

static unsigned char *tail_grow(bh_abi *a, size_t n)
{
    if (a->err) return NULL;
    if (n > SIZE_MAX / 4 - a->tail_len) {
        a->err = BH_ENOMEM;
        return NULL;
    }
    if (a->tail_len + n > a->tail_cap) {
        size_t cap = a->tail_cap ? a->tail_cap : 256;
        while (cap < a->tail_len + n)
            cap *= 2;
        unsigned char *t = realloc(a->tail, cap);
        if (!t) {
            a->err = BH_ENOMEM;
            return NULL;
        }
        a->tail = t;
        a->tail_cap = cap;
    }
    unsigned char *p = a->tail + a->tail_len;
    memset(p, 0, n);
    a->tail_len += n;
    return p;
}

/* Head word = offset of the tail item from the start of the arguments. */
static int dyn_begin(bh_abi *a)
{
    unsigned char *w = next_word(a);
    if (!w) return -1;
    put_word(w, (uint64_t)(32u * a->n_args + a->tail_len));
    return 0;
}

void bh_abi_bytes(bh_abi *a, const unsigned char *data, size_t len)
{
    if (dyn_begin(a)) return;
    size_t padded = (len + 31) / 32 * 32;
    unsigned char *p = tail_grow(a, 32 + padded);
    if (!p) return;
    put_word(p, (uint64_t)len);
    if (len) memcpy(p + 32, data, len);
}

void bh_abi_string(bh_abi *a, const char *s)
{
    bh_abi_bytes(a, (const unsigned char *)s, strlen(s));
}

/* T[] of n items of `width` bytes each, right-aligned in their words. */
static void word_array(bh_abi *a, const unsigned char *items, size_t width, size_t n)
{
    if (dyn_begin(a)) return;
    if (n > (SIZE_MAX / 64)) {
        a->err = BH_ENOMEM;
        return;
    }
    unsigned char *p = tail_grow(a, 32 + 32 * n);
    if (!p) return;
    put_word(p, (uint64_t)n);
    for (size_t i = 0; i < n; i++)
        memcpy(p + 32 + 32 * i + (32 - width), items + width * i, width);
}

void bh_abi_address_array(bh_abi *a, const bh_address *v, size_t n)
{
    word_array(a, v ? v->data : NULL, sizeof v->data, n);
}

void bh_abi_hash_array(bh_abi *a, const bh_hash32 *v, size_t n)
{
    word_array(a, v ? v->data : NULL, sizeof v->data, n);
}

void bh_abi_bytes_array(bh_abi *a, const unsigned char *const *items, const size_t *lens, size_t n)
{
    if (dyn_begin(a)) return;
    size_t total = 32;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > SIZE_MAX / 8 || total > SIZE_MAX / 8) {
            a->err = BH_ENOMEM;
            return;
        }
        total += 32 + 32 + (lens[i] + 31) / 32 * 32;
    }
    unsigned char *p = tail_grow(a, total);
    if (!p) return;
    memset(p, 0, total);
    put_word(p, (uint64_t)n);
    /* element offsets count from the word after the length */
    size_t at = 32 * n;
    for (size_t i = 0; i < n; i++) {
        put_word(p + 32 + 32 * i, (uint64_t)at);
        unsigned char *e = p + 32 + at;
        put_word(e, (uint64_t)lens[i]);
        if (lens[i]) memcpy(e + 32, items[i], lens[i]);
        at += 32 + (lens[i] + 31) / 32 * 32;
    }
}

int bh_abi_finish(bh_abi *a, unsigned char **out, size_t *out_len)
{
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out || !out_len) return BH_EINVAL;
    if (a->err) return a->err;
    if (a->next != a->n_args) return BH_EINVAL;
    size_t total = a->head_len + a->tail_len;
    unsigned char *b = malloc(total ? total : 1);
    if (!b) return BH_ENOMEM;
    memcpy(b, a->head, a->head_len);
    if (a->tail_len) memcpy(b + a->head_len, a->tail, a->tail_len);
    *out = b;
    *out_len = total;
    return BH_OK;
}

static const unsigned char *word_at(const unsigned char *data, size_t len, size_t index)
{
    if (!data || index > len / 32 || len / 32 - index < 1) return NULL;
    return data + 32 * index;
}

static int zero_prefix(const unsigned char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (w[i]) return 0;
    return 1;
}

int bh_abi_read_u64(uint64_t *out, const unsigned char *data, size_t len, size_t index)
{
    if (!out) return BH_EINVAL;
    *out = 0;
    const unsigned char *w = word_at(data, len, index);
    if (!w || !zero_prefix(w, 24)) return BH_EMALFORMED;
    *out = bh_be_get_u64(w + 24);
    return BH_OK;
}

int bh_abi_read_u256(bh_u256 *out, const unsigned char *data, size_t len, size_t index)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    const unsigned char *w = word_at(data, len, index);
    if (!w) return BH_EMALFORMED;
    memcpy(out->be, w, 32);
    return BH_OK;
}

int bh_abi_read_address(bh_address *out, const unsigned char *data, size_t len, size_t index)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    const unsigned char *w = word_at(data, len, index);
    if (!w || !zero_prefix(w, 12)) return BH_EMALFORMED;
    memcpy(out->data, w + 12, 20);
    return BH_OK;
}

int bh_abi_read_bytes32(bh_bytes32 *out, const unsigned char *data, size_t len, size_t index)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    const unsigned char *w = word_at(data, len, index);
    if (!w) return BH_EMALFORMED;
    memcpy(out->data, w, 32);
    return BH_OK;
}
