/* consumer.h — reading a topic as a consumer group member (the `consume`
 * command and any tool that just reads).  One thread owns a kconsumer. */
#ifndef STREAMLAB_CONSUMER_H
#define STREAMLAB_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/kafka/kconf.h"

typedef struct kconsumer kconsumer_t;

typedef struct kmsg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* broker/producer timestamp, -1 if none */
    const char *key;      /* may be NULL */
    size_t keylen;
    const char *value; /* may be NULL */
    size_t len;
} kmsg_t;

/* Subscribes to topic in group (committing what it reads).  from_beginning:
 * a group without committed offsets starts at the earliest record, else at
 * the end.  NULL with errstr filled. */
kconsumer_t *kconsumer_new(const kconf_t *k, const char *topic, const char *group,
                           int from_beginning, char *errstr, size_t errstr_size);
/* The same for several topics at once (topics and the names are copied);
 * each record says its topic. */
kconsumer_t *kconsumer_new_topics(const kconf_t *k, const char *const *topics, size_t n,
                                  const char *group, int from_beginning, char *errstr,
                                  size_t errstr_size);
/* Waits up to timeout_ms for the next record: 1 (out is filled, valid until
 * the next call), 0 on timeout, -1 on a fatal error (errstr filled). */
int kconsumer_next(kconsumer_t *c, kmsg_t *out, int timeout_ms, char *errstr, size_t errstr_size);
/* Leaves the group and frees everything. */
void kconsumer_free(kconsumer_t *c);

#endif
