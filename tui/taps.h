/* taps.h — the console's views, attached to the pipelines as a tap.
 *
 * A pipeline calls its host's tap (pipeline_params_t.tap) at named points
 * ("view:feed", "view:users", ...) with the record there; console_tap turns
 * each into the view's own figures (views.h, vidview.h, fileview.h).  It runs
 * on the job's worker threads; the views take their own locks. */
#ifndef STREAMLAB_TAPS_H
#define STREAMLAB_TAPS_H

#include "engine/pipelines/pipelines.h"
#include "tui/fileview.h"
#include "tui/vidview.h"
#include "tui/views.h"

typedef struct console_views {
    txn_view_t *txn;                 /* each may be NULL */
    vidview_t *video;
    fileview_t *files;
    const pipeline_params_t *params; /* the thresholds the feed marks records by */
} console_views_t;

/* A df_tap_fn: ctx is a console_views_t that outlives the pipelines. */
void console_tap(void *ctx, const char *point, const df_record_t *r);

#endif
