/* SPDX-License-Identifier: Apache-2.0 */
/* What verify says about a valid signature, for files and manifests alike. */
#include "cli/report.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int severity(csign_rc rc)
{
    switch (rc) {
    case CSIGN_OK:
        return 0;
    case CSIGN_EUSAGE:
        return 1;
    case CSIGN_EIO:
        return 2;
    case CSIGN_EINPUT:
        return 3;
    case CSIGN_ETOKEN:
        return 4;
    case CSIGN_EINTERNAL:
        return 5;
    case CSIGN_ENO:
        return 6;
    }
    return 5;
}

csign_rc report_worse(csign_rc worst, csign_rc rc)
{
    return severity(rc) > severity(worst) ? rc : worst;
}

void report_ok_line(const char *name, const verify_result *r)
{
    char f[PATH_MAX * 4], subject[4096], tsa[4096];
    bool stamped = r->timestamp && strcmp(r->timestamp, "absent") != 0;
    bool trusted = stamped && strcmp(r->timestamp, "valid") == 0;

    if (cli_verbosity < 0)
        return; /* -q: only failures are worth a line */
    printf("OK %s signed by %s at %s", cli_escape(name, f, sizeof(f)),
           cli_escape(r->subject ? r->subject : "", subject, sizeof(subject)),
           trusted              ? r->timestamp_time
           : r->signing_time[0] ? r->signing_time
                                : "(no signing time)");
    if (stamped)
        printf(" (%s by %s%s)", trusted ? "timestamped" : "timestamp",
               cli_escape(r->tsa_subject ? r->tsa_subject : "", tsa, sizeof(tsa)),
               trusted ? "" : ", not used: no --tsa-trust");
    if (r->revocation != NULL)
        printf(", revocation: %s", r->revocation);
    printf("\n");
}

/* {"status", "time", "tsa", "digest"}, or null when not reached. */
static json_t *timestamp_json(const verify_result *r)
{
    if (r->timestamp == NULL)
        return json_null();
    json_t *t = json_object();
    bool found = strcmp(r->timestamp, "absent") != 0;
    json_object_set_new(t, "status", json_string(r->timestamp));
    json_object_set_new(t, "time", found ? json_string(r->timestamp_time) : json_null());
    json_object_set_new(t, "tsa", found ? cli_json_string(r->tsa_subject) : json_null());
    json_object_set_new(t, "digest", found ? json_string(r->timestamp_digest) : json_null());
    return t;
}

void report_add_time_json(json_t *j, const verify_result *r)
{
    json_object_set_new(j, "timestamp", timestamp_json(r));
    json_object_set_new(j, "judged_at", r->judged_at[0] ? json_string(r->judged_at) : json_null());
    json_object_set_new(j, "revocation", r->revocation ? json_string(r->revocation) : json_null());
}
