/* engine.c — see engine.h.  The run loop and what it consumes and produces.
 *
 * One thread does everything here: it polls the consumer, pushes each record
 * through its pipeline's graph (whose sinks call on_emit, which hands the
 * bytes to the producer without copying), serves producer delivery reports,
 * ticks watermarks every 100 ms and checkpoints every checkpoint_ms.  Counters
 * that other threads read are atomics with a single writer.
 *
 * The rest of the Kafka host runs on the same thread, one concern per file:
 * checkpoint.c (commits and transactions), restore.c (state from the
 * changelog), repartition.c (repartition topics, watermark markers),
 * positions.c (the assignment, lost positions, retention, stalls) and
 * stats.c (the figures other threads read); engine_int.h is what they share. */
#include "engine/kafka/engine.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/job.h"
#include "engine/kafka/engine_int.h"
#include "engine/kafka/kafka.h"
#include "engine/kafka/topics.h"
#include "engine/util.h"

void engine_opts_init(engine_opts_t *o)
{
    *o = (engine_opts_t){.pipelines = "transactions", .group = "streamlab-engine",
                         .checkpoint_ms = 1000, .instance = "0", .suffix = ""};
}

topic_stat_t *topic_stat(engine_t *e, const char *name)
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

/* The topic of a record read from Kafka (a repartition topic by its real name). */
topic_stat_t *by_real(engine_t *e, const char *name)
{
    for (size_t i = 0; i < e->ntopics; i++)
        if (e->topics[i].repart && !strcmp(e->topics[i].out_name, name))
            return &e->topics[i];
    return topic_stat(e, name);
}

/* An output librdkafka refused: counted as failed (as a failed delivery is),
 * out of its checkpoint's count, the first error kept. */
void produce_failed(engine_t *e, topic_stat_t *t, unsigned slot, rd_kafka_resp_err_t err,
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
void broker_back(engine_t *e, int64_t asked_ms)
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
            engine_internal_topic(ts->out_name, strlen(o->group) + strlen(*t) + 16, o->group, *t);
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

void engine_internal_topic(char *out, size_t size, const char *group, const char *what)
{
    /* "streamlab-" once: the console's group is streamlab-console, the
     * engine's default streamlab-engine */
    bool ours = !strncmp(group, "streamlab-", 10) || !strcmp(group, "streamlab");
    snprintf(out, size, "%s%s-%s", ours ? "" : "streamlab-", group, what);
}

bool engine_topic_is_internal(const char *topic)
{
    size_t n = strlen(topic);
    bool state = n > 16 && !strcmp(topic + n - 6, "-state");
    return !strncmp(topic, "__", 2) ||
           (!strncmp(topic, "streamlab-", 10) && (strstr(topic, "-repartition-") || state));
}

void engine_set_target(engine_t *e, uint64_t count) { atomic_store(&e->target, count); }

position_t *position(engine_t *e, topic_stat_t *t, int32_t partition)
{
    for (size_t i = 0; i < e->npos; i++)
        if (e->pos[i].topic == t && e->pos[i].partition == partition)
            return &e->pos[i];
    e->pos = xrealloc(e->pos, (e->npos + 1) * sizeof *e->pos);
    e->pos[e->npos] = (position_t){.topic = t, .partition = partition, .next_offset = -1};
    return &e->pos[e->npos++];
}

static void process(engine_t *e, const rd_kafka_message_t *m, int64_t now)
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
                              "allow.auto.create.topics", "false", NULL};
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

/* Whether the input has reached target (0: none): true ends the run; with
 * repartition topics it starts the end instead (finalize_inputs) and the run
 * goes on until every upstream's end has come. */
static bool target_reached(engine_t *e, uint64_t target)
{
    if (!target || e->finishing ||
        atomic_load_explicit(&e->input_total, memory_order_relaxed) < target)
        return false;
    if (!e->o.repartition)
        return true;
    e->finishing = true;
    finalize_inputs(e, false);
    return false;
}

int engine_run(engine_t *e, char *errstr, size_t errstr_size)
{
    static const char *const prod_defaults[] = {
        "acks", "all", "enable.idempotence", "true", "linger.ms", "5",
        "batch.num.messages", "10000", "queue.buffering.max.messages", "1000000",
        "queue.buffering.max.kbytes", "1048576", "partitioner", "murmur2_random",
        "compression.codec", "lz4", /* as the transaction producer (txproducer.c) */ NULL};
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
        engine_internal_topic(e->state_topic, sizeof e->state_topic, e->o.group, "state");
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
    e->cq = rd_kafka_queue_get_consumer(e->cons);
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
        /* Records wait in a batch only while more are ready at once: one
         * record with the loop's timeout, then whatever else is queued, up
         * to ENGINE_CONSUME_BATCH, so that the work below is done per batch
         * of records, not per record. */
        rd_kafka_message_t *msgs[ENGINE_CONSUME_BATCH];
        ssize_t n = rd_kafka_consume_batch_queue(e->cq, e->pending ? 0 : 20, msgs, 1);
        if (n == 1) {
            ssize_t more = rd_kafka_consume_batch_queue(e->cq, 0, msgs + 1, ENGINE_CONSUME_BATCH - 1);
            n += more > 0 ? more : 0;
        }
        bool got_record = false;
        if (n <= 0 && e->pending) {
            for (size_t g = 0; g < e->njobs; g++)
                df_job_tick(e->jobs[g], evtime_now_ms());
            e->pending = false;
            last_tick = util_mono_ms();
            continue;
        }
        int64_t batch_now = evtime_now_ms(); /* the records' processing time */
        uint64_t target = atomic_load_explicit(&e->target, memory_order_relaxed);
        bool reassigned = false;
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (bounded_end) { /* past the target: left unread (and uncommitted) */
            } else if (reassigned) {
                /* The assignment was set again at the positions processed so
                 * far: what is left of the batch comes again from there (read
                 * now, it was read twice: records counted twice in the state,
                 * outputs sent twice in the same transaction). */
            } else if (!m->err) {
                process(e, m, batch_now);
                got_record = true;
            } else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
                reposition(e, m);
                reassigned = true;
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                snprintf(e->consumer_error, sizeof e->consumer_error, "%s",
                         rd_kafka_message_errstr(m));
                util_log("engine: %s", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
            /* after each record, so that a bounded run stops at its target */
            bounded_end = bounded_end || target_reached(e, target);
        }
        if (n <= 0) /* the target may come after the last record (--headless sets it then) */
            bounded_end = target_reached(e, target);
        for (size_t g = 0; g < e->njobs; g++) /* outputs are produced on this thread only */
            df_job_drain(e->jobs[g]);
        rd_kafka_poll(e->prod, 0);
        commit_ready(e);
        if (bounded_end)
            break;
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
        if (e->o.until_end && !e->finishing && !e->settling && n <= 0 &&
            now - last_end_check >= ENGINE_END_CHECK_MS) {
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
        if (e->cq)
            rd_kafka_queue_destroy(e->cq);
        e->cq = NULL;
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
