/* bulkhead: the relayer node and its operator subcommands. */
#include <string.h>

#include "bh_cmd.h"
#include "bh_vaultctl.h"

static const char usage_text[] =
    "usage: bulkhead VERB [ARGS] [--json]\n"
    "\n"
    "verbs:\n"
    "  run -c CONFIG                     run the node\n"
    "  check -c CONFIG                   validate a config file and exit\n"
    "  vaa decode HEX|BASE64|-           print a VAA's fields as JSON\n"
    "  vaa verify --signers FILE VAA     check a VAA's signatures against a signer set\n"
    "  vaultctl VERB [ARGS]              vaultctl itself (what the admin API runs)\n"
    "  version                           print the version and the commit\n"
    "\n"
    "--json prints one JSON envelope on stdout, errors included; --version and\n"
    "--help work everywhere. Run 'bulkhead VERB --help' for a verb's options.\n"
    "exit: 0 ok, 1 refused or failed, 2 wrong input (usage, a config that does\n"
    "not validate), 3 the environment (data directory, I/O)\n";

static int dispatch(int argc, char **argv)
{
    int i = 1;
    while (i < argc && bh_cli_arg_kind(argv[i]) == BH_CLI_ARG_JSON)
        i++;
    if (i >= argc) return bh_cli_usage("missing_verb", NULL, "no verb given");
    const char *cmd = argv[i];
    switch (bh_cli_arg_kind(cmd)) {
    case BH_CLI_ARG_HELP:
        return bh_cli_help(usage_text, bh_cmd_verbs, bh_cmd_n_verbs);
    case BH_CLI_ARG_VERSION:
        return bh_cli_version();
    default:
        break;
    }
    if (!strcmp(cmd, "help")) return bh_cli_help(usage_text, bh_cmd_verbs, bh_cmd_n_verbs);
    if (!strcmp(cmd, "verbs")) return bh_cli_verbs(bh_cmd_verbs, bh_cmd_n_verbs);
    if (cmd[0] == '-') return bh_cli_unknown_option(cmd, NULL, 0);
    if (!strcmp(cmd, "run")) return bh_cmd_run(argc - i - 1, argv + i + 1);
    if (!strcmp(cmd, "check")) return bh_cmd_check(argc - i - 1, argv + i + 1);
    if (!strcmp(cmd, "vaa")) return bh_cmd_vaa(argc - i - 1, argv + i + 1);
    if (!strcmp(cmd, "version")) {
        bh_cli_set_verb("version");
        for (int k = i + 1; k < argc; k++) {
            bh_cli_arg a = bh_cli_arg_kind(argv[k]);
            if (a == BH_CLI_ARG_HELP)
                return bh_cli_verb_help(bh_cli_verb_find(bh_cmd_verbs, bh_cmd_n_verbs, "version"));
            if (a == BH_CLI_ARG_JSON || a == BH_CLI_ARG_VERSION) continue;
            if (argv[k][0] == '-') return bh_cli_unknown_option(argv[k], NULL, 0);
            return bh_cli_usage("unexpected_argument", argv[k], "takes no arguments, not '%.60s'",
                                argv[k]);
        }
        return bh_cli_version();
    }
    return bh_cli_unknown_verb(bh_cmd_verbs, bh_cmd_n_verbs, cmd);
}

int main(int argc, char **argv)
{
    /* vaultctl is a tool of its own, with its own envelope */
    if (argc >= 2 && !strcmp(argv[1], "vaultctl")) return bh_vaultctl_main(argc - 1, argv + 1);
    bh_cli_begin("bulkhead", NULL, argc, argv);
    return bh_cli_end(dispatch(argc, argv));
}
