/* test_frameart.c — frames as ASCII art through libcaca (tui/frameart): a
 * frame black on its left half and white on its right gives dark cells on
 * the left of the canvas and bright ones on the right, in colour and in
 * monochrome; the text export has one line per row. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tui/frameart.h"
#include "testlib.h"

static uint8_t *halves(int w, int h)
{
    uint8_t *rgb = calloc((size_t)w * h * 3, 1);
    for (int y = 0; y < h; y++)
        memset(rgb + ((size_t)y * w + w / 2) * 3, 255, (size_t)(w - w / 2) * 3);
    return rgb;
}

/* Mean brightness of the cells in columns [x0, x1). */
static double mean_brightness(const frameart_cell_t *c, int cols, int rows, int x0, int x1)
{
    double sum = 0;
    for (int y = 0; y < rows; y++)
        for (int x = x0; x < x1; x++)
            sum += frameart_cell_brightness(c[y * cols + x]);
    return sum / ((double)rows * (x1 - x0));
}

static void check_halves(bool color)
{
    int w = 320, h = 240, cols = 40, rows = 12;
    uint8_t *rgb = halves(w, h);
    frameart_t *fa = frameart_new();
    const frameart_cell_t *c = frameart_render(fa, rgb, w, h, cols, rows, color);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* The outer quarters: the dither blurs the middle. */
    double left = mean_brightness(c, cols, rows, 0, cols / 4);
    double right = mean_brightness(c, cols, rows, cols * 3 / 4, cols);
    CU_ASSERT(left < 0.1);
    CU_ASSERT(right > 0.6);
    for (int y = 0; y < rows; y++) {
        CU_ASSERT(frameart_cell_brightness(c[y * cols]) < 0.1);
        CU_ASSERT(frameart_cell_brightness(c[y * cols + cols - 1]) > 0.6);
        CU_ASSERT_NOT_EQUAL(c[y * cols + cols - 1].ch, ' ');
    }
    frameart_free(fa);
    free(rgb);
}

static void test_black_left_white_right_gives_dark_then_bright_cells_in_colour(void)
{
    check_halves(true);
}

static void test_black_left_white_right_gives_dark_then_bright_chars_in_monochrome(void)
{
    check_halves(false);
}

static void test_text_export_has_a_line_per_row(void)
{
    uint8_t *rgb = halves(64, 32);
    frameart_t *fa = frameart_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(frameart_render(fa, rgb, 64, 32, 20, 5, false));
    size_t len;
    char *t = frameart_text(fa, false, &len);
    CU_ASSERT_EQUAL(len, 21 * 5);
    CU_ASSERT_EQUAL(strlen(t), len);
    for (int y = 0; y < 5; y++) {
        CU_ASSERT_EQUAL(t[y * 21 + 20], '\n');
        CU_ASSERT_EQUAL(t[y * 21], ' ');
        CU_ASSERT_NOT_EQUAL(t[y * 21 + 19], ' ');
    }
    free(t);
    t = frameart_text(fa, true, &len);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\033["));
    free(t);
    frameart_free(fa);
    free(rgb);
}

static void test_render_refuses_empty_sizes(void)
{
    uint8_t px[3] = {0};
    frameart_t *fa = frameart_new();
    CU_ASSERT_PTR_NULL(frameart_render(fa, px, 1, 1, 0, 5, true));
    CU_ASSERT_PTR_NULL(frameart_render(fa, px, 0, 1, 5, 5, true));
    CU_ASSERT_PTR_NOT_NULL(frameart_render(fa, px, 1, 1, 1, 1, true));
    frameart_free(fa);
}

static CU_TestInfo tests[] = {
    {"test_black_left_white_right_gives_dark_then_bright_cells_in_colour",
     test_black_left_white_right_gives_dark_then_bright_cells_in_colour},
    {"test_black_left_white_right_gives_dark_then_bright_chars_in_monochrome",
     test_black_left_white_right_gives_dark_then_bright_chars_in_monochrome},
    {"test_text_export_has_a_line_per_row", test_text_export_has_a_line_per_row},
    {"test_render_refuses_empty_sizes", test_render_refuses_empty_sizes},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("frameart", tests, NULL, NULL)
