#include <pthread.h>
/* The admin API of a running node (bh_admin.h) on anvil: every request
 * without the admin token is refused, vaultctl --node runs the same verbs
 * as vaultctl on the data directory (same validator, same output), and
 * each action is journaled with its actor, logged and sent on /ws. */
#include <fcntl.h>
#include <inttypes.h>
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

#include "bh_vault.h"
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
    char ah[512] = "Content-Type: application/json\r\n";
    if (auth)
        snprintf(ah, sizeof ah, "Authorization: %s\r\nContent-Type: application/json\r\n", auth);
    return http_req_body((uint16_t)PORT, "POST", path, ah, body);
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
    expect_status("/admin/v1/vaultctl", adm,
                  "{\"argv\":[\"audit\",\"alpha\",\"--config\",\"/etc/shadow\"],"
                  "\"actor\":\"t\"}",
                  400, "--config names a file on the node");
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
    /* a trailing option without its value stays without one: the node's
     * own --actor is not taken as the reason */
    const char *bare[] = {"freeze", "alpha", "--reason", NULL};
    char *out = NULL;
    assert_int_equal(remote(&out, bare), 2);
    free(out);
    http_resp r = post("/admin/v1/vaultctl", "Bearer " ADMIN_TOKEN,
                       "{\"argv\":[\"freeze\",\"alpha\",\"--reason\"],\"actor\":\"t\"}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"rc\":2"));
    assert_non_null(strstr(r.body, "--reason needs"));
    free(r.body);
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
    /* each limit says where its value came from */
    json_t *lim_doc = remote_json(lj);
    json_t *prov = json_object_get(lim_doc, "provenance");
    int op = 0, cfg = 0;
    size_t i;
    json_t *e;
    json_array_foreach(prov, i, e)
    {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *src = json_string_value(json_object_get(e, "source"));
        if (!strcmp(key, "big_delay"))
            op = !strcmp(src, "operator") &&
                 !strcmp(json_string_value(json_object_get(e, "value")), "7200") &&
                 strstr(json_string_value(json_object_get(e, "actor")), "api:");
        if (!strcmp(key, "big_threshold")) cfg = !strcmp(src, "config");
    }
    if (!op || !cfg) fail_msg("provenance: %s", json_dumps(prov, 0));
    json_decref(lim_doc);
}

/* The verbs that create: a vault and an asset, through the node. */
static void test_admin_init_and_asset_add(void **state)
{
    (void)state;
    const char *init[] = {"init",           "gamma",   "--chain-id", "9", "--reason",
                          "new home chain", "--actor", "gus",        NULL};
    assert_int_equal(remote(NULL, init), 0);
    assert_int_equal(remote(NULL, init), 1); /* it exists now */
    const char *add[] = {
        "asset",      "add", "alpha",    "0x00000000000000000000000000000000000000aa",
        "--decimals", "6",   "--symbol", "TKZ",
        "--actor",    "gus", NULL};
    assert_int_equal(remote(NULL, add), 0);
    const char *list[] = {"list", "--json", NULL};
    char *out = NULL;
    assert_int_equal(nh_vaultctl(&W, 1, &out, list), 0);
    assert_non_null(strstr(out, "gamma"));
    free(out);
    const char *show[] = {"show", "alpha", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, show), 0);
    assert_non_null(strstr(out, "TKZ"));
    free(out);
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "asset_add") >= 1, 1);
    const char *jr[] = {"journal", "gamma", "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, jr), 0);
    assert_non_null(strstr(out, "api:gus"));
    free(out);
}

static json_t *event0(json_t *r)
{
    json_t *ev = json_object_get(r, "events");
    if (json_array_size(ev) != 1) fail_msg("expected one event: %s", json_dumps(r, 0));
    return json_array_get(ev, 0);
}

/* vaultctl through node 2 (its own port and token file). */
static int PORT2;
static char URL2[64], TOKEN_FILE2[NH_PATH + 32];

static int remote2(char **out, const char *const *args)
{
    const char *a[32] = {"--node", URL2, "--admin-token-file", TOKEN_FILE2};
    size_t n = 4;
    for (size_t i = 0; args[i] && n < 31; i++)
        a[n++] = args[i];
    a[n] = NULL;
    return nh_vaultctl(&W, 2, out, a);
}

static json_t *remote2_json(const char *const *args)
{
    char *out = NULL;
    int rc = remote2(&out, args);
    if (rc != 0) fail_msg("node 2: rc %d: %s", rc, out ? out : "");
    json_t *j = json_loads(out, 0, NULL);
    if (j == NULL) fail_msg("not JSON: %s", out);
    free(out);
    json_t *d = json_incref(json_object_get(j, "data"));
    if (!d) fail_msg("no data in the envelope");
    json_decref(j);
    return d;
}

/* Re-observe a transaction by hash through the node: one it applied is
 * "replayed" (nothing changes), one a node never read (it started past it)
 * is applied once, then replayed; the cursor is shown, rewound within its
 * bounds (journaled) and the re-read applies nothing twice. */
static void test_admin_reobserve_and_cursor(void **state)
{
    (void)state;
    bh_address w_tka_b;
    NH_OK(nh_wait_wrapped(&W, NH_B, NH_A, &W.tka, &w_tka_b, WAIT_MS));
    bh_u128 before = 0;
    NH_OK(nh_balance(&W, NH_B, &w_tka_b, &W.user, &before));
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(10), NH_B, &W.user, 0, NULL));
    char tx[67];
    snprintf(tx, sizeof tx, "%s", W.last_tx);
    uint64_t block = W.last_block;
    wait_delivered(NH_B, &w_tka_b, &W.user, before + nh_units(10), WAIT_MS, "the lock", NULL);
    json_t *show0 = nh_vault_show(&W, 1, "alpha");
    bh_u128 locked0 = 0, out0[NH_MAX_CHAINS + 1];
    NH_OK(nh_vault_amounts(show0, &W.tka, &locked0, out0));
    json_decref(show0);

    /* applied already: replayed, nothing done */
    const char *ro[] = {"reobserve", "alpha", tx, "--json", NULL};
    json_t *r = remote_json(ro);
    assert_int_equal(json_integer_value(json_object_get(r, "block")), (json_int_t)block);
    assert_string_equal(json_string_value(json_object_get(event0(r), "outcome")), "replayed");
    assert_string_equal(json_string_value(json_object_get(event0(r), "kind")), "lock");
    json_decref(r);
    /* refusals, named */
    char *err = NULL;
    const char *none[] = {"reobserve", "alpha",
                          "0x00000000000000000000000000000000000000000000000000000000000000ab",
                          NULL};
    assert_int_equal(remote(&err, none), 1);
    free(err);
    const char *badhex[] = {"reobserve", "alpha", "0x12", NULL};
    assert_int_equal(remote(NULL, badhex), 2);
    const char *nochain[] = {"reobserve", "omega", tx, "--json", NULL};
    char *env = NULL;
    assert_int_equal(remote(&env, nochain), 2); /* an argument naming nothing */
    assert_non_null(strstr(env, "\"unknown_chain\""));
    free(env);
    const char *local[] = {"reobserve", "alpha", tx, NULL};
    assert_int_equal(nh_vaultctl(&W, 1, NULL, local), 1); /* needs the running node */

    /* the cursor, and a rewind past the lock: nothing applied twice */
    const char *cs[] = {"cursor", "alpha", "--json", NULL};
    json_t *c = remote_json(cs);
    uint64_t cur = (uint64_t)json_integer_value(json_object_get(c, "cursor"));
    json_decref(c);
    assert_true(cur >= block);
    char to[32], ahead[32];
    snprintf(to, sizeof to, "%" PRIu64, block - 1);
    snprintf(ahead, sizeof ahead, "%" PRIu64, cur + 5);
    const char *noreason[] = {"cursor", "alpha", "rewind", to, NULL};
    assert_int_equal(remote(NULL, noreason), 2);
    const char *fwd[] = {"cursor", "alpha", "rewind", ahead, "--reason", "x", NULL};
    assert_int_equal(remote(NULL, fwd), 1);
    const char *far[] = {"cursor", "alpha", "rewind", "0", "--reason", "x", NULL};
    if (cur > 100000) assert_int_equal(remote(NULL, far), 1);
    long cursor_entries = nh_vault_journal_count(&W, 1, "alpha", "cursor");
    const char *rw[] = {"cursor",         "alpha",   "rewind", to,       "--reason",
                        "check the lock", "--actor", "fay",    "--json", NULL};
    json_t *m = remote_json(rw);
    assert_int_equal(json_integer_value(json_object_get(m, "to")), (json_int_t)(block - 1));
    json_decref(m);
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "cursor"), cursor_entries + 1);
    const char *jr[] = {"journal", "alpha", "--json", NULL};
    char *jt = NULL;
    assert_int_equal(nh_vaultctl(&W, 1, &jt, jr), 0);
    assert_non_null(strstr(jt, "api:fay"));
    assert_non_null(strstr(jt, "check the lock"));
    free(jt);
    const char *done[] = {"event=reread_done", "chain=alpha", NULL};
    expect_log(done, 1, WAIT_MS);
    nh_sleep_ms(1000);
    json_t *show1 = nh_vault_show(&W, 1, "alpha");
    bh_u128 locked1 = 0, out1[NH_MAX_CHAINS + 1];
    NH_OK(nh_vault_amounts(show1, &W.tka, &locked1, out1));
    json_decref(show1);
    assert_true(locked1 == locked0);
    assert_true(out1[W.ch[NH_B].bridge_id] == out0[W.ch[NH_B].bridge_id]);
    bh_u128 after = 0;
    NH_OK(nh_balance(&W, NH_B, &w_tka_b, &W.user, &after));
    assert_true(after == before + nh_units(10));

    /* node 2 (the same attester) starts past the lock: it never reads it;
     * re-observed, it is applied once, and a second time replayed */
    NH_OK(nh_node_prepare(&W, 2, 0, NULL));
    json_t *cfg = nh_node_config(&W, 2);
    edit(cfg);
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(cfg, "chains"), i, ch)
    {
        if (strcmp(json_string_value(json_object_get(ch, "name")), "alpha") == 0)
            json_object_set_new(ch, "start_block", json_integer((json_int_t)block + 1));
    }
    char p[NH_PATH + 32];
    snprintf(p, sizeof p, "%s/read.token", W.node[1].dir);
    FILE *f = fopen(p, "w");
    fputs(READ_TOKEN "\n", f);
    fclose(f);
    chmod(p, 0600);
    snprintf(TOKEN_FILE2, sizeof TOKEN_FILE2, "%s/admin.token", W.node[1].dir);
    f = fopen(TOKEN_FILE2, "w");
    fputs(ADMIN_TOKEN "\n", f);
    fclose(f);
    chmod(TOKEN_FILE2, 0600);
    NH_OK(nh_node_write_config(&W, 2, cfg));
    NH_OK(nh_node_start(&W, 2, WAIT_MS));
    NH_OK(nh_node_metrics_port(&W, 2, WAIT_MS, &PORT2));
    snprintf(URL2, sizeof URL2, "http://127.0.0.1:%d", PORT2);
    json_t *r2 = NULL;
    uint64_t end = nh_now_ms() + WAIT_MS;
    for (;;) { /* until node 2's watcher is up */
        char *o2 = NULL;
        int rc = remote2(&o2, ro);
        if (rc == 0) {
            json_t *e2env = json_loads(o2, 0, NULL);
            free(o2);
            r2 = json_incref(json_object_get(e2env, "data"));
            json_decref(e2env);
            break;
        }
        if (nh_now_ms() > end) fail_msg("node 2 reobserve: rc %d %s", rc, o2 ? o2 : "");
        free(o2);
        nh_sleep_ms(200);
    }
    assert_non_null(r2);
    json_t *e2 = event0(r2);
    assert_string_equal(json_string_value(json_object_get(e2, "outcome")), "applied");
    assert_string_equal(json_string_value(json_object_get(e2, "status")), "accepted");
    assert_string_equal(json_string_value(json_object_get(e2, "vault")), "alpha");
    json_decref(r2);
    json_t *show2 = nh_vault_show(&W, 2, "alpha");
    bh_u128 locked2 = 0, out2[NH_MAX_CHAINS + 1];
    NH_OK(nh_vault_amounts(show2, &W.tka, &locked2, out2));
    json_decref(show2);
    assert_true(locked2 == nh_units(10));
    r2 = remote2_json(ro);
    assert_string_equal(json_string_value(json_object_get(event0(r2), "outcome")), "replayed");
    json_decref(r2);
    show2 = nh_vault_show(&W, 2, "alpha");
    NH_OK(nh_vault_amounts(show2, &W.tka, &locked2, out2));
    json_decref(show2);
    assert_true(locked2 == nh_units(10));
    const char *reob[] = {"event=admin_action", "reobserve alpha", NULL};
    char *log2 = nh_node_log(&W, 2);
    assert_true(nh_log_count(log2, reob) >= 2);
    free(log2);
    assert_int_equal(nh_node_stop(&W, 2, WAIT_MS), 0);
}

/* REVIEW: a refused lock does not claim its replay key (vault.c apply_one:
 * "a refused message must not claim its replay key"), so bh_vault_taken
 * says "not taken" and every re-observe applies it again: a new reject
 * journal entry, the rejected counter, the event on /ws and, for the
 * evidence kinds (forged_lock, exceeds_outstanding, message_limit...),
 * node_observe again. "each Portal event to its vault once" does not hold. */
/* A refused lock: re-observed, it is decided again (the operator's retry,
 * journaled, never breaker evidence); a rewind's re-read over it decides
 * nothing again. */
static void test_admin_refused_lock_reobserved_and_reread(void **state)
{
    (void)state;
    const char *lim[] = {
        "limits", "alpha", "TKA", "min_amount=1000", "--reason", "an operator check", NULL};
    assert_int_equal(remote(NULL, lim), 0);
    long rej0 = nh_vault_journal_count(&W, 1, "alpha", "reject");
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_B, &W.user, 0, NULL));
    char tx[67];
    snprintf(tx, sizeof tx, "%s", W.last_tx);
    uint64_t block = W.last_block;
    uint64_t end = nh_now_ms() + WAIT_MS;
    while (nh_vault_journal_count(&W, 1, "alpha", "reject") < rej0 + 1) {
        if (nh_now_ms() > end) fail_msg("the small lock was never refused");
        nh_sleep_ms(200);
    }
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "reject"), rej0 + 1);
    const char *ro[] = {"reobserve", "alpha", tx, "--json", NULL};
    json_t *r = remote_json(ro);
    assert_string_equal(json_string_value(json_object_get(event0(r), "outcome")), "applied");
    assert_string_equal(json_string_value(json_object_get(event0(r), "status")), "rejected");
    assert_string_equal(json_string_value(json_object_get(event0(r), "reason")), "below_minimum");
    json_decref(r);
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "reject"), rej0 + 2);
    /* the re-read of a rewind over it: refused before, not decided again */
    const char *done[] = {"event=reread_done", "chain=alpha", NULL};
    size_t done0 = log_count(0, done);
    char to[32];
    snprintf(to, sizeof to, "%" PRIu64, block - 1);
    const char *rw[] = {"cursor", "alpha", "rewind", to, "--reason", "an operator check", NULL};
    assert_int_equal(remote(NULL, rw), 0);
    expect_log(done, done0 + 1, WAIT_MS);
    assert_int_equal(nh_vault_journal_count(&W, 1, "alpha", "reject"), rej0 + 2);
    const char *undo[] = {"limits", "alpha", "TKA", "min_amount=0", "--reason", "an operator check",
                          NULL};
    assert_int_equal(remote(NULL, undo), 0);
}

static json_t *cursor_of(const char *chain)
{
    const char *cs[] = {"cursor", chain, "--json", NULL};
    return remote_json(cs);
}

/* REVIEW: a rewind stores the cursor with has_seq=0 (serve_rewind), so the
 * watcher's sequence check starts over from whatever event it sees first.
 * When the re-read range holds no event, the node goes past the old cursor
 * with no expectation at all (next_sequence null), where a restart would
 * have kept it: a provider that omits the next lock(s) after a rewind is
 * not caught and those locks are skipped forever. */
static void test_admin_rewind_keeps_sequence_check(void **state)
{
    (void)state;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(2), NH_B, &W.user, 0, NULL));
    uint64_t block = W.last_block;
    json_t *c = NULL;
    uint64_t end = nh_now_ms() + WAIT_MS;
    for (;;) { /* the lock read and a few empty blocks after it */
        c = cursor_of("alpha");
        uint64_t cur = (uint64_t)json_integer_value(json_object_get(c, "cursor"));
        if (cur >= block + 2 && json_is_integer(json_object_get(c, "next_sequence"))) break;
        json_decref(c);
        if (nh_now_ms() > end) fail_msg("alpha's cursor never passed the lock");
        nh_sleep_ms(300);
    }
    uint64_t cur = (uint64_t)json_integer_value(json_object_get(c, "cursor"));
    json_int_t ns = json_integer_value(json_object_get(c, "next_sequence"));
    json_decref(c);
    char to[32];
    snprintf(to, sizeof to, "%" PRIu64, cur - 1); /* the block re-read holds no event */
    const char *rw[] = {"cursor", "alpha", "rewind", to, "--reason", "an operator check",
                        "--json", NULL};
    json_decref(remote_json(rw));
    end = nh_now_ms() + WAIT_MS;
    for (;;) {
        nh_sleep_ms(300);
        c = cursor_of("alpha");
        uint64_t now = (uint64_t)json_integer_value(json_object_get(c, "cursor"));
        if (now > cur + 1) break;
        json_decref(c);
        if (nh_now_ms() > end) fail_msg("alpha's cursor never passed the old cursor again");
    }
    json_t *nsj = json_object_get(c, "next_sequence");
    if (!json_is_integer(nsj) || json_integer_value(nsj) != ns)
        fail_msg("after a rewind of one empty block, alpha's cursor is past the old one with "
                 "next_sequence %s (it was %" JSON_INTEGER_FORMAT "): the sequence check has "
                 "nothing to hold the next event to",
                 json_is_null(nsj) ? "null" : "changed", ns);
    json_decref(c);
}

static void *reobserve_bg(void *arg)
{
    const char *tx = arg;
    const char *ro[] = {"reobserve", "alpha", tx, "--json", NULL};
    char *out = NULL;
    (void)remote(&out, ro);
    free(out);
    return NULL;
}

/* REVIEW: a request handed to a watcher that then stops is never answered
 * early: ask() re-checks stopping() only when req_cv is signalled or its
 * 25 s run out, and nothing signals req_cv on stop (wake_everyone does not
 * know it). The node's stop joins the admin thread (bh_http_stop) after
 * bh_node_run: SIGTERM takes up to 25 s while a reobserve waits. */
static void test_admin_stop_while_request_waits(void **state)
{
    (void)state;
    NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_B, &W.user, 0, NULL));
    static char tx[67];
    snprintf(tx, sizeof tx, "%s", W.last_tx);
    nh_sleep_ms(3000); /* read by alpha's watcher */
    uint64_t worst = 0;
    for (int k = 0; k < 4 && worst < 10000; k++) {
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, reobserve_bg, tx), 0);
        nh_sleep_ms(40 + 15 * k);
        uint64_t t0 = nh_now_ms();
        int st = nh_node_stop(&W, 1, 60000);
        uint64_t took = nh_now_ms() - t0;
        pthread_join(th, NULL);
        fprintf(stderr, "stop %d took %" PRIu64 " ms (status %d)\n", k, took, st);
        if (took > worst) worst = took;
        NH_OK(nh_node_start(&W, 1, WAIT_MS));
        NH_OK(nh_node_metrics_port(&W, 1, WAIT_MS, &PORT));
        snprintf(URL, sizeof URL, "http://127.0.0.1:%d", PORT);
        nh_sleep_ms(1500);
    }
    if (worst > 5000)
        fail_msg("a node stopping while a reobserve waited for its watcher took %" PRIu64
                 " ms to stop",
                 worst);
}

/* alpha's flow spike: 4 events in a minute against a calm baseline */
static void spike_at_4(json_t *cfg)
{
    json_t *b = json_object_get(cfg, "breaker");
    if (!b) {
        b = json_object();
        json_object_set_new(cfg, "breaker", b);
    }
    json_object_set_new(b, "spike",
                        json_pack("{s:b, s:i, s:i}", "enabled", 1, "factor", 10, "min_per_min", 4));
}

/* REVIEW: store_events adds every event of a poll to c->flow, those of a
 * rewound cursor's re-read too (node_watch.c: atomic_fetch_add(&c->flow,
 * cnt) after the replayed events were handed to node_vault_reobserved).
 * The breaker's flow-spike tracker sees each re-read event a second time:
 * 3 locks (below a spike at 4/min), then a rewind past them, and alpha's
 * lanes are tightened (limits_tightened, journaled as actor "breaker"). A
 * rewind of many blocks does it under the default config (60/min). */
static void test_admin_rewind_no_flow_spike(void **state)
{
    (void)state;
    restart_with(spike_at_4);
    nh_sleep_ms(2000);
    const char *cs[] = {"cursor", "alpha", "--json", NULL};
    json_t *c0 = remote_json(cs);
    uint64_t start = (uint64_t)json_integer_value(json_object_get(c0, "cursor"));
    json_decref(c0);
    uint64_t last = 0;
    for (int k = 0; k < 3; k++) {
        NH_OK(nh_lock(&W, NH_A, &W.tka, nh_units(1), NH_B, &W.user, 0, NULL));
        last = W.last_block;
    }
    uint64_t end = nh_now_ms() + WAIT_MS;
    for (;;) {
        json_t *c = remote_json(cs);
        uint64_t cur = (uint64_t)json_integer_value(json_object_get(c, "cursor"));
        json_decref(c);
        if (cur > last) break;
        if (nh_now_ms() > end) fail_msg("alpha's cursor never passed the locks");
        nh_sleep_ms(200);
    }
    nh_sleep_ms(1000);
    const char *tight[] = {"event=limits_tightened", "chain=alpha", NULL};
    char *log = nh_node_log(&W, 1);
    size_t before = nh_log_count(log, tight);
    free(log);
    if (before) fail_msg("the 3 locks alone tightened alpha's limits: the test is not set right");
    char to[32];
    snprintf(to, sizeof to, "%" PRIu64, start);
    const char *rw[] = {"cursor", "alpha", "rewind", to, "--reason", "an operator check",
                        "--json", NULL};
    json_decref(remote_json(rw));
    const char *done[] = {"event=reread_done", "chain=alpha", NULL};
    end = nh_now_ms() + WAIT_MS;
    for (;;) {
        log = nh_node_log(&W, 1);
        size_t d = nh_log_count(log, done);
        free(log);
        if (d) break;
        if (nh_now_ms() > end) fail_msg("no reread_done");
        nh_sleep_ms(200);
    }
    nh_sleep_ms(1500); /* a few control ticks */
    log = nh_node_log(&W, 1);
    size_t after = nh_log_count(log, tight);
    free(log);
    if (after)
        fail_msg("a rewind over 3 locks (read once each) tightened alpha's limits as a flow "
                 "spike: the re-read counted into the breaker's flow");
}

/* alpha's TKA bucket from beta, configured; any flow from beta spikes
 * (baseline 0) and puts it at 25% until a restart or an hour of calm. */
static void spike_from_beta(json_t *cfg)
{
    cfg_set_limit(cfg, NH_A, "TKA", "in_capacity.2", "1000000000000000000000");
    cfg_set_limit(cfg, NH_A, "TKA", "in_refill.2", "1000000000000000000");
    json_object_set_new(cfg, "breaker",
                        json_pack("{s:{s:b,s:i,s:i,s:i,s:i}}", "spike", "enabled", 1, "min_per_min",
                                  1, "factor", 2, "tighten_percent", 25, "relax_after_s", 3600));
}

static bh_vault_lane alpha_tka_from_beta(void)
{
    bh_vault *v = NULL;
    char why[256];
    bh_vault_opts o = {.read_only = 1};
    if (bh_vault_open(&v, W.node[0].data_dir, "alpha", &o, why, sizeof why) != BH_OK)
        fail_msg("open vault alpha: %s", why);
    bh_bytes32 t = {{0}};
    memcpy(t.data + 12, W.tka.data, 20);
    bh_vault_lane l;
    if (bh_vault_lane_get(v, &l, &t, 2) != BH_OK) fail_msg("alpha: no TKA lane to beta");
    bh_vault_close(v);
    return l;
}

/* An outsider's flow from beta (one chain, a few transfers) spikes and
 * tightens alpha's bucket from beta; the operator, through the node, sets
 * it lower still. The spike's relax (here a restart; after calm the same
 * code) puts back the size from before the spike over the operator's
 * value: the operator's tightening is gone, journaled as actor
 * "breaker", and the config (unchanged) does not bring it back. */
static void test_admin_operator_limit_survives_spike_relax(void **state)
{
    (void)state;
    restart_with(spike_from_beta);
    NH_OK(nh_lock(&W, NH_B, &W.tkb, nh_units(1), NH_A, &W.user, 0, NULL));
    const char *spiked[] = {"event=limits_tightened", "chain=beta", NULL};
    NH_OK(nh_log_wait(&W, 1, spiked, 1, WAIT_MS));
    bh_vault_lane l = alpha_tka_from_beta();
    if (l.in.capacity != nh_units(250))
        fail_msg("in_capacity.2 after the spike: %s, expected 250 TKA", nh_u128_str(l.in.capacity));
    const char *tight[] = {"limits",   "alpha",    "TKA", "in_capacity.2=5",
                           "--reason", "incident", NULL};
    assert_int_equal(remote(NULL, tight), 0);
    l = alpha_tka_from_beta();
    assert_true(l.in.capacity == nh_units(5));
    restart_with(spike_from_beta);
    nh_sleep_ms(2000); /* the node's start: relax, config, a few control ticks */
    l = alpha_tka_from_beta();
    if (l.in.capacity != nh_units(5))
        fail_msg("the operator's in_capacity.2=5 TKA (set while beta's spike held the lane) is %s "
                 "after the spike relaxed: the breaker put back its pre-spike size",
                 nh_u128_str(l.in.capacity));
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
        cmocka_unit_test(test_admin_reobserve_and_cursor),
        cmocka_unit_test(test_admin_init_and_asset_add),
        cmocka_unit_test(test_admin_refused_lock_reobserved_and_reread),
        cmocka_unit_test(test_admin_rewind_keeps_sequence_check),
        cmocka_unit_test(test_admin_stop_while_request_waits),
        cmocka_unit_test(test_admin_rewind_no_flow_spike),
        cmocka_unit_test(test_admin_operator_limit_survives_spike_relax),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
