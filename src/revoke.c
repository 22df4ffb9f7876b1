/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "csign/revoke.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "csign/cert.h"

#define NO(...) err_set(CSIGN_ENO, __VA_ARGS__)

/* The first CRL that applies to cert, issued by issuer. */
static X509_CRL *crl_for(STACK_OF(X509_CRL) * crls, X509 *cert, X509 *issuer)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);

    for (int i = 0; key != NULL && i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) == 0 &&
            X509_CRL_verify(crl, key) == 1)
            return crl;
    }
    ERR_clear_error();
    return NULL;
}

csign_rc revoke_check(STACK_OF(X509) * chain, STACK_OF(X509_CRL) * crls, time_t trusted,
                      bool require, const char **status)
{
    int applied = 0;
    bool after = false;

    *status = "not checked";
    for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
        X509 *cert = sk_X509_value(chain, i), *issuer = sk_X509_value(chain, i + 1);
        X509_CRL *crl = crl_for(crls, cert, issuer);
        X509_REVOKED *entry = NULL;
        char *who = NULL;
        if (crl == NULL) {
            if (!require)
                continue;
            who = cert_name_text(X509_get_issuer_name(cert));
            csign_rc rc = NO("no CRL from '%s' (--require-crl)", who ? who : "?");
            free(who);
            return rc;
        }
        applied++;
        if (X509_CRL_get0_by_cert(crl, &entry, cert) != 1)
            continue;
        const ASN1_TIME *when = X509_REVOKED_get0_revocationDate(entry);
        struct tm tm;
        time_t at = when && ASN1_TIME_to_tm(when, &tm) == 1 ? timegm(&tm) : 0;
        if (trusted != 0 && at > trusted) {
            after = true;
            continue;
        }
        char text[32] = "an unknown time";
        if (at != 0)
            strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
        who = cert_name_text(X509_get_subject_name(cert));
        csign_rc rc = trusted != 0
                          ? NO("certificate '%s' was revoked at %s, before the timestamp",
                               who ? who : "?", text)
                          : NO("certificate '%s' was revoked at %s", who ? who : "?", text);
        free(who);
        return rc;
    }
    if (applied > 0)
        *status = after ? "revoked after the timestamp" : "good";
    return CSIGN_OK;
}
