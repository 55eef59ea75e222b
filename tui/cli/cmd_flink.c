/* cmd_flink.c — `streamlab flink SUBCOMMAND`: the same pipelines on Apache Flink.
 *
 *   sql     print the Flink SQL twin of streamlab's pipelines      (cmd_flink_sql.c)
 *   submit  send the twin to a Flink SQL Gateway                   (cmd_flink_sql.c)
 *   jobs    list a Flink cluster's jobs from its REST API          (cmd_flink_jobs.c)
 *   cancel  cancel a Flink job                                     (cmd_flink_jobs.c) */
#include <stdio.h>
#include <string.h>

#include "tui/cli/cli.h"
#include "tui/cli/cmd_flink.h"

static const char usage[] =
    "usage: streamlab flink sql|submit|jobs|cancel [OPTIONS]\n"
    "\n"
    "The same pipelines on Apache Flink (a Flink SQL twin of streamlab's engine).\n"
    "\n"
    "  sql      print the Flink SQL that computes what `streamlab engine` computes\n"
    "  submit   send it to a Flink SQL Gateway and print the job id\n"
    "  jobs     list the jobs of a Flink cluster (state, uptime, records, watermarks)\n"
    "  cancel   cancel a Flink job\n"
    "\n"
    "`streamlab flink SUBCOMMAND --help` tells more.\n";

int cmd_flink(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {{"sql", cmd_flink_sql},
                {"submit", cmd_flink_submit},
                {"jobs", cmd_flink_jobs},
                {"cancel", cmd_flink_cancel}};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "streamlab flink: unknown subcommand \"%s\"\n\n%s", argv[1], usage);
    return EXIT_USAGE;
}
