/* test_fuzz_regressions.c — every input the fuzzers (tests/fuzz, `make
 * fuzz`) found a crash with, fed again to the function that crashed, so that
 * `make test` and `make asan` keep them fixed.
 *
 * The inputs are kept as files in tests/fuzz/corpus/<fuzzer>/ (libFuzzer
 * also starts from them): one test per bug, with what the input must now
 * give, and one test that replays every kept file of every fuzzer through
 * the same function the fuzzer calls (so a crash file dropped into a corpus
 * directory is covered without a new test).
 *
 * The consumer's frame path (handle_frame) is static in tui/cmd_consume.c:
 * the file is included here, as tests/fuzz/fuzz_consume_frame.c does. */
#include "tui/cli/cmd_consume.c"

#include <dirent.h>

#include "engine/kafka/broker.h"
#include "engine/evtime.h"
#include "engine/imgcodec.h"
#include "engine/pipelines/pipelines.h"
#include "producers/filesaver.h"
#include "producers/webserver.h"
#include "fuzz/upload_post.h"
#include "testlib.h"

#define CORPUS "tests/fuzz/corpus"

/* The bytes of a kept input (malloc'd; the caller frees them). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap)
            buf = realloc(buf, cap = cap ? cap * 2 : 4096);
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

/* --- what each fuzzer calls, as one function of the bytes ------------------ */

static void run_txn_parse(const char *buf, size_t len)
{
    json_t *v = NULL;
    int64_t ms;
    char err[256] = "";
    if (txn_parse(buf, len, &v, &ms, err, sizeof err, NULL) == 0)
        json_decref(v);
    else
        CU_ASSERT_NOT_EQUAL(err[0], '\0');
}

static void run_video_parse(const char *buf, size_t len)
{
    json_t *v = NULL;
    int64_t ms;
    char err[256] = "";
    if (video_parse(buf, len, &v, &ms, err, sizeof err, NULL) == 0)
        json_decref(v);
    else
        CU_ASSERT_NOT_EQUAL(err[0], '\0');
}

static void drop(void *opaque, const char *topic, const char *key, size_t keylen, char *payload,
                 size_t len)
{
    (void)topic, (void)key, (void)keylen, (void)len;
    if (opaque)
        ++*(int *)opaque;
    free(payload);
}

static void run_txn_pipeline(const char *buf, size_t len)
{
    pipeline_params_t params;
    pipeline_params_init(&params);
    df_host_t host = {.emit = drop};
    df_graph_t *g = pipeline_transactions(&host, &params);
    const char *p = buf, *end = buf + len;
    int64_t off = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        df_graph_push(g, "transactions", (int32_t)(off % 3), off, p, n, 1705314600000 + off * 1000);
        off++;
        p += n + (nl != NULL);
    }
    df_graph_finish(g);
    df_graph_free(g);
}

static void run_evtime(const char *buf, size_t len)
{
    int64_t ms;
    char out[EVTIME_BUFSIZE];
    if (evtime_parse(buf, len, &ms) == 0)
        evtime_format(ms, out);
}

/* consume --ascii --save-dir DIR; returns how many records it counted bad. */
static long long consume_frame(const char *buf, size_t len, const char *dir)
{
    frame_out_t fo = {.save_dir = dir, .ascii = true, .cols = 40, .art = frameart_new()};
    kmsg_t m = {.topic = "video_frames", .offset = 1, .timestamp_ms = -1, .value = buf, .len = len};
    handle_frame(&m, &fo, 1);
    frameart_free(fo.art);
    return fo.bad;
}

static char tmpdir[64];

static void run_consume_frame(const char *buf, size_t len) { consume_frame(buf, len, tmpdir); }

/* Lines to the file pipeline's topics, as fuzz_files_pipeline sends them. */
static void run_files_pipeline(const char *buf, size_t len)
{
    pipeline_params_t params;
    pipeline_params_init(&params);
    df_host_t host = {.emit = drop};
    df_graph_t *g = pipeline_files(&host, &params);
    const char *p = buf, *end = buf + len;
    int64_t off = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *topic = n >= 2 && p[1] == '|' && p[0] == '1'   ? "uploaded_videos"
                            : n >= 2 && p[1] == '|' && p[0] == '2' ? "uploaded_images"
                                                                   : "uploaded_documents";
        size_t skip = strcmp(topic, "uploaded_documents") ? 2 : 0;
        df_graph_push(g, topic, 0, off, p + skip, n - skip, 1705314600000 + off * 1000);
        off++;
        p += n + (nl != NULL);
    }
    df_graph_finish(g);
    df_graph_free(g);
}

static void run_filesaver(const char *buf, size_t len)
{
    char err[256], msg[1024];
    filesaver_t *s = filesaver_new(tmpdir, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        filesaver_add(s, p, n, msg, sizeof msg);
        p += n + (nl != NULL);
    }
    filesaver_finish(s, NULL, NULL);
    filesaver_free(s);
}

/* The upload page on an embedded broker, started at the first use. */
static broker_t *web_broker;
static kconf_t *web_conf;
static webserver_t *web;
static webserver_opts_t web_opts;

static int web_port(void)
{
    if (!web) {
        char err[512];
        web_broker = broker_start("127.0.0.1:0", 1, 3, err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(web_broker);
        web_conf = kconf_new(broker_address(web_broker), 10000);
        webserver_opts_init(&web_opts);
        web_opts.listen = "127.0.0.1:0";
        web_opts.max_bytes = 256 * 1024;
        web_opts.tmpdir = tmpdir;
        web = webserver_start(web_conf, &web_opts, err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(web);
    }
    return atoi(strrchr(webserver_address(web), ':') + 1);
}

static void run_multipart(const char *buf, size_t len)
{
    char resp[8192];
    int status = upload_post(web_port(), (const uint8_t *)buf, len, resp, sizeof resp);
    CU_ASSERT(status == 200 || status == 400 || status == 413 || status == 415 || status == 502);
}

static const struct {
    const char *fuzzer;
    void (*run)(const char *buf, size_t len);
} fuzzers[] = {
    {"fuzz_txn_parse", run_txn_parse},     {"fuzz_txn_pipeline", run_txn_pipeline},
    {"fuzz_video_parse", run_video_parse}, {"fuzz_evtime", run_evtime},
    {"fuzz_consume_frame", run_consume_frame}, {"fuzz_files_pipeline", run_files_pipeline},
    {"fuzz_filesaver", run_filesaver},         {"fuzz_multipart", run_multipart},
};

static int setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/streamlab-fuzzreg-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void)
{
    if (web) {
        webserver_stop(web);
        kconf_free(web_conf);
        broker_stop(web_broker);
    }
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        if (e->d_type == DT_REG)
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
    return 0;
}

/* --- bug: a JPEG with tables only (fuzz_video_parse, fuzz_consume_frame) ---
 * SOI, maybe tables, then the end of the data (libjpeg reads an end as EOI):
 * TurboJPEG's header call succeeds on such a "tables-only" stream without
 * setting the width and height, and imgcodec used them uninitialized
 * (a garbage size for the decode buffer; NaN rows in consume --ascii). */

static void test_jpeg_with_tables_only_is_not_a_readable_jpeg(void)
{
    static const uint8_t soi_eoi[] = {0xFF, 0xD8, 0xFF, 0xD9};
    int w = 7, h = 7;
    char err[200] = "";
    CU_ASSERT_EQUAL(imgcodec_jpeg_size(soi_eoi, sizeof soi_eoi, &w, &h, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tables only"));
    uint8_t *px = NULL;
    err[0] = '\0';
    CU_ASSERT_EQUAL(imgcodec_jpeg_decode(soi_eoi, sizeof soi_eoi, 1, 160, 120, &px, &w, &h, err,
                                         sizeof err), -1);
    CU_ASSERT_PTR_NULL(px);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tables only"));
}

static void test_video_frame_with_tables_only_jpeg_goes_to_the_dlq(void)
{
    size_t len;
    char *buf = slurp(CORPUS "/fuzz_video_parse/crash-tables-only-jpeg", &len);
    json_t *v = NULL;
    int64_t ms;
    char err[256] = "";
    CU_ASSERT_EQUAL(video_parse(buf, len, &v, &ms, err, sizeof err, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "frame_data"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tables only"));

    /* Through the pipeline: one dead letter, nothing on the other topics. */
    pipeline_params_t params;
    pipeline_params_init(&params);
    int emitted = 0;
    df_host_t host = {.emit = drop, .opaque = &emitted};
    df_graph_t *g = pipeline_video(&host, &params);
    CU_ASSERT_TRUE(df_graph_push(g, "video_frames", 0, 0, buf, len, 1705314600000));
    df_graph_finish(g);
    CU_ASSERT_EQUAL(df_graph_dlq_count(g), 1);
    CU_ASSERT_EQUAL(emitted, 1); /* the dead letter itself */
    df_graph_free(g);
    free(buf);
}

static void test_consume_reports_a_frame_with_tables_only_jpeg(void)
{
    size_t len;
    char *buf = slurp(CORPUS "/fuzz_consume_frame/crash-tables-only-jpeg", &len);
    CU_ASSERT_EQUAL(consume_frame(buf, len, tmpdir), 1);
    free(buf);
}

/* --- bug: a form part with no name (fuzz_multipart) ------------------------
 * A part whose Content-Disposition has no name= reaches the post processor's
 * callback with key NULL, and on_field compared it with strcmp: a crash of
 * the web server's connection thread on any such request.  Now the part is
 * ignored like any other non-file field: no file in the form, 400. */

static void test_a_form_part_without_a_name_is_ignored(void)
{
    size_t len;
    char *buf = slurp(CORPUS "/fuzz_multipart/crash-part-without-name", &len);
    CU_ASSERT_PTR_NULL(memmem(buf, len, "name=\"file\"", 11));
    char resp[8192];
    CU_ASSERT_EQUAL(upload_post(web_port(), (const uint8_t *)buf, len, resp, sizeof resp), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "no file in the form"));
    free(buf);
}

/* --- bug: a file name that is not UTF-8 (fuzz_multipart) -------------------
 * upload_clean_name kept the bytes of a name like "notes\xf0\xf0.txt", Jansson
 * refused the name in the chunk record (JSON is UTF-8), json_pack returned
 * NULL and the uploader passed that on to strlen: the server crashed on an
 * upload from a browser that sends names in another encoding.  Now each bad
 * byte becomes '_' and the file is sent. */

static void test_an_upload_named_in_another_encoding_is_sent_with_a_cleaned_name(void)
{
    size_t len;
    char *buf = slurp(CORPUS "/fuzz_multipart/crash-filename-not-utf8", &len);
    CU_ASSERT_PTR_NOT_NULL(memmem(buf, len, "\xf0\xf0", 2));
    char resp[8192];
    CU_ASSERT_EQUAL(upload_post(web_port(), (const uint8_t *)buf, len, resp, sizeof resp), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(resp, "\"filename\":\"notes_______.txt\""));
    free(buf);
}

/* --- every kept input ------------------------------------------------------ */

static void test_every_kept_fuzz_input_is_handled(void)
{
    int files = 0;
    for (size_t i = 0; i < sizeof fuzzers / sizeof *fuzzers; i++) {
        char dirpath[256];
        snprintf(dirpath, sizeof dirpath, CORPUS "/%s", fuzzers[i].fuzzer);
        DIR *d = opendir(dirpath);
        if (!d)
            continue; /* no input kept for this fuzzer */
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
            size_t len;
            char *buf = slurp(path, &len);
            fuzzers[i].run(buf, len);
            free(buf);
            files++;
        }
        closedir(d);
    }
    CU_ASSERT(files >= 4); /* at least the four above */
}

static CU_TestInfo tests[] = {
    {"test_jpeg_with_tables_only_is_not_a_readable_jpeg",
     test_jpeg_with_tables_only_is_not_a_readable_jpeg},
    {"test_video_frame_with_tables_only_jpeg_goes_to_the_dlq",
     test_video_frame_with_tables_only_jpeg_goes_to_the_dlq},
    {"test_consume_reports_a_frame_with_tables_only_jpeg",
     test_consume_reports_a_frame_with_tables_only_jpeg},
    {"test_a_form_part_without_a_name_is_ignored", test_a_form_part_without_a_name_is_ignored},
    {"test_an_upload_named_in_another_encoding_is_sent_with_a_cleaned_name",
     test_an_upload_named_in_another_encoding_is_sent_with_a_cleaned_name},
    {"test_every_kept_fuzz_input_is_handled", test_every_kept_fuzz_input_is_handled},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("fuzz_regressions", tests, setup, teardown)
