/* bulkhead: the relayer node and its operator subcommands. */
#include <stdio.h>
#include <string.h>

#include "bh_cmd.h"
#include "bh_vaultctl.h"
#include "bh_version.h"

static const char usage_text[] =
    "usage: bulkhead COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run -c CONFIG                     run the node\n"
    "  check -c CONFIG                   validate a config file and exit\n"
    "  vaa decode HEX|BASE64|-           print a VAA's fields as JSON\n"
    "  vaa verify --signers FILE VAA     check a VAA's signatures against a signer set\n"
    "  vaultctl VERB [ARGS]              vaultctl itself (what the admin API runs)\n"
    "  version                           print the version\n"
    "\n"
    "Run 'bulkhead COMMAND --help' for a command's options.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) return bh_cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0) return bh_cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "vaa") == 0) return bh_cmd_vaa(argc - 2, argv + 2);
    if (strcmp(cmd, "vaultctl") == 0) return bh_vaultctl_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("bulkhead %s (%s)\n", BH_VERSION, BH_COMMIT);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    fprintf(stderr, "bulkhead: unknown command '%s'\n", cmd);
    fputs(usage_text, stderr);
    return 2;
}
