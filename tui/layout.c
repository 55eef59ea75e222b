/* layout.c — see layout.h. */
#include "tui/layout.h"

int layout_compute(int cols, int rows, int zoom, rect_t out[LAYOUT_PANES])
{
    if (cols < LAYOUT_MIN_COLS || rows < LAYOUT_MIN_ROWS)
        return -1;
    int top = 1, h = rows - 2; /* title bar, status line */
    if (zoom >= 0 && zoom < LAYOUT_PANES) {
        for (int i = 0; i < LAYOUT_PANES; i++)
            out[i] = (rect_t){0, 0, 0, 0};
        out[zoom] = (rect_t){top, 0, h, cols};
        return 0;
    }
    int ncols = cols >= 150 ? 3 : 2, nrows = LAYOUT_PANES / ncols;
    for (int i = 0; i < LAYOUT_PANES; i++) {
        int c = i % ncols, r = i / ncols;
        int x0 = cols * c / ncols, x1 = cols * (c + 1) / ncols;
        int y0 = h * r / nrows, y1 = h * (r + 1) / nrows;
        out[i] = (rect_t){top + y0, x0, y1 - y0, x1 - x0};
    }
    return 0;
}
