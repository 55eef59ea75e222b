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

#include "engine/dataflow.h"

/* Called by a key_by operator instead of going on: r->value and r->key are
 * references the callee takes; hand them to df_graph_deliver(node) on the
 * key's worker. */
typedef void (*df_exchange_fn)(void *opaque, int node, df_record_t *r);
void df_graph_set_exchange(df_graph_t *g, df_exchange_fn fn, void *opaque);
/* Inside a host's emit: the event time of the record being written (a
 * window result's is its end - 1 ms), or DF_NO_TIME. */
int64_t df_graph_emit_event_ms(const df_graph_t *g);
/* The topics of df_key_by_repartition operators (NULL-terminated, owned by
 * the graph; empty unless the host repartitions).  Each is both an output
 * and an input of the graph. */
const char *const *df_graph_repartitions(const df_graph_t *g);
/* How many partitions the input upstream of repartition topic `topic` has:
 * its source waits for a marker from each (call before any record). */
void df_graph_set_upstream(df_graph_t *g, const char *topic, int partitions);
/* A watermark marker read from a repartition topic's partition: upstream
 * partition `upstream` has reached wm (DF_NO_TIME: not known), or is idle.
 * A repartition partition's watermark is the minimum over the upstream
 * partitions' markers, the idle ones left out (unless all are idle). */
void df_graph_observe_marker(df_graph_t *g, int source, int32_t partition, int upstream,
                             int64_t wm, bool idle, int64_t now_ms);
/* A record read from a repartition topic (its r->offset, as parsed, packs
 * the upstream partition and offset): false when that upstream record was
 * taken already (drop it), else notes it.  True for other sources. */
#define DF_REPART_PARTS 4096
bool df_graph_observe_repart(df_graph_t *g, int source, int32_t partition, int64_t offset,
                             int64_t now_ms);
/* The watermark of every partition the graph's input sources read (not the
 * repartition sources): what the host writes as markers.  idle: the
 * partition had no record for the idle timeout (downstream leaves it out
 * of the minimum until it has records again); wm may be DF_NO_TIME then. */
void df_graph_source_marks(const df_graph_t *g, int64_t now_ms,
                           void (*fn)(void *opaque, const char *topic, int32_t partition,
                                      int64_t wm, bool idle),
                           void *opaque);
/* True when every repartition partition the graph reads has a final marker
 * (INT64_MAX - 1) from every upstream partition (true without any). */
bool df_graph_marks_final(const df_graph_t *g);
/* Number of levels (1 + the deepest chain of key_by operators). */
int df_graph_levels(const df_graph_t *g);

/* Parses one input record.  Returns the source's node (>= 0) with *r
 * filled, -2 when it does not parse (err says why: send it on with
 * df_graph_dead_letter), -1 when no source reads topic, -3 for a
 * repartition topic's watermark marker (r->event_ms: its watermark,
 * r->value: a JSON integer, the upstream partition plus DF_REPART_PARTS if
 * it is idle, which the caller drops after df_graph_observe_marker). */
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
/* One piece of state: topic and partition name the input partition that
 * owns it (whose records made it; NULL and -1 for the graph's watermark,
 * -1 for a key whose partition is not known), op is an operator's name (or
 * "graph"), key the record key (route it to hash(key) % N on restore), sub
 * tells apart a key's windows (the start, as text; "" otherwise); value is
 * borrowed, NULL when the state is gone (a tombstone). */
typedef void (*df_state_fn)(void *opaque, const char *topic, int32_t partition, const char *op,
                            const char *key, const char *sub, json_t *value);
/* Keyed operators (reduce, windows, sessions, and process operators that
 * can save their state) note which keys change. */
void df_graph_track_state(df_graph_t *g, bool on);
/* Hands fn every piece of state that changed since the last drain, the
 * sources' per-partition event times and the graph's watermark; forgets
 * the changes.  A process operator's piece is {"state": what its save
 * gave, "replay_from": offset or -1}. */
void df_graph_state_drain(df_graph_t *g, df_state_fn fn, void *opaque);
/* Puts one piece back (before any record of its partition): 0, or -1 for
 * an unknown op.  partition: its owner (as drained). */
int df_graph_state_load(df_graph_t *g, int32_t partition, const char *op, const char *key,
                        const char *sub, json_t *value);
/* After loading: fn gets, for every process operator's key that waits for
 * its records again, its input (topic, owner partition) and the offset to
 * read from (several keys may give the same partition: take the least). */
void df_graph_replay_ranges(const df_graph_t *g,
                            void (*fn)(void *opaque, const char *topic, int32_t partition,
                                       int64_t from),
                            void *opaque);
/* Reads one input record again for restore: parsed by its source, through
 * maps, filters and key_by to the process operators whose key waits for it
 * (same partition, offset >= its replay_from).  Nothing is emitted,
 * counted or written; a record that does not parse is skipped.  route(key)
 * gives the graph holding that key's state (g itself when not parallel;
 * the graphs are copies of one pipeline). */
typedef df_graph_t *(*df_route_fn)(void *opaque, const char *key);
void df_graph_replay(df_graph_t *g, const char *topic, int32_t partition, int64_t offset,
                     const char *buf, size_t len, df_route_fn route, void *opaque);
/* Ends the replay: no key waits any more. */
void df_graph_replay_done(df_graph_t *g);
/* Forgets every piece of keyed state and the watermark (the partitions
 * were revoked: their state is in the changelog, for the next owner). */
void df_graph_state_clear(df_graph_t *g);

#endif
