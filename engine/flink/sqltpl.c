/* sqltpl.c — see sqltpl.h. One pass over the template into a growing buffer. */
#include "engine/flink/sqltpl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} buf_t;

static void put(buf_t *b, const char *p, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s, b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* The line (1-based) of offset at in text, for messages. */
static int line_of(const char *text, size_t at)
{
    int line = 1;
    for (size_t i = 0; i < at; i++)
        line += text[i] == '\n';
    return line;
}

char *sqltpl_fill(const char *name, const char *text, const sqltpl_var_t *vars, size_t nvars,
                  char *err, size_t errlen)
{
    if (nvars > SQLTPL_MAX_VARS) {
        snprintf(err, errlen, "template %s: more than %d values", name, SQLTPL_MAX_VARS);
        return NULL;
    }
    bool used[SQLTPL_MAX_VARS] = {false};
    size_t len = strlen(text);
    if (len && text[len - 1] == '\n')
        len--; /* the file's final newline */
    buf_t b = {0};
    put(&b, "", 0); /* an empty template gives "", not NULL */
    size_t i = 0;
    while (i < len) {
        const char *open = strstr(text + i, "${");
        size_t at = open ? (size_t)(open - text) : len;
        if (at > len)
            at = len;
        put(&b, text + i, at - i);
        if (at == len)
            break;
        size_t n = 0;
        while (at + 2 + n < len && name_char(text[at + 2 + n]))
            n++;
        if (n == 0 || at + 2 + n >= len || text[at + 2 + n] != '}') {
            snprintf(err, errlen, "template %s, line %d: \"${\" opens no placeholder "
                     "(a name of a-z, 0-9 and _, then \"}\")", name, line_of(text, at));
            free(b.s);
            return NULL;
        }
        const char *key = text + at + 2;
        size_t k = 0;
        while (k < nvars && (strlen(vars[k].name) != n || strncmp(vars[k].name, key, n)))
            k++;
        if (k == nvars) {
            snprintf(err, errlen, "template %s, line %d: unknown placeholder ${%.*s}", name,
                     line_of(text, at), (int)n, key);
            free(b.s);
            return NULL;
        }
        used[k] = true;
        const char *value = vars[k].value ? vars[k].value : "";
        size_t end = at + 2 + n + 1;
        bool alone = (at == 0 || text[at - 1] == '\n') && (end == len || text[end] == '\n');
        if (alone && !*value) {
            /* An optional line that is not there: drop it with its newline (the one
             * before it when it is the last line). */
            if (end < len)
                end++;
            else if (b.len && b.s[b.len - 1] == '\n')
                b.s[--b.len] = '\0';
        } else {
            put(&b, value, strlen(value));
        }
        i = end;
    }
    for (size_t k = 0; k < nvars; k++) {
        if (!used[k]) {
            snprintf(err, errlen, "template %s has no placeholder ${%s}", name, vars[k].name);
            free(b.s);
            return NULL;
        }
    }
    if (b.oom) {
        snprintf(err, errlen, "out of memory");
        free(b.s);
        return NULL;
    }
    return b.s;
}
