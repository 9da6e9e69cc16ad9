/* bulkhead-rogue: turns a devnet chain hostile, for `deploy/devnet attack`.
 * TEST AND DEVNET ONLY: it needs anvil (anvil_setCode).
 *
 *   bulkhead-rogue takeover --rpc URL --chain-id N --anvil-key K --portal 0xP --bridge-id B
 *       The chain is compromised: the Portal at 0xP keeps its state but runs
 *       RoguePortal's code from now on (a RoguePortal is deployed to copy its
 *       code from; B must be the Portal's bridge id, its one immutable).
 *   bulkhead-rogue forge-burn|forge-lock --rpc URL --chain-id N --anvil-key K --portal 0xP
 *       --token 0xT --token-chain H --to-chain D --to 0xR --amount N
 *       Emit a TransferOut event nothing stands behind.
 *
 * K is the index (0..9) of one of anvil's funded dev keys: the attacker.
 * Prints one JSON object on success; exit 0 ok, 1 chain failure, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_evm_sender.h"
#include "bh_hex.h"
#include "bh_rpc.h"
#include "node_harness.h"

static const char help_text[] =
    "usage: bulkhead-rogue takeover --rpc URL --chain-id N --anvil-key K --portal 0xP --bridge-id "
    "B\n"
    "       bulkhead-rogue forge-burn|forge-lock --rpc URL --chain-id N --anvil-key K --portal "
    "0xP\n"
    "              --token 0xT --token-chain H --to-chain D --to 0xR --amount N\n"
    "Devnet only (anvil): makes a Portal emit transfers nothing stands behind.\n";

typedef struct {
    const char *rpc, *portal, *token, *to, *amount;
    unsigned long long chain_id, bridge_id, token_chain, to_chain, anvil_key;
    int has_key;
} args;

static int usage(const char *why)
{
    fprintf(stderr, "bulkhead-rogue: %s\n%s", why, help_text);
    return 2;
}

static int num(unsigned long long *out, const char *s, unsigned long long max)
{
    char *end;
    if (!s || !*s || *s == '-') return -1;
    *out = strtoull(s, &end, 10);
    return *end || *out > max ? -1 : 0;
}

static int addr(bh_address *out, const char *s)
{
    return s && bh_hex_decode_exact(out->data, 20, s, strlen(s)) == BH_OK ? 0 : -1;
}

/* Deploy a RoguePortal with the same immutable, then copy its code over the
 * Portal's: storage (sequence, attesters, outstanding) stays as it was. */
static int takeover(bh_evm_sender *s, bh_rpc *ep, const bh_address *portal, uint16_t bridge_id,
                    const bh_address *self)
{
    bh_address scratch;
    if (nh_deploy_rogue(s, bridge_id, self, 1, 1, &scratch)) return -1;

    char hex[43] = "0x";
    bh_hex_encode(hex + 2, scratch.data, 20);
    json_t *code = NULL, *params = json_pack("[s,s]", hex, "latest");
    int rc = bh_rpc_call(ep, &code, "eth_getCode", params);
    json_decref(params);
    if (rc != BH_OK || !json_is_string(code)) {
        fprintf(stderr, "bulkhead-rogue: eth_getCode: %s\n", bh_rpc_last_error(ep));
        json_decref(code);
        return -1;
    }
    bh_hex_encode(hex + 2, portal->data, 20);
    json_t *done = NULL;
    params = json_pack("[s,O]", hex, code);
    rc = bh_rpc_call(ep, &done, "anvil_setCode", params);
    json_decref(params);
    json_decref(code);
    json_decref(done);
    if (rc != BH_OK) {
        fprintf(stderr, "bulkhead-rogue: anvil_setCode (is this anvil?): %s\n",
                bh_rpc_last_error(ep));
        return -1;
    }
    return 0;
}

static int forge(bh_evm_sender *s, int burn, const bh_address *portal, const args *g)
{
    bh_address token, to;
    bh_u128 amount;
    if (addr(&token, g->token) || addr(&to, g->to) || !g->token_chain || !g->to_chain ||
        !g->amount || bh_u128_from_dec(&amount, g->amount, strlen(g->amount)) != BH_OK)
        return usage("forge needs --token, --token-chain, --to-chain, --to and --amount");
    bh_evm_receipt rec;
    if (nh_forge_send(s, &rec, portal, burn, &token, (uint16_t)g->token_chain,
                      (uint16_t)g->to_chain, &to, amount, 0))
        return 1;
    char tx[65];
    bh_hex_encode(tx, rec.tx_hash.data, 32);
    printf("{\"%s\":\"0x%s\",\"block\":%llu}\n", burn ? "forge_burn" : "forge_lock", tx,
           (unsigned long long)rec.block_number);
    bh_evm_receipt_clear(&rec);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage("missing command");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(help_text, stdout);
        return 0;
    }
    const char *cmd = argv[1];
    args g = {0};
    for (int i = 2; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !v;
        if (bad) break;
        if (!strcmp(k, "--rpc"))
            g.rpc = v;
        else if (!strcmp(k, "--anvil-key")) {
            bad = num(&g.anvil_key, v, 9);
            g.has_key = 1;
        } else if (!strcmp(k, "--portal"))
            g.portal = v;
        else if (!strcmp(k, "--token"))
            g.token = v;
        else if (!strcmp(k, "--to"))
            g.to = v;
        else if (!strcmp(k, "--amount"))
            g.amount = v;
        else if (!strcmp(k, "--chain-id"))
            bad = num(&g.chain_id, v, UINT64_MAX);
        else if (!strcmp(k, "--bridge-id"))
            bad = num(&g.bridge_id, v, 65535);
        else if (!strcmp(k, "--token-chain"))
            bad = num(&g.token_chain, v, 65535);
        else if (!strcmp(k, "--to-chain"))
            bad = num(&g.to_chain, v, 65535);
        else
            bad = 1;
        if (bad) return usage(k);
    }
    int is_take = !strcmp(cmd, "takeover"), is_burn = !strcmp(cmd, "forge-burn"),
        is_lock = !strcmp(cmd, "forge-lock");
    if (!is_take && !is_burn && !is_lock) return usage("unknown command");
    bh_address portal;
    if (!g.rpc || !g.has_key || !g.chain_id || addr(&portal, g.portal))
        return usage("--rpc, --chain-id, --anvil-key and --portal are required");
    if (is_take && !g.bridge_id) return usage("takeover needs --bridge-id");

    bh_seckey key;
    const char *hex = nh_anvil_key((unsigned)g.anvil_key);
    if (bh_hex_decode_exact(key.data, 32, hex, strlen(hex)) != BH_OK) return 1;
    bh_attest *ctx = bh_attest_create();
    bh_address self;
    bh_rpc_options ro = {.url = g.rpc, .max_retries = 2};
    bh_rpc *ep = NULL;
    bh_evm_sender *s = NULL;
    bh_evm_sender_options so = {.chain_id = g.chain_id};
    int status = 1;
    if (ctx && bh_attest_address(ctx, &self, &key) == BH_OK && bh_rpc_create(&ep, &ro) == BH_OK &&
        bh_evm_sender_create(&s, ep, ctx, &key, &so) == BH_OK) {
        if (is_take) {
            status = takeover(s, ep, &portal, (uint16_t)g.bridge_id, &self) ? 1 : 0;
            if (!status) printf("{\"takeover\":\"%s\"}\n", g.portal);
        } else {
            status = forge(s, is_burn, &portal, &g);
        }
    } else {
        fprintf(stderr, "bulkhead-rogue: cannot reach %s or bad key\n", g.rpc);
    }
    bh_seckey_clear(&key);
    bh_evm_sender_destroy(s);
    bh_rpc_destroy(ep);
    bh_attest_destroy(ctx);
    return status;
}
