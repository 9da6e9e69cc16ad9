/* Prometheus text rendering of a node snapshot (README.md, Metrics and the websocket).
 *
 * A pure function of the snapshot JSON (schema in bh_node.h): no I/O, no
 * global state, so it is tested against hand-built snapshots. Output is the
 * text exposition format 0.0.4: each family once, "# HELP" and "# TYPE"
 * before its samples, names prefixed "bulkhead_" with the unit in the name
 * (_seconds, _total, _bytes, _wei, _blocks), label values escaped; the
 * snapshot's "process" figures under the standard process_* names every
 * Prometheus client exports, and its "build" as bulkhead_build_info.
 *
 * Labels: chain (chain name), vault (home chain name), asset (symbol, or
 * the token address when the symbol is empty or used twice in one vault),
 * lane (the remote chain's name; its bridge id in decimal when the snapshot
 * does not name it), reason (reject reason, pending cause or trip cause),
 * endpoint (RPC URL, redacted with bh_metrics_redact_url).
 *
 * Amounts ("_wei") are the token's smallest unit, written exactly as the
 * snapshot's decimal strings. Limits that are off (cap 0, window limit 0,
 * no bucket) and unknown figures ("" wallet balance) have no sample: an
 * absent series means "no limit" or "unknown", never zero.
 *
 * Histograms (type histogram): a chain's "delivery_latency" and
 * "delivery_attempts" as <name>_bucket{chain,le} with le ascending and a
 * last le="+Inf" bucket equal to _count, then <name>_sum and _count; the
 * snapshot's counts are already cumulative. One whose bounds do not rise,
 * whose counts fall or pass its count, is not rendered at all.
 *
 * The optional top-level "operator" object (added by the HTTP server:
 * clients, events_published, events_dropped, clients_dropped,
 * clients_refused) is rendered as bulkhead_ws_* families. */
#ifndef BH_METRICS_H
#define BH_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include "bh_error.h"

/* Content-Type of the rendered text. */
#define BH_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Render a snapshot. Members of the wrong type or missing are skipped, so a
 * partial snapshot renders what it has.
 * Returns: BH_OK; BH_EINVAL if snapshot is not an object; BH_ENOMEM.
 * Out: out  NUL-terminated text, caller free()s; NULL on error.
 *      len  its length (may be NULL).
 * In:  snapshot  borrowed for the call. */
BH_WARN_UNUSED_RESULT int bh_metrics_render(char **out, size_t *len, const json_t *snapshot);

/* An RPC URL with what may carry a secret taken out: user info dropped,
 * a path or query replaced by "/…" (providers put API keys there), e.g.
 * "https://u:p@eth.example/v3/KEY?x=1" -> "https://eth.example/…".
 * Returns: out, NUL-terminated, cut to cap. cap 0 writes nothing. */
const char *bh_metrics_redact_url(char *out, size_t cap, const char *url);

#endif
