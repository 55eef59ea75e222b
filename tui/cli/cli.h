/* cli.h — what every command shares: -b/--brokers, -X key=value, --timeout,
 * exit codes, and SIGINT/SIGTERM turning into a clean stop. */
#ifndef STREAMLAB_CLI_H
#define STREAMLAB_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "engine/kafka/kconf.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 2 };

#define CLI_DEFAULT_BROKERS "127.0.0.1:9092"
#define CLI_DEFAULT_TIMEOUT_S 10

/* Long options every Kafka command takes; put CLI_COMMON_LONGOPTS in its table. */
enum { OPT_TIMEOUT = 1000 };
#define CLI_COMMON_LONGOPTS                                                                        \
    {"brokers", required_argument, 0, 'b'}, {"timeout", required_argument, 0, OPT_TIMEOUT},        \
        {"help", no_argument, 0, 'h'}
#define CLI_COMMON_SHORTOPTS "b:X:h"
#define CLI_COMMON_HELP                                                                            \
    "  -b, --brokers HOST:PORT  Kafka bootstrap servers (default " CLI_DEFAULT_BROKERS ")\n"       \
    "  -X KEY=VALUE             any librdkafka property, e.g. -X security.protocol=SASL_SSL\n"    \
    "      --timeout S          give up reaching the cluster after S seconds (default 10)\n"      \
    "  -h, --help               this help\n"

/* How many -X KEY=VALUE options a command takes. */
#define CLI_MAX_PROPS 64

typedef struct cli_kafka {
    const char *brokers;
    int timeout_s;
    char *props[CLI_MAX_PROPS];
    int nprops;
} cli_kafka_t;

void cli_kafka_init(cli_kafka_t *c);
/* Handles a common option; returns 1 if it was one, 0 if not, -1 on a bad
 * value (message printed). */
int cli_kafka_opt(cli_kafka_t *c, int opt, const char *arg);
/* A kconf from the options (NULL with a message printed on a bad -X). */
kconf_t *cli_kafka_conf(const cli_kafka_t *c);
/* kconf_probe with a message on failure; returns 0 or EXIT_UNREACHABLE. */
int cli_probe(const kconf_t *k);
/* cli_kafka_conf, then cli_probe: 0 with *out set (the caller frees it), or
 * the exit status to return (EXIT_USAGE, EXIT_UNREACHABLE) with nothing to free. */
int cli_kafka_connect(const cli_kafka_t *c, kconf_t **out);

/* SIGINT/SIGTERM call on_stop (must be async-signal-safe) — a second one exits. */
void cli_on_signal(void (*on_stop)(void *), void *arg);
bool cli_stopping(void);

/* Prints "streamlab CMD: msg" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a number option or prints an error; 0 or -1. */
int cli_number(const char *cmd, const char *opt, const char *arg, double *out);
int cli_count(const char *cmd, const char *opt, const char *arg, long long *out);

/* The commands (argc/argv start at the command name). */
int cmd_broker(int argc, char **argv);
int cmd_produce(int argc, char **argv);
int cmd_engine(int argc, char **argv);
int cmd_consume(int argc, char **argv);
int cmd_headless(int argc, char **argv);
int cmd_topics(int argc, char **argv);
int cmd_groups(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_web(int argc, char **argv);
int cmd_flink(int argc, char **argv);

#endif
