/* httpjson.h — one JSON request over HTTP (libcurl + Jansson), for the REST APIs of
 * Apache Flink (the jobmanager's REST API and the SQL Gateway).
 *
 * Blocking: call it from a CLI command or a background thread, never the TUI thread.
 * Thread-safe once httpjson_global_init() has run (main() calls it before any thread). */
#ifndef STREAMLAB_HTTPJSON_H
#define STREAMLAB_HTTPJSON_H

#include <jansson.h>
#include <stddef.h>

/* curl_global_init; idempotent; returns 0 or -1. */
int httpjson_global_init(void);

/* Sends METHOD ("GET", "POST", "PATCH", "DELETE") to URL with BODY as its JSON body
 * (NULL for none; not stolen) and a Content-Type/Accept of application/json, waiting
 * at most timeout_ms for the whole exchange.
 *
 * Returns the HTTP status (100-599) with *reply set to the parsed JSON reply (a new
 * reference the caller decrefs; NULL when the reply was empty or not JSON — then its
 * first bytes are in err), or -1 when no HTTP answer came (connection refused, timeout,
 * bad URL), with *reply NULL and the reason in err ("connection refused to ...").
 * Flink answers errors as {"errors": [...]}: httpjson_error() turns that into text. */
int httpjson_request(const char *method, const char *url, const json_t *body, long timeout_ms,
                     json_t **reply, char *err, size_t errlen);

/* Copies Flink's error text of a reply ({"errors": ["...", ...]}: the strings joined by
 * "; ", the first line of each Java stack trace only when want_trace is 0) into buf.
 * Returns 1 when the reply had errors, 0 when not (buf untouched). */
int httpjson_error(const json_t *reply, int want_trace, char *buf, size_t size);

/* Joins BASE (e.g. "http://127.0.0.1:8081" or with a trailing slash) and PATH
 * ("/jobs/overview") into a new string the caller frees. A BASE without a scheme gets
 * "http://". */
char *httpjson_url(const char *base, const char *path);

#endif
