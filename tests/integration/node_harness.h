/* End-to-end harness: the relayer node (`bulkhead run`) as a child process
 * against real anvil chains A, B, C (it_harness starts them).
 *
 * A world is up to three chains that keep mining (anvil --mixed-mining with
 * a sub-second --block-time: transactions mine at once and empty blocks keep
 * coming, so N confirmations accrue without help), a Portal on each (bridge
 * ids 1, 2, 3, remotes registered both ways; optionally a RoguePortal on C),
 * test tokens TKA (home A), TKB (home B) and optionally TKC (home C) minted
 * to one user, and up to three nodes, each with its own directory holding
 * its 0600 key files, config, data dir and log (stderr of the child).
 *
 * Every helper returns 0 on success and -1 after printing why on stderr
 * (wait helpers name what they waited for, the last value seen, and print
 * the tail of every node's log), so a test asserts `== 0` and the ctest
 * output tells the story. Not thread-safe: one test thread drives a world.
 *
 * Keys: anvil's funded dev keys: #0 deployer (owns the Portals), #1 the
 * user, #2..#4 the transaction keys of nodes 1..3, #5 the attacker on C,
 * #6 free (benchmarks), #7 the flooder. Attester i (1-based) is
 * it_test_key(i). */
#ifndef BH_NODE_HARNESS_H
#define BH_NODE_HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bh_abi.h"
#include "bh_attest.h"
#include "bh_evm_sender.h"
#include "bh_rpc.h"
#include "bh_types.h"
#include "it_harness.h"

#define NH_A 0 /* chain indices; bridge id = index + 1 */
#define NH_B 1
#define NH_C 2
#define NH_MAX_CHAINS 3
#define NH_MAX_NODES 3
#define NH_PATH 512
#define NH_TMP 256

/* anvil dev key #i (0..9), 64 hex digits. */
const char *nh_anvil_key(unsigned i);

typedef struct {
    char name[16]; /* vault / config name: alpha, beta, gamma */
    uint16_t bridge_id;
    it_anvil anvil;
    bh_rpc *rpc;              /* the harness's reads */
    bh_evm_sender *deployer;  /* key #0 */
    bh_evm_sender *user;      /* key #1 */
    bh_evm_sender *attacker;  /* key #5 */
    bh_evm_sender *flooder_s; /* key #7 */
    bh_address portal;
    uint64_t start_block; /* head when the Portal was deployed */
} nh_chain;

typedef struct {
    int prepared;
    unsigned id; /* 1-based */
    char dir[NH_PATH];
    char data_dir[NH_PATH];
    char cfg[NH_PATH];
    char log[NH_PATH];
    unsigned signer_index;
    bh_address tx_addr; /* its transaction key's address (anvil key #1+id) */
    pid_t pid;
    off_t log_mark; /* log size when it was last started */
    unsigned starts;
    int exit_status; /* of the last run once reaped: 0..255, 128 + signal; -1 before */
} nh_node;

typedef struct {
    size_t n_chains;        /* 2 or 3 */
    unsigned n_attesters;   /* 1..3; attesters are it_test_key(1..n) */
    unsigned quorum;        /* the Portals' quorum */
    int rogue_c;            /* chain C runs a RoguePortal */
    int tkc;                /* deploy TKC (home C) and mint it to the user */
    unsigned confirmations; /* 0: 2 */
    unsigned block_ms;      /* interval mining; 0: 200 */
    const char *bulkhead;   /* path of the bulkhead binary */
    const char *vaultctl;   /* path of vaultctl */
    uint64_t evm_id_base;   /* EVM chain ids base+1..3; 0: 7000 */
} nh_opts;

typedef struct {
    nh_opts o;
    char tmp[NH_TMP];
    bh_attest *ctx;
    nh_chain ch[NH_MAX_CHAINS];
    size_t n_chains;
    bh_seckey att[NH_MAX_NODES];
    bh_address att_addr[NH_MAX_NODES];
    bh_address tka, tkb, tkc; /* native tokens on A, B, C */
    bh_address user;          /* the same address on every chain */
    bh_address attacker;
    bh_address flooder[NH_MAX_CHAINS]; /* Flooder contract per chain (zero until used) */
    nh_node node[NH_MAX_NODES];
    char last_tx[67];    /* the last nh_lock / nh_burn: its transaction (0x hex) */
    uint64_t last_block; /* and its block */
} nh_world;

/* Start the chains, deploy and wire the Portals and tokens, mint
 * 1,000,000 * 10^18 of each native token to the user, make the temp dir. */
int nh_world_start(nh_world *w, const nh_opts *o);

/* Stop every chain and start it fresh on the same port and EVM chain id,
 * deployed the same way (same Portal and token addresses, new genesis, no
 * history): a chain reset behind a node's back. Nodes are left alone. */
int nh_world_restart_chains(nh_world *w);

/* Kill every node still running (SIGKILL), stop the chains, remove the temp
 * dir (kept if BH_E2E_KEEP is set in the environment). Safe on a partly
 * started world and twice. */
void nh_world_stop(nh_world *w);

/* ---- nodes ---- */

/* Node `id` (1..3): write its attester key (attester NULL: it_test_key of
 * signer_index + 1), its transaction key (anvil #1+id), and its default
 * config: every chain (confirmations, poll_ms 100, the chain's native token
 * as an asset without limits), breaker defaults, log to stderr. */
int nh_node_prepare(nh_world *w, unsigned id, unsigned signer_index, const bh_seckey *attester);

/* The node's current config as JSON (caller decrefs), to edit and write back
 * with nh_node_write_config (which steals cfg). */
json_t *nh_node_config(const nh_world *w, unsigned id);
int nh_node_write_config(nh_world *w, unsigned id, json_t *cfg);

/* Replace the node's attester key file (e.g. with a key outside the set). */
int nh_node_set_attester(nh_world *w, unsigned id, const bh_seckey *attester);

/* Spawn `bulkhead run -c CFG` (stdout and stderr appended to its log) and
 * wait until the log shows event=started. */
int nh_node_start(nh_world *w, unsigned id, unsigned timeout_ms);

/* SIGTERM and wait (up to timeout_ms, then SIGKILL). Returns the exit status
 * (0..255), 128 + signal if it died by one, -1 if it had to be killed. */
int nh_node_stop(nh_world *w, unsigned id, unsigned timeout_ms);

/* SIGKILL and reap. */
void nh_node_kill(nh_world *w, unsigned id);

/* 1 if the node process is running (reaping it sets exit_status). */
int nh_node_running(nh_world *w, unsigned id);

/* The node's whole log (heap, caller frees; "" if none). */
char *nh_node_log(const nh_world *w, unsigned id);

/* Lines of text containing every needle (NULL-terminated list). */
size_t nh_log_count(const char *text, const char *const *needles);

/* Wait until the node's log has at least `count` lines with every needle. */
int nh_log_wait(nh_world *w, unsigned id, const char *const *needles, size_t count,
                unsigned timeout_ms);

/* Value of key=VALUE in a log line (up to the next space or end of line).
 * Returns 0 and copies it, or -1 if absent. */
int nh_log_field(const char *line, const char *key, char *out, size_t cap);

/* Print the last `lines` lines of every prepared node's log to stderr. */
void nh_dump_logs(const nh_world *w, unsigned lines);

/* ---- chains ---- */

uint64_t nh_now_ms(void);
void nh_sleep_ms(unsigned ms);

/* The user locks `amount` of native `token` on chain `from` towards chain
 * `to` for recipient `rcpt` with `fee` (approve + lock).
 * Out: seq  the Portal sequence (may be NULL). */
int nh_lock(nh_world *w, size_t from, const bh_address *token, bh_u128 amount, size_t to,
            const bh_address *rcpt, bh_u128 fee, uint64_t *seq);

/* The user burns `amount` of `wrapped` on chain `from` towards chain `to`. */
int nh_burn(nh_world *w, size_t from, const bh_address *wrapped, bh_u128 amount, size_t to,
            const bh_address *rcpt, bh_u128 fee, uint64_t *seq);

/* Wrapped address of (home, token) on chain `on`; zero if not created yet. */
int nh_wrapped(nh_world *w, size_t on, size_t home, const bh_address *token, bh_address *out);
int nh_wait_wrapped(nh_world *w, size_t on, size_t home, const bh_address *token, bh_address *out,
                    unsigned timeout_ms);

int nh_balance(nh_world *w, size_t chain, const bh_address *token, const bh_address *holder,
               bh_u128 *out);
int nh_total_supply(nh_world *w, size_t chain, const bh_address *token, bh_u128 *out);
/* Portal(chain).outstanding(token, lane). */
int nh_portal_outstanding(nh_world *w, size_t chain, const bh_address *token, size_t lane,
                          bh_u128 *out);

/* Wait until balanceOf(holder) == expect exactly. Fails at once if the
 * balance goes past expect (something was delivered twice or forged).
 * what: a few words for the failure message. Out: ms  time waited (may be
 * NULL). */
int nh_wait_balance(nh_world *w, size_t chain, const bh_address *token, const bh_address *holder,
                    bh_u128 expect, unsigned timeout_ms, const char *what, uint64_t *ms);

/* Executed(digest, emitterChain, sequence, token, to, amount) logs of the
 * Portal on `chain` since its deployment. *out heap (free()). */
typedef struct {
    bh_hash32 digest;
    uint16_t emitter_chain;
    uint64_t sequence;
    bh_address token;
    bh_address to;
    bh_u128 amount;
    uint64_t block; /* the block it was executed in */
} nh_executed;
int nh_executed_logs(nh_world *w, size_t chain, nh_executed **out, size_t *n);

/* Approved(digest, signerIndex, count) logs of the Portal on `chain`. */
typedef struct {
    bh_hash32 digest;
    unsigned signer_index;
    unsigned count;
} nh_approved;
int nh_approved_logs(nh_world *w, size_t chain, nh_approved **out, size_t *n);

/* Switch chain to pure interval mining: transactions wait for the next
 * block, one every `seconds` (anvil evm_setAutomine false +
 * evm_setIntervalMining). Returns 0 or -1. */
int nh_interval_mining(nh_world *w, size_t chain, unsigned seconds);

/* Deploy a contract from hex creation code + constructor encoding. */
int nh_deploy(bh_evm_sender *s, const char *bin_hex, const unsigned char *ctor, size_t ctor_len,
              bh_address *out);

/* ---- the compromised chain C (RoguePortal) ---- */

/* Deploy a RoguePortal (bridge id, attester set 0) with sender s. */
int nh_deploy_rogue(bh_evm_sender *s, uint16_t bridge_id, const bh_address *attesters,
                    size_t n_attesters, unsigned quorum, bh_address *out);

/* Send RoguePortal(portal).forgeBurn (burn = 1) or forgeLock from s; r may be
 * NULL, else cleared with bh_evm_receipt_clear. */
int nh_forge_send(bh_evm_sender *s, bh_evm_receipt *r, const bh_address *portal, int burn,
                  const bh_address *token, uint16_t token_chain, uint16_t to_chain,
                  const bh_address *rcpt, bh_u128 amount, bh_u128 fee);

/* The attacker makes C's RoguePortal emit a TransferOut with nothing behind
 * it: kind 0 = lock, 1 = burn. token is the 32-byte token id as it would be
 * on the wire (an address left-padded). */
int nh_rogue_forge(nh_world *w, int burn, const bh_address *token, uint16_t token_chain, size_t to,
                   const bh_address *rcpt, bh_u128 amount, bh_u128 fee);

/* n real locks of `amount` of TestToken `token` on chain `from` towards `to`
 * (recipient rcpt), per_tx of them per transaction, by the Flooder contract
 * of that chain (deployed on first use). */
int nh_flood(nh_world *w, size_t from, const bh_address *token, unsigned n, unsigned per_tx,
             bh_u128 amount, size_t to, const bh_address *rcpt);
/* The same with a raw 32-byte recipient (e.g. one that is no address). */
int nh_flood_raw(nh_world *w, size_t from, const bh_address *token, unsigned n, unsigned per_tx,
                 bh_u128 amount, size_t to, const bh_bytes32 *rcpt);
/* n real burns of `amount` of `wrapped` on chain `from` towards `to` by the
 * Flooder of that chain, which must hold n * amount of it (make it the
 * recipient of a transfer first: nh_flooder gives its address). */
int nh_flood_burn(nh_world *w, size_t from, const bh_address *wrapped, unsigned n, unsigned per_tx,
                  bh_u128 amount, size_t to, const bh_bytes32 *rcpt);
/* The body of a transfer of 1 raw unit of TKA from A to `to` on B at
 * sequence seq, as A's Portal would emit it (for VAAs the nodes never saw).
 * Returns its length, 0 if cap is too small. */
size_t nh_transfer_body(const nh_world *w, unsigned char *body, size_t cap, uint64_t seq,
                        const bh_address *to);
/* The Flooder contract on `chain`, deployed by key #7 on first use. out may be NULL. */
int nh_flooder(nh_world *w, size_t chain, bh_address *out);

/* ---- vaultctl on a node's data dir ---- */

/* Run vaultctl -d DATA_DIR args... (NULL-terminated). Returns the exit
 * status; *out (if non-NULL) receives stdout (heap, caller frees). */
int nh_vaultctl(const nh_world *w, unsigned id, char **out, const char *const *args);

/* The "data" of the JSON envelope a `vaultctl ... --json` printed in out
 * ({"ok": ..., "data": ...}; an audit that disagrees has data and ok
 * false), new reference (caller decrefs); NULL when out is no envelope or
 * has no data. */
json_t *nh_vaultctl_data(const char *out);

/* A token or address as vaultctl prints it (0x and 20 bytes, or 32 bytes
 * of which the first 12 are zero) equals a. Returns 1 or 0. */
int nh_same_address(const char *printed, const bh_address *a);

/* `vaultctl show VAULT --json` parsed (caller decrefs), NULL on failure. */
json_t *nh_vault_show(const nh_world *w, unsigned id, const char *vault);

/* From a show document: locked and outstanding[lane chain id 1..3] of
 * token (missing lanes are 0). */
int nh_vault_amounts(const json_t *show, const bh_address *token, bh_u128 *locked,
                     bh_u128 outstanding[NH_MAX_CHAINS + 1]);

/* Outbox entries of a vault (opened read-only). */
int nh_vault_outbox_depth(const nh_world *w, unsigned id, const char *vault, size_t *depth);

/* Journal entries of kind `kind` ("accept", "freeze", ...) in a vault;
 * NULL kind counts all. Returns the count or -1. */
long nh_vault_journal_count(const nh_world *w, unsigned id, const char *vault, const char *kind);

/* ---- adversary helpers (test_adversary_*.c) ---- */

/* Address of anvil dev key #key_index (0..9). */
int nh_dev_address(nh_world *w, unsigned key_index, bh_address *out);

/* Send the ABI call a (cleared) from s to `to` and wait for its receipt; a
 * revert or a sender error is -1 with `what` and the reason. r may be NULL,
 * else cleared by the caller with bh_evm_receipt_clear. */
int nh_send_call(bh_evm_sender *s, bh_evm_receipt *r, const bh_address *to, bh_abi *a,
                 const char *what);

/* eth_sendTransaction from anvil's unlocked dev account #key_index with an
 * explicit gas limit, not waiting for it to mine (so several can share a
 * block while automine is off, and a huge receipt never goes through a
 * size-capped client). Out: tx_hash "0x" + 64 hex digits. */
int nh_send_unlocked(nh_world *w, size_t chain, unsigned key_index, const bh_address *to,
                     const unsigned char *data, size_t len, uint64_t gas, char tx_hash[67]);
/* Wait for the receipt of tx_hash. Out: block (may be NULL), ok: status 1 (may be NULL). */
int nh_wait_receipt(nh_world *w, size_t chain, const char *tx_hash, unsigned timeout_ms,
                    uint64_t *block, int *ok);

/* Add a "metrics" section (127.0.0.1, port 0: any free port) to the node's config. */
int nh_node_enable_metrics(nh_world *w, unsigned id);
/* The operator port the node logged (event=metrics_listening) since its last start. */
int nh_node_metrics_port(nh_world *w, unsigned id, unsigned timeout_ms, int *port);
/* GET http://127.0.0.1:port/path. Out: status, body (heap, caller frees). */
int nh_http_get(int port, const char *path, int *status, char **body);
/* The value of the first sample of `family` in Prometheus text whose labels
 * include every `labels` entry (exact `name="value"`, NULL-terminated; NULL
 * or empty: any). Returns 0, or -1 if there is no such sample. */
int nh_metric(const char *text, const char *family, const char *const *labels, double *value);

/* Helpers for amounts: 10^18 * units. */
bh_u128 nh_units(uint64_t units);
const char *nh_u128_str(bh_u128 v); /* a rotating static buffer (8 slots) */

/* ---- supply reconciliation (test_node_reconcile.c) ---- */

/* A rogue minter: `chain`'s own Portal address, impersonated on anvil,
 * calls mint(to, amount) on the wrapped token: supply appears on the chain
 * behind the Portal's back (no VAA, no event the node watches). */
int nh_rogue_mint(nh_world *w, size_t chain, const bh_address *wrapped, const bh_address *to,
                  bh_u128 amount, uint64_t *block);

/* The user transfers `amount` of `token` straight to `chain`'s Portal (no
 * lock): custody the vault never heard of. */
int nh_transfer_to_portal(nh_world *w, size_t chain, const bh_address *token, bh_u128 amount);

/* Wait until tx_hash is mined, without reading its receipt (a receipt of
 * 100,000 logs is more than a test client should parse, under a sanitizer
 * above all). Out: block. Judge the transaction by its effects. */
int nh_wait_mined(nh_world *w, size_t chain, const char *tx_hash, unsigned timeout_ms,
                  uint64_t *block);
/* Portal(chain).sequence(): the next TransferOut's sequence. */
int nh_portal_sequence(nh_world *w, size_t chain, uint64_t *out);

#endif
