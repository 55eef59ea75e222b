/* job.c — see job.h for the design.
 *
 * The workers move through a batch in lock step (one pthread barrier between
 * phases); the caller and the workers meet only at the queue (one mutex,
 * two condition variables).  Records cross workers through inboxes indexed
 * [level][to][from]: in a phase each worker appends only to its own "from"
 * slots and reads only its own "to" slots of the level it runs, so the
 * barrier is the only synchronisation they need. */
#include "engine/job.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dataflow_exec.h"
#include "engine/evtime.h"
#include "engine/jsonw.h"
#include "engine/util.h"

typedef struct item {
    int64_t seq; /* the input record that caused it */
    int node;    /* the key_by it left from */
    df_record_t r;
} item_t;

typedef struct ivec {
    item_t *v;
    size_t n, cap;
} ivec_t;

typedef struct out {
    int64_t seq;
    int level;
    int64_t event_ms; /* of the record written: window results by end */
    uint64_t sub; /* order of emission on its worker */
    int worker;
    const char *topic;
    char *key;
    size_t keylen;
    char *payload;
    size_t len;
} out_t;

typedef struct rec {
    int input; /* index in the graph's inputs */
    int32_t partition;
    int64_t offset;
    size_t at, len; /* bytes in the batch's arena */
    int64_t now_ms, ts_ms;
    int source; /* df_graph_parse's answer */
    df_record_t r;
    char *err; /* why it did not parse (source -2) */
} rec_t;

typedef struct batch {
    rec_t *recs;
    size_t n, cap;
    char *arena;
    size_t used, arena_cap;
    int64_t *wm, *clock; /* after each record */
    bool tick, final;
    int64_t tick_now, end_wm, end_clock;
    /* its outputs in canonical order, written by the first worker; the
     * caller's thread hands them to the host (df_job_drain) */
    out_t *outs;
    size_t nouts, outs_cap;
} batch_t;

#define LAT_BUCKETS 512
#define LAT_RECENT 16 /* seconds of cumulative histograms kept for the sliding window */

typedef struct lat_snap {
    int64_t at_ms;
    uint64_t b[LAT_BUCKETS];
} lat_snap_t;

typedef struct latency {
    const char *topic;
    _Atomic uint64_t count;
    _Atomic uint64_t b[LAT_BUCKETS];
} latency_t;

/* The watermark of an input partition, as the first worker last saw it
 * (published after each batch for the metrics readers; see publish_marks). */
#define JOB_PART_WMS 256
typedef struct part_wm_pub {
    const char *topic; /* owned by the first worker's graph */
    int32_t partition;
    _Atomic int64_t wm; /* DF_NO_TIME: none (no record yet, or not read now) */
} part_wm_pub_t;

typedef struct worker {
    struct df_job *j;
    int id;
    int64_t seq;
    int level;
    uint64_t sub;
    out_t *outs;
    size_t nouts, cap;
} worker_t;

struct df_job {
    int n, levels;
    bool event_clock;
    df_graph_t **g;
    worker_t *w;
    pthread_t *threads;
    df_host_t host;
    ivec_t *inbox; /* [level][to][from] */
    batch_t ring[JOB_QUEUE];
    uint64_t head, tail; /* batches handed over / finished; ring[head % Q] is being filled */
    bool quit;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_barrier_t bar;
    _Atomic uint64_t blocked_us;
    _Atomic int depth;
    latency_t *lat;
    size_t nlat;
    /* df_job_latency_recent_us: the cumulative histogram once a second, so
     * that the last seconds are a difference of two (its readers only) */
    pthread_mutex_t recent_mu;
    struct lat_snap *recent;
    int nrecent;
    out_t *scratch; /* batch_emit's: the outputs of every worker, then sort space */
    size_t nscratch;
    /* Batches done (the first worker stores it after their outputs are in
     * place) and batches whose outputs the caller handed to the host. */
    _Atomic uint64_t finished;
    uint64_t drained;
    /* Input partitions' watermarks: slots are appended by the first worker
     * (topic and partition set before npart_wm is raised), never removed. */
    part_wm_pub_t part_wm[JOB_PART_WMS];
    _Atomic size_t npart_wm;
    bool part_seen[JOB_PART_WMS]; /* the first worker's, within one publish */
};

/* --- helpers --------------------------------------------------------------- */

static uint64_t key_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static ivec_t *inbox(df_job_t *j, int level, int to, int from)
{
    return &j->inbox[((size_t)level * j->n + to) * j->n + from];
}

static void barrier(df_job_t *j)
{
    if (j->n > 1)
        pthread_barrier_wait(&j->bar);
}

/* Bucket of a latency in µs: exact below 16, then 8 buckets per power of two. */
static int lat_bucket(uint64_t us)
{
    if (us < 16)
        return (int)us;
    int msb = 63 - __builtin_clzll(us);
    int b = 16 + (msb - 4) * 8 + (int)((us >> (msb - 3)) & 7);
    return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}

static uint64_t lat_value(int b)
{
    if (b < 16)
        return (uint64_t)b;
    int msb = (b - 16) / 8 + 4, sub = (b - 16) % 8;
    uint64_t lo = (UINT64_C(1) << msb) | ((uint64_t)sub << (msb - 3));
    return lo + (UINT64_C(1) << (msb - 4)); /* middle of the bucket */
}

static latency_t *lat_for(df_job_t *j, const char *topic)
{
    for (size_t i = 0; i < j->nlat; i++)
        if (!strcmp(j->lat[i].topic, topic))
            return &j->lat[i];
    return NULL;
}

/* --- what the graphs call -------------------------------------------------- */

static void worker_emit(void *opaque, const char *topic, const char *key, size_t keylen,
                        char *payload, size_t len)
{
    worker_t *w = opaque;
    if (w->nouts == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 1024;
        w->outs = xrealloc(w->outs, w->cap * sizeof *w->outs);
    }
    w->outs[w->nouts++] = (out_t){.seq = w->seq, .level = w->level,
                                  .event_ms = df_graph_emit_event_ms(w->j->g[w->id]), .sub = w->sub++,
                                  .worker = w->id, .topic = topic, .key = key ? xstrndup(key, keylen) : NULL,
                                  .keylen = keylen, .payload = payload, .len = len};
}

static void worker_exchange(void *opaque, int node, df_record_t *r)
{
    worker_t *w = opaque;
    df_job_t *j = w->j;
    int to = (int)(key_hash(json_string_value(r->key), json_string_length(r->key)) % (uint64_t)j->n);
    ivec_t *v = inbox(j, w->level + 1, to, w->id);
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 256;
        v->v = xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = (item_t){.seq = w->seq, .node = node, .r = *r};
}

/* --- one batch, on every worker ------------------------------------------- */

static void set_clock(const df_job_t *j, int64_t clock_ms)
{
    if (j->event_clock)
        evtime_set_thread_clock_us(clock_ms == DF_NO_TIME ? 0 : clock_ms * 1000);
}

/* Step 2, on the first worker: the watermark and clock after each record. */
static void batch_time(df_job_t *j, batch_t *b)
{
    df_graph_t *g = j->g[0];
    for (size_t i = 0; i < b->n; i++) {
        rec_t *r = &b->recs[i];
        if (r->source >= 0 &&
            !df_graph_observe_repart(g, r->source, r->partition, r->r.offset, r->now_ms)) {
            df_record_release(&r->r); /* a second copy: not processed again */
            r->source = -4;
        } else if (r->source >= 0)
            df_graph_observe(g, r->source, r->partition, r->r.event_ms, r->now_ms);
        else if (r->source == -3) { /* a repartition topic's watermark marker */
            int u = (int)json_integer_value(r->r.value);
            df_graph_observe_marker(g, df_graph_source_of(g, df_graph_inputs(g)[r->input]),
                                    r->partition, u % DF_REPART_PARTS, r->r.event_ms,
                                    u >= DF_REPART_PARTS, r->now_ms);
            df_record_release(&r->r);
        } else if (r->source == -2) /* a dead letter still shows its partition is alive */
            df_graph_observe(g, df_graph_source_of(g, df_graph_inputs(g)[r->input]), r->partition,
                             DF_NO_TIME, r->now_ms);
        b->clock[i] = df_graph_event_clock(g);
        b->wm[i] = df_graph_next_watermark(g, r->now_ms);
    }
    b->end_clock = b->n ? b->clock[b->n - 1] : df_graph_event_clock(g);
    if (b->final)
        b->end_wm = INT64_MAX - 1;
    else if (b->tick)
        b->end_wm = df_graph_next_watermark(g, b->tick_now);
    else
        b->end_wm = b->n ? b->wm[b->n - 1] : df_graph_watermark(g);
}

static void run_level(df_job_t *j, worker_t *w, batch_t *b, int level)
{
    df_graph_t *g = j->g[w->id];
    size_t idx[64] = {0}; /* n <= 64 */
    w->level = level;
    for (size_t i = 0; i <= b->n; i++) {
        bool end = i == b->n;
        w->seq = (int64_t)i;
        set_clock(j, end ? b->end_clock : b->clock[i]);
        int64_t now = end ? (b->tick ? b->tick_now : (b->n ? b->recs[b->n - 1].now_ms : 0))
                          : b->recs[i].now_ms;
        if (j->event_clock) /* a replay's processing time is its event clock */
            now = end ? b->end_clock : b->clock[i];
        for (int s = 0; s < j->n; s++) {
            ivec_t *v = inbox(j, level, w->id, s);
            while (idx[s] < v->n && v->v[idx[s]].seq == (int64_t)i) {
                item_t *it = &v->v[idx[s]++];
                df_graph_deliver(g, it->node, &it->r, now);
            }
        }
        if (!end)
            df_graph_advance_level(g, level, b->wm[i], now);
        else if (b->final)
            df_graph_advance_level(g, level, INT64_MAX - 1, INT64_MAX);
        else if (b->tick)
            df_graph_advance_level(g, level, b->end_wm, b->tick_now);
    }
    for (int s = 0; s < j->n; s++)
        inbox(j, level, w->id, s)->n = 0;
}

static int out_order(const void *a, const void *b)
{
    const out_t *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    if (x->event_ms != y->event_ms)
        return x->event_ms < y->event_ms ? -1 : 1;
    if (!x->key != !y->key)
        return x->key ? 1 : -1;
    if (x->key) {
        size_t m = x->keylen < y->keylen ? x->keylen : y->keylen;
        int c = memcmp(x->key, y->key, m);
        if (c || x->keylen != y->keylen)
            return c ? c : (x->keylen < y->keylen ? -1 : 1);
    }
    /* the same record, level and key: one worker's outputs, in its order
     * (two workers here would need different keys upstream: not seen) */
    if (x->worker != y->worker)
        return x->worker < y->worker ? -1 : 1;
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

/* The end of the run of entries in order that starts at i. */
static size_t run_end(const out_t *v, size_t i, size_t n)
{
    while (++i < n && out_order(&v[i - 1], &v[i]) <= 0)
        ;
    return i;
}

/* Sorts v[0..n) by out_order with tmp (n entries) as scratch: a natural
 * merge sort.  The outputs come as a few runs already in order (a worker
 * emits a level's outputs in record order, level after level), so a couple
 * of passes merge them.  Not qsort: glibc's mallocs a buffer of the whole
 * array on every call, and at one call per batch that malloc and free was
 * 8% of a replay's time (malloc_consolidate, in perf). */
static void sort_outs(out_t *v, out_t *tmp, size_t n)
{
    while (n && run_end(v, 0, n) < n) {
        size_t i = 0, pairs = 0;
        while (i < n) { /* merge each two runs into tmp */
            size_t mid = run_end(v, i, n), end = mid < n ? run_end(v, mid, n) : n;
            size_t x = i, y = mid, k = i;
            while (x < mid && y < end)
                tmp[k++] = out_order(&v[x], &v[y]) <= 0 ? v[x++] : v[y++];
            while (x < mid)
                tmp[k++] = v[x++];
            while (y < end)
                tmp[k++] = v[y++];
            pairs++;
            i = end;
        }
        memcpy(v, tmp, n * sizeof *v);
        if (pairs == 1)
            return;
    }
}

/* Step 5, on the first worker: every output of the batch, in canonical order
 * (out_order is total: any correct sort gives the same bytes), kept in the
 * batch for the caller's thread: the host's emit (a Kafka producer) is
 * called there only, so that each Kafka handle has one thread. */
static void batch_emit(df_job_t *j, batch_t *b)
{
    size_t total = 0;
    for (int i = 0; i < j->n; i++)
        total += j->w[i].nouts;
    if (j->nscratch < 2 * total) {
        j->nscratch = 2 * total;
        j->scratch = xrealloc(j->scratch, j->nscratch * sizeof *j->scratch);
    }
    out_t *all = j->n == 1 ? j->w[0].outs : j->scratch;
    if (j->n > 1)
        for (int i = 0, k = 0; i < j->n; i++) {
            if (j->w[i].nouts)
                memcpy(all + k, j->w[i].outs, j->w[i].nouts * sizeof *all);
            k += (int)j->w[i].nouts;
        }
    sort_outs(all, j->scratch + total, total);
    int64_t wall = util_wall_ms();
    latency_t *last = NULL;
    for (size_t i = 0; i < total; i++) {
        out_t *o = &all[i];
        int64_t ts = o->seq < (int64_t)b->n ? b->recs[o->seq].ts_ms : 0;
        if (ts > 0) {
            if (!last || strcmp(last->topic, o->topic))
                last = lat_for(j, o->topic);
            if (last) {
                int64_t d = (wall - ts) * 1000;
                atomic_fetch_add_explicit(&last->b[lat_bucket(d > 0 ? (uint64_t)d : 0)], 1,
                                          memory_order_relaxed);
                atomic_fetch_add_explicit(&last->count, 1, memory_order_relaxed);
            }
        }
    }
    if (b->outs_cap < total) {
        b->outs_cap = total;
        b->outs = xrealloc(b->outs, b->outs_cap * sizeof *b->outs);
    }
    if (total)
        memcpy(b->outs, all, total * sizeof *all);
    b->nouts = total;
    for (int i = 0; i < j->n; i++) {
        j->w[i].nouts = 0;
        j->w[i].sub = 0;
    }
}

static void publish_mark(void *opaque, const char *topic, int32_t partition, int64_t wm,
                         bool idle)
{
    (void)idle; /* an idle partition keeps the watermark it had */
    df_job_t *j = opaque;
    size_t n = atomic_load_explicit(&j->npart_wm, memory_order_relaxed), i = 0;
    while (i < n && (j->part_wm[i].partition != partition || strcmp(j->part_wm[i].topic, topic)))
        i++;
    if (i == n) {
        if (n == JOB_PART_WMS)
            return;
        j->part_wm[n].topic = topic;
        j->part_wm[n].partition = partition;
        atomic_store_explicit(&j->part_wm[n].wm, wm, memory_order_relaxed);
        atomic_store_explicit(&j->npart_wm, n + 1, memory_order_release);
    } else {
        atomic_store_explicit(&j->part_wm[i].wm, wm, memory_order_relaxed);
    }
    j->part_seen[i] = true;
}

/* On the first worker after step 2: each input partition's watermark for
 * df_job_partition_watermarks (the metrics); partitions no longer read get
 * DF_NO_TIME.  A few partitions per batch: no cost worth measuring. */
static void publish_marks(df_job_t *j, const batch_t *b)
{
    if (!b->tick && !b->n)
        return; /* (the final batch: no clock to judge idleness by) */
    size_t n = atomic_load_explicit(&j->npart_wm, memory_order_relaxed);
    memset(j->part_seen, 0, sizeof j->part_seen);
    int64_t now = b->tick ? b->tick_now : b->recs[b->n - 1].now_ms;
    df_graph_source_marks(j->g[0], now, publish_mark, j);
    for (size_t i = 0; i < n; i++)
        if (!j->part_seen[i])
            atomic_store_explicit(&j->part_wm[i].wm, DF_NO_TIME, memory_order_relaxed);
}

static void run_batch(df_job_t *j, worker_t *w, batch_t *b)
{
    df_graph_t *g = j->g[w->id];
    const char *const *inputs = df_graph_inputs(g);
    /* 1: parse every n-th record */
    w->level = 0;
    for (size_t i = (size_t)w->id; i < b->n; i += (size_t)j->n) {
        rec_t *r = &b->recs[i];
        w->seq = (int64_t)i;
        char err[256];
        r->source = df_graph_parse(g, inputs[r->input], r->partition, r->offset, b->arena + r->at,
                                   r->len, r->now_ms, &r->r, err, sizeof err);
        if (r->source == -2)
            r->err = xstrdup(err);
    }
    barrier(j);
    /* 2: time, in input order */
    if (w->id == 0) {
        batch_time(j, b);
        publish_marks(j, b);
    }
    barrier(j);
    /* 3: the operators above the first key_by */
    for (size_t i = (size_t)w->id; i < b->n; i += (size_t)j->n) {
        rec_t *r = &b->recs[i];
        w->seq = (int64_t)i;
        set_clock(j, b->clock[i]);
        if (r->source == -2) { /* now, so that its failed_at is the clock's */
            df_graph_dead_letter(g, df_graph_source_of(g, inputs[r->input]), r->partition,
                                 r->offset, b->arena + r->at, r->len, r->err);
            free(r->err);
            r->err = NULL;
        }
        if (r->source < 0)
            continue;
        df_graph_emit_source(g, r->source, &r->r, j->event_clock ? b->clock[i] : r->now_ms);
    }
    barrier(j);
    /* 4: keyed levels */
    for (int level = 1; level < j->levels; level++) {
        run_level(j, w, b, level);
        barrier(j);
    }
    /* 5: outputs */
    if (w->id == 0)
        batch_emit(j, b);
    barrier(j);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    df_job_t *j = w->j;
    util_block_signals(); /* signals are the main thread's, but for crashes */
    uint64_t next = 0;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        while (!j->quit && j->head <= next)
            pthread_cond_wait(&j->work, &j->mu);
        if (j->head <= next) { /* quit with nothing left */
            pthread_mutex_unlock(&j->mu);
            break;
        }
        batch_t *b = &j->ring[next % JOB_QUEUE];
        pthread_mutex_unlock(&j->mu);
        run_batch(j, w, b);
        next++;
        if (w->id == 0) {
            atomic_store(&j->finished, next); /* b->outs are in place */
            pthread_mutex_lock(&j->mu);
            j->tail = next;
            atomic_store(&j->depth, (int)(j->head - j->tail));
            pthread_cond_broadcast(&j->done);
            pthread_mutex_unlock(&j->mu);
        }
    }
    evtime_set_thread_clock_us(EVTIME_REAL_CLOCK);
    jsonw_thread_done();
    return NULL;
}

/* --- the caller's side ------------------------------------------------------ */

df_job_t *df_job_new(df_build_fn build, void *arg, int workers, const df_host_t *host,
                     bool event_clock)
{
    df_job_t *j = xcalloc(1, sizeof *j);
    j->n = workers < 1 ? 1 : workers > 64 ? 64 : workers;
    j->host = *host;
    j->event_clock = event_clock;
    j->g = xcalloc((size_t)j->n, sizeof *j->g);
    j->w = xcalloc((size_t)j->n, sizeof *j->w);
    for (int i = 0; i < j->n; i++) {
        j->w[i] = (worker_t){.j = j, .id = i};
        df_host_t h = {.emit = worker_emit, .opaque = &j->w[i], .repartition = host->repartition};
        j->g[i] = build(&h, arg);
        df_graph_set_exchange(j->g[i], worker_exchange, &j->w[i]);
        df_graph_use_event_clock(j->g[i], event_clock);
    }
    j->levels = df_graph_levels(j->g[0]);
    j->inbox = xcalloc((size_t)(j->levels + 1) * j->n * j->n, sizeof *j->inbox);
    for (const char *const *t = df_graph_outputs(j->g[0]); *t; t++)
        j->nlat++;
    j->lat = xcalloc(j->nlat ? j->nlat : 1, sizeof *j->lat);
    size_t k = 0;
    for (const char *const *t = df_graph_outputs(j->g[0]); *t; t++)
        j->lat[k++].topic = *t;
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->recent_mu, NULL);
    pthread_cond_init(&j->work, NULL);
    pthread_cond_init(&j->done, NULL);
    if (j->n > 1)
        pthread_barrier_init(&j->bar, NULL, (unsigned)j->n);
    j->threads = xcalloc((size_t)j->n, sizeof *j->threads);
    for (int i = 0; i < j->n; i++)
        if (pthread_create(&j->threads[i], NULL, worker_main, &j->w[i]))
            util_fatal("cannot start a worker thread");
    return j;
}

static batch_t *open_batch(df_job_t *j) { return &j->ring[j->head % JOB_QUEUE]; }

void df_job_drain(df_job_t *j)
{
    uint64_t done = atomic_load(&j->finished);
    for (; j->drained < done; j->drained++) {
        batch_t *b = &j->ring[j->drained % JOB_QUEUE];
        for (size_t i = 0; i < b->nouts; i++) {
            out_t *o = &b->outs[i];
            j->host.emit(j->host.opaque, o->topic, o->key, o->keylen, o->payload, o->len);
            free(o->key);
        }
        b->nouts = 0;
    }
}

/* Hands the open batch to the workers and waits for a free slot. */
static void submit(df_job_t *j)
{
    pthread_mutex_lock(&j->mu);
    j->head++;
    atomic_store(&j->depth, (int)(j->head - j->tail));
    pthread_cond_broadcast(&j->work);
    if (j->head - j->tail >= JOB_QUEUE) {
        uint64_t t0 = util_mono_us();
        while (j->head - j->tail >= JOB_QUEUE)
            pthread_cond_wait(&j->done, &j->mu);
        atomic_fetch_add(&j->blocked_us, util_mono_us() - t0);
    }
    pthread_mutex_unlock(&j->mu);
    df_job_drain(j); /* the slot we reuse had its outputs handed over */
    batch_t *b = open_batch(j);
    b->n = 0;
    b->used = 0;
    b->tick = b->final = false;
}

bool df_job_push(df_job_t *j, const char *topic, int32_t partition, int64_t offset,
                 const char *buf, size_t len, int64_t now_ms, int64_t ts_ms)
{
    const char *const *inputs = df_graph_inputs(j->g[0]);
    int input = 0;
    while (inputs[input] && strcmp(inputs[input], topic))
        input++;
    if (!inputs[input])
        return false;
    batch_t *b = open_batch(j);
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : JOB_BATCH;
        b->recs = xrealloc(b->recs, b->cap * sizeof *b->recs);
        b->wm = xrealloc(b->wm, b->cap * sizeof *b->wm);
        b->clock = xrealloc(b->clock, b->cap * sizeof *b->clock);
    }
    if (b->used + len > b->arena_cap) {
        b->arena_cap = (b->used + len) * 2 + 65536;
        b->arena = xrealloc(b->arena, b->arena_cap);
    }
    if (len) /* a record with no value (NULL) has nothing to copy */
        memcpy(b->arena + b->used, buf, len);
    b->recs[b->n++] = (rec_t){.input = input, .partition = partition, .offset = offset,
                              .at = b->used, .len = len, .now_ms = now_ms, .ts_ms = ts_ms};
    b->used += len;
    if (b->n >= JOB_BATCH)
        submit(j);
    return true;
}

void df_job_tick(df_job_t *j, int64_t now_ms)
{
    batch_t *b = open_batch(j);
    b->tick = true;
    b->tick_now = now_ms;
    submit(j);
}

void df_job_sync(df_job_t *j)
{
    if (open_batch(j)->n > 0)
        submit(j);
    pthread_mutex_lock(&j->mu);
    while (j->tail < j->head)
        pthread_cond_wait(&j->done, &j->mu);
    pthread_mutex_unlock(&j->mu);
    df_job_drain(j);
}

void df_job_finish(df_job_t *j)
{
    open_batch(j)->final = true;
    submit(j);
    df_job_sync(j);
}

void df_job_assign(df_job_t *j, const char *topic, const int32_t *partitions, size_t n,
                   int64_t now_ms)
{
    df_job_sync(j);
    df_graph_assign(j->g[0], topic, partitions, n, now_ms); /* the first worker keeps time */
}

void df_job_free(df_job_t *j)
{
    if (!j)
        return;
    df_job_sync(j);
    pthread_mutex_lock(&j->mu);
    j->quit = true;
    pthread_cond_broadcast(&j->work);
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < j->n; i++)
        pthread_join(j->threads[i], NULL);
    for (int i = 0; i < j->n; i++) {
        df_graph_free(j->g[i]);
        free(j->w[i].outs);
    }
    for (size_t i = 0; i < (size_t)(j->levels + 1) * j->n * j->n; i++)
        free(j->inbox[i].v);
    for (int i = 0; i < JOB_QUEUE; i++) {
        free(j->ring[i].recs);
        free(j->ring[i].arena);
        free(j->ring[i].wm);
        free(j->ring[i].clock);
        free(j->ring[i].outs);
    }
    if (j->n > 1)
        pthread_barrier_destroy(&j->bar);
    pthread_cond_destroy(&j->work);
    pthread_cond_destroy(&j->done);
    pthread_mutex_destroy(&j->mu);
    free(j->inbox);
    free(j->scratch);
    free(j->lat);
    free(j->recent);
    pthread_mutex_destroy(&j->recent_mu);
    free(j->threads);
    free(j->g);
    free(j->w);
    free(j);
}

/* --- metrics ---------------------------------------------------------------- */

int df_job_workers(const df_job_t *j) { return j->n; }
const df_graph_t *df_job_graph(const df_job_t *j) { return j->g[0]; }
int df_job_queue_depth(const df_job_t *j) { return atomic_load(&((df_job_t *)j)->depth); }
uint64_t df_job_blocked_us(const df_job_t *j) { return atomic_load(&((df_job_t *)j)->blocked_us); }
int64_t df_job_watermark(const df_job_t *j) { return df_graph_watermark(j->g[0]); }

size_t df_job_metrics(const df_job_t *j, df_op_metrics_t *out, size_t max)
{
    size_t n = df_graph_metrics(j->g[0], out, max);
    df_op_metrics_t tmp[128];
    for (int w = 1; w < j->n; w++) {
        size_t m = df_graph_metrics(j->g[w], tmp, 128);
        for (size_t i = 0; i < m && i < max && i < 128; i++) {
            out[i].in += tmp[i].in;
            out[i].out += tmp[i].out;
            out[i].late += tmp[i].late;
            out[i].dlq += tmp[i].dlq;
            if (tmp[i].watermark_ms != DF_NO_TIME &&
                (out[i].watermark_ms == DF_NO_TIME || tmp[i].watermark_ms > out[i].watermark_ms))
                out[i].watermark_ms = tmp[i].watermark_ms;
        }
    }
    return n;
}

uint64_t df_job_dlq_count(const df_job_t *j)
{
    uint64_t t = 0;
    for (int w = 0; w < j->n; w++)
        t += df_graph_dlq_count(j->g[w]);
    return t;
}

uint64_t df_job_late_count(const df_job_t *j)
{
    uint64_t t = 0;
    for (int w = 0; w < j->n; w++)
        t += df_graph_late_count(j->g[w]);
    return t;
}

static void lat_sum(const df_job_t *j, const char *topic, uint64_t *b, uint64_t *count)
{
    memset(b, 0, LAT_BUCKETS * sizeof *b);
    *count = 0;
    for (size_t i = 0; i < j->nlat; i++) {
        latency_t *l = &j->lat[i];
        if (topic && strcmp(l->topic, topic))
            continue;
        for (int k = 0; k < LAT_BUCKETS; k++)
            b[k] += atomic_load_explicit(&l->b[k], memory_order_relaxed);
    }
    for (int k = 0; k < LAT_BUCKETS; k++)
        *count += b[k];
}

uint64_t df_job_latency_count(const df_job_t *j, const char *topic)
{
    uint64_t b[LAT_BUCKETS], c;
    lat_sum(j, topic, b, &c);
    return c;
}

int64_t df_job_latency_us(const df_job_t *j, const char *topic, double p)
{
    uint64_t b[LAT_BUCKETS], c;
    lat_sum(j, topic, b, &c);
    if (c == 0)
        return -1;
    uint64_t want = (uint64_t)((double)c * p / 100.0 + 0.5), seen = 0;
    if (want < 1)
        want = 1;
    for (int k = 0; k < LAT_BUCKETS; k++) {
        seen += b[k];
        if (seen >= want)
            return (int64_t)lat_value(k);
    }
    return (int64_t)lat_value(LAT_BUCKETS - 1);
}

void df_job_latency_hist(const df_job_t *j, const char *topic, const int64_t *le_us, size_t n,
                         uint64_t *cum, uint64_t *count, double *sum_us)
{
    uint64_t b[LAT_BUCKETS], c;
    lat_sum(j, topic, b, &c);
    double sum = 0;
    memset(cum, 0, n * sizeof *cum);
    for (int k = 0; k < LAT_BUCKETS; k++) {
        if (!b[k])
            continue;
        uint64_t v = lat_value(k);
        sum += (double)v * (double)b[k];
        for (size_t i = 0; i < n; i++)
            if ((int64_t)v <= le_us[i])
                cum[i] += b[k];
    }
    *count = c;
    *sum_us = sum;
}

size_t df_job_partition_watermarks(const df_job_t *j, df_part_watermark_t *out, size_t max)
{
    df_job_t *m = (df_job_t *)j;
    size_t n = atomic_load_explicit(&m->npart_wm, memory_order_acquire), k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        int64_t wm = atomic_load_explicit(&m->part_wm[i].wm, memory_order_relaxed);
        if (wm != DF_NO_TIME)
            out[k++] = (df_part_watermark_t){m->part_wm[i].topic, m->part_wm[i].partition, wm};
    }
    return k;
}

static int64_t percentile(const uint64_t *b, uint64_t c, double p)
{
    uint64_t want = (uint64_t)((double)c * p / 100.0 + 0.5), seen = 0;
    if (want < 1)
        want = 1;
    for (int k = 0; k < LAT_BUCKETS; k++) {
        seen += b[k];
        if (seen >= want)
            return (int64_t)lat_value(k);
    }
    return (int64_t)lat_value(LAT_BUCKETS - 1);
}

void df_job_latency_recent_us(const df_job_t *cj, int64_t window_ms, int64_t *p50, int64_t *p99)
{
    df_job_t *j = (df_job_t *)cj; /* the snapshots are the readers' own */
    uint64_t cur[LAT_BUCKETS], c;
    lat_sum(j, NULL, cur, &c);
    int64_t now = util_mono_ms();
    pthread_mutex_lock(&j->recent_mu);
    if (!j->recent)
        j->recent = xcalloc(LAT_RECENT, sizeof *j->recent);
    /* one snapshot a second, oldest first */
    if (!j->nrecent || now - j->recent[j->nrecent - 1].at_ms >= 1000) {
        if (j->nrecent == LAT_RECENT)
            memmove(j->recent, j->recent + 1, (LAT_RECENT - 1) * sizeof *j->recent);
        else
            j->nrecent++;
        j->recent[j->nrecent - 1].at_ms = now;
        memcpy(j->recent[j->nrecent - 1].b, cur, sizeof cur);
    }
    /* the base: the newest snapshot at least window_ms old (the oldest while
     * the job is younger than that) */
    const lat_snap_t *base = &j->recent[0];
    for (int i = 0; i < j->nrecent; i++)
        if (now - j->recent[i].at_ms >= window_ms)
            base = &j->recent[i];
    uint64_t d[LAT_BUCKETS], n = 0;
    for (int k = 0; k < LAT_BUCKETS; k++) {
        d[k] = cur[k] >= base->b[k] ? cur[k] - base->b[k] : 0;
        n += d[k];
    }
    pthread_mutex_unlock(&j->recent_mu);
    *p50 = n ? percentile(d, n, 50) : -1;
    *p99 = n ? percentile(d, n, 99) : -1;
}

/* --- state ------------------------------------------------------------------ */

void df_job_track_state(df_job_t *j, bool on)
{
    for (int w = 0; w < j->n; w++)
        df_graph_track_state(j->g[w], on);
}

void df_job_state_drain(df_job_t *j, df_state_fn fn, void *opaque)
{
    df_job_sync(j);
    for (int w = 0; w < j->n; w++)
        df_graph_state_drain(j->g[w], fn, opaque);
}

int df_job_state_load(df_job_t *j, int32_t partition, const char *op, const char *key,
                      const char *sub, json_t *value)
{
    if (!strcmp(op, "graph")) { /* every worker's windows take the watermark */
        int rc = 0;
        for (int w = 0; w < j->n; w++)
            rc |= df_graph_state_load(j->g[w], partition, op, key, sub, value);
        return rc;
    }
    if (!strncmp(op, "source:", 7)) /* the first worker keeps time */
        return df_graph_state_load(j->g[0], partition, op, key, sub, value);
    int w = (int)(key_hash(key, strlen(key)) % (uint64_t)j->n);
    return df_graph_state_load(j->g[w], partition, op, key, sub, value);
}

void df_job_replay_ranges(df_job_t *j,
                          void (*fn)(void *opaque, const char *topic, int32_t partition,
                                     int64_t from),
                          void *opaque)
{
    df_job_sync(j);
    for (int w = 0; w < j->n; w++)
        df_graph_replay_ranges(j->g[w], fn, opaque);
}

/* The graph holding key's state: the worker the exchange sends it to. */
static df_graph_t *key_graph(void *opaque, const char *key)
{
    df_job_t *j = opaque;
    return j->g[key_hash(key, strlen(key)) % (uint64_t)j->n];
}

void df_job_replay(df_job_t *j, const char *topic, int32_t partition, int64_t offset,
                   const char *buf, size_t len)
{
    df_graph_replay(j->g[0], topic, partition, offset, buf, len, key_graph, j);
}

void df_job_replay_done(df_job_t *j)
{
    for (int w = 0; w < j->n; w++)
        df_graph_replay_done(j->g[w]);
}

void df_job_state_clear(df_job_t *j)
{
    df_job_sync(j);
    for (int w = 0; w < j->n; w++)
        df_graph_state_clear(j->g[w]);
}

/* --- repartition topics ------------------------------------------------------ */

void df_job_set_upstream(df_job_t *j, const char *topic, int partitions)
{
    for (int w = 0; w < j->n; w++)
        df_graph_set_upstream(j->g[w], topic, partitions);
}

void df_job_source_marks(df_job_t *j, int64_t now_ms,
                         void (*fn)(void *opaque, const char *topic, int32_t partition, int64_t wm,
                                    bool idle),
                         void *opaque)
{
    df_job_sync(j);
    df_graph_source_marks(j->g[0], now_ms, fn, opaque);
}

bool df_job_marks_final(df_job_t *j)
{
    df_job_sync(j);
    return df_graph_marks_final(j->g[0]);
}
