/* Data directories written by older builds (tests/fixtures/datadir-*,
 * README.md there says how) open with this build: every vault and the node
 * store are migrated to the explicit records in one transaction each, and
 * every transfer, pending entry, journal row, asset, lane, quarantine,
 * chain counter, parked entry and node cursor, inbox event and meta record
 * reads back as the old build read it (expected.h, written by that build).
 * A read-only open refuses an unmigrated vault with what to do; a second
 * open changes nothing.
 *
 * argv[1]: the vaultctl binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bh_hex.h"
#include "bh_store.h"
#include "bh_test_proc.h"
#include "fx_types.h"
#include "node_store.h"
#include "vaults_helpers.h"

#include "datadir-84f6008/expected.h"
#include "datadir-a35334b/expected.h"

static const char *g_vaultctl;

/* One fixture: its directory and what its build read back. */
typedef struct {
    const char *dir; /* under tests/fixtures */
    const fx_info *info;
    size_t ninfo;
    const fx_outbox *outbox;
    size_t noutbox;
    const fx_pending *pending;
    size_t npending;
    const fx_journal *journal;
    size_t njournal;
    const fx_asset *assets;
    size_t nassets;
    const fx_lane *lanes;
    size_t nlanes;
    const fx_quarantine *quarantine;
    size_t nquarantine;
    const fx_chain *chains;
    size_t nchains;
    const fx_source *sources;
    size_t nsources;
    const fx_parked *parked;
    size_t nparked;
    const fx_cursor *cursors;
    size_t ncursors;
    const fx_inbox *inbox;
    size_t ninbox;
    const fx_meta *meta;
    size_t nmeta;
    uint64_t now;
} fixture;

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FX(P, D, PARKED, NPARKED)                                                                  \
    {                                                                                              \
        D, P##_info, N(P##_info), P##_outbox, N(P##_outbox), P##_pending, N(P##_pending),          \
            P##_journal, N(P##_journal), P##_assets, N(P##_assets), P##_lanes, N(P##_lanes),       \
            P##_quarantine, N(P##_quarantine), P##_chains, N(P##_chains), P##_sources,             \
            N(P##_sources), PARKED, NPARKED, P##_cursors, N(P##_cursors), P##_inbox, N(P##_inbox), \
            P##_meta, N(P##_meta), P##_NOW                                                         \
    }

static const fixture k_84f6008 = FX(fx84, "datadir-84f6008", NULL, 0);
static const fixture k_a35334b = FX(fxpre, "datadir-a35334b", fxpre_parked, N(fxpre_parked));

static const char *const k_vaults[] = {"alpha", "beta", "gamma"};

/* ---- copying the fixture ---- */

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    close(out);
}

/* DATA_DIR with the fixture's data.mdb files (mode 0700 dirs, 0600 files). */
static char *copy_fixture(const fixture *fx)
{
    char *d = vt_tmpdir();
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/vaults", d);
    assert_int_equal(mkdir(a, 0700), 0);
    const char *envs[] = {"vaults/alpha", "vaults/beta", "vaults/gamma", "node"};
    for (int i = 0; i < 4; i++) {
        snprintf(b, sizeof b, "%s/%s", d, envs[i]);
        assert_int_equal(mkdir(b, 0700), 0);
        snprintf(a, sizeof a, "%s/tests/fixtures/%s/%s/data.mdb", BH_SOURCE_DIR, fx->dir, envs[i]);
        snprintf(b, sizeof b, "%s/%s/data.mdb", d, envs[i]);
        copy_file(a, b);
    }
    return d;
}

/* ---- comparing ---- */

static void hex_eq(const unsigned char *got, size_t n, const char *want, const char *what)
{
    unsigned char w[64];
    assert_true(n <= sizeof w);
    assert_int_equal(bh_hex_decode_exact(w, n, want, strlen(want)), BH_OK);
    if (memcmp(got, w, n)) fail_msg("%s differs from the fixture's %s", what, want);
}

static void u128_eq(bh_u128 got, const char *want, const char *what)
{
    unsigned char b[16];
    for (int i = 0; i < 16; i++)
        b[15 - i] = (unsigned char)(got >> (8 * i));
    hex_eq(b, 16, want, what);
}

static void msg_eq(const bh_transfer_msg *m, const fx_msg *w)
{
    assert_int_equal(m->emitter_chain, w->emitter_chain);
    hex_eq(m->emitter.data, 32, w->emitter, "emitter");
    assert_int_equal(m->sequence, w->sequence);
    assert_int_equal(m->timestamp, w->timestamp);
    hex_eq(m->digest.data, 32, w->digest, "digest");
    hex_eq(m->transfer.amount.be, 32, w->t_amount, "transfer.amount");
    hex_eq(m->transfer.token.data, 32, w->t_token, "transfer.token");
    assert_int_equal(m->transfer.token_chain, w->t_token_chain);
    hex_eq(m->transfer.to.data, 32, w->t_to, "transfer.to");
    assert_int_equal(m->transfer.to_chain, w->t_to_chain);
    hex_eq(m->transfer.fee.be, 32, w->t_fee, "transfer.fee");
    u128_eq(m->amount, w->amount, "amount");
    u128_eq(m->fee, w->fee, "fee");
    assert_int_equal(m->nonce, w->nonce);
    assert_int_equal(m->consistency, w->consistency);
}

typedef struct {
    const fixture *fx;
    const char *vault;
    size_t seen;   /* rows of this vault visited */
    size_t at;     /* index into the fixture table of the next row expected */
    uint64_t last; /* journal: id of the last row */
    bh_vault *v;
} walk;

/* The index of the next row of w->vault in a table of n rows (stride size). */
static size_t next_row(walk *w, const void *table, size_t n, size_t stride)
{
    for (; w->at < n; w->at++) {
        const char *vault = *(const char *const *)((const char *)table + w->at * stride);
        if (!strcmp(vault, w->vault)) return w->at++;
    }
    fail_msg("vault %s has more rows than the fixture recorded", w->vault);
    return 0;
}

static size_t rows_of(const char *vault, const void *table, size_t n, size_t stride)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(*(const char *const *)((const char *)table + i * stride), vault)) k++;
    return k;
}

static int pending_cb(void *ctx, const bh_vault_pending *p)
{
    walk *w = ctx;
    const fx_pending *e = &w->fx->pending[next_row(w, w->fx->pending, w->fx->npending, sizeof *e)];
    assert_int_equal(p->id, e->id);
    assert_int_equal(p->created, e->created);
    assert_int_equal(p->release_at, e->release_at);
    assert_int_equal(p->cause, e->cause);
    assert_int_equal(p->applied, e->applied);
    msg_eq(&p->msg, &e->m);
    /* the same through the point read */
    bh_vault_pending one;
    assert_int_equal(bh_vault_pending_get(w->v, &one, p->id), BH_OK);
    msg_eq(&one.msg, &e->m);
    w->seen++;
    return 0;
}

static int journal_cb(void *ctx, const bh_vault_journal_entry *j)
{
    walk *w = ctx;
    w->last = j->id;
    if (w->seen == rows_of(w->vault, w->fx->journal, w->fx->njournal, sizeof(fx_journal))) {
        /* the one row the migration added */
        assert_int_equal(j->kind, BH_VJ_MIGRATE);
        assert_int_equal(j->effects, 0);
        assert_string_equal(j->actor, "migrate");
        assert_non_null(strstr(j->reason, "schema 1 -> 2"));
        w->seen++;
        return 0;
    }
    const fx_journal *e = &w->fx->journal[next_row(w, w->fx->journal, w->fx->njournal, sizeof *e)];
    assert_int_equal(j->id, e->id);
    assert_int_equal(j->time, e->time);
    assert_int_equal(j->ref, e->ref);
    assert_int_equal(j->kind, e->kind);
    assert_int_equal(j->effects, e->effects);
    assert_int_equal(j->reject, e->reject);
    assert_int_equal(j->chain, e->chain);
    assert_int_equal(j->lane_dec, e->lane_dec);
    assert_int_equal(j->lane_inc, e->lane_inc);
    assert_int_equal(j->emitter_chain, e->emitter_chain);
    hex_eq(j->emitter.data, 32, e->emitter, "journal emitter");
    assert_int_equal(j->sequence, e->sequence);
    hex_eq(j->digest.data, 32, e->digest, "journal digest");
    hex_eq(j->token.data, 32, e->token, "journal token");
    u128_eq(j->amount, e->amount, "journal amount");
    assert_string_equal(j->actor, e->actor);
    assert_string_equal(j->reason, e->reason);
    w->seen++;
    return 0;
}

static int asset_cb(void *ctx, const bh_bytes32 *t, const bh_vault_asset *a)
{
    walk *w = ctx;
    const fx_asset *e = &w->fx->assets[next_row(w, w->fx->assets, w->fx->nassets, sizeof *e)];
    hex_eq(t->data, 32, e->token, "asset token");
    u128_eq(a->locked, e->locked, "locked");
    u128_eq(a->outstanding_total, e->outstanding_total, "outstanding_total");
    u128_eq(a->big_threshold, e->big_threshold, "big_threshold");
    assert_int_equal(a->big_delay, e->big_delay);
    assert_int_equal(a->created, e->created);
    assert_int_equal(a->decimals, e->decimals);
    assert_string_equal(a->symbol, e->symbol);
    bh_u128 mn;
    assert_int_equal(bh_vault_min_amount_get(w->v, &mn, t), BH_OK);
    u128_eq(mn, e->min_amount, "min_amount");
    w->seen++;
    return 0;
}

static void bucket_eq(const bh_vault_bucket *b, const fx_bucket *e)
{
    u128_eq(b->capacity, e->capacity, "bucket capacity");
    u128_eq(b->refill, e->refill, "bucket refill");
    u128_eq(b->level, e->level, "bucket level");
    u128_eq(b->debt, e->debt, "bucket debt");
    assert_int_equal(b->last, e->last);
}

static int lane_cb(void *ctx, const bh_bytes32 *t, uint16_t chain, const bh_vault_lane *l)
{
    walk *w = ctx;
    const fx_lane *e = &w->fx->lanes[next_row(w, w->fx->lanes, w->fx->nlanes, sizeof *e)];
    hex_eq(t->data, 32, e->token, "lane token");
    assert_int_equal(chain, e->chain);
    u128_eq(l->outstanding, e->outstanding, "outstanding");
    u128_eq(l->cap, e->cap, "cap");
    u128_eq(l->window_limit, e->window_limit, "window_limit");
    bucket_eq(&l->in, &e->in);
    bucket_eq(&l->out, &e->out);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++) {
        assert_int_equal(l->window_hour[i], e->window_hour[i]);
        u128_eq(l->window_sum[i], e->window_sum[i], "window_sum");
    }
    bh_vault_lane one;
    assert_int_equal(bh_vault_lane_get(w->v, &one, t, chain), BH_OK);
    assert_true(one.outstanding == l->outstanding);
    w->seen++;
    return 0;
}

static int quarantine_cb(void *ctx, const bh_vault_quarantine *q)
{
    walk *w = ctx;
    const fx_quarantine *e =
        &w->fx->quarantine[next_row(w, w->fx->quarantine, w->fx->nquarantine, sizeof *e)];
    assert_int_equal(q->chain, e->chain);
    assert_int_equal(q->since, e->since);
    assert_string_equal(q->actor, e->actor);
    assert_string_equal(q->reason, e->reason);
    assert_int_equal(bh_vault_is_quarantined(w->v, q->chain), 1);
    w->seen++;
    return 0;
}

static int chain_cb(void *ctx, uint16_t chain, uint32_t limit, uint32_t count)
{
    walk *w = ctx;
    const fx_chain *e = &w->fx->chains[next_row(w, w->fx->chains, w->fx->nchains, sizeof *e)];
    assert_int_equal(chain, e->chain);
    assert_int_equal(limit, e->msg_limit);
    assert_int_equal(count, e->count_24h);
    w->seen++;
    return 0;
}

static int parked_cb(void *ctx, const bh_vault_parked *p)
{
    walk *w = ctx;
    const fx_parked *e = &w->fx->parked[next_row(w, w->fx->parked, w->fx->nparked, sizeof *e)];
    assert_int_equal(p->id, e->id);
    assert_int_equal(p->parked_at, e->parked_at);
    assert_int_equal(p->tries, e->tries);
    assert_string_equal(p->last_error, e->last_error);
    msg_eq(&p->msg, &e->m);
    w->seen++;
    return 0;
}

#define WALK(fx, name, v)                                                                          \
    {                                                                                              \
        (fx), (name), 0, 0, 0, (v)                                                                 \
    }

/* Everything of one migrated vault against the fixture. */
static void check_vault(const fixture *fx, bh_vault *v, const char *name)
{
    const fx_info *in = NULL;
    for (size_t i = 0; i < fx->ninfo; i++)
        if (!strcmp(fx->info[i].vault, name)) in = &fx->info[i];
    assert_non_null(in);
    bh_vault_info info;
    assert_int_equal(bh_vault_info_get(v, &info), BH_OK);
    assert_int_equal(info.schema, BH_VAULT_SCHEMA);
    assert_string_equal(info.name, name);
    assert_int_equal(info.chain_id, in->chain_id);
    assert_int_equal(info.created, in->created);
    assert_int_equal(info.next_journal, in->next_journal + 1); /* + the migration's row */
    assert_int_equal(info.next_pending, in->next_pending);
    assert_int_equal(info.next_outbox, in->next_outbox);
    assert_int_equal(info.msg_limit_default, in->msg_limit_default);
    assert_int_equal(info.outbox_depth, in->outbox_depth);
    assert_int_equal(info.pending_count, in->pending_count);
    assert_int_equal(info.parked_count, rows_of(name, fx->parked, fx->nparked, sizeof(fx_parked)));
    for (int r = 0; r < BH_REJECT_COUNT_; r++)
        assert_int_equal(info.rejects[r], in->rejects[r]);

    /* outbox, in id order, and per destination through the rebuilt index */
    bh_vault_outbox_entry out[64];
    size_t n;
    assert_int_equal(bh_vault_outbox_peek(v, out, 64, &n), BH_OK);
    assert_int_equal(n, rows_of(name, fx->outbox, fx->noutbox, sizeof(fx_outbox)));
    walk w = WALK(fx, name, v);
    for (size_t i = 0; i < n; i++) {
        const fx_outbox *e = &fx->outbox[next_row(&w, fx->outbox, fx->noutbox, sizeof *e)];
        assert_int_equal(out[i].id, e->id);
        msg_eq(&out[i].msg, &e->m);
        bh_vault_outbox_entry one[1];
        size_t k;
        assert_int_equal(bh_vault_outbox_peek_to(v, one, 1, &k, e->m.t_to_chain, out[i].id - 1),
                         BH_OK);
        assert_int_equal(k, 1);
        assert_int_equal(one[0].id, out[i].id);
    }

    walk wp = WALK(fx, name, v);
    assert_int_equal(bh_vault_each_pending(v, pending_cb, &wp), BH_OK);
    assert_int_equal(wp.seen, rows_of(name, fx->pending, fx->npending, sizeof(fx_pending)));
    walk wj = WALK(fx, name, v);
    assert_int_equal(bh_vault_each_journal(v, 0, journal_cb, &wj), BH_OK);
    assert_int_equal(wj.seen, rows_of(name, fx->journal, fx->njournal, sizeof(fx_journal)) + 1);
    walk wa = WALK(fx, name, v);
    assert_int_equal(bh_vault_each_asset(v, asset_cb, &wa), BH_OK);
    assert_int_equal(wa.seen, rows_of(name, fx->assets, fx->nassets, sizeof(fx_asset)));
    walk wl = WALK(fx, name, v);
    assert_int_equal(bh_vault_each_lane(v, NULL, lane_cb, &wl), BH_OK);
    assert_int_equal(wl.seen, rows_of(name, fx->lanes, fx->nlanes, sizeof(fx_lane)));
    walk wq = WALK(fx, name, v);
    assert_int_equal(bh_vault_each_quarantine(v, quarantine_cb, &wq), BH_OK);
    assert_int_equal(wq.seen,
                     rows_of(name, fx->quarantine, fx->nquarantine, sizeof(fx_quarantine)));
    walk wc = WALK(fx, name, v);
    assert_int_equal(bh_vault_each_chain(v, fx->now + 300, chain_cb, &wc), BH_OK);
    assert_int_equal(wc.seen, rows_of(name, fx->chains, fx->nchains, sizeof(fx_chain)));
    walk wk = WALK(fx, name, v);
    assert_int_equal(bh_vault_each_parked(v, parked_cb, &wk), BH_OK);
    assert_int_equal(wk.seen, rows_of(name, fx->parked, fx->nparked, sizeof(fx_parked)));
    for (size_t i = 0; i < fx->nsources; i++) {
        if (strcmp(fx->sources[i].vault, name)) continue;
        uint64_t next;
        assert_int_equal(bh_vault_source_next(v, fx->sources[i].chain, &next), BH_OK);
        assert_int_equal(next, fx->sources[i].next);
    }
    char diff[512];
    assert_int_equal(bh_vault_audit(v, diff, sizeof diff), BH_OK);
    assert_string_equal(diff, "");
}

static void check_node(const fixture *fx, node_store *s)
{
    for (size_t i = 0; i < fx->ncursors; i++) {
        const fx_cursor *e = &fx->cursors[i];
        node_cursor c;
        assert_int_equal(node_store_cursor_get(s, e->chain, &c), BH_OK);
        assert_int_equal(c.number, e->number);
        hex_eq(c.hash.data, 32, e->hash, "cursor hash");
        assert_int_equal(c.next_seq, e->next_seq);
        assert_int_equal(c.has_seq, e->has_seq);
    }
    size_t seen = 0;
    for (uint16_t vt = 1; vt <= 3; vt++)
        for (uint16_t src = 1; src <= 3; src++) {
            node_inbox_rec r[16];
            size_t n;
            assert_int_equal(node_store_inbox_read(s, vt, src, 0, r, 16, &n), BH_OK);
            uint64_t count;
            for (size_t i = 0; i < n; i++) {
                assert_true(seen < fx->ninbox);
                const fx_inbox *e = &fx->inbox[seen++];
                assert_int_equal(vt, e->vault);
                assert_int_equal(src, e->source);
                msg_eq(&r[i].msg, &e->m);
                assert_int_equal(r[i].verdict, e->verdict);
                assert_int_equal(r[i].kind, e->kind);
                assert_int_equal(r[i].observed_ms, e->observed_ms);
            }
            assert_int_equal(node_store_inbox_count(s, src, &count), BH_OK);
        }
    assert_int_equal(seen, fx->ninbox);
    for (size_t i = 0; i < fx->nmeta; i++) {
        const fx_meta *e = &fx->meta[i];
        if (e->cap) {
            node_tight t;
            assert_int_equal(node_store_meta_get(s, e->key, &t, sizeof t), BH_OK);
            u128_eq(t.cap, e->cap, "tight cap");
            u128_eq(t.refill, e->refill, "tight refill");
        } else {
            unsigned char b[4096];
            size_t len;
            assert_int_equal(node_store_meta_read(s, e->key, b, sizeof b, &len), BH_OK);
            assert_int_equal(len, strlen(e->raw) / 2);
            hex_eq(b, len, e->raw, e->key);
        }
    }
}

/* Every key and value of every table of an environment, for byte equality. */
typedef struct {
    unsigned char *p;
    size_t n, cap;
} dump;

static void dump_add(dump *d, const void *b, size_t n)
{
    if (d->n + n + 8 > d->cap) {
        d->cap = (d->n + n + 8) * 2;
        d->p = realloc(d->p, d->cap);
        assert_non_null(d->p);
    }
    uint64_t len = n;
    memcpy(d->p + d->n, &len, 8);
    memcpy(d->p + d->n + 8, b, n);
    d->n += n + 8;
}

static dump dump_env(const char *dir)
{
    dump d = {0};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi main, dbi;
    MDB_cursor *c, *t;
    MDB_val k, v, tk, tv;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &main), 0);
    assert_int_equal(mdb_cursor_open(txn, main, &c), 0);
    while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
        char name[64];
        assert_true(k.mv_size < sizeof name);
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = 0;
        dump_add(&d, name, k.mv_size);
        assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
        assert_int_equal(mdb_cursor_open(txn, dbi, &t), 0);
        while (mdb_cursor_get(t, &tk, &tv, MDB_NEXT) == 0) {
            dump_add(&d, tk.mv_data, tk.mv_size);
            dump_add(&d, tv.mv_data, tv.mv_size);
        }
        mdb_cursor_close(t);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return d;
}

static void env_path(char *out, size_t cap, const char *data, int i)
{
    if (i < 3)
        snprintf(out, cap, "%s/vaults/%s", data, k_vaults[i]);
    else
        snprintf(out, cap, "%s/node", data);
}

static void migrate_and_check(const fixture *fx)
{
    char *dir = copy_fixture(fx);
    char why[600];
    bh_vault *v;
    bh_vault_opts ro = {.read_only = 1};
    /* read-only: refused with what to do, the file left as it was */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bh_vault_open(&v, dir, k_vaults[i], &ro, why, sizeof why), BH_ESCHEMA);
        assert_null(v);
        assert_non_null(strstr(why, "schema 1"));
        assert_non_null(strstr(why, "run the node once or `vaultctl migrate`"));
    }
    /* read-write: migrated, everything as the old build read it */
    for (int i = 0; i < 3; i++) {
        v = vt_open(dir, k_vaults[i], NULL);
        assert_non_null(v);
        check_vault(fx, v, k_vaults[i]);
        bh_vault_close(v);
    }
    node_store *s;
    assert_int_equal(node_store_open(&s, dir, why, sizeof why), BH_OK);
    check_node(fx, s);
    node_store_close(s);

    /* a second open of each (read-write, then read-only) changes no record */
    dump before[4], after[4];
    char p[1024];
    for (int i = 0; i < 4; i++) {
        env_path(p, sizeof p, dir, i);
        before[i] = dump_env(p);
    }
    for (int i = 0; i < 3; i++) {
        v = vt_open(dir, k_vaults[i], NULL);
        check_vault(fx, v, k_vaults[i]);
        bh_vault_close(v);
        v = vt_open(dir, k_vaults[i], &ro);
        check_vault(fx, v, k_vaults[i]);
        bh_vault_close(v);
    }
    assert_int_equal(node_store_open(&s, dir, why, sizeof why), BH_OK);
    check_node(fx, s);
    node_store_close(s);
    for (int i = 0; i < 4; i++) {
        env_path(p, sizeof p, dir, i);
        after[i] = dump_env(p);
        assert_int_equal(after[i].n, before[i].n);
        assert_memory_equal(after[i].p, before[i].p, before[i].n);
        free(before[i].p);
        free(after[i].p);
    }
    vt_rmrf(dir);
    free(dir);
}

static void test_store_migrate_84f6008(void **state)
{
    (void)state;
    migrate_and_check(&k_84f6008);
}

static void test_store_migrate_a35334b(void **state)
{
    (void)state;
    migrate_and_check(&k_a35334b);
}

/* The migrated vault keeps working: the pending transfers go out when due,
 * a window-wait written by the older build still waits for its window. */
static void test_store_migrate_then_release(void **state)
{
    (void)state;
    char *dir = copy_fixture(&k_a35334b);
    bh_vault *v = vt_open(dir, "alpha", NULL);
    assert_non_null(v);
    size_t n;
    /* an hour on: the bucket transfer (due +520) goes; the window one
     * (25 more than lane (TKA, 2)'s 100 within 24 h) stays */
    assert_int_equal(bh_vault_release_due(v, &n, k_a35334b.now + 3700, 0), BH_OK);
    bh_vault_pending p;
    int window_waits = 0;
    for (uint64_t id = 1; id < 16; id++)
        if (bh_vault_pending_get(v, &p, id) == BH_OK && p.cause == BH_VAULT_CAUSE_WINDOW)
            window_waits++;
    assert_int_equal(window_waits, 1);
    assert_true(n >= 1);
    /* a day later it fits */
    assert_int_equal(bh_vault_release_due(v, &n, k_a35334b.now + 2 * 86400, 0), BH_OK);
    window_waits = 0;
    for (uint64_t id = 1; id < 16; id++)
        if (bh_vault_pending_get(v, &p, id) == BH_OK && p.cause == BH_VAULT_CAUSE_WINDOW)
            window_waits++;
    assert_int_equal(window_waits, 0);
    char diff[256];
    assert_int_equal(bh_vault_audit(v, diff, sizeof diff), BH_OK);
    bh_vault_close(v);
    vt_rmrf(dir);
    free(dir);
}

static bh_proc_result g_r;

static int vc(const char *dir, const char *a, const char *b)
{
    char *argv[] = {(char *)g_vaultctl, "-d", (char *)dir, (char *)a, (char *)b, NULL};
    bh_proc_run(&g_r, argv, NULL);
    return g_r.status;
}

/* vaultctl on an unmigrated data dir says what to do; `migrate` does it. */
static void test_store_migrate_vaultctl(void **state)
{
    (void)state;
    char *dir = copy_fixture(&k_84f6008);
    assert_int_equal(vc(dir, "show", "alpha"), 1);
    assert_non_null(strstr(g_r.err, "run the node once or `vaultctl migrate`"));
    assert_int_equal(vc(dir, "migrate", "beta"), 0);
    assert_non_null(strstr(g_r.out, "beta: migrated to schema 2"));
    assert_int_equal(vc(dir, "migrate", NULL), 0);
    assert_non_null(strstr(g_r.out, "alpha: migrated to schema 2"));
    assert_non_null(strstr(g_r.out, "beta: already at schema 2"));
    assert_non_null(strstr(g_r.out, "gamma: migrated to schema 2"));
    assert_int_equal(vc(dir, "audit", NULL), 0);
    assert_int_equal(vc(dir, "journal", "gamma"), 0);
    assert_non_null(strstr(g_r.out, "migrate"));
    vt_rmrf(dir);
    free(dir);
}

/* A record that is not schema 1 stops the migration and leaves the vault
 * exactly as it was (one transaction). */
static void test_store_migrate_refuses_damage(void **state)
{
    (void)state;
    char *dir = copy_fixture(&k_84f6008);
    char p[1024];
    snprintf(p, sizeof p, "%s/vaults/alpha", dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, p, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "journal", 0, &dbi), 0);
    unsigned char kb[8] = {0, 0, 0, 0, 0, 0, 0, 40}, junk[7] = {1, 2, 3};
    MDB_val k = {8, kb}, d = {sizeof junk, junk};
    assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    dump before = dump_env(p);
    char why[600];
    bh_vault *v;
    assert_int_equal(bh_vault_open(&v, dir, "alpha", NULL, why, sizeof why), BH_ECORRUPT);
    assert_non_null(strstr(why, "journal"));
    assert_non_null(strstr(why, "nothing changed"));
    dump after = dump_env(p);
    assert_int_equal(after.n, before.n);
    assert_memory_equal(after.p, before.p, before.n);
    free(before.p);
    free(after.p);
    vt_rmrf(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s VAULTCTL\n", argv[0]);
        return 2;
    }
    g_vaultctl = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_migrate_84f6008),
        cmocka_unit_test(test_store_migrate_a35334b),
        cmocka_unit_test(test_store_migrate_then_release),
        cmocka_unit_test(test_store_migrate_vaultctl),
        cmocka_unit_test(test_store_migrate_refuses_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
