/* transactions.c — the original's Flink job on the dataflow runtime.
 *
 *   source(transactions) -> filter amount > threshold -> map discount
 *     -> sink processed_transactions
 *     -> key_by user_id -> reduce totals -> sink user_aggregations
 *     -> filter amount > high-value threshold -> sink high_value_transactions
 *     -> key_by category -> 30 s tumbling window -> sink category_windows
 *                                               \-> late -> sink late_transactions
 *   source(transactions) -> map fraud fields -> key_by user_id
 *     -> pattern small_then_large (card testing) -> sink fraud_alerts
 *
 * Money is summed in integer cents so totals never drift. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "engine/jsonr.h"
#include "engine/jsonw.h"
#include "engine/evtime.h"
#include "engine/util.h"
#include "engine/pipelines/pipelines.h"

static const struct {
    const char *name;
    json_type type; /* JSON_REAL: a number or a numeric string; JSON_INTEGER: a whole one */
} fields[] = {
    {"transaction_id", JSON_STRING}, {"user_id", JSON_STRING},  {"product", JSON_STRING},
    {"category", JSON_STRING},       {"amount", JSON_REAL},     {"quantity", JSON_INTEGER},
    {"payment_method", JSON_STRING}, {"timestamp", JSON_STRING}, {"location", JSON_STRING},
};

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

int txn_number(const json_t *f, double *out)
{
    if (json_is_number(f)) {
        *out = json_number_value(f);
        return 0;
    }
    if (!json_is_string(f))
        return -1;
    /* The original reads amount with float() and quantity with int(): a decimal
     * number in a string counts, surrounding blanks allowed; nothing else does. */
    const char *s = json_string_value(f), *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    bool digits = false;
    const char *q = p;
    if (*q == '+' || *q == '-')
        q++;
    for (; *q >= '0' && *q <= '9'; q++)
        digits = true;
    if (*q == '.')
        for (q++; *q >= '0' && *q <= '9'; q++)
            digits = true;
    if (!digits)
        return -1;
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!(*q >= '0' && *q <= '9'))
            return -1;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    const char *end = q;
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q || (size_t)(q - s) != json_string_length(f))
        return -1;
    char buf[64];
    if ((size_t)(end - p) >= sizeof buf)
        return -1;
    memcpy(buf, p, (size_t)(end - p));
    buf[end - p] = '\0';
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 0 : -1;
}

int txn_parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
              size_t errsize, void *ctx)
{
    (void)ctx;
    json_error_t je;
    json_t *v = buf ? jsonr_load(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je) : NULL;
    if (!buf) {
        snprintf(err, errsize, "empty record (no value)");
        return -1;
    }
    if (!v) {
        snprintf(err, errsize, "not JSON: %s (at byte %d)", je.text, je.position);
        return -1;
    }
    if (!json_is_object(v)) {
        snprintf(err, errsize, "expected a JSON object, got %s", type_name(v));
        goto bad;
    }
    double amount = 0, quantity = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *f = json_object_get(v, fields[i].name);
        if (!f) {
            snprintf(err, errsize, "missing field \"%s\"", fields[i].name);
            goto bad;
        }
        if (fields[i].type == JSON_STRING) {
            if (!json_is_string(f)) {
                snprintf(err, errsize, "field \"%s\" should be a string, got %s", fields[i].name,
                         type_name(f));
                goto bad;
            }
            continue;
        }
        double *d = fields[i].type == JSON_REAL ? &amount : &quantity;
        if (txn_number(f, d) < 0) {
            if (json_is_string(f))
                snprintf(err, errsize, "field \"%s\" should be a number, got the string \"%.40s\"",
                         fields[i].name, json_string_value(f));
            else
                snprintf(err, errsize, "field \"%s\" should be a number, got %s", fields[i].name,
                         type_name(f));
            goto bad;
        }
        if (fields[i].type == JSON_INTEGER && (*d != floor(*d) || fabs(*d) > 1e15)) {
            snprintf(err, errsize, "field \"%s\" should be a whole number, got %g", fields[i].name,
                     *d);
            goto bad;
        }
    }
    if (!isfinite(amount) || amount < 0 || amount > 1e12) {
        snprintf(err, errsize, "field \"amount\" out of range: %g", amount);
        goto bad;
    }
    /* What the original could read, streamlab writes as numbers: consumers
     * downstream compute with them. */
    json_t *a = json_object_get(v, "amount"), *q = json_object_get(v, "quantity");
    if (json_is_string(a))
        json_object_set_new(v, "amount", json_real(amount));
    if (!json_is_integer(q))
        json_object_set_new(v, "quantity", json_integer((json_int_t)quantity));
    json_t *ts = json_object_get(v, "timestamp");
    if (evtime_parse(json_string_value(ts), json_string_length(ts), event_ms) < 0) {
        snprintf(err, errsize, "field \"timestamp\" is not an ISO-8601 time: \"%s\"",
                 json_string_value(ts));
        goto bad;
    }
    *value = v;
    return 0;
bad:
    json_decref(v);
    return -1;
}

/* --- the typed transaction ---------------------------------------------------
 * The hot path's record: the input bytes (one copy) with each field's key and
 * value as offsets into them, amount and quantity as numbers, and what the
 * discount adds.  It is written back field by field, so no JSON tree is built
 * or freed per record.  It holds only what it can write exactly as the JSON
 * path would (txn_parse, then jsonw_dumps): plain printable-ASCII strings
 * without escapes, numbers in JSON's own grammar, flat objects without
 * duplicate keys.  Anything else goes the JSON path (txn_parse), which also
 * gives every error message; tests/test_txn_typed.c and
 * tests/fuzz/fuzz_txn_typed.c hold the two paths to the same bytes. */

#define TXN_MAX_FIELDS 24
enum { TF_STRING, TF_INT, TF_REAL, TF_LITERAL };
enum { IX_ID, IX_USER, IX_PRODUCT, IX_CATEGORY, IX_AMOUNT, IX_QUANTITY, IX_PAYMENT, IX_TIMESTAMP,
       IX_LOCATION, IX_KNOWN };

typedef struct txn_field {
    uint32_t k, v;       /* offsets of the key's and the value's first byte (inside quotes) */
    uint16_t klen, vlen; /* their lengths */
    uint8_t kind;        /* TF_* */
    union {
        long long i;
        double d;
    } num;
} txn_field_t;

typedef struct txn {
    df_obj_t h;
    int nf;
    int8_t ix[IX_KNOWN]; /* the field of each known name */
    txn_field_t f[TXN_MAX_FIELDS];
    double amount;
    bool discounted; /* map:discount ran: the four fields below are written */
    double factor;
    int64_t final_cents;
    char processed_at[EVTIME_BUFSIZE];
    size_t len;
    char text[];
} txn_t;

static void txn_write(const void *obj, jsonw_buf_t *b)
{
    const txn_t *t = obj;
    jsonw_raw(b, "{", 1);
    for (int i = 0; i < t->nf; i++) {
        const txn_field_t *f = &t->f[i];
        if (i)
            jsonw_raw(b, ",", 1);
        jsonw_raw(b, "\"", 1);
        jsonw_raw(b, t->text + f->k, f->klen);
        jsonw_raw(b, "\":", 2);
        switch (f->kind) {
        case TF_STRING:
            jsonw_raw(b, "\"", 1);
            jsonw_raw(b, t->text + f->v, f->vlen);
            jsonw_raw(b, "\"", 1);
            break;
        case TF_INT: jsonw_int(b, f->num.i); break;
        case TF_REAL: jsonw_real(b, f->num.d); break;
        default: jsonw_raw(b, t->text + f->v, f->vlen);
        }
    }
    if (t->discounted) {
        jsonw_raw(b, ",\"original_amount\":", 19);
        jsonw_real(b, t->amount);
        jsonw_raw(b, ",\"discount_applied\":", 20);
        jsonw_real(b, t->factor);
        jsonw_raw(b, ",\"final_amount\":", 16);
        jsonw_real(b, t->final_cents / 100.0);
        jsonw_raw(b, ",\"processing_timestamp\":", 24);
        jsonw_string(b, t->processed_at, strlen(t->processed_at));
    }
    jsonw_raw(b, "}", 1);
}

static json_t *txn_to_json(const void *obj)
{
    const txn_t *t = obj;
    json_t *v = json_object();
    for (int i = 0; i < t->nf; i++) {
        const txn_field_t *f = &t->f[i];
        const char *val = t->text + f->v;
        json_t *x;
        switch (f->kind) {
        case TF_STRING: x = json_stringn(val, f->vlen); break;
        case TF_INT: x = json_integer(f->num.i); break;
        case TF_REAL: x = json_real(f->num.d); break;
        default: x = val[0] == 't' ? json_true() : val[0] == 'f' ? json_false() : json_null();
        }
        json_object_setn_new_nocheck(v, t->text + f->k, f->klen, x);
    }
    if (t->discounted) {
        json_object_set_new(v, "original_amount", json_real(t->amount));
        json_object_set_new(v, "discount_applied", json_real(t->factor));
        json_object_set_new(v, "final_amount", json_real(t->final_cents / 100.0));
        json_object_set_new(v, "processing_timestamp", json_string(t->processed_at));
    }
    return v;
}

static const char *txn_field(const void *obj, const char *name, size_t *len)
{
    const txn_t *t = obj;
    size_t n = strlen(name);
    for (int i = 0; i < t->nf; i++) {
        const txn_field_t *f = &t->f[i];
        if (f->kind == TF_STRING && f->klen == n && !memcmp(t->text + f->k, name, n)) {
            *len = f->vlen;
            return t->text + f->v;
        }
    }
    return NULL;
}

static bool txn_number_field(const void *obj, const char *name, double *out)
{
    const txn_t *t = obj;
    if (t->discounted) {
        if (!strcmp(name, "original_amount"))
            return *out = t->amount, true;
        if (!strcmp(name, "discount_applied"))
            return *out = t->factor, true;
        if (!strcmp(name, "final_amount"))
            return *out = t->final_cents / 100.0, true;
    }
    size_t n = strlen(name);
    for (int i = 0; i < t->nf; i++) {
        const txn_field_t *f = &t->f[i];
        if (f->klen == n && !memcmp(t->text + f->k, name, n)) {
            if (f->kind == TF_INT)
                return *out = (double)f->num.i, true;
            if (f->kind == TF_REAL)
                return *out = f->num.d, true;
            return false;
        }
    }
    return false;
}

static void *txn_clone(const void *obj)
{
    const txn_t *t = obj;
    txn_t *c = xmalloc(sizeof *t + t->len + 1);
    memcpy(c, t, sizeof *t + t->len + 1);
    c->h.refs = 1;
    return c;
}

static void txn_free(void *obj) { free(obj); }

static const df_obj_class_t txn_class = {.name = "transaction",
                                         .to_json = txn_to_json,
                                         .write = txn_write,
                                         .field = txn_field,
                                         .number = txn_number_field,
                                         .clone = txn_clone,
                                         .free = txn_free};

/* A string token jsonw would write back as it is: printable ASCII, no quote
 * or backslash (JSON's escapes, control bytes and UTF-8 go the JSON path). */
static bool plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '\\' ||
            s[i] == '"')
            return false;
    return true;
}

/* A number token in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * Sets *whole when it has neither fraction nor exponent. */
static bool json_number_token(const char *s, size_t n, bool *whole)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i == n)
        return false;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return false;
    *whole = true;
    if (i < n && s[i] == '.') {
        *whole = false;
        if (++i == n || !(s[i] >= '0' && s[i] <= '9'))
            return false;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *whole = false;
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == n || !(s[i] >= '0' && s[i] <= '9'))
            return false;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return i == n;
}

/* Converts a number token as jsonr does (strtoll / strtod); false when that
 * refuses it. */
static bool number_value(const char *s, size_t n, bool whole, txn_field_t *f)
{
    char buf[64];
    if (n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    char *end;
    if (whole) {
        f->kind = TF_INT;
        f->num.i = strtoll(buf, &end, 10);
    } else {
        f->kind = TF_REAL;
        f->num.d = strtod(buf, &end);
        if (!isfinite(f->num.d))
            return false;
    }
    return !errno && !*end;
}

/* jsmn is lenient about separators ({"a":1,} passes): the bytes between two
 * tokens must be JSON blanks around exactly the separator sep (none for 0). */
static bool gap(const char *buf, int from, int to, char sep)
{
    bool seen = !sep;
    for (int i = from; i < to; i++) {
        if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')
            continue;
        if (buf[i] != sep || seen)
            return false;
        seen = true;
    }
    return seen;
}

/* A token's bytes, quotes included. */
static int raw_start(const jsmntok_t *t) { return t->start - (t->type == JSMN_STRING); }
static int raw_end(const jsmntok_t *t) { return t->end + (t->type == JSMN_STRING); }

static const char *const known[IX_KNOWN] = {
    [IX_ID] = "transaction_id", [IX_USER] = "user_id",     [IX_PRODUCT] = "product",
    [IX_CATEGORY] = "category", [IX_AMOUNT] = "amount",    [IX_QUANTITY] = "quantity",
    [IX_PAYMENT] = "payment_method", [IX_TIMESTAMP] = "timestamp", [IX_LOCATION] = "location",
};

static const uint16_t known_len[IX_KNOWN] = {14, 7, 7, 8, 6, 8, 14, 9, 8};

/* The typed record for buf, or NULL when it is not one the typed path holds
 * exactly (the JSON path then takes it). */
static txn_t *txn_typed(const char *buf, size_t len, int64_t *event_ms)
{
    if (!buf || len > 65535)
        return NULL;
    jsmn_parser p;
    jsmntok_t tok[1 + 2 * TXN_MAX_FIELDS];
    jsmn_init(&p);
    int n = jsmn_parse(&p, buf, len, tok, sizeof tok / sizeof tok[0]);
    if (n < 1 || tok[0].type != JSMN_OBJECT || n != 1 + 2 * tok[0].size)
        return NULL;
    if (tok[0].size < 1 || !gap(buf, 0, tok[0].start, 0) || !gap(buf, tok[0].end, (int)len, 0) ||
        !gap(buf, raw_end(&tok[n - 1]), tok[0].end - 1, 0))
        return NULL;
    for (int i = 0; i < tok[0].size; i++) {
        const jsmntok_t *k = &tok[1 + 2 * i], *v = &tok[2 + 2 * i];
        int prev = i ? raw_end(&tok[2 * i]) : tok[0].start + 1;
        if (!gap(buf, prev, raw_start(k), i ? ',' : 0) || !gap(buf, raw_end(k), raw_start(v), ':'))
            return NULL;
    }
    txn_t *t = xmalloc(sizeof *t + len + 1);
    t->h = (df_obj_t){.cls = &txn_class, .refs = 1};
    t->nf = tok[0].size;
    t->discounted = false;
    t->len = len;
    memcpy(t->text, buf, len);
    t->text[len] = '\0';
    memset(t->ix, -1, sizeof t->ix);
    for (int i = 0; i < t->nf; i++) {
        const jsmntok_t *k = &tok[1 + 2 * i], *v = &tok[2 + 2 * i];
        txn_field_t *f = &t->f[i];
        f->k = (uint32_t)k->start;
        f->klen = (uint16_t)(k->end - k->start);
        f->v = (uint32_t)v->start;
        f->vlen = (uint16_t)(v->end - v->start);
        const char *ks = buf + k->start, *vs = buf + v->start;
        if (k->type != JSMN_STRING || k->size != 1 || !plain(ks, f->klen) || v->size != 0)
            goto decline;
        for (int j = 0; j < i; j++) /* duplicates: the JSON path refuses them */
            if (t->f[j].klen == f->klen && !memcmp(t->text + t->f[j].k, ks, f->klen))
                goto decline;
        if (v->type == JSMN_STRING) {
            if (!plain(vs, f->vlen))
                goto decline;
            f->kind = TF_STRING;
        } else if (v->type == JSMN_PRIMITIVE) {
            bool whole;
            if ((f->vlen == 4 && !memcmp(vs, "true", 4)) || (f->vlen == 5 && !memcmp(vs, "false", 5)) ||
                (f->vlen == 4 && !memcmp(vs, "null", 4)))
                f->kind = TF_LITERAL;
            else if (!json_number_token(vs, f->vlen, &whole) || !number_value(vs, f->vlen, whole, f))
                goto decline;
        } else {
            goto decline;
        }
        for (int x = 0; x < IX_KNOWN; x++)
            if (known_len[x] == f->klen && !memcmp(known[x], ks, f->klen))
                t->ix[x] = (int8_t)i;
        /* the discount's names: the JSON path would replace such a field in place */
        if ((f->klen == 15 && !memcmp(ks, "original_amount", 15)) ||
            (f->klen == 16 && !memcmp(ks, "discount_applied", 16)) ||
            (f->klen == 12 && !memcmp(ks, "final_amount", 12)) ||
            (f->klen == 20 && !memcmp(ks, "processing_timestamp", 20)))
            goto decline;
    }
    for (int x = 0; x < IX_KNOWN; x++) {
        if (t->ix[x] < 0)
            goto decline;
        uint8_t kind = t->f[t->ix[x]].kind;
        if (x == IX_AMOUNT ? kind != TF_INT && kind != TF_REAL
                           : x == IX_QUANTITY ? kind != TF_INT : kind != TF_STRING)
            goto decline;
    }
    const txn_field_t *a = &t->f[t->ix[IX_AMOUNT]], *q = &t->f[t->ix[IX_QUANTITY]];
    t->amount = a->kind == TF_INT ? (double)a->num.i : a->num.d;
    if (!isfinite(t->amount) || t->amount < 0 || t->amount > 1e12 || llabs(q->num.i) > 1000000000000000LL)
        goto decline;
    const txn_field_t *ts = &t->f[t->ix[IX_TIMESTAMP]];
    if (evtime_parse(t->text + ts->v, ts->vlen, event_ms) < 0)
        goto decline;
    return t;
decline:
    free(t);
    return NULL;
}

int txn_parse_rec(const char *buf, size_t len, df_record_t *r, char *err, size_t errsize,
                  void *ctx)
{
    txn_t *t = txn_typed(buf, len, &r->event_ms);
    if (t) {
        r->obj = &t->h;
        return 0;
    }
    return txn_parse(buf, len, &r->value, &r->event_ms, err, errsize, ctx);
}

/* --- reading a record in either form ---------------------------------------- */

static const txn_t *typed(const df_record_t *r)
{
    return r->obj && r->obj->cls == &txn_class ? (const txn_t *)r->obj : NULL;
}

static double rec_amount(const df_record_t *r)
{
    const txn_t *t = typed(r);
    if (t)
        return t->amount;
    double a = 0;
    df_record_number(r, "amount", &a);
    return a;
}

/* A known string field's bytes ("" when absent). */
static const char *rec_str(const df_record_t *r, int ix, size_t *len)
{
    const txn_t *t = typed(r);
    if (t) {
        *len = t->f[t->ix[ix]].vlen;
        return t->text + t->f[t->ix[ix]].v;
    }
    const char *s = df_record_string(r, known[ix], len);
    if (!s)
        *len = 0;
    return s ? s : "";
}

static int64_t rec_final_cents(const df_record_t *r)
{
    const txn_t *t = typed(r);
    if (t)
        return t->final_cents;
    double f = 0;
    df_record_number(r, "final_amount", &f);
    return llround(f * 100.0);
}

double txn_discount_factor(const char *category)
{
    if (!strcmp(category, "electronics"))
        return 0.95;
    if (!strcmp(category, "books"))
        return 0.90;
    if (!strcmp(category, "clothing"))
        return 0.92;
    return 1.0;
}

int64_t txn_final_cents(double amount, double factor)
{
    /* For whole cents (the usual case) work in cents first, so that 19.99 * 0.9
     * rounds on its true value (1799.1 cents), not on a binary neighbour of
     * x.xx5.  Other amounts are rounded once, on amount * factor. */
    double c = amount * 100.0, cents = round(c);
    if (fabs(c - cents) > 1e-6)
        return (int64_t)llround(c * factor);
    return (int64_t)llround(cents * factor + (cents * factor >= 0 ? 1e-7 : -1e-7));
}

bool txn_passes_filter(const df_record_t *r, void *params)
{
    pipeline_params_t *p = params;
    return rec_amount(r) > atomic_load_explicit(&p->filter_amount, memory_order_relaxed);
}

bool txn_is_high_value(const df_record_t *r, void *params)
{
    pipeline_params_t *p = params;
    return rec_amount(r) > atomic_load_explicit(&p->high_value_amount, memory_order_relaxed);
}

static json_t *apply_discount(json_t *v)
{
    v = df_writable(v);
    double amount = 0;
    df_json_number(json_object_get(v, "amount"), &amount);
    double factor = txn_discount_factor(json_string_value(json_object_get(v, "category")));
    json_object_set_new(v, "original_amount", json_real(amount));
    /* The original's discount_applied is the multiplier: final = amount * it. */
    json_object_set_new(v, "discount_applied", json_real(factor));
    json_object_set_new(v, "final_amount", json_real(txn_final_cents(amount, factor) / 100.0));
    json_object_set_new(v, "processing_timestamp", pipeline_now_string());
    return v;
}

void txn_discount_rec(df_record_t *r, void *ctx)
{
    (void)ctx;
    if (!typed(r)) {
        r->value = apply_discount(r->value);
        return;
    }
    txn_t *t = (txn_t *)(r->obj = df_obj_writable(r->obj));
    const txn_field_t *c = &t->f[t->ix[IX_CATEGORY]];
    char category[32] = "";
    if (c->vlen < sizeof category)
        memcpy(category, t->text + c->v, c->vlen);
    t->factor = txn_discount_factor(category);
    t->final_cents = txn_final_cents(t->amount, t->factor);
    evtime_format_us(evtime_now_us(), t->processed_at);
    t->discounted = true;
}

static json_t *key_user(const df_record_t *r, void *ctx)
{
    (void)ctx;
    size_t n;
    const char *s = rec_str(r, IX_USER, &n);
    return json_stringn(s, n);
}

static json_t *key_category(const df_record_t *r, void *ctx)
{
    (void)ctx;
    size_t n;
    const char *s = rec_str(r, IX_CATEGORY, &n);
    return json_stringn(s, n);
}

/* User totals: the accumulator is the output record itself, updated in place. */
static json_t *user_create(const df_record_t *r, void *ctx)
{
    (void)ctx;
    return json_pack("{sOsfsI}", "user_id", r->key, "total_spent", 0.0, "transaction_count",
                     (json_int_t)0);
}

static void user_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    int64_t cents = llround(json_real_value(json_object_get(acc, "total_spent")) * 100.0);
    cents += rec_final_cents(r);
    json_real_set(json_object_get(acc, "total_spent"), cents / 100.0);
    json_t *n = json_object_get(acc, "transaction_count");
    json_integer_set(n, json_integer_value(n) + 1);
}

static json_t *user_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)key, (void)start, (void)end, (void)ctx;
    json_object_set_new(acc, "last_updated", pipeline_now_string());
    return json_incref(acc);
}

static const df_agg_t user_totals = {
    .create = user_create, .add = user_add, .result = user_result, .typed = true};

/* Category windows: accumulate cents and count; the result is a new record. */
static json_t *cat_create(const df_record_t *r, void *ctx)
{
    (void)r, (void)ctx;
    return json_pack("{sIsI}", "cents", (json_int_t)0, "count", (json_int_t)0);
}

static void cat_add(json_t *acc, const df_record_t *r, void *ctx)
{
    (void)ctx;
    json_t *c = json_object_get(acc, "cents"), *n = json_object_get(acc, "count");
    json_integer_set(c, json_integer_value(c) + rec_final_cents(r));
    json_integer_set(n, json_integer_value(n) + 1);
}

static json_t *cat_result(json_t *acc, json_t *key, int64_t start, int64_t end, void *ctx)
{
    (void)ctx;
    char s[EVTIME_BUFSIZE], e[EVTIME_BUFSIZE];
    return json_pack("{sOsfsIssss}", "category", key, "total_amount",
                     json_integer_value(json_object_get(acc, "cents")) / 100.0, "transaction_count",
                     json_integer_value(json_object_get(acc, "count")), "window_start",
                     evtime_format(start, s), "window_end", evtime_format(end, e));
}

static void cat_merge(json_t *into, const json_t *from, void *ctx)
{
    (void)ctx;
    static const char *const fields[] = {"cents", "count"};
    for (size_t i = 0; i < 2; i++) {
        json_t *f = json_object_get(into, fields[i]);
        json_integer_set(f, json_integer_value(f) + json_integer_value(json_object_get(from, fields[i])));
    }
}

static const df_agg_t category_totals = {
    .create = cat_create, .add = cat_add, .result = cat_result, .merge = cat_merge, .typed = true};

/* --- card testing: the fraud_alerts pattern ----------------------------------
 * On every parsed transaction (before the amount filter), per user_id: a
 * transaction below fraud_small whose very next one of that user in event
 * time is above fraud_large, at most fraud_within_ms later (the runtime's
 * df_pattern).  The pattern holds its records until the watermark passes
 * them, so it holds what it reads, not the transaction: the discount
 * downstream changes the typed transaction in place, and a reference held
 * here would make it copy every record (copy on write). */

typedef struct fraud_ev {
    df_obj_t h;
    double amount;
    uint16_t user_len, id_len, ts_len;
    char text[]; /* user_id, transaction_id, timestamp, each NUL-terminated */
} fraud_ev_t;

static const char *fev_user(const fraud_ev_t *e) { return e->text; }
static const char *fev_id(const fraud_ev_t *e) { return e->text + e->user_len + 1; }
static const char *fev_ts(const fraud_ev_t *e) { return e->text + e->user_len + e->id_len + 2; }

static void fev_write(const void *obj, jsonw_buf_t *b)
{
    const fraud_ev_t *e = obj;
    jsonw_raw(b, "{\"transaction_id\":", 18);
    jsonw_string(b, fev_id(e), e->id_len);
    jsonw_raw(b, ",\"user_id\":", 11);
    jsonw_string(b, fev_user(e), e->user_len);
    jsonw_raw(b, ",\"amount\":", 10);
    jsonw_real(b, e->amount);
    jsonw_raw(b, ",\"timestamp\":", 13);
    jsonw_string(b, fev_ts(e), e->ts_len);
    jsonw_raw(b, "}", 1);
}

static json_t *fev_to_json(const void *obj)
{
    const fraud_ev_t *e = obj;
    return json_pack("{ss#ss#sfss#}", "transaction_id", fev_id(e), (int)e->id_len, "user_id",
                     fev_user(e), (int)e->user_len, "amount", e->amount, "timestamp", fev_ts(e),
                     (int)e->ts_len);
}

static const char *fev_field(const void *obj, const char *name, size_t *len)
{
    const fraud_ev_t *e = obj;
    if (!strcmp(name, "user_id"))
        return *len = e->user_len, fev_user(e);
    if (!strcmp(name, "transaction_id"))
        return *len = e->id_len, fev_id(e);
    if (!strcmp(name, "timestamp"))
        return *len = e->ts_len, fev_ts(e);
    return NULL;
}

static bool fev_number(const void *obj, const char *name, double *out)
{
    const fraud_ev_t *e = obj;
    if (strcmp(name, "amount"))
        return false;
    *out = e->amount;
    return true;
}

static size_t fev_size(const fraud_ev_t *e)
{
    return sizeof *e + (size_t)e->user_len + e->id_len + e->ts_len + 3;
}

static void *fev_clone(const void *obj)
{
    const fraud_ev_t *e = obj;
    fraud_ev_t *c = xmalloc(fev_size(e));
    memcpy(c, e, fev_size(e));
    c->h.refs = 1;
    return c;
}

static const df_obj_class_t fraud_ev_class = {.name = "fraud fields",
                                              .to_json = fev_to_json,
                                              .write = fev_write,
                                              .field = fev_field,
                                              .number = fev_number,
                                              .clone = fev_clone,
                                              .free = free};

/* The fields the pattern reads, in one small allocation (the transaction's
 * reference is dropped here, before the discount runs on its branch). */
static void fraud_fields(df_record_t *r, void *ctx)
{
    (void)ctx;
    size_t ul, il, tl;
    const char *u = rec_str(r, IX_USER, &ul), *id = rec_str(r, IX_ID, &il),
               *ts = rec_str(r, IX_TIMESTAMP, &tl);
    if (ul > 4096 || il > 4096 || tl > 4096) { /* not a transaction the pattern reads */
        df_record_release(r);
        return;
    }
    fraud_ev_t *e = xmalloc(sizeof *e + ul + il + tl + 3);
    e->h = (df_obj_t){.cls = &fraud_ev_class, .refs = 1};
    e->amount = rec_amount(r);
    e->user_len = (uint16_t)ul;
    e->id_len = (uint16_t)il;
    e->ts_len = (uint16_t)tl;
    memcpy(e->text, u, ul);
    e->text[ul] = '\0';
    memcpy(e->text + ul + 1, id, il);
    e->text[ul + 1 + il] = '\0';
    memcpy(e->text + ul + il + 2, ts, tl);
    e->text[ul + il + 2 + tl] = '\0';
    df_record_release(r);
    r->obj = &e->h;
}

/* A held record's field, in the form it is in (a changelog gives JSON). */
static const char *fraud_str(const df_record_t *r, const char *name, size_t *len)
{
    const char *s = df_record_string(r, name, len);
    if (!s)
        *len = 0;
    return s ? s : "";
}

static double fraud_amount(const df_record_t *r)
{
    double a = 0;
    df_record_number(r, "amount", &a);
    return a;
}

static bool fraud_cond(int stage, const df_record_t *r, const df_record_t *const *prev, void *ctx)
{
    (void)prev;
    pipeline_params_t *p = ctx;
    double a = fraud_amount(r);
    if (stage == 0)
        return a < atomic_load_explicit(&p->fraud_small, memory_order_relaxed);
    return a > atomic_load_explicit(&p->fraud_large, memory_order_relaxed);
}

static int64_t fraud_within(void *ctx)
{
    pipeline_params_t *p = ctx;
    return atomic_load_explicit(&p->fraud_within_ms, memory_order_relaxed);
}

static json_t *fraud_result(const json_t *key, const df_record_t *const *m, void *ctx)
{
    (void)key, (void)ctx;
    size_t ul, i1, i2, t1, t2;
    const char *user = fraud_str(m[0], "user_id", &ul);
    const char *id1 = fraud_str(m[0], "transaction_id", &i1), *id2 = fraud_str(m[1], "transaction_id", &i2);
    const char *ts1 = fraud_str(m[0], "timestamp", &t1), *ts2 = fraud_str(m[1], "timestamp", &t2);
    return json_pack("{ss#ssss#ss#sfsfss#ss#so}", "user_id", user, (int)ul, "pattern",
                     "small_then_large", "first_transaction_id", id1, (int)i1,
                     "second_transaction_id", id2, (int)i2, "first_amount", fraud_amount(m[0]),
                     "second_amount", fraud_amount(m[1]), "first_timestamp", ts1, (int)t1,
                     "second_timestamp", ts2, (int)t2, "detected_at", pipeline_now_string());
}

static const df_pattern_t small_then_large = {
    .nstages = 2, .cond = fraud_cond, .within = fraud_within, .result = fraud_result};

static json_t *key_fraud_user(const df_record_t *r, void *ctx)
{
    (void)ctx;
    size_t n;
    const char *s = fraud_str(r, "user_id", &n);
    return json_stringn(s, n);
}

df_graph_t *pipeline_transactions(const df_host_t *host, pipeline_params_t *params)
{
    df_graph_t *g = df_graph_new("transactions", host);
    df_graph_set_time(g, params->out_of_orderness_ms, params->idle_timeout_ms);
    df_graph_use_processing_time(g, params->processing_time);

    df_stream_t *src = df_source_rec(g, "transactions", "transactions.dlq", txn_parse_rec, NULL);
    /* View sinks come first on each branch point: they only read, and the
     * last branch may then change the record in place. */
    if (params->tap)
        df_sink_tap(src, "view:feed", params->tap, params->tap_ctx, true);
    /* Card testing, on every parsed transaction: before the filter's branch,
     * so that the transaction's reference is dropped before the discount. */
    df_stream_t *fields = df_map_rec(src, "map:fraud_fields", fraud_fields, NULL);
    df_stream_t *by_user_cep = df_key_by_rec(fields, "key_by:fraud_user", key_fraud_user, NULL);
    df_stream_t *alerts = df_pattern(by_user_cep, "pattern:small_then_large", &small_then_large, params);
    if (params->tap)
        df_sink_tap(alerts, "view:fraud_alerts", params->tap, params->tap_ctx, false);
    df_sink_topic(alerts, "fraud_alerts", "user_id");
    df_stream_t *passed = df_filter_rec(src, "filter:amount", txn_passes_filter, params);
    df_stream_t *processed = df_map_rec(passed, "map:discount", txn_discount_rec, NULL);
    df_sink_topic(processed, "processed_transactions", "user_id");

    df_stream_t *high = df_filter_rec(processed, "filter:high_value", txn_is_high_value, params);
    df_sink_topic(high, "high_value_transactions", "user_id");

    /* Not the input's key: across processes these records go through a
     * repartition topic (when the engine repartitions; see df_key_by_repartition). */
    df_stream_t *by_cat = df_key_by_repartition_rec(processed, "key_by:category", key_category, NULL,
                                                    "repartition-category_windows");
    if (params->tap)
        df_sink_tap(by_cat, "view:open_windows", params->tap, params->tap_ctx, true);
    df_window_spec_t spec = {.size_ms = params->window_ms,
                             .slide_ms = params->window_slide_ms,
                             .allowed_lateness_ms = params->allowed_lateness_ms};
    df_stream_t *win =
        params->session_gap_ms > 0
            ? df_window_session(by_cat, "window:category", params->session_gap_ms,
                                params->allowed_lateness_ms, &category_totals, NULL)
            : df_window(by_cat, "window:category", &spec, &category_totals, NULL);
    if (params->tap)
        df_sink_tap(win, "view:fired_windows", params->tap, params->tap_ctx, false);
    df_sink_topic(win, "category_windows", "category");
    df_sink_topic(df_window_late(win), "late_transactions", "user_id");

    /* Last branch: the user totals may then change the processed record in place. */
    df_stream_t *by_user = df_key_by_rec(processed, "key_by:user_id", key_user, NULL);
    df_stream_t *totals = df_reduce(by_user, "reduce:user_totals", &user_totals, NULL);
    df_reduce_set_ttl(totals, params->state_ttl_ms);
    if (params->tap)
        df_sink_tap(totals, "view:users", params->tap, params->tap_ctx, false);
    df_sink_topic(totals, "user_aggregations", "user_id");
    return g;
}
