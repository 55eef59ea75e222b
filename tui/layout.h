/* layout.h — where the six panes go for a terminal size.  Pure, testable. */
#ifndef STREAMLAB_LAYOUT_H
#define STREAMLAB_LAYOUT_H

#define LAYOUT_PANES 6
#define LAYOUT_MIN_COLS 80
#define LAYOUT_MIN_ROWS 24

typedef struct rect {
    int y, x, h, w;
} rect_t;

/* Fills out[6] for a cols x rows terminal: row 0 is the title bar and the last
 * row the status line; panes tile the rest (3 columns x 2 rows when wide,
 * 2 x 3 otherwise).  zoom is a pane index (0-5) to fill the whole area, or -1.
 * Returns 0, or -1 when the terminal is smaller than 80x24. */
int layout_compute(int cols, int rows, int zoom, rect_t out[LAYOUT_PANES]);

#endif
