/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Label and id of an object; both are always set (possibly empty). */
static csign_rc label_and_id(hsm *h, CK_OBJECT_HANDLE o, char **label, unsigned char **id,
                             size_t *id_len)
{
    CK_ATTRIBUTE t[2] = {{CKA_LABEL, NULL, 0}, {CKA_ID, NULL, 0}};

    hsm_get_attrs(h, o, t, 2);
    *label = t[0].pValue ? t[0].pValue : strdup("");
    *id = t[1].pValue ? t[1].pValue : calloc(1, 1);
    *id_len = t[1].pValue ? t[1].ulValueLen : 0;
    if (*label == NULL || *id == NULL) {
        free(*label);
        free(*id);
        *label = NULL;
        *id = NULL;
        *id_len = 0;
        return err_oom();
    }
    return CSIGN_OK;
}

/* Curve name and size from DER ECParameters (a named curve OID). */
static void curve_info(const unsigned char *der, size_t len, hsm_key *k)
{
    const unsigned char *p = der;
    ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)len);
    int nid = oid ? OBJ_obj2nid(oid) : NID_undef;

    ASN1_OBJECT_free(oid);
    if (nid == NID_undef)
        return;
    if (nid == NID_ED25519 || nid == NID_ED448) {
        snprintf(k->curve, sizeof(k->curve), "%s", OBJ_nid2sn(nid));
        k->bits = nid == NID_ED25519 ? 255 : 448;
        return;
    }
    const char *nist = EC_curve_nid2nist(nid);
    snprintf(k->curve, sizeof(k->curve), "%s", nist ? nist : OBJ_nid2sn(nid));
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    if (g != NULL) {
        k->bits = (unsigned)EC_GROUP_get_degree(g);
        EC_GROUP_free(g);
    }
}

/* Algorithm and size of a key object of the given CKA_KEY_TYPE. */
static void key_shape(hsm *h, CK_OBJECT_HANDLE o, CK_ULONG type, hsm_key *k)
{
    unsigned char *v = NULL;
    size_t len = 0;

    switch (type) {
    case CKK_RSA:
        k->type = HSM_KEY_RSA;
        if (hsm_get_attr(h, o, CKA_MODULUS, &v, &len) == CKR_OK) {
            size_t i = 0;
            while (i < len && v[i] == 0)
                i++;
            k->bits = (unsigned)((len - i) * 8);
            if (i < len)
                for (unsigned char top = v[i]; !(top & 0x80); top = (unsigned char)(top << 1))
                    k->bits--;
        } else {
            k->bits = (unsigned)hsm_get_ulong(h, o, CKA_MODULUS_BITS, 0);
        }
        break;
    case CKK_EC:
        k->type = HSM_KEY_EC;
        if (hsm_get_attr(h, o, CKA_EC_PARAMS, &v, &len) == CKR_OK)
            curve_info(v, len, k);
        break;
    case CKK_EC_EDWARDS:
        k->type = HSM_KEY_EDDSA;
        if (hsm_get_attr(h, o, CKA_EC_PARAMS, &v, &len) == CKR_OK)
            curve_info(v, len, k);
        break;
    default:
        k->type = HSM_KEY_OTHER;
        break;
    }
    free(v);
}

/* The public key pairs with a private key holding the same non-empty id,
 * or, when ids are empty, the same label. */
void hsm_key_clear(hsm_key *k)
{
    free(k->label);
    free(k->id);
    free(k->uri);
    memset(k, 0, sizeof(*k));
}

static hsm_key *pair_of(hsm_key *keys, size_t n, const char *label, const unsigned char *id,
                        size_t id_len)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i].has_public)
            continue;
        if (id_len > 0 && keys[i].id_len == id_len && memcmp(keys[i].id, id, id_len) == 0)
            return &keys[i];
        if (id_len == 0 && keys[i].id_len == 0 && strcmp(keys[i].label, label) == 0)
            return &keys[i];
    }
    return NULL;
}

void hsm_keys_free(hsm_key *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(k[i].label);
        free(k[i].id);
        free(k[i].uri);
    }
    free(k);
}

static void unknown_private_attrs(hsm_key *k)
{
    k->sensitive = k->always_sensitive = k->extractable = HSM_UNKNOWN;
    k->never_extractable = k->local = k->sign = HSM_UNKNOWN;
}

static CK_ULONG key_type(hsm *h, CK_OBJECT_HANDLE o)
{
    return hsm_get_ulong(h, o, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
}

/* Shape and protection of a private key, its flags read in one call. */
static void private_attrs(hsm *h, CK_OBJECT_HANDLE o, hsm_key *k)
{
    /* Neither CK_TRUE nor CK_FALSE: a module that claims success without
     * writing a flag leaves it unknown, not false. */
    CK_BBOOL v[6] = {0xA5, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5};
    CK_ULONG type = CK_UNAVAILABLE_INFORMATION;
    CK_ATTRIBUTE t[7] = {
        {CKA_SENSITIVE, &v[0], sizeof(v[0])},   {CKA_ALWAYS_SENSITIVE, &v[1], sizeof(v[1])},
        {CKA_EXTRACTABLE, &v[2], sizeof(v[2])}, {CKA_NEVER_EXTRACTABLE, &v[3], sizeof(v[3])},
        {CKA_LOCAL, &v[4], sizeof(v[4])},       {CKA_SIGN, &v[5], sizeof(v[5])},
        {CKA_KEY_TYPE, &type, sizeof(type)},
    };
    hsm_bool *flags[6] = {&k->sensitive,   &k->always_sensitive,
                          &k->extractable, &k->never_extractable,
                          &k->local,       &k->sign};

    hsm_get_fixed(h, o, t, 7);
    for (size_t i = 0; i < 6; i++)
        *flags[i] = t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION || v[i] > CK_TRUE ? HSM_UNKNOWN
                    : v[i] == CK_TRUE                                               ? HSM_YES
                                                                                    : HSM_NO;
    key_shape(h, o,
              t[6].ulValueLen == CK_UNAVAILABLE_INFORMATION ? CK_UNAVAILABLE_INFORMATION : type, k);
    k->always_auth = hsm_get_bool(h, o, CKA_ALWAYS_AUTHENTICATE) == HSM_YES;
}

/* Pairs the private keys that the URI's label left without their public
 * key with one holding the same id (whatever its label). */
static csign_rc pair_by_id(hsm *h, hsm_key *keys, size_t count)
{
    csign_rc rc = CSIGN_OK;

    for (size_t i = 0; rc == CSIGN_OK && i < count; i++) {
        hsm_key *k = &keys[i];
        CK_ATTRIBUTE id = {CKA_ID, k->id, k->id_len};
        CK_OBJECT_HANDLE *pub = NULL;
        size_t npub = 0;
        if (!k->has_private || k->has_public || k->id_len == 0)
            continue;
        rc = hsm_find_named(h, CKO_PUBLIC_KEY, NULL, &id, &pub, &npub);
        if (rc == CSIGN_OK && npub > 0) {
            k->has_public = true;
            k->pub_handle = pub[0];
            if (k->bits == 0)
                key_shape(h, pub[0], key_type(h, pub[0]), k);
        }
        free(pub);
    }
    return rc;
}

static csign_rc keys_once(hsm *h, const hsm_uri *filter, hsm_key **out, size_t *n)
{
    CK_OBJECT_HANDLE *priv = NULL, *pub = NULL;
    size_t npriv = 0, npub = 0, count = 0;
    hsm_key *keys = NULL;
    const CK_ATTRIBUTE *named_label, *named_id;

    /* The token picks out what the URI names; the match below still
     * decides. */
    hsm_uri_names(filter, &named_label, &named_id);
    csign_rc rc = hsm_find_named(h, CKO_PRIVATE_KEY, named_label, named_id, &priv, &npriv);
    if (rc == CSIGN_OK)
        rc = hsm_find_named(h, CKO_PUBLIC_KEY, named_label, named_id, &pub, &npub);
    if (rc == CSIGN_OK && (keys = calloc(npriv + npub + 1, sizeof(*keys))) == NULL)
        rc = err_oom();
    for (size_t i = 0; rc == CSIGN_OK && i < npriv; i++) {
        hsm_key *k = &keys[count];
        rc = label_and_id(h, priv[i], &k->label, &k->id, &k->id_len);
        if (rc != CSIGN_OK)
            break;
        count++;
        k->has_private = true;
        private_attrs(h, priv[i], k);
        k->priv_handle = priv[i];
    }
    for (size_t i = 0; rc == CSIGN_OK && i < npub; i++) {
        char *label = NULL;
        unsigned char *id = NULL;
        size_t id_len = 0;
        rc = label_and_id(h, pub[i], &label, &id, &id_len);
        if (rc != CSIGN_OK)
            break;
        hsm_key *k = pair_of(keys, count, label, id, id_len);
        if (k != NULL) {
            k->has_public = true;
            k->pub_handle = pub[i];
            if (k->bits == 0)
                key_shape(h, pub[i], key_type(h, pub[i]), k);
            free(label);
            free(id);
            continue;
        }
        k = &keys[count++];
        k->label = label;
        k->id = id;
        k->id_len = id_len;
        k->has_public = true;
        k->pub_handle = pub[i];
        unknown_private_attrs(k);
        key_shape(h, pub[i], key_type(h, pub[i]), k);
    }
    if (rc == CSIGN_OK && named_label != NULL)
        rc = pair_by_id(h, keys, count);
    /* Filter, then name each key by its private key's URI. Runs after a
     * failure too, to release what was collected. */
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        hsm_key k = keys[i];
        if (rc != CSIGN_OK ||
            !(hsm_uri_match_object(filter, CKO_PRIVATE_KEY, k.label, k.id, k.id_len) ||
              hsm_uri_match_object(filter, CKO_PUBLIC_KEY, k.label, k.id, k.id_len))) {
            free(k.label);
            free(k.id);
            continue;
        }
        k.uri = hsm_format_uri(&h->token, CKO_PRIVATE_KEY, k.label, k.id, k.id_len);
        keys[kept++] = k;
        if (k.uri == NULL)
            rc = err_oom();
    }
    free(priv);
    free(pub);
    if (rc != CSIGN_OK) {
        hsm_keys_free(keys, kept);
        return rc;
    }
    *out = keys;
    *n = kept;
    return CSIGN_OK;
}

void hsm_certs_free(hsm_cert *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].label);
        free(c[i].id);
        free(c[i].uri);
        free(c[i].der);
    }
    free(c);
}

static X509 *parse_cert(const hsm_cert *c)
{
    const unsigned char *p = c->der;
    return c->der_len > 0 ? d2i_X509(NULL, &p, (long)c->der_len) : NULL;
}

/* Label, id and value of a certificate object, read together. */
static csign_rc label_id_value(hsm *h, CK_OBJECT_HANDLE o, hsm_cert *c)
{
    CK_ATTRIBUTE t[3] = {{CKA_LABEL, NULL, 0}, {CKA_ID, NULL, 0}, {CKA_VALUE, NULL, 0}};

    hsm_get_attrs(h, o, t, 3);
    c->label = t[0].pValue ? t[0].pValue : strdup("");
    c->id = t[1].pValue ? t[1].pValue : calloc(1, 1);
    c->id_len = t[1].pValue ? t[1].ulValueLen : 0;
    c->der = t[2].pValue;
    c->der_len = t[2].pValue ? t[2].ulValueLen : 0;
    if (c->label == NULL || c->id == NULL) {
        free(c->label);
        free(c->id);
        free(c->der);
        memset(c, 0, sizeof(*c));
        return err_oom();
    }
    return CSIGN_OK;
}

static csign_rc certs_once(hsm *h, const hsm_uri *filter, hsm_cert **out, size_t *n)
{
    CK_OBJECT_HANDLE *objs = NULL;
    size_t nobjs = 0, count = 0;
    hsm_cert *certs = NULL;
    const CK_ATTRIBUTE *named_label, *named_id;

    hsm_uri_names(filter, &named_label, &named_id);
    csign_rc rc = hsm_find_named(h, CKO_CERTIFICATE, named_label, named_id, &objs, &nobjs);

    if (rc == CSIGN_OK && (certs = calloc(nobjs + 1, sizeof(*certs))) == NULL)
        rc = err_oom();
    for (size_t i = 0; rc == CSIGN_OK && i < nobjs; i++) {
        hsm_cert *c = &certs[count];
        CK_ULONG type = CKC_X_509, category = 0;
        CK_ATTRIBUTE t[2] = {{CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
                             {CKA_CERTIFICATE_CATEGORY, &category, sizeof(category)}};
        hsm_get_fixed(h, objs[i], t, 2);
        if (t[0].ulValueLen != CK_UNAVAILABLE_INFORMATION && type != CKC_X_509)
            continue;
        rc = label_id_value(h, objs[i], c);
        if (rc != CSIGN_OK)
            break;
        if (!hsm_uri_match_object(filter, CKO_CERTIFICATE, c->label, c->id, c->id_len)) {
            free(c->label);
            free(c->id);
            free(c->der);
            memset(c, 0, sizeof(*c));
            continue;
        }
        count++;
        c->authority = t[1].ulValueLen != CK_UNAVAILABLE_INFORMATION && category == 2;
        /* Without a category (as pkcs11-tool writes them) the certificate says. */
        bool uncategorised = t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION || category == 0;
        X509 *x = uncategorised ? parse_cert(c) : NULL;
        c->ca = c->authority || (x != NULL && (X509_get_extension_flags(x) & EXFLAG_CA));
        X509_free(x);
        c->handle = objs[i];
        c->uri = hsm_format_uri(&h->token, CKO_CERTIFICATE, c->label, c->id, c->id_len);
        if (c->uri == NULL)
            rc = err_oom();
    }
    free(objs);
    if (rc != CSIGN_OK) {
        hsm_certs_free(certs, count);
        return rc;
    }
    *out = certs;
    *n = count;
    return CSIGN_OK;
}

/*
 * A listing is tried again when a call failed in a way that may pass, and
 * when an attribute read failed so (an object whose label could not be
 * read would otherwise look like no match). A read that still fails at
 * the end is the error, not "no key matches".
 */
static csign_rc read_failure(hsm *h)
{
    return h->read_rv == CKR_OK ? CSIGN_OK : hsm_fail(h, "C_GetAttributeValue", h->read_rv);
}

csign_rc hsm_keys(hsm *h, const hsm_uri *filter, hsm_key **out, size_t *n)
{
    unsigned attempt = 0;
    csign_rc rc;

    do {
        h->read_rv = CKR_OK;
        h->fail_rv = CKR_OK;
        *out = NULL;
        *n = 0;
        rc = keys_once(h, filter, out, n);
        if (rc == CSIGN_OK && (rc = read_failure(h)) != CSIGN_OK) {
            hsm_keys_free(*out, *n);
            *out = NULL;
            *n = 0;
        }
    } while (rc != CSIGN_OK && hsm_retry(h, &attempt));
    return rc;
}

csign_rc hsm_certs(hsm *h, const hsm_uri *filter, hsm_cert **out, size_t *n)
{
    unsigned attempt = 0;
    csign_rc rc;

    do {
        h->read_rv = CKR_OK;
        h->fail_rv = CKR_OK;
        *out = NULL;
        *n = 0;
        rc = certs_once(h, filter, out, n);
        if (rc == CSIGN_OK && (rc = read_failure(h)) != CSIGN_OK) {
            hsm_certs_free(*out, *n);
            *out = NULL;
            *n = 0;
        }
    } while (rc != CSIGN_OK && hsm_retry(h, &attempt));
    return rc;
}

bool hsm_cert_is_keys(const hsm_cert *c, const hsm_key *k, const EVP_PKEY *pub)
{
    if (c->ca)
        return false;
    if (k->id_len > 0)
        return c->id_len == k->id_len && memcmp(c->id, k->id, k->id_len) == 0;
    if (pub == NULL)
        return false;
    X509 *x = parse_cert(c);
    bool same = x != NULL && EVP_PKEY_eq(X509_get0_pubkey(x), pub) == 1;
    X509_free(x);
    return same;
}
