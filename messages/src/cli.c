#include "bh_cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_suggest.h"
#include "bh_version.h"

static struct {
    const char *tool, *globals, *verb;
    int json, forwarded;
    json_t *data;     /* the verb's result (--json) */
    json_t *error;    /* the last failure recorded */
    json_t *warnings; /* earlier failures and warnings */
} g = {.tool = "bulkhead"};

void bh_cli_begin(const char *tool, const char *globals, int argc, char **argv)
{
    json_decref(g.data);
    json_decref(g.error);
    json_decref(g.warnings);
    memset(&g, 0, sizeof g);
    g.tool = tool;
    g.globals = globals;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json")) g.json = 1;
}

int bh_cli_json(void)
{
    return g.json;
}

bh_cli_arg bh_cli_arg_kind(const char *a)
{
    if (!a) return BH_CLI_ARG_OTHER;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return BH_CLI_ARG_HELP;
    if (!strcmp(a, "--version")) return BH_CLI_ARG_VERSION;
    if (!strcmp(a, "--json")) return BH_CLI_ARG_JSON;
    if (!strcmp(a, "--dry-run")) return BH_CLI_ARG_DRY_RUN;
    return BH_CLI_ARG_OTHER;
}

void bh_cli_set_verb(const char *verb)
{
    g.verb = verb;
}

const bh_cli_verb *bh_cli_verb_find(const bh_cli_verb *verbs, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (!strcmp(verbs[i].name, name)) return &verbs[i];
    return NULL;
}

/* ---- output ---- */

static int print_doc(const json_t *j, size_t flags)
{
    char *s = json_dumps(j, flags);
    if (!s) return BH_EXIT_ENV;
    int bad = puts(s) < 0;
    free(s);
    return bad ? BH_EXIT_ENV : BH_EXIT_OK;
}

int bh_cli_result(json_t *data, int text_json)
{
    if (!data) return bh_cli_fail(BH_EXIT_ENV, "out_of_memory", NULL, "out of memory");
    if (g.json) {
        json_decref(g.data);
        g.data = data;
        return BH_EXIT_OK;
    }
    int rc =
        text_json == BH_CLI_TEXT_NONE
            ? BH_EXIT_OK
            : print_doc(data, text_json == BH_CLI_TEXT_LINE ? JSON_COMPACT | JSON_PRESERVE_ORDER
                                                            : JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(data);
    return rc;
}

void bh_cli_say(const char *fmt, ...)
{
    if (g.json) return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* ---- errors ---- */

static void warn_add(json_t *msg)
{
    if (!g.warnings) g.warnings = json_array();
    json_array_append_new(g.warnings, msg);
}

static void record(const char *code, const char *arg, const char *suggestion, const char *msg)
{
    if (g.error) {
        warn_add(json_incref(json_object_get(g.error, "message")));
        json_decref(g.error);
    }
    g.error = json_pack("{s:s, s:s}", "code", code, "message", msg);
    if (g.error && arg) json_object_set_new(g.error, "arg", json_string(arg));
    if (g.error && suggestion) json_object_set_new(g.error, "suggestion", json_string(suggestion));
}

static int vfail(int exit, const char *code, const char *arg, const char *suggestion, int hint,
                 const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *sp = g.verb ? " " : "", *vb = g.verb ? g.verb : "";
    if (hint)
        fprintf(stderr, "%s%s%s: %s (see '%s%s%s --help')\n", g.tool, sp, vb, msg, g.tool, sp, vb);
    else
        fprintf(stderr, "%s%s%s: %s\n", g.tool, sp, vb, msg);
    record(code, arg, suggestion, msg);
    return exit;
}

int bh_cli_fail(int exit, const char *code, const char *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(exit, code, arg, NULL, 0, fmt, ap);
    va_end(ap);
    return rc;
}

int bh_cli_usage(const char *code, const char *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(BH_EXIT_USAGE, code ? code : "bad_argument", arg, NULL, 1, fmt, ap);
    va_end(ap);
    return rc;
}

static int usage_with(const char *code, const char *arg, const char *suggestion, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static int usage_with(const char *code, const char *arg, const char *suggestion, const char *fmt,
                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(BH_EXIT_USAGE, code, arg, suggestion, 1, fmt, ap);
    va_end(ap);
    return rc;
}

/* The word of a verb's name at this level: "decode" of "vaa decode" in
 * scope "vaa", "vaa" at the top; NULL when the verb is not in scope. */
static const char *word_at(const char *name, const char *scope, char *buf, size_t cap)
{
    if (scope) {
        size_t l = strlen(scope);
        if (strncmp(name, scope, l) || name[l] != ' ') return NULL;
        return name + l + 1;
    }
    size_t w = strcspn(name, " ");
    snprintf(buf, cap, "%.*s", (int)w, name);
    return buf;
}

int bh_cli_unknown_verb(const bh_cli_verb *verbs, size_t n, const char *typed)
{
    const char *scope = g.verb, *best = NULL;
    size_t best_d = (size_t)-1;
    char word[64], best_word[64] = "";
    for (size_t i = 0; typed && i < n; i++) {
        const char *w = word_at(verbs[i].name, scope, word, sizeof word);
        if (!w) continue;
        size_t d = bh_edit_distance(typed, w);
        if (d < best_d) {
            best_d = d;
            best = verbs[i].name;
            snprintf(best_word, sizeof best_word, "%s", w);
        }
    }
    char full[160];
    if (best && bh_suggest_near(best_d, typed)) {
        if (scope)
            snprintf(full, sizeof full, "%s %s", scope, best_word);
        else
            snprintf(full, sizeof full, "%s", best_word);
        return usage_with("unknown_verb", typed, full,
                          "unknown verb '%s%s%.60s'; did you mean '%s'?", scope ? scope : "",
                          scope ? " " : "", typed, full);
    }
    return usage_with("unknown_verb", typed ? typed : "", NULL, "unknown verb '%s%s%.60s'",
                      scope ? scope : "", scope ? " " : "", typed ? typed : "");
}

int bh_cli_unknown_option(const char *typed, const char *const *known, size_t n)
{
    static const char *const common[] = {"--help", "--version", "--json", "--dry-run"};
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n + 4; i++) {
        const char *k = i < n ? known[i] : common[i - n];
        size_t d = bh_edit_distance(typed, k);
        if (d < best_d) best_d = d, best = k;
    }
    if (best_d == 0) /* a real option, in a place it does not go */
        return usage_with("unknown_option", typed, NULL,
                          "option '%.60s' does not go here (see the usage)", typed);
    if (best && bh_suggest_near(best_d, typed))
        return usage_with("unknown_option", typed, best,
                          "unknown option '%.60s'; did you mean '%s'?", typed, best);
    return usage_with("unknown_option", typed, NULL, "unknown option '%.60s'", typed);
}

void bh_cli_warn(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s%s%s: %s\n", g.tool, g.verb ? " " : "", g.verb ? g.verb : "", msg);
    warn_add(json_string(msg));
}

/* ---- help, version, listing ---- */

int bh_cli_version(void)
{
    if (!g.json) {
        printf("%s %s (%s)\n", g.tool, BH_VERSION, BH_COMMIT);
        return BH_EXIT_OK;
    }
    return bh_cli_result(
        json_pack("{s:s, s:s, s:s}", "tool", g.tool, "version", BH_VERSION, "commit", BH_COMMIT),
        0);
}

int bh_cli_help(const char *text, const bh_cli_verb *verbs, size_t n)
{
    if (!g.json) {
        fputs(text, stdout);
        return BH_EXIT_OK;
    }
    json_t *names = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(names, json_string(verbs[i].name));
    return bh_cli_result(json_pack("{s:s, s:o}", "help", text, "verbs", names), 0);
}

static void usage_line(char *out, size_t cap, const bh_cli_verb *v)
{
    snprintf(out, cap, "%s%s%s %s", g.tool, g.globals ? " " : "", g.globals ? g.globals : "",
             v->usage);
}

int bh_cli_verb_help(const bh_cli_verb *v)
{
    char u[512];
    usage_line(u, sizeof u, v);
    const char *dry = v->flags & BH_CLI_WRITES
                          ? "\n--dry-run: every check the verb makes, and what it would change; "
                            "nothing is changed.\n"
                          : "";
    if (!g.json) {
        printf("usage: %s\n\n%s\n%s", u, v->help, dry);
        return BH_EXIT_OK;
    }
    return bh_cli_result(json_pack("{s:s, s:s, s:s, s:b}", "verb", v->name, "usage", u, "help",
                                   v->help, "writes", (v->flags & BH_CLI_WRITES) != 0),
                         0);
}

int bh_cli_verbs(const bh_cli_verb *verbs, size_t n)
{
    json_t *arr = g.json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        char u[512];
        usage_line(u, sizeof u, &verbs[i]);
        if (arr)
            json_array_append_new(arr,
                                  json_pack("{s:s, s:s, s:b}", "verb", verbs[i].name, "usage", u,
                                            "writes", (verbs[i].flags & BH_CLI_WRITES) != 0));
        else
            puts(verbs[i].name);
    }
    return arr ? bh_cli_result(arr, 0) : BH_EXIT_OK;
}

/* ---- the end ---- */

static const char *default_code(int rc)
{
    switch (rc) {
    case BH_EXIT_USAGE:
        return "usage";
    case BH_EXIT_ENV:
        return "environment";
    default:
        return "failed";
    }
}

void bh_cli_forwarded(void)
{
    g.forwarded = 1;
}

int bh_cli_end(int rc)
{
    if (g.json && !g.forwarded) {
        json_t *env = json_pack("{s:b}", "ok", rc == BH_EXIT_OK);
        if (env && g.data)
            json_object_set(env, "data", g.data);
        else if (env && rc == BH_EXIT_OK)
            json_object_set_new(env, "data", json_null());
        if (env && rc != BH_EXIT_OK) {
            if (!g.error) {
                char m[64];
                snprintf(m, sizeof m, "exit status %d", rc);
                record(default_code(rc), NULL, NULL, m);
            }
            json_object_set(env, "error", g.error);
        } else if (env && g.error) {
            /* recorded, but the verb went on and succeeded */
            warn_add(json_incref(json_object_get(g.error, "message")));
        }
        if (env && g.warnings) json_object_set(env, "warnings", g.warnings);
        int prc = env ? print_doc(env, JSON_INDENT(2) | JSON_SORT_KEYS) : BH_EXIT_ENV;
        json_decref(env);
        if (prc && !rc) rc = prc;
    }
    if (fflush(stdout) != 0 && !rc) rc = BH_EXIT_ENV;
    json_decref(g.data);
    json_decref(g.error);
    json_decref(g.warnings);
    g.data = g.error = g.warnings = NULL;
    return rc;
}
