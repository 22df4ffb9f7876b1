/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_REVOKE_H
#define CSIGN_REVOKE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <time.h>

#include "sys/err.h"

/*
 * Revocation of a verified chain (leaf first, anchor last) from the CRLs
 * the user gave. A CRL applies to a certificate when its issuer is the
 * certificate's issuer, its signature verifies with the key of the next
 * certificate of the chain (which must be allowed to sign CRLs), that
 * signature is as strong as the chain's security level asks of
 * certificates (CERT_SECURITY_BITS: no SHA-1, no MD5, no small key), and
 * it is complete: no issuing distribution point, no delta CRL, no critical
 * extension. A CRL that does not apply is not used at all. Every CRL that applies is consulted; the
 * earliest revocation counts. The anchor itself is not checked, so a chain that is only an anchor
 * has nothing to check.
 *
 * Code signing keeps signatures made before a revocation (CA/Browser
 * Forum): with a trusted time (a verified timestamp; 0 for none), a
 * certificate revoked after it is fine, one revoked at or before it is
 * not; with no trusted time any revocation counts. With require, a
 * certificate that no CRL applies to fails too.
 *
 * CSIGN_OK with *status "good" (CRLs applied, nothing revoked), "revoked
 * after the timestamp" or "not checked" (no CRL applied); CSIGN_ENO with
 * the reason otherwise.
 */
csign_rc revoke_check(STACK_OF(X509) * chain, STACK_OF(X509_CRL) * crls, time_t trusted,
                      bool require, const char **status);

#endif
