/* main.c — the front door: picks the command and runs it.  Only main decides
 * to exit; each command returns its exit status. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tui/app.h"
#include "engine/flink/httpjson.h"
#include "tui/cli/cli.h"

#define STREAMLAB_VERSION "0.1.0"

static const char usage[] =
    "usage: streamlab [COMMAND] [OPTIONS]\n"
    "\n"
    "Kafka + Flink-style stream processing, from a terminal.\n"
    "\n"
    "  streamlab --headless        broker, producer and engine in one process, no console\n"
    "  streamlab broker            the embedded Kafka-protocol broker on 127.0.0.1:9092\n"
    "  streamlab produce transactions   generated e-commerce transactions\n"
    "  streamlab produce video     video frames (synthetic, a video file or a webcam) as JPEG\n"
    "  streamlab engine            run the pipelines in a consumer group\n"
    "  streamlab consume TOPIC     print the records of a topic\n"
    "  streamlab topics            topics, partitions and offsets; create a topic\n"
    "  streamlab groups            consumer groups and their lag\n"
    "  streamlab upload FILE...    send documents, videos and images to the upload topics\n"
    "  streamlab web               the upload page (drag and drop) on 127.0.0.1:5000\n"
    "  streamlab flink sql|submit|jobs|cancel   the same pipelines on Apache Flink\n"
    "\n"
    "With no command (or only the options below) it opens the console: panes for live\n"
    "transactions, users, windows and Kafka, keys to start the producer and change\n"
    "thresholds (? lists them).\n"
    "  -b, --brokers HOST:PORT   use this cluster instead of the embedded broker\n"
    "  -X KEY=VALUE              any librdkafka property\n"
    "  --listen HOST:PORT        the embedded broker's address (default 127.0.0.1:9092, or a\n"
    "                            free port when that is taken; an address given here is kept)\n"
    "  --autostart               start the transaction producer at once\n"
    "  --rate N                  its rate (default 100/s)\n"
    "  --walkthrough             open with the guided tour (w in the console)\n"
    "  --watch-dir DIR           upload files dropped into DIR (moved to DIR/.sent/)\n"
    "  --web[=HOST:PORT]         serve the upload page too (default 127.0.0.1:5000)\n"
    "  --file-min-size MB        analyse uploaded files over MB (default 1, the original's\n"
    "                            rule; 0 analyses every file)\n"
    "  --flink URL               show a Flink cluster's jobs (its REST API, e.g.\n"
    "                            http://127.0.0.1:8081) in the engine dashboard (d)\n"
    "  --metrics HOST:PORT       serve GET /metrics for Prometheus (PORT alone: on\n"
    "                            127.0.0.1; docs/metrics.md)\n"
    "\n"
    "Every command takes --help; --version prints the version.  Commands that talk to\n"
    "Kafka take -b HOST:PORT (default 127.0.0.1:9092, or $STREAMLAB_BROKERS), -X key=value\n"
    "for any librdkafka property, and --timeout S (give up reaching the cluster after S\n"
    "seconds, default 10: then exit status 2).\n";

static int console(int argc, char **argv)
{
    enum { O_LISTEN = 1, O_AUTOSTART, O_RATE, O_WALKTHROUGH, O_WATCH, O_WEB, O_FLINK, O_METRICS,
           O_MINSIZE };
    static const struct option longopts[] = {{"brokers", required_argument, 0, 'b'},
                                             {"listen", required_argument, 0, O_LISTEN},
                                             {"autostart", no_argument, 0, O_AUTOSTART},
                                             {"rate", required_argument, 0, O_RATE},
                                             {"walkthrough", no_argument, 0, O_WALKTHROUGH},
                                             {"watch-dir", required_argument, 0, O_WATCH},
                                             {"web", optional_argument, 0, O_WEB},
                                             {"flink", required_argument, 0, O_FLINK},
                                             {"metrics", required_argument, 0, O_METRICS},
                                             {"file-min-size", required_argument, 0, O_MINSIZE},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    session_opts_t o = {.rate = 100, .file_min_mb = -1};
    char *props[CLI_MAX_PROPS];
    int opt;
    while ((opt = getopt_long(argc, argv, "b:X:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b': o.brokers = optarg; break;
        case 'X':
            if (o.nprops == CLI_MAX_PROPS) {
                cli_error("options", "too many -X options (at most %d)", CLI_MAX_PROPS);
                return EXIT_USAGE;
            }
            props[o.nprops++] = optarg;
            break;
        case O_LISTEN: o.listen = optarg; break;
        case O_AUTOSTART: o.autostart = true; break;
        case O_WALKTHROUGH: app_set_walkthrough_on_open(true); break;
        case O_WATCH: o.watch_dir = optarg; break;
        case O_WEB: o.web_listen = optarg ? optarg : "127.0.0.1:5000"; break;
        case O_FLINK: o.flink_url = optarg; break;
        case O_METRICS: o.metrics_listen = optarg; break;
        case O_MINSIZE:
            if (cli_number("console", "--file-min-size", optarg, &o.file_min_mb) < 0)
                return EXIT_USAGE;
            break;
        case O_RATE:
            if (cli_number("console", "--rate", optarg, &o.rate) < 0)
                return EXIT_USAGE;
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "streamlab: unknown command \"%s\"\n\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    o.props = props;
    if (!isatty(0) || !isatty(1)) {
        fprintf(stderr, "streamlab: the console needs a terminal; try --headless or --help\n");
        return EXIT_USAGE;
    }
    return app_run(&o);
}

int main(int argc, char **argv)
{
    /* libcurl's global set-up is not thread-safe: done here, before any thread. */
    httpjson_global_init();
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            fputs(usage, stdout);
            return EXIT_OK;
        }
        if (argc >= 2 && !strcmp(argv[1], "--version")) {
            printf("streamlab %s\n", STREAMLAB_VERSION);
            return EXIT_OK;
        }
        int headless = 0;
        for (int i = 1; i < argc; i++)
            headless |= !strcmp(argv[i], "--headless");
        return headless ? cmd_headless(argc, argv) : console(argc, argv);
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
                {"groups", cmd_groups},
                {"upload", cmd_upload},
                {"web", cmd_web},
                {"flink", cmd_flink}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "streamlab: unknown command \"%s\"\n\n%s", cmd, usage);
    return EXIT_USAGE;
}
