/* The node's config: every refusal names its JSON path and a fix, values
 * and defaults land where the node reads them, keys are read safely and
 * wiped, `bulkhead check` and the README agree with the key table, and
 * the example configs stay valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>

#include "bh_config.h"
#include "bh_test.h"
#include "bh_test_proc.h"

/* Three valid keys (32 bytes of 0x11, 0x22, 0x33): patterns nothing else has. */
#define KEY_A "1111111111111111111111111111111111111111111111111111111111111111"
#define KEY_B "2222222222222222222222222222222222222222222222222222222222222222"
#define KEY_C "3333333333333333333333333333333333333333333333333333333333333333"

static char *bin;
static char dir[] = "/tmp/bh-config-XXXXXX";
static char err[1024];
static bh_proc_result res;

/* free is wrapped (see tests/unit/CMakeLists.txt): when the watched block
 * is freed, the test learns whether any key bytes were still in it. */
void *__real_free(void *p);
void __wrap_free(void *p);
static const void *watch;
static size_t watch_len;
static int watch_freed, watch_had_key;
static unsigned char watch_key[32];

void __wrap_free(void *p)
{
    if (p && p == watch) {
        watch_freed = 1;
        watch_had_key = memmem(p, watch_len, watch_key, sizeof watch_key) != NULL;
        watch = NULL;
    }
    __real_free(p);
}

/* A valid config: alpha has two endpoints and an asset with a lane limit. */
static const char k_base[] =
    "{\"node\": {\"name\": \"node-1\", \"data_dir\": \"data\", \"attester_key_file\": \"att.key\","
    "           \"tx_key_file\": \"tx.key\"},"
    " \"chains\": ["
    "  {\"name\": \"alpha\", \"bridge_id\": 1, \"evm_chain_id\": 31337,"
    "   \"endpoints\": [\"http://127.0.0.1:8545\", \"http://127.0.0.1:9545\"],"
    "   \"portal\": \"0x5FbDB2315678afecb367f032d93F642f64180aa3\","
    "   \"assets\": [{\"token\": \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\", \"symbol\": "
    "\"TKA\","
    "                \"decimals\": 18, \"limits\": {\"cap.2\": \"1000\"}}]},"
    "  {\"name\": \"beta\", \"bridge_id\": 2, \"evm_chain_id\": 31338,"
    "   \"endpoints\": [\"http://127.0.0.1:8546\"],"
    "   \"portal\": \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"},"
    "  {\"name\": \"gamma\", \"bridge_id\": 3, \"evm_chain_id\": 31339,"
    "   \"endpoints\": [\"http://127.0.0.1:8547\"],"
    "   \"portal\": \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"}],"
    " \"metrics\": {\"port\": 9100}}";

/* ---- helpers ---- */

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) fail_msg("cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* dir/rel, with the parent directories made. */
static const char *in_dir(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", dir, rel);
    for (char *s = out + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(out, 0700);
        *s = '/';
    }
    return out;
}

static void key_file(const char *rel, const char *text, mode_t mode)
{
    char path[512];
    write_file(in_dir(path, sizeof path, rel), text, mode);
}

static json_t *cfg_base(void)
{
    json_error_t je;
    json_t *j = json_loads(k_base, JSON_REJECT_DUPLICATES, &je);
    if (!j) fail_msg("k_base: %s", je.text);
    return j;
}

/* Sets the value at a concrete path ("$.chains[1].quorum"); v is stolen,
 * NULL deletes. Missing objects on the way are made. */
static json_t *with(json_t *root, const char *path, json_t *v)
{
    assert_true(path[0] == '$');
    const char *s = path + 1;
    json_t *cur = root;
    for (;;) {
        char key[64] = "";
        long idx = -1;
        if (*s == '.') {
            size_t n = strcspn(s + 1, ".[");
            assert_true(n < sizeof key);
            memcpy(key, s + 1, n);
            key[n] = '\0';
            s += 1 + n;
        } else if (*s == '[') {
            idx = strtol(s + 1, (char **)&s, 10);
            assert_true(*s == ']');
            s++;
        } else {
            fail_msg("bad test path %s", path);
        }
        if (!*s) {
            if (idx >= 0 && v)
                assert_int_equal(json_array_set_new(cur, (size_t)idx, v), 0);
            else if (idx >= 0)
                assert_int_equal(json_array_remove(cur, (size_t)idx), 0);
            else if (v)
                assert_int_equal(json_object_set_new(cur, key, v), 0);
            else
                assert_int_equal(json_object_del(cur, key), 0);
            return root;
        }
        json_t *next = idx >= 0 ? json_array_get(cur, (size_t)idx) : json_object_get(cur, key);
        if (!next) {
            assert_true(idx < 0);
            next = json_object();
            json_object_set_new(cur, key, next);
        }
        cur = next;
    }
}

static int parse_json(json_t *j, bh_config **out)
{
    char *text = json_dumps(j, 0);
    assert_non_null(text);
    int rc = bh_config_parse(out, err, sizeof err, text, strlen(text), dir);
    free(text);
    return rc;
}

/* Parses j (consumed); the config must be accepted. */
static bh_config *accept_cfg(json_t *j)
{
    bh_config *c = NULL;
    int rc = parse_json(j, &c);
    json_decref(j);
    if (rc != BH_OK) fail_msg("refused (%d): %s", rc, err);
    assert_string_equal(err, "");
    return c;
}

static void accept_and_drop(json_t *j)
{
    bh_config_destroy(accept_cfg(j));
}

/* Parses j (consumed); it must be refused with rc, err starting with
 * "<path>: " and holding the fix text. */
static void refuse(json_t *j, int want, const char *path, const char *fix)
{
    bh_config *c = (bh_config *)&c;
    int rc = parse_json(j, &c);
    json_decref(j);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s: ", path);
    if (rc != want || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, fix))
        fail_msg("want %d \"%s...%s\", got %d \"%s\"", want, prefix, fix, rc, err);
    assert_null(c);
}

/* A table path as a concrete one: the first of every array. */
static void concrete(char *out, size_t cap, const char *pattern)
{
    size_t n = 0;
    for (const char *s = pattern; *s && n + 2 < cap; s++) {
        out[n++] = *s;
        if (s[0] == '[' && s[1] == ']') out[n++] = '0';
    }
    out[n] = '\0';
}

static const bh_config_key *key_rows(size_t *n)
{
    const bh_config_key *k = bh_config_keys(n);
    assert_non_null(k);
    assert_true(*n > 40);
    return k;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    key_file("att.key", KEY_A "\n", 0600);
    key_file("tx.key", KEY_B, 0600);
    key_file("chain-tx.key", "0x" KEY_C "\n", 0400);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s; rm -rf %s", dir, dir);
    return system(cmd);
}

/* ---- values and defaults ---- */

static const char k_full[] =
    "{\"node\": {\"name\": \"relay_eu-1\", \"data_dir\": \"/var/lib/bulkhead\", \"log_level\": "
    "\"debug\","
    "  \"log_file\": \"/var/log/bulkhead.log\", \"attester_key_file\": \"att.key\","
    "  \"signer_set_index\": 7, \"signer_index\": 2, \"tx_key_file\": \"tx.key\","
    "  \"poll_ms\": 250, \"batch_max\": 512, \"queue_max\": 10000},"
    " \"chains\": ["
    "  {\"name\": \"alpha\", \"bridge_id\": 10, \"evm_chain_id\": 1,"
    "   \"endpoints\": [\"https://a.example/v1\", \"https://b.example\", "
    "\"http://10.0.0.1:8545\"],"
    "   \"quorum\": 2, \"confirmations\": 12,"
    "   \"portal\": \"0x5FbDB2315678afecb367f032d93F642f64180aa3\","
    "   \"start_block\": 19000000, \"max_range\": 500, \"rpc_timeout_ms\": 3000, "
    "\"rpc_retries\": 4,"
    "   \"gas_cap\": 2000000, \"max_fee_gwei\": 300, \"max_lag_blocks\": 128, \"msg_limit\": "
    "5000,"
    "   \"tx_key_file\": \"chain-tx.key\","
    "   \"assets\": ["
    "    {\"token\": \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\", \"symbol\": \"USDC\", "
    "\"decimals\": 6,"
    "     \"limits\": {\"big_threshold\": \"1000000000000\", \"big_delay\": 3600,"
    "       \"cap.20\": \"340282366920938463463374607431768211455\", \"window.20\": 5,"
    "       \"in_capacity.20\": \"7\", \"in_refill.20\": \"8\", \"out_capacity.20\": \"9\","
    "       \"out_refill.20\": \"10\"}},"
    "    {\"token\": \"0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0\", \"symbol\": \"WETH\", "
    "\"decimals\": 18}]},"
    "  {\"name\": \"beta\", \"bridge_id\": 20, \"evm_chain_id\": 10,"
    "   \"endpoints\": [\"http://127.0.0.1:8546\"],"
    "   \"portal\": \"0x9FE46736679D2D9A65F0992F2272DE9F3C7FA6E0\"}],"
    " \"breaker\": {\"window_s\": 120, \"equivocation\": 2, \"forged_lock\": 3,"
    "  \"exceeds_outstanding\": 4, \"bad_signature\": 5, \"rate_limited\": 6, \"disagreement\": 7,"
    "  \"spike\": {\"enabled\": false, \"factor\": 4, \"min_per_min\": 30, \"tighten_percent\": "
    "50,"
    "             \"relax_after_s\": 900}}}";

static void assert_key(const bh_seckey *k, const char *hex)
{
    unsigned char want[32];
    bh_test_unhex(want, sizeof want, hex);
    assert_memory_equal(k->data, want, 32);
}

static void assert_addr(const bh_address *a, const char *hex)
{
    unsigned char want[20];
    bh_test_unhex(want, sizeof want, hex);
    assert_memory_equal(a->data, want, 20);
}

static void test_relayer_config_full_values(void **state)
{
    (void)state;
    bh_config *c = NULL;
    assert_int_equal(bh_config_parse(&c, err, sizeof err, k_full, strlen(k_full), dir), BH_OK);
    assert_string_equal(err, "");
    assert_string_equal(c->name, "relay_eu-1");
    assert_string_equal(c->data_dir, "/var/lib/bulkhead");
    assert_int_equal(c->log_level, BH_LOG_DEBUG);
    assert_string_equal(c->log_file, "/var/log/bulkhead.log");
    assert_key(&c->attester_key, KEY_A);
    assert_int_equal(c->signer_set_index, 7);
    assert_int_equal(c->signer_index, 2);
    assert_int_equal(c->poll_ms, 250);
    assert_int_equal(c->batch_max, 512);
    assert_int_equal(c->queue_max, 10000);
    assert_int_equal(c->n_chains, 2);

    const bh_config_chain *a = &c->chains[0];
    assert_string_equal(a->name, "alpha");
    assert_int_equal(a->bridge_id, 10);
    assert_int_equal(a->evm_chain_id, 1);
    assert_int_equal(a->n_endpoints, 3);
    assert_string_equal(a->endpoints[0], "https://a.example/v1");
    assert_string_equal(a->endpoints[1], "https://b.example");
    assert_string_equal(a->endpoints[2], "http://10.0.0.1:8545");
    assert_null(a->endpoints[3]);
    assert_int_equal(a->quorum, 2);
    assert_int_equal(a->confirmations, 12);
    assert_addr(&a->portal, "5fbdb2315678afecb367f032d93f642f64180aa3");
    assert_int_equal(a->start_block, 19000000);
    assert_int_equal(a->max_range, 500);
    assert_int_equal(a->rpc_timeout_ms, 3000);
    assert_int_equal(a->rpc_retries, 4);
    assert_int_equal(a->gas_cap, 2000000);
    assert_int_equal(a->max_fee_gwei, 300);
    assert_int_equal(a->max_lag_blocks, 128);
    assert_int_equal(a->msg_limit, 5000);
    assert_true(a->has_tx_key);
    assert_key(&a->tx_key, KEY_C); /* its own, over the node's */
    assert_int_equal(a->n_assets, 2);
    const bh_config_asset *u = &a->assets[0];
    assert_addr(&u->token, "e7f1725e7734ce288f8367e1bb143e90bb3f0512");
    assert_string_equal(u->symbol, "USDC");
    assert_int_equal(u->decimals, 6);
    static const struct {
        const char *key;
        bh_u128 value;
    } lim[] = {{"big_threshold", 1000000000000},
               {"big_delay", 3600},
               {"cap.20", BH_U128_MAX},
               {"window.20", 5},
               {"in_capacity.20", 7},
               {"in_refill.20", 8},
               {"out_capacity.20", 9},
               {"out_refill.20", 10}};
    assert_int_equal(u->n_limits, sizeof lim / sizeof lim[0]);
    for (size_t i = 0; i < u->n_limits; i++) {
        assert_string_equal(u->limits[i].key, lim[i].key);
        assert_true(u->limits[i].value == lim[i].value);
    }
    assert_addr(&a->assets[1].token, "9fe46736679d2d9a65f0992f2272de9f3c7fa6e0");
    assert_string_equal(a->assets[1].symbol, "WETH");
    assert_int_equal(a->assets[1].decimals, 18);
    assert_int_equal(a->assets[1].n_limits, 0);

    const bh_config_chain *b = &c->chains[1];
    assert_string_equal(b->name, "beta");
    assert_int_equal(b->bridge_id, 20);
    assert_int_equal(b->evm_chain_id, 10);
    assert_int_equal(b->quorum, 1);
    assert_addr(&b->portal, "9fe46736679d2d9a65f0992f2272de9f3c7fa6e0");
    assert_true(b->has_tx_key);
    assert_key(&b->tx_key, KEY_B); /* the node's */
    assert_int_equal(b->n_assets, 0);

    const bh_config_breaker *br = &c->breaker;
    assert_int_equal(br->window_s, 120);
    assert_int_equal(br->equivocation, 2);
    assert_int_equal(br->forged_lock, 3);
    assert_int_equal(br->exceeds_outstanding, 4);
    assert_int_equal(br->bad_signature, 5);
    assert_int_equal(br->rate_limited, 6);
    assert_int_equal(br->disagreement, 7);
    assert_int_equal(br->spike_enabled, 0);
    assert_int_equal(br->spike_factor, 4);
    assert_int_equal(br->spike_min_per_min, 30);
    assert_int_equal(br->spike_tighten_percent, 50);
    assert_int_equal(br->spike_relax_after_s, 900);

    assert_ptr_equal(bh_config_chain_by_id(c, 20), b);
    assert_ptr_equal(bh_config_chain_by_name(c, "alpha"), a);
    assert_null(bh_config_chain_by_id(c, 11));
    assert_null(bh_config_chain_by_name(c, "gamma"));
    assert_null(bh_config_chain_by_name(c, NULL));
    bh_config_destroy(c);
}

static void test_relayer_config_defaults(void **state)
{
    (void)state;
    bh_config *c = accept_cfg(cfg_base());
    char want[600];
    snprintf(want, sizeof want, "%s/data", dir);
    assert_string_equal(c->data_dir, want);
    assert_int_equal(c->log_level, BH_LOG_INFO);
    assert_string_equal(c->log_file, "");
    assert_int_equal(c->signer_set_index, 0);
    assert_int_equal(c->signer_index, 0);
    assert_int_equal(c->poll_ms, 500);
    assert_int_equal(c->batch_max, 256);
    assert_int_equal(c->queue_max, 4096);
    assert_int_equal(c->n_chains, 3);
    const bh_config_chain *a = &c->chains[0];
    assert_int_equal(a->quorum, 2); /* every endpoint */
    assert_int_equal(c->chains[1].quorum, 1);
    assert_int_equal(a->confirmations, 0);
    assert_int_equal(a->start_block, 0);
    assert_int_equal(a->max_range, 2000);
    assert_int_equal(a->rpc_timeout_ms, 10000);
    assert_int_equal(a->rpc_retries, 2);
    assert_int_equal(a->gas_cap, 10000000);
    assert_int_equal(a->max_fee_gwei, 1000);
    assert_int_equal(a->max_lag_blocks, 64);
    assert_int_equal(a->msg_limit, 100000);
    for (size_t i = 0; i < 3; i++)
        assert_key(&c->chains[i].tx_key, KEY_B);
    const bh_config_breaker *br = &c->breaker;
    assert_int_equal(br->window_s, 60);
    assert_int_equal(br->equivocation, 1);
    assert_int_equal(br->forged_lock, 1);
    assert_int_equal(br->exceeds_outstanding, 1);
    assert_int_equal(br->bad_signature, 3);
    assert_int_equal(br->rate_limited, 0);
    assert_int_equal(br->disagreement, 0);
    assert_int_equal(br->stall_s, 300);
    assert_int_equal(c->park_after, 5);
    assert_int_equal(br->spike_enabled, 1);
    assert_int_equal(br->spike_factor, 10);
    assert_int_equal(br->spike_min_per_min, 60);
    assert_int_equal(br->spike_tighten_percent, 25);
    assert_int_equal(br->spike_relax_after_s, 600);
    bh_config_destroy(c);

    /* a partial breaker keeps the other defaults */
    c = accept_cfg(with(cfg_base(), "$.breaker.spike.factor", json_integer(3)));
    assert_int_equal(c->breaker.spike_factor, 3);
    assert_int_equal(c->breaker.spike_relax_after_s, 600);
    assert_int_equal(c->breaker.window_s, 60);
    bh_config_destroy(c);

    assert_string_equal(bh_log_level_name(BH_LOG_DEBUG), "debug");
    assert_string_equal(bh_log_level_name(BH_LOG_INFO), "info");
    assert_string_equal(bh_log_level_name(BH_LOG_WARN), "warn");
    assert_string_equal(bh_log_level_name(BH_LOG_ERROR), "error");
    assert_string_equal(bh_log_level_name((bh_log_level)9), "unknown");
}

static void test_relayer_config_relative_paths(void **state)
{
    (void)state;
    char path[600], want[600];
    key_file("conf/keys/a.key", KEY_A, 0600);
    json_t *j = cfg_base();
    with(j, "$.node.data_dir", json_string("../state/./db/"));
    with(j, "$.node.log_file", json_string("logs//node.log"));
    with(j, "$.node.attester_key_file", json_string("keys/a.key"));
    with(j, "$.node.tx_key_file", json_string("../tx.key"));
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    write_file(in_dir(path, sizeof path, "conf/node.json"), text, 0644);
    free(text);

    bh_config *c;
    assert_int_equal(bh_config_load(&c, err, sizeof err, path), BH_OK);
    snprintf(want, sizeof want, "%s/state/db", dir);
    assert_string_equal(c->data_dir, want);
    snprintf(want, sizeof want, "%s/conf/logs/node.log", dir);
    assert_string_equal(c->log_file, want);
    assert_key(&c->attester_key, KEY_A);
    assert_key(&c->chains[0].tx_key, KEY_B);
    bh_config_destroy(c);

    /* the same file through a relative path */
    char cwd[600];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    int rc = bh_config_load(&c, err, sizeof err, "conf/../conf/node.json");
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, BH_OK);
    snprintf(want, sizeof want, "%s/state/db", dir);
    assert_string_equal(c->data_dir, want);
    bh_config_destroy(c);

    /* an absolute path stays, cleaned */
    c = accept_cfg(with(cfg_base(), "$.node.data_dir", json_string("/srv//bh/../bulkhead/")));
    assert_string_equal(c->data_dir, "/srv/bulkhead");
    bh_config_destroy(c);

    /* bh_config_parse with no base_dir: the working directory */
    assert_int_equal(chdir(dir), 0);
    rc = bh_config_parse(&c, err, sizeof err, k_base, strlen(k_base), NULL);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, BH_OK);
    snprintf(want, sizeof want, "%s/data", dir);
    assert_string_equal(c->data_dir, want);
    bh_config_destroy(c);

    char longp[BH_CONFIG_PATH_MAX + 10];
    memset(longp, 'd', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    refuse(with(cfg_base(), "$.node.data_dir", json_string(longp)), BH_ECONFIG, "$.node.data_dir",
           "shorten it");
    refuse(with(cfg_base(), "$.node.data_dir", json_string("")), BH_ECONFIG, "$.node.data_dir",
           "give a directory");
}

/* ---- refusals driven by the key table ---- */

static void test_relayer_config_every_key_type_checked(void **state)
{
    (void)state;
    size_t n;
    const bh_config_key *k = key_rows(&n);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(k[i].type, "amount")) continue; /* limits: their own test */
        char path[128];
        concrete(path, sizeof path, k[i].path);
        json_t *bad;
        const char *fix;
        if (!strcmp(k[i].type, "integer")) {
            bad = json_string("12");
            fix = "write the number without quotes";
        } else if (!strcmp(k[i].type, "boolean")) {
            bad = json_string("true");
            fix = "write true or false without quotes";
        } else if (!strcmp(k[i].type, "array")) {
            bad = json_object();
            fix = "write it as [ ... ]";
        } else if (!strcmp(k[i].type, "object")) {
            bad = json_array();
            fix = "write it as { ... }";
        } else {
            assert_true(!strcmp(k[i].type, "string") || !strcmp(k[i].type, "address"));
            bad = json_integer(1);
            fix = "put the value in double quotes";
        }
        refuse(with(cfg_base(), path, bad), BH_ECONFIG, path, fix);
    }
    /* a fraction is no integer, null is no string */
    refuse(with(cfg_base(), "$.node.poll_ms", json_real(500.5)), BH_ECONFIG, "$.node.poll_ms",
           "write a whole number");
    refuse(with(cfg_base(), "$.chains[1].name", json_null()), BH_ECONFIG, "$.chains[1].name",
           "double quotes");
    refuse(with(cfg_base(), "$.chains[1]", json_string("beta")), BH_ECONFIG, "$.chains[1]",
           "expected an object");
    refuse(with(cfg_base(), "$.chains[0].assets[0]", json_integer(1)), BH_ECONFIG,
           "$.chains[0].assets[0]", "expected an object");
}

static void test_relayer_config_every_required_key(void **state)
{
    (void)state;
    size_t n, required = 0;
    const bh_config_key *k = key_rows(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(k[i].deflt, "required") != 0) continue;
        char path[128];
        concrete(path, sizeof path, k[i].path);
        refuse(with(cfg_base(), path, NULL), BH_ECONFIG, path, "required key is missing; add it");
        required++;
    }
    assert_true(required >= 10);
    /* one of a pair: the attestation key */
    json_t *j = with(cfg_base(), "$.node.attester_key_file", NULL);
    refuse(j, BH_ECONFIG, "$.node.attester_key_file", "or attester_key_env");
}

static void test_relayer_config_every_bound(void **state)
{
    (void)state;
    size_t n, checked = 0;
    const bh_config_key *k = key_rows(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(k[i].type, "integer") != 0) continue;
        unsigned long long lo, hi = 0;
        int has_hi = sscanf(k[i].bounds, "%llu..%llu", &lo, &hi) == 2;
        if (!has_hi) assert_int_equal(sscanf(k[i].bounds, ">= %llu", &lo), 1);
        char path[128], fix[64];
        concrete(path, sizeof path, k[i].path);
        snprintf(fix, sizeof fix, "is out of bounds; use %s", k[i].bounds);
        if (has_hi)
            refuse(with(cfg_base(), path, json_integer((json_int_t)hi + 1)), BH_ECONFIG, path, fix);
        refuse(with(cfg_base(), path, json_integer((json_int_t)lo - 1)), BH_ECONFIG, path, fix);
        accept_and_drop(with(cfg_base(), path, json_integer((json_int_t)lo)));
        /* more than the base's endpoints is the quorum test's */
        if (has_hi && strcmp(path, "$.chains[0].quorum") != 0)
            accept_and_drop(with(cfg_base(), path, json_integer((json_int_t)hi)));
        checked++;
    }
    assert_true(checked >= 25);
    /* the values the node sees at the edges */
    json_t *j = cfg_base();
    with(j, "$.node.signer_index", json_integer(254));
    with(j, "$.node.signer_set_index", json_integer(UINT32_MAX));
    with(j, "$.chains[0].evm_chain_id", json_integer(INT64_MAX));
    with(j, "$.chains[0].assets[0].decimals", json_integer(38));
    bh_config *c = accept_cfg(j);
    assert_int_equal(c->signer_index, 254);
    assert_int_equal(c->signer_set_index, UINT32_MAX);
    assert_true(c->chains[0].evm_chain_id == (uint64_t)INT64_MAX);
    assert_int_equal(c->chains[0].assets[0].decimals, 38);
    bh_config_destroy(c);
    refuse(with(cfg_base(), "$.node.signer_index", json_integer(255)), BH_ECONFIG,
           "$.node.signer_index", "use 0..254");
    refuse(with(cfg_base(), "$.chains[0].assets[0].decimals", json_integer(39)), BH_ECONFIG,
           "$.chains[0].assets[0].decimals", "use 0..38");
}

/* ---- refusals, one by one ---- */

static void test_relayer_config_unknown_keys(void **state)
{
    (void)state;
    static const struct {
        const char *path, *fix;
    } typos[] = {
        {"$.nodes", "did you mean node?"},
        {"$.node.pol_ms", "did you mean poll_ms?"},
        {"$.node.attester_key_fle", "did you mean attester_key_file?"},
        {"$.chains[1].qorum", "did you mean quorum?"},
        {"$.chains[0].endpoint", "did you mean endpoints?"},
        {"$.chains[0].assets[0].decimal", "did you mean decimals?"},
        {"$.breaker.windows", "did you mean window_s?"},
        {"$.breaker.spike.enable", "did you mean enabled?"},
        {"$.node.colour", "remove it (valid here: name, data_dir, log_level"},
        {"$.breaker.spike.x", "remove it (valid here: enabled, factor, min_per_min"},
        {"$.chains[0].assets[0].limits.cap", "is no limit key"},
    };
    for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++)
        refuse(with(cfg_base(), typos[i].path, json_integer(1)), BH_ECONFIG, typos[i].path,
               typos[i].fix);
    /* a key that is no identifier is shown in brackets, quoted */
    json_t *j = cfg_base();
    json_object_set_new(json_object_get(j, "node"), "log level", json_string("info"));
    refuse(j, BH_ECONFIG, "$.node[\"log level\"]", "unknown key; did you mean log_level?");
    j = cfg_base();
    json_object_set_new(j, "x\"y", json_true());
    refuse(j, BH_ECONFIG, "$[\"x\\\"y\"]", "valid here: node, chains, breaker");
}

static void test_relayer_config_not_json(void **state)
{
    (void)state;
    char path[600];
    bh_config *c = (bh_config *)&c;
    write_file(in_dir(path, sizeof path, "bad.json"), "{\"node\": {\n  \"name\": \"n\",\n  }\n}\n",
               0644);
    assert_int_equal(bh_config_load(&c, err, sizeof err, path), BH_ECONFIG);
    assert_null(c);
    char want[700];
    snprintf(want, sizeof want, "%s: line 3 column 3: ", path);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("got %s", err);

    write_file(path, "{\"node\": {}, \"node\": {}}", 0644);
    assert_int_equal(bh_config_load(&c, err, sizeof err, path), BH_ECONFIG);
    assert_non_null(strstr(err, "duplicate object key"));
    assert_true(strncmp(err, path, strlen(path)) == 0);

    snprintf(path, sizeof path, "%s/absent.json", dir);
    assert_int_equal(bh_config_load(&c, err, sizeof err, path), BH_ECONFIG);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory; check the path", path);
    assert_string_equal(err, want);

    assert_int_equal(bh_config_parse(&c, err, sizeof err, "[1]", 3, dir), BH_ECONFIG);
    assert_string_equal(err, "$: got an array, expected an object; the config is one object "
                             "with node, chains and breaker");
    assert_int_equal(bh_config_parse(&c, err, sizeof err, "", 0, dir), BH_ECONFIG);
    assert_true(strncmp(err, "config: line 1", 14) == 0);
    assert_int_equal(bh_config_parse(&c, err, sizeof err, "{} x", 4, dir), BH_ECONFIG);
    assert_true(strncmp(err, "config: line 1 column 4", 23) == 0);
    assert_null(c);

    /* err is cut to its capacity; no err at all is fine too */
    char small[8];
    assert_int_equal(bh_config_parse(&c, small, sizeof small, "[1]", 3, dir), BH_ECONFIG);
    assert_string_equal(small, "$: got ");
    assert_int_equal(bh_config_parse(&c, NULL, 0, "[1]", 3, dir), BH_ECONFIG);
    assert_int_equal(bh_config_parse(NULL, err, sizeof err, "{}", 2, dir), BH_EINVAL);
}

static void test_relayer_config_quorum(void **state)
{
    (void)state;
    json_t *j = cfg_base();
    json_array_append_new(
        json_object_get(json_array_get(json_object_get(j, "chains"), 1), "endpoints"),
        json_string("https://beta.example/rpc"));
    with(j, "$.chains[1].quorum", json_integer(3));
    bh_config *c = (bh_config *)&c;
    assert_int_equal(parse_json(j, &c), BH_ECONFIG);
    json_decref(j);
    assert_null(c);
    assert_string_equal(
        err, "$.chains[1].quorum: 3 is more than the 2 endpoints; lower quorum or add endpoints");
    c = accept_cfg(with(cfg_base(), "$.chains[0].quorum", json_integer(1)));
    assert_int_equal(c->chains[0].quorum, 1);
    bh_config_destroy(c);
    refuse(with(cfg_base(), "$.chains[1].quorum", json_integer(2)), BH_ECONFIG,
           "$.chains[1].quorum", "more than the 1 endpoint; lower quorum or add endpoints");
}

static void test_relayer_config_names_and_uniqueness(void **state)
{
    (void)state;
    const char *bad[] = {
        "Node", "", "a b", "node.1", "\xc3\xa9t\xc3\xa9", "aaaaaaaaaabbbbbbbbbbccccccccccddd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        refuse(with(cfg_base(), "$.node.name", json_string(bad[i])), BH_ECONFIG, "$.node.name",
               "is not a valid name; use 1..32 of a-z, 0-9, _ and -");
        refuse(with(cfg_base(), "$.chains[2].name", json_string(bad[i])), BH_ECONFIG,
               "$.chains[2].name", "use 1..32 of a-z, 0-9, _ and -");
    }
    accept_and_drop(
        with(cfg_base(), "$.chains[2].name", json_string("aaaaaaaaaabbbbbbbbbbcccccccccc-_")));
    refuse(with(cfg_base(), "$.chains[2].name", json_string("alpha")), BH_ECONFIG,
           "$.chains[2].name",
           "\"alpha\" is also the name of $.chains[0]; give each chain its own");
    refuse(with(cfg_base(), "$.chains[2].bridge_id", json_integer(2)), BH_ECONFIG,
           "$.chains[2].bridge_id", "2 is also the bridge_id of $.chains[1] (beta); give each");
    refuse(with(cfg_base(), "$.chains[1].evm_chain_id", json_integer(31337)), BH_ECONFIG,
           "$.chains[1].evm_chain_id",
           "31337 is also the evm_chain_id of $.chains[0] (alpha); two chains cannot share");

    json_t *j = cfg_base();
    json_array_clear(json_object_get(j, "chains"));
    refuse(j, BH_ECONFIG, "$.chains", "is empty; add at least 1");
    j = cfg_base();
    json_t *chains = json_object_get(j, "chains");
    for (int i = 3; i < 33; i++) {
        json_t *ch = json_deep_copy(json_array_get(chains, 2));
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        json_object_set_new(ch, "name", json_string(name));
        json_object_set_new(ch, "bridge_id", json_integer(100 + i));
        json_object_set_new(ch, "evm_chain_id", json_integer(900 + i));
        json_array_append_new(chains, ch);
    }
    refuse(j, BH_ECONFIG, "$.chains", "has 33 entries, at most 32 are allowed; remove some");
}

static void test_relayer_config_endpoints(void **state)
{
    (void)state;
    const char *bad[] = {"ws://127.0.0.1:8546", "127.0.0.1:8545", "http://",  "http:///rpc",
                         "http://a b",          "ftp://x",        "HTTP://x", "https://user@",
                         "http://:8545",        "http://x\ny"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refuse(with(cfg_base(), "$.chains[0].endpoints[1]", json_string(bad[i])), BH_ECONFIG,
               "$.chains[0].endpoints[1]", "write it as http://HOST:PORT");
    refuse(with(cfg_base(), "$.chains[0].endpoints[1]", json_integer(8545)), BH_ECONFIG,
           "$.chains[0].endpoints[1]", "expected a URL string");
    refuse(with(cfg_base(), "$.chains[0].endpoints[1]", json_string("http://127.0.0.1:8545")),
           BH_ECONFIG, "$.chains[0].endpoints[1]", "the same URL as endpoints[0]; list each");
    refuse(with(cfg_base(), "$.chains[0].endpoints", json_array()), BH_ECONFIG,
           "$.chains[0].endpoints", "is empty; add at least 1");
    json_t *j = cfg_base();
    json_t *eps = json_array();
    for (int i = 0; i < 17; i++)
        json_array_append_new(eps, json_sprintf("http://10.0.0.%d", i));
    with(j, "$.chains[1].endpoints", eps);
    refuse(j, BH_ECONFIG, "$.chains[1].endpoints", "has 17 entries, at most 16 are allowed");
    bh_config *c = accept_cfg(
        with(cfg_base(), "$.chains[0].endpoints[1]", json_string("https://k:s@rpc.example/v3/x")));
    assert_string_equal(c->chains[0].endpoints[1], "https://k:s@rpc.example/v3/x");
    bh_config_destroy(c);
}

static void test_relayer_config_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *fix;
    } bad[] = {
        {"0x5FbDB2315678afecb367f032d93F642f64180aa", "is not an address; write \"0x\" and 40 hex"},
        {"5FbDB2315678afecb367f032d93F642f64180aa3", "is not an address"},
        {"0X5FbDB2315678afecb367f032d93F642f64180aa3", "is not an address"},
        {"0x5FbDB2315678afecb367f032d93F642f64180aaz", "is not an address"},
        {"0x5FbDB2315678afecb367f032d93F642f64180aa31", "is not an address"},
        {"0x5fbDB2315678afecb367f032d93F642f64180aa3", "fails its EIP-55 checksum"},
        {"0x0000000000000000000000000000000000000000", "is the zero address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        refuse(with(cfg_base(), "$.chains[2].portal", json_string(bad[i].addr)), BH_ECONFIG,
               "$.chains[2].portal", bad[i].fix);
        refuse(with(cfg_base(), "$.chains[0].assets[0].token", json_string(bad[i].addr)),
               BH_ECONFIG, "$.chains[0].assets[0].token", bad[i].fix);
    }
    /* one case only: no checksum to check */
    json_t *j = cfg_base();
    with(j, "$.chains[1].portal", json_string("0x5fbdb2315678afecb367f032d93f642f64180aa3"));
    with(j, "$.chains[2].portal", json_string("0x5FBDB2315678AFECB367F032D93F642F64180AA3"));
    bh_config *c = accept_cfg(j);
    assert_memory_equal(c->chains[1].portal.data, c->chains[0].portal.data, 20);
    assert_memory_equal(c->chains[2].portal.data, c->chains[0].portal.data, 20);
    bh_config_destroy(c);
}

static void test_relayer_config_assets(void **state)
{
    (void)state;
    const char *bad[] = {"", "ABCDEFGHIJKLMNOPQ", "T K", "T\tK", "\xe2\x82\xac"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refuse(with(cfg_base(), "$.chains[0].assets[0].symbol", json_string(bad[i])), BH_ECONFIG,
               "$.chains[0].assets[0].symbol", "use 1..16 printable characters");
    accept_and_drop(
        with(cfg_base(), "$.chains[0].assets[0].symbol", json_string("ABCDEFGHIJKLMNOP")));

    json_t *j = cfg_base();
    json_t *assets = json_object_get(json_array_get(json_object_get(j, "chains"), 0), "assets");
    json_t *dup = json_deep_copy(json_array_get(assets, 0));
    json_object_set_new(dup, "symbol", json_string("TKB"));
    json_object_del(dup, "limits");
    json_array_append_new(assets, dup);
    refuse(j, BH_ECONFIG, "$.chains[0].assets[1].token",
           "the same token as $.chains[0].assets[0]; list each token once");

    j = cfg_base();
    assets = json_object_get(json_array_get(json_object_get(j, "chains"), 0), "assets");
    dup = json_deep_copy(json_array_get(assets, 0));
    json_object_set_new(dup, "token", json_string("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"));
    json_array_append_new(assets, dup);
    refuse(j, BH_ECONFIG, "$.chains[0].assets[1].symbol",
           "\"TKA\" is also the symbol of $.chains[0].assets[0]; give each token its own");

    /* the same token on two chains is two assets (two address spaces) */
    j = cfg_base();
    json_t *copy = json_deep_copy(json_array_get(
        json_object_get(json_array_get(json_object_get(j, "chains"), 0), "assets"), 0));
    json_object_set_new(copy, "limits", json_object());
    with(j, "$.chains[1].assets", json_pack("[o]", copy));
    accept_and_drop(j);

    j = cfg_base();
    json_t *many = json_array();
    for (int i = 0; i < 65; i++) {
        char tok[43];
        snprintf(tok, sizeof tok, "0x%040x", i + 1);
        json_array_append_new(many,
                              json_pack("{s:s,s:s#,s:i}", "token", tok, "symbol",
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + i % 25, 2, "decimals", 6));
    }
    with(j, "$.chains[1].assets", many);
    refuse(j, BH_ECONFIG, "$.chains[1].assets", "has 65 entries, at most 64 are allowed");
}

static json_t *limits_of(json_t *j)
{
    json_t *alpha = json_array_get(json_object_get(j, "chains"), 0);
    return json_object_get(json_array_get(json_object_get(alpha, "assets"), 0), "limits");
}

/* The base config with alpha's asset limit key set to v (stolen). */
static json_t *with_limit(const char *key, json_t *v)
{
    json_t *j = cfg_base();
    assert_int_equal(json_object_set_new(limits_of(j), key, v), 0);
    return j;
}

#define LIM "$.chains[0].assets[0].limits"

static void test_relayer_config_limit_keys(void **state)
{
    (void)state;
    static const struct {
        const char *key, *path, *fix;
    } bad[] = {
        {"cpa.2", LIM "[\"cpa.2\"]", "unknown limit key; did you mean cap.2?"},
        {"big_treshold", LIM ".big_treshold", "did you mean big_threshold?"},
        {"speed", LIM ".speed",
         "\"speed\" is no limit key; use big_threshold, big_delay, min_amount, price, "
         "price_max_age, price_max_jump, or cap"},
        {"big_threshold.2", LIM "[\"big_threshold.2\"]", "is no limit key"},
        {"msg_limit", LIM ".msg_limit", "is no limit key"},
        {"cap.x", LIM "[\"cap.x\"]", "\"x\" is not a bridge id; write cap.ID with ID another"},
        {"cap.0", LIM "[\"cap.0\"]", "is not a bridge id"},
        {"cap.02", LIM "[\"cap.02\"]", "is not a bridge id"},
        {"cap.65536", LIM "[\"cap.65536\"]", "is not a bridge id"},
        {"cap.", LIM "[\"cap.\"]", "is not a bridge id"},
        {"in_refill.9", LIM "[\"in_refill.9\"]",
         "no configured chain has bridge_id 9; use one of: 2 (beta), 3 (gamma)"},
        {"cap.1", LIM "[\"cap.1\"]",
         "1 is this asset's own chain (alpha), which holds no wrapped supply; cap names another "
         "chain's bridge_id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refuse(with_limit(bad[i].key, json_string("1")), BH_ECONFIG, bad[i].path, bad[i].fix);

    /* every name of the vaultctl vocabulary, toward both other chains */
    static const char *const lane[] = {"cap",       "window",       "in_capacity",
                                       "in_refill", "out_capacity", "out_refill"};
    json_t *j = cfg_base();
    json_t *lim = limits_of(j);
    json_object_clear(lim);
    json_object_set_new(lim, "big_threshold", json_string("5"));
    json_object_set_new(lim, "big_delay", json_integer(60));
    for (size_t i = 0; i < 6; i++)
        for (int id = 2; id <= 3; id++) {
            char key[40];
            snprintf(key, sizeof key, "%s.%d", lane[i], id);
            json_object_set_new(lim, key, json_integer((json_int_t)(10 * i + (size_t)id)));
        }
    bh_config *c = accept_cfg(j);
    const bh_config_asset *a = &c->chains[0].assets[0];
    assert_int_equal(a->n_limits, 14);
    assert_string_equal(a->limits[0].key, "big_threshold");
    assert_string_equal(a->limits[13].key, "out_refill.3");
    assert_true(a->limits[13].value == 53);
    bh_config_destroy(c);
    /* the home chain's own lane: windows and buckets (what leaves, what
     * comes home), never a cap (refused above) */
    j = cfg_base();
    lim = limits_of(j);
    json_object_clear(lim);
    json_object_set_new(lim, "window.1", json_string("100"));
    json_object_set_new(lim, "in_capacity.1", json_string("10"));
    json_object_set_new(lim, "out_refill.1", json_string("1"));
    c = accept_cfg(j);
    assert_int_equal(c->chains[0].assets[0].n_limits, 3);
    bh_config_destroy(c);
    /* min_amount: an asset key like big_threshold, refused like any amount */
    refuse(with_limit("min_amount", json_string("-1")), BH_ECONFIG, LIM ".min_amount", "");
    refuse(with_limit("min_amount.2", json_string("1")), BH_ECONFIG, LIM "[\"min_amount.2\"]",
           "is no limit key");
    j = cfg_base();
    json_object_set_new(limits_of(j), "min_amount", json_string("1000"));
    c = accept_cfg(j);
    a = &c->chains[0].assets[0];
    int found = 0;
    for (size_t i = 0; i < a->n_limits; i++)
        if (!strcmp(a->limits[i].key, "min_amount")) found = a->limits[i].value == 1000;
    assert_true(found);
    bh_config_destroy(c);
}

/* The vault's value limits and the assets' prices: refused by path. */
static void test_relayer_config_value_limits(void **state)
{
    (void)state;
    json_t *j = cfg_base();
    json_t *vl = json_object();
    json_object_set_new(vl, "value_window.1", json_string("500000"));
    json_object_set_new(vl, "value_lane.1.3", json_integer(100));
    json_object_set_new(vl, "value_threshold.2", json_string("9"));
    json_object_set_new(vl, "flow_cancel.3", json_integer(1));
    with(j, "$.chains[0].value_limits", vl);
    json_object_set_new(limits_of(j), "price", json_string("200"));
    json_object_set_new(limits_of(j), "price_max_age", json_integer(600));
    bh_config *c = accept_cfg(j);
    assert_int_equal(c->chains[0].n_value_limits, 4);
    assert_string_equal(c->chains[0].value_limits[1].key, "value_lane.1.3");
    assert_true(c->chains[0].value_limits[0].value == 500000);
    assert_true(c->chains[0].value_limits[3].value == 1);
    bh_config_destroy(c);

    struct {
        const char *key;
        json_t *v;
        const char *fix;
    } bad[] = {
        {"value_window.9", json_integer(1), "no configured chain has bridge_id 9; use one of: 1"},
        {"value_lane.1.1", json_integer(1), "a lane goes from one chain to another; 1 is both"},
        {"value_lane.1", json_integer(1), "names one chain; write value_lane.ID.ID"},
        {"value_window.1.2", json_integer(1), "names two chains; write value_window.ID"},
        {"flow_cancel.3", json_integer(2), "2 is out of bounds; use 0..1"},
        {"value_window.x", json_integer(1), "\"x\" is not a bridge id"},
        {"speed.1", json_integer(1), "\"speed.1\" is no value limit key; use value_window.ID"},
        {"value_window.2", json_string("12a"), "is not a whole decimal number"},
        {"value_window.2", json_true(), "got a boolean, expected an amount"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[128];
        snprintf(p, sizeof p, "$.chains[0].value_limits[\"%s\"]", bad[i].key);
        json_t *b = json_object();
        json_object_set_new(b, bad[i].key, bad[i].v);
        refuse(with(cfg_base(), "$.chains[0].value_limits", b), BH_ECONFIG, p, bad[i].fix);
    }
    refuse(with(cfg_base(), "$.chains[0].value_limits", json_array()), BH_ECONFIG,
           "$.chains[0].value_limits", "expected an object");
    refuse(with_limit("price", json_string("-1")), BH_ECONFIG, LIM ".price",
           "is not a whole decimal number");
    refuse(with_limit("price_max_jump", json_integer(2000000)), BH_ECONFIG, LIM ".price_max_jump",
           "is out of bounds; use 0..1000000");
    refuse(with_limit("price.2", json_integer(5)), BH_ECONFIG, LIM "[\"price.2\"]",
           "is no limit key");
}

static void test_relayer_config_price_feed_and_tightening(void **state)
{
    (void)state;
    json_t *j = cfg_base();
    json_t *vl = json_object();
    json_object_set_new(vl, "vol_percent", json_integer(20));
    json_object_set_new(vl, "tighten_percent", json_integer(50));
    json_object_set_new(vl, "calm", json_integer(5));
    json_object_set_new(vl, "vol_window", json_integer(60));
    with(j, "$.chains[0].value_limits", vl);
    with(j, "$.chains[0].quote_decimals", json_integer(4));
    with(j, "$.node.price_poll_s", json_integer(2));
    json_object_set_new(limits_of(j), "price_feed",
                        json_string("0x5fbdb2315678afecb367f032d93f642f64180aa3"));
    bh_config *c = accept_cfg(j);
    assert_true(c->chains[0].assets[0].has_price_feed);
    assert_int_equal(c->chains[0].assets[0].price_feed.data[0], 0x5f);
    assert_int_equal(c->chains[0].assets[0].n_limits,
                     1); /* cap.2 only: the feed is no vault limit */
    assert_int_equal(c->chains[0].n_value_limits, 4);
    assert_int_equal(c->chains[0].quote_decimals, 4);
    assert_int_equal(c->price_poll_s, 2);
    bh_config_destroy(c);
    c = accept_cfg(cfg_base());
    assert_int_equal(c->price_poll_s, 30);
    assert_int_equal(c->chains[0].quote_decimals, 2);
    assert_false(c->chains[0].assets[0].has_price_feed);
    bh_config_destroy(c);

    refuse(with_limit("price_feed", json_string("0x12")), BH_ECONFIG, LIM ".price_feed", "0x12");
    refuse(with_limit("price_feed", json_integer(5)), BH_ECONFIG, LIM ".price_feed",
           "got an integer");
    json_t *both =
        with_limit("price_feed", json_string("0x5fbdb2315678afecb367f032d93f642f64180aa3"));
    json_object_set_new(limits_of(both), "price", json_integer(100));
    refuse(both, BH_ECONFIG, LIM ".price_feed", "both a fixed price and a price feed");
    json_t *b = json_object();
    json_object_set_new(b, "tighten_percent", json_integer(101));
    refuse(with(cfg_base(), "$.chains[0].value_limits", b), BH_ECONFIG,
           "$.chains[0].value_limits.tighten_percent", "101 is out of bounds; use 0..100");
    b = json_object();
    json_object_set_new(b, "vol_percent.1", json_integer(5));
    refuse(with(cfg_base(), "$.chains[0].value_limits", b), BH_ECONFIG,
           "$.chains[0].value_limits[\"vol_percent.1\"]", "is no value limit key");
    refuse(with(cfg_base(), "$.node.price_poll_s", json_integer(0)), BH_ECONFIG,
           "$.node.price_poll_s", "out of bounds");
    refuse(with(cfg_base(), "$.chains[0].quote_decimals", json_integer(39)), BH_ECONFIG,
           "$.chains[0].quote_decimals", "out of bounds");
    char why[256];
    assert_int_equal(
        bh_config_limit_check("price_feed", 0, 1, "alpha", NULL, NULL, 0, why, sizeof why),
        BH_ECONFIG);
    assert_non_null(strstr(why, "no vault limit"));
    assert_int_equal(bh_config_value_limit_check("calm", 30, 1, NULL, NULL, 0, why, sizeof why),
                     BH_OK);
}

static void test_relayer_config_limit_values(void **state)
{
    (void)state;
    const char *path = LIM "[\"cap.2\"]";
    struct {
        const char *key;
        json_t *v;
        const char *fix;
    } bad[] = {
        {"cap.2", json_string("340282366920938463463374607431768211456"),
         "does not fit in 128 bits; write a smaller amount"},
        {"cap.2", json_string("12a"), "is not a whole decimal number; write digits only"},
        {"cap.2", json_string(""), "is not a whole decimal number"},
        {"cap.2", json_string("-5"), "is not a whole decimal number"},
        {"cap.2", json_string("1e6"), "is not a whole decimal number"},
        {"cap.2", json_string(" 5"), "is not a whole decimal number"},
        {"cap.2", json_string("0x10"), "is not a whole decimal number"},
        {"cap.2", json_integer(-1), "-1 is negative; write 0 or more"},
        {"cap.2", json_real(1.5), "got a fractional number, expected an amount; write digits"},
        {"cap.2", json_true(), "got a boolean, expected an amount"},
        {"cap.2", json_null(), "got null, expected an amount"},
        {"big_delay", json_integer(4294967296), "4294967296 is out of bounds; use 0..4294967295"},
        {"big_delay", json_string("4294967296"), "is out of bounds; use 0..4294967295"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s", path);
        if (strcmp(bad[i].key, "cap.2") != 0) snprintf(p, sizeof p, LIM ".%s", bad[i].key);
        refuse(with_limit(bad[i].key, bad[i].v), BH_ECONFIG, p, bad[i].fix);
    }

    json_t *j = with_limit("cap.2", json_string("340282366920938463463374607431768211455"));
    json_object_set_new(limits_of(j), "window.2", json_integer(0));
    json_object_set_new(limits_of(j), "big_delay", json_string("4294967295"));
    json_object_set_new(limits_of(j), "big_threshold", json_integer(INT64_MAX));
    bh_config *c = accept_cfg(j);
    const bh_config_asset *a = &c->chains[0].assets[0];
    assert_int_equal(a->n_limits, 4);
    assert_true(a->limits[0].value == BH_U128_MAX);
    assert_true(a->limits[1].value == 0);
    assert_true(a->limits[2].value == UINT32_MAX);
    assert_true(a->limits[3].value == (bh_u128)INT64_MAX);
    bh_config_destroy(c);

    /* 64 limits per asset at most: 12 chains give 2 + 6 x 11 keys */
    j = cfg_base();
    json_t *chains = json_object_get(j, "chains");
    for (int id = 4; id <= 12; id++) {
        json_t *ch = json_deep_copy(json_array_get(chains, 2));
        char name[16];
        snprintf(name, sizeof name, "c%d", id);
        json_object_set_new(ch, "name", json_string(name));
        json_object_set_new(ch, "bridge_id", json_integer(id));
        json_object_set_new(ch, "evm_chain_id", json_integer(1000 + id));
        json_array_append_new(chains, ch);
    }
    json_t *lim = limits_of(j);
    json_object_clear(lim);
    json_object_set_new(lim, "big_threshold", json_integer(1));
    json_object_set_new(lim, "big_delay", json_integer(1));
    static const char *const lane[] = {"cap",       "window",       "in_capacity",
                                       "in_refill", "out_capacity", "out_refill"};
    for (size_t i = 0; i < 6; i++)
        for (int id = 2; id <= 12; id++) {
            char key[40];
            snprintf(key, sizeof key, "%s.%d", lane[i], id);
            json_object_set_new(lim, key, json_integer(1));
        }
    /* keys in document order: the 65th is out_refill.9 */
    refuse(j, BH_ECONFIG, LIM "[\"out_refill.9\"]",
           "more than 64 limits for one asset; keep the ones that matter");
}

/* ---- keys ---- */

/* A valid key whose digits appear nowhere else: errors must never show them. */
#define KEY_D "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

static void refuse_key_text(const char *text, const char *fix)
{
    key_file("bad.key", text, 0600);
    refuse(with(cfg_base(), "$.node.attester_key_file", json_string("bad.key")), BH_ECONFIG,
           "$.node.attester_key_file", fix);
    if (strstr(err, "a1b2c3d4") || strstr(err, "A1B2C3D4") || strstr(err, "0718293a"))
        fail_msg("key material in the error: %s", err);
}

static void test_relayer_config_key_files(void **state)
{
    (void)state;
    char path[128], fix[800];
    snprintf(path, sizeof path, "%s/perm.key", dir);
    static const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0620, 0602, 0610, 0601, 0607};
    for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        key_file("perm.key", KEY_D, open_modes[i]);
        snprintf(fix, sizeof fix, "%s is open to group or others (mode %04o); chmod 600 %s", path,
                 (unsigned)open_modes[i], path);
        refuse(with(cfg_base(), "$.node.attester_key_file", json_string("perm.key")), BH_EPERM,
               "$.node.attester_key_file", fix);
        refuse(with(cfg_base(), "$.chains[1].tx_key_file", json_string(path)), BH_EPERM,
               "$.chains[1].tx_key_file", fix);
    }
    refuse(with(cfg_base(), "$.node.tx_key_file", json_string("perm.key")), BH_EPERM,
           "$.node.tx_key_file", "chmod 600");

    /* accepted forms: 0x, upper case, one newline, mode 0400 and 0600 */
    static const char *const good[] = {
        KEY_D, "0x" KEY_D, "0X" KEY_D "\n", KEY_D "\n",
        "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        key_file("good.key", good[i], i % 2 ? 0400 : 0600);
        bh_config *c =
            accept_cfg(with(cfg_base(), "$.node.attester_key_file", json_string("good.key")));
        assert_key(&c->attester_key, KEY_D);
        bh_config_destroy(c);
    }
    /* a symbolic link is refused: the file checked is the file named */
    char link[600];
    snprintf(link, sizeof link, "%s/link.key", dir);
    unlink(link);
    assert_int_equal(symlink("good.key", link), 0);
    snprintf(fix, sizeof fix, "%s is a symbolic link; point it at the file itself", link);
    refuse(with(cfg_base(), "$.node.attester_key_file", json_string(link)), BH_ECONFIG,
           "$.node.attester_key_file", fix);

    /* content that is no key: refused, and never echoed */
    static const char *const no_key[] = {
        KEY_D "\n\n",
        KEY_D " ",
        " " KEY_D,
        KEY_D "00",
        KEY_D "\r\n",
        "\n" KEY_D,
        "0x0x" KEY_D,
        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8fzz",
        "",
        "\n",
        "0x"};
    for (size_t i = 0; i < sizeof no_key / sizeof no_key[0]; i++)
        refuse_key_text(no_key[i], "holds no key; write the 32-byte secret as 64 hex digits");
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    refuse_key_text(big, "holds no key");
    refuse_key_text("0000000000000000000000000000000000000000000000000000000000000000",
                    "holds no valid secp256k1 key (zero, or not below the curve order)");
    refuse_key_text("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
                    "holds no valid secp256k1 key");

    /* what is no regular file, or not there */
    char p2[600];
    mkdir(in_dir(p2, sizeof p2, "keydir"), 0700);
    refuse(with(cfg_base(), "$.node.attester_key_file", json_string("keydir")), BH_ECONFIG,
           "$.node.attester_key_file", "is not a regular file; point it at the key file");
    in_dir(p2, sizeof p2, "key.fifo");
    unlink(p2);
    assert_int_equal(mkfifo(p2, 0600), 0);
    refuse(with(cfg_base(), "$.node.attester_key_file", json_string("key.fifo")), BH_ECONFIG,
           "$.node.attester_key_file", "is not a regular file");
    snprintf(fix, sizeof fix,
             "cannot open %s/absent.key: No such file or directory; check the path", dir);
    refuse(with(cfg_base(), "$.node.attester_key_file", json_string("absent.key")), BH_ECONFIG,
           "$.node.attester_key_file", fix);
    refuse(with(cfg_base(), "$.node.attester_key_file", json_string("")), BH_ECONFIG,
           "$.node.attester_key_file", "is empty; give the key file's path");

    /* one source per key; every chain needs a transaction key */
    refuse(with(cfg_base(), "$.node.attester_key_env", json_string("BH_TEST_ATT")), BH_ECONFIG,
           "$.node.attester_key_file",
           "both attester_key_file and attester_key_env are given; keep one of them");
    json_t *j = with(cfg_base(), "$.chains[2].tx_key_env", json_string("BH_TEST_ATT"));
    refuse(with(j, "$.chains[2].tx_key_file", json_string("tx.key")), BH_ECONFIG,
           "$.chains[2].tx_key_file", "both tx_key_file and tx_key_env are given");
    refuse(with(cfg_base(), "$.node.tx_key_file", NULL), BH_ECONFIG, "$.chains[0].tx_key_file",
           "the chain has no transaction key; add tx_key_file or tx_key_env here, or "
           "$.node.tx_key_file for every chain");
    j = with(cfg_base(), "$.node.tx_key_file", NULL);
    with(j, "$.chains[0].tx_key_file", json_string("chain-tx.key"));
    refuse(j, BH_ECONFIG, "$.chains[1].tx_key_file", "the chain has no transaction key");
    j = with(cfg_base(), "$.node.tx_key_file", NULL);
    for (int i = 0; i < 3; i++) {
        char kp[64];
        snprintf(kp, sizeof kp, "$.chains[%d].tx_key_file", i);
        with(j, kp, json_string("chain-tx.key"));
    }
    bh_config *c = accept_cfg(j);
    for (int i = 0; i < 3; i++)
        assert_key(&c->chains[i].tx_key, KEY_C);
    bh_config_destroy(c);
}

static void test_relayer_config_env_keys(void **state)
{
    (void)state;
    assert_int_equal(setenv("BH_TEST_ATT", KEY_C, 1), 0);
    assert_int_equal(setenv("BH_TEST_TX", "0x" KEY_A "\n", 1), 0);
    json_t *j = with(cfg_base(), "$.node.attester_key_file", NULL);
    with(j, "$.node.attester_key_env", json_string("BH_TEST_ATT"));
    with(j, "$.node.tx_key_file", NULL);
    with(j, "$.node.tx_key_env", json_string("BH_TEST_TX"));
    with(j, "$.chains[2].tx_key_env", json_string("BH_TEST_ATT"));
    bh_config *c = accept_cfg(j);
    assert_key(&c->attester_key, KEY_C);
    assert_key(&c->chains[0].tx_key, KEY_A);
    assert_key(&c->chains[1].tx_key, KEY_A);
    assert_key(&c->chains[2].tx_key, KEY_C);
    bh_config_destroy(c);

    unsetenv("BH_TEST_UNSET");
    j = with(cfg_base(), "$.node.attester_key_file", NULL);
    refuse(with(j, "$.node.attester_key_env", json_string("BH_TEST_UNSET")), BH_ECONFIG,
           "$.node.attester_key_env",
           "environment variable BH_TEST_UNSET is unset; export BH_TEST_UNSET=<64 hex digits> "
           "or use attester_key_file");
    assert_int_equal(setenv("BH_TEST_EMPTY", "", 1), 0);
    refuse(with(cfg_base(), "$.chains[1].tx_key_env", json_string("BH_TEST_EMPTY")), BH_ECONFIG,
           "$.chains[1].tx_key_env", "environment variable BH_TEST_EMPTY is empty; export");
    assert_int_equal(setenv("BH_TEST_BAD", KEY_D "0", 1), 0);
    refuse(with(cfg_base(), "$.chains[1].tx_key_env", json_string("BH_TEST_BAD")), BH_ECONFIG,
           "$.chains[1].tx_key_env", "environment variable BH_TEST_BAD holds no key");
    assert_null(strstr(err, "a1b2c3d4"));
    static const char *const bad_names[] = {"", "1KEY", "KEY-1", "KEY 1", "K=V"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        refuse(with(cfg_base(), "$.node.tx_key_env", json_string(bad_names[i])), BH_ECONFIG,
               "$.node.tx_key_env", "is not an environment variable name; use letters, digits");
}

static void wiped_after_destroy(json_t *j, const char *key_hex)
{
    bh_config *c = accept_cfg(j);
    bh_test_unhex(watch_key, sizeof watch_key, key_hex);
    /* the key is there before: the check below can fail */
    assert_non_null(memmem(c, sizeof *c, watch_key, sizeof watch_key));
    watch = c;
    watch_len = sizeof *c;
    watch_freed = 0;
    watch_had_key = 1;
    bh_config_destroy(c);
    assert_true(watch_freed);
    assert_false(watch_had_key);
}

static void test_relayer_config_keys_wiped(void **state)
{
    (void)state;
    wiped_after_destroy(cfg_base(), KEY_A); /* attester */
    wiped_after_destroy(cfg_base(), KEY_B); /* the node's tx key, copied to every chain */
    wiped_after_destroy(with(cfg_base(), "$.chains[2].tx_key_file", json_string("chain-tx.key")),
                        KEY_C);
    bh_config_destroy(NULL);
}

/* ---- bulkhead check ---- */

static void run_check(const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {bin, "check", (char *)a1, (char *)a2, (char *)a3, NULL};
    bh_proc_run(&res, argv, NULL);
}

static void test_relayer_config_cli_check(void **state)
{
    (void)state;
    char path[600], want[800];
    write_file(in_dir(path, sizeof path, "cli.json"), k_base, 0644);
    snprintf(want, sizeof want, "ok: 3 chains (alpha, beta, gamma), data_dir %s/data\n", dir);
    run_check("-c", path, NULL);
    assert_int_equal(res.status, 0);
    assert_string_equal(res.out, want);
    assert_string_equal(res.err, "");
    char arg[700];
    snprintf(arg, sizeof arg, "--config=%s", path);
    run_check(arg, NULL, NULL);
    assert_int_equal(res.status, 0);
    assert_string_equal(res.out, want);

    /* one chain */
    json_t *j = cfg_base();
    json_t *chains = json_object_get(j, "chains");
    json_array_remove(chains, 2);
    json_array_remove(chains, 1);
    json_object_clear(limits_of(j));
    char *text = json_dumps(j, 0);
    json_decref(j);
    write_file(path, text, 0644);
    free(text);
    run_check("-c", path, NULL);
    assert_int_equal(res.status, 0);
    snprintf(want, sizeof want, "ok: 1 chain (alpha), data_dir %s/data\n", dir);
    assert_string_equal(res.out, want);

    /* refused: the reason on stderr, exit 2 as `bulkhead run` exits */
    j = cfg_base();
    json_array_append_new(
        json_object_get(json_array_get(json_object_get(j, "chains"), 1), "endpoints"),
        json_string("http://127.0.0.1:18546"));
    with(j, "$.chains[1].quorum", json_integer(3));
    text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    write_file(path, text, 0644);
    free(text);
    run_check("-c", path, NULL);
    assert_int_equal(res.status, 2);
    assert_string_equal(res.out, "");
    assert_string_equal(res.err, "bulkhead check: $.chains[1].quorum: 3 is more than the 2 "
                                 "endpoints; lower quorum or add endpoints\n");

    key_file("open.key", KEY_D, 0644);
    j = with(cfg_base(), "$.node.attester_key_file", json_string("open.key"));
    text = json_dumps(j, 0);
    json_decref(j);
    write_file(path, text, 0644);
    free(text);
    run_check("-c", path, NULL);
    assert_int_equal(res.status, 2);
    snprintf(want, sizeof want,
             "bulkhead check: $.node.attester_key_file: %s/open.key is open to group or others "
             "(mode 0644); chmod 600 %s/open.key\n",
             dir, dir);
    assert_string_equal(res.err, want);

    snprintf(path, sizeof path, "%s/absent.json", dir);
    run_check("-c", path, NULL);
    assert_int_equal(res.status, 2);
    assert_non_null(strstr(res.err, "absent.json: cannot open"));

    /* usage: exit 2, the problem and where the help is on stderr (not the
     * whole usage), nothing on stdout */
    static const char *const usage_cases[][3] = {{NULL, NULL, NULL},      {"-c", NULL, NULL},
                                                 {"--bogus", NULL, NULL}, {"x.json", NULL, NULL},
                                                 {"-c", "a", "-c"},       {"--config", NULL, NULL}};
    for (size_t i = 0; i < sizeof usage_cases / sizeof usage_cases[0]; i++) {
        run_check(usage_cases[i][0], usage_cases[i][1], usage_cases[i][2]);
        if (res.status != 2) fail_msg("case %zu: exit %d, stderr %s", i, res.status, res.err);
        assert_string_equal(res.out, "");
        assert_non_null(strstr(res.err, "(see 'bulkhead check --help')\n"));
        assert_null(strstr(res.err, "usage:"));
    }
    run_check("--bogus", NULL, NULL);
    assert_string_equal(res.err, "bulkhead check: unknown option '--bogus' "
                                 "(see 'bulkhead check --help')\n");
    run_check("--help", NULL, NULL);
    assert_int_equal(res.status, 0);
    assert_true(strncmp(res.out, "usage: bulkhead check (-c CONFIG [--keys] | --keys)", 51) == 0);
    assert_string_equal(res.err, "");
}

static void test_relayer_config_cli_keys(void **state)
{
    (void)state;
    size_t n;
    const bh_config_key *k = key_rows(&n);
    run_check("--keys", NULL, NULL);
    assert_int_equal(res.status, 0);
    assert_string_equal(res.err, "");
    char *line = res.out, *nl;
    assert_non_null(nl = strchr(line, '\n'));
    *nl = '\0';
    assert_string_equal(line, "| key | type | default | bounds | meaning |");
    line = nl + 1;
    assert_non_null(nl = strchr(line, '\n'));
    *nl = '\0';
    assert_string_equal(line, "|---|---|---|---|---|");
    for (size_t i = 0; i < n; i++) {
        line = nl + 1;
        if (!(nl = strchr(line, '\n'))) fail_msg("no row for %s", k[i].path);
        *nl = '\0';
        char want[600];
        assert_null(strchr(k[i].meaning, '|'));
        assert_null(strchr(k[i].bounds, '|'));
        snprintf(want, sizeof want, "| `%s` | %s | %s | %s | %s |", k[i].path, k[i].type,
                 k[i].deflt, k[i].bounds, k[i].meaning);
        assert_string_equal(line, want);
    }
    assert_string_equal(nl + 1, "");
}

/* The README's configuration reference is `bulkhead check --keys`, verbatim. */
static void test_relayer_config_readme_reference(void **state)
{
    (void)state;
    size_t n, len;
    const bh_config_key *k = key_rows(&n);
    run_check("--keys", NULL, NULL);
    assert_int_equal(res.status, 0);
    char *readme = bh_test_slurp(BH_SOURCE_DIR "/README.md", &len);
    char *sec = strstr(readme, "\n## Configuration\n");
    if (!sec) fail_msg("README.md has no \"## Configuration\" section");
    char *end = strstr(sec + 1, "\n## ");
    if (end) end[1] = '\0';
    for (size_t i = 0; i < n; i++) {
        char cell[128];
        snprintf(cell, sizeof cell, "| `%s` |", k[i].path);
        if (!strstr(sec, cell)) fail_msg("README's Configuration section lacks %s", k[i].path);
    }
    if (!strstr(sec, res.out))
        fail_msg("README's key table differs from `bulkhead check --keys`: paste its output");
    free(readme);
}

/* ---- deploy/examples ---- */

/* Makes every *_key_file the config names (mode 0600), sets every *_key_env. */
static void provide_keys(json_t *v, const char *cfg_dir)
{
    const char *key;
    json_t *x;
    size_t i;
    if (json_is_array(v)) json_array_foreach(v, i, x) provide_keys(x, cfg_dir);
    if (!json_is_object(v)) return;
    json_object_foreach(v, key, x)
    {
        size_t kl = strlen(key);
        if (kl > 9 && !strcmp(key + kl - 9, "_key_file") && json_is_string(x)) {
            char p[900];
            const char *f = json_string_value(x);
            snprintf(p, sizeof p, "%s/%s", f[0] == '/' ? "" : cfg_dir, f);
            for (char *s = p + 1; (s = strchr(s, '/')); s++) {
                *s = '\0';
                mkdir(p, 0700);
                *s = '/';
            }
            write_file(p, KEY_D "\n", 0600);
        } else if (kl > 8 && !strcmp(key + kl - 8, "_key_env") && json_is_string(x)) {
            assert_int_equal(setenv(json_string_value(x), KEY_D, 1), 0);
        } else {
            provide_keys(x, cfg_dir);
        }
    }
}

static void test_relayer_config_examples(void **state)
{
    (void)state;
    static const char *const files[] = {"node.json", "mofn/node-1.json", "mofn/node-2.json",
                                        "mofn/node-3.json"};
    char ex[600], cmd[1400];
    snprintf(ex, sizeof ex, "%s/examples", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -R '%s/deploy/examples' '%s'", ex, BH_SOURCE_DIR,
             ex);
    assert_int_equal(system(cmd), 0);
    char data_dirs[3][BH_CONFIG_PATH_MAX];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[700], cfg_dir[700];
        snprintf(path, sizeof path, "%s/%s", ex, files[i]);
        snprintf(cfg_dir, sizeof cfg_dir, "%s", path);
        *strrchr(cfg_dir, '/') = '\0';
        json_error_t je;
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        if (!j) fail_msg("%s: %s", files[i], je.text);
        provide_keys(j, cfg_dir);
        json_decref(j);
        bh_config *c;
        if (bh_config_load(&c, err, sizeof err, path) != BH_OK) fail_msg("%s: %s", files[i], err);
        assert_int_equal(c->n_chains, 3);
        static const char *const names[] = {"alpha", "beta", "gamma"};
        for (size_t k = 0; k < 3; k++) {
            const bh_config_chain *ch = &c->chains[k];
            assert_string_equal(ch->name, names[k]);
            assert_int_equal(ch->bridge_id, k + 1);
            assert_int_equal(ch->evm_chain_id, 31337 + k);
            char url[64];
            snprintf(url, sizeof url, "http://127.0.0.1:%zu", 8545 + k);
            assert_int_equal(ch->n_endpoints, 1);
            assert_string_equal(ch->endpoints[0], url);
            assert_int_equal(ch->confirmations, 2);
            assert_true(ch->has_tx_key);
        }
        assert_int_equal(c->signer_set_index, 0);
        if (i > 0) {
            assert_int_equal(c->signer_index, i - 1);
            snprintf(data_dirs[i - 1], sizeof data_dirs[i - 1], "%s", c->data_dir);
            for (size_t k = 0; k + 1 < i; k++)
                assert_string_not_equal(data_dirs[k], c->data_dir);
        }
        bh_config_destroy(c);
    }
}

/* The operator server's section: absent means off; bind must be an IP
 * address; the token follows the key-file rules (0600, env) and its own
 * alphabet, and never shows in an error. */
static void test_relayer_config_metrics(void **state)
{
    (void)state;
    bh_config *c = accept_cfg(cfg_base());
    assert_int_equal(c->metrics.enabled, 1);
    assert_int_equal(c->metrics.port, 9100);
    assert_string_equal(c->metrics.bind, "127.0.0.1");
    assert_int_equal(c->metrics.max_clients, 64);
    assert_int_equal(c->metrics.snapshot_interval_s, 5);
    assert_int_equal(c->metrics.sample_interval_s, 10);
    assert_int_equal(c->metrics.client_buffer_kb, 1024);
    assert_string_equal(c->metrics.token, "");
    bh_config_destroy(c);

    c = accept_cfg(with(cfg_base(), "$.metrics", NULL));
    assert_int_equal(c->metrics.enabled, 0);
    bh_config_destroy(c);

    c = accept_cfg(with(cfg_base(), "$.metrics.bind", json_string("::1")));
    assert_string_equal(c->metrics.bind, "::1");
    bh_config_destroy(c);
    refuse(with(cfg_base(), "$.metrics.bind", json_string("localhost")), BH_ECONFIG,
           "$.metrics.bind", "is not an IP address");

    key_file("tok.ok", "0123456789abcdef0123456789abcdef\n", 0600);
    c = accept_cfg(with(cfg_base(), "$.metrics.token_file", json_string("tok.ok")));
    assert_string_equal(c->metrics.token, "0123456789abcdef0123456789abcdef");
    bh_config_destroy(c);
    key_file("tok.open", "0123456789abcdef0123456789abcdef", 0644);
    refuse(with(cfg_base(), "$.metrics.token_file", json_string("tok.open")), BH_EPERM,
           "$.metrics.token_file", "chmod 600");
    key_file("tok.bad", "short secret", 0600);
    refuse(with(cfg_base(), "$.metrics.token_file", json_string("tok.bad")), BH_ECONFIG,
           "$.metrics.token_file", "does not hold a usable token");
    assert_null(strstr(err, "short secret"));

    setenv("BH_TEST_TOKEN", "tok-en_0123456789.abc", 1);
    c = accept_cfg(with(cfg_base(), "$.metrics.token_env", json_string("BH_TEST_TOKEN")));
    assert_string_equal(c->metrics.token, "tok-en_0123456789.abc");
    bh_config_destroy(c);
    unsetenv("BH_TEST_TOKEN");
    refuse(with(cfg_base(), "$.metrics.token_env", json_string("BH_TEST_TOKEN")), BH_ECONFIG,
           "$.metrics.token_env", "is unset");
    json_t *j = with(cfg_base(), "$.metrics.token_file", json_string("tok.ok"));
    refuse(with(j, "$.metrics.token_env", json_string("X")), BH_ECONFIG, "$.metrics.token_file",
           "keep one of them");

    /* the admin API's own token: read the same way, never the read token */
    key_file("adm.ok", "admin-0123456789abcdef0123456789\n", 0600);
    c = accept_cfg(with(cfg_base(), "$.metrics.admin_token_file", json_string("adm.ok")));
    assert_string_equal(c->metrics.admin_token, "admin-0123456789abcdef0123456789");
    assert_string_equal(c->metrics.token, "");
    bh_config_destroy(c);
    refuse(with(cfg_base(), "$.metrics.admin_token_file", json_string("tok.open")), BH_EPERM,
           "$.metrics.admin_token_file", "chmod 600");
    refuse(with(cfg_base(), "$.metrics.admin_token_env", json_string("BH_TEST_NO_SUCH")),
           BH_ECONFIG, "$.metrics.admin_token_env", "is unset");
    j = with(cfg_base(), "$.metrics.token_file", json_string("tok.ok"));
    refuse(with(j, "$.metrics.admin_token_file", json_string("tok.ok")), BH_ECONFIG,
           "$.metrics.admin_token_file", "a token of its own");
    j = with(cfg_base(), "$.metrics.admin_token_file", json_string("adm.ok"));
    refuse(with(j, "$.metrics.admin_token_env", json_string("X")), BH_ECONFIG,
           "$.metrics.admin_token_file", "keep one of them");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s BULKHEAD\n", argv[0]);
        return 2;
    }
    bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relayer_config_full_values),
        cmocka_unit_test(test_relayer_config_metrics),
        cmocka_unit_test(test_relayer_config_defaults),
        cmocka_unit_test(test_relayer_config_relative_paths),
        cmocka_unit_test(test_relayer_config_every_key_type_checked),
        cmocka_unit_test(test_relayer_config_every_required_key),
        cmocka_unit_test(test_relayer_config_every_bound),
        cmocka_unit_test(test_relayer_config_unknown_keys),
        cmocka_unit_test(test_relayer_config_not_json),
        cmocka_unit_test(test_relayer_config_quorum),
        cmocka_unit_test(test_relayer_config_names_and_uniqueness),
        cmocka_unit_test(test_relayer_config_endpoints),
        cmocka_unit_test(test_relayer_config_addresses),
        cmocka_unit_test(test_relayer_config_assets),
        cmocka_unit_test(test_relayer_config_limit_keys),
        cmocka_unit_test(test_relayer_config_limit_values),
        cmocka_unit_test(test_relayer_config_value_limits),
        cmocka_unit_test(test_relayer_config_price_feed_and_tightening),
        cmocka_unit_test(test_relayer_config_key_files),
        cmocka_unit_test(test_relayer_config_env_keys),
        cmocka_unit_test(test_relayer_config_keys_wiped),
        cmocka_unit_test(test_relayer_config_cli_check),
        cmocka_unit_test(test_relayer_config_cli_keys),
        cmocka_unit_test(test_relayer_config_readme_reference),
        cmocka_unit_test(test_relayer_config_examples),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
