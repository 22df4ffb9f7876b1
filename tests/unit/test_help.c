/* SPDX-License-Identifier: Apache-2.0 */
/* --help wrapped to a width: descriptions under their column, examples
 * continued as shell commands. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli/opt.h"

static const opt_spec table[] = {
    {1, "key", 0, "URI", "the signing key on the token (pkcs11: URI), which never leaves it"},
    {2, "a-very-long-option-name", 'x', "ARGUMENT", "short"},
    {3, "flag", 'f', NULL, "a flag"},
    {0, NULL, 0, NULL, NULL},
};

static size_t longest_line(const char *s)
{
    size_t best = 0;
    while (*s) {
        size_t n = strcspn(s, "\n");
        if (n > best)
            best = n;
        s += n;
        if (*s == '\n')
            s++;
    }
    return best;
}

static void test_wrapped_widths(void **state)
{
    const opt_spec *tables[] = {table, NULL};
    (void)state;

    for (size_t w = 40; w <= 120; w += 20) {
        char *text = opt_help_wrapped("csign thing [options] FILE...",
                                      "Does a thing to each FILE, and says so in a sentence long "
                                      "enough to need more than one line at most widths.",
                                      tables, w);
        assert_non_null(text);
        assert_true(longest_line(text) <= w);
        free(text);
    }
}

static void test_description_column(void **state)
{
    const opt_spec *tables[] = {table, NULL};
    (void)state;
    char *text = opt_help_wrapped("x", "y", tables, 60);

    assert_non_null(text);
    /* Continued at column 33, under the description. */
    assert_non_null(strstr(text, "\n      --key URI                  the signing key on the\n"
                                 "                                 token"));
    /* An option too long for its column: description on the next line. */
    assert_non_null(strstr(text, "--a-very-long-option-name ARGUMENT\n"
                                 "                                 short\n"));
    free(text);
}

static void test_default_width_is_80(void **state)
{
    const opt_spec *tables[] = {table, NULL};
    (void)state;
    char *a = opt_help_text("x", "y", tables);
    char *b = opt_help_wrapped("x", "y", tables, OPT_HELP_WIDTH);

    assert_int_equal(OPT_HELP_WIDTH, 80);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_examples(void **state)
{
    (void)state;
    char *text = opt_help_examples("csign selfsign --key 'pkcs11:token=dev;object=release' "
                                   "--subject 'CN=Dev Signing' --import -o dev.pem\n"
                                   "csign list",
                                   50);

    assert_non_null(text);
    assert_true(longest_line(text) <= 50);
    /* Broken between arguments only, with a continuation; quotes and an
     * option's argument stay whole. */
    assert_string_equal(text, "\nExamples:\n"
                              "  csign selfsign \\\n"
                              "      --key 'pkcs11:token=dev;object=release' \\\n"
                              "      --subject 'CN=Dev Signing' --import \\\n"
                              "      -o dev.pem\n"
                              "  csign list\n");
    free(text);
}

static void test_wrap(void **state)
{
    (void)state;
    char *text = opt_wrap("one two three four", 0, 2, 9, NULL);

    assert_string_equal(text, "one two\n  three\n  four");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrapped_widths),
        cmocka_unit_test(test_description_column),
        cmocka_unit_test(test_default_width_is_80),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
