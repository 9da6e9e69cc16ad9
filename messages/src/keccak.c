#include "bh_keccak.h"

#include <nettle/sha3.h>
#include <string.h>

_Static_assert(sizeof(((struct sha3_state *)0)->a) == sizeof(((bh_keccak_ctx *)0)->a),
               "Keccak state is 25 lanes of 64 bits");

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void absorb_block(bh_keccak_ctx *ctx, const unsigned char *block)
{
    struct sha3_state st;
    for (int i = 0; i < BH_KECCAK_RATE / 8; i++)
        ctx->a[i] ^= load_le64(block + 8 * i);
    memcpy(st.a, ctx->a, sizeof st.a);
    sha3_permute(&st);
    memcpy(ctx->a, st.a, sizeof st.a);
}

void bh_keccak_init(bh_keccak_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
}

void bh_keccak_update(bh_keccak_ctx *ctx, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (ctx->fill) {
        size_t take = BH_KECCAK_RATE - ctx->fill;
        if (take > len) take = len;
        memcpy(ctx->buf + ctx->fill, p, take);
        ctx->fill += take;
        p += take;
        len -= take;
        if (ctx->fill < BH_KECCAK_RATE) return;
        absorb_block(ctx, ctx->buf);
        ctx->fill = 0;
    }
    for (; len >= BH_KECCAK_RATE; p += BH_KECCAK_RATE, len -= BH_KECCAK_RATE)
        absorb_block(ctx, p);
    memcpy(ctx->buf, p, len);
    ctx->fill = len;
}

void bh_keccak_final(bh_keccak_ctx *ctx, bh_hash32 *out)
{
    /* Original Keccak multi-rate padding: 0x01 ... 0x80 (SHA-3 uses 0x06). */
    memset(ctx->buf + ctx->fill, 0, BH_KECCAK_RATE - ctx->fill);
    ctx->buf[ctx->fill] ^= 0x01;
    ctx->buf[BH_KECCAK_RATE - 1] ^= 0x80;
    absorb_block(ctx, ctx->buf);
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++)
            out->data[8 * i + b] = (unsigned char)(ctx->a[i] >> (8 * b));
    memset(ctx, 0, sizeof *ctx);
}

void bh_keccak256(bh_hash32 *out, const void *data, size_t len)
{
    bh_keccak_ctx ctx;
    bh_keccak_init(&ctx);
    bh_keccak_update(&ctx, data, len);
    bh_keccak_final(&ctx, out);
}
