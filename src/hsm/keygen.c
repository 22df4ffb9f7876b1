/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/keyid.h"
#include "internal.h"

/* Key generation: a key pair csign can vouch for, or none at all. */

/* The object (any class) on the token with this label or id, as a URI. */
static csign_rc find_named(hsm *h, const char *label, const unsigned char *id, size_t id_len,
                           char **uri)
{
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE,
                                              CKO_SECRET_KEY, CKO_DATA};
    *uri = NULL;
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]) && *uri == NULL; c++) {
        CK_OBJECT_CLASS cls = classes[c];
        for (int by_id = 0; by_id < 2 && *uri == NULL; by_id++) {
            CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)},
                                 {by_id ? CKA_ID : CKA_LABEL, by_id ? (void *)id : (void *)label,
                                  by_id ? id_len : strlen(label)}};
            CK_OBJECT_HANDLE o;
            CK_ULONG got = 0;
            if (by_id && id_len == 0)
                continue;
            CK_RV rv = h->f->C_FindObjectsInit(h->session, t, 2);
            if (rv != CKR_OK)
                return hsm_fail(h, "C_FindObjectsInit", rv);
            rv = h->f->C_FindObjects(h->session, &o, 1, &got);
            (void)h->f->C_FindObjectsFinal(h->session);
            if (rv != CKR_OK)
                return hsm_fail(h, "C_FindObjects", rv);
            if (got == 0)
                continue;
            unsigned char *l = NULL, *i = NULL;
            size_t llen = 0, ilen = 0;
            (void)hsm_get_attr(h, o, CKA_LABEL, &l, &llen);
            (void)hsm_get_attr(h, o, CKA_ID, &i, &ilen);
            *uri = hsm_format_uri(&h->token, cls, l ? (char *)l : "", i, i ? ilen : 0);
            free(l);
            free(i);
            if (*uri == NULL)
                return err_oom();
        }
    }
    return CSIGN_OK;
}

/* How many private keys on the token have this attribute value (0, 1 or
 * "2 or more" as 2). */
static csign_rc count_private(hsm *h, CK_ATTRIBUTE_TYPE type, const void *v, size_t len,
                              CK_ULONG *n)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)}, {type, (void *)v, len}};
    CK_OBJECT_HANDLE o[2];
    unsigned attempt = 0;
    CK_RV rv;

    for (;;) {
        rv = h->f->C_FindObjectsInit(h->session, t, 2);
        if (rv == CKR_OK) {
            rv = h->f->C_FindObjects(h->session, o, 2, n);
            (void)h->f->C_FindObjectsFinal(h->session);
        }
        if (rv == CKR_OK)
            return CSIGN_OK;
        hsm_fail(h, "C_FindObjects", rv);
        if (!hsm_retry(h, &attempt))
            return CSIGN_ETOKEN;
    }
}

/*
 * After generating: another process may have made a key with the same
 * label or id at the same moment (both looked first and saw none). Then
 * this one gives way. csign's keygen takes a lock per token first
 * (cmd_keygen.c), so this only happens between machines sharing a token,
 * and there both may give way: never two keys with one name.
 */
static csign_rc clash_check(hsm *h, const char *label, const unsigned char *id, size_t id_len)
{
    CK_ULONG by_label = 0, by_id = 0;
    csign_rc rc = count_private(h, CKA_LABEL, label, strlen(label), &by_label);

    if (rc == CSIGN_OK && id_len > 0)
        rc = count_private(h, CKA_ID, id, id_len, &by_id);
    if (rc == CSIGN_OK && (by_label > 1 || by_id > 1))
        rc = err_set(CSIGN_EUSAGE,
                     "token '%s' already has an object with this label or id: another process "
                     "made one at the same time",
                     h->token.label);
    return rc;
}

/* The named curve of an EC key of this size. */
static int curve_nid(unsigned bits)
{
    switch (bits) {
    case 256:
        return NID_X9_62_prime256v1;
    case 384:
        return NID_secp384r1;
    case 521:
        return NID_secp521r1;
    }
    return NID_undef;
}

/* The attributes csign insists on, read back from the new private key. */
static csign_rc check_template(hsm *h, CK_OBJECT_HANDLE priv)
{
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        const char *name;
        hsm_bool want;
    } checks[] = {
        {CKA_SENSITIVE, "CKA_SENSITIVE", HSM_YES},
        {CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", HSM_YES},
        {CKA_EXTRACTABLE, "CKA_EXTRACTABLE", HSM_NO},
        {CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", HSM_YES},
        {CKA_LOCAL, "CKA_LOCAL", HSM_YES},
        {CKA_SIGN, "CKA_SIGN", HSM_YES},
        {CKA_DECRYPT, "CKA_DECRYPT", HSM_NO},
        {CKA_UNWRAP, "CKA_UNWRAP", HSM_NO},
        {CKA_DERIVE, "CKA_DERIVE", HSM_NO},
        {CKA_PRIVATE, "CKA_PRIVATE", HSM_YES},
        {CKA_TOKEN, "CKA_TOKEN", HSM_YES},
    };

    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        hsm_bool got = hsm_get_bool(h, priv, checks[i].type);
        /* An attribute that could not be read at all is read again: a
         * busy token fails reads now and then. */
        for (unsigned attempt = 0; got == HSM_UNKNOWN;) {
            err_set(CSIGN_ETOKEN, "token '%s': %s of the new key is unreadable", h->token.label,
                    checks[i].name);
            if (!hsm_backoff(&attempt))
                break;
            got = hsm_get_bool(h, priv, checks[i].type);
        }
        if (got != checks[i].want)
            return err_set(CSIGN_ETOKEN,
                           "token '%s' did not honour the key template: %s is %s, expected "
                           "%s",
                           h->token.label, checks[i].name,
                           got == HSM_UNKNOWN ? "unreadable"
                           : got == HSM_YES   ? "true"
                                              : "false",
                           checks[i].want == HSM_YES ? "true" : "false");
    }
    return CSIGN_OK;
}

/* Deletes a pair that must not stay, and says in the reason whether it is
 * gone: a key csign refused must not be used by accident. */
static void discard_pair(hsm *h, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub)
{
    CK_RV a = priv != CK_INVALID_HANDLE ? h->f->C_DestroyObject(h->session, priv) : CKR_OK;
    CK_RV b = pub != CK_INVALID_HANDLE ? h->f->C_DestroyObject(h->session, pub) : CKR_OK;
    csign_rc rc = CSIGN_ETOKEN;

    if (a == CKR_OK && b == CKR_OK)
        err_set(rc, "%s; the key pair was deleted", err_msg());
    else
        err_set(rc,
                "%s; deleting the key pair failed (%s), so it is still on the token: "
                "delete it with the token's tools",
                err_msg(), hsm_ckr_name(a != CKR_OK ? a : b));
}

csign_rc hsm_keygen(hsm *h, const char *label, const unsigned char *id, size_t id_len,
                    const hsm_keyspec *spec, hsm_key *out)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = spec->bits;
    CK_BYTE exponent[] = {0x01, 0x00, 0x01};
    unsigned char *params = NULL, sha1[20];
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    EVP_PKEY *pk = NULL;
    hsm_key made = {0};
    char *conflict = NULL;
    size_t user_id_len = id_len; /* an id csign makes (below) is the key's own */
    csign_rc rc = hsm_keygen_supported(h, spec);

    if (rc == CSIGN_OK)
        rc = find_named(h, label, id, id_len, &conflict);
    if (rc != CSIGN_OK)
        return rc;
    if (conflict != NULL) {
        rc = err_set(CSIGN_EUSAGE, "token '%s' already has an object with this label or id: %s",
                     h->token.label, conflict);
        free(conflict);
        return rc;
    }
    /* No CKA_VERIFY or CKA_ENCRYPT: tpm2-pkcs11 derives both from the
     * private key's usage and fails a template that says otherwise. Anyone
     * holding a public key can verify and encrypt with it off the token, so
     * its flags protect nothing; the private key's are read back below. */
    CK_ATTRIBUTE pub_t[7] = {
        {CKA_TOKEN, &yes, sizeof(yes)}, {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_WRAP, &no, sizeof(no)},    {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_ID, (void *)id, id_len},
    };
    CK_ULONG npub = id_len > 0 ? 5 : 4;
    CK_ATTRIBUTE priv_t[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},
        {CKA_DECRYPT, &no, sizeof(no)},
        {CKA_UNWRAP, &no, sizeof(no)},
        {CKA_DERIVE, &no, sizeof(no)},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_ID, (void *)id, id_len},
    };
    CK_ULONG npriv = id_len > 0 ? 10 : 9;

    if (spec->type == HSM_KEY_EC) {
        int nid = curve_nid(spec->bits);
        ASN1_OBJECT *oid = OBJ_nid2obj(nid);
        int plen = oid ? i2d_ASN1_OBJECT(oid, &params) : -1;
        if (plen <= 0)
            return err_set(CSIGN_EINTERNAL, "no EC curve of %u bits", spec->bits);
        pub_t[npub].type = CKA_EC_PARAMS;
        pub_t[npub].pValue = params;
        pub_t[npub].ulValueLen = (CK_ULONG)plen;
        npub++;
    } else {
        mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        pub_t[npub].type = CKA_MODULUS_BITS;
        pub_t[npub].pValue = &bits;
        pub_t[npub].ulValueLen = sizeof(bits);
        npub++;
        pub_t[npub].type = CKA_PUBLIC_EXPONENT;
        pub_t[npub].pValue = exponent;
        pub_t[npub].ulValueLen = sizeof(exponent);
        npub++;
    }
    /* Never tried again: a module that failed may still have made a pair
     * (a network HSM whose answer was lost), and a second try would leave
     * it behind. */
    CK_RV rv = h->f->C_GenerateKeyPair(h->session, &mech, pub_t, npub, priv_t, npriv, &pub, &priv);
    OPENSSL_free(params);
    if (rv != CKR_OK) {
        if (hsm_keygen_refused(h, spec, rv) == CSIGN_OK)
            hsm_fail(h, "C_GenerateKeyPair", rv);
        /* Some modules leave half a pair behind on failure. */
        if (priv != CK_INVALID_HANDLE || pub != CK_INVALID_HANDLE)
            discard_pair(h, priv, pub);
        return CSIGN_ETOKEN;
    }

    rc = check_template(h, priv);
    made.type = spec->type;
    made.pub_handle = pub;
    made.priv_handle = priv;
    if (rc == CSIGN_OK)
        rc = hsm_key_public(h, &made, &pk);
    if (rc == CSIGN_OK && id_len == 0) {
        rc = keyid_compute(pk, sha1);
        CK_ATTRIBUTE set = {CKA_ID, sha1, sizeof(sha1)};
        CK_RV rv2 = CKR_OK;
        if (rc == CSIGN_OK &&
            ((rv2 = h->f->C_SetAttributeValue(h->session, priv, &set, 1)) != CKR_OK ||
             (rv2 = h->f->C_SetAttributeValue(h->session, pub, &set, 1)) != CKR_OK))
            rc = err_set(CSIGN_ETOKEN,
                         "token '%s' does not let csign set the key's id: C_SetAttributeValue "
                         "failed: %s (pass --id to set it at generation)",
                         h->token.label, hsm_ckr_name(rv2));
        id = sha1;
        id_len = sizeof(sha1);
    }
    EVP_PKEY_free(pk);
    if (rc == CSIGN_OK)
        rc = clash_check(h, label, user_id_len > 0 ? id : NULL, user_id_len);
    if (rc == CSIGN_OK) {
        made.label = strdup(label);
        made.id = malloc(id_len + 1);
        made.uri = made.id ? hsm_format_uri(&h->token, CKO_PRIVATE_KEY, label, id, id_len) : NULL;
        if (made.label == NULL || made.id == NULL || made.uri == NULL)
            rc = err_oom();
        else
            memcpy(made.id, id, id_len);
        made.id_len = id_len;
        made.bits = spec->bits;
        made.has_private = made.has_public = true;
        made.sensitive = made.always_sensitive = made.never_extractable = HSM_YES;
        made.local = made.sign = HSM_YES;
        made.extractable = HSM_NO;
        if (spec->type == HSM_KEY_EC)
            snprintf(made.curve, sizeof(made.curve), "P-%u", spec->bits);
    }
    if (rc != CSIGN_OK) {
        discard_pair(h, priv, pub);
        hsm_key_clear(&made);
        return rc;
    }
    *out = made;
    return CSIGN_OK;
}
