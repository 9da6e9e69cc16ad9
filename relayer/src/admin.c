/* The admin API's actions: vaultctl verbs in a child process of our own
 * binary, with bounded arguments, output and time. */
#include "bh_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bh_hex.h"
#include "bh_log.h"

extern char **environ;

#define DEFAULT_TIMEOUT_S 30
#define ACTOR_MAX 64

static json_t *fail(unsigned *status, unsigned code, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static json_t *fail(unsigned *status, unsigned code, const char *error, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    *status = code;
    return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", error, "message", msg);
}

static int actor_ok(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > ACTOR_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f) return 0;
    return 1;
}

/* A child's output as a JSON string: bytes a JSON string cannot carry
 * (invalid UTF-8) become '?'. */
static json_t *output_string(char *buf, size_t n)
{
    json_t *j = json_stringn(buf, n);
    if (j) return j;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] >= 0x80 || buf[i] == '\0') buf[i] = '?';
    return json_stringn(buf, n);
}

typedef struct {
    char *buf;
    size_t n, cap;
    int fd;
    int cut;
} sink;

static void sink_read(sink *s)
{
    char tmp[8192];
    ssize_t r = read(s->fd, tmp, sizeof tmp);
    if (r <= 0) {
        if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(s->fd);
            s->fd = -1;
        }
        return;
    }
    size_t take = (size_t)r;
    if (s->n + take > BH_ADMIN_MAX_OUTPUT) {
        take = BH_ADMIN_MAX_OUTPUT - s->n;
        s->cut = 1;
    }
    if (s->n + take > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16384;
        while (nc < s->n + take)
            nc *= 2;
        char *nb = realloc(s->buf, nc);
        if (nb == NULL) {
            s->cut = 1;
            return;
        }
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf + s->n, tmp, take);
    s->n += take;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The child's environment: what a C program's libraries, locale, clock and
 * temporary files need, and the sanitizers' options; not the node's keys or tokens
 * (key_env variables), which vaultctl never needs. */
static int env_kept(const char *e)
{
    static const char *const k[] = {"PATH=",           "TZ=",           "LANG=",
                                    "TMPDIR=",         "HOME=",         "ASAN_OPTIONS=",
                                    "UBSAN_OPTIONS=",  "LSAN_OPTIONS=", "TSAN_OPTIONS=",
                                    "LD_LIBRARY_PATH="};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strncmp(e, k[i], strlen(k[i])) == 0) return 1;
    return strncmp(e, "LC_", 3) == 0 && strchr(e, '=') != NULL;
}

#define CHILD_ENV_MAX 64

static void child_env(char *out[CHILD_ENV_MAX + 1])
{
    size_t n = 0;
    for (char **e = environ; e && *e && n < CHILD_ENV_MAX; e++)
        if (env_kept(*e)) out[n++] = *e;
    out[n] = NULL;
}

/* Run argv; collect stdout and stderr. Returns the exit status, -1 when
 * it could not run, -2 when it was killed for running past timeout_s. */
static int run_child(char *const argv[], unsigned timeout_s, sink *out, sink *err)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC)) return -1;
    if (pipe2(pe, O_CLOEXEC)) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    char *env[CHILD_ENV_MAX + 1];
    child_env(env);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    close(po[1]);
    close(pe[1]);
    out->fd = po[0];
    err->fd = pe[0];
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    uint64_t deadline = mono_ms() + (uint64_t)timeout_s * 1000u;
    int killed = 0;
    while (out->fd >= 0 || err->fd >= 0) {
        uint64_t now = mono_ms();
        if (now >= deadline) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd pf[2] = {{.fd = out->fd, .events = POLLIN},
                               {.fd = err->fd, .events = POLLIN}};
        int pr = poll(pf, 2, (int)(deadline - now));
        if (pr < 0 && errno != EINTR) break;
        if (pr <= 0) continue;
        if (pf[0].revents) sink_read(out);
        if (pf[1].revents) sink_read(err);
    }
    if (out->fd >= 0) close(out->fd);
    if (err->fd >= 0) close(err->fd);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (killed) return -2;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An argument the node sets itself, or none may set through the API:
 * --config would have the node read any file on its host and call the RPC
 * URLs in it. */
static const char *reserved_arg(const char *a)
{
    static const char *const k[] = {"-d",     "--data-dir",         "--actor",
                                    "--node", "--admin-token-file", "--config"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(a, k[i]) == 0) return k[i];
    return NULL;
}

static void log_action(const bh_admin *ad, const char *actor, const char *line, int rc)
{
    char qa[200], ql[1200];
    BH_LOG(rc == 0 ? BH_LOG_INFO : BH_LOG_WARN, "admin_action", "actor=%s action=%s rc=%d",
           bh_log_quote(qa, sizeof qa, actor), bh_log_quote(ql, sizeof ql, line), rc);
    char detail[512];
    snprintf(detail, sizeof detail, "%s by %s: rc %d", line, actor, rc);
    bh_node_event ev = {.kind = BH_NODE_EV_ADMIN, .time = (uint64_t)time(NULL), .detail = detail};
    if (ad->node) bh_node_notify(ad->node, &ev);
}

/* ---- verbs the node serves itself (its watcher owns reads and cursor) ---- */

#define WATCH_TIMEOUT_MS 10000

typedef struct {
    const char *pos[4];
    size_t n_pos;
    int json;
    const char *reason;
} node_args;

/* A refusal as the tool states one (README, "Command-line conventions"):
 * "vaultctl VERB: MESSAGE" on stderr, and with --json the envelope's
 * error on stdout. */
typedef struct {
    int exit;
    char code[32];
    char arg[128];
    char message[400];
} verb_error;

static int verb_err(verb_error *e, int exit, const char *code, const char *arg, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static int verb_err(verb_error *e, int exit, const char *code, const char *arg, const char *fmt,
                    ...)
{
    e->exit = exit;
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->arg, sizeof e->arg, "%s", arg ? arg : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return exit;
}

/* reobserve CHAIN TX | cursor CHAIN [rewind BLOCK --reason R]; --json
 * anywhere. Returns 0, or 2 with e set. */
static int node_args_parse(node_args *a, const json_t *jargv, verb_error *e)
{
    memset(a, 0, sizeof *a);
    size_t na = json_array_size(jargv);
    for (size_t i = 0; i < na; i++) {
        const char *s = json_string_value(json_array_get(jargv, i));
        if (strcmp(s, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(s, "--reason") == 0) {
            if (i + 1 >= na) return verb_err(e, 2, "missing_value", s, "--reason needs a value");
            a->reason = json_string_value(json_array_get(jargv, ++i));
        } else if (s[0] == '-' && s[1] == '-') {
            return verb_err(e, 2, "unknown_option", s, "unknown option '%.80s'", s);
        } else if (a->n_pos < sizeof a->pos / sizeof a->pos[0]) {
            a->pos[a->n_pos++] = s;
        } else {
            return verb_err(e, 2, "unexpected_argument", s, "unexpected argument '%.80s'", s);
        }
    }
    return 0;
}

static char *text_of(const json_t *o, int json)
{
    if (json) {
        char *d = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!d) return NULL;
        size_t n = strlen(d);
        char *t = realloc(d, n + 2);
        if (!t) {
            free(d);
            return NULL;
        }
        t[n] = '\n';
        t[n + 1] = 0;
        return t;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    const json_t *events = json_object_get(o, "events");
    if (events) {
        fprintf(f, "%s tx %s block %" JSON_INTEGER_FORMAT ": %zu Portal event%s\n",
                json_string_value(json_object_get(o, "chain")),
                json_string_value(json_object_get(o, "tx")),
                json_integer_value(json_object_get(o, "block")), json_array_size(events),
                json_array_size(events) == 1 ? "" : "s");
        size_t i;
        const json_t *e;
        json_array_foreach(events, i, e)
        {
            const char *st = json_string_value(json_object_get(e, "status"));
            const char *why = json_string_value(json_object_get(e, "reason"));
            fprintf(
                f, "  log %" JSON_INTEGER_FORMAT " %s seq %" JSON_INTEGER_FORMAT " -> vault %s: %s",
                json_integer_value(json_object_get(e, "log")),
                json_string_value(json_object_get(e, "kind")),
                json_integer_value(json_object_get(e, "sequence")),
                json_string_value(json_object_get(e, "vault")) ?: "-",
                json_string_value(json_object_get(e, "outcome")));
            if (st)
                fprintf(f, " (%s%s%s)", st, why ? ": " : "", why ? why : "");
            else if (why)
                fprintf(f, " (%s)", why);
            fputc('\n', f);
        }
    } else if (json_object_get(o, "from")) {
        fprintf(f,
                "%s cursor moved back from block %" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT
                "; blocks up to %" JSON_INTEGER_FORMAT " are read again\n",
                json_string_value(json_object_get(o, "chain")),
                json_integer_value(json_object_get(o, "from")),
                json_integer_value(json_object_get(o, "to")),
                json_integer_value(json_object_get(o, "reread_to")));
    } else {
        const json_t *ns = json_object_get(o, "next_sequence");
        fprintf(f,
                "%s cursor %" JSON_INTEGER_FORMAT " (%s)\n  next sequence %s%.0" JSON_INTEGER_FORMAT
                "\n  finalized %" JSON_INTEGER_FORMAT ", head %" JSON_INTEGER_FORMAT
                "\n  rewind floor %" JSON_INTEGER_FORMAT "\n",
                json_string_value(json_object_get(o, "chain")),
                json_integer_value(json_object_get(o, "cursor")),
                json_string_value(json_object_get(o, "hash")), json_is_null(ns) ? "none yet" : "",
                json_is_null(ns) ? (json_int_t)0 : json_integer_value(ns),
                json_integer_value(json_object_get(o, "finalized")),
                json_integer_value(json_object_get(o, "head")),
                json_integer_value(json_object_get(o, "rewind_floor")));
    }
    fclose(f);
    return buf;
}

/* The node's answer to a chain-or-name error: an unknown chain is an
 * argument naming nothing (2), the rest a refusal (1). */
static int node_refusal(verb_error *e, int rc, const char *chain, const char *why)
{
    if (rc == BH_ENOTFOUND && strncmp(why, "no chain named", 14) == 0)
        return verb_err(e, 2, "unknown_chain", chain, "%s", why);
    const char *code = rc == BH_ENOTFOUND  ? "not_found"
                       : rc == BH_ESTATE   ? "not_yet"
                       : rc == BH_EBUSY    ? "busy"
                       : rc == BH_ETIMEOUT ? "timeout"
                       : rc == BH_EINVAL   ? "refused"
                                           : "chain_failed";
    return verb_err(e, 1, code, NULL, "%s", why[0] ? why : bh_strerror(rc));
}

/* Returns the exit status vaultctl would: 0, 1 refused, 2 usage; out and
 * err are what it would print on stdout and stderr (heap). */
static int node_verb(const bh_admin *ad, const char *verb, const json_t *jargv, const char *who,
                     char **out, char **err)
{
    *out = NULL;
    *err = NULL;
    node_args a;
    verb_error e = {0};
    json_t *res = NULL;
    char why[300] = "";
    int rc = BH_OK;
    if (node_args_parse(&a, jargv, &e)) {
        /* a's json may be unset when the bad argument came first: look again */
        size_t i;
        json_t *v;
        json_array_foreach(jargv, i, v) a.json |= strcmp(json_string_value(v), "--json") == 0;
    } else if (!ad->node) {
        verb_err(&e, 1, "refused", NULL, "this server has no node");
    } else if (strcmp(verb, "reobserve") == 0) {
        bh_hash32 tx;
        if (a.n_pos != 3)
            verb_err(&e, 2, a.n_pos < 3 ? "missing_argument" : "unexpected_argument",
                     a.n_pos < 3 ? (a.n_pos < 2 ? "CHAIN" : "TXHASH") : a.pos[3],
                     "takes CHAIN TXHASH");
        else if (bh_hex_decode_exact(tx.data, 32, a.pos[2], strlen(a.pos[2])) != BH_OK)
            verb_err(&e, 2, "bad_argument", a.pos[2], "TXHASH '%.80s' is not 32 bytes of hex",
                     a.pos[2]);
        else if ((rc = bh_node_reobserve(ad->node, a.pos[1], &tx, WATCH_TIMEOUT_MS, &res, why,
                                         sizeof why)))
            node_refusal(&e, rc, a.pos[1], why);
    } else if (a.n_pos == 2) {
        if ((rc = bh_node_cursor(ad->node, a.pos[1], &res, why, sizeof why)))
            node_refusal(&e, rc, a.pos[1], why);
    } else if (a.n_pos == 4 && strcmp(a.pos[2], "rewind") == 0) {
        char *end = NULL;
        errno = 0;
        unsigned long long to = strtoull(a.pos[3], &end, 10);
        if (!a.pos[3][0] || *end || errno || a.pos[3][0] == '-')
            verb_err(&e, 2, "bad_argument", a.pos[3], "BLOCK '%.80s' is not a block number",
                     a.pos[3]);
        else if (!a.reason || !*a.reason)
            verb_err(&e, 2, "missing_argument", "--reason", "cursor rewind needs --reason");
        else if ((rc = bh_node_rewind(ad->node, a.pos[1], (uint64_t)to, who, a.reason,
                                      WATCH_TIMEOUT_MS, &res, why, sizeof why)))
            node_refusal(&e, rc, a.pos[1], why);
    } else {
        verb_err(&e, 2, a.n_pos < 2 ? "missing_argument" : "bad_argument",
                 a.n_pos < 2 ? "CHAIN" : a.pos[2], "takes CHAIN [rewind BLOCK --reason R]");
    }
    if (e.exit) {
        char *t = NULL;
        size_t tl = 0;
        FILE *f = open_memstream(&t, &tl);
        if (f) {
            fprintf(f, "vaultctl %s: %s", verb, e.message);
            if (e.exit == 2) fprintf(f, " (see 'vaultctl %s --help')", verb);
            fputc('\n', f);
            fclose(f);
        }
        *err = t;
        if (a.json) {
            json_t *er = json_pack("{s:s, s:s}", "code", e.code, "message", e.message);
            if (er && e.arg[0]) json_object_set_new(er, "arg", json_string(e.arg));
            json_t *env = json_pack("{s:b, s:o?}", "ok", 0, "error", er);
            *out = text_of(env, 1);
            json_decref(env);
        }
        return e.exit;
    }
    if (a.json) {
        json_t *env = json_pack("{s:b, s:O}", "ok", 1, "data", res);
        *out = text_of(env, 1);
        json_decref(env);
    } else {
        *out = text_of(res, 0);
    }
    json_decref(res);
    return 0;
}

static json_t *do_vaultctl(const bh_admin *ad, const json_t *req, unsigned *status)
{
    json_t *jargv = json_object_get(req, "argv");
    const char *actor = json_string_value(json_object_get(req, "actor"));
    if (!json_is_array(jargv) || json_array_size(jargv) == 0)
        return fail(status, 400, "bad_request", "argv: a non-empty array of strings is required");
    if (json_array_size(jargv) > BH_ADMIN_MAX_ARGS)
        return fail(status, 400, "bad_request", "argv: at most %d arguments", BH_ADMIN_MAX_ARGS);
    if (actor == NULL || !actor_ok(actor))
        return fail(status, 400, "bad_request",
                    "actor: 1..%d printable characters without spaces are required", ACTOR_MAX);
    size_t na = json_array_size(jargv);
    char who[ACTOR_MAX + 8];
    snprintf(who, sizeof who, "api:%s", actor);
    /* exe vaultctl -d DIR [OPTS] VERB --actor api:ACTOR ARGS... NULL: right
     * after the verb, so a trailing option that wants a value cannot take it */
    const char **argv = calloc(na + 8, sizeof *argv);
    if (argv == NULL) return fail(status, 500, "internal", "no memory");
    size_t k = 0;
    argv[k++] = ad->exe;
    argv[k++] = "vaultctl";
    argv[k++] = "-d";
    argv[k++] = ad->data_dir;
    char line[1024] = "";
    size_t ll = 0;
    const char *verb = NULL;
    for (size_t i = 0; i < na; i++) {
        const char *a = json_string_value(json_array_get(jargv, i));
        if (a == NULL || strlen(a) > BH_ADMIN_MAX_ARG) {
            free(argv);
            return fail(status, 400, "bad_request", "argv[%zu]: a string of at most %d bytes", i,
                        BH_ADMIN_MAX_ARG);
        }
        const char *r = reserved_arg(a);
        if (r) {
            free(argv);
            return fail(status, 400, "bad_request",
                        strcmp(r, "--config") == 0
                            ? "argv[%zu]: %s names a file on the node's host, which the admin "
                              "API does not read: run it there"
                            : "argv[%zu]: %s is set by the node, not through the admin API",
                        i, r);
        }
        argv[k++] = a;
        if (verb == NULL && a[0] != '-') {
            verb = a;
            argv[k++] = "--actor";
            argv[k++] = who;
        }
        int w = snprintf(line + ll, sizeof line - ll, "%s%s", i ? " " : "", a);
        if (w > 0) ll = ll + (size_t)w < sizeof line ? ll + (size_t)w : sizeof line - 1;
    }
    if (verb && (strcmp(verb, "reobserve") == 0 || strcmp(verb, "cursor") == 0)) {
        free(argv);
        char *out = NULL, *err = NULL;
        int rc = node_verb(ad, verb, jargv, who, &out, &err);
        log_action(ad, who, line, rc);
        *status = 200;
        json_t *resp = json_pack("{s:b, s:i, s:s, s:s, s:b}", "ok", rc == 0, "rc", rc, "stdout",
                                 out ? out : "", "stderr", err ? err : "", "truncated", 0);
        free(out);
        free(err);
        return resp;
    }
    if (verb && strcmp(verb, "migrate") == 0) {
        free(argv);
        return fail(status, 400, "bad_request",
                    "migrate converts vaults of a stopped node: stop the node and run vaultctl "
                    "migrate on its data directory");
    }
    if (verb == NULL) {
        argv[k++] = "--actor";
        argv[k++] = who;
    }
    argv[k] = NULL;
    sink out = {.fd = -1}, err = {.fd = -1};
    int rc = run_child((char *const *)argv, ad->timeout_s ? ad->timeout_s : DEFAULT_TIMEOUT_S, &out,
                       &err);
    free(argv);
    log_action(ad, who, line, rc);
    json_t *resp;
    if (rc == -2)
        resp = fail(status, 504, "timeout", "vaultctl ran past %u s and was killed",
                    ad->timeout_s ? ad->timeout_s : DEFAULT_TIMEOUT_S);
    else if (rc < 0)
        resp = fail(status, 500, "internal", "could not run %s vaultctl", ad->exe);
    else {
        *status = 200;
        resp = json_pack("{s:b, s:i, s:o, s:o, s:b}", "ok", rc == 0, "rc", rc, "stdout",
                         output_string(out.buf ? out.buf : "", out.n), "stderr",
                         output_string(err.buf ? err.buf : "", err.n), "truncated",
                         out.cut || err.cut);
    }
    free(out.buf);
    free(err.buf);
    return resp;
}

void bh_admin_handle(void *ud, const char *path, const json_t *req, unsigned *status, json_t **resp)
{
    const bh_admin *ad = ud;
    if (strcmp(path, "/admin/v1/vaultctl") == 0)
        *resp = do_vaultctl(ad, req, status);
    else
        *resp =
            fail(status, 404, "not_found", "no admin action at %s (try /admin/v1/vaultctl)", path);
}
