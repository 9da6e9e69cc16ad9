#include "bh_evm_sender.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_evm_tx.h"

#define DEFAULT_GAS_CAP 10000000u
#define DEFAULT_MAX_FEE_CAP 1000000000000ull /* 1000 gwei */
#define DEFAULT_TIP 1000000000ull            /* 1 gwei, if the node cannot say */
#define MAX_BUMPS 8
#define MAX_RETURN (64u * 1024)

#define MAX_EPS 16

struct bh_evm_sender {
    bh_rpc *ep; /* eps[cur] */
    bh_rpc *eps[MAX_EPS];
    int unhealthy[MAX_EPS]; /* by the owner's judgement (the read side) */
    int checked[MAX_EPS];   /* its chain id: 1 ours, -1 another, 0 not asked yet */
    size_t n_eps, cur;
    uint64_t latest_nonce, latest_at_ms; /* eth_getTransactionCount(latest), cached */
    uint64_t head, head_gen;             /* bh_evm_sender_tick: the head, bumped when it moves */
    int ticked;
    const bh_attest *ctx;
    bh_seckey key;
    bh_address addr;
    bh_evm_sender_options opt;
    uint64_t nonce;
    int nonce_known;
    int no_access_list; /* the endpoints do not serve eth_createAccessList */
    char last_error[320];
};

static void set_err(bh_evm_sender *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(bh_evm_sender *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->last_error, sizeof s->last_error, fmt, ap);
    va_end(ap);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

void bh_evm_receipt_clear(bh_evm_receipt *r)
{
    if (!r) return;
    json_decref(r->logs);
    memset(r, 0, sizeof *r);
}

int bh_evm_sender_create(bh_evm_sender **out, bh_rpc *ep, const bh_attest *ctx,
                         const bh_seckey *key, const bh_evm_sender_options *opt)
{
    if (out) *out = NULL;
    if (!out || !ep || !ctx || !key || !opt || opt->chain_id == 0) return BH_EINVAL;
    bh_evm_sender *s = calloc(1, sizeof *s);
    if (!s) return BH_ENOMEM;
    s->ep = ep;
    s->eps[0] = ep;
    s->n_eps = 1;
    s->ctx = ctx;
    s->key = *key;
    s->opt = *opt;
    if (!s->opt.gas_cap) s->opt.gas_cap = DEFAULT_GAS_CAP;
    if (!s->opt.max_fee_cap) s->opt.max_fee_cap = DEFAULT_MAX_FEE_CAP;
    if (!s->opt.receipt_timeout_ms) s->opt.receipt_timeout_ms = 60000;
    if (!s->opt.bump_after_ms) s->opt.bump_after_ms = 10000;
    if (!s->opt.poll_ms) s->opt.poll_ms = 50;
    int rc = bh_attest_address(ctx, &s->addr, &s->key);
    if (rc != BH_OK) {
        bh_evm_sender_destroy(s);
        return rc;
    }
    *out = s;
    return BH_OK;
}

void bh_evm_sender_destroy(bh_evm_sender *s)
{
    if (!s) return;
    bh_seckey_clear(&s->key);
    free(s);
}

const bh_address *bh_evm_sender_address(const bh_evm_sender *s)
{
    return &s->addr;
}

bh_rpc *bh_evm_sender_rpc(bh_evm_sender *s)
{
    return s->ep;
}

const char *bh_evm_sender_last_error(const bh_evm_sender *s)
{
    return s->last_error;
}

uint64_t bh_evm_sender_next_nonce(const bh_evm_sender *s)
{
    return s->nonce;
}

static json_t *hex_json(const unsigned char *data, size_t len)
{
    char *buf = malloc(2 * len + 3);
    if (!buf) return NULL;
    bh_rpc_format_hex(buf, data, len);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

/* Call and take ownership of params. */
static int call(bh_rpc *ep, json_t **res, const char *method, json_t *params)
{
    if (!params) return BH_ENOMEM;
    int rc = bh_rpc_call(ep, res, method, params);
    json_decref(params);
    return rc;
}

static int transport_error(int rc)
{
    return rc == BH_ETIMEOUT || rc == BH_EHTTP || rc == BH_EPROTO || rc == BH_ETOOBIG;
}

static void use_endpoint(bh_evm_sender *s, size_t i)
{
    s->cur = i;
    s->ep = s->eps[i];
}

/* Before a send: leave an endpoint the owner marked unhealthy for the
 * first one not marked. */
static void prefer_healthy(bh_evm_sender *s)
{
    if (!s->unhealthy[s->cur]) return;
    for (size_t k = 1; k < s->n_eps; k++) {
        size_t i = (s->cur + k) % s->n_eps;
        if (!s->unhealthy[i] && s->checked[i] != -1) {
            use_endpoint(s, i);
            return;
        }
    }
}

/* With several endpoints, each is asked its chain id before its first use:
 * one serving another chain never gets a transaction (nor is believed
 * about receipts or nonces). 1 usable, 0 not (or not reachable now). */
static int endpoint_ok(bh_evm_sender *s, size_t i)
{
    if (s->n_eps == 1 || s->checked[i] == 1) return 1;
    if (s->checked[i] == -1) return 0;
    json_t *res = NULL, *params = json_array();
    uint64_t id = 0;
    int rc = params ? bh_rpc_call(s->eps[i], &res, "eth_chainId", params) : BH_ENOMEM;
    if (rc == BH_OK && bh_rpc_read_quantity(&id, res) == BH_OK)
        s->checked[i] = id == s->opt.chain_id ? 1 : -1;
    json_decref(res);
    json_decref(params);
    return s->checked[i] == 1;
}

/* call() on the current endpoint, then on each other one while the
 * failure is the transport's: the one that answered stays current. */
static int scall(bh_evm_sender *s, json_t **res, const char *method, json_t *params)
{
    if (!params) return BH_ENOMEM;
    int rc = BH_ECHAINID; /* no endpoint serves our chain */
    size_t from = s->cur;
    for (size_t k = 0; k < s->n_eps; k++) {
        size_t i = (from + k) % s->n_eps;
        if (!endpoint_ok(s, i)) continue;
        use_endpoint(s, i);
        *res = NULL;
        rc = bh_rpc_call(s->ep, res, method, params);
        if (!transport_error(rc)) break;
        json_decref(*res);
        *res = NULL;
    }
    json_decref(params);
    return rc;
}

int bh_evm_sender_add_endpoint(bh_evm_sender *s, bh_rpc *ep)
{
    if (!s || !ep) return BH_EINVAL;
    if (s->n_eps == MAX_EPS) return BH_ENOSPC;
    s->eps[s->n_eps++] = ep;
    return BH_OK;
}

void bh_evm_sender_set_unhealthy(bh_evm_sender *s, size_t i, int unhealthy)
{
    if (s && i < s->n_eps) s->unhealthy[i] = unhealthy != 0;
}

size_t bh_evm_sender_current(const bh_evm_sender *s)
{
    return s->cur;
}

int bh_evm_sender_sync_nonce(bh_evm_sender *s)
{
    json_t *res = NULL;
    int rc = scall(s, &res, "eth_getTransactionCount",
                   json_pack("[o,s]", hex_json(s->addr.data, 20), "pending"));
    if (rc == BH_OK) {
        uint64_t n;
        rc = bh_rpc_read_quantity(&n, res);
        if (rc == BH_OK) {
            s->nonce = n;
            s->nonce_known = 1;
        }
    }
    if (rc != BH_OK) set_err(s, "nonce: %s", bh_rpc_last_error(s->ep));
    json_decref(res);
    return rc;
}

static int is_revert(bh_rpc *ep)
{
    const char *m = bh_rpc_last_error(ep);
    return bh_rpc_last_rpc_code(ep) == 3 || strstr(m, "revert") != NULL;
}

int bh_evm_call(bh_rpc *ep, unsigned char **ret, size_t *ret_len, const bh_address *to,
                const unsigned char *data, size_t data_len)
{
    if (ret) *ret = NULL;
    if (ret_len) *ret_len = 0;
    if (!ep || !ret || !ret_len || !to || (data_len && !data)) return BH_EINVAL;
    json_t *res = NULL;
    int rc = call(ep, &res, "eth_call",
                  json_pack("[{s:o,s:o},s]", "to", hex_json(to->data, 20), "data",
                            hex_json(data, data_len), "latest"));
    if (rc == BH_ERPC && is_revert(ep)) rc = BH_EREVERTED;
    if (rc == BH_OK) rc = bh_rpc_read_data(ret, ret_len, res, MAX_RETURN);
    json_decref(res);
    return rc;
}

/* The call as a transaction object from our address, for the estimates. */
static json_t *call_json(const bh_evm_sender *s, const bh_address *to, const bh_u256 *value,
                         const unsigned char *data, size_t len)
{
    json_t *tx =
        json_pack("{s:o,s:o}", "from", hex_json(s->addr.data, 20), "data", hex_json(data, len));
    if (tx && to) json_object_set_new(tx, "to", hex_json(to->data, 20));
    if (tx && value) json_object_set_new(tx, "value", hex_json(value->be, 32));
    return tx;
}

static int estimate(bh_evm_sender *s, uint64_t *gas, const bh_address *to, const bh_u256 *value,
                    const unsigned char *data, size_t len)
{
    json_t *tx = call_json(s, to, value, data, len);
    if (!tx) return BH_ENOMEM;
    json_t *res = NULL;
    int rc = scall(s, &res, "eth_estimateGas", json_pack("[o]", tx));
    if (rc == BH_OK) rc = bh_rpc_read_quantity(gas, res);
    json_decref(res);
    if (rc == BH_ERPC && is_revert(s->ep)) {
        set_err(s, "%s", bh_rpc_last_error(s->ep));
        return BH_EREVERTED;
    }
    if (rc != BH_OK) set_err(s, "estimate: %s", bh_rpc_last_error(s->ep));
    return rc;
}

/* The gas one run of the call uses, from eth_createAccessList: a single
 * execution, where eth_estimateGas searches with many (a batch of many
 * signature checks costs that many times over). An endpoint without the
 * method is asked eth_estimateGas. The figure is for the call with its
 * access list; without it cold reads cost a little more, which the
 * caller's margin covers. */
static int estimate_once(bh_evm_sender *s, uint64_t *gas, const bh_address *to,
                         const bh_u256 *value, const unsigned char *data, size_t len)
{
    if (s->no_access_list) return estimate(s, gas, to, value, data, len);
    json_t *tx = call_json(s, to, value, data, len);
    if (!tx) return BH_ENOMEM;
    json_t *res = NULL;
    int rc = scall(s, &res, "eth_createAccessList", json_pack("[o,s]", tx, "latest"));
    const char *err = json_string_value(json_object_get(res, "error"));
    if (rc == BH_OK && err) { /* some clients answer a revert in the result */
        set_err(s, "%s", err);
        json_decref(res);
        return BH_EREVERTED;
    }
    if (rc == BH_OK) rc = bh_rpc_read_quantity(gas, json_object_get(res, "gasUsed"));
    json_decref(res);
    if (rc == BH_ERPC && is_revert(s->ep)) {
        set_err(s, "%s", bh_rpc_last_error(s->ep));
        return BH_EREVERTED;
    }
    if (rc == BH_ERPC || rc == BH_EPROTO) { /* not served here: the search, from now on */
        s->no_access_list = 1;
        return estimate(s, gas, to, value, data, len);
    }
    if (rc != BH_OK) set_err(s, "estimate: %s", bh_rpc_last_error(s->ep));
    return rc;
}

static int fees(bh_evm_sender *s, uint64_t *tip, uint64_t *max_fee)
{
    json_t *res = NULL;
    *tip = s->opt.priority_fee;
    if (!*tip) {
        if (scall(s, &res, "eth_maxPriorityFeePerGas", json_array()) != BH_OK ||
            bh_rpc_read_quantity(tip, res) != BH_OK)
            *tip = DEFAULT_TIP;
        json_decref(res);
        res = NULL;
    }
    int rc = scall(s, &res, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    uint64_t base = 0;
    if (rc == BH_OK) rc = bh_rpc_member_quantity(&base, res, "baseFeePerGas");
    json_decref(res);
    if (rc != BH_OK) {
        set_err(s, "base fee: %s", bh_rpc_last_error(s->ep));
        return rc;
    }
    uint64_t mf = base > (UINT64_MAX - *tip) / 2 ? UINT64_MAX : 2 * base + *tip;
    if (mf > s->opt.max_fee_cap) mf = s->opt.max_fee_cap;
    if (*tip > mf) *tip = mf;
    *max_fee = mf;
    return BH_OK;
}

static int send_raw(bh_evm_sender *s, const unsigned char *raw, size_t raw_len)
{
    json_t *res = NULL;
    int rc = scall(s, &res, "eth_sendRawTransaction", json_pack("[o]", hex_json(raw, raw_len)));
    json_decref(res);
    if (rc == BH_ERPC) {
        const char *m = bh_rpc_last_error(s->ep);
        if (strstr(m, "already known") || strstr(m, "AlreadyKnown")) return BH_OK;
        set_err(s, "send: %s", m);
        if (strstr(m, "nonce too low") || strstr(m, "NonceTooLow")) return BH_ESTATE;
        if (strstr(m, "underpriced")) return BH_EBUSY;
    } else if (rc != BH_OK) {
        set_err(s, "send: %s", bh_rpc_last_error(s->ep));
    }
    return rc;
}

/* Sign and broadcast; the signed bytes go to *keep (heap) if asked. */
static int broadcast_keep(bh_evm_sender *s, bh_hash32 *hash, const bh_evm_tx *tx,
                          unsigned char **keep, size_t *keep_len)
{
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    int rc = bh_evm_tx_sign(s->ctx, &raw, &raw_len, hash, tx, &s->key);
    if (rc != BH_OK) return rc;
    rc = send_raw(s, raw, raw_len);
    if (rc == BH_OK && keep) {
        free(*keep);
        *keep = raw;
        *keep_len = raw_len;
    } else {
        free(raw);
    }
    return rc;
}

static int broadcast(bh_evm_sender *s, bh_hash32 *hash, const bh_evm_tx *tx)
{
    return broadcast_keep(s, hash, tx, NULL, NULL);
}

/* Returns BH_OK with the receipt, BH_ENOTFOUND while pending. */
/* Returns BH_OK with the receipt, BH_ENOTFOUND while pending; from endpoint
 * `only` if given, else the current one (with failover). */
static int get_receipt_on(bh_evm_sender *s, bh_rpc *only, bh_evm_receipt *r, int *status,
                          const bh_hash32 *h)
{
    json_t *res = NULL;
    int rc =
        only
            ? call(only, &res, "eth_getTransactionReceipt", json_pack("[o]", hex_json(h->data, 32)))
            : scall(s, &res, "eth_getTransactionReceipt", json_pack("[o]", hex_json(h->data, 32)));
    if (rc != BH_OK) {
        json_decref(res);
        return rc;
    }
    if (json_is_null(res)) {
        json_decref(res);
        return BH_ENOTFOUND;
    }
    uint64_t st = 0;
    memset(r, 0, sizeof *r);
    rc = bh_rpc_member_quantity(&st, res, "status");
    if (rc == BH_OK) rc = bh_rpc_member_quantity(&r->block_number, res, "blockNumber");
    if (rc == BH_OK) rc = bh_rpc_member_quantity(&r->gas_used, res, "gasUsed");
    json_t *ca = json_object_get(res, "contractAddress");
    if (rc == BH_OK && ca && !json_is_null(ca)) rc = bh_rpc_read_address(&r->contract, ca);
    json_t *logs = json_object_get(res, "logs");
    if (rc == BH_OK && !json_is_array(logs)) rc = BH_EPROTO;
    if (rc == BH_OK) {
        r->logs = json_incref(logs);
        r->tx_hash = *h;
        *status = st == 1;
    } else {
        set_err(s, "receipt: malformed answer from %s", bh_rpc_url(only ? only : s->ep));
    }
    json_decref(res);
    return rc;
}

static int get_receipt(bh_evm_sender *s, bh_evm_receipt *r, int *status, const bh_hash32 *h)
{
    return get_receipt_on(s, NULL, r, status, h);
}

int bh_evm_sender_send(bh_evm_sender *s, bh_evm_receipt *receipt, const bh_address *to,
                       const bh_u256 *value, const unsigned char *data, size_t data_len)
{
    return bh_evm_sender_send_gas(s, receipt, to, value, data, data_len, 0);
}

int bh_evm_sender_send_gas(bh_evm_sender *s, bh_evm_receipt *receipt, const bh_address *to,
                           const bh_u256 *value, const unsigned char *data, size_t data_len,
                           uint64_t min_gas)
{
    if (receipt) memset(receipt, 0, sizeof *receipt);
    if (!s || (data_len && !data)) return BH_EINVAL;
    s->last_error[0] = '\0';
    int rc;
    if (!s->nonce_known && (rc = bh_evm_sender_sync_nonce(s)) != BH_OK) return rc;

    uint64_t gas = 0;
    rc = estimate(s, &gas, to, value, data, data_len);
    if (rc != BH_OK) return rc;
    if (gas > s->opt.gas_cap) {
        set_err(s, "gas estimate %llu above cap %llu", (unsigned long long)gas,
                (unsigned long long)s->opt.gas_cap);
        return BH_ERANGE;
    }
    gas += gas / 4; /* headroom: state may move between estimate and inclusion */
    if (gas < min_gas) gas = min_gas;
    if (gas > s->opt.gas_cap) gas = s->opt.gas_cap;

    bh_evm_tx tx = {.chain_id = s->opt.chain_id,
                    .gas_limit = gas,
                    .has_to = to != NULL,
                    .data = data,
                    .data_len = data_len};
    if (to) tx.to = *to;
    if (value) tx.value = *value;
    rc = fees(s, &tx.max_priority_fee, &tx.max_fee);
    if (rc != BH_OK) return rc;

    bh_hash32 sent[MAX_BUMPS + 1];
    unsigned n_sent = 0;
    for (int attempt = 0;; attempt++) {
        tx.nonce = s->nonce;
        rc = broadcast(s, &sent[0], &tx);
        if (rc == BH_ESTATE && attempt == 0 && bh_evm_sender_sync_nonce(s) == BH_OK) continue;
        if (rc != BH_OK) {
            s->nonce_known = 0;
            return rc;
        }
        break;
    }
    n_sent = 1;
    s->nonce++;

    uint64_t start = now_ms(), last_send = start;
    for (;;) {
        for (unsigned i = n_sent; i-- > 0;) {
            bh_evm_receipt r;
            int ok = 0;
            rc = get_receipt(s, &r, &ok, &sent[i]);
            if (rc == BH_ENOTFOUND) continue;
            if (rc != BH_OK) break; /* transport trouble: keep polling */
            r.bumps = n_sent - 1;
            if (!ok) {
                set_err(s, "transaction reverted in block %llu",
                        (unsigned long long)r.block_number);
                bh_evm_receipt_clear(&r);
                return BH_EREVERTED;
            }
            if (receipt)
                *receipt = r;
            else
                bh_evm_receipt_clear(&r);
            return BH_OK;
        }
        uint64_t now = now_ms();
        if (now - start >= s->opt.receipt_timeout_ms) {
            set_err(s, "not mined within %u ms", s->opt.receipt_timeout_ms);
            s->nonce_known = 0;
            return BH_ETIMEOUT;
        }
        if (now - last_send >= s->opt.bump_after_ms && n_sent <= MAX_BUMPS &&
            tx.max_fee < s->opt.max_fee_cap) {
            /* Replacement needs at least +10% on both fees. */
            uint64_t tip = tx.max_priority_fee + tx.max_priority_fee / 8 + 1;
            uint64_t mf = tx.max_fee + tx.max_fee / 8 + 1;
            if (mf > s->opt.max_fee_cap) mf = s->opt.max_fee_cap;
            if (tip > mf) tip = mf;
            bh_evm_tx bumped = tx;
            bumped.max_priority_fee = tip;
            bumped.max_fee = mf;
            bh_hash32 h;
            int brc = broadcast(s, &h, &bumped);
            if (brc == BH_OK) {
                tx = bumped;
                sent[n_sent++] = h;
            }
            last_send = now;
        }
        sleep_ms(s->opt.poll_ms);
    }
}

/* ---- pipelined sending ---- */

void bh_evm_pending_clear(bh_evm_pending *p)
{
    if (!p) return;
    free(p->raw);
    free(p->data);
    memset(p, 0, sizeof *p);
}

int bh_evm_sender_begin(bh_evm_sender *s, bh_evm_pending *p, const bh_address *to,
                        const bh_u256 *value, const unsigned char *data, size_t data_len,
                        uint64_t min_gas)
{
    return bh_evm_sender_begin_extra(s, p, to, value, data, data_len, min_gas, 0);
}

int bh_evm_sender_begin_extra(bh_evm_sender *s, bh_evm_pending *p, const bh_address *to,
                              const bh_u256 *value, const unsigned char *data, size_t data_len,
                              uint64_t min_gas, uint64_t extra_gas)
{
    if (p) memset(p, 0, sizeof *p);
    if (!s || !p || (data_len && !data)) return BH_EINVAL;
    s->last_error[0] = '\0';
    prefer_healthy(s);
    int rc;
    if (!s->nonce_known && (rc = bh_evm_sender_sync_nonce(s)) != BH_OK) return rc;
    uint64_t gas = 0;
    rc = extra_gas ? estimate_once(s, &gas, to, value, data, data_len)
                   : estimate(s, &gas, to, value, data, data_len);
    if (rc != BH_OK) return rc;
    if (gas > s->opt.gas_cap) {
        set_err(s, "gas estimate %llu above cap %llu", (unsigned long long)gas,
                (unsigned long long)s->opt.gas_cap);
        return BH_ERANGE;
    }
    gas += gas / 4 + extra_gas;
    if (gas < min_gas) gas = min_gas;
    if (gas > s->opt.gas_cap) gas = s->opt.gas_cap;
    if (data_len) {
        p->data = malloc(data_len);
        if (!p->data) return BH_ENOMEM;
        memcpy(p->data, data, data_len);
    }
    bh_evm_tx *tx = &p->tx;
    *tx = (bh_evm_tx){.chain_id = s->opt.chain_id,
                      .gas_limit = gas,
                      .has_to = to != NULL,
                      .data = p->data,
                      .data_len = data_len};
    if (to) tx->to = *to;
    if (value) tx->value = *value;
    rc = fees(s, &tx->max_priority_fee, &tx->max_fee);
    for (int attempt = 0; rc == BH_OK; attempt++) {
        tx->nonce = s->nonce;
        rc = broadcast_keep(s, &p->hashes[0], tx, &p->raw, &p->raw_len);
        if (rc == BH_ESTATE && attempt == 0 && bh_evm_sender_sync_nonce(s) == BH_OK) {
            rc = BH_OK;
            continue;
        }
        break;
    }
    if (rc != BH_OK) {
        s->nonce_known = 0; /* the endpoint may have taken it: ask before the next */
        bh_evm_pending_clear(p);
        return rc;
    }
    s->nonce++;
    p->nonce = tx->nonce;
    p->n_hashes = 1;
    p->first_ms = p->last_send_ms = p->last_seen_ms = now_ms();
    return BH_OK;
}

/* The receipt of any version of p, from the current endpoint (or `only`).
 * Returns BH_OK (*which, *status set), BH_ENOTFOUND for none, a transport
 * error. */
static int receipt_on(bh_evm_sender *s, bh_rpc *only, bh_evm_pending *p, bh_evm_receipt *r,
                      int *status, unsigned *which)
{
    for (unsigned i = p->n_hashes; i-- > 0;) {
        int rc = get_receipt_on(s, only, r, status, &p->hashes[i]);
        if (rc == BH_ENOTFOUND) continue;
        if (rc == BH_OK) *which = i;
        return rc;
    }
    return BH_ENOTFOUND;
}

static int any_receipt(bh_evm_sender *s, bh_evm_pending *p, bh_evm_receipt *r, int *status,
                       unsigned *which)
{
    return receipt_on(s, NULL, p, r, status, which);
}

/* A receipt seen on any endpoint counts: asked of every other one of our
 * chain (an endpoint may hide what it mined). */
static int receipt_elsewhere(bh_evm_sender *s, bh_evm_pending *p, bh_evm_receipt *r, int *status,
                             unsigned *which)
{
    for (size_t i = 0; i < s->n_eps; i++) {
        if (i == s->cur || s->checked[i] != 1) continue;
        if (receipt_on(s, s->eps[i], p, r, status, which) == BH_OK) return BH_OK;
    }
    return BH_ENOTFOUND;
}

static int latest_nonce(bh_evm_sender *s, uint64_t *out)
{
    uint64_t now = now_ms();
    if (s->latest_at_ms && now - s->latest_at_ms < 500) {
        *out = s->latest_nonce;
        return BH_OK;
    }
    json_t *res = NULL;
    int rc = scall(s, &res, "eth_getTransactionCount",
                   json_pack("[o,s]", hex_json(s->addr.data, 20), "latest"));
    if (rc == BH_OK) rc = bh_rpc_read_quantity(out, res);
    json_decref(res);
    if (rc == BH_OK) {
        s->latest_nonce = *out;
        s->latest_at_ms = now;
    }
    return rc;
}

/* A new version of p at its nonce: fees up 1/8 (a replacement needs +10%
 * on both), within the cap; as a cancel if asked. */
static int replace(bh_evm_sender *s, bh_evm_pending *p, int cancel)
{
    if (p->n_hashes == BH_EVM_PENDING_HASHES) return BH_ENOSPC;
    bh_evm_tx t = p->tx;
    uint64_t tip = t.max_priority_fee + t.max_priority_fee / 8 + 1;
    uint64_t mf = t.max_fee + t.max_fee / 8 + 1;
    if (mf > s->opt.max_fee_cap) mf = s->opt.max_fee_cap;
    if (tip > mf) tip = mf;
    t.max_priority_fee = tip;
    t.max_fee = mf;
    if (cancel) {
        t.has_to = 1;
        t.to = s->addr;
        memset(&t.value, 0, sizeof t.value);
        t.data = NULL;
        t.data_len = 0;
        t.gas_limit = 21000;
    }
    bh_hash32 h;
    int rc = broadcast_keep(s, &h, &t, &p->raw, &p->raw_len);
    if (rc != BH_OK) return rc;
    p->tx = t;
    if (cancel) {
        p->cancelling = 1;
        p->cancel_from = p->n_hashes;
    }
    p->hashes[p->n_hashes++] = h;
    p->bumps++;
    p->last_send_ms = now_ms();
    return BH_OK;
}

static int mined(bh_evm_sender *s, bh_evm_pending *p, bh_evm_receipt *receipt, bh_evm_receipt *r,
                 int ok, unsigned which)
{
    r->bumps = p->bumps;
    if (p->cancelling && which >= p->cancel_from) {
        set_err(s, "cancelled: nonce %llu went to a 0-value self-transfer in block %llu",
                (unsigned long long)p->nonce, (unsigned long long)r->block_number);
        bh_evm_receipt_clear(r);
        return BH_ETIMEOUT;
    }
    if (!ok) {
        set_err(s, "transaction reverted in block %llu", (unsigned long long)r->block_number);
        bh_evm_receipt_clear(r);
        return BH_EREVERTED;
    }
    if (receipt)
        *receipt = *r;
    else
        bh_evm_receipt_clear(r);
    return BH_OK;
}

void bh_evm_sender_tick(bh_evm_sender *s)
{
    if (!s) return;
    json_t *res = NULL;
    uint64_t h = 0;
    if (scall(s, &res, "eth_blockNumber", json_array()) == BH_OK &&
        bh_rpc_read_quantity(&h, res) == BH_OK && h != s->head) {
        s->head = h;
        s->head_gen++;
    }
    json_decref(res);
    s->ticked = 1;
}

int bh_evm_sender_check(bh_evm_sender *s, bh_evm_pending *p, bh_evm_receipt *receipt)
{
    if (receipt) memset(receipt, 0, sizeof *receipt);
    if (!s || !p || !p->n_hashes) return BH_EINVAL;
    s->last_error[0] = '\0';
    bh_evm_receipt r;
    int ok = 0, rc;
    unsigned which = 0;
    uint64_t now = now_ms();
    if (!s->ticked || p->seen_gen != s->head_gen || now - p->last_look_ms >= 1000) {
        p->seen_gen = s->head_gen;
        p->last_look_ms = now;
        rc = any_receipt(s, p, &r, &ok, &which);
        if (rc == BH_OK) return mined(s, p, receipt, &r, ok, which);
        if (rc != BH_ENOTFOUND) {
            set_err(s, "receipt: %s", bh_rpc_last_error(s->ep));
            return rc;
        }
    }
    if (now - p->last_seen_ms >= 1000) {
        p->last_seen_ms = now;
        /* the other endpoints are asked once it is late (a bump is due),
         * not for every transaction every second */
        if (now - p->first_ms >= s->opt.bump_after_ms &&
            receipt_elsewhere(s, p, &r, &ok, &which) == BH_OK)
            return mined(s, p, receipt, &r, ok, which);
        uint64_t latest = 0;
        if (latest_nonce(s, &latest) == BH_OK && latest > p->nonce) {
            /* the nonce is used: by one of ours (mined meanwhile) or not */
            rc = any_receipt(s, p, &r, &ok, &which);
            if (rc == BH_ENOTFOUND) rc = receipt_elsewhere(s, p, &r, &ok, &which);
            if (rc == BH_OK) return mined(s, p, receipt, &r, ok, which);
            if (rc != BH_ENOTFOUND) return rc;
            set_err(s, "nonce %llu was taken by a transaction not of ours",
                    (unsigned long long)p->nonce);
            s->nonce_known = 0;
            return BH_ETIMEOUT;
        }
        json_t *res = NULL;
        rc = scall(s, &res, "eth_getTransactionByHash",
                   json_pack("[o]", hex_json(p->hashes[p->n_hashes - 1].data, 32)));
        int gone = rc == BH_OK && json_is_null(res);
        json_decref(res);
        if (gone) {
            /* dropped: not mined, not known; the next endpoint if again */
            if (p->drops++ && s->n_eps > 1) use_endpoint(s, (s->cur + 1) % s->n_eps);
            int brc = send_raw(s, p->raw, p->raw_len);
            if (brc == BH_ESTATE) s->nonce_known = 0;
            p->last_send_ms = now;
        }
    }
    if (!p->cancelling && now - p->first_ms >= s->opt.receipt_timeout_ms &&
        (!p->cancel_tried_ms || now - p->cancel_tried_ms >= s->opt.bump_after_ms)) {
        /* the endpoint did not get it mined: the cancel goes elsewhere; a
         * cancel refused (at the fee cap it cannot outbid) is tried again
         * on the bump schedule, not on every look */
        p->cancel_tried_ms = now;
        if (s->n_eps > 1) use_endpoint(s, (s->cur + 1) % s->n_eps);
        if (replace(s, p, 1) == BH_OK) return BH_EBUSY;
    }
    if (now - p->last_send_ms >= s->opt.bump_after_ms) {
        /* at the cap, out of bumps or refused: wait another period */
        if (p->bumps >= MAX_BUMPS || p->tx.max_fee >= s->opt.max_fee_cap ||
            replace(s, p, 0) != BH_OK)
            p->last_send_ms = now;
    }
    return BH_EBUSY;
}

int bh_evm_sender_call(bh_evm_sender *s, unsigned char **ret, size_t *ret_len, const bh_address *to,
                       const unsigned char *data, size_t data_len)
{
    if (!s) return BH_EINVAL;
    int rc = BH_ECHAINID;
    size_t from = s->cur;
    for (size_t k = 0; k < s->n_eps; k++) {
        size_t i = (from + k) % s->n_eps;
        if (!endpoint_ok(s, i)) continue;
        use_endpoint(s, i);
        rc = bh_evm_call(s->ep, ret, ret_len, to, data, data_len);
        if (!transport_error(rc)) break;
    }
    return rc;
}
