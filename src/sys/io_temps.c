/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "sys/io.h"

/*
 * The temporary files that exist right now, so that a process that has
 * to end from another thread (a module call that never returns) can
 * remove them. The names are borrowed from their owners, who drop them
 * before freeing them.
 */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char **names;
static size_t count, cap;

csign_rc io_temps_add(const char *name)
{
    csign_rc rc = CSIGN_OK;

    pthread_mutex_lock(&lock);
    if (count == cap) {
        size_t n = cap ? 2 * cap : 16;
        const char **v = realloc(names, n * sizeof(*v));
        if (v == NULL) {
            rc = err_oom();
        } else {
            names = v;
            cap = n;
        }
    }
    if (rc == CSIGN_OK)
        names[count++] = name;
    pthread_mutex_unlock(&lock);
    return rc;
}

void io_temps_drop(const char *name)
{
    if (name == NULL)
        return;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count; i++) {
        if (names[i] == name) {
            names[i] = names[--count];
            break;
        }
    }
    if (count == 0) {
        free(names);
        names = NULL;
        cap = 0;
    }
    pthread_mutex_unlock(&lock);
}

size_t io_temps_count(void)
{
    pthread_mutex_lock(&lock);
    size_t n = count;
    pthread_mutex_unlock(&lock);
    return n;
}

void io_temps_remove_all(void)
{
    /* Never unlocked: the process is on its way out, and no thread may
     * create or name another temporary file before it is gone. */
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count; i++)
        unlink(names[i]);
    count = 0;
}
