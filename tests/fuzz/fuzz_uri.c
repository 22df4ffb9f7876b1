/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input is a PKCS#11 URI as --key, --token and --module take it: parsed
 * (through p11-kit), and on success every attribute csign reads of it. The
 * copy of it that messages show must hold no byte of a pin-value.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <strings.h>

#include "hsm/hsm.h"

/* After each masked pin-value comes the end of that attribute (RFC 7512:
 * ';' or '?' in the path, '&' in the query) or of the text, so no part of
 * the PIN is left. */
static void check_redacted(const char *shown)
{
    static const char mask[] = "pin-value=(redacted)";
    const size_t n = sizeof(mask) - 1;
    bool query = false;

    for (const char *p = shown; *p; p++) {
        bool starts = p == shown || strchr(":?&;", p[-1]) != NULL;
        if (starts && strncasecmp(p, mask, n) == 0) {
            char end = p[n];
            FUZZ_CHECK(end == '\0' || (query ? end == '&' : end == ';' || end == '?'));
        }
        query = query || *p == '?';
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    hsm_uri *uri = NULL;
    size_t len = 0;

    if (text == NULL)
        return 0;
    char *shown = hsm_uri_redact(text);
    if (shown != NULL)
        check_redacted(shown);
    free(shown);
    if (hsm_uri_parse(text, &uri) == CSIGN_OK) {
        (void)hsm_uri_module_path(uri);
        (void)hsm_uri_pin_source(uri);
        (void)hsm_uri_names_object(uri);
        char *label = hsm_uri_object_label(uri, &len);
        FUZZ_CHECK(label == NULL || strlen(label) <= len);
        free(label);
        const unsigned char *id = hsm_uri_object_id(uri, &len);
        FUZZ_CHECK((id == NULL) == (len == 0));
        hsm_uri_free(uri);
    }
    free(text);
    return 0;
}
