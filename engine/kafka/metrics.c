/* metrics.c — see metrics.h.  Each engine's figures are copied into a
 * snapshot first (its readers are atomics or published copies), then the
 * families are written one after the other, every engine's samples of a
 * family together, as the format requires. */
#include "engine/kafka/metrics.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/job.h"
#include "engine/util.h"

const double metrics_latency_le_s[METRICS_LATENCY_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

#define MAX_OPS 64
#define MAX_PARTS 64
#define MAX_SINKS 32
#define MAX_JOBS 8
#define MAX_TOPICS 64

typedef struct lat_snap {
    const char *topic;
    uint64_t cum[METRICS_LATENCY_BUCKETS], count;
    double sum_us;
} lat_snap_t;

typedef struct job_snap {
    engine_job_stats_t st;
    uint64_t blocked_us;
    int64_t watermark_ms;
    df_op_metrics_t ops[MAX_OPS];
    size_t nops;
    df_part_watermark_t parts[MAX_PARTS];
    size_t nparts;
    lat_snap_t lat[MAX_SINKS];
    size_t nlat;
} job_snap_t;

typedef struct snap {
    const metrics_engine_t *v;
    engine_topic_stats_t topics[MAX_TOPICS];
    size_t ntopics;
    job_snap_t jobs[MAX_JOBS];
    size_t njobs;
    engine_checkpoints_t ckpt;
    uint64_t outages, lost;
    double outage_s;
} snap_t;

static void take(snap_t *s, const metrics_engine_t *v)
{
    const engine_t *e = v->e;
    s->v = v;
    s->ntopics = engine_topic_stats(e, s->topics, MAX_TOPICS);
    engine_job_stats_t st[MAX_JOBS];
    s->njobs = engine_job_stats(e, st, MAX_JOBS);
    int64_t le_us[METRICS_LATENCY_BUCKETS];
    for (size_t b = 0; b < METRICS_LATENCY_BUCKETS; b++)
        le_us[b] = (int64_t)(metrics_latency_le_s[b] * 1e6 + 0.5);
    for (size_t i = 0; i < s->njobs; i++) {
        job_snap_t *js = &s->jobs[i];
        const df_job_t *j = engine_job(e, i);
        js->st = st[i];
        js->blocked_us = df_job_blocked_us(j);
        js->watermark_ms = df_job_watermark(j);
        js->nops = df_job_metrics(j, js->ops, MAX_OPS);
        if (js->nops > MAX_OPS)
            js->nops = MAX_OPS;
        js->nparts = df_job_partition_watermarks(j, js->parts, MAX_PARTS);
        js->nlat = 0;
        for (const char *const *t = df_graph_outputs(df_job_graph(j)); *t && js->nlat < MAX_SINKS;
             t++) {
            lat_snap_t *l = &js->lat[js->nlat++];
            l->topic = *t;
            df_job_latency_hist(j, *t, le_us, METRICS_LATENCY_BUCKETS, l->cum, &l->count,
                                &l->sum_us);
        }
    }
    engine_checkpoints(e, &s->ckpt);
    bool down;
    engine_outages(e, &s->outages, &s->outage_s, &down);
    s->outages += v->outages_before;
    s->outage_s += v->outage_s_before;
    s->lost = engine_lost_to_retention(e);
    if (s->lost < v->lost_before)
        s->lost = v->lost_before; /* (a new engine may count the same gap again) */
}

/* --- writing ------------------------------------------------------------------ */

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void label(FILE *out, const char *name, const char *value, bool first)
{
    fprintf(out, "%s%s=\"", first ? "" : ",", name);
    for (const char *c = value ? value : ""; *c; c++) {
        if (*c == '\\' || *c == '"')
            fputc('\\', out), fputc(*c, out);
        else if (*c == '\n')
            fputs("\\n", out);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

/* name{group="..."[,k="v"]...} — up to three more labels (NULL names end them). */
static void sample_start(FILE *out, const char *name, const snap_t *s, const char *k1,
                         const char *v1, const char *k2, const char *v2, const char *k3,
                         const char *v3)
{
    fprintf(out, "%s{", name);
    label(out, "group", s->v->group, true);
    if (k1)
        label(out, k1, v1, false);
    if (k2)
        label(out, k2, v2, false);
    if (k3)
        label(out, k3, v3, false);
}

static void sample_u(FILE *out, const char *name, const snap_t *s, const char *k1, const char *v1,
                     const char *k2, const char *v2, uint64_t value)
{
    sample_start(out, name, s, k1, v1, k2, v2, NULL, NULL);
    fprintf(out, "} %" PRIu64 "\n", value);
}

static void sample_f(FILE *out, const char *name, const snap_t *s, const char *k1, const char *v1,
                     const char *k2, const char *v2, double value)
{
    sample_start(out, name, s, k1, v1, k2, v2, NULL, NULL);
    fprintf(out, "} %.15g\n", value);
}

/* One histogram's samples: _bucket per bound (cum[i] at bounds[i]), +Inf,
 * _sum and _count. */
static void histogram(FILE *out, const char *name, const snap_t *s, const char *k1,
                      const char *v1, const char *k2, const char *v2, const double *bounds,
                      const uint64_t *cum, size_t n, uint64_t count, double sum)
{
    char b[160], le[32];
    snprintf(b, sizeof b, "%s_bucket", name);
    for (size_t i = 0; i <= n; i++) {
        if (i < n)
            snprintf(le, sizeof le, "%g", bounds[i]);
        sample_start(out, b, s, k1, v1, k2, v2, "le", i < n ? le : "+Inf");
        fprintf(out, "} %" PRIu64 "\n", i < n ? cum[i] : count);
    }
    snprintf(b, sizeof b, "%s_sum", name);
    sample_f(out, b, s, k1, v1, k2, v2, sum);
    snprintf(b, sizeof b, "%s_count", name);
    sample_u(out, b, s, k1, v1, k2, v2, count);
}

static bool has_time(int64_t ms) { return ms != DF_NO_TIME && ms < INT64_MAX - 1; }

static void write_topics(FILE *out, const snap_t *s, size_t n)
{
    family(out, "streamlab_input_records_total", "counter",
           "Records the engine read from an input topic (new ones: not read again after a restart).");
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < s[i].ntopics; t++)
            if (s[i].topics[t].role == ENGINE_TOPIC_INPUT)
                sample_u(out, "streamlab_input_records_total", &s[i], "topic",
                         s[i].topics[t].topic, NULL, NULL, s[i].topics[t].records);
    family(out, "streamlab_output_records_total", "counter",
           "Records delivered to an output topic (kind: result, or side for dead letters and late records).");
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < s[i].ntopics; t++)
            if (s[i].topics[t].role != ENGINE_TOPIC_INPUT)
                sample_u(out, "streamlab_output_records_total", &s[i], "topic",
                         s[i].topics[t].topic, "kind",
                         s[i].topics[t].role == ENGINE_TOPIC_SIDE ? "side" : "result",
                         s[i].topics[t].records);
    family(out, "streamlab_output_delivery_failures_total", "counter",
           "Output records the broker did not take (failed deliveries).");
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < s[i].ntopics; t++)
            if (s[i].topics[t].role != ENGINE_TOPIC_INPUT)
                sample_u(out, "streamlab_output_delivery_failures_total", &s[i], "topic",
                         s[i].topics[t].topic, NULL, NULL, s[i].topics[t].failed);
}

static void write_operators(FILE *out, const snap_t *s, size_t n)
{
    static const struct {
        const char *name, *help;
        size_t at;
    } fams[] = {
        {"streamlab_operator_records_in_total", "Records into an operator of a pipeline.",
         offsetof(df_op_metrics_t, in)},
        {"streamlab_operator_records_out_total", "Records out of an operator of a pipeline.",
         offsetof(df_op_metrics_t, out)},
        {"streamlab_operator_records_late_total",
         "Records an event-time window got after the watermark had passed its end (a pattern: "
         "records at or behind its watermark).",
         offsetof(df_op_metrics_t, late)},
        {"streamlab_operator_records_dead_lettered_total",
         "Records an operator sent to a dead-letter topic (they did not parse or validate).",
         offsetof(df_op_metrics_t, dlq)},
    };
    for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) {
        family(out, fams[f].name, "counter", fams[f].help);
        for (size_t i = 0; i < n; i++)
            for (size_t g = 0; g < s[i].njobs; g++) {
                const job_snap_t *js = &s[i].jobs[g];
                for (size_t o = 0; o < js->nops; o++)
                    sample_u(out, fams[f].name, &s[i], "pipeline", js->st.name, "operator",
                             js->ops[o].name,
                             *(const uint64_t *)((const char *)&js->ops[o] + fams[f].at));
            }
    }
}

static void write_time(FILE *out, const snap_t *s, size_t n)
{
    family(out, "streamlab_input_watermark_timestamp_seconds", "gauge",
           "Watermark of an input partition (its newest event time - the out-of-orderness bound - 1 ms), Unix time.");
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < s[i].njobs; g++) {
            const job_snap_t *js = &s[i].jobs[g];
            for (size_t p = 0; p < js->nparts; p++) {
                char part[16];
                snprintf(part, sizeof part, "%d", (int)js->parts[p].partition);
                sample_start(out, "streamlab_input_watermark_timestamp_seconds", &s[i], "pipeline",
                             js->st.name, "topic", js->parts[p].topic, "partition", part);
                fprintf(out, "} %.3f\n", js->parts[p].watermark_ms / 1e3);
            }
        }
    family(out, "streamlab_pipeline_watermark_timestamp_seconds", "gauge",
           "Watermark of a pipeline (the minimum over its input partitions that are not idle), Unix time.");
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < s[i].njobs; g++)
            if (has_time(s[i].jobs[g].watermark_ms))
                sample_f(out, "streamlab_pipeline_watermark_timestamp_seconds", &s[i], "pipeline",
                         s[i].jobs[g].st.name, NULL, NULL, s[i].jobs[g].watermark_ms / 1e3);
    family(out, "streamlab_event_to_sink_latency_seconds", "histogram",
           "From a record's Kafka timestamp to the outputs it caused, per output topic.");
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < s[i].njobs; g++) {
            const job_snap_t *js = &s[i].jobs[g];
            for (size_t l = 0; l < js->nlat; l++)
                histogram(out, "streamlab_event_to_sink_latency_seconds", &s[i], "pipeline",
                          js->st.name, "topic", js->lat[l].topic, metrics_latency_le_s,
                          js->lat[l].cum, METRICS_LATENCY_BUCKETS, js->lat[l].count,
                          js->lat[l].sum_us / 1e6);
        }
}

static void write_lag(FILE *out, const snap_t *s, size_t n)
{
    family(out, "streamlab_consumer_lag_records", "gauge",
           "Records in an input partition past the group's committed offset (end offset - committed).");
    for (size_t i = 0; i < n; i++) {
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(s[i].v->lag, "partitions"), k, p) {
            json_t *lag = json_object_get(p, "lag");
            if (!json_is_integer(lag))
                continue;
            char part[16];
            snprintf(part, sizeof part, "%d", (int)json_integer_value(json_object_get(p, "partition")));
            sample_start(out, "streamlab_consumer_lag_records", &s[i], "topic",
                         json_string_value(json_object_get(p, "topic")), "partition", part, NULL,
                         NULL);
            fprintf(out, "} %lld\n", (long long)json_integer_value(lag));
        }
    }
}

static void write_engine(FILE *out, const snap_t *s, size_t n)
{
    family(out, "streamlab_checkpoint_duration_seconds", "histogram",
           "Checkpoints committed (exactly-once: a transaction; at-least-once: offsets after their outputs were delivered), from their start to their commit.");
    for (size_t i = 0; i < n; i++)
        histogram(out, "streamlab_checkpoint_duration_seconds", &s[i], NULL, NULL, NULL, NULL,
                  engine_checkpoint_le_s, s[i].ckpt.le, ENGINE_CKPT_BUCKETS, s[i].ckpt.count,
                  s[i].ckpt.sum_s);
    family(out, "streamlab_checkpoints_total", "counter", "Checkpoints committed.");
    for (size_t i = 0; i < n; i++)
        sample_u(out, "streamlab_checkpoints_total", &s[i], NULL, NULL, NULL, NULL,
                 s[i].ckpt.count);
    family(out, "streamlab_broker_outages_total", "counter",
           "Broker outages the engine went through (it lost every broker, then got one back).");
    for (size_t i = 0; i < n; i++)
        sample_u(out, "streamlab_broker_outages_total", &s[i], NULL, NULL, NULL, NULL,
                 s[i].outages);
    family(out, "streamlab_broker_outage_seconds_total", "counter",
           "Time the engine spent without a broker, ended outages.");
    for (size_t i = 0; i < n; i++)
        sample_f(out, "streamlab_broker_outage_seconds_total", &s[i], NULL, NULL, NULL, NULL,
                 s[i].outage_s);
    family(out, "streamlab_engine_restarts_total", "counter",
           "Engines started again from the last commit after a failed run.");
    for (size_t i = 0; i < n; i++)
        sample_u(out, "streamlab_engine_restarts_total", &s[i], NULL, NULL, NULL, NULL,
                 s[i].v->restarts);
    family(out, "streamlab_records_lost_to_retention_total", "counter",
           "Records the broker's retention removed before the engine read them.");
    for (size_t i = 0; i < n; i++)
        sample_u(out, "streamlab_records_lost_to_retention_total", &s[i], NULL, NULL, NULL, NULL,
                 s[i].lost);
    family(out, "streamlab_pipeline_queue_batches", "gauge",
           "Batches of input records queued or running between the consumer and a pipeline's workers.");
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < s[i].njobs; g++)
            sample_u(out, "streamlab_pipeline_queue_batches", &s[i], "pipeline",
                     s[i].jobs[g].st.name, NULL, NULL, (uint64_t)s[i].jobs[g].st.queue_depth);
    family(out, "streamlab_pipeline_backpressure_seconds_total", "counter",
           "Time the consumer waited for room in a pipeline's queue.");
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < s[i].njobs; g++)
            sample_f(out, "streamlab_pipeline_backpressure_seconds_total", &s[i], "pipeline",
                     s[i].jobs[g].st.name, NULL, NULL, s[i].jobs[g].blocked_us / 1e6);
    family(out, "streamlab_pipeline_worker_threads", "gauge", "Worker threads of a pipeline.");
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < s[i].njobs; g++)
            sample_u(out, "streamlab_pipeline_worker_threads", &s[i], "pipeline",
                     s[i].jobs[g].st.name, NULL, NULL, (uint64_t)s[i].jobs[g].st.workers);
}

void metrics_write(FILE *out, const metrics_engine_t *v, size_t n)
{
    snap_t *s = xcalloc(n ? n : 1, sizeof *s);
    for (size_t i = 0; i < n; i++)
        take(&s[i], &v[i]);
    write_topics(out, s, n);
    write_operators(out, s, n);
    write_time(out, s, n);
    write_lag(out, s, n);
    write_engine(out, s, n);
    free(s);
}
