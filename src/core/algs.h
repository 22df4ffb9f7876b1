/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_ALGS_H
#define CSIGN_ALGS_H

/* What csign accepts in signatures it verifies, its own and TSAs'. */

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

/* SHA-256, SHA-384 or SHA-512. */
bool algs_strong_digest(int nid);

/* A SignerInfo signature algorithm csign accepts: ECDSA or RSA PKCS#1
 * v1.5 with SHA-2, or RSASSA-PSS whose hash and MGF1 hash are SHA-2. */
bool algs_strong_signature(const X509_ALGOR *alg);

/* The index of the first CA of a verified chain (leaf first) whose
 * extendedKeyUsage leaves out every usage of allowed (XKU_* bits; anyEKU
 * always passes), or 0 when none does. OpenSSL 3.0 checks no EKU along a
 * chain for code signing or time stamping. */
int algs_chain_eku_conflict(STACK_OF(X509) * chain, uint32_t allowed);

#endif
