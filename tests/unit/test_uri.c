/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/err.h"
#include "hsm/hsm.h"
#include "testutil.h"

static void check_lacks(const char *hay, const char *needle, const char *file, int line)
{
    if (hay != NULL && strstr(hay, needle) != NULL) {
        print_error("'%s' contains '%s'\n", hay, needle);
        _fail(file, line);
    }
}
#define assert_lacks(h, n) check_lacks((h), (n), __FILE__, __LINE__)

static void check_opt_string(const char *got, const char *want, const char *file, int line)
{
    if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0) {
        print_error("got '%s', want '%s'\n", got ? got : "(null)", want ? want : "(null)");
        _fail(file, line);
    }
}
/* Equal strings, or both NULL. */
#define assert_opt_string(g, w) check_opt_string((g), (w), __FILE__, __LINE__)

/* ---- hsm_uri_parse ------------------------------------------------------ */

static void test_parse_ok(void **state)
{
    static const struct {
        const char *text;
        const char *module_path;
        const char *pin_source;
        bool names_object;
    } cases[] = {
        {"pkcs11:token=dev;object=release;type=private", NULL, NULL, true},
        {"pkcs11:token=dev;id=%01%02", NULL, NULL, true},
        {"pkcs11:serial=abc;slot-id=5", NULL, NULL, false},
        {"pkcs11:token=dev?module-path=/x/y.so", "/x/y.so", NULL, false},
        {"pkcs11:token=dev?pin-source=file:/p", NULL, "file:/p", false},
        {"pkcs11:token=dev?module-path=/m.so&pin-source=env:P", "/m.so", "env:P", false},
        {"pkcs11:manufacturer=SoftHSM%20project;model=SoftHSM%20v2;token=a%20b", NULL, NULL, false},
        {"pkcs11:object=my%20key;type=cert?module-path=/m.so", "/m.so", NULL, true},
        {"pkcs11:", NULL, NULL, false},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsm_uri *u = NULL;
        err_clear();
        csign_rc rc = hsm_uri_parse(cases[i].text, &u);
        if (rc != CSIGN_OK)
            print_error("'%s': rc %d, reason '%s'\n", cases[i].text, (int)rc, err_msg());
        assert_int_equal(rc, CSIGN_OK);
        assert_non_null(u);
        assert_opt_string(hsm_uri_module_path(u), cases[i].module_path);
        assert_opt_string(hsm_uri_pin_source(u), cases[i].pin_source);
        assert_int_equal(hsm_uri_names_object(u), cases[i].names_object);
        hsm_uri_free(u);
    }
}

static void test_parse_refused(void **state)
{
    static const struct {
        const char *text;
        const char *must[3]; /* parts the reason contains */
        const char *never;   /* a part it must not contain */
    } cases[] = {
        {"pkcs11:token=dev?pin-value=1234", {"pin-value", "process list", "(redacted)"}, "1234"},
        {"pkcs11:token=dev?pin-source=file:/p&pin-value=1234",
         {"pin-value", "process list"},
         "1234"},
        {"pkcs11:token=dev;pin-value=1234", {"pin-value", "process list"}, "1234"},
        {"pkcs11:token=dev?pin-value=%31%32%33%34", {"pin-value"}, "%31%32%33%34"},
        {"file:/x", {"'file:/x'", "not a PKCS#11 URI"}, NULL},
        {"file:/x?pin-value=1234", {"not a PKCS#11 URI"}, "1234"},
        {"", {"not a PKCS#11 URI"}, NULL},
        {"token=dev", {"not a PKCS#11 URI"}, NULL},
        {"pkcs11:toke=dev", {"'pkcs11:toke=dev'", "does not know"}, NULL},
        {"pkcs11:token=dev;objekt=k", {"does not know"}, NULL},
        {"pkcs11:token=%zz", {"bad PKCS#11 URI", "'pkcs11:token=%zz'"}, NULL},
        {"pkcs11:id=%0", {"bad PKCS#11 URI"}, NULL},
        {"pkcs11:type=nonsense", {"'pkcs11:type=nonsense'"}, NULL},
        {"pkcs11:token=dev?module-name=softhsm2", {"module-name", "module-path"}, NULL},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsm_uri *u = NULL;
        err_clear();
        csign_rc rc = hsm_uri_parse(cases[i].text, &u);
        if (rc != CSIGN_EUSAGE)
            print_error("'%s': rc %d, reason '%s'\n", cases[i].text, (int)rc, err_msg());
        assert_int_equal(rc, CSIGN_EUSAGE);
        assert_null(u);
        for (size_t k = 0; k < 3 && cases[i].must[k] != NULL; k++)
            assert_contains(err_msg(), cases[i].must[k]);
        if (cases[i].never != NULL)
            assert_lacks(err_msg(), cases[i].never);
    }
}

static void test_names_object(void **state)
{
    static const struct {
        const char *text;
        bool names_object;
    } cases[] = {
        {"pkcs11:object=release", true},
        {"pkcs11:id=%01", true},
        {"pkcs11:type=private", true},
        {"pkcs11:type=cert", true},
        {"pkcs11:token=dev;object=k", true},
        {"pkcs11:token=dev", false},
        {"pkcs11:token=dev;serial=1;slot-id=0", false},
        {"pkcs11:token=dev?module-path=/m.so", false},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsm_uri *u = NULL;
        assert_int_equal(hsm_uri_parse(cases[i].text, &u), CSIGN_OK);
        if (hsm_uri_names_object(u) != cases[i].names_object)
            print_error("'%s': names_object is wrong\n", cases[i].text);
        assert_int_equal(hsm_uri_names_object(u), cases[i].names_object);
        hsm_uri_free(u);
    }
}

static void test_accessors_accept_null(void **state)
{
    (void)state;
    assert_null(hsm_uri_module_path(NULL));
    assert_null(hsm_uri_pin_source(NULL));
    hsm_uri_free(NULL);
}

/* ---- hsm_uri_redact ----------------------------------------------------- */

static void test_redact(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"pkcs11:token=dev?pin-value=1234", "pkcs11:token=dev?pin-value=(redacted)"},
        {"pkcs11:token=dev?module-path=/m.so&pin-value=1234",
         "pkcs11:token=dev?module-path=/m.so&pin-value=(redacted)"},
        {"pkcs11:token=dev?pin-value=1234&module-path=/m.so",
         "pkcs11:token=dev?pin-value=(redacted)&module-path=/m.so"},
        {"pkcs11:token=dev?pin-value=1&pin-value=2",
         "pkcs11:token=dev?pin-value=(redacted)&pin-value=(redacted)"},
        {"pkcs11:token=dev?pin-value=", "pkcs11:token=dev?pin-value=(redacted)"},
        {"pkcs11:token=dev;pin-value=1234;object=k",
         "pkcs11:token=dev;pin-value=(redacted);object=k"},
        {"pkcs11:token=dev;pin-value=12&34;object=k",
         "pkcs11:token=dev;pin-value=(redacted);object=k"},
        {"pin-value=1234", "pin-value=(redacted)"},
        {"pin-value=pin-value=pin-value=x", "pin-value=(redacted)"},
        /* unchanged */
        {"pkcs11:token=dev;object=release;type=private",
         "pkcs11:token=dev;object=release;type=private"},
        {"pkcs11:token=dev?pin-source=file:/p", "pkcs11:token=dev?pin-source=file:/p"},
        {"pkcs11:token=my-pin-value=1234", "pkcs11:token=my-pin-value=1234"},
        {"pkcs11:token=dev?module-path=/pin-value=x", "pkcs11:token=dev?module-path=/pin-value=x"},
        {"file:/x", "file:/x"},
        {"", ""},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = hsm_uri_redact(cases[i].in);
        assert_non_null(r);
        assert_string_equal(r, cases[i].out);
        free(r);
    }
}

/* ---- hsm_module_resolve ------------------------------------------------- */

static const char *const env_names[] = {"CSIGN_MODULE", "SOFTHSM2_CONF", "HOME", "XDG_DATA_HOME"};
#define N_ENV (sizeof(env_names) / sizeof(env_names[0]))

typedef struct {
    char *saved[N_ENV];
    bool was_set[N_ENV];
    char dir[256]; /* a fresh folder, the test's $HOME */
} module_fixture;

static int module_setup(void **state)
{
    module_fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("TMPDIR");

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/csign-test-uri.XXXXXX",
             base != NULL && base[0] == '/' ? base : "/tmp");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    for (size_t i = 0; i < N_ENV; i++) {
        const char *v = getenv(env_names[i]);
        f->was_set[i] = v != NULL;
        f->saved[i] = v != NULL ? strdup(v) : NULL;
        unsetenv(env_names[i]);
    }
    setenv("HOME", f->dir, 1);
    err_clear();
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int module_teardown(void **state)
{
    module_fixture *f = *state;
    int rc = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

    for (size_t i = 0; i < N_ENV; i++) {
        if (f->was_set[i])
            setenv(env_names[i], f->saved[i], 1);
        else
            unsetenv(env_names[i]);
        free(f->saved[i]);
    }
    free(f);
    return rc;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    static char buf[4096];
    size_t n;

    if (fp == NULL)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void assert_private_dir(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        print_error("'%s': %s\n", path, strerror(errno));
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
}

static void assert_ends_with(const char *s, const char *suffix)
{
    assert_non_null(s);
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m || strcmp(s + n - m, suffix) != 0)
        print_error("'%s' does not end with '%s'\n", s, suffix);
    assert_true(n >= m && strcmp(s + n - m, suffix) == 0);
}

/* Checks the default store at base: folders, config and SOFTHSM2_CONF. */
static void assert_default_store(const hsm_module_choice *c, const char *base)
{
    char tokens[512], conf[512], line[600];

    assert_true(c->is_default);
    assert_ends_with(c->path, "/libsofthsm2.so");
    assert_int_equal(access(c->path, R_OK), 0);
    assert_non_null(c->store);
    assert_string_equal(c->store, base);

    snprintf(tokens, sizeof(tokens), "%s/tokens", base);
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", base);
    assert_private_dir(base);
    assert_private_dir(tokens);
    const char *text = read_text(conf);
    assert_non_null(text);
    snprintf(line, sizeof(line), "directories.tokendir = %s\n", tokens);
    assert_contains(text, line);
    assert_non_null(getenv("SOFTHSM2_CONF"));
    assert_string_equal(getenv("SOFTHSM2_CONF"), conf);

    /* Exactly the config and the tokens folder: no temporary file left. */
    DIR *d = opendir(base);
    struct dirent *e;
    size_t entries = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strcmp(e->d_name, "tokens") != 0 && strcmp(e->d_name, "softhsm2.conf") != 0)
            print_error("unexpected '%s' in '%s'\n", e->d_name, base);
        entries++;
    }
    closedir(d);
    assert_int_equal(entries, 2);
}

static void test_module_option(void **state)
{
    module_fixture *f = *state;
    hsm_module_choice c;
    char local[300];

    setenv("CSIGN_MODULE", "/from/env.so", 1);
    assert_int_equal(hsm_module_resolve("/opt/vendor/p11.so", NULL, &c), CSIGN_OK);
    assert_string_equal(c.path, "/opt/vendor/p11.so");
    assert_false(c.is_default);
    assert_null(c.store);
    /* A chosen module sets up no default store. */
    assert_null(getenv("SOFTHSM2_CONF"));
    snprintf(local, sizeof(local), "%s/.local", f->dir);
    assert_false(exists(local));
    hsm_module_choice_clear(&c);
    assert_null(c.path);
    assert_null(c.store);
    assert_false(c.is_default);
}

static void test_module_option_and_uri(void **state)
{
    hsm_uri *u = NULL;
    hsm_module_choice c;
    (void)state;

    assert_int_equal(hsm_uri_parse("pkcs11:token=dev?module-path=/uri/m.so", &u), CSIGN_OK);

    /* Different: refused, naming both. */
    assert_int_equal(hsm_module_resolve("/opt/m.so", u, &c), CSIGN_EUSAGE);
    assert_null(c.path);
    assert_contains(err_msg(), "/opt/m.so");
    assert_contains(err_msg(), "/uri/m.so");

    /* The same: fine. */
    assert_int_equal(hsm_module_resolve("/uri/m.so", u, &c), CSIGN_OK);
    assert_string_equal(c.path, "/uri/m.so");
    assert_false(c.is_default);
    hsm_module_choice_clear(&c);

    /* The URI's module-path alone, over CSIGN_MODULE. */
    setenv("CSIGN_MODULE", "/from/env.so", 1);
    assert_int_equal(hsm_module_resolve(NULL, u, &c), CSIGN_OK);
    assert_string_equal(c.path, "/uri/m.so");
    assert_false(c.is_default);
    hsm_module_choice_clear(&c);
    hsm_uri_free(u);
}

static void test_module_env(void **state)
{
    hsm_uri *u = NULL;
    hsm_module_choice c;
    (void)state;

    setenv("CSIGN_MODULE", "/from/env.so", 1);
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    assert_string_equal(c.path, "/from/env.so");
    assert_false(c.is_default);
    assert_null(c.store);
    assert_null(getenv("SOFTHSM2_CONF"));
    hsm_module_choice_clear(&c);

    /* A URI without module-path leaves the choice to CSIGN_MODULE. */
    assert_int_equal(hsm_uri_parse("pkcs11:token=dev", &u), CSIGN_OK);
    assert_int_equal(hsm_module_resolve(NULL, u, &c), CSIGN_OK);
    assert_string_equal(c.path, "/from/env.so");
    hsm_module_choice_clear(&c);
    hsm_uri_free(u);
}

static void test_module_default_under_home(void **state)
{
    module_fixture *f = *state;
    hsm_module_choice c;
    char base[512];

    snprintf(base, sizeof(base), "%s/.local/share/csign", f->dir);
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    assert_default_store(&c, base);
    hsm_module_choice_clear(&c);

    /* Again, with everything in place (SOFTHSM2_CONF dropped so the store
     * is looked at again): same answer. */
    unsetenv("SOFTHSM2_CONF");
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    assert_default_store(&c, base);
    hsm_module_choice_clear(&c);
}

static void test_module_default_empty_env(void **state)
{
    module_fixture *f = *state;
    hsm_module_choice c;
    char base[512];

    setenv("CSIGN_MODULE", "", 1);
    snprintf(base, sizeof(base), "%s/.local/share/csign", f->dir);
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    assert_default_store(&c, base);
    hsm_module_choice_clear(&c);
}

static void test_module_default_xdg(void **state)
{
    module_fixture *f = *state;
    hsm_module_choice c;
    char xdg[300], base[512], local[300];

    snprintf(xdg, sizeof(xdg), "%s/xdg-data", f->dir);
    setenv("XDG_DATA_HOME", xdg, 1);
    snprintf(base, sizeof(base), "%s/csign", xdg);
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    assert_default_store(&c, base);
    snprintf(local, sizeof(local), "%s/.local", f->dir);
    assert_false(exists(local));
    hsm_module_choice_clear(&c);
}

static void test_module_default_relative_xdg_ignored(void **state)
{
    module_fixture *f = *state;
    hsm_module_choice c;
    char base[512];

    setenv("XDG_DATA_HOME", "relative/data", 1);
    snprintf(base, sizeof(base), "%s/.local/share/csign", f->dir);
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    assert_default_store(&c, base);
    assert_false(exists("relative/data"));
    hsm_module_choice_clear(&c);
}

static void test_module_default_keeps_softhsm2_conf(void **state)
{
    module_fixture *f = *state;
    hsm_module_choice c;
    char local[300];

    setenv("SOFTHSM2_CONF", "/etc/my-softhsm2.conf", 1);
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    assert_true(c.is_default);
    assert_ends_with(c.path, "/libsofthsm2.so");
    assert_null(c.store);
    assert_string_equal(getenv("SOFTHSM2_CONF"), "/etc/my-softhsm2.conf");
    snprintf(local, sizeof(local), "%s/.local", f->dir);
    assert_false(exists(local));
    hsm_module_choice_clear(&c);
}

static void test_module_default_keeps_existing_config(void **state)
{
    module_fixture *f = *state;
    hsm_module_choice c;
    char path[512];
    static const char mine[] = "directories.tokendir = /somewhere/else\n";

    snprintf(path, sizeof(path), "%s/.local", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/.local/share", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/.local/share/csign", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/.local/share/csign/softhsm2.conf", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(mine, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);

    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_OK);
    assert_true(c.is_default);
    assert_string_equal(read_text(path), mine);
    assert_string_equal(getenv("SOFTHSM2_CONF"), path);
    hsm_module_choice_clear(&c);
}

static void test_module_default_without_home(void **state)
{
    hsm_module_choice c;
    (void)state;

    unsetenv("HOME");
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_EUSAGE);
    assert_null(c.path);
    assert_null(c.store);
    assert_contains(err_msg(), "HOME");
    assert_null(getenv("SOFTHSM2_CONF"));

    setenv("HOME", "not/absolute", 1);
    assert_int_equal(hsm_module_resolve(NULL, NULL, &c), CSIGN_EUSAGE);
    assert_null(c.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_names_object),
        cmocka_unit_test(test_accessors_accept_null),
        cmocka_unit_test(test_redact),
        cmocka_unit_test_setup_teardown(test_module_option, module_setup, module_teardown),
        cmocka_unit_test_setup_teardown(test_module_option_and_uri, module_setup, module_teardown),
        cmocka_unit_test_setup_teardown(test_module_env, module_setup, module_teardown),
        cmocka_unit_test_setup_teardown(test_module_default_under_home, module_setup,
                                        module_teardown),
        cmocka_unit_test_setup_teardown(test_module_default_empty_env, module_setup,
                                        module_teardown),
        cmocka_unit_test_setup_teardown(test_module_default_xdg, module_setup, module_teardown),
        cmocka_unit_test_setup_teardown(test_module_default_relative_xdg_ignored, module_setup,
                                        module_teardown),
        cmocka_unit_test_setup_teardown(test_module_default_keeps_softhsm2_conf, module_setup,
                                        module_teardown),
        cmocka_unit_test_setup_teardown(test_module_default_keeps_existing_config, module_setup,
                                        module_teardown),
        cmocka_unit_test_setup_teardown(test_module_default_without_home, module_setup,
                                        module_teardown),
    };
    return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}
