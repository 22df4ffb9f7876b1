/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsm/hsm_watch.h"
#include "sys/io.h"
#include "hsm/internal.h"
#define CSIGN_TEST_SCRATCH
#include "testutil.h"

/* ---- the list of temporary files ----------------------------------------- */

static int temp_files(void)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL)
        n += strstr(e->d_name, ".csign-tmp-") != NULL;
    closedir(dp);
    return n;
}

static void test_batch_notes_its_temporaries(void **state)
{
    io_batch *b = io_batch_new();
    io_outcome o[3];

    (void)state;
    assert_int_equal(io_temps_count(), 0);
    assert_int_equal(io_batch_add(b, in_dir("a"), "a", 1, false, &o[0]), CSIGN_OK);
    assert_int_equal(io_batch_add(b, in_dir("b"), "b", 1, false, &o[1]), CSIGN_OK);
    assert_int_equal(io_temps_count(), 2);
    assert_int_equal(io_batch_commit(b), CSIGN_OK);
    assert_int_equal(io_temps_count(), 0);
    assert_int_equal(io_batch_add(b, in_dir("c"), "c", 1, false, &o[2]), CSIGN_OK);
    assert_int_equal(io_temps_count(), 1);
    io_batch_free(b);
    assert_int_equal(io_temps_count(), 0);
    assert_int_equal(temp_files(), 0);
}

static void test_remove_all_on_the_way_out(void **state)
{
    pid_t pid;
    int status = 0;

    (void)state;
    /* In a child: the list stays locked afterwards. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        io_batch *b = io_batch_new();
        io_outcome o[2];
        if (io_batch_add(b, in_dir("a"), "a", 1, false, &o[0]) != CSIGN_OK ||
            io_batch_add(b, in_dir("b"), "b", 1, false, &o[1]) != CSIGN_OK || temp_files() != 2)
            _exit(2);
        io_temps_remove_all();
        _exit(temp_files() == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(temp_files(), 0);
}

/* ---- the watchdog, with a module that hangs in C_Sign ---------------------- */

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cond = PTHREAD_COND_INITIALIZER;
static bool released;
static int stalls;
static char stall_call[64], stall_token[64], stall_module[64];
static unsigned stall_timeout;
static int stall_signal;

static CK_RV fake_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR ti)
{
    (void)slot;
    memset(ti, ' ', sizeof(*ti));
    memcpy(ti->label, "fake", 4);
    return CKR_OK;
}

static CK_RV fake_open(CK_SLOT_ID slot, CK_FLAGS f, CK_VOID_PTR a, CK_NOTIFY n,
                       CK_SESSION_HANDLE_PTR s)
{
    (void)slot, (void)f, (void)a, (void)n;
    *s = 7;
    return CKR_OK;
}

/* Returns only once the stall handler has let it. */
static CK_RV fake_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR g,
                       CK_ULONG_PTR gn)
{
    (void)s, (void)d, (void)dn, (void)g, (void)gn;
    pthread_mutex_lock(&fake_lock);
    while (!released)
        pthread_cond_wait(&fake_cond, &fake_lock);
    pthread_mutex_unlock(&fake_lock);
    return CKR_OK;
}

static void on_stall(const hsm_stall *s)
{
    pthread_mutex_lock(&fake_lock);
    stalls++;
    snprintf(stall_call, sizeof(stall_call), "%s", s->call);
    snprintf(stall_token, sizeof(stall_token), "%s", s->token ? s->token : "(none)");
    snprintf(stall_module, sizeof(stall_module), "%s", s->module);
    stall_timeout = s->timeout;
    stall_signal = s->signal;
    released = true;
    pthread_cond_broadcast(&fake_cond);
    pthread_mutex_unlock(&fake_lock);
}

static void test_watchdog_names_the_hung_call_and_token(void **state)
{
    CK_FUNCTION_LIST fake, other, *p = NULL, *q = NULL;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE s = 0;
    CK_BYTE sig[8];
    CK_ULONG n = sizeof(sig);

    (void)state;
    memset(&fake, 0, sizeof(fake));
    fake.C_GetTokenInfo = fake_token_info;
    fake.C_OpenSession = fake_open;
    fake.C_Sign = fake_sign;
    other = fake;
    hsm_set_call_timeout(1);
    hsm_set_stall_handler(on_stall);
    assert_int_equal(hsm_call_timeout(), 1);
    assert_int_equal(hsm_watch_attach("fake.so"), CSIGN_OK);
    assert_int_equal(hsm_proxy_wrap(&fake, &p), CSIGN_OK);
    assert_ptr_not_equal(p, &fake);
    assert_null(p->C_Login); /* what the module lacks stays missing */
    /* One module at a time. */
    assert_int_equal(hsm_proxy_wrap(&other, &q), CSIGN_EINTERNAL);

    assert_int_equal(p->C_GetTokenInfo(3, &ti), CKR_OK);
    assert_int_equal(p->C_OpenSession(3, 0, NULL, NULL, &s), CKR_OK);
    assert_int_equal(s, 7);
    assert_int_equal(p->C_Sign(s, sig, 1, sig, &n), CKR_OK);

    assert_int_equal(stalls, 1);
    assert_string_equal(stall_call, "C_Sign");
    assert_string_equal(stall_token, "fake");
    assert_string_equal(stall_module, "fake.so");
    assert_int_equal(stall_timeout, 1);
    assert_int_equal(stall_signal, 0);

    hsm_proxy_release();
    hsm_watch_detach();
    hsm_set_stall_handler(NULL);
    hsm_set_call_timeout(HSM_CALL_TIMEOUT_DEFAULT);
}

static void test_timeout_is_clamped(void **state)
{
    (void)state;
    hsm_set_call_timeout(0);
    assert_int_equal(hsm_call_timeout(), 1);
    hsm_set_call_timeout(HSM_CALL_TIMEOUT_MAX + 1);
    assert_int_equal(hsm_call_timeout(), HSM_CALL_TIMEOUT_MAX);
    hsm_set_call_timeout(HSM_CALL_TIMEOUT_DEFAULT);
    assert_int_equal(hsm_call_timeout(), 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_notes_its_temporaries, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_remove_all_on_the_way_out, make_dir, remove_dir),
        cmocka_unit_test(test_watchdog_names_the_hung_call_and_token),
        cmocka_unit_test(test_timeout_is_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
