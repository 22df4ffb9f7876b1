/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification core with software keys and certificates made here:
 * what the command line cannot reach (a CRL signed by a CA key that is too
 * small, which no chain at security level 2 would let through anyway; a
 * signature whose signingCertificateV2 lists the signer's chain, which
 * neither csign nor openssl cms writes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <string.h>

#include "sys/err.h"
#include "core/revoke.h"
#include "core/verify.h"
#include "testutil.h"

static EVP_PKEY *rsa_key(unsigned int bits)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    assert_non_null(k);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for key named cn, issued by issuer (NULL: self-signed,
 * a CA that may sign CRLs) with issuer_key and SHA-256. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    assert_non_null(x);
    assert_non_null(name);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    /* Key identifiers: OpenSSL's strict checks ask for them. */
    add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    if (issuer == NULL) {
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
        add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
        add_ext(x, issuer, NID_ext_key_usage, "codeSigning");
    }
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    return x;
}

/* A complete CRL from ca, listing nothing, signed with md. */
static X509_CRL *make_crl(X509 *ca, EVP_PKEY *key, const EVP_MD *md)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *now = X509_gmtime_adj(NULL, 0);

    assert_non_null(crl);
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
    X509_CRL_set1_lastUpdate(crl, now);
    assert_true(X509_CRL_sign(crl, key, md) > 0);
    ASN1_TIME_free(now);
    return crl;
}

/* revoke_check() over [leaf, CA with a key of bits] and that CA's CRL
 * signed with md, with --require-crl. */
static csign_rc check(unsigned int bits, const EVP_MD *md, const char **status)
{
    EVP_PKEY *ca_key = rsa_key(bits), *leaf_key = rsa_key(2048);
    X509 *ca = make_cert("CA", ca_key, NULL, ca_key, 1);
    X509 *leaf = make_cert("leaf", leaf_key, ca, ca_key, 2);
    STACK_OF(X509) *chain = sk_X509_new_null();
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();

    assert_true(sk_X509_push(chain, leaf) && sk_X509_push(chain, ca));
    assert_true(sk_X509_CRL_push(crls, make_crl(ca, ca_key, md)));
    csign_rc rc = revoke_check(chain, crls, 0, true, status);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    return rc;
}

static void test_crl_from_strong_key_is_used(void **state)
{
    const char *status = NULL;
    (void)state;
    assert_int_equal(check(2048, EVP_sha256(), &status), CSIGN_OK);
    assert_string_equal(status, "good");
}

/* RSA-1024 is 80 bits of strength, under level 2's 112. */
static void test_crl_from_small_key_is_not_used(void **state)
{
    const char *status = NULL;
    (void)state;
    assert_int_equal(check(1024, EVP_sha256(), &status), CSIGN_ENO);
    assert_contains(err_msg(), "no CRL from 'CN=CA' (--require-crl) is signed strongly enough");
}

static void test_crl_signed_with_sha1_is_not_used(void **state)
{
    const char *status = NULL;
    (void)state;
    assert_int_equal(check(2048, EVP_sha1(), &status), CSIGN_ENO);
    assert_contains(err_msg(), "signed strongly enough");
}

/* SHA-224 is 112 bits: level 2 takes it, and so does csign. */
static void test_crl_signed_with_sha224_is_used(void **state)
{
    const char *status = NULL;
    (void)state;
    assert_int_equal(check(2048, EVP_sha224(), &status), CSIGN_OK);
    assert_string_equal(status, "good");
}

static const unsigned char content[] = "content to sign\n";

/* A detached signature by leaf over content, carrying ca, whose
 * signingCertificateV2 names first, then rest. */
static void sign_with_ess(X509 *leaf, EVP_PKEY *key, X509 *ca, X509 *first, X509 *rest,
                          unsigned char **der, size_t *len)
{
    unsigned int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
    CMS_SignerInfo *si = CMS_add1_signer(cms, leaf, key, EVP_sha256(), flags);
    STACK_OF(X509) *after = sk_X509_new_null();
    unsigned char *ess = NULL;
    BIO *in = BIO_new_mem_buf(content, sizeof(content) - 1);

    assert_non_null(si);
    assert_true(CMS_add1_cert(cms, ca));
    assert_true(sk_X509_push(after, rest));
    ESS_SIGNING_CERT_V2 *sc = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), first, after, 0);
    int esslen = i2d_ESS_SIGNING_CERT_V2(sc, &ess);
    assert_true(esslen > 0);
    assert_true(CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2,
                                            V_ASN1_SEQUENCE, ess, esslen));
    assert_int_equal(CMS_final(cms, in, NULL, flags & ~CMS_PARTIAL), 1);
    *der = NULL;
    int n = i2d_CMS_ContentInfo(cms, der);
    assert_true(n > 0);
    *len = (size_t)n;
    OPENSSL_free(ess);
    ESS_SIGNING_CERT_V2_free(sc);
    sk_X509_free(after);
    BIO_free(in);
    CMS_ContentInfo_free(cms);
}

/* RFC 5035: after the signer, signingCertificateV2 may list its chain. The
 * first id must still name the signer. */
static void test_signing_certificate_listing_the_chain(void **state)
{
    EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *ca = make_cert("CA", ca_key, NULL, ca_key, 1);
    X509 *leaf = make_cert("leaf", key, ca, ca_key, 2);
    X509_STORE *trust = X509_STORE_new();
    verify_policy p = {.trust = trust, .at = time(NULL), .min_rsa_bits = 2048};
    verify_result r;
    unsigned char *der = NULL;
    size_t len = 0;
    (void)state;

    assert_true(X509_STORE_add_cert(trust, ca));
    sign_with_ess(leaf, key, ca, leaf, ca, &der, &len);
    assert_int_equal(verify_detached_data(&p, der, len, content, sizeof(content) - 1, &r),
                     CSIGN_OK);
    verify_result_clear(&r);
    OPENSSL_free(der);

    sign_with_ess(leaf, key, ca, ca, leaf, &der, &len);
    assert_int_equal(verify_detached_data(&p, der, len, content, sizeof(content) - 1, &r),
                     CSIGN_ENO);
    assert_contains(err_msg(), "signingCertificateV2 does not match the signer certificate");
    verify_result_clear(&r);
    OPENSSL_free(der);

    X509_STORE_free(trust);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crl_from_strong_key_is_used),
        cmocka_unit_test(test_crl_from_small_key_is_not_used),
        cmocka_unit_test(test_crl_signed_with_sha1_is_not_used),
        cmocka_unit_test(test_crl_signed_with_sha224_is_used),
        cmocka_unit_test(test_signing_certificate_listing_the_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
