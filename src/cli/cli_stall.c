/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hsm/hsm_watch.h"
#include "sys/io.h"

/*
 * --token-timeout and what happens when a module call does not return:
 * the watchdog of the token layer (hsm/hsm_watch.h) calls on_stall()
 * from its own thread while the command's thread is still inside the
 * module. Nothing here waits for the module: the temporary files go, one
 * line says which call on which token did not return, and the process
 * ends with exit status 3, or by the signal that asked it to stop.
 */

static const char *command = "csign";

csign_rc cli_token_timeout(cli_common *c)
{
    const char *env = getenv("CSIGN_TOKEN_TIMEOUT");
    const char *text = c->token_timeout_arg ? c->token_timeout_arg : env;
    const char *name = c->token_timeout_arg ? "--token-timeout" : "CSIGN_TOKEN_TIMEOUT";
    char *end = NULL;
    unsigned long v;

    c->token_timeout = HSM_CALL_TIMEOUT_DEFAULT;
    if (text == NULL || (text == env && *env == '\0'))
        return CSIGN_OK;
    errno = 0;
    v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < 1 ||
        v > HSM_CALL_TIMEOUT_MAX)
        return err_set(CSIGN_EUSAGE, "%s needs a whole number of seconds from 1 to %d, not '%s'",
                       name, HSM_CALL_TIMEOUT_MAX, text);
    c->token_timeout = (unsigned)v;
    return CSIGN_OK;
}

/* Writes the whole line to stderr, bypassing stdio: the stuck thread may
 * hold a stdio lock. */
static void say(const char *line)
{
    size_t len = strlen(line);

    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        line += n;
        len -= (size_t)n;
    }
}

static void on_stall(const hsm_stall *s)
{
    char where[512], a[200], b[300], line[1024];

    if (s->token != NULL)
        snprintf(where, sizeof(where), "on token '%s'", cli_escape(s->token, a, sizeof(a)));
    else if (s->have_slot)
        snprintf(where, sizeof(where), "on slot %lu of module '%s'", s->slot,
                 cli_escape(s->module, b, sizeof(b)));
    else
        snprintf(where, sizeof(where), "in module '%s'", cli_escape(s->module, b, sizeof(b)));
    io_temps_remove_all();
    if (s->signal == 0) {
        snprintf(line, sizeof(line), "csign: %s: %s %s did not return within %u s; giving up\n",
                 command, s->call, where, s->timeout);
        say(line);
        _exit(CSIGN_ETOKEN);
    }
    snprintf(line, sizeof(line), "csign: %s: interrupted while %s %s had not returned\n", command,
             s->call, where);
    say(line);
    /* End as the signal asked (130, 143 in a shell): the default action,
     * delivered to the process. This thread blocks signals, so it waits;
     * _exit() is only for a signal that somehow does not end it. */
    signal(s->signal, SIG_DFL);
    kill(getpid(), s->signal);
    struct timespec second = {1, 0};
    nanosleep(&second, NULL);
    _exit(128 + s->signal);
}

void cli_stall_arm(const cli_common *c)
{
    if (c->command != NULL)
        command = c->command;
    hsm_set_call_timeout(c->token_timeout ? c->token_timeout : HSM_CALL_TIMEOUT_DEFAULT);
    hsm_set_stall_handler(on_stall);
}
