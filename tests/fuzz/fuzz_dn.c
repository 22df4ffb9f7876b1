/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input is a distinguished name as --subject and --expect-subject take
 * it (RFC 4514 or OpenSSL's /-form); a name that parses is also printed
 * (as `csign list` shows subjects) and encoded.
 */
#include "fuzz.h"

#include <openssl/crypto.h>

#include "core/cert.h"
#include "core/x509gen.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    X509_NAME *name = NULL;

    if (text == NULL)
        return 0;
    if (dn_parse(text, &name) == CSIGN_OK) {
        FUZZ_CHECK(X509_NAME_entry_count(name) > 0);
        free(cert_name_text(name));
        unsigned char *der = NULL;
        FUZZ_CHECK(i2d_X509_NAME(name, &der) > 0);
        OPENSSL_free(der);
        X509_NAME_free(name);
    }
    free(text);
    return 0;
}
