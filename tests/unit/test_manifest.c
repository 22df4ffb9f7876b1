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
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/err.h"
#include "core/manifest.h"
#define CSIGN_TEST_SCRATCH
#include "testutil.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Digests in hex: 0123456789abcdef repeated, cut or stretched. */
#define H16 "0123456789abcdef"
#define H64 H16 H16 H16 H16
#define H96 H64 H16 H16
#define H128 H64 H64
#define H63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define H65 H64 "0"
#define H40 H16 H16 "01234567"
#define U64 "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

/* The bytes H64 (or H96, H128) stands for. */
static void h_bytes(unsigned char *out, size_t n)
{
    static const unsigned char b[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

    for (size_t i = 0; i < n; i++)
        out[i] = b[i % 8];
}

/* Known digests of "" and "abc". */
#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_EMPTY                                                                               \
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"                             \
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define SHA512_ABC                                                                                 \
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"                             \
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

/* ---- helpers ------------------------------------------------------------- */

/* Adds path to m with the digest (m->md) of content. */
static void add_digest_of(manifest *m, const char *path, const char *content)
{
    unsigned char value[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    assert_int_equal(EVP_Digest(content, strlen(content), value, &n, m->md, NULL), 1);
    assert_int_equal(n, EVP_MD_get_size(m->md));
    assert_int_equal(manifest_add(m, path, value), CSIGN_OK);
}

/*
 * Runs argv[0] (found on PATH) in folder cwd, stdin and stderr on
 * /dev/null, and returns what it printed on stdout (malloc'd, *len bytes,
 * NUL-terminated), or NULL when it could not be run or did not exit with 0.
 */
static char *run(const char *cwd, char *const argv[], size_t *len)
{
    int fds[2];
    pid_t pid;
    char *out = NULL;
    size_t n = 0, cap = 0;
    int status;

    if (pipe(fds) != 0)
        return NULL;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || chdir(cwd) != 0 || dup2(null, 0) < 0 || dup2(null, 2) < 0 ||
            dup2(fds[1], 1) < 0)
            _exit(127);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *bigger = realloc(out, cap = n + 8192);
            if (bigger == NULL)
                break;
            out = bigger;
        }
        ssize_t got = read(fds[0], out + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (out == NULL || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *len = n;
    return out;
}

/* Whether prog is GNU coreutils 9.1 or later (the release whose escaping
 * of names manifest_format() follows). */
static bool coreutils_9_1(const char *prog)
{
    char *argv[] = {(char *)prog, (char *)"--version", NULL};
    size_t len = 0;
    char *out = run("/", argv, &len);
    const char *v;
    int major = 0, minor = 0;
    bool ok = false;

    if (out != NULL && (v = strstr(out, "(GNU coreutils) ")) != NULL &&
        sscanf(v + strlen("(GNU coreutils) "), "%d.%d", &major, &minor) >= 1)
        ok = major > 9 || (major == 9 && minor >= 1);
    free(out);
    return ok;
}

/* Checks that got (len bytes) is the text want; prints both on a
 * difference. Frees got either way. */
static void check_text(char *got, size_t len, const char *want, const char *file, int line)
{
    bool same = got != NULL && len == strlen(want) && memcmp(got, want, len) == 0;

    if (!same)
        print_error("got (%zu bytes):\n%s\nwant (%zu bytes):\n%s\n", len, got ? got : "(null)",
                    strlen(want), want);
    free(got);
    if (!same)
        _fail(file, line);
}
#define assert_text(got, len, want) check_text((got), (len), (want), __FILE__, __LINE__)

/* ---- manifest_format ------------------------------------------------------ */

/* Names as the caller gives them, and as coreutils 9.1 prints them: a
 * backslash at the start of the line, and \\, \n, \r escaped, when the
 * name holds any of those three. */
static const struct {
    const char *name, *content;
    bool escaped;    /* the line starts with a backslash */
    const char *out; /* the name as printed */
} names_cases[] = {
    {"plain", "abc", false, "plain"},
    {"a b", "", false, "a b"},
    {"back\\slash", "abc", true, "back\\\\slash"},
    {"new\nline", "abc", true, "new\\nline"},
    {"car\rret", "", true, "car\\rret"},
    {"sub/f", "abc", false, "sub/f"},
    {"sub/deep/x y", "", false, "sub/deep/x y"},
    {"sub/a\\b\nc", "abc", true, "sub/a\\\\b\\nc"},
    {"mix\\\n\r", "", true, "mix\\\\\\n\\r"},
    {"tab\there", "abc", false, "tab\there"},
    {"*star", "", false, "*star"},
    {" lead", "abc", false, " lead"},
    {"J\xc3\xbcrgen", "", false, "J\xc3\xbcrgen"},
};

/* The text coreutils prints for names_cases, with the digests of "" and
 * "abc" given. malloc'd. */
static char *coreutils_text(const char *hex_empty, const char *hex_abc)
{
    size_t cap = 1;
    char *text, *p;

    for (size_t i = 0; i < COUNT(names_cases); i++)
        cap += 1 + strlen(hex_abc) + 2 + strlen(names_cases[i].out) + 1;
    text = p = malloc(cap);
    assert_non_null(text);
    for (size_t i = 0; i < COUNT(names_cases); i++)
        p += sprintf(p, "%s%s  %s\n", names_cases[i].escaped ? "\\" : "",
                     *names_cases[i].content ? hex_abc : hex_empty, names_cases[i].out);
    return text;
}

/* What `prog NAME...` prints in a folder holding names_cases, or NULL when
 * no coreutils 9.1 or later is at hand. */
static char *coreutils_live(const char *prog, size_t *len)
{
    char *argv[COUNT(names_cases) + 2];

    if (!coreutils_9_1(prog)) {
        print_message("no GNU coreutils 9.1 or later '%s': checking against stored output only\n",
                      prog);
        return NULL;
    }
    mkdir(in_dir("sub"), 0700);
    mkdir(in_dir("sub/deep"), 0700);
    argv[0] = (char *)prog;
    for (size_t i = 0; i < COUNT(names_cases); i++) {
        put(in_dir(names_cases[i].name), names_cases[i].content, strlen(names_cases[i].content));
        argv[i + 1] = (char *)names_cases[i].name;
    }
    argv[COUNT(names_cases) + 1] = NULL;

    char *out = run(dir, argv, len);
    assert_non_null(out);
    return out;
}

static void check_format(const EVP_MD *md, const char *prog, const char *hex_empty,
                         const char *hex_abc)
{
    manifest m = {.md = md};
    char *text = NULL, *want = coreutils_text(hex_empty, hex_abc), *live;
    size_t len = 0, live_len = 0;

    /* In the order given: manifest_format() does not sort. */
    for (size_t i = 0; i < COUNT(names_cases); i++)
        add_digest_of(&m, names_cases[i].name, names_cases[i].content);
    assert_int_equal(m.n, COUNT(names_cases));
    assert_int_equal(manifest_format(&m, &text, &len), CSIGN_OK);
    assert_non_null(text);
    assert_int_equal(text[len], '\0');

    /* The same bytes as coreutils, run here when it is at hand. */
    live = coreutils_live(prog, &live_len);
    if (live != NULL) {
        char *copy = strdup(text);
        assert_non_null(copy);
        assert_text(live, live_len, want);
        assert_text(copy, len, want);
    }
    assert_text(text, len, want);
    free(want);
    manifest_clear(&m);
    assert_int_equal(m.n, 0);
    assert_null(m.v);
}

static void test_format_sha256(void **state)
{
    (void)state;
    check_format(EVP_sha256(), "sha256sum", SHA256_EMPTY, SHA256_ABC);
}

static void test_format_sha512(void **state)
{
    (void)state;
    check_format(EVP_sha512(), "sha512sum", SHA512_EMPTY, SHA512_ABC);
}

/* A few lines spelled out whole, independent of the helpers above. */
static void test_format_literal(void **state)
{
    static const struct {
        const char *name, *content, *line;
    } cases[] = {
        {"a b", "abc", SHA256_ABC "  a b\n"},
        {"sub/f", "", SHA256_EMPTY "  sub/f\n"},
        {"new\nline", "abc", "\\" SHA256_ABC "  new\\nline\n"},
        {"car\rret", "", "\\" SHA256_EMPTY "  car\\rret\n"},
        {"back\\slash", "abc", "\\" SHA256_ABC "  back\\\\slash\n"},
        {"a\\n", "abc", "\\" SHA256_ABC "  a\\\\n\n"},
    };
    (void)state;

    for (size_t i = 0; i < COUNT(cases); i++) {
        manifest m = {.md = EVP_sha256()};
        char *text = NULL;
        size_t len = 0;

        add_digest_of(&m, cases[i].name, cases[i].content);
        assert_int_equal(manifest_format(&m, &text, &len), CSIGN_OK);
        manifest_clear(&m);
        if (text == NULL || strcmp(text, cases[i].line) != 0)
            print_error("case %zu\n", i);
        assert_text(text, len, cases[i].line);
    }
}

static void test_format_empty(void **state)
{
    manifest m = {.md = EVP_sha256()};
    char *text = NULL;
    size_t len = 99;
    (void)state;

    assert_int_equal(manifest_format(&m, &text, &len), CSIGN_OK);
    assert_text(text, len, "");
}

/* Lower-case hex, the value's bytes in order. */
static void test_format_value_bytes(void **state)
{
    manifest m = {.md = EVP_sha512()};
    unsigned char value[EVP_MAX_MD_SIZE];
    char *text = NULL;
    size_t len = 0;
    (void)state;

    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (unsigned char)(i * 37 + 5);
    value[0] = 0x00;
    value[1] = 0xff;
    value[2] = 0xab;
    assert_int_equal(manifest_add(&m, "f", value), CSIGN_OK);
    assert_int_equal(manifest_format(&m, &text, &len), CSIGN_OK);
    manifest_clear(&m);

    char want[2 * EVP_MAX_MD_SIZE + 8], *p = want;
    for (size_t i = 0; i < 64; i++)
        p += sprintf(p, "%02x", value[i]);
    strcpy(p, "  f\n");
    assert_true(strncmp(want, "00ffab", 6) == 0);
    assert_text(text, len, want);
}

/* ---- manifest_parse --------------------------------------------------------- */

/* Checks that a and b hold the same entries in the same order. */
static void check_same(const manifest *a, const manifest *b)
{
    size_t size = (size_t)EVP_MD_get_size(a->md);

    assert_ptr_equal(a->md, b->md);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->v[i].path, b->v[i].path);
        assert_memory_equal(a->v[i].value, b->v[i].value, size);
    }
}

static void round_trip(const EVP_MD *md)
{
    manifest m = {.md = md}, back = {0};
    char *text = NULL, *again = NULL;
    size_t len = 0, again_len = 0;

    for (size_t i = 0; i < COUNT(names_cases); i++)
        add_digest_of(&m, names_cases[i].name, names_cases[i].content);
    add_digest_of(&m, "a\\nb", "x");    /* a backslash and an n, not a newline */
    add_digest_of(&m, "z\\\\", "y");    /* two backslashes */
    add_digest_of(&m, "\\lead", "z");   /* a backslash first */
    add_digest_of(&m, "trail\r", "w");  /* as a CRLF line would end */
    add_digest_of(&m, "\xff\x01", "v"); /* not UTF-8, a control character */
    manifest_sort(&m);
    for (size_t i = 1; i < m.n; i++)
        assert_true(strcmp(m.v[i - 1].path, m.v[i].path) < 0);

    assert_int_equal(manifest_format(&m, &text, &len), CSIGN_OK);
    assert_int_equal(manifest_parse(text, len, &back), CSIGN_OK);
    check_same(&m, &back);

    /* And formatting what was parsed gives the same text. */
    assert_int_equal(manifest_format(&back, &again, &again_len), CSIGN_OK);
    assert_text(again, again_len, text);

    /* Parsing sorts: the same entries given in reverse order. */
    manifest rev = {.md = md}, back2 = {0};
    for (size_t i = m.n; i-- > 0;)
        assert_int_equal(manifest_add(&rev, m.v[i].path, m.v[i].value), CSIGN_OK);
    free(text);
    assert_int_equal(manifest_format(&rev, &text, &len), CSIGN_OK);
    assert_int_equal(manifest_parse(text, len, &back2), CSIGN_OK);
    check_same(&m, &back2);

    free(text);
    manifest_clear(&m);
    manifest_clear(&back);
    manifest_clear(&rev);
    manifest_clear(&back2);
}

static void test_parse_round_trip_sha256(void **state)
{
    (void)state;
    round_trip(EVP_sha256());
}

static void test_parse_round_trip_sha512(void **state)
{
    (void)state;
    round_trip(EVP_sha512());
}

static void test_parse_round_trip_sha384(void **state)
{
    (void)state;
    round_trip(EVP_sha384());
}

/* What coreutils prints parses back (names_cases holds two lines per
 * folder part and names of every kind). */
static void test_parse_coreutils_text(void **state)
{
    char *text = coreutils_text(SHA256_EMPTY, SHA256_ABC);
    manifest m = {0}, want = {.md = EVP_sha256()};
    (void)state;

    assert_int_equal(manifest_parse(text, strlen(text), &m), CSIGN_OK);
    for (size_t i = 0; i < COUNT(names_cases); i++)
        add_digest_of(&want, names_cases[i].name, names_cases[i].content);
    manifest_sort(&want);
    check_same(&want, &m);
    free(text);
    manifest_clear(&m);
    manifest_clear(&want);
}

static void test_parse_accepts(void **state)
{
    static const struct {
        const char *text;
        int bits; /* of the digest */
        size_t n;
        const char *paths[3]; /* sorted */
    } cases[] = {
        {H64 "  a\n", 256, 1, {"a"}},
        {H64 "  a", 256, 1, {"a"}},                        /* no final newline */
        {H64 "  a\r\n" H64 "  b\r\n", 256, 2, {"a", "b"}}, /* CRLF, as coreutils reads it */
        {"\\" H64 "  c\\rr\r\n", 256, 1, {"c\rr"}},        /* an escaped CR stays */
        {H64 " *a\n", 256, 1, {"a"}},
        {H64 " *a", 256, 1, {"a"}},
        {H64 "  ./a\n", 256, 1, {"a"}},
        {H64 "  ././a\n", 256, 1, {"a"}},
        {H64 " *./sub/a\n", 256, 1, {"sub/a"}},
        {U64 "  a\n", 256, 1, {"a"}},
        {"\\" U64 "  a\\\\b\n", 256, 1, {"a\\b"}},
        {"0123456789ABCDEF0123456789abcdef0123456789AbCdEf0123456789aBcDeF  a\n", 256, 1, {"a"}},
        {H64 "  b\n" H64 "  a\n" H64 "  c", 256, 3, {"a", "b", "c"}},
        {H64 "  sub/b\n" H64 " *sub/a\n" H64 "  ./sub", 256, 3, {"sub", "sub/a", "sub/b"}},
        {"\\" H64 "  a\\\\b\\nc\\rd\n", 256, 1, {"a\\b\nc\rd"}},
        {"\\" H64 "  plain\n", 256, 1, {"plain"}}, /* escaped line without escapes */
        {H64 "  a\\xb\n", 256, 1, {"a\\xb"}},      /* no leading backslash: as written */
        {H64 "  a\\nb\n", 256, 1, {"a\\nb"}},
        {H64 "  *a\n", 256, 1, {"*a"}}, /* two spaces: the star is the name's */
        {H64 "   a\n", 256, 1, {" a"}},
        {H64 "  a b \n", 256, 1, {"a b "}},
        {H64 "  .a\n", 256, 1, {".a"}},
        {H64 "  ..a/a..\n", 256, 1, {"..a/a.."}},
        {H64 "  .../x\n", 256, 1, {".../x"}},
        {H96 "  a\n", 384, 1, {"a"}},
        {H128 " *a\n" H128 "  b\n", 512, 2, {"a", "b"}},
        /* Comments and blank lines, as sha256sum -c skips them. */
        {"\n" H64 "  a\n", 256, 1, {"a"}},
        {H64 "  a\n\n" H64 "  b\n\n", 256, 2, {"a", "b"}},
        {"# made by hand\r\n\r\n" H64 "  a\r\n\r\n", 256, 1, {"a"}},
        {"#" H64 "  a\n" H64 "  b\n", 256, 1, {"b"}},
        /* Tagged lines: sha256sum --tag, BSD sha256, signify. */
        {"SHA256 (a) = " H64 "\n", 256, 1, {"a"}},
        {"SHA256 (a) = " U64, 256, 1, {"a"}},
        {"SHA256 (a b) = " H64 "\r\n", 256, 1, {"a b"}},
        {"SHA256 (a) = b) = " H64 "\n", 256, 1, {"a) = b"}}, /* the last ") = " ends it */
        {"\\SHA256 (a\\nb) = " H64 "\n", 256, 1, {"a\nb"}},
        {"SHA256 (./sub/a) = " H64 "\n", 256, 1, {"sub/a"}},
        {"SHA384 (a) = " H96 "\n", 384, 1, {"a"}},
        {"SHA512 (b) = " H128 "\n" H128 "  a\n", 512, 2, {"a", "b"}},
        {"# release 1.0\nSHA256 (b) = " H64 "\n" H64 " *a\n", 256, 2, {"a", "b"}},
        /* csign digest's lines, with its \xHH escapes. */
        {"sha256:" H64 "  a\n", 256, 1, {"a"}},
        {"sha256:" U64 "  a", 256, 1, {"a"}},
        {"sha384:" H96 "  a\r\n", 384, 1, {"a"}},
        {"sha512:" H128 "  b\n" H128 "  a\n", 512, 2, {"a", "b"}},
        {"sha256:" H64 "  ./sub/a\n", 256, 1, {"sub/a"}},
        {"sha256:" H64 "   a \n", 256, 1, {" a "}},
        {"sha256:" H64 "  a\\x5cb\\x0ac\\x0dd\n", 256, 1, {"a\\b\nc\rd"}},
        {"sha256:" H64 "  \\xc3\\xa9\\xFF\n", 256, 1, {"\xc3\xa9\xff"}},
        {"sha256:" H64 "  *a\n", 256, 1, {"*a"}},
        {"# csign digest\nsha256:" H64 "  b\nSHA256 (c) = " H64 "\n" H64 "  a\n",
         256,
         3,
         {"a", "b", "c"}},
    };
    (void)state;

    for (size_t i = 0; i < COUNT(cases); i++) {
        manifest m = {0};
        unsigned char want[EVP_MAX_MD_SIZE];
        const EVP_MD *md = cases[i].bits == 256   ? EVP_sha256()
                           : cases[i].bits == 384 ? EVP_sha384()
                                                  : EVP_sha512();
        csign_rc rc;

        err_clear();
        rc = manifest_parse(cases[i].text, strlen(cases[i].text), &m);
        if (rc != CSIGN_OK)
            print_error("case %zu: rc %d '%s'\n", i, rc, err_msg());
        assert_int_equal(rc, CSIGN_OK);
        assert_ptr_equal(m.md, md);
        assert_int_equal(m.n, cases[i].n);
        h_bytes(want, (size_t)cases[i].bits / 8);
        for (size_t k = 0; k < m.n; k++) {
            if (strcmp(m.v[k].path, cases[i].paths[k]) != 0)
                print_error("case %zu entry %zu\n", i, k);
            assert_string_equal(m.v[k].path, cases[i].paths[k]);
            assert_memory_equal(m.v[k].value, want, (size_t)cases[i].bits / 8);
        }
        manifest_clear(&m);
    }
}

/* Only len bytes are read: what follows is not part of the text. */
static void test_parse_reads_len_bytes(void **state)
{
    static const char text[] = H64 "  a\n" H64 "  ../b\n";
    manifest m = {0};
    (void)state;

    assert_int_equal(manifest_parse(text, strlen(H64 "  a\n"), &m), CSIGN_OK);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.v[0].path, "a");
    manifest_clear(&m);

    /* Cut inside the second line's path: "../" is then "..". */
    assert_int_equal(manifest_parse(text, sizeof(text) - 1 - 3, &m), CSIGN_EINPUT);
    assert_contains(err_msg(), "line 2");
    assert_int_equal(m.n, 0);
    assert_null(m.v);
}

static void test_parse_refuses(void **state)
{
    static const struct {
        const char *text;
        size_t len; /* 0: strlen(text) */
        const char *msg;
    } cases[] = {
        {"", 0, "no files"},
        {"\n", 0, "no files"},
        {"# only a comment\n\n", 0, "no files"},
        {H64 "  a\n  \n", 0, "line 2"}, /* blanks only: as sha256sum --strict */
        {" # indented\n" H64 "  a\n", 0, "line 1"},
        {"SHA256 (a) = " H128 "\n", 0, "names SHA256"},
        {"SHA512 (a) = " H64 "\n", 0, "names SHA512"},
        {"SHA256 (a) =" H64 "\n", 0, "line 1"},
        {"SHA256 (a) = " H64 "x\n", 0, "line 1"},
        {"SHA256 (a) = " H63 "\n", 0, "line 1"},
        {"SHA256 () = " H64 "\n", 0, "names no file"},
        {"SHA1 (a) = " H40 "\n", 0, "line 1"},
        {"sha256 (a) = " H64 "\n", 0, "line 1"},
        {"SHA256(a) = " H64 "\n", 0, "line 1"},
        {"SHA256 (../a) = " H64 "\n", 0, "inside"},
        {"SHA256 (a) = " H64 "\n" H128 "  b\n", 0, "another length"},
        {"\\SHA256 (a\\xb) = " H64 "\n", 0, "escape"},
        {H63 "  a\n", 0, "line 1"},
        {H65 "  a\n", 0, "line 1"},
        {H40 "  a\n", 0, "line 1"},
        {H16 H16 H16 "  a\n", 0, "line 1"},
        {H128 H16 "  a\n", 0, "line 1"},
        {H64 "  a\n" H63 "  b\n", 0, "line 2"},
        {H63 "g  a\n", 0, "line 1"},
        {"0123456789abcdef0123456789abcdef0123456789abcdeg0123456789abcdef  a\n", 0, "line 1"},
        {H63 " " H16 "  a\n", 0, "line 1"},
        {"x" H64 "  a\n", 0, "line 1"},
        {" " H64 "  a\n", 0, "line 1"},
        {H64 " a\n", 0, "line 1"},
        {H64 "\ta\n", 0, "line 1"},
        {H64 " \ta\n", 0, "line 1"},
        {H64 "a\n", 0, "line 1"},
        {H64 "  \n", 0, "line 1"},
        {H64 "  ", 0, "line 1"},
        {H64 " *", 0, "line 1"},
        {H64 "\n", 0, "line 1"},
        {H64, 0, "line 1"},
        {"\\\n", 0, "line 1"},
        {"\\" H64 "\n", 0, "line 1"},
        {H64 "  a\n" H128 "  b\n", 0, "line 2"},
        {H128 "  a\n" H64 "  b\n", 0, "line 2"},
        {H64 "  a\n" H96 "  b\n", 0, "line 2"},
        {H64 "  a\n" H64 "  b\n" H128 "  c\n", 0, "line 3"},
        {H64 "  /a\n", 0, "line 1"},
        {H64 " */a\n", 0, "line 1"},
        {H64 "  //a\n", 0, "line 1"},
        {H64 "  /\n", 0, "line 1"},
        {H64 "  .//a\n", 0, "line 1"},
        {H64 "  ..\n", 0, "line 1"},
        {H64 "  ../a\n", 0, "line 1"},
        {H64 "  ./../a\n", 0, "line 1"},
        {H64 "  a/..\n", 0, "line 1"},
        {H64 "  a/../b\n", 0, "line 1"},
        {H64 "  a/b/../../c\n", 0, "line 1"},
        {H64 "  .\n", 0, "line 1"},
        {H64 "  ./\n", 0, "line 1"},
        {H64 "  ././\n", 0, "line 1"},
        {H64 "  a/./b\n", 0, "line 1"},
        {H64 "  a/.\n", 0, "line 1"},
        {H64 "  a//b\n", 0, "line 1"},
        {H64 "  a/\n", 0, "line 1"},
        {H64 "  a/b/\n", 0, "line 1"},
        {"\\" H64 "  ..\\nx/../y\n", 0, "line 1"},
        {"\\" H64 "  a\\xb\n", 0, "line 1"},
        {"\\" H64 "  a\\tb\n", 0, "line 1"},
        {"\\" H64 "  a\\\n", 0, "line 1"}, /* a backslash ends the line */
        {"\\" H64 "  a\\", 0, "line 1"},
        {H64 "  a\n\\" H64 "  b\\0\n", 0, "line 2"},
        {H64 "  a\n" H64 "  a\n", 0, "twice"},
        {H64 "  ./a\n" H64 "  a\n", 0, "twice"},
        {H64 "  a\n" H64 " *./././a\n", 0, "twice"},
        {H64 "  b\n" H64 "  a\n" H64 "  c\n" H64 "  b\n", 0, "'b' twice"},
        {"\\" H64 "  a\\\\b\n" H64 "  a\\b\n", 0, "twice"},
        {H64 "  a\0b\n", sizeof(H64 "  a\0b\n") - 1, "line 1"},
        {H64 "  a\0\n", sizeof(H64 "  a\0\n") - 1, "line 1"},
        {H64 "  \0a\n", sizeof(H64 "  \0a\n") - 1, "line 1"},
        {H64 "  a\n" H64 "  b\0", sizeof(H64 "  a\n" H64 "  b\0") - 1, "line 2"},
        {H64 "  a\n\0", sizeof(H64 "  a\n\0") - 1, "line 2"},
        {"\\" H64 "  a\\\0b\n", sizeof("\\" H64 "  a\\\0b\n") - 1, "line 1"},
        {"0123\0" H64 "  a\n", sizeof("0123\0" H64 "  a\n") - 1, "line 1"},
        /* csign digest's lines. */
        {"sha256:" H96 "  a\n", 0, "names sha256"},
        {"sha384:" H64 "  a\n", 0, "names sha384"},
        {"sha256:" H63 "  a\n", 0, "line 1"},
        {"sha256:" H63 "g  a\n", 0, "line 1"},
        {"sha256:" H64 " *a\n", 0, "line 1"},
        {"sha256:" H64 " a\n", 0, "line 1"},
        {"sha256:" H64 "  \n", 0, "line 1"},
        {"sha256:  a\n", 0, "line 1"},
        {"sha256:" H64 "\n", 0, "line 1"},
        {"sha1:" H40 "  a\n", 0, "line 1"},
        {"SHA256:" H64 "  a\n", 0, "line 1"},
        {"md5:" H16 H16 "  a\n", 0, "line 1"},
        {"\\sha256:" H64 "  a\n", 0, "line 1"},
        {"sha256:" H64 "  a\\x0\n", 0, "escape"},
        {"sha256:" H64 "  a\\x00b\n", 0, "escape"},
        {"sha256:" H64 "  a\\xzzb\n", 0, "escape"},
        {"sha256:" H64 "  a\\nb\n", 0, "escape"},
        {"sha256:" H64 "  a\\\\b\n", 0, "escape"},
        {"sha256:" H64 "  a\\\n", 0, "escape"},
        {"sha256:" H64 "  ../a\n", 0, "inside"},
        {"sha256:" H64 "  /a\n", 0, "inside"},
        {"sha256:" H64 "  a\\x2f..\\x2fb\n", 0, "inside"},
        {"sha256:" H64 "  a\n" H64 "  a\n", 0, "twice"},
        {"sha256:" H64 "  a\\x5cb\n"
         "\\" H64 "  a\\\\b\n",
         0, "twice"},
        {"sha256:" H64 "  a\nsha512:" H128 "  b\n", 0, "line 2"},
        /* Good lines first: what they added is freed again. */
        {H64 "  a\n" H64 "  b\n" H64 "  ../c\n", 0, "line 3"},
        {H64 "  a\n" H64 "  b\n" H64 "  c\n" H64 "  d\n" H64 "  e  \n" H64 "  f/\n", 0, "line 6"},
    };
    (void)state;

    for (size_t i = 0; i < COUNT(cases); i++) {
        manifest m = {0};
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        csign_rc rc;

        err_clear();
        rc = manifest_parse(cases[i].text, len, &m);
        if (rc != CSIGN_EINPUT || strstr(err_msg(), cases[i].msg) == NULL)
            print_error("case %zu: rc %d '%s'\n", i, rc, err_msg());
        if (rc == CSIGN_OK)
            manifest_clear(&m);
        assert_int_equal(rc, CSIGN_EINPUT);
        assert_contains(err_msg(), cases[i].msg);
        assert_int_equal(m.n, 0);
        assert_null(m.v);
    }
}

/* The reasons say what is wrong. */
static void test_parse_refusal_reasons(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {H64 "  a\n" H128 "  b\n", "another length"},
        {H64 "  a\n" H64 "  ../b\n", "inside"},
        {"\\" H64 "  a\\xb\n", "escape"},
        {H64 "  a\n" H64 "  sub/x\n" H64 " *./sub/x\n", "'sub/x' twice"},
        {H64 " a\n", "HEX  PATH"},
    };
    (void)state;

    for (size_t i = 0; i < COUNT(cases); i++) {
        manifest m = {0};

        err_clear();
        assert_int_equal(manifest_parse(cases[i].text, strlen(cases[i].text), &m), CSIGN_EINPUT);
        assert_contains(err_msg(), cases[i].msg);
        assert_int_equal(m.n, 0);
        assert_null(m.v);
    }

    manifest m = {0};
    static const char nul[] = H64 "  a\n" H64 "  b\0c\n";
    assert_int_equal(manifest_parse(nul, sizeof(nul) - 1, &m), CSIGN_EINPUT);
    assert_contains(err_msg(), "line 2");
    assert_contains(err_msg(), "NUL");
    assert_int_equal(m.n, 0);
    assert_null(m.v);
}

/* Other lists name themselves and their folder in the errors. */
static void test_parse_named(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"sha256:" H64 "  a\nsha256:zz  b\n", "digest list 'd' line 2 is not 'ALG:HEX  PATH'"},
        {"x\n", "digest list 'd' line 1 is none of"},
        {"sha256:" H64 "  ../a\n", "digest list 'd' line 1: the path must stay inside --out-dir"},
        {"sha256:" H64 "  a\n" H64 "  a\n", "the digest list 'd' lists 'a' twice"},
        {"# nothing\n", "the digest list 'd' lists no files"},
    };
    (void)state;

    for (size_t i = 0; i < COUNT(cases); i++) {
        manifest m = {0};

        err_clear();
        assert_int_equal(manifest_parse_named(cases[i].text, strlen(cases[i].text),
                                              "digest list 'd'", "--out-dir", &m),
                         CSIGN_EINPUT);
        assert_contains(err_msg(), cases[i].msg);
        assert_int_equal(m.n, 0);
    }
    manifest m = {0};
    err_clear();
    assert_int_equal(manifest_parse(H64 "  ../a\n", strlen(H64 "  ../a\n"), &m), CSIGN_EINPUT);
    assert_contains(err_msg(), "manifest line 1: the path must stay inside the manifest's folder");
}

/* ---- manifest_find ---------------------------------------------------------- */

static void test_find(void **state)
{
    static const char *const paths[] = {"b", "a/b", "c d", "a", "\xc3\xa9", "A", "a b", "a.b"};
    static const struct {
        const char *path;
        long index; /* among the sorted paths */
    } cases[] = {
        {"A", 0},   {"a", 1},        {"a b", 2},   {"a.b", 3},  {"a/b", 4}, {"b", 5},
        {"c d", 6}, {"\xc3\xa9", 7}, {"", -1},     {"aa", -1},  {"a/", -1}, {"a/b/", -1},
        {"B", -1},  {"z", -1},       {"\xc3", -1}, {"./a", -1}, {"c", -1},  {"\xff", -1},
    };
    manifest m = {.md = EVP_sha256()};
    unsigned char value[EVP_MAX_MD_SIZE] = {0};
    (void)state;

    for (size_t i = 0; i < COUNT(paths); i++) {
        value[0] = (unsigned char)i;
        assert_int_equal(manifest_add(&m, paths[i], value), CSIGN_OK);
    }
    manifest_sort(&m);
    for (size_t i = 0; i < COUNT(cases); i++) {
        long got = manifest_find(&m, cases[i].path);
        if (got != cases[i].index)
            print_error("case %zu '%s': %ld\n", i, cases[i].path, got);
        assert_int_equal(got, cases[i].index);
        if (got >= 0)
            assert_string_equal(m.v[got].path, cases[i].path);
    }
    /* The values moved with their paths. */
    assert_int_equal(m.v[manifest_find(&m, "b")].value[0], 0);
    assert_int_equal(m.v[manifest_find(&m, "a.b")].value[0], 7);
    manifest_clear(&m);

    /* One entry. */
    assert_int_equal(manifest_add(&m, "only", value), CSIGN_OK);
    manifest_sort(&m);
    assert_int_equal(manifest_find(&m, "only"), 0);
    assert_int_equal(manifest_find(&m, "onlx"), -1);
    assert_int_equal(manifest_find(&m, "onlz"), -1);
    manifest_clear(&m);
}

static void test_find_empty(void **state)
{
    manifest m = {.md = EVP_sha256()};
    (void)state;

    assert_int_equal(manifest_find(&m, "a"), -1);
    assert_int_equal(manifest_find(&m, ""), -1);
    manifest_sort(&m);
    assert_int_equal(manifest_find(&m, "a"), -1);
}

/* Parsed manifests are sorted, ready for manifest_find(). */
static void test_find_after_parse(void **state)
{
    static const char text[] = H64 "  z\n" H64 "  m/n\n" H64 "  a\n" H64 "  m\n";
    manifest m = {0};
    (void)state;

    assert_int_equal(manifest_parse(text, strlen(text), &m), CSIGN_OK);
    assert_int_equal(manifest_find(&m, "a"), 0);
    assert_int_equal(manifest_find(&m, "m"), 1);
    assert_int_equal(manifest_find(&m, "m/n"), 2);
    assert_int_equal(manifest_find(&m, "z"), 3);
    assert_int_equal(manifest_find(&m, "n"), -1);
    manifest_clear(&m);
}

/* ---- manifest_relative ------------------------------------------------------ */

/*
 * The scratch folder holds:
 *   top/f  top/sub/g  top/sub/deep/h  top/in -> sub  top/in-abs -> <scratch>/top/sub
 *   top/out -> ../other  top/file-link -> ../other/o  topx/f  other/o  f
 * and the manifest's folder is top.
 */
static void make_relative_tree(char *top_real)
{
    char target[PATH_MAX];

    assert_int_equal(mkdir(in_dir("top"), 0700), 0);
    assert_int_equal(mkdir(in_dir("top/sub"), 0700), 0);
    assert_int_equal(mkdir(in_dir("top/sub/deep"), 0700), 0);
    assert_int_equal(mkdir(in_dir("topx"), 0700), 0);
    assert_int_equal(mkdir(in_dir("other"), 0700), 0);
    put(in_dir("top/f"), "f", 1);
    put(in_dir("top/sub/g"), "g", 1);
    put(in_dir("top/sub/deep/h"), "h", 1);
    put(in_dir("topx/f"), "f", 1);
    put(in_dir("other/o"), "o", 1);
    put(in_dir("f"), "f", 1);
    assert_int_equal(symlink("sub", in_dir("top/in")), 0);
    snprintf(target, sizeof(target), "%s", in_dir("top/sub"));
    assert_int_equal(symlink(target, in_dir("top/in-abs")), 0);
    assert_int_equal(symlink("../other", in_dir("top/out")), 0);
    assert_int_equal(symlink("../other/o", in_dir("top/file-link")), 0);
    assert_non_null(realpath(in_dir("top"), top_real));
}

static void test_relative(void **state)
{
    static const struct {
        const char *file; /* in the scratch folder */
        csign_rc rc;
        const char *rel;
    } cases[] = {
        {"top/f", CSIGN_OK, "f"},
        {"top/new", CSIGN_OK, "new"}, /* the file need not exist */
        {"top/sub/g", CSIGN_OK, "sub/g"},
        {"top/sub/deep/h", CSIGN_OK, "sub/deep/h"},
        {"top//sub///g", CSIGN_OK, "sub/g"},
        {"top/./f", CSIGN_OK, "f"},
        {"top/sub/../f", CSIGN_OK, "f"},
        {"top/sub/./g", CSIGN_OK, "sub/g"},
        {"top/in/g", CSIGN_OK, "sub/g"}, /* a link to a folder inside */
        {"top/in/deep/h", CSIGN_OK, "sub/deep/h"},
        {"top/in-abs/g", CSIGN_OK, "sub/g"},
        {"top/in/../f", CSIGN_OK, "f"},
        {"top/file-link", CSIGN_OK, "file-link"}, /* the last part is kept */
        {"top/.hidden", CSIGN_OK, ".hidden"},
        {"top/a b", CSIGN_OK, "a b"},
        {"top/sub/new\nline", CSIGN_OK, "sub/new\nline"},
        {"top/../f", CSIGN_EUSAGE, NULL},
        {"top/sub/../../f", CSIGN_EUSAGE, NULL},
        {"top/../topx/f", CSIGN_EUSAGE, NULL},
        {"topx/f", CSIGN_EUSAGE, NULL}, /* same prefix, another folder */
        {"f", CSIGN_EUSAGE, NULL},
        {"top", CSIGN_EUSAGE, NULL}, /* the folder itself is in its parent */
        {"top/out/o", CSIGN_EUSAGE, NULL},
        {"top/in/../../f", CSIGN_EUSAGE, NULL},
        {"other/o", CSIGN_EUSAGE, NULL},
        {"top/missing/f", CSIGN_EIO, NULL},
        {"missing/f", CSIGN_EIO, NULL},
        {"top/.", CSIGN_EUSAGE, NULL},
        {"top/..", CSIGN_EUSAGE, NULL},
        {"top/sub/.", CSIGN_EUSAGE, NULL},
        {"top/sub/..", CSIGN_EUSAGE, NULL},
        {"top/sub/", CSIGN_EUSAGE, NULL},
        {"top/new/", CSIGN_EUSAGE, NULL},
        {"top/", CSIGN_EUSAGE, NULL},
        {"top/f/", CSIGN_EUSAGE, NULL},
        {"top/f//", CSIGN_EUSAGE, NULL},
    };
    char top[PATH_MAX];
    (void)state;

    make_relative_tree(top);
    for (size_t i = 0; i < COUNT(cases); i++) {
        char *rel = NULL;
        csign_rc rc;

        err_clear();
        rc = manifest_relative(top, in_dir(cases[i].file), &rel);
        if (rc != cases[i].rc || (rc == CSIGN_OK && strcmp(rel, cases[i].rel) != 0))
            print_error("case %zu '%s': rc %d '%s' rel '%s'\n", i, cases[i].file, rc, err_msg(),
                        rc == CSIGN_OK ? rel : "");
        if (rc != CSIGN_OK) {
            free(rel);
            rel = NULL;
        }
        assert_int_equal(rc, cases[i].rc);
        if (rc == CSIGN_OK) {
            char got[PATH_MAX];
            snprintf(got, sizeof(got), "%s", rel);
            free(rel);
            assert_string_equal(got, cases[i].rel);
        } else {
            assert_true(*err_msg() != '\0');
        }
    }
}

/* Names that are not files, given as they are (not under the scratch
 * folder). */
static void test_relative_not_files(void **state)
{
    static const char *const files[] = {".", "..", "./", "../", "/", "//", "", "a/", "a/.", "a/.."};
    char top[PATH_MAX];
    (void)state;

    make_relative_tree(top);
    for (size_t i = 0; i < COUNT(files); i++) {
        char *rel = NULL;
        csign_rc rc;

        err_clear();
        rc = manifest_relative(top, files[i], &rel);
        if (rc != CSIGN_EUSAGE)
            print_error("case %zu '%s': rc %d\n", i, files[i], rc);
        if (rc == CSIGN_OK)
            free(rel);
        assert_int_equal(rc, CSIGN_EUSAGE);
        assert_contains(err_msg(), "not a file");
    }
}

/* Relative names are relative to the current folder. */
static void test_relative_from_cwd(void **state)
{
    static const struct {
        const char *file;
        csign_rc rc;
        const char *rel;
    } cases[] = {
        {"f", CSIGN_OK, "f"},
        {"./f", CSIGN_OK, "f"},
        {"sub/g", CSIGN_OK, "sub/g"},
        {"in/deep/h", CSIGN_OK, "sub/deep/h"},
        {"../top/sub/g", CSIGN_OK, "sub/g"},
        {"../topx/f", CSIGN_EUSAGE, NULL},
        {"../f", CSIGN_EUSAGE, NULL},
        {"nowhere/f", CSIGN_EIO, NULL},
    };
    char top[PATH_MAX], cwd[PATH_MAX];
    (void)state;

    make_relative_tree(top);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    for (size_t i = 0; i < COUNT(cases); i++) {
        char *rel = NULL, got[PATH_MAX] = "";
        csign_rc rc;

        assert_int_equal(chdir(top), 0);
        rc = manifest_relative(top, cases[i].file, &rel);
        assert_int_equal(chdir(cwd), 0);
        if (rc == CSIGN_OK) {
            snprintf(got, sizeof(got), "%s", rel);
            free(rel);
        }
        if (rc != cases[i].rc)
            print_error("case %zu '%s': rc %d '%s'\n", i, cases[i].file, rc, err_msg());
        assert_int_equal(rc, cases[i].rc);
        if (rc == CSIGN_OK)
            assert_string_equal(got, cases[i].rel);
    }
}

/* The root folder holds every file. */
static void test_relative_root(void **state)
{
    char top[PATH_MAX], want[PATH_MAX + 8], *rel = NULL;
    (void)state;

    make_relative_tree(top);
    snprintf(want, sizeof(want), "%s/sub/g", top + 1);
    assert_int_equal(manifest_relative("/", in_dir("top/sub/g"), &rel), CSIGN_OK);
    assert_string_equal(rel, want);
    free(rel);
    rel = NULL;

    snprintf(want, sizeof(want), "%s/sub/g", top + 1);
    assert_int_equal(manifest_relative("/", in_dir("top/in/g"), &rel), CSIGN_OK);
    assert_string_equal(rel, want);
    free(rel);
    rel = NULL;

    assert_int_equal(manifest_relative("/", "/no-such-file", &rel), CSIGN_OK);
    assert_string_equal(rel, "no-such-file");
    free(rel);
    rel = NULL;

    assert_int_equal(manifest_relative("/", "/..", &rel), CSIGN_EUSAGE);
    assert_int_equal(manifest_relative("/", "/", &rel), CSIGN_EUSAGE);
    assert_int_equal(manifest_relative("/", in_dir("missing/f"), &rel), CSIGN_EIO);
    assert_null(rel);
}

/* ---- manifest_walk ---------------------------------------------------------- */

static void check_names(char **got, size_t n, const char *const *want, size_t want_n)
{
    bool same = n == want_n;

    for (size_t i = 0; same && i < n; i++)
        same = strcmp(got[i], want[i]) == 0;
    if (!same) {
        print_error("got %zu names:\n", n);
        for (size_t i = 0; i < n; i++)
            print_error("  '%s'\n", got[i]);
        print_error("want %zu names:\n", want_n);
        for (size_t i = 0; i < want_n; i++)
            print_error("  '%s'\n", want[i]);
    }
    manifest_names_free(got, n);
    assert_true(same);
}

static void test_walk(void **state)
{
    /* Byte-wise order: ' ' < '-' < '.' < '/' < 'A' < 'a' < 0xc3. */
    static const char *const want[] = {
        "A",     "a b",      "a-",       "a.txt",     "a/x",       "a/y/deep/z", "a/y/z",
        "b.txt", "dangling", "link-dir", "link-file", "new\nline", "\xc3\xa9",
    };
    char **names = NULL;
    size_t n = 0;
    (void)state;

    assert_int_equal(mkdir(in_dir("a"), 0700), 0);
    assert_int_equal(mkdir(in_dir("a/y"), 0700), 0);
    assert_int_equal(mkdir(in_dir("a/y/deep"), 0700), 0);
    assert_int_equal(mkdir(in_dir("a/empty"), 0700), 0);
    assert_int_equal(mkdir(in_dir("empty"), 0700), 0);
    assert_int_equal(mkdir(in_dir("empty/inner"), 0700), 0);
    put(in_dir("A"), "", 0);
    put(in_dir("a b"), "", 0);
    put(in_dir("a-"), "", 0);
    put(in_dir("a.txt"), "", 0);
    put(in_dir("a/x"), "x", 1);
    put(in_dir("a/y/z"), "z", 1);
    put(in_dir("a/y/deep/z"), "z", 1);
    put(in_dir("b.txt"), "b", 1);
    put(in_dir("new\nline"), "", 0);
    put(in_dir("\xc3\xa9"), "", 0);
    assert_int_equal(symlink("b.txt", in_dir("link-file")), 0);
    assert_int_equal(symlink("a", in_dir("link-dir")), 0);
    assert_int_equal(symlink("nowhere", in_dir("dangling")), 0);

    assert_int_equal(manifest_walk(dir, &names, &n), CSIGN_OK);
    check_names(names, n, want, COUNT(want));

    /* A folder below, and one given with a final slash. */
    static const char *const want_a[] = {"x", "y/deep/z", "y/z"};
    assert_int_equal(manifest_walk(in_dir("a"), &names, &n), CSIGN_OK);
    check_names(names, n, want_a, COUNT(want_a));
    assert_int_equal(manifest_walk(in_dir("a/"), &names, &n), CSIGN_OK);
    check_names(names, n, want_a, COUNT(want_a));

    /* Through a link to a folder given as the top: its contents. */
    assert_int_equal(manifest_walk(in_dir("link-dir"), &names, &n), CSIGN_OK);
    check_names(names, n, want_a, COUNT(want_a));
}

/* Many names: the order is byte-wise, whatever readdir() gives. */
static void test_walk_many(void **state)
{
    enum { N = 300 };
    char **names = NULL;
    size_t n = 0;
    (void)state;

    assert_int_equal(mkdir(in_dir("d"), 0700), 0);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), i % 3 ? "f%d" : "d/%d", (i * 7919) % N);
        put(in_dir(name), "", 0);
    }
    assert_int_equal(manifest_walk(dir, &names, &n), CSIGN_OK);
    assert_int_equal(n, N);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) >= 0) {
            print_error("'%s' before '%s'\n", names[i - 1], names[i]);
            fail();
        }
    manifest_names_free(names, n);
}

static void test_walk_empty(void **state)
{
    char **names = (char **)(uintptr_t)1;
    size_t n = 99;
    (void)state;

    assert_int_equal(manifest_walk(dir, &names, &n), CSIGN_OK);
    assert_int_equal(n, 0);
    manifest_names_free(names, n);

    /* Only empty folders: nothing either. */
    assert_int_equal(mkdir(in_dir("e"), 0700), 0);
    assert_int_equal(mkdir(in_dir("e/f"), 0700), 0);
    n = 99;
    assert_int_equal(manifest_walk(dir, &names, &n), CSIGN_OK);
    assert_int_equal(n, 0);
    manifest_names_free(names, n);
}

static void test_walk_errors(void **state)
{
    char **names = NULL;
    size_t n = 0;
    (void)state;

    put(in_dir("file"), "x", 1);
    assert_int_equal(manifest_walk(in_dir("missing"), &names, &n), CSIGN_EIO);
    assert_contains(err_msg(), "missing");
    assert_int_equal(manifest_walk(in_dir("file"), &names, &n), CSIGN_EIO);
    assert_int_equal(manifest_walk("", &names, &n), CSIGN_EIO);
    assert_null(names);

    /* A folder that cannot be read, below the top. */
    if (geteuid() != 0) {
        assert_int_equal(mkdir(in_dir("locked"), 0700), 0);
        put(in_dir("locked/x"), "x", 1);
        put(in_dir("z"), "z", 1);
        assert_int_equal(chmod(in_dir("locked"), 0), 0);
        assert_int_equal(manifest_walk(dir, &names, &n), CSIGN_EIO);
        assert_contains(err_msg(), "locked");
        assert_int_equal(chmod(in_dir("locked"), 0700), 0);
        assert_null(names);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_sha256, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_format_sha512, make_dir, remove_dir),
        cmocka_unit_test(test_format_literal),
        cmocka_unit_test(test_format_empty),
        cmocka_unit_test(test_format_value_bytes),
        cmocka_unit_test(test_parse_round_trip_sha256),
        cmocka_unit_test(test_parse_round_trip_sha512),
        cmocka_unit_test(test_parse_round_trip_sha384),
        cmocka_unit_test(test_parse_coreutils_text),
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_reads_len_bytes),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_parse_refusal_reasons),
        cmocka_unit_test(test_parse_named),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_find_empty),
        cmocka_unit_test(test_find_after_parse),
        cmocka_unit_test_setup_teardown(test_relative, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_relative_not_files, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_relative_from_cwd, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_relative_root, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_walk, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_walk_many, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_walk_empty, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_walk_errors, make_dir, remove_dir),
    };

    return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
