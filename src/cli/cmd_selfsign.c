/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/store.h"
#include "sys/io.h"
#include "core/x509gen.h"

enum { OPT_KEY = 1, OPT_SUBJECT, OPT_DAYS, OPT_OUT, OPT_DER, OPT_IMPORT, OPT_FORCE };

static const opt_spec opts[] = {
    {OPT_KEY, "key", 0, "URI", "the signing key on the token (pkcs11: URI)"},
    {OPT_SUBJECT, "subject", 0, "DN",
     "subject and issuer, RFC 4514 (CN=Name,O=Org) or OpenSSL form (/O=Org/CN=Name)"},
    {OPT_DAYS, "days", 0, "N", "validity in days from now (default 365)"},
    {OPT_OUT, "out", 'o', "FILE", "write the certificate to FILE (default: stdout)"},
    {OPT_DER, "der", 0, NULL, "DER instead of PEM"},
    {OPT_IMPORT, "import", 0, NULL, "also store the certificate on the token, next to the key"},
    {OPT_FORCE, "force", 0, NULL,
     "replace an existing output file, or the key's certificate on the token"},
    {0, NULL, 0, NULL, NULL},
};

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    selfsign_opts *o = ctx;
    char *end = NULL;

    switch (id) {
    case OPT_KEY:
        o->key = arg;
        break;
    case OPT_SUBJECT:
        o->subject = arg;
        break;
    case OPT_DAYS:
        errno = 0;
        o->days = strtol(arg, &end, 10);
        if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || o->days < 1 ||
            o->days > 36500)
            return err_set(CSIGN_EUSAGE, "--days needs a number from 1 to 36500");
        break;
    case OPT_OUT:
        o->out = arg;
        break;
    case OPT_DER:
        o->der = true;
        break;
    case OPT_IMPORT:
        o->import = true;
        break;
    case OPT_FORCE:
        o->force = true;
        break;
    }
    return CSIGN_OK;
}

csign_rc selfsign_parse(int argc, char **argv, selfsign_opts *o)
{
    csign_rc rc;

    memset(o, 0, sizeof(*o));
    o->days = 365;
    rc = cli_parse_options(&cmd_selfsign, argc, argv, on_opt, o, &o->c);
    if (rc == CSIGN_OK && !o->c.help && o->key == NULL)
        rc = err_set(CSIGN_EUSAGE, "--key is required");
    if (rc == CSIGN_OK && !o->c.help && o->subject == NULL)
        rc = err_set(CSIGN_EUSAGE, "--subject is required");
    return rc;
}

static csign_rc emit(X509 *x, const selfsign_opts *o)
{
    BIO *b = BIO_new(BIO_s_mem());
    bool ok = b && (o->der ? i2d_X509_bio(b, x) : PEM_write_bio_X509(b, x)) == 1;
    csign_rc rc = cli_output_bio(o->out, b, ok, "certificate", o->force);

    BIO_free(b);
    return rc;
}

static csign_rc run(int argc, char **argv)
{
    selfsign_opts o;
    X509_NAME *subject = NULL;
    hsm_uri *uri = NULL;
    cli_token t;
    hsm_key key;
    EVP_PKEY *pub = NULL, *priv = NULL;
    X509 *x = NULL;
    csign_rc rc = selfsign_parse(argc, argv, &o);

    memset(&t, 0, sizeof(t));
    memset(&key, 0, sizeof(key));
    if (rc != CSIGN_OK)
        return rc;
    if (o.c.help)
        return cli_help(&cmd_selfsign);
    rc = dn_parse(o.subject, &subject);
    if (rc == CSIGN_OK && o.out != NULL && strcmp(o.out, "-") != 0)
        rc = io_check_output(o.out, o.force);
    if (rc == CSIGN_OK)
        rc = cli_signing_key(&o.c, o.key, o.import, &t, &uri, &key, &pub, &priv);
    if (rc == CSIGN_OK)
        rc = x509gen_selfsigned(priv, pub, subject, (int)o.days, &x);
    /* The token-backed key goes before the token does. */
    EVP_PKEY_free(priv);
    /* The file first: a failure there must not leave the token changed. */
    if (rc == CSIGN_OK)
        rc = emit(x, &o);
    if (rc == CSIGN_OK && o.import)
        rc = store_certs(&t, &key, x, NULL, o.force);
    X509_free(x);
    EVP_PKEY_free(pub);
    hsm_key_clear(&key);
    cli_token_close(&t);
    hsm_uri_free(uri);
    X509_NAME_free(subject);
    return rc;
}

const cli_command cmd_selfsign = {
    .name = "selfsign",
    .usage = "csign selfsign --key URI --subject DN [options]",
    .summary = "Make a self-signed code-signing certificate for the key on the token, for "
               "development and internal roots of trust.",
    .examples = "csign selfsign --key 'pkcs11:token=dev;object=release' --subject 'CN=Dev Signing' "
                "--import -o dev.pem\n"
                "csign selfsign --key 'pkcs11:token=dev;object=release' --subject 'CN=Dev Signing' "
                "--days 30 -o dev-30.pem",
    .opts = opts,
    .token = true,
    .run = run,
};
