/* SPDX-License-Identifier: Apache-2.0 */
/* The options every command shares, --help, and reading and writing the
 * files commands take and make. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include "cli/help.h"
#include "sys/hex.h"
#include "sys/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_spec token_opts[] = {
    {OPT_MODULE, "module", 0, "PATH", "PKCS#11 module (default: $CSIGN_MODULE, else SoftHSM2)"},
    {OPT_PIN_SOURCE, "pin-source", 0, "SRC",
     "where the PIN comes from: env:NAME, file:PATH, fd:N or prompt"},
    {OPT_PIN_FINAL_TRY, "pin-final-try", 0, NULL,
     "log in even when the token allows one more PIN try only"},
    {OPT_TOKEN_TIMEOUT, "token-timeout", 0, "SECONDS",
     "give up on a token that does not answer a call within SECONDS (default: "
     "$CSIGN_TOKEN_TIMEOUT, else 300)"},
    {0, NULL, 0, NULL, NULL},
};

static const opt_spec global_opts[] = {
    {OPT_VERBOSE, "verbose", 'v', NULL, "say more on stderr (repeat for more)"},
    {OPT_QUIET, "quiet", 'q', NULL, "say only errors on stderr"},
    {OPT_HELP, "help", 'h', NULL, "show this help"},
    {0, NULL, 0, NULL, NULL},
};

typedef struct {
    const char *s;
    size_t i;
} indexed;

static int by_string_then_index(const void *x, const void *y)
{
    const indexed *a = x, *b = y;
    int c = strcmp(a->s, b->s);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

bool cli_find_duplicate(const char *const *v, size_t n, size_t *a, size_t *b)
{
    indexed *t = n > 1 ? malloc(n * sizeof(*t)) : NULL;
    bool found = false;

    for (size_t i = 0; t != NULL && i < n; i++)
        t[i] = (indexed){v[i], i};
    if (t != NULL)
        qsort(t, n, sizeof(*t), by_string_then_index);
    for (size_t i = 1; t != NULL && !found && i < n; i++) {
        if (strcmp(t[i - 1].s, t[i].s) == 0) {
            *a = t[i - 1].i;
            *b = t[i].i;
            found = true;
        }
    }
    free(t);
    return found;
}

struct dispatch {
    opt_handler handler;
    void *ctx;
    cli_common *common;
};

static csign_rc dispatch(void *ctx, int id, const char *arg)
{
    struct dispatch *d = ctx;

    switch (id) {
    case OPT_MODULE:
        d->common->module = arg;
        return CSIGN_OK;
    case OPT_PIN_SOURCE:
        d->common->pin_spec = arg;
        return CSIGN_OK;
    case OPT_PIN_FINAL_TRY:
        d->common->pin_final_try = true;
        return CSIGN_OK;
    case OPT_TOKEN_TIMEOUT:
        d->common->token_timeout_arg = arg;
        return CSIGN_OK;
    case OPT_VERBOSE:
        if (cli_verbosity < 0)
            cli_verbosity = 0;
        cli_verbosity++;
        return CSIGN_OK;
    case OPT_QUIET:
        cli_verbosity = -1;
        return CSIGN_OK;
    case OPT_HELP:
        d->common->help = true;
        return CSIGN_OK;
    default:
        return d->handler(d->ctx, id, arg);
    }
}

static void tables(const cli_command *cmd, const opt_spec *out[4])
{
    int n = 0;
    out[n++] = cmd->opts;
    if (cmd->token)
        out[n++] = token_opts;
    out[n++] = global_opts;
    out[n] = NULL;
}

csign_rc cli_parse(const cli_command *cmd, int argc, char **argv, opt_handler handler, void *ctx,
                   cli_common *common, char **operands, int *n_operands)
{
    const opt_spec *t[4];
    struct dispatch d = {handler, ctx, common};
    csign_rc rc;

    tables(cmd, t);
    memset(common, 0, sizeof(*common));
    common->command = cmd->name;
    rc = opt_parse(t, argc, argv, dispatch, &d, operands, n_operands);
    if (rc == CSIGN_OK && cmd->token && !common->help)
        rc = cli_token_timeout(common);
    return rc;
}

csign_rc cli_parse_options(const cli_command *cmd, int argc, char **argv, opt_handler handler,
                           void *ctx, cli_common *common)
{
    char **operands = calloc((size_t)argc + 1, sizeof(*operands));
    int n = 0;
    csign_rc rc;

    if (operands == NULL)
        return err_oom();
    rc = cli_parse(cmd, argc, argv, handler, ctx, common, operands, &n);
    if (rc == CSIGN_OK && n > 0)
        rc = err_set(CSIGN_EUSAGE, "unexpected argument '%s'", operands[0]);
    free(operands);
    return rc;
}

csign_rc cli_help(const cli_command *cmd)
{
    const opt_spec *t[4];
    size_t width = help_width();
    char *text, *ex = NULL;

    tables(cmd, t);
    text = opt_help_wrapped(cmd->usage, cmd->summary, t, width);
    if (text != NULL && cmd->examples != NULL)
        ex = opt_help_examples(cmd->examples, width);
    if (text == NULL || (cmd->examples != NULL && ex == NULL)) {
        free(text);
        return err_oom();
    }
    fputs(text, stdout);
    fputs(ex != NULL ? ex : "", stdout);
    free(text);
    free(ex);
    return CSIGN_OK;
}

csign_rc cli_output_bio(const char *path, BIO *b, bool encoded, const char *what, bool force)
{
    char *data = NULL;
    long len;

    if (b == NULL || !encoded)
        return err_set_ssl(CSIGN_EINTERNAL, "cannot encode the %s", what);
    len = BIO_get_mem_data(b, &data);
    return cli_output(path, data, (size_t)len, force);
}

csign_rc cli_read_signature(const char *path, unsigned char **sig, size_t *len)
{
    csign_rc rc = io_read_file(path, CLI_SIG_MAX, sig, len);

    if (rc == CSIGN_EINPUT)
        rc = err_set(CSIGN_EINPUT, "malformed signature: larger than %d bytes", CLI_SIG_MAX);
    return rc;
}

csign_rc cli_output(const char *path, const void *data, size_t len, bool force)
{
    if (path != NULL && strcmp(path, "-") != 0)
        return io_write_file(path, data, len, force);
    if (fwrite(data, 1, len, stdout) != len)
        return err_set(CSIGN_EIO, "cannot write to standard output");
    return CSIGN_OK;
}

csign_rc cli_hex(const char *text, const char *option, unsigned char *out, size_t max, size_t *len)
{
    size_t n = 0;

    for (const char *p = text; *p;) {
        /* ':' only between byte pairs: "0a:1b". */
        if (*p == ':' && p != text && p[1] != '\0' && p[1] != ':') {
            p++;
            continue;
        }
        unsigned char byte;
        if (!hex_decode(p, 1, &byte))
            return err_set(CSIGN_EUSAGE, "%s needs hex digits, in pairs", option);
        if (n == max)
            return err_set(CSIGN_EUSAGE, "%s is longer than %zu bytes", option, max);
        out[n++] = byte;
        p += 2;
    }
    if (n == 0)
        return err_set(CSIGN_EUSAGE, "%s is empty", option);
    *len = n;
    return CSIGN_OK;
}
