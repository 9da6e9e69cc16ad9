/* The vault's stored records, schema 2: one encode/decode pair per record,
 * fixed byte layouts, integers big-endian, no padding, a leading record
 * version byte (VREC_VERSION) on every composite record. A decoder checks
 * the length exactly (or, for records ending in strings, against the
 * lengths they carry) and returns BH_ECORRUPT for anything else; the caller
 * names the table (vault_corrupt). The layouts are tabled in
 * docs/ARCHITECTURE.md ("On disk").
 *
 * Also the decoders of schema 1 (the x86-64 struct copies every build
 * before it wrote), used only by the migration.
 *
 * Private to vaults/src and its unit test. */
#ifndef BH_VAULT_RECORDS_H
#define BH_VAULT_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include "bh_store.h"
#include "bh_value.h"
#include "vault_internal.h"

#define VREC_VERSION 1

/*   u8 ver | u128 locked | u128 outstanding_total | u128 big_threshold |
 *   u64 big_delay | u64 created | u8 decimals | symbol[16] (NUL padded) */
#define VREC_ASSET_LEN 82
/*   u8 ver | u128 outstanding | u128 cap | u128 window_limit | in | out |
 *   24 x u64 window_hour | 24 x u128 window_sum
 *   bucket: u128 capacity | u128 refill | u128 level | u128 debt | u64 last */
#define VREC_BUCKET_LEN 72
#define VREC_LANE_LEN (1 + 48 + 2 * VREC_BUCKET_LEN + 24 * 8 + 24 * 16)
/*   u8 ver | u32 msg_limit | 24 x u32 count | 24 x u64 hour */
#define VREC_CHAIN_LEN (1 + 4 + 24 * 4 + 24 * 8)
/*   u8 ver | u64 next_journal | u64 next_pending | u64 next_outbox |
 *   u32 msg_limit_default */
#define VREC_SEQ_LEN 29
/*   u8 ver | u64 created | u64 release_at | u32 cause | u32 flags | msg */
#define VREC_PENDING_LEN (1 + 8 + 8 + 4 + 4 + BH_STORE_MSG_LEN)
/*   u8 ver | msg; or, for an entry delivered to another chain than its
 *   message's destination (a hop notice), u8 VREC_DEST_VERSION | u16 to | msg */
#define VREC_OUTBOX_LEN (1 + BH_STORE_MSG_LEN)
#define VREC_DEST_VERSION 2
#define VREC_OUTBOX_DEST_LEN (3 + BH_STORE_MSG_LEN)
/*   u8 ver | u64 parked_at | u32 tries | msg | u8 error_len | error; a hop
 *   notice: u8 VREC_DEST_VERSION | u16 to | the same */
#define VREC_PARKED_MIN (1 + 8 + 4 + BH_STORE_MSG_LEN + 1)
#define VREC_PARKED_MAX (VREC_PARKED_MIN + 2 + BH_VAULT_ERROR_MAX)
/*   u8 ver | u64 time | u64 ref | u64 sequence | u32 kind | u32 effects |
 *   u32 reject | u16 chain | u16 lane_dec | u16 lane_inc |
 *   u16 emitter_chain | emitter[32] | digest[32] | token[32] |
 *   u128 amount | u8 actor_len | u8 reason_len | actor | reason */
#define VREC_JOURNAL_MIN 159
#define VREC_JOURNAL_MAX (VREC_JOURNAL_MIN + BH_VAULT_ACTOR_MAX + BH_VAULT_REASON_MAX)
/*   u8 ver | u16 chain | u64 since | u8 actor_len | u8 reason_len |
 *   actor | reason */
#define VREC_QUARANTINE_MIN 13
#define VREC_QUARANTINE_MAX (VREC_QUARANTINE_MIN + BH_VAULT_ACTOR_MAX + BH_VAULT_REASON_MAX)
/*   u8 ver | u8 n | n x u64 count (by bh_reject value). A record with
 *   fewer than BH_REJECT_COUNT_ reads the rest as 0; one with more (a newer
 *   build's reasons) is refused rather than its counts dropped. */
#define VREC_REJECTS_MAX (2 + 8 * BH_REJECT_COUNT_)
/*   value window (meta "vw.<src>", "vw.<src>.<dst>"):
 *   u8 ver | 24 x u64 hour | 24 x u128 sum */
#define VREC_VWIN_LEN (1 + 24 * 8 + 24 * 16)
/*   price (meta "px.<token hex>"): u8 ver | u128 fixed | u128 last |
 *   u64 updated_at | u64 seen_at | u128 ref | u64 ref_at | u128 suspect |
 *   u64 suspect_at | u64 max_age | u32 max_jump */
#define VREC_PRICE_LEN 109
/* meta scalars: chain_id u16; created, src.<chain>, wq.<..>, vq.<..>, oix u64;
 * min.<token> u128; name: 1..32 bytes of [a-z0-9_-] */

void vrec_asset_put(unsigned char *out, const bh_vault_asset *a);
BH_WARN_UNUSED_RESULT int vrec_asset_get(bh_vault_asset *a, const void *in, size_t len);
void vrec_lane_put(unsigned char *out, const bh_vault_lane *l);
BH_WARN_UNUSED_RESULT int vrec_lane_get(bh_vault_lane *l, const void *in, size_t len);
void vrec_chain_put(unsigned char *out, const vault_chain_rec *r);
BH_WARN_UNUSED_RESULT int vrec_chain_get(vault_chain_rec *r, const void *in, size_t len);
void vrec_seq_put(unsigned char *out, const vault_seq *s);
BH_WARN_UNUSED_RESULT int vrec_seq_get(vault_seq *s, const void *in, size_t len);
void vrec_pending_put(unsigned char *out, const vault_pending_rec *p);
BH_WARN_UNUSED_RESULT int vrec_pending_get(vault_pending_rec *p, const void *in, size_t len);
void vrec_outbox_put(unsigned char *out, const bh_transfer_msg *m);
BH_WARN_UNUSED_RESULT int vrec_outbox_get(bh_transfer_msg *m, const void *in, size_t len);
/* With the entry's destination (*to: the message's own unless a notice). */
size_t vrec_outbox_put_to(unsigned char *out, const bh_transfer_msg *m, uint16_t to);
BH_WARN_UNUSED_RESULT int vrec_outbox_get_to(bh_transfer_msg *m, uint16_t *to, const void *in,
                                             size_t len);
/* Returns: the record's length. */
size_t vrec_parked_put(unsigned char *out, const vault_parked_rec *r);
BH_WARN_UNUSED_RESULT int vrec_parked_get(vault_parked_rec *r, const void *in, size_t len);
/* actor and reason: their first actor_len / reason_len bytes (<= the maxima). */
size_t vrec_journal_put(unsigned char *out, const vault_jrec *j, const char *actor,
                        const char *reason);
BH_WARN_UNUSED_RESULT int vrec_journal_get(bh_vault_journal_entry *e, uint64_t id, const void *in,
                                           size_t len);
size_t vrec_quarantine_put(unsigned char *out, const bh_vault_quarantine *q);
BH_WARN_UNUSED_RESULT int vrec_quarantine_get(bh_vault_quarantine *q, const void *in, size_t len);
size_t vrec_rejects_put(unsigned char *out, const uint64_t r[BH_REJECT_COUNT_]);
BH_WARN_UNUSED_RESULT int vrec_rejects_get(uint64_t r[BH_REJECT_COUNT_], const void *in,
                                           size_t len);
void vrec_vwin_put(unsigned char *out, const bh_value_window *w);
BH_WARN_UNUSED_RESULT int vrec_vwin_get(bh_value_window *w, const void *in, size_t len);
void vrec_price_put(unsigned char *out, const bh_vault_price *p);
BH_WARN_UNUSED_RESULT int vrec_price_get(bh_vault_price *p, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int vrec_u16_get(uint16_t *x, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int vrec_u64_get(uint64_t *x, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int vrec_u128_get(bh_u128 *x, const void *in, size_t len);
/* name: NUL-terminated into out[BH_VAULT_NAME_MAX + 1]. */
BH_WARN_UNUSED_RESULT int vrec_name_get(char *out, const void *in, size_t len);

/* ---- schema 1 (struct copies, x86-64 layout), for the migration ---- */
#define V1_MSG_LEN 272
#define V1_ASSET_LEN 96
#define V1_LANE_LEN 784
#define V1_CHAIN_LEN 296
#define V1_SEQ_LEN 32
#define V1_PENDING_LEN 304
#define V1_PARKED_LEN 448
#define V1_JREC_LEN 160 /* then actor_len + reason_len bytes */
#define V1_QUARANTINE_LEN 216
#define V1_NAME_LEN 33

BH_WARN_UNUSED_RESULT int v1_asset_get(bh_vault_asset *a, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int v1_lane_get(bh_vault_lane *l, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int v1_chain_get(vault_chain_rec *r, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int v1_seq_get(vault_seq *s, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int v1_pending_get(vault_pending_rec *p, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int v1_outbox_get(bh_transfer_msg *m, const void *in, size_t len);
BH_WARN_UNUSED_RESULT int v1_parked_get(vault_parked_rec *r, const void *in, size_t len);
/* Out: j, and actor / reason pointing into in (their lengths in j). */
BH_WARN_UNUSED_RESULT int v1_journal_get(vault_jrec *j, const char **actor, const char **reason,
                                         const void *in, size_t len);
BH_WARN_UNUSED_RESULT int v1_quarantine_get(bh_vault_quarantine *q, const void *in, size_t len);
/* A little-endian integer of n bytes (1..16). */
bh_u128 v1_le(const unsigned char *p, size_t n);

#endif
