/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_IO_INTERNAL_H
#define CSIGN_IO_INTERNAL_H

/* Inside a batch of output files (io_stage.c makes and writes them,
 * io_commit.c names them); not for use outside src/sys. */

#include <stdbool.h>
#include <sys/types.h>

#include "sys/io.h"

/* One file of a batch: written to tmp, then flushed, then named. */
typedef struct {
    char *path, *tmp, *dir;
    char *backup;     /* all or nothing: a second name of the file replaced */
    bool moved_aside; /* backup is its only name */
    int fd;
    bool force;
    bool placed; /* under its final name */
    dev_t dev;   /* the new file, to know it again */
    ino_t ino;
    io_outcome *outcome;
} staged;

struct io_batch {
    staged *v;
    size_t n, cap;
};

/* The folder part of path, in buf. */
const char *io_folder_of(const char *path, char *buf, size_t size);

/* Fills the XXXXXX at the end of name with random letters and digits. */
void io_randomize(char *name);

/* Frees what s holds and forgets its temporary name. */
void io_staged_free(staged *s);

/* Drops a file from the batch: closed, temporary removed, outcome set to
 * rc and the current error. */
void io_staged_drop(staged *s, csign_rc rc);

#endif
