/* test_flinksql.c — the Flink SQL twin's statements for given flags (engine/flink/flinksql.c,
 * its text in assets/flink/).
 * Whether Flink computes what streamlab computes is tests/e2e_flink.sh's job; these pin
 * down the text each flag turns into. */
#include <stdlib.h>
#include <string.h>

#include "engine/flink/flinksql.h"
#include "testlib.h"

static char **stmts_for(const flinksql_opts_t *o)
{
    char err[256] = "";
    char **s = flinksql_statements(o, err, sizeof err);
    if (!s)
        fprintf(stderr, "flinksql_statements: %s\n", err);
    return s;
}

/* The statement that starts with prefix (NULL if none). */
static const char *find(char **s, const char *prefix)
{
    for (; s && *s; s++)
        if (!strncmp(*s, prefix, strlen(prefix)))
            return *s;
    return NULL;
}

static int has(const char *stmt, const char *needle)
{
    int ok = stmt && strstr(stmt, needle);
    if (!ok)
        fprintf(stderr, "missing \"%s\" in:\n%s\n", needle, stmt ? stmt : "(no statement)");
    return ok;
}

static size_t count(char **s)
{
    size_t n = 0;
    while (s && s[n])
        n++;
    return n;
}

static void test_defaults_give_one_table_per_topic_a_view_and_one_statement_set(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    char **s = stmts_for(&o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* SET name, input, view, 5 outputs, the pattern's view, statement set */
    CU_ASSERT_EQUAL(count(s), 10);
    CU_ASSERT_TRUE(has(find(s, "SET 'pipeline.name'"), "'streamlab-twin_flink'"));
    CU_ASSERT_PTR_NOT_NULL(find(s, "CREATE TEMPORARY TABLE transactions ("));
    CU_ASSERT_PTR_NOT_NULL(find(s, "CREATE TEMPORARY VIEW processed_transactions_view"));
    CU_ASSERT_PTR_NOT_NULL(find(s, "CREATE TEMPORARY TABLE processed_transactions_flink ("));
    CU_ASSERT_PTR_NOT_NULL(find(s, "CREATE TEMPORARY TABLE high_value_transactions_flink ("));
    CU_ASSERT_PTR_NOT_NULL(find(s, "CREATE TEMPORARY TABLE user_aggregations_flink ("));
    CU_ASSERT_PTR_NOT_NULL(find(s, "CREATE TEMPORARY TABLE category_windows_flink ("));
    CU_ASSERT_PTR_NOT_NULL(find(s, "CREATE TEMPORARY TABLE fraud_alerts_flink ("));
    const char *set = find(s, "EXECUTE STATEMENT SET");
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_TRUE(has(set, "INSERT INTO fraud_alerts_flink"));
    CU_ASSERT_TRUE(has(set, "INSERT INTO processed_transactions_flink"));
    CU_ASSERT_TRUE(has(set, "INSERT INTO high_value_transactions_flink"));
    CU_ASSERT_TRUE(has(set, "INSERT INTO user_aggregations_flink"));
    CU_ASSERT_TRUE(has(set, "INSERT INTO category_windows_flink"));
    CU_ASSERT_TRUE(has(set, "\nEND"));
    /* nothing reads to an end unless --bounded */
    CU_ASSERT_PTR_NULL(strstr(find(s, "CREATE TEMPORARY TABLE transactions"), "scan.bounded.mode"));
    flinksql_free(s);
}

static void test_input_table_reads_json_from_the_brokers_with_event_time_and_watermark(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    o.brokers = "kafka:29092";
    o.group = "g1";
    o.bounded = true;
    char **s = stmts_for(&o);
    const char *in = find(s, "CREATE TEMPORARY TABLE transactions (");
    CU_ASSERT_TRUE(has(in, "'connector' = 'kafka'"));
    CU_ASSERT_TRUE(has(in, "'topic' = 'transactions'"));
    CU_ASSERT_TRUE(has(in, "'properties.bootstrap.servers' = 'kafka:29092'"));
    CU_ASSERT_TRUE(has(in, "'properties.group.id' = 'g1'"));
    CU_ASSERT_TRUE(has(in, "'scan.startup.mode' = 'earliest-offset'"));
    CU_ASSERT_TRUE(has(in, "'scan.bounded.mode' = 'latest-offset'"));
    CU_ASSERT_TRUE(has(in, "'format' = 'json'"));
    CU_ASSERT_TRUE(has(in, "'json.ignore-parse-errors' = 'true'"));
    CU_ASSERT_TRUE(has(in, "amount DECIMAL(22, 8)"));
    CU_ASSERT_TRUE(has(in, "TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3))"));
    /* streamlab's bound + 1 ms (its watermark is max - bound - 1 ms) */
    CU_ASSERT_TRUE(has(in, "WATERMARK FOR event_time AS event_time - INTERVAL '5.001' SECOND"));
    CU_ASSERT_TRUE(has(in, "'scan.watermark.emit.strategy' = 'on-event'"));
    flinksql_free(s);
}

static void test_filter_discount_and_high_value_follow_the_flags(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    o.filter_amount = "120.5";
    o.high_value = "999";
    char **s = stmts_for(&o);
    const char *v = find(s, "CREATE TEMPORARY VIEW");
    CU_ASSERT_TRUE(has(v, "WHERE amount > 120.5\n"));
    CU_ASSERT_TRUE(has(v, "WHEN 'electronics' THEN amount * 0.95"));
    CU_ASSERT_TRUE(has(v, "WHEN 'books' THEN amount * 0.90"));
    CU_ASSERT_TRUE(has(v, "WHEN 'clothing' THEN amount * 0.92"));
    CU_ASSERT_TRUE(has(v, "AS DECIMAL(20, 2)) AS final_amount"));
    /* discount_applied is the original's multiplier, as streamlab writes it */
    CU_ASSERT_TRUE(has(v, "CASE category WHEN 'electronics' THEN 0.95 WHEN 'books' THEN 0.90\n"
                          "    WHEN 'clothing' THEN 0.92 ELSE 1.0 END AS discount_applied"));
    CU_ASSERT_TRUE(has(find(s, "EXECUTE"), "WHERE amount > 999;"));
    flinksql_free(s);
}

static void test_outputs_are_keyed_like_streamlab_and_user_totals_upsert(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    o.suffix = "_b";
    char **s = stmts_for(&o);
    const char *p = find(s, "CREATE TEMPORARY TABLE processed_transactions_b (");
    CU_ASSERT_TRUE(has(p, "'key.fields' = 'user_id'"));
    CU_ASSERT_TRUE(has(p, "'key.format' = 'raw'"));
    CU_ASSERT_TRUE(has(p, "final_amount DOUBLE"));
    const char *u = find(s, "CREATE TEMPORARY TABLE user_aggregations_b (");
    CU_ASSERT_TRUE(has(u, "'connector' = 'upsert-kafka'"));
    CU_ASSERT_TRUE(has(u, "PRIMARY KEY (user_id) NOT ENFORCED"));
    const char *c = find(s, "CREATE TEMPORARY TABLE category_windows_b (");
    CU_ASSERT_TRUE(has(c, "'key.fields' = 'category'"));
    CU_ASSERT_TRUE(has(c, "window_start STRING"));
    CU_ASSERT_TRUE(has(find(s, "SET 'pipeline.name'"), "'streamlab-twin_b'"));
    flinksql_free(s);
}

static void test_window_flags_pick_tumble_hop_or_session(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    o.window_s = 60;
    o.out_of_orderness_s = 2.5;
    char **s = stmts_for(&o);
    const char *set = find(s, "EXECUTE");
    CU_ASSERT_TRUE(has(set, "TABLE(TUMBLE(TABLE processed_transactions_view, DESCRIPTOR(event_time),\n"
                            "      INTERVAL '60' SECOND))"));
    CU_ASSERT_TRUE(has(set, "DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS') || '000'"));
    CU_ASSERT_TRUE(has(find(s, "CREATE TEMPORARY TABLE transactions"), "INTERVAL '2.501' SECOND"));
    flinksql_free(s);

    o.window_slide_s = 10;
    s = stmts_for(&o);
    CU_ASSERT_TRUE(has(find(s, "EXECUTE"), "TABLE(HOP(TABLE processed_transactions_view, "
                                           "DESCRIPTOR(event_time),\n      INTERVAL '10' SECOND, "
                                           "INTERVAL '60' SECOND))"));
    flinksql_free(s);

    o.session_gap_s = 45;
    s = stmts_for(&o);
    CU_ASSERT_TRUE(has(find(s, "EXECUTE"), "TABLE(SESSION(TABLE processed_transactions_view "
                                           "PARTITION BY category,\n      DESCRIPTOR(event_time), "
                                           "INTERVAL '45' SECOND))"));
    flinksql_free(s);
}

static void test_parallelism_state_ttl_and_connector_options_are_passed_on(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    const char *with[] = {"properties.security.protocol=SASL_SSL"};
    o.parallelism = 2;
    o.state_ttl_s = 90;
    o.with = with;
    o.nwith = 1;
    o.job_name = "mine";
    char **s = stmts_for(&o);
    CU_ASSERT_PTR_NOT_NULL(find(s, "SET 'parallelism.default' = '2'"));
    CU_ASSERT_PTR_NOT_NULL(find(s, "SET 'table.exec.state.ttl' = '90000 ms'"));
    CU_ASSERT_PTR_NOT_NULL(find(s, "SET 'pipeline.name' = 'mine'"));
    size_t tables = 0;
    for (char **p = s; *p; p++)
        if (!strncmp(*p, "CREATE TEMPORARY TABLE", 22)) {
            tables++;
            CU_ASSERT_TRUE(has(*p, "'properties.security.protocol' = 'SASL_SSL'"));
        }
    CU_ASSERT_EQUAL(tables, 6);
    flinksql_free(s);
}

static void test_bad_flags_are_refused_with_a_reason(void)
{
    flinksql_opts_t o;
    char err[256];
    flinksql_defaults(&o);
    o.filter_amount = "1e2";
    CU_ASSERT_PTR_NULL(flinksql_statements(&o, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "plain decimals"));

    flinksql_defaults(&o);
    o.brokers = "x'; DROP";
    CU_ASSERT_PTR_NULL(flinksql_statements(&o, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad brokers"));

    flinksql_defaults(&o);
    o.suffix = "_a b";
    CU_ASSERT_PTR_NULL(flinksql_statements(&o, err, sizeof err));

    flinksql_defaults(&o);
    const char *with[] = {"novalue"};
    o.with = with, o.nwith = 1;
    CU_ASSERT_PTR_NULL(flinksql_statements(&o, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "KEY=VALUE"));

    flinksql_defaults(&o);
    o.window_slide_s = 40; /* larger than the 30 s window */
    CU_ASSERT_PTR_NULL(flinksql_statements(&o, err, sizeof err));
}

static void test_pipelines_list_names_transactions_and_explains_the_others(void)
{
    unsigned p;
    char err[256];
    CU_ASSERT_EQUAL(flinksql_parse_pipelines("transactions", &p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(p, FLINKSQL_TRANSACTIONS);
    CU_ASSERT_EQUAL(flinksql_parse_pipelines("transactions,video", &p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(p, FLINKSQL_TRANSACTIONS | FLINKSQL_VIDEO);
    CU_ASSERT_EQUAL(flinksql_parse_pipelines("files", &p, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "files pipeline has no Flink SQL twin"));
    CU_ASSERT_EQUAL(flinksql_parse_pipelines("bogus", &p, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown pipeline \"bogus\""));
    CU_ASSERT_EQUAL(flinksql_parse_pipelines("", &p, err, sizeof err), -1);
}

static void test_video_twin_computes_what_sql_can_and_writes_null_brightness(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    o.pipelines = FLINKSQL_TRANSACTIONS | FLINKSQL_VIDEO;
    o.min_width = 320;
    o.min_height = 240;
    char **s = stmts_for(&o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* both pipelines' tables and views, one statement set for all seven outputs */
    const char *in = find(s, "CREATE TEMPORARY TABLE video_frames (");
    CU_ASSERT_TRUE(has(in, "'topic' = 'video_frames'"));
    CU_ASSERT_TRUE(has(in, "WATERMARK FOR event_time AS event_time - INTERVAL '5.001' SECOND"));
    const char *v = find(s, "CREATE TEMPORARY VIEW processed_video_frames_view");
    CU_ASSERT_TRUE(has(v, "WHERE frame_width >= 320 AND frame_height >= 240\n"));
    CU_ASSERT_TRUE(has(v, "CHAR_LENGTH(frame_data) / 4 * 3"));
    CU_ASSERT_TRUE(has(v, "THEN 'HD_Ready'"));
    /* the original's rules: resolution by pixel count, orientation by aspect ratio */
    CU_ASSERT_TRUE(has(v, "WHEN frame_width * frame_height >= 1280 * 720 THEN 'HD_Ready'"));
    CU_ASSERT_TRUE(has(v, "CAST(frame_width AS DOUBLE) / frame_height > 1.5 THEN 'landscape'"));
    CU_ASSERT_TRUE(has(v, "CAST(frame_width AS DOUBLE) / frame_height < 0.8 THEN 'portrait'"));
    /* aspect_ratio to 2 decimals, compression_ratio to 3, as the original rounds them */
    const char *ins = strstr(find(s, "EXECUTE STATEMENT SET"), "INSERT INTO processed_video_frames_flink");
    CU_ASSERT_TRUE(has(ins, "ROUND(CAST(frame_width AS DOUBLE) / frame_height, 2)"));
    CU_ASSERT_TRUE(has(ins, "(frame_width * frame_height * 3), 3)"));
    CU_ASSERT_TRUE(has(find(s, "CREATE TEMPORARY TABLE video_source_aggregations_flink ("),
                       "'connector' = 'upsert-kafka'"));
    CU_ASSERT_PTR_NOT_NULL(find(s, "CREATE TEMPORARY TABLE video_resolution_windows_flink ("));
    const char *set = find(s, "EXECUTE STATEMENT SET");
    size_t inserts = 0;
    for (const char *p = set; p && (p = strstr(p, "INSERT INTO ")); p += 12)
        inserts++;
    CU_ASSERT_EQUAL(inserts, 8);
    CU_ASSERT_TRUE(has(set, "CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE)"));
    CU_ASSERT_TRUE(has(set, "TABLE(TUMBLE(TABLE processed_video_frames_view"));
    CU_ASSERT_EQUAL(count(s), 15);
    flinksql_free(s);
}

static void test_script_ends_every_statement_with_a_semicolon(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    char **s = stmts_for(&o);
    char *script = flinksql_script(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(script);
    size_t n = 0;
    for (const char *p = script; (p = strstr(p, ";\n\n")); p += 3)
        n++;
    CU_ASSERT_EQUAL(n, count(s));
    CU_ASSERT_PTR_NOT_NULL(strstr(script, "\nEND;\n\n"));
    free(script);
    flinksql_free(s);
}

/* Every template (assets/flink/) is filled by one of these flag sets: a misspelt
 * placeholder in any of them fails here with the template's name, not as empty SQL. */
static void test_every_template_fills_for_the_flags_that_use_it(void)
{
    const char *with[] = {"a=b", "c=d=e"};
    for (int i = 0; i < 4; i++) {
        flinksql_opts_t o;
        flinksql_defaults(&o);
        o.pipelines = FLINKSQL_TRANSACTIONS | FLINKSQL_VIDEO;
        if (i == 1) /* every SET, the bounded line, connector options, HOP */
            o.parallelism = 4, o.state_ttl_s = 60, o.bounded = true, o.with = with,
            o.nwith = 2, o.window_slide_s = 10;
        if (i == 2)
            o.session_gap_s = 7;
        if (i == 3)
            o.job_name = "j";
        char err[256] = "";
        char **s = flinksql_statements(&o, err, sizeof err);
        if (!s)
            fprintf(stderr, "flags %d: %s\n", i, err);
        CU_ASSERT_PTR_NOT_NULL(s);
        CU_ASSERT_STRING_EQUAL(err, "");
        for (char **p = s; p && *p; p++)
            CU_ASSERT_PTR_NULL(strstr(*p, "${"));
        flinksql_free(s);
    }
}


/* The card-testing pattern: MATCH_RECOGNIZE per user in event time, strict (A B), skip
 * past last row; streamlab's inclusive bound is Flink's exclusive WITHIN + 1 ms. */
static void test_fraud_alerts_are_match_recognize_with_the_bound_one_ms_wider(void)
{
    flinksql_opts_t o;
    flinksql_defaults(&o);
    o.fraud_small = "25.5";
    o.fraud_large = "700";
    o.fraud_within_s = 30;
    char **s = stmts_for(&o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *ins = strstr(find(s, "EXECUTE STATEMENT SET"), "INSERT INTO fraud_alerts_flink");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ins);
    CU_ASSERT_TRUE(has(ins, "MATCH_RECOGNIZE ("));
    CU_ASSERT_TRUE(has(ins, "PARTITION BY user_id"));
    CU_ASSERT_TRUE(has(ins, "ORDER BY event_time"));
    CU_ASSERT_TRUE(has(ins, "AFTER MATCH SKIP PAST LAST ROW"));
    CU_ASSERT_TRUE(has(ins, "PATTERN (A B) WITHIN INTERVAL '30.001' SECOND"));
    CU_ASSERT_TRUE(has(ins, "A AS A.amount < 25.5"));
    CU_ASSERT_TRUE(has(ins, "B AS B.amount > 700"));
    /* before the amount filter: every valid transaction, not the filtered view */
    CU_ASSERT_PTR_NULL(strstr(ins, "processed_transactions_view"));
    CU_ASSERT_TRUE(has(ins, "FROM valid_transactions\nMATCH_RECOGNIZE"));
    CU_ASSERT_PTR_NULL(strstr(find(s, "CREATE TEMPORARY VIEW valid_transactions"), "amount > 100"));
    /* `pattern` is a keyword in Flink SQL */
    CU_ASSERT_TRUE(has(find(s, "CREATE TEMPORARY TABLE fraud_alerts_flink ("), "`pattern` STRING"));
    CU_ASSERT_TRUE(has(find(s, "CREATE TEMPORARY TABLE fraud_alerts_flink ("), "'key.fields' = 'user_id'"));
    flinksql_free(s);
    o.fraud_within_s = 120; /* three leading digits */
    s = stmts_for(&o);
    CU_ASSERT_TRUE(has(find(s, "EXECUTE STATEMENT SET"), "WITHIN INTERVAL '120.001' SECOND(3)"));
    flinksql_free(s);
    char err[256];
    o.fraud_small = "2e1";
    CU_ASSERT_PTR_NULL(flinksql_statements(&o, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "2e1"));
}

static CU_TestInfo tests[] = {
    {"the card-testing pattern is MATCH_RECOGNIZE with the bound one ms wider",
     test_fraud_alerts_are_match_recognize_with_the_bound_one_ms_wider},
    {"defaults give one table per topic, a view and one statement set",
     test_defaults_give_one_table_per_topic_a_view_and_one_statement_set},
    {"input table reads JSON from the brokers with event time and watermark",
     test_input_table_reads_json_from_the_brokers_with_event_time_and_watermark},
    {"filter, discount and high value follow the flags", test_filter_discount_and_high_value_follow_the_flags},
    {"outputs are keyed like streamlab's and user totals upsert",
     test_outputs_are_keyed_like_streamlab_and_user_totals_upsert},
    {"window flags pick TUMBLE, HOP or SESSION", test_window_flags_pick_tumble_hop_or_session},
    {"parallelism, state TTL and connector options are passed on",
     test_parallelism_state_ttl_and_connector_options_are_passed_on},
    {"bad flags are refused with a reason", test_bad_flags_are_refused_with_a_reason},
    {"--pipelines names transactions and explains the others",
     test_pipelines_list_names_transactions_and_explains_the_others},
    {"the video twin computes what SQL can and writes null brightness",
     test_video_twin_computes_what_sql_can_and_writes_null_brightness},
    {"the script ends every statement with a semicolon", test_script_ends_every_statement_with_a_semicolon},
    {"every template fills for the flags that use it", test_every_template_fills_for_the_flags_that_use_it},
    CU_TEST_INFO_NULL};

TESTLIB_MAIN("flinksql", tests, NULL, NULL)
