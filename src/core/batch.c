/* SPDX-License-Identifier: Apache-2.0 */
#include "core/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Room for everything else a run keeps open (standard streams, the
 * module and its token store, the TSA connection, a file being read). */
#define OTHER_FILES 32

/* BATCH_MAX, or fewer so that a batch's temporary files fit in half of
 * the open-file limit. */
static size_t batch_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= 2 * BATCH_MAX + OTHER_FILES)
        return BATCH_MAX;
    if (rl.rlim_cur <= OTHER_FILES + 2)
        return 1;
    return (size_t)(rl.rlim_cur - OTHER_FILES) / 2;
}

csign_rc batch_open(batch_writer *w, bool fail_fast, const volatile sig_atomic_t *stop)
{
    memset(w, 0, sizeof(*w));
    w->fail_fast = fail_fast;
    w->stop = stop;
    w->limit = fail_fast ? 1 : batch_limit();
    w->io = io_batch_new();
    w->staged = calloc(w->limit, sizeof(*w->staged));
    if (w->io == NULL || w->staged == NULL)
        return err_oom();
    return CSIGN_OK;
}

void batch_fail(batch_item *it, csign_rc rc)
{
    it->rc = rc;
    snprintf(it->reason, sizeof(it->reason), "%s", err_msg());
}

void batch_add(batch_writer *w, batch_item *it, const char *path, const void *data, size_t len,
               bool force)
{
    csign_rc rc = io_batch_add(w->io, path, data, len, force, &it->outcome);

    if (rc != CSIGN_OK) {
        batch_fail(it, rc);
        return;
    }
    it->staged = true;
    w->staged[io_batch_size(w->io) - 1] = it;
}

bool batch_stopped(const batch_writer *w)
{
    return w->stop != NULL && *w->stop != 0;
}

bool batch_pending(const batch_item *it)
{
    return it->staged;
}

/* Puts the staged outputs in place; each item learns its outcome. */
static void commit(batch_writer *w)
{
    size_t n = io_batch_size(w->io);

    io_batch_commit(w->io);
    for (size_t i = 0; i < n; i++) {
        batch_item *it = w->staged[i];
        it->staged = false;
        it->written = it->outcome.rc == CSIGN_OK;
        if (!it->written) {
            it->rc = it->outcome.rc;
            snprintf(it->reason, sizeof(it->reason), "%s", it->outcome.reason);
            w->failed = w->failed || w->fail_fast;
        }
        w->staged[i] = NULL;
    }
}

bool batch_next(batch_writer *w, const batch_item *it)
{
    if (it->rc != CSIGN_OK && w->fail_fast)
        w->failed = true;
    if (!batch_stopped(w) && io_batch_size(w->io) >= w->limit)
        commit(w);
    return !batch_stopped(w) && !w->failed;
}

void batch_finish(batch_writer *w)
{
    if (w->io != NULL && !batch_stopped(w) && io_batch_size(w->io) > 0)
        commit(w);
    /* Stopped: what is not committed goes, temporary files and all. */
    io_batch_free(w->io);
    free(w->staged);
    memset(w, 0, sizeof(*w));
}
