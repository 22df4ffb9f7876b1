/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_MANIFEST_H
#define CSIGN_MANIFEST_H

/*
 * Checksum lists as `sha256sum -c` reads them: one line per file, "HEX
 * PATH" (GNU) or "SHA256 (PATH) = HEX" (tagged: `sha256sum --tag`, BSD
 * `sha256`, signify), PATH relative to the list's folder. A name holding a
 * backslash, newline or carriage return is written with those escaped
 * (\\, \n, \r) and the line starts with a backslash, as coreutils does.
 * The digest (SHA-256, -384 or -512) follows from the length of HEX.
 * Lists are also read in the form `csign digest` prints, "sha256:HEX
 * PATH" (two spaces), whose names escape each byte that is not plain
 * printable text, a backslash among them, as "\xHH".
 */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "sys/err.h"

typedef struct {
    char *path; /* relative to the manifest's folder, unescaped */
    unsigned char value[EVP_MAX_MD_SIZE];
    size_t line; /* manifest_parse(): the line it was read from; else 0 */
} manifest_entry;

typedef struct {
    const EVP_MD *md;
    manifest_entry *v;
    size_t n;
    size_t cap; /* entries allocated */
} manifest;

/* Adds an entry (path copied; value is EVP_MD_get_size(m->md) bytes). */
csign_rc manifest_add(manifest *m, const char *path, const unsigned char *value);

/* Sorts the entries by path, byte by byte. */
void manifest_sort(manifest *m);

/* The list as text, one line per entry in the current order. *text is
 * malloc'd (NUL-terminated) and owned by the caller. */
csign_rc manifest_format(const manifest *m, char **text, size_t *len);

/*
 * Parses text into *m (which must be empty). Accepts what
 * manifest_format() writes and also "HEX *PATH" (coreutils' binary mark),
 * tagged lines "SHA256 (PATH) = HEX" (also SHA384, SHA512; the name ends
 * at the line's last ") = ", as coreutils reads it), csign digest's lines
 * "sha256:HEX  PATH" (also sha384, sha512; "\xHH" escapes, never with a
 * leading backslash), the three forms mixed, a leading "./", CRLF line ends, and skips empty lines
 * and lines that start with '#' (comments), as sha256sum -c does. Refuses, as CSIGN_EINPUT naming
 * the line (or, for a path listed twice, the path): other line shapes, a tag whose algorithm
 * disagrees with the digest's length, digests of different lengths or of another length than
 * SHA-256/384/512, absolute paths, "." or ".." parts or empty parts, a
 * path listed twice, and a list with no entry.
 */
csign_rc manifest_parse(const char *text, size_t len, manifest *m);

/* As manifest_parse(), for other lists of this form: the errors name the
 * list what ("digest list 'd.txt'": "digest list 'd.txt' line 3 ...",
 * "the digest list 'd.txt' lists 'a' twice") and the folder its paths
 * must stay inside (inside: "--out-dir"). */
csign_rc manifest_parse_named(const char *text, size_t len, const char *what, const char *inside,
                              manifest *m);

/* Frees the entries; *m is empty again. */
void manifest_clear(manifest *m);

/* Index of path among the sorted entries, or -1. */
long manifest_find(const manifest *m, const char *path);

/*
 * The path of file relative to folder dir, where dir is an absolute path
 * without symbolic links (realpath()). The file's folder is resolved;
 * its last part is kept as written. CSIGN_EUSAGE when the file is not
 * inside dir; CSIGN_EIO when its folder cannot be resolved. *rel is
 * malloc'd.
 */
csign_rc manifest_relative(const char *dir, const char *file, char **rel);

/*
 * Everything under folder dir that is not a folder (files, symbolic
 * links, ...), recursively without following symbolic links, as paths
 * relative to dir, sorted. *names is a malloc'd array of malloc'd strings;
 * free with manifest_names_free(). CSIGN_EIO when a folder cannot be read.
 */
csign_rc manifest_walk(const char *dir, char ***names, size_t *n);
void manifest_names_free(char **names, size_t n);

#endif
