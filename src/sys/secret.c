/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "sys/secret.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

csign_rc secret_harden_process(void)
{
    struct rlimit nocore = {0, 0};

    /* A core dump taken while a PIN is in memory would carry it to disk. */
    (void)setrlimit(RLIMIT_CORE, &nocore);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (!CRYPTO_secure_malloc_initialized())
        (void)CRYPTO_secure_malloc_init(64 * 1024, 32);
    return CSIGN_OK;
}

/* Bytes of whole pages that hold n bytes. */
static size_t page_span(size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t)page : 4096;
    return (n + p - 1) / p * p;
}

csign_rc secret_new(size_t cap, secret **out)
{
    secret *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return err_oom();
    s->cap = cap;
    if (CRYPTO_secure_malloc_initialized()) {
        s->data = OPENSSL_secure_zalloc(cap + 1);
    } else {
        /* Pages of its own, so that unlocking them when this secret is
         * freed never unlocks another secret's bytes. */
        void *p = NULL;
        if (posix_memalign(&p, (size_t)sysconf(_SC_PAGESIZE), page_span(cap + 1)) == 0) {
            s->data = memset(p, 0, page_span(cap + 1));
            s->own_pages = true;
            (void)mlock(s->data, page_span(cap + 1));
        }
    }
    if (s->data == NULL) {
        free(s);
        return err_oom();
    }
    *out = s;
    return CSIGN_OK;
}

void secret_free(secret *s)
{
    if (s == NULL)
        return;
    if (s->own_pages) {
        /* Unlocked after the wipe: pages stay locked while they hold it. */
        OPENSSL_cleanse(s->data, page_span(s->cap + 1));
        (void)munlock(s->data, page_span(s->cap + 1));
        free(s->data);
    } else {
        OPENSSL_secure_clear_free(s->data, s->cap + 1);
    }
    free(s);
}

csign_rc secret_append(secret *s, const void *p, size_t n)
{
    if (n > s->cap - s->len)
        return err_set(CSIGN_ETOKEN, "PIN is too long (more than %zu bytes)", s->cap);
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
    return CSIGN_OK;
}

void secret_strip_newline(secret *s)
{
    if (s->len > 0 && s->data[s->len - 1] == '\n') {
        s->len--;
        if (s->len > 0 && s->data[s->len - 1] == '\r')
            s->len--;
        OPENSSL_cleanse(s->data + s->len, s->cap + 1 - s->len);
    }
}
