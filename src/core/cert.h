/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_CERT_H
#define CSIGN_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sys/err.h"

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

/*
 * Verifies leaf's chain to one of trust's anchors at time at, as csign
 * judges every chain it relies on: OpenSSL's strict X.509 checks, security
 * level CERT_SECURITY_LEVEL (no SHA-1 certificate signatures, no key
 * under CERT_SECURITY_BITS), purpose (an X509_PURPOSE_* id; 0 for none:
 * OpenSSL 3.0 has no code-signing purpose), and no CA of the chain whose
 * extendedKeyUsage leaves out usage (an XKU_* bit; anyExtendedKeyUsage
 * passes), which OpenSSL 3.0 does not check along a chain. untrusted
 * (borrowed, may be NULL) holds intermediates; who names the leaf in
 * reasons ("signer", "TSA"). Nothing about revocation (revoke.h).
 *
 * CSIGN_OK and, when chain is not NULL, *chain: the verified chain, leaf
 * first and anchor last, freed by the caller (sk_X509_pop_free with
 * X509_free). CSIGN_ENO with "<who> not trusted: <reason>";
 * CSIGN_EINTERNAL when out of memory.
 */
struct x509_store_st;
csign_rc cert_verify_chain(struct x509_st *leaf, struct x509_store_st *trust,
                           struct stack_st_X509 *untrusted, time_t at, int purpose, uint32_t usage,
                           const char *who, struct stack_st_X509 **chain);

/* The most CA certificates cert_chain_from() puts above a leaf. */
#define CERT_CHAIN_MAX 8

/*
 * The issuers of leaf found in pool (borrowed; any certificates, in any
 * order), followed upwards: the next one is a certificate of pool whose
 * subject is the current one's issuer, that is a CA by basicConstraints
 * (cA TRUE), and whose public key verifies the current one's signature;
 * of several, the first valid at time at, else the first. The walk stops
 * at a self-signed certificate (which is included), when no issuer is
 * found, or after CERT_CHAIN_MAX; no certificate is taken twice, so a loop
 * of cross-signed CAs ends. Nothing is judged beyond that (cert_verify_chain
 * does). *out, leaf not included, nearest issuer first, holds new
 * references and is freed by the caller. CSIGN_EINTERNAL when out of memory.
 */
csign_rc cert_chain_from(struct x509_st *leaf, struct stack_st_X509 *pool, time_t at,
                         struct stack_st_X509 **out);

/* The certificate's subject as RFC 4514 text (caller frees), or NULL. */
char *cert_subject(struct x509_st *cert);

/* SHA-256 fingerprint of the certificate, lowercase hex (65 bytes). */
void cert_fingerprint(struct x509_st *cert, char hex[65]);

#endif
