/* SPDX-License-Identifier: Apache-2.0 */
#include "core/cms.h"

/* pem.h first: cms.h declares its PEM functions only after it. */
#include <openssl/pem.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

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

/*
 * The RSASSA-PSS AlgorithmIdentifier for digest md, MGF1 with md and a salt
 * as long as the digest, which is what the signature was made with.
 * OpenSSL 3.0 writes empty parameters for keys whose RSA operation is not
 * its own (as token keys are), so csign writes them itself.
 */
static int set_pss_params(CMS_SignerInfo *si, const EVP_MD *md)
{
    X509_ALGOR *alg = NULL, *mgf_md = X509_ALGOR_new();
    RSA_PSS_PARAMS *pp = RSA_PSS_PARAMS_new();
    ASN1_STRING *mgf = NULL, *params = NULL;
    int ok = 0;

    CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &alg);
    if (alg == NULL || mgf_md == NULL || pp == NULL)
        goto out;
    X509_ALGOR_set_md(mgf_md, md);
    pp->hashAlgorithm = X509_ALGOR_new();
    pp->maskGenAlgorithm = X509_ALGOR_new();
    pp->saltLength = ASN1_INTEGER_new();
    mgf = ASN1_item_pack(mgf_md, ASN1_ITEM_rptr(X509_ALGOR), NULL);
    if (pp->hashAlgorithm == NULL || pp->maskGenAlgorithm == NULL || pp->saltLength == NULL ||
        mgf == NULL || !ASN1_INTEGER_set(pp->saltLength, EVP_MD_get_size(md)))
        goto out;
    X509_ALGOR_set_md(pp->hashAlgorithm, md);
    if (!X509_ALGOR_set0(pp->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, mgf))
        goto out;
    mgf = NULL;
    params = ASN1_item_pack(pp, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
    if (params == NULL ||
        !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, params))
        goto out;
    params = NULL;
    ok = 1;
out:
    ASN1_STRING_free(params);
    ASN1_STRING_free(mgf);
    RSA_PSS_PARAMS_free(pp);
    X509_ALGOR_free(mgf_md);
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
 * Verifies the new SignerInfo with the certificate's public key (not with
 * the key that signed, which may be the token's): a token that returns a
 * wrong signature must not produce a file. The SignerInfo in memory is
 * what gets encoded; reading the encoding back would only add the cost of
 * decoding every certificate again.
 */
static csign_rc check_own(CMS_SignerInfo *si, X509 *cert)
{
    csign_rc rc = CSIGN_OK;

    CMS_SignerInfo_set1_signer_cert(si, cert);
    if (CMS_SignerInfo_verify(si) != 1)
        rc = err_set(CSIGN_EINPUT, "the new signature does not verify with the certificate's "
                                   "key; the token signed wrongly");
    ERR_clear_error();
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
    si = CMS_add1_signer(cms, s->cert, s->key, d->md,
                         CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP | (s->pss ? CMS_KEY_PARAM : 0));
    if (si == NULL) {
        rc = err_set_ssl(CSIGN_EINPUT, "cannot use this key and certificate to sign");
        goto out;
    }
    if (s->pss) {
        EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);
        if (pctx == NULL || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, d->md) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0) {
            rc = err_set_ssl(CSIGN_EINPUT, "cannot set up RSASSA-PSS");
            goto out;
        }
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
    err_clear();
    if (CMS_SignerInfo_sign(si) != 1) {
        rc = err_wrap_ssl(CSIGN_ETOKEN, "the token could not sign");
        goto out;
    }
    if (s->pss && !set_pss_params(si, d->md)) {
        rc = err_set_ssl(CSIGN_EINTERNAL, "cannot describe the RSASSA-PSS parameters");
        goto out;
    }
    rc = check_own(si, s->cert);
    if (rc == CSIGN_OK)
        rc = encode(cms, pem, der, len);
out:
    CMS_ContentInfo_free(cms);
    return rc;
}

csign_rc cms_add_timestamp(const unsigned char *sig, size_t len, cms_stamp_fn fn, void *ctx,
                           unsigned char **out, size_t *out_len)
{
    bool pem = len >= 10 && memcmp(sig, "-----BEGIN", 10) == 0;
    BIO *b = BIO_new_mem_buf(sig, (int)len);
    const unsigned char *p = sig;
    CMS_ContentInfo *cms = NULL;
    unsigned char *token = NULL;
    size_t token_len = 0;
    csign_rc rc = CSIGN_OK;

    if (b == NULL)
        return err_oom();
    cms = pem ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : d2i_CMS_ContentInfo(NULL, &p, (long)len);
    STACK_OF(CMS_SignerInfo) *sis = cms ? CMS_get0_SignerInfos(cms) : NULL;
    CMS_SignerInfo *si = sk_CMS_SignerInfo_num(sis) == 1 ? sk_CMS_SignerInfo_value(sis, 0) : NULL;
    if (cms == NULL || (!pem && p != sig + len))
        rc = err_set(CSIGN_EINPUT, "not a CMS signature");
    else if (si == NULL)
        rc = err_set(CSIGN_EINPUT, "the signature has %d signers, not one",
                     sk_CMS_SignerInfo_num(sis));
    else if (CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) >= 0)
        rc = err_set(CSIGN_EINPUT, "the signature has a timestamp already");
    if (rc == CSIGN_OK) {
        ASN1_OCTET_STRING *value = CMS_SignerInfo_get0_signature(si);
        rc = fn(ctx, ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value), &token,
                &token_len);
    }
    if (rc == CSIGN_OK && !CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken,
                                                         V_ASN1_SEQUENCE, token, (int)token_len))
        rc = err_set_ssl(CSIGN_EINTERNAL, "cannot add the timestamp");
    if (rc == CSIGN_OK)
        rc = encode(cms, pem, out, out_len);
    OPENSSL_free(token);
    CMS_ContentInfo_free(cms);
    BIO_free(b);
    ERR_clear_error();
    return rc;
}
