/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_REPORT_H
#define CSIGN_REPORT_H

/* The parts of verify's report that files and manifests share. */

#include <jansson.h>

#include "core/verify.h"

/* Prints "OK NAME signed by SUBJECT at TIME (timestamped by TSA),
 * revocation: ..." for a valid signature; nothing with -q. */
void report_ok_line(const char *name, const verify_result *r);

/* Adds "timestamp", "judged_at" and "revocation" to the JSON record j. */
void report_add_time_json(json_t *j, const verify_result *r);

/*
 * The exit code of a run over several files, one rule for per-file and
 * manifest verification: CSIGN_ENO as soon as one file was checked and
 * found not valid (a verdict a script must not miss), else the most
 * severe other error: 70 (internal) > 3 (token) > 5 (malformed input) >
 * 4 (I/O) > 2 (usage). Fold each file's code into the run's with
 * worst = report_worse(worst, rc).
 */
csign_rc report_worse(csign_rc worst, csign_rc rc);

#endif
