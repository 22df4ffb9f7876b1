/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "core/digest.h"
#include "sys/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Large enough that system calls cost little, small enough to stay in the
 * CPU cache between the copy from the kernel and the hash: on this class
 * of machine 64 to 128 KiB hashed a cached file about 40% faster than
 * 256 KiB, and advising sequential access made it slower. */
#define DIGEST_BUFFER (128 * 1024)

static const volatile sig_atomic_t *cancel;
static digest_progress *_Atomic progress;

void digest_set_progress(digest_progress *p)
{
    progress = p;
}

void digest_set_cancel(const volatile sig_atomic_t *flag)
{
    cancel = flag;
}

const EVP_MD *digest_by_name(const char *name)
{
    if (strcmp(name, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(name, "sha384") == 0)
        return EVP_sha384();
    if (strcmp(name, "sha512") == 0)
        return EVP_sha512();
    return NULL;
}

const char *digest_name(const EVP_MD *md)
{
    switch (EVP_MD_get_type(md)) {
    case NID_sha256:
        return "sha256";
    case NID_sha384:
        return "sha384";
    case NID_sha512:
        return "sha512";
    }
    return "unknown";
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Page-aligned: a 128 KiB buffer from malloc (16 bytes into a page)
 * hashed up to 30% slower in some runs. */
static unsigned char *new_buffer(void)
{
    void *buf = NULL;
    return posix_memalign(&buf, 4096, DIGEST_BUFFER) == 0 ? buf : NULL;
}

/* digest_fd() through buf (DIGEST_BUFFER bytes, NULL: out of memory). */
static csign_rc hash_fd(int fd, const char *name, const EVP_MD *md, unsigned char *buf,
                        digest_result *out)
{
    struct stat before, after;
    bool regular = fstat(fd, &before) == 0 && S_ISREG(before.st_mode);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    csign_rc rc = CSIGN_OK;

    memset(out, 0, sizeof(*out));
    out->md = md;
    if (buf == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        rc = err_oom();
        goto out;
    }
    for (;;) {
        if (cancel != NULL && *cancel != 0) {
            rc = err_set(CSIGN_EINTERNAL, "interrupted");
            goto out;
        }
        ssize_t n = read(fd, buf, DIGEST_BUFFER);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(CSIGN_EIO, "cannot read '%s': %s", name, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            rc = err_set_ssl(CSIGN_EINTERNAL, "hashing failed");
            goto out;
        }
        out->bytes += (uint64_t)n;
        digest_progress *p = progress;
        if (p != NULL)
            p->bytes += (uint64_t)n;
    }
    if (EVP_DigestFinal_ex(ctx, out->value, &out->len) != 1) {
        rc = err_set_ssl(CSIGN_EINTERNAL, "hashing failed");
        goto out;
    }
    if (regular && (fstat(fd, &after) != 0 || !same_file_state(&before, &after)))
        rc = err_set(CSIGN_EINPUT, "'%s' changed while it was being hashed", name);
    digest_progress *p = progress;
    if (p != NULL)
        p->files++;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

csign_rc digest_fd(int fd, const char *name, const EVP_MD *md, digest_result *out)
{
    unsigned char *buf = new_buffer();
    csign_rc rc = hash_fd(fd, name, md, buf, out);

    free(buf);
    return rc;
}

/* digest_path() through buf. */
static csign_rc hash_path(const char *path, const EVP_MD *md, unsigned char *buf,
                          digest_result *out)
{
    int fd = -1;
    csign_rc rc = io_open_input(path, &fd);

    if (rc != CSIGN_OK)
        return rc;
    rc = hash_fd(fd, strcmp(path, "-") == 0 ? "standard input" : path, md, buf, out);
    close(fd);
    return rc;
}

/*
 * openat2() for kernels that lack it (before 5.6, or hidden by a seccomp
 * filter): path is walked one name at a time from dirfd, every folder
 * opened with O_NOFOLLOW, so that neither an absolute path, a '..' nor a
 * symbolic link anywhere on the way can lead out of the folder. Links that
 * stay inside are refused too: without the kernel's help their target
 * cannot be followed safely. Returns the file opened as openat2() would,
 * or -1 with errno: EXDEV for an absolute path or '..', ELOOP for a
 * symbolic link.
 */
static int open_beneath_walk(int dirfd, const char *path)
{
    char name[NAME_MAX + 1];
    int cur = dirfd, next = -1;
    const char *p = path;

    if (path[0] == '/') {
        errno = EXDEV;
        return -1;
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        struct stat st;

        if (len > NAME_MAX) {
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (strcmp(name, "..") == 0) {
            errno = EXDEV;
            break;
        }
        if (slash == NULL) {
            next = openat(cur, len ? name : ".",
                          O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
            break;
        }
        p = slash + 1;
        if (len == 0 || strcmp(name, ".") == 0)
            continue;
        next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        /* With O_DIRECTORY a link fails as ENOTDIR: tell it from a file. */
        if (next < 0 && errno == ENOTDIR && fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            errno = ELOOP;
        if (next < 0)
            break;
        if (cur != dirfd)
            close(cur);
        cur = next;
        next = -1;
    }
    int saved = errno;
    if (cur != dirfd)
        close(cur);
    errno = saved;
    return next;
}

/* A job's file, opened so that it cannot lead outside the job's folder. */
static csign_rc hash_beneath(digest_job *j, const EVP_MD *md, unsigned char *buf)
{
    struct open_how how = {
        .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
        .resolve = RESOLVE_BENEATH,
    };
    struct stat st;
    int fd = (int)syscall(SYS_openat2, j->dirfd, j->path, &how, sizeof(how));
    bool walked = fd < 0 && errno == ENOSYS;

    if (walked)
        fd = open_beneath_walk(j->dirfd, j->path);
    if (fd < 0) {
        j->open_errno = errno;
        if (walked && errno == ELOOP)
            return err_set(CSIGN_EINPUT,
                           "'%s' goes through a symbolic link, and links are not followed on a "
                           "kernel without openat2",
                           j->path);
        if (errno == EXDEV || errno == ELOOP)
            return err_set(CSIGN_EINPUT, "'%s' leads outside the manifest's folder", j->path);
        return err_set(CSIGN_EIO, "cannot open '%s': %s", j->path, strerror(errno));
    }
    csign_rc rc =
        fstat(fd, &st) != 0 ? err_set(CSIGN_EIO, "cannot read '%s': %s", j->path, strerror(errno))
        : !S_ISREG(st.st_mode) ? err_set(CSIGN_EINPUT, "'%s' is not a regular file", j->path)
                               : hash_fd(fd, j->path, md, buf, &j->result);
    close(fd);
    return rc;
}

csign_rc digest_path(const char *path, const EVP_MD *md, digest_result *out)
{
    unsigned char *buf = new_buffer();
    csign_rc rc = hash_path(path, md, buf, out);

    free(buf);
    return rc;
}

csign_rc digest_buffer(const void *data, size_t len, const EVP_MD *md, digest_result *out)
{
    memset(out, 0, sizeof(*out));
    out->md = md;
    out->bytes = len;
    if (EVP_Digest(data, len, out->value, &out->len, md, NULL) != 1)
        return err_set_ssl(CSIGN_EINTERNAL, "hashing failed");
    return CSIGN_OK;
}

void digest_hex(const digest_result *d, char *buf)
{
    for (unsigned int i = 0; i < d->len; i++)
        snprintf(buf + 2 * i, 3, "%02x", d->value[i]);
    buf[2 * d->len] = '\0';
}

typedef struct {
    digest_job *jobs;
    size_t n, next;
    const EVP_MD *md;
    pthread_mutex_t lock;
} batch;

/* Each worker hashes through one buffer of its own, for all its files. */
static void *worker(void *arg)
{
    batch *b = arg;
    unsigned char *buf = new_buffer();

    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next < b->n ? b->next++ : b->n;
        pthread_mutex_unlock(&b->lock);
        if (i == b->n) {
            free(buf);
            return NULL;
        }
        digest_job *j = &b->jobs[i];
        j->rc =
            j->beneath ? hash_beneath(j, b->md, buf) : hash_path(j->path, b->md, buf, &j->result);
        if (j->rc != CSIGN_OK)
            snprintf(j->reason, sizeof(j->reason), "%s", err_msg());
    }
}

csign_rc digest_many(digest_job *jobs, size_t n, const EVP_MD *md, int threads)
{
    batch b = {jobs, n, 0, md, PTHREAD_MUTEX_INITIALIZER};
    pthread_t tids[64];
    int started = 0;

    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    if ((size_t)threads > n)
        threads = n > 0 ? (int)n : 1;
    if (threads == 1) {
        worker(&b);
        return CSIGN_OK;
    }
    for (; started < threads; started++)
        if (pthread_create(&tids[started], NULL, worker, &b) != 0)
            break;
    if (started == 0)
        worker(&b); /* no thread could start: hash here */
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return CSIGN_OK;
}
