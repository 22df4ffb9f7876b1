/* SPDX-License-Identifier: Apache-2.0 */
/* The token a command works with: module, turn, login, key. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/x509gen.h"
#include "hsm/hsm_watch.h"
#include "sys/io.h"

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
static void note_wait(void *path)
{
    cli_info(1, "waiting for another csign process using module '%s'", (const char *)path);
}

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
    rc = io_lock(name, hsm_call_timeout(), note_wait, (void *)path, &fd);
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
    /* While a person typed, other processes had their turns: a PIN they
     * locked or left at its final try is checked again before it is
     * used. */
    if (rc == CSIGN_OK && src->kind == PIN_SRC_PROMPT)
        rc = hsm_login_check(t->h, c->pin_final_try, &need, &count_low);
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

/* A token SoftHSM did not find: adds which SoftHSM configuration (and so
 * which token folder) was read, and how to show other tools that store. */
static csign_rc where_softhsm_looked(const cli_token *t)
{
    const char *conf = getenv("SOFTHSM2_CONF");
    char why[ERR_MAX];

    if (!t->module.is_default || conf == NULL)
        return CSIGN_ETOKEN;
    snprintf(why, sizeof(why), "%s", err_msg());
    if (t->module.store != NULL)
        return err_set(CSIGN_ETOKEN,
                       "%s (csign's built-in store, SOFTHSM2_CONF=%s; for pkcs11-tool: "
                       "SOFTHSM2_CONF=%s pkcs11-tool --module %s --list-slots)",
                       why, conf, conf, t->module.path);
    return err_set(CSIGN_ETOKEN, "%s (SoftHSM with the SOFTHSM2_CONF=%s set here)", why, conf);
}

csign_rc cli_token_open(const cli_common *c, const hsm_uri *uri, bool rw, bool login, cli_token *t)
{
    pin_source src;
    csign_rc rc;

    memset(t, 0, sizeof(*t));
    if (login && (rc = cli_pin_source(c, uri, &src)) != CSIGN_OK)
        return rc;
    rc = cli_module_open(c, uri, t);
    if (rc == CSIGN_OK && (rc = hsm_token_find(t->h, uri, &t->token)) == CSIGN_ETOKEN)
        rc = where_softhsm_looked(t);
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
        rc = hsm_key_private(t->h, key, *pub, priv);
    return rc;
}
