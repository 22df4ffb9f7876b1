/* SPDX-License-Identifier: Apache-2.0 */
/* Committing a batch: every file flushed, then named, all or nothing when
 * asked. */
#define _GNU_SOURCE
#include "sys/io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int sync_folder(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return -1;
    r = fsync(fd);
    close(fd);
    return r;
}

/* Step 2: every temporary reaches the disk before any is named. The
 * write-backs are started together so that the waits overlap: about one
 * flush for the batch instead of one per file. A file that fails is
 * dropped; true when all made it. */
static bool flush_all(staged *v, size_t n)
{
    bool all = true;

    for (size_t i = 0; i < n; i++)
        sync_file_range(v[i].fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    for (size_t i = 0; i < n; i++) {
        v[i].outcome->rc = CSIGN_OK;
        int r = fdatasync(v[i].fd), saved = errno;
        if (close(v[i].fd) != 0 && r == 0) {
            r = -1;
            saved = errno;
        }
        v[i].fd = -1;
        if (r != 0) {
            io_staged_drop(&v[i],
                           err_set(CSIGN_EIO, "cannot write '%s': %s", v[i].path, strerror(saved)));
            all = false;
        }
    }
    return all;
}

static csign_rc exists_error(const staged *s)
{
    return err_set(CSIGN_EUSAGE, "output '%s' exists; use --force to replace it", s->path);
}

/* Gives s its final name where nothing has that name: renameat2 with
 * RENAME_NOREPLACE, or link() where the file system lacks it. -1 with
 * errno (EEXIST: the name is taken). */
static int create_name(staged *s)
{
    int r = renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->path, RENAME_NOREPLACE);

    if (r != 0 && (errno == EINVAL || errno == ENOSYS) && (r = link(s->tmp, s->path)) == 0)
        unlink(s->tmp);
    return r;
}

/* Gives s its final name, one file on its own: renamed over the old file
 * with force (which leaves the old file in place should it fail), else
 * created. */
static csign_rc put_in_place(staged *s)
{
    int r = s->force ? rename(s->tmp, s->path) : create_name(s);

    if (r == 0) {
        s->placed = true;
        return CSIGN_OK;
    }
    if (errno == EEXIST)
        return exists_error(s);
    return err_set(CSIGN_EIO, "cannot create '%s': %s", s->path, strerror(errno));
}

/* Moves the file at s->path to s->backup, where the file system gives no
 * second name: 0, or -1 with errno (EEXIST: the name is taken). */
static int move_aside(staged *s)
{
    struct stat st;

    if (lstat(s->path, &st) != 0)
        return -1;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return -1;
    }
    int r = renameat2(AT_FDCWD, s->path, AT_FDCWD, s->backup, RENAME_NOREPLACE);
    if (r != 0 && (errno == EINVAL || errno == ENOSYS))
        r = rename(s->path, s->backup); /* a random name: nobody else's */
    return r;
}

/* A second name, beside it, for the file at s->path, so that it can be
 * put back: 0, or -1 with errno (ENOENT: there is no file). */
static int keep_old(staged *s)
{
    size_t size = strlen(s->tmp) + 1;

    if ((s->backup = malloc(size)) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    for (int tries = 0; tries < 100; tries++) {
        memcpy(s->backup, s->tmp, size);
        io_randomize(s->backup);
        /* link() names the file itself, a symbolic link included. */
        if (link(s->path, s->backup) == 0)
            return 0;
        /* No hard links here (or none allowed to this file): the old file
         * moves aside, and its name is empty until the new file takes
         * it, a moment later. */
        if ((errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK) && move_aside(s) == 0) {
            s->moved_aside = true;
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    int saved = errno;
    free(s->backup);
    s->backup = NULL;
    errno = saved;
    return -1;
}

/* As put_in_place(), in a batch that must land whole: a file replaced
 * keeps a second name until the batch is in place, and a file created
 * is created as new even with force, so that undo() can restore exactly
 * what was there. */
static csign_rc put_in_place_undoably(staged *s)
{
    for (int tries = 0; s->force && tries < 3; tries++) {
        if (keep_old(s) == 0) {
            if (rename(s->tmp, s->path) == 0) {
                s->placed = true;
                return CSIGN_OK;
            }
            int saved = errno;
            /* A second name goes; a file moved aside comes back. */
            if (s->moved_aside && rename(s->backup, s->path) != 0)
                return err_set(CSIGN_EIO, "cannot replace '%s': %s; the old file is in '%s'",
                               s->path, strerror(saved), s->backup);
            if (!s->moved_aside)
                unlink(s->backup);
            free(s->backup);
            s->backup = NULL;
            return err_set(CSIGN_EIO, "cannot replace '%s': %s", s->path, strerror(saved));
        }
        if (errno != ENOENT)
            return err_set(CSIGN_EIO, "cannot keep the old '%s' to put it back on failure: %s",
                           s->path, strerror(errno));
        if (create_name(s) == 0) {
            s->placed = true;
            return CSIGN_OK;
        }
        if (errno != EEXIST)
            break;
        /* It appeared meanwhile: keep that one. */
    }
    if (!s->force && create_name(s) == 0) {
        s->placed = true;
        return CSIGN_OK;
    }
    if (errno == EEXIST && !s->force)
        return exists_error(s);
    return err_set(CSIGN_EIO, "cannot create '%s': %s", s->path, strerror(errno));
}

/* Takes back a file put_in_place_undoably() put in place: the old file
 * gets its name again, or the name that did not exist goes again (only
 * while it still holds the new file). False when the old file could not
 * be put back; it then keeps its second name, and the error says which. */
static bool undo(staged *s)
{
    struct stat st;

    s->placed = false;
    if (s->backup != NULL) {
        if (rename(s->backup, s->path) != 0) {
            err_set(CSIGN_EIO, "'%s' could not be put back: %s; it is in '%s'", s->path,
                    strerror(errno), s->backup);
            return false;
        }
        free(s->backup);
        s->backup = NULL;
    } else if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino) {
        unlink(s->path);
    }
    return true;
}

/* Step 4: each folder that received a file, once. Not durable is not
 * undone either: the files stay in place (the old ones are gone), and
 * each in a folder that cannot be flushed is reported. True when all
 * were flushed, else the first folder that was not and why. */
static bool flush_folders(staged *v, size_t n, const char **bad_dir, int *bad_errno)
{
    bool all = true;

    for (size_t i = 0; i < n; i++) {
        bool first = v[i].placed;
        for (size_t k = 0; first && k < i; k++)
            first = !(v[k].placed && strcmp(v[k].dir, v[i].dir) == 0);
        if (!first || sync_folder(v[i].dir) == 0)
            continue;
        int saved = errno;
        if (all) {
            *bad_dir = v[i].dir;
            *bad_errno = saved;
        }
        all = false;
        for (size_t k = i; k < n; k++) {
            if (!v[k].placed || strcmp(v[k].dir, v[i].dir) != 0)
                continue;
            v[k].outcome->rc = err_set(CSIGN_EIO,
                                       "cannot flush folder '%s': %s; '%s' is in place but may "
                                       "not survive a crash",
                                       v[i].dir, strerror(saved), v[k].path);
            snprintf(v[k].outcome->reason, sizeof(v[k].outcome->reason), "%s", err_msg());
        }
    }
    return all;
}

/* The first failure among the outcomes, left as the error; the batch is
 * emptied. */
static csign_rc finish(io_batch *b)
{
    csign_rc rc = CSIGN_OK;

    for (size_t i = 0; i < b->n; i++) {
        if (rc == CSIGN_OK && b->v[i].outcome->rc != CSIGN_OK)
            rc = err_set(b->v[i].outcome->rc, "%s", b->v[i].outcome->reason);
        io_staged_free(&b->v[i]);
    }
    b->n = 0;
    return rc;
}

csign_rc io_batch_commit(io_batch *b)
{
    staged *v = b->v;
    size_t n = b->n;

    flush_all(v, n);
    for (size_t i = 0; i < n; i++) {
        if (v[i].outcome->rc != CSIGN_OK)
            continue;
        csign_rc rc = put_in_place(&v[i]);
        if (rc != CSIGN_OK)
            io_staged_drop(&v[i], rc);
    }
    const char *bad_dir;
    int bad_errno;
    flush_folders(v, n, &bad_dir, &bad_errno);
    return finish(b);
}

csign_rc io_batch_commit_all(io_batch *b)
{
    staged *v = b->v;
    size_t n = b->n, placed = 0;
    csign_rc rc = CSIGN_OK;
    char why[ERR_MAX] = "";

    if (!flush_all(v, n)) {
        for (size_t i = 0; i < n; i++)
            if (rc == CSIGN_OK && v[i].outcome->rc != CSIGN_OK) {
                rc = v[i].outcome->rc;
                snprintf(why, sizeof(why), "%s", v[i].outcome->reason);
            }
    }
    for (; rc == CSIGN_OK && placed < n; placed++) {
        if ((rc = put_in_place_undoably(&v[placed])) != CSIGN_OK) {
            snprintf(why, sizeof(why), "%s", err_msg());
            break;
        }
    }
    if (rc != CSIGN_OK) {
        /* Back to what was there, newest first, made as durable as it
         * was (at best: the error at hand is the one to report). */
        bool back = true;
        for (size_t i = placed; i-- > 0;) {
            if (!undo(&v[i]) && back) {
                back = false;
                snprintf(why + strlen(why), sizeof(why) - strlen(why), "; %s", err_msg());
            }
        }
        for (size_t i = 0; i < placed; i++)
            sync_folder(v[i].dir);
        for (size_t i = 0; i < n; i++) {
            err_set(rc, "%s", why);
            io_staged_drop(&v[i], rc);
        }
        return finish(b);
    }
    /* All in place: the old files' second names go, then the folders are
     * flushed, which makes both durable. */
    for (size_t i = 0; i < n; i++)
        if (v[i].backup != NULL)
            unlink(v[i].backup);
    const char *bad_dir = NULL;
    int bad_errno = 0;
    if (!flush_folders(v, n, &bad_dir, &bad_errno)) {
        /* Every file of the batch is in place, and each is told so. */
        size_t used = (size_t)snprintf(why, sizeof(why), "cannot flush folder '%s': %s; ", bad_dir,
                                       strerror(bad_errno));
        for (size_t i = 0; i < n && used < sizeof(why); i++)
            used += (size_t)snprintf(why + used, sizeof(why) - used, "%s'%s'",
                                     i == 0       ? ""
                                     : i + 1 == n ? " and "
                                                  : ", ",
                                     v[i].path);
        if (used < sizeof(why))
            snprintf(why + used, sizeof(why) - used, " %s in place but may not survive a crash",
                     n == 1 ? "is" : "are");
        for (size_t i = 0; i < n; i++) {
            v[i].outcome->rc = CSIGN_EIO;
            snprintf(v[i].outcome->reason, sizeof(v[i].outcome->reason), "%s", why);
        }
    }
    return finish(b);
}
