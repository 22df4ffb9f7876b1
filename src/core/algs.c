/* SPDX-License-Identifier: Apache-2.0 */
#include "core/algs.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

bool algs_strong_digest(int nid)
{
    return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* RSASSA-PSS only with SHA-2 for both the hash and MGF1 (absent
 * parameters mean SHA-1). */
static bool strong_pss(const X509_ALGOR *alg)
{
    RSA_PSS_PARAMS *pp =
        alg->parameter ? ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)
                       : NULL;
    X509_ALGOR *mgf_md = NULL;
    bool ok = pp != NULL && pp->hashAlgorithm != NULL && pp->maskGenAlgorithm != NULL &&
              algs_strong_digest(OBJ_obj2nid(pp->hashAlgorithm->algorithm)) &&
              OBJ_obj2nid(pp->maskGenAlgorithm->algorithm) == NID_mgf1 &&
              pp->maskGenAlgorithm->parameter != NULL &&
              (mgf_md = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
                                                  pp->maskGenAlgorithm->parameter)) != NULL &&
              algs_strong_digest(OBJ_obj2nid(mgf_md->algorithm));

    X509_ALGOR_free(mgf_md);
    RSA_PSS_PARAMS_free(pp);
    ERR_clear_error();
    return ok;
}

/* Signature algorithms csign accepts in a SignerInfo. */
bool algs_strong_signature(const X509_ALGOR *alg)
{
    switch (OBJ_obj2nid(alg->algorithm)) {
    case NID_rsassaPss:
        return strong_pss(alg);
    case NID_ecdsa_with_SHA256:
    case NID_ecdsa_with_SHA384:
    case NID_ecdsa_with_SHA512:
    case NID_rsaEncryption:
    case NID_sha256WithRSAEncryption:
    case NID_sha384WithRSAEncryption:
    case NID_sha512WithRSAEncryption:
    case NID_X9_62_id_ecPublicKey:
        return true;
    }
    return false;
}

int algs_chain_eku_conflict(STACK_OF(X509) * chain, uint32_t allowed)
{
    for (int i = 1; i < sk_X509_num(chain); i++) {
        X509 *ca = sk_X509_value(chain, i);
        if ((X509_get_extension_flags(ca) & EXFLAG_XKUSAGE) != 0 &&
            (X509_get_extended_key_usage(ca) & (allowed | XKU_ANYEKU)) == 0)
            return i;
    }
    return 0;
}
