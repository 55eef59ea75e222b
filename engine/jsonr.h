/* jsonr.h — reading JSON into Jansson values, fast.
 *
 * The same values json_loadb(buf, len, 0, ...) gives (an object or an array
 * at the top, key order kept, integers as integers, a later duplicate key
 * replacing an earlier one), built from yajl's parser.  Thread-safe: no
 * state between calls. */
#ifndef STREAMLAB_JSONR_H
#define STREAMLAB_JSONR_H

#include <jansson.h>

/* The value in buf, or NULL for anything the fast path does not take (bad
 * JSON, and the cases where yajl and Jansson could differ): then ask Jansson.
 * A new reference, the caller's. */
json_t *jsonr_loadb(const char *buf, size_t len, size_t flags);

/* jsonr_loadb, else json_loadb(buf, len, flags, error): Jansson's value or
 * its error message, exactly, whichever path answered.  Flags other than
 * the two above go to Jansson directly. */
json_t *jsonr_load(const char *buf, size_t len, size_t flags, json_error_t *error);

#endif
