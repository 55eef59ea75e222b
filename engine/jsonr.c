/* jsonr.c — see jsonr.h.
 *
 * yajl's event parser builds the Jansson value directly: Jansson's own
 * loader reads its input a character at a time through a stream callback,
 * and that lexer was the largest single cost of the engine (json_loadb, 30%
 * of a replay's samples, 34% of an engine's on Kafka).  Whatever yajl and
 * Jansson might not agree on (a top-level scalar, a NUL in a string, an
 * integer out of range, a real overflow) is refused here, and the caller
 * asks Jansson, so values and error messages stay Jansson's. */
#include "engine/jsonr.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#define JSONR_DEPTH 64

typedef struct builder {
    json_t *stack[JSONR_DEPTH]; /* open containers */
    int depth;
    json_t *root;
    /* an object's pending key (borrowed from yajl's buffer until the value comes) */
    const unsigned char *key;
    size_t keylen;
    bool refused;
    size_t flags; /* JSON_REJECT_DUPLICATES, JSON_DECODE_ANY */
    yajl_handle h;
    size_t root_end; /* bytes consumed when the top container closed */
} builder_t;

static int refuse(builder_t *b)
{
    b->refused = true;
    return 0; /* stops yajl */
}

/* Attaches v (a new reference) where the parser is. */
static int add(builder_t *b, json_t *v)
{
    if (!v || b->refused) {
        json_decref(v);
        b->refused = true;
        return 0;
    }
    if (b->depth == 0) {
        /* a scalar at the top (JSON_DECODE_ANY) goes to Jansson: yajl calls a
         * document complete after it and may not look at what follows */
        if (b->root || (!json_is_object(v) && !json_is_array(v))) {
            json_decref(v);
            b->refused = true;
            return 0;
        }
        b->root = v;
        return 1;
    }
    json_t *top = b->stack[b->depth - 1];
    if (json_is_array(top))
        return json_array_append_new(top, v) == 0 ? 1 : refuse(b);
    if (!b->key ||
        ((b->flags & JSON_REJECT_DUPLICATES) && json_object_getn(top, (const char *)b->key, b->keylen))) {
        json_decref(v);
        return refuse(b);
    }
    if (json_object_setn_new(top, (const char *)b->key, b->keylen, v) != 0) /* took v anyway */
        return refuse(b);
    b->key = NULL;
    return 1;
}

static int on_null(void *ctx) { return add(ctx, json_null()); }
static int on_bool(void *ctx, int v) { return add(ctx, json_boolean(v)); }

static int on_number(void *ctx, const char *s, size_t len)
{
    char buf[64];
    if (len >= sizeof buf)
        return refuse(ctx);
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    char *end;
    if (!memchr(buf, '.', len) && !memchr(buf, 'e', len) && !memchr(buf, 'E', len)) {
        long long i = strtoll(buf, &end, 10);
        if (errno || *end) /* out of range: Jansson says so */
            return refuse(ctx);
        return add(ctx, json_integer(i));
    }
    double d = strtod(buf, &end);
    if (errno || *end || !isfinite(d))
        return refuse(ctx);
    return add(ctx, json_real(d));
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    if (memchr(s, '\0', len)) /* Jansson refuses \u0000 without JSON_ALLOW_NUL */
        return refuse(ctx);
    /* Jansson checks the UTF-8: yajl takes overlong forms (\xc1\xab), Jansson does not */
    return add(ctx, json_stringn((const char *)s, len));
}

static int open_container(builder_t *b, json_t *c)
{
    if (b->depth == JSONR_DEPTH) {
        json_decref(c);
        b->refused = true;
        return 0;
    }
    json_t *keep = json_incref(c);
    if (!add(b, c)) {
        json_decref(keep);
        return 0;
    }
    b->stack[b->depth++] = keep;
    return 1;
}

static int on_start_map(void *ctx) { return open_container(ctx, json_object()); }
static int on_start_array(void *ctx) { return open_container(ctx, json_array()); }

static int on_map_key(void *ctx, const unsigned char *k, size_t len)
{
    builder_t *b = ctx;
    if (memchr(k, '\0', len))
        return refuse(b);
    b->key = k;
    b->keylen = len;
    return 1;
}

static int on_end(void *ctx)
{
    builder_t *b = ctx;
    json_decref(b->stack[--b->depth]);
    if (b->depth == 0)
        b->root_end = yajl_get_bytes_consumed(b->h);
    return 1;
}

/* Only JSON whitespace after the document (yajl does not look at an
 * unterminated token there: {}" passed). */
static bool blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return false;
    return true;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_bool,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

/* \uD800-\uDFFF: yajl and Jansson judge lone surrogates differently. */
static bool has_surrogate_escape(const char *buf, size_t len)
{
    const char *end = buf + len;
    for (const char *p = buf; end - p >= 4 && (p = memchr(p, '\\', (size_t)(end - p))); p += 2)
        if (end - p >= 4 && p[1] == 'u' && (p[2] == 'd' || p[2] == 'D') && p[3] &&
            strchr("89abAB", p[3]))
            return true;
    return false;
}

json_t *jsonr_loadb(const char *buf, size_t len, size_t flags)
{
    /* yajl also skips \v and \f between tokens; JSON (and Jansson) does not */
    if (!buf || (flags & ~(size_t)(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)) ||
        has_surrogate_escape(buf, len) || memchr(buf, '\v', len) || memchr(buf, '\f', len))
        return NULL;
    builder_t b = {.depth = 0, .flags = flags};
    yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
    if (!h)
        return NULL;
    b.h = h;
    bool ok = yajl_parse(h, (const unsigned char *)buf, len) == yajl_status_ok &&
              yajl_get_bytes_consumed(h) == len && yajl_complete_parse(h) == yajl_status_ok &&
              !b.refused && b.root && b.depth == 0 && blank(buf + b.root_end, buf + len);
    yajl_free(h);
    while (b.depth > 0)
        json_decref(b.stack[--b.depth]);
    if (!ok) {
        json_decref(b.root);
        return NULL;
    }
    return b.root;
}

json_t *jsonr_load(const char *buf, size_t len, size_t flags, json_error_t *error)
{
    json_t *v = jsonr_loadb(buf, len, flags);
    return v ? v : json_loadb(buf, len, flags, error);
}
