/* The Portal contract: its events, the VAA body built from them, and the
 * calls bulkhead makes (deploy, configure, lock, burn, submit).
 * Contract sources: chains/contracts/Portal.sol, Tokens.sol. */
#ifndef BH_PORTAL_H
#define BH_PORTAL_H

#include <stddef.h>
#include <stdint.h>
#include "bh_chain.h"
#include "bh_error.h"
#include "bh_evm_sender.h"
#include "bh_rpc.h"
#include "bh_types.h"

/* event TransferOut(uint64 indexed sequence, address indexed sender,
 *   bytes32 token, uint16 tokenChain, bytes32 to, uint16 toChain,
 *   uint256 amount, uint256 fee, uint32 nonce, uint8 kind) */
#define BH_PORTAL_TRANSFER_OUT_SIG                                                                 \
    "TransferOut(uint64,address,bytes32,uint16,bytes32,uint16,uint256,uint256,uint32,uint8)"
#define BH_ERC20_TRANSFER_SIG "Transfer(address,address,uint256)"

typedef struct {
    uint64_t sequence;
    bh_address sender;
    bh_bytes32 token;
    uint16_t token_chain;
    bh_bytes32 to;
    uint16_t to_chain;
    bh_u256 amount;
    bh_u256 fee;
    uint32_t nonce;
    uint8_t kind; /* BH_EVENT_LOCK / BH_EVENT_BURN */
} bh_portal_transfer_out;

/* Decode a TransferOut log (untrusted: every word is range-checked).
 * Returns: BH_OK; BH_EMALFORMED for a wrong topic count, topic 0 that is not
 *          TransferOut, data not exactly 8 words, or a value out of its
 *          type's range.
 * In: topics  n_topics topics as logged. */
BH_WARN_UNUSED_RESULT int bh_portal_decode_transfer_out(bh_portal_transfer_out *out,
                                                        const bh_hash32 *topics, size_t n_topics,
                                                        const unsigned char *data, size_t len);

/* Build the deterministic VAA body of an event and its transfer message.
 * Returns: BH_OK with *why = ok; BH_EMALFORMED with *why set when the event
 *          cannot become a valid message (amount_out_of_range,
 *          fee_exceeds_amount, same_chain, malformed).
 * Out: body, body_len  BH_EVENT_BODY_MAX bytes of caller storage.
 *      msg  the message (digest = keccak256(keccak256(body))). */
BH_WARN_UNUSED_RESULT int bh_portal_event_body(unsigned char *body, size_t *body_len,
                                               bh_transfer_msg *msg, bh_reject *why,
                                               const bh_portal_transfer_out *ev,
                                               uint16_t emitter_chain, const bh_address *portal,
                                               uint32_t timestamp);

/* What one relayer node submits: body signed with its attestation key, as
 * a VAA with that single signature (the Portal gathers the others).
 * Returns: BH_OK; BH_ECRYPTO for an invalid key; BH_ENOSPC; BH_EINVAL.
 * Out: out, out_len  the VAA (out_cap >= BH_VAA_HEADER_FIXED +
 *      BH_VAA_SIG_LEN + body_len).
 * In:  key  borrowed for the call, never stored. */
BH_WARN_UNUSED_RESULT int bh_portal_sign_vaa(const bh_attest *ctx, unsigned char *out,
                                             size_t out_cap, size_t *out_len,
                                             uint32_t signer_set_index, uint8_t signer_index,
                                             const bh_seckey *key, const unsigned char *body,
                                             size_t body_len);

/* The digest an attester signs to vote on chain's curse at the Portal of
 * portal_chain (Portal.curseDigest): bound to that Portal, the signer set,
 * the chain, the round and the direction (curse 1, lift 0). */
void bh_portal_curse_digest(bh_hash32 *out, uint16_t portal_chain, const bh_address *portal,
                            uint32_t set_index, uint16_t chain, uint64_t round, int curse);

/* ---- on-chain calls ---- */

/* Outcome of a submit. */
typedef enum {
    BH_SUBMIT_APPROVED = 0, /* signatures counted, quorum not reached yet */
    BH_SUBMIT_EXECUTED,     /* this transaction executed the transfer */
    BH_SUBMIT_ALREADY_DONE, /* executed earlier: delivered, nothing sent */
} bh_submit_outcome;

/* Gas limit floor of a submit: an execution that creates the wrapped token
 * uses about 760,000 gas; only the gas used is paid. Capped by gas_cap. */
#define BH_PORTAL_SUBMIT_GAS 1000000u

/* Idempotent delivery of a VAA: if the Portal already executed its digest
 * this is a no-op reported as BH_SUBMIT_ALREADY_DONE; else Portal.submit.
 * Returns: BH_OK; BH_EREVERTED when the Portal refuses (reason in
 *          bh_evm_sender_last_error: "exceeds outstanding", "lane limit",
 *          "bad signature", ...); sender errors.
 * Out: outcome; approvals  distinct approvals now held (may be NULL). */
BH_WARN_UNUSED_RESULT int bh_portal_submit(bh_evm_sender *s, bh_submit_outcome *outcome,
                                           unsigned *approvals, const bh_address *portal,
                                           const unsigned char *vaa, size_t vaa_len);

/* Portal.submitBatch: several VAAs in one transaction, each its own
 * submit (one that reverts reverts nothing else). Sent and waited for.
 * Returns: BH_OK with items[i] filled; BH_EMALFORMED for a VAA that does
 *          not parse; BH_EINVAL for n of 0 or past BH_PORTAL_BATCH_MAX;
 *          the whole transaction's errors as bh_portal_submit's.
 * Out: items  n of them: outcome and approvals as bh_portal_submit's, or
 *      failed with the item's revert reason in why. */
#define BH_PORTAL_BATCH_MAX 256
typedef struct {
    bh_submit_outcome outcome;
    unsigned approvals;
    int failed;
    char why[160]; /* empty: reverted with no reason (out of gas, most likely) */
} bh_portal_batch_item;
BH_WARN_UNUSED_RESULT int bh_portal_submit_batch(bh_evm_sender *s, bh_portal_batch_item *items,
                                                 const bh_address *portal,
                                                 const unsigned char *const *vaas,
                                                 const size_t *lens, size_t n);

/* bh_portal_submit_batch in two halves, for batches in flight (as
 * bh_portal_submit_send / _check): bh_portal_batch_send broadcasts
 * submitBatch at the next nonce without waiting and without asking which
 * items are executed (an executed item costs little and reports so);
 * its gas limit is the estimate's plus BH_PORTAL_BATCH_ITEM_GAS per item.
 * bh_portal_batch_check looks at it once.
 * send Returns: BH_OK (p filled, in flight); BH_EMALFORMED, BH_EINVAL as
 *          bh_portal_submit_batch; bh_evm_sender_begin's errors (BH_ERANGE:
 *          the batch's estimate is above the gas cap: split it).
 * check Returns: BH_OK with items[i] filled as bh_portal_submit_batch's;
 *          bh_evm_sender_check's other results (BH_EBUSY, BH_EREVERTED,
 *          BH_ETIMEOUT, transport errors).
 * Out: digests (send)  n of them, the VAAs' digests, for check. */
#define BH_PORTAL_BATCH_ITEM_GAS 60000u
BH_WARN_UNUSED_RESULT int bh_portal_batch_send(bh_evm_sender *s, bh_evm_pending *p,
                                               bh_hash32 *digests, const bh_address *portal,
                                               const unsigned char *const *vaas, const size_t *lens,
                                               size_t n);
BH_WARN_UNUSED_RESULT int bh_portal_batch_check(bh_evm_sender *s, bh_evm_pending *p,
                                                bh_portal_batch_item *items,
                                                const bh_address *portal, const bh_hash32 *digests,
                                                size_t n);

/* bh_portal_submit in two halves, for several submits in flight:
 * bh_portal_submit_send checks executed(digest) and, if not, broadcasts
 * Portal.submit (bh_evm_sender_begin) without waiting;
 * bh_portal_submit_check looks at the transaction once.
 * send Returns: BH_OK with *sent 1 (p filled, in flight) or with *sent 0 and
 *          *outcome BH_SUBMIT_ALREADY_DONE (nothing sent); as
 *          bh_portal_submit otherwise.
 * check Returns: BH_OK with *outcome and *approvals (executed since, by
 *          anyone, is ALREADY_DONE); BH_EBUSY still in flight;
 *          BH_EREVERTED mined and reverted, not executed; BH_ETIMEOUT it
 *          will never be mined (cancelled, nonce taken): send again;
 *          transport errors (still in flight).
 * Out: digest (send)  the VAA's digest, for check. */
BH_WARN_UNUSED_RESULT int bh_portal_submit_send(bh_evm_sender *s, bh_evm_pending *p, int *sent,
                                                bh_submit_outcome *outcome, bh_hash32 *digest,
                                                const bh_address *portal, const unsigned char *vaa,
                                                size_t vaa_len);
BH_WARN_UNUSED_RESULT int bh_portal_submit_check(bh_evm_sender *s, bh_evm_pending *p,
                                                 bh_submit_outcome *outcome, unsigned *approvals,
                                                 const bh_address *portal, const bh_hash32 *digest);

/* Broadcast Portal.vote(chain, round, curse, reason, sigs) at the next
 * nonce without waiting (bh_evm_sender_begin; check it with
 * bh_evm_sender_check). Returns: as bh_evm_sender_begin (BH_EREVERTED:
 * the estimate reverted, e.g. "curse round", "already cursed"). */
BH_WARN_UNUSED_RESULT int bh_portal_vote_send(bh_evm_sender *s, bh_evm_pending *p,
                                              const bh_address *portal, uint16_t chain,
                                              uint64_t round, int curse, const char *reason,
                                              const unsigned char *sigs, size_t sigs_len);

/* ---- reads (eth_call on one endpoint) ---- */

BH_WARN_UNUSED_RESULT int bh_portal_is_executed(bh_rpc *ep, int *executed, const bh_address *portal,
                                                const bh_hash32 *digest);
/* Which of n (<= 256) digests the Portal has executed: bit i of the
 * big-endian word (bits[31 - i / 8] >> i % 8), as BatchDone's bitmap.
 * Out: bits (zeroed on entry). */
BH_WARN_UNUSED_RESULT int bh_portal_executed_mask(bh_rpc *ep, unsigned char bits[32],
                                                  const bh_address *portal,
                                                  const bh_hash32 *digests, size_t n);
/* The Portal's current attester set index and its attester at index (a
 * revert of attesters(index), an index past the set, is BH_EREVERTED).
 * Out: set_index, attester (zeroed on entry). */
BH_WARN_UNUSED_RESULT int bh_portal_attester(bh_rpc *ep, uint32_t *set_index, bh_address *attester,
                                             const bh_address *portal, unsigned index);
BH_WARN_UNUSED_RESULT int bh_portal_outstanding(bh_rpc *ep, bh_u256 *out, const bh_address *portal,
                                                const bh_address *token, uint16_t chain);
/* Out: wrapped  zero address if none was created yet. */
BH_WARN_UNUSED_RESULT int bh_portal_wrapped_for(bh_rpc *ep, bh_address *wrapped,
                                                const bh_address *portal, uint16_t home_chain,
                                                const bh_bytes32 *home_token);

/* Portal.laneControls(chain) and paused() at "latest" on one endpoint.
 * Out: out (zeroed on entry); paused  may be NULL. */
BH_WARN_UNUSED_RESULT int bh_portal_lane_controls(bh_rpc *ep, bh_chain_lane_controls *out,
                                                  int *paused, const bh_address *portal,
                                                  uint16_t chain);

/* An ERC-20 balanceOf(holder) at token. */
BH_WARN_UNUSED_RESULT int bh_erc20_balance(bh_rpc *ep, bh_u256 *out, const bh_address *token,
                                           const bh_address *holder);

/* Left-pad an address to 32 bytes (emitters, recipients, token ids). */
void bh_address_to_bytes32(bh_bytes32 *out, const bh_address *a);

#endif
