/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_CMS_H
#define CSIGN_CMS_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

#include "core/digest.h"
#include "sys/err.h"

/* As <openssl/cms.h> has it; that header is not included here because it
 * declares its PEM functions only when <openssl/pem.h> came first. */
typedef struct CMS_SignerInfo_st CMS_SignerInfo;

/* Who signs, for cms_sign_digest(). Everything is borrowed. */
typedef struct {
    EVP_PKEY *key;          /* signs the attributes; may be token-backed */
    X509 *cert;             /* the signer's certificate */
    STACK_OF(X509) * chain; /* CA certificates to include; may be NULL */
    bool pss;               /* RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys) */
} cms_signer;

/*
 * A detached CMS SignedData (RFC 5652) over content whose digest d was
 * computed elsewhere: no eContent, one SignerInfo, signed attributes
 * contentType (id-data), messageDigest, signingTime and
 * signingCertificateV2 (RFC 5035) for the signer certificate, the signer
 * certificate and chain included. Only the attributes are signed, so the
 * content never reaches the key. The new signature is verified with the
 * certificate's public key before it is returned (a token that signs
 * wrongly gives CSIGN_EINPUT). *der is DER, or PEM with pem; the caller
 * frees it with OPENSSL_free().
 */
csign_rc cms_sign_digest(const cms_signer *s, const digest_result *d, bool pem, unsigned char **der,
                         size_t *len);

/* Gets a timestamp token over a signature value, for cms_add_timestamp():
 * *token is DER, freed by the caller of fn with OPENSSL_free(). */
typedef csign_rc (*cms_stamp_fn)(void *ctx, const unsigned char *sigval, size_t len,
                                 unsigned char **token, size_t *token_len);

/*
 * Adds a timestamp to a signature: sig (DER, or PEM when it starts with
 * "-----BEGIN") must hold one SignerInfo and no timestamp yet (else
 * CSIGN_EINPUT); fn is given that SignerInfo's signature value and its
 * token becomes the unsigned attribute id-aa-timeStampToken (RFC 3161
 * appendix A). *out (OPENSSL_free) is in the form of sig. fn's error is
 * returned as is.
 */
csign_rc cms_add_timestamp(const unsigned char *sig, size_t len, cms_stamp_fn fn, void *ctx,
                           unsigned char **out, size_t *out_len);

/* ---- Reading signatures as a verifier must (cmscheck.c) ---------------- */

/*
 * The one value of the signed attribute nid of si, for a verifier: an
 * attribute that is there must appear once and hold exactly one value, of
 * ASN.1 type type (V_ASN1_*; V_ASN1_ANY: any, the caller judges it); with
 * required, it must be there. what names the attribute in reasons
 * ("signed attribute contentType").
 *
 * CSIGN_OK with *value borrowed from si, or NULL when the attribute is
 * absent and not required; CSIGN_ENO with "<what> is missing", "<what>
 * appears twice", "<what> does not have exactly one value" or "<what> is
 * malformed" (the type).
 */
csign_rc cms_signed_attr(CMS_SignerInfo *si, int nid, int type, bool required, const char *what,
                         ASN1_TYPE **value);

/*
 * The certificate the SignerInfo's identifier (issuerAndSerialNumber or
 * subjectKeyIdentifier) names: the first of certs that matches, borrowed
 * from certs; NULL when none does. Whether it is the right key is for the
 * signature to show, whether it is trusted for the chain.
 */
X509 *cms_find_signer(CMS_SignerInfo *si, STACK_OF(X509) * certs);

/*
 * What OpenSSL 3.0 parses in a SignedData but RFC 5652 forbids or csign
 * does not accept, in der[0..len), one ContentInfo in DER (already parsed
 * once, so well formed; anything but a SignedData is left to the caller):
 * certificates that are not X.509 certificates (attribute or other
 * formats); revocation information that is not a CRL; a SignerInfo whose
 * version is not 1 with an issuerAndSerialNumber or 3 with a
 * subjectKeyIdentifier (5.3); a SignedData version other than 3 when a
 * SignerInfo has version 3 or the eContentType is not id-data, else 1
 * (5.1, with no attribute or other certificates and no other revocation
 * information); a digestAlgorithms set that lacks a SignerInfo's
 * digestAlgorithm or lists anything but SHA-256, SHA-384 or SHA-512.
 * CSIGN_OK; CSIGN_ENO with the reason otherwise.
 */
csign_rc cms_check_signed_data(const unsigned char *der, size_t len);

/*
 * Whether the SignerInfo's signatureAlgorithm fits the signer's key and
 * its digestAlgorithm: rsaEncryption, sha256/384/512WithRSAEncryption or
 * RSASSA-PSS for an RSA key, ecdsa-with-SHA256/384/512 for an EC key; and
 * the hash the signatureAlgorithm names (RSASSA-PSS: its hashAlgorithm),
 * if any, is the digestAlgorithm. OpenSSL 3.0 ignores the
 * signatureAlgorithm of an EC signer and the hash of an RSA one, so a
 * signature that says rsaEncryption over an ECDSA value verifies there.
 * Borrows si and key. CSIGN_OK; CSIGN_ENO with the reason otherwise.
 */
csign_rc cms_check_signature_alg(CMS_SignerInfo *si, EVP_PKEY *key);

#endif
