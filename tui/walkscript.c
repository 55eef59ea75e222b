/* walkscript.c — see walkscript.h. */
#include "tui/walkscript.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static void free_step(walk_step_t *st)
{
    free(st->title);
    free(st->action);
    free(st->check);
    free(st->body);
}

void walk_script_free(walk_script_t *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        free_step(&s->steps[i]);
    free(s->steps);
    free(s);
}

static bool known(const char *name, const char *const *checks)
{
    for (; checks && *checks; checks++)
        if (!strcmp(*checks, name))
            return true;
    return false;
}

/* Ends the step being read: every field there, body without trailing blank lines. */
static int finish_step(walk_step_t *st, const char *const *checks, char *err, size_t errsize)
{
    const char *missing = !st->action ? "action" : !st->check ? "check" : st->pane < 0 ? "pane" : NULL;
    if (missing) {
        snprintf(err, errsize, "line %d: step \"%s\" has no %s: line", st->line, st->title, missing);
        return -1;
    }
    if (!known(st->check, checks)) {
        snprintf(err, errsize, "line %d: step \"%s\": unknown check \"%s\"", st->line, st->title,
                 st->check);
        return -1;
    }
    if (!st->body)
        st->body = xstrdup("");
    size_t n = strlen(st->body);
    while (n > 0 && st->body[n - 1] == '\n')
        st->body[--n] = '\0';
    return 0;
}

walk_script_t *walk_script_parse(const char *text, const char *const *checks, char *err,
                                 size_t errsize)
{
    walk_script_t *s = xcalloc(1, sizeof *s);
    walk_step_t *cur = NULL;
    bool in_header = false;
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = xstrndup(p, len);
        p += len + (nl ? 1 : 0);
        lineno++;
        char *t = trim(line);
        int rc = 0;
        if (!strncmp(t, "===", 3)) {
            if (cur && finish_step(cur, checks, err, errsize) < 0)
                rc = -1;
            else {
                s->steps = xrealloc(s->steps, (size_t)(s->n + 1) * sizeof *s->steps);
                cur = &s->steps[s->n++];
                *cur = (walk_step_t){.title = xstrdup(trim(t + 3)), .pane = -1, .line = lineno};
                in_header = true;
                if (!cur->title[0]) {
                    snprintf(err, errsize, "line %d: a step needs a title after ===", lineno);
                    rc = -1;
                }
            }
        } else if (!cur) {
            if (t[0] && t[0] != '#') {
                snprintf(err, errsize, "line %d: text before the first step (=== TITLE)", lineno);
                rc = -1;
            }
        } else if (in_header) {
            char *colon = strchr(t, ':');
            if (!t[0]) {
                in_header = false;
            } else if (t[0] == '#') {
                /* a comment */
            } else if (!colon) {
                snprintf(err, errsize, "line %d: expected \"field: value\" or a blank line", lineno);
                rc = -1;
            } else {
                *colon = '\0';
                char *key = trim(t), *val = trim(colon + 1);
                if (!strcmp(key, "pane")) {
                    char *end;
                    long v = strtol(val, &end, 10);
                    if (!*val || *end || v < 0 || v > 6) {
                        snprintf(err, errsize, "line %d: pane must be 0-6, not \"%s\"", lineno, val);
                        rc = -1;
                    } else
                        cur->pane = (int)v;
                } else if (!strcmp(key, "action") || !strcmp(key, "check")) {
                    char **f = key[0] == 'a' ? &cur->action : &cur->check;
                    free(*f);
                    *f = xstrdup(val);
                } else {
                    snprintf(err, errsize, "line %d: unknown field \"%s\"", lineno, key);
                    rc = -1;
                }
            }
        } else {
            /* Body: kept as written (trailing spaces dropped); wrapping comes later. */
            size_t old = cur->body ? strlen(cur->body) : 0, add = strlen(t);
            if (old || add) {
                cur->body = xrealloc(cur->body, old + add + 2);
                memcpy(cur->body + old, t, add);
                cur->body[old + add] = '\n';
                cur->body[old + add + 1] = '\0';
            }
        }
        free(line);
        if (rc < 0) {
            walk_script_free(s);
            return NULL;
        }
    }
    if (cur && finish_step(cur, checks, err, errsize) < 0) {
        walk_script_free(s);
        return NULL;
    }
    if (s->n == 0) {
        snprintf(err, errsize, "no steps (a step starts with a line \"=== TITLE\")");
        walk_script_free(s);
        return NULL;
    }
    return s;
}

walk_script_t *walk_script_load(const char *path, const char *const *checks, char *err,
                                size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "%s: cannot open it", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = xrealloc(buf, cap);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = xstrdup("");
    else
        buf[len] = '\0';
    char e[400];
    walk_script_t *s = walk_script_parse(buf, checks, e, sizeof e);
    if (!s)
        snprintf(err, errsize, "%s: %s", path, e);
    free(buf);
    return s;
}

/* Bytes of the next UTF-8 code point at s. */
static int cp_len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    int n = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 1;
    for (int i = 1; i < n; i++)
        if (!s[i])
            return i;
    return n;
}

static void emit(char (*lines)[256], int max, int *count, const char *text, size_t bytes)
{
    if (*count < max) {
        if (bytes > 255)
            bytes = 255;
        memcpy(lines[*count], text, bytes);
        lines[*count][bytes] = '\0';
    }
    (*count)++;
}

int walk_wrap(const char *text, int width, char (*lines)[256], int max)
{
    if (width < 1)
        width = 1;
    int count = 0;
    char line[256];
    size_t lb = 0; /* bytes in line */
    int lc = 0;    /* columns in line */
    const char *p = text;
    while (*p) {
        if (*p == '\n' && p[1] == '\n') { /* paragraph break */
            emit(lines, max, &count, line, lb);
            emit(lines, max, &count, "", 0);
            lb = 0, lc = 0;
            while (*p == '\n')
                p++;
            continue;
        }
        if (*p == ' ' || *p == '\n' || *p == '\t') {
            p++;
            continue;
        }
        /* A word: its bytes and columns. */
        const char *w = p;
        int wc = 0;
        while (*p && *p != ' ' && *p != '\n' && *p != '\t') {
            p += cp_len(p);
            wc++;
        }
        size_t wb = (size_t)(p - w);
        if (lc > 0 && lc + 1 + wc > width) {
            emit(lines, max, &count, line, lb);
            lb = 0, lc = 0;
        }
        while (wc > width) { /* a word longer than a line: cut it */
            const char *q = w;
            for (int i = 0; i < width; i++)
                q += cp_len(q);
            emit(lines, max, &count, w, (size_t)(q - w));
            wb -= (size_t)(q - w);
            wc -= width;
            w = q;
        }
        if (lc > 0 && lb + 1 < sizeof line)
            line[lb++] = ' ', lc++;
        if (lb + wb < sizeof line) {
            memcpy(line + lb, w, wb);
            lb += wb;
            lc += wc;
        }
    }
    if (lc > 0 || count == 0)
        emit(lines, max, &count, line, lb);
    return count;
}

int walk_rows_needed(const walk_step_t *s, int w)
{
    char scratch[1][256];
    int body = walk_wrap(s->body, w, scratch, 0);
    int action = walk_wrap(s->action, w - 2, scratch, 0); /* "▶ " before it */
    /* title, blank, body, blank, action, look at, 2 figure lines, check, keys */
    return 1 + 1 + body + 1 + action + 1 + 2 + 1 + 1;
}
