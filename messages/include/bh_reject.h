/* Why a message was refused: a closed enum with stable string names.
 *
 * Reasons are data, not errors: validation returns one of them, the
 * vault records it, metrics count it by name. Names never change once
 * released; new reasons are appended before BH_REJECT_COUNT_. */
#ifndef BH_REJECT_H
#define BH_REJECT_H

#include "bh_error.h"

typedef enum {
    BH_REJECT_OK = 0, /* "ok": accepted, not a rejection */
    /* envelope and payload shape */
    BH_REJECT_MALFORMED,       /* "malformed": a field holds an impossible value */
    BH_REJECT_BAD_VERSION,     /* "bad_version": VAA version is not 1 */
    BH_REJECT_TRUNCATED,       /* "truncated": input ends inside a field */
    BH_REJECT_TRAILING_BYTES,  /* "trailing_bytes": bytes after the last field */
    BH_REJECT_NO_SIGNATURES,   /* "no_signatures": signature count is zero */
    BH_REJECT_UNKNOWN_PAYLOAD, /* "unknown_payload": payload id is not a transfer */
    /* signatures */
    BH_REJECT_UNKNOWN_SIGNER_SET,  /* "unknown_signer_set": index names no set we hold */
    BH_REJECT_SIGNER_SET_EXPIRED,  /* "signer_set_expired": the set was rotated out */
    BH_REJECT_SIGNER_ORDER,        /* "signer_order": indices not strictly increasing */
    BH_REJECT_SIGNER_OUT_OF_RANGE, /* "signer_out_of_range": index >= set size */
    BH_REJECT_HIGH_S,              /* "high_s": non-canonical (malleable) signature */
    BH_REJECT_BAD_RECOVERY_ID,     /* "bad_recovery_id": v not in {0,1,27,28} */
    BH_REJECT_BAD_SIGNATURE,       /* "bad_signature": does not recover to the signer */
    BH_REJECT_QUORUM_NOT_MET,      /* "quorum_not_met": fewer valid signers than quorum */
    /* routing */
    BH_REJECT_UNKNOWN_CHAIN,       /* "unknown_chain": a chain id we do not serve */
    BH_REJECT_UNKNOWN_EMITTER,     /* "unknown_emitter": not the chain's registered Portal */
    BH_REJECT_UNKNOWN_ASSET,       /* "unknown_asset": token not registered in its vault */
    BH_REJECT_SAME_CHAIN,          /* "same_chain": destination equals the source */
    BH_REJECT_FEE_EXCEEDS_AMOUNT,  /* "fee_exceeds_amount" */
    BH_REJECT_AMOUNT_OUT_OF_RANGE, /* "amount_out_of_range": zero, or beyond u128 */
    /* vault state */
    BH_REJECT_REPLAYED,             /* "replayed": same key, same digest, already applied */
    BH_REJECT_EQUIVOCATION,         /* "equivocation": same key, different digest */
    BH_REJECT_CHAIN_QUARANTINED,    /* "chain_quarantined" */
    BH_REJECT_EXCEEDS_OUTSTANDING,  /* "exceeds_outstanding": burn beyond what D holds */
    BH_REJECT_EXCEEDS_LOCKED,       /* "exceeds_locked": outstanding would pass locked */
    BH_REJECT_EXCEEDS_EXPOSURE_CAP, /* "exceeds_exposure_cap" */
    BH_REJECT_MESSAGE_LIMIT,        /* "message_limit": per-chain message count exceeded */
    BH_REJECT_FORGED_LOCK,          /* "forged_lock": lock event without the token transfer */
    BH_REJECT_BELOW_MINIMUM,        /* "below_minimum": amount under the asset's min_amount */
    BH_REJECT_SHORT_LOCK,           /* "short_lock": the token moved less than the lock claims */
    BH_REJECT_FORGED_BURN,          /* "forged_burn": burn event without the wrapped token's burn */
    BH_REJECT_COUNT_                /* number of reasons; not a reason */
} bh_reject;

/* Returns: the stable name of a reason ("bad_signature"); "invalid" for a
 * value outside the enum. Never NULL. */
const char *bh_reject_name(bh_reject r);

/* Look a reason up by name.
 * Returns: BH_OK; BH_ENOTFOUND for an unknown name. */
BH_WARN_UNUSED_RESULT int bh_reject_from_name(bh_reject *out, const char *name);

#endif
