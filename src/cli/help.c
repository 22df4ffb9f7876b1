/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/help.h"

#include "cli/opt.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

size_t help_width(void)
{
    size_t w = OPT_HELP_WIDTH;

    if (isatty(STDOUT_FILENO)) {
        const char *env = getenv("COLUMNS");
        char *end = NULL;
        long c = env != NULL ? strtol(env, &end, 10) : 0;
        struct winsize ws;

        if (env != NULL && end != env && *end == '\0' && c > 0 && c < 10000)
            w = (size_t)c;
        else if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
            w = ws.ws_col;
    }
    return w < HELP_WIDTH_MIN ? HELP_WIDTH_MIN : w;
}
