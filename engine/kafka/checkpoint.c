/* checkpoint.c — the Kafka host's checkpoints (see engine.c).
 *
 * At-least-once: input offsets are committed once the outputs made before
 * them are delivered.  Exactly-once: the outputs, the keyed state they changed
 * (written to the changelog) and the input offsets go in one Kafka
 * transaction per checkpoint.  Engine thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/engine_int.h"
#include "engine/util.h"

const double engine_checkpoint_le_s[ENGINE_CKPT_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                             0.5,   1,    2.5,   5,    10,  30};

/* A checkpoint begun at began_us (util_mono_us) is committed: the metrics. */
static void checkpoint_done(engine_t *e, int64_t began_us)
{
    int64_t us = util_mono_us() - began_us;
    size_t b = 0;
    while (b < ENGINE_CKPT_BUCKETS && us > engine_checkpoint_le_s[b] * 1e6)
        b++;
    atomic_fetch_add_explicit(&e->ckpt_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->ckpt_sum_us, us > 0 ? (uint64_t)us : 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->ckpt_count, 1, memory_order_relaxed);
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
void commit_ready(engine_t *e)
{
    if (e->pending_commit &&
        atomic_load_explicit(&e->inflight[(e->epoch - 1) & 1], memory_order_acquire) == 0) {
        commit(e, e->pending_commit, false);
        e->pending_commit = NULL;
        checkpoint_done(e, e->pending_since_us);
    }
}

/* Runs one transactional call; retries what librdkafka says is retriable.
 * On an error that needs an abort, or a fatal one, records it and stops the
 * engine: the outputs since the last commit are discarded by Kafka, and a
 * restart resumes from the last committed offsets.  Returns false then. */
bool txn_ok(engine_t *e, const char *what, rd_kafka_error_t *(*call)(engine_t *, void *),
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
rd_kafka_error_t *call_begin(engine_t *e, void *arg)
{
    (void)arg;
    return rd_kafka_begin_transaction(e->prod);
}
rd_kafka_error_t *call_init(engine_t *e, void *arg)
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

/* At-least-once: the input offsets read so far are committed only after
 * every output they produced is delivered.  sync: flush the producer, then
 * commit, now (shutdown, rebalance); returns false when the flush timed out
 * (nothing is committed then).  Otherwise the offsets wait, without
 * stopping the loop, until the producer has answered for every output made
 * before this point (the loop calls commit_ready). */
bool checkpoint(engine_t *e, bool sync)
{
    int64_t began_us = util_mono_us();
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
        uint64_t before = atomic_load(&e->transactions);
        bool ok = checkpoint_txn(e, l, sync && e->ending);
        if (atomic_load(&e->transactions) > before)
            checkpoint_done(e, began_us);
        return ok;
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
        checkpoint_done(e, began_us);
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
    e->pending_since_us = began_us;
    e->epoch++;
    commit_ready(e);
    return true;
}
