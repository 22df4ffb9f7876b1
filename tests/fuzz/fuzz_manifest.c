/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input is a checksum list as `csign verify --manifest` reads it. A list
 * that parses must also come back the same through manifest_format() and
 * manifest_parse(), and every path must be found where it is.
 */
#include "fuzz.h"

#include "core/manifest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    manifest m = {0}, again = {0};
    char *text = NULL;
    size_t len = 0;

    if (manifest_parse((const char *)data, size, &m) != CSIGN_OK) {
        FUZZ_CHECK(m.n == 0 && m.v == NULL);
        return 0;
    }
    FUZZ_CHECK(m.n > 0 && m.md != NULL);
    for (size_t i = 0; i < m.n; i++)
        FUZZ_CHECK(manifest_find(&m, m.v[i].path) == (long)i);
    FUZZ_CHECK(manifest_format(&m, &text, &len) == CSIGN_OK);
    FUZZ_CHECK(strlen(text) == len);
    FUZZ_CHECK(manifest_parse(text, len, &again) == CSIGN_OK);
    FUZZ_CHECK(again.n == m.n && again.md == m.md);
    size_t vlen = (size_t)EVP_MD_get_size(m.md);
    for (size_t i = 0; i < m.n; i++) {
        FUZZ_CHECK(strcmp(again.v[i].path, m.v[i].path) == 0);
        FUZZ_CHECK(memcmp(again.v[i].value, m.v[i].value, vlen) == 0);
    }
    free(text);
    manifest_clear(&again);
    manifest_clear(&m);
    return 0;
}
