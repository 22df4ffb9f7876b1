/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Setting up csign's own token store when the disk fails: this test
 * program defines fsync() itself, so that the store's configuration file
 * cannot be flushed on demand.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CSIGN_TEST_SCRATCH
#include "hsm/hsm.h"
#include "testutil.h"

static bool fail_fsync;

int fsync(int fd)
{
    if (fail_fsync) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* A configuration that cannot be flushed is an I/O error that leaves no
 * file and no open descriptor behind. */
static void test_config_flush_failure(void **state)
{
    hsm_module_choice c;
    char store[PATH_MAX + 16];
    (void)state;

    unsetenv("SOFTHSM2_CONF");
    setenv("XDG_DATA_HOME", dir, 1);
    int before = open_fds();
    fail_fsync = true;
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_EIO);
    fail_fsync = false;
    assert_contains(err_msg(), "softhsm2.conf': Input/output error");
    assert_int_equal(open_fds(), before);
    hsm_module_choice_clear(&c);

    /* Only the token folder is there. */
    snprintf(store, sizeof(store), "%s/csign", dir);
    DIR *d = opendir(store);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        assert_true(e->d_name[0] == '.' || strcmp(e->d_name, "tokens") == 0);
    closedir(d);

    /* The next try writes it. */
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    hsm_module_choice_clear(&c);
    unsetenv("SOFTHSM2_CONF");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_flush_failure, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
