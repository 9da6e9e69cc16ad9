/* bulkhead status codes, shared by every module.
 *
 * 0 is success; bulkhead's own codes are negative and live in one block;
 * a positive value is an errno passed through unchanged. Foreign codes
 * (LMDB, curl, libwebsockets) are translated at the module edge and never
 * returned past it. */
#ifndef BH_ERROR_H
#define BH_ERROR_H

#if defined(__GNUC__)
#define BH_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#else
#define BH_WARN_UNUSED_RESULT
#endif

#define BH_OK 0

enum {
    BH_EINVAL = -30900, /* invalid argument (caller misuse) */
    BH_ENOMEM,          /* out of memory */
    BH_ERANGE,          /* value does not fit (overflow, u256 > u128) */
    BH_EMALFORMED,      /* untrusted bytes do not follow their format */
    BH_ENOSPC,          /* output buffer too small */
    BH_ECRYPTO,         /* a signature or key operation failed */
    BH_ENOTFOUND,       /* no such entry */
    BH_EEXIST,          /* entry already exists */
    BH_EIO,             /* I/O failed */
    BH_ESCHEMA,         /* stored schema is newer or unknown */
    BH_EMAPFULL,        /* storage map is full and could not grow */
    BH_ECORRUPT,        /* stored data is inconsistent */
    BH_EBUSY,           /* resource busy (locked, full queue) */
    BH_ETIMEOUT,        /* operation timed out */
    BH_EHTTP,           /* HTTP transport failure or status */
    BH_ERPC,            /* JSON-RPC error object returned */
    BH_EPROTO,          /* peer answered with garbage or wrong types */
    BH_ETOOBIG,         /* answer larger than the allowed cap */
    BH_ENOQUORUM,       /* not enough sources agree */
    BH_ECHAINID,        /* endpoint serves another chain */
    BH_ECONFIG,         /* configuration refused */
    BH_EPERM,           /* permission refused (key file mode, ...) */
    BH_EINVARIANT,      /* a ledger invariant would break */
    BH_ESTATE,          /* operation not valid in the current state */
    BH_EEQUIVOCATION,   /* sources disagree at a finalized height, or it changed */
    BH_EREVERTED,       /* a transaction or call reverted on chain */
    BH_ELAST_           /* one past the last code; not an error */
};

/* Returns: a static, human-readable message for a status code; never NULL.
 * In: code  any value returned by a bulkhead function. */
const char *bh_strerror(int code);

/* Returns: the stable symbolic name of a status ("EINVAL", "EMALFORMED",
 * an errno name for positive codes, "OK" for 0); never NULL. */
const char *bh_errname(int code);

#endif
