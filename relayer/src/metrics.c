/* Prometheus text rendering of a node snapshot: samples are collected per
 * family in one walk of the snapshot, then written family by family so
 * every family appears once, HELP and TYPE first. */
#include "bh_metrics.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

typedef enum {
    F_NODE_INFO,
    F_BUILD_INFO,
    F_PROC_CPU,
    F_PROC_RSS,
    F_PROC_VSIZE,
    F_PROC_FDS,
    F_PROC_MAX_FDS,
    F_PROC_START,
    F_PROC_THREADS,
    F_NODE_START,
    F_NODE_TIME,
    F_CHAIN_BRIDGE_ID,
    F_CHAIN_QUARANTINED,
    F_CHAIN_HEAD,
    F_CHAIN_FINALIZED,
    F_CHAIN_CURSOR,
    F_CHAIN_LAG,
    F_CHAIN_MAX_LAG,
    F_CHAIN_QUEUE,
    F_CHAIN_OBSERVED,
    F_CHAIN_WALLET,
    F_CHAIN_WALLET_LOW,
    F_CHAIN_INFLIGHT,
    F_CHAIN_DELIV_OK,
    F_CHAIN_DELIV_FAILED,
    F_CHAIN_PRICE_READS,
    F_CHAIN_PRICE_FAILURES,
    F_CHAIN_LATENCY,
    F_CHAIN_ATTEMPTS,
    F_CHAIN_TRIPPED,
    F_CHAIN_TRIPPED_AT,
    F_CHAIN_PORTAL_PAUSED,
    F_CHAIN_PORTAL_CURSED,
    F_RPC_CALLS,
    F_RPC_FAILURES,
    F_RPC_RATE_LIMITED,
    F_RPC_DISAGREE,
    F_RPC_LATENCY,
    F_RPC_HEALTHY,
    F_VAULT_BRIDGE_ID,
    F_VAULT_ACCEPTED,
    F_VAULT_DELAYED,
    F_VAULT_HELD,
    F_VAULT_REJECTED,
    F_VAULT_OUTBOX,
    F_VAULT_OUTBOX_AGE,
    F_VAULT_PENDING,
    F_VAULT_PENDING_CAUSE,
    F_VAULT_PARKED,
    F_VAULT_NEXT_RELEASE,
    F_VAULT_QUARANTINED,
    F_VAULT_SEGMENT,
    F_VAULT_SEGMENT_PERCENT,
    F_VAULT_PRICE,
    F_VAULT_PRICE_AGE,
    F_VAULT_PRICE_USABLE,
    F_ASSET_DECIMALS,
    F_ASSET_LOCKED,
    F_ASSET_SHORT_LOCKS,
    F_ASSET_FORGED_LOCKS,
    F_ASSET_OUTSTANDING_ALL,
    F_LANE_OUTSTANDING,
    F_LANE_MINTED,
    F_LANE_IN_FLIGHT,
    F_LANE_CAP,
    F_LANE_IN_HEADROOM,
    F_LANE_OUT_HEADROOM,
    F_LANE_WINDOW_USED,
    F_LANE_WINDOW_LIMIT,
    F_TOTAL_OBSERVED,
    F_TOTAL_ACCEPTED,
    F_TOTAL_REJECTED,
    F_TOTAL_DELIVERED,
    F_TOTAL_QUARANTINES,
    F_WS_CLIENTS,
    F_WS_PUBLISHED,
    F_WS_DROPPED,
    F_WS_CLIENTS_DROPPED,
    F_WS_CLIENTS_REFUSED,
    F_SUPPLY_DRIFT,
    F_CUSTODY_DRIFT,
    F_PORTAL_DRIFT,
    F_RECON_BLOCK,
    F_RECON_TIME,
    F_COUNT_
} family_id;

typedef struct {
    const char *name;
    const char *type;
    const char *help;
} family;

static const family FAMILIES[F_COUNT_] = {
    [F_NODE_INFO] = {"bulkhead_node_info", "gauge", "Always 1; the node label names this node."},
    [F_BUILD_INFO] = {"bulkhead_build_info", "gauge",
                      "Always 1; version and commit name the build of this node."},
    /* the standard process_* names every Prometheus client exports */
    [F_PROC_CPU] = {"process_cpu_seconds_total", "counter",
                    "User and system CPU time spent by the node, in seconds."},
    [F_PROC_RSS] = {"process_resident_memory_bytes", "gauge", "Resident memory, in bytes."},
    [F_PROC_VSIZE] = {"process_virtual_memory_bytes", "gauge", "Virtual memory, in bytes."},
    [F_PROC_FDS] = {"process_open_fds", "gauge", "Open file descriptors."},
    [F_PROC_MAX_FDS] = {"process_max_fds", "gauge", "The most file descriptors it may open."},
    [F_PROC_START] = {"process_start_time_seconds", "gauge",
                      "When the process started, unix seconds."},
    [F_PROC_THREADS] = {"bulkhead_process_threads", "gauge", "Threads of the node's process."},
    [F_NODE_START] = {"bulkhead_node_start_time_seconds", "gauge",
                      "When the node started, unix seconds."},
    [F_NODE_TIME] = {"bulkhead_node_snapshot_time_seconds", "gauge",
                     "When these figures were taken, unix seconds."},
    [F_CHAIN_BRIDGE_ID] = {"bulkhead_chain_bridge_id", "gauge", "The chain's bridge id."},
    [F_CHAIN_QUARANTINED] = {"bulkhead_chain_quarantined", "gauge",
                             "1 while the chain is quarantined (inbound held, outbound paused)."},
    [F_CHAIN_HEAD] = {"bulkhead_chain_head_block", "gauge", "Latest block height seen."},
    [F_CHAIN_FINALIZED] = {"bulkhead_chain_finalized_block", "gauge",
                           "Finalized block height agreed by the endpoint quorum."},
    [F_CHAIN_CURSOR] = {"bulkhead_chain_cursor_block", "gauge",
                        "Last block whose events the node has stored."},
    [F_CHAIN_LAG] = {"bulkhead_chain_lag_blocks", "gauge", "Finalized height minus cursor height."},
    [F_CHAIN_MAX_LAG] = {"bulkhead_chain_max_lag_blocks", "gauge",
                         "Lag above which the node reports not ready."},
    [F_CHAIN_QUEUE] = {"bulkhead_chain_queue_depth", "gauge",
                       "Events stored but not yet applied to a vault."},
    [F_CHAIN_OBSERVED] = {"bulkhead_chain_events_observed_total", "counter",
                          "Bridge events observed on the chain."},
    [F_CHAIN_WALLET] = {"bulkhead_chain_wallet_balance_wei", "gauge",
                        "Relayer wallet balance on the chain, in wei (absent when unknown)."},
    [F_CHAIN_WALLET_LOW] = {"bulkhead_chain_wallet_low", "gauge",
                            "1 while the relayer wallet is below the chain's wallet_low_gwei."},
    [F_CHAIN_INFLIGHT] = {"bulkhead_chain_deliveries_inflight", "gauge",
                          "Delivery transactions sent to the chain and not yet mined."},
    [F_CHAIN_DELIV_OK] = {"bulkhead_chain_deliveries_ok_total", "counter",
                          "Deliveries to the chain that succeeded."},
    [F_CHAIN_DELIV_FAILED] = {"bulkhead_chain_deliveries_failed_total", "counter",
                              "Deliveries to the chain that failed."},
    [F_CHAIN_PRICE_READS] = {"bulkhead_chain_price_feed_reads_total", "counter",
                             "Price feed rounds read on the chain and noted in its vault."},
    [F_CHAIN_PRICE_FAILURES] = {"bulkhead_chain_price_feed_failures_total", "counter",
                                "Price feed reads on the chain that gave no price (failed, split, "
                                "<= 0 or from the future): nothing noted."},
    [F_CHAIN_LATENCY] =
        {"bulkhead_chain_delivery_latency_seconds", "histogram",
         "Finality to execution of transfers delivered to the chain: from the node storing the "
         "finalized source event to the receipt of its transaction that executed the transfer, "
         "in seconds. Transfers accepted straight into the outbox (not delayed or held), "
         "accepted and executed since the node started; kept in memory only."},
    [F_CHAIN_ATTEMPTS] =
        {"bulkhead_chain_delivery_attempts", "histogram",
         "Attempts per delivery to the chain (transfers and hop notices): the failed ones "
         "(refused, reverted, not mined) plus the one that went through. Deliveries since the "
         "node started; kept in memory only."},
    [F_CHAIN_TRIPPED] = {"bulkhead_chain_tripped", "gauge",
                         "1 when the circuit breaker froze the chain; reason is the cause."},
    [F_CHAIN_TRIPPED_AT] = {"bulkhead_chain_tripped_time_seconds", "gauge",
                            "When the circuit breaker froze the chain, unix seconds."},
    [F_CHAIN_PORTAL_PAUSED] = {"bulkhead_chain_portal_paused", "gauge",
                               "1 while the chain's Portal is paused by its owner: lane=\"all\" "
                               "the whole Portal, else the lane of that chain."},
    [F_CHAIN_PORTAL_CURSED] = {"bulkhead_chain_portal_cursed", "gauge",
                               "1 while the chain's Portal holds the lane's chain cursed."},
    [F_RPC_CALLS] = {"bulkhead_rpc_calls_total", "counter", "JSON-RPC calls to the endpoint."},
    [F_RPC_FAILURES] = {"bulkhead_rpc_failures_total", "counter",
                        "JSON-RPC calls to the endpoint that failed."},
    [F_RPC_RATE_LIMITED] = {"bulkhead_rpc_rate_limited_total", "counter",
                            "Calls the endpoint refused as rate limited."},
    [F_RPC_DISAGREE] = {"bulkhead_rpc_disagreements_total", "counter",
                        "Answers that disagreed with the endpoint quorum."},
    [F_RPC_LATENCY] = {"bulkhead_rpc_latency_seconds", "gauge",
                       "Latency of the endpoint's recent calls."},
    [F_RPC_HEALTHY] =
        {"bulkhead_rpc_endpoint_healthy", "gauge",
         "1 when the last call to the endpoint succeeded and the quorum has not outvoted it "
         "since it last agreed, else 0 (also before its first call)."},
    [F_VAULT_BRIDGE_ID] = {"bulkhead_vault_bridge_id", "gauge",
                           "Bridge id of the vault's home chain."},
    [F_VAULT_ACCEPTED] = {"bulkhead_vault_accepted_total", "counter",
                          "Messages applied to the vault and sent to the outbox."},
    [F_VAULT_DELAYED] = {"bulkhead_vault_delayed_total", "counter",
                         "Messages applied to the vault that waited in pending."},
    [F_VAULT_HELD] = {"bulkhead_vault_held_total", "counter",
                      "Messages held for an operator (quarantine, capacity)."},
    [F_VAULT_REJECTED] = {"bulkhead_vault_rejected_total", "counter",
                          "Messages refused, by reject reason."},
    [F_VAULT_OUTBOX] = {"bulkhead_vault_outbox_depth", "gauge", "Transfers waiting for delivery."},
    [F_VAULT_OUTBOX_AGE] = {"bulkhead_vault_outbox_oldest_age_seconds", "gauge",
                            "Age of the oldest transfer waiting for delivery."},
    [F_VAULT_PENDING] = {"bulkhead_vault_pending_transfers", "gauge", "Delayed or held transfers."},
    [F_VAULT_PENDING_CAUSE] = {"bulkhead_vault_pending_by_cause", "gauge",
                               "Listed delayed or held transfers, by cause."},
    [F_VAULT_PARKED] = {"bulkhead_vault_parked_transfers", "gauge",
                        "Outbox entries parked after repeated refusals; see vaultctl parked."},
    [F_VAULT_NEXT_RELEASE] = {"bulkhead_vault_next_release_time_seconds", "gauge",
                              "Earliest release time of a delayed transfer, unix seconds."},
    [F_VAULT_QUARANTINED] = {"bulkhead_vault_chain_quarantined", "gauge",
                             "1 for each chain the vault holds quarantined."},
    [F_VAULT_SEGMENT] = {"bulkhead_vault_segment_state", "gauge",
                         "The segment's state: 0 normal, 1 tightened (a price moved), 2 "
                         "quarantined."},
    [F_VAULT_SEGMENT_PERCENT] = {"bulkhead_vault_segment_limit_percent", "gauge",
                                 "Percent of their size the segment's lanes and value limits are "
                                 "at (100 unless tightened)."},
    [F_VAULT_PRICE] = {"bulkhead_vault_price", "gauge",
                       "An asset's usable price for the value limits, in the vault's quote unit."},
    [F_VAULT_PRICE_AGE] = {"bulkhead_vault_price_age_seconds", "gauge",
                           "Seconds since the feed updated the asset's observed price."},
    [F_VAULT_PRICE_USABLE] = {"bulkhead_vault_price_usable", "gauge",
                              "1 if the value limits can use the asset's price, 0 if they fail "
                              "closed (missing, stale or held back)."},
    [F_ASSET_DECIMALS] = {"bulkhead_vault_asset_decimals", "gauge",
                          "Decimals of the asset: 1 token = 10^decimals wei."},
    [F_ASSET_SHORT_LOCKS] = {"bulkhead_vault_short_locks_total", "counter",
                             "Locks refused since start: the token moved less than they claim."},
    [F_ASSET_FORGED_LOCKS] = {"bulkhead_vault_forged_locks_total", "counter",
                              "Locks refused since start: nothing of the token moved."},
    [F_ASSET_LOCKED] = {"bulkhead_vault_locked_wei", "gauge",
                        "Asset locked in custody on the home chain, in its smallest unit."},
    [F_ASSET_OUTSTANDING_ALL] = {"bulkhead_vault_outstanding_all_lanes_wei", "gauge",
                                 "Wrapped supply on every remote chain together."},
    [F_LANE_OUTSTANDING] = {"bulkhead_vault_outstanding_wei", "gauge",
                            "Wrapped supply on the lane's remote chain, counted from each "
                            "transfer's acceptance: minted + in flight."},
    [F_LANE_MINTED] = {"bulkhead_vault_outstanding_minted_wei", "gauge",
                       "Of the lane's outstanding, what was delivered to its chain: minted "
                       "(several attesters: this node's approval counted)."},
    [F_LANE_IN_FLIGHT] = {"bulkhead_vault_outstanding_in_flight_wei", "gauge",
                          "Of the lane's outstanding, what was accepted toward its chain and not "
                          "delivered yet (outbox, parked, delayed); minted + in flight = "
                          "outstanding."},
    [F_LANE_CAP] = {"bulkhead_vault_exposure_cap_wei", "gauge",
                    "Exposure cap on the lane's outstanding (absent: no cap)."},
    [F_LANE_IN_HEADROOM] = {"bulkhead_vault_bucket_in_headroom_wei", "gauge",
                            "Inbound token bucket headroom (absent: no bucket)."},
    [F_LANE_OUT_HEADROOM] = {"bulkhead_vault_bucket_out_headroom_wei", "gauge",
                             "Outbound token bucket headroom (absent: no bucket)."},
    [F_LANE_WINDOW_USED] = {"bulkhead_vault_window_used_wei", "gauge",
                            "Value from the lane's chain in the last 24 hours."},
    [F_LANE_WINDOW_LIMIT] = {"bulkhead_vault_window_limit_wei", "gauge",
                             "24 hour window limit (absent: no limit)."},
    [F_TOTAL_OBSERVED] = {"bulkhead_events_observed_total", "counter",
                          "Bridge events observed on every chain."},
    [F_TOTAL_ACCEPTED] = {"bulkhead_accepted_total", "counter",
                          "Messages accepted by every vault."},
    [F_TOTAL_REJECTED] = {"bulkhead_rejected_total", "counter", "Messages refused by every vault."},
    [F_TOTAL_DELIVERED] = {"bulkhead_delivered_total", "counter",
                           "Transfers delivered to every chain."},
    [F_TOTAL_QUARANTINES] = {"bulkhead_quarantines_total", "counter",
                             "Chains quarantined since the node started."},
    [F_WS_CLIENTS] = {"bulkhead_ws_clients", "gauge", "Websocket clients connected."},
    [F_WS_PUBLISHED] = {"bulkhead_ws_events_published_total", "counter",
                        "Node events offered to the websocket server."},
    [F_WS_DROPPED] = {"bulkhead_ws_events_dropped_total", "counter",
                      "Node events dropped because the server's queue was full."},
    [F_WS_CLIENTS_DROPPED] = {"bulkhead_ws_clients_dropped_total", "counter",
                              "Websocket clients closed because they fell behind."},
    [F_WS_CLIENTS_REFUSED] = {"bulkhead_ws_clients_refused_total", "counter",
                              "Websocket connections refused (client limit)."},
    [F_SUPPLY_DRIFT] = {"bulkhead_supply_drift", "gauge",
                        "Wrapped supply on the chain beyond the vault's outstanding and what is "
                        "in flight, smallest unit; negative when short; 0 when reconciled."},
    [F_CUSTODY_DRIFT] = {"bulkhead_custody_drift", "gauge",
                         "The home Portal's custody balance beyond locked and what is in flight; "
                         "negative when short (custody drained); 0 when reconciled."},
    [F_PORTAL_DRIFT] = {"bulkhead_portal_outstanding_drift", "gauge",
                        "The home Portal's outstanding toward the chain beyond the vault's and "
                        "what is in flight; negative when short; 0 when reconciled."},
    [F_RECON_BLOCK] = {"bulkhead_reconciled_block", "gauge",
                       "Block height of the chain's last reconciliation."},
    [F_RECON_TIME] = {"bulkhead_reconciled_time_seconds", "gauge",
                      "When the chain was last reconciled, unix seconds."},
};

#define MAX_LABELS 4

typedef struct {
    const char *k[MAX_LABELS];
    const char *v[MAX_LABELS];
    int n;
} labels;

typedef struct {
    sbuf fam[F_COUNT_];
    const json_t *chains; /* snapshot "chains", for lane names */
} render_ctx;

static void lb_add(labels *l, const char *k, const char *v)
{
    if (l->n < MAX_LABELS) {
        l->k[l->n] = k;
        l->v[l->n] = v;
        l->n++;
    }
}

static void put_label_value(sbuf *b, const char *v)
{
    for (const char *s = v; *s; s++) {
        if (*s == '\\')
            sb_put(b, "\\\\", 2);
        else if (*s == '"')
            sb_put(b, "\\\"", 2);
        else if (*s == '\n')
            sb_put(b, "\\n", 2);
        else
            sb_put(b, s, 1);
    }
}

/* One sample of family f, its name followed by suffix (a histogram's
 * _bucket, _sum, _count; else ""). */
static void emit_sfx(render_ctx *c, family_id f, const char *suffix, const labels *l,
                     const char *value)
{
    sbuf *b = &c->fam[f];
    sb_puts(b, FAMILIES[f].name);
    sb_puts(b, suffix);
    if (l != NULL && l->n > 0) {
        sb_put(b, "{", 1);
        for (int i = 0; i < l->n; i++) {
            if (i) sb_put(b, ",", 1);
            sb_puts(b, l->k[i]);
            sb_put(b, "=\"", 2);
            put_label_value(b, l->v[i]);
            sb_put(b, "\"", 1);
        }
        sb_put(b, "}", 1);
    }
    sb_put(b, " ", 1);
    sb_puts(b, value);
    sb_put(b, "\n", 1);
}

static void emit(render_ctx *c, family_id f, const labels *l, const char *value)
{
    emit_sfx(c, f, "", l, value);
}

/* A decimal string of 1..78 digits (a u256 at most). */
static int is_decimal(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9') return 0;
    return n > 0 && n <= 78;
}

/* A snapshot value as sample text: integers, booleans (0/1) and decimal
 * strings. Returns: 1 if renderable. */
static int value_text(char *out, size_t cap, const json_t *v)
{
    if (json_is_integer(v)) {
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
        return 1;
    }
    if (json_is_boolean(v)) {
        snprintf(out, cap, "%d", json_is_true(v) ? 1 : 0);
        return 1;
    }
    if (json_is_string(v) && is_decimal(json_string_value(v))) {
        snprintf(out, cap, "%s", json_string_value(v));
        return 1;
    }
    return 0;
}

static void emit_member(render_ctx *c, family_id f, const labels *l, const json_t *obj,
                        const char *key)
{
    char v[96];
    if (value_text(v, sizeof v, json_object_get(obj, key))) emit(c, f, l, v);
}

/* An amount where "0" means "off": no sample then. */
static void emit_limit(render_ctx *c, family_id f, const labels *l, const json_t *obj,
                       const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) return;
    const char *s = json_string_value(v);
    if (!is_decimal(s) || strspn(s, "0") == strlen(s)) return;
    emit(c, f, l, s);
}

static const char *str_member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The name of chain `id` from the snapshot's chains, else its decimal id. */
static const char *chain_name(const render_ctx *c, json_int_t id, char *buf, size_t cap)
{
    size_t i;
    const json_t *ch;
    json_array_foreach(c->chains, i, ch)
    {
        const json_t *bid = json_object_get(ch, "bridge_id");
        const char *name = str_member(ch, "name");
        if (json_is_integer(bid) && json_integer_value(bid) == id && name != NULL) return name;
    }
    snprintf(buf, cap, "%lld", (long long)id);
    return buf;
}

const char *bh_metrics_redact_url(char *out, size_t cap, const char *url)
{
    if (cap == 0) return out;
    out[0] = '\0';
    if (url == NULL) return out;
    const char *sep = strstr(url, "://");
    const char *auth = sep ? sep + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *rest = auth + alen;
    const char *host = auth;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@') host = p + 1;
    int secret_tail = rest[0] != '\0' && strcmp(rest, "/") != 0;
    snprintf(out, cap, "%.*s%.*s%s", (int)(auth - url), url, (int)(auth + alen - host), host,
             secret_tail ? "/\xe2\x80\xa6" : "");
    return out;
}

static void render_node(render_ctx *c, const json_t *snap)
{
    const char *node = str_member(snap, "node");
    if (node != NULL) {
        labels l = {0};
        lb_add(&l, "node", node);
        emit(c, F_NODE_INFO, &l, "1");
    }
    emit_member(c, F_NODE_START, NULL, snap, "started");
    emit_member(c, F_NODE_TIME, NULL, snap, "time");
    const json_t *b = json_object_get(snap, "build");
    const char *ver = str_member(b, "version"), *commit = str_member(b, "commit");
    if (ver && commit) {
        labels l = {0};
        lb_add(&l, "version", ver);
        lb_add(&l, "commit", commit);
        emit(c, F_BUILD_INFO, &l, "1");
    }
    const json_t *p = json_object_get(snap, "process");
    const json_t *cpu = json_object_get(p, "cpu_seconds");
    if (json_is_number(cpu)) {
        char v[32];
        snprintf(v, sizeof v, "%.3f", json_number_value(cpu));
        emit(c, F_PROC_CPU, NULL, v);
    }
    emit_member(c, F_PROC_RSS, NULL, p, "resident_bytes");
    emit_member(c, F_PROC_VSIZE, NULL, p, "virtual_bytes");
    emit_member(c, F_PROC_FDS, NULL, p, "open_fds");
    emit_member(c, F_PROC_MAX_FDS, NULL, p, "max_fds");
    emit_member(c, F_PROC_START, NULL, p, "start_time");
    emit_member(c, F_PROC_THREADS, NULL, p, "threads");
}

static void render_endpoints(render_ctx *c, const char *chain, const json_t *eps)
{
    char seen[16][256];
    size_t n_seen = 0, i;
    const json_t *ep;
    json_array_foreach(eps, i, ep)
    {
        const char *url = str_member(ep, "url");
        if (url == NULL) continue;
        char label[256];
        bh_metrics_redact_url(label, sizeof label, url);
        /* two URLs that redact alike stay two series */
        int dup = 1;
        for (size_t k = 0; k < n_seen; k++)
            if (strcmp(seen[k], label) == 0) dup++;
        if (n_seen < 16) snprintf(seen[n_seen++], sizeof seen[0], "%s", label);
        if (dup > 1) {
            size_t len = strlen(label);
            snprintf(label + len, sizeof label - len, "#%d", dup);
        }
        labels l = {0};
        lb_add(&l, "chain", chain);
        lb_add(&l, "endpoint", label);
        emit_member(c, F_RPC_CALLS, &l, ep, "calls");
        emit_member(c, F_RPC_FAILURES, &l, ep, "failures");
        emit_member(c, F_RPC_RATE_LIMITED, &l, ep, "rate_limited");
        emit_member(c, F_RPC_DISAGREE, &l, ep, "disagreements");
        emit_member(c, F_RPC_HEALTHY, &l, ep, "healthy");
        const json_t *us = json_object_get(ep, "latency_us");
        if (json_is_integer(us) && json_integer_value(us) >= 0) {
            char v[48];
            long long t = (long long)json_integer_value(us);
            snprintf(v, sizeof v, "%lld.%06lld", t / 1000000, t % 1000000);
            emit(c, F_RPC_LATENCY, &l, v);
        }
    }
}

/* One gauge per other chain: 1 when its name is in the chain's member
 * `lanes` (paused_lanes, cursed_lanes). */
static void render_lanes(render_ctx *c, const labels *l, const json_t *ch, int fam,
                         const char *lanes_key)
{
    const char *self = str_member(ch, "name");
    const json_t *lanes = json_object_get(ch, lanes_key);
    if (!json_is_array(lanes)) return;
    size_t i, k;
    const json_t *other, *p;
    json_array_foreach(c->chains, i, other)
    {
        const char *name = str_member(other, "name");
        if (name == NULL || (self && strcmp(name, self) == 0)) continue;
        int on = 0;
        json_array_foreach(lanes, k, p) on |=
            json_is_string(p) && !strcmp(json_string_value(p), name);
        labels b = *l;
        lb_add(&b, "lane", name);
        emit(c, fam, &b, on ? "1" : "0");
    }
}

static void render_portal_paused(render_ctx *c, const labels *l, const json_t *ch)
{
    const json_t *pp = json_object_get(ch, "portal_paused");
    if (!json_is_boolean(pp)) return;
    labels a = *l;
    lb_add(&a, "lane", "all");
    emit(c, F_CHAIN_PORTAL_PAUSED, &a, json_is_true(pp) ? "1" : "0");
    render_lanes(c, l, ch, F_CHAIN_PORTAL_PAUSED, "paused_lanes");
}

/* A finite double as sample text: integers below 2^53 whole ("3600"),
 * others in the fewest digits that read back the same ("0.1"). */
static void float_text(char *out, size_t cap, double v)
{
    if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v) {
        snprintf(out, cap, "%lld", (long long)v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(out, cap, "%.*g", p, v);
        if (strtod(out, NULL) == v) return;
    }
}

static int is_finite(double v)
{
    return v == v && v - v == 0; /* NaN and infinities fail one of these */
}

#define HIST_MAX_BUCKETS 64

/* A snapshot histogram ({"le":[..], "counts":[..], "count":N, "sum":S},
 * counts cumulative) as _bucket (le ascending, then +Inf = count), _sum and
 * _count samples. One that does not hang together (bounds not strictly
 * ascending or not finite, counts decreasing or above count, lengths
 * apart) has no sample at all. */
static void render_hist(render_ctx *c, family_id f, const labels *l, const json_t *h)
{
    const json_t *le = json_object_get(h, "le"), *counts = json_object_get(h, "counts");
    const json_t *count = json_object_get(h, "count"), *sum = json_object_get(h, "sum");
    if (!json_is_array(le) || !json_is_array(counts) || !json_is_integer(count) ||
        !json_is_number(sum))
        return;
    size_t n = json_array_size(le);
    if (n != json_array_size(counts) || n > HIST_MAX_BUCKETS) return;
    json_int_t prev_count = 0, total = json_integer_value(count);
    double prev_le = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *b = json_array_get(le, i), *k = json_array_get(counts, i);
        if (!json_is_number(b) || !json_is_integer(k)) return;
        double bv = json_number_value(b);
        json_int_t kv = json_integer_value(k);
        if (!is_finite(bv) || (i > 0 && bv <= prev_le) || kv < prev_count || kv > total) return;
        prev_le = bv;
        prev_count = kv;
    }
    if (total < 0 || !is_finite(json_number_value(sum))) return;
    char v[48], bound[48];
    for (size_t i = 0; i <= n; i++) {
        labels bl = *l;
        if (i < n)
            float_text(bound, sizeof bound, json_number_value(json_array_get(le, i)));
        else
            snprintf(bound, sizeof bound, "+Inf");
        lb_add(&bl, "le", bound);
        snprintf(v, sizeof v, "%lld",
                 (long long)(i < n ? json_integer_value(json_array_get(counts, i)) : total));
        emit_sfx(c, f, "_bucket", &bl, v);
    }
    float_text(v, sizeof v, json_number_value(sum));
    emit_sfx(c, f, "_sum", l, v);
    snprintf(v, sizeof v, "%lld", (long long)total);
    emit_sfx(c, f, "_count", l, v);
}

static void render_chains(render_ctx *c)
{
    size_t i;
    const json_t *ch;
    json_array_foreach(c->chains, i, ch)
    {
        const char *name = str_member(ch, "name");
        if (name == NULL) continue;
        labels l = {0};
        lb_add(&l, "chain", name);
        emit_member(c, F_CHAIN_BRIDGE_ID, &l, ch, "bridge_id");
        emit_member(c, F_CHAIN_QUARANTINED, &l, ch, "quarantined");
        emit_member(c, F_CHAIN_HEAD, &l, ch, "head");
        emit_member(c, F_CHAIN_FINALIZED, &l, ch, "finalized");
        emit_member(c, F_CHAIN_CURSOR, &l, ch, "cursor");
        emit_member(c, F_CHAIN_LAG, &l, ch, "lag");
        emit_member(c, F_CHAIN_MAX_LAG, &l, ch, "max_lag");
        emit_member(c, F_CHAIN_QUEUE, &l, ch, "queue_depth");
        emit_member(c, F_CHAIN_OBSERVED, &l, ch, "events_observed");
        emit_member(c, F_CHAIN_WALLET, &l, ch, "wallet_wei");
        emit_member(c, F_CHAIN_WALLET_LOW, &l, ch, "wallet_low");
        emit_member(c, F_CHAIN_INFLIGHT, &l, ch, "inflight");
        emit_member(c, F_CHAIN_DELIV_OK, &l, ch, "deliveries_ok");
        emit_member(c, F_CHAIN_DELIV_FAILED, &l, ch, "deliveries_failed");
        emit_member(c, F_CHAIN_PRICE_READS, &l, ch, "price_reads");
        emit_member(c, F_CHAIN_PRICE_FAILURES, &l, ch, "price_failures");
        render_hist(c, F_CHAIN_LATENCY, &l, json_object_get(ch, "delivery_latency"));
        render_hist(c, F_CHAIN_ATTEMPTS, &l, json_object_get(ch, "delivery_attempts"));
        const json_t *trip = json_object_get(ch, "tripped");
        const char *cause = str_member(trip, "cause");
        if (json_is_object(trip) && cause != NULL) {
            labels t = l;
            lb_add(&t, "reason", cause);
            emit(c, F_CHAIN_TRIPPED, &t, "1");
            emit_member(c, F_CHAIN_TRIPPED_AT, &t, trip, "at");
        }
        render_portal_paused(c, &l, ch);
        render_lanes(c, &l, ch, F_CHAIN_PORTAL_CURSED, "cursed_lanes");
        render_endpoints(c, name, json_object_get(ch, "endpoints"));
    }
}

/* The asset label: the symbol, or the token address when the symbol is
 * empty or another asset of the vault has it too. */
static const char *asset_label(const json_t *assets, const json_t *asset)
{
    const char *sym = str_member(asset, "symbol");
    const char *tok = str_member(asset, "token");
    if (sym == NULL || sym[0] == '\0') return tok;
    size_t i;
    const json_t *other;
    json_array_foreach(assets, i, other)
    {
        const char *s = str_member(other, "symbol");
        if (other != asset && s != NULL && strcmp(s, sym) == 0) return tok ? tok : sym;
    }
    return sym;
}

static void render_assets(render_ctx *c, const char *vault, const json_t *assets)
{
    size_t i, j;
    const json_t *a, *lane;
    json_array_foreach(assets, i, a)
    {
        const char *asset = asset_label(assets, a);
        if (asset == NULL) continue;
        labels l = {0};
        lb_add(&l, "vault", vault);
        lb_add(&l, "asset", asset);
        emit_member(c, F_ASSET_DECIMALS, &l, a, "decimals");
        emit_member(c, F_ASSET_LOCKED, &l, a, "locked");
        emit_member(c, F_ASSET_SHORT_LOCKS, &l, a, "short_locks");
        emit_member(c, F_ASSET_FORGED_LOCKS, &l, a, "forged_locks");
        emit_member(c, F_ASSET_OUTSTANDING_ALL, &l, a, "outstanding_total");
        json_array_foreach(json_object_get(a, "lanes"), j, lane)
        {
            const json_t *id = json_object_get(lane, "chain");
            if (!json_is_integer(id)) continue;
            char buf[24];
            labels ll = l;
            lb_add(&ll, "lane", chain_name(c, json_integer_value(id), buf, sizeof buf));
            emit_member(c, F_LANE_OUTSTANDING, &ll, lane, "outstanding");
            emit_member(c, F_LANE_MINTED, &ll, lane, "minted");
            emit_member(c, F_LANE_IN_FLIGHT, &ll, lane, "in_flight");
            emit_limit(c, F_LANE_CAP, &ll, lane, "cap");
            emit_member(c, F_LANE_IN_HEADROOM, &ll, lane, "in_headroom");
            emit_member(c, F_LANE_OUT_HEADROOM, &ll, lane, "out_headroom");
            emit_member(c, F_LANE_WINDOW_USED, &ll, lane, "window_used");
            emit_limit(c, F_LANE_WINDOW_LIMIT, &ll, lane, "window_limit");
        }
    }
}

#define MAX_CAUSES 32

static void render_pending(render_ctx *c, const labels *vl, const json_t *list)
{
    const char *cause[MAX_CAUSES];
    unsigned count[MAX_CAUSES];
    size_t n = 0, i;
    json_int_t next = 0;
    const json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *cs = str_member(p, "cause");
        if (cs == NULL) cs = "unknown";
        size_t k = 0;
        while (k < n && strcmp(cause[k], cs) != 0)
            k++;
        if (k == n && n < MAX_CAUSES) {
            cause[n] = cs;
            count[n++] = 0;
        }
        if (k < n) count[k]++;
        const json_t *at = json_object_get(p, "release_at");
        if (json_is_integer(at) && json_integer_value(at) > 0 &&
            (next == 0 || json_integer_value(at) < next))
            next = json_integer_value(at);
    }
    for (size_t k = 0; k < n; k++) {
        char v[24];
        labels l = *vl;
        lb_add(&l, "reason", cause[k]);
        snprintf(v, sizeof v, "%u", count[k]);
        emit(c, F_VAULT_PENDING_CAUSE, &l, v);
    }
    if (next > 0) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)next);
        emit(c, F_VAULT_NEXT_RELEASE, vl, v);
    }
}

static void render_vaults(render_ctx *c, const json_t *vaults)
{
    size_t i, j;
    const json_t *v, *q;
    json_array_foreach(vaults, i, v)
    {
        const char *name = str_member(v, "name");
        if (name == NULL) continue;
        labels l = {0};
        lb_add(&l, "vault", name);
        emit_member(c, F_VAULT_BRIDGE_ID, &l, v, "chain");
        emit_member(c, F_VAULT_ACCEPTED, &l, v, "accepted");
        emit_member(c, F_VAULT_DELAYED, &l, v, "delayed");
        emit_member(c, F_VAULT_HELD, &l, v, "held");
        const char *reason;
        const json_t *count;
        json_object_foreach((json_t *)json_object_get(v, "rejected"), reason, count)
        {
            labels r = l;
            lb_add(&r, "reason", reason);
            char val[32];
            if (value_text(val, sizeof val, count)) emit(c, F_VAULT_REJECTED, &r, val);
        }
        emit_member(c, F_VAULT_OUTBOX, &l, v, "outbox_depth");
        emit_member(c, F_VAULT_OUTBOX_AGE, &l, v, "outbox_oldest_age");
        emit_member(c, F_VAULT_PENDING, &l, v, "pending");
        emit_member(c, F_VAULT_PARKED, &l, v, "parked");
        json_array_foreach(json_object_get(v, "quarantined"), j, q)
        {
            if (!json_is_integer(q)) continue;
            char buf[24];
            labels ql = l;
            lb_add(&ql, "chain", chain_name(c, json_integer_value(q), buf, sizeof buf));
            emit(c, F_VAULT_QUARANTINED, &ql, "1");
        }
        const json_t *seg = json_object_get(v, "segment");
        emit_member(c, F_VAULT_SEGMENT, &l, seg, "code");
        emit_member(c, F_VAULT_SEGMENT_PERCENT, &l, seg, "percent");
        json_array_foreach(json_object_get(v, "prices"), j, q)
        {
            const char *sym = str_member(q, "symbol");
            if (sym == NULL) continue;
            labels pl = l;
            lb_add(&pl, "asset", sym);
            if (json_is_true(json_object_get(q, "usable")))
                emit_member(c, F_VAULT_PRICE, &pl, q, "price");
            const json_t *age = json_object_get(q, "age");
            if (json_is_integer(age) && json_integer_value(age) >= 0)
                emit_member(c, F_VAULT_PRICE_AGE, &pl, q, "age");
            emit_member(c, F_VAULT_PRICE_USABLE, &pl, q, "usable");
        }
        render_pending(c, &l, json_object_get(v, "pending_list"));
        render_assets(c, name, json_object_get(v, "assets"));
    }
}

static void render_totals(render_ctx *c, const json_t *t)
{
    emit_member(c, F_TOTAL_OBSERVED, NULL, t, "events_observed");
    emit_member(c, F_TOTAL_ACCEPTED, NULL, t, "accepted");
    emit_member(c, F_TOTAL_REJECTED, NULL, t, "rejected");
    emit_member(c, F_TOTAL_DELIVERED, NULL, t, "delivered");
    emit_member(c, F_TOTAL_QUARANTINES, NULL, t, "quarantines");
}

/* "reconcile": each chain's last reconciliation; drift is signed. */
static void render_reconcile(render_ctx *c, const json_t *rec)
{
    size_t i, k;
    const json_t *r, *l;
    json_array_foreach(rec, i, r)
    {
        const char *chain = str_member(r, "chain");
        if (chain == NULL) continue;
        labels cl = {0};
        lb_add(&cl, "chain", chain);
        emit_member(c, F_RECON_BLOCK, &cl, r, "block");
        emit_member(c, F_RECON_TIME, &cl, r, "time");
        json_array_foreach(json_object_get(r, "lines"), k, l)
        {
            const char *check = str_member(l, "check"), *vault = str_member(l, "vault");
            const char *asset = str_member(l, "asset"), *lane = str_member(l, "lane");
            const char *drift = str_member(l, "drift");
            if (!check || !vault || !asset || !lane || !drift) continue;
            if (!is_decimal(drift + (drift[0] == '-'))) continue;
            labels ll = {0};
            lb_add(&ll, "vault", vault);
            lb_add(&ll, "asset", asset);
            family_id f;
            if (!strcmp(check, "supply")) {
                f = F_SUPPLY_DRIFT;
                lb_add(&ll, "chain", lane);
            } else if (!strcmp(check, "portal_outstanding")) {
                f = F_PORTAL_DRIFT;
                lb_add(&ll, "chain", lane);
            } else if (!strcmp(check, "custody")) {
                f = F_CUSTODY_DRIFT;
            } else {
                continue;
            }
            emit(c, f, &ll, drift);
        }
    }
}

static void render_operator(render_ctx *c, const json_t *o)
{
    emit_member(c, F_WS_CLIENTS, NULL, o, "clients");
    emit_member(c, F_WS_PUBLISHED, NULL, o, "events_published");
    emit_member(c, F_WS_DROPPED, NULL, o, "events_dropped");
    emit_member(c, F_WS_CLIENTS_DROPPED, NULL, o, "clients_dropped");
    emit_member(c, F_WS_CLIENTS_REFUSED, NULL, o, "clients_refused");
}

int bh_metrics_render(char **out, size_t *len, const json_t *snapshot)
{
    if (out == NULL) return BH_EINVAL;
    *out = NULL;
    if (len) *len = 0;
    if (!json_is_object(snapshot)) return BH_EINVAL;

    render_ctx c;
    memset(&c, 0, sizeof c);
    c.chains = json_object_get(snapshot, "chains");
    render_node(&c, snapshot);
    render_chains(&c);
    render_vaults(&c, json_object_get(snapshot, "vaults"));
    render_totals(&c, json_object_get(snapshot, "totals"));
    render_operator(&c, json_object_get(snapshot, "operator"));
    render_reconcile(&c, json_object_get(snapshot, "reconcile"));

    sbuf all = {0};
    int oom = 0;
    for (int f = 0; f < F_COUNT_; f++) {
        oom |= c.fam[f].oom;
        if (c.fam[f].len > 0 && !oom) {
            sb_puts(&all, "# HELP ");
            sb_puts(&all, FAMILIES[f].name);
            sb_put(&all, " ", 1);
            sb_puts(&all, FAMILIES[f].help);
            sb_puts(&all, "\n# TYPE ");
            sb_puts(&all, FAMILIES[f].name);
            sb_put(&all, " ", 1);
            sb_puts(&all, FAMILIES[f].type);
            sb_put(&all, "\n", 1);
            sb_put(&all, c.fam[f].p, c.fam[f].len);
        }
        free(c.fam[f].p);
    }
    if (!oom && all.p == NULL) sb_put(&all, "", 0);
    if (oom || all.oom) {
        free(all.p);
        return BH_ENOMEM;
    }
    *out = all.p;
    if (len) *len = all.len;
    return BH_OK;
}
