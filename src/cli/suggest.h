/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_SUGGEST_H
#define CSIGN_SUGGEST_H

#include <stddef.h>

/*
 * "Did you mean ...?" for a mistyped command or option name. No I/O.
 */

/* The optimal string alignment distance between a and b (Levenshtein with
 * the swap of two neighbouring characters counted as one edit, as in
 * "sgin" for "sign"). Compares bytes, case-sensitively. Strings longer
 * than SUGGEST_MAX_LEN count as SUGGEST_FAR from anything. */
#define SUGGEST_MAX_LEN 64
#define SUGGEST_FAR 1000
size_t suggest_distance(const char *a, const char *b);

/* True when candidate is close enough to typed to be suggested: at most
 * 2 edits, and at most a third of typed's length (at least 1), so that
 * short words are not "corrected" into unrelated ones. */
int suggest_close(const char *typed, const char *candidate);

/* The candidate closest to typed among cand[0..n) that is close enough
 * (suggest_close), the first one on a tie; NULL when none is. */
const char *suggest_best(const char *typed, const char *const *cand, size_t n);

#endif
