/* SPDX-License-Identifier: Apache-2.0 */
/* Edit distances and the "did you mean" choice for typos. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cli/suggest.h"

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(suggest_distance("", ""), 0);
    assert_int_equal(suggest_distance("sign", "sign"), 0);
    assert_int_equal(suggest_distance("", "abc"), 3);
    assert_int_equal(suggest_distance("abc", ""), 3);
    /* A swap of neighbours is one edit. */
    assert_int_equal(suggest_distance("sgin", "sign"), 1);
    assert_int_equal(suggest_distance("kye", "key"), 1);
    /* Insertion, deletion, substitution. */
    assert_int_equal(suggest_distance("verfy", "verify"), 1);
    assert_int_equal(suggest_distance("veriffy", "verify"), 1);
    assert_int_equal(suggest_distance("vorify", "verify"), 1);
    assert_int_equal(suggest_distance("kitten", "sitting"), 3);
    assert_int_equal(suggest_distance("ca", "abc"), 3);
    /* Symmetric. */
    assert_int_equal(suggest_distance("digset", "digest"), suggest_distance("digest", "digset"));
    /* Too long to compare. */
    char big[SUGGEST_MAX_LEN + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(suggest_distance(big, "a"), SUGGEST_FAR);
}

static void test_close(void **state)
{
    (void)state;
    assert_true(suggest_close("sgin", "sign"));
    assert_true(suggest_close("kye", "key"));
    assert_true(suggest_close("timestmap", "timestamp"));
    assert_true(suggest_close("init-tokn", "init-token"));
    /* Short words: one edit at most. */
    assert_false(suggest_close("ab", "list"));
    assert_false(suggest_close("xy", "csr"));
    /* Never more than two edits. */
    assert_false(suggest_close("frobnicate", "verify"));
    assert_false(suggest_close("timxxxmap", "timestamp"));
}

static void test_best(void **state)
{
    const char *cmds[] = {"init-token",  "list", "keygen", "csr",    "selfsign",
                          "import-cert", "sign", "verify", "digest", "timestamp"};
    const size_t n = sizeof(cmds) / sizeof(cmds[0]);
    (void)state;

    assert_string_equal(suggest_best("sgin", cmds, n), "sign");
    assert_string_equal(suggest_best("verfiy", cmds, n), "verify");
    assert_string_equal(suggest_best("lsit", cmds, n), "list");
    assert_string_equal(suggest_best("digets", cmds, n), "digest");
    assert_null(suggest_best("frobnicate", cmds, n));
    assert_null(suggest_best("", cmds, n));
    assert_null(suggest_best("x", cmds, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_best),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
