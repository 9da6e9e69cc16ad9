/* `bulkhead check`: validate a config without running the node, or print
 * the key table (the README's configuration reference is that output). */
#include "bh_cmd.h"

#include <stdio.h>
#include <string.h>

#include "bh_config.h"

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

static json_t *keys_json(void)
{
    size_t n;
    const bh_config_key *k = bh_config_keys(&n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "key", k[i].path, "type",
                                             k[i].type, "default", k[i].deflt, "bounds",
                                             k[i].bounds, "meaning", k[i].meaning));
    return arr;
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
    static const char *const options[] = {"--config", "--keys"};
    bh_cli_set_verb("check");
    const char *config = NULL;
    int keys = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc, common = bh_cmd_common_arg(a, "check", &rc);
        if (common == 1) return rc;
        if (common == 2) continue;
        if (!strcmp(a, "--keys")) {
            keys = 1;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (i + 1 >= argc) return bh_cli_usage("missing_value", a, "%s needs a config file", a);
            if (config) return bh_cli_usage("duplicate_option", a, "-c given twice");
            config = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            if (config) return bh_cli_usage("duplicate_option", "--config", "-c given twice");
            config = a + 9;
        } else if (a[0] == '-') {
            return bh_cli_unknown_option(a, options, 2);
        } else {
            return bh_cli_usage("unexpected_argument", a,
                                "unexpected argument '%.80s' (the config is -c CONFIG)", a);
        }
    }
    if (!config && !keys) return bh_cli_usage("missing_argument", "-c", "give -c CONFIG or --keys");
    json_t *data = bh_cli_json() ? json_object() : NULL;
    if (config) {
        char err[1024];
        bh_config *c;
        int rc = bh_config_load(&c, err, sizeof err, config);
        if (rc != BH_OK) {
            json_decref(data);
            return bh_cmd_config_fail(rc, config, err);
        }
        if (data) {
            json_t *names = json_array();
            for (size_t i = 0; i < c->n_chains; i++)
                json_array_append_new(names, json_string(c->chains[i].name));
            json_object_set_new(data, "config", json_string(config));
            json_object_set_new(data, "chains", names);
            json_object_set_new(data, "data_dir", json_string(c->data_dir));
        } else {
            printf("ok: %zu chain%s (", c->n_chains, c->n_chains == 1 ? "" : "s");
            for (size_t i = 0; i < c->n_chains; i++)
                printf("%s%s", i ? ", " : "", c->chains[i].name);
            printf("), data_dir %s\n", c->data_dir);
        }
        bh_config_destroy(c);
    }
    if (keys && data) json_object_set_new(data, "keys", keys_json());
    if (keys && !data) print_keys();
    return data ? bh_cli_result(data, 0) : BH_EXIT_OK;
}
