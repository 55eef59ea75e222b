/* stats.c — the Kafka host's figures (see engine.c): the live counters that
 * other threads read (atomics with a single writer, the engine thread), the
 * metrics of each pipeline's job, and the summary at the end. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/kafka/engine_int.h"

void engine_outages(const engine_t *e, uint64_t *count, double *seconds, bool *down_now)
{
    engine_t *m = (engine_t *)e;
    *count = atomic_load(&m->outages);
    *seconds = atomic_load(&m->outage_ms) / 1e3;
    *down_now = atomic_load(&m->down_since_ms) != 0;
}

uint64_t engine_lost_to_retention(const engine_t *e)
{
    return atomic_load(&((engine_t *)e)->lost_to_retention);
}

uint64_t engine_input_count(const engine_t *e) { return atomic_load(&e->input_total); }
uint64_t engine_output_count(const engine_t *e) { return atomic_load(&e->output_total); }

uint64_t engine_dlq_count(const engine_t *e)
{
    uint64_t n = 0;
    for (size_t i = 0; i < e->njobs; i++)
        n += df_job_dlq_count(e->jobs[i]);
    return n;
}

uint64_t engine_late_count(const engine_t *e)
{
    uint64_t n = 0;
    for (size_t i = 0; i < e->njobs; i++)
        n += df_job_late_count(e->jobs[i]);
    return n;
}

int64_t engine_watermark(const engine_t *e)
{
    return e->njobs ? df_job_watermark(e->jobs[0]) : DF_NO_TIME;
}

size_t engine_metrics(const engine_t *e, df_op_metrics_t *out, size_t max)
{
    size_t n = 0;
    for (size_t g = 0; g < e->njobs && n < max; g++) {
        size_t total = df_job_metrics(e->jobs[g], out + n, max - n);
        total = total < max - n ? total : max - n;
        for (size_t i = n; i < n + total; i++) /* parents index the whole array */
            if (out[i].parent >= 0)
                out[i].parent += (int)n;
        n += total;
    }
    return n;
}

size_t engine_read_topics(const engine_t *e, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < e->ntopics && n < max; i++)
        if (e->topics[i].input || e->topics[i].repart)
            out[n++] = real_name(&e->topics[i]);
    return n;
}

json_t *engine_summary(const engine_t *e)
{
    json_t *in = json_object(), *out = json_object();
    uint64_t failed = 0, late = 0, input = 0;
    for (size_t i = 0; i < e->ntopics; i++) {
        const topic_stat_t *t = &e->topics[i];
        uint64_t n = atomic_load(&t->count);
        failed += atomic_load(&t->failed);
        if (t->repart) {
            continue;
        } else if (t->input) {
            json_object_set_new(in, t->name, json_integer((json_int_t)n));
            input += n;
        } else if (!t->side) {
            json_object_set_new(out, t->name, json_integer((json_int_t)n));
        }
    }
    for (size_t g = 0; g < e->njobs; g++)
        late += df_job_late_count(e->jobs[g]);
    double elapsed = e->first_input_us && e->last_delivery_us > e->first_input_us
                         ? (e->last_delivery_us - e->first_input_us) / 1e6
                         : 0.0;
    json_t *s = json_pack("{sosos:Is:Is:fs:fs:I}", "input", in, "output", out, "dlq",
                          (json_int_t)engine_dlq_count(e), "late", (json_int_t)late, "processing_s",
                          round(elapsed * 1000) / 1000, "rate",
                          elapsed > 0 ? round(input / elapsed) : 0.0, "delivery_failed",
                          (json_int_t)failed);
    json_object_set_new(s, "metrics", engine_metrics_json(e));
    json_object_set_new(s, "lost_to_retention",
                        json_integer((json_int_t)atomic_load(&((engine_t *)e)->lost_to_retention)));
    json_object_set_new(s, "outages", json_integer((json_int_t)atomic_load(&((engine_t *)e)->outages)));
    json_object_set_new(s, "outage_s",
                        json_real(round(atomic_load(&((engine_t *)e)->outage_ms) / 1e2) / 10));
    json_object_set_new(s, "mode", json_string(e->o.at_least_once ? "at-least-once"
                                                                  : "exactly-once"));
    if (!e->o.at_least_once) {
        /* Kafka transactions committed (not records: those are under "input") */
        json_object_set_new(s, "kafka_transactions_committed", json_integer((json_int_t)atomic_load(
                                                   &((engine_t *)e)->transactions)));
        json_object_set_new(s, "state_restored", json_integer((json_int_t)e->restored));
        json_object_set_new(s, "records_replayed", json_integer((json_int_t)e->replayed));
        json_object_set_new(s, "restore_s", json_real(round(e->restore_ms / 10.0) / 100));
        json_object_set_new(s, "state_written", json_integer((json_int_t)e->state_written));
        json_object_set_new(s, "rebalance_pause_ms", json_deep_copy(e->pauses));
    }
    return s;
}

size_t engine_job_stats(const engine_t *e, engine_job_stats_t *out, size_t max)
{
    size_t n = 0;
    for (; n < e->njobs && n < max; n++) {
        const df_job_t *j = e->jobs[n];
        out[n] = (engine_job_stats_t){.name = df_graph_name(df_job_graph(j)),
                                      .workers = df_job_workers(j),
                                      .queue_depth = df_job_queue_depth(j),
                                      .queue_capacity = JOB_QUEUE};
        /* the last seconds, not since the start: a burst long over must not
         * stay in the figures for the rest of the session */
        df_job_latency_recent_us(j, ENGINE_LATENCY_WINDOW_MS, &out[n].p50_us, &out[n].p99_us);
    }
    return n;
}

/* Latency percentiles in ms (null without samples). */
static json_t *latency_json(const df_job_t *j, const char *topic)
{
    int64_t p50 = df_job_latency_us(j, topic, 50), p99 = df_job_latency_us(j, topic, 99);
    return json_pack("{sososI}", "p50_ms", p50 < 0 ? json_null() : json_real(p50 / 1000.0),
                     "p99_ms", p99 < 0 ? json_null() : json_real(p99 / 1000.0), "samples",
                     (json_int_t)df_job_latency_count(j, topic));
}

json_t *engine_metrics_json(const engine_t *e)
{
    json_t *pipes = json_object();
    df_op_metrics_t m[64];
    for (size_t g = 0; g < e->njobs; g++) {
        const df_job_t *j = e->jobs[g];
        const df_graph_t *graph = df_job_graph(j);
        json_t *ops = json_array();
        size_t n = df_job_metrics(j, m, 64);
        for (size_t i = 0; i < n && i < 64; i++) {
            json_t *op = json_pack("{sssIsIsIsI}", "name", m[i].name, "in", (json_int_t)m[i].in,
                                   "out", (json_int_t)m[i].out, "late", (json_int_t)m[i].late,
                                   "dlq", (json_int_t)m[i].dlq);
            if (m[i].watermark_ms != DF_NO_TIME && m[i].watermark_ms < INT64_MAX - 1) {
                char ts[EVTIME_BUFSIZE];
                json_object_set_new(op, "watermark", json_string(evtime_format(m[i].watermark_ms, ts)));
            }
            if (!strncmp(m[i].name, "sink:", 5))
                json_object_set_new(op, "latency", latency_json(j, m[i].name + 5));
            json_array_append_new(ops, op);
        }
        json_object_set_new(pipes, df_graph_name(graph),
                            json_pack("{sisisIsoso}", "workers", df_job_workers(j), "queue_depth",
                                      df_job_queue_depth(j), "queue_blocked_ms",
                                      (json_int_t)(df_job_blocked_us(j) / 1000), "latency",
                                      latency_json(j, NULL), "operators", ops));
    }
    json_object_set_new(pipes, "queue_capacity", json_integer(JOB_QUEUE));
    return pipes;
}

bool engine_joined(const engine_t *e) { return e && atomic_load(&e->joined); }

void engine_checkpoints(const engine_t *e, engine_checkpoints_t *out)
{
    engine_t *m = (engine_t *)e;
    /* the count last: no bucket then holds more than it says */
    uint64_t cum = 0;
    for (size_t b = 0; b < ENGINE_CKPT_BUCKETS; b++) {
        cum += atomic_load_explicit(&m->ckpt_bucket[b], memory_order_relaxed);
        out->le[b] = cum;
    }
    out->sum_s = atomic_load_explicit(&m->ckpt_sum_us, memory_order_relaxed) / 1e6;
    out->count = atomic_load_explicit(&m->ckpt_count, memory_order_relaxed);
    if (out->count < cum)
        out->count = cum;
}

size_t engine_topic_stats(const engine_t *e, engine_topic_stats_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < e->ntopics && n < max; i++) {
        const topic_stat_t *t = &e->topics[i];
        if (t->repart)
            continue;
        out[n++] = (engine_topic_stats_t){
            .topic = t->name,
            .role = t->input ? ENGINE_TOPIC_INPUT : t->side ? ENGINE_TOPIC_SIDE : ENGINE_TOPIC_OUTPUT,
            .records = atomic_load(&((topic_stat_t *)t)->count),
            .failed = atomic_load(&((topic_stat_t *)t)->failed)};
    }
    return n;
}

const df_job_t *engine_job(const engine_t *e, size_t i) { return i < e->njobs ? e->jobs[i] : NULL; }
