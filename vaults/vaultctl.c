/* vaultctl: the operator CLI over the same LMDB vaults the node writes. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bh_amount.h"
#include "bh_cli.h"
#include "bh_config.h"
#include "bh_hex.h"
#include "bh_node.h"
#include "bh_reconcile.h"
#include "bh_vault.h"
#include "bh_vaultctl.h"
#include "ctl_remote.h"

#define EXIT_OK BH_EXIT_OK
#define EXIT_REFUSED BH_EXIT_FAILED
#define EXIT_USAGE BH_EXIT_USAGE
#define EXIT_ENV BH_EXIT_ENV
#define MAX_VAULTS 256

typedef struct {
    const char *data_dir;
    int json;
    const char *reason;
    const char *actor;
    const char *since;
    const char *chain_id;
    const char *decimals;
    const char *symbol;
    const char *config; /* the node's config file: audit against the chains */
    const char *verb;   /* the verb's name */
    int help;
    int version;
    int dry_run; /* --dry-run: validate and report, write nothing */
    int argc;    /* positional arguments after the verb */
    char **argv;
    uint64_t now;
} opts;

typedef struct {
    char name[BH_VAULT_NAME_MAX + 1];
    uint16_t id;
} vault_ref;

static vault_ref g_vaults[MAX_VAULTS];
static size_t g_nvaults;

/* Failures and usage errors are bh_cli's: text on stderr, the envelope's
 * error with --json (bh_cli.h). */
#define fail bh_cli_fail
#define usage bh_cli_usage

/* ---- verbs and their help ---- */

typedef int (*verb_fn)(const opts *o);

/* A verb: its name, usage line and help (what `vaultctl VERB --help` and
 * `vaultctl verbs` print), the function, and BH_CLI_WRITES if it can
 * change a vault (it takes --dry-run). */
typedef struct {
    const char *name;
    const char *usage;
    const char *help;
    verb_fn fn;
    unsigned flags;
} verb;

static const char k_main_help[] =
    "usage: vaultctl [-d DATA_DIR | --node URL] VERB [ARGS...] [--json] [--help]\n"
    "\n"
    "Inspect and steer bulkhead vaults: one LMDB ledger per home chain under\n"
    "DATA_DIR/vaults/<chain>/. Safe to run while the node is writing.\n"
    "\n"
    "Options:\n"
    "  -d DATA_DIR    the node's data directory (default: $BULKHEAD_DATA_DIR,\n"
    "                 else /var/lib/bulkhead)\n"
    "  --json         one JSON envelope on stdout, every verb, errors included:\n"
    "                 {\"ok\": true, \"data\": ...} or {\"ok\": false, \"error\": {...}}\n"
    "  --node URL     act through a running node's admin API (its operator port,\n"
    "                 e.g. http://127.0.0.1:9101) instead of on DATA_DIR\n"
    "  --admin-token-file FILE  the node's admin token (default:\n"
    "                 $BULKHEAD_ADMIN_TOKEN)\n"
    "  --actor NAME   who is acting, recorded in the journal (default: $USER)\n"
    "  --reason TEXT  why, recorded in the journal (required by freeze/unfreeze)\n"
    "  --dry-run      on a verb that writes: every check it makes, and what it would\n"
    "                 change (\"dry run: ...\"); nothing is written\n"
    "  --help         help for vaultctl or for one verb (vaultctl VERB --help)\n"
    "  --version      the version and the commit\n"
    "\n"
    "Setting up (what the node's operator does once per chain and asset):\n"
    "  init CHAIN --chain-id N             create the vault of home chain CHAIN\n"
    "  asset add CHAIN TOKEN --decimals D [--symbol SYM]\n"
    "                                      register a token of CHAIN (hex id)\n"
    "Reading:\n"
    "  list                                every vault, its assets and holds\n"
    "  show CHAIN                          locked and outstanding per chain\n"
    "  pending [CHAIN]                     delayed and held transfers\n"
    "  outbox CHAIN [show N]               entries waiting for delivery\n"
    "  parked CHAIN                        outbox entries parked after failed deliveries\n"
    "  limits CHAIN [ASSET]                rate limits and caps\n"
    "  journal CHAIN [--since N]           the append-only journal\n"
    "  audit [CHAIN] [--config FILE]       replay the journal, compare totals;\n"
    "                                      with the node's config, also custody and\n"
    "                                      the Portals' outstanding on the chains\n"
    "  reconciliation [CHAIN]              the node's last supply reconciliation\n"
    "  export CHAIN                        everything, as one JSON document\n"
    "  migrate [CHAIN]                     convert vaults an older build wrote\n"
    "Steering (journaled with actor and reason):\n"
    "  release ID | drop ID | retime ID DAYS   act on a pending transfer\n"
    "  outbox CHAIN drop N --reason R      set outbox entry N aside (parked)\n"
    "  requeue CHAIN N                     put parked entry N back in the outbox\n"
    "  freeze CHAIN --reason R             quarantine CHAIN in every vault\n"
    "  unfreeze CHAIN --reason R           lift it\n"
    "  limits CHAIN ASSET KEY=VALUE...     change limits\n"
    "\n"
    "CHAIN is a vault name ([a-z0-9_-]) or its bridge chain id, wherever one is\n"
    "taken (JSON names the chain beside each id: \"from\": 1, \"from_name\":\n"
    "\"sol\"). TOKEN is the token's address (0x and 40 hex digits, as printed;\n"
    "the 32-byte left-padded form too). ID is CHAIN/N as printed by `pending`\n"
    "(N alone if unambiguous). Amounts are in token units with the asset's\n"
    "decimals (\"1.5\").\n"
    "\n"
    "Exit status: 0 ok; 1 refused or failed (audit mismatch, an operation the\n"
    "vault refuses, an unconverted or damaged vault, the node refused); 2 wrong\n"
    "input (bad arguments, unknown verb or option, unknown chain, asset or id,\n"
    "a limit or config that does not validate); 3 the environment (missing or\n"
    "non-vault DATA_DIR, a vault that cannot be opened or written).\n";

static int v_init(const opts *o);
static int v_asset(const opts *o);
static int v_list(const opts *o);
static int v_show(const opts *o);
static int v_pending(const opts *o);
static int v_parked(const opts *o);
static int v_outbox(const opts *o);
static int v_requeue(const opts *o);
static int v_release(const opts *o);
static int v_drop(const opts *o);
static int v_retime(const opts *o);
static int v_freeze(const opts *o);
static int v_unfreeze(const opts *o);
static int v_limits(const opts *o);
static int v_values(const opts *o);
static int v_journal(const opts *o);
static int v_audit(const opts *o);
static int v_export(const opts *o);
static int v_migrate(const opts *o);
static int v_reconciliation(const opts *o);
static int v_portals(const opts *o);
static int v_node_only(const opts *o);

static const verb k_verbs[] = {
    {"init", "init CHAIN --chain-id N [--reason R]",
     "Create an empty vault for home chain CHAIN (its bridge chain id is N).\n"
     "Refused if the vault exists.",
     v_init, BH_CLI_WRITES},
    {"asset", "asset add CHAIN TOKEN --decimals D [--symbol SYM] [--reason R]",
     "Register TOKEN (its address on its home chain, 20 bytes or 32 left-padded) in the\n"
     "vault of CHAIN with D decimals (0..38). Transfers of unregistered tokens\n"
     "are refused as unknown_asset.",
     v_asset, BH_CLI_WRITES},
    {"list", "list [--json]", "One line per vault: chain id, assets, pending, quarantined chains.",
     v_list, 0},
    {"show", "show CHAIN [--json]",
     "Locked custody and outstanding wrapped supply per remote chain (minted, and\n"
     "in flight: accepted, not delivered yet), for each asset of CHAIN's vault,\n"
     "plus quarantines and counters.",
     v_show, 0},
    {"pending", "pending [CHAIN] [--json]",
     "Transfers waiting in pending: delayed ones with their release time, and\n"
     "holds that wait for an operator (over capacity, quarantine).",
     v_pending, 0},
    {"parked", "parked CHAIN [--json]",
     "Outbox entries the node stopped delivering after too many failures:\n"
     "id, source and destination chain, sequence, amount, failed tries, the\n"
     "last error and when it was parked. They stay applied to the ledger;\n"
     "`requeue` offers one for delivery again.",
     v_parked, 0},
    {"outbox", "outbox CHAIN [show N | drop N --reason R] [--json]",
     "Entries of CHAIN's vault waiting for delivery, oldest first: id, the\n"
     "chain it is delivered to (a hop's notice goes to the home chain), source,\n"
     "sequence, amount. Applied to the ledger already; the node delivers them.\n"
     "show N prints one entry. drop N sets it aside in `parked` (journaled;\n"
     "`requeue CHAIN N` puts it back); a transaction already sent for it may\n"
     "still execute, and the Portal executes a transfer once whatever happens.",
     v_outbox, BH_CLI_WRITES},
    {"requeue", "requeue CHAIN N [--reason R]",
     "Put parked entry N of CHAIN's vault back in the outbox (under a new\n"
     "outbox id, behind what already waits) so the node delivers it again.",
     v_requeue, BH_CLI_WRITES},
    {"release", "release ID [--reason R]",
     "Deliver pending transfer ID now. A quarantine hold is applied to the\n"
     "ledger first and is refused (exit 1) while its chain is still frozen or\n"
     "if applying it would break an invariant. It counts in its source\n"
     "chain's 24 h window: if the window is full it stays pending (cause\n"
     "window) and goes out by itself once it fits; one larger than the whole\n"
     "window is released now (the operator's override).",
     v_release, BH_CLI_WRITES},
    {"drop", "drop ID [--reason R]",
     "Never deliver pending transfer ID; its ledger effect, if applied, is\n"
     "reversed (refused, exit 1, if the supply moved on since).",
     v_drop, BH_CLI_WRITES},
    {"retime", "retime ID DAYS [--reason R]",
     "Make pending transfer ID due DAYS days from now (decimals allowed, 0 =\n"
     "due now). Quarantine holds cannot be re-timed.",
     v_retime, BH_CLI_WRITES},
    {"freeze", "freeze CHAIN --reason R",
     "Quarantine CHAIN (a vault name or chain id) in every vault: messages\n"
     "from it and to it are held unapplied until an operator releases them.",
     v_freeze, BH_CLI_WRITES},
    {"unfreeze", "unfreeze CHAIN --reason R",
     "Lift CHAIN's quarantine in every vault. Held transfers stay pending\n"
     "until released or dropped.",
     v_unfreeze, BH_CLI_WRITES},
    {"limits", "limits CHAIN [ASSET [KEY=VALUE...]] [--json] [--reason R]",
     "Show or set limits. ASSET is a token id (hex) or symbol, or `vault` for\n"
     "vault-wide keys. 0 removes a limit. Keys:\n"
     "  asset:  big_threshold=UNITS  big_delay=SECONDS  min_amount=UNITS\n"
     "          (transfers below min_amount are rejected as below_minimum)\n"
     "  lane (.ID = remote chain id or name): cap.ID=UNITS  window.ID=UNITS\n"
     "          in_capacity.ID=UNITS  in_refill.ID=UNITS_PER_S\n"
     "          out_capacity.ID=UNITS out_refill.ID=UNITS_PER_S\n"
     "  vault:  msg_limit=N  msg_limit.ID=N   (messages per source chain per 24 h)\n"
     "  value (quote units, across assets; `values` shows them):\n"
     "          asset: price=QUOTE_PER_TOKEN  price_max_age=SECONDS  price_max_jump=PERCENT\n"
     "          vault: value_window.ID=V  value_lane.ID.ID=V  value_threshold.ID=V\n"
     "                 flow_cancel.ID=0|1\n"
     "          vault: vol_percent=PERCENT vol_window=SECONDS tighten_percent=PERCENT\n"
     "                 calm=SECONDS   (volatility tightening of the segment)",
     v_limits, BH_CLI_WRITES},
    {"values", "values CHAIN [--json]",
     "The segment's state (normal, tightened, quarantined) and the value limits\n"
     "of CHAIN's vault in its quote unit: each limit, its size now\n"
     "(tightened or not) and the value counted in the 24 h window; and each\n"
     "asset's price with its source (fixed or observed), its age, and whether\n"
     "the limits can use it (a missing, stale or held-back price fails closed).",
     v_values, 0},
    {"journal", "journal CHAIN [--since N] [--json]",
     "Journal entries of CHAIN's vault from id N (default 1).", v_journal, 0},
    {"audit", "audit [CHAIN] [--json] [--config FILE]",
     "Replay each journal from its first entry and compare with every stored\n"
     "total. Exit 1 naming the first difference if any vault disagrees.\n"
     "With --config (the node's config file: its data_dir and chains), also\n"
     "read each home chain through its endpoint quorum at the node's cursor\n"
     "and compare the Portal's custody balance with locked, and the Portal's\n"
     "outstanding(token, D) with each lane's outstanding, allowing for what is\n"
     "in flight (the node's inbox, the outbox, pending and parked entries).\n"
     "A difference in the direction a delivery executed past the cursor could\n"
     "explain is read again once the node's cursor has passed (up to 30 s);\n"
     "one that stays is named (exit 1), as \"settling\" if the node did not move.",
     v_audit, 0},
    {"reconciliation", "reconciliation [CHAIN] [--json]",
     "The last supply reconciliation and chain audit the node stored for each\n"
     "chain (node.reconcile_s): the block, and per vault and asset the figure\n"
     "on the chain, the ledger's, what was in flight and the drift beyond it.\n"
     "Exit 1 if a line is not ok.",
     v_reconciliation, 0},
    {"portals", "portals [CHAIN] [--json]",
     "Each chain's Portal as the node last read it: paused (whole or per lane),\n"
     "the chains cursed there (and a lift under way), the attester set and where\n"
     "this node signs in it, the previous set while it stays valid, the curse's\n"
     "quorum and lift delay. Read from the node store (the node may be running).",
     v_portals, 0},
    {"export", "export CHAIN",
     "The whole vault as one JSON document: assets, lanes, limits, quarantines,\n"
     "pending transfers, parked outbox entries and the journal.",
     v_export, 0},
    {"migrate", "migrate [CHAIN]",
     "Convert each vault (or CHAIN's) written by an older build to this build's\n"
     "schema, in one transaction per vault, journaled (kind migrate). A vault\n"
     "already current is left as it is. Read-only verbs refuse an unconverted\n"
     "vault; the node converts its vaults and its own store at start.",
     v_migrate, BH_CLI_WRITES},
    {"reobserve", "reobserve CHAIN TXHASH [--json]   (through a node: --node URL)",
     "Read transaction TXHASH of CHAIN again, with the endpoint quorum and\n"
     "every check of the node's own reads, and give each of its Portal events\n"
     "to its vault once: \"applied\" (with the vault's verdict), \"replayed\"\n"
     "(taken already: nothing done) or \"queued\" (stored, taken in turn).\n"
     "For an event the node never read (started past it, a provider left it\n"
     "out). Refused for a block not final yet or above the cursor.",
     v_node_only, 0},
    {"cursor", "cursor CHAIN [rewind BLOCK --reason R] [--json]   (through a node: --node URL)",
     "The watcher's cursor of CHAIN: the last block stored, its hash, the\n"
     "Portal sequence expected next, the finalized head. rewind BLOCK moves it\n"
     "back (at most 100000 blocks, never below start_block - 1; journaled in\n"
     "CHAIN's vault, kind cursor): the blocks up to the old cursor are read\n"
     "again and their events go to their vaults as re-observed ones do.",
     v_node_only, 0},
};

/* ---- helpers ---- */

/* The verb takes min..max positional arguments, named by `names` ("ID
 * DAYS"): a missing one is named, a surplus one quoted. */
static int nargs(const opts *o, int min, int max, const char *names)
{
    if (o->argc >= min && o->argc <= max) return EXIT_OK;
    if (o->argc > max)
        return usage("unexpected_argument", o->argv[max], "unexpected argument '%.80s' (takes %s)",
                     o->argv[max], max ? names : "no arguments");
    /* the first missing one: word argc of names */
    const char *w = names;
    for (int i = 0; i < o->argc && strchr(w, ' '); i++)
        w = strchr(w, ' ') + 1;
    char miss[32];
    snprintf(miss, sizeof miss, "%.*s", (int)strcspn(w, " "), w);
    if (!strcmp(miss, names)) return usage("missing_argument", miss, "missing %s", miss);
    return usage("missing_argument", miss, "missing %s (takes %s)", miss, names);
}

static int check_data_dir(const opts *o)
{
    struct stat st;
    char p[4096];
    if (stat(o->data_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(EXIT_ENV, "data_dir_missing", o->data_dir,
                    "data directory %s does not exist (use -d DATA_DIR)", o->data_dir);
    snprintf(p, sizeof p, "%s/vaults", o->data_dir);
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(EXIT_ENV, "not_a_data_dir", o->data_dir,
                    "%s is not a bulkhead data directory (no vaults/ inside); "
                    "create a vault with `vaultctl init`",
                    o->data_dir);
    return EXIT_OK;
}

static int cmp_ref(const void *a, const void *b)
{
    return strcmp(((const vault_ref *)a)->name, ((const vault_ref *)b)->name);
}

/* Learn every vault's name and chain id (to name remote chains). */
static void scan_vaults(const opts *o)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/vaults", o->data_dir);
    DIR *d = opendir(p);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && g_nvaults < MAX_VAULTS) {
        if (!bh_vault_name_is_valid(e->d_name)) continue;
        char f[4400];
        struct stat st;
        snprintf(f, sizeof f, "%s/%s/data.mdb", p, e->d_name);
        if (stat(f, &st) != 0) continue; /* not a vault directory at all */
        bh_vault_opts vo = {.read_only = 1};
        bh_vault *v = NULL;
        /* a vault that fails to open is still listed (id 0): verbs report it */
        memcpy(g_vaults[g_nvaults].name, e->d_name, strlen(e->d_name) + 1); /* valid: <= 32 */
        g_vaults[g_nvaults].id = 0;
        if (bh_vault_open(&v, o->data_dir, e->d_name, &vo, NULL, 0) == BH_OK)
            g_vaults[g_nvaults].id = bh_vault_chain_id(v);
        g_nvaults++;
        bh_vault_close(v);
    }
    closedir(d);
    qsort(g_vaults, g_nvaults, sizeof g_vaults[0], cmp_ref);
}

/* Every verb that reads vaults: the data dir must be one, then learn its vaults. */
static int open_data_dir(const opts *o)
{
    int x = check_data_dir(o);
    if (x == EXIT_OK) scan_vaults(o);
    return x;
}

static const char *chain_label(uint16_t id, char *buf, size_t cap)
{
    for (size_t i = 0; i < g_nvaults; i++)
        if (g_vaults[i].id == id) {
            snprintf(buf, cap, "%s(%u)", g_vaults[i].name, id);
            return buf;
        }
    snprintf(buf, cap, "%u", id);
    return buf;
}

/* A chain given as a vault name or an id. Returns 0 on failure. */
static uint16_t chain_id_of(const char *s)
{
    for (size_t i = 0; i < g_nvaults; i++)
        if (!strcmp(g_vaults[i].name, s)) return g_vaults[i].id;
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (!*s || *end || errno || n == 0 || n > 65535) return 0;
    return (uint16_t)n;
}

/* A vault given by its name or its home chain's id ("2" for eth): its
 * name (borrowed: s itself, or g_vaults'). */
static const char *vault_of(const char *s)
{
    if (!s) return s;
    for (size_t i = 0; i < g_nvaults; i++)
        if (!strcmp(g_vaults[i].name, s)) return s;
    uint16_t id = chain_id_of(s);
    for (size_t i = 0; id && i < g_nvaults; i++)
        if (g_vaults[i].id == id) return g_vaults[i].name;
    return s;
}

/* Chain ids in JSON get their names beside them: every member below
 * holding an id a vault of this data directory has gets KEY_name ("from":
 * 1, "from_name": "sol"), in every object of a verb's result. */
static const char *const k_chain_keys[] = {"chain",         "from",      "to",       "deliver_to",
                                           "emitter_chain", "inc_chain", "dec_chain"};

static void name_chains(json_t *j)
{
    size_t i;
    json_t *v;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) name_chains(v);
        return;
    }
    if (!json_is_object(j)) return;
    const char *key;
    json_object_foreach(j, key, v) name_chains(v);
    for (size_t k = 0; k < sizeof k_chain_keys / sizeof k_chain_keys[0]; k++) {
        json_t *id = json_object_get(j, k_chain_keys[k]);
        if (!json_is_integer(id)) continue;
        char nk[32];
        snprintf(nk, sizeof nk, "%s_name", k_chain_keys[k]);
        for (size_t g = 0; g < g_nvaults; g++)
            if (g_vaults[g].id == json_integer_value(id))
                json_object_set_new(j, nk, json_string(g_vaults[g].name));
    }
}

static int open_vault(const opts *o, const char *name, int rdonly, bh_vault **v)
{
    *v = NULL;
    name = vault_of(name);
    if (!bh_vault_name_is_valid(name))
        return usage("unknown_chain", name,
                     "'%s' is not a vault name (lowercase letters, digits, _ and -)", name);
    char why[600];
    /* a dry run's vault runs every change and keeps none */
    bh_vault_opts vo = {.read_only = rdonly, .dry_run = o->dry_run && !rdonly};
    int rc = bh_vault_open(v, o->data_dir, name, &vo, why, sizeof why);
    if (rc == BH_ENOTFOUND || rc == BH_EINVAL)
        return fail(EXIT_USAGE, "unknown_chain", name, "unknown chain '%s': %s", name, why);
    if (rc == BH_ESCHEMA || rc == BH_ECORRUPT)
        return fail(EXIT_REFUSED, rc == BH_ESCHEMA ? "vault_schema" : "vault_corrupt", name, "%s",
                    why[0] ? why : bh_strerror(rc));
    if (rc) return fail(EXIT_ENV, "vault_unreadable", name, "%s", why[0] ? why : bh_strerror(rc));
    return EXIT_OK;
}

static const char *actor_of(const opts *o)
{
    if (o->actor) return o->actor;
    const char *u = getenv("SUDO_USER");
    if (!u || !*u) u = getenv("USER");
    if (u && *u) return u;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "unknown";
}

/* A hash as 0x and 64 hex digits. */
static void hash_hex(char out[67], const bh_bytes32 *h)
{
    out[0] = '0';
    out[1] = 'x';
    bh_hex_encode(out + 2, h->data, 32);
}

/* A token or emitter as the chain names it (bh_hex_address): an EVM
 * address as 0x and 40 hex digits, as bulkhead-deploy and the config write
 * it; input takes either form (parse_token). */
static void token_hex(char out[67], const bh_bytes32 *t)
{
    bh_hex_address(out, t->data);
}

static const char *token_label(char *buf, size_t cap, const bh_bytes32 *t, const char *symbol)
{
    if (symbol && *symbol) {
        snprintf(buf, cap, "%s", symbol);
        return buf;
    }
    char hx[67];
    token_hex(hx, t);
    snprintf(buf, cap, "%s", hx);
    return buf;
}

static int parse_token(bh_bytes32 *out, const char *s)
{
    memset(out, 0, sizeof *out);
    const char *h = s;
    if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) h += 2;
    size_t n = strlen(h);
    if (n == 0 || n > 64) return -1;
    char padded[65];
    memset(padded, '0', 64 - n);
    memcpy(padded + 64 - n, h, n);
    padded[64] = 0;
    return bh_hex_decode_exact(out->data, 32, padded, 64) == BH_OK ? 0 : -1;
}

typedef struct {
    const char *want;
    bh_bytes32 tok;
    int found;
} sym_find;

static int sym_cb(void *ctx, const bh_bytes32 *t, const bh_vault_asset *a)
{
    sym_find *f = ctx;
    if (!strcmp(a->symbol, f->want)) {
        f->tok = *t;
        f->found++;
    }
    return 0;
}

/* ASSET as a symbol of this vault or a hex token id. */
static int resolve_asset(bh_vault *v, const char *s, bh_bytes32 *tok, bh_vault_asset *a)
{
    sym_find f = {s, {{0}}, 0};
    if (bh_vault_each_asset(v, sym_cb, &f) == BH_OK && f.found == 1) {
        *tok = f.tok;
    } else if (parse_token(tok, s) != 0) {
        return fail(EXIT_USAGE, "unknown_asset", s,
                    "unknown asset '%s' in vault %s (give a registered symbol or a hex token id)",
                    s, bh_vault_name(v));
    }
    if (bh_vault_asset_get(v, a, tok) != BH_OK)
        return fail(EXIT_USAGE, "unknown_asset", s, "unknown asset '%s' in vault %s", s,
                    bh_vault_name(v));
    return EXIT_OK;
}

static void units(char *out, size_t cap, bh_u128 v, unsigned dec)
{
    bh_u128_to_units(out, cap, v, dec);
}

static json_t *jamount(bh_u128 v)
{
    char d[BH_U128_DEC_MAX];
    bh_u128_to_dec(d, v);
    return json_string(d);
}

/* "1.5" in units -> smallest units, exact; -1 if not representable. */
static int parse_units(bh_u128 *out, const char *s, unsigned dec)
{
    const char *dot = strchr(s, '.');
    size_t il = dot ? (size_t)(dot - s) : strlen(s);
    size_t fl = dot ? strlen(dot + 1) : 0;
    if ((il == 0 && fl == 0) || fl > dec || (dot && fl == 0)) return -1;
    char digits[128];
    if (il + dec >= sizeof digits) return -1;
    memcpy(digits, s, il);
    if (fl) memcpy(digits + il, dot + 1, fl);
    memset(digits + il + fl, '0', dec - fl);
    size_t n = il + dec;
    if (n == 0) return -1;
    return bh_u128_from_dec(out, digits, n) == BH_OK ? 0 : -1;
}

/* A verb's JSON result: the envelope's data with --json; printed as it
 * is by export, whose text is JSON. */
static int print_json(json_t *j)
{
    name_chains(j);
    return bh_cli_result(j, 1);
}

/* A writing verb's result (text printed already with bh_cli_say). */
static int result(const opts *o, json_t *j)
{
    if (j && o->dry_run) json_object_set_new(j, "dry_run", json_true());
    name_chains(j);
    return bh_cli_result(j, 0);
}

static void fmt_time(char *out, size_t cap, uint64_t t)
{
    if (t == 0) {
        snprintf(out, cap, "operator");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- setup verbs ---- */

static int v_init(const opts *o)
{
    int x = nargs(o, 1, 1, "CHAIN");
    if (x) return x;
    if (!o->chain_id) return usage("missing_argument", "--chain-id", "needs --chain-id N");
    if (!bh_vault_name_is_valid(o->argv[0]))
        return usage("bad_argument", o->argv[0],
                     "'%s' is not a valid chain name ([a-z0-9_-]{1,32})", o->argv[0]);
    char *end;
    errno = 0;
    unsigned long id = strtoul(o->chain_id, &end, 10);
    if (!*o->chain_id || *end || errno || id == 0 || id > 65535)
        return usage("bad_argument", "--chain-id", "--chain-id must be 1..65535, not '%s'",
                     o->chain_id);
    struct stat st;
    if (stat(o->data_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(EXIT_ENV, "data_dir_missing", o->data_dir, "data directory %s does not exist",
                    o->data_dir);
    scan_vaults(o);
    for (size_t i = 0; i < g_nvaults; i++)
        if (g_vaults[i].id == id && strcmp(g_vaults[i].name, o->argv[0]))
            return fail(EXIT_REFUSED, "chain_id_taken", "--chain-id",
                        "chain id %lu already belongs to vault %s", id, g_vaults[i].name);
    char path[4200];
    snprintf(path, sizeof path, "%s/vaults/%s", o->data_dir, o->argv[0]);
    int rc = BH_OK;
    if (o->dry_run) {
        /* what bh_vault_init_dir checks before it creates anything */
        if (stat(path, &st) == 0) rc = BH_EEXIST;
    } else {
        rc = bh_vault_init_dir(o->data_dir, o->argv[0], (uint16_t)id, o->now, actor_of(o),
                               o->reason);
    }
    if (rc == BH_EEXIST)
        return fail(EXIT_REFUSED, "vault_exists", o->argv[0], "vault %s already exists in %s",
                    o->argv[0], o->data_dir);
    if (rc)
        return fail(EXIT_ENV, "vault_unwritable", o->argv[0], "cannot create vault %s: %s",
                    o->argv[0], bh_strerror(rc));
    bh_cli_say("%screated vault %s (chain id %lu) in %s\n", o->dry_run ? "dry run: " : "",
               o->argv[0], id, path);
    return result(
        o, json_pack("{s:s, s:i, s:s}", "vault", o->argv[0], "chain_id", (int)id, "path", path));
}

static int v_asset(const opts *o)
{
    if (o->argc >= 1 && strcmp(o->argv[0], "add") != 0)
        return usage("bad_argument", o->argv[0], "'%.60s': the only form is asset add CHAIN TOKEN",
                     o->argv[0]);
    int x = nargs(o, 3, 3, "add CHAIN TOKEN");
    if (x) return x;
    if (!o->decimals) return usage("missing_argument", "--decimals", "needs --decimals D");
    char *end;
    errno = 0;
    unsigned long d = strtoul(o->decimals, &end, 10);
    if (!*o->decimals || *end || errno || d > 38)
        return usage("bad_argument", "--decimals", "--decimals must be 0..38, not '%s'",
                     o->decimals);
    bh_bytes32 tok;
    if (parse_token(&tok, o->argv[2]) != 0)
        return usage("bad_argument", o->argv[2],
                     "TOKEN must be a 20-byte address or 32 bytes of hex, not '%s'", o->argv[2]);
    if (o->symbol && (strlen(o->symbol) > BH_VAULT_SYMBOL_MAX || !*o->symbol))
        return usage("bad_argument", "--symbol", "--symbol must be 1..%d characters",
                     BH_VAULT_SYMBOL_MAX);
    if ((x = open_data_dir(o))) return x;
    const char *vn = vault_of(o->argv[1]);
    bh_vault *v;
    if ((x = open_vault(o, vn, 0, &v))) return x;
    int rc = bh_vault_asset_add(v, &tok, (uint8_t)d, o->symbol, o->now, actor_of(o), o->reason);
    bh_vault_close(v);
    if (rc == BH_EEXIST)
        return fail(EXIT_REFUSED, "asset_exists", o->argv[2],
                    "asset add refused: already registered");
    if (rc) return fail(EXIT_REFUSED, "refused", NULL, "asset add refused: %s", bh_strerror(rc));
    char hx[67];
    token_hex(hx, &tok);
    bh_cli_say("%sregistered %s in vault %s\n", o->dry_run ? "dry run: " : "", hx, vn);
    return result(o, json_pack("{s:s, s:s, s:i, s:s}", "vault", vn, "token", hx, "decimals", (int)d,
                               "symbol", o->symbol ? o->symbol : ""));
}

/* ---- reading verbs ---- */

typedef struct {
    size_t n;
    json_t *arr;
    bh_vault *v;
    const bh_bytes32 *tok;
    unsigned dec;
} walk;

static int count_cb(void *ctx, const void *x)
{
    (void)x;
    ((walk *)ctx)->n++;
    return 0;
}

static int count_asset(void *c, const bh_bytes32 *t, const bh_vault_asset *a)
{
    (void)t;
    return count_cb(c, a);
}
static int count_pending(void *c, const bh_vault_pending *p)
{
    return count_cb(c, p);
}

static int list_q(void *c, const bh_vault_quarantine *q)
{
    walk *w = c;
    json_array_append_new(w->arr, json_integer(q->chain));
    return 0;
}

static int v_list(const opts *o)
{
    int x = nargs(o, 0, 0, "");
    if (x) return x;
    x = open_data_dir(o);
    if (x) return x;
    json_t *out = json_array();
    if (!o->json)
        printf("%-16s %8s %7s %8s  %s\n", "VAULT", "CHAIN_ID", "ASSETS", "PENDING", "QUARANTINED");
    int worst = EXIT_OK;
    for (size_t i = 0; i < g_nvaults; i++) {
        bh_vault *v;
        if ((x = open_vault(o, g_vaults[i].name, 1, &v))) {
            worst = EXIT_REFUSED;
            if (o->json)
                json_array_append_new(out, json_pack("{s:s,s:s}", "name", g_vaults[i].name, "error",
                                                     "cannot open the vault"));
            else
                printf("%-16s ERROR: cannot open the vault (see above)\n", g_vaults[i].name);
            continue;
        }
        walk wa = {0}, wp = {0}, wq = {.arr = json_array()};
        int rc = bh_vault_each_asset(v, count_asset, &wa);
        if (!rc) rc = bh_vault_each_pending(v, count_pending, &wp);
        if (!rc) rc = bh_vault_each_quarantine(v, list_q, &wq);
        if (rc) {
            fail(EXIT_REFUSED, "vault_unreadable", g_vaults[i].name, "vault %s: %s",
                 g_vaults[i].name, bh_strerror(rc));
            worst = EXIT_REFUSED;
        }
        if (o->json) {
            json_array_append_new(out,
                                  json_pack("{s:s,s:i,s:i,s:i,s:o}", "name", g_vaults[i].name,
                                            "chain_id", g_vaults[i].id, "assets", (json_int_t)wa.n,
                                            "pending", (json_int_t)wp.n, "quarantined", wq.arr));
        } else {
            char q[256] = "-", lb[48];
            size_t k;
            json_t *e;
            size_t off = 0;
            json_array_foreach(wq.arr, k, e)
            {
                off += (size_t)snprintf(
                    q + off, off < sizeof q ? sizeof q - off : 0, "%s%s", k ? "," : "",
                    chain_label((uint16_t)json_integer_value(e), lb, sizeof lb));
                if (off >= sizeof q) break;
            }
            printf("%-16s %8u %7zu %8zu  %s\n", g_vaults[i].name, g_vaults[i].id, wa.n, wp.n, q);
            json_decref(wq.arr);
        }
        bh_vault_close(v);
    }
    if (o->json) return print_json(out) ? EXIT_ENV : worst;
    json_decref(out);
    if (g_nvaults == 0) printf("(no vaults in %s)\n", o->data_dir);
    return worst;
}

/* outstanding = minted (delivered) + in flight (accepted, not delivered yet) */
static int show_lane(void *c, const bh_vault_lane *l, uint16_t chain, bh_u128 in_flight)
{
    walk *w = c;
    char u[64], cap[64], lb[48], mu[64], fu[64];
    units(u, sizeof u, l->outstanding, w->dec);
    units(mu, sizeof mu, l->outstanding - in_flight, w->dec);
    units(fu, sizeof fu, in_flight, w->dec);
    if (l->cap)
        units(cap, sizeof cap, l->cap, w->dec);
    else
        snprintf(cap, sizeof cap, "none");
    if (w->arr) {
        json_array_append_new(
            w->arr, json_pack("{s:i,s:o,s:s,s:o,s:s,s:o,s:s,s:o}", "chain", chain, "outstanding",
                              jamount(l->outstanding), "outstanding_units", u, "minted",
                              jamount(l->outstanding - in_flight), "minted_units", mu, "in_flight",
                              jamount(in_flight), "in_flight_units", fu, "cap", jamount(l->cap)));
    } else if (l->outstanding || l->cap) {
        printf("    %-18s outstanding %-24s cap %s  (minted %s, in flight %s)\n",
               chain_label(chain, lb, sizeof lb), u, cap, mu, fu);
    }
    return 0;
}

static int lane_cb(void *c, const bh_bytes32 *t, uint16_t chain, const bh_vault_lane *l,
                   bh_u128 in_flight)
{
    (void)t;
    return show_lane(c, l, chain, in_flight);
}

typedef struct {
    const opts *o;
    bh_vault *v;
    json_t *assets;
    int rc;
} show_ctx;

/* The asset's min_amount in units, "none" when unset. */
static int min_units(char *out, size_t cap, bh_vault *v, const bh_bytes32 *t, unsigned dec,
                     bh_u128 *min)
{
    int rc = bh_vault_min_amount_get(v, min, t);
    if (!rc && *min)
        units(out, cap, *min, dec);
    else
        snprintf(out, cap, "none");
    return rc;
}

static int show_asset(void *c, const bh_bytes32 *t, const bh_vault_asset *a)
{
    show_ctx *s = c;
    char hx[67], lk[64], tot[64], mn[64], lb[80];
    bh_u128 min;
    token_hex(hx, t);
    units(lk, sizeof lk, a->locked, a->decimals);
    units(tot, sizeof tot, a->outstanding_total, a->decimals);
    int rc = min_units(mn, sizeof mn, s->v, t, a->decimals, &min);
    if (rc) s->rc = rc;
    walk w = {.dec = a->decimals, .arr = s->o->json ? json_array() : NULL};
    if (!s->o->json) {
        printf("  asset %s  %s  decimals %u  min_amount %s\n",
               token_label(lb, sizeof lb, t, a->symbol), hx, a->decimals, mn);
        printf("    locked %s   outstanding total %s\n", lk, tot);
    }
    rc = bh_vault_each_lane_split(s->v, t, lane_cb, &w);
    if (rc) s->rc = rc;
    if (s->o->json)
        json_array_append_new(s->assets,
                              json_pack("{s:s,s:s,s:i,s:o,s:s,s:o,s:s,s:o,s:s,s:o}", "token", hx,
                                        "symbol", a->symbol, "decimals", a->decimals, "locked",
                                        jamount(a->locked), "locked_units", lk, "outstanding_total",
                                        jamount(a->outstanding_total), "outstanding_total_units",
                                        tot, "min_amount", jamount(min), "min_amount_units",
                                        min ? mn : "0", "lanes", w.arr));
    return 0;
}

static int show_q(void *c, const bh_vault_quarantine *q)
{
    show_ctx *s = c;
    char ts[32], lb[48];
    fmt_time(ts, sizeof ts, q->since);
    if (s->o->json)
        json_array_append_new(s->assets, json_pack("{s:i,s:s,s:s,s:s}", "chain", q->chain, "since",
                                                   ts, "actor", q->actor, "reason", q->reason));
    else
        printf("  QUARANTINED %s since %s by %s: %s\n", chain_label(q->chain, lb, sizeof lb), ts,
               q->actor, q->reason);
    return 0;
}

static json_t *info_json(const bh_vault_info *in)
{
    json_t *rj = json_object();
    for (int i = 1; i < BH_REJECT_COUNT_; i++)
        if (in->rejects[i])
            json_object_set_new(rj, bh_reject_name((bh_reject)i),
                                json_integer((json_int_t)in->rejects[i]));
    return json_pack(
        "{s:s,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "name", in->name, "chain_id", in->chain_id,
        "schema", in->schema, "journal_entries", (json_int_t)(in->next_journal - 1), "msg_limit",
        (json_int_t)in->msg_limit_default, "created", (json_int_t)in->created, "outbox_depth",
        (json_int_t)in->outbox_depth, "pending", (json_int_t)in->pending_count, "parked",
        (json_int_t)in->parked_count, "rejects", rj);
}

static int v_show(const opts *o)
{
    int x = nargs(o, 1, 1, "CHAIN");
    if (x) return x;
    x = open_data_dir(o);
    if (x) return x;
    bh_vault *v;
    if ((x = open_vault(o, o->argv[0], 1, &v))) return x;
    bh_vault_info info;
    bh_vault_segment seg;
    int rc = bh_vault_info_get(v, &info);
    if (!rc) rc = bh_vault_segment_get(v, &seg, o->now);
    show_ctx s = {o, v, json_array(), 0};
    json_t *qa = json_array();
    if (!o->json && !rc) {
        printf("vault %s  chain id %u  schema %u  journal entries %" PRIu64 "\n", info.name,
               info.chain_id, info.schema, info.next_journal - 1);
        printf("  segment %s", bh_vault_segment_name(seg.state));
        if (seg.percent < 100)
            printf(" (lanes and value limits at %u%% until %llu)", seg.percent,
                   (unsigned long long)seg.until);
        printf("\n");
        printf("  outbox %" PRIu64 "  pending %" PRIu64 "  parked %" PRIu64 "\n", info.outbox_depth,
               info.pending_count, info.parked_count);
        for (int i = 1; i < BH_REJECT_COUNT_; i++)
            if (info.rejects[i])
                printf("  rejected %-22s %" PRIu64 "\n", bh_reject_name((bh_reject)i),
                       info.rejects[i]);
    }
    if (!rc) rc = bh_vault_each_asset(v, show_asset, &s);
    if (!rc) rc = s.rc;
    json_t *assets = s.assets;
    s.assets = qa;
    if (!rc) rc = bh_vault_each_quarantine(v, show_q, &s);
    bh_vault_close(v);
    if (rc) {
        json_decref(assets);
        json_decref(qa);
        return fail(EXIT_REFUSED, "vault_unreadable", o->argv[0], "vault %s: %s", o->argv[0],
                    bh_strerror(rc));
    }
    if (o->json) {
        json_t *j = info_json(&info);
        json_object_set_new(j, "assets", assets);
        json_object_set_new(j, "quarantined", qa);
        json_object_set_new(j, "segment",
                            json_pack("{s:s, s:i, s:I, s:I}", "state",
                                      bh_vault_segment_name(seg.state), "percent", (int)seg.percent,
                                      "since", (json_int_t)seg.since, "until",
                                      (json_int_t)seg.until));
        return print_json(j);
    }
    json_decref(assets);
    json_decref(qa);
    return EXIT_OK;
}

/* ---- pending ---- */

typedef struct {
    const opts *o;
    bh_vault *v;
    json_t *arr;
    size_t n;
    uint64_t want; /* for id resolution */
    int hit;
} pend_ctx;

static int pend_row(void *c, const bh_vault_pending *p)
{
    pend_ctx *s = c;
    bh_vault_asset a;
    unsigned dec = bh_vault_asset_get(s->v, &a, &p->msg.transfer.token) == BH_OK ? a.decimals : 0;
    char amt[64], rel[32], src[48], dst[48], tok[80], id[64];
    units(amt, sizeof amt, p->msg.amount, dec);
    fmt_time(rel, sizeof rel, p->release_at);
    chain_label(p->msg.emitter_chain, src, sizeof src);
    chain_label(p->msg.transfer.to_chain, dst, sizeof dst);
    token_label(tok, sizeof tok, &p->msg.transfer.token, dec || a.symbol[0] ? a.symbol : NULL);
    snprintf(id, sizeof id, "%s/%" PRIu64, bh_vault_name(s->v), p->id);
    s->n++;
    if (s->o->json) {
        char hx[67], dg[67];
        token_hex(hx, &p->msg.transfer.token);
        dg[0] = '0';
        dg[1] = 'x';
        bh_hex_encode(dg + 2, p->msg.digest.data, 32);
        json_array_append_new(
            s->arr, json_pack("{s:s,s:s,s:I,s:s,s:b,s:I,s:s,s:i,s:i,s:I,s:s,s:o,s:s,s:s}", "id", id,
                              "vault", bh_vault_name(s->v), "n", (json_int_t)p->id, "cause",
                              bh_vault_cause_name((bh_vault_cause)p->cause), "applied", p->applied,
                              "release_at", (json_int_t)p->release_at, "release", rel, "from",
                              p->msg.emitter_chain, "to", p->msg.transfer.to_chain, "sequence",
                              (json_int_t)p->msg.sequence, "token", hx, "amount",
                              jamount(p->msg.amount), "amount_units", amt, "digest", dg));
    } else {
        printf("%-18s %-10s %-20s %-14s %-14s %-10s %s\n", id,
               bh_vault_cause_name((bh_vault_cause)p->cause), rel, src, dst, tok, amt);
    }
    return 0;
}

static int v_pending(const opts *o)
{
    int x = nargs(o, 0, 1, "CHAIN");
    if (x) return x;
    x = open_data_dir(o);
    if (x) return x;
    pend_ctx s = {.o = o, .arr = json_array()};
    int worst = EXIT_OK;
    if (!o->json)
        printf("%-18s %-10s %-20s %-14s %-14s %-10s %s\n", "ID", "CAUSE", "RELEASE", "FROM", "TO",
               "ASSET", "AMOUNT");
    for (size_t i = 0; i < g_nvaults || (o->argc && i == 0); i++) {
        const char *name = o->argc ? o->argv[0] : g_vaults[i].name;
        if ((x = open_vault(o, name, 1, &s.v))) {
            if (o->argc) {
                json_decref(s.arr);
                return x;
            }
            worst = EXIT_REFUSED;
            continue;
        }
        int rc = bh_vault_each_pending(s.v, pend_row, &s);
        bh_vault_close(s.v);
        if (rc) {
            json_decref(s.arr);
            return fail(EXIT_REFUSED, "vault_unreadable", name, "vault %s: %s", name,
                        bh_strerror(rc));
        }
        if (o->argc) break;
    }
    if (o->json) {
        int pj = print_json(s.arr);
        return pj ? pj : worst;
    }
    json_decref(s.arr);
    if (!s.n) printf("(nothing pending)\n");
    return worst;
}

/* ID is CHAIN/N, or N when exactly one vault has pending N. */
static int resolve_pending(const opts *o, const char *s, char *vault, size_t cap, uint64_t *id)
{
    const char *slash = strchr(s, '/');
    const char *num = slash ? slash + 1 : s;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(num, &end, 10);
    if (!*num || *end || errno || n == 0 || *num == '-')
        return usage("bad_argument", s, "'%s' is not a pending id (CHAIN/N or N)", s);
    *id = n;
    int x = open_data_dir(o);
    if (x) return x;
    if (slash) {
        size_t l = (size_t)(slash - s);
        if (l == 0 || l >= cap) return usage("bad_argument", s, "'%s' names no vault", s);
        memcpy(vault, s, l);
        vault[l] = 0;
        return EXIT_OK;
    }
    int hits = 0;
    for (size_t i = 0; i < g_nvaults; i++) {
        bh_vault *v;
        if (open_vault(o, g_vaults[i].name, 1, &v)) continue;
        bh_vault_pending p;
        if (bh_vault_pending_get(v, &p, n) == BH_OK) {
            if (!hits && strlen(g_vaults[i].name) < cap)
                memcpy(vault, g_vaults[i].name, strlen(g_vaults[i].name) + 1);
            hits++;
        }
        bh_vault_close(v);
    }
    if (hits == 0)
        return fail(EXIT_USAGE, "unknown_pending", s, "no pending transfer %llu in any vault of %s",
                    n, o->data_dir);
    if (hits > 1)
        return fail(EXIT_USAGE, "ambiguous_id", s,
                    "pending id %llu exists in %d vaults; say which, as CHAIN/%llu", n, hits, n);
    return EXIT_OK;
}

static int pending_action(const opts *o, const char *verb_name, int n_args)
{
    int x = nargs(o, n_args, n_args, n_args == 1 ? "ID" : "ID DAYS");
    if (x) return x;
    uint64_t release_at = 0;
    if (n_args == 2) {
        char *end;
        errno = 0;
        double days = strtod(o->argv[1], &end);
        if (!*o->argv[1] || *end || errno || !(days >= 0) || days > 36500)
            return usage("bad_argument", o->argv[1],
                         "DAYS must be a number from 0 to 36500, not '%s'", o->argv[1]);
        release_at = o->now + (uint64_t)(days * 86400.0 + 0.5);
        if (release_at == 0) release_at = 1;
    }
    char vault[BH_VAULT_NAME_MAX + 1];
    uint64_t id = 0;
    if ((x = resolve_pending(o, o->argv[0], vault, sizeof vault, &id))) return x;
    bh_vault *v;
    if ((x = open_vault(o, vault, 0, &v))) return x;
    snprintf(vault, sizeof vault, "%s", bh_vault_name(v)); /* "2/7" is eth/7 */
    char reason[BH_VAULT_REASON_MAX + 1];
    snprintf(reason, sizeof reason, "%s", o->reason ? o->reason : verb_name);
    int rc;
    bh_vault_result res;
    memset(&res, 0, sizeof res);
    if (!strcmp(verb_name, "release"))
        rc = bh_vault_release_ex(v, &res, id, o->now, actor_of(o), reason);
    else if (!strcmp(verb_name, "drop"))
        rc = bh_vault_drop(v, id, o->now, actor_of(o), reason);
    else
        rc = bh_vault_retime(v, id, release_at, o->now, actor_of(o), reason);
    if (rc == BH_ENOTFOUND) {
        bh_vault_close(v);
        return fail(EXIT_USAGE, "unknown_pending", o->argv[0], "no pending transfer %s/%" PRIu64,
                    vault, id);
    }
    if (rc) {
        const char *m = bh_vault_errmsg(v);
        x = fail(EXIT_REFUSED, "refused", o->argv[0], "%s %s/%" PRIu64 " refused: %s", verb_name,
                 vault, id, m[0] ? m : bh_strerror(rc));
        bh_vault_close(v);
        return x;
    }
    bh_vault_close(v);
    char ids[64], ts[32];
    const char *dry = o->dry_run ? "dry run: " : "", *status;
    snprintf(ids, sizeof ids, "%s/%" PRIu64, vault, id);
    if (res.status == BH_VAULT_DELAYED) {
        status = "delayed";
        release_at = res.release_at;
        fmt_time(ts, sizeof ts, release_at);
        bh_cli_say("%s%s: not released: the 24 h window of its source chain is full; "
                   "it stays pending (cause window) and goes out by itself once it fits, "
                   "at the earliest %s\n",
                   dry, ids, ts);
    } else if (n_args == 2) {
        status = "retimed";
        fmt_time(ts, sizeof ts, release_at);
        bh_cli_say("%s%s: due at %s\n", dry, ids, ts);
    } else {
        status = !strcmp(verb_name, "drop") ? "dropped" : "released";
        bh_cli_say("%s%s: %s\n", dry, ids, status);
    }
    json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "id", ids, "vault", vault, "n", (json_int_t)id,
                          "status", status);
    if (j && release_at) {
        json_object_set_new(j, "release_at", json_integer((json_int_t)release_at));
        json_object_set_new(j, "release", json_string(ts));
    }
    return result(o, j);
}

static int v_release(const opts *o)
{
    return pending_action(o, "release", 1);
}
static int v_drop(const opts *o)
{
    return pending_action(o, "drop", 1);
}
static int v_retime(const opts *o)
{
    return pending_action(o, "retime", 2);
}

/* ---- parked outbox entries ---- */

typedef struct {
    const opts *o;
    bh_vault *v;
    json_t *arr;
    size_t n;
} park_ctx;

static int parked_row(void *c, const bh_vault_parked *p)
{
    park_ctx *s = c;
    bh_vault_asset a;
    unsigned dec = bh_vault_asset_get(s->v, &a, &p->msg.transfer.token) == BH_OK ? a.decimals : 0;
    char amt[64], ts[32], src[48], dst[48], tok[80], hx[67];
    units(amt, sizeof amt, p->msg.amount, dec);
    fmt_time(ts, sizeof ts, p->parked_at);
    chain_label(p->msg.emitter_chain, src, sizeof src);
    chain_label(p->msg.transfer.to_chain, dst, sizeof dst);
    /* a hop's notice goes to the home chain, not to the hop's destination */
    int notice = p->to && p->to != p->msg.transfer.to_chain;
    if (notice) {
        char home[32];
        chain_label(p->to, home, sizeof home);
        snprintf(dst, sizeof dst, "%s(notice)", home);
    }
    token_label(tok, sizeof tok, &p->msg.transfer.token, dec || a.symbol[0] ? a.symbol : NULL);
    s->n++;
    if (s->o->json) {
        token_hex(hx, &p->msg.transfer.token);
        json_array_append_new(
            s->arr,
            json_pack("{s:I,s:s,s:i,s:i,s:i,s:b,s:I,s:s,s:o,s:s,s:I,s:s,s:I,s:s}", "id",
                      (json_int_t)p->id, "vault", bh_vault_name(s->v), "from", p->msg.emitter_chain,
                      "to", p->msg.transfer.to_chain, "deliver_to",
                      notice ? p->to : p->msg.transfer.to_chain, "hop_notice", notice, "sequence",
                      (json_int_t)p->msg.sequence, "token", hx, "amount", jamount(p->msg.amount),
                      "amount_units", amt, "tries", (json_int_t)p->tries, "last_error",
                      p->last_error, "parked_at", (json_int_t)p->parked_at, "parked", ts));
    } else {
        printf("%-8" PRIu64 " %-20s %-14s %-14s %8" PRIu64 " %-10s %-14s %5u  %s\n", p->id, ts, src,
               dst, p->msg.sequence, tok, amt, p->tries, p->last_error);
    }
    return 0;
}

/* A listing verb on one vault: CHAIN opened read-only, the header (text),
 * one row per visited entry, then the JSON array or `empty`. */
static int list_vault(const opts *o, const char *header, int (*visit)(park_ctx *s),
                      const char *empty)
{
    int x = nargs(o, 1, 1, "CHAIN");
    if (x) return x;
    if ((x = open_data_dir(o))) return x;
    park_ctx s = {.o = o, .arr = json_array()};
    if ((x = open_vault(o, o->argv[0], 1, &s.v))) {
        json_decref(s.arr);
        return x;
    }
    if (!o->json) fputs(header, stdout);
    int rc = visit(&s);
    bh_vault_close(s.v);
    if (rc) {
        json_decref(s.arr);
        return fail(EXIT_REFUSED, "vault_unreadable", o->argv[0], "vault %s: %s", o->argv[0],
                    bh_strerror(rc));
    }
    if (o->json) return print_json(s.arr);
    json_decref(s.arr);
    if (!s.n) printf("%s\n", empty);
    return EXIT_OK;
}

static int visit_parked(park_ctx *s)
{
    return bh_vault_each_parked(s->v, parked_row, s);
}

static int v_parked(const opts *o)
{
    char header[160];
    snprintf(header, sizeof header, "%-8s %-20s %-14s %-14s %8s %-10s %-14s %5s  %s\n", "ID",
             "PARKED", "FROM", "TO", "SEQ", "ASSET", "AMOUNT", "TRIES", "LAST ERROR");
    return list_vault(o, header, visit_parked, "(nothing parked)");
}

/* ---- the outbox ---- */

static int outbox_row(void *c, const bh_vault_outbox_entry *e)
{
    park_ctx *s = c;
    bh_vault_asset a;
    unsigned dec = bh_vault_asset_get(s->v, &a, &e->msg.transfer.token) == BH_OK ? a.decimals : 0;
    char amt[64], src[48], dst[48], tok[80], hx[67];
    units(amt, sizeof amt, e->msg.amount, dec);
    chain_label(e->msg.emitter_chain, src, sizeof src);
    chain_label(e->to, dst, sizeof dst);
    int notice = e->to != e->msg.transfer.to_chain;
    if (notice) {
        size_t l = strlen(dst);
        snprintf(dst + l, sizeof dst - l, "(notice)");
    }
    token_label(tok, sizeof tok, &e->msg.transfer.token, dec || a.symbol[0] ? a.symbol : NULL);
    s->n++;
    if (s->o->json) {
        token_hex(hx, &e->msg.transfer.token);
        json_array_append_new(
            s->arr, json_pack("{s:I,s:s,s:i,s:i,s:i,s:b,s:I,s:s,s:o,s:s}", "id", (json_int_t)e->id,
                              "vault", bh_vault_name(s->v), "from", e->msg.emitter_chain, "to",
                              e->msg.transfer.to_chain, "deliver_to", e->to, "hop_notice", notice,
                              "sequence", (json_int_t)e->msg.sequence, "token", hx, "amount",
                              jamount(e->msg.amount), "amount_units", amt));
    } else {
        printf("%-8" PRIu64 " %-14s %-18s %8" PRIu64 " %-10s %s\n", e->id, src, dst,
               e->msg.sequence, tok, amt);
    }
    return 0;
}

static int visit_outbox(park_ctx *s)
{
    return bh_vault_outbox_scan_to(s->v, 0, 0, 0, outbox_row, s);
}

/* N or CHAIN/N naming an entry of vault CHAIN; 0 when it is neither. */
static unsigned long long entry_id(const char *vault, const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash) {
        if ((size_t)(slash - s) != strlen(vault) || strncmp(s, vault, (size_t)(slash - s)))
            return 0;
        s = slash + 1;
    }
    char *end;
    errno = 0;
    unsigned long long id = strtoull(s, &end, 10);
    return !*s || *end || errno || *s == '-' ? 0 : id;
}

typedef struct {
    uint64_t id;
    park_ctx *s;
    int found;
} find_ctx;

static int outbox_find(void *c, const bh_vault_outbox_entry *e)
{
    find_ctx *f = c;
    if (e->id != f->id) return 0;
    f->found = 1;
    return outbox_row(f->s, e) ? -1 : 1;
}

/* outbox CHAIN show N | outbox CHAIN drop N: one entry, or set it aside.
 * A drop parks the entry (journaled with actor and reason): it is never
 * delivered unless `requeue` puts it back, and nothing is lost. */
static int outbox_entry(const opts *o)
{
    const char *what = o->argv[1], *vault = o->argv[0];
    int drop = !strcmp(what, "drop");
    int x = nargs(o, 3, 3, drop ? "CHAIN drop N" : "CHAIN show N");
    if (x) return x;
    unsigned long long id = entry_id(vault, o->argv[2]);
    if (id == 0)
        return usage("bad_argument", o->argv[2],
                     "'%s' is not an outbox id (N, as printed by `outbox %s`)", o->argv[2], vault);
    if (drop && !o->reason) return usage("missing_argument", "--reason", "drop needs --reason R");
    if ((x = open_data_dir(o))) return x;
    bh_vault *v;
    if ((x = open_vault(o, vault, !drop, &v))) return x;
    /* the entry as `show` prints it: a row in text, JSON for --json or a drop */
    opts jo = *o;
    jo.json = o->json || drop;
    park_ctx pc = {.o = &jo, .v = v, .arr = jo.json ? json_array() : NULL};
    find_ctx f = {.id = id, .s = &pc};
    int rc = bh_vault_outbox_scan_to(v, 0, 0, 0, outbox_find, &f);
    if (rc == 1) rc = BH_OK; /* outbox_find stopped the walk at the entry */
    if (rc == BH_OK && !f.found) {
        json_decref(pc.arr);
        bh_vault_close(v);
        return fail(EXIT_USAGE, "unknown_outbox_entry", o->argv[2],
                    "no outbox entry %llu in vault %s (see vaultctl outbox %s)", id, vault, vault);
    }
    if (rc == BH_OK && drop) {
        char why[BH_VAULT_REASON_MAX + 1];
        snprintf(why, sizeof why, "dropped by %s: %s", actor_of(o), o->reason);
        rc = bh_vault_outbox_park(v, id, o->now, 0, why, actor_of(o));
    }
    if (rc) {
        const char *m = bh_vault_errmsg(v);
        x = fail(EXIT_REFUSED, "refused", o->argv[2], "outbox %s %s/%llu refused: %s", what, vault,
                 id, m[0] ? m : bh_strerror(rc));
        json_decref(pc.arr);
        bh_vault_close(v);
        return x;
    }
    bh_vault_close(v);
    json_t *one = pc.arr ? json_incref(json_array_get(pc.arr, 0)) : NULL;
    json_decref(pc.arr);
    if (!drop) return one ? print_json(one) : EXIT_OK;
    bh_cli_say("%s%s/%llu: set aside in parked (vaultctl requeue %s %llu puts it back)\n",
               o->dry_run ? "dry run: " : "", vault, id, vault, id);
    json_object_set_new(one, "status", json_string("parked"));
    return result(o, one);
}

static int v_outbox(const opts *o)
{
    if (o->argc >= 2 && (!strcmp(o->argv[1], "show") || !strcmp(o->argv[1], "drop")))
        return outbox_entry(o);
    char header[120];
    snprintf(header, sizeof header, "%-8s %-14s %-18s %8s %-10s %s\n", "ID", "FROM", "DELIVER TO",
             "SEQ", "ASSET", "AMOUNT");
    return list_vault(o, header, visit_outbox, "(nothing waiting)");
}

static int v_requeue(const opts *o)
{
    int x = nargs(o, 2, 2, "CHAIN N");
    if (x) return x;
    const char *num = o->argv[1], *slash = strchr(num, '/');
    if (slash) {
        /* CHAIN/N as well, if it names the same vault */
        if ((size_t)(slash - num) != strlen(o->argv[0]) ||
            strncmp(num, o->argv[0], (size_t)(slash - num)))
            return usage("bad_argument", num, "'%s' is not a parked id of vault %s", num,
                         o->argv[0]);
        num = slash + 1;
    }
    char *end;
    errno = 0;
    unsigned long long id = strtoull(num, &end, 10);
    if (!*num || *end || errno || id == 0 || *num == '-')
        return usage("bad_argument", o->argv[1],
                     "'%s' is not a parked id (N, as printed by `parked`)", o->argv[1]);
    if ((x = open_data_dir(o))) return x;
    const char *vn = vault_of(o->argv[0]);
    bh_vault *v;
    if ((x = open_vault(o, vn, 0, &v))) return x;
    char reason[BH_VAULT_REASON_MAX + 1];
    snprintf(reason, sizeof reason, "%s", o->reason ? o->reason : "requeue");
    int rc = bh_vault_outbox_requeue(v, id, o->now, actor_of(o), reason);
    if (rc == BH_ENOTFOUND) {
        bh_vault_close(v);
        return fail(EXIT_USAGE, "unknown_parked", o->argv[1],
                    "no parked entry %llu in vault %s (see vaultctl parked %s)", id, o->argv[0],
                    o->argv[0]);
    }
    if (rc) {
        const char *m = bh_vault_errmsg(v);
        x = fail(EXIT_REFUSED, "refused", o->argv[1], "requeue %s/%llu refused: %s", o->argv[0], id,
                 m[0] ? m : bh_strerror(rc));
        bh_vault_close(v);
        return x;
    }
    bh_vault_close(v);
    bh_cli_say("%s%s/%llu: back in the outbox\n", o->dry_run ? "dry run: " : "", vn, id);
    return result(
        o, json_pack("{s:s, s:I, s:s}", "vault", vn, "id", (json_int_t)id, "status", "requeued"));
}

/* ---- quarantine ---- */

static int freeze_all(const opts *o, int freeze)
{
    int x = nargs(o, 1, 1, "CHAIN");
    if (x) return x;
    if (!o->reason || !*o->reason) return usage("missing_argument", "--reason", "needs --reason R");
    if ((x = open_data_dir(o))) return x;
    uint16_t chain = chain_id_of(o->argv[0]);
    if (!chain)
        return fail(EXIT_USAGE, "unknown_chain", o->argv[0],
                    "unknown chain '%s' (not a vault in %s, nor a chain id 1..65535)", o->argv[0],
                    o->data_dir);
    if (g_nvaults == 0) return fail(EXIT_USAGE, "no_vaults", NULL, "no vaults in %s", o->data_dir);
    int changed = 0, worst = EXIT_OK;
    char lb[48];
    const char *dry = o->dry_run ? "dry run: " : "";
    json_t *vaults = json_array();
    for (size_t i = 0; i < g_nvaults; i++) {
        bh_vault *v;
        if ((x = open_vault(o, g_vaults[i].name, 0, &v))) {
            if (x > worst) worst = x;
            continue;
        }
        int rc = freeze ? bh_vault_freeze(v, chain, o->now, actor_of(o), o->reason)
                        : bh_vault_unfreeze(v, chain, o->now, actor_of(o), o->reason);
        const char *st = NULL;
        if (rc == BH_OK) {
            changed++;
            st = freeze ? "quarantined" : "released";
            bh_cli_say("%svault %s: %s %s\n", dry, g_vaults[i].name, st,
                       chain_label(chain, lb, sizeof lb));
        } else if (rc == BH_EEXIST || rc == BH_ENOTFOUND) {
            st = freeze ? "already_quarantined" : "not_quarantined";
            bh_cli_say("%svault %s: %s was %s\n", dry, g_vaults[i].name,
                       chain_label(chain, lb, sizeof lb),
                       freeze ? "already quarantined" : "not quarantined");
        } else {
            fail(EXIT_REFUSED, "refused", g_vaults[i].name, "vault %s: %s", g_vaults[i].name,
                 bh_vault_errmsg(v));
            if (worst < EXIT_REFUSED) worst = EXIT_REFUSED;
        }
        if (st)
            json_array_append_new(vaults,
                                  json_pack("{s:s, s:s}", "vault", g_vaults[i].name, "status", st));
        bh_vault_close(v);
    }
    if (!changed && worst == EXIT_OK && !freeze)
        worst = fail(EXIT_REFUSED, "not_quarantined", o->argv[0],
                     "chain %s is not quarantined in any vault", o->argv[0]);
    json_t *j = json_pack("{s:i, s:o}", "chain", chain, "vaults", vaults);
    if (j) {
        for (size_t i = 0; i < g_nvaults; i++)
            if (g_vaults[i].id == chain)
                json_object_set_new(j, "chain_name", json_string(g_vaults[i].name));
        if (o->dry_run) json_object_set_new(j, "dry_run", json_true());
    }
    int r = bh_cli_result(j, 0);
    return worst ? worst : r;
}

static int v_freeze(const opts *o)
{
    return freeze_all(o, 1);
}
static int v_unfreeze(const opts *o)
{
    return freeze_all(o, 0);
}

/* ---- limits ---- */

typedef struct {
    const opts *o;
    bh_vault *v;
    unsigned dec;
    json_t *arr;
} lim_ctx;

static void bucket_str(char *out, size_t cap, const bh_vault_bucket *b, unsigned dec)
{
    if (!b->capacity) {
        snprintf(out, cap, "none");
        return;
    }
    char c[48], r[48], l[48];
    units(c, sizeof c, b->capacity, dec);
    units(r, sizeof r, b->refill, dec);
    units(l, sizeof l, b->level, dec);
    snprintf(out, cap, "%s +%s/s (level %s)", c, r, l);
}

static json_t *bucket_json(const bh_vault_bucket *b)
{
    return json_pack("{s:o,s:o,s:o,s:o}", "capacity", jamount(b->capacity), "refill",
                     jamount(b->refill), "level", jamount(b->level), "debt", jamount(b->debt));
}

static int lim_lane(void *c, const bh_bytes32 *t, uint16_t chain, const bh_vault_lane *l)
{
    (void)t;
    lim_ctx *s = c;
    char cap[64], win[64], in[192], out[192], lb[48];
    if (s->o->json) {
        json_array_append_new(s->arr,
                              json_pack("{s:i,s:o,s:o,s:o,s:o}", "chain", chain, "cap",
                                        jamount(l->cap), "window", jamount(l->window_limit), "in",
                                        bucket_json(&l->in), "out", bucket_json(&l->out)));
        return 0;
    }
    if (l->cap)
        units(cap, sizeof cap, l->cap, s->dec);
    else
        snprintf(cap, sizeof cap, "none");
    if (l->window_limit)
        units(win, sizeof win, l->window_limit, s->dec);
    else
        snprintf(win, sizeof win, "none");
    bucket_str(in, sizeof in, &l->in, s->dec);
    bucket_str(out, sizeof out, &l->out, s->dec);
    printf("    lane %-14s cap %-12s window %-12s in %s  out %s\n",
           chain_label(chain, lb, sizeof lb), cap, win, in, out);
    return 0;
}

typedef struct {
    const opts *o;
    bh_vault *v;
    const bh_bytes32 *only;
    json_t *arr;
    int rc;
} lim_all;

static int lim_asset(void *c, const bh_bytes32 *t, const bh_vault_asset *a)
{
    lim_all *s = c;
    if (s->only && memcmp(s->only, t, 32)) return 0;
    char hx[67], big[64], mn[64], lb[80];
    bh_u128 min;
    token_hex(hx, t);
    if (a->big_threshold)
        units(big, sizeof big, a->big_threshold, a->decimals);
    else
        snprintf(big, sizeof big, "none");
    int rc = min_units(mn, sizeof mn, s->v, t, a->decimals, &min);
    if (rc) s->rc = rc;
    lim_ctx lc = {s->o, s->v, a->decimals, s->o->json ? json_array() : NULL};
    if (!s->o->json)
        printf("  asset %s: big_threshold %s  big_delay %" PRIu64 "s  min_amount %s\n",
               token_label(lb, sizeof lb, t, a->symbol), big, a->big_delay, mn);
    rc = bh_vault_each_lane(s->v, t, lim_lane, &lc);
    if (rc) s->rc = rc;
    if (s->o->json)
        json_array_append_new(s->arr,
                              json_pack("{s:s,s:s,s:o,s:I,s:o,s:o}", "token", hx, "symbol",
                                        a->symbol, "big_threshold", jamount(a->big_threshold),
                                        "big_delay", (json_int_t)a->big_delay, "min_amount",
                                        jamount(min), "lanes", lc.arr));
    return 0;
}

static int lim_chain(void *c, uint16_t chain, uint32_t limit, uint32_t count)
{
    lim_all *s = c;
    char lb[48];
    if (s->o->json)
        json_array_append_new(s->arr, json_pack("{s:i,s:I,s:I}", "chain", chain, "msg_limit",
                                                (json_int_t)limit, "count_24h", (json_int_t)count));
    else if (limit)
        printf("  source %-14s msg_limit %u per 24 h, counted %u\n",
               chain_label(chain, lb, sizeof lb), limit, count);
    else
        printf("  source %-14s msg_limit default, counted %u\n", chain_label(chain, lb, sizeof lb),
               count);
    return 0;
}

static const char *const k_amount_keys[] = {"big_threshold", "min_amount",  "cap",
                                            "window",        "in_capacity", "in_refill",
                                            "out_capacity",  "out_refill"};

static int key_is_amount(const char *name)
{
    for (size_t i = 0; i < sizeof k_amount_keys / sizeof k_amount_keys[0]; i++)
        if (!strcmp(name, k_amount_keys[i])) return 1;
    return 0;
}

static int parse_seconds(bh_u128 *out, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (!*s || *s == '-' || errno) return -1;
    unsigned long long mul = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end || n > UINT32_MAX / mul) return -1;
    *out = (bh_u128)(n * mul);
    return 0;
}

static int limits_set(const opts *o, bh_vault *v, const bh_bytes32 *tok, unsigned dec)
{
    /* validate every KEY=VALUE first: a typo must not half-apply the command */
    char keys[16][48];
    bh_u128 vals[16];
    int n = o->argc - 2;
    if (n > 16) return usage("bad_argument", o->argv[18], "at most 16 KEY=VALUE per command");
    for (int i = 0; i < n; i++) {
        const char *kv = o->argv[i + 2], *eq = strchr(kv, '=');
        if (!eq || eq == kv || !eq[1] || (size_t)(eq - kv) >= 32)
            return usage("bad_argument", kv, "'%s' is not KEY=VALUE", kv);
        char name[32], full[48];
        memcpy(name, kv, (size_t)(eq - kv));
        name[eq - kv] = 0;
        int vol = !strcmp(name, "vol_percent") || !strcmp(name, "vol_window") ||
                  !strcmp(name, "tighten_percent") || !strcmp(name, "calm");
        if (!tok && (!strncmp(name, "value_", 6) || !strncmp(name, "flow_cancel", 11) || vol)) {
            /* vault value keys: .ID or .ID.ID, each a chain name or id */
            char *d1 = strchr(name, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
            if (d1) *d1 = 0;
            if (d2) *d2 = 0;
            uint16_t a = d1 ? chain_id_of(d1 + 1) : 0, b = d2 ? chain_id_of(d2 + 1) : 0;
            if ((d1 && !a) || (d2 && !b))
                return fail(EXIT_USAGE, "unknown_chain", kv, "unknown chain in '%s'", kv);
            if (d2)
                snprintf(full, sizeof full, "%s.%u.%u", name, a, b);
            else if (d1)
                snprintf(full, sizeof full, "%s.%u", name, a);
            else
                snprintf(full, sizeof full, "%s", name);
            int secs = !strcmp(name, "vol_window") || !strcmp(name, "calm");
            if (secs ? parse_seconds(&vals[i], eq + 1)
                     : bh_u128_from_dec(&vals[i], eq + 1, strlen(eq + 1)) != BH_OK)
                return usage("bad_argument", kv, "bad value in '%s' (%s)", kv,
                             secs  ? "seconds, e.g. 600 or 10m"
                             : vol ? "a percent, digits"
                                   : "quote units, digits");
            uint16_t ids[MAX_VAULTS];
            const char *names[MAX_VAULTS];
            for (size_t k = 0; k < g_nvaults; k++) {
                ids[k] = g_vaults[k].id;
                names[k] = g_vaults[k].name;
            }
            char why[512];
            if (bh_config_value_limit_check(full, vals[i], bh_vault_chain_id(v), ids, names,
                                            g_nvaults, why, sizeof why) != BH_OK)
                return fail(EXIT_USAGE, "limit_invalid", kv, "%s: %s", kv, why);
            memcpy(keys[i], full, sizeof full);
            continue;
        }
        char *dot = strchr(name, '.');
        uint16_t chain = 0;
        if (dot) {
            *dot = 0;
            chain = chain_id_of(dot + 1);
            if (!chain)
                return fail(EXIT_USAGE, "unknown_chain", kv, "unknown chain '%s' in '%s'", dot + 1,
                            kv);
        }
        int lane_key = !strcmp(name, "cap") || !strcmp(name, "window") ||
                       !strncmp(name, "in_", 3) || !strncmp(name, "out_", 4);
        int ok;
        if (!tok)
            ok = !strcmp(name, "msg_limit");
        else if (lane_key)
            ok = key_is_amount(name) && chain;
        else
            ok = (!strcmp(name, "big_threshold") || !strcmp(name, "big_delay") ||
                  !strcmp(name, "min_amount") || !strcmp(name, "price") ||
                  !strcmp(name, "price_max_age") || !strcmp(name, "price_max_jump")) &&
                 !chain;
        if (!ok)
            return usage("unknown_key", kv, "unknown key '%.*s' for %s", (int)(eq - kv), kv,
                         tok ? "an asset" : "the vault");
        int bad;
        if (!strcmp(name, "big_delay") || !strcmp(name, "price_max_age"))
            bad = parse_seconds(&vals[i], eq + 1);
        else if (!strcmp(name, "price") || !strcmp(name, "price_max_jump"))
            bad = bh_u128_from_dec(&vals[i], eq + 1, strlen(eq + 1)) != BH_OK;
        else if (!strcmp(name, "msg_limit")) {
            bad =
                bh_u128_from_dec(&vals[i], eq + 1, strlen(eq + 1)) != BH_OK || vals[i] > UINT32_MAX;
        } else
            bad = parse_units(&vals[i], eq + 1, dec);
        if (bad)
            return usage("bad_argument", kv, "bad value in '%s'%s", kv,
                         key_is_amount(name) ? " (token units, at most the asset's decimals)" : "");
        if (chain)
            snprintf(full, sizeof full, "%s.%u", name, chain);
        else
            snprintf(full, sizeof full, "%s", name);
        /* an asset's limit passes the check the config's limits pass: a
         * lane names another chain this data directory has a vault for */
        if (tok) {
            uint16_t ids[MAX_VAULTS];
            const char *names[MAX_VAULTS];
            for (size_t k = 0; k < g_nvaults; k++) {
                ids[k] = g_vaults[k].id;
                names[k] = g_vaults[k].name;
            }
            char why[512];
            if (bh_config_limit_check(full, vals[i], bh_vault_chain_id(v), bh_vault_name(v), ids,
                                      names, g_nvaults, why, sizeof why) != BH_OK)
                return fail(EXIT_USAGE, "limit_invalid", kv, "%s: %s", kv, why);
        }
        memcpy(keys[i], full, sizeof full);
    }
    json_t *set = json_array();
    for (int i = 0; i < n; i++) {
        int rc = bh_vault_set_limit(v, tok, keys[i], vals[i], o->now, actor_of(o), o->reason);
        if (rc) {
            json_decref(set);
            return fail(EXIT_REFUSED, "refused", o->argv[i + 2], "setting %s refused: %s", keys[i],
                        bh_vault_errmsg(v)[0] ? bh_vault_errmsg(v) : bh_strerror(rc));
        }
        bh_cli_say("%s%s: %s set\n", o->dry_run ? "dry run: " : "", bh_vault_name(v),
                   o->argv[i + 2]);
        json_array_append_new(set, json_pack("{s:s, s:s, s:o}", "key", keys[i], "given",
                                             o->argv[i + 2], "value", jamount(vals[i])));
    }
    return result(o, json_pack("{s:s, s:s, s:o}", "vault", bh_vault_name(v), "asset",
                               tok ? o->argv[1] : "vault", "set", set));
}

/* ---- values ---- */

typedef struct {
    const opts *o;
    bh_vault *v;
    json_t *arr;
    int rc;
} values_ctx;

static int values_limit_row(void *c, const char *key, bh_u128 limit, bh_u128 effective,
                            bh_u128 used)
{
    values_ctx *s = c;
    char l[BH_U128_DEC_MAX], e[BH_U128_DEC_MAX], u[BH_U128_DEC_MAX];
    int window = !strncmp(key, "value_window", 12) || !strncmp(key, "value_lane", 10);
    if (s->o->json) {
        json_t *r = json_pack("{s:s, s:o, s:o}", "key", key, "limit", jamount(limit), "effective",
                              jamount(effective));
        if (window) json_object_set_new(r, "used_24h", jamount(used));
        json_array_append_new(s->arr, r);
        return 0;
    }
    bh_u128_to_dec(l, limit);
    bh_u128_to_dec(e, effective);
    bh_u128_to_dec(u, used);
    printf("  %-26s limit %-14s now %-14s", key, l, e);
    if (window) printf(" used (24 h) %s", u);
    printf("\n");
    return 0;
}

static int values_asset_row(void *c, const bh_bytes32 *token, const bh_vault_asset *a)
{
    values_ctx *s = c;
    bh_vault_price p;
    bh_u128 use = 0;
    char why[192] = "", tl[80], hx[67];
    if ((s->rc = bh_vault_price_get(s->v, &p, token)) != BH_OK) return 1;
    int prc = bh_vault_price_usable(s->v, &use, token, s->o->now, why, sizeof why);
    const char *source = p.fixed ? "fixed" : p.last || p.suspect ? "observed" : "none";
    token_label(tl, sizeof tl, token, a->symbol[0] ? a->symbol : NULL);
    token_hex(hx, token);
    long long age = p.fixed || !p.updated_at
                        ? -1
                        : (long long)(s->o->now > p.updated_at ? s->o->now - p.updated_at : 0);
    if (s->o->json) {
        json_t *r = json_pack("{s:s, s:s, s:s, s:o, s:o, s:b}", "token", hx, "symbol", a->symbol,
                              "source", source, "fixed", jamount(p.fixed), "observed",
                              jamount(p.last), "usable", prc == BH_OK);
        json_object_set_new(r, "price", prc == BH_OK ? jamount(use) : json_null());
        json_object_set_new(r, "age_s", age >= 0 ? json_integer(age) : json_null());
        json_object_set_new(r, "updated_at", json_integer((json_int_t)p.updated_at));
        json_object_set_new(r, "held_back", jamount(p.suspect));
        if (prc != BH_OK) json_object_set_new(r, "why", json_string(why));
        json_array_append_new(s->arr, r);
        return 0;
    }
    char pr[BH_U128_DEC_MAX], ag[32] = "-";
    bh_u128_to_dec(pr, use);
    if (age >= 0) snprintf(ag, sizeof ag, "%llds", age);
    printf("  %-24s %-8s age %-9s %s\n", tl, source, ag, prc == BH_OK ? pr : why);
    return 0;
}

static int v_values(const opts *o)
{
    int x = nargs(o, 1, 1, "CHAIN");
    if (x) return x;
    x = open_data_dir(o);
    if (x) return x;
    bh_vault *v;
    if ((x = open_vault(o, o->argv[0], 1, &v))) return x;
    values_ctx s = {o, v, json_array(), 0};
    bh_vault_segment seg;
    int rc = bh_vault_segment_get(v, &seg, o->now);
    if (!rc && !o->json) {
        printf("vault %s: segment %s", bh_vault_name(v), bh_vault_segment_name(seg.state));
        if (seg.percent < 100)
            printf(" (limits at %u%% since %llu, relaxing at %llu unless the price moves again)",
                   seg.percent, (unsigned long long)seg.since, (unsigned long long)seg.until);
        printf("\nvalue limits (quote units)\n");
    }
    if (!rc) rc = bh_vault_each_value_limit(v, o->now, values_limit_row, &s);
    if (!rc && !o->json) printf("prices (quote units per whole token)\n");
    json_t *limits = s.arr;
    s.arr = json_array();
    if (!rc) rc = bh_vault_each_asset(v, values_asset_row, &s);
    if (rc == 1) rc = s.rc;
    json_t *j = json_pack("{s:s, s:{s:s, s:i, s:I, s:I}, s:o, s:o}", "vault", bh_vault_name(v),
                          "segment", "state", bh_vault_segment_name(seg.state), "percent",
                          (int)seg.percent, "since", (json_int_t)seg.since, "until",
                          (json_int_t)seg.until, "limits", limits, "prices", s.arr);
    bh_vault_close(v);
    if (rc) {
        json_decref(j);
        return fail(EXIT_REFUSED, "vault_unreadable", o->argv[0], "vault %s: %s", o->argv[0],
                    bh_strerror(rc));
    }
    if (o->json) return print_json(j);
    json_decref(j);
    return EXIT_OK;
}

/* Where each limit's value came from: the journal's last limits entry
 * per (asset, key), "node"/"config" when the node applied its config. */
typedef struct {
    const bh_bytes32 *only; /* one asset, or NULL */
    json_t *by_key;         /* "token/key" -> entry */
} prov_ctx;

static int prov_cb(void *ctx, const bh_vault_journal_entry *e)
{
    prov_ctx *p = ctx;
    if (e->kind != BH_VJ_LIMITS) return 0;
    if (p->only && memcmp(&e->token, p->only, sizeof *p->only)) return 0;
    const char *eq = strchr(e->reason, '=');
    if (!eq || eq == e->reason) return 0;
    char key[48], val[64] = "", tok[67], id[120];
    snprintf(key, sizeof key, "%.*s", (int)(eq - e->reason), e->reason);
    const char *why = strstr(eq, ": ");
    snprintf(val, sizeof val, "%.*s", (int)(why ? (size_t)(why - eq - 1) : strlen(eq + 1)), eq + 1);
    static const bh_bytes32 none;
    int vault_wide = !memcmp(&e->token, &none, sizeof none);
    token_hex(tok, &e->token);
    snprintf(id, sizeof id, "%s/%s", vault_wide ? "vault" : tok, key);
    char ts[40];
    fmt_time(ts, sizeof ts, e->time);
    int config = !strcmp(e->actor, "node") && why && !strcmp(why + 2, "config");
    json_object_set_new(p->by_key, id,
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "asset",
                                  vault_wide ? "vault" : tok, "key", key, "value", val, "source",
                                  config ? "config" : "operator", "actor", e->actor, "time", ts,
                                  "journal", (json_int_t)e->id, "reason", why ? why + 2 : ""));
    return 0;
}

static int v_limits(const opts *o)
{
    int x = nargs(o, 1, 64, "CHAIN [ASSET [KEY=VALUE...]]");
    if (x) return x;
    x = open_data_dir(o);
    if (x) return x;
    bh_vault *v;
    int writing = o->argc > 2;
    if ((x = open_vault(o, o->argv[0], !writing, &v))) return x;
    bh_bytes32 tok;
    bh_vault_asset a;
    int vault_wide = o->argc > 1 && !strcmp(o->argv[1], "vault");
    if (o->argc > 1 && !vault_wide && (x = resolve_asset(v, o->argv[1], &tok, &a))) {
        bh_vault_close(v);
        return x;
    }
    if (writing) {
        x = limits_set(o, v, vault_wide ? NULL : &tok, vault_wide ? 0 : a.decimals);
        bh_vault_close(v);
        return x;
    }
    bh_vault_info info;
    int rc = bh_vault_info_get(v, &info);
    lim_all s = {o, v, o->argc > 1 && !vault_wide ? &tok : NULL, json_array(), 0};
    json_t *chains = json_array();
    if (!o->json) {
        printf("vault %s: msg_limit (default per source chain, 24 h) %s", info.name,
               info.msg_limit_default ? "" : "none\n");
        if (info.msg_limit_default) printf("%u\n", info.msg_limit_default);
    }
    if (!rc && !vault_wide) rc = bh_vault_each_asset(v, lim_asset, &s);
    if (!rc) rc = s.rc;
    json_t *assets = s.arr;
    s.arr = chains;
    if (!rc && (vault_wide || o->argc == 1)) rc = bh_vault_each_chain(v, o->now, lim_chain, &s);
    prov_ctx pv = {o->argc > 1 && !vault_wide ? &tok : NULL, json_object()};
    if (!rc) rc = bh_vault_each_journal(v, 1, prov_cb, &pv);
    bh_vault_close(v);
    json_t *prov = json_array();
    const char *pk;
    json_t *pe;
    json_object_foreach(pv.by_key, pk, pe) json_array_append(prov, pe);
    json_decref(pv.by_key);
    if (rc) {
        json_decref(assets);
        json_decref(chains);
        json_decref(prov);
        return fail(EXIT_REFUSED, "vault_unreadable", o->argv[0], "vault %s: %s", o->argv[0],
                    bh_strerror(rc));
    }
    if (o->json)
        return print_json(json_pack("{s:s,s:I,s:o,s:o,s:o}", "vault", info.name, "msg_limit",
                                    (json_int_t)info.msg_limit_default, "assets", assets, "chains",
                                    chains, "provenance", prov));
    if (json_array_size(prov))
        printf("set by (the last change of each limit; amounts in the smallest unit):\n");
    size_t i;
    json_t *e;
    json_array_foreach(prov, i, e)
    {
        const char *reason = json_string_value(json_object_get(e, "reason"));
        int config = !strcmp(json_string_value(json_object_get(e, "source")), "config");
        printf("  %-44s %s=%s  %s %s, journal %" JSON_INTEGER_FORMAT "%s%s\n",
               json_string_value(json_object_get(e, "asset")),
               json_string_value(json_object_get(e, "key")),
               json_string_value(json_object_get(e, "value")),
               config ? "the config, applied" : json_string_value(json_object_get(e, "actor")),
               json_string_value(json_object_get(e, "time")),
               json_integer_value(json_object_get(e, "journal")),
               !config && reason && *reason ? ": " : "", !config && reason ? reason : "");
    }
    json_decref(assets);
    json_decref(chains);
    json_decref(prov);
    return EXIT_OK;
}

/* ---- journal, audit, export ---- */

static const char *const k_jkinds[] = {"?",       "accept",    "delay",  "hold",   "reject",
                                       "release", "drop",      "retime", "freeze", "unfreeze",
                                       "limits",  "asset_add", "init",   "park",   "requeue",
                                       "migrate", "cursor",    "price",  "segment"};

static const char *jkind_name(uint32_t k)
{
    return k < sizeof k_jkinds / sizeof k_jkinds[0] ? k_jkinds[k] : "?";
}

/* Kinds that are about one transfer message (key, token, amount). */
static int jkind_has_msg(uint32_t k)
{
    return (k >= BH_VJ_ACCEPT && k <= BH_VJ_RETIME) || k == BH_VJ_PARK || k == BH_VJ_REQUEUE;
}

static json_t *journal_json(const bh_vault_journal_entry *e)
{
    char hx[67], dg[67], em[67];
    token_hex(hx, &e->token);
    hash_hex(dg, (const bh_bytes32 *)&e->digest);
    token_hex(em, &e->emitter);
    json_t *j =
        json_pack("{s:I,s:I,s:s,s:s,s:s}", "id", (json_int_t)e->id, "time", (json_int_t)e->time,
                  "kind", jkind_name(e->kind), "actor", e->actor, "reason", e->reason);
    if (jkind_has_msg(e->kind)) {
        json_object_set_new(j, "emitter_chain", json_integer(e->emitter_chain));
        json_object_set_new(j, "emitter", json_string(em));
        json_object_set_new(j, "sequence", json_integer((json_int_t)e->sequence));
        json_object_set_new(j, "digest", json_string(dg));
        json_object_set_new(j, "token", json_string(hx));
        json_object_set_new(j, "amount", jamount(e->amount));
        json_object_set_new(j, "ref", json_integer((json_int_t)e->ref));
    }
    if (e->kind == BH_VJ_REJECT)
        json_object_set_new(j, "reject", json_string(bh_reject_name((bh_reject)e->reject)));
    if (e->effects) {
        json_t *ef = json_object();
        if (e->effects & BH_VJ_LOCK_ADD) json_object_set_new(ef, "locked", json_string("+"));
        if (e->effects & BH_VJ_LOCK_SUB) json_object_set_new(ef, "locked", json_string("-"));
        if (e->effects & BH_VJ_LANE_DEC)
            json_object_set_new(ef, "dec_chain", json_integer(e->lane_dec));
        if (e->effects & BH_VJ_LANE_INC)
            json_object_set_new(ef, "inc_chain", json_integer(e->lane_inc));
        json_object_set_new(j, "effects", ef);
    }
    if (e->kind >= BH_VJ_FREEZE && e->kind <= BH_VJ_INIT)
        json_object_set_new(j, "chain", json_integer(e->chain));
    return j;
}

typedef struct {
    const opts *o;
    bh_vault *v;
    json_t *arr;
    size_t n;
} jr_ctx;

static int journal_row(void *c, const bh_vault_journal_entry *e)
{
    jr_ctx *s = c;
    s->n++;
    if (s->o->json || !s->v) {
        json_array_append_new(s->arr, journal_json(e));
        return 0;
    }
    char ts[32], what[200] = "", lb1[48], lb2[48];
    fmt_time(ts, sizeof ts, e->time);
    bh_vault_asset a;
    unsigned dec = 0;
    if (jkind_has_msg(e->kind) && bh_vault_asset_get(s->v, &a, &e->token) == BH_OK)
        dec = a.decimals;
    char amt[64];
    units(amt, sizeof amt, e->amount, dec);
    if (e->kind <= BH_VJ_DROP)
        snprintf(
            what, sizeof what, "%s seq %" PRIu64 " %s -> chain %s",
            chain_label(e->emitter_chain, lb1, sizeof lb1), e->sequence, amt,
            e->kind == BH_VJ_REJECT ? bh_reject_name((bh_reject)e->reject)
            : e->effects
                ? (e->effects & BH_VJ_LANE_INC ? chain_label(e->lane_inc, lb2, sizeof lb2) : "home")
                : "-");
    else if (e->kind == BH_VJ_RETIME)
        fmt_time(what, sizeof what, (uint64_t)e->amount);
    else if (e->kind == BH_VJ_PARK || e->kind == BH_VJ_REQUEUE)
        snprintf(what, sizeof what, "%s seq %" PRIu64 " %s outbox %" PRIu64,
                 chain_label(e->emitter_chain, lb1, sizeof lb1), e->sequence, amt, e->ref);
    else if (e->kind == BH_VJ_FREEZE || e->kind == BH_VJ_UNFREEZE)
        snprintf(what, sizeof what, "chain %s", chain_label(e->chain, lb1, sizeof lb1));
    printf("%6" PRIu64 "  %s  %-9s %-48s %s%s%s\n", e->id, ts, jkind_name(e->kind), what, e->actor,
           e->actor[0] ? ": " : "", e->reason);
    return 0;
}

static int v_journal(const opts *o)
{
    int x = nargs(o, 1, 1, "CHAIN");
    if (x) return x;
    uint64_t since = 1;
    if (o->since) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(o->since, &end, 10);
        if (!*o->since || *end || errno || *o->since == '-')
            return usage("bad_argument", "--since", "--since needs a journal id, not '%s'",
                         o->since);
        since = n;
    }
    if ((x = open_data_dir(o))) return x;
    bh_vault *v;
    if ((x = open_vault(o, o->argv[0], 1, &v))) return x;
    jr_ctx s = {o, v, json_array(), 0};
    int rc = bh_vault_each_journal(v, since, journal_row, &s);
    bh_vault_close(v);
    if (rc) {
        json_decref(s.arr);
        return fail(EXIT_REFUSED, "vault_unreadable", o->argv[0],
                    "vault %s: journal unreadable: %s", o->argv[0], bh_strerror(rc));
    }
    if (o->json) return print_json(s.arr);
    json_decref(s.arr);
    return EXIT_OK;
}

static int audit_journals(const opts *o, json_t *arr, int *worst_out);
static int audit_chains(const opts *o);

/* The envelope's error for an audit that disagreed: the first difference. */
static void audit_failed(const json_t *arr)
{
    size_t i;
    const json_t *r;
    json_array_foreach(arr, i, r)
    {
        if (json_is_true(json_object_get(r, "ok"))) continue;
        const char *vault = json_string_value(json_object_get(r, "vault"));
        fail(EXIT_REFUSED, "audit_mismatch", vault, "vault %s: MISMATCH: %s", vault ? vault : "?",
             json_string_value(json_object_get(r, "difference")));
        return;
    }
}

static int v_audit(const opts *o)
{
    int x = nargs(o, 0, 1, "CHAIN");
    if (x) return x;
    if (o->config) return audit_chains(o);
    if ((x = open_data_dir(o))) return x;
    json_t *arr = json_array();
    int worst = EXIT_OK;
    if ((x = audit_journals(o, arr, &worst))) return x;
    if (worst) audit_failed(arr);
    if (o->json) {
        int pj = print_json(arr);
        return pj ? pj : worst;
    }
    json_decref(arr);
    return worst;
}

/* The journal replay of each vault (or CHAIN's) into arr, printed unless
 * --json. Returns: 0, or an exit status that ends the verb (arr freed). */
static int audit_journals(const opts *o, json_t *arr, int *worst_out)
{
    int x, worst = EXIT_OK;
    size_t n = o->argc ? 1 : g_nvaults;
    for (size_t i = 0; i < n; i++) {
        const char *name = o->argc ? o->argv[0] : g_vaults[i].name;
        bh_vault *v;
        if ((x = open_vault(o, name, 1, &v))) {
            if (o->argc) {
                json_decref(arr);
                return x;
            }
            /* one broken vault must not hide the others' results */
            worst = EXIT_REFUSED;
            if (o->json)
                json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "vault", name, "ok", 0,
                                                     "difference", "cannot open the vault"));
            else
                printf("vault %s: ERROR: cannot open the vault (see above)\n", name);
            continue;
        }
        char diff[512];
        int rc = bh_vault_audit(v, diff, sizeof diff);
        bh_vault_info info;
        if (bh_vault_info_get(v, &info)) memset(&info, 0, sizeof info);
        bh_vault_close(v);
        if (rc && rc != BH_ECORRUPT) snprintf(diff, sizeof diff, "%s", bh_strerror(rc));
        if (rc) worst = EXIT_REFUSED;
        if (o->json)
            json_array_append_new(
                arr, json_pack("{s:s,s:b,s:I,s:s}", "vault", name, "ok", !rc, "journal_entries",
                               (json_int_t)(info.next_journal - 1), "difference", diff));
        else if (rc)
            printf("vault %s: MISMATCH: %s\n", name, diff);
        else
            printf("vault %s: ok (%" PRIu64 " journal entries replayed)\n", name,
                   info.next_journal - 1);
    }
    *worst_out = worst;
    return EXIT_OK;
}

/* Print one reconciliation document (bh_reconcile_read / _audit); only
 * CHAIN's vault if given. Returns: the number of lines not ok. */
static size_t print_recon(const opts *o, const json_t *doc, const char *only)
{
    size_t bad = 0, i, k;
    const json_t *r, *l;
    json_array_foreach(doc, i, r)
    {
        const char *chain = json_string_value(json_object_get(r, "chain"));
        int shown = 0;
        json_array_foreach(json_object_get(r, "lines"), k, l)
        {
            const char *vault = json_string_value(json_object_get(l, "vault"));
            const char *status = json_string_value(json_object_get(l, "status"));
            if (only && (!vault || strcmp(vault, only))) continue;
            int ok = status && !strcmp(status, "ok");
            bad += !ok;
            if (o->json) continue;
            if (!shown++)
                printf("chain %s: block %lld%s\n", chain ? chain : "?",
                       (long long)json_integer_value(json_object_get(r, "block")),
                       json_is_true(json_object_get(r, "settled")) ? "" : " (settling)");
            const char *lane = json_string_value(json_object_get(l, "lane"));
            printf("  %s vault %s %s%s%s: chain %s ledger %s in flight -%s/+%s: %s%s%s%s\n",
                   json_string_value(json_object_get(l, "check")), vault,
                   json_string_value(json_object_get(l, "asset")), lane && *lane ? " lane " : "",
                   lane ? lane : "", json_string_value(json_object_get(l, "onchain")),
                   json_string_value(json_object_get(l, "ledger")),
                   json_string_value(json_object_get(l, "in_flight_below")),
                   json_string_value(json_object_get(l, "in_flight_above")),
                   ok ? "ok" : "MISMATCH ", ok ? "" : status, ok ? "" : ", drift ",
                   ok ? "" : json_string_value(json_object_get(l, "drift")));
        }
    }
    return bad;
}

static int audit_chains(const opts *o)
{
    bh_config *cfg = NULL;
    char e[600];
    int rc = bh_config_load(&cfg, e, sizeof e, o->config);
    if (rc)
        return fail(rc == BH_ENOMEM ? EXIT_ENV : EXIT_USAGE,
                    rc == BH_ENOMEM ? "out_of_memory" : "config_invalid", "--config", "%s",
                    e[0] ? e : bh_strerror(rc));
    opts oc = *o;
    oc.data_dir = cfg->data_dir;
    int x = open_data_dir(&oc);
    if (x) {
        bh_config_destroy(cfg);
        return x;
    }
    json_t *journal = json_array();
    int worst = EXIT_OK;
    if ((x = audit_journals(&oc, journal, &worst))) {
        bh_config_destroy(cfg);
        return x;
    }
    json_t *chains = NULL;
    size_t bad = 0;
    rc = bh_reconcile_audit(&chains, &bad, e, sizeof e, cfg, 30000);
    bh_config_destroy(cfg);
    if (rc) {
        json_decref(journal);
        return fail(EXIT_REFUSED, "chain_audit_failed", NULL, "audit against the chains: %s", e);
    }
    if (worst) audit_failed(journal);
    bad = print_recon(o, chains, o->argc ? vault_of(o->argv[0]) : NULL);
    if (bad) {
        worst = EXIT_REFUSED;
        fail(EXIT_REFUSED, "reconcile_mismatch", NULL,
             "%zu line%s of the audit against the chains not ok", bad, bad == 1 ? "" : "s");
    }
    if (o->json) {
        int pj = print_json(json_pack("{s:o,s:o}", "journal", journal, "chains", chains));
        return pj ? pj : worst;
    }
    json_decref(journal);
    json_decref(chains);
    return worst;
}

static void print_portal(const json_t *p)
{
    char nb[32], tb[40];
    json_int_t id = json_integer_value(json_object_get(p, "chain_id"));
    uint64_t at = (uint64_t)json_integer_value(json_object_get(p, "read_at"));
    uint64_t now = (uint64_t)time(NULL);
    printf("%s, read %llu s ago\n", chain_label((uint16_t)id, nb, sizeof nb),
           (unsigned long long)(now > at ? now - at : 0));
    size_t i;
    const json_t *x;
    printf("  portal: %s\n", json_is_true(json_object_get(p, "paused")) ? "PAUSED" : "running");
    json_array_foreach(json_object_get(p, "paused_lanes"), i, x)
        printf("  lane paused: %s\n", chain_label((uint16_t)json_integer_value(x), nb, sizeof nb));
    json_array_foreach(json_object_get(p, "cursed"), i, x)
    {
        const char *who =
            chain_label((uint16_t)json_integer_value(json_object_get(x, "chain")), nb, sizeof nb);
        long long round = (long long)json_integer_value(json_object_get(x, "round"));
        if (json_is_true(json_object_get(x, "lifting"))) {
            fmt_time(tb, sizeof tb, (uint64_t)json_integer_value(json_object_get(x, "lift_at")));
            printf("  CURSED: %s (round %lld), lift due %s unless vetoed\n", who, round, tb);
        } else {
            printf("  CURSED: %s (round %lld)\n", who, round);
        }
    }
    const json_t *set = json_object_get(p, "set"), *prev = json_object_get(p, "previous_set");
    long long me = (long long)json_integer_value(json_object_get(set, "signer"));
    printf("  attester set %lld, quorum %lld: ",
           (long long)json_integer_value(json_object_get(set, "index")),
           (long long)json_integer_value(json_object_get(set, "quorum")));
    if (me >= 0)
        printf("this node signs as %lld\n", me);
    else
        printf("this node is not a member\n");
    uint64_t until = (uint64_t)json_integer_value(json_object_get(prev, "until"));
    if (until > now) {
        long long pm = (long long)json_integer_value(json_object_get(prev, "signer"));
        fmt_time(tb, sizeof tb, until);
        printf("  previous set %lld valid until %s",
               (long long)json_integer_value(json_object_get(prev, "index")), tb);
        if (pm >= 0)
            printf(": this node signs as %lld there\n", pm);
        else
            printf("\n");
    }
    const json_t *c = json_object_get(p, "curse");
    printf("  curse: %lld vote(s) curse a chain; a lift takes effect %lld s after the quorum\n",
           (long long)json_integer_value(json_object_get(c, "quorum")),
           (long long)json_integer_value(json_object_get(c, "lift_delay")));
}

static int v_portals(const opts *o)
{
    int x = nargs(o, 0, 1, "CHAIN");
    if (x) return x;
    if ((x = open_data_dir(o))) return x;
    uint16_t only = 0;
    if (o->argc && !(only = chain_id_of(o->argv[0])))
        return fail(EXIT_USAGE, "unknown_chain", o->argv[0], "no chain '%s' here", o->argv[0]);
    json_t *doc = NULL;
    char e[600];
    int rc = bh_node_portals_read(&doc, e, sizeof e, o->data_dir);
    if (rc) return fail(EXIT_REFUSED, "node_store_unreadable", NULL, "%s", e);
    json_t *keep = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(doc, i, p)
    {
        json_int_t id = json_integer_value(json_object_get(p, "chain_id"));
        if (only && id != only) continue;
        for (size_t j = 0; j < g_nvaults; j++)
            if (g_vaults[j].id == id)
                json_object_set_new(p, "chain", json_string(g_vaults[j].name));
        json_array_append(keep, p);
    }
    json_decref(doc);
    if (o->json) return print_json(keep) ? EXIT_ENV : EXIT_OK;
    if (!json_array_size(keep)) printf("no Portal read yet (the node has not watched a chain)\n");
    json_array_foreach(keep, i, p) print_portal(p);
    json_decref(keep);
    return EXIT_OK;
}

static int v_reconciliation(const opts *o)
{
    int x = nargs(o, 0, 1, "CHAIN");
    if (x) return x;
    if ((x = open_data_dir(o))) return x;
    json_t *doc = NULL;
    char e[600];
    int rc = bh_reconcile_read(&doc, e, sizeof e, o->data_dir, NULL);
    if (rc) return fail(EXIT_REFUSED, "node_store_unreadable", NULL, "%s", e);
    /* the node store knows chain ids; the vaults know their names */
    size_t i, k;
    json_t *r, *l;
    json_array_foreach(doc, i, r)
    {
        uint16_t cid = (uint16_t)json_integer_value(json_object_get(r, "chain_id"));
        for (size_t j = 0; j < g_nvaults; j++)
            if (g_vaults[j].id == cid)
                json_object_set_new(r, "chain", json_string(g_vaults[j].name));
        json_array_foreach(json_object_get(r, "lines"), k, l)
        {
            uint16_t v = (uint16_t)json_integer_value(json_object_get(l, "vault_id"));
            uint16_t ln = (uint16_t)json_integer_value(json_object_get(l, "lane_id"));
            for (size_t j = 0; j < g_nvaults; j++) {
                if (g_vaults[j].id == v)
                    json_object_set_new(l, "vault", json_string(g_vaults[j].name));
                if (ln && g_vaults[j].id == ln)
                    json_object_set_new(l, "lane", json_string(g_vaults[j].name));
            }
        }
    }
    if (!json_array_size(doc) && !o->json)
        printf("no reconciliation stored yet (node.reconcile_s 0, or not run yet)\n");
    size_t bad = print_recon(o, doc, o->argc ? vault_of(o->argv[0]) : NULL);
    if (bad)
        fail(EXIT_REFUSED, "reconcile_mismatch", NULL, "%zu reconciliation line%s not ok", bad,
             bad == 1 ? "" : "s");
    if (o->json) {
        int pj = print_json(doc);
        return pj ? pj : bad ? EXIT_REFUSED : EXIT_OK;
    }
    json_decref(doc);
    return bad ? EXIT_REFUSED : EXIT_OK;
}

typedef struct {
    json_t *arr;
} arr_ctx;

static int exp_pending(void *c, const bh_vault_pending *p)
{
    pend_ctx *s = c;
    return pend_row(s, p);
}

static int exp_q(void *c, const bh_vault_quarantine *q)
{
    arr_ctx *s = c;
    json_array_append_new(s->arr,
                          json_pack("{s:i,s:I,s:s,s:s}", "chain", q->chain, "since",
                                    (json_int_t)q->since, "actor", q->actor, "reason", q->reason));
    return 0;
}

static int v_export(const opts *o)
{
    int x = nargs(o, 1, 1, "CHAIN");
    if (x) return x;
    if ((x = open_data_dir(o))) return x;
    bh_vault *v;
    if ((x = open_vault(o, o->argv[0], 1, &v))) return x;
    opts jo = *o;
    jo.json = 1;
    bh_vault_info info;
    int rc = bh_vault_info_get(v, &info);
    show_ctx sc = {&jo, v, json_array(), 0};
    lim_all la = {&jo, v, NULL, json_array(), 0};
    lim_all lc = {&jo, v, NULL, json_array(), 0};
    arr_ctx qc = {json_array()};
    pend_ctx pc = {.o = &jo, .v = v, .arr = json_array()};
    jr_ctx jc = {&jo, v, json_array(), 0};
    park_ctx kc = {.o = &jo, .v = v, .arr = json_array()};
    if (!rc) rc = bh_vault_each_asset(v, show_asset, &sc);
    if (!rc) rc = sc.rc;
    if (!rc) rc = bh_vault_each_asset(v, lim_asset, &la);
    if (!rc) rc = bh_vault_each_chain(v, o->now, lim_chain, &lc);
    if (!rc) rc = bh_vault_each_quarantine(v, exp_q, &qc);
    if (!rc) rc = bh_vault_each_pending(v, exp_pending, &pc);
    if (!rc) rc = bh_vault_each_parked(v, parked_row, &kc);
    if (!rc) rc = bh_vault_each_journal(v, 1, journal_row, &jc);
    bh_vault_close(v);
    json_t *j = info_json(&info);
    json_object_set_new(j, "assets", sc.assets);
    json_object_set_new(j, "limits", json_pack("{s:o,s:o}", "assets", la.arr, "chains", lc.arr));
    json_object_set_new(j, "quarantined", qc.arr);
    json_object_set_new(j, "pending", pc.arr);
    json_object_set_new(j, "parked", kc.arr);
    json_object_set_new(j, "journal", jc.arr);
    if (rc) {
        json_decref(j);
        return fail(EXIT_REFUSED, "vault_unreadable", o->argv[0], "vault %s: %s", o->argv[0],
                    bh_strerror(rc));
    }
    return print_json(j);
}

/* ---- main ---- */

#define N_VERBS (sizeof k_verbs / sizeof k_verbs[0])

/* The verbs as bh_cli sees them (help, listing, "did you mean"). */
static const bh_cli_verb *cli_verbs(void)
{
    static bh_cli_verb cv[N_VERBS];
    for (size_t k = 0; k < N_VERBS; k++)
        cv[k] = (bh_cli_verb){k_verbs[k].name, k_verbs[k].usage, k_verbs[k].help, k_verbs[k].flags};
    return cv;
}

/* --node: the verb goes to the node; --actor travels as the request's
 * actor (the node journals it as api:ACTOR), --json and --dry-run as they
 * are. The node's answer is the envelope then. */
static int remote(const opts *o, const char *node, const char *token_file, int argc, char **argv)
{
    char **fw = calloc((size_t)argc + 3, sizeof *fw);
    if (!fw) return fail(EXIT_ENV, "out_of_memory", NULL, "out of memory");
    int n = 0;
    const char *actor = NULL;
    if (o->json) fw[n++] = "--json";
    if (o->dry_run) fw[n++] = "--dry-run";
    for (int k = 0; k < argc; k++) {
        if (!strcmp(argv[k], "--actor") && k + 1 < argc)
            actor = argv[++k];
        else if (strcmp(argv[k], "--json") || !o->json)
            fw[n++] = argv[k];
    }
    if (!actor) actor = actor_of(o);
    int rc = bh_vaultctl_remote(node, token_file, actor, n, fw);
    free(fw);
    return rc;
}

/* Options the verbs take (with a value), for "did you mean". */
static const char *const k_options[] = {"--reason",   "--actor",           "--since",  "--chain-id",
                                        "--decimals", "--symbol",          "--config", "--data-dir",
                                        "--node",     "--admin-token-file"};

static int run(int argc, char **argv)
{
    opts o = {0};
    const char *node = NULL, *token_file = NULL;
    o.json = bh_cli_json();
    o.data_dir = getenv("BULKHEAD_DATA_DIR");
    if (!o.data_dir || !*o.data_dir) o.data_dir = "/var/lib/bulkhead";
    const char *now = getenv("VAULTCTL_NOW"); /* tests pin the clock */
    o.now = now && *now ? strtoull(now, NULL, 10) : (uint64_t)time(NULL);
    const bh_cli_verb *cv = cli_verbs();

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        switch (bh_cli_arg_kind(a)) {
        case BH_CLI_ARG_HELP:
            return bh_cli_help(k_main_help, cv, N_VERBS);
        case BH_CLI_ARG_VERSION:
            return bh_cli_version();
        case BH_CLI_ARG_JSON:
            o.json = 1;
            continue;
        case BH_CLI_ARG_DRY_RUN:
            o.dry_run = 1;
            continue;
        default:
            break;
        }
        if (!strcmp(a, "-d") || !strcmp(a, "--data-dir") || !strcmp(a, "--node") ||
            !strcmp(a, "--admin-token-file") || !strcmp(a, "--actor")) {
            if (++i >= argc) return usage("missing_value", a, "%s needs a value", a);
            if (a[1] == 'd' || a[2] == 'd')
                o.data_dir = argv[i];
            else if (a[2] == 'n')
                node = argv[i];
            else if (a[3] == 'c')
                o.actor = argv[i];
            else
                token_file = argv[i];
        } else {
            return bh_cli_unknown_option(a, k_options, sizeof k_options / sizeof k_options[0]);
        }
    }
    if (i >= argc) return usage("missing_verb", NULL, "no verb given");
    if (!strcmp(argv[i], "verbs")) return bh_cli_verbs(cv, N_VERBS);
    if (!strcmp(argv[i], "help")) return bh_cli_help(k_main_help, cv, N_VERBS);
    if (node) return remote(&o, node, token_file, argc - i, argv + i);
    const verb *vb = NULL;
    for (size_t k = 0; k < N_VERBS; k++)
        if (!strcmp(argv[i], k_verbs[k].name)) vb = &k_verbs[k];
    if (!vb) return bh_cli_unknown_verb(cv, N_VERBS, argv[i]);
    bh_cli_set_verb(vb->name);
    char **pos = calloc((size_t)argc, sizeof *pos);
    if (!pos) return fail(EXIT_ENV, "out_of_memory", NULL, "out of memory");
    int rc = EXIT_OK;
    for (i++; i < argc && !rc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        switch (bh_cli_arg_kind(a)) {
        case BH_CLI_ARG_HELP:
            o.help = 1;
            continue;
        case BH_CLI_ARG_VERSION:
            o.version = 1;
            continue;
        case BH_CLI_ARG_JSON:
            o.json = 1;
            continue;
        case BH_CLI_ARG_DRY_RUN:
            o.dry_run = 1;
            continue;
        default:
            break;
        }
        if (!strcmp(a, "--reason"))
            slot = &o.reason;
        else if (!strcmp(a, "--actor"))
            slot = &o.actor;
        else if (!strcmp(a, "--since"))
            slot = &o.since;
        else if (!strcmp(a, "--chain-id"))
            slot = &o.chain_id;
        else if (!strcmp(a, "--decimals"))
            slot = &o.decimals;
        else if (!strcmp(a, "--symbol"))
            slot = &o.symbol;
        else if (!strcmp(a, "--config"))
            slot = &o.config;
        else if (!strcmp(a, "-d") || !strcmp(a, "--data-dir"))
            slot = &o.data_dir;
        else if (a[0] == '-' && a[1] == '-')
            rc = bh_cli_unknown_option(a, k_options, sizeof k_options / sizeof k_options[0]);
        else
            pos[o.argc++] = argv[i];
        if (slot) {
            if (++i >= argc)
                rc = usage("missing_value", a, "%s needs a value", a);
            else
                *slot = argv[i];
        }
    }
    o.argv = pos;
    o.verb = vb->name;
    if (rc)
        ;
    else if (o.help)
        rc = bh_cli_verb_help(&cv[vb - k_verbs]);
    else if (o.version)
        rc = bh_cli_version();
    else if (o.dry_run && !(vb->flags & BH_CLI_WRITES))
        rc = usage("bad_argument", "--dry-run",
                   "changes nothing; --dry-run is for the verbs that write");
    else
        rc = vb->fn(&o);
    free(pos);
    return rc;
}

int bh_vaultctl_main(int argc, char **argv)
{
    bh_cli_begin("vaultctl", "[-d DATA_DIR]", argc, argv);
    return bh_cli_end(run(argc, argv));
}

/* Verbs the running node serves: its watcher owns the chain's reads and
 * the cursor. */
static int v_node_only(const opts *o)
{
    return fail(EXIT_REFUSED, "needs_node", o->verb,
                "%s needs the running node (it reads the chain and moves the watcher): "
                "vaultctl --node URL --admin-token-file FILE %s ...",
                o->verb, o->verb);
}

static int v_migrate(const opts *o)
{
    int x = nargs(o, 0, 1, "CHAIN");
    if (x) return x;
    if ((x = open_data_dir(o))) return x;
    int worst = EXIT_OK;
    size_t n = o->argc ? 1 : g_nvaults;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *name = o->argc ? o->argv[0] : g_vaults[i].name;
        bh_vault *v = NULL;
        bh_vault_opts ro = {.read_only = 1};
        int was = bh_vault_open(&v, o->data_dir, name, &ro, NULL, 0);
        bh_vault_close(v);
        v = NULL;
        /* a dry run converts nothing: a read-only open tells what would be */
        if (o->dry_run && was == BH_ESCHEMA) {
            bh_cli_say("dry run: %s: would be migrated to schema %u\n", name, BH_VAULT_SCHEMA);
            json_array_append_new(arr, json_pack("{s:s, s:i, s:b}", "vault", name, "schema",
                                                 BH_VAULT_SCHEMA, "migrated", 1));
            continue;
        }
        if ((x = open_vault(o, name, o->dry_run, &v))) {
            if (x > worst) worst = x;
            continue;
        }
        bh_vault_info in;
        if (bh_vault_info_get(v, &in) == BH_OK) {
            bh_cli_say("%s%s: %s schema %u\n", o->dry_run ? "dry run: " : "", name,
                       was == BH_ESCHEMA ? "migrated to" : "already at", (unsigned)in.schema);
            json_array_append_new(arr, json_pack("{s:s, s:i, s:b}", "vault", name, "schema",
                                                 (int)in.schema, "migrated", was == BH_ESCHEMA));
        }
        bh_vault_close(v);
    }
    json_t *j = json_pack("{s:o}", "vaults", arr);
    int r = result(o, j);
    return worst ? worst : r;
}
