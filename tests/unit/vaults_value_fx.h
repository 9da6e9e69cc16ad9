/* Fixtures shared by the value-limit tests (test_vaults_value*.c):
 * one vault "alpha" of chain HOME with TKA (18 decimals) and TKB (6),
 * header-only and static like vaults_helpers.h. Needs cmocka first. */
#ifndef VAULTS_VALUE_FX_H
#define VAULTS_VALUE_FX_H

#include "vaults_helpers.h"

#define T0 1700002800ull /* on an hour */
#define HOME 1
#define E18 ((bh_u128)1000000000000000000ull)

typedef struct {
    char *dir;
    bh_vault *v;
    bh_bytes32 tka, tkb; /* 18 and 6 decimals */
    uint64_t seq[4];
} fx;

static inline int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = vt_tmpdir();
    assert_int_equal(bh_vault_init_dir(f->dir, "alpha", HOME, T0, "t", NULL), BH_OK);
    f->v = vt_open(f->dir, "alpha", NULL);
    assert_non_null(f->v);
    f->tka = vt_token(HOME, 0);
    f->tkb = vt_token(HOME, 1);
    assert_int_equal(bh_vault_asset_add(f->v, &f->tka, 18, "TKA", T0, "t", NULL), BH_OK);
    assert_int_equal(bh_vault_asset_add(f->v, &f->tkb, 6, "TKB", T0, "t", NULL), BH_OK);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fx *f = *state;
    bh_vault_close(f->v);
    vt_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static inline void vset(fx *f, const bh_bytes32 *tok, const char *key, bh_u128 val)
{
    int rc = bh_vault_set_limit(f->v, tok, key, val, T0, "t", NULL);
    if (rc) fail_msg("set %s: %d %s", key, rc, bh_vault_errmsg(f->v));
}

/* One transfer src -> dst of `amount` of token tag (0 TKA, 1 TKB). */
static inline bh_vault_result send(fx *f, uint16_t src, uint16_t dst, bh_u128 amount, uint8_t tag,
                                   uint64_t now)
{
    bh_transfer_msg m = vt_msg(src, HOME, dst, f->seq[src]++, amount, tag, 0);
    bh_vault_result r;
    assert_int_equal(bh_vault_apply(f->v, &r, &m, 1, now), BH_OK);
    return r;
}

static inline size_t due(fx *f, uint64_t now)
{
    size_t n;
    assert_int_equal(bh_vault_release_due(f->v, &n, now, 0), BH_OK);
    return n;
}

typedef struct {
    const char *key;
    bh_u128 limit, effective, used;
    int found;
} vl_find;

static inline int vl_cb(void *ctx, const char *key, bh_u128 limit, bh_u128 effective, bh_u128 used)
{
    vl_find *q = ctx;
    if (strcmp(key, q->key)) return 0;
    q->limit = limit, q->effective = effective, q->used = used, q->found = 1;
    return 1;
}

static inline bh_u128 used(fx *f, const char *key, uint64_t now)
{
    vl_find q = {.key = key};
    int rc = bh_vault_each_value_limit(f->v, now, vl_cb, &q);
    assert_true(rc == BH_OK || rc == 1);
    assert_true(q.found);
    return q.used;
}

static inline uint64_t npending(fx *f)
{
    bh_vault_info in;
    assert_int_equal(bh_vault_info_get(f->v, &in), BH_OK);
    return in.pending_count;
}

#endif
