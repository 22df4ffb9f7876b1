/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "core/revoke.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/cert.h"

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

/* A digest's strength as OpenSSL rates it for signatures (security
 * levels): half its bits, but 63 for SHA-1 and 39 for MD5; 0 unknown. */
static int md_bits(int md)
{
    const EVP_MD *m = EVP_get_digestbynid(md);

    if (md == NID_sha1)
        return 63;
    if (md == NID_md5 || md == NID_md5_sha1 || md == NID_md4 || md == NID_md2)
        return 39;
    return m != NULL ? EVP_MD_get_size(m) * 4 : 0;
}

static int min_bits(int a, int b)
{
    return a < b ? a : b;
}

/* RSASSA-PSS: the weaker of its hash and its MGF1 hash (SHA-1 when absent). */
static int pss_bits(const X509_ALGOR *alg)
{
    RSA_PSS_PARAMS *pp =
        alg->parameter ? ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)
                       : NULL;
    X509_ALGOR *mgf = NULL;
    int bits = 0;

    if (pp != NULL && pp->maskGenAlgorithm != NULL &&
        OBJ_obj2nid(pp->maskGenAlgorithm->algorithm) == NID_mgf1 &&
        pp->maskGenAlgorithm->parameter != NULL)
        mgf =
            ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR), pp->maskGenAlgorithm->parameter);
    if (pp != NULL && (pp->maskGenAlgorithm == NULL || mgf != NULL))
        bits = min_bits(
            md_bits(pp->hashAlgorithm ? OBJ_obj2nid(pp->hashAlgorithm->algorithm) : NID_sha1),
            md_bits(mgf ? OBJ_obj2nid(mgf->algorithm) : NID_sha1));
    X509_ALGOR_free(mgf);
    RSA_PSS_PARAMS_free(pp);
    ERR_clear_error();
    return bits;
}

/*
 * The strength in bits of a CRL's signature made with key: the digest's
 * (md_bits()), no more than the key's; 0 when unknown. OpenSSL 3.0 checks
 * the security level of certificate signatures only, and verifies a
 * CRL's signature whatever its strength, even inside X509_verify_cert().
 */
static int crl_bits(const X509_CRL *crl, EVP_PKEY *key)
{
    const X509_ALGOR *alg = NULL;
    int md = NID_undef, pk = NID_undef, bits;

    X509_CRL_get0_signature(crl, NULL, &alg);
    if (!OBJ_find_sigid_algs(OBJ_obj2nid(alg->algorithm), &md, &pk))
        return 0;
    if (pk == NID_rsassaPss)
        bits = pss_bits(alg);
    else if (md == NID_undef)
        bits = pk == NID_ED25519 ? 128 : pk == NID_ED448 ? 224 : 0;
    else
        bits = md_bits(md);
    return min_bits(bits, EVP_PKEY_get_security_bits(key));
}

enum use { NOT_FROM_ISSUER, TOO_WEAK, APPLIES };

/* Whether crl applies to cert: a complete CRL from cert's issuer, signed
 * with the key of issuer, which may sign CRLs, as strongly as the chain
 * is judged (CERT_SECURITY_BITS). */
static enum use applies(X509_CRL *crl, X509 *cert, X509 *issuer)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    bool ok = key != NULL && (X509_get_key_usage(issuer) & KU_CRL_SIGN) != 0 &&
              X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) == 0 &&
              complete_crl(crl) && X509_CRL_verify(crl, key) == 1;
    bool strong = ok && crl_bits(crl, key) >= CERT_SECURITY_BITS;

    ERR_clear_error();
    return !ok ? NOT_FROM_ISSUER : strong ? APPLIES : TOO_WEAK;
}

/* The earliest revocation of cert among the CRLs that apply: 1 and *when
 * (0 when unreadable) when revoked, 0 when not, -1 when no CRL applies;
 * *weak tells whether a CRL from the issuer was left out as too weak. */
static int revoked(STACK_OF(X509_CRL) * crls, X509 *cert, X509 *issuer, time_t *when, struct tm *tm,
                   bool *weak)
{
    int found = -1;

    *when = 0;
    *weak = false;
    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        X509_REVOKED *entry = NULL;
        enum use u = applies(crl, cert, issuer);
        *weak = *weak || u == TOO_WEAK;
        if (u != APPLIES)
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
        bool weak = false;
        int r = revoked(crls, cert, issuer, &at, &tm, &weak);
        char *who = NULL;
        if (r < 0) {
            if (!require)
                continue;
            who = cert_name_text(X509_get_issuer_name(cert));
            csign_rc rc = weak ? NO("no CRL from '%s' (--require-crl) is signed strongly enough "
                                    "to be used (SHA-1, MD5 or a small key)",
                                    who ? who : "?")
                               : NO("no CRL from '%s' (--require-crl)", who ? who : "?");
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
