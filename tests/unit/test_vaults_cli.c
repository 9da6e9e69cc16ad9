/* vaultctl as an operator uses it: every verb, help, bad arguments, unknown
 * chains, bad data dirs, and use while another process writes.
 * argv[1]: path of the vaultctl binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bh_be.h"
#include "bh_test_proc.h"
#include "vaults_helpers.h"

#define NOW 1800000000ull
#define ETH 2
#define SOL 1

static const char *g_vaultctl;
static char *g_dir;
static bh_proc_result g_r;
static bh_bytes32 g_tok; /* USDC, home eth, 6 decimals */

/* Run vaultctl -d DIR args...; returns the exit status, output in g_r. */
static int vc(const char *first, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)g_vaultctl;
    argv[n++] = "-d";
    argv[n++] = g_dir;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    bh_proc_run(&g_r, argv, NULL);
    return g_r.status;
}

#define VC(want, ...)                                                                              \
    do {                                                                                           \
        int st_ = vc(__VA_ARGS__, NULL);                                                           \
        if (st_ != (want))                                                                         \
            fail_msg("vaultctl exit %d, want %d\nstdout: %s\nstderr: %s", st_, (want), g_r.out,    \
                     g_r.err);                                                                     \
    } while (0)

static void out_has(const char *s)
{
    if (!strstr(g_r.out, s)) fail_msg("stdout lacks '%s':\n%s", s, g_r.out);
}

static void err_has(const char *s)
{
    if (!strstr(g_r.err, s)) fail_msg("stderr lacks '%s':\n%s", s, g_r.err);
}

/* stdout as JSON (export's text output is its document). */
static json_t *out_doc(void)
{
    json_error_t e;
    json_t *j = json_loads(g_r.out, 0, &e);
    if (!j) fail_msg("not JSON (%s): %s", e.text, g_r.out);
    return j;
}

/* The data of a --json run's envelope {"ok": true, "data": ...}. */
static json_t *out_json(void)
{
    json_t *env = out_doc();
    if (!json_is_true(json_object_get(env, "ok"))) fail_msg("envelope not ok: %s", g_r.out);
    json_t *d = json_incref(json_object_get(env, "data"));
    json_decref(env);
    if (!d) fail_msg("envelope without data: %s", g_r.out);
    return d;
}

/* The error of a --json run's envelope: its code, and its arg if want_arg. */
static void out_error(const char *code, const char *want_arg)
{
    json_t *env = out_doc();
    json_t *e = json_object_get(env, "error");
    if (!json_is_false(json_object_get(env, "ok")) || !e) fail_msg("no error: %s", g_r.out);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    if (want_arg) assert_string_equal(json_string_value(json_object_get(e, "arg")), want_arg);
    json_decref(env);
}

static bh_vault *open_eth(void)
{
    return vt_open(g_dir, "eth", NULL);
}

static int setup(void **state)
{
    (void)state;
    g_dir = vt_tmpdir();
    setenv("VAULTCTL_NOW", "1800000000", 1);
    VC(0, "init", "eth", "--chain-id", "2", "--actor", "ops", "--reason", "genesis");
    out_has("created vault eth");
    VC(0, "init", "sol", "--chain-id", "1");
    VC(0, "asset", "add", "eth", "0xa0b8", "--decimals", "6", "--symbol", "USDC");
    memset(&g_tok, 0, sizeof g_tok);
    g_tok.data[30] = 0xa0;
    g_tok.data[31] = 0xb8;
    /* 1.5 USDC locked on eth for sol */
    bh_vault *v = open_eth();
    bh_transfer_msg m = vt_msg(ETH, ETH, SOL, 1, 1500000, 0, 0);
    m.transfer.token = g_tok;
    bh_vault_result r;
    assert_int_equal(bh_vault_apply(v, &r, &m, 1, NOW), BH_OK);
    assert_int_equal(r.status, BH_VAULT_ACCEPTED);
    bh_vault_close(v);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_rmrf(g_dir);
    free(g_dir);
    return 0;
}

static bh_vault_result apply_eth(uint16_t src, uint16_t dst, uint64_t seq, bh_u128 amount)
{
    bh_vault *v = open_eth();
    bh_transfer_msg m = vt_msg(src, ETH, dst, seq, amount, 0, 0);
    m.transfer.token = g_tok;
    bh_vault_result r;
    assert_int_equal(bh_vault_apply(v, &r, &m, 1, NOW), BH_OK);
    bh_vault_close(v);
    return r;
}

static void test_help_and_usage(void **state)
{
    (void)state;
    VC(0, "--help");
    out_has("Exit status");
    out_has("asset add CHAIN TOKEN");
    out_has("parked CHAIN");
    out_has("requeue CHAIN N");
    const char *verbs[] = {"init",    "asset",   "list",  "show",   "pending", "parked",
                           "requeue", "release", "drop",  "retime", "freeze",  "unfreeze",
                           "limits",  "journal", "audit", "export", "outbox"};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        VC(0, verbs[i], "--help");
        out_has("usage: vaultctl");
        out_has(verbs[i]);
    }
    VC(2, "frobnicate");
    err_has("unknown verb 'frobnicate'");
    VC(2, "shwo", "eth");
    err_has("unknown verb 'shwo'; did you mean 'show'? (see 'vaultctl --help')");
    VC(2, "lsit", "--json");
    out_error("unknown_verb", "lsit");
    VC(0, "--version");
    out_has("vaultctl 0.");
    VC(2, "--bogus", "list");
    VC(2, "list", "--bogus");
    err_has("unknown option '--bogus'");
    VC(2, "show");
    err_has("vaultctl show: missing CHAIN (see 'vaultctl show --help')");
    assert_null(strstr(g_r.err, "usage:")); /* the problem, not the usage */
    VC(2, "show", "--json");
    out_error("missing_argument", "CHAIN");
    VC(2, "show", "eth", "sol");
    err_has("unexpected argument 'sol'");
    VC(2, "journal", "eth", "--since", "x", "--json");
    out_error("bad_argument", "--since");
    VC(2, "journal", "eth", "--since");
    err_has("--since needs a value");
    VC(2, "retime", "eth/1", "soon");
    VC(2, "retime", "eth/1", "-1");
    VC(2, "release", "eth/zero");
    VC(2, "init", "new");
    err_has("--chain-id");
    VC(2, "init", "new", "--json");
    out_error("missing_argument", "--chain-id");
    VC(2, "init", "Bad!", "--chain-id", "5");
    VC(2, "init", "new", "--chain-id", "70000");
    VC(1, "init", "eth", "--chain-id", "2");
    err_has("already exists");
    VC(1, "init", "eth", "--chain-id", "2", "--json");
    out_error("vault_exists", "eth");
    VC(1, "init", "dup", "--chain-id", "2");
    err_has("already belongs to vault eth");
    VC(2, "asset", "add", "eth", "0xzz", "--decimals", "6");
    VC(2, "asset", "add", "eth", "0x01", "--decimals", "99");
    VC(2, "asset", "add", "eth", "0x01");
    VC(1, "asset", "add", "eth", "0xa0b8", "--decimals", "6");
    err_has("already registered");
    VC(2, "freeze", "sol");
    err_has("--reason");
    VC(2, "limits", "eth", "USDC", "frob.1=3");
    err_has("unknown key");
    VC(2, "limits", "eth", "USDC", "cap.1=1.0000001");  /* more digits than decimals */
    VC(2, "limits", "eth", "USDC", "cap.1=1", "cap=2"); /* validated before any is set */
    VC(2, "limits", "eth", "NOPE");
    err_has("unknown asset 'NOPE'");
    /* refused as `bulkhead check` refuses the same limit in a config: a
     * lane names a chain with a vault here, and the home chain has no cap */
    VC(2, "limits", "eth", "USDC", "cap.9=5");
    err_has("cap.9=5: no configured chain has bridge_id 9; use one of: 1 (sol)");
    VC(2, "limits", "eth", "USDC", "cap.eth=5");
    err_has("2 is this asset's own chain (eth), which holds no wrapped supply");
    VC(2, "limits", "eth", "USDC", "window.sol=1", "in_refill.9=1"); /* none is set */
    VC(0, "journal", "eth", "--json");
    json_t *j = out_json();
    for (size_t i = 0; i < json_array_size(j); i++)
        assert_string_not_equal(json_string_value(json_object_get(json_array_get(j, i), "kind")),
                                "limits");
    json_decref(j);
}

static void test_bad_data_dir_and_unknown_chain(void **state)
{
    (void)state;
    char *saved = g_dir;
    g_dir = "/nonexistent/bulkhead";
    VC(3, "list"); /* the environment, not the command line */
    err_has("does not exist");
    VC(3, "list", "--json");
    out_error("data_dir_missing", "/nonexistent/bulkhead");
    char *empty = vt_tmpdir();
    g_dir = empty;
    VC(3, "show", "eth");
    err_has("not a bulkhead data directory");
    /* a vaults/ folder whose entry is not a vault */
    char p[700];
    snprintf(p, sizeof p, "%s/vaults", empty);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/vaults/eth", empty);
    mkdir(p, 0700);
    VC(2, "show", "eth");
    err_has("no vault named 'eth'");
    snprintf(p, sizeof p, "%s/vaults/eth/data.mdb", empty);
    FILE *f = fopen(p, "w");
    fputs("this is not an LMDB file, just text long enough to be read as a header......", f);
    fclose(f);
    int st = vc("show", "eth", NULL);
    assert_true(st == 1 || st == 3);
    assert_true(strlen(g_r.err) > 10);
    VC(1, "list"); /* the broken entry is reported, not hidden */
    out_has("eth              ERROR");
    vt_rmrf(empty);
    free(empty);
    g_dir = saved;
    VC(2, "show", "nope");
    err_has("unknown chain 'nope'");
    VC(2, "show", "nope", "--json");
    out_error("unknown_chain", "nope");
    VC(2, "pending", "nope");
    VC(2, "journal", "nope");
    VC(2, "audit", "nope");
    VC(2, "export", "nope");
    VC(2, "limits", "nope");
    VC(2, "freeze", "nope", "--reason", "x");
    err_has("unknown chain 'nope'");
    VC(2, "release", "7");
    err_has("no pending transfer 7");
    VC(2, "release", "7", "--json");
    out_error("unknown_pending", "7");
    VC(2, "drop", "eth/7");
}

static void test_reading_verbs(void **state)
{
    (void)state;
    VC(0, "list");
    out_has("eth");
    out_has("sol");
    VC(0, "list", "--json");
    json_t *j = out_json();
    assert_int_equal(json_array_size(j), 2);
    json_t *eth = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(eth, "name")), "eth");
    assert_int_equal(json_integer_value(json_object_get(eth, "chain_id")), 2);
    assert_int_equal(json_integer_value(json_object_get(eth, "assets")), 1);
    json_decref(j);

    VC(0, "show", "eth");
    out_has("asset USDC");
    out_has("locked 1.5");
    out_has("sol(1)");
    out_has("outstanding 1.5");
    out_has("(minted 0, in flight 1.5)"); /* the lock waits in the outbox */
    VC(0, "show", "eth", "--json");
    j = out_json();
    json_t *a = json_array_get(json_object_get(j, "assets"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "locked")), "1500000");
    assert_string_equal(json_string_value(json_object_get(a, "locked_units")), "1.5");
    json_t *sl = json_array_get(json_object_get(a, "lanes"), 0);
    assert_int_equal(json_integer_value(json_object_get(sl, "chain")), 1);
    assert_string_equal(json_string_value(json_object_get(sl, "outstanding")), "1500000");
    assert_string_equal(json_string_value(json_object_get(sl, "minted")), "0");
    assert_string_equal(json_string_value(json_object_get(sl, "minted_units")), "0");
    assert_string_equal(json_string_value(json_object_get(sl, "in_flight")), "1500000");
    assert_string_equal(json_string_value(json_object_get(sl, "in_flight_units")), "1.5");
    json_decref(j);

    VC(0, "limits", "eth", "USDC", "big_threshold=1", "big_delay=2h", "cap.sol=10", "--reason",
       "launch");
    bh_transfer_msg big;
    (void)big;
    bh_vault_result r = apply_eth(ETH, SOL, 2, 2000000);
    assert_int_equal(r.status, BH_VAULT_DELAYED);
    VC(0, "pending");
    out_has("eth/1");
    out_has("big");
    out_has("2027-01-15T10:00:00Z"); /* NOW + 2 h */
    out_has("2");
    VC(0, "pending", "eth", "--json");
    j = out_json();
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "id")), "eth/1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "amount_units")),
                        "2");
    json_decref(j);
    VC(0, "pending", "sol");
    out_has("nothing pending");

    VC(0, "limits", "eth");
    out_has("big_threshold 1");
    out_has("cap 10");
    VC(0, "limits", "eth", "USDC", "--json");
    j = out_json();
    json_t *lane = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "assets"), 0), "lanes"), 0);
    assert_string_equal(json_string_value(json_object_get(lane, "cap")), "10000000");
    json_decref(j);

    VC(0, "journal", "eth");
    out_has("init");
    out_has("ops: genesis");
    out_has("launch");
    VC(0, "journal", "eth", "--since", "4", "--json");
    j = out_json();
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 4);
    json_decref(j);

    VC(0, "audit");
    out_has("vault eth: ok");
    out_has("vault sol: ok");
    VC(0, "audit", "eth", "--json");
    j = out_json();
    assert_true(json_is_true(json_object_get(json_array_get(j, 0), "ok")));
    json_decref(j);

    VC(0, "export", "eth");
    j = out_doc(); /* export's text is the JSON document itself */
    json_t *je;
    VC(0, "export", "eth", "--json");
    assert_true(json_equal(j, je = out_json())); /* the envelope's data is that document */
    json_decref(je);
    assert_int_equal(json_integer_value(json_object_get(j, "chain_id")), 2);
    assert_true(json_array_size(json_object_get(j, "journal")) >= 7);
    assert_int_equal(json_array_size(json_object_get(j, "pending")), 1);
    assert_non_null(json_object_get(json_object_get(j, "limits"), "assets"));
    json_decref(j);
}

static void test_writing_verbs(void **state)
{
    (void)state;
    /* quarantine sol everywhere: a burn from sol is held, unapplied */
    VC(0, "freeze", "sol", "--reason", "signer keys leaked", "--actor", "alice");
    out_has("vault eth: quarantined sol(1)");
    VC(0, "freeze", "1", "--reason", "again");
    out_has("already quarantined");
    VC(0, "list");
    out_has("sol(1)");
    bh_vault_result r = apply_eth(SOL, ETH, 1, 500000);
    assert_int_equal(r.status, BH_VAULT_HELD);
    VC(0, "show", "eth");
    out_has("QUARANTINED sol(1)");
    out_has("alice: signer keys leaked");
    VC(1, "release", "eth/1", "--reason", "too early");
    err_has("still quarantined");
    VC(1, "retime", "eth/1", "1");
    err_has("quarantine");
    VC(0, "unfreeze", "sol", "--reason", "keys rotated", "--actor", "bob");
    VC(1, "unfreeze", "sol", "--reason", "twice");
    VC(0, "release", "1", "--reason", "verified on chain", "--actor", "bob");
    out_has("eth/1: released");
    bh_vault *v = open_eth();
    bh_vault_asset a;
    assert_int_equal(bh_vault_asset_get(v, &a, &g_tok), BH_OK);
    assert_true(a.locked == 1000000);
    bh_vault_close(v);
    VC(0, "journal", "eth");
    out_has("alice: signer keys leaked");
    out_has("bob: keys rotated");
    out_has("bob: verified on chain");

    /* limits in token units; a big transfer waits, is re-timed, then dropped */
    VC(0, "limits", "eth", "0xa0b8", "big_threshold=0.25", "--reason", "tighten");
    bh_vault *vv = open_eth();
    assert_int_equal(bh_vault_asset_get(vv, &a, &g_tok), BH_OK);
    assert_true(a.big_threshold == 250000);
    bh_vault_close(vv);
    r = apply_eth(ETH, SOL, 2, 300000);
    assert_int_equal(r.status, BH_VAULT_DELAYED);
    char id[32];
    snprintf(id, sizeof id, "eth/%llu", (unsigned long long)r.pending_id);
    VC(0, "retime", id, "0.5", "--reason", "half a day is enough");
    out_has("2027-01-15T20:00:00Z");
    VC(0, "drop", id, "--reason", "customer cancelled");
    out_has("dropped");
    VC(2, "drop", id);
    v = open_eth();
    assert_int_equal(bh_vault_asset_get(v, &a, &g_tok), BH_OK);
    assert_true(a.locked == 1000000);
    bh_vault_close(v);
    VC(0, "limits", "eth", "vault", "msg_limit=100", "msg_limit.sol=5");
    VC(0, "limits", "eth", "vault");
    out_has("msg_limit 5 per 24 h");
    VC(0, "audit");

    /* tamper behind the journal's back: audit names it and exits 1 */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    char p[700];
    snprintf(p, sizeof p, "%s/vaults/eth", g_dir);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, p, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "assets", 0, &dbi), 0);
    MDB_val k = {32, g_tok.data}, d;
    assert_int_equal(mdb_get(txn, dbi, &k, &d), 0);
    /* the asset record: u8 version | u128 locked | ... (docs/ARCHITECTURE.md) */
    unsigned char rec[128];
    assert_true(d.mv_size <= sizeof rec && d.mv_size > 17);
    memcpy(rec, d.mv_data, d.mv_size);
    bh_be_put_u128(rec + 1, bh_be_get_u128(rec + 1) + 1);
    d.mv_data = rec;
    assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    VC(1, "audit");
    out_has("vault eth: MISMATCH");
    out_has("locked: journal gives 1000000, stored 1000001");
    out_has("vault sol: ok");
    /* with --json: the results as data, the first difference as the error */
    VC(1, "audit", "--json");
    out_error("audit_mismatch", "eth");
    json_t *envl = out_doc();
    assert_int_equal(json_array_size(json_object_get(envl, "data")), 2);
    json_decref(envl);
}

/* A vault written by a newer build is refused by name; the others still work. */
static void test_newer_schema_refused(void **state)
{
    (void)state;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    char p[700];
    snprintf(p, sizeof p, "%s/vaults/sol", g_dir);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, p, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    uint32_t v99 = 99;
    MDB_val k = {6, "schema"}, d = {4, &v99};
    assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    VC(1, "show", "sol");
    err_has("vault schema 99");
    err_has("refusing to open it");
    VC(1, "list");
    out_has("sol              ERROR");
    out_has("eth ");
    VC(1, "audit");
    out_has("vault eth: ok");
    out_has("vault sol: ERROR");
    VC(1, "freeze", "77", "--reason", "drill");
    out_has("vault eth: quarantined 77");
    VC(0, "show", "eth");
}

static bh_u128 eth_locked(void)
{
    bh_vault_opts ro = {.read_only = 1};
    bh_vault *v = vt_open(g_dir, "eth", &ro);
    bh_vault_asset a;
    assert_int_equal(bh_vault_asset_get(v, &a, &g_tok), BH_OK);
    bh_vault_close(v);
    return a.locked;
}

static int count_freezes(void *ctx, const bh_vault_journal_entry *e)
{
    if ((e->kind == BH_VJ_FREEZE || e->kind == BH_VJ_UNFREEZE) && e->chain == 77 &&
        !strncmp(e->reason, "drill", 5))
        (*(int *)ctx)++;
    return 0;
}

/* A writer process applies batches without pause while vaultctl reads
 * and writes the same vaults. */
static void test_concurrent_with_writer(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bh_vault *v = open_eth();
        if (!v) _exit(3);
        for (uint64_t n = 0;; n++) {
            bh_transfer_msg b[20];
            bh_vault_result r[20];
            for (int i = 0; i < 20; i++) {
                b[i] = vt_msg(ETH, ETH, SOL, 1000 + n * 20 + (uint64_t)i, 7, 0, 0);
                b[i].transfer.token = g_tok;
            }
            if (bh_vault_apply(v, r, b, 20, NOW) != BH_OK) _exit(4);
        }
    }
    usleep(20000);
    bh_u128 first = eth_locked();
    for (int round = 0; round < 30; round++) {
        VC(0, "audit", "eth");
        out_has("vault eth: ok");
        VC(0, "show", "eth", "--json");
        json_decref(out_json());
        VC(0, "pending", "--json");
        json_decref(out_json());
        VC(0, "journal", "eth", "--since", "100000000");
        if (round % 5 == 0) {
            VC(0, "freeze", "77", "--reason", "drill");
            VC(0, "unfreeze", "77", "--reason", "drill over");
        }
    }
    bh_u128 last = eth_locked();
    int st;
    assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* the writer was alive throughout */
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(last > first); /* and it made progress while we ran */
    VC(0, "audit");
    bh_u128 end = eth_locked();
    assert_true((end - 1500000) % 140 == 0); /* whole batches only */
    /* every vaultctl write landed in the journal between the writer's batches */
    int freezes = 0;
    bh_vault *v = open_eth();
    assert_int_equal(bh_vault_each_journal(v, 1, count_freezes, &freezes), BH_OK);
    bh_vault_close(v);
    assert_int_equal(freezes, 12);
}

/* A hop's notice to the home chain, parked, says so and where it goes;
 * requeued, it goes home again, not to the hop's destination. */
static void test_vaults_cli_parked_hop_notice(void **state)
{
    (void)state;
    assert_int_equal(apply_eth(SOL, 9, 2, 500000).status, BH_VAULT_ACCEPTED); /* a hop sol -> 9 */
    bh_vault *v = open_eth();
    bh_vault_outbox_entry e[4];
    size_t n;
    assert_int_equal(bh_vault_outbox_peek(v, e, 4, &n), BH_OK);
    assert_int_equal(n, 3); /* the lock to sol, the mint to 9, the notice home */
    assert_int_equal(e[1].to, 9);
    assert_int_equal(e[2].to, ETH);
    assert_int_equal(e[2].msg.transfer.to_chain, 9);
    assert_int_equal(bh_vault_outbox_park(v, e[2].id, NOW + 60, 5, "hop chain", "node"), BH_OK);
    bh_vault_close(v);
    VC(0, "parked", "eth");
    out_has("eth(2)(notice)");
    VC(0, "parked", "eth", "--json");
    json_t *j = out_json();
    assert_int_equal(json_array_size(j), 1);
    json_t *p = json_array_get(j, 0);
    assert_true(json_is_true(json_object_get(p, "hop_notice")));
    assert_int_equal(json_integer_value(json_object_get(p, "deliver_to")), ETH);
    assert_int_equal(json_integer_value(json_object_get(p, "to")), 9);
    json_decref(j);
    char ids[32];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)e[2].id);
    VC(0, "requeue", "eth", ids, "--reason", "home Portal fixed");
    v = open_eth();
    bh_vault_outbox_entry home[4];
    assert_int_equal(bh_vault_outbox_peek_to(v, home, 4, &n, ETH, 0), BH_OK);
    assert_int_equal(n, 1);
    assert_int_equal(home[0].to, ETH);
    assert_int_equal(home[0].msg.sequence, 2);
    bh_vault_close(v);
    /* outbox: what waits, with where each goes */
    VC(0, "outbox", "eth");
    out_has("eth(2)(notice)");
    VC(0, "outbox", "eth", "--json");
    j = out_json();
    assert_int_equal(json_array_size(j), 3);
    json_t *last = json_array_get(j, 2);
    assert_true(json_is_true(json_object_get(last, "hop_notice")));
    assert_int_equal(json_integer_value(json_object_get(last, "deliver_to")), ETH);
    assert_int_equal(json_integer_value(json_object_get(last, "to")), 9);
    assert_string_equal(json_string_value(json_object_get(last, "amount_units")), "0.5");
    assert_true(json_is_false(json_object_get(json_array_get(j, 0), "hop_notice")));
    json_decref(j);
    VC(2, "outbox");
    VC(0, "audit", "eth");
}

/* Parking as the operator sees it: parked lists what the node gave up on,
 * requeue offers it again; both journaled, show counts them, audit clean. */
static void test_vaults_cli_parked_requeue(void **state)
{
    (void)state;
    VC(0, "parked", "eth");
    out_has("(nothing parked)");
    bh_vault *v = open_eth();
    bh_vault_outbox_entry e[4];
    size_t n;
    assert_int_equal(bh_vault_outbox_peek(v, e, 4, &n), BH_OK);
    assert_int_equal(n, 1);
    uint64_t id = e[0].id;
    assert_int_equal(bh_vault_outbox_park(v, id, NOW + 60, 9, "execution reverted: paused", "node"),
                     BH_OK);
    bh_vault_close(v);
    char ids[32], qid[48];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
    snprintf(qid, sizeof qid, "eth/%llu", (unsigned long long)id);
    VC(0, "parked", "eth");
    out_has("LAST ERROR");
    out_has("eth(2)");
    out_has("sol(1)");
    out_has("USDC");
    out_has("1.5");
    out_has("execution reverted: paused");
    out_has("2027-01-15T08:01:00Z");
    VC(0, "parked", "eth", "--json");
    json_t *j = out_json();
    assert_int_equal(json_array_size(j), 1);
    json_t *p = json_array_get(j, 0);
    assert_int_equal(json_integer_value(json_object_get(p, "id")), (json_int_t)id);
    assert_int_equal(json_integer_value(json_object_get(p, "from")), ETH);
    assert_int_equal(json_integer_value(json_object_get(p, "to")), SOL);
    assert_int_equal(json_integer_value(json_object_get(p, "deliver_to")), SOL);
    assert_true(json_is_false(json_object_get(p, "hop_notice")));
    assert_int_equal(json_integer_value(json_object_get(p, "sequence")), 1);
    assert_string_equal(json_string_value(json_object_get(p, "amount")), "1500000");
    assert_string_equal(json_string_value(json_object_get(p, "amount_units")), "1.5");
    assert_int_equal(json_integer_value(json_object_get(p, "tries")), 9);
    assert_string_equal(json_string_value(json_object_get(p, "last_error")),
                        "execution reverted: paused");
    assert_int_equal(json_integer_value(json_object_get(p, "parked_at")), (json_int_t)(NOW + 60));
    json_decref(j);
    VC(0, "show", "eth");
    out_has("outbox 0  pending 0  parked 1");
    VC(0, "show", "eth", "--json");
    j = out_json();
    assert_int_equal(json_integer_value(json_object_get(j, "parked")), 1);
    json_decref(j);
    VC(0, "export", "eth", "--json");
    j = out_json();
    assert_int_equal(json_array_size(json_object_get(j, "parked")), 1);
    json_decref(j);
    VC(0, "audit", "eth");

    VC(2, "requeue", "eth");
    err_has("missing N (takes CHAIN N) (see 'vaultctl requeue --help')");
    VC(2, "requeue", "eth", "x1");
    VC(2, "requeue", "eth", "sol/1");
    VC(2, "requeue", "nope", ids);
    err_has("unknown chain 'nope'");
    VC(2, "requeue", "eth", "999");
    err_has("no parked entry 999 in vault eth");
    VC(0, "requeue", "eth", qid, "--reason", "portal unpaused", "--actor", "alice");
    out_has("back in the outbox");
    VC(2, "requeue", "eth", ids);
    VC(0, "parked", "eth");
    out_has("(nothing parked)");
    VC(0, "show", "eth");
    out_has("outbox 1  pending 0  parked 0");
    VC(0, "journal", "eth");
    out_has("park ");
    out_has("node: tries 9: execution reverted: paused");
    out_has("requeue");
    out_has("alice: parked");
    out_has("portal unpaused");
    VC(0, "journal", "eth", "--json");
    j = out_json();
    json_t *last = json_array_get(j, json_array_size(j) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "kind")), "requeue");
    assert_int_equal(json_integer_value(json_object_get(last, "sequence")), 1);
    assert_null(json_object_get(last, "chain"));
    json_decref(j);
    VC(0, "audit");
    out_has("vault eth: ok");
}

/* min_amount through vaultctl limits: token units, shown with the asset,
 * and what falls below it is rejected and counted by name. */
static void test_vaults_cli_min_amount(void **state)
{
    (void)state;
    VC(0, "show", "eth");
    out_has("min_amount none");
    VC(0, "limits", "eth", "USDC", "min_amount=0.5", "--reason", "dust");
    out_has("min_amount=0.5 set");
    VC(2, "limits", "eth", "USDC", "min_amount.sol=1");
    err_has("unknown key");
    VC(2, "limits", "eth", "USDC", "min_amount=0.0000001");
    VC(2, "limits", "eth", "vault", "min_amount=1");
    VC(0, "show", "eth");
    out_has("min_amount 0.5");
    VC(0, "limits", "eth");
    out_has("min_amount 0.5");
    VC(0, "show", "eth", "--json");
    json_t *j = out_json();
    json_t *a = json_array_get(json_object_get(j, "assets"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "min_amount")), "500000");
    assert_string_equal(json_string_value(json_object_get(a, "min_amount_units")), "0.5");
    json_decref(j);
    VC(0, "limits", "eth", "USDC", "--json");
    j = out_json();
    a = json_array_get(json_object_get(j, "assets"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "min_amount")), "500000");
    json_decref(j);
    bh_vault_result r = apply_eth(ETH, SOL, 2, 499999);
    assert_int_equal(r.status, BH_VAULT_REJECTED);
    assert_int_equal(r.reason, BH_REJECT_BELOW_MINIMUM);
    assert_int_equal(apply_eth(ETH, SOL, 3, 500000).status, BH_VAULT_ACCEPTED);
    VC(0, "show", "eth");
    out_has("rejected below_minimum");
    VC(0, "journal", "eth");
    out_has("below_minimum");
    out_has("min_amount=500000: dust");
    VC(0, "limits", "eth", "USDC", "min_amount=0");
    VC(0, "show", "eth");
    out_has("min_amount none");
    VC(0, "audit");
}

/* Value limits set by name, refused with the reason, shown by `values`
 * with the usage, and a price observed long ago reads as stale. */
static void test_vaults_cli_values(void **state)
{
    (void)state;
    VC(0, "limits", "eth", "vault", "value_window.eth=10000", "value_lane.eth.sol=300",
       "flow_cancel.sol=1", "--reason", "value");
    out_has("value_lane.eth.sol=300 set");
    VC(2, "limits", "eth", "vault", "value_lane.eth.eth=5");
    err_has("a lane goes from one chain to another");
    VC(2, "limits", "eth", "vault", "flow_cancel.sol=2");
    err_has("out of bounds; use 0..1");
    VC(2, "limits", "eth", "vault", "value_lane.eth.mars=5");
    err_has("unknown chain");
    VC(2, "limits", "eth", "USDC", "value_window.eth=5");
    VC(0, "limits", "eth", "USDC", "price=100", "price_max_jump=20"); /* $1.00 in cents */
    /* 2 USDC to sol: $2 of its $3 lane, then $2 more waits for the window */
    assert_int_equal(apply_eth(ETH, SOL, 2, 2000000).status, BH_VAULT_ACCEPTED);
    bh_vault_result r = apply_eth(ETH, SOL, 3, 2000000);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_VALUE);
    VC(0, "values", "eth");
    out_has("value_lane.2.1");
    out_has("used (24 h) 200");
    out_has("fixed");
    VC(0, "values", "eth", "--json");
    json_t *j = out_json();
    json_t *l = json_array_get(json_object_get(j, "limits"), 1);
    assert_string_equal(json_string_value(json_object_get(l, "key")), "value_lane.2.1");
    assert_string_equal(json_string_value(json_object_get(l, "used_24h")), "200");
    json_t *p = json_array_get(json_object_get(j, "prices"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "price")), "100");
    assert_true(json_is_true(json_object_get(p, "usable")));
    json_decref(j);
    VC(0, "pending", "eth");
    out_has("value");
    /* an observed price without the fixed one: stale an hour after it was read */
    VC(0, "limits", "eth", "USDC", "price=0");
    bh_vault *v = open_eth();
    assert_int_equal(bh_vault_price_note(v, &g_tok, 100, NOW - 7200, NOW - 7200), BH_OK);
    bh_vault_close(v);
    VC(0, "values", "eth", "--json");
    j = out_json();
    p = json_array_get(json_object_get(j, "prices"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "source")), "observed");
    assert_int_equal(json_integer_value(json_object_get(p, "age_s")), 7200);
    assert_true(json_is_false(json_object_get(p, "usable")));
    assert_non_null(strstr(json_string_value(json_object_get(p, "why")), "stale price"));
    json_decref(j);
    VC(0, "journal", "eth");
    out_has("value_window.2=10000: value");
}

/* The tightening keys through vaultctl limits; the segment in values and
 * show: normal, then tightened by a 30% move with its percent. */
static void test_vaults_cli_segment(void **state)
{
    (void)state;
    VC(0, "limits", "eth", "vault", "vol_percent=20", "vol_window=10m", "tighten_percent=40",
       "calm=1h", "--reason", "volatility");
    out_has("calm=1h set");
    VC(2, "limits", "eth", "vault", "tighten_percent=101");
    err_has("101 is out of bounds; use 0..100");
    VC(2, "limits", "eth", "vault", "calm=soon");
    err_has("seconds, e.g. 600 or 10m");
    VC(2, "limits", "eth", "vault", "vol_percent.sol=5");
    err_has("unknown key");
    VC(0, "limits", "eth", "vault", "value_window.eth=10000");
    VC(0, "values", "eth", "--json");
    json_t *j = out_json();
    json_t *seg = json_object_get(j, "segment");
    assert_string_equal(json_string_value(json_object_get(seg, "state")), "normal");
    assert_int_equal(json_integer_value(json_object_get(seg, "percent")), 100);
    json_decref(j);
    bh_vault *v = open_eth();
    assert_int_equal(bh_vault_price_note(v, &g_tok, 100, NOW, NOW), BH_OK);
    assert_int_equal(bh_vault_price_note(v, &g_tok, 130, NOW + 1, NOW + 1), BH_OK);
    bh_vault_close(v);
    VC(0, "values", "eth");
    out_has("segment tightened (limits at 40%");
    out_has("now 4000");
    VC(0, "values", "eth", "--json");
    j = out_json();
    seg = json_object_get(j, "segment");
    assert_string_equal(json_string_value(json_object_get(seg, "state")), "tightened");
    assert_int_equal(json_integer_value(json_object_get(seg, "percent")), 40);
    assert_int_equal(json_integer_value(json_object_get(seg, "until")), NOW + 1 + 3600);
    json_decref(j);
    VC(0, "show", "eth");
    out_has("segment tightened (lanes and value limits at 40%");
    VC(0, "show", "eth", "--json");
    j = out_json();
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "segment"), "state")),
                        "tightened");
    json_decref(j);
}

/* An operator's release into a full window says so and leaves the transfer
 * pending; it goes out by itself when the window has room. */
static void test_vaults_cli_release_window_full(void **state)
{
    (void)state;
    VC(0, "limits", "eth", "USDC", "window.eth=2");
    assert_int_equal(apply_eth(ETH, SOL, 2, 1500000).status, BH_VAULT_ACCEPTED);
    bh_vault_result r = apply_eth(ETH, SOL, 3, 1000000); /* 1.5 + 1 > 2 */
    assert_int_equal(r.status, BH_VAULT_DELAYED);
    assert_int_equal(r.cause, BH_VAULT_CAUSE_WINDOW);
    char id[32];
    snprintf(id, sizeof id, "eth/%llu", (unsigned long long)r.pending_id);
    VC(0, "release", id, "--reason", "customer waiting");
    out_has("not released");
    out_has("24 h window");
    out_has("2027-01-16T08:00:00Z");
    VC(0, "pending", "eth", "--json");
    json_t *j = out_json();
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "cause")),
                        "window");
    json_decref(j);
    VC(0, "journal", "eth");
    out_has("24 h window full, waits: customer waiting");
    bh_vault *v = open_eth();
    size_t n;
    assert_int_equal(bh_vault_release_due(v, &n, NOW + 24 * 3600, 0), BH_OK);
    assert_int_equal(n, 1);
    bh_vault_close(v);
    VC(0, "pending", "eth");
    out_has("nothing pending");
    VC(0, "audit");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s VAULTCTL\n", argv[0]);
        return 2;
    }
    g_vaultctl = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help_and_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_data_dir_and_unknown_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reading_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writing_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_with_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_cli_parked_requeue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_cli_parked_hop_notice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_cli_min_amount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_cli_release_window_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_cli_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vaults_cli_values, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
