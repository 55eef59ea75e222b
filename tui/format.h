/* format.h — numbers, money, times and sparklines as the console prints them.
 * Pure functions writing into the caller's buffer (which they return). */
#ifndef STREAMLAB_FORMAT_H
#define STREAMLAB_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* 999, 1.2k, 12.3k, 1.23M, 4.5G — at most 6 characters. */
char *fmt_count(double n, char *buf, size_t size);
/* 1234567 cents -> "12,345.67". */
char *fmt_money(int64_t cents, char *buf, size_t size);
/* wall-clock ms -> "HH:MM:SS". */
char *fmt_clock(int64_t ms, char *buf, size_t size);
/* A UTF-8 sparkline of the last `width` values (scaled to their maximum). */
char *fmt_sparkline(const double *values, int n, int width, char *buf, size_t size);
/* A bar of `value/max * width` cells ('█' and a partial eighth). */
char *fmt_bar(double value, double max, int width, char *buf, size_t size);

/* s in at most `width` columns (ASCII): as it is when it fits, else its
 * start and end around a "…" in the middle ("sink:proc…actions"), so that
 * names sharing a prefix stay apart. */
char *fmt_middle(const char *s, int width, char *buf, size_t size);
#endif
