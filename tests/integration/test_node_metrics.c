/* What a real node (`bulkhead run` on two anvil chains, Portals 1-of-1, a
 * metrics section on port 0) tells an operator about itself, read from
 * outside and checked against what the node cannot fake:
 *  - bulkhead_build_info names the version and commit `bulkhead --version`
 *    prints; the process_* figures are the node process's own as
 *    /proc/PID says, and its start time is the same at every scrape;
 *  - after real transfers, the delivery histograms (finality to execution,
 *    attempts) per destination chain hold exactly what the node's
 *    `delivered` log lines say, every bucket, the sum and the count, and
 *    parse under the strict reader (le ascending to +Inf, cumulative,
 *    _count = +Inf); a chain nothing went to has them empty;
 *  - a delivery names its transaction the same way in the `delivered`
 *    log line (tx=) and the /ws delivered event ("tx"), and that
 *    transaction is mined and succeeded on the destination;
 *  - a lane's outstanding splits into minted and in flight, the same in
 *    /metrics, the /ws snapshot and `vaultctl show --json`: all minted once
 *    the transfers are delivered; a big transfer the vault delays
 *    (big_threshold) counts in flight, not minted, until it goes;
 *  - `promtool check metrics` (Debian's prometheus package, installed by
 *    deploy/install-deps; missing fails the test) passes the whole
 *    /metrics text of the node that did all this.
 * argv[1] = bulkhead, argv[2] = vaultctl. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node_test.h" /* cmocka first: bh_test_proc.h asserts with it */

#include "bh_amount.h"
#include "bh_test_proc.h"
#include "../unit/prom_expo.h"
#include "../unit/ws_test_client.h"

static int PORT;
#define BIG 50 /* TKA units from which a transfer is delayed */

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8800};
    if (nt_world_up(o, 0) != 0 || nh_node_enable_metrics(&W, 1) != 0) return -1;
    /* TKA transfers of BIG or more wait an hour in pending (applied) */
    json_t *cfg = nh_node_config(&W, 1);
    if (cfg == NULL) return -1;
    json_t *asset = json_array_get(
        json_object_get(json_array_get(json_object_get(cfg, "chains"), NH_A), "assets"), 0);
    if (strcmp(json_string_value(json_object_get(asset, "symbol")), "TKA") != 0) return -1;
    json_object_set_new(
        asset, "limits",
        json_pack("{s:s,s:s}", "big_threshold", nh_u128_str(nh_units(BIG)), "big_delay", "3600"));
    if (nh_node_write_config(&W, 1, cfg) != 0 || nh_node_start(&W, 1, WAIT_MS) != 0 ||
        nh_node_metrics_port(&W, 1, WAIT_MS, &PORT) != 0)
        return -1;
    /* ready: every chain polled, its connections made */
    for (uint64_t end = nh_now_ms() + WAIT_MS;;) {
        int st = 0;
        char *body = NULL;
        if (nh_http_get(PORT, "/readyz", &st, &body) != 0) return -1;
        free(body);
        if (st == 200) break;
        if (nh_now_ms() > end) {
            fprintf(stderr, "the node never became ready\n");
            return -1;
        }
        nh_sleep_ms(100);
    }
    nh_sleep_ms(1100); /* past the server's one-second snapshot cache */
    lws_set_log_level(LLL_ERR, NULL);
    return wtc_init();
}

static int teardown(void **state)
{
    wtc_fini();
    return nt_teardown(state);
}

/* TKA's wrapped token on beta (the first transfer created it). */
static bh_address wrapped_tka(void)
{
    bh_address w;
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w, WAIT_MS));
    return w;
}

/* GET /metrics, parsed strictly (fails the test otherwise). *text: the
 * body (caller frees), may be NULL. */
static expo *scrape(char **text)
{
    int st = 0;
    char *body = NULL;
    NH_OK(nh_http_get(PORT, "/metrics", &st, &body));
    assert_int_equal(st, 200);
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    if (expo_parse(e, body) != 0) fail_msg("/metrics: %s\n%s", e->err, body);
    if (text)
        *text = body;
    else
        free(body);
    return e;
}

static const series *only(const expo *e, const char *name)
{
    const series *s = NULL;
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->s[i].name, name) == 0) {
            if (s) fail_msg("%s has more than one series", name);
            s = &e->s[i];
        }
    if (s == NULL) fail_msg("no %s", name);
    return s;
}

static const char *label_of(const series *s, const char *k)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->k[i], k) == 0) return s->v[i];
    return NULL;
}

/* The node's /proc/PID/stat fields 14 (utime), 15 (stime), 22 (starttime). */
static void proc_stat(pid_t pid, unsigned long long *ticks, unsigned long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strrchr(buf, ')');
    assert_non_null(s);
    unsigned long long ut = 0, stt = 0;
    assert_int_equal(sscanf(s + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                            "%*d %*d %llu",
                            &ut, &stt, start),
                     3);
    *ticks = ut + stt;
}

static unsigned long long boot_time(void)
{
    char line[256];
    unsigned long long b = 0;
    FILE *f = fopen("/proc/stat", "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &b) == 1) break;
    fclose(f);
    assert_true(b > 0);
    return b;
}

static long count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* The soft "Max open files" of /proc/PID/limits; -1 if unlimited. */
static long long max_files(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long long v = -2;
    while (fgets(line, sizeof line, f)) {
        char soft[32];
        if (strncmp(line, "Max open files", 14) != 0) continue;
        assert_int_equal(sscanf(line + 14, "%31s", soft), 1);
        v = strcmp(soft, "unlimited") == 0 ? -1 : atoll(soft);
    }
    fclose(f);
    assert_true(v != -2);
    return v;
}

static void test_metrics_build_and_process(void **state)
{
    (void)state;
    pid_t pid = W.node[0].pid;
    long tick = sysconf(_SC_CLK_TCK);
    assert_true(pid > 0 && tick > 0);

    /* the build: what the binary itself prints */
    bh_proc_result *r = malloc(sizeof *r);
    assert_non_null(r);
    char *argv[] = {(char *)bin_bulkhead, "--version", NULL};
    bh_proc_run(r, argv, NULL);
    assert_int_equal(r->status, 0);
    char version[64] = "", commit[64] = "";
    if (sscanf(r->out, "bulkhead %63s (%63[^)])", version, commit) != 2)
        fail_msg("bulkhead --version printed %s", r->out);
    free(r);

    expo *e = scrape(NULL);
    const series *b = only(e, "bulkhead_build_info");
    assert_string_equal(b->value, "1");
    assert_int_equal(b->n, 2);
    assert_string_equal(label_of(b, "version"), version);
    assert_string_equal(label_of(b, "commit"), commit);
    assert_string_equal(family(e, "bulkhead_build_info")->type, "gauge");

    /* the process, as the kernel counts it */
    unsigned long long ticks = 0, start = 0;
    proc_stat(pid, &ticks, &start);
    char want[32];
    snprintf(want, sizeof want, "%llu", boot_time() + start / (unsigned long long)tick);
    CHECK_VALUE(e, want, "process_start_time_seconds", 0);
    double cpu = only(e, "process_cpu_seconds_total")->num;
    assert_string_equal(family(e, "process_cpu_seconds_total")->type, "counter");
    assert_true(cpu >= 0); /* ticks of 10 ms: 0 for a node just started */
    assert_true(cpu <= (double)ticks / (double)tick + 1e-9); /* read before ours */
    long long mf = max_files(pid);
    if (mf >= 0) {
        snprintf(want, sizeof want, "%lld", mf);
        CHECK_VALUE(e, want, "process_max_fds", 0);
    } else {
        CHECK_ABSENT(e, "process_max_fds", 0);
    }
    double fds = only(e, "process_open_fds")->num, ours = (double)count_fds(pid);
    if (fds < 3 || fds > ours + 8 || fds < ours - 8)
        fail_msg("process_open_fds %g; /proc/%d/fd lists %g", fds, (int)pid, ours);
    double rss = only(e, "process_resident_memory_bytes")->num;
    double vsz = only(e, "process_virtual_memory_bytes")->num;
    assert_true(rss > 1e6 && rss < vsz);
    free(e);

    /* a later scrape (past the server's one-second snapshot cache): the
     * same start time, no less CPU */
    nh_sleep_ms(1200);
    e = scrape(NULL);
    snprintf(want, sizeof want, "%llu", boot_time() + start / (unsigned long long)tick);
    CHECK_VALUE(e, want, "process_start_time_seconds", 0);
    assert_true(only(e, "process_cpu_seconds_total")->num >= cpu);
    free(e);
}

static const char *const LATENCY_LE[] = {"0.1", "0.25", "0.5",  "1",    "2.5", "5",
                                         "10",  "20",   "30",   "60",   "120", "300",
                                         "600", "1800", "3600", "+Inf", NULL};
static const char *const ATTEMPTS_LE[] = {"1",  "2",  "3",  "5",    "8", "13",
                                          "21", "34", "55", "+Inf", NULL};

/* The le values of family's buckets for chain, in the order served, must be
 * exactly want; returns the bucket counts (cumulative) in counts. */
static void buckets(const expo *e, const char *family, const char *chain, const char *const *want,
                    double *counts)
{
    char name[160];
    snprintf(name, sizeof name, "%s_bucket", family);
    size_t k = 0;
    for (int i = 0; i < e->n; i++) {
        const series *s = &e->s[i];
        if (strcmp(s->name, name) != 0 || strcmp(label_of(s, "chain"), chain) != 0) continue;
        assert_int_equal(s->n, 2);
        if (want[k] == NULL) fail_msg("%s{chain=%s}: more buckets than expected", family, chain);
        assert_string_equal(label_of(s, "le"), want[k]);
        counts[k++] = s->num;
    }
    if (want[k] != NULL) fail_msg("%s{chain=%s}: no bucket le=%s", family, chain, want[k]);
}

static double value_of(const expo *e, const char *family, const char *suffix, const char *chain)
{
    char name[160];
    snprintf(name, sizeof name, "%s%s", family, suffix);
    const series *s = find(e, name, 1, "chain", chain);
    if (s == NULL) fail_msg("no %s{chain=\"%s\"}", name, chain);
    return s->num;
}

/* The node's delivered and delivery_failed lines toward chain `to`. */
typedef struct {
    size_t delivered, failed, executed;
    long long latency_ms[64]; /* of the executed ones with a latency */
    size_t n_latency;
} log_deliveries;

static void read_deliveries(const char *to, log_deliveries *d)
{
    memset(d, 0, sizeof *d);
    char *log = nh_node_log(&W, 1);
    for (char *line = log; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol) *eol = '\0';
        char dest[32], outcome[32], lat[32];
        int ok = strstr(line, "event=delivered ") != NULL;
        int bad = strstr(line, "event=delivery_failed ") != NULL;
        if ((ok || bad) && nh_log_field(line, "to", dest, sizeof dest) == 0 && !strcmp(dest, to)) {
            if (bad) d->failed++;
            if (ok) {
                d->delivered++;
                assert_int_equal(nh_log_field(line, "outcome", outcome, sizeof outcome), 0);
                assert_int_equal(nh_log_field(line, "latency_ms", lat, sizeof lat), 0);
                if (strcmp(outcome, "executed") == 0) {
                    d->executed++;
                    if (atoll(lat) >= 0 && d->n_latency < 64)
                        d->latency_ms[d->n_latency++] = atoll(lat);
                }
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    free(log);
}

static void test_metrics_delivery_histograms(void **state)
{
    (void)state;
    const char *lat = "bulkhead_chain_delivery_latency_seconds";
    const char *att = "bulkhead_chain_delivery_attempts";
    /* beta mines a block a second: the latencies spread over the buckets
     * below a few seconds instead of all under 0.1 s */
    NH_OK(nh_interval_mining(&W, NH_B, 1));
    for (int i = 0; i < 4; i++) {
        NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(3 + (uint64_t)i), NH_B, &W.user, 0, NULL));
        nh_sleep_ms(300);
    }
    const char *needles[] = {"event=delivered", "to=beta", NULL};
    NH_OK(nh_log_wait(&W, 1, needles, 4, WAIT_MS));
    nh_sleep_ms(1100); /* a snapshot taken after the last one */

    char *text = NULL;
    expo *e = scrape(&text);
    assert_string_equal(family(e, lat)->type, "histogram");
    assert_string_equal(family(e, att)->type, "histogram");
    log_deliveries d;
    read_deliveries("beta", &d);
    assert_true(d.delivered >= 4);
    assert_int_equal(d.n_latency, d.executed); /* straight to the outbox: all measured */

    /* finality to execution: every bucket is what the log lines say */
    double n[20];
    buckets(e, lat, "beta", LATENCY_LE, n);
    double sum = 0;
    for (size_t k = 0; LATENCY_LE[k]; k++) {
        double le = strcmp(LATENCY_LE[k], "+Inf") ? strtod(LATENCY_LE[k], NULL) : 1e300;
        size_t want = 0;
        for (size_t j = 0; j < d.n_latency; j++)
            want += (double)d.latency_ms[j] / 1000.0 <= le;
        if (n[k] != (double)want)
            fail_msg("%s_bucket{chain=beta,le=%s} %g; the log says %zu\n%s", lat, LATENCY_LE[k],
                     n[k], want, text);
    }
    for (size_t j = 0; j < d.n_latency; j++)
        sum += (double)d.latency_ms[j];
    assert_true(value_of(e, lat, "_count", "beta") == (double)d.n_latency);
    double served = value_of(e, lat, "_sum", "beta");
    if (served * 1000.0 < sum - 0.5 || served * 1000.0 > sum + 0.5)
        fail_msg("%s_sum{chain=beta} %g s; the log's latencies add up to %g ms", lat, served, sum);

    /* attempts: one per delivered entry, one more per failed try */
    buckets(e, att, "beta", ATTEMPTS_LE, n);
    assert_true(value_of(e, att, "_count", "beta") == (double)d.delivered);
    assert_true(value_of(e, att, "_sum", "beta") == (double)(d.delivered + d.failed));
    assert_true(n[9] == (double)d.delivered);
    if (d.failed == 0) assert_true(n[0] == (double)d.delivered);

    /* alpha got nothing: its histograms are there, empty */
    buckets(e, lat, "alpha", LATENCY_LE, n);
    assert_true(n[15] == 0);
    assert_true(value_of(e, lat, "_count", "alpha") == 0);
    assert_true(value_of(e, lat, "_sum", "alpha") == 0);
    buckets(e, att, "alpha", ATTEMPTS_LE, n);
    assert_true(value_of(e, att, "_count", "alpha") == 0);
    free(e);
    free(text);
}

/* The log line of the delivery of (from alpha) sequence seq to beta. */
static int delivered_line(uint64_t seq, char *tx, size_t cap)
{
    char *log = nh_node_log(&W, 1);
    int rc = -1;
    for (char *line = log; line && *line && rc != 0;) {
        char *eol = strchr(line, '\n');
        if (eol) *eol = '\0';
        char v[32];
        if (strstr(line, "event=delivered ") && nh_log_field(line, "from", v, sizeof v) == 0 &&
            !strcmp(v, "alpha") && nh_log_field(line, "to", v, sizeof v) == 0 &&
            !strcmp(v, "beta") && nh_log_field(line, "seq", v, sizeof v) == 0 &&
            strtoull(v, NULL, 10) == seq)
            rc = nh_log_field(line, "tx", tx, cap);
        line = eol ? eol + 1 : NULL;
    }
    free(log);
    return rc;
}

static void test_delivered_names_its_transaction(void **state)
{
    (void)state;
    tclient *c = tc_connect((uint16_t)PORT, "/ws?kinds=delivered", NULL);
    PUMP_UNTIL(c->n_msgs >= 1, 10); /* the snapshot */
    uint64_t seq = 0;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(2), NH_B, &W.user, 0, &seq));
    json_t *ev = NULL;
    for (double t0 = now_s(); ev == NULL;) {
        if (now_s() - t0 > WAIT_MS / 1000)
            fail_msg("no delivered event for sequence %llu", (unsigned long long)seq);
        pump_once();
        for (size_t i = 1; i < c->n_msgs && ev == NULL; i++) {
            json_t *j = tc_json(c, i);
            if (!strcmp(jstr_of(j, "kind"), "delivered") && !strcmp(jstr_of(j, "from"), "alpha") &&
                jint_of(j, "sequence") == (long long)seq)
                ev = j;
            else
                json_decref(j);
        }
    }
    tc_close(c);
    const char *tx = json_string_value(json_object_get(ev, "tx"));
    if (tx == NULL || strlen(tx) != 66 || strncmp(tx, "0x", 2) != 0 ||
        strspn(tx + 2, "0123456789abcdef") != 64 || strspn(tx + 2, "0") == 64)
        fail_msg("delivered event's tx is %s", tx ? tx : "absent");
    assert_string_equal(jstr_of(ev, "detail"), "executed");
    char logged[80] = "";
    const char *needles[] = {"event=delivered", "to=beta", NULL};
    NH_OK(nh_log_wait(&W, 1, needles, 1, WAIT_MS));
    if (delivered_line(seq, logged, sizeof logged) != 0)
        fail_msg("no delivered line with tx= for sequence %llu", (unsigned long long)seq);
    assert_string_equal(logged, tx);
    uint64_t block = 0;
    int ok = 0;
    NH_OK(nh_wait_receipt(&W, NH_B, tx, WAIT_MS, &block, &ok));
    assert_true(ok);
    assert_true(block > 0);
    json_decref(ev);
}

/* The lane toward chain `lane` of vault alpha's TKA in a document whose
 * "assets" are as the snapshot and `vaultctl show --json` list them. */
static const json_t *tka_lane(const json_t *vault, json_int_t lane)
{
    size_t i, k;
    const json_t *a, *l;
    json_array_foreach(json_object_get(vault, "assets"), i, a)
    {
        if (strcmp(jstr_of(a, "symbol"), "TKA") != 0) continue;
        json_array_foreach(json_object_get(a, "lanes"), k, l)
        {
            if (jint_of(l, "chain") == lane) return l;
        }
    }
    fail_msg("no TKA lane toward chain %lld", (long long)lane);
    return NULL;
}

typedef struct {
    char outstanding[128], minted[128], in_flight[128];
} split_fig;

static void lane_fig(const json_t *lane, split_fig *f)
{
    snprintf(f->outstanding, sizeof f->outstanding, "%s", jstr_of(lane, "outstanding"));
    snprintf(f->minted, sizeof f->minted, "%s", jstr_of(lane, "minted"));
    snprintf(f->in_flight, sizeof f->in_flight, "%s", jstr_of(lane, "in_flight"));
}

/* Vault alpha's TKA toward beta, from /metrics, the /ws snapshot and
 * vaultctl; all three must agree, and add up. */
static split_fig split_everywhere(void)
{
    nh_sleep_ms(1100); /* a snapshot taken now, not cached from before */
    expo *e = scrape(NULL);
    split_fig m;
    const char *lb[] = {"vault", "alpha", "asset", "TKA", "lane", "beta"};
    const series *s =
        find(e, "bulkhead_vault_outstanding_wei", 3, lb[0], lb[1], lb[2], lb[3], lb[4], lb[5]);
    const series *sm = find(e, "bulkhead_vault_outstanding_minted_wei", 3, lb[0], lb[1], lb[2],
                            lb[3], lb[4], lb[5]);
    const series *sf = find(e, "bulkhead_vault_outstanding_in_flight_wei", 3, lb[0], lb[1], lb[2],
                            lb[3], lb[4], lb[5]);
    if (!s || !sm || !sf) fail_msg("/metrics lacks the outstanding split of alpha TKA -> beta");
    snprintf(m.outstanding, sizeof m.outstanding, "%s", s->value);
    snprintf(m.minted, sizeof m.minted, "%s", sm->value);
    snprintf(m.in_flight, sizeof m.in_flight, "%s", sf->value);
    free(e);

    tclient *c = tc_connect((uint16_t)PORT, "/ws?kinds=delivered", NULL);
    PUMP_UNTIL(c->n_msgs >= 1, 10);
    json_t *snap = tc_json(c, 0);
    tc_close(c);
    assert_string_equal(jstr_of(snap, "type"), "snapshot");
    const json_t *vault = NULL;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(snap, "vaults"), i, v)
    {
        if (strcmp(jstr_of(v, "name"), "alpha") == 0) vault = v;
    }
    assert_non_null(vault);
    split_fig w;
    lane_fig(tka_lane(vault, 2), &w);
    json_decref(snap);

    json_t *show = nh_vault_show(&W, 1, "alpha");
    assert_non_null(show);
    split_fig t;
    lane_fig(tka_lane(show, 2), &t);
    json_decref(show);

    fprintf(stderr, "alpha TKA -> beta: outstanding %s = minted %s + in flight %s\n", m.outstanding,
            m.minted, m.in_flight);
    const split_fig *other[] = {&w, &t}; /* /metrics = /ws = vaultctl */
    for (int k = 0; k < 2; k++) {
        assert_string_equal(other[k]->outstanding, m.outstanding);
        assert_string_equal(other[k]->minted, m.minted);
        assert_string_equal(other[k]->in_flight, m.in_flight);
    }
    bh_u128 o, mi, fl;
    assert_int_equal(bh_u128_from_dec(&o, m.outstanding, strlen(m.outstanding)), BH_OK);
    assert_int_equal(bh_u128_from_dec(&mi, m.minted, strlen(m.minted)), BH_OK);
    assert_int_equal(bh_u128_from_dec(&fl, m.in_flight, strlen(m.in_flight)), BH_OK);
    assert_u128(mi + fl, o, "minted + in flight");
    return m;
}

static void test_metrics_outstanding_split(void **state)
{
    (void)state;
    /* what the earlier tests sent is delivered: all of it minted */
    size_t depth = 1;
    for (uint64_t end = nh_now_ms() + WAIT_MS; depth != 0; nh_sleep_ms(100)) {
        NH_OK(nh_vault_outbox_depth(&W, 1, "alpha", &depth));
        if (nh_now_ms() > end) fail_msg("alpha's outbox holds %zu entries", depth);
    }
    bh_address wtka = wrapped_tka();
    split_fig a = split_everywhere();
    assert_string_equal(a.in_flight, "0");
    assert_string_equal(a.minted, a.outstanding);
    assert_string_equal(a.minted, nh_u128_str(supply(NH_B, &wtka)));

    /* a big transfer: accepted into the ledger, delayed an hour */
    bh_u128 before = balance(NH_B, &wtka, &W.user);
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(BIG + 10), NH_B, &W.user, 0, NULL));
    const char *needles[] = {"event=applied", "status=delayed", "cause=big", NULL};
    NH_OK(nh_log_wait(&W, 1, needles, 1, WAIT_MS));
    split_fig b = split_everywhere();
    assert_string_equal(b.in_flight, nh_u128_str(nh_units(BIG + 10)));
    assert_string_equal(b.minted, a.minted); /* nothing more minted */
    assert_u128(balance(NH_B, &wtka, &W.user), before, "the user's wrapped TKA");
    assert_string_equal(b.minted, nh_u128_str(supply(NH_B, &wtka)));
}

/* promtool on PATH, or fail: the check must not be skipped quietly. */
static void find_promtool(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", path && *path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/promtool", d);
        if (access(out, X_OK) == 0) return;
    }
    fail_msg("promtool is not on PATH (%s): deploy/install-deps installs it (Debian package "
             "prometheus)",
             dirs);
}

static void test_metrics_pass_promtool(void **state)
{
    (void)state;
    char promtool[1024];
    find_promtool(promtool, sizeof promtool);
    char *text = NULL;
    expo *e = scrape(&text); /* strict first */
    /* what the earlier tests made the node show: both histograms with
     * deliveries in them, and the outstanding split */
    assert_true(find(e, "bulkhead_chain_delivery_latency_seconds_count", 1, "chain", "beta")->num >
                0);
    assert_true(find(e, "bulkhead_chain_delivery_attempts_count", 1, "chain", "beta")->num > 0);
    assert_non_null(family(e, "bulkhead_vault_outstanding_in_flight_wei"));
    free(e);
    bh_proc_result *r = malloc(sizeof *r);
    assert_non_null(r);
    char *argv[] = {promtool, "check", "metrics", NULL};
    bh_proc_run(r, argv, text);
    fprintf(stderr, "promtool check metrics (%zu bytes): exit %d\n%s%s", strlen(text), r->status,
            r->out, r->err);
    if (r->status != 0)
        fail_msg("promtool check metrics exited %d:\n%s%s", r->status, r->out, r->err);
    free(r);
    free(text);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_build_and_process),
        cmocka_unit_test(test_metrics_delivery_histograms),
        cmocka_unit_test(test_delivered_names_its_transaction),
        cmocka_unit_test(test_metrics_outstanding_split),
        cmocka_unit_test(test_metrics_pass_promtool),
    };
    return nt_main(argc, argv, 0, "", tests, sizeof tests / sizeof tests[0], setup, teardown);
}
