/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <libp11.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Token-backed EVP_PKEYs from libp11. libp11 loads the same module file,
 * which is already initialised: it gets CKR_CRYPTOKI_ALREADY_INITIALIZED
 * and shares csign's login (login state belongs to the application, not to
 * a session). Its context is never unloaded, since unloading would
 * finalise the module under csign's own session.
 */

typedef struct {
    PKCS11_CTX *ctx;
    PKCS11_SLOT *slots;
    unsigned int nslots;
} p11_state;

void hsm_p11_release(hsm *h)
{
    p11_state *st = h->p11;

    if (st == NULL)
        return;
    if (st->slots != NULL && st->ctx != NULL)
        PKCS11_release_all_slots(st->ctx, st->slots, st->nslots);
    if (st->ctx != NULL)
        PKCS11_CTX_free(st->ctx);
    free(st);
    h->p11 = NULL;
}

static csign_rc p11_load(hsm *h, p11_state **out)
{
    p11_state *st;
    csign_rc rc = CSIGN_OK;

    if (h->p11 != NULL) {
        *out = h->p11;
        return CSIGN_OK;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL || (st->ctx = PKCS11_CTX_new()) == NULL)
        rc = err_oom();
    else if (PKCS11_CTX_load(st->ctx, h->path) != 0)
        rc = err_set_ssl(CSIGN_ETOKEN, "libp11 cannot load module '%s'", h->path);
    else if (PKCS11_enumerate_slots(st->ctx, &st->slots, &st->nslots) != 0)
        rc = err_set_ssl(CSIGN_ETOKEN, "libp11 cannot list the slots of '%s'", h->path);
    h->p11 = st;
    if (rc != CSIGN_OK) {
        hsm_p11_release(h);
        return rc;
    }
    *out = st;
    return CSIGN_OK;
}

csign_rc hsm_key_private(hsm *h, const hsm_key *k, EVP_PKEY **out)
{
    p11_state *st = NULL;
    PKCS11_KEY *keys = NULL;
    unsigned int nkeys = 0;
    csign_rc rc = p11_load(h, &st);

    *out = NULL;
    if (rc != CSIGN_OK)
        return rc;
    for (unsigned int i = 0; i < st->nslots; i++) {
        PKCS11_SLOT *slot = &st->slots[i];
        if (slot->token == NULL || PKCS11_get_slotid_from_slot(slot) != h->token.slot_id)
            continue;
        if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0)
            return err_set_ssl(CSIGN_ETOKEN, "libp11 cannot list the keys of token '%s'",
                               h->token.label);
        for (unsigned int j = 0; j < nkeys; j++) {
            PKCS11_KEY *key = &keys[j];
            if (!key->isPrivate || key->id_len != k->id_len ||
                memcmp(key->id, k->id, k->id_len) != 0 ||
                strcmp(key->label ? key->label : "", k->label) != 0)
                continue;
            *out = PKCS11_get_private_key(key);
            if (*out == NULL)
                return err_set_ssl(CSIGN_ETOKEN, "libp11 cannot use key '%s'", k->label);
            return CSIGN_OK;
        }
    }
    return err_set(CSIGN_ETOKEN, "libp11 does not see key '%s' on token '%s'", k->label,
                   h->token.label);
}
