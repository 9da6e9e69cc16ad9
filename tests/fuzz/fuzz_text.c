/* libFuzzer target: hex, base64 and decimal parsers for untrusted text.
 * Properties: no crash or UB; decoded hex re-encodes to the same digits. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    static unsigned char out[4096];
    static char again[8194];
    size_t n;
    if (bh_hex_decode(out, sizeof out, &n, text, size) == BH_OK) {
        size_t skip = size >= 2 && text[0] == '0' && (text[1] | 0x20) == 'x' ? 2 : 0;
        bh_hex_encode(again, out, n);
        for (size_t i = 0; i < 2 * n; i++)
            if (tolower((unsigned char)text[skip + i]) != again[i]) abort();
    }
    if (bh_base64_decode(out, sizeof out, &n, text, size) == BH_OK && n > size) abort();
    bh_u128 v;
    if (bh_u128_from_dec(&v, text, size) == BH_OK) {
        char dec[BH_U128_DEC_MAX];
        bh_u128_to_dec(dec, v);
        size_t lead = 0;
        while (lead + 1 < size && text[lead] == '0')
            lead++;
        if (strlen(dec) != size - lead || memcmp(dec, text + lead, size - lead)) abort();
    }
    return 0;
}
