/* dataflow_exec.h — the hooks a parallel job (job.c) uses to run copies of
 * one graph on several threads.  Pipelines never include this.
 *
 * df_graph_push() = parse + observe + emit_source; a job splits them so that
 * parsing runs in parallel, the watermark is computed once in input order,
 * and records cross threads at key_by operators (the exchange), each key
 * going to one worker.  Operators below the n-th key_by are at level n; a
 * job runs level by level and fires windows of one level at a time. */
#ifndef STREAMLAB_DATAFLOW_EXEC_H
#define STREAMLAB_DATAFLOW_EXEC_H

#include "dataflow.h"

/* Called by a key_by operator instead of going on: r->value and r->key are
 * references the callee takes; hand them to df_graph_deliver(node) on the
 * key's worker. */
typedef void (*df_exchange_fn)(void *opaque, int node, df_record_t *r);
void df_graph_set_exchange(df_graph_t *g, df_exchange_fn fn, void *opaque);
/* Inside a host's emit: the event time of the record being written (a
 * window result's is its end - 1 ms), or DF_NO_TIME. */
int64_t df_graph_emit_event_ms(const df_graph_t *g);
/* Number of levels (1 + the deepest chain of key_by operators). */
int df_graph_levels(const df_graph_t *g);

/* Parses one input record.  Returns the source's node (>= 0) with *r
 * filled, -2 when it does not parse (err says why: send it on with
 * df_graph_dead_letter), -1 when no source reads topic. */
int df_graph_parse(df_graph_t *g, const char *topic, int32_t partition, int64_t offset,
                   const char *buf, size_t len, int64_t now_ms, df_record_t *r, char *err,
                   size_t errsize);
/* Writes the dead-letter record of an input that did not parse. */
void df_graph_dead_letter(df_graph_t *g, int source, int32_t partition, int64_t offset,
                          const char *buf, size_t len, const char *err);
/* The node of the source that reads topic, or -1. */
int df_graph_source_of(const df_graph_t *g, const char *topic);
/* Notes a record's event time on its source partition (for the watermark
 * and the event clock). */
void df_graph_observe(df_graph_t *g, int source, int32_t partition, int64_t event_ms,
                      int64_t now_ms);
/* The newest event time observed (event clock), or DF_NO_TIME. */
int64_t df_graph_event_clock(const df_graph_t *g);
/* Recomputes the watermark from the sources at now_ms (never back) and
 * returns it, without firing anything. */
int64_t df_graph_next_watermark(df_graph_t *g, int64_t now_ms);
/* Runs a parsed record from its source on (takes r->value). */
void df_graph_emit_source(df_graph_t *g, int source, df_record_t *r, int64_t now_ms);
/* Runs an exchanged record on below key_by `node` (takes value and key). */
void df_graph_deliver(df_graph_t *g, int node, df_record_t *r, int64_t now_ms);
/* Fires windows, process timers and state TTL of one level for watermark wm. */
void df_graph_advance_level(df_graph_t *g, int level, int64_t wm, int64_t now_ms);

/* --- state, for changelogs and restore ------------------------------------ */
/* One piece of state: op is an operator's name (or "graph"), key the record
 * key that owns it (route it to hash(key) % N on restore), sub tells apart
 * a key's windows (the start, as text; "" otherwise); value is borrowed,
 * NULL when the state is gone (a tombstone). */
typedef void (*df_state_fn)(void *opaque, const char *op, const char *key, const char *sub,
                            json_t *value);
/* Keyed operators (reduce, windows, sessions) note which keys change. */
void df_graph_track_state(df_graph_t *g, bool on);
/* Hands fn every piece of state that changed since the last drain, the
 * sources' per-partition event times and the graph's watermark; forgets
 * the changes.  Process operators' opaque state is not included. */
void df_graph_state_drain(df_graph_t *g, df_state_fn fn, void *opaque);
/* Puts one piece back (before any record): 0, or -1 for an unknown op. */
int df_graph_state_load(df_graph_t *g, const char *op, const char *key, const char *sub,
                        json_t *value);

#endif
