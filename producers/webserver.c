/* webserver.c — see webserver.h.
 *
 * An upload request lives in a req_t from its first callback to libmicro-
 * httpd's "request completed" notification, which also runs when the client
 * goes away mid-body: that is where the spool file is always removed. */
#include "producers/webserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/kafka/kafka.h"
#include "engine/util.h"
#include "producers/filemeta.h"

extern const char streamlab_upload_html[], streamlab_upload_html_end[];

const char *webserver_page(size_t *len)
{
    *len = (size_t)(streamlab_upload_html_end - streamlab_upload_html);
    return streamlab_upload_html;
}

struct webserver {
    const kconf_t *k;
    webserver_opts_t o;
    struct MHD_Daemon *d;
    rd_kafka_t *meta; /* for /status and /topics; rd_kafka_metadata is thread-safe */
    char address[300];
};

typedef struct req {
    struct MHD_PostProcessor *pp;
    char tmp[4096];
    int fd;
    char name[256];
    int64_t bytes, max;
    bool saw_file, too_big, write_failed, malformed;
} req_t;

void webserver_opts_init(webserver_opts_t *o)
{
    *o = (webserver_opts_t){.listen = "127.0.0.1:5000", .max_bytes = 256LL * 1024 * 1024};
    upload_opts_init(&o->upload);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sends j (taking it) as JSON. */
static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return reply(c, status, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE);
}

/* The original's answer (success, message) beside streamlab's (ok, error, status). */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply_json(c, status, json_pack("{sbsssbsssi}", "success", 0, "message", msg, "ok", 0,
                                           "error", msg, "status", status));
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
    (void)kind, (void)content_type, (void)transfer_encoding, (void)off;
    req_t *q = cls;
    /* A part without a name (no name= in its Content-Disposition) has key NULL. */
    if (!key || strcmp(key, "file") || !filename)
        return MHD_YES; /* other fields are ignored */
    if (!q->saw_file) {
        q->saw_file = true;
        snprintf(q->name, sizeof q->name, "%s", filename);
    } else if (strcmp(q->name, filename)) {
        return MHD_YES; /* one file per request; the page sends them one by one */
    }
    if (q->too_big || q->write_failed)
        return MHD_YES; /* keep reading the body so the answer can be sent */
    q->bytes += (int64_t)size;
    if (q->max > 0 && q->bytes > q->max) {
        q->too_big = true;
        return MHD_YES;
    }
    for (size_t at = 0; at < size;) {
        ssize_t w = write(q->fd, data + at, size - at);
        if (w < 0) {
            q->write_failed = true;
            return MHD_YES;
        }
        at += (size_t)w;
    }
    return MHD_YES;
}

static void tell(const webserver_t *w, const char *filename, const char *file_type, int64_t done,
                 int64_t total, web_upload_state_t state, const char *detail)
{
    if (w->o.progress)
        w->o.progress(w->o.progress_ctx, filename, file_type, done, total, state, detail);
}

typedef struct progress_arg {
    const webserver_t *w;
    const char *filename;
} progress_arg_t;

static void on_progress(void *opaque, int64_t done, int64_t total)
{
    const progress_arg_t *a = opaque;
    tell(a->w, a->filename, NULL, done, total, WEB_SENDING, "web upload");
}

static enum MHD_Result finish_upload(webserver_t *w, struct MHD_Connection *c, req_t *q)
{
    bool complete = MHD_destroy_post_processor(q->pp) == MHD_YES;
    q->pp = NULL;
    if (!complete || q->malformed)
        return reply_error(c, MHD_HTTP_BAD_REQUEST,
                           "the multipart body is truncated or malformed; nothing was sent");
    if (!q->saw_file)
        return reply_error(c, MHD_HTTP_BAD_REQUEST, "no file in the form (field \"file\")");
    if (q->too_big) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s is larger than the limit of %lld bytes; nothing was sent",
                 q->name, (long long)w->o.max_bytes);
        return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    if (q->write_failed)
        return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "could not spool the upload");
    char clean[256], err[512], mime[128];
    upload_clean_name(q->name, clean, sizeof clean);
    filemeta_kind_t kind;
    if (filemeta_detect(q->tmp, clean, &kind, mime, sizeof mime, err, sizeof err) < 0) {
        tell(w, clean, NULL, 0, q->bytes, WEB_FAILED, err);
        return reply_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, err);
    }
    uploader_t *u = uploader_new(w->k, &w->o.upload, err, sizeof err);
    upload_result_t r;
    progress_arg_t args = {w, clean};
    if (!u || uploader_send_file(u, q->tmp, clean, on_progress, &args, &r, err, sizeof err) < 0) {
        uploader_free(u);
        tell(w, clean, NULL, 0, q->bytes, WEB_FAILED, err);
        return reply_error(c, MHD_HTTP_BAD_GATEWAY, err);
    }
    uploader_free(u);
    char detail[160];
    snprintf(detail, sizeof detail, "%s [%d] @%lld", r.topic, (int)r.partition,
             (long long)r.last_offset);
    tell(w, r.filename, r.file_type, r.size, r.size, WEB_SENT, detail);
    /* The original's answer: success, message and metadata (the record's own
     * fields, no content); then streamlab's: where the record went. */
    char message[600];
    snprintf(message, sizeof message, "File %s uploaded successfully to %s", r.filename, r.topic);
    json_t *meta = json_pack("{sssssssIssssss}", "file_id", r.file_id, "filename", r.filename,
                             "file_type", r.file_type, "file_size", (json_int_t)r.size,
                             "file_hash", r.md5, "upload_timestamp", r.upload_timestamp, "topic",
                             r.topic);
    json_t *j = json_pack("{sbsssosbsssssssssisIsIsIsIssss}", "success", 1, "message", message,
                          "metadata", meta, "ok", 1, "filename", r.filename, "file_id", r.file_id,
                          "file_type", r.file_type, "topic", r.topic, "partition", (int)r.partition,
                          "offset", (json_int_t)r.first_offset, "last_offset",
                          (json_int_t)r.last_offset, "chunks", (json_int_t)r.chunks, "file_size",
                          (json_int_t)r.size, "file_hash", r.md5, "sha256", r.sha256);
    return reply_json(c, MHD_HTTP_OK, j);
}

static enum MHD_Result status_page(webserver_t *w, struct MHD_Connection *c)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(w->meta, 0, NULL, &md, 3000);
    /* The original's status and bootstrap_servers, then streamlab's fields. */
    json_t *j = json_pack("{sssssbss}", "status", err ? "disconnected" : "connected",
                          "bootstrap_servers", kconf_brokers(w->k), "kafka_connected", !err,
                          "brokers", kconf_brokers(w->k));
    if (err)
        json_object_set_new(j, "error", json_string(rd_kafka_err2str(err)));
    else
        json_object_set_new(j, "broker_count", json_integer(md->broker_cnt));
    if (md)
        rd_kafka_metadata_destroy(md);
    return reply_json(c, MHD_HTTP_OK, j);
}

static enum MHD_Result topics_page(webserver_t *w, struct MHD_Connection *c)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(w->meta, 1, NULL, &md, 3000);
    if (err)
        return reply_error(c, MHD_HTTP_BAD_GATEWAY, rd_kafka_err2str(err));
    /* The original answers a list of topic names; ?detail=1 gives streamlab's
     * {"topics": [{name, partitions}]}, which the page shows. */
    bool detail = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "detail") != NULL;
    json_t *arr = json_array();
    for (int i = 0; i < md->topic_cnt; i++)
        if (md->topics[i].topic[0] != '_')
            json_array_append_new(arr, detail ? json_pack("{sssi}", "name", md->topics[i].topic,
                                                          "partitions",
                                                          md->topics[i].partition_cnt)
                                              : json_string(md->topics[i].topic));
    rd_kafka_metadata_destroy(md);
    return reply_json(c, MHD_HTTP_OK, detail ? json_pack("{so}", "topics", arr) : arr);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)version;
    webserver_t *w = cls;
    bool post = !strcmp(method, "POST");
    if (!post && strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and POST");
    if (!post) {
        if (!strcmp(url, "/")) {
            size_t len;
            const char *page = webserver_page(&len);
            return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, len,
                         MHD_RESPMEM_PERSISTENT);
        }
        if (!strcmp(url, "/status"))
            return status_page(w, c);
        if (!strcmp(url, "/topics"))
            return topics_page(w, c);
        return reply_error(c, MHD_HTTP_NOT_FOUND, "no such page");
    }
    if (strcmp(url, "/upload"))
        return reply_error(c, MHD_HTTP_NOT_FOUND, "POST goes to /upload");
    req_t *q = *con_cls;
    if (!q) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        /* Refuse early what cannot fit even after the multipart framing. */
        if (cl && w->o.max_bytes > 0 && strtoll(cl, NULL, 10) > w->o.max_bytes + 65536) {
            char msg[160];
            snprintf(msg, sizeof msg, "the upload is larger than the limit of %lld bytes; "
                                      "nothing was sent", (long long)w->o.max_bytes);
            return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
        }
        q = xcalloc(1, sizeof *q);
        q->fd = -1;
        q->max = w->o.max_bytes;
        *con_cls = q;
        q->pp = MHD_create_post_processor(c, 64 * 1024, on_field, q);
        if (!q->pp)
            return reply_error(c, MHD_HTTP_BAD_REQUEST,
                               "POST /upload needs a multipart/form-data body");
        snprintf(q->tmp, sizeof q->tmp, "%s/streamlab-upload-XXXXXX", w->o.tmpdir);
        q->fd = mkstemp(q->tmp);
        if (q->fd < 0) {
            q->tmp[0] = '\0';
            return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot make a spool file");
        }
        return MHD_YES;
    }
    if (*data_size) {
        if (q->pp && MHD_post_process(q->pp, data, *data_size) != MHD_YES)
            q->malformed = true;
        *data_size = 0;
        return MHD_YES;
    }
    if (!q->pp)
        return MHD_YES; /* answered already */
    return finish_upload(w, c, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    req_t *q = *con_cls;
    if (!q)
        return;
    if (q->pp)
        MHD_destroy_post_processor(q->pp);
    if (q->fd >= 0)
        close(q->fd);
    if (q->tmp[0])
        unlink(q->tmp); /* also when the client went away mid-body */
    free(q);
    *con_cls = NULL;
}

webserver_t *webserver_start(const kconf_t *k, const webserver_opts_t *o, char *errstr,
                             size_t errstr_size)
{
    char host[256];
    int port;
    if (util_split_hostport(o->listen, host, sizeof host, &port) < 0) {
        snprintf(errstr, errstr_size, "--listen wants HOST:PORT, got \"%s\"", o->listen);
        return NULL;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, !strcmp(host, "localhost") ? "127.0.0.1" : host, &sa.sin_addr) != 1) {
        snprintf(errstr, errstr_size, "--listen: \"%s\" is not an IPv4 address", host);
        return NULL;
    }
    webserver_t *w = xcalloc(1, sizeof *w);
    w->k = k;
    w->o = *o;
    if (!w->o.tmpdir)
        w->o.tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    w->meta = kafka_client(k, RD_KAFKA_PRODUCER, NULL, NULL, NULL, errstr, errstr_size);
    if (!w->meta) {
        free(w);
        return NULL;
    }
    w->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                            0, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!w->d) {
        snprintf(errstr, errstr_size, "cannot listen on %s (in use, or not an address of this "
                                      "machine)", o->listen);
        rd_kafka_destroy(w->meta);
        free(w);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(w->address, sizeof w->address, "%s:%u", host, info ? info->port : (unsigned)port);
    return w;
}

const char *webserver_address(const webserver_t *w) { return w->address; }

void webserver_stop(webserver_t *w)
{
    if (!w)
        return;
    MHD_stop_daemon(w->d);
    rd_kafka_destroy(w->meta);
    free(w);
}
