#include "bh_reject.h"

#include <string.h>

static const char *const names[BH_REJECT_COUNT_] = {
    [BH_REJECT_OK] = "ok",
    [BH_REJECT_MALFORMED] = "malformed",
    [BH_REJECT_BAD_VERSION] = "bad_version",
    [BH_REJECT_TRUNCATED] = "truncated",
    [BH_REJECT_TRAILING_BYTES] = "trailing_bytes",
    [BH_REJECT_NO_SIGNATURES] = "no_signatures",
    [BH_REJECT_UNKNOWN_PAYLOAD] = "unknown_payload",
    [BH_REJECT_UNKNOWN_SIGNER_SET] = "unknown_signer_set",
    [BH_REJECT_SIGNER_SET_EXPIRED] = "signer_set_expired",
    [BH_REJECT_SIGNER_ORDER] = "signer_order",
    [BH_REJECT_SIGNER_OUT_OF_RANGE] = "signer_out_of_range",
    [BH_REJECT_HIGH_S] = "high_s",
    [BH_REJECT_BAD_RECOVERY_ID] = "bad_recovery_id",
    [BH_REJECT_BAD_SIGNATURE] = "bad_signature",
    [BH_REJECT_QUORUM_NOT_MET] = "quorum_not_met",
    [BH_REJECT_UNKNOWN_CHAIN] = "unknown_chain",
    [BH_REJECT_UNKNOWN_EMITTER] = "unknown_emitter",
    [BH_REJECT_UNKNOWN_ASSET] = "unknown_asset",
    [BH_REJECT_SAME_CHAIN] = "same_chain",
    [BH_REJECT_FEE_EXCEEDS_AMOUNT] = "fee_exceeds_amount",
    [BH_REJECT_AMOUNT_OUT_OF_RANGE] = "amount_out_of_range",
    [BH_REJECT_REPLAYED] = "replayed",
    [BH_REJECT_EQUIVOCATION] = "equivocation",
    [BH_REJECT_CHAIN_QUARANTINED] = "chain_quarantined",
    [BH_REJECT_EXCEEDS_OUTSTANDING] = "exceeds_outstanding",
    [BH_REJECT_EXCEEDS_LOCKED] = "exceeds_locked",
    [BH_REJECT_EXCEEDS_EXPOSURE_CAP] = "exceeds_exposure_cap",
    [BH_REJECT_MESSAGE_LIMIT] = "message_limit",
    [BH_REJECT_FORGED_LOCK] = "forged_lock",
    [BH_REJECT_BELOW_MINIMUM] = "below_minimum",
    [BH_REJECT_SHORT_LOCK] = "short_lock",
    [BH_REJECT_FORGED_BURN] = "forged_burn",
};

const char *bh_reject_name(bh_reject r)
{
    if ((unsigned)r >= BH_REJECT_COUNT_ || names[r] == NULL) return "invalid";
    return names[r];
}

int bh_reject_from_name(bh_reject *out, const char *name)
{
    if (out) *out = BH_REJECT_OK;
    if (out == NULL || name == NULL) return BH_EINVAL;
    for (int i = 0; i < BH_REJECT_COUNT_; i++) {
        if (names[i] && strcmp(names[i], name) == 0) {
            *out = (bh_reject)i;
            return BH_OK;
        }
    }
    return BH_ENOTFOUND;
}
