/* engine_int.h — the Kafka host's own header: what engine.c, checkpoint.c,
 * restore.c, repartition.c, positions.c and stats.c share (the engine struct,
 * its topic and position tables, and the functions one of them calls in
 * another).  Private to those files: nothing else includes it; the API is
 * engine.h.
 *
 * The functions keep the short names they had when engine.c was one file;
 * they are global only so that the split files can call each other.  Every
 * one of them runs on the engine thread (the one in engine_run), as before. */
#ifndef STREAMLAB_ENGINE_INT_H
#define STREAMLAB_ENGINE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/job.h"
#include "engine/kafka/engine.h"
#include "engine/kafka/kafka.h"

#define MAX_GRAPHS 8
#define MAX_TOPICS 64
/* Reading nothing this long while records wait past our position is a stall. */
#define ENGINE_STALL_MS 3000
/* The run loop's timers (ms): ticks (idle partitions time out, batches go,
 * watermark markers), the stall check, the resume of partitions a rebalance
 * left paused after --settle, and the checks for a bounded end. */
#define ENGINE_TICK_MS 100
/* Records taken from the consumer's queue per loop (rd_kafka_consume_batch_queue):
 * the loop's own work (draining outputs, serving the producer, commits, clocks)
 * is done once per batch.  512: the replay batches are 1024 (JOB_BATCH). */
#define ENGINE_CONSUME_BATCH 512
#define ENGINE_STALL_CHECK_MS 1000
#define ENGINE_RESUME_MS 1000
#define ENGINE_FINISH_CHECK_MS 200
#define ENGINE_END_CHECK_MS 500
/* librdkafka calls that wait on a broker (ms): a transaction's steps and the
 * final flush, and the queries of offsets and metadata. */
#define ENGINE_TXN_TIMEOUT_MS 30000
#define ENGINE_TXN_COMMIT_TIMEOUT_MS 60000
#define ENGINE_QUERY_TIMEOUT_MS 5000
#define ENGINE_METADATA_TIMEOUT_MS 10000
/* After a failed landing on the log start, land this fraction of the
 * retained range past it (see reposition). */
#define ENGINE_LANDING_FRACTION 4

typedef struct topic_stat {
    const char *name; /* owned by a graph */
    char *out_name;   /* the topic written: name + the output suffix */
    rd_kafka_topic_t *rkt;
    bool input, side; /* side: a dead-letter or late-record topic */
    /* A repartition topic (the graph's name; out_name/real the topic
     * streamlab-<group>-<name>): written and read back, counted in neither
     * the summary's input nor its output. */
    bool repart;
    int nparts; /* repartition: its partition count (markers go to each) */
    _Atomic uint64_t count;  /* input: new records; output: delivered */
    _Atomic uint64_t failed; /* output: failed deliveries */
} topic_stat_t;

typedef struct position {
    topic_stat_t *topic;
    int32_t partition;
    int64_t next_offset; /* -1 until the first record */
    bool got;            /* a record came since this assignment */
    /* Landings at (or past) the log start since the partition was last read
     * to its end (see reposition). */
    int landings;
} position_t;

struct engine {
    const kconf_t *k;
    engine_opts_t o;
    pipeline_params_t *params;
    df_job_t *jobs[MAX_GRAPHS]; /* one per pipeline, each on params->workers threads */
    size_t njobs;
    topic_stat_t topics[MAX_TOPICS];
    size_t ntopics;
    position_t *pos;
    size_t npos;
    rd_kafka_t *cons, *prod;
    rd_kafka_queue_t *cq; /* the consumer's queue, read in batches (engine_run) */
    _Atomic bool stop;
    _Atomic bool joined; /* the group gave it partitions once (engine_joined) */
    bool ending;     /* the last checkpoint: no new transaction after it */
    bool txn_failed; /* exactly-once: a transaction could not be committed */
    _Atomic uint64_t transactions; /* committed */
    /* Checkpoints done (a transaction committed, or at-least-once offsets
     * committed) and how long each took from its start to its commit:
     * per bucket of engine_checkpoint_le_s (not cumulative), count, sum.
     * Written by the engine thread (checkpoint.c), read by engine_checkpoints. */
    _Atomic uint64_t ckpt_bucket[ENGINE_CKPT_BUCKETS + 1], ckpt_count, ckpt_sum_us;
    int64_t pending_since_us; /* at-least-once: when the pending commit's checkpoint began */
    char state_topic[300];  /* exactly-once: the changelog of keyed state */
    rd_kafka_topic_t *state_rkt;
    uint64_t state_written, restored;
    uint64_t replayed; /* input records read again to rebuild process state */
    int64_t restore_ms; /* how long reading the changelog and loading it took */
    /* Exactly-once: the input offsets of the last committed transaction, as
     * "topic\tpartition" -> next offset.  Written to the changelog in each
     * transaction and restored from it, so a restart resumes exactly there
     * on any broker (the embedded one keeps no transactional offset commits
     * for its groups). */
    json_t *committed;
    /* Broker outages seen by the consumer: since when (mono µs, 0 = none),
     * how many and how long in all. */
    _Atomic int64_t down_since_ms; /* wall clock */
    _Atomic uint64_t outages, outage_ms;
    _Atomic uint64_t lost_to_retention; /* records removed before they were read */
    bool pending; /* records pushed since the last tick */
    _Atomic uint64_t target, input_total, output_total;
    /* Outputs not yet answered by the producer, by checkpoint epoch (its low
     * bit travels in each message's opaque).  A checkpoint waiting for its
     * outputs (pending_commit) is committed once its epoch has none left. */
    _Atomic int64_t inflight[2];
    unsigned epoch;
    rd_kafka_topic_partition_list_t *pending_commit;
    int64_t first_input_us, last_delivery_us;
    char error[512]; /* first fatal delivery error */
    /* Repartition topics (o.repartition): the upstream input partitions
     * whose end was reached ("topic\tpartition"; their final markers went
     * out), the last marker written per upstream partition, and whether
     * the bounded end has begun (waiting for every final marker). */
    json_t *finalized, *marked;
    bool finishing;
    /* Rebalance pauses: from a revocation to the first record processed
     * after the next assignment (ms each, in the summary). */
    int64_t revoked_us;
    json_t *pauses;
    bool settling; /* o.settle_ms: assigned partitions stay paused until it ends */
    /* Partitions are assigned (false from a revocation to the next assignment:
     * with none, "every repartition partition is final" would hold vacuously). */
    bool assigned;
    /* Stall detection (engine thread): when the last record came, the last
     * consumer error, and whether a stall was logged.  `stall` is what the
     * console shows ("" when reading), under stall_lock. */
    int64_t last_record_ms;
    char consumer_error[256];
    bool stall_logged;
    pthread_mutex_t stall_lock;
    char stall[384];
};

/* The topic Kafka knows: a repartition topic's real name, else its own. */
static inline const char *real_name(const topic_stat_t *t)
{
    return t->repart ? t->out_name : t->name;
}

/* engine.c: the topic and position tables, outputs, outages. */
/* The topic of that name (the graph's), added on first use. */
topic_stat_t *topic_stat(engine_t *e, const char *name);
/* The topic of a record read from Kafka (a repartition topic by its real name). */
topic_stat_t *by_real(engine_t *e, const char *name);
/* Where we are in partition of t, added (next_offset -1) on first use. */
position_t *position(engine_t *e, topic_stat_t *t, int32_t partition);
/* An output librdkafka refused (payload is freed). */
void produce_failed(engine_t *e, topic_stat_t *t, unsigned slot, rd_kafka_resp_err_t err,
                    char *payload);
/* The broker answered a request made at asked_ms: an outage before it ends. */
void broker_back(engine_t *e, int64_t asked_ms);

/* checkpoint.c: commits (at-least-once) and transactions (exactly-once). */
/* Commits a pending at-least-once checkpoint whose outputs are all answered. */
void commit_ready(engine_t *e);
/* One checkpoint: sync forces the flush and commit now (shutdown, rebalance).
 * False when it failed (a flush timed out, a transaction failed). */
bool checkpoint(engine_t *e, bool sync);
/* Runs one transactional call with retries; false (engine stopping) on failure. */
bool txn_ok(engine_t *e, const char *what, rd_kafka_error_t *(*call)(engine_t *, void *),
            void *arg);
rd_kafka_error_t *call_begin(engine_t *e, void *arg); /* for txn_ok */
rd_kafka_error_t *call_init(engine_t *e, void *arg);

/* restore.c: exactly-once state from the changelog, and inputs read again. */
/* Loads the state owned by the partitions in owned ("topic/partition" -> true). */
int restore_state(engine_t *e, json_t *owned, char *errstr, size_t errstr_size);

/* repartition.c: repartition topics and their watermark markers. */
int setup_repartition(engine_t *e, char *errstr, size_t errstr_size);
void write_markers(engine_t *e);
int finalize_inputs(engine_t *e, bool only_caught_up);
bool marks_final(engine_t *e);

/* positions.c: the assignment and where each partition reads from. */
/* The consumer's rebalance callback (make_consumer sets it). */
void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                  void *opaque);
void retention_check(engine_t *e, position_t *p, const rd_kafka_message_t *m);
void reposition(engine_t *e, const rd_kafka_message_t *m);
void stall_check(engine_t *e, int64_t now);
bool part_caught_up(engine_t *e, const char *topic, int32_t partition);
bool caught_up(engine_t *e);
void resume_unfinalized(engine_t *e);

#endif
