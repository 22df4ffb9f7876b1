/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli/cli.h"
#include "cli/json_doc.h"
#include "cli/help.h"
#include "cli/suggest.h"
#include "sys/secret.h"

#ifndef CSIGN_VERSION
#define CSIGN_VERSION "0.0.0"
#endif

static const cli_command *const commands[] = {
    &cmd_init_token,  &cmd_list,   &cmd_keygen, &cmd_csr,    &cmd_selfsign,
    &cmd_import_cert, &cmd_sign,   &cmd_verify, &cmd_digest, &cmd_timestamp,
    &cmd_config,      &cmd_doctor, NULL,
};

enum { OPT_VERSION = OPT_HELP + 1 };

/* The options before the command name. */
static const opt_spec main_opts[] = {
    {OPT_VERBOSE, "verbose", 'v', NULL, "say more on stderr (repeat for more)"},
    {OPT_QUIET, "quiet", 'q', NULL, "say only errors on stderr"},
    {OPT_HELP, "help", 'h', NULL, "show this help"},
    {OPT_VERSION, "version", 'V', NULL, "show the version"},
    {0, NULL, 0, NULL, NULL},
};

typedef struct {
    bool help;
    bool version;
} main_flags;

static csign_rc on_main_opt(void *ctx, int id, const char *arg)
{
    main_flags *f = ctx;

    (void)arg;
    switch (id) {
    case OPT_VERBOSE:
        cli_verbosity = (cli_verbosity < 0 ? 0 : cli_verbosity) + 1;
        break;
    case OPT_QUIET:
        cli_verbosity = -1;
        break;
    case OPT_HELP:
        f->help = true;
        break;
    case OPT_VERSION:
        f->version = true;
        break;
    }
    return CSIGN_OK;
}

static void usage(FILE *f)
{
    const opt_spec *tables[] = {main_opts, NULL};
    size_t width = f == stdout ? help_width() : OPT_HELP_WIDTH;
    char *text = opt_help_wrapped(
        "csign [options] <command> [arguments]",
        "Sign and verify files with keys that never leave a PKCS#11 token.", tables, width);

    fputs(text ? text : "", f);
    free(text);
    fprintf(f, "\nCommands:\n");
    for (const cli_command *const *c = commands; *c != NULL; c++) {
        char first[256];
        snprintf(first, sizeof(first), "%.*s", (int)strcspn((*c)->summary, "."), (*c)->summary);
        text = opt_wrap(first, 15, 15, width, NULL);
        fprintf(f, "  %-12s %s\n", (*c)->name, text ? text : "");
        free(text);
    }
    text = opt_wrap("Run 'csign <command> --help' for a command's options and examples.\n"
                    "Exit codes: 0 ok, 1 verification failed, 2 usage, 3 module/token/PIN, "
                    "4 I/O, 5 malformed input or crypto failure, 70 internal error.",
                    0, 0, width, NULL);
    fprintf(f, "\n%s\n", text ? text : "");
    free(text);
}

/* The full stop after a reason, unless it already ends a question. */
static const char *end_mark(const char *why)
{
    size_t n = strlen(why);
    return n > 0 && why[n - 1] == '?' ? "" : ".";
}

/* "csign: unknown command 'x'", with the closest command name when one is
 * near enough to be a typo. */
static void unknown_command(const char *name)
{
    const char *names[sizeof(commands) / sizeof(commands[0])];
    size_t n = 0;

    for (const cli_command *const *c = commands; *c != NULL; c++)
        names[n++] = (*c)->name;
    const char *near = suggest_best(name, names, n);
    if (near != NULL)
        fprintf(stderr, "csign: unknown command '%s'; did you mean '%s'? Try 'csign --help'.\n",
                name, near);
    else
        fprintf(stderr, "csign: unknown command '%s'. Try 'csign --help'.\n", name);
}

static const cli_command *find(const char *name)
{
    for (const cli_command *const *c = commands; *c != NULL; c++)
        if (strcmp((*c)->name, name) == 0)
            return *c;
    return NULL;
}

/* After success, output that could not be written is a failure (a full
 * disk or a closed pipe must not look like a finished listing). */
/* Content is often over 2 GiB: 32-bit builds need _FILE_OFFSET_BITS=64. */
_Static_assert(sizeof(off_t) >= 8, "csign needs 64-bit file offsets");

static int finish_stdout(const char *where)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
        fprintf(stderr, "csign: %s: cannot write to standard output: %s\n", where,
                strerror(errno ? errno : EIO));
        return CSIGN_EIO;
    }
    return CSIGN_OK;
}

int main(int argc, char **argv)
{
    int i = 1;

    secret_harden_process();
    /* Whether or not this run logs in, no PIN stays in the environment. */
    pin_env_take("CSIGN_PIN");
    pin_env_take("CSIGN_SO_PIN");
    atexit(pin_env_forget);
    /* A vanished remote token (p11-kit) or a closed stdout pipe must turn
     * into an error code, not a silent death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);

    /* Global options come before the command name. */
    while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0')
        i++;
    const opt_spec *tables[] = {main_opts, NULL};
    char **operands = calloc((size_t)i + 1, sizeof(*operands));
    main_flags flags = {false, false};
    int n = 0;
    csign_rc prc =
        operands ? opt_parse(tables, i, argv, on_main_opt, &flags, operands, &n) : err_oom();
    free(operands);
    if (prc != CSIGN_OK) {
        fprintf(stderr, "csign: %s%s Try 'csign --help'.\n", err_msg(), end_mark(err_msg()));
        return (int)prc;
    }
    if (flags.help) {
        usage(stdout);
        return finish_stdout("help");
    }
    if (flags.version) {
        printf("csign %s (%s)\n", CSIGN_VERSION, OpenSSL_version(OPENSSL_VERSION));
        return finish_stdout("version");
    }
    if (i >= argc) {
        usage(stderr);
        return CSIGN_EUSAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        const cli_command *c = i + 1 < argc ? find(argv[i + 1]) : NULL;
        csign_rc rc = CSIGN_OK;
        if (i + 1 < argc && c == NULL) {
            unknown_command(argv[i + 1]);
            return CSIGN_EUSAGE;
        }
        if (c != NULL)
            rc = cli_help(c);
        else
            usage(stdout);
        return rc != CSIGN_OK ? (int)rc : finish_stdout("help");
    }
    const cli_command *cmd = find(argv[i]);
    if (cmd == NULL) {
        unknown_command(argv[i]);
        return CSIGN_EUSAGE;
    }
    err_clear();
    csign_rc rc = cmd->run(argc - i, argv + i);
    const char *why = rc == CSIGN_OK ? NULL : err_msg()[0] ? err_msg() : "failed";
    /* With --json, one document on stdout whatever happened. */
    (void)json_doc_finish(rc, why); /* a write error shows in finish_stdout() */
    if (rc != CSIGN_OK) {
        if (rc == CSIGN_EUSAGE)
            fprintf(stderr, "csign: %s: %s%s Try 'csign %s --help'.\n", cmd->name, why,
                    end_mark(why), cmd->name);
        else
            fprintf(stderr, "csign: %s: %s\n", cmd->name, why);
        fflush(stdout);
        return (int)rc;
    }
    return finish_stdout(cmd->name);
}
