/* libFuzzer target: the VAA envelope and transfer payload parsers.
 * Properties: no crash, leak or UB on any input; whatever parses serialises
 * back to the same bytes; a parsed transfer round-trips through its codec. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bh_attest.h"
#include "bh_transfer.h"
#include "bh_vaa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bh_vaa vaa;
static unsigned char out[BH_VAA_MAX_LEN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bh_reject why;
    if (bh_vaa_parse(&vaa, &why, data, size) != BH_OK) {
        if (why == BH_REJECT_OK) abort();
        return 0;
    }
    size_t len;
    if (bh_vaa_serialize(out, sizeof out, &len, vaa.signer_set_index, vaa.sigs, vaa.n_sigs,
                         vaa.body, vaa.body_len) != BH_OK ||
        len != size || memcmp(out, data, size) != 0)
        abort();

    bh_transfer_msg msg;
    if (bh_transfer_msg_from_vaa(&msg, &why, &vaa) == BH_OK) {
        unsigned char p[BH_TRANSFER_LEN];
        bh_transfer_serialize(p, &msg.transfer);
        if (vaa.b.payload_len != BH_TRANSFER_LEN || memcmp(p, vaa.b.payload, BH_TRANSFER_LEN))
            abort();
        if (msg.fee > msg.amount || msg.amount == 0) abort();
    } else if (why == BH_REJECT_OK) {
        abort();
    }

    /* Signature checks on hostile input: one signer, any verdict but a crash. */
    static bh_attest *ctx;
    static bh_signer_set set = {.index = 0, .n = 1};
    if (ctx == NULL) ctx = bh_attest_create();
    if (vaa.n_sigs <= 2) {
        bh_reject r = bh_vaa_verify(ctx, &vaa, &set, 0);
        if (r == BH_REJECT_OK) abort(); /* nobody holds the zero address's key */
    }
    return 0;
}
