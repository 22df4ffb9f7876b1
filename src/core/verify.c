/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/pem.h>

#include "core/verify.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "core/algs.h"
#include "core/cert.h"
#include "core/cms.h"
#include "core/revoke.h"
#include "core/tsa.h"
#include "core/digest.h"
#include "core/untrusted.h"

/* p->policy's rules over what the signature shows, judged at at. */
static csign_rc check_policy(const verify_policy *p, CMS_SignerInfo *si, X509 *signer, time_t at,
                             const verify_result *r)
{
    X509_ALGOR *dig = NULL;
    const char *ts = r->timestamp ? r->timestamp : "absent";

    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
    policy_facts f = {
        .key = X509_get0_pubkey(signer),
        .digest_nid = dig ? OBJ_obj2nid(dig->algorithm) : NID_undef,
        .cert = signer,
        .at = at,
        .hardware = POLICY_HW_UNKNOWN,
        .stamp = strcmp(ts, "valid") == 0       ? POLICY_STAMP_VALID
                 : strcmp(ts, "untrusted") == 0 ? POLICY_STAMP_UNTRUSTED
                                                : POLICY_STAMP_ABSENT,
    };
    return policy_check(p->policy, &f);
}

/* Verification failures are answers, not errors: exit 1. */
#define NO(...) err_set(CSIGN_ENO, __VA_ARGS__)

void verify_result_clear(verify_result *r)
{
    free(r->subject);
    free(r->issuer);
    free(r->tsa_subject);
    memset(r, 0, sizeof(*r));
}

/* DER of exactly one CMS structure, with nothing after it, in DER's one
 * encoding (no BER indefinite lengths), and for a SignedData, the versions
 * and choices of cms_check_signed_data(). */
static csign_rc parse_der(const unsigned char *der, size_t len, CMS_ContentInfo **out)
{
    const unsigned char *p = der;
    unsigned char *again = NULL;
    int n;

    *out = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    ERR_clear_error();
    if (*out == NULL)
        return NO("malformed signature: not a DER CMS structure");
    if (p != der + len)
        return NO("malformed signature: trailing data");
    n = i2d_CMS_ContentInfo(*out, &again);
    bool same = n > 0 && (size_t)n == len && memcmp(again, der, len) == 0;
    OPENSSL_free(again);
    if (!same)
        return NO("malformed signature: not DER (BER or a non-canonical encoding)");
    return cms_check_signed_data(der, len);
}

/* Parses the whole input as one CMS structure, DER or PEM. A PEM file is
 * one CMS (or PKCS7) block without headers, followed only by line ends,
 * whose bytes are then held to the same rules as DER. */
static csign_rc parse(const unsigned char *sig, size_t len, CMS_ContentInfo **out)
{
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long dlen = 0;
    csign_rc rc;

    *out = NULL;
    if (len == 0)
        return NO("malformed signature: empty");
    if (len <= 11 || memcmp(sig, "-----BEGIN ", 11) != 0)
        return parse_der(sig, len, out);
    BIO *b = BIO_new_mem_buf(sig, (int)len);
    if (b == NULL || PEM_read_bio(b, &name, &header, &der, &dlen) != 1) {
        rc = NO("malformed signature: not a PEM CMS structure");
    } else if ((strcmp(name, "CMS") != 0 && strcmp(name, "PKCS7") != 0) || header[0] != '\0') {
        rc = NO("malformed signature: PEM block '%s' is not a plain CMS block", name);
    } else {
        char c;
        bool blank = true;
        while (blank && BIO_read(b, &c, 1) == 1)
            blank = c == '\n' || c == '\r';
        rc = blank ? parse_der(der, (size_t)dlen, out) : NO("malformed signature: trailing data");
    }
    ERR_clear_error();
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(b);
    return rc;
}

/* Structure: SignedData, detached, id-data, one signer. */
static csign_rc check_structure(CMS_ContentInfo *cms, CMS_SignerInfo **si)
{
    STACK_OF(CMS_SignerInfo) * sis;
    ASN1_OCTET_STRING **content;

    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
        return NO("malformed signature: not a CMS SignedData");
    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
        return NO("signed content type is not id-data");
    content = CMS_get0_content(cms);
    if (content != NULL && *content != NULL)
        return NO("the signature carries content of its own (not a detached signature)");
    sis = CMS_get0_SignerInfos(cms);
    if (sis == NULL || sk_CMS_SignerInfo_num(sis) != 1)
        return NO("the signature has %d signers, not one", sis ? sk_CMS_SignerInfo_num(sis) : 0);
    *si = sk_CMS_SignerInfo_value(sis, 0);
    return CSIGN_OK;
}

/* What was signed: a file, or bytes in memory when path is NULL. */
typedef struct {
    const char *path;
    const unsigned char *data;
    size_t len;
} content;

/* Signed attributes and the content's digest. */
static csign_rc check_content(CMS_SignerInfo *si, const content *c, verify_result *r)
{
    X509_ALGOR *dig = NULL, *sig = NULL;
    csign_rc rc = CSIGN_OK;
    digest_result d;

    if (CMS_signed_get_attr_count(si) <= 0)
        return NO("the signature has no signed attributes");
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
    int nid = OBJ_obj2nid(dig->algorithm);
    if (!algs_strong_digest(nid))
        return NO("digest algorithm %s is not allowed (SHA-256, SHA-384, SHA-512 only)",
                  nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
    if (!algs_strong_signature(sig))
        return NO("signature algorithm %s is not allowed",
                  OBJ_obj2nid(sig->algorithm) == NID_undef
                      ? "(unknown)"
                      : OBJ_nid2sn(OBJ_obj2nid(sig->algorithm)));
    r->digest = digest_name(EVP_get_digestbynid(nid));
    ASN1_TYPE *ct = NULL, *md = NULL, *st = NULL;
    if ((rc = cms_signed_attr(si, NID_pkcs9_contentType, V_ASN1_ANY, true,
                              "signed attribute contentType", &ct)) != CSIGN_OK)
        return rc;
    if (ct->type != V_ASN1_OBJECT || OBJ_obj2nid(ct->value.object) != NID_pkcs7_data)
        return NO("signed attribute contentType is not id-data");
    if ((rc = cms_signed_attr(si, NID_pkcs9_messageDigest, V_ASN1_ANY, true,
                              "signed attribute messageDigest", &md)) != CSIGN_OK)
        return rc;
    if (md->type != V_ASN1_OCTET_STRING)
        return NO("signed attribute messageDigest is not an OCTET STRING");
    const EVP_MD *alg = EVP_get_digestbynid(nid);
    rc = c->path ? digest_path(c->path, alg, &d) : digest_buffer(c->data, c->len, alg, &d);
    if (rc != CSIGN_OK)
        return rc == CSIGN_EINPUT ? NO("%s", err_msg()) : rc;
    if ((unsigned)ASN1_STRING_length(md->value.octet_string) != d.len ||
        CRYPTO_memcmp(ASN1_STRING_get0_data(md->value.octet_string), d.value, d.len) != 0)
        return NO("content does not match the signature");
    if ((rc = cms_signed_attr(si, NID_pkcs9_signingTime, V_ASN1_ANY, false,
                              "signed attribute signingTime", &st)) != CSIGN_OK)
        return rc;
    struct tm tm;
    if (st != NULL && ((st->type != V_ASN1_UTCTIME && st->type != V_ASN1_GENERALIZEDTIME) ||
                       ASN1_TIME_to_tm((ASN1_TIME *)st->value.asn1_string, &tm) != 1))
        return NO("signed attribute signingTime is malformed");
    if (st != NULL)
        strftime(r->signing_time, sizeof(r->signing_time), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int unsigned_attrs = CMS_unsigned_get_attr_count(si);
    if (unsigned_attrs > 0 &&
        (unsigned_attrs != 1 ||
         CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) != 0))
        return NO("the signature has unsigned attributes other than one timestamp");
    if (unsigned_attrs == 1) {
        X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, 0);
        ASN1_TYPE *t = X509_ATTRIBUTE_count(a) == 1 ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
        if (t == NULL || t->type != V_ASN1_SEQUENCE)
            return NO("the timestamp attribute must hold exactly one token");
    }
    return CSIGN_OK;
}

/* signingCertificateV2 (and v1), when present, must name the signer first;
 * further ids (RFC 5035 allows the chain) must name certificates the
 * signature or --untrusted holds. */
static csign_rc check_signing_cert(CMS_SignerInfo *si, X509 *signer, STACK_OF(X509) * certs)
{
    ASN1_STRING *v1 = NULL, *v2 = NULL;
    ESS_SIGNING_CERT_V2 *ss2 = NULL;
    ESS_SIGNING_CERT *ss1 = NULL;
    STACK_OF(X509) *pool = NULL;
    csign_rc rc = CSIGN_OK;

    /* Present means: exactly one value, a SEQUENCE; anything else is
     * refused, not skipped. */
    ASN1_TYPE *t1 = NULL, *t2 = NULL;
    if ((rc = cms_signed_attr(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, false,
                              "signed attribute signingCertificateV2", &t2)) != CSIGN_OK ||
        (rc = cms_signed_attr(si, NID_id_smime_aa_signingCertificate, V_ASN1_SEQUENCE, false,
                              "signed attribute signingCertificate", &t1)) != CSIGN_OK)
        return rc;
    v1 = t1 ? t1->value.sequence : NULL;
    v2 = t2 ? t2->value.sequence : NULL;
    /* The signer first: OpenSSL requires the first id to name the first
     * certificate, and no other id to name it. */
    pool = sk_X509_new_null();
    if (pool == NULL || !sk_X509_push(pool, signer))
        rc = err_oom();
    for (int i = 0; rc == CSIGN_OK && i < sk_X509_num(certs); i++)
        if (!sk_X509_push(pool, sk_X509_value(certs, i)))
            rc = err_oom();

    if (rc == CSIGN_OK && v2 != NULL) {
        const unsigned char *p = ASN1_STRING_get0_data(v2);
        ss2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, ASN1_STRING_length(v2));
        if (ss2 == NULL)
            rc = NO("signed attribute signingCertificateV2 is malformed");
    }
    if (rc == CSIGN_OK && v1 != NULL) {
        const unsigned char *p = ASN1_STRING_get0_data(v1);
        ss1 = d2i_ESS_SIGNING_CERT(NULL, &p, ASN1_STRING_length(v1));
        if (ss1 == NULL)
            rc = NO("signed attribute signingCertificate is malformed");
    }
    if (rc == CSIGN_OK && (ss1 != NULL || ss2 != NULL) &&
        OSSL_ESS_check_signing_certs(ss1, ss2, pool, 0) != 1)
        rc = NO("signingCertificateV2 does not match the signer certificate");
    ERR_clear_error();
    sk_X509_free(pool);
    ESS_SIGNING_CERT_V2_free(ss2);
    ESS_SIGNING_CERT_free(ss1);
    return rc;
}

/* The timestamp, if any: when trusted, *at becomes its time. */
static csign_rc check_timestamp(const verify_policy *p, CMS_SignerInfo *si,
                                STACK_OF(X509) * untrusted, verify_result *r, time_t *at)
{
    int i = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
    tsa_info info;

    *at = p->at;
    if (i < 0) {
        r->timestamp = "absent";
        return p->require_timestamp ? NO("the signature has no timestamp (--require-timestamp)")
                                    : CSIGN_OK;
    }
    ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(si, i), 0);
    ASN1_OCTET_STRING *value = CMS_SignerInfo_get0_signature(si);
    tsa_expect e = {.trust = p->tsa_trust,
                    .untrusted = untrusted,
                    .crls = p->crls,
                    .require_crl = p->require_crl};
    csign_rc rc = tsa_check_token(
        ASN1_STRING_get0_data(t->value.sequence), (size_t)ASN1_STRING_length(t->value.sequence),
        ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value), &e, &info);
    if (rc != CSIGN_OK)
        return rc;
    snprintf(r->timestamp_time, sizeof(r->timestamp_time), "%s", info.gen_time_text);
    r->tsa_subject = info.tsa_subject;
    r->timestamp_digest = info.digest;
    /* A few minutes of clock skew, no more. */
    if (info.gen_time > time(NULL) + 300)
        return NO("the timestamp's time %s is in the future", info.gen_time_text);
    if (p->tsa_trust == NULL) {
        r->timestamp = "untrusted";
        return p->require_timestamp ? NO("the timestamp is not trusted: no --tsa-trust "
                                         "(--require-timestamp)")
                                    : CSIGN_OK;
    }
    r->timestamp = "valid";
    *at = info.gen_time;
    return CSIGN_OK;
}

static csign_rc check_key(const verify_policy *p, X509 *signer)
{
    EVP_PKEY *pk = X509_get0_pubkey(signer);

    if (pk != NULL && EVP_PKEY_is_a(pk, "RSA")) {
        if (EVP_PKEY_get_bits(pk) < p->min_rsa_bits)
            return NO("signer RSA key has %d bits, fewer than %d", EVP_PKEY_get_bits(pk),
                      p->min_rsa_bits);
        return CSIGN_OK;
    }
    if (pk != NULL && EVP_PKEY_is_a(pk, "EC")) {
        char group[64] = "";
        size_t glen = 0;
        EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen);
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0 ||
            strcmp(group, "secp521r1") == 0)
            return CSIGN_OK;
        return NO("signer EC key is on curve %s; only P-256, P-384 and P-521 are allowed",
                  group[0] ? group : "(unknown)");
    }
    return NO("signer key is neither RSA nor EC");
}

static void describe(X509 *signer, verify_result *r)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(signer), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;

    r->subject = cert_subject(signer);
    r->issuer = cert_name_text(X509_get_issuer_name(signer));
    snprintf(r->serial, sizeof(r->serial), "%s", hex ? hex : "");
    cert_fingerprint(signer, r->sha256);
    OPENSSL_free(hex);
    BN_free(bn);
}

/* --expect-signer and --expect-subject: any one value of each may match. */
static csign_rc check_expected(const verify_policy *p, X509 *signer, const verify_result *r)
{
    unsigned char fp[32];
    unsigned int n = 0;
    bool found = false;

    if (p->nexpect_sha256 > 0 && (X509_digest(signer, EVP_sha256(), fp, &n) != 1 || n != 32))
        return err_set_ssl(CSIGN_EINTERNAL, "cannot compute the signer's fingerprint");
    for (int i = 0; !found && i < p->nexpect_sha256; i++)
        found = memcmp(fp, p->expect_sha256[i], 32) == 0;
    if (p->nexpect_sha256 > 0 && !found)
        return NO("signer is not the expected certificate (--expect-signer): its fingerprint "
                  "SHA256:%s %s %d given",
                  r->sha256, p->nexpect_sha256 == 1 ? "is not the" : "is none of the",
                  p->nexpect_sha256);
    found = false;
    for (int i = 0; !found && i < p->nexpect_subject; i++)
        found = X509_NAME_cmp(X509_get_subject_name(signer), p->expect_subject[i]) == 0;
    if (p->nexpect_subject > 0 && !found)
        return NO("signer subject is not the expected one (--expect-subject): '%s' %s %d "
                  "given",
                  r->subject ? r->subject : "",
                  p->nexpect_subject == 1 ? "is not the" : "is none of the", p->nexpect_subject);
    return CSIGN_OK;
}

static csign_rc verify_content(const verify_policy *p, const unsigned char *sig, size_t len,
                               const content *c, verify_result *r)
{
    CMS_ContentInfo *cms = NULL;
    CMS_SignerInfo *si = NULL;
    STACK_OF(X509) *certs = NULL;
    X509 *signer = NULL;
    csign_rc rc = parse(sig, len, &cms);

    memset(r, 0, sizeof(*r));
    if (rc == CSIGN_OK)
        rc = check_structure(cms, &si);
    if (rc == CSIGN_OK)
        rc = check_content(si, c, r);
    if (rc == CSIGN_OK) {
        certs = CMS_get1_certs(cms);
        if (certs == NULL)
            certs = sk_X509_new_null();
        for (int i = 0; certs && p->untrusted && i < sk_X509_num(p->untrusted); i++)
            if (X509_add_cert(certs, sk_X509_value(p->untrusted, i), X509_ADD_FLAG_UP_REF) != 1)
                rc = err_oom();
        if (certs == NULL)
            rc = err_oom();
    }
    if (rc == CSIGN_OK && (signer = cms_find_signer(si, certs)) == NULL)
        rc = NO("signer certificate not found in the signature or --untrusted");
    if (rc == CSIGN_OK) {
        describe(signer, r);
        rc = cms_check_signature_alg(si, X509_get0_pubkey(signer));
    }
    if (rc == CSIGN_OK) {
        CMS_SignerInfo_set1_signer_cert(si, signer);
        if (CMS_SignerInfo_verify(si) != 1)
            rc = NO("the signature does not verify with the signer certificate's key");
        ERR_clear_error();
    }
    if (rc == CSIGN_OK)
        rc = check_signing_cert(si, signer, certs);
    if (rc == CSIGN_OK)
        rc = check_key(p, signer);
    time_t at = p->at;
    STACK_OF(X509) *chain = NULL;
    if (rc == CSIGN_OK)
        rc = check_timestamp(p, si, certs, r, &at);
    if (rc == CSIGN_OK)
        rc = check_policy(p, si, signer, at, r);
    if (rc == CSIGN_OK) {
        struct tm tm;
        if (gmtime_r(&at, &tm) != NULL)
            strftime(r->judged_at, sizeof(r->judged_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
        rc = cert_verify_chain(signer, p->trust, certs, at, 0, XKU_CODE_SIGN, "signer", &chain);
        if (rc == CSIGN_ENO)
            rc = untrusted_explain(p, signer, certs, rc);
    }
    if (rc == CSIGN_OK && (rc = cert_check_code_signing(signer, NULL, at)) != CSIGN_OK)
        rc = NO("%s", err_msg());
    if (rc == CSIGN_OK && (p->crls != NULL || p->require_crl))
        rc = revoke_check(chain, p->crls,
                          r->timestamp && strcmp(r->timestamp, "valid") == 0 ? at : 0,
                          p->require_crl, &r->revocation);
    sk_X509_pop_free(chain, X509_free);
    if (rc == CSIGN_OK)
        rc = check_expected(p, signer, r);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}

csign_rc verify_detached(const verify_policy *p, const unsigned char *sig, size_t len,
                         const char *content_path, verify_result *r)
{
    content c = {content_path, NULL, 0};
    return verify_content(p, sig, len, &c, r);
}

csign_rc verify_detached_data(const verify_policy *p, const unsigned char *sig, size_t len,
                              const unsigned char *data, size_t data_len, verify_result *r)
{
    content c = {NULL, data, data_len};
    return verify_content(p, sig, len, &c, r);
}
