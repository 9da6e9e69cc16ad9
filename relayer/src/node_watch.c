/* The watcher of one chain: it follows the finalized head through the
 * chain's endpoint quorum, checks the chain is the one data_dir was made
 * with, and stores each poll's events with the new cursor in one
 * transaction. A chain whose answering endpoints keep it from advancing is
 * reported as stalled. */
#include "node_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_be.h"
#include "bh_log.h"
#include "node_policy.h"

/* ---- watcher ---- */

static int w_verify(void *impl)
{
    node_chain *c = impl;
    return c->be->watch.verify(c->impl);
}

static int w_finalized(void *impl, bh_block_ref *out)
{
    node_chain *c = impl;
    int rc = c->be->watch.finalized(c->impl, out);
    if (rc == BH_OK) {
        atomic_store(&c->finalized, out->number);
        if (atomic_load(&c->head) < out->number) atomic_store(&c->head, out->number);
    }
    return rc;
}

static int w_block_hash(void *impl, uint64_t number, bh_hash32 *out)
{
    node_chain *c = impl;
    return c->be->watch.block_hash(c->impl, number, out);
}

static int w_fetch(void *impl, uint64_t from, uint64_t to, bh_chain_event **events, size_t *n,
                   uint64_t *done_to)
{
    node_chain *c = impl;
    return c->be->watch.fetch(c->impl, from, to, events, n, done_to);
}

void node_rpc_log(void *ud, bh_log_level level, const char *msg)
{
    node_chain *c = ud;
    char q[600];
    BH_LOG(level, "rpc", "chain=%s msg=%s", c->cfg->name, bh_log_quote(q, sizeof q, msg));
}

static void update_head(node_chain *c)
{
    uint64_t h;
    if (c->be->head(c->impl, &h) == BH_OK) atomic_store(&c->head, h);
}

/* Persist one poll's events with the new cursor; wake their vaults. */
static int store_events(node_chain *c, const bh_chain_event *ev, size_t cnt,
                        const bh_block_ref *cur, node_cursor *pc)
{
    bh_node *n = c->node;
    node_inbox_rec *recs = cnt ? calloc(cnt, sizeof *recs) : NULL;
    uint16_t *to = cnt ? calloc(cnt, sizeof *to) : NULL;
    int *woke = calloc(n->n, sizeof *woke);
    if ((cnt && (!recs || !to)) || !woke) {
        free(recs);
        free(to);
        free(woke);
        return BH_ENOMEM;
    }
    size_t m = 0;
    uint64_t ms = wall_ms();
    node_cursor next = *pc;
    next.number = cur->number;
    next.hash = cur->hash;
    for (size_t i = 0; i < cnt; i++) {
        const bh_chain_event *e = &ev[i];
        int routable = e->msg.transfer.token_chain != 0;
        char tx[67];
        node_hex0x(tx, e->tx_hash.data, 32);
        if (e->verdict != BH_REJECT_OK) {
            char d[160];
            snprintf(d, sizeof d, "seq %" PRIu64 " tx %.18s… log %u: %s", e->msg.sequence, tx,
                     e->log_index, bh_reject_name(e->verdict));
            /* a "lock" naming another home chain: only the Portal emits it. A
             * forged or short lock is judged by its vault (registered asset?). */
            if (e->kind == BH_EVENT_LOCK && routable && e->verdict == BH_REJECT_MALFORMED &&
                e->block_number > c->replay_to) /* counted when first read */
                node_observe(n, c->cfg->bridge_id, BH_OBS_FORGED_LOCK, 1, d);
            BH_LOG(BH_LOG_WARN, "refused_event",
                   "chain=%s block=%" PRIu64 " tx=%s log=%u reason=%s", c->cfg->name,
                   e->block_number, tx, e->log_index, bh_reject_name(e->verdict));
        }
        /* past every decoded event, even one that cannot become a message:
         * a restart must expect the sequence after it */
        if (e->has_sequence) {
            next.next_seq = e->sequence + 1;
            next.has_seq = 1;
        }
        if (e->block_number <= c->replay_to) {
            /* read again after a rewind: to its vault once, never the inbox twice */
            json_decref(node_reobserve_event(c, e, 1));
            continue;
        }
        node_chain *home = routable ? node_chain_by_id(n, e->msg.transfer.token_chain) : NULL;
        if (!home) {
            atomic_fetch_add(&c->unroutable, 1);
            if (e->verdict == BH_REJECT_OK)
                BH_LOG(BH_LOG_WARN, "unroutable", "chain=%s tx=%s log=%u token_chain=%u",
                       c->cfg->name, tx, e->log_index, (unsigned)e->msg.transfer.token_chain);
            continue;
        }
        recs[m].msg = e->msg;
        recs[m].verdict = (uint32_t)e->verdict;
        recs[m].kind = e->kind;
        recs[m].observed_ms = ms;
        to[m] = home->cfg->bridge_id;
        woke[home->idx] = 1;
        m++;
    }
    int rc = node_store_commit(n->store, c->cfg->bridge_id, &next, recs, to, m);
    if (rc == BH_OK) {
        *pc = next;
        /* a rewind's re-read was counted when first read: only what is new
         * goes to the supply check, the counters and the breaker's flow */
        size_t first_new = 0;
        while (first_new < cnt && ev[first_new].block_number <= c->replay_to)
            first_new++;
        node_reconcile_stored(c, ev + first_new, cnt - first_new);
        atomic_fetch_add(&c->queue_depth, m);
        atomic_fetch_add(&c->observed, cnt - first_new);
        atomic_fetch_add(&c->flow, cnt - first_new);
        if (cnt)
            BH_LOG(BH_LOG_INFO, "observed", "chain=%s events=%zu stored=%zu cursor=%" PRIu64,
                   c->cfg->name, cnt, m, cur->number);
        for (size_t i = 0; i < n->n; i++)
            if (woke[i]) poke(&n->vaults[i].wake_mu, &n->vaults[i].wake_cv, &n->vaults[i].wake);
    }
    free(recs);
    free(to);
    free(woke);
    return rc;
}

int node_watcher_reset(node_chain *c, node_cursor *pc)
{
    bh_watcher_destroy(c->w);
    c->w = NULL;
    int rc = node_store_cursor_get(c->node->store, c->cfg->bridge_id, pc);
    if (rc == BH_ENOTFOUND) {
        memset(pc, 0, sizeof *pc);
        pc->number = c->cfg->start_block ? c->cfg->start_block - 1 : 0;
        rc = BH_OK;
    }
    if (rc) return rc;
    if (pc->has_seq) c->be->expect_sequence(c->impl, pc->next_seq, pc->number);
    bh_block_ref ref = {.number = pc->number, .hash = pc->hash};
    atomic_store(&c->cursor, pc->number);
    return bh_watcher_create(&c->w, &c->ops, c, &ref);
}

static void wrong_chain(node_chain *c)
{
    /* an endpoint serves another chain: nothing it says can be trusted */
    BH_LOG(BH_LOG_ERROR, "wrong_chain",
           "chain=%s evm_chain_id=%" PRIu64
           " reason=\"an endpoint serves another chain; fix $.chains[%zu].endpoints\"",
           c->cfg->name, c->cfg->evm_chain_id, c->idx);
    atomic_store(&c->node->fatal, BH_ECHAINID);
}

#define IDENTITY_LEN 40 /* u64 evm chain id, big-endian | genesis block hash */

/* The chain must be the one data_dir was made with: its chain id and its
 * block 0 hash, recorded at the first start. Returns: BH_OK; BH_ECHAINID
 * (an endpoint serves another chain id); BH_ESTATE (another genesis: a
 * reset or different chain; logged); a read error to retry. */
static int check_identity(node_chain *c)
{
    bh_node *n = c->node;
    int rc = w_verify(c);
    if (rc) return rc;
    bh_hash32 g;
    if ((rc = w_block_hash(c, 0, &g))) return rc;
    unsigned char rec[IDENTITY_LEN], have[IDENTITY_LEN];
    bh_be_put_u64(rec, c->cfg->evm_chain_id);
    memcpy(rec + 8, g.data, 32);
    char key[32], gh[67];
    snprintf(key, sizeof key, "chain/%u", (unsigned)c->cfg->bridge_id);
    node_hex0x(gh, g.data, 32);
    rc = node_store_meta_get(n->store, key, have, sizeof have);
    if (rc == BH_ENOTFOUND) {
        rc = node_store_meta_put(n->store, key, rec, sizeof rec);
        if (rc == BH_OK)
            BH_LOG(BH_LOG_INFO, "chain_recorded", "chain=%s evm_chain_id=%" PRIu64 " genesis=%s",
                   c->cfg->name, c->cfg->evm_chain_id, gh);
        return rc;
    }
    if (rc) return rc;
    if (memcmp(have, rec, sizeof rec) == 0) return BH_OK;
    char was[67];
    uint64_t was_id = bh_be_get_u64(have);
    node_hex0x(was, have + 8, 32);
    BH_LOG(BH_LOG_ERROR, "chain_mismatch",
           "chain=%s evm_chain_id=%" PRIu64 " genesis=%s recorded_chain_id=%" PRIu64
           " recorded_genesis=%s reason=\"%s/node was made for another chain (reset or "
           "replaced); point $.chains[%zu].endpoints at the chain it was made for, or start "
           "this chain with a fresh data_dir\"",
           c->cfg->name, c->cfg->evm_chain_id, gh, was_id, was, n->cfg->data_dir, c->idx);
    return BH_ESTATE;
}

/* A failed poll whose endpoints answered, but not so that the watcher can
 * advance (a sequence gap, an impossible answer, a split with no quorum),
 * implicates the chain once it lasts stall_s; endpoints that do not answer
 * at all may be our own network, and only make the node not ready. */
static void note_stall(node_chain *c, int rc, int split)
{
    bh_node *n = c->node;
    unsigned bound = n->cfg->breaker.stall_s;
    uint64_t now = mono_ms();
    if (!c->stall_since_ms) c->stall_since_ms = now;
    if (c->stall_reported || !node_policy_stall_due(c->stall_since_ms, now, bound)) return;
    c->stall_reported = 1;
    char d[140];
    snprintf(d, sizeof d, "no progress past block %" PRIu64 " for %" PRIu64 " s: %s%s",
             atomic_load(&c->cursor), (now - c->stall_since_ms) / 1000, bh_errname(rc),
             split ? " (endpoints split)" : "");
    BH_LOG(BH_LOG_ERROR, "stalled", "chain=%s cursor=%" PRIu64 " error=%s split=%d", c->cfg->name,
           atomic_load(&c->cursor), bh_errname(rc), split);
    node_observe(n, c->cfg->bridge_id, BH_OBS_STALLED, 1, d);
}

static void pins_key(char *key, size_t cap, uint16_t chain)
{
    snprintf(key, cap, "wrapped/%u", (unsigned)chain);
}

/* Keep the wrapped tokens the backend pinned (the Portal's first answers)
 * in the node store, so the next run believes them over a Portal that
 * changed while the node was down. */
static void save_pins(node_chain *c)
{
    bh_node *n = c->node;
    if (!c->be->pins) return;
    size_t k = c->be->pins(c->impl, NULL, 0);
    if (k <= c->pins_saved) return;
    bh_wrapped_pin *pins = calloc(k, sizeof *pins);
    unsigned char *buf = malloc(3 + k * NODE_PIN_LEN);
    int rc = pins && buf ? BH_OK : BH_ENOMEM;
    if (!rc && k > NODE_MAX_PINS) k = NODE_MAX_PINS;
    char key[32];
    pins_key(key, sizeof key, c->cfg->bridge_id);
    if (!rc) {
        c->be->pins(c->impl, pins, k);
        rc = node_store_meta_put(n->store, key, buf, node_pins_encode(buf, pins, k));
    }
    if (rc == BH_OK) {
        BH_LOG(BH_LOG_INFO, "wrapped_pinned", "chain=%s pinned=%zu", c->cfg->name, k);
        c->pins_saved = k;
    } else {
        BH_LOG(BH_LOG_WARN, "pins_save_failed", "chain=%s error=%s", c->cfg->name, bh_errname(rc));
    }
    free(pins);
    free(buf);
}

#define CONTROLS_POLL_MS 3000

static void control_changed(node_chain *c, uint16_t lane, int now_paused)
{
    bh_node *n = c->node;
    char lname[8] = "all";
    const char *ln = lane ? node_chain_name(n, lane, lname) : lname;
    BH_LOG(now_paused ? BH_LOG_WARN : BH_LOG_INFO, now_paused ? "portal_paused" : "portal_unpaused",
           "chain=%s lane=%s", c->cfg->name, ln);
    char d[64];
    snprintf(d, sizeof d, "%s %s", now_paused ? "paused" : "unpaused", lane ? ln : "whole Portal");
    node_emit_portal(c, lane, d);
}

void node_emit_portal(node_chain *c, uint16_t lane, const char *detail)
{
    bh_node_event ev = {.kind = BH_NODE_EV_PORTAL,
                        .time = now_s(),
                        .from_chain = c->cfg->bridge_id,
                        .to_chain = lane,
                        .detail = detail};
    node_emit(c->node, &ev);
}

/* A full read at least this often: a lift or a previous set's grace can
 * come due with no control change to announce it. */
#define CONTROLS_FULL_MS 30000

/* The Portal's controls, every CONTROLS_POLL_MS: one view while its
 * control epoch stays, the whole state when it moves. */
static void watch_controls(node_chain *c)
{
    bh_node *n = c->node;
    if (!c->be->portal_controls || mono_ms() - c->controls_ms < CONTROLS_POLL_MS) return;
    c->controls_ms = mono_ms();
    uint16_t ids[BH_CONFIG_MAX_CHAINS];
    for (size_t i = 0; i < n->n; i++)
        ids[i] = n->chains[i].cfg->bridge_id;
    int full = !c->controls_known || atomic_exchange(&c->controls_stale, 0) ||
               mono_ms() - c->controls_full_ms >= CONTROLS_FULL_MS || node_lift_due(c);
    bh_chain_controls *ctl = calloc(1, sizeof *ctl);
    if (!ctl) return;
    int rc = c->be->portal_controls(c->impl, full ? UINT64_MAX : c->control_epoch, &n->me, ids,
                                    n->n, ctl);
    if (rc || (!full && ctl->epoch == c->control_epoch)) {
        if (rc && full) atomic_store(&c->controls_stale, 1);
        free(ctl);
        return;
    }
    c->control_epoch = ctl->epoch;
    c->controls_full_ms = mono_ms();
    int first = !c->controls_known;
    c->controls_known = 1;
    int paused = ctl->paused;
    int was = atomic_load(&c->portal_paused);
    uint64_t was_lanes = atomic_load(&c->lanes_paused), now_lanes = 0;
    for (size_t i = 0; i < n->n; i++)
        if (ctl->lane[i].lane_paused) now_lanes |= 1ull << i;
    atomic_store(&c->portal_paused, paused);
    atomic_store(&c->lanes_paused, now_lanes);
    if (paused != was || (first && paused)) control_changed(c, 0, paused);
    for (size_t i = 0; i < n->n; i++) {
        int a = (was_lanes >> i) & 1, b = (now_lanes >> i) & 1;
        if (a != b || (first && b)) control_changed(c, n->chains[i].cfg->bridge_id, b);
    }
    node_controls_seen(c, ctl, first); /* also wakes the deliverer */
    free(ctl);
}

void *node_watch_main(void *arg)
{
    node_chain *c = arg;
    bh_node *n = c->node;
    const bh_config *cfg = n->cfg;
    node_cursor pc;
    unsigned fails = 0;
    uint64_t last_head = 0;
    if (node_watcher_reset(c, &pc) != BH_OK) {
        BH_LOG(BH_LOG_ERROR, "watcher_failed", "chain=%s reason=\"cannot read the cursor\"",
               c->cfg->name);
        atomic_store(&n->fatal, BH_EIO);
        return NULL;
    }
    while (!stopping(n) && !atomic_load(&c->identity_ok)) {
        int rc = check_identity(c);
        if (rc == BH_OK) {
            atomic_store(&c->identity_ok, 1);
            break;
        }
        if (rc == BH_ECHAINID) {
            wrong_chain(c);
            return NULL;
        }
        if (rc == BH_ESTATE) {
            atomic_store(&n->fatal, BH_ECHAINID);
            return NULL;
        }
        if (fails++ % 20 == 0)
            BH_LOG(BH_LOG_WARN, "identity_pending", "chain=%s error=%s failures=%u", c->cfg->name,
                   bh_errname(rc), fails);
        unsigned back = cfg->poll_ms << (fails < 5 ? fails : 5);
        nap(n, back > 10000 ? 10000 : back);
    }
    fails = 0;
    while (!stopping(n)) {
        node_watch_serve(c, &pc);
        if (atomic_load(&c->queue_depth) >= cfg->queue_max) {
            nap(n, cfg->poll_ms);
            continue;
        }
        if (mono_ms() - last_head >= 2000) {
            update_head(c);
            last_head = mono_ms();
        }
        bh_chain_event *ev = NULL;
        size_t cnt = 0;
        bh_block_ref cur;
        int rc = bh_watcher_poll(c->w, &ev, &cnt, &cur);
        int split = rc != BH_OK && c->be->last_split(c->impl);
        if (rc == BH_OK) {
            atomic_fetch_add(&c->polled, 1);
            atomic_store(&c->last_ok_ms, mono_ms());
            c->stall_since_ms = 0;
            c->stall_reported = 0;
        }
        if (rc == BH_EEQUIVOCATION && !split) {
            /* the quorum itself says a finalized block changed */
            char d[120];
            snprintf(d, sizeof d, "finalized block %" PRIu64 " changed hash", pc.number);
            node_observe(n, c->cfg->bridge_id, BH_OBS_EQUIVOCATION, 1, d);
            BH_LOG(BH_LOG_ERROR, "equivocation", "chain=%s cursor=%" PRIu64, c->cfg->name,
                   pc.number);
            nap(n, cfg->poll_ms * 4);
            continue;
        }
        if (rc == BH_ECHAINID) {
            wrong_chain(c);
            break;
        }
        if (rc != BH_OK) {
            if (split) {
                char d[96];
                snprintf(d, sizeof d, "endpoints split at block %" PRIu64 ": %s", pc.number,
                         bh_errname(rc));
                node_observe(n, c->cfg->bridge_id, BH_OBS_DISAGREEMENT, 1, d);
            }
            if (node_policy_poll_implicates(rc, split)) note_stall(c, rc, split);
            if (fails++ % 20 == 0)
                BH_LOG(BH_LOG_WARN, "poll_failed", "chain=%s error=%s failures=%u", c->cfg->name,
                       bh_errname(rc), fails);
            unsigned back = cfg->poll_ms << (fails < 5 ? fails : 5);
            nap(n, back > 10000 ? 10000 : back);
            continue;
        }
        fails = 0;
        int moved = cur.number != pc.number || memcmp(&cur.hash, &pc.hash, sizeof cur.hash);
        if (cnt || moved) {
            rc = store_events(c, ev, cnt, &cur, &pc);
            if (rc != BH_OK) {
                /* the watcher moved on in memory only: go back to what is stored */
                BH_LOG(BH_LOG_ERROR, "store_failed", "chain=%s error=%s", c->cfg->name,
                       bh_errname(rc));
                free(ev);
                if (node_watcher_reset(c, &pc) != BH_OK) atomic_store(&n->fatal, rc);
                nap(n, 1000);
                continue;
            }
        }
        free(ev);
        atomic_store(&c->cursor, pc.number);
        if (c->replay_to && pc.number >= c->replay_to) {
            BH_LOG(BH_LOG_INFO, "reread_done", "chain=%s to=%" PRIu64, c->cfg->name, c->replay_to);
            c->replay_to = 0;
        }
        /* the supply check counts each event once: not during a re-read */
        if (!c->replay_to) node_reconcile_step(c, pc.number);
        watch_controls(c);
        if (!c->replay_to) node_watch_prices(c, pc.number);
        save_pins(c);
        if (cnt == 0 && pc.number >= atomic_load(&c->finalized)) nap(n, cfg->poll_ms);
    }
    return NULL;
}

const bh_chain_backend *node_chain_backend(bh_chain_config *ec,
                                           bh_address tokens[BH_CONFIG_MAX_ASSETS],
                                           const bh_config_chain *cc)
{
    for (size_t i = 0; i < cc->n_assets; i++)
        tokens[i] = cc->assets[i].token;
    *ec = (bh_chain_config){.bridge_id = cc->bridge_id,
                            .chain_id = cc->evm_chain_id,
                            .urls = (const char *const *)cc->endpoints,
                            .n_urls = cc->n_endpoints,
                            .quorum = cc->quorum,
                            .confirmations = cc->confirmations,
                            .portal = cc->portal,
                            .max_range = cc->max_range,
                            .tokens = tokens,
                            .n_tokens = cc->n_assets,
                            .timeout_ms = cc->rpc_timeout_ms,
                            .retries = cc->rpc_retries,
                            .log_min = BH_LOG_ERROR};
    /* every configured chain is an EVM chain today: the one place a kind is chosen */
    return bh_chain_backend_by_kind("evm");
}

int node_chain_prepare(bh_node *n, node_chain *c, char *err, size_t cap)
{
    const bh_config_chain *cc = c->cfg;
    bh_address tokens[BH_CONFIG_MAX_ASSETS];
    bh_chain_config ec;
    c->be = node_chain_backend(&ec, tokens, cc);
    ec.log = node_rpc_log;
    ec.log_ud = c;
    ec.log_min = n->cfg->log_level;
    /* the wrapped tokens an earlier run pinned */
    const size_t pcap = 3 + NODE_MAX_PINS * NODE_PIN_LEN;
    unsigned char *buf = malloc(pcap);
    bh_wrapped_pin *pins = calloc(NODE_MAX_PINS, sizeof *pins);
    size_t len = 0, n_pins = 0;
    char key[32];
    pins_key(key, sizeof key, cc->bridge_id);
    int rc = buf && pins ? node_store_meta_read(n->store, key, buf, pcap, &len) : BH_ENOMEM;
    if (rc == BH_OK) rc = node_pins_decode(pins, NODE_MAX_PINS, &n_pins, buf, len);
    free(buf);
    if (rc == BH_ENOTFOUND) rc = BH_OK;
    if (rc) {
        free(pins);
        snprintf(err, cap, "chain %s: node store %s: %s", cc->name, key, bh_strerror(rc));
        return rc;
    }
    ec.pins = pins;
    ec.n_pins = n_pins;
    c->pins_saved = n_pins;
    rc = c->be ? c->be->create(&c->impl, &ec) : BH_EINVAL;
    free(pins);
    if (rc) {
        snprintf(err, cap, "chain %s: %s", cc->name, bh_strerror(rc));
        return rc;
    }
    c->ops = (bh_chain_ops){.kind = "evm",
                            .verify = w_verify,
                            .finalized = w_finalized,
                            .block_hash = w_block_hash,
                            .fetch = w_fetch};
    uint64_t depth = 0;
    rc = node_store_inbox_count(n->store, cc->bridge_id, &depth);
    if (rc) {
        snprintf(err, cap, "node store: %s", bh_strerror(rc));
        return rc;
    }
    atomic_store(&c->queue_depth, depth);
    if ((rc = node_reconcile_new(c))) {
        snprintf(err, cap, "chain %s: %s", cc->name, bh_strerror(rc));
        return rc;
    }
    return BH_OK;
}
