/* fuzz_video_pipeline.c — the whole video pipeline graph fed arbitrary
 * bytes through df_graph_push, one record per line: video_parse, then (the
 * size filter set to 1x1 so that whatever parses goes on) the analysis and
 * enrichment maps, the per-source reduce, the resolution windows, the
 * console's view and the sinks.  Every record a sink writes must be JSON.
 * A new graph per input. */
#include <string.h>

#include "engine/pipelines/pipelines.h"
#include "tui/taps.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pipeline_params_t params;
    pipeline_params_init(&params);
    params.workers = 1;
    atomic_store(&params.video_min_width, 1);
    atomic_store(&params.video_min_height, 1);
    if (size % 2)
        params.window_slide_ms = 10000;
    vidview_t *view = vidview_new();
    console_views_t views = {.video = view, .params = &params};
    params.tap = console_tap;
    params.tap_ctx = &views;
    df_host_t host = {.emit = fuzz_emit_check_json, .opaque = NULL};
    df_graph_t *g = pipeline_video(&host, &params);

    const char *p = (const char *)data, *end = p + size;
    int64_t now = 1705314600000, offset = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        FUZZ_CHECK(df_graph_push(g, "video_frames", (int32_t)(offset % 2), offset, p, len, now),
                   "the graph did not take a record of its own topic");
        offset++;
        now += 1000;
        p += len + (nl != NULL);
    }
    df_graph_tick(g, now + 60000);
    df_graph_finish(g);
    df_graph_free(g);
    vidview_snapshot_t snap = {0}; /* it keeps its frame buffer between calls */
    vidview_snapshot(view, &snap);
    vidview_snapshot_release(&snap);
    vidview_free(view);
    return 0;
}
