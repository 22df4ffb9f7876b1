/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_DOCTOR_H
#define CSIGN_DOCTOR_H

/* csign doctor: the checks of a signing set-up, and their report
 * (docs/doctor.md). */

#include <openssl/x509.h>
#include <stdbool.h>

#include "cli/cli.h"

typedef enum { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL } doctor_status;

/* The run's report: counts, and the JSON "checks" array when --json. */
typedef struct {
    bool json;
    int nfail, nwarn;
    char failed[256]; /* the names of failed checks, comma-separated */
} doctor_report;

/*
 * One check's result: with --json a record {name, status, detail, fix} in
 * the document's "checks", else one line "STATUS NAME: DETAIL" on stdout,
 * followed by "; fix: FIX" for warn and fail. fix may be NULL for ok.
 * Untrusted text in detail is escaped.
 */
void doctor_say(doctor_report *r, doctor_status s, const char *name, const char *fix,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* What the certificate checks need. All borrowed. */
typedef struct {
    X509 *cert;             /* the signer certificate; NULL: none found */
    const char *source;     /* where it came from, for the detail */
    EVP_PKEY *pub;          /* the key's public key; NULL: unknown */
    STACK_OF(X509) * chain; /* intermediates (--chain or the token's issuers) */
    X509_STORE *trust;      /* --trust anchors; NULL: none given */
    long warn_days;         /* --warn-days */
} doctor_cert;

/* The checks cert-key, cert-eku, cert-ku, cert-expiry and chain. */
void doctor_check_cert(doctor_report *r, const doctor_cert *c);

#endif
