/* fuzz_txn_parse.c — txn_parse (engine/pipelines/transactions.c) on any
 * bytes: it must give a valid transaction or an error message, never crash;
 * what it accepts has every field with its type and a finite amount. */
#include <math.h>
#include <string.h>

#include "engine/pipelines/pipelines.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    int64_t ms = 0;
    char err[256] = "";
    if (txn_parse((const char *)data, size, &v, &ms, err, sizeof err, NULL) < 0) {
        FUZZ_CHECK(err[0] != '\0', "rejected without a reason");
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "unterminated reason");
        return 0;
    }
    FUZZ_CHECK(json_is_object(v), "accepted a non-object");
    double amount = -1;
    FUZZ_CHECK(df_json_number(json_object_get(v, "amount"), &amount), "amount is not a number");
    FUZZ_CHECK(isfinite(amount) && amount >= 0, "accepted amount %g", amount);
    FUZZ_CHECK(json_is_string(json_object_get(v, "user_id")), "user_id");
    FUZZ_CHECK(json_is_string(json_object_get(v, "category")), "category");
    json_decref(v);
    return 0;
}
