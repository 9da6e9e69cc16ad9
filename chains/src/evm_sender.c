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

struct bh_evm_sender {
    bh_rpc *ep;
    const bh_attest *ctx;
    bh_seckey key;
    bh_address addr;
    bh_evm_sender_options opt;
    uint64_t nonce;
    int nonce_known;
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

int bh_evm_sender_sync_nonce(bh_evm_sender *s)
{
    json_t *res = NULL;
    int rc = call(s->ep, &res, "eth_getTransactionCount",
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

static int estimate(bh_evm_sender *s, uint64_t *gas, const bh_address *to, const bh_u256 *value,
                    const unsigned char *data, size_t len)
{
    json_t *tx =
        json_pack("{s:o,s:o}", "from", hex_json(s->addr.data, 20), "data", hex_json(data, len));
    if (!tx) return BH_ENOMEM;
    if (to) json_object_set_new(tx, "to", hex_json(to->data, 20));
    if (value) json_object_set_new(tx, "value", hex_json(value->be, 32));
    json_t *res = NULL;
    int rc = call(s->ep, &res, "eth_estimateGas", json_pack("[o]", tx));
    if (rc == BH_OK) rc = bh_rpc_read_quantity(gas, res);
    json_decref(res);
    if (rc == BH_ERPC && is_revert(s->ep)) {
        set_err(s, "%s", bh_rpc_last_error(s->ep));
        return BH_EREVERTED;
    }
    if (rc != BH_OK) set_err(s, "estimate: %s", bh_rpc_last_error(s->ep));
    return rc;
}

static int fees(bh_evm_sender *s, uint64_t *tip, uint64_t *max_fee)
{
    json_t *res = NULL;
    *tip = s->opt.priority_fee;
    if (!*tip) {
        if (call(s->ep, &res, "eth_maxPriorityFeePerGas", json_array()) != BH_OK ||
            bh_rpc_read_quantity(tip, res) != BH_OK)
            *tip = DEFAULT_TIP;
        json_decref(res);
        res = NULL;
    }
    int rc = call(s->ep, &res, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
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

/* Sign and broadcast. *accepted tells whether the node took it (or knew it). */
static int broadcast(bh_evm_sender *s, bh_hash32 *hash, const bh_evm_tx *tx)
{
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    int rc = bh_evm_tx_sign(s->ctx, &raw, &raw_len, hash, tx, &s->key);
    if (rc != BH_OK) return rc;
    json_t *res = NULL;
    rc = call(s->ep, &res, "eth_sendRawTransaction", json_pack("[o]", hex_json(raw, raw_len)));
    free(raw);
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

/* Returns BH_OK with the receipt, BH_ENOTFOUND while pending. */
static int get_receipt(bh_evm_sender *s, bh_evm_receipt *r, int *status, const bh_hash32 *h)
{
    json_t *res = NULL;
    int rc =
        call(s->ep, &res, "eth_getTransactionReceipt", json_pack("[o]", hex_json(h->data, 32)));
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
        set_err(s, "receipt: malformed answer from %s", bh_rpc_url(s->ep));
    }
    json_decref(res);
    return rc;
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
