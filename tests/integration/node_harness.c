#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "node_harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bh_abi.h"
#include "bh_amount.h"
#include "bh_tool_contracts.h"
#include "bh_hex.h"
#include "bh_portal.h"
#include "bh_portal_admin.h"
#include "bh_test_token.h"
#include "bh_test_contracts.h"
#include "bh_vault.h"

static const char *const anvil_keys[10] = {
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};

static const char *const chain_names[NH_MAX_CHAINS] = {"alpha", "beta", "gamma"};

const char *nh_anvil_key(unsigned i)
{
    return i < 10 ? anvil_keys[i] : NULL;
}

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("node_harness: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

uint64_t nh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void nh_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bh_u128 nh_units(uint64_t units)
{
    bh_u128 one = 1000000000000000000ull;
    return (bh_u128)units * one;
}

const char *nh_u128_str(bh_u128 v)
{
    static char buf[8][BH_U128_DEC_MAX];
    static unsigned next;
    char *b = buf[next++ % 8];
    bh_u128_to_dec(b, v);
    return b;
}

static void addr_hex(char out[43], const bh_address *a)
{
    out[0] = '0';
    out[1] = 'x';
    bh_hex_encode(out + 2, a->data, 20);
}

static int u256_to_u128(bh_u128 *out, const bh_u256 *v)
{
    return bh_u256_to_u128(out, v) == BH_OK ? 0 : -1;
}

/* ---- files ---- */

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return fail("cannot write %s: %s", path, strerror(errno));
    if (fchmod(fd, mode) != 0) {
        close(fd);
        return fail("chmod %s: %s", path, strerror(errno));
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n <= 0) {
            close(fd);
            return fail("write %s: %s", path, strerror(errno));
        }
        off += (size_t)n;
    }
    close(fd);
    return 0;
}

static char *read_file(const char *path, off_t from)
{
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    if (n < from) from = 0;
    fseek(f, from, SEEK_SET);
    size_t len = (size_t)(n - from);
    char *buf = malloc(len + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, len, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int write_key(const char *path, const bh_seckey *k)
{
    char hex[66];
    bh_hex_encode(hex, k->data, 32);
    hex[64] = '\n';
    hex[65] = '\0';
    int rc = write_file(path, hex, 0600);
    memset(hex, 0, sizeof hex);
    return rc;
}

/* ---- transactions ---- */

static bh_evm_sender *make_sender(nh_world *w, size_t chain, unsigned key_index)
{
    bh_seckey k;
    it_key(&k, anvil_keys[key_index]);
    bh_evm_sender_options o = {.chain_id = w->ch[chain].anvil.chain_id,
                               .receipt_timeout_ms = 30000,
                               .gas_cap = 29000000,
                               .poll_ms = 10};
    bh_evm_sender *s = NULL;
    int rc = bh_evm_sender_create(&s, w->ch[chain].rpc, w->ctx, &k, &o);
    bh_seckey_clear(&k);
    return rc == BH_OK ? s : NULL;
}

int nh_deploy(bh_evm_sender *s, const char *bin_hex, const unsigned char *ctor, size_t ctor_len,
              bh_address *out)
{
    size_t hex_len = strlen(bin_hex), code_len = 0;
    unsigned char *code = malloc(hex_len / 2 + ctor_len + 1);
    if (!code) return fail("deploy: out of memory");
    if (bh_hex_decode(code, hex_len / 2, &code_len, bin_hex, hex_len) != BH_OK) {
        free(code);
        return fail("deploy: bad creation code");
    }
    if (ctor_len) memcpy(code + code_len, ctor, ctor_len);
    bh_evm_receipt r;
    int rc = bh_evm_sender_send(s, &r, NULL, NULL, code, code_len + ctor_len);
    free(code);
    if (rc != BH_OK) return fail("deploy: %s (%d)", bh_evm_sender_last_error(s), rc);
    *out = r.contract;
    bh_evm_receipt_clear(&r);
    return 0;
}

/* Send an ABI call; a->err and the sender's errors become -1 with a message. */
static int send_abi(bh_evm_sender *s, bh_evm_receipt *r, const bh_address *to, bh_abi *a,
                    const char *what)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = bh_abi_finish(a, &data, &len);
    bh_abi_clear(a);
    if (rc != BH_OK) return fail("%s: abi encoding failed", what);
    rc = bh_evm_sender_send(s, r, to, NULL, data, len);
    free(data);
    if (rc != BH_OK) return fail("%s: %s (%d)", what, bh_evm_sender_last_error(s), rc);
    return 0;
}

static int head_block(nh_world *w, size_t chain, uint64_t *out)
{
    json_t *r = it_rpc(w->ch[chain].anvil.url, "eth_blockNumber", NULL);
    int rc = r && bh_rpc_read_quantity(out, r) == BH_OK ? 0 : -1;
    json_decref(r);
    return rc ? fail("eth_blockNumber on %s failed", w->ch[chain].name) : 0;
}

static int deploy_portal(nh_world *w, size_t i)
{
    nh_chain *c = &w->ch[i];
    if (i == NH_C && w->o.rogue_c)
        return nh_deploy_rogue(c->deployer, c->bridge_id, w->att_addr, w->o.n_attesters,
                               w->o.quorum, &c->portal);
    int rc = bh_portal_deploy(c->deployer, &c->portal, c->bridge_id, 0, w->att_addr,
                              w->o.n_attesters, (uint8_t)w->o.quorum);
    return rc == BH_OK
               ? 0
               : fail("Portal deploy on %s: %s", c->name, bh_evm_sender_last_error(c->deployer));
}

static int deploy_token(nh_world *w, size_t chain, const char *sym, bh_address *out)
{
    nh_chain *c = &w->ch[chain];
    if (bh_test_token_deploy(c->deployer, out, sym, sym, 18) != BH_OK)
        return fail("token %s deploy on %s: %s", sym, c->name,
                    bh_evm_sender_last_error(c->deployer));
    bh_u256 amt;
    bh_u256_from_u128(&amt, nh_units(1000000));
    if (bh_test_token_mint(c->deployer, out, &w->user, &amt) != BH_OK)
        return fail("mint %s: %s", sym, bh_evm_sender_last_error(c->deployer));
    return 0;
}

/* it_anvil_start, then make sure the anvil answering on the port is ours:
 * between picking a free port and binding it another test's anvil may take
 * it (ours then exits while theirs answers the readiness probe). */
static int start_anvil(it_anvil *a, uint64_t chain_id, const char *const *extra)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (it_anvil_start(a, chain_id, extra) != 0) return -1;
        json_t *r = it_rpc(a->url, "eth_chainId", NULL);
        uint64_t id = 0;
        int ok = r && bh_rpc_read_quantity(&id, r) == BH_OK && id == chain_id;
        json_decref(r);
        int st;
        pid_t gone = waitpid(a->pid, &st, WNOHANG);
        if (ok && gone == 0) return 0;
        if (gone == a->pid) a->pid = 0; /* reaped: nothing left to stop */
        fail("port %d answered for chain id %llu, not ours (%llu): retrying", a->port,
             (unsigned long long)id, (unsigned long long)chain_id);
        it_anvil_stop(a);
    }
    return -1;
}

/* Chain i's anvil (on `port`, 0: a free one), its rpc and senders, its
 * Portal; the same steps give the same addresses on a fresh chain. */
static int chain_up(nh_world *w, size_t i, int port)
{
    nh_chain *c = &w->ch[i];
    /* Mixed mining: transactions mine at once, and a block every block_ms
     * keeps confirmations accruing while nothing else happens. */
    char bt[32];
    snprintf(bt, sizeof bt, "%u.%03u", w->o.block_ms / 1000, w->o.block_ms % 1000);
    const char *extra[] = {"--mixed-mining", "--block-time", bt, "--gas-limit", "60000000", NULL};
    snprintf(c->name, sizeof c->name, "%s", chain_names[i]);
    c->bridge_id = (uint16_t)(i + 1);
    uint64_t id = w->o.evm_id_base + i + 1;
    int rc =
        port ? it_anvil_start_on(&c->anvil, port, id, extra) : start_anvil(&c->anvil, id, extra);
    if (rc != 0) return fail("anvil for %s did not start", c->name);
    if (w->n_chains < i + 1) w->n_chains = i + 1;
    bh_rpc_options ro = {.url = c->anvil.url, .timeout_ms = 30000, .max_retries = 2};
    if (bh_rpc_create(&c->rpc, &ro) != BH_OK) return fail("rpc");
    c->deployer = make_sender(w, i, 0);
    c->user = make_sender(w, i, 1);
    c->attacker = make_sender(w, i, 5);
    c->flooder_s = make_sender(w, i, 7);
    if (!c->deployer || !c->user || !c->attacker || !c->flooder_s) return fail("senders");
    /* i empty transactions first: the deployer's contracts get other
     * addresses on every chain, so no address means two things. */
    for (size_t step = 0; step < i; step++)
        if (bh_evm_sender_send(c->deployer, NULL, bh_evm_sender_address(c->deployer), NULL, NULL,
                               0) != BH_OK)
            return fail("nonce step on %s: %s", c->name, bh_evm_sender_last_error(c->deployer));
    if (deploy_portal(w, i) != 0) return -1;
    return head_block(w, i, &c->start_block);
}

/* Remotes registered both ways, then the native tokens. */
static int wire_up(nh_world *w)
{
    for (size_t i = 0; i < w->n_chains; i++)
        for (size_t j = 0; j < w->n_chains; j++) {
            if (i == j) continue;
            if (bh_portal_register_remote(w->ch[i].deployer, &w->ch[i].portal, w->ch[j].bridge_id,
                                          &w->ch[j].portal) != BH_OK)
                return fail("registerRemote %s -> %s: %s", w->ch[i].name, w->ch[j].name,
                            bh_evm_sender_last_error(w->ch[i].deployer));
        }
    if (deploy_token(w, NH_A, "TKA", &w->tka) != 0) return -1;
    if (deploy_token(w, NH_B, "TKB", &w->tkb) != 0) return -1;
    if (w->o.tkc && deploy_token(w, NH_C, "TKC", &w->tkc) != 0) return -1;
    return 0;
}

int nh_world_start(nh_world *w, const nh_opts *o)
{
    memset(w, 0, sizeof *w);
    w->o = *o;
    if (!w->o.confirmations) w->o.confirmations = 2;
    if (!w->o.block_ms) w->o.block_ms = 200;
    if (!w->o.evm_id_base) w->o.evm_id_base = 7000;
    if (w->o.n_chains < 2 || w->o.n_chains > NH_MAX_CHAINS) return fail("n_chains must be 2..3");
    if (w->o.n_attesters < 1 || w->o.n_attesters > NH_MAX_NODES || w->o.quorum < 1 ||
        w->o.quorum > w->o.n_attesters)
        return fail("bad attester set %u-of-%u", w->o.quorum, w->o.n_attesters);
    if ((w->o.rogue_c || w->o.tkc) && w->o.n_chains < 3) return fail("chain C needed");
    if (!w->o.bulkhead || !w->o.vaultctl) return fail("binary paths missing");
    signal(SIGPIPE, SIG_IGN);

    snprintf(w->tmp, sizeof w->tmp, "/tmp/bh-e2e-XXXXXX");
    if (!mkdtemp(w->tmp)) return fail("mkdtemp: %s", strerror(errno));
    w->ctx = bh_attest_create();
    if (!w->ctx) return fail("bh_attest_create");
    for (unsigned i = 0; i < w->o.n_attesters; i++) {
        it_test_key(&w->att[i], i + 1);
        if (bh_attest_address(w->ctx, &w->att_addr[i], &w->att[i]) != BH_OK)
            return fail("attester address");
    }
    if (nh_dev_address(w, 1, &w->user) != 0 || nh_dev_address(w, 5, &w->attacker) != 0)
        return fail("dev addresses");
    for (size_t i = 0; i < w->o.n_chains; i++)
        if (chain_up(w, i, 0) != 0) return -1;
    return wire_up(w);
}

/* Senders, rpc and anvil of chain i gone (the world keeps its settings). */
static void chain_down(nh_chain *c)
{
    bh_evm_sender_destroy(c->deployer);
    bh_evm_sender_destroy(c->user);
    bh_evm_sender_destroy(c->attacker);
    bh_evm_sender_destroy(c->flooder_s);
    c->deployer = c->user = c->attacker = c->flooder_s = NULL;
    bh_rpc_destroy(c->rpc);
    c->rpc = NULL;
    it_anvil_stop(&c->anvil);
}

int nh_world_restart_chains(nh_world *w)
{
    nh_chain old[NH_MAX_CHAINS];
    memcpy(old, w->ch, sizeof old);
    bh_address tka = w->tka, tkb = w->tkb, tkc = w->tkc;
    for (size_t i = 0; i < w->n_chains; i++)
        chain_down(&w->ch[i]);
    memset(w->flooder, 0, sizeof w->flooder);
    for (size_t i = 0; i < w->n_chains; i++) {
        int port = old[i].anvil.port;
        memset(&w->ch[i], 0, sizeof w->ch[i]);
        if (chain_up(w, i, port) != 0) return -1;
        if (memcmp(&w->ch[i].portal, &old[i].portal, sizeof old[i].portal) != 0)
            return fail("fresh %s: the Portal got another address", w->ch[i].name);
        w->ch[i].start_block = old[i].start_block;
    }
    if (wire_up(w) != 0) return -1;
    if (memcmp(&tka, &w->tka, sizeof tka) || memcmp(&tkb, &w->tkb, sizeof tkb) ||
        memcmp(&tkc, &w->tkc, sizeof tkc))
        return fail("fresh chains: a native token got another address");
    return 0;
}

void nh_world_stop(nh_world *w)
{
    for (unsigned id = 1; id <= NH_MAX_NODES; id++)
        if (w->node[id - 1].pid > 0) nh_node_kill(w, id);
    for (size_t i = 0; i < NH_MAX_CHAINS; i++)
        chain_down(&w->ch[i]);
    bh_attest_destroy(w->ctx);
    w->ctx = NULL;
    for (unsigned i = 0; i < NH_MAX_NODES; i++)
        bh_seckey_clear(&w->att[i]);
    if (w->tmp[0]) {
        if (getenv("BH_E2E_KEEP"))
            fprintf(stderr, "node_harness: kept %s\n", w->tmp);
        else
            nftw(w->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        w->tmp[0] = '\0';
    }
}

/* ---- nodes ---- */

static nh_node *node_of(nh_world *w, unsigned id)
{
    return id >= 1 && id <= NH_MAX_NODES ? &w->node[id - 1] : NULL;
}

json_t *nh_node_config(const nh_world *w, unsigned id)
{
    const nh_node *n = &w->node[id - 1];
    char path[NH_PATH + 32];
    snprintf(path, sizeof path, "%s/config.json", n->dir);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) fail("cannot read %s: %s", path, e.text);
    return j;
}

int nh_node_write_config(nh_world *w, unsigned id, json_t *cfg)
{
    nh_node *n = node_of(w, id);
    if (!n || !cfg) return fail("write_config: bad node or config");
    char *text = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(cfg);
    if (!text) return fail("json_dumps");
    int rc = write_file(n->cfg, text, 0644);
    free(text);
    return rc;
}

int nh_node_set_attester(nh_world *w, unsigned id, const bh_seckey *attester)
{
    nh_node *n = node_of(w, id);
    if (!n || !n->prepared) return fail("node %u not prepared", id);
    char path[NH_PATH + 32];
    snprintf(path, sizeof path, "%s/attester.key", n->dir);
    return write_key(path, attester);
}

int nh_node_prepare(nh_world *w, unsigned id, unsigned signer_index, const bh_seckey *attester)
{
    nh_node *n = node_of(w, id);
    if (!n) return fail("node id %u out of range", id);
    if (n->pid > 0) return fail("node %u is running", id);
    memset(n, 0, sizeof *n);
    n->id = id;
    n->signer_index = signer_index;
    char base[NH_TMP];
    snprintf(base, sizeof base, "%s", w->tmp);
    snprintf(n->dir, sizeof n->dir, "%s/node%u", base, id);
    snprintf(n->data_dir, sizeof n->data_dir, "%s/node%u/data", base, id);
    snprintf(n->cfg, sizeof n->cfg, "%s/node%u/config.json", base, id);
    snprintf(n->log, sizeof n->log, "%s/node%u/node.log", base, id);
    if (mkdir(n->dir, 0700) != 0 && errno != EEXIST)
        return fail("mkdir %s: %s", n->dir, strerror(errno));
    n->prepared = 1;

    bh_seckey att, tx;
    if (attester)
        att = *attester;
    else
        it_test_key(&att, signer_index + 1);
    it_key(&tx, anvil_keys[1 + id]);
    if (bh_attest_address(w->ctx, &n->tx_addr, &tx) != BH_OK) return fail("tx address");
    char path[NH_PATH + 32];
    snprintf(path, sizeof path, "%s/attester.key", n->dir);
    int rc = write_key(path, &att);
    snprintf(path, sizeof path, "%s/tx.key", n->dir);
    if (rc == 0) rc = write_key(path, &tx);
    bh_seckey_clear(&att);
    bh_seckey_clear(&tx);
    if (rc) return rc;

    char name[32];
    snprintf(name, sizeof name, "node-%u", id);
    json_t *node =
        json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:s}", "name", name, "data_dir", n->data_dir,
                  "log_level", "info", "log_file", "", "signer_set_index", 0, "signer_index",
                  (int)signer_index, "poll_ms", 100, "attester_key_file", "attester.key");
    json_t *chains = json_array();
    for (size_t i = 0; i < w->n_chains; i++) {
        const nh_chain *c = &w->ch[i];
        char portal[43], token[43];
        addr_hex(portal, &c->portal);
        json_t *assets = json_array();
        const bh_address *tk = i == NH_A ? &w->tka : i == NH_B ? &w->tkb : &w->tkc;
        const char *sym = i == NH_A ? "TKA" : i == NH_B ? "TKB" : "TKC";
        if (i != NH_C || w->o.tkc) {
            addr_hex(token, tk);
            json_array_append_new(assets, json_pack("{s:s,s:s,s:i,s:{}}", "token", token, "symbol",
                                                    sym, "decimals", 18, "limits"));
        }
        json_array_append_new(chains,
                              json_pack("{s:s,s:i,s:I,s:[s],s:i,s:i,s:s,s:I,s:s,s:o,s:i}", "name",
                                        c->name, "bridge_id", (int)c->bridge_id, "evm_chain_id",
                                        (json_int_t)c->anvil.chain_id, "endpoints", c->anvil.url,
                                        "quorum", 1, "confirmations", (int)w->o.confirmations,
                                        "portal", portal, "start_block", (json_int_t)c->start_block,
                                        "tx_key_file", "tx.key", "assets", assets, "msg_limit", 0));
    }
    json_t *cfg = json_pack("{s:o,s:o,s:{}}", "node", node, "chains", chains, "breaker");
    return nh_node_write_config(w, id, cfg);
}

int nh_node_running(nh_world *w, unsigned id)
{
    nh_node *n = node_of(w, id);
    if (!n || n->pid <= 0) return 0;
    int st;
    if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
        n->pid = 0;
        n->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return 0;
    }
    return 1;
}

char *nh_node_log(const nh_world *w, unsigned id)
{
    const nh_node *n = &w->node[id - 1];
    return read_file(n->log, 0);
}

void nh_dump_logs(const nh_world *w, unsigned lines)
{
    for (unsigned id = 1; id <= NH_MAX_NODES; id++) {
        const nh_node *n = &w->node[id - 1];
        if (!n->prepared) continue;
        char *text = read_file(n->log, 0);
        if (!text) continue;
        size_t len = strlen(text);
        const char *p = text + len;
        unsigned seen = 0;
        while (p > text && seen <= lines) {
            p--;
            if (*p == '\n') seen++;
        }
        if (p > text) p++;
        fprintf(stderr, "---- node %u log (last %u lines, %s) ----\n%s\n", id, lines, n->log, p);
        free(text);
    }
}

int nh_node_start(nh_world *w, unsigned id, unsigned timeout_ms)
{
    nh_node *n = node_of(w, id);
    if (!n || !n->prepared) return fail("node %u not prepared", id);
    if (nh_node_running(w, id)) return fail("node %u already running", id);
    n->log_mark = file_size(n->log);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return fail("fork: %s", strerror(errno));
    if (pid == 0) {
        /* Never outlive the test, even if it crashes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);
        int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (fd < 0 || nul < 0) _exit(126);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(w->o.bulkhead, w->o.bulkhead, "run", "-c", n->cfg, (char *)NULL);
        dprintf(2, "cannot exec %s: %s\n", w->o.bulkhead, strerror(errno));
        _exit(127);
    }
    n->pid = pid;
    n->exit_status = -1;
    n->starts++;
    uint64_t end = nh_now_ms() + timeout_ms;
    for (;;) {
        char *text = read_file(n->log, n->log_mark);
        int started = text && strstr(text, "event=started") != NULL;
        free(text);
        if (started) return 0;
        if (!nh_node_running(w, id)) {
            nh_dump_logs(w, 30);
            return fail("node %u exited before event=started", id);
        }
        if (nh_now_ms() > end) {
            nh_dump_logs(w, 30);
            return fail("node %u: no event=started within %u ms", id, timeout_ms);
        }
        nh_sleep_ms(50);
    }
}

int nh_node_stop(nh_world *w, unsigned id, unsigned timeout_ms)
{
    nh_node *n = node_of(w, id);
    if (!n || n->pid <= 0) return fail("node %u is not running", id);
    kill(n->pid, SIGTERM);
    uint64_t end = nh_now_ms() + timeout_ms;
    int st;
    for (;;) {
        pid_t r = waitpid(n->pid, &st, WNOHANG);
        if (r == n->pid) break;
        if (nh_now_ms() > end) {
            fail("node %u did not exit within %u ms of SIGTERM: killed", id, timeout_ms);
            nh_node_kill(w, id);
            return -1;
        }
        nh_sleep_ms(20);
    }
    n->pid = 0;
    n->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return n->exit_status;
}

void nh_node_kill(nh_world *w, unsigned id)
{
    nh_node *n = node_of(w, id);
    if (!n || n->pid <= 0) return;
    kill(n->pid, SIGKILL);
    int st;
    waitpid(n->pid, &st, 0);
    n->pid = 0;
}

size_t nh_log_count(const char *text, const char *const *needles)
{
    size_t count = 0;
    const char *line = text;
    while (line && *line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        int all = 1;
        for (size_t i = 0; needles[i] && all; i++) {
            size_t nl = strlen(needles[i]);
            all = 0;
            for (size_t k = 0; k + nl <= len; k++)
                if (memcmp(line + k, needles[i], nl) == 0) {
                    all = 1;
                    break;
                }
        }
        if (all) count++;
        line = eol ? eol + 1 : NULL;
    }
    return count;
}

int nh_log_wait(nh_world *w, unsigned id, const char *const *needles, size_t count,
                unsigned timeout_ms)
{
    uint64_t end = nh_now_ms() + timeout_ms;
    size_t have = 0;
    for (;;) {
        char *text = nh_node_log(w, id);
        have = text ? nh_log_count(text, needles) : 0;
        free(text);
        if (have >= count) return 0;
        if (nh_now_ms() > end) break;
        nh_sleep_ms(50);
    }
    nh_dump_logs(w, 40);
    char what[512];
    size_t off = 0;
    what[0] = '\0';
    for (size_t i = 0; needles[i] && off < sizeof what; i++)
        off += (size_t)snprintf(what + off, sizeof what - off, " '%s'", needles[i]);
    return fail("waited %u ms for %zu log lines of node %u with%s: %zu found", timeout_ms, count,
                id, what, have);
}

int nh_log_field(const char *line, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *eol = strchr(line, '\n');
    if (!eol) eol = line + strlen(line);
    for (const char *p = line; p + kl < eol; p++) {
        if ((p == line || p[-1] == ' ') && memcmp(p, key, kl) == 0 && p[kl] == '=') {
            const char *v = p + kl + 1, *e = v;
            while (e < eol && *e != ' ')
                e++;
            size_t n = (size_t)(e - v);
            if (n >= cap) n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
    }
    return -1;
}

/* "running", or what became of the chain's anvil (for failure messages). */
static const char *anvil_state(const nh_world *w, size_t chain)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)w->ch[chain].anvil.pid);
    FILE *f = fopen(path, "r");
    if (!f) return "anvil process gone";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'Z' ? "anvil process exited" : "anvil running";
}

/* ---- chain reads and user actions ---- */

static int seq_from_receipt(const nh_chain *c, const bh_evm_receipt *r, uint64_t *seq)
{
    bh_hash32 topic;
    bh_abi_topic(&topic, BH_PORTAL_TRANSFER_OUT_SIG);
    size_t i;
    json_t *log;
    json_array_foreach(r->logs, i, log)
    {
        bh_address a;
        bh_hash32 t0, t1;
        json_t *topics = json_object_get(log, "topics");
        if (bh_rpc_member_address(&a, log, "address") != BH_OK || memcmp(&a, &c->portal, 20) != 0 ||
            json_array_size(topics) < 2 ||
            bh_rpc_read_hash(&t0, json_array_get(topics, 0)) != BH_OK ||
            memcmp(&t0, &topic, 32) != 0 ||
            bh_rpc_read_hash(&t1, json_array_get(topics, 1)) != BH_OK)
            continue;
        uint64_t s = 0;
        for (int b = 24; b < 32; b++)
            s = s << 8 | t1.data[b];
        *seq = s;
        return 0;
    }
    return fail("no TransferOut in the receipt on %s", c->name);
}

/* The user sends `amount` of token out of chain `from` towards `to` by
 * bh_portal_lock or bh_portal_burn (what: "lock" or "burn"). */
static int send_out(nh_world *w, size_t from, const bh_address *token, bh_u128 amount, size_t to,
                    const bh_address *rcpt, bh_u128 fee, uint64_t *seq, const char *what,
                    int (*op)(bh_evm_sender *, bh_evm_receipt *, const bh_address *,
                              const bh_address *, const bh_u256 *, uint16_t, const bh_address *,
                              const bh_u256 *, uint32_t))
{
    nh_chain *c = &w->ch[from];
    bh_u256 a, f;
    bh_u256_from_u128(&a, amount);
    bh_u256_from_u128(&f, fee);
    bh_evm_receipt r;
    if (op(c->user, &r, &c->portal, token, &a, w->ch[to].bridge_id, rcpt, &f, 0) != BH_OK)
        return fail("%s on %s: %s", what, c->name, bh_evm_sender_last_error(c->user));
    w->last_tx[0] = '0';
    w->last_tx[1] = 'x';
    bh_hex_encode(w->last_tx + 2, r.tx_hash.data, 32);
    w->last_block = r.block_number;
    int rc = seq ? seq_from_receipt(c, &r, seq) : 0;
    bh_evm_receipt_clear(&r);
    return rc;
}

int nh_lock(nh_world *w, size_t from, const bh_address *token, bh_u128 amount, size_t to,
            const bh_address *rcpt, bh_u128 fee, uint64_t *seq)
{
    return send_out(w, from, token, amount, to, rcpt, fee, seq, "lock", bh_portal_lock);
}

int nh_burn(nh_world *w, size_t from, const bh_address *wrapped, bh_u128 amount, size_t to,
            const bh_address *rcpt, bh_u128 fee, uint64_t *seq)
{
    return send_out(w, from, wrapped, amount, to, rcpt, fee, seq, "burn", bh_portal_burn);
}

int nh_wrapped(nh_world *w, size_t on, size_t home, const bh_address *token, bh_address *out)
{
    bh_bytes32 t;
    bh_address_to_bytes32(&t, token);
    if (bh_portal_wrapped_for(w->ch[on].rpc, out, &w->ch[on].portal, w->ch[home].bridge_id, &t) !=
        BH_OK)
        return fail("wrappedFor on %s failed", w->ch[on].name);
    return 0;
}

static int is_zero_addr(const bh_address *a)
{
    static const bh_address z;
    return memcmp(a, &z, sizeof z) == 0;
}

int nh_wait_wrapped(nh_world *w, size_t on, size_t home, const bh_address *token, bh_address *out,
                    unsigned timeout_ms)
{
    uint64_t end = nh_now_ms() + timeout_ms;
    for (;;) {
        if (nh_wrapped(w, on, home, token, out) != 0) return -1;
        if (!is_zero_addr(out)) return 0;
        if (nh_now_ms() > end) break;
        nh_sleep_ms(25);
    }
    nh_dump_logs(w, 40);
    return fail("no wrapped token of %s's asset on %s after %u ms", w->ch[home].name,
                w->ch[on].name, timeout_ms);
}

int nh_balance(nh_world *w, size_t chain, const bh_address *token, const bh_address *holder,
               bh_u128 *out)
{
    bh_u256 v;
    if (bh_erc20_balance(w->ch[chain].rpc, &v, token, holder) != BH_OK)
        return fail("balanceOf on %s failed", w->ch[chain].name);
    return u256_to_u128(out, &v) == 0 ? 0 : fail("balance above u128");
}

static int call_u256(nh_world *w, size_t chain, const bh_address *to, bh_abi *a, bh_u128 *out,
                     const char *what)
{
    unsigned char *data = NULL, *ret = NULL;
    size_t len = 0, ret_len = 0;
    int rc = bh_abi_finish(a, &data, &len);
    bh_abi_clear(a);
    if (rc != BH_OK) return fail("%s: encoding", what);
    rc = bh_evm_call(w->ch[chain].rpc, &ret, &ret_len, to, data, len);
    free(data);
    if (rc != BH_OK) return fail("%s on %s: eth_call failed (%d)", what, w->ch[chain].name, rc);
    bh_u256 v;
    rc = bh_abi_read_u256(&v, ret, ret_len, 0);
    free(ret);
    if (rc != BH_OK) return fail("%s: bad answer", what);
    return u256_to_u128(out, &v);
}

int nh_total_supply(nh_world *w, size_t chain, const bh_address *token, bh_u128 *out)
{
    bh_abi a;
    bh_abi_init(&a, "totalSupply()", 0);
    return call_u256(w, chain, token, &a, out, "totalSupply");
}

int nh_portal_outstanding(nh_world *w, size_t chain, const bh_address *token, size_t lane,
                          bh_u128 *out)
{
    bh_abi a;
    bh_abi_init(&a, "outstanding(address,uint16)", 2);
    bh_abi_address(&a, token);
    bh_abi_uint(&a, w->ch[lane].bridge_id);
    return call_u256(w, chain, &w->ch[chain].portal, &a, out, "outstanding");
}

int nh_wait_balance(nh_world *w, size_t chain, const bh_address *token, const bh_address *holder,
                    bh_u128 expect, unsigned timeout_ms, const char *what, uint64_t *ms)
{
    uint64_t t0 = nh_now_ms(), end = t0 + timeout_ms;
    bh_u128 v = 0;
    unsigned read_failures = 0;
    for (;;) {
        /* A failed read is retried until the deadline (the chain may be
         * busy); the failure message says whether its anvil still runs. */
        if (nh_balance(w, chain, token, holder, &v) != 0) {
            read_failures++;
            if (nh_now_ms() > end) break;
            nh_sleep_ms(100);
            continue;
        }
        if (v == expect) {
            if (ms) *ms = nh_now_ms() - t0;
            return 0;
        }
        if (v > expect) {
            nh_dump_logs(w, 40);
            return fail("%s: balance on %s is %s, past the expected %s (delivered twice?)", what,
                        w->ch[chain].name, nh_u128_str(v), nh_u128_str(expect));
        }
        if (nh_now_ms() > end) break;
        nh_sleep_ms(20);
    }
    nh_dump_logs(w, 40);
    return fail("%s: balance on %s still %s after %u ms, expected %s (%u failed reads, %s)", what,
                w->ch[chain].name, nh_u128_str(v), timeout_ms, nh_u128_str(expect), read_failures,
                anvil_state(w, chain));
}

/* eth_getLogs of the Portal on chain with topic0 = keccak(sig), from its
 * deployment to latest. Returns the array (caller decrefs) or NULL. */
static json_t *portal_logs(nh_world *w, size_t chain, const char *sig)
{
    bh_hash32 topic;
    bh_abi_topic(&topic, sig);
    char t[67], p[43], from[19];
    t[0] = '0';
    t[1] = 'x';
    bh_hex_encode(t + 2, topic.data, 32);
    addr_hex(p, &w->ch[chain].portal);
    bh_rpc_format_quantity(from, w->ch[chain].start_block);
    json_t *r = it_rpc(w->ch[chain].anvil.url, "eth_getLogs",
                       json_pack("[{s:s,s:s,s:s,s:[s]}]", "address", p, "fromBlock", from,
                                 "toBlock", "latest", "topics", t));
    if (!r || !json_is_array(r)) {
        json_decref(r);
        fail("eth_getLogs %s on %s failed", sig, w->ch[chain].name);
        return NULL;
    }
    return r;
}

static int log_data(const json_t *log, unsigned char **data, size_t *len)
{
    return bh_rpc_read_data(data, len, json_object_get(log, "data"), 4096) == BH_OK ? 0 : -1;
}

/* Decode the Portal logs of signature sig on `chain` into a heap array of
 * items of `size` bytes: the digest (topic 1) and the data (ABI words) of
 * each log go to decode(item, digest, data, len), which returns 0 or -1. */
typedef int (*log_decoder)(void *item, const json_t *log, const bh_hash32 *digest,
                           const unsigned char *d, size_t dl);

static int decode_logs(nh_world *w, size_t chain, const char *sig, const char *what, size_t size,
                       log_decoder decode, void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    json_t *logs = portal_logs(w, chain, sig);
    if (!logs) return -1;
    size_t cnt = json_array_size(logs), i;
    unsigned char *v = calloc(cnt ? cnt : 1, size);
    json_t *log;
    int rc = v ? 0 : -1;
    json_array_foreach(logs, i, log)
    {
        if (rc) break;
        unsigned char *d = NULL;
        size_t dl = 0;
        bh_hash32 digest;
        if (bh_rpc_read_hash(&digest, json_array_get(json_object_get(log, "topics"), 1)) != BH_OK ||
            log_data(log, &d, &dl) != 0 || decode(v + i * size, log, &digest, d, dl) != 0)
            rc = fail("undecodable %s log on %s", what, w->ch[chain].name);
        free(d);
    }
    json_decref(logs);
    if (rc) {
        free(v);
        return -1;
    }
    *out = v;
    *n = cnt;
    return 0;
}

static int decode_executed(void *item, const json_t *log, const bh_hash32 *digest,
                           const unsigned char *d, size_t dl)
{
    nh_executed *e = item;
    if (bh_rpc_member_quantity(&e->block, log, "blockNumber") != BH_OK) return -1;
    uint64_t ec = 0;
    bh_u256 amt;
    e->digest = *digest;
    if (bh_abi_read_u64(&ec, d, dl, 0) != BH_OK ||
        bh_abi_read_u64(&e->sequence, d, dl, 1) != BH_OK ||
        bh_abi_read_address(&e->token, d, dl, 2) != BH_OK ||
        bh_abi_read_address(&e->to, d, dl, 3) != BH_OK ||
        bh_abi_read_u256(&amt, d, dl, 4) != BH_OK || u256_to_u128(&e->amount, &amt) != 0)
        return -1;
    e->emitter_chain = (uint16_t)ec;
    return 0;
}

int nh_interval_mining(nh_world *w, size_t chain, unsigned seconds)
{
    const char *url = w->ch[chain].anvil.url;
    json_t *r = it_rpc(url, "evm_setAutomine", json_pack("[b]", 0));
    if (!r) return fail("evm_setAutomine on %s", w->ch[chain].name);
    json_decref(r);
    r = it_rpc(url, "evm_setIntervalMining", json_pack("[I]", (json_int_t)seconds));
    if (!r) return fail("evm_setIntervalMining on %s", w->ch[chain].name);
    json_decref(r);
    return 0;
}

int nh_executed_logs(nh_world *w, size_t chain, nh_executed **out, size_t *n)
{
    void *v = NULL;
    int rc = decode_logs(w, chain, "Executed(bytes32,uint16,uint64,address,address,uint256)",
                         "Executed", sizeof **out, decode_executed, &v, n);
    *out = v;
    return rc;
}

static int decode_approved(void *item, const json_t *log, const bh_hash32 *digest,
                           const unsigned char *d, size_t dl)
{
    (void)log;
    nh_approved *a = item;
    uint64_t si = 0, c = 0;
    a->digest = *digest;
    if (bh_abi_read_u64(&si, d, dl, 0) != BH_OK || bh_abi_read_u64(&c, d, dl, 1) != BH_OK)
        return -1;
    a->signer_index = (unsigned)si;
    a->count = (unsigned)c;
    return 0;
}

int nh_approved_logs(nh_world *w, size_t chain, nh_approved **out, size_t *n)
{
    void *v = NULL;
    int rc = decode_logs(w, chain, "Approved(bytes32,uint8,uint256)", "Approved", sizeof **out,
                         decode_approved, &v, n);
    *out = v;
    return rc;
}

/* ---- attacks ---- */

int nh_deploy_rogue(bh_evm_sender *s, uint16_t bridge_id, const bh_address *attesters,
                    size_t n_attesters, unsigned quorum, bh_address *out)
{
    bh_abi a;
    bh_abi_init(&a, NULL, 4);
    bh_abi_uint(&a, bridge_id);
    bh_abi_uint(&a, 0);
    bh_abi_address_array(&a, attesters, n_attesters);
    bh_abi_uint(&a, quorum);
    unsigned char *ctor = NULL;
    size_t len = 0;
    int rc = bh_abi_finish(&a, &ctor, &len);
    bh_abi_clear(&a);
    if (rc != BH_OK) return fail("RoguePortal constructor encoding");
    rc = nh_deploy(s, bh_test_contract_rogueportal_bin, ctor, len, out);
    free(ctor);
    return rc;
}

int nh_forge_send(bh_evm_sender *s, bh_evm_receipt *r, const bh_address *portal, int burn,
                  const bh_address *token, uint16_t token_chain, uint16_t to_chain,
                  const bh_address *rcpt, bh_u128 amount, bh_u128 fee)
{
    bh_bytes32 t, to;
    bh_address_to_bytes32(&t, token);
    bh_address_to_bytes32(&to, rcpt);
    bh_u256 a, f;
    bh_u256_from_u128(&a, amount);
    bh_u256_from_u128(&f, fee);
    bh_abi x;
    bh_abi_init(&x,
                burn ? "forgeBurn(bytes32,uint16,uint16,bytes32,uint256,uint256)"
                     : "forgeLock(bytes32,uint16,uint16,bytes32,uint256,uint256)",
                6);
    bh_abi_bytes32(&x, &t);
    bh_abi_uint(&x, token_chain);
    bh_abi_uint(&x, to_chain);
    bh_abi_bytes32(&x, &to);
    bh_abi_u256(&x, &a);
    bh_abi_u256(&x, &f);
    return send_abi(s, r, portal, &x, burn ? "forgeBurn" : "forgeLock");
}

int nh_rogue_forge(nh_world *w, int burn, const bh_address *token, uint16_t token_chain, size_t to,
                   const bh_address *rcpt, bh_u128 amount, bh_u128 fee)
{
    if (!w->o.rogue_c) return fail("chain C does not run a RoguePortal");
    nh_chain *c = &w->ch[NH_C];
    return nh_forge_send(c->attacker, NULL, &c->portal, burn, token, token_chain,
                         w->ch[to].bridge_id, rcpt, amount, fee);
}

size_t nh_transfer_body(const nh_world *w, unsigned char *body, size_t cap, uint64_t seq,
                        const bh_address *to)
{
    bh_transfer t;
    memset(&t, 0, sizeof t);
    bh_u256_from_u128(&t.amount, 1);
    bh_address_to_bytes32(&t.token, &w->tka);
    t.token_chain = 1;
    bh_address_to_bytes32(&t.to, to);
    t.to_chain = 2;
    unsigned char payload[BH_TRANSFER_LEN];
    bh_transfer_serialize(payload, &t);
    bh_vaa_body b;
    memset(&b, 0, sizeof b);
    b.timestamp = 1;
    b.nonce = (uint32_t)seq;
    b.emitter_chain = 1;
    bh_address_to_bytes32(&b.emitter, &w->ch[NH_A].portal);
    b.sequence = seq;
    b.consistency = BH_CONSISTENCY_FINALIZED;
    b.payload = payload;
    b.payload_len = sizeof payload;
    size_t len = 0;
    if (bh_vaa_body_serialize(body, cap, &len, &b) != BH_OK) return 0;
    return len;
}

int nh_flooder(nh_world *w, size_t chain, bh_address *out)
{
    nh_chain *c = &w->ch[chain];
    if (is_zero_addr(&w->flooder[chain]) &&
        nh_deploy(c->flooder_s, bh_test_contract_flooder_bin, NULL, 0, &w->flooder[chain]) != 0)
        return -1;
    if (out) *out = w->flooder[chain];
    return 0;
}

/* n Flooder calls of `sig` (portal, token, k, amount, to chain, rcpt), per_tx at a time,
 * all sent at consecutive nonces before any is waited for (a burst: under
 * interval mining they share blocks, as far as the block gas allows). */
static int flood_calls(nh_world *w, size_t from, const char *sig, const bh_address *token,
                       unsigned n, unsigned per_tx, bh_u128 amount, size_t to,
                       const bh_bytes32 *rcpt)
{
    nh_chain *c = &w->ch[from];
    if (nh_flooder(w, from, NULL) != 0) return -1;
    bh_u256 a;
    bh_u256_from_u128(&a, amount);
    size_t n_tx = per_tx ? (n + per_tx - 1) / per_tx : 0, sent = 0;
    bh_evm_pending *p = calloc(n_tx ? n_tx : 1, sizeof *p);
    if (!p) return fail("flood: out of memory");
    int rc = 0;
    for (unsigned done = 0; done < n && !rc; sent++) {
        unsigned k = n - done < per_tx ? n - done : per_tx;
        bh_abi x;
        bh_abi_init(&x, sig, 6);
        bh_abi_address(&x, &c->portal);
        bh_abi_address(&x, token);
        bh_abi_uint(&x, k);
        bh_abi_u256(&x, &a);
        bh_abi_uint(&x, w->ch[to].bridge_id);
        bh_abi_bytes32(&x, rcpt);
        unsigned char *data = NULL;
        size_t len = 0;
        int e = bh_abi_finish(&x, &data, &len);
        bh_abi_clear(&x);
        if (e == BH_OK)
            e = bh_evm_sender_begin(c->flooder_s, &p[sent], &w->flooder[from], NULL, data, len, 0);
        free(data);
        if (e != BH_OK) rc = fail("%s: %s (%d)", sig, bh_evm_sender_last_error(c->flooder_s), e);
        done += k;
    }
    if (rc) sent--; /* the one that failed holds nothing */
    uint64_t end = nh_now_ms() + 120000;
    for (size_t left = sent; !rc && left;) {
        left = 0;
        for (size_t i = 0; i < sent && !rc; i++) {
            if (!p[i].n_hashes) continue; /* mined */
            int e = bh_evm_sender_check(c->flooder_s, &p[i], NULL);
            if (e == BH_OK)
                bh_evm_pending_clear(&p[i]);
            else if (e == BH_EREVERTED || e == BH_ETIMEOUT)
                rc = fail("%s: %s (%d)", sig, bh_evm_sender_last_error(c->flooder_s), e);
            else
                left++;
        }
        if (left && nh_now_ms() > end) rc = fail("%s: not mined in 120 s", sig);
        if (left && !rc) nh_sleep_ms(20);
    }
    for (size_t i = 0; i < sent; i++)
        bh_evm_pending_clear(&p[i]);
    free(p);
    return rc;
}

int nh_flood_raw(nh_world *w, size_t from, const bh_address *token, unsigned n, unsigned per_tx,
                 bh_u128 amount, size_t to, const bh_bytes32 *rcpt)
{
    return flood_calls(w, from, "flood(address,address,uint256,uint256,uint16,bytes32)", token, n,
                       per_tx, amount, to, rcpt);
}

int nh_flood(nh_world *w, size_t from, const bh_address *token, unsigned n, unsigned per_tx,
             bh_u128 amount, size_t to, const bh_address *rcpt)
{
    bh_bytes32 r;
    bh_address_to_bytes32(&r, rcpt);
    return nh_flood_raw(w, from, token, n, per_tx, amount, to, &r);
}

int nh_flood_burn(nh_world *w, size_t from, const bh_address *wrapped, unsigned n, unsigned per_tx,
                  bh_u128 amount, size_t to, const bh_bytes32 *rcpt)
{
    return flood_calls(w, from, "floodBurn(address,address,uint256,uint256,uint16,bytes32)",
                       wrapped, n, per_tx, amount, to, rcpt);
}

/* ---- vaultctl ---- */

int nh_vaultctl(const nh_world *w, unsigned id, char **out, const char *const *args)
{
    const nh_node *n = &w->node[id - 1];
    if (out) *out = NULL;
    const char *argv[32] = {w->o.vaultctl, "-d", n->data_dir};
    int argc = 3;
    for (int i = 0; args[i] && argc < 31; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    int p[2];
    if (pipe(p) != 0) return fail("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return fail("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (; buf;) {
        if (len + 1024 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(p[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(p[0]);
    if (buf) buf[len] = '\0';
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

json_t *nh_vaultctl_data(const char *out)
{
    json_t *env = out ? json_loads(out, 0, NULL) : NULL;
    json_t *d = json_is_boolean(json_object_get(env, "ok")) ? json_object_get(env, "data") : NULL;
    if (json_is_null(d)) d = NULL;
    json_incref(d);
    json_decref(env);
    return d;
}

int nh_same_address(const char *printed, const bh_address *a)
{
    bh_bytes32 have, want;
    size_t n = printed ? strlen(printed) : 0;
    if (n >= 2 && printed[0] == '0' && (printed[1] == 'x' || printed[1] == 'X'))
        printed += 2, n -= 2;
    memset(&have, 0, sizeof have);
    if (n == 40) {
        if (bh_hex_decode_exact(have.data + 12, 20, printed, n) != BH_OK) return 0;
    } else if (n != 64 || bh_hex_decode_exact(have.data, 32, printed, n) != BH_OK) {
        return 0;
    }
    bh_address_to_bytes32(&want, a);
    return memcmp(&have, &want, 32) == 0;
}

json_t *nh_vault_show(const nh_world *w, unsigned id, const char *vault)
{
    char *out = NULL;
    const char *args[] = {"show", vault, "--json", NULL};
    int st = nh_vaultctl(w, id, &out, args);
    json_t *j = st == 0 ? nh_vaultctl_data(out) : NULL;
    if (!j) fail("vaultctl show %s exited %d: %s", vault, st, out ? out : "");
    free(out);
    return j;
}

static int dec_member(bh_u128 *out, const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s || bh_u128_from_dec(out, s, strlen(s)) != BH_OK)
        return fail("vault show: %s is not a decimal string", key);
    return 0;
}

int nh_vault_amounts(const json_t *show, const bh_address *token, bh_u128 *locked,
                     bh_u128 outstanding[NH_MAX_CHAINS + 1])
{
    *locked = 0;
    for (int i = 0; i <= NH_MAX_CHAINS; i++)
        outstanding[i] = 0;
    size_t i;
    json_t *asset;
    json_array_foreach(json_object_get(show, "assets"), i, asset)
    {
        if (!nh_same_address(json_string_value(json_object_get(asset, "token")), token)) continue;
        if (dec_member(locked, asset, "locked") != 0) return -1;
        size_t k;
        json_t *lane;
        json_array_foreach(json_object_get(asset, "lanes"), k, lane)
        {
            json_int_t ch = json_integer_value(json_object_get(lane, "chain"));
            if (ch < 1 || ch > NH_MAX_CHAINS) continue;
            if (dec_member(&outstanding[ch], lane, "outstanding") != 0) return -1;
        }
        return 0;
    }
    return fail("vault show: token not registered");
}

int nh_vault_outbox_depth(const nh_world *w, unsigned id, const char *vault, size_t *depth)
{
    const nh_node *n = &w->node[id - 1];
    bh_vault_opts o = {.read_only = 1};
    bh_vault *v = NULL;
    char why[256];
    *depth = 0;
    if (bh_vault_open(&v, n->data_dir, vault, &o, why, sizeof why) != BH_OK)
        return fail("open vault %s: %s", vault, why);
    static bh_vault_outbox_entry e[4096];
    size_t cnt = 0;
    int rc = bh_vault_outbox_peek(v, e, sizeof e / sizeof e[0], &cnt);
    bh_vault_close(v);
    if (rc != BH_OK) return fail("outbox peek %s: %d", vault, rc);
    *depth = cnt;
    return 0;
}

long nh_vault_journal_count(const nh_world *w, unsigned id, const char *vault, const char *kind)
{
    char *out = NULL;
    const char *args[] = {"journal", vault, "--json", NULL};
    int st = nh_vaultctl(w, id, &out, args);
    json_t *j = st == 0 ? nh_vaultctl_data(out) : NULL;
    free(out);
    if (!json_is_array(j)) {
        json_decref(j);
        return fail("vaultctl journal %s failed (%d)", vault, st);
    }
    long count = 0;
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e)
    {
        const char *k = json_string_value(json_object_get(e, "kind"));
        if (!kind || (k && strcmp(k, kind) == 0)) count++;
    }
    json_decref(j);
    return count;
}

/* ---- adversary helpers ---- */

int nh_dev_address(nh_world *w, unsigned key_index, bh_address *out)
{
    if (key_index >= 10 || !w->ctx) return fail("no dev key #%u", key_index);
    bh_seckey k;
    it_key(&k, anvil_keys[key_index]);
    int rc = bh_attest_address(w->ctx, out, &k);
    bh_seckey_clear(&k);
    return rc == BH_OK ? 0 : fail("address of dev key #%u", key_index);
}

int nh_send_call(bh_evm_sender *s, bh_evm_receipt *r, const bh_address *to, bh_abi *a,
                 const char *what)
{
    bh_evm_receipt mine;
    int rc = send_abi(s, r ? r : &mine, to, a, what);
    if (rc == 0 && !r) bh_evm_receipt_clear(&mine);
    return rc;
}

int nh_send_unlocked(nh_world *w, size_t chain, unsigned key_index, const bh_address *to,
                     const unsigned char *data, size_t len, uint64_t gas, char tx_hash[67])
{
    bh_address from;
    if (nh_dev_address(w, key_index, &from) != 0) return -1;
    char f[43], t[43], g[19];
    addr_hex(f, &from);
    addr_hex(t, to);
    bh_rpc_format_quantity(g, gas);
    char *hex = malloc(2 * len + 3);
    if (!hex) return fail("out of memory");
    hex[0] = '0';
    hex[1] = 'x';
    bh_hex_encode(hex + 2, data, len);
    hex[2 + 2 * len] = '\0';
    json_t *r = it_rpc(w->ch[chain].anvil.url, "eth_sendTransaction",
                       json_pack("[{s:s,s:s,s:s,s:s}]", "from", f, "to", t, "gas", g, "data", hex));
    free(hex);
    const char *h = json_string_value(r);
    int rc = h && strlen(h) == 66 ? 0 : -1;
    if (rc == 0) snprintf(tx_hash, 67, "%s", h);
    json_decref(r);
    return rc ? fail("eth_sendTransaction on %s failed", w->ch[chain].name) : 0;
}

int nh_wait_receipt(nh_world *w, size_t chain, const char *tx_hash, unsigned timeout_ms,
                    uint64_t *block, int *ok)
{
    uint64_t end = nh_now_ms() + timeout_ms;
    for (;;) {
        json_t *r =
            it_rpc(w->ch[chain].anvil.url, "eth_getTransactionReceipt", json_pack("[s]", tx_hash));
        if (json_is_object(r)) {
            uint64_t b = 0, st = 0;
            int got = bh_rpc_read_quantity(&b, json_object_get(r, "blockNumber")) == BH_OK &&
                      bh_rpc_read_quantity(&st, json_object_get(r, "status")) == BH_OK;
            json_decref(r);
            if (!got) return fail("receipt of %s on %s is unreadable", tx_hash, w->ch[chain].name);
            if (block) *block = b;
            if (ok) *ok = st == 1;
            return 0;
        }
        json_decref(r);
        if (nh_now_ms() > end) break;
        nh_sleep_ms(25);
    }
    return fail("no receipt of %s on %s within %u ms", tx_hash, w->ch[chain].name, timeout_ms);
}

int nh_node_enable_metrics(nh_world *w, unsigned id)
{
    json_t *cfg = nh_node_config(w, id);
    if (!cfg) return -1;
    json_object_set_new(
        cfg, "metrics",
        json_pack("{s:s,s:i,s:i}", "bind", "127.0.0.1", "port", 0, "snapshot_interval_s", 1));
    return nh_node_write_config(w, id, cfg);
}

int nh_node_metrics_port(nh_world *w, unsigned id, unsigned timeout_ms, int *port)
{
    nh_node *n = node_of(w, id);
    if (!n) return fail("no node %u", id);
    uint64_t end = nh_now_ms() + timeout_ms;
    for (;;) {
        char *text = read_file(n->log, n->log_mark);
        const char *line = text ? strstr(text, "event=metrics_listening") : NULL;
        char v[16];
        int rc = line ? nh_log_field(line, "port", v, sizeof v) : -1;
        free(text);
        if (rc == 0) {
            *port = atoi(v);
            return *port > 0 ? 0 : fail("node %u logged port %s", id, v);
        }
        if (nh_now_ms() > end) break;
        nh_sleep_ms(50);
    }
    return fail("node %u logged no event=metrics_listening within %u ms", id, timeout_ms);
}

int nh_http_get(int port, const char *path, int *status, char **body)
{
    *status = 0;
    *body = NULL;
    CURL *c = curl_easy_init();
    if (!c) return fail("curl_easy_init");
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    FILE *mem = NULL;
    size_t len = 0;
    char *buf = NULL;
    mem = open_memstream(&buf, &len);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    fclose(mem);
    if (rc != CURLE_OK) {
        free(buf);
        return fail("GET %s: %s", url, curl_easy_strerror(rc));
    }
    *status = (int)code;
    *body = buf;
    return 0;
}

int nh_metric(const char *text, const char *family, const char *const *labels, double *value)
{
    size_t fl = strlen(family);
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > fl && !memcmp(line, family, fl) && (line[fl] == '{' || line[fl] == ' ')) {
            const char *close = line[fl] == '{' ? memchr(line, '}', len) : line + fl;
            int all = close != NULL;
            for (size_t i = 0; all && labels && labels[i]; i++) {
                size_t ll = strlen(labels[i]);
                all = 0;
                for (const char *p = line + fl; p + ll <= close; p++)
                    if (!memcmp(p, labels[i], ll) && (p[-1] == '{' || p[-1] == ',') &&
                        (p[ll] == ',' || p[ll] == '}')) {
                        all = 1;
                        break;
                    }
            }
            if (all) {
                *value = strtod(close + (line[fl] == '{'), NULL);
                return 0;
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return -1;
}

/* ---- supply reconciliation ---- */

int nh_rogue_mint(nh_world *w, size_t chain, const bh_address *wrapped, const bh_address *to,
                  bh_u128 amount, uint64_t *block)
{
    const char *url = w->ch[chain].anvil.url;
    char p[43], t[43], g[19];
    addr_hex(p, &w->ch[chain].portal);
    addr_hex(t, wrapped);
    bh_rpc_format_quantity(g, 200000);
    json_t *r = it_rpc(url, "anvil_impersonateAccount", json_pack("[s]", p));
    json_decref(r);
    r = it_rpc(url, "anvil_setBalance", json_pack("[s,s]", p, "0x56BC75E2D63100000"));
    json_decref(r);
    bh_abi a;
    bh_abi_init(&a, "mint(address,uint256)", 2);
    bh_abi_address(&a, to);
    bh_u256 v;
    bh_u256_from_u128(&v, amount);
    bh_abi_u256(&a, &v);
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = bh_abi_finish(&a, &data, &len);
    bh_abi_clear(&a);
    if (rc != BH_OK) return fail("mint: cannot encode");
    char *hex = malloc(2 * len + 3);
    if (!hex) {
        free(data);
        return fail("out of memory");
    }
    hex[0] = '0';
    hex[1] = 'x';
    bh_hex_encode(hex + 2, data, len);
    hex[2 + 2 * len] = '\0';
    free(data);
    r = it_rpc(url, "eth_sendTransaction",
               json_pack("[{s:s,s:s,s:s,s:s}]", "from", p, "to", t, "gas", g, "data", hex));
    free(hex);
    char tx[67] = "";
    const char *h = json_string_value(r);
    if (h && strlen(h) == 66) snprintf(tx, sizeof tx, "%s", h);
    json_decref(r);
    if (!tx[0]) return fail("rogue mint on %s: eth_sendTransaction failed", w->ch[chain].name);
    int ok = 0;
    if (nh_wait_receipt(w, chain, tx, 10000, block, &ok) != 0) return -1;
    r = it_rpc(url, "anvil_stopImpersonatingAccount", json_pack("[s]", p));
    json_decref(r);
    return ok ? 0 : fail("rogue mint on %s reverted", w->ch[chain].name);
}

int nh_transfer_to_portal(nh_world *w, size_t chain, const bh_address *token, bh_u128 amount)
{
    bh_abi a;
    bh_abi_init(&a, "transfer(address,uint256)", 2);
    bh_abi_address(&a, &w->ch[chain].portal);
    bh_u256 v;
    bh_u256_from_u128(&v, amount);
    bh_abi_u256(&a, &v);
    return nh_send_call(w->ch[chain].user, NULL, token, &a, "transfer into the Portal");
}

int nh_wait_mined(nh_world *w, size_t chain, const char *tx_hash, unsigned timeout_ms,
                  uint64_t *block)
{
    uint64_t end = nh_now_ms() + timeout_ms;
    for (;;) {
        json_t *r =
            it_rpc(w->ch[chain].anvil.url, "eth_getTransactionByHash", json_pack("[s]", tx_hash));
        json_t *bn = json_is_object(r) ? json_object_get(r, "blockNumber") : NULL;
        if (bn && !json_is_null(bn)) {
            int got = bh_rpc_read_quantity(block, bn) == BH_OK;
            json_decref(r);
            if (!got)
                return fail("transaction %s on %s: unreadable block", tx_hash, w->ch[chain].name);
            return 0;
        }
        json_decref(r);
        if (nh_now_ms() > end) break;
        nh_sleep_ms(25);
    }
    return fail("%s not mined on %s within %u ms", tx_hash, w->ch[chain].name, timeout_ms);
}

int nh_portal_sequence(nh_world *w, size_t chain, uint64_t *out)
{
    unsigned char sel[4];
    bh_abi_selector(sel, "sequence()");
    char data[11] = "0x", to[43] = "0x";
    bh_hex_encode(data + 2, sel, 4);
    bh_hex_encode(to + 2, w->ch[chain].portal.data, 20);
    json_t *r = it_rpc(w->ch[chain].anvil.url, "eth_call",
                       json_pack("[{s:s,s:s},s]", "to", to, "data", data, "latest"));
    unsigned char word[32];
    size_t n = 0;
    int ok = json_is_string(r) &&
             bh_hex_decode(word, sizeof word, &n, json_string_value(r) + 2,
                           strlen(json_string_value(r) + 2)) == BH_OK &&
             n == 32 && bh_abi_read_u64(out, word, 32, 0) == BH_OK;
    json_decref(r);
    return ok ? 0 : fail("Portal.sequence() on %s unreadable", w->ch[chain].name);
}
