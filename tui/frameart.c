/* frameart.c — see frameart.h. */
#include "tui/frameart.h"

#include <caca.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

struct frameart {
    caca_canvas_t *cv;
    caca_dither_t *dither;
    int w, h, cols, rows;
    frameart_cell_t *cells;
    uint8_t *grey; /* the frame turned grey (monochrome) */
};

frameart_t *frameart_new(void) { return xcalloc(1, sizeof(frameart_t)); }

void frameart_free(frameart_t *fa)
{
    if (!fa)
        return;
    if (fa->dither)
        caca_free_dither(fa->dither);
    if (fa->cv)
        caca_free_canvas(fa->cv);
    free(fa->cells);
    free(fa->grey);
    free(fa);
}

static int setup(frameart_t *fa, int w, int h, int cols, int rows)
{
    if (fa->cv && fa->w == w && fa->h == h && fa->cols == cols && fa->rows == rows)
        return 0;
    if (fa->dither)
        caca_free_dither(fa->dither);
    if (fa->cv)
        caca_free_canvas(fa->cv);
    fa->dither = NULL;
    fa->cv = caca_create_canvas(cols, rows);
    if (!fa->cv)
        return -1;
    /* Packed R, G, B bytes: on a little-endian machine red is the low byte. */
    uint32_t one = 1;
    bool le = *(uint8_t *)&one == 1;
    fa->dither = caca_create_dither(24, w, h, 3 * w, le ? 0x0000ff : 0xff0000, 0x00ff00,
                                    le ? 0xff0000 : 0x0000ff, 0);
    if (!fa->dither)
        return -1;
    caca_set_dither_charset(fa->dither, "ascii");
    caca_set_dither_color(fa->dither, "16");
    caca_set_dither_antialias(fa->dither, "prefilter");
    fa->w = w, fa->h = h, fa->cols = cols, fa->rows = rows;
    fa->cells = xrealloc(fa->cells, (size_t)cols * rows * sizeof *fa->cells);
    fa->grey = xrealloc(fa->grey, (size_t)w * h * 3);
    return 0;
}

const frameart_cell_t *frameart_render(frameart_t *fa, const uint8_t *rgb, int w, int h, int cols,
                                       int rows, bool color)
{
    if (w <= 0 || h <= 0 || cols <= 0 || rows <= 0 || setup(fa, w, h, cols, rows) < 0)
        return NULL;
    const uint8_t *src = rgb;
    if (!color) {
        size_t n = (size_t)w * h;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = rgb + i * 3;
            uint8_t y = (uint8_t)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
            fa->grey[i * 3] = fa->grey[i * 3 + 1] = fa->grey[i * 3 + 2] = y;
        }
        src = fa->grey;
    }
    caca_clear_canvas(fa->cv);
    caca_dither_bitmap(fa->cv, 0, 0, cols, rows, fa->dither, src);
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            uint32_t ch = caca_get_char(fa->cv, x, y);
            uint8_t fg = caca_attr_to_ansi_fg(caca_get_attr(fa->cv, x, y));
            fa->cells[y * cols + x] = (frameart_cell_t){
                .ch = ch >= 32 && ch < 127 ? (char)ch : ' ', .fg = fg < 16 ? fg : 7};
        }
    return fa->cells;
}

char *frameart_text(frameart_t *fa, bool ansi, size_t *len)
{
    if (!fa->cv) {
        *len = 0;
        return xstrdup("");
    }
    if (ansi) {
        size_t n = 0;
        void *mem = caca_export_canvas_to_memory(fa->cv, "ansi", &n);
        if (mem) {
            char *out = xmalloc(n + 1);
            memcpy(out, mem, n);
            out[n] = '\0';
            free(mem);
            *len = n;
            return out;
        }
    }
    size_t n = (size_t)(fa->cols + 1) * fa->rows;
    char *out = xmalloc(n + 1), *p = out;
    for (int y = 0; y < fa->rows; y++) {
        for (int x = 0; x < fa->cols; x++)
            *p++ = fa->cells[y * fa->cols + x].ch;
        *p++ = '\n';
    }
    *p = '\0';
    *len = n;
    return out;
}

double frameart_cell_brightness(frameart_cell_t c)
{
    /* libcaca's ASCII ramp, least ink first. */
    static const char ramp[] = " .:;t%SX@8?";
    const char *at = strchr(ramp, c.ch);
    double ink = c.ch == ' ' ? 0 : at ? (double)(at - ramp) / (sizeof ramp - 2) : 0.5;
    /* Colour brightness: black 0, dark colours 0.5, light grey 0.75, dark
     * grey 0.4, bright colours 0.85, white 1. */
    static const double lum[16] = {0,   0.5, 0.5,  0.5,  0.5,  0.5,  0.5,  0.75,
                                    0.4, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 1};
    return ink * lum[c.fg & 15];
}
