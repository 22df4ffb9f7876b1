/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_APPLOG_H
#define CSIGN_APPLOG_H

/*
 * An append-only log file that many processes write at once (the audit
 * log of sign, docs/audit-log.md). Each record is one write(2) on a
 * descriptor opened with O_APPEND: on a local Linux file system the
 * kernel places each such write whole at the end of the file, so records
 * of concurrent writers never interleave. Records are made durable with
 * fdatasync(2) when the caller asks.
 */

#include <stddef.h>

#include "sys/err.h"

/* The mode a new log file is created with (before the umask). */
#define APPLOG_MODE 0640

typedef struct {
    int fd;           /* -1: closed */
    const char *path; /* borrowed, for messages */
} applog;

/*
 * Opens (creating it with APPLOG_MODE if needed) path for appending,
 * O_WRONLY|O_APPEND|O_CLOEXEC. It must be a regular file (a FIFO or
 * device is refused without blocking). When this call creates the file,
 * its folder is flushed too, so that the file outlives a crash. CSIGN_EIO with the reason
 * ("cannot open audit log '...': ...") when it cannot be opened; *l is
 * then closed (applog_close() is harmless).
 */
csign_rc applog_open(const char *path, applog *l);

/* Appends len bytes (one whole record, newline included) with a single
 * write(2). CSIGN_EIO when the write fails or is short (a full disk may
 * leave part of the record at the end of the file). */
csign_rc applog_append(applog *l, const void *data, size_t len);

/* fdatasync(2): what was appended is on the disk. CSIGN_EIO otherwise. */
csign_rc applog_sync(applog *l);

/* Closes; a no-op on a closed log. */
void applog_close(applog *l);

#endif
