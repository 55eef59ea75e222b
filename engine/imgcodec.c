/* imgcodec.c — see imgcodec.h. */
#include "engine/imgcodec.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "engine/util.h"

int imgcodec_jpeg_encode(const uint8_t *rgb, int w, int h, int quality, uint8_t **jpeg,
                         size_t *len, char *errstr, size_t errstr_size)
{
    tjhandle tj = tjInitCompress();
    if (!tj) {
        snprintf(errstr, errstr_size, "TurboJPEG: %s", tjGetErrorStr());
        return -1;
    }
    unsigned char *buf = NULL;
    unsigned long size = 0;
    int rc = tjCompress2(tj, rgb, w, w * 3, h, TJPF_RGB, &buf, &size, TJSAMP_420,
                         quality < 1 ? 1 : quality > 100 ? 100 : quality, TJFLAG_FASTDCT);
    if (rc < 0) {
        snprintf(errstr, errstr_size, "JPEG encoding failed: %s", tjGetErrorStr2(tj));
        tjFree(buf);
        tjDestroy(tj);
        return -1;
    }
    /* Hand the caller plain malloc'd memory, not TurboJPEG's allocator's. */
    *jpeg = xmalloc(size);
    memcpy(*jpeg, buf, size);
    *len = size;
    tjFree(buf);
    tjDestroy(tj);
    return 0;
}

int imgcodec_jpeg_size(const uint8_t *jpeg, size_t len, int *w, int *h, char *errstr,
                       size_t errstr_size)
{
    if (len < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) {
        snprintf(errstr, errstr_size, "not a JPEG (no SOI marker)");
        return -1;
    }
    tjhandle tj = tjInitDecompress();
    if (!tj) {
        snprintf(errstr, errstr_size, "TurboJPEG: %s", tjGetErrorStr());
        return -1;
    }
    int sub, cs;
    *w = *h = 0;
    int rc = tjDecompressHeader3(tj, jpeg, len, w, h, &sub, &cs);
    if (rc < 0) {
        snprintf(errstr, errstr_size, "not a readable JPEG: %s", tjGetErrorStr2(tj));
    } else if (*w <= 0 || *h <= 0) {
        /* A tables-only stream (SOI, tables, EOI): TurboJPEG says yes but
         * leaves the size alone.  Found by tests/fuzz/fuzz_video_parse. */
        snprintf(errstr, errstr_size, "not a readable JPEG: no image in it (tables only)");
        rc = -1;
    }
    tjDestroy(tj);
    return rc < 0 ? -1 : 0;
}

int imgcodec_jpeg_decode(const uint8_t *jpeg, size_t len, int channels, int max_w, int max_h,
                         uint8_t **pixels, int *w, int *h, char *errstr, size_t errstr_size)
{
    if (len < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) {
        snprintf(errstr, errstr_size, "not a JPEG (no SOI marker)");
        return -1;
    }
    tjhandle tj = tjInitDecompress();
    if (!tj) {
        snprintf(errstr, errstr_size, "TurboJPEG: %s", tjGetErrorStr());
        return -1;
    }
    int fw = 0, fh = 0, sub, cs;
    if (tjDecompressHeader3(tj, jpeg, len, &fw, &fh, &sub, &cs) < 0) {
        snprintf(errstr, errstr_size, "not a readable JPEG: %s", tjGetErrorStr2(tj));
        tjDestroy(tj);
        return -1;
    }
    if (fw <= 0 || fh <= 0) { /* tables only: see imgcodec_jpeg_size */
        snprintf(errstr, errstr_size, "not a readable JPEG: no image in it (tables only)");
        tjDestroy(tj);
        return -1;
    }
    /* The largest scaling factor (they come largest first) that fits. */
    int n;
    tjscalingfactor *sf = tjGetScalingFactors(&n), best = {1, 1};
    for (int i = 0; i < n; i++) {
        if (sf[i].num > sf[i].denom)
            continue;
        int sw = TJSCALED(fw, sf[i]), sh = TJSCALED(fh, sf[i]);
        best = sf[i];
        if ((max_w <= 0 || sw <= max_w) && (max_h <= 0 || sh <= max_h))
            break;
    }
    int sw = TJSCALED(fw, best), sh = TJSCALED(fh, best);
    uint8_t *out = xmalloc((size_t)sw * sh * channels);
    if (tjDecompress2(tj, jpeg, len, out, sw, sw * channels, sh,
                      channels == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_FASTDCT) < 0 &&
        tjGetErrorCode(tj) == TJERR_FATAL) {
        snprintf(errstr, errstr_size, "JPEG decoding failed: %s", tjGetErrorStr2(tj));
        free(out);
        tjDestroy(tj);
        return -1;
    }
    /* A warning (e.g. a truncated tail) still gives an image: keep it. */
    tjDestroy(tj);
    *pixels = out;
    *w = sw;
    *h = sh;
    return 0;
}

char *imgcodec_b64_encode(const uint8_t *data, size_t len, size_t *outlen)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    out[n] = '\0';
    if (outlen)
        *outlen = (size_t)n;
    return out;
}

uint8_t *imgcodec_b64_decode(const char *text, size_t len, size_t *outlen)
{
    if (len == 0 || len % 4 || len > (size_t)1 << 30)
        return NULL;
    uint8_t *out = xmalloc(len / 4 * 3 + 1);
    int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
    if (n < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    if (text[len - 1] == '=')
        n--;
    if (text[len - 2] == '=')
        n--;
    *outlen = (size_t)n;
    return out;
}
