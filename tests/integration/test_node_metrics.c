/* What a real node (`bulkhead run` on two anvil chains, Portals 1-of-1, a
 * metrics section on port 0) tells an operator about itself, read from
 * outside and checked against what the node cannot fake:
 *  - bulkhead_build_info names the version and commit `bulkhead --version`
 *    prints; the process_* figures are the node process's own as
 *    /proc/PID says, and its start time is the same at every scrape.
 * argv[1] = bulkhead, argv[2] = vaultctl. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node_test.h" /* cmocka first: bh_test_proc.h asserts with it */

#include "bh_amount.h"
#include "bh_test_proc.h"
#include "../unit/prom_expo.h"

static int PORT;

static int setup(void **state)
{
    (void)state;
    nh_opts o = {.n_chains = 2, .n_attesters = 1, .quorum = 1, .evm_id_base = 8800};
    if (nt_world_up(o, 0) != 0 || nh_node_enable_metrics(&W, 1) != 0 ||
        nh_node_start(&W, 1, WAIT_MS) != 0 || nh_node_metrics_port(&W, 1, WAIT_MS, &PORT) != 0)
        return -1;
    /* ready: every chain polled, its connections made */
    for (uint64_t end = nh_now_ms() + WAIT_MS;;) {
        int st = 0;
        char *body = NULL;
        if (nh_http_get(PORT, "/readyz", &st, &body) != 0) return -1;
        free(body);
        if (st == 200) break;
        if (nh_now_ms() > end) {
            fprintf(stderr, "the node never became ready\n");
            return -1;
        }
        nh_sleep_ms(100);
    }
    nh_sleep_ms(1100); /* past the server's one-second snapshot cache */
    return 0;
}

/* GET /metrics, parsed strictly (fails the test otherwise). *text: the
 * body (caller frees), may be NULL. */
static expo *scrape(char **text)
{
    int st = 0;
    char *body = NULL;
    NH_OK(nh_http_get(PORT, "/metrics", &st, &body));
    assert_int_equal(st, 200);
    expo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    if (expo_parse(e, body) != 0) fail_msg("/metrics: %s\n%s", e->err, body);
    if (text)
        *text = body;
    else
        free(body);
    return e;
}

static const series *only(const expo *e, const char *name)
{
    const series *s = NULL;
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->s[i].name, name) == 0) {
            if (s) fail_msg("%s has more than one series", name);
            s = &e->s[i];
        }
    if (s == NULL) fail_msg("no %s", name);
    return s;
}

static const char *label_of(const series *s, const char *k)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->k[i], k) == 0) return s->v[i];
    return NULL;
}

/* The node's /proc/PID/stat fields 14 (utime), 15 (stime), 22 (starttime). */
static void proc_stat(pid_t pid, unsigned long long *ticks, unsigned long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strrchr(buf, ')');
    assert_non_null(s);
    unsigned long long ut = 0, stt = 0;
    assert_int_equal(sscanf(s + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                            "%*d %*d %llu",
                            &ut, &stt, start),
                     3);
    *ticks = ut + stt;
}

static unsigned long long boot_time(void)
{
    char line[256];
    unsigned long long b = 0;
    FILE *f = fopen("/proc/stat", "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &b) == 1) break;
    fclose(f);
    assert_true(b > 0);
    return b;
}

static long count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* The soft "Max open files" of /proc/PID/limits; -1 if unlimited. */
static long long max_files(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long long v = -2;
    while (fgets(line, sizeof line, f)) {
        char soft[32];
        if (strncmp(line, "Max open files", 14) != 0) continue;
        assert_int_equal(sscanf(line + 14, "%31s", soft), 1);
        v = strcmp(soft, "unlimited") == 0 ? -1 : atoll(soft);
    }
    fclose(f);
    assert_true(v != -2);
    return v;
}

static void test_metrics_build_and_process(void **state)
{
    (void)state;
    pid_t pid = W.node[0].pid;
    long tick = sysconf(_SC_CLK_TCK);
    assert_true(pid > 0 && tick > 0);

    /* the build: what the binary itself prints */
    bh_proc_result *r = malloc(sizeof *r);
    assert_non_null(r);
    char *argv[] = {(char *)bin_bulkhead, "--version", NULL};
    bh_proc_run(r, argv, NULL);
    assert_int_equal(r->status, 0);
    char version[64] = "", commit[64] = "";
    if (sscanf(r->out, "bulkhead %63s (%63[^)])", version, commit) != 2)
        fail_msg("bulkhead --version printed %s", r->out);
    free(r);

    expo *e = scrape(NULL);
    const series *b = only(e, "bulkhead_build_info");
    assert_string_equal(b->value, "1");
    assert_int_equal(b->n, 2);
    assert_string_equal(label_of(b, "version"), version);
    assert_string_equal(label_of(b, "commit"), commit);
    assert_string_equal(family(e, "bulkhead_build_info")->type, "gauge");

    /* the process, as the kernel counts it */
    unsigned long long ticks = 0, start = 0;
    proc_stat(pid, &ticks, &start);
    char want[32];
    snprintf(want, sizeof want, "%llu", boot_time() + start / (unsigned long long)tick);
    CHECK_VALUE(e, want, "process_start_time_seconds", 0);
    double cpu = only(e, "process_cpu_seconds_total")->num;
    assert_string_equal(family(e, "process_cpu_seconds_total")->type, "counter");
    assert_true(cpu >= 0); /* ticks of 10 ms: 0 for a node just started */
    assert_true(cpu <= (double)ticks / (double)tick + 1e-9); /* read before ours */
    long long mf = max_files(pid);
    if (mf >= 0) {
        snprintf(want, sizeof want, "%lld", mf);
        CHECK_VALUE(e, want, "process_max_fds", 0);
    } else {
        CHECK_ABSENT(e, "process_max_fds", 0);
    }
    double fds = only(e, "process_open_fds")->num, ours = (double)count_fds(pid);
    if (fds < 3 || fds > ours + 8 || fds < ours - 8)
        fail_msg("process_open_fds %g; /proc/%d/fd lists %g", fds, (int)pid, ours);
    double rss = only(e, "process_resident_memory_bytes")->num;
    double vsz = only(e, "process_virtual_memory_bytes")->num;
    assert_true(rss > 1e6 && rss < vsz);
    free(e);

    /* a later scrape (past the server's one-second snapshot cache): the
     * same start time, no less CPU */
    nh_sleep_ms(1200);
    e = scrape(NULL);
    snprintf(want, sizeof want, "%llu", boot_time() + start / (unsigned long long)tick);
    CHECK_VALUE(e, want, "process_start_time_seconds", 0);
    assert_true(only(e, "process_cpu_seconds_total")->num >= cpu);
    free(e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_build_and_process),
    };
    return NT_MAIN(argc, argv, tests, setup);
}
