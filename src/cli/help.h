/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_HELP_H
#define CSIGN_HELP_H

#include <stddef.h>

/* How wide --help text may be: when stdout is a terminal, $COLUMNS if it
 * is a number, else the terminal's width; OPT_HELP_WIDTH (80) when stdout
 * is not a terminal or the width is unknown. Never below HELP_WIDTH_MIN. */
#define HELP_WIDTH_MIN 40
size_t help_width(void);

#endif
