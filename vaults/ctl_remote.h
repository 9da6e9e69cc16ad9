/* vaultctl's --node mode (private to vaultctl). */
#ifndef BH_CTL_REMOTE_H
#define BH_CTL_REMOTE_H

/* Send argv (the verb and everything vaultctl would parse locally, minus
 * the data directory and the actor) to the node's admin API, print its
 * stdout and stderr, return its exit status (1 when the node refused the
 * request, 2 for a missing token or a request the node calls malformed).
 * token_file: the admin token's file, NULL = $BULKHEAD_ADMIN_TOKEN. */
int bh_vaultctl_remote(const char *node, const char *token_file, const char *actor, int argc,
                       char **argv);

#endif
