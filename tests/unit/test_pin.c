/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/err.h"
#include "sys/pin.h"
#include "sys/secret.h"
#include "testutil.h"

static void check_lacks(const char *hay, const char *needle, const char *file, int line)
{
    if (hay != NULL && strstr(hay, needle) != NULL) {
        print_error("'%s' contains '%s'\n", hay, needle);
        _fail(file, line);
    }
}
#define assert_lacks(h, n) check_lacks((h), (n), __FILE__, __LINE__)

/* A PIN that appears nowhere else, to look for in reasons. */
#define SECRET_PIN "s3cr3t-PIN-7f1d"

/* ---- pin_source_parse --------------------------------------------------- */

static void test_source_parse_table(void **state)
{
    static const struct {
        const char *spec;
        csign_rc rc;
        pin_kind kind;
        const char *name; /* expected name, or NULL */
        int fd;
    } cases[] = {
        {"env:NAME", CSIGN_OK, PIN_SRC_ENV, "NAME", -1},
        {"env:_x9", CSIGN_OK, PIN_SRC_ENV, "_x9", -1},
        {"env:", CSIGN_EUSAGE, 0, NULL, 0},
        {"env:1BAD", CSIGN_EUSAGE, 0, NULL, 0},
        {"env:A-B", CSIGN_EUSAGE, 0, NULL, 0},
        {"env:A=B", CSIGN_EUSAGE, 0, NULL, 0},
        {"file:PATH", CSIGN_OK, PIN_SRC_FILE, "PATH", -1},
        {"file:/run/secrets/pin", CSIGN_OK, PIN_SRC_FILE, "/run/secrets/pin", -1},
        {"file:", CSIGN_EUSAGE, 0, NULL, 0},
        {"fd:3", CSIGN_OK, PIN_SRC_FD, NULL, 3},
        {"fd:0", CSIGN_OK, PIN_SRC_FD, NULL, 0},
        {"fd:x", CSIGN_EUSAGE, 0, NULL, 0},
        {"fd:-1", CSIGN_EUSAGE, 0, NULL, 0},
        {"fd:", CSIGN_EUSAGE, 0, NULL, 0},
        {"fd:3x", CSIGN_EUSAGE, 0, NULL, 0},
        {"fd: 3", CSIGN_EUSAGE, 0, NULL, 0},
        {"fd:99999999999", CSIGN_EUSAGE, 0, NULL, 0},
        {"prompt", CSIGN_OK, PIN_SRC_PROMPT, NULL, -1},
        {"prompt:x", CSIGN_EUSAGE, 0, NULL, 0},
        {"value", CSIGN_EUSAGE, 0, NULL, 0},
        {"1234", CSIGN_EUSAGE, 0, NULL, 0},
        {"", CSIGN_EUSAGE, 0, NULL, 0},
        {"ENV:MYVAR", CSIGN_EUSAGE, 0, NULL, 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pin_source src;
        err_clear();
        csign_rc rc = pin_source_parse(cases[i].spec, &src);
        if (rc != cases[i].rc)
            print_error("spec '%s': rc %d, reason '%s'\n", cases[i].spec, (int)rc, err_msg());
        assert_int_equal(rc, cases[i].rc);
        if (rc != CSIGN_OK) {
            /* The reason never repeats the spec: a PIN typed there by
             * mistake must not be shown. */
            assert_true(err_msg()[0] != '\0');
            const char *colon = strchr(cases[i].spec, ':');
            const char *tail = colon ? colon + 1 : cases[i].spec;
            if (strlen(tail) >= 4)
                assert_null(strstr(err_msg(), tail));
            continue;
        }
        assert_int_equal(src.kind, cases[i].kind);
        assert_int_equal(src.fd, cases[i].fd);
        if (cases[i].name != NULL) {
            assert_non_null(src.name);
            assert_string_equal(src.name, cases[i].name);
            /* Borrowed from the spec, not copied. */
            assert_ptr_equal(src.name, strchr(cases[i].spec, ':') + 1);
        } else {
            assert_null(src.name);
        }
    }
}

static void test_source_describe(void **state)
{
    pin_source src;
    (void)state;

    assert_int_equal(pin_source_parse("env:CSIGN_PIN", &src), CSIGN_OK);
    assert_string_equal(pin_source_describe(&src), "environment variable CSIGN_PIN");
    assert_int_equal(pin_source_parse("file:/p", &src), CSIGN_OK);
    assert_string_equal(pin_source_describe(&src), "PIN file '/p'");
    assert_int_equal(pin_source_parse("fd:7", &src), CSIGN_OK);
    assert_string_equal(pin_source_describe(&src), "descriptor 7");
    assert_int_equal(pin_source_parse("prompt", &src), CSIGN_OK);
    assert_string_equal(pin_source_describe(&src), "terminal prompt");
}

/* ---- pin_source_resolve ------------------------------------------------- */

#define DEFAULT_ENV "CSIGN_PIN"

static char *saved_default_env;

static int save_default_env(void **state)
{
    (void)state;
    const char *v = getenv(DEFAULT_ENV);
    saved_default_env = v ? strdup(v) : NULL;
    unsetenv(DEFAULT_ENV);
    err_clear();
    return 0;
}

static int restore_default_env(void **state)
{
    (void)state;
    if (saved_default_env != NULL)
        setenv(DEFAULT_ENV, saved_default_env, 1);
    else
        unsetenv(DEFAULT_ENV);
    free(saved_default_env);
    saved_default_env = NULL;
    return 0;
}

static void test_resolve_precedence(void **state)
{
    static const struct {
        const char *spec;
        const char *uri_src;
        bool env_set;
        bool tty;
        csign_rc rc;
        pin_kind kind;
        const char *name;
    } cases[] = {
        /* the option beats everything */
        {"file:/opt", "env:URI", true, true, CSIGN_OK, PIN_SRC_FILE, "/opt"},
        {"fd:4", NULL, true, true, CSIGN_OK, PIN_SRC_FD, NULL},
        {"prompt", NULL, true, false, CSIGN_OK, PIN_SRC_PROMPT, NULL},
        /* then the URI's pin-source */
        {NULL, "file:/uri", true, true, CSIGN_OK, PIN_SRC_FILE, "/uri"},
        {NULL, "env:URI_PIN", false, false, CSIGN_OK, PIN_SRC_ENV, "URI_PIN"},
        /* then the default variable when it is set */
        {NULL, NULL, true, true, CSIGN_OK, PIN_SRC_ENV, DEFAULT_ENV},
        {NULL, NULL, true, false, CSIGN_OK, PIN_SRC_ENV, DEFAULT_ENV},
        /* then the terminal */
        {NULL, NULL, false, true, CSIGN_OK, PIN_SRC_PROMPT, NULL},
        /* then nothing */
        {NULL, NULL, false, false, CSIGN_EUSAGE, 0, NULL},
        /* a malformed option or URI source is not skipped over */
        {"value", "file:/uri", true, true, CSIGN_EUSAGE, 0, NULL},
        {NULL, "bogus", true, true, CSIGN_EUSAGE, 0, NULL},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pin_source src;
        if (cases[i].env_set)
            setenv(DEFAULT_ENV, "1111", 1);
        else
            unsetenv(DEFAULT_ENV);
        err_clear();
        csign_rc rc = pin_source_resolve(cases[i].spec, cases[i].uri_src, DEFAULT_ENV, cases[i].tty,
                                         "PIN", "--pin-source", &src);
        if (rc != cases[i].rc)
            print_error("case %zu: rc %d, reason '%s'\n", i, (int)rc, err_msg());
        assert_int_equal(rc, cases[i].rc);
        if (rc != CSIGN_OK)
            continue;
        assert_int_equal(src.kind, cases[i].kind);
        if (cases[i].name != NULL)
            assert_string_equal(src.name, cases[i].name);
        if (src.kind == PIN_SRC_FD)
            assert_int_equal(src.fd, 4);
        else
            assert_int_equal(src.fd, -1);
    }
    /* Resolving reads nothing: the variable is still there. */
    setenv(DEFAULT_ENV, "1111", 1);
    pin_source src;
    assert_int_equal(
        pin_source_resolve(NULL, NULL, DEFAULT_ENV, false, "PIN", "--pin-source", &src), CSIGN_OK);
    assert_non_null(getenv(DEFAULT_ENV));
    assert_string_equal(getenv(DEFAULT_ENV), "1111");
}

static void test_resolve_nothing_names_the_options(void **state)
{
    pin_source src;
    (void)state;

    assert_int_equal(pin_source_resolve(NULL, NULL, "CSIGN_SO_PIN_UNSET_FOR_TEST", false, "SO PIN",
                                        "--so-pin-source", &src),
                     CSIGN_EUSAGE);
    assert_contains(err_msg(), "SO PIN");
    assert_contains(err_msg(), "CSIGN_SO_PIN_UNSET_FOR_TEST");
    assert_contains(err_msg(), "--so-pin-source");
    assert_contains(err_msg(), "terminal");
}

static void test_resolve_refuses_command_pin_source(void **state)
{
    pin_source src;
    (void)state;

    setenv(DEFAULT_ENV, "1111", 1);
    assert_int_equal(pin_source_resolve(NULL, "|/usr/bin/get-pin", DEFAULT_ENV, true, "PIN",
                                        "--pin-source", &src),
                     CSIGN_EUSAGE);
    assert_contains(err_msg(), "command");
    /* An explicit option still wins over such a URI. */
    assert_int_equal(pin_source_resolve("prompt", "|/usr/bin/get-pin", DEFAULT_ENV, false, "PIN",
                                        "--pin-source", &src),
                     CSIGN_OK);
    assert_int_equal(src.kind, PIN_SRC_PROMPT);
}

/* ---- pin_read: environment ---------------------------------------------- */

#define TEST_ENV "CSIGN_TEST_PIN_VAR"

static int clear_test_env(void **state)
{
    (void)state;
    unsetenv(TEST_ENV);
    err_clear();
    return 0;
}

static void test_read_env(void **state)
{
    pin_source src;
    secret *pin = NULL;
    (void)state;

    setenv(TEST_ENV, "4242", 1);
    assert_int_equal(pin_source_parse("env:" TEST_ENV, &src), CSIGN_OK);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_OK);
    assert_non_null(pin);
    assert_int_equal(pin->len, 4);
    assert_string_equal(pin->data, "4242");
    assert_true(pin->cap >= PIN_MAX);
    /* Read once, then gone from the environment. */
    assert_null(getenv(TEST_ENV));
    secret_free(pin);
}

static void test_read_env_keeps_newline(void **state)
{
    pin_source src;
    secret *pin = NULL;
    (void)state;

    setenv(TEST_ENV, "12 34\n", 1);
    assert_int_equal(pin_source_parse("env:" TEST_ENV, &src), CSIGN_OK);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_OK);
    assert_int_equal(pin->len, 6);
    assert_memory_equal(pin->data, "12 34\n", 7);
    secret_free(pin);
}

static void test_read_env_unset(void **state)
{
    pin_source src;
    secret *pin = NULL;
    (void)state;

    assert_int_equal(pin_source_parse("env:" TEST_ENV, &src), CSIGN_OK);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_ETOKEN);
    assert_null(pin);
    assert_contains(err_msg(), TEST_ENV);
    assert_contains(err_msg(), "not set");
}

static void test_read_env_empty(void **state)
{
    pin_source src;
    secret *pin = NULL;
    (void)state;

    setenv(TEST_ENV, "", 1);
    assert_int_equal(pin_source_parse("env:" TEST_ENV, &src), CSIGN_OK);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_ETOKEN);
    assert_null(pin);
    assert_contains(err_msg(), "empty");
    assert_null(getenv(TEST_ENV));
}

static void test_read_env_too_long(void **state)
{
    char big[PIN_MAX + 50];
    pin_source src;
    secret *pin = NULL;
    (void)state;

    memset(big, '7', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    setenv(TEST_ENV, big, 1);
    assert_int_equal(pin_source_parse("env:" TEST_ENV, &src), CSIGN_OK);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_ETOKEN);
    assert_null(pin);
    assert_contains(err_msg(), "longer");
    assert_lacks(err_msg(), "7777777");
    assert_null(getenv(TEST_ENV));
}

static void test_read_env_exactly_max(void **state)
{
    char big[PIN_MAX + 1];
    pin_source src;
    secret *pin = NULL;
    (void)state;

    memset(big, 'k', PIN_MAX);
    big[PIN_MAX] = '\0';
    setenv(TEST_ENV, big, 1);
    assert_int_equal(pin_source_parse("env:" TEST_ENV, &src), CSIGN_OK);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_OK);
    assert_int_equal(pin->len, PIN_MAX);
    assert_string_equal(pin->data, big);
    secret_free(pin);
}

/* ---- pin_read: files ---------------------------------------------------- */

typedef struct {
    char dir[256];
    char path[300];
} tmp_dir;

static int make_tmp_dir(void **state)
{
    tmp_dir *t = calloc(1, sizeof(*t));
    const char *base = getenv("TMPDIR");

    if (t == NULL)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "%s/csign-test-pin.XXXXXX",
             base != NULL && base[0] == '/' ? base : "/tmp");
    if (mkdtemp(t->dir) == NULL) {
        free(t);
        return -1;
    }
    snprintf(t->path, sizeof(t->path), "%s/pin", t->dir);
    err_clear();
    *state = t;
    return 0;
}

static int remove_tmp_dir(void **state)
{
    tmp_dir *t = *state;
    char sub[320];

    snprintf(sub, sizeof(sub), "%s/sub", t->dir);
    (void)rmdir(sub);
    (void)unlink(t->path);
    int rc = rmdir(t->dir);
    free(t);
    return rc;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    (void)unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    /* chmod after creation: the umask must not decide the mode under test. */
    assert_int_equal(chmod(path, mode), 0);
}

static csign_rc read_path(const char *path, secret **out)
{
    char spec[400];
    pin_source src;

    snprintf(spec, sizeof(spec), "file:%s", path);
    assert_int_equal(pin_source_parse(spec, &src), CSIGN_OK);
    return pin_read(&src, "PIN: ", false, out);
}

static void test_read_file_contents(void **state)
{
    static const struct {
        const char *content;
        size_t content_len;
        const char *pin;
        size_t pin_len;
    } cases[] = {
        {"1234\n", 5, "1234", 4},     {"1234\r\n", 6, "1234", 4}, {"1234\n\n", 6, "1234\n", 5},
        {"1234", 4, "1234", 4},       {"1234\r", 5, "1234\r", 5}, {"12 34\t\n", 7, "12 34\t", 6},
        {"\n1234\n", 6, "\n1234", 5},
    };
    tmp_dir *t = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        secret *pin = NULL;
        write_file(t->path, cases[i].content, cases[i].content_len, 0600);
        assert_int_equal(read_path(t->path, &pin), CSIGN_OK);
        assert_non_null(pin);
        assert_int_equal(pin->len, cases[i].pin_len);
        /* The bytes and the terminating NUL. */
        assert_memory_equal(pin->data, cases[i].pin, cases[i].pin_len + 1);
        secret_free(pin);
    }
}

static void test_read_file_refused_modes(void **state)
{
    static const mode_t modes[] = {0640, 0604, 0620, 0602, 0644, 0660, 0666, 0710};
    tmp_dir *t = *state;

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        secret *pin = NULL;
        write_file(t->path, SECRET_PIN "\n", strlen(SECRET_PIN) + 1, modes[i]);
        err_clear();
        assert_int_equal(read_path(t->path, &pin), CSIGN_ETOKEN);
        assert_null(pin);
        assert_contains(err_msg(), "chmod 600");
        assert_contains(err_msg(), t->path);
        assert_lacks(err_msg(), SECRET_PIN);
    }
}

static void test_read_file_owner_only_modes(void **state)
{
    static const mode_t modes[] = {0600, 0400, 0700};
    tmp_dir *t = *state;

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        secret *pin = NULL;
        write_file(t->path, "9876\n", 5, modes[i]);
        assert_int_equal(read_path(t->path, &pin), CSIGN_OK);
        assert_string_equal(pin->data, "9876");
        secret_free(pin);
    }
}

static void test_read_file_missing(void **state)
{
    tmp_dir *t = *state;
    secret *pin = NULL;

    assert_int_equal(read_path(t->path, &pin), CSIGN_EIO);
    assert_null(pin);
    assert_contains(err_msg(), t->path);
}

static void test_read_file_directory(void **state)
{
    tmp_dir *t = *state;
    char sub[320];
    secret *pin = NULL;

    snprintf(sub, sizeof(sub), "%s/sub", t->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(read_path(sub, &pin), CSIGN_EIO);
    assert_null(pin);
    assert_contains(err_msg(), "directory");
}

static void test_read_file_too_long(void **state)
{
    tmp_dir *t = *state;
    char big[300];
    secret *pin = NULL;

    memset(big, '5', sizeof(big));
    write_file(t->path, big, sizeof(big), 0600);
    assert_int_equal(read_path(t->path, &pin), CSIGN_ETOKEN);
    assert_null(pin);
    assert_contains(err_msg(), "longer");
    assert_lacks(err_msg(), "55555");
}

static void test_read_file_exactly_max(void **state)
{
    tmp_dir *t = *state;
    char big[PIN_MAX];
    secret *pin = NULL;

    memset(big, 'm', sizeof(big));
    write_file(t->path, big, sizeof(big), 0600);
    assert_int_equal(read_path(t->path, &pin), CSIGN_OK);
    assert_int_equal(pin->len, PIN_MAX);
    assert_memory_equal(pin->data, big, PIN_MAX);
    assert_int_equal(pin->data[PIN_MAX], '\0');
    secret_free(pin);
}

static void test_read_file_empty(void **state)
{
    static const char *const contents[] = {"", "\n", "\r\n"};
    tmp_dir *t = *state;

    for (size_t i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
        secret *pin = NULL;
        write_file(t->path, contents[i], strlen(contents[i]), 0600);
        assert_int_equal(read_path(t->path, &pin), CSIGN_ETOKEN);
        assert_null(pin);
        assert_contains(err_msg(), "empty");
    }
}

/* ---- pin_read: descriptors ---------------------------------------------- */

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static csign_rc read_pipe(const void *data, size_t len, secret **out, int *read_end)
{
    int p[2];
    char spec[32];
    pin_source src;

    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], data, len), (ssize_t)len);
    assert_int_equal(close(p[1]), 0);
    *read_end = p[0];
    snprintf(spec, sizeof(spec), "fd:%d", p[0]);
    assert_int_equal(pin_source_parse(spec, &src), CSIGN_OK);
    assert_int_equal(src.fd, p[0]);
    return pin_read(&src, "PIN: ", false, out);
}

static void test_read_fd(void **state)
{
    secret *pin = NULL;
    int fd = -1;
    (void)state;

    assert_int_equal(read_pipe("5678\n", 5, &pin, &fd), CSIGN_OK);
    assert_non_null(pin);
    assert_int_equal(pin->len, 4);
    assert_string_equal(pin->data, "5678");
    /* The descriptor is closed once read. */
    assert_false(fd_is_open(fd));
    secret_free(pin);
}

static void test_read_fd_crlf_and_double_newline(void **state)
{
    secret *pin = NULL;
    int fd = -1;
    (void)state;

    assert_int_equal(read_pipe("5678\r\n", 6, &pin, &fd), CSIGN_OK);
    assert_string_equal(pin->data, "5678");
    secret_free(pin);
    pin = NULL;
    assert_int_equal(read_pipe("5678\n\n", 6, &pin, &fd), CSIGN_OK);
    assert_string_equal(pin->data, "5678\n");
    secret_free(pin);
}

static void test_read_fd_empty(void **state)
{
    secret *pin = NULL;
    int fd = -1;
    (void)state;

    err_clear();
    assert_int_equal(read_pipe("", 0, &pin, &fd), CSIGN_ETOKEN);
    assert_null(pin);
    assert_contains(err_msg(), "empty PIN from descriptor");
    assert_false(fd_is_open(fd));
}

static void test_read_fd_too_long(void **state)
{
    char big[PIN_MAX + 1];
    secret *pin = NULL;
    int fd = -1;
    (void)state;

    memset(big, '8', sizeof(big));
    err_clear();
    assert_int_equal(read_pipe(big, sizeof(big), &pin, &fd), CSIGN_ETOKEN);
    assert_null(pin);
    assert_contains(err_msg(), "longer");
    assert_lacks(err_msg(), "88888");
    assert_false(fd_is_open(fd));
}

static void test_read_fd_closed(void **state)
{
    int p[2];
    char spec[32];
    pin_source src;
    secret *pin = NULL;
    (void)state;

    /* A descriptor number known to be closed. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(close(p[0]), 0);
    assert_int_equal(close(p[1]), 0);
    snprintf(spec, sizeof(spec), "fd:%d", p[0]);
    assert_int_equal(pin_source_parse(spec, &src), CSIGN_OK);
    err_clear();
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_EIO);
    assert_null(pin);
    assert_contains(err_msg(), "descriptor");
}

/* ---- the PIN never shows in a reason ------------------------------------ */

static void test_pin_never_in_reason(void **state)
{
    tmp_dir *t = *state;
    secret *pin = NULL;
    pin_source src;
    int fd = -1;
    char big[PIN_MAX + 40];
    size_t n = strlen(SECRET_PIN);

    /* Too long, from each source: the PIN repeated past PIN_MAX. */
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (size_t i = 0; i + n < sizeof(big) - 1; i += n)
        memcpy(big + i, SECRET_PIN, n);

    setenv(TEST_ENV, big, 1);
    assert_int_equal(pin_source_parse("env:" TEST_ENV, &src), CSIGN_OK);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_ETOKEN);
    assert_lacks(err_msg(), SECRET_PIN);

    write_file(t->path, big, strlen(big), 0600);
    assert_int_equal(read_path(t->path, &pin), CSIGN_ETOKEN);
    assert_lacks(err_msg(), SECRET_PIN);

    assert_int_equal(read_pipe(big, strlen(big), &pin, &fd), CSIGN_ETOKEN);
    assert_lacks(err_msg(), SECRET_PIN);

    /* A readable-by-others file holding the PIN. */
    write_file(t->path, SECRET_PIN, n, 0644);
    assert_int_equal(read_path(t->path, &pin), CSIGN_ETOKEN);
    assert_lacks(err_msg(), SECRET_PIN);
    assert_null(pin);
    unsetenv(TEST_ENV);
}

/* Locked memory, in KiB, from /proc/self/status. */
static long locked_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmLck: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Without the secure heap a secret is mlock'ed; freeing it unlocks it
 * again, so that many PINs read in one run do not pin memory forever. */
static void test_secret_unlocks_on_free(void **state)
{
    (void)state;
    secret *s = NULL;
    long before = locked_kib();

    /* AddressSanitizer turns mlock() into a no-op: nothing to see there
     * (the normal build runs this check). */
    static char probe[4096] __attribute__((aligned(4096)));
    assert_int_equal(mlock(probe, sizeof(probe)), 0);
    bool mlock_works = locked_kib() > before;
    munlock(probe, sizeof(probe));
    if (!mlock_works)
        return;
    assert_int_equal(secret_new(100, &s), CSIGN_OK);
    assert_true(locked_kib() > before);
    /* Freeing another secret leaves this one locked. */
    secret *other = NULL;
    assert_int_equal(secret_new(100, &other), CSIGN_OK);
    long both = locked_kib();
    secret_free(other);
    assert_true(locked_kib() < both);
    assert_true(locked_kib() > before);
    secret_free(s);
    assert_int_equal(locked_kib(), before);
}

/* CSIGN_PIN is taken out of the environment at once, and read from where
 * it was kept. */
static void test_env_take(void **state)
{
    (void)state;
    pin_source src;
    secret *pin = NULL;

    setenv(TEST_ENV, SECRET_PIN, 1);
    pin_env_take(TEST_ENV);
    assert_null(getenv(TEST_ENV));
    assert_int_equal(pin_source_resolve(NULL, NULL, TEST_ENV, false, "PIN", "--pin-source", &src),
                     CSIGN_OK);
    assert_int_equal(src.kind, PIN_SRC_ENV);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_OK);
    assert_string_equal(pin->data, SECRET_PIN);
    secret_free(pin);
    pin = NULL;
    /* Read once: a second read finds nothing. */
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_ETOKEN);
    setenv(TEST_ENV, "unread", 1);
    pin_env_take(TEST_ENV);
    pin_env_forget();
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_ETOKEN);
    assert_null(pin);
}

/* A variable whose name is too long to keep aside is read directly, and
 * wiped all the same. */
static void test_env_long_name(void **state)
{
    (void)state;
    char name[100], spec[110];
    pin_source src;
    secret *pin = NULL;

    memset(name, 'P', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(spec, sizeof(spec), "env:%s", name);
    setenv(name, SECRET_PIN, 1);
    assert_int_equal(pin_source_parse(spec, &src), CSIGN_OK);
    assert_int_equal(pin_read(&src, "PIN: ", false, &pin), CSIGN_OK);
    assert_string_equal(pin->data, SECRET_PIN);
    assert_null(getenv(name));
    secret_free(pin);
}

/* A NUL byte inside a PIN is refused before the PIN is used. */
static void test_pin_with_nul(void **state)
{
    secret *pin = NULL;
    int fd = -1;

    (void)state;
    assert_int_equal(read_pipe("12\0"
                               "34",
                               5, &pin, &fd),
                     CSIGN_ETOKEN);
    assert_non_null(strstr(err_msg(), "NUL"));
    assert_null(pin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_parse_table),
        cmocka_unit_test(test_secret_unlocks_on_free),
        cmocka_unit_test(test_env_take),
        cmocka_unit_test(test_env_long_name),
        cmocka_unit_test(test_pin_with_nul),
        cmocka_unit_test(test_source_describe),
        cmocka_unit_test_setup_teardown(test_resolve_precedence, save_default_env,
                                        restore_default_env),
        cmocka_unit_test_setup_teardown(test_resolve_nothing_names_the_options, save_default_env,
                                        restore_default_env),
        cmocka_unit_test_setup_teardown(test_resolve_refuses_command_pin_source, save_default_env,
                                        restore_default_env),
        cmocka_unit_test_setup_teardown(test_read_env, clear_test_env, clear_test_env),
        cmocka_unit_test_setup_teardown(test_read_env_keeps_newline, clear_test_env,
                                        clear_test_env),
        cmocka_unit_test_setup_teardown(test_read_env_unset, clear_test_env, clear_test_env),
        cmocka_unit_test_setup_teardown(test_read_env_empty, clear_test_env, clear_test_env),
        cmocka_unit_test_setup_teardown(test_read_env_too_long, clear_test_env, clear_test_env),
        cmocka_unit_test_setup_teardown(test_read_env_exactly_max, clear_test_env, clear_test_env),
        cmocka_unit_test_setup_teardown(test_read_file_contents, make_tmp_dir, remove_tmp_dir),
        cmocka_unit_test_setup_teardown(test_read_file_refused_modes, make_tmp_dir, remove_tmp_dir),
        cmocka_unit_test_setup_teardown(test_read_file_owner_only_modes, make_tmp_dir,
                                        remove_tmp_dir),
        cmocka_unit_test_setup_teardown(test_read_file_missing, make_tmp_dir, remove_tmp_dir),
        cmocka_unit_test_setup_teardown(test_read_file_directory, make_tmp_dir, remove_tmp_dir),
        cmocka_unit_test_setup_teardown(test_read_file_too_long, make_tmp_dir, remove_tmp_dir),
        cmocka_unit_test_setup_teardown(test_read_file_exactly_max, make_tmp_dir, remove_tmp_dir),
        cmocka_unit_test_setup_teardown(test_read_file_empty, make_tmp_dir, remove_tmp_dir),
        cmocka_unit_test(test_read_fd),
        cmocka_unit_test(test_read_fd_crlf_and_double_newline),
        cmocka_unit_test(test_read_fd_empty),
        cmocka_unit_test(test_read_fd_too_long),
        cmocka_unit_test(test_read_fd_closed),
        cmocka_unit_test_setup_teardown(test_pin_never_in_reason, make_tmp_dir, remove_tmp_dir),
    };
    return cmocka_run_group_tests_name("pin", tests, NULL, NULL);
}
