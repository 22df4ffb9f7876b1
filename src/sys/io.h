/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_IO_H
#define CSIGN_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "sys/err.h"

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
 * outcome; each file on its own: one that fails does not hold back the
 * others. Returns CSIGN_OK when all are in place, else the code of the
 * first that is not (its reason is also left as the error). A file whose
 * write, flush or rename fails leaves nothing behind and the file it was
 * to replace untouched. A folder that cannot be flushed after the renames
 * undoes nothing: its files stay in place and fail with CSIGN_EIO
 * "cannot flush folder 'DIR': ...; 'PATH' is in place but may not survive
 * a crash". The batch is empty afterwards.
 */
csign_rc io_batch_commit(io_batch *b);

/*
 * As io_batch_commit(), all or nothing, for files that must land together
 * (a checksum list and its signature): every temporary is flushed first,
 * and only when all are, they are renamed in the order they were added.
 * A file about to be replaced keeps a second name (a hard link,
 * PATH.csign-tmp-XXXXXX) until all are renamed; should one rename fail,
 * the ones done are undone, newest first: each old file gets its name
 * back, and a name that did not exist before is removed again. So a
 * failure leaves every old file (or no file, where there was none), byte
 * for byte, and no temporary. Every outcome gets the first failure.
 * The one exception is a folder that cannot be flushed after all are
 * renamed: then all the new files are in place, and the error (CSIGN_EIO)
 * says so. Should an old file not be put back (a second failure), the
 * error says where it is.
 */
csign_rc io_batch_commit_all(io_batch *b);

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

/*
 * Every temporary file csign writes (PATH.csign-tmp-XXXXXX) is noted
 * process-wide from its creation until it is named or removed.
 * io_temps_add() notes a name (borrowed: the caller drops it with
 * io_temps_drop() before freeing it); io_temps_count() says how many
 * there are.
 *
 * io_temps_remove_all() is for a process that must end from another
 * thread while the main one is stuck (a module call that never returns):
 * it removes every noted file and leaves the list locked, so that no
 * thread creates or names another temporary file before the process
 * ends (a thread that tries waits for ever). Call it only on the way out.
 */
csign_rc io_temps_add(const char *name);
void io_temps_drop(const char *name);
size_t io_temps_count(void);
void io_temps_remove_all(void);

/*
 * An exclusive lock shared by the user's csign processes on this machine,
 * named by any text (hashed into a file name in $XDG_RUNTIME_DIR/csign,
 * else /tmp/csign-UID; the folder must be a real folder of the user's own
 * that group and others cannot write). Waits at most timeout seconds,
 * polling, and stops waiting when SIGINT or SIGTERM asked to stop: then
 * CSIGN_EIO. *fd is the lock, released by io_unlock() or when the process
 * ends; *fd is -1 (with CSIGN_OK and the reason saying why) when no usable
 * folder or file exists, and the caller goes on without a lock. When the
 * lock is held by another process, waiting(ctx) is called once before the
 * wait (waiting may be NULL).
 */
csign_rc io_lock(const char *name, unsigned timeout, void (*waiting)(void *ctx), void *ctx,
                 int *fd);
void io_unlock(int fd);

#endif
