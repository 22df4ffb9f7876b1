/* SPDX-License-Identifier: Apache-2.0 */
/* csign sign --digest-list: digests computed elsewhere, signed by name. */
#define _GNU_SOURCE
#include "cli/digest_list.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/io.h"

/* As large as a list verify --manifest reads. */
#define DIGEST_LIST_MAX (256L * 1024 * 1024)

static int by_line(const void *a, const void *b)
{
    size_t x = (*(manifest_entry *const *)a)->line, y = (*(manifest_entry *const *)b)->line;

    return x < y ? -1 : x > y;
}

csign_rc digest_list_load(sign_opts *o)
{
    unsigned char *text = NULL;
    size_t len = 0;
    char name[PATH_MAX * 4], what[PATH_MAX * 4 + 32];
    bool from_stdin = strcmp(o->digest_list, "-") == 0;
    csign_rc rc = io_read_file(o->digest_list, DIGEST_LIST_MAX, &text, &len);

    cli_escape(o->digest_list, name, sizeof(name));
    if (from_stdin)
        snprintf(what, sizeof(what), "digest list on standard input");
    else
        snprintf(what, sizeof(what), "digest list '%s'", name);
    if (rc == CSIGN_EINPUT)
        return err_set(rc, "the %s is larger than %ld MiB", what, DIGEST_LIST_MAX >> 20);
    if (rc != CSIGN_OK)
        return rc;
    rc = manifest_parse_named((const char *)text, len, what, "--out-dir", &o->listed);
    free(text);
    if (rc == CSIGN_OK && o->listed.n > (size_t)INT_MAX - 1)
        rc = err_set(CSIGN_EINPUT, "the %s names too many files", what);
    if (rc == CSIGN_OK && o->md != NULL && o->md != o->listed.md)
        rc = err_set(CSIGN_EUSAGE, "--digest %s and the %s digests of --digest-list differ",
                     digest_name(o->md), digest_name(o->listed.md));
    if (rc != CSIGN_OK)
        return rc;

    /* Signed and reported in the list's order (the parser sorts by name). */
    size_t n = o->listed.n;
    manifest_entry **order = calloc(n, sizeof(*order));
    char **files = calloc(n + 1, sizeof(*files));
    o->preset = calloc(n, sizeof(*o->preset));
    if (order == NULL || files == NULL || o->preset == NULL) {
        free(order);
        free(files);
        return err_oom();
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &o->listed.v[i];
    qsort(order, n, sizeof(*order), by_line);
    for (size_t i = 0; i < n; i++) {
        files[i] = order[i]->path;
        o->preset[i].md = o->listed.md;
        o->preset[i].len = (unsigned int)EVP_MD_get_size(o->listed.md);
        memcpy(o->preset[i].value, order[i]->value, o->preset[i].len);
    }
    free(order);
    free(o->files);
    o->files = files;
    o->nfiles = (int)n;
    o->md = o->listed.md;
    return CSIGN_OK;
}

void digest_list_free(sign_opts *o)
{
    manifest_clear(&o->listed);
    free(o->preset);
    o->preset = NULL;
}

csign_rc digest_list_output(const sign_opts *o, const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s.p7s", o->out_dir, name);

    if (n < 0 || (size_t)n >= size)
        return err_set(CSIGN_EUSAGE, "output path for '%s' is too long", name);
    return CSIGN_OK;
}

csign_rc digest_list_folders(const sign_opts *o, const char *name)
{
    const char *last = strrchr(name, '/');
    csign_rc rc = CSIGN_OK;
    int fd;

    if (last == NULL)
        return CSIGN_OK;
    if ((fd = open(o->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return err_set(CSIGN_EIO, "cannot open folder '%s': %s", o->out_dir, strerror(errno));
    /* The list's names have no empty, "." or ".." parts (manifest.c). */
    for (const char *p = name; rc == CSIGN_OK && p < last;) {
        const char *end = strchr(p, '/');
        char part[NAME_MAX + 1];
        int len = (int)(end - p);

        if ((size_t)len >= sizeof(part)) {
            rc = err_set(CSIGN_EUSAGE, "'%.*s' is too long for a folder name", len, p);
            break;
        }
        memcpy(part, p, (size_t)len);
        part[len] = '\0';
        int made = mkdirat(fd, part, 0777);
        /* Not followed: a link in DIR could lead anywhere. */
        int sub = made == 0 || errno == EEXIST
                      ? openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                      : -1;
        if (sub < 0)
            rc = err_set(CSIGN_EIO, "cannot make folder '%s/%.*s': %s", o->out_dir,
                         (int)(end - name), name,
                         errno == ELOOP || errno == ENOTDIR
                             ? "it is there and not a folder (a symbolic link is not followed)"
                             : strerror(errno));
        close(fd);
        fd = sub;
        p = end + 1;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}
