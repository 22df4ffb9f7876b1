/* SPDX-License-Identifier: Apache-2.0 */
/* An append-only log file shared by concurrent writers (applog.h). */
#define _GNU_SOURCE
#include "sys/applog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

csign_rc applog_open(const char *path, applog *l)
{
    struct stat st;

    l->fd = -1;
    l->path = path;
    /* O_NONBLOCK: a FIFO without a reader must not make csign wait; it is
     * refused below with the other files that are not regular. */
    int fd =
        open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, APPLOG_MODE);
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
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
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
