/* chains on real anvil chains: lock -> finality -> message; M-of-N delivery
 * executed once; on-chain outstanding bound; forged locks; reorgs below and
 * past finality; a submit executed by a quorum another node completed
 * after its estimate; lying, garbage, hanging, rate-limiting and flooding
 * endpoints; adaptive log ranges; nonce recovery and fee bumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bh_abi.h"
#include "bh_amount.h"
#include "bh_hex.h"
#include "bh_chain.h"
#include "bh_evm_chain.h"
#include "bh_evm_sender.h"
#include "bh_evm_tx.h"
#include "bh_portal.h"
#include "bh_portal_admin.h"
#include "bh_test_token.h"
#include "bh_vaa.h"
#include "bh_test_contracts.h"
#include "it_harness.h"
#include "node_harness.h"

#define EVM_A 1001
#define EVM_B 1002
#define CHAIN_A 2 /* bridge ids */
#define CHAIN_B 3
#define FINALITY_DEPTH 64 /* anvil: finalized = head - 64 */

typedef struct {
    it_anvil a, b;
    bh_attest *ctx;
    bh_rpc *rpc_a, *rpc_b;
    bh_evm_sender *dep_a, *dep_b;     /* deployer / user on each chain */
    bh_evm_sender *node2_a, *node2_b; /* a second relayer node's transaction key */
    bh_seckey att[3];
    bh_address att_addr[3];
    bh_address portal_a, portal_b, token_a;
    bh_address user_a, user_b;
} fixture;

static fixture F;

static void u256(bh_u256 *out, uint64_t v)
{
    bh_u256_from_u128(out, v);
}

static uint64_t u256_low(const bh_u256 *v)
{
    bh_u128 x = 0;
    assert_int_equal(bh_u256_to_u128(&x, v), BH_OK);
    return (uint64_t)x;
}

static void fund(const char *url, const bh_address *who)
{
    char a[43];
    a[0] = '0', a[1] = 'x';
    bh_hex_encode(a + 2, who->data, 20);
    json_t *r = it_rpc(url, "anvil_setBalance", json_pack("[s,s]", a, "0x56bc75e2d63100000"));
    assert_non_null(r);
    json_decref(r);
}

static int balance_of(bh_rpc *ep, bh_u256 *out, const bh_address *who)
{
    char a[43];
    bh_rpc_format_hex(a, who->data, 20);
    json_t *params = json_pack("[s,s]", a, "latest"), *res = NULL;
    int rc = bh_rpc_call(ep, &res, "eth_getBalance", params);
    if (rc == BH_OK) rc = bh_rpc_read_u256(out, res);
    json_decref(res);
    json_decref(params);
    return rc;
}

static bh_evm_sender *make_sender(bh_rpc *ep, const bh_seckey *key, uint64_t chain_id)
{
    bh_evm_sender_options o = {.chain_id = chain_id, .receipt_timeout_ms = 20000};
    bh_evm_sender *s = NULL;
    assert_int_equal(bh_evm_sender_create(&s, ep, F.ctx, key, &o), BH_OK);
    return s;
}

static bh_rpc *make_rpc(const char *url)
{
    bh_rpc_options o = {.url = url, .timeout_ms = 10000};
    bh_rpc *ep = NULL;
    assert_int_equal(bh_rpc_create(&ep, &o), BH_OK);
    return ep;
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    if (it_anvil_start(&F.a, EVM_A, NULL) || it_anvil_start(&F.b, EVM_B, NULL)) return -1;
    F.ctx = bh_attest_create();
    F.rpc_a = make_rpc(F.a.url);
    F.rpc_b = make_rpc(F.b.url);
    bh_seckey k0, k2;
    it_key(&k0, IT_ANVIL_KEY0);
    F.dep_a = make_sender(F.rpc_a, &k0, EVM_A);
    F.dep_b = make_sender(F.rpc_b, &k0, EVM_B);
    it_test_key(&k2, 200);
    bh_address a2;
    assert_int_equal(bh_attest_address(F.ctx, &a2, &k2), BH_OK);
    fund(F.a.url, &a2);
    fund(F.b.url, &a2);
    F.node2_a = make_sender(F.rpc_a, &k2, EVM_A);
    F.node2_b = make_sender(F.rpc_b, &k2, EVM_B);
    for (unsigned i = 0; i < 3; i++) {
        it_test_key(&F.att[i], i + 1);
        assert_int_equal(bh_attest_address(F.ctx, &F.att_addr[i], &F.att[i]), BH_OK);
    }
    F.user_a = *bh_evm_sender_address(F.dep_a);
    F.user_b = *bh_evm_sender_address(F.dep_b);
    assert_int_equal(bh_portal_deploy(F.dep_a, &F.portal_a, CHAIN_A, 0, F.att_addr, 3, 2), BH_OK);
    assert_int_equal(bh_portal_deploy(F.dep_b, &F.portal_b, CHAIN_B, 0, F.att_addr, 3, 2), BH_OK);
    assert_int_equal(bh_portal_register_remote(F.dep_a, &F.portal_a, CHAIN_B, &F.portal_b), BH_OK);
    assert_int_equal(bh_portal_register_remote(F.dep_b, &F.portal_b, CHAIN_A, &F.portal_a), BH_OK);
    assert_int_equal(bh_test_token_deploy(F.dep_a, &F.token_a, "Alpha", "ALP", 18), BH_OK);
    bh_u256 amt;
    u256(&amt, 1000000);
    assert_int_equal(bh_test_token_mint(F.dep_a, &F.token_a, &F.user_a, &amt), BH_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bh_evm_sender_destroy(F.dep_a);
    bh_evm_sender_destroy(F.dep_b);
    bh_evm_sender_destroy(F.node2_a);
    bh_evm_sender_destroy(F.node2_b);
    bh_rpc_destroy(F.rpc_a);
    bh_rpc_destroy(F.rpc_b);
    bh_attest_destroy(F.ctx);
    it_anvil_stop(&F.a);
    it_anvil_stop(&F.b);
    return 0;
}

static bh_evm_chain *make_chain(const char *const *urls, size_t n, unsigned k, uint64_t evm,
                                uint16_t bridge, const bh_address *portal)
{
    bh_evm_chain_config cfg = {.bridge_id = bridge,
                               .evm_chain_id = evm,
                               .urls = urls,
                               .n_urls = n,
                               .quorum = k,
                               .portal = *portal,
                               .rpc = {.timeout_ms = 5000}};
    bh_evm_chain *c = NULL;
    assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
    return c;
}

static void finalize(const char *url);

/* A watcher whose cursor is the chain's finalized head once everything
 * sent so far is final (so earlier tests' events stay behind it). */
static bh_watcher *watcher_at_head(bh_evm_chain *c, const char *url)
{
    finalize(url);
    bh_block_ref head;
    assert_int_equal(bh_evm_chain_finalized(c, &head), BH_OK);
    bh_watcher *w = NULL;
    assert_int_equal(bh_watcher_create(&w, &bh_chain_evm_ops, c, &head), BH_OK);
    return w;
}

static void finalize(const char *url)
{
    assert_int_equal(it_mine(url, FINALITY_DEPTH + 2), 0);
}

/* Sign body with attesters idx[0..n) (increasing) into a VAA of set `set`. */
static size_t make_vaa_set(unsigned char *out, size_t cap, uint32_t set, const unsigned char *body,
                           size_t len, const unsigned *idx, unsigned n)
{
    bh_hash32 d;
    bh_vaa_digest(&d, body, len);
    bh_vaa_sig sigs[3];
    for (unsigned i = 0; i < n; i++) {
        sigs[i].signer_index = (uint8_t)idx[i];
        assert_int_equal(bh_attest_sign(F.ctx, sigs[i].rs, &sigs[i].v, &d, &F.att[idx[i]]), BH_OK);
    }
    size_t vlen = 0;
    assert_int_equal(bh_vaa_serialize(out, cap, &vlen, set, sigs, (uint8_t)n, body, len), BH_OK);
    return vlen;
}

static size_t make_vaa(unsigned char *out, size_t cap, const unsigned char *body, size_t len,
                       const unsigned *idx, unsigned n)
{
    return make_vaa_set(out, cap, 0, body, len, idx, n);
}

/* Read the logs of one block again: a read returns once its quorum agrees,
 * so an endpoint slower than the others (a proxy) is asked only when it is
 * idle, and judged when its answer comes. */
static void reread_block(bh_evm_chain *c, uint64_t block)
{
    bh_chain_event *ev = NULL;
    size_t n = 0;
    uint64_t done = 0;
    if (bh_evm_chain_fetch(c, block, block, &ev, &n, &done) != BH_OK) ev = NULL;
    free(ev);
    usleep(10000);
}

static void poll_all(bh_watcher *w, bh_chain_event **ev, size_t *n)
{
    bh_block_ref cur;
    assert_int_equal(bh_watcher_poll(w, ev, n, &cur), BH_OK);
}

/* Lock on A -> exactly the expected message after finality -> 2-of-3
 * delivery on B (each node submits its own signature), executed once ->
 * burn on B -> unlock on A. */
static void test_it_lock_deliver_roundtrip(void **state)
{
    (void)state;
    const char *urls[] = {F.a.url};
    bh_evm_chain *ca = make_chain(urls, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    assert_int_equal(bh_evm_chain_verify(ca), BH_OK);
    bh_watcher *w = watcher_at_head(ca, F.a.url);

    bh_u256 amount, fee;
    u256(&amount, 1000);
    u256(&fee, 0);
    bh_evm_receipt rc;
    assert_int_equal(bh_portal_lock(F.dep_a, &rc, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                    &F.user_b, &fee, 77),
                     BH_OK);
    uint64_t lock_block = rc.block_number;
    bh_evm_receipt_clear(&rc);

    bh_chain_event *ev = NULL;
    size_t n = 0;
    poll_all(w, &ev, &n);
    assert_int_equal(n, 0); /* mined but not final: nothing yet */
    free(ev);

    finalize(F.a.url);
    poll_all(w, &ev, &n);
    assert_int_equal(n, 1);
    bh_chain_event e = ev[0];
    free(ev);
    assert_int_equal(e.verdict, BH_REJECT_OK);
    assert_int_equal(e.kind, BH_EVENT_LOCK);
    assert_int_equal(e.block_number, lock_block);
    assert_int_equal(e.nonce, 77);
    assert_true(e.msg.amount == 1000 && e.msg.fee == 0);
    assert_int_equal(e.msg.emitter_chain, CHAIN_A);
    assert_int_equal(e.msg.transfer.token_chain, CHAIN_A);
    assert_int_equal(e.msg.transfer.to_chain, CHAIN_B);
    bh_bytes32 p32, t32, u32;
    bh_address_to_bytes32(&p32, &F.portal_a);
    bh_address_to_bytes32(&t32, &F.token_a);
    bh_address_to_bytes32(&u32, &F.user_b);
    assert_memory_equal(e.msg.emitter.data, p32.data, 32);
    assert_memory_equal(e.msg.transfer.token.data, t32.data, 32);
    assert_memory_equal(e.msg.transfer.to.data, u32.data, 32);
    bh_hash32 d;
    bh_vaa_digest(&d, e.body, e.body_len);
    assert_memory_equal(d.data, e.msg.digest.data, 32);
    poll_all(w, &ev, &n);
    assert_int_equal(n, 0); /* the cursor moved past it */
    free(ev);

    /* A second, independent node watching the same chain builds the same body. */
    bh_evm_chain *ca2 = make_chain(urls, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_block_ref before = {.number = lock_block - 1};
    assert_int_equal(bh_evm_chain_block_hash(ca2, before.number, &before.hash), BH_OK);
    bh_watcher *w2 = NULL;
    assert_int_equal(bh_watcher_create(&w2, &bh_chain_evm_ops, ca2, &before), BH_OK);
    poll_all(w2, &ev, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].body_len, e.body_len);
    assert_memory_equal(ev[0].body, e.body, e.body_len);
    free(ev);
    bh_watcher_destroy(w2);
    bh_evm_chain_destroy(ca2);

    /* Delivery on B: node 1 submits attester 0's signature, node 2 attester 1's. */
    unsigned char vaa[1024];
    unsigned i02[] = {0, 2};
    size_t vlen = 0;
    assert_int_equal(
        bh_portal_sign_vaa(F.ctx, vaa, sizeof vaa, &vlen, 0, 0, &F.att[0], e.body, e.body_len),
        BH_OK);
    bh_submit_outcome out;
    unsigned approvals = 0;
    assert_int_equal(bh_portal_submit(F.dep_b, &out, &approvals, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(out, BH_SUBMIT_APPROVED);
    assert_int_equal(approvals, 1);
    bh_address wrapped;
    assert_int_equal(bh_portal_wrapped_for(F.rpc_b, &wrapped, &F.portal_b, CHAIN_A, &t32), BH_OK);
    bh_address zero = {{0}};
    assert_memory_equal(wrapped.data, zero.data, 20); /* nothing minted on one signature */

    assert_int_equal(
        bh_portal_sign_vaa(F.ctx, vaa, sizeof vaa, &vlen, 0, 1, &F.att[1], e.body, e.body_len),
        BH_OK);
    assert_int_equal(bh_portal_submit(F.node2_b, &out, &approvals, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(out, BH_SUBMIT_EXECUTED);
    assert_int_equal(approvals, 2);
    assert_int_equal(bh_portal_wrapped_for(F.rpc_b, &wrapped, &F.portal_b, CHAIN_A, &t32), BH_OK);
    assert_memory_not_equal(wrapped.data, zero.data, 20);
    bh_u256 bal;
    assert_int_equal(bh_erc20_balance(F.rpc_b, &bal, &wrapped, &F.user_b), BH_OK);
    assert_int_equal(u256_low(&bal), 1000);

    /* Submitting again (any signatures) is a no-op counted as delivered. */
    vlen = make_vaa(vaa, sizeof vaa, e.body, e.body_len, i02, 2);
    uint64_t nonce_before = bh_evm_sender_next_nonce(F.dep_b);
    assert_int_equal(bh_portal_submit(F.dep_b, &out, &approvals, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(out, BH_SUBMIT_ALREADY_DONE);
    assert_int_equal(bh_evm_sender_next_nonce(F.dep_b), nonce_before); /* nothing sent */
    assert_int_equal(bh_erc20_balance(F.rpc_b, &bal, &wrapped, &F.user_b), BH_OK);
    assert_int_equal(u256_low(&bal), 1000);

    /* Home again: burn 400 on B, watch B, unlock on A. */
    bh_u256 out_before;
    assert_int_equal(bh_portal_outstanding(F.rpc_a, &out_before, &F.portal_a, &F.token_a, CHAIN_B),
                     BH_OK);
    assert_int_equal(u256_low(&out_before), 1000);
    const char *urls_b[] = {F.b.url};
    bh_evm_chain *cb = make_chain(urls_b, 1, 1, EVM_B, CHAIN_B, &F.portal_b);
    bh_watcher *wb = watcher_at_head(cb, F.b.url);
    u256(&amount, 400);
    assert_int_equal(
        bh_portal_burn(F.dep_b, NULL, &F.portal_b, &wrapped, &amount, CHAIN_A, &F.user_a, &fee, 5),
        BH_OK);
    finalize(F.b.url);
    poll_all(wb, &ev, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].verdict, BH_REJECT_OK);
    assert_int_equal(ev[0].kind, BH_EVENT_BURN);
    assert_int_equal(ev[0].msg.transfer.token_chain, CHAIN_A);
    assert_memory_equal(ev[0].msg.transfer.token.data, t32.data, 32);
    bh_u256 ua_before, ua_after;
    assert_int_equal(bh_erc20_balance(F.rpc_a, &ua_before, &F.token_a, &F.user_a), BH_OK);
    unsigned i01[] = {0, 1};
    vlen = make_vaa(vaa, sizeof vaa, ev[0].body, ev[0].body_len, i01, 2);
    free(ev);
    assert_int_equal(bh_portal_submit(F.node2_a, &out, &approvals, &F.portal_a, vaa, vlen), BH_OK);
    assert_int_equal(out, BH_SUBMIT_EXECUTED);
    assert_int_equal(bh_erc20_balance(F.rpc_a, &ua_after, &F.token_a, &F.user_a), BH_OK);
    assert_int_equal(u256_low(&ua_after) - u256_low(&ua_before), 400);
    bh_u256 out_after;
    assert_int_equal(bh_portal_outstanding(F.rpc_a, &out_after, &F.portal_a, &F.token_a, CHAIN_B),
                     BH_OK);
    assert_int_equal(u256_low(&out_after), 600);

    bh_watcher_destroy(wb);
    bh_evm_chain_destroy(cb);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(ca);
}

/* Build a body as chain B's Portal would, for any claim. */
static size_t forged_body_fee(unsigned char *body, uint16_t emitter_chain,
                              const bh_address *emitter, uint64_t seq, const bh_address *token,
                              uint16_t token_chain, const bh_address *to, uint16_t to_chain,
                              uint64_t amount, uint64_t fee)
{
    bh_portal_transfer_out ev;
    memset(&ev, 0, sizeof ev);
    u256(&ev.fee, fee);
    ev.sequence = seq;
    bh_address_to_bytes32(&ev.token, token);
    ev.token_chain = token_chain;
    bh_address_to_bytes32(&ev.to, to);
    ev.to_chain = to_chain;
    u256(&ev.amount, amount);
    size_t len = 0;
    bh_transfer_msg msg;
    bh_reject why;
    assert_int_equal(bh_portal_event_body(body, &len, &msg, &why, &ev, emitter_chain, emitter,
                                          (uint32_t)time(NULL)),
                     BH_OK);
    return len;
}

static size_t forged_body(unsigned char *body, uint16_t emitter_chain, const bh_address *emitter,
                          uint64_t seq, const bh_address *token, uint16_t token_chain,
                          const bh_address *to, uint16_t to_chain, uint64_t amount)
{
    return forged_body_fee(body, emitter_chain, emitter, seq, token, token_chain, to, to_chain,
                           amount, 0);
}

/* submitBatch: each item is its own submit. An item that executes, one
 * that only approves, one with a signature of a stranger (refused, named,
 * the rest unharmed), one executed by an earlier item of the same batch
 * (nothing twice); the fee goes to the batch's sender; executedMask says
 * which are executed. */
static void test_it_submit_batch(void **state)
{
    (void)state;
    bh_seckey rk, stranger;
    it_test_key(&rk, 778);
    it_test_key(&stranger, 779);
    bh_address rcpt;
    assert_int_equal(bh_attest_address(F.ctx, &rcpt, &rk), BH_OK);
    unsigned char body[4][BH_EVENT_BODY_MAX], vaa[4][1024];
    size_t blen[4], vlen[4];
    for (unsigned i = 0; i < 3; i++) /* item 0 pays a fee of 3 */
        blen[i] = forged_body_fee(body[i], CHAIN_A, &F.portal_a, 7000 + i, &F.token_a, CHAIN_A,
                                  &rcpt, CHAIN_B, 10 + i, i == 0 ? 3 : 0);
    unsigned both[] = {0, 1}, one[] = {2};
    vlen[0] = make_vaa(vaa[0], sizeof vaa[0], body[0], blen[0], both, 2);
    vlen[1] = make_vaa(vaa[1], sizeof vaa[1], body[1], blen[1], one, 1);
    /* item 2: signer index 1, signed by a key that is not attester 1 */
    bh_hash32 d;
    bh_vaa_digest(&d, body[2], blen[2]);
    bh_vaa_sig sig = {.signer_index = 1};
    assert_int_equal(bh_attest_sign(F.ctx, sig.rs, &sig.v, &d, &stranger), BH_OK);
    assert_int_equal(
        bh_vaa_serialize(vaa[2], sizeof vaa[2], &vlen[2], 0, &sig, 1, body[2], blen[2]), BH_OK);
    memcpy(vaa[3], vaa[0], vlen[0]);
    vlen[3] = vlen[0];
    const unsigned char *items[4] = {vaa[0], vaa[1], vaa[2], vaa[3]};
    bh_bytes32 t32;
    bh_address_to_bytes32(&t32, &F.token_a);
    bh_address wrapped;
    assert_int_equal(bh_portal_wrapped_for(F.rpc_b, &wrapped, &F.portal_b, CHAIN_A, &t32), BH_OK);
    bh_u256 fee0, fee1;
    assert_int_equal(bh_erc20_balance(F.rpc_b, &fee0, &wrapped, &F.user_b), BH_OK);
    bh_portal_batch_item out[4];
    assert_int_equal(bh_portal_submit_batch(F.dep_b, out, &F.portal_b, items, vlen, 4), BH_OK);
    assert_false(out[0].failed);
    assert_int_equal(out[0].outcome, BH_SUBMIT_EXECUTED);
    assert_int_equal(out[0].approvals, 2);
    assert_false(out[1].failed);
    assert_int_equal(out[1].outcome, BH_SUBMIT_APPROVED);
    assert_int_equal(out[1].approvals, 1);
    assert_true(out[2].failed);
    assert_non_null(strstr(out[2].why, "bad signature"));
    assert_false(out[3].failed);
    assert_int_equal(out[3].outcome, BH_SUBMIT_ALREADY_DONE);
    bh_u256 bal;
    assert_int_equal(bh_erc20_balance(F.rpc_b, &bal, &wrapped, &rcpt), BH_OK);
    assert_int_equal(u256_low(&bal), 7); /* item 0 once, less its fee; nothing of 1 or 2 */
    assert_int_equal(bh_erc20_balance(F.rpc_b, &fee1, &wrapped, &F.user_b), BH_OK);
    /* the fee: to the batch's sender, not the Portal */
    assert_int_equal(u256_low(&fee1) - u256_low(&fee0), 3);
    /* the second approval of item 1, alone, executes it */
    unsigned other[] = {0};
    vlen[1] = make_vaa(vaa[1], sizeof vaa[1], body[1], blen[1], other, 1);
    assert_int_equal(bh_portal_submit_batch(F.node2_b, out, &F.portal_b, items + 1, vlen + 1, 1),
                     BH_OK);
    assert_int_equal(out[0].outcome, BH_SUBMIT_EXECUTED);
    assert_int_equal(bh_erc20_balance(F.rpc_b, &bal, &wrapped, &rcpt), BH_OK);
    assert_int_equal(u256_low(&bal), 18);
    /* an empty batch is refused before anything is sent */
    assert_int_equal(bh_portal_submit_batch(F.dep_b, out, &F.portal_b, items, vlen, 0), BH_EINVAL);
    /* executedMask: items 0 and 1 executed, 2 (refused) not, as bits 0..2;
     * a digest repeated is its own bit */
    bh_hash32 dig[4];
    for (unsigned i = 0; i < 3; i++)
        bh_vaa_digest(&dig[i], body[i], blen[i]);
    dig[3] = dig[0];
    unsigned char bits[32], want[32] = {0};
    want[31] = 0x0b; /* 0b1011 */
    assert_int_equal(bh_portal_executed_mask(F.rpc_b, bits, &F.portal_b, dig, 4), BH_OK);
    assert_memory_equal(bits, want, 32);
    assert_int_equal(bh_portal_executed_mask(F.rpc_b, bits, &F.portal_b, dig, 0), BH_OK);
    assert_memory_equal(bits, (unsigned char[32]){0}, 32);
    assert_int_equal(bh_portal_executed_mask(F.rpc_b, bits, &F.portal_b, dig, 257), BH_EINVAL);
}

/* Stolen attester keys + a registered remote chain still cannot unlock more
 * than outstanding[D] on the home chain, nor pass the lane bucket, nor speak
 * for an unregistered emitter. */
static void test_it_portal_outstanding_bound(void **state)
{
    (void)state;
    bh_u256 amount, fee;
    u256(&fee, 0);
    u256(&amount, 300);
    assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                    &F.user_b, &fee, 1),
                     BH_OK);
    bh_u256 outstanding;
    assert_int_equal(bh_portal_outstanding(F.rpc_a, &outstanding, &F.portal_a, &F.token_a, CHAIN_B),
                     BH_OK);
    uint64_t out = u256_low(&outstanding);
    assert_true(out >= 300);

    bh_seckey ak;
    it_test_key(&ak, 666);
    bh_address attacker;
    assert_int_equal(bh_attest_address(F.ctx, &attacker, &ak), BH_OK);
    unsigned char body[BH_EVENT_BODY_MAX], vaa[1024];
    unsigned q[] = {0, 1};
    bh_submit_outcome oc;

    /* One more than outstanding[B]: refused on chain. */
    size_t blen = forged_body(body, CHAIN_B, &F.portal_b, 9000, &F.token_a, CHAIN_A, &attacker,
                              CHAIN_A, out + 1);
    size_t vlen = make_vaa(vaa, sizeof vaa, body, blen, q, 2);
    assert_int_equal(bh_portal_submit(F.dep_a, &oc, NULL, &F.portal_a, vaa, vlen), BH_EREVERTED);
    assert_non_null(strstr(bh_evm_sender_last_error(F.dep_a), "exceeds outstanding"));
    bh_u256 bal;
    assert_int_equal(bh_erc20_balance(F.rpc_a, &bal, &F.token_a, &attacker), BH_OK);
    assert_int_equal(u256_low(&bal), 0);

    /* An unregistered emitter chain gets nothing at all. */
    blen = forged_body(body, 9, &F.portal_b, 1, &F.token_a, CHAIN_A, &attacker, CHAIN_A, 1);
    vlen = make_vaa(vaa, sizeof vaa, body, blen, q, 2);
    assert_int_equal(bh_portal_submit(F.dep_a, &oc, NULL, &F.portal_a, vaa, vlen), BH_EREVERTED);
    assert_non_null(strstr(bh_evm_sender_last_error(F.dep_a), "unknown emitter"));

    /* A lane bucket of 50 on (B -> A, token): 51 refused, 50 passes. */
    bh_u256 cap, rate;
    u256(&cap, 50);
    u256(&rate, 0);
    assert_int_equal(
        bh_portal_set_lane_limit(F.dep_a, &F.portal_a, CHAIN_B, &F.token_a, &cap, &rate), BH_OK);
    blen =
        forged_body(body, CHAIN_B, &F.portal_b, 9001, &F.token_a, CHAIN_A, &attacker, CHAIN_A, 51);
    vlen = make_vaa(vaa, sizeof vaa, body, blen, q, 2);
    assert_int_equal(bh_portal_submit(F.dep_a, &oc, NULL, &F.portal_a, vaa, vlen), BH_EREVERTED);
    assert_non_null(strstr(bh_evm_sender_last_error(F.dep_a), "lane limit"));
    blen =
        forged_body(body, CHAIN_B, &F.portal_b, 9002, &F.token_a, CHAIN_A, &attacker, CHAIN_A, 50);
    vlen = make_vaa(vaa, sizeof vaa, body, blen, q, 2);
    assert_int_equal(bh_portal_submit(F.dep_a, &oc, NULL, &F.portal_a, vaa, vlen), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_EXECUTED);
    assert_int_equal(bh_erc20_balance(F.rpc_a, &bal, &F.token_a, &attacker), BH_OK);
    assert_int_equal(u256_low(&bal), 50);
    u256(&cap, 0); /* lift the lane limit for the other tests */
    assert_int_equal(
        bh_portal_set_lane_limit(F.dep_a, &F.portal_a, CHAIN_B, &F.token_a, &cap, &rate), BH_OK);

    /* Then draining the rest of outstanding[B] works, and not one unit more. */
    assert_int_equal(bh_portal_outstanding(F.rpc_a, &outstanding, &F.portal_a, &F.token_a, CHAIN_B),
                     BH_OK);
    out = u256_low(&outstanding);
    blen =
        forged_body(body, CHAIN_B, &F.portal_b, 9003, &F.token_a, CHAIN_A, &attacker, CHAIN_A, out);
    vlen = make_vaa(vaa, sizeof vaa, body, blen, q, 2);
    assert_int_equal(bh_portal_submit(F.dep_a, &oc, NULL, &F.portal_a, vaa, vlen), BH_OK);
    blen =
        forged_body(body, CHAIN_B, &F.portal_b, 9004, &F.token_a, CHAIN_A, &attacker, CHAIN_A, 1);
    vlen = make_vaa(vaa, sizeof vaa, body, blen, q, 2);
    assert_int_equal(bh_portal_submit(F.dep_a, &oc, NULL, &F.portal_a, vaa, vlen), BH_EREVERTED);
    assert_int_equal(bh_erc20_balance(F.rpc_a, &bal, &F.token_a, &attacker), BH_OK);
    assert_int_equal(u256_low(&bal), 50 + out);
}

/* The deployer locks `amount` units of token on A toward B's user (no fee). */
static void lock_on_a(const bh_address *token, uint64_t amount, uint32_t nonce)
{
    bh_u256 a, fee;
    u256(&a, amount);
    u256(&fee, 0);
    assert_int_equal(
        bh_portal_lock(F.dep_a, NULL, &F.portal_a, token, &a, CHAIN_B, &F.user_b, &fee, nonce),
        BH_OK);
}

/* A token whose transferFrom lies: the Portal emits a lock but no token
 * moved, and the watcher rejects it as forged_lock; an honest lock in the
 * same range is accepted. */
/* Returns the JSON-RPC error answers the chain's endpoint gave. */
static uint64_t forged_lock_case(const char *url)
{
    bh_address liar;
    assert_int_equal(bh_test_token_deploy(F.dep_a, &liar, "Liar", "LIE", 18), BH_OK);
    assert_int_equal(bh_test_token_set_lying(F.dep_a, &liar, 1), BH_OK);
    const char *urls[] = {url};
    bh_evm_chain *ca = make_chain(urls, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_watcher *w = watcher_at_head(ca, F.a.url);
    lock_on_a(&liar, 500, 1);
    lock_on_a(&F.token_a, 20, 2);
    finalize(F.a.url);
    bh_chain_event *ev;
    size_t n;
    poll_all(w, &ev, &n);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].verdict, BH_REJECT_FORGED_LOCK);
    assert_int_equal(ev[0].nonce, 1);
    assert_int_equal(ev[1].verdict, BH_REJECT_OK);
    assert_true(ev[1].msg.amount == 20);
    free(ev);
    bh_rpc_stats st;
    bh_rpc_stats_get(bh_evm_chain_endpoint(ca, 0), &st);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(ca);
    return st.rpc_errors;
}

/* A token whose transferFrom lies: the Portal emits a lock but no token
 * moved, and the watcher rejects it as forged_lock; an honest lock in the
 * same range is accepted. */
static void test_it_forged_lock(void **state)
{
    (void)state;
    assert_int_equal(forged_lock_case(F.a.url), 0);
}

/* With the chain's registered tokens listed, their transfers come from one
 * address-filtered query; a lock of any other token is checked on its own
 * receipt: an honest one is backed, a lying one forged. */
static void test_it_listed_tokens_and_receipts(void **state)
{
    (void)state;
    bh_address liar, other;
    assert_int_equal(bh_test_token_deploy(F.dep_a, &liar, "Liar", "LIE", 18), BH_OK);
    assert_int_equal(bh_test_token_set_lying(F.dep_a, &liar, 1), BH_OK);
    assert_int_equal(bh_test_token_deploy(F.dep_a, &other, "Other", "OTH", 18), BH_OK);
    bh_u256 amount;
    u256(&amount, 1000);
    assert_int_equal(bh_test_token_mint(F.dep_a, &other, &F.user_a, &amount), BH_OK);
    const char *urls[] = {F.a.url};
    bh_evm_chain_config cfg = {.bridge_id = CHAIN_A,
                               .evm_chain_id = EVM_A,
                               .urls = urls,
                               .n_urls = 1,
                               .quorum = 1,
                               .portal = F.portal_a,
                               .tokens = &F.token_a,
                               .n_tokens = 1,
                               .rpc = {.timeout_ms = 5000}};
    bh_evm_chain *ca = NULL;
    assert_int_equal(bh_evm_chain_create(&ca, &cfg), BH_OK);
    bh_watcher *w = watcher_at_head(ca, F.a.url);
    lock_on_a(&liar, 31, 11);
    lock_on_a(&other, 32, 12);
    lock_on_a(&F.token_a, 33, 13);
    finalize(F.a.url);
    bh_chain_event *ev;
    size_t n;
    poll_all(w, &ev, &n);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].verdict, BH_REJECT_FORGED_LOCK);
    assert_int_equal(ev[1].verdict, BH_REJECT_OK);
    assert_true(ev[1].msg.amount == 32);
    assert_int_equal(ev[2].verdict, BH_REJECT_OK);
    assert_true(ev[2].msg.amount == 33);
    for (size_t i = 0; i < n; i++) {
        assert_true(ev[i].has_sequence);
        if (i) assert_int_equal(ev[i].sequence, ev[i - 1].sequence + 1);
    }
    free(ev);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(ca);

    /* too many tokens to list is refused at create */
    cfg.n_tokens = BH_EVM_MAX_TOKENS + 1;
    assert_int_equal(bh_evm_chain_create(&ca, &cfg), BH_EINVAL);
    assert_null(ca);
}

static json_t *snapshot(const char *url)
{
    json_t *id = it_rpc(url, "evm_snapshot", NULL);
    assert_non_null(id);
    return id;
}

static void revert(const char *url, json_t *id)
{
    json_t *r = it_rpc(url, "evm_revert", json_pack("[o]", id));
    assert_true(json_is_true(r));
    json_decref(r);
}

/* A lock that is reorged away before finality never becomes a message; a
 * finalized block that changes hash is reported as equivocation. */
static void test_it_reorg(void **state)
{
    (void)state;
    const char *urls[] = {F.a.url};
    bh_evm_chain *ca = make_chain(urls, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_watcher *w = watcher_at_head(ca, F.a.url);
    bh_u256 amount, fee;
    u256(&fee, 0);
    json_t *snap = snapshot(F.a.url);
    u256(&amount, 777);
    assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                    &F.user_b, &fee, 1),
                     BH_OK);
    assert_int_equal(it_mine(F.a.url, 10), 0);
    bh_chain_event *ev;
    size_t n;
    poll_all(w, &ev, &n);
    assert_int_equal(n, 0);
    revert(F.a.url, snap); /* reorg 11+ blocks deep, below finality */
    assert_int_equal(bh_evm_sender_sync_nonce(F.dep_a), BH_OK);
    u256(&amount, 555);
    assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                    &F.user_b, &fee, 2),
                     BH_OK);
    finalize(F.a.url);
    poll_all(w, &ev, &n);
    assert_int_equal(n, 1);
    assert_true(ev[0].msg.amount == 555);
    free(ev);

    /* Past finality: rewrite history under the cursor. */
    bh_block_ref cur;
    bh_watcher_cursor(w, &cur);
    json_t *r = it_rpc(F.a.url, "eth_blockNumber", NULL);
    uint64_t head = strtoull(json_string_value(r), NULL, 16);
    json_decref(r);
    assert_true(cur.number + FINALITY_DEPTH <= head);
    /* Snapshot now, let the watcher pass blocks past it, then rewrite them. */
    json_t *snap2 = snapshot(F.a.url);
    finalize(F.a.url);
    poll_all(w, &ev, &n);
    free(ev);
    bh_block_ref cur2;
    bh_watcher_cursor(w, &cur2);
    assert_true(cur2.number > head);
    revert(F.a.url, snap2);
    assert_int_equal(bh_evm_sender_sync_nonce(F.dep_a), BH_OK);
    bh_u256 one;
    u256(&one, 1);
    assert_int_equal(bh_test_token_mint(F.dep_a, &F.token_a, &F.user_a, &one), BH_OK);
    assert_int_equal(it_mine(F.a.url, FINALITY_DEPTH * 2), 0);
    assert_int_equal(bh_watcher_poll(w, &ev, &n, NULL), BH_EEQUIVOCATION);
    assert_null(ev);
    bh_block_ref cur3;
    bh_watcher_cursor(w, &cur3);
    assert_memory_equal(&cur3, &cur2, sizeof cur2); /* the cursor did not move */
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(ca);
}

/* One of three endpoints lies (logs, then block hashes): outvoted, counted.
 * With only two endpoints and k = 2, a liar stops progress instead. */
static void test_it_quorum_liars(void **state)
{
    (void)state;
    it_fake *liar = it_fake_start(IT_FAKE_LIE_LOGS, F.a.url);
    it_fake *honest = it_fake_start(IT_FAKE_PROXY, F.a.url);
    assert_non_null(liar);
    assert_non_null(honest);
    const char *urls[] = {it_fake_url(liar), F.a.url, it_fake_url(honest)};
    bh_evm_chain *ca = make_chain(urls, 3, 2, EVM_A, CHAIN_A, &F.portal_a);
    assert_int_equal(bh_evm_chain_verify(ca), BH_OK);
    bh_watcher *w = watcher_at_head(ca, F.a.url);
    bh_u256 amount, fee;
    u256(&amount, 4242);
    u256(&fee, 0);
    assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                    &F.user_b, &fee, 3),
                     BH_OK);
    finalize(F.a.url);
    bh_chain_event *ev;
    size_t n;
    poll_all(w, &ev, &n);
    assert_int_equal(n, 1);
    assert_true(ev[0].msg.amount == 4242);
    uint64_t lock_block = ev[0].block_number;
    free(ev);
    bh_rpc_stats st;
    for (int i = 0; i < 200; i++) {
        bh_rpc_stats_get(bh_evm_chain_endpoint(ca, 0), &st);
        if (st.disagreements >= 1) break;
        reread_block(ca, lock_block);
    }
    assert_true(st.disagreements >= 1);
    assert_true(st.suspect);
    bh_rpc_stats_get(bh_evm_chain_endpoint(ca, 1), &st);
    assert_int_equal(st.disagreements, 0);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(ca);

    /* k = 2 of 2 with a liar: no quorum, an error, never the lie. */
    const char *two[] = {it_fake_url(liar), F.a.url};
    bh_evm_chain *c2 = make_chain(two, 2, 2, EVM_A, CHAIN_A, &F.portal_a);
    bh_block_ref head;
    assert_int_equal(bh_evm_chain_finalized(c2, &head), BH_OK);
    bh_block_ref start = {head.number, head.hash};
    bh_watcher *w2 = NULL;
    assert_int_equal(bh_watcher_create(&w2, &bh_chain_evm_ops, c2, &start), BH_OK);
    assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                    &F.user_b, &fee, 4),
                     BH_OK);
    finalize(F.a.url);
    assert_int_equal(bh_watcher_poll(w2, &ev, &n, NULL), BH_ENOQUORUM);
    assert_null(ev);
    bh_watcher_destroy(w2);
    bh_evm_chain_destroy(c2);
    it_fake_stop(liar);

    /* A liar about block hashes at finalized heights: equivocation, outvoted. */
    it_fake *hash_liar = it_fake_start(IT_FAKE_LIE_HASH, F.a.url);
    const char *urls3[] = {F.a.url, it_fake_url(hash_liar), it_fake_url(honest)};
    bh_evm_chain *c3 = make_chain(urls3, 3, 2, EVM_A, CHAIN_A, &F.portal_a);
    assert_int_equal(bh_evm_chain_finalized(c3, &head), BH_OK);
    bh_hash32 truth;
    assert_int_equal(bh_evm_chain_block_hash(c3, head.number, &truth), BH_OK);
    assert_memory_equal(truth.data, head.hash.data, 32);
    bh_rpc_stats_get(bh_evm_chain_endpoint(c3, 1), &st);
    assert_true(st.equivocations >= 1);
    bh_evm_chain_destroy(c3);
    it_fake_stop(hash_liar);
    it_fake_stop(honest);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Garbage, wrong types, hangs, 429s and a 100 MB answer: each a clear,
 * named error for that endpoint, and the chain keeps working on the others. */
static void test_it_hostile_endpoints(void **state)
{
    (void)state;
    json_t *res = NULL;
    bh_rpc_stats st;

    it_fake *garbage = it_fake_start(IT_FAKE_GARBAGE, NULL);
    bh_rpc_options o = {.url = it_fake_url(garbage)};
    bh_rpc *ep;
    assert_int_equal(bh_rpc_create(&ep, &o), BH_OK);
    assert_int_equal(bh_rpc_call(ep, &res, "eth_chainId", NULL), BH_EPROTO);
    assert_null(res);
    assert_non_null(strstr(bh_rpc_last_error(ep), "bad answer"));
    bh_rpc_stats_get(ep, &st);
    assert_int_equal(st.bad_answers, 1);
    bh_rpc_destroy(ep);

    it_fake *hang = it_fake_start(IT_FAKE_HANG, NULL);
    o = (bh_rpc_options){
        .url = it_fake_url(hang), .timeout_ms = 300, .max_retries = 1, .backoff_ms = 10};
    assert_int_equal(bh_rpc_create(&ep, &o), BH_OK);
    double t0 = now_s();
    assert_int_equal(bh_rpc_call(ep, &res, "eth_chainId", NULL), BH_ETIMEOUT);
    assert_true(now_s() - t0 < 3.0);
    assert_non_null(strstr(bh_rpc_last_error(ep), "timed out"));
    bh_rpc_destroy(ep);

    it_fake *limited = it_fake_start(IT_FAKE_429, NULL);
    o = (bh_rpc_options){.url = it_fake_url(limited), .max_retries = 2, .backoff_ms = 10};
    assert_int_equal(bh_rpc_create(&ep, &o), BH_OK);
    assert_int_equal(bh_rpc_call(ep, &res, "eth_chainId", NULL), BH_EHTTP);
    assert_non_null(strstr(bh_rpc_last_error(ep), "429"));
    bh_rpc_stats_get(ep, &st);
    assert_int_equal(st.rate_limited, 3);
    assert_int_equal(st.attempts, 3);
    bh_rpc_destroy(ep);

    it_fake *huge = it_fake_start(IT_FAKE_HUGE, NULL);
    o = (bh_rpc_options){.url = it_fake_url(huge)}; /* default cap: 32 MiB */
    assert_int_equal(bh_rpc_create(&ep, &o), BH_OK);
    assert_int_equal(bh_rpc_call(ep, &res, "eth_getLogs", NULL), BH_ETOOBIG);
    assert_null(res);
    bh_rpc_stats_get(ep, &st);
    assert_int_equal(st.bad_answers, 1);
    bh_rpc_destroy(ep);

    it_fake *typed = it_fake_start(IT_FAKE_WRONG_TYPES, NULL);

    /* Keep-alive: many calls, one connection; per-endpoint latency is kept. */
    it_fake *plain = it_fake_start(IT_FAKE_PROXY, F.a.url);
    o = (bh_rpc_options){.url = it_fake_url(plain)};
    assert_int_equal(bh_rpc_create(&ep, &o), BH_OK);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(bh_rpc_call(ep, &res, "eth_blockNumber", NULL), BH_OK);
        json_decref(res);
    }
    assert_int_equal(it_fake_requests(plain), 5);
    assert_int_equal(it_fake_connections(plain), 1);
    bh_rpc_stats_get(ep, &st);
    assert_int_equal(st.healthy, 1);
    assert_true(st.avg_latency_us > 0);
    bh_rpc_destroy(ep);
    it_fake_stop(plain);

    /* A chain with one honest endpoint among the hostile ones, k = 1: it works;
     * with k = 2 there is no quorum. */
    const char *urls[] = {it_fake_url(garbage), it_fake_url(limited), it_fake_url(typed),
                          it_fake_url(huge), F.a.url};
    bh_evm_chain_config cfg = {
        .bridge_id = CHAIN_A,
        .evm_chain_id = EVM_A,
        .urls = urls,
        .n_urls = 5,
        .quorum = 1,
        .portal = F.portal_a,
        .rpc = {.timeout_ms = 5000, .max_retries = 0, .max_response = 1 << 20}};
    bh_evm_chain *c = NULL;
    assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
    bh_block_ref head;
    assert_int_equal(bh_evm_chain_finalized(c, &head), BH_OK);
    assert_true(head.number > 0);
    bh_evm_chain_destroy(c);
    cfg.quorum = 2;
    assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
    assert_int_equal(bh_evm_chain_finalized(c, &head), BH_ENOQUORUM);
    bh_evm_chain_destroy(c);

    /* An endpoint of another chain is refused at start. */
    /* an endpoint of another chain: refused when the rest cannot make the
     * quorum (a wrong configuration); excluded for good, reported
     * unhealthy, when they can (one endpoint cannot stop the chain) */
    const char *mixed[] = {F.a.url, F.b.url};
    bh_evm_chain *cm = make_chain(mixed, 2, 2, EVM_A, CHAIN_A, &F.portal_a);
    assert_int_equal(bh_evm_chain_verify(cm), BH_ECHAINID);
    bh_evm_chain_destroy(cm);
    cm = make_chain(mixed, 2, 1, EVM_A, CHAIN_A, &F.portal_a);
    assert_int_equal(bh_evm_chain_verify(cm), BH_OK);
    bh_block_ref fin;
    assert_int_equal(bh_evm_chain_finalized(cm, &fin), BH_OK);
    bh_rpc_stats_get(bh_evm_chain_endpoint(cm, 1), &st);
    assert_true(st.suspect);
    assert_false(st.healthy);
    uint64_t calls = st.calls;
    assert_int_equal(bh_evm_chain_verify(cm), BH_OK);
    assert_int_equal(bh_evm_chain_finalized(cm, &fin), BH_OK);
    bh_rpc_stats_get(bh_evm_chain_endpoint(cm, 1), &st);
    assert_int_equal(st.calls, calls); /* never asked again */
    bh_evm_chain_destroy(cm);

    it_fake_stop(garbage);
    it_fake_stop(hang);
    it_fake_stop(limited);
    it_fake_stop(huge);
    it_fake_stop(typed);
}

/* A provider that refuses ranges over 8 blocks: the watcher shrinks its
 * range and still finds every event; nothing is read as "no events". */
static void test_it_adaptive_range(void **state)
{
    (void)state;
    it_fake *narrow = it_fake_start(IT_FAKE_RANGE_LIMIT, F.a.url);
    const char *urls[] = {it_fake_url(narrow)};
    bh_evm_chain *c = make_chain(urls, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_watcher *w = watcher_at_head(c, F.a.url);
    bh_u256 amount, fee;
    u256(&fee, 0);
    for (unsigned i = 0; i < 3; i++) {
        u256(&amount, 10 + i);
        assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                        &F.user_b, &fee, i),
                         BH_OK);
        assert_int_equal(it_mine(F.a.url, 20), 0);
    }
    finalize(F.a.url);
    size_t total = 0;
    uint64_t seen = 0;
    for (int round = 0; round < 50; round++) {
        bh_chain_event *ev;
        size_t n;
        poll_all(w, &ev, &n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(ev[i].verdict, BH_REJECT_OK);
            seen |= 1u << (ev[i].msg.amount - 10);
        }
        total += n;
        free(ev);
        bh_block_ref cur, fin;
        bh_watcher_cursor(w, &cur);
        assert_int_equal(bh_evm_chain_finalized(c, &fin), BH_OK);
        if (cur.number == fin.number) break;
    }
    assert_int_equal(total, 3);
    assert_int_equal(seen, 7);
    assert_true(bh_evm_chain_log_range(c) <= 16); /* shrank from 2000 */
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(c);
    it_fake_stop(narrow);
}

/* An answer past the endpoint's byte cap was built and sent whole for
 * nothing: the range shrinks eightfold, not by half, so a dense stretch
 * costs a few such answers, not one per halving. Eight locks in 16 blocks,
 * answers capped at 3,000 bytes (two Portal logs fit, three do not): every
 * lock is read, with at most 4 oversized answers (halving took 8). */
static void test_it_oversized_answers_shrink_the_range_fast(void **state)
{
    (void)state;
    const char *urls[] = {F.a.url};
    bh_evm_chain_config cfg = {.bridge_id = CHAIN_A,
                               .evm_chain_id = EVM_A,
                               .urls = urls,
                               .n_urls = 1,
                               .quorum = 1,
                               .portal = F.portal_a,
                               .tokens = &F.token_a,
                               .n_tokens = 1,
                               .rpc = {.timeout_ms = 5000, .max_response = 3000}};
    bh_evm_chain *c = NULL;
    assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
    bh_watcher *w = watcher_at_head(c, F.a.url);
    for (unsigned i = 0; i < 8; i++)
        lock_on_a(&F.token_a, 50 + i, i);
    finalize(F.a.url);
    size_t total = 0;
    for (int round = 0; round < 200; round++) {
        bh_chain_event *ev;
        size_t n;
        poll_all(w, &ev, &n);
        for (size_t i = 0; i < n; i++, total++) {
            assert_int_equal(ev[i].verdict, BH_REJECT_OK);
            assert_true(ev[i].msg.amount == 50 + total);
        }
        free(ev);
        bh_block_ref cur, fin;
        bh_watcher_cursor(w, &cur);
        assert_int_equal(bh_evm_chain_finalized(c, &fin), BH_OK);
        if (cur.number == fin.number) break;
    }
    assert_int_equal(total, 8);
    bh_rpc_stats st;
    bh_rpc_stats_get(bh_evm_chain_endpoint(c, 0), &st);
    print_message("oversized answers: %llu\n", (unsigned long long)st.bad_answers);
    assert_true(st.bad_answers >= 1 && st.bad_answers <= 4);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(c);
}

/* A chain's first long span is sized by the Portal's sequence() at its
 * end: sixteen locks, one every other block, behind a cursor whose sequence
 * is known, read with answers capped at 10,000 bytes (six Portal logs fit,
 * sixteen do not) and max_logs 8: ranges of about six events from the
 * first, no answer past the cap (a blind first range was one). */
static void test_it_dense_span_sized_by_sequence(void **state)
{
    (void)state;
    const char *urls[] = {F.a.url};
    bh_evm_chain_config cfg = {.bridge_id = CHAIN_A,
                               .evm_chain_id = EVM_A,
                               .urls = urls,
                               .n_urls = 1,
                               .quorum = 1,
                               .portal = F.portal_a,
                               .max_logs = 8,
                               .tokens = &F.token_a,
                               .n_tokens = 1,
                               .rpc = {.timeout_ms = 5000, .max_response = 10000}};
    bh_evm_chain *c = NULL;
    assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
    finalize(F.a.url);
    /* the cursor at the latest block, its sequence known (as a node
     * restarting from its journal knows it) */
    json_t *r = it_rpc(F.a.url, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    bh_block_ref start;
    assert_int_equal(bh_rpc_member_quantity(&start.number, r, "number"), BH_OK);
    assert_int_equal(bh_rpc_member_hash(&start.hash, r, "hash"), BH_OK);
    json_decref(r);
    uint64_t next_seq = 0;
    assert_int_equal(bh_evm_chain_portal_sequence(c, start.number, &next_seq), BH_OK);
    bh_evm_chain_expect_sequence(c, next_seq, start.number);
    bh_watcher *w = NULL;
    assert_int_equal(bh_watcher_create(&w, &bh_chain_evm_ops, c, &start), BH_OK);
    for (unsigned i = 0; i < 16; i++) {
        lock_on_a(&F.token_a, 70 + i, i);
        assert_int_equal(it_mine(F.a.url, 1), 0);
    }
    finalize(F.a.url);
    size_t total = 0;
    for (int round = 0; round < 50; round++) {
        bh_chain_event *ev;
        size_t n;
        poll_all(w, &ev, &n);
        for (size_t i = 0; i < n; i++, total++) {
            assert_int_equal(ev[i].verdict, BH_REJECT_OK);
            assert_true(ev[i].msg.amount == 70 + total);
            assert_int_equal(ev[i].sequence, next_seq + total);
        }
        free(ev);
        bh_block_ref cur, fin;
        bh_watcher_cursor(w, &cur);
        assert_int_equal(bh_evm_chain_finalized(c, &fin), BH_OK);
        if (cur.number == fin.number) break;
    }
    assert_int_equal(total, 16);
    bh_rpc_stats st;
    bh_rpc_stats_get(bh_evm_chain_endpoint(c, 0), &st);
    assert_int_equal(st.bad_answers, 0);
    assert_int_equal(bh_evm_chain_log_range(c), 2000); /* never refused: no shrink */
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(c);
}

static void set_automine(const char *url, int on)
{
    json_t *r = it_rpc(url, "evm_setAutomine", json_pack("[b]", on));
    json_decref(r);
}

static void hex0x(char *out, const unsigned char *data, size_t len);

/* A lock of F.token_a on A (amount, nonce = amount) sent raw with
 * transaction nonce `tx_nonce`, not waited for. */
static void lock_raw_on_a(const bh_seckey *key, uint64_t tx_nonce, uint64_t amount)
{
    bh_abi a;
    bh_abi_init(&a, "lock(address,uint256,uint16,bytes32,uint256,uint32)", 6);
    bh_abi_address(&a, &F.token_a);
    bh_abi_uint(&a, amount);
    bh_abi_uint(&a, CHAIN_B);
    bh_bytes32 to32;
    bh_address_to_bytes32(&to32, &F.user_b);
    bh_abi_bytes32(&a, &to32);
    bh_abi_uint(&a, 0);
    bh_abi_uint(&a, amount);
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(bh_abi_finish(&a, &data, &len), BH_OK);
    bh_abi_clear(&a);
    bh_evm_tx tx = {.chain_id = EVM_A,
                    .nonce = tx_nonce,
                    .max_priority_fee = 1000000000u,
                    .max_fee = 100000000000u,
                    .gas_limit = 300000,
                    .has_to = 1,
                    .to = F.portal_a,
                    .data = data,
                    .data_len = len};
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    bh_hash32 h;
    assert_int_equal(bh_evm_tx_sign(F.ctx, &raw, &raw_len, &h, &tx, key), BH_OK);
    free(data);
    char *hex = malloc(2 * raw_len + 3);
    assert_non_null(hex);
    hex0x(hex, raw, raw_len);
    free(raw);
    json_t *r = it_rpc(F.a.url, "eth_sendRawTransaction", json_pack("[s]", hex));
    free(hex);
    assert_non_null(r);
    json_decref(r);
}

/* Some providers cut a long eth_getLogs answer short, wherever, even inside
 * a block. An answer of max_logs logs or more is read as possibly cut: the
 * blocks before its last are whole and kept, the watcher reads on from its
 * last block, the range does not shrink, and nothing is missed. Three
 * blocks of three locks behind a provider that answers the first 4 logs of
 * every eth_getLogs (Portal events and token transfers alike), max_logs 4. */
static void test_it_cut_answers_keep_whole_blocks(void **state)
{
    (void)state;
    it_fake *cut = it_fake_start(IT_FAKE_LOG_CAP, F.a.url);
    assert_non_null(cut);
    it_fake_set_log_cap(cut, 4);
    it_fake_set_log_truncate(cut, 1);
    const char *urls[] = {it_fake_url(cut)};
    bh_evm_chain_config cfg = {.bridge_id = CHAIN_A,
                               .evm_chain_id = EVM_A,
                               .urls = urls,
                               .n_urls = 1,
                               .quorum = 1,
                               .portal = F.portal_a,
                               .max_logs = 4,
                               .tokens = &F.token_a,
                               .n_tokens = 1,
                               .rpc = {.timeout_ms = 5000}};
    bh_evm_chain *c = NULL;
    assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
    bh_watcher *w = watcher_at_head(c, F.a.url);
    /* one allowance for all nine locks, then three blocks of three */
    bh_abi a;
    bh_abi_init(&a, "approve(address,uint256)", 2);
    bh_abi_address(&a, &F.portal_a);
    bh_abi_uint(&a, 1000000);
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(bh_abi_finish(&a, &data, &len), BH_OK);
    bh_abi_clear(&a);
    assert_int_equal(bh_evm_sender_send(F.dep_a, NULL, &F.token_a, NULL, data, len), BH_OK);
    free(data);
    assert_int_equal(bh_evm_sender_sync_nonce(F.dep_a), BH_OK);
    uint64_t nonce = bh_evm_sender_next_nonce(F.dep_a);
    bh_seckey k0;
    it_key(&k0, IT_ANVIL_KEY0);
    set_automine(F.a.url, 0);
    for (unsigned b = 0; b < 3; b++) {
        for (unsigned i = 0; i < 3; i++)
            lock_raw_on_a(&k0, nonce++, 100 + 3 * b + i);
        assert_int_equal(it_mine(F.a.url, 1), 0);
    }
    set_automine(F.a.url, 1);
    assert_int_equal(bh_evm_sender_sync_nonce(F.dep_a), BH_OK);
    finalize(F.a.url);
    size_t total = 0;
    uint64_t next_amount = 100, seq = 0;
    for (int round = 0; round < 20; round++) {
        bh_chain_event *ev;
        size_t n;
        poll_all(w, &ev, &n);
        for (size_t i = 0; i < n; i++, total++) {
            assert_int_equal(ev[i].verdict, BH_REJECT_OK);
            assert_true(ev[i].msg.amount == next_amount++);
            if (total) assert_int_equal(ev[i].sequence, seq + 1);
            seq = ev[i].sequence;
        }
        free(ev);
        bh_block_ref cur, fin;
        bh_watcher_cursor(w, &cur);
        assert_int_equal(bh_evm_chain_finalized(c, &fin), BH_OK);
        if (cur.number == fin.number) break;
    }
    assert_int_equal(total, 9);
    assert_int_equal(bh_evm_chain_log_range(c), 2000); /* never refused: no shrink */
    bh_seckey_clear(&k0);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(c);
    it_fake_stop(cut);
}

static void *mine_later(void *arg)
{
    const char *url = arg;
    struct timespec ts = {.tv_sec = 1, .tv_nsec = 500000000L};
    nanosleep(&ts, NULL);
    set_automine(url, 1);
    it_mine(url, 1);
    return NULL;
}

/* Nonces recover from the chain after a restart; a stuck transaction is
 * re-sent with higher fees and its replacement is what gets mined. */
static void test_it_nonce_and_fee_bump(void **state)
{
    (void)state;
    bh_seckey k;
    it_test_key(&k, 300);
    bh_address who;
    assert_int_equal(bh_attest_address(F.ctx, &who, &k), BH_OK);
    fund(F.b.url, &who);
    bh_evm_sender *s1 = make_sender(F.rpc_b, &k, EVM_B);
    bh_address tok;
    assert_int_equal(bh_test_token_deploy(s1, &tok, "Beta", "BET", 6), BH_OK);
    bh_u256 one;
    u256(&one, 1);
    assert_int_equal(bh_test_token_mint(s1, &tok, &who, &one), BH_OK);
    assert_int_equal(bh_evm_sender_next_nonce(s1), 2);
    bh_evm_sender_destroy(s1);

    /* "Restart": a new sender learns nonce 2 from the chain. */
    bh_evm_sender_options o = {
        .chain_id = EVM_B, .bump_after_ms = 300, .poll_ms = 50, .receipt_timeout_ms = 20000};
    bh_evm_sender *s2 = NULL;
    assert_int_equal(bh_evm_sender_create(&s2, F.rpc_b, F.ctx, &k, &o), BH_OK);
    assert_int_equal(bh_evm_sender_sync_nonce(s2), BH_OK);
    assert_int_equal(bh_evm_sender_next_nonce(s2), 2);

    /* Stuck: no mining until a helper re-enables it 1.5 s later. */
    set_automine(F.b.url, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, mine_later, F.b.url), 0);
    bh_evm_receipt rc;
    bh_u256 amt;
    u256(&amt, 5);
    bh_abi a;
    bh_abi_init(&a, "mint(address,uint256)", 2);
    bh_abi_address(&a, &who);
    bh_abi_u256(&a, &amt);
    unsigned char *data = NULL;
    size_t data_len = 0;
    assert_int_equal(bh_abi_finish(&a, &data, &data_len), BH_OK);
    bh_abi_clear(&a);
    assert_int_equal(bh_evm_sender_send(s2, &rc, &tok, NULL, data, data_len), BH_OK);
    free(data);
    pthread_join(t, NULL);
    assert_true(rc.bumps >= 1);
    bh_evm_receipt_clear(&rc);
    assert_int_equal(bh_evm_sender_next_nonce(s2), 3);
    bh_u256 bal;
    assert_int_equal(bh_erc20_balance(F.rpc_b, &bal, &tok, &who), BH_OK);
    assert_int_equal(u256_low(&bal), 6); /* minted exactly once */
    bh_evm_sender_destroy(s2);
}

static void sleep_ms_(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Check every pending transaction for `ms`, each once per 50 ms; every
 * check must say still in flight. */
static void check_for(bh_evm_sender *s, bh_evm_pending *p, size_t n, unsigned ms)
{
    for (unsigned t = 0; t < ms; t += 50) {
        for (size_t i = 0; i < n; i++)
            assert_int_equal(bh_evm_sender_check(s, &p[i], NULL), BH_EBUSY);
        sleep_ms_(50);
    }
}

/* Pipelined sending (issue 14) on a chain that mines nothing: three
 * transactions in flight at consecutive nonces; each is bumped on the
 * schedule, one the node forgot (anvil_dropTransaction) is broadcast
 * again, and past the receipt timeout each nonce is cancelled by a 0-value
 * self-transfer: once mined, none of the three moved its value, their
 * three nonces are used (no gap), and the next transaction takes the next
 * nonce and mines. */
static void test_it_pipelined_bump_drop_cancel(void **state)
{
    (void)state;
    bh_seckey k;
    it_test_key(&k, 301);
    bh_address who, dest;
    assert_int_equal(bh_attest_address(F.ctx, &who, &k), BH_OK);
    it_test_key(&k, 302);
    assert_int_equal(bh_attest_address(F.ctx, &dest, &k), BH_OK);
    it_test_key(&k, 301);
    fund(F.b.url, &who);
    bh_evm_sender_options o = {.chain_id = EVM_B, .bump_after_ms = 250, .receipt_timeout_ms = 5000};
    bh_evm_sender *s = NULL;
    assert_int_equal(bh_evm_sender_create(&s, F.rpc_b, F.ctx, &k, &o), BH_OK);
    assert_int_equal(bh_evm_sender_sync_nonce(s), BH_OK);
    uint64_t n0 = bh_evm_sender_next_nonce(s);
    bh_u256 dest0;
    assert_int_equal(balance_of(F.rpc_b, &dest0, &dest), BH_OK);

    set_automine(F.b.url, 0);
    bh_evm_pending p[3];
    bh_u256 one;
    u256(&one, 1);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(bh_evm_sender_begin(s, &p[i], &dest, &one, NULL, 0, 0), BH_OK);
        assert_int_equal(p[i].nonce, n0 + i); /* consecutive, local */
    }
    check_for(s, p, 3, 600);
    for (unsigned i = 0; i < 3; i++)
        assert_true(p[i].bumps >= 1 && p[i].n_hashes >= 2);

    /* the bumps stop at 8 (within the fee cap); bounds generous for a
     * sanitizer build, where every look is slower */
    for (unsigned t = 0; p[1].bumps < 8 && t < 400; t++)
        check_for(s, p, 3, 50);
    assert_int_equal(p[1].bumps, 8);
    /* the endpoint forgets p[1]: the next look (within a second) re-broadcasts it */
    char h[67];
    bh_rpc_format_hex(h, p[1].hashes[p[1].n_hashes - 1].data, 32);
    json_t *r = it_rpc(F.b.url, "anvil_dropTransaction", json_pack("[s]", h));
    json_decref(r);
    check_for(s, p, 3, 1200);
    assert_true(p[1].drops >= 1);

    /* past the receipt timeout: cancels */
    for (unsigned t = 0; !(p[0].cancelling && p[1].cancelling && p[2].cancelling) && t < 400; t++)
        check_for(s, p, 3, 50);
    for (unsigned i = 0; i < 3; i++)
        assert_true(p[i].cancelling);
    set_automine(F.b.url, 1);
    assert_int_equal(it_mine(F.b.url, 1), 0);
    for (unsigned i = 0; i < 3; i++) {
        int rc = bh_evm_sender_check(s, &p[i], NULL);
        if (rc != BH_ETIMEOUT) fail_msg("tx %u: %d (%s)", i, rc, bh_evm_sender_last_error(s));
        assert_non_null(strstr(bh_evm_sender_last_error(s), "cancelled"));
        bh_evm_pending_clear(&p[i]);
    }
    bh_u256 dest1;
    assert_int_equal(balance_of(F.rpc_b, &dest1, &dest), BH_OK);
    assert_int_equal(bh_u256_cmp(&dest0, &dest1), 0); /* no value moved */

    bh_evm_receipt rc;
    assert_int_equal(bh_evm_sender_send(s, &rc, &dest, &one, NULL, 0), BH_OK);
    bh_evm_receipt_clear(&rc);
    assert_int_equal(bh_evm_sender_next_nonce(s), n0 + 4);
    bh_evm_sender_destroy(s);
}

/* One node's Portal.submit on chain B, run in a thread (the sender blocks
 * until its receipt). */
typedef struct {
    bh_evm_sender *s;
    const unsigned char *vaa;
    size_t len;
    int rc;
    bh_submit_outcome out;
    unsigned approvals;
    char err[256];
} submit_job;

static void *submit_main(void *arg)
{
    submit_job *j = arg;
    j->rc = bh_portal_submit(j->s, &j->out, &j->approvals, &F.portal_b, j->vaa, j->len);
    snprintf(j->err, sizeof j->err, "%s", bh_evm_sender_last_error(j->s));
    return NULL;
}

/* Transactions of the node's pool that are ready to be mined. */
static long pool_ready(const char *url)
{
    json_t *r = it_rpc(url, "txpool_status", NULL);
    const char *q = json_string_value(json_object_get(r, "pending"));
    long n = q ? strtol(q, NULL, 16) : -1;
    json_decref(r);
    return n;
}

/* Polls until n transactions are ready (at most 10 s). Returns 1 if so. */
static int wait_ready(const char *url, long n)
{
    for (int i = 0; i < 1000; i++) {
        if (pool_ready(url) >= n) return 1;
        struct timespec ts = {.tv_nsec = 10000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static uint64_t quantity(const json_t *v)
{
    assert_true(json_is_string(v));
    return strtoull(json_string_value(v), NULL, 16);
}

static void hex0x(char *out, const unsigned char *data, size_t len)
{
    out[0] = '0', out[1] = 'x';
    bh_hex_encode(out + 2, data, len);
}

/* The calldata of Portal.submit(vaa); caller frees. */
static unsigned char *submit_calldata(size_t *len, const unsigned char *vaa, size_t vaa_len)
{
    bh_abi a;
    bh_abi_init(&a, "submit(bytes)", 1);
    bh_abi_bytes(&a, vaa, vaa_len);
    unsigned char *data = NULL;
    assert_int_equal(bh_abi_finish(&a, &data, len), BH_OK);
    bh_abi_clear(&a);
    return data;
}

/* eth_estimateGas of `from`'s Portal.submit(vaa) on chain B, as a sender
 * estimates it (no block tag). */
static uint64_t estimate_submit(const bh_address *from, const unsigned char *vaa, size_t vaa_len)
{
    size_t len = 0;
    unsigned char *data = submit_calldata(&len, vaa, vaa_len);
    char f[43], to[43], *hex = malloc(2 * len + 3);
    assert_non_null(hex);
    hex0x(hex, data, len);
    hex0x(f, from->data, 20);
    hex0x(to, F.portal_b.data, 20);
    json_t *r = it_rpc(F.b.url, "eth_estimateGas",
                       json_pack("[{s:s,s:s,s:s}]", "from", f, "to", to, "data", hex));
    free(hex);
    free(data);
    uint64_t gas = r ? quantity(r) : 0;
    json_decref(r);
    return gas;
}

/* Sign and send a transaction to chain B without waiting for it.
 * Out: hash  "0x..." of the transaction (67 bytes). */
static void send_raw(char *hash, const bh_seckey *key, uint64_t nonce, const bh_address *to,
                     const unsigned char *data, size_t len, uint64_t gas)
{
    bh_evm_tx tx = {.chain_id = EVM_B,
                    .nonce = nonce,
                    .max_priority_fee = 5000000000u, /* above the senders' tip */
                    .max_fee = 100000000000u,
                    .gas_limit = gas,
                    .has_to = 1,
                    .to = *to,
                    .data = data,
                    .data_len = len};
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    bh_hash32 h;
    assert_int_equal(bh_evm_tx_sign(F.ctx, &raw, &raw_len, &h, &tx, key), BH_OK);
    char *hex = malloc(2 * raw_len + 3);
    assert_non_null(hex);
    hex0x(hex, raw, raw_len);
    free(raw);
    json_t *r = it_rpc(F.b.url, "eth_sendRawTransaction", json_pack("[s]", hex));
    free(hex);
    assert_non_null(r);
    json_decref(r);
    hex0x(hash, h.data, 32);
}

static int automine_on(void **state)
{
    (void)state;
    set_automine(F.b.url, 1);
    return 0;
}

/* 2-of-3: node B estimates its submit while only its own approval would be
 * recorded (cheap), but node A's approval is mined first, in the same
 * block, so B's transaction reaches the quorum and executes the transfer,
 * here the first mint of a token (the wrapped token is created: the
 * costliest path). B's transaction must still succeed, not run out of gas. */
static void test_it_submit_gas_race(void **state)
{
    (void)state;
    bh_seckey ka, kr, kt;
    it_test_key(&ka, 500);
    it_test_key(&kr, 501);
    it_test_key(&kt, 502);
    bh_address node_a, rcpt, home;
    assert_int_equal(bh_attest_address(F.ctx, &node_a, &ka), BH_OK);
    assert_int_equal(bh_attest_address(F.ctx, &rcpt, &kr), BH_OK);
    assert_int_equal(bh_attest_address(F.ctx, &home, &kt), BH_OK); /* never wrapped on B */
    fund(F.b.url, &node_a);

    unsigned char body[BH_EVENT_BODY_MAX], vaa_a[1024], vaa_b[1024];
    size_t blen = forged_body(body, CHAIN_A, &F.portal_a, 6000, &home, CHAIN_A, &rcpt, CHAIN_B, 90);
    unsigned i0[] = {0}, i1[] = {1};
    size_t alen = make_vaa(vaa_a, sizeof vaa_a, body, blen, i0, 1);
    submit_job jb = {
        .s = F.node2_b, .vaa = vaa_b, .len = make_vaa(vaa_b, sizeof vaa_b, body, blen, i1, 1)};

    /* Node A's submit is already sent but B cannot see it: it waits behind
     * a nonce gap (anvil's estimates include ready pool transactions). */
    assert_int_equal(pool_ready(F.b.url), 0);
    set_automine(F.b.url, 0);
    size_t dlen = 0;
    unsigned char *data = submit_calldata(&dlen, vaa_a, alen);
    char a_fill[67], a_submit[67];
    send_raw(a_submit, &ka, 1, &F.portal_b, data, dlen, 2000000);
    free(data);
    uint64_t b_estimate = estimate_submit(bh_evm_sender_address(F.node2_b), jb.vaa, jb.len);
    /* B estimates and sends; then A's gap is filled and one block takes
     * A's transactions (higher tip) before B's. */
    pthread_t tb;
    assert_int_equal(pthread_create(&tb, NULL, submit_main, &jb), 0);
    int b_sent = wait_ready(F.b.url, 1);
    if (b_sent) send_raw(a_fill, &ka, 0, &node_a, NULL, 0, 21000);
    int all_ready = b_sent && wait_ready(F.b.url, 3);
    assert_int_equal(it_mine(F.b.url, 1), 0);
    json_t *blk = it_rpc(F.b.url, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 1));
    set_automine(F.b.url, 1); /* whatever happened, let B's thread finish */
    pthread_join(tb, NULL);
    assert_true(all_ready);

    /* The race happened: A's approval, then B's submit, in one block... */
    json_t *txs = json_object_get(blk, "transactions");
    assert_int_equal(json_array_size(txs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(txs, 1), "hash")),
                        a_submit);
    char b_addr[43];
    hex0x(b_addr, bh_evm_sender_address(F.node2_b)->data, 20);
    assert_string_equal(json_string_value(json_object_get(json_array_get(txs, 2), "from")), b_addr);
    if (jb.rc != BH_OK) print_error("node B's submit: %s\n", jb.err);
    assert_int_equal(jb.rc, BH_OK);
    assert_int_equal(jb.out, BH_SUBMIT_EXECUTED);
    assert_int_equal(jb.approvals, 2);
    /* It was the race: B's estimate saw only its own approval, and
     * estimate + 25% is less than what its transaction needed. */
    json_t *rcp = it_rpc(F.b.url, "eth_getTransactionReceipt",
                         json_pack("[O]", json_object_get(json_array_get(txs, 2), "hash")));
    uint64_t b_used = quantity(json_object_get(rcp, "gasUsed"));
    json_decref(rcp);
    json_decref(blk);
    assert_true(b_estimate > 0 && b_estimate + b_estimate / 4 < b_used);

    bh_hash32 digest;
    bh_vaa_digest(&digest, body, blen);
    int done = 0;
    assert_int_equal(bh_portal_is_executed(F.rpc_b, &done, &F.portal_b, &digest), BH_OK);
    assert_true(done);
    bh_bytes32 h32;
    bh_address_to_bytes32(&h32, &home);
    bh_address wrapped, zero = {{0}};
    assert_int_equal(bh_portal_wrapped_for(F.rpc_b, &wrapped, &F.portal_b, CHAIN_A, &h32), BH_OK);
    assert_memory_not_equal(wrapped.data, zero.data, 20);
    bh_u256 bal;
    assert_int_equal(bh_erc20_balance(F.rpc_b, &bal, &wrapped, &rcpt), BH_OK);
    assert_int_equal(u256_low(&bal), 90); /* minted once */
}

/* Chains configured for N confirmations instead of the finalized tag: an
 * event shows up exactly when it is N blocks deep. */
static void test_it_confirmations_mode(void **state)
{
    (void)state;
    finalize(F.a.url);
    const char *urls[] = {F.a.url};
    bh_evm_chain_config cfg = {.bridge_id = CHAIN_A,
                               .evm_chain_id = EVM_A,
                               .urls = urls,
                               .n_urls = 1,
                               .quorum = 1,
                               .confirmations = 3,
                               .portal = F.portal_a};
    bh_evm_chain *c = NULL;
    assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
    bh_block_ref head;
    assert_int_equal(bh_evm_chain_finalized(c, &head), BH_OK);
    bh_watcher *w = NULL;
    assert_int_equal(bh_watcher_create(&w, &bh_chain_evm_ops, c, &head), BH_OK);
    bh_u256 amount, fee;
    u256(&amount, 33);
    u256(&fee, 0);
    bh_evm_receipt r;
    assert_int_equal(
        bh_portal_lock(F.dep_a, &r, &F.portal_a, &F.token_a, &amount, CHAIN_B, &F.user_b, &fee, 9),
        BH_OK);
    uint64_t at = r.block_number;
    bh_evm_receipt_clear(&r);
    bh_chain_event *ev;
    size_t n;
    assert_int_equal(it_mine(F.a.url, 2), 0); /* head = at + 2: 2 confirmations */
    poll_all(w, &ev, &n);
    assert_int_equal(n, 0);
    free(ev);
    assert_int_equal(it_mine(F.a.url, 1), 0); /* head = at + 3 */
    poll_all(w, &ev, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].block_number, at);
    assert_true(ev[0].msg.amount == 33);
    free(ev);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(c);
}

/* Gas estimation is capped; a reverting call is refused before anything is
 * sent, with the contract's reason; the nonce is not consumed. */
static void test_it_gas_cap_and_revert(void **state)
{
    (void)state;
    bh_seckey k;
    it_test_key(&k, 400);
    bh_address who;
    assert_int_equal(bh_attest_address(F.ctx, &who, &k), BH_OK);
    fund(F.a.url, &who);
    bh_evm_sender_options o = {.chain_id = EVM_A, .gas_cap = 50000};
    bh_evm_sender *s = NULL;
    assert_int_equal(bh_evm_sender_create(&s, F.rpc_a, F.ctx, &k, &o), BH_OK);
    bh_address tok;
    assert_int_equal(bh_test_token_deploy(s, &tok, "Capped", "CAP", 18), BH_ERANGE);
    assert_non_null(strstr(bh_evm_sender_last_error(s), "above cap"));
    assert_int_equal(bh_evm_sender_next_nonce(s), 0);
    /* registerRemote from a non-owner reverts with the Portal's reason. */
    assert_int_equal(bh_portal_register_remote(s, &F.portal_a, 7, &who), BH_EREVERTED);
    assert_non_null(strstr(bh_evm_sender_last_error(s), "only owner"));
    assert_int_equal(bh_evm_sender_next_nonce(s), 0);
    /* A transaction signed for another chain id is refused by the node. */
    bh_evm_sender_options wrong = {.chain_id = EVM_B};
    bh_evm_sender *sw = NULL;
    assert_int_equal(bh_evm_sender_create(&sw, F.rpc_a, F.ctx, &k, &wrong), BH_OK);
    bh_u256 one;
    u256(&one, 1);
    assert_int_not_equal(bh_test_token_mint(sw, &F.token_a, &who, &one), BH_OK);
    bh_u256 bal;
    assert_int_equal(bh_erc20_balance(F.rpc_a, &bal, &F.token_a, &who), BH_OK);
    assert_int_equal(u256_low(&bal), 0);
    bh_evm_sender_destroy(sw);
    bh_evm_sender_destroy(s);
}

/* A provider that silently leaves an event out of an answer is caught by
 * the gap in the Portal's sequence: an error, the cursor stays, nothing is
 * reported as complete. This is what protects a chain read through a single
 * provider (k = 1), where there is nobody to outvote it. */
static void test_it_sequence_gap(void **state)
{
    (void)state;
    it_fake *dropper = it_fake_start(IT_FAKE_DROP_LOG, F.a.url);
    const char *urls[] = {it_fake_url(dropper)};
    bh_evm_chain *c = make_chain(urls, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_watcher *w = watcher_at_head(c, F.a.url);
    bh_u256 amount, fee;
    u256(&fee, 0);
    for (unsigned i = 0; i < 3; i++) {
        u256(&amount, 100 + i);
        assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                        &F.user_b, &fee, i),
                         BH_OK);
    }
    finalize(F.a.url);
    bh_block_ref before, after;
    bh_watcher_cursor(w, &before);
    bh_chain_event *ev;
    size_t n;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, NULL), BH_EPROTO);
    assert_null(ev);
    assert_int_equal(n, 0);
    bh_watcher_cursor(w, &after);
    assert_memory_equal(&before, &after, sizeof before);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(c);
    it_fake_stop(dropper);

    /* After a restart the expected sequence is seeded from the last event
     * persisted: the first event must carry it. */
    unsigned char sel[4], *ret = NULL;
    size_t len = 0;
    uint64_t next = 0;
    bh_abi_selector(sel, "sequence()");
    assert_int_equal(bh_evm_call(F.rpc_a, &ret, &len, &F.portal_a, sel, 4), BH_OK);
    assert_int_equal(bh_abi_read_u64(&next, ret, len, 0), BH_OK);
    free(ret);
    const char *direct[] = {F.a.url};
    bh_evm_chain *c2 = make_chain(direct, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_evm_chain *c3 = make_chain(direct, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_watcher *w2 = watcher_at_head(c2, F.a.url);
    bh_watcher *w3 = watcher_at_head(c3, F.a.url);
    bh_block_ref at2, at3;
    bh_watcher_cursor(w2, &at2);
    bh_watcher_cursor(w3, &at3);
    bh_evm_chain_expect_sequence(c2, next + 1, at2.number); /* as if event `next` were lost */
    bh_evm_chain_expect_sequence(c3, next, at3.number);
    u256(&amount, 5);
    assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                    &F.user_b, &fee, 9),
                     BH_OK);
    finalize(F.a.url);
    assert_int_equal(bh_watcher_poll(w2, &ev, &n, NULL), BH_EPROTO);
    poll_all(w3, &ev, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].msg.sequence, next);
    free(ev);
    bh_watcher_destroy(w2);
    bh_watcher_destroy(w3);
    bh_evm_chain_destroy(c2);
    bh_evm_chain_destroy(c3);
}

/* A price feed's round through the quorum (bh_evm_chain_price_feed): its
 * decimals, the answer's sign and magnitude, updatedAt and roundId; an
 * address without code is no feed (EPROTO, never a zero price); a liar
 * among three with quorum 2 is outvoted, with quorum 3 the read splits. */
static void test_it_price_feed(void **state)
{
    (void)state;
    bh_address feed, nothing = {{0x42}};
    assert_int_equal(bh_test_feed_deploy(F.dep_a, &feed, 8, 123456789), BH_OK);
    const char *direct[] = {F.a.url};
    bh_evm_chain *c = make_chain(direct, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_chain_price_round r;
    assert_int_equal(bh_evm_chain_price_feed(c, &r, &feed, BH_EVM_LATEST), BH_OK);
    assert_int_equal(r.decimals, 8);
    assert_false(r.negative);
    assert_int_equal(u256_low(&r.answer), 123456789);
    assert_int_equal(r.round, 1);
    uint64_t t = (uint64_t)time(NULL);
    assert_true(r.updated_at + 60 > t && r.updated_at < t + 60);
    assert_int_equal(bh_test_feed_set(F.dep_a, &feed, -7, 1000), BH_OK);
    assert_int_equal(bh_evm_chain_price_feed(c, &r, &feed, BH_EVM_LATEST), BH_OK);
    assert_true(r.negative);
    assert_int_equal(u256_low(&r.answer), 7);
    assert_int_equal(r.updated_at, 1000);
    assert_int_equal(r.round, 2);
    assert_int_equal(bh_evm_chain_price_feed(c, &r, &nothing, BH_EVM_LATEST), BH_EPROTO);
    assert_int_equal(r.decimals, 0);
    assert_int_equal(bh_evm_chain_price_feed(NULL, &r, &feed, BH_EVM_LATEST), BH_EINVAL);
    bh_evm_chain_destroy(c);

    assert_int_equal(bh_test_feed_set(F.dep_a, &feed, 5000, 0), BH_OK);
    it_fake *honest = it_fake_start(IT_FAKE_PROXY, F.a.url);
    it_fake *liar = it_fake_start(IT_FAKE_LIE_PRICE, F.a.url);
    assert_non_null(honest);
    assert_non_null(liar);
    const char *three[] = {F.a.url, it_fake_url(honest), it_fake_url(liar)};
    c = make_chain(three, 3, 2, EVM_A, CHAIN_A, &F.portal_a);
    assert_int_equal(bh_evm_chain_price_feed(c, &r, &feed, BH_EVM_LATEST), BH_OK);
    assert_int_equal(u256_low(&r.answer), 5000); /* not the liar's 500000 */
    bh_evm_chain_destroy(c);
    c = make_chain(three, 3, 3, EVM_A, CHAIN_A, &F.portal_a);
    assert_int_equal(bh_evm_chain_price_feed(c, &r, &feed, BH_EVM_LATEST), BH_ENOQUORUM);
    assert_true(bh_evm_chain_last_split(c));
    assert_int_equal(u256_low(&r.answer), 0);
    bh_evm_chain_destroy(c);
    it_fake_stop(honest);
    it_fake_stop(liar);
}

/* Logs with a wrongly typed field: alone, an error (never "no events");
 * among honest endpoints, ignored and counted as a bad answer. */
static void test_it_bad_log_fields(void **state)
{
    (void)state;
    it_fake *bad = it_fake_start(IT_FAKE_BAD_LOGS, F.a.url);
    const char *alone[] = {it_fake_url(bad)};
    bh_evm_chain *c1 = make_chain(alone, 1, 1, EVM_A, CHAIN_A, &F.portal_a);
    bh_watcher *w1 = watcher_at_head(c1, F.a.url);
    const char *mixed[] = {it_fake_url(bad), F.a.url, F.a.url};
    bh_evm_chain *c3 = make_chain(mixed, 3, 2, EVM_A, CHAIN_A, &F.portal_a);
    bh_watcher *w3 = watcher_at_head(c3, F.a.url);
    bh_u256 amount, fee;
    u256(&amount, 64);
    u256(&fee, 0);
    assert_int_equal(bh_portal_lock(F.dep_a, NULL, &F.portal_a, &F.token_a, &amount, CHAIN_B,
                                    &F.user_b, &fee, 1),
                     BH_OK);
    finalize(F.a.url);
    bh_chain_event *ev;
    size_t n;
    assert_int_equal(bh_watcher_poll(w1, &ev, &n, NULL), BH_EPROTO);
    assert_null(ev);
    poll_all(w3, &ev, &n);
    assert_int_equal(n, 1);
    assert_true(ev[0].msg.amount == 64);
    uint64_t lock_block = ev[0].block_number;
    free(ev);
    bh_rpc_stats st;
    for (int i = 0; i < 200; i++) {
        bh_rpc_stats_get(bh_evm_chain_endpoint(c3, 0), &st);
        if (st.bad_answers >= 1) break;
        reread_block(c3, lock_block);
    }
    assert_true(st.bad_answers >= 1);
    bh_watcher_destroy(w1);
    bh_watcher_destroy(w3);
    bh_evm_chain_destroy(c1);
    bh_evm_chain_destroy(c3);
    it_fake_stop(bad);
}

/* A hanging endpoint costs one timeout, then is skipped while it backs off;
 * the watcher refuses to start on an endpoint of another chain. */
static void test_it_endpoint_backoff_and_chain_id(void **state)
{
    (void)state;
    it_fake *hang = it_fake_start(IT_FAKE_HANG, NULL);
    const char *urls[] = {it_fake_url(hang), F.a.url};
    bh_evm_chain_config cfg = {.bridge_id = CHAIN_A,
                               .evm_chain_id = EVM_A,
                               .urls = urls,
                               .n_urls = 2,
                               .quorum = 1,
                               .portal = F.portal_a,
                               .rpc = {.timeout_ms = 400}};
    bh_evm_chain *c = NULL;
    assert_int_equal(bh_evm_chain_create(&c, &cfg), BH_OK);
    bh_block_ref head;
    double t0 = now_s();
    assert_int_equal(bh_evm_chain_finalized(c, &head), BH_OK);
    double first = now_s() - t0;
    /* the read returns once the quorum answered: it does not wait for the
     * hanging endpoint's 400 ms timeout, which runs out in the background */
    assert_true(first < 0.35);
    t0 = now_s();
    for (int i = 0; i < 3; i++)
        assert_int_equal(bh_evm_chain_finalized(c, &head), BH_OK);
    double rounds = now_s() - t0;
    bh_rpc_stats st;
    bh_rpc_stats_get(bh_evm_chain_endpoint(c, 0), &st);
    /* Within its first 1 s back-off the hanging endpoint is not asked again
     * (waiting on it would cost 0.4 s per round). On a machine so loaded that
     * three rounds outlast the back-off, it may rightly be asked once more. */
    if (rounds < 0.9) {
        assert_int_equal(st.calls, 1);
    } else {
        assert_true(st.calls <= 2);
    }
    bh_evm_chain_destroy(c);
    it_fake_stop(hang);

    const char *mixed[] = {F.a.url, F.b.url};
    bh_evm_chain *cm = make_chain(mixed, 2, 2, EVM_A, CHAIN_A, &F.portal_a);
    bh_block_ref cold = {0};
    bh_watcher *w = NULL;
    assert_int_equal(bh_watcher_create(&w, &bh_chain_evm_ops, cm, &cold), BH_OK);
    bh_chain_event *ev;
    size_t n;
    assert_int_equal(bh_watcher_poll(w, &ev, &n, NULL), BH_ECHAINID);
    bh_watcher_destroy(w);
    bh_evm_chain_destroy(cm);
}

/* Rotating the attester set: approvals gathered under the old set do not
 * count towards the new one, and VAAs of the old set are refused. Runs last
 * on chain B (it changes B's set). */
static void test_it_signer_rotation(void **state)
{
    (void)state;
    unsigned char body[BH_EVENT_BODY_MAX], vaa[1024];
    bh_seckey rk;
    it_test_key(&rk, 777);
    bh_address rcpt;
    assert_int_equal(bh_attest_address(F.ctx, &rcpt, &rk), BH_OK);
    size_t blen =
        forged_body(body, CHAIN_A, &F.portal_a, 5000, &F.token_a, CHAIN_A, &rcpt, CHAIN_B, 70);
    unsigned i0[] = {0}, i1[] = {1};
    bh_submit_outcome oc;
    unsigned approvals;
    size_t vlen = make_vaa_set(vaa, sizeof vaa, 0, body, blen, i0, 1);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &approvals, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_APPROVED);
    assert_int_equal(bh_portal_set_attesters(F.dep_b, &F.portal_b, 1, F.att_addr, 3, 2, 0), BH_OK);
    /* Old set: refused outright. */
    vlen = make_vaa_set(vaa, sizeof vaa, 0, body, blen, i1, 1);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &approvals, &F.portal_b, vaa, vlen),
                     BH_EREVERTED);
    assert_non_null(strstr(bh_evm_sender_last_error(F.dep_b), "signer set"));
    /* New set: attester 0's old approval is not carried over. */
    vlen = make_vaa_set(vaa, sizeof vaa, 1, body, blen, i1, 1);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &approvals, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_APPROVED);
    assert_int_equal(approvals, 1);
    vlen = make_vaa_set(vaa, sizeof vaa, 1, body, blen, i0, 1);
    assert_int_equal(bh_portal_submit(F.node2_b, &oc, &approvals, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_EXECUTED);
    bh_bytes32 t32;
    bh_address_to_bytes32(&t32, &F.token_a);
    bh_address wrapped;
    assert_int_equal(bh_portal_wrapped_for(F.rpc_b, &wrapped, &F.portal_b, CHAIN_A, &t32), BH_OK);
    bh_u256 bal;
    assert_int_equal(bh_erc20_balance(F.rpc_b, &bal, &wrapped, &rcpt), BH_OK);
    assert_int_equal(u256_low(&bal), 70);
}

/* An unlock to a recipient whose token hook calls back into the Portal
 * with a second unlock: both fees still go to the one who submitted, none
 * to the recipient that called back in. */
static void test_it_reentered_submit_keeps_the_fee(void **state)
{
    (void)state;
    bh_abi a;
    bh_abi_init(&a, NULL, 3);
    bh_abi_string(&a, "HOOK");
    bh_abi_string(&a, "HOOK");
    bh_abi_uint(&a, 18);
    unsigned char *ctor = NULL;
    size_t len = 0;
    assert_int_equal(bh_abi_finish(&a, &ctor, &len), BH_OK);
    bh_abi_clear(&a);
    bh_address hook, re;
    assert_int_equal(nh_deploy(F.dep_a, bh_test_contract_hooktoken_bin, ctor, len, &hook), 0);
    free(ctor);
    bh_abi_init(&a, NULL, 1);
    bh_abi_address(&a, &F.portal_a);
    assert_int_equal(bh_abi_finish(&a, &ctor, &len), BH_OK);
    bh_abi_clear(&a);
    assert_int_equal(nh_deploy(F.dep_a, bh_test_contract_reenterer_bin, ctor, len, &re), 0);
    free(ctor);
    bh_u256 v;
    u256(&v, 100);
    bh_abi_init(&a, "mint(address,uint256)", 2);
    bh_abi_address(&a, &F.user_a);
    bh_abi_u256(&a, &v);
    assert_int_equal(nh_send_call(F.dep_a, NULL, &hook, &a, "mint HOOK"), 0);
    bh_u256 fee;
    u256(&v, 10);
    u256(&fee, 0);
    assert_int_equal(
        bh_portal_lock(F.dep_a, NULL, &F.portal_a, &hook, &v, CHAIN_B, &F.user_b, &fee, 1), BH_OK);
    /* two unlocks of HOOK from B, signed by attesters 0 and 1 */
    bh_seckey xk;
    it_test_key(&xk, 782);
    bh_address x;
    assert_int_equal(bh_attest_address(F.ctx, &x, &xk), BH_OK);
    unsigned char b1[BH_EVENT_BODY_MAX], b2[BH_EVENT_BODY_MAX], v1[1024], v2[1024];
    size_t l1 = forged_body_fee(b1, CHAIN_B, &F.portal_b, 8100, &hook, CHAIN_A, &re, CHAIN_A, 3, 1);
    size_t l2 = forged_body_fee(b2, CHAIN_B, &F.portal_b, 8101, &hook, CHAIN_A, &x, CHAIN_A, 2, 1);
    unsigned both[] = {0, 1};
    size_t n1 = make_vaa(v1, sizeof v1, b1, l1, both, 2);
    size_t n2 = make_vaa(v2, sizeof v2, b2, l2, both, 2);
    bh_abi_init(&a, "setVaa(bytes)", 1);
    bh_abi_bytes(&a, v2, n2);
    assert_int_equal(nh_send_call(F.dep_a, NULL, &re, &a, "setVaa"), 0);
    bh_u256 before, after, got;
    assert_int_equal(bh_erc20_balance(F.rpc_a, &before, &hook, &F.user_a), BH_OK);
    bh_submit_outcome oc;
    assert_int_equal(bh_portal_submit(F.dep_a, &oc, NULL, &F.portal_a, v1, n1), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_EXECUTED);
    assert_int_equal(bh_erc20_balance(F.rpc_a, &got, &hook, &re), BH_OK);
    assert_int_equal(u256_low(&got), 2); /* 3 less its fee, and no fee */
    assert_int_equal(bh_erc20_balance(F.rpc_a, &got, &hook, &x), BH_OK);
    assert_int_equal(u256_low(&got), 1); /* the inner unlock did run */
    assert_int_equal(bh_erc20_balance(F.rpc_a, &after, &hook, &F.user_a), BH_OK);
    assert_int_equal(u256_low(&after) - u256_low(&before), 2); /* both fees */
}

static void rpc_do(bh_rpc *ep, const char *method, json_t *params)
{
    json_t *res = NULL;
    assert_int_equal(bh_rpc_call(ep, &res, method, params), BH_OK);
    json_decref(res);
    json_decref(params);
}

/* setInfo(a): where a signs in the current and the previous set. */
static void set_info(const bh_address *a, uint64_t *set, uint64_t *index, uint64_t *prev_index)
{
    bh_abi ab;
    bh_abi_init(&ab, "setInfo(address)", 1);
    bh_abi_address(&ab, a);
    unsigned char *data = NULL, *ret = NULL;
    size_t dlen = 0, rlen = 0;
    assert_int_equal(bh_abi_finish(&ab, &data, &dlen), BH_OK);
    bh_abi_clear(&ab);
    assert_int_equal(bh_evm_call(F.rpc_b, &ret, &rlen, &F.portal_b, data, dlen), BH_OK);
    free(data);
    assert_int_equal(bh_abi_read_u64(set, ret, rlen, 0), BH_OK);
    assert_int_equal(bh_abi_read_u64(index, ret, rlen, 2), BH_OK);
    assert_int_equal(bh_abi_read_u64(prev_index, ret, rlen, 5), BH_OK);
    free(ret);
}

/* Rotation with a grace period: approvals under the previous set and the
 * new one add up to one quorum, a signer in both counts once, and once the
 * grace is over the previous set and its approvals count no more. */
static void test_it_rotation_overlap(void **state)
{
    (void)state;
    bh_seckey rk, fresh;
    it_test_key(&rk, 780);
    it_test_key(&fresh, 781);
    bh_address rcpt, fresh_addr;
    assert_int_equal(bh_attest_address(F.ctx, &rcpt, &rk), BH_OK);
    assert_int_equal(bh_attest_address(F.ctx, &fresh_addr, &fresh), BH_OK);
    /* B is at set 1 (attesters 0, 1, 2); set 2 is {2, 0, fresh}, quorum 2 */
    bh_address set2[3] = {F.att_addr[2], F.att_addr[0], fresh_addr};
    assert_int_equal(bh_portal_set_attesters(F.node2_b, &F.portal_b, 2, set2, 3, 2, 3600),
                     BH_EREVERTED); /* not the owner */
    assert_int_equal(bh_portal_set_attesters(F.dep_b, &F.portal_b, 2, set2, 3, 2, 3600), BH_OK);
    uint64_t set = 0, idx = 0, prev = 0;
    set_info(&fresh_addr, &set, &idx, &prev);
    assert_true(set == 2 && idx == 3 && prev == 0);
    set_info(&F.att_addr[0], &set, &idx, &prev);
    assert_true(idx == 2 && prev == 1); /* index + 1 in each set */
    set_info(&rcpt, &set, &idx, &prev);
    assert_true(idx == 0 && prev == 0);

    unsigned char body[3][BH_EVENT_BODY_MAX], vaa[1024];
    size_t blen[3];
    for (unsigned i = 0; i < 3; i++)
        blen[i] = forged_body(body[i], CHAIN_A, &F.portal_a, 7100 + i, &F.token_a, CHAIN_A, &rcpt,
                              CHAIN_B, 1);
    bh_submit_outcome oc;
    unsigned ap = 0;
    /* X: attester 1 under set 1, then fresh under set 2: two signers, done */
    unsigned a1[] = {1};
    size_t vlen = make_vaa_set(vaa, sizeof vaa, 1, body[0], blen[0], a1, 1);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &ap, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_APPROVED);
    bh_hash32 d;
    bh_vaa_digest(&d, body[0], blen[0]);
    bh_vaa_sig sig = {.signer_index = 2};
    assert_int_equal(bh_attest_sign(F.ctx, sig.rs, &sig.v, &d, &fresh), BH_OK);
    assert_int_equal(bh_vaa_serialize(vaa, sizeof vaa, &vlen, 2, &sig, 1, body[0], blen[0]), BH_OK);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &ap, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_EXECUTED);
    assert_int_equal(ap, 2);
    /* Y: attester 0 under set 1 (index 0) and under set 2 (index 1): once */
    unsigned a0[] = {0};
    vlen = make_vaa_set(vaa, sizeof vaa, 1, body[1], blen[1], a0, 1);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &ap, &F.portal_b, vaa, vlen), BH_OK);
    /* index 1 of set 2 is attester 0 (make_vaa_set signs index i with attester i) */
    bh_vaa_digest(&d, body[1], blen[1]);
    sig.signer_index = 1;
    assert_int_equal(bh_attest_sign(F.ctx, sig.rs, &sig.v, &d, &F.att[0]), BH_OK);
    assert_int_equal(bh_vaa_serialize(vaa, sizeof vaa, &vlen, 2, &sig, 1, body[1], blen[1]), BH_OK);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &ap, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_APPROVED);
    assert_int_equal(ap, 1);
    /* Z: attester 1 under set 1, then the grace runs out */
    vlen = make_vaa_set(vaa, sizeof vaa, 1, body[2], blen[2], a1, 1);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &ap, &F.portal_b, vaa, vlen), BH_OK);
    rpc_do(F.rpc_b, "evm_increaseTime", json_pack("[i]", 3601));
    rpc_do(F.rpc_b, "evm_mine", NULL);
    set_info(&F.att_addr[0], &set, &idx, &prev);
    assert_int_equal(prev, 0); /* the previous set is no longer valid */
    vlen = make_vaa_set(vaa, sizeof vaa, 1, body[2], blen[2], a0, 1);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &ap, &F.portal_b, vaa, vlen), BH_EREVERTED);
    assert_non_null(strstr(bh_evm_sender_last_error(F.dep_b), "signer set"));
    /* fresh under set 2: attester 1's old approval no longer counts */
    bh_vaa_digest(&d, body[2], blen[2]);
    sig.signer_index = 2;
    assert_int_equal(bh_attest_sign(F.ctx, sig.rs, &sig.v, &d, &fresh), BH_OK);
    assert_int_equal(bh_vaa_serialize(vaa, sizeof vaa, &vlen, 2, &sig, 1, body[2], blen[2]), BH_OK);
    assert_int_equal(bh_portal_submit(F.dep_b, &oc, &ap, &F.portal_b, vaa, vlen), BH_OK);
    assert_int_equal(oc, BH_SUBMIT_APPROVED);
    assert_int_equal(ap, 1);
    /* a set that names one attester twice is refused */
    bh_address dup[2] = {fresh_addr, fresh_addr};
    assert_int_equal(bh_portal_set_attesters(F.dep_b, &F.portal_b, 3, dup, 2, 1, 0), BH_EREVERTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_it_lock_deliver_roundtrip),
        cmocka_unit_test(test_it_portal_outstanding_bound),
        cmocka_unit_test(test_it_submit_batch),
        cmocka_unit_test(test_it_reentered_submit_keeps_the_fee),
        cmocka_unit_test(test_it_forged_lock),
        cmocka_unit_test(test_it_price_feed),
        cmocka_unit_test(test_it_listed_tokens_and_receipts),
        cmocka_unit_test(test_it_reorg),
        cmocka_unit_test(test_it_quorum_liars),
        cmocka_unit_test(test_it_hostile_endpoints),
        cmocka_unit_test(test_it_adaptive_range),
        cmocka_unit_test(test_it_cut_answers_keep_whole_blocks),
        cmocka_unit_test(test_it_oversized_answers_shrink_the_range_fast),
        cmocka_unit_test(test_it_dense_span_sized_by_sequence),
        cmocka_unit_test(test_it_nonce_and_fee_bump),
        cmocka_unit_test_teardown(test_it_pipelined_bump_drop_cancel, automine_on),
        cmocka_unit_test_teardown(test_it_submit_gas_race, automine_on),
        cmocka_unit_test(test_it_confirmations_mode),
        cmocka_unit_test(test_it_gas_cap_and_revert),
        cmocka_unit_test(test_it_sequence_gap),
        cmocka_unit_test(test_it_bad_log_fields),
        cmocka_unit_test(test_it_endpoint_backoff_and_chain_id),
        cmocka_unit_test(test_it_signer_rotation),
        cmocka_unit_test(test_it_rotation_overlap), /* last: it moves B's clock an hour on */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
