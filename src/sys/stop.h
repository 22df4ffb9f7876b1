/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_STOP_H
#define CSIGN_STOP_H

/*
 * SIGINT and SIGTERM as a request to stop: a command that writes many
 * files catches them, finishes or drops the file in hand, removes its
 * temporary files, closes the token, and then ends as the signal asked
 * (status 130 or 143), so that nothing half-written stays behind.
 */

#include <signal.h>

/* Catches SIGINT and SIGTERM from now on: each sets the flag to its
 * number. The handlers do not restart system calls, so a blocking open()
 * or read() returns (EINTR) and the caller gets to look at the flag. */
void stop_catch(void);

/* The flag: 0 until a caught signal sets it to its number. Borrowed for
 * the life of the process (digest_set_cancel() takes it). */
const volatile sig_atomic_t *stop_flag(void);

/* The signal that asked to stop, or 0. */
int stop_requested(void);

/* When a signal asked to stop: flushes stdio and ends the process with
 * that signal's default action, as if it had not been caught. Returns
 * when none did. */
void stop_resend(void);

#endif
