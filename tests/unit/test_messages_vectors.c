/* Real signed VAAs from a live bridge (tests/vectors): every one parses, its
 * digest matches, its signatures verify against its signer set; and a single
 * flipped bit anywhere turns acceptance into the exact expected rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_hex.h"
#include "bh_keccak.h"
#include "bh_transfer.h"
#include "bh_vaa.h"
#include "bh_test.h"

typedef struct {
    char name[96];
    unsigned char vaa[4096];
    size_t len;
    bh_signer_set set;
    json_t *json; /* borrowed from the loaded array */
} vector;

static json_t *mainnet, *devnet;
static bh_attest *ctx;
static const uint64_t NOW = 1700000000;

static json_t *load(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", BH_VECTORS_DIR, file);
    json_error_t err;
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (j == NULL) fail_msg("%s: %s", path, err.text);
    assert_true(json_is_array(j));
    return j;
}

static int setup(void **state)
{
    (void)state;
    mainnet = load("wormhole_mainnet_vaas.json");
    devnet = load("wormhole_devnet_vaas.json");
    ctx = bh_attest_create();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(mainnet);
    json_decref(devnet);
    bh_attest_destroy(ctx);
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) fail_msg("vector field %s missing", k);
    return json_string_value(v);
}

static long long jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) fail_msg("vector field %s missing", k);
    return json_integer_value(v);
}

static void vector_load(vector *v, json_t *e)
{
    memset(v, 0, sizeof *v);
    v->json = e;
    snprintf(v->name, sizeof v->name, "%s", jstr(e, "name"));
    const char *hex = jstr(e, "vaa_hex");
    assert_int_equal(bh_hex_decode(v->vaa, sizeof v->vaa, &v->len, hex, strlen(hex)), BH_OK);
    json_t *addrs = json_object_get(e, "guardian_addresses");
    v->set.index = (uint32_t)jint(e, "guardian_set_index");
    v->set.n = (uint8_t)json_array_size(addrs);
    for (size_t i = 0; i < json_array_size(addrs); i++) {
        const char *a = json_string_value(json_array_get(addrs, i));
        assert_int_equal(bh_hex_decode_exact(v->set.addrs[i].data, 20, a, strlen(a)), BH_OK);
    }
}

/* Fields, digest and signatures of one vector, as published. */
static void check_vector(const vector *v)
{
    static bh_vaa vaa;
    bh_reject why;
    json_t *e = v->json;
    if (bh_vaa_parse(&vaa, &why, v->vaa, v->len) != BH_OK)
        fail_msg("%s: parse refused: %s", v->name, bh_reject_name(why));
    assert_int_equal(vaa.version, jint(e, "version"));
    assert_int_equal(vaa.signer_set_index, jint(e, "guardian_set_index"));
    assert_int_equal(vaa.n_sigs, jint(e, "num_signatures"));
    json_t *idx = json_object_get(e, "signer_indices");
    for (size_t i = 0; i < vaa.n_sigs; i++)
        assert_int_equal(vaa.sigs[i].signer_index, json_integer_value(json_array_get(idx, i)));
    assert_int_equal(vaa.body - v->vaa, jint(e, "body_offset"));
    assert_int_equal(vaa.b.timestamp, jint(e, "timestamp"));
    assert_int_equal(vaa.b.nonce, jint(e, "nonce"));
    assert_int_equal(vaa.b.emitter_chain, jint(e, "emitter_chain"));
    assert_int_equal(vaa.b.consistency, jint(e, "consistency_level"));
    char seq[32];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)vaa.b.sequence);
    assert_string_equal(seq, jstr(e, "sequence"));
    char hex[8192];
    bh_hex_encode(hex, vaa.b.emitter.data, 32);
    assert_string_equal(hex, jstr(e, "emitter_address_hex"));
    assert_int_equal(vaa.b.payload_len, jint(e, "payload_len"));
    bh_hex_encode(hex, vaa.b.payload, vaa.b.payload_len);
    assert_string_equal(hex, jstr(e, "payload_hex"));

    bh_hash32 h;
    bh_keccak256(&h, vaa.body, vaa.body_len);
    bh_hex_encode(hex, h.data, 32);
    assert_string_equal(hex, jstr(e, "body_hash_hex"));
    bh_vaa_digest(&h, vaa.body, vaa.body_len);
    bh_hex_encode(hex, h.data, 32);
    assert_string_equal(hex, jstr(e, "digest_hex"));

    /* Each signature recovers to the set's address at its index. */
    for (size_t i = 0; i < vaa.n_sigs; i++) {
        bh_address who;
        assert_int_equal(bh_attest_recover(ctx, &who, &why, &h, vaa.sigs[i].rs, vaa.sigs[i].v),
                         BH_OK);
        assert_memory_equal(who.data, v->set.addrs[vaa.sigs[i].signer_index].data, 20);
    }
    assert_int_equal(bh_signer_set_quorum(&v->set), jint(e, "quorum_required"));
    bh_reject r = bh_vaa_verify(ctx, &vaa, &v->set, NOW);
    if (r != BH_REJECT_OK) fail_msg("%s: refused: %s", v->name, bh_reject_name(r));

    /* Transfers decode to the published fields; other payloads are not transfers. */
    json_t *pd = json_object_get(e, "payload_decoded");
    json_t *pid = pd ? json_object_get(pd, "payload_id") : NULL;
    bh_transfer_msg m;
    int rc = bh_transfer_msg_from_vaa(&m, &why, &vaa);
    if (pid && json_integer_value(pid) == 1) {
        assert_int_equal(rc, BH_OK);
        char dec[BH_U128_DEC_MAX];
        bh_u128_to_dec(dec, m.amount);
        assert_string_equal(dec, jstr(pd, "amount"));
        bh_u128_to_dec(dec, m.fee);
        assert_string_equal(dec, jstr(pd, "fee"));
        assert_int_equal(m.transfer.token_chain, jint(pd, "token_chain"));
        assert_int_equal(m.transfer.to_chain, jint(pd, "to_chain"));
        bh_hex_encode(hex, m.transfer.token.data, 32);
        assert_string_equal(hex, jstr(pd, "token_address_hex"));
        bh_hex_encode(hex, m.transfer.to.data, 32);
        assert_string_equal(hex, jstr(pd, "to_address_hex"));
    } else {
        assert_int_equal(rc, BH_EMALFORMED);
        assert_true(why == BH_REJECT_UNKNOWN_PAYLOAD || why == BH_REJECT_TRAILING_BYTES ||
                    why == BH_REJECT_TRUNCATED);
    }
}

static void for_each(json_t *arr, void (*fn)(const vector *))
{
    static vector v;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        vector_load(&v, json_array_get(arr, i));
        fn(&v);
    }
}

static void test_messages_vectors_mainnet(void **state)
{
    (void)state;
    assert_int_equal(json_array_size(mainnet), 14);
    for_each(mainnet, check_vector);
}

static void test_messages_vectors_devnet(void **state)
{
    (void)state;
    assert_int_equal(json_array_size(devnet), 7);
    for_each(devnet, check_vector);
}

/* What verification must say about a VAA whose byte at off was flipped. */
static bh_reject expected_after_flip(const vector *v, const unsigned char *mut, size_t off)
{
    size_t n = v->vaa[5];
    size_t sig_end = 6 + 66 * n;
    if (off == 0) return BH_REJECT_BAD_VERSION;
    if (off >= 1 && off <= 4) return BH_REJECT_UNKNOWN_SIGNER_SET;
    if (off == 5) return BH_REJECT_COUNT_;              /* judged by the caller: count changed */
    if (off >= sig_end) return BH_REJECT_BAD_SIGNATURE; /* body: digest changes */
    size_t i = (off - 6) / 66, k = (off - 6) % 66;
    const unsigned char *sig = mut + 6 + 66 * i;
    if (k == 0) {
        /* Structural pass: first order or range failure in signature order. */
        int prev = -1;
        for (size_t j = 0; j < n; j++) {
            int idx = mut[6 + 66 * j];
            if (idx <= prev) return BH_REJECT_SIGNER_ORDER;
            if (idx >= v->set.n) return BH_REJECT_SIGNER_OUT_OF_RANGE;
            prev = idx;
        }
        return BH_REJECT_BAD_SIGNATURE;
    }
    if (k <= 32) return BH_REJECT_BAD_SIGNATURE; /* r */
    if (k <= 64) {                               /* s */
        const unsigned char *s = sig + 33;
        if (memcmp(s, BH_TEST_ORDER_N, 32) >= 0) return BH_REJECT_BAD_SIGNATURE;
        if (memcmp(s, BH_TEST_HALF_N, 32) > 0) return BH_REJECT_HIGH_S;
        return BH_REJECT_BAD_SIGNATURE;
    }
    uint8_t nv = sig[65];
    if (nv == 0 || nv == 1 || nv == 27 || nv == 28) return BH_REJECT_BAD_SIGNATURE;
    return BH_REJECT_BAD_RECOVERY_ID;
}

static size_t flips_checked;

static void flip_every_byte(const vector *v)
{
    static bh_vaa vaa;
    static unsigned char mut[4096];
    for (size_t off = 0; off < v->len; off++) {
        memcpy(mut, v->vaa, v->len);
        mut[off] ^= (unsigned char)(1u << (off % 8));
        bh_reject got;
        bh_reject why;
        if (bh_vaa_parse(&vaa, &why, mut, v->len) != BH_OK)
            got = why;
        else
            got = bh_vaa_verify(ctx, &vaa, &v->set, NOW);
        bh_reject want = expected_after_flip(v, mut, off);
        if (want == BH_REJECT_COUNT_) {
            /* A changed count moves the body: refused, whatever the reason. */
            if (got == BH_REJECT_OK) fail_msg("%s: count flip accepted", v->name);
            if (mut[5] == 0) assert_int_equal(got, BH_REJECT_NO_SIGNATURES);
        } else if (got != want) {
            fail_msg("%s: flip at byte %zu: got %s, want %s", v->name, off, bh_reject_name(got),
                     bh_reject_name(want));
        }
        flips_checked++;
    }
}

static void test_messages_vectors_bit_flips(void **state)
{
    (void)state;
    flips_checked = 0;
    for_each(devnet, flip_every_byte);
    for_each(mainnet, flip_every_byte);
    assert_true(flips_checked > 15000);
}

/* Flipping a bit in a signer's address refuses; in a non-signer's, it does not matter. */
static void flip_set(const vector *v)
{
    static bh_vaa vaa;
    static vector m;
    bh_reject why;
    assert_int_equal(bh_vaa_parse(&vaa, &why, v->vaa, v->len), BH_OK);
    for (unsigned a = 0; a < v->set.n; a++) {
        int signs = 0;
        for (unsigned i = 0; i < vaa.n_sigs; i++)
            signs |= vaa.sigs[i].signer_index == a;
        for (unsigned byte = 0; byte < 20; byte += 7) {
            m = *v;
            m.set.addrs[a].data[byte] ^= 0x10;
            bh_reject r = bh_vaa_verify(ctx, &vaa, &m.set, NOW);
            assert_int_equal(r, signs ? BH_REJECT_BAD_SIGNATURE : BH_REJECT_OK);
        }
    }
    /* The wrong set index, an expired set, a quorum above the signatures. */
    m = *v;
    m.set.index ^= 1;
    assert_int_equal(bh_vaa_verify(ctx, &vaa, &m.set, NOW), BH_REJECT_UNKNOWN_SIGNER_SET);
    m = *v;
    m.set.expires_at = NOW;
    assert_int_equal(bh_vaa_verify(ctx, &vaa, &m.set, NOW), BH_REJECT_SIGNER_SET_EXPIRED);
    m.set.expires_at = NOW + 1;
    assert_int_equal(bh_vaa_verify(ctx, &vaa, &m.set, NOW), BH_REJECT_OK);
    m = *v;
    m.set.quorum = (uint8_t)(vaa.n_sigs + 1);
    assert_int_equal(bh_vaa_verify(ctx, &vaa, &m.set, NOW), BH_REJECT_QUORUM_NOT_MET);
}

static void test_messages_vectors_signer_set(void **state)
{
    (void)state;
    for_each(mainnet, flip_set);
    for_each(devnet, flip_set);
}

/* Dropping signatures below the quorum: quorum_not_met, even though each is valid. */
static void test_messages_vectors_drop_signatures(void **state)
{
    (void)state;
    static vector v;
    static bh_vaa vaa;
    static unsigned char out[4096];
    vector_load(&v, json_array_get(mainnet, 0));
    bh_reject why;
    assert_int_equal(bh_vaa_parse(&vaa, &why, v.vaa, v.len), BH_OK);
    for (uint8_t keep = 1; keep <= vaa.n_sigs; keep++) {
        size_t len;
        assert_int_equal(bh_vaa_serialize(out, sizeof out, &len, vaa.signer_set_index, vaa.sigs,
                                          keep, vaa.body, vaa.body_len),
                         BH_OK);
        static bh_vaa cut;
        assert_int_equal(bh_vaa_parse(&cut, &why, out, len), BH_OK);
        bh_reject r = bh_vaa_verify(ctx, &cut, &v.set, NOW);
        assert_int_equal(r, keep >= 13 ? BH_REJECT_OK : BH_REJECT_QUORUM_NOT_MET);
    }
    /* A duplicated signature is an ordering violation, never a second vote. */
    static bh_vaa_sig dup[13];
    memcpy(dup, vaa.sigs, sizeof dup);
    dup[12] = dup[11];
    size_t len;
    assert_int_equal(bh_vaa_serialize(out, sizeof out, &len, vaa.signer_set_index, dup, 13,
                                      vaa.body, vaa.body_len),
                     BH_OK);
    static bh_vaa d;
    assert_int_equal(bh_vaa_parse(&d, &why, out, len), BH_OK);
    assert_int_equal(bh_vaa_verify(ctx, &d, &v.set, NOW), BH_REJECT_SIGNER_ORDER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_vectors_mainnet),
        cmocka_unit_test(test_messages_vectors_devnet),
        cmocka_unit_test(test_messages_vectors_bit_flips),
        cmocka_unit_test(test_messages_vectors_signer_set),
        cmocka_unit_test(test_messages_vectors_drop_signatures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
