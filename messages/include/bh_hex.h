/* Hex and base64 codecs for untrusted text (CLI arguments, JSON-RPC). */
#ifndef BH_HEX_H
#define BH_HEX_H

#include <stddef.h>
#include <stdint.h>
#include "bh_error.h"

/* Decode hex, with or without a "0x"/"0X" prefix, into out.
 * Returns: BH_OK; BH_EMALFORMED on an odd length or a non-hex digit;
 *          BH_ENOSPC if the decoded bytes exceed out_cap.
 * Out:     out      out_cap bytes of caller storage.
 *          out_len  number of bytes written (0 on error).
 * In:      hex      text of hex_len characters (need not be NUL-terminated). */
BH_WARN_UNUSED_RESULT int bh_hex_decode(unsigned char *out, size_t out_cap, size_t *out_len,
                                        const char *hex, size_t hex_len);

/* Decode hex that must be exactly n bytes long (with optional "0x").
 * Returns: BH_OK; BH_EMALFORMED on bad digits or any other length. */
BH_WARN_UNUSED_RESULT int bh_hex_decode_exact(unsigned char *out, size_t n, const char *hex,
                                              size_t hex_len);

/* Encode len bytes as lowercase hex, NUL-terminated, without a prefix.
 * Out: out  caller storage of at least 2*len+1 bytes. */
void bh_hex_encode(char *out, const unsigned char *in, size_t len);

/* A 32-byte wire address (token, emitter, recipient) as every tool prints
 * it: "0x" and 40 hex digits when its first 12 bytes are zero (an EVM
 * address, as the chain and the config write it), else "0x" and 64.
 * Out: out  caller storage of 67 bytes, NUL-terminated. */
void bh_hex_address(char out[67], const unsigned char in[32]);

/* Decode standard base64 (RFC 4648, '=' padding optional, no whitespace).
 * Returns: BH_OK; BH_EMALFORMED on a bad character or length;
 *          BH_ENOSPC if the decoded bytes exceed out_cap. */
BH_WARN_UNUSED_RESULT int bh_base64_decode(unsigned char *out, size_t out_cap, size_t *out_len,
                                           const char *b64, size_t b64_len);

#endif
