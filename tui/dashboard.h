/* dashboard.h — the engine dashboard (d): each running pipeline drawn as a
 * graph of its operators (source -> filter -> map -> key_by -> window ->
 * sinks) with per-operator in/out counts and rates, watermarks, late and DLQ
 * counts; each job's workers, queue fill (backpressure) and latency; and the
 * per-partition lag of the console's consumer groups.  It replaces the six
 * panes while shown and reads only the frame's copies in app_t.
 * TUI thread only. */
#ifndef STREAMLAB_DASHBOARD_H
#define STREAMLAB_DASHBOARD_H

#include <stdbool.h>

#include "tui/app.h"

/* Draws over the panes' area (rows 1 .. LINES-2). */
void dashboard_draw(app_t *a);
/* Keys while shown (Esc and d close it): true when handled. */
bool dashboard_key(app_t *a, int key);

#endif
