/* Structured log lines. The descriptor number is fixed once a file is
 * open: reopen and close swap the file behind it with dup3(2), so a line
 * being written concurrently lands in the old or the new file, never in a
 * closed or reused descriptor, and writers never take a lock. */
#include "bh_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static const char *const level_names[] = {"debug", "info", "warn", "error"};
#define N_LEVELS (sizeof level_names / sizeof level_names[0])

/* Guards the descriptor swap and g_path (control path only: writers never
 * take it, and open(2) runs outside it). */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_fd = -1;  /* -1: stderr; else our descriptor */
static atomic_int g_file = 0; /* 1 while g_fd refers to the file at g_path */
static atomic_int g_min = BH_LOG_INFO;
static char g_path[PATH_MAX]; /* under g_mu */

static int open_file(const char *path)
{
    int fd;
    do {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

/* Make fd the log, keeping the descriptor number when there is one. Called
 * under g_mu; takes ownership of fd. */
static int install(int fd)
{
    int cur = atomic_load(&g_fd);
    if (cur < 0) {
        atomic_store(&g_fd, fd);
        return BH_OK;
    }
    int rc = dup3(fd, cur, O_CLOEXEC) < 0 ? errno : BH_OK;
    close(fd);
    return rc;
}

/* Point the log at stderr. Called under g_mu. */
static int to_stderr(void)
{
    if (atomic_load(&g_file)) {
        int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
        int rc = fd < 0 ? errno : install(fd);
        if (rc != BH_OK) return rc;
    }
    atomic_store(&g_file, 0);
    g_path[0] = '\0';
    return BH_OK;
}

int bh_log_open(const char *path, bh_log_level min)
{
    if ((unsigned)min >= N_LEVELS) return BH_EINVAL;
    if (path && strlen(path) >= sizeof g_path) return ENAMETOOLONG;
    int file = path && path[0];
    int fd = file ? open_file(path) : -1; /* opened outside the lock */
    if (fd < 0 && file) return -fd;
    pthread_mutex_lock(&g_mu);
    int rc = file ? install(fd) : to_stderr();
    if (rc == BH_OK && file) {
        atomic_store(&g_file, 1);
        memcpy(g_path, path, strlen(path) + 1);
    }
    if (rc == BH_OK) atomic_store(&g_min, (int)min);
    pthread_mutex_unlock(&g_mu);
    return rc;
}

int bh_log_reopen(void)
{
    char path[sizeof g_path];
    pthread_mutex_lock(&g_mu);
    int file = atomic_load(&g_file);
    if (file) memcpy(path, g_path, sizeof path);
    pthread_mutex_unlock(&g_mu);
    if (!file) return BH_OK;

    int fd = open_file(path);
    if (fd < 0) return -fd;
    pthread_mutex_lock(&g_mu);
    int rc = BH_OK;
    /* a concurrent open or close won: its choice stands */
    if (atomic_load(&g_file) && strcmp(path, g_path) == 0)
        rc = install(fd);
    else
        close(fd);
    pthread_mutex_unlock(&g_mu);
    return rc;
}

void bh_log_close(void)
{
    pthread_mutex_lock(&g_mu);
    /* fails only when stderr itself is gone: the file then stays the log */
    (void)to_stderr();
    pthread_mutex_unlock(&g_mu);
}

int bh_log_enabled(bh_log_level l)
{
    return (unsigned)l < N_LEVELS && (int)l >= atomic_load_explicit(&g_min, memory_order_relaxed);
}

/* One event is one line: raw control bytes from the caller's text would
 * split it or forge fields, so they are shown as '?'. */
static void scrub(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) s[i] = '?';
    }
}

void bh_log_write(bh_log_level l, const char *event, const char *fmt, ...)
{
    if (!bh_log_enabled(l)) return;
    /* at most LINE_MAX_BYTES - 1 bytes of text, so the newline always fits */
    char line[LINE_MAX_BYTES];
    const size_t room = sizeof line;

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, room, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000L, level_names[l], event ? event : "-");
    size_t len = n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
    if (fmt && fmt[0] && len + 2 < room) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(line + len, room - len, fmt, ap);
        va_end(ap);
        if (n <= 0)
            len--; /* no text: no trailing space */
        else
            len = (size_t)n < room - len ? len + (size_t)n : room - 1;
    }
    scrub(line, len);
    line[len++] = '\n';

    int fd = atomic_load(&g_fd);
    if (fd < 0) fd = STDERR_FILENO;
    const char *p = line;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* nowhere to report a failing log */
        p += w;
        len -= (size_t)w;
    }
}

const char *bh_log_quote(char *out, size_t cap, const char *value)
{
    if (out == NULL || cap == 0) return out;
    if (value == NULL) value = "";
    int plain = value[0] != '\0';
    for (const unsigned char *s = (const unsigned char *)value; *s && plain; s++)
        if (*s <= ' ' || *s == '"' || *s == '=' || *s == 0x7f) plain = 0;
    if (plain) {
        size_t n = strlen(value);
        if (n >= cap) n = cap - 1;
        memcpy(out, value, n);
        out[n] = '\0';
        return out;
    }
    /* quoted: each escape goes in whole, and the closing quote always fits */
    if (cap < 3) {
        out[0] = '\0';
        return out;
    }
    size_t o = 0;
    out[o++] = '"';
    for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
        char esc[5];
        size_t k;
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*s;
            k = 2;
        } else if (*s == '\n' || *s == '\t' || *s == '\r') {
            esc[0] = '\\';
            esc[1] = *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r';
            k = 2;
        } else if (*s < 0x20 || *s == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[*s >> 4];
            esc[3] = hex[*s & 15];
            k = 4;
        } else {
            esc[0] = (char)*s;
            k = 1;
        }
        if (o + k + 2 > cap) break;
        memcpy(out + o, esc, k);
        o += k;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}
