/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_CLI_H
#define CSIGN_CLI_H

/*
 * Shared by the files of src/cli, the only code that prints (main.c, the
 * cmd_*.c command files and their helpers). Results go to stdout,
 * diagnostics to stderr.
 */

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <stdbool.h>

#include "sys/err.h"
#include "hsm/hsm.h"
#include "cli/opt.h"
#include "sys/pin.h"

typedef struct {
    const char *name;
    const char *usage;    /* "csign list [options] [URI]" */
    const char *summary;  /* one line */
    const char *examples; /* --help's examples: one command per line */
    const opt_spec *opts;
    bool token; /* takes --module, --pin-source, --pin-final-try */
    csign_rc (*run)(int argc, char **argv);
} cli_command;

extern const cli_command cmd_config;
extern const cli_command cmd_csr;
extern const cli_command cmd_digest;
extern const cli_command cmd_doctor;
extern const cli_command cmd_import_cert;
extern const cli_command cmd_init_token;
extern const cli_command cmd_keygen;
extern const cli_command cmd_list;
extern const cli_command cmd_selfsign;
extern const cli_command cmd_sign;
extern const cli_command cmd_timestamp;
extern const cli_command cmd_verify;

/* -1 quiet, 0 normal, 1 and more: -v given that often. */
extern int cli_verbosity;

/* "csign: warning: ..." on stderr unless quiet. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "csign: ..." on stderr unless quiet. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed with -v (level 1) or -vv (level 2). */
void cli_info(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option ids shared by all commands (command tables use ids below 800). */
enum {
    OPT_MODULE = 800,
    OPT_PIN_SOURCE,
    OPT_PIN_FINAL_TRY,
    OPT_TOKEN_TIMEOUT,
    OPT_VERBOSE = 900,
    OPT_QUIET,
    OPT_HELP
};

typedef struct {
    const char *module;
    const char *pin_spec;
    bool pin_final_try;
    bool help;
    const char *command;           /* the command's name, for messages */
    const char *token_timeout_arg; /* --token-timeout as given */
    unsigned token_timeout;        /* seconds, resolved by cli_parse() */
} cli_common;

/* Resolves c->token_timeout from --token-timeout, else CSIGN_TOKEN_TIMEOUT,
 * else HSM_CALL_TIMEOUT_DEFAULT. CSIGN_EUSAGE for anything but a whole
 * number of seconds from 1 to HSM_CALL_TIMEOUT_MAX. (cli_stall.c) */
csign_rc cli_token_timeout(cli_common *c);

/* Before a module is loaded: bounds every module call by c's timeout and
 * sets what happens when one does not return, or when SIGINT or SIGTERM
 * asks to stop while one is under way: the temporary files are removed,
 * one line says which call on which token did not return, and the process
 * ends at once, with exit status 3 or by the signal. (cli_stall.c) */
void cli_stall_arm(const cli_common *c);

/*
 * Parses a command's argv (argv[0] is the command name) with its table
 * plus the shared options. Shared options land in *common (and
 * cli_verbosity); the command's own go to handler. No I/O.
 */
csign_rc cli_parse(const cli_command *cmd, int argc, char **argv, opt_handler handler, void *ctx,
                   cli_common *common, char **operands, int *n_operands);

/* cli_parse() for commands that take options only: any operand is a
 * usage error. */
csign_rc cli_parse_options(const cli_command *cmd, int argc, char **argv, opt_handler handler,
                           void *ctx, cli_common *common);

/* Whether cmd takes the long option name (its own or a shared one). */
bool cli_command_has_option(const cli_command *cmd, const char *name);

/* The command called name, or NULL. */
const cli_command *cli_command_named(const char *name);

/* Prints the command's --help to stdout. */
csign_rc cli_help(const cli_command *cmd);

/* A token opened for a command: module, the one token, its session. */
typedef struct {
    hsm_module_choice module;
    hsm *h;
    hsm_token token;
    bool locked; /* holds the token's lock (lock_fd) */
    int lock_fd;
} cli_token;

/*
 * The lock that csign processes of this user on this machine share per
 * module: taken before the module is loaded and let go after the login
 * (cli_login; or at cli_token_close), and taken again by keygen from its
 * look for a like-named key until the key is made. SoftHSM misreads a
 * token whose files another process is writing (a token that looks
 * uninitialised, a login answered CKR_USER_PIN_NOT_INITIALIZED); this
 * keeps loading, logins and key generation apart. Waits at most the token
 * timeout. Without a usable lock folder csign goes on without (said with
 * -v).
 */
csign_rc cli_token_lock(cli_token *t);
void cli_token_unlock(cli_token *t);

/*
 * Resolves the PIN source (when login), loads the module, finds the one
 * token uri names (uri may be NULL), opens the session and, with login,
 * logs in once, wiping the PIN right after. Prints notes and warnings.
 * Release with cli_token_close() whatever it returned.
 */
csign_rc cli_token_open(const cli_common *c, const hsm_uri *uri, bool rw, bool login, cli_token *t);
void cli_token_close(cli_token *t);

/* Loads the module only (for commands that look at several tokens). */
csign_rc cli_module_open(const cli_common *c, const hsm_uri *uri, cli_token *t);

/* Resolves the user PIN source early, so that a missing source is a usage
 * error before anything else happens. */
csign_rc cli_pin_source(const cli_common *c, const hsm_uri *uri, pin_source *out);

/* Logs in to the open session with the PIN from src. */
csign_rc cli_login(cli_token *t, const cli_common *c, const pin_source *src);

/*
 * For commands that use one key: parses key_uri (it must name an object),
 * opens its token, logs in and finds the key. *uri is the parsed URI
 * (free with hsm_uri_free), *key the key (free with hsm_key_clear), both
 * set even on failure. Close t with cli_token_close() in any case.
 */
csign_rc cli_key_open(const cli_common *c, const char *key_uri, bool rw, cli_token *t,
                      hsm_uri **uri, hsm_key *key);

/* cli_key_open(), then the key's public key, a check that the token has a
 * mechanism to sign with it as x509gen does (PKCS#1 v1.5 or ECDSA with
 * x509gen_digest(); hsm_sig_check()), and a token-backed private key
 * (*pub, *priv; free *priv before closing t). */
csign_rc cli_signing_key(const cli_common *c, const char *key_uri, bool rw, cli_token *t,
                         hsm_uri **uri, hsm_key *key, EVP_PKEY **pub, EVP_PKEY **priv);

/* Writes a result to path (atomically, see io.h), or to stdout when path
 * is NULL or "-". */
csign_rc cli_output(const char *path, const void *data, size_t len, bool force);

/* The largest signature file csign reads. */
#define CLI_SIG_MAX (16 * 1024 * 1024)

/* Reads a signature file ("-": standard input) as io_read_file() does;
 * one larger than CLI_SIG_MAX is CSIGN_EINPUT "malformed signature: larger
 * than ... bytes". *sig is malloc'd and owned by the caller. */
csign_rc cli_read_signature(const char *path, unsigned char **sig, size_t *len);

/* cli_output() of what a memory BIO holds; what is the thing's name for
 * the message when encoding failed (encoded is false). */
csign_rc cli_output_bio(const char *path, BIO *b, bool encoded, const char *what, bool force);

/* Parses a hex string ("0a1b", optionally with ':' between bytes) into
 * out (room for max bytes). CSIGN_EUSAGE naming option when malformed. */
csign_rc cli_hex(const char *text, const char *option, unsigned char *out, size_t max, size_t *len);

/* Copies s into buf for display: control characters, backslashes, bytes
 * that are not UTF-8, C1 controls and bidirectional overrides become
 * \xNN. Cut to fit size. Returns buf. */
const char *cli_escape(const char *s, char *buf, size_t size);

/* Finds two equal strings among v[0..n) in O(n log n): true with their
 * indices (*a < *b), false when all differ or memory runs out. */
bool cli_find_duplicate(const char *const *v, size_t n, size_t *a, size_t *b);

/* A JSON string for s; text that is not UTF-8 is escaped as cli_escape()
 * does. NULL s gives JSON null. */
struct json_t;
struct json_t *cli_json_string(const char *s);

#endif
