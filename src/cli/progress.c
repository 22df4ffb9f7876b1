/* SPDX-License-Identifier: Apache-2.0 */
/* A progress line on the terminal while files are hashed. */
#define _GNU_SOURCE
#include "cli/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/digest.h"

/* How often the line is redrawn. */
#define PROGRESS_TICK_MS 200

struct progress {
    const char *verb;
    size_t files;
    uint64_t total; /* bytes; 0 when unknown */
    bool total_known;
    double delay; /* seconds before the first line */
    struct timespec start;
    digest_progress counters;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool running; /* thread started */
    bool stop;
    bool drawn;
};

/* A non-empty value of one of the opt-out variables. */
static bool opted_out(void)
{
    const char *vars[] = {"NO_PROGRESS", "CSIGN_NO_PROGRESS"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && *v != '\0')
            return true;
    }
    const char *term = getenv("TERM");
    return term != NULL && strcmp(term, "dumb") == 0;
}

static double delay_seconds(void)
{
    const char *v = getenv("CSIGN_PROGRESS_DELAY");
    char *end = NULL;
    double d;

    if (v == NULL || *v == '\0')
        return 1.0;
    errno = 0;
    d = strtod(v, &end);
    return (errno != 0 || *end != '\0' || !(d >= 0.0) || d > 3600.0) ? 1.0 : d;
}

static double since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* "1.5 GiB" and the like into buf. */
static void human(double bytes, char *buf, size_t len)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;

    while (bytes >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

static void draw(progress *p)
{
    uint64_t bytes = p->counters.bytes, files = p->counters.files;
    double t = since(&p->start);
    char done[32], total[32], rate[32], of[48] = "", per[48] = "", left[64] = "";

    human((double)bytes, done, sizeof(done));
    if (p->total_known) {
        human((double)p->total, total, sizeof(total));
        snprintf(of, sizeof(of), " of %s", total);
    }
    if (t > 0.05 && bytes > 0) {
        double r = (double)bytes / t;
        human(r, rate, sizeof(rate));
        snprintf(per, sizeof(per), ", %s/s", rate);
        if (p->total_known && p->total >= bytes) {
            unsigned long s = (unsigned long)((double)(p->total - bytes) / r + 0.5);
            snprintf(left, sizeof(left), ", %lu:%02lu left", s / 60, s % 60);
        }
    }
    /* \033[K erases what a longer previous line left behind. */
    fprintf(stderr, "\rcsign: %s %llu/%zu files, %s%s%s%s\033[K", p->verb,
            (unsigned long long)files, p->files, done, of, per, left);
    fflush(stderr);
    p->drawn = true;
}

static void deadline_after(struct timespec *t, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    long long ns = (long long)t->tv_nsec + (long long)(seconds * 1e9);
    t->tv_sec += (time_t)(ns / 1000000000LL);
    t->tv_nsec = (long)(ns % 1000000000LL);
}

static void *run(void *arg)
{
    progress *p = arg;
    struct timespec until;

    pthread_mutex_lock(&p->lock);
    deadline_after(&until, p->delay);
    while (!p->stop) {
        if (pthread_cond_timedwait(&p->wake, &p->lock, &until) == ETIMEDOUT && !p->stop) {
            draw(p);
            deadline_after(&until, PROGRESS_TICK_MS / 1000.0);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Regular-file size of path (relative to dirfd), or -1. */
static long long size_of(int dirfd, const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0 || fstatat(dirfd, path, &st, 0) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return (long long)st.st_size;
}

static progress *start(const char *verb, size_t n, uint64_t total, bool total_known)
{
    progress *p;
    pthread_condattr_t attr;

    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->verb = verb;
    p->files = n;
    p->delay = delay_seconds();
    p->total = total;
    p->total_known = total_known;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &attr);
    pthread_condattr_destroy(&attr);
    digest_set_progress(&p->counters);
    /* With no delay the first line is there before any work starts. */
    if (p->delay == 0.0)
        draw(p);
    p->running = pthread_create(&p->thread, NULL, run, p) == 0;
    return p;
}

static bool wanted(void)
{
    return cli_verbosity >= 0 && isatty(STDERR_FILENO) && !opted_out();
}

progress *progress_begin(const char *verb, const char *const *paths, size_t n)
{
    uint64_t total = 0;
    bool known = true;

    if (!wanted())
        return NULL;
    for (size_t i = 0; i < n; i++) {
        long long size = size_of(AT_FDCWD, paths[i]);
        known = known && size >= 0;
        total += size >= 0 ? (uint64_t)size : 0;
    }
    return start(verb, n, total, known);
}

csign_rc progress_digest_many(const char *verb, digest_job *jobs, size_t n, const EVP_MD *md,
                              int threads)
{
    progress *p = NULL;
    uint64_t total = 0;
    bool known = true;
    csign_rc rc;

    if (wanted()) {
        for (size_t i = 0; i < n; i++) {
            long long size = size_of(jobs[i].beneath ? jobs[i].dirfd : AT_FDCWD, jobs[i].path);
            known = known && size >= 0;
            total += size >= 0 ? (uint64_t)size : 0;
        }
        p = start(verb, n, total, known);
    }
    rc = digest_many(jobs, n, md, threads);
    progress_end(p);
    return rc;
}

static void erase(progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = false;
    }
}

void progress_hold(progress *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    erase(p);
}

void progress_release(progress *p)
{
    if (p != NULL) {
        fflush(stdout);
        pthread_mutex_unlock(&p->lock);
    }
}

void progress_end(progress *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    if (p->running)
        pthread_join(p->thread, NULL);
    digest_set_progress(NULL);
    erase(p);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
