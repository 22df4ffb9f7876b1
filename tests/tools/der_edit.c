/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test tool: edits a DER file element by element, for signatures that are
 * well-formed DER but say what a good one must not (a SignedData version
 * 99, rsaEncryption over an ECDSA value, ...). Lengths are recomputed;
 * what is not edited keeps its bytes.
 *
 *   der_edit IN OUT [OP...]
 *
 * With no OP, OUT is IN encoded again (the same bytes, for DER). OP is one
 * of
 *   set PATH HEX   replace the element at PATH with HEX (a whole TLV)
 *   add PATH HEX   add HEX to the constructed element at PATH and sort its
 *                  elements as DER sorts a SET OF
 *   ins PATH HEX   insert HEX before the element at PATH (its last index
 *                  may be the number of elements: append)
 *   del PATH       remove the element at PATH
 * PATH is the indexes of the elements from the outermost one, separated by
 * dots ("1.0.0": the ContentInfo's [0], its SignedData, its version); a
 * negative index counts from the end (-1: the last). "-" is the outermost
 * element itself.
 *
 * Only low tag numbers (below 31) and definite lengths are handled, which
 * is all CMS needs. Exit status 0, or 2 with a reason.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    unsigned char id;
    const unsigned char *data; /* primitive content */
    size_t len;
    struct node **kids; /* constructed content */
    size_t n;
} node;

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "der_edit: %s\n", what);
    exit(2);
}

/* Everything the tree holds, freed at the end (so that LeakSanitizer
 * stays quiet in sanitizer builds). */
static void **arena;
static size_t narena;

static void *xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    void **a = realloc(arena, (narena + 1) * sizeof(*a));
    if (p == NULL || a == NULL)
        die("out of memory");
    arena = a;
    arena[narena++] = p;
    return p;
}

static void push(node *parent, size_t at, node *kid)
{
    node **k = xalloc((parent->n + 1) * sizeof(*k));
    for (size_t i = 0; i < parent->n; i++)
        k[i < at ? i : i + 1] = parent->kids[i];
    k[at] = kid;
    parent->kids = k;
    parent->n++;
}

/* One element from *p (at most end); advances *p. */
static node *parse(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *q = *p;
    node *e = xalloc(sizeof(*e));
    size_t len;

    if (end - q < 2 || (q[0] & 0x1f) == 0x1f)
        die("not DER (or a high tag number)");
    e->id = *q++;
    len = *q++;
    if (len & 0x80) {
        size_t k = len & 0x7f;
        if (k == 0 || k > 4 || (size_t)(end - q) < k)
            die("indefinite or oversized length");
        for (len = 0; k > 0; k--)
            len = (len << 8) | *q++;
    }
    if ((size_t)(end - q) < len)
        die("truncated element");
    if (e->id & 0x20) {
        const unsigned char *c = q;
        while (c < q + len)
            push(e, e->n, parse(&c, q + len));
    } else {
        e->data = q;
        e->len = len;
    }
    *p = q + len;
    return e;
}

/* The encoding of e into out (when not NULL); returns its size. */
static size_t encode(const node *e, unsigned char *out)
{
    size_t len = e->len, hdr = 2;

    if (e->id & 0x20) {
        len = 0;
        for (size_t i = 0; i < e->n; i++)
            len += encode(e->kids[i], NULL);
    }
    for (size_t l = len; len >= 0x80 && l > 0; l >>= 8)
        hdr++;
    if (out == NULL)
        return hdr + len;
    *out++ = e->id;
    if (len < 0x80) {
        *out++ = (unsigned char)len;
    } else {
        *out++ = (unsigned char)(0x80 | (hdr - 2));
        for (size_t i = hdr - 2; i > 0; i--)
            *out++ = (unsigned char)(len >> (8 * (i - 1)));
    }
    if (e->id & 0x20) {
        for (size_t i = 0; i < e->n; i++)
            out += encode(e->kids[i], out);
    } else {
        memcpy(out, e->data, len);
    }
    return hdr + len;
}

/* Freed by the caller. */
static unsigned char *encoded(const node *e, size_t *len)
{
    *len = encode(e, NULL);
    unsigned char *der = malloc(*len);
    if (der == NULL)
        die("out of memory");
    encode(e, der);
    return der;
}

/* DER orders a SET OF by the elements' encodings, a shorter one first
 * when it is a prefix of a longer one. */
static int cmp(const void *a, const void *b)
{
    size_t la, lb;
    unsigned char *da = encoded(*(node *const *)a, &la), *db = encoded(*(node *const *)b, &lb);
    int r = memcmp(da, db, la < lb ? la : lb);
    free(da);
    free(db);
    return r != 0 ? r : (la > lb) - (la < lb);
}

static node *from_hex(const char *hex)
{
    size_t n = strlen(hex) / 2;
    unsigned char *der = xalloc(n);
    const unsigned char *p = der;

    if (strlen(hex) % 2 != 0)
        die("odd number of hex digits");
    for (size_t i = 0; i < n; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &der[i]) != 1)
            die("not hex");
    node *e = parse(&p, der + n);
    if (p != der + n)
        die("HEX is more than one element");
    return e; /* der stays in the arena: the node points into it */
}

/* Follows path; *parent and *at name the last step (parent NULL: root). */
static node *walk(node *root, const char *path, node **parent, size_t *at, bool may_append)
{
    node *e = root;
    char *copy = strdup(path), *save = NULL;

    *parent = NULL;
    if (strcmp(path, "-") == 0) {
        free(copy);
        return root;
    }
    for (char *step = strtok_r(copy, ".", &save); step != NULL; step = strtok_r(NULL, ".", &save)) {
        long i = strtol(step, NULL, 10);
        if (e == NULL || !(e->id & 0x20))
            die("PATH goes into a primitive element");
        if (i < 0)
            i += (long)e->n;
        bool last = save == NULL || *save == '\0';
        if (i < 0 || (size_t)i > e->n || ((size_t)i == e->n && !(last && may_append)))
            die("PATH has no such element");
        *parent = e;
        *at = (size_t)i;
        e = (size_t)i < e->n ? e->kids[i] : NULL;
    }
    free(copy);
    return e;
}

int main(int argc, char **argv)
{
    static unsigned char in[1 << 20];
    size_t len;
    FILE *f;

    if (argc < 3)
        die("usage: der_edit IN OUT [OP...] (see the comment at the top)");
    if ((f = fopen(argv[1], "rb")) == NULL)
        die("cannot open IN");
    len = fread(in, 1, sizeof(in), f);
    fclose(f);
    const unsigned char *p = in;
    node *root = parse(&p, in + len), *parent;
    size_t at = 0;
    if (p != in + len)
        die("IN has data after its first element");

    for (int i = 3; i < argc;) {
        const char *op = argv[i];
        if (i + 1 >= argc || (strcmp(op, "del") != 0 && i + 2 >= argc))
            die("OP lacks an argument");
        if (strcmp(op, "set") == 0) {
            node *e = walk(root, argv[i + 1], &parent, &at, false);
            (void)e;
            if (parent == NULL)
                root = from_hex(argv[i + 2]);
            else
                parent->kids[at] = from_hex(argv[i + 2]);
        } else if (strcmp(op, "add") == 0) {
            node *e = walk(root, argv[i + 1], &parent, &at, false);
            if (!(e->id & 0x20))
                die("add: not a constructed element");
            push(e, e->n, from_hex(argv[i + 2]));
            qsort(e->kids, e->n, sizeof(*e->kids), cmp);
        } else if (strcmp(op, "ins") == 0) {
            walk(root, argv[i + 1], &parent, &at, true);
            if (parent == NULL)
                die("ins: PATH is the outermost element");
            push(parent, at, from_hex(argv[i + 2]));
        } else if (strcmp(op, "del") == 0) {
            walk(root, argv[i + 1], &parent, &at, false);
            if (parent == NULL)
                die("del: PATH is the outermost element");
            memmove(parent->kids + at, parent->kids + at + 1,
                    (parent->n - at - 1) * sizeof(*parent->kids));
            parent->n--;
        } else {
            die("unknown OP");
        }
        i += strcmp(op, "del") == 0 ? 2 : 3;
    }

    unsigned char *out = encoded(root, &len);
    if ((f = fopen(argv[2], "wb")) == NULL || fwrite(out, 1, len, f) != len || fclose(f) != 0)
        die("cannot write OUT");
    free(out);
    for (size_t i = 0; i < narena; i++)
        free(arena[i]);
    free(arena);
    return 0;
}
