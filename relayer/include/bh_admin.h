/* The node's admin API (POST /admin/v1/... on the operator port, behind
 * its own bearer token; the transport is bh_http.h).
 *
 *   POST /admin/v1/vaultctl  {"argv": ["release", "alpha/3", "--reason", "why"],
 *                             "actor": "alice"}
 *     runs that vaultctl verb on the node's own data directory in a child
 *     process (`bulkhead vaultctl`), so the API takes the same verbs, refuses
 *     what vaultctl refuses and answers with what vaultctl prints:
 *     200 {"ok": rc == 0, "rc": 0|1|2, "stdout": "...", "stderr": "..."}.
 *     The actor is journaled as "api:<actor>". argv may not set the data
 *     directory (-d, --data-dir), the actor or a file to read (--config:
 *     `audit --config` runs on the node's host); `migrate` runs on a
 *     stopped node only.
 *
 * The child gets a minimal environment (PATH, LD_LIBRARY_PATH, TZ, HOME,
 * TMPDIR, the locale, the sanitizers' options): never the variables that hold the node's keys
 * or tokens.
 *
 * Every action is logged (event=admin_action, with actor and rc) and sent
 * on /ws as an "admin" event. Errors: 400 {"ok":false,"error":"bad_request",
 * "message":...} for a malformed request, 404 for an unknown path, 504 when
 * the verb ran past the timeout (killed). */
#ifndef BH_ADMIN_H
#define BH_ADMIN_H

#include <jansson.h>

#include "bh_node.h"

typedef struct {
    const char *exe;      /* the bulkhead binary the verbs run in; borrowed */
    const char *data_dir; /* the node's data directory; borrowed */
    unsigned timeout_s;   /* a verb running longer is killed; 0 = 30 */
    bh_node *node;        /* events go to its observer; NULL = none */
} bh_admin;

/* A bh_http_source.admin handler (ud = a bh_admin). Blocking; thread-safe
 * for one call at a time (the server runs one). */
void bh_admin_handle(void *ud, const char *path, const json_t *req, unsigned *status,
                     json_t **resp);

/* Limits of a vaultctl request. */
#define BH_ADMIN_MAX_ARGS 64
#define BH_ADMIN_MAX_ARG 1024
#define BH_ADMIN_MAX_OUTPUT (4u << 20)

#endif
