/* Opening each vault at start: created if new, the config's assets
 * registered and their limits applied, the message limits set, and the
 * source offsets read back. A limit of the config is applied when the
 * config's value changed since the node last applied it (remembered in the
 * node store), so an operator's change with vaultctl lasts until the config
 * itself is changed. */
#include "node_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_be.h"
#include "bh_hex.h"
#include "bh_log.h"

/* ---- setup ---- */

#define CFGLIM_LEN 17 /* ver | u128 value */

/* node store meta "cfglim/<vault id>/<token hex or ->/<key>": the config's
 * value of that limit when the node last applied it. */
static void cfglim_key(char *out, size_t cap, uint16_t vault, const bh_bytes32 *tok,
                       const char *key)
{
    char hex[65] = "-";
    if (tok) bh_hex_encode(hex, tok->data + 12, 20);
    snprintf(out, cap, "cfglim/%u/%s/%s", (unsigned)vault, hex, key);
}

/* Apply one limit of the config unless the config's value is the one the
 * node applied last time (then the vault's value, maybe an operator's,
 * stays); `fresh`: the asset was registered just now (a vault made anew
 * under an old node store), so the config applies whatever was marked.
 * *kept: 1 when an operator's value was kept. */
static int apply_config_limit(bh_node *n, node_vault *nv, const bh_bytes32 *tok, const char *key,
                              bh_u128 value, int equal, int fresh, uint64_t now, int *kept)
{
    char mk[160];
    unsigned char rec[CFGLIM_LEN];
    cfglim_key(mk, sizeof mk, nv->cfg->bridge_id, tok, key);
    *kept = 0;
    int rc = node_store_meta_get(n->store, mk, rec, sizeof rec);
    if (!fresh && rc == BH_OK && rec[0] == 1 && bh_be_get_u128(rec + 1) == value) {
        *kept = !equal;
        return BH_OK;
    }
    if (rc != BH_OK && rc != BH_ENOTFOUND) return rc;
    if (!equal && (rc = bh_vault_set_limit(nv->v, tok, key, value, now, "node", "config")))
        return rc;
    rec[0] = 1;
    bh_be_put_u128(rec + 1, value);
    return node_store_meta_put(n->store, mk, rec, sizeof rec);
}

static void log_kept(const node_vault *nv, const char *asset, const char *key, bh_u128 value)
{
    char v[BH_U128_DEC_MAX];
    bh_u128_to_dec(v, value);
    BH_LOG(BH_LOG_INFO, "limit_kept",
           "vault=%s asset=%s key=%s config=%s reason=\"set by an operator since the config's "
           "value was applied; change the config to override\"",
           nv->cfg->name, asset, key, v);
}

static int u128_eq_limit(bh_vault *v, const bh_bytes32 *token, const char *key, bh_u128 want)
{
    bh_vault_asset a;
    if (bh_vault_asset_get(v, &a, token) != BH_OK) return 0;
    if (!strcmp(key, "big_threshold")) return a.big_threshold == want;
    if (!strcmp(key, "big_delay")) return a.big_delay == want;
    if (!strncmp(key, "price", 5)) {
        bh_vault_price p;
        if (bh_vault_price_get(v, &p, token) != BH_OK) return 0;
        if (!strcmp(key, "price")) return p.fixed == want;
        if (!strcmp(key, "price_max_age")) return p.max_age == want;
        if (!strcmp(key, "price_max_jump")) return p.max_jump == want;
        return 0;
    }
    if (!strcmp(key, "min_amount")) {
        bh_u128 have = 0;
        return bh_vault_min_amount_get(v, &have, token) == BH_OK && have == want;
    }
    const char *dot = strchr(key, '.');
    if (!dot) return 0;
    bh_vault_lane l;
    uint16_t chain = (uint16_t)strtoul(dot + 1, NULL, 10);
    if (bh_vault_lane_get(v, &l, token, chain) != BH_OK) memset(&l, 0, sizeof l);
    size_t kl = (size_t)(dot - key);
    if (!strncmp(key, "cap", kl) && kl == 3) return l.cap == want;
    if (!strncmp(key, "window", kl) && kl == 6) return l.window_limit == want;
    if (!strncmp(key, "in_capacity", kl) && kl == 11) return l.in.capacity == want;
    if (!strncmp(key, "in_refill", kl) && kl == 9) return l.in.refill == want;
    if (!strncmp(key, "out_capacity", kl) && kl == 12) return l.out.capacity == want;
    if (!strncmp(key, "out_refill", kl) && kl == 10) return l.out.refill == want;
    return 0;
}

typedef struct {
    const char *key;
    bh_u128 have;
} value_find;

static int find_value_limit(void *ctx, const char *key, bh_u128 limit, bh_u128 effective,
                            bh_u128 used)
{
    value_find *f = ctx;
    (void)effective;
    (void)used;
    if (strcmp(key, f->key)) return 0;
    f->have = limit;
    return 1;
}

/* 1 if the vault's value limit `key` (0 when unset) is want. */
static int value_limit_eq(bh_vault *v, const char *key, bh_u128 want)
{
    value_find f = {key, 0};
    if (bh_vault_each_value_limit(v, 0, find_value_limit, &f) < 0) return 0;
    return f.have == want;
}

typedef struct {
    uint16_t chain;
    uint32_t limit;
    int found;
} chain_limit;

static int find_chain_limit(void *ctx, uint16_t chain, uint32_t msg_limit, uint32_t count_24h)
{
    chain_limit *cl = ctx;
    (void)count_24h;
    if (chain == cl->chain) {
        cl->limit = msg_limit;
        cl->found = 1;
        return 1;
    }
    return 0;
}

int node_vault_prepare(bh_node *n, node_vault *nv, char *err, size_t cap)
{
    const bh_config *cfg = n->cfg;
    const bh_config_chain *cc = nv->cfg;
    uint64_t now = now_s();
    char why[512];
    bh_vault_opts o = {0};
    int rc = bh_vault_open(&nv->v, cfg->data_dir, cc->name, &o, why, sizeof why);
    if (rc == BH_ENOTFOUND) {
        rc = bh_vault_init_dir(cfg->data_dir, cc->name, cc->bridge_id, now, "node",
                               "created by bulkhead run");
        if (rc == BH_OK) {
            BH_LOG(BH_LOG_INFO, "vault_created", "vault=%s chain_id=%u", cc->name,
                   (unsigned)cc->bridge_id);
            rc = bh_vault_open(&nv->v, cfg->data_dir, cc->name, &o, why, sizeof why);
        } else {
            snprintf(why, sizeof why, "cannot create it: %s", bh_strerror(rc));
        }
    }
    if (rc) {
        snprintf(err, cap, "vault %s in %s: %s", cc->name, cfg->data_dir, why);
        return rc;
    }
    if (bh_vault_chain_id(nv->v) != cc->bridge_id) {
        snprintf(err, cap,
                 "vault %s has chain id %u but the config says bridge_id %u; fix the config or "
                 "use another data_dir",
                 cc->name, (unsigned)bh_vault_chain_id(nv->v), (unsigned)cc->bridge_id);
        return BH_ECONFIG;
    }
    node_lanes_restore(n, nv);
    for (size_t i = 0; i < cc->n_assets; i++) {
        const bh_config_asset *a = &cc->assets[i];
        bh_bytes32 tok;
        node_token32(&tok, &a->token);
        bh_vault_asset have;
        rc = bh_vault_asset_get(nv->v, &have, &tok);
        int fresh = rc == BH_ENOTFOUND;
        if (rc == BH_ENOTFOUND) {
            rc = bh_vault_asset_add(nv->v, &tok, a->decimals, a->symbol, now, "node", "config");
        } else if (rc == BH_OK && have.decimals != a->decimals) {
            snprintf(err, cap, "vault %s: asset %s has %u decimals, the config says %u", cc->name,
                     a->symbol, (unsigned)have.decimals, (unsigned)a->decimals);
            return BH_ECONFIG;
        }
        for (size_t k = 0; !rc && k < a->n_limits; k++) {
            const bh_config_limit *l = &a->limits[k];
            int kept = 0;
            rc =
                apply_config_limit(n, nv, &tok, l->key, l->value,
                                   u128_eq_limit(nv->v, &tok, l->key, l->value), fresh, now, &kept);
            if (!rc && kept) log_kept(nv, a->symbol, l->key, l->value);
        }
        if (rc) {
            snprintf(err, cap, "vault %s: asset %s: %s", cc->name, a->symbol,
                     bh_vault_errmsg(nv->v)[0] ? bh_vault_errmsg(nv->v) : bh_strerror(rc));
            return rc;
        }
    }
    for (size_t k = 0; k < cc->n_value_limits; k++) {
        const bh_config_limit *l = &cc->value_limits[k];
        int kept = 0;
        rc = apply_config_limit(n, nv, NULL, l->key, l->value,
                                value_limit_eq(nv->v, l->key, l->value), 0, now, &kept);
        if (!rc && kept) log_kept(nv, "-", l->key, l->value);
        if (rc) {
            snprintf(err, cap, "vault %s: %s: %s", cc->name, l->key,
                     bh_vault_errmsg(nv->v)[0] ? bh_vault_errmsg(nv->v) : bh_strerror(rc));
            return rc;
        }
    }
    /* every vault counts each source chain's messages against its msg_limit */
    for (size_t s = 0; s < n->n; s++) {
        const bh_config_chain *src = n->chains[s].cfg;
        chain_limit cl = {.chain = src->bridge_id};
        if (bh_vault_each_chain(nv->v, now, find_chain_limit, &cl) < 0) cl.found = 0;
        char key[24];
        snprintf(key, sizeof key, "msg_limit.%u", (unsigned)src->bridge_id);
        int kept = 0;
        rc = apply_config_limit(n, nv, NULL, key, src->msg_limit, cl.limit == src->msg_limit,
                                !cl.found, now, &kept);
        if (!rc && kept) log_kept(nv, "-", key, src->msg_limit);
        if (rc) {
            snprintf(err, cap, "vault %s: %s", cc->name,
                     bh_vault_errmsg(nv->v)[0] ? bh_vault_errmsg(nv->v) : bh_strerror(rc));
            return rc;
        }
    }
    nv->next = calloc(n->n, sizeof *nv->next);
    if (!nv->next) return BH_ENOMEM;
    for (size_t s = 0; s < n->n; s++) {
        rc = bh_vault_source_next(nv->v, n->chains[s].cfg->bridge_id, &nv->next[s]);
        if (rc) {
            snprintf(err, cap, "vault %s: %s", cc->name, bh_strerror(rc));
            return rc;
        }
        /* entries the vault took before a crash are dropped from the inbox */
        size_t removed = 0;
        if (node_store_inbox_trim(n->store, cc->bridge_id, n->chains[s].cfg->bridge_id, nv->next[s],
                                  &removed) == BH_OK &&
            removed)
            BH_LOG(BH_LOG_INFO, "inbox_resumed", "vault=%s source=%s skipped=%zu", cc->name,
                   n->chains[s].cfg->name, removed);
    }
    return BH_OK;
}
