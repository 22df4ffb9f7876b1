/* SPDX-License-Identifier: Apache-2.0 */
/* One token as csign describes it (hsm_token): made from what the module
 * says, copied, cleared. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *hsm_pin_state_name(hsm_pin_state s)
{
    switch (s) {
    case HSM_PIN_OK:
        return "ok";
    case HSM_PIN_NOT_SET:
        return "not set";
    case HSM_PIN_COUNT_LOW:
        return "count low";
    case HSM_PIN_FINAL_TRY:
        return "final try";
    case HSM_PIN_LOCKED:
        return "locked";
    case HSM_PIN_TO_BE_CHANGED:
        return "to be changed";
    }
    return "unknown";
}

static hsm_pin_state pin_state(CK_FLAGS f)
{
    if (!(f & CKF_USER_PIN_INITIALIZED))
        return HSM_PIN_NOT_SET;
    if (f & CKF_USER_PIN_LOCKED)
        return HSM_PIN_LOCKED;
    if (f & CKF_USER_PIN_FINAL_TRY)
        return HSM_PIN_FINAL_TRY;
    if (f & CKF_USER_PIN_COUNT_LOW)
        return HSM_PIN_COUNT_LOW;
    if (f & CKF_USER_PIN_TO_BE_CHANGED)
        return HSM_PIN_TO_BE_CHANGED;
    return HSM_PIN_OK;
}

csign_rc hsm_token_fill(CK_SLOT_ID slot, const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti,
                        hsm_token *t)
{
    memset(t, 0, sizeof(*t));
    t->slot_id = slot;
    hsm_unpad(t->label, ti->label, sizeof(ti->label));
    hsm_unpad(t->manufacturer, ti->manufacturerID, sizeof(ti->manufacturerID));
    hsm_unpad(t->model, ti->model, sizeof(ti->model));
    hsm_unpad(t->serial, ti->serialNumber, sizeof(ti->serialNumber));
    hsm_unpad(t->slot_description, si->slotDescription, sizeof(si->slotDescription));
    t->initialized = (ti->flags & CKF_TOKEN_INITIALIZED) != 0;
    t->hardware = (si->flags & CKF_HW_SLOT) != 0;
    t->removable = (si->flags & CKF_REMOVABLE_DEVICE) != 0;
    t->login_required = (ti->flags & CKF_LOGIN_REQUIRED) != 0;
    t->pin_pad = (ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
    t->write_protected = (ti->flags & CKF_WRITE_PROTECTED) != 0;
    t->pin_state = pin_state(ti->flags);
    t->so_pin_locked = (ti->flags & CKF_SO_PIN_LOCKED) != 0;
    t->so_pin_final_try = (ti->flags & CKF_SO_PIN_FINAL_TRY) != 0;
    t->min_pin = ti->ulMinPinLen;
    t->max_pin = ti->ulMaxPinLen;
    t->uri = hsm_format_uri(t, (CK_OBJECT_CLASS)-1, NULL, NULL, 0);
    return t->uri ? CSIGN_OK : err_oom();
}

csign_rc hsm_token_copy(const hsm_token *src, hsm_token *dst)
{
    *dst = *src;
    dst->uri = strdup(src->uri ? src->uri : "");
    return dst->uri ? CSIGN_OK : err_oom();
}

void hsm_token_clear(hsm_token *t)
{
    free(t->uri);
    memset(t, 0, sizeof(*t));
}

void hsm_tokens_free(hsm_token *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].uri);
    free(t);
}
