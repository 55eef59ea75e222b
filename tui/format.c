/* format.c — see format.h. */
#include "tui/format.h"

#include <stdio.h>
#include <string.h>

char *fmt_count(double n, char *buf, size_t size)
{
    static const char *const unit[] = {"", "k", "M", "G", "T"};
    int u = 0;
    while (n >= 999.5 && u < 4) {
        n /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%.0f", n);
    else
        snprintf(buf, size, n < 9.995 ? "%.2f%s" : n < 99.95 ? "%.1f%s" : "%.0f%s", n, unit[u]);
    return buf;
}

char *fmt_money(int64_t cents, char *buf, size_t size)
{
    char digits[32];
    unsigned long long a = cents < 0 ? 0ull - (unsigned long long)cents : (unsigned long long)cents;
    int n = snprintf(digits, sizeof digits, "%llu", a / 100);
    char out[48];
    int o = 0;
    if (cents < 0)
        out[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    snprintf(out + o, sizeof out - o, ".%02llu", a % 100);
    snprintf(buf, size, "%s", out);
    return buf;
}

char *fmt_clock(int64_t ms, char *buf, size_t size)
{
    int64_t s = (ms >= 0 ? ms / 1000 : (ms - 999) / 1000) % 86400; /* floor, then wrap */
    if (s < 0)
        s += 86400;
    snprintf(buf, size, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    return buf;
}

static const char *const eighths[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

char *fmt_sparkline(const double *values, int n, int width, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    int first = n > width ? n - width : 0;
    double max = 0;
    for (int i = first; i < n; i++)
        if (values[i] > max)
            max = values[i];
    for (int i = first; i < n && o + 4 < size; i++) {
        int level = max > 0 ? (int)(values[i] / max * 8 + 0.5) : 0;
        if (values[i] > 0 && level == 0)
            level = 1;
        size_t len = strlen(eighths[level]);
        memcpy(buf + o, eighths[level], len);
        o += len;
    }
    buf[o] = '\0';
    return buf;
}

char *fmt_bar(double value, double max, int width, char *buf, size_t size)
{
    static const char *const part[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    size_t o = 0;
    int cells8 = max > 0 && value > 0 ? (int)(value / max * width * 8 + 0.5) : 0;
    if (cells8 > width * 8)
        cells8 = width * 8;
    for (int i = 0; i < cells8 / 8 && o + 4 < size; i++) {
        memcpy(buf + o, "█", 3);
        o += 3;
    }
    if (cells8 % 8 && o + 4 < size) {
        size_t len = strlen(part[cells8 % 8]);
        memcpy(buf + o, part[cells8 % 8], len);
        o += len;
    }
    buf[o] = '\0';
    return buf;
}

char *fmt_middle(const char *s, int width, char *buf, size_t size)
{
    int n = (int)strlen(s);
    if (width < 1 || n <= width) {
        snprintf(buf, size, "%s", s);
        return buf;
    }
    int tail = (width - 1) / 2, head = width - 1 - tail;
    snprintf(buf, size, "%.*s\u2026%s", head, s, s + n - tail);
    return buf;
}
