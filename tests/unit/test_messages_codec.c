/* keccak-256, hex/base64, checked amounts, reject names, VAA and transfer codecs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bh_amount.h"
#include "bh_be.h"
#include "bh_error.h"
#include "bh_hex.h"
#include "bh_keccak.h"
#include "bh_reject.h"
#include "bh_suggest.h"
#include "bh_transfer.h"
#include "bh_vaa.h"
#include "bh_test.h"

static void expect_keccak(const void *data, size_t len, const char *hex)
{
    bh_hash32 h;
    char got[65];
    bh_keccak256(&h, data, len);
    bh_hex_encode(got, h.data, 32);
    assert_string_equal(got, hex);
}

/* Published Keccak-256 (Ethereum) vectors, not SHA3-256. */
/* bh_be.h: known bytes, most significant first, at any alignment. */
static void test_messages_be_helpers(void **state)
{
    (void)state;
    unsigned char b[1 + 16];
    memset(b, 0xee, sizeof b);
    bh_be_put_u16(b + 1, 0x0102);
    assert_memory_equal(b + 1, "\x01\x02", 2);
    assert_int_equal(bh_be_get_u16(b + 1), 0x0102);
    bh_be_put_u32(b + 1, 0x01020304u);
    assert_memory_equal(b + 1, "\x01\x02\x03\x04", 4);
    assert_int_equal(bh_be_get_u32(b + 1), 0x01020304u);
    bh_be_put_u64(b + 1, 0x0102030405060708ull);
    assert_memory_equal(b + 1, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(bh_be_get_u64(b + 1) == 0x0102030405060708ull);
    bh_u128 v = (bh_u128)0x0102030405060708ull << 64 | 0x090a0b0c0d0e0f10ull;
    bh_be_put_u128(b + 1, v);
    assert_memory_equal(b + 1, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10",
                        16);
    assert_true(bh_be_get_u128(b + 1) == v);
    assert_int_equal(b[0], 0xee);
    bh_be_put_u128(b + 1, BH_U128_MAX);
    assert_true(bh_be_get_u128(b + 1) == BH_U128_MAX);
    bh_be_put_u64(b + 1, UINT64_MAX);
    assert_true(bh_be_get_u64(b + 1) == UINT64_MAX);
}

static void test_messages_keccak_vectors(void **state)
{
    (void)state;
    expect_keccak("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect_keccak("abc", 3, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    expect_keccak(fox, strlen(fox),
                  "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
    /* 200 bytes of 0xa3: crosses the 136-byte rate (Keccak team's 1600-bit message). */
    unsigned char a3[200];
    memset(a3, 0xa3, sizeof a3);
    expect_keccak(a3, sizeof a3,
                  "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a");
}

/* Feeding in pieces of every size gives the one-shot digest. */
static void test_messages_keccak_incremental(void **state)
{
    (void)state;
    unsigned char data[1000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    bh_hash32 whole;
    bh_keccak256(&whole, data, sizeof data);
    for (size_t step = 1; step < 300; step += 17) {
        bh_keccak_ctx c;
        bh_hash32 h;
        bh_keccak_init(&c);
        for (size_t off = 0; off < sizeof data; off += step)
            bh_keccak_update(&c, data + off, off + step > sizeof data ? sizeof data - off : step);
        bh_keccak_final(&c, &h);
        assert_memory_equal(h.data, whole.data, 32);
    }
}

static void test_messages_hex(void **state)
{
    (void)state;
    unsigned char out[8];
    size_t n;
    char enc[17];
    assert_int_equal(bh_hex_decode(out, sizeof out, &n, "0xDEadBEef", 10), BH_OK);
    assert_int_equal(n, 4);
    bh_hex_encode(enc, out, n);
    assert_string_equal(enc, "deadbeef");
    assert_int_equal(bh_hex_decode(out, sizeof out, &n, "abc", 3), BH_EMALFORMED);
    assert_int_equal(n, 0);
    assert_int_equal(bh_hex_decode(out, sizeof out, &n, "zz", 2), BH_EMALFORMED);
    assert_int_equal(bh_hex_decode(out, 2, &n, "001122", 6), BH_ENOSPC);
    assert_int_equal(bh_hex_decode_exact(out, 4, "0x00112233", 10), BH_OK);
    assert_int_equal(bh_hex_decode_exact(out, 4, "001122", 6), BH_EMALFORMED);
    assert_int_equal(bh_hex_decode(out, sizeof out, &n, "", 0), BH_OK);
    assert_int_equal(n, 0);
}

static void test_messages_base64(void **state)
{
    (void)state;
    unsigned char out[16];
    size_t n;
    assert_int_equal(bh_base64_decode(out, sizeof out, &n, "AQID", 4), BH_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0] * 100 + out[1] * 10 + out[2], 123);
    assert_int_equal(bh_base64_decode(out, sizeof out, &n, "AQ==", 4), BH_OK);
    assert_int_equal(n, 1);
    assert_int_equal(bh_base64_decode(out, sizeof out, &n, "AQ", 2), BH_OK);
    assert_int_equal(n, 1);
    /* Non-zero leftover bits would let two strings decode to the same bytes. */
    assert_int_equal(bh_base64_decode(out, sizeof out, &n, "AR==", 4), BH_EMALFORMED);
    assert_int_equal(bh_base64_decode(out, sizeof out, &n, "A", 1), BH_EMALFORMED);
    assert_int_equal(bh_base64_decode(out, sizeof out, &n, "A*==", 4), BH_EMALFORMED);
    assert_int_equal(bh_base64_decode(out, 2, &n, "AQID", 4), BH_ENOSPC);
}

static void test_messages_amount_u128(void **state)
{
    (void)state;
    bh_u256 w;
    bh_u128 v;
    memset(&w, 0, sizeof w);
    w.be[16] = 0xff;
    w.be[31] = 1;
    assert_int_equal(bh_u256_to_u128(&v, &w), BH_OK);
    assert_true(v == (((bh_u128)0xff << 120) | 1));
    w.be[15] = 1; /* needs bit 128 */
    assert_int_equal(bh_u256_to_u128(&v, &w), BH_ERANGE);
    assert_true(v == 0);

    bh_u256 back;
    bh_u256_from_u128(&back, BH_U128_MAX);
    assert_int_equal(bh_u256_to_u128(&v, &back), BH_OK);
    assert_true(v == BH_U128_MAX);

    bh_u128 r = 5;
    assert_int_equal(bh_u128_add(&r, BH_U128_MAX, 1), BH_ERANGE);
    assert_true(r == 5); /* untouched on overflow */
    assert_int_equal(bh_u128_sub(&r, 1, 2), BH_ERANGE);
    assert_int_equal(bh_u128_mul(&r, BH_U128_MAX, 2), BH_ERANGE);
    assert_int_equal(bh_u128_sub(&r, 10, 3), BH_OK);
    assert_true(r == 7);

    char dec[BH_U128_DEC_MAX];
    bh_u128_to_dec(dec, BH_U128_MAX);
    assert_string_equal(dec, "340282366920938463463374607431768211455");
    assert_int_equal(bh_u128_from_dec(&v, dec, strlen(dec)), BH_OK);
    assert_true(v == BH_U128_MAX);
    assert_int_equal(bh_u128_from_dec(&v, "340282366920938463463374607431768211456", 39),
                     BH_ERANGE);
    assert_int_equal(bh_u128_from_dec(&v, "12a", 3), BH_EMALFORMED);
    assert_int_equal(bh_u128_from_dec(&v, "", 0), BH_EMALFORMED);

    char units[64];
    bh_u128_to_units(units, sizeof units, 1500000, 6);
    assert_string_equal(units, "1.5");
    bh_u128_to_units(units, sizeof units, 1, 6);
    assert_string_equal(units, "0.000001");
    bh_u128_to_units(units, sizeof units, 1000, 0);
    assert_string_equal(units, "1000");
    bh_u128_to_units(units, sizeof units, 0, 18);
    assert_string_equal(units, "0");

    char d256[BH_U256_DEC_MAX];
    memset(&w, 0xff, sizeof w);
    bh_u256_to_dec(d256, &w);
    assert_string_equal(
        d256, "115792089237316195423570985008687907853269984665640564039457584007913129639935");
}

static void test_messages_reject_names(void **state)
{
    (void)state;
    /* Every reason has a unique name that maps back to it. */
    for (int i = 0; i < BH_REJECT_COUNT_; i++) {
        const char *n = bh_reject_name((bh_reject)i);
        assert_string_not_equal(n, "invalid");
        bh_reject back;
        assert_int_equal(bh_reject_from_name(&back, n), BH_OK);
        assert_int_equal(back, i);
    }
    assert_string_equal(bh_reject_name(BH_REJECT_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(bh_reject_name(BH_REJECT_QUORUM_NOT_MET), "quorum_not_met");
    assert_string_equal(bh_reject_name(BH_REJECT_COUNT_), "invalid");
    bh_reject r;
    assert_int_equal(bh_reject_from_name(&r, "no_such_reason"), BH_ENOTFOUND);
    assert_string_equal(bh_errname(BH_EMALFORMED), "EMALFORMED");
    assert_string_equal(bh_strerror(BH_OK), "success");
    assert_string_equal(bh_errname(2), "ENOENT");
    assert_string_equal(bh_errname(-1), "EUNKNOWN");
}

/* A body + transfer payload, serialised, with n zeroed signatures. */
static size_t build_vaa(unsigned char *out, size_t cap, uint8_t n_sigs, bh_transfer *t)
{
    unsigned char payload[BH_TRANSFER_LEN];
    memset(t, 0, sizeof *t);
    bh_u256_from_u128(&t->amount, 1000);
    t->token.data[31] = 0xaa;
    t->token_chain = 2;
    t->to.data[31] = 0xbb;
    t->to_chain = 3;
    bh_u256_from_u128(&t->fee, 10);
    bh_transfer_serialize(payload, t);
    bh_vaa_body b = {.timestamp = 1700000000,
                     .nonce = 7,
                     .emitter_chain = 2,
                     .sequence = 42,
                     .consistency = 1,
                     .payload = payload,
                     .payload_len = sizeof payload};
    b.emitter.data[0] = 0xee;
    unsigned char body[256];
    size_t blen;
    assert_int_equal(bh_vaa_body_serialize(body, sizeof body, &blen, &b), BH_OK);
    assert_int_equal(blen, BH_VAA_BODY_FIXED + BH_TRANSFER_LEN);
    bh_vaa_sig sigs[3];
    memset(sigs, 0, sizeof sigs);
    for (int i = 0; i < 3; i++)
        sigs[i].signer_index = (uint8_t)i;
    size_t len;
    assert_int_equal(bh_vaa_serialize(out, cap, &len, 9, sigs, n_sigs, body, blen), BH_OK);
    return len;
}

static void test_messages_vaa_roundtrip(void **state)
{
    (void)state;
    unsigned char buf[1024];
    bh_transfer t;
    size_t len = build_vaa(buf, sizeof buf, 3, &t);
    static bh_vaa v;
    bh_reject why;
    assert_int_equal(bh_vaa_parse(&v, &why, buf, len), BH_OK);
    assert_int_equal(why, BH_REJECT_OK);
    assert_int_equal(v.signer_set_index, 9);
    assert_int_equal(v.n_sigs, 3);
    assert_int_equal(v.sigs[2].signer_index, 2);
    assert_int_equal(v.b.timestamp, 1700000000);
    assert_int_equal(v.b.nonce, 7);
    assert_int_equal(v.b.emitter_chain, 2);
    assert_int_equal(v.b.emitter.data[0], 0xee);
    assert_int_equal(v.b.sequence, 42);
    assert_int_equal(v.b.consistency, 1);
    assert_int_equal(v.body_len, BH_VAA_BODY_FIXED + BH_TRANSFER_LEN);
    assert_ptr_equal(v.body, buf + 6 + 3 * 66);

    bh_transfer_msg m;
    assert_int_equal(bh_transfer_msg_from_vaa(&m, &why, &v), BH_OK);
    assert_true(m.amount == 1000 && m.fee == 10);
    assert_int_equal(m.transfer.token_chain, 2);
    assert_int_equal(m.transfer.to_chain, 3);
    assert_int_equal(m.sequence, 42);
    bh_hash32 d;
    bh_vaa_digest(&d, v.body, v.body_len);
    assert_memory_equal(d.data, m.digest.data, 32);
    assert_int_equal(m.nonce, 7);
    assert_int_equal(m.consistency, 1);

    /* The message alone rebuilds the signed body byte for byte (delivery
     * signs it later); any altered field is refused instead of signed. */
    unsigned char body[BH_VAA_BODY_FIXED + BH_TRANSFER_LEN];
    size_t body_len;
    assert_int_equal(bh_transfer_msg_body(body, sizeof body, &body_len, &m), BH_OK);
    assert_int_equal(body_len, v.body_len);
    assert_memory_equal(body, v.body, body_len);
    bh_transfer_msg bad = m;
    bad.amount = 1; /* the ledger's copy must agree with what is signed */
    assert_int_equal(bh_transfer_msg_body(body, sizeof body, &body_len, &bad), BH_ECORRUPT);
    bad = m;
    bad.transfer.to.data[31] ^= 1;
    assert_int_equal(bh_transfer_msg_body(body, sizeof body, &body_len, &bad), BH_ECORRUPT);
    assert_int_equal(body_len, 0);
    bad = m;
    bad.nonce ^= 1;
    assert_int_equal(bh_transfer_msg_body(body, sizeof body, &body_len, &bad), BH_ECORRUPT);
    assert_int_equal(bh_transfer_msg_body(body, 100, &body_len, &m), BH_ENOSPC);
    assert_int_equal(bh_transfer_msg_body(NULL, sizeof body, &body_len, &m), BH_EINVAL);

    /* Re-serialising the parsed fields reproduces the bytes. */
    unsigned char again[1024];
    size_t again_len;
    assert_int_equal(bh_vaa_serialize(again, sizeof again, &again_len, v.signer_set_index, v.sigs,
                                      v.n_sigs, v.body, v.body_len),
                     BH_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, buf, len);
    assert_int_equal(bh_vaa_serialize(again, 100, &again_len, 9, v.sigs, 3, v.body, v.body_len),
                     BH_ENOSPC);
}

static void expect_parse_reject(const unsigned char *buf, size_t len, bh_reject want)
{
    static bh_vaa v;
    bh_reject why = BH_REJECT_OK;
    assert_int_equal(bh_vaa_parse(&v, &why, buf, len), BH_EMALFORMED);
    assert_string_equal(bh_reject_name(why), bh_reject_name(want));
}

static void test_messages_vaa_refusals(void **state)
{
    (void)state;
    unsigned char buf[1024];
    bh_transfer t;
    size_t len = build_vaa(buf, sizeof buf, 2, &t);

    expect_parse_reject(buf, 0, BH_REJECT_TRUNCATED);
    /* Every strict prefix that ends inside the header or fixed body is truncated. */
    for (size_t cut = 1; cut < 6 + 2 * 66 + BH_VAA_BODY_FIXED; cut++)
        expect_parse_reject(buf, cut, BH_REJECT_TRUNCATED);

    unsigned char bad[1024];
    memcpy(bad, buf, len);
    bad[0] = 2;
    expect_parse_reject(bad, len, BH_REJECT_BAD_VERSION);
    bad[0] = 0;
    expect_parse_reject(bad, len, BH_REJECT_BAD_VERSION);

    memcpy(bad, buf, len);
    bad[5] = 0;
    expect_parse_reject(bad, len, BH_REJECT_NO_SIGNATURES);

    /* A count that overruns the buffer: 255 signatures need 16 KB. */
    memcpy(bad, buf, len);
    bad[5] = 255;
    expect_parse_reject(bad, len, BH_REJECT_TRUNCATED);
    /* Three more signatures than present run past the end of the input. */
    bad[5] = 5;
    expect_parse_reject(bad, len, BH_REJECT_TRUNCATED);

    /* Oversized input is refused before anything is read from it. */
    unsigned char *huge = calloc(1, BH_VAA_MAX_LEN + 1);
    assert_non_null(huge);
    memcpy(huge, buf, len);
    expect_parse_reject(huge, BH_VAA_MAX_LEN + 1, BH_REJECT_MALFORMED);
    free(huge);

    /* Trailing garbage: the VAA parses, the transfer payload refuses it. */
    memcpy(bad, buf, len);
    bad[len] = 0x00;
    static bh_vaa v;
    bh_reject why;
    assert_int_equal(bh_vaa_parse(&v, &why, bad, len + 1), BH_OK);
    bh_transfer_msg m;
    assert_int_equal(bh_transfer_msg_from_vaa(&m, &why, &v), BH_EMALFORMED);
    assert_int_equal(why, BH_REJECT_TRAILING_BYTES);
    /* ...and a short payload is truncated. */
    assert_int_equal(bh_vaa_parse(&v, &why, buf, len - 1), BH_OK);
    assert_int_equal(bh_transfer_msg_from_vaa(&m, &why, &v), BH_EMALFORMED);
    assert_int_equal(why, BH_REJECT_TRUNCATED);
}

static void transfer_case(void (*mutate)(bh_transfer *), uint16_t emitter_chain, bh_reject want)
{
    bh_transfer t;
    memset(&t, 0, sizeof t);
    bh_u256_from_u128(&t.amount, 500);
    t.token_chain = 1;
    t.to_chain = 3;
    mutate(&t);
    unsigned char payload[BH_TRANSFER_LEN];
    bh_transfer_serialize(payload, &t);
    unsigned char body[256];
    size_t blen;
    bh_vaa_body b = {
        .emitter_chain = emitter_chain, .payload = payload, .payload_len = sizeof payload};
    assert_int_equal(bh_vaa_body_serialize(body, sizeof body, &blen, &b), BH_OK);
    static bh_vaa v;
    memset(&v, 0, sizeof v);
    bh_reject why;
    assert_int_equal(bh_vaa_body_parse(&v.b, &why, body, blen), BH_OK);
    v.body = body;
    v.body_len = blen;
    bh_transfer_msg m;
    int rc = bh_transfer_msg_from_vaa(&m, &why, &v);
    assert_int_equal(rc, want == BH_REJECT_OK ? BH_OK : BH_EMALFORMED);
    assert_string_equal(bh_reject_name(why), bh_reject_name(want));
}

static void mut_none(bh_transfer *t)
{
    (void)t;
}
static void mut_zero_amount(bh_transfer *t)
{
    memset(&t->amount, 0, 32);
}
static void mut_big_amount(bh_transfer *t)
{
    t->amount.be[0] = 1;
}
static void mut_big_fee(bh_transfer *t)
{
    t->fee.be[15] = 1;
}
static void mut_fee_over(bh_transfer *t)
{
    bh_u256_from_u128(&t->fee, 501);
}
static void mut_fee_all(bh_transfer *t)
{
    bh_u256_from_u128(&t->fee, 500);
}

static void test_messages_transfer_rules(void **state)
{
    (void)state;
    transfer_case(mut_none, 2, BH_REJECT_OK);
    transfer_case(mut_fee_all, 2, BH_REJECT_OK);
    transfer_case(mut_zero_amount, 2, BH_REJECT_AMOUNT_OUT_OF_RANGE);
    transfer_case(mut_big_amount, 2, BH_REJECT_AMOUNT_OUT_OF_RANGE);
    transfer_case(mut_big_fee, 2, BH_REJECT_AMOUNT_OUT_OF_RANGE);
    transfer_case(mut_fee_over, 2, BH_REJECT_FEE_EXCEEDS_AMOUNT);
    transfer_case(mut_none, 3, BH_REJECT_SAME_CHAIN);

    unsigned char p[BH_TRANSFER_LEN] = {3};
    bh_transfer t;
    bh_reject why;
    assert_int_equal(bh_transfer_parse(&t, &why, p, sizeof p), BH_EMALFORMED);
    assert_int_equal(why, BH_REJECT_UNKNOWN_PAYLOAD);
    assert_int_equal(bh_transfer_parse(&t, &why, p, 0), BH_EMALFORMED);
    assert_int_equal(why, BH_REJECT_TRUNCATED);
}

static void test_messages_misuse(void **state)
{
    (void)state;
    static bh_vaa v;
    bh_reject why;
    unsigned char b[8] = {1};
    size_t n;
    assert_int_equal(bh_vaa_parse(NULL, &why, b, 8), BH_EINVAL);
    assert_int_equal(bh_vaa_parse(&v, NULL, b, 8), BH_EINVAL);
    assert_int_equal(bh_vaa_parse(&v, &why, NULL, 8), BH_EINVAL);
    assert_int_equal(bh_vaa_serialize(b, 8, &n, 0, v.sigs, 0, b, 1), BH_EINVAL);
    assert_int_equal(bh_hex_decode(NULL, 4, &n, "00", 2), BH_EINVAL);
}

/* A wire address prints as the chain names it: 20 bytes for EVM. */
static void test_messages_hex_address(void **state)
{
    (void)state;
    unsigned char b[32] = {0};
    char s[67];
    b[12] = 0xab;
    b[31] = 0x01;
    bh_hex_address(s, b);
    assert_string_equal(s, "0xab00000000000000000000000000000000000001");
    b[11] = 0x02; /* not an EVM address: all 32 bytes */
    bh_hex_address(s, b);
    assert_string_equal(s, "0x000000000000000000000002ab00000000000000000000000000000000000001");
}

/* "did you mean": distance, the typo rule and the nearest choice */
static void test_messages_suggest(void **state)
{
    (void)state;
    assert_int_equal(bh_edit_distance("lok", "lock"), 1);
    assert_int_equal(bh_edit_distance("lsit", "list"), 1); /* a swap is one typo */
    assert_int_equal(bh_edit_distance("lsit", "init"), 2);
    assert_int_equal(bh_edit_distance("", "abc"), 3);
    assert_int_equal(bh_edit_distance("same", "same"), 0);
    char long_word[80];
    memset(long_word, 'a', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = 0;
    assert_true(bh_edit_distance(long_word, "a") == SIZE_MAX);
    static const char *const verbs[] = {"show", "list", "limits", "lock"};
    static const char *const vaultctl[] = {"init", "list"};
    assert_string_equal(bh_suggest("lsit", vaultctl, 2), "list");
    assert_string_equal(bh_suggest("shwo", verbs, 4), "show");
    assert_string_equal(bh_suggest("limts", verbs, 4), "limits");
    assert_null(bh_suggest("frobnicate", verbs, 4)); /* too far */
    assert_null(bh_suggest("ab", verbs, 4));         /* 2 edits of a 2-letter word: no */
    assert_null(bh_suggest(NULL, verbs, 4));
    assert_null(bh_suggest("show", verbs, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_be_helpers),
        cmocka_unit_test(test_messages_keccak_vectors),
        cmocka_unit_test(test_messages_keccak_incremental),
        cmocka_unit_test(test_messages_hex),
        cmocka_unit_test(test_messages_base64),
        cmocka_unit_test(test_messages_amount_u128),
        cmocka_unit_test(test_messages_reject_names),
        cmocka_unit_test(test_messages_vaa_roundtrip),
        cmocka_unit_test(test_messages_vaa_refusals),
        cmocka_unit_test(test_messages_transfer_rules),
        cmocka_unit_test(test_messages_misuse),
        cmocka_unit_test(test_messages_suggest),
        cmocka_unit_test(test_messages_hex_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
