/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CSIGN_CONFIG_H
#define CSIGN_CONFIG_H

/*
 * Configuration files: settings written once instead of on every command
 * line (docs/config.md). Files are read with inih, in this order, later
 * files beating earlier ones:
 *
 *   $CSIGN_SYSTEM_CONFIG, else /etc/csign/config
 *   $XDG_CONFIG_HOME/csign/config, else ~/.config/csign/config
 *   ./.csign
 *   the file named by --config or $CSIGN_CONFIG (it must exist)
 *
 * Keys are long option names. [default] always applies; [profile NAME]
 * (--profile or $CSIGN_PROFILE) beats it key by key. A file holds no PIN
 * value, and one writable by group or others, or owned by another user
 * than the caller or root, is refused.
 */

#include <stdbool.h>
#include <stddef.h>

#include "sys/err.h"

/* One value of an effective setting, and where it came from. */
typedef struct {
    const char *key;
    const char *value; /* "true" or "false" for flags */
    const char *file;
    unsigned line;
} config_entry;

/*
 * Reads the files once per process (later calls return the first result).
 * path is --config (NULL: $CSIGN_CONFIG, if set), profile --profile
 * (NULL: $CSIGN_PROFILE, if set). Errors: CSIGN_EUSAGE for anything wrong
 * in a file ("FILE:LINE: ..."), an unknown profile or section; CSIGN_EIO
 * for a file that cannot be read or a named file that does not exist.
 */
csign_rc config_load(const char *path, const char *profile);

/* The effective settings after config_load(), by key in a fixed order;
 * the values of a repeatable key are consecutive, in file order. */
const config_entry *config_entries(size_t *n);

/* The selected profile, or NULL. */
const char *config_profile(void);

/* Whether key is a flag (its value is "true" or "false"). */
bool config_is_flag(const char *key);

/*
 * The environment variable that is set and beats key from a file
 * (CSIGN_MODULE for module, CSIGN_TOKEN_TIMEOUT for token-timeout,
 * CSIGN_PIN for pin-source, CSIGN_SO_PIN for so-pin-source), or NULL.
 */
const char *config_env_override(const char *key);

#endif
