/* vidview.h — what the console shows of the video pipeline: the newest
 * processed frame (its JPEG as base64, as it travelled) with its analysis,
 * frame counters, and the newest fired 30 s window per resolution category.
 *
 * The pipeline's view sinks write here on the engine's threads; the TUI thread
 * copies a snapshot out.  Both hold the mutex only for a copy (the frame is a
 * few tens of kilobytes), never across decoding or I/O. */
#ifndef STREAMLAB_VIDVIEW_H
#define STREAMLAB_VIDVIEW_H

#include <stddef.h>
#include <stdint.h>

#define VIDVIEW_CATEGORIES 4 /* HD, HD_Ready, SD, Low */

typedef struct vidview_window {
    char category[16];
    int64_t start_ms, end_ms; /* wall-clock ms (evtime.h) */
    int64_t frames, bytes;
    double avg_brightness;
} vidview_window_t;

typedef struct vidview_snapshot {
    uint64_t seen, processed; /* frames parsed, frames past the filter */
    uint64_t seq;             /* processed-frame number of the frame below (0: none yet) */
    char source[32], category[16], frame_id[64];
    int width, height;
    double brightness, contrast, compression_ratio;
    char *frame_b64; /* the frame's base64 JPEG, malloc'd; see vidview_snapshot */
    size_t frame_len;
    vidview_window_t windows[VIDVIEW_CATEGORIES];
    int nwindows;
    uint64_t windows_fired;
} vidview_snapshot_t;

typedef struct vidview vidview_t;

vidview_t *vidview_new(void);
void vidview_free(vidview_t *v);

/* Engine threads. */
void vidview_on_input(vidview_t *v);
/* A processed frame: copies what it needs (b64 is the frame_data text). */
void vidview_on_frame(vidview_t *v, const char *source, const char *frame_id, int w, int h,
                      const char *category, double brightness, double contrast,
                      double compression_ratio, const char *b64, size_t b64_len);
void vidview_on_window(vidview_t *v, const vidview_window_t *w);

/* TUI thread: fills out.  The frame is copied only when it is newer than
 * out->seq; out keeps its frame_b64 buffer between calls (free it with
 * vidview_snapshot_release). */
void vidview_snapshot(vidview_t *v, vidview_snapshot_t *out);
void vidview_snapshot_release(vidview_snapshot_t *s);

#endif
