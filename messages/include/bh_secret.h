/* Secret files and secret-key text: the one reader of every file that holds
 * a secret (the node's key and token files, bulkhead-deploy's --key-file).
 *
 * A secret file must be a regular file with no group or other permission
 * bit (mode 0600 or 0400), and not a symbolic link. It is opened with
 * O_NOFOLLOW, checked with fstat on the open descriptor (no stat-then-open
 * race), read up to a cap, and every buffer that held its bytes is wiped
 * with explicit_bzero. No message below ever holds a byte of the file. */
#ifndef BH_SECRET_H
#define BH_SECRET_H

#include <stddef.h>
#include "bh_attest.h"
#include "bh_error.h"

/* The longest secret-key text: "0x", 64 hex digits, a newline. */
#define BH_SECKEY_TEXT_MAX 67

/* Read a whole secret file into caller storage.
 * Returns: BH_OK;
 *          BH_EPERM      the file is open to group or others;
 *          BH_EMALFORMED path names no regular file (directory, FIFO, device);
 *          BH_ETOOBIG    the file holds more than cap bytes;
 *          a positive errno when open(2) or read(2) fails (ELOOP: path is a
 *          symbolic link);
 *          BH_EINVAL     buf, len or path NULL, or cap 0.
 *          On any error *len is 0 and buf is wiped.
 * Out: buf, cap      up to cap bytes, not NUL-terminated; the caller wipes
 *                    them (explicit_bzero) when done.
 *      len           bytes read.
 *      why, why_cap  on error, one line naming path and the fix (e.g.
 *                    "P is open to group or others (mode 0644); chmod 600 P");
 *                    "" on success; why may be NULL when why_cap is 0.
 * In:  path          borrowed; opened as given (relative to the working
 *                    directory). */
BH_WARN_UNUSED_RESULT int bh_secret_read_file(char *buf, size_t cap, size_t *len, char *why,
                                              size_t why_cap, const char *path);

/* Parse secret-key text: 64 hex digits (either case), an optional "0x" or
 * "0X" before them, at most one '\n' after them, nothing else.
 * Does not check the key against the curve order (bh_seckey_verify does).
 * Returns: BH_OK; BH_EMALFORMED (out zeroed); BH_EINVAL on NULL.
 * Out: out        the key.
 * In:  text, len  untrusted, need not be NUL-terminated. */
BH_WARN_UNUSED_RESULT int bh_seckey_parse_text(bh_seckey *out, const char *text, size_t len);

/* Load a secret key from a file: bh_secret_read_file with a cap of
 * BH_SECKEY_TEXT_MAX, then bh_seckey_parse_text.
 * Returns: as bh_secret_read_file, except that a file too long to hold a key
 *          is BH_EMALFORMED like one holding anything but key text
 *          ("P holds no key; write the 32-byte secret as 64 hex digits
 *          (optional 0x, one trailing newline)"). out is zeroed on error.
 * Out: out, why, why_cap  as above.
 * In:  path               borrowed. */
BH_WARN_UNUSED_RESULT int bh_seckey_load_file(bh_seckey *out, char *why, size_t why_cap,
                                              const char *path);

#endif
