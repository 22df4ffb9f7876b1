/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_PROGRESS_H
#define CSIGN_PROGRESS_H

#include <stddef.h>

#include "core/digest.h"

/*
 * Progress of sign, verify and digest on stderr: one line, redrawn in
 * place, with bytes and files hashed, the rate and the time left. Shown
 * only when stderr is a terminal, the run is not quiet, and neither
 * NO_PROGRESS nor CSIGN_NO_PROGRESS is set (nor TERM=dumb); it appears
 * once the work has taken CSIGN_PROGRESS_DELAY seconds (default 1), so
 * short runs print nothing. See docs/progress.md.
 */
typedef struct progress progress;

/* Starts showing the progress of hashing paths[0..n) (their sizes give
 * the total; "-" and files that cannot be read count as unknown). verb is
 * "signing", "verifying" or "hashing". Returns NULL when nothing is to be
 * shown; progress_end(NULL) is a no-op. */
progress *progress_begin(const char *verb, const char *const *paths, size_t n);

/* digest_many() with progress shown while it runs. */
csign_rc progress_digest_many(const char *verb, digest_job *jobs, size_t n, const EVP_MD *md,
                              int threads);

/* Erases the line and keeps it away until progress_release(), so that a
 * report line printed in between starts on a clean line. NULL: no-op. */
void progress_hold(progress *p);
void progress_release(progress *p);

/* Stops and erases the line, so that what follows starts on a clean
 * line. */
void progress_end(progress *p);

#endif
