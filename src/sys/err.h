/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_ERR_H
#define CSIGN_ERR_H

/*
 * One error code for the whole program. The numeric values are the process
 * exit codes documented in docs/exit-codes.md and must never be renumbered.
 *
 * Code below the command layer never prints and never exits: it returns one
 * of these and leaves one line of reason with err_set(). main() prints that
 * line as "csign: <command>: <reason>" and exits with the code.
 */
typedef enum {
    CSIGN_OK = 0,
    CSIGN_ENO = 1,        /* verification ran and the answer is no */
    CSIGN_EUSAGE = 2,     /* bad command line or configuration */
    CSIGN_ETOKEN = 3,     /* module, token or PIN problem */
    CSIGN_EIO = 4,        /* reading or writing files failed */
    CSIGN_EINPUT = 5,     /* malformed input or failed cryptographic operation */
    CSIGN_EINTERNAL = 70, /* a bug or an allocation failure */
} csign_rc;

/* Longest reason kept; longer ones are cut. */
#define ERR_MAX 4096

/*
 * Records a reason for rc (printf-style, one line: newlines and control
 * characters are replaced) and returns rc so callers can write
 * `return err_set(CSIGN_EIO, "cannot open '%s': %s", path, strerror(errno));`.
 * The reason is per thread. A later err_set() replaces an earlier one.
 */
csign_rc err_set(csign_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like err_set(), then appends OpenSSL's most recent queued error (if any)
 * and clears OpenSSL's error queue. */
csign_rc err_set_ssl(csign_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For an OpenSSL call that may run csign's own code (a token key signs
 * through the token, src/hsm/signcall.c) which leaves its own reason: when
 * a reason is set, prefixes it with what ("what: reason") and clears
 * OpenSSL's error queue; else like err_set_ssl(rc, "%s", what). Clear the
 * reason with err_clear() before the call. */
csign_rc err_wrap_ssl(csign_rc rc, const char *what);

/* Prefixes the current reason with "<prefix>: " (for context added on the
 * way up). Returns rc unchanged. */
csign_rc err_wrap(csign_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current reason; never NULL ("" when none was set). */
const char *err_msg(void);

/* Forgets the current reason. */
void err_clear(void);

/* Records CSIGN_EINTERNAL "out of memory" and returns it. */
csign_rc err_oom(void);

/* A short stable name for rc ("usage", "token", ...), used in JSON output. */
const char *err_name(csign_rc rc);

#if defined(__clang_analyzer__) && !defined(CSIGN_ERR_C)
/* For clang's static analyzer (scripts/analyze.sh), which reads one file at
 * a time and so cannot see that these return the rc they are given (err_oom:
 * CSIGN_EINTERNAL), never CSIGN_OK. Without this it follows the impossible
 * path of a failure returning CSIGN_OK in every caller. Real builds never
 * see these macros. */
#define err_set(rc, ...) (err_set((rc), __VA_ARGS__), (rc))
#define err_set_ssl(rc, ...) (err_set_ssl((rc), __VA_ARGS__), (rc))
#define err_wrap_ssl(rc, what) (err_wrap_ssl((rc), (what)), (rc))
#define err_wrap(rc, ...) (err_wrap((rc), __VA_ARGS__), (rc))
#define err_oom() (err_oom(), CSIGN_EINTERNAL)
#endif

#endif
