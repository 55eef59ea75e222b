/* inspect.h — reads records of any topic for the console's message inspector,
 * on a thread of its own, so that the console never waits on Kafka.
 *
 * The console sends requests (which topic and partition, which offsets, a
 * search text, follow the tail) that replace any pending one; the reader
 * thread answers with a snapshot: the partition's offsets, and up to `count`
 * records, newest first, each with key, offset, timestamp, headers and value
 * as bytes.  It reads with assign() (no consumer group, nothing committed),
 * so looking at a topic changes nothing for anybody. */
#ifndef STREAMLAB_INSPECT_H
#define STREAMLAB_INSPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/kafka/kconf.h"

#define INSPECT_MAX_COUNT 200
#define INSPECT_SEARCH_LIMIT 20000 /* records a search looks at, per request */

typedef struct inspect inspect_t;

typedef struct inspect_req {
    char topic[256];
    int32_t partition;
    int64_t before; /* records below this offset; -1: the newest */
    int64_t around; /* >= 0: the records around this offset instead (g) */
    char search[128]; /* non-empty: only records whose value or key contains it */
    bool follow;      /* re-read the newest records every half second */
    int count;        /* how many (1..INSPECT_MAX_COUNT) */
} inspect_req_t;

typedef struct inspect_rec {
    int32_t partition;
    int64_t offset;
    int64_t ts_ms;   /* -1 when none */
    int ts_type;     /* 0 none, 1 CreateTime, 2 LogAppendTime */
    char *key;       /* NULL when the record has none; NUL-terminated copy */
    size_t keylen;
    char *value;     /* NULL for a null value; NUL-terminated copy */
    size_t len;
    char *headers;   /* "name=value" lines joined by "\n", or NULL */
} inspect_rec_t;

typedef struct inspect_snap {
    uint64_t version;   /* changes with every new answer */
    json_t *topics;     /* admin_topics() of the last refresh, or NULL (a reference) */
    uint64_t answered;  /* the request number these records answer (inspect_request's) */
    char topic[256];
    int32_t partition;
    int nparts;         /* the topic's partitions, 0 if unknown */
    int64_t lo, hi;     /* the partition's first and next offsets */
    inspect_rec_t *recs; /* newest first */
    int nrecs;
    int64_t scanned;    /* a search: records looked at */
    bool busy;          /* a request is being worked on */
    char status[256];   /* an error, or empty */
} inspect_snap_t;

/* Starts the reader thread; k is borrowed and must outlive it. */
inspect_t *inspect_new(const kconf_t *k);
/* Stops the thread (waits for the current read, at most a few seconds). */
void inspect_free(inspect_t *in);

/* Asks for records; returns the request's number (see inspect_snap.answered). */
uint64_t inspect_request(inspect_t *in, const inspect_req_t *r);
/* Asks for the topic list again (done once at start). */
void inspect_refresh_topics(inspect_t *in);

/* The version of the newest snapshot (cheap: compare before copying). */
uint64_t inspect_version(inspect_t *in);
/* A deep copy of the newest snapshot; free it with inspect_snap_release. */
void inspect_snapshot(inspect_t *in, inspect_snap_t *out);
void inspect_snap_release(inspect_snap_t *s);

#endif
