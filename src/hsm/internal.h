/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_HSM_INTERNAL_H
#define CSIGN_HSM_INTERNAL_H

/* Shared by the files of the token layer only. */

#include <p11-kit/pkcs11.h>
#include <stdatomic.h>
#include <p11-kit/uri.h>

#include "hsm/hsm.h"

struct hsm_uri {
    P11KitUri *p;
    char *text;
};

struct hsm {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    bool finalize; /* we initialised the module, so we finalise it */
    char *path;
    char manufacturer[33];
    char description[33];
    CK_SESSION_HANDLE session;
    bool have_session;
    bool logged_in;
    hsm_token token;             /* the session's token */
    struct sign_ref **sign_refs; /* for token-backed keys (signkey.c) */
    size_t nsign_refs;
    secret *ctx_pin;     /* the user PIN, kept for context-specific logins */
    bool ctx_pinpad;     /* logged in on a PIN pad: context logins pass NULL */
    bool mech_pss;       /* CKM_RSA_PKCS_PSS signs (else PSS uses CKM_RSA_X_509) */
    bool rw;             /* the session is read-write */
    CK_RV fail_rv;       /* the failed call hsm_fail() recorded, for hsm_retry() */
    unsigned unreadable; /* slots left out of the last listing (hsm_tokens) */
    CK_RV unreadable_rv; /* and what they answered */
    CK_RV read_rv;       /* the first failed attribute read since reset (not
                          * "no such attribute" or "sensitive") */

    /* With mech_hashed, RSA signatures give the token the whole message for
     * mech_hash (CKM_SHA256_RSA_PKCS, ...), as hsm_sig_check() chose. */
    bool mech_hashed;
    CK_MECHANISM_TYPE mech_hash;

    /* Parallel signing (lanes.c): lane 0 is session, lanes 1.. are further
     * sessions on its token sharing the login; NULL until hsm_lanes_open. */
    struct hsm_lane *lanes;
    unsigned nlanes;
};

/* "CKR_PIN_INCORRECT" or "CKR_0x...". Static storage. */
const char *hsm_ckr_name(CK_RV rv);

/* Fills t (zeroed first) from a slot's and its token's information: the
 * labels trimmed of their padding, the flags, its pkcs11: URI. Fails only
 * when out of memory (err_oom()). tokeninfo.c. */
csign_rc hsm_token_fill(CK_SLOT_ID slot, const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti,
                        hsm_token *t);

/* Copies a blank-padded PKCS#11 string into a NUL-terminated one without
 * the trailing blanks. dst has room for n + 1 bytes. */
void hsm_unpad(char *dst, const CK_UTF8CHAR *src, size_t n);

/* Formats a URI naming the token (label, serial) and, when cls is not
 * (CK_ULONG)-1, an object of that class with the given label and id.
 * Returns a malloc'd string or NULL. */
char *hsm_format_uri(const hsm_token *tok, CK_OBJECT_CLASS cls, const char *label,
                     const unsigned char *id, size_t id_len);

/* Whether tok matches the URI's token and slot attributes. */
bool hsm_uri_match_token(const hsm_uri *uri, const CK_TOKEN_INFO *ti, CK_SLOT_ID slot,
                         const CK_SLOT_INFO *si);

/* Whether an object matches the URI's object attributes (class, label,
 * id). cls (CK_ULONG)-1 matches any class. */
bool hsm_uri_match_object(const hsm_uri *uri, CK_OBJECT_CLASS cls, const char *label,
                          const unsigned char *id, size_t id_len);

/* Reads one attribute into a new buffer (*val, NUL-terminated for
 * convenience; caller frees). Returns the module's CK_RV. */
CK_RV hsm_get_attr(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, unsigned char **val,
                   size_t *len);
hsm_bool hsm_get_bool(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);

/*
 * Reads up to 8 attributes in one call to the module (each call costs a
 * module such as SoftHSM a look at its files), falling back to one call
 * each where the module refuses the batch.
 *
 * hsm_get_fixed: t[i].pValue points to a buffer of exactly t[i].ulValueLen
 * bytes (a CK_BBOOL, a CK_ULONG); afterwards t[i].ulValueLen is
 * CK_UNAVAILABLE_INFORMATION for each attribute that could not be read.
 *
 * hsm_get_attrs: t[i].pValue is ignored on entry; afterwards it is a new
 * buffer (NUL-terminated for convenience; caller frees) holding
 * t[i].ulValueLen bytes, or NULL when the attribute could not be read.
 */
void hsm_get_fixed(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, size_t n);
void hsm_get_attrs(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, size_t n);
CK_ULONG hsm_get_ulong(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt);

/* All objects of one class in the session, in *objs (free()). The reason
 * names the call that failed (attrs.c). */
csign_rc hsm_find_all(hsm *h, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE **objs, size_t *n);

/* As hsm_find_all, narrowed on the token to the given CKA_LABEL and CKA_ID
 * (each NULL for any): each object read costs a call, through a network
 * client a round trip. */
csign_rc hsm_find_named(hsm *h, CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *label,
                        const CK_ATTRIBUTE *id, CK_OBJECT_HANDLE **objs, size_t *n);

/* The CKA_LABEL and CKA_ID a URI names (NULL when it names none, or when
 * uri is NULL). */
void hsm_uri_names(const hsm_uri *uri, const CK_ATTRIBUTE **label, const CK_ATTRIBUTE **id);

/* ---- Token-backed keys (signkey.c, signrsa.c) -------------------------- */

struct rsa_st;
struct engine_st;

/* What a token-backed key's method needs to reach the token. */
typedef struct sign_ref {
    hsm *h;
    CK_OBJECT_HANDLE obj;
    bool ctx_login;          /* CKA_ALWAYS_AUTHENTICATE: log in before each C_Sign */
    atomic_bool ctx_refused; /* a context login failed: do not try again (any lane) */
} sign_ref;

/* Releases what token-backed keys referred to (signkey.c). */
void hsm_signkeys_release(hsm *h);

/* The token key behind rsa: the sign_ref hsm_rsa_attach() gave it; NULL
 * for any other RSA key, which has none (signrsa.c). */
sign_ref *hsm_rsa_ref(const struct rsa_st *rsa);

/* Makes r the token key behind rsa (signrsa.c). */
bool hsm_rsa_attach(struct rsa_st *rsa, sign_ref *r);

/*
 * One signature by the token: C_SignInit with m, then C_Sign over in
 * (with a context-specific login between them when the key needs one).
 * A failure that may pass is tried again on a new session, except for
 * keys that need a context login and for CKR_OBJECT_HANDLE_INVALID or
 * CKR_KEY_HANDLE_INVALID (the same handle again). *outlen is the room at out on entry and
 * the signature's length on return. On failure the reason names the call
 * and its CKR code (signcall.c).
 */
CK_RV hsm_token_sign(sign_ref *r, CK_MECHANISM *m, const unsigned char *in, size_t inlen,
                     unsigned char *out, CK_ULONG *outlen);

/* The in-memory ENGINE that gives token-backed RSA keys their
 * EVP_PKEY_METHOD (signrsa.c), made on the first call; NULL when it
 * cannot be made. */
struct engine_st *hsm_rsa_engine(void);

/* The mechanism that hashes with the digest (OpenSSL's NID_sha256,
 * NID_sha384, NID_sha512) and signs by RSA PKCS#1 v1.5 or, with pss,
 * RSASSA-PSS: CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, ... (mechs.c).
 * False for other digests. */
bool hsm_rsa_hashing_mech(int digest_nid, bool pss, CK_MECHANISM_TYPE *mech);

/* Before generating (keycaps.c): CSIGN_ETOKEN naming the token's limit
 * when C_GetMechanismInfo says the token cannot make this key type;
 * CSIGN_OK when it can or does not say. */
csign_rc hsm_keygen_supported(hsm *h, const hsm_keyspec *spec);

/* After C_GenerateKeyPair returned rv: CSIGN_ETOKEN saying that the token
 * cannot make this key type when rv means that, else CSIGN_OK and no
 * error is set. */
csign_rc hsm_keygen_refused(hsm *h, const hsm_keyspec *spec, unsigned long rv);

/* ---- Transient failures (retry.c) ------------------------------------- */

/* At most this many tries of one operation: the first and 4 retries,
 * waiting about 10, 40, 160 and 640 ms (plus up to half again at random,
 * so that jobs that collided do not collide again). */
#define HSM_TRIES 5

/* Whether a call that failed with rv may succeed when tried again:
 * CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED, CKR_DEVICE_ERROR,
 * CKR_DEVICE_MEMORY, CKR_TOKEN_NOT_RECOGNIZED and CKR_OBJECT_HANDLE_INVALID,
 * which busy tokens (and SoftHSM while another process rewrites its files)
 * return now and then. (A handle that is invalid may be valid at a new
 * look at the objects; hsm_token_sign() does not retry it with the same
 * handle.) */
bool hsm_rv_transient(CK_RV rv);

/* Records that call failed with rv (for hsm_retry) and sets the reason
 * "CALL on token 'LABEL' failed: CKR_..." (before a token is chosen: "CALL
 * in module 'PATH' failed: ..."). Returns CSIGN_ETOKEN. */
csign_rc hsm_fail(hsm *h, const char *call, CK_RV rv);
#if defined(__clang_analyzer__) && !defined(CSIGN_RETRY_C)
/* That return value, for clang's static analyzer: see sys/err.h. */
#define hsm_fail(h, call, rv) (hsm_fail((h), (call), (rv)), CSIGN_ETOKEN)
#endif

/* After a failed try: when the failure hsm_fail() recorded is transient,
 * tries are left and no signal asked to stop, tells the retry note (the
 * current reason), waits and returns true; else false, and the reason is
 * left as it was. Forgets the recorded failure either way. *attempt
 * starts at 0. */
bool hsm_retry(hsm *h, unsigned *attempt);

/* Like hsm_retry() for a failure that has no CK_RV (the reason says what
 * it was): waits unless tries are used up or a signal asked to stop. */
bool hsm_backoff(unsigned *attempt);

/* Notes a C_GetAttributeValue that failed in a way that may pass
 * (hsm_rv_transient) in h->read_rv. */
void hsm_note_read(hsm *h, CK_RV rv);

/* The reason hsm_fail() sets, without recording the failure for
 * hsm_retry(): for calls on parallel lanes, which decide on rv themselves.
 * Returns CSIGN_ETOKEN. */
csign_rc hsm_fail_say(hsm *h, const char *call, CK_RV rv);

/* ---- Parallel signing sessions (lanes.c) ------------------------------ */

/* The session the calling thread signs on: its lane's (hsm_lane_use()),
 * else the run's one session. */
CK_SESSION_HANDLE hsm_lane_session(hsm *h);

/* Opens a new session in place of the calling thread's (without logging
 * out: the login belongs to the token, not the session) and closes the
 * old one, for a retry after a failure that may have spoiled it. */
csign_rc hsm_lane_renew(hsm *h);

/* Closes the further lanes' sessions (hsm_session_close() calls it). */
void hsm_lanes_close(hsm *h);

/* ---- Bounded calls (watch.c, proxy.c; see hsm/hsm_watch.h) ------------ */

/* Starts watching calls into the module at path (the first caller starts
 * the watchdog thread); every attach is matched by one detach, the last
 * of which stops the thread. CSIGN_EINTERNAL when the thread cannot start. */
csign_rc hsm_watch_attach(const char *path);
void hsm_watch_detach(void);

/* Notes a call under way (kind says what id is) and returns a ticket for
 * hsm_watch_end(). name must be static. */
enum { HSM_CALL_PLAIN, HSM_CALL_SLOT, HSM_CALL_SESSION };
int hsm_watch_begin(const char *name, int kind, CK_ULONG id);
void hsm_watch_end(int ticket);

/* What the watchdog learns to name a token: a slot's label (32 padded
 * bytes), a session's slot; and what it forgets (all, the sessions of
 * the slot id, or the session id). */
void hsm_watch_learn_label(CK_SLOT_ID slot, const CK_UTF8CHAR *label);
void hsm_watch_learn_session(CK_SESSION_HANDLE session, CK_SLOT_ID slot);
void hsm_watch_forget_sessions(bool all, bool by_slot, CK_ULONG id);

/* The stand-in function list for module (*out, static storage) whose
 * entries pass each call through to module's, watched. One module at a
 * time: wrapping another while one is wrapped is CSIGN_EINTERNAL. Each
 * wrap is matched by one release. */
csign_rc hsm_proxy_wrap(CK_FUNCTION_LIST_PTR module, CK_FUNCTION_LIST_PTR *out);
void hsm_proxy_release(void);

/* After a user login: keeps a copy of pin (NULL: a PIN pad) for the
 * context-specific logins of keys with CKA_ALWAYS_AUTHENTICATE
 * (signkey.c). */
csign_rc hsm_keep_pin(hsm *h, const secret *pin);

/* ---- Remote tokens (module.c) ------------------------------------------- */

/* What p11-kit's client says in C_GetInfo's library description when it
 * could not reach its server: it then shows no slot at all. */
#define HSM_P11KIT_NO_CONNECTION "p11-kit (no connection)"

/* Sets the reason for a p11-kit client that cannot reach its server (rv:
 * what C_Initialize answered, CKR_OK when it succeeded without a
 * connection), naming the address from P11_KIT_SERVER_ADDRESS. Returns
 * CSIGN_ETOKEN. */
csign_rc hsm_remote_unreachable(const hsm *h, CK_RV rv);

#endif
