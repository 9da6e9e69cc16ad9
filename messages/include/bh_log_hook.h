/* The one shape of a log hook, for every library that reports through its
 * caller: a level from the enum the node's logger (relayer/bh_log.h) uses,
 * and a finished one-line message.
 *
 * With the hook a library takes the least severe level its caller wants,
 * and checks it before it formats anything (the house rule, after redis'
 * serverLog): a message below it is neither formatted nor passed on, so a
 * disabled level costs a comparison. */
#ifndef BH_LOG_HOOK_H
#define BH_LOG_HOOK_H

/* Severity, least to most. The node's log_level names them debug, info,
 * warn and error. */
typedef enum { BH_LOG_DEBUG = 0, BH_LOG_INFO, BH_LOG_WARN, BH_LOG_ERROR } bh_log_level;

/* Receives one message at level, already past the minimum.
 * In: ud   the pointer given with the hook, as is.
 *     msg  one line, NUL-terminated; borrowed for the call only.
 * May be called from several of the library's threads at once. */
typedef void (*bh_log_fn)(void *ud, bh_log_level level, const char *msg);

#endif
