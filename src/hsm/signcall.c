/* SPDX-License-Identifier: Apache-2.0 */
/* One signature by the token, for the methods of token-backed keys. */
#include "internal.h"

/* A C_Login of the context-specific user with the PIN kept at login (NULL
 * on a PIN pad). A refusal is not repeated: a wrong PIN costs a try. */
static CK_RV context_login(sign_ref *r)
{
    hsm *h = r->h;
    const secret *pin = h->ctx_pin;
    CK_RV rv;

    if (r->ctx_refused || (pin == NULL && !h->ctx_pinpad))
        return CKR_USER_NOT_LOGGED_IN;
    rv = h->f->C_Login(hsm_lane_session(h), CKU_CONTEXT_SPECIFIC,
                       pin ? (CK_UTF8CHAR_PTR)pin->data : NULL, pin ? (CK_ULONG)pin->len : 0);
    if (rv != CKR_OK)
        r->ctx_refused = true;
    return rv;
}

/* One C_SignInit + C_Sign on the calling thread's session (its lane),
 * with a context login between them when the key asks for one: a context
 * login is per session, so each lane does its own. */
static CK_RV sign_once(sign_ref *r, CK_MECHANISM *m, const unsigned char *in, size_t inlen,
                       unsigned char *out, CK_ULONG *outlen, const char **call)
{
    CK_RV rv;

    if (r->ctx_refused) {
        *call = "C_Login (context-specific)";
        return CKR_USER_NOT_LOGGED_IN;
    }
    *call = "C_SignInit";
    rv = r->h->f->C_SignInit(hsm_lane_session(r->h), m, r->obj);
    if (rv == CKR_OK && r->ctx_login) {
        *call = "C_Login (context-specific)";
        rv = context_login(r);
    }
    if (rv == CKR_OK) {
        *call = "C_Sign";
        rv = r->h->f->C_Sign(hsm_lane_session(r->h), (CK_BYTE_PTR)in, (CK_ULONG)inlen, out, outlen);
    }
    return rv;
}

/*
 * Signs, and when the token failed in a way that may pass, signs again on
 * a new session (the failed one may be left in a bad state). Not for keys
 * that need a context login (that would present the PIN again), nor when
 * the token does not know the key's handle (the same handle fails on a new
 * session too). The reason names the call that failed and its CKR code.
 */
CK_RV hsm_token_sign(sign_ref *r, CK_MECHANISM *m, const unsigned char *in, size_t inlen,
                     unsigned char *out, CK_ULONG *outlen)
{
    CK_ULONG room = *outlen;
    unsigned attempt = 0;
    const char *call = "C_Sign";
    CK_RV rv;

    for (;;) {
        *outlen = room;
        rv = sign_once(r, m, in, inlen, out, outlen, &call);
        if (rv == CKR_OK) {
            if (attempt > 0)
                err_clear(); /* the retried failure is not the story any more */
            return CKR_OK;
        }
        hsm_fail_say(r->h, call, rv);
        /* A handle the token no longer knows stays unknown on a new
         * session: trying again would only repeat the failure. */
        if (r->ctx_login || rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID ||
            !hsm_rv_transient(rv) || !hsm_backoff(&attempt))
            break;
        if (hsm_lane_renew(r->h) != CSIGN_OK) {
            hsm_fail_say(r->h, call, rv); /* the signing failure is the story */
            break;
        }
    }
    return rv;
}
