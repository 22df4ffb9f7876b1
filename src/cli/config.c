/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration files (config.h): reading them with inih, checking every
 * key, and choosing the effective value of each setting. */
#define _GNU_SOURCE
#include "cli/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/suggest.h"
#include "sys/pin.h"

enum { K_VALUE, K_FLAG, K_LIST };

/* The settings a file may hold, in the order `csign config` shows them. */
static const struct {
    const char *key;
    int kind;
} settings[] = {
    {"module", K_VALUE},
    {"pin-source", K_VALUE},
    {"so-pin-source", K_VALUE},
    {"token-timeout", K_VALUE},
    {"key", K_VALUE},
    {"cert", K_VALUE},
    {"chain", K_VALUE},
    {"digest", K_VALUE},
    {"pss", K_FLAG},
    {"policy", K_VALUE},
    {"pem", K_FLAG},
    {"der", K_FLAG},
    {"json", K_FLAG},
    {"jobs", K_VALUE},
    {"sessions", K_VALUE},
    {"audit-log", K_VALUE},
    {"tsa", K_LIST},
    {"tsa-digest", K_VALUE},
    {"tsa-policy", K_VALUE},
    {"tsa-retries", K_VALUE},
    {"tsa-timeout", K_VALUE},
    {"tsa-optional", K_FLAG},
    {"trust", K_LIST},
    {"untrusted", K_LIST},
    {"tsa-trust", K_LIST},
    {"crl", K_LIST},
    {"require-crl", K_FLAG},
    {"require-timestamp", K_FLAG},
    {"expect-signer", K_LIST},
    {"expect-subject", K_LIST},
    {"min-rsa-bits", K_VALUE},
    {"warn-days", K_VALUE},
};
#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

/* The setting a mistyped key is closest to, or NULL. */
static const char *closest_setting(const char *name)
{
    const char *keys[N_SETTINGS];

    for (size_t i = 0; i < N_SETTINGS; i++)
        keys[i] = settings[i].key;
    return suggest_best(name, keys, N_SETTINGS);
}

/* Options that name one run's inputs, outputs or actions, not settings. */
static const char *const not_settings[] = {
    "help",       "version",     "verbose",        "quiet",       "force",
    "out",        "out-dir",     "config",         "profile",     "sig",
    "manifest",   "at-time",     "digest-hex",     "fail-fast",   "import",
    "pubout",     "id",          "label",          "subject",     "email",
    "days",       "login",       "pin-final-try",  "type",        "strict",
    "files-from", "files-from0", "ignore-missing", "digest-list", NULL,
};

typedef struct {
    char *key;
    char *value;
    int file; /* index into files[] */
    unsigned line;
    bool profile; /* from [profile NAME], else [default] */
} raw_entry;

static struct {
    csign_rc rc;
    char *files[4];
    int nfiles;
    raw_entry *raw;
    size_t nraw;
    config_entry *eff;
    size_t neff;
    char *profile;
    bool profile_seen; /* some file has [profile NAME] */
} cfg;

static int setting_index(const char *key)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].key, key) == 0)
            return (int)i;
    return -1;
}

bool config_is_flag(const char *key)
{
    int i = setting_index(key);
    return i >= 0 && settings[i].kind == K_FLAG;
}

/* Whether the PIN variable name is set (pin_env_take() may have moved it
 * out of the environment already; pin_source_resolve() sees both). */
static bool pin_env_set(const char *name)
{
    pin_source src;
    csign_rc rc = pin_source_resolve(NULL, NULL, name, false, "PIN", "--pin-source", &src);

    if (rc != CSIGN_OK)
        err_clear();
    return rc == CSIGN_OK;
}

const char *config_env_override(const char *key)
{
    static const struct {
        const char *key, *env;
        bool pin;
    } env[] = {
        {"module", "CSIGN_MODULE", false},
        {"token-timeout", "CSIGN_TOKEN_TIMEOUT", false},
        {"pin-source", "CSIGN_PIN", true},
        {"so-pin-source", "CSIGN_SO_PIN", true},
    };

    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
        if (strcmp(env[i].key, key) != 0)
            continue;
        if (env[i].pin)
            return pin_env_set(env[i].env) ? env[i].env : NULL;
        const char *v = getenv(env[i].env);
        /* An empty variable counts as unset, as for the commands. */
        return v != NULL && v[0] != '\0' ? env[i].env : NULL;
    }
    return NULL;
}

/* "default" is 1, "profile NAME" 2 (NAME copied to name), else 0. */
static int section_kind(const char *s, char *name, size_t size)
{
    size_t len;

    while (*s == ' ' || *s == '\t')
        s++;
    len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 7 && strncmp(s, "default", 7) == 0)
        return 1;
    if (len > 8 && strncmp(s, "profile", 7) == 0 && (s[7] == ' ' || s[7] == '\t')) {
        const char *p = s + 8;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = len - (size_t)(p - s);
        if (n == 0 || n >= size || memchr(p, ' ', n) != NULL || memchr(p, '\t', n) != NULL)
            return 0;
        memcpy(name, p, n);
        name[n] = '\0';
        return 2;
    }
    return 0;
}

typedef struct {
    FILE *f;
    const char *path;
    int file;
    unsigned line;
    csign_rc rc;
    char why[600];
} parse_state;

static int fail(parse_state *p, csign_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parse_state *p, csign_rc rc, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->rc != CSIGN_OK)
        return 0;
    p->rc = rc;
    n = snprintf(p->why, sizeof(p->why), "%s:%u: ", p->path, p->line);
    va_start(ap, fmt);
    vsnprintf(p->why + n, sizeof(p->why) - (size_t)n, fmt, ap);
    va_end(ap);
    return 0;
}

/* inih's reader: one line per call, counted here because the packaged
 * library does not pass line numbers to the handler. */
static char *read_line(char *str, int num, void *stream)
{
    parse_state *p = stream;
    char *s;

    if (p->rc != CSIGN_OK)
        return NULL;
    s = fgets(str, num, p->f);
    if (s == NULL)
        return NULL;
    p->line++;
    size_t len = strlen(s);
    if (len > 0 && s[len - 1] != '\n' && !feof(p->f)) {
        fail(p, CSIGN_EUSAGE, "line longer than %d bytes", num - 3);
        return NULL;
    }
    const char *t = s + strspn(s, " \t");
    if (*t == '[' && cfg.profile != NULL) {
        char inner[256], name[256];
        size_t n = strcspn(t + 1, "]");
        if (n < sizeof(inner)) {
            memcpy(inner, t + 1, n);
            inner[n] = '\0';
            if (section_kind(inner, name, sizeof(name)) == 2 && strcmp(name, cfg.profile) == 0)
                cfg.profile_seen = true;
        }
    }
    return s;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static const char *flag_value(const char *v)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    char low[8];
    size_t i;

    for (i = 0; v[i] != '\0' && i + 1 < sizeof(low); i++)
        low[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
    low[i] = '\0';
    if (v[i] != '\0')
        return NULL;
    return in_list(yes, low) ? "true" : in_list(no, low) ? "false" : NULL;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    parse_state *p = user;
    char prof[256], esc[256], esc_section[256], esc_value[256];
    int kind = section_kind(section, prof, sizeof(prof));
    int idx = setting_index(name);

    /* What the file says is shown escaped (control characters). */
    cli_escape(section, esc_section, sizeof(esc_section));
    name = cli_escape(name, esc, sizeof(esc));

    if (section[0] == '\0')
        return fail(p, CSIGN_EUSAGE,
                    "'%s' is outside a section; put it under [default] or "
                    "[profile NAME]",
                    name);
    if (kind == 0)
        return fail(p, CSIGN_EUSAGE, "unknown section [%s]; use [default] or [profile NAME]",
                    esc_section);
    if (idx < 0 && strstr(name, "pin") != NULL && !in_list(not_settings, name))
        return fail(p, CSIGN_EUSAGE,
                    "a PIN value is not allowed in a configuration file; use pin-source = "
                    "env:NAME|file:PATH|fd:N");
    if (idx < 0 && in_list(not_settings, name))
        return fail(p, CSIGN_EUSAGE,
                    "'%s' is not a setting a configuration file can hold; give --%s on the "
                    "command line",
                    name, name);
    if (idx < 0 && closest_setting(name) != NULL)
        return fail(p, CSIGN_EUSAGE,
                    "unknown key '%s'; did you mean '%s'? (keys are the long option names, see "
                    "docs/config.md)",
                    name, closest_setting(name));
    if (idx < 0)
        return fail(p, CSIGN_EUSAGE,
                    "unknown key '%s' (keys are the long option names, see docs/config.md)", name);
    if (settings[idx].kind == K_FLAG && flag_value(value) == NULL)
        return fail(p, CSIGN_EUSAGE, "'%s' is a flag: use true or false, not '%s'", name,
                    cli_escape(value, esc_value, sizeof(esc_value)));
    if (settings[idx].kind != K_FLAG && value[0] == '\0')
        return fail(p, CSIGN_EUSAGE, "'%s' needs a value", name);
    if (kind == 2 && (cfg.profile == NULL || strcmp(prof, cfg.profile) != 0))
        return 1;

    raw_entry *r = realloc(cfg.raw, (cfg.nraw + 1) * sizeof(*r));
    if (r == NULL)
        return fail(p, CSIGN_EINTERNAL, "out of memory");
    cfg.raw = r;
    r = &cfg.raw[cfg.nraw];
    r->key = strdup(name);
    r->value = strdup(settings[idx].kind == K_FLAG ? flag_value(value) : value);
    r->file = p->file;
    r->line = p->line;
    r->profile = kind == 2;
    if (r->key == NULL || r->value == NULL) {
        free(r->key);
        free(r->value);
        return fail(p, CSIGN_EINTERNAL, "out of memory");
    }
    cfg.nraw++;
    return 1;
}

/* A file writable by others could change what csign signs with. */
static csign_rc check_owner(const char *path, const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return err_set(CSIGN_EIO, "configuration file '%s' is not a regular file", path);
    if (st->st_uid != getuid() && st->st_uid != 0)
        return err_set(CSIGN_EUSAGE,
                       "configuration file '%s' is owned by another user (uid %u); use a file "
                       "of your own or root's",
                       path, (unsigned)st->st_uid);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return err_set(CSIGN_EUSAGE,
                       "configuration file '%s' is writable by others; chmod go-w '%s'", path,
                       path);
    return CSIGN_OK;
}

static csign_rc read_file(const char *path, bool must_exist)
{
    parse_state p = {0};
    struct stat st;
    csign_rc rc;
    int r;

    /* O_NONBLOCK: a FIFO in place of a file is refused, not waited on. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    p.f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (fd >= 0 && p.f == NULL)
        close(fd);
    if (p.f == NULL) {
        if (!must_exist && (errno == ENOENT || errno == ENOTDIR))
            return CSIGN_OK;
        if (must_exist && errno == ENOENT)
            return err_set(CSIGN_EIO,
                           "configuration file '%s' does not exist; check --config or "
                           "CSIGN_CONFIG",
                           path);
        return err_set(CSIGN_EIO, "cannot read configuration file '%s': %s", path, strerror(errno));
    }
    if (fstat(fileno(p.f), &st) != 0) {
        rc = err_set(CSIGN_EIO, "cannot read configuration file '%s': %s", path, strerror(errno));
        fclose(p.f);
        return rc;
    }
    rc = check_owner(path, &st);
    if (rc != CSIGN_OK) {
        fclose(p.f);
        return rc;
    }
    cfg.files[cfg.nfiles] = strdup(path);
    if (cfg.files[cfg.nfiles] == NULL) {
        fclose(p.f);
        return err_oom();
    }
    p.path = cfg.files[cfg.nfiles];
    p.file = cfg.nfiles++;
    r = ini_parse_stream(read_line, &p, on_key, &p);
    if (p.rc == CSIGN_OK && ferror(p.f))
        rc = err_set(CSIGN_EIO, "cannot read configuration file '%s'", path);
    fclose(p.f);
    if (rc != CSIGN_OK)
        return rc;
    if (p.rc != CSIGN_OK)
        return err_set(p.rc, "%s", p.why);
    if (r == -2)
        return err_oom();
    if (r > 0)
        return err_set(CSIGN_EUSAGE, "%s:%d: not a 'key = value' line, a [section] or a # comment",
                       path, r);
    return CSIGN_OK;
}

/* The entries of key in one layer: those of the last file that has it.
 * Appends them to cfg.eff; true when there were any. */
static bool take_layer(int idx, bool profile)
{
    const char *key = settings[idx].key;
    int file = -1;

    for (size_t i = 0; i < cfg.nraw; i++)
        if (cfg.raw[i].profile == profile && strcmp(cfg.raw[i].key, key) == 0 &&
            cfg.raw[i].file > file)
            file = cfg.raw[i].file;
    if (file < 0)
        return false;
    size_t last = 0;
    for (size_t i = 0; i < cfg.nraw; i++) {
        raw_entry *r = &cfg.raw[i];
        if (r->profile != profile || r->file != file || strcmp(r->key, key) != 0)
            continue;
        if (settings[idx].kind != K_LIST && cfg.neff > 0 && last > 0) {
            cfg.eff[last - 1] = (config_entry){r->key, r->value, cfg.files[r->file], r->line};
            continue;
        }
        cfg.eff[cfg.neff++] = (config_entry){r->key, r->value, cfg.files[r->file], r->line};
        last = cfg.neff;
    }
    return true;
}

/* The variable's value; NULL when it is unset or empty. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static csign_rc load(const char *path, const char *profile)
{
    const char *sys = getenv("CSIGN_SYSTEM_CONFIG");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    char *user = NULL;
    csign_rc rc;

    if (path == NULL)
        path = env_value("CSIGN_CONFIG");
    if (profile == NULL)
        profile = env_value("CSIGN_PROFILE");
    if (profile != NULL && (cfg.profile = strdup(profile)) == NULL)
        return err_oom();
    if (path != NULL && path[0] == '\0')
        return err_set(CSIGN_EUSAGE, "--config needs a file name");

    if (xdg != NULL && xdg[0] == '/') {
        if (asprintf(&user, "%s/csign/config", xdg) < 0)
            return err_oom();
    } else if (home != NULL && home[0] != '\0') {
        if (asprintf(&user, "%s/.config/csign/config", home) < 0)
            return err_oom();
    }
    const char *order[4] = {sys != NULL && sys[0] != '\0' ? sys : "/etc/csign/config", user,
                            "./.csign", path};
    rc = CSIGN_OK;
    for (int i = 0; rc == CSIGN_OK && i < 4; i++) {
        if (order[i] == NULL)
            continue;
        rc = read_file(order[i], i == 3);
    }
    free(user);
    if (rc != CSIGN_OK)
        return rc;
    if (cfg.profile != NULL && !cfg.profile_seen)
        return err_set(CSIGN_EUSAGE,
                       "no configuration file defines profile '%s'; add [profile %s] or choose "
                       "another with --profile",
                       cfg.profile, cfg.profile);

    cfg.eff = calloc(cfg.nraw + 1, sizeof(*cfg.eff));
    if (cfg.eff == NULL)
        return err_oom();
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (!take_layer((int)i, true))
            take_layer((int)i, false);
    return CSIGN_OK;
}

csign_rc config_load(const char *path, const char *profile)
{
    static bool done;

    if (done)
        return cfg.rc;
    done = true;
    cfg.rc = load(path, profile);
    return cfg.rc;
}

const config_entry *config_entries(size_t *n)
{
    *n = cfg.eff != NULL ? cfg.neff : 0;
    return cfg.eff;
}

const char *config_profile(void)
{
    return cfg.profile;
}
