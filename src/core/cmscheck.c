/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CMS side of verifying: reading a SignedData and its SignerInfo the
 * way a verifier must, where OpenSSL 3.0 is lenient. Shared by the
 * signature check (verify.c) and the timestamp check (tsa.c); cms.c makes
 * signatures.
 */
#include "core/cms.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

#include "core/algs.h"

/* The hash RSASSA-PSS parameters name (absent: SHA-1), or NID_undef. */
static int pss_hash(const X509_ALGOR *alg)
{
    RSA_PSS_PARAMS *pp =
        alg->parameter ? ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)
                       : NULL;
    int nid = pp == NULL                  ? NID_undef
              : pp->hashAlgorithm == NULL ? NID_sha1
                                          : OBJ_obj2nid(pp->hashAlgorithm->algorithm);

    RSA_PSS_PARAMS_free(pp);
    ERR_clear_error();
    return nid;
}

static const char *alg_name(int nid)
{
    return nid == NID_undef ? "(unknown)" : OBJ_nid2ln(nid);
}

csign_rc cms_check_signature_alg(CMS_SignerInfo *si, EVP_PKEY *key)
{
    X509_ALGOR *dig = NULL, *sig = NULL;
    bool rsa = key != NULL && EVP_PKEY_is_a(key, "RSA");
    bool ec = key != NULL && EVP_PKEY_is_a(key, "EC");
    bool fits = false;
    int hash = NID_undef;

    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
    int snid = OBJ_obj2nid(sig->algorithm), dnid = OBJ_obj2nid(dig->algorithm);
    switch (snid) {
    case NID_rsaEncryption:
        fits = rsa;
        break;
    case NID_rsassaPss:
        fits = rsa;
        hash = pss_hash(sig);
        break;
    case NID_sha256WithRSAEncryption:
    case NID_sha384WithRSAEncryption:
    case NID_sha512WithRSAEncryption:
        fits = rsa;
        OBJ_find_sigid_algs(snid, &hash, NULL);
        break;
    case NID_ecdsa_with_SHA256:
    case NID_ecdsa_with_SHA384:
    case NID_ecdsa_with_SHA512:
        fits = ec;
        OBJ_find_sigid_algs(snid, &hash, NULL);
        break;
    }
    if (!fits)
        return err_set(CSIGN_ENO, "signature algorithm %s does not fit the signer's %s key",
                       alg_name(snid),
                       rsa  ? "RSA"
                       : ec ? "EC"
                            : "(unknown type of)");
    if (snid != NID_rsaEncryption && hash != dnid)
        return err_set(CSIGN_ENO, "signature algorithm %s does not match digest algorithm %s",
                       alg_name(snid), alg_name(dnid));
    return CSIGN_OK;
}

/* A DER element: identifier (class | constructed | tag) and content. */
typedef struct {
    const unsigned char *tlv;     /* the whole element */
    const unsigned char *p, *end; /* its content */
    int cls, tag;
    bool cons;
} der_el;

/* The next element of [*p, end), or false at the end or when malformed. */
static bool der_next(const unsigned char **p, const unsigned char *end, der_el *e)
{
    long len = 0;

    if (*p >= end)
        return false;
    e->tlv = *p;
    int r = ASN1_get_object(p, &len, &e->tag, &e->cls, end - *p);
    ERR_clear_error();
    if ((r & 0x80) != 0 || r == 0x21)
        return false;
    e->cons = (r & V_ASN1_CONSTRUCTED) != 0;
    e->p = *p;
    e->end = *p + len;
    *p = e->end;
    return true;
}

static bool der_is(const der_el *e, int cls, int tag, bool cons)
{
    return e->cls == cls && e->tag == tag && e->cons == cons;
}

/* An INTEGER's value (-1 when it is none or too large). */
static long der_int(const der_el *e)
{
    const unsigned char *p = e->tlv;
    ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &p, e->end - e->tlv);
    long v = i != NULL ? ASN1_INTEGER_get(i) : -1;

    ASN1_INTEGER_free(i);
    ERR_clear_error();
    return v;
}

/* The OID of an AlgorithmIdentifier, as its content octets. */
static bool der_alg_oid(const der_el *alg, der_el *oid)
{
    const unsigned char *p = alg->p;
    return der_is(alg, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, true) && der_next(&p, alg->end, oid) &&
           der_is(oid, V_ASN1_UNIVERSAL, V_ASN1_OBJECT, false);
}

static bool same_oid(const der_el *a, const der_el *b)
{
    return a->end - a->p == b->end - b->p && memcmp(a->p, b->p, (size_t)(a->end - a->p)) == 0;
}

static int oid_nid(const der_el *oid)
{
    ASN1_OBJECT *o = NULL;
    const unsigned char *p = oid->tlv;
    int nid = NID_undef;

    if (d2i_ASN1_OBJECT(&o, &p, oid->end - oid->tlv) != NULL)
        nid = OBJ_obj2nid(o);
    ASN1_OBJECT_free(o);
    ERR_clear_error();
    return nid;
}

#define MALFORMED(...) err_set(CSIGN_ENO, "malformed signature: " __VA_ARGS__)
#define MAX_DIGESTS 16

/* Every element of a certificates [0] or crls [1] set is a plain
 * certificate or CRL (a SEQUENCE); the other choices are context tagged. */
static bool only_sequences(const der_el *set)
{
    const unsigned char *p = set->p;
    der_el e;

    while (der_next(&p, set->end, &e))
        if (!der_is(&e, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, true))
            return false;
    return p == set->end;
}

/* The first element inside e; *p is then where the next one starts. */
static bool der_enter(const der_el *e, const unsigned char **p, der_el *first)
{
    *p = e->p;
    return der_next(p, e->end, first);
}

static bool der_is_oid(const der_el *e, const unsigned char *oid, size_t len)
{
    return der_is(e, V_ASN1_UNIVERSAL, V_ASN1_OBJECT, false) && (size_t)(e->end - e->p) == len &&
           memcmp(e->p, oid, len) == 0;
}

csign_rc cms_check_signed_data(const unsigned char *der, size_t len)
{
    static const unsigned char signed_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                0x0d, 0x01, 0x07, 0x02};
    static const unsigned char id_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
    const unsigned char *p = der, *q;
    der_el ci, type, wrap, sd, ver, algs, encap, etype, e, digests[MAX_DIGESTS];
    bool used[MAX_DIGESTS] = {false};
    int ndigests = 0;

    if (!der_next(&p, der + len, &ci) || !der_enter(&ci, &q, &type) ||
        !der_is_oid(&type, signed_data, sizeof(signed_data)))
        return CSIGN_OK; /* not a SignedData: the caller says so */
    if (!der_next(&q, ci.end, &wrap) || !der_enter(&wrap, &q, &sd) || !der_enter(&sd, &p, &ver) ||
        !der_next(&p, sd.end, &algs) || !der_is(&algs, V_ASN1_UNIVERSAL, V_ASN1_SET, true) ||
        !der_next(&p, sd.end, &encap) || !der_enter(&encap, &q, &etype))
        return MALFORMED("not a CMS SignedData");
    bool is_data = der_is_oid(&etype, id_data, sizeof(id_data));

    for (q = algs.p; der_next(&q, algs.end, &e); ndigests++) {
        if (ndigests == MAX_DIGESTS)
            return MALFORMED("digestAlgorithms lists more than %d algorithms", MAX_DIGESTS);
        if (!der_alg_oid(&e, &digests[ndigests]))
            return MALFORMED("digestAlgorithms is not a set of algorithms");
    }

    /* certificates [0], crls [1], then the signerInfos SET. */
    bool more = der_next(&p, sd.end, &e);
    if (more && der_is(&e, V_ASN1_CONTEXT_SPECIFIC, 0, true)) {
        if (!only_sequences(&e))
            return MALFORMED("the signature carries attribute or other certificates");
        more = der_next(&p, sd.end, &e);
    }
    if (more && der_is(&e, V_ASN1_CONTEXT_SPECIFIC, 1, true)) {
        if (!only_sequences(&e))
            return MALFORMED("the signature carries revocation information other than CRLs");
        more = der_next(&p, sd.end, &e);
    }
    if (!more || !der_is(&e, V_ASN1_UNIVERSAL, V_ASN1_SET, true))
        return MALFORMED("no signerInfos");

    bool any_v3 = false;
    der_el si, siv, sid, dig, dig_oid;
    for (q = e.p; der_next(&q, e.end, &si);) {
        const unsigned char *r;
        if (!der_enter(&si, &r, &siv) || !der_next(&r, si.end, &sid) ||
            !der_next(&r, si.end, &dig) || !der_alg_oid(&dig, &dig_oid))
            return MALFORMED("a SignerInfo does not parse");
        bool skid = der_is(&sid, V_ASN1_CONTEXT_SPECIFIC, 0, false);
        long want = skid ? 3 : 1, v = der_int(&siv);
        if (v != want)
            return MALFORMED("SignerInfo version %ld, not %ld with %s (RFC 5652 5.3)", v, want,
                             skid ? "a subjectKeyIdentifier" : "an issuerAndSerialNumber");
        any_v3 = any_v3 || skid;
        bool listed = false;
        for (int i = 0; i < ndigests; i++)
            if (same_oid(&digests[i], &dig_oid))
                listed = used[i] = true;
        if (!listed)
            return MALFORMED("digestAlgorithms does not list the signer's digest algorithm");
    }
    /* A SignerInfo's own digest is judged with the SignerInfo. */
    for (int i = 0; i < ndigests; i++) {
        int nid = oid_nid(&digests[i]);
        if (!used[i] && !algs_strong_digest(nid))
            return MALFORMED("digestAlgorithms lists %s (SHA-256, SHA-384, SHA-512 only)",
                             nid == NID_undef ? "an unknown algorithm" : OBJ_nid2sn(nid));
    }
    long want = any_v3 || !is_data ? 3 : 1, v = der_int(&ver);
    if (v != want)
        return MALFORMED("SignedData version %ld, not %ld (RFC 5652 5.1)", v, want);
    return CSIGN_OK;
}

csign_rc cms_signed_attr(CMS_SignerInfo *si, int nid, int type, bool required, const char *what,
                         ASN1_TYPE **value)
{
    int at = CMS_signed_get_attr_by_NID(si, nid, -1);

    *value = NULL;
    if (at < 0)
        return required ? err_set(CSIGN_ENO, "%s is missing", what) : CSIGN_OK;
    if (CMS_signed_get_attr_by_NID(si, nid, at) >= 0)
        return err_set(CSIGN_ENO, "%s appears twice", what);
    X509_ATTRIBUTE *a = CMS_signed_get_attr(si, at);
    if (X509_ATTRIBUTE_count(a) != 1)
        return err_set(CSIGN_ENO, "%s does not have exactly one value", what);
    ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
    if (t == NULL || (type != V_ASN1_ANY && t->type != type))
        return err_set(CSIGN_ENO, "%s is malformed", what);
    *value = t;
    return CSIGN_OK;
}

X509 *cms_find_signer(CMS_SignerInfo *si, STACK_OF(X509) * certs)
{
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0)
            return sk_X509_value(certs, i);
    return NULL;
}
