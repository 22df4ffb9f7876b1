/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_COMMANDS_H
#define CSIGN_COMMANDS_H

/* Each command's parsed options, and its parser (no I/O, for unit tests). */

#include <openssl/evp.h>
#include <signal.h>

#include "cli/cli.h"
#include "core/digest.h"
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
#define TSA_MAX_URLS 8
typedef struct {
    const char *urls[TSA_MAX_URLS]; /* --tsa, in order */
    int nurls;
    const EVP_MD *md;   /* --tsa-digest (default SHA-256) */
    const char *policy; /* --tsa-policy */
    int retries;        /* --tsa-retries (default 2) */
    long timeout;       /* --tsa-timeout seconds (default 10) */
    bool optional;      /* --tsa-optional: keep an unstamped signature */
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

/* Time stamps for signature encodings, from the TSAs of a tsa_opts. */
typedef struct {
    struct http_client *http;
    const tsa_opts *opts;
    const char *used;        /* the URL of the last timestamp */
    bool down[TSA_MAX_URLS]; /* URLs that could not be reached: not asked again */
} stamper;

/* Starts the HTTP client (main thread, before other threads). */
csign_rc stamper_open(const tsa_opts *t, stamper *s);
void stamper_close(stamper *s);

/* sig (DER or PEM) with a timestamp added, in *out (OPENSSL_free). Errors
 * as tsa_stamp() and cms_add_timestamp() give them. */
csign_rc stamper_apply(stamper *s, const unsigned char *sig, size_t len, unsigned char **out,
                       size_t *out_len);

typedef struct {
    cli_common c;
    const char *key;
    const char *cert; /* FILE or pkcs11: URI */
    const char *chain;
    const EVP_MD *md; /* NULL: by key */
    bool pss;
    int jobs;            /* hashing threads */
    digest_result given; /* --digest-hex: a digest computed elsewhere */
    bool have_given;
    bool pem;
    const char *out;
    const char *out_dir;
    bool force;
    bool fail_fast;
    bool json;
    const char *manifest; /* --manifest: one signed checksum list */
    tsa_opts tsa;
    char **files;
    int nfiles;
} sign_opts;

/* Parses sign's options; o->files points into a new array the caller
 * frees with free(o->files). */
csign_rc sign_parse(int argc, char **argv, sign_opts *o);

/* sign --manifest: hashes o->files, writes the checksum list o->manifest
 * and its signature o->manifest + ".p7s", and prints the report. Once
 * *stop is set nothing more is written. */
csign_rc sign_manifest(const sign_opts *o, const volatile sig_atomic_t *stop);

typedef struct {
    cli_common c;
    const EVP_MD *md;
    char **files;
    int nfiles;
} digest_opts;

csign_rc digest_parse(int argc, char **argv, digest_opts *o);

typedef struct {
    const char *manifest; /* the checksum list */
    const char *sig;      /* its signature; NULL: manifest + ".p7s" */
    bool strict;          /* files the list does not name are an error */
    bool json;
    int jobs; /* hashing threads */
} manifest_opts;

/* verify --manifest: the list's signature under policy p, then every
 * listed file re-hashed. Prints the report. CSIGN_OK only when the
 * signature is valid and every file is as listed (and, with strict,
 * nothing else is in the list's folder); CSIGN_ENO when not. */
csign_rc verify_manifest(const manifest_opts *m, const verify_policy *p);

/* The "OK NAME signed by ... at ... (timestamp), revocation" line of a
 * valid signature. */
void verify_print_ok(const char *name, const verify_result *r);

/* Adds "timestamp", "judged_at" and "revocation" to a JSON record. */
struct json_t;
void verify_add_time_json(struct json_t *j, const verify_result *r);

/* Parses "sha256:HEX" (sha384, sha512) into d. CSIGN_EUSAGE naming option
 * when the algorithm is unknown or the hex is not one digest long. */
csign_rc parse_digest_hex(const char *text, const char *option, digest_result *d);

/*
 * Stores cert on the token as the certificate of key (same label and id):
 * a no-op when the identical certificate is there; a different one is
 * replaced only with force. Then stores each CA certificate of chain that
 * the token does not hold yet. The certificate's public key must be the
 * key's (CSIGN_EINPUT otherwise, nothing stored). Needs a read-write,
 * logged-in session. Prints what it did.
 */
struct x509_st;
struct stack_st_X509;
csign_rc import_store(cli_token *t, const hsm_key *key, struct x509_st *cert,
                      struct stack_st_X509 *chain, bool force);

#endif
