/* evtime.c — see evtime.h.  Civil-date arithmetic is done by hand (days from
 * civil, Howard Hinnant's algorithm) so that parsing never touches the TZ
 * database on the hot path; only "now" and zone conversion ask localtime_r. */
#include "engine/evtime.h"

#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int digits(const char *s, size_t len, size_t at, int n, int *out)
{
    if (at + (size_t)n > len)
        return -1;
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = s[at + i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 0;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Offset of local time from UTC at the UTC instant epoch_s, in seconds. */
static long local_offset_s(time_t epoch_s)
{
    struct tm tm;
    localtime_r(&epoch_s, &tm);
    return tm.tm_gmtoff;
}

int evtime_parse(const char *s, size_t len, int64_t *ms)
{
    int Y, M, D, h, m, sec;
    if (digits(s, len, 0, 4, &Y) || len < 19 || s[4] != '-' || digits(s, len, 5, 2, &M) ||
        s[7] != '-' || digits(s, len, 8, 2, &D) || (s[10] != 'T' && s[10] != ' ') ||
        digits(s, len, 11, 2, &h) || s[13] != ':' || digits(s, len, 14, 2, &m) || s[16] != ':' ||
        digits(s, len, 17, 2, &sec))
        return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && is_leap(Y)) || h > 23 ||
        m > 59 || sec > 59)
        return -1;
    size_t i = 19;
    int64_t frac_us = 0;
    if (i < len && s[i] == '.') {
        i++;
        int n = 0;
        int64_t scale = 100000;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (n < 6) {
                frac_us += (s[i] - '0') * scale;
                scale /= 10;
            }
            i++, n++;
        }
        if (n == 0)
            return -1;
    }
    int64_t wall_s = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec;
    if (i < len) {
        long zone_s;
        if (s[i] == 'Z' && i + 1 == len) {
            zone_s = 0;
        } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':') {
            int zh, zm;
            if (digits(s, len, i + 1, 2, &zh) || digits(s, len, i + 4, 2, &zm) || zh > 23 ||
                zm > 59)
                return -1;
            zone_s = (zh * 3600 + zm * 60) * (s[i] == '-' ? -1 : 1);
        } else {
            return -1;
        }
        int64_t utc_s = wall_s - zone_s;
        wall_s = utc_s + local_offset_s((time_t)utc_s);
    }
    *ms = wall_s * 1000 + frac_us / 1000;
    return 0;
}

char *evtime_format_us(int64_t us, char *buf)
{
    int64_t s = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - s * 1000000;
    int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
    int64_t rem = s - days * 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) { /* outside what ISO-8601 writes with 4 digits */
        snprintf(buf, EVTIME_BUFSIZE, "%04d-%02u-%02uT%02d:%02d:%02d.%06d", y, m, d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)frac);
        return buf;
    }
    /* Digits by hand: this runs for every processed record. */
    unsigned v[] = {(unsigned)y, m, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
                    (unsigned)(rem % 60), (unsigned)frac};
    static const int width[] = {4, 2, 2, 2, 2, 2, 6};
    static const char sep[] = "--T::.";
    char *p = buf;
    for (int i = 0; i < 7; i++) {
        for (int j = width[i] - 1; j >= 0; j--) {
            p[j] = (char)('0' + v[i] % 10);
            v[i] /= 10;
        }
        p += width[i];
        if (i < 6)
            *p++ = sep[i];
    }
    *p = '\0';
    return buf;
}

char *evtime_format(int64_t ms, char *buf) { return evtime_format_us(ms * 1000, buf); }

static _Thread_local int64_t thread_clock_us = EVTIME_REAL_CLOCK;

void evtime_set_thread_clock_us(int64_t us) { thread_clock_us = us; }

int64_t evtime_now_us(void)
{
    if (thread_clock_us != EVTIME_REAL_CLOCK)
        return thread_clock_us;
    /* The zone offset changes at most twice a year: ask localtime_r once a
     * second per thread, not once a record. */
    static _Thread_local time_t cached_s = -1;
    static _Thread_local long cached_off;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != cached_s) {
        cached_off = local_offset_s(tv.tv_sec);
        cached_s = tv.tv_sec;
    }
    return ((int64_t)tv.tv_sec + cached_off) * 1000000 + tv.tv_usec;
}

int64_t evtime_now_ms(void) { return evtime_now_us() / 1000; }
