/* frames.c — see frames.h.  Files and webcams share one FFmpeg reader: the
 * demuxer (libavformat, or libavdevice's video4linux2 input for /dev/ paths)
 * feeds the decoder, and libswscale turns whatever pixel format comes out
 * into packed RGB at the size asked for. */
#include "producers/frames.h"

#include <dlfcn.h>
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavdevice/version.h> /* the camera input is loaded at run time: load_avdevice */
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/util.h"

enum kind { SYNTHETIC, VIDEO_FILE, WEBCAM };

struct frames {
    enum kind kind;
    frames_opts_t o;
    int w, h;
    uint8_t *rgb;
    uint64_t n;
    /* FFmpeg (files and webcams) */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    struct SwsContext *sws;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;
    double fps;
    bool draining, at_end;
};

/* --- synthetic ------------------------------------------------------------ */

/* 3x5 digits, one row a byte (bit 2 = left column). */
static const uint8_t digits[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
};

static void fill_rect(uint8_t *rgb, int w, int h, int x0, int y0, int rw, int rh, uint8_t r,
                      uint8_t g, uint8_t b)
{
    for (int y = y0 < 0 ? 0 : y0; y < y0 + rh && y < h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x0 + rw && x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = r, p[1] = g, p[2] = b;
        }
}

/* A triangle wave: 0 .. span .. 0 as t grows. */
static int bounce(uint64_t t, int span)
{
    if (span <= 0)
        return 0;
    int m = (int)(t % (uint64_t)(2 * span));
    return m < span ? m : 2 * span - m;
}

void frames_synthetic(uint8_t *rgb, int w, int h, uint64_t n)
{
    for (int y = 0; y < h; y++) {
        uint8_t *row = rgb + (size_t)y * w * 3;
        int g = h > 1 ? y * 255 / (h - 1) : 0;
        for (int x = 0; x < w; x++) {
            row[x * 3] = (uint8_t)((w > 1 ? x * 255 / (w - 1) : 0) + n * 2);
            row[x * 3 + 1] = (uint8_t)g;
            row[x * 3 + 2] = (uint8_t)(160 - g / 2 + (n & 63));
        }
    }
    int side = (w < h ? w : h) / 4;
    if (side < 2)
        side = 2;
    int x = bounce(n * 7, w - side), y = bounce(n * 5, h - side);
    fill_rect(rgb, w, h, x, y, side, side, 255, 255, 255);
    fill_rect(rgb, w, h, x + side / 4, y + side / 4, side / 2, side / 2, 20, 20, 20);
    /* The frame number, top left, in blocky digits on a dark band. */
    char num[24];
    int len = snprintf(num, sizeof num, "%llu", (unsigned long long)n);
    int cell = h / 40 > 1 ? h / 40 : 1;
    fill_rect(rgb, w, h, 0, 0, (len * 4 + 1) * cell, 7 * cell, 0, 0, 0);
    for (int i = 0; i < len; i++)
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++)
                if (digits[num[i] - '0'][r] & (4 >> c))
                    fill_rect(rgb, w, h, (1 + i * 4 + c) * cell, (1 + r) * cell, cell, cell, 255,
                              255, 0);
}

/* --- FFmpeg ---------------------------------------------------------------- */

static void av_err(char *errstr, size_t size, const char *what, const char *spec, int err)
{
    char e[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, e, sizeof e);
    snprintf(errstr, size, "%s %s: %s", what, spec, e);
}

/* libavdevice (the camera input) is loaded when a webcam is opened, not
 * linked: it brings ~100 libraries (libavfilter, pocketsphinx, LAPACK,
 * libgfortran) into every start of the binary, and libquadmath among them
 * registers a printf type at load, which sends every printf of the process
 * down glibc's slow positional path (perf: printf_positional in the
 * console's profile). */
static char avdevice_error[256];

static void load_avdevice_once(void)
{
    char soname[64];
    snprintf(soname, sizeof soname, "libavdevice.so.%d", LIBAVDEVICE_VERSION_MAJOR);
    void *h = dlopen(soname, RTLD_NOW | RTLD_GLOBAL);
    void (*register_all)(void) = NULL;
    if (h)
        *(void **)&register_all = dlsym(h, "avdevice_register_all");
    if (!register_all) {
        snprintf(avdevice_error, sizeof avdevice_error,
                 "the camera input needs %s (Debian: libavdevice59): %s", soname, dlerror());
        return;
    }
    register_all();
}

static int load_avdevice(char *errstr, size_t errstr_size)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, load_avdevice_once);
    if (avdevice_error[0]) {
        snprintf(errstr, errstr_size, "%s", avdevice_error);
        return -1;
    }
    return 0;
}

static int open_av(frames_t *f, const char *spec, char *errstr, size_t errstr_size)
{
    const AVInputFormat *in = NULL;
    AVDictionary *opts = NULL;
    if (f->kind == WEBCAM) {
        if (load_avdevice(errstr, errstr_size) < 0)
            return -1;
        in = av_find_input_format("video4linux2");
        if (!in) {
            snprintf(errstr, errstr_size, "this FFmpeg has no video4linux2 input");
            return -1;
        }
        struct stat st;
        if (stat(spec, &st) < 0) {
            snprintf(errstr, errstr_size, "webcam %s: %s (is a camera connected?)", spec,
                     strerror(errno));
            return -1;
        }
        if (f->o.width > 0 && f->o.height > 0) {
            char size[32];
            snprintf(size, sizeof size, "%dx%d", f->o.width, f->o.height);
            av_dict_set(&opts, "video_size", size, 0);
        }
    }
    av_log_set_level(AV_LOG_QUIET);
    int rc = avformat_open_input(&f->fmt, spec, in, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        if (f->kind == WEBCAM && rc == AVERROR(EBUSY))
            snprintf(errstr, errstr_size, "webcam %s is busy (another program is using it)", spec);
        else
            av_err(errstr, errstr_size, f->kind == WEBCAM ? "cannot open webcam" : "cannot open",
                   spec, rc);
        return -1;
    }
    if ((rc = avformat_find_stream_info(f->fmt, NULL)) < 0) {
        av_err(errstr, errstr_size, "cannot read", spec, rc);
        return -1;
    }
    const AVCodec *codec = NULL;
    f->stream = av_find_best_stream(f->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (f->stream < 0 || !codec) {
        snprintf(errstr, errstr_size, "%s has no video stream FFmpeg can decode", spec);
        return -1;
    }
    AVStream *st = f->fmt->streams[f->stream];
    f->dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(f->dec, st->codecpar);
    if ((rc = avcodec_open2(f->dec, codec, NULL)) < 0) {
        av_err(errstr, errstr_size, "cannot open the decoder of", spec, rc);
        return -1;
    }
    AVRational r = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    f->fps = r.num && r.den ? av_q2d(r) : 30;
    if (f->fps <= 0 || f->fps > 1000)
        f->fps = 30;
    f->w = f->o.width > 0 ? f->o.width : f->dec->width;
    f->h = f->o.height > 0 ? f->o.height : f->dec->height;
    if (f->w <= 0 || f->h <= 0) {
        snprintf(errstr, errstr_size, "%s: the video has no frame size", spec);
        return -1;
    }
    f->pkt = av_packet_alloc();
    f->frame = av_frame_alloc();
    return 0;
}

/* Decodes the next frame into f->frame: 1, 0 at the end, -1 on an error. */
static int decode_next(frames_t *f, char *errstr, size_t errstr_size)
{
    for (;;) {
        int rc = avcodec_receive_frame(f->dec, f->frame);
        if (rc == 0)
            return 1;
        if (rc == AVERROR_EOF)
            return 0;
        if (rc != AVERROR(EAGAIN)) {
            av_err(errstr, errstr_size, "decoding", "the video", rc);
            return -1;
        }
        if (f->draining)
            return 0;
        rc = av_read_frame(f->fmt, f->pkt);
        if (rc == AVERROR_EOF || (rc < 0 && f->kind == VIDEO_FILE && avio_feof(f->fmt->pb))) {
            f->draining = true;
            avcodec_send_packet(f->dec, NULL); /* flush the frames it holds */
            continue;
        }
        if (rc == AVERROR(EAGAIN))
            continue;
        if (rc < 0) {
            av_err(errstr, errstr_size, "reading", "the video", rc);
            return -1;
        }
        if (f->pkt->stream_index == f->stream)
            rc = avcodec_send_packet(f->dec, f->pkt);
        av_packet_unref(f->pkt);
        if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_INVALIDDATA) {
            av_err(errstr, errstr_size, "decoding", "the video", rc);
            return -1;
        }
    }
}

static int rewind_file(frames_t *f)
{
    if (av_seek_frame(f->fmt, f->stream, 0, AVSEEK_FLAG_BACKWARD) < 0 &&
        avformat_seek_file(f->fmt, -1, INT64_MIN, 0, INT64_MAX, 0) < 0)
        return -1;
    avcodec_flush_buffers(f->dec);
    f->draining = false;
    return 0;
}

/* --- the source -------------------------------------------------------------- */

frames_t *frames_open(const char *spec, const frames_opts_t *o, char *errstr, size_t errstr_size)
{
    frames_t *f = xcalloc(1, sizeof *f);
    f->o = *o;
    if ((o->width > 0) != (o->height > 0) || o->width < 0 || o->height < 0 || o->width > 8192 ||
        o->height > 8192) {
        snprintf(errstr, errstr_size, "give both a width and a height, 1-8192 (got %dx%d)",
                 o->width, o->height);
        free(f);
        return NULL;
    }
    if (!strcmp(spec, "synthetic")) {
        f->kind = SYNTHETIC;
        f->w = o->width > 0 ? o->width : 640;
        f->h = o->height > 0 ? o->height : 480;
        f->fps = 30;
    } else {
        f->kind = !strncmp(spec, "/dev/", 5) ? WEBCAM : VIDEO_FILE;
        if (f->kind == VIDEO_FILE) {
            struct stat st;
            if (stat(spec, &st) < 0) {
                snprintf(errstr, errstr_size, "%s: %s", spec, strerror(errno));
                free(f);
                return NULL;
            }
        }
        if (open_av(f, spec, errstr, errstr_size) < 0) {
            frames_free(f);
            return NULL;
        }
    }
    f->rgb = xmalloc((size_t)f->w * f->h * 3);
    return f;
}

void frames_free(frames_t *f)
{
    if (!f)
        return;
    sws_freeContext(f->sws);
    av_frame_free(&f->frame);
    av_packet_free(&f->pkt);
    avcodec_free_context(&f->dec);
    avformat_close_input(&f->fmt);
    free(f->rgb);
    free(f);
}

const char *frames_source_name(const frames_t *f)
{
    return f->kind == SYNTHETIC ? "sample_generator" : f->kind == WEBCAM ? "webcam" : "video_file";
}

double frames_native_fps(const frames_t *f) { return f->fps; }

int64_t frames_total(const frames_t *f)
{
    if (f->kind != VIDEO_FILE)
        return 0;
    return f->fmt->streams[f->stream]->nb_frames;
}

int frames_next(frames_t *f, const uint8_t **rgb, int *w, int *h, char *errstr,
                size_t errstr_size)
{
    if (f->kind == SYNTHETIC) {
        frames_synthetic(f->rgb, f->w, f->h, f->n++);
    } else {
        int rc = decode_next(f, errstr, errstr_size);
        if (rc == 0 && f->kind == VIDEO_FILE && f->o.loop && f->n > 0) {
            if (rewind_file(f) < 0) {
                snprintf(errstr, errstr_size, "cannot seek back to the start to loop");
                return -1;
            }
            rc = decode_next(f, errstr, errstr_size);
        }
        if (rc <= 0)
            return rc;
        AVFrame *fr = f->frame;
        f->sws = sws_getCachedContext(f->sws, fr->width, fr->height, fr->format, f->w, f->h,
                                      AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
        if (!f->sws) {
            snprintf(errstr, errstr_size, "cannot convert %dx%d %s frames to RGB", fr->width,
                     fr->height, av_get_pix_fmt_name(fr->format));
            return -1;
        }
        uint8_t *dst[4] = {f->rgb};
        int dst_stride[4] = {f->w * 3};
        sws_scale(f->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst,
                  dst_stride);
        av_frame_unref(fr);
        f->n++;
    }
    *rgb = f->rgb;
    *w = f->w;
    *h = f->h;
    return 1;
}
