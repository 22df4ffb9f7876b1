/* SPDX-License-Identifier: Apache-2.0 */
/* The options every command shares, --help, and reading and writing the
 * files commands take and make. */
#define _GNU_SOURCE
#include "cli/cli.h"
#include "cli/json_doc.h"

#include "cli/config.h"
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

/* Only cli_parse() handles these; no command sees them. */
enum { OPT_CONFIG = 950, OPT_PROFILE };

static const opt_spec global_opts[] = {
    {OPT_CONFIG, "config", 0, "FILE",
     "read settings from FILE too, after the usual files (default: $CSIGN_CONFIG)"},
    {OPT_PROFILE, "profile", 0, "NAME",
     "use the settings of [profile NAME] (default: $CSIGN_PROFILE; see docs/config.md)"},
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
    const char *config;  /* --config */
    const char *profile; /* --profile */
    bool seen[1024];     /* option ids given on the command line */
    bool applying;       /* apply_config() is calling */
    bool uri_pin_source; /* a pkcs11: URI given has a pin-source */
    bool uri_module;     /* a pkcs11: URI given has a module-path */
};

static csign_rc dispatch(void *ctx, int id, const char *arg)
{
    struct dispatch *d = ctx;

    if (id >= 0 && id < 1024 && !d->applying)
        d->seen[id] = true;
    /* A URI on the command line is an option too: what it says about the
     * PIN source or the module beats the files. */
    if (!d->applying && arg != NULL && strncmp(arg, "pkcs11:", 7) == 0) {
        d->uri_pin_source = d->uri_pin_source || strstr(arg, "pin-source=") != NULL;
        d->uri_module = d->uri_module || strstr(arg, "module-path=") != NULL;
    }
    switch (id) {
    case OPT_CONFIG:
        d->config = arg;
        return CSIGN_OK;
    case OPT_PROFILE:
        d->profile = arg;
        return CSIGN_OK;
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

static const opt_spec *find_option(const opt_spec *const *t, const char *name)
{
    for (; *t != NULL; t++)
        for (const opt_spec *o = *t; o->id != 0; o++)
            if (strcmp(o->name, name) == 0)
                return o;
    return NULL;
}

bool cli_command_has_option(const cli_command *cmd, const char *name)
{
    const opt_spec *t[4];

    tables(cmd, t);
    return find_option(t, name) != NULL;
}

/* Puts the file and line of key's setting before the reason of rc. */
static csign_rc where_from(csign_rc rc, const char *key)
{
    size_t n;
    const config_entry *e = config_entries(&n);
    char why[512];

    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].key, key) == 0) {
            snprintf(why, sizeof(why), "%s", err_msg());
            return err_set(rc, "%s:%u: %s", e[i].file, e[i].line, why);
        }
    }
    return rc;
}

/*
 * The settings of the configuration files that this command takes and
 * that neither its command line nor an environment variable gave, passed
 * to the same handler as the options, so that no command needs code of
 * its own for them. A value the handler refuses is reported with its
 * file and line.
 */
static csign_rc apply_config(const opt_spec *const *t, struct dispatch *d)
{
    size_t n;
    const config_entry *e = config_entries(&n);

    for (size_t i = 0; i < n; i++) {
        const opt_spec *o = find_option(t, e[i].key);
        if (o == NULL || o->id < 0 || o->id >= 1024 || d->seen[o->id] ||
            config_env_override(e[i].key) != NULL)
            continue;
        if (o->arg == NULL && strcmp(e[i].value, "true") != 0)
            continue;
        if ((o->id == OPT_PIN_SOURCE && d->uri_pin_source) ||
            (o->id == OPT_MODULE && d->uri_module))
            continue;
        csign_rc rc = dispatch(d, o->id, o->arg != NULL ? e[i].value : NULL);
        if (rc != CSIGN_OK) {
            char why[512];
            snprintf(why, sizeof(why), "%s", err_msg());
            return err_set(rc, "%s:%u: %s", e[i].file, e[i].line, why);
        }
    }
    return CSIGN_OK;
}

csign_rc cli_parse(const cli_command *cmd, int argc, char **argv, opt_handler handler, void *ctx,
                   cli_common *common, char **operands, int *n_operands)
{
    const opt_spec *t[4];
    struct dispatch *d = calloc(1, sizeof(*d));
    csign_rc rc;

    if (d == NULL)
        return err_oom();
    *d = (struct dispatch){.handler = handler, .ctx = ctx, .common = common};
    tables(cmd, t);
    memset(common, 0, sizeof(*common));
    common->command = cmd->name;
    rc = opt_parse(t, argc, argv, dispatch, d, operands, n_operands);
    /* --help reads no file, so that it works whatever the files say. */
    if (rc == CSIGN_OK && !common->help)
        rc = config_load(d->config, d->profile);
    d->applying = true;
    if (rc == CSIGN_OK && !common->help)
        rc = apply_config(t, d);
    if (rc == CSIGN_OK && cmd->token && !common->help) {
        rc = cli_token_timeout(common);
        if (rc != CSIGN_OK && common->token_timeout_arg != NULL && !d->seen[OPT_TOKEN_TIMEOUT])
            rc = where_from(rc, "token-timeout");
    }
    free(d);
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

const cli_command *cli_command_named(const char *name)
{
    static const cli_command *const all[] = {
        &cmd_init_token,  &cmd_list,   &cmd_keygen, &cmd_csr,    &cmd_selfsign,
        &cmd_import_cert, &cmd_sign,   &cmd_verify, &cmd_digest, &cmd_timestamp,
        &cmd_config,      &cmd_doctor, NULL,
    };

    for (const cli_command *const *c = all; *c != NULL; c++)
        if (strcmp((*c)->name, name) == 0)
            return *c;
    return NULL;
}

csign_rc cli_help(const cli_command *cmd)
{
    const opt_spec *t[4];
    size_t width = help_width();
    char *text, *ex = NULL;

    json_doc_drop(); /* --help is text, also after --json */
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
