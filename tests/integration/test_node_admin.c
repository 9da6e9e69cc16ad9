/* The admin API of a running node (bh_admin.h) on anvil: every request
 * without the admin token is refused, vaultctl --node runs the same verbs
 * as vaultctl on the data directory (same validator, same output), and
 * each action is journaled with its actor, logged and sent on /ws. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_adversary.h"
#include "../unit/ws_test_client.h"

#define READ_TOKEN "read-token-0123456789abcdef"
#define ADMIN_TOKEN "admin-token-0123456789abcdef"

static int PORT;
static char URL[64], TOKEN_FILE[NH_PATH + 32];

static void write_secret(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", W.node[0].dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void edit(json_t *cfg)
{
    json_object_set_new(cfg, "metrics",
                        json_pack("{s:s, s:i, s:s, s:s, s:i}", "bind", "127.0.0.1", "port", 0,
                                  "token_file", "read.token", "admin_token_file", "admin.token",
                                  "snapshot_interval_s", 1));
    cfg_set_limit(cfg, NH_A, "TKA", "big_threshold", nh_u128_str(nh_units(50)));
    cfg_set_limit(cfg, NH_A, "TKA", "big_delay", "3600");
}

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8610};
    if (adv_up(o, NULL, 0) != 0) return -1;
    char p[NH_PATH + 32];
    write_secret("read.token", READ_TOKEN "\n", p, sizeof p);
    write_secret("admin.token", ADMIN_TOKEN "\n", TOKEN_FILE, sizeof TOKEN_FILE);
    json_t *cfg = nh_node_config(&W, 1);
    edit(cfg);
    if (nh_node_write_config(&W, 1, cfg) != 0 || nh_node_start(&W, 1, WAIT_MS) != 0 ||
        nh_node_metrics_port(&W, 1, WAIT_MS, &PORT) != 0)
        return -1;
    snprintf(URL, sizeof URL, "http://127.0.0.1:%d", PORT);
    return 0;
}

/* POST path with body and an optional Authorization value. */
static http_resp post(const char *path, const char *auth, const char *body)
{
    int fd = tcp_connect((uint16_t)PORT, 0);
    char req[8192];
    char ah[512] = "";
    if (auth) snprintf(ah, sizeof ah, "Authorization: %s\r\n", auth);
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     path, ah, strlen(body), body);
    send_all(fd, req, (size_t)n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    http_resp resp = {0};
    char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL) fail_msg("no HTTP response to POST %s: %.200s", path, buf);
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &resp.status), 1);
    resp.body = strdup(end + 4);
    free(buf);
    return resp;
}

static void expect_status(const char *path, const char *auth, const char *body, int status,
                          const char *error)
{
    http_resp r = post(path, auth, body);
    if (r.status != status || (error && !strstr(r.body, error)))
        fail_msg("POST %s (auth %s): got %d %s, expected %d %s", path, auth ? auth : "none",
                 r.status, r.body, status, error ? error : "");
    free(r.body);
}

/* vaultctl through the node: --node URL --admin-token-file F args... */
static int remote(char **out, const char *const *args)
{
    const char *a[32] = {"--node", URL, "--admin-token-file", TOKEN_FILE};
    size_t n = 4;
    for (size_t i = 0; args[i] && n < 31; i++)
        a[n++] = args[i];
    a[n] = NULL;
    return nh_vaultctl(&W, 1, out, a);
}

static void test_admin_refuses_without_its_token(void **state)
{
    (void)state;
    const char *ok = "{\"argv\":[\"list\"],\"actor\":\"t\"}";
    expect_status("/admin/v1/vaultctl", NULL, ok, 401, "unauthorized");
    expect_status("/admin/v1/vaultctl", "Bearer " READ_TOKEN, ok, 401, "unauthorized");
    expect_status("/admin/v1/vaultctl", "Bearer " ADMIN_TOKEN "x", ok, 401, "unauthorized");
    expect_status("/admin/v1/vaultctl", "Basic " ADMIN_TOKEN, ok, 401, "unauthorized");
    /* the admin token opens no read door either */
    http_resp r =
        http_req((uint16_t)PORT, "GET", "/metrics", "Authorization: Bearer " ADMIN_TOKEN "\r\n");
    assert_int_equal(r.status, 401);
    free(r.body);
    const char *adm = "Bearer " ADMIN_TOKEN;
    expect_status("/admin/v1/vaultctl", adm, "not json", 400, "bad_request");
    expect_status("/admin/v1/vaultctl", adm, "{\"argv\":[]}", 400, "argv");
    expect_status("/admin/v1/vaultctl", adm, "{\"argv\":[\"list\"]}", 400, "actor");
    expect_status("/admin/v1/vaultctl", adm,
                  "{\"argv\":[\"-d\",\"/tmp\",\"list\"],\"actor\":\"t\"}", 400, "set by the node");
    expect_status("/admin/v1/vaultctl", adm,
                  "{\"argv\":[\"freeze\",\"beta\",\"--actor\",\"root\"],\"actor\":\"t\"}", 400,
                  "set by the node");
    expect_status("/admin/v1/vaultctl", adm, "{\"argv\":[\"migrate\"],\"actor\":\"t\"}", 400,
                  "stopped node");
    expect_status("/admin/v1/nothing", adm, "{}", 404, "not_found");
    expect_status("/admin/v1/vaultctl", adm, ok, 200, "\"rc\":0");
    /* vaultctl --node with a wrong token: refused, named */
    char bad[NH_PATH + 32];
    write_secret("bad.token", "not-the-admin-token-000\n", bad, sizeof bad);
    const char *a[] = {"--node", URL, "--admin-token-file", bad, "list", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, a), 1);
}

/* The same verb on the node and on the data directory prints the same. */
static void test_admin_same_output_and_validator(void **state)
{
    (void)state;
    const char *show[] = {"show", "alpha", "--json", NULL};
    char *local = NULL, *via = NULL;
    assert_int_equal(nh_vaultctl(&W, 1, &local, show), 0);
    assert_int_equal(remote(&via, show), 0);
    /* the whole envelope is the same, not only its data */
    json_t *jl = json_loads(local, 0, NULL), *jv = json_loads(via, 0, NULL);
    assert_non_null(jl);
    assert_non_null(jv);
    assert_true(json_is_true(json_object_get(jl, "ok")));
    assert_true(json_is_object(json_object_get(jl, "data")));
    assert_true(json_equal(jl, jv));
    json_decref(jl);
    json_decref(jv);
    free(local);
    free(via);
    /* the refusal of `check` is the refusal of vaultctl, local or remote */
    const char *cap9[] = {"limits", "alpha", "TKA", "cap.9=5", "--reason", "t", NULL};
    int lrc = nh_vaultctl(&W, 1, NULL, cap9), rrc = remote(NULL, cap9);
    assert_int_not_equal(lrc, 0);
    assert_int_equal(lrc, rrc);
    const char *typo[] = {"shwo", "alpha", NULL};
    assert_int_equal(remote(NULL, typo), 2);
    /* an error through the node is the same envelope too: one, on stdout */
    const char *typo_json[] = {"shwo", "alpha", "--json", NULL};
    assert_int_equal(remote(&via, typo_json), 2);
    jv = json_loads(via, 0, NULL);
    if (!jv) fail_msg("not one JSON document: %s", via);
    assert_true(json_is_false(json_object_get(jv, "ok")));
    json_t *err = json_object_get(jv, "error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), "unknown_verb");
    assert_string_equal(json_string_value(json_object_get(err, "suggestion")), "show");
    json_decref(jv);
    free(via);
}

static json_t *pending_rows(void)
{
    char *out = NULL;
    const char *args[] = {"pending", "alpha", "--json", NULL};
    assert_int_equal(remote(&out, args), 0);
    json_t *rows = nh_vaultctl_data(out);
    free(out);
    assert_true(json_is_array(rows));
    return rows;
}

static char *row_id(json_t *rows, size_t i)
{
    json_t *r = json_array_get(rows, i);
    const char *id = json_string_value(json_object_get(r, "id"));
    if (id) return strdup(id);
    char buf[64];
    snprintf(buf, sizeof buf, "alpha/%lld", (long long)json_integer_value(json_object_get(r, "n")));
    return strdup(buf);
}

/* Release, retime and drop a delayed transfer through the node; each is
 * journaled with the actor, logged, and sent on /ws. */
static void test_admin_pending_actions(void **state)
{
    (void)state;
    int ws = -1;
    assert_int_equal(
        raw_ws_open((uint16_t)PORT, "/ws?token=" READ_TOKEN "&kinds=admin", NULL, 0, &ws), 101);
    for (int i = 0; i < 3; i++)
        NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(100), NH_B, &W.user, 0, NULL));
    const char *delayed[] = {"event=applied", "status=delayed", "cause=big", NULL};
    expect_log(delayed, 3, WAIT_MS);
    json_t *rows = pending_rows();
    assert_int_equal(json_array_size(rows), 3);
    char *id0 = row_id(rows, 0), *id1 = row_id(rows, 1), *id2 = row_id(rows, 2);
    json_decref(rows);

    const char *rel[] = {"release", id0, "--reason", "checked by phone", "--actor", "alice", NULL};
    assert_int_equal(remote(NULL, rel), 0);
    bh_address w_tka_b;
    ADV_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    wait_delivered(NH_B, &w_tka_b, &W.user, nh_units(100), WAIT_MS, "the released transfer", NULL);
    const char *re[] = {"retime",  id1,   "2", "--reason", "wait for the audit",
                        "--actor", "bob", NULL};
    assert_int_equal(remote(NULL, re), 0);
    const char *dr[] = {"drop", id2, "--reason", "customer asked", "--actor", "carol", NULL};
    assert_int_equal(remote(NULL, dr), 0);
    rows = pending_rows();
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);

    /* journaled with the actor as api:NAME */
    char *j = NULL;
    const char *jargs[] = {"journal", "alpha", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &j, jargs), 0);
    assert_non_null(strstr(j, "api:alice"));
    assert_non_null(strstr(j, "api:bob"));
    assert_non_null(strstr(j, "api:carol"));
    free(j);
    /* logged by the node */
    const char *logged[] = {"event=admin_action", "actor=api:alice", "release", NULL};
    expect_log(logged, 1, WAIT_MS);
    /* sent on /ws: three admin events (a snapshot comes first) */
    unsigned char buf[1 << 16];
    size_t len;
    int admin = 0;
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (admin < 3 && nh_now_ms() < end && raw_ws_frame(ws, buf, sizeof buf - 1, &len) >= 0) {
        buf[len] = '\0';
        if (strstr((char *)buf, "\"kind\":\"admin\"")) admin++;
    }
    close(ws);
    assert_int_equal(admin, 3);
    free(id0);
    free(id1);
    free(id2);
}

/* Restart node 1 with the config edited by f. */
static void restart_with(void (*f)(json_t *cfg))
{
    assert_int_equal(nh_node_stop(&W, 1, WAIT_MS), 0);
    json_t *cfg = nh_node_config(&W, 1);
    f(cfg);
    NH_OK(nh_node_write_config(&W, 1, cfg));
    NH_OK(nh_node_start(&W, 1, WAIT_MS));
    NH_OK(nh_node_metrics_port(&W, 1, WAIT_MS, &PORT));
    snprintf(URL, sizeof URL, "http://127.0.0.1:%d", PORT);
}

/* B's transactions from an account without ether: every send fails. */
static void no_delivery_to_b(json_t *cfg)
{
    char p[NH_PATH + 32];
    write_secret("poor.key", "1111111111111111111111111111111111111111111111111111111111111111\n",
                 p, sizeof p);
    json_object_set_new(cfg_chain(cfg, NH_B), "tx_key_file", json_string("poor.key"));
}

static void delivery_to_b(json_t *cfg)
{
    json_object_set_new(cfg_chain(cfg, NH_B), "tx_key_file", json_string("tx.key"));
}

static json_t *remote_json(const char *const *args)
{
    char *out = NULL;
    assert_int_equal(remote(&out, args), 0);
    json_t *d = nh_vaultctl_data(out);
    if (d == NULL) fail_msg("no envelope with data: %s", out);
    free(out);
    return d;
}

/* An entry stuck in the outbox is set aside and put back through the
 * node; an operator's limit survives the restart in between. */
static void test_admin_outbox_drop_requeue_and_limits_kept(void **state)
{
    (void)state;
    restart_with(no_delivery_to_b);
    bh_address w_tka_b;
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    bh_u128 before = 0;
    NH_OK(nh_balance(&W, NH_B, &w_tka_b, &W.user, &before));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(7), NH_B, &W.user, 0, NULL));
    const char *accepted[] = {"event=applied", "status=accepted", NULL};
    expect_log(accepted, 1, WAIT_MS);
    const char *list[] = {"outbox", "alpha", "--json", NULL};
    json_t *ob = remote_json(list);
    assert_int_equal(json_array_size(ob), 1);
    long long id = json_integer_value(json_object_get(json_array_get(ob, 0), "id"));
    json_decref(ob);
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *show[] = {"outbox", "alpha", "show", ids, "--json", NULL};
    json_t *one = remote_json(show);
    assert_int_equal(json_integer_value(json_object_get(one, "id")), id);
    json_decref(one);
    const char *nodrop[] = {"outbox", "alpha", "drop", ids, NULL};
    assert_int_equal(remote(NULL, nodrop), 2); /* a drop needs a reason */
    const char *drop[] = {"outbox", "alpha",   "drop", ids, "--reason",
                          "stuck",  "--actor", "erin", NULL};
    assert_int_equal(remote(NULL, drop), 0);
    ob = remote_json(list);
    assert_int_equal(json_array_size(ob), 0);
    json_decref(ob);
    const char *parked[] = {"parked", "alpha", "--json", NULL};
    json_t *pk = remote_json(parked);
    assert_int_equal(json_array_size(pk), 1);
    json_decref(pk);
    /* an operator's limit, set through the node, outlives a restart */
    const char *lim[] = {"limits", "alpha", "TKA", "big_delay=7200", "--reason", "calmer", NULL};
    assert_int_equal(remote(NULL, lim), 0);

    restart_with(delivery_to_b);
    nh_sleep_ms(2000);
    bh_u128 now = 0;
    NH_OK(nh_balance(&W, NH_B, &w_tka_b, &W.user, &now));
    assert_true(now == before); /* set aside: not delivered */
    const char *rq[] = {"requeue", "alpha", ids, "--reason", "endpoint fixed", NULL};
    assert_int_equal(remote(NULL, rq), 0);
    wait_delivered(NH_B, &w_tka_b, &W.user, before + nh_units(7), WAIT_MS, "the requeued entry",
                   NULL);
    const char *lj[] = {"limits", "alpha", "TKA", "--json", NULL};
    char *out = NULL;
    assert_int_equal(remote(&out, lj), 0);
    assert_non_null(strstr(out, "7200"));
    free(out);
}

/* freeze through the node quarantines the chain in the running node
 * (/readyz says so); unfreeze lifts it. */
static void test_admin_freeze_unfreeze(void **state)
{
    (void)state;
    const char *fr[] = {"freeze", "beta", "--reason", "drill", "--actor", "dave", NULL};
    assert_int_equal(remote(NULL, fr), 0);
    int st = 0;
    char *body = NULL;
    uint64_t end = nh_now_ms() + WAIT_MS;
    do {
        free(body);
        body = NULL;
        NH_OK(nh_http_get(PORT, "/readyz", &st, &body));
        if (st == 503) break;
        nh_sleep_ms(100);
    } while (nh_now_ms() < end);
    if (st != 503) fail_msg("/readyz after freeze: %d %s", st, body);
    free(body);
    const char *uf[] = {"unfreeze", "beta", "--reason", "drill over", "--actor", "dave", NULL};
    assert_int_equal(remote(NULL, uf), 0);
    end = nh_now_ms() + WAIT_MS;
    do {
        body = NULL;
        NH_OK(nh_http_get(PORT, "/readyz", &st, &body));
        free(body);
        if (st == 200) break;
        nh_sleep_ms(100);
    } while (nh_now_ms() < end);
    assert_int_equal(st, 200);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_refuses_without_its_token),
        cmocka_unit_test(test_admin_same_output_and_validator),
        cmocka_unit_test(test_admin_pending_actions),
        cmocka_unit_test(test_admin_freeze_unfreeze),
        cmocka_unit_test(test_admin_outbox_drop_requeue_and_limits_kept),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
