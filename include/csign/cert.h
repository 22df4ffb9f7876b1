/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_CERT_H
#define CSIGN_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "csign/err.h"

/* The OpenSSL security level chains are judged at, and the strength in
 * bits it asks of keys and signatures: no SHA-1 or MD5 signatures, no RSA
 * key under 2048 bits. CRLs are held to the same (revoke.h). */
#define CERT_SECURITY_LEVEL 2
#define CERT_SECURITY_BITS 112

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

/*
 * Whether cert may sign code as the holder of pub: its public key is pub
 * (when pub is not NULL), it has extendedKeyUsage codeSigning
 * (anyExtendedKeyUsage alone is not enough) and keyUsage digitalSignature,
 * it is not a CA, and it is valid at time at. CSIGN_EINPUT with the reason
 * otherwise.
 */
struct x509_st;
struct evp_pkey_st;
csign_rc cert_check_code_signing(struct x509_st *cert, const struct evp_pkey_st *pub, time_t at);

/* A name as RFC 4514 text with control characters escaped (caller
 * frees), or NULL. */
struct X509_name_st;
char *cert_name_text(const struct X509_name_st *name);

/* Every certificate in a file: a PEM bundle, or one DER certificate with
 * nothing after it. CSIGN_EIO when it cannot be read, CSIGN_EINPUT when it
 * holds no certificate. *out is owned by the caller. */
struct stack_st_X509;
csign_rc cert_read_file(const char *path, struct stack_st_X509 **out);

/* Every CRL in a file (PEM, or one DER CRL with nothing after it), added
 * to crls. CSIGN_EIO when it cannot be read, CSIGN_EINPUT when it holds
 * no CRL or one that does not parse. */
struct stack_st_X509_CRL;
csign_rc cert_read_crls(const char *path, struct stack_st_X509_CRL *crls);

/* The certificate's subject as RFC 4514 text (caller frees), or NULL. */
char *cert_subject(struct x509_st *cert);

/* SHA-256 fingerprint of the certificate, lowercase hex (65 bytes). */
void cert_fingerprint(struct x509_st *cert, char hex[65]);

#endif
