/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The EVP_PKEY_METHOD of token-backed RSA keys: what the token is given to
 * sign.
 *
 * A token signs with RSA in one of two ways. Either csign hashes and the
 * token signs the hash (CKM_RSA_PKCS over the DigestInfo; CKM_RSA_PKCS_PSS;
 * CKM_RSA_X_509 after OpenSSL's PSS padding), or the token takes the whole
 * message and hashes it itself (CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS,
 * ...). Some tokens do only the second well: tpm2-pkcs11 performs the
 * first kind as a raw RSA decryption, which a TPM refuses for a key that
 * may only sign. SoftHSM and several network HSM libraries offer both.
 * hsm_sig_check() chooses a hashing mechanism when the token offers one
 * for the signature and digest in use.
 *
 * The message is what EVP_DigestSign* is given: the DER of a CMS
 * signature's signed attributes, the to-be-signed part of a certificate
 * or request; a few hundred bytes to a few kilobytes. OpenSSL's CMS code
 * passes it with EVP_DigestSignUpdate and EVP_DigestSignFinal, the X.509
 * code with EVP_DigestSign, so the method hooks in where both meet: its
 * signctx_init marks the EVP_MD_CTX EVP_MD_CTX_FLAG_NO_INIT (no hashing)
 * and gives it an update function that collects the message, and its
 * signctx signs the message with the hashing mechanism, or hashes it and
 * signs the hash as before.
 *
 * OpenSSL's RSA method allows RSASSA-PSS padding only on contexts set up
 * for EVP_PKEY_sign or EVP_PKEY_verify, not on those EVP_DigestSignInit
 * sets up with a signctx_init. So such a context (its app data: struct
 * msg_ctx) passes every ctrl on to a second context on the same key set
 * up for EVP_PKEY_sign, which holds padding, digest, MGF1 digest and salt
 * length for both ways and makes the hash-based signature.
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
static int rsa_index = -1; /* RSA ex_data: the sign_ref of a token-backed key */
static int (*std_sign)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
static int (*std_ctrl)(EVP_PKEY_CTX *, int, int, void *);
static int (*std_copy)(EVP_PKEY_CTX *, const EVP_PKEY_CTX *);
static void (*std_cleanup)(EVP_PKEY_CTX *);

/* A context set up by EVP_DigestSignInit: the message so far and the
 * context that holds the RSA parameters. */
typedef struct {
    EVP_PKEY_CTX *params; /* set up for EVP_PKEY_sign on the same key */
    unsigned char *msg;
    size_t len, room;
} msg_ctx;

static void msg_ctx_free(msg_ctx *m)
{
    if (m == NULL)
        return;
    EVP_PKEY_CTX_free(m->params);
    free(m->msg);
    free(m);
}

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

/* The update function of an EVP_MD_CTX that signctx_init set up. */
static int collect(EVP_MD_CTX *mctx, const void *data, size_t count)
{
    EVP_PKEY_CTX *ctx = EVP_MD_CTX_get_pkey_ctx(mctx);
    msg_ctx *m = ctx ? EVP_PKEY_CTX_get_app_data(ctx) : NULL;

    if (m == NULL || count > SIZE_MAX / 2 - m->len)
        return 0;
    if (m->len + count > m->room) {
        size_t room = m->room ? m->room : 1024;
        while (room < m->len + count)
            room *= 2;
        unsigned char *p = realloc(m->msg, room);
        if (p == NULL)
            return 0;
        m->msg = p;
        m->room = room;
    }
    memcpy(m->msg + m->len, data, count);
    m->len += count;
    return 1;
}

static int rsa_signctx_init(EVP_PKEY_CTX *ctx, EVP_MD_CTX *mctx)
{
    msg_ctx *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return 0;
    m->params = EVP_PKEY_CTX_new(EVP_PKEY_CTX_get0_pkey(ctx), NULL);
    if (m->params == NULL || EVP_PKEY_sign_init(m->params) <= 0) {
        msg_ctx_free(m);
        return 0;
    }
    /* A context can be set up again for another signature. */
    msg_ctx_free(EVP_PKEY_CTX_get_app_data(ctx));
    EVP_PKEY_CTX_set_app_data(ctx, m);
    EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_NO_INIT);
    EVP_MD_CTX_set_update_fn(mctx, collect);
    return 1;
}

/* The hashing mechanism for a signature with md by ctx's parameters, when
 * hsm_sig_check() chose it for the token; false otherwise. */
static bool hashing_mech(sign_ref *r, EVP_PKEY_CTX *params, const EVP_MD *md, CK_MECHANISM *m,
                         CK_RSA_PKCS_PSS_PARAMS *pp)
{
    int pad = 0;
    bool pss;

    if (r == NULL || !r->h->mech_hashed || EVP_PKEY_CTX_get_rsa_padding(params, &pad) <= 0 ||
        (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING))
        return false;
    pss = pad == RSA_PKCS1_PSS_PADDING;
    if (!hsm_rsa_hashing_mech(EVP_MD_get_type(md), pss, &m->mechanism) ||
        m->mechanism != r->h->mech_hash || (pss && !pss_params(params, md, pp)))
        return false;
    m->pParameter = pss ? pp : NULL;
    m->ulParameterLen = pss ? sizeof(*pp) : 0;
    return true;
}

/* 1 or 0, never negative: OpenSSL's X.509 code takes any other value of
 * EVP_DigestSign for success. */
static int rsa_signctx(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen, EVP_MD_CTX *mctx)
{
    msg_ctx *m = EVP_PKEY_CTX_get_app_data(ctx);
    const EVP_MD *md = EVP_MD_CTX_get0_md(mctx);
    size_t size = (size_t)EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(ctx));
    sign_ref *r = ctx_ref(ctx);
    CK_RSA_PKCS_PSS_PARAMS pp;
    CK_MECHANISM mech;
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    CK_ULONG len = (CK_ULONG)size;

    if (m == NULL || md == NULL)
        return 0;
    if (sig == NULL) {
        *siglen = size;
        return 1;
    }
    if (*siglen < size)
        return 0;
    if (hashing_mech(r, m->params, md, &mech, &pp)) {
        CK_RV rv = hsm_token_sign(r, &mech, m->msg, m->len, sig, &len);
        if (rv == CKR_OK) {
            *siglen = len;
            return 1;
        }
        /* A token may list a hashing mechanism that it, or a p11-kit
         * server between, then refuses: the hash is made here instead and
         * the token signs it as it would without that mechanism. */
        if (rv != CKR_MECHANISM_INVALID && rv != CKR_MECHANISM_PARAM_INVALID)
            return 0;
    }
    return EVP_Digest(m->msg, m->len, hash, &hlen, md, NULL) == 1 &&
           EVP_PKEY_sign(m->params, sig, siglen, hash, hlen) > 0;
}

/* A context set up by EVP_DigestSignInit keeps its parameters in its
 * second context; others keep them themselves. */
static int rsa_ctrl(EVP_PKEY_CTX *ctx, int type, int p1, void *p2)
{
    msg_ctx *m = EVP_PKEY_CTX_get_app_data(ctx);
    return std_ctrl(m != NULL ? m->params : ctx, type, p1, p2);
}

/* EVP_PKEY_CTX_dup (OpenSSL copies a signing context to finish it). */
static int rsa_copy(EVP_PKEY_CTX *dst, const EVP_PKEY_CTX *src)
{
    const msg_ctx *s = EVP_PKEY_CTX_get_app_data((EVP_PKEY_CTX *)src);
    msg_ctx *d = NULL;

    /* Never two contexts with one msg_ctx, even when this fails. */
    EVP_PKEY_CTX_set_app_data(dst, NULL);
    if (std_copy(dst, src) <= 0)
        return 0;
    if (s == NULL)
        return 1;
    d = calloc(1, sizeof(*d));
    if (d == NULL || (d->params = EVP_PKEY_CTX_dup(s->params)) == NULL ||
        (s->len > 0 && (d->msg = malloc(s->len)) == NULL)) {
        msg_ctx_free(d);
        return 0;
    }
    if (s->len > 0)
        memcpy(d->msg, s->msg, s->len);
    d->len = d->room = s->len;
    EVP_PKEY_CTX_set_app_data(dst, d);
    return 1;
}

static void rsa_cleanup(EVP_PKEY_CTX *ctx)
{
    msg_ctx_free(EVP_PKEY_CTX_get_app_data(ctx));
    EVP_PKEY_CTX_set_app_data(ctx, NULL);
    std_cleanup(ctx);
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

sign_ref *hsm_rsa_ref(const RSA *rsa)
{
    return rsa == NULL || rsa_index < 0 ? NULL : RSA_get_ex_data(rsa, rsa_index);
}

bool hsm_rsa_attach(RSA *rsa, sign_ref *r)
{
    return hsm_rsa_engine() != NULL && RSA_set_ex_data(rsa, rsa_index, r) == 1;
}

ENGINE *hsm_rsa_engine(void)
{
    const EVP_PKEY_METHOD *std = EVP_PKEY_meth_find(EVP_PKEY_RSA);
    int (*sign_init)(EVP_PKEY_CTX *) = NULL;
    int (*ctrl_str)(EVP_PKEY_CTX *, const char *, const char *) = NULL;

    if (rsa_engine != NULL)
        return rsa_engine;
    if (rsa_index < 0 && (rsa_index = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0)
        return NULL;
    rsa_pmeth = rsa_pmeth ? rsa_pmeth : EVP_PKEY_meth_new(EVP_PKEY_RSA, EVP_PKEY_FLAG_AUTOARGLEN);
    if (std == NULL || rsa_pmeth == NULL)
        return NULL;
    EVP_PKEY_meth_copy(rsa_pmeth, std);
    EVP_PKEY_meth_get_sign(std, &sign_init, &std_sign);
    EVP_PKEY_meth_get_ctrl(std, &std_ctrl, &ctrl_str);
    EVP_PKEY_meth_get_copy(std, &std_copy);
    EVP_PKEY_meth_get_cleanup(std, &std_cleanup);
    if (std_sign == NULL || std_ctrl == NULL || std_copy == NULL || std_cleanup == NULL)
        return NULL;
    EVP_PKEY_meth_set_sign(rsa_pmeth, sign_init, rsa_pkey_sign);
    EVP_PKEY_meth_set_signctx(rsa_pmeth, rsa_signctx_init, rsa_signctx);
    EVP_PKEY_meth_set_ctrl(rsa_pmeth, rsa_ctrl, ctrl_str);
    EVP_PKEY_meth_set_copy(rsa_pmeth, rsa_copy);
    EVP_PKEY_meth_set_cleanup(rsa_pmeth, rsa_cleanup);

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
