/* test_replay.c — engine --replay: a hand-worked input through the transaction
 * pipeline with no broker, outputs read back from DIR/<topic>.jsonl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/replay.h"
#include "testlib.h"

static char dir[64];

static void write_input(const char *path)
{
    FILE *f = fopen(path, "w");
    /* 5 s out-of-orderness, 30 s windows.  t4 (10:30:10) comes after t3
     * (10:30:40) moved the watermark to 10:30:34.999, past the end of
     * [10:30:00, 10:30:30): it is late.  "not json" goes to the DLQ. */
    static const char *const lines[] = {
        "{\"transaction_id\":\"t1\",\"user_id\":\"user_1\",\"product\":\"laptop\",\"category\":\"electronics\",\"amount\":200.0,\"quantity\":1,\"payment_method\":\"paypal\",\"timestamp\":\"2024-01-15T10:30:01\",\"location\":\"city_1\"}",
        "{\"transaction_id\":\"t2\",\"user_id\":\"user_2\",\"product\":\"book\",\"category\":\"books\",\"amount\":150.0,\"quantity\":1,\"payment_method\":\"paypal\",\"timestamp\":\"2024-01-15T10:30:20\",\"location\":\"city_1\"}",
        "{\"transaction_id\":\"t3\",\"user_id\":\"user_1\",\"product\":\"book\",\"category\":\"books\",\"amount\":300.0,\"quantity\":1,\"payment_method\":\"paypal\",\"timestamp\":\"2024-01-15T10:30:40\",\"location\":\"city_1\"}",
        "not json",
        "{\"transaction_id\":\"t4\",\"user_id\":\"user_3\",\"product\":\"book\",\"category\":\"books\",\"amount\":120.0,\"quantity\":1,\"payment_method\":\"paypal\",\"timestamp\":\"2024-01-15T10:30:10\",\"location\":\"city_1\"}",
        "{\"transaction_id\":\"t5\",\"user_id\":\"user_3\",\"product\":\"book\",\"category\":\"books\",\"amount\":900.0,\"quantity\":1,\"payment_method\":\"paypal\",\"timestamp\":\"2024-01-15T10:31:20\",\"location\":\"city_1\"}",
        "{\"transaction_id\":\"t6\",\"user_id\":\"user_4\",\"product\":\"book\",\"category\":\"books\",\"amount\":100.0,\"quantity\":1,\"payment_method\":\"paypal\",\"timestamp\":\"2024-01-15T10:31:21\",\"location\":\"city_1\"}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        fprintf(f, "%s\n", lines[i]);
    fclose(f);
}

static char *slurp(const char *topic)
{
    char path[256];
    snprintf(path, sizeof path, "%s/out/%s.jsonl", dir, topic);
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

static int setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/streamlab-replay-XXXXXX");
    return mkdtemp(dir) ? 0 : 1;
}

static void test_replay_outputs_are_the_hand_worked_ones(void)
{
    char in[128], out[128], err[256];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    write_input(in);
    pipeline_params_t p;
    pipeline_params_init(&p);
    json_t *s = replay_run(in, out, "transactions", &p, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(s, "input"), "transactions")), 7);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "dlq")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "late")), 1);
    json_decref(s);

    char *w = slurp("category_windows");
    /* Fired in watermark order: both 10:30:00 windows when t3 arrives (one
     * window's keys in key order), then the
     * rest at the end of input (the final watermark). t4 never counts. */
    CU_ASSERT_STRING_EQUAL(w,
        "{\"category\":\"books\",\"total_amount\":135.0,\"transaction_count\":1,\"window_start\":\"2024-01-15T10:30:00.000000\",\"window_end\":\"2024-01-15T10:30:30.000000\"}\n"
        "{\"category\":\"electronics\",\"total_amount\":190.0,\"transaction_count\":1,\"window_start\":\"2024-01-15T10:30:00.000000\",\"window_end\":\"2024-01-15T10:30:30.000000\"}\n"
        "{\"category\":\"books\",\"total_amount\":270.0,\"transaction_count\":1,\"window_start\":\"2024-01-15T10:30:30.000000\",\"window_end\":\"2024-01-15T10:31:00.000000\"}\n"
        "{\"category\":\"books\",\"total_amount\":810.0,\"transaction_count\":1,\"window_start\":\"2024-01-15T10:31:00.000000\",\"window_end\":\"2024-01-15T10:31:30.000000\"}\n");
    free(w);
    char *late = slurp("late_transactions");
    CU_ASSERT_PTR_NOT_NULL(strstr(late, "\"transaction_id\":\"t4\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(late, "\"missed_window_start\":\"2024-01-15T10:30:00.000000\",\"missed_window_end\":\"2024-01-15T10:30:30.000000\""));
    free(late);
    char *users = slurp("user_aggregations");
    /* t6 (amount exactly 100) does not pass the filter. Processing time is the
     * newest event time so far, so the output is the same on every run. */
    CU_ASSERT_PTR_NOT_NULL(strstr(users, "{\"user_id\":\"user_3\",\"total_spent\":918.0,\"transaction_count\":2,\"last_updated\":\"2024-01-15T10:31:20.000000\"}\n"));
    CU_ASSERT_PTR_NULL(strstr(users, "user_4"));
    free(users);
    char *dlq = slurp("transactions.dlq");
    CU_ASSERT_PTR_NOT_NULL(strstr(dlq, "\"offset\":3,\"original\":\"not json\""));
    free(dlq);

    /* The same input gives the same bytes. */
    char *first = slurp("processed_transactions");
    s = replay_run(in, out, "transactions", &p, err, sizeof err);
    json_decref(s);
    char *second = slurp("processed_transactions");
    CU_ASSERT_STRING_EQUAL(first, second);
    free(first);
    free(second);
}

static char *run_windows(int64_t slide_ms, int64_t lateness_ms, json_t **summary)
{
    char in[128], out[128], err[256];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    write_input(in);
    pipeline_params_t p;
    pipeline_params_init(&p);
    p.window_slide_ms = slide_ms;
    p.allowed_lateness_ms = lateness_ms;
    *summary = replay_run(in, out, "transactions", &p, err, sizeof err);
    return slurp("category_windows");
}

#define W(cat, total, count, start, end, extra)                                                    \
    "{\"category\":\"" cat "\",\"total_amount\":" total ",\"transaction_count\":" count       \
    ",\"window_start\":\"2024-01-15T" start ".000000\",\"window_end\":\"2024-01-15T" end        \
    ".000000\"" extra "}\n"

static void test_allowed_lateness_updates_a_fired_window_instead_of_dropping(void)
{
    /* With 10 s of allowed lateness, t4 (10:30:10) still belongs to the books
     * window [10:30:00, 10:30:30) whose end - 1 + 10 s = 10:30:39.999 is past
     * the watermark 10:30:34.999: that window, fired at 135.00, is emitted
     * again as 135.00 + 108.00 = 243.00 with "update": true.  Nothing is late. */
    json_t *s;
    char *w = run_windows(0, 10000, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "late")), 0);
    CU_ASSERT_STRING_EQUAL(w, W("books", "135.0", "1", "10:30:00", "10:30:30", "")
                              W("electronics", "190.0", "1", "10:30:00", "10:30:30", "")
                              W("books", "243.0", "2", "10:30:00", "10:30:30", ",\"update\":true")
                              W("books", "270.0", "1", "10:30:30", "10:31:00", "")
                              W("books", "810.0", "1", "10:31:00", "10:31:30", ""));
    free(w);
    json_decref(s);
}

static void test_sliding_windows_hold_each_record_size_over_slide_times(void)
{
    /* 30 s windows every 10 s.  Worked by hand, in firing order:
     * after t2 (wm 10:30:14.999): electronics [10:29:40, 10:30:10);
     * after t3 (wm 10:30:34.999): electronics [10:29:50, 10:30:20) and
     *   [10:30:00, 10:30:30), books [10:30:00, 10:30:30) = t2;
     * t4 (10:30:10) is too late for the windows ending 10:30:20 and 10:30:30
     *   but [10:30:10, 10:30:40) is open: books there = t2 + t4 = 243.00;
     * after t5 (wm 10:31:14.999): books [10:30:10, 10:30:40) = 243.00 (2),
     *   [10:30:20, 10:30:50) = t2 + t3 = 405.00, [10:30:30, 10:31:00) and
     *   [10:30:40, 10:31:10) = t3 = 270.00;
     * the end of input fires the three windows holding t5 (810.00). */
    json_t *s;
    char *w = run_windows(10000, 0, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "late")), 0);
    CU_ASSERT_STRING_EQUAL(w, W("electronics", "190.0", "1", "10:29:40", "10:30:10", "")
                              W("electronics", "190.0", "1", "10:29:50", "10:30:20", "")
                              W("books", "135.0", "1", "10:30:00", "10:30:30", "")
                              W("electronics", "190.0", "1", "10:30:00", "10:30:30", "")
                              W("books", "243.0", "2", "10:30:10", "10:30:40", "")
                              W("books", "405.0", "2", "10:30:20", "10:30:50", "")
                              W("books", "270.0", "1", "10:30:30", "10:31:00", "")
                              W("books", "270.0", "1", "10:30:40", "10:31:10", "")
                              W("books", "810.0", "1", "10:31:00", "10:31:30", "")
                              W("books", "810.0", "1", "10:31:10", "10:31:40", "")
                              W("books", "810.0", "1", "10:31:20", "10:31:50", ""));
    free(w);
    json_decref(s);
}

static void test_replay_reports_a_missing_file(void)
{
    char err[256] = "";
    pipeline_params_t p;
    pipeline_params_init(&p);
    CU_ASSERT_PTR_NULL(replay_run("/nonexistent/in.jsonl", "/tmp", "transactions", &p, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read /nonexistent/in.jsonl"));
}

static CU_TestInfo tests[] = {
    {"test_replay_outputs_are_the_hand_worked_ones", test_replay_outputs_are_the_hand_worked_ones},
    {"test_allowed_lateness_updates_a_fired_window_instead_of_dropping",
     test_allowed_lateness_updates_a_fired_window_instead_of_dropping},
    {"test_sliding_windows_hold_each_record_size_over_slide_times",
     test_sliding_windows_hold_each_record_size_over_slide_times},
    {"test_replay_reports_a_missing_file", test_replay_reports_a_missing_file},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("replay", tests, setup, NULL)
