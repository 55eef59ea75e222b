/* main.c — the front door: picks the command and runs it.  Only main decides
 * to exit; each command returns its exit status. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define STREAMLAB_VERSION "0.1.0"

static const char usage[] =
    "usage: streamlab [COMMAND] [OPTIONS]\n"
    "\n"
    "Kafka + Flink-style stream processing, from a terminal.\n"
    "\n"
    "  streamlab --headless        broker, producer and engine in one process, no console\n"
    "  streamlab broker            the embedded Kafka-protocol broker on 127.0.0.1:9092\n"
    "  streamlab produce transactions   generated e-commerce transactions\n"
    "  streamlab engine            run the pipelines in a consumer group\n"
    "  streamlab consume TOPIC     print the records of a topic\n"
    "  streamlab topics            topics, partitions and offsets; create a topic\n"
    "  streamlab groups            consumer groups and their lag\n"
    "\n"
    "Every command takes --help.  Commands that talk to Kafka take -b HOST:PORT\n"
    "(default 127.0.0.1:9092) and -X key=value for any librdkafka property.\n"
    "The console (streamlab with no command) is not built yet.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("streamlab %s\n", STREAMLAB_VERSION);
        return EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--headless"))
            return cmd_headless(argc, argv);
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"broker", cmd_broker},
                {"produce", cmd_produce},
                {"engine", cmd_engine},
                {"consume", cmd_consume},
                {"topics", cmd_topics},
                {"groups", cmd_groups}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "streamlab: unknown command \"%s\"\n\n%s", cmd, usage);
    return EXIT_USAGE;
}
