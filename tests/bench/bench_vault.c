/* bench_vault: transfer messages applied per second with durability on
 * (no MDB_NOSYNC), at batch sizes 1, 100 and 1000, against a bare LMDB loop
 * that writes the same number of records of the same sizes per transaction
 * in the same run. Prints one JSON line per case; "ratio" = vault / bare.
 * One more case, outbox_scan_to: delivery's read of a destination's 16
 * fresh entries behind 20,000 of another destination's, against a walk of
 * the whole outbox in the same run (what it costs without the index).
 * Usage: bench_vault [DIR]   (default: $TMPDIR or /tmp; use a real disk) */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ftw.h>
#include <sys/stat.h>

#include "bh_vault.h"

typedef struct {
    const char *db;
    size_t klen, vlen;
    int per_msg; /* 1: one per message; 0: one per transaction */
    int append;
} rec_shape;

/* Filled from the vault's own files after its run, so the baseline writes
 * exactly what the vault wrote. */
static rec_shape g_shapes[16];
static int g_nshapes;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
    (void)sb;
    (void)f;
    (void)ftw;
    return remove(p);
}

static bh_transfer_msg make_msg(uint64_t seq)
{
    bh_transfer_msg m;
    memset(&m, 0, sizeof m);
    m.emitter_chain = 1;
    m.emitter.data[31] = 0xe1;
    m.sequence = seq;
    m.transfer.token.data[31] = 1;
    m.transfer.token_chain = 1;
    m.transfer.to_chain = 2;
    m.amount = 1000 + (seq % 7);
    for (int i = 0; i < 8; i++)
        m.digest.data[i] = (unsigned char)(seq >> (8 * i));
    m.digest.data[31] = 0x42;
    return m;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_vault: %s failed (%d)\n", what, rc);
    exit(1);
}

static double run_vault(const char *base, size_t batch, size_t total)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/v", base);
    mkdir(dir, 0700);
    int rc = bh_vault_init_dir(dir, "bench", 1, 1, "bench", NULL);
    if (rc) die("init", rc);
    bh_vault *v;
    char why[256];
    bh_vault_opts o = {.map_size = (size_t)1 << 30};
    if ((rc = bh_vault_open(&v, dir, "bench", &o, why, sizeof why))) die(why, rc);
    bh_bytes32 tok;
    memset(&tok, 0, sizeof tok);
    tok.data[31] = 1;
    if ((rc = bh_vault_asset_add(v, &tok, 6, "B", 1, "bench", NULL))) die("asset", rc);
    bh_transfer_msg *m = malloc(batch * sizeof *m);
    bh_vault_result *r = malloc(batch * sizeof *r);
    uint64_t seq = 1;
    double t0 = now_s();
    for (size_t done = 0; done < total; done += batch) {
        for (size_t i = 0; i < batch; i++)
            m[i] = make_msg(seq++);
        if ((rc = bh_vault_apply(v, r, m, batch, 1000))) die("apply", rc);
        if (r[0].status != BH_VAULT_ACCEPTED) die("accept", (int)r[0].reason);
    }
    double dt = now_s() - t0;
    bh_vault_close(v);
    free(m);
    free(r);
    return (double)total / dt;
}

/* Learn the record shapes of one vault transaction from its files. */
static void learn_shapes(const char *base, size_t batch)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/v/vaults/bench", base);
    MDB_env *env;
    MDB_txn *txn;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_set_mapsize(env, (size_t)1 << 30);
    if (mdb_env_open(env, dir, MDB_RDONLY, 0600)) die("open vault files", 0);
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    /* per message: replay key, journal, outbox; per txn: asset, lane, chain, 2 meta */
    struct {
        const char *db;
        int per_msg, append, count;
    } want[] = {{"processed", 1, 0, 1}, {"journal", 1, 1, 1}, {"outbox", 1, 1, 1},
                {"assets", 0, 0, 1},    {"lanes", 0, 0, 1},   {"chains", 0, 0, 1},
                {"meta", 0, 0, 2}};
    g_nshapes = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        MDB_dbi dbi;
        MDB_cursor *c;
        MDB_val k, d;
        if (mdb_dbi_open(txn, want[i].db, 0, &dbi)) die("dbi", 0);
        mdb_cursor_open(txn, dbi, &c);
        int got = 0;
        for (int rc = mdb_cursor_get(c, &k, &d, MDB_LAST); rc == 0 && got < want[i].count;
             rc = mdb_cursor_get(c, &k, &d, MDB_PREV)) {
            if (!strcmp(want[i].db, "meta") && d.mv_size < 16) continue; /* the rewritten ones */
            if (!strcmp(want[i].db, "lanes") && k.mv_size != 34) continue;
            g_shapes[g_nshapes++] =
                (rec_shape){want[i].db, k.mv_size, d.mv_size, want[i].per_msg, want[i].append};
            got++;
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    (void)batch;
}

static double run_bare(const char *base, size_t batch, size_t total)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/bare", base);
    mkdir(dir, 0700);
    MDB_env *env;
    MDB_txn *txn;
    int rc;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_set_mapsize(env, (size_t)1 << 30);
    if ((rc = mdb_env_open(env, dir, 0, 0600))) die("bare open", rc);
    MDB_dbi dbi[16];
    mdb_txn_begin(env, NULL, 0, &txn);
    for (int i = 0; i < g_nshapes; i++)
        mdb_dbi_open(txn, g_shapes[i].db, MDB_CREATE, &dbi[i]);
    mdb_txn_commit(txn);
    unsigned char kbuf[64], vbuf[4096];
    memset(vbuf, 0xab, sizeof vbuf);
    uint64_t seq = 1;
    double t0 = now_s();
    for (size_t done = 0; done < total; done += batch) {
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn))) die("bare begin", rc);
        for (size_t i = 0; i < batch; i++, seq++) {
            for (int s = 0; s < g_nshapes; s++) {
                if (!g_shapes[s].per_msg) continue;
                memset(kbuf, 0, g_shapes[s].klen);
                for (size_t b = 0; b < 8 && b < g_shapes[s].klen; b++)
                    kbuf[g_shapes[s].klen - 1 - b] = (unsigned char)(seq >> (8 * b));
                MDB_val k = {g_shapes[s].klen, kbuf}, d = {g_shapes[s].vlen, vbuf};
                if ((rc = mdb_put(txn, dbi[s], &k, &d, g_shapes[s].append ? MDB_APPEND : 0)))
                    die("bare put", rc);
            }
        }
        for (int s = 0; s < g_nshapes; s++) {
            if (g_shapes[s].per_msg) continue;
            memset(kbuf, 0, g_shapes[s].klen);
            kbuf[0] = (unsigned char)s;
            MDB_val k = {g_shapes[s].klen, kbuf}, d = {g_shapes[s].vlen, vbuf};
            if ((rc = mdb_put(txn, dbi[s], &k, &d, 0))) die("bare put", rc);
        }
        if ((rc = mdb_txn_commit(txn))) die("bare commit", rc);
    }
    double dt = now_s() - t0;
    mdb_env_close(env);
    return (double)total / dt;
}

static int count_entry(void *ctx, const bh_vault_outbox_entry *e)
{
    (void)e;
    (*(size_t *)ctx)++;
    return 0;
}

static void run_scan(const char *base)
{
    enum { BACKLOG = 20000, FRESH = 16, ROUNDS = 200 };
    char dir[600];
    snprintf(dir, sizeof dir, "%s/s", base);
    mkdir(dir, 0700);
    int rc = bh_vault_init_dir(dir, "bench", 1, 1, "bench", NULL);
    if (rc) die("init", rc);
    bh_vault *v;
    char why[256];
    bh_vault_opts o = {.map_size = (size_t)1 << 30};
    if ((rc = bh_vault_open(&v, dir, "bench", &o, why, sizeof why))) die(why, rc);
    bh_bytes32 tok;
    memset(&tok, 0, sizeof tok);
    tok.data[31] = 1;
    if ((rc = bh_vault_asset_add(v, &tok, 6, "B", 1, "bench", NULL))) die("asset", rc);
    bh_transfer_msg *m = malloc(1000 * sizeof *m);
    bh_vault_result *r = malloc(1000 * sizeof *r);
    uint64_t seq = 1;
    for (size_t done = 0; done < BACKLOG + FRESH; done += 1000) {
        size_t n = BACKLOG + FRESH - done < 1000 ? BACKLOG + FRESH - done : 1000;
        for (size_t i = 0; i < n; i++) {
            m[i] = make_msg(seq++);
            if (done + i >= BACKLOG) m[i].transfer.to_chain = 4;
        }
        if ((rc = bh_vault_apply(v, r, m, n, 1000))) die("apply", rc);
    }
    double t0 = now_s();
    for (int i = 0; i < ROUNDS; i++) {
        size_t got = 0;
        if ((rc = bh_vault_outbox_scan_to(v, 4, 0, FRESH, count_entry, &got)) || got != FRESH)
            die("scan_to", rc);
    }
    double fresh = (now_s() - t0) / ROUNDS;
    t0 = now_s();
    for (int i = 0; i < ROUNDS / 10; i++) {
        size_t got = 0;
        if ((rc = bh_vault_outbox_scan_to(v, 0, 0, 0, count_entry, &got)) || got != BACKLOG + FRESH)
            die("whole walk", rc);
    }
    double whole = (now_s() - t0) / (ROUNDS / 10);
    bh_vault_close(v);
    free(m);
    free(r);
    printf("{\"bench\":\"outbox_scan_to\",\"backlog\":%d,\"fresh\":%d,\"scan_to_us\":%.1f,"
           "\"whole_walk_us\":%.1f,\"ratio\":%.4f}\n",
           BACKLOG, FRESH, fresh * 1e6, whole * 1e6, fresh / whole);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *tmp = argc > 1 ? argv[1] : getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    const size_t batches[] = {1, 100, 1000};
    const size_t totals[] = {2000, 50000, 200000};
    for (size_t c = 0; c < 3; c++) {
        double best_v = 0, best_b = 0;
        for (int rep = 0; rep < 2; rep++) {
            char base[512];
            snprintf(base, sizeof base, "%s/bench_vault_XXXXXX", tmp);
            if (!mkdtemp(base)) die("mkdtemp", 0);
            double v = run_vault(base, batches[c], totals[c]);
            learn_shapes(base, batches[c]);
            double b = run_bare(base, batches[c], totals[c]);
            nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
            if (v > best_v) best_v = v;
            if (b > best_b) best_b = b;
        }
        size_t rec = 0;
        for (int s = 0; s < g_nshapes; s++)
            rec += g_shapes[s].per_msg;
        printf("{\"bench\":\"vault_apply\",\"batch\":%zu,\"messages\":%zu,\"durable\":true,"
               "\"records_per_message\":%zu,\"records_per_txn_extra\":%d,"
               "\"vault_msgs_per_s\":%.0f,\"bare_lmdb_msgs_per_s\":%.0f,\"ratio\":%.3f}\n",
               batches[c], totals[c], rec, g_nshapes - (int)rec, best_v, best_b, best_v / best_b);
        fflush(stdout);
    }
    char base[512];
    snprintf(base, sizeof base, "%s/bench_vault_XXXXXX", tmp);
    if (!mkdtemp(base)) die("mkdtemp", 0);
    run_scan(base);
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
