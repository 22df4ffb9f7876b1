/* SPDX-License-Identifier: Apache-2.0 */
/* csign sign FILE...: one detached signature per file. */
#define _GNU_SOURCE
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <openssl/pem.h> /* before cms.h: PEM_read_bio_CMS */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/digest_list.h"
#include "cli/json_doc.h"
#include "cli/lanes.h"
#include "cli/audit.h"
#include "cli/progress.h"
#include "cli/signer.h"
#include "core/batch.h"
#include "core/cert.h"
#include "core/cms.h"
#include "sys/io.h"
#include "sys/stop.h"

typedef struct {
    const char *file;
    char out[PATH_MAX];
    batch_item item; /* failed, or written (once committed) */
    digest_result digest;
    char warning[ERR_MAX]; /* signed, but without the timestamp asked for */
    const char *tsa;       /* the TSA that stamped it */
    bool todo;             /* to be signed in this round */
    unsigned char *sig;    /* made, not yet placed */
    size_t len;
    char sig_sha256[65]; /* with --audit-log: the signature's SHA-256 */
    char ts_time[32];    /* and its timestamp's time ("" when none) */
} job;

/* What the signing threads share. */
typedef struct {
    const sign_opts *o;
    job *jobs;
    const cms_signer *s;
    stamper *ts;
    pthread_mutex_t ts_lock; /* one TSA request at a time */
} signing;

/* -o -: the one signature goes to standard output. */
static bool to_stdout(const sign_opts *o)
{
    return o->out != NULL && strcmp(o->out, "-") == 0;
}

static csign_rc output_path(const sign_opts *o, const char *file, char *out, size_t size)
{
    char copy[PATH_MAX];
    int n;

    if (o->out != NULL)
        n = snprintf(out, size, "%s", o->out);
    else if (o->out_dir != NULL) {
        snprintf(copy, sizeof(copy), "%s", file);
        n = snprintf(out, size, "%s/%s.p7s", o->out_dir, basename(copy));
    } else
        n = snprintf(out, size, "%s.p7s", file);
    if (n < 0 || (size_t)n >= size)
        return err_set(CSIGN_EUSAGE, "output path for '%s' is too long", file);
    return CSIGN_OK;
}

/* Signs job i, a hashed file (hash_all() ran first) or the given digest,
 * on the calling thread's lane; the signature waits in the job for
 * place(). Returns the failure (CSIGN_ETOKEN: the token's), recorded in
 * the job too. */
static csign_rc sign_one(void *ctx, size_t i)
{
    signing *g = ctx;
    job *j = &g->jobs[i];
    const sign_opts *o = g->o;

    if (!j->todo)
        return CSIGN_OK;
    /* A retry on another lane starts afresh. */
    j->item.rc = CSIGN_OK;
    j->item.reason[0] = '\0';
    if (o->have_given)
        j->digest = o->given;
    cms_signer s = *g->s;
    csign_rc rc = cms_sign_digest(&s, &j->digest, o->pem, &j->sig, &j->len);
    j->warning[0] = '\0';
    const char *tsa = NULL;
    if (rc == CSIGN_OK && g->ts != NULL) {
        pthread_mutex_lock(&g->ts_lock);
        rc = signer_stamp(o, g->ts, &j->sig, &j->len, j->warning);
        tsa = g->ts->used; /* read under the lock: another lane may move on */
        pthread_mutex_unlock(&g->ts_lock);
    }
    if (rc != CSIGN_OK) {
        OPENSSL_free(j->sig);
        j->sig = NULL;
        batch_fail(&j->item, rc);
    }
    j->tsa = rc == CSIGN_OK && j->warning[0] == '\0' ? tsa : NULL;
    if (rc == CSIGN_OK && o->audit_log != NULL)
        audit_signature_facts(j->sig, j->len, j->tsa != NULL, j->sig_sha256, j->ts_time);
    return rc;
}

/* Puts a made signature in place: into the output batch, or on standard
 * output with -o -. */
static void place(job *j, const sign_opts *o, batch_writer *w)
{
    if (j->sig == NULL)
        return;
    if (to_stdout(o)) {
        if (fwrite(j->sig, 1, j->len, stdout) != j->len || fflush(stdout) != 0)
            batch_fail(&j->item, err_set(CSIGN_EIO, "cannot write to standard output"));
        else
            j->item.written = true;
    } else
        batch_add(w, &j->item, j->out, j->sig, j->len, o->force);
    OPENSSL_free(j->sig);
    j->sig = NULL;
}

/* Marks a written signature as failed: its audit record is missing or
 * not known to be on the disk. The signature file stays (docs/audit-log.md). */
static void unrecorded(job *j, csign_rc rc, const char *why)
{
    j->item.rc = rc;
    snprintf(j->item.reason, sizeof(j->item.reason), "signature written but not recorded: %.3900s",
             why);
}

/* The audit log's progress through the jobs: the lines of the signatures
 * written so far are in the log and flushed before the next batch is
 * staged, so that a run cut short (a token that stops answering, a
 * signal) leaves no signature in place without its line. */
typedef struct {
    audit_log *a;
    size_t next; /* the first job not yet recorded or passed over */
    csign_rc rc; /* a failure to write: every later signature fails */
    char why[ERR_MAX];
} recorder;

/* Appends a line for each signature written among jobs[r->next .. upto),
 * in the files' order, up to the first still waiting in the batch; then
 * one flush for them. After a failure the file whose line failed and
 * every later one are failed. */
static void record(const sign_opts *o, job *jobs, recorder *r, size_t upto)
{
    const char *kind = o->preset ? "digest-list" : o->have_given ? "digest" : "file";
    size_t first = r->next;

    if (r->a == NULL)
        return;
    for (; r->next < upto && !batch_pending(&jobs[r->next].item); r->next++) {
        job *j = &jobs[r->next];
        if (j->item.rc != CSIGN_OK || !j->item.written)
            continue;
        if (r->rc == CSIGN_OK) {
            audit_entry e = {kind,
                             o->have_given ? NULL : j->file,
                             o->preset == NULL && !o->have_given,
                             &j->digest,
                             to_stdout(o) ? "-" : j->out,
                             j->sig_sha256,
                             j->tsa,
                             j->ts_time};
            if ((r->rc = audit_append(r->a, &e)) == CSIGN_OK)
                continue;
            snprintf(r->why, sizeof(r->why), "%s", err_msg());
        }
        unrecorded(j, r->rc, r->why);
    }
    if (r->rc != CSIGN_OK || first == r->next)
        return;
    if ((r->rc = audit_sync(r->a)) != CSIGN_OK) {
        snprintf(r->why, sizeof(r->why), "%s", err_msg());
        for (size_t i = first; i < r->next; i++)
            if (jobs[i].item.rc == CSIGN_OK && jobs[i].item.written)
                unrecorded(&jobs[i], r->rc, r->why);
    }
}

/* Signs every job still in the running on the token's lanes and puts the
 * signatures in place in the files' order as they come, a batch at a time
 * (one at a time with --fail-fast, so that a failure to write one stops
 * the run at once). What the lanes signed past a stop is dropped,
 * unwritten and unreported, as if not reached. */
static csign_rc sign_all(const sign_opts *o, job *jobs, const cms_signer *s, stamper *ts, hsm *h,
                         unsigned nlanes, recorder *rec)
{
    batch_writer w;
    csign_rc rc = batch_open(&w, o->fail_fast, stop_flag());
    signing g = {o, jobs, s, ts, PTHREAD_MUTEX_INITIALIZER};
    size_t n = (size_t)o->nfiles, placed = 0;
    lanes *l = NULL;

    for (size_t i = 0; i < n; i++)
        jobs[i].todo = jobs[i].item.rc == CSIGN_OK;
    if (rc == CSIGN_OK && (l = lanes_start(h, nlanes, n, sign_one, &g, stop_flag())) == NULL)
        rc = err_oom();
    for (; l != NULL && placed < n && !batch_stopped(&w) && lanes_wait(l, placed); placed++) {
        place(&jobs[placed], o, &w);
        bool go_on = batch_next(&w, &jobs[placed].item);
        record(o, jobs, rec, placed + 1);
        if (!go_on) {
            placed++;
            break;
        }
    }
    lanes_end(l);
    for (size_t i = placed; i < n; i++) {
        OPENSSL_free(jobs[i].sig);
        jobs[i].sig = NULL;
        if (jobs[i].todo)
            jobs[i].item.rc = CSIGN_OK;
    }
    batch_finish(&w);
    record(o, jobs, rec, placed);
    pthread_mutex_destroy(&g.ts_lock);
    return rc;
}

/* The text report; with json only what goes to stderr. With -o - the
 * line goes to stderr, so that stdout holds only the signature; with -q
 * it is not printed. */
static void report_text(const sign_opts *o, const job *j, bool json)
{
    char f[PATH_MAX * 4], out[PATH_MAX * 4];

    cli_escape(j->file, f, sizeof(f));
    if (j->item.rc != CSIGN_OK) {
        fprintf(stderr, "csign: sign: %s: %s\n", f, j->item.reason);
        return;
    }
    if (!json && cli_verbosity >= 0) {
        if (to_stdout(o))
            snprintf(out, sizeof(out), "standard output");
        else
            cli_escape(j->out, out, sizeof(out));
        fprintf(to_stdout(o) ? stderr : stdout, "signed %s -> %s%s%s\n", f, out,
                j->tsa ? ", timestamped by " : "", j->tsa ? j->tsa : "");
    }
    if (j->warning[0])
        fprintf(stderr, "csign: sign: %s: warning: %s\n", f, j->warning);
}

static json_t *report_json(const job *j, const char *subject, const char *fingerprint)
{
    json_t *r = json_object();
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    bool hashed = j->digest.len > 0;

    if (hashed)
        digest_hex(&j->digest, hex);
    json_object_set_new(r, "path", cli_json_string(j->file));
    json_object_set_new(r, "status", json_string(j->item.rc == CSIGN_OK ? "ok" : "error"));
    json_object_set_new(r, "signature",
                        j->item.rc == CSIGN_OK ? cli_json_string(j->out) : json_null());
    json_object_set_new(r, "digest_algorithm",
                        hashed ? json_string(digest_name(j->digest.md)) : json_null());
    json_object_set_new(r, "digest", hashed ? json_string(hex) : json_null());
    json_object_set_new(r, "signer_subject", subject ? cli_json_string(subject) : json_null());
    json_object_set_new(r, "signer_sha256", fingerprint ? json_string(fingerprint) : json_null());
    json_object_set_new(r, "timestamp_authority", j->tsa ? cli_json_string(j->tsa) : json_null());
    json_object_set_new(r, "warning", j->warning[0] ? cli_json_string(j->warning) : json_null());
    json_object_set_new(r, "reason",
                        j->item.rc == CSIGN_OK ? json_null() : cli_json_string(j->item.reason));
    json_object_set_new(r, "exit_code", json_integer(j->item.rc));
    return r;
}

/* Hashes every file still in the running on o->jobs threads; the token
 * is not involved, so the signing that follows stays on one session. */
static csign_rc hash_all(const sign_opts *o, job *jobs, const EVP_MD *md)
{
    if (o->preset != NULL) { /* --digest-list: hashed elsewhere already */
        for (int i = 0; i < o->nfiles; i++)
            jobs[i].digest = o->preset[i];
        return CSIGN_OK;
    }

    digest_job *dj = calloc((size_t)o->nfiles, sizeof(*dj));
    size_t n = 0;

    if (dj == NULL)
        return err_oom();
    for (int i = 0; i < o->nfiles; i++)
        if (jobs[i].item.rc == CSIGN_OK)
            dj[n++].path = jobs[i].file;
    csign_rc rc = progress_digest_many("signing", dj, n, md, o->jobs);
    for (int i = 0, k = 0; rc == CSIGN_OK && i < o->nfiles; i++) {
        if (jobs[i].item.rc != CSIGN_OK)
            continue;
        jobs[i].digest = dj[k].result;
        if (dj[k].rc != CSIGN_OK) {
            jobs[i].item.rc = dj[k].rc;
            snprintf(jobs[i].item.reason, sizeof(jobs[i].item.reason), "%s", dj[k].reason);
            memset(&jobs[i].digest, 0, sizeof(jobs[i].digest));
        }
        k++;
    }
    free(dj);
    return rc;
}

/* Outputs are checked before the PIN is used; two inputs must not share
 * one output. */
static csign_rc plan(const sign_opts *o, job *jobs)
{
    const char **outs = calloc((size_t)o->nfiles, sizeof(*outs));
    size_t a = 0, b = 0;

    if (outs == NULL)
        return err_oom();
    for (int i = 0; i < o->nfiles; i++) {
        jobs[i].file = o->files[i];
        csign_rc rc = o->preset
                          ? digest_list_output(o, o->files[i], jobs[i].out, sizeof(jobs[i].out))
                          : output_path(o, o->files[i], jobs[i].out, sizeof(jobs[i].out));
        if (rc != CSIGN_OK) {
            free(outs);
            return rc;
        }
        outs[i] = jobs[i].out;
    }
    bool twice = cli_find_duplicate(outs, (size_t)o->nfiles, &a, &b);
    free(outs);
    if (twice)
        return err_set(CSIGN_EUSAGE, "'%s' and '%s' would both be signed to '%s'", jobs[a].file,
                       jobs[b].file, jobs[b].out);
    for (int i = 0; i < o->nfiles; i++) {
        /* A listed name is no file here: its folders below --out-dir are. */
        csign_rc rc =
            o->preset ? digest_list_folders(o, jobs[i].file) : signer_check_input(jobs[i].file);
        if (rc == CSIGN_OK && !to_stdout(o))
            rc = io_check_output(jobs[i].out, o->force);
        if (rc != CSIGN_OK) {
            batch_fail(&jobs[i].item, rc);
            if (o->fail_fast)
                return rc;
        }
    }
    return CSIGN_OK;
}

/* Prints one report per file that got a result; the first failure's code
 * is the result. cert: the signer's (NULL when none was looked up). */
static csign_rc report_all(const sign_opts *o, const job *jobs, X509 *cert)
{
    char *subject = cert ? cert_subject(cert) : NULL, fingerprint[65] = "";
    json_t *records = o->json ? json_array() : NULL;
    int failed = 0;
    csign_rc first = CSIGN_OK;

    if (cert != NULL)
        cert_fingerprint(cert, fingerprint);
    for (int i = 0; i < o->nfiles; i++) {
        bool done = jobs[i].item.rc != CSIGN_OK || jobs[i].item.written;
        if (!done)
            continue; /* not reached after --fail-fast */
        if (jobs[i].item.rc != CSIGN_OK && failed++ == 0)
            first = jobs[i].item.rc;
        if (records != NULL)
            json_array_append_new(records,
                                  report_json(&jobs[i], subject, cert ? fingerprint : NULL));
        report_text(o, &jobs[i], records != NULL);
    }
    if (records != NULL)
        json_object_set_new(json_doc(), "files", records);
    free(subject);
    return failed > 0 ? err_set(first, "%d of %d files failed", failed, o->nfiles) : CSIGN_OK;
}

/* True when some file passed the checks of plan(). */
static bool any_to_sign(const sign_opts *o, const job *jobs)
{
    for (int i = 0; i < o->nfiles; i++)
        if (jobs[i].item.rc == CSIGN_OK)
            return true;
    return false;
}

/* The lanes --sessions asks for, as many as the token gives (with a note
 * when it gives fewer); never more than there are files to sign. */
static unsigned open_lanes(const sign_opts *o, hsm *h)
{
    unsigned want = (unsigned)o->sessions, got = 1;
    char why[ERR_MAX];

    if (want > (unsigned)o->nfiles)
        want = (unsigned)o->nfiles;
    hsm_lanes_open(h, want, &got, why);
    if (got < want)
        cli_note("sign: signing on %u session%s, not %u: %s", got, got == 1 ? "" : "s", want, why);
    return got;
}

/* Signs each file (or the given digest) into its own signature file. */
csign_rc sign_files(const sign_opts *o)
{
    signer st;
    job *jobs = calloc((size_t)o->nfiles, sizeof(*jobs));
    csign_rc rc = jobs ? plan(o, jobs) : err_oom();

    stamper ts;
    bool stamping = o->tsa.cfg.nurls > 0;
    recorder rec = {NULL, 0, CSIGN_OK, ""};

    /* When no output can be written, the PIN is not asked for and the
     * token not opened: those failures are the result. */
    bool work = rc == CSIGN_OK && any_to_sign(o, jobs);

    memset(&st, 0, sizeof(st));
    memset(&ts, 0, sizeof(ts));
    /* A log that cannot be written fails the run before the PIN is used. */
    if (work && o->audit_log != NULL)
        rc = audit_open(o->audit_log, o->key, &rec.a);
    if (work && rc == CSIGN_OK && stamping)
        rc = stamper_open(&o->tsa.cfg, &ts);
    if (work && rc == CSIGN_OK)
        rc = signer_open(o, &st);
    if (work && rc == CSIGN_OK && rec.a != NULL)
        rc = audit_signer(rec.a, st.cert);
    if (work && rc == CSIGN_OK) {
        cms_signer s = {st.priv, st.cert, st.chain, o->pss};
        const EVP_MD *md = signer_digest(o, st.pub);
        if (!o->have_given)
            rc = hash_all(o, jobs, md);
        unsigned nlanes = open_lanes(o, st.t.h);
        if (rc == CSIGN_OK)
            rc = sign_all(o, jobs, &s, stamping ? &ts : NULL, st.t.h, nlanes, &rec);
        if (rc == CSIGN_OK && stop_requested() == 0)
            rc = report_all(o, jobs, st.cert);
    } else if (rc == CSIGN_OK) {
        rc = report_all(o, jobs, NULL);
    }
    signer_close(&st);
    stamper_close(&ts);
    audit_close(rec.a);
    free(jobs);
    return rc;
}

/* True when path is named *.p7s and holds a CMS SignedData, DER or PEM.
 * Anything that cannot be read or parsed is not a signature: it is signed
 * (or fails) as any other input. */
static bool is_signature(const char *path)
{
    size_t n = strlen(path), len = 0;
    unsigned char *data = NULL;
    CMS_ContentInfo *cms = NULL;

    if (strcmp(path, "-") == 0 || n < 4 || strcasecmp(path + n - 4, ".p7s") != 0)
        return false;
    if (io_read_file(path, CLI_SIG_MAX, &data, &len) != CSIGN_OK)
        return false;
    BIO *b = BIO_new_mem_buf(data, (int)len);
    if (b != NULL && len > 10 && memcmp(data, "-----BEGIN", 10) == 0)
        cms = PEM_read_bio_CMS(b, NULL, NULL, NULL);
    else if (b != NULL)
        cms = d2i_CMS_bio(b, NULL);
    bool signed_data = cms != NULL && OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed;
    CMS_ContentInfo_free(cms);
    BIO_free(b);
    free(data);
    ERR_clear_error();
    return signed_data;
}

csign_rc sign_skip_signatures(sign_opts *o)
{
    int kept = 0, given = o->nfiles;
    char name[PATH_MAX * 4];

    if (o->include_signatures || o->have_given)
        return CSIGN_OK;
    for (int i = 0; i < o->nfiles; i++) {
        if (is_signature(o->files[i]))
            cli_note("sign: skipping %s: it is a signature; add --include-signatures to sign it",
                     cli_escape(o->files[i], name, sizeof(name)));
        else
            o->files[kept++] = o->files[i];
    }
    o->nfiles = kept;
    if (kept == 0)
        return err_set(CSIGN_EUSAGE,
                       "nothing to sign: %s a signature; add --include-signatures to sign %s",
                       given == 1 ? "the input is" : "every input is", given == 1 ? "it" : "them");
    return CSIGN_OK;
}
