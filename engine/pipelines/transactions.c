/* transactions.c — the original's Flink job on the dataflow runtime.
 *
 *   source(transactions) -> filter amount > threshold -> map discount
 *     -> sink processed_transactions
 *     -> key_by user_id -> reduce totals -> sink user_aggregations
 *     -> filter amount > high-value threshold -> sink high_value_transactions
 *     -> key_by category -> 30 s tumbling window -> sink category_windows
 *                                               \-> late -> sink late_transactions
 *
 * Money is summed in integer cents so totals never drift. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonr.h"
#include "engine/evtime.h"
#include "tui/views.h"
#include "engine/pipelines/pipelines.h"

static const struct {
    const char *name;
    json_type type; /* JSON_REAL: a number or a numeric string; JSON_INTEGER: a whole one */
} fields[] = {
    {"transaction_id", JSON_STRING}, {"user_id", JSON_STRING},  {"product", JSON_STRING},
    {"category", JSON_STRING},       {"amount", JSON_REAL},     {"quantity", JSON_INTEGER},
    {"payment_method", JSON_STRING}, {"timestamp", JSON_STRING}, {"location", JSON_STRING},
};

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

int txn_number(const json_t *f, double *out)
{
    if (json_is_number(f)) {
        *out = json_number_value(f);
        return 0;
    }
    if (!json_is_string(f))
        return -1;
    /* The original reads amount with float() and quantity with int(): a decimal
     * number in a string counts, surrounding blanks allowed; nothing else does. */
    const char *s = json_string_value(f), *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    bool digits = false;
    const char *q = p;
    if (*q == '+' || *q == '-')
        q++;
    for (; *q >= '0' && *q <= '9'; q++)
        digits = true;
    if (*q == '.')
        for (q++; *q >= '0' && *q <= '9'; q++)
            digits = true;
    if (!digits)
        return -1;
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!(*q >= '0' && *q <= '9'))
            return -1;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    const char *end = q;
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q || (size_t)(q - s) != json_string_length(f))
        return -1;
    char buf[64];
    if ((size_t)(end - p) >= sizeof buf)
        return -1;
    memcpy(buf, p, (size_t)(end - p));
    buf[end - p] = '\0';
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 0 : -1;
}

int txn_parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
              size_t errsize, void *ctx)
{
    (void)ctx;
    json_error_t je;
    json_t *v = buf ? jsonr_load(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je) : NULL;
    if (!buf) {
        snprintf(err, errsize, "empty record (no value)");
        return -1;
    }
    if (!v) {
        snprintf(err, errsize, "not JSON: %s (at byte %d)", je.text, je.position);
        return -1;
    }
    if (!json_is_object(v)) {
        snprintf(err, errsize, "expected a JSON object, got %s", type_name(v));
        goto bad;
    }
    double amount = 0, quantity = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *f = json_object_get(v, fields[i].name);
        if (!f) {
            snprintf(err, errsize, "missing field \"%s\"", fields[i].name);
            goto bad;
        }
        if (fields[i].type == JSON_STRING) {
            if (!json_is_string(f)) {
                snprintf(err, errsize, "field \"%s\" should be a string, got %s", fields[i].name,
                         type_name(f));
                goto bad;
            }
            continue;
        }
        double *d = fields[i].type == JSON_REAL ? &amount : &quantity;
        if (txn_number(f, d) < 0) {
            if (json_is_string(f))
                snprintf(err, errsize, "field \"%s\" should be a number, got the string \"%.40s\"",
                         fields[i].name, json_string_value(f));
            else
                snprintf(err, errsize, "field \"%s\" should be a number, got %s", fields[i].name,
                         type_name(f));
            goto bad;
        }
        if (fields[i].type == JSON_INTEGER && (*d != floor(*d) || fabs(*d) > 1e15)) {
            snprintf(err, errsize, "field \"%s\" should be a whole number, got %g", fields[i].name,
                     *d);
            goto bad;
        }
    }
    if (!isfinite(amount) || amount < 0 || amount > 1e12) {
        snprintf(err, errsize, "field \"amount\" out of range: %g", amount);
        goto bad;
    }
    /* What the original could read, streamlab writes as numbers: consumers
     * downstream compute with them. */
    json_t *a = json_object_get(v, "amount"), *q = json_object_get(v, "quantity");
    if (json_is_string(a))
        json_object_set_new(v, "amount", json_real(amount));
    if (!json_is_integer(q))
        json_object_set_new(v, "quantity", json_integer((json_int_t)quantity));
    json_t *ts = json_object_get(v, "timestamp");
    if (evtime_parse(json_string_value(ts), json_string_length(ts), event_ms) < 0) {
        snprintf(err, errsize, "field \"timestamp\" is not an ISO-8601 time: \"%s\"",
                 json_string_value(ts));
        goto bad;
    }
    *value = v;
    return 0;
bad:
    json_decref(v);
    return -1;
}

double txn_discount_factor(const char *category)
{
    if (!strcmp(category, "electronics"))
        return 0.95;
    if (!strcmp(category, "books"))
        return 0.90;
    if (!strcmp(category, "clothing"))
        return 0.92;
    return 1.0;
}

int64_t txn_final_cents(double amount, double factor)
{
    /* For whole cents (the usual case) work in cents first, so that 19.99 * 0.9
     * rounds on its true value (1799.1 cents), not on a binary neighbour of
     * x.xx5.  Other amounts are rounded once, on amount * factor. */
    double c = amount * 100.0, cents = round(c);
    if (fabs(c - cents) > 1e-6)
        return (int64_t)llround(c * factor);
    return (int64_t)llround(cents * factor + (cents * factor >= 0 ? 1e-7 : -1e-7));
}

static double amount_of(const json_t *v)
{
    double a = 0;
    df_json_number(json_object_get(v, "amount"), &a);
    return a;
}

static bool above_filter(const json_t *v, void *ctx)
{
    pipeline_params_t *p = ctx;
    return amount_of(v) > atomic_load_explicit(&p->filter_amount, memory_order_relaxed);
}

static bool above_high_value(const json_t *v, void *ctx)
{
    pipeline_params_t *p = ctx;
    return amount_of(v) > atomic_load_explicit(&p->high_value_amount, memory_order_relaxed);
}

static json_t *apply_discount(json_t *v, void *ctx)
{
    (void)ctx;
    v = df_writable(v);
    double amount = amount_of(v);
    double factor = txn_discount_factor(json_string_value(json_object_get(v, "category")));
    json_object_set_new(v, "original_amount", json_real(amount));
    /* The original's discount_applied is the multiplier: final = amount * it. */
    json_object_set_new(v, "discount_applied", json_real(factor));
    json_object_set_new(v, "final_amount", json_real(txn_final_cents(amount, factor) / 100.0));
    json_object_set_new(v, "processing_timestamp", pipeline_now_string());
    return v;
}

static json_t *field_key(const json_t *v, void *ctx) { return json_object_get(v, (const char *)ctx); }

static int64_t final_cents_of(const json_t *v)
{
    return llround(json_real_value(json_object_get(v, "final_amount")) * 100.0);
}

/* User totals: the accumulator is the output record itself, updated in place. */
static json_t *user_create(const df_record_t *r, void *ctx)
{
    (void)ctx;
    return json_pack("{sOsfsI}", "user_id", r->key, "total_spent", 0.0, "transaction_count",
                     (json_int_t)0);
}

static void user_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    int64_t cents = llround(json_real_value(json_object_get(acc, "total_spent")) * 100.0);
    cents += final_cents_of(r->value);
    json_real_set(json_object_get(acc, "total_spent"), cents / 100.0);
    json_t *n = json_object_get(acc, "transaction_count");
    json_integer_set(n, json_integer_value(n) + 1);
}

static json_t *user_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)key, (void)start, (void)end, (void)ctx;
    json_object_set_new(acc, "last_updated", pipeline_now_string());
    return json_incref(acc);
}

static const df_agg_t user_totals = {.create = user_create, .add = user_add, .result = user_result};

/* Category windows: accumulate cents and count; the result is a new record. */
static json_t *cat_create(const df_record_t *r, void *ctx)
{
    (void)r, (void)ctx;
    return json_pack("{sIsI}", "cents", (json_int_t)0, "count", (json_int_t)0);
}

static void cat_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    json_t *c = json_object_get(acc, "cents"), *n = json_object_get(acc, "count");
    json_integer_set(c, json_integer_value(c) + final_cents_of(r->value));
    json_integer_set(n, json_integer_value(n) + 1);
}

static json_t *cat_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)ctx;
    char s[EVTIME_BUFSIZE], e[EVTIME_BUFSIZE];
    return json_pack("{sOsfsIssss}", "category", key, "total_amount",
                     json_integer_value(json_object_get(acc, "cents")) / 100.0, "transaction_count",
                     json_integer_value(json_object_get(acc, "count")), "window_start",
                     evtime_format(start, s), "window_end", evtime_format(end, e));
}

static void cat_merge(json_t *into, const json_t *from, void *ctx)
{
    (void)ctx;
    static const char *const fields[] = {"cents", "count"};
    for (size_t i = 0; i < 2; i++) {
        json_t *f = json_object_get(into, fields[i]);
        json_integer_set(f, json_integer_value(f) + json_integer_value(json_object_get(from, fields[i])));
    }
}

static const df_agg_t category_totals = {
    .create = cat_create, .add = cat_add, .result = cat_result, .merge = cat_merge};

/* --- the console's view (only when params->view is set) ------------------ */

static void copy_str(char *dst, size_t size, const json_t *v, const char *field)
{
    snprintf(dst, size, "%s", json_string_value(json_object_get(v, field)));
}

static void view_input(const df_record_t *r, void *ctx)
{
    pipeline_params_t *p = ctx;
    view_tx_t tx = {.event_ms = r->event_ms, .partition = r->partition};
    copy_str(tx.id, sizeof tx.id, r->value, "transaction_id");
    copy_str(tx.user, sizeof tx.user, r->value, "user_id");
    copy_str(tx.product, sizeof tx.product, r->value, "product");
    copy_str(tx.category, sizeof tx.category, r->value, "category");
    double amount = amount_of(r->value);
    tx.amount_cents = llround(amount * 100.0);
    tx.passed = above_filter(r->value, p);
    tx.high = tx.passed && above_high_value(r->value, p);
    view_on_input(p->view, &tx);
}

static void view_user(const df_record_t *r, void *ctx)
{
    pipeline_params_t *p = ctx;
    view_on_user(p->view, json_string_value(json_object_get(r->value, "user_id")),
                 llround(json_real_value(json_object_get(r->value, "total_spent")) * 100.0),
                 json_integer_value(json_object_get(r->value, "transaction_count")));
}

static void view_window_input(const df_record_t *r, void *ctx)
{
    pipeline_params_t *p = ctx;
    view_on_window_input(p->view, json_string_value(r->key), r->event_ms, final_cents_of(r->value));
}

static void view_window_fired(const df_record_t *r, void *ctx)
{
    pipeline_params_t *p = ctx;
    view_window_t w = {
        .total_cents = llround(json_real_value(json_object_get(r->value, "total_amount")) * 100.0),
        .count = json_integer_value(json_object_get(r->value, "transaction_count"))};
    copy_str(w.category, sizeof w.category, r->value, "category");
    const char *s = json_string_value(json_object_get(r->value, "window_start"));
    const char *e = json_string_value(json_object_get(r->value, "window_end"));
    evtime_parse(s, strlen(s), &w.start_ms);
    evtime_parse(e, strlen(e), &w.end_ms);
    view_on_window_fired(p->view, &w);
}

df_graph_t *pipeline_transactions(const df_host_t *host, pipeline_params_t *params)
{
    df_graph_t *g = df_graph_new("transactions", host);
    df_graph_set_time(g, params->out_of_orderness_ms, params->idle_timeout_ms);
    df_graph_use_processing_time(g, params->processing_time);

    df_stream_t *src = df_source(g, "transactions", "transactions.dlq", txn_parse, NULL);
    /* View sinks come first on each branch point: they only read, and the
     * last branch may then change the record in place. */
    if (params->view)
        df_sink_call(src, "view:feed", view_input, params);
    df_stream_t *passed = df_filter(src, "filter:amount", above_filter, params);
    df_stream_t *processed = df_map(passed, "map:discount", apply_discount, NULL);
    df_sink_topic(processed, "processed_transactions", "user_id");

    df_stream_t *high = df_filter(processed, "filter:high_value", above_high_value, params);
    df_sink_topic(high, "high_value_transactions", "user_id");

    /* Not the input's key: across processes these records go through a
     * repartition topic (when the engine repartitions; see df_key_by_repartition). */
    df_stream_t *by_cat = df_key_by_repartition(processed, "key_by:category", field_key, "category",
                                                "repartition-category_windows");
    if (params->view)
        df_sink_call(by_cat, "view:open_windows", view_window_input, params);
    df_window_spec_t spec = {.size_ms = params->window_ms,
                             .slide_ms = params->window_slide_ms,
                             .allowed_lateness_ms = params->allowed_lateness_ms};
    df_stream_t *win =
        params->session_gap_ms > 0
            ? df_window_session(by_cat, "window:category", params->session_gap_ms,
                                params->allowed_lateness_ms, &category_totals, NULL)
            : df_window(by_cat, "window:category", &spec, &category_totals, NULL);
    if (params->view)
        df_sink_call(win, "view:fired_windows", view_window_fired, params);
    df_sink_topic(win, "category_windows", "category");
    df_sink_topic(df_window_late(win), "late_transactions", "user_id");

    /* Last branch: the user totals may then change the processed record in place. */
    df_stream_t *by_user = df_key_by(processed, "key_by:user_id", field_key, "user_id");
    df_stream_t *totals = df_reduce(by_user, "reduce:user_totals", &user_totals, NULL);
    df_reduce_set_ttl(totals, params->state_ttl_ms);
    if (params->view)
        df_sink_call(totals, "view:users", view_user, params);
    df_sink_topic(totals, "user_aggregations", "user_id");
    return g;
}
