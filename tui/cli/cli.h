/* cli.h — what every command shares: -b/--brokers, -X key=value, --timeout,
 * exit codes, and SIGINT/SIGTERM turning into a clean stop. */
#ifndef STREAMLAB_CLI_H
#define STREAMLAB_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/kafka/kconf.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 2 };

#define CLI_DEFAULT_BROKERS "127.0.0.1:9092"
#define CLI_DEFAULT_TIMEOUT_S 10

/* cli_kafka_opt's code for --timeout (-b and -X are their letters). */
enum { OPT_TIMEOUT = 1000 };

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

/* Checks that each of the n topics exists on the cluster (one metadata
 * request; none is created).  A name starting with '^' (a subscription
 * pattern) is not checked.  Returns 0, or prints for the first unknown one
 * "streamlab CMD: no topic \"T\" on B; it has: closest, next, ..." (the
 * existing topics, closest name first) and returns EXIT_USAGE; EXIT_UNREACHABLE
 * when the names could not be read. */
int cli_topics_exist(const kconf_t *k, const char *cmd, const char *const *topics, size_t n);
/* The edit distance (Levenshtein) of two strings, for "closest first". */
size_t cli_distance(const char *a, const char *b);

/* SIGINT/SIGTERM call on_stop (must be async-signal-safe) — a second one exits. */
void cli_on_signal(void (*on_stop)(void *), void *arg);
bool cli_stopping(void);

/* Prints "streamlab CMD: msg" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a number option or prints an error; 0 or -1. */
int cli_number(const char *cmd, const char *opt, const char *arg, double *out);
int cli_count(const char *cmd, const char *opt, const char *arg, long long *out);

/* Options as tables.  Each command describes its options once, in a table of
 * cli_opt_t: the name, what its argument is, where its value goes (an offset
 * in the command's own struct of arguments) and its lines in --help.  One
 * parser (cli_parse, getopt_long underneath) reads argv by the tables and one
 * printer (cli_usage) writes --help from the same tables, so that what is
 * parsed and what is documented cannot drift apart. */
typedef enum cli_kind {
    CLI_END = 0, /* ends a table */
    CLI_TEXT,    /* no option: help text printed as it is (headings, blank lines) */
    CLI_MORE,    /* another help row for an option listed before (not parsed again) */
    CLI_HELP,    /* -h/--help: prints the usage on stdout, exit status 0 */
    CLI_KAFKA,   /* a common Kafka option: cli_kafka_opt(ck, at, argument) */
    CLI_FLAG,    /* no argument: the bool at `at` becomes true */
    CLI_STRING,  /* the const char * at `at` is the argument (it points into argv) */
    CLI_NUMBER,  /* the double at `at`: a non-negative number (cli_number) */
    CLI_COUNT,   /* the long long at `at`: a non-negative integer (cli_count) */
    CLI_MS,      /* the int64_t at `at`: milliseconds, from a number of seconds */
    CLI_MB,      /* the int64_t at `at`: bytes, from a number of megabytes (MiB) */
    CLI_CUSTOM,  /* set() does everything */
} cli_kind_t;

typedef struct cli_opt {
    const char *name; /* the long option without "--"; NULL: none */
    char letter;      /* the short option; 0: none */
    cli_kind_t kind;
    size_t at; /* offsetof(the command's struct, the field); CLI_KAFKA: 'b', 'X' or OPT_TIMEOUT */
    /* Called after the kind's conversion (or instead, for CLI_CUSTOM) with the
     * command's struct, the command's name and the option's for messages and
     * the argument (NULL without one); 0, or -1 with a message printed. */
    int (*set)(void *args, const char *cmd, const char *opt, const char *arg);
    const char *arg;  /* its argument in --help ("N", "HOST:PORT"); NULL: none */
    bool optional;    /* the argument may be left out (--name[=ARG]) */
    const char *help; /* what --help says; each "\n" goes on under the column;
                       * NULL: not listed.  CLI_TEXT: the lines as they are. */
    const char *left; /* --help's left column when not "-x, --name ARG" */
    int col;          /* where this row's text starts, when not the table's column */
} cli_opt_t;

/* A table and the column where its help text starts. */
typedef struct cli_table {
    int col;
    const cli_opt_t *opts; /* ends with a CLI_END entry ({0}) */
} cli_table_t;

typedef struct cli_cmd {
    const char *name;  /* in messages: "streamlab NAME: ..." */
    const char *usage; /* what --help prints before the options */
    const cli_table_t *tables[4]; /* NULL-terminated, in the order --help lists them */
    /* Unknown options are reported by the command ("streamlab NAME: unknown
     * option ..."), not by getopt, and the option named in a bad value's
     * message is the word of argv just read (the flink twin's habit). */
    bool own_errors;
} cli_cmd_t;

/* -b, -X, --timeout and -h, as every Kafka command takes them. */
extern const cli_table_t cli_kafka_table;

/* Parses argv (argv[0] is the command's name) by cmd's tables: values go
 * into args, the common Kafka options into ck (may be NULL when cmd has
 * none).  Returns -1 to go on (optind is the first operand), else the exit
 * status: EXIT_OK after --help, EXIT_USAGE after a bad option (the message
 * and, for an unknown option, the usage on stderr printed). */
int cli_parse(const cli_cmd_t *cmd, int argc, char **argv, void *args, cli_kafka_t *ck);
/* Writes cmd's --help to out: its usage, then the rows of its tables. */
void cli_usage(const cli_cmd_t *cmd, FILE *out);

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
