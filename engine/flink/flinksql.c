/* flinksql.c — the Flink SQL twin of the transactions pipeline (see flinksql.h).
 *
 * Where the twin matches streamlab's engine, and why it is written as it is:
 * - amount is read as DECIMAL(22, 8) (exact for the generator's two decimals) and the
 *   discount is DECIMAL arithmetic cast to DECIMAL(20, 2), which rounds half-up like
 *   txn_final_cents(); sums are DECIMAL too, so totals never drift.
 * - event time is the record's `timestamp` (local wall-clock time without a zone, as the
 *   generator writes it) read as TIMESTAMP(3), truncated to the ms like evtime_parse();
 *   TIMESTAMP (not TIMESTAMP_LTZ) windows align to the epoch of that wall clock, like
 *   streamlab's "wall-clock ms read as UTC".
 * - streamlab's watermark is max event time - bound - 1 ms (Flink's DataStream
 *   BoundedOutOfOrderness); a SQL WATERMARK is the expression itself, so the twin
 *   subtracts bound + 1 ms. Both close a window once the watermark reaches end - 1 ms
 *   and drop (streamlab: send to late_transactions) records of closed windows.
 * - 'scan.watermark.emit.strategy' = 'on-event' moves the watermark after every record,
 *   as streamlab's job does (instead of every 200 ms), so which records are late is a
 *   function of the input order, not of timing.
 * - records streamlab sends to transactions.dlq (not JSON, missing or mistyped fields,
 *   a bad timestamp) are skipped: SQL has no side output for them. */
#include "engine/flink/flinksql.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void flinksql_defaults(flinksql_opts_t *o)
{
    *o = (flinksql_opts_t){.brokers = "127.0.0.1:9092",
                           .pipelines = FLINKSQL_TRANSACTIONS,
                           .suffix = "_flink",
                           .group = "streamlab-flink-twin",
                           .filter_amount = "100",
                           .high_value = "500",
                           .window_s = 30,
                           .out_of_orderness_s = 5,
                           .min_width = 640,
                           .min_height = 480};
}

int flinksql_parse_pipelines(const char *list, unsigned *out, char *err, size_t errlen)
{
    *out = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 12 && !strncmp(p, "transactions", n)) {
            *out |= FLINKSQL_TRANSACTIONS;
        } else if (n == 5 && !strncmp(p, "video", n)) {
            *out |= FLINKSQL_VIDEO;
        } else if (n == 5 && !strncmp(p, "files", n)) {
            snprintf(err, errlen,
                     "the files pipeline has no Flink SQL twin (chunk reassembly, SHA-256 and "
                     "content analysis are not SQL); transactions and video have one");
            return -1;
        } else {
            snprintf(err, errlen, "unknown pipeline \"%.*s\" (known: transactions, video, files)",
                     (int)n, p);
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!*out) {
        snprintf(err, errlen, "no pipeline named");
        return -1;
    }
    return 0;
}

/* A plain decimal literal: digits, at most one '.', digits after it. */
static bool plain_decimal(const char *s)
{
    if (!s || !*s)
        return false;
    int dots = 0, digits = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '.')
            dots++;
        else if (*p >= '0' && *p <= '9')
            digits++;
        else
            return false;
    }
    return dots <= 1 && digits > 0 && s[strlen(s) - 1] != '.' && *s != '.';
}

/* Safe inside a SQL string literal and a topic name: no quotes, no backslashes. */
static bool plain_text(const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p == '\'' || *p == '\\' || *p == '`' || (unsigned char)*p < 0x20)
            return false;
    return true;
}

/* "INTERVAL 'x' SECOND" for a duration in seconds, exact to the ms. */
static void interval(char *buf, size_t size, double s)
{
    long long ms = llround(s * 1000.0);
    if (ms % 1000 == 0)
        snprintf(buf, size, "INTERVAL '%lld' SECOND", ms / 1000);
    else
        snprintf(buf, size, "INTERVAL '%lld.%03lld' SECOND", ms / 1000, ms % 1000);
}

typedef struct {
    char **v;
    size_t n, cap;
    bool oom;
} list_t;

static void add(list_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(list_t *l, const char *fmt, ...)
{
    if (l->oom)
        return;
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v, l->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&l->v[l->n], fmt, ap) < 0)
        l->oom = true;
    else
        l->v[++l->n] = NULL;
    va_end(ap);
}

/* The WITH options every Kafka table shares. */
static char *kafka_with(const flinksql_opts_t *o, const char *connector, const char *topic)
{
    char *s = NULL;
    if (asprintf(&s,
                 "  'connector' = '%s',\n"
                 "  'topic' = '%s',\n"
                 "  'properties.bootstrap.servers' = '%s'",
                 connector, topic, o->brokers) < 0)
        return NULL;
    for (size_t i = 0; i < o->nwith; i++) {
        const char *eq = strchr(o->with[i], '=');
        char *t = NULL;
        if (asprintf(&t, "%s,\n  '%.*s' = '%s'", s, (int)(eq - o->with[i]), o->with[i], eq + 1) < 0) {
            free(s);
            return NULL;
        }
        free(s);
        s = t;
    }
    return s;
}

/* Columns of processed_transactions and high_value_transactions, as streamlab writes them. */
static const char processed_columns[] =
    "  transaction_id STRING,\n"
    "  user_id STRING,\n"
    "  product STRING,\n"
    "  category STRING,\n"
    "  amount DOUBLE,\n"
    "  quantity BIGINT,\n"
    "  payment_method STRING,\n"
    "  `timestamp` STRING,\n"
    "  location STRING,\n"
    "  original_amount DOUBLE,\n"
    "  discount_applied DOUBLE,\n"
    "  final_amount DOUBLE,\n"
    "  processing_timestamp STRING\n";

/* The SELECT list that fills them from the view. */
static const char processed_select[] =
    "transaction_id, user_id, product, category, CAST(amount AS DOUBLE), quantity,\n"
    "  payment_method, `timestamp`, location, CAST(amount AS DOUBLE), discount_applied,\n"
    "  CAST(final_amount AS DOUBLE), REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')";

/* Streamlab's timestamp text: "YYYY-MM-DDTHH:MM:SS.ffffff". */
#define WALL_TIME(col) "DATE_FORMAT(" col ", 'yyyy-MM-dd''T''HH:mm:ss.SSS') || '000'"

/* The windowing TVF over VIEW for the window flags (a new string, NULL if out of
 * memory): SESSION per key column, HOP when the slide differs from the size, else TUMBLE. */
static char *window_tvf(const char *view, const char *key, const flinksql_opts_t *o)
{
    char size[64], slide[64], gap[64], *w = NULL;
    interval(size, sizeof size, o->window_s);
    interval(slide, sizeof slide, o->window_slide_s);
    interval(gap, sizeof gap, o->session_gap_s);
    int r;
    if (o->session_gap_s > 0)
        r = asprintf(&w, "TABLE(SESSION(TABLE %s PARTITION BY %s,\n      DESCRIPTOR(event_time), %s))",
                     view, key, gap);
    else if (o->window_slide_s > 0 && fabs(o->window_slide_s - o->window_s) > 1e-9)
        r = asprintf(&w, "TABLE(HOP(TABLE %s, DESCRIPTOR(event_time),\n      %s, %s))", view, slide,
                     size);
    else
        r = asprintf(&w, "TABLE(TUMBLE(TABLE %s, DESCRIPTOR(event_time),\n      %s))", view, size);
    return r < 0 ? NULL : w;
}

/* The event-time column and watermark every input table has (see the top). */
#define EVENT_TIME_COLUMNS                                                                         \
    "  event_time AS COALESCE(TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3)),\n"        \
    "                         TIMESTAMP '1970-01-01 00:00:00'),\n"                                 \
    "  -- streamlab's watermark: max event time - out-of-orderness - 1 ms\n"                      \
    "  WATERMARK FOR event_time AS event_time - %s\n"

/* The end of every input table's WITH clause: read from the start, the watermark
 * on every record, JSON; with --bounded, stop at the offsets of the start. */
#define SOURCE_WITH_TAIL                                                                           \
    "  'scan.startup.mode' = 'earliest-offset',\n"                                               \
    "%s"                                                                                          \
    "  'scan.watermark.emit.strategy' = 'on-event',\n"                                           \
    "  'format' = 'json',\n"                                                                      \
    "  'json.ignore-parse-errors' = 'true'\n"                                                     \
    ")"
#define SOURCE_BOUNDED(o) ((o)->bounded ? "  'scan.bounded.mode' = 'latest-offset',\n" : "")

/* The video pipeline's fields that SQL can compute (video.c): the resolution filter,
 * aspect ratio, pixels, orientation, resolution category, expected fps, the compression
 * ratio from the base64 length (the decoded JPEG's size), per-source totals and
 * resolution windows. Brightness and contrast need the pixels: the twin writes null. */
static int video(list_t *l, list_t *ins, const flinksql_opts_t *o, char *err, size_t errlen)
{
    const char *sfx = o->suffix;
    char wm[64];
    interval(wm, sizeof wm, o->out_of_orderness_s + 0.001);
    char *w_in = kafka_with(o, "kafka", "video_frames");
    char *tp = NULL, *ts = NULL, *tw = NULL;
    if (!w_in || asprintf(&tp, "processed_video_frames%s", sfx) < 0 ||
        asprintf(&ts, "video_source_aggregations%s", sfx) < 0 ||
        asprintf(&tw, "video_resolution_windows%s", sfx) < 0) {
        snprintf(err, errlen, "out of memory");
        free(w_in), free(tp), free(ts), free(tw);
        return -1;
    }
    char *w_p = kafka_with(o, "kafka", tp), *w_s = kafka_with(o, "upsert-kafka", ts);
    char *w_w = kafka_with(o, "kafka", tw);
    add(l,
        "CREATE TEMPORARY TABLE video_frames (\n"
        "  frame_id STRING,\n"
        "  `timestamp` STRING,\n"
        "  source STRING,\n"
        "  frame_data STRING,\n"
        "  frame_width BIGINT,\n"
        "  frame_height BIGINT,\n"
        "  frame_channels BIGINT,\n"
        "  frame_size_bytes BIGINT,\n" EVENT_TIME_COLUMNS
        ") WITH (\n"
        "%s,\n"
        "  'properties.group.id' = '%s-video',\n"
        SOURCE_WITH_TAIL,
        wm, w_in, o->group, SOURCE_BOUNDED(o));
    add(l,
        "CREATE TEMPORARY VIEW processed_video_frames_view AS\n"
        "SELECT frame_id, `timestamp`, source, frame_data, frame_width, frame_height,\n"
        "  frame_channels, frame_size_bytes, event_time,\n"
        "  -- the decoded JPEG's size from its base64 text\n"
        "  CHAR_LENGTH(frame_data) / 4 * 3 - CASE WHEN frame_data LIKE '%%==' THEN 2\n"
        "    WHEN frame_data LIKE '%%=' THEN 1 ELSE 0 END AS jpeg_bytes,\n"
        "  -- the original's rules: resolution by pixel count, orientation by aspect ratio\n"
        "  CASE WHEN frame_width * frame_height >= 1920 * 1080 THEN 'HD'\n"
        "    WHEN frame_width * frame_height >= 1280 * 720 THEN 'HD_Ready'\n"
        "    WHEN frame_width * frame_height >= 640 * 480 THEN 'SD' ELSE 'Low' END\n"
        "    AS resolution_category,\n"
        "  CASE WHEN frame_width >= 1920 AND frame_height >= 1080 THEN 'HD'\n"
        "    WHEN frame_width >= 1280 AND frame_height >= 720 THEN 'HD_Ready'\n"
        "    WHEN frame_width >= 640 AND frame_height >= 480 THEN 'SD' ELSE 'Low' END\n"
        "    AS resolution_strict,\n"
        "  CASE WHEN CAST(frame_width AS DOUBLE) / frame_height > 1.5 THEN 'landscape'\n"
        "    WHEN CAST(frame_width AS DOUBLE) / frame_height < 0.8 THEN 'portrait'\n"
        "    ELSE 'square' END AS orientation\n"
        "FROM video_frames\n"
        "WHERE frame_width >= %d AND frame_height >= %d\n"
        "  AND frame_width > 0 AND frame_height > 0\n"
        "  AND frame_id IS NOT NULL AND source IS NOT NULL AND frame_data IS NOT NULL\n"
        "  AND frame_channels IS NOT NULL AND frame_size_bytes IS NOT NULL\n"
        "  AND TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3)) IS NOT NULL",
        o->min_width, o->min_height);
    add(l,
        "CREATE TEMPORARY TABLE %s (\n"
        "  frame_id STRING,\n"
        "  `timestamp` STRING,\n"
        "  source STRING,\n"
        "  frame_data STRING,\n"
        "  frame_width BIGINT,\n"
        "  frame_height BIGINT,\n"
        "  frame_channels BIGINT,\n"
        "  frame_size_bytes BIGINT,\n"
        "  analysis ROW<aspect_ratio DOUBLE, total_pixels BIGINT, compression_ratio DOUBLE,\n"
        "    orientation STRING, resolution_category STRING, resolution_strict STRING,\n"
        "    jpeg_bytes BIGINT, brightness DOUBLE, contrast DOUBLE, processing_timestamp STRING>,\n"
        "  processing_notes STRING,\n"
        "  expected_fps INT,\n"
        "  flink_processing_time STRING\n"
        ") WITH (\n%s,\n"
        "  'key.format' = 'raw',\n"
        "  'key.fields' = 'source',\n"
        "  'value.format' = 'json',\n"
        "  'value.fields-include' = 'ALL'\n"
        ")",
        tp, w_p);
    add(l,
        "CREATE TEMPORARY TABLE %s (\n"
        "  source STRING,\n"
        "  total_frames BIGINT,\n"
        "  total_size_bytes BIGINT,\n"
        "  avg_width DOUBLE,\n"
        "  avg_height DOUBLE,\n"
        "  last_updated STRING,\n"
        "  PRIMARY KEY (source) NOT ENFORCED\n"
        ") WITH (\n%s,\n"
        "  'key.format' = 'raw',\n"
        "  'value.format' = 'json',\n"
        "  'value.fields-include' = 'ALL'\n"
        ")",
        ts, w_s);
    add(l,
        "CREATE TEMPORARY TABLE %s (\n"
        "  resolution_category STRING,\n"
        "  frame_count BIGINT,\n"
        "  total_size_bytes BIGINT,\n"
        "  avg_brightness DOUBLE,\n"
        "  window_start STRING,\n"
        "  window_end STRING\n"
        ") WITH (\n%s,\n"
        "  'key.format' = 'raw',\n"
        "  'key.fields' = 'resolution_category',\n"
        "  'value.format' = 'json',\n"
        "  'value.fields-include' = 'ALL'\n"
        ")",
        tw, w_w);
    add(ins,
        "INSERT INTO %s\n"
        "SELECT frame_id, `timestamp`, source, frame_data, frame_width, frame_height,\n"
        "  frame_channels, frame_size_bytes,\n"
        "  ROW(ROUND(CAST(frame_width AS DOUBLE) / frame_height, 2), frame_width * frame_height,\n"
        "    ROUND(CAST(jpeg_bytes AS DOUBLE) / (frame_width * frame_height * 3), 3),\n"
        "    orientation, resolution_category, resolution_strict, CAST(jpeg_bytes AS BIGINT),\n"
        "    CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE),\n"
        "    REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')),\n"
        "  source || ' frame ' || CAST(frame_width AS STRING) || 'x' || CAST(frame_height AS STRING)\n"
        "    || ': ' || resolution_category || ', ' || orientation\n"
        "    || ', brightness n/a, contrast n/a (Flink SQL twin)',\n"
        "  CASE source WHEN 'webcam' THEN 30 WHEN 'video_file' THEN 25\n"
        "    WHEN 'sample_generator' THEN 1 ELSE 30 END,\n"
        "  REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')\n"
        "FROM processed_video_frames_view",
        tp);
    add(ins,
        "INSERT INTO %s\n"
        "SELECT source, COUNT(*), SUM(frame_size_bytes),\n"
        "  ROUND(AVG(CAST(frame_width AS DOUBLE)), 2), ROUND(AVG(CAST(frame_height AS DOUBLE)), 2),\n"
        "  REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')\n"
        "FROM processed_video_frames_view\n"
        "GROUP BY source",
        ts);
    char *window = window_tvf("processed_video_frames_view", "resolution_category", o);
    add(ins,
        "INSERT INTO %s\n"
        "SELECT resolution_category, COUNT(*), SUM(frame_size_bytes), CAST(NULL AS DOUBLE),\n"
        "  " WALL_TIME("window_start") ",\n"
        "  " WALL_TIME("window_end") "\n"
        "FROM %s\n"
        "GROUP BY resolution_category, window_start, window_end",
        tw, window ? window : "");
    free(window);
    free(w_in), free(w_p), free(w_s), free(w_w), free(tp), free(ts), free(tw);
    return 0;
}

static int transactions(list_t *l, list_t *ins, const flinksql_opts_t *o, char *err, size_t errlen)
{
    const char *sfx = o->suffix;
    char wm[64];
    interval(wm, sizeof wm, o->out_of_orderness_s + 0.001);

    char *w_in = kafka_with(o, "kafka", "transactions");
    char *topic_p = NULL, *topic_h = NULL, *topic_u = NULL, *topic_c = NULL;
    if (!w_in || asprintf(&topic_p, "processed_transactions%s", sfx) < 0 ||
        asprintf(&topic_h, "high_value_transactions%s", sfx) < 0 ||
        asprintf(&topic_u, "user_aggregations%s", sfx) < 0 ||
        asprintf(&topic_c, "category_windows%s", sfx) < 0) {
        snprintf(err, errlen, "out of memory");
        free(w_in), free(topic_p), free(topic_h), free(topic_u), free(topic_c);
        return -1;
    }
    char *w_p = kafka_with(o, "kafka", topic_p), *w_h = kafka_with(o, "kafka", topic_h);
    char *w_u = kafka_with(o, "upsert-kafka", topic_u), *w_c = kafka_with(o, "kafka", topic_c);

    /* The input: the seed's nine fields, event time from `timestamp`. TRY_CAST keeps a
     * bad timestamp from failing the job (the row is dropped in the view); a rowtime may
     * not be NULL, hence the epoch in its place. */
    add(l,
        "CREATE TEMPORARY TABLE transactions (\n"
        "  transaction_id STRING,\n"
        "  user_id STRING,\n"
        "  product STRING,\n"
        "  category STRING,\n"
        "  amount DECIMAL(22, 8),\n"
        "  quantity BIGINT,\n"
        "  payment_method STRING,\n"
        "  `timestamp` STRING,\n"
        "  location STRING,\n" EVENT_TIME_COLUMNS
        ") WITH (\n"
        "%s,\n"
        "  'properties.group.id' = '%s',\n"
        SOURCE_WITH_TAIL,
        wm, w_in, o->group, SOURCE_BOUNDED(o));

    /* Filter and discount, shared by every output (Flink reuses the common sub-plan). */
    add(l,
        "CREATE TEMPORARY VIEW processed_transactions_view AS\n"
        "SELECT transaction_id, user_id, product, category, amount, quantity, payment_method,\n"
        "  `timestamp`, location, event_time,\n"
        "  -- the original's discount_applied: the multiplier (final = amount * it)\n"
        "  CASE category WHEN 'electronics' THEN 0.95 WHEN 'books' THEN 0.90\n"
        "    WHEN 'clothing' THEN 0.92 ELSE 1.0 END AS discount_applied,\n"
        "  -- DECIMAL arithmetic, rounded half-up to the cent by the cast\n"
        "  CAST(CASE category WHEN 'electronics' THEN amount * 0.95 WHEN 'books' THEN amount * 0.90\n"
        "    WHEN 'clothing' THEN amount * 0.92 ELSE amount END AS DECIMAL(20, 2)) AS final_amount\n"
        "FROM transactions\n"
        "WHERE amount > %s\n"
        "  AND amount <= 1000000000000\n"
        "  AND transaction_id IS NOT NULL AND user_id IS NOT NULL AND product IS NOT NULL\n"
        "  AND category IS NOT NULL AND quantity IS NOT NULL AND payment_method IS NOT NULL\n"
        "  AND location IS NOT NULL\n"
        "  AND TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3)) IS NOT NULL",
        o->filter_amount);

    add(l,
        "CREATE TEMPORARY TABLE %s (\n%s) WITH (\n%s,\n"
        "  'key.format' = 'raw',\n"
        "  'key.fields' = 'user_id',\n"
        "  'value.format' = 'json',\n"
        "  'value.fields-include' = 'ALL'\n"
        ")",
        topic_p, processed_columns, w_p);
    add(l,
        "CREATE TEMPORARY TABLE %s (\n%s) WITH (\n%s,\n"
        "  'key.format' = 'raw',\n"
        "  'key.fields' = 'user_id',\n"
        "  'value.format' = 'json',\n"
        "  'value.fields-include' = 'ALL'\n"
        ")",
        topic_h, processed_columns, w_h);
    add(l,
        "CREATE TEMPORARY TABLE %s (\n"
        "  user_id STRING,\n"
        "  total_spent DOUBLE,\n"
        "  transaction_count BIGINT,\n"
        "  last_updated STRING,\n"
        "  PRIMARY KEY (user_id) NOT ENFORCED\n"
        ") WITH (\n%s,\n"
        "  'key.format' = 'raw',\n"
        "  'value.format' = 'json',\n"
        "  'value.fields-include' = 'ALL'\n"
        ")",
        topic_u, w_u);
    add(l,
        "CREATE TEMPORARY TABLE %s (\n"
        "  category STRING,\n"
        "  total_amount DOUBLE,\n"
        "  transaction_count BIGINT,\n"
        "  window_start STRING,\n"
        "  window_end STRING\n"
        ") WITH (\n%s,\n"
        "  'key.format' = 'raw',\n"
        "  'key.fields' = 'category',\n"
        "  'value.format' = 'json',\n"
        "  'value.fields-include' = 'ALL'\n"
        ")",
        topic_c, w_c);

    char *window = window_tvf("processed_transactions_view", "category", o);
    add(ins,
        "INSERT INTO %s\n"
        "SELECT %s\n"
        "FROM processed_transactions_view",
        topic_p, processed_select);
    add(ins,
        "INSERT INTO %s\n"
        "SELECT %s\n"
        "FROM processed_transactions_view\n"
        "WHERE amount > %s",
        topic_h, processed_select, o->high_value);
    add(ins,
        "INSERT INTO %s\n"
        "SELECT user_id, CAST(SUM(final_amount) AS DOUBLE), COUNT(*),\n"
        "  REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')\n"
        "FROM processed_transactions_view\n"
        "GROUP BY user_id",
        topic_u);
    add(ins,
        "INSERT INTO %s\n"
        "SELECT category, CAST(SUM(final_amount) AS DOUBLE), COUNT(*),\n"
        "  " WALL_TIME("window_start") ",\n"
        "  " WALL_TIME("window_end") "\n"
        "FROM %s\n"
        "GROUP BY category, window_start, window_end",
        topic_c, window ? window : "");

    free(window);
    free(w_in), free(w_p), free(w_h), free(w_u), free(w_c);
    free(topic_p), free(topic_h), free(topic_u), free(topic_c);
    return 0;
}

char **flinksql_statements(const flinksql_opts_t *o, char *err, size_t errlen)
{
    if (!o->brokers || !*o->brokers || !plain_text(o->brokers)) {
        snprintf(err, errlen, "bad brokers \"%s\"", o->brokers ? o->brokers : "");
        return NULL;
    }
    if (!o->suffix || !plain_text(o->suffix) || strchr(o->suffix, ' ')) {
        snprintf(err, errlen, "bad suffix \"%s\" (no quotes, backslashes or spaces)",
                 o->suffix ? o->suffix : "");
        return NULL;
    }
    if (!o->group || !*o->group || !plain_text(o->group)) {
        snprintf(err, errlen, "bad group \"%s\"", o->group ? o->group : "");
        return NULL;
    }
    if (o->job_name && !plain_text(o->job_name)) {
        snprintf(err, errlen, "bad job name \"%s\" (no quotes or backslashes)", o->job_name);
        return NULL;
    }
    for (size_t i = 0; i < o->nwith; i++) {
        const char *eq = strchr(o->with[i], '=');
        if (!eq || eq == o->with[i] || !plain_text(o->with[i])) {
            snprintf(err, errlen, "a connector option is KEY=VALUE without quotes, not \"%s\"",
                     o->with[i]);
            return NULL;
        }
    }
    if (!plain_decimal(o->filter_amount) || !plain_decimal(o->high_value)) {
        snprintf(err, errlen, "amount thresholds must be plain decimals like 100 or 99.5, not \"%s\"",
                 plain_decimal(o->filter_amount) ? o->high_value : o->filter_amount);
        return NULL;
    }
    if (!(o->window_s >= 0.001) || !(o->window_slide_s >= 0) || !(o->session_gap_s >= 0) ||
        !(o->out_of_orderness_s >= 0) || !(o->state_ttl_s >= 0) || o->parallelism < 0) {
        snprintf(err, errlen, "durations and parallelism must not be negative (window > 0)");
        return NULL;
    }
    if (o->window_slide_s > o->window_s) {
        snprintf(err, errlen, "the window slide may not be larger than the window");
        return NULL;
    }
    if (!o->pipelines || (o->pipelines & ~(unsigned)(FLINKSQL_TRANSACTIONS | FLINKSQL_VIDEO))) {
        snprintf(err, errlen, "only the transactions and video pipelines have a Flink SQL twin");
        return NULL;
    }

    list_t l = {0};
    if (o->job_name)
        add(&l, "SET 'pipeline.name' = '%s'", o->job_name);
    else
        add(&l, "SET 'pipeline.name' = 'streamlab-twin%s'", o->suffix);
    if (o->parallelism > 0)
        add(&l, "SET 'parallelism.default' = '%d'", o->parallelism);
    if (o->state_ttl_s > 0)
        add(&l, "SET 'table.exec.state.ttl' = '%lld ms'", llround(o->state_ttl_s * 1000.0));
    list_t ins = {0};
    if (((o->pipelines & FLINKSQL_TRANSACTIONS) && transactions(&l, &ins, o, err, errlen) < 0) ||
        ((o->pipelines & FLINKSQL_VIDEO) && video(&l, &ins, o, err, errlen) < 0)) {
        flinksql_free(l.v);
        flinksql_free(ins.v);
        return NULL;
    }
    /* One statement set: one job for every output of every pipeline. */
    size_t len = 32;
    for (size_t i = 0; i < ins.n; i++)
        len += strlen(ins.v[i]) + 2;
    char *set = malloc(len);
    if (set) {
        char *at = set + sprintf(set, "EXECUTE STATEMENT SET\nBEGIN\n");
        for (size_t i = 0; i < ins.n; i++)
            at += sprintf(at, "%s;\n", ins.v[i]);
        sprintf(at, "END");
        add(&l, "%s", set);
        free(set);
    } else {
        l.oom = true;
    }
    if (ins.oom)
        l.oom = true;
    flinksql_free(ins.v);
    if (l.oom) {
        snprintf(err, errlen, "out of memory");
        flinksql_free(l.v);
        return NULL;
    }
    return l.v;
}

void flinksql_free(char **stmts)
{
    if (!stmts)
        return;
    for (char **p = stmts; *p; p++)
        free(*p);
    free(stmts);
}

char *flinksql_script(char *const *stmts)
{
    size_t len = 1;
    for (char *const *p = stmts; *p; p++)
        len += strlen(*p) + 3;
    char *s = malloc(len), *at = s;
    if (!s)
        return NULL;
    for (char *const *p = stmts; *p; p++)
        at += sprintf(at, "%s;\n\n", *p);
    *at = '\0';
    return s;
}
