/* Operating the node: refusals at start, SIGHUP log reopening, SIGTERM
 * mid-flow (exit 0, nothing lost or doubled after the restart).
 * argv[1] = bulkhead, argv[2] = vaultctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bh_amount.h"
#include "bh_test_proc.h"
#include "node_harness.h"

static const char *g_bulkhead, *g_vaultctl;

static int setup(void **state)
{
    nh_world *w = calloc(1, sizeof *w);
    nh_opts o = {.n_chains = 2,
                 .n_attesters = 1,
                 .quorum = 1,
                 .bulkhead = g_bulkhead,
                 .vaultctl = g_vaultctl,
                 .evm_id_base = 7100};
    if (!w || nh_world_start(w, &o) != 0) {
        free(w);
        return -1;
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    nh_world *w = *state;
    nh_world_stop(w);
    free(w);
    return 0;
}

static bh_proc_result g_proc;

/* Run the node in the foreground until it exits by itself. */
static int run_node_once(nh_world *w, unsigned id)
{
    char *argv[] = {(char *)g_bulkhead, "run", "-c", w->node[id - 1].cfg, NULL};
    bh_proc_run(&g_proc, argv, NULL);
    return g_proc.status;
}

/* A config the node cannot use is refused before anything runs: exit 2 and
 * the JSON path at fault. An endpoint serving another chain stops the node
 * with exit 1 and says which chain to fix. */
static void test_node_refusals(void **state)
{
    nh_world *w = *state;
    assert_int_equal(nh_node_prepare(w, 1, 0, NULL), 0);
    json_t *cfg = nh_node_config(w, 1);
    json_t *saved = json_deep_copy(cfg);
    json_object_set_new(json_array_get(json_object_get(cfg, "chains"), 1), "quorum",
                        json_integer(2));
    assert_int_equal(nh_node_write_config(w, 1, cfg), 0);
    assert_int_equal(run_node_once(w, 1), 2);
    assert_non_null(strstr(g_proc.err, "$.chains[1].quorum"));

    cfg = json_deep_copy(saved);
    json_object_set_new(json_array_get(json_object_get(cfg, "chains"), 0), "evm_chain_id",
                        json_integer(424242));
    assert_int_equal(nh_node_write_config(w, 1, cfg), 0);
    assert_int_equal(run_node_once(w, 1), 1);
    const char *text = strstr(g_proc.err, "event=wrong_chain");
    if (!text) fprintf(stderr, "node output:\n%s\n", g_proc.err);
    assert_non_null(text);
    assert_non_null(strstr(g_proc.err, "$.chains[0].endpoints"));
    assert_int_equal(nh_node_write_config(w, 1, saved), 0);
}

/* SIGHUP makes the node reopen its log file, so rotation can move it away:
 * lines after the signal land in a new file at the configured path. */
static void test_node_sighup_reopens_log(void **state)
{
    nh_world *w = *state;
    assert_int_equal(nh_node_prepare(w, 1, 0, NULL), 0);
    json_t *cfg = nh_node_config(w, 1);
    json_object_set_new(json_object_get(cfg, "node"), "log_file", json_string(w->node[0].log));
    assert_int_equal(nh_node_write_config(w, 1, cfg), 0);
    assert_int_equal(nh_node_start(w, 1, 20000), 0);

    char rotated[NH_PATH + 8];
    snprintf(rotated, sizeof rotated, "%s.1", w->node[0].log);
    assert_int_equal(rename(w->node[0].log, rotated), 0);
    w->node[0].log_mark = 0;
    assert_int_equal(kill(w->node[0].pid, SIGHUP), 0);
    const char *reopened[] = {"event=log_reopened", "status=OK", NULL};
    assert_int_equal(nh_log_wait(w, 1, reopened, 1, 10000), 0);

    /* the node keeps working and logs into the new file */
    bh_u128 amount = nh_units(3);
    assert_int_equal(nh_lock(w, NH_A, &w->tka, amount, NH_B, &w->user, 0, NULL), 0);
    bh_address wrapped;
    assert_int_equal(nh_wait_wrapped(w, NH_B, NH_A, &w->tka, &wrapped, 30000), 0);
    assert_int_equal(nh_wait_balance(w, NH_B, &wrapped, &w->user, amount, 30000, "mint", NULL), 0);
    const char *delivered[] = {"event=delivered", "outcome=executed", NULL};
    assert_int_equal(nh_log_wait(w, 1, delivered, 1, 10000), 0);
    struct stat st;
    assert_int_equal(stat(rotated, &st), 0);
    assert_true(st.st_size > 0);
    assert_int_equal(nh_node_stop(w, 1, 20000), 0);
}

/* SIGTERM while transfers are in flight: the node finishes its batch and
 * exits 0; after a restart every transfer is delivered exactly once. */
static void test_node_sigterm_midflow(void **state)
{
    nh_world *w = *state;
    assert_int_equal(nh_node_prepare(w, 1, 0, NULL), 0);
    assert_int_equal(nh_node_start(w, 1, 20000), 0);
    bh_u128 total = 0;
    for (unsigned i = 1; i <= 6; i++) {
        bh_u128 a = nh_units(i);
        assert_int_equal(nh_lock(w, NH_A, &w->tka, a, NH_B, &w->user, 0, NULL), 0);
        total += a;
        if (i == 3) assert_int_equal(nh_node_stop(w, 1, 30000), 0);
    }
    assert_int_equal(nh_node_start(w, 1, 20000), 0);
    bh_address wrapped;
    assert_int_equal(nh_wait_wrapped(w, NH_B, NH_A, &w->tka, &wrapped, 30000), 0);
    assert_int_equal(nh_wait_balance(w, NH_B, &wrapped, &w->user, total, 60000,
                                     "six locks after a SIGTERM restart", NULL),
                     0);
    nh_executed *ex = NULL;
    size_t n = 0;
    assert_int_equal(nh_executed_logs(w, NH_B, &ex, &n), 0);
    assert_int_equal(n, 6);
    free(ex);
    assert_int_equal(nh_node_stop(w, 1, 30000), 0);
    const char *audit[] = {"audit", NULL};
    char *out = NULL;
    assert_int_equal(nh_vaultctl(w, 1, &out, audit), 0);
    free(out);
}

/* TKA's cap toward beta in vault alpha, as vaultctl limits --json reads it. */
static bh_u128 alpha_cap_beta(nh_world *w)
{
    const char *args[] = {"limits", "alpha", "--json", NULL};
    char *out = NULL;
    assert_int_equal(nh_vaultctl(w, 1, &out, args), 0);
    json_t *j = nh_vaultctl_data(out);
    free(out);
    assert_non_null(j);
    bh_u128 cap = 0;
    size_t i, k;
    json_t *a, *l;
    json_array_foreach(json_object_get(j, "assets"), i, a)
    {
        json_array_foreach(json_object_get(a, "lanes"), k, l)
        {
            const char *c = json_string_value(json_object_get(l, "cap"));
            if (json_integer_value(json_object_get(l, "chain")) == 2 && c)
                assert_int_equal(bh_u128_from_dec(&cap, c, strlen(c)), BH_OK);
        }
    }
    json_decref(j);
    return cap;
}

static void set_config_cap(nh_world *w, const char *value)
{
    json_t *cfg = nh_node_config(w, 1);
    json_t *asset = json_array_get(
        json_object_get(json_array_get(json_object_get(cfg, "chains"), 0), "assets"), 0);
    json_t *lim = json_object_get(asset, "limits");
    if (!lim) {
        lim = json_object();
        json_object_set_new(asset, "limits", lim);
    }
    json_object_set_new(lim, "cap.2", json_string(value));
    assert_int_equal(nh_node_write_config(w, 1, cfg), 0);
}

/* A limit an operator set with vaultctl survives a restart; the config's
 * value is applied again only once the config itself changes. */
static void test_operator_limits_survive_a_restart(void **state)
{
    nh_world *w = *state;
    const bh_u128 one = nh_units(1);
    assert_int_equal(nh_node_prepare(w, 1, 0, NULL), 0);
    set_config_cap(w, "1000000000000000000");
    assert_int_equal(nh_node_start(w, 1, 20000), 0);
    assert_int_equal(nh_node_stop(w, 1, 30000), 0);
    assert_true(alpha_cap_beta(w) == one);

    const char *op[] = {"limits",  "alpha", "TKA", "cap.beta=0.5", "--reason", "tighter",
                        "--actor", "alice", NULL};
    assert_int_equal(nh_vaultctl(w, 1, NULL, op), 0);
    assert_true(alpha_cap_beta(w) == one / 2);
    assert_int_equal(nh_node_start(w, 1, 20000), 0);
    const char *kept[] = {"event=limit_kept", "vault=alpha", "key=cap.2", NULL};
    assert_int_equal(nh_log_wait(w, 1, kept, 1, 10000), 0);
    assert_int_equal(nh_node_stop(w, 1, 30000), 0);
    if (alpha_cap_beta(w) != one / 2)
        fail_msg("the restart overwrote the operator's cap with the config's unchanged one");

    /* the config changes: its new value wins, and is kept from then on */
    set_config_cap(w, "2000000000000000000");
    assert_int_equal(nh_node_start(w, 1, 20000), 0);
    assert_int_equal(nh_node_stop(w, 1, 30000), 0);
    assert_true(alpha_cap_beta(w) == 2 * one);
    char *log = nh_node_log(w, 1);
    const char *kept_any[] = {"event=limit_kept", NULL};
    assert_int_equal(nh_log_count(log, kept_any), 1); /* the second start only */
    free(log);
    const char *journal[] = {"journal", "alpha", NULL};
    char *out = NULL;
    assert_int_equal(nh_vaultctl(w, 1, &out, journal), 0);
    assert_non_null(strstr(out, "alice"));
    free(out);

    /* a vault made anew (its directory gone) under the same node store
     * gets the config's limits, whatever the node store remembers */
    char cmd[2 * NH_PATH];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/vaults/alpha'", w->node[0].data_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(nh_node_start(w, 1, 20000), 0);
    assert_int_equal(nh_node_stop(w, 1, 30000), 0);
    assert_true(alpha_cap_beta(w) == 2 * one);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BULKHEAD VAULTCTL\n", argv[0]);
        return 2;
    }
    g_bulkhead = argv[1];
    g_vaultctl = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_node_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_sighup_reopens_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_sigterm_midflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operator_limits_survive_a_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
