/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_COMMANDS_H
#define CSIGN_COMMANDS_H

/* Each command's parsed options, and its parser (no I/O, for unit tests). */

#include "cli.h"

typedef struct {
    cli_common c;
    bool login;
    bool json;
    const char *uri;
} list_opts;

csign_rc list_parse(int argc, char **argv, list_opts *o);

typedef struct {
    cli_common c;
    const char *label;
    const char *so_pin_spec;
    bool force;
} init_token_opts;

csign_rc init_token_parse(int argc, char **argv, init_token_opts *o);

#endif
