/* test_txn_typed.c — the typed transaction path writes what the JSON path
 * writes (tests/txn_paths.h), on records it takes and on records it must
 * hand to the JSON path. */
#include <stdio.h>

#include "engine/dataflow_exec.h"
#include "engine/jsonr.h"
#include "testlib.h"
#include "txn_paths.h"

#define BASE                                                                                       \
    "\"transaction_id\":\"txn_1\",\"user_id\":\"user_7\",\"product\":\"book\","                    \
    "\"category\":\"books\",\"payment_method\":\"paypal\","                                        \
    "\"timestamp\":\"2024-01-15T10:00:00.123456\",\"location\":\"city_1\""

static txn_paths_t check(const char *in, bool want_typed)
{
    txn_paths_t p = txn_paths_compare(in, strlen(in));
    if (p.typed != want_typed || !p.same_result || !p.same_error ||
        (p.json_ok && (!p.same_time || !p.same_text || !p.same_as_json)))
        fprintf(stderr, "differs on %s: typed %d json_ok %d result %d error %d time %d text %d "
                        "to_json %d (%s)\n",
                in, p.typed, p.json_ok, p.same_result, p.same_error, p.same_time, p.same_text,
                p.same_as_json, p.err);
    CU_ASSERT_EQUAL(p.typed, want_typed);
    CU_ASSERT_TRUE(p.same_result);
    CU_ASSERT_TRUE(p.same_error);
    if (p.json_ok) {
        CU_ASSERT_TRUE(p.same_time);
        CU_ASSERT_TRUE(p.same_text);
        CU_ASSERT_TRUE(p.same_as_json);
    }
    return p;
}

/* What the generator writes, and the shapes the typed path still holds. */
static void test_typed_records(void)
{
    check("{" BASE ",\"amount\":123.45,\"quantity\":2}", true);
    check("{\"amount\":19.99,\"quantity\":1," BASE "}", true);     /* another order */
    check("{" BASE ",\"amount\":100,\"quantity\":1}", true);       /* a whole amount */
    check("{" BASE ",\"amount\":1.5e2,\"quantity\":1}", true);     /* an exponent */
    check("{" BASE ",\"amount\":0,\"quantity\":-0}", true);        /* zero, minus zero */
    check("{" BASE ",\"amount\":0.1234567890123456789,\"quantity\":3}", true);
    check(" {\t" BASE " , \"amount\" : 50.5 ,\n\"quantity\" : 1 }\r\n", true); /* blanks */
    /* extra fields of every flat kind are carried through */
    check("{" BASE ",\"amount\":250.0,\"quantity\":1,\"coupon\":\"X1\",\"n\":9007199254740993,"
          "\"r\":1e-7,\"t\":true,\"f\":false,\"z\":null}",
          true);
    /* every category's discount, with amounts that round on cents */
    static const char *const cats[] = {"electronics", "books", "clothing", "toys"};
    static const char *const amounts[] = {"0.01", "0.05", "19.99", "999.99", "1000000", "12.345"};
    for (size_t c = 0; c < 4; c++)
        for (size_t a = 0; a < sizeof amounts / sizeof *amounts; a++) {
            char in[512];
            snprintf(in, sizeof in,
                     "{\"transaction_id\":\"t\",\"user_id\":\"u\",\"product\":\"p\","
                     "\"category\":\"%s\",\"amount\":%s,\"quantity\":1,\"payment_method\":\"m\","
                     "\"timestamp\":\"2024-01-15T10:00:00\",\"location\":\"l\"}",
                     cats[c], amounts[a]);
            check(in, true);
        }
}

/* Records the typed path cannot write back byte for byte: the JSON path
 * takes them, with its own result and message. */
static void test_declined_records(void)
{
    check("{" BASE ",\"amount\":\"12.50\",\"quantity\":1}", false);    /* a string amount */
    check("{" BASE ",\"amount\":12.5,\"quantity\":\"2\"}", false);     /* a string quantity */
    check("{" BASE ",\"amount\":12.5,\"quantity\":2.0}", false);       /* a real quantity */
    check("{" BASE ",\"amount\":12.5,\"quantity\":1,\"note\":\"caf\\u00e9\"}", false); /* escape */
    check("{" BASE ",\"amount\":12.5,\"quantity\":1,\"note\":\"Z\xc3\xbcrich\"}", false); /* UTF-8 */
    check("{" BASE ",\"amount\":12.5,\"quantity\":1,\"meta\":{\"a\":1}}", false); /* nested */
    check("{" BASE ",\"amount\":12.5,\"quantity\":1,\"tags\":[1,2]}", false);
    check("{" BASE ",\"amount\":12.5,\"quantity\":1,\"final_amount\":3}", false); /* replaced */
    /* and what neither path takes: the JSON path's reasons */
    check("{" BASE ",\"amount\":12.5,\"quantity\":1,}", false);              /* trailing comma */
    check("{" BASE ",\"amount\":12.5,\"quantity\":1,\"amount\":3}", false);  /* duplicate */
    check("{" BASE ",\"amount\":012.5,\"quantity\":1}", false);              /* leading zero */
    check("{" BASE ",\"amount\":-1,\"quantity\":1}", false);                 /* negative */
    check("{" BASE ",\"amount\":12.5}", false);                              /* missing */
    check("{" BASE ",\"amount\":12.5,\"quantity\":1} x", false);             /* trailing bytes */
    check("{" BASE ",\"amount\":12.5,\"quantity\":1}{}", false);
    check("{" BASE ",\"amount\":12.5 \"quantity\":1}", false);               /* no comma */
    check("{" BASE ",\"amount\" 12.5,\"quantity\":1}", false);               /* no colon */
    check("{" BASE ",\"amount\":1e999,\"quantity\":1}", false);              /* overflow */
    check("{\"transaction_id\":\"t\",\"user_id\":\"u\",\"product\":\"p\",\"category\":\"c\","
          "\"amount\":1,\"quantity\":1,\"payment_method\":\"m\",\"timestamp\":\"yesterday\","
          "\"location\":\"l\"}",
          false);                                                           /* a bad time */
    check("[1,2]", false);
    check("", false);
    char nul[] = "{" BASE ",\"amount\":12.5,\"quantity\":1}\0";
    txn_paths_t p = txn_paths_compare(nul, sizeof nul - 1); /* a NUL after the object */
    CU_ASSERT_FALSE(p.typed);
    CU_ASSERT_TRUE(p.same_result && p.same_error);
}

static void drop(void *opaque, const char *topic, const char *key, size_t keylen, char *payload,
                 size_t len)
{
    (void)opaque, (void)topic, (void)key, (void)keylen, (void)len;
    free(payload);
}

/* One envelope read from a repartition topic: the value it gives must be
 * the value in its "v", written the same; kept as bytes (raw) or not. */
static void check_envelope(df_graph_t *g, const char *env, bool want_raw)
{
    df_record_t r;
    char err[256];
    int src = df_graph_parse(g, "repartition-category_windows", 0, 7, env, strlen(env), 0, &r, err,
                             sizeof err);
    if (src < 0)
        fprintf(stderr, "parse %d (%s): %s\n", src, err, env);
    CU_ASSERT_TRUE_FATAL(src >= 0);
    bool raw = r.obj != NULL;
    if (raw != want_raw)
        fprintf(stderr, "raw %d, wanted %d: %s\n", raw, want_raw, env);
    CU_ASSERT_EQUAL(raw, want_raw);
    CU_ASSERT_EQUAL(r.event_ms, 1705312800000);
    CU_ASSERT_EQUAL(r.offset, 42 * DF_REPART_PARTS + 1);
    char *as_is = NULL;
    txn_write_any(&r, &as_is);
    double fa = -1;
    CU_ASSERT_TRUE(df_record_number(&r, "final_amount", &fa));
    size_t n = 0;
    const char *cat = df_record_string(&r, "category", &n);
    CU_ASSERT_TRUE(cat && n == 5 && !memcmp(cat, "books", 5));
    json_t *whole = jsonr_load(env, strlen(env), 0, NULL);
    char *want = jsonw_dumps(json_object_get(whole, "v"), NULL);
    CU_ASSERT_STRING_EQUAL(as_is, want);
    CU_ASSERT_DOUBLE_EQUAL(fa, json_real_value(json_object_get(json_object_get(whole, "v"), "final_amount")), 1e-9);
    char *json = jsonw_dumps(df_record_json(&r), NULL); /* and as JSON, for operators that need it */
    CU_ASSERT_STRING_EQUAL(json, want);
    free(as_is), free(want), free(json);
    json_decref(whole);
    df_record_release(&r);
    json_decref(r.key);
}

static void test_repartitioned_records(void)
{
    pipeline_params_t p;
    pipeline_params_init(&p);
    df_host_t h = {.emit = drop, .repartition = true};
    df_graph_t *g = pipeline_transactions(&h, &p);
#define V "{\"transaction_id\":\"t\",\"category\":\"books\",\"amount\":20.0,\"final_amount\":18.0"
    /* what write_envelope writes: kept as bytes */
    check_envelope(g, "{\"t\":1705312800000,\"o\":42,\"s\":1,\"v\":" V ",\"n\":-3,\"x\":1e-7,\"b\":true,\"z\":null,\"a\":[1,\"s\",{}]}}", true);
    check_envelope(g, "{\"t\":1705312800000,\"o\":42,\"s\":1,\"v\":" V "}}", true);
    /* not canonical: parsed as JSON, the same value */
    check_envelope(g, "{\"t\":1705312800000,\"o\":42,\"s\":1,\"v\":" V ",\"y\":1.50}}", false);
    check_envelope(g, "{\"t\":1705312800000,\"o\":42,\"s\":1,\"v\":" V ",\"y\":-0}}", false);
    check_envelope(g, "{\"t\":1705312800000, \"o\":42,\"s\":1,\"v\":" V "}}", false);
    check_envelope(g, "{\"t\":1705312800000,\"o\":42,\"s\":1,\"v\":" V ",\"q\":\"a\\\"b\"}}", false);
    check_envelope(g, "{\"t\":1705312800000,\"o\":42,\"s\":1,\"v\":" V ",\"q\":\"\xc3\xa9\"}}", false);
    check_envelope(g, "{\"t\":1705312800000,\"o\":42,\"s\":1,\"v\":" V ",\"amount\":3}}", false);
    check_envelope(g, "{\"o\":42,\"t\":1705312800000,\"s\":1,\"v\":" V "}}", false);
    /* an integer JSON cannot hold: refused by both paths, as before */
    const char *big = "{\"t\":1705312800000,\"o\":42,\"s\":1,\"v\":" V ",\"w\":12345678901234567890}}";
    df_record_t r;
    char err[256];
    CU_ASSERT_EQUAL(df_graph_parse(g, "repartition-category_windows", 0, 8, big, strlen(big), 0, &r,
                                   err, sizeof err), -2);
#undef V
    df_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"a repartitioned record is kept as its bytes only when they are canonical", test_repartitioned_records},
    {"the typed path writes what the JSON path writes", test_typed_records},
    {"records the typed path declines get the JSON path's answer", test_declined_records},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("txn_typed", tests, NULL, NULL)
