/* fuzz_txn_typed.c — the typed transaction path against the JSON path on any
 * bytes (tests/txn_paths.h): the same accept or refuse, the same reason, the
 * same event time, the same text before and after map:discount. */
#include "../txn_paths.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    txn_paths_t p = txn_paths_compare((const char *)data, size);
    FUZZ_CHECK(p.same_result, "typed %d, JSON path %d", p.typed, p.json_ok);
    FUZZ_CHECK(p.same_error, "reasons differ (JSON path: %s)", p.err);
    if (p.json_ok) {
        FUZZ_CHECK(p.same_time, "event times differ");
        FUZZ_CHECK(p.same_text, "texts differ");
        FUZZ_CHECK(p.same_as_json, "to_json differs");
    }
    return 0;
}
