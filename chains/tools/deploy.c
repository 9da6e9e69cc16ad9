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
 *
 * Prints one JSON object on success. The key file holds a hex secret key and
 * must not be readable by group or others (mode 0600). Exit status: 0 ok,
 * 1 chain or transaction failure, 2 usage or key-file error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_evm_sender.h"
#include "bh_hex.h"
#include "bh_portal.h"
#include "bh_rpc.h"

#define MAX_ATTESTERS 32

typedef struct {
    const char *cmd, *rpc, *key_file, *attesters, *portal, *remote_portal, *name, *symbol, *mint_to,
        *amount, *token, *to, *fee;
    unsigned long long chain_id, bridge_id, quorum, set_index, remote_chain, decimals, to_chain;
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
    "\n"
    "lock sends native tokens (approve + Portal.lock), burn sends wrapped ones home or\n"
    "on (approve + Portal.burn); amounts in the token's smallest unit.\n"
    "Deploys and configures bulkhead's Portal and test tokens with bulkhead's own\n"
    "transaction code. Prints one JSON object on success. The key file holds a hex\n"
    "secret key and must be mode 0600.\n"
    "exit: 0 ok, 1 chain or transaction failure, 2 usage or key-file error\n";

static int usage(const char *why)
{
    fprintf(stderr, "bulkhead-deploy: %s\n%s", why, help_text);
    return 2;
}

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
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "bulkhead-deploy: key file %s: cannot stat\n", path);
        return -1;
    }
    if (st.st_mode & 077) {
        fprintf(stderr,
                "bulkhead-deploy: key file %s is readable by others (mode %03o); "
                "chmod 600 it\n",
                path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[130] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    int rc = bh_hex_decode_exact(key->data, 32, buf, n);
    memset(buf, 0, sizeof buf);
    if (rc != BH_OK) {
        fprintf(stderr, "bulkhead-deploy: key file %s: not 32 bytes of hex\n", path);
        return -1;
    }
    return 0;
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

int main(int argc, char **argv)
{
    args a = {.decimals = 18, .chain_id = 0};
    if (argc < 2) return usage("missing command");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help_text, stdout);
            return 0;
        }
    }
    a.cmd = argv[1];
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
        else if (!strcmp(k, "--to-chain"))
            bad = parse_u64(&a.to_chain, v, 65535);
        else if (!strcmp(k, "--chain-id"))
            bad = parse_u64(&a.chain_id, v, UINT64_MAX);
        else if (!strcmp(k, "--bridge-id"))
            bad = parse_u64(&a.bridge_id, v, 65535);
        else if (!strcmp(k, "--quorum"))
            bad = parse_u64(&a.quorum, v, 255);
        else if (!strcmp(k, "--set-index"))
            bad = parse_u64(&a.set_index, v, UINT32_MAX);
        else if (!strcmp(k, "--remote-chain"))
            bad = parse_u64(&a.remote_chain, v, 65535);
        else if (!strcmp(k, "--decimals"))
            bad = parse_u64(&a.decimals, v, 255);
        else {
            fprintf(stderr, "bulkhead-deploy: unknown option %s\n", k);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "bulkhead-deploy: bad value for %s: %s\n", k, v);
            return 2;
        }
    }
    if (!a.rpc || !a.key_file || !a.chain_id)
        return usage("--rpc, --chain-id and --key-file are required");
    int is_portal = !strcmp(a.cmd, "portal"), is_reg = !strcmp(a.cmd, "register"),
        is_token = !strcmp(a.cmd, "token"), is_lock = !strcmp(a.cmd, "lock"),
        is_burn = !strcmp(a.cmd, "burn");
    if (!is_portal && !is_reg && !is_token && !is_lock && !is_burn)
        return usage("unknown command");

    bh_address attesters[MAX_ATTESTERS], portal, remote, mint_to, token, to;
    size_t n_att = 0;
    bh_u128 amount = 0, fee = 0;
    if ((is_lock || is_burn) &&
        (parse_addr(&portal, a.portal) || parse_addr(&token, a.token) || parse_addr(&to, a.to) ||
         !a.to_chain || !a.amount || bh_u128_from_dec(&amount, a.amount, strlen(a.amount)) ||
         !amount || (a.fee && bh_u128_from_dec(&fee, a.fee, strlen(a.fee))) || fee > amount))
        return usage("lock and burn need --portal, --token, --to (addresses), --to-chain, and "
                     "--amount (decimal, > 0; --fee <= amount)");
    if (is_portal) {
        if (!a.attesters || !a.bridge_id || !a.quorum)
            return usage("portal needs --bridge-id, --attesters and --quorum");
        char *list = strdup(a.attesters);
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            if (n_att == MAX_ATTESTERS || parse_addr(&attesters[n_att], tok)) {
                free(list);
                return usage("bad --attesters list");
            }
            n_att++;
        }
        free(list);
        if (n_att == 0 || a.quorum > n_att) return usage("--quorum must be 1..number of attesters");
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
        rc = is_lock ? bh_portal_lock(s, &r, &portal, &token, &amt, (uint16_t)a.to_chain, &to, &fe, 0)
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
