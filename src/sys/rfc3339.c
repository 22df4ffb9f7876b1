/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "sys/rfc3339.h"

#include <stdio.h>
#include <string.h>

/* Reads exactly n digits. */
static bool digits(const char **p, int n, int *out)
{
    *out = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        *out = *out * 10 + (**p - '0');
    }
    return true;
}

static bool expect(const char **p, char c)
{
    return **p == c ? ((*p)++, true) : false;
}

/* RFC 3339, strictly: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
bool rfc3339_parse(const char *s, time_t *out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    const char *p = s;
    struct tm tm;

    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d) || !(expect(&p, 'T') || expect(&p, 't')) || !digits(&p, 2, &h) ||
        !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') || !digits(&p, 2, &sec))
        return false;
    if (expect(&p, '.')) {
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return false;
    } else if (!(expect(&p, 'Z') || expect(&p, 'z'))) {
        return false;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
        return false;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec == 60 ? 59 : sec;
    time_t t = timegm(&tm);
    struct tm back;
    /* 31 February comes back as March: refuse days that do not exist. */
    if (gmtime_r(&t, &back) == NULL || back.tm_mday != d || back.tm_mon != mo - 1)
        return false;
    *out = t - sign * (oh * 3600L + om * 60L);
    return true;
}

void rfc3339_format(time_t t, char out[RFC3339_UTC_LEN])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, RFC3339_UTC_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, RFC3339_UTC_LEN, "1970-01-01T00:00:00Z");
}
