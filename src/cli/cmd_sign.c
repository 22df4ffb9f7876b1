/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/batch.h"
#include "core/cert.h"
#include "core/cms.h"
#include "sys/io.h"
#include "sys/stop.h"
#include "cli/signer.h"

enum {
    OPT_KEY = 1,
    OPT_CERT,
    OPT_CHAIN,
    OPT_DIGEST,
    OPT_PSS,
    OPT_DIGEST_HEX,
    OPT_JOBS,
    OPT_PEM,
    OPT_OUT,
    OPT_OUT_DIR,
    OPT_FORCE,
    OPT_FAIL_FAST,
    OPT_JSON,
    OPT_MANIFEST,
};

static const opt_spec opts[] = {
    {OPT_KEY, "key", 0, "URI", "the signing key on the token (pkcs11: URI)"},
    {OPT_CERT, "cert", 0, "FILE|URI",
     "signer certificate (default: the certificate on the token with the key's id)"},
    {OPT_CHAIN, "chain", 0, "FILE",
     "CA certificates to include (default: the issuers stored on the token)"},
    {OPT_DIGEST, "digest", 0, "ALG",
     "sha256, sha384 or sha512 (default: sha256; sha384 for P-384, sha512 for P-521)"},
    {OPT_PSS, "pss", 0, NULL, "RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys)"},
    {OPT_DIGEST_HEX, "digest-hex", 0, "ALG:HEX",
     "sign a digest computed elsewhere (csign digest) instead of files; needs -o"},
    {OPT_PEM, "pem", 0, NULL, "write PEM instead of DER"},
    {OPT_OUT, "out", 'o', "FILE", "signature file (one input only; default FILE.p7s)"},
    {OPT_OUT_DIR, "out-dir", 0, "DIR", "write each signature into DIR"},
    {OPT_FORCE, "force", 0, NULL, "replace existing signature files"},
    {OPT_FAIL_FAST, "fail-fast", 0, NULL, "stop at the first file that fails"},
    {OPT_JSON, "json", 0, NULL, "print one JSON record per file"},
    {OPT_JOBS, "jobs", 'j', "N", "hash files on N threads (default: online CPUs)"},
    {OPT_MANIFEST, "manifest", 0, "FILE",
     "write a checksum list of the files (sha256sum format) and sign it as FILE.p7s"},
    TSA_OPT_SPECS,
    TSA_OPTIONAL_SPEC,
    {0, NULL, 0, NULL, NULL},
};

/* Parses "sha256:HEX" (sha384, sha512) into d. CSIGN_EUSAGE naming option
 * when the algorithm is unknown or the hex is not one digest long. */
static csign_rc parse_digest_hex(const char *text, const char *option, digest_result *d)
{
    const char *colon = strchr(text, ':');
    char alg[16];
    size_t n = 0;

    memset(d, 0, sizeof(*d));
    if (colon == NULL || (size_t)(colon - text) >= sizeof(alg))
        return err_set(CSIGN_EUSAGE, "%s needs ALG:HEX, such as sha256:9f86...", option);
    memcpy(alg, text, (size_t)(colon - text));
    alg[colon - text] = '\0';
    d->md = digest_by_name(alg);
    if (d->md == NULL)
        return err_set(CSIGN_EUSAGE, "%s: unknown digest '%s' (sha256, sha384 or sha512)", option,
                       alg);
    if (cli_hex(colon + 1, option, d->value, sizeof(d->value), &n) != CSIGN_OK ||
        n != (size_t)EVP_MD_get_size(d->md))
        return err_set(CSIGN_EUSAGE, "%s: %s needs %d hex digits", option, alg,
                       2 * EVP_MD_get_size(d->md));
    d->len = (unsigned int)n;
    return CSIGN_OK;
}

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    sign_opts *o = ctx;

    switch (id) {
    case OPT_KEY:
        o->key = arg;
        break;
    case OPT_CERT:
        o->cert = arg;
        break;
    case OPT_CHAIN:
        o->chain = arg;
        break;
    case OPT_DIGEST:
        o->md = digest_by_name(arg);
        if (o->md == NULL)
            return err_set(CSIGN_EUSAGE, "unknown digest '%s' (sha256, sha384 or sha512)", arg);
        break;
    case OPT_PSS:
        o->pss = true;
        break;
    case OPT_JOBS: {
        char *end = NULL;
        long n = strtol(arg, &end, 10);
        if (*end != '\0' || n < 1 || n > 64)
            return err_set(CSIGN_EUSAGE, "--jobs needs a number from 1 to 64");
        o->jobs = (int)n;
        break;
    }
    case OPT_DIGEST_HEX:
        o->have_given = true;
        return parse_digest_hex(arg, "--digest-hex", &o->given);
    case OPT_PEM:
        o->pem = true;
        break;
    case OPT_OUT:
        o->out = arg;
        break;
    case OPT_OUT_DIR:
        o->out_dir = arg;
        break;
    case OPT_FORCE:
        o->force = true;
        break;
    case OPT_FAIL_FAST:
        o->fail_fast = true;
        break;
    case OPT_JSON:
        o->json = true;
        break;
    case OPT_MANIFEST:
        o->manifest = arg;
        break;
    default:
        return tsa_on_opt(&o->tsa, id, arg);
    }
    return CSIGN_OK;
}

csign_rc sign_parse(int argc, char **argv, sign_opts *o)
{
    csign_rc rc;

    memset(o, 0, sizeof(*o));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
    tsa_opts_init(&o->tsa);
    o->files = calloc((size_t)argc + 1, sizeof(*o->files));
    if (o->files == NULL)
        return err_oom();
    rc = cli_parse(&cmd_sign, argc, argv, on_opt, o, &o->c, o->files, &o->nfiles);
    if (rc != CSIGN_OK || o->c.help)
        return rc;
    if (o->key == NULL)
        return err_set(CSIGN_EUSAGE, "--key is required");
    if (o->have_given) {
        if (o->nfiles > 0)
            return err_set(CSIGN_EUSAGE, "--digest-hex signs a digest, not files");
        if (o->out == NULL)
            return err_set(CSIGN_EUSAGE, "--digest-hex needs -o");
        if (o->md != NULL && o->md != o->given.md)
            return err_set(CSIGN_EUSAGE, "--digest and the algorithm of --digest-hex differ");
        /* One job, named after what is signed. */
        o->files[o->nfiles++] = (char *)"(digest)";
    }
    if (o->nfiles == 0)
        return err_set(CSIGN_EUSAGE, "give the files to sign");
    if (o->manifest != NULL && (o->out != NULL || o->out_dir != NULL || o->have_given))
        return err_set(CSIGN_EUSAGE, "--manifest writes FILE and FILE.p7s; it excludes -o, "
                                     "--out-dir and --digest-hex");
    for (int i = 0; o->manifest != NULL && i < o->nfiles; i++)
        if (strcmp(o->files[i], "-") == 0)
            return err_set(CSIGN_EUSAGE, "a manifest lists files, not standard input");
    if (o->out != NULL && o->nfiles > 1)
        return err_set(CSIGN_EUSAGE, "-o takes one input only; use --out-dir for several");
    if (o->out != NULL && o->out_dir != NULL)
        return err_set(CSIGN_EUSAGE, "-o and --out-dir exclude each other");
    for (int i = 0; i < o->nfiles; i++)
        if (strcmp(o->files[i], "-") == 0 && o->out == NULL)
            return err_set(CSIGN_EUSAGE, "signing standard input needs -o");
    return CSIGN_OK;
}

/* ---- Per-file results ---------------------------------------------------- */

typedef struct {
    const char *file;
    char out[PATH_MAX];
    batch_item item; /* failed, or written (once committed) */
    digest_result digest;
    char warning[ERR_MAX]; /* signed, but without the timestamp asked for */
    const char *tsa;       /* the TSA that stamped it */
} job;

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

/* ---- Signing ------------------------------------------------------------- */

/* Signs one hashed file (hash_all() ran first) or the given digest; the
 * signature joins the output batch. */
static void sign_one(job *j, const sign_opts *o, const cms_signer *s, stamper *ts, batch_writer *w)
{
    unsigned char *sig = NULL;
    size_t len = 0;

    if (o->have_given)
        j->digest = o->given;
    csign_rc rc = signer_sign(o, s, ts, &j->digest, &sig, &len, j->warning);
    if (rc == CSIGN_OK)
        batch_add(w, &j->item, j->out, sig, len, o->force);
    else
        batch_fail(&j->item, rc);
    OPENSSL_free(sig);
    j->tsa = j->item.rc == CSIGN_OK && ts != NULL && j->warning[0] == '\0' ? ts->used : NULL;
}

/* Signs every job still in the running, in order, on the one session,
 * and puts the signatures in place a batch at a time (one at a time with
 * --fail-fast, so that a failure to write one stops the run at once). */
static csign_rc sign_all(const sign_opts *o, job *jobs, const cms_signer *s, stamper *ts)
{
    batch_writer w;
    csign_rc rc = batch_open(&w, o->fail_fast, stop_flag());

    for (int i = 0; rc == CSIGN_OK && i < o->nfiles && !batch_stopped(&w); i++) {
        if (jobs[i].item.rc == CSIGN_OK)
            sign_one(&jobs[i], o, s, ts, &w);
        if (!batch_next(&w, &jobs[i].item))
            break;
    }
    batch_finish(&w);
    return rc;
}

/* The text report; with json only what goes to stderr. */
static void report_text(const job *j, bool json)
{
    char f[PATH_MAX * 4], out[PATH_MAX * 4];

    cli_escape(j->file, f, sizeof(f));
    if (j->item.rc != CSIGN_OK) {
        fprintf(stderr, "csign: sign: %s: %s\n", f, j->item.reason);
        return;
    }
    if (!json)
        printf("signed %s -> %s%s%s\n", f, cli_escape(j->out, out, sizeof(out)),
               j->tsa ? ", timestamped by " : "", j->tsa ? j->tsa : "");
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
    json_object_set_new(r, "error",
                        j->item.rc == CSIGN_OK ? json_null() : cli_json_string(j->item.reason));
    json_object_set_new(r, "exit_code", json_integer(j->item.rc));
    return r;
}

/* Hashes every file still in the running on o->jobs threads; the token
 * is not involved, so the signing that follows stays on one session. */
static csign_rc hash_all(const sign_opts *o, job *jobs, const EVP_MD *md)
{
    digest_job *dj = calloc((size_t)o->nfiles, sizeof(*dj));
    size_t n = 0;

    if (dj == NULL)
        return err_oom();
    for (int i = 0; i < o->nfiles; i++)
        if (jobs[i].item.rc == CSIGN_OK)
            dj[n++].path = jobs[i].file;
    csign_rc rc = digest_many(dj, n, md, o->jobs);
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
        csign_rc rc = output_path(o, o->files[i], jobs[i].out, sizeof(jobs[i].out));
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
        csign_rc rc;
        if ((rc = io_check_output(jobs[i].out, o->force)) != CSIGN_OK) {
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
        report_text(&jobs[i], records != NULL);
    }
    if (records != NULL && json_dumpf(records, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0)
        fputc('\n', stdout);
    json_decref(records);
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

/* Signs each file (or the given digest) into its own signature file. */
static csign_rc sign_files(const sign_opts *o)
{
    signer st;
    job *jobs = calloc((size_t)o->nfiles, sizeof(*jobs));
    csign_rc rc = jobs ? plan(o, jobs) : err_oom();

    stamper ts;
    bool stamping = o->tsa.cfg.nurls > 0;

    /* When no output can be written, the PIN is not asked for and the
     * token not opened: those failures are the result. */
    bool work = rc == CSIGN_OK && any_to_sign(o, jobs);

    memset(&st, 0, sizeof(st));
    memset(&ts, 0, sizeof(ts));
    if (work && stamping)
        rc = stamper_open(&o->tsa.cfg, &ts);
    if (work && rc == CSIGN_OK)
        rc = signer_open(o, &st);
    if (work && rc == CSIGN_OK) {
        cms_signer s = {st.priv, st.cert, st.chain, o->pss};
        const EVP_MD *md = signer_digest(o, st.pub);
        if (!o->have_given)
            rc = hash_all(o, jobs, md);
        if (rc == CSIGN_OK)
            rc = sign_all(o, jobs, &s, stamping ? &ts : NULL);
        if (rc == CSIGN_OK && stop_requested() == 0)
            rc = report_all(o, jobs, st.cert);
    } else if (rc == CSIGN_OK) {
        rc = report_all(o, jobs, NULL);
    }
    signer_close(&st);
    stamper_close(&ts);
    free(jobs);
    return rc;
}

static csign_rc run(int argc, char **argv)
{
    sign_opts o;
    csign_rc rc = sign_parse(argc, argv, &o);

    if (rc != CSIGN_OK || o.c.help) {
        free(o.files);
        return rc == CSIGN_OK ? cli_help(&cmd_sign) : rc;
    }
    stop_catch();
    digest_set_cancel(stop_flag());
    rc = o.manifest ? sign_manifest(&o, stop_flag()) : sign_files(&o);
    free(o.files);
    if (stop_requested() != 0) {
        /* Nothing half-written remains (outputs are atomic) and the
         * session is closed: end as the signal asked. */
        fprintf(stderr, "csign: sign: interrupted\n");
        stop_resend();
    }
    return rc;
}

const cli_command cmd_sign = {
    .name = "sign",
    .usage = "csign sign --key URI [options] FILE...",
    .summary = "Write a detached CMS signature for each FILE: the file is hashed here, only "
               "the signed attributes go to the token, with one login for all files.",
    .opts = opts,
    .token = true,
    .run = run,
};
