/* chains: RLP, EIP-1559 signing, ABI, Portal event decoding, JSON-RPC
 * answer parsing and field readers (pure functions; no network). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bh_abi.h"
#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_chain.h"
#include "bh_chain_backend.h"
#include "bh_evm_chain.h"
#include "bh_evm_tx.h"
#include "bh_keccak.h"
#include "bh_portal.h"
#include "bh_rlp.h"
#include "bh_rpc.h"
#include "bh_test.h"

static void hex_of(char *out, const unsigned char *d, size_t n)
{
    bh_hex_encode(out, d, n);
}

/* ---- RLP: vectors from ethereum/tests RLPTests/rlptest.json ---- */

static void expect_rlp(bh_rlp *r, const char *hex)
{
    const unsigned char *enc;
    size_t len;
    assert_int_equal(bh_rlp_finish(r, &enc, &len), BH_OK);
    char got[1024];
    assert_true(len * 2 < sizeof got);
    hex_of(got, enc, len);
    assert_string_equal(got, hex);
    bh_rlp_clear(r);
}

static void test_chains_rlp_vectors(void **state)
{
    (void)state;
    bh_rlp r;
    struct {
        uint64_t v;
        const char *hex;
    } ints[] = {{0, "80"},     {1, "01"},        {16, "10"},           {79, "4f"}, {127, "7f"},
                {128, "8180"}, {1000, "8203e8"}, {100000, "830186a0"}, {0, NULL}};
    for (size_t i = 0; ints[i].hex; i++) {
        bh_rlp_init(&r);
        bh_rlp_uint(&r, ints[i].v);
        expect_rlp(&r, ints[i].hex);
    }
    bh_rlp_init(&r);
    bh_rlp_bytes(&r, (const unsigned char *)"", 0);
    expect_rlp(&r, "80");
    bh_rlp_init(&r);
    bh_rlp_bytes(&r, (const unsigned char *)"d", 1);
    expect_rlp(&r, "64");
    bh_rlp_init(&r);
    bh_rlp_bytes(&r, (const unsigned char *)"dog", 3);
    expect_rlp(&r, "83646f67");
    const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    bh_rlp_init(&r);
    bh_rlp_bytes(&r, (const unsigned char *)lorem, strlen(lorem));
    expect_rlp(&r, "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465"
                   "747572206164697069736963696e6720656c6974");
    /* emptylist, stringlist, multilist */
    bh_rlp_init(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_end(&r);
    expect_rlp(&r, "c0");
    bh_rlp_init(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_bytes(&r, (const unsigned char *)"dog", 3);
    bh_rlp_bytes(&r, (const unsigned char *)"god", 3);
    bh_rlp_bytes(&r, (const unsigned char *)"cat", 3);
    bh_rlp_list_end(&r);
    expect_rlp(&r, "cc83646f6783676f6483636174");
    /* setTheoreticalRepresentation: [ [], [[]], [ [], [[]] ] ] */
    bh_rlp_init(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_end(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_end(&r);
    bh_rlp_list_end(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_end(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_begin(&r);
    bh_rlp_list_end(&r);
    bh_rlp_list_end(&r);
    bh_rlp_list_end(&r);
    bh_rlp_list_end(&r);
    expect_rlp(&r, "c7c0c1c0c3c0c1c0");
    /* shortListMax1: 11 x 4-byte strings = 55-byte payload (f7), then one more: long list */
    const char *w[] = {"asdf", "qwer", "zxcv"};
    bh_rlp_init(&r);
    bh_rlp_list_begin(&r);
    for (int i = 0; i < 11; i++)
        bh_rlp_bytes(&r, (const unsigned char *)w[i % 3], 4);
    bh_rlp_list_end(&r);
    expect_rlp(&r, "f784617364668471776572847a78637684617364668471776572847a7863768461736466847177"
                   "6572847a78637684617364668471776572");
    /* longList1: four times ["asdf","qwer","zxcv"] */
    bh_rlp_init(&r);
    bh_rlp_list_begin(&r);
    for (int k = 0; k < 4; k++) {
        bh_rlp_list_begin(&r);
        for (int i = 0; i < 3; i++)
            bh_rlp_bytes(&r, (const unsigned char *)w[i], 4);
        bh_rlp_list_end(&r);
    }
    bh_rlp_list_end(&r);
    expect_rlp(&r, "f840cf84617364668471776572847a786376cf84617364668471776572847a786376cf846173"
                   "64668471776572847a786376cf84617364668471776572847a786376");
    /* bigint 0x010000000000000000000000000000000000000000000000000000000000000000 does not
     * fit u256; the largest u256 does */
    bh_u256 big;
    memset(big.be, 0xff, 32);
    bh_rlp_init(&r);
    bh_rlp_u256(&r, &big);
    expect_rlp(&r, "a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
}

static void test_chains_rlp_misuse(void **state)
{
    (void)state;
    bh_rlp r;
    const unsigned char *enc;
    size_t len;
    bh_rlp_init(&r);
    bh_rlp_list_begin(&r); /* never closed */
    assert_int_equal(bh_rlp_finish(&r, &enc, &len), BH_EINVAL);
    assert_null(enc);
    bh_rlp_clear(&r);
    bh_rlp_init(&r);
    bh_rlp_list_end(&r); /* closes nothing */
    bh_rlp_uint(&r, 5);  /* sticky: ignored */
    assert_int_equal(bh_rlp_finish(&r, &enc, &len), BH_EINVAL);
    bh_rlp_clear(&r);
    bh_rlp_init(&r);
    for (int i = 0; i <= BH_RLP_MAX_DEPTH; i++)
        bh_rlp_list_begin(&r);
    assert_int_equal(bh_rlp_finish(&r, &enc, &len), BH_EINVAL);
    bh_rlp_clear(&r);
}

/* ---- EIP-1559: ethers.js reference vector (chain 4), key 0x46..46 ---- */

static void vector_tx(bh_evm_tx *tx, unsigned char data[4])
{
    memset(tx, 0, sizeof *tx);
    tx->chain_id = 4;
    tx->nonce = 0x2a;
    tx->max_priority_fee = 0x7f;
    tx->max_fee = 0xff;
    tx->gas_limit = 0x0186a0;
    tx->has_to = 1;
    memset(tx->to.data, 0, 20);
    tx->to.data[0] = 0xff;
    tx->to.data[19] = 0x02;
    bh_u256_from_u128(&tx->value, 0x3b9aca00);
    data[0] = 0xde, data[1] = 0xad, data[2] = 0xbe, data[3] = 0xef;
    tx->data = data;
    tx->data_len = 4;
}

static const char *VEC_RAW =
    "02f86c042a7f81ff830186a094ff00000000000000000000000000000000000002843b9aca0084deadbeefc080"
    "a0d1709fea33339a6ae2de8cab335edf3fe6531a20b4403826922e2c987a825f6da0213663e77c6b261fe08026"
    "7314fcbc62fa4239e9ffd0fb37ff89277b3949965c";
static const char *VEC_HASH = "41dc0cd9b133e0d4e47e269988b0109c966db5220d57e2a7f3cdc6c2f8de6a72";

static void test_chains_eip1559_vector(void **state)
{
    (void)state;
    bh_attest *ctx = bh_attest_create();
    assert_non_null(ctx);
    bh_seckey key;
    memset(key.data, 0x46, 32);
    bh_address addr;
    assert_int_equal(bh_attest_address(ctx, &addr, &key), BH_OK);
    char ah[41];
    hex_of(ah, addr.data, 20);
    assert_string_equal(ah, "9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f");

    bh_evm_tx tx;
    unsigned char data[4];
    vector_tx(&tx, data);
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    bh_hash32 h;
    assert_int_equal(bh_evm_tx_sign(ctx, &raw, &raw_len, &h, &tx, &key), BH_OK);
    char got[512];
    hex_of(got, raw, raw_len);
    assert_string_equal(got, VEC_RAW);
    hex_of(got, h.data, 32);
    assert_string_equal(got, VEC_HASH);
    free(raw);

    /* The signature recovers to the sender over the signing hash. */
    bh_hash32 sh;
    assert_int_equal(bh_evm_tx_signing_hash(&sh, &tx), BH_OK);
    unsigned char rs[64];
    bh_test_unhex(rs, 32, "d1709fea33339a6ae2de8cab335edf3fe6531a20b4403826922e2c987a825f6d");
    bh_test_unhex(rs + 32, 32, "213663e77c6b261fe080267314fcbc62fa4239e9ffd0fb37ff89277b3949965c");
    bh_address rec;
    bh_reject why;
    assert_int_equal(bh_attest_recover(ctx, &rec, &why, &sh, rs, 0), BH_OK);
    assert_memory_equal(rec.data, addr.data, 20);

    /* Chain id is signed: another chain gives another hash. */
    tx.chain_id = 1;
    bh_hash32 sh1;
    assert_int_equal(bh_evm_tx_signing_hash(&sh1, &tx), BH_OK);
    assert_memory_not_equal(sh.data, sh1.data, 32);

    /* Misuse */
    assert_int_equal(bh_evm_tx_encode_signed(&raw, &raw_len, &h, &tx, rs, 2), BH_EINVAL);
    assert_null(raw);
    bh_seckey zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(bh_evm_tx_sign(ctx, &raw, &raw_len, &h, &tx, &zero), BH_ECRYPTO);
    assert_null(raw);
    bh_attest_destroy(ctx);
}

/* Contract creation: empty `to` is encoded as the empty string 0x80. */
static void test_chains_eip1559_create(void **state)
{
    (void)state;
    bh_evm_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.chain_id = 31337;
    unsigned char rs[64] = {0};
    rs[31] = 1;
    rs[63] = 2;
    unsigned char *raw;
    size_t len;
    bh_hash32 h;
    assert_int_equal(bh_evm_tx_encode_signed(&raw, &len, &h, &tx, rs, 1), BH_OK);
    char got[128];
    hex_of(got, raw, len);
    /* 02 || [0x7a69, nonce, tip, fee, gas = 0, to "", value 0, data "", [], 1, 1, 2] */
    assert_string_equal(got, "02ce827a6980808080808080c0010102");
    free(raw);
}

/* ---- ABI ---- */

static void test_chains_abi(void **state)
{
    (void)state;
    unsigned char sel[4];
    bh_abi_selector(sel, "transfer(address,uint256)");
    assert_memory_equal(sel, "\xa9\x05\x9c\xbb", 4);
    bh_hash32 t;
    bh_abi_topic(&t, BH_ERC20_TRANSFER_SIG);
    char th[65];
    hex_of(th, t.data, 32);
    assert_string_equal(th, "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

    bh_abi a;
    bh_abi_init(&a, "f(uint256,bytes)", 2);
    bh_abi_uint(&a, 0x123);
    bh_abi_bytes(&a, (const unsigned char *)"abc", 3);
    unsigned char *out;
    size_t len;
    assert_int_equal(bh_abi_finish(&a, &out, &len), BH_OK);
    bh_abi_clear(&a);
    assert_int_equal(len, 4 + 4 * 32);
    uint64_t v;
    assert_int_equal(bh_abi_read_u64(&v, out + 4, len - 4, 0), BH_OK);
    assert_int_equal(v, 0x123);
    assert_int_equal(bh_abi_read_u64(&v, out + 4, len - 4, 1), BH_OK);
    assert_int_equal(v, 64); /* offset of the tail */
    assert_int_equal(bh_abi_read_u64(&v, out + 4, len - 4, 2), BH_OK);
    assert_int_equal(v, 3);
    assert_memory_equal(out + 4 + 96, "abc\0\0", 5);
    free(out);

    /* Too few arguments, too many arguments. */
    bh_abi_init(&a, "g(uint256,uint256)", 2);
    bh_abi_uint(&a, 1);
    assert_int_equal(bh_abi_finish(&a, &out, &len), BH_EINVAL);
    bh_abi_clear(&a);
    bh_abi_init(&a, "g(uint256)", 1);
    bh_abi_uint(&a, 1);
    bh_abi_uint(&a, 2);
    assert_int_equal(bh_abi_finish(&a, &out, &len), BH_EINVAL);
    bh_abi_clear(&a);

    /* Readers refuse out-of-range words and missing words. */
    unsigned char w[32] = {0};
    w[0] = 1;
    assert_int_equal(bh_abi_read_u64(&v, w, 32, 0), BH_EMALFORMED);
    bh_address ad;
    assert_int_equal(bh_abi_read_address(&ad, w, 32, 0), BH_EMALFORMED);
    assert_int_equal(bh_abi_read_u64(&v, w, 31, 0), BH_EMALFORMED);
    assert_int_equal(bh_abi_read_u64(&v, w, 32, 1), BH_EMALFORMED);
    assert_int_equal(bh_abi_read_u64(&v, w, 32, SIZE_MAX), BH_EMALFORMED);
}

/* ---- Portal events ---- */

static void make_event(bh_hash32 topics[3], unsigned char data[256], uint16_t token_chain,
                       uint16_t to_chain, uint64_t amount, uint64_t fee)
{
    memset(topics, 0, 3 * sizeof topics[0]);
    memset(data, 0, 256);
    bh_abi_topic(&topics[0], BH_PORTAL_TRANSFER_OUT_SIG);
    topics[1].data[31] = 7;                /* sequence */
    memset(topics[2].data + 12, 0xaa, 20); /* sender */
    memset(data + 12, 0x11, 20);           /* token (address, left-padded) */
    data[32 + 30] = (unsigned char)(token_chain >> 8);
    data[32 + 31] = (unsigned char)token_chain;
    memset(data + 64 + 12, 0x22, 20); /* to */
    data[96 + 30] = (unsigned char)(to_chain >> 8);
    data[96 + 31] = (unsigned char)to_chain;
    for (int i = 0; i < 8; i++)
        data[128 + 31 - i] = (unsigned char)(amount >> (8 * i));
    for (int i = 0; i < 8; i++)
        data[160 + 31 - i] = (unsigned char)(fee >> (8 * i));
    data[192 + 31] = 42; /* nonce */
    data[224 + 31] = BH_EVENT_LOCK;
}

static void test_chains_event_decode(void **state)
{
    (void)state;
    bh_hash32 topics[3];
    unsigned char data[256];
    make_event(topics, data, 2, 3, 1000, 10);
    bh_portal_transfer_out ev;
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, data, 256), BH_OK);
    assert_int_equal(ev.sequence, 7);
    assert_int_equal(ev.token_chain, 2);
    assert_int_equal(ev.to_chain, 3);
    assert_int_equal(ev.nonce, 42);
    assert_int_equal(ev.kind, BH_EVENT_LOCK);
    assert_int_equal(ev.sender.data[0], 0xaa);
    assert_int_equal(ev.amount.be[31], 1000 & 0xff);

    /* Hostile shapes. */
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 2, data, 256), BH_EMALFORMED);
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, data, 255), BH_EMALFORMED);
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, data, 288), BH_EMALFORMED);
    unsigned char bad[256];
    memcpy(bad, data, 256);
    bad[32 + 29] = 1; /* token_chain = 0x10002 > u16 */
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, bad, 256), BH_EMALFORMED);
    memcpy(bad, data, 256);
    bad[224 + 31] = 2; /* unknown kind */
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, bad, 256), BH_EMALFORMED);
    memcpy(bad, data, 256);
    bad[192 + 27] = 1; /* nonce > u32 */
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, bad, 256), BH_EMALFORMED);
    bh_hash32 wrong[3];
    memcpy(wrong, topics, sizeof wrong);
    wrong[0].data[0] ^= 1; /* another event */
    assert_int_equal(bh_portal_decode_transfer_out(&ev, wrong, 3, data, 256), BH_EMALFORMED);
    memcpy(wrong, topics, sizeof wrong);
    wrong[2].data[0] = 1; /* sender word not an address */
    assert_int_equal(bh_portal_decode_transfer_out(&ev, wrong, 3, data, 256), BH_EMALFORMED);
}

static void test_chains_event_body(void **state)
{
    (void)state;
    bh_hash32 topics[3];
    unsigned char data[256];
    make_event(topics, data, 2, 3, 1000, 10);
    bh_portal_transfer_out ev;
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, data, 256), BH_OK);
    bh_address portal;
    memset(portal.data, 0x55, 20);
    unsigned char body[BH_EVENT_BODY_MAX], body2[BH_EVENT_BODY_MAX];
    size_t len, len2;
    bh_transfer_msg msg, msg2;
    bh_reject why;
    assert_int_equal(bh_portal_event_body(body, &len, &msg, &why, &ev, 2, &portal, 1700000000),
                     BH_OK);
    assert_int_equal(why, BH_REJECT_OK);
    assert_int_equal(len, BH_VAA_BODY_FIXED + BH_TRANSFER_LEN);
    /* Deterministic: the same event gives the same bytes and digest. */
    assert_int_equal(bh_portal_event_body(body2, &len2, &msg2, &why, &ev, 2, &portal, 1700000000),
                     BH_OK);
    assert_memory_equal(body, body2, len);
    assert_memory_equal(msg.digest.data, msg2.digest.data, 32);
    /* Layout: timestamp, nonce, emitter chain, emitter = padded portal, sequence, consistency. */
    assert_memory_equal(body, "\x65\x53\xf1\x00", 4);
    assert_memory_equal(body + 4, "\x00\x00\x00\x2a", 4);
    assert_memory_equal(body + 8, "\x00\x02", 2);
    assert_memory_equal(body + 10, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
    assert_memory_equal(body + 22, portal.data, 20);
    assert_memory_equal(body + 42, "\0\0\0\0\0\0\0\x07", 8);
    assert_int_equal(body[50], BH_CONSISTENCY_FINALIZED);
    assert_int_equal(body[51], BH_TRANSFER_PAYLOAD_ID);
    assert_true(msg.amount == 1000 && msg.fee == 10 && msg.sequence == 7);
    bh_hash32 d;
    bh_vaa_digest(&d, body, len);
    assert_memory_equal(d.data, msg.digest.data, 32);

    /* One node's single-signature VAA over that body recovers to its key. */
    bh_attest *ctx = bh_attest_create();
    bh_seckey key;
    memset(key.data, 0x07, 32);
    bh_address signer, rec;
    assert_int_equal(bh_attest_address(ctx, &signer, &key), BH_OK);
    unsigned char vaa[BH_VAA_HEADER_FIXED + BH_VAA_SIG_LEN + BH_EVENT_BODY_MAX];
    size_t vlen = 0;
    assert_int_equal(bh_portal_sign_vaa(ctx, vaa, sizeof vaa, &vlen, 4, 9, &key, body, len), BH_OK);
    assert_int_equal(vlen, BH_VAA_HEADER_FIXED + BH_VAA_SIG_LEN + len);
    bh_vaa parsed;
    assert_int_equal(bh_vaa_parse(&parsed, &why, vaa, vlen), BH_OK);
    assert_int_equal(parsed.signer_set_index, 4);
    assert_int_equal(parsed.n_sigs, 1);
    assert_int_equal(parsed.sigs[0].signer_index, 9);
    assert_int_equal(
        bh_attest_recover(ctx, &rec, &why, &msg.digest, parsed.sigs[0].rs, parsed.sigs[0].v),
        BH_OK);
    assert_memory_equal(rec.data, signer.data, 20);
    assert_int_equal(bh_portal_sign_vaa(ctx, vaa, 10, &vlen, 4, 9, &key, body, len), BH_ENOSPC);
    assert_int_equal(vlen, 0);
    bh_seckey bad;
    memset(bad.data, 0, 32);
    assert_int_equal(bh_portal_sign_vaa(ctx, vaa, sizeof vaa, &vlen, 4, 9, &bad, body, len),
                     BH_ECRYPTO);
    bh_attest_destroy(ctx);

    /* A message back to its own chain, or with fee > amount, is refused by name. */
    make_event(topics, data, 2, 2, 1000, 10);
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, data, 256), BH_OK);
    assert_int_equal(bh_portal_event_body(body, &len, &msg, &why, &ev, 2, &portal, 1),
                     BH_EMALFORMED);
    assert_int_equal(why, BH_REJECT_SAME_CHAIN);
    make_event(topics, data, 2, 3, 10, 11);
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, data, 256), BH_OK);
    assert_int_equal(bh_portal_event_body(body, &len, &msg, &why, &ev, 2, &portal, 1),
                     BH_EMALFORMED);
    assert_int_equal(why, BH_REJECT_FEE_EXCEEDS_AMOUNT);
    make_event(topics, data, 2, 3, 0, 0);
    assert_int_equal(bh_portal_decode_transfer_out(&ev, topics, 3, data, 256), BH_OK);
    assert_int_equal(bh_portal_event_body(body, &len, &msg, &why, &ev, 2, &portal, 1),
                     BH_EMALFORMED);
    assert_int_equal(why, BH_REJECT_AMOUNT_OUT_OF_RANGE);
}

/* ---- JSON-RPC answers ---- */

static int parse(const char *body, json_int_t id, json_t **res, long *code, char *msg)
{
    return bh_rpc_parse_answer(res, code, msg, 128, body, strlen(body), id);
}

static void test_chains_rpc_answers(void **state)
{
    (void)state;
    json_t *res;
    long code;
    char msg[128];
    /* Recorded from anvil 1.7.1. */
    assert_int_equal(
        parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x7a69\"}", 1, &res, &code, msg), BH_OK);
    uint64_t v;
    assert_int_equal(bh_rpc_read_quantity(&v, res), BH_OK);
    assert_int_equal(v, 31337);
    json_decref(res);
    assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32601,\"message\":"
                           "\"Method not found\"}}",
                           9, &res, &code, msg),
                     BH_ERPC);
    assert_null(res);
    assert_int_equal(code, -32601);
    assert_string_equal(msg, "Method not found");
    assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":null}", 2, &res, &code, msg),
                     BH_OK);
    assert_true(json_is_null(res));
    json_decref(res);

    /* Hostile bodies: each a clear BH_EPROTO, never a crash. */
    const char *bad[] = {
        "",
        "garbage",
        "<html>502 Bad Gateway</html>",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"",    /* truncated */
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}]", /* batch answer */
        "{\"id\":1,\"result\":\"0x1\"}",                       /* no version */
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":\"0x1\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x1\"}", /* someone else's answer */
        "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":\"0x1\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"1\",\"message\":\"x\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"boom\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":1,\"result\":\"0x1\"}", /* duplicate key */
        NULL};
    for (size_t i = 0; bad[i]; i++) {
        int rc = parse(bad[i], 1, &res, &code, msg);
        if (rc != BH_EPROTO) fail_msg("body %zu: got %s", i, bh_errname(rc));
        assert_null(res);
        assert_true(msg[0] != '\0');
    }
    /* Deep nesting is refused by the parser rather than overflowing the stack. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 64);
    assert_non_null(deep);
    strcpy(deep, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":");
    size_t off = strlen(deep);
    memset(deep + off, '[', depth);
    memset(deep + off + depth, ']', depth);
    strcpy(deep + off + 2 * depth, "}");
    assert_int_equal(parse(deep, 1, &res, &code, msg), BH_EPROTO);
    free(deep);
}

static void test_chains_rpc_readers(void **state)
{
    (void)state;
    struct {
        const char *json;
        int rc;
        uint64_t v;
    } q[] = {{"\"0x0\"", BH_OK, 0},
             {"\"0x1b4\"", BH_OK, 0x1b4},
             {"\"0x00ff\"", BH_OK, 0xff},
             {"\"0xffffffffffffffff\"", BH_OK, UINT64_MAX},
             {"\"0x10000000000000000\"", BH_EPROTO, 0}, /* 2^64 */
             {"\"0x\"", BH_EPROTO, 0},
             {"\"1b4\"", BH_EPROTO, 0},
             {"\"0x1g\"", BH_EPROTO, 0},
             {"\"-0x1\"", BH_EPROTO, 0},
             {"436", BH_EPROTO, 0},
             {"null", BH_EPROTO, 0},
             {"{}", BH_EPROTO, 0},
             {NULL, 0, 0}};
    for (size_t i = 0; q[i].json; i++) {
        json_t *j = json_loads(q[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        uint64_t v = 99;
        int rc = bh_rpc_read_quantity(&v, j);
        if (rc != q[i].rc) fail_msg("%s: got %s", q[i].json, bh_errname(rc));
        assert_true(v == q[i].v);
        json_decref(j);
    }
    json_t *j = json_string("0x"
                            "0000000000000000000000000000000000000000000000000000000000000001");
    bh_hash32 h;
    assert_int_equal(bh_rpc_read_hash(&h, j), BH_OK);
    assert_int_equal(h.data[31], 1);
    bh_address a;
    assert_int_equal(bh_rpc_read_address(&a, j), BH_EPROTO); /* 32 bytes is not an address */
    json_decref(j);
    j = json_string("0x00112233445566778899aabbccddeeff0011223"); /* 39 digits */
    assert_int_equal(bh_rpc_read_address(&a, j), BH_EPROTO);
    json_decref(j);
    unsigned char *d;
    size_t dl;
    j = json_string("0xdeadbeef");
    assert_int_equal(bh_rpc_read_data(&d, &dl, j, 4), BH_OK);
    assert_int_equal(dl, 4);
    free(d);
    assert_int_equal(bh_rpc_read_data(&d, &dl, j, 3), BH_ETOOBIG);
    assert_null(d);
    json_decref(j);
    j = json_string("0xabc");
    assert_int_equal(bh_rpc_read_data(&d, &dl, j, 100), BH_EPROTO);
    json_decref(j);
    /* a second prefix is no data: it was read as 2 bytes, one never written */
    j = json_string("0x0xab");
    assert_int_equal(bh_rpc_read_data(&d, &dl, j, 100), BH_EPROTO);
    assert_null(d);
    json_decref(j);
    j = json_string("0xDEADbeef");
    assert_int_equal(bh_rpc_read_data(&d, &dl, j, 100), BH_OK);
    assert_int_equal(dl, 4);
    assert_int_equal(d[0], 0xde);
    assert_int_equal(d[3], 0xef);
    free(d);
    json_decref(j);
    j = json_string("0x"
                    "00000000000000000000000000000000000000000000000000000000000000g1");
    assert_int_equal(bh_rpc_read_hash(&h, j), BH_EPROTO);
    assert_int_equal(h.data[31], 0); /* zeroed on refusal */
    json_decref(j);
    j = json_string("0x");
    assert_int_equal(bh_rpc_read_data(&d, &dl, j, 100), BH_OK);
    assert_int_equal(dl, 0);
    free(d);
    json_decref(j);
    j = json_pack("{s:s}", "number", "0x10");
    uint64_t v;
    assert_int_equal(bh_rpc_member_quantity(&v, j, "number"), BH_OK);
    assert_int_equal(v, 16);
    assert_int_equal(bh_rpc_member_quantity(&v, j, "missing"), BH_EPROTO);
    json_decref(j);
}

static void test_chains_rpc_create_misuse(void **state)
{
    (void)state;
    bh_rpc *ep = (bh_rpc *)1;
    bh_rpc_options o = {.url = "ftp://127.0.0.1/"};
    assert_int_equal(bh_rpc_create(&ep, &o), BH_EINVAL);
    assert_null(ep);
    o.url = NULL;
    assert_int_equal(bh_rpc_create(&ep, &o), BH_EINVAL);
    bh_rpc_destroy(NULL);
    /* A closed port: a transport error with a message, after the retries. */
    o.url = "http://127.0.0.1:1/";
    o.max_retries = 1;
    o.backoff_ms = 1;
    assert_int_equal(bh_rpc_create(&ep, &o), BH_OK);
    json_t *res = NULL;
    assert_int_equal(bh_rpc_call(ep, &res, "eth_chainId", NULL), BH_EHTTP);
    assert_null(res);
    assert_non_null(strstr(bh_rpc_last_error(ep), "127.0.0.1:1"));
    bh_rpc_stats st;
    bh_rpc_stats_get(ep, &st);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.healthy, 0);
    bh_rpc_destroy(ep);
}

/* ---- the log hook: the shared level enum, and nothing below the minimum ---- */

typedef struct {
    int calls, warns, other;
    void *ud;
    char last[512];
} log_seen;

static void record_log(void *ud, bh_log_level level, const char *msg)
{
    log_seen *ls = ud;
    ls->calls++;
    ls->ud = ud;
    if (level == BH_LOG_WARN)
        ls->warns++;
    else
        ls->other++;
    snprintf(ls->last, sizeof ls->last, "%s", msg);
}

/* One call to a closed port (one retry), or a chain's eth_chainId check on
 * it, with the hook at min: what the hook saw. */
static log_seen closed_port_logs(int chain, bh_log_level min)
{
    static log_seen ls;
    memset(&ls, 0, sizeof ls);
    bh_rpc_options o = {.url = "http://127.0.0.1:1/",
                        .max_retries = 1,
                        .backoff_ms = 1,
                        .log = record_log,
                        .log_ud = &ls,
                        .log_min = min};
    if (chain) {
        const char *urls[] = {o.url};
        bh_evm_chain_config cfg = {
            .bridge_id = 1, .evm_chain_id = 1, .urls = urls, .n_urls = 1, .quorum = 1, .rpc = o};
        bh_evm_chain *c = NULL;
        assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
        assert_int_equal(bh_evm_chain_verify(c), BH_EHTTP);
        bh_evm_chain_destroy(c);
    } else {
        bh_rpc *ep = NULL;
        assert_int_equal(bh_rpc_create(&ep, &o), BH_OK);
        json_t *res = NULL;
        assert_int_equal(bh_rpc_call(ep, &res, "eth_chainId", NULL), BH_EHTTP);
        bh_rpc_destroy(ep);
    }
    return ls;
}

static void test_chains_log_hook(void **state)
{
    (void)state;
    /* the endpoint: a warning for the retry and one for the failure */
    log_seen ls = closed_port_logs(0, BH_LOG_DEBUG);
    assert_int_equal(ls.calls, 2);
    assert_int_equal(ls.warns, 2);
    assert_ptr_not_equal(ls.ud, NULL);
    assert_non_null(strstr(ls.last, "127.0.0.1:1"));
    ls = closed_port_logs(0, BH_LOG_WARN);
    assert_int_equal(ls.warns, 2);
    ls = closed_port_logs(0, BH_LOG_ERROR);
    assert_int_equal(ls.calls, 0);
    /* the chain passes its own messages through the same hook, at the same levels */
    ls = closed_port_logs(1, BH_LOG_WARN);
    assert_int_equal(ls.calls, 3);
    assert_int_equal(ls.warns, 3);
    assert_non_null(strstr(ls.last, "eth_chainId failed: EHTTP"));
    ls = closed_port_logs(1, BH_LOG_ERROR);
    assert_int_equal(ls.calls, 0);
}

/* ---- watcher state machine over a scripted backend ---- */

typedef struct {
    int verify_rc, verify_calls;
    int fin_rc;
    bh_block_ref fin;
    int hash_rc;
    uint64_t hash_fail_at;   /* block_hash of this number fails (0: none) */
    unsigned char hash_byte; /* block n has hash {hash_byte ^ n, ...} */
    int fetch_rc, fetch_calls;
    uint64_t fetch_from, fetch_to, fetch_stop; /* stop: last block "done" (0: to) */
    size_t fetch_events;
} script;

static void hash_of(bh_hash32 *h, const script *sc, uint64_t n)
{
    memset(h, sc->hash_byte, sizeof *h);
    h->data[0] ^= (unsigned char)n;
    h->data[1] = 0xee; /* never all zero */
}

static int sc_verify(void *impl)
{
    script *sc = impl;
    sc->verify_calls++;
    return sc->verify_rc;
}

static int sc_finalized(void *impl, bh_block_ref *out)
{
    script *sc = impl;
    memset(out, 0, sizeof *out);
    if (sc->fin_rc) return sc->fin_rc;
    *out = sc->fin;
    hash_of(&out->hash, sc, out->number);
    return BH_OK;
}

static int sc_block_hash(void *impl, uint64_t n, bh_hash32 *out)
{
    script *sc = impl;
    memset(out, 0, sizeof *out);
    if (sc->hash_rc) return sc->hash_rc;
    if (sc->hash_fail_at && n == sc->hash_fail_at) return BH_ETIMEOUT;
    hash_of(out, sc, n);
    return BH_OK;
}

static int sc_fetch(void *impl, uint64_t from, uint64_t to, bh_chain_event **ev, size_t *n,
                    uint64_t *done_to)
{
    script *sc = impl;
    *ev = NULL;
    *n = 0;
    *done_to = 0;
    sc->fetch_calls++;
    sc->fetch_from = from;
    sc->fetch_to = to;
    if (sc->fetch_rc) return sc->fetch_rc;
    if (sc->fetch_events) {
        *ev = calloc(sc->fetch_events, sizeof **ev);
        assert_non_null(*ev);
        *n = sc->fetch_events;
    }
    *done_to = sc->fetch_stop ? sc->fetch_stop : to;
    return BH_OK;
}

static const bh_chain_ops script_ops = {.kind = "script",
                                        .verify = sc_verify,
                                        .finalized = sc_finalized,
                                        .block_hash = sc_block_hash,
                                        .fetch = sc_fetch};

static void expect_cursor(bh_watcher *w, const script *sc, uint64_t n)
{
    bh_block_ref cur;
    bh_watcher_cursor(w, &cur);
    assert_int_equal(cur.number, n);
    bh_hash32 h;
    hash_of(&h, sc, n);
    assert_memory_equal(cur.hash.data, h.data, 32);
}

static void test_chains_watcher_states(void **state)
{
    (void)state;
    script sc = {.fin = {.number = 100}, .hash_byte = 0x10, .fetch_events = 2};
    bh_watcher *w = NULL;
    bh_chain_event *ev = (bh_chain_event *)1;
    size_t n = 99;
    bh_block_ref cur;

    assert_int_equal(bh_watcher_create(&w, NULL, &sc, NULL), BH_EINVAL);
    assert_null(w);

    /* Endpoints of another chain: refused at the first poll, nothing read. */
    sc.verify_rc = BH_ECHAINID;
    assert_int_equal(bh_watcher_create(&w, &script_ops, &sc, NULL), BH_OK);
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_ECHAINID);
    assert_null(ev);
    assert_int_equal(n, 0);
    assert_int_equal(sc.fetch_calls, 0);
    sc.verify_rc = BH_OK;

    /* Cold cursor: everything from block 0 up to the finalized head. */
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_OK);
    assert_int_equal(n, 2);
    free(ev);
    assert_int_equal(sc.fetch_from, 0);
    assert_int_equal(sc.fetch_to, 100);
    expect_cursor(w, &sc, 100);
    assert_int_equal(cur.number, 100);
    assert_int_equal(sc.verify_calls, 2);

    /* Nothing new: no fetch, no events; verify is not repeated. */
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_OK);
    assert_int_equal(n, 0);
    assert_null(ev);
    assert_int_equal(sc.fetch_calls, 1);
    assert_int_equal(sc.verify_calls, 2);

    /* The agreed head trails the cursor: wait, read nothing. */
    sc.fin.number = 90;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sc.fetch_calls, 1);
    expect_cursor(w, &sc, 100);

    /* Provider limits: fetch stops at 150 of 200; the cursor follows it. */
    sc.fin.number = 200;
    sc.fetch_stop = 150;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_OK);
    free(ev);
    assert_int_equal(sc.fetch_from, 101);
    assert_int_equal(sc.fetch_to, 200);
    expect_cursor(w, &sc, 150);
    sc.fetch_stop = 0;

    /* Errors leave the cursor where it was and return no events. */
    sc.fetch_rc = BH_ENOQUORUM;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_ENOQUORUM);
    assert_null(ev);
    expect_cursor(w, &sc, 150);
    sc.fetch_rc = BH_OK;
    sc.fin_rc = BH_ETIMEOUT;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_ETIMEOUT);
    expect_cursor(w, &sc, 150);
    sc.fin_rc = BH_OK;
    sc.hash_rc = BH_EPROTO; /* cursor check cannot be made */
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_EPROTO);
    expect_cursor(w, &sc, 150);
    sc.hash_rc = BH_OK;

    /* A partial fetch whose end hash cannot be read: events dropped, cursor kept. */
    sc.fetch_stop = 180;
    sc.hash_fail_at = 180;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_ETIMEOUT);
    assert_null(ev);
    assert_int_equal(n, 0);
    expect_cursor(w, &sc, 150);
    sc.hash_fail_at = 0;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_OK);
    assert_int_equal(n, 2);
    free(ev);
    expect_cursor(w, &sc, 180);
    sc.fetch_stop = 0;

    /* History rewritten under the cursor: equivocation, cursor kept, no fetch. */
    int before = sc.fetch_calls;
    sc.hash_byte = 0x20;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_EEQUIVOCATION);
    assert_null(ev);
    assert_int_equal(sc.fetch_calls, before);
    bh_watcher_cursor(w, &cur);
    assert_int_equal(cur.number, 180);
    bh_hash32 old;
    sc.hash_byte = 0x10;
    hash_of(&old, &sc, 180);
    assert_memory_equal(cur.hash.data, old.data, 32);
    bh_watcher_destroy(w);
    bh_watcher_destroy(NULL);

    /* A warm cursor with a zero hash starts after its number, unchecked. */
    bh_block_ref start = {.number = 41};
    sc.fin.number = 50;
    assert_int_equal(bh_watcher_create(&w, &script_ops, &sc, &start), BH_OK);
    assert_int_equal(bh_watcher_poll(w, &ev, &n, &cur), BH_OK);
    free(ev);
    assert_int_equal(sc.fetch_from, 42);
    bh_watcher_destroy(w);
}

/* The node finds a chain kind's backend by name, and a backend implements
 * every operation the node calls (no NULL slot to crash on). */
static void test_chains_backend_table(void **state)
{
    (void)state;
    const bh_chain_backend *be = bh_chain_backend_by_kind("evm");
    assert_ptr_equal(be, &bh_chain_backend_evm);
    assert_string_equal(be->kind, "evm");
    assert_null(bh_chain_backend_by_kind("solana"));
    assert_null(bh_chain_backend_by_kind(NULL));
    assert_non_null(be->create);
    assert_non_null(be->destroy);
    assert_non_null(be->watch.verify);
    assert_non_null(be->watch.finalized);
    assert_non_null(be->watch.block_hash);
    assert_non_null(be->watch.fetch);
    assert_non_null(be->expect_sequence);
    assert_non_null(be->head);
    assert_non_null(be->last_split);
    assert_non_null(be->endpoint_count);
    assert_non_null(be->endpoint_url);
    assert_non_null(be->endpoint_health);
    assert_non_null(be->sender_create);
    assert_non_null(be->sender_destroy);
    assert_non_null(be->submit);
    assert_non_null(be->last_error);
    assert_non_null(be->wallet);
    assert_non_null(be->attester);
    /* misuse is refused, not followed */
    void *impl = (void *)1;
    assert_int_equal(be->create(&impl, NULL), BH_EINVAL);
    assert_null(impl);
    bh_chain_config cfg = {.bridge_id = 1, .chain_id = 0}; /* no endpoints */
    assert_int_equal(be->create(&impl, &cfg), BH_EINVAL);
    assert_null(impl);
    void *sender = (void *)1;
    bh_chain_sender_config sc = {.chain_id = 1};
    assert_int_equal(be->sender_create(&sender, &sc), BH_EINVAL); /* no url, no key */
    assert_null(sender);
    be->destroy(NULL);
    be->sender_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chains_rlp_vectors),
        cmocka_unit_test(test_chains_rlp_misuse),
        cmocka_unit_test(test_chains_eip1559_vector),
        cmocka_unit_test(test_chains_eip1559_create),
        cmocka_unit_test(test_chains_abi),
        cmocka_unit_test(test_chains_event_decode),
        cmocka_unit_test(test_chains_event_body),
        cmocka_unit_test(test_chains_rpc_answers),
        cmocka_unit_test(test_chains_rpc_readers),
        cmocka_unit_test(test_chains_rpc_create_misuse),
        cmocka_unit_test(test_chains_log_hook),
        cmocka_unit_test(test_chains_watcher_states),
        cmocka_unit_test(test_chains_backend_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
