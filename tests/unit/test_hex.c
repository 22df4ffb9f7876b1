/* SPDX-License-Identifier: Apache-2.0 */
/* The one hex decoder that DNs, manifests and options share. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "sys/hex.h"

static void test_digits(void **state)
{
    (void)state;
    const char *all = "0123456789abcdefABCDEF";
    const int want[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                        11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15};
    for (size_t i = 0; i < strlen(all); i++)
        assert_int_equal(hex_digit(all[i]), want[i]);
    for (const char *p = "gG:/@`x \n"; *p; p++)
        assert_int_equal(hex_digit(*p), -1);
    assert_int_equal(hex_digit('\0'), -1);
}

static void test_decode(void **state)
{
    unsigned char out[4] = {0};
    (void)state;

    assert_true(hex_decode("00fF7a", 3, out));
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(out[2], 0x7a);
    assert_true(hex_decode("", 0, out));
    assert_false(hex_decode("0g", 1, out));
    assert_false(hex_decode("g0", 1, out));
    /* Odd length or shorter than asked: stops at the NUL. */
    assert_false(hex_decode("abc", 2, out));
    assert_false(hex_decode("a", 1, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
