/* SPDX-License-Identifier: Apache-2.0 */
/* csign doctor: everything sign would check, and the token, login and
 * TSAs, without signing (docs/doctor.md). */
#include <jansson.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/doctor.h"
#include "cli/json_doc.h"
#include "core/cert.h"
#include "core/tsa.h"

enum { OPT_KEY = 1, OPT_CERT, OPT_CHAIN, OPT_TRUST, OPT_WARN_DAYS, OPT_LOGIN, OPT_JSON };

#define DOCTOR_MAX_TRUST 16

static const opt_spec opts[] = {
    {OPT_KEY, "key", 0, "URI", "the signing key on the token (pkcs11: URI)"},
    {OPT_CERT, "cert", 0, "FILE|URI",
     "signer certificate (default: the certificate on the token with the key's id)"},
    {OPT_CHAIN, "chain", 0, "FILE",
     "CA certificates between it and the anchor (default: the issuers stored on the token)"},
    {OPT_TRUST, "trust", 0, "FILE", "check the chain to these anchors (repeatable)"},
    {OPT_WARN_DAYS, "warn-days", 0, "N",
     "warn when the certificate expires within N days (default 30)"},
    {OPT_LOGIN, "login", 0, NULL,
     "log in to check the PIN and the private key (without it no PIN is read)"},
    {OPT_JSON, "json", 0, NULL, "print one JSON document on stdout (docs/json.md, docs/doctor.md)"},
    TSA_OPT_SPECS,
    {0, NULL, 0, NULL, NULL},
};

typedef struct {
    cli_common c;
    const char *key;
    const char *cert;
    const char *chain;
    const char *trust[DOCTOR_MAX_TRUST];
    int ntrust;
    long warn_days;
    bool login;
    bool json;
    tsa_opts tsa;
} doctor_opts;

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    doctor_opts *o = ctx;
    char *end = NULL;

    switch (id) {
    case OPT_KEY:
        o->key = arg;
        break;
    case OPT_CERT:
        o->cert = arg;
        break;
    case OPT_CHAIN:
        o->chain = arg;
        break;
    case OPT_TRUST:
        if (o->ntrust == DOCTOR_MAX_TRUST)
            return err_set(CSIGN_EUSAGE, "at most %d --trust files", DOCTOR_MAX_TRUST);
        o->trust[o->ntrust++] = arg;
        break;
    case OPT_WARN_DAYS:
        o->warn_days = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || o->warn_days < 0 || o->warn_days > 3650)
            return err_set(CSIGN_EUSAGE, "--warn-days needs a number of days from 0 to 3650");
        break;
    case OPT_LOGIN:
        o->login = true;
        break;
    case OPT_JSON:
        o->json = true;
        json_doc_want("doctor", false);
        json_object_set_new(json_doc(), "checks", json_array());
        json_object_set_new(json_doc(), "ok", json_false());
        break;
    default:
        return tsa_on_opt(&o->tsa, id, arg);
    }
    return CSIGN_OK;
}

/* Everything the run holds, released by finish(). */
typedef struct {
    doctor_opts o;
    doctor_report r;
    hsm_uri *uri;
    cli_token t;
    pin_source src;
    X509_STORE *trust;
    STACK_OF(X509) * chain;
    X509 *cert;
    hsm_key *keys;
    size_t nkeys;
    const hsm_key *key; /* the one the URI names, in keys */
    EVP_PKEY *pub;
    bool logged_in;
} doctor_run;

/* ---- Files named by options: read before any token call --------------- */

static csign_rc read_inputs(doctor_run *d)
{
    STACK_OF(X509) *certs = NULL;
    csign_rc rc = CSIGN_OK;
    X509 *x;

    if (d->o.ntrust > 0 && (d->trust = X509_STORE_new()) == NULL)
        return err_oom();
    for (int i = 0; rc == CSIGN_OK && i < d->o.ntrust; i++) {
        rc = cert_read_file(d->o.trust[i], &certs);
        while (rc == CSIGN_OK && (x = sk_X509_shift(certs)) != NULL) {
            if (X509_STORE_add_cert(d->trust, x) != 1)
                rc = err_set_ssl(CSIGN_EINTERNAL, "cannot keep the anchors of '%s'", d->o.trust[i]);
            X509_free(x);
        }
        sk_X509_pop_free(certs, X509_free);
        certs = NULL;
    }
    if (rc == CSIGN_OK && d->o.chain != NULL)
        rc = cert_read_file(d->o.chain, &d->chain);
    if (rc == CSIGN_OK && d->o.cert != NULL && strncmp(d->o.cert, "pkcs11:", 7) != 0) {
        rc = cert_read_file(d->o.cert, &certs);
        if (rc == CSIGN_OK)
            d->cert = sk_X509_shift(certs);
        sk_X509_pop_free(certs, X509_free);
    }
    return rc;
}

/* ---- Module, token, PIN, login ------------------------------------------- */

static csign_rc check_module(doctor_run *d)
{
    csign_rc rc = cli_module_open(&d->o.c, d->uri, &d->t);

    if (rc != CSIGN_OK) {
        doctor_say(&d->r, DOCTOR_FAIL, "module",
                   "name the vendor's PKCS#11 module with --module PATH, 'module = PATH' in the "
                   "profile, or CSIGN_MODULE",
                   "%s", err_msg());
        return rc;
    }
    doctor_say(&d->r, DOCTOR_OK, "module", NULL, "%s (%s, %s)%s", hsm_module_path(d->t.h),
               hsm_module_manufacturer(d->t.h), hsm_module_description(d->t.h),
               d->t.module.is_default ? "; csign's built-in software token store" : "");
    return CSIGN_OK;
}

static void check_pin_state(doctor_run *d)
{
    const hsm_token *k = &d->t.token;
    const char *name = hsm_pin_state_name(k->pin_state);

    switch (k->pin_state) {
    case HSM_PIN_OK:
        doctor_say(&d->r, DOCTOR_OK, "pin", NULL, "user PIN %s", name);
        break;
    case HSM_PIN_COUNT_LOW:
        doctor_say(&d->r, DOCTOR_WARN, "pin",
                   "make sure the PIN source holds the right PIN before the next login",
                   "the token reports recent wrong PINs (%s); few tries may be left", name);
        break;
    case HSM_PIN_FINAL_TRY:
        doctor_say(&d->r, DOCTOR_FAIL, "pin",
                   "log in once with the right PIN and --pin-final-try (csign doctor --login "
                   "--pin-final-try), which resets the count; a wrong one locks the PIN",
                   "one PIN try is left (%s); csign refuses to log in without --pin-final-try",
                   name);
        break;
    case HSM_PIN_LOCKED:
        doctor_say(&d->r, DOCTOR_FAIL, "pin",
                   "unlock the user PIN with the SO PIN (pkcs11-tool --init-pin --login "
                   "--login-type so, or the token's own tools)",
                   "the user PIN is locked");
        break;
    case HSM_PIN_NOT_SET:
        doctor_say(&d->r, k->login_required ? DOCTOR_FAIL : DOCTOR_OK, "pin",
                   "set a user PIN with the token's tools ('csign init-token' makes a token "
                   "with one)",
                   "no user PIN is set");
        break;
    case HSM_PIN_TO_BE_CHANGED:
        doctor_say(&d->r, DOCTOR_WARN, "pin",
                   "change the user PIN with the token's tools (pkcs11-tool --change-pin)",
                   "the token asks for the user PIN to be changed");
        break;
    }
}

static csign_rc check_token(doctor_run *d)
{
    const hsm_token *k = &d->t.token;
    csign_rc rc = hsm_token_find(d->t.h, d->uri, &d->t.token);

    if (rc != CSIGN_OK) {
        doctor_say(&d->r, DOCTOR_FAIL, "token",
                   "'csign list' shows the tokens the module has; name one in --key "
                   "(pkcs11:token=LABEL;...), or make one with 'csign init-token'",
                   "%s", err_msg());
        return rc;
    }
    doctor_say(
        &d->r, DOCTOR_OK, "token", NULL, "'%s' (%s %s, serial %s, %s); login %s; %s", k->label,
        k->manufacturer, k->model, k->serial, k->hardware ? "hardware" : "software",
        k->login_required ? "required" : "not required",
        k->pin_pad ? "protected authentication path (PIN pad)" : "PIN entered on this computer");
    check_pin_state(d);
    rc = hsm_session_open(d->t.h, &d->t.token, false);
    cli_token_unlock(&d->t); /* cli_login takes the turn again */
    return rc;
}

static void check_login(doctor_run *d)
{
    if (!d->o.login) {
        doctor_say(&d->r, DOCTOR_WARN, "login",
                   "add --login to check the PIN and the private key (a wrong PIN counts "
                   "against the token's tries)",
                   "not tried: no --login");
        return;
    }
    csign_rc rc = cli_login(&d->t, &d->o.c, &d->src);
    if (rc != CSIGN_OK) {
        char fix[256];
        snprintf(fix, sizeof(fix),
                 "check the PIN that %s gives (--pin-source, CSIGN_PIN or 'pin-source' in the "
                 "profile)",
                 pin_source_describe(&d->src));
        doctor_say(&d->r, DOCTOR_FAIL, "login", fix, "%s", err_msg());
        err_clear();
        return;
    }
    d->logged_in = hsm_logged_in(d->t.h);
    doctor_say(&d->r, DOCTOR_OK, "login", NULL, "%s token '%s'%s%s",
               d->logged_in ? "logged in to" : "no login needed by", d->t.token.label,
               d->logged_in ? " with the PIN from " : "",
               d->logged_in ? pin_source_describe(&d->src) : "");
}

/* ---- The key -------------------------------------------------------------- */

static void key_flag(doctor_run *d, const char *name, hsm_bool v, hsm_bool want, const char *attr,
                     const char *ok, const char *bad, const char *fix)
{
    if (!d->key->has_private)
        doctor_say(&d->r, DOCTOR_WARN, name,
                   d->o.login ? "log in with the right PIN (the private key is a private "
                                "object)"
                              : "add --login to see the private key",
                   "not checked: the private key is not visible without a login");
    else if (v == HSM_UNKNOWN)
        doctor_say(&d->r, DOCTOR_WARN, name, "check the key with the token's own tools",
                   "the token does not tell %s", attr);
    else if (v == want)
        doctor_say(&d->r, DOCTOR_OK, name, NULL, "%s", ok);
    else
        doctor_say(&d->r, DOCTOR_FAIL, name, fix, "%s", bad);
}

#define NEW_KEY                                                                                    \
    "make a new key with 'csign keygen' (non-extractable, sensitive, for signing) and get a "      \
    "certificate for it"

static void check_key(doctor_run *d)
{
    char *shown = NULL;
    size_t nmatch = 0;
    csign_rc rc;

    if (d->uri == NULL || !hsm_uri_names_object(d->uri)) {
        doctor_say(&d->r, DOCTOR_FAIL, "key",
                   "give --key 'pkcs11:token=...;object=...' or 'key = ...' in the profile "
                   "('csign list' shows the keys' URIs)",
                   "no key given");
        return;
    }
    rc = hsm_keys(d->t.h, d->uri, &d->keys, &d->nkeys);
    for (size_t i = 0; rc == CSIGN_OK && i < d->nkeys; i++)
        if (d->keys[i].has_private || !d->logged_in) {
            nmatch++;
            d->key = &d->keys[i];
        }
    shown = hsm_uri_redact(d->o.key);
    if (rc != CSIGN_OK)
        doctor_say(&d->r, DOCTOR_FAIL, "key", "check the token with 'csign list --login'", "%s",
                   err_msg());
    else if (nmatch == 0)
        doctor_say(&d->r, DOCTOR_FAIL, "key",
                   "'csign list --login' shows the keys and their URIs; make a key with 'csign "
                   "keygen'",
                   "no %skey matches '%s' on token '%s'%s", d->logged_in ? "private " : "",
                   shown ? shown : "", d->t.token.label,
                   d->logged_in ? "" : " (without --login only public objects are seen)");
    else if (nmatch > 1)
        doctor_say(&d->r, DOCTOR_FAIL, "key",
                   "name one key: add its id= to the URI ('csign list --login' shows each "
                   "key's URI)",
                   "'%s' matches %zu keys", shown ? shown : "", nmatch);
    free(shown);
    err_clear();
    if (rc != CSIGN_OK || nmatch != 1) {
        d->key = NULL;
        return;
    }
    const hsm_key *k = d->key;
    char shape[64];
    if (k->curve[0] != '\0')
        snprintf(shape, sizeof(shape), "EC %s", k->curve);
    else
        snprintf(shape, sizeof(shape), "%s %u",
                 k->type == HSM_KEY_RSA  ? "RSA"
                 : k->type == HSM_KEY_EC ? "EC"
                                         : "key",
                 k->bits);
    doctor_say(&d->r, DOCTOR_OK, "key", NULL, "'%s' (%s) %s", k->label, shape, k->uri);
    key_flag(d, "key-extractable", k->extractable, HSM_NO, "CKA_EXTRACTABLE",
             "not extractable (CKA_EXTRACTABLE false)",
             "the private key can be exported from the token (CKA_EXTRACTABLE true)", NEW_KEY);
    key_flag(d, "key-sensitive", k->sensitive, HSM_YES, "CKA_SENSITIVE",
             "sensitive (CKA_SENSITIVE true)",
             "the private key's value can be read from the token (CKA_SENSITIVE false)", NEW_KEY);
    key_flag(d, "key-sign", k->sign, HSM_YES, "CKA_SIGN", "can sign (CKA_SIGN true)",
             "the private key may not sign (CKA_SIGN false)", NEW_KEY);
    if (hsm_key_public(d->t.h, k, &d->pub) != CSIGN_OK) {
        d->pub = NULL;
        err_clear();
    }
}

/* ---- The certificate -------------------------------------------------------- */

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

static void check_cert(doctor_run *d)
{
    char fp[65];
    const char *source = d->o.cert == NULL ? "on the token with the key's id" : d->o.cert;

    if (d->key == NULL && d->o.cert == NULL)
        return; /* no key, so no certificate of it to look at */
    if (d->cert == NULL)
        find_cert(d);
    if (d->cert == NULL)
        return;
    char *subject = cert_subject(d->cert);
    cert_fingerprint(d->cert, fp);
    doctor_say(&d->r, DOCTOR_OK, "cert", NULL, "%s (%s), SHA-256 %s", subject ? subject : "",
               source, fp);
    free(subject);
    doctor_cert c = {d->cert, source, d->pub, d->chain, d->trust, d->o.warn_days};
    doctor_check_cert(&d->r, &c);
}

/* ---- Time-stamping authorities ------------------------------------------------ */

static void check_tsas(doctor_run *d)
{
    static const unsigned char probe[] = "csign doctor: a test time-stamp request";
    const stamp_config *cfg = &d->o.tsa.cfg;
    http_client *http = NULL;

    if (cfg->nurls == 0) {
        doctor_say(&d->r, DOCTOR_WARN, "tsa",
                   "give --tsa URL (or 'tsa = URL' in the profile) for signatures that verify "
                   "after the certificate expires",
                   "no time-stamping authority configured");
        return;
    }
    char no_http[ERR_MAX] = "";
    if (http_new(cfg->timeout, &http) != CSIGN_OK)
        snprintf(no_http, sizeof(no_http), "%s", err_msg());
    for (int i = 0; i < cfg->nurls; i++) {
        const char *urls[1] = {cfg->urls[i]};
        bool down = false;
        tsa_request req = {urls, 1, cfg->retries, cfg->md, cfg->policy, &down};
        unsigned char *token = NULL;
        size_t len = 0;
        const char *used = NULL;
        tsa_expect none;
        tsa_info info;

        memset(&none, 0, sizeof(none));
        memset(&info, 0, sizeof(info));
        csign_rc rc = http == NULL ? err_set(CSIGN_EIO, "%s", no_http) : CSIGN_OK;
        if (rc == CSIGN_OK)
            rc = tsa_stamp(http, &req, probe, sizeof(probe) - 1, &token, &len, &used);
        if (rc == CSIGN_OK)
            rc = tsa_check_token(token, len, probe, sizeof(probe) - 1, &none, &info);
        if (rc == CSIGN_OK)
            doctor_say(&d->r, DOCTOR_OK, "tsa", NULL, "%s gave a timestamp (%s, %s) by %s", urls[0],
                       info.gen_time_text, info.digest ? info.digest : "",
                       info.tsa_subject ? info.tsa_subject : "");
        else
            doctor_say(&d->r, DOCTOR_FAIL, "tsa",
                       rc == CSIGN_EIO ? "check the URL and the network (proxy variables, "
                                         "firewall); --tsa-timeout and --tsa-retries allow "
                                         "slow TSAs more time"
                                       : "use another TSA, or check --tsa-digest and "
                                         "--tsa-policy",
                       "%s", err_msg()); /* it names the URL */
        OPENSSL_free(token);
        tsa_info_clear(&info);
        err_clear();
    }
    http_free(http);
}

/* ---- The run ------------------------------------------------------------------ */

static csign_rc parse(int argc, char **argv, doctor_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->warn_days = 30;
    tsa_opts_init(&o->tsa);
    return cli_parse_options(&cmd_doctor, argc, argv, on_opt, o, &o->c);
}

static void finish(doctor_run *d)
{
    EVP_PKEY_free(d->pub);
    X509_free(d->cert);
    sk_X509_pop_free(d->chain, X509_free);
    X509_STORE_free(d->trust);
    hsm_keys_free(d->keys, d->nkeys);
    cli_token_close(&d->t);
    hsm_uri_free(d->uri);
}

static csign_rc run(int argc, char **argv)
{
    doctor_run d;
    csign_rc rc;

    memset(&d, 0, sizeof(d));
    rc = parse(argc, argv, &d.o);
    if (rc != CSIGN_OK || d.o.c.help)
        return rc == CSIGN_OK ? cli_help(&cmd_doctor) : rc;
    d.r.json = d.o.json;
    if (d.o.key != NULL && (rc = hsm_uri_parse(d.o.key, &d.uri)) == CSIGN_OK &&
        !hsm_uri_names_object(d.uri))
        rc = err_set(CSIGN_EUSAGE, "--key needs a URI that names a key (object= or id=)");
    if (rc == CSIGN_OK)
        rc = read_inputs(&d);
    if (rc == CSIGN_OK && d.o.login)
        rc = cli_pin_source(&d.o.c, d.uri, &d.src);
    if (rc == CSIGN_OK)
        rc = check_module(&d);
    if (rc == CSIGN_OK)
        rc = check_token(&d);
    if (rc == CSIGN_OK) {
        check_login(&d);
        check_key(&d);
        check_cert(&d);
        check_tsas(&d);
    }
    finish(&d);
    if (rc == CSIGN_OK && d.r.nfail > 0)
        rc = err_set(CSIGN_ENO, "%d check%s failed: %s", d.r.nfail, d.r.nfail == 1 ? "" : "s",
                     d.r.failed);
    if (d.o.json && json_doc() != NULL)
        json_object_set_new(json_doc(), "ok", json_boolean(rc == CSIGN_OK));
    return rc;
}

const cli_command cmd_doctor = {
    .name = "doctor",
    .usage = "csign doctor [--key URI] [--login] [--trust FILE] [--tsa URL] [options]",
    .summary = "Check a signing set-up without signing: module, token, PIN, login, key, "
               "certificate, chain, expiry and time-stamping authorities, one line per check "
               "with a fix for each problem.",
    .examples = "csign doctor --key 'pkcs11:token=dev;object=release'\n"
                "csign doctor --login --key 'pkcs11:token=dev;object=release' --trust dev.pem\n"
                "csign doctor --profile release --login --json",
    .opts = opts,
    .token = true,
    .run = run,
};
