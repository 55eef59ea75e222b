/* app.h — the console: state shared by the app loop (app.c) and the panes
 * (panes.c).  Everything here belongs to the TUI thread. */
#ifndef STREAMLAB_APP_H
#define STREAMLAB_APP_H

#include <curses.h>
#include <stdbool.h>

#include "tui/session.h"
#include "tui/vidview.h"
#include "tui/views.h"
#include "tui/frameart.h"
#include "tui/layout.h"

typedef struct app app_t;

/* What a pane's key handler answers (htop-style flags). */
enum { PANE_IGNORED = 0, PANE_HANDLED = 1, PANE_REDRAW = 2 };

/* Colour pairs (monochrome terminals get attributes instead). */
enum { C_TITLE = 1, C_FOCUS, C_HIGH, C_PASSED, C_DIM, C_WARN, C_BAR, C_HINT };
/* Video frames: pairs C_VIDEO + 0..7, the eight colours on black. */
enum { C_VIDEO = 16 };

typedef struct pane {
    const struct pane_class *cls;
    int index; /* 0-5 */
    WINDOW *win;
    rect_t r;
} pane_t;

typedef struct pane_class {
    const char *title;
    const char *keys; /* the keys that matter here, for the status line */
    /* Draws the pane's content inside its border (no I/O, no locks). */
    void (*draw)(pane_t *p, app_t *a);
    /* A key the main bindings left over, or one the pane wants first. */
    int (*on_key)(pane_t *p, app_t *a, int key);
} pane_class_t;

extern const pane_class_t pane_classes[LAYOUT_PANES];

struct app {
    session_t *session;
    session_status_t st;   /* this frame's copy */
    view_snapshot_t *view; /* this frame's copy (kept while paused) */
    fileview_snapshot_t *files; /* this frame's copy of the uploads */
    bool paused, colors, quit;
    int focus, zoom;   /* zoom: pane index or -1 */
    enum view_sort sort;
    char filter[64];   /* feed filter text */
    char message[600]; /* shown on the status line for a few seconds */
    int64_t message_until;
    bool message_plain; /* news, not a warning: drawn without the warning colour */
    char upload_name[96]; /* an upload asked for with u, until its outcome is on the status line */
    pane_t panes[LAYOUT_PANES];
    /* Pane 4: the newest processed frame, decoded once per new frame. */
    vidview_snapshot_t video;
    bool video_colors; /* enough colour pairs for C_VIDEO */
    uint8_t *video_rgb;
    int video_w, video_h;
    uint64_t video_rgb_seq;
    double video_fps_in, video_fps_out; /* frames/s parsed and processed */
    uint64_t video_prev_seen, video_prev_processed;
    int64_t video_prev_ms;
    frameart_t *art; /* and its last rendering, kept while frame and size stay */
    const frameart_cell_t *art_cells;
    uint64_t art_seq;
    int art_cols, art_rows;
    /* The learning overlays (walkthrough.c, inspector.c, dashboard.c). */
    struct walkthrough *walk;  /* made on the first w */
    struct inspector *insp;    /* made on the first i */
    struct groupdemo *group;   /* the walkthrough's demo consumer group (c) */
    bool dashboard;            /* d: the engine dashboard instead of the panes */
    struct flinkmon *flink;    /* --flink URL: the poller of Flink's REST API, or NULL */
    struct flinkmon_snap *flink_snap; /* its copy for this frame (when flink) */
};

/* Attribute for a colour pair, or a monochrome stand-in. */
int app_attr(const app_t *a, int pair);

/* streamlab --walkthrough: open with the walkthrough shown. */
void app_set_walkthrough_on_open(bool on);

/* Runs the console until q; returns the exit status. */
int app_run(const session_opts_t *o);

#endif
