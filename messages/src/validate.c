#include "bh_validate.h"

#include <string.h>

const bh_chain_entry *bh_chain_registry_find(const bh_chain_registry *reg, uint16_t id)
{
    if (reg == NULL) return NULL;
    for (size_t i = 0; i < reg->n && i < BH_MAX_CHAINS; i++)
        if (reg->chains[i].id == id) return &reg->chains[i];
    return NULL;
}

const bh_signer_set *bh_signer_sets_find(const bh_signer_sets *sets, uint32_t index)
{
    if (sets == NULL) return NULL;
    size_t cap = sizeof sets->sets / sizeof sets->sets[0];
    for (size_t i = 0; i < sets->n && i < cap; i++)
        if (sets->sets[i] && sets->sets[i]->index == index) return sets->sets[i];
    return NULL;
}

bh_reject bh_validate_vaa(const bh_attest *ctx, bh_transfer_msg *out, const unsigned char *buf,
                          size_t len, const bh_chain_registry *chains,
                          const bh_signer_sets *sets, uint64_t now)
{
    if (out) memset(out, 0, sizeof *out);
    if (ctx == NULL || out == NULL || chains == NULL || sets == NULL) return BH_REJECT_MALFORMED;

    static _Thread_local bh_vaa vaa; /* 17 KB: keep it off small thread stacks */
    bh_reject why;
    if (bh_vaa_parse(&vaa, &why, buf, len) != BH_OK) return why;

    const bh_signer_set *set = bh_signer_sets_find(sets, vaa.signer_set_index);
    if (set == NULL) return BH_REJECT_UNKNOWN_SIGNER_SET;
    why = bh_vaa_verify(ctx, &vaa, set, now);
    if (why != BH_REJECT_OK) return why;

    const bh_chain_entry *src = bh_chain_registry_find(chains, vaa.b.emitter_chain);
    if (src == NULL) return BH_REJECT_UNKNOWN_CHAIN;
    if (memcmp(src->emitter.data, vaa.b.emitter.data, 32) != 0) return BH_REJECT_UNKNOWN_EMITTER;

    bh_transfer_msg msg;
    if (bh_transfer_msg_from_vaa(&msg, &why, &vaa) != BH_OK) return why;
    if (bh_chain_registry_find(chains, msg.transfer.to_chain) == NULL ||
        bh_chain_registry_find(chains, msg.transfer.token_chain) == NULL)
        return BH_REJECT_UNKNOWN_CHAIN;
    *out = msg;
    return BH_REJECT_OK;
}
