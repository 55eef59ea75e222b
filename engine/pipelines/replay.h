/* replay.h — running a pipeline over a file instead of Kafka.
 *
 * Reads one JSON record per line, runs them through the pipelines as one
 * partition in file order, and writes every output stream to DIR/<topic>.jsonl
 * in emission order.  There is no clock: the watermark advances after every
 * record (max event time - bound - 1 ms), and "processing time" is the newest
 * event time seen, so the same input and flags give the same bytes on every run. */
#ifndef STREAMLAB_REPLAY_H
#define STREAMLAB_REPLAY_H

#include <jansson.h>
#include <stddef.h>

#include "engine/pipelines/pipelines.h"

/* Returns the summary ({"input":{...},"output":{...},"dlq":N,"late":N,...}, a
 * new reference) or NULL with errstr filled (unreadable file, unwritable dir,
 * unknown pipeline). */
json_t *replay_run(const char *file, const char *outdir, const char *pipelines,
                   pipeline_params_t *params, char *errstr, size_t errstr_size);

#endif
