/* test_replay.c — engine --replay: a hand-worked input through the transaction
 * pipeline with no broker, outputs read back from DIR/<topic>.jsonl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/pipelines/replay.h"
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


static char *run_sessions(int64_t gap_ms, int64_t lateness_ms, int workers, json_t **summary)
{
    char in[128], out[128], err[256];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    write_input(in);
    pipeline_params_t p;
    pipeline_params_init(&p);
    p.session_gap_ms = gap_ms;
    p.allowed_lateness_ms = lateness_ms;
    p.workers = workers;
    *summary = replay_run(in, out, "transactions", &p, err, sizeof err);
    return slurp("category_windows");
}

#define WS(cat, total, count, start, end, extra)                                                   \
    "{\"category\":\"" cat "\",\"total_amount\":" total ",\"transaction_count\":" count       \
    ",\"window_start\":\"2024-01-15T" start ".000000\",\"window_end\":\"2024-01-15T" end        \
    ".000000\"" extra "}\n"

static void test_session_windows_close_a_gap_after_the_last_record(void)
{
    /* Gap 15 s, bound 5 s, worked by hand (final amounts: t1 190, t2 135,
     * t3 270, t4 108, t5 810; t6 = 100.00 is filtered but moves time):
     * t1 opens electronics [10:30:01, 10:30:16); t2 books [10:30:20, 10:30:35);
     * t3 (10:30:40) starts a new books session [10:30:40, 10:30:55) since the
     *   first ends at 10:30:35, and the watermark 10:30:34.999 fires
     *   electronics (end - 1 = 10:30:15.999) and books (10:30:34.999), by end;
     * t4 (10:30:10) would be [10:30:10, 10:30:25), touching no open session:
     *   late (10:30:24.999 <= watermark), it goes to late_transactions;
     * t5 (10:31:20): watermark 10:31:14.999 fires [10:30:40, 10:30:55);
     * the end of input fires [10:31:20, 10:31:35). */
    for (int workers = 1; workers <= 3; workers += 2) {
        json_t *s;
        char *w = run_sessions(15000, 0, workers, &s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "late")), 1);
        CU_ASSERT_STRING_EQUAL(w, WS("electronics", "190.0", "1", "10:30:01", "10:30:16", "")
                                  WS("books", "135.0", "1", "10:30:20", "10:30:35", "")
                                  WS("books", "270.0", "1", "10:30:40", "10:30:55", "")
                                  WS("books", "810.0", "1", "10:31:20", "10:31:35", ""));
        free(w);
        char *late = slurp("late_transactions");
        CU_ASSERT_PTR_NOT_NULL(strstr(late, "\"transaction_id\":\"t4\""));
        CU_ASSERT_PTR_NOT_NULL(strstr(late, "\"missed_window_start\":\"2024-01-15T10:30:10.000000\""));
        CU_ASSERT_PTR_NOT_NULL(strstr(late, "\"missed_window_end\":\"2024-01-15T10:30:25.000000\""));
        free(late);
        json_decref(s);
    }
}

static void test_session_window_merges_records_that_bridge_two_sessions(void)
{
    /* Gap 25 s: t2 [10:30:20, 10:30:45) and t3 [10:30:40, 10:31:05) overlap
     * and merge into books [10:30:20, 10:31:05) = 405.00.  The watermark
     * 10:30:34.999 after t3 fires electronics [10:30:01, 10:30:26).  t4
     * (10:30:10) opens [10:30:10, 10:30:35), which overlaps the open books
     * session: merged [10:30:10, 10:31:05) is not late (Flink judges the
     * merged window), so books = 513.00 over 3.  t5 (watermark 10:31:14.999)
     * fires it; the end fires t5's [10:31:20, 10:31:45). */
    json_t *s;
    char *w = run_sessions(25000, 0, 2, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "late")), 0);
    CU_ASSERT_STRING_EQUAL(w, WS("electronics", "190.0", "1", "10:30:01", "10:30:26", "")
                              WS("books", "513.0", "3", "10:30:10", "10:31:05", "")
                              WS("books", "810.0", "1", "10:31:20", "10:31:45", ""));
    free(w);
    json_decref(s);
}

static void test_session_window_allowed_lateness_re_emits_the_merged_session(void)
{
    /* Gap 15 s, allowed lateness 20 s: t4's [10:30:10, 10:30:25) overlaps the
     * fired books session [10:30:20, 10:30:35), which is kept until
     * 10:30:54.999: they merge into [10:30:10, 10:30:35) = 135 + 108 = 243.00,
     * due already, so it is emitted again at once with "update": true. */
    json_t *s;
    char *w = run_sessions(15000, 20000, 1, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "late")), 0);
    CU_ASSERT_STRING_EQUAL(w, WS("electronics", "190.0", "1", "10:30:01", "10:30:16", "")
                              WS("books", "135.0", "1", "10:30:20", "10:30:35", "")
                              WS("books", "243.0", "2", "10:30:10", "10:30:35", ",\"update\":true")
                              WS("books", "270.0", "1", "10:30:40", "10:30:55", "")
                              WS("books", "810.0", "1", "10:31:20", "10:31:35", ""));
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
    {"test_session_windows_close_a_gap_after_the_last_record",
     test_session_windows_close_a_gap_after_the_last_record},
    {"test_session_window_merges_records_that_bridge_two_sessions",
     test_session_window_merges_records_that_bridge_two_sessions},
    {"test_session_window_allowed_lateness_re_emits_the_merged_session",
     test_session_window_allowed_lateness_re_emits_the_merged_session},
    {"test_replay_reports_a_missing_file", test_replay_reports_a_missing_file},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("replay", tests, setup, NULL)
