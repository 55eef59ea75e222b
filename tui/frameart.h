/* frameart.h — a video frame as ASCII art, through libcaca: the picture is
 * dithered into a canvas of cols x rows character cells (ASCII characters,
 * 16 colours on black).  The console copies the cells into a pane (colours
 * to ncurses pairs); `consume --ascii` prints them as ANSI or plain text.
 *
 * One frameart belongs to one thread; it keeps libcaca's canvas and dither
 * between frames of the same size. */
#ifndef STREAMLAB_FRAMEART_H
#define STREAMLAB_FRAMEART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct frameart frameart_t;

/* One character cell.  fg is a libcaca colour, 0-15 in its (DOS) order:
 * black, blue, green, cyan, red, magenta, brown, light grey, then the bright
 * ones; the background is black. */
typedef struct frameart_cell {
    char ch;
    uint8_t fg;
} frameart_cell_t;

frameart_t *frameart_new(void);
void frameart_free(frameart_t *fa);

/* Renders w x h packed RGB into cols x rows cells.  color false: the picture
 * is turned to grey first, so that the characters alone carry the
 * brightness (monochrome terminals).  Returns the cells (owned by fa, valid
 * until the next call), or NULL when a size is not positive. */
const frameart_cell_t *frameart_render(frameart_t *fa, const uint8_t *rgb, int w, int h, int cols,
                                       int rows, bool color);

/* The last rendering as text: ANSI colour escapes (ansi true) or plain
 * characters, one line per row.  Malloc'd and NUL-terminated; the caller frees it. */
char *frameart_text(frameart_t *fa, bool ansi, size_t *len);

/* How bright a cell looks, 0 (blank) to 1: the character's ink times its
 * colour's brightness.  For tests and for choosing monochrome attributes. */
double frameart_cell_brightness(frameart_cell_t c);

#endif
