/* cmd_broker.c — `streamlab broker`: the embedded broker on its own. */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/kafka/broker.h"
#include "engine/kafka/topics.h"
#include "tui/cli/cli.h"

static const char usage[] =
    "usage: streamlab broker [--listen HOST:PORT] [--brokers-count N] [--partitions N]\n"
    "\n"
    "Starts the embedded Kafka-protocol broker (librdkafka's mock cluster) with every\n"
    "streamlab topic, prints its bootstrap address as the first line, and serves until\n"
    "Ctrl-C or SIGTERM.  kcat, kafka-python and confluent-kafka can use it; its data lives\n"
    "in memory and each partition keeps only its newest ~5 MB / 100,000 records.\n"
    "\n"
    "  --listen HOST:PORT   address to listen on (default " BROKER_DEFAULT_LISTEN
    "; port 0 picks a free one)\n"
    "  --brokers-count N    brokers in the cluster (default 1)\n"
    "  --partitions N       partitions of each topic (default 3)\n"
    "  --topic NAME:N       also create topic NAME with N partitions (repeatable)\n"
    "  --control            read fault commands from stdin, one a line, answering each\n"
    "                       on stdout: down [ID], up [ID] (a broker stops answering / comes\n"
    "                       back; default every broker), rtt MS [ID] (added latency),\n"
    "                       error API CODE [COUNT] (the next COUNT requests of Kafka API\n"
    "                       key API fail with error CODE, e.g. error 0 7 3: Produce times out)\n"
    "  -h, --help           this help\n";

static volatile sig_atomic_t stop;
static void on_stop(void *arg) { (void)arg, stop = 1; }

int cmd_broker(int argc, char **argv)
{
    static const struct option longopts[] = {{"listen", required_argument, 0, 'l'},
                                             {"brokers-count", required_argument, 0, 'n'},
                                             {"partitions", required_argument, 0, 'p'},
                                             {"topic", required_argument, 0, 't'},
                                             {"control", no_argument, 0, 'C'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    const char *listen = BROKER_DEFAULT_LISTEN;
    long long nbrokers = 1, partitions = TOPICS_DEFAULT_PARTITIONS;
    const char *extra[64];
    int nextra = 0;
    bool control = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'l': listen = optarg; break;
        case 'n':
            if (cli_count("broker", "--brokers-count", optarg, &nbrokers) < 0 || nbrokers < 1 ||
                nbrokers > 16) {
                cli_error("broker", "--brokers-count must be 1..16");
                return EXIT_USAGE;
            }
            break;
        case 'p':
            if (cli_count("broker", "--partitions", optarg, &partitions) < 0 || partitions < 1 ||
                partitions > 256) {
                cli_error("broker", "--partitions must be 1..256");
                return EXIT_USAGE;
            }
            break;
        case 't': {
            const char *colon = strrchr(optarg, ':');
            long long n;
            if (!colon || colon == optarg || cli_count("broker", "--topic", colon + 1, &n) < 0 ||
                n < 1 || n > 256 || nextra == 64) {
                cli_error("broker", "--topic expects NAME:PARTITIONS (1..256), got \"%s\"", optarg);
                return EXIT_USAGE;
            }
            extra[nextra++] = optarg;
            break;
        }
        case 'C': control = true; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("broker", "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    char err[512];
    broker_t *b = broker_start(listen, (int)nbrokers, (int)partitions, err, sizeof err);
    if (!b) {
        cli_error("broker", "%s", err);
        return EXIT_FAIL;
    }
    for (int i = 0; i < nextra; i++) {
        const char *colon = strrchr(extra[i], ':');
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(colon - extra[i]), extra[i]);
        if (broker_create_topic(b, name, atoi(colon + 1), err, sizeof err) < 0) {
            cli_error("broker", "%s", err);
            broker_stop(b);
            return EXIT_FAIL;
        }
    }
    cli_on_signal(on_stop, NULL);
    printf("%s\n", broker_address(b));
    fflush(stdout);
    int ntopics = 0;
    while (topics_seed[ntopics])
        ntopics++;
    fprintf(stderr, "streamlab broker: serving %d topics with %lld partitions on %s "
                    "(Ctrl-C to stop)\n",
            ntopics, partitions, broker_address(b));
    char line[512];
    while (!stop && control) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        if (!fgets(line, sizeof line, stdin))
            break; /* stdin closed: serve on without commands */
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        char reply[256];
        bool ok = broker_fault(b, line, reply, sizeof reply) == 0;
        printf("%s %s\n", ok ? "ok" : "error", reply);
        fflush(stdout);
        fprintf(stderr, "streamlab broker: %s: %s\n", line, reply);
    }
    while (!stop)
        pause();
    broker_stop(b);
    fprintf(stderr, "streamlab broker: stopped\n");
    return EXIT_OK;
}
