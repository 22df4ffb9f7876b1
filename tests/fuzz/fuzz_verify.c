/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input is a detached signature (DER or PEM) over data/content, checked
 * as `csign verify` checks it:
 *
 *   csign verify --trust ca.pem --tsa-trust ca.pem --crl crl.pem \
 *       --at-time 2030-01-01T00:00:00Z --sig INPUT content
 */
#include "fuzz.h"

#include "core/verify.h"

static verify_policy policy;
static char *content;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    policy.trust = fuzz_store("ca.pem");
    policy.tsa_trust = fuzz_store("ca.pem");
    policy.crls = fuzz_crls("crl.pem");
    policy.at = 1893456000; /* 2030-01-01T00:00:00Z, inside the test PKI's validity */
    policy.min_rsa_bits = 2048;
    content = strdup(fuzz_path("content"));
    if (content == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    verify_result r;

    if (verify_detached(&policy, data, size, content, &r) == CSIGN_OK)
        FUZZ_CHECK(r.subject != NULL && r.issuer != NULL && strlen(r.sha256) == 64 &&
                   r.digest != NULL && r.timestamp != NULL);
    verify_result_clear(&r);
    return 0;
}
