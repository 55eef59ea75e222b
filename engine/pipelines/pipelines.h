/* pipelines.h — the named pipelines the engine can run, and their knobs.
 *
 * A pipeline is a function that composes dataflow operators into a graph.
 * Its parameters live in one struct shared with whoever steers the engine
 * (the console): thresholds are atomics read on the hot path, so a change
 * takes effect on the next record. */
#ifndef STREAMLAB_PIPELINES_H
#define STREAMLAB_PIPELINES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/dataflow.h"
#include "engine/job.h"

typedef struct pipeline_params {
    _Atomic double filter_amount;     /* transactions: pass when amount > this (100) */
    _Atomic double high_value_amount; /* transactions: high value when amount > this (500) */
    int64_t window_ms;                /* window size (30 s) */
    int64_t window_slide_ms;          /* sliding windows: the slide; 0 = tumbling */
    int64_t session_gap_ms;           /* > 0: session windows with this gap instead */
    bool processing_time;             /* --time processing: windows on the clock */
    int workers;                      /* threads that run each pipeline (its parallelism) */
    int64_t allowed_lateness_ms;      /* fired windows still take records this long (0) */
    int64_t state_ttl_ms;             /* forget a user's running total after this (0: never) */
    int64_t out_of_orderness_ms;      /* watermark bound (5 s) */
    int64_t idle_timeout_ms;          /* idle partitions stop holding watermarks (10 s) */
    /* transactions' card-testing pattern: per user, a transaction below
     * fraud_small whose very next one is above fraud_large within fraud_within_ms */
    _Atomic double fraud_small;       /* 20.00 */
    _Atomic double fraud_large;       /* 800.00 */
    _Atomic int64_t fraud_within_ms;  /* 60 s */
    _Atomic int video_min_width;      /* video: pass frames at least this wide (640) */
    _Atomic int video_min_height;     /* video: ... and this high (480) */
    _Atomic double file_min_bytes;    /* files: pass when file_size > this (1 MiB, the original's) */
    int64_t file_chunk_timeout_ms;    /* files: an upload missing chunks this long -> DLQ (120 s) */
    /* The host's tap (the console's views, tui/taps.c), or NULL: each
     * pipeline calls it at its named points ("view:feed", ...), on a job
     * worker, with tap_ctx. */
    df_tap_fn tap;
    void *tap_ctx;
} pipeline_params_t;

void pipeline_params_init(pipeline_params_t *p);

typedef struct pipeline_def {
    const char *name;
    const char *summary; /* one line for --help */
    /* Builds the graph; params must outlive it. */
    df_graph_t *(*build)(const df_host_t *host, pipeline_params_t *params);
} pipeline_def_t;

/* "Now" as the original writes timestamps (local ISO-8601 with µs), as a
 * new JSON string: processing time, or a replay's event clock (evtime.h). */
json_t *pipeline_now_string(void);

/* NULL-terminated by a zeroed entry. */
extern const pipeline_def_t pipelines_all[];
const pipeline_def_t *pipelines_find(const char *name);
/* def's graph as a job on params->workers threads (job.h's df_job_new). */
df_job_t *pipeline_job(const pipeline_def_t *def, pipeline_params_t *params, const df_host_t *host,
                       bool event_clock);

/* --- the transaction pipeline's pieces, exported for the unit tests ------ */
/* Parses and validates a seed transaction. See df_parse_fn.  Accepts what the
 * original processes: amount and quantity as numbers or numeric strings,
 * quantity a whole number (2 or 2.0); they come back as JSON numbers.  Other
 * fields, known or not, are kept as they came. */
int txn_parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
              size_t errsize, void *ctx);
/* The source's parse: a typed transaction (no JSON tree) when the record is
 * one the typed path writes back exactly, else txn_parse's JSON value or
 * error.  See df_parse_rec_fn. */
int txn_parse_rec(const char *buf, size_t len, df_record_t *r, char *err, size_t errsize,
                  void *ctx);
/* filter:amount and filter:high_value: amount > the threshold in params (a
 * pipeline_params_t *), read on every call. */
bool txn_passes_filter(const df_record_t *r, void *params);
bool txn_is_high_value(const df_record_t *r, void *params);
/* map:discount on either form: adds original_amount, discount_applied,
 * final_amount and processing_timestamp. */
void txn_discount_rec(df_record_t *r, void *ctx);
/* A number as the original reads amount and quantity (float(), int()): a JSON
 * number, or a string holding a finite decimal number (blanks around it allowed).
 * 0 with *out, or -1. */
int txn_number(const json_t *f, double *out);
/* The category's discount factor (electronics 0.95, books 0.90, clothing 0.92, else 1.0). */
double txn_discount_factor(const char *category);
/* amount * factor rounded to cents, as integer cents (half away from zero). */
int64_t txn_final_cents(double amount, double factor);
df_graph_t *pipeline_transactions(const df_host_t *host, pipeline_params_t *params);

/* --- the video pipeline's pieces, exported for the unit tests ------------ */
/* Parses and validates a seed frame: JSON with every field, frame_data valid
 * base64 of a JPEG whose size is the declared frame_width x frame_height.
 * The value comes back with "analysis": {brightness, contrast} measured on
 * the image decoded at reduced scale; the analysis step adds the rest. */
int video_parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
                size_t errsize, void *ctx);
/* The original's resolution_category, by pixel count: HD (>= 1920*1080 pixels),
 * HD_Ready (>= 1280*720), SD (>= 640*480) or Low. */
const char *video_resolution_category(int w, int h);
/* streamlab's stricter reading (analysis.resolution_strict): both sides at least
 * 1920x1080 for HD, 1280x720 for HD_Ready, 640x480 for SD, else Low. */
const char *video_resolution_strict(int w, int h);
/* The original's orientation: w/h > 1.5 landscape, < 0.8 portrait, else square. */
const char *video_orientation(int w, int h);
/* v rounded to digits decimals as Python's round(v, digits) does (ties to even
 * on the binary value). */
double video_py_round(double v, int digits);
/* Frames per second the original expected of a source (webcam 30,
 * video_file 25, sample_generator 1; others 30). */
int video_expected_fps(const char *source);
/* Mean and standard deviation of luma (0-1) of w x h 8-bit luma pixels. */
void video_luma_stats(const uint8_t *luma, size_t n, double *mean, double *stddev);
df_graph_t *pipeline_video(const df_host_t *host, pipeline_params_t *params);
/* --- the file pipeline's pieces, exported for the unit tests ------------- */
/* Parses and validates an uploaded file record (whole or a chunk); event
 * time is its upload_timestamp. See df_parse_fn. */
int files_parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
                size_t errsize, void *ctx);
/* The original's analysis of a reassembled record (file_size_mb, size_category,
 * per-type fields), added to value's "analysis" object in place. */
void files_analyse(json_t *value);
/* small (< 1 MiB), medium (< 10), large (< 100), very_large. */
const char *files_size_category(int64_t bytes);
df_graph_t *pipeline_files(const df_host_t *host, pipeline_params_t *params);

#endif
