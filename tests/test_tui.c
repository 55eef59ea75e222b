/* test_tui.c — the console's pure parts: layout, number formatting, the keymap.
 *
 * layout_compute: every terminal size from the brief tiles the area between the
 * title row and the status row exactly (each cell covered once), in 3 columns when
 * cols >= 150 and 2 otherwise; smaller than 80x24 is refused; zoom fills the area.
 * format: fmt_count, fmt_money, fmt_clock, fmt_sparkline, fmt_bar, fmt_middle.
 * keymap: every key of ARCHITECTURE.md's keyboard section, and the rate steps. */
#include <curses.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/format.h"
#include "tui/keymap.h"
#include "tui/layout.h"
#include "testlib.h"

/* --- helpers ---------------------------------------------------------------------- */

/* Code points in a UTF-8 string. */
static int codepoints(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* How many times the UTF-8 string `needle` occurs in s. */
static int occurrences(const char *s, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

/* The last code point of s (bytes copied into out). */
static const char *last_codepoint(const char *s, char out[8])
{
    size_t len = strlen(s), i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0)
        i--;
    snprintf(out, 8, "%s", s + i);
    return out;
}

/* --- layout ----------------------------------------------------------------------- */

/* The six rects tile rows 1..rows-2 x cols 0..cols-1, every cell exactly once.
 * Returns the number of distinct column starts (the number of columns). */
static int check_tiling(int cols, int rows)
{
    rect_t r[LAYOUT_PANES];
    memset(r, 0x55, sizeof r);
    int rc = layout_compute(cols, rows, -1, r);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    unsigned char *cover = calloc((size_t)cols * rows, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cover);
    int outside = 0, small = 0;
    for (int i = 0; i < LAYOUT_PANES; i++) {
        if (r[i].h < 3 || r[i].w < 3) /* a box and at least one cell inside */
            small++;
        for (int y = r[i].y; y < r[i].y + r[i].h; y++)
            for (int x = r[i].x; x < r[i].x + r[i].w; x++) {
                if (y < 1 || y > rows - 2 || x < 0 || x >= cols)
                    outside++;
                else
                    cover[y * cols + x]++;
            }
    }
    int gaps = 0, overlaps = 0, title = 0, status = 0;
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            int c = cover[y * cols + x];
            if (y == 0)
                title += c != 0;
            else if (y == rows - 1)
                status += c != 0;
            else if (c == 0)
                gaps++;
            else if (c > 1)
                overlaps++;
        }
    free(cover);
    if (outside || gaps || overlaps || title || status || small)
        fprintf(stderr, "\n%dx%d: %d cells outside, %d gaps, %d overlaps, %d small panes\n", cols,
                rows, outside, gaps, overlaps, small);
    CU_ASSERT_EQUAL(outside, 0);
    CU_ASSERT_EQUAL(gaps, 0);
    CU_ASSERT_EQUAL(overlaps, 0);
    CU_ASSERT_EQUAL(title, 0);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_EQUAL(small, 0);
    /* Pane 1 is top left, pane 6 bottom right (reading order). */
    CU_ASSERT_EQUAL(r[0].y, 1);
    CU_ASSERT_EQUAL(r[0].x, 0);
    CU_ASSERT_EQUAL(r[5].y + r[5].h, rows - 1);
    CU_ASSERT_EQUAL(r[5].x + r[5].w, cols);
    for (int i = 1; i < LAYOUT_PANES; i++) /* reading order: row by row, left to right */
        CU_ASSERT(r[i].y > r[i - 1].y || (r[i].y == r[i - 1].y && r[i].x > r[i - 1].x));
    int xs[LAYOUT_PANES], nx = 0;
    for (int i = 0; i < LAYOUT_PANES; i++) {
        int seen = 0;
        for (int k = 0; k < nx; k++)
            seen |= xs[k] == r[i].x;
        if (!seen)
            xs[nx++] = r[i].x;
    }
    return nx;
}

static void test_layout_sizes(void)
{
    static const int sizes[][2] = {{80, 24}, {120, 40}, {160, 48}, {200, 60}, {149, 30},
                                   {150, 30}, {81, 25}, {151, 49}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        int cols = sizes[i][0], rows = sizes[i][1];
        int ncols = check_tiling(cols, rows);
        if (ncols != (cols >= 150 ? 3 : 2))
            fprintf(stderr, "\n%dx%d: %d columns\n", cols, rows, ncols);
        CU_ASSERT_EQUAL(ncols, cols >= 150 ? 3 : 2);
    }
}

static void test_layout_too_small(void)
{
    rect_t r[LAYOUT_PANES];
    CU_ASSERT_EQUAL(layout_compute(79, 24, -1, r), -1);
    CU_ASSERT_EQUAL(layout_compute(80, 23, -1, r), -1);
    CU_ASSERT_EQUAL(layout_compute(79, 23, -1, r), -1);
    CU_ASSERT_EQUAL(layout_compute(0, 0, -1, r), -1);
    CU_ASSERT_EQUAL(layout_compute(70, 20, 0, r), -1); /* zoomed too */
    CU_ASSERT_EQUAL(layout_compute(80, 24, -1, r), 0);
}

static void test_layout_zoom(void)
{
    static const int sizes[][2] = {{80, 24}, {160, 48}, {200, 60}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int cols = sizes[s][0], rows = sizes[s][1];
        for (int z = 0; z < LAYOUT_PANES; z++) {
            rect_t r[LAYOUT_PANES];
            memset(r, 0x55, sizeof r);
            CU_ASSERT_EQUAL_FATAL(layout_compute(cols, rows, z, r), 0);
            CU_ASSERT_EQUAL(r[z].y, 1);
            CU_ASSERT_EQUAL(r[z].x, 0);
            CU_ASSERT_EQUAL(r[z].h, rows - 2);
            CU_ASSERT_EQUAL(r[z].w, cols);
            for (int i = 0; i < LAYOUT_PANES; i++)
                if (i != z)
                    CU_ASSERT(r[i].h <= 0 || r[i].w <= 0); /* not drawn */
        }
    }
}

/* --- format ----------------------------------------------------------------------- */

#define EXPECT_STR(got, want)                                                                      \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (strcmp(g_, w_) != 0)                                                                   \
            fprintf(stderr, "\n  %s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, g_, w_);   \
        CU_ASSERT_STRING_EQUAL(g_, w_);                                                            \
    } while (0)

static void test_fmt_count(void)
{
    char b[32];
    EXPECT_STR(fmt_count(0, b, sizeof b), "0");
    EXPECT_STR(fmt_count(7, b, sizeof b), "7");
    EXPECT_STR(fmt_count(999, b, sizeof b), "999");
    EXPECT_STR(fmt_count(1000, b, sizeof b), "1.00k");
    EXPECT_STR(fmt_count(12345, b, sizeof b), "12.3k");
    EXPECT_STR(fmt_count(123456, b, sizeof b), "123k");
    EXPECT_STR(fmt_count(1234567, b, sizeof b), "1.23M");
    EXPECT_STR(fmt_count(4.5e9, b, sizeof b), "4.50G");
    /* "at most 6 characters", across the boundaries where rounding moves a digit */
    static const double edge[] = {999.4, 999.5, 9994, 9995, 99949, 99950, 999499, 999500,
                                  999999, 9.9e6, 99.96e6, 999.6e6, 1e12, 9.99e14};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        fmt_count(edge[i], b, sizeof b);
        if (strlen(b) > 6)
            fprintf(stderr, "\n  fmt_count(%g) = \"%s\"\n", edge[i], b);
        CU_ASSERT(strlen(b) <= 6);
    }
    EXPECT_STR(fmt_count(999.5, b, sizeof b), "1.00k");
    EXPECT_STR(fmt_count(999999, b, sizeof b), "1.00M");
}

static void test_fmt_money(void)
{
    char b[48];
    EXPECT_STR(fmt_money(0, b, sizeof b), "0.00");
    EXPECT_STR(fmt_money(5, b, sizeof b), "0.05");
    EXPECT_STR(fmt_money(99, b, sizeof b), "0.99");
    EXPECT_STR(fmt_money(100, b, sizeof b), "1.00");
    EXPECT_STR(fmt_money(99999, b, sizeof b), "999.99");
    EXPECT_STR(fmt_money(100000, b, sizeof b), "1,000.00");
    EXPECT_STR(fmt_money(123456789, b, sizeof b), "1,234,567.89");
    EXPECT_STR(fmt_money(-5, b, sizeof b), "-0.05");
    EXPECT_STR(fmt_money(-123456789, b, sizeof b), "-1,234,567.89");
    EXPECT_STR(fmt_money(INT64_MAX, b, sizeof b), "92,233,720,368,547,758.07");
    EXPECT_STR(fmt_money(INT64_MIN, b, sizeof b), "-92,233,720,368,547,758.08");
    char small[6];
    fmt_money(123456789, small, sizeof small); /* cut, terminated */
    CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
}

static void test_fmt_clock(void)
{
    char b[16];
    EXPECT_STR(fmt_clock(0, b, sizeof b), "00:00:00");
    EXPECT_STR(fmt_clock(3723000, b, sizeof b), "01:02:03");
    EXPECT_STR(fmt_clock(3723999, b, sizeof b), "01:02:03");
    EXPECT_STR(fmt_clock(86399999, b, sizeof b), "23:59:59");
    EXPECT_STR(fmt_clock(86400000, b, sizeof b), "00:00:00");
    /* 2024-01-15T10:29:47.250 (wall-clock ms as evtime gives them) */
    EXPECT_STR(fmt_clock(1705314587250LL, b, sizeof b), "10:29:47");
    EXPECT_STR(fmt_clock(-1000, b, sizeof b), "23:59:59");
}

static void test_fmt_sparkline(void)
{
    char b[512], last[8];
    double zeros[20] = {0};
    fmt_sparkline(zeros, 20, 20, b, sizeof b);
    CU_ASSERT_EQUAL(codepoints(b), 20);
    CU_ASSERT_EQUAL(strspn(b, " "), strlen(b)); /* all spaces */

    double up[60];
    for (int i = 0; i < 60; i++)
        up[i] = i + 1;
    fmt_sparkline(up, 60, 60, b, sizeof b);
    CU_ASSERT_EQUAL(codepoints(b), 60);
    EXPECT_STR(last_codepoint(b, last), "█");
    CU_ASSERT_EQUAL(occurrences(b, " "), 0); /* every value > 0 shows at least ▁ */
    /* the levels never go down along increasing values */
    static const char *const levels[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    int prev = -1, monotonic = 1;
    for (const char *s = b; *s;) {
        int lv = -1;
        for (int k = 0; k < 9; k++)
            if (!strncmp(s, levels[k], strlen(levels[k]))) {
                lv = k;
                s += strlen(levels[k]);
                break;
            }
        if (lv < 0) {
            monotonic = 0;
            break;
        }
        monotonic &= lv >= prev;
        prev = lv;
    }
    CU_ASSERT(monotonic);

    /* width limits the number of code points: the last `width` values */
    fmt_sparkline(up, 60, 10, b, sizeof b);
    CU_ASSERT_EQUAL(codepoints(b), 10);
    EXPECT_STR(last_codepoint(b, last), "█");
    fmt_sparkline(up, 60, 1, b, sizeof b);
    EXPECT_STR(b, "█");
    /* fewer values than width: one code point each */
    fmt_sparkline(up, 5, 30, b, sizeof b);
    CU_ASSERT_EQUAL(codepoints(b), 5);
    fmt_sparkline(up, 0, 30, b, sizeof b);
    EXPECT_STR(b, "");
    /* a small buffer is not overrun and stays a valid string of whole code points */
    char guard[16];
    memset(guard, 'X', sizeof guard);
    fmt_sparkline(up, 60, 60, guard, 10);
    CU_ASSERT(strlen(guard) < 10);
    CU_ASSERT_EQUAL(strlen(guard) % 3, 0);
    CU_ASSERT_EQUAL(guard[10], 'X');
}

static void test_fmt_bar(void)
{
    char b[512];
    EXPECT_STR(fmt_bar(0, 100, 10, b, sizeof b), "");
    EXPECT_STR(fmt_bar(50, 100, 10, b, sizeof b), "█████");
    EXPECT_STR(fmt_bar(100, 100, 10, b, sizeof b), "██████████");
    EXPECT_STR(fmt_bar(250, 100, 10, b, sizeof b), "██████████"); /* clamps */
    EXPECT_STR(fmt_bar(-5, 100, 10, b, sizeof b), "");
    EXPECT_STR(fmt_bar(5, 0, 10, b, sizeof b), ""); /* no max: nothing */
    EXPECT_STR(fmt_bar(1, 8, 1, b, sizeof b), "▏");   /* one eighth */
    EXPECT_STR(fmt_bar(55, 100, 10, b, sizeof b), "█████▌");
    CU_ASSERT(codepoints(fmt_bar(99.9, 100, 40, b, sizeof b)) <= 40);
    /* the caller's buffer size bounds the output */
    char guard[16];
    memset(guard, 'X', sizeof guard);
    fmt_bar(100, 100, 40, guard, 10);
    CU_ASSERT(strlen(guard) < 10);
    CU_ASSERT_EQUAL(guard[10], 'X');
}

/* Bars as wide as a zoomed pane on a 200-column terminal (155 cells). */
static void test_fmt_middle_keeps_start_and_end(void)
{
    char b[64];
    EXPECT_STR(fmt_middle("transactions", 20, b, sizeof b), "transactions"); /* fits: as it is */
    EXPECT_STR(fmt_middle("sink:processed_transactions", 16, b, sizeof b), "sink:pro…actions");
    CU_ASSERT_EQUAL(codepoints(fmt_middle("sink:processed_transactions", 16, b, sizeof b)), 16);
    /* two names that share their start stay apart */
    char c[64];
    fmt_middle("streamlab-console-state", 12, b, sizeof b);
    fmt_middle("streamlab-console-repartition-category_windows", 12, c, sizeof c);
    CU_ASSERT_STRING_NOT_EQUAL(b, c);
}

static void test_fmt_bar_wide(void)
{
    char b[1024];
    CU_ASSERT_EQUAL(codepoints(fmt_bar(1, 1, 155, b, sizeof b)), 155);
    CU_ASSERT_EQUAL(codepoints(fmt_bar(1, 1, 115, b, sizeof b)), 115);
}

/* --- keymap ----------------------------------------------------------------------- */

static void test_keymap_keys(void)
{
    static const struct {
        int key;
        action_t want;
    } keys[] = {
        {'?', ACT_HELP},        {'q', ACT_QUIT},        {9, ACT_FOCUS_NEXT},
        {KEY_BTAB, ACT_FOCUS_PREV}, {'1', ACT_FOCUS_1}, {'2', ACT_FOCUS_2},
        {'3', ACT_FOCUS_3},     {'4', ACT_FOCUS_4},     {'5', ACT_FOCUS_5},
        {'6', ACT_FOCUS_6},     {10, ACT_ZOOM},         {KEY_ENTER, ACT_ZOOM},
        {'p', ACT_PRODUCER},    {'[', ACT_RATE_DOWN},   {']', ACT_RATE_UP},
        {'v', ACT_VIDEO},       {'u', ACT_UPLOAD},      {'t', ACT_THRESHOLD},
        {'+', ACT_NUDGE_UP},    {'-', ACT_NUDGE_DOWN},  {'/', ACT_FILTER},
        {' ', ACT_PAUSE},       {'w', ACT_WALKTHROUGH}, {'s', ACT_SORT},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        action_t got = keymap_lookup(keys[i].key);
        if (got != keys[i].want)
            fprintf(stderr, "\n  key %d: action %d, want %d\n", keys[i].key, got, keys[i].want);
        CU_ASSERT_EQUAL(got, keys[i].want);
    }
    static const int unknown[] = {'x', 'Q', '0', '7', 'z', 27, KEY_F(1), KEY_UP, 0, -1};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CU_ASSERT_EQUAL(keymap_lookup(unknown[i]), ACT_NONE);
}

/* The table the help overlay prints: every action is reachable, each entry with
 * help text names its keys, and no key is bound twice. */
static void test_keymap_table(void)
{
    int bound[ACT_WALKTHROUGH + 1] = {0}, n = 0, dup = 0, nohelp_keys = 0;
    for (const keybinding_t *b = keymap; b->key; b++, n++) {
        if (b->action >= 0 && b->action <= ACT_WALKTHROUGH)
            bound[b->action]++;
        if (b->help && !b->keys)
            nohelp_keys++;
        for (const keybinding_t *c = keymap; c < b; c++)
            dup += c->key == b->key;
    }
    CU_ASSERT(n > 0);
    CU_ASSERT_EQUAL(dup, 0);
    CU_ASSERT_EQUAL(nohelp_keys, 0);
    for (int a = ACT_HELP; a <= ACT_WALKTHROUGH; a++) {
        if (!bound[a])
            fprintf(stderr, "\n  action %d has no key\n", a);
        CU_ASSERT(bound[a] > 0);
    }
    CU_ASSERT_PTR_NOT_NULL(keymap[0].help); /* the first entry is a help line */
}

static void test_keymap_rate_steps(void)
{
    static const double steps[] = {1, 5, 20, 100, 1000, 10000, 50000};
    const int n = sizeof steps / sizeof *steps;
    for (int i = 0; i + 1 < n; i++) {
        CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(steps[i], 1), steps[i + 1], 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(steps[i + 1], -1), steps[i], 1e-9);
    }
    /* walking the whole way up and down */
    double r = 1;
    for (int i = 1; i < n; i++)
        r = keymap_rate_step(r, 1);
    CU_ASSERT_DOUBLE_EQUAL(r, 50000, 1e-9);
    for (int i = 1; i < n; i++)
        r = keymap_rate_step(r, -1);
    CU_ASSERT_DOUBLE_EQUAL(r, 1, 1e-9);
    /* clamped at both ends */
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(50000, 1), 50000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(1, -1), 1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(1e6, 1), 50000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(1e6, -1), 50000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(0, -1), 1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(0, 1), 1, 1e-9);
    /* from in between (e.g. --rate 50): the neighbouring steps */
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(50, 1), 100, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(50, -1), 20, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(3, -1), 1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(3, 1), 5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(20000, 1), 50000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(keymap_rate_step(20000, -1), 10000, 1e-9);
}

static CU_TestInfo tests[] = {
    {"layout: 80x24 120x40 160x48 200x60 (and 149/150 cols) tile exactly", test_layout_sizes},
    {"layout: smaller than 80x24 is refused", test_layout_too_small},
    {"layout: zoom fills the area between title and status", test_layout_zoom},
    {"fmt_count", test_fmt_count},
    {"fmt_money", test_fmt_money},
    {"fmt_clock", test_fmt_clock},
    {"fmt_sparkline", test_fmt_sparkline},
    {"fmt_bar", test_fmt_bar},
    {"fmt_bar: wide bars are whole in a buffer big enough", test_fmt_bar_wide},
    {"fmt_middle: a long name keeps its start and end around an ellipsis",
     test_fmt_middle_keeps_start_and_end},
    {"keymap: every documented key", test_keymap_keys},
    {"keymap: the table", test_keymap_table},
    {"keymap: producer rate steps", test_keymap_rate_steps},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("tui", tests, NULL, NULL)
