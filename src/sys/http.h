/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_HTTP_H
#define CSIGN_HTTP_H

/*
 * A small HTTP(S) client for talking to time-stamping authorities, on
 * libcurl. One client keeps its connection open between requests to the
 * same server, so many files in one run cost one connection. libcurl is
 * not linked: the first http_new() loads libcurl.so.4, so that runs
 * without timestamps do not pay for it (CSIGN_EIO "cannot load
 * libcurl.so.4: ..." when it cannot be loaded).
 */

#include <stddef.h>

#include "sys/err.h"

typedef struct http_client http_client;

/* A client whose every request ends after timeout seconds (connecting
 * included). *out is freed with http_free(). Call from the main thread
 * before other threads start (libcurl's global set-up is not
 * thread-safe). */
csign_rc http_new(long timeout, http_client **out);
void http_free(http_client *c);

/*
 * POSTs body (of content type type) to url (http: or https: only; no
 * redirects). On an answer, *status is the HTTP status and *resp (malloc'd,
 * at most max bytes) the body. CSIGN_EIO, with the reason (not naming the
 * URL), when there is no answer: the server cannot be reached, refuses or
 * times out; CSIGN_EINPUT for an answer of more than max bytes;
 * CSIGN_EUSAGE for a URL of another scheme; CSIGN_EINTERNAL "interrupted"
 * as soon as a signal asked to stop (stop.h), even mid-request.
 */
csign_rc http_post(http_client *c, const char *url, const char *type, const void *body, size_t len,
                   size_t max, long *status, unsigned char **resp, size_t *resp_len);

#endif
