/* repartition.c — the repartition topics (engine_opts_t.repartition, see
 * engine.c): making them, the watermark markers written to each of their
 * partitions so that every downstream partition knows how far every upstream
 * one is, and the bounded end (inputs finalized, then waiting for every
 * final marker).  Engine thread only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/kafka/engine_int.h"
#include "engine/util.h"

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

void write_markers(engine_t *e)
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

/* Repartition mode, at a bounded end: the assigned input partitions that are
 * done (all of them, or with `only_caught_up` those read to their end) stop
 * being read and get final markers, committed at once.  Returns how many. */
int finalize_inputs(engine_t *e, bool only_caught_up)
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
bool marks_final(engine_t *e)
{
    for (size_t g = 0; g < e->njobs; g++)
        if (!df_job_marks_final(e->jobs[g]))
            return false;
    return true;
}

/* Repartition mode: tells each job how many partitions the input upstream
 * of its repartition topics has, and makes those topics (as many
 * partitions; a broker that cannot create topics auto-creates them). */
int setup_repartition(engine_t *e, char *errstr, size_t errstr_size)
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
