/* SPDX-License-Identifier: Apache-2.0 */
/* csign timestamp: a timestamp added to signatures made earlier. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "cli/commands.h"
#include "cli/json_doc.h"
#include "core/batch.h"
#include "core/cms.h"
#include "core/stamped.h"
#include "sys/io.h"
#include "sys/stop.h"
#include "core/tsa.h"

enum { OPT_FORCE = 1, OPT_JSON };

static const opt_spec opts[] = {
    TSA_OPT_SPECS,
    {OPT_FORCE, "force", 0, NULL, "replace a timestamp a signature has already"},
    {OPT_JSON, "json", 0, NULL, "print one JSON document on stdout (docs/json.md)"},
    {0, NULL, 0, NULL, NULL},
};

typedef struct {
    cli_common c;
    tsa_opts tsa;
    char **files;
    int nfiles;
    bool force;
} timestamp_opts;

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    timestamp_opts *o = ctx;
    if (id == OPT_FORCE) {
        o->force = true;
        return CSIGN_OK;
    }
    if (id == OPT_JSON) {
        json_doc_want("timestamp", true);
        return CSIGN_OK;
    }
    return tsa_on_opt(&o->tsa, id, arg);
}

static csign_rc parse(int argc, char **argv, timestamp_opts *o)
{
    memset(o, 0, sizeof(*o));
    tsa_opts_init(&o->tsa);
    o->files = calloc((size_t)argc + 1, sizeof(*o->files));
    if (o->files == NULL)
        return err_oom();
    csign_rc rc = cli_parse(&cmd_timestamp, argc, argv, on_opt, o, &o->c, o->files, &o->nfiles);
    if (rc != CSIGN_OK || o->c.help)
        return rc;
    if (o->tsa.cfg.nurls == 0)
        return err_set(CSIGN_EUSAGE, "--tsa is required");
    if (o->nfiles == 0)
        return err_set(CSIGN_EUSAGE, "give the signature files to timestamp");
    for (int i = 0; i < o->nfiles; i++)
        if (strcmp(o->files[i], "-") == 0)
            return err_set(CSIGN_EUSAGE, "timestamp rewrites files; it cannot take standard input");
    return CSIGN_OK;
}

typedef struct {
    batch_item item;  /* failed, or written (once committed) */
    const char *used; /* the TSA that stamped it */
    bool kept;        /* it had a timestamp already and is left as it was */
    tsa_info had;     /* that timestamp (with kept) */
} outcome;

/* A signature that has a timestamp: kept as it is (x->kept) unless
 * force, then *sig and *len are what it is without. */
static csign_rc had_stamp(bool force, unsigned char **sig, size_t *len, outcome *x)
{
    bool present = false;
    csign_rc rc = stamped_read(*sig, *len, &present, &x->had);

    if (!present || rc == CSIGN_EINPUT)
        return rc == CSIGN_EINPUT ? rc : CSIGN_OK;
    if (!force) {
        if (rc != CSIGN_OK)
            return err_set(CSIGN_EINPUT,
                           "the signature has a timestamp already, which does not check (%s); "
                           "--force replaces it",
                           err_msg());
        x->kept = true;
        return CSIGN_OK;
    }
    tsa_info_clear(&x->had);
    unsigned char *bare = NULL;
    size_t bare_len = 0;
    rc = stamped_strip(*sig, *len, &bare, &bare_len);
    if (rc == CSIGN_OK) {
        unsigned char *copy = malloc(bare_len);
        if (copy == NULL)
            rc = err_oom();
        else {
            memcpy(copy, bare, bare_len);
            free(*sig);
            *sig = copy;
            *len = bare_len;
        }
    }
    OPENSSL_free(bare);
    return rc;
}

/* Reads, stamps and stages one signature file. */
static void stamp_one(stamper *s, batch_writer *w, bool force, const char *path, outcome *x)
{
    unsigned char *sig = NULL;
    size_t len = 0;
    csign_rc rc = cli_read_signature(path, &sig, &len);
    unsigned char *stamped = NULL;
    size_t stamped_len = 0;
    if (rc == CSIGN_OK)
        rc = had_stamp(force, &sig, &len, x);
    if (rc == CSIGN_OK && x->kept) {
        free(sig);
        return;
    }
    if (rc == CSIGN_OK)
        rc = stamper_apply(s, sig, len, &stamped, &stamped_len);
    if (rc == CSIGN_OK)
        batch_add(w, &x->item, path, stamped, stamped_len, true);
    else
        batch_fail(&x->item, rc);
    free(sig);
    OPENSSL_free(stamped);
    x->used = s->used;
}

/* Stamps every file, in order, and puts them back a batch at a time, as
 * sign does. */
static csign_rc stamp_all(const timestamp_opts *o, stamper *s, outcome *xs)
{
    batch_writer w;
    csign_rc rc = batch_open(&w, false, stop_flag());

    for (int i = 0; rc == CSIGN_OK && i < o->nfiles && !batch_stopped(&w); i++) {
        stamp_one(s, &w, o->force, o->files[i], &xs[i]);
        if (!batch_next(&w, &xs[i].item))
            break;
    }
    batch_finish(&w);
    return rc;
}

static json_t *record(const char *path, const outcome *x)
{
    json_t *j = json_object();
    bool ok = x->item.rc == CSIGN_OK;

    json_object_set_new(j, "path", cli_json_string(path));
    json_object_set_new(j, "status", json_string(ok ? "ok" : "error"));
    json_object_set_new(j, "reason", ok ? json_null() : cli_json_string(x->item.reason));
    json_object_set_new(j, "signature", cli_json_string(path));
    json_object_set_new(j, "already_timestamped", json_boolean(ok && x->kept));
    json_object_set_new(j, "timestamp_authority",
                        ok && !x->kept && x->used ? cli_json_string(x->used) : json_null());
    json_object_set_new(j, "timestamp_time",
                        ok && x->kept ? cli_json_string(x->had.gen_time_text) : json_null());
    json_object_set_new(j, "exit_code", json_integer(x->item.rc));
    return j;
}

/* One line per file; the first failure's code is the result. */
static csign_rc report(const timestamp_opts *o, const outcome *xs)
{
    int failed = 0;
    csign_rc first = CSIGN_OK;

    for (int i = 0; i < o->nfiles; i++) {
        char f[PATH_MAX * 4];
        const outcome *x = &xs[i];
        cli_escape(o->files[i], f, sizeof(f));
        if (json_doc() != NULL)
            json_array_append_new(json_object_get(json_doc(), "files"), record(o->files[i], x));
        if (x->item.rc == CSIGN_OK && json_doc() != NULL)
            continue;
        if (x->item.rc == CSIGN_OK && x->kept) {
            char by[1024];
            cli_escape(x->had.tsa_subject ? x->had.tsa_subject : "?", by, sizeof(by));
            printf("%s: already time-stamped (at %s by %s); nothing to do\n", f,
                   x->had.gen_time_text, by);
            continue;
        }
        if (x->item.rc == CSIGN_OK) {
            printf("timestamped %s by %s\n", f, x->used);
            continue;
        }
        fprintf(stderr, "csign: timestamp: %s: %s\n", f, x->item.reason);
        if (failed++ == 0)
            first = x->item.rc;
    }
    return failed > 0 ? err_set(first, "%d of %d files failed", failed, o->nfiles) : CSIGN_OK;
}

static csign_rc run(int argc, char **argv)
{
    timestamp_opts o;
    stamper s;
    outcome *xs = NULL;
    csign_rc rc = parse(argc, argv, &o);

    memset(&s, 0, sizeof(s));
    if (rc != CSIGN_OK || o.c.help) {
        free(o.files);
        return rc == CSIGN_OK ? cli_help(&cmd_timestamp) : rc;
    }
    stop_catch();
    xs = calloc((size_t)o.nfiles, sizeof(*xs));
    rc = xs ? stamper_open(&o.tsa.cfg, &s) : err_oom();
    if (rc == CSIGN_OK)
        rc = stamp_all(&o, &s, xs);
    if (rc == CSIGN_OK && stop_requested() == 0)
        rc = report(&o, xs);
    stamper_close(&s);
    for (int i = 0; xs != NULL && i < o.nfiles; i++)
        tsa_info_clear(&xs[i].had);
    free(xs);
    free(o.files);
    if (stop_requested() != 0) {
        /* Earlier batches are in place and complete; the rest is as it
         * was, temporaries removed: end as the signal asked. */
        fprintf(stderr, "csign: timestamp: interrupted\n");
        stop_resend();
    }
    return rc;
}

const cli_command cmd_timestamp = {
    .name = "timestamp",
    .usage = "csign timestamp --tsa URL [options] SIG...",
    .summary = "Add an RFC 3161 timestamp to existing signatures (made offline, say); each file "
               "is rewritten atomically. A signature that has a timestamp already is left as it "
               "is, unless --force.",
    .examples =
        "csign timestamp --tsa http://timestamp.example.com/ app.tar.gz.p7s\n"
        "csign timestamp --tsa http://tsa1.example.com/ --tsa http://tsa2.example.com/ *.p7s",
    .opts = opts,
    .token = false,
    .run = run,
};
