/* The operator server's memory of the node's recent past, for the
 * dashboard's charts (relayer/web/PROTOCOL.md, "samples"): one sample every
 * interval, the newest `capacity` kept in fixed rings.
 *
 * A sample holds, for the interval it closes: transfers delivered and
 * messages refused (increase of the snapshot's totals), the delivery
 * latency's p50 and p99 (from each "accepted" event to the "delivered"
 * event of the same digest, as the server saw them), each chain's lag, and
 * per lane (vault, asset, remote chain) the outstanding figure (with its
 * minted / in-flight split when the snapshot has one) and the inbound and
 * outbound bucket headroom, in whole tokens (approximate: for charts; the
 * snapshot's figures are exact).
 *
 * Memory is fixed at creation except for lanes and chains, each allocated
 * when first seen and at most BH_HIST_MAX_LANES / BH_HIST_MAX_CHAINS:
 * bh_hist_bytes says how much is in use. Not thread-safe: the server calls
 * it from its service thread only. */
#ifndef BH_HISTORY_H
#define BH_HISTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bh_types.h"

#define BH_HIST_DEFAULT_SAMPLES 360 /* 1 h at the default 10 s */
#define BH_HIST_MAX_SAMPLES 8640    /* 24 h at 10 s */
#define BH_HIST_MAX_LANES 64
#define BH_HIST_MAX_CHAINS 32
/* digests of accepted transfers awaiting their delivery (for latency) */
#define BH_HIST_TRACKED 4096
/* latencies kept per interval (a uniform sample of them beyond this) */
#define BH_HIST_LATENCIES 2048

typedef struct bh_hist bh_hist;

/* NULL when out of memory. capacity: samples kept (1..BH_HIST_MAX_SAMPLES). */
bh_hist *bh_hist_create(unsigned interval_s, size_t capacity);
void bh_hist_destroy(bh_hist *h);

/* A transfer accepted / delivered, at ms (any monotonic clock). */
void bh_hist_accepted(bh_hist *h, const bh_hash32 *digest, uint64_t ms);
void bh_hist_delivered(bh_hist *h, const bh_hash32 *digest, uint64_t ms);

/* The counters the first interval counts from (a snapshot, bh_node.h
 * schema). Without it the first sample's counts are unknown (null). */
void bh_hist_baseline(bh_hist *h, const json_t *snap);

/* Close the interval with a snapshot: one sample at `time` (unix s). */
void bh_hist_sample(bh_hist *h, const json_t *snap, uint64_t time);

size_t bh_hist_count(const bh_hist *h);
size_t bh_hist_lanes(const bh_hist *h);
size_t bh_hist_bytes(const bh_hist *h);

/* The newest `newest` samples (all when larger) as a frame object of the
 * given type ("samples" or "sample"), columns oldest first. NULL when out
 * of memory. */
json_t *bh_hist_json(const bh_hist *h, const char *type, size_t newest);

#endif
