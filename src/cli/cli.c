/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "cli/cli.h"

#include "sys/hex.h"
#include "hsm/hsm_watch.h"
#include "sys/io.h"
#include "core/x509gen.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_verbosity;

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

/* One line on stderr. Control characters (from a token label, a file
 * name, a module's answer) are shown as '?': they must not forge lines or
 * drive the terminal. */
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
    char line[4096];

    vsnprintf(line, sizeof(line), fmt, ap);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "csign: %s%s\n", prefix, line);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    if (cli_verbosity < 0)
        return;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    if (cli_verbosity < 0)
        return;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void cli_info(int level, const char *fmt, ...)
{
    va_list ap;
    if (cli_verbosity < level)
        return;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at p and its code point, or 0. */
static size_t utf8_char(const unsigned char *p, unsigned long *cp)
{
    size_t n;
    unsigned long min;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, *cp = p[0] & 0x1f, min = 0x80;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, *cp = p[0] & 0x0f, min = 0x800;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, *cp = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* Characters that could change how the terminal shows the rest of a line:
 * C1 controls and bidirectional overrides. */
static bool risky(unsigned long cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

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

const char *cli_escape(const char *s, char *buf, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;

    if (size == 0)
        return buf;
    while (*p) {
        unsigned long cp = 0;
        size_t n = *p < 0x80 ? 1 : utf8_char(p, &cp);
        bool plain = n == 1 ? (*p >= 0x20 && *p != 0x7f && *p != '\\') : n > 1 && !risky(cp);
        if (n == 0)
            n = 1;
        /* Only whole characters or whole escapes, and room for the NUL. */
        if (o + (plain ? n : 4 * n) + 1 > size)
            break;
        if (plain) {
            memcpy(buf + o, p, n);
            o += n;
        } else {
            for (size_t i = 0; i < n; i++)
                o += (size_t)snprintf(buf + o, size - o, "\\x%02x", p[i]);
        }
        p += n;
    }
    buf[o] = '\0';
    return buf;
}

json_t *cli_json_string(const char *s)
{
    json_t *j = json_string(s);
    size_t size;
    char *buf;

    if (j != NULL || s == NULL)
        return j != NULL ? j : json_null();
    /* Not valid UTF-8: JSON cannot carry it as it is. */
    size = strlen(s) * 4 + 1;
    buf = malloc(size);
    if (buf == NULL)
        return NULL;
    j = json_string(cli_escape(s, buf, size));
    free(buf);
    return j;
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
    char *text;

    tables(cmd, t);
    text = opt_help_text(cmd->usage, cmd->summary, t);
    if (text == NULL)
        return err_oom();
    fputs(text, stdout);
    free(text);
    return CSIGN_OK;
}

csign_rc cli_pin_source(const cli_common *c, const hsm_uri *uri, pin_source *out)
{
    bool tty = c->pin_spec == NULL && hsm_uri_pin_source(uri) == NULL && pin_have_tty();
    csign_rc rc = pin_source_resolve(c->pin_spec, hsm_uri_pin_source(uri), "CSIGN_PIN", tty, "PIN",
                                     "--pin-source", out);
    /* Out of the environment now, even if no login follows. */
    if (rc == CSIGN_OK && out->kind == PIN_SRC_ENV)
        pin_env_take(out->name);
    return rc;
}

/* Takes the lock of the module at path for t. */
static csign_rc lock_module(cli_token *t, const char *path)
{
    char name[4200];
    int fd = -1;
    csign_rc rc;

    if (t->locked)
        return CSIGN_OK;
    /* The file, not the name: links and other spellings share one turn. */
    char *real = realpath(path, NULL);
    snprintf(name, sizeof(name), "module\n%s", real ? real : path);
    free(real);
    rc = io_lock(name, hsm_call_timeout(), &fd);
    if (rc != CSIGN_OK)
        return err_wrap(CSIGN_ETOKEN, "waiting for another csign process using module '%s'", path);
    if (fd < 0) {
        cli_info(1, "no lock for module '%s' (%s); going on without it", path, err_msg());
        return CSIGN_OK;
    }
    t->locked = true;
    t->lock_fd = fd;
    return CSIGN_OK;
}

/* Shown with -v: each retry of a token call that failed in a way that may
 * pass. */
static void retry_note(const char *reason, unsigned retry, unsigned max, unsigned wait_ms)
{
    cli_info(1, "%s; trying again in %u ms (retry %u of %u)", reason, wait_ms, retry, max);
}

csign_rc cli_module_open(const cli_common *c, const hsm_uri *uri, cli_token *t)
{
    csign_rc rc;

    memset(t, 0, sizeof(*t));
    rc = hsm_module_resolve(c->module, uri, &t->module);
    if (rc != CSIGN_OK)
        return rc;
    if (t->module.is_default && t->module.store != NULL)
        cli_info(1, "using csign's built-in software token store %s (SoftHSM)", t->module.store);
    cli_stall_arm(c);
    hsm_set_retry_note(retry_note);
    rc = lock_module(t, t->module.path);
    if (rc == CSIGN_OK)
        rc = hsm_open(t->module.path, &t->h);
    if (rc == CSIGN_OK)
        cli_info(1, "loaded PKCS#11 module %s (%s, %s)", hsm_module_path(t->h),
                 hsm_module_manufacturer(t->h), hsm_module_description(t->h));
    return rc;
}

csign_rc cli_token_lock(cli_token *t)
{
    return lock_module(t, hsm_module_path(t->h));
}

void cli_token_unlock(cli_token *t)
{
    if (t->locked)
        io_unlock(t->lock_fd);
    t->locked = false;
}

/* Login under the token's lock; the lock is let go while a person types
 * the PIN at a prompt or on a PIN pad. */
static csign_rc login_locked(cli_token *t, const cli_common *c, const pin_source *src)
{
    hsm_login_need need;
    bool count_low = false;
    secret *pin = NULL;
    char prompt[128];
    csign_rc rc = hsm_login_check(t->h, c->pin_final_try, &need, &count_low);

    if (rc != CSIGN_OK)
        return rc;
    if (count_low)
        cli_warn("token '%s' reports recent wrong PINs; few tries may be left", t->token.label);
    switch (need) {
    case HSM_LOGIN_NONE:
        cli_info(2, "token '%s' needs no login", t->token.label);
        return CSIGN_OK;
    case HSM_LOGIN_PINPAD:
        cli_token_unlock(t);
        cli_note("enter the PIN for token '%s' on the reader's PIN pad (csign waits %u s at most)",
                 t->token.label, c->token_timeout ? c->token_timeout : HSM_CALL_TIMEOUT_DEFAULT);
        return hsm_login(t->h, NULL);
    case HSM_LOGIN_PIN:
        break;
    }
    snprintf(prompt, sizeof(prompt), "PIN for token '%s': ", t->token.label);
    if (src->kind == PIN_SRC_PROMPT)
        cli_token_unlock(t);
    rc = pin_read(src, prompt, false, &pin);
    if (rc == CSIGN_OK)
        rc = cli_token_lock(t);
    if (rc != CSIGN_OK) {
        secret_free(pin);
        return rc;
    }
    cli_info(2, "logging in to token '%s' with the PIN from %s", t->token.label,
             pin_source_describe(src));
    rc = hsm_login(t->h, pin);
    secret_free(pin);
    if (rc == CSIGN_OK)
        cli_info(1, "logged in to token '%s'", t->token.label);
    return rc;
}

csign_rc cli_login(cli_token *t, const cli_common *c, const pin_source *src)
{
    csign_rc rc = cli_token_lock(t);

    if (rc == CSIGN_OK)
        rc = login_locked(t, c, src);
    cli_token_unlock(t);
    return rc;
}

csign_rc cli_token_open(const cli_common *c, const hsm_uri *uri, bool rw, bool login, cli_token *t)
{
    pin_source src;
    csign_rc rc;

    memset(t, 0, sizeof(*t));
    if (login && (rc = cli_pin_source(c, uri, &src)) != CSIGN_OK)
        return rc;
    rc = cli_module_open(c, uri, t);
    if (rc == CSIGN_OK)
        rc = hsm_token_find(t->h, uri, &t->token);
    if (rc != CSIGN_OK)
        return rc;
    if (!t->token.hardware)
        cli_info(1, "token '%s' is a software token: its keys are not protected by hardware",
                 t->token.label);
    rc = hsm_session_open(t->h, &t->token, rw);
    if (rc == CSIGN_OK && login)
        rc = cli_login(t, c, &src);
    cli_token_unlock(t); /* cli_login takes the turn again when it is needed */
    return rc;
}

void cli_token_close(cli_token *t)
{
    cli_token_unlock(t);
    hsm_close(t->h);
    hsm_token_clear(&t->token);
    hsm_module_choice_clear(&t->module);
    memset(t, 0, sizeof(*t));
}

csign_rc cli_key_open(const cli_common *c, const char *key_uri, bool rw, cli_token *t,
                      hsm_uri **uri, hsm_key *key)
{
    csign_rc rc;

    memset(t, 0, sizeof(*t));
    memset(key, 0, sizeof(*key));
    *uri = NULL;
    if (key_uri == NULL)
        return err_set(CSIGN_EUSAGE, "--key is required");
    rc = hsm_uri_parse(key_uri, uri);
    if (rc == CSIGN_OK && !hsm_uri_names_object(*uri))
        rc = err_set(CSIGN_EUSAGE, "--key needs a URI that names a key (object= or id=)");
    if (rc == CSIGN_OK)
        rc = cli_token_open(c, *uri, rw, true, t);
    if (rc == CSIGN_OK)
        rc = hsm_key_find(t->h, *uri, true, key);
    return rc;
}

csign_rc cli_signing_key(const cli_common *c, const char *key_uri, bool rw, cli_token *t,
                         hsm_uri **uri, hsm_key *key, EVP_PKEY **pub, EVP_PKEY **priv)
{
    csign_rc rc = cli_key_open(c, key_uri, rw, t, uri, key);

    *pub = *priv = NULL;
    if (rc == CSIGN_OK)
        rc = hsm_key_public(t->h, key, pub);
    /* Certificates and requests are signed as x509gen signs them. */
    if (rc == CSIGN_OK && (EVP_PKEY_is_a(*pub, "RSA") || EVP_PKEY_is_a(*pub, "EC")))
        rc = hsm_sig_check(t->h, EVP_PKEY_is_a(*pub, "RSA") ? HSM_SIG_PKCS1 : HSM_SIG_ECDSA,
                           EVP_MD_get_type(x509gen_digest(*pub)));
    if (rc == CSIGN_OK)
        rc = hsm_key_private(t->h, key, priv);
    return rc;
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
