/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input is a PIN source as --pin-source and a URI's pin-source take it.
 * Only the parse: no variable, file, descriptor or terminal is read.
 */
#include "fuzz.h"

#include "sys/pin.h"

/* What a parsed source must be: a known kind, a name inside the spec, a
 * descriptor that is not standard output or error. */
static void check(const char *spec, const pin_source *src)
{
    switch (src->kind) {
    case PIN_SRC_ENV:
    case PIN_SRC_FILE:
        FUZZ_CHECK(src->name > spec && src->name < spec + strlen(spec));
        break;
    case PIN_SRC_FD:
        FUZZ_CHECK(src->fd >= 0 && src->fd != 1 && src->fd != 2);
        break;
    case PIN_SRC_PROMPT:
        FUZZ_CHECK(strcmp(spec, "prompt") == 0);
        break;
    default:
        FUZZ_CHECK(!"a known kind");
    }
    FUZZ_CHECK(pin_source_describe(src)[0] != '\0');
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = fuzz_string(data, size);
    pin_source src;

    if (spec == NULL)
        return 0;
    if (pin_source_parse(spec, &src) == CSIGN_OK)
        check(spec, &src);
    /* As a URI's pin-source (no option given): the same parser behind the
     * refusal of "|command". With a source given, no variable is looked at. */
    if (pin_source_resolve(NULL, spec, "CSIGN_PIN", false, "PIN", "--pin-source", &src) == CSIGN_OK)
        check(spec, &src);
    free(spec);
    return 0;
}
