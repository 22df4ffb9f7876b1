/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input is an RFC 3161 timestamp token (DER), checked over the fixed
 * signature value data/sigval as `csign verify --tsa-trust ca.pem --crl
 * crl.pem` checks a signature's token, and with the policy the seed tokens
 * carry.
 */
#include "fuzz.h"

#include "core/tsa.h"

static unsigned char *sigval;
static size_t sigval_len;
static tsa_expect expect;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sigval = fuzz_file("sigval", &sigval_len);
    expect.trust = fuzz_store("ca.pem");
    expect.crls = fuzz_crls("crl.pem");
    expect.policy = "1.3.6.1.4.1.99999.1";
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tsa_info info;

    if (tsa_check_token(data, size, sigval, sigval_len, &expect, &info) == CSIGN_OK)
        FUZZ_CHECK(info.tsa_subject != NULL && info.digest != NULL);
    tsa_info_clear(&info);
    return 0;
}
