/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/opt.h"

#include "cli/suggest.h"

#include <stdbool.h>
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
static void append_n(char **buf, size_t *len, const char *s, size_t n)
{
    if (*buf == NULL)
        return;
    char *p = realloc(*buf, *len + n + 1);
    if (p == NULL) {
        free(*buf);
        *buf = NULL;
        return;
    }
    memcpy(p + *len, s, n);
    p[*len + n] = '\0';
    *len += n;
    *buf = p;
}

static void append(char **buf, size_t *len, const char *s)
{
    append_n(buf, len, s, strlen(s));
}

static void append_spaces(char **buf, size_t *len, size_t n)
{
    char sp[65];

    while (n > 0) {
        size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
        memset(sp, ' ', k);
        sp[k] = '\0';
        append(buf, len, sp);
        n -= k;
    }
}

/* The length of the word at p: up to a space or newline, outside quotes
 * when quotes count (shell commands). */
static size_t token_len(const char *p, bool quotes)
{
    char q = 0;
    size_t n = 0;

    for (; p[n] != '\0'; n++) {
        if (q != 0) {
            if (p[n] == q)
                q = 0;
        } else if (p[n] == ' ' || p[n] == '\n') {
            break;
        } else if (quotes && (p[n] == '\'' || p[n] == '"')) {
            q = p[n];
        }
    }
    return n;
}

/* token_len(), except that in a command an option and the word after it
 * (its argument, unless it is an option too) are kept on one line. */
static size_t word_len(const char *p, bool quotes)
{
    size_t n = token_len(p, quotes);

    if (quotes && p[0] == '-' && p[n] == ' ' && p[n + 1] != '-' && p[n + 1] != ' ' &&
        p[n + 1] != '\n' && p[n + 1] != '\0')
        n += 1 + token_len(p + n + 1, quotes);
    return n;
}

/* Appends text wrapped at width, the cursor being at column col; lines
 * after the first start at column indent. A newline in text starts a new
 * line. With cont (" \\" for shell commands) every broken line ends with
 * cont and words are not broken inside quotes. */
static void wrap_into(char **buf, size_t *len, const char *text, size_t col, size_t indent,
                      size_t width, const char *cont)
{
    size_t room = width > strlen(cont) ? width - strlen(cont) : width;
    bool quotes = cont[0] != '\0';
    bool words = false;

    for (const char *p = text; *p != '\0';) {
        if (*p == '\n') {
            append(buf, len, "\n");
            append_spaces(buf, len, indent);
            col = indent;
            words = false;
            p++;
            continue;
        }
        if (*p == ' ') {
            p++;
            continue;
        }
        size_t w = word_len(p, quotes);
        if (words && col + 1 + w > room) {
            append(buf, len, cont);
            append(buf, len, "\n");
            append_spaces(buf, len, indent);
            col = indent;
            words = false;
        }
        if (words) {
            append(buf, len, " ");
            col++;
        }
        append_n(buf, len, p, w);
        col += w;
        words = true;
        p += w;
    }
}

char *opt_wrap(const char *text, size_t col, size_t indent, size_t width, const char *cont)
{
    char *buf = calloc(1, 1);
    size_t len = 0;

    wrap_into(&buf, &len, text, col, indent, width, cont ? cont : "");
    return buf;
}

/* The column where option descriptions start, and how wide the options
 * column is before it. */
#define OPT_DESC_COL 33
#define OPT_DESC_MIN 24

char *opt_help_wrapped(const char *usage, const char *summary, const opt_spec *const *tables,
                       size_t width)
{
    char *buf = calloc(1, 1);
    size_t len = 0;
    /* Too narrow for two columns: descriptions go under their option. */
    bool two_cols = width >= OPT_DESC_COL + OPT_DESC_MIN;
    size_t desc_col = two_cols ? OPT_DESC_COL : 8;

    append(&buf, &len, "Usage: ");
    wrap_into(&buf, &len, usage, 7, 7, width, "");
    append(&buf, &len, "\n\n");
    wrap_into(&buf, &len, summary, 0, 0, width, "");
    append(&buf, &len, "\n\nOptions:\n");
    for (; *tables != NULL; tables++) {
        for (const opt_spec *o = *tables; o->id != 0; o++) {
            char left[128];
            char sh[8] = "    ";
            if (o->short_name != 0)
                snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
            snprintf(left, sizeof(left), "  %s--%s%s%s", sh, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
            append(&buf, &len, left);
            size_t col = strlen(left);
            if (!two_cols || col + 1 > desc_col) {
                append(&buf, &len, "\n");
                col = 0;
            }
            append_spaces(&buf, &len, desc_col - col);
            wrap_into(&buf, &len, o->help, desc_col, desc_col, width, "");
            append(&buf, &len, "\n");
        }
    }
    return buf;
}

char *opt_help_text(const char *usage, const char *summary, const opt_spec *const *tables)
{
    return opt_help_wrapped(usage, summary, tables, OPT_HELP_WIDTH);
}

char *opt_help_examples(const char *examples, size_t width)
{
    char *buf = calloc(1, 1);
    size_t len = 0;

    append(&buf, &len, "\nExamples:\n");
    for (const char *p = examples; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        char *line = strndup(p, n);
        if (line == NULL) {
            free(buf);
            return NULL;
        }
        append(&buf, &len, "  ");
        wrap_into(&buf, &len, line, 2, 6, width, " \\");
        append(&buf, &len, "\n");
        free(line);
        p += n;
        if (*p == '\n')
            p++;
    }
    return buf;
}
