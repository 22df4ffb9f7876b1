/* SPDX-License-Identifier: Apache-2.0 */
/* The tokens a module shows, and finding the one a URI names. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm_watch.h"
#include "internal.h"

/* The slots that hold a token; *slots is malloc'd. */
static csign_rc slot_list(hsm *h, CK_SLOT_ID **slots, CK_ULONG *n)
{
    CK_RV rv;

    *slots = NULL;
    /* Bounded: p11-kit's client answers CKR_BUFFER_TOO_SMALL to a buffer
     * of the 0 slots it just counted, every time. */
    for (unsigned round = 0; round < 8; round++) {
        CK_ULONG count = 0;
        rv = h->f->C_GetSlotList(CK_TRUE, NULL, &count);
        if (rv != CKR_OK)
            break;
        free(*slots);
        *slots = calloc(count + 1, sizeof(**slots));
        if (*slots == NULL)
            return err_oom();
        *n = count;
        if (count == 0)
            break; /* nothing to fetch */
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
 * skip_unreadable: then it is left out and counted in h->unreadable.
 * Tokens filter does not match are left out, or, when nmatched is not
 * NULL, kept after the *nmatched ones it matches: one look gives both, so
 * that a token rewritten between two looks cannot be missing from one. */
static csign_rc tokens_once(hsm *h, const hsm_uri *filter, bool skip_unreadable, hsm_token **out,
                            size_t *n, size_t *nmatched)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG nslots = 0;
    hsm_token *list = NULL;
    size_t count = 0, matches = 0;
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
        bool match = hsm_uri_match_token(filter, &ti, slots[i], &si);
        if (!match && nmatched == NULL)
            continue;
        rc = hsm_token_fill(slots[i], &si, &ti, &list[count]);
        if (rc != CSIGN_OK)
            break;
        /* Matches first, in slot order. */
        if (match) {
            hsm_token t = list[count];
            memmove(&list[matches + 1], &list[matches], (count - matches) * sizeof(*list));
            list[matches++] = t;
        }
        count++;
    }
    free(slots);
    if (rc != CSIGN_OK) {
        hsm_tokens_free(list, count);
        return rc;
    }
    *out = list;
    *n = count;
    if (nmatched != NULL)
        *nmatched = matches;
    return CSIGN_OK;
}

static bool any_initialised(const hsm_token *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].initialized)
            return true;
    return false;
}

/* hsm_tokens(), with nmatched as for tokens_once(). */
static csign_rc tokens_look(hsm *h, const hsm_uri *filter, hsm_token **out, size_t *n,
                            size_t *nmatched)
{
    unsigned attempt = 0;
    csign_rc rc;

    h->unreadable = 0;
    h->fail_rv = CKR_OK;
    /* An unknown card in one reader must not cost every run the retries:
     * when the look without such slots shows an initialised token the
     * filter matches, that is the answer. Otherwise the unreadable slot may
     * be the token wanted, caught at a bad moment, and it is tried again as
     * any failure. */
    rc = tokens_once(h, filter, true, out, n, nmatched);
    if (rc == CSIGN_OK &&
        (h->unreadable == 0 || any_initialised(*out, nmatched != NULL ? *nmatched : *n)))
        return rc;
    if (rc == CSIGN_OK)
        hsm_tokens_free(*out, *n);
    *out = NULL;
    *n = 0;
    h->unreadable = 0;
    h->fail_rv = CKR_OK;
    while ((rc = tokens_once(h, filter, false, out, n, nmatched)) != CSIGN_OK) {
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
            rc = tokens_once(h, filter, true, out, n, nmatched);
        break;
    }
    return rc;
}

csign_rc hsm_tokens(hsm *h, const hsm_uri *filter, hsm_token **out, size_t *n)
{
    return tokens_look(h, filter, out, n, NULL);
}

const char *hsm_unreadable_slots(const hsm *h, char *buf, size_t size)
{
    if (h->unreadable == 0)
        return NULL;
    snprintf(buf, size, "%u slot(s) answered %s", h->unreadable, hsm_ckr_name(h->unreadable_rv));
    return buf;
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
    char list[2048], why[128];

    candidates(all, nall, list, sizeof(list));
    if (list[0] != '\0' && uri != NULL)
        return err_set(CSIGN_ETOKEN, "no token matches '%s'; tokens: %s", shown, list);
    if (list[0] != '\0')
        return err_set(CSIGN_ETOKEN, "no token found; tokens: %s", list);
    if (h->unreadable > 0)
        return err_set(CSIGN_ETOKEN, "module '%s' has no initialised token it can read (%s)",
                       h->path, hsm_unreadable_slots(h, why, sizeof(why)));
    if (any_uninitialised(all, nall))
        return err_set(CSIGN_ETOKEN,
                       "module '%s' has no initialised token; create one with "
                       "'csign init-token --label NAME'",
                       h->path);
    if (hsm_module_remote(h))
        return err_set(CSIGN_ETOKEN,
                       "module '%s' shows no token: its p11-kit server exports none (does the "
                       "server's pkcs11: URI name a token of its module?)",
                       h->path);
    return err_set(CSIGN_ETOKEN,
                   "module '%s' shows no token: is it plugged in, or the module configured?",
                   h->path);
}

csign_rc hsm_token_find(hsm *h, const hsm_uri *uri, hsm_token *out)
{
    hsm_token *all = NULL;
    size_t nall = 0, nhits = 0, nmatch = 0, which = 0;
    unsigned attempt = 0;
    char list[2048];
    char *shown = uri ? hsm_uri_redact(uri->text) : NULL;
    csign_rc rc;

again:
    nmatch = 0;
    /* The matches first, then the others (for the message). */
    rc = tokens_look(h, uri, &all, &nall, &nhits);
    if (rc != CSIGN_OK)
        goto out;
    for (size_t i = 0; i < nhits; i++) {
        if (all[i].initialized) {
            nmatch++;
            which = i;
        }
    }
    if (nmatch == 1) {
        rc = hsm_token_copy(&all[which], out);
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
            all = NULL;
            nall = 0;
            rc = reload(h);
            if (rc == CSIGN_OK)
                goto again;
        }
        goto out;
    }
    candidates(all, nhits, list, sizeof(list));
    if (uri != NULL)
        rc = err_set(CSIGN_EUSAGE, "'%s' matches %zu tokens; name one with serial= or slot-id=: %s",
                     shown, nmatch, list);
    else
        rc = err_set(CSIGN_EUSAGE, "the module has %zu tokens; name one with a pkcs11: URI: %s",
                     nmatch, list);
out:
    free(shown);
    hsm_tokens_free(all, nall);
    return rc;
}
