/* SPDX-License-Identifier: Apache-2.0 */
#include "core/stamp.h"

#include <string.h>

#include "core/cms.h"
#include "core/tsa.h"

void stamp_config_init(stamp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->md = EVP_sha256();
    cfg->retries = 2;
    cfg->timeout = 10;
}

csign_rc stamper_open(const stamp_config *cfg, stamper *s)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    return http_new(cfg->timeout, &s->http);
}

void stamper_close(stamper *s)
{
    http_free(s->http);
    s->http = NULL;
}

static csign_rc stamp_cb(void *ctx, const unsigned char *sigval, size_t len, unsigned char **token,
                         size_t *token_len)
{
    stamper *s = ctx;
    tsa_request r = {s->cfg->urls, s->cfg->nurls,  s->cfg->retries,
                     s->cfg->md,   s->cfg->policy, s->down};
    return tsa_stamp(s->http, &r, sigval, len, token, token_len, &s->used);
}

csign_rc stamper_apply(stamper *s, const unsigned char *sig, size_t len, unsigned char **out,
                       size_t *out_len)
{
    return cms_add_timestamp(sig, len, stamp_cb, s, out, out_len);
}
