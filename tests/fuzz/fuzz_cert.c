/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input is a DER certificate as `csign list` reads one from a token
 * (CKA_VALUE) and summarises it.
 */
#include "fuzz.h"

#include "core/cert.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cert_summary s;

    if (cert_summarize(data, size, &s) == CSIGN_OK) {
        FUZZ_CHECK(s.subject != NULL && s.issuer != NULL && s.eku != NULL);
        FUZZ_CHECK(strlen(s.sha256) == 64);
    }
    cert_summary_clear(&s);
    return 0;
}
