/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csign/secret.h"

#ifndef CSIGN_VERSION
#define CSIGN_VERSION "0.0.0"
#endif

static const cli_command *const commands[] = {
    &cmd_init_token,
    &cmd_list,
    NULL,
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: csign [-v|-q] <command> [options] [arguments]\n\n"
               "Sign and verify files with keys that never leave a PKCS#11 token.\n\n"
               "Commands:\n");
    for (const cli_command *const *c = commands; *c != NULL; c++)
        fprintf(f, "  %-12s %.*s\n", (*c)->name, (int)strcspn((*c)->summary, "."), (*c)->summary);
    fprintf(f, "\nGlobal options:\n"
               "  -v, --verbose  say more on stderr (repeat for more)\n"
               "  -q, --quiet    say only errors on stderr\n"
               "  -h, --help     show this help\n"
               "  -V, --version  show the version\n\n"
               "Run 'csign <command> --help' for a command's options.\n"
               "Exit codes: 0 ok, 1 verification failed, 2 usage, 3 module/token/PIN, 4 I/O,\n"
               "5 malformed input or crypto failure, 70 internal error.\n");
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
static int finish_stdout(const char *where)
{
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
    /* A vanished remote token (p11-kit) or a closed stdout pipe must turn
     * into an error code, not a silent death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);

    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--verbose") == 0 || (a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1))) {
            int n = strcmp(a, "--verbose") == 0 ? 1 : (int)strlen(a + 1);
            cli_verbosity = (cli_verbosity < 0 ? 0 : cli_verbosity) + n;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli_verbosity = -1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return finish_stdout("help");
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("csign %s (%s)\n", CSIGN_VERSION, OpenSSL_version(OPENSSL_VERSION));
            return finish_stdout("version");
        } else {
            fprintf(stderr, "csign: unknown option '%s'. Try 'csign --help'.\n", a);
            return CSIGN_EUSAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CSIGN_EUSAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        const cli_command *c = i + 1 < argc ? find(argv[i + 1]) : NULL;
        csign_rc rc = CSIGN_OK;
        if (c != NULL)
            rc = cli_help(c);
        else
            usage(stdout);
        return rc != CSIGN_OK ? (int)rc : finish_stdout("help");
    }
    const cli_command *cmd = find(argv[i]);
    if (cmd == NULL) {
        fprintf(stderr, "csign: unknown command '%s'. Try 'csign --help'.\n", argv[i]);
        return CSIGN_EUSAGE;
    }
    err_clear();
    csign_rc rc = cmd->run(argc - i, argv + i);
    if (rc != CSIGN_OK) {
        const char *why = err_msg()[0] ? err_msg() : "failed";
        if (rc == CSIGN_EUSAGE)
            fprintf(stderr, "csign: %s: %s. Try 'csign %s --help'.\n", cmd->name, why, cmd->name);
        else
            fprintf(stderr, "csign: %s: %s\n", cmd->name, why);
        fflush(stdout);
        return (int)rc;
    }
    return finish_stdout(cmd->name);
}
