/* The Portal's deployment and owner calls, and a user's lock and burn
 * (bh_chains_tools: bulkhead-deploy, the devnet and the tests; never the
 * node, which only submits and reads). */
#ifndef BH_PORTAL_ADMIN_H
#define BH_PORTAL_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include "bh_amount.h"
#include "bh_error.h"
#include "bh_evm_sender.h"
#include "bh_types.h"

/* All send EIP-1559 transactions through s. */

/* Deploy a Portal. Returns: BH_OK; sender errors (bh_evm_sender_send).
 * Out: portal  the contract address. */
BH_WARN_UNUSED_RESULT int bh_portal_deploy(bh_evm_sender *s, bh_address *portal, uint16_t bridge_id,
                                           uint32_t signer_set_index, const bh_address *attesters,
                                           size_t n_attesters, uint8_t quorum);

/* Rotate the attester set (owner only; set_index must grow). The set it
 * replaces stays valid for grace_s seconds (0: retired at once); approvals
 * under both count toward the new quorum, a signer in both once. */
BH_WARN_UNUSED_RESULT int bh_portal_set_attesters(bh_evm_sender *s, const bh_address *portal,
                                                  uint32_t set_index, const bh_address *attesters,
                                                  size_t n_attesters, uint8_t quorum,
                                                  uint64_t grace_s);

/* The curse's parameters (owner only): votes that curse a chain, and the
 * seconds between a full-quorum lift and its effect. */
BH_WARN_UNUSED_RESULT int bh_portal_set_curse_params(bh_evm_sender *s, const bh_address *portal,
                                                     uint8_t curse_quorum, uint64_t lift_delay_s);

BH_WARN_UNUSED_RESULT int bh_portal_register_remote(bh_evm_sender *s, const bh_address *portal,
                                                    uint16_t chain, const bh_address *remote);

BH_WARN_UNUSED_RESULT int bh_portal_set_lane_limit(bh_evm_sender *s, const bh_address *portal,
                                                   uint16_t src_chain, const bh_address *token,
                                                   const bh_u256 *capacity,
                                                   const bh_u256 *rate_per_sec);

/* Emergency controls (owner only): pause or unpause the whole Portal
 * (lane 0) or the lane of chain `lane`, with a reason the Portal's event
 * carries. A Portal already in that state refuses (reverts). */
BH_WARN_UNUSED_RESULT int bh_portal_set_paused(bh_evm_sender *s, const bh_address *portal,
                                               uint16_t lane, int paused, const char *reason);

/* Two-step ownership: the owner names a new owner, who then accepts; until
 * then the old owner stays. */
BH_WARN_UNUSED_RESULT int bh_portal_transfer_ownership(bh_evm_sender *s, const bh_address *portal,
                                                       const bh_address *new_owner);
BH_WARN_UNUSED_RESULT int bh_portal_accept_ownership(bh_evm_sender *s, const bh_address *portal);

/* Lock `amount` of native token (approve is sent first).
 * Out: receipt  may be NULL; else cleared with bh_evm_receipt_clear. */
BH_WARN_UNUSED_RESULT int bh_portal_lock(bh_evm_sender *s, bh_evm_receipt *receipt,
                                         const bh_address *portal, const bh_address *token,
                                         const bh_u256 *amount, uint16_t to_chain,
                                         const bh_address *to, const bh_u256 *fee, uint32_t nonce);

/* Burn wrapped tokens to send them to to_chain (approve is sent first). */
BH_WARN_UNUSED_RESULT int bh_portal_burn(bh_evm_sender *s, bh_evm_receipt *receipt,
                                         const bh_address *portal, const bh_address *wrapped,
                                         const bh_u256 *amount, uint16_t to_chain,
                                         const bh_address *to, const bh_u256 *fee, uint32_t nonce);

#endif
