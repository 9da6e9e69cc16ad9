/* Stateless validation of an incoming VAA: a pure function of the bytes,
 * the chain registry and the signer sets. State checks (replay, limits,
 * quarantine) belong to the vaults. */
#ifndef BH_VALIDATE_H
#define BH_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include "bh_attest.h"
#include "bh_reject.h"
#include "bh_transfer.h"

#define BH_MAX_CHAINS 64
#define BH_CHAIN_NAME_MAX 32

typedef struct {
    uint16_t id;                      /* bridge chain id (wire u16) */
    char name[BH_CHAIN_NAME_MAX];     /* NUL-terminated, [a-z0-9_-]+ */
    bh_bytes32 emitter;               /* the chain's Portal, left-padded */
} bh_chain_entry;

/* Chains the bridge serves, caller storage. */
typedef struct {
    size_t n;
    bh_chain_entry chains[BH_MAX_CHAINS];
} bh_chain_registry;

/* Returns: the entry with that id, or NULL. Borrowed from reg. */
const bh_chain_entry *bh_chain_registry_find(const bh_chain_registry *reg, uint16_t id);

/* Signer sets by index, caller storage. */
typedef struct {
    size_t n;
    const bh_signer_set *sets[16]; /* borrowed; must outlive the registry */
} bh_signer_sets;

/* Returns: the set with that index, or NULL. */
const bh_signer_set *bh_signer_sets_find(const bh_signer_sets *sets, uint32_t index);

/* Validate untrusted VAA bytes, in this order: envelope (parse), signer set
 * known and not expired, signatures and quorum, emitter chain and address
 * registered, transfer payload, amounts, destination chain registered and
 * distinct from the source, home chain registered.
 * Returns: BH_REJECT_OK with *out filled, or the first reason that applies
 *          (*out zeroed).
 * In: buf, len  untrusted; now  unix seconds. */
BH_WARN_UNUSED_RESULT bh_reject bh_validate_vaa(const bh_attest *ctx, bh_transfer_msg *out,
                                                const unsigned char *buf, size_t len,
                                                const bh_chain_registry *chains,
                                                const bh_signer_sets *sets, uint64_t now);

#endif
