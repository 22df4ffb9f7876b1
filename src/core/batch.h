/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_BATCH_H
#define CSIGN_BATCH_H

/*
 * Many outputs written a bounded batch at a time (sign, timestamp): each
 * output is staged in an io_batch (a temporary file beside its final
 * name) and the batch is committed whenever it is full, so that the cost
 * of flushing is paid about once per batch while the number of files held
 * open stays bounded, whatever the number of outputs. Once a stop is
 * asked for (a signal), nothing more is committed, and what is staged and
 * not committed is removed: earlier batches stay in place, complete.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "sys/err.h"
#include "sys/io.h"

/* The most outputs staged at once (fewer under a low open-file limit). */
#define BATCH_MAX 128

/* One output's fate, owned by the caller (in its per-file record). */
typedef struct {
    csign_rc rc;          /* CSIGN_OK, or why this output failed */
    char reason[ERR_MAX]; /* the reason, when rc is not CSIGN_OK */
    bool written;         /* its output is in place */
    /* batch_writer's own: */
    bool staged;
    io_outcome outcome;
} batch_item;

typedef struct {
    io_batch *io;
    batch_item **staged; /* the items waiting in io, up to limit */
    size_t limit;
    bool fail_fast;
    bool failed;                       /* a failure under fail_fast: stop */
    const volatile sig_atomic_t *stop; /* non-zero: stop (may be NULL) */
} batch_writer;

/*
 * An empty writer. With fail_fast every output is committed on its own and
 * the first failure stops the run. stop is borrowed (stop_flag(), say).
 * CSIGN_EINTERNAL when out of memory; *w needs batch_finish() either way.
 */
csign_rc batch_open(batch_writer *w, bool fail_fast, const volatile sig_atomic_t *stop);

/* Marks it as failed with rc and the current error (err_msg()). */
void batch_fail(batch_item *it, csign_rc rc);

/*
 * Stages data (copied to a temporary file now) to become path, replacing
 * an existing file only with force. it is borrowed until the commit,
 * which sets it->written or fails it; when staging fails, it fails now.
 */
void batch_add(batch_writer *w, batch_item *it, const char *path, const void *data, size_t len,
               bool force);

/* True while it waits in the batch: staged, neither committed nor failed
 * yet. */
bool batch_pending(const batch_item *it);

/* True once a stop was asked for: stage nothing more. */
bool batch_stopped(const batch_writer *w);

/*
 * Called once after each item, staged, failed or skipped: commits the
 * batch when it is full. False when the run must not go on: a stop was
 * asked for, or (fail_fast) this item or its commit failed.
 */
bool batch_next(batch_writer *w, const batch_item *it);

/* Commits what is staged, unless a stop was asked for; then removes the
 * temporary files of whatever was not committed, and frees. */
void batch_finish(batch_writer *w);

#endif
