/* SPDX-License-Identifier: Apache-2.0 */
/* The token layer against a real SoftHSM token in a fresh folder per test. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/hsm.h"

static const char *softhsm(void)
{
    static const char *const paths[] = {"/usr/lib/softhsm/libsofthsm2.so",
                                        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", NULL};
    for (const char *const *p = paths; *p; p++)
        if (access(*p, R_OK) == 0)
            return *p;
    return NULL;
}

typedef struct {
    char dir[64];
    hsm *h;
} fixture;

static secret *pin(const char *s)
{
    secret *p = NULL;
    assert_int_equal(secret_new(64, &p), CSIGN_OK);
    assert_int_equal(secret_append(p, s, strlen(s)), CSIGN_OK);
    return p;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char path[128];
    FILE *conf;

    snprintf(f->dir, sizeof(f->dir), "/tmp/csign-hsm.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(path, sizeof(path), "%s/tokens", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/softhsm2.conf", f->dir);
    conf = fopen(path, "w");
    assert_non_null(conf);
    fprintf(conf, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n", f->dir);
    fclose(conf);
    setenv("SOFTHSM2_CONF", path, 1);
    assert_int_equal(hsm_open(softhsm(), &f->h), CSIGN_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    hsm_close(f->h);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void init(fixture *f, const char *label, hsm_token *out)
{
    secret *so = pin("12345678"), *user = pin("1234");
    assert_int_equal(hsm_init_token(f->h, label, so, user, false, false, out), CSIGN_OK);
    secret_free(so);
    secret_free(user);
}

static void test_fresh_store_has_one_uninitialised_token(void **state)
{
    fixture *f = *state;
    hsm_token *t = NULL;
    size_t n = 0;

    assert_int_equal(hsm_tokens(f->h, NULL, &t, &n), CSIGN_OK);
    assert_int_equal(n, 1);
    assert_false(t[0].initialized);
    assert_false(t[0].hardware);
    hsm_tokens_free(t, n);
    hsm_token found;
    assert_int_equal(hsm_token_find(f->h, NULL, &found), CSIGN_ETOKEN);
    assert_non_null(strstr(err_msg(), "no initialised token"));
}

static void test_init_find_login(void **state)
{
    fixture *f = *state;
    hsm_token tok, found;
    hsm_uri *uri = NULL;
    hsm_login_need need;
    bool low = true;

    init(f, "unit", &tok);
    assert_string_equal(tok.label, "unit");
    assert_true(tok.initialized);
    assert_int_equal(tok.pin_state, HSM_PIN_OK);
    assert_non_null(strstr(tok.uri, "token=unit"));

    assert_int_equal(hsm_uri_parse("pkcs11:token=unit", &uri), CSIGN_OK);
    assert_int_equal(hsm_token_find(f->h, uri, &found), CSIGN_OK);
    assert_string_equal(found.serial, tok.serial);
    assert_int_equal(hsm_session_open(f->h, &found, false), CSIGN_OK);
    assert_int_equal(hsm_login_check(f->h, false, &need, &low), CSIGN_OK);
    assert_int_equal(need, HSM_LOGIN_PIN);
    assert_false(low);

    secret *bad = pin("9999"), *good = pin("1234");
    assert_int_equal(hsm_login(f->h, bad), CSIGN_ETOKEN);
    assert_non_null(strstr(err_msg(), "PIN rejected by token 'unit'"));
    assert_null(strstr(err_msg(), "9999"));
    assert_int_equal(hsm_login(f->h, good), CSIGN_OK);
    secret_free(bad);
    secret_free(good);

    hsm_key *keys = NULL;
    size_t nkeys = 9;
    assert_int_equal(hsm_keys(f->h, NULL, &keys, &nkeys), CSIGN_OK);
    assert_int_equal(nkeys, 0);
    hsm_keys_free(keys, nkeys);
    hsm_session_close(f->h);

    hsm_uri_free(uri);
    hsm_token_clear(&tok);
    hsm_token_clear(&found);
}

static void test_uri_matching(void **state)
{
    fixture *f = *state;
    hsm_token a, b, found;
    hsm_uri *uri = NULL;
    char text[128];

    init(f, "one", &a);
    init(f, "two", &b);
    assert_int_equal(hsm_token_find(f->h, NULL, &found), CSIGN_EUSAGE);
    assert_non_null(strstr(err_msg(), "2 tokens"));

    assert_int_equal(hsm_uri_parse("pkcs11:token=three", &uri), CSIGN_OK);
    assert_int_equal(hsm_token_find(f->h, uri, &found), CSIGN_ETOKEN);
    assert_non_null(strstr(err_msg(), "token=one"));
    assert_non_null(strstr(err_msg(), "token=two"));
    hsm_uri_free(uri);

    snprintf(text, sizeof(text), "pkcs11:serial=%s", b.serial);
    assert_int_equal(hsm_uri_parse(text, &uri), CSIGN_OK);
    assert_int_equal(hsm_token_find(f->h, uri, &found), CSIGN_OK);
    assert_string_equal(found.label, "two");
    hsm_token_clear(&found);
    hsm_uri_free(uri);

    snprintf(text, sizeof(text), "pkcs11:slot-id=%lu", a.slot_id);
    assert_int_equal(hsm_uri_parse(text, &uri), CSIGN_OK);
    assert_int_equal(hsm_token_find(f->h, uri, &found), CSIGN_OK);
    assert_string_equal(found.label, "one");
    hsm_token_clear(&found);
    hsm_uri_free(uri);

    hsm_token_clear(&a);
    hsm_token_clear(&b);
}

static void test_init_refuses_existing_label(void **state)
{
    fixture *f = *state;
    hsm_token t, again;
    secret *so = pin("12345678"), *user = pin("1234");

    init(f, "dup", &t);
    assert_int_equal(hsm_init_token(f->h, "dup", so, user, false, false, &again), CSIGN_EUSAGE);
    assert_non_null(strstr(err_msg(), "already exists"));
    assert_int_equal(hsm_init_token(f->h, "dup", so, user, true, false, &again), CSIGN_OK);
    assert_string_equal(again.label, "dup");
    assert_int_equal(hsm_init_token(f->h, "", so, user, false, false, &again), CSIGN_EUSAGE);
    secret_free(so);
    secret_free(user);
    hsm_token_clear(&t);
    hsm_token_clear(&again);
}

int main(void)
{
    if (softhsm() == NULL) {
        fprintf(stderr, "SKIP: SoftHSM2 is not installed\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_store_has_one_uninitialised_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_init_find_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uri_matching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_refuses_existing_label, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
