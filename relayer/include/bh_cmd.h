/* The node's subcommands, callable from main and from tests. */
#ifndef BH_CMD_H
#define BH_CMD_H

/* `bulkhead vaa decode|verify ...`; argv[0] is the subcommand.
 * Returns: the process exit code: 0 ok, 1 refused (reason printed on
 * stdout), 2 usage or unreadable input (message on stderr). */
int bh_cmd_vaa(int argc, char **argv);

/* `bulkhead check -c CONFIG`: validate a config without running.
 * Returns: 0 valid, 1 refused (the JSON path and a fix on stderr), 2 usage. */
int bh_cmd_check(int argc, char **argv);

/* `bulkhead run -c CONFIG`: the node. Returns: 0 after SIGTERM/SIGINT,
 * 1 on a fatal runtime error, 2 for a config or usage error. */
int bh_cmd_run(int argc, char **argv);

#endif
