/* SPDX-License-Identifier: Apache-2.0 */
/* csign sign --manifest: one signed checksum list over many files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/audit.h"
#include "cli/commands.h"
#include "cli/json_doc.h"
#include "cli/progress.h"
#include "core/cert.h"
#include "core/cms.h"
#include "sys/io.h"
#include "core/manifest.h"
#include "cli/signer.h"

typedef struct {
    char sig[PATH_MAX];   /* the manifest's signature file */
    char **rel;           /* each file's path in the manifest */
    digest_job *jobs;     /* each file's hash */
    manifest list;        /* what is written */
    digest_result digest; /* of the manifest's text */
    int dirfd;            /* the manifest's folder */
    int failed;
} plan;

/* Paths relative to the manifest's folder, and outputs checked, before
 * the PIN is used. */
static csign_rc make_plan(const sign_opts *o, plan *p)
{
    char copy[PATH_MAX], dir[PATH_MAX];

    if ((size_t)snprintf(p->sig, sizeof(p->sig), "%s.p7s", o->manifest) >= sizeof(p->sig))
        return err_set(CSIGN_EUSAGE, "manifest path '%s' is too long", o->manifest);
    csign_rc rc = io_check_output(o->manifest, o->force);
    if (rc == CSIGN_OK)
        rc = io_check_output(p->sig, o->force);
    if (rc != CSIGN_OK)
        return rc;
    snprintf(copy, sizeof(copy), "%s", o->manifest);
    if (realpath(dirname(copy), dir) == NULL)
        return err_set(CSIGN_EIO, "cannot resolve the manifest's folder: %s", strerror(errno));
    p->rel = calloc((size_t)o->nfiles, sizeof(*p->rel));
    p->jobs = calloc((size_t)o->nfiles, sizeof(*p->jobs));
    if (p->rel == NULL || p->jobs == NULL)
        return err_oom();
    char *own = NULL, *own_sig = NULL;
    size_t a = 0, b = 0;
    rc = manifest_relative(dir, o->manifest, &own);
    if (rc == CSIGN_OK)
        rc = manifest_relative(dir, p->sig, &own_sig);
    if (rc == CSIGN_OK && (p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        rc = err_set(CSIGN_EIO, "cannot open folder '%s': %s", dir, strerror(errno));
    /* Each file is hashed as the manifest names it, relative to its
     * folder, opened as verify opens it: nothing may lead outside. */
    for (int i = 0; rc == CSIGN_OK && i < o->nfiles; i++) {
        if ((rc = signer_check_input(o->files[i])) != CSIGN_OK) {
            char name[PATH_MAX * 4], why[ERR_MAX];
            snprintf(why, sizeof(why), "%s", err_msg());
            rc = err_set(rc, "%s: %s", cli_escape(o->files[i], name, sizeof(name)), why);
            break;
        }
        rc = manifest_relative(dir, o->files[i], &p->rel[i]);
        if (rc == CSIGN_OK && (strcmp(p->rel[i], own) == 0 || strcmp(p->rel[i], own_sig) == 0))
            rc = err_set(CSIGN_EUSAGE, "'%s' is the manifest or its signature; leave it out",
                         o->files[i]);
        p->jobs[i] = (digest_job){.path = p->rel[i], .beneath = true, .dirfd = p->dirfd};
    }
    if (rc == CSIGN_OK &&
        cli_find_duplicate((const char *const *)p->rel, (size_t)o->nfiles, &a, &b))
        rc = err_set(CSIGN_EUSAGE, "'%s' and '%s' are the same file", o->files[a], o->files[b]);
    free(own);
    free(own_sig);
    return rc;
}

static void free_plan(const sign_opts *o, plan *p)
{
    for (int i = 0; p->rel != NULL && i < o->nfiles; i++)
        free(p->rel[i]);
    free(p->rel);
    free(p->jobs);
    if (p->dirfd >= 0)
        close(p->dirfd);
    manifest_clear(&p->list);
}

/* The list's text from the hashes (made with list_md), sorted by path,
 * and its digest for the signature (sig_md). */
static csign_rc build(const sign_opts *o, plan *p, const EVP_MD *list_md, const EVP_MD *sig_md,
                      char **text, size_t *len)
{
    csign_rc rc = CSIGN_OK;

    p->list.md = list_md;
    for (int i = 0; i < o->nfiles; i++) {
        if (p->jobs[i].rc != CSIGN_OK) {
            fprintf(stderr, "csign: sign: %s: %s\n", o->files[i], p->jobs[i].reason);
            if (p->failed++ == 0)
                rc = err_set(p->jobs[i].rc, "%s", p->jobs[i].reason);
        } else if (p->failed == 0) {
            rc = manifest_add(&p->list, p->rel[i], p->jobs[i].result.value);
        }
    }
    if (p->failed > 0)
        return err_set(rc, "%d of %d files failed; no manifest written", p->failed, o->nfiles);
    if (rc != CSIGN_OK)
        return rc;
    manifest_sort(&p->list);
    rc = manifest_format(&p->list, text, len);
    if (rc == CSIGN_OK)
        rc = digest_buffer(*text, *len, sig_md, &p->digest);
    return rc;
}

/* Writes the signature and the list as one batch (one flush), all or
 * nothing: a failure leaves both old files (or neither, where there were
 * none), never a list without its signature. The signature is renamed
 * first, so that even a crash between the two renames leaves no new list
 * without it. */
static csign_rc write_both(const sign_opts *o, const plan *p, const char *text, size_t len,
                           const unsigned char *sig, size_t siglen)
{
    io_outcome sig_out, list_out;
    io_batch *b = io_batch_new();
    csign_rc rc = b ? io_batch_add(b, p->sig, sig, siglen, o->force, &sig_out) : err_oom();

    if (rc == CSIGN_OK)
        rc = io_batch_add(b, o->manifest, text, len, o->force, &list_out);
    if (rc == CSIGN_OK)
        rc = io_batch_commit_all(b);
    io_batch_free(b);
    return rc;
}

static void report(const sign_opts *o, const plan *p, const signer *st, const char *tsa,
                   const char *warning)
{
    char hex[2 * EVP_MAX_MD_SIZE + 1], a[PATH_MAX * 4], b[PATH_MAX * 4];

    cli_escape(o->manifest, a, sizeof(a));
    if (warning[0])
        fprintf(stderr, "csign: sign: %s: warning: %s\n", a, warning);
    if (!o->json && cli_verbosity < 0)
        return;
    if (!o->json) {
        printf("listed %d files in %s\n", o->nfiles, a);
        printf("signed %s -> %s%s%s\n", a, cli_escape(p->sig, b, sizeof(b)),
               tsa ? ", timestamped by " : "", tsa ? tsa : "");
        return;
    }
    char *subject = cert_subject(st->cert), fingerprint[65];
    json_t *files = json_array(), *r = json_object();
    cert_fingerprint(st->cert, fingerprint);
    for (int i = 0; i < o->nfiles; i++) {
        json_t *f = json_object();
        digest_hex(&p->jobs[i].result, hex);
        json_object_set_new(f, "path", cli_json_string(o->files[i]));
        json_object_set_new(f, "name", cli_json_string(p->rel[i]));
        json_object_set_new(f, "status", json_string("ok"));
        json_object_set_new(f, "reason", json_null());
        json_object_set_new(f, "digest_algorithm", json_string(digest_name(p->list.md)));
        json_object_set_new(f, "digest", json_string(hex));
        json_array_append_new(files, f);
    }
    digest_hex(&p->digest, hex);
    json_object_set_new(r, "path", cli_json_string(o->manifest));
    json_object_set_new(r, "signature", cli_json_string(p->sig));
    json_object_set_new(r, "status", json_string("ok"));
    json_object_set_new(r, "digest_algorithm", json_string(digest_name(p->digest.md)));
    json_object_set_new(r, "digest", json_string(hex));
    json_object_set_new(r, "signer_subject", cli_json_string(subject));
    json_object_set_new(r, "signer_sha256", json_string(fingerprint));
    json_object_set_new(r, "timestamp_authority", tsa ? cli_json_string(tsa) : json_null());
    json_object_set_new(r, "warning", warning[0] ? cli_json_string(warning) : json_null());
    json_object_set_new(json_doc(), "manifest", r);
    json_object_set_new(json_doc(), "files", files);
    free(subject);
}

/* The manifest's audit line, flushed, before the run is reported. The
 * list and its signature stay in place when this fails. */
static csign_rc record(audit_log *a, const sign_opts *o, const plan *p, size_t len,
                       const unsigned char *sig, size_t siglen, const char *tsa)
{
    char sha[65], ts_time[32];
    digest_result d = p->digest;

    d.bytes = len;
    audit_signature_facts(sig, siglen, tsa != NULL, sha, ts_time);
    audit_entry e = {"manifest", o->manifest, true, &d, p->sig, sha, tsa, ts_time};
    csign_rc rc = audit_append(a, &e);
    if (rc == CSIGN_OK)
        rc = audit_sync(a);
    if (rc != CSIGN_OK)
        err_wrap(rc, "%s and %s written but not recorded", o->manifest, p->sig);
    return rc;
}

csign_rc sign_manifest(const sign_opts *o, const volatile sig_atomic_t *stop)
{
    plan p;
    signer st;
    stamper ts;
    char *text = NULL, warning[ERR_MAX] = "";
    size_t len = 0, siglen = 0;
    unsigned char *sig = NULL;
    audit_log *audit = NULL;

    memset(&p, 0, sizeof(p));
    p.dirfd = -1;
    memset(&st, 0, sizeof(st));
    memset(&ts, 0, sizeof(ts));
    csign_rc rc = make_plan(o, &p);
    /* A log that cannot be written fails the run before the PIN is used. */
    if (rc == CSIGN_OK && o->audit_log != NULL)
        rc = audit_open(o->audit_log, o->key, &audit);
    if (rc == CSIGN_OK && o->tsa.cfg.nurls > 0)
        rc = stamper_open(&o->tsa.cfg, &ts);
    if (rc == CSIGN_OK)
        rc = signer_open(o, &st);
    if (rc == CSIGN_OK && audit != NULL)
        rc = audit_signer(audit, st.cert);
    if (rc == CSIGN_OK) {
        /* A list named after a digest (SHA256SUMS) uses it, whatever the
         * key; the signature uses the key's digest (or --digest). */
        const EVP_MD *sig_md = signer_digest(o, st.pub);
        const EVP_MD *list_md = o->list_md ? o->list_md : sig_md;
        rc = progress_digest_many("signing", p.jobs, (size_t)o->nfiles, list_md, o->jobs);
        /* Once interrupted, nothing more is built, signed or written. */
        if (rc == CSIGN_OK && *stop == 0)
            rc = build(o, &p, list_md, sig_md, &text, &len);
    }
    if (rc == CSIGN_OK && *stop == 0) {
        cms_signer s = {st.priv, st.cert, st.chain, o->pss};
        rc = signer_sign(o, &s, o->tsa.cfg.nurls ? &ts : NULL, &p.digest, &sig, &siglen, warning);
    }
    const char *tsa = o->tsa.cfg.nurls && !warning[0] ? ts.used : NULL;
    bool written = false;
    if (rc == CSIGN_OK && *stop == 0)
        written = (rc = write_both(o, &p, text, len, sig, siglen)) == CSIGN_OK;
    /* What was written is recorded, even when a stop came after. */
    if (written && audit != NULL)
        rc = record(audit, o, &p, len, sig, siglen, tsa);
    if (rc == CSIGN_OK && *stop == 0)
        report(o, &p, &st, tsa, warning);
    signer_close(&st);
    stamper_close(&ts);
    audit_close(audit);
    OPENSSL_free(sig);
    free(text);
    free_plan(o, &p);
    return rc;
}
