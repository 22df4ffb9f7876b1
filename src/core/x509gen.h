/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_X509GEN_H
#define CSIGN_X509GEN_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sys/err.h"

/*
 * Certificate requests and self-signed certificates for code-signing keys.
 * signer may be any EVP_PKEY that can sign (a token-backed one in csign);
 * pub is the matching public key, which checks every signature made.
 */

/*
 * Parses a distinguished name: RFC 4514 ("CN=Release Signing,O=Example\,
 * Ltd,C=DE", most specific RDN first, '+' for multi-valued RDNs, '\'
 * escapes) or OpenSSL's form ("/C=DE/O=Example Ltd/CN=Release Signing", in
 * encoding order). CSIGN_EUSAGE naming the bad part when malformed.
 */
csign_rc dn_parse(const char *text, X509_NAME **out);

/* SHA-256, or SHA-384 / SHA-512 for EC keys of 384 / 521 bits. */
const EVP_MD *x509gen_digest(const EVP_PKEY *pub);

/*
 * A PKCS#10 request for subject, requesting keyUsage digitalSignature
 * (critical), extendedKeyUsage codeSigning and, with email, a
 * subjectAltName e-mail address. CSIGN_EUSAGE for a bad e-mail address,
 * CSIGN_ETOKEN when the key cannot sign (a token failure), CSIGN_EINPUT
 * when the signature made does not verify.
 */
csign_rc x509gen_csr(EVP_PKEY *signer, EVP_PKEY *pub, const X509_NAME *subject, const char *email,
                     X509_REQ **out);

/*
 * A self-signed X.509 v3 certificate valid for days from now: random
 * 16-byte serial, basicConstraints CA:FALSE, keyUsage digitalSignature
 * (critical), extendedKeyUsage codeSigning, subject and authority key
 * identifiers (SHA-1 of the public key).
 */
csign_rc x509gen_selfsigned(EVP_PKEY *signer, EVP_PKEY *pub, const X509_NAME *subject, int days,
                            X509 **out);

#endif
