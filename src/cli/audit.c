/* SPDX-License-Identifier: Apache-2.0 */
/* sign --audit-log: the records (audit.h); the file is sys/applog.c's. */
#define _GNU_SOURCE
#include "cli/audit.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/cert.h"
#include "core/stamped.h"
#include "sys/applog.h"
#include "sys/rfc3339.h"

struct audit_log {
    applog file;
    json_t *shared; /* user, host, ci, key, certificate: the same in each record */
};

/* The CI systems whose identifiers are recorded, each with the variables
 * read (docs/audit-log.md). The first system with one of them set is the
 * one recorded. */
static const struct {
    const char *system;
    const char *vars[8];
} ci_systems[] = {
    {"github-actions",
     {"GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_SHA", "GITHUB_REF",
      "GITHUB_WORKFLOW", "GITHUB_ACTOR", NULL}},
    {"gitlab-ci",
     {"CI_PROJECT_PATH", "CI_PIPELINE_ID", "CI_JOB_ID", "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME",
      NULL}},
    {"jenkins", {"JOB_NAME", "BUILD_NUMBER", "BUILD_URL", "GIT_COMMIT", NULL}},
};

/* {"system": ..., VAR: value...} for the first CI system found, or null. */
static json_t *ci_object(void)
{
    for (size_t s = 0; s < sizeof(ci_systems) / sizeof(ci_systems[0]); s++) {
        json_t *ci = NULL;
        for (const char *const *v = ci_systems[s].vars; *v != NULL; v++) {
            const char *value = getenv(*v);
            if (value == NULL)
                continue;
            if (ci == NULL) {
                ci = json_object();
                json_object_set_new(ci, "system", json_string(ci_systems[s].system));
            }
            json_object_set_new(ci, *v, cli_json_string(value));
        }
        if (ci != NULL)
            return ci;
    }
    return json_null();
}

/* Whether the attribute "name=value" (len bytes) is one that names a PIN
 * or where one comes from. */
static bool pin_attribute(const char *attr, size_t len)
{
    static const char *const names[] = {"pin-value", "pin-source"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i]);
        if (len >= n && strncasecmp(attr, names[i], n) == 0 && (len == n || attr[n] == '='))
            return true;
    }
    return false;
}

/* Appends the attributes of [p, end) separated by sep to out, leaving out
 * the PIN attributes. */
static void keep_attributes(const char *p, const char *end, char sep, char *out, size_t *o)
{
    bool first = true;

    while (p < end) {
        const char *next = memchr(p, sep, (size_t)(end - p));
        if (next == NULL)
            next = end;
        if (next > p && !pin_attribute(p, (size_t)(next - p))) {
            if (!first)
                out[(*o)++] = sep;
            memcpy(out + *o, p, (size_t)(next - p));
            *o += (size_t)(next - p);
            first = false;
        }
        p = next + 1;
    }
}

/* RFC 7512: path attributes separated by ';', then '?' and query
 * attributes separated by '&'. */
char *audit_key_uri(const char *key)
{
    size_t len = strlen(key), o = 0;
    char *out = malloc(len + 2);
    const char *colon = strchr(key, ':');

    if (out == NULL)
        return NULL;
    if (colon == NULL) {
        memcpy(out, key, len + 1);
        return out;
    }
    const char *q = strchr(colon + 1, '?'), *end = key + len;
    memcpy(out, key, (size_t)(colon + 1 - key));
    o = (size_t)(colon + 1 - key);
    keep_attributes(colon + 1, q ? q : end, ';', out, &o);
    if (q != NULL) {
        size_t mark = o;
        out[o++] = '?';
        keep_attributes(q + 1, end, '&', out, &o);
        if (o == mark + 1)
            o = mark; /* nothing kept after the '?' */
    }
    out[o] = '\0';
    return out;
}

csign_rc audit_open(const char *path, const char *key, audit_log **out)
{
    audit_log *a = calloc(1, sizeof(*a));
    char host[HOST_NAME_MAX + 1] = "", uid[32];
    struct passwd pwd, *pw = NULL;
    char pwbuf[4096];

    *out = NULL;
    if (a == NULL)
        return err_oom();
    a->file.fd = -1;
    csign_rc rc = applog_open(path, &a->file);
    if (rc != CSIGN_OK) {
        char why[ERR_MAX];
        snprintf(why, sizeof(why), "%s", err_msg());
        free(a);
        return err_set(rc,
                       "%s; --audit-log needs a writable regular file in an existing folder "
                       "(nothing was signed)",
                       why);
    }
    char *uri = audit_key_uri(key);
    a->shared = json_object();
    if (uri == NULL || a->shared == NULL) {
        free(uri);
        audit_close(a);
        return err_oom();
    }
    if (getpwuid_r(geteuid(), &pwd, pwbuf, sizeof(pwbuf), &pw) != 0)
        pw = NULL;
    if (gethostname(host, sizeof(host)) != 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    snprintf(uid, sizeof(uid), "%lu", (unsigned long)geteuid());
    json_object_set_new(a->shared, "user", cli_json_string(pw ? pw->pw_name : uid));
    json_object_set_new(a->shared, "uid", json_integer((json_int_t)geteuid()));
    json_object_set_new(a->shared, "host", host[0] ? cli_json_string(host) : json_null());
    json_object_set_new(a->shared, "ci", ci_object());
    json_object_set_new(a->shared, "key", cli_json_string(uri));
    json_object_set_new(a->shared, "certificate", json_null());
    free(uri);
    *out = a;
    return CSIGN_OK;
}

csign_rc audit_signer(audit_log *a, X509 *cert)
{
    char fingerprint[65];
    char *subject = cert_subject(cert);
    json_t *c = json_object();

    if (c == NULL) {
        free(subject);
        return err_oom();
    }
    cert_fingerprint(cert, fingerprint);
    json_object_set_new(c, "sha256", json_string(fingerprint));
    json_object_set_new(c, "subject", subject ? cli_json_string(subject) : json_null());
    json_object_set_new(a->shared, "certificate", c);
    free(subject);
    return CSIGN_OK;
}

/* path made absolute without resolving it when it no longer exists. */
static json_t *absolute(const char *path)
{
    char buf[PATH_MAX], cwd[PATH_MAX];

    if (realpath(path, buf) != NULL)
        return cli_json_string(buf);
    if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
        (size_t)snprintf(buf, sizeof(buf), "%s/%s", cwd, path) < sizeof(buf))
        return cli_json_string(buf);
    return cli_json_string(path);
}

static json_t *record(const audit_log *a, const audit_entry *e)
{
    char now[RFC3339_UTC_LEN], hex[2 * EVP_MAX_MD_SIZE + 1];
    json_t *r = json_object(), *f = json_object(), *d = json_object(), *s = json_object();
    bool std_io = e->file != NULL && strcmp(e->file, "-") == 0;

    rfc3339_format(time(NULL), now);
    json_object_set_new(r, "time", json_string(now));
    json_object_set_new(r, "kind", json_string(e->kind));
    json_object_update(r, a->shared);
    json_object_del(r, "certificate"); /* after the file, below */

    digest_hex(e->digest, hex);
    json_object_set_new(d, "algorithm", json_string(digest_name(e->digest->md)));
    json_object_set_new(d, "hex", json_string(hex));
    json_object_set_new(f, "path",
                        e->file == NULL       ? json_null()
                        : e->local && !std_io ? absolute(e->file)
                                              : cli_json_string(e->file));
    json_object_set_new(f, "size",
                        e->local ? json_integer((json_int_t)e->digest->bytes) : json_null());
    json_object_set_new(f, "digest", d);
    json_object_set_new(r, "file", f);

    bool to_stdout = strcmp(e->signature, "-") == 0;
    json_object_set_new(s, "path", to_stdout ? json_string("-") : absolute(e->signature));
    json_object_set_new(s, "sha256", json_string(e->sig_sha256));
    json_object_set_new(r, "signature", s);
    json_object_set_new(r, "certificate",
                        json_deep_copy(json_object_get(a->shared, "certificate")));

    if (e->tsa != NULL) {
        json_t *t = json_object();
        json_object_set_new(t, "time",
                            e->ts_time && e->ts_time[0] ? json_string(e->ts_time) : json_null());
        json_object_set_new(t, "tsa", cli_json_string(e->tsa));
        json_object_set_new(r, "timestamp", t);
    } else
        json_object_set_new(r, "timestamp", json_null());
    return r;
}

csign_rc audit_append(audit_log *a, const audit_entry *e)
{
    json_t *r = record(a, e);
    char *text = r ? json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    csign_rc rc;

    json_decref(r);
    if (text == NULL)
        return err_oom();
    /* The whole line, newline included, in one write. */
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (line == NULL) {
        free(text);
        return err_oom();
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    rc = applog_append(&a->file, line, len + 1);
    free(line);
    return rc;
}

csign_rc audit_sync(audit_log *a)
{
    return applog_sync(&a->file);
}

void audit_close(audit_log *a)
{
    if (a == NULL)
        return;
    applog_close(&a->file);
    json_decref(a->shared);
    free(a);
}

void audit_signature_facts(const unsigned char *sig, size_t len, bool stamped, char sha[65],
                           char ts_time[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char digits[] = "0123456789abcdef";

    sha[0] = '\0';
    ts_time[0] = '\0';
    if (EVP_Digest(sig, len, md, &n, EVP_sha256(), NULL) == 1 && n == 32) {
        for (unsigned i = 0; i < n; i++) {
            sha[2 * i] = digits[md[i] >> 4];
            sha[2 * i + 1] = digits[md[i] & 15];
        }
        sha[2 * n] = '\0';
    }
    if (stamped) {
        bool present = false;
        tsa_info info;
        memset(&info, 0, sizeof(info));
        if (stamped_read(sig, len, &present, &info) == CSIGN_OK && present)
            snprintf(ts_time, 32, "%s", info.gen_time_text);
        tsa_info_clear(&info);
        err_clear();
    }
    ERR_clear_error();
}
