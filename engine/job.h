/* job.h — one pipeline running on N worker threads (Flink's parallelism).
 *
 * A job builds the pipeline's graph once per worker.  Input records are
 * gathered into batches (up to JOB_BATCH records, or fewer when the caller
 * ticks or syncs); a bounded queue of batches sits between the caller (the
 * Kafka consumer thread, or a replay's reader) and the workers, and its fill
 * level is a metric.  Within a batch:
 *
 *   1. every worker parses every N-th record (parsing is most of the cost);
 *   2. the first worker computes, in input order, the watermark and the
 *      event clock after each record (the same sequence one thread would see);
 *   3. every worker runs its records through the operators above the first
 *      key_by; at a key_by a record goes to the worker hash(key) % N owns;
 *   4. level by level, each worker takes the records of its keys in input
 *      order and fires its windows as the watermark passes them, exactly
 *      where a single thread would;
 *   5. the first worker sorts the batch's outputs by (input record, level, event
 *      time, key) and keeps them in the batch; the caller's thread hands them
 *      to the host in that order (df_job_drain, and every push, tick and sync).
 *
 * So a key's records stay in order on one worker, windows and keyed state
 * live with their key, and the outputs are the same, in the same order, for
 * any N (the canonical order of step 5 holds for N = 1 too).
 *
 * Threading: push/tick/sync/finish/assign/drain come from one caller thread,
 * and the host's emit runs on that thread only (a Kafka producer then has one
 * thread that calls it); the readers (metrics, counts) may be called from any
 * thread. */
#ifndef STREAMLAB_JOB_H
#define STREAMLAB_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/dataflow.h"
#include "engine/dataflow_exec.h"

#define JOB_BATCH 1024
#define JOB_QUEUE 4 /* batches between the caller and the workers */

typedef struct df_job df_job_t;

/* Builds a graph per worker: build(host, arg) with a host of the worker's own.
 * Called workers times (clamped to 1..64) before df_job_new returns; arg is
 * not kept.  host is copied.  event_clock: a replay's clock (see
 * df_graph_use_event_clock).  pipelines.h has pipeline_job() for a named
 * pipeline. */
typedef df_graph_t *(*df_build_fn)(const df_host_t *host, void *arg);
df_job_t *df_job_new(df_build_fn build, void *arg, int workers, const df_host_t *host,
                     bool event_clock);
/* Finishes nothing: call df_job_finish first for a bounded input. */
void df_job_free(df_job_t *j);

int df_job_workers(const df_job_t *j);
/* The first worker's graph, for what every copy shares: inputs, outputs,
 * side outputs.  Do not push to it. */
const df_graph_t *df_job_graph(const df_job_t *j);

/* Queues one input record (its bytes are copied).  ts_ms is its Kafka
 * timestamp (wall clock, for the event-to-sink latency) or 0.  Returns false
 * when no source of the pipeline reads topic. */
bool df_job_push(df_job_t *j, const char *topic, int32_t partition, int64_t offset,
                 const char *buf, size_t len, int64_t now_ms, int64_t ts_ms);
/* Closes the current batch with a tick at now_ms (idle partitions time out,
 * processing-time windows fire, timers run) and hands it to the workers. */
void df_job_tick(df_job_t *j, int64_t now_ms);
/* Gives the host the outputs of the batches the workers finished since the
 * last call, in order, without waiting (the caller's thread). */
void df_job_drain(df_job_t *j);
/* Hands over the current batch (if any) and waits until every queued batch
 * has been processed and its outputs given to the host. */
void df_job_sync(df_job_t *j);
/* End of a bounded input: a final watermark fires every open window; waits. */
void df_job_finish(df_job_t *j);
/* Partitions of topic that the job reads now (after a rebalance); syncs first. */
void df_job_assign(df_job_t *j, const char *topic, const int32_t *partitions, size_t n,
                   int64_t now_ms);

/* --- metrics (any thread) ------------------------------------------------- */
/* Operator metrics summed over the workers (watermarks: the job's). */
size_t df_job_metrics(const df_job_t *j, df_op_metrics_t *out, size_t max);
uint64_t df_job_dlq_count(const df_job_t *j);
uint64_t df_job_late_count(const df_job_t *j);
int64_t df_job_watermark(const df_job_t *j);
/* Batches queued or running, out of JOB_QUEUE, and the total time the caller
 * waited for a free slot (backpressure). */
int df_job_queue_depth(const df_job_t *j);
uint64_t df_job_blocked_us(const df_job_t *j);
/* Latency from a record's Kafka timestamp to the outputs it caused, in µs:
 * the p-th percentile (0-100) over topic's outputs (NULL: all outputs) since
 * the start; -1 when there is no sample. */
int64_t df_job_latency_us(const df_job_t *j, const char *topic, double p);
uint64_t df_job_latency_count(const df_job_t *j, const char *topic);
/* The same latencies as a histogram: cum[i] = how many were at most le_us[i]
 * (n bounds, ascending), their count and their sum in µs.  The recording
 * buckets are 1/8 of a power of two wide; a sample counts at its bucket's
 * middle, as in the percentiles. */
void df_job_latency_hist(const df_job_t *j, const char *topic, const int64_t *le_us, size_t n,
                         uint64_t *cum, uint64_t *count, double *sum_us);
/* The watermark of each input partition the job reads (max event time -
 * bound - 1 ms, as the first worker saw it after its last batch; partitions
 * without one yet are left out).  Returns how many were copied. */
typedef struct df_part_watermark {
    const char *topic; /* owned by the job's graph */
    int32_t partition;
    int64_t watermark_ms;
} df_part_watermark_t;
size_t df_job_partition_watermarks(const df_job_t *j, df_part_watermark_t *out, size_t max);
/* The same over all outputs of about the last window_ms (at most 15 s; one
 * second granularity): p50 and p99 in µs, -1 when no output was made then.
 * For a display read about once a second; any thread (a mutex of its own). */
void df_job_latency_recent_us(const df_job_t *j, int64_t window_ms, int64_t *p50, int64_t *p99);

/* --- state (exactly-once restore) -------------------------------------------
 * Keyed state can be written to a changelog and put back on start: track
 * it, drain what changed at each checkpoint (syncs first), and load each
 * piece into the worker that owns its key (before any record).  See
 * dataflow_exec.h for what a piece is. */
void df_job_track_state(df_job_t *j, bool on);
void df_job_state_drain(df_job_t *j, df_state_fn fn, void *opaque);
int df_job_state_load(df_job_t *j, int32_t partition, const char *op, const char *key,
                      const char *sub, json_t *value);
/* Restore of process operators' state that needs their records again (see
 * df_graph_replay): the ranges to read, one record read again, the end. */
void df_job_replay_ranges(df_job_t *j,
                          void (*fn)(void *opaque, const char *topic, int32_t partition,
                                     int64_t from),
                          void *opaque);
void df_job_replay(df_job_t *j, const char *topic, int32_t partition, int64_t offset,
                   const char *buf, size_t len);
void df_job_replay_done(df_job_t *j);
/* Forgets all keyed state (syncs first): after its partitions were revoked
 * and checkpointed, the next owner restores it from the changelog. */
void df_job_state_clear(df_job_t *j);

/* --- repartition topics (see df_key_by_repartition) ---------------------------
 * set_upstream: the upstream input's partition count, before any record.
 * source_marks: syncs, then hands fn the watermark of every input partition
 * the job reads, for the host to write as markers (after the records made
 * before it).  marks_final: syncs; every repartition partition the job reads
 * has every upstream partition's final marker. */
void df_job_set_upstream(df_job_t *j, const char *topic, int partitions);
void df_job_source_marks(df_job_t *j, int64_t now_ms,
                         void (*fn)(void *opaque, const char *topic, int32_t partition, int64_t wm,
                                    bool idle),
                         void *opaque);
bool df_job_marks_final(df_job_t *j);

#endif
