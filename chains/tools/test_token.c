/* The test token's calls (bh_test_token.h), kept out of the node. */
#include "bh_test_token.h"

#include <string.h>

#include "bh_abi.h"
#include "bh_tool_contracts.h"
#include "portal_internal.h"

int bh_test_token_deploy(bh_evm_sender *s, bh_address *token, const char *name, const char *symbol,
                         uint8_t decimals)
{
    if (token) memset(token, 0, sizeof *token);
    if (!s || !token || !name || !symbol) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, NULL, 3);
    bh_abi_string(&a, name);
    bh_abi_string(&a, symbol);
    bh_abi_uint(&a, decimals);
    return bh_portal_deploy_code(s, token, bh_contract_testtoken_bin, &a);
}

int bh_test_token_mint(bh_evm_sender *s, const bh_address *token, const bh_address *to,
                       const bh_u256 *amount)
{
    if (!s || !token || !to || !amount) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "mint(address,uint256)", 2);
    bh_abi_address(&a, to);
    bh_abi_u256(&a, amount);
    return bh_portal_send_call(s, NULL, token, &a);
}

int bh_test_token_set_lying(bh_evm_sender *s, const bh_address *token, int lying)
{
    if (!s || !token) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "setLying(bool)", 1);
    bh_abi_uint(&a, lying ? 1 : 0);
    return bh_portal_send_call(s, NULL, token, &a);
}

/* int256 as its two's complement word */
static void int_word(bh_u256 *w, int64_t v)
{
    memset(w->be, v < 0 ? 0xff : 0, 32);
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        w->be[31 - i] = (unsigned char)(u >> (8 * i));
}

int bh_test_feed_deploy(bh_evm_sender *s, bh_address *feed, uint8_t decimals, int64_t answer)
{
    if (feed) memset(feed, 0, sizeof *feed);
    if (!s || !feed) return BH_EINVAL;
    bh_u256 w;
    int_word(&w, answer);
    bh_abi a;
    bh_abi_init(&a, NULL, 2);
    bh_abi_uint(&a, decimals);
    bh_abi_u256(&a, &w);
    return bh_portal_deploy_code(s, feed, bh_contract_pricefeed_bin, &a);
}

int bh_test_feed_set(bh_evm_sender *s, const bh_address *feed, int64_t answer, uint64_t updated_at)
{
    if (!s || !feed) return BH_EINVAL;
    bh_u256 w;
    int_word(&w, answer);
    bh_abi a;
    bh_abi_init(&a, updated_at ? "setRound(int256,uint256)" : "setAnswer(int256)",
                updated_at ? 2 : 1);
    bh_abi_u256(&a, &w);
    if (updated_at) bh_abi_uint(&a, updated_at);
    return bh_portal_send_call(s, NULL, feed, &a);
}
