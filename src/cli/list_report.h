/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_LIST_REPORT_H
#define CSIGN_LIST_REPORT_H

#include "cli/cli.h"

/* One token's objects, gathered before printing. */
typedef struct {
    const hsm_token *tok;
    bool logged_in;
    hsm_key *keys; /* the keys shown */
    size_t nkeys;
    hsm_key *all_keys; /* every key, to link certificates to */
    size_t nall_keys;
    hsm_cert *certs;
    size_t ncerts;
    const hsm_key **owner; /* per certificate: its key among all_keys, or NULL */
} token_view;

/* Prints the tokens of module m as one JSON document on stdout. */
csign_rc list_print_json(const cli_token *m, const token_view *views, size_t n);

/* Prints the tokens, their keys and certificates as text on stdout. */
void list_print_text(const token_view *views, size_t n);

#endif
