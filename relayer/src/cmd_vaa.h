/* `bulkhead vaa ...`: decode and verify VAAs from the command line. */
#ifndef BH_CMD_VAA_INTERNAL_H
#define BH_CMD_VAA_INTERNAL_H

/* Returns: the process exit code (0 ok, 1 refused, 2 usage). */
int bh_cmd_vaa(int argc, char **argv);

#endif
