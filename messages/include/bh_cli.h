/* What every bulkhead command-line tool (bulkhead, vaultctl,
 * bulkhead-deploy) shares: exit statuses, --version, --help and the verb
 * listing, "unknown verb ...; did you mean ...?", usage errors that name
 * the argument, and the JSON envelope --json prints on stdout:
 *
 *   {"ok": true,  "data": ...}
 *   {"ok": false, "error": {"code": "snake_case", "message": "...",
 *                           "arg": "...", "suggestion": "..."}, "data": ...}
 *
 * ("arg" and "suggestion" only when there is one; "data" null when a
 * verb that succeeded has no result; "data" on failure only
 * when the verb produced a result, e.g. an audit that found a mismatch;
 * "warnings" when something was reported but did not fail the verb.)
 * README.md, "Command-line conventions", is the user's side of this.
 *
 * The state is the process's (one tool, one verb, one envelope): call
 * bh_cli_begin first, bh_cli_end last, from one thread. */
#ifndef BH_CLI_H
#define BH_CLI_H

#include <jansson.h>
#include <stddef.h>

/* Exit statuses, the same in every tool. */
enum {
    BH_EXIT_OK = 0,     /* done */
    BH_EXIT_FAILED = 1, /* refused or failed: a vault, a chain, a check said no */
    BH_EXIT_USAGE = 2,  /* wrong input: the command line, a config, a limit */
    BH_EXIT_ENV = 3     /* the environment: data directory, I/O, memory */
};

/* bh_cli_verb.flags */
#define BH_CLI_WRITES 1u /* changes something: takes --dry-run */

/* One verb of a tool (a tool's table of them is its dispatch and its help). */
typedef struct {
    const char *name;  /* "show"; a sub-verb as "vaa decode" */
    const char *usage; /* one line without the tool: "show CHAIN [--json]" */
    const char *help;  /* what it does, for `TOOL VERB --help` */
    unsigned flags;    /* BH_CLI_WRITES */
} bh_cli_verb;

/* The options every verb of every tool takes. */
typedef enum {
    BH_CLI_ARG_OTHER = 0,
    BH_CLI_ARG_HELP,    /* --help, -h */
    BH_CLI_ARG_VERSION, /* --version */
    BH_CLI_ARG_JSON,    /* --json */
    BH_CLI_ARG_DRY_RUN  /* --dry-run */
} bh_cli_arg;

/* Start a tool's run. tool: its name in messages ("vaultctl"); globals:
 * what its verb usages start with after the name ("[-d DATA_DIR]", or
 * NULL). argv is scanned for --json, so even an error found before the
 * tool's parser reaches it is an envelope. Borrowed until bh_cli_end. */
void bh_cli_begin(const char *tool, const char *globals, int argc, char **argv);

/* Returns: 1 when --json was given. */
int bh_cli_json(void);

/* Returns: which common option arg is (BH_CLI_ARG_OTHER if none). */
bh_cli_arg bh_cli_arg_kind(const char *arg);

/* The verb being run (borrowed): usage errors from now on point at
 * `TOOL VERB --help`. NULL: the tool itself. */
void bh_cli_set_verb(const char *verb);

/* Returns: the verb named `name` in the table, or NULL. */
const bh_cli_verb *bh_cli_verb_find(const bh_cli_verb *verbs, size_t n, const char *name);

/* ---- what a verb prints ---- */

/* bh_cli_result's text_json: what text mode does with the result. */
#define BH_CLI_TEXT_NONE 0 /* nothing: the verb printed its text already */
#define BH_CLI_TEXT_JSON 1 /* print it as indented JSON (export, vaa decode) */
#define BH_CLI_TEXT_LINE 2 /* print it as one line of JSON (bulkhead-deploy) */

/* The verb's result. With --json it becomes the envelope's "data" (taking
 * ownership; NULL = out of memory, reported); without, text_json says
 * what is printed. Returns: an exit status (0, or 3 when it could not be
 * built or printed). */
int bh_cli_result(json_t *data, int text_json);

/* printf to stdout in text mode; nothing with --json (the envelope is all
 * stdout carries then). */
void bh_cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- errors (text on stderr always; the envelope's "error" with --json) ---- */

/* A failure: prints "TOOL VERB: MESSAGE" on stderr and records it (the last
 * one recorded is the envelope's error, earlier ones become warnings).
 * code: stable snake_case; arg: the argument at fault as given, or NULL.
 * Returns: exit. */
int bh_cli_fail(int exit, const char *code, const char *arg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A usage error: as bh_cli_fail with exit 2 and the hint
 * "(see 'TOOL VERB --help')" instead of the whole usage. code NULL means
 * "bad_argument". Returns: BH_EXIT_USAGE. */
int bh_cli_usage(const char *code, const char *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "unknown verb 'lsit'; did you mean 'list'?" (the nearest of the table's
 * names, if near enough; a sub-verb table's names are "vaa decode" and
 * typed the last word). Returns: BH_EXIT_USAGE. */
int bh_cli_unknown_verb(const bh_cli_verb *verbs, size_t n, const char *typed);

/* "unknown option '--jsno'; did you mean '--json'?" among known (the
 * verb's own options; the common ones are added). Returns: BH_EXIT_USAGE. */
int bh_cli_unknown_option(const char *typed, const char *const *known, size_t n);

/* A message on stderr that does not fail the verb ("warnings" in the
 * envelope). */
void bh_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- help, version, the verb listing (each returns BH_EXIT_OK) ---- */

/* "TOOL VERSION (COMMIT)"; data {"tool", "version", "commit"}. */
int bh_cli_version(void);

/* The tool's help text; data {"help": text, "verbs": [names]}. */
int bh_cli_help(const char *text, const bh_cli_verb *verbs, size_t n);

/* One verb's usage line and help; data {"verb", "usage", "help", "writes"}. */
int bh_cli_verb_help(const bh_cli_verb *v);

/* `TOOL verbs`: every verb, one a line; data [{"verb", "usage", "writes"}]. */
int bh_cli_verbs(const bh_cli_verb *verbs, size_t n);

/* Stdout carries another run's envelope (vaultctl --node: the node's
 * vaultctl printed it): bh_cli_end prints none of its own. */
void bh_cli_forwarded(void);

/* ---- the end ---- */

/* With --json, prints the envelope for exit status rc on stdout; frees
 * the state. Returns: rc, or 3 when stdout could not be written. */
int bh_cli_end(int rc);

#endif
