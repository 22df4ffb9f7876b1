/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/err.h"
#include "core/x509gen.h"
#include "testutil.h"

static int reset(void **state)
{
    (void)state;
    err_clear();
    ERR_clear_error();
    return 0;
}

/* The name as RFC 2253 text (most specific RDN first), malloc'd. */
static char *rfc2253(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *text;
    long len;

    assert_non_null(bio);
    assert_true(X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0);
    len = BIO_get_mem_data(bio, &data);
    assert_true(len >= 0);
    text = malloc((size_t)len + 1);
    assert_non_null(text);
    if (len > 0)
        memcpy(text, data, (size_t)len);
    text[len] = '\0';
    BIO_free(bio);
    return text;
}

/* Entry i of name: its attribute type (NID), its value and its RDN set. */
static void check_entry(const X509_NAME *name, int i, int nid, const char *value, int set)
{
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    const ASN1_STRING *v;

    assert_non_null(e);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), nid);
    v = X509_NAME_ENTRY_get_data(e);
    assert_non_null(v);
    assert_int_equal(ASN1_STRING_length(v), strlen(value));
    assert_memory_equal(ASN1_STRING_get0_data(v), value, strlen(value));
    assert_int_equal(X509_NAME_ENTRY_set(e), set);
}

/* ---- good names, checked through OpenSSL's RFC 2253 printer ------------- */

static void test_good_table(void **state)
{
    static const struct {
        const char *in;
        const char *rfc2253; /* expected printout */
        int entries;
    } cases[] = {
        {"CN=Example Release Signing,O=Example Ltd,C=DE",
         "CN=Example Release Signing,O=Example Ltd,C=DE", 3},
        {"CN=x", "CN=x", 1},
        {"O=Example\\, Ltd", "O=Example\\, Ltd", 1},
        {"O=Example\\2C Ltd", "O=Example\\, Ltd", 1},
        {"O=Example\\2c Ltd", "O=Example\\, Ltd", 1},
        {"CN=a, O=b", "CN=a,O=b", 2},
        {"CN=a ,O=b", "CN=a,O=b", 2},
        {"CN = a , O = b", "CN=a,O=b", 2},
        {"CN=a;O=b", "CN=a,O=b", 2},
        {"CN=a\\+b", "CN=a\\+b", 1},
        {"CN=a\\;b", "CN=a\\;b", 1},
        {"CN=a\\=b", "CN=a=b", 1},
        {"CN=a\\\\b", "CN=a\\\\b", 1},
        {"CN=a\\\"b", "CN=a\\\"b", 1},
        {"CN=\\#x", "CN=\\#x", 1},
        {"CN=\\ a", "CN=\\ a", 1},
        {"CN=a\\ ", "CN=a\\ ", 1},
        {"CN=a\\20", "CN=a\\ ", 1},
        {"CN=a  ", "CN=a", 1},
        {"CN=a b", "CN=a b", 1},
        {"2.5.4.3=x", "CN=x", 1},
        {"2.5.4.10=Example,2.5.4.6=DE", "O=Example,C=DE", 2},
        {"STREET=Main 1", "street=Main 1", 1},
        {"cn=x,o=Example,c=DE", "CN=x,O=Example,C=DE", 3},
        {"1.2.3.4.5.6.7.8.9=x", "1.2.3.4.5.6.7.8.9=#0C0178", 1}, /* unknown types print as DER */
        {"street=Main 1", "street=Main 1", 1},
        {"E=a@b.c", "emailAddress=a@b.c", 1},
        {"EMAIL=a@b.c", "emailAddress=a@b.c", 1},
        {"emailAddress=a@b.c", "emailAddress=a@b.c", 1},
        {"SERIALNUMBER=1234", "serialNumber=1234", 1},
        {"serialNumber=1234", "serialNumber=1234", 1},
        {"CN=Release,OU=Build,O=Example,L=Berlin,ST=Berlin,C=DE",
         "CN=Release,OU=Build,O=Example,L=Berlin,ST=Berlin,C=DE", 6},
        {"DC=example,DC=com", "DC=example,DC=com", 2},
        {"UID=jdoe,O=x", "UID=jdoe,O=x", 2},
        {"CN=J\\C3\\BCrgen", "CN=J\\C3\\BCrgen", 1},
        /* OpenSSL prints a multi-valued RDN's members in reverse too; the
         * encoding itself is checked in test_multi_valued. */
        {"CN=a+OU=b,O=c", "OU=b+CN=a,O=c", 3},
        /* OpenSSL's form: encoding order, printed most specific first. */
        {"/C=DE/O=Example Ltd/CN=Release", "CN=Release,O=Example Ltd,C=DE", 3},
        {"/CN=a\\/b", "CN=a/b", 1},
        {"/CN=a,b", "CN=a\\,b", 1},
        {"/CN=x/", "CN=x", 1},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *name = NULL;
        csign_rc rc;

        err_clear();
        rc = dn_parse(cases[i].in, &name);
        if (rc != CSIGN_OK)
            print_error("case %zu '%s': rc %d '%s'\n", i, cases[i].in, rc, err_msg());
        assert_int_equal(rc, CSIGN_OK);
        assert_non_null(name);

        char *text = rfc2253(name);
        if (strcmp(text, cases[i].rfc2253) != 0)
            print_error("case %zu '%s'\n", i, cases[i].in);
        assert_string_equal(text, cases[i].rfc2253);
        assert_int_equal(X509_NAME_entry_count(name), cases[i].entries);
        free(text);
        X509_NAME_free(name);
    }
}

/* The value after resolving escapes, as bytes. */
static void test_escaped_values(void **state)
{
    static const struct {
        const char *in;
        int nid;
        const char *value;
    } cases[] = {
        {"O=Example\\, Ltd", NID_organizationName, "Example, Ltd"},
        {"O=Example\\2C Ltd", NID_organizationName, "Example, Ltd"},
        {"CN=a\\\\b", NID_commonName, "a\\b"},
        {"CN=a\\5cb", NID_commonName, "a\\b"},
        {"CN=  a  ", NID_commonName, "a"},
        {"CN=a\\ ", NID_commonName, "a "},
        {"CN=a \\ ", NID_commonName, "a  "},
        {"CN=\\ a", NID_commonName, " a"},
        {"CN=\\+", NID_commonName, "+"},
        {"/CN=a\\/b", NID_commonName, "a/b"},
        {"/CN=a b ", NID_commonName, "a b"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *name = NULL;

        assert_int_equal(dn_parse(cases[i].in, &name), CSIGN_OK);
        assert_int_equal(X509_NAME_entry_count(name), 1);
        check_entry(name, 0, cases[i].nid, cases[i].value, 0);
        X509_NAME_free(name);
    }
}

/* RFC 4514 writes the most specific RDN first; DER starts with the least. */
static void test_der_order(void **state)
{
    X509_NAME *name = NULL;
    (void)state;

    assert_int_equal(dn_parse("CN=x,O=y,C=DE", &name), CSIGN_OK);
    assert_int_equal(X509_NAME_entry_count(name), 3);
    check_entry(name, 0, NID_countryName, "DE", 0);
    check_entry(name, 1, NID_organizationName, "y", 1);
    check_entry(name, 2, NID_commonName, "x", 2);
    X509_NAME_free(name);

    /* OpenSSL's form is written in encoding order already. */
    name = NULL;
    assert_int_equal(dn_parse("/C=DE/O=Example Ltd/CN=Release", &name), CSIGN_OK);
    assert_int_equal(X509_NAME_entry_count(name), 3);
    check_entry(name, 0, NID_countryName, "DE", 0);
    check_entry(name, 1, NID_organizationName, "Example Ltd", 1);
    check_entry(name, 2, NID_commonName, "Release", 2);
    X509_NAME_free(name);

    /* Both forms of one name encode the same. */
    X509_NAME *a = NULL, *b = NULL;
    assert_int_equal(dn_parse("CN=Release,O=Example Ltd,C=DE", &a), CSIGN_OK);
    assert_int_equal(dn_parse("/C=DE/O=Example Ltd/CN=Release", &b), CSIGN_OK);
    assert_int_equal(X509_NAME_cmp(a, b), 0);
    X509_NAME_free(a);
    X509_NAME_free(b);
}

/* '+' joins attributes into one RDN (one SET in DER). */
static void test_multi_valued(void **state)
{
    X509_NAME *name = NULL;
    (void)state;

    assert_int_equal(dn_parse("CN=a+OU=b,O=c", &name), CSIGN_OK);
    assert_int_equal(X509_NAME_entry_count(name), 3);
    check_entry(name, 0, NID_organizationName, "c", 0);
    check_entry(name, 1, NID_commonName, "a", 1);
    check_entry(name, 2, NID_organizationalUnitName, "b", 1);
    X509_NAME_free(name);

    name = NULL;
    assert_int_equal(dn_parse("CN=x,CN=a+OU=b+L=d,C=DE", &name), CSIGN_OK);
    assert_int_equal(X509_NAME_entry_count(name), 5);
    check_entry(name, 0, NID_countryName, "DE", 0);
    check_entry(name, 1, NID_commonName, "a", 1);
    check_entry(name, 2, NID_organizationalUnitName, "b", 1);
    check_entry(name, 3, NID_localityName, "d", 1);
    check_entry(name, 4, NID_commonName, "x", 2);
    X509_NAME_free(name);

    name = NULL;
    assert_int_equal(dn_parse("/O=c/CN=a+OU=b", &name), CSIGN_OK);
    assert_int_equal(X509_NAME_entry_count(name), 3);
    check_entry(name, 0, NID_organizationName, "c", 0);
    check_entry(name, 1, NID_commonName, "a", 1);
    check_entry(name, 2, NID_organizationalUnitName, "b", 1);
    X509_NAME_free(name);
}

/* Types given as OIDs and aliases land on the right attribute. */
static void test_types(void **state)
{
    static const struct {
        const char *in;
        int nid;
        const char *value;
    } cases[] = {
        {"2.5.4.3=x", NID_commonName, "x"},
        {"STREET=Main 1", NID_streetAddress, "Main 1"},
        {"E=a@b.c", NID_pkcs9_emailAddress, "a@b.c"},
        {"emailAddress=a@b.c", NID_pkcs9_emailAddress, "a@b.c"},
        {"SERIALNUMBER=42", NID_serialNumber, "42"},
        {"C=DE", NID_countryName, "DE"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *name = NULL;

        assert_int_equal(dn_parse(cases[i].in, &name), CSIGN_OK);
        assert_int_equal(X509_NAME_entry_count(name), 1);
        check_entry(name, 0, cases[i].nid, cases[i].value, 0);
        X509_NAME_free(name);
    }
}

/* UTF-8 goes in as a UTF8String with the same bytes. */
static void test_utf8(void **state)
{
    static const char *const inputs[] = {"CN=J\xc3\xbcrgen", "CN=J\\c3\\bcrgen",
                                         "/CN=J\xc3\xbcrgen"};
    (void)state;

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        X509_NAME *name = NULL;
        const ASN1_STRING *v;

        assert_int_equal(dn_parse(inputs[i], &name), CSIGN_OK);
        assert_int_equal(X509_NAME_entry_count(name), 1);
        v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, 0));
        assert_int_equal(ASN1_STRING_type(v), V_ASN1_UTF8STRING);
        assert_int_equal(ASN1_STRING_length(v), 7);
        assert_memory_equal(ASN1_STRING_get0_data(v), "J\xc3\xbcrgen", 7);
        X509_NAME_free(name);
    }
}

/* ---- bad names ---------------------------------------------------------- */

static void test_bad_table(void **state)
{
    static const struct {
        const char *in;
        const char *msg; /* part of the reason */
    } cases[] = {
        {"", "empty"},
        {"/", "empty"},
        {"CN", "TYPE=VALUE"},
        {"=x", "TYPE=VALUE"},
        {" =x", "TYPE=VALUE"},
        {"CN=", "empty value for 'CN'"},
        {"CN=   ", "empty value for 'CN'"},
        {"CN=a,O=", "empty value for 'O'"},
        {"CN=a,,O=b", "TYPE=VALUE"},
        {"CN=a,", "TYPE=VALUE"},
        {",CN=a", "TYPE=VALUE"},
        {"CN=a+", "TYPE=VALUE"},
        {"CN=a+,O=b", "TYPE=VALUE"},
        {"CN=a,O", "TYPE=VALUE"},
        {"FOO=bar", "FOO"},
        {"CN=a,FOO=bar", "unknown attribute type 'FOO'"},
        {"CN=a\tb", "control character"},
        {"CN=a\nb", "control character"},
        {"/CN=a+", "expected TYPE=VALUE"},
        {"C=DEU", "'C'"},
        {"C=D", "'C'"},
        {"CN=#04023132", "hex"},
        {"CN=a\\", "bad escape"},
        {"CN=\\4", "bad escape"},
        {"CN=\\q", "bad escape"},
        {"CN=a\\00b", "NUL"},
        {"CN=a,O=b\\", "bad escape"},
        {"//CN=x", "TYPE=VALUE"},
        {"/CN", "TYPE=VALUE"},
        {"/CN=", "empty value"},
        {"/CN=a//O=b", "TYPE=VALUE"},
        {"/FOO=bar", "FOO"},
        {"/CN=a\\", "bad escape"},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=x",
         "TYPE=VALUE"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *name = NULL;
        csign_rc rc;

        err_clear();
        rc = dn_parse(cases[i].in, &name);
        if (rc != CSIGN_EUSAGE)
            print_error("case %zu '%s': rc %d\n", i, cases[i].in, rc);
        assert_int_equal(rc, CSIGN_EUSAGE);
        assert_null(name);
        assert_contains(err_msg(), "malformed DN");
        assert_contains(err_msg(), cases[i].msg);
    }
}

/* OpenSSL's upper bounds apply: a commonName has at most 64 characters. */
static void test_length_limit(void **state)
{
    char text[3 + 65 + 1] = "CN=";
    X509_NAME *name = NULL;
    (void)state;

    memset(text + 3, 'a', 64);
    text[3 + 64] = '\0';
    assert_int_equal(dn_parse(text, &name), CSIGN_OK);
    assert_int_equal(ASN1_STRING_length(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, 0))),
                     64);
    X509_NAME_free(name);

    name = NULL;
    text[3 + 64] = 'a';
    text[3 + 65] = '\0';
    assert_int_equal(dn_parse(text, &name), CSIGN_EUSAGE);
    assert_null(name);
    assert_contains(err_msg(), "bad value for 'CN'");
}

/* A failing parse leaves *out alone. */
static void test_bad_keeps_out(void **state)
{
    X509_NAME *name = (X509_NAME *)(uintptr_t)1;
    (void)state;

    assert_int_equal(dn_parse("FOO=bar", &name), CSIGN_EUSAGE);
    assert_ptr_equal(name, (X509_NAME *)(uintptr_t)1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_good_table, reset),
        cmocka_unit_test_setup(test_escaped_values, reset),
        cmocka_unit_test_setup(test_der_order, reset),
        cmocka_unit_test_setup(test_multi_valued, reset),
        cmocka_unit_test_setup(test_types, reset),
        cmocka_unit_test_setup(test_utf8, reset),
        cmocka_unit_test_setup(test_bad_table, reset),
        cmocka_unit_test_setup(test_length_limit, reset),
        cmocka_unit_test_setup(test_bad_keeps_out, reset),
    };

    return cmocka_run_group_tests_name("dn", tests, NULL, NULL);
}
