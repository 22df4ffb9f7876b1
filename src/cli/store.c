/* SPDX-License-Identifier: Apache-2.0 */
/* A key's certificate and its CA certificates, stored on the token. */
#include "cli/store.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "sys/keyid.h"

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

/* Objects made by this import, deleted again if it fails part-way. */
typedef struct {
    unsigned long handles[64];
    size_t n;
} undo_list;

static csign_rc store(cli_token *t, undo_list *u, const unsigned char *der, size_t len,
                      const char *label, const unsigned char *id, size_t id_len, bool authority)
{
    unsigned long h = 0;

    if (u->n == sizeof(u->handles) / sizeof(u->handles[0]))
        return err_set(CSIGN_EUSAGE, "too many certificates in one import");
    csign_rc rc = hsm_cert_store(t->h, der, len, label, id, id_len, authority, &h);
    if (rc == CSIGN_OK)
        u->handles[u->n++] = h;
    return rc;
}

static void undo(cli_token *t, const undo_list *u)
{
    size_t left = 0;

    for (size_t i = 0; i < u->n; i++)
        if (hsm_object_destroy(t->h, u->handles[i]) != CSIGN_OK)
            left++;
    if (u->n > 0 && left == 0)
        err_set(CSIGN_ETOKEN, "%s; what this import had stored was removed again", err_msg());
    else if (left > 0)
        err_set(CSIGN_ETOKEN, "%s; %zu certificates it had stored could not be removed", err_msg(),
                left);
}

/* CA certificates the token does not hold yet, each once. */
static csign_rc store_chain(cli_token *t, undo_list *u, STACK_OF(X509) * chain,
                            const hsm_cert *have, size_t nhave)
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
        for (int j = 0; j < i; j++)
            known = known || X509_cmp(sk_X509_value(chain, j), x) == 0;
        ca_label(x, label, sizeof(label));
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
        if (len <= 0)
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot encode a chain certificate");
        else if (known)
            cli_info(1, "CA certificate '%s' is already on the token", label);
        else if (ski != NULL)
            rc = store(t, u, der, (size_t)len, label, ASN1_STRING_get0_data(ski),
                       (size_t)ASN1_STRING_length(ski), true);
        else if ((rc = keyid_compute(X509_get0_pubkey(x), kid)) == CSIGN_OK)
            rc = store(t, u, der, (size_t)len, label, kid, sizeof(kid), true);
        if (rc == CSIGN_OK && !known)
            cli_note("stored CA certificate '%s'", label);
        OPENSSL_free(der);
    }
    return rc;
}

/*
 * Order: the chain, then the new certificate, then the old certificates go.
 * A failure before the last step removes what this import stored; the old
 * certificates are removed only once the new one is in place.
 */
csign_rc store_certs(cli_token *t, const hsm_key *key, X509 *cert, STACK_OF(X509) * chain,
                     bool force)
{
    EVP_PKEY *pub = NULL;
    hsm_cert *have = NULL;
    size_t nhave = 0, nother = 0;
    unsigned char *der = NULL;
    int len = 0;
    bool identical = false;
    undo_list u = {{0}, 0};
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
        if (!hsm_cert_is_keys(&have[i], key, pub))
            continue;
        if (same_der(&have[i], der, len))
            identical = true;
        else
            nother++;
    }
    if (rc == CSIGN_OK && nother > 0 && !force)
        rc = err_set(CSIGN_EUSAGE,
                     "key '%s' already has a different certificate; use --force to replace it",
                     key->label);
    if (rc == CSIGN_OK && chain != NULL)
        rc = store_chain(t, &u, chain, have, nhave);
    if (rc == CSIGN_OK && !identical)
        rc = store(t, &u, der, (size_t)len, key->label, key->id, key->id_len, false);
    if (rc != CSIGN_OK)
        undo(t, &u);
    for (size_t i = 0; rc == CSIGN_OK && i < nhave; i++)
        if (hsm_cert_is_keys(&have[i], key, pub) && !same_der(&have[i], der, len) &&
            (rc = hsm_object_destroy(t->h, have[i].handle)) != CSIGN_OK)
            err_wrap(rc, "the new certificate is stored but an old one remains (run import-cert "
                         "--force again)");
    if (rc == CSIGN_OK && identical && nother == 0)
        cli_note("the certificate of key '%s' is already on the token; nothing to do", key->label);
    else if (rc == CSIGN_OK)
        cli_note("stored the certificate of key '%s'%s", key->label,
                 nother > 0 ? ", replacing the old one" : "");
    hsm_certs_free(have, nhave);
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
    return rc;
}
