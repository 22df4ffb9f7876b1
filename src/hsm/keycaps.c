/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "internal.h"

/*
 * Which key pairs a token can make. Asked before generation, so that a
 * key type the token cannot make is refused with the token's own limit
 * instead of a bare CKR code, and before anything is created: a failed
 * generation can leave resources behind on some tokens (tpm2-pkcs11
 * keeps the TPM object of a half-made pair loaded until the TPM is reset).
 */

static void type_name(const hsm_keyspec *spec, char *buf, size_t size)
{
    snprintf(buf, size, "%s%u", spec->type == HSM_KEY_EC ? "ec:p" : "rsa:", spec->bits);
}

csign_rc hsm_keygen_supported(hsm *h, const hsm_keyspec *spec)
{
    bool ec = spec->type == HSM_KEY_EC;
    CK_MECHANISM_TYPE m = ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN;
    CK_MECHANISM_INFO info = {0};
    char name[16];
    CK_RV rv = h->f->C_GetMechanismInfo(h->token.slot_id, m, &info);

    type_name(spec, name, sizeof(name));
    if (rv == CKR_MECHANISM_INVALID || (rv == CKR_OK && !(info.flags & CKF_GENERATE_KEY_PAIR)))
        return err_set(CSIGN_ETOKEN, "token '%s' cannot make %s keys: it offers no %s",
                       h->token.label, name,
                       ec ? "EC key-pair generation (CKM_EC_KEY_PAIR_GEN)"
                          : "RSA key-pair generation (CKM_RSA_PKCS_KEY_PAIR_GEN)");
    /* A token that cannot answer, or gives no range, is left to try. */
    if (rv != CKR_OK || info.ulMaxKeySize == 0)
        return CSIGN_OK;
    if (spec->bits < info.ulMinKeySize || spec->bits > info.ulMaxKeySize)
        return err_set(CSIGN_ETOKEN,
                       "token '%s' cannot make %s keys: it supports %s keys of %lu to %lu bits",
                       h->token.label, name, ec ? "EC" : "RSA", (unsigned long)info.ulMinKeySize,
                       (unsigned long)info.ulMaxKeySize);
    return CSIGN_OK;
}

csign_rc hsm_keygen_refused(hsm *h, const hsm_keyspec *spec, unsigned long rv)
{
    char name[16];

    type_name(spec, name, sizeof(name));
    switch (rv) {
    case CKR_MECHANISM_INVALID:
        return err_set(CSIGN_ETOKEN,
                       "token '%s' cannot make %s keys: it refused the mechanism (%s)",
                       h->token.label, name, hsm_ckr_name(rv));
    case CKR_KEY_SIZE_RANGE:
        return err_set(CSIGN_ETOKEN, "token '%s' cannot make %s keys: it refused the key size (%s)",
                       h->token.label, name, hsm_ckr_name(rv));
    case CKR_CURVE_NOT_SUPPORTED:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_TEMPLATE_INCONSISTENT:
        if (spec->type == HSM_KEY_EC)
            return err_set(CSIGN_ETOKEN,
                           "token '%s' cannot make %s keys: it does not offer the curve P-%u (%s)",
                           h->token.label, name, spec->bits, hsm_ckr_name(rv));
        break;
    }
    return CSIGN_OK;
}
