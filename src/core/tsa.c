/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "core/tsa.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/algs.h"
#include "core/cert.h"
#include "core/cms.h"
#include "core/digest.h"
#include "core/revoke.h"

#define NO(...) err_set(CSIGN_ENO, __VA_ARGS__)
#define REPLY_MAX (1024 * 1024)

void tsa_info_clear(tsa_info *i)
{
    free(i->tsa_subject);
    memset(i, 0, sizeof(*i));
}

/* The TSTInfo inside a token that is one SignedData over a TSTInfo. */
static csign_rc parse_token(const unsigned char *der, size_t len, CMS_ContentInfo **cms,
                            TS_TST_INFO **tst)
{
    const unsigned char *p = der;

    *tst = NULL;
    *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (*cms == NULL || p != der + len)
        return NO("the timestamp is not one DER SignedData");
    if (OBJ_obj2nid(CMS_get0_type(*cms)) != NID_pkcs7_signed ||
        OBJ_obj2nid(CMS_get0_eContentType(*cms)) != NID_id_smime_ct_TSTInfo)
        return NO("the timestamp is not a SignedData over a TSTInfo");
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(*cms);
    if (sk_CMS_SignerInfo_num(sis) != 1)
        return NO("the timestamp has %d signers, not one", sk_CMS_SignerInfo_num(sis));
    ASN1_OCTET_STRING **content = CMS_get0_content(*cms);
    if (content == NULL || *content == NULL)
        return NO("the timestamp has no TSTInfo");
    p = ASN1_STRING_get0_data(*content);
    const unsigned char *end = p + ASN1_STRING_length(*content);
    *tst = d2i_TS_TST_INFO(NULL, &p, (long)(end - p));
    if (*tst == NULL || p != end)
        return NO("the timestamp's TSTInfo is malformed");
    if (TS_TST_INFO_get_version(*tst) != 1)
        return NO("the timestamp's TSTInfo has version %ld, not 1", TS_TST_INFO_get_version(*tst));
    return CSIGN_OK;
}

/* The imprint: a SHA-2 hash of sigval. */
static csign_rc check_imprint(TS_TST_INFO *tst, const unsigned char *sigval, size_t len,
                              tsa_info *info)
{
    TS_MSG_IMPRINT *imp = TS_TST_INFO_get_msg_imprint(tst);
    X509_ALGOR *alg = TS_MSG_IMPRINT_get_algo(imp);
    ASN1_OCTET_STRING *md = TS_MSG_IMPRINT_get_msg(imp);
    int nid = OBJ_obj2nid(alg->algorithm);
    unsigned char want[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (nid == NID_sha1)
        return NO("the timestamp's imprint uses SHA-1, which is refused");
    if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512)
        return NO("the timestamp's imprint uses %s (SHA-256, SHA-384 or SHA-512 only)",
                  nid == NID_undef ? "an unknown digest" : OBJ_nid2sn(nid));
    info->digest = digest_name(EVP_get_digestbynid(nid));
    if (EVP_Digest(sigval, len, want, &n, EVP_get_digestbynid(nid), NULL) != 1)
        return err_set_ssl(CSIGN_EINTERNAL, "hashing failed");
    if ((unsigned)ASN1_STRING_length(md) != n ||
        CRYPTO_memcmp(ASN1_STRING_get0_data(md), want, n) != 0)
        return NO("timestamp imprint does not match signature");
    return CSIGN_OK;
}

static csign_rc check_time(TS_TST_INFO *tst, tsa_info *info)
{
    struct tm tm;
    const ASN1_GENERALIZEDTIME *t = TS_TST_INFO_get_time(tst);

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return NO("the timestamp's time is malformed");
    info->gen_time = timegm(&tm);
    strftime(info->gen_time_text, sizeof(info->gen_time_text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return CSIGN_OK;
}

/* RFC 3161 2.3: extended key usage timeStamping, only, critical. The
 * extension is decoded here: OpenSSL's flags have no bit for OIDs it does
 * not know, so "only" could not be told from them. */
static csign_rc check_tsa_usage(X509 *tsa)
{
    int at = X509_get_ext_by_NID(tsa, NID_ext_key_usage, -1);
    EXTENDED_KEY_USAGE *eku = at >= 0 ? X509_get_ext_d2i(tsa, NID_ext_key_usage, NULL, NULL) : NULL;
    bool stamping = false;
    int n = eku ? sk_ASN1_OBJECT_num(eku) : 0;
    csign_rc rc = CSIGN_OK;

    for (int i = 0; i < n; i++)
        stamping = stamping || OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_time_stamp;
    if (!stamping)
        rc = NO("the TSA certificate lacks the timeStamping extended key usage");
    else if (n != 1)
        rc = NO("the TSA certificate has other extended key usages than timeStamping");
    else if (!X509_EXTENSION_get_critical(X509_get_ext(tsa, at)))
        rc = NO("the TSA certificate's extended key usage is not marked critical");
    EXTENDED_KEY_USAGE_free(eku);
    ERR_clear_error();
    return rc;
}

/* The token's signature, and the signingCertificate(V2) attribute: its
 * first id names the TSA certificate; further ids (RFC 5035 allows the
 * TSA's chain) name certificates the token carries. */
static csign_rc check_signature(CMS_ContentInfo *cms, CMS_SignerInfo *si, X509 *tsa,
                                STACK_OF(X509) * certs)
{
    ESS_SIGNING_CERT *ss = NULL;
    ESS_SIGNING_CERT_V2 *ssv2 = NULL;
    X509_ALGOR *dig = NULL, *alg = NULL;
    STACK_OF(X509) *one = sk_X509_new_null(), *pool = sk_X509_new_null();
    ASN1_TYPE *t1 = NULL, *t2 = NULL;
    csign_rc rc = cms_signed_attr(si, NID_id_smime_aa_signingCertificate, V_ASN1_SEQUENCE, false,
                                  "the timestamp's signingCertificate attribute", &t1);

    if (rc == CSIGN_OK)
        rc = cms_signed_attr(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, false,
                             "the timestamp's signingCertificateV2 attribute", &t2);
    ASN1_STRING *v1 = t1 ? t1->value.sequence : NULL, *v2 = t2 ? t2->value.sequence : NULL;
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &alg);
    if (rc == CSIGN_OK &&
        (!algs_strong_digest(OBJ_obj2nid(dig->algorithm)) || !algs_strong_signature(alg)))
        rc = NO("the timestamp is signed with a weak or unknown algorithm");
    if (rc == CSIGN_OK && v1 != NULL) {
        const unsigned char *p = ASN1_STRING_get0_data(v1);
        if ((ss = d2i_ESS_SIGNING_CERT(NULL, &p, ASN1_STRING_length(v1))) == NULL)
            rc = NO("the timestamp's signingCertificate attribute is malformed");
    }
    if (rc == CSIGN_OK && v2 != NULL) {
        const unsigned char *p = ASN1_STRING_get0_data(v2);
        if ((ssv2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, ASN1_STRING_length(v2))) == NULL)
            rc = NO("the timestamp's signingCertificateV2 attribute is malformed");
    }
    /* The TSA certificate first: OpenSSL requires the first id to name
     * the first certificate, and no other id to name it. */
    for (int i = 0; rc == CSIGN_OK && pool != NULL && i < sk_X509_num(certs); i++)
        if (!sk_X509_push(pool, sk_X509_value(certs, i)))
            rc = err_oom();
    if (rc == CSIGN_OK && cms_check_signature_alg(si, X509_get0_pubkey(tsa)) != CSIGN_OK)
        rc = err_wrap(CSIGN_ENO, "the timestamp's signature");
    if (rc != CSIGN_OK)
        ;
    else if (one == NULL || !sk_X509_push(one, tsa) || pool == NULL || !sk_X509_unshift(pool, tsa))
        rc = err_oom();
    else if (ss == NULL && ssv2 == NULL)
        rc = NO("the timestamp has no signingCertificate attribute naming the TSA");
    else if (OSSL_ESS_check_signing_certs(ss, ssv2, pool, 1) <= 0)
        rc = NO("the timestamp's signingCertificate attribute does not name its signer");
    /* The chain is judged separately, at the token's own time. */
    else if (CMS_verify(cms, one, NULL, NULL, NULL,
                        CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY) != 1)
        rc = NO("the timestamp's signature does not verify");
    ERR_clear_error();
    sk_X509_free(one);
    sk_X509_free(pool);
    ESS_SIGNING_CERT_free(ss);
    ESS_SIGNING_CERT_V2_free(ssv2);
    return rc;
}

/* The TSA's chain at the token's time, as strict as a signer's, and with
 * CRLs none of it revoked (a TSA key revoked at any time cannot vouch);
 * --require-crl asks a CRL for each of its certificates, as for the
 * signer's chain. */
static csign_rc check_tsa_chain(X509 *tsa, STACK_OF(X509) * certs, const tsa_expect *e, time_t at)
{
    STACK_OF(X509) *pool = sk_X509_dup(certs), *chain = NULL;
    const char *status = NULL;
    csign_rc rc = CSIGN_OK;

    for (int i = 0; pool && e->untrusted && i < sk_X509_num(e->untrusted); i++)
        if (!sk_X509_push(pool, sk_X509_value(e->untrusted, i))) {
            sk_X509_free(pool);
            pool = NULL;
        }
    if (pool == NULL)
        rc = err_oom();
    if (rc == CSIGN_OK)
        rc = cert_verify_chain(tsa, e->trust, pool, at, X509_PURPOSE_TIMESTAMP_SIGN, XKU_TIMESTAMP,
                               "TSA", &chain);
    if (rc == CSIGN_OK && (e->crls != NULL || e->require_crl) &&
        revoke_check(chain, e->crls, 0, e->require_crl, &status) != CSIGN_OK)
        rc = NO("TSA not trusted: %s", err_msg());
    sk_X509_pop_free(chain, X509_free);
    sk_X509_free(pool);
    return rc;
}

csign_rc tsa_check_token(const unsigned char *der, size_t len, const unsigned char *sigval,
                         size_t sigval_len, const tsa_expect *e, tsa_info *info)
{
    CMS_ContentInfo *cms = NULL;
    TS_TST_INFO *tst = NULL;
    STACK_OF(X509) *certs = NULL;
    X509 *tsa = NULL;
    csign_rc rc = parse_token(der, len, &cms, &tst);

    memset(info, 0, sizeof(*info));
    if (rc == CSIGN_OK)
        rc = check_imprint(tst, sigval, sigval_len, info);
    if (rc == CSIGN_OK && e->nonce != NULL) {
        const ASN1_INTEGER *n = TS_TST_INFO_get_nonce(tst);
        BIGNUM *got = n ? ASN1_INTEGER_to_BN(n, NULL) : NULL;
        BIGNUM *want = BN_bin2bn(e->nonce, (int)e->nonce_len, NULL);
        if (got == NULL || want == NULL || BN_cmp(got, want) != 0)
            rc = NO("the timestamp's nonce is not the one sent");
        BN_free(got);
        BN_free(want);
    }
    if (rc == CSIGN_OK && e->policy != NULL) {
        ASN1_OBJECT *want = OBJ_txt2obj(e->policy, 1);
        if (want == NULL || OBJ_cmp(want, TS_TST_INFO_get_policy_id(tst)) != 0)
            rc = NO("the timestamp's policy is not the one asked for (%s)", e->policy);
        ASN1_OBJECT_free(want);
    }
    if (rc == CSIGN_OK)
        rc = check_time(tst, info);
    if (rc == CSIGN_OK) {
        CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
        certs = CMS_get1_certs(cms);
        tsa = cms_find_signer(si, certs);
        if (tsa == NULL)
            rc = NO("the timestamp does not carry its TSA's certificate");
        if (rc == CSIGN_OK)
            rc = check_signature(cms, si, tsa, certs);
    }
    if (rc == CSIGN_OK)
        rc = check_tsa_usage(tsa);
    if (rc == CSIGN_OK && e->trust != NULL)
        rc = check_tsa_chain(tsa, certs, e, info->gen_time);
    if (rc == CSIGN_OK)
        info->tsa_subject = cert_subject(tsa);
    sk_X509_pop_free(certs, X509_free);
    TS_TST_INFO_free(tst);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}

/* A TimeStampReq over sigval with a fresh 64-bit nonce and certReq. */
static csign_rc make_request(const tsa_request *r, const unsigned char *sigval, size_t len,
                             unsigned char nonce[8], unsigned char **der, int *der_len)
{
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *imp = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *n = NULL;
    ASN1_OBJECT *policy = r->policy ? OBJ_txt2obj(r->policy, 1) : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    csign_rc rc = CSIGN_OK;

    if (r->policy != NULL && policy == NULL)
        rc = err_set(CSIGN_EUSAGE, "--tsa-policy '%s' is not an OID", r->policy);
    else if (req == NULL || imp == NULL || alg == NULL || RAND_bytes(nonce, 8) != 1)
        rc = err_oom();
    if (rc == CSIGN_OK) {
        nonce[0] &= 0x7f; /* a positive INTEGER of at most 64 bits */
        nonce[0] |= 0x01;
        bn = BN_bin2bn(nonce, 8, NULL);
        n = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
        X509_ALGOR_set_md(alg, r->md);
        if (n == NULL || EVP_Digest(sigval, len, md, &mdlen, r->md, NULL) != 1 ||
            !TS_MSG_IMPRINT_set_algo(imp, alg) || !TS_MSG_IMPRINT_set_msg(imp, md, (int)mdlen) ||
            !TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, imp) ||
            !TS_REQ_set_nonce(req, n) || !TS_REQ_set_cert_req(req, 1) ||
            (policy != NULL && !TS_REQ_set_policy_id(req, policy)) ||
            (*der_len = i2d_TS_REQ(req, der)) <= 0)
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot build the timestamp request");
    }
    BN_free(bn);
    ASN1_INTEGER_free(n);
    ASN1_OBJECT_free(policy);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(imp);
    TS_REQ_free(req);
    return rc;
}

/* The token of a TimeStampResp that grants one. */
static csign_rc token_of(const unsigned char *resp, size_t len, unsigned char **token,
                         int *token_len)
{
    const unsigned char *p = resp;
    TS_RESP *r = d2i_TS_RESP(NULL, &p, (long)len);
    csign_rc rc = CSIGN_OK;

    if (r == NULL || p != resp + len) {
        rc = NO("the answer is not a TimeStampResp");
    } else {
        long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(r)));
        PKCS7 *t = TS_RESP_get_token(r);
        if (status != 0 && status != 1)
            rc = NO("the TSA refused (PKIStatus %ld)", status);
        else if (t == NULL || (*token_len = i2d_PKCS7(t, token)) <= 0)
            rc = NO("the TSA's answer holds no token");
    }
    TS_RESP_free(r);
    ERR_clear_error();
    return rc;
}

/* Worth asking again: the server is busy or failing, not refusing. */
static bool transient(long status)
{
    return status >= 500 || status == 408 || status == 429;
}

/* One URL, with retries: CSIGN_EIO when it could not be reached. */
static csign_rc ask(http_client *c, const tsa_request *r, const char *url, const unsigned char *q,
                    int qlen, unsigned char **resp, size_t *resp_len)
{
    csign_rc rc = CSIGN_OK;

    for (int attempt = 0; attempt <= r->retries; attempt++) {
        long status = 0;
        if (attempt > 0) {
            /* 0.25 s, 0.5 s, 1 s, ... at most 4 s */
            long ms = 250L << (attempt - 1 < 4 ? attempt - 1 : 4);
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        rc = http_post(c, url, "application/timestamp-query", q, (size_t)qlen, REPLY_MAX, &status,
                       resp, resp_len);
        if (rc == CSIGN_EINPUT)
            return NO("%s", err_msg()); /* an answer, too big to be a timestamp */
        if (rc != CSIGN_OK && rc != CSIGN_EIO)
            return rc;
        if (rc == CSIGN_EIO)
            continue;
        if (status == 200)
            return CSIGN_OK;
        free(*resp);
        *resp = NULL;
        if (!transient(status))
            return status >= 300 && status < 400
                       ? NO("HTTP status %ld (redirects are not followed)", status)
                       : NO("HTTP status %ld", status);
        rc = err_set(CSIGN_EIO, "HTTP status %ld", status);
    }
    return rc;
}

csign_rc tsa_stamp(http_client *c, const tsa_request *r, const unsigned char *sigval,
                   size_t sigval_len, unsigned char **token, size_t *token_len, const char **used)
{
    unsigned char nonce[8], *q = NULL;
    int qlen = 0;
    char notes[ERR_MAX] = "";
    size_t at = 0;
    bool answered = false;
    csign_rc rc = make_request(r, sigval, sigval_len, nonce, &q, &qlen);
    tsa_expect e = {.nonce = nonce, .nonce_len = sizeof(nonce), .policy = r->policy};

    for (int i = 0; rc == CSIGN_OK && i < r->nurls; i++) {
        unsigned char *resp = NULL, *t = NULL;
        size_t resp_len = 0;
        int tlen = 0;
        tsa_info info;
        csign_rc one = r->down && r->down[i]
                           ? err_set(CSIGN_EIO, "could not be reached earlier in this run")
                           : ask(c, r, r->urls[i], q, qlen, &resp, &resp_len);
        if (one == CSIGN_OK)
            one = token_of(resp, resp_len, &t, &tlen);
        if (one == CSIGN_OK)
            one = tsa_check_token(t, (size_t)tlen, sigval, sigval_len, &e, &info);
        free(resp);
        if (one == CSIGN_OK) {
            tsa_info_clear(&info);
            *token = t;
            *token_len = (size_t)tlen;
            *used = r->urls[i];
            OPENSSL_free(q);
            return CSIGN_OK;
        }
        OPENSSL_free(t);
        if (one != CSIGN_ENO && one != CSIGN_EIO) {
            rc = one;
            break;
        }
        if (one == CSIGN_EIO && r->down != NULL)
            r->down[i] = true;
        answered = answered || one == CSIGN_ENO;
        at += (size_t)snprintf(notes + at, sizeof(notes) - at, "%s%s: %s", at ? "; " : "",
                               r->urls[i], err_msg());
        if (at >= sizeof(notes))
            at = sizeof(notes) - 1;
    }
    OPENSSL_free(q);
    if (rc != CSIGN_OK)
        return rc;
    return err_set(answered ? CSIGN_ENO : CSIGN_EIO, "no timestamp: %s", notes);
}
