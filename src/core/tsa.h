/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_TSA_H
#define CSIGN_TSA_H

/*
 * RFC 3161 time stamps over a CMS signature: the imprint is the hash of
 * the SignerInfo's signature value, and the token goes into that
 * SignerInfo as the unsigned attribute id-aa-timeStampToken (RFC 3161
 * appendix A).
 */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <time.h>

#include "sys/err.h"
#include "sys/http.h"

/* Where and how to ask. Borrowed. */
typedef struct {
    const char *const *urls; /* tried in order */
    int nurls;
    int retries;        /* more tries per URL after a connection error or HTTP 5xx */
    const EVP_MD *md;   /* imprint digest: SHA-256, -384 or -512 */
    const char *policy; /* requested policy OID, or NULL */
    bool *down;         /* nurls flags: unreachable earlier in this run (skipped); or NULL */
} tsa_request;

/* What a token must also satisfy. Borrowed; every field may be NULL. */
typedef struct {
    const unsigned char *nonce; /* the nonce sent */
    size_t nonce_len;
    const char *policy;         /* the policy OID asked for */
    X509_STORE *trust;          /* check the TSA's chain to these anchors */
    STACK_OF(X509) * untrusted; /* extra intermediates for that chain */
    STACK_OF(X509_CRL) * crls;  /* and its revocation (with trust) */
    bool require_crl;           /* every certificate of that chain needs a CRL (with trust) */
} tsa_expect;

/* What a token says, once checked. */
typedef struct {
    time_t gen_time;
    char gen_time_text[32]; /* RFC 3339 */
    char *tsa_subject;      /* the TSA certificate's subject (owned) */
    const char *digest;     /* imprint digest name */
} tsa_info;

void tsa_info_clear(tsa_info *i);

/*
 * Checks a token (DER ContentInfo) over the signature value sigval: a
 * SignedData with one signer over a TSTInfo, nothing after it; version 1;
 * an imprint with SHA-256/384/512 (SHA-1 refused) equal to the hash of
 * sigval; the nonce and policy of e, when given; the token's signature
 * (SHA-2, ECDSA, RSA or RSASSA-PSS, fitting the key as
 * cms_check_signature_alg() says) valid with the TSA certificate it
 * carries, which its one signingCertificate(V2) attribute names first
 * (later ids must name certificates the token carries); that
 * certificate's extended key usage timeStamping and nothing else, marked
 * critical. With e->trust, also the TSA certificate's chain at the
 * token's time to one of those anchors (security level 2, no CA whose
 * extended key usage leaves out time stamping) and, with e->crls, no
 * certificate of that chain revoked at all; with e->require_crl, a CRL
 * for each of them (revoke_check()).
 * CSIGN_OK and *info filled; CSIGN_ENO with the reason otherwise.
 */
csign_rc tsa_check_token(const unsigned char *der, size_t len, const unsigned char *sigval,
                         size_t sigval_len, const tsa_expect *e, tsa_info *info);

/*
 * Asks the TSAs of r, in order, for a token over sigval, and checks each
 * answer with tsa_check_token() (no chain) and the request's nonce and
 * policy. Each URL gets r->retries more tries, with a growing pause, after
 * a connection error, HTTP 408, 429 or 5xx; an answer that is refused or a
 * token that fails a check is not retried. A URL that could not be reached
 * is marked in r->down and skipped by later calls. On success *token (DER, free with OPENSSL_free)
 * and *used (the URL that gave it). Otherwise CSIGN_ENO when some TSA
 * answered but no token passed, CSIGN_EIO when none could be reached; the
 * reason lists what each URL did.
 */
csign_rc tsa_stamp(http_client *c, const tsa_request *r, const unsigned char *sigval,
                   size_t sigval_len, unsigned char **token, size_t *token_len, const char **used);

#endif
