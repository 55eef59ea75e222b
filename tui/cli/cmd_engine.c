/* cmd_engine.c — `streamlab engine`: pipelines in a consumer group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/engine.h"
#include "engine/pipelines/replay.h"
#include "tui/cli/cli.h"

static const char usage[] =
    "usage: streamlab engine [-b HOST:PORT] [--pipelines LIST] [--group G] [--count N]\n"
    "                        [--duration S] [--json] [threshold and window options]\n"
    "\n"
    "Runs the pipelines as a member of consumer group G (a new group starts at the\n"
    "earliest record) and writes their outputs back to Kafka.  Ends with a summary.\n"
    "\n"
    "  --pipelines LIST       comma-separated: transactions, video, files (default\n"
    "                         transactions)\n"
    "  --group G              consumer group (default streamlab-engine)\n"
    "  --count N              stop after N input records, fire every open window and\n"
    "                         wait until every output is delivered\n"
    "  --duration S           stop after S seconds\n"
    "  --until-end            stop once every partition is read to its end, fire every\n"
    "                         open window and commit (a bounded input, like --count)\n"
    "  --suffix S             write every output topic with S appended (e.g. _b), to run\n"
    "                         two engines side by side on the same input\n"
    "  --settle S             wait S seconds after joining the group before reading, so\n"
    "                         that processes started together split the partitions from\n"
    "                         the first record (default 0)\n"
    "  --local-windows        keep category windows in this process (no repartition topic\n"
    "                         streamlab-<group>-repartition-category_windows): only for a\n"
    "                         group of one process\n"
    "  --json                 end with the summary as one JSON object on the last line\n"
    "  --filter-amount X      pass transactions with amount > X (default 100)\n"
    "  --high-value X         high_value_transactions get amount > X (default 500)\n"
    "  --min-width W          video: pass frames at least W pixels wide (default 640)\n"
    "  --min-height H         video: ... and H pixels high (default 480)\n"
    "  --window S             window size in seconds (default 30)\n"
    "  --window-slide S       sliding windows that start every S seconds (default: tumbling)\n"
    "  --state-ttl S          forget a user's running total after S seconds without one\n"
    "                         of their records (default: keep forever)\n"
    "  --allowed-lateness S   a fired window still takes records this long, re-emitting its\n"
    "                         result with \"update\":true (default 0)\n"
    "  --session-gap S        session windows per category that close after S seconds\n"
    "                         without a record (instead of --window/--window-slide)\n"
    "  --time event|processing  windows on the records' timestamps (default) or on the\n"
    "                         engine's clock (records are never late then)\n"
    "  --workers N            threads per pipeline; records go to the worker that owns\n"
    "                         their key (default: the number of cores)\n"
    "  --out-of-orderness S   watermark bound in seconds (default 5)\n"
    "  --idle-timeout S       an idle partition stops holding the watermark (default 10)\n"
    "  --checkpoint-interval S  commit outputs and offsets this often (default 1)\n"
    "  --at-least-once        commit offsets after the outputs are delivered instead of\n"
    "                         in one transaction with them (faster; a crash can repeat\n"
    "                         outputs).  Default: exactly-once (read outputs with\n"
    "                         isolation.level=read_committed, e.g. consume --read-committed)\n"
    "  --instance ID          this process's id in its group, for its transactional.id\n"
    "                         streamlab-<group>-<ID> (default 0; give each process its own)\n"
    "  --file-min-size MB     files: processed_files gets file_size > MB (default 1, the\n"
    "                         original's rule; 0 passes every file)\n"
    "  --chunk-timeout S      files: an upload missing chunks this long goes to\n"
    "                         uploaded_files.dlq (default 120)\n"
    "  --replay FILE          no Kafka: run the pipelines over FILE (one JSON record per\n"
    "                         line, - for stdin) and write each output topic to\n"
    "  --out DIR              DIR/<topic>.jsonl (default replay-out); the same input and\n"
    "                         flags give the same bytes on every run\n"
    CLI_COMMON_HELP;

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
    printf("elapsed %.3f s (first input to last output), %.0f records/s\n",
           json_real_value(json_object_get(s, "elapsed_s")),
           json_real_value(json_object_get(s, "rate")));
    json_int_t lost = json_integer_value(json_object_get(s, "lost_to_retention"));
    if (lost)
        printf("LOST: %lld records were removed by the broker's retention before the engine "
               "read them\n", (long long)lost);
    json_int_t outages = json_integer_value(json_object_get(s, "outages"));
    if (outages)
        printf("broker outages: %lld, %.1f s in all (the engine waited and resumed)\n",
               (long long)outages, json_real_value(json_object_get(s, "outage_s")));
    const char *mode = json_string_value(json_object_get(s, "mode"));
    if (mode && json_object_get(s, "transactions"))
        printf("delivery: %s, %lld transactions committed\n", mode,
               (long long)json_integer_value(json_object_get(s, "transactions")));
    else if (mode)
        printf("delivery: %s\n", mode);
}

int cmd_engine(int argc, char **argv)
{
    enum { O_JSON = 1, O_FILTER, O_HIGH, O_WINDOW, O_OOO, O_IDLE, O_CKPT, O_REPLAY, O_OUT,
           O_SLIDE, O_LATENESS, O_TTL, O_GAP, O_TIME, O_WORKERS, O_MINW, O_MINH,
           O_ALO, O_INSTANCE, O_SUFFIX, O_UNTIL_END, O_LOCAL_WINDOWS, O_SETTLE,
           O_FILE_MIN, O_CHUNK_TIMEOUT };
    static const struct option longopts[] = {{"pipelines", required_argument, 0, 'P'},
                                             {"group", required_argument, 0, 'g'},
                                             {"count", required_argument, 0, 'c'},
                                             {"duration", required_argument, 0, 'd'},
                                             {"json", no_argument, 0, O_JSON},
                                             {"filter-amount", required_argument, 0, O_FILTER},
                                             {"high-value", required_argument, 0, O_HIGH},
                                             {"window", required_argument, 0, O_WINDOW},
                                             {"out-of-orderness", required_argument, 0, O_OOO},
                                             {"idle-timeout", required_argument, 0, O_IDLE},
                                             {"checkpoint-interval", required_argument, 0, O_CKPT},
                                             {"replay", required_argument, 0, O_REPLAY},
                                             {"window-slide", required_argument, 0, O_SLIDE},
                                             {"allowed-lateness", required_argument, 0, O_LATENESS},
                                             {"state-ttl", required_argument, 0, O_TTL},
                                             {"out", required_argument, 0, O_OUT},
                                             {"session-gap", required_argument, 0, O_GAP},
                                             {"at-least-once", no_argument, 0, O_ALO},
                                             {"instance", required_argument, 0, O_INSTANCE},
                                             {"suffix", required_argument, 0, O_SUFFIX},
                                             {"until-end", no_argument, 0, O_UNTIL_END},
                                             {"local-windows", no_argument, 0, O_LOCAL_WINDOWS},
                                             {"settle", required_argument, 0, O_SETTLE},
                                             {"time", required_argument, 0, O_TIME},
                                             {"workers", required_argument, 0, O_WORKERS},
                                             {"min-width", required_argument, 0, O_MINW},
                                             {"min-height", required_argument, 0, O_MINH},
                                             {"file-min-size", required_argument, 0, O_FILE_MIN},
                                             {"chunk-timeout", required_argument, 0, O_CHUNK_TIMEOUT},
                                             CLI_COMMON_LONGOPTS,
                                             {0}};
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    engine_opts_t eo;
    engine_opts_init(&eo);
    eo.repartition = true; /* a group may have several processes */
    pipeline_params_t params;
    pipeline_params_init(&params);
    bool json = false;
    const char *replay = NULL, *outdir = "replay-out";
    int opt, r;
    double d;
    long long n;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if ((r = cli_kafka_opt(&ck, opt, optarg)) < 0)
            return EXIT_USAGE;
        if (r)
            continue;
        switch (opt) {
        case 'P': eo.pipelines = optarg; break;
        case 'g': eo.group = optarg; break;
        case 'c':
            if (cli_count("engine", "--count", optarg, &n) < 0)
                return EXIT_USAGE;
            eo.count = (uint64_t)n;
            break;
        case 'd':
            if (cli_number("engine", "--duration", optarg, &eo.duration_s) < 0)
                return EXIT_USAGE;
            break;
        case O_JSON: json = true; break;
        case O_FILTER:
            if (cli_number("engine", "--filter-amount", optarg, &d) < 0)
                return EXIT_USAGE;
            atomic_store(&params.filter_amount, d);
            break;
        case O_HIGH:
            if (cli_number("engine", "--high-value", optarg, &d) < 0)
                return EXIT_USAGE;
            atomic_store(&params.high_value_amount, d);
            break;
        case O_WINDOW:
            if (cli_number("engine", "--window", optarg, &d) < 0)
                return EXIT_USAGE;
            if (d < 0.001) {
                cli_error("engine", "--window must be at least 0.001 s");
                return EXIT_USAGE;
            }
            params.window_ms = (int64_t)(d * 1000);
            break;
        case O_SLIDE:
            if (cli_number("engine", "--window-slide", optarg, &d) < 0)
                return EXIT_USAGE;
            params.window_slide_ms = (int64_t)(d * 1000);
            break;
        case O_TTL:
            if (cli_number("engine", "--state-ttl", optarg, &d) < 0)
                return EXIT_USAGE;
            params.state_ttl_ms = (int64_t)(d * 1000);
            break;
        case O_LATENESS:
            if (cli_number("engine", "--allowed-lateness", optarg, &d) < 0)
                return EXIT_USAGE;
            params.allowed_lateness_ms = (int64_t)(d * 1000);
            break;
        case O_OOO:
            if (cli_number("engine", "--out-of-orderness", optarg, &d) < 0)
                return EXIT_USAGE;
            params.out_of_orderness_ms = (int64_t)(d * 1000);
            break;
        case O_IDLE:
            if (cli_number("engine", "--idle-timeout", optarg, &d) < 0)
                return EXIT_USAGE;
            params.idle_timeout_ms = (int64_t)(d * 1000);
            break;
        case O_CKPT:
            if (cli_number("engine", "--checkpoint-interval", optarg, &d) < 0)
                return EXIT_USAGE;
            eo.checkpoint_ms = d < 0.01 ? 10 : (int64_t)(d * 1000);
            break;
        case O_GAP:
            if (cli_number("engine", "--session-gap", optarg, &d) < 0)
                return EXIT_USAGE;
            if (d < 0.001) {
                cli_error("engine", "--session-gap must be at least 0.001 s");
                return EXIT_USAGE;
            }
            params.session_gap_ms = (int64_t)(d * 1000);
            break;
        case O_TIME:
            if (strcmp(optarg, "event") && strcmp(optarg, "processing")) {
                cli_error("engine", "--time takes event or processing, not \"%s\"", optarg);
                return EXIT_USAGE;
            }
            params.processing_time = !strcmp(optarg, "processing");
            break;
        case O_WORKERS:
            if (cli_count("engine", "--workers", optarg, &n) < 0)
                return EXIT_USAGE;
            if (n < 1 || n > 64) {
                cli_error("engine", "--workers takes 1 to 64, not %lld", n);
                return EXIT_USAGE;
            }
            params.workers = (int)n;
            break;
        case O_MINW:
        case O_MINH:
            if (cli_count("engine", opt == O_MINW ? "--min-width" : "--min-height", optarg, &n) < 0)
                return EXIT_USAGE;
            if (n > 65535) {
                cli_error("engine", "%s is at most 65535", opt == O_MINW ? "--min-width" : "--min-height");
                return EXIT_USAGE;
            }
            atomic_store(opt == O_MINW ? &params.video_min_width : &params.video_min_height, (int)n);
            break;
        case O_ALO: eo.at_least_once = true; break;
        case O_INSTANCE: eo.instance = optarg; break;
        case O_SUFFIX: eo.suffix = optarg; break;
        case O_UNTIL_END: eo.until_end = true; break;
        case O_LOCAL_WINDOWS: eo.repartition = false; break;
        case O_SETTLE: {
            double d;
            if (cli_number("engine", "--settle", optarg, &d) < 0)
                return EXIT_USAGE;
            eo.settle_ms = (int64_t)(d * 1000);
            break;
        }
        case O_FILE_MIN:
            if (cli_number("engine", "--file-min-size", optarg, &d) < 0)
                return EXIT_USAGE;
            atomic_store(&params.file_min_bytes, d * 1048576.0);
            break;
        case O_CHUNK_TIMEOUT:
            if (cli_number("engine", "--chunk-timeout", optarg, &d) < 0)
                return EXIT_USAGE;
            params.file_chunk_timeout_ms = (int64_t)(d * 1000);
            break;
        case O_REPLAY: replay = optarg; break;
        case O_OUT: outdir = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("engine", "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    if (replay) {
        char err[4300];
        json_t *s = replay_run(replay, outdir, eo.pipelines, &params, err, sizeof err);
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
    engine_t *e = engine_new(k, &eo, &params, err, sizeof err);
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
    cli_on_signal(on_stop, e);
    fprintf(stderr, "streamlab engine: pipelines %s, group %s, brokers %s\n", eo.pipelines,
            eo.group, kconf_brokers(k));
    int rc = engine_run(e, err, sizeof err);
    if (rc)
        cli_error("engine", "%s", err);
    else if (engine_lost_to_retention(e)) /* a result with holes is not a success */
        rc = -1;
    json_t *s = engine_summary(e);
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
