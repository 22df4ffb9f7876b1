/* SPDX-License-Identifier: Apache-2.0 */
/* Signing policies (policy.h): the rules of "cabf" over plain facts. The
 * section numbers are those of the Code Signing Baseline Requirements,
 * version 3.10.0 (docs/policy.md). */
#define _GNU_SOURCE
#include "core/policy.h"

#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-03-01T00:00:00Z: certificates issued from then on live at most 460
 * days, older ones 39 months (BR 6.3.2, ballot CSC-31). */
#define CABF_SHORT_FROM ((time_t)1772323200)
#define CABF_SHORT_DAYS 460
#define CABF_LONG_MONTHS 39

csign_rc policy_parse(const char *name, policy_id *out)
{
    if (strcmp(name, "cabf") == 0)
        *out = POLICY_CABF;
    else if (strcmp(name, "none") == 0)
        *out = POLICY_NONE;
    else
        return err_set(CSIGN_EUSAGE,
                       "unknown policy '%s': use cabf (CA/Browser Forum code signing rules) or "
                       "none",
                       name);
    return CSIGN_OK;
}

const char *policy_name(policy_id id)
{
    return id == POLICY_CABF ? "cabf" : "none";
}

time_t policy_latest_not_after(policy_id id, time_t not_before)
{
    struct tm tm;

    if (id != POLICY_CABF)
        return (time_t)-1;
    if (not_before >= CABF_SHORT_FROM)
        return not_before + (time_t)CABF_SHORT_DAYS * 86400 - 1;
    if (gmtime_r(&not_before, &tm) == NULL)
        return (time_t)-1;
    /* The same day CABF_LONG_MONTHS months on, or the month's last day
     * when it has no such day (39 months from 30 November end on 28 or
     * 29 February, not in March). */
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int months = tm.tm_mon + CABF_LONG_MONTHS;
    tm.tm_year += months / 12;
    tm.tm_mon = months % 12;
    int year = tm.tm_year + 1900;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int last = days[tm.tm_mon] + (tm.tm_mon == 1 && leap);
    if (tm.tm_mday > last)
        tm.tm_mday = last;
    return timegm(&tm) - 1;
}

/* The rules that failed, one line. */
typedef struct {
    char text[ERR_MAX];
    int failed;
} verdict;

static void fail(verdict *v, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(verdict *v, const char *rule, const char *fmt, ...)
{
    size_t used = strlen(v->text);
    va_list ap;

    if (used + 1 < sizeof(v->text))
        snprintf(v->text + used, sizeof(v->text) - used, "%s[%s] ", v->failed ? "; " : "", rule);
    used = strlen(v->text);
    if (used + 1 < sizeof(v->text)) {
        va_start(ap, fmt);
        vsnprintf(v->text + used, sizeof(v->text) - used, fmt, ap);
        va_end(ap);
    }
    v->failed++;
}

static void time_text(time_t t, char *buf, size_t size)
{
    struct tm tm;

    if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL)
        snprintf(buf, size, "(unreadable time)");
    else
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;

    return t != NULL && ASN1_TIME_to_tm(t, &tm) == 1 ? timegm(&tm) : (time_t)-1;
}

/* BR 6.1.5.2: RSA of 3072 bits or more, or ECDSA on a NIST curve. (DSA
 * is allowed there too; csign neither makes nor accepts DSA keys.) */
static void rule_key(verdict *v, const EVP_PKEY *key)
{
    static const char needs[] =
        "needs RSA of 3072 bits or more, or ECDSA on P-256, P-384 or P-521 (BR 6.1.5.2)";
    char group[64] = "";
    size_t glen = 0;

    if (key == NULL) {
        fail(v, "key", "the signer's key is not known: %s", needs);
    } else if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
        if (EVP_PKEY_get_bits(key) < 3072)
            fail(v, "key", "an RSA key of %d bits: %s", EVP_PKEY_get_bits(key), needs);
    } else if (EVP_PKEY_is_a(key, "EC")) {
        EVP_PKEY_get_group_name(key, group, sizeof(group), &glen);
        if (strcmp(group, "prime256v1") != 0 && strcmp(group, "secp384r1") != 0 &&
            strcmp(group, "secp521r1") != 0)
            fail(v, "key", "an EC key on curve %s: %s", group[0] ? group : "(unknown)", needs);
    } else {
        const char *type = EVP_PKEY_get0_type_name(key);
        fail(v, "key", "an %s key: %s", type ? type : "unknown", needs);
    }
}

/* BR 1.2.2 (no SHA-1 for code signing from 2021-06-01) and 7.1.3.2. */
static void rule_digest(verdict *v, int nid)
{
    if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512)
        fail(v, "digest", "digest %s: needs SHA-256, SHA-384 or SHA-512 (BR 1.2.2, 7.1.3.2)",
             nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
}

/* BR 7.1.2.3 f: id-kp-codeSigning present; anyExtendedKeyUsage and
 * id-kp-serverAuth absent. */
static void rule_usage(verdict *v, X509 *cert)
{
    uint32_t flags = X509_get_extension_flags(cert);
    uint32_t xku = (flags & EXFLAG_XKUSAGE) ? X509_get_extended_key_usage(cert) : 0;
    bool any = false;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);

    for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
        any = any || OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_anyExtendedKeyUsage;
    EXTENDED_KEY_USAGE_free(eku);
    if ((flags & EXFLAG_XKUSAGE) == 0 || (xku & XKU_CODE_SIGN) == 0)
        fail(v, "code-signing",
             "the certificate lacks extendedKeyUsage codeSigning: ask the CA for a code signing "
             "certificate (BR 7.1.2.3 f)");
    else if (any || (xku & XKU_SSL_SERVER) != 0)
        fail(v, "code-signing",
             "the certificate's extendedKeyUsage has %s, which a code signing certificate must "
             "not have (BR 7.1.2.3 f)",
             any ? "anyExtendedKeyUsage" : "serverAuth");
}

/* BR 9.6.3 (10): no use after expiry; nor before the certificate starts. */
static void rule_validity(verdict *v, X509 *cert, time_t at)
{
    char when[32], then[32];
    const ASN1_TIME *nb = X509_get0_notBefore(cert), *na = X509_get0_notAfter(cert);

    time_text(at, then, sizeof(then));
    if (X509_cmp_time(nb, &at) >= 0) {
        time_text(asn1_time(nb), when, sizeof(when));
        fail(v, "validity", "at %s the certificate is not valid yet: it starts at %s (BR 9.6.3)",
             then, when);
    } else if (X509_cmp_time(na, &at) <= 0) {
        time_text(asn1_time(na), when, sizeof(when));
        fail(v, "validity", "at %s the certificate has expired: it ended at %s (BR 9.6.3)", then,
             when);
    }
}

/* BR 6.3.2 (ballot CSC-31): at most 39 months for a certificate issued
 * before 2026-03-01, at most 460 days from then on. The issue date is
 * taken to be notBefore. */
static void rule_lifetime(verdict *v, X509 *cert)
{
    time_t nb = asn1_time(X509_get0_notBefore(cert));
    time_t na = asn1_time(X509_get0_notAfter(cert));
    char from[32], to[32];

    if (nb == (time_t)-1 || na == (time_t)-1) {
        fail(v, "lifetime", "the certificate's validity period cannot be read (BR 6.3.2)");
        return;
    }
    if (na <= policy_latest_not_after(POLICY_CABF, nb))
        return;
    time_text(nb, from, sizeof(from));
    time_text(na, to, sizeof(to));
    if (nb >= CABF_SHORT_FROM)
        fail(v, "lifetime",
             "the certificate is valid from %s to %s, longer than the %d days allowed for one "
             "issued on or after 2026-03-01 (BR 6.3.2)",
             from, to, CABF_SHORT_DAYS);
    else
        fail(v, "lifetime",
             "the certificate is valid from %s to %s, longer than the %d months allowed for one "
             "issued before 2026-03-01 (BR 6.3.2)",
             from, to, CABF_LONG_MONTHS);
}

/* BR 6.2.7.4.1: since 2023-06-01 the subscriber's key is generated and
 * kept in a hardware crypto module. */
static void rule_hardware(verdict *v, policy_hw hw, const char *token)
{
    if (hw == POLICY_HW_NO)
        fail(v, "hardware",
             "token '%s' is a software token (its slot lacks CKF_HW_SLOT): the key must be on a "
             "hardware crypto module, FIPS 140-2 level 2 or Common Criteria EAL 4+ "
             "(BR 6.2.7.4.1)",
             token ? token : "?");
}

/* BR 6.8 (subscribers are to timestamp their signatures) and 4.9.6 (a
 * timestamp keeps a signature valid past a revocation dated after it). */
static void rule_timestamp(verdict *v, policy_stamp s)
{
    switch (s) {
    case POLICY_STAMP_NOT_ASKED:
        fail(v, "timestamp",
             "no TSA is given: add --tsa URL, or tsa = URL in the profile "
             "(BR 6.8)");
        break;
    case POLICY_STAMP_OPTIONAL:
        fail(v, "timestamp",
             "--tsa-optional would keep a signature without a timestamp: leave "
             "it out (BR 6.8)");
        break;
    case POLICY_STAMP_ABSENT:
        fail(v, "timestamp", "the signature has no timestamp (BR 6.8)");
        break;
    case POLICY_STAMP_UNTRUSTED:
        fail(v, "timestamp",
             "the timestamp is not checked: give --tsa-trust with the TSA's "
             "anchor (BR 6.8)");
        break;
    case POLICY_STAMP_ASKED:
    case POLICY_STAMP_VALID:
        break;
    }
}

csign_rc policy_check(policy_id id, const policy_facts *f)
{
    verdict *v;

    if (id == POLICY_NONE)
        return CSIGN_OK;
    v = calloc(1, sizeof(*v));
    if (v == NULL)
        return err_oom();
    rule_key(v, f->key);
    rule_digest(v, f->digest_nid);
    if (f->cert == NULL) {
        fail(v, "code-signing", "no signer certificate (BR 7.1.2.3)");
    } else {
        rule_usage(v, f->cert);
        rule_validity(v, f->cert, f->at);
        rule_lifetime(v, f->cert);
    }
    rule_hardware(v, f->hardware, f->token);
    rule_timestamp(v, f->stamp);
    csign_rc rc = CSIGN_OK;
    if (v->failed > 0)
        rc = err_set(CSIGN_ENO, "policy %s: %d rule%s not met: %s", policy_name(id), v->failed,
                     v->failed == 1 ? "" : "s", v->text);
    free(v);
    return rc;
}
