/* jsonw.c — see jsonw.h. */
#include "engine/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

typedef jsonw_buf_t buf_t;

static void reserve(buf_t *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    while (b->len + n > b->cap)
        b->cap *= 2;
    b->p = xrealloc(b->p, b->cap);
}

static void put(buf_t *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_u64(buf_t *b, unsigned long long v)
{
    char tmp[24];
    int i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(b, tmp + i, sizeof tmp - i);
}

static void put_i64(buf_t *b, long long v)
{
    if (v < 0) {
        put(b, "-", 1);
        put_u64(b, 0ull - (unsigned long long)v);
    } else {
        put_u64(b, (unsigned long long)v);
    }
}

static void put_string(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    reserve(b, n + 2);
    b->p[b->len++] = '"';
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': put(b, "\\\"", 2); break;
        case '\\': put(b, "\\\\", 2); break;
        case '\b': put(b, "\\b", 2); break;
        case '\f': put(b, "\\f", 2); break;
        case '\n': put(b, "\\n", 2); break;
        case '\r': put(b, "\\r", 2); break;
        case '\t': put(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(b, u, 6);
        }
        }
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

static void put_real(buf_t *b, double d)
{
    /* Money fast path: a value with at most two decimals and at most 15
     * significant digits prints the same as "%.15g" would, without printf. */
    double c = d * 100.0;
    if (fabs(c) < 1e13 && c == c) {
        long long cents = llround(c);
        if ((double)cents / 100.0 == d && !(cents == 0 && signbit(d))) {
            unsigned long long a = cents < 0 ? 0ull - (unsigned long long)cents : (unsigned long long)cents;
            if (cents < 0)
                put(b, "-", 1);
            put_u64(b, a / 100);
            unsigned f = (unsigned)(a % 100);
            char tail[3] = {'.', (char)('0' + f / 10), (char)('0' + f % 10)};
            put(b, tail, f == 0 ? 2 : f % 10 == 0 ? 2 : 3); /* "x.0", "x.5", "x.25" */
            return;
        }
    }
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.15g", d);
    if (!isfinite(d)) { /* Jansson refuses these; never reached from parsed JSON */
        put(b, "null", 4);
        return;
    }
    /* As Jansson: "1e+20" -> "1e20", "1e-05" -> "1e-5", "3" -> "3.0". */
    char *e = strchr(tmp, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        else if (*start == '+')
            end = start; /* drop the '+' and the zeros after it */
        if (*start == '+')
            end = start + 1;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, strlen(end) + 1);
            n = (int)strlen(tmp);
        }
    }
    put(b, tmp, (size_t)n);
    if (strspn(tmp, "0123456789-") == (size_t)n)
        put(b, ".0", 2);
}

static void put_value(buf_t *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put(b, "{", 1);
        int first = 1;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            if (!first)
                put(b, ",", 1);
            first = 0;
            put_string(b, k, strlen(k));
            put(b, ":", 1);
            put_value(b, x);
        }
        put(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                put(b, ",", 1);
            put_value(b, json_array_get(v, i));
        }
        put(b, "]", 1);
        break;
    case JSON_STRING: put_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: put_i64(b, json_integer_value(v)); break;
    case JSON_REAL: put_real(b, json_real_value(v)); break;
    case JSON_TRUE: put(b, "true", 4); break;
    case JSON_FALSE: put(b, "false", 5); break;
    case JSON_NULL: put(b, "null", 4); break;
    }
}

/* Each thread writes into its own buffer, kept between calls, and returns an
 * exact-size copy: one small malloc per record instead of a chain of
 * reallocs (which, past 1 KiB, make glibc consolidate its free lists). */
static _Thread_local buf_t scratch;

void jsonw_thread_done(void)
{
    free(scratch.p);
    scratch = (buf_t){0};
}

void jsonw_raw(jsonw_buf_t *b, const char *s, size_t n) { put(b, s, n); }
void jsonw_string(jsonw_buf_t *b, const char *s, size_t n) { put_string(b, s, n); }
void jsonw_real(jsonw_buf_t *b, double d) { put_real(b, d); }
void jsonw_int(jsonw_buf_t *b, long long v) { put_i64(b, v); }
void jsonw_value(jsonw_buf_t *b, const json_t *v) { put_value(b, v); }

static void write_json(const void *v, jsonw_buf_t *b) { put_value(b, v); }

char *jsonw_dumps(const json_t *v, size_t *len) { return jsonw_dumps_with(write_json, v, len); }

char *jsonw_dumps_with(void (*write)(const void *obj, jsonw_buf_t *b), const void *obj,
                       size_t *len)
{
    if (!scratch.p) {
        scratch.cap = 4096;
        scratch.p = xmalloc(scratch.cap);
    }
    scratch.len = 0;
    write(obj, &scratch);
    char *out = xmalloc(scratch.len + 1);
    memcpy(out, scratch.p, scratch.len);
    out[scratch.len] = '\0';
    if (len)
        *len = scratch.len;
    return out;
}
