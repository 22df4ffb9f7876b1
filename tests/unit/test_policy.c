/* SPDX-License-Identifier: Apache-2.0 */
/* core/policy.c: each rule of cabf over facts made here (software keys,
 * certificates built in memory, fixed times), so that every boundary is
 * exact and nothing depends on today's date. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "sys/err.h"
#include "core/policy.h"
#include "testutil.h"

#define DAY ((time_t)86400)
/* 2026-03-01T00:00:00Z, from when certificates live at most 460 days. */
#define SHORT_FROM ((time_t)1772323200)
/* 2025-06-15T12:00:00Z. */
#define OLD ((time_t)1749988800)

static EVP_PKEY *p256, *p384, *p521, *rsa2048, *rsa3072, *ed25519, *k1;

static int make_keys(void **state)
{
    (void)state;
    p256 = EVP_EC_gen("P-256");
    p384 = EVP_EC_gen("P-384");
    p521 = EVP_EC_gen("P-521");
    k1 = EVP_EC_gen("secp256k1");
    rsa2048 = EVP_RSA_gen(2048);
    rsa3072 = EVP_RSA_gen(3072);
    ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return p256 && p384 && p521 && k1 && rsa2048 && rsa3072 && ed25519 ? 0 : -1;
}

static int free_keys(void **state)
{
    (void)state;
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(rsa3072);
    EVP_PKEY_free(ed25519);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    err_clear();
    ERR_clear_error();
    return 0;
}

/* A certificate for key, valid from nb to na, with extendedKeyUsage eku
 * (an openssl config value such as "codeSigning"; NULL: none), signed by
 * p256. */
static X509 *cert(EVP_PKEY *key, time_t nb, time_t na, const char *eku)
{
    X509 *x = X509_new();

    require_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), na));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    X509_NAME *n = X509_get_subject_name(x);
    assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                                (const unsigned char *)"Release", -1, -1, 0),
                     1);
    assert_int_equal(X509_set_issuer_name(x, n), 1);
    X509_EXTENSION *ext =
        X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, "critical,digitalSignature");
    require_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
    if (eku != NULL) {
        ext = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage, eku);
        require_non_null(ext);
        assert_int_equal(X509_add_ext(x, ext, -1), 1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(x, p256, EVP_sha256()) > 0);
    return x;
}

/* Facts that meet every rule, for sign: a P-256 key on hardware, a
 * 90-day code signing certificate judged in its middle, a TSA asked. */
static policy_facts good(X509 *c)
{
    return (policy_facts){
        .key = p256,
        .digest_nid = NID_sha256,
        .cert = c,
        .at = SHORT_FROM + 45 * DAY,
        .hardware = POLICY_HW_YES,
        .token = "hsm",
        .stamp = POLICY_STAMP_ASKED,
    };
}

static X509 *good_cert(void)
{
    return cert(p256, SHORT_FROM, SHORT_FROM + 90 * DAY, "codeSigning");
}

/* policy_check() fails with rc and the reason names rule; "" expects
 * CSIGN_OK. */
static void expect(const policy_facts *f, const char *rule)
{
    csign_rc rc = policy_check(POLICY_CABF, f);

    if (rule[0] == '\0') {
        if (rc != CSIGN_OK)
            print_error("unexpected: %s\n", err_msg());
        assert_int_equal(rc, CSIGN_OK);
        return;
    }
    assert_int_equal(rc, CSIGN_ENO);
    assert_contains(err_msg(), "policy cabf: 1 rule not met: ");
    assert_contains(err_msg(), rule);
}

static void test_parse(void **state)
{
    policy_id id = POLICY_NONE;

    (void)state;
    assert_int_equal(policy_parse("cabf", &id), CSIGN_OK);
    assert_int_equal(id, POLICY_CABF);
    assert_string_equal(policy_name(id), "cabf");
    assert_int_equal(policy_parse("none", &id), CSIGN_OK);
    assert_int_equal(id, POLICY_NONE);
    assert_string_equal(policy_name(id), "none");
    assert_int_equal(policy_parse("CABF", &id), CSIGN_EUSAGE);
    assert_contains(err_msg(), "unknown policy 'CABF': use cabf");
    assert_int_equal(policy_parse("", &id), CSIGN_EUSAGE);
}

static void test_all_met_sign_and_verify(void **state)
{
    X509 *c = good_cert();
    policy_facts f = good(c);

    (void)state;
    expect(&f, "");
    /* verify: the kind of token is not known, the timestamp checked. */
    f.hardware = POLICY_HW_UNKNOWN;
    f.stamp = POLICY_STAMP_VALID;
    expect(&f, "");
    X509_free(c);
}

static void test_none_checks_nothing(void **state)
{
    policy_facts f = {.key = rsa2048, .digest_nid = NID_sha1, .hardware = POLICY_HW_NO};

    (void)state;
    assert_int_equal(policy_check(POLICY_NONE, &f), CSIGN_OK);
}

static void test_keys(void **state)
{
    X509 *c = good_cert();
    policy_facts f = good(c);

    (void)state;
    /* The key rule reads f.key; the certificate's key is not its concern. */
    f.key = p384;
    expect(&f, "");
    f.key = p521;
    expect(&f, "");
    f.key = rsa3072;
    expect(&f, "");
    f.key = rsa2048;
    expect(&f, "[key] an RSA key of 2048 bits: needs RSA of 3072 bits or more, or ECDSA on "
               "P-256, P-384 or P-521 (BR 6.1.5.2)");
    f.key = ed25519;
    expect(&f, "[key] an ED25519 key: needs RSA of 3072");
    f.key = k1;
    expect(&f, "[key] an EC key on curve secp256k1: needs");
    f.key = NULL;
    expect(&f, "[key] the signer's key is not known");
    X509_free(c);
}

static void test_digests(void **state)
{
    X509 *c = good_cert();
    policy_facts f = good(c);

    (void)state;
    f.digest_nid = NID_sha384;
    expect(&f, "");
    f.digest_nid = NID_sha512;
    expect(&f, "");
    f.digest_nid = NID_sha1;
    expect(&f, "[digest] digest SHA1: needs SHA-256, SHA-384 or SHA-512 (BR 1.2.2, 7.1.3.2)");
    f.digest_nid = NID_md5;
    expect(&f, "[digest] digest MD5");
    f.digest_nid = NID_sha224;
    expect(&f, "[digest] digest SHA224");
    X509_free(c);
}

static void test_extended_key_usage(void **state)
{
    static const struct {
        const char *eku; /* NULL: no extension */
        const char *rule;
    } cases[] = {
        {"codeSigning", ""},
        {"critical,codeSigning", ""},
        {"codeSigning,emailProtection", ""},
        {"codeSigning,1.3.6.1.4.1.311.10.3.13", ""}, /* Lifetime Signing */
        {NULL, "[code-signing] the certificate lacks extendedKeyUsage codeSigning"},
        {"serverAuth", "[code-signing] the certificate lacks extendedKeyUsage codeSigning"},
        {"timeStamping", "[code-signing] the certificate lacks"},
        {"anyExtendedKeyUsage", "[code-signing] the certificate lacks"},
        {"codeSigning,serverAuth", "[code-signing] the certificate's extendedKeyUsage has "
                                   "serverAuth, which a code signing certificate must not have "
                                   "(BR 7.1.2.3 f)"},
        {"codeSigning,anyExtendedKeyUsage", "extendedKeyUsage has anyExtendedKeyUsage"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509 *c = cert(p256, SHORT_FROM, SHORT_FROM + 90 * DAY, cases[i].eku);
        policy_facts f = good(c);
        expect(&f, cases[i].rule);
        X509_free(c);
    }
}

static void test_validity_at(void **state)
{
    X509 *c = good_cert();
    policy_facts f = good(c);

    (void)state;
    f.at = SHORT_FROM + 1;
    expect(&f, "");
    f.at = SHORT_FROM + 90 * DAY - 1;
    expect(&f, "");
    f.at = SHORT_FROM - 1;
    expect(&f, "[validity] at 2026-02-28T23:59:59Z the certificate is not valid yet: it starts "
               "at 2026-03-01T00:00:00Z (BR 9.6.3)");
    f.at = SHORT_FROM + 90 * DAY + 1;
    expect(&f, "[validity] at 2026-05-30T00:00:01Z the certificate has expired: it ended at "
               "2026-05-30T00:00:00Z (BR 9.6.3)");
    X509_free(c);
}

/* BR 6.3.2: 460 days from 2026-03-01, 39 months before; the period counts
 * both of its ends (BR 1.6.1, "Validity Period"). */
static void test_lifetime_limits(void **state)
{
    (void)state;
    assert_int_equal(policy_latest_not_after(POLICY_CABF, SHORT_FROM), SHORT_FROM + 460 * DAY - 1);
    /* 2025-06-15T12:00:00Z + 39 months = 2028-09-15T12:00:00Z. */
    assert_int_equal(policy_latest_not_after(POLICY_CABF, OLD), (time_t)1852632000 - 1);
    assert_int_equal(policy_latest_not_after(POLICY_NONE, OLD), (time_t)-1);
    /* A month without the day: 2023-11-30 + 39 months ends on 2027-02-28,
     * 2022-08-31T06:00:00Z on 2025-11-30T06:00:00Z. */
    assert_int_equal(policy_latest_not_after(POLICY_CABF, 1701302400), (time_t)1803772800 - 1);
    assert_int_equal(policy_latest_not_after(POLICY_CABF, 1661925600), (time_t)1764482400 - 1);

    static const struct {
        time_t nb, na;
        const char *rule;
    } cases[] = {
        {SHORT_FROM, SHORT_FROM + 460 * DAY - 1, ""},
        {SHORT_FROM, SHORT_FROM + 460 * DAY,
         "[lifetime] the certificate is valid from 2026-03-01T00:00:00Z to 2027-06-04T00:00:00Z, "
         "longer than the 460 days allowed for one issued on or after 2026-03-01 (BR 6.3.2)"},
        {SHORT_FROM + 100 * DAY, SHORT_FROM + 560 * DAY, "460 days allowed"},
        /* Issued the second before: 39 months, far more than 460 days. */
        {SHORT_FROM - 1, SHORT_FROM + 700 * DAY, ""},
        {OLD, (time_t)1852632000 - 1, ""},
        {OLD, (time_t)1852632000,
         "[lifetime] the certificate is valid from 2025-06-15T12:00:00Z to 2028-09-15T12:00:00Z, "
         "longer than the 39 months allowed for one issued before 2026-03-01 (BR 6.3.2)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509 *c = cert(p256, cases[i].nb, cases[i].na, "codeSigning");
        policy_facts f = good(c);
        f.at = cases[i].nb + DAY;
        expect(&f, cases[i].rule);
        X509_free(c);
    }
}

static void test_hardware(void **state)
{
    X509 *c = good_cert();
    policy_facts f = good(c);

    (void)state;
    f.hardware = POLICY_HW_NO;
    f.token = "dev";
    expect(&f, "[hardware] token 'dev' is a software token (its slot lacks CKF_HW_SLOT): the key "
               "must be on a hardware crypto module, FIPS 140-2 level 2 or Common Criteria EAL "
               "4+ (BR 6.2.7.4.1)");
    f.hardware = POLICY_HW_UNKNOWN;
    expect(&f, "");
    X509_free(c);
}

static void test_timestamps(void **state)
{
    static const struct {
        policy_stamp s;
        const char *rule;
    } cases[] = {
        {POLICY_STAMP_ASKED, ""},
        {POLICY_STAMP_VALID, ""},
        {POLICY_STAMP_NOT_ASKED, "[timestamp] no TSA is given: add --tsa URL, or tsa = URL in "
                                 "the profile (BR 6.8)"},
        {POLICY_STAMP_OPTIONAL, "[timestamp] --tsa-optional would keep a signature without a "
                                "timestamp"},
        {POLICY_STAMP_ABSENT, "[timestamp] the signature has no timestamp (BR 6.8)"},
        {POLICY_STAMP_UNTRUSTED, "[timestamp] the timestamp is not checked: give --tsa-trust"},
    };
    X509 *c = good_cert();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        policy_facts f = good(c);
        f.stamp = cases[i].s;
        expect(&f, cases[i].rule);
    }
    X509_free(c);
}

static void test_every_failure_named(void **state)
{
    X509 *c = cert(rsa2048, SHORT_FROM, SHORT_FROM + 500 * DAY, "serverAuth");
    policy_facts f = {
        .key = rsa2048,
        .digest_nid = NID_sha1,
        .cert = c,
        .at = SHORT_FROM + 499 * DAY,
        .hardware = POLICY_HW_NO,
        .token = "soft",
        .stamp = POLICY_STAMP_NOT_ASKED,
    };

    (void)state;
    assert_int_equal(policy_check(POLICY_CABF, &f), CSIGN_ENO);
    assert_contains(err_msg(), "policy cabf: 6 rules not met: [key] ");
    assert_contains(err_msg(), "; [digest] ");
    assert_contains(err_msg(), "; [code-signing] ");
    assert_contains(err_msg(), "; [lifetime] ");
    assert_contains(err_msg(), "; [hardware] token 'soft'");
    assert_contains(err_msg(), "; [timestamp] ");
    assert_null(strchr(err_msg(), '\n'));
    f.cert = NULL;
    assert_int_equal(policy_check(POLICY_CABF, &f), CSIGN_ENO);
    assert_contains(err_msg(), "[code-signing] no signer certificate");
    X509_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_parse, reset),
        cmocka_unit_test_setup(test_all_met_sign_and_verify, reset),
        cmocka_unit_test_setup(test_none_checks_nothing, reset),
        cmocka_unit_test_setup(test_keys, reset),
        cmocka_unit_test_setup(test_digests, reset),
        cmocka_unit_test_setup(test_extended_key_usage, reset),
        cmocka_unit_test_setup(test_validity_at, reset),
        cmocka_unit_test_setup(test_lifetime_limits, reset),
        cmocka_unit_test_setup(test_hardware, reset),
        cmocka_unit_test_setup(test_timestamps, reset),
        cmocka_unit_test_setup(test_every_failure_named, reset),
    };
    return cmocka_run_group_tests(tests, make_keys, free_keys);
}
