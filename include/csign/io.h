/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_IO_H
#define CSIGN_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "csign/err.h"

/*
 * Files csign writes appear whole or not at all: the bytes go to a
 * temporary file in the target folder, which is flushed to disk, then
 * given its final name, then the folder is flushed. Without force an
 * existing file is never replaced (the final step is link(), which fails
 * rather than overwrite).
 */

/* Checks, before any work (and before a PIN is used), that path can be
 * written: CSIGN_EUSAGE when it exists and !force (or is a folder),
 * CSIGN_EIO when its folder is missing or not writable. */
csign_rc io_check_output(const char *path, bool force);

/* Writes data to path as described above. CSIGN_EUSAGE when path exists
 * and !force; CSIGN_EIO on any I/O failure (nothing is left behind). */
csign_rc io_write_file(const char *path, const void *data, size_t len, bool force);

/*
 * Many files written as one batch cost about one flush, not one each:
 * io_batch_add() writes each temporary file; io_batch_commit() starts the
 * write-back of all of them at once, waits for each, renames each to its
 * final name, then flushes each folder once. Every file stays atomic: a
 * final name only ever holds a complete, flushed file. A batch belongs to
 * one thread.
 */
typedef struct io_batch io_batch;

/* What happened to one file of a batch; filled by io_batch_commit(). */
typedef struct {
    csign_rc rc;
    char reason[ERR_MAX];
} io_outcome;

/* A new, empty batch (NULL when out of memory). */
io_batch *io_batch_new(void);

/* Files staged and not yet committed. */
size_t io_batch_size(const io_batch *b);

/*
 * Writes data to a temporary file beside path (not flushed yet). outcome
 * is borrowed until the commit, which fills it. On failure returns the
 * code (as io_write_file() would) and stages nothing.
 */
csign_rc io_batch_add(io_batch *b, const char *path, const void *data, size_t len, bool force,
                      io_outcome *outcome);

/*
 * Puts every staged file in place as described above and fills each
 * outcome. Returns CSIGN_OK when all are in place, else the code of the
 * first that is not (its reason is also left as the error). A file that
 * failed leaves nothing behind. The batch is empty afterwards.
 */
csign_rc io_batch_commit(io_batch *b);

/* Removes the temporary files of anything staged and not committed, then
 * frees the batch. NULL is a no-op. */
void io_batch_free(io_batch *b);

/*
 * Opens a file csign reads: "-" is standard input (a duplicate of it, so
 * any kind: pipes work); any other path must be a regular file. It is
 * opened without blocking, so that a FIFO or a device cannot make csign
 * wait, checked with fstat(), then set back to blocking reads. *fd is the
 * caller's to close. CSIGN_EIO when it cannot be opened; CSIGN_EINPUT
 * ("'PATH' is not a regular file") for a FIFO, folder, device or socket.
 */
csign_rc io_open_input(const char *path, int *fd);

/* Reads a whole file of at most max bytes, opened by io_open_input().
 * *data is malloc'd (with a NUL after the bytes) and owned by the caller.
 * "-" reads standard input. CSIGN_EINPUT when it is larger; CSIGN_EIO when
 * it cannot be read, which includes a path that is not a regular file
 * (callers take CSIGN_EINPUT to mean "too large"). */
csign_rc io_read_file(const char *path, size_t max, unsigned char **data, size_t *len);

#endif
