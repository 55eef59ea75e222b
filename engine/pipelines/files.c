/* files.c — the original's file job on the dataflow runtime.
 *
 *   source(uploaded_documents | uploaded_videos | uploaded_images)
 *     -> key_by file_id -> process:reassemble (chunks in order; MD5 checked;
 *                          gaps, corrupt files, timeouts -> uploaded_files.dlq)
 *     -> filter file_size > 1 MiB -> map:analysis -> map:enrichment
 *     -> sink processed_files (file_content of a one-record upload, as the
 *        original's; a chunked one says where its chunks are: content_location)
 *     -> key_by file_type -> reduce -> sink file_type_aggregations
 *     -> key_by size_category -> 30 s processing-time windows -> the console's view
 *
 * Reassembly keeps no chunked content: per upload it holds the first record's
 * fields (without the chunk's content), a running MD5 of the decoded bytes and a
 * running SHA-256 of the base64 text (the original's content_hash), so memory
 * per upload is constant whatever the file's size.  Chunks of one upload share
 * a Kafka partition (keyed by filename), hence one worker and arrival order.
 *
 * Restore: an upload's changelog state is its head and counters; the hashes
 * (OpenSSL contexts cannot be serialized) are rebuilt by reading its chunks
 * again from its first chunk's offset (df_process_fn_t's replay_from). */
#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonr.h"
#include "engine/evtime.h"
#include "engine/util.h"
#include "engine/pipelines/pipelines.h"

static const char *const fields[] = {"file_id",   "filename",  "file_type",
                                     "file_size", "file_hash", "upload_timestamp"};

/* A record's content: a chunk carries its bytes in chunk_content (so that a
 * client of the original, which reads file_content, never takes a chunk for a
 * whole file); a whole file, and a chunk of the older shape, in file_content. */
static json_t *content_of(const json_t *v)
{
    json_t *c = json_object_get(v, "chunk_content");
    return c ? c : json_object_get(v, "file_content");
}

int files_parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
                size_t errsize, void *ctx)
{
    const char *want_type = ctx; /* the topic's file type, or NULL for any */
    if (!buf) {
        snprintf(err, errsize, "empty record (no value)");
        return -1;
    }
    json_error_t je;
    json_t *v = jsonr_load(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        snprintf(err, errsize, "not a JSON object: %s (at byte %d)", je.text, je.position);
        return -1;
    }
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        json_t *f = json_object_get(v, fields[i]);
        bool ok = !strcmp(fields[i], "file_size") ? json_is_integer(f) && json_integer_value(f) >= 0
                                                   : json_is_string(f);
        if (!ok) {
            snprintf(err, errsize, "field \"%s\" %s", fields[i],
                     f ? (!strcmp(fields[i], "file_size") ? "should be a non-negative integer"
                                                          : "should be a string")
                       : "is missing");
            goto bad;
        }
    }
    const char *type = json_string_value(json_object_get(v, "file_type"));
    if (strcmp(type, "document") && strcmp(type, "video") && strcmp(type, "image")) {
        snprintf(err, errsize, "field \"file_type\" should be document, video or image, got \"%s\"",
                 type);
        goto bad;
    }
    if (want_type && strcmp(type, want_type)) {
        snprintf(err, errsize, "a %s record in the topic of %ss", type, want_type);
        goto bad;
    }
    json_t *meta = json_object_get(v, "metadata");
    if (meta && !json_is_object(meta)) {
        snprintf(err, errsize, "field \"metadata\" should be an object");
        goto bad;
    }
    json_t *ci = json_object_get(v, "chunk_index"), *cc = json_object_get(v, "chunk_count");
    if (ci || cc) {
        if (!json_is_integer(ci) || !json_is_integer(cc) || json_integer_value(cc) < 1 ||
            json_integer_value(ci) < 0 || json_integer_value(ci) >= json_integer_value(cc)) {
            snprintf(err, errsize, "chunk_index and chunk_count should be integers with "
                                   "0 <= chunk_index < chunk_count");
            goto bad;
        }
        if (!json_is_string(content_of(v))) {
            snprintf(err, errsize, "field \"chunk_content\" %s",
                     content_of(v) ? "should be a string" : "is missing");
            goto bad;
        }
    } else if (!json_is_string(json_object_get(v, "file_content"))) {
        snprintf(err, errsize, "field \"file_content\" %s",
                 json_object_get(v, "file_content") ? "should be a string" : "is missing");
        goto bad;
    }
    json_t *ts = json_object_get(v, "upload_timestamp");
    if (evtime_parse(json_string_value(ts), json_string_length(ts), event_ms) < 0) {
        snprintf(err, errsize, "field \"upload_timestamp\" is not an ISO-8601 time: \"%s\"",
                 json_string_value(ts));
        goto bad;
    }
    *value = v;
    return 0;
bad:
    json_decref(v);
    return -1;
}

const char *files_size_category(int64_t bytes)
{
    double mb = bytes / (1024.0 * 1024.0);
    return mb < 1 ? "small" : mb < 10 ? "medium" : mb < 100 ? "large" : "very_large";
}

/* --- reassembly ------------------------------------------------------------ */

typedef struct upload {
    json_t *head; /* the first record without file_content and chunk fields */
    int64_t next, count, bytes;
    int64_t idle_since; /* processing time of the first timer after a record; -1: just touched */
    EVP_MD_CTX *md5, *sha;
    bool failed; /* reported already; swallow the rest of its chunks */
    int64_t first_offset; /* chunk 0's input offset (-1: not known) */
    int32_t partition;    /* and its input partition */
    int64_t want_next; /* restored: chunks the replay must give back; -1 */
} upload_t;

static void upload_free(void *state, void *ctx)
{
    (void)ctx;
    upload_t *u = state;
    if (!u)
        return;
    json_decref(u->head);
    EVP_MD_CTX_free(u->md5);
    EVP_MD_CTX_free(u->sha);
    free(u);
}

/* A dead letter for an upload that cannot be rebuilt. */
static void reject(df_process_out_t *out, const json_t *rec, int64_t received, int64_t count,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void reject(df_process_out_t *out, const json_t *rec, int64_t received, int64_t count,
                   const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    json_t *d = json_pack("{sssOsOsOsOsIsI}", "error", why, "file_id",
                          json_object_get(rec, "file_id"), "filename",
                          json_object_get(rec, "filename"), "file_type",
                          json_object_get(rec, "file_type"), "file_hash",
                          json_object_get(rec, "file_hash"), "chunks_received",
                          (json_int_t)received, "chunk_count", (json_int_t)count);
    json_object_set_new(d, "failed_at", pipeline_now_string());
    df_process_emit_side(out, d);
}

static int64_t int_field(const json_t *v, const char *name, int64_t dflt)
{
    json_t *f = json_object_get(v, name);
    return json_is_integer(f) ? json_integer_value(f) : dflt;
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static upload_t *upload_start(const json_t *rec, int64_t count)
{
    upload_t *u = xcalloc(1, sizeof *u);
    u->head = json_deep_copy(rec);
    /* A one-record upload keeps its file_content for processed_files, as the
     * original's processor passes it on; a chunked one keeps no content. */
    if (count > 1)
        json_object_del(u->head, "file_content");
    json_object_del(u->head, "chunk_content");
    json_object_del(u->head, "chunk_index");
    json_object_del(u->head, "chunk_count");
    if (!json_object_get(u->head, "metadata"))
        json_object_set_new(u->head, "metadata", json_object());
    u->count = count;
    u->idle_since = -1;
    u->first_offset = u->want_next = -1;
    u->md5 = EVP_MD_CTX_new();
    u->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(u->md5, EVP_md5(), NULL);
    EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL);
    return u;
}

/* Decodes one chunk's base64 into the hashes; false if it is not base64. */
static bool upload_add(upload_t *u, const json_t *content)
{
    const char *b64 = json_string_value(content);
    size_t len = json_string_length(content);
    if (len % 4)
        return false;
    EVP_DigestUpdate(u->sha, b64, len);
    unsigned char buf[3 * 4096];
    for (size_t at = 0; at < len; at += 4 * 4096) { /* a slice at a time: no copy of the chunk */
        size_t n = len - at < 4 * 4096 ? len - at : 4 * 4096;
        int got = EVP_DecodeBlock(buf, (const unsigned char *)b64 + at, (int)n);
        if (got < 0)
            return false;
        if (at + n == len) /* EVP_DecodeBlock counts padding as zero bytes */
            got -= (n >= 1 && b64[at + n - 1] == '=') + (n >= 2 && b64[at + n - 2] == '=');
        EVP_DigestUpdate(u->md5, buf, (size_t)got);
        u->bytes += got;
    }
    return true;
}

static void upload_finish(df_process_out_t *out, upload_t *u)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl;
    char md5[65], sha[65];
    EVP_DigestFinal_ex(u->md5, d, &dl);
    hex(d, dl, md5);
    EVP_DigestFinal_ex(u->sha, d, &dl);
    hex(d, dl, sha);
    int64_t size = int_field(u->head, "file_size", -1);
    const char *want = json_string_value(json_object_get(u->head, "file_hash"));
    if (u->bytes != size) {
        reject(out, u->head, u->count, u->count,
               "reassembled %lld bytes but file_size says %lld", (long long)u->bytes,
               (long long)size);
        return;
    }
    if (strcasecmp(md5, want)) {
        reject(out, u->head, u->count, u->count,
               "corrupt: MD5 of the reassembled content is %s, file_hash says %s", md5, want);
        return;
    }
    json_t *rec = json_incref(u->head);
    sha[16] = '\0'; /* the original keeps the first 16 hex digits */
    json_object_set_new(rec, "analysis", json_pack("{ss}", "content_hash", sha));
    if (u->count > 1) {
        /* No file_content: where the bytes are instead (the upload topic is the
         * file type's, which the parser checked). */
        char topic[64];
        snprintf(topic, sizeof topic, "uploaded_%ss",
                 json_string_value(json_object_get(rec, "file_type")));
        json_object_set_new(rec, "chunk_count", json_integer(u->count));
        json_object_set_new(rec, "content_location",
                            json_pack("{sssisIsIss}", "topic", topic, "partition",
                                      (int)u->partition, "offset", (json_int_t)u->first_offset,
                                      "chunk_count", (json_int_t)u->count, "field",
                                      "chunk_content"));
    }
    df_process_emit(out, rec);
}

/* After a restore's replay: did the chunks read again give back all that
 * had been received?  If not (the broker's retention removed some), the
 * upload cannot be finished: a dead letter. */
static void restored_check(df_process_out_t *out, upload_t *u)
{
    if (u->want_next < 0 || df_process_replaying(out))
        return;
    if (!u->failed && u->next != u->want_next) {
        reject(out, u->head, u->want_next, u->count,
               "incomplete: after a restore, chunk %lld of the %lld received before could not "
               "be read again (removed by the broker's retention?)",
               (long long)u->next, (long long)u->want_next);
        u->failed = true;
        u->next = u->want_next;
    }
    u->want_next = -1;
}

static void reassemble(df_process_out_t *out, const df_record_t *r, void **state, void *ctx)
{
    (void)ctx;
    const json_t *v = r->value;
    int64_t idx = int_field(v, "chunk_index", 0), count = int_field(v, "chunk_count", 1);
    upload_t *u = *state;
    if (df_process_replaying(out)) { /* rebuilding the hashes: only the next chunk counts */
        if (u && !u->failed && u->count == count && idx == u->next && idx < u->want_next &&
            upload_add(u, content_of(v)))
            u->next++;
        return;
    }
    if (u)
        restored_check(out, u);
    if (u && (u->count != count || int_field(v, "file_size", -1) !=
                                       int_field(u->head, "file_size", -2))) {
        /* The same file_id with another shape: the old upload is over. */
        if (!u->failed)
            reject(out, u->head, u->next, u->count,
                   "incomplete: a different upload with the same file_id began after %lld of "
                   "%lld chunks", (long long)u->next, (long long)u->count);
        upload_free(u, NULL);
        *state = u = NULL;
    }
    if (!u) {
        u = upload_start(v, count);
        u->first_offset = r->offset;
        u->partition = r->partition;
        *state = u;
        if (idx != 0) {
            reject(out, v, 0, count,
                   "incomplete: chunk %lld arrived first; chunks 0..%lld are missing (dropped by "
                   "the broker's retention, or read from the middle of the topic)",
                   (long long)idx, (long long)idx - 1);
            u->failed = true;
        }
    } else if (!u->failed && idx != u->next) {
        reject(out, v, u->next, count,
               "incomplete: expected chunk %lld, got chunk %lld (chunks missing)",
               (long long)u->next, (long long)idx);
        u->failed = true;
    }
    u->idle_since = -1;
    if (!u->failed) {
        if (!upload_add(u, content_of(v))) {
            reject(out, v, u->next, count, "corrupt: chunk %lld's content is not base64",
                   (long long)idx);
            u->failed = true;
        } else {
            u->next++;
        }
    }
    if (idx == count - 1) {
        if (!u->failed)
            upload_finish(out, u);
        upload_free(u, NULL);
        *state = NULL;
    }
}

/* The engine's tick clock is its own (monotonic, or the event clock in a
 * replay), and on_record is not told it; so a record marks the upload
 * "touched" and the next timer starts its idle time on the tick's clock. */
static void reassembly_timer(df_process_out_t *out, const char *key, void **state, int64_t now_ms,
                             void *ctx)
{
    (void)key;
    const pipeline_params_t *p = ctx;
    upload_t *u = *state;
    restored_check(out, u);
    if (now_ms != INT64_MAX) {
        if (u->idle_since < 0) {
            u->idle_since = now_ms;
            return;
        }
        if (now_ms - u->idle_since < p->file_chunk_timeout_ms)
            return;
    }
    if (!u->failed)
        reject(out, u->head, u->next, u->count,
               "incomplete: %lld of %lld chunks arrived, then nothing for %lld s",
               (long long)u->next, (long long)u->count,
               (long long)(p->file_chunk_timeout_ms / 1000));
    upload_free(u, NULL);
    *state = NULL;
}

/* The changelog's copy: head and counters; the chunks are read again from
 * first_offset to rebuild the hashes (a failed upload needs none). */
static json_t *upload_save(const void *state, int64_t *replay_from, void *ctx)
{
    (void)ctx;
    const upload_t *u = state;
    *replay_from = u->failed || u->next == 0 ? -1 : u->first_offset;
    return json_pack("{sOsIsIsbsIsi}", "head", u->head, "count", (json_int_t)u->count, "next",
                     (json_int_t)(u->want_next >= 0 ? u->want_next : u->next), "failed",
                     u->failed, "first_offset", (json_int_t)u->first_offset, "partition",
                     (int)u->partition);
}

static void *upload_load(const json_t *saved, void *ctx)
{
    (void)ctx;
    json_t *head = json_object_get(saved, "head");
    int64_t count = int_field(saved, "count", 0), next = int_field(saved, "next", 0);
    if (!json_is_object(head) || count < 1 || next < 0 || next > count)
        return NULL; /* not ours: the upload starts over (its chunks then go to the dlq) */
    upload_t *u = upload_start(head, count);
    u->first_offset = int_field(saved, "first_offset", -1);
    u->partition = (int32_t)int_field(saved, "partition", -1);
    u->failed = json_is_true(json_object_get(saved, "failed"));
    if (u->failed)
        u->next = next;
    else
        u->want_next = next; /* the replay brings next back up to it */
    return u;
}

static const df_process_fn_t reassembly = {.on_record = reassemble,
                                           .on_timer = reassembly_timer,
                                           .free_state = upload_free,
                                           .save = upload_save,
                                           .load = upload_load};

/* --- the original's analysis and enrichment -------------------------------- */

static bool above_min_size(const json_t *v, void *ctx)
{
    pipeline_params_t *p = ctx;
    return (double)int_field(v, "file_size", 0) >
           atomic_load_explicit(&p->file_min_bytes, memory_order_relaxed);
}

static double num(const json_t *meta, const char *name)
{
    double d = 0;
    df_json_number(json_object_get(meta, name), &d);
    return d;
}

static double round2(double x) { return round(x * 100.0) / 100.0; }

void files_analyse(json_t *v)
{
    int64_t size = int_field(v, "file_size", 0);
    json_t *a = json_object_get(v, "analysis");
    if (!json_is_object(a)) {
        a = json_object();
        json_object_set_new(v, "analysis", a);
    }
    json_object_set_new(a, "file_size_mb", json_real(round2(size / (1024.0 * 1024.0))));
    json_object_set_new(a, "size_category", json_string(files_size_category(size)));
    json_object_set_new(a, "processing_timestamp", pipeline_now_string());
    const json_t *meta = json_object_get(v, "metadata");
    const char *type = json_string_value(json_object_get(v, "file_type"));
    double w = num(meta, "width"), h = num(meta, "height");
    json_t *aspect = h > 0 ? json_real(round2(w / h)) : json_integer(0);
    if (!strcmp(type, "document")) {
        /* The original's text_length and word_count are len(text) and
         * len(text.split()) of the whole document.  The uploader counts them over
         * the whole extracted text (text_content is only a preview); a record
         * without those counts (another producer's) is counted here on its
         * text_content. */
        json_t *tl = json_object_get(meta, "text_length"), *wc = json_object_get(meta, "word_count");
        int64_t chars, words;
        if (json_is_integer(tl) && json_is_integer(wc) && json_integer_value(tl) >= 0 &&
            json_integer_value(wc) >= 0) {
            chars = json_integer_value(tl);
            words = json_integer_value(wc);
        } else {
            const char *text = json_string_value(json_object_get(meta, "text_content"));
            util_textcount_t tc = {0};
            if (text)
                util_textcount_feed(&tc, text, strlen(text));
            chars = tc.chars;
            words = tc.words;
        }
        json_object_set_new(a, "text_length", json_integer(chars));
        json_object_set_new(a, "word_count", json_integer(words));
        /* len(text.strip()) > 0: some character that is not whitespace, a word */
        json_object_set_new(a, "has_text", json_boolean(words > 0));
        json_decref(aspect);
    } else if (!strcmp(type, "video")) {
        double duration = num(meta, "duration");
        json_object_set_new(a, "video_quality", json_string(w >= 1280 ? "HD" : "SD"));
        json_object_set_new(a, "aspect_ratio", aspect);
        json_object_set_new(a, "total_frames", json_integer((json_int_t)num(meta, "frame_count")));
        json_object_set_new(a, "bitrate_estimate",
                            duration > 0 ? json_real(round2(size * 8.0 / duration))
                                         : json_integer(0));
    } else {
        json_object_set_new(a, "image_quality",
                            json_string(w >= 1920 ? "High" : w >= 1280 ? "Medium" : "Low"));
        json_object_set_new(a, "aspect_ratio", aspect);
        json_object_set_new(a, "total_pixels", json_integer((json_int_t)(w * h)));
        json_object_set_new(a, "color_depth", json_integer((json_int_t)num(meta, "channels") * 8));
    }
}

static json_t *analyse(json_t *v, void *ctx)
{
    (void)ctx;
    v = df_writable(v);
    files_analyse(v);
    return v;
}

static json_t *enrich(json_t *v, void *ctx)
{
    (void)ctx;
    v = df_writable(v);
    const char *type = json_string_value(json_object_get(v, "file_type"));
    const char *notes = "Unknown file type processing", *prio = "low";
    if (!strcmp(type, "document"))
        notes = "Document processing - text extraction completed", prio = "normal";
    else if (!strcmp(type, "video"))
        notes = "Video processing - metadata extraction completed", prio = "high";
    else if (!strcmp(type, "image"))
        notes = "Image processing - metadata extraction completed", prio = "normal";
    json_object_set_new(v, "processing_notes", json_string(notes));
    json_object_set_new(v, "processing_priority", json_string(prio));
    json_object_set_new(v, "flink_processing_time", pipeline_now_string());
    return v;
}

static json_t *field_key(const json_t *v, void *ctx) { return json_object_get(v, (const char *)ctx); }

static json_t *size_category_key(const json_t *v, void *ctx)
{
    (void)ctx;
    return json_object_get(json_object_get(v, "analysis"), "size_category");
}

/* file_type_aggregations: the accumulator is the output record. */
static json_t *type_create(const df_record_t *r, void *ctx)
{
    (void)ctx;
    return json_pack("{sOsIsIsfsIsI}", "file_type", r->key, "total_files", (json_int_t)0,
                     "total_size_bytes", (json_int_t)0, "avg_size_bytes", 0.0,
                     "largest_file_size", (json_int_t)0, "smallest_file_size",
                     (json_int_t)INT64_MAX);
}

static void type_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    int64_t size = int_field(r->value, "file_size", 0);
    int64_t n = int_field(acc, "total_files", 0) + 1, total = int_field(acc, "total_size_bytes", 0) + size;
    json_object_set_new(acc, "total_files", json_integer(n));
    json_object_set_new(acc, "total_size_bytes", json_integer(total));
    json_object_set_new(acc, "avg_size_bytes", json_real((double)total / n));
    if (size > int_field(acc, "largest_file_size", 0))
        json_object_set_new(acc, "largest_file_size", json_integer(size));
    if (size < int_field(acc, "smallest_file_size", INT64_MAX))
        json_object_set_new(acc, "smallest_file_size", json_integer(size));
}

static json_t *type_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)key, (void)start, (void)end, (void)ctx;
    json_object_set_new(acc, "last_updated", pipeline_now_string());
    return json_incref(acc);
}

static const df_agg_t type_totals = {.create = type_create, .add = type_add, .result = type_result};

/* Size-category windows: 30 s tumbling windows on processing time, as the
 * original's TumblingProcessingTimeWindows.  A keyed process function holds
 * one open window per category and fires it from its timer once the clock
 * (evtime_now_ms: the wall clock, or the event clock in a replay) passes its
 * end.  (Not df_window: that is event time, and a df_window node that never
 * received a record trips UBSan in the runtime's window_advance, memmove on a
 * NULL array; this pipeline has one such node per input topic.) */
typedef struct catwin {
    int64_t start, files, bytes;
} catwin_t;

static json_t *catwin_result(const char *category, const catwin_t *w, int64_t size_ms)
{
    char s[EVTIME_BUFSIZE], e[EVTIME_BUFSIZE];
    return json_pack("{sssIsIsfssss}", "size_category", category, "total_files",
                     (json_int_t)w->files, "total_size_bytes", (json_int_t)w->bytes,
                     "avg_size_bytes", w->files ? (double)w->bytes / w->files : 0.0,
                     "window_start", evtime_format(w->start, s), "window_end",
                     evtime_format(w->start + size_ms, e));
}

static void catwin_record(df_process_out_t *out, const df_record_t *r, void **state, void *ctx)
{
    const pipeline_params_t *p = ctx;
    int64_t now = evtime_now_ms(), start = now - ((now % p->window_ms) + p->window_ms) % p->window_ms;
    catwin_t *w = *state;
    if (w && w->start != start) {
        df_process_emit(out, catwin_result(json_string_value(r->key), w, p->window_ms));
        free(w);
        w = NULL;
    }
    if (!w) {
        w = xcalloc(1, sizeof *w);
        w->start = start;
        *state = w;
    }
    w->files++;
    w->bytes += int_field(r->value, "file_size", 0);
}

static void catwin_timer(df_process_out_t *out, const char *key, void **state, int64_t now_ms,
                         void *ctx)
{
    const pipeline_params_t *p = ctx;
    catwin_t *w = *state;
    if (now_ms != INT64_MAX && evtime_now_ms() < w->start + p->window_ms)
        return;
    df_process_emit(out, catwin_result(key, w, p->window_ms));
    free(w);
    *state = NULL;
}

static void catwin_free(void *state, void *ctx)
{
    (void)ctx;
    free(state);
}

static json_t *catwin_save(const void *state, int64_t *replay_from, void *ctx)
{
    (void)ctx;
    const catwin_t *w = state;
    *replay_from = -1;
    return json_pack("{sIsIsI}", "start", (json_int_t)w->start, "files", (json_int_t)w->files,
                     "bytes", (json_int_t)w->bytes);
}

static void *catwin_load(const json_t *saved, void *ctx)
{
    (void)ctx;
    catwin_t *w = xcalloc(1, sizeof *w);
    w->start = int_field(saved, "start", 0);
    w->files = int_field(saved, "files", 0);
    w->bytes = int_field(saved, "bytes", 0);
    return w;
}

static const df_process_fn_t category_windows = {.on_record = catwin_record,
                                                 .on_timer = catwin_timer,
                                                 .free_state = catwin_free,
                                                 .save = catwin_save,
                                                 .load = catwin_load};

df_graph_t *pipeline_files(const df_host_t *host, pipeline_params_t *params)
{
    df_graph_t *g = df_graph_new("files", host);
    df_graph_set_time(g, params->out_of_orderness_ms, params->idle_timeout_ms);
    static const char *const inputs[] = {"uploaded_documents", "uploaded_videos",
                                         "uploaded_images"};
    static const char *const types[] = {"document", "video", "image"};
    for (size_t i = 0; i < 3; i++) {
        /* The runtime has no union, so each topic gets its own branch.  A
         * topic holds one file type (the parser enforces it), so the per-branch
         * reduce keyed by file_type is exact; the size-category windows of the
         * three branches are added up by the console's view. */
        df_stream_t *src =
            df_source(g, inputs[i], "uploaded_files.dlq", files_parse, (void *)types[i]);
        df_stream_t *keyed = df_key_by(src, "key_by:file_id", field_key, "file_id");
        df_stream_t *re = df_process(keyed, "process:reassemble", &reassembly, params);
        df_stream_t *side = df_process_side(re);
        if (params->tap)
            df_sink_tap(side, "view:rejected", params->tap, params->tap_ctx, false);
        df_sink_topic(side, "uploaded_files.dlq", NULL);
        df_stream_t *big = df_filter(re, "filter:file_size", above_min_size, params);
        df_stream_t *analysed = df_map(big, "map:analysis", analyse, NULL);
        df_stream_t *whole = df_map(analysed, "map:enrichment", enrich, NULL);
        if (params->tap)
            df_sink_tap(whole, "view:processed", params->tap, params->tap_ctx, false);
        df_sink_topic(whole, "processed_files", "file_id");
        df_stream_t *by_type = df_key_by(whole, "key_by:file_type", field_key, "file_type");
        df_stream_t *totals = df_reduce(by_type, "reduce:file_type", &type_totals, NULL);
        if (params->tap)
            df_sink_tap(totals, "view:type_totals", params->tap, params->tap_ctx, false);
        df_sink_topic(totals, "file_type_aggregations", "file_type");
        df_stream_t *by_cat = df_key_by(whole, "key_by:size_category", size_category_key, NULL);
        df_stream_t *win =
            df_process(by_cat, "process:size_windows", &category_windows, params);
        if (params->tap)
            df_sink_tap(win, "view:size_windows", params->tap, params->tap_ctx, false);
    }
    return g;
}
