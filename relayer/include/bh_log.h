/* Structured logs: one line per event, key=value pairs, a level each.
 *
 *   ts=2026-11-21T10:00:00.123Z level=info event=applied vault=alpha n=12
 *
 * The level is checked before anything is formatted (use BH_LOG: a
 * disabled level does not even evaluate its arguments). Each line is
 * written with a single write(2) on an O_APPEND|O_CLOEXEC descriptor
 * (file created 0640, less the umask), so lines from several threads
 * never interleave. bh_log_reopen (on SIGHUP) reopens the file so rotation
 * tools can move it away. Thread-safe; writers never take a lock.
 * Secrets never go through here. */
#ifndef BH_LOG_H
#define BH_LOG_H

#include <stddef.h>
#include "bh_config.h"
#include "bh_error.h"

/* Open the log: path NULL or "" = stderr. Replaces a previous log; lines
 * written concurrently go to the old or the new one, none is lost.
 * Returns: BH_OK; BH_EINVAL for a level out of range; errno of open(2)
 *          (the previous log and level stay in place).
 * In: path  copied; a relative path is resolved again at each reopen. */
BH_WARN_UNUSED_RESULT int bh_log_open(const char *path, bh_log_level min);

/* Reopen the same path (no-op for stderr): after `mv log log.1`, new lines
 * go to a new `log`. Not async-signal-safe: the SIGHUP handler sets a flag
 * and a normal thread calls this.
 * Returns: BH_OK; errno of open(2) (lines keep going to the old file). */
BH_WARN_UNUSED_RESULT int bh_log_reopen(void);

/* Close the file: logs go to stderr (the descriptor 2 of this moment)
 * afterwards; the level is kept. */
void bh_log_close(void);

/* Returns: 1 if a line at level l would be written. */
int bh_log_enabled(bh_log_level l);

/* Write one line: ts (UTC, milliseconds), level, event, then the caller's
 * key=value text:
 *   ts=2026-11-21T10:00:00.123Z level=warn event=<event> <text>\n
 * Values that may hold spaces or quotes should be passed through
 * bh_log_quote; raw control bytes left in the text are written as '?' so
 * an event stays one line. A line is cut to 2048 bytes including its
 * newline. Write errors are ignored (there is nowhere to report them). */
void bh_log_write(bh_log_level l, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define BH_LOG(level, event, ...)                                                                  \
    do {                                                                                           \
        if (bh_log_enabled(level)) bh_log_write(level, event, __VA_ARGS__);                        \
    } while (0)

/* Quote a value for a key=value line when needed ("a b" -> "\"a b\"").
 * A value with a space, '"', '=', a control byte, or an empty value is
 * quoted: '"' and backslash get a backslash before them, newline, tab and CR become
 * \n \t \r, other control bytes \xNN (lower-case hex); anything else
 * (bytes >= 0x80 included) is copied as is, unquoted when plain.
 * Returns: out, NUL-terminated, cut to cap (a cut quoted value still ends
 *          with its closing quote and never splits an escape); NULL value
 *          is quoted as "". cap 0 writes nothing. */
const char *bh_log_quote(char *out, size_t cap, const char *value);

#endif
