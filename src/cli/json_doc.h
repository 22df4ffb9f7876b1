/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_JSON_DOC_H
#define CSIGN_JSON_DOC_H

#include <jansson.h>
#include <stdbool.h>

#include "sys/err.h"

/*
 * The one JSON document a run prints with --json (docs/json.md). A command
 * that takes --json calls json_doc_want() while parsing its options, adds
 * its fields ("files", "manifest", "tokens", ...) to json_doc(), and main.c
 * ends the run with json_doc_finish(), which fills in the run's status,
 * exit code and error and prints the document on stdout, also when the
 * command failed before any file.
 */

/* The version of the document's fields; raised when a field is removed or
 * changes meaning (fields may be added without a change). */
#define JSON_DOC_SCHEMA 1

/* The run reports in JSON: starts the document for command, with an
 * empty "files" array when the command reports on files. */
void json_doc_want(const char *command, bool files);

/* Forgets the document (after --help, which prints no JSON). */
void json_doc_drop(void);

/* True once json_doc_want() was called. */
bool json_doc_wanted(void);

/* The run's document (NULL when JSON was not asked for); the caller adds
 * fields to it and keeps no reference. */
json_t *json_doc(void);

/* Fills in "status" ("ok", "invalid" for exit code 1, "error"),
 * "exit_code" and "error" (NULL: none), prints the document and frees it.
 * CSIGN_EIO when stdout cannot be written. */
csign_rc json_doc_finish(csign_rc rc, const char *error);

#endif
