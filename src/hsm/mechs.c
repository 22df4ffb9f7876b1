/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which signing mechanisms the session's token offers, read before login
 * so that a token that cannot make the signature asked for is refused
 * before a PIN is read.
 */
#include <stdlib.h>

#include "internal.h"

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

csign_rc hsm_sig_check(hsm *h, hsm_sig sig)
{
    CK_MECHANISM_TYPE *list = NULL;
    CK_ULONG n = 0;
    CK_RV rv;
    bool ok;
    const char *what, *needs;

    if (!h->have_session)
        return err_set(CSIGN_EINTERNAL, "mechanism check without a session");
    for (unsigned attempt = 0;;) {
        rv = h->f->C_GetMechanismList(h->token.slot_id, NULL, &n);
        if (rv == CKR_OK && n > 0) {
            free(list);
            list = calloc(n, sizeof(*list));
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
    switch (sig) {
    case HSM_SIG_PSS:
        h->mech_pss = can_sign(h, list, n, CKM_RSA_PKCS_PSS);
        ok = h->mech_pss || can_sign(h, list, n, CKM_RSA_X_509);
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
        ok = can_sign(h, list, n, CKM_RSA_PKCS);
        what = "RSA PKCS#1 v1.5";
        needs = "CKM_RSA_PKCS";
        break;
    }
    free(list);
    if (!ok)
        return err_set(CSIGN_ETOKEN, "token '%s' offers no mechanism for %s signing (needs %s)",
                       h->token.label, what, needs);
    return CSIGN_OK;
}
