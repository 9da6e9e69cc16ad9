/* bulkhead-deploy: deploy and configure the Portal and test tokens on an EVM
 * chain with bulkhead's own transaction code (devnet and tests).
 *
 * One table says each verb's options (k_verbs: which are required, which
 * allowed) and one says how each option is read (k_opts), so every verb
 * refuses a missing or malformed option by name. Prints one JSON object on
 * success (the envelope's data with --json). The key file holds a hex
 * secret key (64 digits, optional 0x, one trailing newline), is no symbolic
 * link and is not open to group or others (mode 0600 or 0400). Exit status
 * (bh_cli.h): 0 ok, 1 chain or transaction failure, 2 usage or key-file
 * error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_cli.h"
#include "bh_evm_sender.h"
#include "bh_hex.h"
#include "bh_portal.h"
#include "bh_portal_admin.h"
#include "bh_rpc.h"
#include "bh_secret.h"
#include "bh_test_token.h"

#define MAX_ATTESTERS 32

/* ---- options ---- */

enum {
    O_RPC,
    O_CHAIN_ID,
    O_KEY_FILE,
    O_BRIDGE_ID,
    O_ATTESTERS,
    O_QUORUM,
    O_SET_INDEX,
    O_PORTAL,
    O_REMOTE_CHAIN,
    O_REMOTE_PORTAL,
    O_NAME,
    O_SYMBOL,
    O_DECIMALS,
    O_MINT_TO,
    O_AMOUNT,
    O_TOKEN,
    O_TO_CHAIN,
    O_TO,
    O_FEE,
    O_CAPACITY,
    O_RATE,
    O_OF,
    O_HOME_CHAIN,
    O_REASON,
    O_LANE,
    O_NEW_OWNER,
    O_GRACE,
    O_CURSE_QUORUM,
    O_LIFT_DELAY,
    O_FEED,
    O_ANSWER,
    O_UPDATED_AT,
    N_OPTS
};

typedef enum {
    T_TEXT,     /* as given (non-empty) */
    T_ADDR,     /* a 20-byte address (or 32 bytes, 12 of them leading zeros) */
    T_LIST,     /* addresses, comma-separated */
    T_BRIDGE,   /* a bridge chain id 1..65535 */
    T_EVM,      /* an EVM chain id >= 1 */
    T_U32,      /* 0..2^32-1 */
    T_QUORUM,   /* 1..255 */
    T_DECIMALS, /* 0..255 */
    T_AMOUNT    /* a decimal integer in the smallest unit (u128) */
} opt_type;

static const struct {
    const char *name;
    opt_type type;
} k_opts[N_OPTS] = {
    [O_RPC] = {"--rpc", T_TEXT},
    [O_CHAIN_ID] = {"--chain-id", T_EVM},
    [O_KEY_FILE] = {"--key-file", T_TEXT},
    [O_BRIDGE_ID] = {"--bridge-id", T_BRIDGE},
    [O_ATTESTERS] = {"--attesters", T_LIST},
    [O_QUORUM] = {"--quorum", T_QUORUM},
    [O_SET_INDEX] = {"--set-index", T_U32},
    [O_PORTAL] = {"--portal", T_ADDR},
    [O_REMOTE_CHAIN] = {"--remote-chain", T_BRIDGE},
    [O_REMOTE_PORTAL] = {"--remote-portal", T_ADDR},
    [O_NAME] = {"--name", T_TEXT},
    [O_SYMBOL] = {"--symbol", T_TEXT},
    [O_DECIMALS] = {"--decimals", T_DECIMALS},
    [O_MINT_TO] = {"--mint-to", T_ADDR},
    [O_AMOUNT] = {"--amount", T_AMOUNT},
    [O_TOKEN] = {"--token", T_ADDR},
    [O_TO_CHAIN] = {"--to-chain", T_BRIDGE},
    [O_TO] = {"--to", T_ADDR},
    [O_FEE] = {"--fee", T_AMOUNT},
    [O_CAPACITY] = {"--capacity", T_AMOUNT},
    [O_RATE] = {"--rate", T_AMOUNT},
    [O_OF] = {"--of", T_ADDR},
    [O_HOME_CHAIN] = {"--home-chain", T_BRIDGE},
    [O_REASON] = {"--reason", T_TEXT},
    [O_LANE] = {"--lane", T_BRIDGE},
    [O_NEW_OWNER] = {"--new-owner", T_ADDR},
    [O_GRACE] = {"--grace", T_U32},
    [O_CURSE_QUORUM] = {"--curse-quorum", T_QUORUM},
    [O_LIFT_DELAY] = {"--lift-delay", T_U32},
    [O_FEED] = {"--feed", T_ADDR},
    [O_ANSWER] = {"--answer", T_TEXT},
    [O_UPDATED_AT] = {"--updated-at", T_U32},
};

typedef struct {
    const char *cmd;
    const char *val[N_OPTS]; /* as given; NULL when absent */
    bh_address addr[N_OPTS];
    unsigned long long num[N_OPTS];
    bh_u128 amt[N_OPTS];
    bh_address attesters[MAX_ATTESTERS];
    size_t n_att;
    int dry_run;
} args;

#define B(o) (1u << (o))
#define SIGNED (B(O_RPC) | B(O_CHAIN_ID) | B(O_KEY_FILE))

/* ---- verbs ---- */

typedef int (*cmd_fn)(const args *a);
static int cmd_send(const args *a);
static int cmd_read(const args *a);
static int cmd_address(const args *a);

typedef struct {
    const char *name, *usage, *help;
    uint32_t req, opt; /* required and optional options (B(O_...)) */
    cmd_fn fn;
    unsigned flags;
} dverb;

static const dverb k_verbs[] = {
    {"portal",
     "portal --rpc URL --chain-id N --key-file F --bridge-id B --attesters 0xA[,0xB...] "
     "--quorum Q [--set-index I]",
     "Deploy a Portal for bridge chain B with its first attester set (index I,\n"
     "default 0) and quorum Q; the key file's address owns it. Prints\n"
     "{\"portal\": address}.",
     SIGNED | B(O_BRIDGE_ID) | B(O_ATTESTERS) | B(O_QUORUM), B(O_SET_INDEX), cmd_send,
     BH_CLI_WRITES},
    {"register",
     "register --rpc URL --chain-id N --key-file F --portal 0xP --remote-chain B "
     "--remote-portal 0xR",
     "Tell Portal 0xP that chain B's Portal is 0xR (owner key). Prints\n"
     "{\"registered\": B}.",
     SIGNED | B(O_PORTAL) | B(O_REMOTE_CHAIN) | B(O_REMOTE_PORTAL), 0, cmd_send, BH_CLI_WRITES},
    {"token",
     "token --rpc URL --chain-id N --key-file F --name S --symbol S [--decimals D] "
     "[--mint-to 0xA --amount N]",
     "Deploy a test token (D decimals, default 18) and mint N of its smallest\n"
     "unit to 0xA if asked. Prints {\"token\": address}.",
     SIGNED | B(O_NAME) | B(O_SYMBOL), B(O_DECIMALS) | B(O_MINT_TO) | B(O_AMOUNT), cmd_send,
     BH_CLI_WRITES},
    {"feed", "feed --rpc URL --chain-id N --key-file F --answer A [--decimals D]",
     "Deploy a test price feed (AggregatorV3 shape: decimals, latestRoundData)\n"
     "answering A (a signed integer) with D decimals (default 8), updated now.\n"
     "Prints {\"feed\": address}.",
     SIGNED | B(O_ANSWER), B(O_DECIMALS), cmd_send, BH_CLI_WRITES},
    {"feed-set",
     "feed-set --rpc URL --chain-id N --key-file F --feed 0xF --answer A [--updated-at T]",
     "Give test price feed 0xF a new round answering A, updated at unix time T\n"
     "(default: the block's time; an old T makes the feed stale). Prints\n"
     "{\"feed\": address, \"answer\": A}.",
     SIGNED | B(O_FEED) | B(O_ANSWER), B(O_UPDATED_AT), cmd_send, BH_CLI_WRITES},
    {"lock",
     "lock --rpc URL --chain-id N --key-file F --portal 0xP --token 0xT --amount N "
     "--to-chain B --to 0xR [--fee N]",
     "Send native tokens to chain B (approve + Portal.lock); amounts in the\n"
     "token's smallest unit, --fee (default 0) at most --amount. Prints\n"
     "{\"lock\": tx hash, \"block\": N}.",
     SIGNED | B(O_PORTAL) | B(O_TOKEN) | B(O_AMOUNT) | B(O_TO_CHAIN) | B(O_TO), B(O_FEE), cmd_send,
     BH_CLI_WRITES},
    {"burn",
     "burn --rpc URL --chain-id N --key-file F --portal 0xP --token 0xT --amount N "
     "--to-chain B --to 0xR [--fee N]",
     "Send wrapped tokens home or on to chain B (approve + Portal.burn); amounts\n"
     "in the token's smallest unit. Prints {\"burn\": tx hash, \"block\": N}.",
     SIGNED | B(O_PORTAL) | B(O_TOKEN) | B(O_AMOUNT) | B(O_TO_CHAIN) | B(O_TO), B(O_FEE), cmd_send,
     BH_CLI_WRITES},
    {"attesters",
     "attesters --rpc URL --chain-id N --key-file F --portal 0xP --set-index I "
     "--attesters 0xA[,0xB...] --quorum Q [--grace S]",
     "Rotate the Portal's attester set (owner key; the new --set-index must be\n"
     "higher). The set it replaces stays valid for S seconds (default 86400);\n"
     "approvals under both count toward Q, a signer in both once. --grace 0\n"
     "retires the old set at once (a set with a stolen key). Prints\n"
     "{\"set_index\": I, \"attesters\": n, \"quorum\": Q, \"grace\": S}.",
     SIGNED | B(O_PORTAL) | B(O_SET_INDEX) | B(O_ATTESTERS) | B(O_QUORUM), B(O_GRACE), cmd_send,
     BH_CLI_WRITES},
    {"curse-params",
     "curse-params --rpc URL --chain-id N --key-file F --portal 0xP --curse-quorum C "
     "--lift-delay S",
     "Set the curse's parameters (owner key): C attester votes curse a chain\n"
     "(1: one node's alarm is enough); lifting a curse needs the mint quorum and\n"
     "takes effect S seconds later, unless a curse vote comes first. Prints\n"
     "{\"curse_quorum\": C, \"lift_delay\": S}.",
     SIGNED | B(O_PORTAL) | B(O_CURSE_QUORUM) | B(O_LIFT_DELAY), 0, cmd_send, BH_CLI_WRITES},
    {"lane-limit",
     "lane-limit --rpc URL --chain-id N --key-file F --portal 0xP --remote-chain B "
     "--token 0xT --capacity N --rate N",
     "Set the Portal's token bucket for what arrives from chain B in token 0xT\n"
     "(native here or wrapped): --capacity 0 turns it off; --rate refills per\n"
     "second (smallest units). Prints {\"lane_limit\": B, \"capacity\", \"rate\"}.",
     SIGNED | B(O_PORTAL) | B(O_REMOTE_CHAIN) | B(O_TOKEN) | B(O_CAPACITY) | B(O_RATE), 0, cmd_send,
     BH_CLI_WRITES},
    {"pause", "pause --rpc URL --chain-id N --key-file F --portal 0xP --reason R [--lane B]",
     "Pause the Portal (owner key): no lock, burn or submit at all; with --lane\n"
     "B only the lane of chain B (nothing out toward B, nothing from B executed,\n"
     "no hop to B). The reason goes in the Portal's event; nodes hold their\n"
     "deliveries until it is lifted. Prints {\"paused\": \"all\" | B}.",
     SIGNED | B(O_PORTAL) | B(O_REASON), B(O_LANE), cmd_send, BH_CLI_WRITES},
    {"unpause", "unpause --rpc URL --chain-id N --key-file F --portal 0xP --reason R [--lane B]",
     "Lift a pause of the Portal (or of the lane of chain B). Prints\n"
     "{\"unpaused\": \"all\" | B}.",
     SIGNED | B(O_PORTAL) | B(O_REASON), B(O_LANE), cmd_send, BH_CLI_WRITES},
    {"transfer-ownership",
     "transfer-ownership --rpc URL --chain-id N --key-file F --portal 0xP --new-owner 0xA",
     "Name 0xA the Portal's next owner (owner key). The old owner keeps the\n"
     "controls until 0xA runs accept-ownership. Prints {\"pending_owner\": 0xA}.",
     SIGNED | B(O_PORTAL) | B(O_NEW_OWNER), 0, cmd_send, BH_CLI_WRITES},
    {"accept-ownership", "accept-ownership --rpc URL --chain-id N --key-file F --portal 0xP",
     "Take the Portal's ownership (the key of the named next owner). Prints\n"
     "{\"owner\": address}.",
     SIGNED | B(O_PORTAL), 0, cmd_send, BH_CLI_WRITES},
    {"balance", "balance --rpc URL --token 0xT --of 0xA",
     "Token 0xT's balance of 0xA (reads only). Prints {\"balance\": N}.",
     B(O_RPC) | B(O_TOKEN) | B(O_OF), 0, cmd_read, 0},
    {"wrapped", "wrapped --rpc URL --portal 0xP --home-chain B --token 0xT",
     "The wrapped token Portal 0xP made for token 0xT of home chain B, 0x0 if\n"
     "none yet (reads only). Prints {\"wrapped\": address}.",
     B(O_RPC) | B(O_PORTAL) | B(O_HOME_CHAIN) | B(O_TOKEN), 0, cmd_read, 0},
    {"outstanding", "outstanding --rpc URL --portal 0xP --token 0xT --remote-chain B",
     "What Portal 0xP has sent to chain B of its native token 0xT (reads\n"
     "only). Prints {\"outstanding\": N}.",
     B(O_RPC) | B(O_PORTAL) | B(O_TOKEN) | B(O_REMOTE_CHAIN), 0, cmd_read, 0},
    {"controls", "controls --rpc URL --portal 0xP --remote-chain B",
     "Portal 0xP's controls toward chain B (reads only): the Portal paused,\n"
     "B's lane paused, B cursed there and a lift under way. Prints {\"paused\",\n"
     "\"lane_paused\", \"cursed\", \"lifting\", \"lift_at\", \"round\"}.",
     B(O_RPC) | B(O_PORTAL) | B(O_REMOTE_CHAIN), 0, cmd_read, 0},
    {"address", "address --key-file F",
     "The Ethereum address of a key file (no chain needed). Prints\n"
     "{\"address\": address}.",
     B(O_KEY_FILE), 0, cmd_address, 0},
};

#define N_VERBS (sizeof k_verbs / sizeof k_verbs[0])

static const char help_text[] =
    "usage: bulkhead-deploy VERB --OPTION VALUE... [--json] [--dry-run]\n"
    "\n"
    "Deploys and configures bulkhead's Portal and test tokens with bulkhead's own\n"
    "transaction code. Verbs that send transactions (signed with --key-file for\n"
    "EVM chain --chain-id):\n"
    "  portal       deploy a Portal            register    name a remote Portal\n"
    "  token        deploy a test token        attesters   rotate the attester set\n"
    "  lock, burn   send tokens to a chain     lane-limit  set an arrival bucket\n"
    "  pause, unpause  the Portal or a lane   transfer-ownership, accept-ownership\n"
    "  curse-params the curse's quorum and lift delay\n"
    "  feed, feed-set  deploy or move a test price feed\n"
    "Verbs that read:\n"
    "  balance      a token balance            wrapped     a home token's wrapped token\n"
    "  outstanding  what a Portal sent away    address     a key file's address\n"
    "  controls     a Portal's pause and curse toward a chain\n"
    "\n"
    "Run 'bulkhead-deploy VERB --help' for a verb's options. Addresses are 0x and\n"
    "40 hex digits (a 32-byte left-padded form is accepted too), chains are bridge\n"
    "ids, amounts are decimal integers in the token's smallest unit. Prints one\n"
    "JSON object on success; --json wraps it (and any error) in the envelope\n"
    "{\"ok\": ..., \"data\": ..., \"error\": ...}. --dry-run on a sending verb checks\n"
    "every option and the key file, prints what it would send and sends nothing\n"
    "(it contacts no chain). The key file holds a hex secret key, mode 0600 or\n"
    "0400, and is no symbolic link.\n"
    "exit: 0 ok, 1 chain or transaction failure, 2 usage or key-file error\n";

/* ---- reading the options ---- */

/* 20 bytes, or 32 whose first 12 are zero (the padded form vaultctl and
 * messages use). */
static int parse_addr(bh_address *out, const char *s)
{
    if (!s) return -1;
    size_t n = strlen(s);
    const char *h = s + (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 2 : 0);
    if (strlen(h) == 64) {
        unsigned char b[32];
        if (bh_hex_decode_exact(b, 32, h, 64) != BH_OK) return -1;
        for (int i = 0; i < 12; i++)
            if (b[i]) return -1;
        memcpy(out->data, b + 12, 20);
        return 0;
    }
    return bh_hex_decode_exact(out->data, 20, s, n) == BH_OK ? 0 : -1;
}

static int parse_u64(unsigned long long *out, const char *s, unsigned long long min,
                     unsigned long long max)
{
    char *end;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_attesters(args *a, const char *list_arg)
{
    char *list = strdup(list_arg);
    if (!list) return -1;
    a->n_att = 0;
    int bad = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !bad;
         tok = strtok_r(NULL, ",", &save)) {
        if (a->n_att == MAX_ATTESTERS || parse_addr(&a->attesters[a->n_att], tok))
            bad = 1;
        else
            a->n_att++;
    }
    free(list);
    return bad || a->n_att == 0 ? -1 : 0;
}

/* One option's value, read by its type; a bad one is named. */
static int read_opt(args *a, int o, const char *v)
{
    const char *name = k_opts[o].name;
    int bad = 0;
    const char *want = "";
    switch (k_opts[o].type) {
    case T_TEXT:
        bad = !*v, want = "a non-empty value";
        break;
    case T_ADDR:
        bad = parse_addr(&a->addr[o], v), want = "a 20-byte address (0x and 40 hex digits)";
        break;
    case T_LIST:
        bad = parse_attesters(a, v), want = "1 to 32 comma-separated 20-byte addresses";
        break;
    case T_BRIDGE:
        bad = parse_u64(&a->num[o], v, 1, 65535), want = "a bridge chain id 1..65535";
        break;
    case T_EVM:
        bad = parse_u64(&a->num[o], v, 1, UINT64_MAX), want = "an EVM chain id (1 or more)";
        break;
    case T_U32:
        bad = parse_u64(&a->num[o], v, 0, UINT32_MAX), want = "an integer 0..4294967295";
        break;
    case T_QUORUM:
        bad = parse_u64(&a->num[o], v, 1, 255), want = "an integer 1..255";
        break;
    case T_DECIMALS:
        bad = parse_u64(&a->num[o], v, 0, 255), want = "an integer 0..255";
        break;
    case T_AMOUNT:
        bad = !*v || *v == '-' || bh_u128_from_dec(&a->amt[o], v, strlen(v)) != BH_OK;
        want = "a decimal integer in the smallest unit";
        break;
    }
    if (bad) return bh_cli_usage("bad_argument", name, "%s: '%.80s' is not %s", name, v, want);
    a->val[o] = v;
    return BH_EXIT_OK;
}

static int parse_args(args *a, const dverb *vb, int argc, char **argv, int *done)
{
    const char *allowed[N_OPTS];
    size_t n_allowed = 0;
    for (int o = 0; o < N_OPTS; o++)
        if ((vb->req | vb->opt) & B(o)) allowed[n_allowed++] = k_opts[o].name;
    *done = 1;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        switch (bh_cli_arg_kind(k)) {
        case BH_CLI_ARG_HELP:
            return bh_cli_verb_help(&(bh_cli_verb){vb->name, vb->usage, vb->help, vb->flags});
        case BH_CLI_ARG_VERSION:
            return bh_cli_version();
        case BH_CLI_ARG_JSON:
            continue;
        case BH_CLI_ARG_DRY_RUN:
            a->dry_run = 1;
            continue;
        default:
            break;
        }
        int o = 0;
        while (o < N_OPTS && strcmp(k, k_opts[o].name))
            o++;
        if (o == N_OPTS || !((vb->req | vb->opt) & B(o))) {
            if (k[0] != '-')
                return bh_cli_usage("unexpected_argument", k,
                                    "unexpected argument '%.60s' (options are --NAME VALUE)", k);
            return bh_cli_unknown_option(k, allowed, n_allowed);
        }
        if (i + 1 >= argc) return bh_cli_usage("missing_value", k, "%s needs a value", k);
        if (a->val[o]) return bh_cli_usage("duplicate_option", k, "%s given twice", k);
        int x = read_opt(a, o, argv[++i]);
        if (x) return x;
    }
    if (a->dry_run && !(vb->flags & BH_CLI_WRITES))
        return bh_cli_usage("bad_argument", "--dry-run",
                            "only reads; --dry-run is for the verbs that send transactions");
    for (int o = 0; o < N_OPTS; o++)
        if ((vb->req & B(o)) && !a->val[o])
            return bh_cli_usage("missing_argument", k_opts[o].name, "%s is required",
                                k_opts[o].name);
    /* what one option alone cannot say */
    if ((!strcmp(vb->name, "lock") || !strcmp(vb->name, "burn")) && a->amt[O_AMOUNT] == 0)
        return bh_cli_usage("bad_argument", "--amount", "--amount must be more than 0");
    if (a->val[O_FEE] && a->amt[O_FEE] > a->amt[O_AMOUNT])
        return bh_cli_usage("bad_argument", "--fee", "--fee %s is more than --amount %s",
                            a->val[O_FEE], a->val[O_AMOUNT]);
    if (a->val[O_QUORUM] && a->num[O_QUORUM] > a->n_att)
        return bh_cli_usage("bad_argument", "--quorum",
                            "--quorum %llu is more than the %zu attesters", a->num[O_QUORUM],
                            a->n_att);
    if (!a->val[O_MINT_TO] != !a->val[O_AMOUNT] && !strcmp(vb->name, "token"))
        return bh_cli_usage("missing_argument", a->val[O_MINT_TO] ? "--amount" : "--mint-to",
                            "--mint-to and --amount go together");
    *done = 0;
    return BH_EXIT_OK;
}

/* ---- output ---- */

static json_t *jaddr(const bh_address *a)
{
    char hex[43] = "0x";
    bh_hex_encode(hex + 2, a->data, 20);
    return json_string(hex);
}

static json_t *ju256(const bh_u256 *v)
{
    char dec[BH_U256_DEC_MAX];
    bh_u256_to_dec(dec, v);
    return json_string(dec);
}

static int done(json_t *j)
{
    return bh_cli_result(j, BH_CLI_TEXT_LINE);
}

static int chain_fail(const char *what, int rc, bh_evm_sender *s)
{
    return bh_cli_fail(BH_EXIT_FAILED, "chain_failed", NULL, "%s failed: %s%s%s", what,
                       bh_errname(rc), s && *bh_evm_sender_last_error(s) ? ": " : "",
                       s ? bh_evm_sender_last_error(s) : "");
}

static int read_key(bh_seckey *key, const char *path)
{
    char why[1200];
    if (bh_seckey_load_file(key, why, sizeof why, path) == BH_OK) return 0;
    return bh_cli_usage("key_file_invalid", "--key-file", "--key-file: %s", why);
}

static int key_address(bh_address *out, const bh_seckey *key)
{
    bh_attest *ctx = bh_attest_create();
    int rc = ctx ? bh_attest_address(ctx, out, key) : BH_ENOMEM;
    bh_attest_destroy(ctx);
    return rc;
}

/* ---- the verbs ---- */

static int cmd_address(const args *a)
{
    bh_seckey key;
    int x = read_key(&key, a->val[O_KEY_FILE]);
    if (x) return x;
    bh_address addr;
    int rc = key_address(&addr, &key);
    bh_seckey_clear(&key);
    if (rc != BH_OK) return chain_fail("address", rc, NULL);
    return done(json_pack("{s:o}", "address", jaddr(&addr)));
}

/* balance, wrapped, outstanding: eth_call reads, no key. */
static int cmd_read(const args *a)
{
    bh_rpc_options ro = {.url = a->val[O_RPC], .max_retries = 2};
    bh_rpc *ep = NULL;
    if (bh_rpc_create(&ep, &ro) != BH_OK)
        return bh_cli_usage("bad_argument", "--rpc", "--rpc: '%.80s' is not a usable URL",
                            a->val[O_RPC]);
    bh_u256 v;
    bh_address wrapped;
    int rc;
    if (!strcmp(a->cmd, "controls")) {
        bh_chain_lane_controls l;
        int paused = 0;
        rc = bh_portal_lane_controls(ep, &l, &paused, &a->addr[O_PORTAL],
                                     (uint16_t)a->num[O_REMOTE_CHAIN]);
        bh_rpc_destroy(ep);
        if (rc != BH_OK) return chain_fail(a->cmd, rc, NULL);
        return done(json_pack("{s:b, s:b, s:b, s:b, s:I, s:I}", "paused", paused, "lane_paused",
                              l.lane_paused, "cursed", l.cursed, "lifting", l.lifting, "lift_at",
                              (json_int_t)l.lift_at, "round", (json_int_t)l.round));
    }
    if (!strcmp(a->cmd, "balance")) {
        rc = bh_erc20_balance(ep, &v, &a->addr[O_TOKEN], &a->addr[O_OF]);
    } else if (!strcmp(a->cmd, "wrapped")) {
        bh_bytes32 t;
        bh_address_to_bytes32(&t, &a->addr[O_TOKEN]);
        rc = bh_portal_wrapped_for(ep, &wrapped, &a->addr[O_PORTAL], (uint16_t)a->num[O_HOME_CHAIN],
                                   &t);
    } else {
        rc = bh_portal_outstanding(ep, &v, &a->addr[O_PORTAL], &a->addr[O_TOKEN],
                                   (uint16_t)a->num[O_REMOTE_CHAIN]);
    }
    bh_rpc_destroy(ep);
    if (rc != BH_OK) return chain_fail(a->cmd, rc, NULL);
    if (!strcmp(a->cmd, "wrapped")) return done(json_pack("{s:o}", "wrapped", jaddr(&wrapped)));
    return done(json_pack("{s:o}", a->cmd, ju256(&v)));
}

/* --dry-run: everything checked, the key read; what would be sent. */
static int dry_run(const args *a, const bh_seckey *key)
{
    bh_address from;
    int rc = key_address(&from, key);
    if (rc != BH_OK) return chain_fail("key", rc, NULL);
    json_t *j = json_pack("{s:b, s:s, s:o}", "dry_run", 1, "verb", a->cmd, "from", jaddr(&from));
    for (int o = 0; j && o < N_OPTS; o++) {
        if (!a->val[o] || o == O_KEY_FILE) continue;
        char key_name[32];
        snprintf(key_name, sizeof key_name, "%s", k_opts[o].name + 2);
        for (char *c = key_name; *c; c++)
            if (*c == '-') *c = '_';
        json_t *v;
        if (k_opts[o].type == T_ADDR) {
            v = jaddr(&a->addr[o]);
        } else if (k_opts[o].type == T_LIST) {
            v = json_array();
            for (size_t i = 0; i < a->n_att; i++)
                json_array_append_new(v, jaddr(&a->attesters[i]));
        } else {
            v = json_string(a->val[o]);
        }
        json_object_set_new(j, key_name, v);
    }
    return done(j);
}

/* The verbs that send transactions. */
static int cmd_send(const args *a)
{
    bh_seckey key;
    int x = read_key(&key, a->val[O_KEY_FILE]);
    if (x) return x;
    if (a->dry_run) {
        x = dry_run(a, &key);
        bh_seckey_clear(&key);
        return x;
    }
    bh_attest *ctx = bh_attest_create();
    bh_rpc_options ro = {.url = a->val[O_RPC], .max_retries = 2};
    bh_rpc *ep = NULL;
    bh_evm_sender *s = NULL;
    int rc = ctx ? bh_rpc_create(&ep, &ro) : BH_ENOMEM;
    if (rc != BH_OK) {
        bh_seckey_clear(&key);
        bh_attest_destroy(ctx);
        return bh_cli_usage("bad_argument", "--rpc", "--rpc: '%.80s' is not a usable URL",
                            a->val[O_RPC]);
    }
    bh_evm_sender_options so = {.chain_id = a->num[O_CHAIN_ID]};
    rc = bh_evm_sender_create(&s, ep, ctx, &key, &so);
    bh_seckey_clear(&key);
    const char *cmd = a->cmd;
    const bh_address *portal = &a->addr[O_PORTAL], *token = &a->addr[O_TOKEN];
    int status = 0;
    if (rc != BH_OK) {
        status = chain_fail("key", rc, NULL);
    } else if (!strcmp(cmd, "portal")) {
        bh_address p;
        rc = bh_portal_deploy(s, &p, (uint16_t)a->num[O_BRIDGE_ID], (uint32_t)a->num[O_SET_INDEX],
                              a->attesters, a->n_att, (uint8_t)a->num[O_QUORUM]);
        status = rc == BH_OK ? done(json_pack("{s:o}", "portal", jaddr(&p)))
                             : chain_fail("portal deploy", rc, s);
    } else if (!strcmp(cmd, "attesters")) {
        uint64_t grace = a->val[O_GRACE] ? a->num[O_GRACE] : 86400;
        rc = bh_portal_set_attesters(s, portal, (uint32_t)a->num[O_SET_INDEX], a->attesters,
                                     a->n_att, (uint8_t)a->num[O_QUORUM], grace);
        status = rc == BH_OK
                     ? done(json_pack("{s:I, s:I, s:I, s:I}", "set_index",
                                      (json_int_t)a->num[O_SET_INDEX], "attesters",
                                      (json_int_t)a->n_att, "quorum", (json_int_t)a->num[O_QUORUM],
                                      "grace", (json_int_t)grace))
                     : chain_fail("attesters", rc, s);
    } else if (!strcmp(cmd, "curse-params")) {
        rc = bh_portal_set_curse_params(s, portal, (uint8_t)a->num[O_CURSE_QUORUM],
                                        a->num[O_LIFT_DELAY]);
        status =
            rc == BH_OK
                ? done(json_pack("{s:I, s:I}", "curse_quorum", (json_int_t)a->num[O_CURSE_QUORUM],
                                 "lift_delay", (json_int_t)a->num[O_LIFT_DELAY]))
                : chain_fail(cmd, rc, s);
    } else if (!strcmp(cmd, "lane-limit")) {
        bh_u256 cap, per_s;
        bh_u256_from_u128(&cap, a->amt[O_CAPACITY]);
        bh_u256_from_u128(&per_s, a->amt[O_RATE]);
        rc = bh_portal_set_lane_limit(s, portal, (uint16_t)a->num[O_REMOTE_CHAIN], token, &cap,
                                      &per_s);
        status = rc == BH_OK ? done(json_pack("{s:I, s:s, s:s}", "lane_limit",
                                              (json_int_t)a->num[O_REMOTE_CHAIN], "capacity",
                                              a->val[O_CAPACITY], "rate", a->val[O_RATE]))
                             : chain_fail("lane-limit", rc, s);
    } else if (!strcmp(cmd, "pause") || !strcmp(cmd, "unpause")) {
        int on = !strcmp(cmd, "pause");
        uint16_t lane = a->val[O_LANE] ? (uint16_t)a->num[O_LANE] : 0;
        rc = bh_portal_set_paused(s, portal, lane, on, a->val[O_REASON]);
        json_t *what = lane ? json_integer(lane) : json_string("all");
        status = rc == BH_OK ? done(json_pack("{s:o}", on ? "paused" : "unpaused", what))
                             : (json_decref(what), chain_fail(cmd, rc, s));
    } else if (!strcmp(cmd, "transfer-ownership")) {
        rc = bh_portal_transfer_ownership(s, portal, &a->addr[O_NEW_OWNER]);
        status = rc == BH_OK
                     ? done(json_pack("{s:o}", "pending_owner", jaddr(&a->addr[O_NEW_OWNER])))
                     : chain_fail(cmd, rc, s);
    } else if (!strcmp(cmd, "accept-ownership")) {
        rc = bh_portal_accept_ownership(s, portal);
        status = rc == BH_OK ? done(json_pack("{s:o}", "owner", jaddr(bh_evm_sender_address(s))))
                             : chain_fail(cmd, rc, s);
    } else if (!strcmp(cmd, "feed") || !strcmp(cmd, "feed-set")) {
        char *end;
        errno = 0;
        long long ans = strtoll(a->val[O_ANSWER], &end, 10);
        if (errno || *end || end == a->val[O_ANSWER]) {
            status =
                bh_cli_usage("bad_argument", "--answer",
                             "--answer: '%.40s' is not a signed 64-bit integer", a->val[O_ANSWER]);
        } else if (!strcmp(cmd, "feed")) {
            bh_address f;
            rc = bh_test_feed_deploy(s, &f, (uint8_t)(a->val[O_DECIMALS] ? a->num[O_DECIMALS] : 8),
                                     ans);
            status =
                rc == BH_OK ? done(json_pack("{s:o}", "feed", jaddr(&f))) : chain_fail(cmd, rc, s);
        } else {
            rc = bh_test_feed_set(s, &a->addr[O_FEED], ans,
                                  a->val[O_UPDATED_AT] ? a->num[O_UPDATED_AT] : 0);
            status = rc == BH_OK ? done(json_pack("{s:o, s:I}", "feed", jaddr(&a->addr[O_FEED]),
                                                  "answer", (json_int_t)ans))
                                 : chain_fail(cmd, rc, s);
        }
    } else if (!strcmp(cmd, "register")) {
        rc = bh_portal_register_remote(s, portal, (uint16_t)a->num[O_REMOTE_CHAIN],
                                       &a->addr[O_REMOTE_PORTAL]);
        status = rc == BH_OK
                     ? done(json_pack("{s:I}", "registered", (json_int_t)a->num[O_REMOTE_CHAIN]))
                     : chain_fail("register", rc, s);
    } else if (!strcmp(cmd, "lock") || !strcmp(cmd, "burn")) {
        bh_u256 amt, fe;
        bh_u256_from_u128(&amt, a->amt[O_AMOUNT]);
        bh_u256_from_u128(&fe, a->amt[O_FEE]);
        bh_evm_receipt r;
        memset(&r, 0, sizeof r);
        uint16_t to_chain = (uint16_t)a->num[O_TO_CHAIN];
        rc = !strcmp(cmd, "lock")
                 ? bh_portal_lock(s, &r, portal, token, &amt, to_chain, &a->addr[O_TO], &fe, 0)
                 : bh_portal_burn(s, &r, portal, token, &amt, to_chain, &a->addr[O_TO], &fe, 0);
        if (rc == BH_OK) {
            char tx[67] = "0x";
            bh_hex_encode(tx + 2, r.tx_hash.data, 32);
            status = done(json_pack("{s:s, s:I}", cmd, tx, "block", (json_int_t)r.block_number));
        } else {
            status = chain_fail(cmd, rc, s);
        }
        bh_evm_receipt_clear(&r);
    } else {
        bh_address t;
        rc = bh_test_token_deploy(s, &t, a->val[O_NAME], a->val[O_SYMBOL],
                                  (uint8_t)(a->val[O_DECIMALS] ? a->num[O_DECIMALS] : 18));
        if (rc == BH_OK && a->val[O_MINT_TO]) {
            bh_u256 amt;
            bh_u256_from_u128(&amt, a->amt[O_AMOUNT]);
            rc = bh_test_token_mint(s, &t, &a->addr[O_MINT_TO], &amt);
        }
        status =
            rc == BH_OK ? done(json_pack("{s:o}", "token", jaddr(&t))) : chain_fail("token", rc, s);
    }
    bh_evm_sender_destroy(s);
    bh_rpc_destroy(ep);
    bh_attest_destroy(ctx);
    return status;
}

/* ---- main ---- */

static const bh_cli_verb *cli_verbs(void)
{
    static bh_cli_verb cv[N_VERBS];
    for (size_t k = 0; k < N_VERBS; k++)
        cv[k] = (bh_cli_verb){k_verbs[k].name, k_verbs[k].usage, k_verbs[k].help, k_verbs[k].flags};
    return cv;
}

static int run(int argc, char **argv)
{
    const bh_cli_verb *cv = cli_verbs();
    /* leading common options: --help, --version, --json, --dry-run */
    int i = 1, dry = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        switch (bh_cli_arg_kind(argv[i])) {
        case BH_CLI_ARG_HELP:
            return bh_cli_help(help_text, cv, N_VERBS);
        case BH_CLI_ARG_VERSION:
            return bh_cli_version();
        case BH_CLI_ARG_JSON:
            continue;
        case BH_CLI_ARG_DRY_RUN:
            dry = 1;
            continue;
        default:
            return bh_cli_unknown_option(argv[i], NULL, 0);
        }
    }
    if (i >= argc) return bh_cli_usage("missing_verb", NULL, "no verb given");
    if (!strcmp(argv[i], "verbs")) return bh_cli_verbs(cv, N_VERBS);
    if (!strcmp(argv[i], "help")) return bh_cli_help(help_text, cv, N_VERBS);
    const dverb *vb = NULL;
    for (size_t k = 0; k < N_VERBS; k++)
        if (!strcmp(argv[i], k_verbs[k].name)) vb = &k_verbs[k];
    if (!vb) return bh_cli_unknown_verb(cv, N_VERBS, argv[i]);
    bh_cli_set_verb(vb->name);
    static args a;
    memset(&a, 0, sizeof a);
    a.cmd = vb->name;
    a.dry_run = dry;
    int stop, x = parse_args(&a, vb, argc - i + 1, argv + i - 1, &stop);
    if (stop) return x;
    return vb->fn(&a);
}

int main(int argc, char **argv)
{
    bh_cli_begin("bulkhead-deploy", NULL, argc, argv);
    return bh_cli_end(run(argc, argv));
}
