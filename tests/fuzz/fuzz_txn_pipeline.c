/* fuzz_txn_pipeline.c — the whole transaction pipeline graph fed arbitrary
 * bytes through df_graph_push, one record per line, so that the filter,
 * map, reduce, windows (tumbling, sliding, session, late), the console's
 * view and the sinks all see whatever txn_parse lets through.  Every record
 * any sink writes (dead letters included) must be JSON.
 *
 * The input's size picks one of four configurations (size % 4), so that
 * mutations explore all of them while a seed stays plain JSON lines.  A new
 * graph per input: no state leaks from one input to the next. */
#include <string.h>

#include "engine/pipelines/pipelines.h"
#include "tui/taps.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pipeline_params_t params;
    pipeline_params_init(&params);
    params.workers = 1;
    switch (size % 4) {
    case 0: break; /* the defaults: 30 s tumbling windows */
    case 1:
        params.window_slide_ms = 10000;
        params.allowed_lateness_ms = 5000;
        break;
    case 2:
        params.session_gap_ms = 10000;
        params.state_ttl_ms = 60000;
        break;
    case 3:
        params.processing_time = true;
        params.allowed_lateness_ms = 2000;
        break;
    }
    txn_view_t *view = size % 2 ? view_new(params.window_ms) : NULL;
    console_views_t views = {.txn = view, .params = &params};
    params.tap = view ? console_tap : NULL;
    params.tap_ctx = &views;
    df_host_t host = {.emit = fuzz_emit_check_json, .opaque = NULL};
    df_graph_t *g = pipeline_transactions(&host, &params);

    const char *p = (const char *)data, *end = p + size;
    int64_t now = 1705314600000, offset = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        FUZZ_CHECK(df_graph_push(g, "transactions", (int32_t)(offset % 3), offset, p, len, now),
                   "the graph did not take a record of its own topic");
        offset++;
        now += 1000;
        if (offset % 4 == 0)
            df_graph_tick(g, now);
        p += len + (nl != NULL);
    }
    df_graph_tick(g, now + 60000);
    df_graph_finish(g);
    df_graph_free(g);
    if (view) {
        view_snapshot_t snap;
        view_snapshot(view, VIEW_SORT_TOTAL, &snap);
        view_free(view);
    }
    return 0;
}
