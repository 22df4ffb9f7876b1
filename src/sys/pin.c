/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "sys/pin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static bool valid_env_name(const char *s)
{
    if (*s == '\0' || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

csign_rc pin_source_parse(const char *spec, pin_source *out)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if (strncmp(spec, "env:", 4) == 0) {
        if (!valid_env_name(spec + 4))
            return err_set(CSIGN_EUSAGE, "PIN source 'env:' needs a variable name (letters, "
                                         "digits and _)");
        out->kind = PIN_SRC_ENV;
        out->name = spec + 4;
        return CSIGN_OK;
    }
    if (strncmp(spec, "file:", 5) == 0) {
        if (spec[5] == '\0')
            return err_set(CSIGN_EUSAGE, "PIN source 'file:' needs a path");
        out->kind = PIN_SRC_FILE;
        out->name = spec + 5;
        return CSIGN_OK;
    }
    if (strncmp(spec, "fd:", 3) == 0) {
        char *end = NULL;
        errno = 0;
        long n = strtol(spec + 3, &end, 10);
        if (spec[3] < '0' || spec[3] > '9' || *end != '\0' || errno != 0 || n > INT_MAX)
            return err_set(CSIGN_EUSAGE, "PIN source 'fd:' needs a descriptor number");
        if (n == 1 || n == 2)
            return err_set(CSIGN_EUSAGE, "PIN source 'fd:' cannot be standard output or error");
        out->kind = PIN_SRC_FD;
        out->fd = (int)n;
        return CSIGN_OK;
    }
    if (strcmp(spec, "prompt") == 0) {
        out->kind = PIN_SRC_PROMPT;
        return CSIGN_OK;
    }
    /* The spec is not echoed: a PIN typed here by mistake must not be shown. */
    return err_set(CSIGN_EUSAGE,
                   "unknown PIN source (use env:NAME, file:PATH, fd:N or prompt; a PIN "
                   "itself is never given as an option)");
}

/* Variables taken out of the environment by pin_env_take(), not yet read. */
static struct {
    char name[64];
    secret *value;
} taken[4];

static secret **taken_slot(const char *name)
{
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
        if (taken[i].value != NULL && strcmp(taken[i].name, name) == 0)
            return &taken[i].value;
    return NULL;
}

/* Wipes the bytes in place too: /proc/PID/environ shows the original
 * block even after unsetenv(). */
static void wipe_env(const char *name, char *value)
{
    OPENSSL_cleanse(value, strlen(value));
    unsetenv(name);
}

void pin_env_take(const char *name)
{
    char *v = getenv(name);

    /* A name that does not fit, or no room: left in place for
     * read_env(), which then reads and wipes it directly. */
    if (v == NULL || taken_slot(name) != NULL || strlen(name) >= sizeof(taken[0].name))
        return;
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        if (taken[i].value != NULL)
            continue;
        size_t len = strlen(v);
        /* One byte more than a PIN may have, so that pin_read() still
         * tells a PIN that is too long. */
        if (secret_new(PIN_MAX + 3, &taken[i].value) != CSIGN_OK)
            return;
        (void)secret_append(taken[i].value, v, len < PIN_MAX + 3 ? len : PIN_MAX + 3);
        snprintf(taken[i].name, sizeof(taken[i].name), "%s", name);
        wipe_env(name, v);
        return;
    }
}

void pin_env_forget(void)
{
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        secret_free(taken[i].value);
        taken[i].value = NULL;
    }
}

static bool env_is_set(const char *name)
{
    return taken_slot(name) != NULL || getenv(name) != NULL;
}

csign_rc pin_source_resolve(const char *spec, const char *uri_pin_source, const char *default_env,
                            bool have_tty, const char *what, const char *option, pin_source *out)
{
    if (spec != NULL)
        return pin_source_parse(spec, out);
    if (uri_pin_source != NULL) {
        if (uri_pin_source[0] == '|')
            return err_set(CSIGN_EUSAGE,
                           "the URI's pin-source runs a command, which csign does not do; use "
                           "file:, env:, fd: or prompt");
        return pin_source_parse(uri_pin_source, out);
    }
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if (env_is_set(default_env)) {
        out->kind = PIN_SRC_ENV;
        out->name = default_env;
        return CSIGN_OK;
    }
    if (have_tty) {
        out->kind = PIN_SRC_PROMPT;
        return CSIGN_OK;
    }
    return err_set(CSIGN_EUSAGE,
                   "no %s source: set %s, or use %s env:NAME, file:PATH, fd:N or prompt "
                   "(there is no terminal to ask on)",
                   what, default_env, option);
}

bool pin_have_tty(void)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

const char *pin_source_describe(const pin_source *src)
{
    static _Thread_local char buf[PATH_MAX + 64];

    switch (src->kind) {
    case PIN_SRC_ENV:
        snprintf(buf, sizeof(buf), "environment variable %s", src->name);
        break;
    case PIN_SRC_FILE:
        snprintf(buf, sizeof(buf), "PIN file '%s'", src->name);
        break;
    case PIN_SRC_FD:
        snprintf(buf, sizeof(buf), "descriptor %d", src->fd);
        break;
    case PIN_SRC_PROMPT:
        snprintf(buf, sizeof(buf), "terminal prompt");
        break;
    }
    return buf;
}

static csign_rc read_env(const pin_source *src, secret *s)
{
    pin_env_take(src->name);
    secret **kept = taken_slot(src->name);
    char *v = kept == NULL ? getenv(src->name) : NULL;
    csign_rc rc;

    if (kept == NULL && v == NULL)
        return err_set(CSIGN_ETOKEN, "environment variable %s is not set", src->name);
    if (v != NULL) {
        rc = secret_append(s, v, strlen(v));
        wipe_env(src->name, v);
        return rc == CSIGN_OK
                   ? rc
                   : err_set(CSIGN_ETOKEN, "PIN in %s is longer than %d bytes", src->name, PIN_MAX);
    }
    rc = secret_append(s, (*kept)->data, (*kept)->len);
    if (rc != CSIGN_OK)
        rc = err_set(CSIGN_ETOKEN, "PIN in %s is longer than %d bytes", src->name, PIN_MAX);
    secret_free(*kept);
    *kept = NULL;
    return rc;
}

/* Reads fd to its end into s. */
static csign_rc read_all(int fd, secret *s, const char *what)
{
    char buf[128];
    csign_rc rc = CSIGN_OK;

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(CSIGN_EIO, "cannot read %s: %s", what, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (secret_append(s, buf, (size_t)n) != CSIGN_OK) {
            rc = err_set(CSIGN_ETOKEN, "PIN from %s is longer than %d bytes", what, PIN_MAX);
            break;
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* Refuses a PIN file that someone else could read or replace. */
static csign_rc check_pin_file(const char *path, const struct stat *st)
{
    if (S_ISDIR(st->st_mode))
        return err_set(CSIGN_EIO, "PIN file '%s' is a directory", path);
    if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode))
        return CSIGN_OK;
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return err_set(CSIGN_ETOKEN, "PIN file '%s' belongs to another user", path);
    /* Anonymous pipes (file:/dev/fd/N, process substitution) are 0600. */
    if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return err_set(CSIGN_ETOKEN,
                       "PIN file '%s' is accessible by group or others (mode %04o); "
                       "run chmod 600 on it",
                       path, (unsigned)(st->st_mode & 07777));
    return CSIGN_OK;
}

static csign_rc read_file(const pin_source *src, secret *s)
{
    struct stat before, st;
    csign_rc rc;
    int fd;

    /* Checked before opening too: opening a named pipe blocks until a
     * writer comes, and a pipe anyone may write to is refused unopened. */
    if (stat(src->name, &before) == 0 && (rc = check_pin_file(src->name, &before)) != CSIGN_OK)
        return rc;
    fd = open(src->name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(CSIGN_EIO, "cannot open PIN file '%s': %s", src->name, strerror(errno));
    if (fstat(fd, &st) != 0)
        rc = err_set(CSIGN_EIO, "cannot stat PIN file '%s': %s", src->name, strerror(errno));
    else
        rc = check_pin_file(src->name, &st);
    if (rc == CSIGN_OK)
        rc = read_all(fd, s, "PIN file");
    if (rc == CSIGN_OK)
        secret_strip_newline(s);
    close(fd);
    return rc;
}

static csign_rc read_fd(const pin_source *src, secret *s)
{
    csign_rc rc = read_all(src->fd, s, "PIN descriptor");
    /* Standard input stays open: a later open() must not take its number. */
    if (src->fd > 2)
        close(src->fd);
    if (rc == CSIGN_OK)
        secret_strip_newline(s);
    return rc;
}

static volatile sig_atomic_t prompt_signal;

static void on_prompt_signal(int sig)
{
    prompt_signal = sig;
}

/* Signals that would leave the terminal without echo if they struck while
 * csign waits for the PIN. */
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define N_PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

/*
 * Reads one line from the terminal with echo off. The handlers go in before
 * echo goes off, and echo goes off before the prompt appears (so nothing
 * typed in answer to it is echoed; typeahead is discarded). A signal
 * restores the terminal and is then delivered with the handler csign had
 * before; after a stop (Ctrl-Z) and resume, the question is asked again.
 */
static csign_rc ask(int tty, const char *prompt, secret *s)
{
    struct sigaction sa, saved[N_PROMPT_SIGNALS];
    struct termios old, quiet;
    csign_rc rc;
    char c = 0;
    int sig;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_prompt_signal;
    sigemptyset(&sa.sa_mask);
again:
    rc = CSIGN_OK;
    prompt_signal = 0;
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &sa, &saved[i]);
    bool term = tcgetattr(tty, &old) == 0;
    if (term) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        term = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
    }
    if (write(tty, prompt, strlen(prompt)) < 0)
        rc = err_set(CSIGN_EIO, "cannot write to the terminal: %s", strerror(errno));
    while (rc == CSIGN_OK && prompt_signal == 0) {
        ssize_t n = read(tty, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(CSIGN_EIO, "cannot read the terminal: %s", strerror(errno));
            break;
        }
        if (n == 0 || c == '\n' || c == '\r')
            break;
        if (secret_append(s, &c, 1) != CSIGN_OK)
            rc = err_set(CSIGN_ETOKEN, "PIN is longer than %d bytes", PIN_MAX);
    }
    c = 0;
    if (term)
        (void)tcsetattr(tty, TCSAFLUSH, &old);
    (void)!write(tty, "\n", 1);
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &saved[i], NULL);
    sig = prompt_signal;
    if (sig == 0)
        return rc;
    raise(sig);
    /* cppcheck-suppress unreachableCode ; raise() returns when the signal
     * stops the process (SIGTSTP) or is handled or ignored by the caller */
    if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
        OPENSSL_cleanse(s->data, s->cap + 1);
        s->len = 0;
        goto again;
    }
    return err_set(CSIGN_ETOKEN, "PIN entry interrupted");
}

/* What every source's PIN must be: not empty, no NUL, not too long. */
static csign_rc validate(const pin_source *src, const secret *s)
{
    if (s->len == 0)
        return err_set(CSIGN_ETOKEN, "empty PIN from %s", pin_source_describe(src));
    /* The token would see the PIN cut at the NUL (or reject it) and count
     * a wrong try. */
    if (memchr(s->data, '\0', s->len) != NULL)
        return err_set(CSIGN_ETOKEN, "the PIN from %s contains a NUL byte",
                       pin_source_describe(src));
    if (s->len > PIN_MAX)
        return err_set(CSIGN_ETOKEN, "PIN from %s is longer than %d bytes",
                       pin_source_describe(src), PIN_MAX);
    return CSIGN_OK;
}

/* Tells the person at the terminal why the answer is not taken. */
static void say_again(int tty, const char *why)
{
    (void)!write(tty, why, strlen(why));
    (void)!write(tty, "; try again.\n", 13);
}

/* One PIN from the terminal. A new PIN (confirm, or a check) that is
 * refused, or whose confirmation differs, is asked for again, up to
 * PIN_PROMPT_TRIES times in all. */
static csign_rc read_prompt(const pin_source *src, const char *prompt, bool confirm,
                            pin_check check, void *ctx, secret *s)
{
    secret *again = NULL;
    csign_rc rc;
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    bool retry = confirm || check != NULL;

    if (tty < 0)
        return err_set(CSIGN_EUSAGE, "cannot prompt for a PIN: no terminal (%s)", strerror(errno));
    for (int tries = 1;; tries++) {
        OPENSSL_cleanse(s->data, s->cap + 1);
        s->len = 0;
        rc = ask(tty, prompt, s);
        if (rc != CSIGN_OK)
            break;
        rc = validate(src, s);
        if (rc == CSIGN_OK && check != NULL)
            rc = check(ctx, s);
        if (rc == CSIGN_OK && confirm) {
            rc = secret_new(s->cap, &again);
            if (rc == CSIGN_OK)
                rc = ask(tty, "Repeat to confirm: ", again);
            if (rc != CSIGN_OK) {
                secret_free(again);
                break;
            }
            if (again->len != s->len || CRYPTO_memcmp(again->data, s->data, s->len) != 0)
                rc = err_set(CSIGN_ETOKEN, "the two PINs entered differ");
            secret_free(again);
            again = NULL;
        }
        if (rc == CSIGN_OK || !retry || tries == PIN_PROMPT_TRIES)
            break;
        say_again(tty, err_msg());
    }
    close(tty);
    return rc;
}

csign_rc pin_read_checked(const pin_source *src, const char *prompt, bool confirm, pin_check check,
                          void *ctx, secret **out)
{
    secret *s = NULL;
    /* Room for a trailing CRLF, which is stripped before the limit is checked. */
    csign_rc rc = secret_new(PIN_MAX + 2, &s);

    if (rc != CSIGN_OK)
        return rc;
    switch (src->kind) {
    case PIN_SRC_ENV:
        rc = read_env(src, s);
        break;
    case PIN_SRC_FILE:
        rc = read_file(src, s);
        break;
    case PIN_SRC_FD:
        rc = read_fd(src, s);
        break;
    case PIN_SRC_PROMPT:
        rc = read_prompt(src, prompt, confirm, check, ctx, s);
        break;
    default:
        rc = err_set(CSIGN_EINTERNAL, "no PIN source chosen");
        break;
    }
    if (rc == CSIGN_OK && src->kind != PIN_SRC_PROMPT) {
        rc = validate(src, s);
        if (rc == CSIGN_OK && check != NULL)
            rc = check(ctx, s);
    }
    if (rc != CSIGN_OK) {
        secret_free(s);
        return rc;
    }
    *out = s;
    return CSIGN_OK;
}

csign_rc pin_read(const pin_source *src, const char *prompt, bool confirm, secret **out)
{
    return pin_read_checked(src, prompt, confirm, NULL, NULL, out);
}
