/* bulkhead's verbs: the dispatch table main() runs and every verb's help. */
#include "bh_cmd.h"

const bh_cli_verb bh_cmd_verbs[] = {
    {"run", "run -c CONFIG [--json]",
     "Runs the relayer node: watches every configured chain, applies finalized\n"
     "transfers to the vaults in the config's data_dir, and delivers them to the\n"
     "destination Portals. Check a config first with 'bulkhead check -c CONFIG'.\n"
     "\n"
     "signals: SIGTERM/SIGINT finish the current batch and exit 0; SIGHUP reopens\n"
     "the log file.\n"
     "exit: 0 stopped by a signal, 1 runtime failure, 2 a config that does not\n"
     "load or validate (as bulkhead check) or usage, 3 the node could not start\n"
     "in its environment (data directory, log file, operator port)",
     0},
    {"check", "check (-c CONFIG [--keys] | --keys) [--json]",
     "-c, --config CONFIG  load and validate CONFIG (keys are read too), print\n"
     "                     \"ok: N chains (...), data_dir DIR\"\n"
     "--keys               print every config key as a Markdown table\n"
     "\n"
     "A refused config is reported as \"<JSON path>: <problem>; <fix>\".\n"
     "exit: 0 valid, 2 refused config or usage (as bulkhead run), 3 output failed",
     0},
    {"vaa decode", "vaa decode HEX|BASE64|- [--json]",
     "Print every header, body and payload field of a VAA as JSON. The VAA is\n"
     "hex (with or without 0x) or base64; \"-\" reads standard input.\n"
     "exit: 0 ok, 1 malformed VAA (reason printed), 2 usage or unreadable input",
     0},
    {"vaa verify", "vaa verify --signers FILE HEX|BASE64|- [--json]",
     "Check a VAA's signatures against a signer set; prints \"ok\" or the reject\n"
     "reason's name. FILE is JSON:\n"
     "  {\"index\": 4, \"addresses\": [\"0x...\", ...], \"quorum\": 13}\n"
     "(quorum optional: default floor(2n/3)+1; \"expires_at\" optional, unix\n"
     "seconds). The VAA is hex or base64; \"-\" reads standard input.\n"
     "exit: 0 ok, 1 refused (reason printed), 2 usage or unreadable input",
     0},
    {"vaultctl", "vaultctl [-d DATA_DIR] VERB [ARGS...]",
     "vaultctl itself, the same code (what the node's admin API runs): see\n"
     "'bulkhead vaultctl --help' and 'bulkhead vaultctl VERB --help'.",
     BH_CLI_WRITES},
    {"version", "version [--json]", "Print the version and the commit it was built from.", 0},
};

const size_t bh_cmd_n_verbs = sizeof bh_cmd_verbs / sizeof bh_cmd_verbs[0];

int bh_cmd_config_exit(int rc)
{
    return rc == BH_OK ? BH_EXIT_OK : rc == BH_ENOMEM ? BH_EXIT_ENV : BH_EXIT_USAGE;
}

int bh_cmd_config_fail(int rc, const char *path, const char *why)
{
    return bh_cli_fail(bh_cmd_config_exit(rc), rc == BH_ENOMEM ? "out_of_memory" : "config_invalid",
                       path, "%s", why && *why ? why : bh_strerror(rc));
}

int bh_cmd_common_arg(const char *arg, const char *verb, int *rc)
{
    switch (bh_cli_arg_kind(arg)) {
    case BH_CLI_ARG_HELP:
        *rc = bh_cli_verb_help(bh_cli_verb_find(bh_cmd_verbs, bh_cmd_n_verbs, verb));
        return 1;
    case BH_CLI_ARG_VERSION:
        *rc = bh_cli_version();
        return 1;
    case BH_CLI_ARG_JSON:
        return 2;
    default:
        return 0;
    }
}
