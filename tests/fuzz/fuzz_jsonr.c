/* fuzz_jsonr.c — jsonr_load (engine/jsonr.c, yajl) against Jansson's
 * json_loadb on any bytes, with each flag set the engine uses: the same value
 * (compared as dumped text, so key order counts) or, when the fast path
 * refuses, Jansson's own answer. */
#include <string.h>

#include "engine/jsonr.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t flags[] = {0, JSON_REJECT_DUPLICATES,
                                   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        json_t *fast = jsonr_loadb((const char *)data, size, flags[i]);
        json_t *slow = json_loadb((const char *)data, size, flags[i], NULL);
        if (fast) {
            FUZZ_CHECK(slow != NULL, "yajl took what Jansson refuses (flags %zu)", flags[i]);
            char *a = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
            char *b = json_dumps(slow, JSON_COMPACT | JSON_ENCODE_ANY);
            FUZZ_CHECK(a && b && !strcmp(a, b), "different values: %s vs %s", a, b);
            free(a);
            free(b);
        }
        json_decref(fast);
        json_decref(slow);
    }
    return 0;
}
