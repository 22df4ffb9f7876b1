/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_DIGEST_LIST_H
#define CSIGN_DIGEST_LIST_H

/*
 * csign sign --digest-list FILE --out-dir DIR: many digests computed
 * elsewhere (csign digest's "sha256:HEX  NAME" lines, or a sha256sum
 * list), each signed into DIR/NAME.p7s, so that the signatures, put back
 * beside the files, are where csign verify looks for them. The list is
 * read as a checksum list (core/manifest.h): the same line forms,
 * escapes, comments and refusals.
 */

#include <stddef.h>

#include "cli/commands.h"

/*
 * Reads the list o->digest_list ("-": standard input) into o->listed and
 * makes its names the files to sign (o->files, o->nfiles; the old array
 * is freed), each with its digest in o->preset. The list's algorithm
 * becomes o->md. CSIGN_EIO when it cannot be read; CSIGN_EINPUT naming
 * the line for a malformed list, a name that leads outside --out-dir, a
 * name listed twice, or a list too large or empty; CSIGN_EUSAGE when
 * o->md (--digest or a profile) names another algorithm than the list's.
 */
csign_rc digest_list_load(sign_opts *o);

/* Frees what digest_list_load() added but o->files. */
void digest_list_free(sign_opts *o);

/* The signature of name: DIR/NAME.p7s. CSIGN_EUSAGE when too long. */
csign_rc digest_list_output(const sign_opts *o, const char *name, char *out, size_t size);

/*
 * Makes the folders below --out-dir that name's signature goes into
 * (NAME "a/b/c": DIR/a and DIR/a/b), before the PIN is used. Folders that
 * exist are kept; a symbolic link or a file in their place is refused,
 * so that nothing is written outside DIR. CSIGN_EIO when DIR cannot be
 * opened or a folder cannot be made.
 */
csign_rc digest_list_folders(const sign_opts *o, const char *name);

#endif
