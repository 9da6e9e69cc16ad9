/* Helpers shared by the test_vaults_* executables (header-only, static). */
#ifndef VAULTS_HELPERS_H
#define VAULTS_HELPERS_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bh_vault.h"

static int vt_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void vt_rmrf(const char *dir)
{
    if (dir) nftw(dir, vt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh data dir; caller frees and removes it with vt_rmrf. */
static inline char *vt_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(512);
    if (!p) abort();
    snprintf(p, 512, "%s/bh_vaults_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(p)) abort();
    return p;
}

/* The token of the asset whose home is chain `home` (tag picks one of several). */
static inline bh_bytes32 vt_token(uint16_t home, uint8_t tag)
{
    bh_bytes32 t;
    memset(&t, 0, sizeof t);
    t.data[29] = tag;
    t.data[30] = (unsigned char)(home >> 8);
    t.data[31] = (unsigned char)home;
    return t;
}

/* A transfer message; the digest is derived from every field so that two
 * different messages never share it (salt makes an equivocating twin). */
static inline bh_transfer_msg vt_msg(uint16_t src, uint16_t home, uint16_t dst, uint64_t seq,
                                     bh_u128 amount, uint8_t tag, uint8_t salt)
{
    bh_transfer_msg m;
    memset(&m, 0, sizeof m);
    m.emitter_chain = src;
    m.emitter.data[31] = 0xe0 | (unsigned char)src;
    m.sequence = seq;
    m.timestamp = 1700000000u;
    m.transfer.token = vt_token(home, tag);
    m.transfer.token_chain = home;
    m.transfer.to_chain = dst;
    m.transfer.to.data[31] = 0x77;
    m.amount = amount;
    for (int i = 0; i < 16; i++)
        m.transfer.amount.be[31 - i] = (unsigned char)(amount >> (8 * i));
    uint64_t h = 1469598103934665603ull;
    uint64_t parts[6] = {src, home, dst, seq, (uint64_t)amount, salt};
    for (int i = 0; i < 6; i++) {
        h ^= parts[i];
        h *= 1099511628211ull;
    }
    for (int i = 0; i < 32; i++) {
        m.digest.data[i] = (unsigned char)(h >> ((i % 8) * 8));
        if (i % 8 == 7) h = h * 6364136223846793005ull + 1442695040888963407ull;
    }
    return m;
}

/* Open a vault or fail the test with the library's explanation. */
static inline bh_vault *vt_open(const char *dir, const char *name, const bh_vault_opts *o)
{
    bh_vault *v = NULL;
    char why[512];
    int rc = bh_vault_open(&v, dir, name, o, why, sizeof why);
    if (rc) {
        fprintf(stderr, "open %s/%s: %s (%d)\n", dir, name, why, rc);
        return NULL;
    }
    return v;
}

#endif
