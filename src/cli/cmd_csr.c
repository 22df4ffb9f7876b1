/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "sys/io.h"
#include "core/x509gen.h"

enum { OPT_KEY = 1, OPT_SUBJECT, OPT_EMAIL, OPT_OUT, OPT_DER, OPT_FORCE };

static const opt_spec opts[] = {
    {OPT_KEY, "key", 0, "URI", "the signing key on the token (pkcs11: URI)"},
    {OPT_SUBJECT, "subject", 0, "DN",
     "subject, RFC 4514 (CN=Name,O=Org,C=DE) or OpenSSL form (/C=DE/O=Org/CN=Name)"},
    {OPT_EMAIL, "email", 0, "ADDR", "request a subjectAltName e-mail address"},
    {OPT_OUT, "out", 'o', "FILE", "write the request to FILE (default: stdout)"},
    {OPT_DER, "der", 0, NULL, "DER instead of PEM"},
    {OPT_FORCE, "force", 0, NULL, "replace an existing output file"},
    {0, NULL, 0, NULL, NULL},
};

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    csr_opts *o = ctx;

    switch (id) {
    case OPT_KEY:
        o->key = arg;
        break;
    case OPT_SUBJECT:
        o->subject = arg;
        break;
    case OPT_EMAIL:
        o->email = arg;
        break;
    case OPT_OUT:
        o->out = arg;
        break;
    case OPT_DER:
        o->der = true;
        break;
    case OPT_FORCE:
        o->force = true;
        break;
    }
    return CSIGN_OK;
}

csign_rc csr_parse(int argc, char **argv, csr_opts *o)
{
    csign_rc rc;

    memset(o, 0, sizeof(*o));
    rc = cli_parse_options(&cmd_csr, argc, argv, on_opt, o, &o->c);
    if (rc == CSIGN_OK && !o->c.help && o->key == NULL)
        rc = err_set(CSIGN_EUSAGE, "--key is required");
    if (rc == CSIGN_OK && !o->c.help && o->subject == NULL)
        rc = err_set(CSIGN_EUSAGE, "--subject is required");
    return rc;
}

static csign_rc emit(X509_REQ *req, const csr_opts *o)
{
    BIO *b = BIO_new(BIO_s_mem());
    bool ok = b && (o->der ? i2d_X509_REQ_bio(b, req) : PEM_write_bio_X509_REQ(b, req)) == 1;
    csign_rc rc = cli_output_bio(o->out, b, ok, "request", o->force);

    BIO_free(b);
    return rc;
}

static csign_rc run(int argc, char **argv)
{
    csr_opts o;
    X509_NAME *subject = NULL;
    hsm_uri *uri = NULL;
    cli_token t;
    hsm_key key;
    EVP_PKEY *pub = NULL, *priv = NULL;
    X509_REQ *req = NULL;
    csign_rc rc = csr_parse(argc, argv, &o);

    memset(&t, 0, sizeof(t));
    memset(&key, 0, sizeof(key));
    if (rc != CSIGN_OK)
        return rc;
    if (o.c.help)
        return cli_help(&cmd_csr);
    rc = dn_parse(o.subject, &subject);
    if (rc == CSIGN_OK && o.out != NULL && strcmp(o.out, "-") != 0)
        rc = io_check_output(o.out, o.force);
    if (rc == CSIGN_OK)
        rc = cli_signing_key(&o.c, o.key, false, &t, &uri, &key, &pub, &priv);
    if (rc == CSIGN_OK)
        rc = x509gen_csr(priv, pub, subject, o.email, &req);
    if (rc == CSIGN_OK)
        rc = emit(req, &o);
    X509_REQ_free(req);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    hsm_key_clear(&key);
    cli_token_close(&t);
    hsm_uri_free(uri);
    X509_NAME_free(subject);
    return rc;
}

const cli_command cmd_csr = {
    .name = "csr",
    .usage = "csign csr --key URI --subject DN [options]",
    .summary = "Make a PKCS#10 certificate request signed by the key on the token, asking "
               "for code signing (keyUsage digitalSignature, extendedKeyUsage codeSigning).",
    .examples = "csign csr --key 'pkcs11:token=dev;object=release' --subject 'CN=Release "
                "Signing,O=Example' -o release.csr\n"
                "csign csr --key 'pkcs11:token=dev;object=release' --subject "
                "'/C=DE/O=Example/CN=Release Signing' --der -o release.der",
    .opts = opts,
    .token = true,
    .run = run,
};
