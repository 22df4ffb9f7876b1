/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_REPORT_H
#define CSIGN_REPORT_H

/* The parts of verify's report that files and manifests share. */

#include <jansson.h>

#include "core/verify.h"

/* Prints "OK NAME signed by SUBJECT at TIME (timestamped by TSA),
 * revocation: ..." for a valid signature. */
void report_ok_line(const char *name, const verify_result *r);

/* Adds "timestamp", "judged_at" and "revocation" to the JSON record j. */
void report_add_time_json(json_t *j, const verify_result *r);

#endif
