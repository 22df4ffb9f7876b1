/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Where distributions put SoftHSM2's module. */
static const char *const softhsm_paths[] = {
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
    NULL,
};

/* Whether path is the SoftHSM2 module of one of the usual places (the
 * same file, whatever the spelling). */
static bool is_softhsm(const char *path)
{
    char *real = realpath(path, NULL);
    bool same = false;

    for (const char *const *p = softhsm_paths; real != NULL && !same && *p != NULL; p++) {
        char *known = realpath(*p, NULL);
        same = known != NULL && strcmp(known, real) == 0;
        free(known);
    }
    free(real);
    return same;
}

void hsm_module_choice_clear(hsm_module_choice *c)
{
    free(c->path);
    free(c->store);
    memset(c, 0, sizeof(*c));
}

/* mkdir -p with mode 0700 for the folders csign creates. */
static csign_rc make_dirs(const char *path)
{
    char *p = strdup(path);
    if (p == NULL)
        return err_oom();
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                csign_rc rc =
                    err_set(CSIGN_EIO, "cannot create folder '%s': %s", p, strerror(errno));
                free(p);
                return rc;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return CSIGN_OK;
}

/* Writes the SoftHSM config for csign's store unless one is already there
 * (a user may have tuned it). Written to a temporary name and renamed, so
 * a concurrent csign never reads half a file. */
static csign_rc write_config(const char *conf, const char *tokens)
{
    char tmp[4096];
    FILE *f;
    int fd;

    if (access(conf, F_OK) == 0)
        return CSIGN_OK;
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", conf);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return err_set(CSIGN_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return err_oom();
    }
    fprintf(f,
            "# SoftHSM configuration written by csign for its built-in software token "
            "store.\n"
            "directories.tokendir = %s\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n",
            tokens);
    int failed = fflush(f) != 0 || fsync(fd) != 0 ? errno : 0;
    if (fclose(f) != 0 && failed == 0)
        failed = errno;
    if (failed != 0) {
        unlink(tmp);
        return err_set(CSIGN_EIO, "cannot write '%s': %s", conf, strerror(failed));
    }
    if (rename(tmp, conf) != 0) {
        csign_rc rc = err_set(CSIGN_EIO, "cannot create '%s': %s", conf, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return CSIGN_OK;
}

/* Sets up csign's own SoftHSM token store and points SOFTHSM2_CONF at it. */
static csign_rc default_store(hsm_module_choice *out)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char base[2048], tokens[2100], conf[2100];
    csign_rc rc;

    if (xdg != NULL && xdg[0] == '/')
        snprintf(base, sizeof(base), "%s/csign", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(base, sizeof(base), "%s/.local/share/csign", home);
    else
        return err_set(CSIGN_EUSAGE, "neither XDG_DATA_HOME nor HOME is set to an absolute "
                                     "path; cannot place csign's token store (use --module)");
    snprintf(tokens, sizeof(tokens), "%s/tokens", base);
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", base);
    out->store = strdup(base);
    if (out->store == NULL)
        return err_oom();
    rc = make_dirs(tokens);
    if (rc == CSIGN_OK)
        rc = write_config(conf, tokens);
    if (rc == CSIGN_OK && setenv("SOFTHSM2_CONF", conf, 1) != 0)
        rc = err_oom();
    return rc;
}

csign_rc hsm_module_resolve(const char *opt, const hsm_uri *uri, hsm_module_choice *out)
{
    const char *from_uri = hsm_uri_module_path(uri);
    const char *env = getenv("CSIGN_MODULE");
    const char *path = NULL;

    memset(out, 0, sizeof(*out));
    if (opt != NULL && from_uri != NULL && strcmp(opt, from_uri) != 0)
        return err_set(CSIGN_EUSAGE, "--module '%s' and the URI's module-path '%s' differ", opt,
                       from_uri);
    if (opt != NULL)
        path = opt;
    else if (from_uri != NULL)
        path = from_uri;
    else if (env != NULL && env[0] != '\0')
        path = env; /* an empty variable counts as unset, as in most CI set-ups */
    if (path != NULL && path[0] == '\0')
        return err_set(CSIGN_EUSAGE, "the module path is empty");
    if (path != NULL) {
        out->path = strdup(path);
        if (out->path == NULL)
            return err_oom();
        /* SoftHSM named explicitly is the same module as the default: it
         * gets the same store unless the user configured SoftHSM. */
        if (getenv("SOFTHSM2_CONF") != NULL || !is_softhsm(path))
            return CSIGN_OK;
        out->is_default = true;
        csign_rc rc = default_store(out);
        if (rc != CSIGN_OK)
            hsm_module_choice_clear(out);
        return rc;
    }

    for (const char *const *p = softhsm_paths; *p != NULL; p++) {
        if (access(*p, R_OK) == 0) {
            out->path = strdup(*p);
            if (out->path == NULL)
                return err_oom();
            break;
        }
    }
    if (out->path == NULL)
        return err_set(CSIGN_ETOKEN, "no PKCS#11 module given and SoftHSM2 is not installed; "
                                     "use --module PATH or set CSIGN_MODULE");
    out->is_default = true;
    if (getenv("SOFTHSM2_CONF") != NULL)
        return CSIGN_OK;
    csign_rc rc = default_store(out);
    if (rc != CSIGN_OK)
        hsm_module_choice_clear(out);
    return rc;
}

/* ---- Remote tokens ------------------------------------------------------- */

static bool named_client(const char *path)
{
    const char *base = path != NULL ? strrchr(path, '/') : NULL;

    base = base != NULL ? base + 1 : path;
    return base != NULL && strncmp(base, "p11-kit-client.so", 17) == 0 &&
           (base[17] == '\0' || base[17] == '.');
}

bool hsm_module_remote(const hsm *h)
{
    char *real;
    bool client;

    if (named_client(h->path))
        return true;
    real = realpath(h->path, NULL);
    client = named_client(real);
    free(real);
    return client;
}

csign_rc hsm_remote_unreachable(const hsm *h, CK_RV rv)
{
    const char *addr = getenv("P11_KIT_SERVER_ADDRESS");
    char *shown = addr != NULL && addr[0] != '\0' ? hsm_uri_redact(addr) : NULL;
    char why[64] = "";
    csign_rc rc;

    if (rv != CKR_OK)
        snprintf(why, sizeof(why), " (C_Initialize failed: %s)", hsm_ckr_name(rv));
    if (shown != NULL && shown[0] == '|')
        rc = err_set(CSIGN_ETOKEN,
                     "PKCS#11 module '%s' cannot reach its server through the command '%s'%s: "
                     "does the command run 'p11-kit remote' on the signing host?",
                     h->path, shown + 1, why);
    else if (shown != NULL)
        rc = err_set(CSIGN_ETOKEN,
                     "PKCS#11 module '%s' cannot reach its server at '%s'%s: is 'p11-kit server' "
                     "running there, and P11_KIT_SERVER_ADDRESS right?",
                     h->path, shown, why);
    else
        rc = err_set(CSIGN_ETOKEN,
                     "PKCS#11 module '%s' cannot reach its server%s: P11_KIT_SERVER_ADDRESS is "
                     "not set (the default is the socket $XDG_RUNTIME_DIR/p11-kit/pkcs11); set "
                     "it to the server's address",
                     h->path, why);
    free(shown);
    return rc;
}
