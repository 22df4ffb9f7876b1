/* SPDX-License-Identifier: Apache-2.0 */
/* The RFC 3339 times verify --at takes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sys/rfc3339.h"

static void test_valid(void **state)
{
    static const struct {
        const char *text;
        time_t want;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-12-06T03:30:00Z", 1796527800},
        {"2026-12-06t03:30:00z", 1796527800},
        {"2026-12-06T04:30:00+01:00", 1796527800},
        {"2026-12-05T22:00:00-05:30", 1796527800},
        {"2026-12-06T03:30:00.999Z", 1796527800},
        {"2024-02-29T12:00:00Z", 1709208000},
        {"2016-12-31T23:59:60Z", 1483228799}, /* a leap second counts as :59 */
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        time_t t = -1;
        assert_true(rfc3339_parse(cases[i].text, &t));
        assert_int_equal(t, cases[i].want);
    }
}

static void test_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-12-06",
        "2026-12-06T03:30:00",       /* no zone */
        "2026-12-06 03:30:00Z",      /* space instead of T */
        "2026-12-06T03:30Z",         /* no seconds */
        "2026-13-06T03:30:00Z",      /* month 13 */
        "2025-02-29T00:00:00Z",      /* not a leap year */
        "2026-04-31T00:00:00Z",      /* 31 April */
        "2026-12-06T24:00:00Z",      /* hour 24 */
        "2026-12-06T03:60:00Z",      /* minute 60 */
        "2026-12-06T03:30:61Z",      /* second 61 */
        "2026-12-06T03:30:00.Z",     /* empty fraction */
        "2026-12-06T03:30:00+0100",  /* offset without colon */
        "2026-12-06T03:30:00+24:00", /* offset hour 24 */
        "2026-12-06T03:30:00Zjunk",  /* trailing text */
        "26-12-06T03:30:00Z",        /* two-digit year */
        "2026-1-06T03:30:00Z",       /* one-digit month */
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        time_t t = 42;
        assert_false(rfc3339_parse(bad[i], &t));
        assert_int_equal(t, 42);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
