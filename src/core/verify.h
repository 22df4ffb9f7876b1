/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_VERIFY_H
#define CSIGN_VERIFY_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <time.h>

#include "core/policy.h"
#include "sys/err.h"

/* What a signature must satisfy besides being well formed. Borrowed. */
typedef struct {
    X509_STORE *trust; /* the anchors, and nothing else */
    /* The files the anchors came from, named when a chain does not reach
     * them; may be NULL/0. */
    const char *const *trust_files;
    int ntrust_files;
    STACK_OF(X509) * untrusted; /* extra intermediates; may be NULL */
    time_t at;                  /* judge certificates at this time */
    int min_rsa_bits;
    /* The signer must be one of these (any one may match); none given:
     * any signer the chain admits. */
    const unsigned char (*expect_sha256)[32]; /* SHA-256 fingerprints */
    int nexpect_sha256;
    const X509_NAME *const *expect_subject; /* subjects */
    int nexpect_subject;
    X509_STORE *tsa_trust;     /* anchors for timestamps; NULL: none used */
    STACK_OF(X509_CRL) * crls; /* may be NULL */
    bool require_crl;
    bool require_timestamp;
    /* Rules on top (policy_check()): the key, digest and certificate of
     * the signer at the time the chain is judged at, and the timestamp;
     * the token's kind is not known from a signature. */
    policy_id policy;
} verify_policy;

/* What verification found out. Strings are owned by the result. */
typedef struct {
    char *subject, *issuer;
    char serial[80];
    char sha256[65];
    char signing_time[32]; /* RFC 3339, "" when absent */
    const char *digest;    /* "sha256", ... or NULL */
    /* "absent", "untrusted" (valid, but no --tsa-trust) or "valid"; NULL
     * when not reached */
    const char *timestamp;
    char timestamp_time[32];      /* the token's genTime, RFC 3339 */
    char *tsa_subject;            /* the TSA certificate's subject */
    const char *timestamp_digest; /* the imprint's digest */
    char judged_at[32];           /* the time the chain was judged at */
    const char *revocation;       /* revoke_check()'s status, or NULL */
} verify_result;

/*
 * Verifies a detached signature (DER or PEM, sig[0..len)) over the content
 * read from content_path ("-" is standard input), strictly: the whole
 * input is one SignedData with nothing after it, its versions, choices
 * and digestAlgorithms as cms_check_signed_data() requires, one SignerInfo, no
 * eContent, eContentType id-data, exactly one contentType (id-data) and
 * one messageDigest signed attribute, that digest equal to the content's
 * (streamed), the signature valid for the signer certificate's key with
 * a signature algorithm that fits it (cms_check_signature_alg()),
 * signingCertificateV2 (if present) naming that certificate first, the chain
 * valid at p->at up to one of p->trust's anchors, a leaf fit for code
 * signing, and only SHA-256/384/512, RSA of p->min_rsa_bits or more and
 * the P-256/384/521 curves. The only unsigned attribute allowed is one
 * RFC 3161 timestamp (id-aa-timeStampToken), checked with
 * tsa_check_token() against p->tsa_trust; when it is trusted, the chain is
 * judged at its time instead of p->at. With p->crls the chain's
 * revocation is checked (revoke_check()). With p->policy its rules are
 * checked once the signature is known to be the signer's and its
 * timestamp is checked, before the chain.
 *
 * When the chain does not reach an anchor, the reason (one line) says
 * where it stops (that certificate's subject, and its issuer or that it
 * is self-signed) and which anchors were tried (how many, from which
 * p->trust_files, their subjects).
 *
 * Returns CSIGN_OK; CSIGN_ENO with the reason when the signature is not
 * valid; CSIGN_EIO when the content cannot be read. Fills *r as far as it
 * got (release with verify_result_clear()).
 */
csign_rc verify_detached(const verify_policy *p, const unsigned char *sig, size_t len,
                         const char *content_path, verify_result *r);

/* verify_detached() over content already in memory (a manifest that is
 * parsed after, so that what is checked is what was verified). */
csign_rc verify_detached_data(const verify_policy *p, const unsigned char *sig, size_t len,
                              const unsigned char *data, size_t data_len, verify_result *r);

void verify_result_clear(verify_result *r);

#endif
