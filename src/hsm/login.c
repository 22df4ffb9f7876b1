/* SPDX-License-Identifier: Apache-2.0 */
/* The session on a token, and the login. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm_watch.h"
#include "internal.h"

csign_rc hsm_session_open(hsm *h, const hsm_token *tok, bool rw)
{
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    unsigned attempt = 0;
    CK_RV rv = CKR_OK;
    csign_rc rc;

    if (h->have_session)
        hsm_session_close(h);
    if ((rc = hsm_token_copy(tok, &h->token)) != CSIGN_OK)
        return rc;
    do {
        rv = h->f->C_OpenSession(tok->slot_id, flags, NULL, NULL, &h->session);
        rc = rv == CKR_OK ? CSIGN_OK : hsm_fail(h, "C_OpenSession", rv);
    } while (rc != CSIGN_OK && hsm_retry(h, &attempt));
    if (rv == CKR_TOKEN_WRITE_PROTECTED)
        rc = err_set(CSIGN_ETOKEN, "token '%s' is write-protected", tok->label);
    else if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED)
        rc = err_set(CSIGN_ETOKEN, "token '%s' is no longer present", tok->label);
    if (rc != CSIGN_OK) {
        hsm_token_clear(&h->token);
        return rc;
    }
    h->have_session = true;
    h->rw = rw;
    return CSIGN_OK;
}

static csign_rc token_flags(hsm *h, CK_FLAGS *flags)
{
    CK_TOKEN_INFO ti;
    unsigned attempt = 0;
    CK_RV rv;

    while ((rv = h->f->C_GetTokenInfo(h->token.slot_id, &ti)) != CKR_OK) {
        if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED)
            return err_set(CSIGN_ETOKEN, "token '%s' is no longer present", h->token.label);
        hsm_fail(h, "C_GetTokenInfo", rv);
        if (!hsm_retry(h, &attempt))
            return CSIGN_ETOKEN;
    }
    *flags = ti.flags;
    return CSIGN_OK;
}

csign_rc hsm_login_check(hsm *h, bool allow_final_try, hsm_login_need *need, bool *count_low)
{
    CK_FLAGS f = 0;
    csign_rc rc = token_flags(h, &f);

    *count_low = false;
    *need = HSM_LOGIN_NONE;
    if (rc != CSIGN_OK)
        return rc;
    /* Without CKF_LOGIN_REQUIRED some operations work without a login, but
     * private objects still need one: log in whenever there is a PIN. */
    if (!(f & CKF_LOGIN_REQUIRED) && !(f & CKF_USER_PIN_INITIALIZED))
        return CSIGN_OK;
    if (hsm_logged_in(h))
        return CSIGN_OK;
    if (!(f & CKF_USER_PIN_INITIALIZED))
        return err_set(CSIGN_ETOKEN,
                       "token '%s' has no user PIN yet; set one with 'csign init-token' or the "
                       "token's own tools",
                       h->token.label);
    if (f & CKF_USER_PIN_LOCKED)
        return err_set(CSIGN_ETOKEN,
                       "the user PIN of token '%s' is locked; unlock it with the SO PIN first",
                       h->token.label);
    if ((f & CKF_USER_PIN_FINAL_TRY) && !allow_final_try)
        return err_set(CSIGN_ETOKEN,
                       "token '%s' allows one more PIN try only, and a wrong PIN would lock it; "
                       "not logging in (use --pin-final-try to try anyway)",
                       h->token.label);
    *count_low = (f & CKF_USER_PIN_COUNT_LOW) != 0;
    *need = (f & CKF_PROTECTED_AUTHENTICATION_PATH) ? HSM_LOGIN_PINPAD : HSM_LOGIN_PIN;
    return CSIGN_OK;
}

bool hsm_logged_in(hsm *h)
{
    CK_SESSION_INFO info;

    return h->have_session && h->f->C_GetSessionInfo(h->session, &info) == CKR_OK &&
           (info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS);
}

/* What the token says about remaining tries after a rejected PIN. */
static const char *tries_left(hsm *h)
{
    CK_FLAGS f = 0;

    if (token_flags(h, &f) != CSIGN_OK)
        return "";
    if (f & CKF_USER_PIN_LOCKED)
        return "; the PIN is now locked";
    if (f & CKF_USER_PIN_FINAL_TRY)
        return "; one try left before the PIN locks";
    if (f & CKF_USER_PIN_COUNT_LOW)
        return "; few tries left";
    return "";
}

csign_rc hsm_login(hsm *h, const secret *pin)
{
    const hsm_token *t = &h->token;
    CK_RV rv;

    if (!h->have_session)
        return err_set(CSIGN_EINTERNAL, "login without a session");
    /* A PIN the token cannot accept would still cost a try on some tokens. */
    if (pin != NULL && t->max_pin > 0 && t->max_pin >= t->min_pin &&
        t->max_pin != (unsigned long)CK_UNAVAILABLE_INFORMATION &&
        (pin->len < t->min_pin || pin->len > t->max_pin))
        return err_set(CSIGN_ETOKEN,
                       "the PIN's length is outside what token '%s' accepts (%lu to %lu "
                       "bytes); not trying it",
                       t->label, t->min_pin, t->max_pin);
    rv = h->f->C_Login(h->session, CKU_USER, pin ? (CK_UTF8CHAR_PTR)pin->data : NULL,
                       pin ? (CK_ULONG)pin->len : 0);
    switch (rv) {
    case CKR_OK:
    case CKR_USER_ALREADY_LOGGED_IN:
        h->logged_in = rv == CKR_OK;
        return hsm_keep_pin(h, pin);
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
        return err_set(CSIGN_ETOKEN, "PIN rejected by token '%s'%s", t->label, tries_left(h));
    case CKR_PIN_LEN_RANGE:
        return err_set(CSIGN_ETOKEN, "PIN rejected by token '%s': wrong length%s", t->label,
                       tries_left(h));
    case CKR_PIN_LOCKED:
        return err_set(CSIGN_ETOKEN, "the user PIN of token '%s' is locked", t->label);
    case CKR_PIN_EXPIRED:
        return err_set(CSIGN_ETOKEN,
                       "the user PIN of token '%s' has expired; change it with the token's "
                       "tools",
                       t->label);
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
        return err_set(CSIGN_ETOKEN, "token '%s' is no longer present", t->label);
    default:
        return err_set(CSIGN_ETOKEN, "login to token '%s' failed: C_Login failed: %s", t->label,
                       hsm_ckr_name(rv));
    }
}

void hsm_session_close(hsm *h)
{
    hsm_lanes_close(h);
    if (h->logged_in)
        (void)h->f->C_Logout(h->session);
    if (h->have_session)
        (void)h->f->C_CloseSession(h->session);
    h->logged_in = false;
    h->have_session = false;
    hsm_token_clear(&h->token);
}
