/* jsonview.h — a record's value as the inspector shows it: JSON pretty-printed
 * (two-space indent, keys in their order) into lines of coloured segments,
 * long base64 strings summarised ("<base64: 48,213 bytes, JPEG image>")
 * instead of dumped; a value that is not JSON as text lines, or a short hex
 * summary when it is binary.  Pure: no curses. */
#ifndef STREAMLAB_JSONVIEW_H
#define STREAMLAB_JSONVIEW_H

#include <stdbool.h>
#include <stddef.h>

enum jv_kind { JV_PLAIN, JV_KEY, JV_STRING, JV_NUMBER, JV_LITERAL, JV_PUNCT, JV_SUMMARY };

typedef struct jv_seg {
    enum jv_kind kind;
    char *text;
} jv_seg_t;

typedef struct jv_line {
    jv_seg_t *segs;
    int nsegs;
} jv_line_t;

typedef struct jv_doc {
    jv_line_t *lines;
    int nlines;
    bool json; /* the value parsed as JSON */
} jv_doc_t;

/* Renders len bytes (need not be NUL-terminated).  Never NULL. */
jv_doc_t *jsonview_render(const char *buf, size_t len);
void jsonview_free(jv_doc_t *d);
/* A line's text, segments joined (caller frees). */
char *jsonview_line_text(const jv_line_t *l);

/* When s (n bytes) looks like a base64 payload (at least 64 characters, only
 * the base64 alphabet, padded to a multiple of 4), writes a summary such as
 * "<base64: 1,234 bytes, JPEG image>" to out and returns true. */
bool jsonview_b64_summary(const char *s, size_t n, char *out, size_t size);

#endif
