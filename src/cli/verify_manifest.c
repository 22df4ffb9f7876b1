/* SPDX-License-Identifier: Apache-2.0 */
/* csign verify --manifest: the list's signature, then every listed file. */
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

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "sys/io.h"
#include "core/manifest.h"

#define MANIFEST_MAX (256L * 1024 * 1024)

typedef enum { ST_OK, ST_CHANGED, ST_MISSING, ST_EXTRA, ST_ERROR } file_status;

static const char *const status_word[] = {"OK", "CHANGED", "MISSING", "EXTRA", "ERROR"};
static const char *const status_json[] = {"ok", "changed", "missing", "extra", "error"};

typedef struct {
    const char *name; /* as the manifest lists it (borrowed) */
    file_status status;
    csign_rc rc;      /* for ST_ERROR */
    char reason[256]; /* for ST_ERROR */
} file_check;

typedef struct {
    char sig[PATH_MAX];
    char dir[PATH_MAX];
    csign_rc rc; /* the manifest's own verdict */
    char reason[ERR_MAX];
    verify_result r;
    manifest list;
    file_check *files;
    size_t nfiles;
    char **extra; /* --strict: unlisted files */
    size_t nextra;
} check;

/* The signature over the manifest's bytes, then the parsed list: what is
 * checked is exactly what was verified. */
static csign_rc check_list(const manifest_opts *m, const verify_policy *p, check *c)
{
    unsigned char *text = NULL, *sig = NULL;
    size_t len = 0, siglen = 0;
    csign_rc rc = io_read_file(m->manifest, MANIFEST_MAX, &text, &len);

    if (rc == CSIGN_OK && (rc = cli_read_signature(c->sig, &sig, &siglen)) == CSIGN_EINPUT)
        rc = CSIGN_ENO; /* a verdict: the signature is not valid */
    if (rc == CSIGN_OK)
        rc = verify_detached_data(p, sig, siglen, text, len, &c->r);
    if (rc == CSIGN_OK && (rc = manifest_parse((const char *)text, len, &c->list)) != CSIGN_OK)
        rc = err_set(rc, "malformed manifest: %s", err_msg());
    free(text);
    free(sig);
    return rc;
}

/* Re-hashes every listed file on m->jobs threads. Files are opened so
 * that no path or link leads outside the list's folder. */
static csign_rc check_files(const manifest_opts *m, check *c)
{
    size_t n = c->list.n;
    digest_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
    int dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    csign_rc rc = CSIGN_OK;

    c->files = calloc(n ? n : 1, sizeof(*c->files));
    if (jobs == NULL || c->files == NULL)
        rc = err_oom();
    else if (dirfd < 0)
        rc = err_set(CSIGN_EIO, "cannot open folder '%s': %s", c->dir, strerror(errno));
    for (size_t i = 0; rc == CSIGN_OK && i < n; i++) {
        c->files[i].name = c->list.v[i].path;
        jobs[i].path = c->list.v[i].path;
        jobs[i].beneath = true;
        jobs[i].dirfd = dirfd;
    }
    c->nfiles = n;
    if (rc == CSIGN_OK)
        rc = progress_digest_many("verifying", jobs, n, c->list.md, m->jobs);
    for (size_t i = 0; rc == CSIGN_OK && i < n; i++) {
        file_check *f = &c->files[i];
        const digest_result *d = &jobs[i].result;
        int e = jobs[i].open_errno;
        if (jobs[i].rc == CSIGN_OK) {
            if (CRYPTO_memcmp(d->value, c->list.v[i].value, d->len) != 0)
                f->status = ST_CHANGED;
            continue;
        }
        f->status = e == ENOENT || e == ENOTDIR  ? ST_MISSING
                    : jobs[i].rc == CSIGN_EINPUT ? ST_CHANGED
                                                 : ST_ERROR;
        f->rc = jobs[i].rc;
        if (f->status != ST_MISSING)
            snprintf(f->reason, sizeof(f->reason), "%s", jobs[i].reason);
    }
    if (dirfd >= 0)
        close(dirfd);
    free(jobs);
    return rc;
}

/* --strict: files under the manifest's folder that it does not list,
 * besides the manifest and its signature. */
static csign_rc find_extra(const manifest_opts *m, check *c)
{
    char real[PATH_MAX], *own_sig = NULL, copy[PATH_MAX];
    char **names = NULL;
    size_t n = 0;

    snprintf(copy, sizeof(copy), "%s", m->manifest);
    const char *own = basename(copy);
    if (realpath(c->dir, real) == NULL)
        return err_set(CSIGN_EIO, "cannot resolve folder '%s': %s", c->dir, strerror(errno));
    if (manifest_relative(real, c->sig, &own_sig) != CSIGN_OK)
        own_sig = NULL; /* the signature lies elsewhere */
    csign_rc rc = manifest_walk(c->dir, &names, &n);
    for (size_t i = 0; rc == CSIGN_OK && i < n; i++) {
        if (strcmp(names[i], own) == 0 || (own_sig && strcmp(names[i], own_sig) == 0) ||
            manifest_find(&c->list, names[i]) >= 0) {
            free(names[i]);
            continue;
        }
        names[c->nextra++] = names[i];
    }
    if (rc == CSIGN_OK)
        c->extra = names;
    else
        manifest_names_free(names, n);
    free(own_sig);
    return rc;
}

static void print_text(const manifest_opts *m, const check *c)
{
    char a[PATH_MAX * 4];

    cli_escape(m->manifest, a, sizeof(a));
    if (c->rc != CSIGN_OK) {
        printf("FAIL %s: %s\n", a, c->reason);
        return;
    }
    report_ok_line(m->manifest, &c->r);
    for (size_t i = 0; i < c->nfiles; i++) {
        const file_check *f = &c->files[i];
        if ((f->status == ST_OK && cli_verbosity < 0) ||
            (f->status == ST_MISSING && m->ignore_missing))
            continue;
        printf("%s %s%s%s\n", status_word[f->status], cli_escape(f->name, a, sizeof(a)),
               f->reason[0] ? ": " : "", f->reason);
    }
    for (size_t i = 0; i < c->nextra; i++)
        printf("EXTRA %s\n", cli_escape(c->extra[i], a, sizeof(a)));
}

static json_t *file_json(const char *name, file_status s, const char *reason)
{
    json_t *f = json_object();

    json_object_set_new(f, "path", cli_json_string(name));
    json_object_set_new(f, "status", json_string(status_json[s]));
    json_object_set_new(f, "reason", reason && reason[0] ? cli_json_string(reason) : json_null());
    return f;
}

static void print_json(const manifest_opts *m, const check *c, csign_rc rc)
{
    json_t *j = json_object(), *files = json_array();

    for (size_t i = 0; i < c->nfiles; i++)
        if (c->files[i].status != ST_MISSING || !m->ignore_missing)
            json_array_append_new(
                files, file_json(c->files[i].name, c->files[i].status, c->files[i].reason));
    for (size_t i = 0; i < c->nextra; i++)
        json_array_append_new(files, file_json(c->extra[i], ST_EXTRA, NULL));
    json_object_set_new(j, "manifest", cli_json_string(m->manifest));
    json_object_set_new(j, "signature", cli_json_string(c->sig));
    json_object_set_new(j, "verdict",
                        json_string(rc == CSIGN_OK    ? "valid"
                                    : rc == CSIGN_ENO ? "invalid"
                                                      : "error"));
    json_object_set_new(j, "reason", rc == CSIGN_OK ? json_null() : cli_json_string(err_msg()));
    json_object_set_new(j, "signer_subject", cli_json_string(c->r.subject));
    json_object_set_new(j, "signer_sha256",
                        c->r.sha256[0] ? json_string(c->r.sha256) : json_null());
    json_object_set_new(j, "signing_time",
                        c->r.signing_time[0] ? json_string(c->r.signing_time) : json_null());
    json_object_set_new(j, "digest_algorithm",
                        c->list.md ? json_string(digest_name(c->list.md)) : json_null());
    report_add_time_json(j, &c->r);
    json_object_set_new(j, "files", files);
    json_object_set_new(j, "exit_code", json_integer(rc));
    if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0)
        fputc('\n', stdout);
    json_decref(j);
}

/* The verdict over the files: any file CHANGED, MISSING (unless
 * ignored) or EXTRA makes the answer no (an unreadable file elsewhere must
 * not hide that); else the most severe error of a file that could not be
 * read. With ignore_missing, a list none of whose files is there is a no
 * too, as for sha256sum -c --ignore-missing. */
static csign_rc verdict(const manifest_opts *m, const check *c)
{
    size_t bad = c->nextra, missing = 0;
    const file_check *error = NULL;

    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->files[i].status == ST_MISSING && m->ignore_missing) {
            missing++;
            continue;
        }
        if (c->files[i].status == ST_ERROR &&
            (error == NULL || report_worse(error->rc, c->files[i].rc) != error->rc))
            error = &c->files[i];
        bad += c->files[i].status != ST_OK && c->files[i].status != ST_ERROR;
    }
    if (bad > 0)
        return err_set(CSIGN_ENO, "%zu of %zu files are not as the signed manifest lists", bad,
                       c->nfiles - missing + c->nextra);
    if (missing > 0 && missing == c->nfiles && c->nextra == 0)
        return err_set(CSIGN_ENO,
                       "no file was verified: none of the %zu files the list names is present "
                       "(--ignore-missing)",
                       c->nfiles);
    if (error != NULL)
        return err_set(error->rc, "%s", error->reason);
    return CSIGN_OK;
}

csign_rc verify_manifest(const manifest_opts *m, const verify_policy *p)
{
    check c;
    char copy[PATH_MAX];

    memset(&c, 0, sizeof(c));
    int len = m->sig ? snprintf(c.sig, sizeof(c.sig), "%s", m->sig)
                     : snprintf(c.sig, sizeof(c.sig), "%s.p7s", m->manifest);
    if (len < 0 || (size_t)len >= sizeof(c.sig) || strlen(m->manifest) >= sizeof(copy))
        return err_set(CSIGN_EUSAGE, "the manifest's or its signature's path is too long");
    snprintf(copy, sizeof(copy), "%s", m->manifest);
    snprintf(c.dir, sizeof(c.dir), "%s", dirname(copy));
    csign_rc rc = c.rc = check_list(m, p, &c);
    if (rc != CSIGN_OK)
        snprintf(c.reason, sizeof(c.reason), "%s", err_msg());
    if (rc == CSIGN_OK)
        rc = check_files(m, &c);
    if (rc == CSIGN_OK && m->strict)
        rc = find_extra(m, &c);
    if (rc == CSIGN_OK)
        rc = verdict(m, &c);
    if (m->json)
        print_json(m, &c, rc);
    else if (c.rc != CSIGN_OK || c.nfiles > 0)
        print_text(m, &c);
    if (c.rc != CSIGN_OK)
        rc = err_set(c.rc, "%s", c.reason);
    verify_result_clear(&c.r);
    manifest_clear(&c.list);
    free(c.files);
    manifest_names_free(c.extra, c.nextra);
    return rc;
}
