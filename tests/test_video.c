/* test_video.c — video frames: the JPEG/base64 codec (engine/imgcodec), the
 * frame sources (producers/frames: synthetic, a file made here with the
 * ffmpeg tool, a missing webcam), the producer's record format, and the
 * video pipeline run in-process on generated frames with known answers
 * (brightness of a uniform grey, resolution categories, the 640x480 filter,
 * dead letters, source totals, resolution windows). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "engine/evtime.h"
#include "engine/imgcodec.h"
#include "engine/pipelines/pipelines.h"
#include "producers/frames.h"
#include "producers/vidproducer.h"
#include "testlib.h"

/* --- helpers ----------------------------------------------------------------- */

static uint8_t *solid(int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h; i++)
        p[i * 3] = r, p[i * 3 + 1] = g, p[i * 3 + 2] = b;
    return p;
}

/* A frame record as the producer writes it; the caller frees it. */
static char *record_of(const uint8_t *rgb, int w, int h, const char *source, uint64_t n,
                       size_t *len)
{
    char err[256];
    /* 2024-01-15T10:30:00 + n seconds, in wall-clock µs. */
    int64_t us = (INT64_C(1705314600000) + (int64_t)n * 1000) * 1000;
    char *rec = vidprod_record(rgb, w, h, 80, source, n, us, NULL, len, NULL, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    return rec;
}

/* A graph whose sinks write into an array of {topic, value} pairs. */
typedef struct captured {
    json_t *out; /* array of [topic, value] */
} captured_t;

static void capture(void *opaque, const char *topic, const char *key, size_t keylen,
                    char *payload, size_t len)
{
    (void)key, (void)keylen;
    captured_t *c = opaque;
    json_t *v = json_loadb(payload, len, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(v);
    json_array_append_new(c->out, json_pack("[so]", topic, v ? v : json_null()));
    free(payload);
}

typedef struct run {
    captured_t cap;
    df_graph_t *g;
    pipeline_params_t params;
    int64_t offset;
} run_t;

static void run_init(run_t *r)
{
    memset(r, 0, sizeof *r);
    r->cap.out = json_array();
    pipeline_params_init(&r->params);
    df_host_t host = {.emit = capture, .opaque = &r->cap};
    r->g = pipeline_video(&host, &r->params);
    df_graph_assign(r->g, "video_frames", (int32_t[]){0}, 1, 0);
}

static void run_push(run_t *r, const char *buf, size_t len)
{
    CU_ASSERT_TRUE(df_graph_push(r->g, "video_frames", 0, r->offset++, buf, len, 0));
}

static void run_free(run_t *r)
{
    df_graph_free(r->g);
    json_decref(r->cap.out);
}

/* The values sent to topic, in order (a new array). */
static json_t *sent_to(const run_t *r, const char *topic)
{
    json_t *a = json_array(), *pair;
    size_t i;
    json_array_foreach(r->cap.out, i, pair)
        if (!strcmp(json_string_value(json_array_get(pair, 0)), topic))
            json_array_append(a, json_array_get(pair, 1));
    return a;
}

static double num(const json_t *v, const char *field)
{
    double d = NAN;
    df_json_number(json_object_get(v, field), &d);
    return d;
}

/* --- codec ------------------------------------------------------------------ */

static void test_jpeg_base64_round_trip_keeps_size_and_pixels(void)
{
    int w = 320, h = 240;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    frames_synthetic(rgb, w, h, 17);
    uint8_t *jpeg, *back, *out;
    size_t jlen, blen, b64len;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(imgcodec_jpeg_encode(rgb, w, h, 90, &jpeg, &jlen, err, sizeof err), 0);
    char *b64 = imgcodec_b64_encode(jpeg, jlen, &b64len);
    CU_ASSERT_EQUAL(b64len, strlen(b64));
    CU_ASSERT_EQUAL(b64len % 4, 0);
    back = imgcodec_b64_decode(b64, b64len, &blen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(blen, jlen);
    CU_ASSERT_EQUAL(memcmp(back, jpeg, jlen), 0);
    int ow, oh;
    CU_ASSERT_EQUAL_FATAL(imgcodec_jpeg_decode(back, blen, 3, 0, 0, &out, &ow, &oh, err, sizeof err), 0);
    CU_ASSERT_EQUAL(ow, w);
    CU_ASSERT_EQUAL(oh, h);
    /* JPEG error at quality 90: small on average, bounded everywhere but at
     * the sharpest edges (the frame number's digits, the square). */
    double sum = 0;
    size_t big = 0, n = (size_t)w * h * 3;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)out[i] - (int)rgb[i]);
        sum += d;
        big += d > 40;
    }
    CU_ASSERT(sum / n < 3.0);
    CU_ASSERT(big < n / 100);
    free(rgb), free(jpeg), free(b64), free(back), free(out);
}

static void test_jpeg_decode_scales_down_to_fit(void)
{
    uint8_t *rgb = solid(640, 480, 10, 200, 30), *jpeg, *out;
    size_t jlen;
    char err[256];
    int w, h;
    CU_ASSERT_EQUAL_FATAL(imgcodec_jpeg_encode(rgb, 640, 480, 80, &jpeg, &jlen, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(imgcodec_jpeg_decode(jpeg, jlen, 1, 160, 120, &out, &w, &h, err, sizeof err), 0);
    CU_ASSERT_EQUAL(w, 160);
    CU_ASSERT_EQUAL(h, 120);
    free(out);
    CU_ASSERT_EQUAL_FATAL(imgcodec_jpeg_size(jpeg, jlen, &w, &h, err, sizeof err), 0);
    CU_ASSERT_EQUAL(w, 640);
    CU_ASSERT_EQUAL(h, 480);
    free(rgb), free(jpeg);
}

static void test_base64_decode_rejects_what_is_not_base64(void)
{
    size_t n;
    uint8_t *p;
    CU_ASSERT_PTR_NULL(imgcodec_b64_decode("abc", 3, &n));    /* not a multiple of 4 */
    CU_ASSERT_PTR_NULL(imgcodec_b64_decode("ab!d", 4, &n));   /* a bad character */
    CU_ASSERT_PTR_NULL(imgcodec_b64_decode("", 0, &n));
    p = imgcodec_b64_decode("aGk=", 4, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(memcmp(p, "hi", 2), 0);
    free(p);
}

static void test_jpeg_functions_reject_bytes_that_are_not_a_jpeg(void)
{
    const uint8_t png[] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
    char err[256] = "";
    int w, h;
    uint8_t *out;
    CU_ASSERT_EQUAL(imgcodec_jpeg_size(png, sizeof png, &w, &h, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a JPEG"));
    CU_ASSERT_EQUAL(imgcodec_jpeg_decode(png, sizeof png, 3, 0, 0, &out, &w, &h, err, sizeof err), -1);
}

/* --- sources ----------------------------------------------------------------- */

static void test_synthetic_source_moves_and_has_the_asked_size(void)
{
    char err[256];
    frames_opts_t o = {.width = 200, .height = 100};
    frames_t *f = frames_open("synthetic", &o, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(frames_source_name(f), "sample_generator");
    const uint8_t *rgb;
    int w, h;
    CU_ASSERT_EQUAL(frames_next(f, &rgb, &w, &h, err, sizeof err), 1);
    CU_ASSERT_EQUAL(w, 200);
    CU_ASSERT_EQUAL(h, 100);
    uint8_t *first = malloc((size_t)w * h * 3);
    memcpy(first, rgb, (size_t)w * h * 3);
    CU_ASSERT_EQUAL(frames_next(f, &rgb, &w, &h, err, sizeof err), 1);
    CU_ASSERT_NOT_EQUAL(memcmp(first, rgb, (size_t)w * h * 3), 0);
    free(first);
    frames_free(f);
}

static void test_file_source_reads_the_frames_ffmpeg_made(void)
{
    char dir[] = "/tmp/streamlab-test-video.XXXXXX", path[256], cmd[1024], err[256];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/clip.mp4", dir);
    /* 12 frames of 320x240 at 10 fps, MPEG-4 part 2 (FFmpeg's own encoder). */
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=320x240:rate=10 "
             "-frames:v 12 -c:v mpeg4 -pix_fmt yuv420p -y %s",
             path);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);

    frames_opts_t o = {0};
    frames_t *f = frames_open(path, &o, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(frames_source_name(f), "video_file");
    CU_ASSERT(fabs(frames_native_fps(f) - 10) < 0.01);
    const uint8_t *rgb;
    int w, h, n = 0, rc;
    while ((rc = frames_next(f, &rgb, &w, &h, err, sizeof err)) == 1) {
        n++;
        CU_ASSERT_EQUAL(w, 320);
        CU_ASSERT_EQUAL(h, 240);
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(n, 12);
    frames_free(f);

    /* Scaled with libswscale, and looping past the end. */
    o = (frames_opts_t){.width = 160, .height = 90, .loop = true};
    f = frames_open(path, &o, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (n = 0; n < 30 && frames_next(f, &rgb, &w, &h, err, sizeof err) == 1; n++) {
        CU_ASSERT_EQUAL(w, 160);
        CU_ASSERT_EQUAL(h, 90);
    }
    CU_ASSERT_EQUAL(n, 30);
    frames_free(f);

    /* A file that is not a video. */
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *t = fopen(path, "w");
    fputs("not a video\n", t);
    fclose(t);
    o = (frames_opts_t){0};
    CU_ASSERT_PTR_NULL(frames_open(path, &o, err, sizeof err));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_missing_file_and_webcam_give_clear_errors(void)
{
    char err[256] = "";
    frames_opts_t o = {0};
    CU_ASSERT_PTR_NULL(frames_open("/nonexistent/clip.mp4", &o, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
    CU_ASSERT_PTR_NULL(frames_open("/dev/video97", &o, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "webcam /dev/video97"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "camera"));
    o.width = 100; /* a width without a height */
    CU_ASSERT_PTR_NULL(frames_open("synthetic", &o, err, sizeof err));
}

/* --- the record and the pipeline ------------------------------------------------ */

static void test_record_has_every_seed_field_and_parses(void)
{
    uint8_t *rgb = solid(64, 48, 1, 2, 3);
    size_t len;
    char *rec = record_of(rgb, 64, 48, "sample_generator", 123, &len);
    json_t *v = json_loadb(rec, len, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    static const char *const seed[] = {"frame_id",     "timestamp",      "source",
                                       "frame_data",   "frame_width",    "frame_height",
                                       "frame_channels", "frame_size_bytes", "metadata"};
    for (size_t i = 0; i < sizeof seed / sizeof *seed; i++)
        CU_ASSERT_PTR_NOT_NULL(json_object_get(v, seed[i]));
    /* and streamlab's jpeg_bytes */
    CU_ASSERT_EQUAL(json_object_size(v), 10);
    /* The original's producer measures frame_size_bytes on the encoded text:
     * len(frame_data).  jpeg_bytes is the JPEG's own size: 3/4 of the base64
     * length less its padding. */
    json_t *fd = json_object_get(v, "frame_data");
    size_t b64len = json_string_length(fd);
    const char *b64 = json_string_value(fd);
    size_t pad = (b64len > 0 && b64[b64len - 1] == '=') + (b64len > 1 && b64[b64len - 2] == '=');
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "frame_size_bytes")), (json_int_t)b64len);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "jpeg_bytes")),
                    (json_int_t)(b64len / 4 * 3 - pad));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "timestamp")),
                           "2024-01-15T10:32:03.000000");
    CU_ASSERT_EQUAL(strncmp(json_string_value(json_object_get(v, "frame_id")), "frame_123_", 10), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "frame_channels")), 3);
    json_t *parsed = NULL;
    int64_t ms;
    char err[256];
    CU_ASSERT_EQUAL(video_parse(rec, len, &parsed, &ms, err, sizeof err, NULL), 0);
    CU_ASSERT_EQUAL(ms, INT64_C(1705314600000) + 123000);
    json_decref(parsed);
    json_decref(v);
    free(rec), free(rgb);
}

static void test_uniform_grey_128_has_brightness_half_and_no_contrast(void)
{
    uint8_t *rgb = solid(640, 480, 128, 128, 128);
    size_t len;
    char *rec = record_of(rgb, 640, 480, "sample_generator", 0, &len);
    run_t r;
    run_init(&r);
    run_push(&r, rec, len);
    json_t *out = sent_to(&r, "processed_video_frames");
    CU_ASSERT_EQUAL_FATAL(json_array_size(out), 1);
    json_t *a = json_object_get(json_array_get(out, 0), "analysis");
    CU_ASSERT(fabs(num(a, "brightness") - 0.50) <= 0.01);
    CU_ASSERT(num(a, "contrast") < 0.005);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "resolution_category")), "SD");
    /* 640/480 = 1.33: neither > 1.5 nor < 0.8, "square" by the original's rule */
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "orientation")), "square");
    CU_ASSERT_DOUBLE_EQUAL(num(a, "aspect_ratio"), 1.33, 1e-12);
    json_decref(out);
    run_free(&r);
    free(rec), free(rgb);
}

static void test_black_and_white_halves_have_half_brightness_and_high_contrast(void)
{
    int w = 640, h = 480;
    uint8_t *rgb = solid(w, h, 0, 0, 0);
    for (int y = 0; y < h; y++)
        memset(rgb + ((size_t)y * w + w / 2) * 3, 255, (size_t)w / 2 * 3);
    size_t len;
    char *rec = record_of(rgb, w, h, "webcam", 0, &len);
    run_t r;
    run_init(&r);
    run_push(&r, rec, len);
    json_t *out = sent_to(&r, "processed_video_frames");
    CU_ASSERT_EQUAL_FATAL(json_array_size(out), 1);
    json_t *a = json_object_get(json_array_get(out, 0), "analysis");
    CU_ASSERT(fabs(num(a, "brightness") - 0.5) < 0.02);
    CU_ASSERT(num(a, "contrast") > 0.45); /* 0.5 for perfect halves */
    json_decref(out);
    run_free(&r);
    free(rec), free(rgb);
}

static void test_1280x720_frame_is_hd_ready_and_landscape_with_every_field(void)
{
    uint8_t *rgb = malloc(1280 * 720 * 3);
    frames_synthetic(rgb, 1280, 720, 3);
    size_t len;
    char *rec = record_of(rgb, 1280, 720, "video_file", 3, &len);
    run_t r;
    run_init(&r);
    run_push(&r, rec, len);
    json_t *out = sent_to(&r, "processed_video_frames");
    CU_ASSERT_EQUAL_FATAL(json_array_size(out), 1);
    json_t *v = json_array_get(out, 0), *a = json_object_get(v, "analysis");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "resolution_category")), "HD_Ready");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "orientation")), "landscape");
    /* 1280/720 = 1.7777..., to 2 decimals as the original rounds it */
    CU_ASSERT_DOUBLE_EQUAL(num(a, "aspect_ratio"), 1.78, 1e-12);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "total_pixels")), 921600);
    /* compression_ratio: JPEG bytes / raw RGB bytes, to 3 decimals */
    double bytes = (double)json_integer_value(json_object_get(v, "jpeg_bytes"));
    double cr = num(a, "compression_ratio");
    CU_ASSERT(fabs(cr - bytes / (1280.0 * 720 * 3)) <= 0.0005 + 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(cr * 1000, round(cr * 1000), 1e-6);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "jpeg_bytes")), (json_int_t)bytes);
    CU_ASSERT(num(a, "brightness") > 0 && num(a, "brightness") < 1);
    CU_ASSERT(num(a, "contrast") > 0 && num(a, "contrast") < 1);
    CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(a, "processing_timestamp")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "expected_fps")), 25);
    CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(v, "processing_notes")));
    CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(v, "flink_processing_time")));
    CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(v, "frame_data")));
    json_decref(out);
    run_free(&r);
    free(rec), free(rgb);
}

static void test_categories_orientation_and_expected_fps(void)
{
    CU_ASSERT_STRING_EQUAL(video_resolution_category(1920, 1080), "HD");
    CU_ASSERT_STRING_EQUAL(video_resolution_category(1919, 1080), "HD_Ready");
    CU_ASSERT_STRING_EQUAL(video_resolution_category(1280, 720), "HD_Ready");
    CU_ASSERT_STRING_EQUAL(video_resolution_category(1280, 719), "SD");
    CU_ASSERT_STRING_EQUAL(video_resolution_category(640, 480), "SD");
    CU_ASSERT_STRING_EQUAL(video_resolution_category(640, 479), "Low");
    /* The original's rule is by pixel count: a portrait 720x1280 has the pixels
     * of HD_Ready (1280*720), a portrait 1080x1920 those of HD (1920*1080). */
    CU_ASSERT_STRING_EQUAL(video_resolution_category(720, 1280), "HD_Ready");
    CU_ASSERT_STRING_EQUAL(video_resolution_category(1080, 1920), "HD");
    CU_ASSERT_STRING_EQUAL(video_resolution_category(480, 640), "SD");
    CU_ASSERT_STRING_EQUAL(video_resolution_category(2000, 1037), "HD"); /* 2,074,000 px */
    CU_ASSERT_STRING_EQUAL(video_resolution_strict(720, 1280), "SD");
    CU_ASSERT_STRING_EQUAL(video_resolution_strict(1080, 1920), "SD");
    CU_ASSERT_STRING_EQUAL(video_resolution_strict(1920, 1080), "HD");
    /* Orientation: w/h > 1.5 landscape, < 0.8 portrait, otherwise square. */
    CU_ASSERT_STRING_EQUAL(video_orientation(480, 640), "portrait"); /* 0.75 */
    CU_ASSERT_STRING_EQUAL(video_orientation(500, 500), "square");
    CU_ASSERT_STRING_EQUAL(video_orientation(640, 480), "square"); /* 1.33 */
    CU_ASSERT_STRING_EQUAL(video_orientation(1280, 720), "landscape"); /* 1.78 */
    CU_ASSERT_STRING_EQUAL(video_orientation(1500, 1000), "square"); /* 1.5 is not > 1.5 */
    CU_ASSERT_STRING_EQUAL(video_orientation(1501, 1000), "landscape");
    CU_ASSERT_STRING_EQUAL(video_orientation(800, 1000), "square"); /* 0.8 is not < 0.8 */
    CU_ASSERT_STRING_EQUAL(video_orientation(799, 1000), "portrait");
    /* Python's round(): 9/8 = 1.125 exactly, a tie, goes to the even 1.12;
     * 2.675 is stored as 2.67499999... and gives 2.67. */
    CU_ASSERT_DOUBLE_EQUAL(video_py_round(1152.0 / 1024, 2), 1.12, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(video_py_round(2.675, 2), 2.67, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(video_py_round(0.0625, 3), 0.062, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(video_py_round(1280.0 / 720, 2), 1.78, 1e-12);
    CU_ASSERT_EQUAL(video_expected_fps("webcam"), 30);
    CU_ASSERT_EQUAL(video_expected_fps("video_file"), 25);
    CU_ASSERT_EQUAL(video_expected_fps("sample_generator"), 1);
}

/* The original's producer sends one frame of a video file per --interval
 * seconds of the video: at 25 frames a second and 0.2 s, frames 0, 5, 10, ...
 * The expected frames are worked out from that rule: frame i is sent when
 * i / native_fps has reached the next multiple of the interval. */
static void test_video_file_is_sampled_one_frame_per_interval(void)
{
    struct {
        double native, interval;
        int frames;
    } cases[] = {{25, 0.2, 25}, {25, 1.0, 60}, {30, 0.5, 61}, {25, 0.04, 10}, {24, 0.1, 48}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double state = 0;
        int sent = 0, wrong = 0;
        for (int i = 0; i < cases[c].frames; i++) {
            bool got = vidprod_file_pick(&state, (uint64_t)i, cases[c].native,
                                         1.0 / cases[c].interval);
            /* the rule: the k-th pick is the first frame at or after k * interval */
            double t = i / cases[c].native, next_t = sent * cases[c].interval;
            bool want = t + 1e-9 >= next_t;
            wrong += got != want;
            sent += want;
        }
        CU_ASSERT_EQUAL(wrong, 0);
        if (wrong)
            fprintf(stderr, "\n  %g fps, interval %g: %d frames picked wrongly\n",
                    cases[c].native, cases[c].interval, wrong);
    }
    /* 25 frames at 25 fps, one every 0.2 s: 5 frames, 0 5 10 15 20 */
    double state = 0;
    int picked[25], n = 0;
    for (int i = 0; i < 25; i++)
        if (vidprod_file_pick(&state, (uint64_t)i, 25, 5))
            picked[n++] = i;
    CU_ASSERT_EQUAL_FATAL(n, 5);
    for (int k = 0; k < 5; k++)
        CU_ASSERT_EQUAL(picked[k], 5 * k);
    /* fps 0 (flat out): every frame */
    state = 0;
    n = 0;
    for (int i = 0; i < 10; i++)
        n += vidprod_file_pick(&state, (uint64_t)i, 25, 0);
    CU_ASSERT_EQUAL(n, 10);
}

static void test_320x240_frame_is_filtered_out_and_threshold_adjusts(void)
{
    uint8_t *rgb = solid(320, 240, 50, 60, 70);
    size_t len;
    char *rec = record_of(rgb, 320, 240, "sample_generator", 0, &len);
    run_t r;
    run_init(&r);
    run_push(&r, rec, len);
    json_t *out = sent_to(&r, "processed_video_frames");
    CU_ASSERT_EQUAL(json_array_size(out), 0);
    json_decref(out);
    out = sent_to(&r, "video_source_aggregations");
    CU_ASSERT_EQUAL(json_array_size(out), 0);
    json_decref(out);
    CU_ASSERT_EQUAL(df_graph_dlq_count(r.g), 0);
    /* Lowered at run time, the next such frame passes as Low. */
    atomic_store(&r.params.video_min_width, 320);
    atomic_store(&r.params.video_min_height, 240);
    run_push(&r, rec, len);
    out = sent_to(&r, "processed_video_frames");
    CU_ASSERT_EQUAL_FATAL(json_array_size(out), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               json_object_get(json_array_get(out, 0), "analysis"),
                               "resolution_category")),
                           "Low");
    json_decref(out);
    run_free(&r);
    free(rec), free(rgb);
}

/* Replaces the first occurrence of `from` in rec by `to` (a new string). */
static char *replaced(const char *rec, const char *from, const char *to)
{
    const char *at = strstr(rec, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    size_t n = strlen(rec) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    snprintf(out, n + 1, "%.*s%s%s", (int)(at - rec), rec, to, at + strlen(from));
    return out;
}

static void test_bad_frames_go_to_the_dlq_with_the_reason(void)
{
    uint8_t *rgb = solid(640, 480, 90, 90, 90);
    size_t len;
    char *good = record_of(rgb, 640, 480, "sample_generator", 0, &len);
    char *bad_b64 = replaced(good, "\"frame_data\":\"", "\"frame_data\":\"!!");
    char *not_jpeg = replaced(good, "\"frame_data\":\"", "\"frame_data\":\"iVBORw0KGgo=\",\"x\":\"");
    char *wrong_size = replaced(good, "\"frame_width\":640", "\"frame_width\":800");
    char *no_ts = replaced(good, "\"timestamp\":\"", "\"timestamp\":\"yesterday");
    const struct {
        const char *rec, *reason;
    } cases[] = {
        {"{not json", "not JSON"},
        {"[1,2]", "expected a JSON object"},
        {"{\"frame_id\":\"x\"}", "missing field \"timestamp\""},
        {bad_b64, "not valid base64"},
        {not_jpeg, "not a JPEG"},
        {wrong_size, "the JPEG is 640x480 but the record says 800x480"},
        {no_ts, "\"timestamp\""},
    };
    run_t r;
    run_init(&r);
    size_t n = sizeof cases / sizeof *cases;
    for (size_t i = 0; i < n; i++)
        run_push(&r, cases[i].rec, strlen(cases[i].rec));
    run_push(&r, good, len);
    json_t *dlq = sent_to(&r, "video_frames.dlq");
    CU_ASSERT_EQUAL_FATAL(json_array_size(dlq), n);
    for (size_t i = 0; i < n; i++) {
        const char *e = json_string_value(json_object_get(json_array_get(dlq, i), "error"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        if (!strstr(e, cases[i].reason))
            printf("\ncase %zu: error \"%s\" lacks \"%s\"\n", i, e, cases[i].reason);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, cases[i].reason));
    }
    json_t *out = sent_to(&r, "processed_video_frames");
    CU_ASSERT_EQUAL(json_array_size(out), 1); /* the good one still flows */
    json_decref(out);
    json_decref(dlq);
    run_free(&r);
    free(good), free(bad_b64), free(not_jpeg), free(wrong_size), free(no_ts), free(rgb);
}

static void test_source_totals_and_resolution_windows(void)
{
    uint8_t *sd = solid(640, 480, 128, 128, 128), *hd = solid(1280, 720, 128, 128, 128);
    run_t r;
    run_init(&r);
    int64_t bytes = 0;
    for (int i = 0; i < 5; i++) {
        size_t len;
        char *rec = record_of(i < 3 ? sd : hd, i < 3 ? 640 : 1280, i < 3 ? 480 : 720,
                              "sample_generator", (uint64_t)i, &len);
        json_t *v = json_loadb(rec, len, 0, NULL);
        bytes += json_integer_value(json_object_get(v, "frame_size_bytes"));
        json_decref(v);
        run_push(&r, rec, len);
        free(rec);
    }
    json_t *agg = sent_to(&r, "video_source_aggregations");
    CU_ASSERT_EQUAL_FATAL(json_array_size(agg), 5);
    json_t *last = json_array_get(agg, 4);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(last, "source")), "sample_generator");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(last, "total_frames")), 5);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(last, "total_size_bytes")), bytes);
    CU_ASSERT(fabs(num(last, "avg_width") - (3 * 640 + 2 * 1280) / 5.0) < 0.01);
    CU_ASSERT(fabs(num(last, "avg_height") - (3 * 480 + 2 * 720) / 5.0) < 0.01);
    CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(last, "last_updated")));
    json_decref(agg);
    /* Event times 10:30:00-10:30:04: one 30 s window per category at the end. */
    df_graph_finish(r.g);
    json_t *win = sent_to(&r, "video_resolution_windows");
    CU_ASSERT_EQUAL_FATAL(json_array_size(win), 2);
    size_t i;
    json_t *w;
    json_array_foreach(win, i, w)
    {
        const char *cat = json_string_value(json_object_get(w, "resolution_category"));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(w, "frame_count")),
                        !strcmp(cat, "SD") ? 3 : 2);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(w, "window_start")),
                               "2024-01-15T10:30:00.000000");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(w, "window_end")),
                               "2024-01-15T10:30:30.000000");
        CU_ASSERT(fabs(num(w, "avg_brightness") - 0.5) < 0.01);
    }
    json_decref(win);
    run_free(&r);
    free(sd), free(hd);
}

static CU_TestInfo tests[] = {
    {"test_jpeg_base64_round_trip_keeps_size_and_pixels",
     test_jpeg_base64_round_trip_keeps_size_and_pixels},
    {"test_jpeg_decode_scales_down_to_fit", test_jpeg_decode_scales_down_to_fit},
    {"test_base64_decode_rejects_what_is_not_base64", test_base64_decode_rejects_what_is_not_base64},
    {"test_jpeg_functions_reject_bytes_that_are_not_a_jpeg",
     test_jpeg_functions_reject_bytes_that_are_not_a_jpeg},
    {"test_synthetic_source_moves_and_has_the_asked_size",
     test_synthetic_source_moves_and_has_the_asked_size},
    {"test_file_source_reads_the_frames_ffmpeg_made", test_file_source_reads_the_frames_ffmpeg_made},
    {"test_missing_file_and_webcam_give_clear_errors",
     test_missing_file_and_webcam_give_clear_errors},
    {"test_record_has_every_seed_field_and_parses", test_record_has_every_seed_field_and_parses},
    {"test_uniform_grey_128_has_brightness_half_and_no_contrast",
     test_uniform_grey_128_has_brightness_half_and_no_contrast},
    {"test_black_and_white_halves_have_half_brightness_and_high_contrast",
     test_black_and_white_halves_have_half_brightness_and_high_contrast},
    {"test_1280x720_frame_is_hd_ready_and_landscape_with_every_field",
     test_1280x720_frame_is_hd_ready_and_landscape_with_every_field},
    {"test_categories_orientation_and_expected_fps", test_categories_orientation_and_expected_fps},
    {"test_video_file_is_sampled_one_frame_per_interval",
     test_video_file_is_sampled_one_frame_per_interval},
    {"test_320x240_frame_is_filtered_out_and_threshold_adjusts",
     test_320x240_frame_is_filtered_out_and_threshold_adjusts},
    {"test_bad_frames_go_to_the_dlq_with_the_reason", test_bad_frames_go_to_the_dlq_with_the_reason},
    {"test_source_totals_and_resolution_windows", test_source_totals_and_resolution_windows},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("video", tests, NULL, NULL)
