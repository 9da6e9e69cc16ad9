#include "bh_attest.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bh_keccak.h"
#include "bh_vaa.h"

/* The secp256k1 group order n and floor(n/2), big-endian. */
static const unsigned char order_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
static const unsigned char half_order_n[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

struct bh_attest {
    secp256k1_context *secp;
};

bh_attest *bh_attest_create(void)
{
    bh_attest *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) return NULL;
    ctx->secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx->secp == NULL) {
        free(ctx);
        return NULL;
    }
    /* Blinding against side channels while signing; best effort if no entropy. */
    unsigned char seed[32];
    if (getrandom(seed, sizeof seed, 0) == (ssize_t)sizeof seed &&
        !secp256k1_context_randomize(ctx->secp, seed)) {
        secp256k1_context_destroy(ctx->secp);
        free(ctx);
        return NULL;
    }
    explicit_bzero(seed, sizeof seed);
    return ctx;
}

void bh_attest_destroy(bh_attest *ctx)
{
    if (ctx == NULL) return;
    secp256k1_context_destroy(ctx->secp);
    free(ctx);
}

void bh_seckey_clear(bh_seckey *key)
{
    if (key) explicit_bzero(key->data, sizeof key->data);
}

int bh_seckey_verify(const bh_attest *ctx, const bh_seckey *key)
{
    if (ctx == NULL || key == NULL) return BH_EINVAL;
    return secp256k1_ec_seckey_verify(ctx->secp, key->data) ? BH_OK : BH_ECRYPTO;
}

static void address_of(const bh_attest *ctx, bh_address *out, const secp256k1_pubkey *pk)
{
    unsigned char ser[65];
    size_t len = sizeof ser;
    bh_hash32 h;
    secp256k1_ec_pubkey_serialize(ctx->secp, ser, &len, pk, SECP256K1_EC_UNCOMPRESSED);
    bh_keccak256(&h, ser + 1, 64);
    memcpy(out->data, h.data + 12, 20);
}

int bh_attest_address(const bh_attest *ctx, bh_address *out, const bh_seckey *key)
{
    if (out) memset(out, 0, sizeof *out);
    if (ctx == NULL || out == NULL || key == NULL) return BH_EINVAL;
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_create(ctx->secp, &pk, key->data)) return BH_ECRYPTO;
    address_of(ctx, out, &pk);
    return BH_OK;
}

int bh_attest_sign(const bh_attest *ctx, unsigned char rs[64], uint8_t *v, const bh_hash32 *digest,
                   const bh_seckey *key)
{
    if (rs) memset(rs, 0, 64);
    if (v) *v = 0;
    if (ctx == NULL || rs == NULL || v == NULL || digest == NULL || key == NULL) return BH_EINVAL;
    secp256k1_ecdsa_recoverable_signature sig;
    int recid = 0;
    /* libsecp256k1 always produces low-s signatures. */
    if (!secp256k1_ecdsa_sign_recoverable(ctx->secp, &sig, digest->data, key->data, NULL, NULL))
        return BH_ECRYPTO;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx->secp, rs, &recid, &sig);
    *v = (uint8_t)recid;
    return BH_OK;
}

int bh_attest_recover(const bh_attest *ctx, bh_address *out, bh_reject *why,
                      const bh_hash32 *digest, const unsigned char rs[64], uint8_t v)
{
    if (out) memset(out, 0, sizeof *out);
    if (why) *why = BH_REJECT_BAD_SIGNATURE;
    if (ctx == NULL || out == NULL || why == NULL || digest == NULL || rs == NULL) return BH_EINVAL;

    int recid;
    if (v == 0 || v == 1)
        recid = v;
    else if (v == 27 || v == 28)
        recid = v - 27;
    else {
        *why = BH_REJECT_BAD_RECOVERY_ID;
        return BH_ECRYPTO;
    }

    /* s >= n is no signature at all; n/2 < s < n is the malleable twin. */
    const unsigned char *s = rs + 32;
    if (memcmp(s, order_n, 32) < 0 && memcmp(s, half_order_n, 32) > 0) {
        *why = BH_REJECT_HIGH_S;
        return BH_ECRYPTO;
    }

    /* r or s out of range, or zero, fails to parse or recover. */
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pk;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx->secp, &sig, rs, recid) ||
        !secp256k1_ecdsa_recover(ctx->secp, &pk, &sig, digest->data))
        return BH_ECRYPTO;
    address_of(ctx, out, &pk);
    *why = BH_REJECT_OK;
    return BH_OK;
}

unsigned bh_signer_set_quorum(const bh_signer_set *set)
{
    if (set->quorum) return set->quorum;
    return (unsigned)set->n * 2 / 3 + 1;
}

bh_reject bh_vaa_verify(const bh_attest *ctx, const bh_vaa *vaa, const bh_signer_set *set,
                        uint64_t now)
{
    if (ctx == NULL || vaa == NULL || set == NULL || vaa->body == NULL) return BH_REJECT_MALFORMED;
    if (set->n == 0 || set->index != vaa->signer_set_index) return BH_REJECT_UNKNOWN_SIGNER_SET;
    if (set->expires_at && now >= set->expires_at) return BH_REJECT_SIGNER_SET_EXPIRED;

    /* Cheap structural checks first, so garbage costs no curve operation. */
    int prev = -1;
    for (unsigned i = 0; i < vaa->n_sigs; i++) {
        int idx = vaa->sigs[i].signer_index;
        if (idx <= prev) return BH_REJECT_SIGNER_ORDER;
        if (idx >= set->n) return BH_REJECT_SIGNER_OUT_OF_RANGE;
        prev = idx;
    }
    if (vaa->n_sigs < bh_signer_set_quorum(set)) return BH_REJECT_QUORUM_NOT_MET;

    bh_hash32 digest;
    bh_vaa_digest(&digest, vaa->body, vaa->body_len);
    for (unsigned i = 0; i < vaa->n_sigs; i++) {
        const bh_vaa_sig *s = &vaa->sigs[i];
        bh_address who;
        bh_reject why;
        if (bh_attest_recover(ctx, &who, &why, &digest, s->rs, s->v) != BH_OK) return why;
        if (memcmp(who.data, set->addrs[s->signer_index].data, 20) != 0)
            return BH_REJECT_BAD_SIGNATURE;
    }
    return BH_REJECT_OK;
}

int bh_attest_sign_vaa(const bh_attest *ctx, unsigned char *out, size_t out_cap, size_t *out_len,
                       uint32_t signer_set_index, uint8_t signer_index, const bh_seckey *key,
                       const unsigned char *body, size_t body_len)
{
    if (out_len) *out_len = 0;
    if (!ctx || !out || !out_len || !key || !body || body_len == 0) return BH_EINVAL;
    bh_hash32 digest;
    bh_vaa_digest(&digest, body, body_len);
    bh_vaa_sig sig = {.signer_index = signer_index};
    int rc = bh_attest_sign(ctx, sig.rs, &sig.v, &digest, key);
    if (rc != BH_OK) return rc;
    return bh_vaa_serialize(out, out_cap, out_len, signer_set_index, &sig, 1, body, body_len);
}
