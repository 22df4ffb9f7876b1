/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_KEYID_H
#define CSIGN_KEYID_H

#include <openssl/evp.h>

#include "sys/err.h"

/*
 * The RFC 5280 key identifier of pub: SHA-1 of the subjectPublicKey bits.
 * Certificates carry it as subject and authority key identifier; keys
 * csign makes on a token carry it as CKA_ID, so the two find each other.
 * CSIGN_EINTERNAL when OpenSSL cannot encode the key.
 */
csign_rc keyid_compute(const EVP_PKEY *pub, unsigned char id[20]);

#endif
