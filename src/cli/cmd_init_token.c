/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

enum { OPT_LABEL = 1, OPT_SO_PIN_SOURCE, OPT_FORCE };

static const opt_spec opts[] = {
    {OPT_LABEL, "label", 0, "LABEL", "label of the new token (required, 1 to 32 bytes)"},
    {OPT_SO_PIN_SOURCE, "so-pin-source", 0, "SRC",
     "where the SO PIN comes from: env:NAME, file:PATH, fd:N or prompt "
     "(default: env:CSIGN_SO_PIN if set, else prompt)"},
    {OPT_FORCE, "force", 0, NULL, "erase and re-initialise an existing token with this label"},
    {0, NULL, 0, NULL, NULL},
};

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    init_token_opts *o = ctx;

    switch (id) {
    case OPT_LABEL:
        o->label = arg;
        break;
    case OPT_SO_PIN_SOURCE:
        o->so_pin_spec = arg;
        break;
    case OPT_FORCE:
        o->force = true;
        break;
    }
    return CSIGN_OK;
}

csign_rc init_token_parse(int argc, char **argv, init_token_opts *o)
{
    csign_rc rc;

    memset(o, 0, sizeof(*o));
    rc = cli_parse_options(&cmd_init_token, argc, argv, on_opt, o, &o->c);
    if (rc == CSIGN_OK && !o->c.help && o->label == NULL)
        rc = err_set(CSIGN_EUSAGE, "--label is required");
    return rc;
}

/* The PIN lengths the token to be initialised takes, to refuse a PIN
 * as soon as it is entered rather than after all of them. */
typedef struct {
    const char *what; /* "SO PIN", "user PIN" */
    unsigned long min, max;
    bool known;
} pin_limits;

static csign_rc check_pin_len(void *ctx, const secret *pin)
{
    const pin_limits *l = ctx;

    if (l->known && (pin->len < l->min || pin->len > l->max))
        return err_set(CSIGN_ETOKEN, "the %s must have %lu to %lu bytes for this token", l->what,
                       l->min, l->max);
    return CSIGN_OK;
}

/* The limits of the slot init-token will use (as hsm_init_token() picks
 * it: the token labelled so with --force, else the first uninitialised
 * one); unknown when the module does not say. */
static void find_limits(hsm *h, const init_token_opts *o, pin_limits *l)
{
    hsm_token *list = NULL;
    size_t n = 0;
    const hsm_token *t = NULL;

    l->known = false;
    if (hsm_tokens(h, NULL, &list, &n) != CSIGN_OK) {
        err_clear();
        return;
    }
    for (size_t i = 0; i < n && t == NULL; i++)
        if (o->force && list[i].initialized && strcmp(list[i].label, o->label) == 0)
            t = &list[i];
    for (size_t i = 0; i < n && t == NULL; i++)
        if (!list[i].initialized)
            t = &list[i];
    if (t != NULL && t->max_pin > 0 && t->max_pin >= t->min_pin &&
        t->max_pin != (unsigned long)-1) {
        l->min = t->min_pin;
        l->max = t->max_pin;
        l->known = true;
    }
    hsm_tokens_free(list, n);
}

static csign_rc run(int argc, char **argv)
{
    init_token_opts o;
    pin_source so_src, user_src;
    cli_token m;
    secret *so_pin = NULL, *user_pin = NULL;
    hsm_token tok;
    char prompt[128];
    csign_rc rc = init_token_parse(argc, argv, &o);

    memset(&m, 0, sizeof(m));
    memset(&tok, 0, sizeof(tok));
    if (rc != CSIGN_OK)
        return rc;
    if (o.c.help)
        return cli_help(&cmd_init_token);
    bool tty = pin_have_tty();
    rc = pin_source_resolve(o.so_pin_spec, NULL, "CSIGN_SO_PIN", tty, "SO PIN", "--so-pin-source",
                            &so_src);
    if (rc == CSIGN_OK)
        rc = pin_source_resolve(o.c.pin_spec, NULL, "CSIGN_PIN", tty, "PIN", "--pin-source",
                                &user_src);
    if (rc == CSIGN_OK)
        rc = cli_module_open(&o.c, NULL, &m);
    if (rc != CSIGN_OK)
        goto out;
    if (m.module.is_default && m.module.store != NULL && cli_verbosity < 1)
        cli_note("using csign's built-in software token store %s", m.module.store);
    pin_limits so_lim = {"SO PIN", 0, 0, false}, user_lim;
    find_limits(m.h, &o, &so_lim);
    user_lim = so_lim;
    user_lim.what = "user PIN";
    /* Not holding the module's turn while a person types. */
    cli_token_unlock(&m);
    snprintf(prompt, sizeof(prompt), "New SO PIN for token '%s': ", o.label);
    rc = pin_read_checked(&so_src, prompt, true, check_pin_len, &so_lim, &so_pin);
    if (rc != CSIGN_OK)
        goto out;
    snprintf(prompt, sizeof(prompt), "New user PIN for token '%s': ", o.label);
    rc = pin_read_checked(&user_src, prompt, true, check_pin_len, &user_lim, &user_pin);
    if (rc != CSIGN_OK)
        goto out;
    rc = cli_token_lock(&m);
    if (rc == CSIGN_OK)
        rc = hsm_init_token(m.h, o.label, so_pin, user_pin, o.force, o.c.pin_final_try, &tok);
    cli_token_unlock(&m);
    secret_free(so_pin);
    secret_free(user_pin);
    so_pin = user_pin = NULL;
    if (rc != CSIGN_OK)
        goto out;
    cli_note("initialised %s token '%s'", tok.hardware ? "hardware" : "software", o.label);
    printf("%s\n", tok.uri);
out:
    secret_free(so_pin);
    secret_free(user_pin);
    hsm_token_clear(&tok);
    cli_token_close(&m);
    return rc;
}

const cli_command cmd_init_token = {
    .name = "init-token",
    .usage = "csign init-token --label LABEL [options]",
    .summary = "Initialise a token in the module's first free slot and set its SO and user "
               "PINs. With no --module this is csign's built-in software token store. At a "
               "prompt, a PIN that is too short or not confirmed is asked for again (three "
               "tries).",
    .examples = "csign init-token --label dev\n"
                "csign init-token --label ci --so-pin-source env:SO_PIN --pin-source env:USER_PIN",
    .opts = opts,
    .token = true,
    .run = run,
};
