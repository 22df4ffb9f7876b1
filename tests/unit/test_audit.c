/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log's pieces: the key URI it shows, its time format and the
 * append-only file. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/audit.h"
#include "sys/applog.h"
#include "sys/rfc3339.h"

static void test_key_uri_loses_pin_attributes(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"pkcs11:token=dev;object=rel", "pkcs11:token=dev;object=rel"},
        {"pkcs11:token=dev;object=rel?pin-source=file:/p", "pkcs11:token=dev;object=rel"},
        {"pkcs11:token=dev;object=rel?pin-value=1234", "pkcs11:token=dev;object=rel"},
        {"pkcs11:token=dev?module-path=/m.so&pin-source=env:P",
         "pkcs11:token=dev?module-path=/m.so"},
        {"pkcs11:token=dev?pin-source=env:P&module-path=/m.so",
         "pkcs11:token=dev?module-path=/m.so"},
        {"pkcs11:pin-value=1234;token=dev", "pkcs11:token=dev"},
        {"pkcs11:token=dev;PIN-VALUE=1234", "pkcs11:token=dev"},
        /* Not a PIN attribute, only a like name. */
        {"pkcs11:token=dev;object=pin-value-notes", "pkcs11:token=dev;object=pin-value-notes"},
        {"pkcs11:token=dev?pin-sourcex=1", "pkcs11:token=dev?pin-sourcex=1"},
        {"pkcs11:", "pkcs11:"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = audit_key_uri(cases[i].in);
        assert_non_null(got);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

static void test_time_format(void **state)
{
    char out[RFC3339_UTC_LEN];
    time_t back = 0;
    (void)state;

    rfc3339_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    rfc3339_format(1796601600, out);
    assert_string_equal(out, "2026-12-07T00:00:00Z");
    assert_true(rfc3339_parse(out, &back));
    assert_int_equal(back, 1796601600);
}

static void test_applog_appends(void **state)
{
    char dir[] = "/tmp/csign-applog.XXXXXX", path[64], buf[64];
    applog l;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/log", dir);
    assert_int_equal(applog_open(path, &l), CSIGN_OK);
    assert_int_equal(applog_append(&l, "one\n", 4), CSIGN_OK);
    assert_int_equal(applog_sync(&l), CSIGN_OK);
    applog_close(&l);
    applog_close(&l); /* harmless */
    /* A second open appends, whatever the file offset of a writer. */
    assert_int_equal(applog_open(path, &l), CSIGN_OK);
    assert_int_equal(applog_append(&l, "two\n", 4), CSIGN_OK);
    applog_close(&l);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_int_equal(n, 8);
    buf[n] = '\0';
    assert_string_equal(buf, "one\ntwo\n");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_applog_refuses(void **state)
{
    char dir[] = "/tmp/csign-applog.XXXXXX", path[64];
    applog l;
    (void)state;

    assert_non_null(mkdtemp(dir));
    /* A folder, a FIFO (without blocking), a missing folder. */
    assert_int_equal(applog_open(dir, &l), CSIGN_EIO);
    assert_int_equal(l.fd, -1);
    snprintf(path, sizeof(path), "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(applog_open(path, &l), CSIGN_EIO);
    assert_non_null(strstr(err_msg(), "not a regular file"));
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/no/log", dir);
    assert_int_equal(applog_open(path, &l), CSIGN_EIO);
    assert_non_null(strstr(err_msg(), "No such file or directory"));
    assert_int_equal(applog_append(&l, "x\n", 2), CSIGN_EINTERNAL);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_uri_loses_pin_attributes),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_applog_appends),
        cmocka_unit_test(test_applog_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
