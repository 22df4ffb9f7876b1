/* SPDX-License-Identifier: Apache-2.0 */
#include "core/cert.h"

#include "core/algs.h"
#include "sys/io.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* RFC 4514 text of a name; ASN1_STRFLGS_ESC_CTRL (part of XN_FLAG_RFC2253)
 * escapes control characters, so a subject cannot forge output lines. */
char *cert_name_text(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    long len;

    if (b == NULL)
        return NULL;
    if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        len = BIO_get_mem_data(b, &data);
        out = malloc((size_t)len + 1);
        if (out != NULL) {
            memcpy(out, data, (size_t)len);
            out[len] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static char *eku_text(X509 *x)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    size_t size = 1;
    char *out;

    if (eku != NULL)
        for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
            size += 82;
    out = calloc(1, size);
    if (out == NULL || eku == NULL) {
        EXTENDED_KEY_USAGE_free(eku);
        return out;
    }
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        char buf[80];
        ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
        int nid = OBJ_obj2nid(o);
        if (nid != NID_undef)
            snprintf(buf, sizeof(buf), "%s", OBJ_nid2sn(nid));
        else
            OBJ_obj2txt(buf, sizeof(buf), o, 1);
        if (i > 0)
            strcat(out, ",");
        strcat(out, buf);
    }
    EXTENDED_KEY_USAGE_free(eku);
    return out;
}

csign_rc cert_summarize(const unsigned char *der, size_t len, cert_summary *out)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    struct tm tm;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    memset(out, 0, sizeof(*out));
    if (x == NULL)
        return err_set_ssl(CSIGN_EINPUT, "not a DER X.509 certificate");
    out->subject = cert_name_text(X509_get_subject_name(x));
    out->issuer = cert_name_text(X509_get_issuer_name(x));
    out->eku = eku_text(x);
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        strftime(out->not_after, sizeof(out->not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
    out->is_ca = X509_check_ca(x) != 0;
    if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1)
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(out->sha256 + 2 * i, 3, "%02x", md[i]);
    X509_free(x);
    if (out->subject == NULL || out->issuer == NULL || out->eku == NULL) {
        cert_summary_clear(out);
        return err_oom();
    }
    return CSIGN_OK;
}

void cert_summary_clear(cert_summary *s)
{
    free(s->subject);
    free(s->issuer);
    free(s->eku);
    memset(s, 0, sizeof(*s));
}

char *cert_subject(X509 *cert)
{
    return cert_name_text(X509_get_subject_name(cert));
}

void cert_fingerprint(X509 *cert, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    hex[0] = '\0';
    if (X509_digest(cert, EVP_sha256(), md, &len) == 1)
        for (unsigned int i = 0; i < len && i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* "2026-11-27T12:00:00Z" for messages. */
static void time_text(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(buf, size, "(unreadable time)");
}

csign_rc cert_check_code_signing(X509 *cert, const EVP_PKEY *pub, time_t at)
{
    char when[32];
    uint32_t flags = X509_get_extension_flags(cert);

    if (pub != NULL && EVP_PKEY_eq(X509_get0_pubkey(cert), pub) != 1)
        return err_set(CSIGN_EINPUT, "the certificate does not belong to the key");
    if ((flags & EXFLAG_INVALID) != 0)
        return err_set(CSIGN_EINPUT, "the certificate has invalid or duplicate extensions");
    if ((flags & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(cert) & XKU_CODE_SIGN) == 0)
        return err_set(CSIGN_EINPUT, "certificate lacks codeSigning usage (extendedKeyUsage)");
    if ((flags & EXFLAG_KUSAGE) == 0 || (X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE) == 0)
        return err_set(CSIGN_EINPUT, "certificate lacks digitalSignature usage (keyUsage)");
    if (X509_check_ca(cert) != 0)
        return err_set(CSIGN_EINPUT, "certificate is a CA certificate, not a signing "
                                     "certificate");
    if (X509_cmp_time(X509_get0_notBefore(cert), &at) >= 0) {
        time_text(X509_get0_notBefore(cert), when, sizeof(when));
        return err_set(CSIGN_EINPUT, "certificate is not valid before %s", when);
    }
    if (X509_cmp_time(X509_get0_notAfter(cert), &at) <= 0) {
        time_text(X509_get0_notAfter(cert), when, sizeof(when));
        return err_set(CSIGN_EINPUT, "certificate expired at %s", when);
    }
    return CSIGN_OK;
}

/* Certificate files larger than this are not certificate files. */
#define CERT_FILE_MAX (4 * 1024 * 1024)

csign_rc cert_read_file(const char *path, STACK_OF(X509) * *out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    STACK_OF(X509) *certs = sk_X509_new_null();
    csign_rc rc = certs ? io_read_file(path, CERT_FILE_MAX, &data, &len) : err_oom();
    X509 *x;

    if (rc == CSIGN_OK && strstr((char *)data, "-----BEGIN") != NULL) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        ERR_clear_error();
        while (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
            if (!sk_X509_push(certs, x))
                X509_free(x);
        /* The loop ends at the end of the file (no more PEM blocks) or at
         * a block that does not parse, which must not pass unnoticed. */
        if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
            rc = err_set(CSIGN_EINPUT, "'%s': certificate %d does not parse", path,
                         sk_X509_num(certs) + 1);
        BIO_free(b);
    } else if (rc == CSIGN_OK) {
        const unsigned char *p = data;
        x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL && (p != data + len || !sk_X509_push(certs, x)))
            X509_free(x);
    }
    ERR_clear_error();
    free(data);
    if (rc == CSIGN_OK && sk_X509_num(certs) == 0)
        rc = err_set(CSIGN_EINPUT, "'%s' holds no PEM or DER certificate", path);
    if (rc != CSIGN_OK) {
        sk_X509_pop_free(certs, X509_free);
        return rc;
    }
    *out = certs;
    return CSIGN_OK;
}

csign_rc cert_read_crls(const char *path, STACK_OF(X509_CRL) * crls)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int before = sk_X509_CRL_num(crls);
    csign_rc rc = io_read_file(path, CERT_FILE_MAX, &data, &len);
    X509_CRL *crl;

    if (rc == CSIGN_OK && strstr((char *)data, "-----BEGIN") != NULL) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        ERR_clear_error();
        while (b != NULL && (crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL)
            if (!sk_X509_CRL_push(crls, crl))
                X509_CRL_free(crl);
        if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
            rc = err_set(CSIGN_EINPUT, "'%s': CRL %d does not parse", path,
                         sk_X509_CRL_num(crls) - before + 1);
        BIO_free(b);
    } else if (rc == CSIGN_OK) {
        const unsigned char *p = data;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl != NULL && (p != data + len || !sk_X509_CRL_push(crls, crl)))
            X509_CRL_free(crl);
    }
    ERR_clear_error();
    free(data);
    if (rc == CSIGN_OK && sk_X509_CRL_num(crls) == before)
        rc = err_set(CSIGN_EINPUT, "'%s' holds no PEM or DER CRL", path);
    return rc;
}

/* How a usage is named in reasons. */
static const char *usage_name(uint32_t usage)
{
    return usage == XKU_CODE_SIGN   ? "code signing"
           : usage == XKU_TIMESTAMP ? "time stamping"
                                    : "the usage asked for";
}

csign_rc cert_verify_chain(X509 *leaf, X509_STORE *trust, STACK_OF(X509) * untrusted, time_t at,
                           int purpose, uint32_t usage, const char *who, STACK_OF(X509) * *chain)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    csign_rc rc = CSIGN_OK;

    if (chain != NULL)
        *chain = NULL;
    if (ctx == NULL || X509_STORE_CTX_init(ctx, trust, leaf, untrusted) != 1) {
        rc = err_oom();
    } else {
        X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
        X509_VERIFY_PARAM_set_time(vp, at);
        if (purpose != 0)
            X509_VERIFY_PARAM_set_purpose(vp, purpose);
        X509_VERIFY_PARAM_set_auth_level(vp, CERT_SECURITY_LEVEL);
        int bad;
        if (X509_verify_cert(ctx) != 1)
            rc = err_set(CSIGN_ENO, "%s not trusted: %s", who,
                         X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        else if ((bad = algs_chain_eku_conflict(X509_STORE_CTX_get0_chain(ctx), usage)) > 0)
            rc = err_set(CSIGN_ENO,
                         "%s not trusted: CA certificate %d of the chain excludes %s "
                         "(extendedKeyUsage)",
                         who, bad, usage_name(usage));
        if (rc == CSIGN_OK && chain != NULL && (*chain = X509_STORE_CTX_get1_chain(ctx)) == NULL)
            rc = err_oom();
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    return rc;
}

/* Whether key verifies cert's signature; failures leave no OpenSSL error. */
static bool signed_by(X509 *cert, EVP_PKEY *key)
{
    ERR_set_mark();
    bool ok = key != NULL && X509_verify(cert, key) == 1;
    ERR_pop_to_mark();
    return ok;
}

static bool self_signed(X509 *c)
{
    return X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)) == 0 &&
           signed_by(c, X509_get0_pubkey(c));
}

/* ca may be next above cert: a CA by basicConstraints that signed it. */
static bool issues(X509 *ca, X509 *cert)
{
    return (X509_get_extension_flags(ca) & EXFLAG_CA) &&
           X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(cert)) == 0 &&
           signed_by(cert, X509_get0_pubkey(ca));
}

static bool valid_at(X509 *c, time_t at)
{
    return X509_cmp_time(X509_get0_notBefore(c), &at) < 0 &&
           X509_cmp_time(X509_get0_notAfter(c), &at) > 0;
}

static bool taken(X509 *leaf, STACK_OF(X509) * chain, X509 *c)
{
    if (X509_cmp(leaf, c) == 0)
        return true;
    for (int i = 0; i < sk_X509_num(chain); i++)
        if (X509_cmp(sk_X509_value(chain, i), c) == 0)
            return true;
    return false;
}

csign_rc cert_chain_from(X509 *leaf, STACK_OF(X509) * pool, time_t at, STACK_OF(X509) * *out)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *cur = leaf;

    *out = NULL;
    if (chain == NULL)
        return err_oom();
    while (sk_X509_num(chain) < CERT_CHAIN_MAX && !self_signed(cur)) {
        X509 *next = NULL;
        /* One valid now is preferred: a renewed CA beside its expired
         * predecessor, both with one key, must not lose to it. */
        for (int pass = 0; next == NULL && pass < 2; pass++)
            for (int i = 0; next == NULL && i < sk_X509_num(pool); i++) {
                X509 *c = sk_X509_value(pool, i);
                if ((pass == 1 || valid_at(c, at)) && !taken(leaf, chain, c) && issues(c, cur))
                    next = c;
            }
        if (next == NULL)
            break;
        if (!X509_up_ref(next)) {
            next = NULL;
        } else if (!sk_X509_push(chain, next)) {
            X509_free(next);
            next = NULL;
        }
        if (next == NULL) {
            sk_X509_pop_free(chain, X509_free);
            return err_oom();
        }
        cur = next;
    }
    *out = chain;
    return CSIGN_OK;
}
