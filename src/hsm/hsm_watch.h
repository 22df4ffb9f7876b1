/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_HSM_WATCH_H
#define CSIGN_HSM_WATCH_H

/*
 * Bounded module calls. Every call csign makes into a PKCS#11 module goes
 * through a stand-in function list that notes which call is under way and
 * since when. A watchdog thread (started with the first module, stopped
 * with the last) looks at those notes and calls the stall handler when
 *   - a call has not returned within the call timeout, or
 *   - SIGINT or SIGTERM asked to stop (stop_requested(), src/sys/stop.c) and a
 *     call is still under way half a second later.
 * The watchdog never calls the module and never prints or exits itself.
 *
 * The handler runs on the watchdog thread while the caller is still inside
 * the module; the call is held at its return until the handler is done,
 * so the handler sees the process as it was when the call began. It is
 * meant to end the process (remove temporary files, say why, _exit() or
 * end by the signal). A handler that returns is not called again for that
 * call. It must not call into the hsm layer.
 */

#include <stdbool.h>

/* A module call that no healthy token takes this long to answer: RSA-4096
 * key generation on a slow smart card takes a few minutes. */
#define HSM_CALL_TIMEOUT_DEFAULT 300

/* The longest timeout accepted: one day. */
#define HSM_CALL_TIMEOUT_MAX 86400

typedef struct {
    const char *call;   /* "C_Sign"; "C_Login (PIN pad)" for a PIN-pad login */
    const char *token;  /* label of the token the call is on, or NULL */
    bool have_slot;     /* the call is on a slot whose token has no known label */
    unsigned long slot; /* that slot's id */
    const char *module; /* path of the module */
    unsigned timeout;   /* the call timeout in seconds */
    int signal;         /* 0: the call overran the timeout; else SIGINT or SIGTERM */
} hsm_stall;

typedef void (*hsm_stall_handler)(const hsm_stall *stall);

/* Sets the timeout of every module call from now on, in seconds (1 to
 * HSM_CALL_TIMEOUT_MAX; other values are clamped). Process-wide. */
void hsm_set_call_timeout(unsigned seconds);
unsigned hsm_call_timeout(void);

/* Sets the handler (NULL: none; a stall is then only noted). */
void hsm_set_stall_handler(hsm_stall_handler fn);

#endif
