/* SPDX-License-Identifier: Apache-2.0 */
/* The time-stamping options that sign and timestamp share. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "cli/commands.h"

void tsa_opts_init(tsa_opts *t)
{
    stamp_config_init(&t->cfg);
    t->optional = false;
}

static bool small_number(const char *arg, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtol(arg, &end, 10);
    return *arg != '\0' && *end == '\0' && errno == 0 && *out >= lo && *out <= hi;
}

csign_rc tsa_on_opt(tsa_opts *t, int id, const char *arg)
{
    long n = 0;

    switch (id) {
    case OPT_TSA:
        if (t->cfg.nurls == STAMP_MAX_URLS)
            return err_set(CSIGN_EUSAGE, "at most %d --tsa URLs", STAMP_MAX_URLS);
        if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0)
            return err_set(CSIGN_EUSAGE, "--tsa needs an http:// or https:// URL, not '%s'", arg);
        t->cfg.urls[t->cfg.nurls++] = arg;
        break;
    case OPT_TSA_DIGEST:
        if ((t->cfg.md = digest_by_name(arg)) == NULL)
            return err_set(CSIGN_EUSAGE,
                           "--tsa-digest: unknown digest '%s' (sha256, sha384 or "
                           "sha512)",
                           arg);
        break;
    case OPT_TSA_POLICY: {
        ASN1_OBJECT *oid = OBJ_txt2obj(arg, 1);
        ASN1_OBJECT_free(oid);
        if (oid == NULL)
            return err_set(CSIGN_EUSAGE, "--tsa-policy needs an OID such as 1.2.3.4, not '%s'",
                           arg);
        t->cfg.policy = arg;
        break;
    }
    case OPT_TSA_RETRIES:
        if (!small_number(arg, 0, 10, &n))
            return err_set(CSIGN_EUSAGE, "--tsa-retries needs a number from 0 to 10");
        t->cfg.retries = (int)n;
        break;
    case OPT_TSA_TIMEOUT:
        if (!small_number(arg, 1, 600, &n))
            return err_set(CSIGN_EUSAGE, "--tsa-timeout needs seconds from 1 to 600");
        t->cfg.timeout = n;
        break;
    case OPT_TSA_OPTIONAL:
        t->optional = true;
        break;
    }
    return CSIGN_OK;
}
