/* flinksql.c — the Flink SQL twin of the transactions and video pipelines (see flinksql.h).
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
 *   a bad timestamp) are skipped: SQL has no side output for them.
 *
 * The SQL text is in templates, assets/flink/NAME.sql (embedded by sqlassets.S, filled by
 * sqltpl_fill): this file chooses which template each option turns into and fills in the
 * values. Building is one pass that keeps going after a failure (a template error, out of
 * memory) as a no-op, so that each pipeline below reads as its list of statements. */
#include "engine/flink/flinksql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/flink/sqlassets.h"
#include "engine/flink/sqltpl.h"

void flinksql_defaults(flinksql_opts_t *o)
{
    *o = (flinksql_opts_t){.brokers = "127.0.0.1:9092",
                           .pipelines = FLINKSQL_TRANSACTIONS,
                           .suffix = "_flink",
                           .group = "streamlab-flink-twin",
                           .filter_amount = "100",
                           .high_value = "500",
                           .fraud_small = "20",
                           .fraud_large = "800",
                           .fraud_within_s = 60,
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

typedef struct {
    const char **v;
    size_t n, cap;
} list_t;

/* The twin being built. Every string made on the way is kept (and freed) here; the
 * lists point into them. The first failure's reason is in err. */
typedef struct {
    list_t stmts;   /* the statements, in order */
    list_t inserts; /* the INSERTs of the one statement set */
    list_t kept;    /* every string made, freed at the end */
    char *err;
    size_t errlen;
    bool failed;
} twin_t;

static void out_of_memory(twin_t *t)
{
    if (!t->failed)
        snprintf(t->err, t->errlen, "out of memory");
    t->failed = true;
}

static void push(twin_t *t, list_t *l, const char *s)
{
    if (t->failed || !s)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        const char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            out_of_memory(t);
            return;
        }
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = s;
}

/* Takes s (a new string; NULL means out of memory) into t->kept; returns it, or NULL
 * once the build has failed. */
static const char *keep(twin_t *t, char *s)
{
    if (!s)
        out_of_memory(t);
    size_t n = t->kept.n;
    push(t, &t->kept, s);
    if (t->kept.n == n) {
        free(s);
        return NULL;
    }
    return s;
}

/* Template NAME filled with VARS (see sqltpl.h); kept in t. */
static const char *fill(twin_t *t, const char *name, const char *text, const sqltpl_var_t *vars,
                        size_t nvars)
{
    if (t->failed)
        return NULL;
    char *s = sqltpl_fill(name, text, vars, nvars, t->err, t->errlen);
    if (!s) {
        t->failed = true;
        return NULL;
    }
    return keep(t, s);
}

/* FILL(t, NAME, {"placeholder", value}, ...): assets/flink/NAME.sql filled in;
 * TEXT(t, NAME): one that has no placeholder. */
#define FILL(t, name, ...)                                                                         \
    fill((t), #name ".sql", sqlasset_##name, (const sqltpl_var_t[]){__VA_ARGS__},                  \
         sizeof((const sqltpl_var_t[]){__VA_ARGS__}) / sizeof(sqltpl_var_t))
#define TEXT(t, name) fill((t), #name ".sql", sqlasset_##name, NULL, 0)

/* A and B run together (a topic name and its suffix); kept in t. */
static const char *cat(twin_t *t, const char *a, const char *b)
{
    if (t->failed)
        return NULL;
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return keep(t, s);
}

/* LEAD, then the N parts with SEP between them ("" for no part); kept in t. */
static const char *join(twin_t *t, const char *const *parts, size_t n, const char *lead,
                        const char *sep)
{
    if (t->failed)
        return NULL;
    if (!n)
        return "";
    size_t len = strlen(lead) + 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]) + strlen(sep);
    char *s = malloc(len);
    if (s) {
        char *at = stpcpy(s, lead);
        for (size_t i = 0; i < n; i++)
            at = stpcpy(i ? stpcpy(at, sep) : at, parts[i]);
    }
    return keep(t, s);
}

/* A number as text for a placeholder; kept in t. */
static const char *number(twin_t *t, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return t->failed ? NULL : keep(t, strdup(buf));
}

/* A duration in seconds for INTERVAL '...' SECOND, exact to the ms ("5", "5.001"); kept
 * in t. */
static const char *seconds(twin_t *t, double s)
{
    char buf[64];
    long long ms = llround(s * 1000.0);
    if (ms % 1000 == 0)
        snprintf(buf, sizeof buf, "%lld", ms / 1000);
    else
        snprintf(buf, sizeof buf, "%lld.%03lld", ms / 1000, ms % 1000);
    return t->failed ? NULL : keep(t, strdup(buf));
}

static void stmt(twin_t *t, const char *s)
{
    push(t, &t->stmts, s);
}

static void insert(twin_t *t, const char *s)
{
    push(t, &t->inserts, s);
}

/* The WITH options every Kafka table shares, --connector-option's last. */
static const char *kafka_with(twin_t *t, const flinksql_opts_t *o, const char *connector,
                              const char *topic)
{
    list_t opts = {0};
    for (size_t i = 0; i < o->nwith; i++) {
        const char *eq = strchr(o->with[i], '=');
        const char *key = keep(t, strndup(o->with[i], (size_t)(eq - o->with[i])));
        push(t, &opts, FILL(t, kafka_option, {"key", key}, {"value", eq + 1}));
    }
    const char *w = FILL(t, kafka_with, {"connector", connector}, {"topic", topic},
                         {"brokers", o->brokers},
                         {"options", join(t, opts.v, opts.n, ",\n", ",\n")});
    free(opts.v);
    return w;
}

/* The event-time column and watermark every input table has (see the top): streamlab's
 * bound + 1 ms. */
static const char *event_time_columns(twin_t *t, const flinksql_opts_t *o)
{
    return FILL(t, event_time_columns,
                {"watermark_seconds", seconds(t, o->out_of_orderness_s + 0.001)});
}

/* The end of every input table's WITH clause: read from the start, the watermark on every
 * record, JSON; with --bounded, stop at the offsets of the start. */
static const char *source_tail(twin_t *t, const flinksql_opts_t *o)
{
    return FILL(t, source_tail, {"bounded", o->bounded ? TEXT(t, source_bounded) : ""});
}

/* The windowing TVF over VIEW for the window flags: SESSION per key column, HOP when the
 * slide differs from the size, else TUMBLE. */
static const char *window_tvf(twin_t *t, const flinksql_opts_t *o, const char *view,
                              const char *key)
{
    if (o->session_gap_s > 0)
        return FILL(t, window_session, {"view", view}, {"key", key},
                    {"gap_seconds", seconds(t, o->session_gap_s)});
    if (o->window_slide_s > 0 && fabs(o->window_slide_s - o->window_s) > 1e-9)
        return FILL(t, window_hop, {"view", view},
                    {"slide_seconds", seconds(t, o->window_slide_s)},
                    {"window_seconds", seconds(t, o->window_s)});
    return FILL(t, window_tumble, {"view", view}, {"window_seconds", seconds(t, o->window_s)});
}

/* The video pipeline's fields that SQL can compute (video.c): the resolution filter,
 * aspect ratio, pixels, orientation, resolution category, expected fps, the compression
 * ratio from the base64 length (the decoded JPEG's size), per-source totals and
 * resolution windows. Brightness and contrast need the pixels: the twin writes null. */
static void video(twin_t *t, const flinksql_opts_t *o)
{
    const char *frames = cat(t, "processed_video_frames", o->suffix);
    const char *sources = cat(t, "video_source_aggregations", o->suffix);
    const char *windows = cat(t, "video_resolution_windows", o->suffix);

    stmt(t, FILL(t, video_source, {"event_time_columns", event_time_columns(t, o)},
                 {"kafka_with", kafka_with(t, o, "kafka", "video_frames")}, {"group", o->group},
                 {"source_tail", source_tail(t, o)}));
    stmt(t, FILL(t, video_view, {"min_width", number(t, o->min_width)},
                 {"min_height", number(t, o->min_height)}));
    stmt(t, FILL(t, video_processed_table, {"table", frames},
                 {"kafka_with", kafka_with(t, o, "kafka", frames)}));
    stmt(t, FILL(t, video_sources_table, {"table", sources},
                 {"kafka_with", kafka_with(t, o, "upsert-kafka", sources)}));
    stmt(t, FILL(t, video_windows_table, {"table", windows},
                 {"kafka_with", kafka_with(t, o, "kafka", windows)}));

    insert(t, FILL(t, video_insert_processed, {"table", frames}));
    insert(t, FILL(t, video_insert_sources, {"table", sources}));
    insert(t, FILL(t, video_insert_windows, {"table", windows},
                   {"window", window_tvf(t, o, "processed_video_frames_view",
                                         "resolution_category")}));
}

static void transactions(twin_t *t, const flinksql_opts_t *o)
{
    const char *processed = cat(t, "processed_transactions", o->suffix);
    const char *high = cat(t, "high_value_transactions", o->suffix);
    const char *users = cat(t, "user_aggregations", o->suffix);
    const char *categories = cat(t, "category_windows", o->suffix);
    const char *fraud = cat(t, "fraud_alerts", o->suffix);

    /* The input: the seed's nine fields, event time from `timestamp`. TRY_CAST keeps a
     * bad timestamp from failing the job (the row is dropped in the view); a rowtime may
     * not be NULL, hence the epoch in its place. */
    stmt(t, FILL(t, txn_source, {"event_time_columns", event_time_columns(t, o)},
                 {"kafka_with", kafka_with(t, o, "kafka", "transactions")}, {"group", o->group},
                 {"source_tail", source_tail(t, o)}));
    /* Filter and discount, shared by every output (Flink reuses the common sub-plan). */
    stmt(t, FILL(t, txn_view, {"filter_amount", o->filter_amount}));
    /* processed_transactions and high_value_transactions: one row type, as streamlab
     * writes them. */
    stmt(t, FILL(t, txn_processed_table, {"table", processed},
                 {"kafka_with", kafka_with(t, o, "kafka", processed)}));
    stmt(t, FILL(t, txn_processed_table, {"table", high},
                 {"kafka_with", kafka_with(t, o, "kafka", high)}));
    stmt(t, FILL(t, txn_user_table, {"table", users},
                 {"kafka_with", kafka_with(t, o, "upsert-kafka", users)}));
    stmt(t, FILL(t, txn_category_table, {"table", categories},
                 {"kafka_with", kafka_with(t, o, "kafka", categories)}));
    stmt(t, FILL(t, txn_fraud_table, {"table", fraud},
                 {"kafka_with", kafka_with(t, o, "kafka", fraud)}));

    const char *select = TEXT(t, txn_processed_select);
    insert(t, FILL(t, txn_insert_processed, {"table", processed}, {"processed_select", select}));
    insert(t, FILL(t, txn_insert_high_value, {"table", high}, {"processed_select", select},
                   {"high_value", o->high_value}));
    insert(t, FILL(t, txn_insert_user, {"table", users}));
    insert(t, FILL(t, txn_insert_category, {"table", categories},
                   {"window", window_tvf(t, o, "processed_transactions_view", "category")}));
    /* Card testing (streamlab's df_pattern): MATCH_RECOGNIZE on every valid transaction.
     * Flink's WITHIN is exclusive (a partial match is dropped when an event comes
     * `bound` or more after its start) and streamlab's bound inclusive (last - first <=
     * bound): event times are whole ms, so bound + 1 ms says the same. */
    stmt(t, TEXT(t, txn_valid_view));
    /* (an interval's leading field has 2 digits unless it says more: SECOND(3) for 100 s) */
    char digits[16] = "";
    double within = o->fraud_within_s + 0.001;
    if (within >= 100)
        snprintf(digits, sizeof digits, "(%d)", (int)floor(log10(within)) + 1);
    insert(t, FILL(t, txn_insert_fraud, {"table", fraud}, {"fraud_small", o->fraud_small},
                   {"fraud_large", o->fraud_large}, {"within_seconds", seconds(t, within)},
                   {"within_precision", digits}));
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
    const char *const amounts[] = {o->filter_amount, o->high_value, o->fraud_small, o->fraud_large};
    for (size_t i = 0; i < sizeof amounts / sizeof *amounts; i++)
        if (!plain_decimal(amounts[i])) {
            snprintf(err, errlen,
                     "amount thresholds must be plain decimals like 100 or 99.5, not \"%s\"",
                     amounts[i] ? amounts[i] : "");
            return NULL;
        }
    if (!(o->fraud_within_s >= 0)) {
        snprintf(err, errlen, "--fraud-within must not be negative");
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

    twin_t t = {.err = err, .errlen = errlen};
    stmt(&t, FILL(&t, set_pipeline_name,
                  {"job_name", o->job_name ? o->job_name : cat(&t, "streamlab-twin", o->suffix)}));
    if (o->parallelism > 0)
        stmt(&t, FILL(&t, set_parallelism, {"parallelism", number(&t, o->parallelism)}));
    if (o->state_ttl_s > 0)
        stmt(&t, FILL(&t, set_state_ttl,
                      {"state_ttl_ms", number(&t, llround(o->state_ttl_s * 1000.0))}));
    if (o->pipelines & FLINKSQL_TRANSACTIONS)
        transactions(&t, o);
    if (o->pipelines & FLINKSQL_VIDEO)
        video(&t, o);
    /* One statement set: one job for every output of every pipeline. */
    stmt(&t, FILL(&t, statement_set, {"inserts", join(&t, t.inserts.v, t.inserts.n, "", ";\n")}));

    char **out = t.failed ? NULL : calloc(t.stmts.n + 1, sizeof *out);
    for (size_t i = 0; out && i < t.stmts.n; i++) {
        if (!(out[i] = strdup(t.stmts.v[i]))) {
            flinksql_free(out);
            out = NULL;
        }
    }
    if (!out && !t.failed)
        snprintf(err, errlen, "out of memory");
    for (size_t i = 0; i < t.kept.n; i++)
        free((char *)t.kept.v[i]);
    free(t.kept.v), free(t.stmts.v), free(t.inserts.v);
    return out;
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
