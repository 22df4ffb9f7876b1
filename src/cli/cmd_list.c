/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/json_doc.h"
#include "cli/list_report.h"
#include "core/cert.h"

enum { OPT_LOGIN = 1, OPT_JSON };

static const opt_spec opts[] = {
    {OPT_LOGIN, "login", 0, NULL, "log in to show private objects too (one token only)"},
    {OPT_JSON, "json", 0, NULL,
     "print one JSON document on stdout (docs/json.md, docs/list-json.md)"},
    {0, NULL, 0, NULL, NULL},
};

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    list_opts *o = ctx;
    (void)arg;
    if (id == OPT_LOGIN)
        o->login = true;
    else if (id == OPT_JSON) {
        o->json = true;
        json_doc_want("list", false);
    }
    return CSIGN_OK;
}

csign_rc list_parse(int argc, char **argv, list_opts *o)
{
    char **operands = calloc((size_t)argc + 1, sizeof(*operands));
    int n = 0;
    csign_rc rc;

    if (operands == NULL)
        return err_oom();
    memset(o, 0, sizeof(*o));
    rc = cli_parse(&cmd_list, argc, argv, on_opt, o, &o->c, operands, &n);
    if (rc == CSIGN_OK && n > 1)
        rc = err_set(CSIGN_EUSAGE, "give at most one pkcs11: URI");
    if (rc == CSIGN_OK && n == 1)
        o->uri = operands[0];
    free(operands);
    return rc;
}

/* Links each certificate to its key (hsm_cert_is_keys()) while the
 * session is open: keys without an id need their public key for that. */
static csign_rc link_certs(hsm *h, token_view *v)
{
    if ((v->owner = calloc(v->ncerts + 1, sizeof(*v->owner))) == NULL)
        return err_oom();
    for (size_t k = 0; k < v->nall_keys; k++) {
        const hsm_key *key = &v->all_keys[k];
        EVP_PKEY *pub = NULL;
        if (key->id_len == 0 && key->pub_handle != 0 && hsm_key_public(h, key, &pub) != CSIGN_OK)
            continue; /* listed without its certificate rather than not at all */
        for (size_t c = 0; c < v->ncerts; c++)
            if (v->owner[c] == NULL && hsm_cert_is_keys(&v->certs[c], key, pub))
                v->owner[c] = key;
        EVP_PKEY_free(pub);
    }
    return CSIGN_OK;
}

/* Reads one token's objects through a fresh session. */
static csign_rc gather(cli_token *m, const list_opts *o, const hsm_uri *uri, const pin_source *src,
                       token_view *v)
{
    csign_rc rc = hsm_session_open(m->h, v->tok, false);

    if (rc == CSIGN_OK && o->login) {
        hsm_token_clear(&m->token);
        rc = hsm_token_copy(v->tok, &m->token);
        if (rc == CSIGN_OK)
            rc = cli_login(m, &o->c, src);
        v->logged_in = rc == CSIGN_OK && hsm_logged_in(m->h);
    }
    if (rc == CSIGN_OK)
        rc = hsm_keys(m->h, uri, &v->keys, &v->nkeys);
    if (rc == CSIGN_OK)
        rc = hsm_keys(m->h, NULL, &v->all_keys, &v->nall_keys);
    if (rc == CSIGN_OK)
        rc = hsm_certs(m->h, uri, &v->certs, &v->ncerts);
    if (rc == CSIGN_OK)
        rc = link_certs(m->h, v);
    hsm_session_close(m->h);
    return rc;
}

/* Why list shows nothing: create a token only when one says it is not
 * initialised; never for tokens the module cannot read. */
static void say_none(const hsm *h, const hsm_token *toks, size_t n)
{
    char why[128];
    bool blank = false;

    for (size_t i = 0; i < n; i++)
        blank = blank || !toks[i].initialized;
    if (hsm_unreadable_slots(h, why, sizeof(why)) != NULL)
        cli_note("no initialised token the module can read (%s)", why);
    else if (blank)
        cli_note("no initialised token; create one with 'csign init-token --label NAME'");
    else if (hsm_module_remote(h))
        cli_note("the module shows no token: its p11-kit server exports none (does the "
                 "server's pkcs11: URI name a token of its module?)");
    else
        cli_note("the module shows no token: is it plugged in, or the module configured?");
}

static csign_rc run(int argc, char **argv)
{
    list_opts o;
    hsm_uri *uri = NULL;
    cli_token m;
    pin_source src = {0};
    hsm_token *toks = NULL;
    size_t ntoks = 0, nviews = 0;
    token_view *views = NULL;
    csign_rc rc = list_parse(argc, argv, &o);

    memset(&m, 0, sizeof(m));
    if (rc != CSIGN_OK)
        return rc;
    if (o.c.help)
        return cli_help(&cmd_list);
    if (o.uri != NULL && (rc = hsm_uri_parse(o.uri, &uri)) != CSIGN_OK)
        return rc;
    if (o.login && (rc = cli_pin_source(&o.c, uri, &src)) != CSIGN_OK)
        goto out;
    rc = cli_module_open(&o.c, uri, &m);
    cli_token_unlock(&m); /* loaded; reading and printing need no turn */
    if (rc != CSIGN_OK)
        goto out;
    if (o.login) {
        /* Logging in needs exactly one token: each would want its PIN. */
        toks = calloc(1, sizeof(*toks));
        if (toks == NULL) {
            rc = err_oom();
            goto out;
        }
        rc = hsm_token_find(m.h, uri, &toks[0]);
        if (rc == CSIGN_EUSAGE)
            err_wrap(rc, "--login needs one token");
        ntoks = rc == CSIGN_OK ? 1 : 0;
    } else {
        rc = hsm_tokens(m.h, uri, &toks, &ntoks);
        size_t initialised = 0;
        for (size_t i = 0; rc == CSIGN_OK && i < ntoks; i++)
            initialised += toks[i].initialized;
        /* A URI that names no token is an error that lists the tokens;
         * the token it names may also turn up at that second look (the
         * module loaded again), and is then the one shown. */
        if (rc == CSIGN_OK && uri != NULL && initialised == 0) {
            hsm_token found;
            rc = hsm_token_find(m.h, uri, &found);
            if (rc == CSIGN_OK) {
                hsm_tokens_free(toks, ntoks);
                toks = calloc(1, sizeof(*toks));
                ntoks = toks ? 1 : 0;
                if (toks != NULL)
                    toks[0] = found;
                else {
                    hsm_token_clear(&found);
                    rc = err_oom();
                }
            }
        }
    }
    if (rc != CSIGN_OK)
        goto out;
    views = calloc(ntoks + 1, sizeof(*views));
    if (views == NULL) {
        rc = err_oom();
        goto out;
    }
    for (size_t i = 0; i < ntoks && rc == CSIGN_OK; i++) {
        if (!toks[i].initialized)
            continue;
        views[nviews].tok = &toks[i];
        rc = gather(&m, &o, uri, &src, &views[nviews]);
        nviews++;
    }
    if (rc == CSIGN_OK) {
        if (o.json)
            rc = list_print_json(&m, views, nviews);
        else if (nviews == 0)
            say_none(m.h, toks, ntoks);
        else
            list_print_text(views, nviews);
    }
out:
    for (size_t i = 0; views != NULL && i < nviews; i++) {
        hsm_keys_free(views[i].keys, views[i].nkeys);
        hsm_keys_free(views[i].all_keys, views[i].nall_keys);
        hsm_certs_free(views[i].certs, views[i].ncerts);
        free(views[i].owner);
    }
    free(views);
    hsm_tokens_free(toks, ntoks);
    cli_token_close(&m);
    hsm_uri_free(uri);
    return rc;
}

const cli_command cmd_list = {
    .name = "list",
    .usage = "csign list [options] [pkcs11:URI]",
    .summary = "Show tokens, keys and certificates with the URIs to use them by. Public "
               "objects need no PIN; --login shows private ones too.",
    .examples = "csign list\n"
                "csign list --login 'pkcs11:token=dev'\n"
                "csign list --json",
    .opts = opts,
    .token = true,
    .run = run,
};
