/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_PIN_H
#define CSIGN_PIN_H

#include <stdbool.h>

#include "sys/err.h"
#include "sys/secret.h"

/*
 * Where a PIN comes from. csign never takes a PIN value on the command line
 * or in a URI: it would show in the process list.
 *
 *   env:NAME   the environment variable NAME, removed from the environment
 *              (and its bytes wiped) once read
 *   file:PATH  the whole file; refused when group or others can access it;
 *              one trailing LF or CRLF is stripped
 *   fd:N       everything readable from descriptor N, which is then closed;
 *              one trailing LF or CRLF is stripped
 *   prompt     asked on the controlling terminal without echo
 */
typedef enum { PIN_SRC_ENV = 1, PIN_SRC_FILE, PIN_SRC_FD, PIN_SRC_PROMPT } pin_kind;

typedef struct {
    pin_kind kind;
    const char *name; /* variable name or path; borrowed from the spec string */
    int fd;
} pin_source;

/* Longest PIN accepted from any source, in bytes. */
#define PIN_MAX 256

/* Parses "env:NAME", "file:PATH", "fd:N" or "prompt". The result borrows
 * from spec. CSIGN_EUSAGE with a reason when malformed. */
csign_rc pin_source_parse(const char *spec, pin_source *out);

/*
 * Chooses the PIN source: the explicit spec (an option) if given, else the
 * pin-source of the key's URI if given, else env:<default_env> when that
 * variable is set, else the prompt when have_tty, else CSIGN_EUSAGE with a
 * reason naming the options. what ("PIN", "SO PIN") and option
 * ("--pin-source") are used in that reason. Does no I/O.
 */
csign_rc pin_source_resolve(const char *spec, const char *uri_pin_source, const char *default_env,
                            bool have_tty, const char *what, const char *option, pin_source *out);

/* Whether a controlling terminal can be opened for a prompt. */
bool pin_have_tty(void);

/*
 * Reads a PIN from src into a new secret (*out, owned by the caller; free
 * with secret_free as soon as it was used). prompt is the text shown on the
 * terminal for PIN_SRC_PROMPT; with confirm the prompt asks twice and the
 * answers must match.
 *
 * Errors: CSIGN_ETOKEN for a source that gives no usable PIN (variable
 * unset or empty, PIN file accessible by others, empty or too long PIN,
 * answers that differ, a NUL byte in the PIN); CSIGN_EIO when a file or descriptor cannot be read.
 * The PIN never appears in a reason.
 */
csign_rc pin_read(const pin_source *src, const char *prompt, bool confirm, secret **out);

/* How often a new PIN is asked for on the terminal before giving up. */
#define PIN_PROMPT_TRIES 3

/* Says whether a PIN is acceptable (CSIGN_OK), or why not (an error with
 * a reason that does not contain the PIN). */
typedef csign_rc (*pin_check)(void *ctx, const secret *pin);

/*
 * pin_read(), and check (when not NULL) must accept the PIN. On the
 * terminal, a new PIN (confirm or check given) that is refused or whose
 * confirmation differs is asked for again, after one line on the terminal
 * saying why ("...; try again."), up to PIN_PROMPT_TRIES times in all;
 * then the last reason is the error. Other sources are read once and a
 * refused PIN is an error at once. Errors as pin_read(), and check's.
 */
csign_rc pin_read_checked(const pin_source *src, const char *prompt, bool confirm, pin_check check,
                          void *ctx, secret **out);

/*
 * Takes the variable name out of the environment, if set: its value moves
 * to locked memory, where env:NAME sources read it, and its bytes in the
 * environment block are wiped, so that /proc/PID/environ no longer shows
 * it even when no PIN is ever read. Call before threads start.
 */
void pin_env_take(const char *name);

/* Wipes and frees values taken and never read. */
void pin_env_forget(void);

/* A description of src for messages, e.g. "environment variable CSIGN_PIN".
 * Returns a pointer to a static buffer. */
const char *pin_source_describe(const pin_source *src);

#endif
