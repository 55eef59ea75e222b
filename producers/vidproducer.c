/* vidproducer.c — see vidproducer.h.  Pacing as in txproducer.c: frames due
 * = fps x elapsed since the last rate change.  A frame is encoded only when
 * it is due, so a slow source or encoder lowers the rate instead of piling up. */
#include "producers/vidproducer.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/imgcodec.h"
#include "engine/kafka/kafka.h"
#include "engine/util.h"

struct vidprod {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    frames_t *src;
    uint64_t count;
    int quality;
    _Atomic double fps;
    _Atomic bool stop;
    _Atomic uint64_t sent, delivered, failed, jpeg_bytes;
    char error[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    vidprod_t *p = opaque;
    if (m->err) {
        atomic_fetch_add(&p->failed, 1);
        if (!p->error[0])
            snprintf(p->error, sizeof p->error, "%s", rd_kafka_err2str(m->err));
    } else {
        atomic_fetch_add(&p->delivered, 1);
    }
}

vidprod_t *vidprod_new(const kconf_t *k, const char *topic, frames_t *src, double fps,
                       uint64_t count, int quality, char *errstr, size_t errstr_size)
{
    /* Frames are big: small batches, a bounded queue, and room for HD frames. */
    static const char *const defaults[] = {
        "acks", "all", "enable.idempotence", "true", "linger.ms", "5",
        "queue.buffering.max.kbytes", "65536", "message.max.bytes", "1000000",
        "partitioner", "murmur2_random", NULL};
    vidprod_t *p = xcalloc(1, sizeof *p);
    p->rk = kafka_client(k, RD_KAFKA_PRODUCER, defaults, p, on_delivery, errstr, errstr_size);
    if (!p->rk) {
        frames_free(src);
        free(p);
        return NULL;
    }
    p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    p->src = src;
    p->count = count;
    p->quality = quality;
    atomic_init(&p->fps, fps);
    return p;
}

void vidprod_free(vidprod_t *p)
{
    if (!p)
        return;
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
    frames_free(p->src);
    free(p);
}

void vidprod_stop(vidprod_t *p) { atomic_store(&p->stop, true); }

void vidprod_stats(const vidprod_t *p, vidprod_stats_t *out)
{
    out->sent = atomic_load(&p->sent);
    out->delivered = atomic_load(&p->delivered);
    out->failed = atomic_load(&p->failed);
    out->jpeg_bytes = atomic_load(&p->jpeg_bytes);
}

char *vidprod_record(const uint8_t *rgb, int w, int h, int quality, const char *source,
                     uint64_t frame_number, int64_t now_us, const char *metadata, size_t *len,
                     size_t *jpeg_len, char *errstr, size_t errstr_size)
{
    uint8_t *jpeg;
    size_t jlen, blen;
    if (imgcodec_jpeg_encode(rgb, w, h, quality, &jpeg, &jlen, errstr, errstr_size) < 0)
        return NULL;
    char *b64 = imgcodec_b64_encode(jpeg, jlen, &blen);
    free(jpeg);
    char ts[EVTIME_BUFSIZE];
    evtime_format_us(now_us, ts);
    /* Built by hand: frame_data is base64 (nothing to escape) and large, so
     * this saves a copy through Jansson; source is one of three fixed names. */
    const char *meta = metadata ? metadata : "{}";
    size_t cap = blen + strlen(meta) + strlen(source) + 512;
    char *out = xmalloc(cap);
    int n = snprintf(out, cap,
                     "{\"frame_id\":\"frame_%llu_%lld\",\"timestamp\":\"%s\",\"source\":\"%s\","
                     "\"frame_data\":\"%s\",\"frame_width\":%d,\"frame_height\":%d,"
                     "\"frame_channels\":3,\"frame_size_bytes\":%zu,\"jpeg_bytes\":%zu,"
                     "\"metadata\":%s}",
                     (unsigned long long)frame_number, (long long)(util_wall_ms()), ts, source,
                     b64, w, h, blen, jlen, meta);
    free(b64);
    *len = (size_t)n;
    if (jpeg_len)
        *jpeg_len = jlen;
    return out;
}

bool vidprod_file_pick(double *next_pick, uint64_t idx, double native_fps, double fps)
{
    if (fps <= 0 || native_fps <= 0)
        return true; /* flat out, or a rate unknown: every frame */
    if ((double)idx + 1e-9 < *next_pick)
        return false;
    *next_pick += native_fps / fps; /* the file's frames per interval */
    if (*next_pick < (double)idx + 1e-9) /* the rate went up: no catching up on old frames */
        *next_pick = (double)idx + native_fps / fps;
    return true;
}

/* The metadata object: what made the frame. */
static char *metadata_text(const vidprod_t *p, uint64_t n, uint64_t source_frame, int w, int h)
{
    json_t *m = json_pack("{sIsIsisfs[ii]}", "frame_number", (json_int_t)n, "source_frame",
                          (json_int_t)source_frame, "quality", p->quality, "source_fps",
                          frames_native_fps(p->src), "encoded_size", w, h);
    char *s = json_dumps(m, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(m);
    return s;
}

int vidprod_run(vidprod_t *p, char *errstr, size_t errstr_size)
{
    double fps = atomic_load(&p->fps);
    int64_t epoch_us = util_mono_us();
    uint64_t sent_at_epoch = 0;
    const char *source = frames_source_name(p->src);
    bool is_file = !strcmp(source, "video_file");
    double next_pick = 0;
    uint64_t read_idx = 0; /* frames read from the source so far */
    int rc = 0;
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        uint64_t sent = atomic_load(&p->sent);
        if (p->count && sent >= p->count)
            break;
        double r = atomic_load(&p->fps);
        if (r != fps) {
            fps = r;
            epoch_us = util_mono_us();
            sent_at_epoch = sent;
        }
        if (fps > 0) {
            double due = (util_mono_us() - epoch_us) * fps / 1e6;
            if ((double)(sent - sent_at_epoch) >= due + 1) {
                rd_kafka_poll(p->rk, 1);
                continue;
            }
        }
        /* A video file is sampled as the original does: one frame per interval
         * (1/fps) of the file's own time; the frames between are skipped. */
        const uint8_t *rgb;
        int w, h, got;
        for (;;) {
            got = frames_next(p->src, &rgb, &w, &h, errstr, errstr_size);
            if (got <= 0 || !is_file ||
                vidprod_file_pick(&next_pick, read_idx, frames_native_fps(p->src), fps))
                break;
            read_idx++;
        }
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0)
            break; /* the end of the file */
        char *meta = metadata_text(p, sent, read_idx++, w, h);
        size_t len, jlen;
        char *rec = vidprod_record(rgb, w, h, p->quality, source, sent, evtime_now_us(), meta,
                                   &len, &jlen, errstr, errstr_size);
        free(meta);
        if (!rec) {
            rc = -1;
            break;
        }
        rd_kafka_resp_err_t err = kafka_produce_wait(p->rk, p->rkt, RD_KAFKA_PARTITION_UA,
                                                     RD_KAFKA_MSG_F_FREE, rec, len, source,
                                                     strlen(source), NULL, &p->stop);
        if (err && err != RD_KAFKA_RESP_ERR__INTR) {
            snprintf(errstr, errstr_size, "producing: %s", rd_kafka_err2str(err));
            rc = -1;
        }
        if (err) {
            free(rec);
            break;
        }
        atomic_fetch_add(&p->jpeg_bytes, jlen);
        atomic_store(&p->sent, sent + 1);
        rd_kafka_poll(p->rk, 0);
    }
    rd_kafka_flush(p->rk, 30000);
    if (rc)
        return rc;
    uint64_t outstanding = (uint64_t)rd_kafka_outq_len(p->rk);
    if (outstanding) {
        snprintf(errstr, errstr_size, "%llu frames still undelivered after 30 s",
                 (unsigned long long)outstanding);
        return -1;
    }
    if (atomic_load(&p->failed)) {
        snprintf(errstr, errstr_size, "%llu deliveries failed: %s",
                 (unsigned long long)atomic_load(&p->failed), p->error);
        return -1;
    }
    return 0;
}
