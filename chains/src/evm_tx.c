#include "bh_evm_tx.h"

#include <stdlib.h>
#include <string.h>

#include "bh_keccak.h"
#include "bh_rlp.h"

static void put_fields(bh_rlp *r, const bh_evm_tx *tx)
{
    bh_rlp_uint(r, tx->chain_id);
    bh_rlp_uint(r, tx->nonce);
    bh_rlp_uint(r, tx->max_priority_fee);
    bh_rlp_uint(r, tx->max_fee);
    bh_rlp_uint(r, tx->gas_limit);
    bh_rlp_bytes(r, tx->to.data, tx->has_to ? sizeof tx->to.data : 0);
    bh_rlp_u256(r, &tx->value);
    bh_rlp_bytes(r, tx->data, tx->data_len);
    bh_rlp_list_begin(r); /* empty access list */
    bh_rlp_list_end(r);
}

static void hash_typed(bh_hash32 *out, const unsigned char *rlp, size_t len)
{
    bh_keccak_ctx k;
    const unsigned char type = 0x02;
    bh_keccak_init(&k);
    bh_keccak_update(&k, &type, 1);
    bh_keccak_update(&k, rlp, len);
    bh_keccak_final(&k, out);
}

int bh_evm_tx_signing_hash(bh_hash32 *out, const bh_evm_tx *tx)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out || !tx || (tx->data_len && !tx->data)) return BH_EINVAL;
    bh_rlp r;
    bh_rlp_init(&r);
    bh_rlp_list_begin(&r);
    put_fields(&r, tx);
    bh_rlp_list_end(&r);
    const unsigned char *enc;
    size_t len;
    int rc = bh_rlp_finish(&r, &enc, &len);
    if (rc == BH_OK) hash_typed(out, enc, len);
    bh_rlp_clear(&r);
    return rc;
}

int bh_evm_tx_encode_signed(unsigned char **raw, size_t *raw_len, bh_hash32 *tx_hash,
                            const bh_evm_tx *tx, const unsigned char rs[64], uint8_t y_parity)
{
    if (raw) *raw = NULL;
    if (raw_len) *raw_len = 0;
    if (tx_hash) memset(tx_hash, 0, sizeof *tx_hash);
    if (!raw || !raw_len || !tx_hash || !tx || !rs || y_parity > 1) return BH_EINVAL;
    if (tx->data_len && !tx->data) return BH_EINVAL;
    bh_rlp r;
    bh_rlp_init(&r);
    bh_rlp_list_begin(&r);
    put_fields(&r, tx);
    bh_rlp_uint(&r, y_parity);
    bh_u256 w;
    memcpy(w.be, rs, 32);
    bh_rlp_u256(&r, &w);
    memcpy(w.be, rs + 32, 32);
    bh_rlp_u256(&r, &w);
    bh_rlp_list_end(&r);
    const unsigned char *enc;
    size_t len;
    int rc = bh_rlp_finish(&r, &enc, &len);
    if (rc == BH_OK) {
        unsigned char *out = malloc(len + 1);
        if (!out) {
            rc = BH_ENOMEM;
        } else {
            out[0] = 0x02;
            memcpy(out + 1, enc, len);
            bh_keccak256(tx_hash, out, len + 1);
            *raw = out;
            *raw_len = len + 1;
        }
    }
    bh_rlp_clear(&r);
    return rc;
}

int bh_evm_tx_sign(const bh_attest *ctx, unsigned char **raw, size_t *raw_len, bh_hash32 *tx_hash,
                   const bh_evm_tx *tx, const bh_seckey *key)
{
    if (raw) *raw = NULL;
    if (raw_len) *raw_len = 0;
    if (tx_hash) memset(tx_hash, 0, sizeof *tx_hash);
    if (!ctx || !raw || !raw_len || !tx_hash || !tx || !key) return BH_EINVAL;
    bh_hash32 h;
    int rc = bh_evm_tx_signing_hash(&h, tx);
    if (rc != BH_OK) return rc;
    unsigned char rs[64];
    uint8_t v;
    rc = bh_attest_sign(ctx, rs, &v, &h, key);
    if (rc != BH_OK) return rc;
    return bh_evm_tx_encode_signed(raw, raw_len, tx_hash, tx, rs, v);
}
