/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_STORE_H
#define CSIGN_STORE_H

#include <openssl/x509.h>
#include <stdbool.h>

#include "cli/cli.h"

/*
 * Stores cert on the token as the certificate of key (same label and id):
 * a no-op when the identical certificate is there; a different one is
 * replaced only with force. Then stores each CA certificate of chain that
 * the token does not hold yet. The certificate's public key must be the
 * key's (CSIGN_EINPUT otherwise, nothing stored). Needs a read-write,
 * logged-in session. Prints what it did.
 */
csign_rc store_certs(cli_token *t, const hsm_key *key, X509 *cert, STACK_OF(X509) * chain,
                     bool force);

#endif
