/* util.c — see util.h. */
#include "engine/util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void (*fatal_hook)(void);
static atomic_bool keep_logs;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_log[512];

void util_log_keep(void) { atomic_store(&keep_logs, true); }

void util_last_log(char *buf, size_t size)
{
    pthread_mutex_lock(&log_lock);
    snprintf(buf, size, "%s", last_log);
    pthread_mutex_unlock(&log_lock);
}

void util_log(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (atomic_load(&keep_logs)) {
        pthread_mutex_lock(&log_lock);
        snprintf(last_log, sizeof last_log, "%s", msg);
        /* the console keeps its terminal: STREAMLAB_LOG=FILE keeps every line */
        const char *path = getenv("STREAMLAB_LOG");
        FILE *f = path && *path ? fopen(path, "a") : NULL;
        if (f) {
            fprintf(f, "%s\n", msg);
            fclose(f);
        }
        pthread_mutex_unlock(&log_lock);
    } else {
        fprintf(stderr, "streamlab: %s\n", msg);
    }
}

void util_set_fatal_hook(void (*hook)(void)) { fatal_hook = hook; }

_Noreturn void util_fatal(const char *fmt, ...)
{
    if (fatal_hook)
        fatal_hook();
    va_list ap;
    va_start(ap, fmt);
    fputs("streamlab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        util_fatal("out of memory (%zu bytes)", n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        util_fatal("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        util_fatal("out of memory (%zu bytes)", n);
    return q;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int64_t util_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t util_mono_ms(void) { return util_mono_us() / 1000; }

int64_t util_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int util_parse_double(const char *s, double *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v != v || v < 0 || v > 1e15)
        return -1;
    *out = v;
    return 0;
}

int util_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

int util_split_hostport(const char *s, char *host, size_t hostsize, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hostsize)
        return -1;
    int64_t p;
    if (util_parse_i64(colon + 1, &p) < 0 || p > 65535)
        return -1;
    memcpy(host, s, colon - s);
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

static bool py_space(uint32_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f) || c == 0x85 ||
           c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
           c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

void util_textcount_feed(util_textcount_t *t, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t c = u[i];
        size_t n = 1;
        if (c >= 0xC0) {
            n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            c &= n == 4 ? 0x07 : n == 3 ? 0x0F : 0x1F;
            for (size_t k = 1; k < n && i + k < len; k++)
                c = c << 6 | (u[i + k] & 0x3F);
        }
        i += n;
        t->chars++;
        bool space = py_space(c);
        if (!space && !t->in_word)
            t->words++;
        t->in_word = !space;
    }
}

size_t util_utf8_char(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0 || u[0] == 0)
        return 0;
    if (u[0] < 0x80)
        return 1;
    size_t n = u[0] >= 0xC2 && u[0] <= 0xDF ? 2 : (u[0] & 0xF0) == 0xE0 ? 3
             : u[0] >= 0xF0 && u[0] <= 0xF4 ? 4 : 0;
    if (n == 0 || n > len)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((u[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((u[0] == 0xE0 && u[1] < 0xA0) ||   /* overlong */
                   (u[0] == 0xED && u[1] >= 0xA0)))    /* surrogate */
        return 0;
    if (n == 4 && ((u[0] == 0xF0 && u[1] < 0x90) ||   /* overlong */
                   (u[0] == 0xF4 && u[1] >= 0x90)))    /* beyond U+10FFFF */
        return 0;
    return n;
}

void util_block_signals(void)
{
    sigset_t set;
    sigfillset(&set);
    static const int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crash / sizeof *crash; i++)
        sigdelset(&set, crash[i]);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}
