/* The worker of one vault: group-commit batches of stored events, fair
 * across source chains, applied in one transaction each with the source
 * offsets; each outcome is counted, logged, sent to observers and, where
 * only the emitting chain could have caused it, reported to the breaker. */
#include "node_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_log.h"
#include "node_policy.h"

/* ---- vault worker ---- */

static void count_lock_refusal(node_vault *nv, const bh_bytes32 *token, int forged)
{
    pthread_mutex_lock(&nv->mu);
    size_t i = 0;
    while (i < nv->n_lock_refusals && memcmp(nv->lock_refusals[i].token.data, token->data, 32))
        i++;
    if (i == nv->n_lock_refusals && i < BH_CONFIG_MAX_ASSETS) {
        memset(&nv->lock_refusals[i], 0, sizeof nv->lock_refusals[i]);
        nv->lock_refusals[i].token = *token;
        nv->n_lock_refusals++;
    }
    if (i < nv->n_lock_refusals) {
        if (forged)
            nv->lock_refusals[i].forged_locks++;
        else
            nv->lock_refusals[i].short_locks++;
    }
    pthread_mutex_unlock(&nv->mu);
}

/* evidence 0: a decision an operator asked for again (re-observe, a
 * rewind's re-read) is counted and sent, but never evidence for the
 * breaker: the chain's events were judged when first read. */
static void count_result(node_vault *nv, const node_inbox_rec *r, const bh_vault_result *res,
                         int evidence)
{
    bh_node *n = nv->node;
    const bh_transfer_msg *m = &r->msg;
    char src[8], dst[8], q[64];
    const char *sname = node_chain_name(n, m->emitter_chain, src);
    const char *dname = node_chain_name(n, m->transfer.to_chain, dst);
    switch (res->status) {
    case BH_VAULT_ACCEPTED:
        atomic_fetch_add(&nv->accepted, 1);
        node_lat_put(n, &m->digest, r->observed_ms);
        BH_LOG(BH_LOG_INFO, "applied",
               "vault=%s from=%s to=%s seq=%" PRIu64 " status=accepted journal=%" PRIu64,
               nv->cfg->name, sname, dname, m->sequence, res->journal_id);
        node_emit_msg(n, BH_NODE_EV_ACCEPTED, nv, m, BH_REJECT_OK, NULL);
        break;
    case BH_VAULT_DELAYED:
    case BH_VAULT_HELD:
        atomic_fetch_add(res->status == BH_VAULT_DELAYED ? &nv->delayed : &nv->held, 1);
        BH_LOG(BH_LOG_INFO, "applied",
               "vault=%s from=%s to=%s seq=%" PRIu64 " status=%s cause=%s release_at=%" PRIu64,
               nv->cfg->name, sname, dname, m->sequence, bh_vault_status_name(res->status),
               bh_vault_cause_name(res->cause), res->release_at);
        node_emit_msg(n, res->status == BH_VAULT_DELAYED ? BH_NODE_EV_DELAYED : BH_NODE_EV_HELD, nv,
                      m, res->reason, bh_vault_cause_name(res->cause));
        /* any user can fill a bucket: counted, evidence only if configured */
        if (evidence && node_policy_delay_is_rate_limit(res->cause))
            node_observe(n, m->emitter_chain, BH_OBS_RATE_LIMITED, 1,
                         bh_vault_cause_name(res->cause));
        break;
    case BH_VAULT_REJECTED: {
        atomic_fetch_add(&nv->rejected, 1);
        BH_LOG(BH_LOG_WARN, "rejected", "vault=%s from=%s to=%s seq=%" PRIu64 " reason=%s",
               nv->cfg->name, sname, dname, m->sequence, bh_reject_name(res->reason));
        node_emit_msg(n, BH_NODE_EV_REJECTED, nv, m, res->reason, NULL);
        char d[160];
        char amt[BH_U128_DEC_MAX];
        bh_u128_to_dec(amt, m->amount);
        snprintf(d, sizeof d, "vault %s seq %" PRIu64 " amount %s: %s", nv->cfg->name, m->sequence,
                 amt, bh_reject_name(res->reason));
        /* Evidence only where the emitting chain alone could have caused it:
         * a burn or hop claiming supply the vault never sent it, a replay key
         * reused, a lock of a registered asset with nothing behind it. A cap
         * of the receiving side (exceeds_exposure_cap), a token moving less
         * than it says (short_lock), an unregistered token, a minimum: any
         * user can cause those; refused and counted only. */
        bh_obs_kind kind;
        if (evidence && node_policy_rejection_evidence(
                            res->reason, m->emitter_chain != nv->cfg->bridge_id, &kind))
            node_observe(n, m->emitter_chain, kind, 1, d);
        if (evidence &&
            (res->reason == BH_REJECT_FORGED_LOCK || res->reason == BH_REJECT_SHORT_LOCK))
            count_lock_refusal(nv, &m->transfer.token, res->reason == BH_REJECT_FORGED_LOCK);
        (void)q;
        break;
    }
    }
}

/* Verdicts settled and the messages applied in one transaction; nv->mu
 * held. Returns the vault's status (logged). */
static int apply_locked(node_vault *nv, node_inbox_rec *buf, bh_transfer_msg *msgs,
                        bh_reject *verdicts, bh_vault_result *res, size_t total)
{
    for (size_t i = 0; i < total; i++) {
        msgs[i] = buf[i].msg;
        verdicts[i] = (bh_reject)buf[i].verdict;
        /* a forged or short lock of a token nobody registered is anyone's
         * token: refused as such, never evidence against the chain */
        bh_vault_asset a;
        if (verdicts[i] == BH_REJECT_FORGED_LOCK || verdicts[i] == BH_REJECT_SHORT_LOCK)
            verdicts[i] = node_policy_lock_verdict(
                verdicts[i],
                bh_vault_asset_get(nv->v, &a, &msgs[i].transfer.token) != BH_ENOTFOUND);
        buf[i].verdict = (uint32_t)verdicts[i];
    }
    int rc = bh_vault_apply_ex(nv->v, res, msgs, verdicts, total, now_s());
    const char *why = rc ? bh_vault_errmsg(nv->v) : "";
    char q[300];
    if (rc)
        BH_LOG(BH_LOG_ERROR, "apply_failed", "vault=%s error=%s why=%s", nv->cfg->name,
               bh_errname(rc), bh_log_quote(q, sizeof q, why));
    return rc;
}

/* After a batch: every outcome counted, logged and sent; the deliveries
 * of accepted transfers woken. */
static void after_apply(node_vault *nv, const node_inbox_rec *buf, const bh_vault_result *res,
                        size_t total, int evidence)
{
    bh_node *n = nv->node;
    int *woke = calloc(n->n, sizeof *woke);
    for (size_t i = 0; i < total; i++) {
        count_result(nv, &buf[i], &res[i], evidence);
        if (res[i].status == BH_VAULT_ACCEPTED && woke) {
            node_chain *d = node_chain_by_id(n, buf[i].msg.transfer.to_chain);
            if (d) woke[d->idx] = 1;
        }
    }
    for (size_t i = 0; woke && i < n->n; i++)
        if (woke[i]) poke(&n->chains[i].wake_mu, &n->chains[i].wake_cv, &n->chains[i].wake);
    free(woke);
}

/* One group-commit batch, fair across source chains. Returns messages taken. */
static size_t vault_round(node_vault *nv, node_inbox_rec *buf, bh_transfer_msg *msgs,
                          bh_reject *verdicts, bh_vault_result *res, size_t *from_src)
{
    bh_node *n = nv->node;
    const bh_config *cfg = n->cfg;
    size_t total = 0, busy = 0;
    size_t quota = cfg->batch_max / n->n;
    if (quota == 0) quota = 1;
    for (size_t s = 0; s < n->n && total < cfg->batch_max; s++) {
        node_chain *src = &n->chains[s];
        from_src[s] = 0;
        if (bh_breaker_is_tripped(n->breaker, src->cfg->bridge_id)) {
            /* wait for the control loop to freeze it everywhere first */
            pthread_mutex_lock(&nv->mu);
            int frozen = bh_vault_is_quarantined(nv->v, src->cfg->bridge_id);
            pthread_mutex_unlock(&nv->mu);
            if (!frozen) continue;
        }
        size_t room = cfg->batch_max - total, got = 0;
        if (room > quota * 4) room = quota * 4;
        int rc = node_store_inbox_read(n->store, nv->cfg->bridge_id, src->cfg->bridge_id,
                                       nv->next[s], buf + total, room, &got);
        if (rc) {
            BH_LOG(BH_LOG_ERROR, "inbox_read_failed", "vault=%s error=%s", nv->cfg->name,
                   bh_errname(rc));
            continue;
        }
        if (got) busy++;
        from_src[s] = got;
        total += got;
    }
    if (total == 0) return 0;
    /* trim each source to its fair share when several compete */
    if (busy > 1) {
        size_t share = cfg->batch_max / busy, w = 0, r = 0;
        for (size_t s = 0; s < n->n; s++) {
            size_t keep = from_src[s] < share ? from_src[s] : share;
            if (keep < from_src[s] && keep == 0) keep = 1;
            memmove(buf + w, buf + r, keep * sizeof *buf);
            w += keep;
            r += from_src[s];
            from_src[s] = keep;
        }
        total = w;
    }
    pthread_mutex_lock(&nv->mu);
    int rc = apply_locked(nv, buf, msgs, verdicts, res, total);
    pthread_mutex_unlock(&nv->mu);
    if (rc) return 0;

    size_t at = 0;
    for (size_t s = 0; s < n->n; s++) {
        if (!from_src[s]) continue;
        uint64_t below = buf[at + from_src[s] - 1].msg.sequence + 1;
        nv->next[s] = below;
        size_t removed = 0;
        int trc = node_store_inbox_trim(n->store, nv->cfg->bridge_id, n->chains[s].cfg->bridge_id,
                                        below, &removed);
        if (trc)
            BH_LOG(BH_LOG_WARN, "inbox_trim_failed", "vault=%s error=%s", nv->cfg->name,
                   bh_errname(trc));
        uint64_t depth = atomic_load(&n->chains[s].queue_depth);
        atomic_store(&n->chains[s].queue_depth, depth > from_src[s] ? depth - from_src[s] : 0);
        at += from_src[s];
    }
    after_apply(nv, buf, res, total, 1);
    return total;
}

int node_vault_reobserved(node_vault *nv, node_inbox_rec *rec, int reread, bh_vault_result *res,
                          const char **outcome)
{
    bh_node *n = nv->node;
    memset(res, 0, sizeof *res);
    *outcome = "";
    const bh_transfer_msg *m = &rec->msg;
    pthread_mutex_lock(&nv->mu);
    /* as the vault worker: a tripped source waits for its quarantine */
    if (bh_breaker_is_tripped(n->breaker, m->emitter_chain) &&
        !bh_vault_is_quarantined(nv->v, m->emitter_chain)) {
        *outcome = "deferred";
        pthread_mutex_unlock(&nv->mu);
        return BH_OK;
    }
    int taken = 0;
    int rc = bh_vault_taken(nv->v, m, &taken);
    if (rc == BH_OK && taken == 1) {
        *outcome = "replayed";
        pthread_mutex_unlock(&nv->mu);
        return BH_OK;
    }
    node_inbox_rec q;
    size_t got = 0;
    if (rc == BH_OK)
        rc = node_store_inbox_read(n->store, nv->cfg->bridge_id, m->emitter_chain, m->sequence, &q,
                                   1, &got);
    if (rc == BH_OK && got && q.msg.sequence == m->sequence &&
        !memcmp(&q.msg.digest, &m->digest, sizeof m->digest)) {
        *outcome = "queued"; /* stored, its vault takes it in turn */
        pthread_mutex_unlock(&nv->mu);
        return BH_OK;
    }
    /* a re-read covers blocks this node read: a sequence its vault is past
     * and did not take was refused then, and is not decided twice */
    uint64_t next = 0;
    if (rc == BH_OK && reread) rc = bh_vault_source_next(nv->v, m->emitter_chain, &next);
    if (rc == BH_OK && reread && m->sequence < next) {
        *outcome = "refused_before";
        pthread_mutex_unlock(&nv->mu);
        return BH_OK;
    }
    bh_transfer_msg msg;
    bh_reject verdict;
    if (rc == BH_OK) rc = apply_locked(nv, rec, &msg, &verdict, res, 1);
    pthread_mutex_unlock(&nv->mu);
    if (rc) return rc;
    after_apply(nv, rec, res, 1, 0);
    *outcome = "applied";
    return BH_OK;
}

static void wake_all_deliveries(bh_node *n)
{
    for (size_t i = 0; i < n->n; i++)
        poke(&n->chains[i].wake_mu, &n->chains[i].wake_cv, &n->chains[i].wake);
}

void *node_vault_main(void *arg)
{
    node_vault *nv = arg;
    bh_node *n = nv->node;
    const bh_config *cfg = n->cfg;
    size_t cap = cfg->batch_max;
    node_inbox_rec *buf = calloc(cap, sizeof *buf);
    bh_transfer_msg *msgs = calloc(cap, sizeof *msgs);
    bh_reject *verdicts = calloc(cap, sizeof *verdicts);
    bh_vault_result *res = calloc(cap, sizeof *res);
    size_t *from_src = calloc(n->n, sizeof *from_src);
    if (!buf || !msgs || !verdicts || !res || !from_src) {
        atomic_store(&n->fatal, BH_ENOMEM);
        goto out;
    }
    uint64_t last_release = 0;
    while (!stopping(n)) {
        size_t took = vault_round(nv, buf, msgs, verdicts, res, from_src);
        if (mono_ms() - last_release >= 1000) {
            last_release = mono_ms();
            size_t released = 0;
            pthread_mutex_lock(&nv->mu);
            int rc = bh_vault_release_due(nv->v, &released, now_s(), 0);
            pthread_mutex_unlock(&nv->mu);
            if (rc == BH_OK && released) {
                atomic_fetch_add(&nv->released, released);
                BH_LOG(BH_LOG_INFO, "released", "vault=%s count=%zu", nv->cfg->name, released);
                char d[32];
                snprintf(d, sizeof d, "%zu", released);
                bh_node_event ev = {.kind = BH_NODE_EV_RELEASED,
                                    .time = now_s(),
                                    .vault = nv->cfg->name,
                                    .detail = d};
                node_emit(n, &ev);
                wake_all_deliveries(n);
            }
        }
        if (took == 0) wait_on(n, &nv->wake_mu, &nv->wake_cv, &nv->wake, cfg->poll_ms);
    }
out:
    free(buf);
    free(msgs);
    free(verdicts);
    free(res);
    free(from_src);
    return NULL;
}
