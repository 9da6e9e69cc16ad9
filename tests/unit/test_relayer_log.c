/* Structured logs: lines parsed back (ts, level, event, fields), level
 * filtering without evaluating arguments, quoting round trips, the 2 KiB
 * cut, file mode and descriptor flags, reopen after rename, stderr, and
 * many threads writing (and rotating) without interleaving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bh_log.h"
#include "bh_test.h"

static char g_dir[256];

static const char *in_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s/bh_log_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    bh_log_close();
    DIR *d = opendir(g_dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.') unlink(in_dir(e->d_name));
        closedir(d);
    }
    rmdir(g_dir);
    return 0;
}

/* A fresh, empty log file named name, opened at level min. */
static const char *fresh(const char *name, bh_log_level min)
{
    static char p[512];
    snprintf(p, sizeof p, "%s", in_dir(name));
    unlink(p);
    assert_int_equal(bh_log_open(p, min), BH_OK);
    return p;
}

/* ---- a parser for the line format, independent of the writer ---- */

typedef struct {
    char key[64];
    char val[2100];
} field;

typedef struct {
    field f[32];
    int n;
} parsed;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "2026-11-21T10:00:00.123Z": digits where digits go, a real UTC time. */
static int ts_ok(const char *v, time_t *out)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(v) != sizeof pat - 1) return 0;
    for (size_t i = 0; pat[i]; i++)
        if (pat[i] == 'd' ? !is_digit(v[i]) : v[i] != pat[i]) return 0;
    struct tm tm = {0};
    tm.tm_year = atoi(v) - 1900;
    tm.tm_mon = atoi(v + 5) - 1;
    tm.tm_mday = atoi(v + 8);
    tm.tm_hour = atoi(v + 11);
    tm.tm_min = atoi(v + 14);
    tm.tm_sec = atoi(v + 17);
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return 0;
    *out = timegm(&tm);
    return 1;
}

static int hexval(char c)
{
    return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* key=value pairs separated by one space; values plain or quoted with
 * \" \\ \n \t \r \xNN. The first three keys must be ts, level, event.
 * Returns 0 when the line is well formed. */
static int parse_line(const char *s, size_t len, parsed *p)
{
    size_t i = 0;
    p->n = 0;
    while (i < len) {
        if (p->n == 32) return -1;
        field *f = &p->f[p->n++];
        size_t k = 0;
        while (i < len && s[i] != '=') {
            char c = s[i++];
            if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.') ||
                k + 1 >= sizeof f->key)
                return -1;
            f->key[k++] = c;
        }
        f->key[k] = '\0';
        if (k == 0 || i == len) return -1;
        i++; /* '=' */
        size_t v = 0;
        if (i < len && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= len || v + 1 >= sizeof f->val) return -1;
                char c = s[i++];
                if (c == '"') break;
                if ((unsigned char)c < 0x20) return -1;
                if (c == '\\') {
                    if (i >= len) return -1;
                    char e = s[i++];
                    if (e == '"' || e == '\\')
                        c = e;
                    else if (e == 'n')
                        c = '\n';
                    else if (e == 't')
                        c = '\t';
                    else if (e == 'r')
                        c = '\r';
                    else if (e == 'x' && i + 2 <= len && hexval(s[i]) >= 0 &&
                             hexval(s[i + 1]) >= 0) {
                        c = (char)(hexval(s[i]) * 16 + hexval(s[i + 1]));
                        i += 2;
                    } else
                        return -1;
                }
                f->val[v++] = c;
            }
        } else {
            while (i < len && s[i] != ' ') {
                char c = s[i++];
                if (c == '"' || (unsigned char)c < 0x20 || v + 1 >= sizeof f->val) return -1;
                f->val[v++] = c;
            }
            if (v == 0) return -1;
        }
        f->val[v] = '\0';
        if (i < len) {
            if (s[i] != ' ' || i + 1 == len) return -1;
            i++;
        }
    }
    if (p->n < 3 || strcmp(p->f[0].key, "ts") || strcmp(p->f[1].key, "level") ||
        strcmp(p->f[2].key, "event"))
        return -1;
    time_t t;
    if (!ts_ok(p->f[0].val, &t)) return -1;
    const char *lv = p->f[1].val;
    if (strcmp(lv, "debug") && strcmp(lv, "info") && strcmp(lv, "warn") && strcmp(lv, "error"))
        return -1;
    return 0;
}

static const char *get(const parsed *p, const char *key)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->f[i].key, key) == 0) return p->f[i].val;
    return NULL;
}

/* The file's lines: every line must end with '\n'. Caller frees *buf. */
static size_t lines_of(const char *path, char **buf, char ***lines)
{
    size_t len;
    *buf = bh_test_slurp(path, &len);
    assert_true(len == 0 || (*buf)[len - 1] == '\n');
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (*buf)[i] == '\n';
    *lines = calloc(n + 1, sizeof **lines);
    assert_non_null(*lines);
    size_t k = 0;
    char *s = *buf;
    for (size_t i = 0; i < len; i++) {
        if ((*buf)[i] == '\n') {
            (*buf)[i] = '\0';
            (*lines)[k++] = s;
            s = *buf + i + 1;
        }
    }
    return n;
}

static void parse_ok(const char *line, parsed *p)
{
    if (parse_line(line, strlen(line), p) != 0) fail_msg("malformed line: %s", line);
}

/* ---- tests ---- */

static void test_log_format(void **state)
{
    (void)state;
    const char *path = fresh("format.log", BH_LOG_DEBUG);
    time_t before = time(NULL);
    BH_LOG(BH_LOG_INFO, "applied", "vault=%s n=%d", "alpha", 12);
    BH_LOG(BH_LOG_DEBUG, "d", "x=1");
    BH_LOG(BH_LOG_WARN, "w", "x=2");
    BH_LOG(BH_LOG_ERROR, "e", "x=3");
    bh_log_write(BH_LOG_ERROR, "bare", "%s", ""); /* no text: no trailing space */
    bh_log_write(BH_LOG_INFO, NULL, "k=v");
    time_t after = time(NULL);

    char *buf, **ln;
    assert_int_equal(lines_of(path, &buf, &ln), 6);
    parsed p;
    parse_ok(ln[0], &p);
    assert_int_equal(p.n, 5);
    assert_string_equal(get(&p, "level"), "info");
    assert_string_equal(get(&p, "event"), "applied");
    assert_string_equal(get(&p, "vault"), "alpha");
    assert_string_equal(get(&p, "n"), "12");
    time_t t;
    assert_true(ts_ok(get(&p, "ts"), &t));
    assert_true(t >= before - 1 && t <= after + 1); /* UTC, not local time */
    static const char *const lv[] = {"debug", "warn", "error"};
    for (int i = 0; i < 3; i++) {
        parse_ok(ln[1 + i], &p);
        assert_string_equal(get(&p, "level"), lv[i]);
        assert_int_equal(atoi(get(&p, "x")), i + 1);
    }
    const char *bare = ln[4];
    assert_string_equal(bare + strlen(bare) - strlen(" level=error event=bare"),
                        " level=error event=bare");
    parse_ok(ln[5], &p);
    assert_string_equal(get(&p, "event"), "-");
    free(ln);
    free(buf);
}

static int g_evals;
static int bump(void)
{
    return ++g_evals;
}

static void test_log_level_filter(void **state)
{
    (void)state;
    const char *path = fresh("levels.log", BH_LOG_WARN);
    g_evals = 0;
    BH_LOG(BH_LOG_DEBUG, "d", "n=%d", bump());
    BH_LOG(BH_LOG_INFO, "i", "n=%d", bump());
    assert_int_equal(g_evals, 0);                   /* arguments of a disabled level never run */
    bh_log_write(BH_LOG_INFO, "direct", "n=%d", 1); /* checked inside too */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);

    BH_LOG(BH_LOG_WARN, "w", "n=%d", bump());
    BH_LOG(BH_LOG_ERROR, "e", "n=%d", bump());
    assert_int_equal(g_evals, 2);
    assert_false(bh_log_enabled(BH_LOG_DEBUG));
    assert_false(bh_log_enabled(BH_LOG_INFO));
    assert_true(bh_log_enabled(BH_LOG_WARN));
    assert_true(bh_log_enabled(BH_LOG_ERROR));
    assert_false(bh_log_enabled((bh_log_level)4));
    assert_false(bh_log_enabled((bh_log_level)-1));

    char *buf, **ln;
    assert_int_equal(lines_of(path, &buf, &ln), 2);
    parsed p;
    parse_ok(ln[0], &p);
    assert_string_equal(get(&p, "n"), "1");
    parse_ok(ln[1], &p);
    assert_string_equal(get(&p, "level"), "error");
    free(ln);
    free(buf);

    assert_int_equal(bh_log_open(path, BH_LOG_DEBUG), BH_OK);
    assert_true(bh_log_enabled(BH_LOG_DEBUG));
}

/* The open flags of the descriptor that has path open, from /proc. */
static unsigned long fd_flags_of(const char *path)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    struct dirent *e;
    unsigned long flags = 0;
    int found = 0;
    while ((e = readdir(d)) != NULL) {
        char link[600], target[600];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (strcmp(target, path) != 0) continue;
        char info[600];
        snprintf(info, sizeof info, "/proc/self/fdinfo/%s", e->d_name);
        FILE *f = fopen(info, "r");
        assert_non_null(f);
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "flags: %lo", &flags) == 1) found++;
        fclose(f);
    }
    closedir(d);
    assert_int_equal(found, 1); /* exactly one descriptor: reopen leaks none */
    return flags;
}

static void test_log_file_mode_and_flags(void **state)
{
    (void)state;
    mode_t old = umask(022);
    const char *p = fresh("mode.log", BH_LOG_INFO);
    char path[512];
    snprintf(path, sizeof path, "%s", p);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    char real[PATH_MAX];
    assert_non_null(realpath(path, real));
    unsigned long fl = fd_flags_of(real);
    assert_true(fl & O_APPEND);
    assert_true(fl & O_CLOEXEC);
    for (int i = 0; i < 5; i++)
        assert_int_equal(bh_log_reopen(), BH_OK);
    fl = fd_flags_of(real); /* still one descriptor, still both flags */
    assert_true(fl & O_APPEND);
    assert_true(fl & O_CLOEXEC);
}

static void test_log_open_errors(void **state)
{
    (void)state;
    const char *p = fresh("errors.log", BH_LOG_WARN);
    char path[512];
    snprintf(path, sizeof path, "%s", p);
    assert_int_equal(bh_log_open(in_dir("no/such/dir/x.log"), BH_LOG_DEBUG), ENOENT);
    assert_int_equal(bh_log_open(g_dir, BH_LOG_DEBUG), EISDIR);
    assert_int_equal(bh_log_open(path, (bh_log_level)9), BH_EINVAL);
    char longp[PATH_MAX + 10];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(bh_log_open(longp, BH_LOG_DEBUG), ENAMETOOLONG);
    /* the previous log and level are still in place */
    assert_false(bh_log_enabled(BH_LOG_DEBUG));
    BH_LOG(BH_LOG_WARN, "still", "here=1");
    char *buf, **ln;
    assert_int_equal(lines_of(path, &buf, &ln), 1);
    assert_non_null(strstr(ln[0], "event=still here=1"));
    free(ln);
    free(buf);
}

static void test_log_quote_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"alpha", "alpha"},
        {"0x12ab", "0x12ab"},
        {"a\\b", "a\\b"}, /* plain: a backslash alone needs no quotes */
        {"h\xc3\xa9llo", "h\xc3\xa9llo"},
        {"a b", "\"a b\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"k=v", "\"k=v\""},
        {"\"", "\"\\\"\""},
        {"tab\there", "\"tab\\there\""},
        {"l1\nl2\r", "\"l1\\nl2\\r\""},
        {"\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\""},
        {"back\\slash and space", "\"back\\\\slash and space\""},
        {"", "\"\""},
    };
    char out[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_ptr_equal(bh_log_quote(out, sizeof out, cases[i].in), out);
        assert_string_equal(out, cases[i].out);
    }
    assert_string_equal(bh_log_quote(out, sizeof out, NULL), "\"\"");
}

/* Every byte value, and values built from the awkward ones, survive
 * quote -> log line -> parse. */
static void test_log_quote_round_trip(void **state)
{
    (void)state;
    const char *path = fresh("roundtrip.log", BH_LOG_INFO);
    enum { N = 300 };
    static char vals[N][40];
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        if (i < 255) {
            vals[i][0] = (char)(i + 1); /* each single byte 1..255 */
            vals[i][1] = '\0';
            continue;
        }
        static const char pool[] = " \"=\\\n\t\r\x01\x7f"
                                   "ab\xc3\xa9";
        int len = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 30;
        for (int j = 0; j < len; j++)
            vals[i][j] = pool[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof pool - 1)];
        vals[i][len] = '\0';
    }
    char q[200];
    for (int i = 0; i < N; i++)
        BH_LOG(BH_LOG_INFO, "rt", "i=%d v=%s", i, bh_log_quote(q, sizeof q, vals[i]));
    char *buf, **ln;
    assert_int_equal(lines_of(path, &buf, &ln), N);
    for (int i = 0; i < N; i++) {
        parsed p;
        parse_ok(ln[i], &p);
        assert_int_equal(atoi(get(&p, "i")), i);
        assert_string_equal(get(&p, "v"), vals[i]);
    }
    free(ln);
    free(buf);
}

static void test_log_quote_cut(void **state)
{
    (void)state;
    char out[16];
    memset(out, 'Z', sizeof out);
    assert_ptr_equal(bh_log_quote(out, 0, "abc"), out);
    assert_int_equal(out[0], 'Z'); /* cap 0: nothing written */
    assert_string_equal(bh_log_quote(out, 1, "abc"), "");
    assert_string_equal(bh_log_quote(out, 3, "abcdef"), "ab");
    assert_string_equal(bh_log_quote(out, 2, "a b"), "");
    assert_string_equal(bh_log_quote(out, 3, "a b"), "\"\"");
    assert_string_equal(bh_log_quote(out, 6, "a b c d"), "\"a b\"");
    /* an escape is never split: \" needs 2 bytes, and the quote must close */
    assert_string_equal(bh_log_quote(out, 6, "\"\"\"\""), "\"\\\"\"");
    assert_string_equal(bh_log_quote(out, 7, "\x01\x01"), "\"\\x01\"");
    /* every cut of a nasty value still parses as one quoted value */
    const char *nasty = "a \"b\" \\c\n\x02=d";
    for (size_t cap = 3; cap < 40; cap++) {
        char o[64];
        bh_log_quote(o, cap, nasty);
        size_t n = strlen(o);
        assert_true(n < cap);
        assert_int_equal(o[0], '"');
        assert_int_equal(o[n - 1], '"');
        char line[128];
        int m =
            snprintf(line, sizeof line, "ts=2026-11-21T10:00:00.123Z level=info event=x v=%s", o);
        parsed p;
        assert_int_equal(parse_line(line, (size_t)m, &p), 0);
        assert_memory_equal(get(&p, "v"), nasty, strlen(get(&p, "v")));
    }
}

static void test_log_line_cut_2k(void **state)
{
    (void)state;
    const char *path = fresh("cut.log", BH_LOG_INFO);
    BH_LOG(BH_LOG_INFO, "big", "v=%s", "");
    char *buf, **ln;
    assert_int_equal(lines_of(path, &buf, &ln), 1);
    size_t prefix = strlen(ln[0]); /* "ts=... event=big v=" */
    free(ln);
    free(buf);

    static char val[5000];
    size_t fit = 2047 - prefix; /* text + newline = 2048 bytes exactly */
    path = fresh("cut.log", BH_LOG_INFO);
    memset(val, 'x', fit);
    val[fit] = '\0';
    BH_LOG(BH_LOG_INFO, "big", "v=%s", val); /* fits whole */
    val[fit] = 'x';
    val[fit + 1] = '\0';
    BH_LOG(BH_LOG_INFO, "big", "v=%s", val); /* one byte over */
    memset(val, 'y', sizeof val - 1);
    BH_LOG(BH_LOG_INFO, "big", "v=%s", val); /* far over */
    BH_LOG(BH_LOG_INFO, "after", "ok=1");

    assert_int_equal(lines_of(path, &buf, &ln), 4);
    for (int i = 0; i < 3; i++)
        assert_int_equal(strlen(ln[i]) + 1, 2048);
    parsed p;
    parse_ok(ln[0], &p);
    assert_int_equal(strlen(get(&p, "v")), fit);
    parse_ok(ln[1], &p);
    assert_int_equal(strlen(get(&p, "v")), fit); /* cut by one */
    parse_ok(ln[2], &p);
    assert_int_equal(strlen(get(&p, "v")), fit);
    parse_ok(ln[3], &p);
    assert_string_equal(get(&p, "event"), "after");
    free(ln);
    free(buf);
}

/* Raw control bytes in the caller's text cannot start a forged line. */
static void test_log_control_bytes_scrubbed(void **state)
{
    (void)state;
    const char *path = fresh("scrub.log", BH_LOG_INFO);
    BH_LOG(BH_LOG_INFO, "e", "msg=%s", "a\nts=2026-01-01T00:00:00.000Z level=error event=forged\r");
    char *buf, **ln;
    assert_int_equal(lines_of(path, &buf, &ln), 1);
    assert_non_null(strstr(ln[0], "msg=a?ts="));
    assert_non_null(strstr(ln[0], "event=forged?"));
    free(ln);
    free(buf);
}

static void test_log_reopen_after_rename(void **state)
{
    (void)state;
    char path[512], rotated[512];
    snprintf(path, sizeof path, "%s", fresh("rot.log", BH_LOG_INFO));
    snprintf(rotated, sizeof rotated, "%s", in_dir("rot.log.1"));
    BH_LOG(BH_LOG_INFO, "e", "n=1");
    assert_int_equal(rename(path, rotated), 0);
    BH_LOG(BH_LOG_INFO, "e", "n=2"); /* still the moved file until reopen */
    assert_int_equal(bh_log_reopen(), BH_OK);
    BH_LOG(BH_LOG_INFO, "e", "n=3");
    BH_LOG(BH_LOG_INFO, "e", "n=4");

    char *buf, **ln;
    parsed p;
    assert_int_equal(lines_of(rotated, &buf, &ln), 2);
    for (int i = 0; i < 2; i++) {
        parse_ok(ln[i], &p);
        assert_int_equal(atoi(get(&p, "n")), i + 1);
    }
    free(ln);
    free(buf);
    assert_int_equal(lines_of(path, &buf, &ln), 2);
    for (int i = 0; i < 2; i++) {
        parse_ok(ln[i], &p);
        assert_int_equal(atoi(get(&p, "n")), i + 3);
    }
    free(ln);
    free(buf);
    unlink(rotated);
}

/* A reopen that cannot open the path reports errno; lines keep going to
 * the file already open. */
static void test_log_reopen_failure_keeps_old_file(void **state)
{
    (void)state;
    char sub[512], moved[512], path[600], moved_path[600];
    snprintf(sub, sizeof sub, "%s", in_dir("sub"));
    snprintf(moved, sizeof moved, "%s", in_dir("sub.moved"));
    snprintf(path, sizeof path, "%s/x.log", sub);
    snprintf(moved_path, sizeof moved_path, "%s/x.log", moved);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(bh_log_open(path, BH_LOG_INFO), BH_OK);
    BH_LOG(BH_LOG_INFO, "e", "n=1");
    assert_int_equal(rename(sub, moved), 0);
    assert_int_equal(bh_log_reopen(), ENOENT);
    BH_LOG(BH_LOG_INFO, "e", "n=2");
    char *buf, **ln;
    assert_int_equal(lines_of(moved_path, &buf, &ln), 2);
    free(ln);
    free(buf);
    /* the directory is back (its old log removed): the next reopen succeeds */
    assert_int_equal(rename(moved, sub), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(bh_log_reopen(), BH_OK);
    BH_LOG(BH_LOG_INFO, "e", "n=3");
    assert_int_equal(lines_of(path, &buf, &ln), 1);
    assert_non_null(strstr(ln[0], "n=3"));
    free(ln);
    free(buf);
    (void)fresh("after_sub.log", BH_LOG_INFO);
    unlink(path);
    rmdir(sub);
}

/* stderr by default and after close; reopen is then a no-op. */
static void test_log_stderr(void **state)
{
    (void)state;
    char cap[512];
    snprintf(cap, sizeof cap, "%s", in_dir("stderr.txt"));
    int saved = dup(STDERR_FILENO);
    int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);

    const char *path = fresh("before_close.log", BH_LOG_INFO);
    bh_log_close();
    BH_LOG(BH_LOG_INFO, "to_stderr", "n=1");
    assert_int_equal(bh_log_reopen(), BH_OK);
    BH_LOG(BH_LOG_INFO, "to_stderr", "n=2");
    assert_int_equal(bh_log_open("", BH_LOG_INFO), BH_OK);
    BH_LOG(BH_LOG_INFO, "to_stderr", "n=3");

    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);

    char *buf, **ln;
    assert_int_equal(lines_of(cap, &buf, &ln), 3);
    for (int i = 0; i < 3; i++) {
        parsed p;
        parse_ok(ln[i], &p);
        assert_string_equal(get(&p, "event"), "to_stderr");
        assert_int_equal(atoi(get(&p, "n")), i + 1);
    }
    free(ln);
    free(buf);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
}

/* ---- threads ---- */

#define THREADS 8
#define LINES 1000

static void *writer(void *arg)
{
    int t = (int)(intptr_t)arg;
    char pad[301];
    memset(pad, 'a' + t, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    char q[64];
    bh_log_quote(q, sizeof q, "a value with spaces");
    for (int i = 0; i < LINES; i++)
        BH_LOG(BH_LOG_INFO, "thread", "t=%d i=%d q=%s pad=%s", t, i, q, pad);
    return NULL;
}

/* Check that the lines are exactly THREADS x LINES well-formed lines,
 * each (t, i) once. */
static void check_all_lines(char **ln, size_t n)
{
    assert_int_equal(n, THREADS * LINES);
    static unsigned char seen[THREADS][LINES];
    memset(seen, 0, sizeof seen);
    for (size_t k = 0; k < n; k++) {
        parsed p;
        parse_ok(ln[k], &p);
        assert_int_equal(p.n, 7);
        int t = atoi(get(&p, "t")), i = atoi(get(&p, "i"));
        assert_true(t >= 0 && t < THREADS && i >= 0 && i < LINES);
        assert_string_equal(get(&p, "q"), "a value with spaces");
        const char *pad = get(&p, "pad");
        assert_int_equal(strlen(pad), 300);
        assert_int_equal(strspn(pad, (char[]){(char)('a' + t), 0}), 300);
        assert_int_equal(seen[t][i]++, 0);
    }
}

static void test_log_threads_no_interleaving(void **state)
{
    (void)state;
    const char *path = fresh("threads.log", BH_LOG_INFO);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    char *buf, **ln;
    size_t n = lines_of(path, &buf, &ln);
    check_all_lines(ln, n);
    free(ln);
    free(buf);
}

/* Rotation while 8 threads write: every line lands whole in exactly one of
 * the files, none lost, none doubled. */
static void test_log_rotate_under_load(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s", fresh("load.log", BH_LOG_INFO));
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t), 0);
    enum { ROT = 20 };
    for (int r = 0; r < ROT; r++) {
        char to[600];
        snprintf(to, sizeof to, "%s.%d", path, r);
        assert_int_equal(rename(path, to), 0);
        assert_int_equal(bh_log_reopen(), BH_OK);
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);

    /* concatenate the rotated files and the live one */
    size_t total = 0;
    char *all = NULL;
    for (int r = 0; r <= ROT; r++) {
        char from[600];
        if (r < ROT)
            snprintf(from, sizeof from, "%s.%d", path, r);
        else
            snprintf(from, sizeof from, "%s", path);
        size_t len;
        char *b = bh_test_slurp(from, &len);
        assert_true(len == 0 || b[len - 1] == '\n');
        all = realloc(all, total + len + 1);
        assert_non_null(all);
        memcpy(all + total, b, len);
        total += len;
        free(b);
        unlink(from);
    }
    const char *joined = in_dir("joined.log");
    FILE *f = fopen(joined, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(all, 1, total, f), total);
    fclose(f);
    free(all);
    char *buf, **ln;
    size_t n = lines_of(joined, &buf, &ln);
    check_all_lines(ln, n);
    free(ln);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_format),
        cmocka_unit_test(test_log_level_filter),
        cmocka_unit_test(test_log_file_mode_and_flags),
        cmocka_unit_test(test_log_open_errors),
        cmocka_unit_test(test_log_quote_table),
        cmocka_unit_test(test_log_quote_round_trip),
        cmocka_unit_test(test_log_quote_cut),
        cmocka_unit_test(test_log_line_cut_2k),
        cmocka_unit_test(test_log_control_bytes_scrubbed),
        cmocka_unit_test(test_log_reopen_after_rename),
        cmocka_unit_test(test_log_reopen_failure_keeps_old_file),
        cmocka_unit_test(test_log_stderr),
        cmocka_unit_test(test_log_threads_no_interleaving),
        cmocka_unit_test(test_log_rotate_under_load),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
