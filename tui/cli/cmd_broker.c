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

typedef struct broker_args {
    const char *listen;
    long long nbrokers, partitions;
    const char *extra[64]; /* --topic NAME:N */
    int nextra;
    bool control;
} broker_args_t;

static int set_brokers_count(void *args, const char *cmd, const char *opt, const char *arg)
{
    broker_args_t *a = args;
    if (cli_count(cmd, opt, arg, &a->nbrokers) < 0 || a->nbrokers < 1 || a->nbrokers > 16) {
        cli_error(cmd, "--brokers-count must be 1..16");
        return -1;
    }
    return 0;
}

static int set_partitions(void *args, const char *cmd, const char *opt, const char *arg)
{
    broker_args_t *a = args;
    if (cli_count(cmd, opt, arg, &a->partitions) < 0 || a->partitions < 1 || a->partitions > 256) {
        cli_error(cmd, "--partitions must be 1..256");
        return -1;
    }
    return 0;
}

static int set_topic(void *args, const char *cmd, const char *opt, const char *arg)
{
    broker_args_t *a = args;
    const char *colon = strrchr(arg, ':');
    long long n;
    if (!colon || colon == arg || cli_count(cmd, opt, colon + 1, &n) < 0 || n < 1 || n > 256 ||
        a->nextra == 64) {
        cli_error(cmd, "--topic expects NAME:PARTITIONS (1..256), got \"%s\"", arg);
        return -1;
    }
    a->extra[a->nextra++] = arg;
    return 0;
}

#define A(field) offsetof(broker_args_t, field)
static const cli_table_t broker_table = {
    23, (const cli_opt_t[]){
            {"listen", 0, CLI_STRING, A(listen), .arg = "HOST:PORT",
             .help = "address to listen on (default " BROKER_DEFAULT_LISTEN
                     "; port 0 picks a free one)"},
            {"brokers-count", 0, CLI_CUSTOM, .set = set_brokers_count, .arg = "N",
             .help = "brokers in the cluster (default 1)"},
            {"partitions", 0, CLI_CUSTOM, .set = set_partitions, .arg = "N",
             .help = "partitions of each topic (default 3)"},
            {"topic", 0, CLI_CUSTOM, .set = set_topic, .arg = "NAME:N",
             .help = "also create topic NAME with N partitions (repeatable)"},
            {"control", 0, CLI_FLAG, A(control),
             .help = "read fault commands from stdin, one a line, answering each\n"
                     "on stdout: down [ID], up [ID] (a broker stops answering / comes\n"
                     "back; default every broker), rtt MS [ID] (added latency),\n"
                     "error API CODE [COUNT] (the next COUNT requests of Kafka API\n"
                     "key API fail with error CODE, e.g. error 0 7 3: Produce times out)"},
            {"help", 'h', CLI_HELP, .help = "this help"},
            {0}}};
#undef A

static const cli_cmd_t broker_cmd = {
    .name = "broker",
    .usage =
    "usage: streamlab broker [--listen HOST:PORT] [--brokers-count N] [--partitions N]\n"
    "\n"
    "Starts the embedded Kafka-protocol broker (librdkafka's mock cluster) with every\n"
    "streamlab topic, prints its bootstrap address as the first line, and serves until\n"
    "Ctrl-C or SIGTERM.  kcat, kafka-python and confluent-kafka can use it; its data lives\n"
    "in memory and each partition keeps only its newest ~5 MB / 100,000 records.\n"
    "\n",
    .tables = {&broker_table}};

static volatile sig_atomic_t stop;
static void on_stop(void *arg) { (void)arg, stop = 1; }

int cmd_broker(int argc, char **argv)
{
    broker_args_t a = {.listen = BROKER_DEFAULT_LISTEN, .nbrokers = 1,
                       .partitions = TOPICS_DEFAULT_PARTITIONS};
    int r = cli_parse(&broker_cmd, argc, argv, &a, NULL);
    if (r >= 0)
        return r;
    if (optind < argc) {
        cli_error("broker", "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    char err[512];
    broker_t *b = broker_start(a.listen, (int)a.nbrokers, (int)a.partitions, err, sizeof err);
    if (!b) {
        cli_error("broker", "%s", err);
        return EXIT_FAIL;
    }
    for (int i = 0; i < a.nextra; i++) {
        const char *colon = strrchr(a.extra[i], ':');
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(colon - a.extra[i]), a.extra[i]);
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
            ntopics, a.partitions, broker_address(b));
    char line[512];
    while (!stop && a.control) {
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
