/* fuzzlib.h — what the libFuzzer targets in tests/fuzz share.
 *
 * Each target is one LLVMFuzzerTestOneInput over bytes from outside
 * (a Kafka record value, a timestamp, a JSON document).  A target aborts
 * (FUZZ_CHECK) when an invariant it can see is broken, so that libFuzzer
 * keeps the input like any other crash. */
#ifndef STREAMLAB_FUZZLIB_H
#define STREAMLAB_FUZZLIB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond, ...)                                                                     \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz invariant broken: %s: ", #cond);                                \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* A df_host_t emit that checks every record a sink writes is one JSON value
 * (what every consumer of our topics expects) and drops it. */
static inline void fuzz_emit_check_json(void *opaque, const char *topic, const char *key,
                                        size_t keylen, char *payload, size_t len)
{
    (void)opaque, (void)key, (void)keylen;
    json_error_t je;
    json_t *v = json_loadb(payload, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    FUZZ_CHECK(v != NULL, "%s got a record that is not JSON (%s): %.*s", topic, je.text,
               (int)(len > 300 ? 300 : len), payload);
    json_decref(v);
    free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
