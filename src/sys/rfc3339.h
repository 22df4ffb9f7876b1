/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_RFC3339_H
#define CSIGN_RFC3339_H

#include <stdbool.h>
#include <time.h>

/*
 * Parses an RFC 3339 date-time, strictly: YYYY-MM-DDTHH:MM:SS, optional
 * fraction (ignored), then Z or an offset +HH:MM / -HH:MM. Days that do
 * not exist (31 February) are refused; a leap second counts as :59.
 * False, *out untouched, when s is not such a time.
 */
bool rfc3339_parse(const char *s, time_t *out);

/* The length of what rfc3339_format() writes, with its NUL. */
#define RFC3339_UTC_LEN 21

/* t as "YYYY-MM-DDTHH:MM:SSZ" (UTC, no fraction) in out. */
void rfc3339_format(time_t t, char out[RFC3339_UTC_LEN]);

#endif
