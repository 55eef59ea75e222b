/* fuzz_jsonw.c — the serializer round trip: any JSON Jansson parses,
 * jsonw_dumps (engine/jsonw.c, the sinks' fast writer) must write byte for
 * byte what json_dumps(v, DF_JSON_FLAGS) writes (tests/test_jsonw.c holds
 * it to that on generated values; this holds it on whatever parses). */
#include <string.h>

#include "engine/dataflow.h"
#include "engine/jsonw.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return 0;
    /* json_dumps writes only objects and arrays without JSON_ENCODE_ANY;
     * sinks only ever write objects. */
    char *want = json_dumps(v, DF_JSON_FLAGS);
    if (want) {
        size_t len = 0;
        char *got = jsonw_dumps(v, &len);
        FUZZ_CHECK(len == strlen(want) && !memcmp(want, got, len),
                   "jsonw differs from Jansson:\n  jansson: %s\n  jsonw:   %.*s", want, (int)len,
                   got);
        free(got);
        free(want);
    }
    json_decref(v);
    return 0;
}
