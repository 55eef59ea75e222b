/* taps.c — see taps.h.  What each point's record holds is the pipeline's
 * output at that point (docs/records.md); the feed sees the input records,
 * typed or JSON, through df_record_string / df_record_number. */
#include "tui/taps.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/evtime.h"

static void copy_field(char *dst, size_t size, const df_record_t *r, const char *name)
{
    size_t n = 0;
    const char *s = df_record_string(r, name, &n);
    snprintf(dst, size, "%.*s", s ? (int)n : 0, s ? s : "");
}

static double number(const df_record_t *r, const char *name)
{
    double d = 0;
    df_record_number(r, name, &d);
    return d;
}

static int64_t window_bound(const json_t *v, const char *name)
{
    const char *s = json_string_value(json_object_get(v, name));
    int64_t ms = 0;
    if (s)
        evtime_parse(s, strlen(s), &ms);
    return ms;
}

/* --- transactions ------------------------------------------------------------ */

static void txn_feed(const console_views_t *c, const df_record_t *r)
{
    view_tx_t tx = {.event_ms = r->event_ms, .partition = r->partition};
    copy_field(tx.id, sizeof tx.id, r, "transaction_id");
    copy_field(tx.user, sizeof tx.user, r, "user_id");
    copy_field(tx.product, sizeof tx.product, r, "product");
    copy_field(tx.category, sizeof tx.category, r, "category");
    tx.amount_cents = llround(number(r, "amount") * 100.0);
    /* the pipeline's own decisions, not a copy of them */
    tx.passed = txn_passes_filter(r, (void *)c->params);
    tx.high = tx.passed && txn_is_high_value(r, (void *)c->params);
    view_on_input(c->txn, &tx);
}

static void txn_user(const console_views_t *c, const df_record_t *r)
{
    const json_t *v = r->value;
    view_on_user(c->txn, json_string_value(json_object_get(v, "user_id")),
                 llround(json_real_value(json_object_get(v, "total_spent")) * 100.0),
                 json_integer_value(json_object_get(v, "transaction_count")));
}

static void txn_window_input(const console_views_t *c, const df_record_t *r)
{
    view_on_window_input(c->txn, json_string_value(r->key), r->event_ms,
                         llround(number(r, "final_amount") * 100.0));
}

static void txn_window_fired(const console_views_t *c, const df_record_t *r)
{
    const json_t *v = r->value;
    view_window_t w = {
        .total_cents = llround(json_real_value(json_object_get(v, "total_amount")) * 100.0),
        .count = json_integer_value(json_object_get(v, "transaction_count")),
        .start_ms = window_bound(v, "window_start"),
        .end_ms = window_bound(v, "window_end")};
    snprintf(w.category, sizeof w.category, "%s",
             json_string_value(json_object_get(v, "category")));
    view_on_window_fired(c->txn, &w);
}

static void txn_alert(const console_views_t *c, const df_record_t *r)
{
    const json_t *v = r->value;
    view_alert_t a = {
        .first_cents = llround(json_number_value(json_object_get(v, "first_amount")) * 100.0),
        .second_cents = llround(json_number_value(json_object_get(v, "second_amount")) * 100.0),
        .first_ms = window_bound(v, "first_timestamp"),
        .second_ms = window_bound(v, "second_timestamp")};
    snprintf(a.user, sizeof a.user, "%s", json_string_value(json_object_get(v, "user_id")));
    snprintf(a.first_id, sizeof a.first_id, "%s",
             json_string_value(json_object_get(v, "first_transaction_id")));
    snprintf(a.second_id, sizeof a.second_id, "%s",
             json_string_value(json_object_get(v, "second_transaction_id")));
    view_on_alert(c->txn, &a);
}

/* --- video ------------------------------------------------------------------- */

static void video_frame(const console_views_t *c, const df_record_t *r)
{
    const json_t *v = r->value, *a = json_object_get(v, "analysis");
    json_t *data = json_object_get(v, "frame_data");
    vidview_on_frame(c->video, json_string_value(json_object_get(v, "source")),
                     json_string_value(json_object_get(v, "frame_id")),
                     (int)json_integer_value(json_object_get(v, "frame_width")),
                     (int)json_integer_value(json_object_get(v, "frame_height")),
                     json_string_value(json_object_get(a, "resolution_category")),
                     json_real_value(json_object_get(a, "brightness")),
                     json_real_value(json_object_get(a, "contrast")),
                     json_real_value(json_object_get(a, "compression_ratio")),
                     json_string_value(data), json_string_length(data));
}

static void video_window(const console_views_t *c, const df_record_t *r)
{
    const json_t *v = r->value;
    vidview_window_t w = {.frames = json_integer_value(json_object_get(v, "frame_count")),
                          .bytes = json_integer_value(json_object_get(v, "total_size_bytes")),
                          .avg_brightness = json_real_value(json_object_get(v, "avg_brightness")),
                          .start_ms = window_bound(v, "window_start"),
                          .end_ms = window_bound(v, "window_end")};
    snprintf(w.category, sizeof w.category, "%s",
             json_string_value(json_object_get(v, "resolution_category")));
    vidview_on_window(c->video, &w);
}

/* --- files ------------------------------------------------------------------- */

static void files_processed(const console_views_t *c, const df_record_t *r)
{
    fileview_on_processed(c->files, r->value);
}

static void files_totals(const console_views_t *c, const df_record_t *r)
{
    fileview_on_type_totals(c->files, r->value);
}

static void files_window(const console_views_t *c, const df_record_t *r)
{
    fileview_on_window(c->files, r->value);
}

static void files_rejected(const console_views_t *c, const df_record_t *r)
{
    fileview_on_rejected(c->files, r->value);
}

static void video_input(const console_views_t *c, const df_record_t *r)
{
    (void)r;
    vidview_on_input(c->video);
}

/* --- the points -------------------------------------------------------------- */

enum { TXN, VIDEO, FILES };

static const struct {
    const char *point;
    int view; /* which of the views it needs */
    void (*fn)(const console_views_t *c, const df_record_t *r);
} points[] = {
    {"view:feed", TXN, txn_feed},
    {"view:users", TXN, txn_user},
    {"view:open_windows", TXN, txn_window_input},
    {"view:fired_windows", TXN, txn_window_fired},
    {"view:fraud_alerts", TXN, txn_alert},
    {"view:video_in", VIDEO, video_input},
    {"view:video_frame", VIDEO, video_frame},
    {"view:video_windows", VIDEO, video_window},
    {"view:processed", FILES, files_processed},
    {"view:type_totals", FILES, files_totals},
    {"view:size_windows", FILES, files_window},
    {"view:rejected", FILES, files_rejected},
};

void console_tap(void *ctx, const char *point, const df_record_t *r)
{
    const console_views_t *c = ctx;
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        if (strcmp(point, points[i].point))
            continue;
        bool there = points[i].view == TXN ? c->txn != NULL
                     : points[i].view == VIDEO ? c->video != NULL
                                               : c->files != NULL;
        if (there)
            points[i].fn(c, r);
        return;
    }
}
