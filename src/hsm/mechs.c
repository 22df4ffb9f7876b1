/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which signing mechanisms the session's token offers, read before login
 * so that a token that cannot make the signature asked for is refused
 * before a PIN is read.
 */
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The mechanisms that hash on the token and sign by RSA. */
static const struct {
    int nid;
    bool pss;
    CK_MECHANISM_TYPE mech;
    const char *name;
    const char *digest;
} hashing[] = {
    {NID_sha256, false, CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS", "SHA-256"},
    {NID_sha384, false, CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS", "SHA-384"},
    {NID_sha512, false, CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS", "SHA-512"},
    {NID_sha256, true, CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS", "SHA-256"},
    {NID_sha384, true, CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS", "SHA-384"},
    {NID_sha512, true, CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS", "SHA-512"},
};

static int hashing_index(int digest_nid, bool pss)
{
    for (size_t i = 0; i < sizeof(hashing) / sizeof(hashing[0]); i++)
        if (hashing[i].nid == digest_nid && hashing[i].pss == pss)
            return (int)i;
    return -1;
}

bool hsm_rsa_hashing_mech(int digest_nid, bool pss, CK_MECHANISM_TYPE *mech)
{
    int i = hashing_index(digest_nid, pss);

    if (i >= 0)
        *mech = hashing[i].mech;
    return i >= 0;
}

/* Whether the token lists mech and says it signs with it. */
static bool can_sign(hsm *h, const CK_MECHANISM_TYPE *list, CK_ULONG n, CK_MECHANISM_TYPE mech)
{
    CK_MECHANISM_INFO info;

    for (CK_ULONG i = 0; i < n; i++)
        if (list[i] == mech)
            return h->f->C_GetMechanismInfo(h->token.slot_id, mech, &info) == CKR_OK &&
                   (info.flags & CKF_SIGN) != 0;
    return false;
}

csign_rc hsm_sig_check(hsm *h, hsm_sig sig, int digest_nid)
{
    CK_MECHANISM_TYPE *list = NULL;
    CK_ULONG n = 0;
    CK_RV rv;
    bool ok;
    const char *what, *needs;
    char with[32] = "", all[96];
    int hi = sig == HSM_SIG_ECDSA ? -1 : hashing_index(digest_nid, sig == HSM_SIG_PSS);

    if (!h->have_session)
        return err_set(CSIGN_EINTERNAL, "mechanism check without a session");
    for (unsigned attempt = 0;;) {
        rv = h->f->C_GetMechanismList(h->token.slot_id, NULL, &n);
        if (rv == CKR_OK && n > 0) {
            free(list);
            /* One more than asked: p11-kit-client 0.24.1, dropping the
             * mechanisms its RPC cannot carry, reads one entry past the
             * list's end. */
            list = calloc(n + 1, sizeof(*list));
            if (list == NULL)
                return err_oom();
            rv = h->f->C_GetMechanismList(h->token.slot_id, list, &n);
        }
        if (rv == CKR_OK)
            break;
        hsm_fail(h, "C_GetMechanismList", rv);
        if (!hsm_retry(h, &attempt)) {
            free(list);
            return CSIGN_ETOKEN;
        }
    }
    /* A mechanism that hashes on the token comes first: tpm2-pkcs11, for
     * one, signs a hash only with keys that may also decrypt. */
    h->mech_hashed = hi >= 0 && can_sign(h, list, n, hashing[hi].mech);
    h->mech_hash = hi >= 0 ? hashing[hi].mech : 0;
    h->mech_pss = false;
    switch (sig) {
    case HSM_SIG_PSS:
        h->mech_pss = can_sign(h, list, n, CKM_RSA_PKCS_PSS);
        ok = h->mech_hashed || h->mech_pss || can_sign(h, list, n, CKM_RSA_X_509);
        what = "RSASSA-PSS";
        needs = "CKM_RSA_PKCS_PSS or CKM_RSA_X_509";
        break;
    case HSM_SIG_ECDSA:
        ok = can_sign(h, list, n, CKM_ECDSA);
        what = "ECDSA";
        needs = "CKM_ECDSA";
        break;
    case HSM_SIG_PKCS1:
    default:
        ok = h->mech_hashed || can_sign(h, list, n, CKM_RSA_PKCS);
        what = "RSA PKCS#1 v1.5";
        needs = "CKM_RSA_PKCS";
        break;
    }
    free(list);
    if (ok)
        return CSIGN_OK;
    if (hi >= 0) {
        snprintf(with, sizeof(with), " with %s", hashing[hi].digest);
        snprintf(all, sizeof(all), "%s%s %s", hashing[hi].name, strchr(needs, ' ') ? "," : " or",
                 needs);
        needs = all;
    }
    return err_set(CSIGN_ETOKEN, "token '%s' offers no mechanism for %s signing%s (needs %s)",
                   h->token.label, what, with, needs);
}
