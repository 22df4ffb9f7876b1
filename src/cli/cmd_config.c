/* SPDX-License-Identifier: Apache-2.0 */
/* csign config: the effective settings and where each came from. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json_doc.h"
#include "cli/config.h"

enum { OPT_JSON = 1 };

static const opt_spec opts[] = {
    {OPT_JSON, "json", 0, NULL, "print one JSON document on stdout (docs/json.md, docs/config.md)"},
    {0, NULL, 0, NULL, NULL},
};

typedef struct {
    cli_common c;
    bool json;
    char **operands;
    int n;
} config_opts;

/* One line of the report. */
typedef struct {
    const char *key;
    const char *value;  /* NULL: the built-in default has no one value */
    const char *source; /* "file", "environment", "option" or "default" */
    const char *file;   /* file, or the variable or option name */
    unsigned line;
} row;

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    config_opts *o = ctx;

    (void)arg;
    if (id == OPT_JSON) {
        o->json = true;
        json_doc_want("config", false);
    }
    return CSIGN_OK;
}

/* Whether the shared option value p came from a file (config_entries()
 * hands out the same pointers) rather than from the command line. */
static bool from_file(const char *p)
{
    size_t n;
    const config_entry *e = config_entries(&n);

    for (size_t i = 0; i < n; i++)
        if (e[i].value == p)
            return true;
    return false;
}

/* The rows for key: option, else environment, else the files, else the
 * built-in default (module only). */
static size_t rows_for(const config_opts *o, const char *key, row *out)
{
    static char pin_value[80];
    const char *opt = strcmp(key, "module") == 0          ? o->c.module
                      : strcmp(key, "pin-source") == 0    ? o->c.pin_spec
                      : strcmp(key, "token-timeout") == 0 ? o->c.token_timeout_arg
                                                          : NULL;
    const char *env = config_env_override(key);
    size_t n, k = 0;
    const config_entry *e = config_entries(&n);

    if (opt != NULL && !from_file(opt)) {
        out[0] = (row){key, opt, "option", key, 0};
        return 1;
    }
    if (env != NULL) {
        const char *v = getenv(env);
        /* Never a PIN: a PIN variable shows as the source that reads it. */
        if (strstr(env, "PIN") != NULL) {
            snprintf(pin_value, sizeof(pin_value), "env:%s", env);
            v = pin_value;
        }
        out[0] = (row){key, v, "environment", env, 0};
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].key, key) == 0)
            out[k++] = (row){key, e[i].value, "file", e[i].file, e[i].line};
    if (k == 0 && strcmp(key, "module") == 0)
        out[k++] = (row){key, NULL, "default", NULL, 0};
    return k;
}

static json_t *json_row(const row *r)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "key", json_string(r->key));
    json_object_set_new(o, "value", cli_json_string(r->value));
    json_object_set_new(o, "source", json_string(r->source));
    bool file = strcmp(r->source, "file") == 0;
    json_object_set_new(o, "file", file ? cli_json_string(r->file) : json_null());
    json_object_set_new(o, "line", file ? json_integer(r->line) : json_null());
    json_object_set_new(o, "variable",
                        strcmp(r->source, "environment") == 0 ? json_string(r->file) : json_null());
    return o;
}

static void text_row(const row *r)
{
    char v[4096], f[4096];

    if (r->value == NULL)
        printf("%s = (SoftHSM2 with csign's own token store)  # default\n", r->key);
    else if (strcmp(r->source, "file") == 0)
        printf("%s = %s  # from %s:%u\n", r->key, cli_escape(r->value, v, sizeof(v)),
               cli_escape(r->file, f, sizeof(f)), r->line);
    else if (strcmp(r->source, "option") == 0)
        printf("%s = %s  # from option --%s\n", r->key, cli_escape(r->value, v, sizeof(v)), r->key);
    else
        printf("%s = %s  # from environment %s\n", r->key, cli_escape(r->value, v, sizeof(v)),
               r->file);
}

/* Every key the files may hold, in config.c's order: the shared token
 * settings first, then those of the files. */
static const char *const shared_keys[] = {"module", "pin-source", "token-timeout", NULL};

static csign_rc report(const config_opts *o, const cli_command *only)
{
    size_t n;
    const config_entry *e = config_entries(&n);
    row *rows = calloc(n + 4, sizeof(*rows));
    size_t nrows = 0;
    csign_rc rc = CSIGN_OK;

    if (rows == NULL)
        return err_oom();
    for (const char *const *k = shared_keys; *k != NULL; k++)
        if (only == NULL || cli_command_has_option(only, *k))
            nrows += rows_for(o, *k, rows + nrows);
    for (size_t i = 0; i < n; i++) {
        bool shared = false;
        for (const char *const *k = shared_keys; *k != NULL; k++)
            shared = shared || strcmp(*k, e[i].key) == 0;
        if (shared || (i > 0 && strcmp(e[i - 1].key, e[i].key) == 0))
            continue;
        if (only == NULL || cli_command_has_option(only, e[i].key))
            nrows += rows_for(o, e[i].key, rows + nrows);
    }

    if (o->json) {
        json_t *root = json_doc(), *list = json_array();
        for (size_t i = 0; list != NULL && i < nrows; i++)
            json_array_append_new(list, json_row(&rows[i]));
        if (list == NULL) {
            free(rows);
            return err_oom();
        }
        json_object_set_new(root, "profile", cli_json_string(config_profile()));
        json_object_set_new(root, "for_command", only ? json_string(only->name) : json_null());
        json_object_set_new(root, "settings", list);
    } else {
        if (config_profile() != NULL)
            printf("# profile %s\n", config_profile());
        for (size_t i = 0; i < nrows; i++)
            text_row(&rows[i]);
    }
    free(rows);
    return rc;
}

static csign_rc run(int argc, char **argv)
{
    config_opts o = {0};
    const cli_command *only = NULL;
    csign_rc rc;

    o.operands = calloc((size_t)argc + 1, sizeof(*o.operands));
    if (o.operands == NULL)
        return err_oom();
    rc = cli_parse(&cmd_config, argc, argv, on_opt, &o, &o.c, o.operands, &o.n);
    if (rc == CSIGN_OK && o.c.help) {
        free(o.operands);
        return cli_help(&cmd_config);
    }
    if (rc == CSIGN_OK && o.n > 1)
        rc = err_set(CSIGN_EUSAGE, "unexpected argument '%s'; give at most one command",
                     o.operands[1]);
    if (rc == CSIGN_OK && o.n == 1 && (only = cli_command_named(o.operands[0])) == NULL)
        rc = err_set(CSIGN_EUSAGE, "unknown command '%s'", o.operands[0]);
    if (rc == CSIGN_OK)
        rc = report(&o, only);
    free(o.operands);
    return rc;
}

const cli_command cmd_config = {
    .name = "config",
    .usage = "csign config [options] [COMMAND]",
    .summary = "Show the settings from configuration files, environment and options, and where "
               "each came from. With COMMAND, only those that COMMAND takes.",
    .opts = opts,
    .token = true,
    .run = run,
};
