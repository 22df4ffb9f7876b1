/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sys/err.h"
#include "sys/keyid.h"
#include "core/x509gen.h"
#include "testutil.h"

/* Software keys made once for the whole run. */
static EVP_PKEY *p256, *p256_other, *p384, *p521, *rsa2048;

static const struct {
    const char *name;
    EVP_PKEY **key;
    int md_nid; /* digest x509gen_digest() picks */
} keys[] = {
    {"P-256", &p256, NID_sha256},
    {"P-384", &p384, NID_sha384},
    {"P-521", &p521, NID_sha512},
    {"RSA-2048", &rsa2048, NID_sha256},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static int make_keys(void **state)
{
    (void)state;
    p256 = EVP_EC_gen("P-256");
    p256_other = EVP_EC_gen("P-256");
    p384 = EVP_EC_gen("P-384");
    p521 = EVP_EC_gen("P-521");
    rsa2048 = EVP_RSA_gen(2048);
    return p256 && p256_other && p384 && p521 && rsa2048 ? 0 : -1;
}

static int free_keys(void **state)
{
    (void)state;
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p256_other);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(rsa2048);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    err_clear();
    ERR_clear_error();
    return 0;
}

/* C=DE, O=Example Ltd, CN=Example Release Signing, built without dn_parse. */
static X509_NAME *subject_name(void)
{
    X509_NAME *n = X509_NAME_new();

    assert_non_null(n);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"DE", -1, -1, 0),
        1);
    assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                                (const unsigned char *)"Example Ltd", -1, -1, 0),
                     1);
    assert_int_equal(X509_NAME_add_entry_by_txt(
                         n, "CN", MBSTRING_UTF8,
                         (const unsigned char *)"Example Release Signing J\xc3\xbcrgen", -1, -1, 0),
                     1);
    return n;
}

/* The digest NID inside a signature algorithm NID. */
static int md_of_sig(int sig_nid)
{
    int md = NID_undef, pk = NID_undef;

    assert_int_equal(OBJ_find_sigid_algs(sig_nid, &md, &pk), 1);
    return md;
}

/* The one extension with nid in exts; its criticality in *critical. */
static void *find_ext(const STACK_OF(X509_EXTENSION) * exts, int nid, int *critical)
{
    int at = X509v3_get_ext_by_NID(exts, nid, -1);
    X509_EXTENSION *ext;

    if (at < 0)
        return NULL;
    assert_int_equal(X509v3_get_ext_by_NID(exts, nid, at), -1); /* only one */
    ext = X509v3_get_ext(exts, at);
    *critical = X509_EXTENSION_get_critical(ext);
    return X509V3_EXT_d2i(ext);
}

/* keyUsage is digitalSignature alone, critical. */
static void check_key_usage(const STACK_OF(X509_EXTENSION) * exts)
{
    int crit = -1;
    ASN1_BIT_STRING *ku = find_ext(exts, NID_key_usage, &crit);

    assert_non_null(ku);
    assert_int_equal(crit, 1);
    assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 0), 1);
    for (int bit = 1; bit < 16; bit++)
        assert_int_equal(ASN1_BIT_STRING_get_bit(ku, bit), 0);
    ASN1_BIT_STRING_free(ku);
}

/* extendedKeyUsage is codeSigning alone, not critical. */
static void check_eku(const STACK_OF(X509_EXTENSION) * exts)
{
    int crit = -1;
    EXTENDED_KEY_USAGE *eku = find_ext(exts, NID_ext_key_usage, &crit);

    assert_non_null(eku);
    assert_int_equal(crit, 0);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_code_sign);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
}

/* ---- x509gen_digest ----------------------------------------------------- */

static void test_digest(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_KEYS; i++) {
        const EVP_MD *md = x509gen_digest(*keys[i].key);
        assert_non_null(md);
        if (EVP_MD_get_type(md) != keys[i].md_nid)
            print_error("%s\n", keys[i].name);
        assert_int_equal(EVP_MD_get_type(md), keys[i].md_nid);
    }
}

/* ---- keyid_compute ----------------------------------------------------- */

/* SHA-1 over the subjectPublicKey bits, taken from i2d_PublicKey (the EC
 * point, or the RSAPublicKey DER) rather than from an X509_PUBKEY. */
static void independent_key_id(EVP_PKEY *key, unsigned char id[20])
{
    unsigned char *der = NULL;
    int len = i2d_PublicKey(key, &der);
    unsigned int mdlen = 0;

    assert_true(len > 0);
    assert_int_equal(EVP_Digest(der, (size_t)len, id, &mdlen, EVP_sha1(), NULL), 1);
    assert_int_equal(mdlen, 20);
    OPENSSL_free(der);
}

static void test_key_id(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_KEYS; i++) {
        EVP_PKEY *key = *keys[i].key;
        unsigned char id[20], want[20], pkdig[20];
        unsigned int pklen = 0;
        X509 *bare = X509_new(), *cert = NULL;
        X509_NAME *subject = subject_name();
        X509V3_CTX ctx;

        memset(id, 0, sizeof(id));
        assert_int_equal(keyid_compute(key, id), CSIGN_OK);

        independent_key_id(key, want);
        assert_memory_equal(id, want, 20);

        /* OpenSSL's own "subjectKeyIdentifier = hash". */
        assert_non_null(bare);
        assert_int_equal(X509_set_pubkey(bare, key), 1);
        assert_int_equal(X509_pubkey_digest(bare, EVP_sha1(), pkdig, &pklen), 1);
        assert_int_equal(pklen, 20);
        assert_memory_equal(id, pkdig, 20);
        X509V3_set_ctx(&ctx, NULL, bare, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
        assert_non_null(ext);
        ASN1_OCTET_STRING *ski = X509V3_EXT_d2i(ext);
        assert_non_null(ski);
        assert_int_equal(ASN1_STRING_length(ski), 20);
        assert_memory_equal(ASN1_STRING_get0_data(ski), id, 20);
        ASN1_OCTET_STRING_free(ski);
        X509_EXTENSION_free(ext);
        X509_free(bare);

        /* And the one in the certificate x509gen_selfsigned() makes. */
        assert_int_equal(x509gen_selfsigned(key, key, subject, 30, &cert), CSIGN_OK);
        const ASN1_OCTET_STRING *cert_ski = X509_get0_subject_key_id(cert);
        assert_non_null(cert_ski);
        assert_int_equal(ASN1_STRING_length(cert_ski), 20);
        assert_memory_equal(ASN1_STRING_get0_data(cert_ski), id, 20);
        X509_free(cert);
        X509_NAME_free(subject);
    }
}

/* Different keys have different identifiers. */
static void test_key_id_differs(void **state)
{
    unsigned char a[20], b[20];
    (void)state;

    assert_int_equal(keyid_compute(p256, a), CSIGN_OK);
    assert_int_equal(keyid_compute(p256_other, b), CSIGN_OK);
    assert_memory_not_equal(a, b, 20);
}

/* ---- x509gen_csr -------------------------------------------------------- */

static void check_csr(X509_REQ *req, EVP_PKEY *key, int md_nid, const X509_NAME *subject,
                      const char *email)
{
    STACK_OF(X509_EXTENSION) * exts;
    int crit = -1;

    assert_non_null(req);
    assert_int_equal(X509_REQ_verify(req, key), 1);
    assert_int_equal(X509_REQ_get_version(req), 0);
    assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req), subject), 0);
    assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key), 1);
    assert_int_equal(md_of_sig(X509_REQ_get_signature_nid(req)), md_nid);

    exts = X509_REQ_get_extensions(req);
    assert_non_null(exts);
    assert_int_equal(sk_X509_EXTENSION_num(exts), email ? 3 : 2);
    check_key_usage(exts);
    check_eku(exts);
    assert_int_equal(X509v3_get_ext_by_NID(exts, NID_basic_constraints, -1), -1);
    assert_int_equal(X509v3_get_ext_by_NID(exts, NID_subject_key_identifier, -1), -1);

    GENERAL_NAMES *san = find_ext(exts, NID_subject_alt_name, &crit);
    if (email == NULL) {
        assert_null(san);
    } else {
        assert_non_null(san);
        assert_int_equal(crit, 0);
        assert_int_equal(sk_GENERAL_NAME_num(san), 1);
        int type = -1;
        const ASN1_IA5STRING *v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(san, 0), &type);
        assert_int_equal(type, GEN_EMAIL);
        assert_int_equal(ASN1_STRING_length(v), strlen(email));
        assert_memory_equal(ASN1_STRING_get0_data(v), email, strlen(email));
        GENERAL_NAMES_free(san);
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static void test_csr(void **state)
{
    static const char *const emails[] = {NULL, "release@example.com", "a@b",
                                         "first.last+tag@sub.example.co.uk"};
    (void)state;

    for (size_t i = 0; i < N_KEYS; i++) {
        for (size_t e = 0; e < sizeof(emails) / sizeof(emails[0]); e++) {
            EVP_PKEY *key = *keys[i].key;
            X509_NAME *subject = subject_name();
            X509_REQ *req = NULL, *back = NULL;
            unsigned char *der = NULL;
            const unsigned char *p;
            int len;

            err_clear();
            if (x509gen_csr(key, key, subject, emails[e], &req) != CSIGN_OK)
                print_error("%s %s: %s\n", keys[i].name, emails[e] ? emails[e] : "-", err_msg());
            assert_non_null(req);
            check_csr(req, key, keys[i].md_nid, subject, emails[e]);

            /* The DER reads back the same. */
            len = i2d_X509_REQ(req, &der);
            assert_true(len > 0);
            p = der;
            back = d2i_X509_REQ(NULL, &p, len);
            assert_non_null(back);
            assert_ptr_equal(p, der + len);
            check_csr(back, key, keys[i].md_nid, subject, emails[e]);

            X509_REQ_free(back);
            OPENSSL_free(der);
            X509_REQ_free(req);
            X509_NAME_free(subject);
        }
    }
}

static void test_csr_bad_email(void **state)
{
    static const char *const bad[] = {
        "",
        "a",
        "@b",
        "a@",
        "a b@c",
        "a@b@c",
        "a@b c",
        " a@b",
        "a@b ",
        "a\t@b",
        "a@b\n",
        "@",
        "a@b\x7f",
        "J\xc3\xbcrgen@example.com",
        "a@\xc3\xa9.de",
        "a@b\xff",
    };
    X509_NAME *subject = subject_name();
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        X509_REQ *req = NULL;
        csign_rc rc;

        err_clear();
        rc = x509gen_csr(p256, p256, subject, bad[i], &req);
        if (rc != CSIGN_EUSAGE)
            print_error("case %zu: rc %d\n", i, rc);
        assert_int_equal(rc, CSIGN_EUSAGE);
        assert_null(req);
        assert_contains(err_msg(), "e-mail address");
    }
    X509_NAME_free(subject);
}

/* A token that signs with another key (or returns garbage) is caught. */
static void test_csr_wrong_signer(void **state)
{
    struct {
        EVP_PKEY **signer, **pub;
    } cases[] = {
        {&p256_other, &p256}, {&p384, &p256}, {&rsa2048, &p256},
        {&p256, &rsa2048},    {&p256, &p384}, {&p521, &p521},
    };
    X509_NAME *subject = subject_name();
    (void)state;

    /* The last case is the control: same key, must work. */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_REQ *req = NULL;
        bool same = *cases[i].signer == *cases[i].pub;
        csign_rc rc;

        err_clear();
        ERR_clear_error();
        rc = x509gen_csr(*cases[i].signer, *cases[i].pub, subject, "a@b.c", &req);
        if (same) {
            assert_int_equal(rc, CSIGN_OK);
            assert_non_null(req);
            X509_REQ_free(req);
            continue;
        }
        if (rc != CSIGN_EINPUT)
            print_error("case %zu: rc %d '%s'\n", i, rc, err_msg());
        assert_int_equal(rc, CSIGN_EINPUT);
        assert_null(req);
        assert_contains(err_msg(), "does not verify");
        assert_int_equal(ERR_peek_error(), 0); /* err_set_ssl() took the queue */
    }
    X509_NAME_free(subject);
}

/* ---- x509gen_selfsigned ------------------------------------------------- */

static void check_cert(X509 *x, EVP_PKEY *key, int md_nid, const X509_NAME *subject, int days)
{
    const STACK_OF(X509_EXTENSION) *exts = X509_get0_extensions(x);
    unsigned char id[20];
    int crit = -1, pday = -1, psec = -1;

    assert_non_null(x);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(X509_verify(x, key), 1);
    assert_int_equal(X509_self_signed(x, 1), 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
    assert_int_equal(md_of_sig(X509_get_signature_nid(x)), md_nid);

    /* Serial: positive, 16 bytes, no padding byte in DER. */
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
    assert_int_equal(ASN1_STRING_length(sn), 16);
    assert_int_not_equal(ASN1_STRING_get0_data(sn)[0], 0);
    assert_int_equal(ASN1_STRING_get0_data(sn)[0] & 0x80, 0);
    assert_int_equal(i2d_ASN1_INTEGER(sn, NULL), 2 + 16);

    /* Names. */
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), subject), 0);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), subject), 0);

    /* Validity: from now, for exactly days (one clock reading). */
    assert_int_equal(ASN1_TIME_diff(&pday, &psec, X509_get0_notBefore(x), X509_get0_notAfter(x)),
                     1);
    assert_int_equal(pday, days);
    assert_int_equal(psec, 0);
    assert_int_equal(ASN1_TIME_diff(&pday, &psec, NULL, X509_get0_notBefore(x)), 1);
    assert_int_equal(pday, 0);
    assert_in_range(psec + 60, 0, 60); /* not in the future, at most a minute old */
    assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)), V_ASN1_UTCTIME);

    /* Extensions: exactly these five. */
    assert_int_equal(X509_get_ext_count(x), 5);
    check_key_usage(exts);
    check_eku(exts);
    BASIC_CONSTRAINTS *bc = find_ext(exts, NID_basic_constraints, &crit);
    require_non_null(bc);
    assert_int_equal(crit, 1);
    assert_int_equal(bc->ca, 0);
    assert_null(bc->pathlen);
    BASIC_CONSTRAINTS_free(bc);
    assert_int_equal(X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1), -1);

    assert_int_equal(keyid_compute(key, id), CSIGN_OK);
    ASN1_OCTET_STRING *ski = find_ext(exts, NID_subject_key_identifier, &crit);
    assert_non_null(ski);
    assert_int_equal(crit, 0);
    assert_int_equal(ASN1_STRING_length(ski), 20);
    assert_memory_equal(ASN1_STRING_get0_data(ski), id, 20);
    ASN1_OCTET_STRING_free(ski);
    AUTHORITY_KEYID *aki = find_ext(exts, NID_authority_key_identifier, &crit);
    require_non_null(aki);
    assert_int_equal(crit, 0);
    assert_non_null(aki->keyid);
    assert_int_equal(ASN1_STRING_length(aki->keyid), 20);
    assert_memory_equal(ASN1_STRING_get0_data(aki->keyid), id, 20);
    assert_null(aki->issuer);
    assert_null(aki->serial);
    AUTHORITY_KEYID_free(aki);

    /* How OpenSSL's verifier reads them. */
    uint32_t flags = X509_get_extension_flags(x);
    assert_int_equal(flags & (EXFLAG_INVALID | EXFLAG_CRITICAL | EXFLAG_CA | EXFLAG_V1), 0);
    assert_int_equal(flags & (EXFLAG_KUSAGE | EXFLAG_XKUSAGE | EXFLAG_BCONS | EXFLAG_SS),
                     EXFLAG_KUSAGE | EXFLAG_XKUSAGE | EXFLAG_BCONS | EXFLAG_SS);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_CODE_SIGN);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(
        ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(x), X509_get0_authority_key_id(x)), 0);
}

static void test_selfsigned(void **state)
{
    static const int days[] = {1, 365, 3650};
    (void)state;

    for (size_t i = 0; i < N_KEYS; i++) {
        for (size_t d = 0; d < sizeof(days) / sizeof(days[0]); d++) {
            EVP_PKEY *key = *keys[i].key;
            X509_NAME *subject = subject_name();
            X509 *x = NULL, *back = NULL;
            unsigned char *der = NULL;
            const unsigned char *p;
            int len;

            err_clear();
            if (x509gen_selfsigned(key, key, subject, days[d], &x) != CSIGN_OK)
                print_error("%s %d days: %s\n", keys[i].name, days[d], err_msg());
            assert_non_null(x);
            check_cert(x, key, keys[i].md_nid, subject, days[d]);

            len = i2d_X509(x, &der);
            assert_true(len > 0);
            p = der;
            back = d2i_X509(NULL, &p, len);
            assert_non_null(back);
            assert_ptr_equal(p, der + len);
            check_cert(back, key, keys[i].md_nid, subject, days[d]);
            assert_int_equal(X509_cmp(x, back), 0);

            X509_free(back);
            OPENSSL_free(der);
            X509_free(x);
            X509_NAME_free(subject);
        }
    }
}

/* The brief's named case: P-384 certificates are signed with SHA-384. */
static void test_selfsigned_p384_sha384(void **state)
{
    X509_NAME *subject = subject_name();
    X509 *x = NULL;
    int md = NID_undef, pk = NID_undef, bits = 0;
    uint32_t flags = 0;
    (void)state;

    assert_int_equal(x509gen_selfsigned(p384, p384, subject, 10, &x), CSIGN_OK);
    assert_int_equal(X509_get_signature_info(x, &md, &pk, &bits, &flags), 1);
    assert_int_equal(md, NID_sha384);
    assert_int_equal(pk, NID_X9_62_id_ecPublicKey);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
    X509_free(x);
    X509_NAME_free(subject);
}

/* Far validity ends in GeneralizedTime (RFC 5280: from 2050 on). */
static void test_selfsigned_long_validity(void **state)
{
    X509_NAME *subject = subject_name();
    X509 *x = NULL;
    int pday = -1, psec = -1;
    (void)state;

    assert_int_equal(x509gen_selfsigned(p256, p256, subject, 36500, &x), CSIGN_OK);
    assert_int_equal(ASN1_TIME_diff(&pday, &psec, X509_get0_notBefore(x), X509_get0_notAfter(x)),
                     1);
    assert_int_equal(pday, 36500);
    assert_in_range(psec, 0, 1);
    assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_GENERALIZEDTIME);
    X509_free(x);
    X509_NAME_free(subject);
}

/* Random serials: no two alike. */
static void test_selfsigned_serials_differ(void **state)
{
    enum { N = 8 };
    X509 *certs[N] = {NULL};
    X509_NAME *subject = subject_name();
    (void)state;

    for (int i = 0; i < N; i++)
        assert_int_equal(x509gen_selfsigned(p256, p256, subject, 1, &certs[i]), CSIGN_OK);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(certs[i]),
                                                  X509_get0_serialNumber(certs[j])),
                                 0);
    for (int i = 0; i < N; i++)
        X509_free(certs[i]);
    X509_NAME_free(subject);
}

static void test_selfsigned_wrong_signer(void **state)
{
    struct {
        EVP_PKEY **signer, **pub;
    } cases[] = {
        {&p256_other, &p256}, {&p384, &p256}, {&rsa2048, &p256}, {&p256, &rsa2048}, {&p521, &p384},
    };
    X509_NAME *subject = subject_name();
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509 *x = NULL;
        csign_rc rc;

        err_clear();
        ERR_clear_error();
        rc = x509gen_selfsigned(*cases[i].signer, *cases[i].pub, subject, 30, &x);
        if (rc != CSIGN_EINPUT)
            print_error("case %zu: rc %d '%s'\n", i, rc, err_msg());
        assert_int_equal(rc, CSIGN_EINPUT);
        assert_null(x);
        assert_contains(err_msg(), "does not verify");
        assert_int_equal(ERR_peek_error(), 0);
    }
    X509_NAME_free(subject);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_digest, reset),
        cmocka_unit_test_setup(test_key_id, reset),
        cmocka_unit_test_setup(test_key_id_differs, reset),
        cmocka_unit_test_setup(test_csr, reset),
        cmocka_unit_test_setup(test_csr_bad_email, reset),
        cmocka_unit_test_setup(test_csr_wrong_signer, reset),
        cmocka_unit_test_setup(test_selfsigned, reset),
        cmocka_unit_test_setup(test_selfsigned_p384_sha384, reset),
        cmocka_unit_test_setup(test_selfsigned_long_validity, reset),
        cmocka_unit_test_setup(test_selfsigned_serials_differ, reset),
        cmocka_unit_test_setup(test_selfsigned_wrong_signer, reset),
    };

    return cmocka_run_group_tests_name("x509gen", tests, make_keys, free_keys);
}
