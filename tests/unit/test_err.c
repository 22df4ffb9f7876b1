/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sys/err.h"
#include "testutil.h"

static int reset(void **state)
{
    (void)state;
    err_clear();
    ERR_clear_error();
    return 0;
}

/* The exit codes are an interface (docs/exit-codes.md); they never change. */
static void test_exit_code_values(void **state)
{
    (void)state;
    assert_int_equal(CSIGN_OK, 0);
    assert_int_equal(CSIGN_ENO, 1);
    assert_int_equal(CSIGN_EUSAGE, 2);
    assert_int_equal(CSIGN_ETOKEN, 3);
    assert_int_equal(CSIGN_EIO, 4);
    assert_int_equal(CSIGN_EINPUT, 5);
    assert_int_equal(CSIGN_EINTERNAL, 70);
}

static void test_msg_empty_when_none_set(void **state)
{
    (void)state;
    assert_non_null(err_msg());
    assert_string_equal(err_msg(), "");
}

static void test_set_returns_code_and_keeps_message(void **state)
{
    static const csign_rc codes[] = {CSIGN_OK,  CSIGN_ENO,    CSIGN_EUSAGE,   CSIGN_ETOKEN,
                                     CSIGN_EIO, CSIGN_EINPUT, CSIGN_EINTERNAL};
    (void)state;

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "reason number %zu for '%s'", i, "x.bin");
        assert_int_equal(err_set(codes[i], "reason number %zu for '%s'", i, "x.bin"), codes[i]);
        assert_string_equal(err_msg(), want);
    }
}

static void test_set_replaces_earlier_reason(void **state)
{
    (void)state;
    err_set(CSIGN_EIO, "first");
    err_set(CSIGN_EINPUT, "second");
    assert_string_equal(err_msg(), "second");
}

static void test_set_makes_one_line(void **state)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"a\nb", "a?b"},
        {"line one\r\nline two", "line one??line two"},
        {"tab\there", "tab?here"},
        {"\x1b[31mred\x1b[0m", "?[31mred?[0m"},
        {"del\x7f", "del?"},
        {"\x01\x1f", "??"},
        {"plain text, UTF-8 \xc3\xa9 kept", "plain text, UTF-8 \xc3\xa9 kept"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(err_set(CSIGN_EIO, "cannot open '%s'", cases[i].in), CSIGN_EIO);
        char want[128];
        snprintf(want, sizeof(want), "cannot open '%s'", cases[i].want);
        assert_string_equal(err_msg(), want);
        assert_null(strchr(err_msg(), '\n'));
        assert_null(strchr(err_msg(), '\r'));
    }
}

static void test_set_cuts_long_reason(void **state)
{
    static char big[ERR_MAX * 2];
    (void)state;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(err_set(CSIGN_EINPUT, "%s", big), CSIGN_EINPUT);
    assert_int_equal(strlen(err_msg()), ERR_MAX - 1);
    assert_int_equal(err_msg()[0], 'a');
}

static void test_wrap_prefixes(void **state)
{
    (void)state;
    err_set(CSIGN_EIO, "cannot open 'k.pem': No such file");
    assert_int_equal(err_wrap(CSIGN_ETOKEN, "loading key %d", 2), CSIGN_ETOKEN);
    assert_string_equal(err_msg(), "loading key 2: cannot open 'k.pem': No such file");
    assert_int_equal(err_wrap(CSIGN_EIO, "sign"), CSIGN_EIO);
    assert_string_equal(err_msg(), "sign: loading key 2: cannot open 'k.pem': No such file");
}

static void test_wrap_without_reason(void **state)
{
    (void)state;
    assert_int_equal(err_wrap(CSIGN_EUSAGE, "context"), CSIGN_EUSAGE);
    assert_string_equal(err_msg(), "context");
}

static void test_wrap_sanitises_prefix(void **state)
{
    (void)state;
    err_set(CSIGN_EIO, "inner");
    err_wrap(CSIGN_EIO, "file '%s'", "evil\nname");
    assert_string_equal(err_msg(), "file 'evil?name': inner");
}

static void test_wrap_long_stays_bounded(void **state)
{
    static char big[ERR_MAX];
    (void)state;

    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    err_set(CSIGN_EIO, "%s", big);
    err_wrap(CSIGN_EIO, "prefix");
    assert_int_equal(strlen(err_msg()), ERR_MAX - 1);
    assert_int_equal(strncmp(err_msg(), "prefix: bbb", 11), 0);
}

static void test_clear(void **state)
{
    (void)state;
    err_set(CSIGN_ETOKEN, "something");
    assert_string_equal(err_msg(), "something");
    err_clear();
    assert_string_equal(err_msg(), "");
    /* A wrap after a clear has nothing to append to. */
    err_wrap(CSIGN_EIO, "ctx");
    assert_string_equal(err_msg(), "ctx");
}

static void test_oom(void **state)
{
    (void)state;
    err_set(CSIGN_EIO, "earlier");
    assert_int_equal(err_oom(), CSIGN_EINTERNAL);
    assert_string_equal(err_msg(), "out of memory");
}

static void test_names(void **state)
{
    static const struct {
        csign_rc rc;
        const char *name;
    } cases[] = {
        {CSIGN_OK, "ok"},
        {CSIGN_ENO, "invalid"},
        {CSIGN_EUSAGE, "usage"},
        {CSIGN_ETOKEN, "token"},
        {CSIGN_EIO, "io"},
        {CSIGN_EINPUT, "input"},
        {CSIGN_EINTERNAL, "internal"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(err_name(cases[i].rc), cases[i].name);
    assert_string_equal(err_name((csign_rc)42), "internal");
}

static void test_set_ssl_appends_openssl_error(void **state)
{
    (void)state;
    ERR_raise(ERR_LIB_EVP, EVP_R_BAD_DECRYPT);
    assert_int_equal(err_set_ssl(CSIGN_EINPUT, "cannot sign %s", "a.bin"), CSIGN_EINPUT);
    assert_int_equal(strncmp(err_msg(), "cannot sign a.bin (", 19), 0);
    assert_contains(err_msg(), "bad decrypt");
    assert_int_equal(err_msg()[strlen(err_msg()) - 1], ')');
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_set_ssl_without_openssl_error(void **state)
{
    (void)state;
    assert_int_equal(err_set_ssl(CSIGN_EINPUT, "cannot sign"), CSIGN_EINPUT);
    assert_string_equal(err_msg(), "cannot sign");
}

static void *other_thread(void *arg)
{
    char *seen = arg;
    snprintf(seen, 64, "%s", err_msg());
    err_set(CSIGN_EIO, "set in the other thread");
    return NULL;
}

static void test_reason_is_per_thread(void **state)
{
    pthread_t t;
    char seen[64] = "not run";
    (void)state;

    err_set(CSIGN_ETOKEN, "set in the main thread");
    assert_int_equal(pthread_create(&t, NULL, other_thread, seen), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_string_equal(seen, "");
    assert_string_equal(err_msg(), "set in the main thread");
}

static void test_reason_from_itself(void **state)
{
    (void)state;
    err_set(CSIGN_EINPUT, "certificate lacks codeSigning usage");
    assert_int_equal(err_set(CSIGN_ENO, "%s", err_msg()), CSIGN_ENO);
    assert_string_equal(err_msg(), "certificate lacks codeSigning usage");
    err_set(CSIGN_ENO, "file: %s", err_msg());
    assert_string_equal(err_msg(), "file: certificate lacks codeSigning usage");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_from_itself),
        cmocka_unit_test(test_exit_code_values),
        cmocka_unit_test_setup(test_msg_empty_when_none_set, reset),
        cmocka_unit_test_setup(test_set_returns_code_and_keeps_message, reset),
        cmocka_unit_test_setup(test_set_replaces_earlier_reason, reset),
        cmocka_unit_test_setup(test_set_makes_one_line, reset),
        cmocka_unit_test_setup(test_set_cuts_long_reason, reset),
        cmocka_unit_test_setup(test_wrap_prefixes, reset),
        cmocka_unit_test_setup(test_wrap_without_reason, reset),
        cmocka_unit_test_setup(test_wrap_sanitises_prefix, reset),
        cmocka_unit_test_setup(test_wrap_long_stays_bounded, reset),
        cmocka_unit_test_setup(test_clear, reset),
        cmocka_unit_test_setup(test_oom, reset),
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup(test_set_ssl_appends_openssl_error, reset),
        cmocka_unit_test_setup(test_set_ssl_without_openssl_error, reset),
        cmocka_unit_test_setup(test_reason_is_per_thread, reset),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
