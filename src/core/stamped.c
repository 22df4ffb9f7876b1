/* SPDX-License-Identifier: Apache-2.0 */
#include "core/stamped.h"

/* pem.h first: cms.h declares its PEM functions only after it. */
#include <openssl/pem.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <string.h>

/* The one SignerInfo of sig, parsed into *cms. */
static csign_rc open_sig(const unsigned char *sig, size_t len, bool *pem, CMS_ContentInfo **cms,
                         CMS_SignerInfo **si)
{
    const unsigned char *p = sig;
    BIO *b;

    *pem = len >= 10 && memcmp(sig, "-----BEGIN", 10) == 0;
    *si = NULL;
    b = BIO_new_mem_buf(sig, (int)len);
    if (b == NULL)
        return err_oom();
    *cms = *pem ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : d2i_CMS_ContentInfo(NULL, &p, (long)len);
    BIO_free(b);
    ERR_clear_error();
    if (*cms == NULL || (!*pem && p != sig + len))
        return err_set(CSIGN_EINPUT, "not a CMS signature");
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(*cms);
    if (sk_CMS_SignerInfo_num(sis) != 1)
        return err_set(CSIGN_EINPUT, "the signature has %d signers, not one",
                       sk_CMS_SignerInfo_num(sis));
    *si = sk_CMS_SignerInfo_value(sis, 0);
    return CSIGN_OK;
}

csign_rc stamped_read(const unsigned char *sig, size_t len, bool *present, tsa_info *info)
{
    CMS_ContentInfo *cms = NULL;
    CMS_SignerInfo *si = NULL;
    bool pem;
    csign_rc rc = open_sig(sig, len, &pem, &cms, &si);

    *present = false;
    memset(info, 0, sizeof(*info));
    int i =
        rc == CSIGN_OK ? CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) : -1;
    if (i >= 0) {
        *present = true;
        ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(si, i), 0);
        ASN1_OCTET_STRING *value = CMS_SignerInfo_get0_signature(si);
        tsa_expect e;
        memset(&e, 0, sizeof(e));
        if (t == NULL || t->type != V_ASN1_SEQUENCE)
            rc = err_set(CSIGN_EINPUT, "the signature's timestamp is malformed");
        else
            rc = tsa_check_token(ASN1_STRING_get0_data(t->value.sequence),
                                 (size_t)ASN1_STRING_length(t->value.sequence),
                                 ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value),
                                 &e, info);
    }
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}

csign_rc stamped_strip(const unsigned char *sig, size_t len, unsigned char **out, size_t *out_len)
{
    CMS_ContentInfo *cms = NULL;
    CMS_SignerInfo *si = NULL;
    bool pem;
    csign_rc rc = open_sig(sig, len, &pem, &cms, &si);
    BIO *b = NULL;

    *out = NULL;
    *out_len = 0;
    for (int i; rc == CSIGN_OK &&
                (i = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1)) >= 0;)
        X509_ATTRIBUTE_free(CMS_unsigned_delete_attr(si, i));
    if (rc == CSIGN_OK) {
        b = BIO_new(BIO_s_mem());
        if (b == NULL || (pem ? PEM_write_bio_CMS(b, cms) : i2d_CMS_bio(b, cms)) != 1)
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot encode the signature");
    }
    if (rc == CSIGN_OK) {
        char *data = NULL;
        long n = BIO_get_mem_data(b, &data);
        *out = OPENSSL_memdup(data, (size_t)n);
        *out_len = (size_t)n;
        if (*out == NULL)
            rc = err_oom();
    }
    BIO_free(b);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}
