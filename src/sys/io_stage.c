/* SPDX-License-Identifier: Apache-2.0 */
/* A batch of output files, each written to a temporary next to its name. */
#define _GNU_SOURCE
#include "sys/io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

io_batch *io_batch_new(void)
{
    return calloc(1, sizeof(io_batch));
}

size_t io_batch_size(const io_batch *b)
{
    return b->n;
}

void io_staged_free(staged *s)
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
void io_staged_drop(staged *s, csign_rc rc)
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
void io_randomize(char *name)
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
    s.dir = strdup(io_folder_of(path, buf, sizeof(buf)));
    if (s.path == NULL || s.dir == NULL || asprintf(&s.tmp, "%s.csign-tmp-XXXXXX", path) < 0) {
        s.tmp = NULL;
        io_staged_free(&s);
        return err_oom();
    }
    /* Created 0666 less the umask, as any new file (mkstemp's 0600 would
     * need the umask, and reading it means changing it for every thread).
     * A random name, O_EXCL: nothing already there is opened. */
    for (int tries = 0; s.fd < 0 && tries < 100; tries++) {
        io_randomize(s.tmp);
        s.fd = open(s.tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0666);
        if (s.fd < 0 && errno != EEXIST)
            break;
    }
    if (s.fd < 0) {
        csign_rc rc =
            err_set(CSIGN_EIO, "cannot create a file next to '%s': %s", path, strerror(errno));
        io_staged_free(&s);
        return rc;
    }
    csign_rc noted = io_temps_add(s.tmp);
    if (noted != CSIGN_OK) {
        close(s.fd);
        unlink(s.tmp);
        io_staged_free(&s);
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
        io_staged_free(&s);
        return rc;
    }
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    b->v[b->n++] = s;
    return CSIGN_OK;
}

void io_batch_free(io_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        close(b->v[i].fd);
        unlink(b->v[i].tmp);
        io_staged_free(&b->v[i]);
    }
    free(b->v);
    free(b);
}

/* The folder part of path, in buf. */
const char *io_folder_of(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%s", path);
    return dirname(buf);
}
