/* The deliverer of one destination chain: rounds that serve every source
 * chain in turn, across vaults; each entry is signed with the attester key
 * and submitted to the destination Portal, up to batch_max entries per
 * transaction (Portal.submitBatch) and up to inflight_max transactions in
 * flight at consecutive nonces; each loop polls every in-flight
 * transaction once and acks the entries whose approval succeeded;
 * failures back off, and an entry the destination keeps refusing is
 * parked. */
#include "node_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_log.h"
#include "node_policy.h"

#define PER_SOURCE 2       /* deliveries per source chain per round, at least */
#define ROUND_PICKS 512    /* entries picked per round, at most (over all sources) */
#define SCAN_MAX 65536     /* outbox entries looked at per vault per round, at most */
#define BACKOFF_SLOTS 8192 /* failing outbox entries remembered per destination */
#define BACKOFF_PROBE 16
#define FLIGHT_POLL_MS 50 /* between passes over the receipts of transactions in flight */
#define DRAIN_MS 15000    /* at a stop, the longest wait for transactions in flight */

/* An outbox entry of a vault. */
typedef struct {
    bh_vault_outbox_entry e; /* id, digest (e.msg.digest), destination */
    size_t vault;
    int late; /* others may have executed it by now: ask the Portal first */
} pick;

/* A transaction in flight: which outbox entries it delivers. */
typedef struct {
    int used;
    int batch;   /* a submitBatch (send_batch), else one submit */
    size_t n;    /* entries: 1 for a submit */
    pick *items; /* batch_max slots, owned by the slot */
    void *tx;    /* the backend's: nonce, hash, fees */
    uint64_t sent_ms;
    uint32_t set; /* the attester set it was signed under */
    int again;    /* a re-signed approval (node_resign): the outbox entry is gone */
} flight;

/* Our approvals that counted but did not execute, as signed: after a
 * rotation they are signed again under the new set, so a transfer
 * half-approved under the old one completes after its grace too. Memory
 * only: a restart forgets them (the previous set's approvals still count
 * through the grace). */
#define APPROVED_MAX 512
typedef struct {
    size_t vault;
    bh_vault_outbox_entry e;
    uint32_t set;
} approved_ent;

struct node_deliverer {
    node_chain *d;
    flight *fl;               /* inflight_max slots */
    size_t batch_max;         /* entries per transaction, at most */
    unsigned char *vaas;      /* batch_max signed VAAs of VAA_CAP bytes, for a send */
    bh_chain_batch_item *res; /* batch_max results, for a poll */
    bh_hash32 *fset;          /* digests in flight, open addressing; zero: free */
    size_t fset_cap;          /* a power of two, >= 2 x the most entries in flight */
    size_t n_fl;              /* used slots */
    bh_attest *ctx;           /* signs our approvals */
    void *sender;             /* the destination side of the chain's backend */
    backoff_ent *backoff;     /* BACKOFF_SLOTS, open addressing on (vault, id) */
    bh_address attester;      /* our attester key's address */
    node_voter votes;         /* curse and lift votes toward d's Portal */
    approved_ent *appr;       /* APPROVED_MAX, a ring: the oldest is forgotten */
    size_t appr_head, n_appr;
};
typedef struct node_deliverer deliverer;

/* ---- delivery ---- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static size_t backoff_hash(size_t vault, uint64_t id)
{
    uint64_t h = (id ^ ((uint64_t)vault << 56)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) % BACKOFF_SLOTS;
}

/* The failure record of an outbox entry, or (create) a new one: a free slot
 * of its probe run, else the one there whose back-off ends first. */
static backoff_ent *backoff_find(deliverer *dl, size_t vault, uint64_t id, int create)
{
    size_t at = backoff_hash(vault, id);
    backoff_ent *victim = NULL;
    for (size_t i = 0; i < BACKOFF_PROBE; i++) {
        backoff_ent *b = &dl->backoff[(at + i) % BACKOFF_SLOTS];
        if (b->id == id && b->vault == vault) return b;
        if (!victim || (victim->id && (!b->id || b->until_ms < victim->until_ms))) victim = b;
    }
    if (!create) return NULL;
    memset(victim, 0, sizeof *victim);
    victim->id = id;
    victim->vault = vault;
    return victim;
}

static void update_wallet(deliverer *dl)
{
    node_chain *d = dl->d;
    bh_u256 v;
    if (d->be->wallet(dl->sender, &v) != BH_OK) return;
    char dec[BH_U256_DEC_MAX];
    bh_u256_to_dec(dec, &v);
    pthread_mutex_lock(&d->info_mu);
    memcpy(d->wallet, dec, sizeof dec);
    pthread_mutex_unlock(&d->info_mu);
    if (!d->cfg->wallet_low_gwei) return;
    bh_u256 low;
    bh_u256_from_u128(&low, (bh_u128)d->cfg->wallet_low_gwei * 1000000000u);
    int is_low = bh_u256_cmp(&v, &low) < 0;
    if (atomic_exchange(&d->wallet_low, is_low) == is_low) return;
    if (is_low)
        BH_LOG(BH_LOG_WARN, "wallet_low", "chain=%s wallet_wei=%s low_water_gwei=%" PRIu64,
               d->cfg->name, dec, d->cfg->wallet_low_gwei);
    else
        BH_LOG(BH_LOG_INFO, "wallet_ok", "chain=%s wallet_wei=%s low_water_gwei=%" PRIu64,
               d->cfg->name, dec, d->cfg->wallet_low_gwei);
}

/* Park an entry the destination keeps refusing: it leaves the outbox (the
 * transfer stays applied) and an operator decides (vaultctl parked/requeue). */
static void park(deliverer *dl, node_vault *nv, const bh_vault_outbox_entry *e, backoff_ent *b,
                 const char *err)
{
    node_chain *d = dl->d;
    bh_node *n = d->node;
    char src[8], q[300];
    pthread_mutex_lock(&nv->mu);
    int rc = bh_vault_outbox_park(nv->v, e->id, now_s(), b->tries, err, "node");
    pthread_mutex_unlock(&nv->mu);
    if (rc != BH_OK) {
        BH_LOG(BH_LOG_ERROR, "park_failed", "vault=%s id=%" PRIu64 " error=%s", nv->cfg->name,
               e->id, bh_errname(rc));
        return;
    }
    BH_LOG(BH_LOG_WARN, "parked",
           "vault=%s from=%s to=%s seq=%" PRIu64 " id=%" PRIu64 " tries=%u error=%s", nv->cfg->name,
           node_chain_name(n, e->msg.emitter_chain, src), d->cfg->name, e->msg.sequence, e->id,
           b->tries, bh_log_quote(q, sizeof q, err));
    memset(b, 0, sizeof *b);
    node_emit_msg(n, BH_NODE_EV_PARKED, nv, &e->msg, BH_REJECT_OK, err);
}

static const char *outcome_name(bh_chain_outcome o)
{
    return o == BH_CHAIN_EXECUTED   ? "executed"
           : o == BH_CHAIN_APPROVED ? "approved"
                                    : "already_done";
}

/* A revert reading "bad signature" is evidence only once the Portal itself
 * says our key is not its attester at our index in our set: the same text
 * can come from any contract the transfer calls (a token's hook). Returns 1
 * if the Portal holds our key where we sign (or cannot be read: no trip on
 * what we could not check). */
static int attester_in_set(deliverer *dl)
{
    uint32_t want = 0, set = 0;
    uint8_t index = 0;
    if (node_sign_slot(dl->d, &want, &index) != BH_OK) return 0;
    bh_address att;
    int rc = dl->d->be->attester(dl->sender, &set, &att, index);
    if (rc == BH_EREVERTED) return 0;         /* our index is past the Portal's set */
    if (rc != BH_OK || set != want) return 1; /* a previous set's slot: not checked here */
    return !memcmp(&att, &dl->attester, sizeof att);
}

typedef struct {
    uint16_t into; /* the chain the return comes from */
    int found;
} notice_ctx;

static int notice_cb(void *ctx, const bh_vault_outbox_entry *e)
{
    notice_ctx *c = ctx;
    if (e->to != e->msg.transfer.to_chain && e->msg.transfer.to_chain == c->into) {
        c->found = 1;
        return 1;
    }
    return 0;
}

typedef struct {
    const bh_hash32 *digest;
    int found;
} mint_ctx;

static int mint_cb(void *ctx, const bh_vault_outbox_entry *e)
{
    mint_ctx *c = ctx;
    if (e->to != e->msg.transfer.to_chain || memcmp(&e->msg.digest, c->digest, 32) != 0) return 0;
    c->found = 1;
    return 1;
}

/* The hop of notice e still waits in the outbox for its mint at the
 * destination (or the outbox cannot be read). Called with nv->mu held. */
static int mint_queued(node_vault *nv, const bh_vault_outbox_entry *e)
{
    mint_ctx c = {.digest = &e->msg.digest};
    int rc = bh_vault_outbox_scan_to(nv->v, e->msg.transfer.to_chain, 0, SCAN_MAX, mint_cb, &c);
    return rc < 0 || c.found;
}

/* A hop notice into the chain entry e comes from still waits for delivery
 * to the same (home) chain: any such notice, older or not, since a notice
 * requeued by an operator comes back under a new id. */
static int notice_ahead(node_vault *nv, const bh_vault_outbox_entry *e)
{
    notice_ctx c = {.into = e->msg.emitter_chain};
    pthread_mutex_lock(&nv->mu);
    int rc = bh_vault_outbox_scan_to(nv->v, e->to, 0, SCAN_MAX, notice_cb, &c);
    pthread_mutex_unlock(&nv->mu);
    return rc >= 0 && c.found;
}

/* The entry's transaction succeeded, or the Portal says the digest is
 * executed / our approval counted: ack it. */
static void delivered(deliverer *dl, node_vault *nv, const bh_vault_outbox_entry *e,
                      bh_chain_outcome outcome, unsigned approvals, const bh_hash32 *tx)
{
    node_chain *d = dl->d;
    bh_node *n = d->node;
    const bh_transfer_msg *m = &e->msg;
    char src[8];
    pthread_mutex_lock(&nv->mu);
    int arc = bh_vault_outbox_ack(nv->v, e->id);
    /* in flight for reconciliation until d's cursor passes its execution */
    if (arc == BH_OK) node_reconcile_acked(d, nv, m);
    pthread_mutex_unlock(&nv->mu);
    if (arc && arc != BH_ENOTFOUND)
        BH_LOG(BH_LOG_ERROR, "ack_failed", "vault=%s id=%" PRIu64 " error=%s", nv->cfg->name, e->id,
               bh_errname(arc));
    backoff_ent *b = backoff_find(dl, nv->idx, e->id, 0);
    unsigned tries = b ? b->tries : 0; /* failed attempts before this one */
    if (b) memset(b, 0, sizeof *b);
    atomic_fetch_add(&d->deliveries_ok, 1);
    /* the latency is the mint's: a hop's notice home shares its digest */
    int mint = e->to == m->transfer.to_chain;
    int64_t lat = mint ? node_lat_take(n, &m->digest) : -1;
    pthread_mutex_lock(&d->hist_mu);
    node_hist_add(&d->attempts, node_attempt_bounds, NODE_ATTEMPT_BUCKETS, (uint64_t)tries + 1);
    if (lat >= 0 && outcome == BH_CHAIN_EXECUTED)
        node_hist_add(&d->latency, node_latency_bounds_ms, NODE_LATENCY_BUCKETS, (uint64_t)lat);
    pthread_mutex_unlock(&d->hist_mu);
    char h[67] = "-";
    if (tx) node_hex0x(h, tx->data, 32);
    BH_LOG(BH_LOG_INFO, "delivered",
           "vault=%s from=%s to=%s seq=%" PRIu64 " outcome=%s approvals=%u latency_ms=%" PRId64
           " tx=%s",
           nv->cfg->name, node_chain_name(n, m->emitter_chain, src), d->cfg->name, m->sequence,
           outcome_name(outcome), approvals, lat, h);
    node_emit_msg_tx(n, BH_NODE_EV_DELIVERED, nv, m, BH_REJECT_OK, outcome_name(outcome), tx);
}

/* soft: it failed inside a batch with no reason of its own (out of gas,
 * or the whole batch refused): it goes again alone, and the try does not
 * count toward parking. */
static void failed(deliverer *dl, node_vault *nv, const bh_vault_outbox_entry *e, int rc,
                   const char *err, int soft)
{
    node_chain *d = dl->d;
    bh_node *n = d->node;
    const bh_config *cfg = n->cfg;
    const bh_transfer_msg *m = &e->msg;
    char src[8], q[300];
    atomic_fetch_add(&d->deliveries_failed, 1);
    if (!err || !*err) err = bh_strerror(rc);
    if (!soft && rc == BH_EREVERTED && (strstr(err, "bad signature") || strstr(err, "signer")) &&
        !attester_in_set(dl)) {
        char det[160];
        snprintf(det, sizeof det, "Portal refused our attestation: %s", err);
        node_observe(n, d->cfg->bridge_id, BH_OBS_BAD_SIGNATURE, 1, det);
    }
    /* the Portal rotated its set: read it now, not at the next control change */
    if (rc == BH_EREVERTED && strstr(err, "signer set")) atomic_store(&d->controls_stale, 1);
    backoff_ent *b = backoff_find(dl, nv->idx, e->id, 1);
    b->tries++;
    if (soft) b->solo = 1;
    /* only the destination refusing this very message counts toward parking:
     * an endpoint that is down fails every entry alike; and a return of
     * hopped supply that reached home before the hop's notice is refused
     * until the notice lands, so it waits without counting */
    if (!soft && rc == BH_EREVERTED && !(strstr(err, "exceeds outstanding") && notice_ahead(nv, e)))
        b->reverts++;
    uint64_t wait = node_policy_retry_ms(b->tries);
    b->until_ms = mono_ms() + wait;
    BH_LOG(BH_LOG_WARN, "delivery_failed",
           "vault=%s from=%s to=%s seq=%" PRIu64 " error=%s why=%s retry_ms=%" PRIu64,
           nv->cfg->name, node_chain_name(n, m->emitter_chain, src), d->cfg->name, m->sequence,
           bh_errname(rc), bh_log_quote(q, sizeof q, err), wait);
    node_emit_msg(n, BH_NODE_EV_DELIVERY_FAILED, nv, m, BH_REJECT_OK, err);
    if (node_policy_park(b->reverts, cfg->park_after)) park(dl, nv, e, b, err);
}

/* The digests in flight, as a set: every round asks it of each entry it
 * looks at, and thousands can be in flight. Rebuilt whenever a flight
 * comes or goes (a few thousand inserts at most). */
static size_t fset_slot(const deliverer *dl, const bh_hash32 *d)
{
    uint64_t h;
    memcpy(&h, d->data, sizeof h);
    return (size_t)h & (dl->fset_cap - 1);
}

static void fset_rebuild(deliverer *dl)
{
    static const bh_hash32 zero;
    memset(dl->fset, 0, dl->fset_cap * sizeof *dl->fset);
    for (size_t i = 0; i < dl->d->cfg->inflight_max; i++) {
        const flight *f = &dl->fl[i];
        for (size_t j = 0; f->used && j < f->n; j++) {
            const bh_hash32 *d = &f->items[j].e.msg.digest;
            size_t at = fset_slot(dl, d);
            while (memcmp(&dl->fset[at], &zero, sizeof zero) && memcmp(&dl->fset[at], d, sizeof *d))
                at = (at + 1) & (dl->fset_cap - 1);
            dl->fset[at] = *d;
        }
    }
}

/* An entry is in flight when its digest is: the same outbox entry, or the
 * same transfer under another id (requeued by an operator, or re-signed). */
static int in_flight(const deliverer *dl, size_t vault, const bh_vault_outbox_entry *e)
{
    (void)vault;
    static const bh_hash32 zero;
    const bh_hash32 *d = &e->msg.digest;
    for (size_t at = fset_slot(dl, d);; at = (at + 1) & (dl->fset_cap - 1)) {
        if (!memcmp(&dl->fset[at], d, sizeof *d)) return 1;
        if (!memcmp(&dl->fset[at], &zero, sizeof zero)) return 0;
    }
}

static void flight_done(deliverer *dl, flight *f)
{
    dl->d->be->tx_free(f->tx);
    pick *items = f->items;
    memset(f, 0, sizeof *f);
    f->items = items;
    dl->n_fl--;
    atomic_store(&dl->d->inflight, dl->n_fl);
    fset_rebuild(dl);
}

#define VAA_CAP (BH_VAA_HEADER_FIXED + BH_VAA_SIG_LEN + BH_EVENT_BODY_MAX)

/* Sign entry p into vaa (VAA_CAP bytes) under set/index. Returns the
 * length, 0 after failing it (err names why). */
static size_t sign_entry(deliverer *dl, unsigned char *vaa, const pick *p, uint32_t set,
                         uint8_t index, const char **err)
{
    unsigned char body[BH_EVENT_BODY_MAX];
    size_t blen = 0, vlen = 0;
    if (bh_transfer_msg_body(body, sizeof body, &blen, &p->e.msg) != BH_OK) {
        *err = "outbox entry does not hash to its digest: not signed";
        return 0;
    }
    if (bh_attest_sign_vaa(dl->ctx, vaa, VAA_CAP, &vlen, set, index,
                           &dl->d->node->cfg->attester_key, body, blen) != BH_OK) {
        *err = "signing failed";
        return 0;
    }
    return vlen;
}

static void flight_add(deliverer *dl, const pick *ps, size_t n, void *tx, int batch, uint32_t set,
                       int again)
{
    node_chain *d = dl->d;
    for (size_t i = 0; i < d->cfg->inflight_max; i++) {
        flight *f = &dl->fl[i];
        if (f->used) continue;
        f->used = 1;
        f->batch = batch;
        f->n = n;
        memcpy(f->items, ps, n * sizeof *ps);
        f->tx = tx;
        f->sent_ms = mono_ms();
        f->set = set;
        f->again = again;
        dl->n_fl++;
        atomic_store(&d->inflight, dl->n_fl);
        fset_rebuild(dl);
        bh_chain_tx_info ti;
        d->be->tx_info(tx, &ti);
        char src[8], h[67];
        node_hex0x(h, ti.tx_hash.data, 32);
        BH_LOG(BH_LOG_DEBUG, "delivery_sent",
               "vault=%s from=%s to=%s seq=%" PRIu64 " entries=%zu nonce=%" PRIu64
               " tx=%s inflight=%zu",
               d->node->vaults[ps[0].vault].cfg->name,
               node_chain_name(d->node, ps[0].e.msg.emitter_chain, src), d->cfg->name,
               ps[0].e.msg.sequence, n, ti.nonce, h, dl->n_fl);
        return;
    }
    d->be->tx_free(tx); /* no slot (the caller checked): goes again next round */
}

/* Sign entry e and send its submit; the transaction stays in flight in a
 * free slot (there is one: the caller checked). */
static void deliver_one(deliverer *dl, node_vault *nv, const bh_vault_outbox_entry *e, int again)
{
    node_chain *d = dl->d;
    const bh_transfer_msg *m = &e->msg;
    unsigned char *vaa = dl->vaas;
    size_t vlen = 0;
    const char *err = NULL;
    uint32_t set = 0;
    uint8_t index = 0;
    pick p = {.e = *e, .vault = nv->idx};
    int rc = node_sign_slot(d, &set, &index);
    if (rc != BH_OK)
        err = "not an attester of the destination Portal's current or previous set";
    else if (!(vlen = sign_entry(dl, vaa, &p, set, index, &err)))
        rc = BH_EINVAL;
    bh_chain_outcome outcome = BH_CHAIN_APPROVED;
    void *tx = NULL;
    if (!rc) {
        rc = d->be->send(dl->sender, &tx, &outcome, vaa, vlen);
        if (rc) err = d->be->last_error(dl->sender);
    }
    if (again) {
        if (rc != BH_OK || !tx) /* executed since (by anyone), or refused: forgotten */
            BH_LOG(rc ? BH_LOG_WARN : BH_LOG_DEBUG, "resign_done",
                   "to=%s seq=%" PRIu64 " set=%" PRIu32 " error=%s", d->cfg->name, m->sequence, set,
                   rc ? bh_errname(rc) : "-");
        if (rc != BH_OK || !tx) return;
    } else if (rc == BH_OK && !tx) {
        delivered(dl, nv, e, outcome, 0, NULL); /* already done: nothing sent */
        return;
    } else if (rc != BH_OK) {
        failed(dl, nv, e, rc, err, 0);
        return;
    }
    flight_add(dl, &p, 1, tx, 0, set, again);
}

/* The late picks of ps that the Portal says are executed are acked
 * (already_done, nothing sent) and left out; the rest stay, in order, no
 * longer late. Returns how many stay. A failed read leaves all of them. */
static size_t drop_executed(deliverer *dl, pick *ps, size_t n)
{
    node_chain *d = dl->d;
    bh_hash32 dig[256];
    size_t idx[256], m = 0;
    for (size_t i = 0; i < n && m < 256; i++)
        if (ps[i].late) {
            dig[m] = ps[i].e.msg.digest;
            idx[m++] = i;
        }
    unsigned char bits[32];
    if (!m || !d->be->executed_mask || d->be->executed_mask(dl->sender, bits, dig, m) != BH_OK)
        return n;
    unsigned char gone[256] = {0};
    for (size_t j = 0; j < m; j++)
        if ((bits[31 - j / 8] >> (j % 8)) & 1) {
            gone[idx[j]] = 1;
            delivered(dl, &d->node->vaults[ps[idx[j]].vault], &ps[idx[j]].e, BH_CHAIN_ALREADY_DONE,
                      0, NULL);
        }
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (!gone[i]) {
            ps[w] = ps[i];
            ps[w++].late = 0;
        }
    return w;
}

/* Sign n entries (n <= batch_max) and send them in one submitBatch; a
 * batch too big for the gas cap goes in halves. */
static void deliver_batch(deliverer *dl, pick *ps, size_t n)
{
    node_chain *d = dl->d;
    bh_node *n_ = d->node;
    if (n > 1) n = drop_executed(dl, ps, n);
    if (n <= 1 || !d->be->send_batch) {
        for (size_t i = 0; i < n; i++)
            if (dl->n_fl < d->cfg->inflight_max)
                deliver_one(dl, &n_->vaults[ps[i].vault], &ps[i].e, 0);
        return;
    }
    uint32_t set = 0;
    uint8_t index = 0;
    if (node_sign_slot(d, &set, &index) != BH_OK) {
        for (size_t i = 0; i < n; i++)
            failed(dl, &n_->vaults[ps[i].vault], &ps[i].e, BH_EINVAL,
                   "not an attester of the destination Portal's current or previous set", 0);
        return;
    }
    pick *ok = calloc(n, sizeof *ok);
    const unsigned char **vaas = calloc(n, sizeof *vaas);
    size_t *lens = calloc(n, sizeof *lens), k = 0;
    if (!ok || !vaas || !lens) {
        free(ok), free(vaas), free(lens);
        return; /* goes again next round */
    }
    for (size_t i = 0; i < n; i++) {
        const char *err = NULL;
        unsigned char *vaa = dl->vaas + k * VAA_CAP;
        size_t vlen = sign_entry(dl, vaa, &ps[i], set, index, &err);
        if (!vlen) {
            failed(dl, &n_->vaults[ps[i].vault], &ps[i].e, BH_EINVAL, err, 0);
            continue;
        }
        ok[k] = ps[i];
        vaas[k] = vaa;
        lens[k++] = vlen;
    }
    void *tx = NULL;
    int rc = k > 1 ? d->be->send_batch(dl->sender, &tx, vaas, lens, k) : BH_OK;
    free(vaas);
    free(lens);
    if (k == 1) {
        deliver_one(dl, &n_->vaults[ok[0].vault], &ok[0].e, 0);
    } else if (rc == BH_OK) {
        flight_add(dl, ok, k, tx, 1, set, 0);
    } else if (rc == BH_ERANGE) {
        deliver_batch(dl, ok, k / 2); /* the halves, each signed again */
        if (dl->n_fl < d->cfg->inflight_max) deliver_batch(dl, ok + k / 2, k - k / 2);
    } else {
        /* refused whole (the estimate reverted: the Portal paused, say):
         * each goes again alone, where its own reason counts */
        const char *err = d->be->last_error(dl->sender);
        char why[320];
        snprintf(why, sizeof why, "batch: %s", err && *err ? err : bh_strerror(rc));
        for (size_t i = 0; i < k; i++)
            failed(dl, &n_->vaults[ok[i].vault], &ok[i].e, rc, why, 1);
    }
    free(ok);
}

static void remember(deliverer *dl, const pick *p, uint32_t set)
{
    if (!dl->appr) return;
    if (dl->n_appr == APPROVED_MAX) {
        dl->appr_head = (dl->appr_head + 1) % APPROVED_MAX;
        dl->n_appr--;
    }
    approved_ent *a = &dl->appr[(dl->appr_head + dl->n_appr++) % APPROVED_MAX];
    a->vault = p->vault;
    a->e = p->e;
    a->set = set;
}

/* After a rotation: our approvals signed under a set we no longer sign
 * from go again under the one we sign from now, up to room of them. */
static void resign(deliverer *dl, size_t room)
{
    uint32_t set = 0;
    uint8_t index = 0;
    if (!dl->n_appr || !room || node_sign_slot(dl->d, &set, &index) != BH_OK) return;
    size_t w = 0, sent = 0;
    for (size_t i = 0; i < dl->n_appr; i++) {
        approved_ent a = dl->appr[(dl->appr_head + i) % APPROVED_MAX];
        if (a.set != set && sent < room && !in_flight(dl, a.vault, &a.e)) {
            sent++;
            deliver_one(dl, &dl->d->node->vaults[a.vault], &a.e, 1);
            continue; /* forgotten: its new approval is remembered if it counts */
        }
        dl->appr[(dl->appr_head + w++) % APPROVED_MAX] = a;
    }
    dl->n_appr = w;
}

/* A batch's receipt: each entry acked or failed on its own. */
static void batch_done(deliverer *dl, flight *f)
{
    node_chain *d = dl->d;
    bh_node *n = d->node;
    bh_chain_tx_info ti;
    d->be->tx_info(f->tx, &ti);
    for (size_t j = 0; j < f->n; j++) {
        const pick *p = &f->items[j];
        const bh_chain_batch_item *r = &dl->res[j];
        node_vault *nv = &n->vaults[p->vault];
        if (r->failed)
            failed(dl, nv, &p->e, BH_EREVERTED, r->why[0] ? r->why : "out of gas in a batch",
                   !r->why[0]);
        else {
            if (r->outcome == BH_CHAIN_APPROVED) remember(dl, p, f->set);
            delivered(dl, nv, &p->e, r->outcome, r->approvals, &ti.tx_hash);
        }
    }
}

/* One pass over every transaction in flight: no sleep between them; the
 * backend reads the head first and looks for receipts only when it moved. */
static void poll_flights(deliverer *dl, int draining)
{
    node_chain *d = dl->d;
    bh_node *n = d->node;
    if (!dl->n_fl) return;
    if (d->be->poll_begin) d->be->poll_begin(dl->sender);
    for (size_t i = 0; i < d->cfg->inflight_max && dl->n_fl && (draining || !stopping(n)); i++) {
        flight *f = &dl->fl[i];
        if (!f->used) continue;
        bh_chain_outcome outcome = BH_CHAIN_APPROVED;
        unsigned approvals = 0;
        int rc = f->batch ? d->be->poll_batch(dl->sender, f->tx, dl->res, f->n)
                          : d->be->poll(dl->sender, f->tx, &outcome, &approvals);
        const pick *p0 = &f->items[0];
        node_vault *nv = &n->vaults[p0->vault];
        if (f->again && rc != BH_EBUSY && rc != BH_OK && rc != BH_EREVERTED && rc != BH_ETIMEOUT)
            continue; /* transport errors: still in flight */
        if (f->again && rc != BH_EBUSY) {
            BH_LOG(rc ? BH_LOG_WARN : BH_LOG_INFO, "resigned",
                   "to=%s seq=%" PRIu64 " set=%" PRIu32 " outcome=%s error=%s", d->cfg->name,
                   p0->e.msg.sequence, f->set, rc ? "-" : outcome_name(outcome),
                   rc ? bh_errname(rc) : "-");
            flight_done(dl, f);
            continue;
        }
        if (rc == BH_OK && f->batch) {
            batch_done(dl, f);
            flight_done(dl, f);
        } else if (rc == BH_OK) {
            if (outcome == BH_CHAIN_APPROVED) remember(dl, p0, f->set);
            bh_chain_tx_info ti;
            d->be->tx_info(f->tx, &ti);
            delivered(dl, nv, &p0->e, outcome, approvals, &ti.tx_hash);
            flight_done(dl, f);
        } else if (rc == BH_EREVERTED || rc == BH_ETIMEOUT) {
            /* mined and reverted, or never to be mined: the entries go
             * again after their back-off (an executed digest is acked
             * then); a batch's go alone, where their own reasons count */
            size_t m = f->n;
            int batch = f->batch;
            pick *items = malloc(m * sizeof *items);
            const char *err = d->be->last_error(dl->sender);
            char why[320];
            snprintf(why, sizeof why, "%s%s", batch ? "batch: " : "", err ? err : "");
            if (items) memcpy(items, f->items, m * sizeof *items);
            flight_done(dl, f);
            for (size_t j = 0; items && j < m; j++)
                failed(dl, &n->vaults[items[j].vault], &items[j].e, rc, why, batch);
            free(items);
        }
        /* BH_EBUSY, transport errors: still in flight */
    }
}

/* The read side's endpoint health steers the send side off a bad endpoint. */
static void share_health(deliverer *dl)
{
    node_chain *d = dl->d;
    if (!d->impl || !d->be->endpoint_count || !d->be->sender_health) return;
    size_t n = d->be->endpoint_count(d->impl);
    for (size_t i = 0; i < n; i++) {
        bh_chain_endpoint_health h;
        d->be->endpoint_health(d->impl, i, &h);
        d->be->sender_health(dl->sender, i, h.healthy || h.calls == 0);
    }
}

/* One round's picks: up to quota entries per source chain, over every
 * vault, skipping entries in back-off and entries from quarantined chains,
 * so nothing that cannot go now holds a slot. */
typedef struct {
    deliverer *dl;
    size_t vault;
    uint64_t now_ms;
    const int *src_paused;            /* per chain index */
    uint64_t lanes_paused;            /* the destination Portal's paused lanes, by chain index */
    size_t *per_src;                  /* per chain index, picks so far this round */
    size_t quota;                     /* picks per source this round, at most */
    unsigned wave_n, wave_q, wave_me; /* set size, quorum, our index; wave_n 0: no standby */
    size_t open_sources;              /* sources whose quota is not full */
    pick *picks;
    size_t n_picks;
    size_t cap;
} pick_ctx;

/* A hop's notice going home: refused there while its hop's lane is paused. */
static int hop_lane_paused(const pick_ctx *pc, const bh_vault_outbox_entry *e)
{
    if (e->to == e->msg.transfer.to_chain) return 0;
    node_chain *t = node_chain_by_id(pc->dl->d->node, e->msg.transfer.to_chain);
    return t && ((pc->lanes_paused >> t->idx) & 1);
}

/* Outside the first quorum of e's digest (the set's members in turn from
 * the digest), while its standby lasts: a transfer costs the destination
 * a quorum of approvals, not one per attester, and a member that is down
 * is stood in for after standby_ms. Not known since when (a restart): go.
 * *late: it may be executed already (stood in for, stored before a
 * restart, or its source event older than the standby: read on catching
 * up), so the Portal is asked before it goes in a batch. */
static int standing_by(const pick_ctx *pc, const bh_vault_outbox_entry *e, int *late)
{
    uint64_t standby = pc->dl->d->cfg->standby_ms;
    int64_t age = node_lat_age(pc->dl->d->node, &e->msg.digest);
    uint64_t ts_ms = (uint64_t)e->msg.timestamp * 1000, now = wall_ms();
    *late = age < 0 || now > ts_ms + standby;
    if (!pc->wave_n) return 0;
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | e->msg.digest.data[i];
    unsigned first = (unsigned)(h % pc->wave_n);
    if ((pc->wave_me + pc->wave_n - first) % pc->wave_n < pc->wave_q) return 0;
    if (age >= 0 && (uint64_t)age < standby) return 1;
    *late = 1; /* standing in */
    return 0;
}

static int pick_cb(void *ctx, const bh_vault_outbox_entry *e)
{
    pick_ctx *pc = ctx;
    bh_node *n = pc->dl->d->node;
    node_chain *s = node_chain_by_id(n, e->msg.emitter_chain);
    if (!s || pc->src_paused[s->idx] || pc->per_src[s->idx] >= pc->quota) return 0;
    if (hop_lane_paused(pc, e)) return 0;
    backoff_ent *b = backoff_find(pc->dl, pc->vault, e->id, 0);
    if (b && b->until_ms > pc->now_ms) return 0;
    if (in_flight(pc->dl, pc->vault, e)) return 0; /* never twice at once */
    int late = 0;
    if (standing_by(pc, e, &late)) return 0;
    pc->picks[pc->n_picks].e = *e;
    pc->picks[pc->n_picks].vault = pc->vault;
    pc->picks[pc->n_picks].late = late;
    pc->n_picks++;
    if (++pc->per_src[s->idx] == pc->quota && --pc->open_sources == 0) return 1;
    return pc->n_picks == pc->cap ? 1 : 0;
}

/* Hop notices from quarantined sources, looked for after a round's picks:
 * nothing else from such a source goes, but a notice whose mint has
 * reached the destination must still go home (it pays nothing and only
 * moves the home Portal's outstanding off the source), or the hopped
 * supply could never return. The scan resumes where the last one stopped,
 * so notices whose mints never go cannot hide those behind them. */
#define HELD_SCAN 4096

typedef struct {
    pick_ctx *pc;
    bh_vault_outbox_entry cand[PER_SOURCE];
    size_t n, seen;
    uint64_t last;
} held_ctx;

static int held_cb(void *ctx, const bh_vault_outbox_entry *e)
{
    held_ctx *h = ctx;
    pick_ctx *pc = h->pc;
    h->seen++;
    h->last = e->id;
    node_chain *s = node_chain_by_id(pc->dl->d->node, e->msg.emitter_chain);
    if (!s || pc->src_paused[s->idx] != 1 || e->to == e->msg.transfer.to_chain ||
        pc->per_src[s->idx] >= PER_SOURCE || hop_lane_paused(pc, e))
        return 0;
    backoff_ent *b = backoff_find(pc->dl, pc->vault, e->id, 0);
    if (b && b->until_ms > pc->now_ms) return 0;
    if (in_flight(pc->dl, pc->vault, e)) return 0;
    h->cand[h->n++] = *e;
    return h->n == PER_SOURCE ? 1 : 0;
}

/* Called with nv->mu held, after the round's scan of nv. */
static void pick_held(pick_ctx *pc, node_vault *nv, uint16_t to, uint64_t *after)
{
    held_ctx h = {.pc = pc};
    int rc = bh_vault_outbox_scan_to(nv->v, to, *after, HELD_SCAN, held_cb, &h);
    if (rc < 0) return;
    *after = rc == 1 || h.seen >= HELD_SCAN ? h.last : 0; /* else: from the start next time */
    for (size_t i = 0; i < h.n && pc->n_picks < pc->cap; i++) {
        node_chain *s = node_chain_by_id(pc->dl->d->node, h.cand[i].msg.emitter_chain);
        if (pc->per_src[s->idx] >= PER_SOURCE || mint_queued(nv, &h.cand[i])) continue;
        pc->per_src[s->idx]++; /* a paused source's quota: its held notices only */
        pc->picks[pc->n_picks].e = h.cand[i];
        pc->picks[pc->n_picks].vault = pc->vault;
        pc->n_picks++;
    }
}

/* Who submits first this round: our place in the destination's current
 * set (not known, or signing from the previous set: no standby). */
static void standby_wave(deliverer *dl, pick_ctx *pc)
{
    node_chain *d = dl->d;
    if (!d->cfg->standby_ms) return;
    pthread_mutex_lock(&d->ctl_mu);
    int known = d->ctl_known;
    bh_chain_controls c = d->ctl;
    pthread_mutex_unlock(&d->ctl_mu);
    if (!known || !c.my_index || c.set_size < 2 || c.quorum >= c.set_size ||
        c.my_index > c.set_size)
        return;
    pc->wave_n = c.set_size;
    pc->wave_q = c.quorum ? c.quorum : 1;
    pc->wave_me = c.my_index - 1;
}

/* The round's picks, in order, as transactions of up to batch_max
 * entries each while there is room in flight; an entry that failed in a
 * batch with no reason of its own goes alone. */
static void deliver_round(deliverer *dl, const pick *picks, const size_t *order, size_t did)
{
    node_chain *d = dl->d;
    pick *group = malloc(dl->batch_max * sizeof *group);
    if (!group) return;
    size_t g = 0, sent = 0;
    for (size_t i = 0; i <= did && !stopping(d->node); i++) {
        const pick *p = i < did ? &picks[order[i]] : NULL;
        const backoff_ent *b = p ? backoff_find(dl, p->vault, p->e.id, 0) : NULL;
        int solo = b && b->solo;
        if (g && (!p || solo || g == dl->batch_max)) { /* the group so far goes */
            if (dl->n_fl == d->cfg->inflight_max) break;
            if (sent++ % 4 == 3) poll_flights(dl, 0); /* receipts keep coming while we send */
            deliver_batch(dl, group, g);
            g = 0;
        }
        if (!p) break;
        if (solo) {
            if (dl->n_fl == d->cfg->inflight_max) break;
            deliver_one(dl, &d->node->vaults[p->vault], &p->e, 0);
            continue;
        }
        group[g++] = *p;
    }
    free(group);
}

void *node_deliver_main(void *arg)
{
    deliverer *dl = arg;
    node_chain *d = dl->d;
    bh_node *n = d->node;
    uint64_t last_wallet = 0;
    size_t rr = 0;
    /* each source's picks, and held notices */
    size_t quota_max = ROUND_PICKS / n->n > PER_SOURCE ? ROUND_PICKS / n->n : PER_SOURCE;
    size_t cap = 2 * quota_max * n->n;
    pick *picks = calloc(cap, sizeof *picks);
    size_t *src = calloc(cap, sizeof *src), *order = calloc(cap, sizeof *order);
    size_t *per_src = calloc(n->n, sizeof *per_src);
    int *src_paused = calloc(n->n, sizeof *src_paused);
    uint64_t *held_after = calloc(n->n, sizeof *held_after);
    if (!picks || !per_src || !src_paused || !held_after || !src || !order) {
        atomic_store(&n->fatal, BH_ENOMEM);
        goto out;
    }
    while (!stopping(n)) {
        if (!atomic_load(&d->identity_ok)) {
            /* nothing goes to a chain before it is known to be the one the
             * data_dir was made with (a reset chain gets nothing old) */
            wait_on(n, &d->wake_mu, &d->wake_cv, &d->wake, n->cfg->poll_ms);
            continue;
        }
        if (mono_ms() - last_wallet >= 10000) {
            update_wallet(dl);
            share_health(dl);
            last_wallet = mono_ms();
        }
        poll_flights(dl, 0);
        node_curse_votes(d, dl->sender, dl->ctx, &dl->votes);
        resign(dl, (d->cfg->inflight_max - dl->n_fl) / 2);
        size_t room = d->cfg->inflight_max - dl->n_fl;
        if (!room) {
            /* full: wait for receipts (a block), or for a stop */
            nap(n, FLIGHT_POLL_MS);
            continue;
        }
        memset(per_src, 0, n->n * sizeof *per_src);
        /* room for room transactions of batch_max entries, shared out
         * over the sources (each gets at least PER_SOURCE) */
        size_t want = room * dl->batch_max, quota = want / n->n;
        if (quota > quota_max) quota = quota_max;
        if (quota < PER_SOURCE) quota = PER_SOURCE;
        pick_ctx pc = {.dl = dl,
                       .quota = quota,
                       .picks = picks,
                       .cap = cap,
                       .per_src = per_src,
                       .src_paused = src_paused,
                       .open_sources = n->n};
        standby_wave(dl, &pc);
        for (size_t k = 0; k < n->n && pc.n_picks < cap && !stopping(n); k++) {
            node_vault *nv = &n->vaults[(rr + k) % n->n];
            pthread_mutex_lock(&nv->mu);
            /* a paused Portal takes nothing: its entries wait, taking no slot
             * and no revert toward parking */
            int paused =
                bh_vault_is_quarantined(nv->v, d->cfg->bridge_id) || atomic_load(&d->portal_paused);
            /* a chain cursed on d's Portal is held there as a paused lane is */
            uint64_t lanes = atomic_load(&d->lanes_paused) | atomic_load(&d->lanes_cursed);
            /* a chain found compromised gets nothing more delivered from it
             * (1: quarantined; 2: its lane paused on d's Portal, notices too) */
            size_t open = 0, n_paused = 0;
            for (size_t s = 0; s < n->n; s++) {
                src_paused[s] = bh_vault_is_quarantined(nv->v, n->chains[s].cfg->bridge_id);
                /* a paused or cursed lane takes nothing, hop notices neither */
                if ((lanes >> s) & 1) src_paused[s] = 2;
                if (!src_paused[s] && per_src[s] < quota) open++;
                n_paused += src_paused[s] == 1 ? 1 : 0;
            }
            pc.vault = nv->idx;
            pc.lanes_paused = lanes;
            pc.now_ms = mono_ms();
            pc.open_sources = open;
            int rc = paused || !open ? BH_OK
                                     : bh_vault_outbox_scan_to(nv->v, d->cfg->bridge_id, 0,
                                                               SCAN_MAX, pick_cb, &pc);
            if (rc >= 0 && !paused && n_paused)
                pick_held(&pc, nv, d->cfg->bridge_id, &held_after[nv->idx]);
            pthread_mutex_unlock(&nv->mu);
            if (rc < 0)
                BH_LOG(BH_LOG_ERROR, "outbox_read_failed", "vault=%s to=%s error=%s", nv->cfg->name,
                       d->cfg->name, bh_errname(rc));
        }
        rr++;
        /* serve the sources in turn: each source's first pick, then each
         * one's second, so a flooding source waits behind everyone else */
        for (size_t i = 0; i < pc.n_picks; i++) /* picks come only from known chains */
            src[i] = node_chain_by_id(n, picks[i].e.msg.emitter_chain)->idx;
        size_t did = node_policy_round_order(src, pc.n_picks, quota, n->n, order);
        if (did > want) did = want; /* the round order decides who gets the room */
        deliver_round(dl, picks, order, did);
        if (!did)
            wait_on(n, &d->wake_mu, &d->wake_cv, &d->wake,
                    dl->n_fl ? FLIGHT_POLL_MS : n->cfg->poll_ms);
    }
out:
    free(picks);
    free(src);
    free(order);
    free(per_src);
    free(src_paused);
    free(held_after);
    /* at a stop, wait a while for what is in flight (as a delivery under
     * way always finished); what is left is not acked and goes again at
     * the next start (an executed digest is then acked as already_done) */
    for (uint64_t until = mono_ms() + DRAIN_MS; dl->fl && dl->n_fl && mono_ms() < until;) {
        poll_flights(dl, 1);
        if (dl->n_fl) sleep_ms(FLIGHT_POLL_MS);
    }
    for (size_t i = 0; dl->fl && i < d->cfg->inflight_max; i++)
        if (dl->fl[i].used) flight_done(dl, &dl->fl[i]);
    if (dl->votes.tx) d->be->tx_free(dl->votes.tx);
    dl->votes.tx = NULL;
    return NULL;
}

void node_deliverer_free(deliverer *dl)
{
    if (!dl) return;
    if (dl->sender) dl->d->be->sender_destroy(dl->sender);
    bh_attest_destroy(dl->ctx);
    free(dl->backoff);
    for (size_t i = 0; dl->fl && i < (dl->d->cfg->inflight_max ? dl->d->cfg->inflight_max : 1); i++)
        free(dl->fl[i].items);
    free(dl->fl);
    free(dl->vaas);
    free(dl->res);
    free(dl->fset);
    free(dl->appr);
    free(dl);
}

int node_deliverer_new(deliverer **out, node_chain *d, char *err, size_t cap)
{
    *out = NULL;
    deliverer *dl = calloc(1, sizeof *dl);
    if (!dl) return BH_ENOMEM;
    dl->d = d;
    dl->ctx = bh_attest_create();
    dl->backoff = calloc(BACKOFF_SLOTS, sizeof *dl->backoff);
    size_t nfl = d->cfg->inflight_max ? d->cfg->inflight_max : 1;
    dl->batch_max = d->cfg->batch_max ? d->cfg->batch_max : 1;
    dl->fl = calloc(nfl, sizeof *dl->fl);
    dl->vaas = malloc(dl->batch_max * VAA_CAP);
    dl->res = calloc(dl->batch_max, sizeof *dl->res);
    for (dl->fset_cap = 16; dl->fset_cap < 2 * nfl * dl->batch_max;)
        dl->fset_cap *= 2;
    dl->fset = calloc(dl->fset_cap, sizeof *dl->fset);
    for (size_t i = 0; dl->fl && i < nfl; i++)
        if (!(dl->fl[i].items = calloc(dl->batch_max, sizeof *dl->fl[i].items))) {
            free(dl->res);
            dl->res = NULL; /* reported as ENOMEM below */
            break;
        }
    dl->appr = calloc(APPROVED_MAX, sizeof *dl->appr);
    bh_chain_sender_config so = {.chain_id = d->cfg->evm_chain_id,
                                 .url = d->cfg->endpoints[0],
                                 .urls = (const char *const *)d->cfg->endpoints,
                                 .n_urls = d->cfg->n_endpoints,
                                 .timeout_ms = d->cfg->rpc_timeout_ms,
                                 .retries = d->cfg->rpc_retries,
                                 .gas_cap = d->cfg->gas_cap,
                                 .max_fee = d->cfg->max_fee_gwei * 1000000000ull,
                                 .portal = d->cfg->portal,
                                 .tx_key = &d->cfg->tx_key,
                                 .log = node_rpc_log,
                                 .log_ud = d,
                                 .log_min = d->node->cfg->log_level};
    int rc = dl->ctx && dl->backoff && dl->fl && dl->appr && dl->vaas && dl->res && dl->fset
                 ? d->be->sender_create(&dl->sender, &so)
                 : BH_ENOMEM;
    if (!rc) rc = bh_attest_address(dl->ctx, &dl->attester, &d->node->cfg->attester_key);
    if (rc) {
        snprintf(err, cap, "chain %s: cannot set up delivery: %s", d->cfg->name, bh_strerror(rc));
        node_deliverer_free(dl);
        return rc;
    }
    *out = dl;
    return BH_OK;
}
