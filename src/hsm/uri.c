/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

char *hsm_uri_redact(const char *text)
{
    const char *key = "pin-value=";
    size_t klen = strlen(key);
    const char *mask = "(redacted)";
    char *out = malloc(strlen(text) + strlen(mask) * (strlen(text) / klen + 1) + 1);
    char *o = out;
    bool query = false;

    if (out == NULL)
        return NULL;
    for (const char *p = text; *p;) {
        /* The attribute starts the path or query or follows a separator;
         * in the query only '&' separates, so ';' may be part of a PIN, and
         * in the path only ';' and '?', so '&' may be (RFC 7512). */
        if (strncasecmp(p, key, klen) == 0 &&
            (p == text || p[-1] == ':' || p[-1] == '?' || p[-1] == '&' || p[-1] == ';')) {
            memcpy(o, p, klen);
            o += klen;
            p += klen;
            while (*p && (query ? *p != '&' : *p != ';' && *p != '?'))
                p++;
            memcpy(o, mask, strlen(mask));
            o += strlen(mask);
            continue;
        }
        if (*p == '?')
            query = true;
        *o++ = *p++;
    }
    *o = '\0';
    return out;
}

/* p11-kit ignores query attributes it does not know, and a misspelt
 * module-path must not silently fall back to another module. Vendor
 * attributes ("x-...") are allowed, as RFC 7512 says. */
static bool unknown_query(const char *text, char *name, size_t size)
{
    static const char *const known[] = {"module-name", "module-path", "pin-source", "pin-value",
                                        NULL};
    const char *q = strchr(text, '?');

    while (q != NULL && *q != '\0') {
        q++;
        size_t len = strcspn(q, "=&");
        bool ok = len >= 2 && strncasecmp(q, "x-", 2) == 0;
        for (const char *const *k = known; !ok && *k != NULL; k++)
            ok = strlen(*k) == len && strncasecmp(q, *k, len) == 0;
        if (!ok) {
            snprintf(name, size, "%.*s", (int)(len < 64 ? len : 64), q);
            return true;
        }
        q = strchr(q, '&');
    }
    return false;
}

csign_rc hsm_uri_parse(const char *text, hsm_uri **out)
{
    char name[72];
    hsm_uri *u = calloc(1, sizeof(*u));
    char *shown = NULL;
    csign_rc rc = CSIGN_EUSAGE;
    int r;

    if (u == NULL)
        return err_oom();
    u->p = p11_kit_uri_new();
    u->text = strdup(text);
    shown = hsm_uri_redact(text);
    if (u->p == NULL || u->text == NULL || shown == NULL) {
        rc = err_oom();
        goto out;
    }
    if (strncmp(text, "pkcs11:", 7) != 0) {
        err_set(rc, "'%s' is not a PKCS#11 URI (they start with 'pkcs11:')", shown);
        goto out;
    }
    /* Checked before p11-kit sees it, in any spelling: p11-kit rejects
     * "PIN-VALUE" with an unhelpful message. */
    if (strcasestr(text, "pin-value") != NULL) {
        err_set(rc,
                "URI '%s' carries pin-value, which would show the PIN in the process list; "
                "use --pin-source or the URI's pin-source instead",
                shown);
        goto out;
    }
    r = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, u->p);
    if (r != P11_KIT_URI_OK) {
        err_set(rc, "bad PKCS#11 URI '%s': %s", shown, p11_kit_uri_message(r));
        goto out;
    }
    if (p11_kit_uri_get_pin_value(u->p) != NULL) {
        err_set(rc,
                "URI '%s' carries pin-value, which would show the PIN in the process list; "
                "use --pin-source or the URI's pin-source instead",
                shown);
        goto out;
    }
    if (unknown_query(text, name, sizeof(name))) {
        err_set(rc,
                "URI '%s' has the query attribute '%s', which csign does not know; "
                "refusing to guess",
                shown, name);
        goto out;
    }
    if (p11_kit_uri_any_unrecognized(u->p)) {
        err_set(rc, "URI '%s' has an attribute csign does not know; refusing to guess", shown);
        goto out;
    }
    if (p11_kit_uri_get_module_name(u->p) != NULL) {
        err_set(rc, "URI '%s': module-name is not supported; use module-path or --module", shown);
        goto out;
    }
    *out = u;
    u = NULL;
    rc = CSIGN_OK;
out:
    free(shown);
    hsm_uri_free(u);
    return rc;
}

void hsm_uri_free(hsm_uri *uri)
{
    if (uri == NULL)
        return;
    if (uri->p != NULL)
        p11_kit_uri_free(uri->p);
    free(uri->text);
    free(uri);
}

const char *hsm_uri_module_path(const hsm_uri *uri)
{
    return uri ? p11_kit_uri_get_module_path(uri->p) : NULL;
}

const char *hsm_uri_pin_source(const hsm_uri *uri)
{
    return uri ? p11_kit_uri_get_pin_source(uri->p) : NULL;
}

char *hsm_uri_object_label(const hsm_uri *uri, size_t *len)
{
    CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri->p, CKA_LABEL);
    char *s;

    *len = 0;
    if (a == NULL)
        return NULL;
    *len = a->ulValueLen;
    s = malloc(a->ulValueLen + 1);
    if (s != NULL) {
        memcpy(s, a->pValue, a->ulValueLen);
        s[a->ulValueLen] = '\0';
    }
    return s;
}

const unsigned char *hsm_uri_object_id(const hsm_uri *uri, size_t *len)
{
    CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri->p, CKA_ID);

    *len = a ? a->ulValueLen : 0;
    return a && a->ulValueLen ? a->pValue : NULL;
}

bool hsm_uri_names_object(const hsm_uri *uri)
{
    P11KitUri *p = uri->p;
    return p11_kit_uri_get_attribute(p, CKA_LABEL) != NULL ||
           p11_kit_uri_get_attribute(p, CKA_ID) != NULL ||
           p11_kit_uri_get_attribute(p, CKA_CLASS) != NULL;
}

bool hsm_uri_match_token(const hsm_uri *uri, const CK_TOKEN_INFO *ti, CK_SLOT_ID slot,
                         const CK_SLOT_INFO *si)
{
    if (uri == NULL)
        return true;
    CK_SLOT_ID want = p11_kit_uri_get_slot_id(uri->p);
    if (want != (CK_SLOT_ID)-1 && want != slot)
        return false;
    return p11_kit_uri_match_token_info(uri->p, ti) && p11_kit_uri_match_slot_info(uri->p, si);
}

static bool attr_equals(const CK_ATTRIBUTE *a, const void *v, size_t n)
{
    return a->ulValueLen == n && (n == 0 || memcmp(a->pValue, v, n) == 0);
}

void hsm_uri_names(const hsm_uri *uri, const CK_ATTRIBUTE **label, const CK_ATTRIBUTE **id)
{
    *label = uri ? p11_kit_uri_get_attribute(uri->p, CKA_LABEL) : NULL;
    *id = uri ? p11_kit_uri_get_attribute(uri->p, CKA_ID) : NULL;
}

bool hsm_uri_match_object(const hsm_uri *uri, CK_OBJECT_CLASS cls, const char *label,
                          const unsigned char *id, size_t id_len)
{
    if (uri == NULL)
        return true;
    CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri->p, CKA_CLASS);
    if (a != NULL && cls != (CK_OBJECT_CLASS)-1 && !attr_equals(a, &cls, sizeof(cls)))
        return false;
    a = p11_kit_uri_get_attribute(uri->p, CKA_LABEL);
    if (a != NULL && !attr_equals(a, label, strlen(label)))
        return false;
    a = p11_kit_uri_get_attribute(uri->p, CKA_ID);
    if (a != NULL && !attr_equals(a, id, id_len))
        return false;
    return true;
}

/* Sets a blank-padded PKCS#11 string field. */
static void pad(CK_UTF8CHAR *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    memset(dst, ' ', n);
    memcpy(dst, src, len < n ? len : n);
}

char *hsm_format_uri(const hsm_token *tok, CK_OBJECT_CLASS cls, const char *label,
                     const unsigned char *id, size_t id_len)
{
    P11KitUri *p = p11_kit_uri_new();
    char *s = NULL;
    char *copy = NULL;
    P11KitUriType type = P11_KIT_URI_FOR_TOKEN;

    if (p == NULL)
        return NULL;
    CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(p);
    pad(ti->label, tok->label, sizeof(ti->label));
    if (tok->serial[0] != '\0')
        pad(ti->serialNumber, tok->serial, sizeof(ti->serialNumber));
    if (cls != (CK_OBJECT_CLASS)-1) {
        CK_ATTRIBUTE attrs[3] = {
            {CKA_CLASS, &cls, sizeof(cls)},
            {CKA_LABEL, (void *)label, strlen(label)},
            {CKA_ID, (void *)id, id_len},
        };
        CK_ULONG n = 1;
        if (label[0] != '\0')
            attrs[n++] = attrs[1];
        if (id_len > 0)
            attrs[n++] = attrs[2];
        p11_kit_uri_set_attributes(p, attrs, n);
        type = P11_KIT_URI_FOR_OBJECT_ON_TOKEN;
    }
    if (p11_kit_uri_format(p, type, &s) == P11_KIT_URI_OK) {
        copy = strdup(s);
        free(s);
    }
    p11_kit_uri_free(p);
    return copy;
}
