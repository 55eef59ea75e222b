/* vidproducer.h — sends video frames to the `video_frames` topic in the
 * original's format: frame_id, timestamp, source, frame_data (base64 JPEG),
 * frame_width, frame_height, frame_channels, frame_size_bytes, metadata;
 * keyed by source.  frame_size_bytes is what the original's producer measures,
 * the length of the base64 text; jpeg_bytes (streamlab's own) is the JPEG's
 * byte count.
 *
 * vidprod_run() blocks its thread, which owns the Kafka handle and the frame
 * source; vidprod_stop() and the counters are safe from any thread. */
#ifndef STREAMLAB_VIDPRODUCER_H
#define STREAMLAB_VIDPRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/kafka/kconf.h"
#include "producers/frames.h"

typedef struct vidprod vidprod_t;

typedef struct vidprod_stats {
    uint64_t sent, delivered, failed;
    uint64_t jpeg_bytes; /* JPEG bytes sent (before base64) */
} vidprod_stats_t;

/* Takes ownership of src.  fps: frames per second (0 = as fast as
 * possible); count: stop after this many (0 = until stopped or the source
 * ends); quality: JPEG quality 1-100.  NULL with errstr filled (src is freed). */
vidprod_t *vidprod_new(const kconf_t *k, const char *topic, frames_t *src, double fps,
                       uint64_t count, int quality, char *errstr, size_t errstr_size);
void vidprod_free(vidprod_t *p);

/* Produces until count, the end of the source or vidprod_stop(), then waits
 * up to 30 s for every delivery report.  0, or -1 with errstr filled. */
int vidprod_run(vidprod_t *p, char *errstr, size_t errstr_size);
void vidprod_stop(vidprod_t *p);
void vidprod_stats(const vidprod_t *p, vidprod_stats_t *out);

/* Whether a video file's frame idx (from 0) is sent when sampling one frame per
 * 1/fps seconds of the file's time (native_fps frames a second), as the
 * original's producer does; *next_pick (start at 0) is the sampler's state.
 * fps <= 0: every frame. */
bool vidprod_file_pick(double *next_pick, uint64_t idx, double native_fps, double fps);

/* One frame as the seed's JSON record (malloc'd, NUL-terminated, *len
 * bytes; the caller frees it).  metadata: a JSON object text or NULL ({}).
 * now_us: the wall clock (evtime_now_us) for frame_id and timestamp.
 * NULL with errstr filled when the JPEG encoder fails. */
char *vidprod_record(const uint8_t *rgb, int w, int h, int quality, const char *source,
                     uint64_t frame_number, int64_t now_us, const char *metadata, size_t *len,
                     size_t *jpeg_len, char *errstr, size_t errstr_size);

#endif
