/* fuzz_video_parse.c — video_parse (engine/pipelines/video.c) on any bytes:
 * JSON, then every field, the base64 of frame_data (OpenSSL), the JPEG
 * header and the reduced-scale decode (TurboJPEG).  A frame it accepts is
 * the size it declares and carries brightness/contrast in 0-1. */
#include "engine/pipelines/pipelines.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    int64_t ms = 0;
    char err[256] = "";
    if (video_parse((const char *)data, size, &v, &ms, err, sizeof err, NULL) < 0) {
        FUZZ_CHECK(err[0] != '\0', "rejected without a reason");
        return 0;
    }
    json_int_t w = json_integer_value(json_object_get(v, "frame_width"));
    json_int_t h = json_integer_value(json_object_get(v, "frame_height"));
    FUZZ_CHECK(w > 0 && h > 0 && w <= 65535 && h <= 65535, "accepted %lldx%lld", (long long)w,
               (long long)h);
    json_t *a = json_object_get(v, "analysis");
    double b = json_real_value(json_object_get(a, "brightness"));
    double c = json_real_value(json_object_get(a, "contrast"));
    FUZZ_CHECK(b >= 0 && b <= 1 && c >= 0 && c <= 1, "brightness %g contrast %g", b, c);
    json_decref(v);
    return 0;
}
