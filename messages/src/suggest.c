#include "bh_suggest.h"

#include <stdint.h>
#include <string.h>

size_t bh_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64) return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int bh_suggest_near(size_t d, const char *typed)
{
    return d <= 2 && d < strlen(typed);
}

const char *bh_suggest(const char *typed, const char *const *choices, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; typed && i < n; i++) {
        size_t d = bh_edit_distance(typed, choices[i]);
        if (d < best_d) best_d = d, best = choices[i];
    }
    return best && bh_suggest_near(best_d, typed) ? best : NULL;
}
