/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_POLICY_H
#define CSIGN_POLICY_H

/*
 * Signing policies: rules a signature must meet on top of what csign
 * always asks (docs/policy.md). "cabf" holds a signature to what the
 * CA/Browser Forum's Baseline Requirements for Code Signing Certificates
 * ask of a subscriber's signature. The rules take facts, not a command's
 * options: sign gathers them from the token before the PIN is used,
 * verify from the signature it checked.
 */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

#include "sys/err.h"

typedef enum {
    POLICY_NONE = 0, /* no rules beyond csign's own */
    POLICY_CABF,     /* CA/B Forum Code Signing Baseline Requirements */
} policy_id;

/* "cabf" or "none" into *out; CSIGN_EUSAGE naming the choices for any
 * other name. */
csign_rc policy_parse(const char *name, policy_id *out);

/* "cabf", "none". */
const char *policy_name(policy_id id);

/* Whether the key is on hardware. */
typedef enum {
    POLICY_HW_UNKNOWN = 0, /* a signature does not say: the rule is not checked */
    POLICY_HW_NO,          /* a software token (its slot lacks CKF_HW_SLOT) */
    POLICY_HW_YES,
} policy_hw;

/* What is known of the timestamp. */
typedef enum {
    POLICY_STAMP_NOT_ASKED = 0, /* sign: no TSA is given */
    POLICY_STAMP_OPTIONAL,      /* sign: a TSA, but a signature may be kept without */
    POLICY_STAMP_ASKED,         /* sign: every signature gets one, or none is written */
    POLICY_STAMP_ABSENT,        /* verify: the signature has none */
    POLICY_STAMP_UNTRUSTED,     /* verify: one, not checked against TSA anchors */
    POLICY_STAMP_VALID,         /* verify: one, valid under the TSA anchors */
} policy_stamp;

/* The facts a policy judges. Borrowed. */
typedef struct {
    const EVP_PKEY *key; /* the signer's public key */
    int digest_nid;      /* the signature's digest (NID_sha256, ...) */
    X509 *cert;          /* the signer certificate */
    time_t at;           /* when the certificate must be valid */
    policy_hw hardware;
    const char *token; /* the token's label, for the message; may be NULL */
    policy_stamp stamp;
} policy_facts;

/* The latest notAfter policy id allows for a certificate from not_before
 * (cabf: 39 months when issued before 2026-03-01, else 460 days, BR
 * 6.3.2; the period counts both ends, so this is the limit less one
 * second). (time_t)-1 for POLICY_NONE. */
time_t policy_latest_not_after(policy_id id, time_t not_before);

/*
 * Judges f under policy id, every rule. CSIGN_OK when all are met (always
 * for POLICY_NONE). CSIGN_ENO when any is not, with one line that names
 * each failing rule in brackets and what it needs: "policy cabf: 2 rules
 * not met: [key] ...; [timestamp] ...". CSIGN_EINTERNAL when memory runs
 * out.
 */
csign_rc policy_check(policy_id id, const policy_facts *f);

#endif
