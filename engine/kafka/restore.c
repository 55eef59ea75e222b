/* restore.c — exactly-once restore (see engine.c): on each assignment, the
 * state the assigned partitions own is read back from the changelog
 * (streamlab-<group>-state), and the input records that uploads being
 * reassembled had received are read again.  Engine thread only (it runs in
 * the rebalance callback); each restore uses a consumer of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/engine_int.h"
#include "engine/util.h"

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
 * reassembled: their running hashes are not in the changelog) and pattern
 * operators' keys (the records they held for the watermark are not in it
 * either) get their input records again, from that offset up to the
 * restored committed offset, read with rk (read_committed, its own group).  Chunks the
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
                 "operators held (uploads being reassembled, records waiting for the "
                 "watermark), in %.1f s",
                 (unsigned long long)(e->replayed - before), l->cnt, l->cnt == 1 ? "" : "s",
                 (util_mono_ms() - t0) / 1e3);
    rd_kafka_topic_partition_list_destroy(l);
    for (size_t i = 0; i < rs.n; i++)
        free(rs.r[i].topic);
    free(rs.r);
    return rc;
}

static const char *str_or_empty(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
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
int restore_state(engine_t *e, json_t *owned, char *errstr, size_t errstr_size)
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
    rd_kafka_resp_err_t merr;
    /* A changelog being made (the producer's first look at it auto-creates
     * it) answers "leader not available" for a moment: asked again until it
     * has its partitions and their leaders, or ENGINE_METADATA_TIMEOUT_MS. */
    for (int64_t until = util_mono_ms() + ENGINE_METADATA_TIMEOUT_MS;;) {
        merr = rd_kafka_metadata(rk, 0, rkt, &md, ENGINE_METADATA_TIMEOUT_MS);
        if (!merr && md && md->topic_cnt == 1 && md->topics[0].err)
            merr = md->topics[0].err;
        for (int p = 0; !merr && md && md->topic_cnt == 1 && p < md->topics[0].partition_cnt; p++)
            if (md->topics[0].partitions[p].err || md->topics[0].partitions[p].leader < 0)
                merr = md->topics[0].partitions[p].err ? md->topics[0].partitions[p].err
                                                       : RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
        if (!merr || merr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || util_mono_ms() > until)
            break;
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        util_sleep_ms(200);
    }
    if (merr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        (!merr && md && md->topic_cnt == 1 && md->topics[0].partition_cnt == 0))
        goto done; /* no changelog yet: a first start */
    if (merr || !md || md->topic_cnt != 1) {
        /* not "no changelog": a start without the state there is would count
         * everything again from nothing */
        snprintf(errstr, errstr_size, "restoring state: no metadata for %s: %s", e->state_topic,
                 rd_kafka_err2str(merr));
        rc = -1;
        goto done;
    }
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
        int64_t lo = 0, hi = -1;
        /* (a changelog just made answers "not leader" for a moment:
         * kafka_watermarks asks again until ENGINE_METADATA_TIMEOUT_MS) */
        if (!hw || kafka_watermarks(hw, e->state_topic, id, &lo, &hi, ENGINE_METADATA_TIMEOUT_MS))
            hi = -1;
        if (hi < 0) {
            /* Not known in ENGINE_METADATA_TIMEOUT_MS: reading "what there
             * is" stopped at the first idle moment, and under load restored a
             * few pieces of thousands. */
            snprintf(errstr, errstr_size, "restoring state: the end of %s [%d] is not known%s%s",
                     e->state_topic, (int)id, hw ? "" : ": ", hw ? "" : hwerr);
            rc = -1;
        }
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
