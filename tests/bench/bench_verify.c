/* bench_verify: VAA signature verification throughput against its baseline.
 *
 * For k = 1 (1-of-1) and k = 13 (13-of-19), verifies a fixed set of distinct
 * signed VAAs with bh_vaa_verify, and in the same run the bare work it cannot
 * avoid: two keccaks of the body and k secp256k1_ecdsa_recover calls. Rounds
 * alternate the two and the medians are compared, so the ratio holds on a
 * noisy machine. Then the same verification on every core, for the speed-up.
 * Prints one JSON line per case. */
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_keccak.h"
#include "bh_transfer.h"
#include "bh_vaa.h"

#define ROUNDS 7

typedef struct {
    unsigned char *buf;
    size_t len;
    bh_vaa vaa;
} signed_msg;

static bh_attest *ctx;
static secp256k1_context *secp;
static bh_signer_set set;
static volatile unsigned sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static bh_seckey key_of(unsigned i)
{
    bh_seckey k;
    memset(&k, 0, sizeof k);
    k.data[0] = 0x42;
    k.data[31] = (unsigned char)(i + 1);
    return k;
}

static signed_msg *make_msgs(size_t count, unsigned n_signers, unsigned k)
{
    memset(&set, 0, sizeof set);
    set.index = 1;
    set.n = (uint8_t)n_signers;
    bh_seckey keys[19];
    for (unsigned i = 0; i < n_signers; i++) {
        keys[i] = key_of(i);
        if (bh_attest_address(ctx, &set.addrs[i], &keys[i]) != BH_OK) abort();
    }
    signed_msg *m = calloc(count, sizeof *m);
    if (m == NULL) abort();
    for (size_t j = 0; j < count; j++) {
        bh_transfer t;
        memset(&t, 0, sizeof t);
        bh_u256_from_u128(&t.amount, 1000 + j);
        t.token_chain = 1;
        t.to_chain = 2;
        unsigned char payload[BH_TRANSFER_LEN], body[256];
        bh_transfer_serialize(payload, &t);
        bh_vaa_body b = {.timestamp = 1,
                         .emitter_chain = 1,
                         .sequence = j,
                         .payload = payload,
                         .payload_len = sizeof payload};
        size_t blen;
        if (bh_vaa_body_serialize(body, sizeof body, &blen, &b) != BH_OK) abort();
        bh_hash32 d;
        bh_vaa_digest(&d, body, blen);
        bh_vaa_sig sigs[19];
        for (unsigned i = 0; i < k; i++) {
            sigs[i].signer_index = (uint8_t)i;
            if (bh_attest_sign(ctx, sigs[i].rs, &sigs[i].v, &d, &keys[i]) != BH_OK) abort();
        }
        m[j].buf = malloc(BH_VAA_HEADER_FIXED + 19 * BH_VAA_SIG_LEN + blen);
        if (bh_vaa_serialize(m[j].buf, BH_VAA_HEADER_FIXED + 19 * BH_VAA_SIG_LEN + blen, &m[j].len,
                             1, sigs, (uint8_t)k, body, blen) != BH_OK)
            abort();
    }
    for (unsigned i = 0; i < n_signers; i++)
        bh_seckey_clear(&keys[i]);
    return m;
}

/* The unit of work measured: parse + full verification of one VAA. */
static void verify_range(signed_msg *m, size_t from, size_t to)
{
    for (size_t j = from; j < to; j++) {
        bh_reject why;
        if (bh_vaa_parse(&m[j].vaa, &why, m[j].buf, m[j].len) != BH_OK) abort();
        if (bh_vaa_verify(ctx, &m[j].vaa, &set, 0) != BH_REJECT_OK) abort();
    }
}

/* Baseline: two keccaks of the body and k bare recoveries, nothing else. */
static void baseline_range(signed_msg *m, size_t from, size_t to, unsigned k)
{
    for (size_t j = from; j < to; j++) {
        const unsigned char *body = m[j].buf + BH_VAA_HEADER_FIXED + k * BH_VAA_SIG_LEN;
        size_t blen = m[j].len - BH_VAA_HEADER_FIXED - k * BH_VAA_SIG_LEN;
        bh_hash32 h1, h2;
        bh_keccak256(&h1, body, blen);
        bh_keccak256(&h2, h1.data, 32);
        for (unsigned i = 0; i < k; i++) {
            const unsigned char *s = m[j].buf + BH_VAA_HEADER_FIXED + i * BH_VAA_SIG_LEN;
            secp256k1_ecdsa_recoverable_signature sig;
            secp256k1_pubkey pk;
            if (!secp256k1_ecdsa_recoverable_signature_parse_compact(secp, &sig, s + 1, s[65]) ||
                !secp256k1_ecdsa_recover(secp, &pk, &sig, h2.data))
                abort();
            sink += pk.data[0];
        }
    }
}

typedef struct {
    signed_msg *m;
    size_t from, to;
} slice;

static void *verify_thread(void *arg)
{
    slice *s = arg;
    verify_range(s->m, s->from, s->to);
    return NULL;
}

static double verify_threads(signed_msg *m, size_t count, int threads)
{
    pthread_t th[16];
    slice sl[16];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        sl[i] = (slice){m, count * (size_t)i / (size_t)threads,
                        count * (size_t)(i + 1) / (size_t)threads};
        if (pthread_create(&th[i], NULL, verify_thread, &sl[i])) abort();
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    return (double)count / (now_s() - t0);
}

static void run_case(unsigned k, unsigned n_signers, size_t count, int cores)
{
    signed_msg *m = make_msgs(count, n_signers, k);
    double v[ROUNDS], b[ROUNDS], p[ROUNDS];
    verify_range(m, 0, count); /* warm-up */
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_s();
        verify_range(m, 0, count);
        v[r] = (double)count / (now_s() - t0);
        t0 = now_s();
        baseline_range(m, 0, count, k);
        b[r] = (double)count / (now_s() - t0);
        p[r] = verify_threads(m, count, cores);
    }
    double vm = median(v, ROUNDS), bm = median(b, ROUNDS), pm = median(p, ROUNDS);
    printf("{\"bench\":\"verify\",\"k\":%u,\"signers\":%u,\"msgs\":%zu,\"rounds\":%d,"
           "\"msgs_per_s\":%.1f,\"baseline_msgs_per_s\":%.1f,\"ratio\":%.3f}\n",
           k, n_signers, count, ROUNDS, vm, bm, vm / bm);
    printf("{\"bench\":\"verify_parallel\",\"k\":%u,\"signers\":%u,\"threads\":%d,"
           "\"msgs_per_s\":%.1f,\"single_thread_msgs_per_s\":%.1f,\"speedup\":%.2f}\n",
           k, n_signers, cores, pm, vm, pm / vm);
    fflush(stdout);
    for (size_t j = 0; j < count; j++)
        free(m[j].buf);
    free(m);
}

int main(int argc, char **argv)
{
    size_t scale = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1;
    if (scale == 0) scale = 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int cores = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (int)ncpu;
    ctx = bh_attest_create();
    secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx == NULL || secp == NULL) return 1;
    run_case(1, 1, 2000 * scale, cores);
    run_case(13, 19, 200 * scale, cores);
    secp256k1_context_destroy(secp);
    bh_attest_destroy(ctx);
    return 0;
}
