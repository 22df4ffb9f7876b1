/* SPDX-License-Identifier: Apache-2.0 */
/* Output names checked before work starts, one file written, input read. */
#define _GNU_SOURCE
#include "sys/io_internal.h"

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

csign_rc io_check_output(const char *path, bool force)
{
    char buf[PATH_MAX];
    struct stat st;
    const char *dir = io_folder_of(path, buf, sizeof(buf));

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
