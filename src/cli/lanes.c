/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "cli/lanes.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    lanes *l;
    unsigned lane;
    pthread_t thread;
    bool started;
} worker;

struct lanes {
    hsm *h;
    lanes_fn fn;
    void *ctx;
    const volatile sig_atomic_t *stop;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t n, next; /* items; the next never taken */
    size_t waited;  /* the item lanes_wait() waits for */
    size_t *again;  /* items to give to another lane */
    size_t nagain;
    bool *retried;  /* by item */
    bool *done;     /* by item */
    bool halted;    /* lanes_stop() */
    unsigned alive; /* lanes still taking items */
    unsigned busy;  /* items in hand */
    worker *w;
    unsigned nw;
    bool threads; /* some worker started */
};

static bool stopped(const lanes *l)
{
    return l->halted || (l->stop != NULL && *l->stop != 0);
}

/* The next item, waiting while none may be taken yet; false when there
 * is none left. With the lock held. */
static bool take(lanes *l, size_t *i)
{
    for (;;) {
        if (stopped(l))
            return false;
        if (l->nagain > 0) {
            *i = l->again[--l->nagain];
            break;
        }
        if (l->next < l->n && l->next < l->waited + LANES_AHEAD) {
            *i = l->next++;
            break;
        }
        if (l->next >= l->n && l->busy == 0)
            return false;
        pthread_cond_wait(&l->changed, &l->lock);
    }
    l->busy++;
    return true;
}

static void *work(void *arg)
{
    worker *w = arg;
    lanes *l = w->l;
    bool drop = false;
    size_t i;

    hsm_lane_use(l->h, w->lane);
    pthread_mutex_lock(&l->lock);
    while (!drop && take(l, &i)) {
        pthread_mutex_unlock(&l->lock);
        csign_rc rc = l->fn(l->ctx, i);
        pthread_mutex_lock(&l->lock);
        l->busy--;
        /* A lane whose session failed takes no more; its item goes to
         * another lane, once. */
        if (rc == CSIGN_ETOKEN && !l->retried[i] && l->alive > 1) {
            l->retried[i] = true;
            l->again[l->nagain++] = i;
            l->alive--;
            drop = true;
        } else
            l->done[i] = true;
        pthread_cond_broadcast(&l->changed);
    }
    pthread_mutex_unlock(&l->lock);
    if (drop)
        hsm_lane_drop(l->h, w->lane);
    return NULL;
}

lanes *lanes_start(hsm *h, unsigned nlanes, size_t n, lanes_fn fn, void *ctx,
                   const volatile sig_atomic_t *stop)
{
    lanes *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    *l = (lanes){.h = h, .fn = fn, .ctx = ctx, .stop = stop, .n = n};
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->changed, NULL);
    l->again = calloc(n + 1, sizeof(*l->again));
    l->retried = calloc(n + 1, sizeof(*l->retried));
    l->done = calloc(n + 1, sizeof(*l->done));
    if (l->again == NULL || l->retried == NULL || l->done == NULL) {
        lanes_end(l);
        return NULL;
    }
    if (nlanes <= 1 || (l->w = calloc(nlanes, sizeof(*l->w))) == NULL)
        return l;
    l->nw = nlanes;
    /* Counted before any starts, so that no worker takes itself for the
     * last one while others are still starting. */
    for (unsigned k = 0; k < nlanes; k++)
        l->alive += hsm_lane_alive(h, k);
    for (unsigned k = 0; k < nlanes; k++) {
        if (!hsm_lane_alive(h, k))
            continue;
        l->w[k] = (worker){l, k, 0, false};
        l->w[k].started = pthread_create(&l->w[k].thread, NULL, work, &l->w[k]) == 0;
        pthread_mutex_lock(&l->lock);
        if (l->w[k].started)
            l->threads = true;
        else
            l->alive--;
        pthread_mutex_unlock(&l->lock);
    }
    return l;
}

/* Without threads (or when the last ones gave up): item i here, on
 * lane 0. */
static bool do_here(lanes *l, size_t i)
{
    if (stopped(l))
        return false;
    hsm_lane_use(l->h, 0);
    (void)l->fn(l->ctx, i);
    l->done[i] = true;
    return true;
}

bool lanes_wait(lanes *l, size_t i)
{
    if (!l->threads)
        return do_here(l, i);
    pthread_mutex_lock(&l->lock);
    l->waited = i;
    pthread_cond_broadcast(&l->changed);
    while (!l->done[i] && !stopped(l) && l->alive > 0)
        pthread_cond_wait(&l->changed, &l->lock);
    /* Under way when a stop came: it ends on its own. */
    while (!l->done[i] && l->busy > 0)
        pthread_cond_wait(&l->changed, &l->lock);
    bool done = l->done[i], none = l->alive == 0;
    pthread_mutex_unlock(&l->lock);
    /* Every lane's thread failed to start or dropped out: do it here. */
    if (!done && none)
        return do_here(l, i);
    return done;
}

void lanes_stop(lanes *l)
{
    pthread_mutex_lock(&l->lock);
    l->halted = true;
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->lock);
}

void lanes_end(lanes *l)
{
    if (l == NULL)
        return;
    lanes_stop(l);
    for (unsigned k = 0; k < l->nw; k++)
        if (l->w[k].started)
            pthread_join(l->w[k].thread, NULL);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->changed);
    free(l->again);
    free(l->retried);
    free(l->done);
    free(l->w);
    free(l);
}
