/* test_dataflow.c — the dataflow runtime (engine/dataflow.c) through small
 * graphs built here, and the real transaction pipeline
 * (engine/pipelines/transactions.c) built by pipeline_transactions().
 *
 * A fake df_host_t collects every (topic, key, payload) the sinks emit, in
 * order, so the tests read exactly what would go to Kafka.  Time never comes
 * from a clock: event times are in the records and "now" (processing time,
 * used for idleness) is passed to push/tick/assign by the test.
 *
 * Money is checked in cents worked out by hand:  amount * 100 * factor,
 * rounded half away from zero (electronics 0.95, books 0.90, clothing 0.92,
 * home 1.0).  Event times are on 2024-01-15, whose 00:00 is 1705276800000 ms. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/dataflow.h"
#include "engine/dataflow_exec.h"
#include "engine/evtime.h"
#include "engine/pipelines/pipelines.h"
#include "testlib.h"

#define JAN15_MS INT64_C(1705276800000)
/* 2024-01-15 hh:mm:ss.mmm in wall-clock ms */
#define AT(h, m, s, ms)                                                                            \
    (JAN15_MS + (h) * INT64_C(3600000) + (m) * INT64_C(60000) + (s) * INT64_C(1000) + (ms))

/* --- the fake host ---------------------------------------------------------- */

typedef struct msg {
    char *topic;
    char *key; /* NULL when the sink gave no key */
    size_t keylen;
    char *payload;
    size_t len;
    json_t *json; /* payload parsed, or NULL if it is not JSON */
} msg_t;

typedef struct collector {
    msg_t *m;
    size_t n;
} collector_t;

static collector_t out;

static void host_emit(void *opaque, const char *topic, const char *key, size_t keylen,
                      char *payload, size_t len)
{
    collector_t *c = opaque;
    c->m = realloc(c->m, (c->n + 1) * sizeof *c->m);
    msg_t *m = &c->m[c->n++];
    m->topic = strdup(topic);
    m->key = key ? strndup(key, keylen) : NULL;
    m->keylen = keylen;
    m->payload = payload; /* ours now */
    m->len = len;
    m->json = json_loadb(payload, len, 0, NULL);
}

static void collector_clear(collector_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->m[i].topic);
        free(c->m[i].key);
        free(c->m[i].payload);
        json_decref(c->m[i].json);
    }
    free(c->m);
    c->m = NULL;
    c->n = 0;
}

static const df_host_t host = {.emit = host_emit, .opaque = &out};

/* The graph under test.  Every test starts from nothing (a test stopped by a
 * FATAL assertion leaves its graph and messages behind: they are dropped here,
 * so one failure does not spill into the next test's counts). */
static df_graph_t *cur;

static void done(void)
{
    df_graph_free(cur);
    cur = NULL;
    collector_clear(&out);
}

static df_graph_t *small_graph(void)
{
    done();
    return cur = df_graph_new("small", &host);
}

static int suite_cleanup(void)
{
    done();
    return 0;
}

static size_t count(const char *topic)
{
    size_t k = 0;
    for (size_t i = 0; i < out.n; i++)
        k += !strcmp(out.m[i].topic, topic);
    return k;
}

/* The i-th message sent to topic, or NULL. */
static const msg_t *nth(const char *topic, size_t i)
{
    for (size_t j = 0; j < out.n; j++)
        if (!strcmp(out.m[j].topic, topic) && i-- == 0)
            return &out.m[j];
    return NULL;
}

/* The i-th message's value; fails the test (and stops it) if there is none. */
static const json_t *nth_json(const char *topic, size_t i)
{
    const msg_t *m = nth(topic, i);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->json);
    return m->json;
}

static const char *str(const json_t *v, const char *field)
{
    return json_string_value(json_object_get(v, field));
}

static bool str_is(const json_t *v, const char *field, const char *want)
{
    const char *s = str(v, field);
    bool ok = s && !strcmp(s, want);
    if (!ok)
        fprintf(stderr, "\n  %s: got \"%s\", want \"%s\"\n", field, s ? s : "(none)", want);
    return ok;
}

static json_int_t integer(const json_t *v, const char *field)
{
    return json_integer_value(json_object_get(v, field));
}

/* A money field holds exactly `cents` / 100 (what a consumer parses). */
static bool money_is(const json_t *v, const char *field, int64_t cents)
{
    json_t *f = json_object_get(v, field);
    double d = json_number_value(f);
    bool ok = json_is_number(f) && d == (double)cents / 100.0;
    if (!ok)
        fprintf(stderr, "\n  %s: got %.10g, want %lld cents\n", field, d, (long long)cents);
    return ok;
}

/* A timestamp field, parsed back into wall-clock ms (or -1 if unparseable). */
static int64_t time_of(const json_t *v, const char *field)
{
    const char *s = str(v, field);
    int64_t ms;
    if (!s || evtime_parse(s, strlen(s), &ms) < 0)
        return -1;
    return ms;
}

/* The message's payload contains the bytes of needle. */
static bool payload_has(const msg_t *m, const char *needle)
{
    bool ok = m && memmem(m->payload, m->len, needle, strlen(needle));
    if (!ok)
        fprintf(stderr, "\n  payload %.*s lacks %s\n", m ? (int)m->len : 0, m ? m->payload : "",
                needle);
    return ok;
}

static bool key_is(const msg_t *m, const char *want)
{
    return m && m->key && m->keylen == strlen(want) && !memcmp(m->key, want, m->keylen);
}

/* --- a small generic graph ------------------------------------------------ */
/* Records are {"k": "<string>", "v": <int>, "t": <ms, optional>, "g": <opt>}. */

static int small_parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
                       size_t errsize, void *ctx)
{
    (void)ctx;
    json_t *v = json_loadb(buf, len, 0, NULL);
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "k"))) {
        snprintf(err, errsize, "bad small record");
        json_decref(v);
        return -1;
    }
    json_t *t = json_object_get(v, "t");
    *event_ms = json_is_integer(t) ? json_integer_value(t) : DF_NO_TIME;
    *value = v;
    return 0;
}

static bool even_v(const json_t *v, void *ctx)
{
    (void)ctx;
    return integer(v, "v") % 2 == 0;
}

static bool positive_v(const json_t *v, void *ctx)
{
    (void)ctx;
    return integer(v, "v") > 0;
}

static json_t *times_ten(json_t *in, void *ctx)
{
    (void)ctx;
    in = df_writable(in);
    json_object_set_new(in, "v10", json_integer(integer(in, "v") * 10));
    return in;
}

/* Drops records with v == 0 (a map may return NULL). */
static json_t *drop_zero(json_t *in, void *ctx)
{
    (void)ctx;
    if (integer(in, "v") == 0) {
        json_decref(in);
        return NULL;
    }
    return in;
}

/* Marks the value with field ctx = true (copy on write). */
static json_t *mark(json_t *in, void *ctx)
{
    in = df_writable(in);
    json_object_set_new(in, (const char *)ctx, json_true());
    return in;
}

static json_t *field_key(const json_t *v, void *ctx)
{
    json_t *k = json_object_get(v, (const char *)ctx);
    return json_is_string(k) ? k : NULL;
}

/* Sum of v per key. */
static json_t *sum_create(const df_record_t *first, void *ctx)
{
    (void)first, (void)ctx;
    return json_integer(0);
}

static void sum_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    json_integer_set(acc, json_integer_value(acc) + integer(r->value, "v"));
}

static json_t *sum_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)ctx;
    return json_pack("{sOsIsIsI}", "k", key, "sum", json_integer_value(acc), "start",
                     (json_int_t)start, "end", (json_int_t)end);
}

static void sum_merge(json_t *into, const json_t *from, void *ctx)
{
    (void)ctx;
    json_integer_set(into, json_integer_value(into) + json_integer_value(from));
}

static const df_agg_t sum_agg = {
    .create = sum_create, .add = sum_add, .result = sum_result, .merge = sum_merge};

static int64_t small_offset;

static bool push_small(df_graph_t *g, int32_t part, const char *json, int64_t now)
{
    return df_graph_push(g, "in", part, small_offset++, json, strlen(json), now);
}

static void test_filter_and_map_run_in_order_and_sink_writes_compact_json(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *s = df_source(g, "in", "in.dlq", small_parse, NULL);
    df_stream_t *even = df_filter(s, "filter:even", even_v, NULL);
    df_sink_topic(df_map(even, "map:x10", times_ten, NULL), "out", "k");

    CU_ASSERT(push_small(g, 0, "{\"k\":\"a\",\"v\":1}", 0));
    CU_ASSERT(push_small(g, 0, "{\"k\":\"b\", \"v\" : 2}", 0));
    CU_ASSERT(push_small(g, 0, "{\"k\":\"c\",\"v\":4}", 0));
    CU_ASSERT(push_small(g, 0, "{\"k\":\"d\",\"v\":7}", 0));

    CU_ASSERT_EQUAL_FATAL(count("out"), 2);
    const json_t *b = nth_json("out", 0), *c = nth_json("out", 1);
    CU_ASSERT(key_is(nth("out", 0), "b"));
    CU_ASSERT(key_is(nth("out", 1), "c"));
    CU_ASSERT_EQUAL(integer(b, "v10"), 20);
    CU_ASSERT_EQUAL(integer(c, "v10"), 40);
    /* Compact JSON, fields in insertion order, no whitespace even though the
     * input had some. */
    static const char want[] = "{\"k\":\"b\",\"v\":2,\"v10\":20}";
    const msg_t *m = nth("out", 0);
    CU_ASSERT_EQUAL(m->len, strlen(want));
    CU_ASSERT(m->len == strlen(want) && !memcmp(m->payload, want, m->len));
    CU_ASSERT_EQUAL(out.n, 2); /* nothing else was written */
    done();
}

static void test_map_returning_null_drops_the_record(void)
{
    df_graph_t *g = small_graph();
    df_sink_topic(df_map(df_source(g, "in", "in.dlq", small_parse, NULL), "map:drop0", drop_zero,
                         NULL),
                  "out", "k");
    push_small(g, 0, "{\"k\":\"a\",\"v\":0}", 0);
    push_small(g, 0, "{\"k\":\"b\",\"v\":5}", 0);
    CU_ASSERT_EQUAL_FATAL(count("out"), 1);
    CU_ASSERT(key_is(nth("out", 0), "b"));
    done();
}

static void test_each_branch_changes_only_its_own_copy_of_a_shared_value(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *s = df_source(g, "in", "in.dlq", small_parse, NULL);
    df_sink_topic(df_map(s, "map:a", mark, "a"), "A", "k");
    df_sink_topic(df_map(s, "map:b", mark, "b"), "B", "k");
    df_sink_topic(s, "raw", "k");

    push_small(g, 0, "{\"k\":\"x\",\"v\":1}", 0);

    const json_t *a = nth_json("A", 0), *b = nth_json("B", 0), *raw = nth_json("raw", 0);
    CU_ASSERT(json_is_true(json_object_get(a, "a")));
    CU_ASSERT_PTR_NULL(json_object_get(a, "b"));
    CU_ASSERT(json_is_true(json_object_get(b, "b")));
    CU_ASSERT_PTR_NULL(json_object_get(b, "a"));
    CU_ASSERT_PTR_NULL(json_object_get(raw, "a"));
    CU_ASSERT_PTR_NULL(json_object_get(raw, "b"));
    CU_ASSERT_EQUAL(json_object_size(raw), 2);
    done();
}

static void test_branch_after_a_sink_changes_a_copy_and_sinks_see_fresh_bytes(void)
{
    /* Branch b changes a copy and writes it twice; then the untouched value
     * is written; then the last branch, a, owns the value and may change it
     * in place right after that sink wrote it.  Every sink must write the
     * value as it is when it reaches that sink. */
    df_graph_t *g = small_graph();
    df_stream_t *s = df_source(g, "in", "in.dlq", small_parse, NULL);
    df_stream_t *b = df_map(s, "map:b", mark, "b");
    df_sink_topic(b, "B1", "k");
    df_sink_topic(b, "B2", "k");
    df_sink_topic(s, "raw", "k");
    df_sink_topic(df_map(s, "map:a", mark, "a"), "A", "k");

    for (int i = 0; i < 2; i++) {
        char rec[64];
        snprintf(rec, sizeof rec, "{\"k\":\"x%d\",\"v\":%d}", i, i);
        push_small(g, 0, rec, 0);
    }
    static const char *const topics[] = {"B1", "B2", "raw", "A"};
    static const char *const want[][4] = {
        {"{\"k\":\"x0\",\"v\":0,\"b\":true}", "{\"k\":\"x0\",\"v\":0,\"b\":true}",
         "{\"k\":\"x0\",\"v\":0}", "{\"k\":\"x0\",\"v\":0,\"a\":true}"},
        {"{\"k\":\"x1\",\"v\":1,\"b\":true}", "{\"k\":\"x1\",\"v\":1,\"b\":true}",
         "{\"k\":\"x1\",\"v\":1}", "{\"k\":\"x1\",\"v\":1,\"a\":true}"},
    };
    for (size_t i = 0; i < 2; i++)
        for (size_t t = 0; t < 4; t++) {
            const msg_t *m = nth(topics[t], i);
            CU_ASSERT_PTR_NOT_NULL_FATAL(m);
            bool same = m->len == strlen(want[i][t]) && !memcmp(m->payload, want[i][t], m->len);
            CU_ASSERT(same);
            if (!same)
                fprintf(stderr, "\n  %s #%zu: got %.*s, want %s\n", topics[t], i, (int)m->len,
                        m->payload, want[i][t]);
        }
    CU_ASSERT_EQUAL(out.n, 8);
    done();
}

static void test_key_by_sets_record_key_and_drops_records_without_one(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *s = df_source(g, "in", "in.dlq", small_parse, NULL);
    /* key_field NULL: the sink keys each message by the record's key. */
    df_sink_topic(df_key_by(s, "key_by:g", field_key, "g"), "keyed", NULL);
    push_small(g, 0, "{\"k\":\"a\",\"v\":1,\"g\":\"red\"}", 0);
    push_small(g, 0, "{\"k\":\"b\",\"v\":2}", 0);
    push_small(g, 0, "{\"k\":\"c\",\"v\":3,\"g\":\"blue\"}", 0);
    CU_ASSERT_EQUAL_FATAL(count("keyed"), 2);
    CU_ASSERT(key_is(nth("keyed", 0), "red"));
    CU_ASSERT(key_is(nth("keyed", 1), "blue"));
    CU_ASSERT(str_is(nth_json("keyed", 1), "k", "c"));
    done();
}

static void test_reduce_emits_running_result_per_key_after_every_record(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *k = df_key_by(df_source(g, "in", "in.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_sink_topic(df_reduce(k, "reduce:sum", &sum_agg, NULL), "sums", NULL);
    static const char *const in[] = {
        "{\"k\":\"a\",\"v\":1}", "{\"k\":\"b\",\"v\":10}", "{\"k\":\"a\",\"v\":2}",
        "{\"k\":\"a\",\"v\":3}", "{\"k\":\"b\",\"v\":5}",
    };
    for (size_t i = 0; i < 5; i++)
        push_small(g, 0, in[i], 0);
    /* a: 1, 3, 6; b: 10, 15 — in input order. */
    static const struct {
        const char *key;
        json_int_t sum;
    } want[] = {{"a", 1}, {"b", 10}, {"a", 3}, {"a", 6}, {"b", 15}};
    CU_ASSERT_EQUAL_FATAL(count("sums"), 5);
    for (size_t i = 0; i < 5; i++) {
        const json_t *v = nth_json("sums", i);
        CU_ASSERT(key_is(nth("sums", i), want[i].key));
        CU_ASSERT(str_is(v, "k", want[i].key));
        CU_ASSERT_EQUAL(integer(v, "sum"), want[i].sum);
        /* a reduce has no window: both bounds are DF_NO_TIME */
        CU_ASSERT_EQUAL(integer(v, "start"), DF_NO_TIME);
        CU_ASSERT_EQUAL(integer(v, "end"), DF_NO_TIME);
    }
    done();
}

static void test_reduce_forgets_a_key_after_its_state_ttl(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *k = df_key_by(df_source(g, "in", "in.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_stream_t *r = df_reduce(k, "reduce:sum", &sum_agg, NULL);
    df_reduce_set_ttl(r, 1000);
    df_sink_topic(r, "sums", NULL);
    push_small(g, 0, "{\"k\":\"a\",\"v\":1}", 0);
    push_small(g, 0, "{\"k\":\"b\",\"v\":10}", 900);
    df_graph_tick(g, 1000); /* a: 1000 ms since its update, not more: kept */
    push_small(g, 0, "{\"k\":\"a\",\"v\":2}", 1000);
    df_graph_tick(g, 2001); /* a: 1001 ms, b: 1101 ms: both forgotten */
    push_small(g, 0, "{\"k\":\"a\",\"v\":5}", 2001);
    push_small(g, 0, "{\"k\":\"b\",\"v\":7}", 2001);
    /* a: 1, 3 (kept), then 5 (new state); b: 10, then 7 (new state). */
    static const json_int_t want[] = {1, 10, 3, 5, 7};
    CU_ASSERT_EQUAL_FATAL(count("sums"), 5);
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(integer(nth_json("sums", i), "sum"), want[i]);
    done();
}

static void test_reduce_without_ttl_keeps_keys_forever(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *k = df_key_by(df_source(g, "in", "in.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_sink_topic(df_reduce(k, "reduce:sum", &sum_agg, NULL), "sums", NULL);
    push_small(g, 0, "{\"k\":\"a\",\"v\":1}", 0);
    df_graph_tick(g, INT64_C(1) << 40);
    push_small(g, 0, "{\"k\":\"a\",\"v\":2}", INT64_C(1) << 40);
    CU_ASSERT_EQUAL_FATAL(count("sums"), 2);
    CU_ASSERT_EQUAL(integer(nth_json("sums", 1), "sum"), 3);
    done();
}

/* Sum of v per key kept in the output record itself, changed in place and
 * returned as a new reference (as the user totals do). */
static json_t *acc_create(const df_record_t *first, void *ctx)
{
    (void)ctx;
    return json_pack("{sOsI}", "k", first->key, "sum", (json_int_t)0);
}

static void acc_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    json_integer_set(json_object_get(acc, "sum"), integer(acc, "sum") + integer(r->value, "v"));
}

static json_t *acc_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)key, (void)start, (void)end, (void)ctx;
    return json_incref(acc);
}

static const df_agg_t acc_agg = {.create = acc_create, .add = acc_add, .result = acc_result};

static void test_reduce_whose_result_is_its_accumulator_writes_each_new_state(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *k = df_key_by(df_source(g, "in", "in.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_sink_topic(df_reduce(k, "reduce:acc", &acc_agg, NULL), "sums", NULL);
    push_small(g, 0, "{\"k\":\"a\",\"v\":1}", 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":2}", 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":3}", 0);
    push_small(g, 0, "[]", 0); /* a dead letter in between */
    push_small(g, 0, "{\"k\":\"a\",\"v\":4}", 0);
    static const char *const want[] = {"{\"k\":\"a\",\"sum\":1}", "{\"k\":\"a\",\"sum\":3}",
                                       "{\"k\":\"a\",\"sum\":6}", "{\"k\":\"a\",\"sum\":10}"};
    CU_ASSERT_EQUAL_FATAL(count("sums"), 4);
    for (size_t i = 0; i < 4; i++) {
        const msg_t *m = nth("sums", i);
        bool same = m->len == strlen(want[i]) && !memcmp(m->payload, want[i], m->len);
        CU_ASSERT(same);
        if (!same)
            fprintf(stderr, "\n  sums #%zu: got %.*s, want %s\n", i, (int)m->len, m->payload,
                    want[i]);
    }
    done();
}

static void test_window_aligns_to_epoch_including_negative_times(void)
{
    df_graph_t *g = small_graph();
    df_graph_set_time(g, 0, 10000);
    df_stream_t *k = df_key_by(df_source(g, "in", "in.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_sink_topic(df_window_tumbling(k, "window:10", 10, &sum_agg, NULL), "w", NULL);
    /* size 10: t=-11 -> [-20,-10); t=-10, -1 -> [-10,0); t=0, 9 -> [0,10) */
    push_small(g, 0, "{\"k\":\"a\",\"v\":1,\"t\":-1}", 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":2,\"t\":-10}", 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":4,\"t\":-11}", 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":8,\"t\":0}", 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":16,\"t\":9}", 0);
    /* a record without event time cannot be windowed */
    push_small(g, 0, "{\"k\":\"a\",\"v\":1000}", 0);
    CU_ASSERT_EQUAL(count("w"), 0);
    df_graph_finish(g);
    CU_ASSERT_EQUAL_FATAL(count("w"), 3);
    static const json_int_t want[][3] = {{-20, -10, 4}, {-10, 0, 3}, {0, 10, 24}};
    for (size_t i = 0; i < 3; i++) {
        const json_t *v = nth_json("w", i);
        CU_ASSERT_EQUAL(integer(v, "start"), want[i][0]);
        CU_ASSERT_EQUAL(integer(v, "end"), want[i][1]);
        CU_ASSERT_EQUAL(integer(v, "sum"), want[i][2]);
        CU_ASSERT(key_is(nth("w", i), "a"));
    }
    done();
}

static void test_live_partition_without_data_on_one_source_holds_every_window(void)
{
    df_graph_t *g = small_graph();
    df_graph_set_time(g, 0, 10000); /* watermark = max event - 1 ms */
    df_source(g, "in", "in.dlq", small_parse, NULL);
    df_stream_t *k = df_key_by(df_source(g, "in2", "in2.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_sink_topic(df_window_tumbling(k, "window:10", 10, &sum_agg, NULL), "w", NULL);
    const int32_t p0[] = {0};
    df_graph_assign(g, "in", p0, 1, 0); /* "in" owns partition 0, still empty */
    const char *r1 = "{\"k\":\"a\",\"v\":1,\"t\":5}", *r2 = "{\"k\":\"a\",\"v\":2,\"t\":50}";
    df_graph_push(g, "in2", 0, 0, r1, strlen(r1), 1);
    df_graph_push(g, "in2", 0, 1, r2, strlen(r2), 1);
    df_graph_tick(g, 1);
    /* in2 alone would say 49 and fire [0,10); "in" has said nothing yet */
    CU_ASSERT_EQUAL(df_graph_watermark(g), DF_NO_TIME);
    CU_ASSERT_EQUAL(count("w"), 0);

    const char *r3 = "{\"k\":\"b\",\"v\":7,\"t\":30}";
    df_graph_push(g, "in", 0, 0, r3, strlen(r3), 2);
    df_graph_tick(g, 2);
    /* min(in: 30 - 1, in2: 50 - 1) */
    CU_ASSERT_EQUAL(df_graph_watermark(g), 29);
    CU_ASSERT_EQUAL_FATAL(count("w"), 1);
    const json_t *v = nth_json("w", 0);
    CU_ASSERT_EQUAL(integer(v, "start"), 0);
    CU_ASSERT_EQUAL(integer(v, "sum"), 1);
    done();
}

static const df_op_metrics_t *metric(const df_op_metrics_t *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].name, name))
            return &m[i];
    CU_FAIL("operator not in metrics");
    fprintf(stderr, "\n  no metrics for %s\n", name);
    return NULL;
}

static void test_graph_metrics_count_records_in_and_out_per_operator(void)
{
    df_graph_t *g = small_graph();
    df_graph_set_time(g, 0, 10000); /* watermark = max event - 1 ms */
    df_stream_t *s = df_source(g, "in", "in.dlq", small_parse, NULL);
    df_stream_t *pos = df_filter(s, "filter:pos", positive_v, NULL);
    df_stream_t *k = df_key_by(pos, "key_by:k", field_key, "k");
    df_stream_t *w = df_window_tumbling(k, "window:w", 10, &sum_agg, NULL);
    df_sink_topic(w, "w", NULL);
    df_sink_topic(df_window_late(w), "late", "k");

    push_small(g, 0, "{\"k\":\"a\",\"v\":1,\"t\":5}", 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":-1,\"t\":6}", 0); /* filtered */
    push_small(g, 0, "{\"k\":\"b\",\"v\":2,\"t\":7}", 0);
    push_small(g, 0, "[]", 0);                            /* dead letter */
    df_graph_tick(g, 0);                                  /* wm 6: [0,10) stays open */
    CU_ASSERT_EQUAL(count("w"), 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":3,\"t\":20}", 0);
    df_graph_tick(g, 0); /* wm 19: [0,10) fires a=1, b=2 */
    push_small(g, 0, "{\"k\":\"a\",\"v\":4,\"t\":8}", 0); /* late for [0,10) */

    df_op_metrics_t m[16];
    size_t n = df_graph_metrics(g, m, 16);
    CU_ASSERT_EQUAL_FATAL(n, 7); /* source, filter, key_by, window, sink, late, late sink */
    const df_op_metrics_t *src = metric(m, n, "source:in"), *f = metric(m, n, "filter:pos"),
                          *kb = metric(m, n, "key_by:k"), *win = metric(m, n, "window:w"),
                          *sw = metric(m, n, "sink:w"), *sl = metric(m, n, "sink:late");
    if (!src || !f || !kb || !win || !sw || !sl)
        goto cleanup;
    CU_ASSERT_EQUAL(src->in, 6);
    CU_ASSERT_EQUAL(src->out, 5);
    CU_ASSERT_EQUAL(src->dlq, 1);
    CU_ASSERT_EQUAL(f->in, 5);
    CU_ASSERT_EQUAL(f->out, 4);
    CU_ASSERT_EQUAL(kb->in, 4);
    CU_ASSERT_EQUAL(kb->out, 4);
    CU_ASSERT_EQUAL(win->in, 4);
    CU_ASSERT_EQUAL(win->out, 2); /* a and b of [0,10) */
    CU_ASSERT_EQUAL(win->late, 1);
    CU_ASSERT_EQUAL(win->watermark_ms, 19);
    CU_ASSERT_EQUAL(sw->in, 2);
    CU_ASSERT_EQUAL(sw->out, 2);
    CU_ASSERT_EQUAL(sl->in, 1);
    CU_ASSERT_EQUAL(sl->out, 1);
    /* the late side output is an operator of its own */
    const df_op_metrics_t *lo = NULL;
    for (size_t i = 0; i < n; i++)
        if (m[i].name != win->name && !strncmp(m[i].name, "window:w", 8))
            lo = &m[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(lo);
    CU_ASSERT_EQUAL(lo->in, 1);
    CU_ASSERT_EQUAL(lo->out, 1);
    CU_ASSERT_EQUAL(df_graph_dlq_count(g), 1);
    CU_ASSERT_EQUAL(df_graph_late_count(g), 1);
    CU_ASSERT_EQUAL(count("w"), 2);
    CU_ASSERT_EQUAL(count("late"), 1);
    CU_ASSERT_EQUAL(count("in.dlq"), 1);

    /* A short buffer gets the first operators; the total is still returned. */
    df_op_metrics_t two[2];
    CU_ASSERT_EQUAL(df_graph_metrics(g, two, 2), 7);
    CU_ASSERT_STRING_EQUAL(two[0].name, "source:in");
cleanup:
    done();
}

/* A process function that gathers "v" per key until it reaches 10, then
 * emits {"k", "total", "parts"}; a key idle for more than 100 ms of
 * processing time (its state notes when it last saw a record) goes to the
 * side output with what it had. */
typedef struct gather {
    json_int_t total, parts;
    int64_t seen_ms;
} gather_t;

static int64_t gather_now;

static void gather_record(df_process_out_t *o, const df_record_t *r, void **state, void *ctx)
{
    (void)ctx;
    gather_t *s = *state;
    if (!s)
        *state = s = calloc(1, sizeof *s);
    s->total += integer(r->value, "v");
    s->parts++;
    s->seen_ms = gather_now;
    if (s->total >= 10) {
        df_process_emit(o, json_pack("{sOsIsI}", "k", r->key, "total", s->total, "parts", s->parts));
        free(s);
        *state = NULL;
    }
}

static void gather_timer(df_process_out_t *o, const char *key, void **state, int64_t now_ms,
                         void *ctx)
{
    (void)ctx;
    gather_t *s = *state;
    if (now_ms - s->seen_ms <= 100)
        return;
    df_process_emit_side(o, json_pack("{sssIss}", "k", key, "total", s->total, "error", "timed out"));
    free(s);
    *state = NULL;
}

static void gather_free(void *state, void *ctx)
{
    (void)ctx;
    free(state);
}

static const df_process_fn_t gather_fn = {
    .on_record = gather_record, .on_timer = gather_timer, .free_state = gather_free};

static void test_process_keeps_state_per_key_emits_when_done_and_expires_on_timer(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *k = df_key_by(df_source(g, "in", "in.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_stream_t *p = df_process(k, "process:gather", &gather_fn, NULL);
    df_sink_topic(p, "done", NULL);
    df_sink_topic(df_process_side(p), "gather.dlq", "k");
    CU_ASSERT(df_graph_is_side_output(g, "gather.dlq"));
    CU_ASSERT(!df_graph_is_side_output(g, "done"));
    gather_now = 0;
    push_small(g, 0, "{\"k\":\"a\",\"v\":4}", 0);
    push_small(g, 0, "{\"k\":\"b\",\"v\":3}", 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":5}", 0);
    CU_ASSERT_EQUAL(df_process_keys(p), 2);
    CU_ASSERT_EQUAL(count("done"), 0);
    push_small(g, 0, "{\"k\":\"a\",\"v\":1}", 0); /* a reaches 10 in 3 parts */
    CU_ASSERT_EQUAL_FATAL(count("done"), 1);
    CU_ASSERT(key_is(nth("done", 0), "a"));
    CU_ASSERT_EQUAL(integer(nth_json("done", 0), "total"), 10);
    CU_ASSERT_EQUAL(integer(nth_json("done", 0), "parts"), 3);
    CU_ASSERT_EQUAL(df_process_keys(p), 1); /* a's state is gone */
    gather_now = 50;
    push_small(g, 0, "{\"k\":\"c\",\"v\":2}", 50);
    df_graph_tick(g, 120); /* b last seen at 0: expired; c at 50: kept */
    CU_ASSERT_EQUAL_FATAL(count("gather.dlq"), 1);
    CU_ASSERT(key_is(nth("gather.dlq", 0), "b"));
    CU_ASSERT_EQUAL(integer(nth_json("gather.dlq", 0), "total"), 3);
    CU_ASSERT_EQUAL(df_process_keys(p), 1);
    /* a key starts afresh after it finished */
    push_small(g, 0, "{\"k\":\"a\",\"v\":20}", 120);
    CU_ASSERT_EQUAL_FATAL(count("done"), 2);
    CU_ASSERT_EQUAL(integer(nth_json("done", 1), "parts"), 1);
    /* the end of a bounded input expires the rest */
    df_graph_finish(g);
    CU_ASSERT_EQUAL(count("gather.dlq"), 2);
    CU_ASSERT_EQUAL(df_process_keys(p), 0);
    CU_ASSERT_EQUAL(df_graph_dlq_count(g), 2);
    done();
}

/* A process operator with state left when the graph goes frees it (ASan checks). */
static void test_process_state_left_at_the_end_is_freed_with_the_graph(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *k = df_key_by(df_source(g, "in", "in.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_sink_topic(df_process(k, "process:gather", &gather_fn, NULL), "done", NULL);
    for (int i = 0; i < 300; i++) { /* enough keys to grow the table */
        char rec[64];
        snprintf(rec, sizeof rec, "{\"k\":\"key%d\",\"v\":1}", i);
        push_small(g, 0, rec, 0);
    }
    CU_ASSERT_EQUAL(count("done"), 0);
    done();
}

/* What a process operator emits carries the input partition that made it,
 * so a reduce below it saves its state with that owner (the changelog piece
 * of a key with no owner was restored by no one: a rebalance lost the files
 * pipeline's per-type totals). */
static int32_t drained_owner;

static void owner_of_sum(void *opaque, const char *topic, int32_t partition, const char *op,
                         const char *key, const char *sub, json_t *value)
{
    (void)opaque, (void)sub, (void)value;
    if (!strcmp(op, "reduce:sum") && !strcmp(key, "a"))
        drained_owner = topic && !strcmp(topic, "in") ? partition : -2;
}

static void test_state_below_a_process_operator_is_owned_by_the_input_partition(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *k = df_key_by(df_source(g, "in", "in.dlq", small_parse, NULL), "key_by:k",
                               field_key, "k");
    df_stream_t *p = df_process(k, "process:gather", &gather_fn, NULL);
    df_stream_t *again = df_key_by(p, "key_by:k2", field_key, "k");
    df_sink_topic(df_reduce(again, "reduce:sum", &sum_agg, NULL), "sums", NULL);
    df_graph_track_state(g, true);
    push_small(g, 2, "{\"k\":\"a\",\"v\":4}", 0);
    push_small(g, 2, "{\"k\":\"a\",\"v\":7}", 0); /* a reaches 10: emitted, summed */
    drained_owner = -1;
    df_graph_state_drain(g, owner_of_sum, NULL);
    CU_ASSERT_EQUAL(drained_owner, 2);
    done();
}

static void test_push_to_unknown_topic_returns_false_and_touches_nothing(void)
{
    df_graph_t *g = small_graph();
    df_sink_topic(df_source(g, "in", "in.dlq", small_parse, NULL), "out", "k");
    const char *rec = "{\"k\":\"a\",\"v\":1}";
    CU_ASSERT_FALSE(df_graph_push(g, "other", 0, 0, rec, strlen(rec), 0));
    CU_ASSERT_EQUAL(out.n, 0);
    df_op_metrics_t m[4];
    CU_ASSERT_EQUAL_FATAL(df_graph_metrics(g, m, 4), 2);
    CU_ASSERT_EQUAL(m[0].in, 0);
    CU_ASSERT(df_graph_push(g, "in", 0, 0, rec, strlen(rec), 0));
    CU_ASSERT_EQUAL(count("out"), 1);
    done();
}

static void test_graph_lists_input_topics_and_each_output_topic_once(void)
{
    df_graph_t *g = small_graph();
    df_stream_t *s = df_source(g, "in", "in.dlq", small_parse, NULL);
    df_sink_topic(s, "x", "k");
    df_sink_topic(s, "y", "k");
    df_sink_topic(df_filter(s, "f", even_v, NULL), "x", "k");
    CU_ASSERT_STRING_EQUAL(df_graph_name(g), "small");
    const char *const *in = df_graph_inputs(g);
    CU_ASSERT_STRING_EQUAL(in[0], "in");
    CU_ASSERT_PTR_NULL(in[1]);
    const char *const *o = df_graph_outputs(g);
    CU_ASSERT_STRING_EQUAL(o[0], "in.dlq");
    CU_ASSERT_STRING_EQUAL(o[1], "x");
    CU_ASSERT_STRING_EQUAL(o[2], "y");
    CU_ASSERT_PTR_NULL(o[3]);
    done();
}

/* --- the transaction pipeline --------------------------------------------- */

static pipeline_params_t params;
static df_graph_t *txpipe;
static int64_t pipe_offset;

static void pipe_start(void)
{
    done();
    pipeline_params_init(&params);
    /* The defaults, written out: the expected values below depend on them. */
    atomic_store(&params.filter_amount, 100.0);
    atomic_store(&params.high_value_amount, 500.0);
    params.window_ms = 30000;
    params.out_of_orderness_ms = 5000;
    params.idle_timeout_ms = 10000;
    txpipe = cur = pipeline_transactions(&host, &params);
    pipe_offset = 0;
}

static void pipe_end(void)
{
    done();
    txpipe = NULL;
}

/* Pushes a seed transaction; `clock` is "hh:mm:ss[.fff]" on 2024-01-15 and
 * amount is the JSON text of the amount. */
static void push_txn(int32_t part, const char *id, const char *user, const char *category,
                     const char *amount, const char *clock, int64_t now)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "{\"transaction_id\":\"%s\",\"user_id\":\"%s\",\"product\":\"p\","
                     "\"category\":\"%s\",\"amount\":%s,\"quantity\":2,\"payment_method\":"
                     "\"paypal\",\"timestamp\":\"2024-01-15T%s\",\"location\":\"city_7\"}",
                     id, user, category, amount, clock);
    CU_ASSERT_TRUE(df_graph_push(txpipe, "transactions", part, pipe_offset++, buf, (size_t)n, now));
}

static bool has_id(const char *topic, size_t i, const char *id)
{
    const msg_t *m = nth(topic, i);
    return m && m->json && str_is(m->json, "transaction_id", id);
}

static void test_pipeline_reads_transactions_and_declares_every_output_topic(void)
{
    pipe_start();
    const char *const *in = df_graph_inputs(txpipe);
    CU_ASSERT_STRING_EQUAL(in[0], "transactions");
    CU_ASSERT_PTR_NULL(in[1]);
    static const char *const want[] = {"transactions.dlq",        "processed_transactions",
                                       "user_aggregations",       "high_value_transactions",
                                       "category_windows",        "late_transactions",
                                       "fraud_alerts"};
    const char *const *o = df_graph_outputs(txpipe);
    size_t n = 0;
    while (o[n])
        n++;
    CU_ASSERT_EQUAL(n, 7);
    for (size_t i = 0; i < 7; i++) {
        bool found = false;
        for (size_t j = 0; j < n; j++)
            found |= !strcmp(o[j], want[i]);
        CU_ASSERT(found);
    }
    pipe_end();
}


/* Card testing: per user, a transaction < 20.00 whose very next one (event
 * time) is > 800.00 within 60 s, on every transaction (the amount filter
 * drops the small one: the pattern sees it anyway). */
static void test_fraud_alert_for_a_small_then_large_pair_of_one_user_within_60s(void)
{
    pipe_start();
    push_txn(0, "s1", "user_1", "books", "5.5", "10:00:00.000001", 0);
    push_txn(0, "o1", "user_2", "books", "12", "10:00:10", 0); /* another user between */
    push_txn(0, "l1", "user_1", "electronics", "950.25", "10:01:00.000001", 0); /* 60 s: in */
    push_txn(0, "s2", "user_3", "books", "19.99", "10:02:00", 0);
    push_txn(0, "l2", "user_3", "books", "801", "10:03:00.001", 0); /* 60.001 s: out */
    push_txn(0, "s3", "user_4", "books", "3", "10:04:00", 0);
    push_txn(0, "m3", "user_4", "books", "300", "10:04:01", 0); /* in between */
    push_txn(0, "l3", "user_4", "books", "900", "10:04:02", 0);
    push_txn(0, "s4", "user_5", "books", "20", "10:05:00", 0); /* not < 20 */
    push_txn(0, "l4", "user_5", "books", "900", "10:05:01", 0);
    push_txn(0, "s5", "user_6", "books", "1", "10:06:00", 0);
    push_txn(0, "l5", "user_6", "books", "800", "10:06:01", 0); /* not > 800 */
    df_graph_finish(txpipe);
    CU_ASSERT_EQUAL_FATAL(count("fraud_alerts"), 1);
    const msg_t *m = nth("fraud_alerts", 0);
    CU_ASSERT(key_is(m, "user_1"));
    const json_t *a = nth_json("fraud_alerts", 0);
    CU_ASSERT(str_is(a, "user_id", "user_1"));
    CU_ASSERT(str_is(a, "pattern", "small_then_large"));
    CU_ASSERT(str_is(a, "first_transaction_id", "s1"));
    CU_ASSERT(str_is(a, "second_transaction_id", "l1"));
    CU_ASSERT(money_is(a, "first_amount", 550));
    CU_ASSERT(money_is(a, "second_amount", 95025));
    CU_ASSERT(str_is(a, "first_timestamp", "2024-01-15T10:00:00.000001"));
    CU_ASSERT(str_is(a, "second_timestamp", "2024-01-15T10:01:00.000001"));
    CU_ASSERT(time_of(a, "detected_at") > 0);
    CU_ASSERT_EQUAL(json_object_size(a), 9);
    pipe_end();
}

/* The thresholds and the bound are read while running (the console's keys). */
static void test_fraud_thresholds_and_bound_change_while_running(void)
{
    pipe_start();
    atomic_store(&params.fraud_small, 50.0);
    atomic_store(&params.fraud_large, 500.0);
    atomic_store(&params.fraud_within_ms, 10000);
    push_txn(0, "s1", "user_1", "books", "40", "10:00:00", 0);
    push_txn(0, "l1", "user_1", "books", "600", "10:00:10", 0); /* 10 s, 600 > 500: in */
    push_txn(0, "s2", "user_2", "books", "10", "10:00:00", 0);
    push_txn(0, "l2", "user_2", "books", "900", "10:00:11", 0); /* 11 s: out */
    df_graph_finish(txpipe);
    CU_ASSERT_EQUAL_FATAL(count("fraud_alerts"), 1);
    CU_ASSERT(str_is(nth_json("fraud_alerts", 0), "first_transaction_id", "s1"));
    pipe_end();
}

static void test_amount_filter_passes_only_amounts_strictly_above_100(void)
{
    pipe_start();
    push_txn(0, "t1", "user_1", "home", "100.00", "10:30:00", 0);
    push_txn(0, "t2", "user_1", "home", "100.01", "10:30:01", 0);
    push_txn(0, "t3", "user_1", "home", "99.99", "10:30:02", 0);
    push_txn(0, "t4", "user_1", "home", "100", "10:30:03", 0);
    push_txn(0, "t5", "user_1", "home", "250", "10:30:04", 0);
    push_txn(0, "t6", "user_1", "home", "10.5", "10:30:05", 0);
    CU_ASSERT_EQUAL_FATAL(count("processed_transactions"), 2);
    CU_ASSERT(has_id("processed_transactions", 0, "t2"));
    CU_ASSERT(has_id("processed_transactions", 1, "t5"));
    /* Filtered records are dropped, not dead letters. */
    CU_ASSERT_EQUAL(count("transactions.dlq"), 0);
    CU_ASSERT_EQUAL(count("user_aggregations"), 2);
    pipe_end();
}

static void assert_processed(size_t i, const char *id, const char *user, const char *category,
                             int64_t amount_cents, int64_t multiplier_hundredths, int64_t final_cents)
{
    const msg_t *m = nth("processed_transactions", i);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->json);
    const json_t *v = m->json;
    CU_ASSERT(key_is(m, user));
    /* the input, unchanged */
    CU_ASSERT(str_is(v, "transaction_id", id));
    CU_ASSERT(str_is(v, "user_id", user));
    CU_ASSERT(str_is(v, "product", "p"));
    CU_ASSERT(str_is(v, "category", category));
    CU_ASSERT(money_is(v, "amount", amount_cents));
    CU_ASSERT_EQUAL(integer(v, "quantity"), 2);
    CU_ASSERT(str_is(v, "payment_method", "paypal"));
    CU_ASSERT(str_is(v, "location", "city_7"));
    CU_ASSERT(time_of(v, "timestamp") >= JAN15_MS);
    /* what the map adds */
    CU_ASSERT(money_is(v, "original_amount", amount_cents));
    /* the original's discount_applied: the multiplier, final = amount * it */
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(v, "discount_applied")),
                           multiplier_hundredths / 100.0, 1e-9);
    CU_ASSERT(money_is(v, "final_amount", final_cents));
    CU_ASSERT(time_of(v, "processing_timestamp") > 0);
    CU_ASSERT_EQUAL(json_object_size(v), 13);
}

static void test_discount_adds_original_discount_final_and_processing_time(void)
{
    pipe_start();
    push_txn(0, "e", "user_1", "electronics", "200.00", "10:30:00", 0);
    push_txn(0, "b", "user_2", "books", "119.99", "10:30:01.123456", 0);
    push_txn(0, "c", "user_3", "clothing", "110.05", "10:30:02", 0);
    push_txn(0, "h", "user_4", "home", "250.00", "10:30:03", 0);
    push_txn(0, "i", "user_5", "electronics", "999.99", "10:30:04", 0);
    CU_ASSERT_EQUAL_FATAL(count("processed_transactions"), 5);
    /* 20000 c * 0.95 = 19000 */
    assert_processed(0, "e", "user_1", "electronics", 20000, 95, 19000);
    /* 11999 c * 0.90 = 10799.1 -> 10799 */
    assert_processed(1, "b", "user_2", "books", 11999, 90, 10799);
    /* 11005 c * 0.92 = 10124.6 -> 10125 */
    assert_processed(2, "c", "user_3", "clothing", 11005, 92, 10125);
    /* home: no discount, the multiplier 1.0 */
    assert_processed(3, "h", "user_4", "home", 25000, 100, 25000);
    /* 99999 c * 0.95 = 94999.05 -> 94999 */
    assert_processed(4, "i", "user_5", "electronics", 99999, 95, 94999);
    /* reals on the wire: shortest form that reads back as the same cents */
    const msg_t *bm = nth("processed_transactions", 1);
    CU_ASSERT(payload_has(bm, "\"original_amount\":119.99,"));
    CU_ASSERT(payload_has(bm, "\"discount_applied\":0.9,"));
    CU_ASSERT(payload_has(bm, "\"final_amount\":107.99,"));
    const msg_t *em = nth("processed_transactions", 0);
    CU_ASSERT(payload_has(em, "\"final_amount\":190.0,"));
    CU_ASSERT(payload_has(em, "\"discount_applied\":0.95,"));
    /* the seed's microseconds survive untouched */
    CU_ASSERT(str_is(nth_json("processed_transactions", 1), "timestamp",
                     "2024-01-15T10:30:01.123456"));
    pipe_end();
}

static void assert_user_total(size_t i, const char *user, int64_t cents, json_int_t n)
{
    const msg_t *m = nth("user_aggregations", i);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->json);
    CU_ASSERT(key_is(m, user));
    CU_ASSERT(str_is(m->json, "user_id", user));
    CU_ASSERT(money_is(m->json, "total_spent", cents));
    CU_ASSERT_EQUAL(integer(m->json, "transaction_count"), n);
    CU_ASSERT(time_of(m->json, "last_updated") > 0);
}

static void test_user_aggregations_keep_running_totals_per_user_in_exact_cents(void)
{
    pipe_start();
    /* 110.10 home three times: in doubles 110.1 + 110.1 + 110.1 = 330.29999..;
     * in cents 11010 * 3 = 33030. */
    push_txn(0, "1", "user_1", "home", "110.10", "10:30:00", 0);
    push_txn(1, "2", "user_2", "electronics", "200.00", "10:30:01", 0); /* 19000 */
    push_txn(0, "3", "user_1", "home", "110.10", "10:30:02", 0);
    push_txn(2, "4", "user_3", "home", "50.00", "10:30:03", 0); /* filtered: no update */
    push_txn(1, "5", "user_2", "books", "119.99", "10:30:04", 0); /* 10799 */
    push_txn(0, "6", "user_1", "home", "110.10", "10:30:05", 0);
    push_txn(2, "7", "user_3", "clothing", "110.05", "10:30:06", 0); /* 10125 */

    CU_ASSERT_EQUAL_FATAL(count("user_aggregations"), 6);
    assert_user_total(0, "user_1", 11010, 1);
    assert_user_total(1, "user_2", 19000, 1);
    assert_user_total(2, "user_1", 22020, 2);
    assert_user_total(3, "user_2", 29799, 2); /* 19000 + 10799 */
    assert_user_total(4, "user_1", 33030, 3);
    assert_user_total(5, "user_3", 10125, 1);
    pipe_end();
}

static void test_user_total_does_not_drift_over_many_records(void)
{
    pipe_start();
    /* 100 x 100.01 (home, no discount): the n-th total is exactly 10001 * n
     * cents.  Adding 100.01 as a double drifts from the 44th record on
     * (4400.44000000001), visible even in 15-digit JSON. */
    for (int i = 1; i <= 100; i++) {
        char id[16];
        snprintf(id, sizeof id, "t%d", i);
        push_txn(0, id, "user_9", "home", "100.01", "10:30:00", 0);
    }
    CU_ASSERT_EQUAL_FATAL(count("user_aggregations"), 100);
    int bad = 0;
    for (size_t i = 0; i < 100; i++) {
        const json_t *v = nth_json("user_aggregations", i);
        if (!money_is(v, "total_spent", INT64_C(10001) * (int64_t)(i + 1)) ||
            integer(v, "transaction_count") != (json_int_t)(i + 1))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(payload_has(nth("user_aggregations", 99), "\"total_spent\":10001.0,"));
    pipe_end();
}

static void test_high_value_only_for_amounts_strictly_above_500(void)
{
    pipe_start();
    push_txn(0, "a", "user_1", "home", "500.00", "10:30:00", 0);
    push_txn(0, "b", "user_2", "electronics", "500.01", "10:30:01", 0);
    push_txn(0, "c", "user_3", "home", "499.99", "10:30:02", 0);
    push_txn(0, "d", "user_4", "books", "600", "10:30:03", 0);
    push_txn(0, "e", "user_5", "electronics", "999.99", "10:30:04", 0);
    CU_ASSERT_EQUAL_FATAL(count("high_value_transactions"), 3);
    CU_ASSERT(has_id("high_value_transactions", 0, "b"));
    CU_ASSERT(has_id("high_value_transactions", 1, "d"));
    CU_ASSERT(has_id("high_value_transactions", 2, "e"));
    CU_ASSERT(key_is(nth("high_value_transactions", 0), "user_2"));
    /* They are processed transactions: 50001 c * 0.95 = 47500.95 -> 47501;
     * 60000 c * 0.90 = 54000. */
    CU_ASSERT(money_is(nth_json("high_value_transactions", 0), "final_amount", 47501));
    CU_ASSERT(money_is(nth_json("high_value_transactions", 1), "final_amount", 54000));
    CU_ASSERT(money_is(nth_json("high_value_transactions", 1), "original_amount", 60000));
    /* the same record, byte for byte, as processed_transactions wrote it */
    const msg_t *h = nth("high_value_transactions", 0), *p = nth("processed_transactions", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT(has_id("processed_transactions", 1, "b"));
    CU_ASSERT(h->len == p->len && !memcmp(h->payload, p->payload, h->len));
    pipe_end();
}

static void test_changing_thresholds_takes_effect_on_the_next_record(void)
{
    pipe_start();
    push_txn(0, "1", "user_1", "home", "120.00", "10:30:00", 0); /* > 100: passes */
    atomic_store(&params.filter_amount, 150.0);
    push_txn(0, "2", "user_1", "home", "120.00", "10:30:01", 0); /* <= 150: dropped */
    push_txn(0, "3", "user_1", "home", "150.00", "10:30:02", 0); /* dropped */
    push_txn(0, "4", "user_1", "home", "150.01", "10:30:03", 0); /* passes */
    atomic_store(&params.filter_amount, 50.0);
    push_txn(0, "5", "user_1", "home", "60.00", "10:30:04", 0); /* passes */
    atomic_store(&params.high_value_amount, 100.0);
    push_txn(0, "6", "user_1", "home", "100.50", "10:30:05", 0); /* passes, high value */

    CU_ASSERT_EQUAL_FATAL(count("processed_transactions"), 4);
    CU_ASSERT(has_id("processed_transactions", 0, "1"));
    CU_ASSERT(has_id("processed_transactions", 1, "4"));
    CU_ASSERT(has_id("processed_transactions", 2, "5"));
    CU_ASSERT(has_id("processed_transactions", 3, "6"));
    CU_ASSERT_EQUAL_FATAL(count("high_value_transactions"), 1);
    CU_ASSERT(has_id("high_value_transactions", 0, "6"));
    pipe_end();
}

static void assert_dead_letter(size_t i, const char *err_names, int32_t part, int64_t offset,
                               const char *original)
{
    const msg_t *m = nth("transactions.dlq", i);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->json);
    const json_t *v = m->json;
    const char *err = str(v, "error");
    CU_ASSERT(err && err[0]);
    if (err && err_names)
        CU_ASSERT_PTR_NOT_NULL(strstr(err, err_names));
    CU_ASSERT(str_is(v, "topic", "transactions"));
    CU_ASSERT_EQUAL(integer(v, "partition"), part);
    CU_ASSERT_EQUAL(integer(v, "offset"), offset);
    if (original) {
        CU_ASSERT(str_is(v, "original", original));
        CU_ASSERT_PTR_NULL(json_object_get(v, "original_base64"));
    }
}

static void test_bad_records_go_to_dlq_with_error_and_origin_and_processing_continues(void)
{
    pipe_start();
    const char *not_json = "caf\xc3\xa9 is not JSON";
    CU_ASSERT(df_graph_push(txpipe, "transactions", 2, 17, not_json, strlen(not_json), 0));
    const char *missing = "{\"transaction_id\":\"x\",\"user_id\":\"user_1\",\"product\":\"p\","
                          "\"category\":\"home\",\"quantity\":1,\"payment_method\":\"paypal\","
                          "\"timestamp\":\"2024-01-15T10:30:00\",\"location\":\"city_1\"}";
    CU_ASSERT(df_graph_push(txpipe, "transactions", 1, 5, missing, strlen(missing), 0));
    /* ff fe 7b = 11111111 11111110 01111011 -> 111111 111111 111001 111011
     *          = 63 63 57 59 = "//57" in base64. */
    const char binary[] = {(char)0xff, (char)0xfe, '{'};
    CU_ASSERT(df_graph_push(txpipe, "transactions", 0, 9, binary, sizeof binary, 0));
    push_txn(0, "good", "user_1", "electronics", "200.00", "10:30:00", 0);

    CU_ASSERT_EQUAL_FATAL(count("transactions.dlq"), 3);
    assert_dead_letter(0, NULL, 2, 17, not_json);
    assert_dead_letter(1, "\"amount\"", 1, 5, missing);
    assert_dead_letter(2, NULL, 0, 9, NULL);
    const json_t *b = nth_json("transactions.dlq", 2);
    CU_ASSERT(str_is(b, "original_base64", "//57"));
    CU_ASSERT_PTR_NULL(json_object_get(b, "original"));
    CU_ASSERT_EQUAL(df_graph_dlq_count(txpipe), 3);

    /* the good record after them went all the way through */
    CU_ASSERT_EQUAL_FATAL(count("processed_transactions"), 1);
    CU_ASSERT(has_id("processed_transactions", 0, "good"));
    CU_ASSERT(money_is(nth_json("processed_transactions", 0), "final_amount", 19000));
    CU_ASSERT_EQUAL(count("user_aggregations"), 1);
    pipe_end();
}

static void assert_window(size_t i, const char *category, int64_t cents, json_int_t n,
                          int64_t start, int64_t end)
{
    const msg_t *m = nth("category_windows", i);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->json);
    const json_t *v = m->json;
    CU_ASSERT(key_is(m, category));
    CU_ASSERT(str_is(v, "category", category));
    CU_ASSERT(money_is(v, "total_amount", cents));
    CU_ASSERT_EQUAL(integer(v, "transaction_count"), n);
    CU_ASSERT_EQUAL(time_of(v, "window_start"), start);
    CU_ASSERT_EQUAL(time_of(v, "window_end"), end);
    CU_ASSERT_EQUAL(json_object_size(v), 5);
}

static void assign(const int32_t *parts, size_t n, int64_t now)
{
    df_graph_assign(txpipe, "transactions", parts, n, now);
}

static void test_window_assigns_records_to_half_open_30s_windows(void)
{
    pipe_start();
    push_txn(0, "a", "user_1", "electronics", "200.00", "10:30:29.999", 0); /* 19000 */
    push_txn(0, "b", "user_1", "electronics", "300.00", "10:30:30.000", 0); /* 28500 */
    push_txn(0, "c", "user_1", "electronics", "120.00", "10:30:00.000", 0); /* 11400 */
    df_graph_finish(txpipe);
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 2);
    /* [10:30:00, 10:30:30) holds a and c; [10:30:30, 10:31:00) holds b. */
    assert_window(0, "electronics", 19000 + 11400, 2, AT(10, 30, 0, 0), AT(10, 30, 30, 0));
    assert_window(1, "electronics", 28500, 1, AT(10, 30, 30, 0), AT(10, 31, 0, 0));
    pipe_end();
}

static void test_window_fires_only_when_watermark_reaches_end_minus_1ms(void)
{
    pipe_start();
    const int32_t p0[] = {0};
    assign(p0, 1, 0);
    push_txn(0, "1", "user_1", "electronics", "200.00", "10:30:10", 1); /* 19000 */
    push_txn(0, "2", "user_2", "books", "150.00", "10:30:20", 2);       /* 13500 */
    push_txn(0, "3", "user_3", "electronics", "120.00", "10:30:25", 3); /* 11400 */
    df_graph_tick(txpipe, 3);
    /* watermark = max event - 5000 - 1 */
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 19, 999));
    CU_ASSERT_EQUAL(count("category_windows"), 0);

    push_txn(0, "4", "user_1", "clothing", "110.00", "10:30:34.999", 4); /* 10120 */
    df_graph_tick(txpipe, 4);
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 29, 998));
    CU_ASSERT_EQUAL(count("category_windows"), 0); /* 1 ms short of end - 1 */

    push_txn(0, "5", "user_2", "clothing", "110.00", "10:30:35.000", 5); /* 10120 */
    CU_ASSERT_EQUAL(count("category_windows"), 0); /* only a tick moves time */
    df_graph_tick(txpipe, 5);
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 29, 999));
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 2);
    /* one window's keys in key order (whatever order they arrived in) */
    assert_window(0, "books", 13500, 1, AT(10, 30, 0, 0), AT(10, 30, 30, 0));
    assert_window(1, "electronics", 19000 + 11400, 2, AT(10, 30, 0, 0), AT(10, 30, 30, 0));

    /* a tick with no new data fires nothing more */
    df_graph_tick(txpipe, 6);
    CU_ASSERT_EQUAL(count("category_windows"), 2);
    df_graph_finish(txpipe);
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 3);
    assert_window(2, "clothing", 2 * 10120, 2, AT(10, 30, 30, 0), AT(10, 31, 0, 0));
    pipe_end();
}

static void test_late_record_goes_to_late_transactions_and_fired_result_stays(void)
{
    pipe_start();
    const int32_t p0[] = {0};
    assign(p0, 1, 0);
    push_txn(0, "1", "user_1", "electronics", "200.00", "10:30:10", 1); /* 19000 */
    push_txn(0, "2", "user_2", "clothing", "110.00", "10:30:35", 1);    /* 10120 */
    df_graph_tick(txpipe, 1); /* watermark 10:30:29.999: [10:30:00, 10:30:30) fires */
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 1);
    assert_window(0, "electronics", 19000, 1, AT(10, 30, 0, 0), AT(10, 30, 30, 0));

    push_txn(0, "L1", "user_3", "electronics", "400.00", "10:30:05", 2);      /* 38000 */
    push_txn(0, "L2", "user_4", "books", "200.00", "10:30:29.999", 2);        /* on the edge */
    push_txn(0, "ok", "user_5", "electronics", "100.50", "10:30:30.000", 2); /* next window */
    df_graph_tick(txpipe, 2);

    CU_ASSERT_EQUAL_FATAL(count("late_transactions"), 2);
    const msg_t *l1 = nth("late_transactions", 0);
    CU_ASSERT(key_is(l1, "user_3"));
    const json_t *v = nth_json("late_transactions", 0);
    /* the processed transaction, at the top level, plus the window it missed */
    CU_ASSERT(str_is(v, "transaction_id", "L1"));
    CU_ASSERT(str_is(v, "category", "electronics"));
    CU_ASSERT(money_is(v, "amount", 40000));
    CU_ASSERT(money_is(v, "final_amount", 38000));
    CU_ASSERT_EQUAL(time_of(v, "missed_window_start"), AT(10, 30, 0, 0));
    CU_ASSERT_EQUAL(time_of(v, "missed_window_end"), AT(10, 30, 30, 0));
    const json_t *v2 = nth_json("late_transactions", 1);
    CU_ASSERT(str_is(v2, "transaction_id", "L2"));
    CU_ASSERT_EQUAL(time_of(v2, "missed_window_start"), AT(10, 30, 0, 0));
    CU_ASSERT_EQUAL(time_of(v2, "missed_window_end"), AT(10, 30, 30, 0));
    CU_ASSERT_EQUAL(df_graph_late_count(txpipe), 2);

    /* Late only for the window: still processed and counted for the user. */
    CU_ASSERT_EQUAL(count("processed_transactions"), 5);
    CU_ASSERT_EQUAL(count("user_aggregations"), 5);
    /* processed_transactions carries no window fields */
    CU_ASSERT_PTR_NULL(json_object_get(nth_json("processed_transactions", 2),
                                       "missed_window_start"));

    /* The fired window is not re-emitted or changed; the next one gets "ok". */
    df_graph_finish(txpipe);
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 3);
    assert_window(0, "electronics", 19000, 1, AT(10, 30, 0, 0), AT(10, 30, 30, 0));
    /* 10050 c * 0.95 = 9547.5 -> 9548 */
    assert_window(1, "clothing", 10120, 1, AT(10, 30, 30, 0), AT(10, 31, 0, 0));
    assert_window(2, "electronics", 9548, 1, AT(10, 30, 30, 0), AT(10, 31, 0, 0));
    pipe_end();
}

static void test_finish_fires_every_open_window_in_order_of_end(void)
{
    pipe_start();
    push_txn(0, "1", "user_1", "books", "200.00", "10:31:05", 0);       /* 18000 */
    push_txn(0, "2", "user_1", "books", "150.00", "10:30:10", 0);       /* 13500 */
    push_txn(1, "3", "user_2", "electronics", "120.00", "10:30:40", 0); /* 11400 */
    push_txn(2, "4", "user_3", "books", "110.00", "10:30:45", 0);       /* 9900 */
    push_txn(2, "5", "user_3", "books", "130.00", "10:30:59.999", 0);   /* 11700 */
    CU_ASSERT_EQUAL(count("category_windows"), 0);
    df_graph_finish(txpipe);
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 4);
    assert_window(0, "books", 13500, 1, AT(10, 30, 0, 0), AT(10, 30, 30, 0));
    assert_window(1, "books", 9900 + 11700, 2, AT(10, 30, 30, 0), AT(10, 31, 0, 0));
    assert_window(2, "electronics", 11400, 1, AT(10, 30, 30, 0), AT(10, 31, 0, 0));
    assert_window(3, "books", 18000, 1, AT(10, 31, 0, 0), AT(10, 31, 30, 0));
    /* Nothing is left to fire. */
    df_graph_finish(txpipe);
    CU_ASSERT_EQUAL(count("category_windows"), 4);
    pipe_end();
}

static void test_assigned_partition_without_data_holds_watermark_until_idle_timeout(void)
{
    pipe_start();
    const int32_t p01[] = {0, 1};
    assign(p01, 2, 0); /* partition 1 will never get a record */
    push_txn(0, "1", "user_1", "electronics", "200.00", "10:30:10", 1000);
    push_txn(0, "2", "user_1", "electronics", "300.00", "10:30:40", 2000);
    df_graph_tick(txpipe, 2000);
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), DF_NO_TIME);
    CU_ASSERT_EQUAL(count("category_windows"), 0);
    df_graph_tick(txpipe, 9999); /* partition 1 quiet for 9999 ms < 10000 */
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), DF_NO_TIME);
    CU_ASSERT_EQUAL(count("category_windows"), 0);

    /* Past the idle timeout partition 1 stops counting; partition 0 (last
     * active at 2000) is still live, so the watermark is its own. */
    df_graph_tick(txpipe, 10001);
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 34, 999));
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 1);
    assert_window(0, "electronics", 19000, 1, AT(10, 30, 0, 0), AT(10, 30, 30, 0));

    /* Partition 1 wakes up with an old record: it is live again, but the
     * watermark never moves back, and the record is late for the fired window. */
    push_txn(1, "3", "user_2", "electronics", "150.00", "10:30:20", 10002);
    df_graph_tick(txpipe, 10002);
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 34, 999));
    CU_ASSERT_EQUAL(count("late_transactions"), 1);
    CU_ASSERT_EQUAL(count("category_windows"), 1);
    /* From now on partition 1 (at 10:30:20) is the slowest live one. */
    push_txn(0, "4", "user_1", "electronics", "150.00", "10:30:50", 10003);
    df_graph_tick(txpipe, 10003);
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 34, 999));
    pipe_end();
}

/* Partitions restored from a changelog are live from their assignment: not
 * idle before their first record (their marker said "idle", and below a
 * repartition the windows fired past what they still had to give). */
static bool marked_idle[4];

static void note_mark(void *opaque, const char *topic, int32_t partition, int64_t wm, bool idle)
{
    (void)opaque, (void)topic, (void)wm;
    if (partition >= 0 && partition < 4)
        marked_idle[partition] = idle;
}

static void test_restored_partition_is_not_idle_before_its_first_record(void)
{
    pipe_start();
    json_t *v = json_pack("{sI}", "max_event_ms", (json_int_t)AT(10, 30, 20, 0));
    CU_ASSERT_EQUAL(df_graph_state_load(txpipe, 1, "source:transactions", "1", "", v), 0);
    CU_ASSERT_EQUAL(df_graph_state_load(txpipe, 0, "source:transactions", "0", "", v), 0);
    json_decref(v);
    const int32_t p01[] = {0, 1};
    assign(p01, 2, 50000); /* the restore comes first, then the assignment */
    push_txn(0, "1", "user_1", "electronics", "200.00", "10:30:40", 50001);
    marked_idle[0] = marked_idle[1] = true;
    df_graph_source_marks(txpipe, 50002, note_mark, NULL);
    CU_ASSERT_FALSE(marked_idle[0]);
    CU_ASSERT_FALSE(marked_idle[1]); /* quiet for 2 ms since its assignment */
    df_graph_tick(txpipe, 50002);   /* partition 1 holds the watermark at its restored time */
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 14, 999));
    pipe_end();
}

static void test_watermark_is_minimum_over_live_partitions_and_never_moves_back(void)
{
    pipe_start();
    const int32_t p01[] = {0, 1};
    assign(p01, 2, 0);
    push_txn(0, "1", "user_1", "home", "200.00", "10:30:40", 100);
    df_graph_tick(txpipe, 100); /* partition 1 has nothing yet */
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), DF_NO_TIME);
    push_txn(1, "2", "user_2", "home", "150.00", "10:30:20", 100);
    df_graph_tick(txpipe, 100);
    /* min(10:30:40, 10:30:20) - 5.001 s */
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 14, 999));
    CU_ASSERT_EQUAL(count("category_windows"), 0);

    push_txn(1, "3", "user_2", "home", "130.00", "10:30:36", 200);
    df_graph_tick(txpipe, 200);
    /* min(10:30:40, 10:30:36) - 5.001 s = 10:30:30.999 */
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 30, 999));
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 1);
    assert_window(0, "home", 15000, 1, AT(10, 30, 0, 0), AT(10, 30, 30, 0));

    /* an older record (still in an open window) does not pull it back */
    push_txn(1, "4", "user_2", "home", "140.00", "10:30:31", 300);
    df_graph_tick(txpipe, 300);
    CU_ASSERT_EQUAL(df_graph_watermark(txpipe), AT(10, 30, 30, 999));
    CU_ASSERT_EQUAL(count("late_transactions"), 0);
    df_graph_finish(txpipe);
    CU_ASSERT_EQUAL_FATAL(count("category_windows"), 2);
    assert_window(1, "home", 20000 + 13000 + 14000, 3, AT(10, 30, 30, 0), AT(10, 31, 0, 0));
    pipe_end();
}

/* --- repartition topics ------------------------------------------------------- */

static size_t count_topic(const collector_t *c, const char *topic)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += !strcmp(c->m[i].topic, topic);
    return n;
}

static void push_marker(df_graph_t *g, int64_t off, int64_t wm, const char *source)
{
    char m[200];
    int n = snprintf(m, sizeof m, "{\"_watermark\":%lld,\"source\":\"%s\"}", (long long)wm, source);
    df_graph_push(g, "repartition-category_windows", 0, off, m, (size_t)n, 0);
}

static void test_repartition_window_fires_once_every_upstream_partition_marker_passed_it(void)
{
    /* With a repartitioning host the category windows read their records back
     * from a topic: a window fires only when the markers of both upstream
     * partitions have passed its end, and a second copy of a record (the same
     * upstream partition and offset) is not counted twice. */
    collector_t c = {0};
    df_host_t h = {.emit = host_emit, .opaque = &c, .repartition = true};
    pipeline_params_t p;
    pipeline_params_init(&p);
    df_graph_t *g = pipelines_find("transactions")->build(&h, &p);
    CU_ASSERT_STRING_EQUAL(df_graph_repartitions(g)[0], "repartition-category_windows");
    df_graph_set_upstream(g, "repartition-category_windows", 2);
    df_graph_assign(g, "transactions", (int32_t[]){0, 1}, 2, 0);
    df_graph_assign(g, "repartition-category_windows", (int32_t[]){0}, 1, 0);
    for (int part = 0; part < 2; part++) {
        char tx[512];
        int n = snprintf(tx, sizeof tx,
                         "{\"transaction_id\":\"r%d\",\"user_id\":\"user_%d\",\"product\":\"book\","
                         "\"category\":\"books\",\"amount\":200.0,\"quantity\":1,"
                         "\"payment_method\":\"paypal\",\"timestamp\":\"2024-01-15T10:00:0%d.000000\","
                         "\"location\":\"city_1\"}",
                         part, part, part + 1);
        df_graph_push(g, "transactions", part, 7, tx, (size_t)n, 0);
    }
    CU_ASSERT_EQUAL(count_topic(&c, "repartition-category_windows"), 2);
    CU_ASSERT_EQUAL(count_topic(&c, "category_windows"), 0); /* not in this stage */
    int64_t off = 0;
    size_t n0 = c.n;
    for (size_t i = 0; i < n0; i++)
        if (!strcmp(c.m[i].topic, "repartition-category_windows")) {
            CU_ASSERT_STRING_EQUAL(c.m[i].key, "books");
            for (int copy = 0; copy < 2; copy++) /* the second copy is dropped */
                df_graph_push(g, "repartition-category_windows", 0, off++, c.m[i].payload,
                              c.m[i].len, 0);
        }
    push_marker(g, off++, AT(10, 1, 0, 0), "transactions/0");
    df_graph_tick(g, 0);
    CU_ASSERT_EQUAL(count_topic(&c, "category_windows"), 0); /* partition 1 not there yet */
    push_marker(g, off++, AT(10, 1, 0, 0), "transactions/1");
    df_graph_tick(g, 0);
    CU_ASSERT_EQUAL(count_topic(&c, "category_windows"), 1);
    for (size_t i = 0; i < c.n; i++)
        if (!strcmp(c.m[i].topic, "category_windows"))
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(c.m[i].json, "transaction_count")), 2);
    df_graph_free(g);
    collector_clear(&c);
}

static CU_TestInfo tests[] = {
    {"test_filter_and_map_run_in_order_and_sink_writes_compact_json",
     test_filter_and_map_run_in_order_and_sink_writes_compact_json},
    {"test_map_returning_null_drops_the_record", test_map_returning_null_drops_the_record},
    {"test_each_branch_changes_only_its_own_copy_of_a_shared_value",
     test_each_branch_changes_only_its_own_copy_of_a_shared_value},
    {"test_branch_after_a_sink_changes_a_copy_and_sinks_see_fresh_bytes",
     test_branch_after_a_sink_changes_a_copy_and_sinks_see_fresh_bytes},
    {"test_key_by_sets_record_key_and_drops_records_without_one",
     test_key_by_sets_record_key_and_drops_records_without_one},
    {"test_reduce_forgets_a_key_after_its_state_ttl", test_reduce_forgets_a_key_after_its_state_ttl},
    {"test_reduce_without_ttl_keeps_keys_forever", test_reduce_without_ttl_keeps_keys_forever},
    {"test_reduce_emits_running_result_per_key_after_every_record",
     test_reduce_emits_running_result_per_key_after_every_record},
    {"test_reduce_whose_result_is_its_accumulator_writes_each_new_state",
     test_reduce_whose_result_is_its_accumulator_writes_each_new_state},
    {"test_window_aligns_to_epoch_including_negative_times",
     test_window_aligns_to_epoch_including_negative_times},
    {"test_live_partition_without_data_on_one_source_holds_every_window",
     test_live_partition_without_data_on_one_source_holds_every_window},
    {"test_graph_metrics_count_records_in_and_out_per_operator",
     test_graph_metrics_count_records_in_and_out_per_operator},
    {"test_process_keeps_state_per_key_emits_when_done_and_expires_on_timer",
     test_process_keeps_state_per_key_emits_when_done_and_expires_on_timer},
    {"test_process_state_left_at_the_end_is_freed_with_the_graph",
     test_process_state_left_at_the_end_is_freed_with_the_graph},
    {"test_restored_partition_is_not_idle_before_its_first_record",
     test_restored_partition_is_not_idle_before_its_first_record},
    {"test_state_below_a_process_operator_is_owned_by_the_input_partition",
     test_state_below_a_process_operator_is_owned_by_the_input_partition},
    {"test_push_to_unknown_topic_returns_false_and_touches_nothing",
     test_push_to_unknown_topic_returns_false_and_touches_nothing},
    {"test_graph_lists_input_topics_and_each_output_topic_once",
     test_graph_lists_input_topics_and_each_output_topic_once},
    {"test_pipeline_reads_transactions_and_declares_every_output_topic",
     test_pipeline_reads_transactions_and_declares_every_output_topic},
    {"test_fraud_alert_for_a_small_then_large_pair_of_one_user_within_60s",
     test_fraud_alert_for_a_small_then_large_pair_of_one_user_within_60s},
    {"test_fraud_thresholds_and_bound_change_while_running",
     test_fraud_thresholds_and_bound_change_while_running},
    {"test_amount_filter_passes_only_amounts_strictly_above_100",
     test_amount_filter_passes_only_amounts_strictly_above_100},
    {"test_discount_adds_original_discount_final_and_processing_time",
     test_discount_adds_original_discount_final_and_processing_time},
    {"test_user_aggregations_keep_running_totals_per_user_in_exact_cents",
     test_user_aggregations_keep_running_totals_per_user_in_exact_cents},
    {"test_user_total_does_not_drift_over_many_records",
     test_user_total_does_not_drift_over_many_records},
    {"test_high_value_only_for_amounts_strictly_above_500",
     test_high_value_only_for_amounts_strictly_above_500},
    {"test_changing_thresholds_takes_effect_on_the_next_record",
     test_changing_thresholds_takes_effect_on_the_next_record},
    {"test_bad_records_go_to_dlq_with_error_and_origin_and_processing_continues",
     test_bad_records_go_to_dlq_with_error_and_origin_and_processing_continues},
    {"test_window_assigns_records_to_half_open_30s_windows",
     test_window_assigns_records_to_half_open_30s_windows},
    {"test_window_fires_only_when_watermark_reaches_end_minus_1ms",
     test_window_fires_only_when_watermark_reaches_end_minus_1ms},
    {"test_late_record_goes_to_late_transactions_and_fired_result_stays",
     test_late_record_goes_to_late_transactions_and_fired_result_stays},
    {"test_finish_fires_every_open_window_in_order_of_end",
     test_finish_fires_every_open_window_in_order_of_end},
    {"test_assigned_partition_without_data_holds_watermark_until_idle_timeout",
     test_assigned_partition_without_data_holds_watermark_until_idle_timeout},
    {"test_watermark_is_minimum_over_live_partitions_and_never_moves_back",
     test_watermark_is_minimum_over_live_partitions_and_never_moves_back},
    {"test_repartition_window_fires_once_every_upstream_partition_marker_passed_it",
     test_repartition_window_fires_once_every_upstream_partition_marker_passed_it},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("dataflow", tests, NULL, suite_cleanup)
