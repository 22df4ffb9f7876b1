/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test tool: an RFC 3161 time-stamping authority for csign's tests, honest
 * or hostile on request.
 *
 *   tsa_tool serve --cert C --key K [common] --port-file F [--log F]
 *       answers TimeStampReqs over HTTP/1.1 (keep-alive) on 127.0.0.1 at a
 *       free port, written to F. --log F appends "connection" and "request"
 *       lines. Runs until killed.
 *   tsa_tool stamp --cert C --key K [common] [--digest ALG] [--imprint-of S]
 *           IN.p7s OUT.p7s
 *       puts a token over IN's signature value (or S's) into OUT as the
 *       unsigned attribute id-aa-timeStampToken, bypassing csign's checks.
 *   tsa_tool imprint ALG IN.p7s
 *       prints the hex hash of IN's signature value.
 *   tsa_tool token IN.p7s OUT.der
 *       writes the timestamp token of IN (for `openssl ts -verify`).
 *   tsa_tool put-token IN.p7s TOKEN.der OUT.p7s
 *       puts a token made elsewhere (`openssl ts -reply -token_out`) into
 *       OUT as IN's unsigned attribute id-aa-timeStampToken, unchecked.
 *
 * common: --chain F (certificates to include), --time EPOCH (genTime),
 * --policy OID, --mode M with M one of
 *   ok, bad-imprint (the imprint of other bytes), bad-nonce, sha1 (a SHA-1
 *   imprint), corrupt (a broken token signature), no-ess (no
 *   signingCertificate attribute), weak (a token signed with SHA-1), rejection (status rejection,
 * no token), garbage (a reply that is not DER), http500, hang (never answer),
 *   ess-chain (signingCertificateV2 names the TSA, then each --chain
 *   certificate, as RFC 5035 allows), ess-ca-first (it names the first
 *   --chain certificate first, then the TSA), ess-twice (the attribute
 *   twice, added after signing), no-cert (the TSA certificate left out),
 *   rsa-alg (signatureAlgorithm
 *   rsaEncryption, whatever the key).
 *
 * The token is built here, not with TS_RESP_CTX, so that it can be signed
 * with any certificate (one without the timeStamping EKU, say).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) * chain;
    const char *mode;
    long long time; /* 0: now */
    const char *policy;
    const char *digest; /* stamp: imprint algorithm */
    const char *port_file, *log;
    const char *imprint_of; /* stamp: hash this signature's value instead */
    long serial;
} opts;

static void die(const char *what)
{
    fprintf(stderr, "tsa_tool: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static bool mode_is(const opts *o, const char *m)
{
    return strcmp(o->mode, m) == 0;
}

/* The TSTInfo for an imprint (alg, digest) and an optional nonce. */
static TS_TST_INFO *tst_info(opts *o, X509_ALGOR *alg, const unsigned char *md, int mdlen,
                             const ASN1_INTEGER *nonce)
{
    TS_TST_INFO *t = TS_TST_INFO_new();
    TS_MSG_IMPRINT *imp = TS_MSG_IMPRINT_new();
    ASN1_OBJECT *policy = OBJ_txt2obj(o->policy, 1);
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    ASN1_GENERALIZEDTIME *when =
        ASN1_GENERALIZEDTIME_set(NULL, o->time ? (time_t)o->time : time(NULL));
    unsigned char buf[EVP_MAX_MD_SIZE];

    if (t == NULL || imp == NULL || policy == NULL || serial == NULL || when == NULL)
        die("out of memory or bad --policy");
    memcpy(buf, md, (size_t)mdlen);
    if (mode_is(o, "bad-imprint"))
        buf[0] ^= 0x01;
    ASN1_INTEGER_set(serial, ++o->serial);
    if (!TS_MSG_IMPRINT_set_algo(imp, alg) || !TS_MSG_IMPRINT_set_msg(imp, buf, mdlen) ||
        !TS_TST_INFO_set_version(t, 1) || !TS_TST_INFO_set_policy_id(t, policy) ||
        !TS_TST_INFO_set_msg_imprint(t, imp) || !TS_TST_INFO_set_serial(t, serial) ||
        !TS_TST_INFO_set_time(t, when))
        die("cannot build TSTInfo");
    if (nonce != NULL) {
        ASN1_INTEGER *n = ASN1_INTEGER_dup(nonce);
        if (mode_is(o, "bad-nonce"))
            ASN1_INTEGER_set(n, ASN1_INTEGER_get(n) + 1);
        TS_TST_INFO_set_nonce(t, n);
        ASN1_INTEGER_free(n);
    }
    TS_MSG_IMPRINT_free(imp);
    ASN1_OBJECT_free(policy);
    ASN1_INTEGER_free(serial);
    ASN1_GENERALIZEDTIME_free(when);
    return t;
}

/* The token: a SignedData over the TSTInfo, DER in *out. */
static int sign_token(const opts *o, TS_TST_INFO *t, unsigned char **out)
{
    unsigned char *der = NULL;
    int len = i2d_TS_TST_INFO(t, &der);
    BIO *in = BIO_new_mem_buf(der, len);
    unsigned int flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, o->chain, NULL, flags);

    if (len <= 0 || in == NULL || cms == NULL ||
        !CMS_set1_eContentType(cms, OBJ_nid2obj(NID_id_smime_ct_TSTInfo)))
        die("cannot start the token");
    CMS_SignerInfo *si =
        CMS_add1_signer(cms, o->cert, o->key, mode_is(o, "weak") ? EVP_sha1() : EVP_sha256(),
                        flags | (mode_is(o, "no-cert") ? CMS_NOCERTS : 0));
    if (si == NULL)
        die("cannot add the TSA as signer");
    if (!mode_is(o, "no-ess")) {
        STACK_OF(X509) *after = sk_X509_new_null();
        X509 *first = o->cert;
        if (mode_is(o, "ess-chain")) {
            for (int i = 0; i < sk_X509_num(o->chain); i++)
                sk_X509_push(after, sk_X509_value(o->chain, i));
        } else if (mode_is(o, "ess-ca-first")) {
            if (sk_X509_num(o->chain) < 1)
                die("--mode ess-ca-first needs --chain");
            first = sk_X509_value(o->chain, 0);
            sk_X509_push(after, o->cert);
        }
        ESS_SIGNING_CERT_V2 *sc = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), first, after, 0);
        sk_X509_free(after);
        unsigned char *ess = NULL;
        int esslen = sc ? i2d_ESS_SIGNING_CERT_V2(sc, &ess) : -1;
        if (esslen <= 0 || !CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2,
                                                        V_ASN1_SEQUENCE, ess, esslen))
            die("cannot add signingCertificateV2");
        OPENSSL_free(ess);
        ESS_SIGNING_CERT_V2_free(sc);
    }
    if (!CMS_final(cms, in, NULL, flags))
        die("cannot sign the token");
    /* OpenSSL refuses to sign it so; the signature no longer matters. */
    if (mode_is(o, "ess-twice")) {
        int at = CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, -1);
        if (at < 0 || !CMS_signed_add1_attr(si, CMS_signed_get_attr(si, at)))
            die("cannot add signingCertificateV2 again");
    }
    if (mode_is(o, "rsa-alg")) {
        X509_ALGOR *alg = NULL;
        CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &alg);
        X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL);
    }
    if (mode_is(o, "corrupt")) {
        ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
        unsigned char *p = (unsigned char *)ASN1_STRING_get0_data(sig);
        p[ASN1_STRING_length(sig) / 2] ^= 0x40;
    }
    *out = NULL;
    len = i2d_CMS_ContentInfo(cms, out);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    OPENSSL_free(der);
    return len;
}

/* DER length octets. */
static size_t der_len(unsigned char *p, size_t n)
{
    if (n < 128) {
        p[0] = (unsigned char)n;
        return 1;
    }
    size_t k = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
    p[0] = (unsigned char)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        p[1 + i] = (unsigned char)(n >> (8 * (k - 1 - i)));
    return 1 + k;
}

/* A TimeStampResp: status, then the token unless rejected. */
static unsigned char *response(const opts *o, const unsigned char *token, int token_len,
                               size_t *len)
{
    static const unsigned char granted[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    static const unsigned char rejected[] = {0x30, 0x03, 0x02, 0x01, 0x02};
    bool reject = mode_is(o, "rejection");
    size_t body = sizeof(granted) + (reject ? 0 : (size_t)token_len);
    unsigned char *out = malloc(body + 8), *p = out;

    *p++ = 0x30;
    p += der_len(p, body);
    memcpy(p, reject ? rejected : granted, sizeof(granted));
    p += sizeof(granted);
    if (!reject) {
        memcpy(p, token, (size_t)token_len);
        p += token_len;
    }
    *len = (size_t)(p - out);
    return out;
}

/* The reply to one TimeStampReq (DER), or NULL when it does not parse. */
static unsigned char *answer(opts *o, const unsigned char *req_der, size_t req_len, size_t *len)
{
    const unsigned char *p = req_der;
    TS_REQ *req = d2i_TS_REQ(NULL, &p, (long)req_len);
    unsigned char *token = NULL, *out;

    if (req == NULL)
        return NULL;
    TS_MSG_IMPRINT *imp = TS_REQ_get_msg_imprint(req);
    ASN1_OCTET_STRING *md = TS_MSG_IMPRINT_get_msg(imp);
    X509_ALGOR *alg = TS_MSG_IMPRINT_get_algo(imp);
    X509_ALGOR *sha1 = X509_ALGOR_new();
    unsigned char d20[20];
    if (mode_is(o, "sha1")) {
        SHA1(ASN1_STRING_get0_data(md), (size_t)ASN1_STRING_length(md), d20);
        X509_ALGOR_set_md(sha1, EVP_sha1());
    }
    TS_TST_INFO *t = mode_is(o, "sha1") ? tst_info(o, sha1, d20, 20, TS_REQ_get_nonce(req))
                                        : tst_info(o, alg, ASN1_STRING_get0_data(md),
                                                   ASN1_STRING_length(md), TS_REQ_get_nonce(req));
    int token_len = sign_token(o, t, &token);
    out = response(o, token, token_len, len);
    OPENSSL_free(token);
    TS_TST_INFO_free(t);
    X509_ALGOR_free(sha1);
    TS_REQ_free(req);
    return out;
}

/* ---- stamp and imprint: offline, on a signature file -------------------- */

static CMS_ContentInfo *read_sig(const char *path, CMS_SignerInfo **si)
{
    BIO *b = BIO_new_file(path, "rb");
    CMS_ContentInfo *cms = b ? d2i_CMS_bio(b, NULL) : NULL;

    BIO_free(b);
    if (cms == NULL || sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) != 1)
        die("cannot read the signature");
    *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    return cms;
}

static int imprint(const char *alg, const char *path)
{
    CMS_SignerInfo *si = NULL;
    CMS_ContentInfo *cms = read_sig(path, &si);
    ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (!EVP_Digest(ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), md, &n,
                    EVP_get_digestbyname(alg), NULL))
        die("unknown digest");
    for (unsigned int i = 0; i < n; i++)
        printf("%02x", md[i]);
    printf("\n");
    CMS_ContentInfo_free(cms);
    return 0;
}

static int token(const char *in, const char *out)
{
    CMS_SignerInfo *si = NULL;
    CMS_ContentInfo *cms = read_sig(in, &si);
    int at = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
    ASN1_TYPE *t = at >= 0 ? X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(si, at), 0) : NULL;
    FILE *f = fopen(out, "wb");

    if (t == NULL || t->type != V_ASN1_SEQUENCE || f == NULL)
        die("no timestamp token");
    fwrite(ASN1_STRING_get0_data(t->value.sequence), 1,
           (size_t)ASN1_STRING_length(t->value.sequence), f);
    fclose(f);
    CMS_ContentInfo_free(cms);
    return 0;
}

static int put_token(const char *in, const char *token_path, const char *out)
{
    CMS_SignerInfo *si = NULL;
    CMS_ContentInfo *cms = read_sig(in, &si);
    unsigned char buf[65536];
    FILE *f = fopen(token_path, "rb");
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;

    if (f == NULL || n == 0 || n == sizeof(buf))
        die("cannot read the token");
    fclose(f);
    if (!CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, buf,
                                       (int)n))
        die("cannot add the token");
    BIO *b = BIO_new_file(out, "wb");
    if (b == NULL || i2d_CMS_bio(b, cms) != 1 || BIO_free(b) != 1)
        die("cannot write the output");
    CMS_ContentInfo_free(cms);
    return 0;
}

static int stamp(opts *o, const char *in, const char *out)
{
    CMS_SignerInfo *si = NULL, *other_si = NULL;
    CMS_ContentInfo *cms = read_sig(in, &si);
    CMS_ContentInfo *other = o->imprint_of ? read_sig(o->imprint_of, &other_si) : NULL;
    ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(other_si ? other_si : si);
    const EVP_MD *md = EVP_get_digestbyname(mode_is(o, "sha1") ? "sha1" : o->digest);
    unsigned char d[EVP_MAX_MD_SIZE], *token = NULL;
    unsigned int n = 0;
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_INTEGER *nonce = ASN1_INTEGER_new();

    if (md == NULL || alg == NULL || nonce == NULL)
        die("unknown --digest");
    X509_ALGOR_set_md(alg, md);
    EVP_Digest(ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), d, &n, md, NULL);
    ASN1_INTEGER_set(nonce, 4242);
    TS_TST_INFO *t = tst_info(o, alg, d, (int)n, nonce);
    int len = sign_token(o, t, &token);
    if (!CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, token,
                                       len))
        die("cannot add the token");
    BIO *b = BIO_new_file(out, "wb");
    if (b == NULL || i2d_CMS_bio(b, cms) != 1 || BIO_free(b) != 1)
        die("cannot write the output");
    OPENSSL_free(token);
    TS_TST_INFO_free(t);
    X509_ALGOR_free(alg);
    ASN1_INTEGER_free(nonce);
    CMS_ContentInfo_free(cms);
    CMS_ContentInfo_free(other);
    return 0;
}

/* ---- serve: HTTP/1.1 on 127.0.0.1 ---------------------------------------- */

static void log_line(const opts *o, const char *line)
{
    FILE *f = o->log ? fopen(o->log, "a") : NULL;
    if (f != NULL) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

static bool write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads one request (headers and a Content-Length body). */
static unsigned char *read_request(int fd, size_t *body_len)
{
    static char buf[1 << 20];
    size_t used = 0;
    char *end = NULL;

    while ((end = memmem(buf, used, "\r\n\r\n", 4)) == NULL) {
        ssize_t n = read(fd, buf + used, sizeof(buf) - used - 1);
        if (n <= 0)
            return NULL;
        used += (size_t)n;
    }
    size_t head = (size_t)(end - buf) + 4, want = 0;
    buf[head - 1] = '\0';
    for (char *line = strtok(buf, "\r\n"); line != NULL; line = strtok(NULL, "\r\n"))
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            want = strtoul(line + 15, NULL, 10);
    if (want > sizeof(buf) - head)
        return NULL;
    while (used < head + want) {
        ssize_t n = read(fd, buf + used, head + want - used);
        if (n <= 0)
            return NULL;
        used += (size_t)n;
    }
    unsigned char *body = malloc(want + 1);
    memcpy(body, buf + head, want);
    *body_len = want;
    return body;
}

static void reply(int fd, int status, const char *type, const void *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", status,
                     status == 200 ? "OK" : "Internal Server Error", type, len);
    write_all(fd, head, (size_t)n);
    write_all(fd, body, len);
}

static void serve_connection(opts *o, int fd)
{
    unsigned char *req;
    size_t len = 0;

    log_line(o, "connection");
    while ((req = read_request(fd, &len)) != NULL) {
        log_line(o, "request");
        if (mode_is(o, "hang")) {
            free(req);
            for (;;)
                pause();
        }
        size_t out_len = 0;
        unsigned char *out = mode_is(o, "http500") ? NULL : answer(o, req, len, &out_len);
        if (mode_is(o, "garbage"))
            reply(fd, 200, "application/timestamp-reply", "not a timestamp", 15);
        else if (out == NULL)
            reply(fd, 500, "text/plain", "no", 2);
        else
            reply(fd, 200, "application/timestamp-reply", out, out_len);
        free(out);
        free(req);
    }
    close(fd);
}

static _Noreturn void serve(opts *o)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 16) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) != 0)
        die("cannot listen");
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", o->port_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
        rename(tmp, o->port_file) != 0)
        die("cannot write --port-file");
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c >= 0)
            serve_connection(o, c);
    }
}

/* ---- options -------------------------------------------------------------- */

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (x == NULL)
        die("cannot read --cert");
    return x;
}

int main(int argc, char **argv)
{
    opts o = {.mode = "ok", .policy = "1.2.3.4.1", .digest = "sha256"};
    const char *cmd = argc > 1 ? argv[1] : "";
    int i = 2;

    if (strcmp(cmd, "imprint") == 0 && argc == 4)
        return imprint(argv[2], argv[3]);
    if (strcmp(cmd, "token") == 0 && argc == 4)
        return token(argv[2], argv[3]);
    if (strcmp(cmd, "put-token") == 0 && argc == 5)
        return put_token(argv[2], argv[3], argv[4]);
    o.chain = sk_X509_new_null();
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--cert") == 0) {
            X509_free(o.cert); /* the last one given counts */
            o.cert = read_cert(v);
        } else if (strcmp(k, "--key") == 0) {
            FILE *f = fopen(v, "r");
            EVP_PKEY_free(o.key);
            o.key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
            if (f)
                fclose(f);
        } else if (strcmp(k, "--chain") == 0)
            sk_X509_push(o.chain, read_cert(v));
        else if (strcmp(k, "--mode") == 0)
            o.mode = v;
        else if (strcmp(k, "--time") == 0)
            o.time = atoll(v);
        else if (strcmp(k, "--policy") == 0)
            o.policy = v;
        else if (strcmp(k, "--digest") == 0)
            o.digest = v;
        else if (strcmp(k, "--port-file") == 0)
            o.port_file = v;
        else if (strcmp(k, "--log") == 0)
            o.log = v;
        else if (strcmp(k, "--imprint-of") == 0)
            o.imprint_of = v;
        else
            die("unknown option");
    }
    if (o.cert == NULL || o.key == NULL)
        die("--cert and --key are required");
    if (strcmp(cmd, "serve") == 0 && o.port_file != NULL && i == argc)
        serve(&o);
    if (strcmp(cmd, "stamp") == 0 && i + 2 == argc) {
        int rc = stamp(&o, argv[i], argv[i + 1]);
        X509_free(o.cert);
        EVP_PKEY_free(o.key);
        sk_X509_pop_free(o.chain, X509_free);
        return rc;
    }
    die("usage: tsa_tool serve|stamp|imprint|token|put-token ... (see the comment at the top)");
    return 2;
}
