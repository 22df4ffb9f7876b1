/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_COMMANDS_H
#define CSIGN_COMMANDS_H

/* Each command's parsed options, and its parser (no I/O, for unit tests). */

#include <openssl/evp.h>
#include <signal.h>

#include "cli/cli.h"
#include "cli/files_from.h"
#include "core/digest.h"
#include "core/manifest.h"
#include "core/policy.h"
#include "core/stamp.h"
#include "core/verify.h"

typedef struct {
    cli_common c;
    bool login;
    bool json;
    const char *uri;
} list_opts;

csign_rc list_parse(int argc, char **argv, list_opts *o);

typedef struct {
    cli_common c;
    const char *label;
    const char *so_pin_spec;
    bool force;
} init_token_opts;

csign_rc init_token_parse(int argc, char **argv, init_token_opts *o);

typedef struct {
    cli_common c;
    const char *key;
    hsm_keyspec spec;
    const char *type_name;
    unsigned char id[64];
    size_t id_len;
    const char *pubout;
    bool force;
} keygen_opts;

csign_rc keygen_parse(int argc, char **argv, keygen_opts *o);

typedef struct {
    cli_common c;
    const char *key;
    const char *subject;
    const char *email;
    const char *out;
    bool der;
    bool force;
} csr_opts;

csign_rc csr_parse(int argc, char **argv, csr_opts *o);

typedef struct {
    cli_common c;
    const char *key;
    const char *subject;
    long days;
    const char *out;
    bool der;
    bool import;
    bool force;
} selfsign_opts;

csign_rc selfsign_parse(int argc, char **argv, selfsign_opts *o);

typedef struct {
    cli_common c;
    const char *key;
    const char *cert;
    const char *chain;
    bool force;
} import_cert_opts;

csign_rc import_cert_parse(int argc, char **argv, import_cert_opts *o);

/* Time-stamping options, shared by sign and timestamp. */
typedef struct {
    stamp_config cfg; /* --tsa (in order), --tsa-digest, --tsa-policy, --tsa-retries,
                         --tsa-timeout */
    bool optional;    /* --tsa-optional: keep an unstamped signature */
} tsa_opts;

/* Option ids from OPT_TSA on are the TSA options; TSA_OPT_SPECS are their
 * table entries (TSA_OPTIONAL_SPEC for sign only), tsa_on_opt() their
 * handler. */
enum {
    OPT_TSA = 100,
    OPT_TSA_DIGEST,
    OPT_TSA_POLICY,
    OPT_TSA_RETRIES,
    OPT_TSA_TIMEOUT,
    OPT_TSA_OPTIONAL
};
/* clang-format off */
#define TSA_OPT_SPECS \
    {OPT_TSA, "tsa", 0, "URL", "RFC 3161 time-stamping authority (repeatable; tried in order)"}, \
    {OPT_TSA_DIGEST, "tsa-digest", 0, "ALG", "imprint digest: sha256 (default), sha384, sha512"}, \
    {OPT_TSA_POLICY, "tsa-policy", 0, "OID", "ask the TSA for this policy"}, \
    {OPT_TSA_RETRIES, "tsa-retries", 0, "N", \
     "more tries per TSA after a connection error or HTTP 5xx (default 2)"}, \
    {OPT_TSA_TIMEOUT, "tsa-timeout", 0, "SECONDS", "give up on a TSA request after (default 10)"}
#define TSA_OPTIONAL_SPEC \
    {OPT_TSA_OPTIONAL, "tsa-optional", 0, NULL, \
     "keep the signature without a timestamp when no TSA gives one (with a warning)"}
/* clang-format on */
void tsa_opts_init(tsa_opts *t);
csign_rc tsa_on_opt(tsa_opts *t, int id, const char *arg);

typedef struct {
    cli_common c;
    const char *key;
    const char *cert; /* FILE or pkcs11: URI */
    const char *chain;
    const EVP_MD *md; /* NULL: by key */
    bool pss;
    int jobs;            /* hashing threads */
    int sessions;        /* signing sessions (threads) on the token */
    digest_result given; /* --digest-hex: a digest computed elsewhere */
    bool have_given;
    bool pem;
    const char *out;
    const char *out_dir;
    bool force;
    bool fail_fast;
    bool json;
    const char *manifest;    /* --manifest: one signed checksum list */
    const EVP_MD *list_md;   /* the digest its name names (SHA256SUMS); NULL: none */
    bool include_signatures; /* sign inputs that are signatures too */
    files_from from;         /* --files-from, --files-from0 */
    const char *digest_list; /* --digest-list: many digests computed elsewhere */
    manifest listed;         /* its lines: the names and their digests */
    digest_result *preset;   /* per file, the digest from the list; NULL: hash the files */
    tsa_opts tsa;
    const char *audit_log; /* --audit-log: one JSON line per signature written */
    policy_id policy;      /* --policy: rules checked before the PIN is used */
    char **files;
    int nfiles;
} sign_opts;

/* Parses sign's options, the names of a --files-from list added to the
 * operands (the only I/O); o->files is a new array the caller frees with
 * free(o->files). */
csign_rc sign_parse(int argc, char **argv, sign_opts *o);

/* Drops the inputs that are signatures (named *.p7s, holding a CMS
 * SignedData, DER or PEM) from o->files, with a note for each, unless
 * --include-signatures or --digest-hex. CSIGN_EUSAGE when no input is
 * left. Reads the *.p7s inputs; nothing else. */
csign_rc sign_skip_signatures(sign_opts *o);

/* sign --manifest: hashes o->files, writes the checksum list o->manifest
 * and its signature o->manifest + ".p7s", and prints the report. Once
 * *stop is set nothing more is written. */
csign_rc sign_manifest(const sign_opts *o, const volatile sig_atomic_t *stop);

/* sign FILE...: hashes the files, signs each digest after one login,
 * writes the signatures (FILE.p7s, -o or --out-dir) through a batch
 * writer, then prints the report. */
csign_rc sign_files(const sign_opts *o);

typedef struct {
    cli_common c;
    const EVP_MD *md;
    files_from from;
    char **files;
    int nfiles;
    bool json; /* --json: one document on stdout */
} digest_opts;

csign_rc digest_parse(int argc, char **argv, digest_opts *o);

typedef struct {
    const char *manifest; /* the checksum list */
    const char *sig;      /* its signature; NULL: manifest + ".p7s" */
    bool strict;          /* files the list does not name are an error */
    bool json;
    int jobs;            /* hashing threads */
    bool ignore_missing; /* listed files that are absent are not checked */
} manifest_opts;

/* verify --manifest: the list's signature under policy p, then every
 * listed file re-hashed. Prints the report. CSIGN_OK only when the
 * signature is valid and every file is as listed (and, with strict,
 * nothing else is in the list's folder); CSIGN_ENO when not. */
csign_rc verify_manifest(const manifest_opts *m, const verify_policy *p);

typedef struct {
    char **files;
    int nfiles;
    const char *sig; /* NULL: each file's FILE.p7s */
    bool json;
    int jobs; /* checking threads */
} files_opts;

/* verify FILE...: each file against its signature under policy p, checked
 * on jobs threads and reported in order. CSIGN_OK when all are valid;
 * CSIGN_ENO when a signature is not; the first other error when a file
 * could not be checked. */
csign_rc verify_files(const files_opts *f, const verify_policy *p);

#endif
