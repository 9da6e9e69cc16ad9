/* Integration-test harness: real anvil chains on free loopback ports, a
 * fake JSON-RPC endpoint (proxy that lies, garbage, hang, 429, huge
 * answers), and raw JSON-RPC helpers. Used by tests/integration and
 * tests/bench. */
#ifndef BH_IT_HARNESS_H
#define BH_IT_HARNESS_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "bh_attest.h"
#include "bh_types.h"

/* anvil's well-known development key #0 (funded with 10000 ETH). */
#define IT_ANVIL_KEY0 "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

typedef struct {
    pid_t pid;
    int port;
    uint64_t chain_id;
    char url[64];
} it_anvil;

/* Start anvil (from tests/node) with the given EVM chain id on a free port
 * and wait until it answers. extra: more arguments or NULL.
 * Returns 0 on success, -1 (with a message on stderr) otherwise. */
int it_anvil_start(it_anvil *a, uint64_t chain_id, const char *const *extra);
/* The same on a given port (a chain restarted where its endpoints point):
 * retried for a few seconds while the port is still held. */
int it_anvil_start_on(it_anvil *a, int port, uint64_t chain_id, const char *const *extra);
void it_anvil_stop(it_anvil *a);

/* Raw JSON-RPC call to url; params is stolen. Returns the result (caller
 * decrefs) or NULL on any error (printed). */
json_t *it_rpc(const char *url, const char *method, json_t *params);

/* Mine n blocks (anvil_mine). Returns 0 on success. */
int it_mine(const char *url, uint64_t n);

/* Fake endpoint behaviours. */
typedef enum {
    IT_FAKE_PROXY = 0,   /* forward to upstream unchanged */
    IT_FAKE_LIE_LOGS,    /* forward; flip a byte of every log's data */
    IT_FAKE_LIE_HASH,    /* forward; replace every block "hash" */
    IT_FAKE_GARBAGE,     /* 200 with a non-JSON body */
    IT_FAKE_WRONG_TYPES, /* 200 with a valid envelope and wrongly typed result */
    IT_FAKE_HANG,        /* read the request, never answer */
    IT_FAKE_429,         /* 429 Too Many Requests, always */
    IT_FAKE_HUGE,        /* 200 streaming 100 MB without Content-Length */
    IT_FAKE_RANGE_LIMIT, /* forward, but refuse eth_getLogs spanning > 8 blocks */
    IT_FAKE_DROP_LOG,    /* forward; silently drop the 2nd log of eth_getLogs answers */
    IT_FAKE_BAD_LOGS,    /* forward; eth_getLogs entries get a number as logIndex */
    IT_FAKE_SLOW,        /* forward, each answer held back it_fake_set_delay ms (a tarpit) */
    IT_FAKE_LOG_CAP,     /* forward, but refuse eth_getLogs answers longer than it_fake_set_log_cap
                          * logs, as providers do (-32005 "query returned more than N results") */
    IT_FAKE_DROP_TX,     /* forward, but eth_sendRawTransaction is answered with a made-up hash
                          * and never forwarded: an endpoint that accepts transactions and drops
                          * them */
    IT_FAKE_LIE_PRICE,   /* forward; an eth_call answer of five words (latestRoundData) gets
                          * a wild answer (x100) and a fresh updatedAt */
} it_fake_mode;

typedef struct it_fake it_fake;

/* Start a fake endpoint on a free loopback port. upstream may be NULL for
 * modes that never forward. Returns NULL on failure. */
it_fake *it_fake_start(it_fake_mode mode, const char *upstream);
const char *it_fake_url(const it_fake *f);
/* Requests served and TCP connections accepted so far. */
unsigned it_fake_requests(const it_fake *f);
unsigned it_fake_connections(const it_fake *f);
/* IT_FAKE_SLOW: hold each answer back this long (0: none); takes effect
 * from the next request. */
void it_fake_set_delay(it_fake *f, unsigned ms);
/* IT_FAKE_LOG_CAP: the most logs one eth_getLogs answer may hold (0: no cap). */
void it_fake_set_log_cap(it_fake *f, unsigned n);
void it_fake_stop(it_fake *f);

/* Parse 64 hex digits into a key. */
void it_key(bh_seckey *k, const char *hex);

/* Deterministic attester / node key i (1-based), not anvil's. */
void it_test_key(bh_seckey *k, unsigned i);

/* IT_FAKE_LOG_CAP: answer an eth_getLogs longer than the cap with its first
 * cap logs (cut wherever, even inside a block) instead of refusing it, as
 * some providers do. */
void it_fake_set_log_truncate(it_fake *f, int on);

#endif
