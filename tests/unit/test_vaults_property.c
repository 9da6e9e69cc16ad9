/* Property test: random sequences of locks (mints on the destination),
 * burns home, hops and forged burns across 3 chains, applied to real vaults
 * and to a tiny in-memory model. After every step the vaults equal the
 * model, Σ outstanding <= locked holds, and a forged message from chain C
 * never moves more than outstanding[S][C] out of vault S. A second test
 * drives the 24 h windows with arrivals above them and release_due calls; a
 * third the value windows across two assets, with and without flow cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>

#include "vaults_helpers.h"

#define NCHAIN 3  /* chains 1..3 each have a vault; chain 4 has none */
#define NSEQ 1000 /* random sequences */
#define NSTEP 30  /* steps per sequence */
#define MAXBATCH 6

typedef struct {
    bh_u128 locked[NCHAIN + 1];
    bh_u128 out[NCHAIN + 1][NCHAIN + 2];
    uint64_t seq[NCHAIN + 2]; /* next sequence per emitter chain */
} model;

static uint64_t g_rng;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* What the model says a message does; mirrors the table in bh_vault.h. */
static bh_reject model_apply(model *m, const bh_transfer_msg *msg)
{
    unsigned s = msg->transfer.token_chain, c = msg->emitter_chain, d = msg->transfer.to_chain;
    bh_u128 a = msg->amount;
    if (c == s) {
        m->locked[s] += a;
        m->out[s][d] += a;
        return BH_REJECT_OK;
    }
    if (a > m->out[s][c]) return BH_REJECT_EXCEEDS_OUTSTANDING;
    m->out[s][c] -= a;
    if (d == s)
        m->locked[s] -= a;
    else
        m->out[s][d] += a;
    return BH_REJECT_OK;
}

static void check_vaults(bh_vault **v, const model *m, uint64_t seed, int step)
{
    for (unsigned s = 1; s <= NCHAIN; s++) {
        bh_bytes32 tok = vt_token((uint16_t)s, 0);
        bh_vault_asset a;
        assert_int_equal(bh_vault_asset_get(v[s], &a, &tok), BH_OK);
        bh_u128 sum = 0;
        for (unsigned c = 1; c <= NCHAIN + 1; c++) {
            bh_vault_lane l;
            bh_u128 o = bh_vault_lane_get(v[s], &l, &tok, (uint16_t)c) == BH_OK ? l.outstanding : 0;
            if (o != m->out[s][c])
                fail_msg("seed %" PRIu64 " step %d: vault %u outstanding[%u] = %llu, model %llu",
                         seed, step, s, c, (unsigned long long)o, (unsigned long long)m->out[s][c]);
            sum += o;
        }
        if (a.locked != m->locked[s])
            fail_msg("seed %" PRIu64 " step %d: vault %u locked %llu, model %llu", seed, step, s,
                     (unsigned long long)a.locked, (unsigned long long)m->locked[s]);
        assert_true(sum == a.outstanding_total);
        assert_true(sum <= a.locked);
    }
}

/* One random message; `forged` ones come from any chain with any amount. */
static bh_transfer_msg gen(model *m, int *forged)
{
    unsigned kind = pick(10);
    unsigned s = 1 + pick(NCHAIN), c, d;
    bh_u128 a;
    *forged = 0;
    if (kind < 4) { /* lock on s, minted on d */
        do
            d = 1 + pick(NCHAIN + 1);
        while (d == s);
        return vt_msg((uint16_t)s, (uint16_t)s, (uint16_t)d, m->seq[s]++, 1 + pick(1000), 0, 0);
    }
    do
        c = 1 + pick(NCHAIN + 1);
    while (c == s);
    if (kind < 8 && m->out[s][c] > 0) { /* honest burn: home, or a hop */
        a = 1 + (bh_u128)(rnd() % (uint64_t)m->out[s][c]);
        if (kind < 6)
            d = s;
        else
            do
                d = 1 + pick(NCHAIN + 1);
            while (d == c);
        return vt_msg((uint16_t)c, (uint16_t)s, (uint16_t)d, m->seq[c]++, a, 0, 0);
    }
    /* forged: from c, any amount, home or to another chain */
    *forged = 1;
    a = 1 + (bh_u128)(rnd() % ((uint64_t)m->out[s][c] + 2000));
    if (pick(4) == 0) a = (bh_u128)1 << (64 + pick(60));
    do
        d = 1 + pick(NCHAIN + 1);
    while (d == c);
    return vt_msg((uint16_t)c, (uint16_t)s, (uint16_t)d, m->seq[c]++, a, 0, 0);
}

static void run_sequence(uint64_t seed)
{
    g_rng = seed * 2654435761u + 1;
    char *dir = vt_tmpdir();
    bh_vault *v[NCHAIN + 1] = {0};
    bh_vault_opts o = {.no_sync = 1};
    for (unsigned s = 1; s <= NCHAIN; s++) {
        char name[8];
        snprintf(name, sizeof name, "c%u", s);
        assert_int_equal(bh_vault_init_dir(dir, name, (uint16_t)s, 1, "t", NULL), BH_OK);
        v[s] = vt_open(dir, name, &o);
        assert_non_null(v[s]);
        bh_bytes32 tok = vt_token((uint16_t)s, 0);
        assert_int_equal(bh_vault_asset_add(v[s], &tok, 6, NULL, 1, "t", NULL), BH_OK);
    }
    model m;
    memset(&m, 0, sizeof m);
    for (unsigned c = 1; c <= NCHAIN + 1; c++)
        m.seq[c] = 1;
    bh_transfer_msg hist[NSTEP * MAXBATCH];
    size_t nhist = 0;

    for (int step = 0; step < NSTEP; step++) {
        /* one batch per home vault touched; the vault of chain s gets only its messages */
        unsigned s = 1 + pick(NCHAIN);
        size_t n = 1 + pick(MAXBATCH);
        bh_transfer_msg b[MAXBATCH];
        bh_reject want[MAXBATCH];
        int forged[MAXBATCH];
        model before = m;
        for (size_t i = 0; i < n; i++) {
            if (nhist && pick(12) == 0) {
                /* replay an applied message of this vault, or equivocate on it */
                size_t k = pick((unsigned)nhist);
                int tries = 0;
                while (hist[k].transfer.token_chain != s && tries++ < 20)
                    k = pick((unsigned)nhist);
                if (hist[k].transfer.token_chain == s) {
                    b[i] = hist[k];
                    want[i] = BH_REJECT_REPLAYED;
                    if (pick(2)) {
                        b[i].digest.data[0] ^= 0x5a;
                        want[i] = BH_REJECT_EQUIVOCATION;
                    }
                    forged[i] = 1;
                    continue;
                }
            }
            do
                b[i] = gen(&m, &forged[i]);
            while (b[i].transfer.token_chain != s);
            want[i] = model_apply(&m, &b[i]);
        }
        bh_vault_result r[MAXBATCH];
        assert_int_equal(bh_vault_apply(v[s], r, b, n, 1000 + (uint64_t)step), BH_OK);
        for (size_t i = 0; i < n; i++) {
            if (want[i] == BH_REJECT_OK) {
                if (r[i].status != BH_VAULT_ACCEPTED)
                    fail_msg("seed %" PRIu64 " step %d msg %zu: want accepted, got %s/%s", seed,
                             step, i, bh_vault_status_name(r[i].status),
                             bh_reject_name(r[i].reason));
                hist[nhist++] = b[i];
            } else {
                if (r[i].status != BH_VAULT_REJECTED || r[i].reason != want[i])
                    fail_msg("seed %" PRIu64 " step %d msg %zu: want %s, got %s/%s", seed, step, i,
                             bh_reject_name(want[i]), bh_vault_status_name(r[i].status),
                             bh_reject_name(r[i].reason));
            }
        }
        /* segmentation: custody leaves vault s only against supply that other
         * chains held, and every other vault is untouched */
        bh_u128 held = 0;
        for (unsigned c = 1; c <= NCHAIN + 1; c++)
            if (c != s) held += before.out[s][c];
        if (m.locked[s] < before.locked[s]) assert_true(before.locked[s] - m.locked[s] <= held);
        for (unsigned o2 = 1; o2 <= NCHAIN; o2++) {
            if (o2 == s) continue;
            assert_true(m.locked[o2] == before.locked[o2]);
            assert_memory_equal(m.out[o2], before.out[o2], sizeof m.out[o2]);
        }
        check_vaults(v, &m, seed, step);
    }
    for (unsigned s = 1; s <= NCHAIN; s++) {
        char diff[256];
        if (bh_vault_audit(v[s], diff, sizeof diff) != BH_OK)
            fail_msg("seed %" PRIu64 ": audit of c%u: %s", seed, s, diff);
        bh_vault_close(v[s]);
    }
    vt_rmrf(dir);
    free(dir);
}

static void test_random_sequences(void **state)
{
    (void)state;
    const char *env = getenv("BH_SEED");
    uint64_t base = env ? strtoull(env, NULL, 10) : 20261121;
    int nseq = env ? 1 : NSEQ;
    for (int i = 0; i < nseq; i++)
        run_sequence(base + (uint64_t)i);
}

/* The worst case spelled out: chain 3 is compromised and forges burns
 * against every vault. Vault 1 gave chain 3 exactly 50; vault 2 gave it
 * nothing. */
static void test_compromised_chain_costs_at_most_its_outstanding(void **state)
{
    (void)state;
    char *dir = vt_tmpdir();
    bh_vault *v1, *v2;
    assert_int_equal(bh_vault_init_dir(dir, "one", 1, 1, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_init_dir(dir, "two", 2, 1, "t", NULL), BH_OK);
    v1 = vt_open(dir, "one", NULL);
    v2 = vt_open(dir, "two", NULL);
    bh_bytes32 t1 = vt_token(1, 0), t2 = vt_token(2, 0);
    assert_int_equal(bh_vault_asset_add(v1, &t1, 0, NULL, 1, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_asset_add(v2, &t2, 0, NULL, 1, "t", NULL), BH_OK);
    bh_transfer_msg in[3] = {vt_msg(1, 1, 3, 1, 50, 0, 0), vt_msg(1, 1, 2, 2, 1000, 0, 0),
                             vt_msg(2, 2, 1, 1, 1000, 0, 0)};
    bh_vault_result r[3];
    assert_int_equal(bh_vault_apply(v1, r, in, 2, 10), BH_OK);
    assert_int_equal(bh_vault_apply(v2, r, in + 2, 1, 10), BH_OK);
    /* 100 forged burns of 7 from chain 3 against each vault */
    bh_transfer_msg f1[100], f2[100];
    for (int i = 0; i < 100; i++) {
        f1[i] = vt_msg(3, 1, (i % 2) ? 1 : 2, 100 + (uint64_t)i, 7, 0, 0);
        f2[i] = vt_msg(3, 2, 2, 500 + (uint64_t)i, 7, 0, 0);
    }
    bh_vault_result rr[100];
    assert_int_equal(bh_vault_apply(v1, rr, f1, 100, 11), BH_OK);
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += rr[i].status == BH_VAULT_ACCEPTED;
    assert_int_equal(ok, 7); /* 7 * 7 = 49 <= 50 < 8 * 7 */
    assert_int_equal(bh_vault_apply(v2, rr, f2, 100, 11), BH_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(rr[i].reason, BH_REJECT_EXCEEDS_OUTSTANDING);
    bh_vault_asset a;
    assert_int_equal(bh_vault_asset_get(v2, &a, &t2), BH_OK);
    assert_true(a.locked == 1000 && a.outstanding_total == 1000);
    bh_vault_close(v1);
    bh_vault_close(v2);
    vt_rmrf(dir);
    free(dir);
}

/* ---- the 24 h window counts what is released ---- */

#define W_HOURS 100   /* simulated time */
#define W_LIMIT1 6000 /* window of transfers from the home chain (locks) */
#define W_LIMIT2 2000 /* window of transfers from chain 2 (returns) */
#define W_BIG 5000    /* big_threshold: these skip the window */
#define W_MAXMSG 4096

typedef struct {
    uint64_t arrived;
    bh_u128 amount;
    int applied;  /* not rejected: must end in the outbox or in pending */
    int outboxed; /* times seen in the outbox */
} w_msg;

typedef struct {
    w_msg m[3][W_MAXMSG]; /* by source chain (1 or 2) and sequence */
    uint64_t nseq[3];
    bh_u128 hourly[3][W_HOURS + 2]; /* released (non-big) amount per source and hour */
    bh_u128 total[3];
    uint64_t mark; /* outbox entries up to here were collected */
    uint64_t now, t0;
    int pending_seen[3][W_MAXMSG];
} w_sim;

static void w_collect(w_sim *s, const bh_vault_outbox_entry *e)
{
    unsigned src = e->msg.emitter_chain;
    assert_true(src == 1 || src == 2);
    assert_true(e->msg.sequence < s->nseq[src]);
    w_msg *m = &s->m[src][e->msg.sequence];
    m->outboxed++;
    if (m->amount < W_BIG) {
        uint64_t h = (s->now - s->t0) / 3600;
        s->hourly[src][h] += m->amount;
        s->total[src] += m->amount;
    } else {
        assert_true(s->now >= m->arrived + 6 * 3600); /* big: its own fixed delay */
    }
    s->mark = e->id;
}

static int w_pending(void *ctx, const bh_vault_pending *p)
{
    w_sim *s = ctx;
    unsigned src = p->msg.emitter_chain;
    assert_true(p->msg.sequence < s->nseq[src]);
    s->pending_seen[src][p->msg.sequence]++;
    return 0;
}

static int w_pick_pending(void *ctx, const bh_vault_pending *p)
{
    uint64_t *want = ctx;
    /* an operator releases a delayed transfer early (never a capacity hold) */
    if (p->cause != BH_VAULT_CAUSE_CAPACITY && p->cause != BH_VAULT_CAUSE_BIG && pick(3) == 0) {
        *want = p->id;
        return 1;
    }
    return 0;
}

static void w_check_windows(const w_sim *s, uint64_t seed)
{
    const bh_u128 limit[3] = {0, W_LIMIT1, W_LIMIT2};
    for (unsigned src = 1; src <= 2; src++)
        for (int h = 0; h < W_HOURS + 2; h++) {
            /* the vault's window: the hour now and the 23 before it */
            bh_u128 sum = 0;
            for (int k = h - 23 < 0 ? 0 : h - 23; k <= h; k++)
                sum += s->hourly[src][k];
            if (sum > limit[src])
                fail_msg("seed %" PRIu64 ": chain %u released %llu in the 24 h ending at hour %d,"
                         " window %llu",
                         seed, src, (unsigned long long)sum, h, (unsigned long long)limit[src]);
        }
}

static void run_window_sim(uint64_t seed)
{
    g_rng = seed * 2654435761u + 7;
    char *dir = vt_tmpdir();
    bh_vault_opts o = {.no_sync = 1};
    assert_int_equal(bh_vault_init_dir(dir, "home", 1, 1, "t", NULL), BH_OK);
    bh_vault *v = vt_open(dir, "home", &o);
    bh_bytes32 tok = vt_token(1, 0);
    static w_sim s;
    memset(&s, 0, sizeof s);
    s.t0 = 1700000000ull - 1700000000ull % 3600;
    assert_int_equal(bh_vault_asset_add(v, &tok, 6, NULL, s.t0, "t", NULL), BH_OK);
    const char *keys[] = {"window.1",  "window.2",      "big_threshold",
                          "big_delay", "in_capacity.1", "in_refill.1"};
    bh_u128 vals[] = {W_LIMIT1, W_LIMIT2, W_BIG, 6 * 3600, 1500, 1};
    for (int i = 0; i < 6; i++)
        assert_int_equal(bh_vault_set_limit(v, &tok, keys[i], vals[i], s.t0, "t", NULL), BH_OK);
    uint64_t end = s.t0 + W_HOURS * 3600ull;
    for (s.now = s.t0; s.now < end; s.now += 1 + pick(900)) {
        /* arrivals: about 3x what the windows let through per day */
        bh_transfer_msg b[4];
        size_t n = pick(3);
        for (size_t i = 0; i < n; i++) {
            unsigned src = pick(4) ? 1 : 2;
            bh_u128 a = 1 + pick(src == 1 ? 300 : 150);
            if (pick(50) == 0) a = W_BIG + pick(1000);                    /* big */
            if (src == 2 && pick(40) == 0) a = W_LIMIT2 + 1 + pick(1000); /* beyond its window */
            uint64_t seq = s.nseq[src]++;
            assert_true(seq < W_MAXMSG);
            b[i] = vt_msg((uint16_t)src, 1, src == 1 ? 2 : 1, seq, a, 0, 0);
            s.m[src][seq] = (w_msg){s.now, a, 0, 0};
        }
        bh_vault_result r[4];
        assert_int_equal(bh_vault_apply(v, r, b, n, s.now), BH_OK);
        for (size_t i = 0; i < n; i++) {
            w_msg *m = &s.m[b[i].emitter_chain][b[i].sequence];
            m->applied = r[i].status != BH_VAULT_REJECTED;
            if (!m->applied) assert_int_equal(r[i].reason, BH_REJECT_EXCEEDS_OUTSTANDING);
        }
        if (pick(25) == 0) {
            uint64_t want = 0;
            int prc = bh_vault_each_pending(v, w_pick_pending, &want);
            assert_true(prc == BH_OK || prc == 1);
            if (want) assert_int_equal(bh_vault_release(v, NULL, want, s.now, "op", "t"), BH_OK);
        }
        size_t released;
        assert_int_equal(bh_vault_release_due(v, &released, s.now, pick(4) ? 0 : 1 + pick(3)),
                         BH_OK);
        for (;;) {
            bh_vault_outbox_entry e[64];
            size_t k;
            assert_int_equal(bh_vault_outbox_peek_to(v, e, 64, &k, 0, s.mark), BH_OK);
            for (size_t i = 0; i < k; i++)
                w_collect(&s, &e[i]);
            if (k < 64) break;
        }
        if (pick(2)) /* the deliverer keeps up, or lets the outbox grow for a while */
            for (;;) {
                bh_vault_outbox_entry e[32];
                size_t k;
                assert_int_equal(bh_vault_outbox_peek(v, e, 32, &k), BH_OK);
                if (!k) break;
                for (size_t i = 0; i < k; i++)
                    assert_int_equal(bh_vault_outbox_ack(v, e[i].id), BH_OK);
            }
    }
    w_check_windows(&s, seed);
    /* the windows were used, not just respected: one full window a day */
    if (s.total[1] < (bh_u128)W_LIMIT1 * (W_HOURS / 24) * 9 / 10)
        fail_msg("seed %" PRIu64 ": only %llu released from chain 1 in %d h", seed,
                 (unsigned long long)s.total[1], W_HOURS);
    /* nothing lost: each applied message is in the outbox once or still pending */
    assert_int_equal(bh_vault_each_pending(v, w_pending, &s), BH_OK);
    size_t waiting = 0;
    for (unsigned src = 1; src <= 2; src++)
        for (uint64_t q = 0; q < s.nseq[src]; q++) {
            const w_msg *m = &s.m[src][q];
            int where = m->outboxed + s.pending_seen[src][q];
            if (where != (m->applied ? 1 : 0))
                fail_msg("seed %" PRIu64 ": chain %u seq %" PRIu64 " applied %d, outboxed %d,"
                         " pending %d",
                         seed, src, q, m->applied, m->outboxed, s.pending_seen[src][q]);
            waiting += (size_t)s.pending_seen[src][q];
        }
    assert_true(waiting > 0); /* more arrived than the windows let out */
    char diff[256];
    if (bh_vault_audit(v, diff, sizeof diff) != BH_OK) fail_msg("seed %" PRIu64 ": %s", seed, diff);
    bh_vault_close(v);
    vt_rmrf(dir);
    free(dir);
}

/* Arrivals above the limits for 100 simulated hours, with buckets, big
 * transfers, holds beyond the window, operator releases and release_due
 * calls at random: what leaves through the outbox from a chain never
 * exceeds its window in any 24 h, and every message is delivered or still
 * pending. */
static void test_vaults_window_released_within_limit(void **state)
{
    (void)state;
    const char *env = getenv("BH_SEED");
    uint64_t base = env ? strtoull(env, NULL, 10) : 20261122;
    int nseq = env ? 1 : 4;
    for (int i = 0; i < nseq; i++)
        run_window_sim(base + (uint64_t)i);
}

/* ---- value windows: across assets, with and without flow cancel ---- */

#define V_HOURS 120
#define V_WIN 50000  /* value_window.1: what may leave home (chain 1) in 24 h */
#define V_LANE 30000 /* value_lane.1.2 */
#define V_MAXMSG 4096
#define V_E18 ((bh_u128)1000000000000000000ull)

typedef struct {
    bh_u128 out[V_HOURS + 2];    /* value released from chain 1, per hour */
    bh_u128 out12[V_HOURS + 2];  /* of it toward chain 2 */
    bh_u128 credit[V_HOURS + 2]; /* value of returns from 2 (flow cancel) */
    bh_u128 price[2];
    uint64_t now, t0, mark;
    uint64_t nseq[3];
    bh_u128 total;
    int fc;
} v_sim;

/* ceil(amount * price / 10^dec), by the model's own arithmetic */
static bh_u128 v_value(bh_u128 amount, bh_u128 price, unsigned dec)
{
    bh_u128 unit = 1;
    for (unsigned i = 0; i < dec; i++)
        unit *= 10;
    bh_u128 p = amount * price; /* the amounts here stay far below 2^120 */
    return p / unit + (p % unit ? 1 : 0);
}

/* An operator releases a delayed transfer early, never as an override
 * (a capacity hold, or a big one's delay: those skip what they wait for). */
static int v_pick_pending(void *ctx, const bh_vault_pending *p)
{
    uint64_t *want = ctx;
    if (p->cause != BH_VAULT_CAUSE_CAPACITY && p->cause != BH_VAULT_CAUSE_BIG &&
        p->cause != BH_VAULT_CAUSE_VALUE_BIG && pick(3) == 0) {
        *want = p->id;
        return 1;
    }
    return 0;
}

static void v_collect(v_sim *s, const bh_vault_outbox_entry *e)
{
    s->mark = e->id;
    int tka = e->msg.transfer.token.data[29] == 0;
    bh_u128 val = v_value(e->msg.amount, s->price[tka ? 0 : 1], tka ? 18 : 6);
    uint64_t h = (s->now - s->t0) / 3600;
    if (e->msg.emitter_chain == 1) {
        s->out[h] += val;
        if (e->msg.transfer.to_chain == 2) s->out12[h] += val;
        s->total += val;
    } else if (s->fc) {
        s->credit[h] += val;
    }
}

/* In any 24 h: released <= limit, plus, with flow cancel, the value
 * returned in the 47 h that could have paid down those slots. */
static void v_check(const v_sim *s, uint64_t seed)
{
    for (int h = 0; h < V_HOURS + 2; h++) {
        bh_u128 sum = 0, sum12 = 0, cred = 0;
        for (int k = h - 23 < 0 ? 0 : h - 23; k <= h; k++)
            sum += s->out[k], sum12 += s->out12[k];
        for (int k = h - 46 < 0 ? 0 : h - 46; k <= h; k++)
            cred += s->credit[k];
        if (sum > V_WIN + cred || sum12 > V_LANE + cred)
            fail_msg("seed %" PRIu64 " fc %d: %llu (lane %llu) of value left in the 24 h ending "
                     "at hour %d, limits %d / %d, credit %llu",
                     seed, s->fc, (unsigned long long)sum, (unsigned long long)sum12, h, V_WIN,
                     V_LANE, (unsigned long long)cred);
    }
}

static void run_value_sim(uint64_t seed, int fc)
{
    g_rng = seed * 2654435761u + 11;
    char *dir = vt_tmpdir();
    bh_vault_opts o = {.no_sync = 1};
    assert_int_equal(bh_vault_init_dir(dir, "home", 1, 1, "t", NULL), BH_OK);
    bh_vault *v = vt_open(dir, "home", &o);
    bh_bytes32 tka = vt_token(1, 0), tkb = vt_token(1, 1);
    static v_sim s;
    memset(&s, 0, sizeof s);
    s.fc = fc;
    s.t0 = 1700000000ull - 1700000000ull % 3600;
    s.price[0] = 300, s.price[1] = 7;
    assert_int_equal(bh_vault_asset_add(v, &tka, 18, NULL, s.t0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_asset_add(v, &tkb, 6, NULL, s.t0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_set_limit(v, &tka, "price", s.price[0], s.t0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_set_limit(v, &tkb, "price", s.price[1], s.t0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_set_limit(v, NULL, "value_window.1", V_WIN, s.t0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_set_limit(v, NULL, "value_lane.1.2", V_LANE, s.t0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_set_limit(v, NULL, "flow_cancel.2", fc, s.t0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_set_limit(v, &tka, "window.1", 60 * V_E18, s.t0, "t", NULL), BH_OK);
    /* big ones too, by token amount and by value: they wait their delay
     * outside the token windows, but count in the value windows */
    assert_int_equal(bh_vault_set_limit(v, NULL, "value_threshold.1", 9000, s.t0, "t", NULL),
                     BH_OK);
    assert_int_equal(bh_vault_set_limit(v, &tka, "big_threshold", 7 * V_E18, s.t0, "t", NULL),
                     BH_OK);
    assert_int_equal(bh_vault_set_limit(v, &tka, "big_delay", 3600, s.t0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_set_limit(v, &tkb, "big_delay", 3600, s.t0, "t", NULL), BH_OK);
    uint64_t end = s.t0 + V_HOURS * 3600ull;
    for (s.now = s.t0; s.now < end; s.now += 1 + pick(900)) {
        if (pick(60) == 0) {
            /* the price moves (up or down, within 2x): counted at release */
            int a = (int)pick(2);
            bh_u128 np = a == 0 ? 150 + pick(450) : 3 + pick(12);
            assert_int_equal(bh_vault_set_limit(v, a ? &tkb : &tka, "price", np, s.now, "t", NULL),
                             BH_OK);
            s.price[a] = np;
        }
        bh_transfer_msg b[4];
        size_t n = pick(4);
        for (size_t i = 0; i < n; i++) {
            int ret = pick(3) == 0;
            unsigned src = ret ? 2 : 1, dst = ret ? 1 : 2 + pick(2);
            uint8_t tag = (uint8_t)pick(2);
            bh_u128 a = tag == 0 ? (1 + pick(8)) * V_E18 + pick(1000000) : 1 + pick(900000000);
            uint64_t seq = s.nseq[src]++;
            assert_true(seq < V_MAXMSG);
            b[i] = vt_msg((uint16_t)src, 1, (uint16_t)dst, seq, a, tag, 0);
        }
        bh_vault_result r[4];
        assert_int_equal(bh_vault_apply(v, r, b, n, s.now), BH_OK);
        for (size_t i = 0; i < n; i++)
            if (r[i].status == BH_VAULT_REJECTED)
                assert_int_equal(r[i].reason, BH_REJECT_EXCEEDS_OUTSTANDING);
        if (pick(20) == 0) {
            uint64_t want = 0;
            int prc = bh_vault_each_pending(v, v_pick_pending, &want);
            assert_true(prc == BH_OK || prc == 1);
            if (want) assert_int_equal(bh_vault_release(v, NULL, want, s.now, "op", "t"), BH_OK);
        }
        size_t released;
        assert_int_equal(bh_vault_release_due(v, &released, s.now, pick(4) ? 0 : 1 + pick(3)),
                         BH_OK);
        for (;;) {
            bh_vault_outbox_entry e[64];
            size_t k;
            assert_int_equal(bh_vault_outbox_peek_to(v, e, 64, &k, 0, s.mark), BH_OK);
            for (size_t i = 0; i < k; i++)
                v_collect(&s, &e[i]);
            if (k < 64) break;
        }
    }
    v_check(&s, seed);
    /* the limit was used, not just respected */
    if (s.total < (bh_u128)V_WIN * (V_HOURS / 24) * 8 / 10)
        fail_msg("seed %" PRIu64 ": only %llu of value released in %d h", seed,
                 (unsigned long long)s.total, V_HOURS);
    char diff[256];
    if (bh_vault_audit(v, diff, sizeof diff) != BH_OK) fail_msg("seed %" PRIu64 ": %s", seed, diff);
    bh_vault_close(v);
    vt_rmrf(dir);
    free(dir);
}

/* Locks of two assets at moving prices, big ones among them (by token
 * amount and by value), returns, operator releases and release_due at
 * random for 120 h: the value released from a chain (and toward one lane)
 * never exceeds its limit in any 24 h; with flow cancel, never by more
 * than the value that came back. */
static void test_vaults_value_windows_within_limit(void **state)
{
    (void)state;
    const char *env = getenv("BH_SEED");
    uint64_t base = env ? strtoull(env, NULL, 10) : 20261123;
    int nseq = env ? 1 : 3;
    for (int i = 0; i < nseq; i++) {
        run_value_sim(base + (uint64_t)i, 0);
        run_value_sim(base + (uint64_t)i, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compromised_chain_costs_at_most_its_outstanding),
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_vaults_window_released_within_limit),
        cmocka_unit_test(test_vaults_value_windows_within_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
