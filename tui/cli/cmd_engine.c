/* cmd_engine.c — `streamlab engine`: pipelines in a consumer group. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/engine.h"
#include "engine/util.h"
#include "engine/pipelines/replay.h"
#include "tui/metricsrv.h"
#include "tui/cli/cli.h"

typedef struct engine_args {
    engine_opts_t eo;
    pipeline_params_t params;
    bool json;
    const char *replay, *outdir;
    const char *metrics; /* --metrics HOST:PORT */
} engine_args_t;

static int set_count(void *args, const char *cmd, const char *opt, const char *arg)
{
    long long n;
    if (cli_count(cmd, opt, arg, &n) < 0)
        return -1;
    ((engine_args_t *)args)->eo.count = (uint64_t)n;
    return 0;
}

static int set_local_windows(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)cmd, (void)opt, (void)arg;
    ((engine_args_t *)args)->eo.repartition = false;
    return 0;
}

static int set_amount(void *args, const char *cmd, const char *opt, const char *arg)
{
    engine_args_t *a = args;
    double d;
    if (cli_number(cmd, opt, arg, &d) < 0)
        return -1;
    atomic_store(!strcmp(opt, "--filter-amount") ? &a->params.filter_amount
                                                 : &a->params.high_value_amount, d);
    return 0;
}

/* --fraud-small, --fraud-large (amounts), --fraud-within (seconds) */
static int set_fraud(void *args, const char *cmd, const char *opt, const char *arg)
{
    engine_args_t *a = args;
    double d;
    if (cli_number(cmd, opt, arg, &d) < 0)
        return -1;
    if (!strcmp(opt, "--fraud-within"))
        atomic_store(&a->params.fraud_within_ms, (int64_t)(d * 1000));
    else
        atomic_store(!strcmp(opt, "--fraud-small") ? &a->params.fraud_small : &a->params.fraud_large, d);
    return 0;
}

static int set_min_size(void *args, const char *cmd, const char *opt, const char *arg)
{
    engine_args_t *a = args;
    long long n;
    if (cli_count(cmd, opt, arg, &n) < 0)
        return -1;
    if (n > 65535) {
        cli_error(cmd, "%s is at most 65535", opt);
        return -1;
    }
    atomic_store(!strcmp(opt, "--min-width") ? &a->params.video_min_width
                                             : &a->params.video_min_height, (int)n);
    return 0;
}

/* --window, --session-gap: at least 1 ms */
static int set_window(void *args, const char *cmd, const char *opt, const char *arg)
{
    engine_args_t *a = args;
    double d;
    if (cli_number(cmd, opt, arg, &d) < 0)
        return -1;
    if (d < 0.001) {
        cli_error(cmd, "%s must be at least 0.001 s", opt);
        return -1;
    }
    *(!strcmp(opt, "--window") ? &a->params.window_ms : &a->params.session_gap_ms) =
        (int64_t)(d * 1000);
    return 0;
}

static int set_time(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)opt;
    if (strcmp(arg, "event") && strcmp(arg, "processing")) {
        cli_error(cmd, "--time takes event or processing, not \"%s\"", arg);
        return -1;
    }
    ((engine_args_t *)args)->params.processing_time = !strcmp(arg, "processing");
    return 0;
}

static int set_workers(void *args, const char *cmd, const char *opt, const char *arg)
{
    long long n;
    if (cli_count(cmd, opt, arg, &n) < 0)
        return -1;
    if (n < 1 || n > 64) {
        cli_error(cmd, "--workers takes 1 to 64, not %lld", n);
        return -1;
    }
    ((engine_args_t *)args)->params.workers = (int)n;
    return 0;
}

static int set_checkpoint(void *args, const char *cmd, const char *opt, const char *arg)
{
    double d;
    if (cli_number(cmd, opt, arg, &d) < 0)
        return -1;
    ((engine_args_t *)args)->eo.checkpoint_ms = d < 0.01 ? 10 : (int64_t)(d * 1000);
    return 0;
}

static int set_file_min_size(void *args, const char *cmd, const char *opt, const char *arg)
{
    double d;
    if (cli_number(cmd, opt, arg, &d) < 0)
        return -1;
    atomic_store(&((engine_args_t *)args)->params.file_min_bytes, d * 1048576.0);
    return 0;
}

#define A(field) offsetof(engine_args_t, field)
static const cli_table_t engine_table = {
    25, (const cli_opt_t[]){
            {"pipelines", 0, CLI_STRING, A(eo.pipelines), .arg = "LIST",
             .help = "comma-separated: transactions, video, files (default\ntransactions)"},
            {"group", 0, CLI_STRING, A(eo.group), .arg = "G",
             .help = "consumer group (default streamlab-engine)"},
            {"count", 0, CLI_CUSTOM, .set = set_count, .arg = "N",
             .help = "stop after N input records, fire every open window and\n"
                     "wait until every output is delivered"},
            {"duration", 0, CLI_NUMBER, A(eo.duration_s), .arg = "S",
             .help = "stop after S seconds"},
            {"until-end", 0, CLI_FLAG, A(eo.until_end),
             .help = "stop once every partition is read to its end, fire every\n"
                     "open window and commit (a bounded input, like --count)"},
            {"suffix", 0, CLI_STRING, A(eo.suffix), .arg = "S",
             .help = "write every output topic with S appended (e.g. _b), to run\n"
                     "two engines side by side on the same input"},
            {"settle", 0, CLI_MS, A(eo.settle_ms), .arg = "S",
             .help = "wait S seconds after joining the group before reading, so\n"
                     "that processes started together split the partitions from\n"
                     "the first record (default 0)"},
            {"local-windows", 0, CLI_CUSTOM, .set = set_local_windows,
             .help = "keep category windows in this process (no repartition topic\n"
                     "streamlab-<group>-repartition-category_windows): only for a\n"
                     "group of one process"},
            {"json", 0, CLI_FLAG, A(json),
             .help = "end with the summary as one JSON object on the last line"},
            {"metrics", 0, CLI_STRING, A(metrics), .arg = "HOST:PORT",
             .help = "serve GET /metrics for Prometheus while running (PORT alone:\n"
                     "on 127.0.0.1; 0: a free port; docs/metrics.md)"},
            {"filter-amount", 0, CLI_CUSTOM, .set = set_amount, .arg = "X",
             .help = "pass transactions with amount > X (default 100)"},
            {"high-value", 0, CLI_CUSTOM, .set = set_amount, .arg = "X",
             .help = "high_value_transactions get amount > X (default 500)"},
            {"fraud-small", 0, CLI_CUSTOM, .set = set_fraud, .arg = "X",
             .help = "fraud_alerts: a transaction < X (default 20) ..."},
            {"fraud-large", 0, CLI_CUSTOM, .set = set_fraud, .arg = "Y",
             .help = "... whose user's very next one is > Y (default 800) ..."},
            {"fraud-within", 0, CLI_CUSTOM, .set = set_fraud, .arg = "S",
             .help = "... at most S seconds later (default 60; docs/cep.md)"},
            {"min-width", 0, CLI_CUSTOM, .set = set_min_size, .arg = "W",
             .help = "video: pass frames at least W pixels wide (default 640)"},
            {"min-height", 0, CLI_CUSTOM, .set = set_min_size, .arg = "H",
             .help = "video: ... and H pixels high (default 480)"},
            {"window", 0, CLI_CUSTOM, .set = set_window, .arg = "S",
             .help = "window size in seconds (default 30)"},
            {"window-slide", 0, CLI_MS, A(params.window_slide_ms), .arg = "S",
             .help = "sliding windows that start every S seconds (default: tumbling)"},
            {"state-ttl", 0, CLI_MS, A(params.state_ttl_ms), .arg = "S",
             .help = "forget a user's running total after S seconds without one\n"
                     "of their records (default: keep forever)"},
            {"allowed-lateness", 0, CLI_MS, A(params.allowed_lateness_ms), .arg = "S",
             .help = "a fired window still takes records this long, re-emitting its\n"
                     "result with \"update\":true (default 0)"},
            {"session-gap", 0, CLI_CUSTOM, .set = set_window, .arg = "S",
             .help = "session windows per category that close after S seconds\n"
                     "without a record (instead of --window/--window-slide)"},
            {"time", 0, CLI_CUSTOM, .set = set_time, .arg = "event|processing",
             .help = "windows on the records' timestamps (default) or on the\n"
                     "engine's clock (records are never late then)"},
            {"workers", 0, CLI_CUSTOM, .set = set_workers, .arg = "N",
             .help = "threads per pipeline; records go to the worker that owns\n"
                     "their key (default: the number of cores)"},
            {"out-of-orderness", 0, CLI_MS, A(params.out_of_orderness_ms), .arg = "S",
             .help = "watermark bound in seconds (default 5)"},
            {"idle-timeout", 0, CLI_MS, A(params.idle_timeout_ms), .arg = "S",
             .help = "an idle partition stops holding the watermark (default 10)"},
            {"checkpoint-interval", 0, CLI_CUSTOM, .set = set_checkpoint, .arg = "S",
             .help = "commit outputs and offsets this often (default 1)"},
            {"at-least-once", 0, CLI_FLAG, A(eo.at_least_once),
             .help = "commit offsets after the outputs are delivered instead of\n"
                     "in one transaction with them (faster; a crash can repeat\n"
                     "outputs).  Default: exactly-once (read outputs with\n"
                     "isolation.level=read_committed, e.g. consume --read-committed)"},
            {"instance", 0, CLI_STRING, A(eo.instance), .arg = "ID",
             .help = "this process's id in its group, for its transactional.id\n"
                     "streamlab-<group>-<ID> (default 0; give each process its own)"},
            {"file-min-size", 0, CLI_CUSTOM, .set = set_file_min_size, .arg = "MB",
             .help = "files: processed_files gets file_size > MB (default 1, the\n"
                     "original's rule; 0 passes every file)"},
            {"chunk-timeout", 0, CLI_MS, A(params.file_chunk_timeout_ms), .arg = "S",
             .help = "files: an upload missing chunks this long goes to\n"
                     "uploaded_files.dlq (default 120)"},
            {"replay", 0, CLI_STRING, A(replay), .arg = "FILE",
             .help = "no Kafka: run the pipelines over FILE (one JSON record per\n"
                     "line, - for stdin) and write each output topic to"},
            {"out", 0, CLI_STRING, A(outdir), .arg = "DIR",
             .help = "DIR/<topic>.jsonl (default replay-out); the same input and\n"
                     "flags give the same bytes on every run"},
            {0}}};
#undef A

static const cli_cmd_t engine_cmd = {
    .name = "engine",
    .usage =
    "usage: streamlab engine [-b HOST:PORT] [--pipelines LIST] [--group G] [--count N]\n"
    "                        [--duration S] [--json] [threshold and window options]\n"
    "\n"
    "Runs the pipelines as a member of consumer group G (a new group starts at the\n"
    "earliest record) and writes their outputs back to Kafka.  Ends with a summary.\n"
    "\n",
    .tables = {&engine_table, &cli_kafka_table}};

static void on_stop(void *arg) { engine_stop(arg); }

static void print_summary(const json_t *s)
{
    printf("input:");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(s, "input"), k, v)
        printf(" %s=%lld", k, (long long)json_integer_value(v));
    printf("\noutput:");
    json_object_foreach(json_object_get(s, "output"), k, v)
        printf(" %s=%lld", k, (long long)json_integer_value(v));
    printf("\ndead letters: %lld, late: %lld, delivery failures: %lld\n",
           (long long)json_integer_value(json_object_get(s, "dlq")),
           (long long)json_integer_value(json_object_get(s, "late")),
           (long long)json_integer_value(json_object_get(s, "delivery_failed")));
    printf("processing %.3f s (first input to last output), %.0f records/s; the run took %.1f s\n",
           json_real_value(json_object_get(s, "processing_s")),
           json_real_value(json_object_get(s, "rate")),
           json_real_value(json_object_get(s, "wall_s")));
    json_int_t lost = json_integer_value(json_object_get(s, "lost_to_retention"));
    if (lost)
        printf("LOST: %lld records were removed by the broker's retention before the engine "
               "read them\n", (long long)lost);
    json_int_t outages = json_integer_value(json_object_get(s, "outages"));
    if (outages)
        printf("broker outages: %lld, %.1f s in all (the engine waited and resumed)\n",
               (long long)outages, json_real_value(json_object_get(s, "outage_s")));
    const char *mode = json_string_value(json_object_get(s, "mode"));
    if (mode && json_object_get(s, "kafka_transactions_committed"))
        printf("delivery: %s, %lld Kafka transactions committed\n", mode,
               (long long)json_integer_value(json_object_get(s, "kafka_transactions_committed")));
    else if (mode)
        printf("delivery: %s\n", mode);
}

int cmd_engine(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    engine_args_t a = {.outdir = "replay-out"};
    engine_opts_init(&a.eo);
    a.eo.repartition = true; /* a group may have several processes */
    pipeline_params_init(&a.params);
    int r = cli_parse(&engine_cmd, argc, argv, &a, &ck);
    if (r >= 0)
        return r;
    engine_opts_t eo = a.eo;
    pipeline_params_t *params = &a.params; /* (not copied: the engine keeps it) */
    bool json = a.json;
    const char *replay = a.replay, *outdir = a.outdir;
    if (optind < argc) {
        cli_error("engine", "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    if (replay) {
        char err[4300];
        json_t *s = replay_run(replay, outdir, eo.pipelines, params, err, sizeof err);
        if (!s) {
            cli_error("engine", "%s", err);
            return EXIT_FAIL;
        }
        print_summary(s);
        printf("outputs in %s/<topic>.jsonl\n", outdir);
        if (json) {
            char *line = json_dumps(s, JSON_COMPACT | JSON_REAL_PRECISION(15));
            printf("%s\n", line);
            free(line);
        }
        json_decref(s);
        return EXIT_OK;
    }
    kconf_t *k = cli_kafka_conf(&ck);
    if (!k)
        return EXIT_USAGE;
    char err[512];
    engine_t *e = engine_new(k, &eo, params, err, sizeof err);
    if (!e) {
        cli_error("engine", "%s", err);
        kconf_free(k);
        return EXIT_USAGE;
    }
    if ((r = cli_probe(k))) {
        engine_free(e);
        kconf_free(k);
        return r;
    }
    metricsrv_t *metrics = NULL;
    if (a.metrics) {
        engine_t *const engines[] = {e};
        const char *const groups[] = {eo.group};
        metrics = metricsrv_start_engines(a.metrics, k, engines, groups, 1, err, sizeof err);
        if (!metrics) {
            cli_error("engine", "%s", err);
            engine_free(e);
            kconf_free(k);
            return EXIT_USAGE;
        }
        fprintf(stderr, "streamlab engine: metrics on http://%s/metrics\n",
                metricsrv_address(metrics));
    }
    cli_on_signal(on_stop, e);
    fprintf(stderr, "streamlab engine: pipelines %s, group %s, brokers %s\n", eo.pipelines,
            eo.group, kconf_brokers(k));
    int64_t t0 = util_mono_ms();
    int rc = engine_run(e, err, sizeof err);
    metricsrv_stop(metrics);
    double wall = (util_mono_ms() - t0) / 1e3;
    if (rc)
        cli_error("engine", "%s", err);
    else if (engine_lost_to_retention(e)) /* a result with holes is not a success */
        rc = -1;
    json_t *s = engine_summary(e);
    json_object_set_new(s, "wall_s", json_real(round(wall * 10) / 10)); /* the run's wall time */
    print_summary(s);
    if (json) {
        char *line = json_dumps(s, JSON_COMPACT | JSON_REAL_PRECISION(15));
        printf("%s\n", line);
        free(line);
    }
    json_decref(s);
    engine_free(e);
    kconf_free(k);
    return rc ? EXIT_FAIL : EXIT_OK;
}
