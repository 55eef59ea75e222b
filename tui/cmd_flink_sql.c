/* cmd_flink_sql.c — `streamlab flink sql` and `streamlab flink submit` (not built yet). */
#include <stdio.h>

#include "cli.h"
#include "cmd_flink.h"

int cmd_flink_sql(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("flink sql", "not implemented yet");
    return EXIT_FAIL;
}

int cmd_flink_submit(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("flink submit", "not implemented yet");
    return EXIT_FAIL;
}
