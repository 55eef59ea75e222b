/* test_jsonr.c — jsonr (engine/jsonr.c): yajl builds the values Jansson
 * would, and whatever it does not take goes to Jansson, so that values and
 * error messages are Jansson's. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonr.h"
#include "testlib.h"

/* The dumped text of buf as Jansson reads it and as jsonr_load reads it. */
static void same(const char *buf, size_t flags, bool fast_path)
{
    json_error_t e1, e2;
    json_t *want = json_loadb(buf, strlen(buf), flags, &e1);
    json_t *fast = jsonr_loadb(buf, strlen(buf), flags);
    json_t *got = jsonr_load(buf, strlen(buf), flags, &e2);
    CU_ASSERT_EQUAL(fast != NULL, fast_path);
    if (!want) {
        CU_ASSERT_PTR_NULL(got);
        CU_ASSERT_STRING_EQUAL(e1.text, e2.text);
    } else {
        char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        CU_ASSERT_STRING_EQUAL(a, b);
        if (strcmp(a, b))
            printf("\n# %s: %s vs %s\n", buf, a, b);
        free(a);
        free(b);
    }
    json_decref(want);
    json_decref(fast);
    json_decref(got);
}

static void test_jsonr_reads_a_transaction_as_jansson_does_key_order_and_number_kinds_kept(void)
{
    same("{\"transaction_id\":\"txn_1_2\",\"user_id\":\"user_\\t_é\",\"amount\":1314,"
         "\"quantity\":2.0,\"price\":1e3,\"neg\":-0,\"ok\":true,\"no\":null,"
         "\"nested\":{\"b\":[1,2,{\"c\":\"\\u00e9\\n\"}],\"a\":-12.5E-2}}",
         JSON_REJECT_DUPLICATES, true);
    same("[1, 2 ,\t3]\n", 0, true);
}

static void test_jsonr_gives_what_it_cannot_match_to_jansson_with_its_error_text(void)
{
    same("not json", 0, false);
    same("{\"a\":1} trailing", 0, false);
    same("{\"a\":1,\"a\":2}", JSON_REJECT_DUPLICATES, false); /* Jansson names the duplicate */
    same("{\"a\":1,\"a\":2}", 0, true);                        /* the later one wins */
    same("\"just a string\"", 0, false);                       /* not an object or array */
    same("\"just a string\"", JSON_DECODE_ANY, false);       /* scalars: Jansson's */
    same("\"\"\"&pp", JSON_DECODE_ANY, false);                  /* found by fuzz_jsonr */
    same("{\"a\":\"x\\u0000y\"}", 0, false);                   /* NUL: Jansson refuses it */
    same("{\"big\":123456789012345678901234567890}", 0, false); /* too big an integer */
    same("{\"r\":1e999}", 0, false);                           /* real overflow */
    same("{\"s\":\"\\ud83d\\ude00\"}", 0, false);              /* surrogates: Jansson judges */
    same("{\"s\":\"\\ud800\"}", 0, false);
    same("{\"s\":\"\xff\"}", 0, false);                        /* not UTF-8 */
    same("{\"a\":01}", 0, false);
    same("{}\"", 0, false);                                     /* found by fuzz_jsonr */
    same("{} \n", 0, true);
    same("{\"a\"\v:null}", 0, false);                           /* found by fuzz_jsonr */
    same("[1,\f2]", 0, false);
    same("{\"t\":\"2024-01-1\xc1\xab" "10\"}", 0, false);              /* overlong UTF-8: fuzz_jsonr */
    same("{\"\xc1\xab\":1}", 0, false);
    same("", 0, false);
}

static CU_TestInfo tests[] = {
    {"test_jsonr_reads_a_transaction_as_jansson_does_key_order_and_number_kinds_kept",
     test_jsonr_reads_a_transaction_as_jansson_does_key_order_and_number_kinds_kept},
    {"test_jsonr_gives_what_it_cannot_match_to_jansson_with_its_error_text",
     test_jsonr_gives_what_it_cannot_match_to_jansson_with_its_error_text},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("jsonr", tests, NULL, NULL)
