/* cmd_flink_jobs.c — `streamlab flink jobs` and `streamlab flink cancel` (not built yet). */
#include <stdio.h>

#include "cli.h"
#include "cmd_flink.h"

int cmd_flink_jobs(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("flink jobs", "not implemented yet");
    return EXIT_FAIL;
}

int cmd_flink_cancel(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("flink cancel", "not implemented yet");
    return EXIT_FAIL;
}
