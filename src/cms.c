/* SPDX-License-Identifier: Apache-2.0 */
#include "csign/cms.h"

/* pem.h first: cms.h declares its PEM functions only after it. */
#include <openssl/pem.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>

/* signingCertificateV2 with the SHA-256 hash of cert and its issuer and
 * serial: a verifier can tell which certificate the signer meant. */
static int add_signing_cert(CMS_SignerInfo *si, X509 *cert)
{
    ESS_SIGNING_CERT_V2 *sc = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, NULL, 1);
    unsigned char *der = NULL;
    ASN1_STRING *seq = ASN1_STRING_new();
    int len = sc ? i2d_ESS_SIGNING_CERT_V2(sc, &der) : -1;
    int ok = len > 0 && seq != NULL && ASN1_STRING_set(seq, der, len) &&
             CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE,
                                         seq, -1);

    ASN1_STRING_free(seq);
    OPENSSL_free(der);
    ESS_SIGNING_CERT_V2_free(sc);
    return ok;
}

static int add_attributes(CMS_SignerInfo *si, X509 *cert, const digest_result *d)
{
    ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
    int ok = now != NULL &&
             CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                         OBJ_nid2obj(NID_pkcs7_data), -1) &&
             CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, d->value,
                                         (int)d->len) &&
             CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, now->type, now, -1) &&
             add_signing_cert(si, cert);

    ASN1_TIME_free(now);
    return ok;
}

static csign_rc encode(CMS_ContentInfo *cms, bool pem, unsigned char **out, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;

    if (b == NULL || (pem ? PEM_write_bio_CMS(b, cms) : i2d_CMS_bio(b, cms)) != 1) {
        BIO_free(b);
        return err_set_ssl(CSIGN_EINTERNAL, "cannot encode the signature");
    }
    n = BIO_get_mem_data(b, &data);
    *out = OPENSSL_memdup(data, (size_t)n);
    *len = (size_t)n;
    BIO_free(b);
    return *out ? CSIGN_OK : err_oom();
}

/*
 * Reads the encoded signature back and verifies it with the certificate's
 * public key (not with the key that signed, which may be the token's): a
 * token that returns a wrong signature must not produce a file.
 */
static csign_rc check_own(const unsigned char *data, size_t len, bool pem, X509 *cert)
{
    BIO *b = BIO_new_mem_buf(data, (int)len);
    CMS_ContentInfo *cms = NULL;
    csign_rc rc = err_set(CSIGN_EINPUT, "the new signature does not verify with the "
                                        "certificate's key; the token signed wrongly");

    if (b != NULL)
        cms = pem ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : d2i_CMS_bio(b, NULL);
    STACK_OF(CMS_SignerInfo) *sis = cms ? CMS_get0_SignerInfos(cms) : NULL;
    if (sis != NULL && sk_CMS_SignerInfo_num(sis) == 1) {
        CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
        CMS_SignerInfo_set1_signer_cert(si, cert);
        if (CMS_SignerInfo_verify(si) == 1)
            rc = CSIGN_OK;
    }
    ERR_clear_error();
    CMS_ContentInfo_free(cms);
    BIO_free(b);
    return rc;
}

csign_rc cms_sign_digest(const cms_signer *s, const digest_result *d, bool pem, unsigned char **der,
                         size_t *len)
{
    unsigned int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
    CMS_SignerInfo *si = NULL;
    csign_rc rc = CSIGN_OK;

    if (cms == NULL)
        return err_set_ssl(CSIGN_EINTERNAL, "cannot start a signature");
    /* CMS_PARTIAL: the signature is made below, after csign's own
     * attributes; CMS_NOSMIMECAP: no S/MIME capabilities list. */
    si = CMS_add1_signer(cms, s->cert, s->key, d->md, CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP);
    if (si == NULL) {
        rc = err_set_ssl(CSIGN_EINPUT, "cannot use this key and certificate to sign");
        goto out;
    }
    for (int i = 0; s->chain != NULL && i < sk_X509_num(s->chain); i++) {
        if (!CMS_add1_cert(cms, sk_X509_value(s->chain, i))) {
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot add the certificate chain");
            goto out;
        }
    }
    if (!add_attributes(si, s->cert, d)) {
        rc = err_set_ssl(CSIGN_EINTERNAL, "cannot add the signed attributes");
        goto out;
    }
    if (CMS_SignerInfo_sign(si) != 1) {
        rc = err_set_ssl(CSIGN_ETOKEN, "the token could not sign");
        goto out;
    }
    rc = encode(cms, pem, der, len);
    if (rc == CSIGN_OK && (rc = check_own(*der, *len, pem, s->cert)) != CSIGN_OK) {
        OPENSSL_free(*der);
        *der = NULL;
    }
out:
    CMS_ContentInfo_free(cms);
    return rc;
}
