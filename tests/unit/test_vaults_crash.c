/* Crash test: a child applies batches with durability on and is killed with
 * SIGKILL at random moments. After every kill the vault reopens with each
 * batch applied fully or not at all, re-applying an applied batch yields
 * `replayed` for every message, and `vaultctl audit` is clean.
 * argv[1]: path of the vaultctl binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "bh_test_proc.h"
#include "vaults_helpers.h"

#define KILLS 220
#define BATCH 8 /* 6 locks 1 -> 2 of 10, then 2 burns 2 -> 1 of 5 */

static const char *g_vaultctl;

static void make_batch(bh_transfer_msg *b, uint64_t n)
{
    for (int i = 0; i < 6; i++)
        b[i] = vt_msg(1, 1, 2, n * 6 + (uint64_t)i + 1, 10, 0, 0);
    for (int i = 0; i < 2; i++)
        b[6 + i] = vt_msg(2, 1, 1, n * 2 + (uint64_t)i + 1, 5, 0, 0);
}

static void child(const char *dir, uint64_t start, int ready_fd)
{
    bh_vault *v = NULL;
    if (bh_vault_open(&v, dir, "home", NULL, NULL, 0) != BH_OK) _exit(3);
    /* tell the parent the kill may come: from now on we are inside apply */
    if (write(ready_fd, "r", 1) != 1) _exit(6);
    for (uint64_t n = start;; n++) {
        bh_transfer_msg b[BATCH];
        bh_vault_result r[BATCH];
        make_batch(b, n);
        if (bh_vault_apply(v, r, b, BATCH, 100 + n) != BH_OK) _exit(4);
        for (int i = 0; i < BATCH; i++)
            if (r[i].status != BH_VAULT_ACCEPTED) _exit(5);
    }
}

static void test_sigkill_never_half_applies(void **state)
{
    (void)state;
    char *dir = vt_tmpdir();
    assert_int_equal(bh_vault_init_dir(dir, "home", 1, 1, "t", NULL), BH_OK);
    bh_vault *v = vt_open(dir, "home", NULL);
    bh_bytes32 tok = vt_token(1, 0);
    assert_int_equal(bh_vault_asset_add(v, &tok, 0, NULL, 1, "t", NULL), BH_OK);
    bh_vault_close(v);

    srand((unsigned)time(NULL));
    uint64_t next = 0; /* first batch not yet known applied */
    int child_progress = 0;
    for (int kill_no = 0; kill_no < KILLS; kill_no++) {
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            child(dir, next, ready[1]);
        }
        close(ready[1]);
        char c;
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        usleep((useconds_t)(rand() % 15000));
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (WIFEXITED(st)) fail_msg("child exited %d before the kill", WEXITSTATUS(st));

        v = vt_open(dir, "home", NULL);
        assert_non_null(v);
        /* walk forward: applied batches come back all replayed; the first
         * batch the child did not commit comes back all accepted */
        for (;;) {
            bh_transfer_msg b[BATCH];
            bh_vault_result r[BATCH];
            make_batch(b, next);
            assert_int_equal(bh_vault_apply(v, r, b, BATCH, 100 + next), BH_OK);
            int replayed = 0, accepted = 0;
            for (int i = 0; i < BATCH; i++) {
                replayed += r[i].status == BH_VAULT_REJECTED && r[i].reason == BH_REJECT_REPLAYED;
                accepted += r[i].status == BH_VAULT_ACCEPTED;
            }
            next++;
            if (replayed == BATCH) {
                child_progress++;
                continue;
            }
            if (accepted != BATCH)
                fail_msg("kill %d: batch %llu half applied (%d replayed, %d accepted)", kill_no,
                         (unsigned long long)(next - 1), replayed, accepted);
            break;
        }
        bh_vault_asset a;
        bh_vault_lane l;
        assert_int_equal(bh_vault_asset_get(v, &a, &tok), BH_OK);
        assert_int_equal(bh_vault_lane_get(v, &l, &tok, 2), BH_OK);
        assert_true(a.locked == (bh_u128)next * 50);
        assert_true(l.outstanding == (bh_u128)next * 50);
        bh_vault_close(v);

        {
            char *argv[] = {(char *)g_vaultctl, "-d", dir, "audit", "home", NULL};
            bh_proc_result *pr = malloc(sizeof *pr);
            bh_proc_run(pr, argv, NULL);
            if (pr->status != 0) fail_msg("audit after kill %d: %s%s", kill_no, pr->out, pr->err);
            assert_non_null(strstr(pr->out, "vault home: ok"));
            free(pr);
        }
    }
    /* the kills landed while work was being done, not only before it began */
    assert_true(child_progress > KILLS / 4);
    vt_rmrf(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s VAULTCTL\n", argv[0]);
        return 2;
    }
    g_vaultctl = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_never_half_applies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
