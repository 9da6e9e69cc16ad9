/* The EVM chain backend: bh_chain_backend on top of bh_evm_chain (the
 * source side) and bh_evm_sender + the Portal (the destination side). */
#include "bh_chain_backend.h"

#include <stdlib.h>
#include <string.h>

#include "bh_evm_chain.h"
#include "bh_evm_sender.h"
#include "bh_portal.h"
#include "bh_rpc.h"

/* ---- source side ---- */

static int evm_create(void **impl, const bh_chain_config *cfg)
{
    if (impl) *impl = NULL;
    if (!impl || !cfg) return BH_EINVAL;
    bh_evm_chain_config ec = {.bridge_id = cfg->bridge_id,
                              .evm_chain_id = cfg->chain_id,
                              .urls = cfg->urls,
                              .n_urls = cfg->n_urls,
                              .quorum = cfg->quorum,
                              .confirmations = cfg->confirmations,
                              .portal = cfg->portal,
                              .max_range = cfg->max_range,
                              .tokens = cfg->tokens,
                              .n_tokens = cfg->n_tokens,
                              .pins = cfg->pins,
                              .n_pins = cfg->n_pins,
                              .rpc = {.timeout_ms = cfg->timeout_ms,
                                      .max_retries = cfg->retries,
                                      .log = cfg->log,
                                      .log_ud = cfg->log_ud,
                                      .log_min = cfg->log_min}};
    bh_evm_chain *c = NULL;
    int rc = bh_evm_chain_create(&c, &ec);
    if (rc == BH_OK) *impl = c;
    return rc;
}

static void evm_destroy(void *impl)
{
    bh_evm_chain_destroy(impl);
}

static int evm_verify(void *impl)
{
    return bh_evm_chain_verify(impl);
}

static int evm_finalized(void *impl, bh_block_ref *out)
{
    return bh_evm_chain_finalized(impl, out);
}

static int evm_block_hash(void *impl, uint64_t number, bh_hash32 *out)
{
    return bh_evm_chain_block_hash(impl, number, out);
}

static int evm_fetch(void *impl, uint64_t from, uint64_t to, bh_chain_event **events, size_t *n,
                     uint64_t *done_to)
{
    return bh_evm_chain_fetch(impl, from, to, events, n, done_to);
}

static int evm_portal_controls(void *impl, uint64_t known_epoch, const bh_address *me,
                               const uint16_t *remotes, size_t n, bh_chain_controls *out)
{
    return bh_evm_chain_portal_controls(impl, known_epoch, me, remotes, n, out);
}

static int evm_portal_sequence(void *impl, uint64_t block, uint64_t *next)
{
    return bh_evm_chain_portal_sequence(impl, block, next);
}

static int evm_fetch_tx(void *impl, const bh_hash32 *tx, uint64_t max_block,
                        bh_chain_event **events, size_t *n, uint64_t *block)
{
    return bh_evm_chain_fetch_tx(impl, tx, max_block, events, n, block);
}

static void evm_expect_sequence(void *impl, uint64_t next_sequence, uint64_t after_block)
{
    bh_evm_chain_expect_sequence(impl, next_sequence, after_block);
}

static int evm_head(void *impl, uint64_t *out)
{
    return bh_evm_chain_head(impl, out);
}

static int evm_last_split(const void *impl)
{
    return bh_evm_chain_last_split(impl);
}

static size_t evm_endpoint_count(const void *impl)
{
    return bh_evm_chain_endpoint_count(impl);
}

static const char *evm_endpoint_url(const void *impl, size_t i)
{
    bh_rpc *ep = bh_evm_chain_endpoint((bh_evm_chain *)impl, i);
    return ep ? bh_rpc_url(ep) : "";
}

static void evm_endpoint_health(const void *impl, size_t i, bh_chain_endpoint_health *out)
{
    memset(out, 0, sizeof *out);
    bh_rpc *ep = bh_evm_chain_endpoint((bh_evm_chain *)impl, i);
    if (!ep) return;
    bh_rpc_stats st;
    bh_rpc_stats_get(ep, &st);
    out->calls = st.calls;
    out->failures = st.failures;
    out->rate_limited = st.rate_limited;
    out->disagreements = st.disagreements + st.equivocations;
    out->latency_us = st.avg_latency_us;
    out->healthy = st.healthy;
    out->suspect = st.suspect;
}

static int evm_wrapped_for(void *impl, bh_address *out, uint16_t home_chain,
                           const bh_bytes32 *home_token, uint64_t block)
{
    return bh_evm_chain_wrapped_for(impl, out, home_chain, home_token, block);
}

static int evm_total_supply(void *impl, bh_u256 *out, const bh_address *token, uint64_t block)
{
    return bh_evm_chain_total_supply(impl, out, token, block);
}

static int evm_custody(void *impl, bh_u256 *out, const bh_address *token, uint64_t block)
{
    return bh_evm_chain_custody(impl, out, token, block);
}

static int evm_portal_outstanding(void *impl, bh_u256 *out, const bh_address *token,
                                  uint16_t remote, uint64_t block)
{
    return bh_evm_chain_portal_outstanding(impl, out, token, remote, block);
}

static int evm_price_feed(void *impl, bh_chain_price_round *out, const bh_address *feed,
                          uint64_t block)
{
    return bh_evm_chain_price_feed(impl, out, feed, block);
}

static size_t evm_pins(const void *impl, bh_wrapped_pin *out, size_t cap)
{
    return bh_evm_chain_pins(impl, out, cap);
}

/* ---- destination side ---- */

#define SENDER_EPS 16

typedef struct {
    bh_attest *ctx;
    bh_rpc *ep; /* eps[0] */
    bh_rpc *eps[SENDER_EPS];
    size_t n_eps;
    bh_evm_sender *sender;
    bh_address portal;
} evm_sender;

static void evm_sender_destroy(void *p)
{
    evm_sender *s = p;
    if (!s) return;
    bh_evm_sender_destroy(s->sender);
    for (size_t i = 0; i < s->n_eps; i++)
        bh_rpc_destroy(s->eps[i]);
    bh_attest_destroy(s->ctx);
    free(s);
}

static int evm_sender_create(void **out, const bh_chain_sender_config *cfg)
{
    if (out) *out = NULL;
    if (!out || !cfg || (!cfg->url && !cfg->n_urls) || !cfg->tx_key || cfg->n_urls > SENDER_EPS)
        return BH_EINVAL;
    evm_sender *s = calloc(1, sizeof *s);
    if (!s) return BH_ENOMEM;
    s->portal = cfg->portal;
    s->ctx = bh_attest_create();
    size_t n = cfg->n_urls ? cfg->n_urls : 1;
    int rc = s->ctx ? BH_OK : BH_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        bh_rpc_options ro = {.url = cfg->n_urls ? cfg->urls[i] : cfg->url,
                             .timeout_ms = cfg->timeout_ms,
                             /* with another endpoint to fail over to, one
                              * attempt each: a hung endpoint costs one timeout */
                             .max_retries = n > 1 ? 0 : cfg->retries,
                             .log = cfg->log,
                             .log_ud = cfg->log_ud,
                             .log_min = cfg->log_min};
        rc = bh_rpc_create(&s->eps[i], &ro);
        if (!rc) s->n_eps++;
    }
    s->ep = s->eps[0];
    /* receipts polled every 10 ms: a delivery waits for its own */
    bh_evm_sender_options so = {.chain_id = cfg->chain_id,
                                .gas_cap = cfg->gas_cap,
                                .max_fee_cap = cfg->max_fee,
                                .poll_ms = 10};
    if (!rc) rc = bh_evm_sender_create(&s->sender, s->ep, s->ctx, cfg->tx_key, &so);
    for (size_t i = 1; i < s->n_eps && !rc; i++)
        rc = bh_evm_sender_add_endpoint(s->sender, s->eps[i]);
    if (rc) {
        evm_sender_destroy(s);
        return rc;
    }
    *out = s;
    return BH_OK;
}

static int evm_submit(void *p, bh_chain_outcome *outcome, unsigned *approvals,
                      const unsigned char *vaa, size_t vaa_len)
{
    evm_sender *s = p;
    bh_submit_outcome o = BH_SUBMIT_APPROVED;
    int rc = bh_portal_submit(s->sender, &o, approvals, &s->portal, vaa, vaa_len);
    *outcome = o == BH_SUBMIT_EXECUTED   ? BH_CHAIN_EXECUTED
               : o == BH_SUBMIT_APPROVED ? BH_CHAIN_APPROVED
                                         : BH_CHAIN_ALREADY_DONE;
    return rc;
}

static bh_chain_outcome chain_outcome(bh_submit_outcome o)
{
    return o == BH_SUBMIT_EXECUTED   ? BH_CHAIN_EXECUTED
           : o == BH_SUBMIT_APPROVED ? BH_CHAIN_APPROVED
                                     : BH_CHAIN_ALREADY_DONE;
}

typedef struct {
    bh_evm_pending p;
    bh_hash32 digest;
    bh_hash32 *digests; /* a batch's, heap */
    size_t n;
} evm_tx;

static int evm_send(void *ps, void **tx, bh_chain_outcome *outcome, const unsigned char *vaa,
                    size_t vaa_len)
{
    evm_sender *s = ps;
    *tx = NULL;
    *outcome = BH_CHAIN_APPROVED;
    evm_tx *t = calloc(1, sizeof *t);
    if (!t) return BH_ENOMEM;
    int sent = 0;
    bh_submit_outcome o = BH_SUBMIT_APPROVED;
    int rc =
        bh_portal_submit_send(s->sender, &t->p, &sent, &o, &t->digest, &s->portal, vaa, vaa_len);
    *outcome = chain_outcome(o);
    if (rc == BH_OK && sent) {
        *tx = t;
        return BH_OK;
    }
    bh_evm_pending_clear(&t->p);
    free(t);
    return rc;
}

static int evm_send_batch(void *ps, void **tx, const unsigned char *const *vaas, const size_t *lens,
                          size_t n)
{
    evm_sender *s = ps;
    *tx = NULL;
    evm_tx *t = calloc(1, sizeof *t);
    if (t) t->digests = calloc(n ? n : 1, sizeof *t->digests);
    if (!t || !t->digests) {
        free(t);
        return BH_ENOMEM;
    }
    t->n = n;
    int rc = bh_portal_batch_send(s->sender, &t->p, t->digests, &s->portal, vaas, lens, n);
    if (rc == BH_OK) {
        *tx = t;
        return BH_OK;
    }
    bh_evm_pending_clear(&t->p);
    free(t->digests);
    free(t);
    return rc;
}

static int evm_poll_batch(void *ps, void *tx, bh_chain_batch_item *items, size_t n)
{
    evm_sender *s = ps;
    evm_tx *t = tx;
    memset(items, 0, n * sizeof *items);
    if (n != t->n) return BH_EINVAL;
    bh_portal_batch_item *bi = calloc(n, sizeof *bi);
    if (!bi) return BH_ENOMEM;
    int rc = bh_portal_batch_check(s->sender, &t->p, bi, &s->portal, t->digests, n);
    for (size_t i = 0; rc == BH_OK && i < n; i++) {
        items[i].outcome = chain_outcome(bi[i].outcome);
        items[i].approvals = bi[i].approvals;
        items[i].failed = bi[i].failed;
        memcpy(items[i].why, bi[i].why, sizeof items[i].why);
    }
    free(bi);
    return rc;
}

static void evm_poll_begin(void *ps)
{
    bh_evm_sender_tick(((evm_sender *)ps)->sender);
}

static int evm_poll(void *ps, void *tx, bh_chain_outcome *outcome, unsigned *approvals)
{
    evm_sender *s = ps;
    evm_tx *t = tx;
    bh_submit_outcome o = BH_SUBMIT_APPROVED;
    int rc = bh_portal_submit_check(s->sender, &t->p, &o, approvals, &s->portal, &t->digest);
    *outcome = chain_outcome(o);
    return rc;
}

static void evm_tx_info(const void *tx, bh_chain_tx_info *out)
{
    const evm_tx *t = tx;
    memset(out, 0, sizeof *out);
    out->nonce = t->p.nonce;
    if (t->p.n_hashes) out->tx_hash = t->p.hashes[t->p.n_hashes - 1];
    out->max_fee = t->p.tx.max_fee;
    out->tip = t->p.tx.max_priority_fee;
    out->bumps = t->p.bumps;
    out->cancelling = t->p.cancelling;
}

static void evm_tx_free(void *tx)
{
    evm_tx *t = tx;
    if (!t) return;
    bh_evm_pending_clear(&t->p);
    free(t->digests);
    free(t);
}

static void evm_sender_health(void *ps, size_t i, int healthy)
{
    evm_sender *s = ps;
    bh_evm_sender_set_unhealthy(s->sender, i, !healthy);
}

static const char *evm_last_error(void *p)
{
    return bh_evm_sender_last_error(((evm_sender *)p)->sender);
}

static int evm_executed_mask(void *p, unsigned char bits[32], const bh_hash32 *digests, size_t n)
{
    evm_sender *s = p;
    return bh_portal_executed_mask(bh_evm_sender_rpc(s->sender), bits, &s->portal, digests, n);
}

static int evm_wallet(void *p, bh_u256 *out)
{
    evm_sender *s = p;
    memset(out, 0, sizeof *out);
    char addr[43];
    bh_rpc_format_hex(addr, bh_evm_sender_address(s->sender)->data, 20);
    json_t *params = json_pack("[ss]", addr, "latest"), *res = NULL;
    int rc = params ? bh_rpc_call(bh_evm_sender_rpc(s->sender), &res, "eth_getBalance", params)
                    : BH_ENOMEM;
    if (rc == BH_OK) rc = bh_rpc_read_u256(out, res);
    json_decref(res);
    json_decref(params);
    return rc;
}

static int evm_attester(void *p, uint32_t *set_index, bh_address *attester, unsigned index)
{
    evm_sender *s = p;
    return bh_portal_attester(bh_evm_sender_rpc(s->sender), set_index, attester, &s->portal, index);
}

static int evm_vote_send(void *ps, void **tx, uint16_t chain, uint64_t round, int curse,
                         const char *reason, const unsigned char *sigs, size_t sigs_len)
{
    evm_sender *s = ps;
    *tx = NULL;
    evm_tx *t = calloc(1, sizeof *t);
    if (!t) return BH_ENOMEM;
    int rc = bh_portal_vote_send(s->sender, &t->p, &s->portal, chain, round, curse, reason, sigs,
                                 sigs_len);
    if (rc == BH_OK) {
        *tx = t;
        return BH_OK;
    }
    bh_evm_pending_clear(&t->p);
    free(t);
    return rc;
}

static int evm_vote_poll(void *ps, void *tx)
{
    evm_sender *s = ps;
    evm_tx *t = tx;
    bh_evm_receipt r;
    memset(&r, 0, sizeof r);
    int rc = bh_evm_sender_check(s->sender, &t->p, &r);
    if (rc == BH_OK) bh_evm_receipt_clear(&r);
    return rc;
}

const bh_chain_backend bh_chain_backend_evm = {
    .kind = "evm",
    .create = evm_create,
    .destroy = evm_destroy,
    .watch = {.kind = "evm",
              .verify = evm_verify,
              .finalized = evm_finalized,
              .block_hash = evm_block_hash,
              .fetch = evm_fetch},
    .expect_sequence = evm_expect_sequence,
    .head = evm_head,
    .last_split = evm_last_split,
    .fetch_tx = evm_fetch_tx,
    .portal_controls = evm_portal_controls,
    .portal_sequence = evm_portal_sequence,
    .endpoint_count = evm_endpoint_count,
    .endpoint_url = evm_endpoint_url,
    .endpoint_health = evm_endpoint_health,
    .wrapped_for = evm_wrapped_for,
    .total_supply = evm_total_supply,
    .custody = evm_custody,
    .portal_outstanding = evm_portal_outstanding,
    .price_feed = evm_price_feed,
    .pins = evm_pins,
    .sender_create = evm_sender_create,
    .sender_destroy = evm_sender_destroy,
    .submit = evm_submit,
    .last_error = evm_last_error,
    .send = evm_send,
    .send_batch = evm_send_batch,
    .poll_batch = evm_poll_batch,
    .executed_mask = evm_executed_mask,
    .poll_begin = evm_poll_begin,
    .poll = evm_poll,
    .tx_info = evm_tx_info,
    .tx_free = evm_tx_free,
    .sender_health = evm_sender_health,
    .wallet = evm_wallet,
    .attester = evm_attester,
    .vote_send = evm_vote_send,
    .vote_poll = evm_vote_poll,
};

/* The one place a chain kind is chosen. */
const bh_chain_backend *bh_chain_backend_by_kind(const char *kind)
{
    static const bh_chain_backend *const all[] = {&bh_chain_backend_evm};
    for (size_t i = 0; kind && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i]->kind, kind)) return all[i];
    return NULL;
}
