/* The node's configuration, parsed strictly.
 *
 * One table, k_rows, names every key with its type, default and bounds. It
 * drives the refusal of unknown keys, the type and bounds checks, the
 * defaults and `bulkhead check --keys`. What a table cannot say (names,
 * URLs, keys, limit keys, checks across chains) is the code after it. */
#include "bh_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bh_amount.h"
#include "bh_hex.h"
#include "bh_keccak.h"
#include "bh_secret.h"
#include "bh_suggest.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CONFIG_FILE_CAP (1u << 20)
#define URL_MAX 2048
#define ERR_MAX 1024
#define PATH_BUF 256 /* JSON paths; keys in them are cut to 48 characters */
#define I64MAX ((uint64_t)INT64_MAX)

typedef enum {
    S_ROOT,
    S_NODE,
    S_CHAIN,
    S_ASSET,
    S_LIMIT,
    S_VALUE,
    S_BREAKER,
    S_SPIKE,
    S_METRICS,
    S_N_
} cfg_scope;

static const char *const k_scope_path[S_N_] = {"$",
                                               "$.node",
                                               "$.chains[]",
                                               "$.chains[].assets[]",
                                               "$.chains[].assets[].limits",
                                               "$.chains[].value_limits",
                                               "$.breaker",
                                               "$.breaker.spike",
                                               "$.metrics"};

typedef enum {
    K_UINT,    /* integer in lo..hi */
    K_BOOL,    /* true or false */
    K_NAME,    /* [a-z0-9_-]{1,32} */
    K_LEVEL,   /* a log level's name */
    K_PATH,    /* resolved against the config file's directory */
    K_ADDR,    /* 0x + 40 hex, EIP-55 checked when mixed case */
    K_SYMBOL,  /* 1..16 printable characters */
    K_KEYFILE, /* read by read_key once the scope's keys are checked */
    K_KEYENV,  /* same, from the environment */
    K_URLS,    /* array of http(s) URLs, lo..hi entries */
    K_ARRAY,   /* array of objects, lo..hi entries */
    K_OBJECT,  /* parsed by its own scope */
    K_AMOUNT,  /* limit value: decimal string or integer; hi = 0 means u128 */
    K_HOST     /* an IPv4 or IPv6 address literal */
} cfg_kind;

enum { F_REQUIRED = 1 };

typedef struct {
    cfg_scope scope;
    const char *name;
    cfg_kind kind;
    unsigned flags;
    size_t off, size; /* member in the scope's struct; size 0: not stored by the table */
    uint64_t lo, hi, def;
    const char *deflt;  /* default as text; NULL: made from def */
    const char *bounds; /* NULL: made from lo..hi */
    const char *meaning;
} cfg_row;

#define M(type, member) offsetof(type, member), sizeof(((type *)0)->member)
#define NOSTORE 0, 0

/* "ID" in a limit key is a configured chain's bridge_id (for cap, another
 * chain's: the home chain's own lane holds no outstanding). */
static const cfg_row k_rows[] = {
    {S_ROOT, "node", K_OBJECT, F_REQUIRED, NOSTORE, 0, 0, 0, NULL, "",
     "this node: name, data directory, keys, pace"},
    {S_ROOT, "chains", K_ARRAY, F_REQUIRED, NOSTORE, 1, BH_CONFIG_MAX_CHAINS, 0, NULL, NULL,
     "the chains this node watches and delivers to"},
    {S_ROOT, "breaker", K_OBJECT, 0, NOSTORE, 0, 0, 0, "{}", "",
     "circuit-breaker thresholds, each counted within window_s"},
    {S_ROOT, "metrics", K_OBJECT, 0, NOSTORE, 0, 0, 0, "absent: off", "",
     "the operator server: websocket, /metrics, /healthz, /readyz, dashboard"},

    {S_NODE, "name", K_NAME, F_REQUIRED, M(bh_config, name), 0, 0, 0, NULL, "[a-z0-9_-]{1,32}",
     "this node's name in logs and metrics"},
    {S_NODE, "data_dir", K_PATH, F_REQUIRED, M(bh_config, data_dir), 0, 0, 0, NULL, "",
     "directory of the vaults and cursors (LMDB); relative to the config file"},
    {S_NODE, "log_level", K_LEVEL, 0, M(bh_config, log_level), 0, 0, BH_LOG_INFO, "info",
     "debug, info, warn, error", "least severe level written to the log"},
    {S_NODE, "log_file", K_PATH, 0, M(bh_config, log_file), 0, 0, 0, "\"\"", "",
     "log file, relative to the config file; empty: standard error"},
    {S_NODE, "attester_key_file", K_KEYFILE, 0, NOSTORE, 0, 0, 0, "-", "mode 0600 or 0400",
     "file holding the attestation key; this or attester_key_env is required"},
    {S_NODE, "attester_key_env", K_KEYENV, 0, NOSTORE, 0, 0, 0, "-", "set, not empty",
     "environment variable holding the attestation key"},
    {S_NODE, "signer_set_index", K_UINT, 0, M(bh_config, signer_set_index), 0, UINT32_MAX, 0, NULL,
     NULL, "the Portals' attester set this node signs in"},
    {S_NODE, "signer_index", K_UINT, 0, M(bh_config, signer_index), 0, 254, 0, NULL, NULL,
     "this node's index in that attester set"},
    {S_NODE, "tx_key_file", K_KEYFILE, 0, NOSTORE, 0, 0, 0, "-", "mode 0600 or 0400",
     "file holding the transaction key of every chain without its own"},
    {S_NODE, "tx_key_env", K_KEYENV, 0, NOSTORE, 0, 0, 0, "-", "set, not empty",
     "environment variable holding that default transaction key"},
    {S_NODE, "poll_ms", K_UINT, 0, M(bh_config, poll_ms), 10, 60000, 500, NULL, NULL,
     "pause between watcher polls and delivery rounds, in ms"},
    {S_NODE, "batch_max", K_UINT, 0, M(bh_config, batch_max), 1, 10000, 256, NULL, NULL,
     "most messages applied in one vault write transaction"},
    {S_NODE, "queue_max", K_UINT, 0, M(bh_config, queue_max), 1, 1000000, 4096, NULL, NULL,
     "most unapplied events queued per chain"},
    {S_NODE, "park_after", K_UINT, 0, M(bh_config, park_after), 1, 1000000, 5, NULL, NULL,
     "reverted delivery attempts after which an outbox entry is parked for an operator"},
    {S_NODE, "reconcile_s", K_UINT, 0, M(bh_config, reconcile_s), 0, 86400, 30, NULL, NULL,
     "period of the supply reconciliation and the audit against each chain, in s; 0: off"},
    {S_NODE, "price_poll_s", K_UINT, 0, M(bh_config, price_poll_s), 1, 86400, 30, NULL, NULL,
     "each chain's price feeds (assets[].limits.price_feed) are read every this many s"},

    {S_CHAIN, "name", K_NAME, F_REQUIRED, M(bh_config_chain, name), 0, 0, 0, NULL,
     "[a-z0-9_-]{1,32}", "the chain's name (vault directory, metrics label), unique"},
    {S_CHAIN, "bridge_id", K_UINT, F_REQUIRED, M(bh_config_chain, bridge_id), 1, 65535, 0, NULL,
     NULL, "the chain's id in bridge messages, unique"},
    {S_CHAIN, "evm_chain_id", K_UINT, F_REQUIRED, M(bh_config_chain, evm_chain_id), 1, I64MAX, 0,
     NULL, NULL, "the chain's EIP-155 id, which every endpoint must serve; unique"},
    {S_CHAIN, "endpoints", K_URLS, F_REQUIRED, NOSTORE, 1, BH_CONFIG_MAX_ENDPOINTS, 0, NULL,
     "1..16 http(s) URLs", "JSON-RPC endpoints, each listed once"},
    {S_CHAIN, "quorum", K_UINT, 0, M(bh_config_chain, quorum), 1, BH_CONFIG_MAX_ENDPOINTS, 0,
     "all endpoints", NULL, "endpoints that must agree on an answer; at most the endpoint count"},
    {S_CHAIN, "confirmations", K_UINT, 0, M(bh_config_chain, confirmations), 0, 10000, 0, NULL,
     NULL, "blocks an event must be buried under; 0: the finalized tag"},
    {S_CHAIN, "portal", K_ADDR, F_REQUIRED, M(bh_config_chain, portal), 0, 0, 0, NULL,
     "0x + 40 hex digits", "the Portal contract's address on this chain"},
    {S_CHAIN, "start_block", K_UINT, 0, M(bh_config_chain, start_block), 0, I64MAX, 0, NULL, NULL,
     "first block watched on a cold start"},
    {S_CHAIN, "max_range", K_UINT, 0, M(bh_config_chain, max_range), 1, 100000, 2000, NULL, NULL,
     "most blocks per eth_getLogs call"},
    {S_CHAIN, "rpc_timeout_ms", K_UINT, 0, M(bh_config_chain, rpc_timeout_ms), 100, 600000, 10000,
     NULL, NULL, "timeout of one JSON-RPC call, in ms"},
    {S_CHAIN, "rpc_retries", K_UINT, 0, M(bh_config_chain, rpc_retries), 0, 10, 2, NULL, NULL,
     "retries of a failed JSON-RPC call"},
    {S_CHAIN, "gas_cap", K_UINT, 0, M(bh_config_chain, gas_cap), 21000, 1000000000, 10000000, NULL,
     NULL, "most gas one delivery transaction may use"},
    {S_CHAIN, "max_fee_gwei", K_UINT, 0, M(bh_config_chain, max_fee_gwei), 1, 1000000, 1000, NULL,
     NULL, "most the node pays per unit of gas, in gwei"},
    {S_CHAIN, "inflight_max", K_UINT, 0, M(bh_config_chain, inflight_max), 1, 256, 16, NULL, NULL,
     "delivery transactions in flight at once toward this chain (consecutive nonces); 1: one at a "
     "time"},
    {S_CHAIN, "batch_max", K_UINT, 0, M(bh_config_chain, batch_max), 1, 256, 128, NULL, NULL,
     "approvals per delivery transaction toward this chain (Portal.submitBatch), at most; also "
     "bounded by gas_cap; 1: one submit per transaction"},
    {S_CHAIN, "standby_ms", K_UINT, 0, M(bh_config_chain, standby_ms), 0, 3600000, 10000, NULL,
     NULL,
     "a transfer toward this chain is submitted first by a quorum of the Portal's attesters (in "
     "turn by its digest); the others wait this long, in ms, then step in if it is not executed; "
     "0: all at once"},
    {S_CHAIN, "wallet_low_gwei", K_UINT, 0, M(bh_config_chain, wallet_low_gwei), 0, I64MAX, 0, NULL,
     NULL,
     "transaction key's balance below which the node alarms (wallet_low, not ready), in gwei; "
     "0: off"},
    {S_CHAIN, "max_lag_blocks", K_UINT, 0, M(bh_config_chain, max_lag_blocks), 1, 1000000, 64, NULL,
     NULL, "blocks the watcher may trail the chain and still report ready"},
    {S_CHAIN, "msg_limit", K_UINT, 0, M(bh_config_chain, msg_limit), 0, UINT32_MAX, 100000, NULL,
     NULL, "most messages from this chain per 24 h into each vault (its lanes); 0: no limit"},
    {S_CHAIN, "quote_decimals", K_UINT, 0, M(bh_config_chain, quote_decimals), 0, 38, 2, NULL, NULL,
     "a price feed's answer becomes this vault's quote unit, 10^-quote_decimals of the feed's "
     "currency (2: a cent), rounded up"},
    {S_CHAIN, "tx_key_file", K_KEYFILE, 0, NOSTORE, 0, 0, 0, "the node's", "mode 0600 or 0400",
     "file holding this chain's transaction key"},
    {S_CHAIN, "tx_key_env", K_KEYENV, 0, NOSTORE, 0, 0, 0, "the node's", "set, not empty",
     "environment variable holding this chain's transaction key"},
    {S_CHAIN, "assets", K_ARRAY, 0, NOSTORE, 0, BH_CONFIG_MAX_ASSETS, 0, "[]", NULL,
     "tokens whose home is this chain"},
    {S_CHAIN, "value_limits", K_OBJECT, 0, NOSTORE, 0, 0, 0, "{}", "",
     "this vault's limits in value (its quote unit), summed across its assets"},

    {S_ASSET, "token", K_ADDR, F_REQUIRED, M(bh_config_asset, token), 0, 0, 0, NULL,
     "0x + 40 hex digits", "the token contract's address on this chain, unique"},
    {S_ASSET, "symbol", K_SYMBOL, F_REQUIRED, M(bh_config_asset, symbol), 0, 0, 0, NULL,
     "1..16 characters", "the token's symbol, unique on this chain"},
    {S_ASSET, "decimals", K_UINT, F_REQUIRED, M(bh_config_asset, decimals), 0, 38, 0, NULL, NULL,
     "the token's decimals"},
    {S_ASSET, "limits", K_OBJECT, 0, NOSTORE, 0, 0, 0, "{}", "",
     "rate limits as vaultctl names them, in the token's smallest unit"},

    {S_LIMIT, "big_threshold", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "transfers at or above this wait big_delay; 0: off"},
    {S_LIMIT, "big_delay", K_AMOUNT, 0, NOSTORE, 0, UINT32_MAX, 0, "-", NULL,
     "seconds a big transfer waits (vault default 24 h)"},
    {S_LIMIT, "min_amount", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "transfers below this are refused (below_minimum); 0: none"},
    {S_LIMIT, "cap.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "most supply outstanding on chain ID (another chain's bridge_id); 0: none"},
    {S_LIMIT, "window.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "most transferred from chain ID in 24 h; 0: none"},
    {S_LIMIT, "in_capacity.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "token bucket size for transfers from chain ID"},
    {S_LIMIT, "in_refill.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "units per second that refill the inbound bucket"},
    {S_LIMIT, "out_capacity.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "token bucket size for transfers to chain ID"},
    {S_LIMIT, "out_refill.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "units per second that refill the outbound bucket"},
    {S_LIMIT, "price", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "fixed price: quote units per whole token, for the vault's value limits; 0: none"},
    {S_LIMIT, "price_max_age", K_AMOUNT, 0, NOSTORE, 0, UINT32_MAX, 0, "-", NULL,
     "seconds an observed price stays usable (vault default 3600)"},
    {S_LIMIT, "price_max_jump", K_AMOUNT, 0, NOSTORE, 0, 1000000, 0, "-", NULL,
     "percent an observed price may move from the last usable one (vault default 50)"},
    {S_LIMIT, "price_feed", K_ADDR, 0, NOSTORE, 0, 0, 0, "-", "0x + 40 hex digits",
     "price feed on this chain (AggregatorV3: decimals, latestRoundData) the node reads for "
     "this vault only"},

    {S_VALUE, "value_window.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "most value transferred from chain ID in 24 h, all assets; 0: none"},
    {S_VALUE, "value_lane.ID.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "the same for the lane from the first chain ID to the second; 0: none"},
    {S_VALUE, "value_threshold.ID", K_AMOUNT, 0, NOSTORE, 0, 0, 0, "-", "0..2^128-1",
     "transfers from chain ID worth at least this wait big_delay; 0: off"},
    {S_VALUE, "flow_cancel.ID", K_AMOUNT, 0, NOSTORE, 0, 1, 0, "-", NULL,
     "1: returns home from chain ID pay down the home's value windows toward it"},
    {S_VALUE, "vol_percent", K_AMOUNT, 0, NOSTORE, 0, 1000000, 0, "-", NULL,
     "an observed price moving more than this percent within vol_window tightens this vault's "
     "lanes; 0: off"},
    {S_VALUE, "vol_window", K_AMOUNT, 0, NOSTORE, 0, UINT32_MAX, 0, "-", NULL,
     "seconds of the volatility window (vault default 3600)"},
    {S_VALUE, "tighten_percent", K_AMOUNT, 0, NOSTORE, 0, 100, 0, "-", NULL,
     "while tightened, value limits, buckets and windows at this percent (vault default 50)"},
    {S_VALUE, "calm", K_AMOUNT, 0, NOSTORE, 0, UINT32_MAX, 0, "-", NULL,
     "seconds without a new move before tightened lanes relax (vault default 3600)"},

    {S_BREAKER, "window_s", K_UINT, 0, M(bh_config_breaker, window_s), 1, 86400, 60, NULL, NULL,
     "seconds over which the counts below are taken"},
    {S_BREAKER, "equivocation", K_UINT, 0, M(bh_config_breaker, equivocation), 0, 1000000, 1, NULL,
     NULL, "conflicting messages or finalized blocks that quarantine a chain; 0: never"},
    {S_BREAKER, "forged_lock", K_UINT, 0, M(bh_config_breaker, forged_lock), 0, 1000000, 1, NULL,
     NULL,
     "locks of a registered asset with no transfer of it behind them that quarantine a chain; "
     "0: never"},
    {S_BREAKER, "forged_burn", K_UINT, 0, M(bh_config_breaker, forged_burn), 0, 1000000, 1, NULL,
     NULL,
     "burns with no burn of the Portal's wrapped token behind them that quarantine a chain "
     "(only its Portal emits one); 0: never"},
    {S_BREAKER, "supply_drift", K_UINT, 0, M(bh_config_breaker, supply_drift), 0, 1000000, 1, NULL,
     NULL,
     "reconciliations finding a wrapped token's supply on a chain above what its vault sent "
     "there that quarantine the chain; 0: never"},
    {S_BREAKER, "exceeds_outstanding", K_UINT, 0, M(bh_config_breaker, exceeds_outstanding), 0,
     1000000, 1, NULL, NULL,
     "burns beyond the outstanding supply that quarantine a chain; 0: never"},
    {S_BREAKER, "bad_signature", K_UINT, 0, M(bh_config_breaker, bad_signature), 0, 1000000, 3,
     NULL, NULL, "attestations refused by the chain's Portal that quarantine it; 0: never"},
    {S_BREAKER, "rate_limited", K_UINT, 0, M(bh_config_breaker, rate_limited), 0, 1000000, 0, NULL,
     NULL,
     "messages delayed or refused by rate limits that quarantine their source chain; any "
     "user can cause them; 0: never"},
    {S_BREAKER, "disagreement", K_UINT, 0, M(bh_config_breaker, disagreement), 0, 1000000, 0, NULL,
     NULL,
     "polls failed because the endpoints split with no quorum that quarantine a chain; 0: "
     "never (stall_s decides)"},
    {S_BREAKER, "stall_s", K_UINT, 0, M(bh_config_breaker, stall_s), 0, 86400, 300, NULL, NULL,
     "seconds a chain's endpoints may answer without letting the watcher advance (sequence gap, "
     "split, impossible answer) before it is quarantined; 0: never"},
    {S_BREAKER, "spike", K_OBJECT, 0, NOSTORE, 0, 0, 0, "{}", "",
     "flow-spike detection, which tightens a chain's limits"},

    {S_SPIKE, "enabled", K_BOOL, 0, M(bh_config_breaker, spike_enabled), 0, 1, 1, NULL, "",
     "tighten a chain's limits while its flow spikes"},
    {S_SPIKE, "factor", K_UINT, 0, M(bh_config_breaker, spike_factor), 2, 1000, 10, NULL, NULL,
     "a rate above factor times the baseline is a spike"},
    {S_SPIKE, "min_per_min", K_UINT, 0, M(bh_config_breaker, spike_min_per_min), 1, 1000000, 60,
     NULL, NULL, "below this many messages per minute, never a spike"},
    {S_SPIKE, "tighten_percent", K_UINT, 0, M(bh_config_breaker, spike_tighten_percent), 1, 100, 25,
     NULL, NULL, "buckets shrink to this percent while spiking"},
    {S_SPIKE, "relax_after_s", K_UINT, 0, M(bh_config_breaker, spike_relax_after_s), 1, 86400, 600,
     NULL, NULL, "calm seconds before tightened limits relax back"},

    {S_METRICS, "bind", K_HOST, 0, M(bh_config_metrics, bind), 0, 0, 0, "127.0.0.1",
     "an IP address", "address the operator server listens on; loopback unless exposed on purpose"},
    {S_METRICS, "port", K_UINT, F_REQUIRED, M(bh_config_metrics, port), 0, 65535, 0, NULL, NULL,
     "TCP port of the operator server; 0: any free port (logged at start)"},
    {S_METRICS, "token_file", K_KEYFILE, 0, NOSTORE, 0, 0, 0, "-", "mode 0600 or 0400",
     "file holding a bearer token for /ws and /metrics; none: no auth"},
    {S_METRICS, "token_env", K_KEYENV, 0, NOSTORE, 0, 0, 0, "-", "set, not empty",
     "environment variable holding that bearer token"},
    {S_METRICS, "admin_token_file", K_KEYFILE, 0, NOSTORE, 0, 0, 0, "-", "mode 0600 or 0400",
     "file holding the admin API's bearer token (POST /admin/v1/...); none: no admin API"},
    {S_METRICS, "admin_token_env", K_KEYENV, 0, NOSTORE, 0, 0, 0, "-", "set, not empty",
     "environment variable holding the admin API's bearer token"},
    {S_METRICS, "max_clients", K_UINT, 0, M(bh_config_metrics, max_clients), 1, 100000, 64, NULL,
     NULL, "websocket clients served at once; more are refused"},
    {S_METRICS, "snapshot_interval_s", K_UINT, 0, M(bh_config_metrics, snapshot_interval_s), 1,
     3600, 5, NULL, NULL, "seconds between snapshot frames on every websocket"},
    {S_METRICS, "sample_interval_s", K_UINT, 0, M(bh_config_metrics, sample_interval_s), 1, 3600,
     10, NULL, NULL,
     "seconds between the samples the node keeps for the dashboard's charts (the last 360)"},
    {S_METRICS, "client_buffer_kb", K_UINT, 0, M(bh_config_metrics, client_buffer_kb), 64, 1048576,
     1024, NULL, NULL, "send queue per websocket client; one that falls behind is closed"},
};

#define N_ROWS ARRAY_LEN(k_rows)

/* ---- text helpers ---- */

/* A value shown in an error: quoted, control characters escaped, cut. */
static const char *show(char *out, size_t cap, const char *s)
{
    size_t n = 0, shown = 0;
    out[n++] = '"';
    for (; *s && n + 8 < cap; s++, shown++) {
        unsigned char ch = (unsigned char)*s;
        if (shown == 48) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        if (ch == '"' || ch == '\\') {
            out[n++] = '\\';
            out[n++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
        } else {
            out[n++] = (char)ch;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
    return out;
}

/* [A-Za-z_][A-Za-z0-9_]*, at most max characters: JSON keys shown bare in a
 * path, and environment variable names. */
static int identifier_ok(const char *k, size_t max)
{
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_')) return 0;
    size_t n = 0;
    for (; *k; k++, n++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return 0;
    return n <= max;
}

static int ident_like(const char *k)
{
    return identifier_ok(k, 48);
}

/* parent.key, or parent["key"] when the key is no identifier. */
static void path_key(char *out, size_t cap, const char *parent, const char *key)
{
    if (ident_like(key)) {
        snprintf(out, cap, "%s.%s", parent, key);
    } else {
        char q[64];
        snprintf(out, cap, "%s[%s]", parent, show(q, sizeof q, key));
    }
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static const char *row_type(const cfg_row *r)
{
    switch (r->kind) {
    case K_UINT:
        return "integer";
    case K_BOOL:
        return "boolean";
    case K_ADDR:
        return "address";
    case K_URLS:
    case K_ARRAY:
        return "array";
    case K_OBJECT:
        return "object";
    case K_AMOUNT:
        return "amount";
    default:
        return "string";
    }
}

static const char *row_bounds(const cfg_row *r, char *buf, size_t cap)
{
    if (r->bounds) return r->bounds;
    if (r->kind == K_UINT && r->hi == I64MAX)
        snprintf(buf, cap, ">= %llu", (unsigned long long)r->lo);
    else if (r->kind == K_ARRAY || r->kind == K_URLS)
        snprintf(buf, cap, "%llu..%llu entries", (unsigned long long)r->lo,
                 (unsigned long long)r->hi);
    else
        snprintf(buf, cap, "%llu..%llu", (unsigned long long)r->lo, (unsigned long long)r->hi);
    return buf;
}

static const char *row_default(const cfg_row *r, char *buf, size_t cap)
{
    if (r->flags & F_REQUIRED) return "required";
    if (r->deflt) return r->deflt;
    if (r->kind == K_BOOL) return r->def ? "true" : "false";
    snprintf(buf, cap, "%llu", (unsigned long long)r->def);
    return buf;
}

/* ---- the key table as documentation ---- */

static bh_config_key k_docs[N_ROWS];
static char k_doc_path[N_ROWS][72];
static char k_doc_def[N_ROWS][24];
static char k_doc_bounds[N_ROWS][40];
static pthread_once_t k_docs_once = PTHREAD_ONCE_INIT;

static void docs_init(void)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const cfg_row *r = &k_rows[i];
        path_key(k_doc_path[i], sizeof k_doc_path[i], k_scope_path[r->scope], r->name);
        k_docs[i] = (bh_config_key){
            .path = k_doc_path[i],
            .type = row_type(r),
            .deflt = row_default(r, k_doc_def[i], sizeof k_doc_def[i]),
            .bounds = row_bounds(r, k_doc_bounds[i], sizeof k_doc_bounds[i]),
            .meaning = r->meaning,
        };
    }
}

const bh_config_key *bh_config_keys(size_t *n)
{
    pthread_once(&k_docs_once, docs_init);
    if (n) *n = N_ROWS;
    return k_docs;
}

static const char *const k_levels[] = {"debug", "info", "warn", "error"};

const char *bh_log_level_name(bh_log_level l)
{
    return (unsigned)l < ARRAY_LEN(k_levels) ? k_levels[l] : "unknown";
}

/* ---- the parser ---- */

typedef struct {
    bh_config *c;
    char base_dir[BH_CONFIG_PATH_MAX];
    bh_attest *ctx;    /* for bh_seckey_verify, made on first use */
    bh_seckey node_tx; /* the node's default transaction key, wiped at the end */
    int has_node_tx;
    char err[ERR_MAX];
} parser;

__attribute__((format(printf, 4, 5))) static int fail(parser *p, int rc, const char *path,
                                                      const char *fmt, ...)
{
    int n = snprintf(p->err, sizeof p->err, "%s: ", path);
    if (n < 0 || (size_t)n >= sizeof p->err) return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, sizeof p->err - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

static void store_uint(void *base, const cfg_row *r, uint64_t v)
{
    unsigned char *dst = (unsigned char *)base + r->off;
    uint8_t v8 = (uint8_t)v;
    uint16_t v16 = (uint16_t)v;
    uint32_t v32 = (uint32_t)v;
    switch (r->size) {
    case 1:
        memcpy(dst, &v8, 1);
        break;
    case 2:
        memcpy(dst, &v16, 2);
        break;
    case 4:
        memcpy(dst, &v32, 4);
        break;
    case 8:
        memcpy(dst, &v, 8);
        break;
    default:
        break;
    }
}

static int unknown_key(parser *p, cfg_scope s, const char *parent, const char *key)
{
    char kp[PATH_BUF], list[600];
    path_key(kp, sizeof kp, parent, key);
    const cfg_row *best = NULL;
    size_t best_d = SIZE_MAX, n = 0;
    list[0] = '\0';
    for (size_t i = 0; i < N_ROWS; i++) {
        if (k_rows[i].scope != s) continue;
        size_t d = bh_edit_distance(key, k_rows[i].name);
        if (d < best_d) best_d = d, best = &k_rows[i];
        if (n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", k_rows[i].name);
    }
    if (best && bh_suggest_near(best_d, key))
        return fail(p, BH_ECONFIG, kp, "unknown key; did you mean %s?", best->name);
    return fail(p, BH_ECONFIG, kp, "unknown key; remove it (valid here: %s)", list);
}

static int type_error(parser *p, const char *kp, const json_t *v, const cfg_row *r)
{
    char b[48];
    switch (r->kind) {
    case K_UINT:
        return fail(p, BH_ECONFIG, kp, "got %s, expected an integer in %s; %s", json_kind(v),
                    row_bounds(r, b, sizeof b),
                    json_is_string(v) ? "write the number without quotes" : "write a whole number");
    case K_BOOL:
        return fail(p, BH_ECONFIG, kp, "got %s, expected a boolean; write true or false%s",
                    json_kind(v), json_is_string(v) ? " without quotes" : "");
    case K_URLS:
    case K_ARRAY:
        return fail(p, BH_ECONFIG, kp, "got %s, expected an array; write it as [ ... ]",
                    json_kind(v));
    case K_OBJECT:
        return fail(p, BH_ECONFIG, kp, "got %s, expected an object; write it as { ... }",
                    json_kind(v));
    case K_AMOUNT:
        return fail(p, BH_ECONFIG, kp,
                    "got %s, expected an amount; write digits in the token's smallest unit, "
                    "e.g. \"1000000\"",
                    json_kind(v));
    default:
        return fail(p, BH_ECONFIG, kp, "got %s, expected a string; put the value in double quotes",
                    json_kind(v));
    }
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > BH_CONFIG_NAME_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int env_name_ok(const char *s)
{
    return identifier_ok(s, 255);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Returns: NULL and out set, or why the text is no address (a fix follows). */
static const char *parse_address(bh_address *out, const char *s)
{
    if (strlen(s) != 42 || s[0] != '0' || s[1] != 'x')
        return "is not an address; write \"0x\" and 40 hex digits";
    int upper = 0, lower = 0;
    for (size_t i = 0; i < 40; i++) {
        char ch = s[2 + i];
        if (hexval(ch) < 0) return "is not an address; write \"0x\" and 40 hex digits";
        upper |= ch >= 'A' && ch <= 'F';
        lower |= ch >= 'a' && ch <= 'f';
        if (i % 2) out->data[i / 2] = (unsigned char)(hexval(s[1 + i]) << 4 | hexval(ch));
    }
    if (upper && lower) {
        /* EIP-55: a mixed-case address carries a checksum in its letters. */
        char low[40];
        for (size_t i = 0; i < 40; i++)
            low[i] = (s[2 + i] >= 'A' && s[2 + i] <= 'F') ? (char)(s[2 + i] + 32) : s[2 + i];
        bh_hash32 h;
        bh_keccak256(&h, low, sizeof low);
        for (size_t i = 0; i < 40; i++) {
            char ch = s[2 + i];
            if (hexval(ch) < 10) continue;
            int nib = i % 2 ? h.data[i / 2] & 0xf : h.data[i / 2] >> 4;
            if ((nib >= 8) != (ch >= 'A' && ch <= 'F'))
                return "fails its EIP-55 checksum (a mistyped digit?); copy the address again";
        }
    }
    static const bh_address zero;
    if (memcmp(out->data, zero.data, sizeof zero.data) == 0)
        return "is the zero address; write the deployed contract's address";
    return NULL;
}

static int symbol_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 16) return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
    return 1;
}

/* Lexically clean an absolute path: no ".", "..", or repeated slashes. */
static int normalize(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    const char *s = in;
    for (;;) {
        while (*s == '/')
            s++;
        if (!*s) break;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t len = (size_t)(e - s);
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0) n--;
        } else if (!(len == 1 && s[0] == '.')) {
            if (n + 1 + len >= cap) return -1;
            out[n++] = '/';
            memcpy(out + n, s, len);
            n += len;
        }
        s = e;
    }
    if (n == 0) out[n++] = '/';
    out[n] = '\0';
    return 0;
}

static int resolve_path(parser *p, char out[BH_CONFIG_PATH_MAX], const char *kp, const char *in)
{
    char joined[2 * BH_CONFIG_PATH_MAX + 2];
    if (strlen(in) >= BH_CONFIG_PATH_MAX ||
        snprintf(joined, sizeof joined, "%s/%s", in[0] == '/' ? "" : p->base_dir, in) < 0 ||
        normalize(out, BH_CONFIG_PATH_MAX, joined) != 0)
        return fail(p, BH_ECONFIG, kp, "the path is longer than %d bytes; shorten it",
                    BH_CONFIG_PATH_MAX - 1);
    return BH_OK;
}

static int check_string(parser *p, const cfg_row *r, const char *s, const char *kp, void *base)
{
    char q[64];
    unsigned char *dst = base ? (unsigned char *)base + r->off : NULL;
    switch (r->kind) {
    case K_NAME:
        if (!name_ok(s))
            return fail(p, BH_ECONFIG, kp, "%s is not a valid name; use 1..32 of a-z, 0-9, _ and -",
                        show(q, sizeof q, s));
        memcpy(dst, s, strlen(s) + 1);
        return BH_OK;
    case K_LEVEL:
        for (size_t i = 0; i < ARRAY_LEN(k_levels); i++)
            if (strcmp(s, k_levels[i]) == 0) {
                store_uint(base, r, i);
                return BH_OK;
            }
        return fail(p, BH_ECONFIG, kp, "%s is not a log level; use debug, info, warn or error",
                    show(q, sizeof q, s));
    case K_PATH:
        if (!*s && (r->flags & F_REQUIRED))
            return fail(p, BH_ECONFIG, kp, "is empty; give a directory (%s)", r->meaning);
        return *s ? resolve_path(p, (char *)dst, kp, s) : BH_OK;
    case K_ADDR: {
        const char *why = parse_address((bh_address *)(void *)dst, s);
        return why ? fail(p, BH_ECONFIG, kp, "%s %s", show(q, sizeof q, s), why) : BH_OK;
    }
    case K_SYMBOL:
        if (!symbol_ok(s))
            return fail(p, BH_ECONFIG, kp,
                        "%s is not a symbol; use 1..16 printable characters without spaces",
                        show(q, sizeof q, s));
        memcpy(dst, s, strlen(s) + 1);
        return BH_OK;
    case K_HOST: {
        unsigned char a[16];
        if (strlen(s) >= r->size ||
            (inet_pton(AF_INET, s, a) != 1 && inet_pton(AF_INET6, s, a) != 1))
            return fail(p, BH_ECONFIG, kp,
                        "%s is not an IP address; use one, e.g. 127.0.0.1 (loopback) or 0.0.0.0",
                        show(q, sizeof q, s));
        memcpy(dst, s, strlen(s) + 1);
        return BH_OK;
    }
    case K_KEYFILE:
        if (!*s) return fail(p, BH_ECONFIG, kp, "is empty; give the key file's path");
        return BH_OK;
    case K_KEYENV:
        if (!env_name_ok(s))
            return fail(p, BH_ECONFIG, kp,
                        "%s is not an environment variable name; use letters, digits and _, "
                        "e.g. BULKHEAD_TX_KEY",
                        show(q, sizeof q, s));
        return BH_OK;
    default:
        return BH_OK;
    }
}

static int check_value(parser *p, const cfg_row *r, json_t *v, const char *kp, void *base)
{
    char b[48];
    switch (r->kind) {
    case K_UINT: {
        if (!json_is_integer(v)) return type_error(p, kp, v, r);
        json_int_t n = json_integer_value(v);
        if (n < 0 || (uint64_t)n < r->lo || (uint64_t)n > r->hi)
            return fail(p, BH_ECONFIG, kp, "%" JSON_INTEGER_FORMAT " is out of bounds; use %s", n,
                        row_bounds(r, b, sizeof b));
        if (r->size) store_uint(base, r, (uint64_t)n);
        return BH_OK;
    }
    case K_BOOL:
        if (!json_is_boolean(v)) return type_error(p, kp, v, r);
        store_uint(base, r, json_is_true(v));
        return BH_OK;
    case K_URLS:
    case K_ARRAY: {
        if (!json_is_array(v)) return type_error(p, kp, v, r);
        size_t n = json_array_size(v);
        if (n < r->lo)
            return fail(p, BH_ECONFIG, kp, "is empty; add at least %llu (%s)",
                        (unsigned long long)r->lo, r->meaning);
        if (n > r->hi)
            return fail(p, BH_ECONFIG, kp, "has %zu entries, at most %llu are allowed; remove some",
                        n, (unsigned long long)r->hi);
        return BH_OK;
    }
    case K_OBJECT:
        return json_is_object(v) ? BH_OK : type_error(p, kp, v, r);
    case K_AMOUNT:
        return BH_OK;
    default:
        if (!json_is_string(v)) return type_error(p, kp, v, r);
        return check_string(p, r, json_string_value(v), kp, base);
    }
}

/* Checks one object against its scope's rows: unknown keys (in document
 * order), then each row in table order: missing, type, bounds, default. */
static int parse_scope(parser *p, cfg_scope s, json_t *obj, const char *path, void *base)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t i = 0;
        while (i < N_ROWS && !(k_rows[i].scope == s && strcmp(k_rows[i].name, key) == 0))
            i++;
        if (i == N_ROWS) return unknown_key(p, s, path, key);
    }
    for (size_t i = 0; i < N_ROWS; i++) {
        const cfg_row *r = &k_rows[i];
        if (r->scope != s) continue;
        char kp[PATH_BUF];
        path_key(kp, sizeof kp, path, r->name);
        v = json_object_get(obj, r->name);
        int rc = BH_OK;
        if (v)
            rc = check_value(p, r, v, kp, base);
        else if (r->flags & F_REQUIRED)
            rc = fail(p, BH_ECONFIG, kp, "required key is missing; add it: %s", r->meaning);
        else if (r->size && (r->kind == K_UINT || r->kind == K_BOOL || r->kind == K_LEVEL))
            store_uint(base, r, r->def);
        if (rc) return rc;
    }
    return BH_OK;
}

/* ---- keys ---- */

/* A key parsed from text or a file: checked against the curve, or wiped. */
static int key_verified(parser *p, const char *kp, const char *source, bh_seckey *out)
{
    if (!p->ctx && !(p->ctx = bh_attest_create())) {
        bh_seckey_clear(out);
        return fail(p, BH_ENOMEM, kp, "out of memory");
    }
    if (bh_seckey_verify(p->ctx, out) != BH_OK) {
        bh_seckey_clear(out);
        return fail(p, BH_ECONFIG, kp,
                    "%s holds no valid secp256k1 key (zero, or not below the curve order); "
                    "generate a new key",
                    source);
    }
    return BH_OK;
}

static int key_from_text(parser *p, const char *kp, const char *s, size_t n, const char *source,
                         bh_seckey *out)
{
    if (bh_seckey_parse_text(out, s, n) != BH_OK)
        return fail(p, BH_ECONFIG, kp,
                    "%s holds no key; write the 32-byte secret as 64 hex digits "
                    "(optional 0x, one trailing newline)",
                    source);
    return key_verified(p, kp, source, out);
}

/* A refusal of bh_secret_read_file or bh_seckey_load_file: its text at kp,
 * BH_EPERM kept for a file open to others, any other BH_ECONFIG. */
static int secret_refused(parser *p, const char *kp, int rc, const char *why)
{
    return fail(p, rc == BH_EPERM ? BH_EPERM : BH_ECONFIG, kp, "%s", why);
}

static int key_from_file(parser *p, const char *kp, const char *rel, bh_seckey *out)
{
    char path[BH_CONFIG_PATH_MAX], why[2 * BH_CONFIG_PATH_MAX + 128];
    int rc = resolve_path(p, path, kp, rel);
    if (rc) return rc;
    rc = bh_seckey_load_file(out, why, sizeof why, path);
    if (rc) return secret_refused(p, kp, rc, why);
    return key_verified(p, kp, path, out);
}

/* A bearer token: 16..255 characters a URL and a header carry as they are. */
static int token_from_text(parser *p, const char *kp, const char *s, size_t n, const char *source,
                           char *out, size_t cap)
{
    if (n > 0 && s[n - 1] == '\n') n--;
    int ok = n >= 16 && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || strchr("._~+/=-", s[i]) != NULL;
    if (!ok)
        return fail(p, BH_ECONFIG, kp,
                    "%s does not hold a usable token; use 16..255 of A-Z a-z 0-9 . _ ~ + / = -, "
                    "e.g. from: openssl rand -hex 32",
                    source);
    memcpy(out, s, n);
    out[n] = '\0';
    return BH_OK;
}

/* One bearer token from NAME_file or NAME_env of the metrics section. */
static int read_token(parser *p, json_t *obj, const char *name, char *out, size_t cap)
{
    char kf[48], ke[48], pf[64], pe[64];
    snprintf(kf, sizeof kf, "%s_file", name);
    snprintf(ke, sizeof ke, "%s_env", name);
    snprintf(pf, sizeof pf, "$.metrics.%s", kf);
    snprintf(pe, sizeof pe, "$.metrics.%s", ke);
    json_t *f = json_object_get(obj, kf), *e = json_object_get(obj, ke);
    if (f && e)
        return fail(p, BH_ECONFIG, pf, "both %s and %s are given; keep one of them", kf, ke);
    if (f) {
        char path[BH_CONFIG_PATH_MAX], buf[300], why[2 * BH_CONFIG_PATH_MAX + 128];
        size_t n = 0;
        int rc = resolve_path(p, path, pf, json_string_value(f));
        if (rc) return rc;
        rc = bh_secret_read_file(buf, sizeof buf, &n, why, sizeof why, path);
        if (rc == BH_OK || rc == BH_ETOOBIG) /* too long: refused below as no usable token */
            rc = token_from_text(p, pf, buf, n, path, out, cap);
        else
            rc = secret_refused(p, pf, rc, why);
        explicit_bzero(buf, sizeof buf);
        return rc;
    }
    if (e) {
        const char *var = json_string_value(e), *val = getenv(var);
        if (!val || !*val)
            return fail(p, BH_ECONFIG, pe, "environment variable %s is %s; export it or use %s",
                        var, val ? "empty" : "unset", kf);
        char source[300];
        snprintf(source, sizeof source, "environment variable %s", var);
        return token_from_text(p, pe, val, strlen(val), source, out, cap);
    }
    return BH_OK;
}

/* The read token and the admin token; one token must not open both doors. */
static int read_tokens(parser *p, json_t *obj, bh_config_metrics *m)
{
    int rc = read_token(p, obj, "token", m->token, sizeof m->token);
    if (!rc) rc = read_token(p, obj, "admin_token", m->admin_token, sizeof m->admin_token);
    if (!rc && m->admin_token[0] && strcmp(m->admin_token, m->token) == 0)
        return fail(p, BH_ECONFIG,
                    json_object_get(obj, "admin_token_file") ? "$.metrics.admin_token_file"
                                                             : "$.metrics.admin_token_env",
                    "the admin token is the read token; give the admin API a token of its own");
    return rc;
}

static int key_from_env(parser *p, const char *kp, const char *name, const char *which,
                        bh_seckey *out)
{
    const char *val = getenv(name);
    if (!val || !*val)
        return fail(p, BH_ECONFIG, kp,
                    "environment variable %s is %s; export %s=<64 hex digits> or use %s_file", name,
                    val ? "empty" : "unset", name, which);
    char source[300];
    snprintf(source, sizeof source, "environment variable %s", name);
    return key_from_text(p, kp, val, strlen(val), source, out);
}

/* which_file / which_env of obj (types already checked): reads the key. */
static int read_key(parser *p, json_t *obj, const char *path, const char *which, bh_seckey *out,
                    int *has)
{
    char fk[32], ek[32], kp[PATH_BUF];
    snprintf(fk, sizeof fk, "%s_file", which);
    snprintf(ek, sizeof ek, "%s_env", which);
    json_t *f = json_object_get(obj, fk), *e = json_object_get(obj, ek);
    *has = 0;
    if (f && e) {
        path_key(kp, sizeof kp, path, fk);
        return fail(p, BH_ECONFIG, kp, "both %s and %s are given; keep one of them", fk, ek);
    }
    int rc;
    if (f) {
        path_key(kp, sizeof kp, path, fk);
        rc = key_from_file(p, kp, json_string_value(f), out);
    } else if (e) {
        path_key(kp, sizeof kp, path, ek);
        rc = key_from_env(p, kp, json_string_value(e), which, out);
    } else {
        return BH_OK;
    }
    if (rc == BH_OK) *has = 1;
    return rc;
}

/* ---- chains ---- */

static int url_ok(const char *s)
{
    size_t skip;
    if (strncmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    if (strlen(s) > URL_MAX) return 0;
    for (const char *q = s; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) return 0;
    const char *host = s + skip, *end = host + strcspn(host, "/?#");
    for (const char *q = host; q < end; q++)
        if (*q == '@') host = q + 1;
    return host < end && *host != ':';
}

static int parse_endpoints(parser *p, json_t *arr, const char *path, bh_config_chain *ch)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char kp[PATH_BUF];
        snprintf(kp, sizeof kp, "%s.endpoints[%zu]", path, i);
        if (!json_is_string(v))
            return fail(p, BH_ECONFIG, kp,
                        "got %s, expected a URL string; write it as \"http://HOST:PORT\"",
                        json_kind(v));
        const char *url = json_string_value(v);
        if (!url_ok(url))
            return fail(p, BH_ECONFIG, kp,
                        "not an http:// or https:// URL with a host; write it as "
                        "http://HOST:PORT or https://HOST/PATH");
        for (size_t j = 0; j < i; j++)
            if (strcmp(ch->endpoints[j], url) == 0)
                return fail(p, BH_ECONFIG, kp,
                            "the same URL as endpoints[%zu]; list each endpoint once (a quorum "
                            "needs independent endpoints)",
                            j);
        if (!(ch->endpoints[i] = strdup(url))) return fail(p, BH_ENOMEM, kp, "out of memory");
        ch->n_endpoints = i + 1;
    }
    return BH_OK;
}

/* Returns: the row of scope sc for a limit key, *lane its ".ID" text or NULL. */
static const cfg_row *limit_row_in(cfg_scope sc, const char *key, const char **lane)
{
    const char *dot = strchr(key, '.');
    size_t plen = dot ? (size_t)(dot - key) : strlen(key);
    for (size_t i = 0; i < N_ROWS; i++) {
        const cfg_row *r = &k_rows[i];
        if (r->scope != sc) continue;
        const char *rdot = strchr(r->name, '.');
        size_t rlen = rdot ? (size_t)(rdot - r->name) : strlen(r->name);
        if (!rdot != !dot || rlen != plen || strncmp(r->name, key, plen) != 0) continue;
        *lane = dot ? dot + 1 : NULL;
        return r;
    }
    return NULL;
}

static const cfg_row *limit_row(const char *key, const char **lane)
{
    return limit_row_in(S_LIMIT, key, lane);
}

/* why: an unknown limit key, with the nearest known one. */
static void unknown_limit(char *why, size_t cap, const char *key)
{
    const char *dot = strchr(key, '.');
    size_t plen = dot ? (size_t)(dot - key) : strlen(key);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(plen < 63 ? plen : 63), key);
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < N_ROWS; i++) {
        if (k_rows[i].scope != S_LIMIT) continue;
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(k_rows[i].name, "."), k_rows[i].name);
        size_t d = bh_edit_distance(prefix, name);
        if (d < best_d) best_d = d, best = k_rows[i].name;
    }
    char q[64];
    if (best && bh_suggest_near(best_d, prefix) && (strchr(best, '.') != NULL) == (dot != NULL))
        snprintf(why, cap, "unknown limit key; did you mean %.*s%s?", (int)strcspn(best, "."), best,
                 dot ? dot : "");
    else
        snprintf(why, cap,
                 "%s is no limit key; use big_threshold, big_delay, min_amount, price, "
                 "price_max_age, price_max_jump, or cap, window, in_capacity, in_refill, "
                 "out_capacity, out_refill followed by .ID (a chain's bridge_id)",
                 show(q, sizeof q, key));
}

/* A limit key and its value, alone: a known key, a lane ID of 1..65535,
 * the value within the key's bounds. Returns: the row, or NULL with why. */
static const cfg_row *limit_syntax(const char *key, bh_u128 val, unsigned long *lane_id, char *why,
                                   size_t cap)
{
    const char *lane;
    char q[64];
    *lane_id = 0;
    const cfg_row *r = limit_row(key, &lane);
    if (!r) {
        unknown_limit(why, cap, key);
        return NULL;
    }
    if (lane) {
        size_t n = strlen(lane);
        unsigned long id = n && n <= 5 && strspn(lane, "0123456789") == n && lane[0] != '0'
                               ? strtoul(lane, NULL, 10)
                               : 0;
        if (id < 1 || id > 65535) {
            snprintf(why, cap,
                     "%s is not a bridge id; write %.*s.ID with ID another configured chain's "
                     "bridge_id",
                     show(q, sizeof q, lane), (int)(lane - 1 - key), key);
            return NULL;
        }
        *lane_id = id;
    }
    if (r->hi && val > r->hi) {
        char dec[BH_U128_DEC_MAX], b[48];
        bh_u128_to_dec(dec, val);
        snprintf(why, cap, "%s is out of bounds; use %s", dec, row_bounds(r, b, sizeof b));
        return NULL;
    }
    return r;
}

/* A lane limit of an asset homed on `home` names a known chain; the home
 * chain's own lane has windows and buckets (what leaves and comes home) but
 * no outstanding, so no cap. */
static int lane_known(const char *key, unsigned long id, uint16_t home, const char *home_name,
                      const uint16_t *ids, const char *const *names, size_t n, char *why,
                      size_t cap)
{
    if (id == home && !strncmp(key, "cap.", 4)) {
        snprintf(why, cap,
                 "%lu is this asset's own chain (%s), which holds no wrapped supply; cap names "
                 "another chain's bridge_id",
                 id, home_name);
        return BH_ECONFIG;
    }
    if (id == home) return BH_OK;
    for (size_t m = 0; m < n; m++)
        if (ids[m] == id) return BH_OK;
    char list[400];
    size_t k = 0;
    list[0] = '\0';
    for (size_t m = 0; m < n; m++)
        if (ids[m] != home && k < sizeof list)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%u (%s)", k ? ", " : "",
                                  (unsigned)ids[m], names[m]);
    snprintf(why, cap, "no configured chain has bridge_id %lu; use one of: %s", id,
             k ? list : "none (configure the other chain first)");
    return BH_ECONFIG;
}

int bh_config_limit_check(const char *key, bh_u128 value, uint16_t home, const char *home_name,
                          const uint16_t *ids, const char *const *names, size_t n, char *why,
                          size_t cap)
{
    if (why && cap) why[0] = '\0';
    if (!key || !why || !cap || (n && (!ids || !names))) return BH_EINVAL;
    unsigned long lane = 0;
    const cfg_row *r = limit_syntax(key, value, &lane, why, cap);
    if (!r) return BH_ECONFIG;
    if (r->kind == K_ADDR) {
        snprintf(why, cap,
                 "price_feed is no vault limit: set it in the config's assets[].limits, where "
                 "the node reads it");
        return BH_ECONFIG;
    }
    return lane ? lane_known(key, lane, home, home_name ? home_name : "", ids, names, n, why, cap)
                : BH_OK;
}

/* A limit's value: a decimal string or a non-negative integer. */
static int limit_value(parser *p, const char *kp, json_t *v, const cfg_row *r, bh_u128 *out)
{
    char q[64];
    bh_u128 val = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        int rc = bh_u128_from_dec(&val, s, strlen(s));
        if (rc == BH_ERANGE)
            return fail(p, BH_ECONFIG, kp, "%s does not fit in 128 bits; write a smaller amount",
                        show(q, sizeof q, s));
        if (rc != BH_OK)
            return fail(p, BH_ECONFIG, kp,
                        "%s is not a whole decimal number; write digits only, in the token's "
                        "smallest unit, e.g. \"1000000\"",
                        show(q, sizeof q, s));
    } else if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return fail(p, BH_ECONFIG, kp, "%" JSON_INTEGER_FORMAT " is negative; write 0 or more",
                        json_integer_value(v));
        val = (bh_u128)json_integer_value(v);
    } else {
        return type_error(p, kp, v, r);
    }
    *out = val;
    return BH_OK;
}

/* One bridge id of a value limit key: digits, 1..65535, a configured chain. */
static int value_id(const char *t, size_t len, unsigned long *id, uint16_t home,
                    const uint16_t *ids, const char *const *names, size_t n, char *why, size_t cap)
{
    *id =
        len && len <= 5 && strspn(t, "0123456789") >= len && t[0] != '0' ? strtoul(t, NULL, 10) : 0;
    if (*id < 1 || *id > 65535) {
        snprintf(why, cap, "\"%.*s\" is not a bridge id; write a configured chain's bridge_id",
                 (int)(len < 16 ? len : 16), t);
        return BH_ECONFIG;
    }
    if (*id == home) return BH_OK;
    for (size_t m = 0; m < n; m++)
        if (ids[m] == *id) return BH_OK;
    char list[400];
    size_t k = 0;
    list[0] = '\0';
    for (size_t m = 0; m < n && k < sizeof list; m++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%u (%s)", k ? ", " : "",
                              (unsigned)ids[m], names[m]);
    snprintf(why, cap, "no configured chain has bridge_id %lu; use one of: %s", *id,
             k ? list : "none");
    return BH_ECONFIG;
}

int bh_config_value_limit_check(const char *key, bh_u128 value, uint16_t home, const uint16_t *ids,
                                const char *const *names, size_t n, char *why, size_t cap)
{
    if (why && cap) why[0] = '\0';
    if (!key || !why || !cap || (n && (!ids || !names))) return BH_EINVAL;
    const char *lane;
    char q[64];
    const cfg_row *r = limit_row_in(S_VALUE, key, &lane);
    if (!r) {
        snprintf(why, cap,
                 "%s is no value limit key; use value_window.ID, value_lane.ID.ID, "
                 "value_threshold.ID, flow_cancel.ID (ID a chain's bridge_id), vol_percent, "
                 "vol_window, tighten_percent or calm",
                 show(q, sizeof q, key));
        return BH_ECONFIG;
    }
    if (!lane) {
        /* a key of the vault itself (volatility tightening): no chain IDs */
        if (r->hi && value > r->hi) {
            char dec[BH_U128_DEC_MAX], bb[48];
            bh_u128_to_dec(dec, value);
            snprintf(why, cap, "%s is out of bounds; use %s", dec, row_bounds(r, bb, sizeof bb));
            return BH_ECONFIG;
        }
        return BH_OK;
    }
    int two = strchr(strchr(r->name, '.') + 1, '.') != NULL;
    const char *dot2 = strchr(lane, '.');
    if (two != (dot2 != NULL)) {
        snprintf(why, cap, "%s names %s; write %s", show(q, sizeof q, key),
                 two ? "one chain" : "two chains", r->name);
        return BH_ECONFIG;
    }
    unsigned long a, b = 0;
    size_t la = dot2 ? (size_t)(dot2 - lane) : strlen(lane);
    if (value_id(lane, la, &a, home, ids, names, n, why, cap)) return BH_ECONFIG;
    if (dot2 && value_id(dot2 + 1, strlen(dot2 + 1), &b, home, ids, names, n, why, cap))
        return BH_ECONFIG;
    if (dot2 && a == b) {
        snprintf(why, cap, "a lane goes from one chain to another; %lu is both ends", a);
        return BH_ECONFIG;
    }
    if (r->hi && value > r->hi) {
        char dec[BH_U128_DEC_MAX], bb[48];
        bh_u128_to_dec(dec, value);
        snprintf(why, cap, "%s is out of bounds; use %s", dec, row_bounds(r, bb, sizeof bb));
        return BH_ECONFIG;
    }
    return BH_OK;
}

static int parse_value_limits(parser *p, json_t *lim, const char *path, bh_config_chain *ch)
{
    const char *key;
    json_t *v;
    json_object_foreach(lim, key, v)
    {
        char kp[PATH_BUF], why[512];
        path_key(kp, sizeof kp, path, key);
        const char *lane;
        const cfg_row *r = limit_row_in(S_VALUE, key, &lane);
        bh_u128 val = 0;
        if (!r) {
            int x = bh_config_value_limit_check(key, 0, 0, NULL, NULL, 0, why, sizeof why);
            return fail(p, x, kp, "%s", why);
        }
        int rc = limit_value(p, kp, v, r, &val);
        if (rc) return rc;
        if (ch->n_value_limits == BH_CONFIG_MAX_LIMITS)
            return fail(p, BH_ECONFIG, kp, "more than %d value limits; keep the ones that matter",
                        BH_CONFIG_MAX_LIMITS);
        bh_config_limit *l = &ch->value_limits[ch->n_value_limits++];
        snprintf(l->key, sizeof l->key, "%s", key);
        l->value = val;
    }
    return BH_OK;
}

static int parse_limits(parser *p, json_t *lim, const char *path, bh_config_asset *a)
{
    const char *key;
    json_t *v;
    json_object_foreach(lim, key, v)
    {
        char kp[PATH_BUF], why[512];
        path_key(kp, sizeof kp, path, key);
        unsigned long lane_id;
        const cfg_row *r = limit_syntax(key, 0, &lane_id, why, sizeof why);
        if (!r) return fail(p, BH_ECONFIG, kp, "%s", why);
        if (r->kind == K_ADDR) {
            if (!json_is_string(v)) return type_error(p, kp, v, r);
            int rc = check_string(p, r, json_string_value(v), kp, (unsigned char *)&a->price_feed);
            if (rc) return rc;
            a->has_price_feed = 1;
            continue;
        }
        bh_u128 val = 0;
        int rc = limit_value(p, kp, v, r, &val);
        if (rc) return rc;
        if (!limit_syntax(key, val, &lane_id, why, sizeof why))
            return fail(p, BH_ECONFIG, kp, "%s", why);
        if (a->n_limits == BH_CONFIG_MAX_LIMITS)
            return fail(p, BH_ECONFIG, kp,
                        "more than %d limits for one asset; keep the ones that matter",
                        BH_CONFIG_MAX_LIMITS);
        bh_config_limit *l = &a->limits[a->n_limits++];
        snprintf(l->key, sizeof l->key, "%s", key);
        l->value = val;
    }
    for (size_t k = 0; a->has_price_feed && k < a->n_limits; k++)
        if (!strcmp(a->limits[k].key, "price") && a->limits[k].value) {
            char kp[PATH_BUF];
            path_key(kp, sizeof kp, path, "price_feed");
            return fail(p, BH_ECONFIG, kp,
                        "both a fixed price and a price feed; a fixed price is used over any "
                        "feed, so keep one");
        }
    return BH_OK;
}

static int parse_assets(parser *p, json_t *arr, const char *path, bh_config_chain *ch)
{
    size_t j;
    json_t *o;
    json_array_foreach(arr, j, o)
    {
        char ap[72], kp[PATH_BUF], lp[PATH_BUF];
        snprintf(ap, sizeof ap, "%s.assets[%zu]", path, j);
        if (!json_is_object(o))
            return fail(p, BH_ECONFIG, ap,
                        "got %s, expected an object; write each asset as "
                        "{\"token\": \"0x...\", \"symbol\": ..., \"decimals\": ...}",
                        json_kind(o));
        bh_config_asset *a = &ch->assets[j];
        int rc = parse_scope(p, S_ASSET, o, ap, a);
        if (rc) return rc;
        ch->n_assets = j + 1;
        for (size_t k = 0; k < j; k++) {
            if (memcmp(ch->assets[k].token.data, a->token.data, sizeof a->token.data) == 0) {
                path_key(kp, sizeof kp, ap, "token");
                return fail(p, BH_ECONFIG, kp,
                            "the same token as %s.assets[%zu]; list each token once", path, k);
            }
            if (strcmp(ch->assets[k].symbol, a->symbol) == 0) {
                path_key(kp, sizeof kp, ap, "symbol");
                return fail(p, BH_ECONFIG, kp,
                            "\"%s\" is also the symbol of %s.assets[%zu]; give each token its own "
                            "symbol",
                            a->symbol, path, k);
            }
        }
        path_key(lp, sizeof lp, ap, "limits");
        if ((rc = parse_limits(p, json_object_get(o, "limits"), lp, a))) return rc;
    }
    return BH_OK;
}

static int parse_chain(parser *p, json_t *o, size_t i)
{
    bh_config *c = p->c;
    bh_config_chain *ch = &c->chains[i];
    char path[32], kp[PATH_BUF];
    snprintf(path, sizeof path, "$.chains[%zu]", i);
    if (!json_is_object(o))
        return fail(p, BH_ECONFIG, path,
                    "got %s, expected an object; write each chain as "
                    "{\"name\": ..., \"bridge_id\": ..., ...}",
                    json_kind(o));
    int rc = parse_scope(p, S_CHAIN, o, path, ch);
    if (rc) return rc;
    for (size_t j = 0; j < i; j++) {
        const bh_config_chain *prev = &c->chains[j];
        if (strcmp(prev->name, ch->name) == 0) {
            path_key(kp, sizeof kp, path, "name");
            return fail(p, BH_ECONFIG, kp,
                        "\"%s\" is also the name of $.chains[%zu]; give each chain its own name",
                        ch->name, j);
        }
        if (prev->bridge_id == ch->bridge_id) {
            path_key(kp, sizeof kp, path, "bridge_id");
            return fail(p, BH_ECONFIG, kp,
                        "%u is also the bridge_id of $.chains[%zu] (%s); give each chain its own "
                        "bridge id",
                        (unsigned)ch->bridge_id, j, prev->name);
        }
        if (prev->evm_chain_id == ch->evm_chain_id) {
            path_key(kp, sizeof kp, path, "evm_chain_id");
            return fail(p, BH_ECONFIG, kp,
                        "%llu is also the evm_chain_id of $.chains[%zu] (%s); two chains cannot "
                        "share an EVM chain id, check which chain each endpoint serves",
                        (unsigned long long)ch->evm_chain_id, j, prev->name);
        }
    }
    if ((rc = parse_endpoints(p, json_object_get(o, "endpoints"), path, ch))) return rc;
    if (!json_object_get(o, "quorum")) {
        ch->quorum = (unsigned)ch->n_endpoints;
    } else if (ch->quorum > ch->n_endpoints) {
        path_key(kp, sizeof kp, path, "quorum");
        return fail(p, BH_ECONFIG, kp,
                    "%u is more than the %zu endpoint%s; lower quorum or add endpoints", ch->quorum,
                    ch->n_endpoints, ch->n_endpoints == 1 ? "" : "s");
    }
    if ((rc = read_key(p, o, path, "tx_key", &ch->tx_key, &ch->has_tx_key))) return rc;
    if (!ch->has_tx_key) {
        if (!p->has_node_tx) {
            path_key(kp, sizeof kp, path, "tx_key_file");
            return fail(p, BH_ECONFIG, kp,
                        "the chain has no transaction key; add tx_key_file or tx_key_env here, "
                        "or $.node.tx_key_file for every chain");
        }
        ch->tx_key = p->node_tx;
        ch->has_tx_key = 1;
    }
    path_key(kp, sizeof kp, path, "value_limits");
    if ((rc = parse_value_limits(p, json_object_get(o, "value_limits"), kp, ch))) return rc;
    return parse_assets(p, json_object_get(o, "assets"), path, ch);
}

/* A lane limit must name another configured chain; checked once all are known. */
static int check_lanes(parser *p)
{
    const bh_config *c = p->c;
    uint16_t ids[BH_CONFIG_MAX_CHAINS];
    const char *names[BH_CONFIG_MAX_CHAINS];
    for (size_t i = 0; i < c->n_chains; i++) {
        ids[i] = c->chains[i].bridge_id;
        names[i] = c->chains[i].name;
    }
    for (size_t i = 0; i < c->n_chains; i++) {
        const bh_config_chain *ch = &c->chains[i];
        for (size_t k = 0; k < ch->n_value_limits; k++) {
            char lp[PATH_BUF], kp[PATH_BUF], why[512];
            const bh_config_limit *l = &ch->value_limits[k];
            if (bh_config_value_limit_check(l->key, l->value, ch->bridge_id, ids, names,
                                            c->n_chains, why, sizeof why) == BH_OK)
                continue;
            snprintf(lp, sizeof lp, "$.chains[%zu].value_limits", i);
            path_key(kp, sizeof kp, lp, l->key);
            return fail(p, BH_ECONFIG, kp, "%s", why);
        }
        for (size_t j = 0; j < ch->n_assets; j++) {
            const bh_config_asset *a = &ch->assets[j];
            for (size_t k = 0; k < a->n_limits; k++) {
                char lp[PATH_BUF], kp[PATH_BUF], why[512];
                if (bh_config_limit_check(a->limits[k].key, a->limits[k].value, ch->bridge_id,
                                          ch->name, ids, names, c->n_chains, why,
                                          sizeof why) == BH_OK)
                    continue;
                snprintf(lp, sizeof lp, "$.chains[%zu].assets[%zu].limits", i, j);
                path_key(kp, sizeof kp, lp, a->limits[k].key);
                return fail(p, BH_ECONFIG, kp, "%s", why);
            }
        }
    }
    return BH_OK;
}

static int parse_root(parser *p, json_t *root)
{
    bh_config *c = p->c;
    if (!json_is_object(root))
        return fail(p, BH_ECONFIG, "$",
                    "got %s, expected an object; the config is one object with node, chains "
                    "and breaker",
                    json_kind(root));
    int rc = parse_scope(p, S_ROOT, root, "$", NULL);
    if (rc) return rc;
    json_t *node = json_object_get(root, "node");
    if ((rc = parse_scope(p, S_NODE, node, "$.node", c))) return rc;
    int has;
    if ((rc = read_key(p, node, "$.node", "attester_key", &c->attester_key, &has))) return rc;
    if (!has)
        return fail(p, BH_ECONFIG, "$.node.attester_key_file",
                    "required key is missing; add attester_key_file (a mode-0600 file holding "
                    "the attestation key as 64 hex digits) or attester_key_env");
    if ((rc = read_key(p, node, "$.node", "tx_key", &p->node_tx, &p->has_node_tx))) return rc;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(root, "chains"), i, o)
    {
        c->n_chains = i + 1;
        if ((rc = parse_chain(p, o, i))) return rc;
    }
    if ((rc = check_lanes(p))) return rc;
    json_t *br = json_object_get(root, "breaker");
    if ((rc = parse_scope(p, S_BREAKER, br, "$.breaker", &c->breaker))) return rc;
    rc = parse_scope(p, S_SPIKE, json_object_get(br, "spike"), "$.breaker.spike", &c->breaker);
    if (rc) return rc;
    json_t *m = json_object_get(root, "metrics");
    snprintf(c->metrics.bind, sizeof c->metrics.bind, "127.0.0.1");
    if (!m) return BH_OK;
    if ((rc = parse_scope(p, S_METRICS, m, "$.metrics", &c->metrics))) return rc;
    c->metrics.enabled = 1;
    return read_tokens(p, m, &c->metrics);
}

/* base_dir made absolute (cwd for NULL or ""), lexically cleaned. */
static int set_base_dir(parser *p, const char *dir)
{
    char cwd[BH_CONFIG_PATH_MAX], joined[2 * BH_CONFIG_PATH_MAX + 2];
    if (dir && dir[0] == '/') {
        snprintf(joined, sizeof joined, "%s", dir);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return fail(p, BH_ECONFIG, "config", "cannot read the working directory: %s",
                        strerror(errno));
        snprintf(joined, sizeof joined, "%s/%s", cwd, dir ? dir : "");
    }
    if (normalize(p->base_dir, sizeof p->base_dir, joined) != 0)
        return fail(p, BH_ECONFIG, "config", "its directory's path is too long; move it");
    return BH_OK;
}

static int parse_text(bh_config **out, char *err, size_t err_cap, const char *text, size_t len,
                      const char *base_dir, const char *source)
{
    if (out) *out = NULL;
    if (err && err_cap) err[0] = '\0';
    if (!out || (!text && len)) return BH_EINVAL;
    parser *p = calloc(1, sizeof *p);
    if (!p) return BH_ENOMEM;
    int rc = set_base_dir(p, base_dir);
    json_t *root = NULL;
    if (rc == BH_OK) {
        json_error_t je;
        root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
            snprintf(p->err, sizeof p->err, "%s: line %d column %d: %s", source, je.line, je.column,
                     je.text);
            rc = BH_ECONFIG;
        }
    }
    if (rc == BH_OK) {
        p->c = calloc(1, sizeof *p->c);
        rc = p->c ? parse_root(p, root) : BH_ENOMEM;
    }
    json_decref(root);
    if (rc == BH_OK) {
        *out = p->c;
    } else {
        bh_config_destroy(p->c);
        if (err && err_cap) snprintf(err, err_cap, "%s", p->err[0] ? p->err : bh_strerror(rc));
    }
    bh_seckey_clear(&p->node_tx);
    bh_attest_destroy(p->ctx);
    free(p);
    return rc;
}

int bh_config_parse(bh_config **out, char *err, size_t err_cap, const char *text, size_t len,
                    const char *base_dir)
{
    return parse_text(out, err, err_cap, text, len, base_dir, "config");
}

int bh_config_load(bh_config **out, char *err, size_t err_cap, const char *path)
{
    if (out) *out = NULL;
    if (err && err_cap) err[0] = '\0';
    if (!out || !path) return BH_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s: cannot open: %s; check the path", path, strerror(errno));
        return BH_ECONFIG;
    }
    char *text = malloc(CONFIG_FILE_CAP + 1);
    if (!text) {
        fclose(f);
        return BH_ENOMEM;
    }
    size_t len = fread(text, 1, CONFIG_FILE_CAP + 1, f);
    int bad = ferror(f), e = errno;
    fclose(f);
    if (bad || len > CONFIG_FILE_CAP) {
        free(text);
        if (err && err_cap && bad)
            snprintf(err, err_cap, "%s: cannot read: %s; check the file", path, strerror(e));
        else if (err && err_cap)
            snprintf(err, err_cap, "%s: larger than %u bytes; is this the config file?", path,
                     CONFIG_FILE_CAP);
        return BH_ECONFIG;
    }
    char dir[BH_CONFIG_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int rc = parse_text(out, err, err_cap, text, len, dir, path);
    free(text);
    return rc;
}

void bh_config_destroy(bh_config *c)
{
    if (!c) return;
    bh_seckey_clear(&c->attester_key);
    explicit_bzero(c->metrics.token, sizeof c->metrics.token);
    explicit_bzero(c->metrics.admin_token, sizeof c->metrics.admin_token);
    for (size_t i = 0; i < BH_CONFIG_MAX_CHAINS; i++) {
        bh_seckey_clear(&c->chains[i].tx_key);
        for (size_t k = 0; k < BH_CONFIG_MAX_ENDPOINTS; k++)
            free(c->chains[i].endpoints[k]);
    }
    free(c);
}

const bh_config_chain *bh_config_chain_by_id(const bh_config *c, uint16_t bridge_id)
{
    for (size_t i = 0; c && i < c->n_chains; i++)
        if (c->chains[i].bridge_id == bridge_id) return &c->chains[i];
    return NULL;
}

const bh_config_chain *bh_config_chain_by_name(const bh_config *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->n_chains; i++)
        if (strcmp(c->chains[i].name, name) == 0) return &c->chains[i];
    return NULL;
}
