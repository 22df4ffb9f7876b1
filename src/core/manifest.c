/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "core/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/hex.h"

csign_rc manifest_add(manifest *m, const char *path, const unsigned char *value)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        manifest_entry *v = realloc(m->v, cap * sizeof(*v));
        if (v == NULL)
            return err_oom();
        m->v = v;
        m->cap = cap;
    }
    if ((m->v[m->n].path = strdup(path)) == NULL)
        return err_oom();
    memcpy(m->v[m->n].value, value, (size_t)EVP_MD_get_size(m->md));
    m->v[m->n].line = 0;
    m->n++;
    return CSIGN_OK;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const manifest_entry *)a)->path, ((const manifest_entry *)b)->path);
}

void manifest_sort(manifest *m)
{
    if (m->n > 1)
        qsort(m->v, m->n, sizeof(*m->v), by_path);
}

long manifest_find(const manifest *m, const char *path)
{
    manifest_entry key = {.path = (char *)path};
    const manifest_entry *e = m->n ? bsearch(&key, m->v, m->n, sizeof(*m->v), by_path) : NULL;

    return e ? (long)(e - m->v) : -1;
}

void manifest_clear(manifest *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

static bool needs_escape(const char *path)
{
    return strpbrk(path, "\\\n\r") != NULL;
}

csign_rc manifest_format(const manifest *m, char **text, size_t *len)
{
    size_t hexlen = 2 * (size_t)EVP_MD_get_size(m->md), cap = 1;
    char *out, *p;

    /* Worst case: every byte of the path escaped. */
    for (size_t i = 0; i < m->n; i++)
        cap += 1 + hexlen + 2 + 2 * strlen(m->v[i].path) + 1;
    if ((out = p = malloc(cap)) == NULL)
        return err_oom();
    for (size_t i = 0; i < m->n; i++) {
        const char *s = m->v[i].path;
        bool esc = needs_escape(s);
        if (esc)
            *p++ = '\\';
        for (size_t k = 0; k < hexlen / 2; k++)
            p += sprintf(p, "%02x", m->v[i].value[k]);
        *p++ = ' ';
        *p++ = ' ';
        for (; *s != '\0'; s++) {
            char c = *s == '\n' ? 'n' : *s == '\r' ? 'r' : *s;
            if (esc && (*s == '\\' || *s == '\n' || *s == '\r'))
                *p++ = '\\';
            *p++ = c;
        }
        *p++ = '\n';
    }
    *p = '\0';
    *text = out;
    *len = (size_t)(p - out);
    return CSIGN_OK;
}

/* Checks that a relative path has only real parts: no empty, "." or
 * ".." parts. */
static bool plain_path(const char *p)
{
    if (*p == '/' || *p == '\0')
        return false;
    for (;;) {
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (*end == '\0')
            return true;
        p = end + 1;
    }
}

static const EVP_MD *md_of_hex_length(size_t hex)
{
    return hex == 64 ? EVP_sha256() : hex == 96 ? EVP_sha384() : hex == 128 ? EVP_sha512() : NULL;
}

static const char *md_label(const EVP_MD *md)
{
    return md == EVP_sha256() ? "SHA-256" : md == EVP_sha384() ? "SHA-384" : "SHA-512";
}

/* "SHA256 (" and the like, as sha256sum --tag, BSD sha256 and signify
 * write them: the digest named, or NULL. */
static const EVP_MD *tag_md(const char *p, const char *end, size_t *taglen)
{
    static const struct {
        const char *tag;
        size_t hex;
    } tags[] = {{"SHA256 (", 64}, {"SHA384 (", 96}, {"SHA512 (", 128}};

    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        size_t n = strlen(tags[i].tag);
        if ((size_t)(end - p) > n && memcmp(p, tags[i].tag, n) == 0) {
            *taglen = n;
            return md_of_hex_length(tags[i].hex);
        }
    }
    return NULL;
}

/* The last ") = " of [p, end), as coreutils finds the end of a tagged
 * line's name (BSD tools do not escape names), or NULL. */
static const char *last_close(const char *p, const char *end)
{
    for (const char *q = end - 4; q >= p; q--)
        if (memcmp(q, ") = ", 4) == 0)
            return q;
    return NULL;
}

/* A line sha256sum -c skips: empty, or a comment ('#' first). A line of
 * blanks is improperly formatted for sha256sum --strict, and here. */
static bool skipped_line(const char *p, const char *end)
{
    return p == end || *p == '#';
}

/* The number of hex digits at the start of [p, end). */
static size_t hex_run(const char *p, const char *end)
{
    size_t n = 0;

    while (p + n < end && hex_digit(p[n]) >= 0)
        n++;
    return n;
}

/* "sha256:" and the like, as csign digest writes them: the digest
 * named, or NULL. */
static const EVP_MD *prefix_md(const char *p, const char *end, size_t *prefixlen)
{
    static const char *const names[] = {"sha256:", "sha384:", "sha512:"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i]);
        if ((size_t)(end - p) > n && memcmp(p, names[i], n) == 0) {
            *prefixlen = n;
            return md_of_hex_length(64 + 32 * i);
        }
    }
    return NULL;
}

/* The name of [name, end) unescaped into path (room for end - name + 1
 * bytes): with xesc, csign's escapes (every backslash starts "\xHH", a
 * byte in hex, as csign digest writes names); with esc, coreutils' (\\,
 * \n, \r). */
static csign_rc unescape(const char *name, const char *end, bool esc, bool xesc, const char *what,
                         size_t lineno, char *path)
{
    char *q = path;
    unsigned char byte = 0;

    for (const char *p = name; p < end; p++) {
        if (*p == '\0')
            return err_set(CSIGN_EINPUT, "%s line %zu holds a NUL byte", what, lineno);
        if ((!esc && !xesc) || *p != '\\') {
            *q++ = *p;
            continue;
        }
        if (xesc) {
            if (end - p < 4 || p[1] != 'x' || !hex_decode(p + 2, 1, &byte) || byte == 0)
                return err_set(CSIGN_EINPUT, "%s line %zu has an unknown escape", what, lineno);
            *q++ = (char)byte;
            p += 3;
            continue;
        }
        char c = ++p < end ? *p : '\0';
        if (c != '\\' && c != 'n' && c != 'r')
            return err_set(CSIGN_EINPUT, "%s line %zu has an unknown escape", what, lineno);
        *q++ = c == 'n' ? '\n' : c == 'r' ? '\r' : '\\';
    }
    *q = '\0';
    return CSIGN_OK;
}

/* One line (without its newline) into an entry of m: "HEX  PATH",
 * "HEX *PATH" or "ALG (PATH) = HEX", each optionally escaped, or
 * "alg:HEX  PATH" with csign's escapes. what names the list in errors,
 * inside the folder the paths must stay in. */
static csign_rc parse_line(manifest *m, const char *line, size_t len, size_t lineno,
                           const char *what, const char *inside)
{
    unsigned char value[EVP_MAX_MD_SIZE];
    const char *p = line, *end = line + len, *name, *name_end, *digest;
    size_t hex, taglen = 0;
    const EVP_MD *md, *named;
    bool xesc = false;

    /* A list saved with CRLF line ends: coreutils drops the CR too, and a
     * CR that belongs to a name is always written escaped. */
    if (end > p && end[-1] == '\r')
        end--;
    if (skipped_line(p, end))
        return CSIGN_OK;
    bool esc = *p == '\\';
    if (esc)
        p++;
    if ((named = tag_md(p, end, &taglen)) != NULL) {
        name = p + taglen;
        name_end = last_close(name, end);
        digest = name_end ? name_end + 4 : end;
        md = md_of_hex_length(hex = hex_run(digest, end));
        if (name_end == NULL || digest + hex != end || md == NULL)
            return err_set(CSIGN_EINPUT,
                           "%s line %zu is not 'SHA256 (PATH) = HEX' with a SHA-256, "
                           "SHA-384 or SHA-512 digest",
                           what, lineno);
    } else if (!esc && (named = prefix_md(p, end, &taglen)) != NULL) {
        /* csign digest's form: its names are escaped with \xHH. */
        xesc = true;
        digest = p + taglen;
        md = md_of_hex_length(hex = hex_run(digest, end));
        if (md == NULL || digest + hex + 2 >= end || digest[hex] != ' ' || digest[hex + 1] != ' ')
            return err_set(CSIGN_EINPUT,
                           "%s line %zu is not 'ALG:HEX  PATH' with a SHA-256, SHA-384 or "
                           "SHA-512 digest",
                           what, lineno);
        name = digest + hex + 2;
        name_end = end;
    } else {
        digest = p;
        md = md_of_hex_length(hex = hex_run(digest, end));
        if (md == NULL || p + hex + 2 >= end || p[hex] != ' ' ||
            (p[hex + 1] != ' ' && p[hex + 1] != '*'))
            return err_set(CSIGN_EINPUT,
                           "%s line %zu is none of 'HEX  PATH', 'sha256:HEX  PATH' and "
                           "'SHA256 (PATH) = HEX' with a SHA-256, SHA-384 or SHA-512 digest",
                           what, lineno);
        name = p + hex + 2;
        name_end = end;
    }
    if (named != NULL && md != named)
        return err_set(CSIGN_EINPUT,
                       "%s line %zu names %.6s but its digest has %zu hex digits, the length of %s",
                       what, lineno, p, hex, md_label(md));
    if (m->md != NULL && m->md != md)
        return err_set(CSIGN_EINPUT,
                       "%s line %zu has a digest of another length (%s) than the lines before "
                       "(%s); a list holds one digest",
                       what, lineno, md_label(md), md_label(m->md));
    m->md = md;
    (void)hex_decode(digest, hex / 2, value); /* all hex digits: counted above */
    if (name == name_end)
        return err_set(CSIGN_EINPUT, "%s line %zu names no file", what, lineno);

    char *path = malloc((size_t)(name_end - name) + 1);
    if (path == NULL)
        return err_oom();
    csign_rc rc = unescape(name, name_end, esc, xesc, what, lineno, path);
    if (rc != CSIGN_OK) {
        free(path);
        return rc;
    }
    const char *rel = path;
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    rc = plain_path(rel) ? manifest_add(m, rel, value)
                         : err_set(CSIGN_EINPUT,
                                   "%s line %zu: the path must stay inside %s (no '/' at the "
                                   "start, no '.' or '..' parts)",
                                   what, lineno, inside);
    if (rc == CSIGN_OK)
        m->v[m->n - 1].line = lineno;
    free(path);
    return rc;
}

csign_rc manifest_parse(const char *text, size_t len, manifest *m)
{
    return manifest_parse_named(text, len, "manifest", "the manifest's folder", m);
}

csign_rc manifest_parse_named(const char *text, size_t len, const char *what, const char *inside,
                              manifest *m)
{
    size_t lineno = 0;
    csign_rc rc = CSIGN_OK;

    m->md = NULL;
    for (size_t at = 0; rc == CSIGN_OK && at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        rc = parse_line(m, text + at, n, ++lineno, what, inside);
        at += n + 1;
    }
    if (rc == CSIGN_OK && m->n == 0)
        rc = err_set(CSIGN_EINPUT, "the %s lists no files", what);
    if (rc == CSIGN_OK) {
        manifest_sort(m);
        for (size_t i = 1; rc == CSIGN_OK && i < m->n; i++)
            if (strcmp(m->v[i - 1].path, m->v[i].path) == 0)
                rc = err_set(CSIGN_EINPUT, "the %s lists '%s' twice", what, m->v[i].path);
    }
    if (rc != CSIGN_OK)
        manifest_clear(m);
    return rc;
}

csign_rc manifest_relative(const char *dir, const char *file, char **rel)
{
    char copy[PATH_MAX], real[PATH_MAX];
    size_t dlen = strlen(dir);

    if (strlen(file) >= sizeof(copy))
        return err_set(CSIGN_EUSAGE, "path '%s' is too long", file);
    snprintf(copy, sizeof(copy), "%s", file);
    const char *base = basename(copy);
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        file[strlen(file) - 1] == '/')
        return err_set(CSIGN_EUSAGE, "'%s' is not a file", file);
    char *name = strdup(base);
    if (name == NULL)
        return err_oom();
    snprintf(copy, sizeof(copy), "%s", file);
    if (realpath(dirname(copy), real) == NULL) {
        csign_rc rc =
            err_set(CSIGN_EIO, "cannot resolve the folder of '%s': %s", file, strerror(errno));
        free(name);
        return rc;
    }
    /* The root folder is "/", every other folder lacks the final slash. */
    bool inside = strcmp(dir, "/") == 0
                      ? real[0] == '/'
                      : strncmp(real, dir, dlen) == 0 && (real[dlen] == '\0' || real[dlen] == '/');
    if (!inside) {
        free(name);
        return err_set(CSIGN_EUSAGE, "'%s' is not inside the manifest's folder '%s'", file, dir);
    }
    const char *sub = real + (strcmp(dir, "/") == 0 ? 1 : dlen + (real[dlen] == '/'));
    int n = *sub ? asprintf(rel, "%s/%s", sub, name) : asprintf(rel, "%s", name);
    free(name);
    return n < 0 ? err_oom() : CSIGN_OK;
}

typedef struct {
    char **v;
    size_t n, cap;
} names;

static csign_rc push(names *l, char *s)
{
    if (s == NULL)
        return err_oom();
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL) {
            free(s);
            return err_oom();
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return CSIGN_OK;
}

/* Walks folder fd (named prefix relative to the top, "" for the top). */
static csign_rc walk(int fd, const char *top, const char *prefix, int depth, names *out)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;
    csign_rc rc = CSIGN_OK;

    if (d == NULL) {
        close(fd);
        return err_set(CSIGN_EIO, "cannot read folder '%s/%s': %s", top, prefix, strerror(errno));
    }
    while (rc == CSIGN_OK && (errno = 0, e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = NULL;
        struct stat st;
        if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name) < 0) {
            rc = err_oom();
            break;
        }
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = err_set(CSIGN_EIO, "cannot read '%s/%s': %s", top, path, strerror(errno));
            free(path);
        } else if (!S_ISDIR(st.st_mode)) {
            rc = push(out, path);
        } else if (depth >= 64) {
            rc = err_set(CSIGN_EIO, "folders under '%s' nest too deep", top);
            free(path);
        } else {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub < 0 ? err_set(CSIGN_EIO, "cannot read folder '%s/%s': %s", top, path,
                                   strerror(errno))
                         : walk(sub, top, path, depth + 1, out);
            free(path);
        }
    }
    if (rc == CSIGN_OK && errno != 0)
        rc = err_set(CSIGN_EIO, "cannot read folder '%s/%s': %s", top, prefix, strerror(errno));
    closedir(d);
    return rc;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

csign_rc manifest_walk(const char *dir, char ***out, size_t *n)
{
    names l = {NULL, 0, 0};
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    csign_rc rc = fd < 0 ? err_set(CSIGN_EIO, "cannot read folder '%s': %s", dir, strerror(errno))
                         : walk(fd, dir, "", 0, &l);

    if (rc != CSIGN_OK) {
        manifest_names_free(l.v, l.n);
        return rc;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof(*l.v), by_string);
    *out = l.v;
    *n = l.n;
    return CSIGN_OK;
}

void manifest_names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}
