#include "bh_suggest.h"

#include <stdint.h>
#include <string.h>

size_t bh_edit_distance(const char *a, const char *b)
{
    /* optimal string alignment: Levenshtein plus the swap of two adjacent
     * letters as one edit ("lsit" is one typo of "list") */
    size_t la = strlen(a), lb = strlen(b), prev2[65], prev[65], row[65];
    if (la > 64 || lb > 64) return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev2[j] = prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            row[j] = best;
        }
        memcpy(prev2, prev, sizeof prev);
        memcpy(prev, row, sizeof row);
    }
    return prev[lb];
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
