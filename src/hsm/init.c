/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static csign_rc check_label(const char *label)
{
    size_t len = strlen(label);

    if (len == 0 || len > 32)
        return err_set(CSIGN_EUSAGE, "a token label has 1 to 32 bytes; '%s' has %zu", label, len);
    for (const unsigned char *p = (const unsigned char *)label; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return err_set(CSIGN_EUSAGE, "a token label cannot contain control characters");
    return CSIGN_OK;
}

static csign_rc check_pin_len(const hsm_token *t, const secret *pin, const char *what)
{
    if (t->max_pin > 0 && t->max_pin >= t->min_pin &&
        t->max_pin != (unsigned long)CK_UNAVAILABLE_INFORMATION &&
        (pin->len < t->min_pin || pin->len > t->max_pin))
        return err_set(CSIGN_ETOKEN, "the %s must have %lu to %lu bytes for this token", what,
                       t->min_pin, t->max_pin);
    return CSIGN_OK;
}

/* Picks the slot to initialise: the token labelled `label` (with force) or
 * the first uninitialised one. */
static csign_rc pick_slot(const hsm_token *list, size_t n, const char *label, bool force,
                          bool remote, size_t *which)
{
    size_t same = n, free_slot = n, nsame = 0;

    for (size_t i = 0; i < n; i++) {
        if (list[i].initialized && strcmp(list[i].label, label) == 0) {
            same = i;
            nsame++;
        } else if (!list[i].initialized && free_slot == n) {
            free_slot = i;
        }
    }
    if (nsame > 1)
        return err_set(CSIGN_EUSAGE,
                       "%zu tokens are labelled '%s'; re-initialise one with its own tools", nsame,
                       label);
    if (nsame == 1 && !force)
        return err_set(CSIGN_EUSAGE,
                       "token '%s' already exists (%s); use --force to erase and "
                       "re-initialise it",
                       label, list[same].uri);
    if (nsame == 1) {
        *which = same;
        return CSIGN_OK;
    }
    /* A p11-kit server exports the tokens its URI names, which are
     * initialised: the free slot stays on the server host. */
    if (free_slot == n && remote)
        return err_set(CSIGN_ETOKEN,
                       "the module exports no slot with an uninitialised token; with p11-kit "
                       "server, init the token on the server host");
    if (free_slot == n)
        return err_set(CSIGN_ETOKEN, "the module has no free slot for a new token");
    *which = free_slot;
    return CSIGN_OK;
}

/* After C_InitToken, modules such as SoftHSM move the token to a new slot
 * id, so find it again: labelled `label`, and either new or in the old slot. */
static csign_rc find_new(hsm *h, const char *label, const hsm_token *before, size_t nbefore,
                         unsigned long old_slot, hsm_token *out)
{
    hsm_token *after = NULL;
    size_t nafter = 0;
    csign_rc rc = hsm_tokens(h, NULL, &after, &nafter);

    if (rc != CSIGN_OK)
        return rc;
    rc = err_set(CSIGN_ETOKEN, "token '%s' was initialised but cannot be found again", label);
    for (size_t i = 0; i < nafter; i++) {
        const hsm_token *t = &after[i];
        if (!t->initialized || strcmp(t->label, label) != 0)
            continue;
        bool known = false;
        for (size_t j = 0; j < nbefore; j++)
            if (before[j].initialized && strcmp(before[j].serial, t->serial) == 0 &&
                before[j].slot_id != old_slot)
                known = true;
        if (!known) {
            rc = hsm_token_copy(t, out);
            break;
        }
    }
    hsm_tokens_free(after, nafter);
    return rc;
}

/* Logs in as SO on a fresh read-write session and sets the user PIN. */
static csign_rc set_user_pin(hsm *h, const hsm_token *t, const secret *so_pin,
                             const secret *user_pin)
{
    CK_SESSION_HANDLE s;
    CK_RV rv = h->f->C_OpenSession(t->slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);

    if (rv != CKR_OK)
        return err_set(CSIGN_ETOKEN,
                       "cannot open a session on the new token '%s': C_OpenSession failed: %s",
                       t->label, hsm_ckr_name(rv));
    rv = h->f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin->data, (CK_ULONG)so_pin->len);
    if (rv == CKR_OK) {
        rv = h->f->C_InitPIN(s, (CK_UTF8CHAR_PTR)user_pin->data, (CK_ULONG)user_pin->len);
        (void)h->f->C_Logout(s);
        if (rv != CKR_OK) {
            (void)h->f->C_CloseSession(s);
            return err_set(CSIGN_ETOKEN, "token '%s' refused the user PIN: C_InitPIN failed: %s",
                           t->label, hsm_ckr_name(rv));
        }
    }
    (void)h->f->C_CloseSession(s);
    if (rv != CKR_OK)
        return err_set(CSIGN_ETOKEN, "SO login to the new token '%s' failed: C_Login failed: %s",
                       t->label, hsm_ckr_name(rv));
    return CSIGN_OK;
}

/* The SO PIN flags of a token about to be re-initialised. */
static csign_rc check_so_pin(const hsm_token *t, bool allow_final_try)
{
    if (!t->initialized)
        return CSIGN_OK;
    if (t->so_pin_locked)
        return err_set(CSIGN_ETOKEN, "the SO PIN of token '%s' is locked", t->label);
    if (t->so_pin_final_try && !allow_final_try)
        return err_set(CSIGN_ETOKEN,
                       "token '%s' allows one more SO PIN try only, and a wrong SO PIN would "
                       "lock it; not trying (use --pin-final-try to try anyway)",
                       t->label);
    return CSIGN_OK;
}

csign_rc hsm_init_token(hsm *h, const char *label, const secret *so_pin, const secret *user_pin,
                        bool force, bool allow_final_try, hsm_token *out)
{
    hsm_token made = {0};
    hsm_token *list = NULL;
    size_t n = 0, which = 0;
    /* 32 blank-padded bytes, then a NUL: p11-kit-client 0.24.1 measures
     * the label with strlen(). */
    CK_UTF8CHAR padded[33] = {0};
    csign_rc rc = check_label(label);

    if (rc == CSIGN_OK)
        rc = hsm_tokens(h, NULL, &list, &n);
    if (rc == CSIGN_OK)
        rc = pick_slot(list, n, label, force, hsm_module_remote(h), &which);
    if (rc == CSIGN_OK)
        rc = check_so_pin(&list[which], allow_final_try);
    if (rc == CSIGN_OK)
        rc = check_pin_len(&list[which], so_pin, "SO PIN");
    if (rc == CSIGN_OK)
        rc = check_pin_len(&list[which], user_pin, "user PIN");
    if (rc != CSIGN_OK)
        goto out;

    memset(padded, ' ', 32);
    memcpy(padded, label, strlen(label));
    CK_RV rv = h->f->C_InitToken(list[which].slot_id, (CK_UTF8CHAR_PTR)so_pin->data,
                                 (CK_ULONG)so_pin->len, padded);
    if (rv == CKR_PIN_INCORRECT) {
        rc = err_set(CSIGN_ETOKEN, "SO PIN rejected by token '%s'", list[which].label);
        goto out;
    }
    if (rv == CKR_SESSION_EXISTS) {
        rc = err_set(CSIGN_ETOKEN, "token '%s' is in use by another program; try again later",
                     list[which].label);
        goto out;
    }
    if (rv != CKR_OK) {
        rc =
            err_set(CSIGN_ETOKEN, "cannot initialise the token in slot %lu: C_InitToken failed: %s",
                    list[which].slot_id, hsm_ckr_name(rv));
        goto out;
    }
    rc = find_new(h, label, list, n, list[which].slot_id, &made);
    if (rc == CSIGN_OK) {
        rc = set_user_pin(h, &made, so_pin, user_pin);
        if (rc != CSIGN_OK)
            err_wrap(rc,
                     "token '%s' was initialised but has no user PIN; run init-token again "
                     "with --force",
                     label);
    }
    if (rc == CSIGN_OK) {
        /* The token's flags changed with the new user PIN. */
        hsm_token *fresh = NULL;
        size_t nfresh = 0;
        if (hsm_tokens(h, NULL, &fresh, &nfresh) == CSIGN_OK) {
            for (size_t i = 0; i < nfresh; i++) {
                if (fresh[i].slot_id == made.slot_id) {
                    hsm_token_clear(&made);
                    rc = hsm_token_copy(&fresh[i], &made);
                    break;
                }
            }
            hsm_tokens_free(fresh, nfresh);
        }
    }
    if (rc == CSIGN_OK)
        *out = made;
    else
        hsm_token_clear(&made);
out:
    hsm_tokens_free(list, n);
    return rc;
}
