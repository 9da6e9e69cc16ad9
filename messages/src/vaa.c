#include "bh_vaa.h"

#include <string.h>

#include "bh_be.h"
#include "bh_keccak.h"

static int refuse(bh_reject *why, bh_reject r)
{
    *why = r;
    return BH_EMALFORMED;
}

int bh_vaa_body_parse(bh_vaa_body *out, bh_reject *why, const unsigned char *buf, size_t len)
{
    if (out) memset(out, 0, sizeof *out);
    if (why) *why = BH_REJECT_MALFORMED;
    if (out == NULL || why == NULL || (buf == NULL && len)) return BH_EINVAL;
    if (len > BH_VAA_MAX_LEN) return refuse(why, BH_REJECT_MALFORMED);
    if (len < BH_VAA_BODY_FIXED) return refuse(why, BH_REJECT_TRUNCATED);
    out->timestamp = bh_be_get_u32(buf);
    out->nonce = bh_be_get_u32(buf + 4);
    out->emitter_chain = bh_be_get_u16(buf + 8);
    memcpy(out->emitter.data, buf + 10, 32);
    out->sequence = bh_be_get_u64(buf + 42);
    out->consistency = buf[50];
    out->payload = buf + BH_VAA_BODY_FIXED;
    out->payload_len = len - BH_VAA_BODY_FIXED;
    *why = BH_REJECT_OK;
    return BH_OK;
}

int bh_vaa_parse(bh_vaa *out, bh_reject *why, const unsigned char *buf, size_t len)
{
    if (why) *why = BH_REJECT_MALFORMED;
    if (out == NULL || why == NULL || (buf == NULL && len)) return BH_EINVAL;
    /* Zero only the fixed part: the signature array is written before it is read. */
    out->version = 0;
    out->signer_set_index = 0;
    out->n_sigs = 0;
    out->body = NULL;
    out->body_len = 0;
    memset(&out->b, 0, sizeof out->b);

    if (len > BH_VAA_MAX_LEN) return refuse(why, BH_REJECT_MALFORMED);
    if (len < 1) return refuse(why, BH_REJECT_TRUNCATED);
    if (buf[0] != BH_VAA_VERSION) return refuse(why, BH_REJECT_BAD_VERSION);
    if (len < BH_VAA_HEADER_FIXED) return refuse(why, BH_REJECT_TRUNCATED);
    uint8_t n = buf[5];
    if (n == 0) return refuse(why, BH_REJECT_NO_SIGNATURES);
    size_t sig_end = BH_VAA_HEADER_FIXED + (size_t)n * BH_VAA_SIG_LEN;
    if (sig_end > len) return refuse(why, BH_REJECT_TRUNCATED);

    bh_vaa_body b;
    int rc = bh_vaa_body_parse(&b, why, buf + sig_end, len - sig_end);
    if (rc != BH_OK) return rc;

    out->version = buf[0];
    out->signer_set_index = bh_be_get_u32(buf + 1);
    out->n_sigs = n;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = buf + BH_VAA_HEADER_FIXED + i * BH_VAA_SIG_LEN;
        out->sigs[i].signer_index = s[0];
        memcpy(out->sigs[i].rs, s + 1, 64);
        out->sigs[i].v = s[65];
    }
    out->body = buf + sig_end;
    out->body_len = len - sig_end;
    out->b = b;
    return BH_OK;
}

size_t bh_vaa_body_size(const bh_vaa_body *body)
{
    return BH_VAA_BODY_FIXED + body->payload_len;
}

int bh_vaa_body_serialize(unsigned char *out, size_t out_cap, size_t *out_len,
                          const bh_vaa_body *body)
{
    if (out_len) *out_len = 0;
    if (out == NULL || out_len == NULL || body == NULL ||
        (body->payload == NULL && body->payload_len))
        return BH_EINVAL;
    size_t need = bh_vaa_body_size(body);
    if (need > out_cap) return BH_ENOSPC;
    bh_be_put_u32(out, body->timestamp);
    bh_be_put_u32(out + 4, body->nonce);
    bh_be_put_u16(out + 8, body->emitter_chain);
    memcpy(out + 10, body->emitter.data, 32);
    bh_be_put_u64(out + 42, body->sequence);
    out[50] = body->consistency;
    if (body->payload_len) memmove(out + BH_VAA_BODY_FIXED, body->payload, body->payload_len);
    *out_len = need;
    return BH_OK;
}

int bh_vaa_serialize(unsigned char *out, size_t out_cap, size_t *out_len, uint32_t signer_set_index,
                     const bh_vaa_sig *sigs, uint8_t n_sigs, const unsigned char *body,
                     size_t body_len)
{
    if (out_len) *out_len = 0;
    if (out == NULL || out_len == NULL || sigs == NULL || n_sigs == 0 || body == NULL)
        return BH_EINVAL;
    size_t sig_end = BH_VAA_HEADER_FIXED + (size_t)n_sigs * BH_VAA_SIG_LEN;
    if (body_len > out_cap || sig_end > out_cap - body_len) return BH_ENOSPC;
    out[0] = BH_VAA_VERSION;
    bh_be_put_u32(out + 1, signer_set_index);
    out[5] = n_sigs;
    for (size_t i = 0; i < n_sigs; i++) {
        unsigned char *s = out + BH_VAA_HEADER_FIXED + i * BH_VAA_SIG_LEN;
        s[0] = sigs[i].signer_index;
        memcpy(s + 1, sigs[i].rs, 64);
        s[65] = sigs[i].v;
    }
    memmove(out + sig_end, body, body_len);
    *out_len = sig_end + body_len;
    return BH_OK;
}

void bh_vaa_digest(bh_hash32 *out, const unsigned char *body, size_t body_len)
{
    bh_hash32 inner;
    bh_keccak256(&inner, body, body_len);
    bh_keccak256(out, inner.data, sizeof inner.data);
}
