/* What the adversarial end-to-end programs (test_adversary_*.c, issue #12)
 * share on top of node_test.h: each case starts its own world (anvil
 * chains, Portals, tokens, one node) so it is self-contained, with the
 * node's config as shipped (the harness's explicit msg_limit 0 removed, so
 * the defaults an outsider meets apply) plus the case's own edits; and the
 * assertions every attack needs: nothing quarantined, a refusal logged and
 * counted, a transfer after the attack delivered on time.
 *
 * Header only (static): include it from exactly one test program. */
#ifndef BH_TEST_ADVERSARY_H
#define BH_TEST_ADVERSARY_H

#include <string.h>

#include "bh_abi.h"
#include "bh_amount.h"
#include "bh_hex.h"
#include "bh_portal.h"
#include "bh_portal_admin.h"
#include "bh_test_token.h"
#include "bh_test_contracts.h"
#include "node_test.h"

/* ---- config edits ---- */

static inline json_t *cfg_chain(json_t *cfg, size_t chain)
{
    return json_array_get(json_object_get(cfg, "chains"), chain);
}

static inline void addr_hex(char out[43], const bh_address *a)
{
    out[0] = '0';
    out[1] = 'x';
    bh_hex_encode(out + 2, a->data, 20);
}

/* limits[key] = value (a decimal string) of the asset `symbol` of chain. */
static inline void cfg_set_limit(json_t *cfg, size_t chain, const char *symbol, const char *key,
                                 const char *value)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(cfg_chain(cfg, chain), "assets"), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "symbol")), symbol) != 0) continue;
        json_t *l = json_object_get(a, "limits");
        if (!l) {
            l = json_object();
            json_object_set_new(a, "limits", l);
        }
        json_object_set_new(l, key, json_string(value));
        return;
    }
    fail_msg("config: chain %zu has no asset %s", chain, symbol);
}

static inline void cfg_add_asset(json_t *cfg, size_t chain, const bh_address *token,
                                 const char *symbol, int decimals)
{
    char t[43];
    addr_hex(t, token);
    json_array_append_new(json_object_get(cfg_chain(cfg, chain), "assets"),
                          json_pack("{s:s,s:s,s:i,s:{}}", "token", t, "symbol", symbol, "decimals",
                                    decimals, "limits"));
}

/* One endpoint list (NULL-terminated URLs) and quorum for a chain. */
static inline void cfg_endpoints(json_t *cfg, size_t chain, const char *const *urls, int quorum)
{
    json_t *eps = json_array();
    for (size_t i = 0; urls[i]; i++)
        json_array_append_new(eps, json_string(urls[i]));
    json_object_set_new(cfg_chain(cfg, chain), "endpoints", eps);
    json_object_set_new(cfg_chain(cfg, chain), "quorum", json_integer(quorum));
}

typedef void (*cfg_edit)(json_t *cfg);

/* W up with options o, node 1 prepared with the shipped defaults plus
 * edit(cfg) (may be NULL), started if start. For a setup: 0 or -1. */
static inline int adv_up(nh_opts o, cfg_edit edit, int start)
{
    if (nt_world_up(o, 0) != 0) return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (!cfg) return -1;
    for (size_t i = 0; i < W.n_chains; i++)
        json_object_del(cfg_chain(cfg, i), "msg_limit");
    if (edit) edit(cfg);
    if (nh_node_write_config(&W, 1, cfg) != 0) return -1;
    return start ? nh_node_start(&W, 1, WAIT_MS) : 0;
}

/* ---- the node's log ---- */

/* Lines of node 1's log (since its last start if `since_start`) holding
 * every needle. */
static inline size_t log_count(int since_start, const char *const *needles)
{
    char *log = nh_node_log(&W, 1);
    size_t off =
        since_start && (size_t)W.node[0].log_mark <= strlen(log) ? (size_t)W.node[0].log_mark : 0;
    size_t n = nh_log_count(log + off, needles);
    free(log);
    return n;
}

/* The first line of node 1's log holding needle, copied to out ("" if none). */
static inline void log_line(const char *needle, char *out, size_t cap)
{
    char *log = nh_node_log(&W, 1);
    const char *p = strstr(log, needle);
    out[0] = '\0';
    if (p) {
        while (p > log && p[-1] != '\n')
            p--;
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    }
    free(log);
}

/* Nothing is quarantined: no event=quarantined in the log and no vault
 * lists a quarantined chain (vaultctl list). */
static inline void assert_no_quarantine(const char *when)
{
    char line[512];
    log_line("event=quarantined", line, sizeof line);
    if (line[0]) {
        nh_dump_logs(&W, 30);
        fail_msg("%s: the node quarantined a chain: %s", when, line);
    }
    char *out = NULL;
    const char *args[] = {"list", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, args), 0);
    json_t *vl = nh_vaultctl_data(out);
    free(out);
    assert_non_null(vl);
    size_t i;
    json_t *v;
    json_array_foreach(vl, i, v)
    {
        if (json_array_size(json_object_get(v, "quarantined")) != 0)
            fail_msg("%s: vault %s lists quarantined chains", when,
                     json_string_value(json_object_get(v, "name")));
    }
    json_decref(vl);
}

/* Wait until node 1's log has `count` lines with every needle; fail at
 * once (with the line) if a chain gets quarantined meanwhile. */
static inline void expect_log(const char *const *needles, size_t count, unsigned timeout_ms)
{
    uint64_t end = nh_now_ms() + timeout_ms;
    const char *q[] = {"event=quarantined", NULL};
    size_t have = 0;
    for (;;) {
        char *log = nh_node_log(&W, 1);
        have = nh_log_count(log, needles);
        size_t quarantined = nh_log_count(log, q);
        free(log);
        if (have >= count) return;
        if (quarantined) assert_no_quarantine("while waiting for the node's verdict");
        if (nh_now_ms() > end) break;
        nh_sleep_ms(50);
    }
    nh_dump_logs(&W, 40);
    char what[512];
    size_t off = 0;
    what[0] = '\0';
    for (size_t i = 0; needles[i] && off < sizeof what; i++)
        off += (size_t)snprintf(what + off, sizeof what - off, " '%s'", needles[i]);
    fail_msg("waited %u ms for %zu log lines with%s: %zu found", timeout_ms, count, what, have);
}

/* ---- vault reads ---- */

/* How many messages vault refused for `reason` (vaultctl show: rejects). */
static inline long vault_rejects(const char *vault, const char *reason)
{
    json_t *show = nh_vault_show(&W, 1, vault);
    assert_non_null(show);
    long n = (long)json_integer_value(json_object_get(json_object_get(show, "rejects"), reason));
    json_decref(show);
    return n;
}

/* `vaultctl JSON-VERB... --json` parsed (caller decrefs); NULL if it failed. */
static inline json_t *vaultctl_json(const char *const *args, int *status)
{
    char *out = NULL;
    int st = nh_vaultctl(&W, 1, &out, args);
    if (status) *status = st;
    json_t *j = st == 0 ? nh_vaultctl_data(out) : NULL;
    free(out);
    return j;
}

/* ---- contracts and transactions ---- */

/* A TestToken (anyone may mint it) deployed by s on its chain. */
static inline void deploy_test_token(bh_evm_sender *s, const char *sym, bh_address *out)
{
    if (bh_test_token_deploy(s, out, sym, sym, 18) != BH_OK)
        fail_msg("deploy %s: %s", sym, bh_evm_sender_last_error(s));
}

/* A FeeToken (1% of every transferFrom burnt) deployed by s. */
static inline void deploy_fee_token(bh_evm_sender *s, const char *sym, bh_address *out)
{
    bh_abi a;
    bh_abi_init(&a, NULL, 3);
    bh_abi_string(&a, sym);
    bh_abi_string(&a, sym);
    bh_abi_uint(&a, 18);
    unsigned char *ctor = NULL;
    size_t len = 0;
    int rc = bh_abi_finish(&a, &ctor, &len);
    bh_abi_clear(&a);
    assert_int_equal(rc, BH_OK);
    NH_OK(nh_deploy(s, bh_test_contract_feetoken_bin, ctor, len, out));
    free(ctor);
}

/* token.mint(to, amount) sent by s (TestToken and FeeToken). */
static inline void mint(bh_evm_sender *s, const bh_address *token, const bh_address *to,
                        const bh_u256 *amount)
{
    bh_abi a;
    bh_abi_init(&a, "mint(address,uint256)", 2);
    bh_abi_address(&a, to);
    bh_abi_u256(&a, amount);
    NH_OK(nh_send_call(s, NULL, token, &a, "mint"));
}

/* token.transfer(to, amount) sent by s. */
static inline void transfer(bh_evm_sender *s, const bh_address *token, const bh_address *to,
                            bh_u128 amount)
{
    bh_u256 v;
    bh_u256_from_u128(&v, amount);
    bh_abi a;
    bh_abi_init(&a, "transfer(address,uint256)", 2);
    bh_abi_address(&a, to);
    bh_abi_u256(&a, &v);
    NH_OK(nh_send_call(s, NULL, token, &a, "transfer"));
}

/* s locks `amount` of any token on chain `from` towards `to` for rcpt
 * (approve + Portal.lock). */
static inline void lock_as(bh_evm_sender *s, size_t from, const bh_address *token,
                           const bh_u256 *amount, size_t to, const bh_address *rcpt)
{
    bh_u256 fee;
    bh_u256_from_u128(&fee, 0);
    if (bh_portal_lock(s, NULL, &W.ch[from].portal, token, amount, W.ch[to].bridge_id, rcpt, &fee,
                       0) != BH_OK)
        fail_msg("lock on %s: %s", W.ch[from].name, bh_evm_sender_last_error(s));
}

/* ---- deliveries ---- */

/* Print what the log says about a stall: the quarantine, the last failed
 * poll and the last failed delivery, if any. */
static inline void explain_stall(void)
{
    static const char *const what[] = {"event=quarantined", "event=poll_failed",
                                       "event=delivery_failed"};
    char *log = nh_node_log(&W, 1);
    for (size_t i = 0; i < 3; i++) {
        const char *p = NULL;
        for (const char *q = strstr(log, what[i]); q; q = strstr(q + 1, what[i]))
            p = q; /* the last one */
        if (!p) continue;
        while (p > log && p[-1] != '\n')
            p--;
        const char *e = strchr(p, '\n');
        print_message("the log says: %.*s\n", (int)(e ? e - p : (long)strlen(p)), p);
    }
    free(log);
}

/* nh_wait_balance, and on failure say why before failing. */
static inline void wait_delivered(size_t chain, const bh_address *token, const bh_address *holder,
                                  bh_u128 expect, unsigned timeout_ms, const char *what,
                                  uint64_t *ms)
{
    if (nh_wait_balance(&W, chain, token, holder, expect, timeout_ms, what, ms) == 0) return;
    explain_stall();
    fail_msg("%s: not delivered within %u ms (see above)", what, timeout_ms);
}

/* ---- latency ---- */

static inline int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static inline uint64_t median_u64(const uint64_t *v, size_t n)
{
    uint64_t s[64];
    if (n == 0 || n > 64) fail_msg("median of %zu samples", n);
    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, cmp_u64);
    return s[n / 2];
}

/* A lane the test samples: a transfer out of `from`, awaited as the exact
 * balance of `holder` in `token` on `to` (tracked in *expect). */
typedef struct {
    const char *name;
    size_t from, to;
    const bh_address *send_token; /* native token locked, or wrapped token burnt */
    int burn;
    bh_address recv_token; /* what arrives on `to` */
    bh_u128 amount;
    bh_u128 expect;         /* holder's balance of recv_token on `to` */
    const bh_address *rcpt; /* the holder; NULL: the user (who always sends) */
} lane_probe;

/* One transfer on the lane; returns ms from its receipt to its arrival. */
static inline uint64_t probe(lane_probe *p, unsigned timeout_ms)
{
    uint64_t ms = 0;
    const bh_address *rcpt = p->rcpt ? p->rcpt : &W.user;
    if (p->burn)
        NH_OK(nh_burn(&W, p->from, p->send_token, p->amount, p->to, rcpt, 0, NULL));
    else
        NH_OK(nh_lock(&W, p->from, p->send_token, p->amount, p->to, rcpt, 0, NULL));
    p->expect += p->amount;
    wait_delivered(p->to, &p->recv_token, rcpt, p->expect, timeout_ms, p->name, &ms);
    return ms;
}

/* The bound a loaded median must keep: 2x quiet + slack_ms. */
static inline void assert_latency(const char *what, uint64_t quiet, uint64_t loaded,
                                  uint64_t slack_ms)
{
    uint64_t bound = 2 * quiet + slack_ms;
    print_message("%s: quiet median %llu ms, under attack %llu ms, bound %llu ms (ratio %.2f)\n",
                  what, (unsigned long long)quiet, (unsigned long long)loaded,
                  (unsigned long long)bound, quiet ? (double)loaded / (double)quiet : 0.0);
    if (loaded > bound)
        fail_msg("%s: median latency under attack %llu ms exceeds %llu ms (quiet %llu ms)", what,
                 (unsigned long long)loaded, (unsigned long long)bound, (unsigned long long)quiet);
}

/* NH_OK for a step an attack may stall: on failure, say what the log
 * shows (quarantine, failed polls or deliveries) before failing. */
#define ADV_OK(expr)                                                                               \
    do {                                                                                           \
        if ((expr) != 0) {                                                                         \
            explain_stall();                                                                       \
            fail_msg("%s failed (see above)", #expr);                                              \
        }                                                                                          \
    } while (0)

/* A cmocka setup NAME whose body follows: cmocka runs no teardown after a
 * failed setup, so a body that fails (non-zero) has its world stopped
 * here; no anvil outlives the case. */
#define ADV_SETUP(name)                                                                            \
    static int name##_body(void);                                                                  \
    static int name(void **state)                                                                  \
    {                                                                                              \
        (void)state;                                                                               \
        int rc = name##_body();                                                                    \
        if (rc) nh_world_stop(&W);                                                                 \
        return rc;                                                                                 \
    }                                                                                              \
    static int name##_body(void)

/* main of a test_adversary_* program: the binaries from argv, every case
 * with its own setup and teardown; BH_ADV_FILTER=PATTERN in the
 * environment runs only the cases matching it (cmocka's test filter). */
#define ADV_MAIN(argc, argv, tests)                                                                \
    (getenv("BH_ADV_FILTER") ? cmocka_set_test_filter(getenv("BH_ADV_FILTER")) : (void)0,          \
     nt_main(argc, argv, 0, "", tests, sizeof(tests) / sizeof((tests)[0]), NULL, nt_teardown))

#endif
