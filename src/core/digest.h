/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_DIGEST_H
#define CSIGN_DIGEST_H

#include <openssl/evp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "sys/err.h"

/*
 * The hashing core: the only code that reads content bytes during sign and
 * verify. It streams through a fixed buffer with read(2) (restarting on
 * EINTR, accepting short reads), so memory stays constant whatever the
 * file's size, and works on pipes.
 */

typedef struct {
    const EVP_MD *md;
    unsigned char value[EVP_MAX_MD_SIZE];
    unsigned int len;
    uint64_t bytes; /* content length */
} digest_result;

/* SHA-256, SHA-384 or SHA-512 by name ("sha256", ...); NULL otherwise.
 * Weaker digests are never offered. */
const EVP_MD *digest_by_name(const char *name);

/* "sha256" etc. for one of those three. */
const char *digest_name(const EVP_MD *md);

/*
 * Hashes everything readable from fd. For a regular file, size, mtime and
 * ctime are compared before and after on the same descriptor: a file that
 * changed while it was hashed is CSIGN_EINPUT. name is used in messages.
 * CSIGN_EIO when reading fails.
 */
csign_rc digest_fd(int fd, const char *name, const EVP_MD *md, digest_result *out);

/* A flag that, once non-zero, makes hashing stop with CSIGN_EINTERNAL
 * "interrupted" (set from a signal handler). NULL: none. */
void digest_set_cancel(const volatile sig_atomic_t *flag);

/* Counters of the bytes and files hashed so far, for showing progress;
 * updated atomically from every hashing thread. */
typedef struct {
    _Atomic uint64_t bytes;
    _Atomic uint64_t files;
} digest_progress;

/* Once set, every digest_fd() (and so digest_path() and digest_many())
 * adds what it reads to *p. NULL: none (the default). */
void digest_set_progress(digest_progress *p);

/* Opens path with io_open_input() ("-": standard input; anything else
 * must be a regular file, else CSIGN_EINPUT, so that a FIFO cannot make
 * csign wait) and hashes it with digest_fd(). */
csign_rc digest_path(const char *path, const EVP_MD *md, digest_result *out);

/* Hashes len bytes in memory (a manifest, say). */
csign_rc digest_buffer(const void *data, size_t len, const EVP_MD *md, digest_result *out);

/* One file of a batch for digest_many(). */
typedef struct {
    const char *path; /* in */
    /* in: when set, path is relative to the folder open as dirfd, neither
     * it nor a symbolic link on the way may lead outside that folder
     * (CSIGN_EINPUT), and it must be a regular file (CSIGN_EINPUT). */
    bool beneath;
    int dirfd;
    digest_result result; /* out */
    csign_rc rc;          /* out: CSIGN_OK or why hashing failed */
    char reason[256];     /* out: the reason, when rc is not CSIGN_OK */
    int open_errno;       /* out: errno when the file could not be opened */
} digest_job;

/*
 * Hashes every job's file with md on up to threads threads (at least 1),
 * each with its own buffer, so memory grows with threads, not with file
 * sizes. Results do not depend on threads. Returns CSIGN_OK; when no
 * thread can be started the files are hashed on the calling thread.
 */
csign_rc digest_many(digest_job *jobs, size_t n, const EVP_MD *md, int threads);

/* Lowercase hex of the digest into buf (2 * len + 1 bytes). */
void digest_hex(const digest_result *d, char *buf);

#endif
