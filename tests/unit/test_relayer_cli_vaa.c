/* `bulkhead vaa decode|verify`, run as a real process on the real vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <time.h>

#include "bh_attest.h"
#include "bh_hex.h"
#include "bh_vaa.h"
#include "bh_test.h"
#include "bh_test_proc.h"

static char *bin;
static json_t *vectors; /* mainnet + devnet, concatenated */
static char dir[] = "/tmp/bh-cli-XXXXXX";
static bh_proc_result res;

static void add_file(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", BH_VECTORS_DIR, file);
    json_error_t err;
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (j == NULL) fail_msg("%s: %s", path, err.text);
    json_array_extend(vectors, j);
    json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    vectors = json_array();
    add_file("wormhole_mainnet_vaas.json");
    add_file("wormhole_devnet_vaas.json");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(vectors);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Writes the vector's signer set as the CLI's JSON file; returns its path. */
static const char *signers_file(json_t *e, const char *extra)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/signers.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"index\": %lld, \"addresses\": [",
            (long long)json_integer_value(json_object_get(e, "guardian_set_index")));
    json_t *a = json_object_get(e, "guardian_addresses");
    for (size_t i = 0; i < json_array_size(a); i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", json_string_value(json_array_get(a, i)));
    fprintf(f, "]%s}\n", extra ? extra : "");
    fclose(f);
    return path;
}

static void run_verify(const char *signers, const char *vaa, const char *input)
{
    char *argv[] = {bin, "vaa", "verify", "--signers", (char *)signers, (char *)vaa, NULL};
    bh_proc_run(&res, argv, input);
}

static void test_relayer_cli_decode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < json_array_size(vectors); i++) {
        json_t *e = json_array_get(vectors, i);
        char *argv[] = {bin, "vaa", "decode", (char *)jstr(e, "vaa_hex"), NULL};
        bh_proc_run(&res, argv, NULL);
        assert_int_equal(res.status, 0);
        json_error_t err;
        json_t *out = json_loads(res.out, 0, &err);
        if (out == NULL) fail_msg("%s: output is not JSON: %s", jstr(e, "name"), err.text);
        char want[80];
        snprintf(want, sizeof want, "0x%s", jstr(e, "digest_hex"));
        assert_string_equal(jstr(out, "digest"), want);
        json_t *body = json_object_get(out, "body");
        assert_string_equal(jstr(body, "sequence"), jstr(e, "sequence"));
        assert_int_equal(json_integer_value(json_object_get(body, "emitter_chain")),
                         json_integer_value(json_object_get(e, "emitter_chain")));
        assert_int_equal(json_array_size(json_object_get(out, "signatures")),
                         json_integer_value(json_object_get(e, "num_signatures")));
        json_t *pd = json_object_get(e, "payload_decoded");
        json_t *pl = json_object_get(out, "payload");
        if (pd && json_integer_value(json_object_get(pd, "payload_id")) == 1) {
            assert_string_equal(jstr(pl, "kind"), "transfer");
            assert_string_equal(jstr(pl, "amount"), jstr(pd, "amount"));
            assert_string_equal(jstr(pl, "fee"), jstr(pd, "fee"));
        } else {
            assert_string_equal(jstr(pl, "kind"), "other");
        }
        json_decref(out);
    }
}

static void test_relayer_cli_verify_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < json_array_size(vectors); i++) {
        json_t *e = json_array_get(vectors, i);
        run_verify(signers_file(e, NULL), jstr(e, "vaa_hex"), NULL);
        assert_string_equal(res.out, "ok\n");
        assert_int_equal(res.status, 0);
    }
}

static void b64_encode(char *out, const unsigned char *in, size_t len)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < len ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

static void test_relayer_cli_stdin_and_base64(void **state)
{
    (void)state;
    json_t *e = json_array_get(vectors, 0);
    const char *sig = signers_file(e, NULL);
    static char buf[8192];
    snprintf(buf, sizeof buf, "  0x%s\n", jstr(e, "vaa_hex"));
    run_verify(sig, "-", buf);
    assert_string_equal(res.out, "ok\n");
    assert_int_equal(res.status, 0);

    static unsigned char raw[4096];
    size_t n = bh_test_unhex(raw, sizeof raw, jstr(e, "vaa_hex"));
    b64_encode(buf, raw, n);
    run_verify(sig, buf, NULL);
    assert_string_equal(res.out, "ok\n");
    run_verify(sig, "-", buf);
    assert_string_equal(res.out, "ok\n");
}

/* The command line gives the library's verdict for mutated VAAs. */
static void test_relayer_cli_same_verdicts(void **state)
{
    (void)state;
    json_t *e = json_array_get(vectors, 0);
    const char *sig = signers_file(e, NULL);
    static unsigned char raw[4096];
    static char hex[8192];
    size_t n = bh_test_unhex(raw, sizeof raw, jstr(e, "vaa_hex"));
    static bh_signer_set set;
    json_t *a = json_object_get(e, "guardian_addresses");
    set.index = (uint32_t)json_integer_value(json_object_get(e, "guardian_set_index"));
    set.n = (uint8_t)json_array_size(a);
    for (size_t i = 0; i < set.n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        assert_int_equal(bh_hex_decode_exact(set.addrs[i].data, 20, s, strlen(s)), BH_OK);
    }
    bh_attest *ctx = bh_attest_create();
    static bh_vaa vaa;
    int seen_fail = 0;
    const size_t offsets[] = {0, 1, 5, 6, 7, 40, 70, 71, 72, 100, 200, 863, 864, 900, 1047};
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        static unsigned char mut[4096];
        memcpy(mut, raw, n);
        mut[offsets[k]] ^= 0x01;
        bh_reject want;
        if (bh_vaa_parse(&vaa, &want, mut, n) == BH_OK)
            want = bh_vaa_verify(ctx, &vaa, &set, (uint64_t)time(NULL));
        bh_hex_encode(hex, mut, n);
        run_verify(sig, hex, NULL);
        char line[64];
        snprintf(line, sizeof line, "%s\n", bh_reject_name(want));
        assert_string_equal(res.out, line);
        assert_int_equal(res.status, want == BH_REJECT_OK ? 0 : 1);
        seen_fail += want != BH_REJECT_OK;
    }
    assert_int_equal(seen_fail, sizeof offsets / sizeof offsets[0]);
    bh_attest_destroy(ctx);

    /* Truncated input and a quorum the signatures cannot meet. */
    bh_hex_encode(hex, raw, 100);
    run_verify(sig, hex, NULL);
    assert_string_equal(res.out, "truncated\n");
    assert_int_equal(res.status, 1);
    run_verify(signers_file(e, ", \"quorum\": 14"), jstr(e, "vaa_hex"), NULL);
    assert_string_equal(res.out, "quorum_not_met\n");
    assert_int_equal(res.status, 1);
    run_verify(signers_file(e, ", \"expires_at\": 1"), jstr(e, "vaa_hex"), NULL);
    assert_string_equal(res.out, "signer_set_expired\n");
    assert_int_equal(res.status, 1);
}

static void expect_usage(char *const argv[], const char *in_stderr)
{
    bh_proc_run(&res, argv, NULL);
    assert_int_equal(res.status, 2);
    if (strstr(res.err, in_stderr) == NULL) fail_msg("stderr lacks \"%s\": %s", in_stderr, res.err);
}

static void test_relayer_cli_usage_errors(void **state)
{
    (void)state;
    json_t *e = json_array_get(vectors, 0);
    char *hex = (char *)jstr(e, "vaa_hex");
    /* the problem alone and where the help is, not the whole usage */
    expect_usage((char *[]){bin, NULL}, "no verb given (see 'bulkhead --help')");
    expect_usage((char *[]){bin, "frobnicate", NULL}, "unknown verb 'frobnicate'");
    assert_null(strstr(res.err, "usage:"));
    expect_usage((char *[]){bin, "vaa", NULL}, "give decode or verify");
    expect_usage((char *[]){bin, "vaa", "decode", NULL}, "needs a VAA");
    expect_usage((char *[]){bin, "vaa", "decode", hex, hex, NULL}, "takes one VAA");
    expect_usage((char *[]){bin, "vaa", "decode", "zz!", NULL}, "neither hex nor base64");
    expect_usage((char *[]){bin, "vaa", "verify", hex, NULL}, "--signers");
    expect_usage((char *[]){bin, "vaa", "verify", "--signers", NULL}, "needs a FILE");
    expect_usage((char *[]){bin, "vaa", "verify", "--signers", "/nonexistent/s.json", hex, NULL},
                 "/nonexistent/s.json");
    /* Strict signer file: errors name the JSON path. */
    char *sig = (char *)signers_file(e, ", \"quorm\": 13");
    expect_usage((char *[]){bin, "vaa", "verify", "--signers", sig, hex, NULL}, "$.quorm");
    sig = (char *)signers_file(e, ", \"quorum\": 0");
    expect_usage((char *[]){bin, "vaa", "verify", "--signers", sig, hex, NULL}, "$.quorum");
    char path[600];
    snprintf(path, sizeof path, "%s/bad.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"index\": 4, \"addresses\": [\"0x00\"]}", f);
    fclose(f);
    expect_usage((char *[]){bin, "vaa", "verify", "--signers", path, hex, NULL}, "$.addresses[0]");
    f = fopen(path, "w");
    fputs("{\"index\": -1, \"addresses\": []}", f);
    fclose(f);
    expect_usage((char *[]){bin, "vaa", "verify", "--signers", path, hex, NULL}, "$.index");
    f = fopen(path, "w");
    fputs("{\"index\": 1,", f);
    fclose(f);
    expect_usage((char *[]){bin, "vaa", "verify", "--signers", path, hex, NULL}, "bad.json:1");

    char *help[] = {bin, "vaa", "--help", NULL};
    bh_proc_run(&res, help, NULL);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "verify --signers FILE"));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH_TO_BULKHEAD\n", argv[0]);
        return 2;
    }
    bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relayer_cli_decode_vectors),
        cmocka_unit_test(test_relayer_cli_verify_vectors),
        cmocka_unit_test(test_relayer_cli_stdin_and_base64),
        cmocka_unit_test(test_relayer_cli_same_verdicts),
        cmocka_unit_test(test_relayer_cli_usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
