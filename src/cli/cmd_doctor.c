/* SPDX-License-Identifier: Apache-2.0 */
/* csign doctor: everything sign would check, and the token, login and
 * TSAs, without signing (docs/doctor.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/doctor.h"
#include "cli/json_doc.h"
#include "core/cert.h"

enum {
    OPT_KEY = 1,
    OPT_CERT,
    OPT_CHAIN,
    OPT_TRUST,
    OPT_WARN_DAYS,
    OPT_LOGIN,
    OPT_JSON,
    OPT_POLICY
};

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
    {OPT_POLICY, "policy", 0, "NAME",
     "check the key, certificate, token and TSAs against a policy as sign would: cabf or none "
     "(default; docs/policy.md)"},
    TSA_OPT_SPECS,
    TSA_OPTIONAL_SPEC,
    {0, NULL, 0, NULL, NULL},
};

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
    case OPT_POLICY:
        return policy_parse(arg, &o->policy);
    default:
        return tsa_on_opt(&o->tsa, id, arg);
    }
    return CSIGN_OK;
}

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
    if (rc == CSIGN_OK && d.o.cert != NULL && strncmp(d.o.cert, "pkcs11:", 7) == 0) {
        hsm_uri *curi = NULL;
        rc = hsm_uri_parse(d.o.cert, &curi); /* a malformed one is a usage error */
        hsm_uri_free(curi);
    }
    if (rc == CSIGN_OK)
        rc = read_inputs(&d);
    if (rc == CSIGN_OK && d.o.login)
        rc = cli_pin_source(&d.o.c, d.uri, &d.src);
    if (rc == CSIGN_OK)
        rc = doctor_check_module(&d);
    if (rc == CSIGN_OK)
        rc = doctor_check_token(&d);
    if (rc == CSIGN_OK) {
        doctor_check_login(&d);
        doctor_check_key(&d);
        doctor_check_certificate(&d);
        doctor_check_policy(&d);
        doctor_check_tsas(&d);
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
