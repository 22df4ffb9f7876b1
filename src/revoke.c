/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "csign/revoke.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csign/cert.h"

#define NO(...) err_set(CSIGN_ENO, __VA_ARGS__)

/* Whether csign can use a CRL in full: no partitioning (issuing
 * distribution point), no delta CRL, and no critical extension it does
 * not handle (it handles none). */
static bool complete_crl(const X509_CRL *crl)
{
    for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
        X509_EXTENSION *ext = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        if (nid == NID_issuing_distribution_point || nid == NID_delta_crl ||
            X509_EXTENSION_get_critical(ext))
            return false;
    }
    return true;
}

/* Whether crl applies to cert: a complete CRL from cert's issuer, signed
 * with the key of issuer, which may sign CRLs. */
static bool applies(X509_CRL *crl, X509 *cert, X509 *issuer)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    bool ok = key != NULL && (X509_get_key_usage(issuer) & KU_CRL_SIGN) != 0 &&
              X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) == 0 &&
              complete_crl(crl) && X509_CRL_verify(crl, key) == 1;

    ERR_clear_error();
    return ok;
}

/* The earliest revocation of cert among the CRLs that apply: 1 and *when
 * (0 when unreadable) when revoked, 0 when not, -1 when no CRL applies. */
static int revoked(STACK_OF(X509_CRL) * crls, X509 *cert, X509 *issuer, time_t *when, struct tm *tm)
{
    int found = -1;

    *when = 0;
    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        X509_REVOKED *entry = NULL;
        if (!applies(crl, cert, issuer))
            continue;
        if (found < 0)
            found = 0;
        if (X509_CRL_get0_by_cert(crl, &entry, cert) != 1)
            continue;
        const ASN1_TIME *t = X509_REVOKED_get0_revocationDate(entry);
        struct tm at;
        time_t w = t && ASN1_TIME_to_tm(t, &at) == 1 ? timegm(&at) : 0;
        /* An unreadable date counts as the earliest: it fails closed. */
        if (found == 0 || w < *when) {
            *when = w;
            if (w != 0)
                *tm = at;
        }
        found = 1;
    }
    return found;
}

csign_rc revoke_check(STACK_OF(X509) * chain, STACK_OF(X509_CRL) * crls, time_t trusted,
                      bool require, const char **status)
{
    int applied = 0;
    bool after = false;

    *status = "not checked";
    for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
        X509 *cert = sk_X509_value(chain, i), *issuer = sk_X509_value(chain, i + 1);
        time_t at = 0;
        struct tm tm;
        int r = revoked(crls, cert, issuer, &at, &tm);
        char *who = NULL;
        if (r < 0) {
            if (!require)
                continue;
            who = cert_name_text(X509_get_issuer_name(cert));
            csign_rc rc = NO("no CRL from '%s' (--require-crl)", who ? who : "?");
            free(who);
            return rc;
        }
        applied++;
        if (r == 0)
            continue;
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
