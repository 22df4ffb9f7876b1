/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_CERT_H
#define CSIGN_CERT_H

#include <stdbool.h>
#include <stddef.h>

#include "csign/err.h"

/* What `list` shows of a certificate. Strings are owned by the summary. */
typedef struct {
    char *subject; /* RFC 4514, control characters escaped */
    char *issuer;
    char not_after[32]; /* RFC 3339, UTC */
    char *eku;          /* comma-separated short names, "" when absent */
    bool is_ca;
    char sha256[65]; /* hex fingerprint of the DER */
} cert_summary;

/* Parses a DER certificate. CSIGN_EINPUT when it is not one. */
csign_rc cert_summarize(const unsigned char *der, size_t len, cert_summary *out);
void cert_summary_clear(cert_summary *s);

#endif
