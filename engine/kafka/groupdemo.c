/* groupdemo.c — see groupdemo.h. */
#include "engine/kafka/groupdemo.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/kafka.h"
#include "engine/util.h"

struct groupdemo {
    const kconf_t *k;
    char group[96], topic[96];
    atomic_bool stop;
    pthread_t threads[GROUPDEMO_MAX_MEMBERS];
    atomic_int nthreads;
    pthread_mutex_t lock; /* guards members and error */
    groupdemo_member_t members[GROUPDEMO_MAX_MEMBERS];
    char error[256];
};

typedef struct member_arg {
    groupdemo_t *g;
    int index;
} member_arg_t;

static void set_error(groupdemo_t *g, const char *msg)
{
    pthread_mutex_lock(&g->lock);
    snprintf(g->error, sizeof g->error, "%s", msg);
    pthread_mutex_unlock(&g->lock);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Publishes what rd_kafka_assignment() says now. */
static void publish_assignment(groupdemo_t *g, int i, rd_kafka_t *rk, uint64_t consumed)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    int32_t parts[GROUPDEMO_MAX_PARTS];
    int64_t lag[GROUPDEMO_MAX_PARTS];
    int n = 0;
    if (rd_kafka_assignment(rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
        for (int j = 0; j < l->cnt && n < GROUPDEMO_MAX_PARTS; j++)
            parts[n++] = l->elems[j].partition;
        rd_kafka_topic_partition_list_destroy(l);
    }
    qsort(parts, (size_t)n, sizeof *parts, cmp_i32);
    /* Lag from what the client already knows (no request): the high watermark of
     * its last fetch and its position. */
    for (int j = 0; j < n; j++) {
        int64_t lo = -1, hi = -1;
        lag[j] = -1;
        rd_kafka_topic_partition_list_t *p = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(p, g->topic, parts[j]);
        if (rd_kafka_position(rk, p) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_get_watermark_offsets(rk, g->topic, parts[j], &lo, &hi) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            hi >= 0 && p->elems[0].offset >= 0)
            lag[j] = hi > p->elems[0].offset ? hi - p->elems[0].offset : 0;
        rd_kafka_topic_partition_list_destroy(p);
    }
    pthread_mutex_lock(&g->lock);
    groupdemo_member_t *m = &g->members[i];
    memcpy(m->parts, parts, (size_t)n * sizeof *parts);
    memcpy(m->lag, lag, (size_t)n * sizeof *lag);
    m->nparts = n;
    m->consumed = consumed;
    m->joined |= n > 0;
    pthread_mutex_unlock(&g->lock);
}

static void *member_main(void *arg)
{
    member_arg_t *ma = arg;
    groupdemo_t *g = ma->g;
    int i = ma->index;
    free(ma);
    util_block_signals();

    char err[256];
    /* Short session and heartbeat: a member that joins or leaves shows up in
     * the others' assignment within a few seconds. */
    const char *defaults[] = {"group.id", g->group, "auto.offset.reset", "latest",
                              "enable.partition.eof", "false", "session.timeout.ms", "6000",
                              "heartbeat.interval.ms", "500", NULL};
    rd_kafka_t *rk = kafka_client(g->k, RD_KAFKA_CONSUMER, defaults, NULL, NULL, err, sizeof err);
    if (!rk) {
        set_error(g, err);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, g->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, sizeof err, "subscribing to %s: %s", g->topic, rd_kafka_err2str(e));
        set_error(g, err);
        rd_kafka_destroy(rk);
        return NULL;
    }
    uint64_t consumed = 0;
    while (!atomic_load(&g->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (m) {
            if (m->err)
                set_error(g, rd_kafka_message_errstr(m));
            else
                consumed++;
            rd_kafka_message_destroy(m);
        }
        publish_assignment(g, i, rk, consumed);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

groupdemo_t *groupdemo_new(const kconf_t *k, const char *group, const char *topic)
{
    groupdemo_t *g = xcalloc(1, sizeof *g);
    g->k = k;
    snprintf(g->group, sizeof g->group, "%s", group);
    snprintf(g->topic, sizeof g->topic, "%s", topic);
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

void groupdemo_free(groupdemo_t *g)
{
    if (!g)
        return;
    atomic_store(&g->stop, true);
    int n = atomic_load(&g->nthreads);
    for (int i = 0; i < n; i++)
        pthread_join(g->threads[i], NULL);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

int groupdemo_add(groupdemo_t *g)
{
    int n = atomic_load(&g->nthreads);
    if (n >= GROUPDEMO_MAX_MEMBERS)
        return -1;
    member_arg_t *ma = xcalloc(1, sizeof *ma);
    ma->g = g;
    ma->index = n;
    if (pthread_create(&g->threads[n], NULL, member_main, ma)) {
        free(ma);
        return -1;
    }
    atomic_store(&g->nthreads, n + 1);
    return n + 1;
}

int groupdemo_members(const groupdemo_t *g) { return atomic_load(&((groupdemo_t *)g)->nthreads); }

void groupdemo_snapshot(groupdemo_t *g, groupdemo_snap_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->group, sizeof out->group, "%s", g->group);
    snprintf(out->topic, sizeof out->topic, "%s", g->topic);
    out->nmembers = atomic_load(&g->nthreads);
    pthread_mutex_lock(&g->lock);
    memcpy(out->m, g->members, sizeof out->m);
    snprintf(out->error, sizeof out->error, "%s", g->error);
    pthread_mutex_unlock(&g->lock);
}

bool groupdemo_split(const groupdemo_snap_t *s, int total)
{
    int holders = 0, held = 0;
    bool seen[GROUPDEMO_MAX_PARTS * 4] = {0};
    for (int i = 0; i < s->nmembers && i < GROUPDEMO_MAX_MEMBERS; i++) {
        holders += s->m[i].nparts > 0;
        for (int j = 0; j < s->m[i].nparts; j++) {
            int32_t p = s->m[i].parts[j];
            if (p < 0 || p >= (int32_t)(sizeof seen / sizeof *seen) || seen[p])
                return false;
            seen[p] = true;
            held++;
        }
    }
    return holders >= 2 && held == total;
}
