/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm_watch.h"
#include "internal.h"

/*
 * Loading and unloading a module. Tokens are found in tokens.c, sessions
 * and logins are in login.c, objects in attrs.c and objects.c, token
 * set-up in init.c.
 *
 * Everything goes straight through the module's function list. libp11's
 * PKCS11_login() keeps a copy of the PIN for as long as the slot lives (to
 * log in again after fork), while csign wipes the PIN right after its one
 * C_Login; signkey.c says why keys do not come from libp11 either.
 */

csign_rc hsm_open(const char *path, hsm **out)
{
    CK_C_GetFunctionList get_list = NULL;
    CK_C_INITIALIZE_ARGS args;
    CK_INFO info;
    CK_RV rv;
    csign_rc rc = CSIGN_ETOKEN;
    bool wrapped = false;
    int ticket;
    hsm *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return err_oom();
    h->path = strdup(path);
    if (h->path == NULL) {
        free(h);
        return err_oom();
    }
    /* Every call from here on is bounded (watch.c), loading included. */
    if ((rc = hsm_watch_attach(path)) != CSIGN_OK) {
        free(h->path);
        free(h);
        return rc;
    }
    rc = CSIGN_ETOKEN;
    ticket = hsm_watch_begin("dlopen", HSM_CALL_PLAIN, 0);
    /* The module is never dlclose()d: many modules leave threads or exit
     * handlers behind, and unloading them under those crashes at exit. */
    h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    hsm_watch_end(ticket);
    if (h->dl == NULL) {
        const char *why = dlerror();
        err_set(CSIGN_ETOKEN, "cannot load PKCS#11 module '%s': %s", path,
                why ? why : "unknown error");
        goto fail;
    }
    *(void **)(&get_list) = dlsym(h->dl, "C_GetFunctionList");
    if (get_list == NULL) {
        err_set(CSIGN_ETOKEN, "'%s' is not a PKCS#11 module (it has no C_GetFunctionList)", path);
        goto fail;
    }
    ticket = hsm_watch_begin("C_GetFunctionList", HSM_CALL_PLAIN, 0);
    rv = get_list(&h->f);
    hsm_watch_end(ticket);
    if (rv != CKR_OK || h->f == NULL) {
        err_set(CSIGN_ETOKEN, "PKCS#11 module '%s': C_GetFunctionList failed: %s", path,
                hsm_ckr_name(rv));
        goto fail;
    }
    if ((rc = hsm_proxy_wrap(h->f, &h->f)) != CSIGN_OK)
        goto fail;
    wrapped = true;
    rc = CSIGN_ETOKEN;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = h->f->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        h->finalize = false; /* someone else in this process owns it */
    } else if (rv != CKR_OK && hsm_module_remote(h)) {
        /* p11-kit's client starts its transport command in C_Initialize
         * and fails with CKR_DEVICE_ERROR when it does not speak. */
        hsm_remote_unreachable(h, rv);
        goto fail;
    } else if (rv != CKR_OK) {
        err_set(CSIGN_ETOKEN, "PKCS#11 module '%s' failed to initialise: C_Initialize failed: %s",
                path, hsm_ckr_name(rv));
        goto fail;
    } else {
        h->finalize = true;
    }
    if (h->f->C_GetInfo(&info) == CKR_OK) {
        hsm_unpad(h->manufacturer, info.manufacturerID, sizeof(info.manufacturerID));
        hsm_unpad(h->description, info.libraryDescription, sizeof(info.libraryDescription));
    }
    /* p11-kit's client with no server behind it initialises, shows no
     * slot and says so only here: that is not an empty module. */
    if (hsm_module_remote(h) && strcmp(h->description, HSM_P11KIT_NO_CONNECTION) == 0) {
        hsm_remote_unreachable(h, CKR_OK);
        if (h->finalize)
            (void)h->f->C_Finalize(NULL);
        goto fail;
    }
    *out = h;
    return CSIGN_OK;
fail:
    if (wrapped)
        hsm_proxy_release();
    hsm_watch_detach();
    free(h->path);
    free(h);
    return rc;
}

void hsm_close(hsm *h)
{
    if (h == NULL)
        return;
    hsm_session_close(h);
    hsm_signkeys_release(h);
    secret_free(h->ctx_pin);
    if (h->finalize)
        (void)h->f->C_Finalize(NULL);
    hsm_proxy_release();
    hsm_watch_detach();
    hsm_token_clear(&h->token);
    free(h->path);
    free(h);
}

const char *hsm_module_manufacturer(const hsm *h)
{
    return h->manufacturer;
}

const char *hsm_module_description(const hsm *h)
{
    return h->description;
}

const char *hsm_module_path(const hsm *h)
{
    return h->path;
}
