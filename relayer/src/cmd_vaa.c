#include "bh_cmd.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_amount.h"
#include "bh_attest.h"
#include "bh_hex.h"
#include "bh_transfer.h"
#include "bh_vaa.h"

/* Text input cap: a maximal VAA in hex plus slack for whitespace. */
#define INPUT_CAP (2 * BH_VAA_MAX_LEN + 4096)

static const char usage_text[] =
    "usage: bulkhead vaa decode HEX|BASE64|- [--json]\n"
    "       bulkhead vaa verify --signers FILE HEX|BASE64|- [--json]\n"
    "\n"
    "decode  print every header, body and payload field as JSON\n"
    "verify  check the signatures against a signer set; prints \"ok\" or the\n"
    "        reject reason's name (see 'bulkhead vaa verify --help')\n"
    "\n"
    "The VAA is hex (with or without 0x) or base64; \"-\" reads standard input.\n"
    "exit: 0 ok, 1 refused (reason printed), 2 usage or unreadable input\n";

static char *read_stdin(size_t *len)
{
    char *buf = malloc(INPUT_CAP + 1);
    if (buf == NULL) return NULL;
    size_t n = fread(buf, 1, INPUT_CAP + 1, stdin);
    if (n > INPUT_CAP) {
        free(buf);
        *len = SIZE_MAX;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Decode hex first (a hex string is never what a VAA looks like in base64:
 * version 1 encodes as "AQ"), then base64. Surrounding whitespace ignored. */
static int decode_input(unsigned char *out, size_t *out_len, const char *arg)
{
    char *owned = NULL;
    size_t len = 0;
    const char *text = arg;
    if (strcmp(arg, "-") == 0) {
        owned = read_stdin(&len);
        if (owned == NULL) {
            return bh_cli_usage("unreadable_input", "-", "standard input %s",
                                len == SIZE_MAX ? "exceeds the size cap" : "could not be read");
        }
        text = owned;
    }
    while (isspace((unsigned char)*text))
        text++;
    len = strlen(text);
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    if (len > INPUT_CAP) {
        const char *which = owned ? "-" : "VAA";
        free(owned);
        return bh_cli_usage("unreadable_input", which, "input exceeds the size cap");
    }
    int rc = bh_hex_decode(out, BH_VAA_MAX_LEN, out_len, text, len);
    if (rc == BH_EMALFORMED) rc = bh_base64_decode(out, BH_VAA_MAX_LEN, out_len, text, len);
    free(owned);
    if (rc == BH_ENOSPC) {
        return bh_cli_usage("unreadable_input", "VAA", "VAA longer than %d bytes", BH_VAA_MAX_LEN);
    }
    if (rc != BH_OK) {
        return bh_cli_usage("unreadable_input", "VAA", "input is neither hex nor base64");
    }
    return BH_EXIT_OK;
}

static json_t *jhex(const unsigned char *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    if (s == NULL) return NULL;
    s[0] = '0';
    s[1] = 'x';
    bh_hex_encode(s + 2, p, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* A wire address: 20 bytes when it is an EVM address (bh_hex_address). */
static json_t *jaddr(const unsigned char b[32])
{
    char s[67];
    bh_hex_address(s, b);
    return json_string(s);
}

static json_t *ju256(const bh_u256 *v)
{
    char dec[BH_U256_DEC_MAX];
    bh_u256_to_dec(dec, v);
    return json_string(dec);
}

static json_t *decode_json(const bh_vaa *vaa)
{
    json_t *sigs = json_array();
    for (unsigned i = 0; i < vaa->n_sigs; i++) {
        const bh_vaa_sig *s = &vaa->sigs[i];
        json_array_append_new(sigs, json_pack("{s:i, s:o, s:o, s:i}", "signer_index",
                                              s->signer_index, "r", jhex(s->rs, 32), "s",
                                              jhex(s->rs + 32, 32), "v", s->v));
    }
    char seq[24];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)vaa->b.sequence);
    bh_hash32 digest;
    bh_vaa_digest(&digest, vaa->body, vaa->body_len);

    json_t *payload;
    bh_transfer t;
    bh_reject why;
    if (bh_transfer_parse(&t, &why, vaa->b.payload, vaa->b.payload_len) == BH_OK) {
        payload = json_pack("{s:i, s:s, s:o, s:o, s:i, s:o, s:i, s:o}", "payload_id",
                            BH_TRANSFER_PAYLOAD_ID, "kind", "transfer", "amount", ju256(&t.amount),
                            "token", jaddr(t.token.data), "token_chain", t.token_chain, "to",
                            jaddr(t.to.data), "to_chain", t.to_chain, "fee", ju256(&t.fee));
    } else {
        payload =
            json_pack("{s:i, s:s, s:s}", "payload_id", vaa->b.payload_len ? vaa->b.payload[0] : -1,
                      "kind", "other", "not_a_transfer", bh_reject_name(why));
    }
    return json_pack("{s:i, s:I, s:i, s:o, s:{s:I, s:I, s:i, s:o, s:s, s:i, s:I, s:o}, "
                     "s:o, s:o}",
                     "version", vaa->version, "signer_set_index", (json_int_t)vaa->signer_set_index,
                     "n_signatures", vaa->n_sigs, "signatures", sigs, "body", "timestamp",
                     (json_int_t)vaa->b.timestamp, "nonce", (json_int_t)vaa->b.nonce,
                     "emitter_chain", vaa->b.emitter_chain, "emitter", jaddr(vaa->b.emitter.data),
                     "sequence", seq, "consistency", vaa->b.consistency, "payload_len",
                     (json_int_t)vaa->b.payload_len, "payload_hex",
                     jhex(vaa->b.payload, vaa->b.payload_len), "digest", jhex(digest.data, 32),
                     "payload", payload);
}

/* Reads the signer file strictly; errors name the JSON path. */
static int load_signers(bh_signer_set *set, const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    int rc = BH_EXIT_USAGE;
    memset(set, 0, sizeof *set);
    if (root == NULL) {
        return bh_cli_usage("signers_invalid", "--signers", "%s:%d: %s", path, err.line, err.text);
    }
    if (!json_is_object(root)) {
        bh_cli_usage("signers_invalid", "--signers", "%s: $: expected an object", path);
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (strcmp(key, "index") && strcmp(key, "addresses") && strcmp(key, "quorum") &&
            strcmp(key, "expires_at")) {
            bh_cli_usage("signers_invalid", "--signers", "%s: $.%s: unknown key", path, key);
            goto out;
        }
    }
    json_t *index = json_object_get(root, "index");
    if (!json_is_integer(index) || json_integer_value(index) < 0 ||
        json_integer_value(index) > UINT32_MAX) {
        bh_cli_usage("signers_invalid", "--signers",
                     "%s: $.index: expected an integer 0..4294967295", path);
        goto out;
    }
    set->index = (uint32_t)json_integer_value(index);
    json_t *addrs = json_object_get(root, "addresses");
    if (!json_is_array(addrs) || json_array_size(addrs) == 0 ||
        json_array_size(addrs) > BH_MAX_SIGNERS) {
        bh_cli_usage("signers_invalid", "--signers", "%s: $.addresses: expected 1..%d addresses",
                     path, BH_MAX_SIGNERS);
        goto out;
    }
    set->n = (uint8_t)json_array_size(addrs);
    for (size_t i = 0; i < json_array_size(addrs); i++) {
        json_t *a = json_array_get(addrs, i);
        if (!json_is_string(a) || bh_hex_decode_exact(set->addrs[i].data, 20, json_string_value(a),
                                                      json_string_length(a)) != BH_OK) {
            bh_cli_usage("signers_invalid", "--signers",
                         "%s: $.addresses[%zu]: expected a 20-byte hex address", path, i);
            goto out;
        }
    }
    json_t *quorum = json_object_get(root, "quorum");
    if (quorum) {
        if (!json_is_integer(quorum) || json_integer_value(quorum) < 1 ||
            json_integer_value(quorum) > set->n) {
            bh_cli_usage("signers_invalid", "--signers", "%s: $.quorum: expected an integer 1..%u",
                         path, set->n);
            goto out;
        }
        set->quorum = (uint8_t)json_integer_value(quorum);
    }
    json_t *exp = json_object_get(root, "expires_at");
    if (exp) {
        if (!json_is_integer(exp) || json_integer_value(exp) < 0) {
            bh_cli_usage("signers_invalid", "--signers", "%s: $.expires_at: expected unix seconds",
                         path);
            goto out;
        }
        set->expires_at = (uint64_t)json_integer_value(exp);
    }
    rc = BH_EXIT_OK;
out:
    json_decref(root);
    return rc;
}

/* The verb's own arguments: --help, --version and --json anywhere, one
 * VAA, and --signers FILE where `signers` is given. */
static int parse_args(int argc, char **argv, const char *name, const char **signers,
                      const char **input, int *done)
{
    static const char *const options[] = {"--signers"};
    *done = 1;
    for (int i = 0; i < argc; i++) {
        int rc, common = bh_cmd_common_arg(argv[i], name, &rc);
        if (common == 1) return rc;
        if (common == 2) continue;
        if (signers && strcmp(argv[i], "--signers") == 0) {
            if (i + 1 >= argc)
                return bh_cli_usage("missing_value", "--signers", "--signers needs a FILE");
            *signers = argv[++i];
        } else if (strncmp(argv[i], "--", 2) == 0) {
            return bh_cli_unknown_option(argv[i], options, signers ? 1 : 0);
        } else if (*input == NULL) {
            *input = argv[i];
        } else {
            return bh_cli_usage("unexpected_argument", argv[i],
                                "takes one VAA; '%.60s' is a second", argv[i]);
        }
    }
    if (signers && *signers == NULL)
        return bh_cli_usage("missing_argument", "--signers", "needs --signers FILE");
    if (*input == NULL)
        return bh_cli_usage("missing_argument", "VAA", "needs a VAA (hex, base64 or -)");
    *done = 0;
    return BH_EXIT_OK;
}

static int cmd_decode(int argc, char **argv)
{
    const char *input = NULL;
    int done, x = parse_args(argc, argv, "vaa decode", NULL, &input, &done);
    if (done) return x;
    static unsigned char raw[BH_VAA_MAX_LEN];
    static bh_vaa vaa;
    size_t len;
    int rc = decode_input(raw, &len, input);
    if (rc != BH_EXIT_OK) return rc;
    bh_reject why;
    if (bh_vaa_parse(&vaa, &why, raw, len) != BH_OK) {
        if (!bh_cli_json()) printf("%s\n", bh_reject_name(why));
        return bh_cli_fail(BH_EXIT_FAILED, bh_reject_name(why), NULL, "malformed VAA: %s",
                           bh_reject_name(why));
    }
    json_t *j = decode_json(&vaa);
    if (bh_cli_json()) return bh_cli_result(j, 0);
    if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        json_decref(j);
        return bh_cli_fail(BH_EXIT_ENV, "out_of_memory", NULL, "out of memory");
    }
    putchar('\n');
    json_decref(j);
    return BH_EXIT_OK;
}

static int cmd_verify(int argc, char **argv)
{
    const char *signers = NULL, *input = NULL;
    int done, x = parse_args(argc, argv, "vaa verify", &signers, &input, &done);
    if (done) return x;
    static bh_signer_set set;
    int rc = load_signers(&set, signers);
    if (rc != BH_EXIT_OK) return rc;
    static unsigned char raw[BH_VAA_MAX_LEN];
    static bh_vaa vaa;
    size_t len;
    rc = decode_input(raw, &len, input);
    if (rc != BH_EXIT_OK) return rc;

    bh_reject why;
    if (bh_vaa_parse(&vaa, &why, raw, len) == BH_OK) {
        bh_attest *ctx = bh_attest_create();
        if (ctx == NULL) return bh_cli_fail(BH_EXIT_ENV, "out_of_memory", NULL, "out of memory");
        why = bh_vaa_verify(ctx, &vaa, &set, (uint64_t)time(NULL));
        bh_attest_destroy(ctx);
    }
    const char *name = bh_reject_name(why);
    if (!bh_cli_json()) printf("%s\n", name);
    rc = bh_cli_result(json_pack("{s:s, s:b}", "result", name, "verified", why == BH_REJECT_OK), 0);
    if (rc) return rc;
    if (why == BH_REJECT_OK) return BH_EXIT_OK;
    /* the verdict is on stdout (text) or in data; the error says why too */
    return bh_cli_fail(BH_EXIT_FAILED, name, NULL, "refused: %s", name);
}

static const char *const k_sub[] = {"decode", "verify"};

int bh_cmd_vaa(int argc, char **argv)
{
    bh_cli_set_verb("vaa");
    for (int i = 0; i < argc; i++) {
        bh_cli_arg a = bh_cli_arg_kind(argv[i]);
        if (a == BH_CLI_ARG_JSON) continue;
        if (a == BH_CLI_ARG_HELP) return bh_cli_help(usage_text, bh_cmd_verbs, bh_cmd_n_verbs);
        if (a == BH_CLI_ARG_VERSION) return bh_cli_version();
        for (size_t k = 0; k < sizeof k_sub / sizeof k_sub[0]; k++)
            if (strcmp(argv[i], k_sub[k]) == 0) {
                bh_cli_set_verb(k ? "vaa verify" : "vaa decode");
                return k ? cmd_verify(argc - i - 1, argv + i + 1)
                         : cmd_decode(argc - i - 1, argv + i + 1);
            }
        if (argv[i][0] == '-') return bh_cli_unknown_option(argv[i], NULL, 0);
        return bh_cli_unknown_verb(bh_cmd_verbs, bh_cmd_n_verbs, argv[i]);
    }
    return bh_cli_usage("missing_verb", NULL, "give decode or verify");
}
