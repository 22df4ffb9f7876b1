/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_OPT_H
#define CSIGN_OPT_H

#include <stddef.h>

#include "sys/err.h"

/*
 * Command-line options from tables. One table per command describes its
 * options once; the same table drives parsing and --help.
 *
 * Accepted forms: --name, --name VALUE, --name=VALUE, -x, -x VALUE, -xVALUE,
 * and bundled flags (-vv). Options and operands may be mixed; "--" ends
 * options; "-" alone is an operand (standard input).
 */
typedef struct {
    int id;           /* passed to the handler; a table ends with id 0 */
    const char *name; /* long name without "--" */
    char short_name;  /* 0 when there is none */
    const char *arg;  /* name of the argument in --help; NULL for a flag */
    const char *help; /* one line */
} opt_spec;

/* Called once per option occurrence, in command-line order. arg is NULL for
 * flags. Returns CSIGN_OK or an error (with a reason) that stops parsing. */
typedef csign_rc (*opt_handler)(void *ctx, int id, const char *arg);

/*
 * Parses argv[1..argc) against the NULL-terminated list of tables. Operands
 * are stored, in order, in operands[] (which must have room for argc
 * pointers into argv) and counted in *n_operands.
 *
 * Returns CSIGN_OK, CSIGN_EUSAGE with a reason naming the bad option, or
 * whatever the handler returned. Does no I/O.
 */
csign_rc opt_parse(const opt_spec *const *tables, int argc, char **argv, opt_handler handler,
                   void *ctx, char **operands, int *n_operands);

/*
 * Formats help text: "Usage: <usage>\n\n<summary>\n\nOptions:\n..." listing
 * every option of every table. Returns a string the caller frees with
 * free(), or NULL when out of memory.
 */
char *opt_help_text(const char *usage, const char *summary, const opt_spec *const *tables);

/* The width of help text that does not go to a terminal. */
#define OPT_HELP_WIDTH 80

/*
 * opt_help_text() wrapped to width columns: the usage, the summary and
 * each option's description are broken between words; descriptions are
 * continued under their own column (or, when width is too narrow for two
 * columns, start on the line below their option). No line is longer than
 * width unless one word is. Free with free(); NULL when out of memory.
 */
char *opt_help_wrapped(const char *usage, const char *summary, const opt_spec *const *tables,
                       size_t width);

/*
 * "\nExamples:\n" and each line of examples (one shell command per line),
 * indented by two; a command longer than width is continued on the next
 * line after " \\", never inside quotes. Free with free(); NULL when out
 * of memory.
 */
char *opt_help_examples(const char *examples, size_t width);

/* text wrapped to width, the cursor being at column col, later lines
 * indented to column indent; each broken line ends with cont (may be
 * NULL). Free with free(); NULL when out of memory. */
char *opt_wrap(const char *text, size_t col, size_t indent, size_t width, const char *cont);

#endif
