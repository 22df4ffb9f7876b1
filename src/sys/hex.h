/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_HEX_H
#define CSIGN_HEX_H

#include <stdbool.h>
#include <stddef.h>

/* The value of one hex digit, either case; -1 for anything else
 * (including '\0'). */
int hex_digit(char c);

/*
 * Decodes n bytes from the 2 * n hex digits at text into out. Returns false,
 * with out partly written, when one of those characters is not a hex digit;
 * it stops at the first such character, so a NUL-terminated text shorter
 * than 2 * n is never read past its end.
 */
bool hex_decode(const char *text, size_t n, unsigned char *out);

#endif
