/* engine.h — runs pipelines against Kafka: one consumer group member that
 * feeds the dataflow graphs, one producer that carries their outputs.
 *
 * Threading: engine_run() blocks the calling thread, which owns both Kafka
 * handles and the jobs.  engine_stop(), engine_set_target() and the stats
 * readers may be called from any thread.  Delivery is exactly-once by
 * default: every checkpoint (1 s) commits the outputs and the input offsets
 * that led to them in one Kafka transaction.  At-least-once: the offsets are
 * committed once the outputs made before them are delivered. */
#ifndef STREAMLAB_ENGINE_H
#define STREAMLAB_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/job.h"
#include "engine/kafka/kconf.h"
#include "engine/pipelines/pipelines.h"

typedef struct engine engine_t;

typedef struct engine_opts {
    const char *pipelines; /* comma-separated names, e.g. "transactions" */
    const char *group;     /* consumer group id */
    uint64_t count;        /* stop after this many new input records (0: no limit) */
    double duration_s;     /* stop after this long (0: no limit) */
    int64_t checkpoint_ms; /* flush + commit interval */
    /* Exactly-once (the default): outputs and input offsets commit in one
     * Kafka transaction per checkpoint, with transactional.id
     * streamlab-<group>-<instance> (one instance id per process of a group).
     * at_least_once: commit offsets after the outputs are delivered. */
    bool at_least_once;
    const char *instance;
    const char *suffix; /* appended to every output topic ("" by default) */
    bool until_end;     /* stop once every partition is read to its end (a bounded input) */
    /* Scale-out: windows keyed by something other than the input's key go
     * through a repartition topic streamlab-<group>-repartition-<name>, so
     * that several processes of one group split them (see repartition.c). */
    bool repartition;
    /* Wait this long after subscribing before reading (assigned partitions
     * stay paused meanwhile, rebalances go on): processes started together
     * then split the partitions from the first record.  0: read at once. */
    int64_t settle_ms;
} engine_opts_t;

void engine_opts_init(engine_opts_t *o);

/* A new engine (nothing runs yet).  kconf and params are borrowed and must
 * outlive the engine.  Returns NULL with errstr filled (unknown pipeline, bad
 * -X property). */
engine_t *engine_new(const kconf_t *k, const engine_opts_t *o, pipeline_params_t *params,
                     char *errstr, size_t errstr_size);
void engine_free(engine_t *e);

/* Runs until a stop condition: count reached (then a final watermark fires
 * every open window), duration elapsed, or engine_stop().  Flushes and
 * commits before it returns.  0, or -1 with errstr filled (Kafka errors,
 * failed deliveries). */
int engine_run(engine_t *e, char *errstr, size_t errstr_size);

/* Asks engine_run to finish soon (async-signal-safe: one atomic store). */
void engine_stop(engine_t *e);
/* Sets (or raises) the count target while running: stop once this many new
 * input records are processed, ending the input as a bounded one. */
void engine_set_target(engine_t *e, uint64_t count);

/* Live figures (any thread). */
/* Broker outages the engine went through (the consumer lost every broker
 * and got one back), their total length, and whether one is on now. */
void engine_outages(const engine_t *e, uint64_t *count, double *seconds, bool *down_now);
uint64_t engine_input_count(const engine_t *e);
/* Records that retention removed before the engine read them (its position
 * fell behind the log start). */
uint64_t engine_lost_to_retention(const engine_t *e);    /* records at new offsets */
/* Whether the engine is stalled: records wait past its position in assigned
 * input partitions and it read none for a few seconds.  Fills why with the
 * reason ("" when reading).  Any thread. */
bool engine_stall(engine_t *e, char *why, size_t why_size);
/* Whether its group has given it partitions at least once (any thread). */
bool engine_joined(const engine_t *e);
/* The topics the engine's group reads (inputs and repartition topics, by
 * their names in Kafka), at most max; the strings are the engine's and live
 * as long as it does.  Returns the count. */
size_t engine_read_topics(const engine_t *e, const char **out, size_t max);
uint64_t engine_output_count(const engine_t *e);   /* delivered, all topics */
uint64_t engine_dlq_count(const engine_t *e);
uint64_t engine_late_count(const engine_t *e);
int64_t engine_watermark(const engine_t *e); /* of the first pipeline; DF_NO_TIME if none */
/* Operator metrics of every pipeline (see df_graph_metrics); returns the count copied. */
size_t engine_metrics(const engine_t *e, df_op_metrics_t *out, size_t max);

/* Checkpoints completed (exactly-once: transactions committed; at-least-once:
 * offsets committed after their outputs were delivered) and their durations,
 * from the checkpoint's start to its commit, as a histogram: le[i] counts
 * those of at most engine_checkpoint_le_s[i] seconds (cumulative). */
#define ENGINE_CKPT_BUCKETS 12
extern const double engine_checkpoint_le_s[ENGINE_CKPT_BUCKETS];
typedef struct engine_checkpoints {
    uint64_t count;
    double sum_s;
    uint64_t le[ENGINE_CKPT_BUCKETS];
} engine_checkpoints_t;
void engine_checkpoints(const engine_t *e, engine_checkpoints_t *out);

/* Records per topic, one row per topic the engine reads or writes (any
 * thread): inputs count new records read, outputs the ones delivered (and
 * failed deliveries); side outputs are the dead-letter and late-record
 * topics.  Repartition topics are left out.  Names are the pipelines' (no
 * --suffix) and live as long as the engine.  Returns the count copied. */
typedef enum { ENGINE_TOPIC_INPUT, ENGINE_TOPIC_OUTPUT, ENGINE_TOPIC_SIDE } engine_topic_role_t;
typedef struct engine_topic_stats {
    const char *topic;
    engine_topic_role_t role;
    uint64_t records, failed;
} engine_topic_stats_t;
size_t engine_topic_stats(const engine_t *e, engine_topic_stats_t *out, size_t max);

/* One pipeline's job, for the console. */
typedef struct engine_job_stats {
    const char *name; /* the pipeline's */
    int workers, queue_depth, queue_capacity;
    int64_t p50_us, p99_us; /* event-to-sink latency over the last ENGINE_LATENCY_WINDOW_MS,
                               -1 without an output then */
} engine_job_stats_t;
#define ENGINE_LATENCY_WINDOW_MS 10000
size_t engine_job_stats(const engine_t *e, engine_job_stats_t *out, size_t max);
/* Pipeline i's job (i < the count engine_job_stats gives), for its readers
 * (df_job_metrics, df_job_latency_hist, df_job_partition_watermarks: any
 * thread); NULL past the end.  The engine owns it. */
const df_job_t *engine_job(const engine_t *e, size_t i);

/* Per pipeline: workers, queue depth (batches waiting, of queue_capacity)
 * and time the consumer waited for room, event-to-sink latency p50/p99
 * (from each record's Kafka timestamp to the outputs it caused), and per
 * operator in/out/late/dlq/watermark (sinks with their latency).  New
 * reference. */
json_t *engine_metrics_json(const engine_t *e);

/* The summary: {"input":{topic:N},"output":{topic:N},"dlq":N,"late":N,
 * "elapsed_s":S,"rate":R,...}.  New reference, caller owns it. */
json_t *engine_summary(const engine_t *e);

/* The name of a group's internal topic ("state", "repartition-<name>"):
 * streamlab-<group>-<what>, with "streamlab-" once when the group already
 * starts with it (streamlab-console-state, not streamlab-streamlab-console-state).
 * Names written before issue 19 doubled the prefix: state kept under such a
 * name is not read back (see docs/exactly-once.md). */
void engine_internal_topic(char *out, size_t size, const char *group, const char *what);
/* Whether a topic is internal: Kafka's own (__...) or a group's state or
 * repartition topic named by engine_internal_topic. */
bool engine_topic_is_internal(const char *topic);

#endif
