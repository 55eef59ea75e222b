/* admin.c — see admin.h. */
#include "engine/kafka/admin.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/kafka.h"
#include "engine/util.h"

static rd_kafka_t *client(const kconf_t *k, rd_kafka_type_t type, const char *group, char *errstr,
                          size_t errstr_size)
{
    const char *defaults[] = {"allow.auto.create.topics", "false", group ? "group.id" : NULL,
                              group, NULL};
    return kafka_client(k, type, defaults, NULL, NULL, errstr, errstr_size);
}

/* The embedded broker (librdkafka's mock cluster) names itself "mockCluster…".
 * It lacks CreateTopics, DescribeConfigs, ListGroups and DescribeGroups, and
 * librdkafka 2.0.2 waits out its timeout (or leaks) asking it for them, so
 * those requests are not sent there: the caller gets a clear message at once. */
static bool is_embedded(rd_kafka_t *rk, const kconf_t *k)
{
    char *id = rd_kafka_clusterid(rk, kconf_timeout_ms(k));
    bool mock = id && !strncmp(id, "mockCluster", 11);
    if (id)
        rd_kafka_mem_free(rk, id);
    return mock;
}

static const char embedded_msg[] = "the embedded broker does not support this request; a real Kafka does";

static const struct rd_kafka_metadata *metadata(rd_kafka_t *rk, const kconf_t *k, char *errstr,
                                                size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, kconf_timeout_ms(k));
    if (err) {
        snprintf(errstr, errstr_size, "cannot reach a Kafka broker at %s within %d s (%s)",
                 kconf_brokers(k), kconf_timeout_ms(k) / 1000, rd_kafka_err2str(err));
        return NULL;
    }
    return md;
}

static int by_topic(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "topic")),
                  json_string_value(json_object_get(*(json_t *const *)b, "topic")));
}

json_t *admin_topics(const kconf_t *k, const char *only, char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk = client(k, RD_KAFKA_PRODUCER, NULL, errstr, errstr_size);
    if (!rk)
        return NULL;
    const struct rd_kafka_metadata *md = metadata(rk, k, errstr, errstr_size);
    if (!md) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    json_t *items[1024];
    size_t n = 0;
    for (int i = 0; i < md->topic_cnt && n < 1024; i++) {
        const struct rd_kafka_metadata_topic *t = &md->topics[i];
        if (t->err || !strncmp(t->topic, "__", 2) || (only && strcmp(only, t->topic)))
            continue;
        json_t *parts = json_array();
        for (int p = 0; p < t->partition_cnt; p++) {
            int64_t lo = -1, hi = -1;
            rd_kafka_resp_err_t err =
                kafka_watermarks(rk, t->topic, t->partitions[p].id, &lo, &hi, kconf_timeout_ms(k));
            if (err) {
                snprintf(errstr, errstr_size, "offsets of %s [%d]: %s", t->topic,
                         (int)t->partitions[p].id, rd_kafka_err2str(err));
                json_decref(parts);
                for (size_t x = 0; x < n; x++)
                    json_decref(items[x]);
                rd_kafka_metadata_destroy(md);
                rd_kafka_destroy(rk);
                return NULL;
            }
            json_array_append_new(parts, json_pack("{s:i,s:i,s:I,s:I}", "partition",
                                                   t->partitions[p].id, "leader",
                                                   t->partitions[p].leader, "log_start",
                                                   (json_int_t)lo, "end", (json_int_t)hi));
        }
        items[n++] = json_pack("{s:s,s:o}", "topic", t->topic, "partitions", parts);
    }
    qsort(items, n, sizeof *items, by_topic);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, items[i]);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    if (only && n == 0) {
        snprintf(errstr, errstr_size, "no topic \"%s\" on %s", only, kconf_brokers(k));
        json_decref(out);
        return NULL;
    }
    return out;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *admin_topic_names(const kconf_t *k, char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk = client(k, RD_KAFKA_PRODUCER, NULL, errstr, errstr_size);
    if (!rk)
        return NULL;
    const struct rd_kafka_metadata *md = metadata(rk, k, errstr, errstr_size);
    if (!md) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    const char **names = xcalloc((size_t)md->topic_cnt + 1, sizeof *names);
    size_t n = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (!md->topics[i].err && strncmp(md->topics[i].topic, "__", 2))
            names[n++] = md->topics[i].topic;
    qsort(names, n, sizeof *names, by_name);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_string(names[i]));
    free(names);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return out;
}

/* Runs one admin request whose result arrives on q; returns the event or NULL. */
static rd_kafka_event_t *wait_event(rd_kafka_queue_t *q, const kconf_t *k, const char *what,
                                    char *errstr, size_t errstr_size)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, kconf_timeout_ms(k) + 2000);
    if (!ev) {
        snprintf(errstr, errstr_size, "%s: no answer from %s within %d s", what, kconf_brokers(k),
                 kconf_timeout_ms(k) / 1000 + 2);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
        snprintf(errstr, errstr_size, "%s: %s%s", what, rd_kafka_event_error_string(ev),
                 e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
                         e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION
                     ? " (the embedded broker does not support this request; a real Kafka does)"
                     : "");
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static rd_kafka_AdminOptions_t *options(rd_kafka_t *rk, rd_kafka_admin_op_t op, const kconf_t *k)
{
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_request_timeout(o, kconf_timeout_ms(k), NULL, 0);
    return o;
}

json_t *admin_topic_configs(const kconf_t *k, const char *topic, char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk = client(k, RD_KAFKA_PRODUCER, NULL, errstr, errstr_size);
    if (!rk)
        return NULL;
    json_t *out = NULL;
    if (is_embedded(rk, k)) {
        snprintf(errstr, errstr_size, "describing configs: %s", embedded_msg);
        rd_kafka_destroy(rk);
        return NULL;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, k);
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = wait_event(q, k, "describing configs", errstr, errstr_size);
    if (ev) {
        size_t n;
        const rd_kafka_ConfigResource_t **rs =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
        if (n == 1 && rd_kafka_ConfigResource_error(rs[0])) {
            snprintf(errstr, errstr_size, "describing %s: %s", topic,
                     rd_kafka_ConfigResource_error_string(rs[0]));
        } else if (n == 1) {
            out = json_object();
            size_t ne;
            const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(rs[0], &ne);
            for (size_t i = 0; i < ne; i++) {
                const char *v = rd_kafka_ConfigEntry_value(es[i]);
                json_object_set_new(out, rd_kafka_ConfigEntry_name(es[i]),
                                    v ? json_string(v) : json_null());
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return out;
}

int admin_create_topic(const kconf_t *k, const char *topic, int partitions, char *errstr,
                       size_t errstr_size)
{
    rd_kafka_t *rk = client(k, RD_KAFKA_PRODUCER, NULL, errstr, errstr_size);
    if (!rk)
        return -1;
    int rc = -1;
    char e[256];
    if (is_embedded(rk, k)) {
        snprintf(errstr, errstr_size,
                 "creating the topic: %s; start it with `streamlab broker --topic %s:%d` instead",
                 embedded_msg, topic, partitions);
        rd_kafka_destroy(rk);
        return -1;
    }
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, e, sizeof e);
    if (!nt) {
        snprintf(errstr, errstr_size, "%s", e);
        rd_kafka_destroy(rk);
        return -1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, k);
    rd_kafka_AdminOptions_set_operation_timeout(o, kconf_timeout_ms(k), NULL, 0);
    rd_kafka_CreateTopics(rk, &nt, 1, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = wait_event(q, k, "creating the topic", errstr, errstr_size);
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        if (n == 1 && rd_kafka_topic_result_error(tr[0]))
            snprintf(errstr, errstr_size, "creating %s: %s", topic,
                     rd_kafka_topic_result_error_string(tr[0]));
        else
            rc = 0;
        rd_kafka_event_destroy(ev);
    }
    if (rc && strstr(errstr, "embedded broker"))
        snprintf(errstr + strlen(errstr), errstr_size - strlen(errstr),
                 "; start it with `streamlab broker --topic %s:%d` instead", topic, partitions);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

json_t *admin_groups(const kconf_t *k, char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk = client(k, RD_KAFKA_PRODUCER, NULL, errstr, errstr_size);
    if (!rk)
        return NULL;
    json_t *out = NULL;
    if (is_embedded(rk, k)) {
        snprintf(errstr, errstr_size,
                 "listing groups: the embedded broker has no ListGroups; name a group: "
                 "groups --describe G");
        rd_kafka_destroy(rk);
        return NULL;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, k);
    rd_kafka_ListConsumerGroups(rk, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = wait_event(q, k, "listing groups", errstr, errstr_size);
    if (ev) {
        const rd_kafka_ListConsumerGroups_result_t *r = rd_kafka_event_ListConsumerGroups_result(ev);
        size_t n, ne;
        const rd_kafka_ConsumerGroupListing_t **gs = rd_kafka_ListConsumerGroups_result_valid(r, &n);
        const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(r, &ne);
        if (n == 0 && ne > 0) {
            snprintf(errstr, errstr_size, "listing groups: %s%s", rd_kafka_error_string(errs[0]),
                     " (the embedded broker has no ListGroups; name a group: groups --describe G)");
        } else {
            out = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(out, json_string(rd_kafka_ConsumerGroupListing_group_id(gs[i])));
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return out;
}

/* State and member count from DescribeGroups, or nulls where there is none. */
static void describe_group(rd_kafka_t *rk, const kconf_t *k, const char *group, json_t *out)
{
    json_object_set_new(out, "state", json_null());
    json_object_set_new(out, "members", json_null());
    if (is_embedded(rk, k))
        return;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, k);
    rd_kafka_AdminOptions_set_request_timeout(o, 3000, NULL, 0);
    rd_kafka_DescribeConsumerGroups(rk, &group, 1, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 5000);
    if (ev && !rd_kafka_event_error(ev)) {
        size_t n;
        const rd_kafka_ConsumerGroupDescription_t **ds = rd_kafka_DescribeConsumerGroups_result_groups(
            rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
        if (n == 1 && !rd_kafka_ConsumerGroupDescription_error(ds[0])) {
            json_object_set_new(out, "state",
                                json_string(rd_kafka_consumer_group_state_name(
                                    rd_kafka_ConsumerGroupDescription_state(ds[0]))));
            json_object_set_new(out, "members",
                                json_integer((json_int_t)rd_kafka_ConsumerGroupDescription_member_count(ds[0])));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
}

static bool listed(const char *const *names, const char *name)
{
    for (; names && *names; names++)
        if (!strcmp(*names, name))
            return true;
    return false;
}

json_t *admin_group_lag(const kconf_t *k, const char *group, const char *const *reads,
                        char *errstr, size_t errstr_size)
{
    /* Committed offsets through a consumer handle of the group that never
     * joins it (rd_kafka_committed).  Not ListConsumerGroupOffsets: librdkafka
     * 2.0.2 dereferences a NULL group there when the coordinator is not ready
     * yet (its issue #5040) and crashes the process. */
    rd_kafka_t *rk = client(k, RD_KAFKA_PRODUCER, NULL, errstr, errstr_size);
    if (!rk)
        return NULL;
    rd_kafka_t *cons = client(k, RD_KAFKA_CONSUMER, group, errstr, errstr_size);
    if (!cons) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    json_t *out = NULL;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(64);
    const struct rd_kafka_metadata *md = metadata(rk, k, errstr, errstr_size);
    if (!md)
        goto done;
    for (int i = 0; i < md->topic_cnt; i++)
        for (int p = 0; p < md->topics[i].partition_cnt && strncmp(md->topics[i].topic, "__", 2); p++)
            rd_kafka_topic_partition_list_add(l, md->topics[i].topic, md->topics[i].partitions[p].id);
    rd_kafka_metadata_destroy(md);
    if (l->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_committed(cons, l, kconf_timeout_ms(k));
        if (err) {
            snprintf(errstr, errstr_size, "committed offsets of %s: %s", group, rd_kafka_err2str(err));
            goto done;
        }
    }
    out = json_pack("{s:s}", "group", group);
    json_t *parts = json_array();
    json_int_t total = 0;
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        bool uncommitted = tp->offset < 0 && listed(reads, tp->topic);
        if (tp->err || (tp->offset < 0 && !uncommitted))
            continue;
        int64_t lo, hi;
        rd_kafka_resp_err_t werr =
            kafka_watermarks(rk, tp->topic, tp->partition, &lo, &hi, kconf_timeout_ms(k));
        if (werr) {
            snprintf(errstr, errstr_size, "offsets of %s [%d]: %s", tp->topic, (int)tp->partition,
                     rd_kafka_err2str(werr));
            json_decref(parts);
            json_decref(out);
            out = NULL;
            goto done;
        }
        /* waiting: from the commit, or the log start when retention
         * removed records past the commit (those are lost, not waiting) */
        int64_t from = uncommitted || lo > tp->offset ? lo : tp->offset;
        json_int_t lag = hi > from ? hi - from : 0;
        total += lag;
        json_array_append_new(parts, json_pack("{s:s,s:i,s:o,s:I,s:I}", "topic", tp->topic,
                                               "partition", tp->partition, "committed",
                                               uncommitted ? json_null()
                                                           : json_integer((json_int_t)tp->offset),
                                               "end", (json_int_t)hi, "lag", lag));
    }
    describe_group(rk, k, group, out);
    json_object_set_new(out, "partitions", parts);
    json_object_set_new(out, "lag", json_integer(total));
done:
    rd_kafka_topic_partition_list_destroy(l);
    /* It never joined: a consumer close would wait for a group it is not in. */
    rd_kafka_destroy_flags(cons, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    rd_kafka_destroy(rk);
    return out;
}
