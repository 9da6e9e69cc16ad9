/* The operator surface of a real node (`bulkhead run` on two anvil chains,
 * a "metrics" section with a bearer token from a 0600 file, port 0):
 *  - websocket frames (libwebsockets client): a snapshot on connect, then
 *    "accepted" and "delivered" events of a real A -> B transfer, a
 *    subscribed client that gets only the kinds it asked for, and a
 *    periodic snapshot with the new ledger figures;
 *  - /metrics parses as strict Prometheus text and its ledger numbers
 *    equal `vaultctl show --json` on the same data dir;
 *  - a client connecting after a transfer gets its events from the
 *    server's history, marked so, right after the snapshot;
 *  - the dashboard in headless Chromium (operator_dashboard.js via
 *    playwright-core) shows the vault figures and, on load, the events of
 *    transfers made before it opened; then a live event and the new
 *    figures after a transfer; uPlot charts with points from the node's
 *    samples; the events filtered by chain and kind; a delayed transfer
 *    released with the Release button and the admin token (the node's
 *    admin event, the row gone, the transfer delivered, journaled as
 *    api:dashboard); after a reload the past events (those made while the
 *    page was open too) and the charts at once; UTC times only and no
 *    "minted" caption on a figure that includes transfers in flight. The
 *    screenshots are kept in the build dir (tests/integration/: dashboard.png
 *    at 1280x800, the one deploy/dashboard.png was taken from, and
 *    operator_dashboard.png, the whole page).
 * argv[1] = bulkhead, argv[2] = vaultctl, argv[3] = node (JavaScript). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bh_amount.h"
#include "node_test.h"
#include "../unit/prom_expo.h"
#include "../unit/ws_test_client.h"

#define TOKEN "op-test-token-2f6c1a9b7e"
#define ADMIN_TOKEN "op-admin-token-7d41c0e95b"
#define SHOT_DIR BH_BINARY_DIR "/tests/integration"
#define SCREENSHOT SHOT_DIR "/operator_dashboard.png"
#define SCREENSHOT_TOP SHOT_DIR "/dashboard.png"
/* alpha's TKA: a transfer of this much or more waits an hour (released by
 * the dashboard test); the outbound bucket to beta gives the lane a headroom */
#define BIG_UNITS 1000
#define DELAYED_UNITS 1500

static const char *bin_node;
static uint16_t PORT;
static const char AUTH[] = "Bearer " TOKEN;
static const char AUTH_HEADER[] = "Authorization: Bearer " TOKEN "\r\n";

static int write_secret(const char *name, const char *text)
{
    char path[NH_PATH + 32];
    snprintf(path, sizeof path, "%s/%s", W.node[0].dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t n = strlen(text);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n) return -1;
    close(fd);
    return 0;
}

/* limits[key] = value of chain alpha's TKA */
static int set_tka_limit(json_t *cfg, const char *key, const char *value)
{
    size_t i;
    json_t *a;
    json_t *alpha = json_array_get(json_object_get(cfg, "chains"), NH_A);
    json_array_foreach(json_object_get(alpha, "assets"), i, a)
    {
        if (strcmp(jstr_of(a, "symbol"), "TKA") != 0) continue;
        json_t *l = json_object_get(a, "limits");
        if (l == NULL) json_object_set_new(a, "limits", l = json_object());
        return json_object_set_new(l, key, json_string(value));
    }
    return -1;
}

/* The metrics section, with the read and admin tokens in 0600 files next
 * to the config; samples every second; big transfers of alpha's TKA wait;
 * TKA has a fixed price. */
static int configure_operator(void)
{
    if (write_secret("operator.token", TOKEN "\n") != 0 ||
        write_secret("admin.token", ADMIN_TOKEN "\n") != 0)
        return -1;
    json_t *cfg = nh_node_config(&W, 1);
    if (cfg == NULL) return -1;
    json_object_set_new(cfg, "metrics",
                        json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:i}", "bind", "127.0.0.1",
                                  "port", 0, "token_file", "operator.token", "admin_token_file",
                                  "admin.token", "max_clients", 8, "snapshot_interval_s", 1,
                                  "sample_interval_s", 1));
    if (set_tka_limit(cfg, "big_threshold", nh_u128_str(nh_units(BIG_UNITS))) != 0 ||
        set_tka_limit(cfg, "big_delay", "3600") != 0 ||
        set_tka_limit(cfg, "price", "250") != 0 || /* 2.50 in the quote unit (cents) */
        set_tka_limit(cfg, "out_capacity.2", nh_u128_str(nh_units(100000))) != 0 ||
        set_tka_limit(cfg, "out_refill.2", nh_u128_str(nh_units(10))) != 0) {
        json_decref(cfg);
        return -1;
    }
    return nh_node_write_config(&W, 1, cfg);
}

/* The port the node logged: event=metrics_listening ... port=N. */
static int read_port(void)
{
    const char *needles[] = {"event=metrics_listening", NULL};
    if (nh_log_wait(&W, 1, needles, 1, WAIT_MS) != 0) return -1;
    char *log = nh_node_log(&W, 1);
    const char *line = strstr(log, "event=metrics_listening");
    char port[16];
    int rc = line ? nh_log_field(line, "port", port, sizeof port) : -1;
    free(log);
    if (rc != 0) return -1;
    PORT = (uint16_t)atoi(port);
    return PORT > 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 3, .n_attesters = 1, .quorum = 1, .evm_id_base = 7600};
    if (nt_world_up(o, 0) != 0 || configure_operator() != 0 || nh_node_start(&W, 1, WAIT_MS) != 0 ||
        read_port() != 0)
        return -1;
    lws_set_log_level(LLL_ERR, NULL);
    return wtc_init();
}

static int teardown(void **state)
{
    wtc_fini();
    return nt_teardown(state);
}

/* Vault alpha's TKA figures as vaultctl reads them. */
static void vaultctl_tka(bh_u128 *locked, bh_u128 out[NH_MAX_CHAINS + 1])
{
    vault_amounts("alpha", &W.tka, locked, out);
}

static const json_t *find_named(const json_t *arr, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(jstr_of(v, "name"), name) == 0) return v;
    }
    return NULL;
}

/* Locked TKA of vault alpha in a snapshot frame, "" if absent. */
static const char *snapshot_locked(const json_t *snap)
{
    const json_t *v = find_named(json_object_get(snap, "vaults"), "alpha");
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(v, "assets"), i, a)
    {
        if (strcmp(jstr_of(a, "symbol"), "TKA") == 0) return jstr_of(a, "locked");
    }
    return "";
}

/* Index of the first event frame of `kind` for the message `sequence`
 * on lane alpha -> beta, or -1. */
static long find_event(const tclient *c, const char *kind, long long sequence)
{
    for (size_t i = 0; i < c->n_msgs; i++) {
        json_t *j = tc_json(c, i);
        int hit = strcmp(jstr_of(j, "type"), "event") == 0 &&
                  strcmp(jstr_of(j, "kind"), kind) == 0 && jint_of(j, "sequence") == sequence &&
                  strcmp(jstr_of(j, "from"), "alpha") == 0 && strcmp(jstr_of(j, "to"), "beta") == 0;
        json_decref(j);
        if (hit) return (long)i;
    }
    return -1;
}

static int has_snapshot_locked(const tclient *c, const char *locked)
{
    for (size_t i = c->n_msgs; i-- > 0;) {
        if (strstr(c->msgs[i], "\"type\":\"snapshot\"") == NULL) continue;
        json_t *j = tc_json(c, i);
        int hit = strcmp(snapshot_locked(j), locked) == 0;
        json_decref(j);
        return hit;
    }
    return 0;
}

static void test_operator_http_routes(void **state)
{
    (void)state;
    http_resp r = http_req(PORT, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = http_req(PORT, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 401);
    free(r.body);
    assert_int_equal(raw_ws_open(PORT, "/ws", NULL, 0, NULL), 401);
    /* ready once every chain has been polled */
    double t0 = now_s();
    for (;;) {
        r = http_req(PORT, "GET", "/readyz", NULL);
        int st = r.status;
        if (st == 200) assert_string_equal(r.body, "ready\n");
        if (st != 200 && now_s() - t0 > 30) fail_msg("/readyz stays %d: %s", st, r.body);
        free(r.body);
        if (st == 200) break;
        assert_int_equal(st, 503);
        sleep_ms(200);
    }
    r = http_req(PORT, "GET", "/", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "bulkhead"));
    free(r.body);
}

static void test_operator_frames_after_transfer(void **state)
{
    (void)state;
    tclient *all = tc_connect(PORT, "/ws", AUTH);
    tclient *sub = tc_connect(PORT, "/ws?kinds=delivered&chains=beta&token=" TOKEN, NULL);
    PUMP_UNTIL(all->n_msgs >= 1 && sub->n_msgs >= 1, 10);

    json_t *snap = tc_json(all, 0);
    assert_string_equal(jstr_of(snap, "type"), "snapshot");
    assert_string_equal(jstr_of(snap, "node"), "node-1");
    assert_non_null(find_named(json_object_get(snap, "chains"), "alpha"));
    assert_non_null(find_named(json_object_get(snap, "chains"), "beta"));
    assert_non_null(find_named(json_object_get(snap, "vaults"), "alpha"));
    json_decref(snap);

    bh_u128 locked0, out0[NH_MAX_CHAINS + 1];
    vaultctl_tka(&locked0, out0);
    uint64_t seq = 0;
    bh_address wrapped;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(100), NH_B, &W.user, 0, &seq));
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));

    PUMP_UNTIL(find_event(all, "accepted", (long long)seq) >= 0 &&
                   find_event(all, "delivered", (long long)seq) >= 0,
               WAIT_MS / 1000);
    long ia = find_event(all, "accepted", (long long)seq);
    long id = find_event(all, "delivered", (long long)seq);
    assert_true(ia < id); /* accepted before delivered */
    json_t *acc = tc_json(all, (size_t)ia), *del = tc_json(all, (size_t)id);
    assert_string_equal(jstr_of(acc, "vault"), "alpha");
    assert_string_equal(jstr_of(acc, "amount"), nh_u128_str(nh_units(100)));
    assert_string_equal(jstr_of(acc, "symbol"), "TKA");
    assert_int_equal(jint_of(acc, "from_chain"), 1);
    assert_int_equal(jint_of(acc, "to_chain"), 2);
    assert_int_equal(strlen(jstr_of(acc, "digest")), 66);
    assert_string_equal(jstr_of(acc, "digest"), jstr_of(del, "digest"));
    assert_true(jint_of(del, "seq") > jint_of(acc, "seq"));
    json_decref(acc);
    json_decref(del);

    /* the subscribed client: delivered events touching beta, nothing else */
    PUMP_UNTIL(tc_count_type(sub, "event") >= 1, 10);
    for (size_t i = 0; i < sub->n_msgs; i++) {
        json_t *j = tc_json(sub, i);
        if (strcmp(jstr_of(j, "type"), "event") == 0)
            assert_string_equal(jstr_of(j, "kind"), "delivered");
        json_decref(j);
    }

    /* a periodic snapshot carries the new ledger */
    char want[BH_U128_DEC_MAX];
    bh_u128_to_dec(want, locked0 + nh_units(100));
    PUMP_UNTIL(has_snapshot_locked(all, want), 10);

    /* a client that connects now gets them from the server's history,
     * right after its snapshot and before anything live */
    tclient *late = tc_connect(PORT, "/ws", AUTH);
    PUMP_UNTIL(find_event(late, "delivered", (long long)seq) >= 0, 10);
    json_t *first = tc_json(late, 0);
    assert_string_equal(jstr_of(first, "type"), "snapshot");
    json_decref(first);
    long la = find_event(late, "accepted", (long long)seq);
    long ld = find_event(late, "delivered", (long long)seq);
    assert_true(la >= 1 && la < ld);
    for (long i = 1; i <= ld; i++) {
        json_t *j = tc_json(late, (size_t)i);
        assert_string_equal(jstr_of(j, "type"), "event");
        assert_true(json_is_true(json_object_get(j, "history")));
        json_decref(j);
    }
    tc_close(late);
    tc_close(all);
    tc_close(sub);
}

static void test_operator_metrics_match_vaultctl(void **state)
{
    (void)state;
    http_resp r = http_req(PORT, "GET", "/metrics", AUTH_HEADER);
    assert_int_equal(r.status, 200);
    assert_true(head_has(&r, "content-type: text/plain; version=0.0.4"));
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    if (expo_parse(e, r.body) != 0) fail_msg("/metrics: %s\n%s", e->err, r.body);

    bh_u128 locked, out[NH_MAX_CHAINS + 1];
    vaultctl_tka(&locked, out);
    assert_true(locked > 0);
    char v[BH_U128_DEC_MAX];
    bh_u128_to_dec(v, locked);
    CHECK_VALUE(e, v, "bulkhead_vault_locked_wei", 2, "vault", "alpha", "asset", "TKA");
    bh_u128_to_dec(v, out[2]);
    CHECK_VALUE(e, v, "bulkhead_vault_outstanding_wei", 3, "vault", "alpha", "asset", "TKA", "lane",
                "beta");
    bh_u128_to_dec(v, out[1] + out[2] + out[3]);
    CHECK_VALUE(e, v, "bulkhead_vault_outstanding_all_lanes_wei", 2, "vault", "alpha", "asset",
                "TKA");
    CHECK_VALUE(e, "18", "bulkhead_vault_asset_decimals", 2, "vault", "alpha", "asset", "TKA");

    /* the build it runs and what the process costs, from the running node */
    const series *build = NULL;
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->s[i].name, "bulkhead_build_info")) build = &e->s[i];
    assert_non_null(build);
    assert_string_equal(build->value, "1");
    assert_int_equal(build->n, 2); /* version and commit */
    const series *rss = find(e, "process_resident_memory_bytes", 0);
    assert_non_null(rss);
    assert_true(strtod(rss->value, NULL) > 1e6); /* a node holds more than a megabyte */
    const series *fds = find(e, "process_open_fds", 0);
    assert_non_null(fds);
    assert_true(strtod(fds->value, NULL) >= 3);
    const series *cpu = find(e, "process_cpu_seconds_total", 0);
    assert_non_null(cpu);
    assert_true(strtod(cpu->value, NULL) > 0);
    const series *start = find(e, "process_start_time_seconds", 0);
    assert_non_null(start);
    double age = (double)time(NULL) - strtod(start->value, NULL);
    if (age < -2 || age > 3600)
        fail_msg("process_start_time_seconds %s is %g s ago", start->value, age);

    /* counters that the transfers moved, and heights that hang together */
    const series *acc = find(e, "bulkhead_vault_accepted_total", 1, "vault", "alpha");
    const series *del = find(e, "bulkhead_delivered_total", 0);
    assert_non_null(acc);
    assert_non_null(del);
    assert_true(acc->num >= 1 && del->num >= 1);
    for (int c = 0; c < 2; c++) {
        const char *name = c ? "beta" : "alpha";
        const series *head = find(e, "bulkhead_chain_head_block", 1, "chain", name);
        const series *fin = find(e, "bulkhead_chain_finalized_block", 1, "chain", name);
        const series *cur = find(e, "bulkhead_chain_cursor_block", 1, "chain", name);
        assert_non_null(head);
        assert_non_null(fin);
        assert_non_null(cur);
        assert_true(head->num >= fin->num && fin->num > 0 && cur->num > 0);
        CHECK_VALUE(e, "0", "bulkhead_chain_quarantined", 1, "chain", name);
        const series *calls = NULL;
        for (int i = 0; i < e->n; i++)
            if (strcmp(e->s[i].name, "bulkhead_rpc_calls_total") == 0) calls = &e->s[i];
        assert_non_null(calls);
        assert_true(calls->num > 0);
    }
    free(e);
    free(r.body);
}

/* "1234567" -> "1,234,567", as the dashboard groups digits. */
static void grouped(char *out, size_t cap, const char *digits)
{
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* What the dashboard shows for an 18-decimal amount of whole tokens. */
static void shown(char *out, size_t cap, bh_u128 v)
{
    char dec[BH_U128_DEC_MAX + 2], g[64];
    bh_u128_to_units(dec, sizeof dec, v, 18);
    char *dot = strchr(dec, '.');
    if (dot) *dot = '\0';
    grouped(g, sizeof g, dec);
    snprintf(out, cap, "%s%s%.6s TKA", g, dot ? "." : "", dot ? dot + 1 : "");
}

/* The first event frame of `kind` for `sequence` on lane from -> to, or -1. */
static long find_lane_event(const tclient *c, const char *kind, long long sequence,
                            const char *from, const char *to)
{
    for (size_t i = 0; i < c->n_msgs; i++) {
        json_t *j = tc_json(c, i);
        int hit = strcmp(jstr_of(j, "type"), "event") == 0 &&
                  strcmp(jstr_of(j, "kind"), kind) == 0 && jint_of(j, "sequence") == sequence &&
                  strcmp(jstr_of(j, "from"), from) == 0 && strcmp(jstr_of(j, "to"), to) == 0;
        json_decref(j);
        if (hit) return (long)i;
    }
    return -1;
}

static void test_operator_dashboard_in_chromium(void **state)
{
    (void)state;
    if (access("/usr/bin/chromium", X_OK) != 0)
        fail_msg("/usr/bin/chromium is missing: deploy/install-deps installs it");
    char modules[NH_PATH];
    snprintf(modules, sizeof modules, "%s/tests/node/node_modules", BH_SOURCE_DIR);
    char probe[NH_PATH + 32];
    snprintf(probe, sizeof probe, "%s/playwright-core/package.json", modules);
    if (access(probe, R_OK) != 0)
        fail_msg("playwright-core is missing in %s: deploy/install-deps installs it", modules);

    /* before the page opens: a transfer to beta and one to gamma, both
     * delivered (the page must show their events on load, from the server's
     * history), and a big one to beta that waits (the page releases it) */
    tclient *watch = tc_connect(PORT, "/ws?kinds=delivered,delayed", AUTH);
    PUMP_UNTIL(watch->n_msgs >= 1, 10);
    uint64_t past = 0, to_gamma = 0, delayed = 0, retimed = 0, dropped = 0;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(2), NH_B, &W.user, 0, &past));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(3), NH_C, &W.user, 0, &to_gamma));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(DELAYED_UNITS), NH_B, &W.user, 0, &delayed));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(BIG_UNITS + 100), NH_B, &W.user, 0, &retimed));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(BIG_UNITS + 200), NH_B, &W.user, 0, &dropped));
    PUMP_UNTIL(find_lane_event(watch, "delivered", (long long)past, "alpha", "beta") >= 0 &&
                   find_lane_event(watch, "delayed", (long long)dropped, "alpha", "beta") >= 0,
               WAIT_MS / 1000);
    PUMP_UNTIL(find_lane_event(watch, "delivered", (long long)to_gamma, "alpha", "gamma") >= 0,
               WAIT_MS / 1000);
    assert_true(find_lane_event(watch, "delayed", (long long)delayed, "alpha", "beta") >= 0);
    assert_true(find_lane_event(watch, "delayed", (long long)retimed, "alpha", "beta") >= 0);
    tc_close(watch);
    bh_u128 beta_before = 0;
    bh_address wrapped;
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &wrapped, WAIT_MS));
    NH_OK(nh_balance(&W, NH_B, &wrapped, &W.user, &beta_before));

    bh_u128 locked, out[NH_MAX_CHAINS + 1];
    vaultctl_tka(&locked, out);
    bh_u128 after = locked + nh_units(5);
    char raw0[BH_U128_DEC_MAX], raw1[BH_U128_DEC_MAX], text0[96], text1[96];
    bh_u128_to_dec(raw0, locked);
    bh_u128_to_dec(raw1, after);
    shown(text0, sizeof text0, locked);
    shown(text1, sizeof text1, after);
    unlink(SCREENSHOT);
    unlink(SCREENSHOT_TOP);

    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/?token=%s", PORT, TOKEN);
    json_t *args = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:I, s:s}",
        "url", url, "admin_token", ADMIN_TOKEN, "shot", SCREENSHOT, "shot_top", SCREENSHOT_TOP,
        "vault", "alpha", "asset", "TKA", "raw_before", raw0, "text_before", text0, "raw_after",
        raw1, "text_after", text1, "past_seq", (json_int_t)past, "gamma_seq", (json_int_t)to_gamma,
        "delayed_seq", (json_int_t)delayed, "delayed_text", "1,500 TKA", "retime_seq",
        (json_int_t)retimed, "drop_seq", (json_int_t)dropped, "price_text", "2.5");
    assert_non_null(args);
    char *json = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "timeout 180 '%s' '%s/tests/integration/operator_dashboard.js' '%s' '%s'", bin_node,
             BH_SOURCE_DIR, modules, json);
    free(json);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096] = "";
    if (fgets(line, sizeof line, p) == NULL || strcmp(line, "loaded\n") != 0) {
        int st = pclose(p);
        fail_msg("the dashboard never showed locked %s (exit %d): %s", text0, st, line);
    }
    /* a transfer while the page is open: a live event and new figures */
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(5), NH_B, &W.user, 0, NULL));
    char result[4096] = "";
    while (fgets(line, sizeof line, p) != NULL)
        snprintf(result, sizeof result, "%s", line);
    int st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("dashboard check failed (status %d): %s (screenshot: %s)", st, result, SCREENSHOT);
    json_t *res = json_loads(result, 0, NULL);
    assert_non_null(res);
    assert_true(json_is_true(json_object_get(res, "ok")));
    assert_string_equal(jstr_of(res, "connection"), "live");
    fprintf(stderr, "dashboard: %s\n", result);
    json_decref(res);
    struct stat sb;
    assert_int_equal(stat(SCREENSHOT, &sb), 0);
    assert_true(sb.st_size > 10000);
    assert_int_equal(stat(SCREENSHOT_TOP, &sb), 0);
    assert_true(sb.st_size > 10000);

    /* what the buttons did, seen from outside the page: the released
     * transfer minted on beta, the dropped one gone, the retimed one still
     * pending (cause retimed), the journal names the actor */
    bh_u128 beta_after = 0;
    for (double t0 = now_s(); beta_after - beta_before != nh_units(DELAYED_UNITS + 5);) {
        if (now_s() - t0 > WAIT_MS / 1000.0) break;
        NH_OK(nh_balance(&W, NH_B, &wrapped, &W.user, &beta_after));
        if (beta_after - beta_before != nh_units(DELAYED_UNITS + 5)) sleep_ms(200);
    }
    assert_u128(beta_after - beta_before, nh_units(DELAYED_UNITS + 5), "minted on beta");
    char *outp = NULL;
    const char *pending[] = {"pending", "alpha", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &outp, pending), 0);
    json_t *pj = json_loads(outp, 0, NULL);
    free(outp);
    json_t *rows = json_is_array(pj) ? pj : json_object_get(pj, "data");
    assert_int_equal(json_array_size(rows), 1);
    char *left = json_dumps(json_array_get(rows, 0), JSON_COMPACT);
    assert_non_null(strstr(left, "retimed"));
    free(left);
    json_decref(pj);
    const char *journal[] = {"journal", "alpha", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &outp, journal), 0);
    assert_non_null(strstr(outp, "api:dashboard"));
    free(outp);
}

int main(int argc, char **argv)
{
    if (argc > 3) bin_node = argv[3];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operator_http_routes),
        cmocka_unit_test(test_operator_frames_after_transfer),
        cmocka_unit_test(test_operator_metrics_match_vaultctl),
        cmocka_unit_test(test_operator_dashboard_in_chromium),
    };
    return nt_main(argc, argv, 1, " NODE", tests, sizeof tests / sizeof tests[0], setup, teardown);
}
