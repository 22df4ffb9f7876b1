/* SPDX-License-Identifier: Apache-2.0 */
#include "internal.h"

/*
 * The stand-in function list: each entry notes its call with the watchdog
 * (watch.c), calls the module's own entry and notes the return. Call
 * sites use h->f as before and need not know. A few entries also tell
 * the watchdog which token a slot holds and which slot a session is on,
 * so that a stall names the token.
 *
 * One module at a time: the entries are plain functions, and nothing in
 * a call's arguments says which module it is for.
 */

typedef CK_SESSION_HANDLE SH;
typedef CK_OBJECT_HANDLE OH;
typedef CK_BYTE_PTR BP;
typedef CK_ULONG UL;
typedef CK_ULONG_PTR ULP;
typedef CK_ATTRIBUTE_PTR AP;
typedef CK_MECHANISM_PTR MP;
typedef CK_SLOT_ID SLOT;

static CK_FUNCTION_LIST_PTR real;
static CK_FUNCTION_LIST proxy;
static unsigned wraps;

#define CALL(name, kind, id, args)                                                                 \
    int ticket_ = hsm_watch_begin(#name, (kind), (CK_ULONG)(id));                                  \
    CK_RV rv_ = real->name args;                                                                   \
    hsm_watch_end(ticket_)

#define PLAIN(name, params, args)                                                                  \
    static CK_RV w_##name params                                                                   \
    {                                                                                              \
        CALL(name, HSM_CALL_PLAIN, 0, args);                                                       \
        return rv_;                                                                                \
    }
#define ON_SLOT(name, params, args)                                                                \
    static CK_RV w_##name params                                                                   \
    {                                                                                              \
        CALL(name, HSM_CALL_SLOT, slot, args);                                                     \
        return rv_;                                                                                \
    }
#define ON_SESSION(name, params, args)                                                             \
    static CK_RV w_##name params                                                                   \
    {                                                                                              \
        CALL(name, HSM_CALL_SESSION, s, args);                                                     \
        return rv_;                                                                                \
    }

PLAIN(C_Initialize, (CK_VOID_PTR a), (a))
PLAIN(C_GetInfo, (CK_INFO_PTR i), (i))
PLAIN(C_GetSlotList, (CK_BBOOL p, CK_SLOT_ID_PTR l, ULP n), (p, l, n))
ON_SLOT(C_GetSlotInfo, (SLOT slot, CK_SLOT_INFO_PTR i), (slot, i))
ON_SLOT(C_GetMechanismList, (SLOT slot, CK_MECHANISM_TYPE_PTR l, ULP n), (slot, l, n))
ON_SLOT(C_GetMechanismInfo, (SLOT slot, CK_MECHANISM_TYPE t, CK_MECHANISM_INFO_PTR i), (slot, t, i))
ON_SLOT(C_InitToken, (SLOT slot, CK_UTF8CHAR_PTR p, UL n, CK_UTF8CHAR_PTR l), (slot, p, n, l))
ON_SESSION(C_InitPIN, (SH s, CK_UTF8CHAR_PTR p, UL n), (s, p, n))
ON_SESSION(C_SetPIN, (SH s, CK_UTF8CHAR_PTR o, UL on, CK_UTF8CHAR_PTR p, UL n), (s, o, on, p, n))
ON_SESSION(C_GetSessionInfo, (SH s, CK_SESSION_INFO_PTR i), (s, i))
ON_SESSION(C_GetOperationState, (SH s, BP p, ULP n), (s, p, n))
ON_SESSION(C_SetOperationState, (SH s, BP p, UL n, OH e, OH a), (s, p, n, e, a))
ON_SESSION(C_Logout, (SH s), (s))
ON_SESSION(C_CreateObject, (SH s, AP t, UL n, CK_OBJECT_HANDLE_PTR o), (s, t, n, o))
ON_SESSION(C_CopyObject, (SH s, OH o, AP t, UL n, CK_OBJECT_HANDLE_PTR c), (s, o, t, n, c))
ON_SESSION(C_DestroyObject, (SH s, OH o), (s, o))
ON_SESSION(C_GetObjectSize, (SH s, OH o, ULP n), (s, o, n))
ON_SESSION(C_GetAttributeValue, (SH s, OH o, AP t, UL n), (s, o, t, n))
ON_SESSION(C_SetAttributeValue, (SH s, OH o, AP t, UL n), (s, o, t, n))
ON_SESSION(C_FindObjectsInit, (SH s, AP t, UL n), (s, t, n))
ON_SESSION(C_FindObjects, (SH s, CK_OBJECT_HANDLE_PTR o, UL m, ULP n), (s, o, m, n))
ON_SESSION(C_FindObjectsFinal, (SH s), (s))
ON_SESSION(C_EncryptInit, (SH s, MP m, OH k), (s, m, k))
ON_SESSION(C_Encrypt, (SH s, BP d, UL dn, BP e, ULP en), (s, d, dn, e, en))
ON_SESSION(C_EncryptUpdate, (SH s, BP d, UL dn, BP e, ULP en), (s, d, dn, e, en))
ON_SESSION(C_EncryptFinal, (SH s, BP e, ULP en), (s, e, en))
ON_SESSION(C_DecryptInit, (SH s, MP m, OH k), (s, m, k))
ON_SESSION(C_Decrypt, (SH s, BP e, UL en, BP d, ULP dn), (s, e, en, d, dn))
ON_SESSION(C_DecryptUpdate, (SH s, BP e, UL en, BP d, ULP dn), (s, e, en, d, dn))
ON_SESSION(C_DecryptFinal, (SH s, BP d, ULP dn), (s, d, dn))
ON_SESSION(C_DigestInit, (SH s, MP m), (s, m))
ON_SESSION(C_Digest, (SH s, BP d, UL dn, BP g, ULP gn), (s, d, dn, g, gn))
ON_SESSION(C_DigestUpdate, (SH s, BP d, UL dn), (s, d, dn))
ON_SESSION(C_DigestKey, (SH s, OH k), (s, k))
ON_SESSION(C_DigestFinal, (SH s, BP g, ULP gn), (s, g, gn))
ON_SESSION(C_SignInit, (SH s, MP m, OH k), (s, m, k))
ON_SESSION(C_Sign, (SH s, BP d, UL dn, BP g, ULP gn), (s, d, dn, g, gn))
ON_SESSION(C_SignUpdate, (SH s, BP d, UL dn), (s, d, dn))
ON_SESSION(C_SignFinal, (SH s, BP g, ULP gn), (s, g, gn))
ON_SESSION(C_SignRecoverInit, (SH s, MP m, OH k), (s, m, k))
ON_SESSION(C_SignRecover, (SH s, BP d, UL dn, BP g, ULP gn), (s, d, dn, g, gn))
ON_SESSION(C_VerifyInit, (SH s, MP m, OH k), (s, m, k))
ON_SESSION(C_Verify, (SH s, BP d, UL dn, BP g, UL gn), (s, d, dn, g, gn))
ON_SESSION(C_VerifyUpdate, (SH s, BP d, UL dn), (s, d, dn))
ON_SESSION(C_VerifyFinal, (SH s, BP g, UL gn), (s, g, gn))
ON_SESSION(C_VerifyRecoverInit, (SH s, MP m, OH k), (s, m, k))
ON_SESSION(C_VerifyRecover, (SH s, BP g, UL gn, BP d, ULP dn), (s, g, gn, d, dn))
ON_SESSION(C_DigestEncryptUpdate, (SH s, BP d, UL dn, BP e, ULP en), (s, d, dn, e, en))
ON_SESSION(C_DecryptDigestUpdate, (SH s, BP e, UL en, BP d, ULP dn), (s, e, en, d, dn))
ON_SESSION(C_SignEncryptUpdate, (SH s, BP d, UL dn, BP e, ULP en), (s, d, dn, e, en))
ON_SESSION(C_DecryptVerifyUpdate, (SH s, BP e, UL en, BP d, ULP dn), (s, e, en, d, dn))
ON_SESSION(C_GenerateKey, (SH s, MP m, AP t, UL n, CK_OBJECT_HANDLE_PTR k), (s, m, t, n, k))
ON_SESSION(C_GenerateKeyPair,
           (SH s, MP m, AP pt, UL pn, AP vt, UL vn, CK_OBJECT_HANDLE_PTR pk,
            CK_OBJECT_HANDLE_PTR vk),
           (s, m, pt, pn, vt, vn, pk, vk))
ON_SESSION(C_WrapKey, (SH s, MP m, OH w, OH k, BP d, ULP dn), (s, m, w, k, d, dn))
ON_SESSION(C_UnwrapKey, (SH s, MP m, OH u, BP d, UL dn, AP t, UL n, CK_OBJECT_HANDLE_PTR k),
           (s, m, u, d, dn, t, n, k))
ON_SESSION(C_DeriveKey, (SH s, MP m, OH b, AP t, UL n, CK_OBJECT_HANDLE_PTR k), (s, m, b, t, n, k))
ON_SESSION(C_SeedRandom, (SH s, BP d, UL dn), (s, d, dn))
ON_SESSION(C_GenerateRandom, (SH s, BP d, UL dn), (s, d, dn))
ON_SESSION(C_GetFunctionStatus, (SH s), (s))
ON_SESSION(C_CancelFunction, (SH s), (s))
PLAIN(C_WaitForSlotEvent, (CK_FLAGS f, CK_SLOT_ID_PTR slot, CK_VOID_PTR r), (f, slot, r))

static CK_RV w_C_Finalize(CK_VOID_PTR r)
{
    CALL(C_Finalize, HSM_CALL_PLAIN, 0, (r));
    hsm_watch_forget_sessions(true, false, 0);
    return rv_;
}

static CK_RV w_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR l)
{
    if (l == NULL)
        return CKR_ARGUMENTS_BAD;
    *l = &proxy;
    return CKR_OK;
}

/* A token's label, learnt for later messages. */
static CK_RV w_C_GetTokenInfo(SLOT slot, CK_TOKEN_INFO_PTR i)
{
    CALL(C_GetTokenInfo, HSM_CALL_SLOT, slot, (slot, i));
    if (rv_ == CKR_OK && i != NULL)
        hsm_watch_learn_label(slot, i->label);
    return rv_;
}

static CK_RV w_C_OpenSession(SLOT slot, CK_FLAGS f, CK_VOID_PTR a, CK_NOTIFY n,
                             CK_SESSION_HANDLE_PTR s)
{
    CALL(C_OpenSession, HSM_CALL_SLOT, slot, (slot, f, a, n, s));
    if (rv_ == CKR_OK && s != NULL)
        hsm_watch_learn_session(*s, slot);
    return rv_;
}

static CK_RV w_C_CloseSession(SH s)
{
    CALL(C_CloseSession, HSM_CALL_SESSION, s, (s));
    hsm_watch_forget_sessions(false, false, s);
    return rv_;
}

static CK_RV w_C_CloseAllSessions(SLOT slot)
{
    CALL(C_CloseAllSessions, HSM_CALL_SLOT, slot, (slot));
    hsm_watch_forget_sessions(false, true, slot);
    return rv_;
}

/* A login with no PIN waits for the user at the reader's PIN pad: the
 * message of a stall says so. */
static CK_RV w_C_Login(SH s, CK_USER_TYPE u, CK_UTF8CHAR_PTR p, UL n)
{
    const char *name = p == NULL ? "C_Login (PIN pad)" : "C_Login";
    int ticket = hsm_watch_begin(name, HSM_CALL_SESSION, s);
    CK_RV rv = real->C_Login(s, u, p, n);

    hsm_watch_end(ticket);
    return rv;
}

/* clang-format off */
#define ALL_ENTRIES(X) \
    X(C_Initialize) \
    X(C_Finalize) \
    X(C_GetInfo) \
    X(C_GetFunctionList) \
    X(C_GetSlotList) \
    X(C_GetSlotInfo) \
    X(C_GetTokenInfo) \
    X(C_GetMechanismList) \
    X(C_GetMechanismInfo) \
    X(C_InitToken) \
    X(C_InitPIN) \
    X(C_SetPIN) \
    X(C_OpenSession) \
    X(C_CloseSession) \
    X(C_CloseAllSessions) \
    X(C_GetSessionInfo) \
    X(C_GetOperationState) \
    X(C_SetOperationState) \
    X(C_Login) \
    X(C_Logout) \
    X(C_CreateObject) \
    X(C_CopyObject) \
    X(C_DestroyObject) \
    X(C_GetObjectSize) \
    X(C_GetAttributeValue) \
    X(C_SetAttributeValue) \
    X(C_FindObjectsInit) \
    X(C_FindObjects) \
    X(C_FindObjectsFinal) \
    X(C_EncryptInit) \
    X(C_Encrypt) \
    X(C_EncryptUpdate) \
    X(C_EncryptFinal) \
    X(C_DecryptInit) \
    X(C_Decrypt) \
    X(C_DecryptUpdate) \
    X(C_DecryptFinal) \
    X(C_DigestInit) \
    X(C_Digest) \
    X(C_DigestUpdate) \
    X(C_DigestKey) \
    X(C_DigestFinal) \
    X(C_SignInit) \
    X(C_Sign) \
    X(C_SignUpdate) \
    X(C_SignFinal) \
    X(C_SignRecoverInit) \
    X(C_SignRecover) \
    X(C_VerifyInit) \
    X(C_Verify) \
    X(C_VerifyUpdate) \
    X(C_VerifyFinal) \
    X(C_VerifyRecoverInit) \
    X(C_VerifyRecover) \
    X(C_DigestEncryptUpdate) \
    X(C_DecryptDigestUpdate) \
    X(C_SignEncryptUpdate) \
    X(C_DecryptVerifyUpdate) \
    X(C_GenerateKey) \
    X(C_GenerateKeyPair) \
    X(C_WrapKey) \
    X(C_UnwrapKey) \
    X(C_DeriveKey) \
    X(C_SeedRandom) \
    X(C_GenerateRandom) \
    X(C_GetFunctionStatus) \
    X(C_CancelFunction) \
    X(C_WaitForSlotEvent)
/* clang-format on */

/* An entry the module leaves empty stays empty. */
#define INSTALL(name) proxy.name = module->name != NULL ? w_##name : NULL;

csign_rc hsm_proxy_wrap(CK_FUNCTION_LIST_PTR module, CK_FUNCTION_LIST_PTR *out)
{
    if (wraps > 0 && module != real)
        return err_set(CSIGN_EINTERNAL, "csign uses one PKCS#11 module at a time");
    if (wraps == 0) {
        real = module;
        proxy.version = module->version;
        ALL_ENTRIES(INSTALL)
    }
    wraps++;
    *out = &proxy;
    return CSIGN_OK;
}

void hsm_proxy_release(void)
{
    if (wraps > 0 && --wraps == 0)
        real = NULL;
}
