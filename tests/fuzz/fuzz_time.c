/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input is a time as verify --at takes it (RFC 3339). A time that
 * parses (years 1000 to 9999) is printed back in UTC and must parse again
 * to the same second.
 */
#include "fuzz.h"

#include <stdio.h>
#include <time.h>

#include "sys/rfc3339.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    time_t t = 0, again = 0;
    struct tm tm;
    char back[64];

    if (text == NULL)
        return 0;
    if (rfc3339_parse(text, &t) && gmtime_r(&t, &tm) != NULL && tm.tm_year + 1900 >= 1000 &&
        tm.tm_year + 1900 <= 9999) {
        FUZZ_CHECK(strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
        FUZZ_CHECK(rfc3339_parse(back, &again));
        FUZZ_CHECK(again == t);
    }
    free(text);
    return 0;
}
