/* bh_metrics_render: a hand-built snapshot, read back with a strict parser
 * of the Prometheus text format 0.0.4 written here (not the renderer's
 * code), and exact values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_metrics.h"
#include "prom_expo.h"

/* ---------------------------------------------------------- the snapshot */

static const char SNAPSHOT[] =
    "{\"node\":\"node-1\",\"time\":1790000000,\"started\":1789990000,"
    "\"build\":{\"version\":\"0.1.0\",\"commit\":\"42da88e424b1\"},"
    "\"process\":{\"cpu_seconds\":12.5,\"resident_bytes\":7340032,\"virtual_bytes\":99999744,"
    "  \"open_fds\":17,\"max_fds\":1024,\"start_time\":1789990000,\"threads\":11},"
    "\"chains\":["
    " {\"name\":\"alpha\",\"bridge_id\":1,\"quarantined\":false,\"head\":120,\"finalized\":118,"
    "  \"cursor\":117,\"lag\":1,\"max_lag\":64,\"queue_depth\":3,\"events_observed\":10,"
    "  \"wallet_wei\":\"9999000000000000000000\",\"wallet_low\":true,\"inflight\":5,"
    "  \"deliveries_ok\":4,\"deliveries_failed\":1,"
    "  \"delivery_latency\":{\"le\":[0.1,0.25,0.5,1,2.5,3600],\"counts\":[0,1,1,3,4,4],"
    "    \"count\":5,\"sum\":3612.345},"
    "  \"delivery_attempts\":{\"le\":[1,2,3,5,8],\"counts\":[3,4,4,4,4],\"count\":4,"
    "    \"sum\":5},"
    "  \"endpoints\":["
    "   {\"url\":\"http://127.0.0.1:8545\",\"calls\":7,\"failures\":2,\"rate_limited\":1,"
    "    \"disagreements\":0,\"latency_us\":900,\"healthy\":true},"
    "   {\"url\":\"https://user:pw@rpc.example/v3/SECRETKEY\",\"calls\":5,\"failures\":0,"
    "    \"rate_limited\":0,\"disagreements\":3,\"latency_us\":1250000,\"healthy\":false},"
    "   {\"url\":\"https://rpc.example/v3/OTHERKEY\",\"calls\":1,\"failures\":0,"
    "    \"rate_limited\":0,\"disagreements\":0,\"latency_us\":0,\"healthy\":true}],"
    "  \"tripped\":null},"
    " {\"name\":\"beta\",\"bridge_id\":2,\"quarantined\":true,\"head\":50,\"finalized\":48,"
    "  \"cursor\":40,\"lag\":8,\"max_lag\":64,\"queue_depth\":0,\"events_observed\":2,"
    "  "
    "\"wallet_wei\":\"\",\"wallet_low\":false,\"inflight\":0,\"deliveries_ok\":0,\"deliveries_"
    "failed\":0,\"endpoints\":[],"
    "  \"delivery_latency\":{\"le\":[0.1,1],\"counts\":[0,0],\"count\":0,\"sum\":0.0},"
    "  \"tripped\":{\"cause\":\"forged_lock\",\"evidence\":\"tx 0xab: no transfer\","
    "              \"at\":1789999000}}],"
    "\"vaults\":["
    " {\"name\":\"alpha\",\"chain\":1,\"accepted\":3,\"delayed\":1,\"held\":2,"
    "  \"rejected\":{\"exceeds_outstanding\":2,\"bad_signature\":1},"
    "  "
    "\"outbox_depth\":5,\"outbox_oldest_age\":12,\"pending\":3,\"parked\":2,\"quarantined\":[2,9],"
    "  \"assets\":["
    "   {\"token\":\"0x00000000000000000000000000000000000000aa\",\"symbol\":\"TKA\","
    "    \"decimals\":6,\"locked\":\"100000000\",\"outstanding_total\":\"60000000\","
    "    \"short_locks\":4,\"forged_locks\":1,"
    "    \"lanes\":[{\"chain\":2,\"outstanding\":\"60000000\",\"minted\":\"50000000\","
    "      \"in_flight\":\"10000000\",\"cap\":\"0\",\"in_headroom\":\"\","
    "      \"out_headroom\":\"500\",\"window_used\":\"60\",\"window_limit\":\"0\"},"
    "     {\"chain\":9,\"outstanding\":\"0\",\"cap\":\"70000000\",\"in_headroom\":\"7\","
    "      \"out_headroom\":\"\",\"window_used\":\"0\",\"window_limit\":\"1000\"}]},"
    "   {\"token\":\"0x00000000000000000000000000000000000000bb\","
    "    \"symbol\":\"we\\\"ird\\\\sym\\nbol\",\"decimals\":18,"
    "    \"locked\":\"340282366920938463463374607431768211455\",\"outstanding_total\":\"0\","
    "    \"lanes\":[]},"
    "   {\"token\":\"0x00000000000000000000000000000000000000cc\",\"symbol\":\"TKA\","
    "    \"decimals\":0,\"locked\":\"1\",\"outstanding_total\":\"0\",\"lanes\":[]}],"
    "  \"pending_list\":["
    "   {\"id\":1,\"cause\":\"bucket\",\"release_at\":1790000300,\"from\":1,\"to\":2,"
    "    \"sequence\":7,\"amount\":\"5\",\"symbol\":\"TKA\"},"
    "   {\"id\":2,\"cause\":\"bucket\",\"release_at\":1790000100,\"from\":1,\"to\":2,"
    "    \"sequence\":8,\"amount\":\"6\",\"symbol\":\"TKA\"},"
    "   {\"id\":3,\"cause\":\"capacity\",\"release_at\":0,\"from\":1,\"to\":2,"
    "    \"sequence\":9,\"amount\":\"7000\",\"symbol\":\"TKA\"}]}],"
    "\"totals\":{\"events_observed\":12,\"accepted\":3,\"rejected\":3,\"delivered\":4,"
    "  \"quarantines\":1},"
    "\"operator\":{\"clients\":2,\"events_published\":40,\"events_dropped\":1,"
    "  \"clients_dropped\":1,\"clients_refused\":0}}";

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (j == NULL) fail_msg("test snapshot is not JSON: %s (line %d)", jerr.text, jerr.line);
    return j;
}

static char *render(const json_t *snap)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(bh_metrics_render(&text, &len, snap), BH_OK);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    return text;
}

static void test_metrics_render_parses_strictly(void **state)
{
    (void)state;
    json_t *snap = load(SNAPSHOT);
    char *text = render(snap);
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    if (expo_parse(e, text) != 0) fail_msg("%s\n%s", e->err, text);
    for (int i = 0; i < e->nf; i++) {
        /* ours, or the standard process_* every Prometheus client exports */
        assert_true(strncmp(e->f[i].name, "bulkhead_", 9) == 0 ||
                    strncmp(e->f[i].name, "process_", 8) == 0);
        /* counters and only counters end in _total */
        size_t n = strlen(e->f[i].name);
        int total = n > 6 && strcmp(e->f[i].name + n - 6, "_total") == 0;
        assert_int_equal(total, strcmp(e->f[i].type, "counter") == 0);
    }
    free(e);
    free(text);
    json_decref(snap);
}

static void test_metrics_render_exact_values(void **state)
{
    (void)state;
    json_t *snap = load(SNAPSHOT);
    char *text = render(snap);
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    if (expo_parse(e, text) != 0) fail_msg("%s", e->err);

    CHECK_VALUE(e, "1", "bulkhead_node_info", 1, "node", "node-1");
    CHECK_VALUE(e, "1", "bulkhead_build_info", 2, "version", "0.1.0", "commit", "42da88e424b1");
    CHECK_VALUE(e, "12.500", "process_cpu_seconds_total", 0);
    CHECK_VALUE(e, "7340032", "process_resident_memory_bytes", 0);
    CHECK_VALUE(e, "99999744", "process_virtual_memory_bytes", 0);
    CHECK_VALUE(e, "17", "process_open_fds", 0);
    CHECK_VALUE(e, "1024", "process_max_fds", 0);
    CHECK_VALUE(e, "1789990000", "process_start_time_seconds", 0);
    CHECK_VALUE(e, "11", "bulkhead_process_threads", 0);
    CHECK_VALUE(e, "1789990000", "bulkhead_node_start_time_seconds", 0);
    CHECK_VALUE(e, "1790000000", "bulkhead_node_snapshot_time_seconds", 0);
    /* chains */
    CHECK_VALUE(e, "2", "bulkhead_chain_bridge_id", 1, "chain", "beta");
    CHECK_VALUE(e, "0", "bulkhead_chain_quarantined", 1, "chain", "alpha");
    CHECK_VALUE(e, "1", "bulkhead_chain_quarantined", 1, "chain", "beta");
    CHECK_VALUE(e, "120", "bulkhead_chain_head_block", 1, "chain", "alpha");
    CHECK_VALUE(e, "118", "bulkhead_chain_finalized_block", 1, "chain", "alpha");
    CHECK_VALUE(e, "117", "bulkhead_chain_cursor_block", 1, "chain", "alpha");
    CHECK_VALUE(e, "8", "bulkhead_chain_lag_blocks", 1, "chain", "beta");
    CHECK_VALUE(e, "64", "bulkhead_chain_max_lag_blocks", 1, "chain", "beta");
    CHECK_VALUE(e, "3", "bulkhead_chain_queue_depth", 1, "chain", "alpha");
    CHECK_VALUE(e, "10", "bulkhead_chain_events_observed_total", 1, "chain", "alpha");
    CHECK_VALUE(e, "9999000000000000000000", "bulkhead_chain_wallet_balance_wei", 1, "chain",
                "alpha");
    CHECK_ABSENT(e, "bulkhead_chain_wallet_balance_wei", 1, "chain", "beta"); /* "" = unknown */
    CHECK_VALUE(e, "1", "bulkhead_chain_wallet_low", 1, "chain", "alpha");
    CHECK_VALUE(e, "0", "bulkhead_chain_wallet_low", 1, "chain", "beta");
    /* histograms: cumulative buckets as given, +Inf = count, bounds in the
     * fewest digits; one that saw nothing still has every bucket */
    const char *lat = "bulkhead_chain_delivery_latency_seconds_bucket";
    CHECK_VALUE(e, "0", lat, 2, "chain", "alpha", "le", "0.1");
    CHECK_VALUE(e, "1", lat, 2, "chain", "alpha", "le", "0.25");
    CHECK_VALUE(e, "1", lat, 2, "chain", "alpha", "le", "0.5");
    CHECK_VALUE(e, "3", lat, 2, "chain", "alpha", "le", "1");
    CHECK_VALUE(e, "4", lat, 2, "chain", "alpha", "le", "2.5");
    CHECK_VALUE(e, "4", lat, 2, "chain", "alpha", "le", "3600");
    CHECK_VALUE(e, "5", lat, 2, "chain", "alpha", "le", "+Inf");
    CHECK_VALUE(e, "3612.345", "bulkhead_chain_delivery_latency_seconds_sum", 1, "chain", "alpha");
    CHECK_VALUE(e, "5", "bulkhead_chain_delivery_latency_seconds_count", 1, "chain", "alpha");
    CHECK_VALUE(e, "0", lat, 2, "chain", "beta", "le", "0.1");
    CHECK_VALUE(e, "0", lat, 2, "chain", "beta", "le", "+Inf");
    CHECK_VALUE(e, "0", "bulkhead_chain_delivery_latency_seconds_sum", 1, "chain", "beta");
    CHECK_VALUE(e, "0", "bulkhead_chain_delivery_latency_seconds_count", 1, "chain", "beta");
    const char *att = "bulkhead_chain_delivery_attempts_bucket";
    CHECK_VALUE(e, "3", att, 2, "chain", "alpha", "le", "1");
    CHECK_VALUE(e, "4", att, 2, "chain", "alpha", "le", "2");
    CHECK_VALUE(e, "4", att, 2, "chain", "alpha", "le", "8");
    CHECK_VALUE(e, "4", att, 2, "chain", "alpha", "le", "+Inf");
    CHECK_VALUE(e, "5", "bulkhead_chain_delivery_attempts_sum", 1, "chain", "alpha");
    CHECK_VALUE(e, "4", "bulkhead_chain_delivery_attempts_count", 1, "chain", "alpha");
    CHECK_ABSENT(e, "bulkhead_chain_delivery_attempts_count", 1, "chain", "beta"); /* none given */
    assert_non_null(strstr(text, "# TYPE bulkhead_chain_delivery_latency_seconds histogram\n"
                                 "bulkhead_chain_delivery_latency_seconds_bucket{chain=\"alpha\","
                                 "le=\"0.1\"} 0\n"));
    assert_non_null(strstr(text,
                           "bulkhead_chain_delivery_latency_seconds_bucket{chain=\"alpha\","
                           "le=\"3600\"} 4\n"
                           "bulkhead_chain_delivery_latency_seconds_bucket{chain=\"alpha\","
                           "le=\"+Inf\"} 5\n"
                           "bulkhead_chain_delivery_latency_seconds_sum{chain=\"alpha\"} "
                           "3612.345\n"
                           "bulkhead_chain_delivery_latency_seconds_count{chain=\"alpha\"} 5\n"));
    CHECK_VALUE(e, "5", "bulkhead_chain_deliveries_inflight", 1, "chain", "alpha");
    CHECK_VALUE(e, "4", "bulkhead_chain_deliveries_ok_total", 1, "chain", "alpha");
    CHECK_VALUE(e, "1", "bulkhead_chain_deliveries_failed_total", 1, "chain", "alpha");
    CHECK_VALUE(e, "1", "bulkhead_chain_tripped", 2, "chain", "beta", "reason", "forged_lock");
    CHECK_VALUE(e, "1789999000", "bulkhead_chain_tripped_time_seconds", 2, "chain", "beta",
                "reason", "forged_lock");
    CHECK_ABSENT(e, "bulkhead_chain_tripped", 1, "chain", "alpha");
    /* endpoints: secrets redacted, two that redact alike stay apart */
    CHECK_VALUE(e, "7", "bulkhead_rpc_calls_total", 2, "chain", "alpha", "endpoint",
                "http://127.0.0.1:8545");
    CHECK_VALUE(e, "2", "bulkhead_rpc_failures_total", 2, "chain", "alpha", "endpoint",
                "http://127.0.0.1:8545");
    CHECK_VALUE(e, "1", "bulkhead_rpc_rate_limited_total", 2, "chain", "alpha", "endpoint",
                "http://127.0.0.1:8545");
    CHECK_VALUE(e, "0.000900", "bulkhead_rpc_latency_seconds", 2, "chain", "alpha", "endpoint",
                "http://127.0.0.1:8545");
    CHECK_VALUE(e, "1", "bulkhead_rpc_endpoint_healthy", 2, "chain", "alpha", "endpoint",
                "http://127.0.0.1:8545");
    CHECK_VALUE(e, "3", "bulkhead_rpc_disagreements_total", 2, "chain", "alpha", "endpoint",
                "https://rpc.example/\xe2\x80\xa6");
    CHECK_VALUE(e, "1.250000", "bulkhead_rpc_latency_seconds", 2, "chain", "alpha", "endpoint",
                "https://rpc.example/\xe2\x80\xa6");
    CHECK_VALUE(e, "0", "bulkhead_rpc_endpoint_healthy", 2, "chain", "alpha", "endpoint",
                "https://rpc.example/\xe2\x80\xa6");
    CHECK_VALUE(e, "1", "bulkhead_rpc_calls_total", 2, "chain", "alpha", "endpoint",
                "https://rpc.example/\xe2\x80\xa6#2");
    assert_null(strstr(text, "SECRETKEY"));
    assert_null(strstr(text, "OTHERKEY"));
    assert_null(strstr(text, "pw@"));
    /* vaults */
    CHECK_VALUE(e, "1", "bulkhead_vault_bridge_id", 1, "vault", "alpha");
    CHECK_VALUE(e, "3", "bulkhead_vault_accepted_total", 1, "vault", "alpha");
    CHECK_VALUE(e, "1", "bulkhead_vault_delayed_total", 1, "vault", "alpha");
    CHECK_VALUE(e, "2", "bulkhead_vault_held_total", 1, "vault", "alpha");
    CHECK_VALUE(e, "2", "bulkhead_vault_rejected_total", 2, "vault", "alpha", "reason",
                "exceeds_outstanding");
    CHECK_VALUE(e, "1", "bulkhead_vault_rejected_total", 2, "vault", "alpha", "reason",
                "bad_signature");
    CHECK_VALUE(e, "5", "bulkhead_vault_outbox_depth", 1, "vault", "alpha");
    CHECK_VALUE(e, "12", "bulkhead_vault_outbox_oldest_age_seconds", 1, "vault", "alpha");
    CHECK_VALUE(e, "3", "bulkhead_vault_pending_transfers", 1, "vault", "alpha");
    CHECK_VALUE(e, "2", "bulkhead_vault_parked_transfers", 1, "vault", "alpha");
    CHECK_VALUE(e, "2", "bulkhead_vault_pending_by_cause", 2, "vault", "alpha", "reason", "bucket");
    CHECK_VALUE(e, "1", "bulkhead_vault_pending_by_cause", 2, "vault", "alpha", "reason",
                "capacity");
    /* the earliest release among timed ones; 0 (held for an operator) is not a time */
    CHECK_VALUE(e, "1790000100", "bulkhead_vault_next_release_time_seconds", 1, "vault", "alpha");
    CHECK_VALUE(e, "1", "bulkhead_vault_chain_quarantined", 2, "vault", "alpha", "chain", "beta");
    CHECK_VALUE(e, "1", "bulkhead_vault_chain_quarantined", 2, "vault", "alpha", "chain", "9");
    /* assets: a symbol used twice falls back to the token address */
    CHECK_VALUE(e, "6", "bulkhead_vault_asset_decimals", 2, "vault", "alpha", "asset",
                "0x00000000000000000000000000000000000000aa");
    CHECK_VALUE(e, "100000000", "bulkhead_vault_locked_wei", 2, "vault", "alpha", "asset",
                "0x00000000000000000000000000000000000000aa");
    CHECK_VALUE(e, "1", "bulkhead_vault_locked_wei", 2, "vault", "alpha", "asset",
                "0x00000000000000000000000000000000000000cc");
    CHECK_VALUE(e, "4", "bulkhead_vault_short_locks_total", 2, "vault", "alpha", "asset",
                "0x00000000000000000000000000000000000000aa");
    CHECK_VALUE(e, "1", "bulkhead_vault_forged_locks_total", 2, "vault", "alpha", "asset",
                "0x00000000000000000000000000000000000000aa");
    CHECK_VALUE(e, "60000000", "bulkhead_vault_outstanding_all_lanes_wei", 2, "vault", "alpha",
                "asset", "0x00000000000000000000000000000000000000aa");
    /* escaped label values come back exactly; u128 max stays exact */
    CHECK_VALUE(e, "340282366920938463463374607431768211455", "bulkhead_vault_locked_wei", 2,
                "vault", "alpha", "asset", "we\"ird\\sym\nbol");
    assert_non_null(strstr(text, "asset=\"we\\\"ird\\\\sym\\nbol\""));
    /* lanes: named by the remote chain, by id when the snapshot has no name */
    const char *aa = "0x00000000000000000000000000000000000000aa";
    CHECK_VALUE(e, "60000000", "bulkhead_vault_outstanding_wei", 3, "vault", "alpha", "asset", aa,
                "lane", "beta");
    CHECK_VALUE(e, "0", "bulkhead_vault_outstanding_wei", 3, "vault", "alpha", "asset", aa, "lane",
                "9");
    /* minted + in flight = outstanding; a lane without the split has neither */
    CHECK_VALUE(e, "50000000", "bulkhead_vault_outstanding_minted_wei", 3, "vault", "alpha",
                "asset", aa, "lane", "beta");
    CHECK_VALUE(e, "10000000", "bulkhead_vault_outstanding_in_flight_wei", 3, "vault", "alpha",
                "asset", aa, "lane", "beta");
    CHECK_ABSENT(e, "bulkhead_vault_outstanding_minted_wei", 3, "vault", "alpha", "asset", aa,
                 "lane", "9");
    CHECK_ABSENT(e, "bulkhead_vault_outstanding_in_flight_wei", 3, "vault", "alpha", "asset", aa,
                 "lane", "9");
    CHECK_ABSENT(e, "bulkhead_vault_exposure_cap_wei", 3, "vault", "alpha", "asset", aa, "lane",
                 "beta"); /* cap 0 = none */
    CHECK_VALUE(e, "70000000", "bulkhead_vault_exposure_cap_wei", 3, "vault", "alpha", "asset", aa,
                "lane", "9");
    CHECK_ABSENT(e, "bulkhead_vault_bucket_in_headroom_wei", 3, "vault", "alpha", "asset", aa,
                 "lane", "beta"); /* "" = no bucket */
    CHECK_VALUE(e, "7", "bulkhead_vault_bucket_in_headroom_wei", 3, "vault", "alpha", "asset", aa,
                "lane", "9");
    CHECK_VALUE(e, "500", "bulkhead_vault_bucket_out_headroom_wei", 3, "vault", "alpha", "asset",
                aa, "lane", "beta");
    CHECK_VALUE(e, "60", "bulkhead_vault_window_used_wei", 3, "vault", "alpha", "asset", aa, "lane",
                "beta");
    CHECK_ABSENT(e, "bulkhead_vault_window_limit_wei", 3, "vault", "alpha", "asset", aa, "lane",
                 "beta");
    CHECK_VALUE(e, "1000", "bulkhead_vault_window_limit_wei", 3, "vault", "alpha", "asset", aa,
                "lane", "9");
    /* totals and the server's own counters */
    CHECK_VALUE(e, "12", "bulkhead_events_observed_total", 0);
    CHECK_VALUE(e, "3", "bulkhead_accepted_total", 0);
    CHECK_VALUE(e, "3", "bulkhead_rejected_total", 0);
    CHECK_VALUE(e, "4", "bulkhead_delivered_total", 0);
    CHECK_VALUE(e, "1", "bulkhead_quarantines_total", 0);
    CHECK_VALUE(e, "2", "bulkhead_ws_clients", 0);
    CHECK_VALUE(e, "40", "bulkhead_ws_events_published_total", 0);
    CHECK_VALUE(e, "1", "bulkhead_ws_events_dropped_total", 0);
    CHECK_VALUE(e, "1", "bulkhead_ws_clients_dropped_total", 0);
    CHECK_VALUE(e, "0", "bulkhead_ws_clients_refused_total", 0);
    free(e);
    free(text);
    json_decref(snap);
}

/* Every figure of the snapshot schema has its family, typed as documented. */
static void test_metrics_render_covers_schema(void **state)
{
    (void)state;
    static const char *const expected[][2] = {
        {"bulkhead_node_info", "gauge"},
        {"bulkhead_build_info", "gauge"},
        {"process_cpu_seconds_total", "counter"},
        {"process_resident_memory_bytes", "gauge"},
        {"process_virtual_memory_bytes", "gauge"},
        {"process_open_fds", "gauge"},
        {"process_max_fds", "gauge"},
        {"process_start_time_seconds", "gauge"},
        {"bulkhead_process_threads", "gauge"},
        {"bulkhead_node_start_time_seconds", "gauge"},
        {"bulkhead_node_snapshot_time_seconds", "gauge"},
        {"bulkhead_chain_bridge_id", "gauge"},
        {"bulkhead_chain_quarantined", "gauge"},
        {"bulkhead_chain_head_block", "gauge"},
        {"bulkhead_chain_finalized_block", "gauge"},
        {"bulkhead_chain_cursor_block", "gauge"},
        {"bulkhead_chain_lag_blocks", "gauge"},
        {"bulkhead_chain_max_lag_blocks", "gauge"},
        {"bulkhead_chain_queue_depth", "gauge"},
        {"bulkhead_chain_events_observed_total", "counter"},
        {"bulkhead_chain_wallet_balance_wei", "gauge"},
        {"bulkhead_chain_wallet_low", "gauge"},
        {"bulkhead_chain_deliveries_inflight", "gauge"},
        {"bulkhead_chain_deliveries_ok_total", "counter"},
        {"bulkhead_chain_deliveries_failed_total", "counter"},
        {"bulkhead_chain_delivery_latency_seconds", "histogram"},
        {"bulkhead_chain_delivery_attempts", "histogram"},
        {"bulkhead_chain_tripped", "gauge"},
        {"bulkhead_chain_tripped_time_seconds", "gauge"},
        {"bulkhead_rpc_calls_total", "counter"},
        {"bulkhead_rpc_failures_total", "counter"},
        {"bulkhead_rpc_rate_limited_total", "counter"},
        {"bulkhead_rpc_disagreements_total", "counter"},
        {"bulkhead_rpc_latency_seconds", "gauge"},
        {"bulkhead_rpc_endpoint_healthy", "gauge"},
        {"bulkhead_vault_bridge_id", "gauge"},
        {"bulkhead_vault_accepted_total", "counter"},
        {"bulkhead_vault_delayed_total", "counter"},
        {"bulkhead_vault_held_total", "counter"},
        {"bulkhead_vault_rejected_total", "counter"},
        {"bulkhead_vault_outbox_depth", "gauge"},
        {"bulkhead_vault_outbox_oldest_age_seconds", "gauge"},
        {"bulkhead_vault_pending_transfers", "gauge"},
        {"bulkhead_vault_pending_by_cause", "gauge"},
        {"bulkhead_vault_parked_transfers", "gauge"},
        {"bulkhead_vault_next_release_time_seconds", "gauge"},
        {"bulkhead_vault_chain_quarantined", "gauge"},
        {"bulkhead_vault_asset_decimals", "gauge"},
        {"bulkhead_vault_locked_wei", "gauge"},
        {"bulkhead_vault_short_locks_total", "counter"},
        {"bulkhead_vault_forged_locks_total", "counter"},
        {"bulkhead_vault_outstanding_all_lanes_wei", "gauge"},
        {"bulkhead_vault_outstanding_wei", "gauge"},
        {"bulkhead_vault_outstanding_minted_wei", "gauge"},
        {"bulkhead_vault_outstanding_in_flight_wei", "gauge"},
        {"bulkhead_vault_exposure_cap_wei", "gauge"},
        {"bulkhead_vault_bucket_in_headroom_wei", "gauge"},
        {"bulkhead_vault_bucket_out_headroom_wei", "gauge"},
        {"bulkhead_vault_window_used_wei", "gauge"},
        {"bulkhead_vault_window_limit_wei", "gauge"},
        {"bulkhead_events_observed_total", "counter"},
        {"bulkhead_accepted_total", "counter"},
        {"bulkhead_rejected_total", "counter"},
        {"bulkhead_delivered_total", "counter"},
        {"bulkhead_quarantines_total", "counter"},
        {"bulkhead_ws_clients", "gauge"},
        {"bulkhead_ws_events_published_total", "counter"},
        {"bulkhead_ws_events_dropped_total", "counter"},
        {"bulkhead_ws_clients_dropped_total", "counter"},
        {"bulkhead_ws_clients_refused_total", "counter"},
    };
    json_t *snap = load(SNAPSHOT);
    char *text = render(snap);
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    if (expo_parse(e, text) != 0) fail_msg("%s", e->err);
    size_t n = sizeof expected / sizeof expected[0];
    assert_int_equal((size_t)e->nf, n);
    for (size_t i = 0; i < n; i++) {
        const fam *f = family(e, expected[i][0]);
        if (f == NULL) fail_msg("family %s missing", expected[i][0]);
        assert_string_equal(f->type, expected[i][1]);
    }
    free(e);
    free(text);
    json_decref(snap);
}

/* Wrong types and missing members are skipped, never a crash or bad text. */
static void test_metrics_render_hostile_snapshot(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        "{\"chains\":\"x\",\"vaults\":7,\"totals\":[],\"operator\":null}",
        "{\"node\":5,\"chains\":[1,null,{\"name\":5},{\"name\":\"a\",\"head\":\"12x\","
        "\"endpoints\":[{\"url\":7},{\"url\":\"\"},{}],\"tripped\":{\"cause\":3}}],"
        "\"vaults\":[{\"name\":\"v\",\"rejected\":[],\"quarantined\":{},"
        "\"assets\":[{\"symbol\":\"\"},{\"token\":\"t\",\"locked\":\"-5\","
        "\"lanes\":[{\"chain\":\"2\"},{\"chain\":3,\"outstanding\":1.5}]}],"
        "\"pending_list\":[{},{\"release_at\":\"x\"}]}]}",
        "{\"chains\":[{\"name\":\"q\\\"\\\\\\n\",\"lag\":-1}],"
        "\"vaults\":[{\"name\":\"v\",\"rejected\":{\"r\\n\":true}}]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *snap = load(docs[i]);
        char *text = render(snap);
        expo *e = calloc(1, sizeof *e);
        assert_non_null(e);
        if (expo_parse(e, text) != 0) fail_msg("doc %zu: %s\n%s", i, e->err, text);
        free(e);
        free(text);
        json_decref(snap);
    }
    json_t *snap = load("{}");
    char *text = render(snap);
    assert_string_equal(text, "");
    free(text);
    json_decref(snap);
}

/* A histogram that does not hang together has no sample at all; the rest
 * of the chain's figures stay. */
static void test_metrics_render_histogram_refuses_nonsense(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"le\":[1,0.5],\"counts\":[0,1],\"count\":1,\"sum\":1}",   /* le descending */
        "{\"le\":[1,1],\"counts\":[0,1],\"count\":1,\"sum\":1}",     /* le twice */
        "{\"le\":[1,2],\"counts\":[2,1],\"count\":2,\"sum\":1}",     /* counts decrease */
        "{\"le\":[1,2],\"counts\":[1,3],\"count\":2,\"sum\":1}",     /* above count */
        "{\"le\":[1,2],\"counts\":[1],\"count\":2,\"sum\":1}",       /* lengths apart */
        "{\"le\":[1,\"2\"],\"counts\":[1,1],\"count\":2,\"sum\":1}", /* a bound not a number */
        "{\"le\":[1,2],\"counts\":[1,1.5],\"count\":2,\"sum\":1}",   /* a count not whole */
        "{\"le\":[1,2],\"counts\":[-1,1],\"count\":2,\"sum\":1}",    /* negative */
        "{\"le\":[1,2],\"counts\":[1,1],\"count\":-1,\"sum\":1}",    /* negative count */
        "{\"le\":[1,2],\"counts\":[1,1],\"count\":2}",               /* no sum */
        "{\"le\":[1,2],\"counts\":[1,1],\"sum\":1}",                 /* no count */
        "{\"counts\":[1,1],\"count\":2,\"sum\":1}",                  /* no le */
        "{\"le\":{},\"counts\":[],\"count\":0,\"sum\":0}",           /* le not an array */
        "[1,2]",
        "7",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[512];
        snprintf(doc, sizeof doc,
                 "{\"chains\":[{\"name\":\"a\",\"head\":5,\"delivery_latency\":%s,"
                 "\"delivery_attempts\":%s}]}",
                 bad[i], bad[i]);
        json_t *snap = load(doc);
        char *text = render(snap);
        expo *e = calloc(1, sizeof *e);
        assert_non_null(e);
        if (expo_parse(e, text) != 0) fail_msg("doc %zu: %s\n%s", i, e->err, text);
        if (family(e, "bulkhead_chain_delivery_latency_seconds") != NULL ||
            family(e, "bulkhead_chain_delivery_attempts") != NULL)
            fail_msg("doc %zu rendered a histogram:\n%s", i, text);
        CHECK_VALUE(e, "5", "bulkhead_chain_head_block", 1, "chain", "a");
        free(e);
        free(text);
        json_decref(snap);
    }
    /* no bounds at all: only the +Inf bucket */
    json_t *snap = load("{\"chains\":[{\"name\":\"a\",\"delivery_attempts\":"
                        "{\"le\":[],\"counts\":[],\"count\":3,\"sum\":7}}]}");
    char *text = render(snap);
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    if (expo_parse(e, text) != 0) fail_msg("%s\n%s", e->err, text);
    CHECK_VALUE(e, "3", "bulkhead_chain_delivery_attempts_bucket", 2, "chain", "a", "le", "+Inf");
    CHECK_VALUE(e, "7", "bulkhead_chain_delivery_attempts_sum", 1, "chain", "a");
    CHECK_VALUE(e, "3", "bulkhead_chain_delivery_attempts_count", 1, "chain", "a");
    free(e);
    free(text);
    json_decref(snap);
}

static void test_metrics_render_misuse(void **state)
{
    (void)state;
    char *text = (char *)1;
    size_t len = 7;
    json_t *arr = json_array();
    assert_int_equal(bh_metrics_render(&text, &len, arr), BH_EINVAL);
    assert_null(text);
    assert_int_equal(len, 0);
    assert_int_equal(bh_metrics_render(&text, NULL, NULL), BH_EINVAL);
    assert_int_equal(bh_metrics_render(NULL, NULL, arr), BH_EINVAL);
    json_decref(arr);
}

static void test_metrics_redact_url(void **state)
{
    (void)state;
    char out[128];
    assert_string_equal(bh_metrics_redact_url(out, sizeof out, "http://127.0.0.1:8545"),
                        "http://127.0.0.1:8545");
    assert_string_equal(bh_metrics_redact_url(out, sizeof out, "http://127.0.0.1:8545/"),
                        "http://127.0.0.1:8545");
    assert_string_equal(
        bh_metrics_redact_url(out, sizeof out, "https://u:p@eth.example/v3/KEY?x=1"),
        "https://eth.example/\xe2\x80\xa6");
    assert_string_equal(bh_metrics_redact_url(out, sizeof out, "https://eth.example?apikey=K"),
                        "https://eth.example/\xe2\x80\xa6");
    assert_string_equal(bh_metrics_redact_url(out, sizeof out, "http://a@b@host:1/#frag"),
                        "http://host:1/\xe2\x80\xa6");
    assert_string_equal(bh_metrics_redact_url(out, sizeof out, ""), "");
    assert_string_equal(bh_metrics_redact_url(out, sizeof out, NULL), "");
    assert_string_equal(bh_metrics_redact_url(out, 8, "http://longhost:8545"), "http://");
    out[0] = 'x';
    bh_metrics_redact_url(out, 0, "http://h");
    assert_int_equal(out[0], 'x');
}

/* The parser refuses what it should: a test of the test. */
#define H "# HELP x h\n# TYPE x histogram\n"
#define INF1 "x_bucket{le=\"+Inf\"} 1\nx_sum 1\nx_count 1\n"
static void test_metrics_parser_is_strict(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "x 1\n",                                                    /* no HELP/TYPE */
        "# HELP x h\n# TYPE x gauge\nx 1",                          /* no final newline */
        "# HELP x h\n# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n", /* duplicate */
        "# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n",             /* bad escape */
        "# HELP x h\n# TYPE x gauge\nx 1.2.3\n",                    /* not a float */
        "# HELP x h\n# TYPE x gauge\n# HELP y h\n# TYPE y gauge\nx 1\ny 1\nx{a=\"b\"} 1\n",
        "# HELP x h\n# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n", /* label twice */
        "# HELP x h\n# TYPE x gauge\nx{1a=\"1\"} 1\n",        /* bad label name */
        "# HELP x h\n# TYPE x nonsense\nx 1\n",               /* unknown type */
        "# HELP x h\n# TYPE x gauge\nx 1\n# TYPE x gauge\n",  /* TYPE after samples */
        "# HELP x h\n# TYPE x gauge\n\nx 1\n",                /* empty line */
        /* histograms */
        H "x 1\n",                                                   /* a plain sample */
        H "x_bucket{le=\"1\"} 1\nx_sum 1\nx_count 1\n",              /* no +Inf */
        H "x_bucket{le=\"2\"} 0\nx_bucket{le=\"1\"} 0\n" INF1,       /* le descending */
        H "x_bucket{le=\"1\"} 0\nx_bucket{le=\"1.0\"} 0\n" INF1,     /* le twice, as floats */
        H "x_bucket{le=\"1\"} 2\n" INF1,                             /* counts decrease */
        H "x_bucket{le=\"+Inf\"} 1\nx_sum 1\nx_count 2\n",           /* _count is not +Inf */
        H "x_bucket{le=\"+Inf\"} 1\nx_count 1\n",                    /* no _sum */
        H "x_bucket{le=\"+Inf\"} 1\nx_sum 1\n",                      /* no _count */
        H INF1 "x_sum 1\n",                                          /* _sum twice */
        H "x_bucket 1\nx_sum 1\nx_count 1\n",                        /* bucket without le */
        H "x_bucket{le=\"one\"} 1\n" INF1,                           /* le not a float */
        H "x_bucket{le=\"NaN\"} 1\n" INF1,                           /* le NaN */
        H "x_bucket{le=\"+Inf\"} 1\nx_sum{le=\"1\"} 1\nx_count 1\n", /* le on _sum */
        H "x_bucket{le=\"+Inf\"} 1.5\nx_sum 1\nx_count 1.5\n",       /* a count not whole */
        H "x_bucket{le=\"+Inf\"} -1\nx_sum 1\nx_count -1\n",         /* negative */
        H INF1 "x_bucket{le=\"5\"} 1\n",                             /* a bucket after +Inf */
        H "x_bucket{a=\"1\",le=\"+Inf\"} 1\nx_sum{a=\"1\"} 1\nx_count{a=\"2\"} 1\n",
        "# HELP y h\n# TYPE y gauge\ny_bucket{le=\"+Inf\"} 1\n", /* a gauge has no buckets */
    };
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (expo_parse(e, bad[i]) == 0) fail_msg("accepted bad text %zu", i);
    assert_int_equal(expo_parse(e, "# HELP x h\n# TYPE x gauge\nx{a=\"\\\"\\\\\\n\",} -1e3 17\n"),
                     0);
    assert_string_equal(e->s[0].v[0], "\"\\\n");
    /* a histogram of two series, each in order; one with only +Inf */
    assert_int_equal(expo_parse(e, H "x_bucket{a=\"1\",le=\"0.5\"} 0\n"
                                     "x_bucket{a=\"1\",le=\"1e3\"} 2\n"
                                     "x_bucket{a=\"1\",le=\"+Inf\"} 3\nx_sum{a=\"1\"} -4.5\n"
                                     "x_count{a=\"1\"} 3\nx_bucket{le=\"+Inf\"} 0\nx_sum 0\n"
                                     "x_count 0\n"),
                     0);
    assert_int_equal(e->nf, 1);
    assert_string_equal(e->f[0].type, "histogram");
    CHECK_VALUE(e, "2", "x_bucket", 2, "a", "1", "le", "1e3");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render_parses_strictly),
        cmocka_unit_test(test_metrics_render_exact_values),
        cmocka_unit_test(test_metrics_render_covers_schema),
        cmocka_unit_test(test_metrics_render_hostile_snapshot),
        cmocka_unit_test(test_metrics_render_histogram_refuses_nonsense),
        cmocka_unit_test(test_metrics_render_misuse),
        cmocka_unit_test(test_metrics_redact_url),
        cmocka_unit_test(test_metrics_parser_is_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
