/* imgcodec.h — JPEG and base64 for video frames (libjpeg-turbo's TurboJPEG
 * API and OpenSSL's EVP base64), shared by the producer, the video pipeline,
 * the consumer and the console.
 *
 * Pure functions, thread-safe: each call makes its own TurboJPEG handle, so
 * nothing is shared between the engine's worker graphs. */
#ifndef STREAMLAB_IMGCODEC_H
#define STREAMLAB_IMGCODEC_H

#include <stddef.h>
#include <stdint.h>

/* Encodes w x h packed RGB (3 bytes a pixel, rows of 3*w bytes) at quality
 * 1-100 (4:2:0).  Returns 0 with *jpeg (malloc'd, the caller frees it) and
 * *len, or -1 with errstr filled. */
int imgcodec_jpeg_encode(const uint8_t *rgb, int w, int h, int quality, uint8_t **jpeg,
                         size_t *len, char *errstr, size_t errstr_size);

/* Reads a JPEG's dimensions without decoding it.  0, or -1 with errstr
 * filled (not a JPEG, truncated header). */
int imgcodec_jpeg_size(const uint8_t *jpeg, size_t len, int *w, int *h, char *errstr,
                       size_t errstr_size);

/* Decodes a JPEG scaled down so that it fits in max_w x max_h (0 = no limit)
 * using TurboJPEG's DCT scaling (1/2 .. 1/8, cheap), as RGB (channels 3) or
 * luma (channels 1).  Returns 0 with *pixels (malloc'd, the caller frees it),
 * *w and *h, or -1 with errstr filled. */
int imgcodec_jpeg_decode(const uint8_t *jpeg, size_t len, int channels, int max_w, int max_h,
                         uint8_t **pixels, int *w, int *h, char *errstr, size_t errstr_size);

/* Base64 (RFC 4648, padded, no line breaks).  Encode returns a malloc'd,
 * NUL-terminated string the caller frees, *outlen its length. */
char *imgcodec_b64_encode(const uint8_t *data, size_t len, size_t *outlen);
/* Decodes text (len bytes); returns malloc'd bytes (caller frees) and *outlen,
 * or NULL when text is not valid padded base64. */
uint8_t *imgcodec_b64_decode(const char *text, size_t len, size_t *outlen);

#endif
