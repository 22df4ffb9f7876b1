/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "csign/secret.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

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

csign_rc secret_new(size_t cap, secret **out)
{
    secret *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return err_oom();
    s->data = OPENSSL_secure_zalloc(cap + 1);
    if (s->data == NULL) {
        free(s);
        return err_oom();
    }
    if (!CRYPTO_secure_allocated(s->data))
        (void)mlock(s->data, cap + 1);
    s->cap = cap;
    *out = s;
    return CSIGN_OK;
}

void secret_free(secret *s)
{
    if (s == NULL)
        return;
    /* Unlocked after the wipe: pages stay locked while they hold the PIN. */
    bool locked = !CRYPTO_secure_allocated(s->data);
    OPENSSL_cleanse(s->data, s->cap + 1);
    if (locked)
        (void)munlock(s->data, s->cap + 1);
    /* OPENSSL_secure_clear_free cleanses before freeing, in both heaps. */
    OPENSSL_secure_clear_free(s->data, s->cap + 1);
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
