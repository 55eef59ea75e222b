/* positions.c — where each assigned partition reads from (see engine.c): the
 * rebalance callback (state restored, start offsets resolved), a lost
 * position (auto.offset.reset=error: reposition), records removed by
 * retention before they were read, stalls, and whether the inputs are read
 * to their end.  Engine thread only, but engine_stall (any thread). */
#include <stdio.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/kafka/engine_int.h"
#include "engine/util.h"

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

void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
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
        if (e->assigned)
            atomic_store(&e->joined, true);
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

/* A gap before this record (offset past where we were): if the log start
 * (as the last fetch reported it) passed our position, retention removed
 * those records before they were read - the consumer jumped to the log
 * start.  Counted and said, never ignored.  (Other gaps are normal:
 * transaction markers take offsets too.) */
void retention_check(engine_t *e, position_t *p, const rd_kafka_message_t *m)
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
void reposition(engine_t *e, const rd_kafka_message_t *m)
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
        /* the next reassign tries again: from where this partition was read
         * to (records past the group's last commit were read and counted in
         * this transaction already), or, not read yet, from the group's commit */
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
void stall_check(engine_t *e, int64_t now)
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

/* Whether partition (of topic, its real name) has been read to its end
 * (the high watermark librdkafka last saw). */
bool part_caught_up(engine_t *e, const char *topic, int32_t partition)
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
bool caught_up(engine_t *e)
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
void resume_unfinalized(engine_t *e)
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
