/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/store.h"
#include "core/cert.h"
#include "sys/io.h"
#include "core/x509gen.h"

enum { OPT_KEY = 1, OPT_CHAIN, OPT_FORCE };

static const opt_spec opts[] = {
    {OPT_KEY, "key", 0, "URI", "the key on the token the certificate belongs to"},
    {OPT_CHAIN, "chain", 0, "FILE", "CA certificates (PEM bundle or DER) to store as well"},
    {OPT_FORCE, "force", 0, NULL, "replace a different certificate the key already has"},
    {0, NULL, 0, NULL, NULL},
};

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    import_cert_opts *o = ctx;

    if (id == OPT_KEY)
        o->key = arg;
    else if (id == OPT_CHAIN)
        o->chain = arg;
    else if (id == OPT_FORCE)
        o->force = true;
    return CSIGN_OK;
}

csign_rc import_cert_parse(int argc, char **argv, import_cert_opts *o)
{
    char **operands = calloc((size_t)argc + 1, sizeof(*operands));
    int n = 0;
    csign_rc rc;

    if (operands == NULL)
        return err_oom();
    memset(o, 0, sizeof(*o));
    rc = cli_parse(&cmd_import_cert, argc, argv, on_opt, o, &o->c, operands, &n);
    if (rc == CSIGN_OK && !o->c.help && n != 1)
        rc = err_set(CSIGN_EUSAGE, "give one certificate file");
    if (rc == CSIGN_OK && n == 1)
        o->cert = operands[0];
    if (rc == CSIGN_OK && !o->c.help && o->key == NULL)
        rc = err_set(CSIGN_EUSAGE, "--key is required");
    free(operands);
    return rc;
}

static csign_rc run(int argc, char **argv)
{
    import_cert_opts o;
    STACK_OF(X509) *certs = NULL, *chain = NULL;
    hsm_uri *uri = NULL;
    cli_token t;
    hsm_key key;
    csign_rc rc = import_cert_parse(argc, argv, &o);

    memset(&t, 0, sizeof(t));
    memset(&key, 0, sizeof(key));
    if (rc != CSIGN_OK)
        return rc;
    if (o.c.help)
        return cli_help(&cmd_import_cert);
    rc = cert_read_file(o.cert, &certs);
    if (rc == CSIGN_OK && sk_X509_num(certs) > 1)
        rc = err_set(CSIGN_EUSAGE,
                     "'%s' holds %d certificates; give the CA certificates with "
                     "--chain",
                     o.cert, sk_X509_num(certs));
    if (rc == CSIGN_OK && o.chain != NULL)
        rc = cert_read_file(o.chain, &chain);
    for (int i = 0; rc == CSIGN_OK && chain != NULL && i < sk_X509_num(chain); i++)
        if (X509_check_ca(sk_X509_value(chain, i)) == 0)
            rc = err_set(CSIGN_EINPUT, "certificate %d of '%s' is not a CA certificate", i + 1,
                         o.chain);
    if (rc == CSIGN_OK)
        rc = cli_key_open(&o.c, o.key, true, &t, &uri, &key);
    if (rc == CSIGN_OK)
        rc = store_certs(&t, &key, sk_X509_value(certs, 0), chain, o.force);
    hsm_key_clear(&key);
    cli_token_close(&t);
    hsm_uri_free(uri);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

const cli_command cmd_import_cert = {
    .name = "import-cert",
    .usage = "csign import-cert --key URI [options] CERT",
    .summary = "Store a certificate (PEM or DER) on the token next to its key, and with "
               "--chain the CA certificates that signing includes.",
    .examples =
        "csign import-cert --key 'pkcs11:token=dev;object=release' release.pem\n"
        "csign import-cert --key 'pkcs11:token=dev;object=release' --chain ca.pem release.pem",
    .opts = opts,
    .token = true,
    .run = run,
};
