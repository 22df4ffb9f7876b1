/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sys/err.h"
#include "cli/opt.h"
#include "testutil.h"

#define MAX_ARGS 12

/* A writable copy of a NULL-terminated list of arguments. */
typedef struct {
    int argc;
    char *argv[MAX_ARGS + 1];
    char store[1024];
} args;

static void args_init(args *a, const char *const *src)
{
    size_t used = 0;

    memset(a, 0, sizeof(*a));
    for (; src[a->argc] != NULL; a->argc++) {
        size_t n = strlen(src[a->argc]) + 1;
        assert_true(a->argc < MAX_ARGS);
        assert_true(used + n <= sizeof(a->store));
        memcpy(a->store + used, src[a->argc], n);
        a->argv[a->argc] = a->store + used;
        used += n;
    }
    a->argv[a->argc] = NULL;
}

/* ---- opt_parse ---------------------------------------------------------- */

enum { T_VERBOSE = 1, T_NAME, T_OUTPUT, T_FAIL, T_EXTRA = 10, T_LEVEL };

static const opt_spec table_a[] = {
    {T_VERBOSE, "verbose", 'v', NULL, "say more"},
    {T_NAME, "name", 'n', "NAME", "the name to use"},
    {T_OUTPUT, "output", 'o', "FILE", "where to write"},
    {T_FAIL, "fail", 'f', NULL, "makes the handler fail"},
    {0, NULL, 0, NULL, NULL},
};

static const opt_spec table_b[] = {
    {T_EXTRA, "extra", 'x', NULL, "an option from the second table"},
    {T_LEVEL, "level", 0, "N", "a long-only option with an argument"},
    {0, NULL, 0, NULL, NULL},
};

static const opt_spec *const tables[] = {table_a, table_b, NULL};

/* What the handler saw, as "id" or "id=arg" separated by spaces. */
typedef struct {
    char trace[256];
} recorder;

static csign_rc record(void *ctx, int id, const char *arg)
{
    recorder *r = ctx;
    size_t n = strlen(r->trace);
    char item[64];

    if (arg != NULL)
        snprintf(item, sizeof(item), "%s%d=%s", n ? " " : "", id, arg);
    else
        snprintf(item, sizeof(item), "%s%d", n ? " " : "", id);
    snprintf(r->trace + n, sizeof(r->trace) - n, "%s", item);
    if (id == T_FAIL)
        return err_set(CSIGN_EINPUT, "handler refused option %d", id);
    return CSIGN_OK;
}

typedef struct {
    const char *argv[MAX_ARGS];
    csign_rc rc;
    const char *trace;    /* handler calls, in order */
    const char *operands; /* operands joined by '|' (only checked on success) */
    const char *msg;      /* part of the reason (only checked on failure) */
} parse_case;

static const parse_case parse_cases[] = {
    /* long flag */
    {{"cmd", "--verbose", NULL}, CSIGN_OK, "1", "", NULL},
    /* --name value */
    {{"cmd", "--name", "bob", NULL}, CSIGN_OK, "2=bob", "", NULL},
    /* --name=value, including an empty value and a value with '=' */
    {{"cmd", "--name=bob", NULL}, CSIGN_OK, "2=bob", "", NULL},
    {{"cmd", "--name=", NULL}, CSIGN_OK, "2=", "", NULL},
    {{"cmd", "--name=a=b", NULL}, CSIGN_OK, "2=a=b", "", NULL},
    /* a value that looks like an option is still the value */
    {{"cmd", "--name", "-v", NULL}, CSIGN_OK, "2=-v", "", NULL},
    /* short flag */
    {{"cmd", "-v", NULL}, CSIGN_OK, "1", "", NULL},
    /* -x value and -xVALUE */
    {{"cmd", "-n", "bob", NULL}, CSIGN_OK, "2=bob", "", NULL},
    {{"cmd", "-nbob", NULL}, CSIGN_OK, "2=bob", "", NULL},
    /* bundled flags, and a bundle ending in an option with a value */
    {{"cmd", "-vv", NULL}, CSIGN_OK, "1 1", "", NULL},
    {{"cmd", "-vxv", NULL}, CSIGN_OK, "1 10 1", "", NULL},
    {{"cmd", "-vnbob", NULL}, CSIGN_OK, "1 2=bob", "", NULL},
    {{"cmd", "-vn", "bob", NULL}, CSIGN_OK, "1 2=bob", "", NULL},
    /* options of the second table */
    {{"cmd", "--extra", "--level", "3", NULL}, CSIGN_OK, "10 11=3", "", NULL},
    /* operands mixed with options keep their order */
    {{"cmd", "a", "--verbose", "b", "-o", "out", "c", NULL}, CSIGN_OK, "1 3=out", "a|b|c", NULL},
    /* "--" ends options */
    {{"cmd", "-v", "--", "--verbose", "-n", "x", NULL}, CSIGN_OK, "1", "--verbose|-n|x", NULL},
    {{"cmd", "--", "--", NULL}, CSIGN_OK, "", "--", NULL},
    /* "-" alone is an operand */
    {{"cmd", "-", "-v", NULL}, CSIGN_OK, "1", "-", NULL},
    /* nothing at all */
    {{"cmd", NULL}, CSIGN_OK, "", "", NULL},
    /* unknown long option, also with =value, and no abbreviations */
    {{"cmd", "--bogus", NULL}, CSIGN_EUSAGE, "", NULL, "unknown option '--bogus'"},
    {{"cmd", "--bogus=1", NULL}, CSIGN_EUSAGE, "", NULL, "unknown option '--bogus'"},
    {{"cmd", "--verb", NULL}, CSIGN_EUSAGE, "", NULL, "'--verb'"},
    /* unknown short option, alone and after a valid flag in a bundle */
    {{"cmd", "-z", NULL}, CSIGN_EUSAGE, "", NULL, "unknown option '-z'"},
    {{"cmd", "-vz", NULL}, CSIGN_EUSAGE, "1", NULL, "unknown option '-z'"},
    /* missing argument */
    {{"cmd", "--name", NULL}, CSIGN_EUSAGE, "", NULL, "'--name' needs an argument (NAME)"},
    {{"cmd", "-n", NULL}, CSIGN_EUSAGE, "", NULL, "'-n' needs an argument (NAME)"},
    {{"cmd", "-vo", NULL}, CSIGN_EUSAGE, "1", NULL, "'-o' needs an argument (FILE)"},
    /* a flag given "=value" */
    {{"cmd", "--verbose=yes", NULL}, CSIGN_EUSAGE, "", NULL, "'--verbose' takes no argument"},
    /* the handler's error stops parsing, and its code comes back */
    {{"cmd", "--fail", "--verbose", "op", NULL}, CSIGN_EINPUT, "4", NULL, "handler refused"},
    {{"cmd", "-vfv", NULL}, CSIGN_EINPUT, "1 4", NULL, "handler refused"},
    {{"cmd", "-v", "--fail", "-z", NULL}, CSIGN_EINPUT, "1 4", NULL, "handler refused"},
};

static void test_opt_parse_table(void **state)
{
    (void)state;

    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const parse_case *c = &parse_cases[i];
        args a;
        recorder r = {{0}};
        char *operands[MAX_ARGS];
        char joined[256] = "";
        int n = -1;

        args_init(&a, c->argv);
        err_clear();
        csign_rc rc = opt_parse(tables, a.argc, a.argv, record, &r, operands, &n);
        if (rc != c->rc || strcmp(r.trace, c->trace) != 0)
            print_error("case %zu (%s %s): rc %d, trace '%s', reason '%s'\n", i,
                        c->argv[1] ? c->argv[1] : "", c->argv[1] && c->argv[2] ? c->argv[2] : "",
                        (int)rc, r.trace, err_msg());
        assert_int_equal(rc, c->rc);
        assert_string_equal(r.trace, c->trace);
        if (rc == CSIGN_OK) {
            assert_true(n >= 0 && n < a.argc);
            for (int k = 0; k < n; k++) {
                /* Operands point into argv. */
                bool in_argv = false;
                for (int j = 1; j < a.argc; j++)
                    in_argv = in_argv || operands[k] == a.argv[j];
                assert_true(in_argv);
                size_t len = strlen(joined);
                snprintf(joined + len, sizeof(joined) - len, "%s%s", k ? "|" : "", operands[k]);
            }
            assert_string_equal(joined, c->operands);
        } else {
            assert_contains(err_msg(), c->msg);
        }
    }
}

static void test_opt_parse_resets_operand_count(void **state)
{
    static const char *const src[] = {"cmd", NULL};
    args a;
    recorder r = {{0}};
    char *operands[2];
    int n = 99;
    (void)state;

    args_init(&a, src);
    assert_int_equal(opt_parse(tables, a.argc, a.argv, record, &r, operands, &n), CSIGN_OK);
    assert_int_equal(n, 0);
}

static void test_help_text_lists_every_option(void **state)
{
    (void)state;
    char *text = opt_help_text("cmd [options] FILE", "Does a thing.", tables);

    assert_non_null(text);
    static const char head[] = "Usage: cmd [options] FILE\n\nDoes a thing.\n\nOptions:\n";
    assert_int_equal(strncmp(text, head, strlen(head)), 0);
    for (const opt_spec *const *t = tables; *t != NULL; t++) {
        for (const opt_spec *o = *t; o->id != 0; o++) {
            char want[128];
            if (o->short_name != 0)
                snprintf(want, sizeof(want), "-%c, --%s%s%s", o->short_name, o->name,
                         o->arg ? " " : "", o->arg ? o->arg : "");
            else
                snprintf(want, sizeof(want), "    --%s%s%s", o->name, o->arg ? " " : "",
                         o->arg ? o->arg : "");
            assert_contains(text, want);
            assert_contains(text, o->help);
        }
    }
    /* One line per option after the header. */
    size_t lines = 0;
    for (const char *p = text + strlen(head); *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 6);
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
}

static void test_help_text_without_options(void **state)
{
    static const opt_spec *const none[] = {NULL};
    (void)state;
    char *text = opt_help_text("x", "y", none);

    assert_non_null(text);
    assert_string_equal(text, "Usage: x\n\ny\n\nOptions:\n");
    free(text);
}

/* ---- list_parse and init_token_parse ------------------------------------ */

static int reset_verbosity(void **state)
{
    (void)state;
    cli_verbosity = 0;
    err_clear();
    return 0;
}

static void test_list_parse_login_json_uri(void **state)
{
    static const char *const src[] = {"list", "--login", "--json", "pkcs11:token=x", NULL};
    args a;
    list_opts o;
    (void)state;

    args_init(&a, src);
    assert_int_equal(list_parse(a.argc, a.argv, &o), CSIGN_OK);
    assert_true(o.login);
    assert_true(o.json);
    assert_non_null(o.uri);
    assert_string_equal(o.uri, "pkcs11:token=x");
    assert_null(o.c.module);
    assert_null(o.c.pin_spec);
    assert_false(o.c.pin_final_try);
    assert_false(o.c.help);
    assert_int_equal(cli_verbosity, 0);
}

static void test_list_parse_defaults(void **state)
{
    static const char *const src[] = {"list", NULL};
    args a;
    list_opts o;
    (void)state;

    memset(&o, 0xff, sizeof(o));
    args_init(&a, src);
    assert_int_equal(list_parse(a.argc, a.argv, &o), CSIGN_OK);
    assert_false(o.login);
    assert_false(o.json);
    assert_null(o.uri);
    assert_null(o.c.module);
    assert_null(o.c.pin_spec);
    assert_false(o.c.pin_final_try);
    assert_false(o.c.help);
}

static void test_list_parse_common_options(void **state)
{
    static const char *const src[] = {
        "list",         "pkcs11:token=x", "--module",        "/opt/m.so",
        "--pin-source", "env:X",          "--pin-final-try", NULL};
    args a;
    list_opts o;
    (void)state;

    args_init(&a, src);
    assert_int_equal(list_parse(a.argc, a.argv, &o), CSIGN_OK);
    assert_string_equal(o.uri, "pkcs11:token=x");
    assert_string_equal(o.c.module, "/opt/m.so");
    assert_string_equal(o.c.pin_spec, "env:X");
    assert_true(o.c.pin_final_try);
    assert_false(o.login);
}

static void test_list_parse_two_uris(void **state)
{
    static const char *const src[] = {"list", "pkcs11:token=a", "pkcs11:token=b", NULL};
    args a;
    list_opts o;
    (void)state;

    args_init(&a, src);
    assert_int_equal(list_parse(a.argc, a.argv, &o), CSIGN_EUSAGE);
    assert_contains(err_msg(), "at most one");
}

static void test_list_parse_unknown_option(void **state)
{
    static const char *const src[] = {"list", "--label", "x", NULL};
    args a;
    list_opts o;
    (void)state;

    args_init(&a, src);
    assert_int_equal(list_parse(a.argc, a.argv, &o), CSIGN_EUSAGE);
    assert_contains(err_msg(), "'--label'");
}

static void test_list_parse_verbosity(void **state)
{
    static const struct {
        const char *argv[5];
        int verbosity;
    } cases[] = {
        {{"list", NULL}, 0},
        {{"list", "-v", NULL}, 1},
        {{"list", "-vv", NULL}, 2},
        {{"list", "-v", "--verbose", "-v", NULL}, 3},
        {{"list", "-q", NULL}, -1},
        {{"list", "--quiet", NULL}, -1},
        {{"list", "-q", "-v", NULL}, 1},
        {{"list", "-vv", "-q", NULL}, -1},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        args a;
        list_opts o;
        cli_verbosity = 0;
        args_init(&a, cases[i].argv);
        assert_int_equal(list_parse(a.argc, a.argv, &o), CSIGN_OK);
        assert_int_equal(cli_verbosity, cases[i].verbosity);
    }
}

static void test_list_parse_help(void **state)
{
    static const char *const long_form[] = {"list", "--help", NULL};
    static const char *const short_form[] = {"list", "-h", NULL};
    args a;
    list_opts o;
    (void)state;

    args_init(&a, long_form);
    assert_int_equal(list_parse(a.argc, a.argv, &o), CSIGN_OK);
    assert_true(o.c.help);
    args_init(&a, short_form);
    assert_int_equal(list_parse(a.argc, a.argv, &o), CSIGN_OK);
    assert_true(o.c.help);
}

static void test_init_token_parse_needs_label(void **state)
{
    static const char *const src[] = {"init-token", NULL};
    args a;
    init_token_opts o;
    (void)state;

    args_init(&a, src);
    assert_int_equal(init_token_parse(a.argc, a.argv, &o), CSIGN_EUSAGE);
    assert_string_equal(err_msg(), "--label is required");
}

static void test_init_token_parse_label(void **state)
{
    static const char *const src[] = {"init-token", "--label", "dev", NULL};
    args a;
    init_token_opts o;
    (void)state;

    args_init(&a, src);
    assert_int_equal(init_token_parse(a.argc, a.argv, &o), CSIGN_OK);
    assert_string_equal(o.label, "dev");
    assert_null(o.so_pin_spec);
    assert_false(o.force);
    assert_null(o.c.pin_spec);
    assert_null(o.c.module);
    assert_false(o.c.help);
}

static void test_init_token_parse_all(void **state)
{
    static const char *const src[] = {
        "init-token", "--label=release", "--so-pin-source", "env:SO", "--pin-source",
        "env:X",      "--force",         "--module",        "/m.so",  "-v",
        NULL};
    args a;
    init_token_opts o;
    (void)state;

    args_init(&a, src);
    assert_int_equal(init_token_parse(a.argc, a.argv, &o), CSIGN_OK);
    assert_string_equal(o.label, "release");
    assert_string_equal(o.so_pin_spec, "env:SO");
    assert_string_equal(o.c.pin_spec, "env:X");
    assert_string_equal(o.c.module, "/m.so");
    assert_true(o.force);
    assert_int_equal(cli_verbosity, 1);
}

static void test_init_token_parse_help_without_label(void **state)
{
    static const char *const src[] = {"init-token", "--help", NULL};
    args a;
    init_token_opts o;
    (void)state;

    args_init(&a, src);
    assert_int_equal(init_token_parse(a.argc, a.argv, &o), CSIGN_OK);
    assert_true(o.c.help);
    assert_null(o.label);
}

static void test_init_token_parse_errors(void **state)
{
    static const struct {
        const char *argv[6];
        const char *msg;
    } cases[] = {
        {{"init-token", "--label", "dev", "extra", NULL}, "unexpected argument 'extra'"},
        {{"init-token", "--label", NULL}, "'--label' needs an argument"},
        {{"init-token", "--label", "dev", "--force=yes", NULL}, "'--force' takes no argument"},
        {{"init-token", "--label", "dev", "--json", NULL}, "unknown option '--json'"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        args a;
        init_token_opts o;
        err_clear();
        args_init(&a, cases[i].argv);
        assert_int_equal(init_token_parse(a.argc, a.argv, &o), CSIGN_EUSAGE);
        assert_contains(err_msg(), cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opt_parse_table),
        cmocka_unit_test(test_opt_parse_resets_operand_count),
        cmocka_unit_test(test_help_text_lists_every_option),
        cmocka_unit_test(test_help_text_without_options),
        cmocka_unit_test_setup_teardown(test_list_parse_login_json_uri, reset_verbosity,
                                        reset_verbosity),
        cmocka_unit_test_setup_teardown(test_list_parse_defaults, reset_verbosity, reset_verbosity),
        cmocka_unit_test_setup_teardown(test_list_parse_common_options, reset_verbosity,
                                        reset_verbosity),
        cmocka_unit_test_setup_teardown(test_list_parse_two_uris, reset_verbosity, reset_verbosity),
        cmocka_unit_test_setup_teardown(test_list_parse_unknown_option, reset_verbosity,
                                        reset_verbosity),
        cmocka_unit_test_setup_teardown(test_list_parse_verbosity, reset_verbosity,
                                        reset_verbosity),
        cmocka_unit_test_setup_teardown(test_list_parse_help, reset_verbosity, reset_verbosity),
        cmocka_unit_test_setup_teardown(test_init_token_parse_needs_label, reset_verbosity,
                                        reset_verbosity),
        cmocka_unit_test_setup_teardown(test_init_token_parse_label, reset_verbosity,
                                        reset_verbosity),
        cmocka_unit_test_setup_teardown(test_init_token_parse_all, reset_verbosity,
                                        reset_verbosity),
        cmocka_unit_test_setup_teardown(test_init_token_parse_help_without_label, reset_verbosity,
                                        reset_verbosity),
        cmocka_unit_test_setup_teardown(test_init_token_parse_errors, reset_verbosity,
                                        reset_verbosity),
    };
    return cmocka_run_group_tests_name("opt", tests, NULL, NULL);
}
