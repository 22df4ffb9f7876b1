/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_STAMP_H
#define CSIGN_STAMP_H

/*
 * A time-stamping session: the TSAs to ask, one HTTP client for all of a
 * run's requests, and the TSAs found unreachable (not asked again).
 */

#include <openssl/evp.h>
#include <stdbool.h>

#include "sys/err.h"
#include "sys/http.h"

#define STAMP_MAX_URLS 8

/* Which TSAs, and how to ask them. */
typedef struct {
    const char *urls[STAMP_MAX_URLS]; /* tried in order */
    int nurls;
    const EVP_MD *md;   /* imprint digest (SHA-256 unless set) */
    const char *policy; /* requested policy OID, or NULL */
    int retries;        /* more tries per TSA after a connection error or HTTP 5xx */
    long timeout;       /* seconds per request */
} stamp_config;

/* cfg with SHA-256, 2 retries and 10 s, and no TSA yet. */
void stamp_config_init(stamp_config *cfg);

typedef struct {
    http_client *http;
    const stamp_config *cfg;   /* borrowed */
    const char *used;          /* the URL of the last timestamp */
    bool down[STAMP_MAX_URLS]; /* TSAs that could not be reached */
} stamper;

/* Starts the HTTP client (main thread, before other threads). cfg is
 * borrowed until stamper_close(). */
csign_rc stamper_open(const stamp_config *cfg, stamper *s);
void stamper_close(stamper *s);

/* sig (DER or PEM) with a timestamp added, in *out (OPENSSL_free). Errors
 * as tsa_stamp() and cms_add_timestamp() give them. */
csign_rc stamper_apply(stamper *s, const unsigned char *sig, size_t len, unsigned char **out,
                       size_t *out_len);

#endif
