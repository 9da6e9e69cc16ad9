/* chains-private: the Portal's transaction helpers, shared with the tools
 * library (chains/tools), which deploys and drives contracts the node never
 * touches. Not a public header: include it only from chains/. */
#ifndef BH_PORTAL_INTERNAL_H
#define BH_PORTAL_INTERNAL_H

#include "bh_abi.h"
#include "bh_error.h"
#include "bh_evm_sender.h"
#include "bh_types.h"

/* Send the call a (cleared here, whatever the outcome) to contract `to`.
 * Returns: BH_OK; bh_abi_finish and sender errors (bh_evm_sender_send).
 * Out: r  may be NULL; else cleared with bh_evm_receipt_clear. */
BH_WARN_UNUSED_RESULT int bh_portal_send_call(bh_evm_sender *s, bh_evm_receipt *r,
                                              const bh_address *to, bh_abi *a);

/* Deploy creation code followed by the ABI-encoded constructor arguments
 * args (cleared here, whatever the outcome).
 * Returns: BH_OK; BH_ENOMEM; hex and sender errors.
 * Out: out  the new contract's address (zeroed on failure).
 * In:  bin_hex  creation bytecode, hex without 0x (bh_contracts.h). */
BH_WARN_UNUSED_RESULT int bh_portal_deploy_code(bh_evm_sender *s, bh_address *out,
                                                const char *bin_hex, bh_abi *args);

#endif
