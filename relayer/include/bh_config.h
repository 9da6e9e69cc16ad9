/* The node's configuration: one JSON file, parsed strictly (README.md, Configuration).
 *
 * Every key the node reads is described once in a table (bh_config_keys):
 * its JSON path pattern, type, default and bounds. Unknown keys, wrong
 * types, values out of bounds, missing required keys, duplicate chain
 * names, bridge ids or EVM chain ids, a quorum larger than the endpoint
 * count, a lane limit toward a chain that is not configured, and key
 * files readable by group or others are refused with the JSON path at
 * fault and a one-line fix, e.g.
 *   $.chains[1].quorum: 3 is more than the 2 endpoints; lower quorum or add endpoints
 *
 * Shape (see deploy/examples/ for complete files):
 * {
 *   "node": {
 *     "name": "node-1",                        required, [a-z0-9_-]{1,32}
 *     "data_dir": "/var/lib/bulkhead",         required; relative = to the config file
 *     "log_level": "info",                     debug|info|warn|error
 *     "log_file": "",                          "" = stderr
 *     "attester_key_file": "attester.key",     exactly one of _file / _env
 *     "attester_key_env": "BULKHEAD_ATTESTER_KEY",
 *     "signer_set_index": 0,                   the Portals' attester set
 *     "signer_index": 0,                       this node's index in that set
 *     "tx_key_file" / "tx_key_env":            default transaction key for
 *                                              every chain (optional)
 *     "poll_ms": 500,                          watcher and delivery pace
 *     "batch_max": 256,                        messages per vault write txn
 *     "queue_max": 4096,                       unapplied events per chain
 *     "park_after": 5,                         reverted deliveries before parking
 *     "price_poll_s": 30                       price feeds read this often
 *   },
 *   "chains": [ {                              1..32 chains
 *     "name": "alpha",                         required, [a-z0-9_-]{1,32}, unique
 *     "bridge_id": 1,                          required, 1..65535, unique
 *     "evm_chain_id": 31337,                   required, >= 1
 *     "endpoints": ["http://127.0.0.1:8545"],  required, 1..16 http(s) URLs
 *     "quorum": 1,                             default: all endpoints
 *     "confirmations": 0,                      0 = "finalized" tag
 *     "portal": "0x…",                         required, 20-byte address
 *     "start_block": 0,                        first block to watch (cold start)
 *     "max_range": 2000,                       eth_getLogs blocks per call
 *     "rpc_timeout_ms": 10000, "rpc_retries": 2,
 *     "gas_cap": 10000000, "max_fee_gwei": 1000,
 *     "inflight_max": 16, "batch_max": 128, "standby_ms": 10000, "wallet_low_gwei": 0,
 *     "max_lag_blocks": 64,                    readiness bound
 *     "tx_key_file" / "tx_key_env":            this chain's transaction key
 *                                              (else the node's; one is required)
 *     "assets": [ {                            native tokens whose home is here
 *       "token": "0x…", "symbol": "TKA", "decimals": 18,
 *       "limits": { "cap.2": "1000000", "in_capacity.2": "5000", ... }
 *     } ],                                     limits: vaultctl limit keys, values
 *                                              decimal strings in smallest units
 *                                              ("price": quote units per token;
 *                                              "price_feed": "0x…", a feed here)
 *     "value_limits": { "value_window.1": "500000000", "flow_cancel.3": 1,
 *                       "vol_percent": 20, "tighten_percent": 50, "calm": 3600 },
 *                                              vault keys in the quote unit
 *     "quote_decimals": 2,                     a feed's answer in quote units
 *     "msg_limit": 100000                      messages per 24 h from this chain
 *   } ],
 *   "breaker": {                               thresholds within window_s
 *     "window_s": 60,
 *     "equivocation": 1, "forged_lock": 1, "exceeds_outstanding": 1,
 *     "bad_signature": 3, "rate_limited": 0, "disagreement": 0, "stall_s": 300,
 *     "spike": { "enabled": true, "factor": 10, "min_per_min": 60,
 *                "tighten_percent": 25, "relax_after_s": 600 }
 *   },
 *   "metrics": {                               optional: the operator server
 *     "bind": "127.0.0.1", "port": 9100,       port 0 = any free port
 *     "token_file" / "token_env":              bearer token (16..255 of
 *                                              [A-Za-z0-9._~+/=-]), optional
 *     "admin_token_file" / "admin_token_env":  the admin API's own token;
 *                                              none = no admin API
 *     "max_clients": 64, "snapshot_interval_s": 5, "client_buffer_kb": 1024,
 *     "sample_interval_s": 10                  the charts' samples (360 kept)
 *   }
 * }
 *
 * Keys are 32-byte secp256k1 secrets as 64 hex digits (optional 0x, one
 * trailing newline allowed). A key file must be a regular file with no
 * group or other permission bits (mode 0600 or 0400). Keys are never
 * logged and are wiped by bh_config_destroy. */
#ifndef BH_CONFIG_H
#define BH_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "bh_attest.h"
#include "bh_error.h"
#include "bh_log_hook.h"
#include "bh_types.h"

#define BH_CONFIG_NAME_MAX 32
#define BH_CONFIG_MAX_CHAINS 32
#define BH_CONFIG_MAX_ENDPOINTS 16
#define BH_CONFIG_MAX_ASSETS 64
#define BH_CONFIG_MAX_LIMITS 64
#define BH_CONFIG_PATH_MAX 4096

typedef struct {
    char key[40]; /* vaultctl limit key: "cap.2", "big_threshold", ... */
    bh_u128 value;
} bh_config_limit;

typedef struct {
    bh_address token;
    char symbol[17];
    uint8_t decimals;
    bh_config_limit limits[BH_CONFIG_MAX_LIMITS];
    size_t n_limits;
    bh_address price_feed; /* limits.price_feed on this (the home) chain */
    int has_price_feed;
} bh_config_asset;

typedef struct {
    char name[BH_CONFIG_NAME_MAX + 1];
    uint16_t bridge_id;
    uint64_t evm_chain_id;
    char *endpoints[BH_CONFIG_MAX_ENDPOINTS]; /* heap, owned by the config */
    size_t n_endpoints;
    unsigned quorum;
    unsigned confirmations;
    bh_address portal;
    uint64_t start_block;
    uint64_t max_range;
    long rpc_timeout_ms;
    unsigned rpc_retries;
    uint64_t gas_cap;
    uint64_t max_fee_gwei;
    unsigned inflight_max;    /* delivery transactions in flight at once */
    unsigned batch_max;       /* approvals per delivery transaction, at most */
    unsigned standby_ms;      /* outside a digest's first quorum: wait before submitting */
    uint64_t wallet_low_gwei; /* wallet alarm threshold; 0: off */
    uint64_t max_lag_blocks;
    uint32_t msg_limit;
    unsigned quote_decimals; /* a feed's answer in quote units: 10^-quote_decimals */
    bh_seckey tx_key;        /* this chain's, or the node's default */
    int has_tx_key;
    bh_config_asset assets[BH_CONFIG_MAX_ASSETS];
    size_t n_assets;
    bh_config_limit value_limits[BH_CONFIG_MAX_LIMITS]; /* value_limits: vault keys */
    size_t n_value_limits;
} bh_config_chain;

typedef struct {
    unsigned window_s;
    unsigned equivocation;
    unsigned forged_lock;
    unsigned forged_burn;
    unsigned supply_drift; /* reconciliations finding a wrapped supply above outstanding */
    unsigned exceeds_outstanding;
    unsigned bad_signature;
    unsigned rate_limited;
    unsigned disagreement;
    unsigned stall_s; /* no progress this long while endpoints answer: quarantine */
    int spike_enabled;
    unsigned spike_factor;          /* rate above factor × baseline is a spike */
    unsigned spike_min_per_min;     /* below this many messages/min never a spike */
    unsigned spike_tighten_percent; /* buckets shrink to this % while spiking */
    unsigned spike_relax_after_s;   /* calm this long before limits relax back */
} bh_config_breaker;

/* The operator server ("metrics" section; absent = no server). */
typedef struct {
    int enabled;
    char bind[64];         /* IPv4 or IPv6 literal; default 127.0.0.1 */
    unsigned port;         /* 0 = any free port (logged at start) */
    char token[256];       /* bearer token, "" = none; wiped by destroy */
    char admin_token[256]; /* the admin API's bearer token, "" = no admin API; wiped */
    unsigned max_clients;
    unsigned snapshot_interval_s;
    unsigned sample_interval_s; /* the dashboard's chart samples */
    unsigned client_buffer_kb;
} bh_config_metrics;

typedef struct {
    char name[BH_CONFIG_NAME_MAX + 1];
    char data_dir[BH_CONFIG_PATH_MAX]; /* absolute after load */
    bh_log_level log_level;
    char log_file[BH_CONFIG_PATH_MAX]; /* "" = stderr; absolute after load */
    bh_seckey attester_key;
    uint32_t signer_set_index;
    uint8_t signer_index;
    unsigned poll_ms;
    size_t batch_max;
    size_t queue_max;
    unsigned park_after;   /* reverted deliveries before an outbox entry is parked */
    unsigned reconcile_s;  /* supply reconciliation and chain audit period; 0 = off */
    unsigned price_poll_s; /* price feeds read every this many seconds */
    bh_config_chain chains[BH_CONFIG_MAX_CHAINS];
    size_t n_chains;
    bh_config_breaker breaker;
    bh_config_metrics metrics;
} bh_config;

/* Load and validate a config file. Relative paths in it (data_dir,
 * log_file, key files) are taken relative to the file's directory.
 * Returns: BH_OK; BH_ECONFIG with err = "<json path>: <problem>; <fix>"
 *          (or "<file>: <problem>" when the file cannot be read or is not
 *          JSON, with line and column); BH_EPERM for a key file readable by
 *          others (err names the path and says chmod 600); BH_ENOMEM.
 * Out: out  caller frees with bh_config_destroy; NULL on error.
 *      err  err_cap bytes, "" on success. */
BH_WARN_UNUSED_RESULT int bh_config_load(bh_config **out, char *err, size_t err_cap,
                                         const char *path);

/* Same, from JSON text; base_dir resolves relative paths (NULL = cwd). */
BH_WARN_UNUSED_RESULT int bh_config_parse(bh_config **out, char *err, size_t err_cap,
                                          const char *text, size_t len, const char *base_dir);

/* One limit of an asset homed on chain `home` (named home_name): its key
 * as the config writes it ("big_threshold", "cap.2": a lane names another
 * chain's bridge id) and its value in the token's smallest unit, among the
 * n chains ids/names the node knows. The one check behind the config's
 * assets[].limits and `vaultctl limits`.
 * Returns: BH_OK; BH_ECONFIG with why = "<problem>; <fix>" (the words
 *          `bulkhead check` uses after the JSON path); BH_EINVAL. */
BH_WARN_UNUSED_RESULT int bh_config_limit_check(const char *key, bh_u128 value, uint16_t home,
                                                const char *home_name, const uint16_t *ids,
                                                const char *const *names, size_t n, char *why,
                                                size_t cap);

/* One vault-level value limit of the vault of chain `home` (the config's
 * $.chains[].value_limits, `vaultctl limits CHAIN vault`): value_window.ID,
 * value_lane.ID.ID (two different chains), value_threshold.ID,
 * flow_cancel.ID (0 or 1); each ID home or one of the n chains ids/names.
 * Returns: BH_OK; BH_ECONFIG with why = "<problem>; <fix>"; BH_EINVAL. */
BH_WARN_UNUSED_RESULT int bh_config_value_limit_check(const char *key, bh_u128 value, uint16_t home,
                                                      const uint16_t *ids, const char *const *names,
                                                      size_t n, char *why, size_t cap);

/* Wipes every key, frees everything; NULL is a no-op. */
void bh_config_destroy(bh_config *c);

/* Returns: the chain with that bridge id or name, or NULL (borrowed). */
const bh_config_chain *bh_config_chain_by_id(const bh_config *c, uint16_t bridge_id);
const bh_config_chain *bh_config_chain_by_name(const bh_config *c, const char *name);

/* The key table: one row per key the parser accepts. */
typedef struct {
    const char *path;    /* "$.chains[].quorum" */
    const char *type;    /* "string", "integer", "boolean", "address", "array", "object",
                            "amount" (a limit: decimal string or integer, u128) */
    const char *deflt;   /* default as text; "required" or "-" if none */
    const char *bounds;  /* "1..65535", "" */
    const char *meaning; /* one line */
} bh_config_key;

/* Returns: the table, *n rows (static storage). */
const bh_config_key *bh_config_keys(size_t *n);

/* Returns: a log level's name ("info"); never NULL. */
const char *bh_log_level_name(bh_log_level l);

#endif
