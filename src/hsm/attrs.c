/* SPDX-License-Identifier: Apache-2.0 */
/* Reading attributes and finding objects. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"

CK_RV hsm_get_attr(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, unsigned char **val,
                   size_t *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv = h->f->C_GetAttributeValue(h->session, o, &a, 1);

    *val = NULL;
    *len = 0;
    hsm_note_read(h, rv);
    if (rv != CKR_OK)
        return rv;
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return CKR_ATTRIBUTE_SENSITIVE;
    a.pValue = calloc(1, a.ulValueLen + 1);
    if (a.pValue == NULL)
        return CKR_HOST_MEMORY;
    rv = h->f->C_GetAttributeValue(h->session, o, &a, 1);
    hsm_note_read(h, rv);
    if (rv != CKR_OK) {
        free(a.pValue);
        return rv;
    }
    *val = a.pValue;
    *len = a.ulValueLen;
    return CKR_OK;
}

hsm_bool hsm_get_bool(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};

    if (h->f->C_GetAttributeValue(h->session, o, &a, 1) != CKR_OK || a.ulValueLen != sizeof(v))
        return HSM_UNKNOWN;
    return v ? HSM_YES : HSM_NO;
}

CK_ULONG hsm_get_ulong(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt)
{
    CK_ULONG v = 0;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};

    if (h->f->C_GetAttributeValue(h->session, o, &a, 1) != CKR_OK || a.ulValueLen != sizeof(v))
        return dflt;
    return v;
}

void hsm_get_fixed(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, size_t n)
{
    CK_ULONG want[8] = {0};

    if (n > 8) {
        for (size_t i = 8; i < n; i++)
            t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION; /* more than a batch holds */
        n = 8;
    }
    for (size_t i = 0; i < n; i++)
        want[i] = t[i].ulValueLen;
    bool batch = h->f->C_GetAttributeValue(h->session, o, t, n) == CKR_OK;
    for (size_t i = 0; i < n; i++) {
        if (!batch) {
            t[i].ulValueLen = want[i];
            if (h->f->C_GetAttributeValue(h->session, o, &t[i], 1) != CKR_OK)
                t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
        }
        if (t[i].ulValueLen != want[i])
            t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
    }
}

void hsm_get_attrs(hsm *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, size_t n)
{
    CK_ATTRIBUTE copy[8] = {{0}};
    bool batch = n <= 8;

    for (size_t i = 0; i < n; i++) {
        t[i].pValue = NULL;
        t[i].ulValueLen = 0;
    }
    /* Lengths, then values; any trouble and each goes on its own. */
    if (batch && h->f->C_GetAttributeValue(h->session, o, t, n) != CKR_OK)
        batch = false;
    for (size_t i = 0; batch && i < n; i++) {
        if (t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION ||
            (t[i].pValue = calloc(1, t[i].ulValueLen + 1)) == NULL)
            batch = false;
        copy[i] = t[i];
    }
    if (batch && h->f->C_GetAttributeValue(h->session, o, t, n) != CKR_OK)
        batch = false;
    for (size_t i = 0; batch && i < n; i++)
        if (t[i].ulValueLen != copy[i].ulValueLen)
            batch = false;
    if (batch)
        return;
    for (size_t i = 0; i < n; i++) {
        free(t[i].pValue);
        unsigned char *v = NULL;
        size_t len = 0;
        if (hsm_get_attr(h, o, t[i].type, &v, &len) != CKR_OK)
            len = 0;
        t[i].pValue = v;
        t[i].ulValueLen = len;
    }
}

/* All objects of one class in the session; *objs is malloc'd. */
csign_rc hsm_find_all(hsm *h, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE **objs, size_t *n)
{
    return hsm_find_named(h, cls, NULL, NULL, objs, n);
}

csign_rc hsm_find_named(hsm *h, CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *label,
                        const CK_ATTRIBUTE *id, CK_OBJECT_HANDLE **objs, size_t *n)
{
    CK_ATTRIBUTE tmpl[3] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_ULONG ntmpl = 1;
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG got = 0;
    size_t count = 0;
    CK_OBJECT_HANDLE *list = NULL;

    if (label != NULL)
        tmpl[ntmpl++] = *label;
    if (id != NULL)
        tmpl[ntmpl++] = *id;
    CK_RV rv = h->f->C_FindObjectsInit(h->session, tmpl, ntmpl);

    if (rv != CKR_OK)
        return hsm_fail(h, "C_FindObjectsInit", rv);
    for (;;) {
        rv = h->f->C_FindObjects(h->session, batch, 64, &got);
        if (rv != CKR_OK || got == 0)
            break;
        CK_OBJECT_HANDLE *p = realloc(list, (count + got) * sizeof(*list));
        if (p == NULL) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        list = p;
        memcpy(list + count, batch, got * sizeof(*list));
        count += got;
    }
    (void)h->f->C_FindObjectsFinal(h->session);
    if (rv != CKR_OK) {
        free(list);
        return rv == CKR_HOST_MEMORY ? err_oom() : hsm_fail(h, "C_FindObjects", rv);
    }
    *objs = list;
    *n = count;
    return CSIGN_OK;
}
