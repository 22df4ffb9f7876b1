/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define R(x)                                                                                       \
    {                                                                                              \
        x, #x                                                                                      \
    }

static const struct {
    CK_RV rv;
    const char *name;
} names[] = {
    R(CKR_OK),
    R(CKR_CANCEL),
    R(CKR_HOST_MEMORY),
    R(CKR_SLOT_ID_INVALID),
    R(CKR_GENERAL_ERROR),
    R(CKR_FUNCTION_FAILED),
    R(CKR_ARGUMENTS_BAD),
    R(CKR_ATTRIBUTE_READ_ONLY),
    R(CKR_ATTRIBUTE_SENSITIVE),
    R(CKR_ATTRIBUTE_TYPE_INVALID),
    R(CKR_ATTRIBUTE_VALUE_INVALID),
    R(CKR_DATA_INVALID),
    R(CKR_DATA_LEN_RANGE),
    R(CKR_DEVICE_ERROR),
    R(CKR_DEVICE_MEMORY),
    R(CKR_DEVICE_REMOVED),
    R(CKR_FUNCTION_CANCELED),
    R(CKR_FUNCTION_NOT_SUPPORTED),
    R(CKR_KEY_HANDLE_INVALID),
    R(CKR_KEY_SIZE_RANGE),
    R(CKR_KEY_TYPE_INCONSISTENT),
    R(CKR_KEY_FUNCTION_NOT_PERMITTED),
    R(CKR_MECHANISM_INVALID),
    R(CKR_MECHANISM_PARAM_INVALID),
    R(CKR_OBJECT_HANDLE_INVALID),
    R(CKR_OPERATION_ACTIVE),
    R(CKR_OPERATION_NOT_INITIALIZED),
    R(CKR_PIN_INCORRECT),
    R(CKR_PIN_INVALID),
    R(CKR_PIN_LEN_RANGE),
    R(CKR_PIN_EXPIRED),
    R(CKR_PIN_LOCKED),
    R(CKR_SESSION_CLOSED),
    R(CKR_SESSION_COUNT),
    R(CKR_SESSION_HANDLE_INVALID),
    R(CKR_SESSION_READ_ONLY),
    R(CKR_SESSION_EXISTS),
    R(CKR_SESSION_READ_ONLY_EXISTS),
    R(CKR_SESSION_READ_WRITE_SO_EXISTS),
    R(CKR_SIGNATURE_INVALID),
    R(CKR_SIGNATURE_LEN_RANGE),
    R(CKR_TEMPLATE_INCOMPLETE),
    R(CKR_TEMPLATE_INCONSISTENT),
    R(CKR_TOKEN_NOT_PRESENT),
    R(CKR_TOKEN_NOT_RECOGNIZED),
    R(CKR_TOKEN_WRITE_PROTECTED),
    R(CKR_USER_ALREADY_LOGGED_IN),
    R(CKR_USER_NOT_LOGGED_IN),
    R(CKR_USER_PIN_NOT_INITIALIZED),
    R(CKR_USER_TYPE_INVALID),
    R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    R(CKR_USER_TOO_MANY_TYPES),
    R(CKR_BUFFER_TOO_SMALL),
    R(CKR_CRYPTOKI_NOT_INITIALIZED),
    R(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    R(CKR_DOMAIN_PARAMS_INVALID),
    R(CKR_CURVE_NOT_SUPPORTED),
};

const char *hsm_ckr_name(CK_RV rv)
{
    static _Thread_local char buf[32];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].rv == rv)
            return names[i].name;
    snprintf(buf, sizeof(buf), "CKR_0x%lX", (unsigned long)rv);
    return buf;
}

void hsm_unpad(char *dst, const CK_UTF8CHAR *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
        dst[--n] = '\0';
}
