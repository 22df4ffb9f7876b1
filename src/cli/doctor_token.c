/* SPDX-License-Identifier: Apache-2.0 */
/* csign doctor's checks of the module, the token, its PIN, the login and
 * the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/doctor.h"
#include "core/x509gen.h"

csign_rc doctor_check_module(doctor_run *d)
{
    csign_rc rc = cli_module_open(&d->o.c, d->uri, &d->t);

    if (rc != CSIGN_OK) {
        doctor_say(&d->r, DOCTOR_FAIL, "module",
                   "name the vendor's PKCS#11 module with --module PATH, 'module = PATH' in the "
                   "profile, or CSIGN_MODULE",
                   "%s", err_msg());
        return rc;
    }
    doctor_say(&d->r, DOCTOR_OK, "module", NULL, "%s (%s, %s)%s", hsm_module_path(d->t.h),
               hsm_module_manufacturer(d->t.h), hsm_module_description(d->t.h),
               d->t.module.is_default ? "; csign's built-in software token store" : "");
    return CSIGN_OK;
}

static void check_pin_state(doctor_run *d)
{
    const hsm_token *k = &d->t.token;
    const char *name = hsm_pin_state_name(k->pin_state);

    switch (k->pin_state) {
    case HSM_PIN_OK:
        doctor_say(&d->r, DOCTOR_OK, "pin", NULL, "user PIN %s", name);
        break;
    case HSM_PIN_COUNT_LOW:
        doctor_say(&d->r, DOCTOR_WARN, "pin",
                   "make sure the PIN source holds the right PIN before the next login",
                   "the token reports recent wrong PINs (%s); few tries may be left", name);
        break;
    case HSM_PIN_FINAL_TRY:
        /* With both, the login below spends that try (and says how it went). */
        doctor_say(&d->r, d->o.login && d->o.c.pin_final_try ? DOCTOR_WARN : DOCTOR_FAIL, "pin",
                   "log in once with the right PIN and --pin-final-try (csign doctor --login "
                   "--pin-final-try), which resets the count; a wrong one locks the PIN",
                   "one PIN try is left (%s); csign refuses to log in without --pin-final-try",
                   name);
        break;
    case HSM_PIN_LOCKED:
        doctor_say(&d->r, DOCTOR_FAIL, "pin",
                   "unlock the user PIN with the SO PIN (pkcs11-tool --init-pin --login "
                   "--login-type so, or the token's own tools)",
                   "the user PIN is locked");
        break;
    case HSM_PIN_NOT_SET:
        doctor_say(&d->r, k->login_required ? DOCTOR_FAIL : DOCTOR_OK, "pin",
                   "set a user PIN with the token's tools ('csign init-token' makes a token "
                   "with one)",
                   "no user PIN is set");
        break;
    case HSM_PIN_TO_BE_CHANGED:
        doctor_say(&d->r, DOCTOR_WARN, "pin",
                   "change the user PIN with the token's tools (pkcs11-tool --change-pin)",
                   "the token asks for the user PIN to be changed");
        break;
    }
}

csign_rc doctor_check_token(doctor_run *d)
{
    const hsm_token *k = &d->t.token;
    csign_rc rc = hsm_token_find(d->t.h, d->uri, &d->t.token);

    if (rc != CSIGN_OK) {
        doctor_say(&d->r, DOCTOR_FAIL, "token",
                   "'csign list' shows the tokens the module has; name one in --key "
                   "(pkcs11:token=LABEL;...), or make one with 'csign init-token'",
                   "%s", err_msg());
        return rc;
    }
    doctor_say(
        &d->r, DOCTOR_OK, "token", NULL, "'%s' (%s %s, serial %s, %s); login %s; %s", k->label,
        k->manufacturer, k->model, k->serial, k->hardware ? "hardware" : "software",
        k->login_required ? "required" : "not required",
        k->pin_pad ? "protected authentication path (PIN pad)" : "PIN entered on this computer");
    check_pin_state(d);
    rc = hsm_session_open(d->t.h, &d->t.token, false);
    cli_token_unlock(&d->t); /* cli_login takes the turn again */
    return rc;
}

void doctor_check_login(doctor_run *d)
{
    if (!d->o.login) {
        doctor_say(&d->r, DOCTOR_WARN, "login",
                   "add --login to check the PIN and the private key (a wrong PIN counts "
                   "against the token's tries)",
                   "not tried: no --login");
        return;
    }
    csign_rc rc = cli_login(&d->t, &d->o.c, &d->src);
    if (rc != CSIGN_OK) {
        char fix[256];
        snprintf(fix, sizeof(fix),
                 "check the PIN that %s gives (--pin-source, CSIGN_PIN or 'pin-source' in the "
                 "profile)",
                 pin_source_describe(&d->src));
        doctor_say(&d->r, DOCTOR_FAIL, "login", fix, "%s", err_msg());
        err_clear();
        return;
    }
    d->logged_in = hsm_logged_in(d->t.h);
    doctor_say(&d->r, DOCTOR_OK, "login", NULL, "%s token '%s'%s%s",
               d->logged_in ? "logged in to" : "no login needed by", d->t.token.label,
               d->logged_in ? " with the PIN from " : "",
               d->logged_in ? pin_source_describe(&d->src) : "");
}

/* ---- The key -------------------------------------------------------------- */

static void key_flag(doctor_run *d, const char *name, hsm_bool v, hsm_bool want, const char *attr,
                     const char *ok, const char *bad, const char *fix)
{
    if (!d->key->has_private)
        doctor_say(&d->r, DOCTOR_WARN, name,
                   d->o.login ? "log in with the right PIN (the private key is a private "
                                "object)"
                              : "add --login to see the private key",
                   "not checked: the private key is not visible without a login");
    else if (v == HSM_UNKNOWN)
        doctor_say(&d->r, DOCTOR_WARN, name, "check the key with the token's own tools",
                   "the token does not tell %s", attr);
    else if (v == want)
        doctor_say(&d->r, DOCTOR_OK, name, NULL, "%s", ok);
    else
        doctor_say(&d->r, DOCTOR_FAIL, name, fix, "%s", bad);
}

#define NEW_KEY                                                                                    \
    "make a new key with 'csign keygen' (non-extractable, sensitive, for signing) and get a "      \
    "certificate for it"

void doctor_check_key(doctor_run *d)
{
    char *shown = NULL;
    size_t nmatch = 0;
    csign_rc rc;

    if (d->uri == NULL || !hsm_uri_names_object(d->uri)) {
        doctor_say(&d->r, DOCTOR_FAIL, "key",
                   "give --key 'pkcs11:token=...;object=...' or 'key = ...' in the profile "
                   "('csign list' shows the keys' URIs)",
                   "no key given");
        return;
    }
    rc = hsm_keys(d->t.h, d->uri, &d->keys, &d->nkeys);
    for (size_t i = 0; rc == CSIGN_OK && i < d->nkeys; i++)
        if (d->keys[i].has_private || !d->logged_in) {
            nmatch++;
            d->key = &d->keys[i];
        }
    shown = hsm_uri_redact(d->o.key);
    if (rc != CSIGN_OK)
        doctor_say(&d->r, DOCTOR_FAIL, "key", "check the token with 'csign list --login'", "%s",
                   err_msg());
    else if (nmatch == 0)
        doctor_say(&d->r, DOCTOR_FAIL, "key",
                   "'csign list --login' shows the keys and their URIs; make a key with 'csign "
                   "keygen'",
                   "no %skey matches '%s' on token '%s'%s", d->logged_in ? "private " : "",
                   shown ? shown : "", d->t.token.label,
                   d->logged_in ? "" : " (without --login only public objects are seen)");
    else if (nmatch > 1)
        doctor_say(&d->r, DOCTOR_FAIL, "key",
                   "name one key: add its id= to the URI ('csign list --login' shows each "
                   "key's URI)",
                   "'%s' matches %zu keys", shown ? shown : "", nmatch);
    free(shown);
    err_clear();
    if (rc != CSIGN_OK || nmatch != 1) {
        d->key = NULL;
        return;
    }
    const hsm_key *k = d->key;
    char shape[64];
    if (k->curve[0] != '\0')
        snprintf(shape, sizeof(shape), "EC %s", k->curve);
    else
        snprintf(shape, sizeof(shape), "%s %u",
                 k->type == HSM_KEY_RSA  ? "RSA"
                 : k->type == HSM_KEY_EC ? "EC"
                                         : "key",
                 k->bits);
    doctor_say(&d->r, DOCTOR_OK, "key", NULL, "'%s' (%s) %s", k->label, shape, k->uri);
    key_flag(d, "key-extractable", k->extractable, HSM_NO, "CKA_EXTRACTABLE",
             "not extractable (CKA_EXTRACTABLE false)",
             "the private key can be exported from the token (CKA_EXTRACTABLE true)", NEW_KEY);
    key_flag(d, "key-sensitive", k->sensitive, HSM_YES, "CKA_SENSITIVE",
             "sensitive (CKA_SENSITIVE true)",
             "the private key's value can be read from the token (CKA_SENSITIVE false)", NEW_KEY);
    key_flag(d, "key-sign", k->sign, HSM_YES, "CKA_SIGN", "can sign (CKA_SIGN true)",
             "the private key may not sign (CKA_SIGN false)", NEW_KEY);
    if (hsm_key_public(d->t.h, k, &d->pub) != CSIGN_OK) {
        d->pub = NULL;
        err_clear();
        return;
    }
    /* As sign asks before the PIN: a mechanism for the signature it makes
     * (the digest sign picks for this key; --pss is sign's own choice). */
    bool rsa = EVP_PKEY_is_a(d->pub, "RSA");
    const EVP_MD *md = x509gen_digest(d->pub);
    if (!rsa && !EVP_PKEY_is_a(d->pub, "EC"))
        return;
    if (hsm_sig_check(d->t.h, rsa ? HSM_SIG_PKCS1 : HSM_SIG_ECDSA, EVP_MD_get_type(md)) == CSIGN_OK)
        doctor_say(&d->r, DOCTOR_OK, "key-mechanism", NULL, "the token offers %s signing with %s",
                   rsa ? "RSA PKCS#1" : "ECDSA", EVP_MD_get0_name(md));
    else
        doctor_say(&d->r, DOCTOR_FAIL, "key-mechanism",
                   "use a key type the token can sign with, or the token's vendor module", "%s",
                   err_msg());
    err_clear();
}
