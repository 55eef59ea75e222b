/* frames.h — where video frames come from: a synthetic generator, a video
 * file (FFmpeg's libavformat/libavcodec, scaled with libswscale) or a V4L2
 * webcam (libavdevice).  Every source hands out packed RGB frames.
 *
 * A source belongs to one thread (the producer's). */
#ifndef STREAMLAB_FRAMES_H
#define STREAMLAB_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct frames frames_t;

typedef struct frames_opts {
    int width, height; /* output size; 0 = the source's own (synthetic: 640x480) */
    bool loop;         /* a file starts again at its end */
} frames_opts_t;

/* Opens spec: "synthetic", a device path under /dev/ (a webcam), or a video
 * file.  NULL with errstr filled (no such file, not a video, device missing
 * or busy). */
frames_t *frames_open(const char *spec, const frames_opts_t *o, char *errstr, size_t errstr_size);
void frames_free(frames_t *f);

/* The source name the records carry: sample_generator, video_file or webcam. */
const char *frames_source_name(const frames_t *f);
/* Frames per second the source runs at (the file's rate; 30 for the others). */
double frames_native_fps(const frames_t *f);
/* Frames in a file when its container says so, else 0. */
int64_t frames_total(const frames_t *f);

/* The next frame: 1 with *rgb (owned by the source, valid until the next
 * call), *w and *h; 0 at the end of a file (and not looping); -1 on an error
 * (errstr filled). */
int frames_next(frames_t *f, const uint8_t **rgb, int *w, int *h, char *errstr,
                size_t errstr_size);

/* Draws synthetic frame number n into rgb (w x h): a colour gradient that
 * drifts, a bouncing square and the frame number, so motion shows. */
void frames_synthetic(uint8_t *rgb, int w, int h, uint64_t n);

#endif
