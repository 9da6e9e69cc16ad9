/* Structured logs: one line per event, key=value pairs, a level each.
 *
 *   ts=2026-11-21T10:00:00.123Z level=info event=applied vault=alpha n=12
 *
 * The level is checked before anything is formatted. Each line is written
 * with a single write(2) on an O_APPEND descriptor, so lines from several
 * threads never interleave. bh_log_reopen (on SIGHUP) reopens the file so
 * rotation tools can move it away. Secrets never go through here. */
#ifndef BH_LOG_H
#define BH_LOG_H

#include <stddef.h>
#include "bh_config.h"
#include "bh_error.h"

/* Open the log: path NULL or "" = stderr. Replaces a previous log.
 * Returns: BH_OK; errno of open(2). */
BH_WARN_UNUSED_RESULT int bh_log_open(const char *path, bh_log_level min);

/* Reopen the same path (no-op for stderr). Returns: BH_OK; errno. */
BH_WARN_UNUSED_RESULT int bh_log_reopen(void);

/* Close the file (logs go to stderr afterwards). */
void bh_log_close(void);

/* Returns: 1 if a line at level l would be written. */
int bh_log_enabled(bh_log_level l);

/* Write one line: ts, level, event, then the caller's key=value text.
 * Values that may hold spaces or quotes should be passed through
 * bh_log_quote. Lines are cut at 2 KiB. */
void bh_log_write(bh_log_level l, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define BH_LOG(level, event, ...)                                                                  \
    do {                                                                                           \
        if (bh_log_enabled(level)) bh_log_write(level, event, __VA_ARGS__);                        \
    } while (0)

/* Quote a value for a key=value line when needed ("a b" -> "\"a b\"").
 * Returns: out (NUL-terminated, cut to cap). */
const char *bh_log_quote(char *out, size_t cap, const char *value);

#endif
