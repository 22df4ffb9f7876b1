/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "sys/http.h"
#include "sys/stop.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * libcurl is loaded when the first client is made, not linked: with its
 * own dependencies it is about 30 libraries (Kerberos, LDAP, SSH, ...)
 * that every run would otherwise load and relocate at start, although only
 * timestamping uses it. The header gives the types; these are the few
 * functions used, resolved once.
 */
#define CURL_LIBRARY "libcurl.so.4"

static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *h);
    CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
} curl;

/* Loads libcurl and starts it, once (from the main thread: see http.h). */
static csign_rc curl_load(void)
{
    static bool loaded;
    void *dl;

    if (loaded)
        return CSIGN_OK;
    /* Never dlclose()d: libcurl and the TLS library keep state to the end. */
    dl = dlopen(CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        return err_set(CSIGN_EIO, "cannot load " CURL_LIBRARY ": %s", why ? why : "unknown error");
    }
    static const struct {
        const char *name;
        void **slot;
    } fns[] = {
        {"curl_global_init", (void **)&curl.global_init},
        {"curl_easy_init", (void **)&curl.easy_init},
        {"curl_easy_cleanup", (void **)&curl.easy_cleanup},
        {"curl_easy_setopt", (void **)&curl.easy_setopt},
        {"curl_easy_perform", (void **)&curl.easy_perform},
        {"curl_easy_getinfo", (void **)&curl.easy_getinfo},
        {"curl_easy_strerror", (void **)&curl.easy_strerror},
        {"curl_slist_append", (void **)&curl.slist_append},
        {"curl_slist_free_all", (void **)&curl.slist_free_all},
    };
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        if ((*fns[i].slot = dlsym(dl, fns[i].name)) == NULL)
            return err_set(CSIGN_EIO, "cannot load " CURL_LIBRARY ": it has no %s", fns[i].name);
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(CSIGN_EINTERNAL, "cannot start libcurl");
    loaded = true;
    return CSIGN_OK;
}

struct http_client {
    CURL *curl;
    long timeout;
};

/* The answer's body, bounded. */
typedef struct {
    unsigned char *data;
    size_t len, max;
    bool too_big, no_memory;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t add = size * n;

    if (s->len + add > s->max) {
        s->too_big = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    unsigned char *d = realloc(s->data, s->len + add + 1);
    if (d == NULL) {
        s->no_memory = true;
        return 0;
    }
    memcpy(d + s->len, p, add);
    s->data = d;
    s->len += add;
    return add;
}

/* A stop asked for by a signal ends a transfer at once, not at the
 * timeout. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)arg;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return stop_requested() != 0;
}

csign_rc http_new(long timeout, http_client **out)
{
    csign_rc rc = curl_load();
    http_client *c;

    if (rc != CSIGN_OK)
        return rc;
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->curl = curl.easy_init()) == NULL) {
        free(c);
        return err_oom();
    }
    c->timeout = timeout;
    *out = c;
    return CSIGN_OK;
}

void http_free(http_client *c)
{
    if (c == NULL)
        return;
    curl.easy_cleanup(c->curl);
    free(c);
}

csign_rc http_post(http_client *c, const char *url, const char *type, const void *body, size_t len,
                   size_t max, long *status, unsigned char **resp, size_t *resp_len)
{
    char header[256];
    struct curl_slist *headers = NULL;
    sink s = {NULL, 0, max, false, false};
    char detail[CURL_ERROR_SIZE] = "";
    CURL *h = c->curl;

    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return err_set(CSIGN_EUSAGE, "'%s' is not an http: or https: URL", url);
    snprintf(header, sizeof(header), "Content-Type: %s", type);
    headers = curl.slist_append(headers, header);
    if (headers == NULL)
        return err_oom();
    /* The same handle each time: libcurl keeps the connection open. */
    curl.easy_setopt(h, CURLOPT_URL, url);
    curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(h, CURLOPT_TIMEOUT, c->timeout);
    curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout);
    curl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl.easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl.easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl.easy_setopt(h, CURLOPT_USERAGENT, "csign/" CSIGN_VERSION);
    curl.easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    curl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = stop_requested() ? CURLE_ABORTED_BY_CALLBACK : curl.easy_perform(h);
    curl.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl.slist_free_all(headers);
    curl.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (rc != CURLE_OK) {
        free(s.data);
        if (s.no_memory)
            return err_oom();
        if (s.too_big)
            return err_set(CSIGN_EINPUT, "the answer is larger than %zu bytes", max);
        if (rc == CURLE_ABORTED_BY_CALLBACK)
            return err_set(CSIGN_EINTERNAL, "interrupted");
        return err_set(CSIGN_EIO, "%s", detail[0] ? detail : curl.easy_strerror(rc));
    }
    curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (s.data == NULL && (s.data = malloc(1)) == NULL)
        return err_oom();
    *resp = s.data;
    *resp_len = s.len;
    return CSIGN_OK;
}
