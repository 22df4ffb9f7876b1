/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token-backed EVP_PKEYs: the public key in software, with an RSA or EC
 * method whose private operation is C_Sign on csign's own session.
 *
 * csign does not take keys from libp11, which signs through a session pool
 * of its own: with libp11 0.4.12 a single failed C_OpenSession in that pool
 * (which SoftHSM answers now and then while another process writes the
 * token) leaves the process waiting forever, a failed C_GetInfo makes it
 * finalise the module under csign's session, and every run would have two
 * sessions, not one.
 *
 * The legacy RSA_METHOD and EC_KEY_METHOD interfaces are the ones OpenSSL
 * 3.0 offers for a key whose private half lives elsewhere, short of a
 * provider; they are deprecated, hence OPENSSL_SUPPRESS_DEPRECATED. The
 * EVP_PKEY_METHOD of the RSA keys, which decides what the token is given
 * to sign, is in signrsa.c.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#define _GNU_SOURCE
#include <openssl/ec.h>
#include <openssl/engine.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int ec_index = -1;
static RSA_METHOD *rsa_method;
static EC_KEY_METHOD *ec_method;

static CK_RV token_sign_plain(sign_ref *r, CK_MECHANISM_TYPE mech, const unsigned char *in,
                              size_t inlen, unsigned char *out, CK_ULONG *outlen)
{
    CK_MECHANISM m = {mech, NULL, 0};
    return hsm_token_sign(r, &m, in, inlen, out, outlen);
}

/* RSA: OpenSSL pads (PKCS#1 DigestInfo, or PSS with no padding left to
 * do) and the token does the private-key operation. */
static int rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
                        int padding)
{
    sign_ref *r = hsm_rsa_ref(rsa);
    CK_ULONG len = (CK_ULONG)RSA_size(rsa);
    CK_MECHANISM_TYPE mech;

    if (padding == RSA_PKCS1_PADDING)
        mech = CKM_RSA_PKCS;
    else if (padding == RSA_NO_PADDING)
        mech = CKM_RSA_X_509;
    else
        return -1;
    if (r == NULL || token_sign_plain(r, mech, from, (size_t)flen, to, &len) != CKR_OK)
        return -1;
    return (int)len;
}

/* ECDSA: the token signs the hash (CKM_ECDSA) and returns r || s. */
static ECDSA_SIG *ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
                              const BIGNUM *rp, EC_KEY *key)
{
    sign_ref *r = EC_KEY_get_ex_data(key, ec_index);
    unsigned char sig[2 * 66];
    CK_ULONG len = sizeof(sig);
    ECDSA_SIG *out = NULL;
    BIGNUM *br = NULL, *bs = NULL;

    (void)kinv;
    (void)rp;
    if (r == NULL || token_sign_plain(r, CKM_ECDSA, dgst, (size_t)dlen, sig, &len) != CKR_OK ||
        len % 2 != 0)
        return NULL;
    br = BN_bin2bn(sig, (int)(len / 2), NULL);
    bs = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
    out = ECDSA_SIG_new();
    if (br == NULL || bs == NULL || out == NULL || ECDSA_SIG_set0(out, br, bs) != 1) {
        BN_free(br);
        BN_free(bs);
        ECDSA_SIG_free(out);
        return NULL;
    }
    return out;
}

static bool methods_ready(void)
{
    if (rsa_method != NULL && ec_method != NULL)
        return true;
    ec_index = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    rsa_method = RSA_meth_dup(RSA_get_default_method());
    ec_method = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (rsa_method == NULL || ec_method == NULL || ec_index < 0 || hsm_rsa_engine() == NULL)
        return false;
    RSA_meth_set1_name(rsa_method, "csign token RSA");
    RSA_meth_set_flags(rsa_method, RSA_meth_get_flags(rsa_method) | RSA_FLAG_EXT_PKEY);
    RSA_meth_set_priv_enc(rsa_method, rsa_priv_enc);
    int (*sign)(int, const unsigned char *, int, unsigned char *, unsigned int *, const BIGNUM *,
                const BIGNUM *, EC_KEY *) = NULL;
    EC_KEY_METHOD_get_sign(ec_method, &sign, NULL, NULL);
    EC_KEY_METHOD_set_sign(ec_method, sign, NULL, ec_sign_sig);
    return true;
}

void hsm_signkeys_release(hsm *h)
{
    for (size_t i = 0; i < h->nsign_refs; i++)
        free(h->sign_refs[i]);
    free(h->sign_refs);
    h->sign_refs = NULL;
    h->nsign_refs = 0;
}

/* Wipes the kept PIN unless a token-backed key needs it. */
static void forget_pin(hsm *h)
{
    for (size_t i = 0; i < h->nsign_refs; i++)
        if (h->sign_refs[i]->ctx_login)
            return;
    secret_free(h->ctx_pin);
    h->ctx_pin = NULL;
}

csign_rc hsm_keep_pin(hsm *h, const secret *pin)
{
    secret_free(h->ctx_pin);
    h->ctx_pin = NULL;
    h->ctx_pinpad = pin == NULL;
    if (pin == NULL)
        return CSIGN_OK;
    csign_rc rc = secret_new(pin->len, &h->ctx_pin);
    if (rc == CSIGN_OK)
        rc = secret_append(h->ctx_pin, pin->data, pin->len);
    return rc;
}

csign_rc hsm_key_private(hsm *h, const hsm_key *k, const EVP_PKEY *known, EVP_PKEY **out)
{
    EVP_PKEY *pub = NULL, *pk = NULL;
    sign_ref *r;
    csign_rc rc;

    *out = NULL;
    if (k->priv_handle == 0)
        return err_set(CSIGN_ETOKEN, "key '%s' has no private key in this session", k->label);
    if (!methods_ready())
        return err_oom();
    /* One reference per key, each allocated on its own (keys point at
     * them), alive as long as the hsm. */
    sign_ref **refs = realloc(h->sign_refs, (h->nsign_refs + 1) * sizeof(*refs));
    if (refs == NULL)
        return err_oom();
    h->sign_refs = refs;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return err_oom();
    refs[h->nsign_refs++] = r;
    r->h = h;
    r->obj = k->priv_handle;
    r->ctx_login = k->always_auth;
    if (r->ctx_login && h->ctx_pin == NULL && !h->ctx_pinpad)
        return err_set(CSIGN_ETOKEN,
                       "key '%s' needs the PIN before each signature, and no PIN is at hand",
                       k->label);
    forget_pin(h);
    /* A copy: the token method goes on it, not on the caller's key. */
    if (known != NULL && (pub = EVP_PKEY_dup((EVP_PKEY *)known)) == NULL)
        return err_set_ssl(CSIGN_EINTERNAL, "cannot copy the public key");
    rc = pub != NULL ? CSIGN_OK : hsm_key_public(h, k, &pub);
    if (rc != CSIGN_OK)
        return rc;
    pk = EVP_PKEY_new();
    if (pk != NULL && k->type == HSM_KEY_RSA) {
        RSA *rsa = EVP_PKEY_get1_RSA(pub);
        if (rsa == NULL || RSA_set_method(rsa, rsa_method) != 1 || !hsm_rsa_attach(rsa, r) ||
            EVP_PKEY_assign_RSA(pk, rsa) != 1) {
            RSA_free(rsa);
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot make a token RSA key");
        } else if (EVP_PKEY_set1_engine(pk, hsm_rsa_engine()) != 1) {
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot make a token RSA key");
        }
    } else if (pk != NULL && k->type == HSM_KEY_EC) {
        EC_KEY *ec = EVP_PKEY_get1_EC_KEY(pub);
        if (ec == NULL || EC_KEY_set_method(ec, ec_method) != 1 ||
            EC_KEY_set_ex_data(ec, ec_index, r) != 1 || EVP_PKEY_assign_EC_KEY(pk, ec) != 1) {
            EC_KEY_free(ec);
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot make a token EC key");
        }
    } else {
        rc = pk ? err_set(CSIGN_EINPUT, "key '%s' is neither RSA nor EC", k->label) : err_oom();
    }
    EVP_PKEY_free(pub);
    if (rc != CSIGN_OK) {
        EVP_PKEY_free(pk);
        return rc;
    }
    *out = pk;
    return CSIGN_OK;
}
