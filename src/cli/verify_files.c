/* SPDX-License-Identifier: Apache-2.0 */
/* csign verify FILE...: each file against its own signature. */
#define _GNU_SOURCE
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/report.h"

typedef struct {
    const char *file;
    char sig[PATH_MAX];
    csign_rc rc;
    char reason[ERR_MAX];
    verify_result r;
} outcome;

static void check_one(const verify_policy *p, outcome *x)
{
    unsigned char *sig = NULL;
    size_t len = 0;
    csign_rc rc = cli_read_signature(x->sig, &sig, &len);

    if (rc == CSIGN_EINPUT)
        rc = CSIGN_ENO; /* a verdict: the signature is not valid */
    if (rc == CSIGN_OK)
        rc = verify_detached(p, sig, len, x->file, &x->r);
    free(sig);
    x->rc = rc;
    if (rc != CSIGN_OK)
        snprintf(x->reason, sizeof(x->reason), "%s", err_msg());
}

/* Files are checked on a pool of threads; each check is independent (the
 * trust store is only read) and results are reported in order after. */
typedef struct {
    const verify_policy *p;
    outcome *xs;
    int n, next;
    pthread_mutex_t lock;
} pool;

static void *check_worker(void *arg)
{
    pool *w = arg;

    for (;;) {
        pthread_mutex_lock(&w->lock);
        int i = w->next < w->n ? w->next++ : w->n;
        pthread_mutex_unlock(&w->lock);
        if (i == w->n)
            return NULL;
        check_one(w->p, &w->xs[i]);
    }
}

static void check_all(int jobs, const verify_policy *p, outcome *xs, int n)
{
    pool w = {p, xs, n, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t tids[64];
    int threads = jobs < n ? jobs : n, started = 0;

    /* threads - 1 helpers: this thread is the last worker, and does it all
     * when alone. */
    for (; started < threads - 1; started++)
        if (pthread_create(&tids[started], NULL, check_worker, &w) != 0)
            break;
    check_worker(&w);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
}

static void report_text(const outcome *x)
{
    char f[PATH_MAX * 4];

    if (x->rc == CSIGN_OK)
        report_ok_line(x->file, &x->r);
    else
        printf("FAIL %s: %s\n", cli_escape(x->file, f, sizeof(f)), x->reason);
}

static json_t *report_json(const outcome *x)
{
    json_t *j = json_object();

    json_object_set_new(j, "path", cli_json_string(x->file));
    json_object_set_new(j, "signature", cli_json_string(x->sig));
    json_object_set_new(j, "verdict",
                        json_string(x->rc == CSIGN_OK    ? "valid"
                                    : x->rc == CSIGN_ENO ? "invalid"
                                                         : "error"));
    json_object_set_new(j, "reason", x->rc == CSIGN_OK ? json_null() : cli_json_string(x->reason));
    json_object_set_new(j, "signer_subject", cli_json_string(x->r.subject));
    json_object_set_new(j, "signer_issuer", cli_json_string(x->r.issuer));
    json_object_set_new(j, "signer_serial",
                        x->r.serial[0] ? json_string(x->r.serial) : json_null());
    json_object_set_new(j, "signer_sha256",
                        x->r.sha256[0] ? json_string(x->r.sha256) : json_null());
    json_object_set_new(j, "signing_time",
                        x->r.signing_time[0] ? json_string(x->r.signing_time) : json_null());
    json_object_set_new(j, "digest_algorithm",
                        x->r.digest ? json_string(x->r.digest) : json_null());
    report_add_time_json(j, &x->r);
    json_object_set_new(j, "exit_code", json_integer(x->rc));
    return j;
}

/* Checks each file against its own signature and reports in order. */
csign_rc verify_files(const files_opts *o, const verify_policy *p)
{
    outcome *xs = calloc((size_t)o->nfiles, sizeof(*xs));
    int invalid = 0, errors = 0;
    csign_rc worst = CSIGN_OK;

    if (xs == NULL)
        return err_oom();
    for (int i = 0; i < o->nfiles; i++) {
        outcome *x = &xs[i];
        x->file = o->files[i];
        if (o->sig != NULL)
            snprintf(x->sig, sizeof(x->sig), "%s", o->sig);
        else
            snprintf(x->sig, sizeof(x->sig), "%s.p7s", x->file);
    }
    progress *bar = progress_begin("verifying", (const char *const *)o->files, (size_t)o->nfiles);
    check_all(o->jobs, p, xs, o->nfiles);
    progress_end(bar);
    json_t *records = o->json ? json_array() : NULL;
    for (int i = 0; i < o->nfiles; i++) {
        outcome *x = &xs[i];
        invalid += x->rc == CSIGN_ENO;
        errors += x->rc != CSIGN_OK && x->rc != CSIGN_ENO;
        worst = report_worse(worst, x->rc);
        if (records != NULL)
            json_array_append_new(records, report_json(x));
        else
            report_text(x);
        verify_result_clear(&x->r);
    }
    if (records != NULL && json_dumpf(records, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0)
        fputc('\n', stdout);
    json_decref(records);
    free(xs);
    if (invalid > 0 && errors > 0)
        return err_set(CSIGN_ENO,
                       "%d of %d signatures are not valid; %d file%s could not be checked", invalid,
                       o->nfiles, errors, errors == 1 ? "" : "s");
    if (invalid > 0)
        return err_set(CSIGN_ENO, "%d of %d signatures are not valid", invalid, o->nfiles);
    if (errors > 0)
        return err_set(worst, "%d of %d files could not be checked", errors, o->nfiles);
    return CSIGN_OK;
}
