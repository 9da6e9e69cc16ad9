#include "bh_transfer.h"

#include <string.h>

#include "bh_amount.h"
#include "bh_be.h"

int bh_transfer_parse(bh_transfer *out, bh_reject *why, const unsigned char *buf, size_t len)
{
    if (out) memset(out, 0, sizeof *out);
    if (why) *why = BH_REJECT_MALFORMED;
    if (out == NULL || why == NULL || (buf == NULL && len)) return BH_EINVAL;
    if (len < 1) {
        *why = BH_REJECT_TRUNCATED;
        return BH_EMALFORMED;
    }
    if (buf[0] != BH_TRANSFER_PAYLOAD_ID) {
        *why = BH_REJECT_UNKNOWN_PAYLOAD;
        return BH_EMALFORMED;
    }
    if (len != BH_TRANSFER_LEN) {
        *why = len < BH_TRANSFER_LEN ? BH_REJECT_TRUNCATED : BH_REJECT_TRAILING_BYTES;
        return BH_EMALFORMED;
    }
    memcpy(out->amount.be, buf + 1, 32);
    memcpy(out->token.data, buf + 33, 32);
    out->token_chain = bh_be_get_u16(buf + 65);
    memcpy(out->to.data, buf + 67, 32);
    out->to_chain = bh_be_get_u16(buf + 99);
    memcpy(out->fee.be, buf + 101, 32);
    *why = BH_REJECT_OK;
    return BH_OK;
}

void bh_transfer_serialize(unsigned char out[BH_TRANSFER_LEN], const bh_transfer *t)
{
    out[0] = BH_TRANSFER_PAYLOAD_ID;
    memcpy(out + 1, t->amount.be, 32);
    memcpy(out + 33, t->token.data, 32);
    bh_be_put_u16(out + 65, t->token_chain);
    memcpy(out + 67, t->to.data, 32);
    bh_be_put_u16(out + 99, t->to_chain);
    memcpy(out + 101, t->fee.be, 32);
}

int bh_transfer_msg_from_vaa(bh_transfer_msg *out, bh_reject *why, const bh_vaa *vaa)
{
    if (out) memset(out, 0, sizeof *out);
    if (why) *why = BH_REJECT_MALFORMED;
    if (out == NULL || why == NULL || vaa == NULL || vaa->body == NULL) return BH_EINVAL;

    bh_transfer t;
    int rc = bh_transfer_parse(&t, why, vaa->b.payload, vaa->b.payload_len);
    if (rc != BH_OK) return rc;

    bh_u128 amount, fee;
    if (bh_u256_to_u128(&amount, &t.amount) != BH_OK || amount == 0 ||
        bh_u256_to_u128(&fee, &t.fee) != BH_OK) {
        *why = BH_REJECT_AMOUNT_OUT_OF_RANGE;
        return BH_EMALFORMED;
    }
    if (fee > amount) {
        *why = BH_REJECT_FEE_EXCEEDS_AMOUNT;
        return BH_EMALFORMED;
    }
    if (t.to_chain == vaa->b.emitter_chain) {
        *why = BH_REJECT_SAME_CHAIN;
        return BH_EMALFORMED;
    }
    out->emitter_chain = vaa->b.emitter_chain;
    out->emitter = vaa->b.emitter;
    out->sequence = vaa->b.sequence;
    out->timestamp = vaa->b.timestamp;
    out->nonce = vaa->b.nonce;
    out->consistency = vaa->b.consistency;
    bh_vaa_digest(&out->digest, vaa->body, vaa->body_len);
    out->transfer = t;
    out->amount = amount;
    out->fee = fee;
    *why = BH_REJECT_OK;
    return BH_OK;
}

int bh_transfer_msg_body(unsigned char *out, size_t out_cap, size_t *out_len,
                         const bh_transfer_msg *msg)
{
    if (out_len) *out_len = 0;
    if (!out || !out_len || !msg) return BH_EINVAL;
    bh_u128 amount, fee;
    if (bh_u256_to_u128(&amount, &msg->transfer.amount) != BH_OK ||
        bh_u256_to_u128(&fee, &msg->transfer.fee) != BH_OK || amount != msg->amount ||
        fee != msg->fee)
        return BH_ECORRUPT;
    unsigned char payload[BH_TRANSFER_LEN];
    bh_transfer_serialize(payload, &msg->transfer);
    bh_vaa_body b = {.timestamp = msg->timestamp,
                     .nonce = msg->nonce,
                     .emitter_chain = msg->emitter_chain,
                     .emitter = msg->emitter,
                     .sequence = msg->sequence,
                     .consistency = msg->consistency,
                     .payload = payload,
                     .payload_len = sizeof payload};
    int rc = bh_vaa_body_serialize(out, out_cap, out_len, &b);
    if (rc != BH_OK) return rc;
    bh_hash32 d;
    bh_vaa_digest(&d, out, *out_len);
    if (memcmp(d.data, msg->digest.data, sizeof d.data) != 0) {
        *out_len = 0;
        return BH_ECORRUPT;
    }
    return BH_OK;
}
