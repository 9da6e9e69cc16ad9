/* The storage layer (bh_store.h) and every stored record's codec: each
 * round-trips field for field, refuses every truncation and any extra byte,
 * and refuses a record version it does not know. LMDB codes keep errno;
 * the map grows under a write and adopts a size another process gave it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bh_store.h"
#include "node_store.h"
#include "vault_records.h"
#include "vaults_helpers.h"

/* A record as its codec sees it: decode(out, in, len) -> BH_OK / BH_ECORRUPT. */
typedef int (*dec_fn)(void *out, const unsigned char *in, size_t len);

/* Every shorter length, one byte more, and another version are refused;
 * the exact bytes decode. */
static void refusals(dec_fn dec, void *scratch, const unsigned char *rec, size_t len, int versioned)
{
    unsigned char buf[2048];
    assert_true(len < sizeof buf);
    memcpy(buf, rec, len);
    assert_int_equal(dec(scratch, buf, len), BH_OK);
    for (size_t n = 0; n < len; n++)
        if (dec(scratch, buf, n) != BH_ECORRUPT)
            fail_msg("a %zu-byte prefix of %zu decoded", n, len);
    buf[len] = 0;
    assert_int_equal(dec(scratch, buf, len + 1), BH_ECORRUPT);
    if (versioned) {
        buf[0] = VREC_VERSION + 1;
        assert_int_equal(dec(scratch, buf, len), BH_ECORRUPT);
        buf[0] = 0;
        assert_int_equal(dec(scratch, buf, len), BH_ECORRUPT);
    }
}

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed * 131u + i * 29u + 7u);
}

static bh_transfer_msg some_msg(unsigned seed)
{
    bh_transfer_msg m;
    memset(&m, 0, sizeof m);
    m.emitter_chain = (uint16_t)(0x1234 + seed);
    fill(m.emitter.data, 32, seed + 1);
    m.sequence = 0x0102030405060708ull + seed;
    m.timestamp = 0xa1b2c3d4u;
    fill(m.digest.data, 32, seed + 2);
    fill(m.transfer.amount.be, 32, seed + 3);
    fill(m.transfer.token.data, 32, seed + 4);
    m.transfer.token_chain = 0xbeef;
    fill(m.transfer.to.data, 32, seed + 5);
    m.transfer.to_chain = 0xcafe;
    fill(m.transfer.fee.be, 32, seed + 6);
    m.amount = ((bh_u128)0x1111222233334444ull << 64) | 0x5555666677778888ull;
    m.fee = ((bh_u128)0x99990000aaaabbbbull << 64) | 0xccccddddeeeeffffull;
    m.nonce = 0xdeadbeefu;
    m.consistency = 201;
    return m;
}

static void msg_equal(const bh_transfer_msg *a, const bh_transfer_msg *b)
{
    assert_int_equal(a->emitter_chain, b->emitter_chain);
    assert_memory_equal(a->emitter.data, b->emitter.data, 32);
    assert_int_equal(a->sequence, b->sequence);
    assert_int_equal(a->timestamp, b->timestamp);
    assert_memory_equal(a->digest.data, b->digest.data, 32);
    assert_memory_equal(a->transfer.amount.be, b->transfer.amount.be, 32);
    assert_memory_equal(a->transfer.token.data, b->transfer.token.data, 32);
    assert_int_equal(a->transfer.token_chain, b->transfer.token_chain);
    assert_memory_equal(a->transfer.to.data, b->transfer.to.data, 32);
    assert_int_equal(a->transfer.to_chain, b->transfer.to_chain);
    assert_memory_equal(a->transfer.fee.be, b->transfer.fee.be, 32);
    assert_true(a->amount == b->amount && a->fee == b->fee);
    assert_int_equal(a->nonce, b->nonce);
    assert_int_equal(a->consistency, b->consistency);
}

/* The message's bytes are the documented layout, big-endian. */
static void test_store_msg_layout(void **state)
{
    (void)state;
    bh_transfer_msg m = some_msg(0), back;
    unsigned char b[BH_STORE_MSG_LEN];
    bh_store_msg_put(b, &m);
    assert_memory_equal(b, "\x12\x34", 2);
    assert_memory_equal(b + 34, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_memory_equal(b + 42, "\xa1\xb2\xc3\xd4", 4);
    assert_memory_equal(b + 142, "\xbe\xef", 2);
    assert_memory_equal(b + 176, "\xca\xfe", 2);
    assert_memory_equal(b + 210, "\x11\x11\x22\x22\x33\x33\x44\x44", 8);
    assert_memory_equal(b + 242, "\xde\xad\xbe\xef", 4);
    assert_int_equal(b[246], 201);
    bh_store_msg_get(&back, b);
    msg_equal(&back, &m);
    /* the schema 1 image (this platform's struct) reads back the same */
    assert_int_equal(sizeof m, BH_STORE_MSG_V1_LEN);
    bh_store_msg_get_v1(&back, (const unsigned char *)&m);
    msg_equal(&back, &m);
}

#define DEC(name, T, call)                                                                         \
    static int name(void *out, const unsigned char *in, size_t len)                                \
    {                                                                                              \
        return call((T *)out, in, len);                                                            \
    }
DEC(d_asset, bh_vault_asset, vrec_asset_get)
DEC(d_lane, bh_vault_lane, vrec_lane_get)
DEC(d_chain, vault_chain_rec, vrec_chain_get)
DEC(d_seq, vault_seq, vrec_seq_get)
DEC(d_pending, vault_pending_rec, vrec_pending_get)
DEC(d_outbox, bh_transfer_msg, vrec_outbox_get)
DEC(d_parked, vault_parked_rec, vrec_parked_get)
DEC(d_quarantine, bh_vault_quarantine, vrec_quarantine_get)
DEC(d_u16, uint16_t, vrec_u16_get)
DEC(d_u64, uint64_t, vrec_u64_get)
DEC(d_u128, bh_u128, vrec_u128_get)
DEC(d_cursor, node_cursor, node_cursor_decode)
DEC(d_inbox, node_inbox_rec, node_inbox_decode)
DEC(d_tight, node_tight, node_tight_decode)

static int d_journal(void *out, const unsigned char *in, size_t len)
{
    return vrec_journal_get(out, 7, in, len);
}

static int d_rejects(void *out, const unsigned char *in, size_t len)
{
    return vrec_rejects_get(out, in, len);
}

static void test_store_vault_records(void **state)
{
    (void)state;
    unsigned char b[2048];

    bh_vault_asset a = {.locked = BH_U128_MAX - 1,
                        .outstanding_total = 77,
                        .big_threshold = (bh_u128)1 << 100,
                        .big_delay = 86400,
                        .created = 1700000000,
                        .decimals = 18},
                   a2;
    memcpy(a.symbol, "SIXTEEN-CHARS-16", 16);
    vrec_asset_put(b, &a);
    assert_int_equal(d_asset(&a2, b, VREC_ASSET_LEN), BH_OK);
    assert_true(a2.locked == a.locked && a2.outstanding_total == 77 &&
                a2.big_threshold == a.big_threshold);
    assert_int_equal(a2.big_delay, 86400);
    assert_int_equal(a2.created, 1700000000);
    assert_int_equal(a2.decimals, 18);
    assert_string_equal(a2.symbol, "SIXTEEN-CHARS-16");
    assert_int_equal(b[0], VREC_VERSION);
    refusals(d_asset, &a2, b, VREC_ASSET_LEN, 1);
    b[VREC_ASSET_LEN - 16] = 0; /* a symbol with bytes after its NUL */
    assert_int_equal(d_asset(&a2, b, VREC_ASSET_LEN), BH_ECORRUPT);

    bh_vault_lane l, l2;
    fill(&l, sizeof l, 3);
    vrec_lane_put(b, &l);
    assert_int_equal(d_lane(&l2, b, VREC_LANE_LEN), BH_OK);
    assert_true(l2.outstanding == l.outstanding && l2.cap == l.cap &&
                l2.window_limit == l.window_limit);
    assert_true(l2.in.capacity == l.in.capacity && l2.in.refill == l.in.refill &&
                l2.in.level == l.in.level && l2.in.debt == l.in.debt && l2.in.last == l.in.last);
    assert_true(l2.out.capacity == l.out.capacity && l2.out.debt == l.out.debt &&
                l2.out.last == l.out.last);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        assert_true(l2.window_hour[i] == l.window_hour[i] && l2.window_sum[i] == l.window_sum[i]);
    refusals(d_lane, &l2, b, VREC_LANE_LEN, 1);

    vault_chain_rec c, c2;
    fill(&c, sizeof c, 4);
    vrec_chain_put(b, &c);
    assert_int_equal(d_chain(&c2, b, VREC_CHAIN_LEN), BH_OK);
    assert_int_equal(c2.msg_limit, c.msg_limit);
    for (int i = 0; i < BH_VAULT_WINDOW_SLOTS; i++)
        assert_true(c2.count[i] == c.count[i] && c2.hour[i] == c.hour[i]);
    refusals(d_chain, &c2, b, VREC_CHAIN_LEN, 1);

    vault_seq s = {.next_journal = 1ull << 40,
                   .next_pending = 5,
                   .next_outbox = UINT64_MAX,
                   .msg_limit_default = 99},
              s2;
    vrec_seq_put(b, &s);
    assert_int_equal(d_seq(&s2, b, VREC_SEQ_LEN), BH_OK);
    assert_true(s2.next_journal == s.next_journal && s2.next_pending == 5 &&
                s2.next_outbox == UINT64_MAX && s2.msg_limit_default == 99);
    refusals(d_seq, &s2, b, VREC_SEQ_LEN, 1);

    vault_pending_rec p = {.created = 11,
                           .release_at = 22,
                           .cause = BH_VAULT_CAUSE_WINDOW,
                           .applied = VAULT_P_APPLIED | VAULT_P_WINDOW,
                           .msg = some_msg(1)},
                      p2;
    vrec_pending_put(b, &p);
    assert_int_equal(d_pending(&p2, b, VREC_PENDING_LEN), BH_OK);
    assert_true(p2.created == 11 && p2.release_at == 22 && p2.cause == BH_VAULT_CAUSE_WINDOW &&
                p2.applied == 3);
    msg_equal(&p2.msg, &p.msg);
    refusals(d_pending, &p2, b, VREC_PENDING_LEN, 1);

    bh_transfer_msg m = some_msg(2), m2;
    vrec_outbox_put(b, &m);
    assert_int_equal(d_outbox(&m2, b, VREC_OUTBOX_LEN), BH_OK);
    msg_equal(&m2, &m);
    refusals(d_outbox, &m2, b, VREC_OUTBOX_LEN, 1);
    /* a hop notice keeps its own destination; an ordinary entry is written
     * exactly as before */
    uint16_t to = 0;
    assert_int_equal(vrec_outbox_put_to(b, &m, m.transfer.to_chain), VREC_OUTBOX_LEN);
    assert_int_equal(vrec_outbox_get_to(&m2, &to, b, VREC_OUTBOX_LEN), BH_OK);
    assert_int_equal(to, m.transfer.to_chain);
    uint16_t home = (uint16_t)(m.transfer.to_chain + 7);
    assert_int_equal(vrec_outbox_put_to(b, &m, home), VREC_OUTBOX_DEST_LEN);
    assert_int_equal(b[0], VREC_DEST_VERSION);
    assert_int_equal(vrec_outbox_get_to(&m2, &to, b, VREC_OUTBOX_DEST_LEN), BH_OK);
    assert_int_equal(to, home);
    msg_equal(&m2, &m);
    assert_int_equal(vrec_outbox_get_to(&m2, &to, b, VREC_OUTBOX_DEST_LEN - 1), BH_ECORRUPT);
    b[1] = (unsigned char)(m.transfer.to_chain >> 8); /* a notice to its own destination */
    b[2] = (unsigned char)m.transfer.to_chain;
    assert_int_equal(vrec_outbox_get_to(&m2, &to, b, VREC_OUTBOX_DEST_LEN), BH_ECORRUPT);

    vault_parked_rec r = {.parked_at = 33, .tries = 4, .error_len = 13, .msg = some_msg(3)}, r2;
    memcpy(r.error, "nonce too low", 13);
    size_t n = vrec_parked_put(b, &r);
    assert_int_equal(n, VREC_PARKED_MIN + 13);
    assert_int_equal(d_parked(&r2, b, n), BH_OK);
    assert_true(r2.parked_at == 33 && r2.tries == 4 && r2.error_len == 13);
    assert_memory_equal(r2.error, "nonce too low", 13);
    msg_equal(&r2.msg, &r.msg);
    refusals(d_parked, &r2, b, n, 1);
    b[n - 14] = BH_VAULT_ERROR_MAX + 1; /* an error length past the maximum */
    assert_int_equal(d_parked(&r2, b, n), BH_ECORRUPT);
    assert_int_equal(r.to, 0);
    r.to = (uint16_t)(r.msg.transfer.to_chain + 1); /* a parked hop notice */
    n = vrec_parked_put(b, &r);
    assert_int_equal(n, VREC_PARKED_MIN + 2 + 13);
    assert_int_equal(d_parked(&r2, b, n), BH_OK);
    assert_int_equal(r2.to, r.to);
    assert_true(r2.parked_at == 33 && r2.tries == 4 && r2.error_len == 13);
    msg_equal(&r2.msg, &r.msg);

    vault_jrec j = {.time = 1,
                    .ref = 2,
                    .sequence = 3,
                    .kind = BH_VJ_MIGRATE,
                    .effects = 15,
                    .reject = 9,
                    .chain = 4,
                    .lane_dec = 5,
                    .lane_inc = 6,
                    .emitter_chain = 7,
                    .amount = BH_U128_MAX,
                    .actor_len = 5,
                    .reason_len = 3};
    fill(j.emitter.data, 32, 8);
    fill(j.digest.data, 32, 9);
    fill(j.token.data, 32, 10);
    n = vrec_journal_put(b, &j, "alice", "why");
    assert_int_equal(n, VREC_JOURNAL_MIN + 8);
    bh_vault_journal_entry e;
    assert_int_equal(d_journal(&e, b, n), BH_OK);
    assert_true(e.id == 7 && e.time == 1 && e.ref == 2 && e.sequence == 3 &&
                e.kind == BH_VJ_MIGRATE && e.effects == 15 && e.reject == 9 && e.chain == 4 &&
                e.lane_dec == 5 && e.lane_inc == 6 && e.emitter_chain == 7 &&
                e.amount == BH_U128_MAX);
    assert_memory_equal(e.emitter.data, j.emitter.data, 32);
    assert_memory_equal(e.digest.data, j.digest.data, 32);
    assert_memory_equal(e.token.data, j.token.data, 32);
    assert_string_equal(e.actor, "alice");
    assert_string_equal(e.reason, "why");
    refusals(d_journal, &e, b, n, 1);

    bh_vault_quarantine q = {.chain = 3, .since = 44}, q2;
    snprintf(q.actor, sizeof q.actor, "breaker");
    snprintf(q.reason, sizeof q.reason, "forged_lock x1");
    n = vrec_quarantine_put(b, &q);
    assert_int_equal(n, VREC_QUARANTINE_MIN + 7 + 14);
    assert_int_equal(d_quarantine(&q2, b, n), BH_OK);
    assert_true(q2.chain == 3 && q2.since == 44);
    assert_string_equal(q2.actor, "breaker");
    assert_string_equal(q2.reason, "forged_lock x1");
    refusals(d_quarantine, &q2, b, n, 1);

    uint64_t rj[BH_REJECT_COUNT_], rj2[BH_REJECT_COUNT_];
    for (int i = 0; i < BH_REJECT_COUNT_; i++)
        rj[i] = (uint64_t)i * 1000003u;
    n = vrec_rejects_put(b, rj);
    assert_int_equal(n, VREC_REJECTS_MAX);
    assert_int_equal(d_rejects(rj2, b, n), BH_OK);
    assert_memory_equal(rj2, rj, sizeof rj);
    refusals(d_rejects, rj2, b, n, 1);
    b[1] = 2; /* a build with two reasons: the rest read as 0 */
    assert_int_equal(d_rejects(rj2, b, 2 + 16), BH_OK);
    assert_true(rj2[1] == rj[1] && rj2[2] == 0);
    b[1] = BH_REJECT_COUNT_ + 1; /* a newer build's reasons: refused, not dropped */
    memset(b + n, 0, 8);
    assert_int_equal(d_rejects(rj2, b, n + 8), BH_ECORRUPT);

    uint16_t x16;
    uint64_t x64;
    bh_u128 x128;
    memcpy(b, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
    assert_int_equal(d_u16(&x16, b, 2), BH_OK);
    assert_int_equal(x16, 0x0102);
    refusals(d_u16, &x16, b, 2, 0);
    assert_int_equal(d_u64(&x64, b, 8), BH_OK);
    assert_true(x64 == 0x0102030405060708ull);
    refusals(d_u64, &x64, b, 8, 0);
    assert_int_equal(d_u128(&x128, b, 16), BH_OK);
    assert_true((uint64_t)(x128 >> 64) == 0x0102030405060708ull);
    refusals(d_u128, &x128, b, 16, 0);
    char name[BH_VAULT_NAME_MAX + 1];
    assert_int_equal(vrec_name_get(name, "alpha", 5), BH_OK);
    assert_string_equal(name, "alpha");
    assert_int_equal(vrec_name_get(name, "", 0), BH_ECORRUPT);
    assert_int_equal(vrec_name_get(name, "Alpha", 5), BH_ECORRUPT);
    assert_int_equal(vrec_name_get(name, "alpha\0", 6), BH_ECORRUPT);
}

static void test_store_node_records(void **state)
{
    (void)state;
    unsigned char b[1024];
    node_cursor c = {.number = 0x0102030405060708ull, .next_seq = 99, .has_seq = 1}, c2;
    fill(c.hash.data, 32, 11);
    node_cursor_encode(b, &c);
    assert_int_equal(d_cursor(&c2, b, NODE_CURSOR_LEN), BH_OK);
    assert_true(c2.number == c.number && c2.next_seq == 99 && c2.has_seq == 1);
    assert_memory_equal(c2.hash.data, c.hash.data, 32);
    refusals(d_cursor, &c2, b, NODE_CURSOR_LEN, 1);
    b[NODE_CURSOR_LEN - 1] = 2; /* has_seq is 0 or 1 */
    assert_int_equal(d_cursor(&c2, b, NODE_CURSOR_LEN), BH_ECORRUPT);

    node_inbox_rec r = {.msg = some_msg(5),
                        .verdict = BH_REJECT_FORGED_LOCK,
                        .kind = 1,
                        .observed_ms = 1700000000123ull},
                   r2;
    node_inbox_encode(b, &r);
    assert_int_equal(d_inbox(&r2, b, NODE_INBOX_LEN), BH_OK);
    msg_equal(&r2.msg, &r.msg);
    assert_true(r2.verdict == BH_REJECT_FORGED_LOCK && r2.kind == 1 &&
                r2.observed_ms == 1700000000123ull);
    refusals(d_inbox, &r2, b, NODE_INBOX_LEN, 1);

    node_tight t = {.cap = (bh_u128)1 << 127, .refill = 3}, t2;
    node_tight_encode(b, &t);
    assert_int_equal(d_tight(&t2, b, NODE_TIGHT_LEN), BH_OK);
    assert_true(t2.cap == t.cap && t2.refill == 3);
    refusals(d_tight, &t2, b, NODE_TIGHT_LEN, 1);

    /* wrapped/<id>: the pinned wrapped tokens of a chain */
    bh_wrapped_pin pins[3], back[3];
    memset(pins, 0, sizeof pins);
    for (int i = 0; i < 3; i++) {
        pins[i].home_chain = (uint16_t)(0x0100 + i);
        fill(pins[i].home_token.data, 32, (unsigned char)(20 + i));
        fill(pins[i].token.data, 20, (unsigned char)(40 + i));
    }
    size_t plen = node_pins_encode(b, pins, 3), pn = 0;
    assert_int_equal(plen, 3 + 3 * NODE_PIN_LEN);
    assert_int_equal(node_pins_decode(back, 3, &pn, b, plen), BH_OK);
    assert_int_equal(pn, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(back[i].home_chain, pins[i].home_chain);
        assert_memory_equal(back[i].home_token.data, pins[i].home_token.data, 32);
        assert_memory_equal(back[i].token.data, pins[i].token.data, 20);
    }
    assert_int_equal(node_pins_decode(back, 2, &pn, b, plen), BH_ECORRUPT); /* more than cap */
    assert_int_equal(pn, 0);
    assert_int_equal(node_pins_decode(back, 3, &pn, b, plen - 1), BH_ECORRUPT);
    assert_int_equal(node_pins_decode(back, 3, &pn, b, 2), BH_ECORRUPT);
    b[0] = 9; /* another version */
    assert_int_equal(node_pins_decode(back, 3, &pn, b, plen), BH_ECORRUPT);
    assert_int_equal(node_pins_encode(b, pins, 0), 3);
    assert_int_equal(node_pins_decode(back, 3, &pn, b, 3), BH_OK);
    assert_int_equal(pn, 0);
}

/* LMDB codes: errno kept, the library's own translated, nothing lost as EIO. */
static void test_store_error_mapping(void **state)
{
    (void)state;
    assert_int_equal(bh_store_status(0), BH_OK);
    assert_int_equal(bh_store_status(EACCES), EACCES);
    assert_int_equal(bh_store_status(ENOSPC), ENOSPC);
    assert_int_equal(bh_store_status(ENOMEM), ENOMEM);
    assert_int_equal(bh_store_status(MDB_NOTFOUND), BH_ENOTFOUND);
    assert_int_equal(bh_store_status(MDB_KEYEXIST), BH_EEXIST);
    assert_int_equal(bh_store_status(MDB_MAP_FULL), BH_EMAPFULL);
    assert_int_equal(bh_store_status(MDB_CORRUPTED), BH_ECORRUPT);
    assert_int_equal(bh_store_status(MDB_VERSION_MISMATCH), BH_ECORRUPT);
    assert_int_equal(bh_store_status(MDB_READERS_FULL), BH_EBUSY);
    assert_int_equal(bh_store_status(MDB_BAD_TXN), BH_EINVAL);
    assert_int_equal(bh_store_status(MDB_PANIC), BH_EIO);
}

typedef struct {
    int i, n;
} fill_ctx;

static int put_many(void *vctx, MDB_txn *txn)
{
    fill_ctx *c = vctx;
    MDB_dbi dbi;
    int rc = bh_store_status(mdb_dbi_open(txn, "t", MDB_CREATE, &dbi));
    unsigned char val[1000] = {0};
    for (int i = 0; i < c->n && !rc; i++) {
        int key = c->i + i;
        MDB_val k = {sizeof key, &key}, d = {sizeof val, val};
        rc = bh_store_status(mdb_put(txn, dbi, &k, &d, 0));
    }
    return rc;
}

static int count_rows(bh_store *s)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;
    assert_int_equal(bh_store_begin(s, MDB_RDONLY, &txn), BH_OK);
    assert_int_equal(mdb_dbi_open(txn, "t", 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &st), 0);
    bh_store_abort(s, txn);
    return (int)st.ms_entries;
}

/* A write that overflows the map runs again in a bigger one; a map the
 * other process grew is adopted at the next begin; the ceiling refuses. */
static void test_store_map_growth(void **state)
{
    (void)state;
    char *dir = vt_tmpdir();
    bh_store_opts o = {.map_size = 64 << 10, .map_max = 8 << 20, .max_dbs = 2};
    bh_store *s;
    char why[256];
    assert_int_equal(bh_store_open(&s, dir, &o, why, sizeof why), BH_OK);
    fill_ctx c = {0, 500}; /* ~600 KiB: several doublings */
    assert_int_equal(bh_store_write(s, put_many, &c), BH_OK);
    assert_true(bh_store_map_size(s) >= (size_t)512 << 10);
    assert_int_equal(count_rows(s), 500);
    size_t before = bh_store_map_size(s);
    pid_t pid = fork();
    if (pid == 0) {
        /* another process: its own handle grows the file further */
        bh_store *t;
        bh_store_opts o2 = {.map_size = before, .map_max = 64 << 20, .max_dbs = 2};
        if (bh_store_open(&t, dir, &o2, NULL, 0)) _exit(1);
        fill_ctx c2 = {1000, 2500};
        int rc = bh_store_write(t, put_many, &c2);
        bh_store_close(t);
        _exit(rc ? 2 : 0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(count_rows(s), 3000);
    assert_true(bh_store_map_size(s) > before);
    /* the ceiling: nothing of an oversized write lands */
    fill_ctx big = {10000, 20000};
    assert_int_equal(bh_store_write(s, put_many, &big), BH_EMAPFULL);
    assert_non_null(strstr(bh_store_errmsg(s), "nothing of this transaction was applied"));
    assert_int_equal(count_rows(s), 3000);
    bh_store_close(s);
    /* read-only: no write at all */
    bh_store_opts ro = {.max_dbs = 2, .read_only = 1};
    assert_int_equal(bh_store_open(&s, dir, &ro, why, sizeof why), BH_OK);
    assert_int_equal(bh_store_write(s, put_many, &c), BH_ESTATE);
    bh_store_close(s);
    vt_rmrf(dir);
    free(dir);
}

/* The schema record: what it says, and what it refuses. */
static int schema_fn(void *vctx, MDB_txn *txn)
{
    MDB_dbi *dbi = vctx;
    int rc = bh_store_status(mdb_dbi_open(txn, "meta", MDB_CREATE, dbi));
    uint32_t v;
    int legacy;
    if (!rc && bh_store_schema_get(txn, *dbi, BH_STORE_KIND_VAULT, &v, &legacy) != BH_ENOTFOUND)
        return BH_ESTATE;
    if (!rc) rc = bh_store_schema_put(txn, *dbi, BH_STORE_KIND_NODE, 7);
    if (!rc &&
        (bh_store_schema_get(txn, *dbi, BH_STORE_KIND_NODE, &v, &legacy) || v != 7 || legacy))
        return BH_ESTATE;
    if (!rc && bh_store_schema_get(txn, *dbi, BH_STORE_KIND_VAULT, &v, NULL) != BH_ECORRUPT)
        return BH_ESTATE; /* another kind's environment */
    MDB_val k = {6, "schema"}, d;
    unsigned char one[4] = {1, 0, 0, 0}, bad[3] = {1, 2, 3};
    d = (MDB_val){4, one};
    if (!rc) rc = bh_store_status(mdb_put(txn, *dbi, &k, &d, 0));
    if (!rc &&
        (bh_store_schema_get(txn, *dbi, BH_STORE_KIND_VAULT, &v, &legacy) || v != 1 || !legacy))
        return BH_ESTATE; /* the vaults' first form */
    if (!rc && bh_store_schema_get(txn, *dbi, BH_STORE_KIND_NODE, &v, NULL) != BH_ECORRUPT)
        return BH_ESTATE;
    d = (MDB_val){3, bad};
    if (!rc) rc = bh_store_status(mdb_put(txn, *dbi, &k, &d, 0));
    if (!rc && bh_store_schema_get(txn, *dbi, BH_STORE_KIND_VAULT, &v, NULL) != BH_ECORRUPT)
        return BH_ESTATE;
    return rc;
}

static void test_store_schema_record(void **state)
{
    (void)state;
    char *dir = vt_tmpdir();
    bh_store_opts o = {.max_dbs = 2};
    bh_store *s;
    assert_int_equal(bh_store_open(&s, dir, &o, NULL, 0), BH_OK);
    MDB_dbi dbi;
    assert_int_equal(bh_store_write(s, schema_fn, &dbi), BH_OK);
    bh_store_close(s);
    vt_rmrf(dir);
    free(dir);
}

/* A node store: a newer schema is refused untouched; an unknown meta key
 * family is refused; tight records round-trip through the meta API. */
static void test_store_node_store_schema(void **state)
{
    (void)state;
    char *dir = vt_tmpdir();
    node_store *s;
    char why[512];
    assert_int_equal(node_store_open(&s, dir, why, sizeof why), BH_OK);
    node_tight t = {1000, 1}, t2;
    assert_int_equal(node_store_meta_put(s, "tight/alpha/00/3", &t, sizeof t), BH_OK);
    assert_int_equal(node_store_meta_get(s, "tight/alpha/00/3", &t2, sizeof t2), BH_OK);
    assert_true(t2.cap == 1000 && t2.refill == 1);
    assert_int_equal(node_store_meta_put(s, "tight/alpha/00/3", &t, 5), BH_EINVAL);
    assert_int_equal(node_store_meta_put(s, "nosuch/1", &t, sizeof t), BH_EINVAL);
    unsigned char id[40] = {1};
    assert_int_equal(node_store_meta_put(s, "chain/1", id, sizeof id), BH_OK);
    assert_int_equal(node_store_meta_get(s, "chain/1", id, 39), BH_ECORRUPT);
    node_store_close(s);
    /* stamp a newer schema by hand */
    char p[600];
    snprintf(p, sizeof p, "%s/node", dir);
    bh_store_opts o = {.max_dbs = 4};
    bh_store *st;
    assert_int_equal(bh_store_open(&st, p, &o, NULL, 0), BH_OK);
    MDB_txn *txn;
    MDB_dbi meta;
    assert_int_equal(bh_store_begin(st, 0, &txn), BH_OK);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(bh_store_schema_put(txn, meta, BH_STORE_KIND_NODE, NODE_STORE_SCHEMA + 1),
                     BH_OK);
    assert_int_equal(bh_store_commit(st, txn), BH_OK);
    bh_store_close(st);
    assert_int_equal(node_store_open(&s, dir, why, sizeof why), BH_ESCHEMA);
    assert_non_null(strstr(why, "schema 3"));
    vt_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_msg_layout),        cmocka_unit_test(test_store_vault_records),
        cmocka_unit_test(test_store_node_records),      cmocka_unit_test(test_store_error_mapping),
        cmocka_unit_test(test_store_map_growth),        cmocka_unit_test(test_store_schema_record),
        cmocka_unit_test(test_store_node_store_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
