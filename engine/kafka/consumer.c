/* consumer.c — see consumer.h. */
#include "engine/kafka/consumer.h"

#include <stdio.h>
#include <stdlib.h>

#include "engine/kafka/kafka.h"
#include "engine/util.h"

struct kconsumer {
    rd_kafka_t *rk;
    rd_kafka_message_t *last;
};

kconsumer_t *kconsumer_new(const kconf_t *k, const char *topic, const char *group,
                           int from_beginning, char *errstr, size_t errstr_size)
{
    return kconsumer_new_topics(k, &topic, 1, group, from_beginning, errstr, errstr_size);
}

kconsumer_t *kconsumer_new_topics(const kconf_t *k, const char *const *topics, size_t n,
                                  const char *group, int from_beginning, char *errstr,
                                  size_t errstr_size)
{
    const char *defaults[] = {"group.id", group, "auto.offset.reset",
                              from_beginning ? "earliest" : "latest", "enable.partition.eof",
                              "false", NULL};
    rd_kafka_t *rk = kafka_client(k, RD_KAFKA_CONSUMER, defaults, NULL, NULL, errstr, errstr_size);
    if (!rk)
        return NULL;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        snprintf(errstr, errstr_size, "subscribing to %s%s: %s", topics[0], n > 1 ? " and others" : "",
                 rd_kafka_err2str(err));
        rd_kafka_destroy(rk);
        return NULL;
    }
    kconsumer_t *c = xcalloc(1, sizeof *c);
    c->rk = rk;
    return c;
}

int kconsumer_next(kconsumer_t *c, kmsg_t *out, int timeout_ms, char *errstr, size_t errstr_size)
{
    if (c->last) {
        rd_kafka_message_destroy(c->last);
        c->last = NULL;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!m)
        return 0;
    if (m->err) {
        int fatal = m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                    m->err == RD_KAFKA_RESP_ERR__FATAL;
        if (fatal)
            snprintf(errstr, errstr_size, "%s", rd_kafka_message_errstr(m));
        else
            util_log("consume: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return fatal ? -1 : 0;
    }
    c->last = m;
    rd_kafka_timestamp_type_t tstype;
    *out = (kmsg_t){.topic = rd_kafka_topic_name(m->rkt),
                    .partition = m->partition,
                    .offset = m->offset,
                    .timestamp_ms = rd_kafka_message_timestamp(m, &tstype),
                    .key = m->key,
                    .keylen = m->key_len,
                    .value = m->payload,
                    .len = m->len};
    return 1;
}

void kconsumer_free(kconsumer_t *c)
{
    if (!c)
        return;
    if (c->last)
        rd_kafka_message_destroy(c->last);
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    free(c);
}
