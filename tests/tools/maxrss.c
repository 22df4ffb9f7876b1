/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test and benchmark tool: runs a command and prints its peak resident set
 * size in KiB (from wait4's rusage) on stderr as "maxrss_kib N", then its
 * wall time as "wall_s S" (monotonic clock, fork to exit). Exits with the
 * command's exit status. Usage: maxrss [NAME=VALUE...] COMMAND [ARG...]; the
 * NAME=VALUE words go into the command's environment (as env(1) would put
 * them, without a second program's start in the time).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct rusage ru;
    int status = 0;
    pid_t pid;

    int cmd = 1;
    while (cmd < argc && strchr(argv[cmd], '=') != NULL)
        cmd++;
    if (cmd >= argc) {
        fprintf(stderr, "usage: maxrss [NAME=VALUE...] COMMAND [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        for (int i = 1; i < cmd; i++)
            putenv(argv[i]);
        execvp(argv[cmd], argv + cmd);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) != pid)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "maxrss_kib %ld\n", ru.ru_maxrss);
    fprintf(stderr, "wall_s %.6f\n",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
