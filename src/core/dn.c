/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sys/hex.h"
#include "core/x509gen.h"

/* One attribute type and value, unescaped. */
typedef struct {
    char type[64];
    char *value;
    size_t len;
    bool new_rdn; /* starts a new RDN (false: joins the previous with '+') */
} ava;

/* Attribute type names are case-insensitive (RFC 4512); OpenSSL's are not,
 * and spells some differently. */
static const char *canonical_type(const char *t)
{
    static const struct {
        const char *alias, *name;
    } names[] = {{"CN", "CN"},
                 {"O", "O"},
                 {"OU", "OU"},
                 {"C", "C"},
                 {"L", "L"},
                 {"ST", "ST"},
                 {"DC", "DC"},
                 {"UID", "UID"},
                 {"STREET", "street"},
                 {"TITLE", "title"},
                 {"SERIALNUMBER", "serialNumber"},
                 {"EMAIL", "emailAddress"},
                 {"E", "emailAddress"},
                 {"EMAILADDRESS", "emailAddress"}};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(t, names[i].alias) == 0)
            return names[i].name;
    return t;
}

/*
 * Parses "type=value" at *p up to an unescaped character of stops. The
 * value's escapes are resolved into a->value. Leaves *p at the stop.
 */
static csign_rc parse_ava(const char **p, const char *stops, bool rfc4514, ava *a)
{
    const char *s = *p;
    size_t n = 0, keep = 0;

    while (*s == ' ')
        s++;
    const char *t = s;
    while (*s && *s != '=' && !strchr(stops, *s))
        s++;
    size_t tlen = (size_t)(s - t);
    while (tlen > 0 && t[tlen - 1] == ' ')
        tlen--;
    if (*s != '=' || tlen == 0 || tlen >= sizeof(a->type))
        return err_set(CSIGN_EUSAGE, "malformed DN: expected TYPE=VALUE near '%.20s'", t);
    memcpy(a->type, t, tlen);
    a->type[tlen] = '\0';
    s++;
    while (*s == ' ')
        s++;
    if (rfc4514 && *s == '#')
        return err_set(CSIGN_EUSAGE,
                       "malformed DN: hex-encoded values ('#...') are not "
                       "supported, near '%.20s'",
                       t);
    a->value = malloc(strlen(s) + 1);
    if (a->value == NULL)
        return err_oom();
    while (*s && !strchr(stops, *s)) {
        if (*s == '\\') {
            unsigned char byte;
            if (hex_decode(s + 1, 1, &byte)) {
                a->value[n++] = (char)byte;
                s += 3;
            } else if (s[1] != '\0' && hex_digit(s[1]) < 0 &&
                       strchr(" \"#+,;<=>\\/", s[1]) != NULL) {
                a->value[n++] = s[1];
                s += 2;
            } else {
                return err_set(CSIGN_EUSAGE, "malformed DN: bad escape in '%.20s'", t);
            }
            if (a->value[n - 1] == '\0')
                return err_set(CSIGN_EUSAGE, "malformed DN: a value cannot contain NUL");
            keep = n; /* escaped characters (spaces too) are kept */
            continue;
        }
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return err_set(CSIGN_EUSAGE, "malformed DN: control character in the value of '%s'",
                           a->type);
        a->value[n++] = *s++;
        if (a->value[n - 1] != ' ')
            keep = n;
    }
    a->len = keep; /* unescaped trailing spaces are not part of the value */
    a->value[keep] = '\0';
    if (keep == 0)
        return err_set(CSIGN_EUSAGE, "malformed DN: empty value for '%s'", a->type);
    *p = s;
    return CSIGN_OK;
}

static void free_avas(ava *avas, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(avas[i].value);
    free(avas);
}

/* Splits text into AVAs, in the order written. */
static csign_rc split(const char *text, bool rfc4514, ava **out, size_t *n)
{
    const char *rdn_seps = rfc4514 ? ",;" : "/";
    char stops[8];
    size_t cap = strlen(text) / 2 + 2, count = 0;
    ava *avas = calloc(cap, sizeof(*avas));
    const char *p = rfc4514 ? text : text + 1;
    bool new_rdn = true;
    csign_rc rc = CSIGN_OK;

    if (avas == NULL)
        return err_oom();
    snprintf(stops, sizeof(stops), "%s+", rdn_seps);
    while (rc == CSIGN_OK) {
        if (count == cap) {
            rc = err_set(CSIGN_EUSAGE, "malformed DN: too many parts");
            break;
        }
        rc = parse_ava(&p, stops, rfc4514, &avas[count]);
        avas[count].new_rdn = new_rdn;
        count++;
        if (rc != CSIGN_OK || *p == '\0')
            break;
        new_rdn = *p != '+';
        p++;
        if (!rfc4514 && *p == '\0' && new_rdn)
            break; /* "/CN=x/" */
    }
    if (rc != CSIGN_OK) {
        free_avas(avas, count);
        return rc;
    }
    *out = avas;
    *n = count;
    return CSIGN_OK;
}

static csign_rc add(X509_NAME *name, const ava *a, int set)
{
    const char *type = canonical_type(a->type);

    /* Names OpenSSL knows, or dotted OIDs, registered or not. */
    bool dotted = strspn(type, "0123456789.") == strlen(type);
    ASN1_OBJECT *obj = OBJ_txt2obj(type, dotted);
    csign_rc rc = CSIGN_OK;

    /* OBJ_txt2obj queues an error for names it does not know; that must
     * not show up in a later, unrelated message. */
    ERR_clear_error();
    if (obj == NULL)
        return err_set(CSIGN_EUSAGE, "malformed DN: unknown attribute type '%s'", a->type);
    if (X509_NAME_add_entry_by_OBJ(name, obj, MBSTRING_UTF8, (const unsigned char *)a->value,
                                   (int)a->len, -1, set) != 1)
        rc = err_set_ssl(CSIGN_EUSAGE, "malformed DN: bad value for '%s'", a->type);
    ASN1_OBJECT_free(obj);
    return rc;
}

csign_rc dn_parse(const char *text, X509_NAME **out)
{
    bool rfc4514 = text[0] != '/';
    ava *avas = NULL;
    size_t n = 0;
    X509_NAME *name = NULL;
    csign_rc rc;

    if (text[0] == '\0' || (!rfc4514 && text[1] == '\0'))
        return err_set(CSIGN_EUSAGE, "malformed DN: it is empty");
    rc = split(text, rfc4514, &avas, &n);
    if (rc != CSIGN_OK)
        return rc;
    name = X509_NAME_new();
    if (name == NULL)
        rc = err_oom();
    if (rfc4514) {
        /* RFC 4514 writes the most specific RDN first; the encoding
         * starts with the least specific. Walk RDNs from the end. */
        size_t end = n;
        while (rc == CSIGN_OK && end > 0) {
            size_t start = end - 1;
            while (start > 0 && !avas[start].new_rdn)
                start--;
            for (size_t i = start; rc == CSIGN_OK && i < end; i++)
                rc = add(name, &avas[i], i == start ? 0 : -1);
            end = start;
        }
    } else {
        for (size_t i = 0; rc == CSIGN_OK && i < n; i++)
            rc = add(name, &avas[i], avas[i].new_rdn ? 0 : -1);
    }
    free_avas(avas, n);
    if (rc != CSIGN_OK) {
        X509_NAME_free(name);
        return rc;
    }
    *out = name;
    return CSIGN_OK;
}
