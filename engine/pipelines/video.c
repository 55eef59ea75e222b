/* video.c — the original's video job on the dataflow runtime.
 *
 *   source(video_frames) -> filter width/height >= 640x480 -> map analysis
 *     -> map enrichment -> sink processed_video_frames
 *     -> key_by source -> reduce running stats -> sink video_source_aggregations
 *     -> key_by resolution_category -> 30 s tumbling window -> sink video_resolution_windows
 *
 * Parsing checks everything a consumer would trip on (JSON, fields, base64,
 * JPEG, declared size) so that bad frames go to video_frames.dlq with the
 * reason; it also measures brightness and contrast on the frame decoded at
 * 1/4 or 1/8 scale (TurboJPEG's DCT scaling), which is where the pixels are
 * at hand.  Nothing here is shared between graphs except the params' atomics
 * and the view (mutex-protected). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonr.h"
#include "engine/evtime.h"
#include "engine/imgcodec.h"
#include "engine/pipelines/pipelines.h"

/* The reduced size brightness is measured at: 640x480 decodes at 1/4. */
#define LUMA_MAX_W 160
#define LUMA_MAX_H 120

static const struct {
    const char *name;
    json_type type;
} fields[] = {
    {"frame_id", JSON_STRING},        {"timestamp", JSON_STRING},      {"source", JSON_STRING},
    {"frame_data", JSON_STRING},      {"frame_width", JSON_INTEGER},   {"frame_height", JSON_INTEGER},
    {"frame_channels", JSON_INTEGER}, {"frame_size_bytes", JSON_INTEGER},
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

void video_luma_stats(const uint8_t *luma, size_t n, double *mean, double *stddev)
{
    if (n == 0) {
        *mean = *stddev = 0;
        return;
    }
    uint64_t sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += luma[i];
        sq += (uint64_t)luma[i] * luma[i];
    }
    double m = (double)sum / n, var = (double)sq / n - m * m;
    *mean = m / 255.0;
    *stddev = sqrt(var > 0 ? var : 0) / 255.0;
}

static double round_to(double v, double scale) { return round(v * scale) / scale; }

double video_py_round(double v, int digits)
{
    /* Python's round(x, n) is the correctly rounded decimal of the binary value,
     * ties to even; glibc's printf rounds the same way. */
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", digits, v);
    return strtod(buf, NULL);
}

int video_parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
                size_t errsize, void *ctx)
{
    (void)ctx;
    if (!buf) {
        snprintf(err, errsize, "empty record (no value)");
        return -1;
    }
    json_error_t je;
    json_t *v = jsonr_load(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) {
        snprintf(err, errsize, "not JSON: %s (at byte %d)", je.text, je.position);
        return -1;
    }
    uint8_t *jpeg = NULL, *luma = NULL;
    if (!json_is_object(v)) {
        snprintf(err, errsize, "expected a JSON object, got %s", type_name(v));
        goto bad;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *f = json_object_get(v, fields[i].name);
        if (!f) {
            snprintf(err, errsize, "missing field \"%s\"", fields[i].name);
            goto bad;
        }
        if (json_typeof(f) != fields[i].type) {
            snprintf(err, errsize, "field \"%s\" should be %s, got %s", fields[i].name,
                     fields[i].type == JSON_INTEGER ? "an integer" : "a string", type_name(f));
            goto bad;
        }
    }
    json_t *meta = json_object_get(v, "metadata");
    if (meta && !json_is_object(meta)) {
        snprintf(err, errsize, "field \"metadata\" should be an object, got %s", type_name(meta));
        goto bad;
    }
    json_int_t dw = json_integer_value(json_object_get(v, "frame_width"));
    json_int_t dh = json_integer_value(json_object_get(v, "frame_height"));
    if (dw <= 0 || dh <= 0 || dw > 65535 || dh > 65535) {
        snprintf(err, errsize, "frame size %lldx%lld is out of range", (long long)dw,
                 (long long)dh);
        goto bad;
    }
    json_t *ts = json_object_get(v, "timestamp");
    if (evtime_parse(json_string_value(ts), json_string_length(ts), event_ms) < 0) {
        snprintf(err, errsize, "field \"timestamp\" is not an ISO-8601 time: \"%.60s\"",
                 json_string_value(ts));
        goto bad;
    }
    json_t *data = json_object_get(v, "frame_data");
    size_t jlen;
    jpeg = imgcodec_b64_decode(json_string_value(data), json_string_length(data), &jlen);
    if (!jpeg) {
        snprintf(err, errsize, "field \"frame_data\" is not valid base64 (%zu characters)",
                 json_string_length(data));
        goto bad;
    }
    int w, h, lw, lh;
    char e[200];
    if (imgcodec_jpeg_size(jpeg, jlen, &w, &h, e, sizeof e) < 0) {
        snprintf(err, errsize, "field \"frame_data\" is %s", e);
        goto bad;
    }
    if (w != dw || h != dh) {
        snprintf(err, errsize, "the JPEG is %dx%d but the record says %lldx%lld", w, h,
                 (long long)dw, (long long)dh);
        goto bad;
    }
    if (imgcodec_jpeg_decode(jpeg, jlen, 1, LUMA_MAX_W, LUMA_MAX_H, &luma, &lw, &lh, e,
                             sizeof e) < 0) {
        snprintf(err, errsize, "field \"frame_data\": %s", e);
        goto bad;
    }
    double mean, sd;
    video_luma_stats(luma, (size_t)lw * lh, &mean, &sd);
    free(luma);
    free(jpeg);
    /* The pixels are decoded here only: keep what the analysis needs. */
    json_object_set_new(v, "analysis",
                        json_pack("{sfsfsI}", "brightness", round_to(mean, 1e4), "contrast",
                                  round_to(sd, 1e4), "jpeg_bytes", (json_int_t)jlen));
    *value = v;
    return 0;
bad:
    free(jpeg);
    json_decref(v);
    return -1;
}

const char *video_resolution_category(int w, int h)
{
    /* The original's rule: by pixel count, so 720x1280 is HD_Ready like 1280x720. */
    int64_t px = (int64_t)w * h;
    if (px >= 1920 * 1080)
        return "HD";
    if (px >= 1280 * 720)
        return "HD_Ready";
    if (px >= 640 * 480)
        return "SD";
    return "Low";
}

const char *video_resolution_strict(int w, int h)
{
    if (w >= 1920 && h >= 1080)
        return "HD";
    if (w >= 1280 && h >= 720)
        return "HD_Ready";
    if (w >= 640 && h >= 480)
        return "SD";
    return "Low";
}

const char *video_orientation(int w, int h)
{
    /* The original's rule: aspect ratio > 1.5 landscape, < 0.8 portrait, else
     * square (so 640x480, 4:3, is "square"). */
    double ratio = (double)w / h;
    return ratio > 1.5 ? "landscape" : ratio < 0.8 ? "portrait" : "square";
}

int video_expected_fps(const char *source)
{
    if (!strcmp(source, "webcam"))
        return 30;
    if (!strcmp(source, "video_file"))
        return 25;
    if (!strcmp(source, "sample_generator"))
        return 1;
    return 30;
}

static int width_of(const json_t *v) { return (int)json_integer_value(json_object_get(v, "frame_width")); }
static int height_of(const json_t *v) { return (int)json_integer_value(json_object_get(v, "frame_height")); }

static bool big_enough(const json_t *v, void *ctx)
{
    pipeline_params_t *p = ctx;
    return width_of(v) >= atomic_load_explicit(&p->video_min_width, memory_order_relaxed) &&
           height_of(v) >= atomic_load_explicit(&p->video_min_height, memory_order_relaxed);
}

/* analysis{aspect_ratio, total_pixels, compression_ratio, orientation,
 * resolution_category, resolution_strict, jpeg_bytes, brightness, contrast,
 * processing_timestamp}: aspect_ratio to 2 decimals and compression_ratio to 3,
 * rounded as the original's Python round() does. */
static json_t *analyse(json_t *v, void *ctx)
{
    (void)ctx;
    v = df_writable(v);
    int w = width_of(v), h = height_of(v);
    json_t *a = json_object_get(v, "analysis"); /* brightness, contrast, jpeg_bytes from parse */
    double jbytes = (double)json_integer_value(json_object_get(a, "jpeg_bytes"));
    json_t *out = json_pack(
        "{sfsIsfsssssssIsOsOso}", "aspect_ratio", video_py_round((double)w / h, 2),
        "total_pixels", (json_int_t)w * h, "compression_ratio",
        video_py_round(jbytes / ((double)w * h * 3), 3), "orientation", video_orientation(w, h),
        "resolution_category", video_resolution_category(w, h), "resolution_strict",
        video_resolution_strict(w, h), "jpeg_bytes", (json_int_t)jbytes, "brightness",
        json_object_get(a, "brightness"), "contrast", json_object_get(a, "contrast"),
        "processing_timestamp", pipeline_now_string());
    json_object_set_new(v, "analysis", out);
    return v;
}

/* processing_notes, expected_fps, flink_processing_time. */
static json_t *enrich(json_t *v, void *ctx)
{
    (void)ctx;
    v = df_writable(v);
    const char *source = json_string_value(json_object_get(v, "source"));
    json_t *a = json_object_get(v, "analysis");
    char notes[256];
    snprintf(notes, sizeof notes, "%s frame %dx%d: %s, %s, brightness %.2f, contrast %.2f", source,
             width_of(v), height_of(v),
             json_string_value(json_object_get(a, "resolution_category")),
             json_string_value(json_object_get(a, "orientation")),
             json_real_value(json_object_get(a, "brightness")),
             json_real_value(json_object_get(a, "contrast")));
    json_object_set_new(v, "processing_notes", json_string(notes));
    json_object_set_new(v, "expected_fps", json_integer(video_expected_fps(source)));
    json_object_set_new(v, "flink_processing_time", pipeline_now_string());
    return v;
}

static json_t *field_key(const json_t *v, void *ctx) { return json_object_get(v, (const char *)ctx); }

static json_t *category_key(const json_t *v, void *ctx)
{
    (void)ctx;
    return json_object_get(json_object_get(v, "analysis"), "resolution_category");
}

static json_int_t int_field(const json_t *v, const char *name)
{
    return json_integer_value(json_object_get(v, name));
}

/* Source stats: integer sums, averages computed on output. */
static json_t *src_create(const df_record_t *r, void *ctx)
{
    (void)r, (void)ctx;
    return json_pack("{sIsIsIsI}", "n", (json_int_t)0, "bytes", (json_int_t)0, "w", (json_int_t)0,
                     "h", (json_int_t)0);
}

static void add_int(json_t *acc, const char *name, json_int_t d)
{
    json_t *n = json_object_get(acc, name);
    json_integer_set(n, json_integer_value(n) + d);
}

static void src_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    add_int(acc, "n", 1);
    add_int(acc, "bytes", int_field(r->value, "frame_size_bytes"));
    add_int(acc, "w", int_field(r->value, "frame_width"));
    add_int(acc, "h", int_field(r->value, "frame_height"));
}

static json_t *src_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)start, (void)end, (void)ctx;
    json_int_t n = int_field(acc, "n");
    return json_pack("{sOsIsIsfsfso}", "source", key, "total_frames", n, "total_size_bytes",
                     int_field(acc, "bytes"), "avg_width",
                     round_to((double)int_field(acc, "w") / n, 100), "avg_height",
                     round_to((double)int_field(acc, "h") / n, 100), "last_updated",
                     pipeline_now_string());
}

static const df_agg_t source_stats = {.create = src_create, .add = src_add, .result = src_result};

/* Resolution windows: frames, bytes and brightness per category. */
static json_t *res_create(const df_record_t *r, void *ctx)
{
    (void)r, (void)ctx;
    return json_pack("{sIsIsf}", "n", (json_int_t)0, "bytes", (json_int_t)0, "brightness", 0.0);
}

static void res_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    add_int(acc, "n", 1);
    add_int(acc, "bytes", int_field(r->value, "frame_size_bytes"));
    json_t *b = json_object_get(acc, "brightness");
    double add = 0;
    df_json_number(json_object_get(json_object_get(r->value, "analysis"), "brightness"), &add);
    json_real_set(b, json_real_value(b) + add);
}

static json_t *res_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)ctx;
    char s[EVTIME_BUFSIZE], e[EVTIME_BUFSIZE];
    json_int_t n = int_field(acc, "n");
    return json_pack("{sOsIsIsfssss}", "resolution_category", key, "frame_count", n,
                     "total_size_bytes", int_field(acc, "bytes"), "avg_brightness",
                     round_to(json_real_value(json_object_get(acc, "brightness")) / n, 1e4),
                     "window_start", evtime_format(start, s), "window_end", evtime_format(end, e));
}

static const df_agg_t resolution_stats = {
    .create = res_create, .add = res_add, .result = res_result};

df_graph_t *pipeline_video(const df_host_t *host, pipeline_params_t *params)
{
    df_graph_t *g = df_graph_new("video", host);
    df_graph_set_time(g, params->out_of_orderness_ms, params->idle_timeout_ms);

    df_stream_t *src = df_source(g, "video_frames", "video_frames.dlq", video_parse, NULL);
    if (params->tap)
        df_sink_tap(src, "view:video_in", params->tap, params->tap_ctx, false);
    df_stream_t *passed = df_filter(src, "filter:resolution", big_enough, params);
    df_stream_t *analysed = df_map(passed, "map:analysis", analyse, NULL);
    df_stream_t *processed = df_map(analysed, "map:enrich", enrich, NULL);
    if (params->tap)
        df_sink_tap(processed, "view:video_frame", params->tap, params->tap_ctx, false);
    df_sink_topic(processed, "processed_video_frames", "source");

    df_stream_t *by_res = df_key_by(processed, "key_by:resolution", category_key, NULL);
    df_window_spec_t spec = {.size_ms = params->window_ms,
                             .slide_ms = params->window_slide_ms,
                             .allowed_lateness_ms = params->allowed_lateness_ms};
    df_stream_t *win = df_window(by_res, "window:resolution", &spec, &resolution_stats, NULL);
    if (params->tap)
        df_sink_tap(win, "view:video_windows", params->tap, params->tap_ctx, false);
    df_sink_topic(win, "video_resolution_windows", "resolution_category");

    df_stream_t *by_src = df_key_by(processed, "key_by:source", field_key, "source");
    df_stream_t *stats = df_reduce(by_src, "reduce:source_stats", &source_stats, NULL);
    df_reduce_set_ttl(stats, params->state_ttl_ms);
    df_sink_topic(stats, "video_source_aggregations", "source");
    return g;
}
