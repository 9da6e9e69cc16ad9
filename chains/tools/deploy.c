/* bulkhead-deploy: deploy and configure the Portal and test tokens on an EVM
 * chain with bulkhead's own transaction code (devnet and tests).
 *
 *   bulkhead-deploy portal   --rpc URL --chain-id N --key-file F --bridge-id B
 *                            --attesters 0xA[,0xB...] --quorum Q [--set-index I]
 *   bulkhead-deploy register --rpc URL --chain-id N --key-file F --portal 0xP
 *                            --remote-chain B --remote-portal 0xR
 *   bulkhead-deploy token    --rpc URL --chain-id N --key-file F --name S --symbol S
 *                            [--decimals D] [--mint-to 0xA --amount N]
 *   bulkhead-deploy lock|burn --rpc URL --chain-id N --key-file F --portal 0xP
 *                            --token 0xT --amount N --to-chain B --to 0xR [--fee N]
 *   bulkhead-deploy attesters --rpc URL --chain-id N --key-file F --portal 0xP
 *                            --set-index I --attesters 0xA[,0xB...] --quorum Q
 *   bulkhead-deploy lane-limit --rpc URL --chain-id N --key-file F --portal 0xP
 *                            --remote-chain B --token 0xT --capacity N --rate N
 *   bulkhead-deploy balance  --rpc URL --token 0xT --of 0xA
 *   bulkhead-deploy wrapped  --rpc URL --portal 0xP --home-chain B --token 0xT
 *   bulkhead-deploy outstanding --rpc URL --portal 0xP --token 0xT --remote-chain B
 *   bulkhead-deploy address  --key-file F
 *
 * Prints one JSON object on success. The key file holds a hex secret key (64
 * digits, optional 0x, one trailing newline), is no symbolic link and is not
 * open to group or others (mode 0600 or 0400). Exit status: 0 ok,
 * 1 chain or transaction failure, 2 usage or key-file error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_evm_sender.h"
#include "bh_hex.h"
#include "bh_portal.h"
#include "bh_portal_admin.h"
#include "bh_rpc.h"
#include "bh_secret.h"
#include "bh_test_token.h"
#include "bh_suggest.h"
#include "bh_version.h"

#define MAX_ATTESTERS 32

typedef struct {
    const char *cmd, *rpc, *key_file, *attesters, *portal, *remote_portal, *name, *symbol, *mint_to,
        *amount, *token, *to, *fee, *of, *capacity, *rate;
    unsigned long long chain_id, bridge_id, quorum, set_index, remote_chain, decimals, to_chain,
        home_chain;
    int has_set_index;
} args;

static const char help_text[] =
    "usage: bulkhead-deploy portal   --rpc URL --chain-id N --key-file F --bridge-id B\n"
    "                                --attesters 0xA[,0xB...] --quorum Q [--set-index I]\n"
    "       bulkhead-deploy register --rpc URL --chain-id N --key-file F --portal 0xP\n"
    "                                --remote-chain B --remote-portal 0xR\n"
    "       bulkhead-deploy token    --rpc URL --chain-id N --key-file F --name S --symbol S\n"
    "                                [--decimals D] [--mint-to 0xA --amount N]\n"
    "       bulkhead-deploy lock|burn --rpc URL --chain-id N --key-file F --portal 0xP\n"
    "                                --token 0xT --amount N --to-chain B --to 0xR [--fee N]\n"
    "       bulkhead-deploy attesters --rpc URL --chain-id N --key-file F --portal 0xP\n"
    "                                --set-index I --attesters 0xA[,0xB...] --quorum Q\n"
    "       bulkhead-deploy lane-limit --rpc URL --chain-id N --key-file F --portal 0xP\n"
    "                                --remote-chain B --token 0xT --capacity N --rate N\n"
    "       bulkhead-deploy balance  --rpc URL --token 0xT --of 0xA\n"
    "       bulkhead-deploy wrapped  --rpc URL --portal 0xP --home-chain B --token 0xT\n"
    "       bulkhead-deploy outstanding --rpc URL --portal 0xP --token 0xT --remote-chain B\n"
    "       bulkhead-deploy address  --key-file F\n"
    "\n"
    "lock sends native tokens (approve + Portal.lock), burn sends wrapped ones home or\n"
    "on (approve + Portal.burn); amounts in the token's smallest unit. attesters\n"
    "rotates the Portal's attester set (owner key; the new --set-index must be higher;\n"
    "approvals gathered under the old set stop counting). lane-limit sets the Portal's\n"
    "token bucket for what arrives from chain B in token 0xT (native here or wrapped):\n"
    "--capacity 0 turns it off; --rate refills per second. balance, wrapped (the wrapped\n"
    "token of a home chain's token, 0x0 if none yet) and outstanding (what the Portal\n"
    "has sent to a remote chain of its native token) only read. address prints a key\n"
    "file's Ethereum address.\n"
    "Deploys and configures bulkhead's Portal and test tokens with bulkhead's own\n"
    "transaction code. Prints one JSON object on success. The key file holds a hex\n"
    "secret key (64 digits, optional 0x), mode 0600 or 0400, and is no symbolic link.\n"
    "exit: 0 ok, 1 chain or transaction failure, 2 usage or key-file error\n";

/* A usage error names the problem alone; --help has the whole usage. */
static int usage(const char *why)
{
    fprintf(stderr, "bulkhead-deploy: %s (see bulkhead-deploy --help)\n", why);
    return 2;
}

static const char *const k_cmds[] = {"portal",  "register",    "token",      "lock",
                                     "burn",    "attesters",   "lane-limit", "balance",
                                     "wrapped", "outstanding", "address"};

static int parse_u64(unsigned long long *out, const char *s, unsigned long long max)
{
    char *end;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_addr(bh_address *out, const char *s)
{
    return s && bh_hex_decode_exact(out->data, 20, s, strlen(s)) == BH_OK ? 0 : -1;
}

static int read_key(bh_seckey *key, const char *path)
{
    char why[1200];
    if (bh_seckey_load_file(key, why, sizeof why, path) == BH_OK) return 0;
    fprintf(stderr, "bulkhead-deploy: --key-file: %s\n", why);
    return -1;
}

static void print_addr(const char *field, const bh_address *a)
{
    char hex[41];
    bh_hex_encode(hex, a->data, 20);
    printf("{\"%s\":\"0x%s\"}\n", field, hex);
}

static int fail(const char *what, int rc, bh_evm_sender *s)
{
    fprintf(stderr, "bulkhead-deploy: %s failed: %s%s%s\n", what, bh_errname(rc),
            s && *bh_evm_sender_last_error(s) ? ": " : "", s ? bh_evm_sender_last_error(s) : "");
    return 1;
}

static int parse_attesters(bh_address *out, size_t *n, const char *list_arg)
{
    char *list = strdup(list_arg);
    if (!list) return -1;
    *n = 0;
    int bad = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !bad;
         tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_ATTESTERS || parse_addr(&out[*n], tok))
            bad = 1;
        else
            (*n)++;
    }
    free(list);
    return bad || *n == 0 ? -1 : 0;
}

/* address: the Ethereum address of a key file (no chain needed). */
static int cmd_address(const args *a)
{
    if (!a->key_file) return usage("address needs --key-file");
    bh_seckey key;
    if (read_key(&key, a->key_file)) return 2;
    bh_attest *ctx = bh_attest_create();
    bh_address addr;
    int rc = ctx ? bh_attest_address(ctx, &addr, &key) : BH_ENOMEM;
    bh_seckey_clear(&key);
    bh_attest_destroy(ctx);
    if (rc != BH_OK) return fail("address", rc, NULL);
    print_addr("address", &addr);
    return 0;
}

/* balance, wrapped, outstanding: eth_call reads, no key. */
static int cmd_read(const args *a)
{
    int is_bal = !strcmp(a->cmd, "balance"), is_wr = !strcmp(a->cmd, "wrapped");
    bh_address portal, token, of;
    if (!a->rpc || parse_addr(&token, a->token) ||
        (is_bal ? parse_addr(&of, a->of)
                : parse_addr(&portal, a->portal) || !(is_wr ? a->home_chain : a->remote_chain)))
        return usage(is_bal  ? "balance needs --rpc, --token and --of"
                     : is_wr ? "wrapped needs --rpc, --portal, --home-chain and --token"
                             : "outstanding needs --rpc, --portal, --token and --remote-chain");
    bh_rpc_options ro = {.url = a->rpc, .max_retries = 2};
    bh_rpc *ep = NULL;
    if (bh_rpc_create(&ep, &ro) != BH_OK) return usage("bad --rpc URL");
    bh_u256 v;
    bh_address wrapped;
    int rc;
    if (is_bal) {
        rc = bh_erc20_balance(ep, &v, &token, &of);
    } else if (is_wr) {
        bh_bytes32 t;
        bh_address_to_bytes32(&t, &token);
        rc = bh_portal_wrapped_for(ep, &wrapped, &portal, (uint16_t)a->home_chain, &t);
    } else {
        rc = bh_portal_outstanding(ep, &v, &portal, &token, (uint16_t)a->remote_chain);
    }
    bh_rpc_destroy(ep);
    if (rc != BH_OK) return fail(a->cmd, rc, NULL);
    if (is_wr) {
        print_addr("wrapped", &wrapped);
    } else {
        char dec[BH_U256_DEC_MAX];
        bh_u256_to_dec(dec, &v);
        printf("{\"%s\":\"%s\"}\n", a->cmd, dec);
    }
    return 0;
}

int main(int argc, char **argv)
{
    args a = {.decimals = 18, .chain_id = 0};
    if (argc < 2) return usage("missing command");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help_text, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("bulkhead-deploy %s (%s)\n", BH_VERSION, BH_COMMIT);
            return 0;
        }
    }
    a.cmd = argv[1];
    size_t n_cmds = sizeof k_cmds / sizeof k_cmds[0], c = 0;
    while (c < n_cmds && strcmp(a.cmd, k_cmds[c]) != 0)
        c++;
    if (c == n_cmds) {
        char why[160];
        const char *near = bh_suggest(a.cmd, k_cmds, n_cmds);
        snprintf(why, sizeof why, "unknown command '%.40s'%s%s%s", a.cmd,
                 near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
        return usage(why);
    }
    for (int i = 2; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage("option without a value");
        int bad = 0;
        if (!strcmp(k, "--rpc"))
            a.rpc = v;
        else if (!strcmp(k, "--key-file"))
            a.key_file = v;
        else if (!strcmp(k, "--attesters"))
            a.attesters = v;
        else if (!strcmp(k, "--portal"))
            a.portal = v;
        else if (!strcmp(k, "--remote-portal"))
            a.remote_portal = v;
        else if (!strcmp(k, "--name"))
            a.name = v;
        else if (!strcmp(k, "--symbol"))
            a.symbol = v;
        else if (!strcmp(k, "--mint-to"))
            a.mint_to = v;
        else if (!strcmp(k, "--amount"))
            a.amount = v;
        else if (!strcmp(k, "--token"))
            a.token = v;
        else if (!strcmp(k, "--to"))
            a.to = v;
        else if (!strcmp(k, "--fee"))
            a.fee = v;
        else if (!strcmp(k, "--of"))
            a.of = v;
        else if (!strcmp(k, "--capacity"))
            a.capacity = v;
        else if (!strcmp(k, "--rate"))
            a.rate = v;
        else if (!strcmp(k, "--home-chain"))
            bad = parse_u64(&a.home_chain, v, 65535);
        else if (!strcmp(k, "--to-chain"))
            bad = parse_u64(&a.to_chain, v, 65535);
        else if (!strcmp(k, "--chain-id"))
            bad = parse_u64(&a.chain_id, v, UINT64_MAX);
        else if (!strcmp(k, "--bridge-id"))
            bad = parse_u64(&a.bridge_id, v, 65535);
        else if (!strcmp(k, "--quorum"))
            bad = parse_u64(&a.quorum, v, 255);
        else if (!strcmp(k, "--set-index")) {
            bad = parse_u64(&a.set_index, v, UINT32_MAX);
            a.has_set_index = 1;
        } else if (!strcmp(k, "--remote-chain"))
            bad = parse_u64(&a.remote_chain, v, 65535);
        else if (!strcmp(k, "--decimals"))
            bad = parse_u64(&a.decimals, v, 255);
        else {
            char why[120];
            snprintf(why, sizeof why, "unknown option %.60s", k);
            return usage(why);
        }
        if (bad) {
            char why[160];
            snprintf(why, sizeof why, "bad value for %.40s: %.80s", k, v);
            return usage(why);
        }
    }
    if (!strcmp(a.cmd, "address")) return cmd_address(&a);
    if (!strcmp(a.cmd, "balance") || !strcmp(a.cmd, "wrapped") || !strcmp(a.cmd, "outstanding"))
        return cmd_read(&a);
    if (!a.rpc || !a.key_file || !a.chain_id) {
        char why[120];
        snprintf(why, sizeof why, "%s needs --rpc, --chain-id and --key-file", a.cmd);
        return usage(why);
    }
    int is_portal = !strcmp(a.cmd, "portal"), is_reg = !strcmp(a.cmd, "register"),
        is_token = !strcmp(a.cmd, "token"), is_lock = !strcmp(a.cmd, "lock"),
        is_burn = !strcmp(a.cmd, "burn"), is_att = !strcmp(a.cmd, "attesters"),
        is_lane = !strcmp(a.cmd, "lane-limit");
    if (!is_portal && !is_reg && !is_token && !is_lock && !is_burn && !is_att && !is_lane)
        return usage("unknown command"); /* not reached: checked above */

    bh_address attesters[MAX_ATTESTERS], portal, remote, mint_to, token, to;
    size_t n_att = 0;
    bh_u128 amount = 0, fee = 0;
    if ((is_lock || is_burn) &&
        (parse_addr(&portal, a.portal) || parse_addr(&token, a.token) || parse_addr(&to, a.to) ||
         !a.to_chain || !a.amount || bh_u128_from_dec(&amount, a.amount, strlen(a.amount)) ||
         !amount || (a.fee && bh_u128_from_dec(&fee, a.fee, strlen(a.fee))) || fee > amount))
        return usage("lock and burn need --portal, --token, --to (addresses), --to-chain, and "
                     "--amount (decimal, > 0; --fee <= amount)");
    bh_u128 capacity = 0, rate = 0;
    if (is_lane &&
        (parse_addr(&portal, a.portal) || parse_addr(&token, a.token) || !a.remote_chain ||
         !a.capacity || bh_u128_from_dec(&capacity, a.capacity, strlen(a.capacity)) != BH_OK ||
         !a.rate || bh_u128_from_dec(&rate, a.rate, strlen(a.rate)) != BH_OK))
        return usage("lane-limit needs --portal, --remote-chain, --token, --capacity and --rate "
                     "(decimal, smallest unit)");
    if (is_portal && (!a.bridge_id || !a.attesters || !a.quorum))
        return usage("portal needs --bridge-id, --attesters and --quorum");
    if (is_att && (parse_addr(&portal, a.portal) || !a.has_set_index || !a.attesters || !a.quorum))
        return usage("attesters needs --portal, --set-index, --attesters and --quorum");
    if (is_portal || is_att) {
        if (parse_attesters(attesters, &n_att, a.attesters)) return usage("bad --attesters list");
        if (a.quorum > n_att) return usage("--quorum must be 1..number of attesters");
    }
    if (is_reg &&
        (parse_addr(&portal, a.portal) || parse_addr(&remote, a.remote_portal) || !a.remote_chain))
        return usage("register needs --portal, --remote-chain and --remote-portal");
    if (is_token) {
        if (!a.name || !a.symbol) return usage("token needs --name and --symbol");
        if (a.mint_to && (parse_addr(&mint_to, a.mint_to) || !a.amount ||
                          bh_u128_from_dec(&amount, a.amount, strlen(a.amount)) != BH_OK))
            return usage("--mint-to needs an address and --amount a decimal number");
    }

    bh_seckey key;
    if (read_key(&key, a.key_file)) return 2;
    bh_attest *ctx = bh_attest_create();
    bh_rpc_options ro = {.url = a.rpc, .max_retries = 2};
    bh_rpc *ep = NULL;
    bh_evm_sender *s = NULL;
    int rc = ctx ? bh_rpc_create(&ep, &ro) : BH_ENOMEM;
    if (rc != BH_OK) {
        bh_seckey_clear(&key);
        bh_attest_destroy(ctx);
        return usage("bad --rpc URL");
    }
    bh_evm_sender_options so = {.chain_id = a.chain_id};
    rc = bh_evm_sender_create(&s, ep, ctx, &key, &so);
    bh_seckey_clear(&key);
    int status = 0;
    if (rc != BH_OK) {
        status = fail("key", rc, NULL);
    } else if (is_portal) {
        rc = bh_portal_deploy(s, &portal, (uint16_t)a.bridge_id, (uint32_t)a.set_index, attesters,
                              n_att, (uint8_t)a.quorum);
        if (rc == BH_OK)
            print_addr("portal", &portal);
        else
            status = fail("portal deploy", rc, s);
    } else if (is_att) {
        rc = bh_portal_set_attesters(s, &portal, (uint32_t)a.set_index, attesters, n_att,
                                     (uint8_t)a.quorum);
        if (rc == BH_OK)
            printf("{\"set_index\":%llu,\"attesters\":%zu,\"quorum\":%llu}\n", a.set_index, n_att,
                   a.quorum);
        else
            status = fail("attesters", rc, s);
    } else if (is_lane) {
        bh_u256 cap, per_s;
        bh_u256_from_u128(&cap, capacity);
        bh_u256_from_u128(&per_s, rate);
        rc = bh_portal_set_lane_limit(s, &portal, (uint16_t)a.remote_chain, &token, &cap, &per_s);
        if (rc == BH_OK)
            printf("{\"lane_limit\":%llu,\"capacity\":\"%s\",\"rate\":\"%s\"}\n", a.remote_chain,
                   a.capacity, a.rate);
        else
            status = fail("lane-limit", rc, s);
    } else if (is_reg) {
        rc = bh_portal_register_remote(s, &portal, (uint16_t)a.remote_chain, &remote);
        if (rc == BH_OK)
            printf("{\"registered\":%llu}\n", a.remote_chain);
        else
            status = fail("register", rc, s);
    } else if (is_lock || is_burn) {
        bh_u256 amt, fe;
        bh_u256_from_u128(&amt, amount);
        bh_u256_from_u128(&fe, fee);
        bh_evm_receipt r;
        memset(&r, 0, sizeof r);
        rc = is_lock
                 ? bh_portal_lock(s, &r, &portal, &token, &amt, (uint16_t)a.to_chain, &to, &fe, 0)
                 : bh_portal_burn(s, &r, &portal, &token, &amt, (uint16_t)a.to_chain, &to, &fe, 0);
        if (rc == BH_OK) {
            char tx[65];
            bh_hex_encode(tx, r.tx_hash.data, 32);
            printf("{\"%s\":\"0x%s\",\"block\":%llu}\n", a.cmd, tx,
                   (unsigned long long)r.block_number);
        } else {
            status = fail(a.cmd, rc, s);
        }
        bh_evm_receipt_clear(&r);
    } else {
        rc = bh_test_token_deploy(s, &token, a.name, a.symbol, (uint8_t)a.decimals);
        if (rc == BH_OK && a.mint_to) {
            bh_u256 amt;
            bh_u256_from_u128(&amt, amount);
            rc = bh_test_token_mint(s, &token, &mint_to, &amt);
        }
        if (rc == BH_OK)
            print_addr("token", &token);
        else
            status = fail("token", rc, s);
    }
    bh_evm_sender_destroy(s);
    bh_rpc_destroy(ep);
    bh_attest_destroy(ctx);
    return status;
}
