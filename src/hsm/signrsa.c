/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The EVP_PKEY_METHOD of token-backed RSA keys: OpenSSL's own, but for
 * RSASSA-PSS, which goes to the token's CKM_RSA_PKCS_PSS when it offers it.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#define _GNU_SOURCE
#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static EVP_PKEY_METHOD *rsa_pmeth;
static ENGINE *rsa_engine;
static int (*std_sign)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);

/* The token key of a context, or NULL. */
static sign_ref *ctx_ref(EVP_PKEY_CTX *ctx)
{
    EVP_PKEY *pk = EVP_PKEY_CTX_get0_pkey(ctx);
    return pk ? hsm_rsa_ref(EVP_PKEY_get0_RSA(pk)) : NULL;
}

/*
 * The RSASSA-PSS parameters of ctx for the token, for a signature with
 * digest md: MGF1 with md (the only kind csign makes), the salt length as
 * set (RSA_PSS_SALTLEN_DIGEST: the digest's length). False for what a
 * token cannot be asked for.
 */
static bool pss_params(EVP_PKEY_CTX *ctx, const EVP_MD *md, CK_RSA_PKCS_PSS_PARAMS *pp)
{
    const EVP_MD *mgf1 = NULL;
    int salt = 0;

    if (EVP_PKEY_CTX_get_rsa_mgf1_md(ctx, &mgf1) <= 0 ||
        EVP_PKEY_CTX_get_rsa_pss_saltlen(ctx, &salt) <= 0 || mgf1 == NULL ||
        EVP_MD_get_type(md) != EVP_MD_get_type(mgf1))
        return false;
    switch (EVP_MD_get_type(md)) {
    case NID_sha256:
        pp->hashAlg = CKM_SHA256, pp->mgf = CKG_MGF1_SHA256;
        break;
    case NID_sha384:
        pp->hashAlg = CKM_SHA384, pp->mgf = CKG_MGF1_SHA384;
        break;
    case NID_sha512:
        pp->hashAlg = CKM_SHA512, pp->mgf = CKG_MGF1_SHA512;
        break;
    default:
        return false;
    }
    if (salt == RSA_PSS_SALTLEN_DIGEST)
        salt = EVP_MD_get_size(md);
    if (salt < 0)
        return false;
    pp->sLen = (CK_ULONG)salt;
    return true;
}

/*
 * EVP_PKEY_sign: the token signs a hash. OpenSSL pads RSASSA-PSS itself
 * and leaves only the raw operation to the RSA_METHOD; when the token
 * offers CKM_RSA_PKCS_PSS the digest goes to the token instead, with the
 * parameters OpenSSL was given. Everything else takes OpenSSL's own way
 * (and reaches the token through the RSA_METHOD).
 */
static int rsa_pkey_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
                         const unsigned char *tbs, size_t tbslen)
{
    sign_ref *r = ctx_ref(ctx);
    const EVP_MD *md = NULL;
    int pad = 0;
    CK_RSA_PKCS_PSS_PARAMS pp;
    CK_MECHANISM m = {CKM_RSA_PKCS_PSS, &pp, sizeof(pp)};
    CK_ULONG len;

    if (r == NULL || !r->h->mech_pss || EVP_PKEY_CTX_get_rsa_padding(ctx, &pad) <= 0 ||
        pad != RSA_PKCS1_PSS_PADDING)
        return std_sign(ctx, sig, siglen, tbs, tbslen);
    if (EVP_PKEY_CTX_get_signature_md(ctx, &md) <= 0 || md == NULL || !pss_params(ctx, md, &pp) ||
        tbslen != (size_t)EVP_MD_get_size(md))
        return -1;
    len = (CK_ULONG)EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(ctx));
    if (sig == NULL) {
        *siglen = len;
        return 1;
    }
    if (*siglen < len || hsm_token_sign(r, &m, tbs, tbslen, sig, &len) != CKR_OK)
        return -1;
    *siglen = len;
    return 1;
}

/* Offered by an in-memory ENGINE that only the token-backed keys carry
 * (EVP_PKEY_set1_engine), so that OpenSSL's own RSA keys keep their usual
 * way. */
static int engine_pkey_meths(ENGINE *e, EVP_PKEY_METHOD **pmeth, const int **nids, int nid)
{
    static const int ours[] = {EVP_PKEY_RSA};

    (void)e;
    if (pmeth == NULL) {
        *nids = ours;
        return 1;
    }
    *pmeth = nid == EVP_PKEY_RSA ? rsa_pmeth : NULL;
    return *pmeth != NULL;
}

ENGINE *hsm_rsa_engine(void)
{
    const EVP_PKEY_METHOD *std = EVP_PKEY_meth_find(EVP_PKEY_RSA);
    int (*sign_init)(EVP_PKEY_CTX *) = NULL;

    if (rsa_engine != NULL)
        return rsa_engine;
    rsa_pmeth = rsa_pmeth ? rsa_pmeth : EVP_PKEY_meth_new(EVP_PKEY_RSA, EVP_PKEY_FLAG_AUTOARGLEN);
    if (std == NULL || rsa_pmeth == NULL)
        return NULL;
    EVP_PKEY_meth_copy(rsa_pmeth, std);
    EVP_PKEY_meth_get_sign(std, &sign_init, &std_sign);
    if (std_sign == NULL)
        return NULL;
    EVP_PKEY_meth_set_sign(rsa_pmeth, sign_init, rsa_pkey_sign);

    ENGINE *e = ENGINE_new();
    if (e == NULL || ENGINE_set_id(e, "csign-token") != 1 ||
        ENGINE_set_name(e, "csign token keys") != 1 ||
        ENGINE_set_pkey_meths(e, engine_pkey_meths) != 1 || ENGINE_init(e) != 1) {
        ENGINE_free(e);
        return NULL;
    }
    rsa_engine = e;
    return rsa_engine;
}
