/* test_txn_typed.c — the typed transaction path writes what the JSON path
 * writes (tests/txn_paths.h), on records it takes and on records it must
 * hand to the JSON path. */
#include <stdio.h>

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

static CU_TestInfo tests[] = {
    {"the typed path writes what the JSON path writes", test_typed_records},
    {"records the typed path declines get the JSON path's answer", test_declined_records},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("txn_typed", tests, NULL, NULL)
