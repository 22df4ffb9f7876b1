/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test tool, independent of csign's code: asks a PKCS#11 module directly
 * for one attribute of a private key, to show that secret values cannot be
 * read. Usage: p11probe MODULE PIN LABEL ATTRIBUTE-HEX
 * Prints the CK_RV name-or-number of C_GetAttributeValue and, on success,
 * the value's length. Exit 0 when the call was made, 1 on set-up errors.
 * The PIN comes from the command line: test tokens only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    CK_C_GetFunctionList get = NULL;
    CK_FUNCTION_LIST_PTR f = NULL;
    CK_SLOT_ID slots[16];
    CK_ULONG nslots = 16, found = 0;
    CK_SESSION_HANDLE s;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_OBJECT_HANDLE o;
    void *dl;

    if (argc != 5) {
        fprintf(stderr, "usage: p11probe MODULE PIN LABEL ATTRIBUTE-HEX\n");
        return 1;
    }
    dl = dlopen(argv[1], RTLD_NOW);
    if (dl == NULL)
        return 1;
    *(void **)(&get) = dlsym(dl, "C_GetFunctionList");
    if (get == NULL || get(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK ||
        f->C_GetSlotList(CK_TRUE, slots, &nslots) != CKR_OK || nslots == 0 ||
        f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK ||
        f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[2], strlen(argv[2])) != CKR_OK) {
        fprintf(stderr, "p11probe: cannot open the token\n");
        return 1;
    }
    CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, argv[3], strlen(argv[3])}};
    if (f->C_FindObjectsInit(s, t, 2) != CKR_OK || f->C_FindObjects(s, &o, 1, &found) != CKR_OK ||
        found != 1) {
        fprintf(stderr, "p11probe: no private key '%s'\n", argv[3]);
        return 1;
    }
    f->C_FindObjectsFinal(s);
    unsigned char buf[8192];
    CK_ATTRIBUTE a = {strtoul(argv[4], NULL, 16), buf, sizeof(buf)};
    CK_RV rv = f->C_GetAttributeValue(s, o, &a, 1);
    if (rv == CKR_ATTRIBUTE_SENSITIVE)
        printf("CKR_ATTRIBUTE_SENSITIVE\n");
    else if (rv == CKR_OK)
        printf("CKR_OK %lu\n", (unsigned long)a.ulValueLen);
    else
        printf("0x%lx\n", (unsigned long)rv);
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    return 0;
}
