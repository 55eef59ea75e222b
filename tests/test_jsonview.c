/* test_jsonview.c — the inspector's value rendering (tui/jsonview.c).
 *
 * A seed transaction pretty-prints key by key in its own order, two spaces per
 * level, with the right colour class per token; nested objects and arrays indent;
 * reals keep their written form (837.02, 10.0); a base64 JPEG frame_data is one
 * summary "<base64: N bytes, JPEG image>" with the decoded size; other magic
 * numbers are named; short or non-base64 strings are left alone; long strings are
 * cut with a count; text that is not JSON comes out as its lines; binary as a hex
 * summary; null and empty values say so. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/jsonview.h"
#include "testlib.h"

static char *line(const jv_doc_t *d, int i)
{
    static char buf[4096];
    char *t = jsonview_line_text(&d->lines[i]);
    snprintf(buf, sizeof buf, "%s", t);
    free(t);
    return buf;
}

/* The kind of the segment whose text is `text` on line i, or -1. */
static int kind_of(const jv_doc_t *d, int i, const char *text)
{
    for (int k = 0; k < d->lines[i].nsegs; k++)
        if (!strcmp(d->lines[i].segs[k].text, text))
            return (int)d->lines[i].segs[k].kind;
    return -1;
}

static void test_transaction_pretty_prints_in_key_order(void)
{
    const char *v = "{\"transaction_id\":\"txn_1\",\"user_id\":\"user_5\",\"amount\":837.02,"
                    "\"quantity\":2,\"ok\":true,\"note\":null,\"price\":10.0}";
    jv_doc_t *d = jsonview_render(v, strlen(v));
    CU_ASSERT_TRUE(d->json);
    CU_ASSERT_EQUAL_FATAL(d->nlines, 9);
    CU_ASSERT_STRING_EQUAL(line(d, 0), "{");
    CU_ASSERT_STRING_EQUAL(line(d, 1), "  \"transaction_id\": \"txn_1\",");
    CU_ASSERT_STRING_EQUAL(line(d, 2), "  \"user_id\": \"user_5\",");
    CU_ASSERT_STRING_EQUAL(line(d, 3), "  \"amount\": 837.02,");
    CU_ASSERT_STRING_EQUAL(line(d, 4), "  \"quantity\": 2,");
    CU_ASSERT_STRING_EQUAL(line(d, 5), "  \"ok\": true,");
    CU_ASSERT_STRING_EQUAL(line(d, 6), "  \"note\": null,");
    CU_ASSERT_STRING_EQUAL(line(d, 7), "  \"price\": 10.0");
    CU_ASSERT_STRING_EQUAL(line(d, 8), "}");
    CU_ASSERT_EQUAL(kind_of(d, 1, "\"transaction_id\""), JV_KEY);
    CU_ASSERT_EQUAL(kind_of(d, 1, "\"txn_1\""), JV_STRING);
    CU_ASSERT_EQUAL(kind_of(d, 3, "837.02"), JV_NUMBER);
    CU_ASSERT_EQUAL(kind_of(d, 5, "true"), JV_LITERAL);
    CU_ASSERT_EQUAL(kind_of(d, 6, "null"), JV_LITERAL);
    CU_ASSERT_EQUAL(kind_of(d, 0, "{"), JV_PUNCT);
    jsonview_free(d);
}

static void test_nesting_indents_objects_and_arrays(void)
{
    const char *v = "{\"a\":{\"b\":[1,\"x\\\"y\"],\"e\":{},\"f\":[]}}";
    jv_doc_t *d = jsonview_render(v, strlen(v));
    CU_ASSERT_EQUAL_FATAL(d->nlines, 10);
    CU_ASSERT_STRING_EQUAL(line(d, 1), "  \"a\": {");
    CU_ASSERT_STRING_EQUAL(line(d, 2), "    \"b\": [");
    CU_ASSERT_STRING_EQUAL(line(d, 3), "      1,");
    CU_ASSERT_STRING_EQUAL(line(d, 4), "      \"x\\\"y\"");
    CU_ASSERT_STRING_EQUAL(line(d, 5), "    ],");
    CU_ASSERT_STRING_EQUAL(line(d, 6), "    \"e\": {},");
    CU_ASSERT_STRING_EQUAL(line(d, 7), "    \"f\": []");
    CU_ASSERT_STRING_EQUAL(line(d, 8), "  }");
    CU_ASSERT_STRING_EQUAL(line(d, 9), "}");
    jsonview_free(d);
}

static char *b64(const unsigned char *raw, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
    return out;
}

static void test_base64_payloads_are_summarised_with_size_and_type(void)
{
    unsigned char jpeg[3000];
    for (size_t i = 0; i < sizeof jpeg; i++)
        jpeg[i] = (unsigned char)(i * 7);
    jpeg[0] = 0xFF, jpeg[1] = 0xD8, jpeg[2] = 0xFF, jpeg[3] = 0xE0;
    char *enc = b64(jpeg, sizeof jpeg);
    size_t len = strlen(enc) + 64;
    char *v = malloc(len);
    snprintf(v, len, "{\"frame_data\":\"%s\",\"frame_width\":640}", enc);
    jv_doc_t *d = jsonview_render(v, strlen(v));
    CU_ASSERT_EQUAL_FATAL(d->nlines, 4);
    CU_ASSERT_STRING_EQUAL(line(d, 1), "  \"frame_data\": <base64: 3,000 bytes, JPEG image>,");
    CU_ASSERT_EQUAL(kind_of(d, 1, "<base64: 3,000 bytes, JPEG image>"), JV_SUMMARY);
    jsonview_free(d);
    free(v);
    free(enc);

    char out[128];
    unsigned char pdf[100] = "%PDF-1.4 hello";
    enc = b64(pdf, 99); /* 99 bytes: no padding */
    CU_ASSERT_TRUE(jsonview_b64_summary(enc, strlen(enc), out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, "<base64: 99 bytes, PDF document>");
    free(enc);
    unsigned char png[98] = "\x89PNG\r\n\x1a\n";
    enc = b64(png, 98); /* padding "==" */
    CU_ASSERT_TRUE(jsonview_b64_summary(enc, strlen(enc), out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, "<base64: 98 bytes, PNG image>");
    free(enc);
    /* Not payloads: short, a space, a sentence. */
    CU_ASSERT_FALSE(jsonview_b64_summary("aGVsbG8=", 8, out, sizeof out));
    const char *sentence = "This is a long sentence that is certainly not base64 but it is long "
                           "enough to be considered";
    CU_ASSERT_FALSE(jsonview_b64_summary(sentence, strlen(sentence), out, sizeof out));
}

static void test_long_strings_are_cut_with_a_count(void)
{
    char v[1200];
    int n = snprintf(v, sizeof v, "{\"s\":\"");
    for (int i = 0; i < 500; i++)
        v[n++] = i % 10 == 9 ? ' ' : 'a';
    n += snprintf(v + n, sizeof v - (size_t)n, "\"}");
    jv_doc_t *d = jsonview_render(v, (size_t)n);
    CU_ASSERT_EQUAL_FATAL(d->nlines, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(line(d, 1), " ...(200 more bytes)"));
    jsonview_free(d);
}

static void test_values_that_are_not_json(void)
{
    jv_doc_t *d = jsonview_render("hello\nworld", 11);
    CU_ASSERT_FALSE(d->json);
    CU_ASSERT_EQUAL_FATAL(d->nlines, 2);
    CU_ASSERT_STRING_EQUAL(line(d, 0), "hello");
    CU_ASSERT_STRING_EQUAL(line(d, 1), "world");
    jsonview_free(d);
    d = jsonview_render("{\"broken\":", 10);
    CU_ASSERT_FALSE(d->json);
    CU_ASSERT_STRING_EQUAL(line(d, 0), "{\"broken\":");
    jsonview_free(d);
    d = jsonview_render("\x00\x01\x02xyz", 6);
    CU_ASSERT_FALSE(d->json);
    CU_ASSERT_EQUAL_FATAL(d->nlines, 2);
    CU_ASSERT_STRING_EQUAL(line(d, 0), "<binary: 6 bytes>");
    CU_ASSERT_STRING_EQUAL(line(d, 1), "00 01 02 78 79 7a ");
    jsonview_free(d);
    d = jsonview_render(NULL, 0);
    CU_ASSERT_STRING_EQUAL(line(d, 0), "(null)");
    jsonview_free(d);
    d = jsonview_render("", 0);
    CU_ASSERT_STRING_EQUAL(line(d, 0), "(empty)");
    jsonview_free(d);
    /* A bare JSON scalar is JSON too. */
    d = jsonview_render("42", 2);
    CU_ASSERT_TRUE(d->json);
    CU_ASSERT_STRING_EQUAL(line(d, 0), "42");
    jsonview_free(d);
}

static CU_TestInfo tests[] = {
    {"transaction pretty-prints in key order", test_transaction_pretty_prints_in_key_order},
    {"nesting indents objects and arrays", test_nesting_indents_objects_and_arrays},
    {"base64 payloads are summarised with size and type",
     test_base64_payloads_are_summarised_with_size_and_type},
    {"long strings are cut with a count", test_long_strings_are_cut_with_a_count},
    {"values that are not JSON", test_values_that_are_not_json},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("jsonview", tests, NULL, NULL)
