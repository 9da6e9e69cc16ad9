/* `bulkhead run -c CONFIG`: a thin main around bh_node (settings come from
 * the config file, signals only set flags the node's loop reads). */
#include "bh_cmd.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bh_admin.h"
#include "bh_config.h"
#include "bh_http.h"
#include "bh_log.h"
#include "bh_node.h"

static bh_node *g_node;
static bh_admin g_admin;
static char g_exe[4096];

static void on_stop(int sig)
{
    (void)sig;
    bh_node_stop(g_node);
}

static void on_hup(int sig)
{
    (void)sig;
    bh_node_reopen_logs(g_node);
}

static int source_snapshot(void *ud, json_t **out)
{
    return bh_node_snapshot(ud, out);
}

static int source_ready(void *ud, char *why, size_t cap)
{
    return bh_node_ready(ud, why, cap);
}

/* The operator server, when the config has a metrics section. */
static int start_server(bh_http **out, const bh_config *cfg, bh_node *node)
{
    *out = NULL;
    if (!cfg->metrics.enabled) return BH_OK;
    const bh_config_metrics *m = &cfg->metrics;
    bh_http_options ho = {.bind = m->bind,
                          .port = (uint16_t)m->port,
                          .token = m->token,
                          .admin_token = m->admin_token,
                          .max_clients = m->max_clients,
                          .snapshot_interval_s = m->snapshot_interval_s,
                          .sample_interval_s = m->sample_interval_s,
                          .client_buffer_bytes = (size_t)m->client_buffer_kb * 1024u};
    bh_http_source src = {.snapshot = source_snapshot, .ready = source_ready, .ud = node};
    if (m->admin_token[0]) {
        /* the admin API runs vaultctl verbs as `<this binary> vaultctl` */
        ssize_t n = readlink("/proc/self/exe", g_exe, sizeof g_exe - 1);
        if (n <= 0) {
            BH_LOG(BH_LOG_ERROR, "start_failed", "what=admin reason=\"cannot find own binary\"");
            return BH_EIO;
        }
        g_exe[n] = '\0';
        g_admin = (bh_admin){.exe = g_exe, .data_dir = cfg->data_dir, .node = node};
        src.admin = bh_admin_handle;
        src.admin_ud = &g_admin;
    }
    char err[512], q[600];
    bh_http *s = NULL;
    int rc = bh_http_create(&s, err, sizeof err, &ho, &src);
    if (!rc) rc = bh_http_start(s, err, sizeof err);
    if (rc) {
        BH_LOG(BH_LOG_ERROR, "start_failed", "what=metrics error=%s reason=%s", bh_errname(rc),
               bh_log_quote(q, sizeof q, err));
        if (cfg->log_file[0]) fprintf(stderr, "bulkhead run: metrics: %s\n", err);
        bh_http_destroy(s);
        return rc;
    }
    BH_LOG(BH_LOG_INFO, "metrics_listening", "bind=%s port=%u auth=%s admin=%s", m->bind,
           (unsigned)bh_http_port(s), m->token[0] ? "bearer" : "none",
           m->admin_token[0] ? "on" : "off");
    bh_node_set_observer(node, bh_http_observer, s);
    *out = s;
    return BH_OK;
}

static const char usage_text[] =
    "usage: bulkhead run -c CONFIG\n"
    "\n"
    "Runs the relayer node: watches every configured chain, applies finalized\n"
    "transfers to the vaults in the config's data_dir, and delivers them to the\n"
    "destination Portals. Check a config first with 'bulkhead check -c CONFIG'.\n"
    "\n"
    "signals: SIGTERM/SIGINT finish the current batch and exit 0; SIGHUP reopens\n"
    "the log file.\n"
    "exit: 0 stopped by a signal, 1 runtime failure, 2 usage or config error\n";

int bh_cmd_run(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "bulkhead run: unexpected argument '%s'\n%s", argv[i], usage_text);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "bulkhead run: -c CONFIG is required\n%s", usage_text);
        return 2;
    }
    bh_config *cfg = NULL;
    char err[1024];
    int rc = bh_config_load(&cfg, err, sizeof err, path);
    if (rc != BH_OK) {
        fprintf(stderr, "bulkhead run: %s\n", err);
        return 2;
    }
    rc = bh_log_open(cfg->log_file, cfg->log_level);
    if (rc != BH_OK) {
        fprintf(stderr, "bulkhead run: cannot open log %s: %s\n", cfg->log_file, bh_strerror(rc));
        bh_config_destroy(cfg);
        return 2;
    }
    rc = bh_node_create(&g_node, cfg, err, sizeof err);
    if (rc != BH_OK) {
        char q[1100];
        BH_LOG(BH_LOG_ERROR, "start_failed", "error=%s reason=%s", bh_errname(rc),
               bh_log_quote(q, sizeof q, err));
        if (cfg->log_file[0]) fprintf(stderr, "bulkhead run: %s\n", err);
        bh_config_destroy(cfg);
        bh_log_close();
        return rc == BH_ECONFIG ? 2 : 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    bh_http *server = NULL;
    rc = start_server(&server, cfg, g_node);
    if (rc == BH_OK) rc = bh_node_run(g_node);
    bh_http_stop(server);
    bh_http_destroy(server);
    bh_node_destroy(g_node);
    g_node = NULL;
    bh_config_destroy(cfg);
    bh_log_close();
    return rc == BH_OK ? 0 : 1;
}
