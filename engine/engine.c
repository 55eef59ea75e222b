/* engine.c — see engine.h.
 *
 * One thread does everything here: it polls the consumer, pushes each record
 * through its pipeline's graph (whose sinks call on_emit, which hands the
 * bytes to the producer without copying), serves producer delivery reports,
 * ticks watermarks every 100 ms and checkpoints every checkpoint_ms.  Counters
 * that other threads read are atomics with a single writer. */
#include "engine.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "evtime.h"
#include "job.h"
#include "kafka.h"
#include "topics.h"
#include "util.h"

#define MAX_GRAPHS 8
#define MAX_TOPICS 64

typedef struct topic_stat {
    const char *name; /* owned by a graph */
    char *out_name;   /* the topic written: name + the output suffix */
    rd_kafka_topic_t *rkt;
    bool input, side; /* side: a dead-letter or late-record topic */
    _Atomic uint64_t count;  /* input: new records; output: delivered */
    _Atomic uint64_t failed; /* output: failed deliveries */
} topic_stat_t;

typedef struct position {
    topic_stat_t *topic;
    int32_t partition;
    int64_t next_offset; /* -1 until the first record */
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
    while (rd_kafka_produce(t->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_FREE, payload, len, key,
                            keylen, (void *)((uintptr_t)t | slot)) == -1) {
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(e->prod, 10); /* backpressure: wait for deliveries */
            continue;
        }
        atomic_fetch_add(&t->failed, 1);
        atomic_fetch_sub_explicit(&e->inflight[slot], 1, memory_order_relaxed);
        if (!e->error[0])
            snprintf(e->error, sizeof e->error, "producing to %s: %s", t->name,
                     rd_kafka_err2str(err));
        free(payload);
        return;
    }
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
    e->params = params;
    df_host_t host = {.emit = on_emit, .opaque = e};
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
            e->jobs[e->njobs++] = df_job_new(def, params, &host, false);
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
                rd_kafka_error_destroy(rd_kafka_abort_transaction(e->prod, 30000));
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
    rd_kafka_error_t *err = rd_kafka_send_offsets_to_transaction(e->prod, arg, md, 30000);
    rd_kafka_consumer_group_metadata_destroy(md);
    return err;
}
static rd_kafka_error_t *call_commit(engine_t *e, void *arg)
{
    (void)arg;
    return rd_kafka_commit_transaction(e->prod, 60000);
}
static rd_kafka_error_t *call_begin(engine_t *e, void *arg)
{
    (void)arg;
    return rd_kafka_begin_transaction(e->prod);
}
static rd_kafka_error_t *call_init(engine_t *e, void *arg)
{
    (void)arg;
    return rd_kafka_init_transactions(e->prod, 60000);
}

/* Exactly-once: the outputs since the last checkpoint and the input offsets
 * that produced them are committed in one Kafka transaction; a new one
 * begins (unless the engine is ending). */
typedef struct state_out {
    engine_t *e;
    const char *pipeline;
} state_out_t;

/* One piece of keyed state into the changelog, in the open transaction:
 * key "pipeline\top\tkey\tsub", value its JSON, or a tombstone (NULL). */
static void write_state(void *opaque, const char *op, const char *key, const char *sub,
                        json_t *value)
{
    state_out_t *so = opaque;
    engine_t *e = so->e;
    char k[1024];
    int kl = snprintf(k, sizeof k, "%s\t%s\t%s\t%s", so->pipeline, op, key, sub);
    char *v = value ? json_dumps(value, JSON_COMPACT) : NULL;
    while (rd_kafka_produce(e->state_rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_FREE, v,
                            v ? strlen(v) : 0, k, (size_t)kl, NULL) == -1) {
        if (rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(e->prod, 10);
            continue;
        }
        if (!e->error[0])
            snprintf(e->error, sizeof e->error, "writing state to %s: %s", e->state_topic,
                     rd_kafka_err2str(rd_kafka_last_error()));
        free(v);
        return;
    }
    e->state_written++;
}

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
        write_state(&so, offsets->elems[i].topic, part, "", v);
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
            if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                util_log("engine: committing offsets to the group: %s", rd_kafka_err2str(err));
        }
        if (!last)
            ok = txn_ok(e, "beginning a transaction", call_begin, NULL);
    }
    json_decref(now_committed);
    rd_kafka_topic_partition_list_destroy(offsets);
    return ok;
}

static bool checkpoint(engine_t *e, bool sync)
{
    for (size_t g = 0; g < e->njobs; g++)
        df_job_sync(e->jobs[g]); /* every record read so far has made its outputs */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)e->npos);
    for (size_t i = 0; i < e->npos; i++)
        if (e->pos[i].next_offset >= 0)
            rd_kafka_topic_partition_list_add(l, e->pos[i].topic->name, e->pos[i].partition)
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
        if (rd_kafka_flush(e->prod, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
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
            for (int i = 0; parts && i < parts->cnt && n < 256; i++)
                if (!strcmp(parts->elems[i].topic, *t))
                    ids[n++] = parts->elems[i].partition;
            df_job_assign(e->jobs[g], *t, ids, n, now);
        }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    engine_t *e = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* exactly-once: resume where the last committed transaction ended */
        for (int i = 0; i < parts->cnt; i++) {
            char k[400];
            snprintf(k, sizeof k, "%s\t%d", parts->elems[i].topic, parts->elems[i].partition);
            json_t *o = json_object_get(e->committed, k);
            if (o)
                parts->elems[i].offset = json_integer_value(o);
        }
        /* where each partition resumes, to tell records removed by
         * retention from records never there (see lost_to_retention) */
        rd_kafka_topic_partition_list_t *from = rd_kafka_topic_partition_list_copy(parts);
        if (e->o.at_least_once)
            rd_kafka_committed(rk, from, 5000);
        for (int i = 0; i < from->cnt; i++) {
            int64_t off = e->o.at_least_once ? from->elems[i].offset : parts->elems[i].offset;
            position_t *p = position(e, topic_stat(e, from->elems[i].topic), from->elems[i].partition);
            if (off >= 0 && p->next_offset < 0)
                p->next_offset = off;
        }
        rd_kafka_topic_partition_list_destroy(from);
        rd_kafka_assign(rk, parts);
        tell_graphs(e, parts);
    } else {
        /* Commit what we processed before the partitions go to someone else. */
        checkpoint(e, true);
        e->npos = 0;
        rd_kafka_assign(rk, NULL);
        tell_graphs(e, NULL);
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
    if (rd_kafka_get_watermark_offsets(e->cons, p->topic->name, m->partition, &lo, &hi) ||
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

static void process(engine_t *e, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    topic_stat_t *t = topic_stat(e, topic);
    position_t *p = position(e, t, m->partition);
    if (p->next_offset >= 0 && m->offset > p->next_offset)
        retention_check(e, p, m);
    if (m->offset >= p->next_offset) {
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
    const char *defaults[] = {"group.id", e->o.group, "auto.offset.reset", "earliest",
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

/* Exactly-once restore: reads the state changelog to its end (committed
 * transactions only), keeps the newest value per key, and loads it into the
 * jobs before any record is processed.  A missing changelog is a first start. */
static int restore_state(engine_t *e, char *errstr, size_t errstr_size)
{
    int64_t t0 = util_mono_ms();
    char gid[400];
    snprintf(gid, sizeof gid, "%s-restore", e->o.group);
    const char *defaults[] = {"group.id", gid, "enable.auto.commit", "false",
                              "enable.partition.eof", "true", "isolation.level", "read_committed",
                              "auto.offset.reset", "earliest", NULL};
    rd_kafka_t *rk = kafka_client(e->k, RD_KAFKA_CONSUMER, defaults, NULL, NULL, errstr,
                                  errstr_size);
    if (!rk)
        return -1;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, e->state_topic, NULL);
    int rc = 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || !md ||
        md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0)
        goto done; /* no changelog yet */
    int nparts = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(l, e->state_topic, md->topics[0].partitions[p].id)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    json_t *latest = json_object(); /* changelog key -> value (null: gone) */
    int eofs = 0;
    int64_t deadline = util_mono_ms() + 60000;
    while (eofs < nparts && util_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (!m->err && m->key) {
            json_t *v = m->payload ? json_loadb(m->payload, m->len, 0, NULL) : json_null();
            char *k = xstrndup(m->key, m->key_len);
            json_object_set_new(latest, k, v ? v : json_null());
            free(k);
        }
        rd_kafka_message_destroy(m);
    }
    if (eofs < nparts) {
        snprintf(errstr, errstr_size, "restoring state from %s: its end was not reached in 60 s",
                 e->state_topic);
        rc = -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(latest, k, v)
    {
        if (json_is_null(v) || rc)
            continue;
        char *copy = xstrdup(k), *save = NULL;
        char *pipe = strtok_r(copy, "\t", &save), *op = strtok_r(NULL, "\t", &save);
        char *key = strtok_r(NULL, "\t", &save), *sub = strtok_r(NULL, "\t", &save);
        if (pipe && op && key && !strcmp(pipe, "_offsets")) { /* op: topic, key: partition */
            char ck[400];
            snprintf(ck, sizeof ck, "%s\t%s", op, key);
            json_object_set_new(e->committed, ck,
                                json_integer(json_integer_value(json_object_get(v, "next_offset"))));
            free(copy);
            continue;
        }
        for (size_t g = 0; pipe && op && key && g < e->njobs; g++)
            if (!strcmp(df_graph_name(df_job_graph(e->jobs[g])), pipe) &&
                df_job_state_load(e->jobs[g], op, key, sub ? sub : "", v) == 0)
                e->restored++;
        free(copy);
    }
    json_decref(latest);
done:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    e->restore_ms = util_mono_ms() - t0;
    if (e->restored)
        util_log("engine: restored %llu pieces of state from %s in %.1f s",
                 (unsigned long long)e->restored, e->state_topic, e->restore_ms / 1e3);
    return rc;
}

/* until_end: true once every assigned partition has been read to its end
 * (the high watermark librdkafka last saw).  Needs at least one assignment. */
static bool caught_up(engine_t *e)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(e->cons, &a) || !a)
        return false;
    bool done = a->cnt > 0;
    for (int i = 0; i < a->cnt && done; i++) {
        int64_t lo = -1, hi = -1;
        if (kafka_watermarks(e->cons, a->elems[i].topic, a->elems[i].partition, &lo, &hi, 5000))
            done = false;
        else {
            int64_t next = -1;
            for (size_t p = 0; p < e->npos; p++)
                if (e->pos[p].partition == a->elems[i].partition &&
                    !strcmp(e->pos[p].topic->name, a->elems[i].topic))
                    next = e->pos[p].next_offset;
            if (hi > lo && next < hi)
                done = false;
        }
    }
    rd_kafka_topic_partition_list_destroy(a);
    return done;
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
        if (restore_state(e, errstr, errstr_size) < 0)
            goto out;
    }
    e->cons = make_consumer(e, errstr, errstr_size);
    if (!e->cons)
        goto out;
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < e->ntopics; i++)
        if (e->topics[i].input)
            rd_kafka_topic_partition_list_add(subs, e->topics[i].name, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(e->cons, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) {
        snprintf(errstr, errstr_size, "subscribing: %s", rd_kafka_err2str(err));
        goto out;
    }
    int64_t start_ms = util_mono_ms(), last_tick = start_ms, last_ckpt = start_ms,
            last_end_check = start_ms;
    bool bounded_end = false;
    while (!atomic_load_explicit(&e->stop, memory_order_relaxed)) {
        /* Records wait in a batch only while more are ready at once. */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(e->cons, e->pending ? 0 : 20);
        if (!m && e->pending) {
            for (size_t g = 0; g < e->njobs; g++)
                df_job_tick(e->jobs[g], evtime_now_ms());
            e->pending = false;
            last_tick = util_mono_ms();
            continue;
        }
        if (m) {
            if (!m->err)
                process(e, m);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                util_log("engine: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(e->prod, 0);
        commit_ready(e);
        uint64_t target = atomic_load_explicit(&e->target, memory_order_relaxed);
        if (target && atomic_load_explicit(&e->input_total, memory_order_relaxed) >= target) {
            bounded_end = true;
            break;
        }
        int64_t now = util_mono_ms();
        if (now - last_tick >= 100) { /* idle partitions time out, batches go */
            for (size_t g = 0; g < e->njobs; g++)
                df_job_tick(e->jobs[g], evtime_now_ms());
            e->pending = false;
            last_tick = now;
        }
        if (now - last_ckpt >= e->o.checkpoint_ms) {
            checkpoint(e, false);
            last_ckpt = now;
        }
        if (e->o.duration_s > 0 && now - start_ms >= (int64_t)(e->o.duration_s * 1000))
            break;
        if (e->o.until_end && !m && now - last_end_check >= 500) {
            last_end_check = now;
            if (caught_up(e)) {
                bounded_end = true;
                break;
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
        if (t->input) {
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
        json_object_set_new(s, "restore_s", json_real(round(e->restore_ms / 10.0) / 100));
        json_object_set_new(s, "state_written", json_integer((json_int_t)e->state_written));
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
