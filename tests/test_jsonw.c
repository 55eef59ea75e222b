/* test_jsonw.c — jsonw_dumps writes exactly what json_dumps(v, DF_JSON_FLAGS)
 * writes: a differential test against Jansson on generated values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dataflow.h"
#include "engine/jsonw.h"
#include "testlib.h"

static int same_as_jansson(const json_t *v)
{
    char *want = json_dumps(v, DF_JSON_FLAGS);
    size_t len;
    char *got = jsonw_dumps(v, &len);
    int ok = want && !strcmp(want, got) && len == strlen(want);
    if (!ok)
        fprintf(stderr, "jansson: %s\njsonw:   %s\n", want, got);
    free(want);
    free(got);
    return ok;
}

static void test_jsonw_matches_jansson_on_money_and_other_reals(void)
{
    static const double vals[] = {0.0, 1.0, -1.0, 0.5, 0.08, 0.07999999999999996, 754.86, 999.99,
                                  1000.0, 10.5, 1772148.77, 123456789012.34, 1e13, 1e15, 1e16,
                                  1e20, 1e-5, 3.14159265358979, -0.25, 2.5e-300, 1.7976931348623157e308,
                                  -12.3, 100.01, 0.1 + 0.2, 19.99 * 0.9};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        json_t *r = json_pack("[f]", vals[i]);
        CU_ASSERT_TRUE(same_as_jansson(r));
        json_decref(r);
    }
    srand(7);
    for (int i = 0; i < 200000; i++) {
        double d = (rand() % 2000000 - 1000000) / 100.0;
        if (i % 3 == 0)
            d = (double)rand() / RAND_MAX * pow(10, rand() % 30 - 15);
        json_t *r = json_pack("[f]", d);
        int ok = same_as_jansson(r);
        json_decref(r);
        if (!ok) {
            CU_FAIL("a real differs from Jansson");
            break;
        }
    }
}

static void test_jsonw_matches_jansson_on_strings_and_structure(void)
{
    json_t *v = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:b,s:n,s:[i,f,{}],s:{}}", "plain", "user_1",
                          "escapes", "q\"b\\s/n\nr\rt\tb\bf\f", "unicode", "caf\xc3\xa9 \xe2\x9c\x93",
                          "big", (json_int_t)9223372036854775807LL, "neg",
                          (json_int_t)(-9223372036854775807LL - 1), "t", 1, "f", 0, "nul", "arr",
                          1, 2.5, "empty");
    json_object_set_new(v, "ctl", json_stringn("\x01\x1f\x7f", 3));
    json_object_set_new(v, "nul_inside", json_stringn("a\0b", 3));
    CU_ASSERT_TRUE(same_as_jansson(v));
    json_decref(v);
}

static CU_TestInfo tests[] = {
    {"test_jsonw_matches_jansson_on_money_and_other_reals",
     test_jsonw_matches_jansson_on_money_and_other_reals},
    {"test_jsonw_matches_jansson_on_strings_and_structure",
     test_jsonw_matches_jansson_on_strings_and_structure},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("jsonw", tests, NULL, NULL)
