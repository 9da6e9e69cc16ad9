/* The node's subcommands, callable from main and from tests. Each runs
 * inside bh_cli_begin/bh_cli_end (bh_cli.h): errors are recorded there,
 * and with --json the result is the envelope's data. */
#ifndef BH_CMD_H
#define BH_CMD_H

#include <stddef.h>

#include "bh_cli.h"
#include "bh_error.h"

/* Every verb of `bulkhead` (its help and `bulkhead verbs`). */
extern const bh_cli_verb bh_cmd_verbs[];
extern const size_t bh_cmd_n_verbs;

/* The options every verb of `bulkhead` takes, in a verb's argument loop:
 * --help and --version are answered (returns 1, *rc the exit status),
 * --json is passed over (returns 2; bh_cli saw it), anything else is the
 * verb's own (returns 0). */
int bh_cmd_common_arg(const char *arg, const char *verb, int *rc);

/* Returns: the exit status for a bh_config_load status, the same for
 * `check` and `run`: 0 ok, 2 a config (or a key file it names) that does
 * not load or validate, 3 out of memory. */
int bh_cmd_config_exit(int rc);

/* A config bh_config_load refused: recorded (bh_cli_fail, code
 * config_invalid, arg path) with its reason why. Returns: the exit status. */
int bh_cmd_config_fail(int rc, const char *path, const char *why);

/* `bulkhead vaa decode|verify ...`; argv[0] is the subcommand.
 * Returns: the process exit code: 0 ok, 1 refused (reason printed on
 * stdout), 2 usage or unreadable input (message on stderr). */
int bh_cmd_vaa(int argc, char **argv);

/* `bulkhead check -c CONFIG`: validate a config without running.
 * Returns: 0 valid, 2 refused (the JSON path and a fix on stderr) or
 * usage, 3 output failed. */
int bh_cmd_check(int argc, char **argv);

/* `bulkhead run -c CONFIG`: the node. Returns: 0 after SIGTERM/SIGINT,
 * 1 on a fatal runtime error, 2 for a config or usage error, 3 when the
 * node cannot start in its environment. */
int bh_cmd_run(int argc, char **argv);

#endif
