/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "sys/io.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_SUFFIX 18 /* ".csign-tmp-XXXXXX" */

/* The folder part of path, in buf. */
static const char *folder_of(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%s", path);
    return dirname(buf);
}

csign_rc io_check_output(const char *path, bool force)
{
    char buf[PATH_MAX];
    struct stat st;
    const char *dir = folder_of(path, buf, sizeof(buf));

    size_t plen = strlen(path);
    char copy[PATH_MAX];
    if (plen == 0 || path[plen - 1] == '/')
        return err_set(CSIGN_EUSAGE, "output '%s' names a folder, not a file", path);
    snprintf(copy, sizeof(copy), "%s", path);
    /* The temporary name adds a suffix of up to TMP_SUFFIX bytes. */
    if (strlen(basename(copy)) + TMP_SUFFIX > NAME_MAX)
        return err_set(CSIGN_EUSAGE, "output name '%s' is too long", path);
    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return err_set(CSIGN_EUSAGE, "output '%s' is a folder", path);
        if (!force)
            return err_set(CSIGN_EUSAGE, "output '%s' exists; use --force to replace it", path);
    }
    if (stat(dir, &st) != 0)
        return err_set(CSIGN_EIO, "cannot write '%s': folder '%s': %s", path, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(CSIGN_EIO, "cannot write '%s': '%s' is not a folder", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return err_set(CSIGN_EIO, "cannot write '%s': folder '%s': %s", path, dir, strerror(errno));
    return CSIGN_OK;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

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

io_batch *io_batch_new(void)
{
    return calloc(1, sizeof(io_batch));
}

size_t io_batch_size(const io_batch *b)
{
    return b->n;
}

static void staged_free(staged *s)
{
    io_temps_drop(s->tmp);
    free(s->path);
    free(s->tmp);
    free(s->dir);
    free(s->backup);
    memset(s, 0, sizeof(*s));
}

/* Drops a file from the batch: closed, temporary removed, outcome set to
 * rc and the current error. */
static void drop(staged *s, csign_rc rc)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    unlink(s->tmp);
    s->outcome->rc = rc;
    snprintf(s->outcome->reason, sizeof(s->outcome->reason), "%s", err_msg());
}

/* Fills the XXXXXX at the end of name with random letters and digits;
 * whether the name is free is for O_EXCL or link() to say. */
static void randomize(char *name)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static atomic_ulong counter;
    unsigned char r[6];
    char *x = name + strlen(name) - sizeof(r);

    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long v = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 20) ^
                          (atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15UL);
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)(v >> (8 * i));
    }
    for (size_t i = 0; i < sizeof(r); i++)
        x[i] = set[r[i] % (sizeof(set) - 1)];
}

csign_rc io_batch_add(io_batch *b, const char *path, const void *data, size_t len, bool force,
                      io_outcome *outcome)
{
    char buf[PATH_MAX];
    staged s = {.fd = -1, .force = force, .outcome = outcome};
    struct stat st;

    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        staged *v = realloc(b->v, cap * sizeof(*v));
        if (v == NULL)
            return err_oom();
        b->v = v;
        b->cap = cap;
    }
    if (strlen(path) >= PATH_MAX)
        return err_set(CSIGN_EIO, "output path '%s' is too long", path);
    s.path = strdup(path);
    s.dir = strdup(folder_of(path, buf, sizeof(buf)));
    if (s.path == NULL || s.dir == NULL || asprintf(&s.tmp, "%s.csign-tmp-XXXXXX", path) < 0) {
        s.tmp = NULL;
        staged_free(&s);
        return err_oom();
    }
    /* Created 0666 less the umask, as any new file (mkstemp's 0600 would
     * need the umask, and reading it means changing it for every thread).
     * A random name, O_EXCL: nothing already there is opened. */
    for (int tries = 0; s.fd < 0 && tries < 100; tries++) {
        randomize(s.tmp);
        s.fd = open(s.tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0666);
        if (s.fd < 0 && errno != EEXIST)
            break;
    }
    if (s.fd < 0) {
        csign_rc rc =
            err_set(CSIGN_EIO, "cannot create a file next to '%s': %s", path, strerror(errno));
        staged_free(&s);
        return rc;
    }
    csign_rc noted = io_temps_add(s.tmp);
    if (noted != CSIGN_OK) {
        close(s.fd);
        unlink(s.tmp);
        staged_free(&s);
        return noted;
    }
    /* A regular file being replaced keeps its permissions, and only
     * those: no set-user-ID, set-group-ID or sticky bit. A symbolic link
     * is not followed: the file it points to says nothing here. */
    struct stat old;
    bool keep = force && lstat(path, &old) == 0 && S_ISREG(old.st_mode);
    if ((keep && fchmod(s.fd, old.st_mode & 0777) != 0) || fstat(s.fd, &st) != 0 ||
        write_all(s.fd, data, len) != 0) {
        csign_rc rc = err_set(CSIGN_EIO, "cannot write '%s': %s", path, strerror(errno));
        close(s.fd);
        unlink(s.tmp);
        staged_free(&s);
        return rc;
    }
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    b->v[b->n++] = s;
    return CSIGN_OK;
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
            drop(&v[i], err_set(CSIGN_EIO, "cannot write '%s': %s", v[i].path, strerror(saved)));
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
        randomize(s->backup);
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
        staged_free(&b->v[i]);
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
            drop(&v[i], rc);
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
            drop(&v[i], rc);
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

void io_batch_free(io_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        close(b->v[i].fd);
        unlink(b->v[i].tmp);
        staged_free(&b->v[i]);
    }
    free(b->v);
    free(b);
}

csign_rc io_write_file(const char *path, const void *data, size_t len, bool force)
{
    io_batch *b = io_batch_new();
    io_outcome outcome;
    csign_rc rc = b ? io_batch_add(b, path, data, len, force, &outcome) : err_oom();

    if (rc == CSIGN_OK)
        rc = io_batch_commit(b);
    io_batch_free(b);
    return rc;
}

csign_rc io_open_input(const char *path, int *fd)
{
    struct stat st;
    int f, flags;

    if (strcmp(path, "-") == 0) {
        if ((*fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)) < 0)
            return err_set(CSIGN_EIO, "cannot read standard input: %s", strerror(errno));
        return CSIGN_OK;
    }
    f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0)
        return err_set(CSIGN_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(f, &st) != 0 || (flags = fcntl(f, F_GETFL)) < 0 ||
        (S_ISREG(st.st_mode) && fcntl(f, F_SETFL, flags & ~O_NONBLOCK) != 0)) {
        csign_rc rc = err_set(CSIGN_EIO, "cannot read '%s': %s", path, strerror(errno));
        close(f);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return err_set(CSIGN_EINPUT, "'%s' is not a regular file", path);
    }
    *fd = f;
    return CSIGN_OK;
}

csign_rc io_read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
    bool is_stdin = strcmp(path, "-") == 0;
    unsigned char *buf = NULL;
    size_t used = 0, cap = 0;
    int fd = -1;
    csign_rc rc = io_open_input(path, &fd);

    if (rc == CSIGN_EINPUT)
        return err_set(CSIGN_EIO, "%s", err_msg());
    if (rc != CSIGN_OK)
        return rc;
    for (;;) {
        if (used == cap) {
            if (cap > max) {
                rc = err_set(CSIGN_EINPUT, "'%s' is larger than %zu bytes", path, max);
                break;
            }
            cap = cap ? cap * 2 : 4096;
            unsigned char *p = realloc(buf, cap + 1);
            if (p == NULL) {
                rc = err_oom();
                break;
            }
            buf = p;
        }
        ssize_t n = read(fd, buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(CSIGN_EIO, "cannot read '%s': %s", is_stdin ? "standard input" : path,
                         strerror(errno));
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            rc = err_set(CSIGN_EINPUT, "'%s' is larger than %zu bytes", path, max);
            break;
        }
    }
    close(fd);
    if (rc == CSIGN_OK && used > max)
        rc = err_set(CSIGN_EINPUT, "'%s' is larger than %zu bytes", path, max);
    if (rc != CSIGN_OK) {
        free(buf);
        return rc;
    }
    if (buf == NULL && (buf = malloc(1)) == NULL)
        return err_oom();
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return CSIGN_OK;
}
