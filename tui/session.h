/* session.h — everything the console runs behind its screen: the embedded
 * broker (or a connection to a real cluster), the engine (transaction and
 * video pipelines), the transaction producer, the synthetic video producer
 * and a monitor of topics and consumer lag.
 *
 * Threads: the engine thread runs engine_run (and retries while the broker is
 * unreachable); each producer thread runs while its producer is on; the
 * supervisor thread starts and stops the producers on request and polls the
 * cluster once a second.  The TUI thread only calls session_status() (a copy
 * under a short mutex) and the setters, which store atomics or requests; it
 * never waits on Kafka. */
#ifndef STREAMLAB_SESSION_H
#define STREAMLAB_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/dataflow.h"
#include "engine/kafka/engine.h"
#include "tui/vidview.h"
#include "tui/fileview.h"
#include "tui/views.h"

typedef struct session session_t;

typedef struct session_opts {
    const char *brokers; /* NULL: start the embedded broker */
    const char *listen;  /* embedded broker address; NULL: 127.0.0.1:9092, or a free port
                            when that one is taken (session_status says so) */
    char **props;        /* -X key=value, nprops of them */
    int nprops;
    double rate;    /* producer records/s when started */
    double video_fps; /* synthetic video frames/s (default 15) */
    bool autostart; /* start the producer at once */
    const char *watch_dir;  /* upload files dropped here (moved to .sent/), or NULL */
    const char *web_listen; /* serve the upload page here ("127.0.0.1:5000"), or NULL */
    const char *flink_url;  /* a Flink REST API whose jobs the dashboard shows (tui/app.c), or NULL */
    const char *metrics_listen; /* serve GET /metrics for Prometheus here (tui/metricsrv.h), or NULL */
    double file_min_mb;     /* files over this many MB are analysed; < 0: the default (1) */
} session_opts_t;

#define SESSION_HISTORY 60 /* seconds of rate history */
#define SESSION_MAX_OPS 64
#define SESSION_MAX_READS 16 /* topics the console's engine reads */

typedef struct session_status {
    bool embedded, reachable;
    char brokers[256];
    char listen_taken[128]; /* "127.0.0.1:9092": the default address was taken and the
                               embedded broker took brokers instead; else empty */
    char engine_state[600]; /* "starting", "running", "broker unreachable", an error */
    char engine_stall[384]; /* "" or why the engine reads nothing while records wait */
    bool producer_on;
    bool producer_waits; /* on, and waiting for the engine to join its group */
    double producer_rate;
    uint64_t produced, delivered;
    bool video_on;
    double video_fps;
    uint64_t video_sent, video_delivered;
    double filter_amount, high_value_amount;
    double fraud_small, fraud_large; /* the card-testing pattern's thresholds */
    int64_t fraud_within_ms;
    uint64_t input, outputs, dlq, late;
    int64_t watermark_ms;
    /* rates per second, oldest first: produced to `transactions`, consumed by the engine */
    double produce_rate[SESSION_HISTORY], consume_rate[SESSION_HISTORY];
    int nhistory;
    json_t *topics; /* admin_topics() result or NULL; a reference the caller must drop */
    json_t *lag;    /* admin_group_lag() of the engine's group or NULL; same */
    int64_t dropped_unread; /* records retention removed before the engine read them */
    uint64_t lost_to_retention; /* the same, as the engine itself saw it (gaps it skipped) */
    /* The most either count has shown this session, and when it last grew
     * (wall ms; 0: never): what the console keeps on screen once the engine
     * has caught up and the log start is behind its commits again. */
    int64_t lost_session, lost_last_ms;
    /* Broker outages as the engine saw them: how many, their total length, and
     * whether one is going on now (then for how long so far). */
    uint64_t outages;
    double outage_s;
    uint64_t engine_restarts; /* engines started again after a failed run */
    bool outage_now;
    double outage_now_s;
    char last_error[512];   /* the newest Kafka client error, or empty */
    df_op_metrics_t ops[SESSION_MAX_OPS];
    int nops;
    double ops_rate_in[SESSION_MAX_OPS]; /* per-operator records/s over the last second */
    engine_job_stats_t jobs[4]; /* per pipeline: workers, queue, latency */
    int njobs;
} session_status_t;

/* Starts the broker (if embedded), the engine and the supervisor.  NULL with
 * errstr filled (e.g. the listen port is taken). */
session_t *session_start(const session_opts_t *o, char *errstr, size_t errstr_size);
/* Stops producer, engine, supervisor and broker, in that order. */
void session_stop(session_t *s);

void session_status(session_t *s, session_status_t *out);
/* Drops the references session_status() gave. */
void session_status_release(session_status_t *st);
/* The console's view of the transaction pipeline (owned by the session). */
txn_view_t *session_view(session_t *s);

/* The console's view of the video pipeline (owned by the session). */
vidview_t *session_video_view(session_t *s);
/* The console's view of uploads and the file pipeline (owned by the session). */
fileview_t *session_files(session_t *s);
/* Queues path for upload on the session's upload thread (never blocks);
 * progress and the result show in session_files().  Its consumer group
 * (streamlab-console) paces big files. */
void session_upload(session_t *s, const char *path);
/* The upload page's address, or "" when it is off or failed (then
 * session_status().last_error says why). */
const char *session_web_address(session_t *s);
/* The metrics endpoint's address (--metrics), or "" when it is off or failed
 * (then session_status().last_error says why). */
const char *session_metrics_address(session_t *s);

void session_producer_toggle(session_t *s);
/* Starts or stops the synthetic video producer (640x480, quality 80). */
void session_video_toggle(session_t *s);
void session_producer_rate(session_t *s, double rate);
void session_set_filter(session_t *s, double amount);
void session_set_high_value(session_t *s, double amount);

/* --- for the walkthrough and the inspector (tui/) --- */
/* The session's client configuration (brokers, -X properties); lives as long
 * as the session. */
const kconf_t *session_kconf(session_t *s);
/* Share of the transaction producer's records made 35-65 s old (late for the
 * engine's 30 s windows): 0 (the default) .. 1.  Applies to a running producer. */
void session_set_late_fraction(session_t *s, double fraction);
double session_late_fraction(session_t *s);
/* The share of produced records that start an injected card-testing pair or
 * near miss (txprod_set_fraud_fraction); and the pattern's thresholds and
 * bound (fraud_alerts: < small, then > large within within_ms). */
void session_set_fraud_fraction(session_t *s, double fraction);
double session_fraud_fraction(session_t *s);
void session_set_fraud(session_t *s, double small, double large, int64_t within_ms);
/* Records in `processed_files` (sum of its end offsets at the last poll): the
 * file pipeline's output, for the walkthrough's upload step. */
uint64_t session_files_processed(session_t *s);

#endif
