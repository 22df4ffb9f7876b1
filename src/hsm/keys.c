/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Key lookup, public keys, key generation and certificate objects. */

/* "uri, uri" of the keys in list, for messages. */
static void key_list(const hsm_key *keys, size_t n, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", keys[i].uri);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static csign_rc copy_key(const hsm_key *src, hsm_key *dst)
{
    *dst = *src;
    dst->label = strdup(src->label);
    dst->uri = strdup(src->uri);
    dst->id = malloc(src->id_len + 1);
    if (dst->label == NULL || dst->uri == NULL || dst->id == NULL) {
        hsm_key_clear(dst);
        return err_oom();
    }
    memcpy(dst->id, src->id, src->id_len);
    return CSIGN_OK;
}

csign_rc hsm_key_find(hsm *h, const hsm_uri *uri, bool need_private, hsm_key *out)
{
    hsm_key *all = NULL, *hits = NULL;
    size_t nall = 0, nhits = 0, nmatch = 0, which = 0;
    char list[2048];
    char *shown = hsm_uri_redact(uri->text);
    csign_rc rc = shown ? hsm_keys(h, uri, &hits, &nhits) : err_oom();

    if (rc != CSIGN_OK)
        goto out;
    for (size_t i = 0; i < nhits; i++) {
        if (hits[i].has_private || !need_private) {
            nmatch++;
            which = i;
        }
    }
    if (nmatch == 1) {
        rc = copy_key(&hits[which], out);
        goto out;
    }
    if (nmatch > 1) {
        key_list(hits, nhits, list, sizeof(list));
        rc = err_set(CSIGN_EUSAGE, "'%s' matches %zu keys; name one with object= and id=: %s",
                     shown, nmatch, list);
        goto out;
    }
    rc = hsm_keys(h, NULL, &all, &nall);
    if (rc != CSIGN_OK)
        goto out;
    key_list(all, nall, list, sizeof(list));
    rc = err_set(CSIGN_ETOKEN, "no %skey matches '%s' on token '%s'%s%s",
                 need_private ? "private " : "", shown, h->token.label,
                 list[0] ? "; keys: " : " (the token holds no keys)", list);
out:
    hsm_keys_free(all, nall);
    hsm_keys_free(hits, nhits);
    free(shown);
    return rc;
}

/*
 * The EC point in CKA_EC_POINT, for a curve of fb-byte field elements: a
 * DER OCTET STRING (the standard) or the raw point (some tokens). Decided
 * by exact length for the curve, not by the first bytes: a raw point
 * 04||X||Y can start like an OCTET STRING header. The wrapper's length
 * bytes are not trusted: tpm2-pkcs11 writes a P-521 point's length 133 in
 * short form (04 85), which is not DER. NULL when it is neither.
 */
static bool raw_point(size_t fb, const unsigned char *v, size_t len)
{
    /* Uncompressed 04||X||Y or compressed 02/03||X. */
    return (len == 1 + 2 * fb && v[0] == 0x04) || (len == 1 + fb && (v[0] == 0x02 || v[0] == 0x03));
}

static const unsigned char *ec_point(const unsigned char *v, size_t len, size_t fb, size_t *plen)
{
    const size_t sizes[2] = {1 + 2 * fb, 1 + fb};

    if (fb == 0)
        return NULL;
    if (raw_point(fb, v, len)) {
        *plen = len;
        return v;
    }
    for (int i = 0; i < 2; i++) {
        size_t n = sizes[i];
        /* An OCTET STRING tag and one to four length bytes before it. */
        if (len > n + 1 && len - n <= 5 && v[0] == 0x04 && raw_point(fb, v + (len - n), n)) {
            *plen = n;
            return v + (len - n);
        }
    }
    return NULL;
}

static csign_rc ec_public(hsm *h, CK_OBJECT_HANDLE o, EVP_PKEY **out)
{
    unsigned char *params = NULL, *point = NULL;
    size_t plen = 0, qlen = 0, len = 0;
    const unsigned char *p;
    ASN1_OBJECT *oid = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *ps = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    csign_rc rc = err_set(CSIGN_ETOKEN, "cannot read the EC public key from the token");

    if (hsm_get_attr(h, o, CKA_EC_PARAMS, &params, &plen) != CKR_OK ||
        hsm_get_attr(h, o, CKA_EC_POINT, &point, &len) != CKR_OK)
        goto out;
    p = params;
    oid = d2i_ASN1_OBJECT(NULL, &p, (long)plen);
    int nid = oid ? OBJ_obj2nid(oid) : NID_undef;
    if (nid == NID_undef) {
        rc = err_set(CSIGN_EINPUT, "the token's key uses an EC curve csign does not know");
        goto out;
    }
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    size_t fb = g ? ((size_t)EC_GROUP_get_degree(g) + 7) / 8 : 0;
    EC_GROUP_free(g);
    const unsigned char *q = ec_point(point, len, fb, &qlen);
    if (q == NULL) {
        rc = err_set(CSIGN_EINPUT, "the token's EC public key is malformed (CKA_EC_POINT)");
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qlen) ||
        (ps = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, ps) <= 0) {
        rc = err_set_ssl(CSIGN_EINPUT, "the token's EC public key is malformed");
        goto out;
    }
    rc = CSIGN_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(ps);
    OSSL_PARAM_BLD_free(bld);
    ASN1_OBJECT_free(oid);
    free(params);
    free(point);
    return rc;
}

static csign_rc rsa_public(hsm *h, CK_OBJECT_HANDLE o, EVP_PKEY **out)
{
    unsigned char *n = NULL, *e = NULL;
    size_t nlen = 0, elen = 0;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *ps = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    csign_rc rc = err_set(CSIGN_ETOKEN, "cannot read the RSA public key from the token");

    if (hsm_get_attr(h, o, CKA_MODULUS, &n, &nlen) != CKR_OK ||
        hsm_get_attr(h, o, CKA_PUBLIC_EXPONENT, &e, &elen) != CKR_OK)
        goto out;
    bn = BN_bin2bn(n, (int)nlen, NULL);
    be = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (bn == NULL || be == NULL || bld == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        (ps = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, ps) <= 0) {
        rc = err_set_ssl(CSIGN_EINPUT, "the token's RSA public key is malformed");
        goto out;
    }
    rc = CSIGN_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(ps);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return rc;
}

/* The public key of the key's certificate, for keys without a public key
 * object (so the certificate is found by CKA_ID alone). */
static csign_rc cert_public(hsm *h, const hsm_key *k, EVP_PKEY **out)
{
    hsm_cert *certs = NULL;
    size_t n = 0;
    csign_rc rc = hsm_certs(h, NULL, &certs, &n);
    const hsm_cert *mine = NULL;

    for (size_t i = 0; rc == CSIGN_OK && mine == NULL && i < n; i++)
        if (hsm_cert_is_keys(&certs[i], k, NULL))
            mine = &certs[i];
    if (rc == CSIGN_OK && mine == NULL)
        rc = err_set(CSIGN_ETOKEN, "key '%s' has neither a public key object nor a certificate",
                     k->label);
    if (rc == CSIGN_OK) {
        const unsigned char *p = mine->der;
        X509 *x = d2i_X509(NULL, &p, (long)mine->der_len);
        *out = x ? X509_get_pubkey(x) : NULL;
        X509_free(x);
        rc = *out ? CSIGN_OK : err_set(CSIGN_EINPUT, "the key's certificate does not parse");
    }
    hsm_certs_free(certs, n);
    return rc;
}

static csign_rc public_once(hsm *h, const hsm_key *k, EVP_PKEY **out)
{
    *out = NULL;
    if (k->pub_handle == 0)
        return cert_public(h, k, out);
    if (k->type == HSM_KEY_EC)
        return ec_public(h, k->pub_handle, out);
    if (k->type == HSM_KEY_RSA)
        return rsa_public(h, k->pub_handle, out);
    return err_set(CSIGN_EINPUT, "key '%s' is neither RSA nor EC", k->label);
}

csign_rc hsm_key_public(hsm *h, const hsm_key *k, EVP_PKEY **out)
{
    unsigned attempt = 0;
    csign_rc rc;

    for (;;) {
        h->read_rv = CKR_OK;
        h->fail_rv = CKR_OK;
        rc = public_once(h, k, out);
        if (rc == CSIGN_OK || rc == CSIGN_EINTERNAL)
            return rc;
        /* A read that failed says more than "cannot read the public key";
         * values that do not make a key are read again too: SoftHSM
         * answers with what it has while another process rewrites the
         * token's files. */
        if (h->read_rv != CKR_OK) {
            hsm_fail(h, "C_GetAttributeValue", h->read_rv);
            if (!hsm_retry(h, &attempt))
                return rc;
        } else if (k->pub_handle == 0 || !hsm_backoff(&attempt)) {
            return rc;
        }
    }
}

csign_rc hsm_object_destroy(hsm *h, unsigned long handle)
{
    CK_RV rv = h->f->C_DestroyObject(h->session, handle);

    if (rv != CKR_OK)
        return err_set(CSIGN_ETOKEN,
                       "cannot delete an object on token '%s': C_DestroyObject failed: %s",
                       h->token.label, hsm_ckr_name(rv));
    return CSIGN_OK;
}

/* ---- Certificate objects ------------------------------------------------- */

csign_rc hsm_cert_store(hsm *h, const unsigned char *der, size_t len, const char *label,
                        const unsigned char *id, size_t id_len, bool authority,
                        unsigned long *handle)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    unsigned char *subject = NULL, *issuer = NULL, *serial = NULL;
    int slen, ilen, nlen;
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_ULONG category = authority ? 2 : 1;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_HANDLE o;
    csign_rc rc = CSIGN_OK;

    if (x == NULL)
        return err_set_ssl(CSIGN_EINPUT, "not a DER certificate");
    slen = i2d_X509_NAME(X509_get_subject_name(x), &subject);
    ilen = i2d_X509_NAME(X509_get_issuer_name(x), &issuer);
    nlen = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &serial);
    if (slen <= 0 || ilen <= 0 || nlen <= 0) {
        rc = err_set_ssl(CSIGN_EINPUT, "cannot encode the certificate's names");
        goto out;
    }
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_CERTIFICATE_CATEGORY, &category, sizeof(category)},
        {CKA_SUBJECT, subject, (CK_ULONG)slen},
        {CKA_ISSUER, issuer, (CK_ULONG)ilen},
        {CKA_SERIAL_NUMBER, serial, (CK_ULONG)nlen},
        {CKA_VALUE, (void *)der, len},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_ID, (void *)id, id_len},
    };
    CK_RV rv = h->f->C_CreateObject(h->session, t, sizeof(t) / sizeof(t[0]), &o);
    if (rv != CKR_OK)
        rc = err_set(CSIGN_ETOKEN,
                     "cannot store the certificate on token '%s': C_CreateObject failed: %s",
                     h->token.label, hsm_ckr_name(rv));
    else if (handle != NULL)
        *handle = o;
out:
    OPENSSL_free(subject);
    OPENSSL_free(issuer);
    OPENSSL_free(serial);
    X509_free(x);
    return rc;
}
