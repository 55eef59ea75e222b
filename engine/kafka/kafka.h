/* kafka.h — making librdkafka clients from a kconf (engine/ and producers/ only).
 *
 * Every client streamlab makes goes through here so that -X properties, the
 * partitioner (murmur2, as the Java and Python clients use, so keys land on the
 * same partitions whoever produces) and error reporting are the same everywhere. */
#ifndef STREAMLAB_KAFKA_H
#define STREAMLAB_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "engine/kafka/kconf.h"

/* A new rd_kafka_conf_t with the brokers and the user's -X properties applied
 * after `defaults` (a NULL-terminated list of key, value pairs, may be NULL),
 * so the user has the last word.  Returns NULL with errstr filled on a bad
 * property.  The caller owns the result (rd_kafka_new takes it over). */
rd_kafka_conf_t *kafka_conf(const kconf_t *k, const char *const *defaults, char *errstr,
                            size_t errstr_size);

/* rd_kafka_new for type with kafka_conf(k, defaults) and an optional opaque.
 * Returns NULL with errstr filled. */
rd_kafka_t *kafka_client(const kconf_t *k, rd_kafka_type_t type, const char *const *defaults,
                         void *opaque, void (*dr_msg_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                                         void *),
                         char *errstr, size_t errstr_size);

/* rd_kafka_query_watermark_offsets, retried while the answer is a retriable
 * error (a topic created moments ago answers "not leader" for a while), up
 * to timeout_ms in all. */
rd_kafka_resp_err_t kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition,
                                     int64_t *lo, int64_t *hi, int timeout_ms);

/* rd_kafka_produce (msgflags RD_KAFKA_MSG_F_FREE or _COPY) that waits while
 * the producer's queue is full, polling rk, so delivery callbacks run on the
 * caller's thread: call it from the thread that owns rk.  cancel (NULL:
 * never) stops the wait with RD_KAFKA_RESP_ERR__INTR.  0: queued (with
 * F_FREE librdkafka owns payload now); else the error, and payload is still
 * the caller's. */
rd_kafka_resp_err_t kafka_produce_wait(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
                                       int msgflags, void *payload, size_t len, const void *key,
                                       size_t keylen, void *opaque, const _Atomic bool *cancel);

#endif
