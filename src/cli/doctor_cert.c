/* SPDX-License-Identifier: Apache-2.0 */
/* csign doctor's certificate checks: the signer certificate as sign and
 * verify will judge it, one finding per line. */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/doctor.h"
#include "cli/signer.h"
#include "core/cert.h"
#include "core/x509gen.h"
#include "hsm/hsm.h"

/* What the certificate checks need. All borrowed. */
typedef struct {
    X509 *cert;             /* the signer certificate; NULL: none found */
    const char *source;     /* where it came from, for the detail */
    EVP_PKEY *pub;          /* the key's public key; NULL: unknown */
    STACK_OF(X509) * chain; /* intermediates (--chain or the token's issuers) */
    X509_STORE *trust;      /* --trust anchors; NULL: none given */
    long warn_days;         /* --warn-days */
} doctor_cert;

/* The fix for a certificate that expires or expired. */
#define RENEW                                                                                      \
    "renew the certificate: 'csign csr --key URI' for a request, then 'csign import-cert --key "   \
    "URI CERT.pem' with the new certificate"

static void when_text(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "(unreadable time)");
}

static void check_usage(doctor_report *r, X509 *cert)
{
    uint32_t flags = X509_get_extension_flags(cert);

    if ((flags & EXFLAG_INVALID) != 0)
        doctor_say(r, DOCTOR_FAIL, "cert-eku", RENEW " (one without duplicate extensions)",
                   "the certificate has invalid or duplicate extensions");
    else if ((flags & EXFLAG_XKUSAGE) == 0 ||
             (X509_get_extended_key_usage(cert) & XKU_CODE_SIGN) == 0)
        doctor_say(r, DOCTOR_FAIL, "cert-eku",
                   "ask the CA for a code-signing certificate (extendedKeyUsage codeSigning) "
                   "and store it with 'csign import-cert'",
                   "the certificate lacks extendedKeyUsage codeSigning");
    else
        doctor_say(r, DOCTOR_OK, "cert-eku", NULL, "extendedKeyUsage codeSigning");
    if ((flags & EXFLAG_KUSAGE) == 0 || (X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE) == 0)
        doctor_say(r, DOCTOR_FAIL, "cert-ku",
                   "ask the CA for a certificate with keyUsage digitalSignature and store it "
                   "with 'csign import-cert'",
                   "the certificate lacks keyUsage digitalSignature");
    else if (X509_check_ca(cert) != 0)
        doctor_say(r, DOCTOR_FAIL, "cert-ku",
                   "sign with an end-entity certificate, not a CA's (store it with 'csign "
                   "import-cert')",
                   "the certificate is a CA certificate, not a signing certificate");
    else
        doctor_say(r, DOCTOR_OK, "cert-ku", NULL, "keyUsage digitalSignature, not a CA");
}

static void check_dates(doctor_report *r, X509 *cert, long warn_days)
{
    char when[32], fix[256];
    time_t now = time(NULL);
    int days = 0, secs = 0;

    if (X509_cmp_time(X509_get0_notBefore(cert), &now) >= 0) {
        when_text(X509_get0_notBefore(cert), when, sizeof(when));
        doctor_say(r, DOCTOR_FAIL, "cert-expiry",
                   "wait until then, or check the clock of this machine",
                   "the certificate is not valid before %s", when);
        return;
    }
    when_text(X509_get0_notAfter(cert), when, sizeof(when));
    if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0) {
        doctor_say(r, DOCTOR_FAIL, "cert-expiry", RENEW, "the certificate expired at %s", when);
        return;
    }
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) != 1) {
        doctor_say(r, DOCTOR_WARN, "cert-expiry", RENEW, "cannot compute the days left until %s",
                   when);
        return;
    }
    if (days < warn_days) {
        snprintf(fix, sizeof(fix), "%s before %s", RENEW, when);
        doctor_say(r, DOCTOR_WARN, "cert-expiry", fix,
                   "%d day%s left until the certificate expires at %s (warning under %ld)", days,
                   days == 1 ? "" : "s", when, warn_days);
        return;
    }
    doctor_say(r, DOCTOR_OK, "cert-expiry", NULL, "%d days left, until %s", days, when);
}

static void check_chain(doctor_report *r, const doctor_cert *c)
{
    STACK_OF(X509) *chain = NULL;

    if (c->trust == NULL) {
        doctor_say(r, DOCTOR_WARN, "chain",
                   "give --trust ROOT.pem (or 'trust = ...' in the profile), the anchor "
                   "verifiers will use",
                   "not checked: no --trust anchor given");
        return;
    }
    csign_rc rc = cert_verify_chain(c->cert, c->trust, c->chain, time(NULL), 0, XKU_CODE_SIGN,
                                    "signer", &chain);
    if (rc == CSIGN_OK) {
        X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
        char *name = cert_subject(top);
        doctor_say(r, DOCTOR_OK, "chain", NULL, "%d certificate%s up to the anchor %s",
                   sk_X509_num(chain), sk_X509_num(chain) == 1 ? "" : "s",
                   name ? name : "(no name)");
        free(name);
    } else {
        doctor_say(r, DOCTOR_FAIL, "chain",
                   "store the intermediate CA certificates on the token ('csign import-cert "
                   "--key URI --chain CA.pem CERT.pem') or give --chain CA.pem, and check that "
                   "--trust names the root "
                   "that issued them",
                   "%s", err_msg());
    }
    err_clear();
    ERR_clear_error();
    sk_X509_pop_free(chain, X509_free);
}

/* The checks cert-key, cert-eku, cert-ku, cert-expiry and chain. */
static void check_fields(doctor_report *r, const doctor_cert *c)
{
    if (c->pub == NULL)
        doctor_say(r, DOCTOR_WARN, "cert-key", "log in with --login, or store the public key",
                   "not checked: the key's public key could not be read");
    else if (EVP_PKEY_eq(X509_get0_pubkey(c->cert), c->pub) != 1)
        doctor_say(r, DOCTOR_FAIL, "cert-key",
                   "store the certificate issued for this key ('csign import-cert --key URI "
                   "CERT.pem'), or name that one with --cert",
                   "the certificate (%s) is for another key", c->source);
    else
        doctor_say(r, DOCTOR_OK, "cert-key", NULL, "the certificate's public key is the key's");
    ERR_clear_error();
    check_usage(r, c->cert);
    check_dates(r, c->cert, c->warn_days);
    check_chain(r, c);
}

/* ---- Finding it ---------------------------------------------------------- */

static X509 *parse_der(const hsm_cert *c)
{
    const unsigned char *p = c->der;
    return d2i_X509(NULL, &p, (long)c->der_len);
}

/* The signer certificate from the token (the key's, or the one a --cert
 * URI names), and, without --chain, its issuers on the token. */
static void find_cert(doctor_run *d)
{
    hsm_cert *certs = NULL, *named = NULL;
    size_t n = 0, nnamed = 0;
    hsm_uri *curi = NULL;
    STACK_OF(X509) *pool = sk_X509_new_null();
    csign_rc rc = pool ? hsm_certs(d->t.h, NULL, &certs, &n) : err_oom();

    if (rc == CSIGN_OK && d->cert == NULL && d->o.cert != NULL) {
        rc = hsm_uri_parse(d->o.cert, &curi);
        if (rc == CSIGN_OK)
            rc = hsm_certs(d->t.h, curi, &named, &nnamed);
        if (rc == CSIGN_OK && nnamed != 1)
            rc = err_set(CSIGN_ETOKEN, "--cert '%s' matches %zu certificates on the token",
                         d->o.cert, nnamed);
        if (rc == CSIGN_OK && (d->cert = parse_der(&named[0])) == NULL)
            rc = err_set(CSIGN_EINPUT, "the certificate --cert names does not parse");
    }
    for (size_t i = 0; rc == CSIGN_OK && d->cert == NULL && d->key != NULL && i < n; i++)
        if (hsm_cert_is_keys(&certs[i], d->key, d->pub))
            d->cert = parse_der(&certs[i]);
    for (size_t i = 0; rc == CSIGN_OK && i < n; i++) {
        X509 *c = parse_der(&certs[i]);
        if (c != NULL && !sk_X509_push(pool, c))
            X509_free(c);
    }
    ERR_clear_error();
    if (rc == CSIGN_OK && d->cert != NULL && d->chain == NULL)
        rc = cert_chain_from(d->cert, pool, time(NULL), &d->chain);
    if (rc != CSIGN_OK)
        doctor_say(&d->r, DOCTOR_FAIL, "cert",
                   "'csign list' shows the certificates on the token and their URIs", "%s",
                   err_msg());
    else if (d->cert == NULL)
        doctor_say(&d->r, DOCTOR_FAIL, "cert",
                   "store a certificate with 'csign import-cert --key URI CERT.pem' (for a "
                   "test key: 'csign selfsign --key URI --import'), or give --cert FILE",
                   "key '%s' has no certificate on the token", d->key ? d->key->label : "");
    err_clear();
    sk_X509_pop_free(pool, X509_free);
    hsm_certs_free(certs, n);
    hsm_certs_free(named, nnamed);
    hsm_uri_free(curi);
}

void doctor_check_certificate(doctor_run *d)
{
    char fp[65];
    const char *source = d->o.cert == NULL ? "on the token with the key's id" : d->o.cert;

    if (d->key == NULL && d->o.cert == NULL)
        return;   /* no key, so no certificate of it to look at */
    find_cert(d); /* and, without --chain, the issuers on the token */
    if (d->cert == NULL)
        return;
    char *subject = cert_subject(d->cert);
    cert_fingerprint(d->cert, fp);
    doctor_say(&d->r, DOCTOR_OK, "cert", NULL, "%s (%s), SHA-256 %s", subject ? subject : "",
               source, fp);
    free(subject);
    doctor_cert c = {d->cert, source, d->pub, d->chain, d->trust, d->o.warn_days};
    check_fields(&d->r, &c);
}

void doctor_check_policy(doctor_run *d)
{
    if (d->o.policy == POLICY_NONE)
        return;
    if (d->pub == NULL || d->cert == NULL) {
        doctor_say(&d->r, DOCTOR_FAIL, "policy", "find the key and its certificate first",
                   "policy %s: not checked without the key and its certificate",
                   policy_name(d->o.policy));
        return;
    }
    policy_facts f =
        signer_policy_facts(d->pub, x509gen_digest(d->pub), d->cert, &d->t.token, &d->o.tsa);
    csign_rc rc = policy_check(d->o.policy, &f);
    if (rc == CSIGN_OK)
        doctor_say(&d->r, DOCTOR_OK, "policy", NULL, "%s: every rule met",
                   policy_name(d->o.policy));
    else
        doctor_say(&d->r, DOCTOR_FAIL, "policy",
                   "meet each rule named, or sign without the policy (docs/policy.md)", "%s",
                   err_msg());
    err_clear();
}
