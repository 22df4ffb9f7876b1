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

csign_rc io_write_file(const char *path, const void *data, size_t len, bool force)
{
    char buf[PATH_MAX], tmp[PATH_MAX + 32];
    const char *dir = folder_of(path, buf, sizeof(buf));
    int fd;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.csign-tmp-XXXXXX", path) >= sizeof(tmp))
        return err_set(CSIGN_EIO, "output path '%s' is too long", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return err_set(CSIGN_EIO, "cannot create a file next to '%s': %s", path, strerror(errno));
    /* mkstemp makes 0600; give the mode a new file would get (0666 less
     * the umask), or keep the mode of the file being replaced. */
    mode_t mask = umask(0);
    umask(mask);
    mode_t mode = 0666 & ~mask;
    struct stat old;
    if (force && stat(path, &old) == 0 && S_ISREG(old.st_mode))
        mode = old.st_mode & 07777;
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        csign_rc rc = err_set(CSIGN_EIO, "cannot write '%s': %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) != 0) {
        csign_rc rc = err_set(CSIGN_EIO, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    /* Without force the final name must not exist: renameat2 with
     * RENAME_NOREPLACE, or link() where the file system lacks it. */
    int r;
    if (force) {
        r = rename(tmp, path);
    } else {
        r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
        if (r != 0 && (errno == EINVAL || errno == ENOSYS) && (r = link(tmp, path)) == 0)
            unlink(tmp);
    }
    int saved = errno;
    if (r != 0) {
        unlink(tmp);
        if (saved == EEXIST)
            return err_set(CSIGN_EUSAGE, "output '%s' exists; use --force to replace it", path);
        return err_set(CSIGN_EIO, "cannot create '%s': %s", path, strerror(saved));
    }
    /* Not durable is not done: the file goes again rather than stay
     * behind an error. */
    if (sync_folder(dir) != 0) {
        csign_rc rc = err_set(CSIGN_EIO, "cannot flush folder '%s': %s", dir, strerror(errno));
        unlink(path);
        return rc;
    }
    return CSIGN_OK;
}

csign_rc io_read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    unsigned char *buf = NULL;
    size_t used = 0, cap = 0;
    csign_rc rc = CSIGN_OK;

    if (fd < 0)
        return err_set(CSIGN_EIO, "cannot open '%s': %s", path, strerror(errno));
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
    if (!is_stdin)
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
