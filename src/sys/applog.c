/* SPDX-License-Identifier: Apache-2.0 */
/* An append-only log file shared by concurrent writers (applog.h). */
#define _GNU_SOURCE
#include "sys/applog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* fsync of the folder that holds path, so that a new file's name
 * survives a crash as its lines do. */
static csign_rc sync_folder(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else if ((size_t)(slash - path) < sizeof(dir))
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        return err_set(CSIGN_EIO, "audit log path '%s' is too long", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return err_set(CSIGN_EIO, "cannot flush folder '%s' of new audit log '%s': %s", dir, path,
                       strerror(e));
    }
    close(fd);
    return CSIGN_OK;
}

csign_rc applog_open(const char *path, applog *l)
{
    struct stat st;
    /* O_NONBLOCK: a FIFO without a reader must not make csign wait; it is
     * refused below with the other files that are not regular. */
    const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    bool created = false;

    l->fd = -1;
    l->path = path;
    /* O_CREAT, knowing whether this call made the file (another process
     * may make it at the same moment: then it is opened as it is). */
    int fd = open(path, flags);
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, flags | O_CREAT | O_EXCL, APPLOG_MODE);
        created = fd >= 0;
        if (fd < 0 && errno == EEXIST)
            fd = open(path, flags);
    }
    if (fd < 0 && errno == ENXIO)
        return err_set(CSIGN_EIO, "audit log '%s' is not a regular file; name a file", path);
    if (fd < 0)
        return err_set(CSIGN_EIO, "cannot open audit log '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_set(CSIGN_EIO, "cannot open audit log '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(CSIGN_EIO, "audit log '%s' is not a regular file; name a file", path);
    }
    if (created && sync_folder(path) != CSIGN_OK) {
        close(fd);
        return CSIGN_EIO;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    l->fd = fd;
    return CSIGN_OK;
}

csign_rc applog_append(applog *l, const void *data, size_t len)
{
    ssize_t n;

    if (l->fd < 0)
        return err_set(CSIGN_EINTERNAL, "audit log '%s' is not open", l->path);
    /* One call, never split: a second write for the rest would let
     * another process's record land in between. */
    do
        n = write(l->fd, data, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return err_set(CSIGN_EIO, "cannot write to audit log '%s': %s", l->path, strerror(errno));
    if ((size_t)n != len)
        return err_set(CSIGN_EIO, "cannot write to audit log '%s': only %zd of %zu bytes written",
                       l->path, n, len);
    return CSIGN_OK;
}

csign_rc applog_sync(applog *l)
{
    if (l->fd < 0)
        return err_set(CSIGN_EINTERNAL, "audit log '%s' is not open", l->path);
    if (fdatasync(l->fd) != 0)
        return err_set(CSIGN_EIO, "cannot flush audit log '%s': %s", l->path, strerror(errno));
    return CSIGN_OK;
}

void applog_close(applog *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}
