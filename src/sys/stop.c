/* SPDX-License-Identifier: Apache-2.0 */
#include "sys/stop.h"

#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

void stop_catch(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

const volatile sig_atomic_t *stop_flag(void)
{
    return &stop_signal;
}

int stop_requested(void)
{
    return stop_signal;
}

void stop_resend(void)
{
    int sig = stop_signal;

    if (sig == 0)
        return;
    fflush(NULL);
    signal(sig, SIG_DFL);
    raise(sig);
}
