/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/suggest.h"

#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

size_t suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Three rows of the dynamic programme: i-2, i-1 and i. */
    size_t rows[3][SUGGEST_MAX_LEN + 1];

    if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
        return SUGGEST_FAR;
    for (size_t j = 0; j <= lb; j++)
        rows[0][j] = rows[1][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *prev2 = rows[(i + 1) % 3], *prev = rows[(i + 2) % 3], *cur = rows[i % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < cur[j])
                cur[j] = prev2[j - 2] + 1;
        }
    }
    return rows[la % 3][lb];
}

int suggest_close(const char *typed, const char *candidate)
{
    size_t limit = strlen(typed) / 3;

    if (limit < 1)
        limit = 1;
    if (limit > 2)
        limit = 2;
    return suggest_distance(typed, candidate) <= limit;
}

const char *suggest_best(const char *typed, const char *const *cand, size_t n)
{
    const char *best = NULL;
    size_t best_d = SUGGEST_FAR;

    for (size_t i = 0; i < n; i++) {
        size_t d = suggest_distance(typed, cand[i]);
        if (d < best_d && suggest_close(typed, cand[i])) {
            best = cand[i];
            best_d = d;
        }
    }
    return best;
}
