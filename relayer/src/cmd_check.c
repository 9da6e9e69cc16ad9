/* `bulkhead check`: validate a config without running the node, or print
 * the key table (the README's configuration reference is that output). */
#include "bh_cmd.h"

#include <stdio.h>
#include <string.h>

#include "bh_config.h"

/* A config that does not validate is wrong input, like bad arguments: 2,
 * as `bulkhead run` exits on it (systemd does not restart on 2). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: bulkhead check -c CONFIG [--keys]\n"
    "       bulkhead check --keys\n"
    "\n"
    "-c, --config CONFIG  load and validate CONFIG (keys are read too), print\n"
    "                     \"ok: N chains (...), data_dir DIR\"\n"
    "--keys               print every config key as a Markdown table\n"
    "\n"
    "A refused config is reported as \"<JSON path>: <problem>; <fix>\".\n"
    "exit: 0 valid, 1 output failed, 2 refused config or usage (as bulkhead run)\n";

static int usage(const char *why)
{
    if (why) fprintf(stderr, "bulkhead check: %s\n", why);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

/* One Markdown cell: '|' would end the cell, so it is escaped. */
static void cell(const char *s, int code)
{
    fputs(code ? " `" : " ", stdout);
    for (; *s; s++) {
        if (*s == '|') putchar('\\');
        putchar(*s);
    }
    fputs(code ? "` |" : " |", stdout);
}

static void print_keys(void)
{
    size_t n;
    const bh_config_key *k = bh_config_keys(&n);
    puts("| key | type | default | bounds | meaning |");
    puts("|---|---|---|---|---|");
    for (size_t i = 0; i < n; i++) {
        putchar('|');
        cell(k[i].path, 1);
        cell(k[i].type, 0);
        cell(k[i].deflt, 0);
        cell(k[i].bounds, 0);
        cell(k[i].meaning, 0);
        putchar('\n');
    }
}

int bh_cmd_check(int argc, char **argv)
{
    const char *config = NULL;
    int keys = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--keys")) {
            keys = 1;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (i + 1 >= argc) return usage("-c needs a config file");
            if (config) return usage("-c given twice");
            config = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            if (config) return usage("-c given twice");
            config = a + 9;
        } else {
            char why[128];
            snprintf(why, sizeof why, "unexpected argument '%.80s'", a);
            return usage(why);
        }
    }
    if (!config && !keys) return usage("give -c CONFIG or --keys");
    if (config) {
        char err[1024];
        bh_config *c;
        int rc = bh_config_load(&c, err, sizeof err, config);
        if (rc != BH_OK) {
            fprintf(stderr, "bulkhead check: %s\n", err[0] ? err : bh_strerror(rc));
            return EXIT_USAGE;
        }
        printf("ok: %zu chain%s (", c->n_chains, c->n_chains == 1 ? "" : "s");
        for (size_t i = 0; i < c->n_chains; i++)
            printf("%s%s", i ? ", " : "", c->chains[i].name);
        printf("), data_dir %s\n", c->data_dir);
        bh_config_destroy(c);
    }
    if (keys) print_keys();
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
}
