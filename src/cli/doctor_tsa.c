/* SPDX-License-Identifier: Apache-2.0 */
/* csign doctor's TSA check: a test timestamp from each configured TSA. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "cli/doctor.h"
#include "core/tsa.h"

void doctor_check_tsas(doctor_run *d)
{
    static const unsigned char probe[] = "csign doctor: a test time-stamp request";
    const stamp_config *cfg = &d->o.tsa.cfg;
    http_client *http = NULL;

    if (cfg->nurls == 0) {
        doctor_say(&d->r, DOCTOR_WARN, "tsa",
                   "give --tsa URL (or 'tsa = URL' in the profile) for signatures that verify "
                   "after the certificate expires",
                   "no time-stamping authority configured");
        return;
    }
    char no_http[ERR_MAX] = "";
    if (http_new(cfg->timeout, &http) != CSIGN_OK)
        snprintf(no_http, sizeof(no_http), "%s", err_msg());
    for (int i = 0; i < cfg->nurls; i++) {
        const char *urls[1] = {cfg->urls[i]};
        bool down = false;
        tsa_request req = {urls, 1, cfg->retries, cfg->md, cfg->policy, &down};
        unsigned char *token = NULL;
        size_t len = 0;
        const char *used = NULL;
        tsa_expect none;
        tsa_info info;

        memset(&none, 0, sizeof(none));
        memset(&info, 0, sizeof(info));
        csign_rc rc = http == NULL ? err_set(CSIGN_EIO, "%s", no_http) : CSIGN_OK;
        if (rc == CSIGN_OK)
            rc = tsa_stamp(http, &req, probe, sizeof(probe) - 1, &token, &len, &used);
        if (rc == CSIGN_OK)
            rc = tsa_check_token(token, len, probe, sizeof(probe) - 1, &none, &info);
        if (rc == CSIGN_OK)
            doctor_say(&d->r, DOCTOR_OK, "tsa", NULL, "%s gave a timestamp (%s, %s) by %s", urls[0],
                       info.gen_time_text, info.digest ? info.digest : "",
                       info.tsa_subject ? info.tsa_subject : "");
        else
            doctor_say(&d->r, DOCTOR_FAIL, "tsa",
                       rc == CSIGN_EIO ? "check the URL and the network (proxy variables, "
                                         "firewall); --tsa-timeout and --tsa-retries allow "
                                         "slow TSAs more time"
                                       : "use another TSA, or check --tsa-digest and "
                                         "--tsa-policy",
                       "%s", err_msg()); /* it names the URL */
        OPENSSL_free(token);
        tsa_info_clear(&info);
        err_clear();
    }
    http_free(http);
}
