/* inspect.c — see inspect.h.  One thread owns one consumer handle; a request
 * is answered by assigning the partition at a start offset and reading
 * forward to the end of the range (or to the partition's end: EOF). */
#include "engine/kafka/inspect.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/kafka/admin.h"
#include "engine/kafka/kafka.h"
#include "engine/util.h"

struct inspect {
    const kconf_t *k;
    pthread_t thread;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    bool stop, want_topics, have_req;
    inspect_req_t req;
    uint64_t req_no;
    inspect_snap_t snap; /* the published answer */
};

static char *dup_bytes(const void *p, size_t n)
{
    char *s = xmalloc(n + 1);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void rec_free(inspect_rec_t *r)
{
    free(r->key);
    free(r->value);
    free(r->headers);
}

static void rec_copy(inspect_rec_t *dst, const inspect_rec_t *src)
{
    *dst = *src;
    dst->key = src->key ? dup_bytes(src->key, src->keylen) : NULL;
    dst->value = src->value ? dup_bytes(src->value, src->len) : NULL;
    dst->headers = src->headers ? xstrdup(src->headers) : NULL;
}

void inspect_snap_release(inspect_snap_t *s)
{
    for (int i = 0; i < s->nrecs; i++)
        rec_free(&s->recs[i]);
    free(s->recs);
    json_decref(s->topics);
    s->recs = NULL;
    s->nrecs = 0;
    s->topics = NULL;
}

static void rec_from_message(inspect_rec_t *r, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    *r = (inspect_rec_t){.partition = m->partition, .offset = m->offset};
    r->ts_ms = rd_kafka_message_timestamp(m, &tt);
    r->ts_type = tt == RD_KAFKA_TIMESTAMP_CREATE_TIME      ? 1
                 : tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? 2
                                                            : 0;
    if (m->key) {
        r->key = dup_bytes(m->key, m->key_len);
        r->keylen = m->key_len;
    }
    if (m->payload) {
        r->value = dup_bytes(m->payload, m->len);
        r->len = m->len;
    }
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        size_t cap = 256, len = 0;
        char *out = xmalloc(cap);
        out[0] = '\0';
        const char *name;
        const void *val;
        size_t vlen;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             i++) {
            size_t need = len + strlen(name) + vlen + 4;
            if (need > cap) {
                cap = need * 2;
                out = xrealloc(out, cap);
            }
            len += (size_t)snprintf(out + len, cap - len, "%s%s=", i ? "\n" : "", name);
            if (val)
                memcpy(out + len, val, vlen), len += vlen;
            out[len] = '\0';
        }
        r->headers = out;
    }
}

static bool contains(const char *hay, size_t n, const char *needle)
{
    return hay && memmem(hay, n, needle, strlen(needle)) != NULL;
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = ((const inspect_rec_t *)a)->offset, y = ((const inspect_rec_t *)b)->offset;
    return (x < y) - (x > y);
}

/* Reads [start, end) of one partition into recs (appending; keeps at most
 * max, the newest, when keep_newest).  A search keeps only matches.  Returns
 * the records looked at, or -1 with err. */
static int64_t read_range(inspect_t *in, rd_kafka_t *rk, const inspect_req_t *r, int64_t start,
                          int64_t end, inspect_rec_t **recs, int *n, int max, char *err,
                          size_t errsize)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->topic, r->partition)->offset = start;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errsize, "assign: %s", rd_kafka_err2str(e));
        return -1;
    }
    int64_t seen = 0, deadline = util_mono_ms() + 8000;
    while (util_mono_ms() < deadline) {
        pthread_mutex_lock(&in->lock);
        bool stop = in->stop;
        pthread_mutex_unlock(&in->lock);
        if (stop)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            break;
        }
        if (m->err) {
            snprintf(err, errsize, "%s", rd_kafka_message_errstr(m));
            bool unknown = m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
            rd_kafka_message_destroy(m);
            if (unknown)
                break;
            continue;
        }
        int64_t off = m->offset;
        if (off >= end) {
            rd_kafka_message_destroy(m);
            break;
        }
        seen++;
        bool keep = !r->search[0] || contains(m->payload, m->len, r->search) ||
                    contains(m->key, m->key_len, r->search);
        if (keep) {
            if (*n == max) { /* keep the newest: drop the oldest (the first) */
                rec_free(&(*recs)[0]);
                memmove(*recs, *recs + 1, (size_t)(max - 1) * sizeof **recs);
                (*n)--;
            }
            rec_from_message(&(*recs)[(*n)++], m);
        }
        rd_kafka_message_destroy(m);
        if (off + 1 >= end)
            break;
    }
    rd_kafka_assign(rk, NULL);
    return seen;
}

static int topic_partitions(rd_kafka_t *rk, const char *topic, char *err, size_t errsize)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, 5000);
    int n = -1;
    if (e)
        snprintf(err, errsize, "metadata: %s", rd_kafka_err2str(e));
    else if (md->topic_cnt == 1 && md->topics[0].err)
        snprintf(err, errsize, "%.150s: %s", topic, rd_kafka_err2str(md->topics[0].err));
    else if (md->topic_cnt == 1)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return n;
}

/* Answers one request into out (fields topic..status). */
static void answer(inspect_t *in, rd_kafka_t *rk, const inspect_req_t *r, inspect_snap_t *out)
{
    char err[256] = "";
    snprintf(out->topic, sizeof out->topic, "%s", r->topic);
    out->partition = r->partition;
    out->nparts = topic_partitions(rk, r->topic, err, sizeof err);
    if (out->nparts <= 0) {
        out->nparts = 0;
        snprintf(out->status, sizeof out->status, "%s", err[0] ? err : "no such topic");
        return;
    }
    if (r->partition < 0 || r->partition >= out->nparts) {
        snprintf(out->status, sizeof out->status, "%.150s has partitions 0-%d", r->topic,
                 out->nparts - 1);
        return;
    }
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = kafka_watermarks(rk, r->topic, r->partition, &lo, &hi, 5000);
    if (e) {
        snprintf(out->status, sizeof out->status, "offsets: %s", rd_kafka_err2str(e));
        return;
    }
    out->lo = lo, out->hi = hi;
    int count = r->count < 1 ? 20 : r->count > INSPECT_MAX_COUNT ? INSPECT_MAX_COUNT : r->count;
    out->recs = xcalloc((size_t)count, sizeof *out->recs);
    if (hi <= lo)
        return;
    if (r->search[0]) {
        /* Backwards from the end (or `before`) in chunks, newest matches first. */
        int64_t end = r->before >= 0 && r->before < hi ? r->before : hi, scanned = 0;
        while (end > lo && out->nrecs < count && scanned < INSPECT_SEARCH_LIMIT) {
            int64_t start = end - 1000 > lo ? end - 1000 : lo;
            inspect_rec_t *chunk = xcalloc((size_t)count, sizeof *chunk);
            int n = 0;
            int64_t seen = read_range(in, rk, r, start, end, &chunk, &n, count, err, sizeof err);
            if (seen < 0) {
                free(chunk);
                break;
            }
            scanned += seen;
            qsort(chunk, (size_t)n, sizeof *chunk, cmp_desc);
            for (int i = 0; i < n; i++) {
                if (out->nrecs < count)
                    out->recs[out->nrecs++] = chunk[i];
                else
                    rec_free(&chunk[i]);
            }
            free(chunk);
            end = start;
        }
        out->scanned = scanned;
    } else {
        int64_t start, end;
        if (r->around >= 0) {
            int64_t at = r->around < lo ? lo : r->around >= hi ? hi - 1 : r->around;
            start = at - count / 2 > lo ? at - count / 2 : lo;
            end = start + count < hi ? start + count : hi;
        } else {
            end = r->before >= 0 && r->before < hi ? r->before : hi;
            start = end - count > lo ? end - count : lo;
        }
        if (end > start)
            read_range(in, rk, r, start, end, &out->recs, &out->nrecs, count, err, sizeof err);
        qsort(out->recs, (size_t)out->nrecs, sizeof *out->recs, cmp_desc);
    }
    if (err[0])
        snprintf(out->status, sizeof out->status, "%s", err);
}

static void publish(inspect_t *in, inspect_snap_t *fresh, uint64_t no)
{
    pthread_mutex_lock(&in->lock);
    json_t *topics = json_incref(in->snap.topics);
    inspect_snap_release(&in->snap);
    uint64_t v = in->snap.version;
    in->snap = *fresh;
    in->snap.topics = topics;
    in->snap.version = v + 1;
    in->snap.answered = no;
    in->snap.busy = in->have_req;
    pthread_mutex_unlock(&in->lock);
}

static void *reader_main(void *arg)
{
    inspect_t *in = arg;
    util_block_signals();

    char err[512];
    const char *defaults[] = {"group.id", "streamlab-inspector", "enable.auto.commit", "false",
                              "enable.partition.eof", "true", "auto.offset.reset", "earliest",
                              NULL};
    rd_kafka_t *rk = kafka_client(in->k, RD_KAFKA_CONSUMER, defaults, NULL, NULL, err, sizeof err);
    if (rk)
        rd_kafka_poll_set_consumer(rk);
    inspect_req_t last = {0};
    bool have_last = false;
    uint64_t last_no = 0;
    int64_t next_follow = 0;
    for (;;) {
        pthread_mutex_lock(&in->lock);
        while (!in->stop && !in->want_topics && !in->have_req &&
               !(have_last && last.follow && util_mono_ms() >= next_follow)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L;
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&in->wake, &in->lock, &ts);
        }
        if (in->stop) {
            pthread_mutex_unlock(&in->lock);
            break;
        }
        bool topics = in->want_topics;
        in->want_topics = false;
        bool fresh = in->have_req;
        if (fresh) {
            last = in->req;
            last_no = in->req_no;
            have_last = true;
            in->have_req = false;
            in->snap.busy = true;
        }
        pthread_mutex_unlock(&in->lock);
        if (topics) {
            json_t *t = admin_topics(in->k, NULL, err, sizeof err);
            pthread_mutex_lock(&in->lock);
            if (t) {
                json_decref(in->snap.topics);
                in->snap.topics = t;
            } else
                snprintf(in->snap.status, sizeof in->snap.status, "topics: %.200s", err);
            in->snap.version++;
            pthread_mutex_unlock(&in->lock);
        }
        if (fresh || (have_last && last.follow && util_mono_ms() >= next_follow)) {
            inspect_snap_t out = {0};
            if (!rk)
                snprintf(out.status, sizeof out.status, "%.250s", err);
            else {
                inspect_req_t r = last;
                if (r.follow) /* following: always the newest */
                    r.before = -1, r.around = -1;
                answer(in, rk, &r, &out);
            }
            publish(in, &out, last_no);
            next_follow = util_mono_ms() + 500;
        }
    }
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return NULL;
}

inspect_t *inspect_new(const kconf_t *k)
{
    inspect_t *in = xcalloc(1, sizeof *in);
    in->k = k;
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->wake, NULL);
    in->want_topics = true;
    if (pthread_create(&in->thread, NULL, reader_main, in)) {
        pthread_mutex_destroy(&in->lock);
        pthread_cond_destroy(&in->wake);
        free(in);
        return NULL;
    }
    return in;
}

void inspect_free(inspect_t *in)
{
    if (!in)
        return;
    pthread_mutex_lock(&in->lock);
    in->stop = true;
    pthread_cond_signal(&in->wake);
    pthread_mutex_unlock(&in->lock);
    pthread_join(in->thread, NULL);
    inspect_snap_release(&in->snap);
    pthread_mutex_destroy(&in->lock);
    pthread_cond_destroy(&in->wake);
    free(in);
}

uint64_t inspect_request(inspect_t *in, const inspect_req_t *r)
{
    pthread_mutex_lock(&in->lock);
    in->req = *r;
    in->have_req = true;
    uint64_t no = ++in->req_no;
    in->snap.busy = true;
    in->snap.version++;
    pthread_cond_signal(&in->wake);
    pthread_mutex_unlock(&in->lock);
    return no;
}

void inspect_refresh_topics(inspect_t *in)
{
    pthread_mutex_lock(&in->lock);
    in->want_topics = true;
    pthread_cond_signal(&in->wake);
    pthread_mutex_unlock(&in->lock);
}

uint64_t inspect_version(inspect_t *in)
{
    pthread_mutex_lock(&in->lock);
    uint64_t v = in->snap.version;
    pthread_mutex_unlock(&in->lock);
    return v;
}

void inspect_snapshot(inspect_t *in, inspect_snap_t *out)
{
    pthread_mutex_lock(&in->lock);
    *out = in->snap;
    out->topics = json_incref(in->snap.topics);
    out->recs = in->snap.nrecs ? xcalloc((size_t)in->snap.nrecs, sizeof *out->recs) : NULL;
    for (int i = 0; i < in->snap.nrecs; i++)
        rec_copy(&out->recs[i], &in->snap.recs[i]);
    pthread_mutex_unlock(&in->lock);
}
