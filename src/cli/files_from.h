/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_FILES_FROM_H
#define CSIGN_FILES_FROM_H

/*
 * --files-from FILE and --files-from0 FILE for the commands that take many
 * files (sign, verify, digest): the names are read from FILE ("-": standard
 * input) instead of the command line, so that any number of files works
 * without the argument limit, and added after the operands.
 */

#include <stdbool.h>

#include "cli/opt.h"
#include "sys/err.h"

typedef struct {
    const char *path; /* the list; NULL: none given */
    bool nul;         /* --files-from0: names end with NUL, not newline */
} files_from;

/* Option ids of the two options (command tables use ids below 800). */
enum { OPT_FILES_FROM = 700, OPT_FILES_FROM0 };

/* clang-format off */
#define FILES_FROM_SPECS \
    {OPT_FILES_FROM, "files-from", 0, "FILE", \
     "also the files named in FILE, one per line ('-': standard input)"}, \
    {OPT_FILES_FROM0, "files-from0", 0, "FILE", \
     "also the files named in FILE, each ended by a NUL byte (find -print0)"}
/* clang-format on */

/* The handler of the two options: records FILE in *f. CSIGN_EUSAGE when a
 * list was given already. No I/O. */
csign_rc files_from_on_opt(files_from *f, int id, const char *arg);

/*
 * When f names a list, reads it and replaces *files (an array from malloc
 * or calloc holding *nfiles names; its names are borrowed, as from argv)
 * with a new malloc'd array: the same names, then those of the list, then
 * NULL. The new names live in the same block, so one free(*files) frees
 * everything. Newline form: empty lines are skipped and a NUL byte is
 * malformed input; NUL form: empty names are skipped and a name may hold
 * a newline. On error *files and *nfiles are left as they were.
 * CSIGN_EIO when the list cannot be read; CSIGN_EINPUT naming the line for
 * a NUL byte in the newline form; CSIGN_EUSAGE when the list is read from
 * standard input and a name is "-" too.
 */
csign_rc files_from_read(const files_from *f, char ***files, int *nfiles);

#endif
