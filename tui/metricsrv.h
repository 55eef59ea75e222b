/* metricsrv.h — GET /metrics for Prometheus (`--metrics HOST:PORT` on the
 * console, `--headless` and `engine`), served with libmicrohttpd.
 *
 * The text comes from a collect function the host gives (the engine's
 * figures: engine/kafka/metrics.c); the server knows nothing of engines.
 * Hosts without a lag of their own (the commands) use metricsrv_start_engines,
 * which polls each engine group's lag through admin.c once a second.
 *
 * Threads: libmicrohttpd's one polling thread answers every request (collect
 * runs there: it must only read snapshots, never wait on Kafka); with a
 * sample function, one sampler thread calls it once a second (it may wait on
 * Kafka with its own clients).  Both start with every signal blocked but the
 * crash signals.  start and stop belong to one thread. */
#ifndef STREAMLAB_METRICSRV_H
#define STREAMLAB_METRICSRV_H

#include <stddef.h>
#include <stdio.h>

#include "engine/kafka/engine.h"
#include "engine/kafka/kconf.h"

typedef struct metricsrv metricsrv_t;

/* Writes the whole exposition to out (the server's thread). */
typedef void (*metricsrv_collect_fn)(void *ctx, FILE *out);
/* Refreshes what collect reads (the sampler thread, once a second). */
typedef void (*metricsrv_sample_fn)(void *ctx);

/* Starts serving on listen: "HOST:PORT", or "PORT" for 127.0.0.1:PORT
 * (port 0: any free one).  sample may be NULL.  ctx is borrowed and must
 * outlive the server.  NULL with errstr filled (bad address, port in use). */
metricsrv_t *metricsrv_start(const char *listen, metricsrv_collect_fn collect,
                             metricsrv_sample_fn sample, void *ctx, char *errstr,
                             size_t errstr_size);

/* A server over n engines the caller runs (engines and groups are borrowed
 * and must outlive it; k too): their figures (metrics_write) and their
 * groups' lag, polled once a second with admin.c's short-lived clients. */
metricsrv_t *metricsrv_start_engines(const char *listen, const kconf_t *k,
                                     engine_t *const *engines, const char *const *groups,
                                     size_t n, char *errstr, size_t errstr_size);

/* "HOST:PORT" it listens on (the real port when 0 was asked); owned by it. */
const char *metricsrv_address(const metricsrv_t *m);
/* Stops serving (waits for the sampler's current round) and frees it.  NULL: nothing. */
void metricsrv_stop(metricsrv_t *m);

#endif
