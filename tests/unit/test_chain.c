/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cert_chain_from(): the chain a signature carries, built from whatever
 * certificates a token holds, with software keys and certificates made
 * here (cross-signed loops, twins, expired CAs, long chains).
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
#include <stdio.h>
#include <time.h>

#include "core/cert.h"
#include "sys/err.h"
#include "testutil.h"

static EVP_PKEY *ec_key(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    return k;
}

static void add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, NULL, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

enum { LEAF, CA, NOT_CA };

/* A certificate named cn for key, issued in the name issuer_cn (NULL:
 * cn) with issuer_key, valid from `from` hours to `to` hours from now. */
static X509 *cert(const char *cn, EVP_PKEY *key, const char *issuer_cn, EVP_PKEY *issuer_key,
                  int kind, long from, long to)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *subj = X509_NAME_new(), *iss = X509_NAME_new();

    assert_non_null(x);
    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC,
                               (const unsigned char *)(issuer_cn ? issuer_cn : cn), -1, -1, 0);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_set_subject_name(x, subj);
    X509_set_issuer_name(x, iss);
    X509_gmtime_adj(X509_getm_notBefore(x), from * 3600);
    X509_gmtime_adj(X509_getm_notAfter(x), to * 3600);
    X509_set_pubkey(x, key);
    if (kind == CA)
        add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    else
        add_ext(x, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, NID_key_usage, kind == LEAF ? "critical,digitalSignature" : "critical,keyCertSign");
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    X509_NAME_free(subj);
    X509_NAME_free(iss);
    return x;
}

static STACK_OF(X509) * pool_of(X509 **certs, int n)
{
    STACK_OF(X509) *pool = sk_X509_new_null();
    assert_non_null(pool);
    for (int i = 0; i < n; i++) {
        assert_int_equal(X509_up_ref(certs[i]), 1);
        assert_true(sk_X509_push(pool, certs[i]) > 0);
    }
    return pool;
}

/* The chain built for leaf from certs, checked against want. */
static void expect_chain(X509 *leaf, X509 **certs, int n, X509 **want, int nwant)
{
    STACK_OF(X509) *pool = pool_of(certs, n), *chain = NULL;

    assert_int_equal(cert_chain_from(leaf, pool, time(NULL), &chain), CSIGN_OK);
    assert_non_null(chain);
    assert_int_equal(sk_X509_num(chain), nwant);
    for (int i = 0; i < nwant; i++)
        assert_int_equal(X509_cmp(sk_X509_value(chain, i), want[i]), 0);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(pool, X509_free);
}

static void free_all(X509 **c, int n)
{
    for (int i = 0; i < n; i++)
        X509_free(c[i]);
}

/* Only the CAs that issued the leaf, nearest first, the root last; a CA
 * with the intermediate's name but another key, an unrelated CA and a
 * second copy of the intermediate change nothing. */
static void picks_issuers_by_name_and_signature(void **state)
{
    (void)state;
    EVP_PKEY *kr = ec_key(), *ki = ec_key(), *kt = ec_key(), *ko = ec_key(), *kl = ec_key();
    X509 *root = cert("Root", kr, NULL, kr, CA, -1, 1);
    X509 *inter = cert("Inter", ki, "Root", kr, CA, -1, 1);
    X509 *inter2 = X509_dup(inter);
    X509 *twin = cert("Inter", kt, "Root", kr, CA, -1, 1);
    X509 *other = cert("Other", ko, NULL, ko, CA, -1, 1);
    X509 *leaf = cert("Leaf", kl, "Inter", ki, LEAF, -1, 1);
    X509 *all[] = {other, twin, leaf, root, inter, inter2};
    X509 *want[] = {inter, root};

    expect_chain(leaf, all, 6, want, 2);
    /* Without the root on the token the chain ends at the intermediate. */
    X509 *some[] = {twin, inter, other};
    expect_chain(leaf, some, 3, want, 1);
    free_all(all, 6);
    X509_free(leaf);
    EVP_PKEY *keys[] = {kr, ki, kt, ko, kl};
    for (int i = 0; i < 5; i++)
        EVP_PKEY_free(keys[i]);
}

/* A certificate that is not a CA by basicConstraints is no issuer, even
 * with the right name and key. */
static void needs_ca_basic_constraints(void **state)
{
    (void)state;
    EVP_PKEY *ki = ec_key(), *kl = ec_key();
    X509 *inter = cert("Inter", ki, NULL, ki, NOT_CA, -1, 1);
    X509 *leaf = cert("Leaf", kl, "Inter", ki, LEAF, -1, 1);

    expect_chain(leaf, &inter, 1, NULL, 0);
    X509_free(inter);
    X509_free(leaf);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
}

/* Two CAs that certify each other: the walk ends, each taken once. */
static void cross_signed_loop_ends(void **state)
{
    (void)state;
    EVP_PKEY *ka = ec_key(), *kb = ec_key(), *kl = ec_key();
    X509 *a = cert("A", ka, "B", kb, CA, -1, 1);
    X509 *b = cert("B", kb, "A", ka, CA, -1, 1);
    X509 *leaf = cert("Leaf", kl, "A", ka, LEAF, -1, 1);
    X509 *all[] = {b, a};
    X509 *want[] = {a, b};

    expect_chain(leaf, all, 2, want, 2);
    free_all(all, 2);
    X509_free(leaf);
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    EVP_PKEY_free(kl);
}

/* Of an expired CA and its renewal (one name, one key) the valid one is
 * taken, wherever it stands; with only the expired one, that one. */
static void prefers_a_valid_issuer(void **state)
{
    (void)state;
    EVP_PKEY *ki = ec_key(), *kl = ec_key();
    X509 *old = cert("Inter", ki, NULL, ki, CA, -48, -24);
    X509 *renewed = cert("Inter", ki, NULL, ki, CA, -1, 1);
    X509 *leaf = cert("Leaf", kl, "Inter", ki, LEAF, -1, 1);
    X509 *both[] = {old, renewed};

    expect_chain(leaf, both, 2, &renewed, 1);
    expect_chain(leaf, &old, 1, &old, 1);
    free_all(both, 2);
    X509_free(leaf);
    EVP_PKEY_free(ki);
    EVP_PKEY_free(kl);
}

/* A chain longer than CERT_CHAIN_MAX is cut there; a self-signed leaf has
 * no chain. */
static void bounded_and_self_signed(void **state)
{
    (void)state;
    enum { N = CERT_CHAIN_MAX + 3 };
    EVP_PKEY *k[N + 1];
    X509 *ca[N];
    char name[N][8];

    for (int i = 0; i <= N; i++)
        k[i] = ec_key();
    for (int i = 0; i < N; i++)
        snprintf(name[i], sizeof(name[i]), "CA%d", i);
    for (int i = 0; i < N; i++)
        ca[i] = cert(name[i], k[i], i + 1 < N ? name[i + 1] : NULL, k[i + 1 < N ? i + 1 : i], CA,
                     -1, 1);
    X509 *leaf = cert("Leaf", k[N], "CA0", k[0], LEAF, -1, 1);
    expect_chain(leaf, ca, N, ca, CERT_CHAIN_MAX);
    X509 *self = cert("Self", k[N], NULL, k[N], LEAF, -1, 1);
    expect_chain(self, ca, N, NULL, 0);
    free_all(ca, N);
    X509_free(leaf);
    X509_free(self);
    for (int i = 0; i <= N; i++)
        EVP_PKEY_free(k[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(picks_issuers_by_name_and_signature),
        cmocka_unit_test(needs_ca_basic_constraints),
        cmocka_unit_test(cross_signed_loop_ends),
        cmocka_unit_test(prefers_a_valid_issuer),
        cmocka_unit_test(bounded_and_self_signed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
