/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "csign/cert.h"
#include "csign/io.h"
#include "csign/x509gen.h"

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

static bool same_der(const hsm_cert *c, const unsigned char *der, int len)
{
    return c->der_len == (size_t)len && memcmp(c->der, der, (size_t)len) == 0;
}

/* Label for a CA certificate: its common name, else "CA". */
static void ca_label(X509 *x, char *buf, size_t size)
{
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, (int)size);
    if (n <= 0)
        snprintf(buf, size, "CA");
}

static csign_rc store_chain(cli_token *t, STACK_OF(X509) * chain, const hsm_cert *have,
                            size_t nhave)
{
    csign_rc rc = CSIGN_OK;

    for (int i = 0; rc == CSIGN_OK && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        unsigned char *der = NULL, kid[20];
        char label[65];
        int len = i2d_X509(x, &der);
        bool known = false;
        for (size_t j = 0; len > 0 && j < nhave; j++)
            known = known || same_der(&have[j], der, len);
        ca_label(x, label, sizeof(label));
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
        if (len <= 0)
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot encode a chain certificate");
        else if (known)
            cli_info(1, "CA certificate '%s' is already on the token", label);
        else if (ski != NULL)
            rc = hsm_cert_store(t->h, der, (size_t)len, label, ASN1_STRING_get0_data(ski),
                                (size_t)ASN1_STRING_length(ski), true);
        else if ((rc = x509gen_key_id(X509_get0_pubkey(x), kid)) == CSIGN_OK)
            rc = hsm_cert_store(t->h, der, (size_t)len, label, kid, sizeof(kid), true);
        if (rc == CSIGN_OK && !known)
            cli_note("stored CA certificate '%s'", label);
        OPENSSL_free(der);
    }
    return rc;
}

csign_rc import_store(cli_token *t, const hsm_key *key, X509 *cert, STACK_OF(X509) * chain,
                      bool force)
{
    EVP_PKEY *pub = NULL;
    hsm_cert *have = NULL;
    size_t nhave = 0;
    unsigned char *der = NULL;
    int len = 0;
    bool identical = false;
    size_t nother = 0;
    csign_rc rc = hsm_key_public(t->h, key, &pub);

    if (rc == CSIGN_OK && EVP_PKEY_eq(X509_get0_pubkey(cert), pub) != 1)
        rc = err_set(CSIGN_EINPUT,
                     "the certificate's public key is not that of key '%s' (%s); nothing was "
                     "stored",
                     key->label, key->uri);
    if (rc == CSIGN_OK && (len = i2d_X509(cert, &der)) <= 0)
        rc = err_set_ssl(CSIGN_EINTERNAL, "cannot encode the certificate");
    if (rc == CSIGN_OK)
        rc = hsm_certs(t->h, NULL, &have, &nhave);
    for (size_t i = 0; rc == CSIGN_OK && i < nhave; i++) {
        if (have[i].authority || have[i].id_len != key->id_len ||
            memcmp(have[i].id, key->id, key->id_len) != 0)
            continue;
        if (same_der(&have[i], der, len))
            identical = true;
        else
            nother++;
    }
    if (rc == CSIGN_OK && !identical && nother > 0 && !force)
        rc = err_set(CSIGN_EUSAGE,
                     "key '%s' already has a different certificate; use --force to replace it",
                     key->label);
    if (rc == CSIGN_OK && identical)
        cli_note("the certificate of key '%s' is already on the token; nothing to do", key->label);
    if (rc == CSIGN_OK && !identical)
        rc = hsm_cert_store(t->h, der, (size_t)len, key->label, key->id, key->id_len, false);
    /* The new certificate is in place before the old ones go. */
    for (size_t i = 0; rc == CSIGN_OK && !identical && i < nhave; i++)
        if (!have[i].authority && have[i].id_len == key->id_len &&
            memcmp(have[i].id, key->id, key->id_len) == 0 && !same_der(&have[i], der, len))
            rc = hsm_object_destroy(t->h, have[i].handle);
    if (rc == CSIGN_OK && !identical)
        cli_note("stored the certificate of key '%s'%s", key->label,
                 nother > 0 ? ", replacing the old one" : "");
    if (rc == CSIGN_OK && chain != NULL)
        rc = store_chain(t, chain, have, nhave);
    hsm_certs_free(have, nhave);
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
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
        rc = import_store(&t, &key, sk_X509_value(certs, 0), chain, o.force);
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
    .opts = opts,
    .token = true,
    .run = run,
};
