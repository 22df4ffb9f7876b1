/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/opt.h"

#include "cli/suggest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_spec *find_long(const opt_spec *const *tables, const char *name, size_t len)
{
    for (; *tables != NULL; tables++)
        for (const opt_spec *o = *tables; o->id != 0; o++)
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                return o;
    return NULL;
}

static const opt_spec *find_short(const opt_spec *const *tables, char c)
{
    for (; *tables != NULL; tables++)
        for (const opt_spec *o = *tables; o->id != 0; o++)
            if (o->short_name != 0 && o->short_name == c)
                return o;
    return NULL;
}

/* The long option name closest to the unknown name[0..len), or NULL. */
static const char *closest_long(const opt_spec *const *tables, const char *name, size_t len)
{
    char typed[SUGGEST_MAX_LEN + 1];
    const char *best = NULL;
    size_t best_d = SUGGEST_FAR;

    if (len > SUGGEST_MAX_LEN)
        return NULL;
    memcpy(typed, name, len);
    typed[len] = '\0';
    for (; *tables != NULL; tables++) {
        for (const opt_spec *o = *tables; o->id != 0; o++) {
            size_t d = suggest_distance(typed, o->name);
            if (d < best_d && suggest_close(typed, o->name)) {
                best = o->name;
                best_d = d;
            }
        }
    }
    return best;
}

/* Handles "--name", "--name=value" or "--name value" at argv[*i]. */
static csign_rc parse_long(const opt_spec *const *tables, int argc, char **argv, int *i,
                           opt_handler handler, void *ctx)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const opt_spec *o = find_long(tables, name, len);

    if (o == NULL) {
        const char *near = closest_long(tables, name, len);
        if (near != NULL)
            return err_set(CSIGN_EUSAGE, "unknown option '--%.*s'; did you mean '--%s'?", (int)len,
                           name, near);
        return err_set(CSIGN_EUSAGE, "unknown option '--%.*s'", (int)len, name);
    }
    if (o->arg == NULL) {
        if (eq != NULL)
            return err_set(CSIGN_EUSAGE, "option '--%s' takes no argument", o->name);
        return handler(ctx, o->id, NULL);
    }
    if (eq != NULL)
        return handler(ctx, o->id, eq + 1);
    if (*i + 1 >= argc)
        return err_set(CSIGN_EUSAGE, "option '--%s' needs an argument (%s)", o->name, o->arg);
    *i += 1;
    return handler(ctx, o->id, argv[*i]);
}

/* Handles "-abc", "-xVALUE" or "-x VALUE" at argv[*i]. */
static csign_rc parse_short(const opt_spec *const *tables, int argc, char **argv, int *i,
                            opt_handler handler, void *ctx)
{
    const char *p = argv[*i] + 1;

    for (; *p != '\0'; p++) {
        const opt_spec *o = find_short(tables, *p);
        if (o == NULL)
            return err_set(CSIGN_EUSAGE, "unknown option '-%c'", *p);
        if (o->arg == NULL) {
            csign_rc rc = handler(ctx, o->id, NULL);
            if (rc != CSIGN_OK)
                return rc;
            continue;
        }
        if (p[1] != '\0')
            return handler(ctx, o->id, p + 1);
        if (*i + 1 >= argc)
            return err_set(CSIGN_EUSAGE, "option '-%c' needs an argument (%s)", *p, o->arg);
        *i += 1;
        return handler(ctx, o->id, argv[*i]);
    }
    return CSIGN_OK;
}

csign_rc opt_parse(const opt_spec *const *tables, int argc, char **argv, opt_handler handler,
                   void *ctx, char **operands, int *n_operands)
{
    int only_operands = 0;

    *n_operands = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        csign_rc rc = CSIGN_OK;

        if (only_operands || a[0] != '-' || a[1] == '\0') {
            operands[(*n_operands)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_operands = 1;
            continue;
        }
        if (a[1] == '-')
            rc = parse_long(tables, argc, argv, &i, handler, ctx);
        else
            rc = parse_short(tables, argc, argv, &i, handler, ctx);
        if (rc != CSIGN_OK)
            return rc;
    }
    return CSIGN_OK;
}

/* Appends to a growing string; on allocation failure frees it and leaves
 * *buf NULL so that later appends are no-ops. */
static void append(char **buf, size_t *len, const char *s)
{
    if (*buf == NULL)
        return;
    size_t n = strlen(s);
    char *p = realloc(*buf, *len + n + 1);
    if (p == NULL) {
        free(*buf);
        *buf = NULL;
        return;
    }
    memcpy(p + *len, s, n + 1);
    *len += n;
    *buf = p;
}

char *opt_help_text(const char *usage, const char *summary, const opt_spec *const *tables)
{
    char *buf = calloc(1, 1);
    size_t len = 0;
    char line[512];

    snprintf(line, sizeof(line), "Usage: %s\n\n%s\n\nOptions:\n", usage, summary);
    append(&buf, &len, line);
    for (; *tables != NULL; tables++) {
        for (const opt_spec *o = *tables; o->id != 0; o++) {
            char left[128];
            char sh[8] = "    ";
            if (o->short_name != 0)
                snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
            snprintf(left, sizeof(left), "%s--%s%s%s", sh, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
            snprintf(line, sizeof(line), "  %-30s %s\n", left, o->help);
            append(&buf, &len, line);
        }
    }
    return buf;
}
