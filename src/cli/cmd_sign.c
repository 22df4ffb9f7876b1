/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/digest_list.h"
#include "cli/json_doc.h"
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
    OPT_INCLUDE_SIGNATURES,
    OPT_SESSIONS,
    OPT_DIGEST_LIST,
    OPT_AUDIT_LOG,
    OPT_POLICY,
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
    {OPT_DIGEST_LIST, "digest-list", 0, "FILE",
     "sign each 'ALG:HEX  NAME' line of FILE (csign digest's output; '-': standard input) "
     "into DIR/NAME.p7s; needs --out-dir"},
    {OPT_PEM, "pem", 0, NULL, "write PEM instead of DER"},
    {OPT_OUT, "out", 'o', "FILE",
     "signature file (one input only; default FILE.p7s); '-' writes it to standard output"},
    {OPT_OUT_DIR, "out-dir", 0, "DIR", "write each signature into DIR"},
    {OPT_FORCE, "force", 0, NULL, "replace existing signature files"},
    {OPT_FAIL_FAST, "fail-fast", 0, NULL, "stop at the first file that fails"},
    {OPT_JSON, "json", 0, NULL, "print one JSON document on stdout (docs/json.md)"},
    {OPT_JOBS, "jobs", 'j', "N", "hash files on N threads (default: online CPUs)"},
    {OPT_SESSIONS, "sessions", 0, "N",
     "sign on N sessions of the token at once, after one login (default 1; at most 64, fewer "
     "when the token allows fewer)"},
    {OPT_MANIFEST, "manifest", 0, "FILE",
     "write a checksum list of the files (sha256sum format) and sign it as FILE.p7s; "
     "SHA256SUMS, SHA384SUMS, SHA512SUMS get that digest"},
    {OPT_INCLUDE_SIGNATURES, "include-signatures", 0, NULL,
     "sign inputs that are signatures (*.p7s holding a CMS SignedData) too; "
     "by default they are skipped"},
    {OPT_AUDIT_LOG, "audit-log", 0, "FILE",
     "append one JSON line per signature written to FILE (docs/audit-log.md)"},
    {OPT_POLICY, "policy", 0, "NAME",
     "check the key, certificate, token and TSA against a policy before the PIN is used: cabf "
     "(CA/Browser Forum code signing rules, docs/policy.md) or none (default)"},
    FILES_FROM_SPECS,
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

/* The digest a checksum list's name names: a base name SHA256SUMS,
 * SHA384SUMS or SHA512SUMS in any case, alone or followed by an extension
 * ("sha256sums.txt"). NULL when the name names none. */
static const EVP_MD *list_digest(const char *path)
{
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } names[] = {
        {"sha256sums", EVP_sha256}, {"sha384sums", EVP_sha384}, {"sha512sums", EVP_sha512}};
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i].name);
        if (strncasecmp(base, names[i].name, n) == 0 && (base[n] == '\0' || base[n] == '.'))
            return names[i].md();
    }
    return NULL;
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
    case OPT_SESSIONS: {
        char *end = NULL;
        long n = strtol(arg, &end, 10);
        if (*end != '\0' || n < 1 || n > HSM_LANES_MAX)
            return err_set(CSIGN_EUSAGE, "--sessions needs a number from 1 to %d", HSM_LANES_MAX);
        o->sessions = (int)n;
        break;
    }
    case OPT_DIGEST_HEX:
        o->have_given = true;
        return parse_digest_hex(arg, "--digest-hex", &o->given);
    case OPT_DIGEST_LIST:
        o->digest_list = arg;
        break;
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
        json_doc_want("sign", true);
        break;
    case OPT_MANIFEST:
        o->manifest = arg;
        break;
    case OPT_INCLUDE_SIGNATURES:
        o->include_signatures = true;
        break;
    case OPT_AUDIT_LOG:
        if (arg[0] == '\0')
            return err_set(CSIGN_EUSAGE, "--audit-log needs a file name");
        o->audit_log = arg;
        break;
    case OPT_POLICY:
        return policy_parse(arg, &o->policy);
    case OPT_FILES_FROM:
    case OPT_FILES_FROM0:
        return files_from_on_opt(&o->from, id, arg);
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
    o->sessions = 1;
    tsa_opts_init(&o->tsa);
    o->files = calloc((size_t)argc + 1, sizeof(*o->files));
    if (o->files == NULL)
        return err_oom();
    rc = cli_parse(&cmd_sign, argc, argv, on_opt, o, &o->c, o->files, &o->nfiles);
    if (rc == CSIGN_OK && !o->c.help)
        rc = files_from_read(&o->from, &o->files, &o->nfiles);
    if (rc != CSIGN_OK || o->c.help)
        return rc;
    if (o->key == NULL)
        return err_set(CSIGN_EUSAGE, "--key is required");
    if (o->digest_list != NULL) {
        if (o->nfiles > 0)
            return err_set(CSIGN_EUSAGE, "--digest-list signs digests, not files");
        if (o->have_given || o->manifest != NULL || o->out != NULL)
            return err_set(CSIGN_EUSAGE, "--digest-list writes DIR/NAME.p7s for each line; it "
                                         "excludes --digest-hex, --manifest and -o");
        if (o->out_dir == NULL)
            return err_set(CSIGN_EUSAGE, "--digest-list needs --out-dir");
        return digest_list_load(o);
    }
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
        return err_set(CSIGN_EUSAGE, "give the files to sign (or --files-from LIST)");
    if (o->manifest != NULL && (o->out != NULL || o->out_dir != NULL || o->have_given))
        return err_set(CSIGN_EUSAGE, "--manifest writes FILE and FILE.p7s; it excludes -o, "
                                     "--out-dir and --digest-hex");
    if (o->manifest != NULL && (o->list_md = list_digest(o->manifest)) != NULL && o->md != NULL &&
        o->md != o->list_md) {
        char upper[16];
        snprintf(upper, sizeof(upper), "%s", digest_name(o->md));
        for (char *c = upper; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        return err_set(CSIGN_EUSAGE,
                       "--digest %s contradicts the manifest's name '%s', a %s list; leave out "
                       "--digest or name the list after its digest (%sSUMS)",
                       digest_name(o->md), o->manifest, digest_name(o->list_md), upper);
    }
    for (int i = 0; o->manifest != NULL && i < o->nfiles; i++)
        if (strcmp(o->files[i], "-") == 0)
            return err_set(CSIGN_EUSAGE, "a manifest lists files, not standard input");
    if (o->out != NULL && o->nfiles > 1)
        return err_set(CSIGN_EUSAGE, "-o takes one input only; use --out-dir for several");
    if (o->out != NULL && o->out_dir != NULL)
        return err_set(CSIGN_EUSAGE, "-o and --out-dir exclude each other");
    if (o->out != NULL && strcmp(o->out, "-") == 0 && o->json)
        return err_set(CSIGN_EUSAGE, "-o - writes the signature to standard output; it "
                                     "excludes --json");
    for (int i = 0; i < o->nfiles; i++)
        if (strcmp(o->files[i], "-") == 0 && o->out == NULL)
            return err_set(CSIGN_EUSAGE, "signing standard input needs -o");
    return CSIGN_OK;
}

static csign_rc run(int argc, char **argv)
{
    sign_opts o;
    csign_rc rc = sign_parse(argc, argv, &o);

    if (rc != CSIGN_OK || o.c.help) {
        digest_list_free(&o);
        free(o.files);
        return rc == CSIGN_OK ? cli_help(&cmd_sign) : rc;
    }
    /* Listed names are not files here. */
    rc = o.preset ? CSIGN_OK : sign_skip_signatures(&o);
    if (rc != CSIGN_OK) {
        free(o.files);
        return rc;
    }
    stop_catch();
    digest_set_cancel(stop_flag());
    rc = o.manifest ? sign_manifest(&o, stop_flag()) : sign_files(&o);
    digest_list_free(&o);
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
    .examples =
        "csign sign --key 'pkcs11:token=dev;object=release' app.tar.gz\n"
        "csign sign --key 'pkcs11:token=dev;object=release' --manifest SHA256SUMS *.tar.gz\n"
        "csign sign --key 'pkcs11:token=dev;object=release' --tsa http://timestamp.example.com/ "
        "app.tar.gz",
    .opts = opts,
    .token = true,
    .run = run,
};
