#include "bh_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bh_hex.h"

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t cap, const char *fmt, ...)
{
    if (!why || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

/* One failure: close fd, wipe what was read, and report. */
static int refuse(int fd, char *buf, size_t cap, size_t *len, int rc)
{
    if (fd >= 0) close(fd);
    explicit_bzero(buf, cap);
    *len = 0;
    return rc;
}

int bh_secret_read_file(char *buf, size_t cap, size_t *len, char *why, size_t why_cap,
                        const char *path)
{
    say(why, why_cap, "%s", "");
    if (len) *len = 0;
    if (!buf || !cap || !len || !path) {
        say(why, why_cap, "invalid arguments");
        return BH_EINVAL;
    }
    /* O_NONBLOCK: a FIFO must not hang the load; fstat refuses it next. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            say(why, why_cap, "%s is a symbolic link; point it at the file itself", path);
        else
            say(why, why_cap, "cannot open %s: %s; check the path", path, strerror(e));
        return refuse(-1, buf, cap, len, e);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        say(why, why_cap, "%s is not a regular file; point it at the key file", path);
        return refuse(fd, buf, cap, len, BH_EMALFORMED);
    }
    if (st.st_mode & 077) {
        say(why, why_cap, "%s is open to group or others (mode %04o); chmod 600 %s", path,
            (unsigned)(st.st_mode & 07777), path);
        return refuse(fd, buf, cap, len, BH_EPERM);
    }
    size_t n = 0;
    for (;;) {
        char extra;
        int full = n == cap; /* then one more byte tells a longer file */
        ssize_t got = full ? read(fd, &extra, 1) : read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            say(why, why_cap, "cannot read %s: %s; check the file", path, strerror(e));
            return refuse(fd, buf, cap, len, e);
        }
        if (got == 0) break;
        if (full) {
            explicit_bzero(&extra, sizeof extra);
            say(why, why_cap, "%s is longer than %zu bytes; check the file", path, cap);
            return refuse(fd, buf, cap, len, BH_ETOOBIG);
        }
        n += (size_t)got;
    }
    close(fd);
    *len = n;
    return BH_OK;
}

int bh_seckey_parse_text(bh_seckey *out, const char *text, size_t len)
{
    if (out) bh_seckey_clear(out);
    if (!out || (!text && len)) return BH_EINVAL;
    if (len > 0 && text[len - 1] == '\n') len--;
    if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text += 2, len -= 2;
    /* 64 characters that decode to exactly 32 bytes: a second "0x" cannot */
    if (len != 2 * sizeof out->data ||
        bh_hex_decode_exact(out->data, sizeof out->data, text, len) != BH_OK) {
        bh_seckey_clear(out);
        return BH_EMALFORMED;
    }
    return BH_OK;
}

int bh_seckey_load_file(bh_seckey *out, char *why, size_t why_cap, const char *path)
{
    if (out) bh_seckey_clear(out);
    if (!out) {
        say(why, why_cap, "invalid arguments");
        return BH_EINVAL;
    }
    char buf[BH_SECKEY_TEXT_MAX];
    size_t n = 0;
    int rc = bh_secret_read_file(buf, sizeof buf, &n, why, why_cap, path);
    int no_key = rc == BH_ETOOBIG || (rc == BH_OK && bh_seckey_parse_text(out, buf, n) != BH_OK);
    explicit_bzero(buf, sizeof buf);
    if (no_key) { /* too long, or not key text: the fix, never the content */
        say(why, why_cap,
            "%s holds no key; write the 32-byte secret as 64 hex digits (optional 0x, one "
            "trailing newline)",
            path);
        return BH_EMALFORMED;
    }
    return rc;
}
