/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sys/io.h"
#include "sys/stop.h"

/*
 * Advisory locks between the user's csign processes on one machine: a
 * file per lock name in a folder only the user can write, held with
 * flock() (released by the kernel when the process ends, however it ends).
 */

/* A folder that is the user's own, a real folder, and not writable by
 * group or others, created (0700) when missing: an open descriptor of it,
 * checked through that descriptor, or -1. */
static int own_folder(const char *path)
{
    struct stat st;
    int d;

    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    d = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d >= 0 &&
        (fstat(d, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)) {
        close(d);
        d = -1;
    }
    return d;
}

/* The user's lock folder, opened: $XDG_RUNTIME_DIR/csign, else
 * /tmp/csign-UID; its path in buf. -1 when neither is the user's own. */
static int lock_folder(char *buf, size_t size)
{
    const char *run = getenv("XDG_RUNTIME_DIR");
    int d = -1;

    if (run != NULL && run[0] == '/' && (size_t)snprintf(buf, size, "%s/csign", run) < size)
        d = own_folder(buf);
    if (d < 0 && (size_t)snprintf(buf, size, "/tmp/csign-%lu", (unsigned long)geteuid()) < size)
        d = own_folder(buf);
    return d;
}

/* FNV-1a: a file name for any lock name. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

csign_rc io_lock(const char *name, unsigned timeout, void (*waiting)(void *ctx), void *ctx, int *fd)
{
    char dir[4096], file[32], path[4200];
    struct stat st;
    unsigned waited_ms = 0;
    int d = lock_folder(dir, sizeof(dir));

    *fd = -1;
    if (d < 0)
        return err_set(CSIGN_OK, "no folder of the user's own for locks");
    snprintf(file, sizeof(file), "%016llx.lock", (unsigned long long)name_hash(name));
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    /* Opened in the folder that was checked, not by its path again. */
    int f = openat(d, file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    close(d);
    if (f < 0 || fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        if (f >= 0)
            close(f);
        return err_set(CSIGN_OK, "cannot use the lock file %s", path);
    }
    while (flock(f, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            close(f);
            return err_set(CSIGN_OK, "cannot lock %s: %s", path, strerror(errno));
        }
        if (stop_requested() || waited_ms >= timeout * 1000u) {
            close(f);
            return err_set(CSIGN_EIO,
                           stop_requested() ? "interrupted while waiting for the lock"
                                            : "another csign process held the lock for %u s",
                           timeout);
        }
        if (waited_ms == 0 && waiting != NULL)
            waiting(ctx);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        waited_ms += 20;
    }
    *fd = f;
    return CSIGN_OK;
}

void io_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the only descriptor releases the flock */
}
