/* vaultctl --node URL: the same verb, run by a node's admin API on that
 * node's own data directory; what it prints and its exit status are the
 * verb's. */
#include "ctl_remote.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_cli.h"
#include "bh_secret.h"

#define EXIT_REFUSED BH_EXIT_FAILED
#define EXIT_USAGE BH_EXIT_USAGE
#define MAX_REPLY (8u << 20)
#define TOKEN_CAP 300

typedef struct {
    char *buf;
    size_t n;
    int cut;
} reply;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    reply *r = ud;
    size_t n = size * nmemb;
    if (r->n + n > MAX_REPLY) {
        r->cut = 1;
        return 0;
    }
    char *nb = realloc(r->buf, r->n + n + 1);
    if (nb == NULL) return 0;
    memcpy(nb + r->n, p, n);
    r->buf = nb;
    r->n += n;
    r->buf[r->n] = '\0';
    return n;
}

/* The admin token: from token_file, else $BULKHEAD_ADMIN_TOKEN. */
static int load_token(char *out, size_t cap, const char *token_file)
{
    if (token_file) {
        size_t n = 0;
        char why[512];
        if (bh_secret_read_file(out, cap - 1, &n, why, sizeof why, token_file) != 0)
            return bh_cli_fail(EXIT_USAGE, "admin_token_unreadable", "--admin-token-file",
                               "--admin-token-file: %s", why);
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
            n--;
        out[n] = '\0';
        return 0;
    }
    const char *e = getenv("BULKHEAD_ADMIN_TOKEN");
    if (e == NULL || *e == '\0' || strlen(e) >= cap)
        return bh_cli_usage("missing_argument", "--admin-token-file",
                            "--node needs the node's admin token: --admin-token-file FILE "
                            "or $BULKHEAD_ADMIN_TOKEN");
    snprintf(out, cap, "%s", e);
    return 0;
}

int bh_vaultctl_remote(const char *node, const char *token_file, const char *actor, int argc,
                       char **argv)
{
    char token[TOKEN_CAP];
    int x = load_token(token, sizeof token, token_file);
    if (x) return x;
    json_t *a = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(a, json_string(argv[i]));
    json_t *req = json_pack("{s:o, s:s}", "argv", a, "actor", actor);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL) {
        explicit_bzero(token, sizeof token);
        return bh_cli_usage("bad_argument", NULL, "an argument is not valid UTF-8");
    }
    char url[2048], auth[TOKEN_CAP + 32];
    size_t ul = strlen(node);
    while (ul > 0 && node[ul - 1] == '/')
        ul--;
    snprintf(url, sizeof url, "%.*s/admin/v1/vaultctl", (int)ul, node);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    explicit_bzero(token, sizeof token);

    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    explicit_bzero(auth, sizeof auth);
    reply r = {0};
    long code = 0;
    CURLcode cc = CURLE_FAILED_INIT;
    if (c && h) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    int rc = EXIT_REFUSED;
    json_t *resp = cc == CURLE_OK ? json_loadb(r.buf ? r.buf : "", r.n, 0, NULL) : NULL;
    if (cc != CURLE_OK) {
        bh_cli_fail(EXIT_REFUSED, "node_unreachable", "--node", "node %s: %s", node,
                    curl_easy_strerror(cc));
    } else if (code == 200 && json_is_integer(json_object_get(resp, "rc"))) {
        /* the node's vaultctl printed its own envelope (with --json) */
        const char *out = json_string_value(json_object_get(resp, "stdout"));
        const char *err = json_string_value(json_object_get(resp, "stderr"));
        if (out) fputs(out, stdout);
        if (err) fputs(err, stderr);
        rc = (int)json_integer_value(json_object_get(resp, "rc"));
        bh_cli_forwarded();
    } else {
        const char *msg = json_string_value(json_object_get(resp, "message"));
        const char *code_s = json_string_value(json_object_get(resp, "error"));
        if (code == 400) rc = EXIT_USAGE;
        bh_cli_fail(rc, code_s ? code_s : "node_refused", "--node",
                    "node %s refused (HTTP %ld): %s", node, code, msg ? msg : "no reason given");
    }
    json_decref(resp);
    free(r.buf);
    return rc;
}
