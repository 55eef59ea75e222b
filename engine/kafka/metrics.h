/* metrics.h — the engine's figures in Prometheus's text exposition format
 * (version 0.0.4), for GET /metrics (tui/metricsrv.c serves it).
 *
 * Every name starts with streamlab_; counters end in _total, times are in
 * seconds, and every gauge names its unit (_records, _timestamp_seconds,
 * _batches, _threads).  Labels: group (the engine's consumer group),
 * pipeline, operator, topic, partition.  docs/metrics.md lists them all.
 *
 * Threading: metrics_write reads the engines only through their thread-safe
 * readers (atomics, the job's published figures): it may run on any thread
 * and never waits for the engine.  It calls no librdkafka function; the lag
 * comes in as a value the caller computed with its own admin client. */
#ifndef STREAMLAB_METRICS_H
#define STREAMLAB_METRICS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/kafka/engine.h"

/* One engine to expose, and what its host knows beyond it. */
typedef struct metrics_engine {
    const engine_t *e; /* borrowed; must stay alive during metrics_write */
    const char *group; /* its consumer group: the "group" label */
    /* Engines its host started again after a failed run, and the faults the
     * engines it replaced saw (added, so that the counters do not go back). */
    uint64_t restarts;
    uint64_t outages_before, lost_before;
    double outage_s_before;
    /* admin_group_lag() of the group (its "partitions"), or NULL: no lag. */
    const json_t *lag;
} metrics_engine_t;

/* Writes the exposition of n engines to out: each metric's HELP and TYPE
 * once, then its samples for every engine.  The figures of each engine are
 * read once, before any is written. */
void metrics_write(FILE *out, const metrics_engine_t *v, size_t n);

/* The latency histogram's bucket bounds, in seconds. */
#define METRICS_LATENCY_BUCKETS 16
extern const double metrics_latency_le_s[METRICS_LATENCY_BUCKETS];

#endif
