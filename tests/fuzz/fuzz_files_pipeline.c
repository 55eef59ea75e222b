/* fuzz_files_pipeline.c — the file pipeline graph (engine/pipelines/files.c)
 * fed arbitrary bytes as upload chunk records, one record per line, so that
 * files_parse, the reassembly (base64 through OpenSSL, MD5/SHA-256, missing
 * and repeated chunks, the idle timeout), the analysis, the size filter and
 * the windows see whatever the parser lets through.  Every record any sink
 * writes (dead letters included) must be JSON.
 *
 * A line "1|{...}" goes to uploaded_videos, "2|{...}" to uploaded_images,
 * anything else to uploaded_documents (whole, prefix included): seeds put
 * each record in its own type's topic, mutations reach the mismatches.  A
 * new graph per input: no state leaks from one input to the next. */
#include <string.h>

#include "engine/pipelines/pipelines.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const topics[] = {"uploaded_documents", "uploaded_videos",
                                         "uploaded_images"};
    pipeline_params_t params;
    pipeline_params_init(&params);
    params.workers = 1;
    atomic_store(&params.file_min_bytes, size % 2 ? 0.0 : 1024.0);
    params.file_chunk_timeout_ms = 5000;
    df_host_t host = {.emit = fuzz_emit_check_json, .opaque = NULL};
    df_graph_t *g = pipeline_files(&host, &params);

    const char *p = (const char *)data, *end = p + size;
    int64_t now = 1705314600000, offset = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *rec = p, *topic = topics[0];
        size_t reclen = len;
        if (len >= 2 && (p[0] == '1' || p[0] == '2') && p[1] == '|') {
            topic = topics[p[0] - '0'];
            rec += 2;
            reclen -= 2;
        }
        FUZZ_CHECK(df_graph_push(g, topic, (int32_t)(offset % 2), offset, rec, reclen, now),
                   "the graph did not take a record of its own topic");
        offset++;
        now += 1000;
        if (offset % 3 == 0)
            df_graph_tick(g, now);
        p += len + (nl != NULL);
    }
    df_graph_tick(g, now + 60000);
    df_graph_finish(g);
    df_graph_free(g);
    return 0;
}
