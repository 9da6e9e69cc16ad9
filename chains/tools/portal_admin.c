/* The Portal's deployment and administration, and a user's lock and burn:
 * what bulkhead-deploy, the devnet and the tests do on a chain, never the
 * node (bulkhead does not link this library, nor the Portal's bytecode). */
#include "bh_portal_admin.h"

#include <stdlib.h>
#include <string.h>

#include "bh_abi.h"
#include "bh_hex.h"
#include "bh_portal.h"
#include "bh_tool_contracts.h"
#include "portal_internal.h"

int bh_portal_deploy_code(bh_evm_sender *s, bh_address *out, const char *bin_hex, bh_abi *args)
{
    memset(out, 0, sizeof *out);
    unsigned char *ctor = NULL;
    size_t ctor_len = 0;
    int rc = bh_abi_finish(args, &ctor, &ctor_len);
    bh_abi_clear(args);
    if (rc != BH_OK) return rc;
    size_t hex_len = strlen(bin_hex);
    unsigned char *code = malloc(hex_len / 2 + ctor_len + 1);
    size_t code_len = 0;
    if (!code) {
        free(ctor);
        return BH_ENOMEM;
    }
    rc = bh_hex_decode(code, hex_len / 2, &code_len, bin_hex, hex_len);
    if (rc == BH_OK) {
        memcpy(code + code_len, ctor, ctor_len);
        bh_evm_receipt r;
        rc = bh_evm_sender_send(s, &r, NULL, NULL, code, code_len + ctor_len);
        if (rc == BH_OK) {
            *out = r.contract;
            bh_evm_receipt_clear(&r);
        }
    }
    free(code);
    free(ctor);
    return rc;
}

int bh_portal_deploy(bh_evm_sender *s, bh_address *portal, uint16_t bridge_id,
                     uint32_t signer_set_index, const bh_address *attesters, size_t n_attesters,
                     uint8_t quorum)
{
    if (portal) memset(portal, 0, sizeof *portal);
    if (!s || !portal || !attesters || n_attesters == 0) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, NULL, 4);
    bh_abi_uint(&a, bridge_id);
    bh_abi_uint(&a, signer_set_index);
    bh_abi_address_array(&a, attesters, n_attesters);
    bh_abi_uint(&a, quorum);
    return bh_portal_deploy_code(s, portal, bh_contract_portal_bin, &a);
}

int bh_portal_set_attesters(bh_evm_sender *s, const bh_address *portal, uint32_t set_index,
                            const bh_address *attesters, size_t n_attesters, uint8_t quorum,
                            uint64_t grace_s)
{
    if (!s || !portal || !attesters || n_attesters == 0) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "setAttesters(uint32,address[],uint8,uint64)", 4);
    bh_abi_uint(&a, set_index);
    bh_abi_address_array(&a, attesters, n_attesters);
    bh_abi_uint(&a, quorum);
    bh_abi_uint(&a, grace_s);
    return bh_portal_send_call(s, NULL, portal, &a);
}

int bh_portal_set_curse_params(bh_evm_sender *s, const bh_address *portal, uint8_t curse_quorum,
                               uint64_t lift_delay_s)
{
    if (!s || !portal || curse_quorum == 0) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "setCurseParams(uint8,uint64)", 2);
    bh_abi_uint(&a, curse_quorum);
    bh_abi_uint(&a, lift_delay_s);
    return bh_portal_send_call(s, NULL, portal, &a);
}

int bh_portal_register_remote(bh_evm_sender *s, const bh_address *portal, uint16_t chain,
                              const bh_address *remote)
{
    if (!s || !portal || !remote) return BH_EINVAL;
    bh_bytes32 e;
    bh_address_to_bytes32(&e, remote);
    bh_abi a;
    bh_abi_init(&a, "registerRemote(uint16,bytes32)", 2);
    bh_abi_uint(&a, chain);
    bh_abi_bytes32(&a, &e);
    return bh_portal_send_call(s, NULL, portal, &a);
}

int bh_portal_set_lane_limit(bh_evm_sender *s, const bh_address *portal, uint16_t src_chain,
                             const bh_address *token, const bh_u256 *capacity,
                             const bh_u256 *rate_per_sec)
{
    if (!s || !portal || !token || !capacity || !rate_per_sec) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "setLaneLimit(uint16,address,uint256,uint256)", 4);
    bh_abi_uint(&a, src_chain);
    bh_abi_address(&a, token);
    bh_abi_u256(&a, capacity);
    bh_abi_u256(&a, rate_per_sec);
    return bh_portal_send_call(s, NULL, portal, &a);
}

int bh_portal_set_paused(bh_evm_sender *s, const bh_address *portal, uint16_t lane, int paused,
                         const char *reason)
{
    if (!s || !portal || !reason) return BH_EINVAL;
    bh_abi a;
    if (lane) {
        bh_abi_init(&a, paused ? "pauseLane(uint16,string)" : "unpauseLane(uint16,string)", 2);
        bh_abi_uint(&a, lane);
    } else {
        bh_abi_init(&a, paused ? "pause(string)" : "unpause(string)", 1);
    }
    bh_abi_string(&a, reason);
    return bh_portal_send_call(s, NULL, portal, &a);
}

int bh_portal_transfer_ownership(bh_evm_sender *s, const bh_address *portal,
                                 const bh_address *new_owner)
{
    if (!s || !portal || !new_owner) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "transferOwnership(address)", 1);
    bh_abi_address(&a, new_owner);
    return bh_portal_send_call(s, NULL, portal, &a);
}

int bh_portal_accept_ownership(bh_evm_sender *s, const bh_address *portal)
{
    if (!s || !portal) return BH_EINVAL;
    bh_abi a;
    bh_abi_init(&a, "acceptOwnership()", 0);
    return bh_portal_send_call(s, NULL, portal, &a);
}

static int approve(bh_evm_sender *s, const bh_address *token, const bh_address *spender,
                   const bh_u256 *amount)
{
    bh_abi a;
    bh_abi_init(&a, "approve(address,uint256)", 2);
    bh_abi_address(&a, spender);
    bh_abi_u256(&a, amount);
    return bh_portal_send_call(s, NULL, token, &a);
}

static int outbound(bh_evm_sender *s, bh_evm_receipt *receipt, const char *sig,
                    const bh_address *portal, const bh_address *token, const bh_u256 *amount,
                    uint16_t to_chain, const bh_address *to, const bh_u256 *fee, uint32_t nonce)
{
    if (receipt) memset(receipt, 0, sizeof *receipt);
    if (!s || !portal || !token || !amount || !to || !fee) return BH_EINVAL;
    int rc = approve(s, token, portal, amount);
    if (rc != BH_OK) return rc;
    bh_bytes32 to32;
    bh_address_to_bytes32(&to32, to);
    bh_abi a;
    bh_abi_init(&a, sig, 6);
    bh_abi_address(&a, token);
    bh_abi_u256(&a, amount);
    bh_abi_uint(&a, to_chain);
    bh_abi_bytes32(&a, &to32);
    bh_abi_u256(&a, fee);
    bh_abi_uint(&a, nonce);
    return bh_portal_send_call(s, receipt, portal, &a);
}

int bh_portal_lock(bh_evm_sender *s, bh_evm_receipt *receipt, const bh_address *portal,
                   const bh_address *token, const bh_u256 *amount, uint16_t to_chain,
                   const bh_address *to, const bh_u256 *fee, uint32_t nonce)
{
    return outbound(s, receipt, "lock(address,uint256,uint16,bytes32,uint256,uint32)", portal,
                    token, amount, to_chain, to, fee, nonce);
}

int bh_portal_burn(bh_evm_sender *s, bh_evm_receipt *receipt, const bh_address *portal,
                   const bh_address *wrapped, const bh_u256 *amount, uint16_t to_chain,
                   const bh_address *to, const bh_u256 *fee, uint32_t nonce)
{
    return outbound(s, receipt, "burn(address,uint256,uint16,bytes32,uint256,uint32)", portal,
                    wrapped, amount, to_chain, to, fee, nonce);
}

/* Count Approved events of the portal in a receipt: the highest count wins. */
