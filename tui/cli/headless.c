/* headless.c — `streamlab --headless`: broker, producer and engine in one
 * process, for CI and scripts.
 *
 * Threads: the main thread prints a stats line a second and steers; one
 * thread runs the producer, one the engine.  When the duration is up the
 * producer stops and flushes; the engine is then told how many records it
 * must see (what was in the topic before + what the producer delivered),
 * treats that as the end of a bounded input and fires every window.  A record
 * delivered but never seen by the engine is lost, and the exit status says so. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/kafka/broker.h"
#include "engine/kafka/admin.h"
#include "engine/kafka/engine.h"
#include "engine/kafka/topics.h"
#include "engine/util.h"
#include "producers/txproducer.h"
#include "producers/uploader.h"
#include "producers/watchdir.h"
#include "tui/cli/cli.h"
#include "tui/metricsrv.h"

typedef struct headless_args {
    bool headless, json;
    double duration, rate, drain, fraud;
    double fraud_small, fraud_large, fraud_within; /* < 0: the default */
    const char *listen, *watch_dir, *metrics;
} headless_args_t;

#define A(field) offsetof(headless_args_t, field)
static const cli_table_t headless_table = {
    21, (const cli_opt_t[]){
            {"headless", 0, CLI_FLAG, A(headless), .help = NULL}, /* (how main sends us here) */
            {"duration", 0, CLI_NUMBER, A(duration), .arg = "S",
             .help = "produce for S seconds (default 10)"},
            {"rate", 0, CLI_NUMBER, A(rate), .arg = "N",
             .help = "transactions per second (default 1000; 0 = as fast as possible)"},
            {"json", 0, CLI_FLAG, A(json),
             .help = "end with the summary as one JSON object on the last line"},
            {"listen", 0, CLI_STRING, A(listen), .arg = "HOST:PORT",
             .help = "embedded broker address (default 127.0.0.1:0, a free port)"},
            {"drain-timeout", 0, CLI_NUMBER, A(drain), .arg = "S",
             .help = "after producing, wait this long for the engine to catch up\n(default 30)"},
            {"watch-dir", 0, CLI_STRING, A(watch_dir), .arg = "DIR",
             .help = "also upload files dropped into DIR (moved to DIR/.sent/) and\n"
                     "run the files pipeline on them (its own engine and group)"},
            {"metrics", 0, CLI_STRING, A(metrics), .arg = "HOST:PORT",
             .help = "serve GET /metrics for Prometheus while running (PORT\n"
                     "alone: on 127.0.0.1; 0: a free port; docs/metrics.md)"},
            {"fraud-fraction", 0, CLI_NUMBER, A(fraud), .arg = "F",
             .help = "this share (0-1) of the produced records starts a card-\n"
                     "testing pair or near miss (produce --fraud-fraction)"},
            {"fraud-small", 0, CLI_NUMBER, A(fraud_small), .arg = "X",
             .help = "fraud_alerts: a transaction < X (default 20) ..."},
            {"fraud-large", 0, CLI_NUMBER, A(fraud_large), .arg = "Y",
             .help = "... whose user's very next one is > Y (default 800) ..."},
            {"fraud-within", 0, CLI_NUMBER, A(fraud_within), .arg = "S",
             .help = "... at most S seconds later (default 60; docs/cep.md)"},
            {0}}};
#undef A

static const cli_cmd_t headless_cmd = {
    .name = "--headless",
    .usage =
    "usage: streamlab --headless [--duration S] [--rate N] [--json] [-b HOST:PORT]\n"
    "                            [--listen HOST:PORT] [--drain-timeout S]\n"
    "\n"
    "Runs the embedded broker (unless -b is given), the transaction producer and the\n"
    "engine in one process without the console: a stats line per second, then the\n"
    "engine summary with what was produced and what was lost.  Exit status 0 only when\n"
    "nothing was lost and outputs were delivered.\n"
    "\n",
    .tables = {&headless_table, &cli_kafka_table}};

typedef struct worker {
    int rc;
    char err[512];
    atomic_bool done;
} worker_t;

static txprod_t *g_prod;
static engine_t *g_engine;
static atomic_bool g_stop;
static worker_t g_pw, g_ew;

/* The drop folder: a files engine and an uploader on threads of their own. */
static engine_t *g_fengine;
static uploader_t *g_up;
static watchdir_t *g_watch;
static worker_t g_fw;
static atomic_ullong g_uploaded, g_upload_failed;

static void on_stop(void *arg)
{
    (void)arg;
    atomic_store(&g_stop, true);
    if (g_prod)
        txprod_stop(g_prod);
    if (g_watch)
        watchdir_stop(g_watch);
    if (g_up)
        uploader_cancel(g_up);
}

static int on_watched(void *opaque, const char *path, char *err, size_t errsize)
{
    (void)opaque;
    upload_result_t r;
    if (uploader_send_file(g_up, path, NULL, NULL, NULL, &r, err, errsize) < 0) {
        fprintf(stderr, "streamlab: upload of %s failed: %s\n", path, err);
        atomic_fetch_add(&g_upload_failed, 1);
        return -1;
    }
    fprintf(stderr, "streamlab: uploaded %s -> %s [%d] @%lld\n", r.filename, r.topic,
            (int)r.partition, (long long)r.last_offset);
    atomic_fetch_add(&g_uploaded, 1);
    return 0;
}

static void *watch_main(void *arg)
{
    (void)arg;
    util_block_signals();
    watchdir_run(g_watch);
    return NULL;
}

static void *files_engine_main(void *arg)
{
    (void)arg;
    util_block_signals();
    g_fw.rc = engine_run(g_fengine, g_fw.err, sizeof g_fw.err);
    atomic_store(&g_fw.done, true);
    return NULL;
}

static void *producer_main(void *arg)
{
    (void)arg;
    g_pw.rc = txprod_run(g_prod, g_pw.err, sizeof g_pw.err);
    atomic_store(&g_pw.done, true);
    return NULL;
}

static void *engine_main(void *arg)
{
    (void)arg;
    util_block_signals();
    g_ew.rc = engine_run(g_engine, g_ew.err, sizeof g_ew.err);
    atomic_store(&g_ew.done, true);
    return NULL;
}

static void stats_line(double t)
{
    txprod_stats_t s;
    txprod_stats(g_prod, &s);
    fprintf(stderr, "[%5.1fs] produced %llu  delivered %llu  processed %llu  outputs %llu  dlq %llu\n",
            t, (unsigned long long)s.sent, (unsigned long long)s.delivered,
            (unsigned long long)engine_input_count(g_engine),
            (unsigned long long)engine_output_count(g_engine),
            (unsigned long long)engine_dlq_count(g_engine));
}

int cmd_headless(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    const char *default_brokers = ck.brokers;
    headless_args_t a = {.duration = 10, .rate = 1000, .drain = 30, .listen = "127.0.0.1:0",
                         .fraud_small = -1, .fraud_large = -1, .fraud_within = -1};
    int r = cli_parse(&headless_cmd, argc, argv, &a, &ck);
    if (r >= 0)
        return r;
    bool json = a.json, external = ck.brokers != default_brokers; /* -b given */
    double duration = a.duration, rate = a.rate, drain = a.drain;
    const char *listen = a.listen, *watch_dir = a.watch_dir;
    if (optind < argc) {
        cli_error("--headless", "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    char err[512];
    int64_t run_t0 = util_mono_ms();
    broker_t *b = NULL;
    if (!external) {
        b = broker_start(listen, 1, TOPICS_DEFAULT_PARTITIONS, err, sizeof err);
        if (!b) {
            cli_error("--headless", "%s", err);
            return EXIT_FAIL;
        }
        ck.brokers = broker_address(b);
        fprintf(stderr, "streamlab: embedded broker on %s\n", ck.brokers);
    }
    int rc = EXIT_FAIL;
    json_t *at_start = NULL; /* transactions' offsets when the run began */
    kconf_t *k = cli_kafka_conf(&ck);
    if (!k) {
        broker_stop(b);
        return EXIT_USAGE;
    }
    if ((r = cli_probe(k))) {
        kconf_free(k);
        broker_stop(b);
        return r;
    }
    pipeline_params_t params;
    pipeline_params_init(&params);
    if (a.fraud_small >= 0)
        atomic_store(&params.fraud_small, a.fraud_small);
    if (a.fraud_large >= 0)
        atomic_store(&params.fraud_large, a.fraud_large);
    if (a.fraud_within >= 0)
        atomic_store(&params.fraud_within_ms, (int64_t)(a.fraud_within * 1000));
    engine_opts_t eo;
    engine_opts_init(&eo);
    char group[80];
    snprintf(group, sizeof group, "streamlab-headless-%d-%lld", (int)getpid(),
             (long long)util_wall_ms());
    eo.group = group;
    int64_t before = 0;
    pthread_t pt, et, wt, ft;
    metricsrv_t *metrics = NULL;
    bool pstarted = false, estarted = false, wstarted = false, fstarted = false;
    if (topics_ensure(k, TOPICS_DEFAULT_PARTITIONS, err, sizeof err) < 0 ||
        topics_record_count(k, "transactions", &before, err, sizeof err) < 0 ||
        !(at_start = admin_topics(k, "transactions", err, sizeof err)) ||
        !(g_engine = engine_new(k, &eo, &params, err, sizeof err)) ||
        !(g_prod = txprod_new(k, "transactions", rate, 0, 0, err, sizeof err))) {
        cli_error("--headless", "%s", err);
        goto out;
    }
    txprod_set_fraud_fraction(g_prod, a.fraud);
    /* The drop folder gets an engine of its own (pipeline files, its own group),
     * so the transaction accounting below stays exact. */
    char fgroup[96];
    snprintf(fgroup, sizeof fgroup, "%s-files", group);
    engine_opts_t fo = eo;
    fo.group = fgroup;
    fo.pipelines = "files";
    fo.checkpoint_ms = 200;
    if (watch_dir) {
        upload_opts_t uo;
        upload_opts_init(&uo);
        uo.pace_groups[0] = fgroup;
        if (!(g_fengine = engine_new(k, &fo, &params, err, sizeof err)) ||
            !(g_up = uploader_new(k, &uo, err, sizeof err)) ||
            !(g_watch = watchdir_new(watch_dir, on_watched, NULL, err, sizeof err))) {
            cli_error("--headless", "--watch-dir: %s", err);
            goto out;
        }
        fstarted = !pthread_create(&ft, NULL, files_engine_main, NULL);
        wstarted = !pthread_create(&wt, NULL, watch_main, NULL);
    }
    if (a.metrics) {
        engine_t *const engines[] = {g_engine, g_fengine};
        const char *const groups[] = {group, fgroup};
        if (!(metrics = metricsrv_start_engines(a.metrics, k, engines, groups,
                                                g_fengine ? 2 : 1, err, sizeof err))) {
            cli_error("--headless", "%s", err);
            goto out;
        }
        fprintf(stderr, "streamlab: metrics on http://%s/metrics\n", metricsrv_address(metrics));
    }
    cli_on_signal(on_stop, NULL);
    estarted = !pthread_create(&et, NULL, engine_main, NULL);
    pstarted = !pthread_create(&pt, NULL, producer_main, NULL);
    int64_t t0 = util_mono_ms(), next = t0 + 1000;
    while (!atomic_load(&g_stop) && !atomic_load(&g_ew.done) &&
           util_mono_ms() - t0 < (int64_t)(duration * 1000)) {
        util_sleep_ms(20);
        if (util_mono_ms() >= next) {
            stats_line((util_mono_ms() - t0) / 1000.0);
            next += 1000;
        }
    }
    txprod_stop(g_prod);
    pthread_join(pt, NULL);
    pstarted = false;
    txprod_stats_t ps;
    txprod_stats(g_prod, &ps);
    if (g_pw.rc)
        cli_error("--headless", "producer: %s", g_pw.err);
    /* Drain: the engine must see everything that was delivered. */
    uint64_t target = (uint64_t)before + ps.delivered;
    engine_set_target(g_engine, target ? target : 1);
    uint64_t last_seen = engine_input_count(g_engine);
    int64_t last_progress = util_mono_ms();
    while (!atomic_load(&g_ew.done) && !atomic_load(&g_stop)) {
        util_sleep_ms(20);
        uint64_t seen = engine_input_count(g_engine);
        if (seen != last_seen) {
            last_seen = seen;
            last_progress = util_mono_ms();
        } else if (util_mono_ms() - last_progress > (int64_t)(drain * 1000)) {
            fprintf(stderr, "streamlab: the engine saw nothing new for %.0f s; giving up\n", drain);
            break;
        }
    }
    engine_stop(g_engine);
    pthread_join(et, NULL);
    estarted = false;
    stats_line((util_mono_ms() - t0) / 1000.0);
    if (g_ew.rc)
        cli_error("--headless", "engine: %s", g_ew.err);
    uint64_t seen = engine_input_count(g_engine);
    uint64_t lost = seen >= target ? 0 : target - seen;
    json_t *s = engine_summary(g_engine);
    /* the run's wall time, next to processing_s (first input to last output) */
    json_object_set_new(s, "wall_s", json_real(round((util_mono_ms() - run_t0) / 1e2) / 10));
    /* Retention: records of this run gone before the engine read them show
     * as the log start passing where the topic ended when the run began
     * (the engine may never have been there to see the gap itself). */
    uint64_t retention = engine_lost_to_retention(g_engine);
    json_t *at_end = admin_topics(k, "transactions", err, sizeof err);
    if (lost && at_end) {
        uint64_t passed = 0;
        json_t *ps = json_object_get(json_array_get(at_start, 0), "partitions"), *pe, *p0;
        size_t i, j;
        json_array_foreach(json_object_get(json_array_get(at_end, 0), "partitions"), i, pe)
            json_array_foreach(ps, j, p0)
                if (json_integer_value(json_object_get(p0, "partition")) ==
                    json_integer_value(json_object_get(pe, "partition"))) {
                    json_int_t d = json_integer_value(json_object_get(pe, "log_start")) -
                                   json_integer_value(json_object_get(p0, "end"));
                    passed += d > 0 ? (uint64_t)d : 0;
                }
        if (passed > retention)
            retention = passed < lost ? passed : lost;
    }
    json_decref(at_end);
    json_object_set_new(s, "lost_to_retention", json_integer((json_int_t)retention));
    if (retention)
        fprintf(stderr, "streamlab: %llu records were removed by the broker's retention before "
                        "the engine read them (the producer ran too far ahead)\n",
                (unsigned long long)retention);
    json_object_set_new(s, "produced", json_pack("{sI}", "transactions", (json_int_t)ps.delivered));
    json_object_set_new(s, "lost", json_integer((json_int_t)lost));
    if (watch_dir) {
        watchdir_stop(g_watch);
        pthread_join(wt, NULL);
        wstarted = false;
        engine_stop(g_fengine);
        pthread_join(ft, NULL);
        fstarted = false;
        json_object_set_new(s, "uploaded",
                            json_pack("{sIsI}", "files", (json_int_t)atomic_load(&g_uploaded),
                                      "failed", (json_int_t)atomic_load(&g_upload_failed)));
        json_object_set_new(s, "files_engine", engine_summary(g_fengine));
        if (g_fw.rc)
            cli_error("--headless", "files engine: %s", g_fw.err);
    }
    uint64_t outputs = engine_output_count(g_engine);
    printf("produced %llu transactions, engine processed %llu, lost %llu, %llu outputs delivered, "
           "%llu dead letters\n",
           (unsigned long long)ps.delivered, (unsigned long long)(seen - (uint64_t)before),
           (unsigned long long)lost, (unsigned long long)outputs,
           (unsigned long long)engine_dlq_count(g_engine));
    if (json) {
        char *line = json_dumps(s, JSON_COMPACT | JSON_REAL_PRECISION(15));
        printf("%s\n", line);
        free(line);
    }
    json_decref(s);
    rc = lost == 0 && retention == 0 && outputs > 0 && !g_ew.rc && !g_pw.rc && !g_fw.rc
             ? EXIT_OK
             : EXIT_FAIL;
out:
    metricsrv_stop(metrics); /* it reads the engines */
    if (g_watch)
        watchdir_stop(g_watch);
    if (g_up)
        uploader_cancel(g_up);
    if (wstarted)
        pthread_join(wt, NULL);
    if (g_fengine)
        engine_stop(g_fengine);
    if (fstarted)
        pthread_join(ft, NULL);
    watchdir_free(g_watch);
    uploader_free(g_up);
    engine_free(g_fengine);
    if (g_prod)
        txprod_stop(g_prod);
    if (pstarted)
        pthread_join(pt, NULL);
    if (g_engine)
        engine_stop(g_engine);
    if (estarted)
        pthread_join(et, NULL);
    txprod_free(g_prod);
    engine_free(g_engine);
    json_decref(at_start);
    kconf_free(k);
    broker_stop(b);
    return rc;
}
