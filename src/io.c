/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "csign/io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One file of a batch: written to tmp, not yet flushed or named. */
typedef struct {
    char *path, *tmp, *dir;
    int fd;
    bool force;
    bool renamed;
    io_outcome *outcome;
} staged;

struct io_batch {
    staged *v;
    size_t n, cap;
    mode_t mode; /* what a new file gets: 0666 less the umask */
};

io_batch *io_batch_new(void)
{
    io_batch *b = calloc(1, sizeof(*b));

    if (b != NULL) {
        mode_t mask = umask(0);
        umask(mask);
        b->mode = 0666 & ~mask;
    }
    return b;
}

size_t io_batch_size(const io_batch *b)
{
    return b->n;
}

static void staged_free(staged *s)
{
    free(s->path);
    free(s->tmp);
    free(s->dir);
    memset(s, 0, sizeof(*s));
}

/* Drops a file from the batch: closed, temporary removed, outcome set to
 * the current error. */
static void drop(staged *s, csign_rc rc)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    unlink(s->tmp);
    s->outcome->rc = rc;
    snprintf(s->outcome->reason, sizeof(s->outcome->reason), "%s", err_msg());
}

csign_rc io_batch_add(io_batch *b, const char *path, const void *data, size_t len, bool force,
                      io_outcome *outcome)
{
    char buf[PATH_MAX];
    staged s = {.fd = -1, .force = force, .outcome = outcome};

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
    s.fd = mkostemp(s.tmp, O_CLOEXEC);
    if (s.fd < 0) {
        csign_rc rc =
            err_set(CSIGN_EIO, "cannot create a file next to '%s': %s", path, strerror(errno));
        staged_free(&s);
        return rc;
    }
    /* mkstemp makes 0600; give the mode a new file would get, or keep the
     * mode of the file being replaced. */
    mode_t mode = b->mode;
    struct stat old;
    if (force && stat(path, &old) == 0 && S_ISREG(old.st_mode))
        mode = old.st_mode & 07777;
    if (fchmod(s.fd, mode) != 0 || write_all(s.fd, data, len) != 0) {
        csign_rc rc = err_set(CSIGN_EIO, "cannot write '%s': %s", path, strerror(errno));
        close(s.fd);
        unlink(s.tmp);
        staged_free(&s);
        return rc;
    }
    b->v[b->n++] = s;
    return CSIGN_OK;
}

/* Gives s its final name. Without force the name must not exist:
 * renameat2 with RENAME_NOREPLACE, or link() where the file system
 * lacks it. */
static csign_rc put_in_place(staged *s)
{
    int r;

    if (s->force) {
        r = rename(s->tmp, s->path);
    } else {
        r = renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->path, RENAME_NOREPLACE);
        if (r != 0 && (errno == EINVAL || errno == ENOSYS) && (r = link(s->tmp, s->path)) == 0)
            unlink(s->tmp);
    }
    if (r == 0)
        return CSIGN_OK;
    if (errno == EEXIST)
        return err_set(CSIGN_EUSAGE, "output '%s' exists; use --force to replace it", s->path);
    return err_set(CSIGN_EIO, "cannot create '%s': %s", s->path, strerror(errno));
}

csign_rc io_batch_commit(io_batch *b)
{
    staged *v = b->v;
    size_t n = b->n;

    /* Start every write-back before waiting for any, so that the waits
     * overlap: about one flush for the batch instead of one per file. */
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
            continue;
        }
        csign_rc rc = put_in_place(&v[i]);
        if (rc != CSIGN_OK)
            drop(&v[i], rc);
        v[i].renamed = rc == CSIGN_OK;
    }
    /* Each folder once. Not durable is not done: files whose folder
     * cannot be flushed go again rather than stay behind an error. */
    for (size_t i = 0; i < n; i++) {
        bool first = v[i].renamed;
        for (size_t k = 0; first && k < i; k++)
            first = !(v[k].renamed && strcmp(v[k].dir, v[i].dir) == 0);
        if (!first || sync_folder(v[i].dir) == 0)
            continue;
        err_set(CSIGN_EIO, "cannot flush folder '%s': %s", v[i].dir, strerror(errno));
        for (size_t k = i; k < n; k++) {
            if (v[k].renamed && strcmp(v[k].dir, v[i].dir) == 0) {
                unlink(v[k].path);
                v[k].renamed = false;
                drop(&v[k], CSIGN_EIO);
            }
        }
    }
    csign_rc rc = CSIGN_OK;
    for (size_t i = 0; i < n; i++) {
        if (rc == CSIGN_OK && v[i].outcome->rc != CSIGN_OK)
            rc = err_set(v[i].outcome->rc, "%s", v[i].outcome->reason);
        staged_free(&v[i]);
    }
    b->n = 0;
    return rc;
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
