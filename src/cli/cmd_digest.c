/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/json_doc.h"
#include "cli/progress.h"

enum { OPT_DIGEST = 1, OPT_JSON };

static const opt_spec opts[] = {
    {OPT_DIGEST, "digest", 0, "ALG", "sha256 (default), sha384 or sha512"},
    FILES_FROM_SPECS,
    {OPT_JSON, "json", 0, NULL, "print one JSON document on stdout (docs/json.md)"},
    {0, NULL, 0, NULL, NULL},
};

static csign_rc on_opt(void *ctx, int id, const char *arg)
{
    digest_opts *o = ctx;

    if (id == OPT_JSON) {
        o->json = true;
        json_doc_want("digest", true);
        return CSIGN_OK;
    }
    if (id == OPT_FILES_FROM || id == OPT_FILES_FROM0)
        return files_from_on_opt(&o->from, id, arg);
    if (id == OPT_DIGEST && (o->md = digest_by_name(arg)) == NULL)
        return err_set(CSIGN_EUSAGE, "unknown digest '%s' (sha256, sha384 or sha512)", arg);
    return CSIGN_OK;
}

csign_rc digest_parse(int argc, char **argv, digest_opts *o)
{
    csign_rc rc;

    memset(o, 0, sizeof(*o));
    o->md = EVP_sha256();
    o->files = calloc((size_t)argc + 1, sizeof(*o->files));
    if (o->files == NULL)
        return err_oom();
    rc = cli_parse(&cmd_digest, argc, argv, on_opt, o, &o->c, o->files, &o->nfiles);
    if (rc == CSIGN_OK && !o->c.help)
        rc = files_from_read(&o->from, &o->files, &o->nfiles);
    if (rc == CSIGN_OK && !o->c.help && o->nfiles == 0)
        rc = err_set(CSIGN_EUSAGE, "give the files to hash");
    return rc;
}

/* One file's record: a digest, or the reason it has none. */
static json_t *json_file(const char *path, const EVP_MD *md, const char *hex, csign_rc rc,
                         const char *reason)
{
    json_t *j = json_object();

    json_object_set_new(j, "path", cli_json_string(path));
    json_object_set_new(j, "status", json_string(rc == CSIGN_OK ? "ok" : "error"));
    json_object_set_new(j, "reason", rc == CSIGN_OK ? json_null() : cli_json_string(reason));
    json_object_set_new(j, "digest_algorithm",
                        rc == CSIGN_OK ? json_string(digest_name(md)) : json_null());
    json_object_set_new(j, "digest", rc == CSIGN_OK ? json_string(hex) : json_null());
    json_object_set_new(j, "exit_code", json_integer(rc));
    return j;
}

static csign_rc run(int argc, char **argv)
{
    digest_opts o;
    int failed = 0;
    csign_rc first = CSIGN_OK;
    csign_rc rc = digest_parse(argc, argv, &o);

    if (rc != CSIGN_OK || o.c.help) {
        free(o.files);
        return rc == CSIGN_OK ? cli_help(&cmd_digest) : rc;
    }
    json_t *doc = o.json ? json_doc() : NULL;
    progress *bar = progress_begin("hashing", (const char *const *)o.files, (size_t)o.nfiles);
    for (int i = 0; i < o.nfiles; i++) {
        digest_result d;
        char hex[2 * EVP_MAX_MD_SIZE + 1], name[PATH_MAX * 4];
        csign_rc one = digest_path(o.files[i], o.md, &d);
        cli_escape(o.files[i], name, sizeof(name));
        progress_hold(bar);
        if (one != CSIGN_OK) {
            fprintf(stderr, "csign: digest: %s\n", err_msg());
            if (failed++ == 0)
                first = one;
            if (doc != NULL)
                json_array_append_new(json_object_get(doc, "files"),
                                      json_file(o.files[i], o.md, NULL, one, err_msg()));
        } else {
            digest_hex(&d, hex);
            if (doc != NULL)
                json_array_append_new(json_object_get(doc, "files"),
                                      json_file(o.files[i], o.md, hex, one, NULL));
            else
                printf("%s:%s  %s\n", digest_name(o.md), hex, name);
        }
        progress_release(bar);
    }
    progress_end(bar);
    free(o.files);
    if (failed > 0)
        return err_set(first, "%d of %d files could not be hashed", failed, o.nfiles);
    return CSIGN_OK;
}

const cli_command cmd_digest = {
    .name = "digest",
    .usage = "csign digest [--digest ALG] [--json] FILE...",
    .summary = "Print ALG:HEX digests of files, to sign elsewhere with "
               "'csign sign --digest-hex'.",
    .examples = "csign digest app.tar.gz\n"
                "csign digest --digest sha384 app.tar.gz\n"
                "csign digest --json *.tar.gz",
    .opts = opts,
    .token = false,
    .run = run,
};
