/* bulkhead-deploy against a real anvil chain: deploys a Portal and a test
 * token, registers a remote Portal, and refuses unsafe key files, unknown
 * options and a wrong chain id with clear messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bh_abi.h"
#include "bh_amount.h"
#include "bh_evm_sender.h"
#include "bh_hex.h"
#include "bh_portal.h"
#include "bh_test_proc.h"
#include "it_harness.h"

static const char *deploy_bin;
static it_anvil anvil;
static char key_path[64], loose_key_path[64];
static bh_rpc *rpc;

static void write_key(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    const char *k = IT_ANVIL_KEY0 "\n";
    assert_int_equal(write(fd, k, strlen(k)), (ssize_t)strlen(k));
    close(fd);
}

static int setup(void **state)
{
    (void)state;
    if (it_anvil_start(&anvil, 4242, NULL)) return -1;
    snprintf(key_path, sizeof key_path, "/tmp/bh-deploy-key-%d", (int)getpid());
    snprintf(loose_key_path, sizeof loose_key_path, "/tmp/bh-deploy-loose-%d", (int)getpid());
    write_key(key_path, 0600);
    write_key(loose_key_path, 0644);
    bh_rpc_options o = {.url = anvil.url};
    return bh_rpc_create(&rpc, &o) == BH_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(key_path);
    unlink(loose_key_path);
    bh_rpc_destroy(rpc);
    it_anvil_stop(&anvil);
    return 0;
}

static void run(bh_proc_result *r, const char *const *args)
{
    char *argv[40];
    int n = 0;
    argv[n++] = (char *)deploy_bin;
    for (int i = 0; args[i]; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    bh_proc_run(r, argv, NULL);
}

static void json_addr(bh_address *out, const char *text, const char *field)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    const char *s = json_string_value(json_object_get(j, field));
    assert_non_null(s);
    assert_int_equal(bh_hex_decode_exact(out->data, 20, s, strlen(s)), BH_OK);
    json_decref(j);
}

static void test_deploy_portal_token_register(void **state)
{
    (void)state;
    static bh_proc_result r;
    const char *portal_args[] = {"portal",
                                 "--rpc",
                                 anvil.url,
                                 "--chain-id",
                                 "4242",
                                 "--key-file",
                                 key_path,
                                 "--bridge-id",
                                 "5",
                                 "--attesters",
                                 "0x1111111111111111111111111111111111111111,"
                                 "0x2222222222222222222222222222222222222222",
                                 "--quorum",
                                 "2",
                                 NULL};
    run(&r, portal_args);
    if (r.status != 0) fail_msg("portal: %s", r.err);
    bh_address portal;
    json_addr(&portal, r.out, "portal");

    /* The deployed contract answers as a Portal of bridge id 5 with 2 attesters. */
    unsigned char sel[4], *ret = NULL;
    size_t len = 0;
    uint64_t v = 0;
    bh_abi_selector(sel, "chainId()");
    assert_int_equal(bh_evm_call(rpc, &ret, &len, &portal, sel, 4), BH_OK);
    assert_int_equal(bh_abi_read_u64(&v, ret, len, 0), BH_OK);
    assert_int_equal(v, 5);
    free(ret);
    bh_abi_selector(sel, "attesterCount()");
    assert_int_equal(bh_evm_call(rpc, &ret, &len, &portal, sel, 4), BH_OK);
    assert_int_equal(bh_abi_read_u64(&v, ret, len, 0), BH_OK);
    assert_int_equal(v, 2);
    free(ret);

    const char *reg_args[] = {"register",
                              "--rpc",
                              anvil.url,
                              "--chain-id",
                              "4242",
                              "--key-file",
                              key_path,
                              "--portal",
                              NULL,
                              "--remote-chain",
                              "9",
                              "--remote-portal",
                              "0x9999999999999999999999999999999999999999",
                              NULL};
    char portal_hex[43] = "0x";
    bh_hex_encode(portal_hex + 2, portal.data, 20);
    reg_args[8] = portal_hex;
    run(&r, reg_args);
    if (r.status != 0) fail_msg("register: %s", r.err);
    bh_abi a;
    bh_abi_init(&a, "remotePortal(uint16)", 1);
    bh_abi_uint(&a, 9);
    unsigned char *data;
    size_t dlen;
    assert_int_equal(bh_abi_finish(&a, &data, &dlen), BH_OK);
    bh_abi_clear(&a);
    assert_int_equal(bh_evm_call(rpc, &ret, &len, &portal, data, dlen), BH_OK);
    free(data);
    bh_bytes32 remote;
    assert_int_equal(bh_abi_read_bytes32(&remote, ret, len, 0), BH_OK);
    free(ret);
    unsigned char want[32] = {0};
    memset(want + 12, 0x99, 20);
    assert_memory_equal(remote.data, want, 32);

    /* attesters: rotate to set 1 of three; a set index that does not grow
     * is refused by the Portal. */
    const char *att_args[] = {"attesters",
                              "--rpc",
                              anvil.url,
                              "--chain-id",
                              "4242",
                              "--key-file",
                              key_path,
                              "--portal",
                              portal_hex,
                              "--set-index",
                              "1",
                              "--attesters",
                              "0x1111111111111111111111111111111111111111,"
                              "0x2222222222222222222222222222222222222222,"
                              "0x4444444444444444444444444444444444444444",
                              "--quorum",
                              "2",
                              NULL};
    run(&r, att_args);
    if (r.status != 0) fail_msg("attesters: %s", r.err);
    assert_non_null(strstr(r.out, "\"set_index\":1"));
    bh_abi_selector(sel, "attesterCount()");
    assert_int_equal(bh_evm_call(rpc, &ret, &len, &portal, sel, 4), BH_OK);
    assert_int_equal(bh_abi_read_u64(&v, ret, len, 0), BH_OK);
    assert_int_equal(v, 3);
    free(ret);
    run(&r, att_args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "attesters failed"));

    const char *tok_args[] = {
        "token",      "--rpc",     anvil.url,
        "--chain-id", "4242",      "--key-file",
        key_path,     "--name",    "Devnet Dollar",
        "--symbol",   "DDL",       "--decimals",
        "6",          "--mint-to", "0x3333333333333333333333333333333333333333",
        "--amount",   "123456789", NULL};
    run(&r, tok_args);
    if (r.status != 0) fail_msg("token: %s", r.err);
    bh_address token, holder;
    json_addr(&token, r.out, "token");
    memset(holder.data, 0x33, 20);
    bh_u256 bal;
    assert_int_equal(bh_erc20_balance(rpc, &bal, &token, &holder), BH_OK);
    bh_u128 b = 0;
    assert_int_equal(bh_u256_to_u128(&b, &bal), BH_OK);
    assert_true(b == 123456789);

    /* lock: the deployer mints itself tokens and locks some towards chain 9;
     * the Portal holds them and counts them outstanding towards 9. */
    bh_address me;
    bh_seckey k;
    it_key(&k, IT_ANVIL_KEY0);
    bh_attest *ctx = bh_attest_create();
    assert_int_equal(bh_attest_address(ctx, &me, &k), BH_OK);
    bh_attest_destroy(ctx);
    bh_seckey_clear(&k);
    char me_hex[43] = "0x", tok_hex[43] = "0x";
    bh_hex_encode(me_hex + 2, me.data, 20);
    const char *tok2_args[] = {"token",  "--rpc",    anvil.url,  "--chain-id", "4242", "--key-file",
                               key_path, "--name",   "Lockable", "--symbol",   "LCK",  "--mint-to",
                               me_hex,   "--amount", "1000",     NULL};
    run(&r, tok2_args);
    if (r.status != 0) fail_msg("token: %s", r.err);
    json_addr(&token, r.out, "token");
    bh_hex_encode(tok_hex + 2, token.data, 20);
    const char *lock_args[] = {"lock",       "--rpc",    anvil.url,  "--chain-id", "4242",
                               "--key-file", key_path,   "--portal", portal_hex,   "--token",
                               tok_hex,      "--amount", "250",      "--to-chain", "9",
                               "--to",       me_hex,     NULL};
    run(&r, lock_args);
    if (r.status != 0) fail_msg("lock: %s", r.err);
    assert_non_null(strstr(r.out, "\"lock\":\"0x"));
    assert_int_equal(bh_erc20_balance(rpc, &bal, &token, &portal), BH_OK);
    assert_int_equal(bh_u256_to_u128(&b, &bal), BH_OK);
    assert_true(b == 250);
    bh_u256 out;
    assert_int_equal(bh_portal_outstanding(rpc, &out, &portal, &token, 9), BH_OK);
    assert_int_equal(bh_u256_to_u128(&b, &out), BH_OK);
    assert_true(b == 250);
    /* lane-limit: the Portal's bucket for LCK arriving from chain 9 */
    const char *lane_args[] = {
        "lane-limit", "--rpc",      anvil.url,  "--chain-id", "4242",  "--key-file",
        key_path,     "--portal",   portal_hex, "--token",    tok_hex, "--remote-chain",
        "9",          "--capacity", "100",      "--rate",     "7",     NULL};
    run(&r, lane_args);
    if (r.status != 0) fail_msg("lane-limit: %s", r.err);
    bh_abi_init(&a, "buckets(uint16,address)", 2);
    bh_abi_uint(&a, 9);
    bh_abi_address(&a, &token);
    assert_int_equal(bh_abi_finish(&a, &data, &dlen), BH_OK);
    bh_abi_clear(&a);
    assert_int_equal(bh_evm_call(rpc, &ret, &len, &portal, data, dlen), BH_OK);
    free(data);
    assert_int_equal(bh_abi_read_u64(&v, ret, len, 0), BH_OK);
    assert_int_equal(v, 100); /* capacity */
    assert_int_equal(bh_abi_read_u64(&v, ret, len, 1), BH_OK);
    assert_int_equal(v, 7); /* per second */
    free(ret);

    /* the read verbs print what the chain holds */
    const char *bal_args[] = {"balance", "--rpc", anvil.url,  "--token",
                              tok_hex,   "--of",  portal_hex, NULL};
    run(&r, bal_args);
    if (r.status != 0) fail_msg("balance: %s", r.err);
    assert_non_null(strstr(r.out, "{\"balance\":\"250\"}"));
    const char *out_args[] = {"outstanding", "--rpc", anvil.url,        "--portal", portal_hex,
                              "--token",     tok_hex, "--remote-chain", "9",        NULL};
    run(&r, out_args);
    if (r.status != 0) fail_msg("outstanding: %s", r.err);
    assert_non_null(strstr(r.out, "{\"outstanding\":\"250\"}"));
    const char *wr_args[] = {"wrapped",      "--rpc", anvil.url, "--portal", portal_hex,
                             "--home-chain", "9",     "--token", tok_hex,    NULL};
    run(&r, wr_args);
    if (r.status != 0) fail_msg("wrapped: %s", r.err);
    assert_non_null(strstr(r.out, "{\"wrapped\":\"0x0000000000000000000000000000000000000000\"}"));
    const char *addr_args[] = {"address", "--key-file", key_path, NULL};
    run(&r, addr_args);
    if (r.status != 0) fail_msg("address: %s", r.err);
    for (char *c = me_hex; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    assert_non_null(strstr(r.out, me_hex));

    /* a zero amount is refused before anything is sent */
    lock_args[12] = "0";
    run(&r, lock_args);
    assert_int_equal(r.status, 2);
}

static void test_deploy_refusals(void **state)
{
    (void)state;
    static bh_proc_result r;
    const char *loose[] = {"token",        "--rpc",  anvil.url, "--chain-id", "4242", "--key-file",
                           loose_key_path, "--name", "X",       "--symbol",   "X",    NULL};
    run(&r, loose);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "chmod 600"));

    const char *help[] = {"--help", NULL};
    run(&r, help);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "register"));
    assert_non_null(strstr(r.out, "bulkhead-deploy VERB --help"));
    const char *reg_help[] = {"register", "--help", NULL};
    run(&r, reg_help);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: bulkhead-deploy register --rpc URL"));

    const char *unknown[] = {"token", "--rpc", anvil.url, "--colour", "blue", NULL};
    run(&r, unknown);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown option '--colour'"));
    assert_null(strstr(r.err, "usage:")); /* the problem alone, not the whole usage */

    const char *typo[] = {"lok", NULL};
    run(&r, typo);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown verb 'lok'; did you mean 'lock'?"));
    assert_null(strstr(r.err, "usage:"));
    const char *bare[] = {"lock", "--rpc", anvil.url, NULL};
    run(&r, bare);
    assert_int_equal(r.status, 2);
    assert_non_null(
        strstr(r.err, "lock: --chain-id is required (see 'bulkhead-deploy lock --help')"));
    assert_null(strstr(r.err, "usage:"));
    const char *version[] = {"--version", NULL};
    run(&r, version);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "bulkhead-deploy 0."));

    const char *quorum[] = {"portal",
                            "--rpc",
                            anvil.url,
                            "--chain-id",
                            "4242",
                            "--key-file",
                            key_path,
                            "--bridge-id",
                            "5",
                            "--attesters",
                            "0x1111111111111111111111111111111111111111",
                            "--quorum",
                            "2",
                            NULL};
    run(&r, quorum);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--quorum"));

    /* The newer verbs refuse missing or malformed arguments by name. */
    const char *no_of[] = {
        "balance", "--rpc", anvil.url, "--token", "0x1111111111111111111111111111111111111111",
        NULL};
    run(&r, no_of);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--of is required"));
    const char *bad_cap[] = {"lane-limit",
                             "--rpc",
                             anvil.url,
                             "--chain-id",
                             "4242",
                             "--key-file",
                             key_path,
                             "--portal",
                             "0x1111111111111111111111111111111111111111",
                             "--token",
                             "0x2222222222222222222222222222222222222222",
                             "--remote-chain",
                             "9",
                             "--capacity",
                             "lots",
                             "--rate",
                             "1",
                             NULL};
    run(&r, bad_cap);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--capacity: 'lots' is not a decimal integer"));
    const char *no_index[] = {"attesters",
                              "--rpc",
                              anvil.url,
                              "--chain-id",
                              "4242",
                              "--key-file",
                              key_path,
                              "--portal",
                              "0x1111111111111111111111111111111111111111",
                              "--attesters",
                              "0x2222222222222222222222222222222222222222",
                              "--quorum",
                              "1",
                              NULL};
    run(&r, no_index);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--set-index is required"));
    const char *bad_portal[] = {"wrapped",  "--rpc",   anvil.url,
                                "--portal", "0x12",    "--home-chain",
                                "1",        "--token", "0x2222222222222222222222222222222222222222",
                                NULL};
    run(&r, bad_portal);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--portal: '0x12' is not a 20-byte address"));
    const char *loose_addr[] = {"address", "--key-file", loose_key_path, NULL};
    run(&r, loose_addr);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "chmod 600"));

    /* Signed for chain 1 while the node is 4242: the node refuses, we say so. */
    const char *wrong[] = {"token",  "--rpc",  anvil.url, "--chain-id", "1", "--key-file",
                           key_path, "--name", "X",       "--symbol",   "X", NULL};
    run(&r, wrong);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "token failed"));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_chains_deploy PATH-TO-bulkhead-deploy\n");
        return 2;
    }
    deploy_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deploy_portal_token_register),
        cmocka_unit_test(test_deploy_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
