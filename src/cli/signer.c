/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "cli/signer.h"

#include <limits.h>
#include <openssl/err.h>
#include <sys/stat.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/cert.h"
#include "core/cms.h"
#include "core/policy.h"
#include "core/x509gen.h"

/* ---- Signer certificate and chain ---------------------------------------- */

/* The first certificate of a file. */
static csign_rc cert_from_file(const char *path, X509 **out)
{
    STACK_OF(X509) *certs = NULL;
    csign_rc rc = cert_read_file(path, &certs);

    if (rc != CSIGN_OK)
        return rc;
    *out = sk_X509_shift(certs);
    sk_X509_pop_free(certs, X509_free);
    return CSIGN_OK;
}

static X509 *parse_der(const hsm_cert *c)
{
    const unsigned char *p = c->der;
    return d2i_X509(NULL, &p, (long)c->der_len);
}

/* The one certificate on the token that a --cert URI names. */
static csign_rc cert_from_uri(cli_token *t, const char *text, X509 **out)
{
    hsm_uri *u = NULL;
    hsm_cert *one = NULL;
    size_t n = 0;
    csign_rc rc = hsm_uri_parse(text, &u);

    if (rc == CSIGN_OK)
        rc = hsm_certs(t->h, u, &one, &n);
    if (rc == CSIGN_OK && n != 1)
        rc =
            err_set(n == 0 ? CSIGN_ETOKEN : CSIGN_EUSAGE, "--cert URI matches %zu certificates", n);
    if (rc == CSIGN_OK && (*out = parse_der(&one[0])) == NULL)
        rc = err_set(CSIGN_EINPUT, "the certificate on the token does not parse");
    hsm_certs_free(one, n);
    hsm_uri_free(u);
    return rc;
}

/* The key's certificate among the token's certificates (the first that
 * hsm_cert_is_keys() says is the key's). */
static csign_rc cert_of_key(const hsm_cert *certs, size_t n, const hsm_key *key,
                            const EVP_PKEY *pub, X509 **out)
{
    for (size_t i = 0; i < n; i++) {
        if (!hsm_cert_is_keys(&certs[i], key, pub))
            continue;
        if ((*out = parse_der(&certs[i])) == NULL)
            return err_set(CSIGN_EINPUT, "the key's certificate on the token does not parse");
        return CSIGN_OK;
    }
    return err_set(CSIGN_ETOKEN,
                   "key '%s' has no certificate on the token; store one with import-cert or "
                   "give --cert",
                   key->label);
}

/* The issuers of cert among the token's certificates (cert_chain_from()). */
static csign_rc chain_from_token(const hsm_cert *certs, size_t n, X509 *cert, STACK_OF(X509) * *out)
{
    STACK_OF(X509) *pool = sk_X509_new_null();
    csign_rc rc = pool != NULL ? CSIGN_OK : err_oom();

    /* What does not parse cannot be an issuer. */
    for (size_t i = 0; rc == CSIGN_OK && i < n; i++) {
        X509 *c = parse_der(&certs[i]);
        if (c != NULL && !sk_X509_push(pool, c)) {
            X509_free(c);
            rc = err_oom();
        }
    }
    ERR_clear_error();
    if (rc == CSIGN_OK)
        rc = cert_chain_from(cert, pool, time(NULL), out);
    sk_X509_pop_free(pool, X509_free);
    return rc;
}

/* The signer certificate (--cert, else the token's certificate of the
 * key) and the chain to include (--chain, else issuers on the token). */
static csign_rc find_certs(const sign_opts *o, cli_token *t, const hsm_key *key,
                           const EVP_PKEY *pub, X509 **cert, STACK_OF(X509) * *chain)
{
    hsm_cert *certs = NULL;
    size_t n = 0;
    csign_rc rc = hsm_certs(t->h, NULL, &certs, &n);

    *cert = NULL;
    *chain = NULL;
    if (rc == CSIGN_OK && o->cert == NULL)
        rc = cert_of_key(certs, n, key, pub, cert);
    else if (rc == CSIGN_OK && strncmp(o->cert, "pkcs11:", 7) == 0)
        rc = cert_from_uri(t, o->cert, cert);
    else if (rc == CSIGN_OK)
        rc = cert_from_file(o->cert, cert);
    if (rc == CSIGN_OK)
        rc = o->chain ? cert_read_file(o->chain, chain) : chain_from_token(certs, n, *cert, chain);
    hsm_certs_free(certs, n);
    return rc;
}

/* Whether a and b are one key: by id, or by label when neither has one. */
static bool same_key(const hsm_key *a, const hsm_key *b)
{
    if (a->id_len == 0 && b->id_len == 0)
        return strcmp(a->label, b->label) == 0;
    return a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0;
}

const EVP_MD *signer_digest(const sign_opts *o, const EVP_PKEY *pub)
{
    return o->have_given ? o->given.md : o->md ? o->md : x509gen_digest(pub);
}

/* --policy over what is known before the login: the key, its
 * certificate, the token's kind and whether a timestamp is asked for.
 * A run set up against the policy is a usage error. */
policy_facts signer_policy_facts(const EVP_PKEY *pub, const EVP_MD *md, X509 *cert,
                                 const hsm_token *tok, const tsa_opts *tsa)
{
    return (policy_facts){
        .key = pub,
        .digest_nid = EVP_MD_get_type(md),
        .cert = cert,
        .at = time(NULL),
        .hardware = tok->hardware ? POLICY_HW_YES : POLICY_HW_NO,
        .token = tok->label,
        .stamp = tsa->cfg.nurls == 0 ? POLICY_STAMP_NOT_ASKED
                 : tsa->optional     ? POLICY_STAMP_OPTIONAL
                                     : POLICY_STAMP_ASKED,
    };
}

static csign_rc check_policy(const sign_opts *o, const signer *st)
{
    policy_facts f =
        signer_policy_facts(st->pub, signer_digest(o, st->pub), st->cert, &st->t.token, &o->tsa);
    csign_rc rc = policy_check(o->policy, &f);

    return rc == CSIGN_ENO ? err_set(CSIGN_EUSAGE, "%s", err_msg()) : rc;
}

csign_rc signer_open(const sign_opts *o, signer *st)
{
    pin_source src;
    csign_rc rc = hsm_uri_parse(o->key, &st->uri);

    if (rc == CSIGN_OK && !hsm_uri_names_object(st->uri))
        rc = err_set(CSIGN_EUSAGE, "--key needs a URI that names a key (object= or id=)");
    if (rc == CSIGN_OK)
        rc = cli_pin_source(&o->c, st->uri, &src);
    if (rc == CSIGN_OK)
        rc = cli_token_open(&o->c, st->uri, false, false, &st->t);
    if (rc == CSIGN_OK)
        rc = hsm_key_find(st->t.h, st->uri, false, &st->key);
    if (rc == CSIGN_OK)
        rc = hsm_key_public(st->t.h, &st->key, &st->pub);
    if (rc == CSIGN_OK && o->pss && !EVP_PKEY_is_a(st->pub, "RSA"))
        rc = err_set(CSIGN_EUSAGE, "--pss needs an RSA key");
    if (rc == CSIGN_OK)
        rc = find_certs(o, &st->t, &st->key, st->pub, &st->cert, &st->chain);
    if (rc == CSIGN_OK)
        rc = check_policy(o, st);
    if (rc == CSIGN_OK)
        rc = cert_check_code_signing(st->cert, st->pub, time(NULL));
    /* The token must be able to make the signature before a PIN is read. */
    if (rc == CSIGN_OK)
        rc = hsm_sig_check(st->t.h,
                           o->pss                          ? HSM_SIG_PSS
                           : EVP_PKEY_is_a(st->pub, "RSA") ? HSM_SIG_PKCS1
                                                           : HSM_SIG_ECDSA,
                           EVP_MD_get_type(signer_digest(o, st->pub)));
    if (rc == CSIGN_OK)
        rc = cli_login(&st->t, &o->c, &src);
    /* The private key must be the one whose public key and certificate
     * were checked above. */
    if (rc == CSIGN_OK) {
        hsm_key seen = st->key;
        memset(&st->key, 0, sizeof(st->key));
        rc = hsm_key_find(st->t.h, st->uri, true, &st->key);
        if (rc == CSIGN_OK && !same_key(&seen, &st->key))
            rc = err_set(CSIGN_ETOKEN,
                         "after login '%s' names another key than before; name the key with id=",
                         st->key.uri);
        hsm_key_clear(&seen);
    }
    if (rc == CSIGN_OK)
        rc = hsm_key_private(st->t.h, &st->key, st->pub, &st->priv);
    return rc;
}

csign_rc signer_check_input(const char *path)
{
    struct stat st;
    char name[PATH_MAX * 4];

    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return CSIGN_OK;
    cli_escape(path, name, sizeof(name));
    return err_set(CSIGN_EINPUT,
                   "is a folder; name the files, such as with 'find %s -type f' or --files-from",
                   name);
}

void signer_close(signer *st)
{
    /* The token-backed key goes before the token does. */
    EVP_PKEY_free(st->priv);
    EVP_PKEY_free(st->pub);
    X509_free(st->cert);
    sk_X509_pop_free(st->chain, X509_free);
    hsm_key_clear(&st->key);
    cli_token_close(&st->t);
    hsm_uri_free(st->uri);
}

csign_rc signer_stamp(const sign_opts *o, stamper *ts, unsigned char **sig, size_t *len,
                      char *warning)
{
    unsigned char *stamped = NULL;
    size_t stamped_len = 0;
    csign_rc rc = stamper_apply(ts, *sig, *len, &stamped, &stamped_len);

    warning[0] = '\0';
    if (rc == CSIGN_OK) {
        OPENSSL_free(*sig);
        *sig = stamped;
        *len = stamped_len;
    } else if (o->tsa.optional && (rc == CSIGN_ENO || rc == CSIGN_EIO)) {
        snprintf(warning, ERR_MAX, "signed without a timestamp: %s", err_msg());
        rc = CSIGN_OK;
    }
    return rc;
}

csign_rc signer_sign(const sign_opts *o, const cms_signer *s, stamper *ts, const digest_result *d,
                     unsigned char **sig, size_t *len, char *warning)
{
    csign_rc rc = cms_sign_digest(s, d, o->pem, sig, len);

    warning[0] = '\0';
    if (rc == CSIGN_OK && ts != NULL)
        rc = signer_stamp(o, ts, sig, len, warning);
    if (rc != CSIGN_OK) {
        OPENSSL_free(*sig);
        *sig = NULL;
    }
    return rc;
}
