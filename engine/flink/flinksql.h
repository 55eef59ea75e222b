/* flinksql.h — the Flink SQL twin of streamlab's pipelines: the statements that make a
 * Flink cluster compute what `streamlab engine` computes, for `streamlab flink sql`
 * (prints them) and `streamlab flink submit` (runs them through a SQL Gateway).
 *
 * The statements are, in order: SET statements (job name, parallelism, state TTL),
 * CREATE TEMPORARY TABLE for every input and output topic (Kafka / upsert-kafka
 * connector, JSON), CREATE TEMPORARY VIEWs for the shared steps (filter, discount, event
 * time), and one EXECUTE STATEMENT SET with an INSERT per output topic, so that the whole
 * twin is one Flink job. Pure functions of the options: no I/O, thread-safe. */
#ifndef STREAMLAB_FLINKSQL_H
#define STREAMLAB_FLINKSQL_H

#include <stdbool.h>
#include <stddef.h>

enum { FLINKSQL_TRANSACTIONS = 1, FLINKSQL_VIDEO = 2, FLINKSQL_FILES = 4 };

typedef struct flinksql_opts {
    const char *brokers;        /* Kafka bootstrap servers as Flink sees them */
    unsigned pipelines;         /* FLINKSQL_* bits */
    const char *suffix;         /* appended to every output topic ("_flink") */
    const char *group;          /* the Kafka source's consumer group id */
    const char *job_name;       /* pipeline.name (NULL: "streamlab-twin<suffix>") */
    const char *filter_amount;  /* decimal literals as given on the command line */
    const char *high_value;
    const char *fraud_small;    /* fraud_alerts: < this, then ... (decimal literals) */
    const char *fraud_large;    /* ... > this ... */
    double fraud_within_s;      /* ... at most this many seconds later */
    double window_s, window_slide_s, session_gap_s; /* slide and gap 0 = not used */
    double out_of_orderness_s;
    double state_ttl_s;         /* 0 = keep forever */
    int min_width, min_height;  /* video */
    int parallelism;            /* 0 = the cluster's default */
    bool bounded;               /* read to the end offsets at job start, then finish */
    const char *const *with;    /* extra "key=value" WITH options for every Kafka table */
    size_t nwith;
} flinksql_opts_t;

/* Defaults that match `streamlab engine`'s (brokers 127.0.0.1:9092, transactions, "_flink",
 * 100, 500, 30 s windows, 5 s out-of-orderness, fraud 20 / 800 / 60 s, 640x480). */
void flinksql_defaults(flinksql_opts_t *o);

/* Parses a --pipelines list ("transactions,video") into FLINKSQL_* bits; 0 on success,
 * -1 with the reason in err. "files" is refused: its chunk reassembly, hashing and
 * content analysis have no SQL counterpart (see the README). */
int flinksql_parse_pipelines(const char *list, unsigned *out, char *err, size_t errlen);

/* The statements (each without its trailing ';'), as a NULL-terminated array the caller
 * frees with flinksql_free; NULL with the reason in err when the options cannot be
 * expressed in Flink SQL (e.g. allowed lateness, a bad decimal). */
char **flinksql_statements(const flinksql_opts_t *o, char *err, size_t errlen);
void flinksql_free(char **stmts);

/* All statements as one script (";\n\n" after each), a new string the caller frees. */
char *flinksql_script(char *const *stmts);

#endif
