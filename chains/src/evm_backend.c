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

static size_t evm_pins(const void *impl, bh_wrapped_pin *out, size_t cap)
{
    return bh_evm_chain_pins(impl, out, cap);
}

/* ---- destination side ---- */

typedef struct {
    bh_attest *ctx;
    bh_rpc *ep;
    bh_evm_sender *sender;
    bh_address portal;
} evm_sender;

static void evm_sender_destroy(void *p)
{
    evm_sender *s = p;
    if (!s) return;
    bh_evm_sender_destroy(s->sender);
    bh_rpc_destroy(s->ep);
    bh_attest_destroy(s->ctx);
    free(s);
}

static int evm_sender_create(void **out, const bh_chain_sender_config *cfg)
{
    if (out) *out = NULL;
    if (!out || !cfg || !cfg->url || !cfg->tx_key) return BH_EINVAL;
    evm_sender *s = calloc(1, sizeof *s);
    if (!s) return BH_ENOMEM;
    s->portal = cfg->portal;
    s->ctx = bh_attest_create();
    bh_rpc_options ro = {.url = cfg->url,
                         .timeout_ms = cfg->timeout_ms,
                         .max_retries = cfg->retries,
                         .log = cfg->log,
                         .log_ud = cfg->log_ud,
                         .log_min = cfg->log_min};
    int rc = s->ctx ? bh_rpc_create(&s->ep, &ro) : BH_ENOMEM;
    /* receipts polled every 10 ms: a delivery waits for its own */
    bh_evm_sender_options so = {.chain_id = cfg->chain_id,
                                .gas_cap = cfg->gas_cap,
                                .max_fee_cap = cfg->max_fee,
                                .poll_ms = 10};
    if (!rc) rc = bh_evm_sender_create(&s->sender, s->ep, s->ctx, cfg->tx_key, &so);
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

static const char *evm_last_error(void *p)
{
    return bh_evm_sender_last_error(((evm_sender *)p)->sender);
}

static int evm_wallet(void *p, bh_u256 *out)
{
    evm_sender *s = p;
    memset(out, 0, sizeof *out);
    char addr[43];
    bh_rpc_format_hex(addr, bh_evm_sender_address(s->sender)->data, 20);
    json_t *params = json_pack("[ss]", addr, "latest"), *res = NULL;
    int rc = params ? bh_rpc_call(s->ep, &res, "eth_getBalance", params) : BH_ENOMEM;
    if (rc == BH_OK) rc = bh_rpc_read_u256(out, res);
    json_decref(res);
    json_decref(params);
    return rc;
}

static int evm_attester(void *p, uint32_t *set_index, bh_address *attester, unsigned index)
{
    evm_sender *s = p;
    return bh_portal_attester(s->ep, set_index, attester, &s->portal, index);
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
    .endpoint_count = evm_endpoint_count,
    .endpoint_url = evm_endpoint_url,
    .endpoint_health = evm_endpoint_health,
    .wrapped_for = evm_wrapped_for,
    .total_supply = evm_total_supply,
    .custody = evm_custody,
    .portal_outstanding = evm_portal_outstanding,
    .pins = evm_pins,
    .sender_create = evm_sender_create,
    .sender_destroy = evm_sender_destroy,
    .submit = evm_submit,
    .last_error = evm_last_error,
    .wallet = evm_wallet,
    .attester = evm_attester,
};

/* The one place a chain kind is chosen. */
const bh_chain_backend *bh_chain_backend_by_kind(const char *kind)
{
    static const bh_chain_backend *const all[] = {&bh_chain_backend_evm};
    for (size_t i = 0; kind && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i]->kind, kind)) return all[i];
    return NULL;
}
