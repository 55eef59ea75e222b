/* dataflow.c — see dataflow.h.
 *
 * Ownership along the graph: df_record_t.value is one reference handed from
 * operator to operator.  emit() gives every downstream operator its own
 * reference (an incref for all but the last), so an operator on a branch of
 * its own can change the value in place and one on a shared branch copies
 * (df_writable).  Keys are borrowed: key_by holds the key's reference while
 * the record travels below it. */
#include "engine/jsonr.h"
#include "engine/dataflow.h"
#include "engine/dataflow_exec.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <math.h>

#include <openssl/evp.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "engine/evtime.h"
#include "engine/jsonw.h"
#include "engine/util.h"

enum kind {
    K_SOURCE, K_MAP, K_FILTER, K_KEYBY, K_REDUCE, K_WINDOW, K_LATE, K_SINK, K_CALL, K_PROCESS,
    K_SESSION, K_REPART, K_PATTERN,
    K_NKINDS /* op_classes has a row for each */
};

/* Counters have one writer (the graph's thread); readers on other threads
 * load them relaxed.  Increments are plain load+store, no locked RMW. */
typedef _Atomic uint64_t counter_t;
#define COUNT(c) atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + 1, \
                                       memory_order_relaxed)
#define READ(c) atomic_load_explicit(&(c), memory_order_relaxed)

typedef struct part_wm {
    int32_t id;
    int64_t max_event_ms; /* DF_NO_TIME until it has a record */
    int64_t last_active_ms;
    /* A repartition source's partition: the newest watermark marker of each
     * upstream source partition (DF_NO_TIME until one came); its watermark
     * is their minimum.  NULL for other sources. */
    int64_t *marks;
    /* and the newest upstream offset taken from each upstream partition: a
     * record at or below it is a second copy (an aborted transaction that a
     * broker still showed, then the same input processed again) */
    int64_t *seen;
    /* and whether that upstream partition said it is idle (its marker is then
     * left out of the minimum, unless every one is idle) */
    bool *idle;
} part_wm_t;

/* A process operator's per-key state, in a chained hash table. */
typedef struct proc_entry {
    char *key;
    void *state;
    int64_t replay_from; /* restored, waiting for its records from here; -1 */
    struct proc_entry *next;
} proc_entry_t;

/* One key's session window: [start, end) where end = last record + gap. */
typedef struct session {
    json_t *key, *acc;
    int64_t start, end;
    bool fired;   /* fired and kept while allowed lateness lasts */
    bool emitted; /* a result for (part of) it went out: later ones are updates */
} session_t;

/* A pattern operator's record: held for the watermark, or taken into a
 * partial match (its value or obj is a reference; its key is NULL). */
typedef struct pat_rec {
    df_record_t r;
    uint64_t seq; /* input order: ties in event time are taken in it */
} pat_rec_t;

/* One key's pattern state: what waits for the watermark, sorted by
 * (event time, seq), and the records taken since the earliest partial
 * match that is still alive began (run[i] begins one when alive[i]). */
typedef struct pat_key {
    const char *key; /* its hash entry's */
    bool live;       /* holds something (counted in pat_live); else kept for reuse */
    pat_rec_t *held;
    size_t nheld, hcap;
    pat_rec_t run[DF_PATTERN_MAX];
    bool alive[DF_PATTERN_MAX];
    int nrun;
    size_t nheap; /* heap entries that point here: it lives while any do */
    /* Restored, until df_graph_replay_done: what it held is not in the
     * changelog (it would be every record of the last seconds, at every
     * checkpoint) but read again from the input: per input partition the
     * offset of its oldest held record; of those records, the ones after
     * replay_wm (the operator's watermark when it was saved) were held. */
    struct pat_from {
        int32_t partition;
        int64_t offset;
    } *from;
    int nfrom;
    int64_t replay_wm;
} pat_key_t;

/* The operator's heap of due times over every key: a held record (taken
 * when the watermark reaches its time), or the time after which a key's
 * partial matches are past the bound (expiry: dropped, to bound memory). */
typedef struct pat_due {
    int64_t ts;
    uint64_t seq;
    pat_key_t *k;
    bool expiry;
} pat_due_t;

typedef struct window {
    int64_t start, end;
    bool fired; /* kept after firing while allowed lateness lasts */
    json_t *accs; /* key -> accumulator, in arrival order */
} window_t;

struct df_stream {
    df_graph_t *g;
    enum kind kind;
    int id;    /* index in g->nodes */
    int level; /* key_by operators above it: a parallel job exchanges records at each */
    char *name;
    const char *src_topic; /* the topic of the source above it (owns its state) */
    struct df_stream **down;
    size_t ndown;
    counter_t in, out, late, dlq;
    _Atomic int64_t watermark_ms;
    void *ctx;
    union {
        df_parse_fn parse;
        df_map_fn map;
        df_filter_fn filter;
        df_key_fn key;
        void (*call)(const df_record_t *, void *);
        df_tap_fn tap;
        df_parse_rec_fn parse_rec;
        df_map_rec_fn map_rec;
        df_filter_rec_fn filter_rec;
        df_key_rec_fn key_rec;
    } fn;
    bool rec; /* fn is the record-level form (df_*_rec), or a tap's any_form */
    bool tap; /* a call sink whose fn is fn.tap */
    const df_agg_t *agg;
    /* source */
    char *topic, *dlq_topic;
    part_wm_t *parts;
    size_t nparts;
    /* reduce */
    json_t *state;
    json_t *state_seen; /* key -> now_ms of its last update, with a TTL */
    int64_t ttl_ms, last_evict_ms;
    /* window */
    int64_t size_ms, slide_ms, lateness_ms;
    window_t *wins; /* sorted by end */
    size_t nwins;
    int64_t gap_ms; /* session windows */
    session_t *sess;
    size_t nsess;
    struct df_stream *late_out;
    /* sink */
    char *key_field;
    /* keys whose state changed since the last df_graph_state_drain, as
     * "<sub>\x1f<key>" (sub: a window's start, else empty); NULL when the
     * graph does not track state */
    json_t *dirty;
    /* key -> the input partition (of src_topic) whose records made its
     * state: the partition that owns it; kept while state is tracked */
    json_t *owner;
    /* key_by through a topic (df_key_by_repartition with a host that
     * repartitions): the topic its records go to; on a source, the
     * number of upstream partitions whose markers it waits for */
    char *repart_topic;
    int upstream;
    /* process (and pattern: its keys are in the same table) */
    const df_process_fn_t *proc;
    proc_entry_t **buckets;
    size_t nbuckets, nkeys;
    /* pattern */
    const df_pattern_t *pat;
    pat_due_t *due; /* a heap, for what comes out of order */
    size_t ndue, duecap, nheld;
    pat_due_t *fifo; /* a ring in (time, seq) order, for what comes in order */
    size_t fhead, nfifo, fifocap;
    size_t pat_live; /* keys that hold something (the others wait for a sweep) */
    uint64_t pat_seq;
};

struct df_graph {
    char *name;
    df_host_t host;
    struct df_stream **nodes;
    size_t nnodes;
    const char **inputs, **outputs, **reparts;
    size_t nreparts;
    bool *side; /* per output */
    size_t ninputs, noutputs;
    int64_t bound_ms, idle_ms;
    int64_t now_ms; /* of the record being pushed */
    df_route_fn replay_route; /* during df_graph_replay: the graph of a key's state */
    void *replay_opaque;
    bool event_clock;
    bool processing_time; /* event time := processing time at the source */
    int64_t newest_event_ms;
    int nlevels;
    df_exchange_fn exchange; /* a parallel job's: key_by hands records over */
    int64_t emit_event_ms;   /* event time of the record a sink is writing */
    void *exchange_opaque;
    _Atomic int64_t watermark_ms;
    /* The last value a sink serialized, so that a second sink of the same
     * value (processed and high-value transactions) copies bytes instead of
     * serializing again.  Holding a reference keeps the value's refcount
     * above 1, so a map elsewhere copies it (df_writable) rather than change
     * it under the cache.  Dropped after every push. */
    json_t *dump_value;
    df_obj_t *dump_obj;
    char *dump_payload;
    size_t dump_len;
};

static void push(struct df_stream *n, df_record_t *r);
static void mark_dirty(struct df_stream *n, int64_t sub, const char *key);
static void set_owner(struct df_stream *n, const char *key, int32_t partition);
static int32_t owner_of(const struct df_stream *n, const char *key);
static void dump_cache_clear(df_graph_t *g);

bool df_json_number(const json_t *v, double *out)
{
    if (json_is_real(v))
        *out = json_real_value(v);
    else if (json_is_integer(v))
        *out = (double)json_integer_value(v);
    else
        return false;
    return true;
}

df_graph_t *df_graph_new(const char *name, const df_host_t *host)
{
    df_graph_t *g = xcalloc(1, sizeof *g);
    g->name = xstrdup(name);
    g->host = *host;
    g->bound_ms = 5000;
    g->idle_ms = 10000;
    g->inputs = xcalloc(1, sizeof *g->inputs);
    g->outputs = xcalloc(1, sizeof *g->outputs);
    atomic_init(&g->watermark_ms, DF_NO_TIME);
    return g;
}

static void pat_key_free(pat_key_t *k);

/* Frees a process (or pattern) operator's keys and their state. */
static void proc_clear(struct df_stream *n)
{
    for (size_t b = 0; b < n->nbuckets; b++) {
        for (proc_entry_t *e = n->buckets[b], *next; e; e = next) {
            next = e->next;
            if (e->state && n->kind == K_PATTERN)
                pat_key_free(e->state);
            else if (e->state && n->proc->free_state)
                n->proc->free_state(e->state, n->ctx);
            free(e->key);
            free(e);
        }
        n->buckets[b] = NULL;
    }
    n->nkeys = 0;
    n->ndue = n->nheld = n->pat_live = n->nfifo = n->fhead = 0;
}

static void node_free(struct df_stream *n)
{
    proc_clear(n);
    free(n->buckets);
    free(n->due);
    free(n->fifo);
    for (size_t i = 0; i < n->nwins; i++)
        json_decref(n->wins[i].accs);
    free(n->wins);
    for (size_t i = 0; i < n->nsess; i++) {
        json_decref(n->sess[i].key);
        json_decref(n->sess[i].acc);
    }
    free(n->sess);
    json_decref(n->dirty);
    json_decref(n->owner);
    free(n->repart_topic);
    for (size_t i = 0; i < n->nparts; i++) {
        free(n->parts[i].marks);
        free(n->parts[i].seen);
        free(n->parts[i].idle);
    }
    json_decref(n->state);
    json_decref(n->state_seen);
    free(n->parts);
    free(n->down);
    free(n->name);
    free(n->topic);
    free(n->dlq_topic);
    free(n->key_field);
    free(n);
}

void df_graph_free(df_graph_t *g)
{
    if (!g)
        return;
    dump_cache_clear(g);
    for (size_t i = 0; i < g->nnodes; i++)
        node_free(g->nodes[i]);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->side);
    free(g->reparts);
    free(g->name);
    free(g);
}

const char *df_graph_name(const df_graph_t *g) { return g->name; }

void df_graph_use_event_clock(df_graph_t *g, bool on)
{
    g->event_clock = on;
    g->newest_event_ms = DF_NO_TIME;
}

void df_graph_set_time(df_graph_t *g, int64_t bound_ms, int64_t idle_ms)
{
    g->bound_ms = bound_ms;
    g->idle_ms = idle_ms;
}

static void add_output(df_graph_t *g, const char *topic, bool side)
{
    for (size_t i = 0; i < g->noutputs; i++)
        if (!strcmp(g->outputs[i], topic))
            return;
    g->outputs = xrealloc(g->outputs, (g->noutputs + 2) * sizeof *g->outputs);
    g->side = xrealloc(g->side, (g->noutputs + 1) * sizeof *g->side);
    g->side[g->noutputs] = side;
    g->outputs[g->noutputs++] = topic;
    g->outputs[g->noutputs] = NULL;
}

bool df_graph_is_side_output(const df_graph_t *g, const char *topic)
{
    for (size_t i = 0; i < g->noutputs; i++)
        if (!strcmp(g->outputs[i], topic))
            return g->side[i];
    return false;
}

static struct df_stream *node_new(df_graph_t *g, struct df_stream *up, enum kind kind,
                                  const char *name, void *ctx)
{
    struct df_stream *n = xcalloc(1, sizeof *n);
    n->g = g;
    n->kind = kind;
    n->name = xstrdup(name);
    n->ctx = ctx;
    n->id = (int)g->nnodes;
    n->level = up ? up->level + (kind == K_KEYBY) : 0;
    n->src_topic = up ? up->src_topic : NULL;
    if (n->level + 1 > g->nlevels)
        g->nlevels = n->level + 1;
    atomic_init(&n->watermark_ms, DF_NO_TIME);
    g->nodes = xrealloc(g->nodes, (g->nnodes + 1) * sizeof *g->nodes);
    g->nodes[g->nnodes++] = n;
    if (up) {
        up->down = xrealloc(up->down, (up->ndown + 1) * sizeof *up->down);
        up->down[up->ndown++] = n;
    }
    return n;
}

df_stream_t *df_source(df_graph_t *g, const char *topic, const char *dlq_topic, df_parse_fn parse,
                       void *ctx)
{
    char name[128];
    snprintf(name, sizeof name, "source:%s", topic);
    struct df_stream *n = node_new(g, NULL, K_SOURCE, name, ctx);
    n->fn.parse = parse;
    n->topic = xstrdup(topic);
    n->src_topic = n->topic;
    n->dlq_topic = xstrdup(dlq_topic);
    g->inputs = xrealloc(g->inputs, (g->ninputs + 2) * sizeof *g->inputs);
    g->inputs[g->ninputs++] = n->topic;
    g->inputs[g->ninputs] = NULL;
    add_output(g, n->dlq_topic, true);
    return n;
}

df_stream_t *df_source_rec(df_graph_t *g, const char *topic, const char *dlq_topic,
                           df_parse_rec_fn parse, void *ctx)
{
    struct df_stream *n = df_source(g, topic, dlq_topic, NULL, ctx);
    n->fn.parse_rec = parse;
    n->rec = true;
    return n;
}

df_stream_t *df_map_rec(df_stream_t *in, const char *name, df_map_rec_fn fn, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_MAP, name, ctx);
    n->fn.map_rec = fn;
    n->rec = true;
    return n;
}

df_stream_t *df_filter_rec(df_stream_t *in, const char *name, df_filter_rec_fn fn, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_FILTER, name, ctx);
    n->fn.filter_rec = fn;
    n->rec = true;
    return n;
}

df_stream_t *df_key_by_rec(df_stream_t *in, const char *name, df_key_rec_fn fn, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_KEYBY, name, ctx);
    n->fn.key_rec = fn;
    n->rec = true;
    return n;
}

df_stream_t *df_map(df_stream_t *in, const char *name, df_map_fn fn, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_MAP, name, ctx);
    n->fn.map = fn;
    return n;
}

df_stream_t *df_filter(df_stream_t *in, const char *name, df_filter_fn fn, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_FILTER, name, ctx);
    n->fn.filter = fn;
    return n;
}

df_stream_t *df_key_by(df_stream_t *in, const char *name, df_key_fn fn, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_KEYBY, name, ctx);
    n->fn.key = fn;
    return n;
}

/* With a repartitioning host: an operator writing each record to the topic
 * (K_REPART, at the level of `in`), and a source reading the topic, whose
 * key_by goes on (the stream returned).  Records are wrapped as
 * {"t": event_ms, "v": value}; watermark markers {"_watermark": ms,
 * "source": "<topic>/<partition>"} come from the host. */
static df_stream_t *key_by_repartition(df_stream_t *in, const char *name, df_key_fn fn,
                                       df_key_rec_fn fn_rec, void *ctx, const char *topic)
{
    df_graph_t *g = in->g;
    if (!g->host.repartition)
        return fn_rec ? df_key_by_rec(in, name, fn_rec, ctx) : df_key_by(in, name, fn, ctx);
    char n1[200];
    snprintf(n1, sizeof n1, "repartition:%s", topic);
    struct df_stream *w = node_new(g, in, K_REPART, n1, ctx);
    if (fn_rec)
        w->fn.key_rec = fn_rec;
    else
        w->fn.key = fn;
    w->rec = fn_rec != NULL;
    w->repart_topic = xstrdup(topic);
    add_output(g, w->repart_topic, false);
    g->reparts = xrealloc(g->reparts, (g->nreparts + 2) * sizeof *g->reparts);
    g->reparts[g->nreparts++] = w->repart_topic;
    g->reparts[g->nreparts] = NULL;
    const char *dlq = NULL;
    for (size_t i = 0; i < g->nnodes && !dlq; i++)
        if (g->nodes[i]->kind == K_SOURCE)
            dlq = g->nodes[i]->dlq_topic;
    df_stream_t *src = df_source(g, topic, dlq ? dlq : "repartition.dlq", NULL, NULL);
    return fn_rec ? df_key_by_rec(src, name, fn_rec, ctx) : df_key_by(src, name, fn, ctx);
}

df_stream_t *df_key_by_repartition(df_stream_t *in, const char *name, df_key_fn fn, void *ctx,
                                   const char *topic)
{
    return key_by_repartition(in, name, fn, NULL, ctx, topic);
}

df_stream_t *df_key_by_repartition_rec(df_stream_t *in, const char *name, df_key_rec_fn fn,
                                       void *ctx, const char *topic)
{
    return key_by_repartition(in, name, NULL, fn, ctx, topic);
}

const char *const *df_graph_repartitions(const df_graph_t *g)
{
    static const char *const none[] = {NULL};
    return g->reparts ? g->reparts : none;
}

void df_graph_set_upstream(df_graph_t *g, const char *topic, int partitions)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *s = g->nodes[i];
        if (s->kind == K_SOURCE && !s->fn.parse && !strcmp(s->topic, topic) && partitions > 0)
            s->upstream = partitions;
    }
}

df_stream_t *df_reduce(df_stream_t *in, const char *name, const df_agg_t *agg, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_REDUCE, name, ctx);
    n->agg = agg;
    n->state = json_object();
    return n;
}

void df_reduce_set_ttl(df_stream_t *reduce, int64_t ttl_ms)
{
    reduce->ttl_ms = ttl_ms;
    if (ttl_ms > 0 && !reduce->state_seen)
        reduce->state_seen = json_object();
}

/* Forgets the keys of a reduce whose TTL has passed (at most once a second). */
static void reduce_evict(struct df_stream *n, int64_t now_ms)
{
    int64_t every = n->ttl_ms < 1000 ? n->ttl_ms : 1000;
    if (now_ms - n->last_evict_ms < every)
        return;
    n->last_evict_ms = now_ms;
    const char *k;
    json_t *t, *tmp;
    json_object_foreach_safe(n->state_seen, tmp, k, t)
    {
        if (now_ms - json_integer_value(t) > n->ttl_ms) {
            mark_dirty(n, DF_NO_TIME, k);
            json_object_del(n->state, k);
            json_object_del(n->state_seen, k);
        }
    }
}

df_stream_t *df_window(df_stream_t *in, const char *name, const df_window_spec_t *spec,
                       const df_agg_t *agg, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_WINDOW, name, ctx);
    n->agg = agg;
    n->size_ms = spec->size_ms;
    n->slide_ms = spec->slide_ms > 0 && spec->slide_ms < spec->size_ms ? spec->slide_ms : spec->size_ms;
    n->lateness_ms = spec->allowed_lateness_ms > 0 ? spec->allowed_lateness_ms : 0;
    return n;
}

df_stream_t *df_window_session(df_stream_t *in, const char *name, int64_t gap_ms,
                               int64_t allowed_lateness_ms, const df_agg_t *agg, void *ctx)
{
    if (!agg->merge)
        util_fatal("df_window_session(%s): the aggregation has no merge", name);
    struct df_stream *n = node_new(in->g, in, K_SESSION, name, ctx);
    n->agg = agg;
    n->gap_ms = gap_ms > 0 ? gap_ms : 1;
    n->lateness_ms = allowed_lateness_ms > 0 ? allowed_lateness_ms : 0;
    return n;
}

df_stream_t *df_window_tumbling(df_stream_t *in, const char *name, int64_t size_ms,
                                const df_agg_t *agg, void *ctx)
{
    df_window_spec_t spec = {.size_ms = size_ms};
    return df_window(in, name, &spec, agg, ctx);
}

df_stream_t *df_window_late(df_stream_t *window)
{
    if (!window->late_out) {
        char name[160];
        snprintf(name, sizeof name, "%s:late", window->name);
        /* Not linked as a downstream of the window: it receives only late records. */
        window->late_out = node_new(window->g, NULL, K_LATE, name, NULL);
        window->late_out->level = window->level;
    }
    return window->late_out;
}

df_stream_t *df_process(df_stream_t *in, const char *name, const df_process_fn_t *fn, void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_PROCESS, name, ctx);
    n->proc = fn;
    n->nbuckets = 64;
    n->buckets = xcalloc(n->nbuckets, sizeof *n->buckets);
    return n;
}

df_stream_t *df_process_side(df_stream_t *process)
{
    if (!process->late_out) {
        char name[160];
        snprintf(name, sizeof name, "%s:side", process->name);
        process->late_out = node_new(process->g, NULL, K_LATE, name, NULL);
        process->late_out->level = process->level;
    }
    return process->late_out;
}

size_t df_process_keys(const df_stream_t *process) { return process->nkeys; }

df_stream_t *df_pattern(df_stream_t *in, const char *name, const df_pattern_t *p, void *ctx)
{
    if (p->nstages < 1 || p->nstages > DF_PATTERN_MAX || !p->cond || !p->result)
        util_fatal("df_pattern(%s): 1 to %d stages, a condition and a result", name,
                   DF_PATTERN_MAX);
    struct df_stream *n = node_new(in->g, in, K_PATTERN, name, ctx);
    n->pat = p;
    n->nbuckets = 64;
    n->buckets = xcalloc(n->nbuckets, sizeof *n->buckets);
    return n;
}

size_t df_pattern_held(const df_stream_t *pattern) { return pattern->nheld; }
size_t df_pattern_keys(const df_stream_t *pattern) { return pattern->pat_live; }

void df_sink_topic(df_stream_t *in, const char *topic, const char *key_field)
{
    char name[160];
    snprintf(name, sizeof name, "sink:%s", topic);
    struct df_stream *n = node_new(in->g, in, K_SINK, name, NULL);
    n->topic = xstrdup(topic);
    n->key_field = key_field ? xstrdup(key_field) : NULL;
    add_output(in->g, n->topic, in->kind == K_LATE);
}

void df_sink_call(df_stream_t *in, const char *name, void (*fn)(const df_record_t *, void *),
                  void *ctx)
{
    struct df_stream *n = node_new(in->g, in, K_CALL, name, ctx);
    n->fn.call = fn;
}

void df_sink_tap(df_stream_t *in, const char *name, df_tap_fn fn, void *ctx, bool any_form)
{
    struct df_stream *n = node_new(in->g, in, K_CALL, name, ctx);
    n->fn.tap = fn;
    n->tap = true;
    n->rec = any_form;
}


const char *const *df_graph_inputs(const df_graph_t *g) { return g->inputs; }
const char *const *df_graph_outputs(const df_graph_t *g) { return g->outputs; }

json_t *df_record_json(df_record_t *r)
{
    if (r->obj && !r->value) {
        r->value = r->obj->cls->to_json(r->obj);
        df_obj_unref(r->obj);
        r->obj = NULL;
    }
    return r->value;
}

const char *df_record_string(const df_record_t *r, const char *name, size_t *len)
{
    if (r->obj)
        return r->obj->cls->field(r->obj, name, len);
    const json_t *s = json_object_get(r->value, name);
    if (!json_is_string(s))
        return NULL;
    *len = json_string_length(s);
    return json_string_value(s);
}

bool df_record_number(const df_record_t *r, const char *name, double *out)
{
    if (r->obj)
        return r->obj->cls->number(r->obj, name, out);
    return df_json_number(json_object_get(r->value, name), out);
}

/* --- raw JSON values ----------------------------------------------------------
 * A repartition topic's records come back as the text a sink wrote.  When
 * that text is canonical (exactly what jsonw writes for the value jsonr
 * reads from it) the value is kept as its bytes: a sink copies them out, a
 * field is read from jsmn's tokens, and a JSON tree is built only for an
 * operator that needs one (df_record_json).  Anything else is parsed as
 * before. */

#define RAW_FIELDS 64
#define RAW_TOKENS 512

typedef struct raw_field {
    int k, klen, v, vlen; /* the key's bytes (inside its quotes), the value's (a string's inside) */
    jsmntype_t type;
} raw_field_t;

typedef struct raw {
    df_obj_t h;
    int nf;
    raw_field_t f[RAW_FIELDS];
    size_t len;
    char text[];
} raw_t;

static int raw_start(const jsmntok_t *t) { return t->start - (t->type == JSMN_STRING); }
static int raw_end(const jsmntok_t *t) { return t->end + (t->type == JSMN_STRING); }

/* A string jsonw writes as it is: printable ASCII without quote or backslash. */
static bool plain_text(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '\\' || s[i] == '"')
            return false;
    return true;
}

/* A number token as jsonw writes the value jsonr reads from it. */
static bool canonical_number(const char *s, int n)
{
    char buf[64];
    if (n <= 0 || n >= (int)sizeof buf)
        return false;
    memcpy(buf, s, (size_t)n);
    buf[n] = '\0';
    bool whole = !memchr(buf, '.', (size_t)n) && !memchr(buf, 'e', (size_t)n) && !memchr(buf, 'E', (size_t)n);
    char *end;
    errno = 0;
    jsonw_buf_t *b = &(jsonw_buf_t){.p = (char[64]){0}, .cap = 64};
    if (whole) {
        long long v = strtoll(buf, &end, 10);
        if (errno || *end)
            return false;
        jsonw_int(b, v);
    } else {
        double d = strtod(buf, &end);
        if (errno || *end || !isfinite(d))
            return false;
        jsonw_real(b, d);
    }
    return b->len == (size_t)n && !memcmp(b->p, buf, (size_t)n);
}

/* The index after token i's subtree (keys have their value as one child). */
static int skip(const jsmntok_t *t, int n, int i)
{
    int j = i + 1;
    for (int c = 0; c < t[i].size && j < n; c++)
        j = skip(t, n, j);
    return j;
}

/* Checks the value at token i (and below) is canonical; returns the index
 * after it, or -1. */
static int canonical(const char *buf, const jsmntok_t *t, int n, int i)
{
    if (i >= n)
        return -1;
    const jsmntok_t *x = &t[i];
    switch (x->type) {
    case JSMN_STRING:
        return plain_text(buf + x->start, x->end - x->start) ? i + 1 : -1;
    case JSMN_PRIMITIVE: {
        const char *s = buf + x->start;
        int len = x->end - x->start;
        if ((len == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
            (len == 5 && !memcmp(s, "false", 5)))
            return i + 1;
        return canonical_number(s, len) ? i + 1 : -1;
    }
    case JSMN_OBJECT:
    case JSMN_ARRAY: {
        bool obj = x->type == JSMN_OBJECT;
        if (obj && x->size > RAW_FIELDS)
            return -1;
        int pos = x->start + 1, j = i + 1;
        for (int c = 0; c < x->size; c++) {
            if (c && buf[pos++] != ',')
                return -1;
            if (j >= n || raw_start(&t[j]) != pos)
                return -1;
            if (obj) {
                const jsmntok_t *k = &t[j];
                if (k->type != JSMN_STRING || k->size != 1 || !plain_text(buf + k->start, k->end - k->start))
                    return -1;
                /* a duplicate key: jsonr keeps the last one, so the text is not the value */
                for (int p = i + 1; p < j; p = skip(t, n, p))
                    if ((t[p].end - t[p].start == k->end - k->start &&
                                  !memcmp(buf + t[p].start, buf + k->start, (size_t)(k->end - k->start))))
                        return -1;
                pos = raw_end(k);
                if (buf[pos++] != ':' || j + 1 >= n || raw_start(&t[j + 1]) != pos)
                    return -1;
                j++;
            }
            pos = raw_end(&t[j]);
            if ((j = canonical(buf, t, n, j)) < 0)
                return -1;
        }
        return buf[pos] == (obj ? '}' : ']') && pos + 1 == x->end ? j : -1;
    }
    default:
        return -1;
    }
}

static void raw_write(const void *obj, jsonw_buf_t *b)
{
    const raw_t *r = obj;
    jsonw_raw(b, r->text, r->len);
}

static json_t *raw_to_json(const void *obj)
{
    const raw_t *r = obj;
    json_t *v = jsonr_load(r->text, r->len, 0, NULL);
    return v ? v : json_null(); /* canonical text always loads */
}

static const raw_field_t *raw_find(const raw_t *r, const char *name)
{
    int n = (int)strlen(name);
    for (int i = 0; i < r->nf; i++)
        if (r->f[i].klen == n && !memcmp(r->text + r->f[i].k, name, (size_t)n))
            return &r->f[i];
    return NULL;
}

static const char *raw_field(const void *obj, const char *name, size_t *len)
{
    const raw_t *r = obj;
    const raw_field_t *f = raw_find(r, name);
    if (!f || f->type != JSMN_STRING)
        return NULL;
    *len = (size_t)f->vlen;
    return r->text + f->v;
}

static bool raw_number(const void *obj, const char *name, double *out)
{
    const raw_t *r = obj;
    const raw_field_t *f = raw_find(r, name);
    if (!f || f->type != JSMN_PRIMITIVE)
        return false;
    char c = r->text[f->v];
    if (c != '-' && (c < '0' || c > '9'))
        return false; /* true, false, null */
    *out = strtod(r->text + f->v, NULL); /* canonical: it ends at the token's end */
    return true;
}

static void *raw_clone(const void *obj)
{
    const raw_t *r = obj;
    raw_t *c = xmalloc(sizeof *r + r->len + 1);
    memcpy(c, r, sizeof *r + r->len + 1);
    c->h.refs = 1;
    return c;
}

static const df_obj_class_t raw_class = {.name = "raw JSON",
                                         .to_json = raw_to_json,
                                         .write = raw_write,
                                         .field = raw_field,
                                         .number = raw_number,
                                         .clone = raw_clone,
                                         .free = free};

/* A repartitioned record {"t":..,"o":..,"s":..,"v":{..}} as jsonw wrote it:
 * fills r (a raw value) and returns true; false for anything else. */
static bool repart_fast(const char *buf, size_t len, df_record_t *r)
{
    static _Thread_local jsmntok_t t[RAW_TOKENS];
    jsmn_parser p;
    jsmn_init(&p);
    if (!buf || len > INT32_MAX)
        return false;
    int n = jsmn_parse(&p, buf, len, t, RAW_TOKENS);
    if (n < 9 || t[0].type != JSMN_OBJECT || t[0].size != 4 || t[0].start != 0 ||
        t[0].end != (int)len || canonical(buf, t, n, 0) != n)
        return false;
    static const char *const names[] = {"t", "o", "s"};
    long long num[3];
    for (int i = 0; i < 3; i++) {
        const jsmntok_t *k = &t[1 + 2 * i], *v = &t[2 + 2 * i];
        if (k->end - k->start != 1 || buf[k->start] != names[i][0] || v->type != JSMN_PRIMITIVE ||
            !(buf[v->start] == '-' || (buf[v->start] >= '0' && buf[v->start] <= '9')) ||
            memchr(buf + v->start, '.', (size_t)(v->end - v->start)) ||
            memchr(buf + v->start, 'e', (size_t)(v->end - v->start)))
            return false;
        num[i] = strtoll(buf + v->start, NULL, 10);
    }
    const jsmntok_t *k = &t[7], *v = &t[8];
    if (k->end - k->start != 1 || buf[k->start] != 'v' || v->type != JSMN_OBJECT)
        return false;
    size_t vlen = (size_t)(v->end - v->start);
    raw_t *x = xmalloc(sizeof *x + vlen + 1);
    x->h = (df_obj_t){.cls = &raw_class, .refs = 1};
    x->len = vlen;
    memcpy(x->text, buf + v->start, vlen);
    x->text[vlen] = '\0';
    x->nf = v->size;
    for (int i = 0, j = 9; i < v->size; i++) {
        const jsmntok_t *fk = &t[j], *fv = &t[j + 1];
        x->f[i] = (raw_field_t){.k = fk->start - v->start, .klen = fk->end - fk->start,
                                .v = fv->start - v->start, .vlen = fv->end - fv->start,
                                .type = fv->type};
        j = skip(t, n, j);
    }
    r->event_ms = num[0];
    /* where upstream it came from, for df_graph_observe_repart */
    r->offset = num[1] * DF_REPART_PARTS + num[2] % DF_REPART_PARTS;
    r->obj = &x->h;
    return true;
}

/* --- running ------------------------------------------------------------- */

/* r (taken) to every operator below n, through `to` (push, or replay_push). */
static void fan_out(struct df_stream *n, df_record_t *r,
                    void (*to)(struct df_stream *, df_record_t *))
{
    if (n->ndown == 0) {
        df_record_release(r);
        return;
    }
    for (size_t i = 0; i < n->ndown; i++) {
        df_record_t copy = *r;
        if (i + 1 < n->ndown) {
            json_incref(copy.value);
            df_obj_ref(copy.obj);
        }
        to(n->down[i], &copy);
    }
}

static void emit(struct df_stream *n, df_record_t *r)
{
    COUNT(n->out);
    fan_out(n, r, push);
}

static void dump_cache_clear(df_graph_t *g)
{
    json_decref(g->dump_value);
    df_obj_unref(g->dump_obj);
    free(g->dump_payload);
    g->dump_value = NULL;
    g->dump_obj = NULL;
    g->dump_payload = NULL;
}

/* r's value as JSON text to topic.  The last text is kept (with a
 * reference to its value): a value sent to two topics is written once. */
static void host_emit(df_graph_t *g, const char *topic, const char *key, size_t keylen,
                      const df_record_t *r)
{
    if (r->obj ? r->obj == g->dump_obj : r->value == g->dump_value) {
        g->host.emit(g->host.opaque, topic, key, keylen, xstrndup(g->dump_payload, g->dump_len),
                     g->dump_len);
        return;
    }
    size_t len;
    char *payload = r->obj ? jsonw_dumps_with((void (*)(const void *, jsonw_buf_t *))r->obj->cls->write,
                                              r->obj, &len)
                           : jsonw_dumps(r->value, &len);
    dump_cache_clear(g);
    g->dump_value = json_incref(r->value);
    g->dump_obj = df_obj_ref(r->obj);
    g->dump_payload = xstrndup(payload, len);
    g->dump_len = len;
    g->host.emit(g->host.opaque, topic, key, keylen, payload, len);
}

/* The dead-letter record: the error, where the input came from, and the
 * original bytes (as text when they are UTF-8, else base64). */
static void send_dlq(struct df_stream *src, int32_t partition, int64_t offset, const char *buf,
                     size_t len, const char *err)
{
    json_t *d = json_object();
    json_object_set_new(d, "error", json_string(err));
    json_object_set_new(d, "topic", json_string(src->topic));
    json_object_set_new(d, "partition", json_integer(partition));
    json_object_set_new(d, "offset", json_integer(offset));
    json_t *text = json_stringn(buf, len);
    if (text) {
        json_object_set_new(d, "original", text);
    } else {
        char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)buf, (int)len);
        json_object_set_new(d, "original_base64", json_string(b64));
        free(b64);
    }
    char ts[EVTIME_BUFSIZE];
    json_object_set_new(d, "failed_at", json_string(evtime_format_us(evtime_now_us(), ts)));
    host_emit(src->g, src->dlq_topic, NULL, 0, &(df_record_t){.value = d});
    json_decref(d);
    COUNT(src->dlq);
}

static part_wm_t *source_part(struct df_stream *s, int32_t id, int64_t now_ms)
{
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i].id == id)
            return &s->parts[i];
    s->parts = xrealloc(s->parts, (s->nparts + 1) * sizeof *s->parts);
    s->parts[s->nparts] = (part_wm_t){.id = id, .max_event_ms = DF_NO_TIME, .last_active_ms = now_ms};
    if (s->upstream > 0) {
        s->parts[s->nparts].marks = xmalloc((size_t)s->upstream * sizeof(int64_t));
        s->parts[s->nparts].seen = xmalloc((size_t)s->upstream * sizeof(int64_t));
        s->parts[s->nparts].idle = xcalloc((size_t)s->upstream, sizeof(bool));
        for (int u = 0; u < s->upstream; u++) {
            s->parts[s->nparts].marks[u] = DF_NO_TIME;
            s->parts[s->nparts].seen[u] = -1;
        }
    }
    return &s->parts[s->nparts++];
}

void df_graph_assign(df_graph_t *g, const char *topic, const int32_t *partitions, size_t n,
                     int64_t now_ms)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *s = g->nodes[i];
        if (s->kind != K_SOURCE || strcmp(s->topic, topic))
            continue;
        /* Keep what we know of partitions we still own; forget the others. */
        part_wm_t *old = s->parts;
        size_t nold = s->nparts;
        s->parts = NULL;
        s->nparts = 0;
        for (size_t j = 0; j < n; j++) {
            part_wm_t *p = source_part(s, partitions[j], now_ms);
            for (size_t k = 0; k < nold; k++)
                if (old[k].id == partitions[j]) {
                    free(p->marks);
                    free(p->seen);
                    free(p->idle);
                    *p = old[k];
                    old[k].marks = old[k].seen = NULL;
                    old[k].idle = NULL;
                    /* its idle time counts from the assignment: a partition
                     * restored from a changelog (last active at 0) was taken
                     * for idle before its first record, its marker said so,
                     * and the windows below the repartition fired past the
                     * records it still had to give (e2e_crash [kafka]) */
                    p->last_active_ms = now_ms;
                }
        }
        for (size_t k = 0; k < nold; k++) {
            free(old[k].marks);
            free(old[k].seen);
            free(old[k].idle);
        }
        free(old);
    }
}

static struct df_stream *source_for(const df_graph_t *g, const char *topic)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->kind == K_SOURCE && !strcmp(g->nodes[i]->topic, topic))
            return g->nodes[i];
    return NULL;
}

int df_graph_source_of(const df_graph_t *g, const char *topic)
{
    struct df_stream *s = source_for(g, topic);
    return s ? s->id : -1;
}

int df_graph_parse(df_graph_t *g, const char *topic, int32_t partition, int64_t offset,
                   const char *buf, size_t len, int64_t now_ms, df_record_t *r, char *err,
                   size_t errsize)
{
    struct df_stream *s = source_for(g, topic);
    if (!s)
        return -1;
    COUNT(s->in);
    g->now_ms = now_ms;
    *r = (df_record_t){.partition = partition, .offset = offset, .event_ms = DF_NO_TIME};
    err[0] = '\0';
    if (!s->fn.parse) { /* a repartition topic: a wrapped record or a marker */
        if (repart_fast(buf, len, r))
            return s->id;
        json_t *v = buf ? jsonr_load(buf, len, 0, NULL) : NULL;
        json_t *wm = json_object_get(v, "_watermark"), *val = json_object_get(v, "v");
        const char *from = json_string_value(json_object_get(v, "source"));
        const char *slash = from ? strrchr(from, '/') : NULL;
        bool idle = json_is_true(json_object_get(v, "idle"));
        if ((json_is_integer(wm) || idle) && slash) {
            r->event_ms = json_is_integer(wm) ? json_integer_value(wm) : DF_NO_TIME;
            /* the upstream partition, + DF_REPART_PARTS when it is idle */
            r->value = json_integer(atoi(slash + 1) % DF_REPART_PARTS + (idle ? DF_REPART_PARTS : 0));
            json_decref(v);
            return -3;
        }
        if (!val || !json_is_integer(json_object_get(v, "t")) ||
            !json_is_integer(json_object_get(v, "o")) || !json_is_integer(json_object_get(v, "s"))) {
            snprintf(err, errsize, "not a repartitioned record");
            json_decref(v);
            return -2;
        }
        r->event_ms = json_integer_value(json_object_get(v, "t"));
        /* where upstream it came from, for df_graph_observe_repart */
        r->offset = json_integer_value(json_object_get(v, "o")) * DF_REPART_PARTS +
                    json_integer_value(json_object_get(v, "s")) % DF_REPART_PARTS;
        r->value = json_incref(val);
        json_decref(v);
        return s->id;
    }
    if (s->rec ? s->fn.parse_rec(buf, len, r, err, errsize, s->ctx) < 0
               : s->fn.parse(buf, len, &r->value, &r->event_ms, err, errsize, s->ctx) < 0) {
        if (!err[0])
            snprintf(err, errsize, "unparseable record");
        return -2;
    }
    if (g->processing_time)
        r->event_ms = now_ms;
    return s->id;
}

void df_graph_observe(df_graph_t *g, int source, int32_t partition, int64_t event_ms,
                      int64_t now_ms)
{
    struct df_stream *s = g->nodes[source];
    part_wm_t *p = source_part(s, partition, now_ms);
    p->last_active_ms = now_ms;
    if (event_ms != DF_NO_TIME && (p->max_event_ms == DF_NO_TIME || event_ms > p->max_event_ms))
        p->max_event_ms = event_ms;
    if (g->event_clock && event_ms != DF_NO_TIME &&
        (g->newest_event_ms == DF_NO_TIME || event_ms > g->newest_event_ms)) {
        g->newest_event_ms = event_ms;
        evtime_set_thread_clock_us(event_ms * 1000);
    }
}

void df_graph_observe_marker(df_graph_t *g, int source, int32_t partition, int upstream,
                             int64_t wm, bool idle, int64_t now_ms)
{
    struct df_stream *s = g->nodes[source];
    part_wm_t *p = source_part(s, partition, now_ms);
    p->last_active_ms = now_ms;
    if (!p->marks || upstream < 0 || upstream >= s->upstream)
        return;
    int64_t *m = &p->marks[upstream];
    if (wm != DF_NO_TIME && (*m == DF_NO_TIME || wm > *m)) /* never back */
        *m = wm;
    p->idle[upstream] = idle;
}

bool df_graph_observe_repart(df_graph_t *g, int source, int32_t partition, int64_t offset,
                             int64_t now_ms)
{
    struct df_stream *s = g->nodes[source];
    if (s->upstream <= 0)
        return true;
    part_wm_t *p = source_part(s, partition, now_ms);
    int u = (int)(offset % DF_REPART_PARTS);
    int64_t o = offset / DF_REPART_PARTS;
    if (u >= s->upstream || !p->seen)
        return true;
    if (o <= p->seen[u])
        return false;
    p->seen[u] = o;
    return true;
}

void df_graph_source_marks(const df_graph_t *g, int64_t now_ms,
                           void (*fn)(void *opaque, const char *topic, int32_t partition,
                                      int64_t wm, bool idle),
                           void *opaque)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *s = g->nodes[i];
        if (s->kind != K_SOURCE || !s->fn.parse)
            continue;
        for (size_t p = 0; p < s->nparts; p++) {
            int64_t wm = s->parts[p].max_event_ms == DF_NO_TIME
                             ? DF_NO_TIME
                             : s->parts[p].max_event_ms - g->bound_ms - 1;
            if (g->processing_time)
                fn(opaque, s->topic, s->parts[p].id, now_ms - 1, false);
            else if (now_ms - s->parts[p].last_active_ms > g->idle_ms)
                fn(opaque, s->topic, s->parts[p].id, wm, true); /* as its own watermark does */
            else if (wm != DF_NO_TIME)
                fn(opaque, s->topic, s->parts[p].id, wm, false);
        }
    }
}

bool df_graph_marks_final(const df_graph_t *g)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *s = g->nodes[i];
        if (s->kind != K_SOURCE || s->fn.parse)
            continue;
        for (size_t p = 0; p < s->nparts; p++)
            for (int u = 0; u < s->upstream; u++)
                if (!s->parts[p].marks || s->parts[p].marks[u] < INT64_MAX - 1)
                    return false;
    }
    return true;
}

int64_t df_graph_event_clock(const df_graph_t *g) { return g->newest_event_ms; }

void df_graph_dead_letter(df_graph_t *g, int source, int32_t partition, int64_t offset,
                          const char *buf, size_t len, const char *err)
{
    send_dlq(g->nodes[source], partition, offset, buf, len, err);
    dump_cache_clear(g);
}

void df_graph_emit_source(df_graph_t *g, int source, df_record_t *r, int64_t now_ms)
{
    g->now_ms = now_ms;
    emit(g->nodes[source], r);
    dump_cache_clear(g);
}

void df_graph_set_exchange(df_graph_t *g, df_exchange_fn fn, void *opaque)
{
    g->exchange = fn;
    g->exchange_opaque = opaque;
}

int df_graph_levels(const df_graph_t *g) { return g->nlevels; }

int64_t df_graph_emit_event_ms(const df_graph_t *g) { return g->emit_event_ms; }

void df_graph_deliver(df_graph_t *g, int node, df_record_t *r, int64_t now_ms)
{
    g->now_ms = now_ms;
    json_t *key = r->key;
    emit(g->nodes[node], r);
    json_decref(key);
    dump_cache_clear(g);
}

void df_graph_use_processing_time(df_graph_t *g, bool on) { g->processing_time = on; }

bool df_graph_push(df_graph_t *g, const char *topic, int32_t partition, int64_t offset,
                   const char *buf, size_t len, int64_t now_ms)
{
    df_record_t r;
    char err[256];
    int s = df_graph_parse(g, topic, partition, offset, buf, len, now_ms, &r, err, sizeof err);
    if (s == -1)
        return false;
    if (s >= 0 && !df_graph_observe_repart(g, s, partition, r.offset, now_ms)) {
        df_record_release(&r); /* a second copy: not processed again */
    } else if (s >= 0) {
        df_graph_observe(g, s, partition, r.event_ms, now_ms);
        df_graph_emit_source(g, s, &r, now_ms);
    } else if (s == -3) {
        int u = (int)json_integer_value(r.value);
        df_graph_observe_marker(g, df_graph_source_of(g, topic), partition, u % DF_REPART_PARTS,
                                r.event_ms, u >= DF_REPART_PARTS, now_ms);
        json_decref(r.value);
    } else {
        int src = df_graph_source_of(g, topic);
        df_graph_dead_letter(g, src, partition, offset, buf, len, err);
        /* a dead letter still shows its partition is alive */
        df_graph_observe(g, src, partition, DF_NO_TIME, now_ms);
    }
    return true;
}

/* --- keyed operators ----------------------------------------------------- */

static json_t *acc_for(json_t *accs, const df_record_t *r, const df_agg_t *agg, void *ctx)
{
    const char *k = json_string_value(r->key);
    json_t *acc = json_object_get(accs, k);
    if (!acc) {
        acc = agg->create(r, ctx);
        json_object_set_new(accs, k, acc);
    }
    return acc;
}

static void reduce_push(struct df_stream *n, df_record_t *r)
{
    if (!r->key) {
        df_record_release(r);
        return;
    }
    if (!n->agg->typed)
        df_record_json(r);
    json_t *acc = acc_for(n->state, r, n->agg, n->ctx);
    n->agg->add(acc, r, n->ctx);
    set_owner(n, json_string_value(r->key), r->partition);
    mark_dirty(n, DF_NO_TIME, json_string_value(r->key));
    if (n->ttl_ms > 0)
        json_object_set_new(n->state_seen, json_string_value(r->key), json_integer(n->g->now_ms));
    json_t *res = n->agg->result(acc, r->key, DF_NO_TIME, DF_NO_TIME, n->ctx);
    df_record_release(r);
    df_record_t out = *r;
    out.value = res;
    emit(n, &out);
}

struct df_process_out {
    struct df_stream *n;
    json_t *key;
    int64_t event_ms;
    /* the input partition whose records made the key's state: what it emits
     * carries it, so that a stateful operator below knows whose state it
     * keeps (its changelog owner; -1 left that state to nobody, and a
     * rebalance lost it) */
    int32_t partition;
    bool mute; /* a replay for restore: what it emits went out before */
};

bool df_process_replaying(const df_process_out_t *out) { return out->mute; }

void df_process_emit(df_process_out_t *out, json_t *value)
{
    if (out->mute) {
        json_decref(value);
        return;
    }
    df_record_t r = {.value = value, .key = out->key, .event_ms = out->event_ms,
                     .partition = out->partition, .offset = -1};
    emit(out->n, &r);
}

void df_process_emit_side(df_process_out_t *out, json_t *value)
{
    struct df_stream *n = out->n;
    if (out->mute) {
        json_decref(value);
        return;
    }
    COUNT(n->dlq);
    if (!n->late_out) {
        json_decref(value);
        return;
    }
    df_record_t r = {.value = value, .key = out->key, .event_ms = out->event_ms,
                     .partition = out->partition, .offset = -1};
    COUNT(n->late_out->in);
    emit(n->late_out, &r);
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void proc_grow(struct df_stream *n)
{
    size_t nb = n->nbuckets * 2;
    proc_entry_t **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < n->nbuckets; i++) {
        for (proc_entry_t *e = n->buckets[i], *next; e; e = next) {
            next = e->next;
            proc_entry_t **slot = &b[str_hash(e->key) % nb];
            e->next = *slot;
            *slot = e;
        }
    }
    free(n->buckets);
    n->buckets = b;
    n->nbuckets = nb;
}

/* Drops the entry behind *pe when its state was cleared. */
static void proc_settle(struct df_stream *n, proc_entry_t **pe)
{
    proc_entry_t *e = *pe;
    if (e->state)
        return;
    *pe = e->next;
    free(e->key);
    free(e);
    n->nkeys--;
}

/* The slot of key's entry (*slot is NULL when it has none, unless create). */
static proc_entry_t **proc_slot(struct df_stream *n, const char *k, bool create)
{
    proc_entry_t **pe = &n->buckets[str_hash(k) % n->nbuckets];
    while (*pe && strcmp((*pe)->key, k))
        pe = &(*pe)->next;
    if (!*pe && create) {
        proc_entry_t *e = xcalloc(1, sizeof *e);
        e->key = xstrdup(k);
        e->replay_from = -1;
        *pe = e;
        n->nkeys++;
    }
    return pe;
}

static void process_push(struct df_stream *n, df_record_t *r)
{
    if (!r->key) {
        df_record_release(r);
        return;
    }
    df_record_json(r); /* process functions read JSON */
    const char *k = json_string_value(r->key);
    proc_entry_t **pe = proc_slot(n, k, true);
    df_process_out_t out = {.n = n, .key = r->key, .event_ms = r->event_ms,
                            .partition = r->partition};
    n->proc->on_record(&out, r, &(*pe)->state, n->ctx);
    (*pe)->replay_from = -1; /* a new record: a replay is over */
    df_record_release(r);
    set_owner(n, k, r->partition);
    mark_dirty(n, DF_NO_TIME, k);
    proc_settle(n, pe);
    if (n->nkeys > n->nbuckets * 2)
        proc_grow(n);
}

static void process_timers(struct df_stream *n, int64_t now_ms)
{
    if (!n->proc->on_timer || n->nkeys == 0)
        return;
    if (now_ms != INT64_MAX && now_ms - n->last_evict_ms < 100)
        return; /* at most ten times a second: a tick may follow every record */
    n->last_evict_ms = now_ms;
    for (size_t b = 0; b < n->nbuckets; b++) {
        proc_entry_t **pe = &n->buckets[b];
        while (*pe) {
            json_t *key = json_string((*pe)->key);
            df_process_out_t out = {.n = n, .key = key, .event_ms = DF_NO_TIME,
                                    .partition = owner_of(n, (*pe)->key)};
            proc_entry_t *before = *pe;
            void *state = before->state;
            n->proc->on_timer(&out, (*pe)->key, &(*pe)->state, now_ms, n->ctx);
            if ((*pe)->state != state)
                mark_dirty(n, DF_NO_TIME, json_string_value(key));
            json_decref(key);
            proc_settle(n, pe);
            if (*pe == before)
                pe = &(*pe)->next;
        }
    }
    dump_cache_clear(n->g);
}

/* --- patterns (complex event processing) ------------------------------------
 * Per key: held records sorted by (event time, seq), and the run of records
 * taken since the earliest partial match still alive began.  One heap over
 * every key gives what the watermark passes in (time, seq) order, so each
 * key's records are taken in event-time order, ties in input order; a
 * parallel job's workers each hold their own keys, and a match goes out
 * with the event time of its last record, so the output order does not
 * depend on how the keys were spread. */

static bool due_before(const pat_due_t *a, const pat_due_t *b)
{
    return a->ts != b->ts ? a->ts < b->ts : a->seq < b->seq;
}

/* Due entries come mostly in order (records in event time, each key's
 * expiry after its records): those at or after the newest in the ring are
 * appended to it (O(1)); the others go to the heap.  Both are in (time, seq)
 * order, so the next one due is the smaller of their heads. */
static void due_push(struct df_stream *n, pat_due_t d)
{
    d.k->nheap++;
    if (n->nfifo == 0 || !due_before(&d, &n->fifo[(n->fhead + n->nfifo - 1) % n->fifocap])) {
        if (n->nfifo == n->fifocap) { /* grow, unwrapping the ring */
            size_t cap = n->fifocap ? 2 * n->fifocap : 256;
            pat_due_t *f = xmalloc(cap * sizeof *f);
            for (size_t i = 0; i < n->nfifo; i++)
                f[i] = n->fifo[(n->fhead + i) % n->fifocap];
            free(n->fifo);
            n->fifo = f;
            n->fifocap = cap;
            n->fhead = 0;
        }
        n->fifo[(n->fhead + n->nfifo++) % n->fifocap] = d;
        return;
    }
    if (n->ndue == n->duecap) {
        n->duecap = n->duecap ? 2 * n->duecap : 256;
        n->due = xrealloc(n->due, n->duecap * sizeof *n->due);
    }
    size_t i = n->ndue++;
    while (i > 0 && due_before(&d, &n->due[(i - 1) / 2])) {
        n->due[i] = n->due[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    n->due[i] = d;
}

/* Where the next entry due is: 1 the ring, 2 the heap, 0 none (*out: it). */
static int due_next(const struct df_stream *n, pat_due_t *out)
{
    const pat_due_t *f = n->nfifo ? &n->fifo[n->fhead] : NULL, *h = n->ndue ? &n->due[0] : NULL;
    if (!f && !h)
        return 0;
    int from = !h || (f && due_before(f, h)) ? 1 : 2;
    *out = from == 1 ? *f : *h;
    return from;
}

/* Takes the next entry due (there is one). */
static pat_due_t due_pop(struct df_stream *n)
{
    pat_due_t top;
    if (due_next(n, &top) == 1) {
        n->fhead = (n->fhead + 1) % n->fifocap;
        n->nfifo--;
    } else {
        pat_due_t last = n->due[--n->ndue];
        size_t i = 0;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= n->ndue)
                break;
            if (c + 1 < n->ndue && due_before(&n->due[c + 1], &n->due[c]))
                c++;
            if (!due_before(&n->due[c], &last))
                break;
            n->due[i] = n->due[c];
            i = c;
        }
        if (n->ndue)
            n->due[i] = last;
    }
    top.k->nheap--;
    return top;
}

static void pat_key_free(pat_key_t *k)
{
    for (size_t i = 0; i < k->nheld; i++)
        df_record_release(&k->held[i].r);
    for (int i = 0; i < k->nrun; i++)
        df_record_release(&k->run[i].r);
    free(k->held);
    free(k->from);
    free(k);
}

static int64_t pat_within(const struct df_stream *n)
{
    return n->pat->within ? n->pat->within(n->ctx) : -1;
}

/* The key's state (made, and counted live, for a record or a load).  A key
 * left with nothing is kept until a sweep, so that a user buying every few
 * seconds does not make and free its entry each time. */
static pat_key_t *pat_key(struct df_stream *n, const char *key)
{
    proc_entry_t *e = *proc_slot(n, key, true);
    if (!e->state) {
        pat_key_t *k = xcalloc(1, sizeof *k);
        k->key = e->key;
        e->state = k;
        if (n->nkeys > n->nbuckets * 2)
            proc_grow(n); /* moves the slots, not the entries */
    }
    pat_key_t *k = e->state;
    if (!k->live) {
        k->live = true;
        n->pat_live++;
    }
    return k;
}

/* Notes a key that holds nothing any more (nothing points to it either). */
static void pat_key_settle(struct df_stream *n, pat_key_t *k)
{
    if (!k->live || k->nheld || k->nrun || k->nheap || k->nfrom)
        return;
    k->live = false;
    n->pat_live--;
}

/* Frees the keys that hold nothing, once they outnumber the live ones (so
 * that an endless stream of new keys stays bounded; amortised O(1)). */
static void pat_sweep(struct df_stream *n)
{
    if (n->nkeys <= 2 * n->pat_live + 4096)
        return;
    for (size_t b = 0; b < n->nbuckets; b++) {
        proc_entry_t **pe = &n->buckets[b];
        while (*pe) {
            pat_key_t *k = (*pe)->state;
            if (k && !k->live) {
                pat_key_free(k);
                (*pe)->state = NULL;
            }
            proc_entry_t *before = *pe;
            proc_settle(n, pe);
            if (*pe == before)
                pe = &(*pe)->next;
        }
    }
}

/* Holds rec (taken) for the watermark. */
static void pat_hold(struct df_stream *n, pat_key_t *k, pat_rec_t rec)
{
    if (k->nheld == k->hcap) {
        k->hcap = k->hcap ? 2 * k->hcap : 4;
        k->held = xrealloc(k->held, k->hcap * sizeof *k->held);
    }
    size_t i = k->nheld++; /* mostly in order: from the end */
    while (i > 0 && (k->held[i - 1].r.event_ms > rec.r.event_ms ||
                     (k->held[i - 1].r.event_ms == rec.r.event_ms && k->held[i - 1].seq > rec.seq))) {
        k->held[i] = k->held[i - 1];
        i--;
    }
    k->held[i] = rec;
    n->nheld++;
    due_push(n, (pat_due_t){.ts = rec.r.event_ms, .seq = rec.seq, .k = k});
}

/* The run's first record changed: the time after which it is past the bound. */
static void pat_arm_expiry(struct df_stream *n, pat_key_t *k)
{
    int64_t within = pat_within(n);
    if (k->nrun > 0 && within >= 0 && k->run[0].r.event_ms <= INT64_MAX - 2 - within)
        due_push(n, (pat_due_t){.ts = k->run[0].r.event_ms + within + 1, .seq = k->run[0].seq,
                                .k = k, .expiry = true});
}

/* Drops the run's records before its first live partial match. */
static void pat_trim(struct df_stream *n, pat_key_t *k)
{
    int first = 0;
    while (first < k->nrun && !k->alive[first])
        first++;
    if (first == 0)
        return;
    for (int i = 0; i < first; i++)
        df_record_release(&k->run[i].r);
    memmove(k->run, k->run + first, (size_t)(k->nrun - first) * sizeof *k->run);
    memmove(k->alive, k->alive + first, (size_t)(k->nrun - first) * sizeof *k->alive);
    k->nrun -= first;
    pat_arm_expiry(n, k);
}

/* Takes rec (the key's next record in event time): every live partial match
 * goes on with it or dies, and it may begin one.  A complete match is
 * emitted and everything before and at rec is dropped (skip past last row). */
static void pat_take(struct df_stream *n, pat_key_t *k, pat_rec_t rec)
{
    const df_pattern_t *p = n->pat;
    int64_t within = pat_within(n);
    const df_record_t *m[DF_PATTERN_MAX];
    bool had_run = k->nrun > 0;
    int match = -1;
    for (int i = 0; i < k->nrun && match < 0; i++) {
        if (!k->alive[i])
            continue;
        int stage = k->nrun - i;
        for (int j = 0; j < stage; j++)
            m[j] = &k->run[i + j].r;
        k->alive[i] = (within < 0 || rec.r.event_ms - k->run[i].r.event_ms <= within) &&
                      p->cond(stage, &rec.r, m, n->ctx);
        if (k->alive[i] && stage + 1 == p->nstages)
            match = i;
    }
    if (match < 0 && p->nstages == 1 && p->cond(0, &rec.r, m, n->ctx))
        match = k->nrun;
    if (match >= 0) {
        int len = 0;
        for (int j = match; j < k->nrun; j++)
            m[len++] = &k->run[j].r;
        m[len] = &rec.r;
        json_t *key = json_string(k->key);
        df_record_t out = {.value = p->result(key, m, n->ctx), .key = key,
                           .event_ms = rec.r.event_ms, .partition = -1, .offset = -1};
        for (int j = 0; j < k->nrun; j++)
            df_record_release(&k->run[j].r);
        df_record_release(&rec.r);
        k->nrun = 0;
        if (out.value)
            emit(n, &out);
        json_decref(key);
        return;
    }
    k->run[k->nrun] = rec;
    k->alive[k->nrun] = p->cond(0, &rec.r, m, n->ctx);
    k->nrun++;
    int first = 0;
    while (first < k->nrun && !k->alive[first])
        first++;
    if (first > 0)
        pat_trim(n, k); /* the run begins later (or ends) */
    else if (!had_run)
        pat_arm_expiry(n, k); /* a run begins */
}

static void pattern_push(struct df_stream *n, df_record_t *r)
{
    if (!r->key || r->event_ms == DF_NO_TIME) {
        df_record_release(r);
        return;
    }
    int64_t wm = atomic_load_explicit(&n->watermark_ms, memory_order_relaxed);
    if (wm != DF_NO_TIME && r->event_ms <= wm) { /* behind the watermark: late */
        COUNT(n->late);
        df_record_release(r);
        return;
    }
    const char *key = json_string_value(r->key);
    pat_key_t *k = pat_key(n, key);
    pat_rec_t rec = {.r = *r, .seq = n->pat_seq++};
    rec.r.key = NULL; /* borrowed from key_by */
    pat_hold(n, k, rec);
    set_owner(n, key, r->partition);
    mark_dirty(n, DF_NO_TIME, key);
}

/* Every record the key may still take is at d.ts or later (the heap gives
 * them in time order): its partial matches that began more than the bound
 * before can no longer complete, and are dropped. */
static void pat_expire(struct df_stream *n, pat_key_t *k, pat_due_t d)
{
    if (k->nrun == 0 || k->run[0].seq != d.seq)
        return; /* an old entry: the run has moved on */
    int64_t within = pat_within(n);
    if (within < 0)
        return;
    for (int i = 0; i < k->nrun; i++)
        if (k->alive[i] && k->run[i].r.event_ms + within < d.ts)
            k->alive[i] = false;
    if (k->alive[0]) /* the bound grew meanwhile */
        pat_arm_expiry(n, k);
    else
        pat_trim(n, k);
}

/* Takes, in (time, seq) order, every held record the watermark has passed. */
static void pattern_advance(struct df_stream *n, int64_t wm)
{
    atomic_store_explicit(&n->watermark_ms, wm, memory_order_relaxed);
    pat_due_t d;
    while (due_next(n, &d) && d.ts <= wm) {
        d = due_pop(n);
        pat_key_t *k = d.k;
        if (d.expiry) {
            pat_expire(n, k, d);
        } else if (k->nheld > 0 && k->held[0].seq == d.seq) {
            /* (otherwise the entry of a record a second load replaced) */
            pat_rec_t rec = k->held[0];
            memmove(k->held, k->held + 1, (k->nheld - 1) * sizeof *k->held);
            k->nheld--;
            n->nheld--;
            pat_take(n, k, rec);
        }
        mark_dirty(n, DF_NO_TIME, k->key);
        pat_key_settle(n, k);
    }
    pat_sweep(n);
    dump_cache_clear(n->g);
}

/* A record (or a restored one) as saved: {"t", "p", "o", "v"}. */
static json_t *pat_rec_save(const pat_rec_t *x)
{
    json_t *v = x->r.obj ? x->r.obj->cls->to_json(x->r.obj) : json_incref(x->r.value);
    return json_pack("{sIsIsIso}", "t", (json_int_t)x->r.event_ms, "p", (json_int_t)x->r.partition,
                     "o", (json_int_t)x->r.offset, "v", v);
}

static pat_rec_t pat_rec_load(struct df_stream *n, const json_t *s)
{
    return (pat_rec_t){.r = {.value = json_incref(json_object_get(s, "v")),
                             .event_ms = json_integer_value(json_object_get(s, "t")),
                             .partition = (int32_t)json_integer_value(json_object_get(s, "p")),
                             .offset = json_integer_value(json_object_get(s, "o"))},
                       .seq = n->pat_seq++};
}

/* The key's state as saved, or NULL when it has none: {"run": [...],
 * "alive": [...], "held_from": {"<partition>": offset of its oldest held
 * record, ...}, "wm": the operator's watermark}.  The held records
 * themselves are read again from the input on restore (replay_push): they
 * are every record of the last seconds (the out-of-orderness bound), and
 * writing them at each checkpoint made the changelog grow by megabytes a
 * second and its restore by seconds a run. */
static json_t *pat_save(struct df_stream *n, const char *key)
{
    proc_entry_t *e = *proc_slot(n, key, false);
    pat_key_t *k = e ? e->state : NULL;
    if (!k || (k->nheld == 0 && k->nrun == 0 && k->nfrom == 0))
        return NULL;
    json_t *from = json_object(), *run = json_array(), *alive = json_array();
    char part[16];
    for (size_t i = 0; i < k->nheld; i++) {
        snprintf(part, sizeof part, "%d", (int)k->held[i].r.partition);
        json_t *o = json_object_get(from, part);
        if (!o || json_integer_value(o) > k->held[i].r.offset)
            json_object_set_new(from, part, json_integer(k->held[i].r.offset));
    }
    for (int i = 0; i < k->nfrom; i++) { /* restored, not read again yet */
        snprintf(part, sizeof part, "%d", (int)k->from[i].partition);
        json_t *o = json_object_get(from, part);
        if (!o || json_integer_value(o) > k->from[i].offset)
            json_object_set_new(from, part, json_integer(k->from[i].offset));
    }
    for (int i = 0; i < k->nrun; i++) {
        json_array_append_new(run, pat_rec_save(&k->run[i]));
        json_array_append_new(alive, json_boolean(k->alive[i]));
    }
    int64_t wm = k->nfrom ? k->replay_wm : atomic_load_explicit(&n->watermark_ms, memory_order_relaxed);
    return json_pack("{sosososI}", "run", run, "alive", alive, "held_from", from, "wm",
                     (json_int_t)wm);
}

/* Puts a key's saved state back (value NULL: none).  A key loaded again
 * (a changelog read from its start has every version) takes the newer
 * piece; heap entries of the older one are left to go stale. */
static void pat_load(struct df_stream *n, const char *key, const json_t *value)
{
    pat_key_t *k = pat_key(n, key);
    for (size_t i = 0; i < k->nheld; i++)
        df_record_release(&k->held[i].r);
    n->nheld -= k->nheld;
    k->nheld = 0;
    for (int i = 0; i < k->nrun; i++)
        df_record_release(&k->run[i].r);
    k->nrun = 0;
    size_t i;
    json_t *s;
    json_t *run = json_object_get(value, "run"), *alive = json_object_get(value, "alive");
    json_array_foreach(run, i, s)
    {
        if (k->nrun >= n->pat->nstages - 1 || k->nrun >= DF_PATTERN_MAX)
            break;
        k->run[k->nrun] = pat_rec_load(n, s);
        k->alive[k->nrun++] = json_is_true(json_array_get(alive, i));
    }
    if (k->nrun > 0 && k->alive[0])
        pat_arm_expiry(n, k);
    else
        pat_trim(n, k);
    json_array_foreach(json_object_get(value, "held"), i, s) /* (changelogs before held_from) */
        pat_hold(n, k, pat_rec_load(n, s));
    free(k->from);
    k->from = NULL;
    k->nfrom = 0;
    json_t *from = json_object_get(value, "held_from");
    if (json_object_size(from)) {
        const char *part;
        json_t *o;
        k->from = xcalloc(json_object_size(from), sizeof *k->from);
        json_object_foreach(from, part, o)
            k->from[k->nfrom++] = (struct pat_from){.partition = (int32_t)atoi(part),
                                                    .offset = json_integer_value(o)};
        json_t *wm = json_object_get(value, "wm");
        k->replay_wm = json_is_integer(wm) ? json_integer_value(wm) : DF_NO_TIME;
    }
    pat_key_settle(n, k);
}

/* --- state for changelogs (see dataflow_exec.h) ----------------------------- */

static void set_owner(struct df_stream *n, const char *key, int32_t partition)
{
    if (n->owner && partition >= 0) {
        json_t *o = json_object_get(n->owner, key);
        if (!o || json_integer_value(o) != partition)
            json_object_set_new(n->owner, key, json_integer(partition));
    }
}

static int32_t owner_of(const struct df_stream *n, const char *key)
{
    json_t *o = n->owner ? json_object_get(n->owner, key) : NULL;
    return o ? (int32_t)json_integer_value(o) : -1;
}

static void mark_dirty(struct df_stream *n, int64_t sub, const char *key)
{
    if (!n->dirty)
        return;
    /* any length: a key cut short here was written as a tombstone */
    size_t size = strlen(key) + 24;
    char *buf = xmalloc(size);
    if (sub == DF_NO_TIME)
        snprintf(buf, size, "\x1f%s", key);
    else
        snprintf(buf, size, "%lld\x1f%s", (long long)sub, key);
    json_object_set_new(n->dirty, buf, json_true());
    free(buf);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static void window_late(struct df_stream *n, df_record_t *r, int64_t start, int64_t end)
{
    COUNT(n->late);
    if (!n->late_out) {
        df_record_release(r);
        return;
    }
    char ts[EVTIME_BUFSIZE];
    df_record_json(r);
    df_record_t out = *r;
    out.value = df_writable(r->value);
    json_object_set_new(out.value, "missed_window_start", json_string(evtime_format(start, ts)));
    json_object_set_new(out.value, "missed_window_end", json_string(evtime_format(end, ts)));
    COUNT(n->late_out->in);
    emit(n->late_out, &out);
}

static window_t *window_at(struct df_stream *n, int64_t start, int64_t end)
{
    size_t i = 0;
    while (i < n->nwins && n->wins[i].end < end)
        i++;
    if (i == n->nwins || n->wins[i].end != end) {
        n->wins = xrealloc(n->wins, (n->nwins + 1) * sizeof *n->wins);
        memmove(&n->wins[i + 1], &n->wins[i], (n->nwins - i) * sizeof *n->wins);
        n->wins[i] = (window_t){.start = start, .end = end, .accs = json_object()};
        n->nwins++;
    }
    return &n->wins[i];
}

/* Emits key's result of w; an update of a window that has already fired
 * carries "update": true. */
static void window_emit(struct df_stream *n, window_t *w, json_t *key, json_t *acc, bool update)
{
    df_record_t out = {.key = key, .event_ms = w->end - 1, .partition = -1, .offset = -1};
    out.value = n->agg->result(acc, key, w->start, w->end, n->ctx);
    if (update) {
        out.value = df_writable(out.value);
        json_object_set_new(out.value, "update", json_true());
    }
    emit(n, &out);
}

/* Assigns the record to every window that holds its event time (one for
 * tumbling, size/slide for sliding).  A window whose end - 1 + allowed
 * lateness the watermark has reached takes no more records; a record all of
 * whose windows are like that is late and goes to the side output.  A record
 * for a window that fired but is still within lateness updates it, and the
 * result is emitted again, marked as an update. */
static void window_push(struct df_stream *n, df_record_t *r)
{
    if (!r->key || r->event_ms == DF_NO_TIME) {
        df_record_release(r);
        return;
    }
    if (!n->agg->typed)
        df_record_json(r);
    int64_t wm = atomic_load_explicit(&n->watermark_ms, memory_order_relaxed);
    int64_t last_start = floor_div(r->event_ms, n->slide_ms) * n->slide_ms;
    bool taken = false;
    for (int64_t start = last_start; start > r->event_ms - n->size_ms; start -= n->slide_ms) {
        int64_t end = start + n->size_ms;
        if (wm != DF_NO_TIME && end - 1 + n->lateness_ms <= wm)
            continue; /* closed for good */
        window_t *w = window_at(n, start, end);
        json_t *acc = acc_for(w->accs, r, n->agg, n->ctx);
        n->agg->add(acc, r, n->ctx);
        set_owner(n, json_string_value(r->key), r->partition);
        mark_dirty(n, start, json_string_value(r->key));
        if (w->fired)
            window_emit(n, w, r->key, acc, true);
        taken = true;
    }
    if (!taken) {
        window_late(n, r, last_start, last_start + n->size_ms);
        return;
    }
    df_record_release(r);
}

/* --- session windows ----------------------------------------------------- */

static void session_emit(struct df_stream *n, session_t *s)
{
    df_record_t out = {.key = s->key, .event_ms = s->end - 1, .partition = -1, .offset = -1};
    out.value = n->agg->result(s->acc, s->key, s->start, s->end, n->ctx);
    if (s->emitted) {
        out.value = df_writable(out.value);
        json_object_set_new(out.value, "update", json_true());
    }
    s->emitted = true;
    emit(n, &out);
}

/* The record opens [t, t + gap) and merges every session of its key that
 * overlaps it (Flink's merging window assigner).  Late when the merged
 * window is past its allowed lateness; a merge into a session that has
 * fired and is still due re-emits it as an update. */
static void session_push(struct df_stream *n, df_record_t *r)
{
    if (!r->key || r->event_ms == DF_NO_TIME) {
        df_record_release(r);
        return;
    }
    if (!n->agg->typed)
        df_record_json(r);
    int64_t wm = atomic_load_explicit(&n->watermark_ms, memory_order_relaxed);
    int64_t start = r->event_ms, end = r->event_ms + n->gap_ms;
    const char *k = json_string_value(r->key);
    set_owner(n, k, r->partition);
    /* As Flink does, lateness is judged on the window after merging: a
     * record that joins a session still open is not late. */
    int64_t merged_end = end;
    for (size_t i = 0; i < n->nsess; i++) {
        session_t *s = &n->sess[i];
        if (s->start < end && start < s->end && s->end > merged_end &&
            !strcmp(json_string_value(s->key), k))
            merged_end = s->end;
    }
    if (wm != DF_NO_TIME && merged_end - 1 + n->lateness_ms <= wm) {
        window_late(n, r, start, end);
        return;
    }
    session_t *base = NULL;
    for (size_t i = 0; i < n->nsess;) {
        session_t *s = &n->sess[i];
        if (strcmp(json_string_value(s->key), k) || s->start >= end || start >= s->end) {
            i++;
            continue;
        }
        if (!base) {
            base = s;
            i++;
            continue;
        }
        /* a second overlapping session: fold it into base */
        n->agg->merge(base->acc, s->acc, n->ctx);
        if (s->start < base->start)
            base->start = s->start;
        if (s->end > base->end)
            base->end = s->end;
        base->fired |= s->fired;
        base->emitted |= s->emitted;
        json_decref(s->key);
        json_decref(s->acc);
        size_t bi = (size_t)(base - n->sess);
        memmove(s, s + 1, (n->nsess - i - 1) * sizeof *s);
        n->nsess--;
        base = &n->sess[bi];
    }
    if (!base) {
        n->sess = xrealloc(n->sess, (n->nsess + 1) * sizeof *n->sess);
        base = &n->sess[n->nsess++];
        *base = (session_t){.key = json_string(k), .acc = n->agg->create(r, n->ctx),
                            .start = start, .end = end};
    } else {
        if (start < base->start)
            base->start = start;
        if (end > base->end)
            base->end = end;
    }
    n->agg->add(base->acc, r, n->ctx);
    mark_dirty(n, DF_NO_TIME, k);
    if (base->fired) {
        if (wm != DF_NO_TIME && base->end - 1 <= wm)
            session_emit(n, base); /* still due: the update goes out now */
        else
            base->fired = false; /* grew past the watermark: fires again later */
    }
    df_record_release(r);
}

static int session_order(const void *a, const void *b)
{
    const session_t *x = *(session_t *const *)a, *y = *(session_t *const *)b;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(json_string_value(x->key), json_string_value(y->key));
}

/* Fires every due session in order of end (then key), and frees those past
 * their allowed lateness. */
static void session_advance(struct df_stream *n, int64_t wm)
{
    atomic_store_explicit(&n->watermark_ms, wm, memory_order_relaxed);
    session_t **due = xmalloc((n->nsess + 1) * sizeof *due);
    size_t ndue = 0;
    for (size_t i = 0; i < n->nsess; i++)
        if (!n->sess[i].fired && n->sess[i].end - 1 <= wm)
            due[ndue++] = &n->sess[i];
    qsort(due, ndue, sizeof *due, session_order);
    for (size_t i = 0; i < ndue; i++) {
        due[i]->fired = true;
        mark_dirty(n, DF_NO_TIME, json_string_value(due[i]->key));
        session_emit(n, due[i]);
    }
    free(due);
    size_t kept = 0;
    for (size_t i = 0; i < n->nsess; i++) {
        session_t *s = &n->sess[i];
        if (s->fired && s->end - 1 + n->lateness_ms <= wm) {
            mark_dirty(n, DF_NO_TIME, json_string_value(s->key));
            json_decref(s->key);
            json_decref(s->acc);
        } else {
            n->sess[kept++] = *s;
        }
    }
    n->nsess = kept;
    dump_cache_clear(n->g);
}

static int str_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fires, in order of end, every window the watermark has passed, and frees
 * those it has passed by more than the allowed lateness. */
static void window_advance(struct df_stream *n, int64_t wm)
{
    atomic_store_explicit(&n->watermark_ms, wm, memory_order_relaxed);
    for (size_t i = 0; i < n->nwins && n->wins[i].end - 1 <= wm; i++) {
        window_t *w = &n->wins[i];
        if (w->fired)
            continue;
        w->fired = true;
        /* keys in order, so that the output does not depend on arrival order
         * (nor on how a parallel job spread the keys over its workers) */
        size_t nk = json_object_size(w->accs), k = 0;
        const char **keys = xmalloc((nk + 1) * sizeof *keys);
        const char *kname;
        json_t *acc;
        json_object_foreach(w->accs, kname, acc)
            keys[k++] = kname;
        qsort(keys, nk, sizeof *keys, str_order);
        for (k = 0; k < nk; k++) {
            mark_dirty(n, w->start, keys[k]);
            json_t *key = json_string(keys[k]);
            window_emit(n, w, key, json_object_get(w->accs, keys[k]), false);
            json_decref(key);
        }
        free(keys);
        dump_cache_clear(n->g);
    }
    size_t done = 0;
    while (done < n->nwins && n->wins[done].fired && n->wins[done].end - 1 + n->lateness_ms <= wm) {
        if (n->dirty) { /* gone: tombstones */
            const char *k;
            json_t *acc;
            json_object_foreach(n->wins[done].accs, k, acc)
                mark_dirty(n, n->wins[done].start, k);
        }
        json_decref(n->wins[done++].accs);
    }
    if (done) {
        memmove(n->wins, n->wins + done, (n->nwins - done) * sizeof *n->wins);
        n->nwins -= done;
    }
}

/* --- operator classes --------------------------------------------------------
 * One small table of functions per operator kind (as htop's Panel classes or
 * redis's command table): the runtime walks the graph through it, and a new
 * kind is a row here plus its functions. */

static void pass_push(struct df_stream *n, df_record_t *r) { emit(n, r); }

/* The three callbacks that see a record, in either form: false when the
 * record is dropped (released). */
static bool run_map(struct df_stream *n, df_record_t *r)
{
    if (n->rec)
        n->fn.map_rec(r, n->ctx);
    else
        r->value = n->fn.map(df_record_json(r), n->ctx);
    return r->value || r->obj;
}

static bool run_filter(struct df_stream *n, df_record_t *r)
{
    if (n->rec ? n->fn.filter_rec(r, n->ctx) : n->fn.filter(df_record_json(r), n->ctx))
        return true;
    df_record_release(r);
    return false;
}

/* A new reference to r's key (a JSON string), or NULL (r released). */
static json_t *run_key(struct df_stream *n, df_record_t *r)
{
    json_t *k = n->rec ? n->fn.key_rec(r, n->ctx) : json_incref(n->fn.key(df_record_json(r), n->ctx));
    if (json_is_string(k))
        return k;
    json_decref(k);
    df_record_release(r);
    return NULL;
}

static void map_push(struct df_stream *n, df_record_t *r)
{
    if (run_map(n, r))
        emit(n, r);
}

static void filter_push(struct df_stream *n, df_record_t *r)
{
    if (run_filter(n, r))
        emit(n, r);
}

static void keyby_push(struct df_stream *n, df_record_t *r)
{
    json_t *k = run_key(n, r);
    if (!k)
        return;
    r->key = k;
    if (n->g->exchange) { /* a parallel job: the key's worker goes on from here */
        n->g->exchange(n->g->exchange_opaque, n->id, r);
        return;
    }
    emit(n, r);
    json_decref(k);
}

/* {"t": event_ms, "o": offset, "s": partition, "v": value}, as jsonw_dumps
 * writes it for that object. */
static void write_envelope(const void *rec, jsonw_buf_t *b)
{
    const df_record_t *r = rec;
    jsonw_raw(b, "{\"t\":", 5);
    jsonw_int(b, r->event_ms);
    jsonw_raw(b, ",\"o\":", 5);
    jsonw_int(b, r->offset);
    jsonw_raw(b, ",\"s\":", 5);
    jsonw_int(b, r->partition);
    jsonw_raw(b, ",\"v\":", 5);
    if (r->obj)
        r->obj->cls->write(r->obj, b);
    else
        jsonw_value(b, r->value);
    jsonw_raw(b, "}", 1);
}

static void repart_push(struct df_stream *n, df_record_t *r)
{
    json_t *k = run_key(n, r);
    if (!k)
        return;
    COUNT(n->out);
    size_t len;
    char *payload = jsonw_dumps_with(write_envelope, r, &len);
    n->g->emit_event_ms = r->event_ms;
    n->g->host.emit(n->g->host.opaque, n->repart_topic, json_string_value(k),
                    json_string_length(k), payload, len);
    json_decref(k);
    df_record_release(r);
}

static void sink_push(struct df_stream *n, df_record_t *r)
{
    const char *key = NULL;
    size_t keylen = 0;
    if (r->obj && n->key_field) {
        key = r->obj->cls->field(r->obj, n->key_field, &keylen);
    } else {
        json_t *kj = n->key_field ? json_object_get(r->value, n->key_field) : r->key;
        if (json_is_string(kj)) {
            key = json_string_value(kj);
            keylen = json_string_length(kj);
        }
    }
    COUNT(n->out);
    n->g->emit_event_ms = r->event_ms;
    host_emit(n->g, n->topic, key, keylen, r);
    df_record_release(r);
}

static void call_push(struct df_stream *n, df_record_t *r)
{
    COUNT(n->out);
    if (!n->rec)
        df_record_json(r);
    if (n->tap)
        n->fn.tap(n->ctx, n->name, r);
    else
        n->fn.call(r, n->ctx);
    df_record_release(r);
}

typedef struct op_class {
    const char *kind;
    /* one record in: the operator owns r->value from here */
    void (*push)(struct df_stream *n, df_record_t *r);
} op_class_t;

static const op_class_t op_classes[] = {
    [K_SOURCE] = {.kind = "source", .push = pass_push},
    [K_MAP] = {.kind = "map", .push = map_push},
    [K_FILTER] = {.kind = "filter", .push = filter_push},
    [K_KEYBY] = {.kind = "key_by", .push = keyby_push},
    [K_REDUCE] = {.kind = "reduce", .push = reduce_push},
    [K_WINDOW] = {.kind = "window", .push = window_push},
    [K_LATE] = {.kind = "late", .push = pass_push},
    [K_SINK] = {.kind = "sink", .push = sink_push},
    [K_CALL] = {.kind = "call", .push = call_push},
    [K_PROCESS] = {.kind = "process", .push = process_push},
    [K_SESSION] = {.kind = "session", .push = session_push},
    [K_REPART] = {.kind = "repartition", .push = repart_push},
    [K_PATTERN] = {.kind = "pattern", .push = pattern_push},
};

_Static_assert(sizeof op_classes / sizeof *op_classes == K_NKINDS, "a kind without its class");

static void push(struct df_stream *n, df_record_t *r)
{
    COUNT(n->in);
    op_classes[n->kind].push(n, r);
}

/* --- time ---------------------------------------------------------------- */

/* A source's watermark: the minimum over its partitions that are not idle of
 * max event time - bound - 1 ms.  DF_NO_TIME while a live partition has
 * nothing yet; unchanged (returns `keep`) when every partition is idle. */
static int64_t source_watermark(const df_graph_t *g, struct df_stream *s, int64_t now_ms,
                                bool *all_idle)
{
    int64_t wm = INT64_MAX;
    *all_idle = true;
    if (s->upstream > 0) {
        /* A repartition topic: the minimum of the live upstream partitions'
         * markers; when every one is idle, of the idle ones' last markers
         * (what the upstream's own watermark was when they went idle). */
        int64_t idle_wm = INT64_MAX;
        for (size_t i = 0; i < s->nparts; i++) {
            for (int u = 0; u < s->upstream && s->parts[i].marks; u++) {
                int64_t m = s->parts[i].marks[u];
                if (s->parts[i].idle[u]) {
                    if (m != DF_NO_TIME && m < idle_wm)
                        idle_wm = m;
                    continue;
                }
                *all_idle = false;
                if (m == DF_NO_TIME)
                    return DF_NO_TIME;
                if (m < wm)
                    wm = m;
            }
        }
        if (*all_idle && idle_wm != INT64_MAX) {
            *all_idle = false;
            wm = idle_wm;
        }
        return *all_idle ? DF_NO_TIME : wm;
    }
    for (size_t i = 0; i < s->nparts; i++) {
        part_wm_t *p = &s->parts[i];
        if (now_ms - p->last_active_ms > g->idle_ms)
            continue;
        *all_idle = false;
        if (p->max_event_ms == DF_NO_TIME)
            return DF_NO_TIME;
        int64_t pw = p->max_event_ms - g->bound_ms - 1;
        if (pw < wm)
            wm = pw;
    }
    return *all_idle ? DF_NO_TIME : wm;
}

/* Fires (windows), expires (process timers, reduce TTL) what the watermark
 * and now_ms allow, on the operators of one level (or all when level < 0). */
static void advance_nodes(df_graph_t *g, int level, int64_t wm, int64_t now_ms)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *n = g->nodes[i];
        if (level >= 0 && n->level != level)
            continue;
        if (n->kind == K_REDUCE && n->ttl_ms > 0) {
            reduce_evict(n, now_ms);
        } else if (n->kind == K_PROCESS) {
            process_timers(n, now_ms);
        } else if (n->kind == K_PATTERN && wm != DF_NO_TIME) {
            int64_t cur = atomic_load_explicit(&n->watermark_ms, memory_order_relaxed);
            if (cur == DF_NO_TIME || wm > cur)
                pattern_advance(n, wm);
        } else if ((n->kind == K_WINDOW || n->kind == K_SESSION) && wm != DF_NO_TIME) {
            int64_t cur = atomic_load_explicit(&n->watermark_ms, memory_order_relaxed);
            if (cur == DF_NO_TIME || wm > cur) {
                if (n->kind == K_WINDOW)
                    window_advance(n, wm);
                else
                    session_advance(n, wm);
            }
        }
    }
}

/* The graph's watermark from its sources at now_ms (never back); DF_NO_TIME
 * while a live partition has no data yet. */
static int64_t next_watermark(df_graph_t *g, int64_t now_ms)
{
    int64_t cur = atomic_load_explicit(&g->watermark_ms, memory_order_relaxed);
    int64_t wm = INT64_MAX;
    bool any = false;
    if (g->processing_time) {
        wm = now_ms - 1;
        any = true;
    } else {
        for (size_t i = 0; i < g->nnodes; i++) {
            struct df_stream *s = g->nodes[i];
            if (s->kind != K_SOURCE || s->nparts == 0)
                continue;
            /* With repartition topics the windows are all below them: their
             * markers carry the inputs' watermarks (from every process). */
            if (g->nreparts && s->fn.parse)
                continue;
            bool all_idle;
            int64_t sw = source_watermark(g, s, now_ms, &all_idle);
            if (all_idle)
                continue;
            if (sw == DF_NO_TIME)
                return cur; /* a live partition without data holds everything back */
            any = true;
            if (sw < wm)
                wm = sw;
        }
    }
    if (!any || (cur != DF_NO_TIME && wm <= cur))
        return cur; /* watermarks never move back */
    atomic_store_explicit(&g->watermark_ms, wm, memory_order_relaxed);
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->kind == K_SOURCE)
            atomic_store_explicit(&g->nodes[i]->watermark_ms, wm, memory_order_relaxed);
    return wm;
}

int64_t df_graph_next_watermark(df_graph_t *g, int64_t now_ms) { return next_watermark(g, now_ms); }

void df_graph_advance_level(df_graph_t *g, int level, int64_t wm, int64_t now_ms)
{
    g->now_ms = now_ms;
    advance_nodes(g, level, wm, now_ms);
    dump_cache_clear(g);
}

void df_graph_tick(df_graph_t *g, int64_t now_ms)
{
    g->now_ms = now_ms;
    advance_nodes(g, -1, next_watermark(g, now_ms), now_ms);
    dump_cache_clear(g);
}

void df_graph_finish(df_graph_t *g)
{
    atomic_store_explicit(&g->watermark_ms, INT64_MAX - 1, memory_order_relaxed);
    advance_nodes(g, -1, INT64_MAX - 1, INT64_MAX);
    dump_cache_clear(g);
}

int64_t df_graph_watermark(const df_graph_t *g)
{
    return atomic_load_explicit(&g->watermark_ms, memory_order_relaxed);
}

size_t df_graph_metrics(const df_graph_t *g, df_op_metrics_t *out, size_t max)
{
    for (size_t i = 0; i < g->nnodes && i < max; i++) {
        struct df_stream *n = g->nodes[i];
        out[i] = (df_op_metrics_t){
            .name = n->name,
            .in = READ(n->in),
            .out = READ(n->out),
            .late = READ(n->late),
            .dlq = READ(n->dlq),
            .watermark_ms = atomic_load_explicit(&n->watermark_ms, memory_order_relaxed),
            .parent = -1,
        };
    }
    for (size_t i = 0; i < g->nnodes && i < max; i++) /* the tree, for the dashboard */
        for (size_t d = 0; d < g->nodes[i]->ndown; d++)
            if ((size_t)g->nodes[i]->down[d]->id < max)
                out[g->nodes[i]->down[d]->id].parent = (int)i;
    return g->nnodes;
}

static uint64_t sum(const df_graph_t *g, size_t field)
{
    uint64_t t = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        t += atomic_load_explicit((counter_t *)((char *)g->nodes[i] + field), memory_order_relaxed);
    return t;
}

uint64_t df_graph_dlq_count(const df_graph_t *g) { return sum(g, offsetof(struct df_stream, dlq)); }
/* A pattern's late records are its own (its metrics): the graph's count is
 * the records that went to a late side output, what summaries compare with
 * the late topic. */
uint64_t df_graph_late_count(const df_graph_t *g)
{
    uint64_t t = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->kind != K_PATTERN)
            t += READ(g->nodes[i]->late);
    return t;
}

/* --- state snapshots -------------------------------------------------------- */

void df_graph_track_state(df_graph_t *g, bool on)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *n = g->nodes[i];
        if (n->kind == K_REDUCE || n->kind == K_WINDOW || n->kind == K_SESSION ||
            n->kind == K_PATTERN || (n->kind == K_PROCESS && n->proc->save && n->proc->load)) {
            if (on && !n->dirty) {
                n->dirty = json_object();
                n->owner = json_object();
            } else if (!on) {
                json_decref(n->dirty);
                json_decref(n->owner);
                n->dirty = n->owner = NULL;
            }
        }
    }
}

static json_t *sessions_of(struct df_stream *n, const char *key)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n->nsess; i++) {
        session_t *s = &n->sess[i];
        if (strcmp(json_string_value(s->key), key))
            continue;
        json_array_append_new(a, json_pack("{sIsIsOsbsb}", "start", (json_int_t)s->start, "end",
                                           (json_int_t)s->end, "acc", s->acc, "fired", s->fired,
                                           "emitted", s->emitted));
    }
    if (json_array_size(a) == 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

void df_graph_state_drain(df_graph_t *g, df_state_fn fn, void *opaque)
{
    char part[32];
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *n = g->nodes[i];
        if (n->kind == K_SOURCE) {
            for (size_t p = 0; p < n->nparts; p++) {
                if (n->parts[p].max_event_ms == DF_NO_TIME && !n->parts[p].marks)
                    continue;
                snprintf(part, sizeof part, "%d", n->parts[p].id);
                json_t *v = json_pack("{sI}", "max_event_ms", (json_int_t)n->parts[p].max_event_ms);
                if (n->parts[p].marks) {
                    json_t *m = json_array(), *seen = json_array(), *idle = json_array();
                    for (int u = 0; u < n->upstream; u++) {
                        json_array_append_new(m, json_integer(n->parts[p].marks[u]));
                        json_array_append_new(seen, json_integer(n->parts[p].seen[u]));
                        json_array_append_new(idle, json_boolean(n->parts[p].idle[u]));
                    }
                    json_object_set_new(v, "marks", m);
                    json_object_set_new(v, "seen", seen);
                    json_object_set_new(v, "idle", idle);
                }
                fn(opaque, n->topic, n->parts[p].id, n->name, part, "", v);
                json_decref(v);
            }
            continue;
        }
        if (!n->dirty)
            continue;
        const char *dk;
        json_t *flag;
        json_object_foreach(n->dirty, dk, flag)
        {
            const char *sep = strchr(dk, '\x1f');
            char sub[32] = "";
            snprintf(sub, sizeof sub, "%.*s", (int)(sep - dk), dk);
            const char *key = sep + 1;
            json_t *v = NULL;
            if (n->kind == K_REDUCE) {
                v = json_incref(json_object_get(n->state, key));
            } else if (n->kind == K_WINDOW) {
                int64_t start = strtoll(sub, NULL, 10);
                for (size_t w = 0; w < n->nwins && !v; w++) {
                    json_t *acc = n->wins[w].start == start ? json_object_get(n->wins[w].accs, key)
                                                            : NULL;
                    if (acc)
                        v = json_pack("{sIsIsOsb}", "start", (json_int_t)n->wins[w].start, "end",
                                      (json_int_t)n->wins[w].end, "acc", acc, "fired",
                                      n->wins[w].fired);
                }
            } else if (n->kind == K_PROCESS) {
                proc_entry_t *e = *proc_slot(n, key, false);
                int64_t from = -1;
                json_t *saved = e && e->state ? n->proc->save(e->state, &from, n->ctx) : NULL;
                if (saved)
                    v = json_pack("{sosI}", "state", saved, "replay_from", (json_int_t)from);
            } else if (n->kind == K_PATTERN) {
                v = pat_save(n, key);
            } else {
                v = sessions_of(n, key);
            }
            /* NULL: the state is gone */
            fn(opaque, n->src_topic, owner_of(n, key), n->name, key, sub, v);
            if (!v && (n->kind == K_PROCESS || n->kind == K_PATTERN)) /* keys come and go */
                json_object_del(n->owner, key);
            json_decref(v);
        }
        json_object_clear(n->dirty);
    }
    int64_t wm = atomic_load_explicit(&g->watermark_ms, memory_order_relaxed);
    if (wm != DF_NO_TIME) {
        json_t *v = json_pack("{sI}", "watermark_ms", (json_int_t)wm);
        fn(opaque, NULL, -1, "graph", "watermark", "", v);
        json_decref(v);
    }
}

void df_graph_state_clear(df_graph_t *g)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *n = g->nodes[i];
        if (n->state)
            json_object_clear(n->state);
        if (n->state_seen)
            json_object_clear(n->state_seen);
        for (size_t w = 0; w < n->nwins; w++)
            json_decref(n->wins[w].accs);
        n->nwins = 0;
        for (size_t k = 0; k < n->nsess; k++) {
            json_decref(n->sess[k].key);
            json_decref(n->sess[k].acc);
        }
        n->nsess = 0;
        if (n->kind == K_PROCESS || n->kind == K_PATTERN)
            proc_clear(n);
        if (n->dirty)
            json_object_clear(n->dirty);
        if (n->owner)
            json_object_clear(n->owner);
        if (n->kind != K_SINK && n->kind != K_CALL)
            atomic_store_explicit(&n->watermark_ms, DF_NO_TIME, memory_order_relaxed);
    }
    /* the next owner's partitions start their own watermark */
    atomic_store_explicit(&g->watermark_ms, DF_NO_TIME, memory_order_relaxed);
}

static struct df_stream *node_named(const df_graph_t *g, const char *name)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (!strcmp(g->nodes[i]->name, name))
            return g->nodes[i];
    return NULL;
}

int df_graph_state_load(df_graph_t *g, int32_t partition, const char *op, const char *key,
                        const char *sub, json_t *value)
{
    if (!strcmp(op, "graph")) {
        int64_t wm = json_integer_value(json_object_get(value, "watermark_ms"));
        int64_t cur = atomic_load_explicit(&g->watermark_ms, memory_order_relaxed);
        if (cur == DF_NO_TIME || wm > cur)
            atomic_store_explicit(&g->watermark_ms, wm, memory_order_relaxed);
        for (size_t i = 0; i < g->nnodes; i++)
            if (g->nodes[i]->kind != K_SINK && g->nodes[i]->kind != K_CALL)
                atomic_store_explicit(&g->nodes[i]->watermark_ms, wm, memory_order_relaxed);
        return 0;
    }
    struct df_stream *n = node_named(g, op);
    if (!n)
        return -1;
    if (n->kind != K_SOURCE)
        set_owner(n, key, partition);
    switch (n->kind) {
    case K_SOURCE: {
        part_wm_t *p = source_part(n, (int32_t)atoi(key), g->now_ms);
        json_t *v = json_object_get(value, "max_event_ms");
        p->max_event_ms = json_is_integer(v) ? json_integer_value(v) : DF_NO_TIME;
        json_t *m = json_object_get(value, "marks");
        json_t *seen = json_object_get(value, "seen"), *idle = json_object_get(value, "idle");
        for (size_t u = 0; p->marks && u < json_array_size(m) && (int)u < n->upstream; u++) {
            p->marks[u] = json_integer_value(json_array_get(m, u));
            p->seen[u] = json_integer_value(json_array_get(seen, u));
            p->idle[u] = json_is_true(json_array_get(idle, u));
        }
        if (g->event_clock && (g->newest_event_ms == DF_NO_TIME || p->max_event_ms > g->newest_event_ms))
            g->newest_event_ms = p->max_event_ms;
        return 0;
    }
    case K_REDUCE:
        json_object_set(n->state, key, value);
        if (n->ttl_ms > 0)
            json_object_set_new(n->state_seen, key, json_integer(evtime_now_ms()));
        return 0;
    case K_WINDOW: {
        window_t *w = window_at(n, json_integer_value(json_object_get(value, "start")),
                                json_integer_value(json_object_get(value, "end")));
        json_object_set_new(w->accs, key, json_deep_copy(json_object_get(value, "acc")));
        w->fired |= json_is_true(json_object_get(value, "fired"));
        return 0;
    }
    case K_SESSION: {
        size_t i;
        json_t *s;
        json_array_foreach(value, i, s)
        {
            n->sess = xrealloc(n->sess, (n->nsess + 1) * sizeof *n->sess);
            n->sess[n->nsess++] = (session_t){
                .key = json_string(key),
                .acc = json_deep_copy(json_object_get(s, "acc")),
                .start = json_integer_value(json_object_get(s, "start")),
                .end = json_integer_value(json_object_get(s, "end")),
                .fired = json_is_true(json_object_get(s, "fired")),
                .emitted = json_is_true(json_object_get(s, "emitted"))};
        }
        return 0;
    }
    case K_PATTERN:
        pat_load(n, key, value);
        return 0;
    case K_PROCESS: {
        if (!n->proc->load)
            return -1;
        proc_entry_t **pe = proc_slot(n, key, true);
        if ((*pe)->state && n->proc->free_state)
            n->proc->free_state((*pe)->state, n->ctx);
        (*pe)->state = n->proc->load(json_object_get(value, "state"), n->ctx);
        json_t *from = json_object_get(value, "replay_from");
        (*pe)->replay_from = json_is_integer(from) ? json_integer_value(from) : -1;
        proc_settle(n, pe);
        if (n->nkeys > n->nbuckets * 2)
            proc_grow(n);
        return 0;
    }
    default:
        (void)sub;
        return -1;
    }
}

/* --- replay of a process operator's records, for restore -------------------- */

void df_graph_replay_ranges(const df_graph_t *g,
                            void (*fn)(void *opaque, const char *topic, int32_t partition,
                                       int64_t from),
                            void *opaque)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *n = g->nodes[i];
        for (size_t b = 0; n->kind == K_PROCESS && b < n->nbuckets; b++)
            for (proc_entry_t *e = n->buckets[b]; e; e = e->next)
                if (e->replay_from >= 0 && owner_of(n, e->key) >= 0)
                    fn(opaque, n->src_topic, owner_of(n, e->key), e->replay_from);
        for (size_t b = 0; n->kind == K_PATTERN && b < n->nbuckets; b++)
            for (proc_entry_t *e = n->buckets[b]; e; e = e->next) {
                pat_key_t *k = e->state;
                for (int f = 0; k && f < k->nfrom; f++)
                    fn(opaque, n->src_topic, k->from[f].partition, k->from[f].offset);
            }
    }
}

/* Like push, but only maps, filters and key_by go on, to the process
 * operators that wait for this record; everything else drops it.  The
 * key's graph comes from the graph's replay route (df_graph_replay). */
static void replay_push(struct df_stream *n, df_record_t *r)
{
    switch (n->kind) {
    case K_MAP:
        if (run_map(n, r))
            fan_out(n, r, replay_push);
        return;
    case K_FILTER:
        if (run_filter(n, r))
            fan_out(n, r, replay_push);
        return;
    case K_KEYBY: {
        json_t *k = run_key(n, r);
        if (!k)
            return;
        r->key = k;
        fan_out(n, r, replay_push);
        json_decref(k);
        return;
    }
    case K_PROCESS: {
        const char *k = json_string_value(r->key);
        df_graph_t *g = n->g;
        struct df_stream *pn = k ? g->replay_route(g->replay_opaque, k)->nodes[n->id] : NULL;
        proc_entry_t **pe = pn ? proc_slot(pn, k, false) : NULL;
        if (pe && *pe && (*pe)->replay_from >= 0 && r->offset >= (*pe)->replay_from &&
            owner_of(pn, k) == r->partition) {
            df_process_out_t out = {.n = pn, .key = r->key, .event_ms = r->event_ms,
                                    .partition = r->partition, .mute = true};
            df_record_json(r);
            pn->proc->on_record(&out, r, &(*pe)->state, pn->ctx);
            proc_settle(pn, pe);
        }
        df_record_release(r);
        return;
    }
    case K_PATTERN: { /* held again if it was held when the key was saved */
        const char *k = json_string_value(r->key);
        struct df_stream *pn = k ? n->g->replay_route(n->g->replay_opaque, k)->nodes[n->id] : NULL;
        proc_entry_t **pe = pn ? proc_slot(pn, k, false) : NULL;
        pat_key_t *pk = pe && *pe ? (*pe)->state : NULL;
        if (pk && r->event_ms != DF_NO_TIME && r->event_ms > pk->replay_wm)
            for (int i = 0; i < pk->nfrom; i++)
                if (pk->from[i].partition == r->partition && r->offset >= pk->from[i].offset) {
                    pat_rec_t rec = {.r = *r, .seq = pn->pat_seq++};
                    rec.r.key = NULL; /* borrowed from key_by */
                    pat_hold(pn, pk, rec);
                    return;
                }
        df_record_release(r);
        return;
    }
    default:
        df_record_release(r);
        return;
    }
}

void df_graph_replay(df_graph_t *g, const char *topic, int32_t partition, int64_t offset,
                     const char *buf, size_t len, df_route_fn route, void *opaque)
{
    struct df_stream *s = source_for(g, topic);
    if (!s || !s->fn.parse || !buf) /* (fn.parse: the union's parse_rec too) */
        return;
    df_record_t r = {.partition = partition, .offset = offset, .event_ms = DF_NO_TIME};
    char err[256];
    if (s->rec ? s->fn.parse_rec(buf, len, &r, err, sizeof err, s->ctx) < 0
               : s->fn.parse(buf, len, &r.value, &r.event_ms, err, sizeof err, s->ctx) < 0)
        return;
    g->replay_route = route;
    g->replay_opaque = opaque;
    fan_out(s, &r, replay_push);
    g->replay_route = NULL;
}

void df_graph_replay_done(df_graph_t *g)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        struct df_stream *n = g->nodes[i];
        for (size_t b = 0; n->kind == K_PROCESS && b < n->nbuckets; b++)
            for (proc_entry_t *e = n->buckets[b]; e; e = e->next)
                e->replay_from = -1;
        for (size_t b = 0; n->kind == K_PATTERN && b < n->nbuckets; b++)
            for (proc_entry_t *e = n->buckets[b]; e; e = e->next) {
                pat_key_t *k = e->state;
                if (k && k->nfrom) {
                    free(k->from);
                    k->from = NULL;
                    k->nfrom = 0;
                    pat_key_settle(n, k);
                }
            }
    }
}
