/* One command-line style for bulkhead, vaultctl and bulkhead-deploy (README,
 * "Command-line conventions"): every verb of each tool, as its own `TOOL
 * verbs` lists them (so a verb added later is covered without touching this
 * file), answers --version, --help and --json, names a typo's nearest verb
 * and a bad option without printing the whole usage, and prints one JSON
 * envelope on stdout with --json whatever happens, with the exit status the
 * envelope says. vaultctl runs on a data directory it made itself.
 * argv[1..3]: the bulkhead, vaultctl and bulkhead-deploy binaries. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bh_test_proc.h"
#include "vaults_helpers.h"

enum { BULKHEAD, VAULTCTL, DEPLOY, N_TOOLS };
static const char *const k_names[N_TOOLS] = {"bulkhead", "vaultctl", "bulkhead-deploy"};
static const char *g_bin[N_TOOLS];
static char *g_dir;
static bh_proc_result g_r;
static char g_version[64], g_commit[N_TOOLS][64];

/* ---- running a tool ---- */

/* tool argv... (NULL-terminated, at most 30); the exit status, output in g_r. */
static int runv(int tool, const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)g_bin[tool];
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    bh_proc_run(&g_r, argv, NULL);
    return g_r.status;
}

#define RUN(tool, ...) runv(tool, (const char *const[]){__VA_ARGS__, NULL})

/* "vaa decode" as words: argv[0..n) point into buf. */
static size_t words(char *buf, size_t cap, const char *s, const char **argv, size_t max)
{
    snprintf(buf, cap, "%s", s);
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && n < max;
         w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    return n;
}

/* The verb's words, then extra (NULL-terminated). */
static int run_verb(int tool, const char *verb, const char *const *extra)
{
    char buf[128];
    const char *argv[32];
    size_t n = words(buf, sizeof buf, verb, argv, 8);
    for (size_t i = 0; extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return runv(tool, argv);
}

#define RUN_VERB(tool, verb, ...) run_verb(tool, verb, (const char *const[]){__VA_ARGS__, NULL})

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- the envelope ---- */

static int snake_case(const char *s)
{
    if (!s || !islower((unsigned char)*s)) return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

/* stdout is exactly one envelope agreeing with exit status rc: {"ok":
 * true, "data": ...} for 0, {"ok": false, "error": {"code": snake_case,
 * "message": ...}} for 1, 2 or 3. Returns it (caller decrefs). */
static json_t *envelope(int rc, const char *what)
{
    json_error_t e;
    json_t *env = json_loads(g_r.out, JSON_REJECT_DUPLICATES, &e);
    if (!json_is_object(env))
        fail_msg("%s: stdout is not one JSON object (%s):\n%s\nstderr: %s", what, e.text, g_r.out,
                 g_r.err);
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v)
    {
        if (strcmp(k, "ok") && strcmp(k, "data") && strcmp(k, "error") && strcmp(k, "warnings"))
            fail_msg("%s: envelope has a member '%s': %s", what, k, g_r.out);
    }
    json_t *ok = json_object_get(env, "ok"), *err = json_object_get(env, "error");
    if (!json_is_boolean(ok)) fail_msg("%s: no boolean ok: %s", what, g_r.out);
    if (json_is_true(ok) != (rc == 0))
        fail_msg("%s: exit %d but ok is %s: %s", what, rc, json_is_true(ok) ? "true" : "false",
                 g_r.out);
    if (rc == 0) {
        if (!json_object_get(env, "data")) fail_msg("%s: ok without data: %s", what, g_r.out);
        if (err) fail_msg("%s: ok with an error: %s", what, g_r.out);
    } else {
        if (rc < 1 || rc > 3) fail_msg("%s: exit %d is none of 1, 2, 3", what, rc);
        const char *code = json_string_value(json_object_get(err, "code"));
        const char *msg = json_string_value(json_object_get(err, "message"));
        if (!snake_case(code)) fail_msg("%s: error code '%s' is not snake_case", what, code);
        if (!msg || !*msg) fail_msg("%s: error without a message: %s", what, g_r.out);
        json_t *arg = json_object_get(err, "arg"), *sug = json_object_get(err, "suggestion");
        if (arg && !json_is_string(arg)) fail_msg("%s: arg is not a string", what);
        if (sug && !json_is_string(sug)) fail_msg("%s: suggestion is not a string", what);
        /* the text is still on stderr */
        if (!strstr(g_r.err, msg)) fail_msg("%s: stderr lacks the message: %s", what, g_r.err);
    }
    return env;
}

static const char *err_member(const json_t *env, const char *key)
{
    return json_string_value(json_object_get(json_object_get(env, "error"), key));
}

static void expect_error(int rc, int want_rc, const char *code, const char *arg, const char *what)
{
    if (rc != want_rc)
        fail_msg("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, rc, want_rc, g_r.out,
                 g_r.err);
    json_t *env = envelope(rc, what);
    if (strcmp(err_member(env, "code"), code))
        fail_msg("%s: error code %s, want %s", what, err_member(env, "code"), code);
    if (arg && (!err_member(env, "arg") || strcmp(err_member(env, "arg"), arg)))
        fail_msg("%s: error arg %s, want %s", what, err_member(env, "arg"), arg);
    json_decref(env);
}

/* A usage error in text: one line on stderr naming where the help is, not
 * the whole usage; nothing on stdout. */
static void one_line_usage_error(int tool, const char *verb, const char *what)
{
    char hint[128];
    snprintf(hint, sizeof hint, "(see '%s%s%s --help')\n", k_names[tool], verb ? " " : "",
             verb ? verb : "");
    if (g_r.status != 2) fail_msg("%s: exit %d, want 2: %s", what, g_r.status, g_r.err);
    if (lines(g_r.err) != 1 || !strstr(g_r.err, hint))
        fail_msg("%s: stderr is not one line ending %s: %s", what, hint, g_r.err);
    if (strstr(g_r.err, "usage:")) fail_msg("%s: the whole usage on stderr: %s", what, g_r.err);
    if (g_r.out_len) fail_msg("%s: stdout not empty: %s", what, g_r.out);
}

/* ---- the verb listing ---- */

/* `TOOL verbs --json`: [{"verb", "usage", "writes"}]; the text listing
 * says the same names, one a line. Caller decrefs. */
static json_t *verbs_of(int tool)
{
    int rc = RUN(tool, "verbs", "--json");
    json_t *env = envelope(rc, "verbs --json");
    assert_int_equal(rc, 0);
    json_t *list = json_incref(json_object_get(env, "data"));
    json_decref(env);
    assert_true(json_array_size(list) > 0);
    assert_int_equal(RUN(tool, "verbs"), 0);
    char want[4096] = "";
    size_t off = 0, i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "verb"));
        assert_non_null(name);
        assert_true(json_is_boolean(json_object_get(v, "writes")));
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s ", k_names[tool]);
        assert_true(
            !strncmp(json_string_value(json_object_get(v, "usage")), prefix, strlen(prefix)));
        off += (size_t)snprintf(want + off, sizeof want - off, "%s\n", name);
    }
    assert_string_equal(g_r.out, want);
    return list;
}

/* A typo of word: two neighbouring letters swapped (the first pair that
 * differ). */
static void typo_of(char *out, size_t cap, const char *word)
{
    snprintf(out, cap, "%s", word);
    for (size_t i = 1; out[i] && out[i + 1]; i++)
        if (out[i] != out[i + 1]) {
            char c = out[i];
            out[i] = out[i + 1];
            out[i + 1] = c;
            return;
        }
    out[strlen(out) - 1] = '\0'; /* "aa…": drop a letter */
}

/* ---- the checks ---- */

/* --version, --help, no verb, an unknown option: the tool itself. */
static void check_tool(int tool)
{
    const char *name = k_names[tool];
    int rc = RUN(tool, "--version", "--json");
    json_t *env = envelope(rc, "--version --json");
    assert_int_equal(rc, 0);
    json_t *d = json_object_get(env, "data");
    assert_string_equal(json_string_value(json_object_get(d, "tool")), name);
    const char *version = json_string_value(json_object_get(d, "version"));
    const char *commit = json_string_value(json_object_get(d, "commit"));
    assert_non_null(version);
    assert_non_null(commit);
    /* 12 hex digits, -dirty when the tree had changes; unknown outside git */
    size_t hex = strspn(commit, "0123456789abcdef");
    if (strcmp(commit, "unknown") &&
        !(hex == 12 && (!commit[12] || !strcmp(commit + 12, "-dirty"))))
        fail_msg("%s --version: '%s' is not a commit", name, commit);
    snprintf(g_commit[tool], sizeof g_commit[tool], "%s", commit);
    if (!g_version[0]) snprintf(g_version, sizeof g_version, "%s", version);
    assert_string_equal(version, g_version); /* one project version */
    json_decref(env);
    char want[256];
    snprintf(want, sizeof want, "%s %s (%s)\n", name, g_version, g_commit[tool]);
    assert_int_equal(RUN(tool, "--version"), 0);
    assert_string_equal(g_r.out, want);

    assert_int_equal(RUN(tool, "--help"), 0);
    snprintf(want, sizeof want, "usage: %s ", name);
    if (strncmp(g_r.out, want, strlen(want))) fail_msg("%s --help: %s", name, g_r.out);
    rc = RUN(tool, "--help", "--json");
    env = envelope(rc, "--help --json");
    assert_non_null(json_string_value(json_object_get(json_object_get(env, "data"), "help")));
    json_decref(env);

    RUN(tool, (const char *)NULL);
    one_line_usage_error(tool, NULL, "no verb");
    expect_error(RUN(tool, "--json"), 2, "missing_verb", NULL, "no verb --json");
    RUN(tool, "--frobnicate");
    one_line_usage_error(tool, NULL, "an unknown option");
    expect_error(RUN(tool, "--frobnicate", "--json"), 2, "unknown_option", "--frobnicate",
                 "an unknown option --json");
    RUN(tool, "zzzzzz");
    one_line_usage_error(tool, NULL, "an unknown verb");
    expect_error(RUN(tool, "zzzzzz", "--json"), 2, "unknown_verb", "zzzzzz", "zzzzzz --json");
}

/* Every verb: its help (its usage only), --version, a typo of its name,
 * a typo of an option, and --json with no other argument. */
static void check_verbs(int tool)
{
    if (!g_commit[tool][0]) check_tool(tool); /* the version to expect */
    json_t *list = verbs_of(tool);
    size_t i, k;
    json_t *v, *w;
    json_array_foreach(list, i, v)
    {
        const char *verb = json_string_value(json_object_get(v, "verb"));
        char what[160];
        /* help: this verb's usage, no other's; exit 0 */
        snprintf(what, sizeof what, "%s %s --help", k_names[tool], verb);
        if (RUN_VERB(tool, verb, "--help") != 0) fail_msg("%s: exit %d", what, g_r.status);
        if (strncmp(g_r.out, "usage: ", 7) || !strstr(g_r.out, verb))
            fail_msg("%s: not the verb's usage: %s", what, g_r.out);
        json_array_foreach(list, k, w)
        {
            const char *u = json_string_value(json_object_get(w, "usage"));
            if (k != i && strstr(g_r.out, u))
                fail_msg("%s: prints another verb's usage (%s), not its own alone", what, u);
        }
        int rc = RUN_VERB(tool, verb, "--help", "--json");
        json_t *env = envelope(rc, what);
        assert_true(json_is_object(json_object_get(env, "data")));
        json_decref(env);

        /* --version anywhere */
        snprintf(what, sizeof what, "%s %s --version", k_names[tool], verb);
        if (RUN_VERB(tool, verb, "--version") != 0) fail_msg("%s: exit %d", what, g_r.status);
        char ver[160];
        snprintf(ver, sizeof ver, " %s (%s)\n", g_version, g_commit[tool]);
        if (!strstr(g_r.out, ver)) fail_msg("%s: %s", what, g_r.out);

        /* a typo of the verb: its nearest verb is suggested */
        char buf[128], typo[64], full[160];
        const char *argv[16];
        size_t n = words(buf, sizeof buf, verb, argv, 8);
        typo_of(typo, sizeof typo, argv[n - 1]);
        argv[n - 1] = typo;
        argv[n] = NULL;
        snprintf(what, sizeof what, "%s typo '%s' of '%s'", k_names[tool], typo, verb);
        snprintf(full, sizeof full, "did you mean '%s'?", verb);
        if (runv(tool, argv) != 2 || !strstr(g_r.err, full))
            fail_msg("%s: exit %d, stderr: %s", what, g_r.status, g_r.err);
        if (lines(g_r.err) != 1) fail_msg("%s: more than one line: %s", what, g_r.err);
        argv[n] = "--json";
        argv[n + 1] = NULL;
        rc = runv(tool, argv);
        env = envelope(rc, what);
        assert_int_equal(rc, 2);
        assert_string_equal(err_member(env, "code"), "unknown_verb");
        assert_string_equal(err_member(env, "arg"), typo);
        assert_string_equal(err_member(env, "suggestion"), verb);
        json_decref(env);

        /* a typo of an option: named, the near one suggested, one line */
        snprintf(what, sizeof what, "%s %s --jsno", k_names[tool], verb);
        RUN_VERB(tool, verb, "--jsno");
        if (!strstr(g_r.err, "unknown option '--jsno'; did you mean '--json'?"))
            fail_msg("%s: %s", what, g_r.err);
        if (g_r.status != 2 || lines(g_r.err) != 1 || strstr(g_r.err, "usage:"))
            fail_msg("%s: exit %d, stderr: %s", what, g_r.status, g_r.err);
        rc = RUN_VERB(tool, verb, "--jsno", "--json");
        env = envelope(rc, what);
        assert_string_equal(err_member(env, "code"), "unknown_option");
        assert_string_equal(err_member(env, "arg"), "--jsno");
        assert_string_equal(err_member(env, "suggestion"), "--json");
        json_decref(env);

        /* --dry-run: taken by every verb that writes, refused by the others */
        snprintf(what, sizeof what, "%s %s --dry-run --json", k_names[tool], verb);
        rc = RUN_VERB(tool, verb, "--dry-run", "--json");
        env = envelope(rc, what);
        const char *arg = err_member(env, "arg");
        int refused = rc == 2 && arg && !strcmp(arg, "--dry-run");
        if (json_is_true(json_object_get(v, "writes")) ? refused : !refused)
            fail_msg("%s: %s --dry-run (exit %d): %s", what,
                     refused ? "a writing verb refuses" : "a reading verb takes", rc, g_r.out);
        json_decref(env);

        /* --json alone: one envelope whatever the verb makes of no arguments */
        snprintf(what, sizeof what, "%s %s --json", k_names[tool], verb);
        rc = RUN_VERB(tool, verb, "--json");
        json_decref(envelope(rc, what));
        if (rc == 2 && lines(g_r.err) != 1)
            fail_msg("%s: a usage error of more than one line: %s", what, g_r.err);
    }
    json_decref(list);
}

/* ---- the tests ---- */

static int setup(void **state)
{
    (void)state;
    g_dir = vt_tmpdir();
    setenv("BULKHEAD_DATA_DIR", g_dir, 1);
    setenv("VAULTCTL_NOW", "1800000000", 1);
    /* a data directory made by the tool itself */
    int rc = RUN(VAULTCTL, "init", "eth", "--chain-id", "2", "--json");
    json_t *env = envelope(rc, "init --json");
    assert_int_equal(rc, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(env, "data"), "vault")),
                        "eth");
    json_decref(env);
    assert_int_equal(RUN(VAULTCTL, "init", "sol", "--chain-id", "1"), 0);
    assert_int_equal(
        RUN(VAULTCTL, "asset", "add", "eth", "0xa0b8", "--decimals", "6", "--symbol", "USDC"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_rmrf(g_dir);
    free(g_dir);
    return 0;
}

static void test_cli_tools(void **state)
{
    (void)state;
    for (int t = 0; t < N_TOOLS; t++)
        check_tool(t);
}

static void test_cli_bulkhead_verbs(void **state)
{
    (void)state;
    check_verbs(BULKHEAD);
}

static void test_cli_vaultctl_verbs(void **state)
{
    (void)state;
    check_verbs(VAULTCTL);
}

static void test_cli_deploy_verbs(void **state)
{
    (void)state;
    check_verbs(DEPLOY);
}

/* Each reading verb's data, on the data directory: the envelope carries
 * what --json printed before (arrays stay arrays, objects objects). */
static void test_cli_vaultctl_data(void **state)
{
    (void)state;
    static const struct {
        const char *args[6];
        int array;
    } k_reads[] = {
        {{"list"}, 1},           {{"show", "eth"}, 0},   {{"pending"}, 1},
        {{"outbox", "eth"}, 1},  {{"parked", "eth"}, 1}, {{"limits", "eth"}, 0},
        {{"journal", "eth"}, 1}, {{"audit"}, 1},         {{"export", "eth"}, 0},
    };
    for (size_t i = 0; i < sizeof k_reads / sizeof k_reads[0]; i++) {
        const char *a[8];
        size_t n = 0;
        for (; k_reads[i].args[n]; n++)
            a[n] = k_reads[i].args[n];
        a[n++] = "--json";
        a[n] = NULL;
        int rc = runv(VAULTCTL, a);
        json_t *env = envelope(rc, a[0]);
        if (rc) fail_msg("vaultctl %s --json: exit %d: %s", a[0], rc, g_r.err);
        json_t *d = json_object_get(env, "data");
        if (k_reads[i].array ? !json_is_array(d) : !json_is_object(d))
            fail_msg("vaultctl %s --json: data is not an %s", a[0],
                     k_reads[i].array ? "array" : "object");
        json_decref(env);
    }
    /* a writing verb's data says what changed */
    int rc = RUN(VAULTCTL, "freeze", "sol", "--reason", "drill", "--json");
    json_t *env = envelope(rc, "freeze --json");
    assert_int_equal(rc, 0);
    json_t *d = json_object_get(env, "data");
    assert_int_equal(json_integer_value(json_object_get(d, "chain")), 1);
    assert_int_equal(json_array_size(json_object_get(d, "vaults")), 2);
    json_decref(env);
    rc = RUN(VAULTCTL, "limits", "eth", "USDC", "cap.sol=5", "--json");
    env = envelope(rc, "limits set --json");
    assert_int_equal(rc, 0);
    json_decref(env);
    /* `bulkhead vaultctl` is vaultctl: the same envelope */
    assert_int_equal(RUN(VAULTCTL, "show", "eth", "--json"), 0);
    char *local = strdup(g_r.out);
    assert_int_equal(RUN(BULKHEAD, "vaultctl", "show", "eth", "--json"), 0);
    assert_string_equal(g_r.out, local);
    free(local);
}

/* Everything a dry run could change: both vaults' export, outbox and
 * files. Caller frees. */
static char *snapshot(void)
{
    size_t cap = 1 << 20, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    static const char *const k_vaults[] = {"eth", "sol"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(RUN(VAULTCTL, "export", k_vaults[i], "--json"), 0);
        n += (size_t)snprintf(s + n, cap - n, "%s", g_r.out);
        assert_int_equal(RUN(VAULTCTL, "outbox", k_vaults[i], "--json"), 0);
        n += (size_t)snprintf(s + n, cap - n, "%s", g_r.out);
        char p[700];
        snprintf(p, sizeof p, "%s/vaults/%s/data.mdb", g_dir, k_vaults[i]);
        FILE *f = fopen(p, "rb");
        assert_non_null(f);
        size_t r;
        unsigned char buf[4096];
        unsigned long long sum = 1469598103934665603ull; /* FNV-1a of the file */
        while ((r = fread(buf, 1, sizeof buf, f)) > 0)
            for (size_t k = 0; k < r; k++)
                sum = (sum ^ buf[k]) * 1099511628211ull;
        fclose(f);
        n += (size_t)snprintf(s + n, cap - n, "%s %llx\n", p, sum);
        assert_true(n < cap);
    }
    return s;
}

/* Every writing verb of vaultctl with --dry-run: the same checks (a bad
 * argument is refused as without it), the result it would have, and
 * nothing written. */
static void test_cli_vaultctl_dry_run(void **state)
{
    (void)state;
    /* something for each verb to act on: a delayed transfer (eth/1), an
     * outbox entry and a parked one */
    assert_int_equal(
        RUN(VAULTCTL, "limits", "eth", "USDC", "big_threshold=1", "big_delay=2h", "cap.sol=100"),
        0);
    bh_vault *v = vt_open(g_dir, "eth", NULL);
    bh_bytes32 tok;
    memset(&tok, 0, sizeof tok);
    tok.data[30] = 0xa0;
    tok.data[31] = 0xb8;
    bh_transfer_msg m[3];
    bh_vault_result r[3];
    for (int i = 0; i < 3; i++) {
        m[i] = vt_msg(2, 2, 1, (uint64_t)i + 1, i ? 500000 : 2000000, 0, 0);
        m[i].transfer.token = tok;
    }
    assert_int_equal(bh_vault_apply(v, r, m, 3, 1800000000u), BH_OK);
    assert_int_equal(r[0].status, BH_VAULT_DELAYED);
    bh_vault_outbox_entry ob[4];
    size_t n;
    assert_int_equal(bh_vault_outbox_peek(v, ob, 4, &n), BH_OK);
    assert_int_equal(n, 2);
    assert_int_equal(bh_vault_outbox_park(v, ob[1].id, 1800000060u, 3, "refused", "node"), BH_OK);
    bh_vault_close(v);
    char out_id[32], parked_id[32];
    snprintf(out_id, sizeof out_id, "%llu", (unsigned long long)ob[0].id);
    snprintf(parked_id, sizeof parked_id, "%llu", (unsigned long long)ob[1].id);

    char *before = snapshot();
    static const char *const k_writes[][10] = {
        {"init", "new", "--chain-id", "5"},
        {"asset", "add", "eth", "0xbeef", "--decimals", "18", "--symbol", "BEEF"},
        {"release", "eth/1", "--reason", "checked"},
        {"retime", "eth/1", "0.5"},
        {"drop", "eth/1"},
        {"outbox", "eth", "drop", NULL, "--reason", "stuck"},
        {"requeue", "eth", NULL},
        {"freeze", "sol", "--reason", "drill"},
        {"limits", "eth", "USDC", "cap.sol=7", "min_amount=0.5"},
        {"limits", "eth", "vault", "msg_limit=9"},
        {"migrate"},
    };
    for (size_t i = 0; i < sizeof k_writes / sizeof k_writes[0]; i++) {
        const char *a[16];
        size_t k = 0;
        for (; k < 10; k++) {
            /* NULL in the middle: the outbox entry's or the parked one's id */
            const char *w = k_writes[i][k];
            if (!w && k == 3 && !strcmp(k_writes[i][0], "outbox")) w = out_id;
            if (!w && k == 2 && !strcmp(k_writes[i][0], "requeue")) w = parked_id;
            if (!w) break;
            a[k] = w;
        }
        a[k++] = "--dry-run";
        a[k++] = "--json";
        a[k] = NULL;
        int rc = runv(VAULTCTL, a);
        json_t *env = envelope(rc, a[0]);
        if (rc) fail_msg("vaultctl %s --dry-run: exit %d: %s", a[0], rc, g_r.err);
        if (!json_is_true(json_object_get(json_object_get(env, "data"), "dry_run")))
            fail_msg("vaultctl %s --dry-run: data does not say dry_run: %s", a[0], g_r.out);
        json_decref(env);
        a[k - 1] = NULL; /* the text says it too */
        assert_int_equal(runv(VAULTCTL, a), 0);
        if (strncmp(g_r.out, "dry run: ", 9)) fail_msg("vaultctl %s --dry-run: %s", a[0], g_r.out);
    }
    /* what it would do is what it then does */
    assert_int_equal(RUN(VAULTCTL, "release", "eth/1", "--dry-run", "--json"), 0);
    json_t *env = envelope(0, "release");
    assert_string_equal(json_string_value(json_object_get(json_object_get(env, "data"), "status")),
                        "released");
    json_decref(env);
    /* the same validator: refused as it would be for real */
    expect_error(RUN(VAULTCTL, "limits", "eth", "USDC", "cap.9=5", "--dry-run", "--json"), 2,
                 "limit_invalid", "cap.9=5", "a lane to no chain");
    expect_error(RUN(VAULTCTL, "release", "eth/9", "--dry-run", "--json"), 2, "unknown_pending",
                 "eth/9", "no such pending");
    expect_error(RUN(VAULTCTL, "init", "eth", "--chain-id", "2", "--dry-run", "--json"), 1,
                 "vault_exists", "eth", "a vault that exists");
    expect_error(RUN(VAULTCTL, "init", "dup", "--chain-id", "1", "--dry-run", "--json"), 1,
                 "chain_id_taken", "--chain-id", "a chain id taken");
    expect_error(
        RUN(VAULTCTL, "asset", "add", "eth", "0xa0b8", "--decimals", "6", "--dry-run", "--json"), 1,
        "asset_exists", "0xa0b8", "an asset registered");
    expect_error(RUN(VAULTCTL, "unfreeze", "sol", "--reason", "x", "--dry-run", "--json"), 1,
                 "not_quarantined", "sol", "nothing to unfreeze");
    /* and nothing was written, not a byte */
    char *after = snapshot();
    assert_string_equal(after, before);
    char p[700];
    snprintf(p, sizeof p, "%s/vaults/new", g_dir);
    assert_int_equal(access(p, F_OK), -1);
    free(after);
    /* the same without --dry-run writes, and a dry run sees it */
    assert_int_equal(RUN(VAULTCTL, "release", "eth/1", "--reason", "checked"), 0);
    expect_error(RUN(VAULTCTL, "release", "eth/1", "--dry-run", "--json"), 2, "unknown_pending",
                 "eth/1", "released already");
    char *done = snapshot();
    assert_string_not_equal(done, before);
    free(done);
    free(before);
}

/* bulkhead-deploy --dry-run: the options and the key file checked, what
 * would be sent printed, no chain contacted (there is none at --rpc). */
static void test_cli_deploy_dry_run(void **state)
{
    (void)state;
    char key[600];
    snprintf(key, sizeof key, "%s/deployer.key", g_dir);
    FILE *f = fopen(key, "w");
    assert_non_null(f);
    fputs("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318\n", f);
    fclose(f);
    chmod(key, 0600);
    assert_int_equal(RUN(DEPLOY, "address", "--key-file", key, "--json"), 0);
    json_t *env = envelope(0, "address");
    char from[64];
    snprintf(from, sizeof from, "%s",
             json_string_value(json_object_get(json_object_get(env, "data"), "address")));
    json_decref(env);
    const char *portal = "0x1111111111111111111111111111111111111111";
    int rc = RUN(DEPLOY, "lock", "--rpc", "http://127.0.0.1:1", "--chain-id", "31337", "--key-file",
                 key, "--portal", portal, "--token",
                 "0x000000000000000000000000a0b8a0b8a0b8a0b8a0b8a0b8a0b8a0b8a0b8a0b8", "--amount",
                 "10", "--to-chain", "2", "--to", portal, "--dry-run", "--json");
    env = envelope(rc, "lock --dry-run");
    assert_int_equal(rc, 0);
    json_t *d = json_object_get(env, "data");
    assert_true(json_is_true(json_object_get(d, "dry_run")));
    assert_string_equal(json_string_value(json_object_get(d, "from")), from);
    /* a 32-byte padded token is the 20-byte address */
    assert_string_equal(json_string_value(json_object_get(d, "token")),
                        "0xa0b8a0b8a0b8a0b8a0b8a0b8a0b8a0b8a0b8a0b8");
    json_decref(env);
    /* still every check: a key file open to others, a fee above the amount */
    chmod(key, 0644);
    expect_error(RUN(DEPLOY, "register", "--rpc", "http://127.0.0.1:1", "--chain-id", "1",
                     "--key-file", key, "--portal", portal, "--remote-chain", "2",
                     "--remote-portal", portal, "--dry-run", "--json"),
                 2, "key_file_invalid", "--key-file", "a loose key file");
    expect_error(RUN(DEPLOY, "burn", "--rpc", "x", "--chain-id", "1", "--key-file", key, "--portal",
                     portal, "--token", portal, "--amount", "1", "--fee", "2", "--to-chain", "2",
                     "--to", portal, "--dry-run", "--json"),
                 2, "bad_argument", "--fee", "a fee above the amount");
}

/* The same identifiers everywhere: tokens and emitters as 20-byte
 * addresses (either form accepted), chains by name wherever an id is
 * taken, and names beside ids in JSON. */
static void test_cli_identifiers(void **state)
{
    (void)state;
    const char *addr = "0x00000000000000000000000000000000c0ffee00";
    const char *padded = "0x00000000000000000000000000000000000000000000000000000000c0ffee00";
    assert_int_equal(RUN(VAULTCTL, "asset", "add", "sol", padded, "--decimals", "9"), 0);
    expect_error(RUN(VAULTCTL, "asset", "add", "1", addr, "--decimals", "9", "--json"), 1,
                 "asset_exists", addr, "the 20-byte form of the same token, sol by its id");
    int rc = RUN(VAULTCTL, "show", "1", "--json"); /* sol, by its chain id */
    json_t *env = envelope(rc, "show 1");
    assert_int_equal(rc, 0);
    json_t *d = json_object_get(env, "data");
    assert_string_equal(json_string_value(json_object_get(d, "name")), "sol");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(d, "assets"), 0), "token")),
                        addr);
    json_decref(env);
    rc = RUN(VAULTCTL, "show", "eth", "--json");
    env = envelope(rc, "show eth");
    json_t *usdc = json_array_get(json_object_get(json_object_get(env, "data"), "assets"), 0);
    assert_string_equal(json_string_value(json_object_get(usdc, "token")),
                        "0x000000000000000000000000000000000000a0b8");
    json_decref(env);
    /* the text says the address too, and an asset is found by it */
    assert_int_equal(RUN(VAULTCTL, "show", "sol"), 0);
    if (!strstr(g_r.out, addr)) fail_msg("show sol: no %s in %s", addr, g_r.out);
    assert_int_equal(RUN(VAULTCTL, "limits", "sol", addr, "--json"), 0);
    assert_int_equal(RUN(VAULTCTL, "limits", "sol", padded, "--json"), 0);

    /* chains by name or id: freeze, a lane key, a vault */
    assert_int_equal(RUN(VAULTCTL, "limits", "eth", "USDC", "cap.sol=3", "window.1=2"), 0);
    rc = RUN(VAULTCTL, "limits", "2", "USDC", "--json");
    env = envelope(rc, "limits 2");
    assert_int_equal(rc, 0);
    json_t *lane = json_array_get(
        json_object_get(json_array_get(json_object_get(json_object_get(env, "data"), "assets"), 0),
                        "lanes"),
        0);
    assert_int_equal(json_integer_value(json_object_get(lane, "chain")), 1);
    assert_string_equal(json_string_value(json_object_get(lane, "chain_name")), "sol");
    assert_string_equal(json_string_value(json_object_get(lane, "cap")), "3000000");
    assert_string_equal(json_string_value(json_object_get(lane, "window")), "2000000");
    json_decref(env);
    assert_int_equal(RUN(VAULTCTL, "freeze", "1", "--reason", "drill", "--json"), 0);
    env = envelope(0, "freeze 1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(env, "data"), "chain_name")), "sol");
    json_decref(env);
    /* the journal names the chain it froze */
    rc = RUN(VAULTCTL, "journal", "eth", "--json");
    env = envelope(rc, "journal eth");
    size_t i, named = 0;
    json_t *row;
    json_array_foreach(json_object_get(env, "data"), i, row)
    {
        const char *kind = json_string_value(json_object_get(row, "kind"));
        if (kind && !strcmp(kind, "freeze"))
            named += !strcmp(json_string_value(json_object_get(row, "chain_name")), "sol");
    }
    assert_int_equal(named, 1);
    json_decref(env);
}

/* --actor goes before the verb too (as in `vaultctl --node URL --actor A
 * VERB`); an option of a verb given before it is refused by name, with no
 * suggestion of itself. */
static void test_cli_global_actor(void **state)
{
    (void)state;
    assert_int_equal(RUN(VAULTCTL, "--actor", "dora", "freeze", "sol", "--reason", "drill"), 0);
    int rc = RUN(VAULTCTL, "journal", "eth", "--json");
    json_t *env = envelope(rc, "journal eth");
    size_t i, by_dora = 0;
    json_t *row;
    json_array_foreach(json_object_get(env, "data"), i, row)
    {
        const char *kind = json_string_value(json_object_get(row, "kind"));
        const char *actor = json_string_value(json_object_get(row, "actor"));
        if (kind && actor && !strcmp(kind, "freeze")) by_dora += !strcmp(actor, "dora");
    }
    assert_int_equal(by_dora, 1);
    json_decref(env);
    expect_error(RUN(VAULTCTL, "--reason", "x", "list", "--json"), 2, "unknown_option", "--reason",
                 "a verb's option before the verb");
    env = envelope(2, "a verb's option before the verb");
    assert_null(err_member(env, "suggestion"));
    json_decref(env);
}

/* The exit statuses: 1 refused, 2 wrong input, 3 the environment; and
 * `check` and `run` agree on a config. */
static void test_cli_exit_statuses(void **state)
{
    (void)state;
    expect_error(RUN(VAULTCTL, "show", "nope", "--json"), 2, "unknown_chain", "nope",
                 "an unknown chain");
    expect_error(RUN(VAULTCTL, "init", "eth", "--chain-id", "2", "--json"), 1, "vault_exists",
                 "eth", "a vault that exists");
    expect_error(RUN(VAULTCTL, "-d", "/nonexistent/bh", "list", "--json"), 3, "data_dir_missing",
                 "/nonexistent/bh", "no data directory");
    expect_error(RUN(VAULTCTL, "unfreeze", "sol", "--reason", "x", "--json"), 1, "not_quarantined",
                 "sol", "nothing to unfreeze");
    expect_error(RUN(BULKHEAD, "vaa", "decode", "01", "--json"), 1, "truncated", NULL,
                 "a malformed VAA");
    expect_error(RUN(DEPLOY, "lock", "--rpc", "http://127.0.0.1:1", "--portal", "0x12", "--json"),
                 2, "bad_argument", "--portal", "a bad address");

    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad.json", g_dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("{\"node\": {\"data_dir\": \"/tmp\"}, \"chians\": []}\n", f);
    fclose(f);
    const char *paths[] = {bad, "/nonexistent/config.json"};
    for (size_t i = 0; i < 2; i++) {
        int rc_check = RUN(BULKHEAD, "check", "-c", paths[i], "--json");
        json_t *ec = envelope(rc_check, "check a bad config");
        int rc_run = RUN(BULKHEAD, "run", "-c", paths[i], "--json");
        json_t *er = envelope(rc_run, "run a bad config");
        assert_int_equal(rc_check, 2);
        assert_int_equal(rc_run, rc_check);
        assert_string_equal(err_member(ec, "code"), "config_invalid");
        assert_string_equal(err_member(er, "code"), err_member(ec, "code"));
        assert_string_equal(err_member(er, "message"), err_member(ec, "message"));
        json_decref(ec);
        json_decref(er);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s BULKHEAD VAULTCTL BULKHEAD-DEPLOY\n", argv[0]);
        return 2;
    }
    for (int t = 0; t < N_TOOLS; t++)
        g_bin[t] = argv[t + 1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_tools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_bulkhead_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_vaultctl_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_deploy_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_vaultctl_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_exit_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_global_actor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_identifiers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_vaultctl_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_deploy_dry_run, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
