/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parallel signing sessions ("lanes"). A network or cloud HSM answers a
 * signature in milliseconds however fast it is inside, and serves many
 * sessions at once; one session at a time leaves that unused. Lane 0 is
 * the run's session, on which the user logged in; further lanes are more
 * sessions on the same token, logged in with it (PKCS#11 logs in the
 * application, not a session). Each signing thread picks its lane once
 * (hsm_lane_use()); token-backed keys then sign on that lane's session
 * (signcall.c), so that threads never share a session.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct hsm_lane {
    CK_SESSION_HANDLE session; /* lanes 1..: their own; lane 0 uses h->session */
    bool alive;
};

/* The calling thread's lane. */
static _Thread_local unsigned current;

/* How many lanes the token's session counts leave room for: unlimited
 * (want) when it does not say. */
static unsigned room(hsm *h, unsigned want)
{
    CK_TOKEN_INFO ti;

    if (h->f->C_GetTokenInfo(h->token.slot_id, &ti) != CKR_OK)
        return want;
    CK_ULONG max = h->rw ? ti.ulMaxRwSessionCount : ti.ulMaxSessionCount;
    CK_ULONG open = h->rw ? ti.ulRwSessionCount : ti.ulSessionCount;
    if (max == CK_UNAVAILABLE_INFORMATION || max == CK_EFFECTIVELY_INFINITE)
        return want;
    /* Our own session is among those open; a token that cannot count
     * them is taken to have only ours. */
    if (open == CK_UNAVAILABLE_INFORMATION || open < 1)
        open = 1;
    CK_ULONG free_ = max > open ? max - open : 0;
    return free_ + 1 < want ? (unsigned)free_ + 1 : want;
}

void hsm_lanes_open(hsm *h, unsigned want, unsigned *got, char *why)
{
    CK_FLAGS flags = CKF_SERIAL_SESSION | (h->rw ? CKF_RW_SESSION : 0);
    unsigned n;

    *got = 1;
    why[0] = '\0';
    if (want > HSM_LANES_MAX)
        want = HSM_LANES_MAX;
    if (want <= 1 || !h->have_session || h->lanes != NULL)
        return;
    n = room(h, want);
    if (n < want)
        snprintf(why, ERR_MAX, "token '%s' allows %u more session%s", h->token.label, n - 1,
                 n == 2 ? "" : "s");
    h->lanes = calloc(n, sizeof(*h->lanes));
    if (h->lanes == NULL) {
        snprintf(why, ERR_MAX, "out of memory");
        return;
    }
    h->lanes[0].alive = true;
    h->nlanes = 1;
    while (h->nlanes < n) {
        CK_RV rv =
            h->f->C_OpenSession(h->token.slot_id, flags, NULL, NULL, &h->lanes[h->nlanes].session);
        if (rv != CKR_OK) {
            snprintf(why, ERR_MAX, "token '%s' refused session %u: %s", h->token.label,
                     h->nlanes + 1, hsm_ckr_name(rv));
            break;
        }
        h->lanes[h->nlanes++].alive = true;
    }
    *got = h->nlanes;
}

void hsm_lane_use(hsm *h, unsigned i)
{
    (void)h;
    current = i;
}

CK_SESSION_HANDLE hsm_lane_session(hsm *h)
{
    if (current == 0 || current >= h->nlanes)
        return h->session;
    return h->lanes[current].session;
}

csign_rc hsm_lane_renew(hsm *h)
{
    CK_FLAGS flags = CKF_SERIAL_SESSION | (h->rw ? CKF_RW_SESSION : 0);
    CK_SESSION_HANDLE s, old = hsm_lane_session(h);
    CK_RV rv;

    if (!h->have_session)
        return err_set(CSIGN_EINTERNAL, "no session to renew");
    rv = h->f->C_OpenSession(h->token.slot_id, flags, NULL, NULL, &s);
    if (rv != CKR_OK)
        return hsm_fail_say(h, "C_OpenSession", rv);
    (void)h->f->C_CloseSession(old);
    if (current == 0 || current >= h->nlanes)
        h->session = s;
    else
        h->lanes[current].session = s;
    return CSIGN_OK;
}

void hsm_lane_drop(hsm *h, unsigned i)
{
    if (i >= h->nlanes || !h->lanes[i].alive)
        return;
    h->lanes[i].alive = false;
    if (i > 0)
        (void)h->f->C_CloseSession(h->lanes[i].session);
}

bool hsm_lane_alive(const hsm *h, unsigned i)
{
    if (h->nlanes == 0)
        return i == 0;
    return i < h->nlanes && h->lanes[i].alive;
}

void hsm_lanes_close(hsm *h)
{
    for (unsigned i = 1; i < h->nlanes; i++)
        if (h->lanes[i].alive)
            (void)h->f->C_CloseSession(h->lanes[i].session);
    free(h->lanes);
    h->lanes = NULL;
    h->nlanes = 0;
    current = 0;
}
