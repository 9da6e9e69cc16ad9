/* The node's subcommands, callable from main and from tests. */
#ifndef BH_CMD_H
#define BH_CMD_H

/* `bulkhead vaa decode|verify ...`; argv[0] is the subcommand.
 * Returns: the process exit code: 0 ok, 1 refused (reason printed on
 * stdout), 2 usage or unreadable input (message on stderr). */
int bh_cmd_vaa(int argc, char **argv);

#endif
