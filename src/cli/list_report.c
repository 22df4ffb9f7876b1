/* SPDX-License-Identifier: Apache-2.0 */
/* What csign list shows: text for people, JSON for programs. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/list_report.h"
#include "cli/json_doc.h"
#include "core/cert.h"

static const char *key_type_name(hsm_key_type t)
{
    switch (t) {
    case HSM_KEY_RSA:
        return "rsa";
    case HSM_KEY_EC:
        return "ec";
    case HSM_KEY_EDDSA:
        return "eddsa";
    case HSM_KEY_OTHER:
        break;
    }
    return "other";
}

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = '\0';
}

/* The key a certificate belongs to, if any. */
static const hsm_key *key_of(const token_view *v, const hsm_cert *c)
{
    return v->owner != NULL ? v->owner[c - v->certs] : NULL;
}

static json_t *tristate(hsm_bool b)
{
    return b == HSM_UNKNOWN ? json_null() : json_boolean(b == HSM_YES);
}

static json_t *json_key(const hsm_key *k)
{
    char *id = malloc(2 * k->id_len + 1);
    json_t *o = json_object();

    if (id == NULL || o == NULL) {
        free(id);
        json_decref(o);
        return NULL;
    }
    hex(k->id, k->id_len, id);
    json_object_set_new(o, "uri", cli_json_string(k->uri));
    json_object_set_new(o, "label", cli_json_string(k->label));
    json_object_set_new(o, "id", cli_json_string(id));
    json_object_set_new(o, "algorithm", cli_json_string(key_type_name(k->type)));
    json_object_set_new(o, "bits", k->bits ? json_integer(k->bits) : json_null());
    json_object_set_new(o, "curve", k->curve[0] ? cli_json_string(k->curve) : json_null());
    json_object_set_new(o, "has_private_key", json_boolean(k->has_private));
    json_object_set_new(o, "has_public_key", json_boolean(k->has_public));
    json_object_set_new(o, "sensitive", tristate(k->sensitive));
    json_object_set_new(o, "always_sensitive", tristate(k->always_sensitive));
    json_object_set_new(o, "extractable", tristate(k->extractable));
    json_object_set_new(o, "never_extractable", tristate(k->never_extractable));
    json_object_set_new(o, "local", tristate(k->local));
    json_object_set_new(o, "sign", tristate(k->sign));
    free(id);
    return o;
}

static json_t *json_cert(const token_view *v, const hsm_cert *c)
{
    cert_summary s;
    const hsm_key *k = key_of(v, c);
    char *id = malloc(2 * c->id_len + 1);
    json_t *o = json_object();

    if (id == NULL || o == NULL) {
        free(id);
        json_decref(o);
        return NULL;
    }
    hex(c->id, c->id_len, id);
    json_object_set_new(o, "uri", cli_json_string(c->uri));
    json_object_set_new(o, "label", cli_json_string(c->label));
    json_object_set_new(o, "id", cli_json_string(id));
    json_object_set_new(o, "authority", json_boolean(c->authority));
    if (cert_summarize(c->der, c->der_len, &s) == CSIGN_OK) {
        json_object_set_new(o, "subject", cli_json_string(s.subject));
        json_object_set_new(o, "issuer", cli_json_string(s.issuer));
        json_object_set_new(o, "not_after", cli_json_string(s.not_after));
        json_t *eku = json_array();
        for (char *p = s.eku, *tok; (tok = strtok_r(p, ",", &p)) != NULL;)
            json_array_append_new(eku, cli_json_string(tok));
        json_object_set_new(o, "extended_key_usage", eku);
        json_object_set_new(o, "ca", json_boolean(s.is_ca));
        json_object_set_new(o, "sha256", cli_json_string(s.sha256));
        cert_summary_clear(&s);
    } else {
        json_object_set_new(o, "error", cli_json_string("not a parsable X.509 certificate"));
    }
    json_object_set_new(o, "key_uri", k ? cli_json_string(k->uri) : json_null());
    free(id);
    return o;
}

static json_t *json_token(const token_view *v)
{
    const hsm_token *t = v->tok;
    json_t *o = json_object();
    json_t *keys = json_array();
    json_t *certs = json_array();

    json_object_set_new(o, "uri", cli_json_string(t->uri));
    json_object_set_new(o, "label", cli_json_string(t->label));
    json_object_set_new(o, "manufacturer", cli_json_string(t->manufacturer));
    json_object_set_new(o, "model", cli_json_string(t->model));
    json_object_set_new(o, "serial", cli_json_string(t->serial));
    json_object_set_new(o, "slot_id", json_integer((json_int_t)t->slot_id));
    json_object_set_new(o, "software", json_boolean(!t->hardware));
    json_object_set_new(o, "login_required", json_boolean(t->login_required));
    json_object_set_new(o, "pin_state", cli_json_string(hsm_pin_state_name(t->pin_state)));
    json_object_set_new(o, "logged_in", json_boolean(v->logged_in));
    for (size_t i = 0; i < v->nkeys; i++)
        json_array_append_new(keys, json_key(&v->keys[i]));
    for (size_t i = 0; i < v->ncerts; i++)
        json_array_append_new(certs, json_cert(v, &v->certs[i]));
    json_object_set_new(o, "keys", keys);
    json_object_set_new(o, "certificates", certs);
    return o;
}

csign_rc list_print_json(const cli_token *m, const token_view *views, size_t n)
{
    json_t *root = json_doc();
    json_t *mod = json_object();
    json_t *toks = json_array();
    csign_rc rc = CSIGN_OK;

    json_object_set_new(mod, "path", cli_json_string(hsm_module_path(m->h)));
    json_object_set_new(mod, "manufacturer", cli_json_string(hsm_module_manufacturer(m->h)));
    json_object_set_new(mod, "description", cli_json_string(hsm_module_description(m->h)));
    json_object_set_new(mod, "builtin_software_store",
                        m->module.store ? cli_json_string(m->module.store) : json_null());
    json_object_set_new(root, "module", mod);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(toks, json_token(&views[i]));
    json_object_set_new(root, "tokens", toks);
    return rc;
}

static const char *yes_no(hsm_bool b, const char *yes, const char *no)
{
    return b == HSM_YES ? yes : b == HSM_NO ? no : "unknown";
}

static void print_key(const hsm_key *k)
{
    char esc[512];
    char *id = malloc(2 * k->id_len + 1);

    if (id != NULL)
        hex(k->id, k->id_len, id);
    printf("  key '%s'\n", cli_escape(k->label, esc, sizeof(esc)));
    printf("    uri:        %s\n", k->uri);
    printf("    id:         %s\n", id && id[0] ? id : "(none)");
    if (k->type == HSM_KEY_RSA)
        printf("    algorithm:  RSA %u bits\n", k->bits);
    else if (k->type == HSM_KEY_EC || k->type == HSM_KEY_EDDSA)
        printf("    algorithm:  %s %s\n", k->type == HSM_KEY_EC ? "EC" : "EdDSA",
               k->curve[0] ? k->curve : "(unknown curve)");
    else
        printf("    algorithm:  other\n");
    if (!k->has_private) {
        printf("    private:    not visible (use --login)\n");
    } else {
        printf("    private:    %s, %s, %s, %s\n",
               yes_no(k->sensitive, "sensitive", "NOT sensitive"),
               yes_no(k->never_extractable, "never extractable", "has been extractable"),
               yes_no(k->local, "generated on the token", "imported"),
               yes_no(k->sign, "can sign", "cannot sign"));
    }
    free(id);
}

static void print_cert(const token_view *v, const hsm_cert *c)
{
    char esc[512];
    cert_summary s;
    const hsm_key *k = key_of(v, c);

    printf("  certificate '%s'%s\n", cli_escape(c->label, esc, sizeof(esc)),
           c->authority ? " (authority)"
           : c->ca      ? " (CA)"
                        : "");
    printf("    uri:        %s\n", c->uri);
    if (cert_summarize(c->der, c->der_len, &s) != CSIGN_OK) {
        printf("    (not a parsable X.509 certificate)\n");
        return;
    }
    printf("    subject:    %s\n", s.subject);
    printf("    issuer:     %s\n", s.issuer);
    printf("    not after:  %s\n", s.not_after);
    printf("    ext. usage: %s\n", s.eku[0] ? s.eku : "(none)");
    printf("    key:        %s\n", k       ? k->uri
                                   : c->ca ? "(none: a CA certificate, for chains)"
                                           : "(no key with this id on the token)");
    cert_summary_clear(&s);
}

void list_print_text(const token_view *views, size_t n)
{
    char esc[512];

    for (size_t i = 0; i < n; i++) {
        const token_view *v = &views[i];
        const hsm_token *t = v->tok;
        if (i > 0)
            putchar('\n');
        printf("token '%s'\n", cli_escape(t->label, esc, sizeof(esc)));
        printf("  uri:          %s\n", t->uri);
        printf("  manufacturer: %s\n", cli_escape(t->manufacturer, esc, sizeof(esc)));
        printf("  model:        %s\n", cli_escape(t->model, esc, sizeof(esc)));
        printf("  serial:       %s\n", cli_escape(t->serial, esc, sizeof(esc)));
        printf("  slot:         %lu\n", t->slot_id);
        printf("  kind:         %s\n", t->hardware ? "hardware token"
                                                   : "software token (keys are not protected "
                                                     "by hardware)");
        printf("  login:        %s; PIN %s%s\n", t->login_required ? "required" : "not required",
               hsm_pin_state_name(t->pin_state), v->logged_in ? "; logged in" : "");
        if (v->nkeys == 0 && v->ncerts == 0)
            printf("  (no %sobjects)\n", v->logged_in ? "" : "public ");
        for (size_t k = 0; k < v->nkeys; k++)
            print_key(&v->keys[k]);
        for (size_t c = 0; c < v->ncerts; c++)
            print_cert(v, &v->certs[c]);
    }
}
