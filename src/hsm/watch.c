/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm_watch.h"
#include "sys/stop.h"
#include "internal.h"

/*
 * The watchdog of module calls (see hsm/hsm_watch.h). proxy.c notes
 * each call here; a thread looks at the notes ten times a second. The
 * notes also say on which token a call is: the label comes from the
 * token's last C_GetTokenInfo, a session's slot from its C_OpenSession.
 *
 * One lock guards everything. The watchdog holds it while the handler
 * runs, so a call that returns meanwhile waits in hsm_watch_end() and
 * the caller cannot go on to change what the handler is cleaning up.
 */

#define POLL_NS 100000000L       /* 0.1 s between looks */
#define STOP_GRACE_NS 500000000L /* a call may finish after a stop request */
#define MAX_CALLS (HSM_LANES_MAX + 8)
#define MAX_SLOTS 16
#define MAX_SESSIONS (HSM_LANES_MAX + 16)

typedef struct {
    bool busy, reported;
    const char *name;
    int kind;
    CK_ULONG id;
    struct timespec start;
} call_note;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static pthread_t thread;
static bool running, quit;
static unsigned users;
static char *module;
static unsigned timeout_s = HSM_CALL_TIMEOUT_DEFAULT;
static hsm_stall_handler handler;
static call_note calls[MAX_CALLS];
static struct {
    bool used;
    CK_SLOT_ID slot;
    char label[33];
} slots[MAX_SLOTS];
static struct {
    bool used;
    CK_SESSION_HANDLE session;
    CK_SLOT_ID slot;
} sessions[MAX_SESSIONS];
static struct timespec stop_seen;

void hsm_set_call_timeout(unsigned seconds)
{
    pthread_mutex_lock(&lock);
    timeout_s = seconds < 1 ? 1 : seconds > HSM_CALL_TIMEOUT_MAX ? HSM_CALL_TIMEOUT_MAX : seconds;
    pthread_mutex_unlock(&lock);
}

unsigned hsm_call_timeout(void)
{
    pthread_mutex_lock(&lock);
    unsigned t = timeout_s;
    pthread_mutex_unlock(&lock);
    return t;
}

void hsm_set_stall_handler(hsm_stall_handler fn)
{
    pthread_mutex_lock(&lock);
    handler = fn;
    pthread_mutex_unlock(&lock);
}

static struct timespec now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

/* Whether a + ns <= b. */
static bool passed(struct timespec a, long long ns, struct timespec b)
{
    long long d = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    return d >= ns;
}

static struct timespec later(struct timespec a, struct timespec b)
{
    return passed(a, 0, b) ? b : a;
}

int hsm_watch_begin(const char *name, int kind, CK_ULONG id)
{
    int ticket = -1;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_CALLS; i++) {
        if (!calls[i].busy) {
            calls[i] = (call_note){true, false, name, kind, id, now()};
            ticket = i;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return ticket;
}

void hsm_watch_end(int ticket)
{
    if (ticket < 0)
        return;
    pthread_mutex_lock(&lock);
    calls[ticket].busy = false;
    pthread_mutex_unlock(&lock);
}

void hsm_watch_learn_label(CK_SLOT_ID slot, const CK_UTF8CHAR *label)
{
    int free_i = -1;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_SLOTS; i++) {
        if (slots[i].used && slots[i].slot == slot) {
            free_i = i;
            break;
        }
        if (!slots[i].used && free_i < 0)
            free_i = i;
    }
    if (free_i >= 0) {
        slots[free_i].used = true;
        slots[free_i].slot = slot;
        hsm_unpad(slots[free_i].label, label, 32);
    }
    pthread_mutex_unlock(&lock);
}

void hsm_watch_learn_session(CK_SESSION_HANDLE session, CK_SLOT_ID slot)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_SESSIONS; i++) {
        if (!sessions[i].used) {
            sessions[i].used = true;
            sessions[i].session = session;
            sessions[i].slot = slot;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

void hsm_watch_forget_sessions(bool all, bool by_slot, CK_ULONG id)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (all || (by_slot ? sessions[i].slot == id : sessions[i].session == id))
            sessions[i].used = false;
    if (all)
        memset(slots, 0, sizeof(slots));
    pthread_mutex_unlock(&lock);
}

/* What the handler is told about c; label is room for the token's label. */
static hsm_stall describe(const call_note *c, int sig, char label[33])
{
    hsm_stall s = {c->name, NULL, false, 0, module ? module : "?", timeout_s, sig};
    bool have_slot = c->kind == HSM_CALL_SLOT;
    CK_SLOT_ID slot = c->id;

    for (int i = 0; c->kind == HSM_CALL_SESSION && i < MAX_SESSIONS; i++) {
        if (sessions[i].used && sessions[i].session == c->id) {
            have_slot = true;
            slot = sessions[i].slot;
        }
    }
    for (int i = 0; have_slot && i < MAX_SLOTS; i++) {
        if (slots[i].used && slots[i].slot == slot) {
            memcpy(label, slots[i].label, 33);
            s.token = label;
        }
    }
    s.have_slot = have_slot && s.token == NULL;
    s.slot = slot;
    return s;
}

/* One look at the calls under way; called with the lock held. */
static void look(void)
{
    struct timespec t = now();
    int sig = stop_requested();

    if (sig != 0 && stop_seen.tv_sec == 0 && stop_seen.tv_nsec == 0)
        stop_seen = t;
    for (int i = 0; i < MAX_CALLS; i++) {
        call_note *c = &calls[i];
        int why = -1;
        if (!c->busy || c->reported)
            continue;
        if (passed(c->start, (long long)timeout_s * 1000000000LL, t))
            why = 0;
        else if (sig != 0 && passed(later(c->start, stop_seen), STOP_GRACE_NS, t))
            why = sig;
        if (why < 0)
            continue;
        char label[33];
        hsm_stall s = describe(c, why, label);
        c->reported = true;
        if (handler != NULL)
            handler(&s);
    }
}

static void *watchdog(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!quit) {
        look();
        struct timespec until = now();
        until.tv_nsec += POLL_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!quit && pthread_cond_timedwait(&wake, &lock, &until) == EINTR)
            ;
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* The watchdog takes no signal: SIGINT and SIGTERM must reach the thread
 * doing the work, where they interrupt a blocking read or wait. */
static int start_thread(void)
{
    pthread_condattr_t ca;
    sigset_t all, old;
    int r;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    r = pthread_cond_init(&wake, &ca);
    pthread_condattr_destroy(&ca);
    if (r != 0)
        return r;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    quit = false;
    r = pthread_create(&thread, NULL, watchdog, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        pthread_cond_destroy(&wake);
    return r;
}

csign_rc hsm_watch_attach(const char *path)
{
    int r = 0;

    pthread_mutex_lock(&lock);
    if (users == 0) {
        free(module);
        module = strdup(path);
        if (module == NULL) {
            pthread_mutex_unlock(&lock);
            return err_oom();
        }
        r = start_thread();
        running = r == 0;
    }
    if (r == 0)
        users++;
    pthread_mutex_unlock(&lock);
    if (r != 0)
        return err_set(CSIGN_EINTERNAL, "cannot start the thread that watches module calls: %s",
                       strerror(r));
    return CSIGN_OK;
}

void hsm_watch_detach(void)
{
    bool join = false;

    pthread_mutex_lock(&lock);
    if (users > 0 && --users == 0 && running) {
        quit = true;
        running = false;
        join = true;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
    if (join) {
        pthread_join(thread, NULL);
        pthread_cond_destroy(&wake);
        pthread_mutex_lock(&lock);
        free(module);
        module = NULL;
        memset(slots, 0, sizeof(slots));
        memset(sessions, 0, sizeof(sessions));
        pthread_mutex_unlock(&lock);
    }
}
