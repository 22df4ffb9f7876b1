/* SPDX-License-Identifier: Apache-2.0 */
/* What csign says on stderr, and how text from outside is shown safely. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_verbosity;

/* One line on stderr. Control characters (from a token label, a file
 * name, a module's answer) are shown as '?': they must not forge lines or
 * drive the terminal. */
__attribute__((format(printf, 2, 0))) static void vmsg(const char *prefix, const char *fmt,
                                                       va_list ap)
{
    char line[4096];

    vsnprintf(line, sizeof(line), fmt, ap);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "csign: %s%s\n", prefix, line);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    if (cli_verbosity < 0)
        return;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    if (cli_verbosity < 0)
        return;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void cli_info(int level, const char *fmt, ...)
{
    va_list ap;
    if (cli_verbosity < level)
        return;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at p and its code point, or 0. */
static size_t utf8_char(const unsigned char *p, unsigned long *cp)
{
    size_t n;
    unsigned long min;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, *cp = p[0] & 0x1f, min = 0x80;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, *cp = p[0] & 0x0f, min = 0x800;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, *cp = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* Characters that could change how the terminal shows the rest of a line:
 * C1 controls and bidirectional overrides. */
static bool risky(unsigned long cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

const char *cli_escape(const char *s, char *buf, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;

    if (size == 0)
        return buf;
    while (*p) {
        unsigned long cp = 0;
        size_t n = *p < 0x80 ? 1 : utf8_char(p, &cp);
        bool plain = n == 1 ? (*p >= 0x20 && *p != 0x7f && *p != '\\') : n > 1 && !risky(cp);
        if (n == 0)
            n = 1;
        /* Only whole characters or whole escapes, and room for the NUL. */
        if (o + (plain ? n : 4 * n) + 1 > size)
            break;
        if (plain) {
            memcpy(buf + o, p, n);
            o += n;
        } else {
            for (size_t i = 0; i < n; i++)
                o += (size_t)snprintf(buf + o, size - o, "\\x%02x", p[i]);
        }
        p += n;
    }
    buf[o] = '\0';
    return buf;
}

json_t *cli_json_string(const char *s)
{
    json_t *j = json_string(s);
    size_t size;
    char *buf;

    if (j != NULL || s == NULL)
        return j != NULL ? j : json_null();
    /* Not valid UTF-8: JSON cannot carry it as it is. */
    size = strlen(s) * 4 + 1;
    buf = malloc(size);
    if (buf == NULL)
        return NULL;
    j = json_string(cli_escape(s, buf, size));
    free(buf);
    return j;
}
