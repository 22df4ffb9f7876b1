/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_DOCTOR_H
#define CSIGN_DOCTOR_H

/* csign doctor: the checks of a signing set-up, and their report
 * (docs/doctor.md). */

#include <openssl/x509.h>
#include <stdbool.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/policy.h"

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

#define DOCTOR_MAX_TRUST 16

/* doctor's options. */
typedef struct {
    cli_common c;
    const char *key;
    const char *cert;
    const char *chain;
    const char *trust[DOCTOR_MAX_TRUST];
    int ntrust;
    long warn_days;
    bool login;
    bool json;
    policy_id policy;
    tsa_opts tsa;
} doctor_opts;

/* Everything a run holds (cmd_doctor.c releases it). */
typedef struct {
    doctor_opts o;
    doctor_report r;
    hsm_uri *uri;
    cli_token t;
    pin_source src;
    X509_STORE *trust;
    STACK_OF(X509) * chain;
    X509 *cert;
    hsm_key *keys;
    size_t nkeys;
    const hsm_key *key; /* the one the URI names, in keys */
    EVP_PKEY *pub;
    bool logged_in;
} doctor_run;

/* The checks, in the order they run (doctor_token.c). module and token
 * return the code that stops the run; the others only report. */
csign_rc doctor_check_module(doctor_run *d);
csign_rc doctor_check_token(doctor_run *d);
void doctor_check_login(doctor_run *d);
void doctor_check_key(doctor_run *d);

/* The signer certificate and its checks (doctor_cert.c). */
void doctor_check_certificate(doctor_run *d);

/* The configured policy (--policy, or the profile's) over the key, its
 * certificate, the token and the TSA settings, as sign judges them before
 * the PIN; no line without a policy (doctor_cert.c). */
void doctor_check_policy(doctor_run *d);

/* Each configured TSA (doctor_tsa.c). */
void doctor_check_tsas(doctor_run *d);

#endif
