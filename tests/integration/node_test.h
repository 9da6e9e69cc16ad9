/* What the end-to-end test programs of the node (test_node_*.c) share on
 * top of node_harness: one world W per program, the binaries from the
 * command line (argv[1] = bulkhead, argv[2] = vaultctl), cmocka assertions
 * on harness calls, and the common setup, teardown and main.
 *
 * Header only (static and static inline): include it from exactly one test
 * program; every program gets its own W. */
#ifndef BH_NODE_TEST_H
#define BH_NODE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "node_harness.h"

/* A harness call that must succeed (it printed why it did not). */
#define NH_OK(expr)                                                                                \
    do {                                                                                           \
        if ((expr) != 0) fail_msg("%s failed (see above)", #expr);                                 \
    } while (0)

#define WAIT_MS 30000

static const char *bin_bulkhead, *bin_vaultctl;
static nh_world W;

static inline void assert_u128(bh_u128 have, bh_u128 want, const char *what)
{
    if (have != want) fail_msg("%s: %s, expected %s", what, nh_u128_str(have), nh_u128_str(want));
}

static inline bh_u128 balance(size_t chain, const bh_address *token, const bh_address *holder)
{
    bh_u128 v = 0;
    NH_OK(nh_balance(&W, chain, token, holder, &v));
    return v;
}

static inline bh_u128 supply(size_t chain, const bh_address *token)
{
    bh_u128 v = 0;
    NH_OK(nh_total_supply(&W, chain, token, &v));
    return v;
}

static inline bh_u128 portal_outstanding(size_t chain, const bh_address *token, size_t lane)
{
    bh_u128 v = 0;
    NH_OK(nh_portal_outstanding(&W, chain, token, lane, &v));
    return v;
}

/* A vault's figures for token as `vaultctl show` on node 1 reads them. */
static inline void vault_amounts(const char *vault, const bh_address *token, bh_u128 *locked,
                                 bh_u128 out[NH_MAX_CHAINS + 1])
{
    json_t *show = nh_vault_show(&W, 1, vault);
    assert_non_null(show);
    NH_OK(nh_vault_amounts(show, token, locked, out));
    json_decref(show);
}

/* Start W with the options o (the binaries are filled in) and prepare
 * node 1 (signer index 0, its default attester); start it too if
 * start_node. For a group setup: returns 0 or -1. */
static inline int nt_world_up(nh_opts o, int start_node)
{
    o.bulkhead = bin_bulkhead;
    o.vaultctl = bin_vaultctl;
    if (nh_world_start(&W, &o) != 0 || nh_node_prepare(&W, 1, 0, NULL) != 0) return -1;
    return start_node ? nh_node_start(&W, 1, WAIT_MS) : 0;
}

static inline int nt_teardown(void **state)
{
    (void)state;
    nh_world_stop(&W);
    return 0;
}

/* main: take the binaries from argv (then `extra` further arguments, named
 * in `usage` after BULKHEAD VAULTCTL) and run the tests as one group. */
static inline int nt_main(int argc, char **argv, unsigned extra, const char *usage,
                          const struct CMUnitTest *tests, size_t n, CMFixtureFunction setup,
                          CMFixtureFunction teardown)
{
    if (argc < 3 + (int)extra) {
        fprintf(stderr, "usage: %s BULKHEAD VAULTCTL%s\n", argv[0], usage);
        return 2;
    }
    bin_bulkhead = argv[1];
    bin_vaultctl = argv[2];
    if (getenv("NT_FILTER")) cmocka_set_test_filter(getenv("NT_FILTER"));
    return _cmocka_run_group_tests("tests", tests, n, setup, teardown);
}

#define NT_MAIN(argc, argv, tests, setup)                                                          \
    nt_main(argc, argv, 0, "", tests, sizeof(tests) / sizeof((tests)[0]), setup, nt_teardown)

#endif
