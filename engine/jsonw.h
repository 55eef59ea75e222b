/* jsonw.h — compact JSON text for a Jansson value, fast.
 *
 * Why not json_dumps: on the engine's hot path it was half of the CPU time
 * (glibc's printf for every real, a growing strbuffer).  jsonw writes into
 * one buffer, prints money-like reals (at most 2 decimals) with integer
 * arithmetic and everything else as json_dumps would with DF_JSON_FLAGS
 * (compact, 15 significant digits).  The output is byte-identical to
 * json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15)); tests/test_jsonw.c
 * holds it to that.  Thread-safe: the only state is a scratch buffer per
 * thread (_Thread_local), which jsonw_thread_done() frees. */
#ifndef STREAMLAB_JSONW_H
#define STREAMLAB_JSONW_H

#include <jansson.h>
#include <stddef.h>

/* A growing output buffer, for writers of typed values (dataflow.h's
 * df_obj_class_t.write): the pieces below write exactly what jsonw_dumps
 * writes for the same JSON value. */
typedef struct jsonw_buf {
    char *p;
    size_t len, cap;
} jsonw_buf_t;
void jsonw_raw(jsonw_buf_t *b, const char *s, size_t n);         /* as it is */
void jsonw_string(jsonw_buf_t *b, const char *s, size_t n);      /* quoted, escaped */
void jsonw_real(jsonw_buf_t *b, double d);                       /* a JSON real */
void jsonw_int(jsonw_buf_t *b, long long v);                     /* a JSON integer */
void jsonw_value(jsonw_buf_t *b, const json_t *v);               /* any value */
/* Runs write(obj, buf) on the calling thread's scratch buffer and returns an
 * exact-size malloc'd copy, as jsonw_dumps. */
char *jsonw_dumps_with(void (*write)(const void *obj, jsonw_buf_t *b), const void *obj,
                       size_t *len);

/* A malloc'd NUL-terminated string; *len (if not NULL) gets its length.
 * Never NULL (allocation failure aborts through util_fatal). */
char *jsonw_dumps(const json_t *v, size_t *len);

/* Frees the calling thread's serialization buffer (call before a thread that
 * serialized records exits). */
void jsonw_thread_done(void);

#endif
