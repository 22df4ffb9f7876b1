/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/json_doc.h"
#include "cli/report.h"
#include "core/cert.h"
#include "sys/io.h"
#include "sys/rfc3339.h"
#include "core/verify.h"
#include "core/x509gen.h"

enum {
    OPT_TRUST = 1,
    OPT_UNTRUSTED,
    OPT_SIG,
    OPT_AT_TIME,
    OPT_EXPECT_SIGNER,
    OPT_EXPECT_SUBJECT,
    OPT_MIN_RSA_BITS,
    OPT_JSON,
    OPT_JOBS,
    OPT_MANIFEST,
    OPT_STRICT,
    OPT_IGNORE_MISSING,
    OPT_TSA_TRUST,
    OPT_CRL,
    OPT_REQUIRE_CRL,
    OPT_REQUIRE_TIMESTAMP,
    OPT_POLICY,
};

static const opt_spec opts[] = {
    {OPT_TRUST, "trust", 0, "FILE", "PEM bundle of trust anchors (required, repeatable)"},
    {OPT_UNTRUSTED, "untrusted", 0, "FILE", "extra intermediate certificates (repeatable)"},
    {OPT_SIG, "sig", 0, "SIG", "signature file (one input only; default FILE.p7s)"},
    {OPT_AT_TIME, "at-time", 0, "TIME", "judge certificates at this RFC 3339 time (default now)"},
    {OPT_EXPECT_SIGNER, "expect-signer", 0, "SHA256:HEX",
     "the signer certificate must have this SHA-256 fingerprint (SHA256:HEX, HEX or AB:CD:...; "
     "repeatable, any one may match)"},
    {OPT_EXPECT_SUBJECT, "expect-subject", 0, "DN",
     "the signer must have this subject (repeatable, any one may match)"},
    {OPT_MIN_RSA_BITS, "min-rsa-bits", 0, "N", "smallest RSA key accepted (default 2048)"},
    {OPT_JSON, "json", 0, NULL, "print one JSON document on stdout (docs/json.md)"},
    {OPT_JOBS, "jobs", 'j', "N", "check files on N threads (default: online CPUs)"},
    {OPT_MANIFEST, "manifest", 0, "FILE",
     "verify a signed checksum list (signature FILE.p7s) and every file it lists"},
    {OPT_IGNORE_MISSING, "ignore-missing", 0, NULL,
     "with --manifest: listed files that are absent are skipped (at least one must be there)"},
    {OPT_TSA_TRUST, "tsa-trust", 0, "FILE",
     "anchors for timestamps (repeatable); without, a timestamp is shown but not used"},
    {OPT_CRL, "crl", 0, "FILE", "CRLs to check the signer's chain against (repeatable)"},
    {OPT_REQUIRE_CRL, "require-crl", 0, NULL, "every CA of the chain must have a CRL given"},
    {OPT_REQUIRE_TIMESTAMP, "require-timestamp", 0, NULL,
     "a signature without a trusted timestamp is not valid"},
    {OPT_POLICY, "policy", 0, "NAME",
     "also hold the signature to a policy: cabf (CA/Browser Forum code signing rules, "
     "docs/policy.md; needs a timestamp trusted by --tsa-trust) or none (default)"},
    {OPT_STRICT, "strict", 0, NULL,
     "with --manifest: files in the list's folder that it does not list fail too"},
    FILES_FROM_SPECS,
    {0, NULL, 0, NULL, NULL},
};

#define MAX_FILES 64

typedef struct {
    cli_common c;
    const char *trust[MAX_FILES];
    int ntrust;
    const char *untrusted[MAX_FILES];
    int nuntrusted;
    const char *tsa_trust[MAX_FILES];
    int ntsa_trust;
    const char *crls[MAX_FILES];
    int ncrls;
    bool require_crl, require_timestamp;
    policy_id policy;
    const char *sig;
    time_t at;
    bool at_set;
    unsigned char expect_sha256[MAX_FILES][32];
    int nexpect_signer;
    const char *expect_subject[MAX_FILES];
    int nexpect_subject;
    long min_rsa_bits;
    bool json;
    int jobs;
    const char *manifest;
    bool strict, ignore_missing;
    files_from from;
    char **files;
    int nfiles;
} verify_opts;

/* A SHA-256 fingerprint in the forms people paste: SHA256:HEX (csign's
 * text), bare HEX (csign's JSON), colon-separated pairs (openssl x509
 * -fingerprint, with or without its "SHA256 Fingerprint=" label); any
 * case. */
static csign_rc parse_fingerprint(const char *arg, unsigned char out[32])
{
    const char *p = arg;
    size_t n = 0, len;

    if (strncasecmp(p, "SHA256 Fingerprint=", 19) == 0)
        p += 19;
    else if (strncasecmp(p, "SHA256:", 7) == 0)
        p += 7;
    len = strlen(p);
    if ((len != 64 && len != 95) || cli_hex(p, "--expect-signer", out, 32, &n) != CSIGN_OK ||
        n != 32)
        return err_set(CSIGN_EUSAGE,
                       "--expect-signer '%s' is not a SHA-256 fingerprint: give 64 hex digits, "
                       "bare, after 'SHA256:' or as colon-separated pairs",
                       arg);
    return CSIGN_OK;
}

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    verify_opts *o = ctx;
    char *end = NULL;

    switch (id) {
    case OPT_FILES_FROM:
    case OPT_FILES_FROM0:
        return files_from_on_opt(&o->from, id, arg);
    case OPT_TRUST:
    case OPT_UNTRUSTED:
    case OPT_TSA_TRUST:
    case OPT_CRL: {
        const char **list = id == OPT_TRUST       ? o->trust
                            : id == OPT_UNTRUSTED ? o->untrusted
                            : id == OPT_TSA_TRUST ? o->tsa_trust
                                                  : o->crls;
        int *count = id == OPT_TRUST       ? &o->ntrust
                     : id == OPT_UNTRUSTED ? &o->nuntrusted
                     : id == OPT_TSA_TRUST ? &o->ntsa_trust
                                           : &o->ncrls;
        if (*count == MAX_FILES)
            return err_set(CSIGN_EUSAGE, "too many files for one option");
        list[(*count)++] = arg;
        break;
    }
    case OPT_SIG:
        o->sig = arg;
        break;
    case OPT_AT_TIME:
        if (!rfc3339_parse(arg, &o->at))
            return err_set(CSIGN_EUSAGE, "--at-time needs an RFC 3339 time such as "
                                         "2026-11-27T12:00:00Z");
        o->at_set = true;
        break;
    case OPT_EXPECT_SIGNER:
        if (o->nexpect_signer == MAX_FILES)
            return err_set(CSIGN_EUSAGE, "too many values for --expect-signer");
        if (parse_fingerprint(arg, o->expect_sha256[o->nexpect_signer]) != CSIGN_OK)
            return CSIGN_EUSAGE;
        o->nexpect_signer++;
        break;
    case OPT_EXPECT_SUBJECT:
        if (o->nexpect_subject == MAX_FILES)
            return err_set(CSIGN_EUSAGE, "too many values for --expect-subject");
        o->expect_subject[o->nexpect_subject++] = arg;
        break;
    case OPT_MIN_RSA_BITS:
        errno = 0;
        o->min_rsa_bits = strtol(arg, &end, 10);
        if (*end != '\0' || errno != 0 || o->min_rsa_bits < 1024 || o->min_rsa_bits > 16384)
            return err_set(CSIGN_EUSAGE, "--min-rsa-bits needs a number from 1024 to 16384");
        break;
    case OPT_JSON:
        o->json = true;
        json_doc_want("verify", true);
        break;
    case OPT_MANIFEST:
        o->manifest = arg;
        break;
    case OPT_STRICT:
        o->strict = true;
        break;
    case OPT_IGNORE_MISSING:
        o->ignore_missing = true;
        break;
    case OPT_REQUIRE_CRL:
        o->require_crl = true;
        break;
    case OPT_REQUIRE_TIMESTAMP:
        o->require_timestamp = true;
        break;
    case OPT_POLICY:
        return policy_parse(arg, &o->policy);
    case OPT_JOBS:
        errno = 0;
        o->jobs = (int)strtol(arg, &end, 10);
        if (*end != '\0' || errno != 0 || o->jobs < 1 || o->jobs > 64)
            return err_set(CSIGN_EUSAGE, "--jobs needs a number from 1 to 64");
        break;
    }
    return CSIGN_OK;
}

static csign_rc verify_parse(int argc, char **argv, verify_opts *o)
{
    csign_rc rc;

    memset(o, 0, sizeof(*o));
    o->min_rsa_bits = 2048;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
    o->files = calloc((size_t)argc + 1, sizeof(*o->files));
    if (o->files == NULL)
        return err_oom();
    rc = cli_parse(&cmd_verify, argc, argv, on_opt, o, &o->c, o->files, &o->nfiles);
    if (rc == CSIGN_OK && !o->c.help)
        rc = files_from_read(&o->from, &o->files, &o->nfiles);
    if (rc != CSIGN_OK || o->c.help)
        return rc;
    if (o->ntrust == 0)
        return err_set(CSIGN_EUSAGE, "--trust is required: csign never uses the system's "
                                     "trust store");
    if (o->strict && o->manifest == NULL)
        return err_set(CSIGN_EUSAGE, "--strict goes with --manifest");
    if (o->ignore_missing && o->manifest == NULL)
        return err_set(CSIGN_EUSAGE, "--ignore-missing goes with --manifest");
    if (o->manifest != NULL && o->nfiles > 0)
        return err_set(CSIGN_EUSAGE, "--manifest checks the files the list names; give no "
                                     "files");
    if (o->manifest != NULL && strcmp(o->manifest, "-") == 0)
        return err_set(CSIGN_EUSAGE, "--manifest needs a file: its paths are relative to its "
                                     "folder");
    if (o->manifest != NULL)
        return CSIGN_OK;
    if (o->nfiles == 0)
        return err_set(CSIGN_EUSAGE, "give the files to verify");
    if (o->sig != NULL && o->nfiles > 1)
        return err_set(CSIGN_EUSAGE, "--sig takes one input only");
    for (int i = 0; i < o->nfiles; i++) {
        bool from_stdin = strcmp(o->files[i], "-") == 0;
        if (from_stdin && o->sig == NULL)
            return err_set(CSIGN_EUSAGE, "verifying standard input needs --sig");
        if (from_stdin && strcmp(o->sig, "-") == 0)
            return err_set(CSIGN_EUSAGE, "the signature and the content cannot both come from "
                                         "standard input");
        /* Never cut short: a shorter name could be another file. */
        if (strlen(o->sig ? o->sig : o->files[i]) + (o->sig ? 0 : strlen(".p7s")) >= PATH_MAX)
            return err_set(CSIGN_EUSAGE, "the signature path is too long for '%s'", o->files[i]);
    }
    return CSIGN_OK;
}

/* Adds every certificate of a file to the store or the stack. */
static csign_rc load_certs(const char *path, X509_STORE *store, STACK_OF(X509) * stack)
{
    STACK_OF(X509) *certs = NULL;
    csign_rc rc = cert_read_file(path, &certs);
    X509 *x;

    while (rc == CSIGN_OK && (x = sk_X509_shift(certs)) != NULL) {
        if (store != NULL ? X509_STORE_add_cert(store, x) != 1 : !sk_X509_push(stack, x))
            rc = err_set_ssl(CSIGN_EINTERNAL, "cannot keep certificates of '%s'", path);
        if (store != NULL || rc != CSIGN_OK)
            X509_free(x);
    }
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

static csign_rc run(int argc, char **argv)
{
    verify_opts o;
    verify_policy p;
    X509_NAME *subjects[MAX_FILES] = {NULL};
    csign_rc rc = verify_parse(argc, argv, &o);

    memset(&p, 0, sizeof(p));
    if (rc != CSIGN_OK || o.c.help) {
        free(o.files);
        return rc == CSIGN_OK ? cli_help(&cmd_verify) : rc;
    }
    p.trust = X509_STORE_new();
    p.untrusted = sk_X509_new_null();
    p.at = o.at_set ? o.at : time(NULL);
    p.min_rsa_bits = (int)o.min_rsa_bits;
    p.trust_files = o.trust;
    p.ntrust_files = o.ntrust;
    p.expect_sha256 = (const unsigned char(*)[32])o.expect_sha256;
    p.nexpect_sha256 = o.nexpect_signer;
    if (p.trust == NULL || p.untrusted == NULL)
        rc = err_oom();
    for (int i = 0; rc == CSIGN_OK && i < o.ntrust; i++)
        rc = load_certs(o.trust[i], p.trust, NULL);
    for (int i = 0; rc == CSIGN_OK && i < o.nuntrusted; i++)
        rc = load_certs(o.untrusted[i], NULL, p.untrusted);
    if (rc == CSIGN_OK && o.ntsa_trust > 0 && (p.tsa_trust = X509_STORE_new()) == NULL)
        rc = err_oom();
    for (int i = 0; rc == CSIGN_OK && i < o.ntsa_trust; i++)
        rc = load_certs(o.tsa_trust[i], p.tsa_trust, NULL);
    if (rc == CSIGN_OK && o.ncrls > 0 && (p.crls = sk_X509_CRL_new_null()) == NULL)
        rc = err_oom();
    for (int i = 0; rc == CSIGN_OK && i < o.ncrls; i++)
        rc = cert_read_crls(o.crls[i], p.crls);
    p.require_crl = o.require_crl;
    p.require_timestamp = o.require_timestamp;
    p.policy = o.policy;
    for (int i = 0; rc == CSIGN_OK && i < o.nexpect_subject; i++)
        rc = dn_parse(o.expect_subject[i], &subjects[i]);
    p.expect_subject = (const X509_NAME *const *)subjects;
    p.nexpect_subject = o.nexpect_subject;
    if (rc == CSIGN_OK && o.manifest != NULL) {
        manifest_opts m = {o.manifest, o.sig, o.strict, o.json, o.jobs, o.ignore_missing};
        rc = verify_manifest(&m, &p);
    } else if (rc == CSIGN_OK) {
        files_opts f = {o.files, o.nfiles, o.sig, o.json, o.jobs};
        rc = verify_files(&f, &p);
    }
    for (int i = 0; i < o.nexpect_subject; i++)
        X509_NAME_free(subjects[i]);
    X509_STORE_free(p.trust);
    X509_STORE_free(p.tsa_trust);
    sk_X509_CRL_pop_free(p.crls, X509_CRL_free);
    sk_X509_pop_free(p.untrusted, X509_free);
    free(o.files);
    return rc;
}

const cli_command cmd_verify = {
    .name = "verify",
    .usage = "csign verify --trust FILE [options] FILE...\n"
             "       csign verify --trust FILE --manifest SHA256SUMS [--strict] [options]",
    .summary = "Check detached signatures strictly: content, signature, chain to an explicit "
               "trust anchor, and code-signing usage of the signer certificate.",
    .examples = "csign verify --trust dev.pem app.tar.gz\n"
                "csign verify --trust dev.pem --manifest SHA256SUMS\n"
                "csign verify --trust ca.pem --tsa-trust tsa-root.pem app.tar.gz",
    .opts = opts,
    .token = false,
    .run = run,
};
