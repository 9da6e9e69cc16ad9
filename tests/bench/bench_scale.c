/* bench_scale: what a chain costs a node, with 3, 8, 16 and 32 chains.
 *
 * Usage: build/tests/bench/bench_scale [--chains 3,8,16,32] [--events E]
 *                                      [--window S] [--bulkhead PATH]
 *
 * For each count N: N anvil chains (interval mining, a block a second), a
 * Portal and a test token on each (the token registered as the chain's
 * asset), E locks per chain (default 200, 200 to a block) made before the
 * node starts, toward a remote chain the node does not serve (the vault
 * refuses them: nothing is delivered, so the figures are the watching side
 * and the vault's, not the chains' submit rate). Then one node (`bulkhead
 * run`, default poll_ms and reconcile_s, confirmations 2, a transaction key
 * per chain, so one delivery thread each) starts from the Portals'
 * deployment blocks and:
 *  - catch-up: ms from the spawn until its /metrics counts every lock
 *    observed (N * E; polled every 50 ms), and of that the ms until its log
 *    says event=started (vaults opened, chains verified);
 *  - steady state, over the next S seconds (default 15), after 3 s of
 *    settling: CPU (utime + stime from /proc/<pid>/stat) as % of one core,
 *    RSS and threads (/proc/<pid>/status), RPC calls per chain per second
 *    (bulkhead_rpc_calls_total over every endpoint).
 * One JSON line per N. The baseline is the first count's run in the same
 * process: per-chain figures at N over per-chain figures at the first N
 * (1.0 = the cost per chain is flat). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bh_abi.h"
#include "bh_amount.h"
#include "bh_evm_sender.h"
#include "bh_evm_tx.h"
#include "bh_hex.h"
#include "bh_portal.h"
#include "bh_portal_admin.h"
#include "bh_test_token.h"
#include "it_harness.h"
#include "node_harness.h"

#ifndef BH_BULKHEAD_BIN
#define BH_BULKHEAD_BIN "bulkhead"
#endif

#define MAX_N 32
#define EVM_BASE 9400
#define NOWHERE 999 /* a remote registered on every Portal, served by no node */
#define PER_BLOCK 200

typedef struct {
    it_anvil anvil;
    bh_address portal, token;
    uint64_t start_block;
} chain;

static chain CH[MAX_N];
static size_t n_up;
static char tmp[256];
static pid_t node_pid;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void teardown(void)
{
    if (node_pid > 0) {
        kill(node_pid, SIGKILL);
        waitpid(node_pid, NULL, 0);
        node_pid = 0;
    }
    for (size_t i = 0; i < n_up; i++)
        it_anvil_stop(&CH[i].anvil);
    n_up = 0;
    if (tmp[0]) nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tmp[0] = '\0';
}

static int die(const char *what)
{
    fprintf(stderr, "bench_scale: %s failed\n", what);
    teardown();
    return 1;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return -1;
    size_t len = strlen(text);
    int rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
    close(fd);
    return rc;
}

static int write_key(const char *path, const bh_seckey *k)
{
    char hex[66];
    bh_hex_encode(hex, k->data, 32);
    hex[64] = '\n';
    hex[65] = '\0';
    int rc = write_file(path, hex, 0600);
    memset(hex, 0, sizeof hex);
    return rc;
}

static void addr_hex(char out[43], const bh_address *a)
{
    bh_rpc_format_hex(out, a->data, 20);
}

static int send_raw(bh_rpc *ep, const unsigned char *raw, size_t len)
{
    char *hex = malloc(2 * len + 3);
    if (!hex) return BH_ENOMEM;
    bh_rpc_format_hex(hex, raw, len);
    json_t *params = json_pack("[s]", hex);
    free(hex);
    json_t *res = NULL;
    int rc = bh_rpc_call(ep, &res, "eth_sendRawTransaction", params);
    json_decref(params);
    json_decref(res);
    return rc;
}

/* Chain i: anvil, Portal (attester it_test_key(1)), token, E locks. */
static int chain_up(bh_attest *ctx, size_t i, size_t events)
{
    chain *c = &CH[i];
    uint64_t id = EVM_BASE + i + 1;
    const char *extra[] = {"--gas-limit", "100000000", NULL};
    if (it_anvil_start(&c->anvil, id, extra) != 0) return -1;
    n_up = i + 1;
    bh_rpc_options ro = {.url = c->anvil.url, .timeout_ms = 30000};
    bh_rpc *ep = NULL;
    bh_evm_sender *s = NULL;
    bh_seckey key, ak;
    it_key(&key, IT_ANVIL_KEY0);
    it_test_key(&ak, 1);
    bh_address att, nowhere;
    memset(nowhere.data, 0x99, 20);
    bh_evm_sender_options so = {.chain_id = id};
    int rc = bh_rpc_create(&ep, &ro);
    if (rc == BH_OK) rc = bh_evm_sender_create(&s, ep, ctx, &key, &so);
    if (rc == BH_OK) rc = bh_attest_address(ctx, &att, &ak);
    if (rc == BH_OK) rc = bh_portal_deploy(s, &c->portal, (uint16_t)(i + 1), 0, &att, 1, 1);
    if (rc == BH_OK) rc = bh_portal_register_remote(s, &c->portal, NOWHERE, &nowhere);
    if (rc == BH_OK) rc = bh_test_token_deploy(s, &c->token, "Scale", "SCL", 18);
    const bh_address *me = bh_evm_sender_address(s);
    bh_u256 big;
    memset(big.be, 0, 32);
    big.be[0] = 0x7f;
    if (rc == BH_OK) rc = bh_test_token_mint(s, &c->token, me, &big);
    bh_abi a;
    unsigned char *data = NULL;
    size_t data_len = 0;
    if (rc == BH_OK) {
        bh_abi_init(&a, "approve(address,uint256)", 2);
        bh_abi_address(&a, &c->portal);
        memset(big.be, 0xff, 32);
        bh_abi_u256(&a, &big);
        rc = bh_abi_finish(&a, &data, &data_len);
        bh_abi_clear(&a);
    }
    if (rc == BH_OK) rc = bh_evm_sender_send(s, NULL, &c->token, NULL, data, data_len);
    free(data);
    if (rc == BH_OK) rc = bh_evm_sender_sync_nonce(s);
    json_t *r = NULL;
    if (rc == BH_OK) {
        json_t *blk = it_rpc(c->anvil.url, "eth_blockNumber", NULL);
        c->start_block = blk ? strtoull(json_string_value(blk), NULL, 16) : 0;
        json_decref(blk);
        r = it_rpc(c->anvil.url, "evm_setAutomine", json_pack("[b]", 0));
        json_decref(r);
    }
    uint64_t nonce = rc == BH_OK ? bh_evm_sender_next_nonce(s) : 0;
    bh_bytes32 to32;
    bh_address_to_bytes32(&to32, me);
    for (size_t k = 0; k < events && rc == BH_OK; k++) {
        bh_abi_init(&a, "lock(address,uint256,uint16,bytes32,uint256,uint32)", 6);
        bh_abi_address(&a, &c->token);
        bh_abi_uint(&a, 1000 + k);
        bh_abi_uint(&a, NOWHERE);
        bh_abi_bytes32(&a, &to32);
        bh_abi_uint(&a, 0);
        bh_abi_uint(&a, (uint64_t)k);
        rc = bh_abi_finish(&a, &data, &data_len);
        bh_abi_clear(&a);
        bh_evm_tx tx = {.chain_id = id,
                        .nonce = nonce++,
                        .max_priority_fee = 1000000000,
                        .max_fee = 2000000000000ull,
                        .gas_limit = 200000,
                        .has_to = 1,
                        .to = c->portal,
                        .data = data,
                        .data_len = data_len};
        unsigned char *raw = NULL;
        size_t raw_len = 0;
        bh_hash32 h;
        if (rc == BH_OK) rc = bh_evm_tx_sign(ctx, &raw, &raw_len, &h, &tx, &key);
        if (rc == BH_OK) rc = send_raw(ep, raw, raw_len);
        free(raw);
        free(data);
        if (rc == BH_OK && ((k + 1) % PER_BLOCK == 0 || k + 1 == events)) {
            r = it_rpc(c->anvil.url, "evm_mine", NULL);
            json_decref(r);
        }
    }
    if (rc == BH_OK) { /* the locks final (confirmations 2), then a block a second */
        if (it_mine(c->anvil.url, 3) != 0) rc = BH_EIO;
        r = it_rpc(c->anvil.url, "evm_setIntervalMining", json_pack("[i]", 1));
        json_decref(r);
    }
    bh_seckey_clear(&key);
    bh_seckey_clear(&ak);
    bh_evm_sender_destroy(s);
    bh_rpc_destroy(ep);
    if (rc != BH_OK) fprintf(stderr, "bench_scale: chain %zu: %s\n", i, bh_errname(rc));
    return rc == BH_OK ? 0 : -1;
}

/* The node's config for chains 0..n-1 in dir; returns 0. */
static int write_config(const char *dir, size_t n)
{
    char path[512], data_dir[400];
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    bh_seckey att, tx;
    it_test_key(&att, 1);
    it_key(&tx, nh_anvil_key(2));
    snprintf(path, sizeof path, "%s/attester.key", dir);
    int rc = write_key(path, &att);
    snprintf(path, sizeof path, "%s/tx.key", dir);
    if (rc == 0) rc = write_key(path, &tx);
    bh_seckey_clear(&att);
    bh_seckey_clear(&tx);
    if (rc) return -1;
    json_t *chains = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[24], portal[43], token[43]; /* "c" and any size_t */
        snprintf(name, sizeof name, "c%02zu", i + 1);
        addr_hex(portal, &CH[i].portal);
        addr_hex(token, &CH[i].token);
        json_t *assets = json_pack("[{s:s,s:s,s:i,s:{}}]", "token", token, "symbol", "SCL",
                                   "decimals", 18, "limits");
        json_array_append_new(chains,
                              json_pack("{s:s,s:i,s:I,s:[s],s:i,s:i,s:s,s:I,s:s,s:o,s:i}", "name",
                                        name, "bridge_id", (int)(i + 1), "evm_chain_id",
                                        (json_int_t)CH[i].anvil.chain_id, "endpoints",
                                        CH[i].anvil.url, "quorum", 1, "confirmations", 2, "portal",
                                        portal, "start_block", (json_int_t)CH[i].start_block,
                                        "tx_key_file", "tx.key", "assets", assets, "msg_limit", 0));
    }
    json_t *cfg =
        json_pack("{s:{s:s,s:s,s:s,s:s,s:i,s:i,s:s},s:o,s:{},s:{s:s,s:i}}", "node", "name", "scale",
                  "data_dir", data_dir, "log_level", "info", "log_file", "", "signer_set_index", 0,
                  "signer_index", 0, "attester_key_file", "attester.key", "chains", chains,
                  "breaker", "metrics", "bind", "127.0.0.1", "port", 0);
    char *text = json_dumps(cfg, JSON_INDENT(2));
    json_decref(cfg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    rc = text ? write_file(path, text, 0644) : -1;
    free(text);
    return rc;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    for (size_t k; b && (k = fread(b + len, 1, cap - len - 1, f)) > 0;) {
        len += k;
        if (len + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    fclose(f);
    if (b) b[len] = '\0';
    return b;
}

/* Sum of every sample of `family` in Prometheus text. */
static double metric_sum(const char *text, const char *family)
{
    double sum = 0;
    size_t fl = strlen(family);
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        if (!strncmp(line, family, fl) && (line[fl] == '{' || line[fl] == ' ')) {
            const char *v = line[fl] == '{' ? strchr(line, '}') : line + fl;
            if (v) sum += strtod(v + 1, NULL);
        }
        line = eol ? eol + 1 : NULL;
    }
    return sum;
}

static int metrics(int port, char **body)
{
    int status = 0;
    *body = NULL;
    if (nh_http_get(port, "/metrics", &status, body) != 0 || status != 200) {
        free(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

/* utime + stime of pid in seconds; RSS in KiB and threads. */
static double proc_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char *s = read_all(path);
    if (!s) return -1;
    const char *p = strrchr(s, ')'); /* comm may hold spaces */
    unsigned long ut = 0, st = 0;
    if (p) sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    free(s);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void proc_status(pid_t pid, long *rss_kb, long *threads)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    char *s = read_all(path);
    *rss_kb = *threads = -1;
    if (!s) return;
    const char *p = strstr(s, "VmRSS:");
    if (p) *rss_kb = strtol(p + 6, NULL, 10);
    p = strstr(s, "Threads:");
    if (p) *threads = strtol(p + 8, NULL, 10);
    free(s);
}

/* ms until the log has `needle` (from `since`), or -1 after timeout_ms. */
static double log_wait(const char *log, const char *needle, uint64_t since, unsigned timeout_ms)
{
    for (uint64_t end = nh_now_ms() + timeout_ms; nh_now_ms() < end; nh_sleep_ms(20)) {
        char *text = read_all(log);
        int found = text && strstr(text, needle);
        free(text);
        if (found) return (double)(nh_now_ms() - since);
    }
    return -1;
}

static int log_port(const char *log, unsigned timeout_ms)
{
    for (uint64_t end = nh_now_ms() + timeout_ms; nh_now_ms() < end; nh_sleep_ms(50)) {
        char *text = read_all(log);
        const char *line = text ? strstr(text, "event=metrics_listening") : NULL;
        char port[16];
        int v = 0;
        if (line && nh_log_field(line, "port", port, sizeof port) == 0) v = atoi(port);
        free(text);
        if (v > 0) return v;
    }
    return -1;
}

typedef struct {
    size_t n;
    double started_ms, catchup_ms, cpu_pct, rpc_per_chain_s;
    long rss_kb, threads;
} result;

static int run_one(bh_attest *ctx, size_t n, size_t events, unsigned window_s, const char *bulkhead,
                   result *out)
{
    snprintf(tmp, sizeof tmp, "/tmp/bh-scale-XXXXXX");
    if (!mkdtemp(tmp)) return die("mkdtemp");
    double t0 = nh_now_ms();
    for (size_t i = 0; i < n; i++)
        if (chain_up(ctx, i, events) != 0) return die("chain setup");
    fprintf(stderr, "bench_scale: %zu chains up with %zu locks each in %.1f s\n", n, events,
            (nh_now_ms() - t0) / 1000.0);
    if (write_config(tmp, n) != 0) return die("config");
    char cfg[400], log[400];
    snprintf(cfg, sizeof cfg, "%s/config.json", tmp);
    snprintf(log, sizeof log, "%s/node.log", tmp);
    uint64_t start = nh_now_ms();
    node_pid = fork();
    if (node_pid < 0) return die("fork");
    if (node_pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (chdir(tmp) != 0) _exit(127);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bulkhead, bulkhead, "run", "-c", cfg, (char *)NULL);
        _exit(127);
    }
    out->started_ms = log_wait(log, "event=started", start, 60000);
    int port = log_port(log, 60000);
    if (port < 0) return die("node start (no metrics_listening in its log)");
    double want = (double)(n * events);
    char *body = NULL;
    for (;;) {
        double seen = 0;
        if (metrics(port, &body) == 0)
            seen = metric_sum(body, "bulkhead_chain_events_observed_total");
        free(body);
        if (seen >= want) break;
        if (nh_now_ms() - start > 600000) return die("catch-up (10 min)");
        nh_sleep_ms(50);
    }
    out->catchup_ms = (double)(nh_now_ms() - start);
    nh_sleep_ms(3000);
    double calls0 = 0, calls1 = 0;
    if (metrics(port, &body) != 0) return die("metrics");
    calls0 = metric_sum(body, "bulkhead_rpc_calls_total");
    free(body);
    double cpu0 = proc_cpu_s(node_pid);
    uint64_t w0 = nh_now_ms();
    nh_sleep_ms(window_s * 1000);
    double cpu1 = proc_cpu_s(node_pid);
    double dt = (double)(nh_now_ms() - w0) / 1000.0;
    if (metrics(port, &body) != 0) return die("metrics");
    calls1 = metric_sum(body, "bulkhead_rpc_calls_total");
    free(body);
    proc_status(node_pid, &out->rss_kb, &out->threads);
    out->n = n;
    out->cpu_pct = 100.0 * (cpu1 - cpu0) / dt;
    out->rpc_per_chain_s = (calls1 - calls0) / (double)n / dt;
    kill(node_pid, SIGTERM);
    for (int i = 0; i < 300 && waitpid(node_pid, NULL, WNOHANG) == 0; i++)
        nh_sleep_ms(100);
    kill(node_pid, SIGKILL);
    waitpid(node_pid, NULL, 0);
    node_pid = 0;
    teardown();
    return 0;
}

int main(int argc, char **argv)
{
    size_t counts[8] = {3, 8, 16, 32}, n_counts = 4, events = 200;
    unsigned window = 15;
    const char *bulkhead = BH_BULKHEAD_BIN;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--chains") && i + 1 < argc) {
            n_counts = 0;
            for (char *p = argv[++i]; *p && n_counts < 8;) {
                counts[n_counts++] = strtoul(p, &p, 10);
                if (*p == ',') p++;
            }
        } else if (!strcmp(argv[i], "--events") && i + 1 < argc) {
            events = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--window") && i + 1 < argc) {
            window = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--bulkhead") && i + 1 < argc) {
            bulkhead = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: %s [--chains 3,8,16,32] [--events E] [--window S] [--bulkhead PATH]\n",
                    argv[0]);
            return 2;
        }
    }
    for (size_t k = 0; k < n_counts; k++)
        if (counts[k] < 1 || counts[k] > MAX_N) {
            fprintf(stderr, "bench_scale: chain counts must be 1..%d\n", MAX_N);
            return 2;
        }
    if (events < 1 || window < 1) return 2;
    signal(SIGPIPE, SIG_IGN);
    bh_attest *ctx = bh_attest_create();
    if (!ctx) return 1;
    result base = {0};
    for (size_t k = 0; k < n_counts; k++) {
        result r = {0};
        if (run_one(ctx, counts[k], events, window, bulkhead, &r) != 0) return 1;
        if (k == 0) base = r;
        double per_cpu = r.cpu_pct / (double)r.n, base_cpu = base.cpu_pct / (double)base.n;
        double per_rss = (double)r.rss_kb / (double)r.n,
               base_rss = (double)base.rss_kb / (double)base.n;
        double per_catch = r.catchup_ms / (double)r.n,
               base_catch = base.catchup_ms / (double)base.n;
        printf("{\"bench\":\"scale\",\"chains\":%zu,\"events_per_chain\":%zu,"
               "\"started_ms\":%.0f,\"catchup_ms\":%.0f,\"window_s\":%u,\"cpu_pct\":%.1f,\"cpu_pct_"
               "per_chain\":%.2f,"
               "\"rss_kb\":%ld,\"rss_kb_per_chain\":%.0f,\"threads\":%ld,"
               "\"rpc_calls_per_chain_per_s\":%.2f,\"baseline\":\"the same at %zu chains\","
               "\"cpu_per_chain_ratio\":%.2f,\"rss_per_chain_ratio\":%.2f,"
               "\"catchup_per_chain_ratio\":%.2f,\"rpc_per_chain_ratio\":%.2f}\n",
               r.n, events, r.started_ms, r.catchup_ms, window, r.cpu_pct, per_cpu, r.rss_kb,
               per_rss, r.threads, r.rpc_per_chain_s, base.n, base_cpu > 0 ? per_cpu / base_cpu : 0,
               base_rss > 0 ? per_rss / base_rss : 0, base_catch > 0 ? per_catch / base_catch : 0,
               base.rpc_per_chain_s > 0 ? r.rpc_per_chain_s / base.rpc_per_chain_s : 0);
        fflush(stdout);
    }
    bh_attest_destroy(ctx);
    return 0;
}
