/* test_files.c — the file uploads' pieces without Kafka: the file pipeline
 * (files_parse, size categories, the original's analysis formulas, chunk
 * reassembly with its dead letters and timeout, bounded state), the saver
 * behind `consume --save-dir` (names cleaned, MD5 checked, nothing partial
 * left) and filemeta (helpers; DOCX text, GIF/BMP/TIFF and WebM/MKV/AVI probes on
 * fixtures made here with libzip and ffmpeg).  Records are built here, with OpenSSL for the
 * hashes and base64. */
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <zip.h>

#include "engine/dataflow_exec.h"
#include "tui/taps.h"
#include "tui/fileview.h"
#include "engine/pipelines/pipelines.h"
#include "producers/filemeta.h"
#include "producers/filesaver.h"
#include "producers/uploader.h"
#include "testlib.h"

/* --- helpers ----------------------------------------------------------------- */

static void md5_hex(const unsigned char *d, size_t n, char out[33])
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned hl;
    EVP_Digest(d, n, h, &hl, EVP_md5(), NULL);
    for (unsigned i = 0; i < hl; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

/* A record for bytes [off, off+n) of data (size total), chunk idx of count
 * (count 0: a whole-file record without chunk fields, its bytes in
 * file_content; else a chunk, its bytes in chunk_content).  Caller frees. */
static char *record(const char *id, const char *name, const char *type, const unsigned char *data,
                    size_t total, size_t off, size_t n, int idx, int count, const char *md5)
{
    char *b64 = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, data + off, (int)n);
    char hash[33];
    md5_hex(data, total, hash);
    json_t *v = json_pack("{sssssssIsssssss{ssss}}", "file_id", id, "filename", name, "file_type",
                          type, "file_size", (json_int_t)total, "file_hash", md5 ? md5 : hash,
                          "upload_timestamp", "2024-01-15T10:30:00.123456", "file_content", b64,
                          "metadata", "text_content", "one two  three\nfour", "mime_type",
                          "text/plain");
    if (count) { /* a chunk, as the uploader shapes it: its bytes in chunk_content */
        json_object_set(v, "chunk_content", json_object_get(v, "file_content"));
        json_object_del(v, "file_content");
        json_object_set_new(v, "chunk_index", json_integer(idx));
        json_object_set_new(v, "chunk_count", json_integer(count));
    }
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    free(b64);
    return s;
}

/* What the graph's sinks emitted, by topic. */
typedef struct sink {
    json_t *by_topic; /* topic -> array of values */
} sink_t;

static void on_emit(void *opaque, const char *topic, const char *key, size_t keylen, char *payload,
                    size_t len)
{
    (void)key, (void)keylen;
    sink_t *s = opaque;
    json_t *arr = json_object_get(s->by_topic, topic);
    if (!arr) {
        arr = json_array();
        json_object_set_new(s->by_topic, topic, arr);
    }
    json_array_append_new(arr, json_loadb(payload, len, 0, NULL));
    free(payload);
}

static size_t emitted(sink_t *s, const char *topic)
{
    return json_array_size(json_object_get(s->by_topic, topic));
}

static json_t *last(sink_t *s, const char *topic)
{
    json_t *a = json_object_get(s->by_topic, topic);
    return json_array_get(a, json_array_size(a) - 1);
}

typedef struct rig {
    sink_t sink;
    df_host_t host;
    pipeline_params_t params;
    df_graph_t *g;
    int64_t offset;
} rig_t;

static void rig_init(rig_t *r)
{
    memset(r, 0, sizeof *r);
    r->sink.by_topic = json_object();
    r->host = (df_host_t){.emit = on_emit, .opaque = &r->sink};
    pipeline_params_init(&r->params);
    atomic_store(&r->params.file_min_bytes, 0.0);
    r->params.file_chunk_timeout_ms = 1000;
    r->g = pipeline_files(&r->host, &r->params);
}

static void rig_push(rig_t *r, const char *topic, char *rec, int64_t now)
{
    CU_ASSERT_TRUE(df_graph_push(r->g, topic, 0, r->offset++, rec, strlen(rec), now));
    df_graph_tick(r->g, now);
    free(rec);
}

static void rig_free(rig_t *r)
{
    df_graph_free(r->g);
    json_decref(r->sink.by_topic);
}

static unsigned char *pattern(size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)(i * 7 + i / 251);
    return d;
}

/* --- files_parse -------------------------------------------------------------- */

static void test_parse_accepts_the_seed_record_and_takes_its_time(void)
{
    unsigned char d[] = "hello";
    char *s = record("document_1", "a.txt", "document", d, 5, 0, 5, 0, 0, NULL);
    json_t *v = NULL;
    int64_t ms = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL(files_parse(s, strlen(s), &v, &ms, err, sizeof err, "document"), 0);
    CU_ASSERT_PTR_NOT_NULL(v);
    CU_ASSERT_TRUE(ms > 0);
    json_decref(v);
    free(s);
}

static void assert_parse_fails(const char *s, const char *ctx, const char *needle)
{
    json_t *v = NULL;
    int64_t ms;
    char err[256] = "";
    CU_ASSERT_EQUAL(files_parse(s, strlen(s), &v, &ms, err, sizeof err, (void *)ctx), -1);
    CU_ASSERT_PTR_NULL(v);
    if (!strstr(err, needle))
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
}

static void test_parse_rejects_bad_records_with_a_reason(void)
{
    assert_parse_fails("not json", NULL, "not a JSON object");
    assert_parse_fails("{\"file_id\":\"x\"}", NULL, "\"filename\" is missing");
    unsigned char d[] = "abc";
    char *s = record("video_1", "a.mp4", "video", d, 3, 0, 3, 0, 0, NULL);
    assert_parse_fails(s, "image", "a video record in the topic of images");
    free(s);
    s = record("x_1", "a.bin", "binary", d, 3, 0, 3, 0, 0, NULL);
    assert_parse_fails(s, NULL, "document, video or image");
    free(s);
    s = record("document_1", "a.txt", "document", d, 3, 0, 3, 2, 2, NULL);
    assert_parse_fails(s, NULL, "0 <= chunk_index < chunk_count");
    free(s);
}

/* --- analysis ------------------------------------------------------------------ */

/* The original's processor passes the upload record on, file_content
 * included: a one-record upload keeps it in processed_files, byte for byte. */
static void test_a_one_record_upload_keeps_its_file_content_in_processed_files(void)
{
    rig_t r;
    rig_init(&r);
    unsigned char d[] = "the whole file";
    size_t n = strlen((char *)d);
    rig_push(&r, "uploaded_documents", record("document_3", "w.txt", "document", d, n, 0, n, 0, 0, NULL),
             100);
    CU_ASSERT_EQUAL_FATAL(emitted(&r.sink, "processed_files"), 1u);
    json_t *p = last(&r.sink, "processed_files");
    char want[64];
    EVP_EncodeBlock((unsigned char *)want, d, (int)n);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "file_content")), want);
    CU_ASSERT_PTR_NULL(json_object_get(p, "content_location"));
    CU_ASSERT_PTR_NULL(json_object_get(p, "chunk_count"));
    rig_free(&r);
}

/* A chunk holds its bytes in chunk_content; one without is a dead letter with
 * its reason, and so is a whole-file record without file_content.  A chunk of
 * the older shape (bytes in file_content) is still read. */
static void test_chunk_records_carry_chunk_content_not_file_content(void)
{
    unsigned char d[] = "abcdef";
    char *s = record("document_1", "a.txt", "document", d, 6, 0, 3, 0, 2, NULL);
    json_t *v = json_loads(s, 0, NULL);
    CU_ASSERT_PTR_NULL(json_object_get(v, "file_content"));
    CU_ASSERT_TRUE(json_is_string(json_object_get(v, "chunk_content")));
    json_object_del(v, "chunk_content");
    char *t = json_dumps(v, JSON_COMPACT);
    assert_parse_fails(t, NULL, "\"chunk_content\" is missing");
    free(t);
    json_decref(v);
    free(s);
    s = record("document_1", "a.txt", "document", d, 6, 0, 6, 0, 0, NULL);
    v = json_loads(s, 0, NULL);
    json_object_del(v, "file_content");
    t = json_dumps(v, JSON_COMPACT);
    assert_parse_fails(t, NULL, "\"file_content\" is missing");
    free(t);
    json_decref(v);
    free(s);
    /* the older chunk shape, reassembled all the same */
    rig_t r;
    rig_init(&r);
    for (int i = 0; i < 2; i++) {
        s = record("document_2", "old.txt", "document", d, 6, (size_t)i * 3, 3, i, 2, NULL);
        v = json_loads(s, 0, NULL);
        json_object_set(v, "file_content", json_object_get(v, "chunk_content"));
        json_object_del(v, "chunk_content");
        free(s);
        rig_push(&r, "uploaded_documents", json_dumps(v, JSON_COMPACT), 100);
        json_decref(v);
    }
    CU_ASSERT_EQUAL(emitted(&r.sink, "processed_files"), 1u);
    CU_ASSERT_EQUAL(emitted(&r.sink, "uploaded_files.dlq"), 0u);
    rig_free(&r);
}

/* text_length and word_count describe the whole document: counts the uploader
 * put in the metadata win over the preview in text_content. */
static void test_analysis_takes_the_whole_documents_counts_from_the_metadata(void)
{
    json_t *doc = json_pack("{sssIs{sssIsI}}", "file_type", "document", "file_size",
                            (json_int_t)3400000, "metadata", "text_content", "only a preview",
                            "text_length", (json_int_t)3400000, "word_count", (json_int_t)600000);
    files_analyse(doc);
    json_t *a = json_object_get(doc, "analysis");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "text_length")), 3400000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "word_count")), 600000);
    CU_ASSERT_TRUE(json_is_true(json_object_get(a, "has_text")));
    json_decref(doc);
}

static void test_size_categories_follow_the_original(void)
{
    CU_ASSERT_STRING_EQUAL(files_size_category(1048575), "small");
    CU_ASSERT_STRING_EQUAL(files_size_category(1048576), "medium");
    CU_ASSERT_STRING_EQUAL(files_size_category(10485759), "medium");
    CU_ASSERT_STRING_EQUAL(files_size_category(10485760), "large");
    CU_ASSERT_STRING_EQUAL(files_size_category(104857600), "very_large");
}

static void test_analysis_computes_the_originals_fields_per_type(void)
{
    json_t *doc = json_pack("{sssIs{ss}}", "file_type", "document", "file_size",
                            (json_int_t)2621440, "metadata", "text_content", "  héllo  wide\tworld \n");
    files_analyse(doc);
    json_t *a = json_object_get(doc, "analysis");
    CU_ASSERT_EQUAL(json_real_value(json_object_get(a, "file_size_mb")), 2.5);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "size_category")), "medium");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "word_count")), 3);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "text_length")), 21); /* code points */
    CU_ASSERT_TRUE(json_is_true(json_object_get(a, "has_text")));
    json_decref(doc);

    json_t *vid = json_pack("{sssIs{sisisfsisf}}", "file_type", "video", "file_size",
                            (json_int_t)1000000, "metadata", "width", 1280, "height", 720, "fps",
                            25.0, "frame_count", 250, "duration", 10.0);
    files_analyse(vid);
    a = json_object_get(vid, "analysis");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "video_quality")), "HD");
    CU_ASSERT_EQUAL(json_real_value(json_object_get(a, "aspect_ratio")), 1.78);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "total_frames")), 250);
    CU_ASSERT_EQUAL(json_real_value(json_object_get(a, "bitrate_estimate")), 800000.0);
    json_decref(vid);

    json_t *img = json_pack("{sssIs{sisisi}}", "file_type", "image", "file_size", (json_int_t)10,
                            "metadata", "width", 1920, "height", 1080, "channels", 4);
    files_analyse(img);
    a = json_object_get(img, "analysis");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "image_quality")), "High");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "total_pixels")), 1920 * 1080);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "color_depth")), 32);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "size_category")), "small");
    json_decref(img);
    /* Height 0: the original's aspect ratio is the integer 0, bitrate too without duration. */
    json_t *bad = json_pack("{sssIs{}}", "file_type", "video", "file_size", (json_int_t)5, "metadata");
    files_analyse(bad);
    a = json_object_get(bad, "analysis");
    CU_ASSERT_TRUE(json_is_integer(json_object_get(a, "aspect_ratio")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "video_quality")), "SD");
    json_decref(bad);
}

/* --- reassembly ----------------------------------------------------------------- */

static void test_chunks_in_order_become_one_processed_record_with_the_originals_hashes(void)
{
    rig_t r;
    rig_init(&r);
    size_t n = 10000, chunk = 3000; /* 4 chunks, the last one short */
    unsigned char *d = pattern(n);
    for (int i = 0; i < 4; i++) {
        size_t off = (size_t)i * chunk, len = off + chunk > n ? n - off : chunk;
        rig_push(&r, "uploaded_documents",
                 record("document_9", "big.txt", "document", d, n, off, len, i, 4, NULL), 100);
        CU_ASSERT_EQUAL(emitted(&r.sink, "processed_files"), i == 3 ? 1u : 0u);
    }
    json_t *p = last(&r.sink, "processed_files");
    /* A chunked upload carries no file_content but says where its bytes are:
     * the upload topic, the partition and offset of chunk 0, the chunk count. */
    CU_ASSERT_PTR_NULL(json_object_get(p, "file_content"));
    CU_ASSERT_PTR_NULL(json_object_get(p, "chunk_content"));
    json_t *loc = json_object_get(p, "content_location");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(loc, "topic")), "uploaded_documents");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(loc, "partition")), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(loc, "offset")), 0); /* rig offsets from 0 */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(loc, "chunk_count")), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "chunk_count")), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "file_size")), (json_int_t)n);
    /* content_hash: the first 16 hex digits of sha256 over the whole file's base64. */
    char *b64 = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, d, (int)n);
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned hl;
    EVP_Digest(b64, strlen(b64), h, &hl, EVP_sha256(), NULL);
    char want[17];
    for (int i = 0; i < 8; i++)
        sprintf(want + 2 * i, "%02x", h[i]);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(p, "analysis"),
                                                             "content_hash")), want);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "processing_priority")), "normal");
    CU_ASSERT_EQUAL(emitted(&r.sink, "file_type_aggregations"), 1u);
    CU_ASSERT_EQUAL(emitted(&r.sink, "uploaded_files.dlq"), 0u);
    free(b64);
    free(d);
    rig_free(&r);
}

/* --- restore of uploads being reassembled -------------------------------------- */

/* A changelog in memory: "op\tkey\tsub" -> {"p": owner partition, "v": value}. */
static void keep_piece(void *opaque, const char *topic, int32_t partition, const char *op,
                       const char *key, const char *sub, json_t *value)
{
    (void)topic;
    char k[512];
    snprintf(k, sizeof k, "%s\t%s\t%s", op, key, sub);
    if (value)
        json_object_set_new(opaque, k, json_pack("{siso}", "p", partition, "v", json_deep_copy(value)));
    else
        json_object_del(opaque, k);
}

static df_graph_t *self_route(void *opaque, const char *key)
{
    (void)key;
    return opaque;
}

typedef struct range_seen {
    int n;
    int32_t partition;
    int64_t from;
} range_seen_t;

static void note_range(void *opaque, const char *topic, int32_t partition, int64_t from)
{
    range_seen_t *r = opaque;
    CU_ASSERT_STRING_EQUAL(topic, "uploaded_documents");
    r->n++;
    r->partition = partition;
    r->from = from;
}

/* Crash after chunks 0-2 of 4 (offsets 1, 2, 4; other files at 0 and 3), then
 * a new graph restores from the changelog and reads the input again from the
 * upload's first chunk (skipping `skip` to play the broker's retention). */
static void restore_after_three_chunks(long skip, sink_t **out_sink, rig_t *b)
{
    rig_t a;
    rig_init(&a);
    df_graph_track_state(a.g, true);
    size_t n = 10000, chunk = 3000;
    unsigned char *d = pattern(n), e[] = "other";
    char *recs[6];
    recs[0] = record("document_7", "a.txt", "document", e, 5, 0, 5, 0, 0, NULL);
    recs[3] = record("document_8", "b.txt", "document", e, 5, 0, 5, 0, 0, NULL);
    for (int i = 0, at = 1; i < 4; i++, at += at == 2 ? 2 : 1) {
        size_t off = (size_t)i * chunk, len = off + chunk > n ? n - off : chunk;
        recs[at] = record("document_9", "big.txt", "document", d, n, off, len, i, 4, NULL);
    }
    for (int o = 0; o < 5; o++)
        rig_push(&a, "uploaded_documents", strdup(recs[o]), 100 + o);
    CU_ASSERT_EQUAL(emitted(&a.sink, "processed_files"), 2u); /* the two small files */
    json_t *changelog = json_object();
    df_graph_state_drain(a.g, keep_piece, changelog);
    rig_free(&a); /* the crash */

    rig_init(b);
    df_graph_track_state(b->g, true);
    const char *k;
    json_t *v;
    json_object_foreach(changelog, k, v)
    {
        char *copy = strdup(k), *rest = copy;
        char *op = strsep(&rest, "\t"), *key = strsep(&rest, "\t");
        CU_ASSERT_EQUAL(df_graph_state_load(b->g, (int32_t)json_integer_value(json_object_get(v, "p")),
                                            op, key, rest, json_object_get(v, "v")), 0);
        free(copy);
    }
    json_decref(changelog);
    range_seen_t rs = {0};
    df_graph_replay_ranges(b->g, note_range, &rs);
    CU_ASSERT_EQUAL(rs.n, 1); /* only the upload in progress */
    CU_ASSERT_EQUAL(rs.partition, 0);
    CU_ASSERT_EQUAL(rs.from, 1);
    for (long o = rs.from; o < 5; o++) /* up to the committed offset, 5 */
        if (o != skip)
            df_graph_replay(b->g, "uploaded_documents", 0, o, recs[o], strlen(recs[o]), self_route, b->g);
    df_graph_replay_done(b->g);
    CU_ASSERT_EQUAL(emitted(&b->sink, "processed_files"), 0u); /* nothing again */
    CU_ASSERT_EQUAL(emitted(&b->sink, "uploaded_files.dlq"), 0u);
    b->offset = 5;
    rig_push(b, "uploaded_documents", recs[5], 200);
    for (int o = 0; o < 5; o++)
        free(recs[o]);
    free(d);
    *out_sink = &b->sink;
}

static void test_an_upload_being_reassembled_is_restored_and_its_chunks_read_again(void)
{
    rig_t b, whole;
    sink_t *s;
    restore_after_three_chunks(-1, &s, &b);
    CU_ASSERT_EQUAL(emitted(s, "uploaded_files.dlq"), 0u);
    CU_ASSERT_EQUAL_FATAL(emitted(s, "processed_files"), 1u);
    json_t *p = last(s, "processed_files");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "file_id")), "document_9");
    /* the same hashes as an uninterrupted run */
    rig_init(&whole);
    size_t n = 10000, chunk = 3000;
    unsigned char *d = pattern(n);
    for (int i = 0; i < 4; i++) {
        size_t off = (size_t)i * chunk, len = off + chunk > n ? n - off : chunk;
        rig_push(&whole, "uploaded_documents",
                 record("document_9", "big.txt", "document", d, n, off, len, i, 4, NULL), 100);
    }
    json_t *w = last(&whole.sink, "processed_files");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(p, "analysis"), "content_hash")),
        json_string_value(json_object_get(json_object_get(w, "analysis"), "content_hash")));
    free(d);
    rig_free(&whole);
    rig_free(&b);
}

static void test_a_restored_upload_whose_chunks_are_gone_is_a_dead_letter(void)
{
    rig_t b;
    sink_t *s;
    restore_after_three_chunks(2, &s, &b); /* chunk 1 (offset 2) no longer in the topic */
    CU_ASSERT_EQUAL(emitted(s, "processed_files"), 0u);
    CU_ASSERT_EQUAL_FATAL(emitted(s, "uploaded_files.dlq"), 1u);
    json_t *dl = last(s, "uploaded_files.dlq");
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(dl, "error")),
                                  "after a restore, chunk 1 of the 3 received before could not be read again"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(dl, "file_id")), "document_9");
    rig_free(&b);
}

static void test_a_missing_chunk_sends_one_dead_letter_and_nothing_processed(void)
{
    rig_t r;
    rig_init(&r);
    unsigned char *d = pattern(9);
    rig_push(&r, "uploaded_documents", record("document_2", "gap.txt", "document", d, 9, 0, 3, 0, 3, NULL), 1);
    rig_push(&r, "uploaded_documents", record("document_2", "gap.txt", "document", d, 9, 6, 3, 2, 3, NULL), 2);
    CU_ASSERT_EQUAL(emitted(&r.sink, "processed_files"), 0u);
    CU_ASSERT_EQUAL(emitted(&r.sink, "uploaded_files.dlq"), 1u);
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(last(&r.sink, "uploaded_files.dlq"), "error")),
                                  "expected chunk 1, got chunk 2"));
    /* A chunk that comes first from the middle: one dead letter for the upload. */
    rig_push(&r, "uploaded_documents", record("document_3", "mid.txt", "document", d, 9, 3, 3, 1, 3, NULL), 3);
    rig_push(&r, "uploaded_documents", record("document_3", "mid.txt", "document", d, 9, 6, 3, 2, 3, NULL), 4);
    CU_ASSERT_EQUAL(emitted(&r.sink, "uploaded_files.dlq"), 2u);
    free(d);
    rig_free(&r);
}

static void test_a_wrong_md5_is_a_dead_letter_named_corrupt(void)
{
    rig_t r;
    rig_init(&r);
    unsigned char d[] = "hello";
    rig_push(&r, "uploaded_documents",
             record("document_4", "c.txt", "document", d, 5, 0, 5, 0, 0, "00000000000000000000000000000000"), 1);
    CU_ASSERT_EQUAL(emitted(&r.sink, "processed_files"), 0u);
    CU_ASSERT_EQUAL(emitted(&r.sink, "uploaded_files.dlq"), 1u);
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(last(&r.sink, "uploaded_files.dlq"), "error")),
                                  "corrupt: MD5"));
    rig_free(&r);
}

static void test_an_upload_idle_past_the_timeout_is_a_dead_letter_and_its_state_goes(void)
{
    rig_t r;
    rig_init(&r); /* timeout 1000 ms */
    unsigned char *d = pattern(9);
    rig_push(&r, "uploaded_documents", record("document_5", "slow.txt", "document", d, 9, 0, 3, 0, 3, NULL), 1000);
    df_graph_tick(r.g, 1500);
    CU_ASSERT_EQUAL(emitted(&r.sink, "uploaded_files.dlq"), 0u);
    df_graph_tick(r.g, 1900); /* idle since the tick after the record, at 1000 */
    CU_ASSERT_EQUAL(emitted(&r.sink, "uploaded_files.dlq"), 0u);
    df_graph_tick(r.g, 2100);
    CU_ASSERT_EQUAL(emitted(&r.sink, "uploaded_files.dlq"), 1u);
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(last(&r.sink, "uploaded_files.dlq"), "error")),
                                  "1 of 3 chunks arrived, then nothing"));
    CU_ASSERT_EQUAL(emitted(&r.sink, "processed_files"), 0u);
    free(d);
    rig_free(&r);
}

static void test_small_files_are_filtered_by_the_adjustable_threshold(void)
{
    rig_t r;
    rig_init(&r);
    atomic_store(&r.params.file_min_bytes, 1024.0 * 1024.0);
    unsigned char d[] = "tiny";
    rig_push(&r, "uploaded_documents", record("document_6", "t.txt", "document", d, 4, 0, 4, 0, 0, NULL), 1);
    CU_ASSERT_EQUAL(emitted(&r.sink, "processed_files"), 0u);
    atomic_store(&r.params.file_min_bytes, 3.0);
    rig_push(&r, "uploaded_documents", record("document_7", "t.txt", "document", d, 4, 0, 4, 0, 0, NULL), 2);
    CU_ASSERT_EQUAL(emitted(&r.sink, "processed_files"), 1u);
    rig_free(&r);
}

static void test_size_category_windows_reach_the_view_when_they_close(void)
{
    rig_t r;
    memset(&r, 0, sizeof r);
    r.sink.by_topic = json_object();
    r.host = (df_host_t){.emit = on_emit, .opaque = &r.sink};
    pipeline_params_init(&r.params);
    atomic_store(&r.params.file_min_bytes, 0.0);
    fileview_t *v = fileview_new();
    console_views_t views = {.files = v, .params = &r.params}; /* as the console attaches it */
    r.params.tap = console_tap;
    r.params.tap_ctx = &views;
    r.g = pipeline_files(&r.host, &r.params);
    unsigned char d[] = "some bytes";
    rig_push(&r, "uploaded_documents", record("document_8", "a.txt", "document", d, 10, 0, 10, 0, 0, NULL), 1);
    rig_push(&r, "uploaded_images", record("image_9", "b.png", "image", d, 4, 0, 4, 0, 0, NULL), 2);
    fileview_snapshot_t snap;
    fileview_snapshot(v, &snap);
    CU_ASSERT_EQUAL(snap.processed, 2u);
    CU_ASSERT_EQUAL(snap.ntypes, 2);
    df_graph_finish(r.g); /* the end of input closes the open windows */
    fileview_snapshot(v, &snap);
    CU_ASSERT_EQUAL(snap.nwindows, 1); /* both "small": the view adds the two branches up */
    CU_ASSERT_STRING_EQUAL(snap.windows[0].category, "small");
    CU_ASSERT_EQUAL(snap.windows[0].files, 2);
    CU_ASSERT_EQUAL(snap.windows[0].bytes, 14);
    rig_free(&r);
    fileview_free(v);
}

/* --- the saver ---------------------------------------------------------------------- */

static char tmpdir[256];

static int count_entries(const char *dir, bool hidden_only)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!hidden_only || e->d_name[0] == '.'))
            n++;
    closedir(d);
    return n;
}

static void test_saver_rebuilds_chunks_and_cleans_traversal_names(void)
{
    char dir[300], err[256], msg[1024];
    snprintf(dir, sizeof dir, "%s/save1", tmpdir);
    mkdir(dir, 0755);
    filesaver_t *s = filesaver_new(dir, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    unsigned char *d = pattern(10);
    char *r0 = record("document_1", "../../up.txt", "document", d, 10, 0, 6, 0, 2, NULL);
    char *r1 = record("document_1", "../../up.txt", "document", d, 10, 6, 4, 1, 2, NULL);
    CU_ASSERT_EQUAL(filesaver_add(s, r0, strlen(r0), msg, sizeof msg), FILESAVER_PENDING);
    CU_ASSERT_EQUAL(count_entries(dir, true), 1); /* the hidden partial file */
    CU_ASSERT_EQUAL(filesaver_add(s, r1, strlen(r1), msg, sizeof msg), FILESAVER_SAVED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "cleaned"));
    char path[400];
    snprintf(path, sizeof path, "%s/up.txt", dir);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    unsigned char back[16];
    CU_ASSERT_EQUAL(fread(back, 1, sizeof back, f), 10u);
    CU_ASSERT_EQUAL(memcmp(back, d, 10), 0);
    fclose(f);
    CU_ASSERT_EQUAL(count_entries(dir, true), 0);
    snprintf(path, sizeof path, "%s/up.txt", tmpdir);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    free(r0), free(r1), free(d);
    filesaver_free(s);
}

static void test_saver_deletes_corrupt_and_incomplete_files(void)
{
    char dir[300], err[256], msg[1024];
    snprintf(dir, sizeof dir, "%s/save2", tmpdir);
    mkdir(dir, 0755);
    filesaver_t *s = filesaver_new(dir, err, sizeof err);
    unsigned char *d = pattern(9);
    char *bad = record("document_2", "bad.txt", "document", d, 9, 0, 9, 0, 0, "ffffffffffffffffffffffffffffffff");
    CU_ASSERT_EQUAL(filesaver_add(s, bad, strlen(bad), msg, sizeof msg), FILESAVER_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "corrupt: bad.txt"));
    char *c0 = record("document_3", "gap.txt", "document", d, 9, 0, 3, 0, 3, NULL);
    char *c2 = record("document_3", "gap.txt", "document", d, 9, 6, 3, 2, 3, NULL);
    CU_ASSERT_EQUAL(filesaver_add(s, c0, strlen(c0), msg, sizeof msg), FILESAVER_PENDING);
    CU_ASSERT_EQUAL(filesaver_add(s, c2, strlen(c2), msg, sizeof msg), FILESAVER_INCOMPLETE);
    char *l0 = record("document_4", "late.txt", "document", d, 9, 0, 3, 0, 3, NULL);
    CU_ASSERT_EQUAL(filesaver_add(s, l0, strlen(l0), msg, sizeof msg), FILESAVER_PENDING);
    CU_ASSERT_EQUAL(filesaver_finish(s, NULL, NULL), 1);
    CU_ASSERT_EQUAL(count_entries(dir, false), 0); /* nothing saved, nothing partial */
    CU_ASSERT_EQUAL(filesaver_add(s, "{}", 2, msg, sizeof msg), FILESAVER_INVALID);
    free(bad), free(c0), free(c2), free(l0), free(d);
    filesaver_free(s);
}

/* --- names and text ------------------------------------------------------------------ */

static void test_names_are_cleaned_and_kinds_come_from_the_original_lists(void)
{
    char out[64];
    upload_clean_name("../../etc/passwd.txt", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "passwd.txt");
    upload_clean_name("C:\\\\dir\\\\x.png", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "x.png");
    upload_clean_name("..", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "unnamed");
    /* Not UTF-8 (a stray byte, an overlong '/', a surrogate): '_' for each bad
     * byte, so the name can go into JSON; real UTF-8 stays. */
    upload_clean_name("notes\xf0\xf0.txt", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "notes__.txt");
    upload_clean_name("a\xc0\xaf" "b\xed\xa0\x80\x01" "caf\xc3\xa9.txt", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "a__b____caf\xc3\xa9.txt");
    json_t *j = json_string(out);
    CU_ASSERT_PTR_NOT_NULL(j);
    json_decref(j);
    /* A character that does not fit is left out whole, not cut. */
    char small[6];
    upload_clean_name("abcd\xc3\xa9", small, sizeof small);
    CU_ASSERT_STRING_EQUAL(small, "abcd");
    CU_ASSERT_EQUAL(filemeta_kind_of_name("a.TIFF"), FILEMETA_IMAGE);
    CU_ASSERT_EQUAL(filemeta_kind_of_name("a.webm"), FILEMETA_VIDEO);
    CU_ASSERT_EQUAL(filemeta_kind_of_name("a.docx"), FILEMETA_DOCUMENT);
    CU_ASSERT_EQUAL(filemeta_kind_of_name("a.exe"), -1);
    CU_ASSERT_EQUAL(filemeta_kind_of_name("noext"), -1);
}

static void test_text_is_made_valid_utf8_and_cut_at_a_character(void)
{
    char *c = filemeta_utf8_clean("a\xff" "b\xc3\xa9", 5, 100);
    CU_ASSERT_STRING_EQUAL(c, "a?b\xc3\xa9");
    free(c);
    c = filemeta_utf8_clean("ab\xc3\xa9", 4, 3); /* é would straddle the limit */
    CU_ASSERT_STRING_EQUAL(c, "ab");
    free(c);
}

static void test_detect_reads_content_not_just_the_extension(void)
{
    char path[300], mime[128], err[512];
    filemeta_kind_t k;
    snprintf(path, sizeof path, "%s/words.txt", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("plain words here\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(filemeta_detect(path, "words.txt", &k, mime, sizeof mime, err, sizeof err), 0);
    CU_ASSERT_EQUAL(k, FILEMETA_DOCUMENT);
    CU_ASSERT_STRING_EQUAL(mime, "text/plain");
    CU_ASSERT_EQUAL(filemeta_detect(path, "words.png", &k, mime, sizeof mime, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "named as an image"));
    json_t *m = filemeta_extract(path, FILEMETA_DOCUMENT, "text/plain");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "text_content")), "plain words here\n");
    json_decref(m);
}

/* The original's text_length = len(text) and word_count = len(text.split())
 * of the whole document.  A text of 600,000 words (3.6 MB, far past the
 * 8,000-byte preview) with non-ASCII letters, a no-break space (U+00A0, a
 * separator for split()) and a 3-byte character placed across the reader's
 * 64 KiB block boundary: the expected counts come from how it is built. */
static void test_metadata_counts_the_whole_text_not_the_preview(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/big.txt", tmpdir);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int64_t chars = 0, words = 0, bytes = 0;
    /* 65534 bytes of "x " pairs and 'x': then a 3-byte '€' straddles 65536 */
    for (int i = 0; i < 32767; i++) {
        fputs("x ", f);
        chars += 2, words++, bytes += 2;
    }
    fputs("\xe2\x82\xac ", f); /* "€ ": bytes 65534..65537 */
    chars += 2, words++, bytes += 4;
    int64_t want_words = 600000;
    for (int64_t w = words; w < want_words; w++) {
        if (w % 3 == 0) {
            fputs("caf\xc3\xa9\xc2\xa0", f); /* café + no-break space: 5 code points */
            chars += 5, bytes += 7;
        } else {
            fputs("word\n", f);
            chars += 5, bytes += 5;
        }
    }
    words = want_words;
    fclose(f);
    CU_ASSERT_TRUE(bytes > 3000000);
    json_t *m = filemeta_extract(path, FILEMETA_DOCUMENT, "text/plain");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "text_length")), chars);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "word_count")), words);
    CU_ASSERT_TRUE(json_is_true(json_object_get(m, "text_truncated")));
    const char *preview = json_string_value(json_object_get(m, "text_content"));
    CU_ASSERT_TRUE(preview && strlen(preview) <= FILEMETA_TEXT_MAX && strlen(preview) > 7990);
    /* and the pipeline's analysis says the same */
    json_t *doc = json_pack("{sssIsO}", "file_type", "document", "file_size", (json_int_t)bytes,
                            "metadata", m);
    files_analyse(doc);
    json_t *a = json_object_get(doc, "analysis");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "text_length")), chars);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "word_count")), words);
    json_decref(doc);
    json_decref(m);
}

/* A minimal DOCX made with libzip: the three parts Word needs to open it. */
static void make_docx(const char *path)
{
    static const char ct[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/"
        "package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/"
        "vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType="
        "\"application/xml\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/"
        "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
    static const char rels[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas."
        "openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://"
        "schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target="
        "\"word/document.xml\"/></Relationships>";
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas."
        "openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>Hello from</w:t>"
        "</w:r><w:r><w:t xml:space=\"preserve\"> a DOCX</w:t></w:r></w:p><w:p><w:r><w:t>second "
        "paragraph</w:t></w:r></w:p></w:body></w:document>";
    int err;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z);
    const char *names[] = {"[Content_Types].xml", "_rels/.rels", "word/document.xml"};
    const char *parts[] = {ct, rels, doc};
    for (int i = 0; i < 3; i++)
        zip_file_add(z, names[i], zip_source_buffer(z, parts[i], strlen(parts[i]), 0), 0);
    CU_ASSERT_EQUAL(zip_close(z), 0);
}

static json_t *meta_of(const char *name, int want_kind)
{
    char path[400], mime[128], err[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    filemeta_kind_t k;
    if (filemeta_detect(path, name, &k, mime, sizeof mime, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", name, err);
        CU_FAIL("detect");
        return json_object();
    }
    CU_ASSERT_EQUAL(k, want_kind);
    return filemeta_extract(path, k, mime);
}

static void test_metadata_of_docx_gif_bmp_tiff_webm_mkv_avi_fixtures(void)
{
    char path[400], cmd[1200];
    snprintf(path, sizeof path, "%s/t.docx", tmpdir);
    make_docx(path);
    json_t *m = meta_of("t.docx", FILEMETA_DOCUMENT);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "text_content")),
                           "Hello from a DOCX\nsecond paragraph\n");
    /* len() and len(split()) of that text: 35 code points, 6 words */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "text_length")), 35);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "word_count")), 6);
    CU_ASSERT_TRUE(json_is_false(json_object_get(m, "text_truncated")));
    json_decref(m);
    static const char *const images[] = {"t.gif", "t.bmp", "t.tiff"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -f lavfi -i testsrc=s=64x48 -frames:v 1 '%s/%s' </dev/null",
                 tmpdir, images[i]);
        CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
        m = meta_of(images[i], FILEMETA_IMAGE);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "width")), 64);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "height")), 48);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "total_pixels")), 64 * 48);
        CU_ASSERT_TRUE(json_integer_value(json_object_get(m, "channels")) >= 3);
        json_decref(m);
    }
    static const char *const videos[] = {"t.webm", "t.mkv", "t.avi"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -f lavfi -i testsrc=s=160x120:r=10 -t 1 '%s/%s' </dev/null",
                 tmpdir, videos[i]);
        CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
        m = meta_of(videos[i], FILEMETA_VIDEO);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "frame_count")), 10);
        CU_ASSERT_EQUAL(json_real_value(json_object_get(m, "fps")), 10.0);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "width")), 160);
        json_decref(m);
    }
}

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/streamlab-test-files-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static CU_TestInfo tests[] = {
    {"parse accepts the seed record and takes its time", test_parse_accepts_the_seed_record_and_takes_its_time},
    {"parse rejects bad records with a reason", test_parse_rejects_bad_records_with_a_reason},
    {"a one-record upload keeps its file_content in processed_files",
     test_a_one_record_upload_keeps_its_file_content_in_processed_files},
    {"chunk records carry chunk_content, not file_content",
     test_chunk_records_carry_chunk_content_not_file_content},
    {"analysis takes the whole document's counts from the metadata",
     test_analysis_takes_the_whole_documents_counts_from_the_metadata},
    {"size categories follow the original", test_size_categories_follow_the_original},
    {"analysis computes the original's fields per type", test_analysis_computes_the_originals_fields_per_type},
    {"chunks in order become one processed record with the original's hashes",
     test_chunks_in_order_become_one_processed_record_with_the_originals_hashes},
    {"an upload being reassembled is restored and its chunks read again",
     test_an_upload_being_reassembled_is_restored_and_its_chunks_read_again},
    {"a restored upload whose chunks are gone is a dead letter",
     test_a_restored_upload_whose_chunks_are_gone_is_a_dead_letter},
    {"a missing chunk sends one dead letter and nothing processed",
     test_a_missing_chunk_sends_one_dead_letter_and_nothing_processed},
    {"a wrong MD5 is a dead letter named corrupt", test_a_wrong_md5_is_a_dead_letter_named_corrupt},
    {"an upload idle past the timeout is a dead letter",
     test_an_upload_idle_past_the_timeout_is_a_dead_letter_and_its_state_goes},
    {"small files are filtered by the adjustable threshold",
     test_small_files_are_filtered_by_the_adjustable_threshold},
    {"size-category windows reach the view when they close",
     test_size_category_windows_reach_the_view_when_they_close},
    {"saver rebuilds chunks and cleans traversal names", test_saver_rebuilds_chunks_and_cleans_traversal_names},
    {"saver deletes corrupt and incomplete files", test_saver_deletes_corrupt_and_incomplete_files},
    {"names are cleaned and kinds come from the original lists",
     test_names_are_cleaned_and_kinds_come_from_the_original_lists},
    {"text is made valid UTF-8 and cut at a character", test_text_is_made_valid_utf8_and_cut_at_a_character},
    {"detect reads content, not just the extension", test_detect_reads_content_not_just_the_extension},
    {"metadata counts the whole text, not the preview",
     test_metadata_counts_the_whole_text_not_the_preview},
    {"metadata of DOCX, GIF, BMP, TIFF, WebM, MKV and AVI fixtures",
     test_metadata_of_docx_gif_bmp_tiff_webm_mkv_avi_fixtures},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("test_files", tests, suite_init, suite_cleanup)
