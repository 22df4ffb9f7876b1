/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "sys/io.h"

enum { OPT_KEY = 1, OPT_TYPE, OPT_ID, OPT_PUBOUT, OPT_FORCE };

static const opt_spec opts[] = {
    {OPT_KEY, "key", 0, "URI", "token and label of the new key: pkcs11:token=T;object=LABEL"},
    {OPT_TYPE, "type", 0, "TYPE",
     "ec:p256 (default), ec:p384, ec:p521, rsa:2048, rsa:3072 or rsa:4096"},
    {OPT_ID, "id", 0, "HEX", "CKA_ID of the new key (default: SHA-1 of the public key)"},
    {OPT_PUBOUT, "pubout", 0, "FILE", "also write the public key as PEM"},
    {OPT_FORCE, "force", 0, NULL, "replace an existing --pubout file"},
    {0, NULL, 0, NULL, NULL},
};

static const struct {
    const char *name;
    hsm_keyspec spec;
} types[] = {
    {"ec:p256", {HSM_KEY_EC, 256}},    {"ec:p384", {HSM_KEY_EC, 384}},
    {"ec:p521", {HSM_KEY_EC, 521}},    {"rsa:2048", {HSM_KEY_RSA, 2048}},
    {"rsa:3072", {HSM_KEY_RSA, 3072}}, {"rsa:4096", {HSM_KEY_RSA, 4096}},
};

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    keygen_opts *o = ctx;

    switch (id) {
    case OPT_KEY:
        o->key = arg;
        break;
    case OPT_TYPE:
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcmp(arg, types[i].name) == 0) {
                o->spec = types[i].spec;
                o->type_name = types[i].name;
                return CSIGN_OK;
            }
        }
        return err_set(CSIGN_EUSAGE,
                       "unknown key type '%s' (ec:p256, ec:p384, ec:p521, rsa:2048, rsa:3072, "
                       "rsa:4096)",
                       arg);
    case OPT_ID:
        return cli_hex(arg, "--id", o->id, sizeof(o->id), &o->id_len);
    case OPT_PUBOUT:
        o->pubout = arg;
        break;
    case OPT_FORCE:
        o->force = true;
        break;
    }
    return CSIGN_OK;
}

csign_rc keygen_parse(int argc, char **argv, keygen_opts *o)
{
    csign_rc rc;

    memset(o, 0, sizeof(*o));
    o->spec = types[0].spec;
    o->type_name = types[0].name;
    rc = cli_parse_options(&cmd_keygen, argc, argv, on_opt, o, &o->c);
    if (rc == CSIGN_OK && !o->c.help && o->key == NULL)
        rc = err_set(CSIGN_EUSAGE, "--key is required");
    return rc;
}

/* The label and id the new key gets, from the URI and --id. */
static csign_rc naming(keygen_opts *o, const hsm_uri *uri, char **label)
{
    size_t uri_id_len = 0, label_len = 0;
    const unsigned char *uri_id = hsm_uri_object_id(uri, &uri_id_len);

    *label = hsm_uri_object_label(uri, &label_len);
    if (*label == NULL || (*label)[0] == '\0')
        return err_set(CSIGN_EUSAGE, "--key needs object=LABEL, the new key's label");
    if (strlen(*label) != label_len)
        return err_set(CSIGN_EUSAGE, "the key's label cannot contain a NUL byte");
    if (uri_id != NULL && o->id_len > 0 &&
        (uri_id_len != o->id_len || memcmp(uri_id, o->id, o->id_len) != 0))
        return err_set(CSIGN_EUSAGE, "--id and the URI's id= differ");
    if (uri_id != NULL && o->id_len == 0) {
        if (uri_id_len > sizeof(o->id))
            return err_set(CSIGN_EUSAGE, "the URI's id= is longer than %zu bytes", sizeof(o->id));
        memcpy(o->id, uri_id, uri_id_len);
        o->id_len = uri_id_len;
    }
    return CSIGN_OK;
}

static csign_rc write_pubout(cli_token *t, const hsm_key *k, const keygen_opts *o)
{
    EVP_PKEY *pub = NULL;
    BIO *b = BIO_new(BIO_s_mem());
    csign_rc rc = b ? hsm_key_public(t->h, k, &pub) : err_oom();

    if (rc == CSIGN_OK)
        rc =
            cli_output_bio(o->pubout, b, PEM_write_bio_PUBKEY(b, pub) == 1, "public key", o->force);
    EVP_PKEY_free(pub);
    BIO_free(b);
    return rc;
}

static csign_rc run(int argc, char **argv)
{
    keygen_opts o;
    hsm_uri *uri = NULL;
    cli_token t;
    hsm_key key = {0};
    char *label = NULL;
    csign_rc rc = keygen_parse(argc, argv, &o);

    memset(&t, 0, sizeof(t));
    if (rc != CSIGN_OK)
        return rc;
    if (o.c.help)
        return cli_help(&cmd_keygen);
    rc = hsm_uri_parse(o.key, &uri);
    if (rc == CSIGN_OK)
        rc = naming(&o, uri, &label);
    if (rc == CSIGN_OK && o.pubout != NULL)
        rc = io_check_output(o.pubout, o.force);
    if (rc == CSIGN_OK)
        rc = cli_token_open(&o.c, uri, true, true, &t);
    if (rc != CSIGN_OK)
        goto out;
    if (o.spec.type == HSM_KEY_RSA && o.spec.bits < 3072)
        cli_warn("publicly trusted code signing requires RSA keys of at least 3072 bits");
    /* Two runs with one label would both look, see no key, and both make
     * one: the lock is held from the look until the key is made. */
    rc = cli_token_lock(&t);
    if (rc == CSIGN_OK)
        rc = hsm_keygen(t.h, label, o.id, o.id_len, &o.spec, &key);
    cli_token_unlock(&t);
    if (rc != CSIGN_OK)
        goto out;
    if (!t.token.hardware)
        cli_note("token '%s' is a software token: the new key is not protected by hardware",
                 t.token.label);
    cli_info(1, "generated %s key '%s' on token '%s'", o.type_name, label, t.token.label);
    printf("%s\n", key.uri);
    if (o.pubout != NULL)
        rc = write_pubout(&t, &key, &o);
out:
    hsm_key_clear(&key);
    free(label);
    cli_token_close(&t);
    hsm_uri_free(uri);
    return rc;
}

const cli_command cmd_keygen = {
    .name = "keygen",
    .usage = "csign keygen --key pkcs11:token=T;object=LABEL [options]",
    .summary = "Generate a key pair on the token. The private key is sensitive, never "
               "extractable and can only sign; csign reads this back to prove it.",
    .examples = "csign keygen --key 'pkcs11:token=dev;object=release'\n"
                "csign keygen --key 'pkcs11:token=dev;object=legacy' --type rsa:3072",
    .opts = opts,
    .token = true,
    .run = run,
};
