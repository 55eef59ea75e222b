/* httpjson.c — see httpjson.h. */
#include "engine/flink/httpjson.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "engine/util.h"

/* Replies bigger than this are an error, not an allocation without bound. */
#define HTTPJSON_MAX_REPLY (64u << 20)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc = -1;

static void global_init_once(void) {
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int httpjson_global_init(void) {
    pthread_once(&global_once, global_init_once);
    return global_rc;
}

typedef struct buf {
    char *data;
    size_t len, cap;
    int too_big;
} buf_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
    buf_t *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > HTTPJSON_MAX_REPLY) {
        b->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int httpjson_request(const char *method, const char *url, const json_t *body, long timeout_ms,
                     json_t **reply, char *err, size_t errlen) {
    *reply = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (httpjson_global_init() != 0) {
        snprintf(err, errlen, "libcurl failed to initialise");
        return -1;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errlen, "libcurl failed to initialise");
        return -1;
    }
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Accept: application/json");
    if (payload)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    buf_t b = {0};
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* safe in threads */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (payload)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
    else if (!strcmp(method, "POST"))
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    CURLcode rc = curl_easy_perform(curl);
    long status = -1;
    if (rc != CURLE_OK) {
        if (b.too_big)
            snprintf(err, errlen, "%s %s: reply larger than %u bytes", method, url,
                     HTTPJSON_MAX_REPLY);
        else
            snprintf(err, errlen, "%s %s: %s", method, url,
                     curl_err[0] ? curl_err : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (b.len > 0) {
            json_error_t jerr;
            *reply = json_loadb(b.data, b.len, 0, &jerr);
            if (!*reply)
                snprintf(err, errlen, "HTTP %ld, not JSON: %.200s", status, b.data);
        }
    }
    free(b.data);
    free(payload);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return (int)status;
}

int httpjson_error(const json_t *reply, int want_trace, char *buf, size_t size) {
    json_t *errors = json_object_get(reply, "errors");
    if (!json_is_array(errors) || json_array_size(errors) == 0)
        return 0;
    size_t off = 0;
    buf[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const char *s = json_string_value(e);
        if (!s)
            continue;
        size_t n = want_trace ? strlen(s) : strcspn(s, "\n");
        /* Flink puts "Internal server error." first and the real cause in the trace:
         * keep the trace's "Caused by:" lines when the trace is not wanted. */
        int w = snprintf(buf + off, off < size ? size - off : 0, "%s%.*s", off ? "; " : "",
                         (int)n, s);
        if (w > 0)
            off += (size_t)w;
        if (!want_trace) {
            const char *c = s;
            const char *last = NULL;
            while ((c = strstr(c, "Caused by: ")) != NULL) {
                last = c;
                c += 11;
            }
            if (last) {
                size_t m = strcspn(last, "\n");
                w = snprintf(buf + off, off < size ? size - off : 0, "; %.*s", (int)m, last);
                if (w > 0)
                    off += (size_t)w;
            }
        }
        if (off >= size)
            break;
    }
    return 1;
}

char *httpjson_url(const char *base, const char *path) {
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    const char *scheme = strstr(base, "://") ? "" : "http://";
    const char *sep = path[0] == '/' ? "" : "/";
    size_t n = strlen(scheme) + bl + strlen(sep) + strlen(path) + 1;
    char *url = xmalloc(n);
    snprintf(url, n, "%s%.*s%s%s", scheme, (int)bl, base, sep, path);
    return url;
}
