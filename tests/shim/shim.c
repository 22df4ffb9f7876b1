/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only PKCS#11 wrapper module that injects faults real tokens cannot
 * produce on demand. It loads a real module, passes every call through, and
 * misbehaves only where the environment asks it to.
 *
 * Environment variables:
 *   CSIGN_SHIM_MODULE             real module to wrap
 *                                 (default /usr/lib/softhsm/libsofthsm2.so)
 *   CSIGN_SHIM_LOG                file to append one line per wrapped call
 *                                 ("C_Login user|so|context" for C_Login)
 *   CSIGN_SHIM_FAIL               comma-separated rules "C_Name=0xRV" (every
 *                                 call) or "C_Name@N=0xRV" (Nth call only,
 *                                 from 1); the real function is not called
 *   CSIGN_SHIM_TOKEN_FLAGS        hex bits OR-ed into CK_TOKEN_INFO.flags
 *   CSIGN_SHIM_TOKEN_FLAGS_CLEAR  hex bits cleared from CK_TOKEN_INFO.flags
 *   CSIGN_SHIM_UNKNOWN_CARD       "1": C_GetTokenInfo of a token that is not
 *                                 initialised answers CKR_TOKEN_NOT_RECOGNIZED
 *                                 (an unknown card in a reader)
 *   CSIGN_SHIM_REWRITING          N: the first N C_GetTokenInfo answers for
 *                                 an initialised token (counted across all
 *                                 tokens) show it not initialised with a
 *                                 blank label, as SoftHSM shows a token
 *                                 another process is rewriting
 *   CSIGN_SHIM_TOKEN_FLAGS_FILE   a file holding hex bits OR-ed into
 *                                 CK_TOKEN_INFO.flags, read at every call
 *                                 (a missing file adds none), so that a
 *                                 test can change the token's state mid-run
 *   CSIGN_SHIM_SLOT_FLAGS         hex bits OR-ed into CK_SLOT_INFO.flags
 *   CSIGN_SHIM_CORRUPT_SIGNATURE  "1": flip the lowest bit of the last
 *                                 signature byte on successful C_Sign and
 *                                 C_SignFinal
 *   CSIGN_SHIM_IGNORE_TEMPLATE    "1": C_GenerateKeyPair forces
 *                                 CKA_SENSITIVE=FALSE, CKA_EXTRACTABLE=TRUE
 *                                 on the private key; "decrypt": forces
 *                                 CKA_DECRYPT=TRUE on it instead
 *   CSIGN_SHIM_HANG               comma-separated function names that never
 *                                 return
 *   CSIGN_SHIM_GATE               "C_Name@N:PATH": the Nth call (from 1)
 *                                 waits, once logged, until PATH exists, so
 *                                 that a test acts at a known point
 *   CSIGN_SHIM_SLOW               comma-separated function names that take
 *                                 0.5 s each (time for a test to act)
 *   CSIGN_SHIM_SIGN_DELAY_MS      every C_Sign waits this many milliseconds
 *                                 first, outside any lock, as a network HSM
 *                                 answers: parallel sessions overlap
 *   CSIGN_SHIM_MAX_SESSIONS       C_GetTokenInfo reports this
 *                                 ulMaxSessionCount and ulMaxRwSessionCount
 *   CSIGN_SHIM_ALWAYS_AUTH        "1": private keys report
 *                                 CKA_ALWAYS_AUTHENTICATE TRUE, and C_Sign
 *                                 answers CKR_USER_NOT_LOGGED_IN unless a
 *                                 context-specific login (the user's PIN, or
 *                                 NULL with CSIGN_SHIM_PINPAD_PIN) came after
 *                                 the C_SignInit; the shim checks that login
 *                                 itself (SoftHSM knows nothing of it)
 *   CSIGN_SHIM_RAW_EC_POINT       "1": CKA_EC_POINT read alone comes back as
 *                                 the raw point, without its OCTET STRING
 *   CSIGN_SHIM_MECHS              comma-separated mechanism names (CKM_...):
 *                                 the only ones the token lists, describes
 *                                 and accepts in C_SignInit
 *   CSIGN_SHIM_PINPAD_PIN         a user C_Login with a NULL PIN (a PIN pad)
 *                                 logs in with this PIN
 *   CSIGN_SHIM_FIND_DOUBLE        "1": a C_FindObjects asked for at most two
 *                                 objects that finds one reports it twice,
 *                                 as a shared token does when another
 *                                 machine made a like object meanwhile
 * C_SignInit is logged with its mechanism ("C_SignInit CKM_RSA_PKCS_PSS").
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define SHIM_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* Templates csign builds are far smaller; the cap keeps the copy on the stack. */
#define SHIM_MAX_TEMPLATE 64

#define SHIM_FUNCTIONS(X)                                                                          \
    X(C_Initialize)                                                                                \
    X(C_Finalize)                                                                                  \
    X(C_GetInfo)                                                                                   \
    X(C_GetSlotList)                                                                               \
    X(C_GetSlotInfo)                                                                               \
    X(C_GetTokenInfo)                                                                              \
    X(C_GetMechanismList)                                                                          \
    X(C_GetMechanismInfo)                                                                          \
    X(C_InitToken)                                                                                 \
    X(C_InitPIN)                                                                                   \
    X(C_SetPIN)                                                                                    \
    X(C_OpenSession)                                                                               \
    X(C_CloseSession)                                                                              \
    X(C_CloseAllSessions)                                                                          \
    X(C_GetSessionInfo)                                                                            \
    X(C_Login)                                                                                     \
    X(C_Logout)                                                                                    \
    X(C_CreateObject)                                                                              \
    X(C_DestroyObject)                                                                             \
    X(C_GetAttributeValue)                                                                         \
    X(C_SetAttributeValue)                                                                         \
    X(C_FindObjectsInit)                                                                           \
    X(C_FindObjects)                                                                               \
    X(C_FindObjectsFinal)                                                                          \
    X(C_GenerateKeyPair)                                                                           \
    X(C_SignInit)                                                                                  \
    X(C_Sign)                                                                                      \
    X(C_SignUpdate)                                                                                \
    X(C_SignFinal)

#define SHIM_ENUM(name) SHIM_##name,
enum shim_fn { SHIM_FUNCTIONS(SHIM_ENUM) SHIM_COUNT };
#undef SHIM_ENUM

#define SHIM_NAME(name) #name,
static const char *const shim_names[SHIM_COUNT] = {SHIM_FUNCTIONS(SHIM_NAME)};
#undef SHIM_NAME

static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long shim_calls[SHIM_COUNT];
static CK_FUNCTION_LIST shim_list;
static CK_FUNCTION_LIST_PTR real;

/* Missing optional entries in the real list must not turn into a crash. */
#define REAL(fn, args)                                                                             \
    (real != NULL && real->fn != NULL ? real->fn args : CKR_FUNCTION_NOT_SUPPORTED)

#define SHIM_ENTER(fn, detail)                                                                     \
    do {                                                                                           \
        CK_RV shim_injected_;                                                                      \
        if (shim_enter(SHIM_##fn, (detail), &shim_injected_))                                      \
            return shim_injected_;                                                                 \
    } while (0)

static int env_is_one(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && strcmp(v, "1") == 0;
}

static int env_hex(const char *name, unsigned long *out)
{
    const char *v = getenv(name);
    char *end;
    unsigned long val;

    if (v == NULL || *v == '\0')
        return 0;
    val = strtoul(v, &end, 16);
    if (end == v)
        return 0;
    *out = val;
    return 1;
}

static void shim_log(const char *name, const char *detail)
{
    const char *path = getenv("CSIGN_SHIM_LOG");
    char line[128];
    int len;
    int fd;

    if (path == NULL || *path == '\0')
        return;
    if (detail != NULL)
        len = snprintf(line, sizeof(line), "%s %s\n", name, detail);
    else
        len = snprintf(line, sizeof(line), "%s\n", name);
    if (len < 0 || (size_t)len >= sizeof(line))
        return;
    /* Reopened per call so tests may truncate or move the file between runs. */
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)len) != len) {
        /* A short log only weakens the test that reads it; never fail the call. */
    }
    close(fd);
}

static int name_eq(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && strncmp(s, name, len) == 0;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* Parses one "C_Name[@N]=0xRV" rule; malformed rules never match. */
static int rule_matches(const char *s, const char *e, const char *name, unsigned long count,
                        CK_RV *rv)
{
    const char *eq = memchr(s, '=', (size_t)(e - s));
    const char *at;
    const char *name_end;
    const char *num;
    char buf[64];
    char *end;
    unsigned long nth = 0;
    size_t len;

    if (eq == NULL)
        return 0;
    at = memchr(s, '@', (size_t)(eq - s));
    name_end = at != NULL ? at : eq;
    trim(&s, &name_end);
    if (!name_eq(s, (size_t)(name_end - s), name))
        return 0;

    if (at != NULL) {
        num = at + 1;
        len = (size_t)(eq - num);
        if (len == 0 || len >= sizeof(buf))
            return 0;
        memcpy(buf, num, len);
        buf[len] = '\0';
        nth = strtoul(buf, &end, 10);
        if (*end != '\0' || nth == 0)
            return 0;
        if (nth != count)
            return 0;
    }

    num = eq + 1;
    trim(&num, &e);
    len = (size_t)(e - num);
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, num, len);
    buf[len] = '\0';
    *rv = (CK_RV)strtoul(buf, &end, 16);
    return *end == '\0';
}

static int fail_rule(const char *name, unsigned long count, CK_RV *rv)
{
    const char *p = getenv("CSIGN_SHIM_FAIL");

    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        const char *e = comma != NULL ? comma : p + strlen(p);

        if (rule_matches(p, e, name, count, rv))
            return 1;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

static int in_name_list(const char *list, const char *name)
{
    const char *p = list;

    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        const char *s = p;
        const char *e = comma != NULL ? comma : p + strlen(p);

        trim(&s, &e);
        if (name_eq(s, (size_t)(e - s), name))
            return 1;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

/* Waits while the call is CSIGN_SHIM_GATE's and its file is missing. */
static void gate(const char *name, unsigned long count)
{
    const char *g = getenv("CSIGN_SHIM_GATE");
    const char *at = g != NULL ? strchr(g, '@') : NULL;
    const char *colon = at != NULL ? strchr(at, ':') : NULL;

    if (colon == NULL || !name_eq(g, (size_t)(at - g), name) || strtoul(at + 1, NULL, 10) != count)
        return;
    while (access(colon + 1, F_OK) != 0)
        usleep(10000);
}

/* Returns 1 when the call must not reach the real module; *rv is the answer. */
static int shim_enter(enum shim_fn fn, const char *detail, CK_RV *rv)
{
    const char *name = shim_names[fn];
    unsigned long count;

    pthread_mutex_lock(&shim_lock);
    shim_log(name, detail);
    count = ++shim_calls[fn];
    pthread_mutex_unlock(&shim_lock);

    /* Logged first so a test can tell the hung call was actually reached. */
    if (in_name_list(getenv("CSIGN_SHIM_HANG"), name)) {
        for (;;)
            pause();
    }
    gate(name, count);
    if (in_name_list(getenv("CSIGN_SHIM_SLOW"), name))
        usleep(500000);
    if (fn == SHIM_C_Sign && getenv("CSIGN_SHIM_SIGN_DELAY_MS") != NULL)
        usleep((useconds_t)strtoul(getenv("CSIGN_SHIM_SIGN_DELAY_MS"), NULL, 10) * 1000);

    return fail_rule(name, count, rv);
}

static void corrupt_signature(CK_RV rv, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    if (rv != CKR_OK || sig == NULL || sig_len == NULL || *sig_len == 0)
        return;
    if (env_is_one("CSIGN_SHIM_CORRUPT_SIGNATURE"))
        sig[*sig_len - 1] ^= 0x01;
}

/* ---- Login modes and mechanisms ------------------------------------------ */

static const struct {
    CK_MECHANISM_TYPE type;
    const char *name;
} shim_mechs[] = {
    {CKM_RSA_PKCS, "CKM_RSA_PKCS"},
    {CKM_RSA_X_509, "CKM_RSA_X_509"},
    {CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS"},
    {CKM_ECDSA, "CKM_ECDSA"},
    {CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS"},
    {CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS"},
    {CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS"},
    {CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS"},
    {CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS"},
    {CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS"},
    {CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN"},
    {CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN"},
};

static const char *mech_name(CK_MECHANISM_TYPE t, char *buf, size_t size)
{
    for (size_t i = 0; i < sizeof(shim_mechs) / sizeof(shim_mechs[0]); i++)
        if (shim_mechs[i].type == t)
            return shim_mechs[i].name;
    snprintf(buf, size, "0x%lx", (unsigned long)t);
    return buf;
}

/* Whether CSIGN_SHIM_MECHS (when set) lets the token offer t. */
static int mech_offered(CK_MECHANISM_TYPE t)
{
    const char *list = getenv("CSIGN_SHIM_MECHS");
    char buf[32];

    return list == NULL || in_name_list(list, mech_name(t, buf, sizeof(buf)));
}

static char shim_user_pin[256];
static size_t shim_user_pin_len;
/* Per session, as a token keeps it: a C_SignInit under way, and a
 * context-specific login since. */
typedef struct {
    CK_SESSION_HANDLE session;
    int used, sign_pending, context_ok;
} shim_session_state;
static shim_session_state shim_states[256];

/* The state of session s (its slot is kept for the run). */
static shim_session_state *session_state(CK_SESSION_HANDLE s)
{
    shim_session_state *st = &shim_states[0];

    pthread_mutex_lock(&shim_lock);
    for (size_t i = 0; i < sizeof(shim_states) / sizeof(shim_states[0]); i++) {
        if (shim_states[i].used && shim_states[i].session == s) {
            st = &shim_states[i];
            break;
        }
        if (!shim_states[i].used) {
            st = &shim_states[i];
            st->used = 1;
            st->session = s;
            st->sign_pending = st->context_ok = 0;
            break;
        }
    }
    pthread_mutex_unlock(&shim_lock);
    return st;
}

static CK_OBJECT_CLASS object_class(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
    CK_OBJECT_CLASS cls = (CK_OBJECT_CLASS)-1;
    CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof(cls)};

    if (REAL(C_GetAttributeValue, (s, o, &t, 1)) != CKR_OK)
        return (CK_OBJECT_CLASS)-1;
    return cls;
}

/* CKA_EC_POINT alone, with the DER OCTET STRING around the point removed. */
static CK_RV raw_ec_point(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *out)
{
    unsigned char buf[512];
    CK_ATTRIBUTE t = {CKA_EC_POINT, buf, sizeof(buf)};
    CK_RV rv = REAL(C_GetAttributeValue, (s, o, &t, 1));
    size_t hdr;

    if (rv != CKR_OK) {
        out->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return rv;
    }
    hdr = t.ulValueLen > 2 && buf[1] == 0x81 ? 3 : 2;
    if (t.ulValueLen <= hdr || buf[0] != 0x04)
        hdr = 0;
    if (out->pValue != NULL && out->ulValueLen < t.ulValueLen - hdr) {
        out->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (out->pValue != NULL)
        memcpy(out->pValue, buf + hdr, t.ulValueLen - hdr);
    out->ulValueLen = t.ulValueLen - hdr;
    return CKR_OK;
}

/* A context-specific login, checked by the shim against the user PIN. */
static CK_RV context_login(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    shim_session_state *st = session_state(s);

    if (!st->sign_pending)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (pin == NULL ? getenv("CSIGN_SHIM_PINPAD_PIN") == NULL
                    : len != shim_user_pin_len || memcmp(pin, shim_user_pin, len) != 0)
        return CKR_PIN_INCORRECT;
    st->context_ok = 1;
    return CKR_OK;
}

static CK_RV shim_C_Initialize(CK_VOID_PTR pInitArgs)
{
    SHIM_ENTER(C_Initialize, NULL);
    return REAL(C_Initialize, (pInitArgs));
}

static CK_RV shim_C_Finalize(CK_VOID_PTR pReserved)
{
    SHIM_ENTER(C_Finalize, NULL);
    return REAL(C_Finalize, (pReserved));
}

static CK_RV shim_C_GetInfo(CK_INFO_PTR pInfo)
{
    SHIM_ENTER(C_GetInfo, NULL);
    return REAL(C_GetInfo, (pInfo));
}

static CK_RV shim_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
                                CK_ULONG_PTR pulCount)
{
    SHIM_ENTER(C_GetSlotList, NULL);
    return REAL(C_GetSlotList, (tokenPresent, pSlotList, pulCount));
}

static CK_RV shim_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    CK_RV rv;
    unsigned long set;

    SHIM_ENTER(C_GetSlotInfo, NULL);
    rv = REAL(C_GetSlotInfo, (slotID, pInfo));
    if (rv == CKR_OK && pInfo != NULL && env_hex("CSIGN_SHIM_SLOT_FLAGS", &set))
        pInfo->flags |= set;
    return rv;
}

static CK_RV shim_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    CK_RV rv;
    unsigned long bits;

    SHIM_ENTER(C_GetTokenInfo, NULL);
    rv = REAL(C_GetTokenInfo, (slotID, pInfo));
    if (rv != CKR_OK || pInfo == NULL)
        return rv;
    if (env_is_one("CSIGN_SHIM_UNKNOWN_CARD") && !(pInfo->flags & CKF_TOKEN_INITIALIZED))
        return CKR_TOKEN_NOT_RECOGNIZED;
    if (getenv("CSIGN_SHIM_REWRITING") != NULL && (pInfo->flags & CKF_TOKEN_INITIALIZED)) {
        static unsigned long seen;
        static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&seen_lock);
        int rewriting = ++seen <= strtoul(getenv("CSIGN_SHIM_REWRITING"), NULL, 10);
        pthread_mutex_unlock(&seen_lock);
        if (rewriting) {
            pInfo->flags &= ~(CK_FLAGS)CKF_TOKEN_INITIALIZED;
            memset(pInfo->label, ' ', sizeof(pInfo->label));
        }
    }
    if (getenv("CSIGN_SHIM_MAX_SESSIONS") != NULL) {
        pInfo->ulMaxSessionCount = strtoul(getenv("CSIGN_SHIM_MAX_SESSIONS"), NULL, 10);
        pInfo->ulMaxRwSessionCount = pInfo->ulMaxSessionCount;
    }
    if (env_hex("CSIGN_SHIM_TOKEN_FLAGS", &bits))
        pInfo->flags |= bits;
    if (env_hex("CSIGN_SHIM_TOKEN_FLAGS_CLEAR", &bits))
        pInfo->flags &= ~bits;
    const char *path = getenv("CSIGN_SHIM_TOKEN_FLAGS_FILE");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f != NULL) {
        if (fscanf(f, "%lx", &bits) == 1)
            pInfo->flags |= bits;
        fclose(f);
    }
    return rv;
}

static CK_RV shim_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                     CK_ULONG_PTR pulCount)
{
    CK_MECHANISM_TYPE all[512];
    CK_ULONG n = sizeof(all) / sizeof(all[0]), kept = 0;
    CK_RV rv;

    SHIM_ENTER(C_GetMechanismList, NULL);
    if (getenv("CSIGN_SHIM_MECHS") == NULL)
        return REAL(C_GetMechanismList, (slotID, pMechanismList, pulCount));
    rv = REAL(C_GetMechanismList, (slotID, all, &n));
    if (rv != CKR_OK)
        return rv;
    for (CK_ULONG i = 0; i < n; i++) {
        if (!mech_offered(all[i]))
            continue;
        if (pMechanismList != NULL && kept < *pulCount)
            pMechanismList[kept] = all[i];
        kept++;
    }
    rv = pMechanismList != NULL && kept > *pulCount ? CKR_BUFFER_TOO_SMALL : CKR_OK;
    *pulCount = kept;
    return rv;
}

static CK_RV shim_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                     CK_MECHANISM_INFO_PTR pInfo)
{
    SHIM_ENTER(C_GetMechanismInfo, NULL);
    if (!mech_offered(type))
        return CKR_MECHANISM_INVALID;
    return REAL(C_GetMechanismInfo, (slotID, type, pInfo));
}

static CK_RV shim_C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                              CK_UTF8CHAR_PTR pLabel)
{
    SHIM_ENTER(C_InitToken, NULL);
    return REAL(C_InitToken, (slotID, pPin, ulPinLen, pLabel));
}

static CK_RV shim_C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    SHIM_ENTER(C_InitPIN, NULL);
    return REAL(C_InitPIN, (hSession, pPin, ulPinLen));
}

static CK_RV shim_C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                           CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    SHIM_ENTER(C_SetPIN, NULL);
    return REAL(C_SetPIN, (hSession, pOldPin, ulOldLen, pNewPin, ulNewLen));
}

static CK_RV shim_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                                CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
    SHIM_ENTER(C_OpenSession, NULL);
    return REAL(C_OpenSession, (slotID, flags, pApplication, Notify, phSession));
}

static CK_RV shim_C_CloseSession(CK_SESSION_HANDLE hSession)
{
    SHIM_ENTER(C_CloseSession, NULL);
    return REAL(C_CloseSession, (hSession));
}

static CK_RV shim_C_CloseAllSessions(CK_SLOT_ID slotID)
{
    SHIM_ENTER(C_CloseAllSessions, NULL);
    return REAL(C_CloseAllSessions, (slotID));
}

static CK_RV shim_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    SHIM_ENTER(C_GetSessionInfo, NULL);
    return REAL(C_GetSessionInfo, (hSession, pInfo));
}

static CK_RV shim_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                          CK_ULONG ulPinLen)
{
    const char *who;

    switch (userType) {
    case CKU_USER:
        who = "user";
        break;
    case CKU_SO:
        who = "so";
        break;
    case CKU_CONTEXT_SPECIFIC:
        who = "context";
        break;
    default:
        who = "unknown";
        break;
    }
    /* Only the user type is logged: the log must never carry the PIN. */
    SHIM_ENTER(C_Login, who);
    if (userType == CKU_CONTEXT_SPECIFIC && env_is_one("CSIGN_SHIM_ALWAYS_AUTH"))
        return context_login(hSession, pPin, ulPinLen);
    if (userType == CKU_USER && pPin == NULL && getenv("CSIGN_SHIM_PINPAD_PIN") != NULL) {
        const char *pad = getenv("CSIGN_SHIM_PINPAD_PIN");
        return REAL(C_Login, (hSession, userType, (CK_UTF8CHAR_PTR)pad, (CK_ULONG)strlen(pad)));
    }
    if (userType == CKU_USER && pPin != NULL && ulPinLen < sizeof(shim_user_pin)) {
        memcpy(shim_user_pin, pPin, ulPinLen);
        shim_user_pin_len = ulPinLen;
    }
    return REAL(C_Login, (hSession, userType, pPin, ulPinLen));
}

static CK_RV shim_C_Logout(CK_SESSION_HANDLE hSession)
{
    SHIM_ENTER(C_Logout, NULL);
    return REAL(C_Logout, (hSession));
}

static CK_RV shim_C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                 CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
    SHIM_ENTER(C_CreateObject, NULL);
    return REAL(C_CreateObject, (hSession, pTemplate, ulCount, phObject));
}

static CK_RV shim_C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    SHIM_ENTER(C_DestroyObject, NULL);
    return REAL(C_DestroyObject, (hSession, hObject));
}

static CK_RV shim_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CK_RV rv;

    SHIM_ENTER(C_GetAttributeValue, NULL);
    if (ulCount == 1 && pTemplate[0].type == CKA_EC_POINT && env_is_one("CSIGN_SHIM_RAW_EC_POINT"))
        return raw_ec_point(hSession, hObject, &pTemplate[0]);
    rv = REAL(C_GetAttributeValue, (hSession, hObject, pTemplate, ulCount));
    if (!env_is_one("CSIGN_SHIM_ALWAYS_AUTH") ||
        (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE))
        return rv;
    for (CK_ULONG i = 0; i < ulCount; i++) {
        if (pTemplate[i].type != CKA_ALWAYS_AUTHENTICATE ||
            object_class(hSession, hObject) != CKO_PRIVATE_KEY)
            continue;
        if (pTemplate[i].pValue != NULL && pTemplate[i].ulValueLen >= sizeof(CK_BBOOL))
            *(CK_BBOOL *)pTemplate[i].pValue = CK_TRUE;
        pTemplate[i].ulValueLen = sizeof(CK_BBOOL);
    }
    return rv;
}

static CK_RV shim_C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    SHIM_ENTER(C_SetAttributeValue, NULL);
    return REAL(C_SetAttributeValue, (hSession, hObject, pTemplate, ulCount));
}

static CK_RV shim_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                    CK_ULONG ulCount)
{
    SHIM_ENTER(C_FindObjectsInit, NULL);
    return REAL(C_FindObjectsInit, (hSession, pTemplate, ulCount));
}

static CK_RV shim_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                                CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    SHIM_ENTER(C_FindObjects, NULL);
    CK_RV rv = REAL(C_FindObjects, (hSession, phObject, ulMaxObjectCount, pulObjectCount));
    if (rv == CKR_OK && env_is_one("CSIGN_SHIM_FIND_DOUBLE") && pulObjectCount != NULL &&
        *pulObjectCount == 1 && ulMaxObjectCount == 2) {
        phObject[1] = phObject[0];
        *pulObjectCount = 2;
    }
    return rv;
}

static CK_RV shim_C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    SHIM_ENTER(C_FindObjectsFinal, NULL);
    return REAL(C_FindObjectsFinal, (hSession));
}

static void force_bool(CK_ATTRIBUTE *tmpl, CK_ULONG *count, CK_ATTRIBUTE_TYPE type, CK_BBOOL *value)
{
    CK_ULONG i;

    for (i = 0; i < *count; i++) {
        if (tmpl[i].type == type) {
            tmpl[i].pValue = value;
            tmpl[i].ulValueLen = sizeof(*value);
            return;
        }
    }
    tmpl[*count].type = type;
    tmpl[*count].pValue = value;
    tmpl[*count].ulValueLen = sizeof(*value);
    (*count)++;
}

static CK_RV
shim_C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                       CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                       CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                       CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    CK_ATTRIBUTE priv[SHIM_MAX_TEMPLATE + 2];
    CK_ULONG priv_count = ulPrivateKeyAttributeCount;
    CK_BBOOL not_sensitive = CK_FALSE;
    CK_BBOOL extractable = CK_TRUE, can_decrypt = CK_TRUE;
    const char *ignore = getenv("CSIGN_SHIM_IGNORE_TEMPLATE");
    int decrypt = ignore != NULL && strcmp(ignore, "decrypt") == 0;

    SHIM_ENTER(C_GenerateKeyPair, NULL);
    if (!env_is_one("CSIGN_SHIM_IGNORE_TEMPLATE") && !decrypt)
        return REAL(C_GenerateKeyPair,
                    (hSession, pMechanism, pPublicKeyTemplate, ulPublicKeyAttributeCount,
                     pPrivateKeyTemplate, ulPrivateKeyAttributeCount, phPublicKey, phPrivateKey));

    /* Passing the template through unchanged would hide the simulated fault. */
    if (priv_count > SHIM_MAX_TEMPLATE)
        return CKR_GENERAL_ERROR;
    if (priv_count > 0 && pPrivateKeyTemplate == NULL)
        return CKR_ARGUMENTS_BAD;
    if (priv_count > 0)
        memcpy(priv, pPrivateKeyTemplate, priv_count * sizeof(priv[0]));
    if (decrypt) {
        force_bool(priv, &priv_count, CKA_DECRYPT, &can_decrypt);
    } else {
        force_bool(priv, &priv_count, CKA_SENSITIVE, &not_sensitive);
        force_bool(priv, &priv_count, CKA_EXTRACTABLE, &extractable);
    }
    return REAL(C_GenerateKeyPair,
                (hSession, pMechanism, pPublicKeyTemplate, ulPublicKeyAttributeCount, priv,
                 priv_count, phPublicKey, phPrivateKey));
}

static CK_RV shim_C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                             CK_OBJECT_HANDLE hKey)
{
    char buf[32];
    CK_RV rv;

    SHIM_ENTER(C_SignInit,
               pMechanism ? mech_name(pMechanism->mechanism, buf, sizeof(buf)) : "NULL");
    if (pMechanism != NULL && !mech_offered(pMechanism->mechanism))
        return CKR_MECHANISM_INVALID;
    rv = REAL(C_SignInit, (hSession, pMechanism, hKey));
    shim_session_state *st = session_state(hSession);
    st->sign_pending = rv == CKR_OK;
    st->context_ok = 0;
    return rv;
}

static CK_RV shim_C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                         CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv;

    SHIM_ENTER(C_Sign, NULL);
    shim_session_state *st = session_state(hSession);
    if (env_is_one("CSIGN_SHIM_ALWAYS_AUTH") && !st->context_ok) {
        /* Ends the operation, as a token refusing it would. */
        unsigned char junk[1024];
        CK_ULONG junk_len = sizeof(junk);
        (void)REAL(C_Sign, (hSession, pData, ulDataLen, junk, &junk_len));
        st->sign_pending = 0;
        return CKR_USER_NOT_LOGGED_IN;
    }
    rv = REAL(C_Sign, (hSession, pData, ulDataLen, pSignature, pulSignatureLen));
    if (pSignature != NULL && rv != CKR_BUFFER_TOO_SMALL)
        st->sign_pending = st->context_ok = 0;
    corrupt_signature(rv, pSignature, pulSignatureLen);
    return rv;
}

static CK_RV shim_C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    SHIM_ENTER(C_SignUpdate, NULL);
    return REAL(C_SignUpdate, (hSession, pPart, ulPartLen));
}

static CK_RV shim_C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                              CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv;

    SHIM_ENTER(C_SignFinal, NULL);
    rv = REAL(C_SignFinal, (hSession, pSignature, pulSignatureLen));
    corrupt_signature(rv, pSignature, pulSignatureLen);
    return rv;
}

static CK_RV shim_load(void)
{
    const char *path = getenv("CSIGN_SHIM_MODULE");
    CK_C_GetFunctionList get_list;
    CK_FUNCTION_LIST_PTR list = NULL;
    void *handle;
    CK_RV rv;

    if (path == NULL || *path == '\0')
        path = SHIM_DEFAULT_MODULE;
    /* Never dlclose()d: callers keep pointers into the module for the process lifetime. */
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
        return CKR_GENERAL_ERROR;
    *(void **)(&get_list) = dlsym(handle, "C_GetFunctionList");
    if (get_list == NULL)
        return CKR_GENERAL_ERROR;
    rv = get_list(&list);
    if (rv != CKR_OK)
        return rv;
    if (list == NULL)
        return CKR_GENERAL_ERROR;

    shim_list = *list;
    /*
     * The copy is a 2.x-sized list; advertising 3.x would invite callers to
     * read 3.0 entries past its end.
     */
    if (shim_list.version.major > 2) {
        shim_list.version.major = 2;
        shim_list.version.minor = 40;
    }

#define SHIM_INSTALL(name) shim_list.name = shim_##name;
    SHIM_FUNCTIONS(SHIM_INSTALL)
#undef SHIM_INSTALL

    real = list;
    return CKR_OK;
}

__attribute__((visibility("default"))) CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    CK_RV rv = CKR_OK;

    if (ppFunctionList == NULL)
        return CKR_ARGUMENTS_BAD;

    pthread_mutex_lock(&shim_lock);
    if (real == NULL)
        rv = shim_load();
    pthread_mutex_unlock(&shim_lock);

    if (rv == CKR_OK)
        *ppFunctionList = &shim_list;
    return rv;
}
