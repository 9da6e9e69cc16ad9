/* Supply reconciliation and the audit against the chain: what a chain
 * holds (a wrapped token's totalSupply, the Portal's custody balance and
 * its outstanding per lane) against what the vaults say, allowing for what
 * is in flight. The node runs it from each chain's watcher every
 * node.reconcile_s seconds (relayer/src/node_reconcile.c explains the
 * bounds) and stores the last result per chain in DATA_DIR/node (meta
 * "recon/<bridge id>"); vaultctl reads it, or runs the audit itself from
 * the node's config. */
#ifndef BH_RECONCILE_H
#define BH_RECONCILE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "bh_config.h"
#include "bh_error.h"
#include "bh_types.h"

typedef enum {
    BH_RECON_SUPPLY = 0, /* totalSupply of the wrapped token on lane vs outstanding[lane] */
    BH_RECON_CUSTODY,    /* token.balanceOf(home Portal) vs locked */
    BH_RECON_PORTAL      /* the home Portal's outstanding(token, lane) vs outstanding[lane] */
} bh_recon_check;

typedef enum {
    BH_RECON_OK = 0,     /* within the in-flight bounds */
    BH_RECON_EXCESS,     /* the chain holds diff more than the ledger and what is in flight */
    BH_RECON_SHORT,      /* the chain holds diff less */
    BH_RECON_SETTLING,   /* a harmless-direction difference while deliveries acknowledged
                            before the node started may still be unseen */
    BH_RECON_UNREAD,     /* not read */
    BH_RECON_UNCONFIRMED /* a supply excess while another chain's watcher lags: this node
                            may not know yet what the other attesters executed */
} bh_recon_status;

/* One comparison: ledger - below <= onchain <= ledger + above is OK. */
typedef struct {
    uint16_t vault; /* the vault's home chain (bridge id) */
    uint8_t check;  /* bh_recon_check */
    uint8_t status; /* bh_recon_status */
    uint16_t lane;  /* SUPPLY, PORTAL: the remote chain; CUSTODY: 0 */
    bh_bytes32 token;
    bh_u128 onchain, ledger, above, below;
    bh_u128 diff; /* beyond the bounds, 0 when OK */
} bh_recon_line;

/* Set l->status and l->diff from the other fields. settled 0: a difference
 * in the direction that waits for deliveries of before the start reads
 * SETTLING (a supply excess and a custody shortfall never do). */
void bh_reconcile_judge(bh_recon_line *l, int settled);

/* Returns: "supply", "custody", "portal_outstanding"; "ok", "excess",
 * "short", "settling", "unread", "unconfirmed"; never NULL. */
const char *bh_reconcile_check_name(unsigned check);
const char *bh_reconcile_status_name(unsigned status);

/* The last result the node stored for each chain, as JSON:
 * [ { "chain": "beta", "block": 120, "time": 1790000000, "settled": true,
 *     "lines": [ { "check": "supply", "vault": "alpha", "asset": "TKA",
 *        "token": "0x…", "lane": "beta", "onchain": "…", "ledger": "…",
 *        "in_flight_above": "…", "in_flight_below": "…", "drift": "0",
 *        "status": "ok" } ] } ]
 * drift is signed: what lies beyond the bounds, negative when short.
 * Returns: BH_OK; BH_ENOTFOUND when data_dir has no node store; a store
 *          status. Out: out  caller decrefs; err set on failure. */
BH_WARN_UNUSED_RESULT int bh_reconcile_read(json_t **out, char *err, size_t err_cap,
                                            const char *data_dir,
                                            const bh_config *cfg /* names; may be NULL */);

/* Audit the chains of cfg now, from outside the node: for each home chain,
 * custody and the Portal's outstanding at the node's stored cursor, with
 * what is in flight read from the vaults and the node store while neither
 * moves (read again until two readings agree). Deliveries the node
 * acknowledged whose execution lies past the cursor are not known here: a
 * difference in that direction is read again once the cursor has passed the
 * head seen at the first reading (up to wait_ms), then reported.
 * Out: out  the same document as bh_reconcile_read (custody and portal
 *           lines only); caller decrefs.
 *      mismatches  lines not OK.
 * Returns: BH_OK (see mismatches); BH_EBUSY if the vaults never held still;
 *          a chain or store error, err set. */
BH_WARN_UNUSED_RESULT int bh_reconcile_audit(json_t **out, size_t *mismatches, char *err,
                                             size_t err_cap, const bh_config *cfg,
                                             unsigned wait_ms);

#endif
