/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz.h"

#include <limits.h>
#include <stdio.h>

#include "core/cert.h"
#include "sys/err.h"
#include "sys/io.h"

#ifndef CSIGN_FUZZ_DATA
#error "CSIGN_FUZZ_DATA must name the folder of the test PKI"
#endif

static void die(const char *name)
{
    fprintf(stderr, "fuzz: cannot load %s: %s\n", fuzz_path(name), err_msg());
    abort();
}

const char *fuzz_path(const char *name)
{
    static char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", CSIGN_FUZZ_DATA, name);
    return path;
}

X509_STORE *fuzz_store(const char *name)
{
    STACK_OF(X509) *certs = NULL;
    X509_STORE *store = X509_STORE_new();

    if (store == NULL || cert_read_file(fuzz_path(name), &certs) != CSIGN_OK)
        die(name);
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (X509_STORE_add_cert(store, sk_X509_value(certs, i)) != 1)
            die(name);
    sk_X509_pop_free(certs, X509_free);
    return store;
}

STACK_OF(X509_CRL) * fuzz_crls(const char *name)
{
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();

    if (crls == NULL || cert_read_crls(fuzz_path(name), crls) != CSIGN_OK)
        die(name);
    return crls;
}

unsigned char *fuzz_file(const char *name, size_t *len)
{
    unsigned char *data = NULL;

    if (io_read_file(fuzz_path(name), 1 << 20, &data, len) != CSIGN_OK)
        die(name);
    return data;
}
