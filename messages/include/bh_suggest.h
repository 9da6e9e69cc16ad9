/* "Did you mean …?" for every tool: the nearest known word to a typo. */
#ifndef BH_SUGGEST_H
#define BH_SUGGEST_H

#include <stddef.h>

/* Returns: the edit distance of a and b (insertions, deletions,
 * substitutions and swaps of two adjacent letters); SIZE_MAX when either is
 * longer than 64 bytes. */
size_t bh_edit_distance(const char *a, const char *b);

/* Returns: 1 if a word at distance d from `typed` is close enough to be a
 * typo of it (at most 2 edits, and fewer than typed's length). */
int bh_suggest_near(size_t d, const char *typed);

/* Returns: the choice nearest to `typed` if it is near enough, else NULL
 * (borrowed from choices). */
const char *bh_suggest(const char *typed, const char *const *choices, size_t n);

#endif
