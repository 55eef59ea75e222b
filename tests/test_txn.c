/* test_txn.c — the transaction pipeline's pieces: txn_parse (validation of
 * seed records), the category discounts and their rounding to cents, and the
 * transaction generator (producers/txgen) whose records must all validate.
 *
 * Rounding cases are worked by hand in cents: amount * 100 * factor, then
 * half away from zero. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/evtime.h"
#include "engine/pipelines/pipelines.h"
#include "producers/txgen.h"
#include "testlib.h"

/* The seed's sample record (README, "Transaction Data"). */
static const char SEED[] =
    "{\"transaction_id\":\"txn_1234567890_1234\",\"user_id\":\"user_123\",\"product\":\"laptop\","
    "\"category\":\"electronics\",\"amount\":999.99,\"quantity\":1,\"payment_method\":"
    "\"credit_card\",\"timestamp\":\"2024-01-15T10:30:00\",\"location\":\"city_5\"}";
/* 2024-01-15T10:30:00 in wall-clock ms: 19737 days * 86400 + 37800 s. */
#define SEED_MS INT64_C(1705314600000)

static const char *const FIELDS[] = {"transaction_id", "user_id",   "product",
                                     "category",       "amount",    "quantity",
                                     "payment_method", "timestamp", "location"};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* Runs txn_parse on a NUL-terminated string.  On success *value is a new
 * reference the caller frees; on failure it stays NULL. */
static int parse(const char *s, json_t **value, int64_t *ms, char *err, size_t errsize)
{
    *value = NULL;
    err[0] = '\0';
    return txn_parse(s, strlen(s), value, ms, err, errsize, NULL);
}

/* The seed record with one field changed (or removed when repl is NULL),
 * serialized; the caller frees the string. */
static char *seed_with(const char *field, json_t *repl)
{
    json_t *v = json_loads(SEED, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    if (repl)
        json_object_set_new(v, field, repl);
    else
        json_object_del(v, field);
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

/* Asserts s is rejected with an error text that names `names` (if not NULL). */
static void assert_rejected(const char *s, const char *names)
{
    json_t *v;
    int64_t ms = 0;
    char err[256];
    int rc = parse(s, &v, &ms, err, sizeof err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT(err[0] != '\0');
    if (names)
        CU_ASSERT_PTR_NOT_NULL(strstr(err, names));
    if (rc != -1 || (names && !strstr(err, names)))
        fprintf(stderr, "\n  input %s: rc %d, err \"%s\", wanted it to name %s\n", s, rc, err,
                names ? names : "-");
    if (rc == 0)
        json_decref(v);
}

static void assert_rejected_naming_field(const char *s, const char *field)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", field);
    assert_rejected(s, quoted);
}

/* --- txn_parse: good records ------------------------------------------- */

static void test_parse_accepts_seed_record_and_reads_event_time(void)
{
    json_t *v;
    int64_t ms = 0;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(SEED, &v, &ms, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT(json_is_object(v));
    CU_ASSERT_EQUAL(ms, SEED_MS);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "transaction_id")),
                           "txn_1234567890_1234");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "user_id")), "user_123");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "category")), "electronics");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(v, "amount")), 999.99, 1e-9);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "quantity")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "location")), "city_5");
    CU_ASSERT_EQUAL(json_object_size(v), NFIELDS);
    json_decref(v);
}

static void test_parse_accepts_integer_amount(void)
{
    char *s = seed_with("amount", json_integer(250));
    json_t *v;
    int64_t ms = 0;
    char err[256];
    CU_ASSERT_EQUAL(parse(s, &v, &ms, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(v);
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(v, "amount")), 250.0, 1e-12);
    json_decref(v);
    free(s);
}

/* The original reads amount with float() and quantity with int(): a client
 * sending "999.99", "2" or 2.0 was processed there, so it is here, and the
 * value goes on as a number.  Expected values are those texts read as numbers. */
static void test_parse_accepts_numeric_strings_and_integral_float_quantity(void)
{
    struct {
        const char *field;
        json_t *value;
        double want;
    } cases[] = {
        {"amount", json_string("999.99"), 999.99},
        {"amount", json_string(" 12.5 "), 12.5},
        {"amount", json_string("250"), 250.0},
        {"amount", json_string("1e3"), 1000.0},
        {"quantity", json_string("2"), 2},
        {"quantity", json_real(2.0), 2},
        {"quantity", json_string("3.0"), 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = seed_with(cases[i].field, cases[i].value);
        json_t *v;
        int64_t ms = 0;
        char err[256];
        int rc = parse(s, &v, &ms, err, sizeof err);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc) {
            fprintf(stderr, "\n  rejected %s: %s\n", s, err);
            free(s);
            continue;
        }
        json_t *f = json_object_get(v, cases[i].field);
        CU_ASSERT(json_is_number(f));
        CU_ASSERT_DOUBLE_EQUAL(json_number_value(f), cases[i].want, 1e-9);
        if (!strcmp(cases[i].field, "quantity"))
            CU_ASSERT(json_is_integer(f));
        json_decref(v);
        free(s);
    }
}

/* A field the original does not know is carried through untouched. */
static void test_parse_keeps_unknown_fields(void)
{
    char *s = seed_with("coupon", json_pack("{sssf}", "code", "SPRING", "off", 0.1));
    json_t *v;
    int64_t ms = 0;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(s, &v, &ms, err, sizeof err), 0);
    CU_ASSERT_EQUAL(json_object_size(v), NFIELDS + 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(v, "coupon"), "code")),
                           "SPRING");
    json_decref(v);
    free(s);
}

static void test_parse_accepts_seed_timestamp_with_microseconds(void)
{
    char *s = seed_with("timestamp", json_string("2024-01-15T10:30:00.123456"));
    json_t *v;
    int64_t ms = 0;
    char err[256];
    CU_ASSERT_EQUAL(parse(s, &v, &ms, err, sizeof err), 0);
    CU_ASSERT_EQUAL(ms, SEED_MS + 123);
    json_decref(v);
    free(s);
}

static void test_parse_reads_only_len_bytes(void)
{
    /* A Kafka payload is not NUL-terminated: bytes after len are not ours. */
    size_t n = strlen(SEED);
    char *buf = malloc(n + 8);
    memcpy(buf, SEED, n);
    memcpy(buf + n, "garbage", 8);
    json_t *v = NULL;
    int64_t ms = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL(txn_parse(buf, n, &v, &ms, err, sizeof err, NULL), 0);
    CU_ASSERT_EQUAL(ms, SEED_MS);
    json_decref(v);
    free(buf);
}

/* --- txn_parse: bad records -------------------------------------------- */

static void test_parse_rejects_text_that_is_not_json(void)
{
    assert_rejected("hello world", NULL);
    assert_rejected("{transaction_id: 1}", NULL);
    json_t *v = NULL;
    int64_t ms = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL(txn_parse("", 0, &v, &ms, err, sizeof err, NULL), -1);
    CU_ASSERT(err[0] != '\0');
}

static void test_parse_rejects_truncated_json(void)
{
    char buf[sizeof SEED];
    for (size_t cut = 1; cut < strlen(SEED); cut += 7) {
        memcpy(buf, SEED, cut);
        buf[cut] = '\0';
        assert_rejected(buf, NULL);
    }
}

static void test_parse_rejects_json_that_is_not_an_object(void)
{
    assert_rejected("[1,2,3]", "array");
    assert_rejected("[]", "array");
    /* Scalars: whatever the message, the record must not pass. */
    assert_rejected("\"txn\"", NULL);
    assert_rejected("42", NULL);
    assert_rejected("999.99", NULL);
    assert_rejected("null", NULL);
    assert_rejected("true", NULL);
}

static void test_parse_rejects_each_missing_field_by_name(void)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        char *s = seed_with(FIELDS[i], NULL);
        assert_rejected_naming_field(s, FIELDS[i]);
        free(s);
    }
}

static void test_parse_rejects_each_field_with_wrong_type_by_name(void)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        /* Strings get a number, numbers a string that is no number (the
         * original reads "1" with float()/int()); every field gets null, a
         * boolean and an object too. */
        bool numeric = !strcmp(FIELDS[i], "amount") || !strcmp(FIELDS[i], "quantity");
        json_t *wrong[] = {numeric ? json_string("one") : json_integer(7), json_null(), json_true(),
                           json_object(), json_array()};
        for (size_t j = 0; j < sizeof wrong / sizeof wrong[0]; j++) {
            char *s = seed_with(FIELDS[i], wrong[j]);
            assert_rejected_naming_field(s, FIELDS[i]);
            free(s);
        }
    }
}

static void test_parse_rejects_specific_wrong_types(void)
{
    struct {
        const char *field;
        json_t *value;
    } cases[] = {
        {"amount", json_string("999.99 USD")}, /* float() fails on these */
        {"amount", json_string("")},
        {"amount", json_string("nan")},
        {"amount", json_true()},
        {"quantity", json_real(2.5)},           /* not a whole number */
        {"quantity", json_string("two")},
        {"quantity", json_string("2.5")},
        {"user_id", json_integer(123)},
        {"timestamp", json_integer(1705314600)},
        {"transaction_id", json_real(1.5)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = seed_with(cases[i].field, cases[i].value);
        assert_rejected_naming_field(s, cases[i].field);
        free(s);
    }
}

static void test_parse_rejects_bad_timestamp(void)
{
    static const char *const bad[] = {"", "yesterday", "2024-01-15", "2023-02-29T10:00:00",
                                      "2024-13-01T00:00:00", "2024-01-15T24:00:00",
                                      "2024-01-15T10:30:00junk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *s = seed_with("timestamp", json_string(bad[i]));
        assert_rejected_naming_field(s, "timestamp");
        free(s);
    }
}

static void test_parse_rejects_negative_amount(void)
{
    char *s = seed_with("amount", json_real(-5.0));
    assert_rejected_naming_field(s, "amount");
    free(s);
    s = seed_with("amount", json_integer(-1));
    assert_rejected_naming_field(s, "amount");
    free(s);
}

/* --- discounts ------------------------------------------------------------ */

static void test_discount_factor_per_category(void)
{
    CU_ASSERT_DOUBLE_EQUAL(txn_discount_factor("electronics"), 0.95, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(txn_discount_factor("books"), 0.90, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(txn_discount_factor("clothing"), 0.92, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(txn_discount_factor("home"), 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(txn_discount_factor("garden"), 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(txn_discount_factor(""), 1.0, 1e-12);
    /* Names are exact: no case folding, no prefixes. */
    CU_ASSERT_DOUBLE_EQUAL(txn_discount_factor("Electronics"), 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(txn_discount_factor("book"), 1.0, 1e-12);
}

static void test_final_cents_applies_factor_exactly(void)
{
    /* 10000 c * 0.95 = 9500 c. */
    CU_ASSERT_EQUAL(txn_final_cents(100.00, 0.95), 9500);
    /* 100000 c * 0.95 = 95000 c. */
    CU_ASSERT_EQUAL(txn_final_cents(1000.00, 0.95), 95000);
    /* 1250 c * 0.90 = 1125 c. */
    CU_ASSERT_EQUAL(txn_final_cents(12.50, 0.90), 1125);
    /* No discount: the amount in cents. */
    CU_ASSERT_EQUAL(txn_final_cents(123.45, 1.0), 12345);
    CU_ASSERT_EQUAL(txn_final_cents(0.0, 0.95), 0);
}

static void test_final_cents_rounds_to_nearest_cent(void)
{
    /* 1999 c * 0.90 = 1799.1 c -> 1799 (a naive 19.99*0.9*100 is 1799.0999..). */
    CU_ASSERT_EQUAL(txn_final_cents(19.99, 0.90), 1799);
    /* 1005 c * 0.92 = 924.6 c -> 925. */
    CU_ASSERT_EQUAL(txn_final_cents(10.05, 0.92), 925);
    /* 99999 c * 0.95 = 94999.05 c -> 94999 (.05 is below the half). */
    CU_ASSERT_EQUAL(txn_final_cents(999.99, 0.95), 94999);
    /* 11999 c * 0.90 = 10799.1 c -> 10799. */
    CU_ASSERT_EQUAL(txn_final_cents(119.99, 0.90), 10799);
    /* 11005 c * 0.92 = 10124.6 c -> 10125. */
    CU_ASSERT_EQUAL(txn_final_cents(110.05, 0.92), 10125);
    /* 1 c * 0.92 = 0.92 c -> 1; 1 c * 0.90 = 0.9 -> 1. */
    CU_ASSERT_EQUAL(txn_final_cents(0.01, 0.92), 1);
    CU_ASSERT_EQUAL(txn_final_cents(0.01, 0.90), 1);
}

static void test_final_cents_rounds_exact_halves_away_from_zero(void)
{
    /* 10 c * 0.95 = 9.5 c -> 10 (0.95 is 0.94999.. in binary: must still round up). */
    CU_ASSERT_EQUAL(txn_final_cents(0.10, 0.95), 10);
    /* 30 c * 0.95 = 28.5 c -> 29. */
    CU_ASSERT_EQUAL(txn_final_cents(0.30, 0.95), 29);
    /* 1010 c * 0.95 = 959.5 c -> 960. */
    CU_ASSERT_EQUAL(txn_final_cents(10.10, 0.95), 960);
    /* 250 c * 0.95 = 237.5 c -> 238. */
    CU_ASSERT_EQUAL(txn_final_cents(2.50, 0.95), 238);
}

static void test_final_cents_of_three_decimal_amount_below_half(void)
{
    /* 10.004 * 0.92 = 9.20368 -> 920 c. */
    CU_ASSERT_EQUAL(txn_final_cents(10.004, 0.92), 920);
    /* 10.006 * 0.92 = 9.20552 -> 921 c. */
    CU_ASSERT_EQUAL(txn_final_cents(10.006, 0.92), 921);
    /* 10.125 with no discount: 1012.5 c, a true half (10.125 is exact in
     * binary) -> 1013 c away from zero. */
    CU_ASSERT_EQUAL(txn_final_cents(10.125, 1.0), 1013);
}

static void test_final_cents_rounds_three_decimal_amount_only_once(void)
{
    /* pipelines.h: "amount * factor rounded to cents".  10.125 and 1.125 are
     * exact in binary, so there is no representation excuse:
     *   10.125 * 0.90 = 9.1125  -> 911.25 c -> 911 (not 912 = round(1012.5) * 0.9)
     *    1.125 * 0.90 = 1.0125  -> 101.25 c -> 101 (not 102 = round(112.5) * 0.9) */
    CU_ASSERT_EQUAL(txn_final_cents(10.125, 0.90), 911);
    CU_ASSERT_EQUAL(txn_final_cents(1.125, 0.90), 101);
    /* 20.375 * 0.92 = 18.745 -> 1874.5 c, a true half -> 1875
     * (rounding the amount first gives 2038 c * 0.92 = 1874.96 -> 1875 too). */
    CU_ASSERT_EQUAL(txn_final_cents(20.375, 0.92), 1875);
}

/* --- txgen ---------------------------------------------------------------- */

#define NGEN 1000
/* 2024-01-15T10:30:00 in µs; records are generated 37 ms apart. */
#define GEN_T0_US (SEED_MS * 1000)
#define GEN_STEP_US 37000

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The number after prefix in s (e.g. "user_", "user_42" -> 42), or -1. */
static long suffix_number(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (!s || strncmp(s, prefix, n) || !s[n])
        return -1;
    char *end;
    long v = strtol(s + n, &end, 10);
    return *end || s[n] == '0' || s[n] == '-' || s[n] == '+' ? -1 : v;
}

/* True if the raw JSON text of "amount" in buf has at most 2 decimals. */
static bool amount_text_has_at_most_2_decimals(const char *buf)
{
    const char *p = strstr(buf, "\"amount\":");
    if (!p)
        return false;
    p += strlen("\"amount\":");
    size_t intdigits = strspn(p, "0123456789");
    if (intdigits == 0)
        return false;
    p += intdigits;
    if (*p != '.')
        return *p == ',' || *p == '}';
    p++;
    size_t frac = strspn(p, "0123456789");
    return frac >= 1 && frac <= 2 && (p[frac] == ',' || p[frac] == '}');
}

static void test_txgen_records_all_pass_txn_parse(void)
{
    txgen_t *g = txgen_new(42);
    char buf[TXGEN_MAX_RECORD], key[TXGEN_MAX_KEY];
    int failures = 0;
    for (int i = 0; i < NGEN; i++) {
        size_t keylen = 0;
        int64_t event_us = GEN_T0_US + (int64_t)i * GEN_STEP_US;
        size_t n = txgen_next(g, event_us, buf, key, &keylen);
        CU_ASSERT(n > 0 && n < TXGEN_MAX_RECORD);
        CU_ASSERT_EQUAL(strlen(buf), n);
        json_t *v = NULL;
        int64_t ms = 0;
        char err[256] = "";
        if (txn_parse(buf, n, &v, &ms, err, sizeof err, NULL) != 0) {
            if (failures++ < 3)
                fprintf(stderr, "\n  rejected %s: %s\n", buf, err);
            continue;
        }
        /* The timestamp says the event time we asked for. */
        CU_ASSERT_EQUAL(ms, event_us / 1000);
        /* The original's id shape: txn_<ms since the epoch>_<n>. */
        const char *id = json_string_value(json_object_get(v, "transaction_id"));
        size_t ms_digits = id ? strspn(id + 4, "0123456789") : 0;
        CU_ASSERT(id && !strncmp(id, "txn_", 4) && ms_digits == 13 && id[4 + ms_digits] == '_' &&
                  strspn(id + 5 + ms_digits, "0123456789") == strlen(id + 5 + ms_digits) &&
                  id[5 + ms_digits]);
        json_decref(v);
    }
    CU_ASSERT_EQUAL(failures, 0);
    txgen_free(g);
}

static void test_txgen_fields_stay_in_their_ranges(void)
{
    txgen_t *g = txgen_new(7);
    char buf[TXGEN_MAX_RECORD], key[TXGEN_MAX_KEY];
    char *ids[NGEN];
    /* Products and categories seen, with the category each product had. */
    char *products[16], *prod_cat[16], *cats[16], *payments[16];
    size_t nprod = 0, ncat = 0, npay = 0, nids = 0;
    bool ranges_ok = true;
    for (int i = 0; i < NGEN; i++) {
        size_t keylen = 0;
        size_t n = txgen_next(g, GEN_T0_US + (int64_t)i * GEN_STEP_US, buf, key, &keylen);
        json_t *v = json_loadb(buf, n, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        const char *id = json_string_value(json_object_get(v, "transaction_id"));
        ids[nids++] = strdup(id ? id : "");

        /* amount 10.00 .. 1000.00, at most 2 decimals in the text itself */
        double amount = json_number_value(json_object_get(v, "amount"));
        if (amount < 10.0 || amount > 1000.0 || !amount_text_has_at_most_2_decimals(buf))
            ranges_ok = false;
        /* quantity 1..5, an integer */
        json_t *q = json_object_get(v, "quantity");
        if (!json_is_integer(q) || json_integer_value(q) < 1 || json_integer_value(q) > 5)
            ranges_ok = false;
        /* user_1..user_1000, city_1..city_50 */
        const char *user = json_string_value(json_object_get(v, "user_id"));
        long u = user ? suffix_number(user, "user_") : -1;
        long c = suffix_number(json_string_value(json_object_get(v, "location")), "city_");
        if (u < 1 || u > 1000 || c < 1 || c > 50)
            ranges_ok = false;
        /* the key is the user_id, byte for byte */
        if (!user || keylen != strlen(user) || memcmp(key, user, keylen))
            ranges_ok = false;
        if (!ranges_ok) {
            fprintf(stderr, "\n  out of range: %s (key %.*s)\n", buf, (int)keylen, key);
            json_decref(v);
            break;
        }

        const char *prod = json_string_value(json_object_get(v, "product"));
        const char *cat = json_string_value(json_object_get(v, "category"));
        const char *pay = json_string_value(json_object_get(v, "payment_method"));
        size_t j;
        for (j = 0; j < nprod && strcmp(products[j], prod); j++)
            ;
        if (j == nprod && nprod < 16) {
            products[nprod] = strdup(prod);
            prod_cat[nprod++] = strdup(cat);
        } else if (j < nprod) {
            /* a product always belongs to the same category */
            CU_ASSERT_STRING_EQUAL(prod_cat[j], cat);
        }
        for (j = 0; j < ncat && strcmp(cats[j], cat); j++)
            ;
        if (j == ncat && ncat < 16)
            cats[ncat++] = strdup(cat);
        for (j = 0; j < npay && strcmp(payments[j], pay); j++)
            ;
        if (j == npay && npay < 16)
            payments[npay++] = strdup(pay);
        json_decref(v);
    }
    CU_ASSERT(ranges_ok);
    CU_ASSERT_EQUAL(nprod, 8);
    CU_ASSERT_EQUAL(ncat, 4);
    CU_ASSERT_EQUAL(npay, 4);
    /* The original's vocabularies, each word of them seen. */
    static const char *const want_prod[] = {"laptop", "phone", "tablet", "headphones",
                                            "camera", "book",  "shirt",  "shoes"};
    static const char *const want_cat[] = {"electronics", "clothing", "books", "accessories"};
    static const char *const want_pay[] = {"credit_card", "debit_card", "paypal", "cash"};
    for (size_t w = 0; w < 8; w++) {
        bool seen = false;
        for (size_t j = 0; j < nprod; j++)
            seen |= !strcmp(products[j], want_prod[w]);
        CU_ASSERT(seen);
    }
    for (size_t w = 0; w < 4; w++) {
        bool seen_cat = false, seen_pay = false;
        for (size_t j = 0; j < ncat; j++)
            seen_cat |= !strcmp(cats[j], want_cat[w]);
        for (size_t j = 0; j < npay; j++)
            seen_pay |= !strcmp(payments[j], want_pay[w]);
        CU_ASSERT(seen_cat);
        CU_ASSERT(seen_pay);
    }
    /* The three discounted categories are among the four. */
    int discounted = 0;
    for (size_t j = 0; j < ncat; j++)
        discounted += txn_discount_factor(cats[j]) < 1.0;
    CU_ASSERT_EQUAL(discounted, 3);

    /* transaction ids are unique */
    CU_ASSERT_EQUAL(nids, NGEN);
    qsort(ids, nids, sizeof ids[0], cmp_str);
    size_t dups = 0;
    for (size_t i = 1; i < nids; i++)
        dups += !strcmp(ids[i - 1], ids[i]) || !ids[i][0];
    CU_ASSERT_EQUAL(dups, 0);
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    for (size_t j = 0; j < nprod; j++)
        free(products[j]), free(prod_cat[j]);
    for (size_t j = 0; j < ncat; j++)
        free(cats[j]);
    for (size_t j = 0; j < npay; j++)
        free(payments[j]);
    txgen_free(g);
}

/* The record with its transaction_id removed (that id carries the generator's
 * start time, so it differs between runs by design), as canonical JSON. */
static char *without_id(const char *buf, size_t n, char *seq_out, size_t seqsize)
{
    json_t *v = json_loadb(buf, n, 0, NULL);
    if (!v)
        return NULL;
    const char *id = json_string_value(json_object_get(v, "transaction_id"));
    const char *last = id ? strrchr(id, '_') : NULL;
    snprintf(seq_out, seqsize, "%s", last ? last + 1 : "");
    json_object_del(v, "transaction_id");
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(v);
    return s;
}

static void test_txgen_is_deterministic_for_a_seed(void)
{
    txgen_t *a = txgen_new(1234), *b = txgen_new(1234), *c = txgen_new(1235);
    char ba[TXGEN_MAX_RECORD], bb[TXGEN_MAX_RECORD], bc[TXGEN_MAX_RECORD];
    char ka[TXGEN_MAX_KEY], kb[TXGEN_MAX_KEY], kc[TXGEN_MAX_KEY];
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 200; i++) {
        int64_t t = GEN_T0_US + (int64_t)i * GEN_STEP_US;
        size_t la, lb, lc;
        size_t na = txgen_next(a, t, ba, ka, &la);
        size_t nb = txgen_next(b, t, bb, kb, &lb);
        size_t nc = txgen_next(c, t, bc, kc, &lc);
        char sa[32], sb[32], sc[32];
        char *ja = without_id(ba, na, sa, sizeof sa);
        char *jb = without_id(bb, nb, sb, sizeof sb);
        char *jc = without_id(bc, nc, sc, sizeof sc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ja);
        CU_ASSERT_PTR_NOT_NULL_FATAL(jb);
        CU_ASSERT_PTR_NOT_NULL_FATAL(jc);
        same_ab += !strcmp(ja, jb) && la == lb && !memcmp(ka, kb, la) && !strcmp(sa, sb);
        same_ac += !strcmp(ja, jc);
        free(ja), free(jb), free(jc);
    }
    CU_ASSERT_EQUAL(same_ab, 200);
    /* A different seed is a different stream. */
    CU_ASSERT(same_ac < 200);
    /* txgen_rand is part of the same stream. */
    uint64_t ra = txgen_rand(a, 1000000), rb = txgen_rand(b, 1000000);
    CU_ASSERT_EQUAL(ra, rb);
    CU_ASSERT(ra < 1000000);
    txgen_free(a), txgen_free(b), txgen_free(c);
}


/* --fraud-fraction: scenarios for users of their own (user_1001 and up), each
 * one of: a pair < 20.00 then > 800.00 1-5 s later; the large one 61 s later;
 * a small, another transaction 1 s later, the large 2 s later. */
static void test_txgen_fraud_fraction_injects_pairs_and_near_misses_for_users_of_their_own(void)
{
    txgen_t *g = txgen_new(11);
    txgen_set_fraud(g, 0.05);
    char buf[TXGEN_MAX_RECORD], key[TXGEN_MAX_KEY];
    enum { MAXU = 4000, N = 20000 };
    static struct { int n; double amount[4]; int64_t ms[4]; } u[MAXU];
    memset(u, 0, sizeof u);
    int regular_small = 0, bad = 0;
    for (int i = 0; i < N; i++) {
        size_t keylen;
        size_t n = txgen_next(g, GEN_T0_US + (int64_t)i * 10000, buf, key, &keylen); /* 100/s */
        json_t *v = NULL;
        int64_t ms;
        char err[256];
        if (txn_parse(buf, n, &v, &ms, err, sizeof err, NULL) != 0) {
            bad++;
            continue;
        }
        int user = atoi(json_string_value(json_object_get(v, "user_id")) + 5);
        double amount = json_number_value(json_object_get(v, "amount"));
        if (user <= 1000) {
            regular_small += amount < 10.0; /* the regular range is 10.00 - 1000.00 */
        } else if (user - 1001 < MAXU && u[user - 1001].n < 4) {
            int k = u[user - 1001].n++;
            u[user - 1001].amount[k] = amount;
            u[user - 1001].ms[k] = ms;
        } else {
            bad++;
        }
        json_decref(v);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(regular_small, 0);
    int pairs = 0, late = 0, between = 0, open = 0, other = 0;
    for (int i = 0; i < MAXU && u[i].n; i++) {
        int64_t d1 = u[i].n > 1 ? u[i].ms[1] - u[i].ms[0] : 0;
        bool small = u[i].amount[0] < 20, large1 = u[i].n > 1 && u[i].amount[1] > 800;
        if (u[i].n == 1 && small)
            open++; /* its later records were not due before the end */
        else if (u[i].n == 2 && small && large1 && d1 >= 1000 && d1 <= 5000)
            pairs++;
        else if (u[i].n == 2 && small && large1 && d1 == 61000)
            late++;
        else if (u[i].n == 3 && small && !large1 && u[i].amount[1] >= 20 && u[i].amount[1] <= 800 &&
                 d1 == 1000 && u[i].amount[2] > 800 && u[i].ms[2] - u[i].ms[0] == 2000)
            between++;
        else if (u[i].n == 2 && small && !large1 && d1 == 1000)
            open++; /* the one in between came, the large one not yet */
        else
            other++;
    }
    CU_ASSERT_EQUAL(other, 0);
    /* 5% of 20,000 calls: about 1000 scenarios, half of them pairs */
    CU_ASSERT(pairs > 350 && pairs < 650);
    CU_ASSERT(late > 150 && between > 150);
    CU_ASSERT(open < 100);
    txgen_free(g);
}

static CU_TestInfo tests[] = {
    {"test_parse_accepts_seed_record_and_reads_event_time",
     test_parse_accepts_seed_record_and_reads_event_time},
    {"test_parse_accepts_integer_amount", test_parse_accepts_integer_amount},
    {"test_parse_accepts_numeric_strings_and_integral_float_quantity",
     test_parse_accepts_numeric_strings_and_integral_float_quantity},
    {"test_parse_keeps_unknown_fields", test_parse_keeps_unknown_fields},
    {"test_parse_accepts_seed_timestamp_with_microseconds",
     test_parse_accepts_seed_timestamp_with_microseconds},
    {"test_parse_reads_only_len_bytes", test_parse_reads_only_len_bytes},
    {"test_parse_rejects_text_that_is_not_json", test_parse_rejects_text_that_is_not_json},
    {"test_parse_rejects_truncated_json", test_parse_rejects_truncated_json},
    {"test_parse_rejects_json_that_is_not_an_object", test_parse_rejects_json_that_is_not_an_object},
    {"test_parse_rejects_each_missing_field_by_name", test_parse_rejects_each_missing_field_by_name},
    {"test_parse_rejects_each_field_with_wrong_type_by_name",
     test_parse_rejects_each_field_with_wrong_type_by_name},
    {"test_parse_rejects_specific_wrong_types", test_parse_rejects_specific_wrong_types},
    {"test_parse_rejects_bad_timestamp", test_parse_rejects_bad_timestamp},
    {"test_parse_rejects_negative_amount", test_parse_rejects_negative_amount},
    {"test_discount_factor_per_category", test_discount_factor_per_category},
    {"test_final_cents_applies_factor_exactly", test_final_cents_applies_factor_exactly},
    {"test_final_cents_rounds_to_nearest_cent", test_final_cents_rounds_to_nearest_cent},
    {"test_final_cents_rounds_exact_halves_away_from_zero",
     test_final_cents_rounds_exact_halves_away_from_zero},
    {"test_final_cents_of_three_decimal_amount_below_half",
     test_final_cents_of_three_decimal_amount_below_half},
    {"test_final_cents_rounds_three_decimal_amount_only_once",
     test_final_cents_rounds_three_decimal_amount_only_once},
    {"test_txgen_records_all_pass_txn_parse", test_txgen_records_all_pass_txn_parse},
    {"test_txgen_fields_stay_in_their_ranges", test_txgen_fields_stay_in_their_ranges},
    {"test_txgen_is_deterministic_for_a_seed", test_txgen_is_deterministic_for_a_seed},
    {"test_txgen_fraud_fraction_injects_pairs_and_near_misses_for_users_of_their_own",
     test_txgen_fraud_fraction_injects_pairs_and_near_misses_for_users_of_their_own},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("txn", tests, NULL, NULL)
