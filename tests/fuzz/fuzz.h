/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_FUZZ_H
#define CSIGN_FUZZ_H

/*
 * What the libFuzzer targets of tests/fuzz share. A target never writes a
 * file and never changes the environment; it frees all it allocates for an
 * input (LeakSanitizer checks), and keeps only what it sets up once in
 * LLVMFuzzerInitialize().
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string, cut at its first NUL byte (the
 * parsers take C strings). Free it; NULL when out of memory. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s != NULL) {
        if (size > 0)
            memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* A property every input must keep; a broken one is a finding. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)
__attribute__((noreturn)) static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "fuzz: %s:%d: property broken: %s\n", file, line, what);
    abort();
}

/* Files of the fixed test PKI in tests/fuzz/data/ (made by make-data.sh),
 * read with csign's own loaders. Each aborts with a message when the file
 * cannot be loaded: the target cannot run without it. */
X509_STORE *fuzz_store(const char *name);
STACK_OF(X509_CRL) * fuzz_crls(const char *name);
unsigned char *fuzz_file(const char *name, size_t *len);
/* The full path of a file in tests/fuzz/data/ (a static buffer). */
const char *fuzz_path(const char *name);

#endif
