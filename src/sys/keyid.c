/* SPDX-License-Identifier: Apache-2.0 */
#include "sys/keyid.h"

#include <openssl/x509.h>

csign_rc keyid_compute(const EVP_PKEY *pub, unsigned char id[20])
{
    X509_PUBKEY *xpk = NULL;
    const unsigned char *bits = NULL;
    int len = 0;
    unsigned int mdlen = 0;
    csign_rc rc = CSIGN_OK;

    if (X509_PUBKEY_set(&xpk, (EVP_PKEY *)pub) != 1 ||
        X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk) != 1 ||
        EVP_Digest(bits, (size_t)len, id, &mdlen, EVP_sha1(), NULL) != 1)
        rc = err_set_ssl(CSIGN_EINTERNAL, "cannot compute the key identifier");
    X509_PUBKEY_free(xpk);
    return rc;
}
