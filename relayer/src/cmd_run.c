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

int bh_cmd_run(int argc, char **argv)
{
    static const char *const options[] = {"--config"};
    bh_cli_set_verb("run");
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc, common = bh_cmd_common_arg(a, "run", &rc);
        if (common == 1) return rc;
        if (common == 2) continue;
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (i + 1 >= argc) return bh_cli_usage("missing_value", a, "%s needs a config file", a);
            if (path) return bh_cli_usage("duplicate_option", a, "-c given twice");
            path = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            if (path) return bh_cli_usage("duplicate_option", "--config", "-c given twice");
            path = a + 9;
        } else if (a[0] == '-') {
            return bh_cli_unknown_option(a, options, 1);
        } else {
            return bh_cli_usage("unexpected_argument", a,
                                "unexpected argument '%.80s' (the config is -c CONFIG)", a);
        }
    }
    if (!path) return bh_cli_usage("missing_argument", "-c", "-c CONFIG is required");
    bh_config *cfg = NULL;
    char err[1024];
    int rc = bh_config_load(&cfg, err, sizeof err, path);
    if (rc != BH_OK) return bh_cmd_config_fail(rc, path, err);
    rc = bh_log_open(cfg->log_file, cfg->log_level);
    if (rc != BH_OK) {
        bh_cli_fail(BH_EXIT_ENV, "log_unwritable", cfg->log_file, "cannot open log %s: %s",
                    cfg->log_file, bh_strerror(rc));
        bh_config_destroy(cfg);
        return BH_EXIT_ENV;
    }
    rc = bh_node_create(&g_node, cfg, err, sizeof err);
    if (rc != BH_OK) {
        char q[1100];
        BH_LOG(BH_LOG_ERROR, "start_failed", "error=%s reason=%s", bh_errname(rc),
               bh_log_quote(q, sizeof q, err));
        /* a config the node's state contradicts is the config's fault (2);
         * anything else is its environment (3: data directory, keys' I/O) */
        int x = bh_cli_fail(rc == BH_ECONFIG ? BH_EXIT_USAGE : BH_EXIT_ENV,
                            rc == BH_ECONFIG ? "config_invalid" : "start_failed", NULL, "%s", err);
        bh_config_destroy(cfg);
        bh_log_close();
        return x;
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
    int x = BH_EXIT_OK;
    rc = start_server(&server, cfg, g_node);
    if (rc != BH_OK)
        x = bh_cli_fail(BH_EXIT_ENV, "start_failed", NULL, "the operator server did not start: %s",
                        bh_strerror(rc));
    else if ((rc = bh_node_run(g_node)) != BH_OK)
        x = bh_cli_fail(BH_EXIT_FAILED, "node_failed", NULL, "the node stopped: %s (see its log)",
                        bh_strerror(rc));
    bh_http_stop(server);
    bh_http_destroy(server);
    bh_node_destroy(g_node);
    g_node = NULL;
    bh_config_destroy(cfg);
    bh_log_close();
    return x;
}
