/* flinkmon.h — watches a Flink cluster for the console: a background thread reads the
 * jobs from Flink's REST API (flinkrest.h) every interval and publishes a snapshot under
 * a short mutex.  The TUI thread only copies the snapshot (flinkmon_snapshot); it never
 * waits on HTTP.  A slow or dead Flink makes the snapshot say "unreachable" with the
 * reason and the last good jobs; the thread keeps retrying. */
#ifndef STREAMLAB_FLINKMON_H
#define STREAMLAB_FLINKMON_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/flink/flinkrest.h"

typedef struct flinkmon flinkmon_t;

typedef struct flinkmon_snap {
    char url[256];
    bool polled;       /* at least one poll finished */
    bool reachable;    /* the last poll got an answer */
    char error[512];   /* why the last poll failed, or "" */
    int64_t last_ok_ms;  /* util_mono_ms() of the last good poll, 0 if none */
    uint64_t polls, failures;
    flink_jobs_t jobs;   /* from the last good poll (kept while unreachable) */
} flinkmon_snap_t;

/* Starts the poller thread on url, every interval_ms (at least 200), each request
 * bounded by timeout_ms.  Copies url.  NULL only when the thread cannot start. */
flinkmon_t *flinkmon_new(const char *url, int interval_ms, long timeout_ms);
/* Stops and joins the thread (within one request's timeout) and frees it; NULL is ok. */
void flinkmon_free(flinkmon_t *m);
/* Copies the newest snapshot into *out (~100 KB; keep it off the stack). */
void flinkmon_snapshot(flinkmon_t *m, flinkmon_snap_t *out);

#endif
