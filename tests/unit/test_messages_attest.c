/* Attestation keys, signing, recovery and quorum verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_hex.h"
#include "bh_keccak.h"
#include "bh_transfer.h"
#include "bh_vaa.h"
#include "bh_test.h"

static bh_attest *ctx;
static const uint64_t NOW = 1700000000;

static int setup(void **state)
{
    (void)state;
    ctx = bh_attest_create();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bh_attest_destroy(ctx);
    return 0;
}

static bh_seckey key_n(unsigned n)
{
    bh_seckey k;
    memset(&k, 0, sizeof k);
    k.data[30] = (unsigned char)(n >> 8);
    k.data[31] = (unsigned char)n;
    return k;
}

static void expect_address(unsigned n, const char *hex)
{
    bh_seckey k = key_n(n);
    bh_address a;
    char got[41];
    assert_int_equal(bh_attest_address(ctx, &a, &k), BH_OK);
    bh_hex_encode(got, a.data, 20);
    assert_string_equal(got, hex);
}

/* Well-known Ethereum addresses of private keys 1 and 2. */
static void test_messages_attest_address(void **state)
{
    (void)state;
    expect_address(1, "7e5f4552091a69125d5dfcb7b8c2659029395bdf");
    expect_address(2, "2b5ad5c4795c026514f8317c7a215e218dccd6cf");

    bh_seckey zero = key_n(0);
    bh_address a;
    assert_int_equal(bh_seckey_verify(ctx, &zero), BH_ECRYPTO);
    assert_int_equal(bh_attest_address(ctx, &a, &zero), BH_ECRYPTO);
    bh_seckey over;
    memset(&over, 0xff, sizeof over); /* >= n */
    assert_int_equal(bh_seckey_verify(ctx, &over), BH_ECRYPTO);
    unsigned char rs[64];
    uint8_t v;
    bh_hash32 d = {{1}};
    assert_int_equal(bh_attest_sign(ctx, rs, &v, &d, &over), BH_ECRYPTO);

    bh_seckey k = key_n(7);
    bh_seckey_clear(&k);
    for (int i = 0; i < 32; i++)
        assert_int_equal(k.data[i], 0);
}

static void test_messages_attest_sign_recover(void **state)
{
    (void)state;
    for (unsigned n = 1; n < 40; n++) {
        bh_seckey k = key_n(n * 7919);
        bh_address want, got;
        bh_hash32 d;
        bh_keccak256(&d, &n, sizeof n);
        assert_int_equal(bh_attest_address(ctx, &want, &k), BH_OK);
        unsigned char rs[64], rs2[64];
        uint8_t v, v2;
        assert_int_equal(bh_attest_sign(ctx, rs, &v, &d, &k), BH_OK);
        assert_true(v <= 1);
        /* Deterministic (RFC 6979): independent nodes sign identically. */
        assert_int_equal(bh_attest_sign(ctx, rs2, &v2, &d, &k), BH_OK);
        assert_memory_equal(rs, rs2, 64);
        bh_reject why;
        assert_int_equal(bh_attest_recover(ctx, &got, &why, &d, rs, v), BH_OK);
        assert_int_equal(why, BH_REJECT_OK);
        assert_memory_equal(got.data, want.data, 20);
        /* 27/28 are Ethereum's spelling of the same recovery id. */
        assert_int_equal(bh_attest_recover(ctx, &got, &why, &d, rs, (uint8_t)(v + 27)), BH_OK);
        assert_memory_equal(got.data, want.data, 20);
        /* The other recovery id gives another key (or none), never the signer. */
        if (bh_attest_recover(ctx, &got, &why, &d, rs, v ^ 1) == BH_OK)
            assert_memory_not_equal(got.data, want.data, 20);
    }
}

/* s -> n - s (with v flipped) is the same signature mathematically: refused. */
static void test_messages_attest_high_s(void **state)
{
    (void)state;
    bh_seckey k = key_n(99);
    bh_hash32 d = {{0xab}};
    unsigned char rs[64];
    uint8_t v;
    assert_int_equal(bh_attest_sign(ctx, rs, &v, &d, &k), BH_OK);
    unsigned borrow = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned diff = (unsigned)BH_TEST_ORDER_N[i] - rs[32 + i] - borrow;
        rs[32 + i] = (unsigned char)diff;
        borrow = diff >> 8 & 1;
    }
    bh_address a;
    bh_reject why;
    assert_int_equal(bh_attest_recover(ctx, &a, &why, &d, rs, v ^ 1), BH_ECRYPTO);
    assert_int_equal(why, BH_REJECT_HIGH_S);
    for (int i = 0; i < 20; i++)
        assert_int_equal(a.data[i], 0);
}

static void test_messages_attest_bad_v_and_zero(void **state)
{
    (void)state;
    bh_seckey k = key_n(5);
    bh_hash32 d = {{0xcd}};
    unsigned char rs[64];
    uint8_t v;
    bh_address a;
    bh_reject why;
    assert_int_equal(bh_attest_sign(ctx, rs, &v, &d, &k), BH_OK);
    const uint8_t bad[] = {2, 3, 26, 29, 35, 36, 255};
    for (size_t i = 0; i < sizeof bad; i++) {
        assert_int_equal(bh_attest_recover(ctx, &a, &why, &d, rs, bad[i]), BH_ECRYPTO);
        assert_int_equal(why, BH_REJECT_BAD_RECOVERY_ID);
    }
    unsigned char zero[64] = {0};
    assert_int_equal(bh_attest_recover(ctx, &a, &why, &d, zero, 0), BH_ECRYPTO);
    assert_int_equal(why, BH_REJECT_BAD_SIGNATURE);
}

/* Builds a transfer VAA signed by the keys at the given indices. */
static size_t signed_vaa(unsigned char *out, size_t cap, const bh_seckey *keys, const uint8_t *idx,
                         uint8_t n, uint32_t set_index, uint16_t src, const bh_bytes32 *emitter,
                         uint16_t token_chain, uint16_t to_chain)
{
    bh_transfer t;
    memset(&t, 0, sizeof t);
    bh_u256_from_u128(&t.amount, 1000000);
    t.token.data[31] = 1;
    t.token_chain = token_chain;
    t.to.data[31] = 2;
    t.to_chain = to_chain;
    unsigned char payload[BH_TRANSFER_LEN], body[256];
    bh_transfer_serialize(payload, &t);
    bh_vaa_body b = {.timestamp = (uint32_t)NOW,
                     .emitter_chain = src,
                     .emitter = *emitter,
                     .sequence = 5,
                     .payload = payload,
                     .payload_len = sizeof payload};
    size_t blen, len;
    assert_int_equal(bh_vaa_body_serialize(body, sizeof body, &blen, &b), BH_OK);
    bh_hash32 d;
    bh_vaa_digest(&d, body, blen);
    bh_vaa_sig sigs[16];
    for (uint8_t i = 0; i < n; i++) {
        sigs[i].signer_index = idx[i];
        assert_int_equal(bh_attest_sign(ctx, sigs[i].rs, &sigs[i].v, &d, &keys[idx[i]]), BH_OK);
    }
    assert_int_equal(bh_vaa_serialize(out, cap, &len, set_index, sigs, n, body, blen), BH_OK);
    return len;
}

static void make_set(bh_signer_set *set, bh_seckey *keys, uint8_t n, uint32_t index)
{
    memset(set, 0, sizeof *set);
    set->index = index;
    set->n = n;
    for (uint8_t i = 0; i < n; i++) {
        keys[i] = key_n(1000u + i);
        assert_int_equal(bh_attest_address(ctx, &set->addrs[i], &keys[i]), BH_OK);
    }
}

/* Default quorum floor(2n/3)+1 over every set size; exactly that many suffice. */
static void test_messages_attest_quorum_sizes(void **state)
{
    (void)state;
    static bh_signer_set set;
    static bh_vaa vaa;
    bh_seckey keys[16];
    bh_bytes32 em = {{0}};
    unsigned char buf[2048];
    for (uint8_t n = 1; n <= 16; n++) {
        make_set(&set, keys, n, 3);
        unsigned q = bh_signer_set_quorum(&set);
        assert_int_equal(q, n * 2 / 3 + 1);
        uint8_t idx[16];
        for (uint8_t i = 0; i < n; i++)
            idx[i] = i;
        for (uint8_t m = 1; m <= n; m++) {
            size_t len = signed_vaa(buf, sizeof buf, keys, idx, m, 3, 1, &em, 1, 2);
            bh_reject why;
            assert_int_equal(bh_vaa_parse(&vaa, &why, buf, len), BH_OK);
            bh_reject r = bh_vaa_verify(ctx, &vaa, &set, NOW);
            assert_int_equal(r, m >= q ? BH_REJECT_OK : BH_REJECT_QUORUM_NOT_MET);
        }
    }
}

/* A set holding the zero address cannot be satisfied by failed recoveries. */
static void test_messages_attest_zero_address_never_matches(void **state)
{
    (void)state;
    static bh_signer_set set;
    static bh_vaa vaa;
    bh_seckey keys[1];
    bh_bytes32 em = {{0}};
    unsigned char buf[1024];
    uint8_t idx[1] = {0};
    make_set(&set, keys, 1, 0);
    memset(set.addrs[0].data, 0, 20);
    size_t len = signed_vaa(buf, sizeof buf, keys, idx, 1, 0, 1, &em, 1, 2);
    memset(buf + 7, 0, 64); /* r = s = 0: recovery fails */
    bh_reject why;
    assert_int_equal(bh_vaa_parse(&vaa, &why, buf, len), BH_OK);
    assert_int_equal(bh_vaa_verify(ctx, &vaa, &set, NOW), BH_REJECT_BAD_SIGNATURE);
}

static void test_messages_attest_signer_structure(void **state)
{
    (void)state;
    static bh_signer_set set;
    static bh_vaa vaa;
    bh_seckey keys[4];
    bh_bytes32 em = {{0}};
    unsigned char buf[2048];
    bh_reject why;
    make_set(&set, keys, 4, 1);
    const uint8_t rev[3] = {2, 1, 3};
    size_t len = signed_vaa(buf, sizeof buf, keys, rev, 3, 1, 1, &em, 1, 2);
    assert_int_equal(bh_vaa_parse(&vaa, &why, buf, len), BH_OK);
    assert_int_equal(bh_vaa_verify(ctx, &vaa, &set, NOW), BH_REJECT_SIGNER_ORDER);
    /* Index 4 is outside a set of 4: checked before any curve work. */
    set.n = 5;
    const uint8_t far[3] = {0, 1, 4};
    static bh_seckey keys5[5];
    memcpy(keys5, keys, sizeof keys);
    keys5[4] = key_n(4242);
    len = signed_vaa(buf, sizeof buf, keys5, far, 3, 1, 1, &em, 1, 2);
    set.n = 4;
    assert_int_equal(bh_vaa_parse(&vaa, &why, buf, len), BH_OK);
    assert_int_equal(bh_vaa_verify(ctx, &vaa, &set, NOW), BH_REJECT_SIGNER_OUT_OF_RANGE);
    /* A key outside the set signing in a member's slot. */
    keys5[1] = key_n(777);
    const uint8_t ok[3] = {0, 1, 2};
    len = signed_vaa(buf, sizeof buf, keys5, ok, 3, 1, 1, &em, 1, 2);
    assert_int_equal(bh_vaa_parse(&vaa, &why, buf, len), BH_OK);
    assert_int_equal(bh_vaa_verify(ctx, &vaa, &set, NOW), BH_REJECT_BAD_SIGNATURE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_attest_address),
        cmocka_unit_test(test_messages_attest_sign_recover),
        cmocka_unit_test(test_messages_attest_high_s),
        cmocka_unit_test(test_messages_attest_bad_v_and_zero),
        cmocka_unit_test(test_messages_attest_quorum_sizes),
        cmocka_unit_test(test_messages_attest_zero_address_never_matches),
        cmocka_unit_test(test_messages_attest_signer_structure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
