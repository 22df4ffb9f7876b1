/* SPDX-License-Identifier: Apache-2.0 */
/* File names read from a list: --files-from and --files-from0. */
#include "cli/files_from.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

csign_rc files_from_on_opt(files_from *f, int id, const char *arg)
{
    if (f->path != NULL)
        return err_set(CSIGN_EUSAGE, "give one list of files (--files-from or --files-from0)");
    f->path = arg;
    f->nul = id == OPT_FILES_FROM0;
    return CSIGN_OK;
}

/* The whole list into a malloc'd buffer. Not io_read_file(): the list may
 * come through a pipe or a process substitution (/dev/fd/N). */
static csign_rc slurp(const char *path, char **data, size_t *len)
{
    bool from_stdin = strcmp(path, "-") == 0;
    FILE *in = from_stdin ? stdin : fopen(path, "rb");
    size_t size = 0, n = 0;
    char *buf = NULL;
    csign_rc rc = CSIGN_OK;

    if (in == NULL)
        return err_set(CSIGN_EIO, "cannot open the list of files '%s': %s", path, strerror(errno));
    for (;;) {
        if (size - n < 65536) {
            size_t more = size == 0 ? 65536 : size;
            char *grown = more > SIZE_MAX - size - 1 ? NULL : realloc(buf, size + more + 1);
            if (grown == NULL) {
                rc = err_oom();
                break;
            }
            buf = grown;
            size += more;
        }
        size_t got = fread(buf + n, 1, size - n, in);
        n += got;
        if (got == 0) {
            if (ferror(in))
                rc = err_set(CSIGN_EIO, "cannot read the list of files '%s': %s",
                             from_stdin ? "standard input" : path, strerror(errno));
            break;
        }
    }
    if (!from_stdin)
        fclose(in);
    if (rc != CSIGN_OK) {
        free(buf);
        return rc;
    }
    if (buf == NULL && (buf = malloc(1)) == NULL)
        return err_oom();
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return CSIGN_OK;
}

csign_rc files_from_read(const files_from *f, char ***files, int *nfiles)
{
    char *data = NULL, sep = f->nul ? '\0' : '\n';
    size_t len = 0, count = 0, line = 1;
    csign_rc rc;

    if (f->path == NULL)
        return CSIGN_OK;
    if ((rc = slurp(f->path, &data, &len)) != CSIGN_OK)
        return rc;
    /* Count the names, and check the newline form holds no NUL. */
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i < len && data[i] == '\0' && !f->nul) {
            free(data);
            return err_set(CSIGN_EINPUT,
                           "the list of files '%s' holds a NUL byte on line %zu; use "
                           "--files-from0 for names ended by NUL",
                           f->path, line);
        }
        if (i == len || data[i] == sep) {
            count += i > start;
            start = i + 1;
            line++;
        }
    }
    if (count > (size_t)(INT_MAX - 1 - *nfiles)) {
        free(data);
        return err_set(CSIGN_EUSAGE, "the list of files '%s' names too many files", f->path);
    }
    /* One block: the pointers, then the names. */
    size_t total = (size_t)*nfiles + count + 1;
    char **out = malloc(total * sizeof(*out) + len + 1);
    if (out == NULL) {
        free(data);
        return err_oom();
    }
    char *names = (char *)(out + total);
    memcpy(names, data, len + 1);
    free(data);
    int n = *nfiles;
    memcpy(out, *files, (size_t)n * sizeof(*out));
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i == len || names[i] == sep) {
            names[i] = '\0';
            if (i > start)
                out[n++] = names + start;
            start = i + 1;
        }
    }
    out[n] = NULL;
    for (int i = 0; strcmp(f->path, "-") == 0 && i < n; i++)
        if (strcmp(out[i], "-") == 0) {
            free(out);
            return err_set(CSIGN_EUSAGE, "the list of files comes from standard input; "
                                         "'-' cannot be read from it too");
        }
    free(*files);
    *files = out;
    *nfiles = n;
    return CSIGN_OK;
}
