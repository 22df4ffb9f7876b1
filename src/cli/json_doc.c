/* SPDX-License-Identifier: Apache-2.0 */
/* The one JSON document of a run. */
#include "cli/json_doc.h"

#include <stdio.h>

#include "cli/cli.h"

static json_t *doc;

void json_doc_want(const char *command, bool files)
{
    if (doc != NULL)
        return;
    doc = json_object();
    /* The envelope's fields come first, in this order, whatever the
     * command adds. */
    json_object_set_new(doc, "schema", json_integer(JSON_DOC_SCHEMA));
    json_object_set_new(doc, "command", json_string(command));
    json_object_set_new(doc, "status", json_null());
    json_object_set_new(doc, "exit_code", json_null());
    json_object_set_new(doc, "error", json_null());
    if (files)
        json_object_set_new(doc, "files", json_array());
}

void json_doc_drop(void)
{
    json_decref(doc);
    doc = NULL;
}

bool json_doc_wanted(void)
{
    return doc != NULL;
}

json_t *json_doc(void)
{
    return doc;
}

csign_rc json_doc_finish(csign_rc rc, const char *error)
{
    csign_rc out = CSIGN_OK;

    if (doc == NULL)
        return CSIGN_OK;
    json_object_set_new(doc, "status",
                        json_string(rc == CSIGN_OK    ? "ok"
                                    : rc == CSIGN_ENO ? "invalid"
                                                      : "error"));
    json_object_set_new(doc, "exit_code", json_integer(rc));
    json_object_set_new(doc, "error",
                        rc != CSIGN_OK && error != NULL ? cli_json_string(error) : json_null());
    if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0 ||
        fputc('\n', stdout) == EOF)
        out = CSIGN_EIO;
    json_decref(doc);
    doc = NULL;
    return out;
}
