/* vaultctl as a function: the vaultctl tool's main, and what the node's
 * admin API runs in a child process (`bulkhead vaultctl ...`), so both
 * take the same verbs, validate them the same way and print the same. */
#ifndef BH_VAULTCTL_H
#define BH_VAULTCTL_H

/* Run vaultctl with argv[0] its name. Returns the exit status (0 ok,
 * 1 refused or failed, 2 usage). Uses process state (stdout, stderr,
 * the environment) and is meant to be a process's whole life. */
int bh_vaultctl_main(int argc, char **argv);

#endif
