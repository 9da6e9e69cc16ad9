/* A strict reader of the Prometheus text exposition format 0.0.4, written
 * for the tests apart from the renderer: metric and label name syntax,
 * label value escapes (only \\ \" \n), HELP and TYPE at most once and
 * before the family's samples, a family's samples together, no duplicate
 * series, values that parse as floats. A histogram family x has only
 * x_bucket (with an le label that is a float), x_sum and x_count samples
 * (neither with le); per label set its buckets come in strictly ascending
 * le ending in +Inf, with counts that are whole, not negative and never
 * decrease, and exactly one x_sum and one x_count, equal to the +Inf
 * bucket. Include after cmocka.h. */
#ifndef PROM_EXPO_H
#define PROM_EXPO_H

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 1024
#define MAX_FAMILIES 128
#define MAX_LBL 8

typedef struct {
    char name[128];
    int n;
    char k[MAX_LBL][64];
    char v[MAX_LBL][512]; /* unescaped */
    char value[128];
    double num;
    int fam;   /* index of its family in expo.f */
    int hpart; /* histogram families: 1 _bucket, 2 _sum, 3 _count; else 0 */
    double le; /* _bucket: its le */
} series;

typedef struct {
    char name[128];
    char type[16];
    int has_help, has_type, closed, n_samples;
} fam;

typedef struct {
    series s[MAX_SERIES];
    int n;
    fam f[MAX_FAMILIES];
    int nf;
    char err[256];
} expo;

static inline int metric_name_ok(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':')) return 0;
    return 1;
}

static inline int label_name_ok(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return 0;
    return !(n >= 2 && s[0] == '_' && s[1] == '_'); /* reserved */
}

static inline fam *fam_get(expo *e, const char *name, size_t n, int create)
{
    for (int i = 0; i < e->nf; i++)
        if (strlen(e->f[i].name) == n && memcmp(e->f[i].name, name, n) == 0) return &e->f[i];
    if (!create || e->nf == MAX_FAMILIES || n >= sizeof e->f[0].name) return NULL;
    fam *f = &e->f[e->nf++];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, n);
    return f;
}

static inline int expo_fail(expo *e, int line, const char *why)
{
    snprintf(e->err, sizeof e->err, "line %d: %s", line, why);
    return -1;
}

static inline int parse_value(const char *s, double *out)
{
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0) {
        *out = strcmp(s, "NaN") == 0 ? NAN : (s[0] == '+' ? INFINITY : -INFINITY);
        return 0;
    }
    if (*s == '\0' || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return (*end != '\0' || errno == ERANGE) ? -1 : 0;
}

/* Parse one sample line into e->s[e->n]. */
static inline int parse_sample(expo *e, int line, const char *l, fam **last)
{
    if (e->n == MAX_SERIES) return expo_fail(e, line, "too many series");
    series *s = &e->s[e->n];
    memset(s, 0, sizeof *s);
    size_t nl = strcspn(l, "{ ");
    if (!metric_name_ok(l, nl) || nl >= sizeof s->name)
        return expo_fail(e, line, "bad metric name");
    memcpy(s->name, l, nl);
    const char *p = l + nl;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (s->n == MAX_LBL) return expo_fail(e, line, "too many labels");
            size_t kn = strcspn(p, "=");
            if (!label_name_ok(p, kn) || kn >= sizeof s->k[0])
                return expo_fail(e, line, "bad label name");
            memcpy(s->k[s->n], p, kn);
            for (int i = 0; i < s->n; i++)
                if (strcmp(s->k[i], s->k[s->n]) == 0) return expo_fail(e, line, "label twice");
            p += kn + 1;
            if (*p != '"') return expo_fail(e, line, "label value not quoted");
            p++;
            size_t o = 0;
            while (*p != '"') {
                if (*p == '\0' || *p == '\n') return expo_fail(e, line, "unterminated label value");
                char ch = *p;
                if (ch == '\\') {
                    p++;
                    if (*p == '\\')
                        ch = '\\';
                    else if (*p == '"')
                        ch = '"';
                    else if (*p == 'n')
                        ch = '\n';
                    else
                        return expo_fail(e, line, "bad escape in label value");
                }
                if (o + 1 >= sizeof s->v[0]) return expo_fail(e, line, "label value too long");
                s->v[s->n][o++] = ch;
                p++;
            }
            p++;
            s->n++;
            if (*p == ',') {
                p++;
                if (*p == '}') break; /* a trailing comma is legal */
            } else if (*p != '}') {
                return expo_fail(e, line, "expected , or } after a label");
            }
        }
        p++;
    }
    if (*p != ' ') return expo_fail(e, line, "expected a space before the value");
    p++;
    size_t vn = strcspn(p, " ");
    if (vn == 0 || vn >= sizeof s->value) return expo_fail(e, line, "bad value");
    memcpy(s->value, p, vn);
    if (parse_value(s->value, &s->num) != 0) return expo_fail(e, line, "value is not a float");
    if (p[vn] == ' ') { /* optional timestamp: an integer */
        const char *t = p + vn + 1;
        if (*t == '-') t++;
        if (*t == '\0') return expo_fail(e, line, "empty timestamp");
        for (; *t; t++)
            if (!isdigit((unsigned char)*t)) return expo_fail(e, line, "bad timestamp");
    }

    fam *f = fam_get(e, s->name, strlen(s->name), 0);
    if (f != NULL && strcmp(f->type, "histogram") == 0)
        return expo_fail(e, line, "histogram sample without _bucket, _sum or _count");
    static const char *const parts[] = {"_bucket", "_sum", "_count"};
    for (int k = 0; f == NULL && k < 3; k++) {
        size_t sl = strlen(parts[k]), nn = strlen(s->name);
        if (nn <= sl || strcmp(s->name + nn - sl, parts[k]) != 0) continue;
        fam *h = fam_get(e, s->name, nn - sl, 0);
        if (h != NULL && strcmp(h->type, "histogram") == 0) {
            f = h;
            s->hpart = k + 1;
        }
    }
    if (f == NULL || !f->has_type || !f->has_help)
        return expo_fail(e, line, "sample before its HELP and TYPE");
    s->fam = (int)(f - e->f);
    int has_le = -1;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->k[i], "le") == 0) has_le = i;
    if (s->hpart == 1) {
        if (has_le < 0) return expo_fail(e, line, "histogram bucket without le");
        if (parse_value(s->v[has_le], &s->le) != 0 || isnan(s->le))
            return expo_fail(e, line, "histogram le is not a float");
    } else if (s->hpart > 1 && has_le >= 0) {
        return expo_fail(e, line, "le on a histogram's _sum or _count");
    }
    if ((s->hpart == 1 || s->hpart == 3) &&
        (!(s->num >= 0 && s->num < 9.2e18) || s->num != (double)(long long)s->num))
        return expo_fail(e, line, "histogram count is not a whole number >= 0");
    if (f->closed) return expo_fail(e, line, "family's samples are not together");
    if (*last != NULL && *last != f) (*last)->closed = 1;
    *last = f;
    f->n_samples++;
    /* the same name and label set twice is a duplicate series */
    for (int i = 0; i < e->n; i++) {
        const series *o = &e->s[i];
        if (strcmp(o->name, s->name) != 0 || o->n != s->n) continue;
        int same = 1;
        for (int a = 0; a < s->n && same; a++) {
            int found = 0;
            for (int b = 0; b < o->n; b++)
                if (strcmp(s->k[a], o->k[b]) == 0 && strcmp(s->v[a], o->v[b]) == 0) found = 1;
            same = found;
        }
        if (same) return expo_fail(e, line, "duplicate series");
    }
    e->n++;
    return 0;
}

/* The labels of a and b other than le are the same. */
static inline int same_but_le(const series *a, const series *b)
{
    int na = 0, nb = 0;
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->k[i], "le") == 0) continue;
        na++;
        int found = 0;
        for (int j = 0; j < b->n && !found; j++)
            found = strcmp(a->k[i], b->k[j]) == 0 && strcmp(a->v[i], b->v[j]) == 0;
        if (!found) return 0;
    }
    for (int j = 0; j < b->n; j++)
        if (strcmp(b->k[j], "le") != 0) nb++;
    return na == nb;
}

/* Every histogram series (label set without le), in the order its samples
 * came: buckets ascending to +Inf, cumulative, one _sum, one _count equal
 * to the +Inf bucket. */
static inline int check_histograms(expo *e)
{
    char *done = calloc((size_t)e->n + 1, 1);
    if (done == NULL) return expo_fail(e, 0, "out of memory");
    int rc = 0;
    for (int i = 0; i < e->n && rc == 0; i++) {
        const series *s = &e->s[i];
        if (done[i] || s->hpart == 0) continue;
        int buckets = 0, sums = 0, counts = 0, inf = 0;
        double last_le = 0, last_n = 0, count = 0;
        for (int j = i; j < e->n && rc == 0; j++) {
            const series *t = &e->s[j];
            if (done[j] || t->fam != s->fam || t->hpart == 0 || !same_but_le(s, t)) continue;
            done[j] = 1;
            if (t->hpart == 2) {
                sums++;
            } else if (t->hpart == 3) {
                counts++;
                count = t->num;
            } else if (inf) {
                rc = expo_fail(e, 0, "histogram bucket after +Inf");
            } else if (buckets > 0 && !(t->le > last_le)) {
                rc = expo_fail(e, 0, "histogram le not ascending");
            } else if (buckets > 0 && t->num < last_n) {
                rc = expo_fail(e, 0, "histogram bucket counts decrease");
            } else {
                buckets++;
                last_le = t->le;
                last_n = t->num;
                inf = isinf(t->le) && t->le > 0;
            }
        }
        if (rc != 0) break;
        char why[200];
        snprintf(why, sizeof why, "histogram %s: ", e->f[s->fam].name);
        size_t wl = strlen(why);
        if (!inf)
            snprintf(why + wl, sizeof why - wl, "no +Inf bucket");
        else if (sums != 1)
            snprintf(why + wl, sizeof why - wl, "%d _sum samples, not one", sums);
        else if (counts != 1)
            snprintf(why + wl, sizeof why - wl, "%d _count samples, not one", counts);
        else if (count != last_n)
            snprintf(why + wl, sizeof why - wl, "_count %g is not the +Inf bucket %g", count,
                     last_n);
        else
            why[0] = '\0';
        if (why[0]) rc = expo_fail(e, 0, why);
    }
    free(done);
    return rc;
}

static inline int expo_parse(expo *e, const char *text)
{
    memset(e, 0, sizeof *e);
    fam *last = NULL;
    int line = 0;
    const char *p = text;
    if (*p != '\0' && text[strlen(text) - 1] != '\n') return expo_fail(e, 0, "no final newline");
    while (*p) {
        line++;
        size_t n = strcspn(p, "\n");
        char l[2048];
        if (n >= sizeof l) return expo_fail(e, line, "line too long");
        memcpy(l, p, n);
        l[n] = '\0';
        p += n + (p[n] == '\n');
        if (n == 0) return expo_fail(e, line, "empty line");
        if (strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0) {
            int help = l[2] == 'H';
            const char *nm = l + 7;
            size_t nn = strcspn(nm, " ");
            if (!metric_name_ok(nm, nn) || nm[nn] != ' ')
                return expo_fail(e, line, "bad name in HELP/TYPE");
            fam *f = fam_get(e, nm, nn, 1);
            if (f == NULL) return expo_fail(e, line, "too many families");
            if (f->n_samples > 0) return expo_fail(e, line, "HELP/TYPE after samples");
            const char *rest = nm + nn + 1;
            if (help) {
                if (f->has_help) return expo_fail(e, line, "HELP twice");
                for (const char *c = rest; *c; c++)
                    if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
                        return expo_fail(e, line, "bad escape in HELP");
                f->has_help = 1;
            } else {
                if (f->has_type) return expo_fail(e, line, "TYPE twice");
                if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram") &&
                    strcmp(rest, "summary") && strcmp(rest, "untyped"))
                    return expo_fail(e, line, "unknown TYPE");
                snprintf(f->type, sizeof f->type, "%s", rest);
                f->has_type = 1;
            }
            continue;
        }
        if (l[0] == '#') return expo_fail(e, line, "unexpected comment");
        if (parse_sample(e, line, l, &last) != 0) return -1;
    }
    for (int i = 0; i < e->nf; i++)
        if (e->f[i].n_samples == 0) return expo_fail(e, 0, "a family without samples");
    return check_histograms(e);
}

/* The sample of `name` whose labels are exactly the "k=v" pairs given. */
static inline const series *find(const expo *e, const char *name, int n, ...)
{
    char k[MAX_LBL][64], v[MAX_LBL][512];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        snprintf(k[i], sizeof k[i], "%s", va_arg(ap, const char *));
        snprintf(v[i], sizeof v[i], "%s", va_arg(ap, const char *));
    }
    va_end(ap);
    for (int i = 0; i < e->n; i++) {
        const series *s = &e->s[i];
        if (strcmp(s->name, name) != 0 || s->n != n) continue;
        int ok = 1;
        for (int a = 0; a < n && ok; a++) {
            int found = 0;
            for (int b = 0; b < n; b++)
                if (strcmp(k[a], s->k[b]) == 0 && strcmp(v[a], s->v[b]) == 0) found = 1;
            ok = found;
        }
        if (ok) return s;
    }
    return NULL;
}

static inline const fam *family(const expo *e, const char *name)
{
    for (int i = 0; i < e->nf; i++)
        if (strcmp(e->f[i].name, name) == 0) return &e->f[i];
    return NULL;
}

#define CHECK_VALUE(e, expect, ...)                                                                \
    do {                                                                                           \
        const series *s_ = find(e, __VA_ARGS__);                                                   \
        if (s_ == NULL) fail_msg("missing series at line %d", __LINE__);                           \
        assert_string_equal(s_->value, expect);                                                    \
    } while (0)

#define CHECK_ABSENT(e, ...) assert_null(find(e, __VA_ARGS__))

#endif
