/* webserver.h — the original's upload page, served with libmicrohttpd.
 *
 * Routes: GET / (the page, assets/upload.html, embedded in the binary at
 * build time so the binary runs from anywhere), POST /upload (multipart
 * form-data, field "file"; parsed by MHD_PostProcessor and streamed to a
 * temporary file, then sent with the uploader), GET /status (Kafka
 * reachable or not), GET /topics (topic names; ?detail=1 adds partitions).
 *
 * The answers keep the original's shapes beside streamlab's own fields:
 * POST /upload: 200 {"success":true, "message", "metadata":{the record's
 * fields}, "ok":true, topic, partition, offset, ...}; errors {"success":false,
 * "message", "ok":false, "error", "status"}: 400 truncated or malformed
 * multipart, no file field; 413 larger than max_bytes; 415 unsupported type;
 * 502 Kafka delivery failed.  GET /status: {"status":"connected"|
 * "disconnected", "bootstrap_servers", "kafka_connected", "brokers", ...}.
 * GET /topics: ["name", ...].  The temporary file is removed in every case, so
 * nothing partial stays behind.
 *
 * Threading: libmicrohttpd runs a thread per connection; each upload makes
 * its own uploader.  webserver_start/stop belong to one thread. */
#ifndef STREAMLAB_WEBSERVER_H
#define STREAMLAB_WEBSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/kafka/kconf.h"
#include "producers/uploader.h"

typedef struct webserver webserver_t;

typedef enum { WEB_SENDING, WEB_SENT, WEB_FAILED } web_upload_state_t;

typedef struct webserver_opts {
    const char *listen;   /* "HOST:PORT" (default 127.0.0.1:5000; port 0 = any free one) */
    int64_t max_bytes;    /* refuse bigger uploads with 413 (default 256 MiB) */
    const char *tmpdir;   /* where uploads are spooled (default $TMPDIR or /tmp) */
    upload_opts_t upload; /* pacing etc. for the uploads */
    /* Where each upload stands, for whoever shows it (the console), or NULL:
     * being sent (done of total bytes), sent (detail: where it went) or
     * failed (detail: why).  Runs on the connection's thread. */
    void (*progress)(void *ctx, const char *filename, const char *file_type, int64_t done,
                     int64_t total, web_upload_state_t state, const char *detail);
    void *progress_ctx;
} webserver_opts_t;

void webserver_opts_init(webserver_opts_t *o);

/* Starts serving; k, o (and what they point to) must outlive the server.
 * NULL with errstr filled (bad address, port in use). */
webserver_t *webserver_start(const kconf_t *k, const webserver_opts_t *o, char *errstr,
                             size_t errstr_size);
/* The address it listens on, "127.0.0.1:5000" (owned by the server). */
const char *webserver_address(const webserver_t *w);
void webserver_stop(webserver_t *w);

/* The embedded page (NUL-terminated) and its length. */
const char *webserver_page(size_t *len);

#endif
