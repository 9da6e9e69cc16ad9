#include "bh_error.h"

#include <string.h>

struct code_entry {
    const char *name;
    const char *msg;
};

/* Indexed by code - BH_EINVAL; one table so names and messages stay paired. */
static const struct code_entry codes[] = {
    [BH_EINVAL - BH_EINVAL] = {"EINVAL", "invalid argument"},
    [BH_ENOMEM - BH_EINVAL] = {"ENOMEM", "out of memory"},
    [BH_ERANGE - BH_EINVAL] = {"ERANGE", "value out of range"},
    [BH_EMALFORMED - BH_EINVAL] = {"EMALFORMED", "malformed input"},
    [BH_ENOSPC - BH_EINVAL] = {"ENOSPC", "output buffer too small"},
    [BH_ECRYPTO - BH_EINVAL] = {"ECRYPTO", "signature or key operation failed"},
    [BH_ENOTFOUND - BH_EINVAL] = {"ENOTFOUND", "not found"},
    [BH_EEXIST - BH_EINVAL] = {"EEXIST", "already exists"},
    [BH_EIO - BH_EINVAL] = {"EIO", "I/O error"},
    [BH_ESCHEMA - BH_EINVAL] = {"ESCHEMA", "stored schema is newer or unknown"},
    [BH_EMAPFULL - BH_EINVAL] = {"EMAPFULL", "storage map is full"},
    [BH_ECORRUPT - BH_EINVAL] = {"ECORRUPT", "stored data is inconsistent"},
    [BH_EBUSY - BH_EINVAL] = {"EBUSY", "resource busy"},
    [BH_ETIMEOUT - BH_EINVAL] = {"ETIMEOUT", "timed out"},
    [BH_EHTTP - BH_EINVAL] = {"EHTTP", "HTTP transport failure"},
    [BH_ERPC - BH_EINVAL] = {"ERPC", "JSON-RPC error returned"},
    [BH_EPROTO - BH_EINVAL] = {"EPROTO", "peer sent an invalid answer"},
    [BH_ETOOBIG - BH_EINVAL] = {"ETOOBIG", "answer exceeds the size cap"},
    [BH_ENOQUORUM - BH_EINVAL] = {"ENOQUORUM", "not enough sources agree"},
    [BH_ECHAINID - BH_EINVAL] = {"ECHAINID", "endpoint serves another chain"},
    [BH_ECONFIG - BH_EINVAL] = {"ECONFIG", "configuration refused"},
    [BH_EPERM - BH_EINVAL] = {"EPERM", "permission refused"},
    [BH_EINVARIANT - BH_EINVAL] = {"EINVARIANT", "ledger invariant would break"},
    [BH_ESTATE - BH_EINVAL] = {"ESTATE", "not valid in the current state"},
    [BH_EEQUIVOCATION - BH_EINVAL] = {"EEQUIVOCATION", "conflicting finalized history"},
    [BH_EREVERTED - BH_EINVAL] = {"EREVERTED", "transaction reverted on chain"},
};

_Static_assert(sizeof(codes) / sizeof(codes[0]) == (size_t)(BH_ELAST_ - BH_EINVAL),
               "every status code needs a table entry");

static const struct code_entry *lookup(int code)
{
    if (code < BH_EINVAL || code >= BH_ELAST_) return NULL;
    return &codes[code - BH_EINVAL];
}

const char *bh_strerror(int code)
{
    if (code == BH_OK) return "success";
    if (code > 0) return strerror(code);
    const struct code_entry *e = lookup(code);
    return e ? e->msg : "unknown error";
}

const char *bh_errname(int code)
{
    if (code == BH_OK) return "OK";
    if (code > 0) {
        const char *n = strerrorname_np(code);
        return n ? n : "EUNKNOWN";
    }
    const struct code_entry *e = lookup(code);
    return e ? e->name : "EUNKNOWN";
}
