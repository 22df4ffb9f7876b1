/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verification core with software keys and certificates made here:
 * what the command line cannot reach (a CRL signed by a CA key that is too
 * small, which no chain at security level 2 would let through anyway).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <string.h>

#include "csign/err.h"
#include "csign/revoke.h"
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
    if (issuer == NULL) {
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crl_from_strong_key_is_used),
        cmocka_unit_test(test_crl_from_small_key_is_not_used),
        cmocka_unit_test(test_crl_signed_with_sha1_is_not_used),
        cmocka_unit_test(test_crl_signed_with_sha224_is_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
