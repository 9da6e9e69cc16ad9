/* The on-chain side of a quarantine: curse votes, and the attester slot a
 * node signs from after a rotation.
 *
 * A chain this node quarantines (its breaker, or an operator's freeze)
 * gets a curse vote on every other Portal. A curse seen on a Portal holds
 * the deliveries from the cursed chain to that Portal and nothing more
 * here: it is never taken for evidence against the cursed chain, since a
 * compromised chain's Portal could report any curse. A node that held the
 * cursed chain quarantined while the curse stood, and holds it no longer
 * (an operator's unfreeze), votes to lift the curse; a node whose alarm
 * still stands when a lift is announced vetoes it (a curse vote) at half
 * the lift's delay. Everything is derived again from the Portals' state
 * on each pass, so a restart or a lost transaction only repeats a vote
 * (which the Portal counts once). */
#include "node_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_log.h"
#include "bh_portal.h"

#define VOTE_RETRY_MS 3000
#define VOTE_PASS_MS 500 /* between looks at what to vote (a pass reads every vault) */

static void incident_key(char *out, size_t cap, uint16_t portal, uint16_t chain)
{
    snprintf(out, cap, "curse/%u/%u", (unsigned)portal, (unsigned)chain);
}

/* This node held chain quarantined while it was cursed on portal's Portal,
 * and the curse has not been seen lifted since: the curse round it was
 * first seen at (0: no such incident). */
static uint64_t incident_round(bh_node *n, uint16_t portal, uint16_t chain)
{
    char key[32];
    incident_key(key, sizeof key, portal, chain);
    unsigned char b[8];
    size_t len = 0;
    if (node_store_meta_read(n->store, key, b, sizeof b, &len) != BH_OK || len != 8) return 0;
    uint64_t r = 0;
    for (int i = 0; i < 8; i++)
        r = r << 8 | b[i];
    return r;
}

static int incident_set(bh_node *n, uint16_t portal, uint16_t chain, uint64_t round)
{
    char key[32];
    incident_key(key, sizeof key, portal, chain);
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(round >> (56 - 8 * i));
    return node_store_meta_put(n->store, key, b, sizeof b);
}

typedef struct {
    bh_node *n;
    uint64_t mask;
    char (*reason)[NODE_QUAR_REASON];
} quar_ctx;

static int quar_cb(void *ctx, const bh_vault_quarantine *q)
{
    quar_ctx *x = ctx;
    node_chain *c = node_chain_by_id(x->n, q->chain);
    if (!c || ((x->mask >> c->idx) & 1)) return 0;
    x->mask |= 1ull << c->idx;
    snprintf(x->reason[c->idx], NODE_QUAR_REASON, "%.32s: %.120s", q->actor, q->reason);
    return 0;
}

void node_quarantines_refresh(bh_node *n)
{
    char reason[BH_CONFIG_MAX_CHAINS][NODE_QUAR_REASON];
    quar_ctx x = {.n = n, .reason = reason};
    for (size_t i = 0; i < n->n; i++) {
        node_vault *nv = &n->vaults[i];
        pthread_mutex_lock(&nv->mu);
        int rc = bh_vault_each_quarantine(nv->v, quar_cb, &x);
        pthread_mutex_unlock(&nv->mu);
        if (rc) return; /* unread: keep what we knew */
    }
    pthread_mutex_lock(&n->quar_mu);
    memcpy(n->quar_reason, reason, sizeof n->quar_reason);
    pthread_mutex_unlock(&n->quar_mu);
    atomic_store(&n->quar_mask, x.mask);
}

/* 1: some vault holds chain index i quarantined (reason: the first read). */
static int quarantined(bh_node *n, size_t i, char *reason, size_t cap)
{
    if (!((atomic_load(&n->quar_mask) >> i) & 1)) return 0;
    pthread_mutex_lock(&n->quar_mu);
    snprintf(reason, cap, "%s", n->quar_reason[i]);
    pthread_mutex_unlock(&n->quar_mu);
    return 1;
}

static void curse_event(node_chain *c, uint16_t chain, const char *what, uint64_t round)
{
    bh_node *n = c->node;
    char nb[8], d[96];
    const char *name = node_chain_name(n, chain, nb);
    BH_LOG(!strcmp(what, "lifted") ? BH_LOG_INFO : BH_LOG_WARN, "portal_curse",
           "chain=%s cursed=%s state=%s round=%" PRIu64, c->cfg->name, name, what, round);
    snprintf(d, sizeof d, "%s %s", name, what);
    node_emit_portal(c, chain, d);
}

/* The controls as last read, in the node store ("portal/<id>", JSON):
 * what `vaultctl portals` shows from the data directory. */
static void controls_save(node_chain *c, const bh_chain_controls *k)
{
    bh_node *n = c->node;
    json_t *paused = json_array(), *cursed = json_array();
    for (size_t i = 0; i < n->n; i++) {
        const bh_chain_lane_controls *l = &k->lane[i];
        json_int_t id = n->chains[i].cfg->bridge_id;
        if (l->lane_paused) json_array_append_new(paused, json_integer(id));
        if (l->cursed)
            json_array_append_new(cursed, json_pack("{s:I, s:b, s:I, s:I}", "chain", id, "lifting",
                                                    l->lifting, "lift_at", (json_int_t)l->lift_at,
                                                    "round", (json_int_t)l->round));
    }
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:b, s:o, s:o, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I, s:I}}",
        "chain_id", (json_int_t)c->cfg->bridge_id, "read_at", (json_int_t)now_s(), "epoch",
        (json_int_t)k->epoch, "paused", k->paused, "paused_lanes", paused, "cursed", cursed, "set",
        "index", (json_int_t)k->set_index, "quorum", (json_int_t)k->quorum, "signer",
        (json_int_t)k->my_index - 1, "previous_set", "index", (json_int_t)k->prev_set_index,
        "until", (json_int_t)k->prev_expiry, "signer", (json_int_t)k->my_prev_index - 1, "curse",
        "quorum", (json_int_t)k->curse_quorum, "lift_delay", (json_int_t)k->lift_delay);
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    char key[32];
    snprintf(key, sizeof key, "portal/%u", (unsigned)c->cfg->bridge_id);
    int rc = txt ? node_store_meta_put(n->store, key, txt, strlen(txt)) : BH_ENOMEM;
    if (rc != BH_OK)
        BH_LOG(BH_LOG_WARN, "portal_save_failed", "chain=%s error=%s", c->cfg->name,
               bh_errname(rc));
    free(txt);
    json_decref(j);
}

typedef struct {
    json_t *arr;
    int rc;
} portals_ctx;

static int portals_cb(void *ctx, const char *key, const void *val, size_t len)
{
    portals_ctx *p = ctx;
    (void)key;
    json_t *j = json_loadb(val, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        p->rc = BH_ECORRUPT;
        return 1;
    }
    json_array_append_new(p->arr, j);
    return 0;
}

int bh_node_portals_read(json_t **out, char *err, size_t err_cap, const char *data_dir)
{
    if (out) *out = NULL;
    if (err && err_cap) err[0] = 0;
    if (!out || !data_dir) return BH_EINVAL;
    portals_ctx p = {.arr = json_array()};
    int rc =
        node_store_read_records(data_dir, "portal/", "Portal", portals_cb, &p, &p.rc, err, err_cap);
    if (rc) {
        json_decref(p.arr);
        return rc;
    }
    *out = p.arr;
    return BH_OK;
}

void node_controls_seen(node_chain *c, const bh_chain_controls *now, int first)
{
    bh_node *n = c->node;
    pthread_mutex_lock(&c->ctl_mu);
    bh_chain_controls was = c->ctl;
    int known = c->ctl_known;
    c->ctl = *now;
    c->ctl_known = 1;
    pthread_mutex_unlock(&c->ctl_mu);
    uint64_t cursed = 0;
    for (size_t i = 0; i < n->n; i++)
        if (now->lane[i].cursed) cursed |= 1ull << i;
    atomic_store(&c->lanes_cursed, cursed);
    if (!known || was.set_index != now->set_index || was.my_index != now->my_index ||
        was.my_prev_index != now->my_prev_index)
        BH_LOG(now->my_index || now->my_prev_index ? BH_LOG_INFO : BH_LOG_WARN, "attester_set",
               "chain=%s set=%" PRIu32 " quorum=%u signer=%d previous=%" PRIu32
               " previous_signer=%d previous_until=%" PRIu64,
               c->cfg->name, now->set_index, (unsigned)now->quorum, (int)now->my_index - 1,
               now->prev_set_index, (int)now->my_prev_index - 1, now->prev_expiry);
    for (size_t i = 0; i < n->n; i++) {
        const bh_chain_lane_controls *a = &was.lane[i], *b = &now->lane[i];
        uint16_t id = n->chains[i].cfg->bridge_id;
        if (id == c->cfg->bridge_id) continue;
        int changed = !known || a->cursed != b->cursed || a->lifting != b->lifting;
        if (changed && (b->cursed || !first))
            curse_event(c, id, b->lifting ? "lifting" : b->cursed ? "cursed" : "lifted", b->round);
    }
    controls_save(c, now);
    poke(&c->wake_mu, &c->wake_cv, &c->wake); /* the deliverer votes and signs from here */
}

int node_lift_due(node_chain *c)
{
    int due = 0;
    uint64_t now = now_s();
    pthread_mutex_lock(&c->ctl_mu);
    for (size_t i = 0; c->ctl_known && i < c->node->n && !due; i++)
        due = c->ctl.lane[i].lifting && now >= c->ctl.lane[i].lift_at;
    pthread_mutex_unlock(&c->ctl_mu);
    return due;
}

int node_sign_slot(node_chain *d, uint32_t *set, uint8_t *index)
{
    const bh_config *cfg = d->node->cfg;
    pthread_mutex_lock(&d->ctl_mu);
    int known = d->ctl_known;
    bh_chain_controls c = d->ctl;
    pthread_mutex_unlock(&d->ctl_mu);
    if (!known) {
        *set = cfg->signer_set_index;
        *index = cfg->signer_index;
        return BH_OK;
    }
    if (c.my_index) {
        *set = c.set_index;
        *index = (uint8_t)(c.my_index - 1);
        return BH_OK;
    }
    if (c.my_prev_index && now_s() < c.prev_expiry) {
        *set = c.prev_set_index;
        *index = (uint8_t)(c.my_prev_index - 1);
        return BH_OK;
    }
    return BH_ENOTFOUND;
}

/* ---- votes, from d's deliverer (it owns d's sender and nonces) ---- */

static void vote_done(node_chain *d, node_voter *v, int rc, const char *why)
{
    bh_node *n = d->node;
    char nb[8];
    const char *name = node_chain_name(n, v->chain, nb);
    node_chain *t = node_chain_by_id(n, v->chain);
    if (rc == BH_OK && t) {
        v->voted_round[t->idx] = v->round;
        v->voted_dir[t->idx] = v->curse ? 1 : 2;
    }
    char q[300];
    /* a revert is mostly a race (another node's vote moved the round first) */
    BH_LOG(rc == BH_OK || rc == BH_EREVERTED ? BH_LOG_WARN : BH_LOG_ERROR,
           rc == BH_OK ? "curse_voted" : "vote_failed",
           "portal=%s chain=%s vote=%s round=%" PRIu64 " error=%s why=%s", d->cfg->name, name,
           v->curse ? "curse" : "lift", v->round, rc == BH_OK ? "-" : bh_errname(rc),
           bh_log_quote(q, sizeof q, rc == BH_OK ? "-" : why));
    d->be->tx_free(v->tx);
    v->tx = NULL;
    if (t && rc != BH_OK) {
        unsigned f = v->fails[t->idx] < 6 ? v->fails[t->idx]++ : 6;
        v->retry_ms[t->idx] = mono_ms() + ((uint64_t)VOTE_RETRY_MS << f); /* up to 3.2 min */
    } else if (t) {
        v->fails[t->idx] = 0;
    }
    if (rc == BH_OK) atomic_store(&d->controls_stale, 1); /* the watcher reads the Portal again */
}

static int send_vote(node_chain *d, void *sender, const bh_attest *ctx, node_voter *v,
                     uint16_t chain, uint32_t set, uint8_t index, uint64_t round, int curse,
                     const char *reason)
{
    const bh_config *cfg = d->node->cfg;
    bh_hash32 digest;
    bh_portal_curse_digest(&digest, d->cfg->bridge_id, &d->cfg->portal, set, chain, round, curse);
    unsigned char sig[66];
    sig[0] = index;
    int rc = bh_attest_sign(ctx, sig + 1, &sig[65], &digest, &cfg->attester_key);
    if (rc == BH_OK)
        rc = d->be->vote_send(sender, &v->tx, chain, round, curse, reason, sig, sizeof sig);
    v->chain = chain;
    v->round = round;
    v->curse = curse;
    if (rc != BH_OK) {
        v->tx = NULL;
        vote_done(d, v, rc, d->be->last_error(sender));
    }
    return rc;
}

void node_curse_votes(node_chain *d, void *sender, const bh_attest *ctx, node_voter *v)
{
    bh_node *n = d->node;
    if (!d->be->vote_send) return;
    if (v->tx) {
        int rc = d->be->vote_poll(sender, v->tx);
        if (rc == BH_EBUSY || (rc != BH_OK && rc != BH_EREVERTED && rc != BH_ETIMEOUT)) return;
        vote_done(d, v, rc, d->be->last_error(sender));
        return;
    }
    uint64_t now = mono_ms();
    if (now < v->next_ms) return;
    v->next_ms = now + VOTE_PASS_MS;
    pthread_mutex_lock(&d->ctl_mu);
    int known = d->ctl_known;
    bh_chain_controls c = d->ctl;
    pthread_mutex_unlock(&d->ctl_mu);
    if (!known || !c.my_index) return; /* votes come from the current set only */
    for (size_t i = 0; i < n->n; i++) {
        uint16_t id = n->chains[i].cfg->bridge_id;
        if (id == d->cfg->bridge_id || now < v->retry_ms[i]) continue;
        const bh_chain_lane_controls *l = &c.lane[i];
        char reason[NODE_QUAR_REASON] = "";
        int q = quarantined(n, i, reason, sizeof reason);
        uint64_t inc = incident_round(n, d->cfg->bridge_id, id);
        if (!l->cursed && inc) incident_set(n, d->cfg->bridge_id, id, 0); /* lifted: over */
        if (q && l->cursed && !l->lifting && !inc &&
            incident_set(n, d->cfg->bridge_id, id, l->round) == BH_OK)
            inc = l->round;
        int curse = -1;
        /* a lift announced while this node's alarm stands is vetoed at half
         * its delay: time for the operators to lift every node first */
        if (q && (!l->cursed || (l->lifting && now_s() + c.lift_delay / 2 >= l->lift_at))) {
            curse = 1;
        } else if (!q && l->cursed && !l->lifting && inc) {
            curse = 0;
            snprintf(reason, sizeof reason, "quarantine lifted by an operator");
        }
        if (curse < 0) continue;
        if (v->voted_round[i] == l->round && v->voted_dir[i] == (curse ? 1 : 2)) continue;
        send_vote(d, sender, ctx, v, id, c.set_index, (uint8_t)(c.my_index - 1), l->round, curse,
                  reason);
        return; /* one vote in flight at a time */
    }
}
