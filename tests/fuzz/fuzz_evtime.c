/* fuzz_evtime.c — evtime_parse (engine/evtime.c) on any bytes.  What it
 * accepts must format back (evtime_format) to a timestamp that parses to
 * the same wall-clock millisecond, when the year still has 4 digits (a zone
 * can push 0000-01-01 or 9999-12-31 across). */
#include <string.h>

#include "engine/evtime.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ms;
    if (evtime_parse((const char *)data, size, &ms) < 0)
        return 0;
    char buf[EVTIME_BUFSIZE];
    evtime_format(ms, buf);
    if (strlen(buf) != 26 || buf[0] == '-')
        return 0;
    int64_t again = -1;
    FUZZ_CHECK(evtime_parse(buf, strlen(buf), &again) == 0, "cannot parse its own \"%s\"", buf);
    FUZZ_CHECK(again == ms, "\"%s\" is %lld, was %lld", buf, (long long)again, (long long)ms);
    return 0;
}
