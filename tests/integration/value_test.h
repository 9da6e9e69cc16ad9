/* Helpers shared by the value-limit tests on anvil (test_node_value,
 * test_adversary_value): node 1's vaults read-only, `vaultctl values`,
 * `journal`, the segment state. Header only (static inline), after
 * node_test.h (one world W per program). */
#ifndef VALUE_TEST_H
#define VALUE_TEST_H

#include <jansson.h>
#include <string.h>

#include "bh_amount.h"
#include "bh_vault.h"
#include "node_test.h"

#define FEED_ONE 100000000ll /* 1.00 at the feeds' 8 decimals */
#define CALM_S 12

/* A vault of node 1, read-only (the node keeps running). */
static inline bh_vault *vault_ro(const char *name)
{
    bh_vault *v = NULL;
    char why[256];
    bh_vault_opts o = {.read_only = 1};
    if (bh_vault_open(&v, W.node[0].data_dir, name, &o, why, sizeof why) != BH_OK)
        fail_msg("open vault %s: %s", name, why);
    return v;
}

static inline bh_vault_lane lane_of(const char *vault, const bh_address *token, uint16_t chain)
{
    bh_vault *v = vault_ro(vault);
    bh_bytes32 t = {{0}};
    memcpy(t.data + 12, token->data, 20);
    bh_vault_lane l;
    if (bh_vault_lane_get(v, &l, &t, chain) != BH_OK) fail_msg("%s: no lane %u", vault, chain);
    bh_vault_close(v);
    return l;
}

/* `vaultctl values VAULT --json`'s data (caller decrefs). */
static inline json_t *values_of(const char *vault)
{
    char *out = NULL;
    const char *args[] = {"values", vault, "--json", NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, args), 0);
    json_t *d = nh_vaultctl_data(out);
    if (!d) fail_msg("vaultctl values %s: %s", vault, out ? out : "");
    free(out);
    return d;
}

static inline const char *segment_of(const char *vault)
{
    static char st[32];
    json_t *d = values_of(vault);
    snprintf(st, sizeof st, "%s",
             json_string_value(json_object_get(json_object_get(d, "segment"), "state")));
    json_decref(d);
    return st;
}

/* The row of d[array] whose field is name (borrowed from d), or NULL. */
static inline json_t *row_named(json_t *d, const char *array, const char *field, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(d, array), i, r)
    {
        const char *f = json_string_value(json_object_get(r, field));
        if (f && strcmp(f, name) == 0) return r;
    }
    return NULL;
}

/* The value limit key's "effective" and "used_24h" in `vaultctl values`. */
static inline void value_limit(const char *vault, const char *key, bh_u128 *eff, bh_u128 *used)
{
    json_t *d = values_of(vault);
    json_t *r = row_named(d, "limits", "key", key);
    if (!r) fail_msg("vault %s has no value limit %s", vault, key);
    *eff = *used = 0;
    const char *e = json_string_value(json_object_get(r, "effective"));
    const char *u = json_string_value(json_object_get(r, "used_24h"));
    if (!e || bh_u128_from_dec(eff, e, strlen(e))) fail_msg("values: %s effective", key);
    if (u && bh_u128_from_dec(used, u, strlen(u))) fail_msg("values: %s used", key);
    json_decref(d);
}

/* The usable price of symbol in `vaultctl values` (0: not usable). */
static inline bh_u128 price_of(const char *vault, const char *symbol)
{
    json_t *d = values_of(vault);
    const char *s =
        json_string_value(json_object_get(row_named(d, "prices", "symbol", symbol), "price"));
    bh_u128 p = 0;
    if (s && bh_u128_from_dec(&p, s, strlen(s))) p = 0;
    json_decref(d);
    return p;
}

/* The journal of vault holds a line with a and (unless NULL) b. */
static inline int journal_has(const char *vault, const char *a, const char *b)
{
    char *out = NULL;
    const char *args[] = {"journal", vault, NULL};
    assert_int_equal(nh_vaultctl(&W, 1, &out, args), 0);
    int found = 0;
    for (char *line = out; line && *line && !found;) {
        char *eol = strchr(line, '\n');
        if (eol) *eol = '\0';
        found = strstr(line, a) && (!b || strstr(line, b));
        line = eol ? eol + 1 : NULL;
    }
    free(out);
    return found;
}

static inline void wait_segment(const char *vault, const char *state, unsigned timeout_ms)
{
    uint64_t t0 = nh_now_ms();
    while (strcmp(segment_of(vault), state) != 0) {
        if (nh_now_ms() - t0 > timeout_ms) {
            nh_dump_logs(&W, 40);
            fail_msg("vault %s: segment %s, expected %s", vault, segment_of(vault), state);
        }
        nh_sleep_ms(250);
    }
}

#endif
