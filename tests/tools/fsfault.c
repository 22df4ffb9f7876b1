/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only LD_PRELOAD library that makes chosen file-system calls fail, for
 * faults a real disk or kernel will not produce on demand (a full disk, an
 * I/O error at flush time, a kernel without openat2).
 *
 * CSIGN_FSFAULT holds comma-separated rules "CALL[@N]=ERRNO[:TEXT]":
 *   CALL   openat2 (the raw system call), write, fsync, fdatasync, rename,
 *          renameat2, link, unlink
 *   @N     only the Nth matching call (from 1); without it, every one
 *   ERRNO  ENOSYS, ENOSPC, EIO, EDQUOT, EPERM, EACCES or a number; or STOP:
 *          the process stops itself (SIGSTOP) and, once continued, the
 *          call goes on to the other rules, so that a test can change
 *          the file system at that very point
 *   TEXT   only calls whose path (for fd calls: the path the descriptor is
 *          open on; for rename and link: either path) contains TEXT
 * A failing call does nothing and returns -1 with errno set. When
 * CSIGN_FSFAULT_LOG names a file, every failure injected appends a line
 * "CALL PATH" to it.
 *
 * Example: CSIGN_FSFAULT='openat2=ENOSYS,rename@2=EIO:.p7s'
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_RULES 16

typedef struct {
    char call[16];
    long nth; /* 0: every call */
    int err;
    char text[256];
    atomic_long seen;
} rule;

static rule rules[MAX_RULES];
static int nrules = -1;

#define STOP_RULE (-1) /* ERRNO "STOP" */

static int errno_by_name(const char *s)
{
    if (strcmp(s, "STOP") == 0)
        return STOP_RULE;
    static const struct {
        const char *name;
        int value;
    } names[] = {{"ENOSYS", ENOSYS}, {"ENOSPC", ENOSPC}, {"EIO", EIO},
                 {"EDQUOT", EDQUOT}, {"EPERM", EPERM},   {"EACCES", EACCES}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].value;
    return atoi(s) > 0 ? atoi(s) : EIO;
}

/* At load time, before csign starts threads that could race to do it. */
__attribute__((constructor)) static void parse_rules(void)
{
    const char *spec = getenv("CSIGN_FSFAULT");
    char buf[2048];

    nrules = 0;
    if (spec == NULL)
        return;
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && nrules < MAX_RULES;
         tok = strtok_r(NULL, ",", &save)) {
        rule *r = &rules[nrules];
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        char *at = strchr(tok, '@');
        if (at != NULL) {
            *at = '\0';
            r->nth = atol(at + 1);
        }
        snprintf(r->call, sizeof(r->call), "%s", tok);
        char *colon = strchr(eq + 1, ':');
        if (colon != NULL) {
            *colon = '\0';
            snprintf(r->text, sizeof(r->text), "%s", colon + 1);
        }
        r->err = errno_by_name(eq + 1);
        nrules++;
    }
}

static void log_fault(const char *call, const char *path)
{
    const char *log = getenv("CSIGN_FSFAULT_LOG");
    if (log == NULL)
        return;
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char line[4200];
    int n = snprintf(line, sizeof(line), "%s %s\n", call, path ? path : "");
    if (n > 0) {
        ssize_t (*real_write)(int, const void *, size_t);
        *(void **)(&real_write) = dlsym(RTLD_NEXT, "write");
        if (real_write(fd, line, (size_t)n) < 0)
            n = 0;
    }
    close(fd);
}

/* The errno to fail this call with, or 0 to let it through. */
static int fault(const char *call, const char *p1, const char *p2)
{
    if (nrules < 0)
        parse_rules();
    for (int i = 0; i < nrules; i++) {
        rule *r = &rules[i];
        if (strcmp(r->call, call) != 0)
            continue;
        if (r->text[0] != '\0' && !(p1 && strstr(p1, r->text)) && !(p2 && strstr(p2, r->text)))
            continue;
        long n = atomic_fetch_add(&r->seen, 1) + 1;
        if ((r->nth == 0 || r->nth == n) && r->err == STOP_RULE) {
            log_fault("STOP", p1);
            raise(SIGSTOP);
        } else if (r->nth == 0 || r->nth == n) {
            log_fault(call, p1);
            return r->err;
        }
    }
    return 0;
}

/* The path fd is open on ("" when unknown). */
static const char *fd_path(int fd, char *buf, size_t size)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* real_fn becomes the next definition of name (the C library's). */
#define LOAD_REAL(name) (*(void **)(&real_fn) = dlsym(RTLD_NEXT, #name))

/* Fails the call when a rule says so. */
#define MAYBE_FAIL(expr)                                                                           \
    do {                                                                                           \
        int err_ = (expr);                                                                         \
        if (err_ != 0) {                                                                           \
            errno = err_;                                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

long syscall(long number, ...)
{
    long (*real_fn)(long, ...);
    va_list ap;
    long a[6];

    va_start(ap, number);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
#ifdef SYS_openat2
    if (number == SYS_openat2)
        MAYBE_FAIL(fault("openat2", (const char *)a[1], NULL));
#endif
    LOAD_REAL(syscall);
    return real_fn(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int fd_fault(const char *call, int fd)
{
    char path[4096];
    if (nrules < 0)
        parse_rules();
    if (nrules == 0)
        return 0;
    return fault(call, fd_path(fd, path, sizeof(path)), NULL);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    ssize_t (*real_fn)(int, const void *, size_t);
    MAYBE_FAIL(fd > 2 ? fd_fault("write", fd) : 0);
    LOAD_REAL(write);
    return real_fn(fd, buf, len);
}

int fsync(int fd)
{
    int (*real_fn)(int);
    MAYBE_FAIL(fd_fault("fsync", fd));
    LOAD_REAL(fsync);
    return real_fn(fd);
}

int fdatasync(int fd)
{
    int (*real_fn)(int);
    MAYBE_FAIL(fd_fault("fdatasync", fd));
    LOAD_REAL(fdatasync);
    return real_fn(fd);
}

int rename(const char *from, const char *to)
{
    int (*real_fn)(const char *, const char *);
    MAYBE_FAIL(fault("rename", to, from));
    LOAD_REAL(rename);
    return real_fn(from, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
    int (*real_fn)(int, const char *, int, const char *, unsigned int);
    MAYBE_FAIL(fault("renameat2", to, from));
    LOAD_REAL(renameat2);
    return real_fn(fromfd, from, tofd, to, flags);
}

int link(const char *from, const char *to)
{
    int (*real_fn)(const char *, const char *);
    MAYBE_FAIL(fault("link", to, from));
    LOAD_REAL(link);
    return real_fn(from, to);
}

int unlink(const char *path)
{
    int (*real_fn)(const char *);
    MAYBE_FAIL(fault("unlink", path, NULL));
    LOAD_REAL(unlink);
    return real_fn(path);
}
