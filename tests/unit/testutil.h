/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_TESTUTIL_H
#define CSIGN_TESTUTIL_H

/*
 * Helpers shared by the cmocka unit tests; include after <cmocka.h>.
 * With CSIGN_TEST_SCRATCH defined first, also a scratch folder per test:
 * make_dir and remove_dir as setup and teardown, in_dir(NAME) for paths
 * in it, put() to write a file.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* assert_non_null() that the compiler understands too. cmocka's _fail()
 * does not return (it jumps out of the test) but is not declared noreturn,
 * so after assert_non_null(p) an optimising compiler still sees a path on
 * which p is NULL, and warns of the dereferences that follow
 * (-Wnull-dereference). abort() is never reached. */
#define require_non_null(p)                                                                        \
    do {                                                                                           \
        if ((p) == NULL) {                                                                         \
            print_error("%s is NULL\n", #p);                                                       \
            _fail(__FILE__, __LINE__);                                                             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline void check_contains(const char *hay, const char *needle, const char *file, int line)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        print_error("'%s' does not contain '%s'\n", hay ? hay : "(null)", needle);
        _fail(file, line);
    }
}
#define assert_contains(h, n) check_contains((h), (n), __FILE__, __LINE__)

#ifdef CSIGN_TEST_SCRATCH
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/err.h"

static char dir[PATH_MAX];

static inline int make_dir(void **state)
{
    const char *base = getenv("TMPDIR");
    (void)state;

    snprintf(dir, sizeof(dir), "%s/csign-test-XXXXXX", base && *base ? base : "/tmp");
    err_clear();
    return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Removes folder d and everything in it, without following symbolic
 * links. */
static inline void remove_tree(const char *d)
{
    DIR *dp;
    struct dirent *e;
    char p[PATH_MAX * 2];
    struct stat st;

    chmod(d, 0700);
    dp = opendir(d);
    if (dp == NULL)
        return;
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int n = snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(p))
            continue;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(dp);
    rmdir(d);
}

static inline int remove_dir(void **state)
{
    (void)state;
    remove_tree(dir);
    return 0;
}

/* dir/name, in one of a few rotating buffers. */
static inline const char *in_dir(const char *name)
{
    static char bufs[8][PATH_MAX];
    static unsigned next;
    char *b = bufs[next++ % 8];

    assert_in_range(snprintf(b, PATH_MAX, "%s/%s", dir, name), 1, PATH_MAX - 1);
    return b;
}

static inline void put(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    if (len > 0)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}
#endif

#endif
