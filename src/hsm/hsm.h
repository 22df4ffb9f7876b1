/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_HSM_H
#define CSIGN_HSM_H

#include <stdbool.h>
#include <stddef.h>

#include "sys/err.h"
#include "sys/secret.h"

struct evp_pkey_st;

/*
 * The token layer. It is the only code that loads a PKCS#11 module, calls a
 * PKCS#11 function or includes a PKCS#11 header; nothing it exports uses
 * PKCS#11 types. Errors: CSIGN_ETOKEN for module, token and PIN problems,
 * CSIGN_EUSAGE for URIs and requests that cannot work as given, with a
 * one-line reason (err_msg()). No function prints, and no reason or
 * returned string ever contains a PIN.
 */

/* ---- PKCS#11 URIs (RFC 7512), parsed with p11-kit ---------------------- */

typedef struct hsm_uri hsm_uri;

/*
 * Parses text ("pkcs11:token=dev;object=release;type=private", with id=,
 * serial=, slot-id=, manufacturer=, model=, and the module-path and
 * pin-source query attributes). Refuses, with CSIGN_EUSAGE: bad syntax,
 * attributes p11-kit does not know (a typo must not widen a match), and
 * pin-value (a PIN in a URI shows in the process list). *out is owned by
 * the caller.
 */
csign_rc hsm_uri_parse(const char *text, hsm_uri **out);
void hsm_uri_free(hsm_uri *uri);

/* The module-path and pin-source query attributes, or NULL. Borrowed. */
const char *hsm_uri_module_path(const hsm_uri *uri);
const char *hsm_uri_pin_source(const hsm_uri *uri);

/* The URI's object label (object=) as a new NUL-terminated string, or NULL
 * when absent; *len is its length in bytes (a NUL inside shows as len
 * larger than strlen). The caller frees it. */
char *hsm_uri_object_label(const hsm_uri *uri, size_t *len);

/* The URI's id= bytes, borrowed (*len 0 and NULL when absent). */
const unsigned char *hsm_uri_object_id(const hsm_uri *uri, size_t *len);

/* Whether the URI names an object (object=, id= or type=). */
bool hsm_uri_names_object(const hsm_uri *uri);

/* A copy of text for messages, with any pin-value attribute's value
 * replaced by "(redacted)". Caller frees; NULL when out of memory. */
char *hsm_uri_redact(const char *text);

/* ---- Modules ---------------------------------------------------------- */

typedef struct {
    char *path;      /* module to load */
    bool is_default; /* the built-in SoftHSM with csign's own token store */
    char *store;     /* with is_default: the token store folder, else NULL */
} hsm_module_choice;

/*
 * Chooses the module: --module (opt), else the URI's module-path (both
 * given and different: CSIGN_EUSAGE), else $CSIGN_MODULE, else the built-in
 * default: the SoftHSM2 module from the usual places, with csign's token
 * store under ${XDG_DATA_HOME:-$HOME/.local/share}/csign/. For the default,
 * and for a module chosen by name that is that same SoftHSM2 file, unless
 * SOFTHSM2_CONF is already set, the store and its SoftHSM config file are
 * created (mode 0700 folder) and SOFTHSM2_CONF is pointed at it.
 * uri may be NULL. Fill *out; release with hsm_module_choice_clear().
 */
csign_rc hsm_module_resolve(const char *opt, const hsm_uri *uri, hsm_module_choice *out);
void hsm_module_choice_clear(hsm_module_choice *c);

/* ---- A loaded module --------------------------------------------------- */

typedef struct hsm hsm;

/* Loads and initialises the module at path. *out owned by the caller,
 * released with hsm_close(). */
csign_rc hsm_open(const char *path, hsm **out);

/* Logs out, closes the session and unloads the module. NULL is a no-op. */
void hsm_close(hsm *h);

/* Module manufacturer and description from C_GetInfo. Borrowed. */
const char *hsm_module_manufacturer(const hsm *h);
const char *hsm_module_description(const hsm *h);
const char *hsm_module_path(const hsm *h);

/* ---- Tokens ------------------------------------------------------------ */

typedef enum {
    HSM_PIN_OK,
    HSM_PIN_NOT_SET,
    HSM_PIN_COUNT_LOW,
    HSM_PIN_FINAL_TRY,
    HSM_PIN_LOCKED,
    HSM_PIN_TO_BE_CHANGED,
} hsm_pin_state;

typedef struct {
    unsigned long slot_id;
    char label[33]; /* trailing blanks removed */
    char manufacturer[33];
    char model[17];
    char serial[17];
    char slot_description[65];
    bool initialized;
    bool hardware; /* false: a software token (the slot lacks CKF_HW_SLOT) */
    bool removable;
    bool login_required;
    bool pin_pad; /* protected authentication path */
    bool write_protected;
    hsm_pin_state pin_state;
    bool so_pin_locked;    /* CKF_SO_PIN_LOCKED */
    bool so_pin_final_try; /* CKF_SO_PIN_FINAL_TRY */
    unsigned long min_pin, max_pin;
    char *uri; /* pkcs11:token=...;serial=... naming this token */
} hsm_token;

/* Every slot with a token present, in the module's order; with a filter
 * URI, only tokens it matches. Uninitialised tokens are included (see
 * .initialized). *out owned by the caller, free with hsm_tokens_free(). */
csign_rc hsm_tokens(hsm *h, const hsm_uri *filter, hsm_token **out, size_t *n);

/* Why the last hsm_tokens() left slots out: "2 slot(s) answered
 * CKR_TOKEN_NOT_RECOGNIZED" (an unknown card in a reader), in buf; NULL
 * when it left none out. */
const char *hsm_unreadable_slots(const hsm *h, char *buf, size_t size);
void hsm_tokens_free(hsm_token *t, size_t n);

/* Copies a token description (for keeping one out of a list). */
csign_rc hsm_token_copy(const hsm_token *src, hsm_token *dst);
void hsm_token_clear(hsm_token *t);

/*
 * Finds the one initialised token the URI names. No match: CSIGN_ETOKEN;
 * more than one: CSIGN_EUSAGE; both list the candidates' URIs. uri may be
 * NULL when the module has exactly one initialised token.
 */
csign_rc hsm_token_find(hsm *h, const hsm_uri *uri, hsm_token *out);

/* A human name for a PIN state ("ok", "count low", ...). */
const char *hsm_pin_state_name(hsm_pin_state s);

/* ---- Retries --------------------------------------------------------------- */

/*
 * Calls that change nothing on the token (opening a session, reading token
 * information and attributes, finding objects, and C_Sign, tried again on
 * a new session) are retried when they fail in a way that may pass (a busy
 * token, SoftHSM while another process writes its files): at most 4
 * retries within about 2 s. A wrong PIN is never retried and C_Login is
 * never called twice for one PIN. Before each retry the note (if set) gets
 * the reason ("C_Sign on token 'dev' failed: CKR_GENERAL_ERROR"), which
 * retry it is (1 to max) and the wait in milliseconds. It runs on the
 * thread that retries and must not call into the hsm layer.
 */
typedef void (*hsm_retry_note)(const char *reason, unsigned retry, unsigned max, unsigned wait_ms);
void hsm_set_retry_note(hsm_retry_note fn);

/* ---- Session and login -------------------------------------------------- */

/* Opens the run's one session on tok's slot (read-write when rw). */
csign_rc hsm_session_open(hsm *h, const hsm_token *tok, bool rw);

/* Logs out (if logged in) and closes the session; a no-op without one. */
void hsm_session_close(hsm *h);

typedef enum {
    HSM_LOGIN_NONE,   /* the token needs no login */
    HSM_LOGIN_PIN,    /* a PIN must be read and passed to hsm_login() */
    HSM_LOGIN_PINPAD, /* the reader takes the PIN; call hsm_login() with NULL */
} hsm_login_need;

/*
 * Checks, before a PIN is read, whether and how to log in, from fresh token
 * flags: a locked PIN or an unset PIN is refused; on the final try login is
 * refused unless allow_final_try. *count_low is set when the token says
 * that wrong PINs were entered recently. No login is needed when the
 * session is already logged in, or when the token requires no login and
 * has no user PIN. Needs an open session.
 */
csign_rc hsm_login_check(hsm *h, bool allow_final_try, hsm_login_need *need, bool *count_low);

/*
 * Exactly one C_Login as the user, never retried. pin may be NULL for a
 * PIN pad. A wrong PIN: CSIGN_ETOKEN "PIN rejected by token 'LABEL'"
 * (followed by what the token now says about remaining tries). The caller
 * wipes the PIN right after this returns. On success the hsm keeps a copy
 * of the PIN in secure memory for the context-specific logins a key with
 * CKA_ALWAYS_AUTHENTICATE needs before each signature; hsm_key_private()
 * wipes it when the key does not need it, hsm_close() in any case.
 */
csign_rc hsm_login(hsm *h, const secret *pin);

/* Whether the open session is logged in as the user. */
bool hsm_logged_in(hsm *h);

/* ---- Parallel signing sessions ("lanes") --------------------------------- */

/* The most lanes one run may ask for. */
#define HSM_LANES_MAX 64

/*
 * After the login: opens further sessions on the session's token, so that
 * want threads can sign at once (lane 0 is the run's session; a login
 * belongs to the token, so every lane is logged in). Fewer are opened
 * when the token's ulMaxSessionCount (ulMaxRwSessionCount for read-write
 * sessions), less the sessions already open, allows fewer, or when
 * C_OpenSession refuses one; *got is then the number of lanes (at least
 * 1) and why (ERR_MAX bytes) says why. Never fails: a token that gives no
 * further session signs on one. Closed by hsm_session_close().
 */
void hsm_lanes_open(hsm *h, unsigned want, unsigned *got, char *why);

/* From now on the calling thread's token-backed keys sign on lane i
 * (0: the run's session). Call from each signing thread. */
void hsm_lane_use(hsm *h, unsigned i);

/* Lane i failed: its session is closed (lane 0's stays open, as it holds
 * the login) and it is used no more; hsm_lane_alive() then says false. */
void hsm_lane_drop(hsm *h, unsigned i);
bool hsm_lane_alive(const hsm *h, unsigned i);

/* ---- Objects ----------------------------------------------------------- */

typedef enum { HSM_KEY_OTHER, HSM_KEY_RSA, HSM_KEY_EC, HSM_KEY_EDDSA } hsm_key_type;

/* Tri-state for attributes csign could not read (private key not visible). */
typedef enum { HSM_UNKNOWN = -1, HSM_NO = 0, HSM_YES = 1 } hsm_bool;

typedef struct {
    char *label; /* may be "" */
    unsigned char *id;
    size_t id_len;
    char *uri; /* names the private key: pass it to --key */
    hsm_key_type type;
    unsigned bits;    /* RSA modulus or EC field size; 0 when unknown */
    char curve[32];   /* EC curve name, "" otherwise */
    bool has_private; /* a private key object is visible */
    bool has_public;  /* a public key object is visible */
    hsm_bool sensitive, always_sensitive, extractable, never_extractable, local, sign;
    unsigned long priv_handle; /* object handles in this session; 0 when absent */
    unsigned long pub_handle;
    bool always_auth; /* CKA_ALWAYS_AUTHENTICATE: a context login before each signature */
} hsm_key;

typedef struct {
    char *label;
    unsigned char *id;
    size_t id_len;
    char *uri;
    unsigned char *der; /* CKA_VALUE */
    size_t der_len;
    bool authority; /* CKA_CERTIFICATE_CATEGORY is authority */
    bool ca;        /* authority, or no category (as pkcs11-tool writes them)
                       and basicConstraints cA TRUE */
    unsigned long handle;
} hsm_cert;

/* Keys (public and private objects paired by CKA_ID and label) and
 * certificates visible in the open session, optionally filtered by the
 * URI's object attributes. Free with hsm_keys_free / hsm_certs_free. */
csign_rc hsm_keys(hsm *h, const hsm_uri *filter, hsm_key **out, size_t *n);
void hsm_keys_free(hsm_key *k, size_t n);
csign_rc hsm_certs(hsm *h, const hsm_uri *filter, hsm_cert **out, size_t *n);
void hsm_certs_free(hsm_cert *c, size_t n);

/*
 * The one rule for which certificates belong to a key, used wherever csign
 * links the two: never a CA certificate (hsm_cert.ca); for a key with a CKA_ID, a
 * certificate with the same CKA_ID; for a key without one (as pkcs11-tool
 * makes them without --id), a certificate whose public key is pub, the
 * key's public key (NULL: unknown, so nothing belongs to it). Two keys
 * without ids never share a certificate this way.
 */
bool hsm_cert_is_keys(const hsm_cert *c, const hsm_key *k, const struct evp_pkey_st *pub);

/* ---- Keys ---------------------------------------------------------------- */

/*
 * The one key that uri names in the open session. With need_private only
 * keys whose private key object is visible count (log in first: private
 * keys are usually private objects); without it a public key object is
 * enough (to check a certificate before logging in). None: CSIGN_ETOKEN;
 * several: CSIGN_EUSAGE; both list the visible keys' URIs. *out is owned
 * by the caller (hsm_key_clear()).
 */
csign_rc hsm_key_find(hsm *h, const hsm_uri *uri, bool need_private, hsm_key *out);
void hsm_key_clear(hsm_key *k);

/* The key's public key as a software EVP_PKEY (from its public key object,
 * else from its certificate with k's CKA_ID). Caller frees. */
csign_rc hsm_key_public(hsm *h, const hsm_key *k, struct evp_pkey_st **out);

/*
 * A token-backed EVP_PKEY for k's private key. ECDSA: the token signs the
 * hash (CKM_ECDSA). RSA, through EVP_DigestSign* (as OpenSSL's CMS and
 * X.509 code sign): the token gets the whole message when hsm_sig_check()
 * chose a mechanism that hashes on the token (CKM_SHA256_RSA_PKCS,
 * CKM_SHA256_RSA_PKCS_PSS, ... for the digest and padding in use), else
 * the hash (CKM_RSA_PKCS over the DigestInfo; RSASSA-PSS through
 * CKM_RSA_PKCS_PSS when hsm_sig_check() found the token offers it, else
 * padded by OpenSSL and signed with CKM_RSA_X_509). A key with
 * CKA_ALWAYS_AUTHENTICATE gets a context-specific login with the kept PIN
 * (NULL on a PIN pad) between each C_SignInit and C_Sign; one that the
 * token refuses is not tried again for the rest of the run. Needs a
 * logged-in session. pub is k's public key when the caller has it
 * (hsm_key_public()), else NULL and it is read again. The caller frees it
 * before hsm_close().
 */
csign_rc hsm_key_private(hsm *h, const hsm_key *k, const struct evp_pkey_st *pub,
                         struct evp_pkey_st **out);

/* The signature schemes csign makes with a token key. */
typedef enum { HSM_SIG_PKCS1, HSM_SIG_PSS, HSM_SIG_ECDSA } hsm_sig;

/*
 * Reads the session token's mechanisms (C_GetMechanismList, and
 * C_GetMechanismInfo for CKF_SIGN) and checks that one of them makes sig
 * with the digest digest_nid (OpenSSL's NID_sha256, NID_sha384 or
 * NID_sha512; ignored for ECDSA). PKCS#1 v1.5 needs the hashing
 * CKM_SHA<n>_RSA_PKCS (preferred) or CKM_RSA_PKCS; RSASSA-PSS
 * CKM_SHA<n>_RSA_PKCS_PSS (preferred), CKM_RSA_PKCS_PSS or CKM_RSA_X_509
 * (in that order); ECDSA CKM_ECDSA. Other digests have no hashing
 * mechanism. None: CSIGN_ETOKEN "token 'LABEL' offers no mechanism for
 * ... signing with SHA-256 (needs ...)", naming every mechanism that
 * would do. Needs no login: call it before the PIN is read. Remembers
 * the choice for the keys of hsm_key_private().
 */
csign_rc hsm_sig_check(hsm *h, hsm_sig sig, int digest_nid);

typedef struct {
    hsm_key_type type; /* HSM_KEY_EC or HSM_KEY_RSA */
    unsigned bits;     /* RSA: 2048, 3072, 4096; EC: 256, 384, 521 */
} hsm_keyspec;

/*
 * Generates a key pair on the token (read-write, logged-in session) with
 * an explicit template: the private key is token, private, sensitive,
 * not extractable, can sign, cannot decrypt, unwrap or derive; the public
 * key is a public token object that cannot wrap (its other usage is left
 * to the token). Both get label and CKA_ID: id when id_len > 0, else the
 * SHA-1 of the public key (RFC 5280 key identifier).
 *
 * Refuses (CSIGN_ETOKEN, naming the token's limit) a key type the token
 * says it cannot make, before or when generating; refuses (CSIGN_EUSAGE,
 * naming the object) a label or id already on the token. Reads back the
 * private key's template and CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE
 * and CKA_LOCAL; a token that did not honour the template gets the pair
 * deleted and CSIGN_ETOKEN naming the attribute.
 * Any failure after generation deletes the pair. *out describes the key.
 */
csign_rc hsm_keygen(hsm *h, const char *label, const unsigned char *id, size_t id_len,
                    const hsm_keyspec *spec, hsm_key *out);

/* ---- Certificates on the token ----------------------------------------- */

/*
 * Stores a DER certificate as a token object (CKC_X_509, public) with label
 * and id, CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER and the category
 * "authority" (CA certificates) or "token user". Read-write session.
 * *handle (when not NULL) receives the new object's handle.
 */
csign_rc hsm_cert_store(hsm *h, const unsigned char *der, size_t len, const char *label,
                        const unsigned char *id, size_t id_len, bool authority,
                        unsigned long *handle);

/* Destroys an object of the open session. */
csign_rc hsm_object_destroy(hsm *h, unsigned long handle);

/* ---- Token set-up -------------------------------------------------------- */

/*
 * Initialises a token labelled label (at most 32 bytes) with so_pin, then
 * sets its user PIN to user_pin. Uses the first slot holding an
 * uninitialised token; an initialised token with the same label is
 * refused (CSIGN_EUSAGE) unless force, which re-initialises that token
 * (erasing it; its SO PIN must be so_pin). Re-initialising is refused when
 * the SO PIN is locked, or on its final try unless allow_final_try.
 * *out describes the new token; it is written only on success.
 */
csign_rc hsm_init_token(hsm *h, const char *label, const secret *so_pin, const secret *user_pin,
                        bool force, bool allow_final_try, hsm_token *out);

/* ---- Remote tokens ------------------------------------------------------- */

/*
 * Whether the loaded module is p11-kit's RPC client (p11-kit-client.so),
 * whose tokens live behind a p11-kit server or a 'p11-kit remote' command
 * named by P11_KIT_SERVER_ADDRESS (docs/remote.md). hsm_open() already
 * refuses such a module when it cannot reach its server.
 */
bool hsm_module_remote(const hsm *h);

#endif
