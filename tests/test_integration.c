/* test_integration.c — the transaction pipeline end to end inside one process:
 * the embedded broker, 10,000 generated records produced to `transactions`,
 * the engine run with --count semantics, and every output topic read back
 * and checked record by record against what the test computes itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/kafka/broker.h"
#include "engine/kafka/consumer.h"
#include "engine/kafka/engine.h"
#include "engine/evtime.h"
#include "engine/util.h"
#include "producers/txproducer.h"
#include "testlib.h"

#define N 10000

static broker_t *broker;
static kconf_t *kc;

static int setup(void)
{
    char err[512];
    broker = broker_start("127.0.0.1:0", 1, 3, err, sizeof err);
    if (!broker) {
        fprintf(stderr, "broker: %s\n", err);
        return 1;
    }
    kc = kconf_new(broker_address(broker), 10000);
    return 0;
}

static int teardown(void)
{
    kconf_free(kc);
    broker_stop(broker);
    return 0;
}

/* Reads up to want records of topic from the beginning into a JSON array of
 * {"key":..,"partition":..,"offset":..,"value":<parsed>}; stops after 3 s idle (15 s before the first). */
static json_t *read_topic(const char *topic, size_t want)
{
    char group[64], err[256];
    snprintf(group, sizeof group, "it-%s-%lld", topic, (long long)util_mono_us());
    kconsumer_t *c = kconsumer_new(kc, topic, group, 1, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *all = json_array();
    int64_t last = util_mono_ms() + 12000; /* joining the group takes a few seconds */
    while (json_array_size(all) < want && util_mono_ms() - last < 3000) {
        kmsg_t m;
        int got = kconsumer_next(c, &m, 100, err, sizeof err);
        CU_ASSERT_TRUE_FATAL(got >= 0);
        if (got == 0)
            continue;
        last = util_mono_ms();
        json_t *v = json_loadb(m.value, m.len, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(v);
        json_array_append_new(all, json_pack("{s:s%,s:i,s:I,s:o*}", "key", m.key ? m.key : "",
                                             m.key ? m.keylen : 0, "partition", m.partition,
                                             "offset", (json_int_t)m.offset, "value", v));
    }
    kconsumer_free(c);
    return all;
}

static double num(const json_t *o, const char *f)
{
    double d = NAN;
    df_json_number(json_object_get(o, f), &d);
    return d;
}

static const char *str(const json_t *o, const char *f) { return json_string_value(json_object_get(o, f)); }

static void test_engine_processes_10000_generated_records_exactly(void)
{
    char err[512];
    /* 1. Produce. */
    txprod_t *p = txprod_new(kc, "transactions", 0, N, 42, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL_FATAL(txprod_run(p, err, sizeof err), 0);
    txprod_stats_t ps;
    txprod_stats(p, &ps);
    CU_ASSERT_EQUAL(ps.delivered, N);
    txprod_free(p);

    /* 2. Run the engine on exactly those records. */
    pipeline_params_t params;
    pipeline_params_init(&params);
    engine_opts_t eo;
    engine_opts_init(&eo);
    eo.count = N;
    eo.group = "integration";
    engine_t *e = engine_new(kc, &eo, &params, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    int rc = engine_run(e, err, sizeof err);
    if (rc)
        fprintf(stderr, "engine: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    json_t *summary = engine_summary(e);
    engine_free(e);

    /* 3. What the outputs must be, computed here from the inputs. */
    json_t *in = read_topic("transactions", N);
    CU_ASSERT_EQUAL_FATAL(json_array_size(in), N);
    json_t *want_processed = json_object(); /* id -> final cents */
    json_t *want_high = json_object();      /* id -> true */
    json_t *want_users = json_object();     /* user -> [cents, count] */
    json_t *want_windows = json_object();   /* "cat|start" -> [cents, count] */
    size_t i;
    json_t *r;
    json_array_foreach(in, i, r)
    {
        json_t *v = json_object_get(r, "value");
        CU_ASSERT_STRING_EQUAL(str(r, "key"), str(v, "user_id"));
        double amount = num(v, "amount");
        if (!(amount > 100.0))
            continue;
        const char *cat = str(v, "category");
        double f = !strcmp(cat, "electronics") ? 0.95
                   : !strcmp(cat, "books")     ? 0.90
                   : !strcmp(cat, "clothing")  ? 0.92
                                               : 1.0;
        /* Round half up on the exact decimal: amounts have 2 decimals, so
         * cents*f has at most 4 and llround on cents*f*100 (an integer in
         * ten-thousandths) is exact. */
        long long tt = llround(amount * 100.0) * llround(f * 100.0); /* 1e-4 cents */
        long long cents = (tt + 50) / 100;
        const char *id = str(v, "transaction_id");
        json_object_set_new(want_processed, id, json_integer(cents));
        if (amount > 500.0)
            json_object_set_new(want_high, id, json_true());
        json_t *u = json_object_get(want_users, str(v, "user_id"));
        if (!u)
            json_object_set_new(want_users, str(v, "user_id"), u = json_pack("[II]", 0LL, 0LL));
        json_array_set_new(u, 0, json_integer(json_integer_value(json_array_get(u, 0)) + cents));
        json_array_set_new(u, 1, json_integer(json_integer_value(json_array_get(u, 1)) + 1));
        int64_t t;
        CU_ASSERT_EQUAL(evtime_parse(str(v, "timestamp"), strlen(str(v, "timestamp")), &t), 0);
        char key[128], ts[EVTIME_BUFSIZE];
        snprintf(key, sizeof key, "%s|%s", cat, evtime_format(t / 30000 * 30000, ts));
        json_t *w = json_object_get(want_windows, key);
        if (!w)
            json_object_set_new(want_windows, key, w = json_pack("[II]", 0LL, 0LL));
        json_array_set_new(w, 0, json_integer(json_integer_value(json_array_get(w, 0)) + cents));
        json_array_set_new(w, 1, json_integer(json_integer_value(json_array_get(w, 1)) + 1));
    }
    size_t nproc = json_object_size(want_processed);
    CU_ASSERT_TRUE(nproc > N / 2 && nproc < N);

    /* 4. The summary agrees. */
    json_t *out = json_object_get(summary, "output");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(summary, "input"), "transactions")), N);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(out, "processed_transactions")), (json_int_t)nproc);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(out, "user_aggregations")), (json_int_t)nproc);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(out, "high_value_transactions")),
                    (json_int_t)json_object_size(want_high));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(out, "category_windows")),
                    (json_int_t)json_object_size(want_windows));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(summary, "dlq")), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(summary, "late")), 0);

    /* 5. processed_transactions: every record once, with the right money. */
    json_t *got = read_topic("processed_transactions", nproc + 1);
    CU_ASSERT_EQUAL(json_array_size(got), nproc);
    json_t *seen = json_object();
    json_array_foreach(got, i, r)
    {
        json_t *v = json_object_get(r, "value");
        const char *id = str(v, "transaction_id");
        json_t *w = json_object_get(want_processed, id);
        CU_ASSERT_PTR_NOT_NULL(w);
        CU_ASSERT_PTR_NULL(json_object_get(seen, id));
        json_object_set_new(seen, id, json_true());
        CU_ASSERT_STRING_EQUAL(str(r, "key"), str(v, "user_id"));
        if (w)
            CU_ASSERT_EQUAL(llround(num(v, "final_amount") * 100), json_integer_value(w));
        CU_ASSERT_DOUBLE_EQUAL(num(v, "original_amount"), num(v, "amount"), 1e-9);
        CU_ASSERT_PTR_NOT_NULL(str(v, "processing_timestamp"));
        CU_ASSERT_TRUE(json_is_number(json_object_get(v, "discount_applied")));
    }
    json_decref(seen);

    /* 6. user_aggregations: the last update of each user holds their total. */
    json_t *aggs = read_topic("user_aggregations", nproc + 1);
    CU_ASSERT_EQUAL(json_array_size(aggs), nproc);
    json_t *last = json_object();
    json_array_foreach(aggs, i, r)
    {
        json_t *v = json_object_get(r, "value");
        CU_ASSERT_STRING_EQUAL(str(r, "key"), str(v, "user_id"));
        json_object_set(last, str(v, "user_id"), v);
    }
    CU_ASSERT_EQUAL(json_object_size(last), json_object_size(want_users));
    const char *user;
    json_t *u;
    json_object_foreach(want_users, user, u)
    {
        json_t *v = json_object_get(last, user);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (!v)
            continue;
        CU_ASSERT_EQUAL(llround(num(v, "total_spent") * 100), json_integer_value(json_array_get(u, 0)));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "transaction_count")),
                        json_integer_value(json_array_get(u, 1)));
    }
    json_decref(last);

    /* 7. high_value_transactions: exactly the amounts above 500. */
    json_t *high = read_topic("high_value_transactions", json_object_size(want_high) + 1);
    CU_ASSERT_EQUAL(json_array_size(high), json_object_size(want_high));
    json_array_foreach(high, i, r)
    {
        CU_ASSERT_PTR_NOT_NULL(json_object_get(want_high, str(json_object_get(r, "value"), "transaction_id")));
        CU_ASSERT_TRUE(num(json_object_get(r, "value"), "amount") > 500.0);
    }

    /* 8. category_windows: every window once, with its totals. */
    json_t *wins = read_topic("category_windows", json_object_size(want_windows) + 1);
    CU_ASSERT_EQUAL(json_array_size(wins), json_object_size(want_windows));
    json_array_foreach(wins, i, r)
    {
        json_t *v = json_object_get(r, "value");
        char key[128];
        snprintf(key, sizeof key, "%s|%s", str(v, "category"), str(v, "window_start"));
        json_t *w = json_object_get(want_windows, key);
        CU_ASSERT_PTR_NOT_NULL(w);
        CU_ASSERT_STRING_EQUAL(str(r, "key"), str(v, "category"));
        if (!w)
            continue;
        CU_ASSERT_EQUAL(llround(num(v, "total_amount") * 100), json_integer_value(json_array_get(w, 0)));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "transaction_count")),
                        json_integer_value(json_array_get(w, 1)));
        int64_t s, e2;
        CU_ASSERT_EQUAL(evtime_parse(str(v, "window_start"), strlen(str(v, "window_start")), &s), 0);
        CU_ASSERT_EQUAL(evtime_parse(str(v, "window_end"), strlen(str(v, "window_end")), &e2), 0);
        CU_ASSERT_EQUAL(e2 - s, 30000);
    }

    json_decref(in);
    json_decref(got);
    json_decref(aggs);
    json_decref(high);
    json_decref(wins);
    json_decref(want_processed);
    json_decref(want_high);
    json_decref(want_users);
    json_decref(want_windows);
    json_decref(summary);
}

static CU_TestInfo tests[] = {
    {"test_engine_processes_10000_generated_records_exactly",
     test_engine_processes_10000_generated_records_exactly},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("integration", tests, setup, teardown)
