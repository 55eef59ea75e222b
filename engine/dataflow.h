/* dataflow.h — a small Flink-style dataflow runtime.
 *
 * A pipeline builds a graph once: sources (parse bytes into JSON, bad input
 * goes to a dead-letter topic), then map, filter, key_by, keyed running
 * reduce, event-time tumbling windows with a late side output, and sinks to
 * Kafka topics or to in-process callbacks (views).  Operators know nothing of
 * transactions, frames or files: a pipeline is a short file composing them.
 *
 * Execution is push-based and synchronous: df_graph_push() runs one input
 * record through every operator before it returns; sinks hand serialized
 * records to the host (the engine or a replay) through df_host_t.
 *
 * Records carry a reference-counted value: a Jansson value, or a typed one
 * (df_obj_t: a pipeline's own struct for a known schema, like a parsed
 * transaction, or raw JSON text read back from a repartition topic) that a
 * sink writes straight into its buffer.  Operators built with the _rec forms
 * read either form (df_record_string / df_record_number or the pipeline's own
 * accessors); the others are handed JSON (df_record_json converts).  Values
 * are shared between branches, so an operator that changes a value must call
 * df_writable() / df_obj_writable() first (copy on write).  Threading: a graph
 * belongs to one thread; its metrics may be read from any thread. */
#ifndef STREAMLAB_DATAFLOW_H
#define STREAMLAB_DATAFLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DF_NO_TIME INT64_MIN

/* A typed value: a pipeline's own struct for a record of a known schema,
 * parsed without building a JSON tree and written straight into the sink's
 * buffer.  The struct begins with this header; one allocation, reference
 * counted like a Jansson value (shared between branches; see df_obj_writable). */
struct jsonw_buf;
typedef struct df_obj_class {
    const char *name;
    /* A new JSON value with the same content (for operators that need JSON:
     * late side outputs, process operators, views of unknown shape). */
    json_t *(*to_json)(const void *obj);
    /* Appends the compact JSON text: byte for byte what jsonw_dumps writes
     * for to_json(obj). */
    void (*write)(const void *obj, struct jsonw_buf *b);
    /* A top-level string field's bytes (for a sink's key), or NULL. */
    const char *(*field)(const void *obj, const char *name, size_t *len);
    /* A top-level number field; false when there is none. */
    bool (*number)(const void *obj, const char *name, double *out);
    void *(*clone)(const void *obj); /* a private copy, refs 1 */
    void (*free)(void *obj);
} df_obj_class_t;
typedef struct df_obj {
    const df_obj_class_t *cls;
    int refs; /* changed only through __atomic builtins (values cross workers) */
} df_obj_t;

typedef struct df_record {
    /* The record: a JSON value, or a typed one (obj, and value NULL).  The
     * callee borrows it (see df_writable). */
    json_t *value;
    df_obj_t *obj;
    json_t *key;      /* a JSON string set by key_by, or NULL */
    int64_t event_ms; /* event time in wall-clock ms (evtime.h), or DF_NO_TIME */
    int32_t partition;
    int64_t offset;
} df_record_t;

typedef struct df_graph df_graph_t;
typedef struct df_stream df_stream_t; /* the output of one operator */

/* Where sinks send records.  `emit` takes ownership of payload (malloc'd,
 * len bytes, not NUL-counted); key may be NULL.  Called on the graph's thread. */
typedef struct df_host {
    void (*emit)(void *opaque, const char *topic, const char *key, size_t keylen, char *payload,
                 size_t len);
    void *opaque;
    /* The host carries df_key_by_repartition's records through a topic (an
     * engine whose processes split the input: see engine.c); otherwise
     * that operator is a plain key_by. */
    bool repartition;
} df_host_t;

/* Parses bytes into a value and its event time.  Returns 0, or -1 with a
 * reason in err (the record then goes to the source's dead-letter topic). */
typedef int (*df_parse_fn)(const char *buf, size_t len, json_t **value, int64_t *event_ms,
                           char *err, size_t errsize, void *ctx);
/* The same for a source that may make typed values: fills r->value or
 * r->obj (a reference each) and r->event_ms. */
typedef int (*df_parse_rec_fn)(const char *buf, size_t len, df_record_t *r, char *err,
                               size_t errsize, void *ctx);
/* Record-level callbacks, for pipelines with typed values: a map changes
 * *r in place (it owns r->value / r->obj; both NULL drops the record), a
 * key returns a new reference to a JSON string (NULL drops the record). */
typedef void (*df_map_rec_fn)(df_record_t *r, void *ctx);
typedef bool (*df_filter_rec_fn)(const df_record_t *r, void *ctx);
typedef json_t *(*df_key_rec_fn)(const df_record_t *r, void *ctx);
/* Returns a new reference to the mapped value; owns `in` (a reference). */
typedef json_t *(*df_map_fn)(json_t *in, void *ctx);
typedef bool (*df_filter_fn)(const json_t *value, void *ctx);
/* Returns the key (borrowed from value, a JSON string) or NULL to drop the record. */
typedef json_t *(*df_key_fn)(const json_t *value, void *ctx);

/* Aggregation for reduce and windows: one accumulator (a JSON value) per key. */
typedef struct df_agg {
    json_t *(*create)(const df_record_t *first, void *ctx); /* new accumulator */
    void (*add)(json_t *acc, const df_record_t *r, void *ctx);
    /* The value to emit for key's acc: a new reference.  For windows start/end
     * are the window's bounds; for reduce both are DF_NO_TIME. */
    json_t *(*result)(json_t *acc, json_t *key, int64_t start_ms, int64_t end_ms, void *ctx);
    /* Folds from into into (session windows merge accumulators); may be NULL
     * for aggregations never used in session windows. */
    void (*merge)(json_t *into, const json_t *from, void *ctx);
    /* create and add read the record in any form (df_record_string,
     * df_record_number, a pipeline's own accessors); otherwise the runtime
     * hands them JSON (df_record_json). */
    bool typed;
} df_agg_t;

/* Per-operator counters, one consistent copy (see df_graph_metrics). */
typedef struct df_op_metrics {
    const char *name; /* owned by the graph */
    uint64_t in, out;
    int64_t watermark_ms; /* windows and sources; DF_NO_TIME if none yet */
    uint64_t late, dlq;
    int parent; /* the operator it reads from (its index in the same array), -1: a source */
} df_op_metrics_t;

df_graph_t *df_graph_new(const char *name, const df_host_t *host);
void df_graph_free(df_graph_t *g);
const char *df_graph_name(const df_graph_t *g);

/* Sets bounded out-of-orderness and the idle timeout (processing time) used
 * for watermarks.  Defaults: 5000 and 10000 ms. */
void df_graph_set_time(df_graph_t *g, int64_t out_of_orderness_ms, int64_t idle_timeout_ms);

/* Replays have no clock: with this set, "now" on the graph's thread (see
 * evtime_set_thread_clock_us) follows the newest event time parsed so far. */
void df_graph_use_event_clock(df_graph_t *g, bool on);

/* Processing time (--time processing): each record's event time is the "now"
 * it was pushed with, and the watermark is now - 1 ms, so windows fire on
 * the clock whether records come or not, and nothing is ever late. */
void df_graph_use_processing_time(df_graph_t *g, bool on);

/* --- building ------------------------------------------------------------ */
/* A source reading `topic`; records that do not parse go to dlq_topic. */
df_stream_t *df_source(df_graph_t *g, const char *topic, const char *dlq_topic, df_parse_fn parse,
                       void *ctx);
df_stream_t *df_map(df_stream_t *in, const char *name, df_map_fn fn, void *ctx);
/* The record-level forms (typed values; see df_parse_rec_fn). */
df_stream_t *df_source_rec(df_graph_t *g, const char *topic, const char *dlq_topic,
                           df_parse_rec_fn parse, void *ctx);
df_stream_t *df_map_rec(df_stream_t *in, const char *name, df_map_rec_fn fn, void *ctx);
df_stream_t *df_filter_rec(df_stream_t *in, const char *name, df_filter_rec_fn fn, void *ctx);
df_stream_t *df_key_by_rec(df_stream_t *in, const char *name, df_key_rec_fn fn, void *ctx);
df_stream_t *df_key_by_repartition_rec(df_stream_t *in, const char *name, df_key_rec_fn fn,
                                       void *ctx, const char *topic);
df_stream_t *df_filter(df_stream_t *in, const char *name, df_filter_fn fn, void *ctx);
df_stream_t *df_key_by(df_stream_t *in, const char *name, df_key_fn fn, void *ctx);
/* A key_by by something other than the input's key (e.g. a category), so
 * that the keyed state below it can be split across processes.  With a
 * host that repartitions (df_host_t.repartition), every record goes to the
 * topic `topic` keyed by its key, and a source of its own reading that topic
 * (its partitions split among the processes like the input's) goes on below
 * with the key_by; watermarks cross the topic as marker records the host
 * writes (see df_graph_source_marks).  Otherwise it is df_key_by. */
df_stream_t *df_key_by_repartition(df_stream_t *in, const char *name, df_key_fn fn, void *ctx,
                                   const char *topic);
/* Keyed running aggregate: emits result() after every record (needs key_by). */
df_stream_t *df_reduce(df_stream_t *in, const char *name, const df_agg_t *agg, void *ctx);
/* State TTL for a reduce: a key not updated for ttl_ms of processing time (the
 * now_ms given to push/tick) is forgotten, so memory stays bounded on an
 * endless stream of new keys; its next record starts from a new accumulator.
 * 0 (the default) keeps keys forever. */
void df_reduce_set_ttl(df_stream_t *reduce, int64_t ttl_ms);
/* Keyed event-time windows aligned to the epoch: tumbling (slide 0 or equal
 * to size) or sliding (size, slide).  A window fires once the watermark
 * reaches end - 1 ms and emits result() per key; until end - 1 + allowed
 * lateness a record for it updates it and its result is emitted again with
 * "update": true; later records go to the late side output. */
typedef struct df_window_spec {
    int64_t size_ms, slide_ms, allowed_lateness_ms;
} df_window_spec_t;
df_stream_t *df_window(df_stream_t *in, const char *name, const df_window_spec_t *spec,
                       const df_agg_t *agg, void *ctx);
/* Session windows per key (Flink's EventTimeSessionWindows): a record at t
 * opens [t, t + gap) and merges with its key's sessions that overlap, so a
 * session ends `gap` after its last record.  Fires like df_window (once the
 * watermark reaches end - 1 ms), takes records for allowed_lateness more
 * (re-emitting the merged result with "update": true) and sends later ones
 * to df_window_late.  agg->merge is required. */
df_stream_t *df_window_session(df_stream_t *in, const char *name, int64_t gap_ms,
                               int64_t allowed_lateness_ms, const df_agg_t *agg, void *ctx);
/* df_window with slide = size and no allowed lateness. */
df_stream_t *df_window_tumbling(df_stream_t *in, const char *name, int64_t size_ms,
                                const df_agg_t *agg, void *ctx);
/* The late side output of a window operator: records whose window had fired,
 * each value extended with missed_window_start and missed_window_end. */
df_stream_t *df_window_late(df_stream_t *window);
/* Keyed process function (Flink's KeyedProcessFunction), for stateful steps
 * that are neither a reduce nor a window: reassembling chunks, deduplicating.
 * Needs key_by upstream.  Each key has one opaque state (NULL at first) that
 * the callbacks own: they may replace *state, and set it to NULL (after
 * freeing it) to forget the key.  They emit with df_process_emit (the main
 * output, the record's key) or df_process_emit_side (the side output, e.g. a
 * dead-letter topic).  on_timer, if set, is called on every tick (now_ms is
 * processing time; INT64_MAX at the end of a bounded input) for every key
 * that has state, so it can expire incomplete work. */
typedef struct df_process_out df_process_out_t;
typedef struct df_process_fn {
    void (*on_record)(df_process_out_t *out, const df_record_t *r, void **state, void *ctx);
    void (*on_timer)(df_process_out_t *out, const char *key, void **state, int64_t now_ms,
                     void *ctx);
    void (*free_state)(void *state, void *ctx); /* frees what is left when the graph goes */
    /* Optional, for changelogs and restore (both or neither).  save: the
     * state as JSON (a new reference; NULL keeps nothing), and in
     * *replay_from the input offset from which this key's records must be
     * read again to rebuild what JSON cannot hold (running hashes), or -1.
     * load: the state back from what save gave.  After a load with a
     * replay_from, the key's records from that offset up to the restored
     * committed offset come through on_record again with emission muted
     * (df_process_replaying is true), before any new record. */
    json_t *(*save)(const void *state, int64_t *replay_from, void *ctx);
    void *(*load)(const json_t *saved, void *ctx);
} df_process_fn_t;
df_stream_t *df_process(df_stream_t *in, const char *name, const df_process_fn_t *fn, void *ctx);
/* The process operator's side output (counted as its dlq in the metrics). */
df_stream_t *df_process_side(df_stream_t *process);
/* Emit value (a reference the call takes) on the main or the side output. */
void df_process_emit(df_process_out_t *out, json_t *value);
void df_process_emit_side(df_process_out_t *out, json_t *value);
/* True while restore reads a key's records again (what is emitted then is
 * dropped: it went out before). */
bool df_process_replaying(const df_process_out_t *out);
/* Number of keys holding state in a process operator (a memory metric). */
size_t df_process_keys(const df_stream_t *process);

/* Complex event processing: a sequence of conditions per key, in event-time
 * order, within a time bound (Flink's CEP; in SQL, MATCH_RECOGNIZE with
 * PARTITION BY key ORDER BY event time, PATTERN (S0 S1 ...) WITHIN bound,
 * AFTER MATCH SKIP PAST LAST ROW).  Needs key_by upstream.
 *
 * Records are held per key until the watermark passes them, then taken in
 * event-time order (ties in input order).  A record at or behind the
 * operator's watermark when it comes is late: counted (df_op_metrics_t.late)
 * and not matched.  Stages follow each other strictly: a match is nstages
 * consecutive records of the key, record i meeting stage i's condition, with
 * last - first <= within.  After a match, matching starts again after its
 * last record.  Each match emits result() (a new JSON value; its event time
 * is the last record's).  Held records and partial matches are keyed state
 * (changelog, restore, scale-out) and are held by reference: a pipeline
 * whose records are large and changed in place downstream (copy on write)
 * maps them to what the conditions and result read first. */
#define DF_PATTERN_MAX 8
typedef struct df_pattern {
    int nstages; /* 1 .. DF_PATTERN_MAX */
    /* Whether r meets stage `stage`, after prev[0 .. stage-1] (the records
     * matched so far, in order).  r and prev are borrowed, in either form
     * (df_record_string / df_record_number); they may have come back from a
     * changelog as JSON. */
    bool (*cond)(int stage, const df_record_t *r, const df_record_t *const *prev, void *ctx);
    /* The bound on last - first (inclusive), read when a record is taken, so
     * it may change while running; NULL or negative: none. */
    int64_t (*within)(void *ctx);
    /* The record a match emits (a new reference): key and the nstages
     * matched records, in order (borrowed). */
    json_t *(*result)(const json_t *key, const df_record_t *const *match, void *ctx);
} df_pattern_t;
df_stream_t *df_pattern(df_stream_t *in, const char *name, const df_pattern_t *p, void *ctx);
/* Records a pattern operator holds for the watermark, and the keys with
 * state (memory metrics). */
size_t df_pattern_held(const df_stream_t *pattern);
size_t df_pattern_keys(const df_stream_t *pattern);

/* Writes every record to topic as compact JSON, keyed by the string field
 * key_field of the value (or the record key when key_field is NULL). */
void df_sink_topic(df_stream_t *in, const char *topic, const char *key_field);
/* Calls fn for every record; fn borrows the record, as JSON. */
void df_sink_call(df_stream_t *in, const char *name, void (*fn)(const df_record_t *r, void *ctx),
                  void *ctx);
/* A host's tap (the console's views): calls fn(ctx, name, r) for every
 * record; r is borrowed, as JSON unless any_form (then read it with
 * df_record_string / df_record_number). */
typedef void (*df_tap_fn)(void *ctx, const char *name, const df_record_t *r);
void df_sink_tap(df_stream_t *in, const char *name, df_tap_fn fn, void *ctx, bool any_form);

/* --- running ------------------------------------------------------------- */
/* Topics the graph's sources read (NULL-terminated, owned by the graph). */
const char *const *df_graph_inputs(const df_graph_t *g);
/* Topics the graph writes: sinks and dead-letter topics (NULL-terminated,
 * owned by the graph, in creation order). */
const char *const *df_graph_outputs(const df_graph_t *g);
/* True for a side output among them: a dead-letter topic or the sink of a
 * window's late records (summaries count those apart from the results). */
bool df_graph_is_side_output(const df_graph_t *g, const char *topic);
/* Tells the source of topic which partitions it reads now (after a rebalance);
 * until a partition has records it holds the watermark back, up to the idle
 * timeout. */
void df_graph_assign(df_graph_t *g, const char *topic, const int32_t *partitions, size_t n,
                     int64_t now_ms);
/* Runs one input record through the graph; returns false if no source reads topic. */
bool df_graph_push(df_graph_t *g, const char *topic, int32_t partition, int64_t offset,
                   const char *buf, size_t len, int64_t now_ms);
/* Recomputes the watermark from the sources (idleness uses now_ms) and fires
 * the windows it passes.  Call it regularly (the engine does after each batch). */
void df_graph_tick(df_graph_t *g, int64_t now_ms);
/* End of a bounded input: a final watermark that fires every open window. */
void df_graph_finish(df_graph_t *g);
int64_t df_graph_watermark(const df_graph_t *g);

/* Copies up to max operator metrics into out; returns how many operators there are. */
size_t df_graph_metrics(const df_graph_t *g, df_op_metrics_t *out, size_t max);
uint64_t df_graph_dlq_count(const df_graph_t *g);
/* Records late for a window (a pattern operator's late records are counted
 * in its own metrics only). */
uint64_t df_graph_late_count(const df_graph_t *g);

/* Copy on write: returns v itself if nobody else holds it, else a deep copy
 * (and drops the caller's reference to v). */
static inline json_t *df_writable(json_t *v)
{
    /* atomic: workers share values (Jansson counts references atomically) */
    if (__atomic_load_n(&v->refcount, __ATOMIC_ACQUIRE) <= 1)
        return v;
    json_t *c = json_deep_copy(v);
    json_decref(v);
    return c;
}

/* Typed values: a new reference; drop one (frees at zero). */
static inline df_obj_t *df_obj_ref(df_obj_t *o)
{
    if (o)
        __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
    return o;
}
static inline void df_obj_unref(df_obj_t *o)
{
    if (o && __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0)
        o->cls->free(o);
}
/* Copy on write for a typed value: o itself if nobody else holds it, else a
 * clone (and the caller's reference to o is dropped). */
static inline df_obj_t *df_obj_writable(df_obj_t *o)
{
    if (__atomic_load_n(&o->refs, __ATOMIC_ACQUIRE) <= 1)
        return o;
    df_obj_t *c = o->cls->clone(o);
    df_obj_unref(o);
    return c;
}
/* Drops what r holds (value or obj). */
static inline void df_record_release(df_record_t *r)
{
    json_decref(r->value);
    df_obj_unref(r->obj);
    r->value = NULL;
    r->obj = NULL;
}
/* Makes r's value JSON (a typed value is converted, and dropped); returns
 * r->value. */
json_t *df_record_json(df_record_t *r);

/* A top-level field of r's value in whichever form it is: a string's bytes
 * (NULL when absent or not a string), a number (false when absent or not a
 * number). */
const char *df_record_string(const df_record_t *r, const char *name, size_t *len);
bool df_record_number(const df_record_t *r, const char *name, double *out);

/* Number in a JSON value as a double (integer or real); false if neither. */
bool df_json_number(const json_t *v, double *out);
/* The dump flags every sink uses (compact, shortest-ish reals). */
#define DF_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

#endif
