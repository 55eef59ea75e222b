/* uploader.c — see uploader.h.
 *
 * A file is read twice: once to hash it (file_hash must be in every chunk,
 * the first included), once to send it.  The second pass hashes again, so a
 * file that changed in between fails instead of landing with a wrong hash.
 * Only one chunk (and its base64) is in memory at a time; librdkafka holds at
 * most the pacing window of unacknowledged ones. */
#include "producers/uploader.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/evtime.h"
#include "engine/kafka/kafka.h"
#include "engine/util.h"

typedef struct slot {
    int64_t bytes;  /* raw file bytes in this record */
    int64_t offset; /* -1 until delivered */
    int32_t partition;
    rd_kafka_resp_err_t err;
    bool done;
} slot_t;

struct uploader {
    const kconf_t *k;
    upload_opts_t o;
    rd_kafka_t *prod;
    rd_kafka_t *pace[UPLOAD_MAX_PACE_GROUPS];
    _Atomic bool cancel;
};

void upload_opts_init(upload_opts_t *o)
{
    *o = (upload_opts_t){.pace_groups = {"streamlab-engine"}, .npace = 1,
                         .window_bytes = 3 * 1024 * 1024, .pace_timeout_ms = 60000,
                         .chunk_bytes = UPLOAD_CHUNK_BYTES};
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    slot_t *s = m->_private;
    s->err = m->err;
    s->offset = m->err ? -1 : m->offset;
    s->partition = m->partition;
    s->done = true;
}

uploader_t *uploader_new(const kconf_t *k, const upload_opts_t *o, char *errstr,
                         size_t errstr_size)
{
    static const char *const defaults[] = {
        "acks", "all", "enable.idempotence", "true", "linger.ms", "5",
        "partitioner", "murmur2_random", "message.max.bytes", "1000000", NULL};
    if (o->topic && (strlen(o->topic) >= sizeof ((upload_result_t *)0)->topic || !o->topic[0])) {
        snprintf(errstr, errstr_size, "the topic name \"%.40s...\" is empty or longer than %zu "
                                      "characters", o->topic,
                 sizeof ((upload_result_t *)0)->topic - 1);
        return NULL;
    }
    uploader_t *u = xcalloc(1, sizeof *u);
    u->k = k;
    u->o = *o;
    if (u->o.chunk_bytes == 0 || u->o.chunk_bytes % 3)
        u->o.chunk_bytes = UPLOAD_CHUNK_BYTES;
    u->prod = kafka_client(k, RD_KAFKA_PRODUCER, defaults, u, on_delivery, errstr, errstr_size);
    if (!u->prod)
        goto fail;
    for (size_t i = 0; i < o->npace; i++) {
        /* Never subscribed: these only ask for the group's committed offsets. */
        const char *cd[] = {"group.id", o->pace_groups[i], "enable.auto.commit", "false", NULL};
        u->pace[i] = kafka_client(k, RD_KAFKA_CONSUMER, cd, NULL, NULL, errstr, errstr_size);
        if (!u->pace[i])
            goto fail;
    }
    return u;
fail:
    uploader_free(u);
    return NULL;
}

void uploader_free(uploader_t *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < UPLOAD_MAX_PACE_GROUPS; i++)
        if (u->pace[i])
            rd_kafka_destroy(u->pace[i]);
    if (u->prod) {
        rd_kafka_flush(u->prod, 5000);
        rd_kafka_destroy(u->prod);
    }
    free(u);
}

void uploader_cancel(uploader_t *u) { atomic_store(&u->cancel, true); }

void upload_clean_name(const char *name, char *out, size_t outsize)
{
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    /* Control characters and bytes that are not UTF-8 become '_' (the name
     * goes into JSON, which takes only valid UTF-8); a character that does
     * not fit is left out whole, never cut. */
    size_t o = 0, len = strlen(base);
    for (size_t i = 0; i < len;) {
        size_t n = util_utf8_char(base + i, len - i);
        if (o + (n ? n : 1) + 1 > outsize)
            break;
        if (n == 1 && ((unsigned char)base[i] < 0x20 || base[i] == 0x7f))
            out[o++] = '_';
        else if (n == 0)
            out[o++] = '_';
        else
            memcpy(out + o, base + i, n), o += n;
        i += n ? n : 1;
    }
    out[o] = '\0';
    if (!strcmp(out, ".") || !strcmp(out, "..") || !out[0])
        snprintf(out, outsize, "unnamed");
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* MD5 and SHA-256 of the whole file. */
static int hash_file(int fd, char md5[33], char sha[65], char *errstr, size_t errstr_size)
{
    EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
    EVP_DigestInit_ex(a, EVP_md5(), NULL);
    EVP_DigestInit_ex(b, EVP_sha256(), NULL);
    unsigned char *buf = xmalloc(1 << 20);
    ssize_t n;
    while ((n = read(fd, buf, 1 << 20)) > 0) {
        EVP_DigestUpdate(a, buf, (size_t)n);
        EVP_DigestUpdate(b, buf, (size_t)n);
    }
    free(buf);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl;
    EVP_DigestFinal_ex(a, d, &dl);
    hex(d, dl, md5);
    EVP_DigestFinal_ex(b, d, &dl);
    hex(d, dl, sha);
    EVP_MD_CTX_free(a);
    EVP_MD_CTX_free(b);
    if (n < 0) {
        snprintf(errstr, errstr_size, "reading the file: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* "<type>_<ms since epoch>" as the original; unique within this process. */
static void make_file_id(const char *type, char *out, size_t size)
{
    static _Atomic int64_t last;
    int64_t ms = util_wall_ms(), prev = atomic_load(&last);
    for (;;) {
        int64_t want = ms > prev ? ms : prev + 1;
        if (atomic_compare_exchange_weak(&last, &prev, want)) {
            ms = want;
            break;
        }
    }
    snprintf(out, size, "%s_%lld", type, (long long)ms);
}

/* The slowest paced group's committed offset on topic/partition: -1 when a
 * group has none yet; 0 with *out, or -1 if a group could not be asked. */
static int committed_min(uploader_t *u, const char *topic, int32_t partition, int64_t *out)
{
    int64_t min = INT64_MAX;
    for (size_t i = 0; i < u->o.npace; i++) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, partition);
        rd_kafka_resp_err_t err = rd_kafka_committed(u->pace[i], l, 5000);
        int64_t off = err ? -2 : l->elems[0].err ? -2 : l->elems[0].offset;
        rd_kafka_topic_partition_list_destroy(l);
        if (off == -2)
            return -1;
        if (off < 0)
            off = -1;
        if (off < min)
            min = off;
    }
    *out = min;
    return 0;
}

typedef struct sendstate {
    uploader_t *u;
    const char *topic;
    slot_t *slots;
    int64_t produced, chunks;
    int64_t committed;       /* slowest paced group, -1: nothing yet */
    int64_t last_move_ms;    /* when it last moved */
    int64_t last_query_ms;
    upload_progress_fn progress;
    void *opaque;
    int64_t size, reported;
} sendstate_t;

/* Serves delivery reports; fails on a failed one.  Reports progress. */
static int settle(sendstate_t *s, char *errstr, size_t errstr_size)
{
    rd_kafka_poll(s->u->prod, 0);
    int64_t done = 0;
    for (int64_t i = 0; i < s->produced; i++) {
        if (s->slots[i].done && s->slots[i].err) {
            snprintf(errstr, errstr_size, "chunk %lld of %lld was not delivered: %s",
                     (long long)i, (long long)s->chunks, rd_kafka_err2str(s->slots[i].err));
            return -1;
        }
        if (s->slots[i].done)
            done += s->slots[i].bytes;
    }
    if (s->progress && done != s->reported) {
        s->reported = done;
        s->progress(s->opaque, done, s->size);
    }
    return 0;
}

/* Bytes of this upload that the slowest paced group has not read yet. */
static int64_t unread_bytes(const sendstate_t *s)
{
    int64_t n = 0;
    for (int64_t i = 0; i < s->produced; i++)
        if (!s->slots[i].done || s->slots[i].offset >= s->committed)
            n += s->slots[i].bytes ? s->slots[i].bytes : 1;
    return n;
}

/* Waits while more than `allowed` bytes are unread (pacing), checking that
 * the broker has not dropped what the groups have not read yet. */
static int pace(sendstate_t *s, int64_t allowed, char *errstr, size_t errstr_size)
{
    uploader_t *u = s->u;
    for (;;) {
        if (atomic_load(&u->cancel)) {
            snprintf(errstr, errstr_size, "cancelled");
            return -1;
        }
        if (settle(s, errstr, errstr_size) < 0)
            return -1;
        if (u->o.npace == 0 || unread_bytes(s) <= allowed)
            return 0;
        int64_t now = util_mono_ms();
        if (now - s->last_query_ms >= 100 && s->slots[0].done) {
            s->last_query_ms = now;
            int32_t part = s->slots[0].partition;
            int64_t c, lo = -1, hi = -1;
            if (committed_min(u, s->topic, part, &c) == 0 && c != s->committed) {
                s->committed = c;
                s->last_move_ms = now;
            }
            if (kafka_watermarks(u->prod, s->topic, part, &lo, &hi, 5000) == 0) {
                for (int64_t i = 0; i < s->produced; i++)
                    if (s->slots[i].done && s->slots[i].offset >= s->committed &&
                        s->slots[i].offset < lo) {
                        snprintf(errstr, errstr_size,
                                 "chunk %lld (%s [%d] @%lld) was dropped by the broker's retention "
                                 "before group %s read it; the upload is incomplete",
                                 (long long)i, s->topic, (int)part,
                                 (long long)s->slots[i].offset, u->o.pace_groups[0]);
                        return -1;
                    }
            }
            if (now - s->last_move_ms > u->o.pace_timeout_ms) {
                snprintf(errstr, errstr_size,
                         "group %s%s read nothing of %s [%d] for %lld s; is `streamlab engine "
                         "--pipelines files` running? (--pace none sends without waiting)",
                         u->o.pace_groups[0], u->o.npace > 1 ? " (or another paced group)" : "",
                         s->topic, (int)part, (long long)(u->o.pace_timeout_ms / 1000));
                return -1;
            }
        }
        rd_kafka_poll(u->prod, 20);
    }
}

int uploader_send_file(uploader_t *u, const char *path, const char *name,
                       upload_progress_fn progress, void *opaque, upload_result_t *res,
                       char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof *res);
    upload_clean_name(name ? name : path, res->filename, sizeof res->filename);
    filemeta_kind_t kind;
    char mime[128];
    if (filemeta_detect(path, res->filename, &kind, mime, sizeof mime, errstr, errstr_size) < 0)
        return -1;
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(errstr, errstr_size, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (u->o.max_bytes > 0 && st.st_size > u->o.max_bytes) {
        snprintf(errstr, errstr_size, "%s is %lld bytes, more than the limit of %lld",
                 res->filename, (long long)st.st_size, (long long)u->o.max_bytes);
        close(fd);
        return -1;
    }
    if (hash_file(fd, res->md5, res->sha256, errstr, errstr_size) < 0) {
        close(fd);
        return -1;
    }
    res->size = st.st_size;
    res->file_type = filemeta_kind_name(kind);
    snprintf(res->topic, sizeof res->topic, "%s",
             u->o.topic ? u->o.topic : filemeta_kind_topic(kind));
    make_file_id(res->file_type, res->file_id, sizeof res->file_id);

    json_t *meta = filemeta_extract(path, kind, mime);
    json_object_set_new(meta, "sha256", json_string(res->sha256));
    char ts[EVTIME_BUFSIZE];
    evtime_format_us(evtime_now_us(), ts);
    snprintf(res->upload_timestamp, sizeof res->upload_timestamp, "%s", ts);
    size_t chunk = u->o.chunk_bytes;
    int64_t nchunks = st.st_size <= (off_t)chunk ? 1 : (st.st_size + chunk - 1) / chunk;
    /* The seed's field order; chunks add chunk_index and chunk_count. */
    json_t *rec = json_pack("{sssssssIsssssssO}", "file_id", res->file_id, "filename",
                            res->filename, "file_type", res->file_type, "file_size",
                            (json_int_t)st.st_size, "file_hash", res->md5, "upload_timestamp", ts,
                            "file_content", "", "metadata", meta);
    json_decref(meta);
    if (!rec) { /* every string is valid UTF-8 by now; this is a bug, said plainly */
        snprintf(errstr, errstr_size, "%s: its record could not be made as JSON", path);
        close(fd);
        return -1;
    }
    if (nchunks > 1) {
        /* A chunk carries its bytes in chunk_content and no file_content: a
         * client of the original reads file_content, and must not save a chunk
         * as the whole file (it skips the record, or fails on it loudly). */
        json_object_del(rec, "file_content");
        json_object_set_new(rec, "chunk_index", json_integer(0));
        json_object_set_new(rec, "chunk_count", json_integer(nchunks));
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(u->prod, res->topic, NULL);
    sendstate_t s = {.u = u, .topic = res->topic, .slots = xcalloc(nchunks, sizeof(slot_t)),
                     .chunks = nchunks, .committed = -1, .last_move_ms = util_mono_ms(),
                     .progress = progress, .opaque = opaque, .size = st.st_size, .reported = -1};
    unsigned char *raw = xmalloc(chunk);
    char *b64 = xmalloc(4 * ((chunk + 2) / 3) + 1);
    EVP_MD_CTX *again = EVP_MD_CTX_new();
    EVP_DigestInit_ex(again, EVP_md5(), NULL);
    int rc = -1;
    lseek(fd, 0, SEEK_SET);
    for (int64_t i = 0; i < nchunks; i++) {
        size_t got = 0;
        ssize_t n;
        while (got < chunk && (n = read(fd, raw + got, chunk - got)) > 0)
            got += (size_t)n;
        if (got < chunk && i < nchunks - 1) {
            snprintf(errstr, errstr_size, "%s got shorter while it was being sent", path);
            goto out;
        }
        EVP_DigestUpdate(again, raw, got);
        EVP_EncodeBlock((unsigned char *)b64, raw, (int)got);
        json_object_set_new(rec, nchunks > 1 ? "chunk_content" : "file_content", json_string(b64));
        if (nchunks > 1)
            json_object_set_new(rec, "chunk_index", json_integer(i));
        size_t len;
        char *payload = json_dumps(rec, JSON_COMPACT);
        len = strlen(payload);
        s.slots[i] = (slot_t){.bytes = (int64_t)got, .offset = -1};
        rd_kafka_resp_err_t err =
            kafka_produce_wait(u->prod, rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_FREE, payload,
                               len, res->filename, strlen(res->filename), &s.slots[i], NULL);
        if (err) {
            snprintf(errstr, errstr_size, "producing chunk %lld: %s", (long long)i,
                     rd_kafka_err2str(err));
            free(payload);
            goto out;
        }
        s.produced = i + 1;
        /* The first record decides the partition; wait for it before pacing. */
        while (i == 0 && !s.slots[0].done && !atomic_load(&u->cancel))
            rd_kafka_poll(u->prod, 10);
        if (pace(&s, u->o.window_bytes, errstr, errstr_size) < 0)
            goto out;
    }
    rd_kafka_flush(u->prod, 60000);
    if (settle(&s, errstr, errstr_size) < 0)
        goto out;
    for (int64_t i = 0; i < nchunks; i++)
        if (!s.slots[i].done) {
            snprintf(errstr, errstr_size, "chunk %lld of %lld was not acknowledged within 60 s",
                     (long long)i, (long long)nchunks);
            goto out;
        }
    /* A chunked upload is done once the paced groups have read all of it, so
     * that the next upload's chunks cannot push its tail out of the log. */
    if (nchunks > 1 && pace(&s, 0, errstr, errstr_size) < 0)
        goto out;
    if (u->o.npace == 0 && nchunks > 1) {
        int64_t lo = -1, hi = -1;
        if (kafka_watermarks(u->prod, res->topic, s.slots[0].partition, &lo, &hi, 5000) == 0 &&
            lo > s.slots[0].offset) {
            snprintf(errstr, errstr_size,
                     "the broker's retention dropped the first chunks (log start %lld > %lld) "
                     "before the upload ended; pace it on the reading group (--pace GROUP)",
                     (long long)lo, (long long)s.slots[0].offset);
            goto out;
        }
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl;
    char md5[33];
    EVP_DigestFinal_ex(again, d, &dl);
    hex(d, dl, md5);
    if (strcmp(md5, res->md5)) {
        snprintf(errstr, errstr_size, "%s changed while it was being sent", path);
        goto out;
    }
    res->partition = s.slots[0].partition;
    res->first_offset = s.slots[0].offset;
    res->last_offset = s.slots[nchunks - 1].offset;
    res->chunks = nchunks;
    rc = 0;
out:
    if (rc < 0) /* nothing may point at the slots any more */
        rd_kafka_purge(u->prod, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(u->prod, 10000);
    rd_kafka_poll(u->prod, 0);
    EVP_MD_CTX_free(again);
    free(raw);
    free(b64);
    free(s.slots);
    rd_kafka_topic_destroy(rkt);
    json_decref(rec);
    close(fd);
    return rc;
}
