/* SPDX-License-Identifier: Apache-2.0 */
/* The definitions, not the analyzer's view of them (sys/err.h). */
#define CSIGN_ERR_C
#include "sys/err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char reason[ERR_MAX];

/* A reason is one line: a newline or escape sequence coming from a file name
 * or a certificate subject must not forge extra output lines. */
static void sanitise(char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            *s = '?';
    }
}

__attribute__((format(printf, 1, 0))) static void vset(const char *fmt, va_list ap)
{
    /* Through a copy: an argument may be err_msg() itself. */
    char tmp[ERR_MAX];

    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    memcpy(reason, tmp, sizeof(reason));
    sanitise(reason);
}

csign_rc err_set(csign_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(fmt, ap);
    va_end(ap);
    return rc;
}

csign_rc err_set_ssl(csign_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(fmt, ap);
    va_end(ap);

    /* The most recent error is the one closest to what failed; older
     * ones in the queue can be leftovers of unrelated calls. */
    unsigned long e = ERR_peek_last_error();
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof(buf));
        size_t n = strlen(reason);
        snprintf(reason + n, sizeof(reason) - n, " (%s)", buf);
        sanitise(reason);
    }
    ERR_clear_error();
    return rc;
}

csign_rc err_wrap_ssl(csign_rc rc, const char *what)
{
    if (reason[0] == '\0')
        return err_set_ssl(rc, "%s", what);
    ERR_clear_error();
    return err_wrap(rc, "%s", what);
}

csign_rc err_wrap(csign_rc rc, const char *fmt, ...)
{
    char prefix[ERR_MAX];
    char old[ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, reason, sizeof(old));
    size_t n = strlen(prefix);
    memcpy(reason, prefix, n + 1);
    if (old[0] != '\0' && n + 2 < sizeof(reason)) {
        memcpy(reason + n, ": ", 3);
        strncat(reason, old, sizeof(reason) - n - 3);
    }
    sanitise(reason);
    return rc;
}

const char *err_msg(void)
{
    return reason;
}

void err_clear(void)
{
    reason[0] = '\0';
}

csign_rc err_oom(void)
{
    return err_set(CSIGN_EINTERNAL, "out of memory");
}

const char *err_name(csign_rc rc)
{
    switch (rc) {
    case CSIGN_OK:
        return "ok";
    case CSIGN_ENO:
        return "invalid";
    case CSIGN_EUSAGE:
        return "usage";
    case CSIGN_ETOKEN:
        return "token";
    case CSIGN_EIO:
        return "io";
    case CSIGN_EINPUT:
        return "input";
    case CSIGN_EINTERNAL:
        return "internal";
    }
    return "internal";
}
