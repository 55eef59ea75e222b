/* engine.c — see engine.h.
 *
 * One thread does everything here: it polls the consumer, pushes each record
 * through its pipeline's graph (whose sinks call on_emit, which hands the
 * bytes to the producer without copying), serves producer delivery reports,
 * ticks watermarks every 100 ms and checkpoints every checkpoint_ms.  Counters
 * that other threads read are atomics with a single writer. */
#include "engine/kafka/engine.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/job.h"
#include "engine/kafka/kafka.h"
#include "engine/kafka/topics.h"
#include "engine/util.h"

#define MAX_GRAPHS 8
#define MAX_TOPICS 64
/* Reading nothing this long while records wait past our position is a stall. */
#define ENGINE_STALL_MS 3000
/* The run loop's timers (ms): ticks (idle partitions time out, batches go,
 * watermark markers), the stall check, the resume of partitions a rebalance
 * left paused after --settle, and the checks for a bounded end. */
#define ENGINE_TICK_MS 100
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
    _Atomic bool stop;
    bool ending;     /* the last checkpoint: no new transaction after it */
    bool txn_failed; /* exactly-once: a transaction could not be committed */
    _Atomic uint64_t transactions; /* committed */
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

void engine_opts_init(engine_opts_t *o)
{
    *o = (engine_opts_t){.pipelines = "transactions", .group = "streamlab-engine",
                         .checkpoint_ms = 1000, .instance = "0", .suffix = ""};
}

static topic_stat_t *topic_stat(engine_t *e, const char *name)
{
    for (size_t i = 0; i < e->ntopics; i++)
        if (e->topics[i].name == name || !strcmp(e->topics[i].name, name))
            return &e->topics[i];
    if (e->ntopics == MAX_TOPICS)
        util_fatal("too many topics");
    topic_stat_t *t = &e->topics[e->ntopics++];
    *t = (topic_stat_t){.name = name};
    for (size_t g = 0; g < e->njobs; g++)
        t->side |= df_graph_is_side_output(df_job_graph(e->jobs[g]), name);
    return t;
}

/* The topic Kafka knows: a repartition topic's real name, else its own. */
static const char *real_name(const topic_stat_t *t) { return t->repart ? t->out_name : t->name; }

/* The topic of a record read from Kafka (a repartition topic by its real name). */
static topic_stat_t *by_real(engine_t *e, const char *name)
{
    for (size_t i = 0; i < e->ntopics; i++)
        if (e->topics[i].repart && !strcmp(e->topics[i].out_name, name))
            return &e->topics[i];
    return topic_stat(e, name);
}

/* An output librdkafka refused: counted as failed (as a failed delivery is),
 * out of its checkpoint's count, the first error kept. */
static void produce_failed(engine_t *e, topic_stat_t *t, unsigned slot, rd_kafka_resp_err_t err,
                           char *payload)
{
    atomic_fetch_add(&t->failed, 1);
    atomic_fetch_sub_explicit(&e->inflight[slot], 1, memory_order_relaxed);
    if (!e->error[0])
        snprintf(e->error, sizeof e->error, "producing to %s: %s", real_name(t),
                 rd_kafka_err2str(err));
    free(payload);
}

static void on_emit(void *opaque, const char *topic, const char *key, size_t keylen, char *payload,
                    size_t len)
{
    engine_t *e = opaque;
    topic_stat_t *t = topic_stat(e, topic);
    if (!t->rkt) {
        if (!t->out_name) {
            t->out_name = xmalloc(strlen(t->name) + strlen(e->o.suffix) + 1);
            strcpy(stpcpy(t->out_name, t->name), e->o.suffix);
        }
        t->rkt = rd_kafka_topic_new(e->prod, t->out_name, NULL);
    }
    unsigned slot = e->epoch & 1;
    atomic_fetch_add_explicit(&e->inflight[slot], 1, memory_order_relaxed);
    rd_kafka_resp_err_t err = kafka_produce_wait(
        e->prod, t->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_FREE, payload, len, key, keylen,
        (void *)((uintptr_t)t | slot), NULL);
    if (err)
        produce_failed(e, t, slot, err, payload);
}

/* The broker answered a request made at asked_ms (wall clock): an outage
 * that began before that request ends. */
static void broker_back(engine_t *e, int64_t asked_ms)
{
    int64_t since = atomic_load(&e->down_since_ms);
    if (!since || asked_ms < since || !atomic_compare_exchange_strong(&e->down_since_ms, &since, 0))
        return;
    int64_t d = util_wall_ms() - since;
    atomic_fetch_add(&e->outages, 1);
    atomic_fetch_add(&e->outage_ms, (uint64_t)d);
    util_log("engine: the broker is back after %.1f s", d / 1e3);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    engine_t *e = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        int64_t none = 0;
        if (atomic_compare_exchange_strong(&e->down_since_ms, &none, util_wall_ms()))
            util_log("engine: broker unreachable (%s); waiting for it", reason);
        return;
    }
    util_log("engine: %s", reason);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    engine_t *e = opaque;
    topic_stat_t *t = (topic_stat_t *)((uintptr_t)m->_private & ~(uintptr_t)1);
    if (!m->err)
        broker_back(e, rd_kafka_message_timestamp(m, NULL));
    if (!t) { /* the state changelog (exactly-once: its transaction reports errors) */
        if (m->err && !e->error[0])
            snprintf(e->error, sizeof e->error, "writing state to %s: %s", e->state_topic,
                     rd_kafka_err2str(m->err));
        return;
    }
    atomic_fetch_sub_explicit(&e->inflight[(uintptr_t)m->_private & 1], 1, memory_order_release);
    if (m->err) {
        atomic_fetch_add(&t->failed, 1);
        if (!e->error[0])
            snprintf(e->error, sizeof e->error, "delivery to %s failed: %s", t->name,
                     rd_kafka_err2str(m->err));
        return;
    }
    atomic_store_explicit(&t->count, atomic_load_explicit(&t->count, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (!t->repart)
        atomic_fetch_add_explicit(&e->output_total, 1, memory_order_relaxed);
    e->last_delivery_us = util_mono_us();
}

engine_t *engine_new(const kconf_t *k, const engine_opts_t *o, pipeline_params_t *params,
                     char *errstr, size_t errstr_size)
{
    engine_t *e = xcalloc(1, sizeof *e);
    e->k = k;
    e->o = *o;
    e->committed = json_object();
    e->finalized = json_object();
    pthread_mutex_init(&e->stall_lock, NULL);
    e->marked = json_object();
    e->pauses = json_array();
    e->params = params;
    df_host_t host = {.emit = on_emit, .opaque = e, .repartition = o->repartition};
    char *list = xstrdup(o->pipelines);
    for (char *save, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const pipeline_def_t *def = pipelines_find(name);
        if (!def) {
            int n = snprintf(errstr, errstr_size, "unknown pipeline \"%s\"; known:", name);
            for (const pipeline_def_t *p = pipelines_all; p->name && n > 0 && (size_t)n < errstr_size; p++)
                n += snprintf(errstr + n, errstr_size - n, " %s (%s)", p->name, p->summary);
            free(list);
            engine_free(e);
            return NULL;
        }
        if (e->njobs < MAX_GRAPHS)
            e->jobs[e->njobs++] = pipeline_job(def, params, &host, false);
    }
    free(list);
    if (e->njobs == 0) {
        snprintf(errstr, errstr_size, "no pipeline given");
        engine_free(e);
        return NULL;
    }
    /* Every topic is known before a job emits (from its own thread). */
    for (size_t g = 0; g < e->njobs; g++) {
        for (const char *const *t = df_graph_inputs(df_job_graph(e->jobs[g])); *t; t++)
            topic_stat(e, *t)->input = true;
        for (const char *const *t = df_graph_outputs(df_job_graph(e->jobs[g])); *t; t++)
            topic_stat(e, *t);
        for (const char *const *t = df_graph_repartitions(df_job_graph(e->jobs[g])); *t; t++) {
            topic_stat_t *ts = topic_stat(e, *t);
            ts->repart = true;
            ts->input = false; /* read as the real name: see real_name */
            ts->out_name = xmalloc(strlen(o->group) + strlen(*t) + 16);
            sprintf(ts->out_name, "streamlab-%s-%s", o->group, *t);
        }
    }
    atomic_store(&e->target, o->count);
    return e;
}

void engine_free(engine_t *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->njobs; i++)
        df_job_free(e->jobs[i]);
    for (size_t i = 0; i < e->ntopics; i++)
        free(e->topics[i].out_name);
    json_decref(e->committed);
    json_decref(e->finalized);
    json_decref(e->marked);
    json_decref(e->pauses);
    pthread_mutex_destroy(&e->stall_lock);
    free(e->pos);
    free(e);
}

void engine_stop(engine_t *e) { atomic_store(&e->stop, true); }

void engine_set_target(engine_t *e, uint64_t count) { atomic_store(&e->target, count); }

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
        n += total < max - n ? total : max - n;
    }
    return n;
}

/* --- offsets ------------------------------------------------------------- */

static position_t *position(engine_t *e, topic_stat_t *t, int32_t partition)
{
    for (size_t i = 0; i < e->npos; i++)
        if (e->pos[i].topic == t && e->pos[i].partition == partition)
            return &e->pos[i];
    e->pos = xrealloc(e->pos, (e->npos + 1) * sizeof *e->pos);
    e->pos[e->npos] = (position_t){.topic = t, .partition = partition, .next_offset = -1};
    return &e->pos[e->npos++];
}

static void commit(engine_t *e, rd_kafka_topic_partition_list_t *l, bool sync)
{
    if (l->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_commit(e->cons, l, sync ? 0 : 1);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            util_log("engine: committing offsets: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Commits a pending checkpoint whose outputs have all been answered. */
static void commit_ready(engine_t *e)
{
    if (e->pending_commit &&
        atomic_load_explicit(&e->inflight[(e->epoch - 1) & 1], memory_order_acquire) == 0) {
        commit(e, e->pending_commit, false);
        e->pending_commit = NULL;
    }
}

/* At-least-once: the input offsets read so far are committed only after
 * every output they produced is delivered.  sync: flush the producer, then
 * commit, now (shutdown, rebalance); returns false when the flush timed out
 * (nothing is committed then).  Otherwise the offsets wait, without
 * stopping the loop, until the producer has answered for every output made
 * before this point (the loop calls commit_ready). */
/* Runs one transactional call; retries what librdkafka says is retriable.
 * On an error that needs an abort, or a fatal one, records it and stops the
 * engine: the outputs since the last commit are discarded by Kafka, and a
 * restart resumes from the last committed offsets.  Returns false then. */
static bool txn_ok(engine_t *e, const char *what, rd_kafka_error_t *(*call)(engine_t *, void *),
                   void *arg)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        rd_kafka_error_t *err = call(e, arg);
        if (!err)
            return true;
        bool retry = rd_kafka_error_is_retriable(err);
        if (!retry) {
            bool abort = rd_kafka_error_txn_requires_abort(err);
            if (!e->error[0])
                snprintf(e->error, sizeof e->error, "%s: %s%s", what, rd_kafka_error_string(err),
                         abort ? " (transaction aborted: restart to resume from the last commit)"
                               : "");
            if (abort)
                rd_kafka_error_destroy(rd_kafka_abort_transaction(e->prod, ENGINE_TXN_TIMEOUT_MS));
            rd_kafka_error_destroy(err);
            e->txn_failed = true;
            atomic_store(&e->stop, true);
            return false;
        }
        rd_kafka_error_destroy(err);
        util_sleep_ms(100);
    }
    if (!e->error[0])
        snprintf(e->error, sizeof e->error, "%s: still failing after 20 tries", what);
    e->txn_failed = true;
    atomic_store(&e->stop, true);
    return false;
}

static rd_kafka_error_t *call_send_offsets(engine_t *e, void *arg)
{
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(e->cons);
    rd_kafka_error_t *err = rd_kafka_send_offsets_to_transaction(e->prod, arg, md, ENGINE_TXN_TIMEOUT_MS);
    rd_kafka_consumer_group_metadata_destroy(md);
    return err;
}
static rd_kafka_error_t *call_commit(engine_t *e, void *arg)
{
    (void)arg;
    return rd_kafka_commit_transaction(e->prod, ENGINE_TXN_COMMIT_TIMEOUT_MS);
}
static rd_kafka_error_t *call_begin(engine_t *e, void *arg)
{
    (void)arg;
    return rd_kafka_begin_transaction(e->prod);
}
static rd_kafka_error_t *call_init(engine_t *e, void *arg)
{
    (void)arg;
    return rd_kafka_init_transactions(e->prod, ENGINE_TXN_COMMIT_TIMEOUT_MS);
}

/* What write_state needs: the engine and the pipeline whose state it writes. */
typedef struct state_out {
    engine_t *e;
    const char *pipeline;
} state_out_t;

/* One piece of keyed state into the changelog, in the open transaction:
 * key "pipeline\top\tkey\tsub", value {"owner": "topic/partition", "state":
 * its JSON}, or a tombstone (NULL).  The owner is the input partition whose
 * records made it (a repartition topic's by its real name): whoever is
 * assigned that partition restores it. */
static void write_state(void *opaque, const char *topic, int32_t partition, const char *op,
                        const char *key, const char *sub, json_t *value)
{
    state_out_t *so = opaque;
    engine_t *e = so->e;
    if (!topic && !strcmp(op, "graph"))
        return; /* the watermark is each owner's own, from its partitions */
    char owner[400] = "";
    /* The key as a JSON array: any length, any characters (a tab in a
     * user_id split the old "pipeline\top\tkey\tsub" key apart). */
    json_t *ka = json_pack("[ssss]", so->pipeline, op, key, sub);
    char *k = json_dumps(ka, JSON_COMPACT);
    json_decref(ka);
    size_t kl = k ? strlen(k) : 0;
    if (topic && partition >= 0)
        snprintf(owner, sizeof owner, "%s/%d", real_name(topic_stat(e, topic)), partition);
    char *v = NULL;
    if (value && so->pipeline[0] == '_') { /* _offsets: the offset itself */
        v = json_dumps(value, JSON_COMPACT);
    } else if (value) {
        json_t *w = json_pack("{sssO}", "owner", owner, "state", value);
        v = json_dumps(w, JSON_COMPACT);
        json_decref(w);
    }
    rd_kafka_resp_err_t err = kafka_produce_wait(
        e->prod, e->state_rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_FREE, v, v ? strlen(v) : 0, k,
        kl, NULL, NULL);
    free(k); /* librdkafka copied the key */
    if (err) {
        if (!e->error[0])
            snprintf(e->error, sizeof e->error, "writing state to %s: %s", e->state_topic,
                     rd_kafka_err2str(err));
        free(v);
        return;
    }
    e->state_written++;
}

/* Exactly-once: the outputs since the last checkpoint, the state they changed
 * and the input offsets that produced them are committed in one Kafka
 * transaction; a new one begins (unless the engine is ending). */
static bool checkpoint_txn(engine_t *e, rd_kafka_topic_partition_list_t *offsets, bool last)
{
    bool ok = true;
    int64_t began_ms = util_wall_ms();
    for (size_t g = 0; g < e->njobs; g++) {
        state_out_t so = {e, df_graph_name(df_job_graph(e->jobs[g]))};
        df_job_state_drain(e->jobs[g], write_state, &so);
    }
    /* the input offsets too, in the same transaction */
    state_out_t so = {e, "_offsets"};
    json_t *now_committed = json_copy(e->committed);
    for (int i = 0; i < offsets->cnt; i++) {
        char part[32], k[400];
        snprintf(part, sizeof part, "%d", offsets->elems[i].partition);
        json_t *v = json_pack("{sI}", "next_offset", (json_int_t)offsets->elems[i].offset);
        write_state(&so, NULL, -1, offsets->elems[i].topic, part, "", v);
        json_decref(v);
        snprintf(k, sizeof k, "%s\t%s", offsets->elems[i].topic, part);
        json_object_set_new(now_committed, k, json_integer(offsets->elems[i].offset));
    }
    if (offsets->cnt > 0)
        ok = txn_ok(e, "sending offsets to the transaction", call_send_offsets, offsets);
    if (ok)
        ok = txn_ok(e, "committing the transaction", call_commit, NULL);
    if (ok) {
        broker_back(e, began_ms); /* a transaction begun then is committed */
        json_decref(e->committed);
        e->committed = json_incref(now_committed);
        atomic_fetch_add(&e->transactions, 1);
        /* The group's committed offsets (lag, `groups --describe`): a real
         * Kafka has them from the transaction already; the embedded broker
         * keeps no transactional commits, so commit the same offsets again. */
        if (offsets->cnt > 0) {
            rd_kafka_resp_err_t err = rd_kafka_commit(e->cons, offsets, last ? 0 : 1);
            /* (during a rebalance the group refuses it: the transaction has them) */
            if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET &&
                err != RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS &&
                err != RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
                util_log("engine: committing offsets to the group: %s", rd_kafka_err2str(err));
        }
        if (!last)
            ok = txn_ok(e, "beginning a transaction", call_begin, NULL);
    }
    json_decref(now_committed);
    rd_kafka_topic_partition_list_destroy(offsets);
    return ok;
}

/* A record to one partition of t (markers), as on_emit does. */
static void produce_to(engine_t *e, topic_stat_t *t, int32_t partition, char *payload, size_t len)
{
    if (!t->rkt)
        t->rkt = rd_kafka_topic_new(e->prod, real_name(t), NULL);
    unsigned slot = e->epoch & 1;
    atomic_fetch_add_explicit(&e->inflight[slot], 1, memory_order_relaxed);
    rd_kafka_resp_err_t err = kafka_produce_wait(e->prod, t->rkt, partition, RD_KAFKA_MSG_F_FREE,
                                                 payload, len, NULL, 0,
                                                 (void *)((uintptr_t)t | slot), NULL);
    if (err) /* (counted as failed now, as on_emit's outputs are: they were not) */
        produce_failed(e, t, slot, err, payload);
}

typedef struct mark_out {
    engine_t *e;
    const df_graph_t *g; /* whose repartition topics get the markers */
} mark_out_t;

/* A watermark marker of upstream partition topic/partition to every
 * partition of the graph's repartition topics, after the records made
 * before it (the job is synced): each downstream partition learns how far
 * every upstream partition is.  A finalized partition's is the end. */
static void write_marker(void *opaque, const char *topic, int32_t partition, int64_t wm, bool idle)
{
    mark_out_t *mo = opaque;
    engine_t *e = mo->e;
    char k[400];
    snprintf(k, sizeof k, "%s\t%d", topic, partition);
    if (json_object_get(e->finalized, k)) {
        wm = INT64_MAX - 1;
        idle = false;
    }
    json_t *last = json_object_get(e->marked, k); /* [wm, idle] */
    if (last && json_integer_value(json_array_get(last, 0)) >= wm &&
        json_is_true(json_array_get(last, 1)) == idle)
        return; /* nothing new */
    json_object_set_new(e->marked, k, json_pack("[Ib]", (json_int_t)wm, idle));
    for (const char *const *r = df_graph_repartitions(mo->g); *r; r++) {
        topic_stat_t *t = topic_stat(e, *r);
        for (int q = 0; q < t->nparts; q++) {
            char *m = xmalloc(512);
            char w[32] = "null";
            if (wm != DF_NO_TIME)
                snprintf(w, sizeof w, "%lld", (long long)wm);
            /* idle: left out of downstream minimums until it has records again */
            int n = snprintf(m, 512, "{\"_watermark\":%s,%s\"source\":\"%s/%d\"}", w,
                             idle ? "\"idle\":true," : "", topic, partition);
            produce_to(e, t, q, m, (size_t)n);
        }
    }
}

static void write_markers(engine_t *e)
{
    for (size_t g = 0; g < e->njobs; g++) {
        mark_out_t mo = {e, df_job_graph(e->jobs[g])};
        if (!df_graph_repartitions(mo.g)[0])
            continue;
        df_job_source_marks(e->jobs[g], evtime_now_ms(), write_marker, &mo);
        /* finalized partitions without a record have no watermark: the end */
        const char *k;
        json_t *v;
        json_object_foreach(e->finalized, k, v)
        {
            char topic[300];
            int part;
            if (sscanf(k, "%299[^\t]\t%d", topic, &part) == 2)
                for (const char *const *t = df_graph_inputs(mo.g); *t; t++)
                    if (!strcmp(*t, topic))
                        write_marker(&mo, topic, part, INT64_MAX - 1, false);
        }
    }
}

static bool checkpoint(engine_t *e, bool sync)
{
    for (size_t g = 0; g < e->njobs; g++)
        df_job_sync(e->jobs[g]); /* every record read so far has made its outputs */
    if (e->o.repartition && !e->txn_failed)
        write_markers(e);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)e->npos);
    for (size_t i = 0; i < e->npos; i++)
        if (e->pos[i].next_offset >= 0)
            rd_kafka_topic_partition_list_add(l, real_name(e->pos[i].topic), e->pos[i].partition)
                ->offset = e->pos[i].next_offset;
    if (!e->o.at_least_once) {
        if (e->txn_failed) {
            rd_kafka_topic_partition_list_destroy(l);
            return false;
        }
        return checkpoint_txn(e, l, sync && e->ending);
    }
    if (sync) {
        if (e->pending_commit) {
            rd_kafka_topic_partition_list_destroy(e->pending_commit);
            e->pending_commit = NULL; /* this commit covers it */
        }
        if (rd_kafka_flush(e->prod, ENGINE_TXN_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_topic_partition_list_destroy(l);
            return false;
        }
        commit(e, l, true);
        return true;
    }
    commit_ready(e);
    if (e->pending_commit) { /* the previous one still waits: it will cover less */
        rd_kafka_topic_partition_list_destroy(l);
        return true;
    }
    /* Outputs so far are in this epoch; the next ones go to the other slot
     * (every job is synced: no output is being made meanwhile). */
    e->pending_commit = l;
    e->epoch++;
    commit_ready(e);
    return true;
}

static void tell_graphs(engine_t *e, const rd_kafka_topic_partition_list_t *parts)
{
    int64_t now = evtime_now_ms(); /* processing time: the wall clock, as event times are */
    for (size_t g = 0; g < e->njobs; g++)
        for (const char *const *t = df_graph_inputs(df_job_graph(e->jobs[g])); *t; t++) {
            int32_t ids[256];
            size_t n = 0;
            const char *real = real_name(topic_stat(e, *t));
            for (int i = 0; parts && i < parts->cnt && n < 256; i++)
                if (!strcmp(parts->elems[i].topic, real))
                    ids[n++] = parts->elems[i].partition;
            df_job_assign(e->jobs[g], *t, ids, n, now);
        }
}

static int restore_state(engine_t *e, json_t *owned, char *errstr, size_t errstr_size);

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    engine_t *e = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* Exactly-once: the state these partitions own, from the changelog,
         * before any of their records (the offsets too). */
        if (!e->o.at_least_once) {
            json_t *owned = json_object();
            for (int i = 0; i < parts->cnt; i++) {
                char k[400];
                snprintf(k, sizeof k, "%s/%d", parts->elems[i].topic, parts->elems[i].partition);
                json_object_set_new(owned, k, json_true());
            }
            char err[512];
            if (restore_state(e, owned, err, sizeof err) < 0) {
                util_log("engine: %s", err);
                if (!e->error[0])
                    snprintf(e->error, sizeof e->error, "%s", err);
                e->txn_failed = true; /* nothing more is committed: a restart resumes */
                atomic_store(&e->stop, true);
            }
            json_decref(owned);
        }
        /* exactly-once: resume where the last committed transaction ended */
        for (int i = 0; i < parts->cnt; i++) {
            char k[400];
            snprintf(k, sizeof k, "%s\t%d", parts->elems[i].topic, parts->elems[i].partition);
            json_t *o = json_object_get(e->committed, k);
            if (o)
                parts->elems[i].offset = json_integer_value(o);
        }
        /* Where each partition starts, resolved here rather than by
         * librdkafka (auto.offset.reset is "error", see make_consumer): the
         * changelog's offset (exactly-once), else the group's commit, else
         * the log start as the broker says it now (a new group reads from
         * the earliest record).  Kept in the positions, to tell records
         * removed by retention from records never there. */
        rd_kafka_topic_partition_list_t *from = rd_kafka_topic_partition_list_copy(parts);
        bool known = !rd_kafka_committed(rk, from, ENGINE_QUERY_TIMEOUT_MS);
        for (int i = 0; i < from->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            int64_t off = tp->offset >= 0 ? tp->offset : from->elems[i].err ? -1 : from->elems[i].offset;
            position_t *p = position(e, by_real(e, tp->topic), tp->partition);
            int64_t lo = -1, hi = -1;
            if (off < 0 && known && !from->elems[i].err &&
                !rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &lo, &hi,
                                                  ENGINE_QUERY_TIMEOUT_MS)) {
                off = lo;
                p->landings = lo > 0; /* the log start moves: a landing on it */
            }
            if (off >= 0) {
                tp->offset = off; /* else librdkafka asks the group; no commit: reposition() */
                if (p->next_offset < 0)
                    p->next_offset = off;
            }
        }
        rd_kafka_topic_partition_list_destroy(from);
        rd_kafka_assign(rk, parts);
        e->assigned = parts->cnt > 0;
        e->last_record_ms = util_mono_ms(); /* a stall counts from the assignment */
        if (e->settling) /* not yet: the group is still forming */
            rd_kafka_pause_partitions(rk, parts);
        tell_graphs(e, parts);
    } else {
        /* Commit what we processed before the partitions go to someone else,
         * then (exactly-once) forget their state: the next owner restores it. */
        checkpoint(e, true);
        e->npos = 0;
        rd_kafka_assign(rk, NULL);
        e->assigned = false;
        tell_graphs(e, NULL);
        if (!e->o.at_least_once && !e->ending) /* (at the end: kept for the summary) */
            for (size_t g = 0; g < e->njobs; g++)
                df_job_state_clear(e->jobs[g]);
        json_object_clear(e->finalized);
        json_object_clear(e->marked);
        e->revoked_us = util_mono_us();
    }
}

/* --- the loop ------------------------------------------------------------ */

/* A gap before this record (offset past where we were): if the log start
 * (as the last fetch reported it) passed our position, retention removed
 * those records before they were read - the consumer jumped to the log
 * start.  Counted and said, never ignored.  (Other gaps are normal:
 * transaction markers take offsets too.) */
static void retention_check(engine_t *e, position_t *p, const rd_kafka_message_t *m)
{
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(e->cons, real_name(p->topic), m->partition, &lo, &hi) ||
        lo <= p->next_offset)
        return;
    int64_t upto = lo < m->offset ? lo : m->offset;
    uint64_t n = (uint64_t)(upto - p->next_offset);
    atomic_fetch_add(&e->lost_to_retention, n);
    util_log("engine: retention removed %llu records of %s [%d] before they were read "
             "(offsets %lld..%lld); the broker keeps only its newest records",
             (unsigned long long)n, p->topic->name, m->partition, (long long)p->next_offset,
             (long long)upto - 1);
}

/* The assignment again, each partition at the position we hold for it
 * (what rd_kafka_seek cannot do for a partition that auto.offset.reset=error
 * stopped: librdkafka's issue #2961), with the pauses it had. */
static void reassign(engine_t *e)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(e->cons, &a) || !a)
        return;
    rd_kafka_topic_partition_list_t *paused = rd_kafka_topic_partition_list_new(a->cnt + 1);
    for (int i = 0; i < a->cnt; i++) {
        topic_stat_t *t = by_real(e, a->elems[i].topic);
        position_t *p = position(e, t, a->elems[i].partition);
        a->elems[i].offset = p->next_offset >= 0 ? p->next_offset : RD_KAFKA_OFFSET_INVALID;
        char k[400];
        snprintf(k, sizeof k, "%s\t%d", t->name, a->elems[i].partition);
        if (e->settling || json_object_get(e->finalized, k))
            rd_kafka_topic_partition_list_add(paused, a->elems[i].topic, a->elems[i].partition);
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(e->cons, a);
    if (err)
        util_log("engine: reassigning after an offset reset: %s", rd_kafka_err2str(err));
    else if (paused->cnt)
        rd_kafka_pause_partitions(e->cons, paused);
    rd_kafka_topic_partition_list_destroy(paused);
    rd_kafka_topic_partition_list_destroy(a);
}

/* A partition whose position is not on the broker (out of range, or a new
 * group's first read with no commit): librdkafka stopped it
 * (auto.offset.reset=error) and we choose where it goes on.
 *
 * Why not librdkafka's "earliest": it lands exactly on the log start (as
 * cached from the last fetch), and the embedded broker removes its oldest
 * batch on every produce request once a partition is full.  With a producer
 * at 20k/s that batch is gone before the fetch reaches it, the fetch fails
 * again, the reset lands on the new start, and so on: the engine read 32
 * records in 15 s while 300,000 went by.  So the first landing is on the
 * log start (nothing skipped, which is all real Kafka ever needs: it
 * deletes whole segments, rarely); a second one before the partition was
 * read to its end means the broker removes records faster than a fetch
 * reaches them, and from then on we land a quarter of the retained range
 * past the start.  Records skipped so count as lost to retention (the
 * broker was removing them) and are said. */
static void reposition(engine_t *e, const rd_kafka_message_t *m)
{
    const char *real = rd_kafka_topic_name(m->rkt);
    topic_stat_t *t = by_real(e, real);
    position_t *p = position(e, t, m->partition);
    /* about a position we already left (a second error of the same fetch,
     * queued before the reassign): the landing chosen then stands */
    if (m->offset >= 0 && p->next_offset >= 0 && m->offset < p->next_offset)
        return;
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(e->cons, real, m->partition, &lo, &hi,
                                         ENGINE_QUERY_TIMEOUT_MS);
    if (err) {
        snprintf(e->consumer_error, sizeof e->consumer_error,
                 "%s [%d] lost its position and its offsets could not be read: %s", t->name,
                 m->partition, rd_kafka_err2str(err));
        util_log("engine: %s", e->consumer_error);
        p->next_offset = -1; /* the next reassign asks the group again */
        reassign(e);
        return;
    }
    int64_t at = p->next_offset >= lo ? p->next_offset : lo;
    if (p->landings > 0 && at < lo + (hi - lo) / ENGINE_LANDING_FRACTION)
        at = lo + (hi - lo) / ENGINE_LANDING_FRACTION;
    if (at > hi)
        at = hi;
    int64_t was = p->next_offset >= 0 ? p->next_offset : lo;
    if (lo > was && !t->repart) { /* gone before we read them */
        atomic_fetch_add(&e->lost_to_retention, (uint64_t)(lo - was));
        util_log("engine: retention removed %llu records of %s [%d] before they were read "
                 "(offsets %lld..%lld); the broker keeps only its newest records",
                 (unsigned long long)(lo - was), t->name, m->partition, (long long)was,
                 (long long)lo - 1);
    }
    int64_t from = was > lo ? was : lo;
    if (at > from && !t->repart) { /* about to go: the broker removes them faster than we fetch */
        atomic_fetch_add(&e->lost_to_retention, (uint64_t)(at - from));
        util_log("engine: skipped %llu records of %s [%d] (offsets %lld..%lld) that retention "
                 "was removing faster than a fetch reached them; reading on at %lld",
                 (unsigned long long)(at - from), t->name, m->partition, (long long)from,
                 (long long)at - 1, (long long)at);
    }
    p->next_offset = at;
    p->landings++;
    e->last_record_ms = util_mono_ms();
    reassign(e);
}

/* Whether records wait that the engine does not read: every few seconds
 * without a record, the broker is asked how far each assigned input
 * partition goes.  What the console shows comes from here (engine_stall). */
static void stall_check(engine_t *e, int64_t now)
{
    char why[384] = "";
    if (e->assigned && !e->settling && !e->finishing && now - e->last_record_ms >= ENGINE_STALL_MS) {
        rd_kafka_topic_partition_list_t *a = NULL;
        int64_t waiting = 0;
        const char *topic = NULL;
        bool others = false;
        if (!rd_kafka_assignment(e->cons, &a) && a) {
            for (int i = 0; i < a->cnt; i++) {
                topic_stat_t *t = by_real(e, a->elems[i].topic);
                char k[400];
                snprintf(k, sizeof k, "%s\t%d", t->name, a->elems[i].partition);
                int64_t lo, hi;
                if (t->repart || json_object_get(e->finalized, k) ||
                    rd_kafka_query_watermark_offsets(e->cons, a->elems[i].topic,
                                                     a->elems[i].partition, &lo, &hi, 1000))
                    continue;
                int64_t next = position(e, t, a->elems[i].partition)->next_offset;
                if (next < lo)
                    next = lo;
                if (hi > next) {
                    waiting += hi - next;
                    others |= topic && topic != t->name;
                    topic = t->name;
                }
            }
            rd_kafka_topic_partition_list_destroy(a);
        }
        if (waiting > 0)
            snprintf(why, sizeof why, "%lld records wait in %s%s, none read for %lld s%s%s",
                     (long long)waiting, topic, others ? " and other topics" : "",
                     (long long)(now - e->last_record_ms) / 1000,
                     e->consumer_error[0] ? "; last consumer error: " : "", e->consumer_error);
    }
    if (why[0] && !e->stall_logged)
        util_log("engine stalled: %s", why);
    else if (!why[0] && e->stall_logged)
        util_log("engine: reading again");
    e->stall_logged = why[0] != 0;
    pthread_mutex_lock(&e->stall_lock);
    snprintf(e->stall, sizeof e->stall, "%s", why);
    pthread_mutex_unlock(&e->stall_lock);
}

bool engine_stall(engine_t *e, char *why, size_t why_size)
{
    pthread_mutex_lock(&e->stall_lock);
    snprintf(why, why_size, "%s", e->stall);
    pthread_mutex_unlock(&e->stall_lock);
    return why[0] != 0;
}

size_t engine_read_topics(const engine_t *e, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < e->ntopics && n < max; i++)
        if (e->topics[i].input || e->topics[i].repart)
            out[n++] = real_name(&e->topics[i]);
    return n;
}

static void process(engine_t *e, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    topic_stat_t *t = by_real(e, topic);
    if (e->finishing && !t->repart && json_object_size(e->finalized)) {
        char k[400]; /* fetched before its partition was paused: past its end */
        snprintf(k, sizeof k, "%s\t%d", t->name, m->partition);
        if (json_object_get(e->finalized, k))
            return;
    }
    position_t *p = position(e, t, m->partition);
    p->got = true;
    if (p->landings) { /* read to its end: the next landing is on the log start again */
        int64_t lo, hi;
        if (!rd_kafka_get_watermark_offsets(e->cons, topic, m->partition, &lo, &hi) &&
            m->offset + 1 >= hi)
            p->landings = 0;
    }
    if (p->next_offset >= 0 && m->offset > p->next_offset)
        retention_check(e, p, m);
    if (e->revoked_us) { /* the first record after a rebalance: how long it paused us */
        json_array_append_new(e->pauses,
                              json_real(round((util_mono_us() - e->revoked_us) / 100.0) / 10));
        e->revoked_us = 0;
    }
    if (m->offset >= p->next_offset && t->repart) {
        p->next_offset = m->offset + 1; /* read back, not new input */
    } else if (m->offset >= p->next_offset) {
        p->next_offset = m->offset + 1;
        atomic_store_explicit(&t->count, atomic_load_explicit(&t->count, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        atomic_store_explicit(&e->input_total,
                              atomic_load_explicit(&e->input_total, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    if (!e->first_input_us)
        e->first_input_us = util_mono_us();
    int64_t now = evtime_now_ms();
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    /* The job moves the watermark after every record, as in a replay, so
     * that which records are late does not depend on how fast we read. */
    for (size_t g = 0; g < e->njobs; g++)
        if (df_job_push(e->jobs[g], t->name, m->partition, m->offset, m->payload, m->len, now,
                        ts > 0 ? ts : 0)) {
            e->pending = true;
            break;
        }
}

static rd_kafka_t *make_consumer(engine_t *e, char *errstr, size_t errstr_size)
{
    /* auto.offset.reset: "error", so that a lost position comes to us (see
     * reposition) instead of librdkafka's landing on the log start. */
    /* fetch.error.backoff.ms: librdkafka pauses every fetch from a broker
     * this long after a failed one (500 ms by default); on the embedded
     * broker a partition's log start moves on every produce request, and in
     * 500 ms the position chosen after an out-of-range fetch was gone again
     * (the console then read 176 records in 8 s at 50k/s). */
    const char *defaults[] = {"group.id", e->o.group, "auto.offset.reset", "error",
                              "fetch.error.backoff.ms", "10",
                              "enable.auto.commit", "false", "enable.partition.eof", "false",
                              "fetch.wait.max.ms", "10", "queued.min.messages", "200000",
                              "allow.auto.create.topics", "true", NULL};
    rd_kafka_conf_t *conf = kafka_conf(e->k, defaults, errstr, errstr_size);
    if (!conf)
        return NULL;
    rd_kafka_conf_set_opaque(conf, e);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Input ranges to read again after a restore (see replay_inputs). */
typedef struct replay_range {
    char *topic; /* the graph's name of the input */
    const char *real; /* its name in Kafka */
    int32_t partition;
    int64_t from, to;
    bool done;
} replay_range_t;

typedef struct ranges {
    engine_t *e;
    replay_range_t *r;
    size_t n;
} ranges_t;

static void add_range(void *opaque, const char *topic, int32_t partition, int64_t from)
{
    ranges_t *rs = opaque;
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i].partition == partition && !strcmp(rs->r[i].topic, topic)) {
            if (from < rs->r[i].from)
                rs->r[i].from = from;
            return;
        }
    rs->r = xrealloc(rs->r, (rs->n + 1) * sizeof *rs->r);
    rs->r[rs->n++] = (replay_range_t){.topic = xstrdup(topic),
                                      .real = real_name(topic_stat(rs->e, topic)),
                                      .partition = partition, .from = from};
}

/* Process operators' keys restored with a replay offset (uploads being
 * reassembled: their running hashes are not in the changelog) get their
 * input records again, from that offset up to the restored committed
 * offset, read with rk (read_committed, its own group).  Chunks the
 * broker's retention removed meanwhile are simply not there: the upload
 * then goes to its dead-letter topic as incomplete. */
static int replay_inputs(engine_t *e, rd_kafka_t *rk, char *errstr, size_t errstr_size)
{
    ranges_t rs = {.e = e};
    for (size_t g = 0; g < e->njobs; g++)
        df_job_replay_ranges(e->jobs[g], add_range, &rs);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)rs.n + 1);
    for (size_t i = 0; i < rs.n; i++) {
        char k[400];
        snprintf(k, sizeof k, "%s\t%d", rs.r[i].real, rs.r[i].partition);
        json_t *to = json_object_get(e->committed, k);
        rs.r[i].to = to ? json_integer_value(to) : -1;
        rs.r[i].done = rs.r[i].from >= rs.r[i].to;
        if (!rs.r[i].done)
            rd_kafka_topic_partition_list_add(l, rs.r[i].real, rs.r[i].partition)->offset =
                rs.r[i].from;
    }
    int rc = 0;
    uint64_t before = e->replayed;
    int64_t t0 = util_mono_ms(), deadline = t0 + 120000;
    if (l->cnt)
        rd_kafka_assign(rk, l);
    for (size_t left = (size_t)l->cnt; left > 0;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (util_mono_ms() > deadline) {
                snprintf(errstr, errstr_size,
                         "restoring: reading uploads' chunks again did not reach the committed "
                         "offsets in 120 s");
                rc = -1;
                break;
            }
            continue;
        }
        replay_range_t *r = NULL;
        for (size_t i = 0; i < rs.n && !r && m->rkt; i++)
            if (rs.r[i].partition == m->partition && !rs.r[i].done &&
                !strcmp(rs.r[i].real, rd_kafka_topic_name(m->rkt)))
                r = &rs.r[i];
        if (r && !m->err && m->offset < r->to) {
            for (size_t g = 0; g < e->njobs; g++)
                df_job_replay(e->jobs[g], r->topic, r->partition, m->offset, m->payload, m->len);
            e->replayed++;
        }
        /* done at the committed offset, or at the partition's end (if that is
         * short of it, what is missing stays missing: a dead letter, no wait) */
        if (r && (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || (!m->err && m->offset >= r->to - 1))) {
            r->done = true;
            left--;
        }
        rd_kafka_message_destroy(m);
    }
    if (l->cnt)
        rd_kafka_assign(rk, NULL);
    for (size_t g = 0; g < e->njobs; g++)
        df_job_replay_done(e->jobs[g]);
    if (l->cnt)
        util_log("engine: read %llu input records again (%d partition%s) to rebuild what "
                 "uploads being reassembled had received, in %.1f s",
                 (unsigned long long)(e->replayed - before), l->cnt, l->cnt == 1 ? "" : "s",
                 (util_mono_ms() - t0) / 1e3);
    rd_kafka_topic_partition_list_destroy(l);
    for (size_t i = 0; i < rs.n; i++)
        free(rs.r[i].topic);
    free(rs.r);
    return rc;
}

/* Exactly-once restore, on each assignment (before any record of it):
 * reads the state changelog to its end (committed transactions only),
 * keeps the newest value per key, and loads the pieces owned by the
 * assigned partitions (`owned`: "topic/partition" -> true) into the jobs;
 * the input offsets ("_offsets") of every partition are kept in
 * e->committed.  "Its end" is the high watermark when the restore began:
 * a read_committed reader stops short of it while a transaction is open
 * there (the previous owner's last commit whose markers are not written
 * yet, or the open transaction of a killed process, until the broker
 * aborts it), so the reader waits until its position passes it.  A missing
 * changelog is a first start. */
static const char *str_or_empty(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static int restore_state(engine_t *e, json_t *owned, char *errstr, size_t errstr_size)
{
    int64_t t0 = util_mono_ms();
    uint64_t before = e->restored;
    char gid[400];
    snprintf(gid, sizeof gid, "%s-restore", e->o.group);
    const char *defaults[] = {"group.id", gid, "enable.auto.commit", "false",
                              "enable.partition.eof", "true", "isolation.level", "read_committed",
                              "auto.offset.reset", "error", NULL};
    rd_kafka_t *rk = kafka_client(e->k, RD_KAFKA_CONSUMER, defaults, NULL, NULL, errstr,
                                  errstr_size);
    if (!rk)
        return -1;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, e->state_topic, NULL);
    int rc = 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, ENGINE_METADATA_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR || !md ||
        md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0)
        goto done; /* no changelog yet */
    int nparts = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    int64_t *end = xcalloc((size_t)nparts, sizeof *end), *eof = xcalloc((size_t)nparts, sizeof *eof);
    /* The high watermark, not the last stable offset that a read_committed
     * client's ListOffsets answers: asked by a read_uncommitted one. */
    const char *hw_defaults[] = {"isolation.level", "read_uncommitted", NULL};
    char hwerr[256];
    rd_kafka_t *hw = kafka_client(e->k, RD_KAFKA_CONSUMER, hw_defaults, NULL, NULL, hwerr,
                                  sizeof hwerr);
    for (int p = 0; p < nparts; p++) {
        int32_t id = md->topics[0].partitions[p].id;
        rd_kafka_topic_partition_list_add(l, e->state_topic, id)->offset = RD_KAFKA_OFFSET_BEGINNING;
        int64_t lo = 0, hi = 0;
        if (!hw || rd_kafka_query_watermark_offsets(hw, e->state_topic, id, &lo, &hi,
                                                    ENGINE_METADATA_TIMEOUT_MS))
            hi = 0; /* not known: read what there is */
        end[p] = hi;
    }
    if (hw)
        rd_kafka_destroy(hw);
    rd_kafka_assign(rk, l);
    json_t *latest = json_object(); /* changelog key -> value (null: gone) */
    int64_t deadline = util_mono_ms() + 120000;
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                for (int p = 0; p < nparts; p++)
                    if (l->elems[p].partition == m->partition && m->offset > eof[p])
                        eof[p] = m->offset; /* where this reader's end is now */
            } else if (!m->err && m->key) {
                json_t *v = m->payload ? json_loadb(m->payload, m->len, 0, NULL) : json_null();
                char *k = xstrndup(m->key, m->key_len);
                json_object_set_new(latest, k, v ? v : json_null());
                free(k);
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        /* idle: has every partition's end passed the one it had at the start? */
        bool all = true;
        for (int p = 0; p < nparts; p++)
            if (end[p] > 0 && eof[p] < end[p])
                all = false;
        if (all)
            break;
        if (util_mono_ms() > deadline) {
            snprintf(errstr, errstr_size,
                     "restoring state from %s: its end was not reached in 120 s (a transaction "
                     "left open there?)",
                     e->state_topic);
            rc = -1;
            break;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    free(end);
    free(eof);
    const char *k;
    json_t *v;
    json_object_foreach(latest, k, v)
    {
        if (json_is_null(v) || rc)
            continue;
        /* ["pipeline","op","key","sub"]; changelogs written before carry
         * "pipeline\top\tkey\tsub" */
        json_t *ka = k[0] == '[' ? json_loads(k, 0, NULL) : NULL;
        char *copy, *rest, *pipe, *op, *key, *sub;
        if (json_array_size(ka) == 4) {
            size_t n[4] = {0}, at = 0;
            for (size_t i = 0; i < 4; i++)
                n[i] = strlen(str_or_empty(json_array_get(ka, i))) + 1;
            copy = xmalloc(n[0] + n[1] + n[2] + n[3]);
            char *f[4];
            for (size_t i = 0; i < 4; i++) {
                f[i] = copy + at;
                memcpy(f[i], str_or_empty(json_array_get(ka, i)), n[i]);
                at += n[i];
            }
            pipe = f[0], op = f[1], key = f[2], sub = f[3];
        } else {
            copy = xstrdup(k), rest = copy;
            pipe = strsep(&rest, "\t"), op = strsep(&rest, "\t");
            key = strsep(&rest, "\t"), sub = rest ? rest : (char *)"";
        }
        json_decref(ka);
        if (pipe && op && key && !strcmp(pipe, "_offsets")) { /* op: topic, key: partition */
            char ck[400];
            snprintf(ck, sizeof ck, "%s\t%s", op, key);
            json_object_set_new(e->committed, ck,
                                json_integer(json_integer_value(json_object_get(v, "next_offset"))));
            free(copy);
            continue;
        }
        const char *owner = json_string_value(json_object_get(v, "owner"));
        json_t *state = json_object_get(v, "state");
        const char *slash = owner ? strrchr(owner, '/') : NULL;
        if (!op || !key || !state || !slash || !json_object_get(owned, owner)) {
            free(copy);
            continue;
        }
        for (size_t g = 0; g < e->njobs; g++)
            if (!strcmp(df_graph_name(df_job_graph(e->jobs[g])), pipe) &&
                df_job_state_load(e->jobs[g], (int32_t)atoi(slash + 1), op, key, sub, state) == 0)
                e->restored++;
        free(copy);
    }
    json_decref(latest);
done:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (e->restored > before)
        util_log("engine: restored %llu pieces of state of %zu partitions from %s in %.1f s",
                 (unsigned long long)(e->restored - before), json_object_size(owned),
                 e->state_topic, (util_mono_ms() - t0) / 1e3);
    if (rc == 0)
        rc = replay_inputs(e, rk, errstr, errstr_size);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    e->restore_ms += util_mono_ms() - t0;
    return rc;
}

/* Whether partition (of topic, its real name) has been read to its end
 * (the high watermark librdkafka last saw). */
static bool part_caught_up(engine_t *e, const char *topic, int32_t partition)
{
    int64_t lo = -1, hi = -1;
    if (kafka_watermarks(e->cons, topic, partition, &lo, &hi, ENGINE_QUERY_TIMEOUT_MS))
        return false;
    int64_t next = -1;
    for (size_t p = 0; p < e->npos; p++)
        if (e->pos[p].partition == partition && !strcmp(real_name(e->pos[p].topic), topic))
            next = e->pos[p].next_offset;
    return !(hi > lo && next < hi);
}

/* until_end: true once every assigned input partition has been read to its
 * end (a repartition topic's are not inputs: they wait for final markers).
 * Needs at least one assignment. */
static bool caught_up(engine_t *e)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(e->cons, &a) || !a)
        return false;
    bool done = a->cnt > 0;
    for (int i = 0; i < a->cnt && done; i++)
        if (!by_real(e, a->elems[i].topic)->repart &&
            !part_caught_up(e, a->elems[i].topic, a->elems[i].partition))
            done = false;
    rd_kafka_topic_partition_list_destroy(a);
    return done;
}

/* Resumes the assigned partitions that have given no record yet, but not
 * those a bounded end finalized. */
static void resume_unfinalized(engine_t *e)
{
    rd_kafka_topic_partition_list_t *a = NULL, *l = rd_kafka_topic_partition_list_new(8);
    if (!rd_kafka_assignment(e->cons, &a) && a)
        for (int i = 0; i < a->cnt; i++) {
            char k[400];
            snprintf(k, sizeof k, "%s\t%d", by_real(e, a->elems[i].topic)->name,
                     a->elems[i].partition);
            /* only partitions that gave nothing yet: resuming one that is being
             * fetched can restart its fetch (records read twice) */
            bool got = false;
            for (size_t p = 0; p < e->npos && !got; p++)
                got = e->pos[p].got && e->pos[p].partition == a->elems[i].partition &&
                      !strcmp(real_name(e->pos[p].topic), a->elems[i].topic);
            if (!got && !json_object_get(e->finalized, k))
                rd_kafka_topic_partition_list_add(l, a->elems[i].topic, a->elems[i].partition);
        }
    if (l->cnt)
        rd_kafka_resume_partitions(e->cons, l);
    if (a)
        rd_kafka_topic_partition_list_destroy(a);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Repartition mode, at a bounded end: the assigned input partitions that are
 * done (all of them, or with `only_caught_up` those read to their end) stop
 * being read and get final markers, committed at once.  Returns how many. */
static int finalize_inputs(engine_t *e, bool only_caught_up)
{
    rd_kafka_topic_partition_list_t *a = NULL, *paused = rd_kafka_topic_partition_list_new(8);
    int n = 0;
    if (!rd_kafka_assignment(e->cons, &a) && a)
        for (int i = 0; i < a->cnt; i++) {
            topic_stat_t *t = by_real(e, a->elems[i].topic);
            char k[400];
            snprintf(k, sizeof k, "%s\t%d", t->name, a->elems[i].partition);
            if (t->repart || json_object_get(e->finalized, k) ||
                (only_caught_up && !part_caught_up(e, a->elems[i].topic, a->elems[i].partition)))
                continue;
            json_object_set_new(e->finalized, k, json_true());
            rd_kafka_topic_partition_list_add(paused, a->elems[i].topic, a->elems[i].partition);
            n++;
        }
    if (a)
        rd_kafka_topic_partition_list_destroy(a);
    if (n) {
        rd_kafka_pause_partitions(e->cons, paused);
        checkpoint(e, false);
    }
    rd_kafka_topic_partition_list_destroy(paused);
    return n;
}

/* Repartition mode: every job's repartition partitions have every final
 * marker (their windows have all fired). */
static bool marks_final(engine_t *e)
{
    for (size_t g = 0; g < e->njobs; g++)
        if (!df_job_marks_final(e->jobs[g]))
            return false;
    return true;
}

/* Repartition mode: tells each job how many partitions the input upstream
 * of its repartition topics has, and makes those topics (as many
 * partitions; a broker that cannot create topics auto-creates them). */
static int setup_repartition(engine_t *e, char *errstr, size_t errstr_size)
{
    for (size_t g = 0; g < e->njobs; g++) {
        const df_graph_t *graph = df_job_graph(e->jobs[g]);
        const char *const *reps = df_graph_repartitions(graph);
        if (!reps[0])
            continue;
        const char *up = df_graph_inputs(graph)[0];
        int upn = 0;
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(e->prod, up, NULL);
        if (!rd_kafka_metadata(e->prod, 0, rkt, &md, ENGINE_METADATA_TIMEOUT_MS) && md->topic_cnt == 1 &&
            !md->topics[0].err)
            upn = md->topics[0].partition_cnt;
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        if (upn <= 0) {
            snprintf(errstr, errstr_size, "repartitioning: no partitions for %s", up);
            return -1;
        }
        for (const char *const *r = reps; *r; r++) {
            topic_stat_t *t = topic_stat(e, *r);
            df_job_set_upstream(e->jobs[g], *r, upn);
            /* the embedded broker (librdkafka's mock cluster) does not answer
             * CreateTopics; it auto-creates the topic on the metadata request */
            char *id = rd_kafka_clusterid(e->prod, ENGINE_METADATA_TIMEOUT_MS);
            bool mock = id && !strncmp(id, "mockCluster", 11);
            if (id)
                rd_kafka_mem_free(e->prod, id);
            char ce[256];
            rd_kafka_NewTopic_t *nt =
                mock ? NULL : rd_kafka_NewTopic_new(t->out_name, upn, 1, ce, sizeof ce);
            if (nt) {
                rd_kafka_queue_t *q = rd_kafka_queue_new(e->prod);
                rd_kafka_CreateTopics(e->prod, &nt, 1, NULL, q);
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ENGINE_METADATA_TIMEOUT_MS); /* made, exists or refused */
                if (ev)
                    rd_kafka_event_destroy(ev);
                rd_kafka_queue_destroy(q);
                rd_kafka_NewTopic_destroy(nt);
            }
            for (int tries = 0; tries < 50 && t->nparts <= 0; tries++) {
                rkt = rd_kafka_topic_new(e->prod, t->out_name, NULL);
                md = NULL;
                if (!rd_kafka_metadata(e->prod, 0, rkt, &md, 5000) && md->topic_cnt == 1 &&
                    !md->topics[0].err)
                    t->nparts = md->topics[0].partition_cnt;
                if (md)
                    rd_kafka_metadata_destroy(md);
                rd_kafka_topic_destroy(rkt);
                if (t->nparts <= 0)
                    util_sleep_ms(200);
            }
            if (t->nparts <= 0) {
                snprintf(errstr, errstr_size, "repartition topic %s: not created", t->out_name);
                return -1;
            }
        }
    }
    return 0;
}

int engine_run(engine_t *e, char *errstr, size_t errstr_size)
{
    static const char *const prod_defaults[] = {
        "acks", "all", "enable.idempotence", "true", "linger.ms", "5",
        "batch.num.messages", "10000", "queue.buffering.max.messages", "1000000",
        "queue.buffering.max.kbytes", "1048576", "partitioner", "murmur2_random", NULL};
    int rc = -1;
    if (topics_ensure(e->k, TOPICS_DEFAULT_PARTITIONS, errstr, errstr_size) < 0)
        return -1;
    char txid[512];
    snprintf(txid, sizeof txid, "streamlab-%s-%s", e->o.group, e->o.instance);
    const char *eos_defaults[sizeof prod_defaults / sizeof *prod_defaults + 4];
    size_t nd = 0;
    for (; prod_defaults[nd]; nd++)
        eos_defaults[nd] = prod_defaults[nd];
    if (!e->o.at_least_once) {
        eos_defaults[nd++] = "transactional.id";
        eos_defaults[nd++] = txid;
    }
    eos_defaults[nd] = NULL;
    rd_kafka_conf_t *pconf = kafka_conf(e->k, eos_defaults, errstr, errstr_size);
    if (!pconf)
        return -1;
    rd_kafka_conf_set_opaque(pconf, e);
    rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
    /* its errors are served during a transaction's commit too: an outage is
     * seen while the loop waits for one */
    rd_kafka_conf_set_error_cb(pconf, on_error);
    e->prod = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, errstr_size);
    if (!e->prod) {
        rd_kafka_conf_destroy(pconf);
        return -1;
    }
    /* Exactly-once: fences an earlier instance with the same id (a crashed
     * run) and aborts what it left open, so its outputs never count. */
    if (!e->o.at_least_once && (!txn_ok(e, "starting transactions", call_init, NULL) ||
                                !txn_ok(e, "beginning a transaction", call_begin, NULL))) {
        snprintf(errstr, errstr_size, "%s", e->error);
        goto out;
    }
    if (!e->o.at_least_once) {
        snprintf(e->state_topic, sizeof e->state_topic, "streamlab-%s-state", e->o.group);
        e->state_rkt = rd_kafka_topic_new(e->prod, e->state_topic, NULL);
        for (size_t g = 0; g < e->njobs; g++)
            df_job_track_state(e->jobs[g], true);
        /* the state is restored on each assignment (on_rebalance) */
    }
    if (e->o.repartition && setup_repartition(e, errstr, errstr_size) < 0)
        goto out;
    e->cons = make_consumer(e, errstr, errstr_size);
    if (!e->cons)
        goto out;
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < e->ntopics; i++)
        if (e->topics[i].input || e->topics[i].repart)
            rd_kafka_topic_partition_list_add(subs, real_name(&e->topics[i]), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(e->cons, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) {
        snprintf(errstr, errstr_size, "subscribing: %s", rd_kafka_err2str(err));
        goto out;
    }
    e->settling = e->o.settle_ms > 0;
    int64_t start_ms = util_mono_ms(), last_tick = start_ms, last_ckpt = start_ms,
            last_end_check = start_ms, last_resume = 0, last_stall_check = start_ms;
    e->last_record_ms = start_ms;
    bool bounded_end = false;
    while (!atomic_load_explicit(&e->stop, memory_order_relaxed)) {
        /* Records wait in a batch only while more are ready at once. */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(e->cons, e->pending ? 0 : 20);
        bool got_record = false;
        if (!m && e->pending) {
            for (size_t g = 0; g < e->njobs; g++)
                df_job_tick(e->jobs[g], evtime_now_ms());
            e->pending = false;
            last_tick = util_mono_ms();
            continue;
        }
        if (m) {
            if (!m->err) {
                process(e, m);
                got_record = true;
            } else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
                reposition(e, m);
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                snprintf(e->consumer_error, sizeof e->consumer_error, "%s",
                         rd_kafka_message_errstr(m));
                util_log("engine: %s", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
        for (size_t g = 0; g < e->njobs; g++) /* outputs are produced on this thread only */
            df_job_drain(e->jobs[g]);
        rd_kafka_poll(e->prod, 0);
        commit_ready(e);
        uint64_t target = atomic_load_explicit(&e->target, memory_order_relaxed);
        if (target && !e->finishing &&
            atomic_load_explicit(&e->input_total, memory_order_relaxed) >= target) {
            if (!e->o.repartition) {
                bounded_end = true;
                break;
            }
            /* the end of our inputs; then wait for every upstream's */
            e->finishing = true;
            finalize_inputs(e, false);
        }
        int64_t now = util_mono_ms();
        if (got_record) /* (one clock read per loop, not two) */
            e->last_record_ms = now;
        if (e->settling && now - start_ms >= e->o.settle_ms)
            e->settling = false;
        /* After --settle, resume the assignment (but not the partitions a bounded
         * end paused) now and then, not only once: librdkafka applies an
         * assignment and a pause asynchronously, so a pause made in the rebalance
         * callback can land after a resume made at the end of the settle time,
         * and those partitions would stay paused for good. */
        if (e->o.settle_ms > 0 && !e->settling && now - last_resume >= ENGINE_RESUME_MS) {
            last_resume = now;
            resume_unfinalized(e);
        }
        if (e->finishing && now - last_end_check >= ENGINE_FINISH_CHECK_MS) {
            last_end_check = now;
            /* inputs assigned since (from a process that left) end where they are */
            finalize_inputs(e, !target || atomic_load(&e->input_total) < target);
            if (e->assigned && marks_final(e)) {
                bounded_end = true;
                break;
            }
        }
        if (now - last_tick >= ENGINE_TICK_MS) { /* idle partitions time out, batches go */
            for (size_t g = 0; g < e->njobs; g++)
                df_job_tick(e->jobs[g], evtime_now_ms());
            e->pending = false;
            last_tick = now;
            /* markers often, not only at checkpoints: the windows' watermark
             * trails the input's by ~100 ms (they commit with the outputs) */
            if (e->o.repartition && !e->txn_failed)
                write_markers(e);
        }
        if (now - last_ckpt >= e->o.checkpoint_ms) {
            checkpoint(e, false);
            last_ckpt = now;
        }
        if (now - last_stall_check >= ENGINE_STALL_CHECK_MS) {
            stall_check(e, now);
            last_stall_check = now;
        }
        if (e->o.duration_s > 0 && now - start_ms >= (int64_t)(e->o.duration_s * 1000))
            break;
        if (e->o.until_end && !e->finishing && !e->settling && !m && now - last_end_check >= ENGINE_END_CHECK_MS) {
            last_end_check = now;
            if (caught_up(e)) {
                if (!e->o.repartition) {
                    bounded_end = true;
                    break;
                }
                e->finishing = true;
                finalize_inputs(e, true);
            }
        }
    }
    for (size_t g = 0; g < e->njobs; g++) {
        if (bounded_end)
            df_job_finish(e->jobs[g]);
        else
            df_job_sync(e->jobs[g]);
    }
    e->ending = true;
    if (e->txn_failed) {
        snprintf(errstr, errstr_size, "%s", e->error);
        goto out;
    }
    if (!checkpoint(e, true)) {
        snprintf(errstr, errstr_size, "%s",
                 e->error[0] ? e->error : "outputs were not all delivered within 30 s");
        goto out;
    }
    rc = 0;
    for (size_t i = 0; i < e->ntopics; i++)
        if (atomic_load(&e->topics[i].failed)) {
            snprintf(errstr, errstr_size, "%s", e->error);
            rc = -1;
        }
out:
    if (e->pending_commit) {
        rd_kafka_topic_partition_list_destroy(e->pending_commit);
        e->pending_commit = NULL;
    }
    if (e->cons) {
        rd_kafka_consumer_close(e->cons);
        rd_kafka_destroy(e->cons);
        e->cons = NULL;
    }
    for (size_t i = 0; i < e->ntopics; i++)
        if (e->topics[i].rkt) {
            rd_kafka_topic_destroy(e->topics[i].rkt);
            e->topics[i].rkt = NULL;
        }
    if (e->state_rkt)
        rd_kafka_topic_destroy(e->state_rkt);
    e->state_rkt = NULL;
    rd_kafka_destroy(e->prod);
    e->prod = NULL;
    return rc;
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
                          (json_int_t)engine_dlq_count(e), "late", (json_int_t)late, "elapsed_s",
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
        json_object_set_new(s, "transactions", json_integer((json_int_t)atomic_load(
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
                                      .queue_capacity = JOB_QUEUE,
                                      .p50_us = df_job_latency_us(j, NULL, 50),
                                      .p99_us = df_job_latency_us(j, NULL, 99)};
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
