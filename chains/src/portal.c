#include "bh_portal.h"

#include <stdlib.h>
#include <string.h>

#include "bh_abi.h"
#include "bh_be.h"
#include "bh_hex.h"
#include "bh_keccak.h"
#include "portal_internal.h"

void bh_address_to_bytes32(bh_bytes32 *out, const bh_address *a)
{
    memset(out->data, 0, 12);
    memcpy(out->data + 12, a->data, 20);
}

int bh_portal_decode_transfer_out(bh_portal_transfer_out *out, const bh_hash32 *topics,
                                  size_t n_topics, const unsigned char *data, size_t len)
{
    if (!out) return BH_EINVAL;
    memset(out, 0, sizeof *out);
    if (!topics || n_topics != 3 || len != 8 * 32) return BH_EMALFORMED;
    bh_hash32 sig;
    bh_abi_topic(&sig, BH_PORTAL_TRANSFER_OUT_SIG);
    if (memcmp(&sig, &topics[0], sizeof sig) != 0) return BH_EMALFORMED;
    bh_portal_transfer_out ev;
    memset(&ev, 0, sizeof ev);
    uint64_t v = 0;
    int rc = bh_abi_read_u64(&ev.sequence, topics[1].data, 32, 0);
    if (rc == BH_OK) rc = bh_abi_read_address(&ev.sender, topics[2].data, 32, 0);
    if (rc == BH_OK) rc = bh_abi_read_bytes32(&ev.token, data, len, 0);
    if (rc == BH_OK) rc = bh_abi_read_u64(&v, data, len, 1);
    if (rc == BH_OK && v > UINT16_MAX) rc = BH_EMALFORMED;
    ev.token_chain = (uint16_t)v;
    if (rc == BH_OK) rc = bh_abi_read_bytes32(&ev.to, data, len, 2);
    if (rc == BH_OK) rc = bh_abi_read_u64(&v, data, len, 3);
    if (rc == BH_OK && v > UINT16_MAX) rc = BH_EMALFORMED;
    ev.to_chain = (uint16_t)v;
    if (rc == BH_OK) rc = bh_abi_read_u256(&ev.amount, data, len, 4);
    if (rc == BH_OK) rc = bh_abi_read_u256(&ev.fee, data, len, 5);
    if (rc == BH_OK) rc = bh_abi_read_u64(&v, data, len, 6);
    if (rc == BH_OK && v > UINT32_MAX) rc = BH_EMALFORMED;
    ev.nonce = (uint32_t)v;
    if (rc == BH_OK) rc = bh_abi_read_u64(&v, data, len, 7);
    if (rc == BH_OK && v > BH_EVENT_BURN) rc = BH_EMALFORMED;
    ev.kind = (uint8_t)v;
    if (rc != BH_OK) return BH_EMALFORMED;
    *out = ev;
    return BH_OK;
}

int bh_portal_event_body(unsigned char *body, size_t *body_len, bh_transfer_msg *msg,
                         bh_reject *why, const bh_portal_transfer_out *ev, uint16_t emitter_chain,
                         const bh_address *portal, uint32_t timestamp)
{
    if (body_len) *body_len = 0;
    if (msg) memset(msg, 0, sizeof *msg);
    if (why) *why = BH_REJECT_MALFORMED;
    if (!body || !body_len || !msg || !why || !ev || !portal) return BH_EINVAL;
    bh_transfer t = {.amount = ev->amount,
                     .token = ev->token,
                     .token_chain = ev->token_chain,
                     .to = ev->to,
                     .to_chain = ev->to_chain,
                     .fee = ev->fee};
    unsigned char payload[BH_TRANSFER_LEN];
    bh_transfer_serialize(payload, &t);
    bh_vaa_body b = {.timestamp = timestamp,
                     .nonce = ev->nonce,
                     .emitter_chain = emitter_chain,
                     .sequence = ev->sequence,
                     .consistency = BH_CONSISTENCY_FINALIZED,
                     .payload = payload,
                     .payload_len = sizeof payload};
    bh_address_to_bytes32(&b.emitter, portal);
    int rc = bh_vaa_body_serialize(body, BH_EVENT_BODY_MAX, body_len, &b);
    if (rc != BH_OK) return rc;
    /* Reuse the messages module's checks, exactly as a receiver applies them. */
    bh_vaa vaa;
    memset(&vaa, 0, sizeof vaa);
    vaa.version = BH_VAA_VERSION;
    vaa.body = body;
    vaa.body_len = *body_len;
    vaa.b = b;
    vaa.b.payload = body + BH_VAA_BODY_FIXED;
    /* it also sets msg->digest, the body's VAA digest (two Keccaks): not
     * computed again here */
    rc = bh_transfer_msg_from_vaa(msg, why, &vaa);
    if (rc != BH_OK) return rc;
    msg->timestamp = timestamp;
    *why = BH_REJECT_OK;
    return BH_OK;
}

int bh_portal_sign_vaa(const bh_attest *ctx, unsigned char *out, size_t out_cap, size_t *out_len,
                       uint32_t signer_set_index, uint8_t signer_index, const bh_seckey *key,
                       const unsigned char *body, size_t body_len)
{
    return bh_attest_sign_vaa(ctx, out, out_cap, out_len, signer_set_index, signer_index, key, body,
                              body_len);
}

/* ---- transactions ---- */

static int send_abi_gas(bh_evm_sender *s, bh_evm_receipt *r, const bh_address *to, bh_abi *a,
                        uint64_t min_gas)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = bh_abi_finish(a, &data, &len);
    bh_abi_clear(a);
    if (rc != BH_OK) return rc;
    rc = bh_evm_sender_send_gas(s, r, to, NULL, data, len, min_gas);
    free(data);
    return rc;
}

int bh_portal_send_call(bh_evm_sender *s, bh_evm_receipt *r, const bh_address *to, bh_abi *a)
{
    return send_abi_gas(s, r, to, a, 0);
}

static unsigned approvals_of(const json_t *logs, const bh_address *portal, int *executed,
                             const bh_hash32 *digest);

static unsigned approvals_in(const json_t *logs, const bh_address *portal, int *executed)
{
    return approvals_of(logs, portal, executed, NULL);
}

/* The most approvals the receipt's Approved logs name for digest (NULL:
 * any), and whether it executed (Executed or HopRecorded). */
static unsigned approvals_of(const json_t *logs, const bh_address *portal, int *executed,
                             const bh_hash32 *digest)
{
    bh_hash32 t_app, t_exec;
    bh_abi_topic(&t_app, "Approved(bytes32,uint8,uint256)");
    bh_abi_topic(&t_exec, "Executed(bytes32,uint16,uint64,address,address,uint256)");
    bh_hash32 t_hop; /* a hop notice executed: the home Portal moved its outstanding */
    bh_abi_topic(&t_hop, "HopRecorded(bytes32,uint16,uint64,uint16,address,uint256)");
    unsigned best = 0;
    *executed = 0;
    size_t i;
    json_t *log;
    json_array_foreach(logs, i, log)
    {
        bh_address addr;
        bh_hash32 t0;
        json_t *topics = json_object_get(log, "topics");
        if (bh_rpc_member_address(&addr, log, "address") != BH_OK ||
            memcmp(&addr, portal, sizeof addr) != 0 || !json_is_array(topics) ||
            bh_rpc_read_hash(&t0, json_array_get(topics, 0)) != BH_OK)
            continue;
        bh_hash32 t1;
        if (digest && (bh_rpc_read_hash(&t1, json_array_get(topics, 1)) != BH_OK ||
                       memcmp(&t1, digest, sizeof t1) != 0))
            continue;
        if (memcmp(&t0, &t_exec, sizeof t0) == 0 || memcmp(&t0, &t_hop, sizeof t0) == 0)
            *executed = 1;
        if (memcmp(&t0, &t_app, sizeof t0) != 0) continue;
        unsigned char *data = NULL;
        size_t len = 0;
        uint64_t count = 0;
        if (bh_rpc_read_data(&data, &len, json_object_get(log, "data"), 64) == BH_OK &&
            bh_abi_read_u64(&count, data, len, 1) == BH_OK && count > best && count <= 255)
            best = (unsigned)count;
        free(data);
    }
    return best;
}

int bh_portal_submit(bh_evm_sender *s, bh_submit_outcome *outcome, unsigned *approvals,
                     const bh_address *portal, const unsigned char *vaa, size_t vaa_len)
{
    if (outcome) *outcome = BH_SUBMIT_APPROVED;
    if (approvals) *approvals = 0;
    if (!s || !outcome || !portal || !vaa || vaa_len == 0 || vaa_len > BH_VAA_MAX_LEN)
        return BH_EINVAL;
    bh_vaa parsed;
    bh_reject why;
    if (bh_vaa_parse(&parsed, &why, vaa, vaa_len) != BH_OK) return BH_EMALFORMED;
    bh_hash32 digest;
    bh_vaa_digest(&digest, parsed.body, parsed.body_len);
    int done = 0;
    int rc = bh_portal_is_executed(bh_evm_sender_rpc(s), &done, portal, &digest);
    if (rc != BH_OK) return rc;
    if (done) {
        *outcome = BH_SUBMIT_ALREADY_DONE;
        return BH_OK;
    }
    bh_abi a;
    bh_abi_init(&a, "submit(bytes)", 1);
    bh_abi_bytes(&a, vaa, vaa_len);
    bh_evm_receipt r;
    /* Estimated while the quorum is short, a submit only records an
     * approval; if another node's approval lands first, the same call
     * executes the transfer (a mint may even create the wrapped token), so
     * the gas limit must cover execution whatever the estimate said. */
    rc = send_abi_gas(s, &r, portal, &a, BH_PORTAL_SUBMIT_GAS);
    if (rc == BH_EREVERTED) {
        /* Another node may have executed it between our check and our send. */
        if (bh_portal_is_executed(bh_evm_sender_rpc(s), &done, portal, &digest) == BH_OK && done) {
            *outcome = BH_SUBMIT_ALREADY_DONE;
            return BH_OK;
        }
        return rc;
    }
    if (rc != BH_OK) return rc;
    int executed = 0;
    unsigned n = approvals_in(r.logs, portal, &executed);
    bh_evm_receipt_clear(&r);
    if (executed) {
        *outcome = BH_SUBMIT_EXECUTED;
    } else if (bh_portal_is_executed(bh_evm_sender_rpc(s), &done, portal, &digest) == BH_OK &&
               done) {
        *outcome = BH_SUBMIT_ALREADY_DONE; /* executed by someone else first */
    }
    if (approvals) *approvals = n;
    return BH_OK;
}

/* A BatchItemFailed log's reason as text: Error(string)'s message, else
 * the revert data in hex; empty when it reverted with no data (out of gas,
 * most likely). */
static void batch_reason(char *out, size_t cap, const json_t *log)
{
    unsigned char *data = NULL;
    size_t len = 0;
    uint64_t off = 0, n = 0;
    snprintf(out, cap, "reverted");
    if (bh_rpc_read_data(&data, &len, json_object_get(log, "data"), 1 << 16) != BH_OK) return;
    if (bh_abi_read_u64(&off, data, len, 0) == BH_OK && off == 32 &&
        bh_abi_read_u64(&n, data, len, 1) == BH_OK && n <= len - 64) {
        if (!n) out[0] = '\0'; /* no reason: out of gas, most likely */
        const unsigned char *r = data + 64;
        static const unsigned char err_sel[4] = {0x08, 0xc3, 0x79, 0xa0};
        uint64_t sl = 0;
        if (n >= 4 + 64 && !memcmp(r, err_sel, 4) &&
            bh_abi_read_u64(&sl, r + 4, n - 4, 1) == BH_OK && sl <= n - 4 - 64) {
            snprintf(out, cap, "%.*s", (int)(sl < cap ? sl : cap - 1), (const char *)r + 4 + 64);
        } else if (n) {
            size_t k = n * 2 + 3 < cap ? n : (cap - 3) / 2;
            out[0] = '0', out[1] = 'x';
            bh_hex_encode(out + 2, r, k);
        }
    }
    free(data);
}

/* The digests of a batch's VAAs, each checked to parse. */
static int batch_digests(bh_hash32 *digests, const unsigned char *const *vaas, const size_t *lens,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bh_vaa parsed;
        bh_reject why;
        if (!vaas[i] || lens[i] == 0 || lens[i] > BH_VAA_MAX_LEN ||
            bh_vaa_parse(&parsed, &why, vaas[i], lens[i]) != BH_OK)
            return BH_EMALFORMED;
        bh_vaa_digest(&digests[i], parsed.body, parsed.body_len);
    }
    return BH_OK;
}

static int executed_s(bh_evm_sender *s, int *done, const bh_address *portal,
                      const bh_hash32 *digest);

/* Each item's result from the batch's receipt logs: BatchItemFailed names
 * the failed ones; the rest by their Approved / Executed logs. */
static void batch_items(bh_evm_sender *s, bh_portal_batch_item *items, const json_t *logs,
                        const bh_address *portal, const bh_hash32 *digests, size_t n)
{
    bh_hash32 t_fail, t_done;
    bh_abi_topic(&t_fail, "BatchItemFailed(uint256,bytes)");
    bh_abi_topic(&t_done, "BatchDone(uint256,uint256)");
    unsigned char done_bits[32];
    int have_done = 0;
    size_t k;
    json_t *log;
    json_array_foreach(logs, k, log)
    {
        bh_address addr;
        bh_hash32 t0, t1;
        json_t *topics = json_object_get(log, "topics");
        if (bh_rpc_member_address(&addr, log, "address") != BH_OK ||
            memcmp(&addr, portal, sizeof addr) != 0 || !json_is_array(topics) ||
            bh_rpc_read_hash(&t0, json_array_get(topics, 0)) != BH_OK)
            continue;
        if (!memcmp(&t0, &t_done, sizeof t0)) {
            unsigned char *data = NULL;
            size_t len = 0;
            if (bh_rpc_read_data(&data, &len, json_object_get(log, "data"), 64) == BH_OK &&
                len == 64) {
                memcpy(done_bits, data, 32);
                have_done = 1;
            }
            free(data);
            continue;
        }
        if (memcmp(&t0, &t_fail, sizeof t0) != 0 ||
            bh_rpc_read_hash(&t1, json_array_get(topics, 1)) != BH_OK)
            continue;
        uint64_t idx = 0;
        if (bh_abi_read_u64(&idx, t1.data, 32, 0) != BH_OK || idx >= n) continue;
        items[idx].failed = 1;
        batch_reason(items[idx].why, sizeof items[idx].why, log);
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].failed) continue;
        int executed = 0, done = 0, again = 0;
        for (size_t j = 0; j < i && !again; j++)
            again = !memcmp(&digests[j], &digests[i], sizeof digests[i]);
        if (again) { /* the logs are the first one's */
            items[i].outcome = BH_SUBMIT_ALREADY_DONE;
            continue;
        }
        items[i].approvals = approvals_of(logs, portal, &executed, &digests[i]);
        items[i].outcome = executed ? BH_SUBMIT_EXECUTED : BH_SUBMIT_APPROVED;
        /* no new approval: executed earlier, or ours was there already;
         * BatchDone's bitmap tells which (big-endian: item i is bit i) */
        if (!executed && !items[i].approvals) {
            if (have_done)
                done = (done_bits[31 - i / 8] >> (i % 8)) & 1;
            else if (executed_s(s, &done, portal, &digests[i]) != BH_OK)
                done = 0;
            if (done) items[i].outcome = BH_SUBMIT_ALREADY_DONE;
        }
    }
}

static int batch_data(unsigned char **data, size_t *len, const unsigned char *const *vaas,
                      const size_t *lens, size_t n)
{
    bh_abi a;
    bh_abi_init(&a, "submitBatch(bytes[])", 1);
    bh_abi_bytes_array(&a, vaas, lens, n);
    int rc = bh_abi_finish(&a, data, len);
    bh_abi_clear(&a);
    return rc;
}

int bh_portal_submit_batch(bh_evm_sender *s, bh_portal_batch_item *items, const bh_address *portal,
                           const unsigned char *const *vaas, const size_t *lens, size_t n)
{
    if (items) memset(items, 0, n * sizeof *items);
    if (!s || !items || !portal || !vaas || !lens || n == 0 || n > BH_PORTAL_BATCH_MAX)
        return BH_EINVAL;
    bh_hash32 *digests = calloc(n, sizeof *digests);
    if (!digests) return BH_ENOMEM;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = batch_digests(digests, vaas, lens, n);
    if (rc == BH_OK) rc = batch_data(&data, &len, vaas, lens, n);
    bh_evm_receipt r;
    /* as a submit: each item's path depends on approvals landing first */
    if (rc == BH_OK)
        rc = bh_evm_sender_send_gas(s, &r, portal, NULL, data, len, BH_PORTAL_SUBMIT_GAS / 4 * n);
    free(data);
    if (rc == BH_OK) {
        batch_items(s, items, r.logs, portal, digests, n);
        bh_evm_receipt_clear(&r);
    }
    free(digests);
    return rc;
}

int bh_portal_batch_send(bh_evm_sender *s, bh_evm_pending *p, bh_hash32 *digests,
                         const bh_address *portal, const unsigned char *const *vaas,
                         const size_t *lens, size_t n)
{
    if (p) memset(p, 0, sizeof *p);
    if (!s || !p || !digests || !portal || !vaas || !lens || n == 0 || n > BH_PORTAL_BATCH_MAX)
        return BH_EINVAL;
    int rc = batch_digests(digests, vaas, lens, n);
    unsigned char *data = NULL;
    size_t len = 0;
    if (rc == BH_OK) rc = batch_data(&data, &len, vaas, lens, n);
    /* each item estimated as an approval may execute by the time it is
     * mined (another node's approval first): room for that, per item */
    if (rc == BH_OK)
        rc = bh_evm_sender_begin_extra(s, p, portal, NULL, data, len, 0,
                                       (uint64_t)n * BH_PORTAL_BATCH_ITEM_GAS);
    free(data);
    return rc;
}

int bh_portal_batch_check(bh_evm_sender *s, bh_evm_pending *p, bh_portal_batch_item *items,
                          const bh_address *portal, const bh_hash32 *digests, size_t n)
{
    if (items) memset(items, 0, n * sizeof *items);
    if (!s || !p || !items || !portal || !digests || n == 0) return BH_EINVAL;
    bh_evm_receipt r;
    int rc = bh_evm_sender_check(s, p, &r);
    if (rc != BH_OK) return rc;
    batch_items(s, items, r.logs, portal, digests, n);
    bh_evm_receipt_clear(&r);
    return BH_OK;
}

/* executed(digest) through the sender's endpoints (with failover). */
static int executed_s(bh_evm_sender *s, int *done, const bh_address *portal,
                      const bh_hash32 *digest)
{
    *done = 0;
    bh_abi a;
    bh_abi_init(&a, "executed(bytes32)", 1);
    bh_bytes32 d;
    memcpy(d.data, digest->data, 32);
    bh_abi_bytes32(&a, &d);
    unsigned char *data = NULL, *ret = NULL;
    size_t dlen = 0, len = 0;
    int rc = bh_abi_finish(&a, &data, &dlen);
    bh_abi_clear(&a);
    if (rc != BH_OK) return rc;
    rc = bh_evm_sender_call(s, &ret, &len, portal, data, dlen);
    free(data);
    uint64_t v = 0;
    if (rc == BH_OK) rc = bh_abi_read_u64(&v, ret, len, 0) == BH_OK && v <= 1 ? BH_OK : BH_EPROTO;
    free(ret);
    if (rc == BH_OK) *done = (int)v;
    return rc;
}

int bh_portal_submit_send(bh_evm_sender *s, bh_evm_pending *p, int *sent,
                          bh_submit_outcome *outcome, bh_hash32 *digest, const bh_address *portal,
                          const unsigned char *vaa, size_t vaa_len)
{
    if (sent) *sent = 0;
    if (outcome) *outcome = BH_SUBMIT_APPROVED;
    if (digest) memset(digest, 0, sizeof *digest);
    if (p) memset(p, 0, sizeof *p);
    if (!s || !p || !sent || !outcome || !digest || !portal || !vaa || vaa_len == 0 ||
        vaa_len > BH_VAA_MAX_LEN)
        return BH_EINVAL;
    bh_vaa parsed;
    bh_reject why;
    if (bh_vaa_parse(&parsed, &why, vaa, vaa_len) != BH_OK) return BH_EMALFORMED;
    bh_vaa_digest(digest, parsed.body, parsed.body_len);
    int done = 0;
    int rc = executed_s(s, &done, portal, digest);
    if (rc != BH_OK) return rc;
    if (done) {
        *outcome = BH_SUBMIT_ALREADY_DONE;
        return BH_OK;
    }
    bh_abi a;
    bh_abi_init(&a, "submit(bytes)", 1);
    bh_abi_bytes(&a, vaa, vaa_len);
    unsigned char *data = NULL;
    size_t len = 0;
    rc = bh_abi_finish(&a, &data, &len);
    bh_abi_clear(&a);
    if (rc != BH_OK) return rc;
    /* the gas floor covers execution, as in bh_portal_submit */
    rc = bh_evm_sender_begin(s, p, portal, NULL, data, len, BH_PORTAL_SUBMIT_GAS);
    free(data);
    if (rc == BH_EREVERTED && executed_s(s, &done, portal, digest) == BH_OK && done) {
        *outcome = BH_SUBMIT_ALREADY_DONE;
        return BH_OK;
    }
    if (rc == BH_OK) *sent = 1;
    return rc;
}

int bh_portal_submit_check(bh_evm_sender *s, bh_evm_pending *p, bh_submit_outcome *outcome,
                           unsigned *approvals, const bh_address *portal, const bh_hash32 *digest)
{
    if (outcome) *outcome = BH_SUBMIT_APPROVED;
    if (approvals) *approvals = 0;
    if (!s || !p || !outcome || !portal || !digest) return BH_EINVAL;
    bh_evm_receipt r;
    int rc = bh_evm_sender_check(s, p, &r);
    int done = 0;
    if (rc == BH_EREVERTED || rc == BH_ETIMEOUT) {
        /* another node may have executed it first */
        if (executed_s(s, &done, portal, digest) == BH_OK && done) {
            *outcome = BH_SUBMIT_ALREADY_DONE;
            return BH_OK;
        }
        return rc;
    }
    if (rc != BH_OK) return rc;
    int executed = 0;
    unsigned n = approvals_in(r.logs, portal, &executed);
    bh_evm_receipt_clear(&r);
    if (executed)
        *outcome = BH_SUBMIT_EXECUTED;
    else if (executed_s(s, &done, portal, digest) == BH_OK && done)
        *outcome = BH_SUBMIT_ALREADY_DONE;
    if (approvals) *approvals = n;
    return BH_OK;
}

void bh_portal_curse_digest(bh_hash32 *out, uint16_t portal_chain, const bh_address *portal,
                            uint32_t set_index, uint16_t chain, uint64_t round, int curse)
{
    /* abi.encode(CURSE_TAG, chainId, address(this), set, chain, round, curse) */
    unsigned char w[7 * 32];
    memset(w, 0, sizeof w);
    static const char tag[] = "bulkhead.portal.curse.v1";
    bh_hash32 t;
    bh_keccak256(&t, tag, sizeof tag - 1);
    memcpy(w, t.data, 32);
    bh_be_put_u16(w + 32 + 30, portal_chain);
    memcpy(w + 64 + 12, portal->data, 20);
    bh_be_put_u32(w + 96 + 28, set_index);
    bh_be_put_u16(w + 128 + 30, chain);
    bh_be_put_u64(w + 160 + 24, round);
    w[192 + 31] = curse ? 1 : 0;
    bh_keccak256(out, w, sizeof w);
}

/* A vote's path depends on the votes before it (the one that reaches the
 * quorum writes the curse): a floor on its gas, as for a submit. */
#define VOTE_GAS 200000u

int bh_portal_vote_send(bh_evm_sender *s, bh_evm_pending *p, const bh_address *portal,
                        uint16_t chain, uint64_t round, int curse, const char *reason,
                        const unsigned char *sigs, size_t sigs_len)
{
    if (!s || !p || !portal || !reason || !sigs || !sigs_len) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "vote(uint16,uint64,bool,string,bytes)", 5);
    bh_abi_uint(&a, chain);
    bh_abi_uint(&a, round);
    bh_abi_uint(&a, curse ? 1 : 0);
    bh_abi_string(&a, reason);
    bh_abi_bytes(&a, sigs, sigs_len);
    unsigned char *data = NULL;
    size_t dlen = 0;
    int rc = bh_abi_finish(&a, &data, &dlen);
    bh_abi_clear(&a);
    if (rc != BH_OK) return rc;
    rc = bh_evm_sender_begin(s, p, portal, NULL, data, dlen, VOTE_GAS);
    free(data);
    return rc;
}

/* ---- reads ---- */

static int call_abi(bh_rpc *ep, unsigned char **ret, size_t *len, const bh_address *to, bh_abi *a)
{
    unsigned char *data = NULL;
    size_t dlen = 0;
    int rc = bh_abi_finish(a, &data, &dlen);
    bh_abi_clear(a);
    if (rc != BH_OK) return rc;
    rc = bh_evm_call(ep, ret, len, to, data, dlen);
    free(data);
    return rc;
}

int bh_portal_is_executed(bh_rpc *ep, int *executed, const bh_address *portal,
                          const bh_hash32 *digest)
{
    if (executed) *executed = 0;
    if (!ep || !executed || !portal || !digest) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "executed(bytes32)", 1);
    bh_bytes32 d;
    memcpy(d.data, digest->data, 32);
    bh_abi_bytes32(&a, &d);
    unsigned char *ret = NULL;
    size_t len = 0;
    int rc = call_abi(ep, &ret, &len, portal, &a);
    uint64_t v = 0;
    if (rc == BH_OK) rc = bh_abi_read_u64(&v, ret, len, 0) == BH_OK && v <= 1 ? BH_OK : BH_EPROTO;
    free(ret);
    if (rc == BH_OK) *executed = (int)v;
    return rc;
}

int bh_portal_executed_mask(bh_rpc *ep, unsigned char bits[32], const bh_address *portal,
                            const bh_hash32 *digests, size_t n)
{
    if (bits) memset(bits, 0, 32);
    if (!ep || !bits || !portal || (!digests && n) || n > 256) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "executedMask(bytes32[])", 1);
    bh_abi_hash_array(&a, digests, n);
    unsigned char *ret = NULL;
    size_t len = 0;
    int rc = call_abi(ep, &ret, &len, portal, &a);
    if (rc == BH_OK && len != 32) rc = BH_EPROTO;
    /* no bit past the n asked */
    for (size_t i = n; rc == BH_OK && i < 256; i++)
        if ((ret[31 - i / 8] >> (i % 8)) & 1) rc = BH_EPROTO;
    if (rc == BH_OK) memcpy(bits, ret, 32);
    free(ret);
    return rc;
}

int bh_portal_attester(bh_rpc *ep, uint32_t *set_index, bh_address *attester,
                       const bh_address *portal, unsigned index)
{
    if (set_index) *set_index = 0;
    if (attester) memset(attester, 0, sizeof *attester);
    if (!ep || !set_index || !attester || !portal) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "signerSetIndex()", 0);
    unsigned char *ret = NULL;
    size_t len = 0;
    uint64_t v = 0;
    int rc = call_abi(ep, &ret, &len, portal, &a);
    if (rc == BH_OK)
        rc = bh_abi_read_u64(&v, ret, len, 0) == BH_OK && v <= UINT32_MAX ? BH_OK : BH_EPROTO;
    free(ret);
    if (rc != BH_OK) return rc;
    *set_index = (uint32_t)v;
    bh_abi_init(&a, "attesters(uint256)", 1);
    bh_abi_uint(&a, index);
    ret = NULL;
    rc = call_abi(ep, &ret, &len, portal, &a);
    if (rc == BH_OK) rc = bh_abi_read_address(attester, ret, len, 0) == BH_OK ? BH_OK : BH_EPROTO;
    free(ret);
    return rc;
}

int bh_portal_outstanding(bh_rpc *ep, bh_u256 *out, const bh_address *portal,
                          const bh_address *token, uint16_t chain)
{
    if (out) memset(out, 0, sizeof *out);
    if (!ep || !out || !portal || !token) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "outstanding(address,uint16)", 2);
    bh_abi_address(&a, token);
    bh_abi_uint(&a, chain);
    unsigned char *ret = NULL;
    size_t len = 0;
    int rc = call_abi(ep, &ret, &len, portal, &a);
    if (rc == BH_OK) rc = bh_abi_read_u256(out, ret, len, 0) == BH_OK ? BH_OK : BH_EPROTO;
    free(ret);
    return rc;
}

int bh_portal_wrapped_for(bh_rpc *ep, bh_address *wrapped, const bh_address *portal,
                          uint16_t home_chain, const bh_bytes32 *home_token)
{
    if (wrapped) memset(wrapped, 0, sizeof *wrapped);
    if (!ep || !wrapped || !portal || !home_token) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "wrappedFor(uint16,bytes32)", 2);
    bh_abi_uint(&a, home_chain);
    bh_abi_bytes32(&a, home_token);
    unsigned char *ret = NULL;
    size_t len = 0;
    int rc = call_abi(ep, &ret, &len, portal, &a);
    if (rc == BH_OK) rc = bh_abi_read_address(wrapped, ret, len, 0) == BH_OK ? BH_OK : BH_EPROTO;
    free(ret);
    return rc;
}

int bh_portal_lane_controls(bh_rpc *ep, bh_chain_lane_controls *out, int *paused,
                            const bh_address *portal, uint16_t chain)
{
    if (out) memset(out, 0, sizeof *out);
    if (paused) *paused = 0;
    if (!ep || !out || !portal) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "laneControls(uint16)", 1);
    bh_abi_uint(&a, chain);
    unsigned char *ret = NULL;
    size_t len = 0;
    uint64_t w[5];
    int rc = call_abi(ep, &ret, &len, portal, &a);
    for (size_t i = 0; rc == BH_OK && i < 5; i++)
        if (bh_abi_read_u64(&w[i], ret, len, i) != BH_OK || (i < 3 && w[i] > 1)) rc = BH_EPROTO;
    free(ret);
    if (rc != BH_OK) return rc;
    *out = (bh_chain_lane_controls){(int)w[0], (int)w[1], (int)w[2], w[3], w[4]};
    if (!paused) return BH_OK;
    bh_abi_init(&a, "paused()", 0);
    ret = NULL;
    rc = call_abi(ep, &ret, &len, portal, &a);
    if (rc == BH_OK)
        rc = bh_abi_read_u64(&w[0], ret, len, 0) == BH_OK && w[0] <= 1 ? BH_OK : BH_EPROTO;
    free(ret);
    if (rc == BH_OK) *paused = (int)w[0];
    return rc;
}

int bh_erc20_balance(bh_rpc *ep, bh_u256 *out, const bh_address *token, const bh_address *holder)
{
    if (out) memset(out, 0, sizeof *out);
    if (!ep || !out || !token || !holder) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "balanceOf(address)", 1);
    bh_abi_address(&a, holder);
    unsigned char *ret = NULL;
    size_t len = 0;
    int rc = call_abi(ep, &ret, &len, token, &a);
    if (rc == BH_OK) rc = bh_abi_read_u256(out, ret, len, 0) == BH_OK ? BH_OK : BH_EPROTO;
    free(ret);
    return rc;
}
