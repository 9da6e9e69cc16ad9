/* A full LMDB map: the vault grows it and retries the whole batch, or, at
 * its ceiling, refuses the batch with BH_EMAPFULL and a clear message,
 * having applied nothing of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "vaults_helpers.h"

#define BIG 3000 /* messages: a few MiB of journal, outbox and keys */

static bh_transfer_msg *make_locks(uint64_t first, size_t n)
{
    bh_transfer_msg *m = calloc(n, sizeof *m);
    for (size_t i = 0; i < n; i++)
        m[i] = vt_msg(1, 1, 2, first + i, 3, 0, 0);
    return m;
}

static char *fresh_vault(void)
{
    char *dir = vt_tmpdir();
    assert_int_equal(bh_vault_init_dir(dir, "home", 1, 1, "t", NULL), BH_OK);
    bh_vault *v = vt_open(dir, "home", NULL);
    bh_bytes32 tok = vt_token(1, 0);
    assert_int_equal(bh_vault_asset_add(v, &tok, 0, NULL, 1, "t", NULL), BH_OK);
    bh_vault_close(v);
    return dir;
}

static bh_u128 locked_of(bh_vault *v)
{
    bh_bytes32 tok = vt_token(1, 0);
    bh_vault_asset a;
    assert_int_equal(bh_vault_asset_get(v, &a, &tok), BH_OK);
    return a.locked;
}

static void test_map_grows_and_batch_lands_whole(void **state)
{
    (void)state;
    char *dir = fresh_vault();
    bh_vault_opts o = {.map_size = 256 << 10, .map_max = 256 << 20};
    bh_vault *v = vt_open(dir, "home", &o);
    bh_transfer_msg *m = make_locks(1, BIG);
    bh_vault_result *r = calloc(BIG, sizeof *r);
    assert_int_equal(bh_vault_apply(v, r, m, BIG, 10), BH_OK);
    for (size_t i = 0; i < BIG; i++)
        assert_int_equal(r[i].status, BH_VAULT_ACCEPTED);
    assert_true(locked_of(v) == (bh_u128)BIG * 3);
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/vaults/home/data.mdb", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > (off_t)(256 << 10)); /* it really outgrew the first map */
    char diff[256];
    assert_int_equal(bh_vault_audit(v, diff, sizeof diff), BH_OK);
    bh_vault_close(v);
    /* another process (a reader opened with a small map) still reads it */
    bh_vault_opts ro = {.map_size = 64 << 10, .read_only = 1};
    v = vt_open(dir, "home", &ro);
    assert_non_null(v);
    assert_true(locked_of(v) == (bh_u128)BIG * 3);
    bh_vault_close(v);
    free(m);
    free(r);
    vt_rmrf(dir);
    free(dir);
}

static void test_map_ceiling_refuses_whole_batch(void **state)
{
    (void)state;
    char *dir = fresh_vault();
    bh_vault_opts o = {.map_size = 512 << 10, .map_max = 512 << 10};
    bh_vault *v = vt_open(dir, "home", &o);
    /* a small batch fits and commits */
    bh_transfer_msg *small = make_locks(1, 10);
    bh_vault_result r10[10];
    assert_int_equal(bh_vault_apply(v, r10, small, 10, 10), BH_OK);
    bh_vault_info before;
    assert_int_equal(bh_vault_info_get(v, &before), BH_OK);
    /* a batch larger than the whole map cannot fit */
    bh_transfer_msg *m = make_locks(100, BIG);
    bh_vault_result *r = calloc(BIG, sizeof *r);
    assert_int_equal(bh_vault_apply(v, r, m, BIG, 11), BH_EMAPFULL);
    assert_non_null(strstr(bh_vault_errmsg(v), "map is full"));
    assert_non_null(strstr(bh_vault_errmsg(v), "nothing of this transaction was applied"));
    for (size_t i = 0; i < BIG; i++)
        assert_int_equal(r[i].status, 0);
    bh_vault_info after;
    assert_int_equal(bh_vault_info_get(v, &after), BH_OK);
    assert_int_equal(after.next_journal, before.next_journal);
    assert_int_equal(after.next_outbox, before.next_outbox);
    assert_true(locked_of(v) == 30);
    char diff[256];
    assert_int_equal(bh_vault_audit(v, diff, sizeof diff), BH_OK);
    bh_vault_close(v);
    /* with room, the very same batch applies in full: no key was claimed */
    bh_vault_opts big = {.map_max = 256 << 20};
    v = vt_open(dir, "home", &big);
    assert_int_equal(bh_vault_apply(v, r, m, BIG, 12), BH_OK);
    for (size_t i = 0; i < BIG; i++)
        assert_int_equal(r[i].status, BH_VAULT_ACCEPTED);
    assert_true(locked_of(v) == 30 + (bh_u128)BIG * 3);
    assert_int_equal(bh_vault_apply(v, r10, small, 10, 13), BH_OK);
    assert_int_equal(r10[0].reason, BH_REJECT_REPLAYED);
    bh_vault_close(v);
    free(small);
    free(m);
    free(r);
    vt_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_grows_and_batch_lands_whole),
        cmocka_unit_test(test_map_ceiling_refuses_whole_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
