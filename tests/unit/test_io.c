/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sys/err.h"
#include "sys/io.h"
#define CSIGN_TEST_SCRATCH
#include "testutil.h"

/* ---- the scratch folder (testutil.h): more helpers ---------------------- */

/* Files in folder d whose names contain ".csign-tmp-". */
static int temp_files(const char *d)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    int n = 0;

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL)
        if (strstr(e->d_name, ".csign-tmp-") != NULL)
            n++;
    closedir(dp);
    return n;
}

/* Entries in folder d, without . and .. */
static int entries(const char *d)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    int n = 0;

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(dp);
    return n;
}

/* Checks that path holds exactly len bytes of data. */
static void check_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *got = malloc(len + 1);
    size_t n;

    assert_non_null(f);
    assert_non_null(got);
    n = fread(got, 1, len + 1, f);
    fclose(f);
    assert_int_equal(n, len);
    if (len > 0)
        assert_memory_equal(got, data, len);
    free(got);
}

/* len bytes of a pattern that includes NULs and every byte value. */
static unsigned char *pattern(size_t len)
{
    unsigned char *p = malloc(len ? len : 1);

    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 7 + i / 251);
    return p;
}

/* ---- io_write_file ------------------------------------------------------ */

static void test_write_creates(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 4095, 4096, 4097, 100000};
    (void)state;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char name[32];
        unsigned char *data = pattern(sizes[i]);
        struct stat st;

        snprintf(name, sizeof(name), "out-%zu.bin", sizes[i]);
        assert_int_equal(io_write_file(in_dir(name), data, sizes[i], false), CSIGN_OK);
        check_file(in_dir(name), data, sizes[i]);
        assert_int_equal(lstat(in_dir(name), &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(temp_files(dir), 0);
        free(data);
    }
    assert_int_equal(entries(dir), (int)(sizeof(sizes) / sizeof(sizes[0])));
}

static void test_write_keeps_existing(void **state)
{
    const char *path = in_dir("cert.pem");
    (void)state;

    put(path, "old\0old", 7);
    assert_int_equal(io_write_file(path, "new", 3, false), CSIGN_EUSAGE);
    assert_contains(err_msg(), "exists");
    check_file(path, "old\0old", 7);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(entries(dir), 1);

    /* A symbolic link (even a dangling one) is not replaced either. */
    const char *link_path = in_dir("link.pem");
    assert_int_equal(symlink(in_dir("nowhere"), link_path), 0);
    assert_int_equal(io_write_file(link_path, "new", 3, false), CSIGN_EUSAGE);
    assert_contains(err_msg(), "exists");
    assert_int_equal(access(in_dir("nowhere"), F_OK), -1);
    assert_int_equal(temp_files(dir), 0);
}

static void test_write_force_replaces(void **state)
{
    const char *path = in_dir("cert.pem");
    (void)state;

    put(path, "old contents, longer than the new", 33);
    assert_int_equal(io_write_file(path, "new\0!", 5, true), CSIGN_OK);
    check_file(path, "new\0!", 5);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(entries(dir), 1);

    /* force on a new file creates it. */
    assert_int_equal(io_write_file(in_dir("fresh"), "x", 1, true), CSIGN_OK);
    check_file(in_dir("fresh"), "x", 1);
    assert_int_equal(temp_files(dir), 0);
}

/* A new file gets 0666 less the umask, whatever the umask. */
static void test_write_mode_follows_umask(void **state)
{
    static const struct {
        mode_t mask, want;
    } cases[] = {{077, 0600}, {022, 0644}, {027, 0640}, {002, 0664}, {0, 0666}};
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[32];
        struct stat st;
        io_outcome out[2];
        io_batch *b = io_batch_new();

        snprintf(name, sizeof(name), "m%zu", i);
        mode_t saved = umask(cases[i].mask);
        csign_rc rc = io_write_file(in_dir(name), "x", 1, false);
        /* And through a batch, all or nothing or not. */
        csign_rc rc2 = io_batch_add(b, in_dir("b1"), "x", 1, true, &out[0]);
        if (rc2 == CSIGN_OK)
            rc2 = io_batch_add(b, in_dir("b2"), "x", 1, false, &out[1]);
        if (rc2 == CSIGN_OK)
            rc2 = i % 2 ? io_batch_commit(b) : io_batch_commit_all(b);
        umask(saved);
        io_batch_free(b);
        assert_int_equal(rc, CSIGN_OK);
        assert_int_equal(rc2, CSIGN_OK);
        assert_int_equal(stat(in_dir(name), &st), 0);
        assert_int_equal(st.st_mode & 07777, cases[i].want);
        assert_int_equal(stat(in_dir("b1"), &st), 0);
        assert_int_equal(st.st_mode & 07777, cases[i].want);
        assert_int_equal(stat(in_dir("b2"), &st), 0);
        assert_int_equal(st.st_mode & 07777, cases[i].want);
        unlink(in_dir("b1"));
        unlink(in_dir("b2"));
    }
    assert_int_equal(temp_files(dir), 0);
}

/* A replaced regular file keeps its permissions, never set-user-ID,
 * set-group-ID or sticky. */
static void test_write_force_keeps_permissions_only(void **state)
{
    static const struct {
        mode_t old, want;
    } cases[] = {{04755, 0755}, {02750, 0750}, {06711, 0711},
                 {01644, 0644}, {0600, 0600},  {0444, 0444}};
    (void)state;

    mode_t saved = umask(022);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = in_dir("sig.p7s");
        struct stat st;

        put(path, "old", 3);
        assert_int_equal(chmod(path, cases[i].old), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, cases[i].old);
        assert_int_equal(io_write_file(path, "new", 3, true), CSIGN_OK);
        assert_int_equal(stat(path, &st), 0);
        if ((st.st_mode & 07777) != cases[i].want)
            print_error("case %zu: %o, want %o\n", i, st.st_mode & 07777, cases[i].want);
        assert_int_equal(st.st_mode & 07777, cases[i].want);
        check_file(path, "new", 3);
        unlink(path);
    }
    umask(saved);
    assert_int_equal(temp_files(dir), 0);
}

/* Replacing a symbolic link replaces the link; the mode of the file it
 * points to is not taken, and that file is left alone. */
static void test_write_force_link_not_followed(void **state)
{
    struct stat st;
    (void)state;

    put(in_dir("target"), "target", 6);
    assert_int_equal(chmod(in_dir("target"), 04700), 0);
    assert_int_equal(symlink("target", in_dir("sig.p7s")), 0);
    mode_t saved = umask(022);
    csign_rc rc = io_write_file(in_dir("sig.p7s"), "new", 3, true);
    umask(saved);
    assert_int_equal(rc, CSIGN_OK);
    assert_int_equal(lstat(in_dir("sig.p7s"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0644);
    check_file(in_dir("sig.p7s"), "new", 3);
    check_file(in_dir("target"), "target", 6);
    assert_int_equal(stat(in_dir("target"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 04700);
}

/* The process's umask is never changed, not even for a moment: another
 * thread reading it (here from /proc, as the kernel applies it) never
 * sees anything else while batches are made. */
static atomic_bool umask_stop;

static void *read_umask(void *arg)
{
    long *changed = arg;
    char line[256];

    while (!atomic_load(&umask_stop)) {
        FILE *f = fopen("/proc/self/status", "r");
        if (f == NULL)
            return NULL;
        while (fgets(line, sizeof(line), f) != NULL)
            if (strncmp(line, "Umask:", 6) == 0 && strtol(line + 6, NULL, 8) != 022)
                (*changed)++;
        fclose(f);
    }
    return NULL;
}

static void test_batch_leaves_umask_alone(void **state)
{
    pthread_t reader;
    long changed = 0;
    struct timespec start, now;
    (void)state;

    if (access("/proc/self/status", R_OK) != 0)
        skip();
    mode_t saved = umask(022);
    atomic_store(&umask_stop, false);
    assert_int_equal(pthread_create(&reader, NULL, read_umask, &changed), 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (int i = 0; i < 1000; i++)
            io_batch_free(io_batch_new());
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < 1 && changed == 0);
    atomic_store(&umask_stop, true);
    pthread_join(reader, NULL);
    umask(saved);
    assert_int_equal(changed, 0);
}

static void test_write_missing_folder(void **state)
{
    (void)state;

    assert_int_equal(io_write_file(in_dir("missing/out.pem"), "x", 1, false), CSIGN_EIO);
    assert_contains(err_msg(), "missing");
    assert_int_equal(io_write_file(in_dir("missing/out.pem"), "x", 1, true), CSIGN_EIO);
    assert_int_equal(entries(dir), 0);
}

/* Writing over a folder fails, and leaves nothing behind. */
static void test_write_over_folder(void **state)
{
    const char *sub = in_dir("sub");
    (void)state;

    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(io_write_file(sub, "x", 1, false), CSIGN_EUSAGE);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(io_write_file(sub, "x", 1, true), CSIGN_EIO);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(entries(dir), 1);
    assert_int_equal(entries(sub), 0);
}

/* A relative name with no folder part goes to the current folder. */
static void test_write_relative(void **state)
{
    char cwd[PATH_MAX];
    (void)state;

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    csign_rc check = io_check_output("rel.txt", false);
    csign_rc write = io_write_file("rel.txt", "rel", 3, false);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(check, CSIGN_OK);
    assert_int_equal(write, CSIGN_OK);
    check_file(in_dir("rel.txt"), "rel", 3);
    assert_int_equal(temp_files(dir), 0);
}

static void test_write_unwritable_folder(void **state)
{
    const char *sub = in_dir("ro");
    char path[PATH_MAX + 8];
    (void)state;

    if (geteuid() == 0)
        skip(); /* root writes anyway */
    assert_int_equal(mkdir(sub, 0500), 0);
    snprintf(path, sizeof(path), "%s/out.pem", sub);
    assert_int_equal(io_write_file(path, "x", 1, false), CSIGN_EIO);
    assert_int_equal(io_write_file(path, "x", 1, true), CSIGN_EIO);
    assert_int_equal(entries(sub), 0);
}

/* ---- io_check_output ---------------------------------------------------- */

static void test_check_output(void **state)
{
    (void)state;

    put(in_dir("file"), "x", 1);
    assert_int_equal(mkdir(in_dir("sub"), 0700), 0);
    assert_int_equal(symlink(in_dir("nowhere"), in_dir("dangling")), 0);

    static const struct {
        const char *name; /* in the scratch folder */
        bool force;
        csign_rc rc;
        const char *msg;
    } cases[] = {
        {"new", false, CSIGN_OK, NULL},
        {"new", true, CSIGN_OK, NULL},
        {"file", false, CSIGN_EUSAGE, "exists"},
        {"file", true, CSIGN_OK, NULL},
        {"sub", false, CSIGN_EUSAGE, "is a folder"},
        {"sub", true, CSIGN_EUSAGE, "is a folder"},
        {"sub/", false, CSIGN_EUSAGE, "names a folder"},
        {"nosuchdir/", false, CSIGN_EUSAGE, "names a folder"},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
         false, CSIGN_EUSAGE, "too long"}, /* 250 bytes: no room for the temporary name */
        {"sub/new", false, CSIGN_OK, NULL},
        {"dangling", false, CSIGN_EUSAGE, "exists"},
        {"dangling", true, CSIGN_OK, NULL},
        {"missing/new", false, CSIGN_EIO, "missing"},
        {"missing/new", true, CSIGN_EIO, "missing"},
        {"file/new", false, CSIGN_EIO, "not a folder"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = in_dir(cases[i].name);
        csign_rc rc;

        err_clear();
        rc = io_check_output(path, cases[i].force);
        if (rc != cases[i].rc)
            print_error("case %zu '%s': rc %d '%s'\n", i, path, rc, err_msg());
        assert_int_equal(rc, cases[i].rc);
        if (cases[i].msg != NULL)
            assert_contains(err_msg(), cases[i].msg);
    }
    /* Checking writes nothing. */
    assert_int_equal(entries(dir), 3);
    check_file(in_dir("file"), "x", 1);
}

static void test_check_output_unwritable(void **state)
{
    const char *sub = in_dir("ro");
    char path[PATH_MAX + 8];
    csign_rc rc;
    (void)state;

    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chmod(sub, 0500), 0);
    snprintf(path, sizeof(path), "%s/out.pem", sub);
    rc = io_check_output(path, false);
    if (geteuid() != 0) {
        assert_int_equal(rc, CSIGN_EIO);
        assert_contains(err_msg(), "ro");
    } else {
        assert_int_equal(rc, CSIGN_OK); /* root may write anywhere */
    }
    /* Whoever runs this: an existing file in it is still a usage error,
     * and a folder is still a folder. */
    assert_int_equal(chmod(sub, 0700), 0);
    put(path, "x", 1);
    assert_int_equal(chmod(sub, 0500), 0);
    assert_int_equal(io_check_output(path, false), CSIGN_EUSAGE);
    assert_int_equal(io_check_output(sub, true), CSIGN_EUSAGE);
    assert_int_equal(chmod(sub, 0700), 0);
}

/* ---- io_read_file ------------------------------------------------------- */

/* ---- io_batch ------------------------------------------------------------ */

static void test_batch_commits_all(void **state)
{
    char sub[PATH_MAX + 8];
    io_outcome out[40];
    io_batch *b = io_batch_new();
    (void)state;

    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_non_null(b);
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof(name), i % 2 ? "sub/f%d" : "f%d", i);
        assert_int_equal(io_batch_add(b, in_dir(name), name, strlen(name), false, &out[i]),
                         CSIGN_OK);
        /* Staged files have no final name yet. */
        assert_int_equal(access(in_dir(name), F_OK), -1);
    }
    assert_int_equal(io_batch_size(b), 40);
    assert_int_equal(io_batch_commit(b), CSIGN_OK);
    assert_int_equal(io_batch_size(b), 0);
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof(name), i % 2 ? "sub/f%d" : "f%d", i);
        assert_int_equal(out[i].rc, CSIGN_OK);
        check_file(in_dir(name), name, strlen(name));
    }
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(temp_files(sub), 0);
    assert_int_equal(entries(dir), 21);
    assert_int_equal(entries(sub), 20);
    io_batch_free(b);
}

static void test_batch_one_fails_others_land(void **state)
{
    io_outcome out[3];
    io_batch *b = io_batch_new();
    (void)state;

    assert_int_equal(io_batch_add(b, in_dir("a"), "A", 1, false, &out[0]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("b"), "B", 1, false, &out[1]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("c"), "C", 1, false, &out[2]), CSIGN_OK);
    /* Someone else creates b between staging and commit. */
    put(in_dir("b"), "theirs", 6);
    assert_int_equal(io_batch_commit(b), CSIGN_EUSAGE);
    assert_contains(err_msg(), "exists");
    assert_int_equal(out[0].rc, CSIGN_OK);
    assert_int_equal(out[1].rc, CSIGN_EUSAGE);
    assert_contains(out[1].reason, "exists");
    assert_int_equal(out[2].rc, CSIGN_OK);
    check_file(in_dir("a"), "A", 1);
    check_file(in_dir("b"), "theirs", 6);
    check_file(in_dir("c"), "C", 1);
    assert_int_equal(temp_files(dir), 0);
    io_batch_free(b);
}

static void test_batch_freed_leaves_nothing(void **state)
{
    io_outcome out[2];
    io_batch *b = io_batch_new();
    (void)state;

    assert_int_equal(io_batch_add(b, in_dir("x"), "X", 1, false, &out[0]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("y"), "Y", 1, true, &out[1]), CSIGN_OK);
    assert_int_equal(temp_files(dir), 2);
    io_batch_free(b);
    assert_int_equal(entries(dir), 0);
    io_batch_free(NULL);
}

static void test_batch_add_missing_folder(void **state)
{
    io_outcome out;
    io_batch *b = io_batch_new();
    (void)state;

    assert_int_equal(io_batch_add(b, in_dir("none/x"), "X", 1, false, &out), CSIGN_EIO);
    assert_contains(err_msg(), "cannot create");
    assert_int_equal(io_batch_size(b), 0);
    assert_int_equal(io_batch_commit(b), CSIGN_OK);
    io_batch_free(b);
}

/* ---- io_batch_commit_all ------------------------------------------------ */

static void test_batch_all_lands(void **state)
{
    io_outcome out[2];
    io_batch *b = io_batch_new();
    (void)state;

    put(in_dir("old"), "old", 3);
    assert_int_equal(io_batch_add(b, in_dir("new"), "N", 1, false, &out[0]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("old"), "O2", 2, true, &out[1]), CSIGN_OK);
    assert_int_equal(io_batch_commit_all(b), CSIGN_OK);
    assert_int_equal(out[0].rc, CSIGN_OK);
    assert_int_equal(out[1].rc, CSIGN_OK);
    check_file(in_dir("new"), "N", 1);
    check_file(in_dir("old"), "O2", 2);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(entries(dir), 2);
    io_batch_free(b);
}

/* Without force: the second name is taken by someone else between staging
 * and commit, so the first, created already, goes again. */
static void test_batch_all_second_fails_first_removed(void **state)
{
    io_outcome out[2];
    io_batch *b = io_batch_new();
    (void)state;

    assert_int_equal(io_batch_add(b, in_dir("list.p7s"), "S", 1, false, &out[0]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("list"), "L", 1, false, &out[1]), CSIGN_OK);
    put(in_dir("list"), "theirs", 6);
    assert_int_equal(io_batch_commit_all(b), CSIGN_EUSAGE);
    assert_contains(err_msg(), "exists");
    assert_int_equal(out[0].rc, CSIGN_EUSAGE);
    assert_int_equal(out[1].rc, CSIGN_EUSAGE);
    assert_int_equal(access(in_dir("list.p7s"), F_OK), -1);
    check_file(in_dir("list"), "theirs", 6);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(entries(dir), 1);
    io_batch_free(b);
}

/* With force: the first replaced its old file, then the second cannot be
 * put in place (a folder took its name): the first old file is back, the
 * very same file, byte for byte. */
static void test_batch_all_second_fails_old_restored(void **state)
{
    io_outcome out[3];
    io_batch *b = io_batch_new();
    struct stat before, after;
    (void)state;

    put(in_dir("a"), "old a", 5);
    assert_int_equal(symlink("target", in_dir("link")), 0);
    put(in_dir("target"), "target", 6);
    assert_int_equal(lstat(in_dir("a"), &before), 0);
    assert_int_equal(io_batch_add(b, in_dir("a"), "new a", 5, true, &out[0]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("link"), "new link", 8, true, &out[1]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("c"), "new c", 5, true, &out[2]), CSIGN_OK);
    assert_int_equal(mkdir(in_dir("c"), 0700), 0);
    put(in_dir("c/inside"), "x", 1);
    assert_int_not_equal(io_batch_commit_all(b), CSIGN_OK);
    for (int i = 0; i < 3; i++)
        assert_int_not_equal(out[i].rc, CSIGN_OK);
    check_file(in_dir("a"), "old a", 5);
    assert_int_equal(lstat(in_dir("a"), &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_nlink, 1);
    /* The link is a link again, to the same place; its target untouched. */
    char got[16] = "";
    assert_int_equal(readlink(in_dir("link"), got, sizeof(got) - 1), 6);
    assert_string_equal(got, "target");
    check_file(in_dir("target"), "target", 6);
    assert_int_equal(entries(in_dir("c")), 1);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(entries(dir), 4);
    io_batch_free(b);
}

/* With force where there was no file: the one created goes again. */
static void test_batch_all_force_created_removed(void **state)
{
    io_outcome out[2];
    io_batch *b = io_batch_new();
    (void)state;

    assert_int_equal(io_batch_add(b, in_dir("a"), "new a", 5, true, &out[0]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("c"), "new c", 5, true, &out[1]), CSIGN_OK);
    assert_int_equal(mkdir(in_dir("c"), 0700), 0);
    assert_int_not_equal(io_batch_commit_all(b), CSIGN_OK);
    assert_int_equal(access(in_dir("a"), F_OK), -1);
    assert_int_equal(temp_files(dir), 0);
    assert_int_equal(entries(dir), 1);
    io_batch_free(b);
}

static void test_read_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 100, 4095, 4096, 4097, 8192, 8193, 70000};
    (void)state;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t size = sizes[i];
        unsigned char *want = pattern(size), *data = NULL;
        size_t len = (size_t)-1;

        put(in_dir("in"), want, size);

        /* Exactly max: fine. */
        assert_int_equal(io_read_file(in_dir("in"), size, &data, &len), CSIGN_OK);
        assert_int_equal(len, size);
        if (size > 0)
            assert_memory_equal(data, want, size);
        assert_int_equal(data[len], '\0');
        free(data);

        /* Plenty of room. */
        data = NULL;
        assert_int_equal(io_read_file(in_dir("in"), size * 3 + 10, &data, &len), CSIGN_OK);
        assert_int_equal(len, size);
        if (size > 0)
            assert_memory_equal(data, want, size);
        assert_int_equal(data[len], '\0');
        free(data);

        /* One byte short: too large, and *data is left alone. */
        if (size > 0) {
            data = (unsigned char *)(uintptr_t)1;
            len = 12345;
            err_clear();
            assert_int_equal(io_read_file(in_dir("in"), size - 1, &data, &len), CSIGN_EINPUT);
            assert_contains(err_msg(), "larger");
            assert_ptr_equal(data, (unsigned char *)(uintptr_t)1);
            assert_int_equal(len, 12345);
        }
        free(want);
    }
}

static void test_read_nuls(void **state)
{
    static const unsigned char bytes[] = {0, 'a', 0, 0, 'b', 0xff, 0};
    unsigned char *data = NULL;
    size_t len = 0;
    (void)state;

    put(in_dir("nuls"), bytes, sizeof(bytes));
    assert_int_equal(io_read_file(in_dir("nuls"), 1024, &data, &len), CSIGN_OK);
    assert_int_equal(len, sizeof(bytes));
    assert_memory_equal(data, bytes, sizeof(bytes));
    assert_int_equal(data[len], 0);
    free(data);
}

static void test_read_small_max_big_file(void **state)
{
    unsigned char *big = pattern(50000), *data = NULL;
    size_t len = 0;
    (void)state;

    put(in_dir("big"), big, 50000);
    assert_int_equal(io_read_file(in_dir("big"), 10, &data, &len), CSIGN_EINPUT);
    assert_null(data);
    assert_int_equal(io_read_file(in_dir("big"), 0, &data, &len), CSIGN_EINPUT);
    assert_null(data);
    assert_int_equal(io_read_file(in_dir("big"), 49999, &data, &len), CSIGN_EINPUT);
    assert_null(data);
    free(big);
}

static void test_read_errors(void **state)
{
    unsigned char *data = NULL;
    size_t len = 0;
    (void)state;

    err_clear();
    assert_int_equal(io_read_file(in_dir("missing"), 100, &data, &len), CSIGN_EIO);
    assert_contains(err_msg(), "missing");
    assert_null(data);

    assert_int_equal(io_read_file(in_dir("missing/x"), 100, &data, &len), CSIGN_EIO);
    assert_null(data);

    /* A folder opens but does not read. */
    assert_int_equal(io_read_file(dir, 100, &data, &len), CSIGN_EIO);
    assert_null(data);
}

static void test_read_empty(void **state)
{
    unsigned char *data = NULL;
    size_t len = 99;
    (void)state;

    put(in_dir("empty"), "", 0);
    assert_int_equal(io_read_file(in_dir("empty"), 0, &data, &len), CSIGN_OK);
    assert_int_equal(len, 0);
    assert_non_null(data);
    assert_int_equal(data[0], '\0');
    free(data);
}

/* "-" is standard input. */
static void test_read_stdin(void **state)
{
    static const char text[] = "from\0stdin";
    unsigned char *data = NULL;
    size_t len = 0;
    int saved, fd;
    csign_rc rc;
    (void)state;

    put(in_dir("stdin"), text, sizeof(text));
    saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    fd = open(in_dir("stdin"), O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
    close(fd);
    rc = io_read_file("-", 1024, &data, &len);
    /* Standard input stays open for others. */
    int still_open = fcntl(STDIN_FILENO, F_GETFD) != -1;
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);

    assert_int_equal(rc, CSIGN_OK);
    assert_true(still_open);
    assert_int_equal(len, sizeof(text));
    assert_memory_equal(data, text, sizeof(text));
    free(data);
}

/* ---- io_open_input ------------------------------------------------------ */

/* A FIFO with no writer, a folder and a device are refused at once (a
 * blocking open of the FIFO would never return: alarm() ends the test). */
static void test_open_input_not_regular(void **state)
{
    const char *kinds[] = {in_dir("fifo"), dir, "/dev/null"};
    (void)state;

    assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
    alarm(10);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        int fd = -7;
        unsigned char *data = NULL;
        size_t len = 0;

        err_clear();
        assert_int_equal(io_open_input(kinds[i], &fd), CSIGN_EINPUT);
        assert_contains(err_msg(), "is not a regular file");
        assert_contains(err_msg(), kinds[i]);
        assert_int_equal(fd, -7);
        /* io_read_file: the same reason, as a read error. */
        err_clear();
        assert_int_equal(io_read_file(kinds[i], 100, &data, &len), CSIGN_EIO);
        assert_contains(err_msg(), "is not a regular file");
        assert_null(data);
    }
    alarm(0);
    err_clear();
    int fd = -7;
    assert_int_equal(io_open_input(in_dir("missing"), &fd), CSIGN_EIO);
    assert_contains(err_msg(), "cannot open");
    assert_int_equal(fd, -7);
}

/* A regular file comes back open for blocking reads. */
static void test_open_input_regular(void **state)
{
    char buf[8];
    int fd = -1;
    (void)state;

    put(in_dir("f"), "abc", 3);
    assert_int_equal(io_open_input(in_dir("f"), &fd), CSIGN_OK);
    assert_true(fd > 2);
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    assert_int_equal(read(fd, buf, sizeof(buf)), 3);
    close(fd);
}

/* "-" is standard input, whatever it is (a pipe here), as a descriptor of
 * the caller's own: closing it leaves standard input open. */
static void test_open_input_stdin_pipe(void **state)
{
    int p[2], saved = dup(STDIN_FILENO), fd = -1;
    char buf[8] = "";
    (void)state;

    assert_true(saved >= 0);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "piped", 5), 5);
    close(p[1]);
    assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    close(p[0]);
    csign_rc rc = io_open_input("-", &fd);
    ssize_t n = rc == CSIGN_OK ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (rc == CSIGN_OK)
        close(fd);
    int still_open = fcntl(STDIN_FILENO, F_GETFD) != -1;
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    assert_int_equal(rc, CSIGN_OK);
    assert_int_equal(n, 5);
    assert_string_equal(buf, "piped");
    assert_true(still_open);
}

/* Round trip: what io_write_file writes, io_read_file reads. */
static void test_write_then_read(void **state)
{
    unsigned char *want = pattern(12345), *data = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(io_write_file(in_dir("rt"), want, 12345, false), CSIGN_OK);
    assert_int_equal(io_read_file(in_dir("rt"), 12345, &data, &len), CSIGN_OK);
    assert_int_equal(len, 12345);
    assert_memory_equal(data, want, 12345);
    free(data);
    free(want);
}

/* ---- cli_hex ------------------------------------------------------------ */

static void test_hex(void **state)
{
    static const struct {
        const char *text;
        size_t max;
        csign_rc rc;
        size_t len;
        unsigned char bytes[8];
        const char *msg;
    } cases[] = {
        {"0a1B", 8, CSIGN_OK, 2, {0x0a, 0x1b}, NULL},
        {"0a:1b", 8, CSIGN_OK, 2, {0x0a, 0x1b}, NULL},
        {"0A:1B:ff", 8, CSIGN_OK, 3, {0x0a, 0x1b, 0xff}, NULL},
        {"00", 8, CSIGN_OK, 1, {0x00}, NULL},
        {"FF", 1, CSIGN_OK, 1, {0xff}, NULL},
        {"0123456789abcdef",
         8,
         CSIGN_OK,
         8,
         {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
         NULL},
        {"01020304", 4, CSIGN_OK, 4, {1, 2, 3, 4}, NULL},
        {"0102030405", 4, CSIGN_EUSAGE, 0, {0}, "longer than 4 bytes"},
        {"01:02:03:04:05", 4, CSIGN_EUSAGE, 0, {0}, "longer"},
        {"0", 8, CSIGN_EUSAGE, 0, {0}, "pairs"},
        {"0a1", 8, CSIGN_EUSAGE, 0, {0}, "pairs"},
        {"zz", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"0g", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"g0", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"", 8, CSIGN_EUSAGE, 0, {0}, "empty"},
        {":", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {":0a", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"0a::1b", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"0a:", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"0:a1", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"0a 1b", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {" 0a", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"0x0a", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
        {"-1", 8, CSIGN_EUSAGE, 0, {0}, "hex"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char out[16];
        size_t len = 777;
        csign_rc rc;

        memset(out, 0xa5, sizeof(out));
        err_clear();
        rc = cli_hex(cases[i].text, "--id", out, cases[i].max, &len);
        if (rc != cases[i].rc)
            print_error("case %zu '%s': rc %d '%s'\n", i, cases[i].text, rc, err_msg());
        assert_int_equal(rc, cases[i].rc);
        /* Never a byte past max. */
        for (size_t b = cases[i].max; b < sizeof(out); b++)
            assert_int_equal(out[b], 0xa5);
        if (rc == CSIGN_OK) {
            assert_int_equal(len, cases[i].len);
            assert_memory_equal(out, cases[i].bytes, len);
        } else {
            assert_int_equal(len, 777);
            assert_contains(err_msg(), "--id");
            assert_contains(err_msg(), cases[i].msg);
        }
    }
}

/* ---- cli_escape --------------------------------------------------------- */

static void test_escape(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"plain text", "plain text"},
        {"a\nb", "a\\x0ab"},
        {"a\rb\tc", "a\\x0db\\x09c"},
        {"\x1b[31m", "\\x1b[31m"},
        {"\x7f", "\\x7f"},
        {"\\", "\\x5c"},
        {"a\\nb", "a\\x5cnb"},
        {"J\xc3\xbcrgen", "J\xc3\xbcrgen"},
        {"\xe2\x82\xac 5", "\xe2\x82\xac 5"},     /* U+20AC */
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"}, /* U+1F600 */
        {"\xff", "\\xff"},
        {"a\377b", "a\\xffb"},                        /* octal: \xff then b */
        {"\xc3", "\\xc3"},                            /* cut sequence */
        {"\303a", "\\xc3a"},                          /* bad continuation */
        {"\xe2\x80", "\\xe2\\x80"},                   /* cut sequence */
        {"\xc0\xaf", "\\xc0\\xaf"},                   /* overlong '/' */
        {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},          /* overlong '/' */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* surrogate */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
        {"\x80", "\\x80"},                            /* lone continuation */
        {"\xe2\x80\xae", "\\xe2\\x80\\xae"},          /* U+202E RLO */
        {"a\xe2\x80\252b", "a\\xe2\\x80\\xaab"},      /* U+202A LRE */
        {"\xe2\x81\xa6", "\\xe2\\x81\\xa6"},          /* U+2066 LRI */
        {"\xe2\x81\xa9", "\\xe2\\x81\\xa9"},          /* U+2069 PDI */
        {"\xc2\x85", "\\xc2\\x85"},                   /* U+0085 NEL */
        {"\xc2\x80", "\\xc2\\x80"},                   /* U+0080 */
        {"\xc2\x9f", "\\xc2\\x9f"},                   /* U+009F */
        {"\xc2\xa0", "\xc2\xa0"},                     /* U+00A0: printable */
        {"\xe2\x80\xab\xe2\x80\xac", "\\xe2\\x80\\xab\\xe2\\x80\\xac"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256];
        const char *r = cli_escape(cases[i].in, buf, sizeof(buf));

        assert_ptr_equal(r, buf);
        if (strcmp(buf, cases[i].out) != 0)
            print_error("case %zu\n", i);
        assert_string_equal(buf, cases[i].out);
    }
}

/* Whether n bytes into an escaped text fall between two characters (a
 * \xNN escape or a UTF-8 sequence). */
static bool at_boundary(const char *text, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)text[i];
        i += c == '\\' ? 4 : c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    }
    return i == n;
}

/* A small buffer is never overrun and always ends in a NUL; what is there
 * is the start of the full escape, cut at a character's edge. */
static void test_escape_small_buffer(void **state)
{
    static const char *const inputs[] = {
        "abcdefghijklmnopqrstuvwxyz",
        "\xff\xff\xff\xff\xff\xff\xff\xff",
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
        "\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae",
        "a\nb\nc\nd\ne\n",
        "J\xc3\xbcrgen J\xc3\xbcrgen J\xc3\xbcrgen",
    };
    static const size_t sizes[] = {1, 2, 5, 8, 17, 18, 19, 24, 40};
    (void)state;

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        char full[1024];

        cli_escape(inputs[i], full, sizeof(full));
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            char area[64 + 16];
            size_t size = sizes[s];

            memset(area, 'Z', sizeof(area));
            cli_escape(inputs[i], area, size);
            for (size_t b = size; b < sizeof(area); b++)
                assert_int_equal(area[b], 'Z');
            assert_non_null(memchr(area, '\0', size));
            size_t n = strlen(area);
            assert_true(n < size);
            assert_memory_equal(area, full, n);
            assert_true(at_boundary(full, n));
        }
    }
}

/* "Cut to fit size": text that fits is kept whole. */
static void test_escape_keeps_what_fits(void **state)
{
    static const struct {
        const char *in;
        size_t size;
    } cases[] = {
        {"abc", 8},
        {"abcdefg", 8},
        {"\xff", 5},
        {"ab\xff", 8},
        {"aaaaaaaaaaaaaaaaaaaa", 32},
        {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 41},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char full[256], buf[64];

        cli_escape(cases[i].in, full, sizeof(full));
        assert_true(strlen(full) < cases[i].size);
        cli_escape(cases[i].in, buf, cases[i].size);
        if (strcmp(buf, full) != 0)
            print_error("case %zu: size %zu gave '%s', want '%s'\n", i, cases[i].size, buf, full);
        assert_string_equal(buf, full);
    }
}

/* ---- cli_json_string ---------------------------------------------------- */

/* Checks that cli_json_string(in) is a JSON string whose value is want. */
static void check_json_string(size_t i, const char *in, const char *want)
{
    json_t *j = cli_json_string(in);
    char got[256] = "";
    bool is_string = json_is_string(j);

    /* Copied out, so that a failing assertion leaks nothing. */
    if (is_string)
        snprintf(got, sizeof(got), "%s", json_string_value(j));
    json_decref(j);
    assert_true(is_string);
    if (strcmp(got, want) != 0)
        print_error("case %zu: got '%s', want '%s'\n", i, got, want);
    assert_string_equal(got, want);
}

/* UTF-8 goes through as it is (JSON's own escaping is jansson's job). */
static void test_json_string_utf8(void **state)
{
    static const char *const cases[] = {"", "plain", "J\xc3\xbcrgen", "a\nb\\c", "\xe2\x80\xae"};
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_json_string(i, cases[i], cases[i]);
}

/* Text that is not UTF-8 comes out escaped, whole. */
static void test_json_string_invalid_utf8(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"J\xc3\xbcrgen\xff", "J\xc3\xbcrgen\\xff"},
        {"\xff", "\\xff"},
        {"ab\xff", "ab\\xff"},
        {"\xff\xfe", "\\xff\\xfe"},
        {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
         "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff"},
        {"label \xc0\xaf\xe2\x80\xae", "label \\xc0\\xaf\\xe2\\x80\\xae"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_json_string(i, cases[i].in, cases[i].want);
}

static void test_json_string_null(void **state)
{
    json_t *j = cli_json_string(NULL);
    (void)state;

    assert_non_null(j);
    assert_true(json_is_null(j));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_creates, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_keeps_existing, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_force_replaces, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_mode_follows_umask, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_force_keeps_permissions_only, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_write_force_link_not_followed, make_dir, remove_dir),
        cmocka_unit_test(test_batch_leaves_umask_alone),
        cmocka_unit_test_setup_teardown(test_write_missing_folder, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_over_folder, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_relative, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_unwritable_folder, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_check_output, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_check_output_unwritable, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_batch_commits_all, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_batch_one_fails_others_land, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_batch_freed_leaves_nothing, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_batch_add_missing_folder, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_batch_all_lands, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_batch_all_second_fails_first_removed, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_batch_all_second_fails_old_restored, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_batch_all_force_created_removed, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_read_sizes, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_read_nuls, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_read_small_max_big_file, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_read_errors, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_read_empty, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_read_stdin, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_then_read, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_open_input_not_regular, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_open_input_regular, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_open_input_stdin_pipe, make_dir, remove_dir),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_small_buffer),
        cmocka_unit_test(test_escape_keeps_what_fits),
        cmocka_unit_test(test_json_string_utf8),
        cmocka_unit_test(test_json_string_invalid_utf8),
        cmocka_unit_test(test_json_string_null),
    };

    return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
