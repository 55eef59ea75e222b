/* test_job.c — parallel jobs (engine/job.c): the transaction pipeline on N
 * workers gives the outputs one thread gives, byte for byte; records
 * shuffled within the out-of-orderness bound give the same window results;
 * an idle partition stops holding the watermark back after its timeout.
 *
 * Inputs are generated here with a fixed-seed PRNG (no files shipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/evtime.h"
#include "engine/job.h"
#include "engine/pipelines/replay.h"
#include "engine/util.h"
#include "testlib.h"

#define JAN15_1000 INT64_C(1705312800000) /* 2024-01-15T10:00:00 local-as-UTC ms */

static char dir[64];

static int setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/streamlab-job-XXXXXX");
    return mkdtemp(dir) ? 0 : 1;
}

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static const char *const cats[] = {"electronics", "books", "clothing", "home"};

/* One transaction line at event time ms. */
static void txn_line(FILE *f, int i, int64_t ms)
{
    char ts[EVTIME_BUFSIZE];
    fprintf(f,
            "{\"transaction_id\":\"t%d\",\"user_id\":\"user_%u\",\"product\":\"book\","
            "\"category\":\"%s\",\"amount\":%u.%02u,\"quantity\":1,\"payment_method\":\"paypal\","
            "\"timestamp\":\"%s\",\"location\":\"city_1\"}\n",
            i, 1 + rnd() % 200, cats[rnd() % 4], 10 + rnd() % 990, rnd() % 100,
            evtime_format(ms, ts));
}

/* n records 20 ms apart, jittered back by up to 8 s, 1% of them 60 s old
 * (late), 0.5% not JSON. */
static void write_mixed(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    rng_state = 42;
    for (int i = 0; i < n; i++) {
        int64_t ms = JAN15_1000 + i * 20 - rnd() % 8000;
        if (rnd() % 100 == 0)
            ms -= 60000;
        if (rnd() % 200 == 0)
            fprintf(f, "not json {\n");
        else
            txn_line(f, i, ms);
    }
    fclose(f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("(missing)");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    buf[fread(buf, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return buf;
}

static const char *const topics[] = {"processed_transactions", "high_value_transactions",
                                     "user_aggregations",      "category_windows",
                                     "late_transactions",      "transactions.dlq",
                                     "fraud_alerts"};

static json_t *replay(const char *in, const char *out, pipeline_params_t *p)
{
    char err[512];
    json_t *s = replay_run(in, out, "transactions", p, err, sizeof err);
    if (!s)
        fprintf(stderr, "replay: %s\n", err);
    return s;
}

static void assert_same_outputs(const char *a, const char *b)
{
    for (size_t t = 0; t < sizeof topics / sizeof *topics; t++) {
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, "%s/%s.jsonl", a, topics[t]);
        snprintf(pb, sizeof pb, "%s/%s.jsonl", b, topics[t]);
        char *x = slurp(pa), *y = slurp(pb);
        CU_ASSERT(strlen(x) > 0);
        if (strcmp(x, y))
            fprintf(stderr, "\n  %s differs between %s and %s\n", topics[t], a, b);
        CU_ASSERT_STRING_EQUAL(x, y);
        free(x);
        free(y);
    }
}

static void check_workers(int64_t slide_ms, int64_t gap_ms, int64_t lateness_ms)
{
    char in[128], out1[128];
    snprintf(in, sizeof in, "%s/mixed.jsonl", dir);
    write_mixed(in, 30000);
    pipeline_params_t p;
    pipeline_params_init(&p);
    p.window_slide_ms = slide_ms;
    p.session_gap_ms = gap_ms;
    p.allowed_lateness_ms = lateness_ms;
    p.state_ttl_ms = 20000;
    json_t *base = NULL;
    for (int w = 1; w <= 4; w++) {
        char out[128];
        snprintf(out, sizeof out, "%s/out-w%d-%lld-%lld", dir, w, (long long)slide_ms,
                 (long long)gap_ms);
        p.workers = w;
        json_t *s = replay(in, out, &p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "workers")), w);
        if (w == 1) {
            snprintf(out1, sizeof out1, "%s", out);
            base = s;
            /* the input has late records and dead letters to agree on */
            CU_ASSERT(json_integer_value(json_object_get(s, "late")) > 50);
            CU_ASSERT(json_integer_value(json_object_get(s, "dlq")) > 50);
            continue;
        }
        assert_same_outputs(out1, out);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "late")),
                        json_integer_value(json_object_get(base, "late")));
        /* per-operator counts, summed over the workers, are one thread's */
        json_t *ops = json_object_get(s, "operators");
        CU_ASSERT(json_array_size(ops) > 8);
        CU_ASSERT(json_equal(ops, json_object_get(base, "operators")));
        size_t i;
        json_t *op;
        json_array_foreach(ops, i, op)
        {
            if (!strncmp(json_string_value(json_object_get(op, "name")), "key_by:", 7))
                CU_ASSERT_EQUAL(json_integer_value(json_object_get(op, "in")),
                                json_integer_value(json_object_get(op, "out")));
        }
        json_decref(s);
    }
    json_decref(base);
}

static void test_workers_1_to_4_give_byte_identical_outputs_tumbling(void)
{
    check_workers(0, 0, 0);
}

static void test_workers_1_to_4_give_byte_identical_outputs_sliding_with_lateness(void)
{
    check_workers(10000, 0, 5000);
}

static void test_workers_1_to_4_give_byte_identical_outputs_sessions(void)
{
    check_workers(0, 50, 1000); /* sparse enough per category for many sessions */
}

/* Sorted lines of a file, as one string (to compare results as sets). */
static int line_order(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(const char *path)
{
    char *s = slurp(path);
    size_t total = strlen(s) + 2, n = 0, cap = 1024;
    char **lines = malloc(cap * sizeof *lines);
    for (char *save, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (n == cap)
            lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = l;
    }
    qsort(lines, n, sizeof *lines, line_order);
    char *out = calloc(1, total), *p = out;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\n", lines[i]);
    free(lines);
    free(s);
    return out;
}

static void test_records_shuffled_within_the_bound_give_identical_window_results(void)
{
    /* 5000 records 50 ms apart, in order; then the same records with each
     * block of 60 (3 s of event time) shuffled.  No record is then more than
     * 3 s older than one before it, under the 5 s bound: nothing is late,
     * and every window holds the same records, so the window results are
     * the same set (their order may differ: the watermark passes a window's
     * end at a different record). */
    enum { N = 5000, BLOCK = 60 };
    static char *line[N];
    rng_state = 7;
    for (int i = 0; i < N; i++) {
        char *buf;
        size_t len;
        FILE *m = open_memstream(&buf, &len);
        txn_line(m, i, JAN15_1000 + i * 50);
        fclose(m);
        line[i] = buf;
    }
    for (int pass = 0; pass < 3; pass++) {
        char in[128], out[128];
        snprintf(in, sizeof in, "%s/shuffle%d.jsonl", dir, pass);
        snprintf(out, sizeof out, "%s/shuffle%d", dir, pass);
        if (pass > 0) /* a different shuffle each pass */
            for (int b = 0; b < N; b += BLOCK)
                for (int i = BLOCK - 1; i > 0; i--) {
                    int k = (int)(rnd() % (uint32_t)(i + 1));
                    if (b + i < N && b + k < N) {
                        char *t = line[b + i];
                        line[b + i] = line[b + k];
                        line[b + k] = t;
                    }
                }
        FILE *f = fopen(in, "w");
        for (int i = 0; i < N; i++)
            fputs(line[i], f);
        fclose(f);
        pipeline_params_t p;
        pipeline_params_init(&p);
        p.workers = 2;
        json_t *s = replay(in, out, &p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "late")), 0);
        json_decref(s);
    }
    char a[160], b[160];
    snprintf(a, sizeof a, "%s/shuffle0/category_windows.jsonl", dir);
    char *want = sorted_lines(a);
    CU_ASSERT(strlen(want) > 1000); /* 250 s of data: ~9 windows x 4 categories */
    for (int pass = 1; pass < 3; pass++) {
        snprintf(b, sizeof b, "%s/shuffle%d/category_windows.jsonl", dir, pass);
        char *got = sorted_lines(b);
        CU_ASSERT_STRING_EQUAL(want, got);
        free(got);
    }
    free(want);
    for (int i = 0; i < N; i++)
        free(line[i]);
}

/* --- a job fed by hand: partitions and idleness ----------------------------- */

typedef struct sink {
    int windows;
    char last[512];
} sink_t;

static void count_windows(void *opaque, const char *topic, const char *key, size_t keylen,
                          char *payload, size_t len)
{
    (void)key, (void)keylen;
    sink_t *s = opaque;
    if (!strcmp(topic, "category_windows")) {
        s->windows++;
        snprintf(s->last, sizeof s->last, "%.*s", (int)len, payload);
    }
    free(payload);
}

static void push_at(df_job_t *j, int32_t part, int i, int64_t event_ms, int64_t now)
{
    char *buf;
    size_t len;
    FILE *m = open_memstream(&buf, &len);
    char ts[EVTIME_BUFSIZE];
    fprintf(m,
            "{\"transaction_id\":\"t%d\",\"user_id\":\"user_1\",\"product\":\"book\","
            "\"category\":\"books\",\"amount\":200.0,\"quantity\":1,\"payment_method\":\"paypal\","
            "\"timestamp\":\"%s\",\"location\":\"city_1\"}",
            i, evtime_format(event_ms, ts));
    fclose(m);
    CU_ASSERT(df_job_push(j, "transactions", part, i, buf, len, now, 0));
    free(buf);
}

static void test_idle_partition_stops_holding_windows_after_its_timeout(void)
{
    /* Partitions 0 and 1 assigned; only 0 has records.  Partition 1 holds
     * the watermark back (no window fires) until 10 s of processing time
     * have passed without a record on it; then the windows fire. */
    sink_t s = {0};
    df_host_t host = {.emit = count_windows, .opaque = &s};
    pipeline_params_t p;
    pipeline_params_init(&p);
    p.workers = 2;
    df_job_t *j = pipeline_job(pipelines_find("transactions"), &p, &host, false);
    df_job_assign(j, "transactions", (int32_t[]){0, 1}, 2, 0);
    for (int i = 0; i < 10; i++) /* 10:00:00 .. 10:01:30, every 10 s */
        push_at(j, 0, i, JAN15_1000 + i * 10000, 1000 + i * 100);
    df_job_tick(j, 5000);
    df_job_sync(j);
    CU_ASSERT_EQUAL(s.windows, 0);
    CU_ASSERT_EQUAL(df_job_watermark(j), DF_NO_TIME);
    df_job_tick(j, 10001); /* partition 1: 10.001 s since assignment, idle */
    df_job_sync(j);
    /* watermark = 10:01:30 - 5 s - 1 ms: windows ending by 10:01:00 fire */
    char ts[EVTIME_BUFSIZE];
    CU_ASSERT_STRING_EQUAL(evtime_format(df_job_watermark(j), ts), "2024-01-15T10:01:24.999000");
    CU_ASSERT_EQUAL(s.windows, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.last, "\"window_end\":\"2024-01-15T10:01:00.000000\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.last, "\"transaction_count\":3"));
    /* a record on partition 1 makes it live again: its old time holds the
     * watermark where it is (it never moves back) */
    push_at(j, 1, 10, JAN15_1000 + 30000, 10002);
    df_job_tick(j, 10003);
    df_job_sync(j);
    CU_ASSERT_STRING_EQUAL(evtime_format(df_job_watermark(j), ts), "2024-01-15T10:01:24.999000");
    df_job_finish(j);
    CU_ASSERT_EQUAL(s.windows, 4); /* [10:01:00, 10:01:30) and [10:01:30, 10:02:00) at the end */
    df_job_free(j);
}

/* One record on partition part with a Kafka timestamp ts_ms (the latency's start). */
static void push_ts(df_job_t *j, int32_t part, int i, int64_t event_ms, int64_t now, int64_t ts_ms)
{
    char buf[512], ts[EVTIME_BUFSIZE];
    int len = snprintf(buf, sizeof buf,
                       "{\"transaction_id\":\"m%d\",\"user_id\":\"user_2\",\"product\":\"book\","
                       "\"category\":\"books\",\"amount\":200.0,\"quantity\":1,"
                       "\"payment_method\":\"paypal\",\"timestamp\":\"%s\",\"location\":\"city_1\"}",
                       i, evtime_format(event_ms, ts));
    CU_ASSERT(df_job_push(j, "transactions", part, i, buf, (size_t)len, now, ts_ms));
}

static void test_metrics_readers_give_each_partitions_watermark_and_a_latency_histogram(void)
{
    /* What GET /metrics reads from a job on other threads: each input
     * partition's watermark (newest event time - 5 s - 1 ms), dropped once
     * the partition is no longer assigned; and the latency histogram, whose
     * buckets are cumulative and whose +Inf is the count. */
    sink_t s = {0};
    df_host_t host = {.emit = count_windows, .opaque = &s};
    pipeline_params_t p;
    pipeline_params_init(&p);
    p.workers = 2;
    df_job_t *j = pipeline_job(pipelines_find("transactions"), &p, &host, false);
    df_job_assign(j, "transactions", (int32_t[]){0, 1}, 2, 0);
    df_part_watermark_t w[8];
    CU_ASSERT_EQUAL(df_job_partition_watermarks(j, w, 8), 0); /* no record yet */
    int64_t wall = util_wall_ms();
    for (int i = 0; i < 10; i++) /* 10:00:00 .. 10:01:30 on partition 0, 100 s old */
        push_ts(j, 0, i, JAN15_1000 + i * 10000, 1000 + i * 100, wall - 100000);
    push_ts(j, 1, 10, JAN15_1000 + 30000, 2000, wall - 100000);
    df_job_tick(j, 2001);
    df_job_sync(j);
    size_t n = df_job_partition_watermarks(j, w, 8);
    CU_ASSERT_EQUAL(n, 2);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(w[i].topic, "transactions");
        CU_ASSERT_EQUAL(w[i].watermark_ms, JAN15_1000 + (w[i].partition == 0 ? 90000 : 30000) - 5001);
    }
    /* 11 processed transactions, each written to processed_transactions at once,
     * 100 s after their Kafka timestamp: all between 60 s and 300 s */
    const int64_t le[] = {1000, 60000000, 300000000};
    uint64_t cum[3], count;
    double sum_us;
    df_job_latency_hist(j, "processed_transactions", le, 3, cum, &count, &sum_us);
    CU_ASSERT_EQUAL(count, 11);
    CU_ASSERT_EQUAL(cum[0], 0);
    CU_ASSERT_EQUAL(cum[1], 0);
    CU_ASSERT_EQUAL(cum[2], 11);
    CU_ASSERT(sum_us >= 11 * 100e6 * 0.93 && sum_us <= 11 * 300e6);
    CU_ASSERT_EQUAL(df_job_latency_count(j, "processed_transactions"), count);
    /* partition 1 revoked: its watermark is no longer shown */
    df_job_assign(j, "transactions", (int32_t[]){0}, 1, 3000);
    df_job_tick(j, 3001);
    df_job_sync(j);
    CU_ASSERT_EQUAL(df_job_partition_watermarks(j, w, 8), 1);
    CU_ASSERT_EQUAL(w[0].partition, 0);
    df_job_free(j);
}

static void test_processing_time_fires_windows_on_the_clock_without_records(void)
{
    /* --time processing: event time is "now" at the source; a window fires
     * when the clock passes its end, with no record after it, and nothing
     * is ever late however old the timestamps are. */
    sink_t s = {0};
    df_host_t host = {.emit = count_windows, .opaque = &s};
    pipeline_params_t p;
    pipeline_params_init(&p);
    p.workers = 2;
    p.processing_time = true;
    df_job_t *j = pipeline_job(pipelines_find("transactions"), &p, &host, false);
    df_job_assign(j, "transactions", (int32_t[]){0}, 1, 0);
    int64_t t0 = JAN15_1000; /* processing times on the same scale, for reading */
    push_at(j, 0, 0, INT64_C(946684800000), t0 + 1000); /* a 2000 timestamp: not late */
    push_at(j, 0, 1, INT64_C(946684800000), t0 + 2000);
    df_job_tick(j, t0 + 29000);
    df_job_sync(j);
    CU_ASSERT_EQUAL(s.windows, 0);
    df_job_tick(j, t0 + 30000); /* watermark now - 1 = 10:00:29.999: [10:00:00, 10:00:30) */
    df_job_sync(j);
    CU_ASSERT_EQUAL(s.windows, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.last, "\"transaction_count\":2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.last, "\"window_start\":\"2024-01-15T10:00:00.000000\""));
    CU_ASSERT_EQUAL(df_job_late_count(j), 0);
    df_job_free(j);
}

/* --- state: drain, then load into a new job --------------------------------- */

typedef struct lines {
    char *buf;
    size_t len;
    FILE *f;
} lines_t;

static void to_lines(void *opaque, const char *topic, const char *key, size_t keylen,
                     char *payload, size_t len)
{
    (void)key, (void)keylen;
    lines_t *l = opaque;
    fprintf(l->f, "%s %.*s\n", topic, (int)len, payload);
    free(payload);
}

static void keep_state(void *opaque, const char *topic, int32_t partition, const char *op,
                       const char *key, const char *sub, json_t *value)
{
    (void)topic, (void)partition;
    json_t *all = opaque; /* "op\tkey\tsub" -> value (null: gone), the newest wins */
    char k[600];
    snprintf(k, sizeof k, "%s\t%s\t%s", op, key, sub);
    json_object_set_new(all, k, value ? json_deep_copy(value) : json_null());
}

static void feed(df_job_t *j, const char *path, int from, int to)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (int i = 0; (n = getline(&line, &cap, f)) > 0 && i < to; i++)
        if (i >= from)
            df_job_push(j, "transactions", 0, i, line, (size_t)n - 1, 0, 0);
    free(line);
    fclose(f);
}

static df_job_t *state_job(lines_t *out, pipeline_params_t *p)
{
    df_host_t host = {.emit = to_lines, .opaque = out};
    df_job_t *j = pipeline_job(pipelines_find("transactions"), p, &host, true);
    df_job_track_state(j, true);
    df_job_assign(j, "transactions", (int32_t[]){0}, 1, 0);
    return j;
}

/* Reorders the lines topic by topic, keeping each topic's order. */
static void by_topic(lines_t *l)
{
    char *out = malloc(l->len + 1);
    size_t n = 0;
    for (size_t t = 0; t < sizeof topics / sizeof *topics; t++) {
        size_t tl = strlen(topics[t]);
        for (char *s = l->buf; s < l->buf + l->len;) {
            char *e = memchr(s, '\n', (size_t)(l->buf + l->len - s));
            size_t len = e ? (size_t)(e - s) + 1 : (size_t)(l->buf + l->len - s);
            if (len > tl && !memcmp(s, topics[t], tl) && s[tl] == ' ') {
                memcpy(out + n, s, len);
                n += len;
            }
            s += len;
        }
    }
    CU_ASSERT_EQUAL(n, l->len); /* every line is of a known topic */
    free(l->buf);
    l->buf = out;
    l->len = n;
}

static void test_state_drained_and_loaded_into_a_new_job_continues_the_same_results(void)
{
    /* One job reads all 20,000 records.  Another reads the first 7,000, its
     * state is drained (as a changelog would keep it: the newest per key,
     * tombstones dropping keys), and a third job, started from that state on
     * 3 workers, reads the rest: together they write exactly what the first
     * wrote, byte for byte, user totals and windows included. */
    char in[128];
    snprintf(in, sizeof in, "%s/state.jsonl", dir);
    write_mixed(in, 20000);
    pipeline_params_t p;
    pipeline_params_init(&p);
    p.allowed_lateness_ms = 3000;
    p.workers = 2;
    lines_t whole = {0}, split = {0};
    whole.f = open_memstream(&whole.buf, &whole.len);
    split.f = open_memstream(&split.buf, &split.len);

    df_job_t *a = state_job(&whole, &p);
    feed(a, in, 0, 20000);
    df_job_finish(a);
    df_job_free(a);

    json_t *state = json_object();
    df_job_t *b1 = state_job(&split, &p);
    feed(b1, in, 0, 7000);
    df_job_sync(b1);
    df_job_state_drain(b1, keep_state, state);
    df_job_free(b1);
    CU_ASSERT(json_object_size(state) > 200); /* 200 users, open windows, the clock */

    p.workers = 3;
    df_job_t *b2 = state_job(&split, &p);
    const char *k;
    json_t *v;
    int loaded = 0;
    json_object_foreach(state, k, v)
    {
        if (json_is_null(v))
            continue;
        /* "op\tkey\tsub", sub possibly empty */
        char op[200], key[200];
        CU_ASSERT_EQUAL(sscanf(k, "%199[^\t]\t%199[^\t]", op, key), 2);
        const char *sub = strchr(strchr(k, '\t') + 1, '\t') + 1;
        CU_ASSERT_EQUAL(df_job_state_load(b2, -1, op, key, sub, v), 0);
        loaded++;
    }
    CU_ASSERT(loaded > 200);
    feed(b2, in, 7000, 20000);
    df_job_finish(b2);
    df_job_free(b2);
    json_decref(state);

    fclose(whole.f);
    fclose(split.f);
    /* Kafka keeps order per topic (and the job per topic and key): compare
     * each topic's lines in order */
    by_topic(&whole);
    by_topic(&split);
    CU_ASSERT(whole.len > 1000000);
    CU_ASSERT_EQUAL(whole.len, split.len);
    CU_ASSERT(whole.len == split.len && !memcmp(whole.buf, split.buf, whole.len));
    if (whole.len != split.len || memcmp(whole.buf, split.buf, whole.len)) {
        size_t i = 0;
        while (i < whole.len && i < split.len && whole.buf[i] == split.buf[i])
            i++;
        fprintf(stderr, "\n  first difference at byte %zu: ...%.150s\n  vs ...%.150s\n", i,
                whole.buf + (i > 20 ? i - 20 : 0), split.buf + (i > 20 ? i - 20 : 0));
    }
    free(whole.buf);
    free(split.buf);
}

typedef struct owners {
    int pieces, wrong, users; /* reduce pieces, those not owned by their user's partition */
} owners_t;

static int user_partition(const char *line)
{
    const char *u = strstr(line, "\"user_id\":\"user_");
    return u ? atoi(u + 16) % 3 : 0;
}

static void check_owner(void *opaque, const char *topic, int32_t partition, const char *op,
                        const char *key, const char *sub, json_t *value)
{
    (void)sub;
    owners_t *o = opaque;
    if (!value)
        return;
    o->pieces++;
    if (!strcmp(op, "reduce:user_totals")) {
        o->users++;
        if (!topic || strcmp(topic, "transactions") || partition != atoi(key + 5) % 3)
            o->wrong++;
    } else if (!strncmp(op, "source:", 7)) {
        if (partition != atoi(key))
            o->wrong++;
    }
}

static void test_state_pieces_name_the_input_partition_that_owns_them_and_clear_forgets_them(void)
{
    /* Users are spread over 3 partitions by their number (as a producer keyed by
     * user would): every user's total names that partition as its owner, so that
     * whoever is assigned it restores it; after df_job_state_clear (a revocation)
     * nothing keyed is left. */
    char in[128];
    snprintf(in, sizeof in, "%s/owners.jsonl", dir);
    write_mixed(in, 3000);
    pipeline_params_t p;
    pipeline_params_init(&p);
    p.workers = 2;
    lines_t out = {0};
    out.f = open_memstream(&out.buf, &out.len);
    df_job_t *j = state_job(&out, &p);
    df_job_assign(j, "transactions", (int32_t[]){0, 1, 2}, 3, 0);
    FILE *f = fopen(in, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (int i = 0; (n = getline(&line, &cap, f)) > 0; i++)
        df_job_push(j, "transactions", user_partition(line), i, line, (size_t)n - 1, 0, 0);
    free(line);
    fclose(f);
    owners_t o = {0};
    df_job_state_drain(j, check_owner, &o);
    CU_ASSERT(o.users > 100);
    CU_ASSERT_EQUAL(o.wrong, 0);
    df_job_state_clear(j);
    df_job_push(j, "transactions", 0, 5000, "{}", 2, 0, 0); /* a dead letter: no state */
    owners_t after = {0};
    df_job_state_drain(j, check_owner, &after);
    CU_ASSERT_EQUAL(after.users, 0);
    df_job_free(j);
    fclose(out.f);
    free(out.buf);
}

static CU_TestInfo tests[] = {
    {"test_workers_1_to_4_give_byte_identical_outputs_tumbling",
     test_workers_1_to_4_give_byte_identical_outputs_tumbling},
    {"test_workers_1_to_4_give_byte_identical_outputs_sliding_with_lateness",
     test_workers_1_to_4_give_byte_identical_outputs_sliding_with_lateness},
    {"test_workers_1_to_4_give_byte_identical_outputs_sessions",
     test_workers_1_to_4_give_byte_identical_outputs_sessions},
    {"test_records_shuffled_within_the_bound_give_identical_window_results",
     test_records_shuffled_within_the_bound_give_identical_window_results},
    {"test_idle_partition_stops_holding_windows_after_its_timeout",
     test_idle_partition_stops_holding_windows_after_its_timeout},
    {"test_metrics_readers_give_each_partitions_watermark_and_a_latency_histogram",
     test_metrics_readers_give_each_partitions_watermark_and_a_latency_histogram},
    {"test_processing_time_fires_windows_on_the_clock_without_records",
     test_processing_time_fires_windows_on_the_clock_without_records},
    {"test_state_drained_and_loaded_into_a_new_job_continues_the_same_results",
     test_state_drained_and_loaded_into_a_new_job_continues_the_same_results},
    {"test_state_pieces_name_the_input_partition_that_owns_them_and_clear_forgets_them",
     test_state_pieces_name_the_input_partition_that_owns_them_and_clear_forgets_them},
    CU_TEST_INFO_NULL,
};

static int cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

TESTLIB_MAIN("job", tests, setup, cleanup)
