/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_LANES_H
#define CSIGN_LANES_H

/*
 * Signatures spread over the token's parallel sessions (hsm_lanes_open()):
 * one thread per lane, each taking the next item, so that a slow token
 * answers several at once, while the caller takes the results in order
 * (and writes them out) as they come.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "hsm/hsm.h"
#include "sys/err.h"

/* Items that may be done ahead of the one the caller waits for. */
#define LANES_AHEAD 256

/* Does item i (records its own outcome); CSIGN_ETOKEN when the token
 * failed it. Called on several threads at once, each item once (twice
 * when retried). */
typedef csign_rc (*lanes_fn)(void *ctx, size_t i);

typedef struct lanes lanes;

/*
 * Starts doing items 0 to n - 1 with fn, on one thread per lane of h that
 * is alive among the first nlanes, each thread on its own lane, at most
 * LANES_AHEAD items past the one lanes_wait() last waited for. When fn
 * fails an item with CSIGN_ETOKEN for the first time and another lane is
 * alive, that lane is dropped (hsm_lane_drop()) and the item is given once
 * more to another lane. Takes no new item once *stop is non-zero (stop may
 * be NULL). With one lane, or when no thread can be started, the items
 * are done in the caller's thread, in lanes_wait(). NULL when out of
 * memory.
 */
lanes *lanes_start(hsm *h, unsigned nlanes, size_t n, lanes_fn fn, void *ctx,
                   const volatile sig_atomic_t *stop);

/* Waits until item i is done (call for 0, 1, 2, ... in order). False when
 * it will not be: a stop was asked for, or lanes_stop(). */
bool lanes_wait(lanes *l, size_t i);

/* No new item is started. */
void lanes_stop(lanes *l);

/* Stops, waits for the items under way and the threads, and frees.
 * NULL is a no-op. */
void lanes_end(lanes *l);

#endif
