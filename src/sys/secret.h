/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_SECRET_H
#define CSIGN_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "sys/err.h"

/*
 * A buffer for a secret (a PIN). The bytes live in OpenSSL's secure heap
 * when it could be set up (locked, guarded memory), else in ordinary memory
 * that is locked where the system allows. They are wiped with
 * OPENSSL_cleanse when freed. `data` is always NUL-terminated.
 */
typedef struct {
    char *data;
    size_t len;     /* bytes in use, not counting the terminating NUL */
    size_t cap;     /* usable bytes, not counting room for the NUL */
    bool own_pages; /* not in the secure heap: locked pages of its own */
} secret;

/* Process-wide protections, called first thing in main(): no core dumps
 * (RLIMIT_CORE 0, not dumpable) and the secure heap. Failures are not
 * fatal; returns CSIGN_OK. */
csign_rc secret_harden_process(void);

/* A new empty secret able to hold cap bytes. *out is owned by the caller
 * and released with secret_free(). */
csign_rc secret_new(size_t cap, secret **out);

/* Wipes and frees s. NULL is a no-op. */
void secret_free(secret *s);

/* Appends n bytes; CSIGN_ETOKEN "PIN is too long" when they do not fit
 * (the secret keeps what it had). */
csign_rc secret_append(secret *s, const void *p, size_t n);

/* Removes one trailing "\n" or "\r\n", if present. */
void secret_strip_newline(secret *s);

#endif
