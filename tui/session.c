/* session.c — see session.h. */
#include "tui/session.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/metricsrv.h"
#include "tui/taps.h"
#include "producers/txproducer.h"
#include "producers/vidproducer.h"
#include "producers/uploader.h"
#include "producers/watchdir.h"
#include "producers/webserver.h"
#include "engine/kafka/admin.h"
#include "engine/kafka/broker.h"
#include "engine/kafka/engine.h"
#include "engine/kafka/kconf.h"
#include "engine/kafka/metrics.h"
#include "engine/util.h"

struct session {
    session_opts_t o;
    char listen_taken[128]; /* the default address, when it was taken (see session_start) */
    int64_t lost_session, lost_last_ms; /* see session_status_t (under lock) */
    /* The engine; the engine thread replaces it after a failed run, under
     * engine_lock, which every other thread holds while it reads it. */
    pthread_mutex_t engine_lock;
    engine_opts_t eo;
    uint64_t engine_restarts;
    uint64_t outages_base, lost_base; /* faults the replaced engines saw */
    double outage_s_base;
    int64_t outage_seen_ms; /* when session_status first saw the current outage (lock) */
    broker_t *broker;
    kconf_t *k;
    pipeline_params_t params;
    txn_view_t *view;
    vidview_t *vview;
    engine_t *engine;
    pthread_t engine_thread, super_thread, prod_thread, video_thread;
    atomic_bool stopping, want_producer, want_video, reachable;
    atomic_bool engine_joined; /* latched: an engine joined its group once (reconcile_producer) */
    _Atomic double rate;
    _Atomic double late_fraction;
    _Atomic double fraud_fraction; /* the producer's injected card testing */
    txprod_t *prod; /* owned by the supervisor; its stats are atomics */
    uint64_t prod_sent_base, prod_delivered_base;
    vidprod_t *vprod; /* owned by the supervisor, like prod */
    uint64_t video_sent_base, video_delivered_base;
    pthread_mutex_t lock; /* guards what follows */
    char engine_state[600];
    char engine_stall[384]; /* why the engine reads nothing ("" when it reads) */
    json_t *topics, *lag;
    double produce_rate[SESSION_HISTORY], consume_rate[SESSION_HISTORY];
    int nhistory;
    double ops_rate[SESSION_MAX_OPS];
    uint64_t prev_ops_in[SESSION_MAX_OPS];
    int64_t dropped;
    /* uploads: a queue of paths for the upload thread, under up_lock */
    fileview_t *files;
    console_views_t views; /* the three above, as the pipelines' tap */
    pthread_t upload_thread;
    bool upload_started;
    pthread_mutex_t up_lock;
    pthread_cond_t up_cond;
    char **queue;
    size_t nqueue;
    uploader_t *up; /* the upload thread's; cancelled on stop */
    watchdir_t *watch;
    webserver_t *web;
    webserver_opts_t web_opts;
    char web_address[300];
    metricsrv_t *metrics; /* --metrics */
    char metrics_address[300];
};

#define CONSOLE_GROUP "streamlab-console"

static void set_state(session_t *s, const char *fmt, const char *arg)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->engine_state, sizeof s->engine_state, fmt, arg);
    pthread_mutex_unlock(&s->lock);
}

static void *engine_main(void *arg)
{
    session_t *s = arg;
    util_block_signals();
    char err[512];
    while (!atomic_load(&s->stopping)) {
        if (!atomic_load(&s->reachable)) {
            set_state(s, "%s", "broker unreachable");
            util_sleep_ms(200);
            continue;
        }
        set_state(s, "%s", "running");
        if (engine_run(s->engine, err, sizeof err) == 0 || atomic_load(&s->stopping))
            continue;
        /* A failed run (e.g. a transaction that could not commit through a
         * broker outage) leaves its engine stopped: start a new one, which
         * restores the state and offsets of the last committed transaction,
         * as `streamlab engine` does when it is restarted. */
        set_state(s, "error: %s (restarting from the last commit)", err);
        util_log("engine: %s; restarting it from the last commit", err);
        for (int i = 0; i < 20 && !atomic_load(&s->stopping); i++)
            util_sleep_ms(100);
        engine_t *old = NULL;
        pthread_mutex_lock(&s->engine_lock);
        if (!atomic_load(&s->stopping)) {
            engine_t *fresh = engine_new(s->k, &s->eo, &s->params, err, sizeof err);
            if (fresh) {
                /* what the console shows of faults outlives the engine that saw them */
                uint64_t n;
                double secs;
                bool down;
                engine_outages(s->engine, &n, &secs, &down);
                s->outages_base += n + down;
                s->outage_s_base += secs;
                uint64_t lost = engine_lost_to_retention(s->engine);
                if (lost > s->lost_base)
                    s->lost_base = lost; /* the new one may see the same gap again */
                old = s->engine;
                s->engine = fresh;
                s->engine_restarts++;
            } else {
                util_log("engine: cannot restart it: %s", err);
            }
        }
        pthread_mutex_unlock(&s->engine_lock);
        engine_free(old);
    }
    return NULL;
}

static void *producer_main(void *arg)
{
    session_t *s = arg;
    util_block_signals();
    char err[256];
    if (txprod_run(s->prod, err, sizeof err) < 0)
        util_log("producer: %s", err);
    return NULL;
}

/* Starts or stops the producer to match what the console asked for. */
static void reconcile_producer(session_t *s)
{
    bool want = atomic_load(&s->want_producer) && atomic_load(&s->reachable);
    /* The first start waits until the engine's group has given it its
     * partitions (the embedded broker takes 3 s over a group's first join):
     * at 50k/s the broker's retention (5 MB a partition) would otherwise
     * drop records the engine never saw.  session_status says it waits. */
    if (want && !s->prod && !atomic_load(&s->engine_joined)) {
        pthread_mutex_lock(&s->engine_lock);
        bool joined = engine_joined(s->engine);
        pthread_mutex_unlock(&s->engine_lock);
        if (!joined)
            return;
        atomic_store(&s->engine_joined, true);
    }
    /* s->prod changes under the lock: session_status() reads its counters. */
    if (want && !s->prod) {
        char err[256];
        txprod_t *p = txprod_new(s->k, "transactions", atomic_load(&s->rate), 0, 0, err, sizeof err);
        if (!p)
            return;
        pthread_mutex_lock(&s->lock);
        s->prod = p;
        pthread_mutex_unlock(&s->lock);
        if (pthread_create(&s->prod_thread, NULL, producer_main, s)) {
            pthread_mutex_lock(&s->lock);
            s->prod = NULL;
            pthread_mutex_unlock(&s->lock);
            txprod_free(p);
        }
    } else if (!want && s->prod) {
        txprod_stop(s->prod);
        pthread_join(s->prod_thread, NULL);
        txprod_stats_t st;
        txprod_stats(s->prod, &st);
        pthread_mutex_lock(&s->lock);
        txprod_t *p = s->prod;
        s->prod = NULL;
        s->prod_sent_base += st.sent;
        s->prod_delivered_base += st.delivered;
        pthread_mutex_unlock(&s->lock);
        txprod_free(p);
    }
    if (s->prod) {
        txprod_set_rate(s->prod, atomic_load(&s->rate));
        txprod_set_late_fraction(s->prod, atomic_load(&s->late_fraction));
        txprod_set_fraud_fraction(s->prod, atomic_load(&s->fraud_fraction));
    }
}

static void *video_main(void *arg)
{
    session_t *s = arg;
    util_block_signals();
    char err[256];
    if (vidprod_run(s->vprod, err, sizeof err) < 0)
        util_log("video producer: %s", err);
    return NULL;
}

static void stop_video(session_t *s)
{
    vidprod_stop(s->vprod);
    pthread_join(s->video_thread, NULL);
    vidprod_stats_t st;
    vidprod_stats(s->vprod, &st);
    pthread_mutex_lock(&s->lock);
    vidprod_t *p = s->vprod;
    s->vprod = NULL;
    s->video_sent_base += st.sent;
    s->video_delivered_base += st.delivered;
    pthread_mutex_unlock(&s->lock);
    vidprod_free(p);
}

/* The same for the synthetic video producer. */
static void reconcile_video(session_t *s)
{
    bool want = atomic_load(&s->want_video) && atomic_load(&s->reachable);
    if (want && !s->vprod) {
        char err[256];
        frames_opts_t fo = {.width = 640, .height = 480};
        frames_t *src = frames_open("synthetic", &fo, err, sizeof err);
        vidprod_t *p = src ? vidprod_new(s->k, "video_frames", src,
                                         s->o.video_fps > 0 ? s->o.video_fps : 15, 0, 80, err,
                                         sizeof err)
                           : NULL;
        if (!p) {
            util_log("video producer: %s", err);
            atomic_store(&s->want_video, false);
            return;
        }
        pthread_mutex_lock(&s->lock);
        s->vprod = p;
        pthread_mutex_unlock(&s->lock);
        if (pthread_create(&s->video_thread, NULL, video_main, s)) {
            pthread_mutex_lock(&s->lock);
            s->vprod = NULL;
            pthread_mutex_unlock(&s->lock);
            vidprod_free(p);
        }
    } else if (!want && s->vprod) {
        stop_video(s);
    }
}

static int64_t transactions_end(const json_t *topics)
{
    size_t i, j;
    json_t *t, *p;
    int64_t sum = -1;
    json_array_foreach(topics, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "topic")), "transactions"))
            continue;
        sum = 0;
        json_array_foreach(json_object_get(t, "partitions"), j, p)
            sum += json_integer_value(json_object_get(p, "end"));
    }
    return sum;
}

/* Records removed by retention before the group read them: log start past
 * the committed offset. */
static int64_t dropped_unread(const json_t *topics, const json_t *lag)
{
    int64_t dropped = 0;
    size_t i, j, k;
    json_t *c, *t, *p;
    json_array_foreach(json_object_get(lag, "partitions"), i, c)
    {
        json_array_foreach(topics, j, t)
        {
            if (strcmp(json_string_value(json_object_get(t, "topic")),
                       json_string_value(json_object_get(c, "topic"))))
                continue;
            json_array_foreach(json_object_get(t, "partitions"), k, p)
            {
                if (json_integer_value(json_object_get(p, "partition")) !=
                    json_integer_value(json_object_get(c, "partition")))
                    continue;
                int64_t start = json_integer_value(json_object_get(p, "log_start"));
                json_t *cj = json_object_get(c, "committed");
                int64_t committed = json_integer_value(cj);
                if (json_is_integer(cj) && start > committed) /* no commit: the engine counts */
                    dropped += start - committed;
            }
        }
    }
    return dropped;
}

static void push_history(double *h, int n, double v)
{
    if (n == SESSION_HISTORY)
        memmove(h, h + 1, (SESSION_HISTORY - 1) * sizeof *h);
    h[n == SESSION_HISTORY ? n - 1 : n] = v;
}

static void *supervisor_main(void *arg)
{
    session_t *s = arg;
    util_block_signals();
    int64_t next_poll = 0, prev_end = -1;
    uint64_t prev_input = 0;
    char err[512];
    while (!atomic_load(&s->stopping)) {
        reconcile_producer(s);
        reconcile_video(s);
        int64_t now = util_mono_ms();
        if (now >= next_poll) {
            next_poll = now + 1000;
            json_t *topics = admin_topics(s->k, NULL, err, sizeof err);
            atomic_store(&s->reachable, topics != NULL);
            /* the topics the group reads, so that lag counts them before its first commit */
            const char *reads[SESSION_MAX_READS + 1] = {NULL};
            char stall[384] = "";
            pthread_mutex_lock(&s->engine_lock);
            size_t nreads = engine_read_topics(s->engine, reads, SESSION_MAX_READS);
            for (size_t i = 0; i < nreads; i++)
                reads[i] = xstrdup(reads[i]);
            engine_stall(s->engine, stall, sizeof stall);
            pthread_mutex_unlock(&s->engine_lock);
            json_t *lag = topics ? admin_group_lag(s->k, "streamlab-console", reads, err, sizeof err)
                                 : NULL;
            for (size_t i = 0; i < nreads; i++)
                free((char *)reads[i]);
            int64_t end = topics ? transactions_end(topics) : -1;
            df_op_metrics_t ops[SESSION_MAX_OPS];
            pthread_mutex_lock(&s->engine_lock);
            uint64_t input = engine_input_count(s->engine);
            size_t nops = engine_metrics(s->engine, ops, SESSION_MAX_OPS);
            pthread_mutex_unlock(&s->engine_lock);
            if (input < prev_input) /* a restarted engine counts from 0 again */
                prev_input = input;
            pthread_mutex_lock(&s->lock);
            json_decref(s->topics);
            json_decref(s->lag);
            s->topics = topics;
            s->lag = lag;
            snprintf(s->engine_stall, sizeof s->engine_stall, "%s", stall);
            if (topics && lag)
                s->dropped = dropped_unread(topics, lag);
            double pr = prev_end >= 0 && end >= prev_end ? (double)(end - prev_end) : 0;
            push_history(s->produce_rate, s->nhistory, pr);
            push_history(s->consume_rate, s->nhistory, (double)(input - prev_input));
            if (s->nhistory < SESSION_HISTORY)
                s->nhistory++;
            for (size_t i = 0; i < nops; i++) {
                s->ops_rate[i] = ops[i].in >= s->prev_ops_in[i]
                                     ? (double)(ops[i].in - s->prev_ops_in[i])
                                     : 0;
                s->prev_ops_in[i] = ops[i].in;
            }
            pthread_mutex_unlock(&s->lock);
            if (end >= 0)
                prev_end = end;
            prev_input = input;
        }
        util_sleep_ms(100);
    }
    return NULL;
}

/* --- uploads ---------------------------------------------------------------- */

typedef struct upctx {
    session_t *s;
    const char *name;
} upctx_t;

static void on_upload_progress(void *opaque, int64_t done, int64_t total)
{
    upctx_t *c = opaque;
    fileview_upload_progress(c->s->files, c->name, NULL, done, total, FV_SENDING, "sending");
}

static int upload_path(session_t *s, const char *path, char *err, size_t errsize)
{
    char name[256];
    upload_clean_name(path, name, sizeof name);
    fileview_upload_progress(s->files, name, NULL, 0, 0, FV_SENDING, "starting");
    upload_result_t r;
    upctx_t c = {s, name};
    if (uploader_send_file(s->up, path, NULL, on_upload_progress, &c, &r, err, errsize) < 0) {
        fileview_upload_progress(s->files, name, NULL, 0, 0, FV_FAILED, err);
        return -1;
    }
    /* The files pipeline analyses only files over its minimum (the original's
     * rule: over 1 MB); a smaller one is stored but not analysed: say why and
     * how to change it. */
    double min = atomic_load(&s->params.file_min_bytes);
    bool analysed = (double)r.size > min;
    char detail[320], mb[32];
    snprintf(mb, sizeof mb, "%g MB", min / 1048576.0);
    snprintf(detail, sizeof detail, "-> %s [%d] @%lld", r.topic, (int)r.partition,
             (long long)r.last_offset);
    if (!analysed)
        snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
                 " (not analysed: only files over %s are, the original's rule; "
                 "--file-min-size MB changes it)", mb);
    fileview_upload_progress(s->files, r.filename, r.file_type, r.size, r.size,
                             analysed ? FV_SENT : FV_SMALL, detail);
    return 0;
}

static int on_watched(void *opaque, const char *path, char *err, size_t errsize)
{
    return upload_path(opaque, path, err, errsize);
}

/* The web page's uploads, on the console's upload list (a connection's thread). */
static void web_progress(void *ctx, const char *filename, const char *file_type, int64_t done,
                         int64_t total, web_upload_state_t state, const char *detail)
{
    static const fileview_state_t as[] = {[WEB_SENDING] = FV_SENDING, [WEB_SENT] = FV_SENT,
                                          [WEB_FAILED] = FV_FAILED};
    fileview_upload_progress(ctx, filename, file_type, done, total, as[state], detail);
}

static void *upload_main(void *arg)
{
    session_t *s = arg;
    util_block_signals();
    while (!atomic_load(&s->stopping)) {
        char *path = NULL;
        pthread_mutex_lock(&s->up_lock);
        if (s->nqueue == 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 500 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->up_cond, &s->up_lock, &until);
        }
        if (s->nqueue) {
            path = s->queue[0];
            memmove(s->queue, s->queue + 1, --s->nqueue * sizeof *s->queue);
        }
        pthread_mutex_unlock(&s->up_lock);
        if (atomic_load(&s->stopping) || !atomic_load(&s->reachable)) {
            /* A queued path is dropped when the broker is away; the user retries. */
            if (path)
                fileview_upload_progress(s->files, path, NULL, 0, 0, FV_FAILED,
                                         "broker unreachable");
            free(path);
            continue;
        }
        char err[512];
        if (path) {
            upload_path(s, path, err, sizeof err);
            free(path);
        } else if (s->watch) {
            watchdir_scan(s->watch);
        }
    }
    return NULL;
}

fileview_t *session_files(session_t *s) { return s->files; }

/* GET /metrics (the metrics server's thread): the engine as it is now, with
 * what the engines it replaced saw and the supervisor's lag.  The engine lock
 * keeps the engine from being replaced meanwhile; the engine thread takes it
 * only to replace a failed engine, so a scrape never holds up a running one. */
static void metrics_collect(void *ctx, FILE *out)
{
    session_t *s = ctx;
    pthread_mutex_lock(&s->lock);
    json_t *lag = json_incref(s->lag);
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&s->engine_lock);
    metrics_engine_t v = {.e = s->engine, .group = CONSOLE_GROUP,
                          .restarts = s->engine_restarts, .outages_before = s->outages_base,
                          .lost_before = s->lost_base, .outage_s_before = s->outage_s_base,
                          .lag = lag};
    metrics_write(out, &v, 1);
    pthread_mutex_unlock(&s->engine_lock);
    json_decref(lag);
}

const char *session_metrics_address(session_t *s) { return s->metrics_address; }

const char *session_web_address(session_t *s) { return s->web_address; }

void session_upload(session_t *s, const char *path)
{
    pthread_mutex_lock(&s->up_lock);
    s->queue = xrealloc(s->queue, (s->nqueue + 1) * sizeof *s->queue);
    s->queue[s->nqueue++] = xstrdup(path);
    pthread_cond_signal(&s->up_cond);
    pthread_mutex_unlock(&s->up_lock);
}

session_t *session_start(const session_opts_t *o, char *errstr, size_t errstr_size)
{
    util_log_keep(); /* the console owns the terminal */
    session_t *s = xcalloc(1, sizeof *s);
    s->o = *o;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->engine_lock, NULL);
    snprintf(s->engine_state, sizeof s->engine_state, "starting");
    atomic_init(&s->rate, o->rate > 0 ? o->rate : 100);
    atomic_init(&s->want_producer, o->autostart);
    const char *brokers = o->brokers;
    if (!brokers) {
        s->broker = broker_start(o->listen ? o->listen : BROKER_DEFAULT_LISTEN, 1, 3, errstr,
                                 errstr_size);
        /* The default address taken (another streamlab, a Kafka): take a free
         * port as headless does, and say so; an address the user asked for
         * with --listen is kept or fails. */
        if (!s->broker && !o->listen) {
            s->broker = broker_start("127.0.0.1:0", 1, 3, errstr, errstr_size);
            if (s->broker)
                snprintf(s->listen_taken, sizeof s->listen_taken, "%s", BROKER_DEFAULT_LISTEN);
        }
        if (!s->broker)
            goto fail;
        brokers = broker_address(s->broker);
    }
    s->k = kconf_new(brokers, 5000);
    for (int i = 0; i < o->nprops; i++)
        if (kconf_add(s->k, o->props[i], errstr, errstr_size) < 0)
            goto fail;
    pipeline_params_init(&s->params);
    if (o->file_min_mb >= 0)
        atomic_store(&s->params.file_min_bytes, o->file_min_mb * 1048576.0);
    s->view = view_new(s->params.window_ms);
    s->vview = vidview_new();
    s->files = fileview_new();
    s->views = (console_views_t){.txn = s->view, .video = s->vview, .files = s->files,
                                 .params = &s->params};
    s->params.tap = console_tap;
    s->params.tap_ctx = &s->views;
    pthread_mutex_init(&s->up_lock, NULL);
    pthread_cond_init(&s->up_cond, NULL);
    engine_opts_init(&s->eo);
    s->eo.group = CONSOLE_GROUP;
    s->eo.pipelines = "transactions,video,files";
    s->engine = engine_new(s->k, &s->eo, &s->params, errstr, errstr_size);
    if (!s->engine)
        goto fail;
    atomic_store(&s->reachable, s->broker != NULL); /* a remote one: the supervisor finds out */
    if (pthread_create(&s->super_thread, NULL, supervisor_main, s))
        goto fail;
    pthread_create(&s->engine_thread, NULL, engine_main, s);
    upload_opts_t uo;
    upload_opts_init(&uo);
    uo.pace_groups[0] = CONSOLE_GROUP;
    char err[512];
    if (o->watch_dir && !(s->watch = watchdir_new(o->watch_dir, on_watched, s, err, sizeof err)))
        util_log("--watch-dir: %s", err);
    s->up = uploader_new(s->k, &uo, err, sizeof err);
    if (s->up)
        s->upload_started = !pthread_create(&s->upload_thread, NULL, upload_main, s);
    else
        util_log("uploads: %s", err);
    if (o->web_listen) {
        webserver_opts_init(&s->web_opts);
        s->web_opts.listen = o->web_listen;
        s->web_opts.upload = uo;
        s->web_opts.progress = web_progress;
        s->web_opts.progress_ctx = s->files;
        s->web = webserver_start(s->k, &s->web_opts, err, sizeof err);
        if (s->web)
            snprintf(s->web_address, sizeof s->web_address, "%s", webserver_address(s->web));
        else
            util_log("--web: %s", err);
    }
    if (o->metrics_listen) {
        s->metrics = metricsrv_start(o->metrics_listen, metrics_collect, NULL, s, err, sizeof err);
        if (s->metrics)
            snprintf(s->metrics_address, sizeof s->metrics_address, "%s",
                     metricsrv_address(s->metrics));
        else
            util_log("%s", err);
    }
    return s;
fail:
    engine_free(s->engine);
    view_free(s->view);
    vidview_free(s->vview);
    fileview_free(s->files);
    kconf_free(s->k);
    broker_stop(s->broker);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->engine_lock);
    free(s);
    return NULL;
}

/* With STREAMLAB_LOG=FILE, how long each step of the stop took (quit must be
 * quick whatever ran before: tests/bench_quit.sh reads these lines). */
static void quit_step(int64_t *t, const char *what)
{
    int64_t now = util_mono_ms();
    const char *log = getenv("STREAMLAB_LOG");
    if (log && *log)
        util_log("quit: %s %lld ms", what, (long long)(now - *t));
    *t = now;
}

void session_stop(session_t *s)
{
    if (!s)
        return;
    int64_t t = util_mono_ms();
    atomic_store(&s->want_producer, false);
    atomic_store(&s->want_video, false);
    atomic_store(&s->stopping, true);
    pthread_join(s->super_thread, NULL); /* stops the producer on its way out */
    quit_step(&t, "supervisor");
    if (s->prod) {
        txprod_stop(s->prod);
        pthread_join(s->prod_thread, NULL);
        txprod_free(s->prod);
    }
    quit_step(&t, "producer");
    if (s->vprod)
        stop_video(s);
    metricsrv_stop(s->metrics); /* it reads the engine */
    quit_step(&t, "video");
    webserver_stop(s->web); /* uploads pace on the engine: stop them first */
    if (s->up)
        uploader_cancel(s->up);
    pthread_mutex_lock(&s->up_lock);
    pthread_cond_signal(&s->up_cond);
    pthread_mutex_unlock(&s->up_lock);
    if (s->upload_started)
        pthread_join(s->upload_thread, NULL);
    uploader_free(s->up);
    quit_step(&t, "uploads");
    watchdir_free(s->watch);
    for (size_t i = 0; i < s->nqueue; i++)
        free(s->queue[i]);
    free(s->queue);
    pthread_mutex_lock(&s->engine_lock); /* the engine thread may be replacing it */
    engine_stop(s->engine);
    pthread_mutex_unlock(&s->engine_lock);
    pthread_join(s->engine_thread, NULL);
    quit_step(&t, "engine thread");
    engine_free(s->engine);
    quit_step(&t, "engine");
    view_free(s->view);
    vidview_free(s->vview);
    fileview_free(s->files);
    pthread_mutex_destroy(&s->up_lock);
    pthread_cond_destroy(&s->up_cond);
    json_decref(s->topics);
    json_decref(s->lag);
    kconf_free(s->k);
    broker_stop(s->broker);
    quit_step(&t, "broker");
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->engine_lock);
    free(s);
}

txn_view_t *session_view(session_t *s) { return s->view; }
vidview_t *session_video_view(session_t *s) { return s->vview; }

void session_status(session_t *s, session_status_t *st)
{
    memset(st, 0, sizeof *st);
    st->embedded = s->broker != NULL;
    st->reachable = atomic_load(&s->reachable);
    snprintf(st->brokers, sizeof st->brokers, "%s", kconf_brokers(s->k));
    snprintf(st->listen_taken, sizeof st->listen_taken, "%s", s->listen_taken);
    st->producer_on = atomic_load(&s->want_producer);
    st->producer_waits = st->producer_on && !atomic_load(&s->engine_joined);
    st->producer_rate = atomic_load(&s->rate);
    st->filter_amount = atomic_load(&s->params.filter_amount);
    st->high_value_amount = atomic_load(&s->params.high_value_amount);
    st->fraud_small = atomic_load(&s->params.fraud_small);
    st->fraud_large = atomic_load(&s->params.fraud_large);
    st->fraud_within_ms = atomic_load(&s->params.fraud_within_ms);
    pthread_mutex_lock(&s->engine_lock);
    st->engine_restarts = s->engine_restarts;
    st->input = engine_input_count(s->engine);
    st->outputs = engine_output_count(s->engine);
    st->dlq = engine_dlq_count(s->engine);
    st->late = engine_late_count(s->engine);
    st->watermark_ms = engine_watermark(s->engine);
    st->nops = (int)engine_metrics(s->engine, st->ops, SESSION_MAX_OPS);
    st->njobs = (int)engine_job_stats(s->engine, st->jobs, 4);
    st->lost_to_retention = engine_lost_to_retention(s->engine);
    engine_outages(s->engine, &st->outages, &st->outage_s, &st->outage_now);
    st->outages += s->outages_base;
    st->outage_s += s->outage_s_base;
    if (s->lost_base > st->lost_to_retention)
        st->lost_to_retention = s->lost_base;
    pthread_mutex_unlock(&s->engine_lock);
    pthread_mutex_lock(&s->lock);
    /* how long the current outage has lasted, from when a status first saw it */
    if (!st->outage_now)
        s->outage_seen_ms = 0;
    else if (!s->outage_seen_ms)
        s->outage_seen_ms = util_mono_ms();
    st->outage_now_s = st->outage_now ? (util_mono_ms() - s->outage_seen_ms) / 1e3 : 0;
    st->produced = s->prod_sent_base;
    st->delivered = s->prod_delivered_base;
    if (s->prod) {
        txprod_stats_t ps;
        txprod_stats(s->prod, &ps);
        st->produced += ps.sent;
        st->delivered += ps.delivered;
    }
    st->video_on = atomic_load(&s->want_video);
    st->video_fps = s->o.video_fps > 0 ? s->o.video_fps : 15;
    st->video_sent = s->video_sent_base;
    st->video_delivered = s->video_delivered_base;
    if (s->vprod) {
        vidprod_stats_t vs;
        vidprod_stats(s->vprod, &vs);
        st->video_sent += vs.sent;
        st->video_delivered += vs.delivered;
    }
    snprintf(st->engine_state, sizeof st->engine_state, "%s", s->engine_state);
    snprintf(st->engine_stall, sizeof st->engine_stall, "%s", s->engine_stall);
    memcpy(st->produce_rate, s->produce_rate, sizeof st->produce_rate);
    memcpy(st->consume_rate, s->consume_rate, sizeof st->consume_rate);
    st->nhistory = s->nhistory;
    memcpy(st->ops_rate_in, s->ops_rate, sizeof st->ops_rate_in);
    st->topics = json_incref(s->topics);
    st->lag = json_incref(s->lag);
    st->dropped_unread = s->dropped;
    int64_t lost = (int64_t)st->lost_to_retention > st->dropped_unread
                       ? (int64_t)st->lost_to_retention
                       : st->dropped_unread;
    if (lost > s->lost_session) {
        s->lost_session = lost;
        s->lost_last_ms = util_wall_ms();
    }
    st->lost_session = s->lost_session;
    st->lost_last_ms = s->lost_last_ms;
    pthread_mutex_unlock(&s->lock);
    util_last_log(st->last_error, sizeof st->last_error);
}

void session_status_release(session_status_t *st)
{
    json_decref(st->topics);
    json_decref(st->lag);
    st->topics = st->lag = NULL;
}

void session_producer_toggle(session_t *s)
{
    atomic_store(&s->want_producer, !atomic_load(&s->want_producer));
}

void session_video_toggle(session_t *s)
{
    atomic_store(&s->want_video, !atomic_load(&s->want_video));
}

void session_producer_rate(session_t *s, double rate) { atomic_store(&s->rate, rate); }
void session_set_filter(session_t *s, double amount) { atomic_store(&s->params.filter_amount, amount); }
void session_set_high_value(session_t *s, double amount)
{
    atomic_store(&s->params.high_value_amount, amount);
}

const kconf_t *session_kconf(session_t *s) { return s->k; }
void session_set_late_fraction(session_t *s, double f) { atomic_store(&s->late_fraction, f); }
void session_set_fraud_fraction(session_t *s, double f) { atomic_store(&s->fraud_fraction, f); }
double session_fraud_fraction(session_t *s) { return atomic_load(&s->fraud_fraction); }

void session_set_fraud(session_t *s, double small, double large, int64_t within_ms)
{
    atomic_store(&s->params.fraud_small, small);
    atomic_store(&s->params.fraud_large, large);
    atomic_store(&s->params.fraud_within_ms, within_ms);
}
double session_late_fraction(session_t *s) { return atomic_load(&s->late_fraction); }

uint64_t session_files_processed(session_t *s)
{
    uint64_t n = 0;
    size_t i, j;
    json_t *t, *p;
    pthread_mutex_lock(&s->lock);
    json_array_foreach(s->topics, i, t)
        if (!strcmp(json_string_value(json_object_get(t, "topic")), "processed_files"))
            json_array_foreach(json_object_get(t, "partitions"), j, p)
                n += (uint64_t)json_integer_value(json_object_get(p, "end"));
    pthread_mutex_unlock(&s->lock);
    return n;
}
