/* JSON-RPC 2.0 over HTTP(S) to one endpoint (libcurl + jansson).
 *
 * One endpoint = one keep-alive connection. An endpoint is used by one thread
 * at a time; its statistics may be read from any thread.
 * Every answer is untrusted: size-capped while it streams in, parsed
 * strictly (JSON-RPC envelope, id, exactly one of result/error), and every
 * field a caller reads goes through the checked readers below. curl codes
 * never leave this module: callers see BH_ETIMEOUT, BH_EHTTP, BH_ETOOBIG,
 * BH_EPROTO or BH_ERPC, with a one-line detail in bh_rpc_last_error. */
#ifndef BH_RPC_H
#define BH_RPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"
#include "bh_log_hook.h"
#include "bh_types.h"

typedef struct {
    const char *url;         /* http:// or https://; copied */
    long connect_timeout_ms; /* 0: 2000 */
    long timeout_ms;         /* whole request; 0: 10000 */
    size_t max_response;     /* bytes; 0: 32 MiB */
    unsigned max_retries;    /* extra attempts on transport errors, 5xx, 429 */
    unsigned backoff_ms;     /* first retry delay, doubled each time; 0: 100 */
    bh_log_fn log;           /* NULL: stderr */
    void *log_ud;            /* passed to log as is */
    bh_log_level log_min;    /* less severe messages are not formatted; 0: all */
} bh_rpc_options;

/* Per-endpoint health, a consistent-enough snapshot of atomic counters. */
typedef struct {
    uint64_t calls;         /* logical calls made */
    uint64_t attempts;      /* HTTP requests sent, retries included */
    uint64_t failures;      /* calls that ended in an error */
    uint64_t rate_limited;  /* HTTP 429 answers */
    uint64_t rpc_errors;    /* JSON-RPC error objects */
    uint64_t bad_answers;   /* garbage, wrong types, oversized */
    uint64_t disagreements; /* outvoted in a quorum (counted by the chain) */
    uint64_t equivocations; /* disagreed on a finalized block hash */
    uint64_t last_latency_us;
    uint64_t avg_latency_us; /* exponential moving average */
    uint64_t bytes_in;       /* answer bytes received (aborted oversized answers included) */
    int last_status;         /* status of the last call */
    int suspect;             /* outvoted by the quorum and not yet back in it */
    int healthy;             /* 1 if the last call succeeded and not suspect */
} bh_rpc_stats;

typedef struct bh_rpc bh_rpc;

/* Returns: BH_OK; BH_EINVAL on a NULL or non-http(s) URL; BH_ENOMEM.
 * Out: out  new endpoint; caller frees with bh_rpc_destroy. */
BH_WARN_UNUSED_RESULT int bh_rpc_create(bh_rpc **out, const bh_rpc_options *opt);

/* Frees ep and closes its connection; NULL is a no-op. */
void bh_rpc_destroy(bh_rpc *ep);

/* A second connection to parent's endpoint (same URL and options) that
 * counts into parent's health counters, so two requests to one endpoint
 * can be in flight at once (one per connection) and still read as one
 * endpoint's figures.
 * Returns: BH_OK; BH_EINVAL; BH_ENOMEM.
 * Out: out  caller frees with bh_rpc_destroy, before parent.
 * In:  parent  borrowed; must outlive the twin. */
BH_WARN_UNUSED_RESULT int bh_rpc_twin(bh_rpc **out, bh_rpc *parent);

/* Call method with params (a JSON array or NULL for []).
 * Returns: BH_OK; BH_ETIMEOUT; BH_EHTTP (connect failure, non-200 status,
 *          429 after the retries); BH_ETOOBIG (answer above max_response);
 *          BH_EPROTO (not a JSON-RPC answer to this request); BH_ERPC (an
 *          error object: code and message in bh_rpc_last_error and
 *          *rpc_code if given); BH_ENOMEM.
 * Out: result  the "result" member (may be JSON null); caller frees with
 *              json_decref. NULL on error.
 * In:  params  borrowed; not modified. */
BH_WARN_UNUSED_RESULT int bh_rpc_call(bh_rpc *ep, json_t **result, const char *method,
                                      json_t *params);

/* Returns: the JSON-RPC error code of the last BH_ERPC answer (0 if none). */
long bh_rpc_last_rpc_code(const bh_rpc *ep);

/* Returns: a one-line description of the last error ("" if none); borrowed,
 * valid until the next call on ep. */
const char *bh_rpc_last_error(const bh_rpc *ep);

/* Returns: the endpoint's URL; borrowed for the endpoint's lifetime. */
const char *bh_rpc_url(const bh_rpc *ep);

void bh_rpc_stats_get(const bh_rpc *ep, bh_rpc_stats *out);

/* Counted by the quorum layer (bh_evm_chain): an answer that was valid
 * JSON-RPC but not a valid answer to the question, outvoted content, and
 * a different block hash at a finalized height. */
void bh_rpc_note_bad_answer(bh_rpc *ep);
void bh_rpc_note_disagreement(bh_rpc *ep);
void bh_rpc_note_equivocation(bh_rpc *ep);
/* Marked by the quorum layer: on when the endpoint was outvoted, off when
 * it next agrees with a quorum. A suspect endpoint reports unhealthy. */
void bh_rpc_set_suspect(bh_rpc *ep, int on);

/* Parse a JSON-RPC answer body (pure; used by bh_rpc_call, exposed for
 * tests). The body must be one JSON object with "jsonrpc":"2.0", the
 * expected integer id, and exactly one of "result" / "error"; an error
 * object needs an integer "code" and a string "message".
 * Returns: BH_OK; BH_EPROTO; BH_ERPC (rpc_code and msg filled); BH_ENOMEM.
 * Out: result  caller frees with json_decref (NULL on error).
 *      rpc_code, msg  error code and message (msg NUL-terminated, truncated
 *      to msg_cap); may be NULL / 0. */
BH_WARN_UNUSED_RESULT int bh_rpc_parse_answer(json_t **result, long *rpc_code, char *msg,
                                              size_t msg_cap, const char *body, size_t len,
                                              json_int_t expect_id);

/* Checked readers for fields of an answer. All outputs are zeroed first.
 * A quantity is a "0x"-prefixed hex string without sign; data is
 * "0x"-prefixed hex of an even number of digits.
 * Returns: BH_OK; BH_EPROTO for a missing value, wrong JSON type, bad
 *          digits or a value too large for the output. */
BH_WARN_UNUSED_RESULT int bh_rpc_read_quantity(uint64_t *out, const json_t *v);
BH_WARN_UNUSED_RESULT int bh_rpc_read_u256(bh_u256 *out, const json_t *v);
BH_WARN_UNUSED_RESULT int bh_rpc_read_hash(bh_hash32 *out, const json_t *v);
BH_WARN_UNUSED_RESULT int bh_rpc_read_address(bh_address *out, const json_t *v);
/* Out: out, out_len  heap bytes (caller frees with free(); non-NULL even for
 *      "0x"); at most cap bytes are accepted (BH_ETOOBIG beyond). */
BH_WARN_UNUSED_RESULT int bh_rpc_read_data(unsigned char **out, size_t *out_len, const json_t *v,
                                           size_t cap);

/* Same readers on an object member; a missing key is BH_EPROTO. */
BH_WARN_UNUSED_RESULT int bh_rpc_member_quantity(uint64_t *out, const json_t *obj, const char *key);
BH_WARN_UNUSED_RESULT int bh_rpc_member_hash(bh_hash32 *out, const json_t *obj, const char *key);
BH_WARN_UNUSED_RESULT int bh_rpc_member_address(bh_address *out, const json_t *obj,
                                                const char *key);

/* Format helpers for requests. Out: out  "0x..." NUL-terminated. */
void bh_rpc_format_quantity(char out[19], uint64_t v);
void bh_rpc_format_hex(char *out, const unsigned char *data, size_t len); /* 2*len+3 bytes */

#endif
