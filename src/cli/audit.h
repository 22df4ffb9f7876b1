/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_AUDIT_H
#define CSIGN_AUDIT_H

/*
 * sign --audit-log FILE: one JSON line appended per signature written
 * (docs/audit-log.md). The line is built whole and appended with one
 * write (sys/applog.h), so that many csign processes can share one log.
 * No PIN and no PIN attribute of the key URI ever goes into it.
 */

#include <openssl/x509.h>
#include <stdbool.h>

#include "core/digest.h"
#include "sys/err.h"

typedef struct audit_log audit_log;

/*
 * Opens path for appending and gathers what every record shares: user,
 * host, CI identifiers and the key URI (key, without pin-value or
 * pin-source). Called before the PIN is used, so that a log that cannot
 * be opened fails the run first: CSIGN_EIO with the reason. *out is NULL
 * on failure; free with audit_close().
 */
csign_rc audit_open(const char *path, const char *key, audit_log **out);

/* The signer's certificate: its SHA-256 and subject go into each record.
 * cert is borrowed for this call only. */
csign_rc audit_signer(audit_log *a, X509 *cert);

/* What one record says about one signature. */
typedef struct {
    const char *kind; /* "file", "manifest", "digest" or "digest-list" */
    const char *file; /* what was signed as the user named it; NULL: a bare digest */
    bool local;       /* file is a path here: made absolute, with its size */
    const digest_result *digest;
    const char *signature;  /* the signature file; "-": standard output */
    const char *sig_sha256; /* SHA-256 of the signature's bytes, hex */
    const char *tsa;        /* the TSA that stamped it, or NULL */
    const char *ts_time;    /* the timestamp's time (RFC 3339), or NULL */
} audit_entry;

/* Appends e's line (one write). CSIGN_EIO when it could not be written. */
csign_rc audit_append(audit_log *a, const audit_entry *e);

/* Makes the lines appended so far durable (fdatasync). CSIGN_EIO. */
csign_rc audit_sync(audit_log *a);

/* key as the log shows it: without pin-value or pin-source attributes
 * (in the path or the query; a '?' left with nothing after it goes too).
 * Caller frees; NULL when out of memory. */
char *audit_key_uri(const char *key);

/* Closes the log and frees; NULL is a no-op. */
void audit_close(audit_log *a);

/* The SHA-256 of a signature's bytes (sha, 65 bytes of hex) and, when
 * stamped, its timestamp's time (ts_time, 32 bytes; "" when none can be
 * read). For the signing threads: no I/O, no shared state. */
void audit_signature_facts(const unsigned char *sig, size_t len, bool stamped, char sha[65],
                           char ts_time[32]);

#endif
