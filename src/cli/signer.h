/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_SIGNER_H
#define CSIGN_SIGNER_H

/* The signing side of `sign`: the key on the token, its certificate and
 * the chain to include, checked before the PIN is used. */

#include <openssl/x509.h>

#include "cli/commands.h"
#include "core/cms.h"
#include "core/policy.h"

typedef struct {
    cli_token t;
    hsm_uri *uri;
    hsm_key key;
    EVP_PKEY *pub, *priv; /* priv is token-backed */
    X509 *cert;
    STACK_OF(X509) * chain;
} signer;

/*
 * Opens the token, finds the key, the signer certificate (--cert, else the
 * token's certificate with the key's id) and the chain (--chain, else the
 * issuers stored on the token), checks the certificate for code signing
 * with this key, then logs in once. On failure *st still needs
 * signer_close().
 */
csign_rc signer_open(const sign_opts *o, signer *st);

/* The digest of the signatures: the --digest-hex digest's, else --digest,
 * else the one that suits the key (x509gen_digest()). */
const EVP_MD *signer_digest(const sign_opts *o, const EVP_PKEY *pub);

/* What a policy judges, before the PIN, of signing with pub and its
 * certificate on token tok, with digest md and the TSA options tsa, now:
 * sign's check and doctor's policy line judge the same facts. */
policy_facts signer_policy_facts(const EVP_PKEY *pub, const EVP_MD *md, X509 *cert,
                                 const hsm_token *tok, const tsa_opts *tsa);

/* CSIGN_EINPUT when path is a folder, with a hint on how to name the
 * files in it ("is a folder; name the files, ..."); CSIGN_OK for anything
 * else (which the hashing then judges). Before the PIN is used. */
csign_rc signer_check_input(const char *path);

/* Frees everything, the token-backed key before the token. */
void signer_close(signer *st);

/*
 * The signature over d (cms_sign_digest()), with a timestamp from ts when
 * it is not NULL. When no TSA gives one and --tsa-optional is set, the
 * signature stays without and warning (ERR_MAX bytes) says why; otherwise
 * that is the error. *sig is freed with OPENSSL_free().
 */
csign_rc signer_sign(const sign_opts *o, const cms_signer *s, stamper *ts, const digest_result *d,
                     unsigned char **sig, size_t *len, char *warning);

/* Adds a timestamp from ts to the signature *sig (replaced); with
 * --tsa-optional a TSA failure leaves it unstamped and warning (ERR_MAX
 * bytes) says why. On failure *sig is left as it was. */
csign_rc signer_stamp(const sign_opts *o, stamper *ts, unsigned char **sig, size_t *len,
                      char *warning);

#endif
