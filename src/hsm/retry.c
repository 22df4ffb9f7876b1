/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The definition of hsm_fail(), not the analyzer's view of it (internal.h). */
#define CSIGN_RETRY_C
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sys/stop.h"
#include "internal.h"

/*
 * Transient failures. A token shared by many jobs, a network HSM under
 * load, or SoftHSM while another process rewrites its token files answers
 * some calls with CKR_GENERAL_ERROR and the like although nothing is
 * wrong. Calls that change nothing on the token are tried again after a
 * short, growing, randomised wait; everything else fails at once.
 */

static hsm_retry_note note;

void hsm_set_retry_note(hsm_retry_note fn)
{
    note = fn;
}

bool hsm_rv_transient(CK_RV rv)
{
    switch (rv) {
    case CKR_GENERAL_ERROR:
    case CKR_FUNCTION_FAILED:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_TOKEN_NOT_RECOGNIZED:
    /* SoftHSM renumbers a process's objects when another process added
     * some; a new look finds them again. */
    case CKR_OBJECT_HANDLE_INVALID:
        return true;
    default:
        return false;
    }
}

csign_rc hsm_fail(hsm *h, const char *call, CK_RV rv)
{
    h->fail_rv = rv;
    return hsm_fail_say(h, call, rv);
}

csign_rc hsm_fail_say(hsm *h, const char *call, CK_RV rv)
{
    if (h->token.label[0] != '\0' || h->have_session)
        return err_set(CSIGN_ETOKEN, "%s on token '%s' failed: %s", call, h->token.label,
                       hsm_ckr_name(rv));
    return err_set(CSIGN_ETOKEN, "%s in module '%s' failed: %s", call, h->path, hsm_ckr_name(rv));
}

void hsm_note_read(hsm *h, CK_RV rv)
{
    /* Only failures that may pass: an object with an odd attribute the
     * module cannot show stays listed with that field unknown. */
    if (!hsm_rv_transient(rv) || h->read_rv != CKR_OK)
        return;
    h->read_rv = rv;
}

/* Sleeps ms milliseconds in short steps, so that SIGINT or SIGTERM is
 * seen at once. False when a signal asked to stop. */
static bool pause_ms(unsigned ms)
{
    while (ms > 0 && !stop_requested()) {
        unsigned step = ms < 10 ? ms : 10;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return !stop_requested();
}

bool hsm_backoff(unsigned *attempt)
{
    /* Per thread: parallel lanes back off on their own. */
    static _Thread_local unsigned seed;

    if (*attempt + 1 >= HSM_TRIES || stop_requested())
        return false;
    if (seed == 0)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    unsigned base = 10u << (2 * *attempt); /* 10, 40, 160, 640 ms */
    /* cppcheck-suppress rand_rCalled ; rand(), which it recommends, has one
     * state for the whole program; this is only jitter between processes */
    unsigned wait = base + (unsigned)rand_r(&seed) % (base / 2 + 1);
    (*attempt)++;
    if (note != NULL)
        note(err_msg(), *attempt, HSM_TRIES - 1, wait);
    return pause_ms(wait);
}

bool hsm_retry(hsm *h, unsigned *attempt)
{
    CK_RV rv = h->fail_rv;

    h->fail_rv = CKR_OK;
    return hsm_rv_transient(rv) && hsm_backoff(attempt);
}
