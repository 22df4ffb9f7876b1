/* SPDX-License-Identifier: Apache-2.0 */
/* Where a signer's chain stops short of the trust anchors, in words. */
#include "core/untrusted.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cert.h"

/* Verification failures are answers, not errors: exit 1. */
#define NO(...) err_set(CSIGN_ENO, __VA_ARGS__)

/* Appends printf-style text to buf (of size n), cutting it when full. */
static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 1 >= n)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, n - used, fmt, ap);
    va_end(ap);
}

static bool issued_by(X509 *ca, X509 *cert)
{
    return X509_check_issued(ca, cert) == X509_V_OK;
}

/* Whether cert is an anchor or issued by one. */
static bool anchored(STACK_OF(X509) * anchors, X509 *cert)
{
    for (int i = 0; i < sk_X509_num(anchors); i++)
        if (X509_cmp(sk_X509_value(anchors, i), cert) == 0 ||
            issued_by(sk_X509_value(anchors, i), cert))
            return true;
    return false;
}

/* "1 anchor in root.pem (CN=Other Root)": the anchors tried. */
static void describe_anchors(const verify_policy *p, STACK_OF(X509) * anchors, char *buf, size_t n)
{
    int count = sk_X509_num(anchors);

    append(buf, n, "%d anchor%s", count, count == 1 ? "" : "s");
    for (int i = 0; i < p->ntrust_files; i++)
        append(buf, n, "%s%s", i == 0 ? " in " : ", ", p->trust_files[i]);
    for (int i = 0; i < count && i < 5; i++) {
        char *name = cert_subject(sk_X509_value(anchors, i));
        append(buf, n, "%s%s", i == 0 ? " (" : "; ", name ? name : "?");
        free(name);
    }
    if (count > 5)
        append(buf, n, "; %d more", count - 5);
    if (count > 0)
        append(buf, n, ")");
}

csign_rc untrusted_explain(const verify_policy *p, X509 *signer, STACK_OF(X509) * certs,
                           csign_rc rc)
{
    STACK_OF(X509) *anchors = X509_STORE_get1_all_certs(p->trust);
    X509 *top = signer, *up = NULL;
    bool self = false;
    char tried[1024] = "", *subject = NULL, *issuer = NULL;

    ERR_clear_error();
    if (anchors == NULL)
        return rc;
    for (int depth = 0; depth < 32; depth++, top = up) {
        if (anchored(anchors, top)) {
            sk_X509_pop_free(anchors, X509_free);
            return rc;
        }
        if ((self = issued_by(top, top)))
            break;
        up = NULL;
        for (int i = 0; up == NULL && i < sk_X509_num(certs); i++)
            if (sk_X509_value(certs, i) != top && issued_by(sk_X509_value(certs, i), top))
                up = sk_X509_value(certs, i);
        if (up == NULL)
            break;
    }
    describe_anchors(p, anchors, tried, sizeof(tried));
    subject = cert_subject(top);
    issuer = cert_name_text(X509_get_issuer_name(top));
    if (self)
        rc = NO("signer not trusted: chain stops at '%s' (self-signed), which is not among the "
                "%s",
                subject ? subject : "?", tried);
    else
        rc = NO("signer not trusted: chain stops at '%s', issued by '%s', which is neither "
                "among the %s nor in the signature or --untrusted",
                subject ? subject : "?", issuer ? issuer : "?", tried);
    free(subject);
    free(issuer);
    sk_X509_pop_free(anchors, X509_free);
    return rc;
}
