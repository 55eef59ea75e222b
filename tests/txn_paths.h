/* txn_paths.h — the transaction pipeline's two paths side by side, for
 * tests/test_txn_typed.c and tests/fuzz/fuzz_txn_typed.c.
 *
 * txn_parse_rec makes a typed record when it can write the input back
 * exactly, and otherwise hands it to txn_parse (the JSON path).  The typed
 * path must never change a byte: what it accepts, the JSON path accepts,
 * with the same event time, and after map:discount both write the same
 * text (and the typed value's to_json writes it too).  What it declines
 * gets txn_parse's own answer. */
#ifndef STREAMLAB_TXN_PATHS_H
#define STREAMLAB_TXN_PATHS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/jsonw.h"
#include "engine/pipelines/pipelines.h"

typedef struct txn_paths {
    bool json_ok, typed;    /* the JSON path accepted it; the typed path took it */
    bool same_result;       /* both accepted or both refused */
    bool same_error;        /* refused: the same reason */
    bool same_time;         /* accepted: the same event time */
    bool same_text;         /* accepted: the same text before and after map:discount */
    bool same_as_json;      /* typed: to_json writes the same text too */
    char err[256];          /* the JSON path's reason, when it refused */
} txn_paths_t;

static inline void txn_write_any(const df_record_t *r, char **out)
{
    *out = r->obj ? jsonw_dumps_with((void (*)(const void *, jsonw_buf_t *))r->obj->cls->write,
                                     r->obj, NULL)
                  : jsonw_dumps(r->value, NULL);
}

static inline txn_paths_t txn_paths_compare(const char *buf, size_t len)
{
    txn_paths_t p = {0};
    evtime_set_thread_clock_us(1705312800123456LL); /* processing time, fixed */
    df_record_t j = {0}, t = {0};
    char err2[256] = "";
    p.json_ok = txn_parse(buf, len, &j.value, &j.event_ms, p.err, sizeof p.err, NULL) == 0;
    bool typed_ok = txn_parse_rec(buf, len, &t, err2, sizeof err2, NULL) == 0;
    p.typed = t.obj != NULL;
    p.same_result = p.json_ok == typed_ok;
    p.same_error = p.json_ok || !strcmp(p.err, err2);
    if (p.json_ok && typed_ok) {
        p.same_time = j.event_ms == t.event_ms;
        char *a, *b, *c, *d;
        txn_write_any(&j, &a);
        txn_write_any(&t, &b);
        txn_discount_rec(&j, NULL);
        txn_discount_rec(&t, NULL);
        txn_write_any(&j, &c);
        txn_write_any(&t, &d);
        p.same_text = !strcmp(a, b) && !strcmp(c, d);
        p.same_as_json = true;
        if (t.obj) {
            json_t *v = t.obj->cls->to_json(t.obj);
            char *e = jsonw_dumps(v, NULL);
            p.same_as_json = !strcmp(c, e);
            free(e);
            json_decref(v);
        }
        free(a), free(b), free(c), free(d);
    }
    df_record_release(&j);
    df_record_release(&t);
    evtime_set_thread_clock_us(EVTIME_REAL_CLOCK);
    return p;
}

#endif
