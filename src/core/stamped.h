/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_STAMPED_H
#define CSIGN_STAMPED_H

/*
 * The timestamp a signature carries already: read, so that adding one
 * again can be skipped, or removed, so that a new one can replace it.
 */

#include <stdbool.h>
#include <stddef.h>

#include "sys/err.h"
#include "core/tsa.h"

/*
 * Looks at sig (DER, or PEM when it starts with "-----BEGIN"): one
 * SignerInfo (else CSIGN_EINPUT) and whether it has an id-aa-
 * timeStampToken (*present). When it has, the token is checked as
 * tsa_check_token() does with no expectations (no anchors): CSIGN_OK with
 * *info filled (free with tsa_info_clear()), or that function's error.
 */
csign_rc stamped_read(const unsigned char *sig, size_t len, bool *present, tsa_info *info);

/* sig without its timestamp(s), in the form of sig, in *out
 * (OPENSSL_free). CSIGN_EINPUT when sig is not one signature with one
 * signer. */
csign_rc stamped_strip(const unsigned char *sig, size_t len, unsigned char **out, size_t *out_len);

#endif
