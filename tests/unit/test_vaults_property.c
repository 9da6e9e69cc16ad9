/* Property test: random sequences of locks (mints on the destination),
 * burns home, hops and forged burns across 3 chains, applied to real vaults
 * and to a tiny in-memory model. After every step the vaults equal the
 * model, Σ outstanding <= locked holds, and a forged message from chain C
 * never moves more than outstanding[S][C] out of vault S. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compromised_chain_costs_at_most_its_outstanding),
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
