/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm_watch.h"
#include "internal.h"

/*
 * Module loading, token discovery, the session and login. Object listing
 * and token set-up live in objects.c and init.c.
 *
 * Everything goes straight through the module's function list. libp11's
 * PKCS11_login() keeps a copy of the PIN for as long as the slot lives (to
 * log in again after fork), while csign wipes the PIN right after its one
 * C_Login; signkey.c says why keys do not come from libp11 either.
 */

csign_rc hsm_open(const char *path, hsm **out)
{
    CK_C_GetFunctionList get_list = NULL;
    CK_C_INITIALIZE_ARGS args;
    CK_INFO info;
    CK_RV rv;
    csign_rc rc = CSIGN_ETOKEN;
    bool wrapped = false;
    int ticket;
    hsm *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return err_oom();
    h->path = strdup(path);
    if (h->path == NULL) {
        free(h);
        return err_oom();
    }
    /* Every call from here on is bounded (watch.c), loading included. */
    if ((rc = hsm_watch_attach(path)) != CSIGN_OK) {
        free(h->path);
        free(h);
        return rc;
    }
    rc = CSIGN_ETOKEN;
    ticket = hsm_watch_begin("dlopen", HSM_CALL_PLAIN, 0);
    /* The module is never dlclose()d: many modules leave threads or exit
     * handlers behind, and unloading them under those crashes at exit. */
    h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    hsm_watch_end(ticket);
    if (h->dl == NULL) {
        const char *why = dlerror();
        err_set(CSIGN_ETOKEN, "cannot load PKCS#11 module '%s': %s", path,
                why ? why : "unknown error");
        goto fail;
    }
    *(void **)(&get_list) = dlsym(h->dl, "C_GetFunctionList");
    if (get_list == NULL) {
        err_set(CSIGN_ETOKEN, "'%s' is not a PKCS#11 module (it has no C_GetFunctionList)", path);
        goto fail;
    }
    ticket = hsm_watch_begin("C_GetFunctionList", HSM_CALL_PLAIN, 0);
    rv = get_list(&h->f);
    hsm_watch_end(ticket);
    if (rv != CKR_OK || h->f == NULL) {
        err_set(CSIGN_ETOKEN, "PKCS#11 module '%s': C_GetFunctionList failed: %s", path,
                hsm_ckr_name(rv));
        goto fail;
    }
    if ((rc = hsm_proxy_wrap(h->f, &h->f)) != CSIGN_OK)
        goto fail;
    wrapped = true;
    rc = CSIGN_ETOKEN;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = h->f->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        h->finalize = false; /* someone else in this process owns it */
    } else if (rv != CKR_OK) {
        err_set(CSIGN_ETOKEN, "PKCS#11 module '%s' failed to initialise: C_Initialize failed: %s",
                path, hsm_ckr_name(rv));
        goto fail;
    } else {
        h->finalize = true;
    }
    if (h->f->C_GetInfo(&info) == CKR_OK) {
        hsm_unpad(h->manufacturer, info.manufacturerID, sizeof(info.manufacturerID));
        hsm_unpad(h->description, info.libraryDescription, sizeof(info.libraryDescription));
    }
    *out = h;
    return CSIGN_OK;
fail:
    if (wrapped)
        hsm_proxy_release();
    hsm_watch_detach();
    free(h->path);
    free(h);
    return rc;
}

void hsm_session_close(hsm *h)
{
    if (h->logged_in)
        (void)h->f->C_Logout(h->session);
    if (h->have_session)
        (void)h->f->C_CloseSession(h->session);
    h->logged_in = false;
    h->have_session = false;
    hsm_token_clear(&h->token);
}

void hsm_close(hsm *h)
{
    if (h == NULL)
        return;
    hsm_session_close(h);
    hsm_signkeys_release(h);
    secret_free(h->ctx_pin);
    if (h->finalize)
        (void)h->f->C_Finalize(NULL);
    hsm_proxy_release();
    hsm_watch_detach();
    hsm_token_clear(&h->token);
    free(h->path);
    free(h);
}

const char *hsm_module_manufacturer(const hsm *h)
{
    return h->manufacturer;
}

const char *hsm_module_description(const hsm *h)
{
    return h->description;
}

const char *hsm_module_path(const hsm *h)
{
    return h->path;
}

const char *hsm_pin_state_name(hsm_pin_state s)
{
    switch (s) {
    case HSM_PIN_OK:
        return "ok";
    case HSM_PIN_NOT_SET:
        return "not set";
    case HSM_PIN_COUNT_LOW:
        return "count low";
    case HSM_PIN_FINAL_TRY:
        return "final try";
    case HSM_PIN_LOCKED:
        return "locked";
    case HSM_PIN_TO_BE_CHANGED:
        return "to be changed";
    }
    return "unknown";
}

static hsm_pin_state pin_state(CK_FLAGS f)
{
    if (!(f & CKF_USER_PIN_INITIALIZED))
        return HSM_PIN_NOT_SET;
    if (f & CKF_USER_PIN_LOCKED)
        return HSM_PIN_LOCKED;
    if (f & CKF_USER_PIN_FINAL_TRY)
        return HSM_PIN_FINAL_TRY;
    if (f & CKF_USER_PIN_COUNT_LOW)
        return HSM_PIN_COUNT_LOW;
    if (f & CKF_USER_PIN_TO_BE_CHANGED)
        return HSM_PIN_TO_BE_CHANGED;
    return HSM_PIN_OK;
}

static csign_rc fill_token(CK_SLOT_ID slot, const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti,
                           hsm_token *t)
{
    memset(t, 0, sizeof(*t));
    t->slot_id = slot;
    hsm_unpad(t->label, ti->label, sizeof(ti->label));
    hsm_unpad(t->manufacturer, ti->manufacturerID, sizeof(ti->manufacturerID));
    hsm_unpad(t->model, ti->model, sizeof(ti->model));
    hsm_unpad(t->serial, ti->serialNumber, sizeof(ti->serialNumber));
    hsm_unpad(t->slot_description, si->slotDescription, sizeof(si->slotDescription));
    t->initialized = (ti->flags & CKF_TOKEN_INITIALIZED) != 0;
    t->hardware = (si->flags & CKF_HW_SLOT) != 0;
    t->removable = (si->flags & CKF_REMOVABLE_DEVICE) != 0;
    t->login_required = (ti->flags & CKF_LOGIN_REQUIRED) != 0;
    t->pin_pad = (ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
    t->write_protected = (ti->flags & CKF_WRITE_PROTECTED) != 0;
    t->pin_state = pin_state(ti->flags);
    t->so_pin_locked = (ti->flags & CKF_SO_PIN_LOCKED) != 0;
    t->so_pin_final_try = (ti->flags & CKF_SO_PIN_FINAL_TRY) != 0;
    t->min_pin = ti->ulMinPinLen;
    t->max_pin = ti->ulMaxPinLen;
    t->uri = hsm_format_uri(t, (CK_OBJECT_CLASS)-1, NULL, NULL, 0);
    return t->uri ? CSIGN_OK : err_oom();
}

csign_rc hsm_token_copy(const hsm_token *src, hsm_token *dst)
{
    *dst = *src;
    dst->uri = strdup(src->uri ? src->uri : "");
    return dst->uri ? CSIGN_OK : err_oom();
}

void hsm_token_clear(hsm_token *t)
{
    free(t->uri);
    memset(t, 0, sizeof(*t));
}

void hsm_tokens_free(hsm_token *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].uri);
    free(t);
}

/* The slots that hold a token; *slots is malloc'd. */
static csign_rc slot_list(hsm *h, CK_SLOT_ID **slots, CK_ULONG *n)
{
    CK_RV rv;

    *slots = NULL;
    for (;;) {
        CK_ULONG count = 0;
        rv = h->f->C_GetSlotList(CK_TRUE, NULL, &count);
        if (rv != CKR_OK)
            break;
        free(*slots);
        *slots = calloc(count + 1, sizeof(**slots));
        if (*slots == NULL)
            return err_oom();
        *n = count;
        rv = h->f->C_GetSlotList(CK_TRUE, *slots, n);
        if (rv != CKR_BUFFER_TOO_SMALL)
            break; /* a reader was plugged in between the two calls: ask again */
    }
    if (rv != CKR_OK) {
        free(*slots);
        *slots = NULL;
        return hsm_fail(h, "C_GetSlotList", rv);
    }
    return CSIGN_OK;
}

/* Finalises and initialises the module again, so that a module that reads
 * its tokens at C_Initialize (SoftHSM) sees them as they are now. */
static csign_rc reload(hsm *h)
{
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;

    hsm_session_close(h);
    (void)h->f->C_Finalize(NULL);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = h->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return err_set(CSIGN_ETOKEN,
                       "PKCS#11 module '%s' failed to initialise again: C_Initialize failed: %s",
                       h->path, hsm_ckr_name(rv));
    return CSIGN_OK;
}

/* One look at the slots. A slot whose token cannot be read for a reason
 * that may pass fails the look (so that it is tried again), unless
 * skip_unreadable: then it is left out and counted in h->unreadable. */
static csign_rc tokens_once(hsm *h, const hsm_uri *filter, bool skip_unreadable, hsm_token **out,
                            size_t *n)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG nslots = 0;
    hsm_token *list = NULL;
    size_t count = 0;
    csign_rc rc = slot_list(h, &slots, &nslots);

    if (rc != CSIGN_OK)
        return rc;
    list = calloc(nslots + 1, sizeof(*list));
    if (list == NULL) {
        free(slots);
        return err_oom();
    }
    for (CK_ULONG i = 0; i < nslots; i++) {
        CK_SLOT_INFO si;
        CK_TOKEN_INFO ti;
        const char *call = "C_GetSlotInfo";
        CK_RV rv = h->f->C_GetSlotInfo(slots[i], &si);
        if (rv == CKR_OK) {
            call = "C_GetTokenInfo";
            rv = h->f->C_GetTokenInfo(slots[i], &ti);
        }
        /* A token pulled out is not a candidate; it is not an error for
         * the others. */
        if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED || rv == CKR_SLOT_ID_INVALID)
            continue;
        if (rv == CKR_TOKEN_NOT_RECOGNIZED && skip_unreadable) {
            h->unreadable++;
            h->unreadable_rv = rv;
            continue;
        }
        if (rv != CKR_OK) {
            hsm_fail(h, call, rv);
            rc = err_set(CSIGN_ETOKEN, "cannot read token information of slot %lu: %s failed: %s",
                         (unsigned long)slots[i], call, hsm_ckr_name(rv));
            break;
        }
        if (!hsm_uri_match_token(filter, &ti, slots[i], &si))
            continue;
        rc = fill_token(slots[i], &si, &ti, &list[count]);
        if (rc != CSIGN_OK)
            break;
        count++;
    }
    free(slots);
    if (rc != CSIGN_OK) {
        hsm_tokens_free(list, count);
        return rc;
    }
    *out = list;
    *n = count;
    return CSIGN_OK;
}

csign_rc hsm_tokens(hsm *h, const hsm_uri *filter, hsm_token **out, size_t *n)
{
    unsigned attempt = 0;
    csign_rc rc;

    h->unreadable = 0;
    h->fail_rv = CKR_OK;
    while ((rc = tokens_once(h, filter, false, out, n)) != CSIGN_OK) {
        CK_RV rv = h->fail_rv;
        /* SoftHSM keeps a token it misread until it is loaded again. */
        if (hsm_retry(h, &attempt)) {
            if (h->finalize && !h->have_session && (rc = reload(h)) != CSIGN_OK)
                break;
            continue;
        }
        /* A slot with a token the module never recognises (an unknown
         * card in a reader) is left out once retrying is over. */
        if (rv == CKR_TOKEN_NOT_RECOGNIZED)
            rc = tokens_once(h, filter, true, out, n);
        break;
    }
    return rc;
}

/* "URI (slot N), URI (slot M)" for the initialised tokens in list. */
static void candidates(const hsm_token *list, size_t n, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        if (!list[i].initialized)
            continue;
        int w = snprintf(buf + used, size - used, "%s%s (slot-id=%lu)", used ? ", " : "",
                         list[i].uri, list[i].slot_id);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Whether list holds a token that is present and says it is not
 * initialised (the one case where 'csign init-token' is the advice). */
static bool any_uninitialised(const hsm_token *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!list[i].initialized)
            return true;
    return false;
}

/* Sets the reason for "no initialised token matches". */
static csign_rc no_match(hsm *h, const hsm_uri *uri, const char *shown, const hsm_token *all,
                         size_t nall)
{
    char list[2048];

    candidates(all, nall, list, sizeof(list));
    if (list[0] != '\0' && uri != NULL)
        return err_set(CSIGN_ETOKEN, "no token matches '%s'; tokens: %s", shown, list);
    if (list[0] != '\0')
        return err_set(CSIGN_ETOKEN, "no token found; tokens: %s", list);
    if (h->unreadable > 0)
        return err_set(CSIGN_ETOKEN,
                       "module '%s' has no initialised token it can read (%u slot(s) answered "
                       "%s)",
                       h->path, h->unreadable, hsm_ckr_name(h->unreadable_rv));
    if (any_uninitialised(all, nall))
        return err_set(CSIGN_ETOKEN,
                       "module '%s' has no initialised token; create one with "
                       "'csign init-token --label NAME'",
                       h->path);
    return err_set(CSIGN_ETOKEN,
                   "module '%s' shows no token: is it plugged in, or the module configured?",
                   h->path);
}

csign_rc hsm_token_find(hsm *h, const hsm_uri *uri, hsm_token *out)
{
    hsm_token *all = NULL, *hit = NULL;
    size_t nall = 0, nhits = 0, nmatch = 0, which = 0;
    unsigned attempt = 0;
    char list[2048];
    char *shown = uri ? hsm_uri_redact(uri->text) : NULL;
    csign_rc rc;

again:
    nmatch = 0;
    rc = hsm_tokens(h, NULL, &all, &nall);
    if (rc == CSIGN_OK)
        rc = hsm_tokens(h, uri, &hit, &nhits);
    if (rc != CSIGN_OK)
        goto out;
    for (size_t i = 0; i < nhits; i++) {
        if (hit[i].initialized) {
            nmatch++;
            which = i;
        }
    }
    if (nmatch == 1) {
        rc = hsm_token_copy(&hit[which], out);
        goto out;
    }
    if (nmatch == 0) {
        rc = no_match(h, uri, shown, all, nall);
        candidates(all, nall, list, sizeof(list));
        /* No initialised token at all: SoftHSM shows a token that another
         * process was rewriting during C_Initialize as uninitialised, or
         * not at all, until it is loaded again. */
        if (list[0] == '\0' && h->finalize && !h->have_session && hsm_backoff(&attempt)) {
            hsm_tokens_free(all, nall);
            hsm_tokens_free(hit, nhits);
            all = hit = NULL;
            nall = nhits = 0;
            rc = reload(h);
            if (rc == CSIGN_OK)
                goto again;
        }
        goto out;
    }
    candidates(hit, nhits, list, sizeof(list));
    if (uri != NULL)
        rc = err_set(CSIGN_EUSAGE, "'%s' matches %zu tokens; name one with serial= or slot-id=: %s",
                     shown, nmatch, list);
    else
        rc = err_set(CSIGN_EUSAGE, "the module has %zu tokens; name one with a pkcs11: URI: %s",
                     nmatch, list);
out:
    free(shown);
    hsm_tokens_free(all, nall);
    hsm_tokens_free(hit, nhits);
    return rc;
}

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
