/* Operator requests a chain's watcher serves (the admin API's reobserve
 * and cursor): the watcher owns the chain's reads and its cursor, so a
 * request waits at the watcher's next turn instead of racing it.
 *
 *   re-observe   one transaction by hash, read again with the quorum and
 *                every check of the watcher's own reads; each of its events
 *                goes to its vault once (node_vault_reobserved).
 *   rewind       the cursor moved back at most NODE_REWIND_MAX blocks; the
 *                blocks up to the old cursor are read again and their events
 *                go the same way, never twice to a vault; journaled in the
 *                chain's vault with actor and reason. */
#include "node_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_log.h"

enum { REQ_REOBSERVE = 1, REQ_REWIND };

struct node_watch_req {
    int kind;
    bh_hash32 tx;     /* REQ_REOBSERVE */
    uint64_t to;      /* REQ_REWIND */
    char actor[80];   /* REQ_REWIND */
    char reason[256]; /* REQ_REWIND */
    int taken;        /* the watcher is serving it */
    int done;
    int abandoned; /* the asker stopped waiting: the watcher frees it */
    int rc;
    json_t *out;
    char why[256];
};

static void req_free(node_watch_req *r)
{
    if (!r) return;
    json_decref(r->out);
    free(r);
}

static node_chain *chain_named(bh_node *n, const char *name)
{
    for (size_t i = 0; name && i < n->n; i++)
        if (strcmp(n->chains[i].cfg->name, name) == 0) return &n->chains[i];
    return NULL;
}

/* Hand r to c's watcher and wait for it. Takes r. */
static int ask(node_chain *c, node_watch_req *r, unsigned timeout_ms, json_t **out, char *why,
               size_t cap)
{
    uint64_t until = mono_ms() + timeout_ms;
    pthread_mutex_lock(&c->req_mu);
    if (c->req) {
        pthread_mutex_unlock(&c->req_mu);
        req_free(r);
        snprintf(why, cap, "another request to chain %s's watcher is running; try again",
                 c->cfg->name);
        return BH_EBUSY;
    }
    c->req = r;
    /* in slices: a stopping node (whose watcher serves nothing more) is
     * seen within 100 ms */
    while (!r->done && !stopping(c->node) && mono_ms() < until) {
        struct timespec slice = deadline_in(100);
        pthread_cond_timedwait(&c->req_cv, &c->req_mu, &slice);
    }
    if (!r->done) {
        if (r->taken) {
            r->abandoned = 1; /* freed by the watcher when it is done */
        } else {
            c->req = NULL;
            req_free(r);
        }
        pthread_mutex_unlock(&c->req_mu);
        snprintf(why, cap,
                 "chain %s's watcher did not finish it within %u s (a long read, or the node is "
                 "stopping); it may still complete: look at the journal",
                 c->cfg->name, timeout_ms / 1000);
        return BH_ETIMEOUT;
    }
    pthread_mutex_unlock(&c->req_mu);
    int rc = r->rc;
    if (rc == BH_OK) {
        *out = r->out;
        r->out = NULL;
    } else {
        snprintf(why, cap, "%s", r->why);
    }
    req_free(r);
    return rc;
}

int bh_node_reobserve(bh_node *n, const char *chain, const bh_hash32 *tx, unsigned timeout_ms,
                      json_t **out, char *why, size_t cap)
{
    *out = NULL;
    node_chain *c = chain_named(n, chain);
    if (!c) {
        snprintf(why, cap, "no chain named '%s' in the node's config", chain ? chain : "");
        return BH_ENOTFOUND;
    }
    if (!c->be->fetch_tx) {
        snprintf(why, cap, "chain %s's kind cannot read one transaction", c->cfg->name);
        return BH_ESTATE;
    }
    node_watch_req *r = calloc(1, sizeof *r);
    if (!r) return BH_ENOMEM;
    r->kind = REQ_REOBSERVE;
    r->tx = *tx;
    return ask(c, r, timeout_ms, out, why, cap);
}

int bh_node_rewind(bh_node *n, const char *chain, uint64_t to_block, const char *actor,
                   const char *reason, unsigned timeout_ms, json_t **out, char *why, size_t cap)
{
    *out = NULL;
    node_chain *c = chain_named(n, chain);
    if (!c) {
        snprintf(why, cap, "no chain named '%s' in the node's config", chain ? chain : "");
        return BH_ENOTFOUND;
    }
    if (!reason || !*reason) {
        snprintf(why, cap, "a rewind needs a reason");
        return BH_EINVAL;
    }
    node_watch_req *r = calloc(1, sizeof *r);
    if (!r) return BH_ENOMEM;
    r->kind = REQ_REWIND;
    r->to = to_block;
    snprintf(r->actor, sizeof r->actor, "%s", actor ? actor : "");
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    return ask(c, r, timeout_ms, out, why, cap);
}

int bh_node_cursor(bh_node *n, const char *chain, json_t **out, char *why, size_t cap)
{
    *out = NULL;
    node_chain *c = chain_named(n, chain);
    if (!c) {
        snprintf(why, cap, "no chain named '%s' in the node's config", chain ? chain : "");
        return BH_ENOTFOUND;
    }
    node_cursor cur;
    int rc = node_store_cursor_get(n->store, c->cfg->bridge_id, &cur);
    if (rc == BH_ENOTFOUND) {
        memset(&cur, 0, sizeof cur);
        cur.number = c->cfg->start_block ? c->cfg->start_block - 1 : 0;
        rc = BH_OK;
    }
    if (rc) {
        snprintf(why, cap, "node store: %s", bh_strerror(rc));
        return rc;
    }
    char h[67];
    node_hex0x(h, cur.hash.data, 32);
    uint64_t floor = cur.number > NODE_REWIND_MAX ? cur.number - NODE_REWIND_MAX : 0;
    if (c->cfg->start_block && floor + 1 < c->cfg->start_block) floor = c->cfg->start_block - 1;
    *out = json_pack("{s:s, s:I, s:s, s:o, s:I, s:I, s:I, s:I}", "chain", c->cfg->name, "cursor",
                     (json_int_t)cur.number, "hash", h, "next_sequence",
                     cur.has_seq ? json_integer((json_int_t)cur.next_seq) : json_null(),
                     "finalized", (json_int_t)atomic_load(&c->finalized), "head",
                     (json_int_t)atomic_load(&c->head), "start_block",
                     (json_int_t)c->cfg->start_block, "rewind_floor", (json_int_t)floor);
    return *out ? BH_OK : BH_ENOMEM;
}

/* ---- the watcher's side ---- */

static const char *status_name(const bh_vault_result *res)
{
    switch (res->status) {
    case BH_VAULT_ACCEPTED:
        return "accepted";
    case BH_VAULT_DELAYED:
        return "delayed";
    case BH_VAULT_HELD:
        return "held";
    case BH_VAULT_REJECTED:
        return "rejected";
    }
    return "?";
}

json_t *node_reobserve_event(node_chain *c, const bh_chain_event *e, int reread)
{
    bh_node *n = c->node;
    char tx[67];
    node_hex0x(tx, e->tx_hash.data, 32);
    json_t *o =
        json_pack("{s:I, s:s, s:I, s:s}", "block", (json_int_t)e->block_number, "tx", tx, "log",
                  (json_int_t)e->log_index, "kind", e->kind == BH_EVENT_BURN ? "burn" : "lock");
    if (!o) return NULL;
    if (e->has_sequence) json_object_set_new(o, "sequence", json_integer((json_int_t)e->sequence));
    node_chain *home =
        e->msg.transfer.token_chain ? node_chain_by_id(n, e->msg.transfer.token_chain) : NULL;
    if (!home) {
        json_object_set_new(o, "outcome", json_string("unroutable"));
        if (e->verdict != BH_REJECT_OK)
            json_object_set_new(o, "reason", json_string(bh_reject_name(e->verdict)));
        return o;
    }
    node_inbox_rec rec = {
        .msg = e->msg, .verdict = (uint32_t)e->verdict, .kind = e->kind, .observed_ms = wall_ms()};
    node_vault *nv = &n->vaults[home->idx];
    bh_vault_result res;
    const char *outcome = "";
    int rc = node_vault_reobserved(nv, &rec, reread, &res, &outcome);
    json_object_set_new(o, "vault", json_string(nv->cfg->name));
    if (rc) {
        json_object_set_new(o, "outcome", json_string("failed"));
        json_object_set_new(o, "reason", json_string(bh_errname(rc)));
        return o;
    }
    json_object_set_new(o, "outcome", json_string(outcome));
    if (strcmp(outcome, "applied") == 0) {
        json_object_set_new(o, "status", json_string(status_name(&res)));
        if (res.status == BH_VAULT_REJECTED)
            json_object_set_new(o, "reason", json_string(bh_reject_name(res.reason)));
    }
    return o;
}

static void serve_reobserve(node_chain *c, const node_cursor *pc, node_watch_req *r)
{
    char tx[67];
    node_hex0x(tx, r->tx.data, 32);
    bh_chain_event *ev = NULL;
    size_t cnt = 0;
    uint64_t block = 0;
    /* only what the watcher has read: a later block it reads itself, in order */
    int rc = c->be->fetch_tx(c->impl, &r->tx, pc->number, &ev, &cnt, &block);
    r->rc = rc;
    if (rc == BH_ENOTFOUND) {
        snprintf(r->why, sizeof r->why,
                 "no successful transaction %s on chain %s (as its endpoint quorum says)", tx,
                 c->cfg->name);
        return;
    }
    if (rc == BH_ESTATE) {
        uint64_t fin = atomic_load(&c->finalized);
        if (block > fin)
            snprintf(r->why, sizeof r->why,
                     "transaction %s is in block %" PRIu64 ", not final yet (finalized %" PRIu64
                     "): the watcher reads it once it is",
                     tx, block, fin);
        else
            snprintf(r->why, sizeof r->why,
                     "transaction %s is in block %" PRIu64 ", above the cursor %" PRIu64
                     ": the watcher reads it in order",
                     tx, block, pc->number);
        return;
    }
    if (rc != BH_OK) {
        snprintf(r->why, sizeof r->why, "cannot read transaction %s on chain %s: %s", tx,
                 c->cfg->name, bh_strerror(rc));
        return;
    }
    json_t *events = json_array();
    for (size_t i = 0; events && i < cnt; i++) {
        json_t *o = node_reobserve_event(c, &ev[i], 0);
        if (o) json_array_append_new(events, o);
    }
    free(ev);
    r->out = json_pack("{s:s, s:s, s:I, s:o?}", "chain", c->cfg->name, "tx", tx, "block",
                       (json_int_t)block, "events", events);
    if (!r->out) r->rc = BH_ENOMEM;
    BH_LOG(BH_LOG_INFO, "reobserved", "chain=%s tx=%s block=%" PRIu64 " events=%zu", c->cfg->name,
           tx, block, cnt);
}

static void serve_rewind(node_chain *c, node_cursor *pc, node_watch_req *r)
{
    bh_node *n = c->node;
    uint64_t from = pc->number, to = r->to;
    uint64_t floor = from > NODE_REWIND_MAX ? from - NODE_REWIND_MAX : 0;
    if (c->cfg->start_block && floor + 1 < c->cfg->start_block) floor = c->cfg->start_block - 1;
    r->rc = BH_EINVAL;
    if (to >= from) {
        snprintf(r->why, sizeof r->why,
                 "a rewind goes back: block %" PRIu64 " is not below the cursor %" PRIu64, to,
                 from);
        return;
    }
    if (to < floor) {
        snprintf(r->why, sizeof r->why,
                 "block %" PRIu64 " is below the lowest block a rewind may reach, %" PRIu64
                 " (at most %u blocks back, never below start_block - 1)",
                 to, floor, (unsigned)NODE_REWIND_MAX);
        return;
    }
    bh_hash32 h;
    int rc = c->be->watch.block_hash(c->impl, to, &h);
    if (rc) {
        r->rc = rc;
        snprintf(r->why, sizeof r->why, "cannot read block %" PRIu64 "'s hash: %s", to,
                 bh_strerror(rc));
        return;
    }
    /* the sequence check goes on across the re-read: the Portal says which
     * sequence follows block `to` */
    uint64_t next_seq = 0;
    rc = c->be->portal_sequence ? c->be->portal_sequence(c->impl, to, &next_seq) : BH_ESTATE;
    if (rc) {
        r->rc = rc;
        snprintf(r->why, sizeof r->why,
                 "cannot read the Portal's sequence at block %" PRIu64
                 " (%s): a rewind keeps the sequence check, which needs the Portal's state "
                 "there (an archive endpoint keeps it)",
                 to, bh_strerror(rc));
        return;
    }
    /* journaled before the move: a journal entry of a move that then failed
     * says so in the log; a move without its entry cannot happen */
    node_vault *nv = &n->vaults[c->idx];
    pthread_mutex_lock(&nv->mu);
    rc = bh_vault_journal_cursor(nv->v, c->cfg->bridge_id, from, to, now_s(), r->actor, r->reason);
    pthread_mutex_unlock(&nv->mu);
    if (rc == BH_OK) {
        node_cursor next = {.number = to, .hash = h, .next_seq = next_seq, .has_seq = 1};
        rc = node_store_commit(n->store, c->cfg->bridge_id, &next, NULL, NULL, 0);
    }
    if (rc == BH_OK) rc = node_watcher_reset(c, pc);
    r->rc = rc;
    if (rc) {
        snprintf(r->why, sizeof r->why, "cannot move the cursor: %s", bh_strerror(rc));
        BH_LOG(BH_LOG_ERROR, "rewind_failed", "chain=%s from=%" PRIu64 " to=%" PRIu64 " error=%s",
               c->cfg->name, from, to, bh_errname(rc));
        return;
    }
    if (c->replay_to < from) c->replay_to = from;
    char q1[120], q2[300];
    BH_LOG(BH_LOG_WARN, "cursor_rewound",
           "chain=%s from=%" PRIu64 " to=%" PRIu64 " actor=%s reason=%s", c->cfg->name, from, to,
           bh_log_quote(q1, sizeof q1, r->actor), bh_log_quote(q2, sizeof q2, r->reason));
    r->out = json_pack("{s:s, s:I, s:I, s:I}", "chain", c->cfg->name, "from", (json_int_t)from,
                       "to", (json_int_t)to, "reread_to", (json_int_t)c->replay_to);
    if (!r->out) r->rc = BH_ENOMEM;
}

void node_watch_serve(node_chain *c, node_cursor *pc)
{
    pthread_mutex_lock(&c->req_mu);
    node_watch_req *r = c->req;
    if (r) r->taken = 1;
    pthread_mutex_unlock(&c->req_mu);
    if (!r) return;
    if (r->kind == REQ_REOBSERVE)
        serve_reobserve(c, pc, r);
    else
        serve_rewind(c, pc, r);
    pthread_mutex_lock(&c->req_mu);
    c->req = NULL;
    r->done = 1;
    int gone = r->abandoned;
    pthread_cond_broadcast(&c->req_cv);
    pthread_mutex_unlock(&c->req_mu);
    if (gone) req_free(r);
}
