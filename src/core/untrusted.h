/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_UNTRUSTED_H
#define CSIGN_UNTRUSTED_H

/* Where a signer's chain stops short of the trust anchors, in words. */

#include <openssl/x509.h>

#include "core/verify.h"

/*
 * When the signer's chain (through certs, the signature's and
 * --untrusted's certificates) does not reach one of p->trust's anchors,
 * replaces OpenSSL's words with where it stops and which anchors were
 * tried; any other chain failure (an expired certificate, ...) keeps its
 * reason. Returns rc, or the new CSIGN_ENO.
 */
csign_rc untrusted_explain(const verify_policy *p, X509 *signer, STACK_OF(X509) * certs,
                           csign_rc rc);

#endif
