/* SPDX-License-Identifier: Apache-2.0 */
/* csign doctor's report: one line or one JSON record per check. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/doctor.h"
#include "cli/json_doc.h"

static const char *status_name(doctor_status s)
{
    return s == DOCTOR_OK ? "ok" : s == DOCTOR_WARN ? "warn" : "fail";
}

void doctor_say(doctor_report *r, doctor_status s, const char *name, const char *fix,
                const char *fmt, ...)
{
    char detail[1024], shown[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (s == DOCTOR_OK)
        fix = NULL;
    if (s == DOCTOR_FAIL) {
        size_t n = strlen(r->failed);
        if (n + strlen(name) + 3 < sizeof(r->failed))
            snprintf(r->failed + n, sizeof(r->failed) - n, "%s%s", n ? ", " : "", name);
        r->nfail++;
    } else if (s == DOCTOR_WARN) {
        r->nwarn++;
    }
    json_t *checks = r->json && json_doc() ? json_object_get(json_doc(), "checks") : NULL;
    if (checks != NULL) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "status", json_string(status_name(s)));
        json_object_set_new(o, "detail", cli_json_string(detail));
        json_object_set_new(o, "fix", fix ? cli_json_string(fix) : json_null());
        json_array_append_new(checks, o);
        return;
    }
    if (r->json)
        return;
    cli_escape(detail, shown, sizeof(shown));
    printf("%-4s %s: %s", status_name(s), name, shown);
    if (fix != NULL)
        printf("; fix: %s", fix);
    putchar('\n');
    fflush(stdout);
}
