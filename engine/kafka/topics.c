/* topics.c — see topics.h. */
#include "engine/kafka/topics.h"

#include <stdio.h>
#include <string.h>

#include "engine/kafka/kafka.h"
#include "engine/util.h"

const char *const topics_seed[] = {
    "transactions",          "processed_transactions",   "user_aggregations",
    "high_value_transactions", "category_windows",       "late_transactions",
    "transactions.dlq",      "video_frames",             "processed_video_frames",
    "video_source_aggregations", "video_resolution_windows", "video_frames.dlq",
    "uploaded_documents",    "uploaded_videos",          "uploaded_images",
    "processed_files",       "file_type_aggregations",   "uploaded_files.dlq",
    "fraud_alerts",
    NULL,
};

static const struct rd_kafka_metadata_topic *find_topic(const struct rd_kafka_metadata *md,
                                                        const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, name) && md->topics[i].err == 0)
            return &md->topics[i];
    return NULL;
}

/* Waits (up to wait_ms) until the broker's metadata lists each of names
 * with its partitions, each with a leader.  CreateTopics answers once the
 * controller has made them; a busy broker's metadata can lag behind it, and
 * a consumer that subscribes meanwhile sees the topics appear one by one:
 * each is a rebalance right after the group's first assignment. */
static void wait_listed(rd_kafka_t *rk, const char *const *names, size_t n, int partitions,
                        int wait_ms)
{
    int64_t deadline = util_mono_ms() + wait_ms;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        bool all = !rd_kafka_metadata(rk, 1, NULL, &md, 5000);
        for (size_t i = 0; all && i < n; i++) {
            const struct rd_kafka_metadata_topic *t = find_topic(md, names[i]);
            all = t && !t->err && t->partition_cnt == partitions;
            for (int p = 0; all && p < t->partition_cnt; p++)
                all = !t->partitions[p].err && t->partitions[p].leader >= 0;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (all || util_mono_ms() > deadline)
            return;
        util_sleep_ms(100);
    }
}

int topics_ensure(const kconf_t *k, int partitions, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {"allow.auto.create.topics", "false", NULL};
    rd_kafka_t *rk = kafka_client(k, RD_KAFKA_PRODUCER, defaults, NULL, NULL, errstr, errstr_size);
    if (!rk)
        return -1;
    int rc = -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_NewTopic_t *newt[64];
    const char *names[64];
    size_t nnew = 0;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, kconf_timeout_ms(k));
    if (err) {
        snprintf(errstr, errstr_size, "cannot reach a Kafka broker at %s within %d s (%s)",
                 kconf_brokers(k), kconf_timeout_ms(k) / 1000, rd_kafka_err2str(err));
        goto out;
    }
    for (size_t i = 0; topics_seed[i]; i++) {
        const struct rd_kafka_metadata_topic *t = find_topic(md, topics_seed[i]);
        if (t) {
            if (t->partition_cnt != partitions)
                util_log("warning: topic %s has %d partitions (streamlab makes %d); "
                         "using it as it is",
                        t->topic, t->partition_cnt, partitions);
            continue;
        }
        char e[256];
        newt[nnew] = rd_kafka_NewTopic_new(topics_seed[i], partitions, 1, e, sizeof e);
        if (!newt[nnew]) {
            snprintf(errstr, errstr_size, "topic %s: %s", topics_seed[i], e);
            goto out;
        }
        names[nnew++] = topics_seed[i];
    }
    if (nnew == 0) {
        rc = 0;
        goto out;
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opt, kconf_timeout_ms(k), NULL, 0);
    rd_kafka_CreateTopics(rk, newt, nnew, opt, q);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, kconf_timeout_ms(k) + 5000);
    if (!ev) {
        snprintf(errstr, errstr_size, "creating topics on %s timed out", kconf_brokers(k));
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
        if (e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
            e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION) {
            util_log("warning: %s cannot create topics (%s); relying on auto-creation",
                    kconf_brokers(k), rd_kafka_event_error_string(ev));
            rc = 0;
        } else {
            snprintf(errstr, errstr_size, "creating topics: %s", rd_kafka_event_error_string(ev));
        }
        rd_kafka_event_destroy(ev);
        goto out;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t cnt;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
    rc = 0;
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(errstr, errstr_size, "creating topic %s: %s", rd_kafka_topic_result_name(tr[i]),
                     rd_kafka_topic_result_error_string(tr[i]));
            rc = -1;
        }
    }
    rd_kafka_event_destroy(ev);
    if (rc == 0)
        wait_listed(rk, names, nnew, partitions, kconf_timeout_ms(k));
out:
    for (size_t i = 0; i < nnew; i++)
        rd_kafka_NewTopic_destroy(newt[i]);
    if (q)
        rd_kafka_queue_destroy(q);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

int topics_record_count(const kconf_t *k, const char *topic, int64_t *count, char *errstr,
                        size_t errstr_size)
{
    rd_kafka_t *rk = kafka_client(k, RD_KAFKA_PRODUCER, NULL, NULL, NULL, errstr, errstr_size);
    if (!rk)
        return -1;
    int rc = -1;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, kconf_timeout_ms(k));
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(errstr, errstr_size, "topic %s: %s", topic,
                 rd_kafka_err2str(err ? err : md->topic_cnt ? md->topics[0].err : err));
        goto out;
    }
    *count = 0;
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int64_t lo, hi;
        err = kafka_watermarks(rk, topic, md->topics[0].partitions[i].id, &lo, &hi,
                               kconf_timeout_ms(k));
        if (err) {
            snprintf(errstr, errstr_size, "offsets of %s: %s", topic, rd_kafka_err2str(err));
            goto out;
        }
        *count += hi - lo;
    }
    rc = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return rc;
}
