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

/* Reads a whole file of at most max bytes. *data is malloc'd (with a NUL
 * after the bytes) and owned by the caller. "-" reads standard input.
 * CSIGN_EIO when it cannot be read, CSIGN_EINPUT when it is larger. */
csign_rc io_read_file(const char *path, size_t max, unsigned char **data, size_t *len);

#endif
