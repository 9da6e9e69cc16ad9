#include "bh_evm_chain.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/sha2.h>
#include <time.h>

#include "bh_abi.h"
#include "bh_amount.h"
#include "bh_be.h"
#include "bh_portal.h"

#define DEFAULT_MAX_RANGE 2000
#define DEFAULT_MAX_LOGS 10000
#define MAX_LOG_DATA 4096
/* Events decoded per fetch call; the rest waits for the next poll. */
#define MAX_EVENTS_PER_FETCH 20000
/* Connections per endpoint: lane 0 for the watcher's own reads (heads,
 * blocks, receipts, views), lane 1 for a range's token Transfer read, lane
 * 2 for its Portal read: the next range's two reads run while the watcher
 * decodes this one's events, and never wait behind its receipt reads. */
#define LANES 3
#define LANE_SIDE 1
#define LANE_LOGS 2
/* A range at least this long (or one after a range with events) reads its
 * token transfers beside its Portal events, before knowing it needs them:
 * catch-up pays one round trip per range, not two; a short steady-state
 * range with no event pays no extra call. */
#define SPECULATE_BLOCKS 16

struct bh_evm_chain {
    bh_evm_chain_config cfg;
    bh_rpc *ep[BH_EVM_MAX_ENDPOINTS];
    /* a second connection per endpoint (its twin, same counters): the
     * token Transfer read of a range runs on it beside the Portal read */
    bh_rpc *side[BH_EVM_MAX_ENDPOINTS];
    bh_rpc *logs[BH_EVM_MAX_ENDPOINTS]; /* a third: the Portal read of a range */
    size_t n;
    int dense;     /* the last range read held Portal events */
    uint64_t hint; /* blocks the last range's density says fit 3/4 max_logs; 0: no limit */
    int sized;     /* the first fetch's span was sized (size_span) */
    uint64_t range;
    unsigned ok_streak; /* successful ranges since the last refusal */
    /* The Portal numbers its events 0, 1, 2, ...: a gap means an answer left
     * one out. next_seq holds after block seq_block, when have_seq. */
    int have_seq;
    uint64_t next_seq, seq_block;
    uint64_t down_until[BH_EVM_MAX_ENDPOINTS]; /* ms; skip a failing endpoint till then */
    unsigned down_ms[BH_EVM_MAX_ENDPOINTS];    /* its current back-off */
    uint64_t out_until[BH_EVM_MAX_ENDPOINTS];  /* ms; skip an outvoted endpoint till then */
    unsigned out_ms[BH_EVM_MAX_ENDPOINTS];     /* its current back-off */
    int last_split; /* the last failed quorum read got answers that disagree */
    /* Endpoint standing and use, shared with the helper threads of a read:
     * a read returns once its quorum agrees, and a slower endpoint's call
     * finishes in the background, its endpoint busy (not asked) till then. */
    pthread_mutex_t mu;
    pthread_cond_t idle_cv;
    int busy[LANES][BH_EVM_MAX_ENDPOINTS]; /* per connection: lane 0 ep, 1 side, 2 logs */
    int excluded[BH_EVM_MAX_ENDPOINTS];    /* serves another chain id: never asked again */
    /* the latest read a busy endpoint missed, asked when it is free: a slow
     * endpoint still answers (late) and is judged, one read deep at most */
    struct job *deferred[LANES][BH_EVM_MAX_ENDPOINTS];
    size_t in_flight;
    size_t freeing; /* answer trees still being freed by calls done (job_run) */
    bh_address tokens[BH_EVM_MAX_TOKENS];
    size_t n_tokens;
    bh_wrapped_pin wrapped[BH_EVM_MAX_PINS]; /* pinned wrapped tokens, as first read */
    size_t n_wrapped;
    bh_hash32 topic_out, topic_transfer;
    bh_bytes32 portal32;
};

static void chain_log(bh_evm_chain *c, bh_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void chain_log(bh_evm_chain *c, bh_log_level level, const char *fmt, ...)
{
    if (level < c->cfg.rpc.log_min) return; /* checked before anything is formatted */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->cfg.rpc.log)
        c->cfg.rpc.log(c->cfg.rpc.log_ud, level, msg);
    else
        fprintf(stderr, "bulkhead chain %u: %s\n", (unsigned)c->cfg.bridge_id, msg);
}

int bh_evm_chain_create(bh_evm_chain **out, const bh_evm_chain_config *cfg)
{
    if (out) *out = NULL;
    if (!out || !cfg || !cfg->urls || cfg->n_urls == 0 || cfg->n_urls > BH_EVM_MAX_ENDPOINTS ||
        cfg->quorum == 0 || cfg->quorum > cfg->n_urls || cfg->evm_chain_id == 0 ||
        cfg->n_tokens > BH_EVM_MAX_TOKENS || (cfg->n_tokens && !cfg->tokens) ||
        cfg->n_pins > BH_EVM_MAX_PINS || (cfg->n_pins && !cfg->pins))
        return BH_EINVAL;
    bh_evm_chain *c = calloc(1, sizeof *c);
    if (!c) return BH_ENOMEM;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return BH_ENOMEM;
    }
    if (pthread_cond_init(&c->idle_cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return BH_ENOMEM;
    }
    c->cfg = *cfg;
    c->cfg.urls = NULL;
    c->cfg.tokens = NULL;
    for (size_t i = 0; i < cfg->n_tokens; i++)
        c->tokens[i] = cfg->tokens[i];
    c->n_tokens = cfg->n_tokens;
    c->cfg.pins = NULL;
    for (size_t i = 0; i < cfg->n_pins; i++)
        c->wrapped[i] = cfg->pins[i];
    c->n_wrapped = cfg->n_pins;
    if (!c->cfg.max_range) c->cfg.max_range = DEFAULT_MAX_RANGE;
    if (!c->cfg.max_logs) c->cfg.max_logs = DEFAULT_MAX_LOGS;
    c->range = c->cfg.max_range;
    for (size_t i = 0; i < cfg->n_urls; i++) {
        bh_rpc_options o = cfg->rpc;
        o.url = cfg->urls[i];
        int rc = bh_rpc_create(&c->ep[i], &o);
        if (rc != BH_OK) {
            bh_evm_chain_destroy(c);
            return rc;
        }
        c->n++;
        rc = bh_rpc_twin(&c->side[i], c->ep[i]);
        if (rc == BH_OK) rc = bh_rpc_twin(&c->logs[i], c->ep[i]);
        if (rc != BH_OK) {
            bh_evm_chain_destroy(c);
            return rc;
        }
    }
    bh_abi_topic(&c->topic_out, BH_PORTAL_TRANSFER_OUT_SIG);
    bh_abi_topic(&c->topic_transfer, BH_ERC20_TRANSFER_SIG);
    bh_address_to_bytes32(&c->portal32, &c->cfg.portal);
    *out = c;
    return BH_OK;
}

void bh_evm_chain_destroy(bh_evm_chain *c)
{
    if (!c) return;
    /* calls still finishing in the background use the endpoints */
    pthread_mutex_lock(&c->mu);
    while (c->in_flight || c->freeing)
        pthread_cond_wait(&c->idle_cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    pthread_cond_destroy(&c->idle_cv);
    pthread_mutex_destroy(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        bh_rpc_destroy(c->side[i]);
        bh_rpc_destroy(c->logs[i]);
        bh_rpc_destroy(c->ep[i]);
    }
    free(c);
}

void bh_evm_chain_expect_sequence(bh_evm_chain *c, uint64_t next_sequence, uint64_t after_block)
{
    c->have_seq = 1;
    c->next_seq = next_sequence;
    c->seq_block = after_block;
}

size_t bh_evm_chain_endpoint_count(const bh_evm_chain *c)
{
    return c->n;
}

bh_rpc *bh_evm_chain_endpoint(bh_evm_chain *c, size_t i)
{
    return i < c->n ? c->ep[i] : NULL;
}

uint64_t bh_evm_chain_rpc_calls(const bh_evm_chain *c)
{
    uint64_t total = 0;
    for (size_t i = 0; i < c->n; i++) {
        bh_rpc_stats st;
        bh_rpc_stats_get(c->ep[i], &st);
        total += st.calls;
    }
    return total;
}

uint64_t bh_evm_chain_rpc_bytes(const bh_evm_chain *c)
{
    uint64_t total = 0;
    for (size_t i = 0; i < c->n; i++) {
        bh_rpc_stats st;
        bh_rpc_stats_get(c->ep[i], &st);
        total += st.bytes_in;
    }
    return total;
}

uint64_t bh_evm_chain_log_range(const bh_evm_chain *c)
{
    return c->range;
}

int bh_evm_chain_last_split(const bh_evm_chain *c)
{
    return c ? c->last_split : 0;
}

/* ---- quorum digest ----
 * What the vote compares: a digest of an answer's decoded content. It never
 * leaves the process (answers of one read are compared with each other), so
 * it need not be Keccak: SHA-256 (nettle, with the CPU's SHA extensions
 * where it has them) digests a log in a sixth of the time. */
typedef struct sha256_ctx qd_ctx;

static void qd_init(qd_ctx *k)
{
    sha256_init(k);
}

static void qd_update(qd_ctx *k, const void *data, size_t len)
{
    sha256_update(k, len, data);
}

static void qd_final(qd_ctx *k, bh_hash32 *out)
{
    sha256_digest(k, sizeof out->data, out->data);
}

/* ---- quorum ---- */

/* Parse one endpoint's result into an object and a digest of its content.
 * aux (zeroed by the caller) may digest optional content that must not
 * decide the vote, e.g. fields some honest providers leave out. */
typedef int (*parse_fn)(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                        bh_hash32 *aux, void **obj);

typedef struct {
    int status;
    bh_hash32 digest;
    bh_hash32 aux;
    void *obj;
} answer;

typedef struct {
    int range_refused; /* some endpoint refused the request or answered too much */
    size_t answered;
    size_t aux_agreed; /* agreeing answers whose aux equals the winner's */
    int split;         /* failed: answers disagree and no k agree */
    int too_big;       /* some answer passed the endpoint's byte cap (max_response) */
} quorum_info;

/* Ask every endpoint; accept content that k of them returned identically.
 * On success *winner owns the agreed object. `finality` marks the question
 * as a block hash at a finalized height: dissent is then equivocation. */
static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Standing: c->mu held. */
static int endpoint_down(const bh_evm_chain *c, size_t i)
{
    uint64_t now = now_ms();
    return c->excluded[i] || c->down_until[i] > now || c->out_until[i] > now;
}

/* An endpoint the quorum outvoted is suspect and skipped for a back-off
 * (5 s doubling to 5 min): one lying provider costs its own answers, not
 * the chain's progress nor its standing. */
static void outvoted(bh_evm_chain *c, size_t i)
{
    pthread_mutex_lock(&c->mu);
    c->out_ms[i] = c->out_ms[i] ? (c->out_ms[i] >= 150000 ? 300000 : c->out_ms[i] * 2) : 5000;
    c->out_until[i] = now_ms() + c->out_ms[i];
    pthread_mutex_unlock(&c->mu);
    bh_rpc_set_suspect(c->ep[i], 1);
}

static void agreed(bh_evm_chain *c, size_t i)
{
    pthread_mutex_lock(&c->mu);
    /* an endpoint that lies only now and then stays suspect for its whole
     * back-off: one honest answer in between does not clear it */
    if (c->out_until[i] > now_ms()) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    int was = c->out_ms[i] != 0;
    c->out_ms[i] = 0;
    c->out_until[i] = 0;
    pthread_mutex_unlock(&c->mu);
    if (!was) return;
    bh_rpc_set_suspect(c->ep[i], 0);
    chain_log(c, BH_LOG_INFO, "%s agrees with the quorum again", bh_rpc_url(c->ep[i]));
}

/* Take endpoint i for one call (wait: until it is free). Returns 1 if taken. */
static int endpoint_take(bh_evm_chain *c, size_t i, int wait)
{
    pthread_mutex_lock(&c->mu);
    while (wait && c->busy[0][i])
        pthread_cond_wait(&c->idle_cv, &c->mu);
    int ok = !c->busy[0][i];
    if (ok) {
        c->busy[0][i] = 1;
        c->in_flight++;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static void endpoint_give(bh_evm_chain *c, size_t i)
{
    pthread_mutex_lock(&c->mu);
    c->busy[0][i] = 0;
    c->in_flight--;
    pthread_cond_broadcast(&c->idle_cv);
    pthread_mutex_unlock(&c->mu);
}

/* One call to endpoint i (taken by the caller). An endpoint that cannot be
 * reached (timeout, transport failure) is skipped for a back-off (1 s
 * doubling to 60 s) so a dead or hanging provider does not slow every
 * round; it is still asked when the others cannot make the quorum alone. */
static int ask(bh_evm_chain *c, int lane, size_t i, json_t **res, const char *method,
               json_t *params)
{
    bh_rpc *ep = lane == LANE_SIDE ? c->side[i] : lane == LANE_LOGS ? c->logs[i] : c->ep[i];
    int rc = bh_rpc_call(ep, res, method, params);
    unsigned down = 0;
    pthread_mutex_lock(&c->mu);
    if (rc == BH_ETIMEOUT || rc == BH_EHTTP) {
        c->down_ms[i] = c->down_ms[i] ? (c->down_ms[i] >= 30000 ? 60000 : c->down_ms[i] * 2) : 1000;
        c->down_until[i] = now_ms() + c->down_ms[i];
        down = c->down_ms[i];
    } else if (rc == BH_OK) {
        c->down_ms[i] = 0;
        c->down_until[i] = 0;
    }
    pthread_mutex_unlock(&c->mu);
    if (down)
        chain_log(c, BH_LOG_WARN, "%s unreachable (%s): skipped for %u ms", bh_rpc_url(c->ep[i]),
                  bh_errname(rc), down);
    return rc;
}

/* Tally: index of the content with the most votes, its votes, distinct contents. */
static void tally(const bh_evm_chain *c, const answer *a, size_t *best, size_t *best_votes,
                  size_t *distinct)
{
    *best = SIZE_MAX;
    *best_votes = 0;
    *distinct = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (a[i].status != BH_OK) continue;
        size_t votes = 0, first = i;
        for (size_t j = 0; j < c->n; j++) {
            if (a[j].status != BH_OK || memcmp(&a[i].digest, &a[j].digest, 32) != 0) continue;
            if (j < first) first = j;
            votes++;
        }
        if (first == i) (*distinct)++;
        if (votes > *best_votes) {
            *best_votes = votes;
            *best = i;
        }
    }
}

#define NOT_ASKED 1 /* answer status of an endpoint skipped while backing off */
#define LATE 2      /* asked, but the read had heard enough before it answered */
#define BUSY 3      /* a read deferred on a busy endpoint, then replaced by a newer one */
#define CTX_MAX 128 /* a parse context is copied: a slow call outlives its read */

/* When a read has heard enough: k endpoints agree (a vote) or k answered
 * (finalized heads, where each answer counts). */
typedef enum { ENOUGH_VOTES, ENOUGH_ANSWERS } enough_rule;

typedef struct fan fan;

typedef struct job {
    fan *f;
    size_t i;
    json_t *params; /* this job's own copy: jansson values are not shared across threads */
} job;

/* One read's shared state: freed by whoever leaves it last. */
struct fan {
    bh_evm_chain *c;
    const char *method; /* a string literal */
    parse_fn parse;
    void (*free_obj)(void *);
    unsigned char ctx[CTX_MAX];
    int has_ctx;
    int lane; /* which connection of each endpoint the read uses */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int abandoned;  /* the reader left: late answers are judged, then dropped */
    int has_winner; /* the content k endpoints agreed on, to judge late answers by */
    int finality;
    bh_hash32 winner;
    size_t pending;
    answer a[BH_EVM_MAX_ENDPOINTS];
    job jobs[BH_EVM_MAX_ENDPOINTS];
};

static void fan_unref(fan *f)
{
    pthread_mutex_lock(&f->mu);
    int last = --f->refs == 0;
    pthread_mutex_unlock(&f->mu);
    if (!last) return;
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* One call, its answer handed to its read (or judged, if the read left).
 * Returns the answer's tree, for the caller to free. */
static json_t *job_do(job *j)
{
    fan *f = j->f;
    bh_evm_chain *c = f->c;
    answer got = {.status = BH_OK};
    json_t *res = NULL;
    got.status = ask(c, f->lane, j->i, &res, f->method, j->params);
    if (got.status == BH_OK) {
        got.status = f->parse(c, res, f->has_ctx ? f->ctx : NULL, &got.digest, &got.aux, &got.obj);
        if (got.status == BH_EPROTO) bh_rpc_note_bad_answer(c->ep[j->i]);
        if (got.status != BH_OK)
            chain_log(c, BH_LOG_WARN, "%s: %s answer rejected: %s", bh_rpc_url(c->ep[j->i]),
                      f->method, bh_errname(got.status));
    }
    json_decref(j->params);
    j->params = NULL;
    pthread_mutex_lock(&f->mu);
    int judge = 0;
    if (f->abandoned) {
        if (got.obj) f->free_obj(got.obj);
        if (f->has_winner && got.status == BH_OK)
            judge = memcmp(&got.digest, &f->winner, 32) == 0 ? 1 : -1;
    } else {
        f->a[j->i] = got;
    }
    int finality = f->finality;
    f->pending--;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    /* a late answer is judged like any other: a slow liar is still outvoted */
    if (judge > 0) agreed(c, j->i);
    if (judge < 0) {
        bh_rpc_note_disagreement(c->ep[j->i]);
        if (finality) bh_rpc_note_equivocation(c->ep[j->i]);
        outvoted(c, j->i);
        chain_log(c, BH_LOG_WARN, "%s disagrees with the quorum on %s (late answer): outvoted",
                  bh_rpc_url(c->ep[j->i]), f->method);
    }
    fan_unref(f);
    return res;
}

/* A deferred read replaced by a newer one is never asked. */
static void job_cancel(job *j)
{
    fan *f = j->f;
    json_decref(j->params);
    j->params = NULL;
    pthread_mutex_lock(&f->mu);
    if (!f->abandoned) f->a[j->i].status = BUSY;
    f->pending--;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    fan_unref(f);
}

/* The endpoint's thread: its call, then the read it missed meanwhile. */
static void *job_run(void *p)
{
    job *j = p;
    bh_evm_chain *c = j->f->c;
    size_t i = j->i;
    int lane = j->f->lane;
    while (j) {
        json_t *res = job_do(j);
        pthread_mutex_lock(&c->mu);
        j = c->deferred[lane][i];
        c->deferred[lane][i] = NULL;
        if (!j) {
            c->busy[lane][i] = 0;
            c->in_flight--;
            pthread_cond_broadcast(&c->idle_cv);
        }
        if (res) c->freeing++;
        pthread_mutex_unlock(&c->mu);
        if (!res) continue;
        /* A large answer's tree is freed after the read has its result (a
         * 10,000-log tree takes ~25 ms to free), while the reader goes on,
         * and the connection's next read (a prefetch) does not wait for
         * it: that read goes on on a thread of its own. The chain is not
         * destroyed before the tree is freed (freeing). */
        if (j) {
            pthread_t th;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&th, &attr, job_run, j) == 0) j = NULL;
            pthread_attr_destroy(&attr);
        }
        json_decref(res);
        pthread_mutex_lock(&c->mu);
        c->freeing--;
        pthread_cond_broadcast(&c->idle_cv);
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

static int heard_enough(const bh_evm_chain *c, const answer *a, enough_rule rule)
{
    size_t best, votes = 0, distinct;
    if (rule == ENOUGH_VOTES) {
        tally(c, a, &best, &votes, &distinct);
    } else {
        for (size_t i = 0; i < c->n; i++)
            if (a[i].status == BH_OK) votes++;
    }
    return votes >= c->cfg.quorum;
}

/* Ask endpoints idx[0..k) at once, one thread each (each endpoint owns its
 * connection), and return as soon as the rule is met or all answered: a
 * slow endpoint costs nothing while the others make the quorum, and its
 * timeout at most once otherwise. a[] is indexed by endpoint. An endpoint
 * still busy with an earlier read gets this one next (replacing an older
 * read it had not started: that one's status becomes BUSY); an answer that
 * comes after the read heard enough is LATE, and judged against the agreed
 * content when it comes. */
static void fan_out(bh_evm_chain *c, int lane, const size_t *idx, size_t k, const char *method,
                    json_t *params, parse_fn parse, const void *ctx, size_t ctx_len,
                    void (*free_obj)(void *), enough_rule rule, int finality, answer *a)
{
    fan *f = calloc(1, sizeof *f);
    if (!f || ctx_len > CTX_MAX || pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        for (size_t m = 0; m < k; m++)
            a[idx[m]].status = BH_ENOMEM;
        return;
    }
    pthread_cond_init(&f->cv, NULL);
    f->c = c;
    f->lane = lane;
    f->method = method;
    f->parse = parse;
    f->free_obj = free_obj;
    if (ctx) {
        memcpy(f->ctx, ctx, ctx_len);
        f->has_ctx = 1;
    }
    /* what earlier passes of this read heard counts toward the rule */
    for (size_t i = 0; i < BH_EVM_MAX_ENDPOINTS; i++) {
        f->a[i] = a[i];
        f->a[i].obj = NULL;
    }
    for (size_t m = 0; m < k; m++)
        f->a[idx[m]].status = BUSY;
    f->refs = 1;
    f->finality = finality;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (size_t m = 0; m < k; m++) {
        size_t i = idx[m];
        job *j = &f->jobs[i];
        *j = (job){f, i, json_deep_copy(params)};
        if (!j->params) {
            f->a[i].status = BH_ENOMEM;
            continue;
        }
        f->a[i].status = LATE;
        pthread_mutex_lock(&f->mu);
        f->refs++;
        f->pending++;
        pthread_mutex_unlock(&f->mu);
        pthread_mutex_lock(&c->mu);
        job *old = NULL;
        int start = !c->busy[lane][i];
        if (start) {
            c->busy[lane][i] = 1;
            c->in_flight++;
        } else {
            old = c->deferred[lane][i];
            c->deferred[lane][i] = j;
        }
        pthread_mutex_unlock(&c->mu);
        if (old) job_cancel(old);
        pthread_t th;
        if (start && pthread_create(&th, &attr, job_run, j) != 0) job_run(j); /* this thread */
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&f->mu);
    while (f->pending && !heard_enough(c, f->a, rule))
        pthread_cond_wait(&f->cv, &f->mu);
    if (rule == ENOUGH_VOTES && f->pending) {
        size_t best, votes, distinct;
        tally(c, f->a, &best, &votes, &distinct);
        if (best != SIZE_MAX && votes >= c->cfg.quorum) {
            f->winner = f->a[best].digest;
            f->has_winner = 1;
        }
    }
    for (size_t m = 0; m < k; m++) {
        a[idx[m]] = f->a[idx[m]];
        f->a[idx[m]].obj = NULL;
    }
    f->abandoned = 1;
    pthread_mutex_unlock(&f->mu);
    fan_unref(f);
}

static int quorum_on(bh_evm_chain *c, int lane, const char *method, json_t *params, parse_fn parse,
                     const void *ctx, size_t ctx_len, void (*free_obj)(void *), void **winner,
                     int finality, quorum_info *info)
{
    answer a[BH_EVM_MAX_ENDPOINTS];
    memset(a, 0, sizeof a);
    for (size_t i = 0; i < BH_EVM_MAX_ENDPOINTS; i++)
        a[i].status = NOT_ASKED;
    memset(info, 0, sizeof *info);
    *winner = NULL;
    if (!params) return BH_ENOMEM;
    int last_err = BH_ENOQUORUM;
    size_t best = SIZE_MAX, best_votes = 0, distinct = 0;
    /* Pass 0 asks the endpoints in good standing, pass 1 the others if needed. */
    for (int pass = 0; pass < 2; pass++) {
        size_t idx[BH_EVM_MAX_ENDPOINTS], k = 0;
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->n; i++) {
            if (c->excluded[i] || (pass == 1 && a[i].status != NOT_ASKED)) continue;
            if (pass == 0 && endpoint_down(c, i)) continue;
            idx[k++] = i;
        }
        pthread_mutex_unlock(&c->mu);
        fan_out(c, lane, idx, k, method, params, parse, ctx, ctx_len, free_obj, ENOUGH_VOTES,
                finality, a);
        for (size_t m = 0; m < k; m++) {
            const answer *x = &a[idx[m]];
            if (x->status == BH_OK) {
                info->answered++;
            } else if (x->status < 0) {
                last_err = x->status;
                if (x->status == BH_ERPC || x->status == BH_ETOOBIG) info->range_refused = 1;
                if (x->status == BH_ETOOBIG) info->too_big = 1;
            }
        }
        tally(c, a, &best, &best_votes, &distinct);
        if (best_votes >= c->cfg.quorum || (pass == 1 && k == 0)) break;
    }
    json_decref(params);

    int rc;
    if (best != SIZE_MAX && best_votes >= c->cfg.quorum) {
        rc = BH_OK;
        for (size_t i = 0; i < c->n; i++) {
            if (a[i].status != BH_OK) continue;
            if (memcmp(&a[i].digest, &a[best].digest, 32) == 0) {
                if (memcmp(&a[i].aux, &a[best].aux, 32) == 0) info->aux_agreed++;
                agreed(c, i);
                continue;
            }
            bh_rpc_note_disagreement(c->ep[i]);
            if (finality) bh_rpc_note_equivocation(c->ep[i]);
            outvoted(c, i);
            chain_log(c, BH_LOG_WARN,
                      "%s disagrees with the quorum on %s%s: outvoted, skipped for %u ms",
                      bh_rpc_url(c->ep[i]), method,
                      finality ? " at a finalized height (equivocation)" : "", c->out_ms[i]);
        }
        *winner = a[best].obj;
        a[best].obj = NULL;
    } else if (distinct > 1) {
        rc = finality ? BH_EEQUIVOCATION : BH_ENOQUORUM;
        info->split = 1;
        chain_log(c, BH_LOG_ERROR, "%s: endpoints disagree and no %u agree", method, c->cfg.quorum);
    } else {
        rc = info->answered ? BH_ENOQUORUM : last_err;
    }
    for (size_t i = 0; i < c->n; i++)
        if (a[i].obj) free_obj(a[i].obj);
    /* a side read's split is reported by the reader that waits for it */
    if (lane == 0) c->last_split = info->split;
    return rc;
}

static int quorum(bh_evm_chain *c, const char *method, json_t *params, parse_fn parse,
                  const void *ctx, size_t ctx_len, void (*free_obj)(void *), void **winner,
                  int finality, quorum_info *info)
{
    return quorum_on(c, 0, method, params, parse, ctx, ctx_len, free_obj, winner, finality, info);
}

static json_t *qty(uint64_t v)
{
    char q[19];
    bh_rpc_format_quantity(q, v);
    return json_string(q);
}

static json_t *hexj(const unsigned char *d, size_t n)
{
    char buf[2 * 64 + 3];
    if (n > 64) return NULL;
    bh_rpc_format_hex(buf, d, n);
    return json_string(buf);
}

/* ---- chain id ---- */

int bh_evm_chain_verify(bh_evm_chain *c)
{
    if (!c) return BH_EINVAL;
    size_t ok = 0, excluded = 0;
    int last = BH_ENOQUORUM;
    for (size_t i = 0; i < c->n; i++) {
        if (c->excluded[i]) {
            excluded++;
            continue;
        }
        json_t *res = NULL;
        uint64_t id = 0;
        (void)endpoint_take(c, i, 1);
        int rc = bh_rpc_call(c->ep[i], &res, "eth_chainId", NULL);
        endpoint_give(c, i);
        if (rc == BH_OK) rc = bh_rpc_read_quantity(&id, res);
        json_decref(res);
        if (rc != BH_OK) {
            last = rc;
            chain_log(c, BH_LOG_WARN, "%s: eth_chainId failed: %s", bh_rpc_url(c->ep[i]),
                      bh_errname(rc));
            continue;
        }
        if (id != c->cfg.evm_chain_id) {
            /* one endpoint of another chain is one endpoint fewer, not a
             * reason to stop: it is never asked again */
            pthread_mutex_lock(&c->mu);
            c->excluded[i] = 1;
            pthread_mutex_unlock(&c->mu);
            bh_rpc_set_suspect(c->ep[i], 1);
            excluded++;
            chain_log(c, BH_LOG_ERROR, "%s serves chain id %llu, configured %llu: excluded",
                      bh_rpc_url(c->ep[i]), (unsigned long long)id,
                      (unsigned long long)c->cfg.evm_chain_id);
            continue;
        }
        ok++;
    }
    /* the rest cannot make the quorum: the configuration is wrong */
    if (excluded && c->n - excluded < c->cfg.quorum) return BH_ECHAINID;
    if (ok >= c->cfg.quorum) return BH_OK;
    return ok ? BH_ENOQUORUM : last;
}

int bh_evm_chain_head(bh_evm_chain *c, uint64_t *out)
{
    if (out) *out = 0;
    if (!c || !out) return BH_EINVAL;
    for (size_t i = 0; i < c->n; i++) {
        pthread_mutex_lock(&c->mu);
        int skip = endpoint_down(c, i);
        pthread_mutex_unlock(&c->mu);
        if (skip || !endpoint_take(c, i, 0)) continue;
        json_t *res = NULL;
        int rc = bh_rpc_call(c->ep[i], &res, "eth_blockNumber", NULL);
        endpoint_give(c, i);
        if (rc == BH_OK) rc = bh_rpc_read_quantity(out, res);
        json_decref(res);
        if (rc == BH_OK) return BH_OK;
    }
    return BH_ENOQUORUM;
}

/* ---- blocks ---- */

typedef struct {
    uint64_t number;
    bh_hash32 hash;
    uint64_t timestamp;
} block_obj;

static int parse_block(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                       bh_hash32 *aux, void **obj)
{
    (void)c;
    (void)aux;
    const uint64_t *want = ctx;
    block_obj b;
    if (!json_is_object(res)) return BH_EPROTO;
    if (bh_rpc_member_quantity(&b.number, res, "number") != BH_OK ||
        bh_rpc_member_hash(&b.hash, res, "hash") != BH_OK ||
        bh_rpc_member_quantity(&b.timestamp, res, "timestamp") != BH_OK)
        return BH_EPROTO;
    if (want && b.number != *want) return BH_EPROTO;
    block_obj *o = malloc(sizeof *o);
    if (!o) return BH_ENOMEM;
    *o = b;
    qd_ctx k;
    qd_init(&k);
    qd_update(&k, &b, sizeof b);
    qd_final(&k, digest);
    *obj = o;
    return BH_OK;
}

static int block_at(bh_evm_chain *c, uint64_t number, block_obj *out)
{
    void *w = NULL;
    quorum_info qi;
    int rc = quorum(c, "eth_getBlockByNumber", json_pack("[o,b]", qty(number), 0), parse_block,
                    &number, sizeof number, free, &w, 1, &qi);
    if (rc == BH_OK) {
        *out = *(block_obj *)w;
        free(w);
    }
    return rc;
}

int bh_evm_chain_block_hash(bh_evm_chain *c, uint64_t number, bh_hash32 *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !out) return BH_EINVAL;
    block_obj b;
    int rc = block_at(c, number, &b);
    if (rc == BH_OK) *out = b.hash;
    return rc;
}

/* A head: a block object (its number) or a bare quantity (eth_blockNumber). */
static int parse_head(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                      bh_hash32 *aux, void **obj)
{
    (void)c;
    (void)ctx;
    (void)aux;
    uint64_t num = 0;
    int rc = json_is_object(res) ? bh_rpc_member_quantity(&num, res, "number")
                                 : bh_rpc_read_quantity(&num, res);
    if (rc != BH_OK) return BH_EPROTO;
    uint64_t *o = malloc(sizeof *o);
    if (!o) return BH_ENOMEM;
    *o = num;
    memset(digest, 0, sizeof *digest);
    *obj = o;
    return BH_OK;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int bh_evm_chain_finalized(bh_evm_chain *c, bh_block_ref *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !out) return BH_EINVAL;
    uint64_t nums[BH_EVM_MAX_ENDPOINTS];
    size_t got = 0;
    int last = BH_ENOQUORUM;
    json_t *params = c->cfg.confirmations == 0 ? json_pack("[s,b]", "finalized", 0) : json_array();
    if (!params) return BH_ENOMEM;
    const char *method = c->cfg.confirmations == 0 ? "eth_getBlockByNumber" : "eth_blockNumber";
    answer a[BH_EVM_MAX_ENDPOINTS];
    memset(a, 0, sizeof a);
    for (size_t i = 0; i < BH_EVM_MAX_ENDPOINTS; i++)
        a[i].status = NOT_ASKED;
    for (int pass = 0; pass < 2 && got < c->cfg.quorum; pass++) {
        size_t idx[BH_EVM_MAX_ENDPOINTS], k = 0;
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->n; i++) {
            if (c->excluded[i] || (pass == 1 && a[i].status != NOT_ASKED)) continue;
            if (pass == 0 && endpoint_down(c, i)) continue;
            idx[k++] = i;
        }
        pthread_mutex_unlock(&c->mu);
        fan_out(c, 0, idx, k, method, params, parse_head, NULL, 0, free, ENOUGH_ANSWERS, 0, a);
        for (size_t m = 0; m < k; m++) {
            answer *x = &a[idx[m]];
            if (x->status == BH_OK) {
                uint64_t num = *(uint64_t *)x->obj;
                if (c->cfg.confirmations)
                    num = num > c->cfg.confirmations ? num - c->cfg.confirmations : 0;
                nums[got++] = num;
            } else if (x->status < 0) {
                last = x->status;
            }
            free(x->obj);
            x->obj = NULL;
        }
    }
    json_decref(params);
    if (got < c->cfg.quorum) return got ? BH_ENOQUORUM : last;
    qsort(nums, got, sizeof nums[0], cmp_desc);
    uint64_t target = nums[c->cfg.quorum - 1]; /* k endpoints have finalized at least this */
    block_obj b;
    int rc = block_at(c, target, &b);
    if (rc != BH_OK) return rc;
    out->number = b.number;
    out->hash = b.hash;
    return BH_OK;
}

/* ---- logs ---- */

typedef struct {
    uint64_t block_number;
    bh_hash32 block_hash;
    bh_hash32 tx_hash;
    uint64_t log_index;
    uint64_t timestamp;
    int has_timestamp;
    bh_hash32 topics[4];
    size_t n_topics;
    unsigned char *data;
    size_t data_len;
} evm_log;

typedef struct {
    evm_log *v;
    size_t n;
    int capped;
} log_set;

static void free_logs(void *p)
{
    log_set *s = p;
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].data);
    free(s->v);
    free(s);
}

typedef struct {
    uint64_t from, to;
} range_ctx;

/* One log's fields but its data (read_log_data): the caller decides from
 * the address and topics whether the log is one it reads at all. */
static int read_log_head(const json_t *o, evm_log *l, bh_address *addr)
{
    json_t *topics = json_object_get(o, "topics");
    json_t *removed = json_object_get(o, "removed");
    json_t *ts = json_object_get(o, "blockTimestamp");
    if (bh_rpc_member_address(addr, o, "address") != BH_OK ||
        bh_rpc_member_quantity(&l->block_number, o, "blockNumber") != BH_OK ||
        bh_rpc_member_hash(&l->block_hash, o, "blockHash") != BH_OK ||
        bh_rpc_member_hash(&l->tx_hash, o, "transactionHash") != BH_OK ||
        bh_rpc_member_quantity(&l->log_index, o, "logIndex") != BH_OK || !json_is_array(topics) ||
        json_array_size(topics) > 4 || (removed && !json_is_false(removed)) ||
        l->log_index > UINT32_MAX)
        return BH_EPROTO;
    if (ts && !json_is_null(ts)) {
        if (bh_rpc_read_quantity(&l->timestamp, ts) != BH_OK) return BH_EPROTO;
        l->has_timestamp = 1;
    }
    l->n_topics = json_array_size(topics);
    for (size_t t = 0; t < l->n_topics; t++)
        if (bh_rpc_read_hash(&l->topics[t], json_array_get(topics, t)) != BH_OK) return BH_EPROTO;
    return BH_OK;
}

static int read_log_data(const json_t *o, evm_log *l)
{
    return bh_rpc_read_data(&l->data, &l->data_len, json_object_get(o, "data"), MAX_LOG_DATA) ==
                   BH_OK
               ? BH_OK
               : BH_EPROTO;
}

static void digest_log(qd_ctx *k, qd_ctx *kt, const evm_log *l)
{
    qd_update(k, &l->block_number, sizeof l->block_number);
    qd_update(k, l->block_hash.data, 32);
    qd_update(k, l->tx_hash.data, 32);
    qd_update(k, &l->log_index, sizeof l->log_index);
    if (kt) {
        qd_update(kt, &l->has_timestamp, sizeof l->has_timestamp);
        qd_update(kt, &l->timestamp, sizeof l->timestamp);
    }
    qd_update(k, &l->n_topics, sizeof l->n_topics);
    qd_update(k, l->topics, 32 * l->n_topics);
    qd_update(k, &l->data_len, sizeof l->data_len);
    qd_update(k, l->data, l->data_len);
}

static int parse_logs(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                      bh_hash32 *aux, void **obj)
{
    const range_ctx *r = ctx;
    if (!json_is_array(res)) return BH_EPROTO;
    size_t n = json_array_size(res);
    log_set *s = calloc(1, sizeof *s);
    if (!s) return BH_ENOMEM;
    s->v = calloc(n ? n : 1, sizeof *s->v);
    if (!s->v) {
        free(s);
        return BH_ENOMEM;
    }
    s->capped = n >= c->cfg.max_logs;
    /* blockTimestamp is optional in eth_getLogs answers: it goes into aux,
     * so a provider that leaves it out still votes with the others. */
    qd_ctx k, kt;
    qd_init(&k);
    qd_init(&kt);
    int rc = BH_OK;
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        const json_t *o = json_array_get(res, i);
        evm_log *l = &s->v[i];
        s->n = i + 1;
        bh_address addr;
        rc = read_log_head(o, l, &addr);
        /* An answer outside what we asked for is a lie or a bug. */
        if (rc == BH_OK && (memcmp(&addr, &c->cfg.portal, sizeof addr) != 0 ||
                            l->block_number < r->from || l->block_number > r->to))
            rc = BH_EPROTO;
        if (rc == BH_OK) rc = read_log_data(o, l);
        if (rc == BH_OK) digest_log(&k, &kt, l);
    }
    if (rc != BH_OK) {
        free_logs(s);
        return rc;
    }
    qd_final(&k, digest);
    qd_final(&kt, aux);
    *obj = s;
    return BH_OK;
}

/* A receipt's logs, once it is the receipt of tx (and, with block, in that
 * block). Returns: the logs array (borrowed from res), or NULL. Out: block_out. */
static const json_t *receipt_logs(const json_t *res, const bh_hash32 *tx, const bh_hash32 *block,
                                  bh_hash32 *block_out)
{
    bh_hash32 t, b;
    const json_t *logs = json_object_get(res, "logs");
    if (!json_is_object(res) || bh_rpc_member_hash(&t, res, "transactionHash") != BH_OK ||
        bh_rpc_member_hash(&b, res, "blockHash") != BH_OK || !json_is_array(logs) ||
        memcmp(&t, tx, 32) != 0 || (block && memcmp(&b, block, 32) != 0))
        return NULL;
    if (block_out) *block_out = b;
    return logs;
}

/* ---- a block's Portal events from its receipts ----
 * When even a one-block eth_getLogs answer is capped (a block crowded with
 * Portal events past the provider's limit), the block's transactions are
 * read (quorum) and each one's receipt (quorum): no block can stop the
 * watcher, at one read per transaction of that block. */

typedef struct {
    uint64_t number;
    bh_hash32 hash;
    uint64_t timestamp;
    bh_hash32 *txs;
    size_t n_txs;
} block_txs;

static void free_block_txs(void *p)
{
    block_txs *b = p;
    if (!b) return;
    free(b->txs);
    free(b);
}

static int parse_block_txs(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                           bh_hash32 *aux, void **obj)
{
    (void)c;
    (void)aux;
    const uint64_t *want = ctx;
    json_t *txs = json_object_get(res, "transactions");
    if (!json_is_object(res) || !json_is_array(txs)) return BH_EPROTO;
    block_txs *b = calloc(1, sizeof *b);
    if (!b) return BH_ENOMEM;
    b->n_txs = json_array_size(txs);
    b->txs = calloc(b->n_txs ? b->n_txs : 1, sizeof *b->txs);
    int rc = b->txs ? BH_OK : BH_ENOMEM;
    if (rc == BH_OK &&
        (bh_rpc_member_quantity(&b->number, res, "number") != BH_OK ||
         bh_rpc_member_hash(&b->hash, res, "hash") != BH_OK ||
         bh_rpc_member_quantity(&b->timestamp, res, "timestamp") != BH_OK || b->number != *want))
        rc = BH_EPROTO;
    for (size_t i = 0; rc == BH_OK && i < b->n_txs; i++)
        if (bh_rpc_read_hash(&b->txs[i], json_array_get(txs, i)) != BH_OK) rc = BH_EPROTO;
    if (rc != BH_OK) {
        free_block_txs(b);
        return rc;
    }
    qd_ctx k;
    qd_init(&k);
    qd_update(&k, &b->number, sizeof b->number);
    qd_update(&k, b->hash.data, 32);
    qd_update(&k, &b->timestamp, sizeof b->timestamp);
    qd_update(&k, b->txs, 32 * b->n_txs);
    qd_final(&k, digest);
    *obj = b;
    return BH_OK;
}

typedef struct {
    bh_hash32 tx;
    bh_hash32 block;
    uint64_t number;
} receipt_logs_ctx;
_Static_assert(sizeof(receipt_logs_ctx) <= CTX_MAX, "a parse context fits a read's copy");

/* A receipt's Portal TransferOut logs; every other log is skipped unread. */
static int parse_receipt_logs(bh_evm_chain *c, const json_t *res, const void *ctx,
                              bh_hash32 *digest, bh_hash32 *aux, void **obj)
{
    (void)aux;
    const receipt_logs_ctx *rx = ctx;
    const json_t *logs = receipt_logs(res, &rx->tx, &rx->block, NULL);
    if (!logs) return BH_EPROTO;
    size_t n = json_array_size(logs);
    log_set *s = calloc(1, sizeof *s);
    if (!s) return BH_ENOMEM;
    s->v = calloc(n ? n : 1, sizeof *s->v);
    if (!s->v) {
        free(s);
        return BH_ENOMEM;
    }
    qd_ctx k;
    qd_init(&k);
    int rc = BH_OK;
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        const json_t *o = json_array_get(logs, i);
        evm_log *l = &s->v[s->n];
        bh_address addr;
        memset(l, 0, sizeof *l);
        rc = read_log_head(o, l, &addr);
        if (rc != BH_OK) break;
        if (memcmp(&addr, &c->cfg.portal, sizeof addr) != 0 || l->n_topics == 0 ||
            memcmp(&l->topics[0], &c->topic_out, 32) != 0)
            continue;
        if (l->block_number != rx->number || memcmp(&l->block_hash, &rx->block, 32) != 0 ||
            memcmp(&l->tx_hash, &rx->tx, 32) != 0)
            rc = BH_EPROTO;
        if (rc == BH_OK) rc = read_log_data(o, l);
        if (rc == BH_OK) {
            l->has_timestamp = 0;
            l->timestamp = 0;
            digest_log(&k, NULL, l);
            s->n++;
        }
    }
    if (rc != BH_OK) {
        free_logs(s);
        return rc;
    }
    qd_final(&k, digest);
    *obj = s;
    return BH_OK;
}

static int block_portal_logs(bh_evm_chain *c, uint64_t number, log_set **out)
{
    *out = NULL;
    void *w = NULL;
    quorum_info qi;
    int rc = quorum(c, "eth_getBlockByNumber", json_pack("[o,b]", qty(number), 0), parse_block_txs,
                    &number, sizeof number, free_block_txs, &w, 1, &qi);
    if (rc != BH_OK) return rc;
    block_txs *b = w;
    log_set *all = calloc(1, sizeof *all);
    if (!all) {
        free_block_txs(b);
        return BH_ENOMEM;
    }
    for (size_t t = 0; t < b->n_txs && rc == BH_OK; t++) {
        receipt_logs_ctx rx = {b->txs[t], b->hash, b->number};
        void *rw = NULL;
        rc = quorum(c, "eth_getTransactionReceipt", json_pack("[o]", hexj(b->txs[t].data, 32)),
                    parse_receipt_logs, &rx, sizeof rx, free_logs, &rw, 0, &qi);
        if (rc != BH_OK) break;
        log_set *ls = rw;
        if (ls->n) {
            evm_log *nv = realloc(all->v, (all->n + ls->n) * sizeof *nv);
            if (!nv) {
                free_logs(ls);
                rc = BH_ENOMEM;
                break;
            }
            all->v = nv;
            for (size_t i = 0; i < ls->n; i++) {
                ls->v[i].timestamp = b->timestamp;
                ls->v[i].has_timestamp = 1;
                all->v[all->n++] = ls->v[i];
            }
            ls->n = 0; /* the data moved to all */
        }
        free_logs(ls);
    }
    free_block_txs(b);
    if (rc != BH_OK) {
        free_logs(all);
        return rc;
    }
    *out = all;
    return BH_OK;
}

/* ---- ERC-20 transfers into the Portal ----
 * The logs of a transaction are its receipt's logs: asking eth_getLogs for
 * every Transfer(_, portal, _) of the range emitted by the chain's
 * registered tokens gives, per transaction hash, exactly the receipt entries
 * the lock check needs, in one call per range, under the same quorum. Only
 * those token addresses are asked for, so no other contract can fill the
 * answer. A lock of another token, or in a range still capped at one
 * block, is checked on its own transaction receipt. */

typedef struct {
    bh_hash32 tx_hash;
    bh_hash32 block_hash;
    uint64_t log_index;
    bh_address token;
    bh_address from;
    bh_u256 value;
    uint64_t block_number; /* filled for range answers only */
    int used;
    int burn; /* Transfer(from, 0x0, value): the token's supply shrank */
} portal_transfer;

typedef struct {
    portal_transfer *v;
    size_t n;
    int capped;
    int sorted; /* v is in (tx_hash, log_index) order: sorted on first match */
} transfer_set;

static void free_transfers(void *p)
{
    transfer_set *s = p;
    if (!s) return;
    free(s->v);
    free(s);
}

/* One log, if it is Transfer(_, portal, value) (what the range query asked
 * for) or, with burns, Transfer(_, 0x0, value): 1 and *pt filled; 0 if it
 * is some other log (possible only in a receipt); BH_EPROTO if it cannot be
 * read. */
static int read_transfer(bh_evm_chain *c, const json_t *log, const bh_hash32 *tx,
                         const bh_hash32 *block, portal_transfer *pt, uint64_t *block_number,
                         int burns)
{
    static const bh_hash32 zero;
    json_t *topics = json_object_get(log, "topics");
    json_t *removed = json_object_get(log, "removed");
    bh_hash32 t0, t1, t2;
    memset(pt, 0, sizeof *pt);
    if (!json_is_array(topics) || json_array_size(topics) > 4) return BH_EPROTO;
    if (json_array_size(topics) != 3) return 0;
    if (bh_rpc_read_hash(&t0, json_array_get(topics, 0)) != BH_OK ||
        bh_rpc_read_hash(&t1, json_array_get(topics, 1)) != BH_OK ||
        bh_rpc_read_hash(&t2, json_array_get(topics, 2)) != BH_OK ||
        bh_rpc_member_address(&pt->token, log, "address") != BH_OK ||
        bh_rpc_member_quantity(&pt->log_index, log, "logIndex") != BH_OK ||
        bh_rpc_member_quantity(block_number, log, "blockNumber") != BH_OK ||
        (removed && !json_is_false(removed)))
        return BH_EPROTO;
    if (memcmp(&t0, &c->topic_transfer, 32) != 0) return 0;
    pt->burn = burns && memcmp(t2.data, zero.data, 32) == 0;
    if (!pt->burn && memcmp(t2.data, c->portal32.data, 32) != 0) return 0;
    if (bh_abi_read_address(&pt->from, t1.data, 32, 0) != BH_OK) return 0;
    if (tx) {
        pt->tx_hash = *tx;
        pt->block_hash = *block;
    } else if (bh_rpc_member_hash(&pt->tx_hash, log, "transactionHash") != BH_OK ||
               bh_rpc_member_hash(&pt->block_hash, log, "blockHash") != BH_OK) {
        return BH_EPROTO;
    }
    /* a Transfer-shaped log whose data is not one uint256 is not an ERC-20
     * transfer: anyone's contract can emit one into a receipt */
    const char *hex = json_string_value(json_object_get(log, "data"));
    if (!hex) return BH_EPROTO;
    if (strlen(hex) != 66) return 0;
    unsigned char *data = NULL;
    size_t dlen = 0;
    int rc = bh_rpc_read_data(&data, &dlen, json_object_get(log, "data"), 32);
    if (rc == BH_OK && (dlen != 32 || bh_abi_read_u256(&pt->value, data, dlen, 0) != BH_OK))
        rc = BH_EPROTO;
    free(data);
    return rc == BH_OK ? 1 : BH_EPROTO;
}

/* An empty set with room for n transfers; NULL when out of memory. */
static transfer_set *transfer_set_new(size_t n, int capped)
{
    transfer_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->v = calloc(n ? n : 1, sizeof *s->v);
    if (!s->v) {
        free(s);
        return NULL;
    }
    s->capped = capped;
    return s;
}

static int token_listed(const bh_evm_chain *c, const bh_address *t)
{
    for (size_t i = 0; i < c->n_tokens; i++)
        if (!memcmp(&c->tokens[i], t, sizeof *t)) return 1;
    return 0;
}

static int parse_transfers(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                           bh_hash32 *aux, void **obj)
{
    (void)aux;
    const range_ctx *r = ctx;
    if (!json_is_array(res)) return BH_EPROTO;
    size_t n = json_array_size(res);
    transfer_set *s = transfer_set_new(n, n >= c->cfg.max_logs);
    if (!s) return BH_ENOMEM;
    qd_ctx k;
    qd_init(&k);
    int rc = BH_OK;
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        portal_transfer *pt = &s->v[i];
        uint64_t block = 0;
        /* Exactly what was asked for, or the answer is wrong. */
        int got = read_transfer(c, json_array_get(res, i), NULL, NULL, pt, &block, 0);
        if (got != 1 || block < r->from || block > r->to || !token_listed(c, &pt->token))
            rc = BH_EPROTO;
        pt->block_number = block;
        s->n = i + 1;
        qd_update(&k, pt, sizeof *pt);
    }
    if (rc != BH_OK) {
        free_transfers(s);
        return rc;
    }
    qd_final(&k, digest);
    *obj = s;
    return BH_OK;
}

/* Transfers into the Portal by the listed tokens in blocks [from, to],
 * agreed by the quorum (an empty set when no token is listed). */
static int range_transfers(bh_evm_chain *c, int lane, uint64_t from, uint64_t to,
                           transfer_set **out, quorum_info *qi)
{
    *out = NULL;
    memset(qi, 0, sizeof *qi);
    if (c->n_tokens == 0) {
        transfer_set *ts = calloc(1, sizeof *ts);
        if (!ts) return BH_ENOMEM;
        *out = ts;
        return BH_OK;
    }
    range_ctx rcx = {from, to};
    json_t *addrs = json_array();
    for (size_t i = 0; addrs && i < c->n_tokens; i++)
        json_array_append_new(addrs, hexj(c->tokens[i].data, 20));
    json_t *filter =
        json_pack("{s:o,s:o,s:o,s:[o,n,o]}", "fromBlock", qty(from), "toBlock", qty(to), "address",
                  addrs, "topics", hexj(c->topic_transfer.data, 32), hexj(c->portal32.data, 32));
    void *w = NULL;
    int rc = quorum_on(c, lane, "eth_getLogs", json_pack("[o]", filter), parse_transfers, &rcx,
                       sizeof rcx, free_transfers, &w, 0, qi);
    if (rc != BH_OK) return rc;
    *out = w; /* the caller decides what a capped set is good for */
    return BH_OK;
}

/* The range's token transfers read on the side connections while the
 * watcher's thread reads the Portal's events. */
typedef struct {
    bh_evm_chain *c;
    uint64_t from, to;
    transfer_set *ts;
    quorum_info qi;
    int rc;
} side_read;

static void *side_read_run(void *p)
{
    side_read *r = p;
    r->rc = range_transfers(r->c, LANE_SIDE, r->from, r->to, &r->ts, &r->qi);
    return NULL;
}

/* A range's reads: its Portal events and (speculate) its token transfers,
 * at once. Run by the watcher's thread, or by a thread of its own while the
 * watcher decodes the range before (prefetch). */
typedef struct {
    bh_evm_chain *c;
    uint64_t from, to;
    int speculate;
    side_read side;
    int side_on;
    log_set *ls;
    quorum_info qi;
    int rc;
} range_read;

static void range_read_do(range_read *r)
{
    bh_evm_chain *c = r->c;
    r->side = (side_read){.c = c, .from = r->from, .to = r->to};
    pthread_t th;
    r->side_on = r->speculate && pthread_create(&th, NULL, side_read_run, &r->side) == 0;
    range_ctx rcx = {r->from, r->to};
    json_t *filter =
        json_pack("{s:o,s:o,s:o,s:[o]}", "fromBlock", qty(r->from), "toBlock", qty(r->to),
                  "address", hexj(c->cfg.portal.data, 20), "topics", hexj(c->topic_out.data, 32));
    void *w = NULL;
    r->rc = quorum_on(c, LANE_LOGS, "eth_getLogs", json_pack("[o]", filter), parse_logs, &rcx,
                      sizeof rcx, free_logs, &w, 0, &r->qi);
    r->ls = w;
    if (r->side_on) pthread_join(th, NULL);
}

static void *range_read_run(void *p)
{
    range_read_do(p);
    return NULL;
}

/* The last block an answer of at least max_logs entries surely holds in
 * full. A provider that cuts an answer short keeps a prefix in (block, log
 * index) order, and may cut inside a block: every block before the
 * answer's last is whole, its last may not be. Returns 0 if the answer is
 * one block (nothing before it is known whole). */
static uint64_t whole_before(uint64_t from, uint64_t last)
{
    return last > from ? last - 1 : 0;
}

/* Drop the logs above block `end` (a cut answer's possibly partial tail). */
static void logs_cut(log_set *s, uint64_t end)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].block_number <= end) {
            s->v[k++] = s->v[i];
            continue;
        }
        free(s->v[i].data);
    }
    s->n = k;
    s->capped = 0;
}

static uint64_t logs_last_block(const log_set *s)
{
    uint64_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].block_number > m) m = s->v[i].block_number;
    return m;
}

static uint64_t transfers_last_block(const transfer_set *s)
{
    uint64_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].block_number > m) m = s->v[i].block_number;
    return m;
}

typedef struct {
    bh_hash32 tx;
    bh_hash32 block;
} receipt_ctx;

/* A transaction receipt's Transfer(_, portal, _) and Transfer(_, 0x0, _)
 * logs, any token. */
static int parse_receipt(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                         bh_hash32 *aux, void **obj)
{
    (void)aux;
    const receipt_ctx *rc_ = ctx;
    bh_hash32 tx = rc_->tx, block;
    const json_t *logs = receipt_logs(res, &tx, NULL, &block);
    if (!logs) return BH_EPROTO;
    size_t n = json_array_size(logs);
    transfer_set *s = transfer_set_new(n, 0);
    if (!s) return BH_ENOMEM;
    qd_ctx k;
    qd_init(&k);
    qd_update(&k, block.data, 32);
    int rc = BH_OK;
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        uint64_t bn = 0;
        int got = read_transfer(c, json_array_get(logs, i), &tx, &block, &s->v[s->n], &bn, 1);
        if (got < 0) rc = got;
        if (got == 1) qd_update(&k, &s->v[s->n++], sizeof *s->v);
    }
    if (rc != BH_OK) {
        free_transfers(s);
        return rc;
    }
    qd_final(&k, digest);
    *obj = s;
    return BH_OK;
}

/* Receipts fetched while decoding one range, so that several locks in one
 * transaction use each transfer once. An entry is a whole receipt's
 * transfers; or (by_token) one token's burns (burn) or transfers into the
 * Portal by one sender in the transaction, read by block hash when the
 * receipt is too large to read; or (too_big, no transfers) the note that
 * the receipt is, so it is not fetched again. */
typedef struct receipt_entry {
    bh_hash32 tx;
    transfer_set *ts;
    int by_token, too_big, burn;
    bh_address token, from;
    struct receipt_entry *next;
} receipt_entry;

static void free_receipts(receipt_entry *r)
{
    while (r) {
        receipt_entry *next = r->next;
        free_transfers(r->ts);
        free(r);
        r = next;
    }
}

static int receipt_transfers(bh_evm_chain *c, receipt_entry **cache, const bh_hash32 *tx,
                             const bh_hash32 *block, transfer_set **out)
{
    *out = NULL;
    for (receipt_entry *r = *cache; r; r = r->next)
        if (!r->by_token && !memcmp(&r->tx, tx, 32)) {
            *out = r->ts;
            return r->too_big ? BH_ETOOBIG : BH_OK;
        }
    receipt_ctx rcx = {*tx, *block};
    void *w = NULL;
    quorum_info qi;
    int rc = quorum(c, "eth_getTransactionReceipt", json_pack("[o]", hexj(tx->data, 32)),
                    parse_receipt, &rcx, sizeof rcx, free_transfers, &w, 0, &qi);
    if (rc != BH_OK && rc != BH_ETOOBIG) return rc;
    receipt_entry *e = calloc(1, sizeof *e);
    if (!e) {
        free_transfers(w);
        return BH_ENOMEM;
    }
    e->tx = *tx;
    e->ts = w;
    e->too_big = rc == BH_ETOOBIG;
    e->next = *cache;
    *cache = e;
    *out = e->ts;
    return rc;
}

typedef struct {
    bh_hash32 tx;
    bh_hash32 block;
    bh_address token, from;
    int burn;
} block_moves_ctx;
_Static_assert(sizeof(block_moves_ctx) <= CTX_MAX, "a parse context fits a read's copy");

/* One token's Transfer(from, 0x0, _) (burn) or Transfer(from, portal, _)
 * logs in one block (eth_getLogs by block hash), those of transaction tx
 * kept. */
static int parse_block_moves(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                             bh_hash32 *aux, void **obj)
{
    (void)aux;
    const block_moves_ctx *bx = ctx;
    if (!json_is_array(res)) return BH_EPROTO;
    size_t n = json_array_size(res);
    transfer_set *s = transfer_set_new(n, n >= c->cfg.max_logs);
    if (!s) return BH_ENOMEM;
    qd_ctx k;
    qd_init(&k);
    int rc = BH_OK;
    for (size_t i = 0; i < n && rc == BH_OK; i++) {
        portal_transfer *pt = &s->v[s->n];
        uint64_t bn = 0;
        int got = read_transfer(c, json_array_get(res, i), NULL, NULL, pt, &bn, 1);
        if (got < 0) rc = got;
        if (got != 1) continue;
        /* exactly what was asked for, or the answer is wrong */
        if (pt->burn != bx->burn || memcmp(&pt->block_hash, &bx->block, 32) != 0 ||
            memcmp(&pt->token, &bx->token, sizeof pt->token) != 0 ||
            memcmp(&pt->from, &bx->from, sizeof pt->from) != 0)
            rc = BH_EPROTO;
        else if (!memcmp(&pt->tx_hash, &bx->tx, 32))
            qd_update(&k, &s->v[s->n++], sizeof *s->v);
    }
    if (rc != BH_OK) {
        free_transfers(s);
        return rc;
    }
    qd_final(&k, digest);
    *obj = s;
    return BH_OK;
}

/* For an event whose receipt is too large to read (anyone's transaction
 * may log enough to pass any client's answer limit): the burns (burn) of
 * `token` by `from`, or its transfers from `from` into the Portal, in
 * transaction tx, read by block hash and filtered on the token and both
 * ends, so no other contract and no other sender can fill the answer (only
 * the Portal burns its wrapped token). BH_ETOOBIG if even that is capped. */
static int token_moves(bh_evm_chain *c, receipt_entry **cache, const bh_hash32 *tx,
                       const bh_hash32 *block, const bh_address *token, const bh_address *from,
                       int burn, transfer_set **out)
{
    static const bh_hash32 zero;
    *out = NULL;
    for (receipt_entry *r = *cache; r; r = r->next)
        if (r->by_token && r->burn == burn && !memcmp(&r->tx, tx, 32) &&
            !memcmp(&r->token, token, sizeof *token) && !memcmp(&r->from, from, sizeof *from)) {
            *out = r->ts;
            return BH_OK;
        }
    block_moves_ctx bx;
    memset(&bx, 0, sizeof bx);
    bx.tx = *tx;
    bx.block = *block;
    bx.token = *token;
    bx.from = *from;
    bx.burn = burn;
    unsigned char from32[32] = {0};
    memcpy(from32 + 12, from->data, 20);
    json_t *filter = json_pack("{s:o,s:o,s:[o,o,o]}", "blockHash", hexj(block->data, 32), "address",
                               hexj(token->data, 20), "topics", hexj(c->topic_transfer.data, 32),
                               hexj(from32, 32), hexj(burn ? zero.data : c->portal32.data, 32));
    void *w = NULL;
    quorum_info qi;
    int rc = quorum(c, "eth_getLogs", filter ? json_pack("[o]", filter) : NULL, parse_block_moves,
                    &bx, sizeof bx, free_transfers, &w, 0, &qi);
    if (rc != BH_OK) return rc;
    transfer_set *ts = w;
    if (ts->capped) {
        free_transfers(ts);
        return BH_ETOOBIG;
    }
    receipt_entry *e = calloc(1, sizeof *e);
    if (!e) {
        free_transfers(ts);
        return BH_ENOMEM;
    }
    e->tx = *tx;
    e->ts = ts;
    e->by_token = 1;
    e->burn = burn;
    e->token = *token;
    e->from = *from;
    e->next = *cache;
    *cache = e;
    *out = ts;
    return BH_OK;
}

/* The lock at (tx, log_index) of `amount` in `token` is backed when the same
 * transaction holds an earlier, not yet used Transfer of the token into the
 * Portal of at least that amount (which it then uses). Returns
 * BH_REJECT_OK; BH_REJECT_SHORT_LOCK if the best such transfer moved less
 * (a fee-on-transfer token: any sender can cause it); BH_REJECT_FORGED_LOCK
 * if none moved anything. */
static int cmp_transfer(const void *a, const void *b)
{
    const portal_transfer *x = a, *y = b;
    int d = memcmp(x->tx_hash.data, y->tx_hash.data, 32);
    if (d) return d;
    return x->log_index < y->log_index ? -1 : x->log_index > y->log_index;
}

/* The entries of transaction tx, in log order: [*first, return). A range's
 * set is sorted once, so matching n locks costs O(n log n), not O(n^2). */
static size_t transfers_of_tx(transfer_set *ts, const bh_hash32 *tx, size_t *first)
{
    if (!ts->sorted) {
        if (ts->n > 1) qsort(ts->v, ts->n, sizeof *ts->v, cmp_transfer);
        ts->sorted = 1;
    }
    size_t lo = 0, hi = ts->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(ts->v[mid].tx_hash.data, tx->data, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    while (hi < ts->n && !memcmp(ts->v[hi].tx_hash.data, tx->data, 32))
        hi++;
    return hi;
}

static bh_reject lock_backed(transfer_set *ts, const bh_hash32 *block, const bh_hash32 *tx,
                             uint64_t log_index, const bh_address *token, const bh_u256 *amount)
{
    bh_reject verdict = BH_REJECT_FORGED_LOCK;
    size_t first = 0, end = transfers_of_tx(ts, tx, &first);
    for (size_t i = first; i < end; i++) {
        portal_transfer *p = &ts->v[i];
        if (p->used || p->burn || p->log_index >= log_index || memcmp(&p->tx_hash, tx, 32) != 0 ||
            memcmp(&p->block_hash, block, 32) != 0 || memcmp(&p->token, token, 20) != 0)
            continue;
        if (bh_u256_cmp(&p->value, amount) < 0) {
            if (!bh_u256_is_zero(&p->value)) verdict = BH_REJECT_SHORT_LOCK;
            continue;
        }
        p->used = 1;
        return BH_REJECT_OK;
    }
    return verdict;
}

/* The burn at (tx, log_index) of `amount` by `sender` is backed when the
 * same transaction holds an earlier, not yet used burn of at least that
 * amount of the Portal's wrapped token from the sender's balance
 * (WrappedToken.burnFrom emits Transfer(sender, 0x0, amount)); it is then
 * used. Anything else is a burn nobody made: BH_REJECT_FORGED_BURN. */
static bh_reject burn_backed(transfer_set *ts, const bh_hash32 *block, const bh_hash32 *tx,
                             uint64_t log_index, const bh_address *wrapped,
                             const bh_address *sender, const bh_u256 *amount)
{
    size_t first = 0, end = transfers_of_tx(ts, tx, &first);
    for (size_t i = first; i < end; i++) {
        portal_transfer *p = &ts->v[i];
        if (p->used || !p->burn || p->log_index >= log_index || memcmp(&p->tx_hash, tx, 32) != 0 ||
            memcmp(&p->block_hash, block, 32) != 0 || memcmp(&p->token, wrapped, 20) != 0 ||
            memcmp(&p->from, sender, 20) != 0 || bh_u256_cmp(&p->value, amount) < 0)
            continue;
        p->used = 1;
        return BH_REJECT_OK;
    }
    return BH_REJECT_FORGED_BURN;
}

typedef struct {
    bh_chain_event *v;
    size_t n, cap;
} event_vec;

static int push_event(event_vec *ev, const bh_chain_event *e)
{
    if (ev->n == ev->cap) {
        size_t nc = ev->cap ? ev->cap * 2 : 64;
        bh_chain_event *nv = realloc(ev->v, nc * sizeof *nv);
        if (!nv) return BH_ENOMEM;
        ev->v = nv;
        ev->cap = nc;
    }
    ev->v[ev->n++] = *e;
    return BH_OK;
}

typedef struct {
    int have;
    uint64_t next;
} seq_state;

/* Decode the logs of one block (logs[first..end)) into events. ts holds the
 * range's transfers of the listed tokens (NULL: the range answer was capped,
 * every lock is checked on its receipt). */
static int decode_block(bh_evm_chain *c, const log_set *ls, size_t first, size_t end,
                        event_vec *out, seq_state *seq, transfer_set *ts, receipt_entry **receipts)
{
    const evm_log *l0 = &ls->v[first];
    uint64_t timestamp = l0->timestamp;
    int have_ts = 1;
    for (size_t i = first; i < end; i++)
        if (!ls->v[i].has_timestamp || ls->v[i].timestamp != timestamp) have_ts = 0;
    if (!have_ts) {
        block_obj b;
        int rc = block_at(c, l0->block_number, &b);
        if (rc != BH_OK) return rc;
        if (memcmp(&b.hash, &l0->block_hash, 32) != 0) return BH_EEQUIVOCATION;
        timestamp = b.timestamp;
    }
    if (timestamp > UINT32_MAX) return BH_EPROTO;

    for (size_t i = first; i < end; i++) {
        const evm_log *l = &ls->v[i];
        if (memcmp(&l->block_hash, &l0->block_hash, 32) != 0)
            return BH_EPROTO; /* two hashes for one height in one answer */
        bh_chain_event e;
        memset(&e, 0, sizeof e);
        e.block_number = l->block_number;
        e.block_hash = l->block_hash;
        e.tx_hash = l->tx_hash;
        e.log_index = (uint32_t)l->log_index;
        bh_portal_transfer_out ev;
        if (bh_portal_decode_transfer_out(&ev, l->topics, l->n_topics, l->data, l->data_len) !=
            BH_OK) {
            e.verdict = BH_REJECT_MALFORMED;
            chain_log(c, BH_LOG_WARN, "block %llu log %u: undecodable TransferOut",
                      (unsigned long long)l->block_number, e.log_index);
            if (push_event(out, &e) != BH_OK) return BH_ENOMEM;
            continue;
        }
        if (seq->have && ev.sequence != seq->next) {
            chain_log(c, BH_LOG_ERROR,
                      "block %llu: Portal sequence %llu where %llu was due: an answer "
                      "is missing events",
                      (unsigned long long)l->block_number, (unsigned long long)ev.sequence,
                      (unsigned long long)seq->next);
            return BH_EPROTO;
        }
        seq->have = 1;
        seq->next = ev.sequence + 1;
        e.sequence = ev.sequence;
        e.has_sequence = 1;
        e.kind = ev.kind;
        e.sender = ev.sender;
        e.nonce = ev.nonce;
        bh_reject why = BH_REJECT_OK;
        if (bh_portal_event_body(e.body, &e.body_len, &e.msg, &why, &ev, c->cfg.bridge_id,
                                 &c->cfg.portal, (uint32_t)timestamp) != BH_OK) {
            e.verdict = why == BH_REJECT_OK ? BH_REJECT_MALFORMED : why;
        } else if (ev.kind == BH_EVENT_LOCK) {
            bh_address token;
            int token_ok = ev.token_chain == c->cfg.bridge_id &&
                           bh_abi_read_address(&token, ev.token.data, 32, 0) == BH_OK;
            if (!token_ok) {
                e.verdict = BH_REJECT_MALFORMED;
            } else {
                transfer_set *set = ts && token_listed(c, &token) ? ts : NULL;
                int unverifiable = 0;
                if (!set) {
                    int rrc = receipt_transfers(c, receipts, &l->tx_hash, &l->block_hash, &set);
                    if (rrc != BH_OK && rrc != BH_ENOMEM) {
                        /* a receipt too large to read never stops the
                         * watcher: the sender's transfers into the Portal
                         * are read alone */
                        chain_log(c, BH_LOG_WARN,
                                  "block %llu log %u: the lock's receipt could not be read (%s): "
                                  "the token's transfers into the Portal read by block",
                                  (unsigned long long)l->block_number, e.log_index,
                                  bh_errname(rrc));
                        rrc = token_moves(c, receipts, &l->tx_hash, &l->block_hash, &token,
                                          &ev.sender, 0, &set);
                        /* the sender alone filled even that: refused, never
                         * evidence (it is the sender's doing, not the chain's) */
                        if (rrc == BH_ETOOBIG) {
                            unverifiable = 1;
                            rrc = BH_OK;
                        }
                    }
                    if (rrc != BH_OK) return rrc;
                }
                e.verdict = unverifiable ? BH_REJECT_SHORT_LOCK
                                         : lock_backed(set, &l->block_hash, &l->tx_hash,
                                                       l->log_index, &token, &ev.amount);
                if (e.verdict != BH_REJECT_OK)
                    chain_log(c, BH_LOG_WARN, "block %llu log %u: lock of sequence %llu %s",
                              (unsigned long long)l->block_number, e.log_index,
                              (unsigned long long)ev.sequence,
                              e.verdict == BH_REJECT_SHORT_LOCK
                                  ? "moved less than it claims into the Portal: short"
                                  : "has no token transfer into the Portal: forged");
            }
        } else if (ev.kind == BH_EVENT_BURN) {
            /* a burn counts only if the wrapped token really left circulation */
            static const bh_address zero;
            bh_address wrapped;
            /* at the head, not the burn's block: the Portal never changes a
             * wrapped token once made, and old state may be pruned */
            int wrc =
                bh_evm_chain_wrapped_for(c, &wrapped, ev.token_chain, &ev.token, BH_EVM_LATEST);
            if (wrc != BH_OK) return wrc;
            transfer_set *set = NULL;
            if (memcmp(&wrapped, &zero, sizeof zero) != 0) {
                int rrc = receipt_transfers(c, receipts, &l->tx_hash, &l->block_hash, &set);
                if (rrc != BH_OK && rrc != BH_ENOMEM) {
                    /* a receipt too large to read (or refused) never stops
                     * the watcher: the burns it must hold are read alone */
                    chain_log(c, BH_LOG_WARN,
                              "block %llu log %u: the burn's receipt could not be read (%s): the "
                              "wrapped token's burns read by block",
                              (unsigned long long)l->block_number, e.log_index, bh_errname(rrc));
                    rrc = token_moves(c, receipts, &l->tx_hash, &l->block_hash, &wrapped,
                                      &ev.sender, 1, &set);
                }
                if (rrc != BH_OK) return rrc;
            }
            e.verdict = set ? burn_backed(set, &l->block_hash, &l->tx_hash, l->log_index, &wrapped,
                                          &ev.sender, &ev.amount)
                            : BH_REJECT_FORGED_BURN;
            if (e.verdict != BH_REJECT_OK)
                chain_log(c, BH_LOG_WARN,
                          "block %llu log %u: burn of sequence %llu has no burn of the Portal's "
                          "wrapped token behind it: forged",
                          (unsigned long long)l->block_number, e.log_index,
                          (unsigned long long)ev.sequence);
        }
        if (push_event(out, &e) != BH_OK) return BH_ENOMEM;
    }
    return BH_OK;
}

/* ---- one transaction again (re-observation) ---- */

typedef struct {
    int found; /* a successful transaction in a block */
    uint64_t number;
    bh_hash32 block;
} tx_place;

static int parse_tx_place(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                          bh_hash32 *aux, void **obj)
{
    (void)c;
    (void)aux;
    const bh_hash32 *tx = ctx;
    tx_place *p = calloc(1, sizeof *p);
    if (!p) return BH_ENOMEM;
    uint64_t status = 0;
    if (!json_is_null(res)) {
        bh_hash32 t;
        if (!json_is_object(res) || bh_rpc_member_hash(&t, res, "transactionHash") != BH_OK ||
            memcmp(&t, tx, 32) != 0 || bh_rpc_member_hash(&p->block, res, "blockHash") != BH_OK ||
            bh_rpc_member_quantity(&p->number, res, "blockNumber") != BH_OK ||
            bh_rpc_member_quantity(&status, res, "status") != BH_OK) {
            free(p);
            return BH_EPROTO;
        }
        p->found = status == 1;
        if (!p->found) memset(&p->block, 0, sizeof p->block);
        if (!p->found) p->number = 0;
    }
    qd_ctx k;
    qd_init(&k);
    unsigned char f = (unsigned char)p->found;
    qd_update(&k, &f, 1);
    qd_update(&k, &p->number, sizeof p->number);
    qd_update(&k, p->block.data, 32);
    qd_final(&k, digest);
    *obj = p;
    return BH_OK;
}

int bh_evm_chain_fetch_tx(bh_evm_chain *c, const bh_hash32 *tx, uint64_t max_block,
                          bh_chain_event **events, size_t *n, uint64_t *block)
{
    if (events) *events = NULL;
    if (n) *n = 0;
    if (block) *block = 0;
    if (!c || !tx || !events || !n || !block) return BH_EINVAL;
    void *w = NULL;
    quorum_info qi;
    int rc = quorum(c, "eth_getTransactionReceipt", json_pack("[o]", hexj(tx->data, 32)),
                    parse_tx_place, tx, sizeof *tx, free, &w, 0, &qi);
    c->last_split = qi.split;
    if (rc != BH_OK) return rc;
    tx_place place = *(tx_place *)w;
    free(w);
    if (!place.found) return BH_ENOTFOUND;
    *block = place.number;
    if (place.number > max_block) return BH_ESTATE;
    bh_hash32 agreed;
    if ((rc = bh_evm_chain_block_hash(c, place.number, &agreed)) != BH_OK) return rc;
    if (memcmp(&agreed, &place.block, 32) != 0) return BH_EPROTO; /* not of the finalized chain */
    /* the watcher's sequence state is its own: the read below leaves it */
    int have_seq = c->have_seq;
    uint64_t next_seq = c->next_seq, seq_block = c->seq_block;
    bh_chain_event *ev = NULL;
    size_t cnt = 0;
    uint64_t done = 0;
    rc = bh_evm_chain_fetch(c, place.number, place.number, &ev, &cnt, &done);
    c->have_seq = have_seq;
    c->next_seq = next_seq;
    c->seq_block = seq_block;
    if (rc == BH_OK && done != place.number) rc = BH_EIO;
    if (rc != BH_OK) {
        free(ev);
        return rc;
    }
    size_t m = 0;
    for (size_t i = 0; i < cnt; i++)
        if (memcmp(&ev[i].tx_hash, tx, 32) == 0 && memcmp(&ev[i].block_hash, &agreed, 32) == 0)
            ev[m++] = ev[i];
    *events = ev;
    *n = m;
    return BH_OK;
}

/* Before the chain's first range, when the span is long: a blind max_range
 * on a dense chain is an answer past the byte cap, built and sent whole for
 * nothing (0.5 s for 100,000 logs on anvil) before the range shrinks. The
 * Portal's sequence() at the span's end (one view, at a finalized height)
 * says how many events the span holds, when the sequence before it is
 * known: a dense span is read in ranges sized like a dense range sizes
 * the next (hint). Only a size: a view that fails, or lies, costs a blind
 * range or short ones, never an event. */
static void size_span(bh_evm_chain *c, uint64_t from, uint64_t to)
{
    c->sized = 1;
    uint64_t before, next = 0;
    if (from == 0)
        before = 0;
    else if (c->have_seq && from == c->seq_block + 1)
        before = c->next_seq;
    else
        return;
    if (bh_evm_chain_portal_sequence(c, to, &next) != BH_OK || next <= before) return;
    uint64_t events = next - before, blocks = to - from + 1;
    uint64_t target = c->cfg.max_logs - c->cfg.max_logs / 4;
    if (events <= target) return;
    uint64_t hint =
        blocks <= UINT64_MAX / target ? blocks * target / events : blocks / events * target;
    c->hint = hint ? hint : 1;
    chain_log(c, BH_LOG_DEBUG, "blocks [%llu, %llu] hold %llu events: ranges of %llu blocks",
              (unsigned long long)from, (unsigned long long)to, (unsigned long long)events,
              (unsigned long long)c->hint);
}

int bh_evm_chain_fetch(bh_evm_chain *c, uint64_t from, uint64_t to, bh_chain_event **events,
                       size_t *n, uint64_t *done_to)
{
    if (events) *events = NULL;
    if (n) *n = 0;
    if (done_to) *done_to = 0;
    if (!c || !events || !n || !done_to || to < from) return BH_EINVAL;
    if (!c->sized && !c->hint && to - from + 1 > SPECULATE_BLOCKS) size_span(c, from, to);
    event_vec out = {0};
    uint64_t cur = from;
    int rc = BH_OK;
    seq_state seq = {c->have_seq && from == c->seq_block + 1, c->next_seq};
    /* after an answer whose entries all sat in its first block: that block alone */
    int one_block = 0;
    /* the next range's reads, started before this one's events are decoded */
    range_read pf;
    pthread_t pf_th;
    int pf_on = 0;
    while (cur <= to && out.n < MAX_EVENTS_PER_FETCH) {
        range_read rr;
        uint64_t end;
        if (pf_on) {
            pthread_join(pf_th, NULL);
            pf_on = 0;
            rr = pf;
            end = rr.to;
        } else {
            uint64_t span = c->hint && c->hint < c->range ? c->hint : c->range;
            end = to - cur < span - 1 ? to : cur + span - 1;
            if (one_block) end = cur;
            /* the token transfers beside the Portal events, when likely needed */
            rr = (range_read){.c = c,
                              .from = cur,
                              .to = end,
                              .speculate =
                                  c->n_tokens && (end - cur + 1 >= SPECULATE_BLOCKS || c->dense)};
            range_read_do(&rr);
        }
        one_block = 0;
        side_read side = rr.side;
        int side_on = rr.side_on;
        quorum_info qi = rr.qi;
        rc = rr.rc;
        c->last_split = qi.split;
        log_set *ls = rr.ls;
        transfer_set *ts = NULL;
        if (rc == BH_OK && qi.aux_agreed < c->cfg.quorum)
            for (size_t i = 0; i < ls->n; i++) /* no quorum on them: read the blocks */
                ls->v[i].has_timestamp = 0;
        if (end == cur && ((rc == BH_OK && ls->capped) || (rc != BH_OK && qi.range_refused))) {
            /* one block holds more Portal events than the provider returns */
            free_logs(ls);
            chain_log(c, BH_LOG_WARN, "block %llu: Portal logs capped: read from its receipts",
                      (unsigned long long)cur);
            rc = block_portal_logs(c, cur, &ls);
        } else if (rc == BH_OK && ls->capped) {
            /* possibly cut short: keep the blocks it surely holds whole */
            uint64_t keep = whole_before(cur, logs_last_block(ls));
            if (keep < cur) {
                free_logs(ls);
                free_transfers(side.ts);
                one_block = 1;
                continue;
            }
            logs_cut(ls, keep);
            end = keep;
        }
        if (rc == BH_OK && ls->n > 0) {
            if (side_on) {
                ts = side.ts;
                side.ts = NULL;
                qi = side.qi;
                rc = side.rc;
                if (rc != BH_OK && side.qi.split) c->last_split = 1;
            } else {
                rc = range_transfers(c, 0, cur, end, &ts, &qi);
            }
            if (rc == BH_OK && ts->capped) {
                uint64_t keep = whole_before(cur, transfers_last_block(ts));
                if (keep >= cur) {
                    /* the Portal events above the transfers' whole blocks wait */
                    if (keep < end) {
                        logs_cut(ls, keep);
                        end = keep;
                    }
                    ts->capped = 0;
                } else if (end != cur) {
                    free_logs(ls);
                    free_transfers(ts);
                    one_block = 1;
                    continue;
                } else {
                    rc = BH_ETOOBIG;
                    qi.range_refused = 1;
                }
                if (ts && ts->capped) {
                    free_transfers(ts);
                    ts = NULL;
                }
            }
            if (rc != BH_OK && qi.range_refused && end == cur) {
                /* one block still too many transfers: check locks on their receipts */
                chain_log(c, BH_LOG_WARN,
                          "block %llu: transfer logs capped: locks checked on receipts",
                          (unsigned long long)cur);
                free_transfers(ts);
                rc = BH_OK;
                ts = NULL;
            }
            if (rc != BH_OK) free_logs(ls);
        }
        free_transfers(side.ts);
        if (rc != BH_OK) {
            /* A refused range is never read as "no events": shrink and ask again. */
            if (qi.range_refused && c->range > 1) {
                uint64_t asked = end - cur + 1;
                /* an answer past the byte cap was built and sent whole for
                 * nothing: shrink hard (a range too short costs a round trip) */
                c->range = (asked < c->range ? asked : c->range) / (qi.too_big ? 8 : 2);
                if (c->range == 0) c->range = 1;
                c->ok_streak = 0;
                chain_log(c, BH_LOG_WARN, "eth_getLogs [%llu, %llu] refused: range now %llu blocks",
                          (unsigned long long)cur, (unsigned long long)end,
                          (unsigned long long)c->range);
                continue;
            }
            break;
        }
        c->dense = ls->n > 0;
        c->sized = 1;
        /* the next range sized by this one's density, so a dense stretch is
         * read in answers below the cap (none cut, none too big) */
        size_t most = ts && ts->n > ls->n ? ts->n : ls->n;
        uint64_t blocks = end - cur + 1, target = c->cfg.max_logs - c->cfg.max_logs / 4;
        c->hint = most > c->cfg.max_logs / 2 ? blocks * target / most : 0;
        if (most > c->cfg.max_logs / 2 && c->hint == 0) c->hint = 1;
        if (end < to && out.n + ls->n < MAX_EVENTS_PER_FETCH) {
            uint64_t span = c->hint && c->hint < c->range ? c->hint : c->range;
            uint64_t next = end + 1, next_end = to - next < span - 1 ? to : next + span - 1;
            pf = (range_read){.c = c,
                              .from = next,
                              .to = next_end,
                              .speculate = c->n_tokens &&
                                           (next_end - next + 1 >= SPECULATE_BLOCKS || c->dense)};
            pf_on = pthread_create(&pf_th, NULL, range_read_run, &pf) == 0;
        }
        size_t n0 = out.n;
        seq_state seq0 = seq;
        receipt_entry *receipts = NULL;
        for (size_t i = 0; i < ls->n && rc == BH_OK;) {
            size_t j = i + 1;
            while (j < ls->n && ls->v[j].block_number == ls->v[i].block_number)
                j++;
            if (j < ls->n && ls->v[j].block_number < ls->v[i].block_number) rc = BH_EPROTO;
            if (rc == BH_OK) rc = decode_block(c, ls, i, j, &out, &seq, ts, &receipts);
            i = j;
        }
        free_receipts(receipts);
        free_logs(ls);
        free_transfers(ts);
        if (rc != BH_OK) { /* drop this range's partial work: it is read again */
            out.n = n0;
            seq = seq0;
            break;
        }
        *done_to = end;
        cur = end + 1;
        /* Recover slowly after a refusal: double only after a run of successes. */
        if (c->range < c->cfg.max_range && ++c->ok_streak >= 32) {
            c->range = c->range * 2 > c->cfg.max_range ? c->cfg.max_range : c->range * 2;
            c->ok_streak = 0;
        }
        if (end == UINT64_MAX) break;
    }
    if (pf_on) { /* read ahead, not needed now: read again next time */
        pthread_join(pf_th, NULL);
        free_logs(pf.ls);
        free_transfers(pf.side.ts);
    }
    if (cur == from) { /* no progress at all: report the error */
        free(out.v);
        *done_to = 0;
        return rc == BH_OK ? BH_EINVAL : rc;
    }
    c->have_seq = seq.have;
    c->next_seq = seq.next;
    c->seq_block = *done_to;
    *events = out.v;
    *n = out.n;
    return BH_OK;
}

/* ---- views: eth_call at a height, agreed by the quorum ---- */

typedef struct {
    unsigned char *data;
    size_t len;
} call_obj;

static void free_call(void *p)
{
    call_obj *o = p;
    if (!o) return;
    free(o->data);
    free(o);
}

static int parse_call(bh_evm_chain *c, const json_t *res, const void *ctx, bh_hash32 *digest,
                      bh_hash32 *aux, void **obj)
{
    (void)c;
    (void)ctx;
    (void)aux;
    call_obj *o = calloc(1, sizeof *o);
    if (!o) return BH_ENOMEM;
    int rc = bh_rpc_read_data(&o->data, &o->len, res, MAX_LOG_DATA);
    if (rc != BH_OK) {
        free_call(o);
        return BH_EPROTO;
    }
    qd_ctx k;
    qd_init(&k);
    qd_update(&k, o->data ? o->data : (const unsigned char *)"", o->len);
    qd_final(&k, digest);
    *obj = o;
    return BH_OK;
}

int bh_evm_chain_call(bh_evm_chain *c, unsigned char **out, size_t *out_len, const bh_address *to,
                      const unsigned char *data, size_t len, uint64_t block)
{
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!c || !out || !out_len || !to || (!data && len)) return BH_EINVAL;
    char *hex = malloc(2 * len + 3);
    if (!hex) return BH_ENOMEM;
    bh_rpc_format_hex(hex, data, len);
    json_t *call = json_pack("{s:o,s:s}", "to", hexj(to->data, 20), "data", hex);
    free(hex);
    void *w = NULL;
    quorum_info qi;
    json_t *at = block == BH_EVM_LATEST ? json_string("latest") : qty(block);
    int rc = quorum(c, "eth_call", call ? json_pack("[o,o]", call, at) : NULL, parse_call, NULL, 0,
                    free_call, &w, 0, &qi);
    if (rc != BH_OK) return rc;
    call_obj *o = w;
    *out = o->data;
    *out_len = o->len;
    free(o);
    return BH_OK;
}

/* One view returning a single word, encoded by a (the call is cleared). */
static int view_word(bh_evm_chain *c, unsigned char word[32], const bh_address *to, bh_abi *a,
                     uint64_t block)
{
    unsigned char *data = NULL, *ret = NULL;
    size_t dlen = 0, rlen = 0;
    int rc = bh_abi_finish(a, &data, &dlen);
    bh_abi_clear(a);
    if (rc != BH_OK) return rc;
    rc = bh_evm_chain_call(c, &ret, &rlen, to, data, dlen, block);
    free(data);
    /* a view of an address with no code answers nothing: read as zero */
    if (rc == BH_OK && rlen == 0)
        memset(word, 0, 32);
    else if (rc == BH_OK && rlen >= 32)
        memcpy(word, ret, 32);
    else if (rc == BH_OK)
        rc = BH_EPROTO;
    free(ret);
    return rc;
}

static int view_u256(bh_evm_chain *c, bh_u256 *out, const bh_address *to, bh_abi *a, uint64_t block)
{
    unsigned char w[32];
    int rc = view_word(c, w, to, a, block);
    if (rc == BH_OK) rc = bh_abi_read_u256(out, w, 32, 0) == BH_OK ? BH_OK : BH_EPROTO;
    return rc;
}

int bh_evm_chain_wrapped_for(bh_evm_chain *c, bh_address *out, uint16_t home_chain,
                             const bh_bytes32 *home_token, uint64_t block)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !out || !home_token) return BH_EINVAL;
    for (size_t i = 0; i < c->n_wrapped; i++)
        if (c->wrapped[i].home_chain == home_chain &&
            !memcmp(c->wrapped[i].home_token.data, home_token->data, 32)) {
            *out = c->wrapped[i].token;
            return BH_OK;
        }
    bh_abi a;
    bh_abi_init(&a, "wrappedFor(uint16,bytes32)", 2);
    bh_abi_uint(&a, home_chain);
    bh_abi_bytes32(&a, home_token);
    unsigned char w[32];
    int rc = view_word(c, w, &c->cfg.portal, &a, block);
    if (rc == BH_OK) rc = bh_abi_read_address(out, w, 32, 0) == BH_OK ? BH_OK : BH_EPROTO;
    /* the Portal never changes a wrapped token once made: pin the first */
    static const bh_address zero;
    if (rc == BH_OK && memcmp(out, &zero, sizeof zero) != 0 && c->n_wrapped < BH_EVM_MAX_PINS) {
        c->wrapped[c->n_wrapped].home_chain = home_chain;
        c->wrapped[c->n_wrapped].home_token = *home_token;
        c->wrapped[c->n_wrapped].token = *out;
        c->n_wrapped++;
    }
    return rc;
}

size_t bh_evm_chain_pins(const bh_evm_chain *c, bh_wrapped_pin *out, size_t cap)
{
    if (!c) return 0;
    for (size_t i = 0; out && i < c->n_wrapped && i < cap; i++)
        out[i] = c->wrapped[i];
    return c->n_wrapped;
}

int bh_evm_chain_total_supply(bh_evm_chain *c, bh_u256 *out, const bh_address *token,
                              uint64_t block)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !out || !token) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "totalSupply()", 0);
    return view_u256(c, out, token, &a, block);
}

int bh_evm_chain_custody(bh_evm_chain *c, bh_u256 *out, const bh_address *token, uint64_t block)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !out || !token) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "balanceOf(address)", 1);
    bh_abi_address(&a, &c->cfg.portal);
    return view_u256(c, out, token, &a, block);
}

int bh_evm_chain_price_feed(bh_evm_chain *c, bh_chain_price_round *out, const bh_address *feed,
                            uint64_t block)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !out || !feed) return BH_EINVAL;
    bh_abi a;
    unsigned char w[32];
    uint64_t dec;
    bh_abi_init(&a, "decimals()", 0);
    int rc = view_word(c, w, feed, &a, block);
    if (rc) return rc;
    if (bh_abi_read_u64(&dec, w, 32, 0) || dec > 38) return BH_EPROTO;
    unsigned char *data = NULL, *ret = NULL;
    size_t dlen = 0, rlen = 0;
    bh_abi_init(&a, "latestRoundData()", 0);
    rc = bh_abi_finish(&a, &data, &dlen);
    bh_abi_clear(&a);
    if (rc) return rc;
    rc = bh_evm_chain_call(c, &ret, &rlen, feed, data, dlen, block);
    free(data);
    /* (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80) */
    if (rc == BH_OK && rlen < 5 * 32) rc = BH_EPROTO;
    if (rc == BH_OK) {
        const unsigned char *ans = ret + 32;
        out->negative = ans[0] >> 7;
        memcpy(out->answer.be, ans, 32);
        if (out->negative) {
            /* two's complement: the magnitude is ~x + 1 */
            unsigned carry = 1;
            for (int i = 31; i >= 0; i--) {
                unsigned v = (unsigned)(unsigned char)~ans[i] + carry;
                out->answer.be[i] = (unsigned char)v;
                carry = v >> 8;
            }
        }
        out->decimals = (uint8_t)dec;
        out->round = bh_be_get_u64(ret + 24);
        if (bh_abi_read_u64(&out->updated_at, ret, rlen, 3)) rc = BH_EPROTO;
    }
    free(ret);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

int bh_evm_chain_portal_outstanding(bh_evm_chain *c, bh_u256 *out, const bh_address *token,
                                    uint16_t remote, uint64_t block)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !out || !token) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "outstanding(address,uint16)", 2);
    bh_abi_address(&a, token);
    bh_abi_uint(&a, remote);
    return view_u256(c, out, &c->cfg.portal, &a, block);
}

static int view_u64_at(bh_evm_chain *c, uint64_t *out, bh_abi *a, uint64_t block)
{
    unsigned char w[32];
    int rc = view_word(c, w, &c->cfg.portal, a, block);
    if (rc == BH_OK) rc = bh_abi_read_u64(out, w, 32, 0) == BH_OK ? BH_OK : BH_EPROTO;
    return rc;
}

int bh_evm_chain_portal_sequence(bh_evm_chain *c, uint64_t block, uint64_t *next)
{
    if (next) *next = 0;
    if (!c || !next) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "sequence()", 0);
    return view_u64_at(c, next, &a, block);
}

static int view_u64(bh_evm_chain *c, uint64_t *out, bh_abi *a)
{
    unsigned char w[32];
    int rc = view_word(c, w, &c->cfg.portal, a, BH_EVM_LATEST);
    if (rc == BH_OK) rc = bh_abi_read_u64(out, w, 32, 0) == BH_OK ? BH_OK : BH_EPROTO;
    return rc;
}

/* A view returning nw words (a static tuple). */
static int view_words(bh_evm_chain *c, unsigned char *words, size_t nw, bh_abi *a)
{
    unsigned char *data = NULL, *ret = NULL;
    size_t dlen = 0, rlen = 0;
    int rc = bh_abi_finish(a, &data, &dlen);
    bh_abi_clear(a);
    if (rc != BH_OK) return rc;
    rc = bh_evm_chain_call(c, &ret, &rlen, &c->cfg.portal, data, dlen, BH_EVM_LATEST);
    free(data);
    if (rc == BH_OK && rlen >= nw * 32)
        memcpy(words, ret, nw * 32);
    else if (rc == BH_OK)
        rc = BH_EPROTO; /* a Portal without the view: older than the controls */
    free(ret);
    return rc;
}

static int word_u64(uint64_t *out, const unsigned char *w, size_t i, uint64_t max)
{
    return bh_abi_read_u64(out, w, (i + 1) * 32, i) == BH_OK && *out <= max ? BH_OK : BH_EPROTO;
}

int bh_evm_chain_portal_controls(bh_evm_chain *c, uint64_t known_epoch, const bh_address *me,
                                 const uint16_t *remotes, size_t n, bh_chain_controls *out)
{
    if (!c || !me || !out || (n && !remotes) || n > BH_CHAIN_CONTROLS_MAX) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "controlEpoch()", 0);
    uint64_t epoch = 0;
    int rc = view_u64(c, &epoch, &a);
    out->epoch = epoch;
    if (rc || epoch == known_epoch) return rc;
    uint64_t v = 0;
    bh_abi_init(&a, "paused()", 0);
    if ((rc = view_u64(c, &v, &a))) return rc;
    out->paused = v != 0;
    unsigned char w[8 * 32];
    bh_abi_init(&a, "setInfo(address)", 1);
    bh_abi_address(&a, me);
    if ((rc = view_words(c, w, 8, &a))) return rc;
    uint64_t f[8];
    static const uint64_t max[8] = {UINT32_MAX, 255, 255, UINT32_MAX,
                                    UINT64_MAX, 255, 255, UINT64_MAX};
    for (size_t i = 0; i < 8; i++)
        if (word_u64(&f[i], w, i, max[i])) return BH_EPROTO;
    out->set_index = (uint32_t)f[0];
    out->quorum = (uint8_t)f[1];
    out->my_index = (unsigned)f[2];
    out->prev_set_index = (uint32_t)f[3];
    out->prev_expiry = f[4];
    out->my_prev_index = (unsigned)f[5];
    out->curse_quorum = (uint8_t)f[6];
    out->lift_delay = f[7];
    bh_abi_init(&a, "attesterCount()", 0);
    if ((rc = view_u64(c, &v, &a))) return rc;
    if (v > 255) return BH_EPROTO;
    out->set_size = (unsigned)v;
    for (size_t i = 0; i < n; i++) {
        bh_chain_lane_controls *l = &out->lane[i];
        memset(l, 0, sizeof *l);
        if (remotes[i] == c->cfg.bridge_id) continue;
        bh_abi_init(&a, "laneControls(uint16)", 1);
        bh_abi_uint(&a, remotes[i]);
        if ((rc = view_words(c, w, 5, &a))) return rc;
        uint64_t g[5];
        for (size_t j = 0; j < 5; j++)
            if (word_u64(&g[j], w, j, j < 3 ? 1 : UINT64_MAX)) return BH_EPROTO;
        l->lane_paused = (int)g[0];
        l->cursed = (int)g[1];
        l->lifting = (int)g[2];
        l->lift_at = g[3];
        l->round = g[4];
    }
    return BH_OK;
}

/* ---- backend table ---- */

static int ops_verify(void *impl)
{
    return bh_evm_chain_verify(impl);
}

static int ops_finalized(void *impl, bh_block_ref *out)
{
    return bh_evm_chain_finalized(impl, out);
}

static int ops_block_hash(void *impl, uint64_t number, bh_hash32 *out)
{
    return bh_evm_chain_block_hash(impl, number, out);
}

static int ops_fetch(void *impl, uint64_t from, uint64_t to, bh_chain_event **events, size_t *n,
                     uint64_t *done_to)
{
    return bh_evm_chain_fetch(impl, from, to, events, n, done_to);
}

const bh_chain_ops bh_chain_evm_ops = {
    .kind = "evm",
    .verify = ops_verify,
    .finalized = ops_finalized,
    .block_hash = ops_block_hash,
    .fetch = ops_fetch,
};
