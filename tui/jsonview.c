/* jsonview.c — see jsonview.h.  Parsed with jansson (which keeps an object's
 * keys in their order); reals printed with %.15g so that 837.02 stays 837.02. */
#include "tui/jsonview.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

#define JV_STRING_MAX 300 /* longer plain strings are cut, with a count */

typedef struct builder {
    jv_doc_t *d;
    jv_line_t *cur;
} builder_t;

static void new_line(builder_t *b, int indent)
{
    jv_doc_t *d = b->d;
    d->lines = xrealloc(d->lines, (size_t)(d->nlines + 1) * sizeof *d->lines);
    b->cur = &d->lines[d->nlines++];
    *b->cur = (jv_line_t){0};
    if (indent > 0) {
        char pad[128];
        int n = indent * 2 < (int)sizeof pad - 1 ? indent * 2 : (int)sizeof pad - 1;
        memset(pad, ' ', (size_t)n);
        pad[n] = '\0';
        b->cur->segs = xmalloc(sizeof *b->cur->segs);
        b->cur->segs[0] = (jv_seg_t){JV_PLAIN, xstrdup(pad)};
        b->cur->nsegs = 1;
    }
}

static void add(builder_t *b, enum jv_kind kind, const char *text)
{
    jv_line_t *l = b->cur;
    l->segs = xrealloc(l->segs, (size_t)(l->nsegs + 1) * sizeof *l->segs);
    l->segs[l->nsegs++] = (jv_seg_t){kind, xstrdup(text)};
}

/* A JSON string literal for n bytes of s (quotes, escapes). */
static char *quote(const char *s, size_t n)
{
    json_t *j = json_stringn_nocheck(s, n);
    char *q = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    return q ? q : xstrdup("\"\"");
}

static void put_with_commas(char *out, size_t size, unsigned long long v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", v), o = 0;
    for (int i = 0; i < n && o + 2 < (int)size; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

bool jsonview_b64_summary(const char *s, size_t n, char *out, size_t size)
{
    if (n < 64 || n % 4)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || (c == '=' && i >= n - 2);
        if (!ok)
            return false;
    }
    size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    unsigned long long bytes = n / 4 * 3 - pad;
    unsigned char head[48];
    int hn = EVP_DecodeBlock(head, (const unsigned char *)s, 64);
    const char *what = "binary data";
    if (hn >= 4) {
        if (head[0] == 0xFF && head[1] == 0xD8)
            what = "JPEG image";
        else if (!memcmp(head, "\x89PNG", 4))
            what = "PNG image";
        else if (!memcmp(head, "%PDF", 4))
            what = "PDF document";
        else if (!memcmp(head, "PK\x03\x04", 4))
            what = "ZIP archive (docx, xlsx, ...)";
        else if (!memcmp(head, "GIF8", 4))
            what = "GIF image";
        else if (hn >= 12 && !memcmp(head + 4, "ftyp", 4))
            what = "MP4/MOV video";
        else if (!memcmp(head, "\x1A\x45\xDF\xA3", 4))
            what = "Matroska/WebM video";
        else if (!memcmp(head, "RIFF", 4))
            what = "RIFF (AVI, WAV, WebP)";
        else {
            bool text = true;
            for (int i = 0; i < hn && text; i++)
                text = head[i] >= 32 || head[i] == '\n' || head[i] == '\r' || head[i] == '\t';
            if (text)
                what = "text";
        }
    }
    char num[40];
    put_with_commas(num, sizeof num, bytes);
    snprintf(out, size, "<base64: %s bytes, %s>", num, what);
    return true;
}

static void value(builder_t *b, json_t *v, int indent);

static void scalar(builder_t *b, json_t *v)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        char summary[128];
        if (jsonview_b64_summary(s, n, summary, sizeof summary)) {
            add(b, JV_SUMMARY, summary);
        } else if (n > JV_STRING_MAX) {
            char *q = quote(s, JV_STRING_MAX);
            add(b, JV_STRING, q);
            free(q);
            snprintf(buf, sizeof buf, " ...(%zu more bytes)", n - JV_STRING_MAX);
            add(b, JV_SUMMARY, buf);
        } else {
            char *q = quote(s, n);
            add(b, JV_STRING, q);
            free(q);
        }
        break;
    }
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        add(b, JV_NUMBER, buf);
        break;
    case JSON_REAL:
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        if (!strpbrk(buf, ".eEn")) /* keep it a real: 10.0, not 10 */
            strcat(buf, ".0");
        add(b, JV_NUMBER, buf);
        break;
    case JSON_TRUE: add(b, JV_LITERAL, "true"); break;
    case JSON_FALSE: add(b, JV_LITERAL, "false"); break;
    default: add(b, JV_LITERAL, "null"); break;
    }
}

static void value(builder_t *b, json_t *v, int indent)
{
    if (json_is_object(v)) {
        if (json_object_size(v) == 0) {
            add(b, JV_PUNCT, "{}");
            return;
        }
        add(b, JV_PUNCT, "{");
        const char *k;
        json_t *x;
        size_t i = 0, n = json_object_size(v);
        json_object_foreach(v, k, x)
        {
            new_line(b, indent + 1);
            char *q = quote(k, strlen(k));
            add(b, JV_KEY, q);
            free(q);
            add(b, JV_PUNCT, ": ");
            value(b, x, indent + 1);
            if (++i < n)
                add(b, JV_PUNCT, ",");
        }
        new_line(b, indent);
        add(b, JV_PUNCT, "}");
    } else if (json_is_array(v)) {
        if (json_array_size(v) == 0) {
            add(b, JV_PUNCT, "[]");
            return;
        }
        add(b, JV_PUNCT, "[");
        size_t i, n = json_array_size(v);
        json_t *x;
        json_array_foreach(v, i, x)
        {
            new_line(b, indent + 1);
            value(b, x, indent + 1);
            if (i + 1 < n)
                add(b, JV_PUNCT, ",");
        }
        new_line(b, indent);
        add(b, JV_PUNCT, "]");
    } else {
        scalar(b, v);
    }
}

static void text_lines(builder_t *b, const char *buf, size_t len)
{
    /* Binary when there are control bytes other than whitespace (UTF-8 is fine). */
    size_t ctl = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        ctl += c < 32 && c != '\n' && c != '\r' && c != '\t';
    }
    if (ctl) {
        char line[160], num[40];
        put_with_commas(num, sizeof num, len);
        new_line(b, 0);
        snprintf(line, sizeof line, "<binary: %s bytes>", num);
        add(b, JV_SUMMARY, line);
        new_line(b, 0);
        int o = 0;
        for (size_t i = 0; i < len && i < 32; i++)
            o += snprintf(line + o, sizeof line - (size_t)o, "%02x ", (unsigned char)buf[i]);
        add(b, JV_PLAIN, line);
        return;
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || buf[i] == '\n') {
            if (i == len && start == len && b->d->nlines > 0)
                break;
            new_line(b, 0);
            size_t n = i - start;
            if (n && buf[start + n - 1] == '\r')
                n--;
            char *t = xstrndup(buf + start, n > 1000 ? 1000 : n);
            add(b, JV_PLAIN, t);
            free(t);
            start = i + 1;
        }
    }
}

jv_doc_t *jsonview_render(const char *buf, size_t len)
{
    jv_doc_t *d = xcalloc(1, sizeof *d);
    builder_t b = {.d = d};
    json_error_t e;
    json_t *v = buf && len ? json_loadb(buf, len, JSON_DECODE_ANY, &e) : NULL;
    if (v) {
        d->json = true;
        new_line(&b, 0);
        value(&b, v, 0);
        json_decref(v);
    } else if (!buf) {
        new_line(&b, 0);
        add(&b, JV_LITERAL, "(null)");
    } else if (!len) {
        new_line(&b, 0);
        add(&b, JV_SUMMARY, "(empty)");
    } else {
        text_lines(&b, buf, len);
    }
    return d;
}

void jsonview_free(jv_doc_t *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nlines; i++) {
        for (int j = 0; j < d->lines[i].nsegs; j++)
            free(d->lines[i].segs[j].text);
        free(d->lines[i].segs);
    }
    free(d->lines);
    free(d);
}

char *jsonview_line_text(const jv_line_t *l)
{
    size_t n = 1;
    for (int i = 0; i < l->nsegs; i++)
        n += strlen(l->segs[i].text);
    char *s = xmalloc(n);
    s[0] = '\0';
    for (int i = 0; i < l->nsegs; i++)
        strcat(s, l->segs[i].text);
    return s;
}
