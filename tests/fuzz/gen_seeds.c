/* gen_seeds.c — writes the fuzzers' seed corpora into DIR/<target>/:
 * transactions as the producer writes them (single records for txn_parse,
 * streams of lines for the pipeline: windows, late records, several users),
 * real video frame records (JPEGs encoded here by vidprod_record, as the
 * producer sends them, and one as the pipeline writes it), timestamps, and
 * JSON documents for the serializer, upload chunk records (whole, chunked,
 * a chunk missing, a wrong MD5, a traversal name) and multipart bodies.  Made at run time so that the seeds
 * always match the code's own formats.  Usage: gen_seeds DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "engine/evtime.h"
#include "producers/vidproducer.h"

static const char *dir;

static void put(const char *target, int n, const char *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, target);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/seed_%02d", dir, target, n);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void puts_seed(const char *target, int n, const char *s) { put(target, n, s, strlen(s)); }

static const char *const txns[] = {
    "{\"transaction_id\": \"txn_1705314600_1234\", \"user_id\": \"user_42\", \"product\": "
    "\"Laptop\", \"category\": \"electronics\", \"amount\": 754.86, \"quantity\": 1, "
    "\"payment_method\": \"credit_card\", \"timestamp\": \"2024-01-15T10:30:00.123456\", "
    "\"location\": \"city_5\"}",
    "{\"transaction_id\":\"t2\",\"user_id\":\"user_7\",\"product\":\"Novel\",\"category\":"
    "\"books\",\"amount\":19.99,\"quantity\":3,\"payment_method\":\"paypal\",\"timestamp\":"
    "\"2024-01-15T10:30:12\",\"location\":\"city_1\"}",
    "{\"transaction_id\":\"t3\",\"user_id\":\"user_7\",\"product\":\"Shirt\",\"category\":"
    "\"clothing\",\"amount\":150,\"quantity\":2,\"payment_method\":\"debit_card\",\"timestamp\":"
    "\"2024-01-15T10:30:31.5+01:00\",\"location\":\"city_2\"}",
    "{\"transaction_id\":\"t4\",\"user_id\":\"user_9\",\"product\":\"Lamp\",\"category\":"
    "\"home\",\"amount\":999.99,\"quantity\":1,\"payment_method\":\"cash\",\"timestamp\":"
    "\"2024-01-15T10:29:01Z\",\"location\":\"city_3\",\"extra\":[1,{\"a\":null}]}",
    "{\"transaction_id\":\"t5\",\"user_id\":\"user_9\",\"product\":\"Phone\",\"category\":"
    "\"electronics\",\"amount\":1e3,\"quantity\":1,\"payment_method\":\"credit_card\","
    "\"timestamp\":\"2024-01-15T10:31:45\",\"location\":\"city_3\"}",
};

/* Appends to *out the records the uploader sends for one file: the seed's
 * fields (base64 content, MD5 of the whole file), chunk_index/chunk_count
 * when there is more than one chunk.  prefix goes before each line (the
 * files fuzzer's topic choice); skip is a chunk left out (-1: none). */
static void file_records(char **out, size_t *outlen, const char *prefix, const char *name,
                         const char *type, const unsigned char *content, size_t len,
                         size_t chunk, int skip, int bad_hash)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl;
    EVP_Digest(content, len, d, &dl, EVP_md5(), NULL);
    char md5[33];
    for (unsigned i = 0; i < dl; i++)
        sprintf(md5 + 2 * i, "%02x", d[i]);
    if (bad_hash)
        md5[0] = md5[0] == '0' ? '1' : '0';
    size_t n = len <= chunk ? 1 : (len + chunk - 1) / chunk;
    for (size_t i = 0; i < n; i++) {
        if ((int)i == skip)
            continue;
        size_t at = i * chunk, m = len - at < chunk ? len - at : chunk;
        char *b64 = malloc(4 * ((m + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)b64, content + at, (int)m);
        json_t *rec = json_pack("{sssssssIsssssss{sssI}}", "file_id", "document_1705314600_ab12",
                                "filename", name, "file_type", type, "file_size", (json_int_t)len,
                                "file_hash", md5, "upload_timestamp", "2024-01-15T10:30:00.123456",
                                "file_content", b64, "metadata", "mime_type", "text/plain",
                                "size_bytes", (json_int_t)len);
        if (n > 1) {
            json_object_set_new(rec, "chunk_index", json_integer((json_int_t)i));
            json_object_set_new(rec, "chunk_count", json_integer((json_int_t)n));
        }
        char *line = json_dumps(rec, JSON_COMPACT);
        size_t ll = strlen(prefix) + strlen(line) + 1;
        *out = realloc(*out, *outlen + ll + 1);
        sprintf(*out + *outlen, "%s%s\n", prefix, line);
        *outlen += ll;
        free(line);
        free(b64);
        json_decref(rec);
    }
}

static void file_seeds(void)
{
    static const unsigned char text[] =
        "Stream processing treats data as an unbounded sequence of events.\n"
        "Flink keeps keyed state; Kafka keeps the log.\n";
    size_t tl = sizeof text - 1;
    unsigned char bin[300];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 37 + 11);
    struct {
        const char *prefix, *name, *type;
        const unsigned char *data;
        size_t len, chunk;
        int skip, bad;
    } cases[] = {
        {"", "notes.txt", "document", text, tl, 1 << 20, -1, 0},
        {"", "notes.txt", "document", text, tl, 40, -1, 0},  /* three chunks */
        {"2|", "pixels.png", "image", bin, sizeof bin, 128, -1, 0},
        {"1|", "clip.mp4", "video", bin, sizeof bin, 100, 1, 0}, /* a chunk missing */
        {"", "../../etc/passwd", "document", text, tl, 50, -1, 0},
        {"", "corrupt.txt", "document", text, tl, 60, -1, 1},  /* wrong MD5 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *pipe = NULL, *save = NULL;
        size_t pl = 0, sl = 0;
        file_records(&pipe, &pl, cases[i].prefix, cases[i].name, cases[i].type, cases[i].data,
                     cases[i].len, cases[i].chunk, cases[i].skip, cases[i].bad);
        file_records(&save, &sl, "", cases[i].name, cases[i].type, cases[i].data, cases[i].len,
                     cases[i].chunk, cases[i].skip, cases[i].bad);
        put("fuzz_files_pipeline", (int)i, pipe, pl);
        put("fuzz_filesaver", (int)i, save, sl);
        free(pipe);
        free(save);
    }

    /* POST /upload bodies: "BOUNDARY\n" then the multipart body. */
    static const char *const bodies[] = {
        "fuzzXYZ\n--fuzzXYZ\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nStream processing "
        "treats data as an unbounded sequence of events.\n\r\n--fuzzXYZ--\r\n",
        "b\n--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"../../a b.csv\"\r\n"
        "Content-Type: text/csv\r\n\r\nid,amount\n1,754.86\n2,19.99\n\r\n--b--\r\n",
        "fuzzXYZ\n--fuzzXYZ\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"cut.txt\"\r\n\r\nno closing boundary",
        "fuzzXYZ\n--fuzzXYZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\n"
        "no file here\r\n--fuzzXYZ--\r\n",
        "fuzzXYZ\n--fuzzXYZ\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"x.exe\"\r\nContent-Type: application/octet-stream\r\n\r\nMZ\x90\x00\x03"
        "\r\n--fuzzXYZ--\r\n",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        puts_seed("fuzz_multipart", (int)i, bodies[i]);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    mkdir(dir, 0777);
    int n = sizeof txns / sizeof *txns;

    for (int i = 0; i < n; i++)
        puts_seed("fuzz_txn_parse", i, txns[i]);
    puts_seed("fuzz_txn_parse", n, "[1, 2, \"not an object\"]");
    puts_seed("fuzz_txn_parse", n + 1, "{\"transaction_id\": 5}");
    /* the typed path against the JSON path: the same transactions, and shapes near its edges */
    for (int i = 0; i < n; i++)
        puts_seed("fuzz_txn_typed", i, txns[i]);
    puts_seed("fuzz_txn_typed", n,
              "{\"transaction_id\":\"t\",\"user_id\":\"u\",\"product\":\"p\",\"category\":\"books\","
              "\"amount\":1.5e2,\"quantity\":-0,\"payment_method\":\"m\",\"timestamp\":"
              "\"2024-01-15T10:00:00Z\",\"location\":\"l\",\"x\":[1],\"y\":true,\"z\":null}");
    /* jsonr against Jansson: the same transactions, and what the two could judge apart */
    for (int i = 0; i < n; i++)
        puts_seed("fuzz_jsonr", i, txns[i]);
    puts_seed("fuzz_jsonr", n, "{\"a\":1,\"a\":[2,{\"b\":\"\\ud83d\\ude00\"}],\"n\":-0.5e3}");
    puts_seed("fuzz_jsonr", n + 1, "\"scalar\"");

    /* Streams: all records in order, reversed (late ones), and one with
     * dead letters between good records. */
    char stream[8192] = "", rev[8192] = "";
    for (int i = 0; i < n; i++) {
        strcat(stream, txns[i]), strcat(stream, "\n");
        strcat(rev, txns[n - 1 - i]), strcat(rev, "\n");
    }
    puts_seed("fuzz_txn_pipeline", 0, stream);
    puts_seed("fuzz_txn_pipeline", 1, rev);
    char mixed[8192];
    snprintf(mixed, sizeof mixed, "%s\nnot json\n%s\n{\"amount\": -1}\n%s\n", txns[0], txns[1],
             txns[4]);
    puts_seed("fuzz_txn_pipeline", 2, mixed);

    /* Frames: small ones (fast to decode), grey and coloured, one with
     * metadata, and one as processed_video_frames carries it (analysis). */
    static const struct {
        int w, h, q;
        const char *source, *meta;
    } frames[] = {{16, 16, 80, "sample_generator", NULL},
                  {64, 48, 50, "webcam", "{\"camera\": \"cam0\", \"fps\": 30}"},
                  {33, 17, 95, "video_file", NULL},
                  {8, 120, 20, "webcam", NULL}};
    int64_t us = INT64_C(1705314600000000);
    char *frames_txt = NULL; /* every frame, one a line, 20 s apart */
    size_t stream_len = 0;
    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
        int w = frames[i].w, h = frames[i].h;
        uint8_t *rgb = malloc((size_t)w * h * 3);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = rgb + ((size_t)y * w + x) * 3;
                p[0] = (uint8_t)(x * 255 / w), p[1] = (uint8_t)(y * 255 / h),
                p[2] = (uint8_t)(i * 60);
            }
        char err[256];
        size_t len;
        char *rec = vidprod_record(rgb, w, h, frames[i].q, frames[i].source, i,
                                   us + (int64_t)i * 20000000, frames[i].meta, &len, NULL, err,
                                   sizeof err);
        if (!rec) {
            fprintf(stderr, "gen_seeds: %s\n", err);
            return 1;
        }
        put("fuzz_video_parse", (int)i, rec, len);
        put("fuzz_consume_frame", (int)i, rec, len);
        put("fuzz_video_pipeline", (int)i + 1, rec, len);
        frames_txt = realloc(frames_txt, stream_len + len + 1);
        memcpy(frames_txt + stream_len, rec, len);
        frames_txt[stream_len + len] = '\n';
        stream_len += len + 1;
        if (i == 1) {
            /* processed_video_frames: the same with an analysis object. */
            char *p = strrchr(rec, '}');
            char *with = malloc(len + 200);
            int k = snprintf(with, len + 200, "%.*s, \"analysis\": {\"brightness\": 0.42, "
                                              "\"resolution_category\": \"Low\"}}",
                             (int)(p - rec), rec);
            put("fuzz_consume_frame", 10, with, (size_t)k);
            free(with);
        }
        free(rec);
        free(rgb);
    }
    put("fuzz_video_pipeline", 0, frames_txt, stream_len);
    free(frames_txt);
    puts_seed("fuzz_video_parse", 10, "{\"frame_id\": \"f\", \"frame_data\": \"/9j/4AAQ\"}");

    static const char *const times[] = {
        "2024-01-15T10:30:00.123456", "2024-01-15T10:30:00", "2024-02-29 23:59:59.9",
        "2024-01-15T10:30:00Z",       "2024-06-30T12:00:00.5-07:30", "0000-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999999Z", "2023-02-29T00:00:00", "2024-01-15T10:30:00.",
    };
    for (size_t i = 0; i < sizeof times / sizeof *times; i++)
        puts_seed("fuzz_evtime", (int)i, times[i]);

    static const char *const docs[] = {
        "{\"a\": 1, \"b\": [true, false, null], \"c\": {\"d\": \"e\"}}",
        "[0.1, 754.86, 1e300, -2.5e-300, 19.99, 123456789012.34, 1e15, 1e16, -0.0, 3.14159265358979]",
        "[\"q\\\"b\\\\s/n\\nr\\rt\\tb\\bf\\f\", \"caf\\u00e9 \\u2713 \\ud83d\\ude00\", \"\\u0000x\\u001f\\u007f\"]",
        "[9223372036854775807, -9223372036854775808, 0, -1]",
        "{\"total_spent\": 1772148.77, \"transaction_count\": 12, \"nested\": [[[[{}]]], []]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        puts_seed("fuzz_jsonw", (int)i, docs[i]);
    file_seeds();
    return 0;
}
