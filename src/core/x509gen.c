/* SPDX-License-Identifier: Apache-2.0 */
#include "core/x509gen.h"
#include "sys/keyid.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

const EVP_MD *x509gen_digest(const EVP_PKEY *pub)
{
    if (EVP_PKEY_is_a(pub, "EC")) {
        int bits = EVP_PKEY_get_bits(pub);
        if (bits >= 521)
            return EVP_sha512();
        if (bits >= 384)
            return EVP_sha384();
    }
    return EVP_sha256();
}

/* An e-mail address as an IA5String can carry it: local@domain, printable
 * ASCII, no spaces. */
static bool email_ok(const char *s)
{
    const char *at = strchr(s, '@');

    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 0x7f)
            return false;
    return true;
}

/* Appends an extension made from an internal structure. */
static bool push(STACK_OF(X509_EXTENSION) * exts, int nid, int critical, void *value)
{
    X509_EXTENSION *ext = value ? X509V3_EXT_i2d(nid, critical, value) : NULL;

    if (ext == NULL || !sk_X509_EXTENSION_push(exts, ext)) {
        X509_EXTENSION_free(ext);
        return false;
    }
    return true;
}

/* keyUsage digitalSignature (critical) and extendedKeyUsage codeSigning,
 * plus what the caller asks for. */
static STACK_OF(X509_EXTENSION) *
    code_signing_exts(const char *email, bool certificate, const unsigned char *key_id)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    GENERAL_NAMES *san = NULL;
    BASIC_CONSTRAINTS *bc = NULL;
    ASN1_OCTET_STRING *ski = NULL;
    AUTHORITY_KEYID *aki = NULL;
    bool ok = exts && ku && eku && ASN1_BIT_STRING_set_bit(ku, 0, 1) &&
              sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_code_sign));

    if (ok && certificate) {
        bc = BASIC_CONSTRAINTS_new();
        ok = bc != NULL && push(exts, NID_basic_constraints, 1, bc);
    }
    ok = ok && push(exts, NID_key_usage, 1, ku) && push(exts, NID_ext_key_usage, 0, eku);
    if (ok && email != NULL) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
        san = GENERAL_NAMES_new();
        ok = gn && ia5 && san && ASN1_STRING_set(ia5, email, -1);
        if (ok) {
            GENERAL_NAME_set0_value(gn, GEN_EMAIL, ia5);
            ia5 = NULL;
            ok = sk_GENERAL_NAME_push(san, gn) > 0;
            if (ok)
                gn = NULL;
        }
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(ia5);
        ok = ok && push(exts, NID_subject_alt_name, 0, san);
    }
    if (ok && key_id != NULL) {
        ski = ASN1_OCTET_STRING_new();
        aki = AUTHORITY_KEYID_new();
        ok = ski && aki && ASN1_OCTET_STRING_set(ski, key_id, 20) &&
             (aki->keyid = ASN1_OCTET_STRING_dup(ski)) != NULL &&
             push(exts, NID_subject_key_identifier, 0, ski) &&
             push(exts, NID_authority_key_identifier, 0, aki);
    }
    ASN1_BIT_STRING_free(ku);
    sk_ASN1_OBJECT_free(eku); /* the objects are static */
    GENERAL_NAMES_free(san);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_OCTET_STRING_free(ski);
    AUTHORITY_KEYID_free(aki);
    if (!ok) {
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        return NULL;
    }
    return exts;
}

csign_rc x509gen_csr(EVP_PKEY *signer, EVP_PKEY *pub, const X509_NAME *subject, const char *email,
                     X509_REQ **out)
{
    X509_REQ *req = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    csign_rc rc = CSIGN_OK;

    if (email != NULL && !email_ok(email))
        return err_set(CSIGN_EUSAGE, "--email: '%s' is not an e-mail address", email);
    req = X509_REQ_new();
    exts = code_signing_exts(email, false, NULL);
    if (req == NULL || exts == NULL || !X509_REQ_set_version(req, 0) ||
        !X509_REQ_set_subject_name(req, subject) || !X509_REQ_set_pubkey(req, pub) ||
        !X509_REQ_add_extensions(req, exts)) {
        rc = err_set_ssl(CSIGN_EINTERNAL, "cannot build the certificate request");
        goto out;
    }
    err_clear();
    if (X509_REQ_sign(req, signer, x509gen_digest(pub)) <= 0) {
        rc = err_wrap_ssl(CSIGN_ETOKEN, "the key could not sign the request");
        goto out;
    }
    /* A token that returns a wrong signature is caught here. */
    if (X509_REQ_verify(req, pub) != 1) {
        rc = err_set_ssl(CSIGN_EINPUT, "the token's signature on the request does not verify");
        goto out;
    }
    *out = req;
    req = NULL;
out:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    return rc;
}

/* A random positive 16-byte serial number. */
static bool set_serial(X509 *x)
{
    unsigned char b[16];
    BIGNUM *bn = NULL;
    bool ok;

    if (RAND_bytes(b, sizeof(b)) != 1)
        return false;
    b[0] = (unsigned char)((b[0] & 0x7f) | 0x40); /* positive, and 16 bytes long */
    bn = BN_bin2bn(b, sizeof(b), NULL);
    ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

csign_rc x509gen_selfsigned(EVP_PKEY *signer, EVP_PKEY *pub, const X509_NAME *subject, int days,
                            X509 **out)
{
    X509 *x = X509_new();
    STACK_OF(X509_EXTENSION) *exts = NULL;
    unsigned char kid[20];
    csign_rc rc = keyid_compute(pub, kid);
    bool ok;

    if (rc != CSIGN_OK || x == NULL) {
        X509_free(x);
        return rc != CSIGN_OK ? rc : err_oom();
    }
    exts = code_signing_exts(NULL, true, kid);
    /* One clock reading: the lifetime is exactly the days asked for. */
    time_t now = time(NULL);
    ok = exts != NULL && X509_set_version(x, 2) && set_serial(x) &&
         X509_set_subject_name(x, subject) && X509_set_issuer_name(x, subject) &&
         X509_set_pubkey(x, pub) && X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) &&
         X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now);
    for (int i = 0; ok && i < sk_X509_EXTENSION_num(exts); i++)
        ok = X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1) == 1;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    err_clear();
    if (!ok) {
        rc = err_set_ssl(CSIGN_EINTERNAL, "cannot build the certificate");
    } else if (X509_sign(x, signer, x509gen_digest(pub)) <= 0) {
        rc = err_wrap_ssl(CSIGN_ETOKEN, "the key could not sign the certificate");
    } else if (X509_verify(x, pub) != 1) {
        rc = err_set_ssl(CSIGN_EINPUT, "the token's signature on the certificate does not "
                                       "verify");
    }
    if (rc != CSIGN_OK) {
        X509_free(x);
        return rc;
    }
    *out = x;
    return CSIGN_OK;
}
